// test_progress.c — progress output captured in memory: plain lines, the redrawn bar, unknown
// totals, throttling, and duration formatting. Rates and throttling run on an injected clock, so
// nothing depends on how fast the machine is or how the test is scheduled.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "test_util.h"

typedef struct {
    FILE *f;
    char *text;
    size_t len;
} capture;

static FILE *capture_open(capture *c) {
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    if (!c->f) {
        perror("open_memstream");
        exit(1);
    }
    return c->f;
}

static void capture_close(capture *c) { fclose(c->f); }

static int count_char(const char *s, char ch) {
    int n = 0;
    for (; *s; s++) n += *s == ch;
    return n;
}

// Longest stretch of text between '\r' or '\n' characters: what one screen line holds.
static size_t longest_segment(const char *s) {
    size_t best = 0, run = 0;
    for (; *s; s++) {
        run = (*s == '\r' || *s == '\n') ? 0 : run + 1;
        if (run > best) best = run;
    }
    return best;
}

// The injected clock: seconds, advanced by the test.
static double fake_now(void *ctx) { return *(const double *)ctx; }
static void test_plain_lines(void) {
    capture c;
    cg_progress *p = cg_progress_begin("train", 1000, "it", capture_open(&c));
    CHECK(p != NULL, "begin failed");
    cg_progress_set_plain(p, 1, 0);
    cg_progress_update(p, 450, "loss_d 0.69");
    cg_progress_update(p, 1000, NULL);
    cg_progress_end(p);
    capture_close(&c);
    CHECK(strstr(c.text, "train: 450/1000 it (45%)") != NULL, "no 45%% line in:\n%s", c.text);
    CHECK(strstr(c.text, "loss_d 0.69") != NULL, "status missing in:\n%s", c.text);
    CHECK(strstr(c.text, "train: 1000/1000 it (100%)") != NULL, "no final line in:\n%s", c.text);
    CHECK(strstr(c.text, "1000/1000 it in ") != NULL, "no summary in:\n%s", c.text);
    CHECK(count_char(c.text, '\r') == 0, "plain output has '\\r'");
    CHECK(count_char(c.text, '\n') == 3, "expected 3 lines:\n%s", c.text);
    CHECK(c.len > 0 && c.text[c.len - 1] == '\n', "output does not end with a newline");
    free(c.text);
}

static void test_plain_period(void) {
    capture c;
    double now = 0; // frozen: the whole loop takes no time
    cg_progress *p = cg_progress_begin("train", 1000, NULL, capture_open(&c));
    cg_progress_set_clock(p, fake_now, &now);
    cg_progress_set_plain(p, 1, 10);
    for (uint64_t i = 1; i <= 1000; i++) cg_progress_update(p, i, "a\nb");
    cg_progress_end(p);
    capture_close(&c);
    CHECK(count_char(c.text, '\n') == 3, "expected first, final and summary lines:\n%s", c.text);
    CHECK(strstr(c.text, "train: 1/1000 it (0%)") != NULL, "first update missing:\n%s", c.text);
    CHECK(strstr(c.text, "(100%)") != NULL, "final update missing:\n%s", c.text);
    CHECK(strstr(c.text, "a b") != NULL, "newline in status not replaced:\n%s", c.text);
    free(c.text);
}

static void test_rate_and_eta(void) {
    capture c;
    double now = 0;
    cg_progress *p = cg_progress_begin("eta", 1000, "img", capture_open(&c));
    cg_progress_set_clock(p, fake_now, &now);
    cg_progress_set_plain(p, 1, 0);
    cg_progress_update(p, 0, NULL);
    now = 0.625;
    cg_progress_update(p, 50, NULL);
    cg_progress_end(p);
    capture_close(&c);
    // 50 images in 0.625 s: 80 img/s, 950 left -> 11.875 s.
    const char *second = strstr(c.text, "eta: 50/1000 img (5%), ");
    double rate = 0;
    CHECK(second && sscanf(second, "eta: 50/1000 img (5%%), %lf img/s", &rate) == 1, "no rate in:\n%s", c.text);
    CHECK(rate == 80.0, "rate %.2f, want 80", rate);
    CHECK(second && strstr(second, ", ETA 12s\n") != NULL, "no ETA 12s in:\n%s", c.text);
    CHECK(strstr(c.text, "eta: 50/1000 img in 0.6s, 80.0 img/s mean\n") != NULL, "summary wrong:\n%s", c.text);
    free(c.text);
}

static void test_bar(void) {
    capture c;
    cg_progress *p = cg_progress_begin("train", 1000, "it", capture_open(&c));
    cg_progress_set_plain(p, 0, 0);
    cg_progress_update(p, 100, NULL);
    cg_progress_update(p, 450, "loss_d 0.69");
    cg_progress_update(p, 1000, NULL);
    cg_progress_end(p);
    capture_close(&c);
    CHECK(count_char(c.text, '\r') == 4, "expected 4 redraws:\n%s", c.text);
    CHECK(count_char(c.text, '\n') == 1, "bar mode printed several lines:\n%s", c.text);
    CHECK(strstr(c.text, "train [####") != NULL, "no bar in:\n%s", c.text);
    CHECK(strstr(c.text, "#....") != NULL, "no partial bar in:\n%s", c.text);
    CHECK(strstr(c.text, " 45%  450/1000 it") != NULL, "no 45%% in:\n%s", c.text);
    CHECK(strstr(c.text, "loss_d 0.69") != NULL, "no status in:\n%s", c.text);
    CHECK(longest_segment(c.text) <= 79, "line wider than 80 columns:\n%s", c.text);
    free(c.text);
}

static void test_bar_throttle_and_width(void) {
    char status[300];
    memset(status, 's', sizeof status - 1);
    status[sizeof status - 1] = 0;
    capture c;
    double now = 0; // frozen: a fast loop draws the first update, the final one and the summary
    cg_progress *p = cg_progress_begin("train", 100000, "it", capture_open(&c));
    cg_progress_set_clock(p, fake_now, &now);
    cg_progress_set_plain(p, 0, 10);
    for (uint64_t i = 1; i <= 100000; i++) cg_progress_update(p, i, status);
    cg_progress_end(p);
    capture_close(&c);
    int redraws = count_char(c.text, '\r');
    CHECK(redraws == 3, "%d redraws for a loop that takes no time", redraws);
    CHECK(longest_segment(c.text) <= 79, "long status overflowed the line");
    free(c.text);

    // 1/16 s an update against at most 10 redraws a second: every other update, the final one
    // and the summary.
    now = 0;
    p = cg_progress_begin("train", 100, "it", capture_open(&c));
    cg_progress_set_clock(p, fake_now, &now);
    cg_progress_set_plain(p, 0, 10);
    for (uint64_t i = 1; i <= 100; i++, now += 0.0625) cg_progress_update(p, i, NULL);
    cg_progress_end(p);
    capture_close(&c);
    redraws = count_char(c.text, '\r');
    CHECK(redraws == 52, "%d redraws for 100 updates over 6.25 s", redraws);
    free(c.text);
}

static void test_unknown_total(void) {
    capture c;
    cg_progress *p = cg_progress_begin("scan", 0, "files", capture_open(&c));
    cg_progress_set_plain(p, 1, 0);
    cg_progress_update(p, 450, NULL);
    cg_progress_end(p);
    capture_close(&c);
    CHECK(strstr(c.text, "scan: 450 files\n") != NULL, "unknown total line wrong:\n%s", c.text);
    CHECK(!strchr(c.text, '%') && !strstr(c.text, "ETA"), "percent or ETA shown:\n%s", c.text);
    free(c.text);

    p = cg_progress_begin("scan", 0, "files", capture_open(&c));
    cg_progress_set_plain(p, 0, 0);
    cg_progress_update(p, 450, NULL);
    cg_progress_end(p);
    capture_close(&c);
    CHECK(strstr(c.text, "\rscan  450 files") != NULL, "unknown total bar wrong:\n%s", c.text);
    CHECK(!strchr(c.text, '[') && !strchr(c.text, '%'), "bar or percent shown:\n%s", c.text);
    free(c.text);

    cg_progress_update(NULL, 1, NULL);
    cg_progress_end(NULL);
}

static void check_duration(double s, const char *want) {
    char buf[32];
    cg_format_duration(s, buf, sizeof buf);
    CHECK(strcmp(buf, want) == 0, "duration %g -> '%s', want '%s'", s, buf, want);
}

static void test_durations(void) {
    check_duration(0, "0.0s");
    check_duration(4.2, "4.2s");
    check_duration(9.96, "10s");
    check_duration(45, "45s");
    check_duration(59.7, "1m00s");
    check_duration(185, "3m05s");
    check_duration(3599.9, "1h00m");
    check_duration(3720, "1h02m");
    check_duration(90000, "25h00m");
    check_duration(-3, "0.0s");
    check_duration(NAN, "?");
    char tiny[4];
    cg_format_duration(3720, tiny, sizeof tiny);
    CHECK(strcmp(tiny, "1h0") == 0, "truncation gave '%s'", tiny);
}

int main(void) {
    test_plain_lines();
    test_plain_period();
    test_rate_and_eta();
    test_bar();
    test_bar_throttle_and_width();
    test_unknown_total();
    test_durations();
    return test_finish("progress");
}
