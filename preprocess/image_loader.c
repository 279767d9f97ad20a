// image_loader.c — host image decoding on a pool of threads: JPEGs with libjpeg(-turbo) when the
// build has it (jpeg_decode.c), everything else (and JPEGs without libjpeg) with stb_image. Every
// file is read whole, then checked before it is decoded: empty, not an image (no known signature), too
// large (from the header, so a huge image is never allocated), truncated (a JPEG without an end
// marker after its last scan, a PNG without IEND: stb_image would pad those silently), and
// corrupt (stb_image refuses the data). Each failure is classified and described, never fatal.
// The size limit is checked on the PNG/JPEG header directly as well, since stb_image refuses some
// huge headers itself with a reason that does not say so.
#include "image_loader.h"
#include "jpeg_decode.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stb_image.h>

typedef enum { FMT_UNKNOWN, FMT_JPEG, FMT_PNG, FMT_OTHER } file_format;

static file_format sniff(const uint8_t *b, size_t n) {
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return FMT_JPEG;
    if (n >= 8 && !memcmp(b, png, 8)) return FMT_PNG;
    if (n >= 4 && (!memcmp(b, "GIF8", 4) || !memcmp(b, "8BPS", 4))) return FMT_OTHER;
    if (n >= 2 && (!memcmp(b, "BM", 2) || (b[0] == 'P' && (b[1] == '5' || b[1] == '6')))) return FMT_OTHER;
    if (n >= 2 && b[0] == '#' && b[1] == '?') return FMT_OTHER; // Radiance HDR
    return FMT_UNKNOWN;
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

// The size a PNG or JPEG header declares, read without stb_image (which refuses some huge headers
// with a generic error); 0 when not found.
static int header_size(const uint8_t *b, size_t n, file_format fmt, uint32_t *w, uint32_t *h) {
    if (fmt == FMT_PNG && n >= 24 && !memcmp(b + 12, "IHDR", 4)) {
        *w = be32(b + 16);
        *h = be32(b + 20);
        return 1;
    }
    for (size_t i = 2; fmt == FMT_JPEG && i + 9 < n;) { // marker segments up to the first frame header
        if (b[i] != 0xff) return 0;
        uint8_t m = b[i + 1];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            *h = be16(b + i + 5);
            *w = be16(b + i + 7);
            return 1;
        }
        if (m == 0xda || m == 0xd9) return 0;
        i += 2 + be16(b + i + 2);
    }
    return 0;
}

// A JPEG is complete when an end-of-image marker follows the start of its last scan. Inside
// entropy-coded data 0xFF is always stuffed (FF 00) or a restart marker, so FF DA and FF D9 there
// are real markers; a thumbnail's markers come before the main image's last scan.
static int jpeg_truncated(const uint8_t *b, size_t n) {
    size_t last_sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xda) last_sos = i;
    if (!last_sos) return 1;
    for (size_t i = last_sos + 2; i + 1 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xd9) return 0;
    return 1;
}

// Debian's stb_image (2022 snapshot) writes past its 257-entry code-size table when a JPEG Huffman
// table declares more than 256 codes; such files are refused before stb sees them.
// The largest code count of the tables in the DHT segment whose length field is at p, read as stb
// reads them (past the end of the file as zeros), stopping at the first count over 256.
static size_t dht_codes(const uint8_t *b, size_t n, size_t p) {
    long left = p + 2 <= n ? (long)be16(b + p) - 2 : 0;
    for (size_t q = p + 2; left > 0 && q < n;) {
        size_t codes = 0;
        for (size_t k = 1; k <= 16; k++) codes += q + k < n ? b[q + k] : 0;
        if (codes > 256) return codes;
        q += 17 + codes;
        left -= 17 + (long)codes;
    }
    return 0;
}

// Every DHT segment stb_image could process: the header's segments walked as stb walks them (fill
// bytes and stray bytes skipped), then, from the first scan on (where stb's position depends on
// decoding), every FF C4 pair. Returns the first over-long table's code count, else 0.
static size_t jpeg_huffman_overflow(const uint8_t *b, size_t n) {
    size_t i = 0;
    while (i < n && b[i] == 0xff) i++;
    if (i == 0 || i >= n || b[i] != 0xd8) return 0; // stb does not read it as a JPEG
    for (i++; i < n;) {
        if (b[i] != 0xff) {
            i++;
            continue;
        }
        while (i < n && b[i] == 0xff) i++;
        if (i + 2 >= n) return 0;
        uint8_t m = b[i++];
        if (m == 0xc4 && dht_codes(b, n, i)) return dht_codes(b, n, i);
        if (m != 0xc4 && m != 0xdb && m != 0xdd && m != 0xfe && (m < 0xe0 || m > 0xef) && (m < 0xc0 || m > 0xc2))
            break; // a scan, or a marker stb stops at: from here on, trust no position
        i += be16(b + i);
    }
    for (; i + 1 < n; i++)
        if (b[i] == 0xff && b[i + 1] == 0xc4 && dht_codes(b, n, i + 2)) return dht_codes(b, n, i + 2);
    return 0;
}

// Debian's stb_image converts a 16-bit PNM's channels as if they were 8-bit, then reads twice the
// bytes it allocated; PNMs whose maximum value is over 255 are refused before stb sees them. Reads
// the header as stb does (whitespace, '#' comments); returns the maximum value (capped), else 0.
static long pnm_maxval(const uint8_t *b, size_t n) {
    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return 0;
    size_t i = 2;
    long v = 0;
    for (int field = 0; field < 3; field++) {
        for (;;) {
            while (i < n && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r'))) i++;
            if (i >= n || b[i] != '#') break;
            while (i < n && b[i] != '\n' && b[i] != '\r') i++;
        }
        for (v = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++)
            if (v < 100000000) v = v * 10 + (b[i] - '0');
    }
    return v;
}

// stb_image sizes its buffer from a PNG chunk's length before reading the chunk, so one header
// claiming 2 GB costs 2 GB. Walks the chunks as stb does (8-byte signature, then length, type, data,
// CRC, up to IEND) and returns the offset of the first chunk claiming more bytes than follow it, or 0.
static size_t png_chunk_overrun(const uint8_t *b, size_t n, uint32_t *claimed) {
    for (size_t i = 8; i + 8 <= n;) {
        uint32_t len = be32(b + i);
        if (len > n - i - 8) {
            *claimed = len;
            return i;
        }
        if (!memcmp(b + i + 4, "IEND", 4)) return 0;
        i += (size_t)len + 12;
    }
    return 0;
}

static int png_truncated(const uint8_t *b, size_t n) {
    for (size_t i = n >= 4 ? n - 4 : 0; i > 8; i--)
        if (!memcmp(b + i, "IEND", 4)) return 0;
    return 1;
}

// Records why a load failed; returns 0 so callers can `return fail(...)`.
static int fail(cg_decoded *out, cg_issue_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cg_decoded *out, cg_issue_kind kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
    out->ok = 0;
    out->issue = kind;
    return 0;
}

static int load_bytes(const uint8_t *b, size_t n, int max_side, int stb_only, const cg_region *rows, cg_decoded *out) {
    (void)stb_only, (void)rows; // without libjpeg every format goes to stb_image, whole
    if (n == 0) return fail(out, CG_ISSUE_EMPTY, "the file is empty (0 bytes)");
    file_format fmt = sniff(b, n);
    int w = 0, h = 0, comp = 0;
    uint32_t hw, hh;
    if (header_size(b, n, fmt, &hw, &hh) && (hw > (uint32_t)max_side || hh > (uint32_t)max_side))
        return fail(out, CG_ISSUE_TOO_LARGE, "%ux%u exceeds the %d pixel limit per side", hw, hh, max_side);
#ifdef CLGAN_HAVE_JPEG
    if (fmt == FMT_JPEG && !stb_only) {
        if (jpeg_truncated(b, n))
            return fail(out, CG_ISSUE_TRUNCATED, "JPEG data ends without an end-of-image marker (%zu bytes)", n);
        return cg_jpeg_decode(b, n, max_side, rows, out);
    }
#endif
    if (n > INT_MAX) return fail(out, CG_ISSUE_TOO_LARGE, "the file has %zu bytes, more than stb_image reads", n);
    size_t codes = jpeg_huffman_overflow(b, n);
    if (codes) return fail(out, CG_ISSUE_CORRUPT, "a JPEG Huffman table declares %zu codes (at most 256)", codes);
    uint32_t claimed = 0;
    size_t chunk = fmt == FMT_PNG ? png_chunk_overrun(b, n, &claimed) : 0;
    if (chunk)
        return fail(out, CG_ISSUE_TRUNCATED, "PNG chunk '%.4s' at byte %zu claims %u bytes, %zu follow", b + chunk + 4,
                    chunk, claimed, n - chunk - 8);
    long maxval = pnm_maxval(b, n);
    if (maxval > 255) return fail(out, CG_ISSUE_CORRUPT, "16-bit PNM (maximum value %ld) is not supported", maxval);
    if (!stbi_info_from_memory(b, (int)n, &w, &h, &comp)) {
        if (fmt == FMT_UNKNOWN)
            return fail(out, CG_ISSUE_NOT_IMAGE, "not an image in a known format (%zu bytes)", n);
        if ((fmt == FMT_JPEG && jpeg_truncated(b, n)) || (fmt == FMT_PNG && png_truncated(b, n)))
            return fail(out, CG_ISSUE_TRUNCATED, "the header is cut short (%zu bytes)", n);
        return fail(out, CG_ISSUE_CORRUPT, "unreadable header: %s", stbi_failure_reason());
    }
    if (w > max_side || h > max_side)
        return fail(out, CG_ISSUE_TOO_LARGE, "%dx%d exceeds the %d pixel limit per side", w, h, max_side);
    if (w < 1 || h < 1) return fail(out, CG_ISSUE_CORRUPT, "the header claims %dx%d pixels", w, h);
    if (fmt == FMT_JPEG && jpeg_truncated(b, n))
        return fail(out, CG_ISSUE_TRUNCATED, "JPEG data ends without an end-of-image marker (%zu bytes)", n);
    if (fmt == FMT_PNG && png_truncated(b, n))
        return fail(out, CG_ISSUE_TRUNCATED, "PNG data ends without an IEND chunk (%zu bytes)", n);
    int dw, dh, dc;
    uint8_t *px = stbi_load_from_memory(b, (int)n, &dw, &dh, &dc, 3);
    if (!px) return fail(out, CG_ISSUE_CORRUPT, "cannot decode: %s", stbi_failure_reason());
    if (dw != w || dh != h) {
        stbi_image_free(px);
        return fail(out, CG_ISSUE_CORRUPT, "decoded %dx%d, the header said %dx%d", dw, dh, w, h);
    }
    // stb_image's buffer is malloc'd (default STBI_MALLOC), so callers release it with free().
    out->pixels = px;
    out->w = w;
    out->h = h;
    out->ok = 1;
    return 1;
}

const char *cg_image_jpeg_decoder(void) {
#ifdef CLGAN_HAVE_JPEG
    return cg_jpeg_library();
#else
    return "stb_image (built without libjpeg)";
#endif
}

static void load_file(const char *path, int max_side, int stb_only, const cg_region *rows, cg_decoded *out) {
    double t0 = cg_now_s();
    out->pixels = NULL;
    out->w = out->h = 0;
    out->ok = 0;
    out->detail[0] = 0;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f) {
        fail(out, errno == ENOENT ? CG_ISSUE_MISSING : CG_ISSUE_UNREADABLE, "cannot open: %s", strerror(errno));
    } else if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fail(out, CG_ISSUE_UNREADABLE, "not a regular file");
    } else {
        size_t n = (size_t)sb.st_size;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) fail(out, CG_ISSUE_UNREADABLE, "out of memory reading %zu bytes", n);
        else if (n && fread(buf, 1, n, f) != n) fail(out, CG_ISSUE_UNREADABLE, "read error: %s", strerror(errno));
        else load_bytes(buf, n, max_side, stb_only, rows, out);
        free(buf);
    }
    if (f) fclose(f);
    out->seconds = cg_now_s() - t0;
}

void cg_image_load(const char *path, int max_side, cg_decoded *out) { load_file(path, max_side, 0, NULL, out); }

void cg_image_load_region(const char *path, int max_side, const cg_region *rows, cg_decoded *out) {
    load_file(path, max_side, 0, rows, out);
}

void cg_image_load_stb(const char *path, int max_side, cg_decoded *out) { load_file(path, max_side, 1, NULL, out); }

void cg_decoded_release(cg_decoded *d) {
    if (!d) return;
    free(d->pixels);
    d->pixels = NULL;
}

// ---------------------------------------------------------------------------------------------
// The pool: a FIFO of (path, slot) jobs served by worker threads.

typedef struct {
    const char *path;
    const cg_region *rows;
    cg_decoded *slot;
} job;

struct cg_decode_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *q;
    size_t head, tail, cap;
    int stop, max_side, n_threads;
    pthread_t *threads;
};

static void *worker(void *arg) {
    cg_decode_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == p->tail && !p->stop) pthread_cond_wait(&p->work, &p->mu);
        if (p->head == p->tail) break; // stopping with an empty queue
        job j = p->q[p->head++];
        pthread_mutex_unlock(&p->mu);
        cg_image_load_region(j.path, p->max_side, j.rows, j.slot);
        pthread_mutex_lock(&p->mu);
        j.slot->state = 2;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cg_status cg_decode_pool_create(int threads, int max_side, cg_decode_pool **out) {
    *out = NULL;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > 256) threads = 256;
    cg_decode_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)threads, sizeof *p->threads))) {
        free(p);
        return cg_fail(CG_ERR_NOMEM, "out of host memory creating the decode pool");
    }
    p->max_side = max_side;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            cg_decode_pool_free(p);
            return cg_fail(CG_ERR_NOMEM, "cannot start decode thread %d of %d", i + 1, threads);
        }
        p->n_threads++;
    }
    *out = p;
    return CG_OK;
}

cg_status cg_decode_pool_submit(cg_decode_pool *p, const char *path, cg_decoded *slot) {
    return cg_decode_pool_submit_region(p, path, NULL, slot);
}

cg_status cg_decode_pool_submit_region(cg_decode_pool *p, const char *path, const cg_region *rows, cg_decoded *slot) {
    pthread_mutex_lock(&p->mu);
    if (p->tail == p->cap) {
        // Reuse the consumed front first; grow only when the queue itself is full.
        if (p->head > 0) {
            memmove(p->q, p->q + p->head, (p->tail - p->head) * sizeof *p->q);
            p->tail -= p->head;
            p->head = 0;
        }
        if (p->tail == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 256;
            job *q = realloc(p->q, cap * sizeof *q);
            if (!q) {
                pthread_mutex_unlock(&p->mu);
                return cg_fail(CG_ERR_NOMEM, "out of host memory queueing a decode");
            }
            p->q = q;
            p->cap = cap;
        }
    }
    slot->state = 1;
    p->q[p->tail++] = (job){path, rows, slot};
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return CG_OK;
}

void cg_decode_pool_wait(cg_decode_pool *p, cg_decoded *slot) {
    pthread_mutex_lock(&p->mu);
    while (slot->state == 1) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int cg_decode_pool_threads(const cg_decode_pool *p) { return p->n_threads; }

void cg_decode_pool_free(cg_decode_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->q);
    free(p->threads);
    free(p);
}
