// sample.c — the installed public API in one program: load a training checkpoint, sample 16 images
// from its generator on the default OpenCL device and write them as a PNG grid.
//   usage: sample CHECKPOINT OUT.png [SEED]
#include <clgan/train.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
    fprintf(stderr, "sample: %s: %s\n", what, cg_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: sample CHECKPOINT OUT.png [SEED]\n"), 2;
    enum { N = 16 };
    cg_device_info *devs = NULL;
    cg_device_selector any = {0}; // the first GPU, else the first CPU
    cg_model_config mc;
    cg_runtime *rt = NULL;
    cg_generator *g = NULL;
    int count = 0, picked = 0;
    if (cg_devices_list(&devs, &count) != CG_OK || cg_device_select(devs, count, &any, &picked) != CG_OK)
        return fail("no OpenCL device");
    if (cg_runtime_create(&devs[picked], NULL, &rt) != CG_OK) return fail("runtime");
    if (cg_checkpoint_model(argv[1], &mc) != CG_OK) return fail(argv[1]);
    if (cg_generator_open(rt, argv[1], &mc, N, 0, &g) != CG_OK) return fail("generator");
    size_t per = (size_t)mc.channels * mc.image_size * mc.image_size;
    float *z = malloc(sizeof(float) * N * mc.nz), *images = malloc(sizeof(float) * N * per);
    if (!z || !images) return fprintf(stderr, "sample: out of memory\n"), 1;
    cg_generator_latents(argc > 3 ? strtoull(argv[3], NULL, 10) : 7, 0, N, mc.nz, z); // `clgan sample --seed`
    if (cg_generator_run(g, z, N, images) != CG_OK) return fail("sampling");
    if (cg_grid_write_png(argv[2], images, N, mc.channels, mc.image_size, mc.image_size) != CG_OK)
        return fail(argv[2]);
    printf("sample: %d images of %dx%d from %s on %s -> %s\n", N, mc.image_size, mc.image_size, argv[1],
           devs[picked].name, argv[2]);
    free(images);
    free(z);
    cg_generator_free(g);
    cg_runtime_free(rt);
    free(devs);
    return 0;
}
