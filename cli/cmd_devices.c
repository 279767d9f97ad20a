// cmd_devices.c — `clgan devices`: one row per OpenCL device with its capabilities.
#include "cli.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

#define N_COLS 14

static void format_bytes(uint64_t b, char *buf, size_t len) {
    if (b >= (1ull << 30)) snprintf(buf, len, "%.1f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20)) snprintf(buf, len, "%.0f MiB", (double)b / (1ull << 20));
    else snprintf(buf, len, "%.0f KiB", (double)b / (1ull << 10));
}

static void row_cells(const cg_device_info *d, int is_default, char cells[N_COLS][128]) {
    snprintf(cells[0], 128, "%s%d", is_default ? "*" : " ", d->index);
    snprintf(cells[1], 128, "%s", d->platform_name);
    snprintf(cells[2], 128, "%s", d->name);
    snprintf(cells[3], 128, "%s", d->vendor);
    snprintf(cells[4], 128, "%s", cg_device_type_name(d->type));
    snprintf(cells[5], 128, "%s", d->driver);
    snprintf(cells[6], 128, "%s", d->opencl_c);
    snprintf(cells[7], 128, "%u", d->compute_units);
    snprintf(cells[8], 128, "%u MHz", d->clock_mhz);
    format_bytes(d->global_mem, cells[9], 128);
    format_bytes(d->local_mem, cells[10], 128);
    snprintf(cells[11], 128, "%zu", d->max_work_group);
    snprintf(cells[12], 128, "%s", d->fp16 ? "yes" : "no");
    snprintf(cells[13], 128, "%s", d->fp64 ? "yes" : "no");
}

// One line of the table: padded columns, the last one unpadded, ended by a newline.
static void print_row(const char *const cells[N_COLS], const size_t width[N_COLS]) {
    for (int c = 0; c + 1 < N_COLS; c++) printf("%-*s  ", (int)width[c], cells[c]);
    printf("%s\n", cells[N_COLS - 1]);
}

static int run(int argc, char **argv) {
    cli_common common = {0};
    const cli_opt opts[] = {{0}};
    int rc = cli_parse(&cmd_devices, argc, argv, opts, &common);
    if (rc) return rc;
    if (common.help) {
        cli_print_help(&cmd_devices, opts, stdout);
        return EXIT_OK;
    }
    cg_config *cfg = cli_load_config(&common);
    if (!cfg) return EXIT_USAGE;

    cg_device_info *devs = NULL;
    int count = 0;
    cg_status st = cg_devices_list(&devs, &count);
    if (st != CG_OK) {
        cg_config_free(cfg);
        return cli_report("devices", st);
    }
    // The device the other commands would use with the same options.
    // A malformed or unmatched selection still lists the table (it is how one finds a selector),
    // then fails as a configuration error like every other command's.
    cg_runtime *rt = NULL;
    int default_index = -1;
    cg_status sel = cli_open_runtime(cfg, &common, &rt);
    if (sel == CG_OK) {
        default_index = cg_runtime_device(rt)->index;
        cg_runtime_free(rt);
    }
    // Under mpirun: rank 0 prints the table and which rank uses which device on which host.
    typedef struct {
        int rank, local_rank, index;
        char host[96], name[128];
    } rank_row;
    rank_row mine = {cg_dist_rank(), cg_dist_local_rank(), default_index, "", ""}, *rows = NULL;
    if (cg_dist_size() > 1) {
        snprintf(mine.host, sizeof mine.host, "%s", cg_dist_host());
        for (int i = 0; i < count; i++)
            if (devs[i].index == default_index) snprintf(mine.name, sizeof mine.name, "%s", devs[i].name);
        rows = calloc((size_t)cg_dist_size(), sizeof *rows);
        st = rows ? cg_dist_allgather(&mine, sizeof mine, rows) : cg_fail(CG_ERR_NOMEM, "out of host memory");
        if (st != CG_OK) {
            free(rows);
            free(devs);
            cg_config_free(cfg);
            return cli_report("devices", st);
        }
        cg_dist_set_agreed(1);
        if (cg_dist_rank() != 0) {
            free(rows);
            free(devs);
            cg_config_free(cfg);
            return EXIT_OK;
        }
    }
    static const char *heads[N_COLS] = {" #", "platform", "device", "vendor", "type", "driver", "OpenCL C",
                                        "CUs", "clock", "global mem", "local mem", "max WG", "fp16", "fp64"};
    char (*cells)[N_COLS][128] = calloc((size_t)count, sizeof *cells);
    size_t width[N_COLS];
    for (int c = 0; c < N_COLS; c++) width[c] = strlen(heads[c]);
    for (int i = 0; i < count; i++) {
        row_cells(&devs[i], devs[i].index == default_index, cells[i]);
        for (int c = 0; c < N_COLS; c++)
            if (strlen(cells[i][c]) > width[c]) width[c] = strlen(cells[i][c]);
    }
    print_row(heads, width);
    for (int i = 0; i < count; i++) {
        const char *row[N_COLS];
        for (int c = 0; c < N_COLS; c++) row[c] = cells[i][c];
        print_row(row, width);
    }
    printf("\n%d device%s; * = the device commands use with these options (--device, CLGAN_DEVICE, [device])\n",
           count, count == 1 ? "" : "s");
    if (rows) {
        printf("\n%d MPI ranks (%s):\n", cg_dist_size(), cg_dist_library());
        for (int r = 0; r < cg_dist_size(); r++)
            printf("rank %d (host %s, local rank %d): device %d %s\n", rows[r].rank, rows[r].host, rows[r].local_rank,
                   rows[r].index, rows[r].index >= 0 ? rows[r].name : "(none opened)");
        free(rows);
    }
    fflush(stdout); // the table is complete before anything else reaches the terminal
    free(cells);
    free(devs);
    rc = cli_check_unknown(cfg);
    cg_config_free(cfg);
    if (sel != CG_OK) return cli_report("devices", sel);
    return rc;
}

const cli_command cmd_devices = {
    "devices",
    "list every OpenCL platform and device with its capabilities",
    "[--device SEL]",
    "Prints one row per device. The index in the first column selects a device everywhere\n"
    "(--device 1, CLGAN_DEVICE=1, or [device] device = 1 in an INI file); a name substring\n"
    "(--device nvidia), a type (--device gpu) or PLATFORM:DEVICE (--device 0:1) work too.\n"
    "Under mpirun each rank on a host takes the device of its local rank (GPUs first), or its element\n"
    "of a list (--device 0,1,2,3; ranks may share a device), and rank 0 adds which rank uses which\n"
    "device on which host (docs/distributed.md).",
    run,
};
