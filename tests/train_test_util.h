// train_test_util.h — what the trainer tests (test_train.c, test_train_cli.c) share: the small MLP
// they train as generator and discriminator.
#ifndef CLGAN_TRAIN_TEST_UTIL_H
#define CLGAN_TRAIN_TEST_UTIL_H

#include "nets.h"
#include "test_util.h"

#include <stdint.h>

// Linear(in, hidden) ReLU Linear(hidden, hidden) ReLU Linear(hidden, out), PyTorch's default
// initialisation from Philox stream {seed, in}. x: [N, in, 1, 1] -> [N, out, 1, 1]
static inline cg_seq *test_mlp(cg_ctx *ctx, int in, int hidden, int out, uint64_t seed) {
    cg_layer *l[5];
    cg_linear_params a = {in, hidden, 1}, b = {hidden, hidden, 1}, c = {hidden, out, 1};
    if (cg_linear_create(a, &l[0]) || cg_relu_create(&l[1]) || cg_linear_create(b, &l[2]) || cg_relu_create(&l[3]) ||
        cg_linear_create(c, &l[4]))
        abort();
    int chw[3] = {in, 1, 1};
    cg_seq *s = NULL;
    CHECK_OK(cg_seq_create(ctx, "main", l, NULL, 5, chw, &s));
    cg_rng r = {seed, (uint64_t)in};
    CHECK_OK(cg_init_pytorch_default(ctx, s, r));
    return s;
}

#endif
