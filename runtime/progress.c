// progress.c — progress reporting: a redrawn bar with rate and ETA on a terminal, plain periodic
// lines otherwise (CI logs), and a summary line at the end.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BAR_INTERVAL_S 0.1   // at most ~10 redraws a second
#define PLAIN_PERIOD_S 10.0  // default gap between plain lines
#define RATE_SAMPLE_S 0.5    // shortest span one rate sample covers
#define RATE_TAU_S 10.0      // time constant of the rate's moving average
#define MEAN_SPAN_S 0.1      // shortest span a mean rate is reported over
#define DEFAULT_WIDTH 80
#define MIN_BAR 10
#define MAX_BAR 40

struct cg_progress {
    char label[64];
    char unit[16];
    char status[128];
    FILE *out;
    uint64_t total; // 0: unknown
    int plain;
    double period;  // plain mode: seconds between lines; bar mode: caps the redraw interval
    double t_begin;
    int started;    // an update arrived; first_done/t_first are its values
    uint64_t first_done;
    double t_first;
    uint64_t done;
    double t_done;  // time of the latest update
    int shown;      // something was printed for an update
    uint64_t shown_done;
    double t_shown;
    int bar_len;    // length of the bar line on screen, to blank what a shorter one leaves
    double rate;    // units per second, smoothed; valid when have_rate
    int have_rate;
    uint64_t sample_done;
    double t_sample;
    double (*clock)(void *ctx); // NULL: the monotonic clock (tests inject one)
    void *clock_ctx;
};

static double now_of(const cg_progress *p) { return p->clock ? p->clock(p->clock_ctx) : cg_now_s(); }

typedef struct {
    char text[512];
    size_t len;
} line_buf;

static void put(line_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(line_buf *b, const char *fmt, ...) {
    if (b->len >= sizeof b->text - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->len, sizeof b->text - b->len, fmt, ap);
    va_end(ap);
    if (n > 0) b->len += (size_t)n;
    if (b->len > sizeof b->text - 1) b->len = sizeof b->text - 1;
}

static void copy_text(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 ? ' ' : (char)c; // a '\n' or '\r' would break the line layout
    }
    dst[i] = 0;
}

void cg_format_duration(double seconds, char *buf, size_t len) {
    if (!buf || !len) return;
    if (!isfinite(seconds)) {
        snprintf(buf, len, "?");
        return;
    }
    if (seconds < 0) seconds = 0;
    if (seconds < 9.95) {
        snprintf(buf, len, "%.1fs", seconds);
        return;
    }
    if (seconds < 59.5) {
        snprintf(buf, len, "%.0fs", seconds);
        return;
    }
    long long s = (long long)(seconds + 0.5);
    if (s < 3600) {
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
        return;
    }
    long long m = (long long)(seconds / 60 + 0.5);
    snprintf(buf, len, "%lldh%02lldm", m / 60, m % 60);
}

static void format_rate(double rate, char *buf, size_t len) {
    snprintf(buf, len, rate >= 100 ? "%.0f" : rate >= 10 ? "%.1f" : "%.2f", rate);
}

cg_progress *cg_progress_begin(const char *label, uint64_t total, const char *unit, FILE *out) {
    cg_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    copy_text(p->label, sizeof p->label, label);
    copy_text(p->unit, sizeof p->unit, unit && *unit ? unit : "it");
    p->out = out ? out : stderr;
    p->total = total;
    p->plain = !isatty(fileno(p->out));
    p->period = PLAIN_PERIOD_S;
    p->t_begin = cg_now_s();
    return p;
}

void cg_progress_set_clock(cg_progress *p, double (*clock)(void *ctx), void *ctx) {
    if (!p) return;
    p->clock = clock;
    p->clock_ctx = ctx;
    p->t_begin = now_of(p);
}

void cg_progress_set_plain(cg_progress *p, int plain, double period_s) {
    if (!p) return;
    p->plain = plain != 0;
    p->period = period_s >= 0 ? period_s : 0;
}

// Feeds the moving average with one sample per RATE_SAMPLE_S, weighted by the time it spans.
static void update_rate(cg_progress *p, uint64_t done, double now) {
    if (done < p->sample_done) { // the count went backwards: start sampling afresh
        p->sample_done = done;
        p->t_sample = now;
        return;
    }
    double dt = now - p->t_sample;
    if (dt < RATE_SAMPLE_S) return;
    double rate = (double)(done - p->sample_done) / dt;
    p->rate = p->have_rate ? p->rate + dt / (RATE_TAU_S + dt) * (rate - p->rate) : rate;
    p->have_rate = 1;
    p->sample_done = done;
    p->t_sample = now;
}

// Units per second from the first update to the latest (0 when the span is too short to tell).
static double mean_rate(const cg_progress *p) {
    double dt = p->t_done - p->t_first;
    if (!p->started || dt < MEAN_SPAN_S || p->done < p->first_done) return 0;
    return (double)(p->done - p->first_done) / dt;
}

static int percent(const cg_progress *p) {
    if (p->done >= p->total) return 100;
    return (int)((double)p->done * 100.0 / (double)p->total);
}

// "12.3 it/s" and "ETA 45s" parts, each preceded by sep; nothing while the rate is unknown.
static void put_rate_eta(line_buf *b, const cg_progress *p, const char *sep) {
    double rate = p->have_rate ? p->rate : 0;
    if (rate <= 0) return;
    char r[32], eta[32];
    format_rate(rate, r, sizeof r);
    put(b, "%s%s %s/s", sep, r, p->unit);
    if (p->total && p->done < p->total) {
        cg_format_duration((double)(p->total - p->done) / rate, eta, sizeof eta);
        put(b, "%sETA %s", sep, eta);
    }
}

// label: 450/1000 it (45%), 12.3 it/s, ETA 45s, status
static void print_plain(cg_progress *p) {
    line_buf b = {.len = 0};
    put(&b, "%s: %llu", p->label, (unsigned long long)p->done);
    if (p->total) put(&b, "/%llu", (unsigned long long)p->total);
    put(&b, " %s", p->unit);
    if (p->total) put(&b, " (%d%%)", percent(p));
    put_rate_eta(&b, p, ", ");
    if (p->status[0]) put(&b, ", %s", p->status);
    fprintf(p->out, "%s\n", b.text);
    fflush(p->out);
}

static int terminal_width(FILE *out) {
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return DEFAULT_WIDTH;
}

// Replaces the line on screen with text, blanking what is left of a longer previous line.
static void redraw(cg_progress *p, const char *text, size_t len, int width) {
    if (len > (size_t)width - 1) len = (size_t)width - 1;
    int pad = p->bar_len > (int)len ? p->bar_len - (int)len : 0;
    fprintf(p->out, "\r%.*s%*s", (int)len, text, pad, "");
    p->bar_len = (int)len;
}

// label [#########.........]  45%  450/1000 it  12.3 it/s  ETA 45s  status
static void draw_bar(cg_progress *p) {
    line_buf tail = {.len = 0}, line = {.len = 0};
    if (p->total)
        put(&tail, "  %3d%%  %llu/%llu %s", percent(p), (unsigned long long)p->done,
            (unsigned long long)p->total, p->unit);
    else
        put(&tail, "  %llu %s", (unsigned long long)p->done, p->unit);
    put_rate_eta(&tail, p, "  ");
    if (p->status[0]) put(&tail, "  %s", p->status);

    int width = terminal_width(p->out);
    put(&line, "%s", p->label);
    if (p->total) {
        int bar = width - 1 - (int)strlen(p->label) - 3 - (int)tail.len;
        bar = bar < MIN_BAR ? MIN_BAR : bar > MAX_BAR ? MAX_BAR : bar;
        int filled = (int)((double)bar * percent(p) / 100.0);
        char cells[MAX_BAR + 1];
        memset(cells, '#', (size_t)filled);
        memset(cells + filled, '.', (size_t)(bar - filled));
        cells[bar] = 0;
        put(&line, "%s[%s]", p->label[0] ? " " : "", cells);
    }
    put(&line, "%s", tail.text);
    redraw(p, line.text, line.len, width);
    fflush(p->out);
}

static int due(const cg_progress *p, double now) {
    if (!p->shown) return 1;
    if (p->total && p->done >= p->total && p->shown_done != p->done) return 1; // the final update
    double gap = p->plain ? p->period : p->period < BAR_INTERVAL_S ? p->period : BAR_INTERVAL_S;
    return now - p->t_shown >= gap;
}

void cg_progress_update(cg_progress *p, uint64_t done, const char *status) {
    if (!p) return;
    double now = now_of(p);
    if (!p->started) {
        p->started = 1;
        p->first_done = p->sample_done = done;
        p->t_first = p->t_sample = now;
    } else {
        update_rate(p, done, now);
    }
    p->done = done;
    p->t_done = now;
    copy_text(p->status, sizeof p->status, status);
    if (!due(p, now)) return;
    if (p->plain)
        print_plain(p);
    else
        draw_bar(p);
    p->shown = 1;
    p->shown_done = done;
    p->t_shown = now;
}

// label: 1000/1000 it in 1m22s, 12.2 it/s mean, status
static void summary(const cg_progress *p, double now, line_buf *b) {
    char took[32], r[32];
    cg_format_duration(now - p->t_begin, took, sizeof took);
    put(b, "%s: %llu", p->label, (unsigned long long)p->done);
    if (p->total) put(b, "/%llu", (unsigned long long)p->total);
    put(b, " %s in %s", p->unit, took);
    double rate = mean_rate(p);
    if (rate > 0) {
        format_rate(rate, r, sizeof r);
        put(b, ", %s %s/s mean", r, p->unit);
    }
    if (p->status[0]) put(b, ", %s", p->status);
}

void cg_progress_end(cg_progress *p) {
    if (!p) return;
    double now = now_of(p);
    line_buf b = {.len = 0};
    summary(p, now, &b);
    if (p->plain) {
        fprintf(p->out, "%s\n", b.text);
    } else {
        redraw(p, b.text, b.len, terminal_width(p->out));
        fputc('\n', p->out);
    }
    fflush(p->out);
    free(p);
}
