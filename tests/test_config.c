// test_config.c — checks the configuration layer: typed reads, defaults, validation messages,
// --set overrides, unknown-key warnings, load errors, CRLF files and the dump round trip.
#include "test_util.h"

#include <unistd.h>

static char tmp_dir[256];
static char written[16][512];
static int n_written = 0;

// Writes text to tmp_dir/name and returns the path (valid until the end of the test).
static const char *write_ini(const char *name, const char *text) {
    CG_ASSERT(n_written < 16);
    char *path = written[n_written++];
    snprintf(path, sizeof written[0], "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    CG_ASSERT(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static cg_config *load_ok(const char *path) {
    cg_config *cfg = NULL;
    CHECK_OK(cg_config_load(path, &cfg));
    if (!cfg) exit(1);
    return cfg;
}

// Checks that the last error names every piece of the offending entry.
static void check_names(const char *what, const char *a, const char *b, const char *c, const char *d) {
    const char *parts[] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        CHECK(!parts[i] || strstr(cg_last_error(), parts[i]), "%s: '%s' lacks '%s'", what, cg_last_error(),
              parts[i]);
}

static void test_typed_reads(void) {
    const char *path = write_ini("typed.ini", "; a comment\n"
                                              "[Train]\n"
                                              "Batch_Size = 64\n"
                                              "lr = 2e-4   ; inline comment\n"
                                              "steps = -3\n"
                                              "shuffle = YES\n"
                                              "amp = off\n"
                                              "[data]\n"
                                              "name = \"a b; c\"\n"
                                              "mode = Train\n"
                                              "empty =\n");
    cg_config *cfg = load_ok(path);
    CHECK(strcmp(cg_config_path(cfg), path) == 0, "path %s", cg_config_path(cfg));
    long n = 0;
    double x = 0;
    int b = -1;
    const char *s = NULL;
    CHECK_OK(cg_config_int(cfg, "TRAIN", "batch_size", 1, 1, 65536, &n));
    CHECK(n == 64, "batch_size %ld", n);
    CHECK_OK(cg_config_int(cfg, "train", "steps", 0, -10, 10, &n));
    CHECK(n == -3, "steps %ld", n);
    CHECK_OK(cg_config_float(cfg, "train", "LR", 1.0, 0.0, 1.0, &x));
    CHECK(x == 2e-4, "lr %g", x);
    CHECK_OK(cg_config_bool(cfg, "train", "shuffle", 0, &b));
    CHECK(b == 1, "shuffle %d", b);
    CHECK_OK(cg_config_bool(cfg, "train", "amp", 1, &b));
    CHECK(b == 0, "amp %d", b);
    CHECK_OK(cg_config_str(cfg, "data", "name", "x", NULL, &s));
    CHECK(s && strcmp(s, "a b; c") == 0, "name '%s'", s ? s : "(null)");
    CHECK_OK(cg_config_str(cfg, "data", "mode", "test", "train|test", &s));
    CHECK(s && strcmp(s, "train") == 0, "mode '%s' should take the choice's spelling", s ? s : "(null)");
    CHECK_OK(cg_config_str(cfg, "data", "empty", "x", NULL, &s));
    CHECK(s && *s == 0, "empty '%s'", s ? s : "(null)");

    // Defaults for absent keys and sections.
    CHECK_OK(cg_config_int(cfg, "train", "epochs", 25, 1, 1000, &n));
    CHECK(n == 25, "epochs %ld", n);
    CHECK_OK(cg_config_float(cfg, "nosuch", "beta1", 0.5, 0, 1, &x));
    CHECK(x == 0.5, "beta1 %g", x);
    CHECK_OK(cg_config_bool(cfg, "train", "verbose", 1, &b));
    CHECK(b == 1, "verbose %d", b);
    CHECK_OK(cg_config_str(cfg, "train", "out", "runs/x", NULL, &s));
    CHECK(s && strcmp(s, "runs/x") == 0, "out '%s'", s ? s : "(null)");
    CHECK_OK(cg_config_str(cfg, "train", "resume", NULL, NULL, &s));
    CHECK(s == NULL, "resume should stay NULL");

    // A string handed out earlier survives a second ask with another default.
    const char *first = NULL;
    CHECK_OK(cg_config_str(cfg, "train", "tag", "one", NULL, &first));
    CHECK_OK(cg_config_str(cfg, "train", "tag", "two", NULL, &s));
    CHECK(first && strcmp(first, "one") == 0 && strcmp(s, "two") == 0, "tag '%s' '%s'", first, s);
    CHECK(cg_config_warn_unknown(cfg, stderr) == 0, "all keys were asked for");
    cg_config_free(cfg);

    cfg = load_ok(NULL);
    CHECK(strcmp(cg_config_path(cfg), "") == 0, "empty path '%s'", cg_config_path(cfg));
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 64, 1, 65536, &n));
    CHECK(n == 64, "empty config default %ld", n);
    cg_config_free(cfg);
}

static char *capture_warnings(const cg_config *cfg, int *count) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CG_ASSERT(f);
    *count = cg_config_warn_unknown(cfg, f);
    fclose(f);
    return text;
}

static void test_bad_values(void) {
    const char *path = write_ini("bad.ini", "[train]\n"
                                            "batch_size = abc\n"
                                            "suffix = 12x\n"
                                            "frac = 1.5\n"
                                            "blank =\n"
                                            "huge = 99999999999999999999999\n"
                                            "zero = 0\n"
                                            "lr = fast\n"
                                            "ratio = 1.5\n"
                                            "inf = inf\n"
                                            "flag = maybe\n"
                                            "optimizer = sgdx\n");
    cg_config *cfg = load_ok(path);
    long n = 7;
    double x = 0;
    int b = 0;
    const char *s = NULL;
    CHECK_FAILS(cg_config_int(cfg, "train", "batch_size", 1, 1, 65536, &n), CG_ERR_CONFIG, "expected an integer");
    check_names("int abc", path, "[train]", "batch_size", "\"abc\"");
    CHECK(n == 7, "output untouched on failure");
    CHECK_FAILS(cg_config_int(cfg, "train", "suffix", 1, 1, 100, &n), CG_ERR_CONFIG, "expected an integer");
    check_names("int 12x", path, "[train]", "suffix", "12x");
    CHECK_FAILS(cg_config_int(cfg, "train", "frac", 1, 1, 100, &n), CG_ERR_CONFIG, "expected an integer");
    check_names("int 1.5", path, "[train]", "frac", "1.5");
    CHECK_FAILS(cg_config_int(cfg, "train", "blank", 1, 1, 100, &n), CG_ERR_CONFIG, "expected an integer");
    check_names("int empty", path, "[train]", "blank", "\"\"");
    CHECK_FAILS(cg_config_int(cfg, "train", "huge", 1, 1, 100, &n), CG_ERR_CONFIG, "must be between 1 and 100");
    CHECK_FAILS(cg_config_int(cfg, "train", "zero", 1, 1, 65536, &n), CG_ERR_CONFIG,
                "[train] zero = 0: must be between 1 and 65536");
    check_names("int range", path, NULL, NULL, NULL);
    CHECK_FAILS(cg_config_float(cfg, "train", "lr", 0.1, 0, 1, &x), CG_ERR_CONFIG, "expected a number");
    check_names("float fast", path, "[train]", "lr", "fast");
    CHECK_FAILS(cg_config_float(cfg, "train", "ratio", 0.1, 0, 1, &x), CG_ERR_CONFIG, "must be between 0 and 1");
    check_names("float range", path, "[train]", "ratio", "1.5");
    CHECK_FAILS(cg_config_float(cfg, "train", "inf", 0.1, -1e300, 1e300, &x), CG_ERR_CONFIG, "finite");
    CHECK_FAILS(cg_config_bool(cfg, "train", "flag", 0, &b), CG_ERR_CONFIG, "expected true/false");
    check_names("bool maybe", path, "[train]", "flag", "maybe");
    CHECK_FAILS(cg_config_str(cfg, "train", "optimizer", "adam", "adam|sgd|rmsprop", &s), CG_ERR_CONFIG,
                "adam|sgd|rmsprop");
    check_names("choice", path, "[train]", "optimizer", "sgdx");
    int count = -1;
    char *text = capture_warnings(cfg, &count);
    CHECK(count == 0, "keys whose value was refused are still known:\n%s", text);
    free(text);
    cg_config_free(cfg);
}

static void test_unknown_keys(void) {
    const char *path = write_ini("unknown.ini", "stray = 1\n"
                                                "[train]\n"
                                                "batch_szie = 32\n"
                                                "lr = 0.001\n"
                                                "qqqqqqqq = 1\n"
                                                "[trian]\n"
                                                "lr = 0.1\n"
                                                "epochs = 3\n"
                                                "[empty]\n");
    cg_config *cfg = load_ok(path);
    CHECK_OK(cg_config_set(cfg, "train.lrr=0.5"));
    CHECK_OK(cg_config_set(cfg, "model.depth=4"));
    long n;
    double x;
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 64, 1, 1024, &n));
    CHECK_OK(cg_config_float(cfg, "train", "lr", 0.0002, 0, 1, &x));
    CHECK_OK(cg_config_int(cfg, "train", "epochs", 5, 1, 100, &n));
    CHECK_OK(cg_config_int(cfg, "train", "stray", 0, 0, 9, &n));
    CHECK_OK(cg_config_int(cfg, "model", "width", 4, 1, 9, &n));
    int count = -1;
    char *text = capture_warnings(cfg, &count);
    char want[768];
    snprintf(want, sizeof want, "warning: %s: unknown key [train] batch_szie; did you mean [train] batch_size?\n",
             path);
    CHECK(strstr(text, want), "warnings lack '%s':\n%s", want, text);
    snprintf(want, sizeof want, "warning: %s: unknown section [trian]; did you mean [train]?\n", path);
    CHECK(strstr(text, want), "warnings lack '%s':\n%s", want, text);
    snprintf(want, sizeof want, "warning: %s: unknown key [train] qqqqqqqq\n", path);
    CHECK(strstr(text, want), "far-off key should get no suggestion:\n%s", text);
    snprintf(want, sizeof want, "warning: %s: unknown section [empty]\n", path);
    CHECK(strstr(text, want), "warnings lack '%s':\n%s", want, text);
    snprintf(want, sizeof want, "warning: %s: key stray is outside any [section]; did you mean [train] stray?",
             path);
    CHECK(strstr(text, want), "warnings lack '%s':\n%s", want, text);
    CHECK(strstr(text, "warning: (from --set): unknown key [train] lrr; did you mean [train] lr?\n"),
          "--set typo not reported:\n%s", text);
    CHECK(strstr(text, "[model] depth; did you mean [model] width?") == NULL &&
              strstr(text, "unknown key [model] depth"),
          "--set key in a known section:\n%s", text);
    CHECK(count == 7, "count %d, warnings:\n%s", count, text);
    free(text);
    cg_config_free(cfg);
}

// Runs a load that must fail and checks nothing reached stderr.
static void check_load_fails(const char *path, cg_status want, const char *needle) {
    fflush(stderr);
    int saved = dup(2);
    FILE *sink = tmpfile();
    CG_ASSERT(saved >= 0 && sink);
    dup2(fileno(sink), 2);
    cg_config *cfg = (cg_config *)1;
    cg_clear_error();
    cg_status st = cg_config_load(path, &cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long printed = ftell(sink);
    fclose(sink);
    CHECK(st == want, "load %s -> %s (%s)", path, cg_status_name(st), cg_last_error());
    CHECK(cfg == NULL, "load failure must leave *out NULL");
    CHECK(strstr(cg_last_error(), needle), "detail '%s' lacks '%s'", cg_last_error(), needle);
    CHECK(strstr(cg_last_error(), path), "detail '%s' lacks the path", cg_last_error());
    CHECK(printed == 0, "loading %s printed %ld bytes to stderr", path, printed);
}

static void test_load_errors(void) {
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.ini", tmp_dir);
    check_load_fails(missing, CG_ERR_IO, "No such file or directory");
    check_load_fails(tmp_dir, CG_ERR_IO, "Is a directory");
    const char *p = write_ini("syntax.ini", "[train]\nbatch_size = 3\nthis is not valid\n");
    check_load_fails(p, CG_ERR_CONFIG, ":3: syntax error: \"this is not valid\"");
    p = write_ini("unclosed.ini", "[train]\n[unclosed\nx = 1\ny\n");
    check_load_fails(p, CG_ERR_CONFIG, ":2: syntax error: \"[unclosed\"");
    CHECK(strstr(cg_last_error(), "(and 1 more)"), "second error not counted: %s", cg_last_error());
    p = write_ini("comment.ini", "[train] ; trailing comment\n");
    check_load_fails(p, CG_ERR_CONFIG, ":1: syntax error");
    char longline[1200] = "[s]\nk = ";
    memset(longline + 8, 'x', 1100);
    p = write_ini("long.ini", longline);
    check_load_fails(p, CG_ERR_CONFIG, "input line too long in");
    CHECK(strstr(cg_last_error(), "long.ini (2)"), "line number: %s", cg_last_error());

    // A failed load leaves iniparser silent afterwards as well.
    cg_config *cfg = load_ok(write_ini("ok.ini", "[a]\nb = 1\n"));
    cg_config_free(cfg);
}

static void test_overrides(void) {
    const char *path = write_ini("set.ini", "[train]\nbatch_size = 64\nlr = 0.1\n");
    cg_config *cfg = load_ok(path);
    CHECK_OK(cg_config_set(cfg, "train.batch_size=128"));
    CHECK_OK(cg_config_set(cfg, "TRAIN.Batch_Size = 256"));
    CHECK_OK(cg_config_set(cfg, "data.expr= a = b c "));
    CHECK_OK(cg_config_set(cfg, "newsec.depth=5"));
    CHECK_OK(cg_config_set(cfg, "train.lr=abc"));
    long n;
    double x;
    const char *s;
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 1, 1, 65536, &n));
    CHECK(n == 256, "--set should win over the file and the last --set over earlier ones: %ld", n);
    CHECK_OK(cg_config_str(cfg, "data", "expr", "", NULL, &s));
    CHECK(strcmp(s, "a = b c") == 0, "expr '%s'", s);
    CHECK_OK(cg_config_int(cfg, "newsec", "depth", 1, 1, 10, &n));
    CHECK(n == 5, "depth %ld", n);
    CHECK_FAILS(cg_config_float(cfg, "train", "lr", 0.1, 0, 1, &x), CG_ERR_CONFIG,
                "(from --set) [train] lr = \"abc\": expected a number");
    CHECK(strstr(cg_last_error(), path) == NULL, "--set error should not blame the file: %s", cg_last_error());
    const char *bad[] = {"nodot=1", "a.b.c=1", ".k=1", "s.=1", "s.k", "=3", "s.k k=1", "s:x.k=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_FAILS(cg_config_set(cfg, bad[i]), CG_ERR_CONFIG, bad[i]);
    }
    cg_config_free(cfg);

    cfg = cg_config_empty();
    CHECK(cfg != NULL, "cg_config_empty");
    CHECK_OK(cg_config_set(cfg, "train.batch_size=32"));
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 1, 1, 65536, &n));
    CHECK(n == 32, "empty config --set %ld", n);
    CHECK_FAILS(cg_config_set(cfg, "train.batch_size"), CG_ERR_CONFIG, "train.batch_size");
    cg_config_free(cfg);
}

static void test_crlf(void) {
    const char *path = write_ini("crlf.ini", "; windows\r\n[train]\r\nbatch_size = 16\r\n\r\n"
                                             "name = \"x y\"\r\nflag = true\r\nmode = sgd\r\n");
    cg_config *cfg = load_ok(path);
    long n;
    int b;
    const char *s;
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 1, 1, 64, &n));
    CHECK(n == 16, "crlf int %ld", n);
    CHECK_OK(cg_config_str(cfg, "train", "name", "", NULL, &s));
    CHECK(strcmp(s, "x y") == 0, "crlf quoted '%s'", s);
    CHECK_OK(cg_config_bool(cfg, "train", "flag", 0, &b));
    CHECK(b == 1, "crlf bool");
    CHECK_OK(cg_config_str(cfg, "train", "mode", "adam", "adam|sgd", &s));
    CHECK(strcmp(s, "sgd") == 0, "crlf choice '%s'", s);
    cg_config_free(cfg);
}

typedef struct {
    long batch, epochs;
    double lr, beta;
    int shuffle, amp;
    const char *name, *tricky, *empty, *quote, *opt;
} settings;

static void read_settings(cg_config *cfg, settings *s) {
    CHECK_OK(cg_config_int(cfg, "train", "batch_size", 64, 1, 65536, &s->batch));
    CHECK_OK(cg_config_float(cfg, "train", "lr", 0.0002, 0, 1, &s->lr));
    CHECK_OK(cg_config_int(cfg, "train", "epochs", 25, 1, 1000, &s->epochs));
    CHECK_OK(cg_config_bool(cfg, "train", "shuffle", 1, &s->shuffle));
    CHECK_OK(cg_config_float(cfg, "optim", "beta1", 0.1, 0, 1, &s->beta));
    CHECK_OK(cg_config_str(cfg, "optim", "kind", "adam", "adam|sgd", &s->opt));
    CHECK_OK(cg_config_bool(cfg, "train", "amp", 0, &s->amp));
    CHECK_OK(cg_config_str(cfg, "data", "name", "mnist", NULL, &s->name));
    CHECK_OK(cg_config_str(cfg, "data", "tricky", " lead; #x\\", NULL, &s->tricky));
    CHECK_OK(cg_config_str(cfg, "data", "empty", "", NULL, &s->empty));
    CHECK_OK(cg_config_str(cfg, "data", "quote", "say \"hi\"", NULL, &s->quote));
}

static void test_dump_round_trip(void) {
    const char *path = write_ini("dump.ini", "[data]\nname = celeba\n[train]\nbatch_size = 128\nlr = 0.1\n");
    cg_config *cfg = load_ok(path);
    CHECK_OK(cg_config_set(cfg, "train.epochs=7"));
    settings a, b;
    read_settings(cfg, &a);
    char *text = cg_config_dump_string(cfg);
    CHECK(text != NULL, "dump_string");
    if (!text) return;
    CHECK(strstr(text, "batch_size = 128\n"), "file value in dump:\n%s", text);
    CHECK(strstr(text, "lr = 0.1\n"), "float in dump:\n%s", text);
    CHECK(strstr(text, "epochs = 7") && strstr(text, "; --set"), "--set value in dump:\n%s", text);
    CHECK(strstr(text, "shuffle = true") && strstr(text, "; default"), "default in dump:\n%s", text);
    const char *t = strstr(text, "[train]"), *o = strstr(text, "[optim]"), *d = strstr(text, "[data]");
    CHECK(t && o && d && t < o && o < d, "sections in first-asked order:\n%s", text);
    const char *copy = write_ini("dumped.ini", text);
    cg_config *again = load_ok(copy);
    read_settings(again, &b);
    CHECK(a.batch == b.batch && a.epochs == b.epochs && a.lr == b.lr && a.beta == b.beta, "numbers differ");
    CHECK(a.shuffle == b.shuffle && a.amp == b.amp, "bools differ");
    const char *sa[] = {a.name, a.tricky, a.empty, a.quote, a.opt};
    const char *sb[] = {b.name, b.tricky, b.empty, b.quote, b.opt};
    for (int i = 0; i < 5; i++) CHECK(strcmp(sa[i], sb[i]) == 0, "string '%s' came back as '%s'", sa[i], sb[i]);
    CHECK(cg_config_warn_unknown(again, stderr) == 0, "the dump holds only known keys");
    char *text2 = cg_config_dump_string(again);
    CHECK(text2 && strstr(text2, "epochs = 7"), "second dump:\n%s", text2 ? text2 : "(null)");
    free(text2);
    free(text);
    cg_config_free(again);
    cg_config_free(cfg);
}

int main(void) {
    if (test_tmpdir(tmp_dir, sizeof tmp_dir, "test-config") != 0) return 1;
    test_typed_reads();
    test_bad_values();
    test_unknown_keys();
    test_load_errors();
    test_overrides();
    test_crlf();
    test_dump_round_trip();
    for (int i = 0; i < n_written; i++) remove(written[i]);
    rmdir(tmp_dir);
    return test_finish("config");
}
