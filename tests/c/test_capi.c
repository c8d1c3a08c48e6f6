/* C API tests (driven by tools/c_tests.sh): the keras2onnx models through the C API against
 * onnxruntime's outputs, every error path, every kernel against a naive C version (which
 * also pins down the argument order), two models on two threads at once, and loads of every
 * truncation of a real model (under valgrind in the script).
 *
 * usage: test_capi SHARED_DIR REPO_DIR TMP_DIR */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtonnx.h"
#include "mnist_images.h" /* examples/: ten t10k digits and their t10k indices */

static int failures = 0;
static int checks = 0;
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return b;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

static void image(int i, float *x) {
    for (int k = 0; k < 784; k++) x[k] = (float)mnist_images[i][k] / 255.0f;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN counts as a difference */
    }
    return m;
}

static size_t info_bytes = 0, info_calls = 0, info_max_chunk = 0;
static void count_info(void *ctx, const char *text) {
    size_t n = strlen(text);
    (void)ctx;
    info_bytes += n;
    info_calls++;
    if (n > info_max_chunk) info_max_chunk = n;
}

/* ---- models ------------------------------------------------------------------------------ */

/* `ref` holds onnxruntime's outputs for the first 1000 t10k images (tests/reference/). */
/* A fake clock: advances by 10 at every call. */
static uint32_t tick_by_ten(void *ctx) {
    uint32_t *t = ctx;
    *t += 10;
    return *t;
}

static void test_model(const char *path, const float *ref, int input_rank_nhwc) {
    onnx_model_t *m = onnx_model_load(path);
    CHECK(m != NULL);
    if (!m) return;
    CHECK(onnx_model_input_len(m) == 784);
    CHECK(onnx_model_output_len(m) == 10);
    CHECK(onnx_model_num_inputs(m) == 1 && onnx_model_num_outputs(m) == 1);
    size_t dims[8] = {0};
    CHECK(onnx_model_input_shape(m, 0, dims, 8) == 4);
    if (input_rank_nhwc) CHECK(dims[0] == 1 && dims[1] == 28 && dims[2] == 28 && dims[3] == 1);
    CHECK(onnx_model_input_shape(m, 0, dims, 3) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_model_input_shape(m, 1, dims, 8) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_model_input_shape(m, 0, NULL, 8) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_input_shape(NULL, 0, dims, 8) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_output_shape(m, 0, dims, 8) == 2 && dims[0] == 1 && dims[1] == 10);
    CHECK(onnx_model_output_shape(m, 1, dims, 8) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_model_output_shape(NULL, 0, dims, 8) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_arena_bytes(m) > 0 && onnx_model_weight_bytes(m) > 0);
    CHECK(onnx_model_macs(m) >= 21600);

    /* The bundled digits against onnxruntime. */
    float x[784], y[10];
    float worst = 0;
    for (int i = 0; i < MNIST_NUM_IMAGES; i++) {
        CHECK(mnist_indices[i] < 1000);
        image(i, x);
        CHECK(onnx_run(m, x, 784, y, 10) == ONNX_OK);
        float d = max_abs_diff(y, ref + 10 * mnist_indices[i], 10);
        if (!(d <= worst)) worst = d;
    }
    CHECK(worst <= 1e-5f);
    printf("%s: %d digits, max |difference| to onnxruntime %.1e\n", path, MNIST_NUM_IMAGES, (double)worst);

    /* Errors of run: lengths, NULLs, overlap. The message names what is wrong. */
    onnx_error_t e;
    image(0, x);
    CHECK(onnx_run_ex(m, x, 783, y, 10, &e) == ONNX_ERR_BUFFER_LENGTH && e.code == ONNX_ERR_BUFFER_LENGTH);
    CHECK(strstr(e.message, "buffer length") != NULL && strstr(e.message, "input_len") != NULL);
    CHECK(onnx_run_ex(m, x, 784, y, 11, &e) == ONNX_ERR_BUFFER_LENGTH && strstr(e.message, "output_len") != NULL);
    CHECK(onnx_run(m, x, 784, y, 9) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_run(m, x, 0, y, 10) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_run(m, NULL, 784, y, 10) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_run(m, x, 784, NULL, 10) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_run_ex(m, x, 784, x + 100, 10, &e) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(e.message, "overlap") != NULL);
    CHECK(onnx_run_ex(m, x, 784, y, 10, &e) == ONNX_OK && e.code == 0 && e.message[0] == '\0');
    CHECK(onnx_run_ex(m, x, 784, y, 10, NULL) == ONNX_OK);
    /* NaN and infinite inputs give numbers or NaN, never a crash. */
    for (int k = 0; k < 784; k++) x[k] = (k % 3 == 0) ? NAN : (k % 3 == 1 ? INFINITY : -INFINITY);
    CHECK(onnx_run(m, x, 784, y, 10) == ONNX_OK);

    /* The info table: through a callback, in lines of at most 127 bytes. */
    info_bytes = info_calls = info_max_chunk = 0;
    CHECK(onnx_model_info_to(m, count_info, NULL) == 0 && info_bytes > 100 && info_calls >= 5);
    CHECK(info_max_chunk <= 127);
    CHECK(onnx_model_info_to(m, NULL, NULL) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_info_to(NULL, count_info, NULL) == ONNX_ERR_NULL_POINTER);
    onnx_model_info(m);

    /* Per-node profile with a clock that advances by 10 per call: every node takes 10. */
    {
        size_t nodes = onnx_model_num_nodes(m);
        uint32_t ticks[64], fake = 0;
        float y2[10];
        CHECK(nodes >= 3 && nodes <= 64);
        CHECK(onnx_model_num_nodes(NULL) == 0);
        for (int k = 0; k < 784; k++) x[k] = (float)(k % 255) / 255.0f;
        CHECK(onnx_run(m, x, 784, y, 10) == ONNX_OK);
        CHECK(onnx_run_profiled_ex(m, x, 784, y2, 10, tick_by_ten, &fake, ticks, nodes, &e) == ONNX_OK);
        CHECK(memcmp(y, y2, sizeof y2) == 0);
        int all_ten = 1;
        for (size_t k = 0; k < nodes; k++) all_ten &= ticks[k] == 10;
        CHECK(all_ten && fake == 10 * (nodes + 1));
        CHECK(onnx_run_profiled_ex(m, x, 784, y2, 10, tick_by_ten, &fake, ticks, nodes - 1, &e) ==
              ONNX_ERR_BUFFER_LENGTH);
        CHECK(onnx_run_profiled_ex(m, x, 784, y2, 10, NULL, NULL, ticks, nodes, &e) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_run_profiled_ex(m, x, 784, y2, 10, tick_by_ten, &fake, NULL, nodes, &e) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_run_profiled_ex(NULL, x, 784, y2, 10, tick_by_ten, &fake, ticks, nodes, &e) ==
              ONNX_ERR_NULL_POINTER);
        CHECK(onnx_run_profiled_ex(m, x, 783, y2, 10, tick_by_ten, &fake, ticks, nodes, &e) == ONNX_ERR_BUFFER_LENGTH);
        CHECK(onnx_run_profiled_ex(m, x, 784, x + 10, 10, tick_by_ten, &fake, ticks, nodes, &e) ==
              ONNX_ERR_INVALID_ARGUMENT);
        info_bytes = info_calls = info_max_chunk = 0;
        CHECK(onnx_model_profile_to(m, ticks, nodes, "cycles", count_info, NULL) == ONNX_OK);
        CHECK(info_calls == nodes + 2 && info_max_chunk <= 127);
        CHECK(onnx_model_profile_to(m, ticks, nodes - 1, NULL, count_info, NULL) == ONNX_ERR_BUFFER_LENGTH);
        CHECK(onnx_model_profile_to(m, NULL, nodes, NULL, count_info, NULL) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_model_profile_to(m, ticks, nodes, NULL, NULL, NULL) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_model_profile_to(NULL, ticks, nodes, NULL, count_info, NULL) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_model_profile_to(m, ticks, nodes, "\xff\xfe", count_info, NULL) == ONNX_ERR_INVALID_ARGUMENT);
        CHECK(onnx_model_profile(m, ticks, nodes, "cycles") == ONNX_OK);
    }
    onnx_model_free(m);

    /* The same bytes from memory (copied: the buffer is freed at once) and in place. */
    size_t len;
    unsigned char *b = read_all(path, &len);
    CHECK(b != NULL);
    if (!b) return;
    float y1[10], y2[10];
    image(1, x);
    onnx_model_t *mm = onnx_model_load_from_memory(b, len);
    free(b);
    CHECK(mm != NULL);
    CHECK(mm && onnx_run(mm, x, 784, y1, 10) == 0);
    CHECK(mm && max_abs_diff(y1, ref + 10 * mnist_indices[1], 10) <= 1e-5f);
    onnx_model_free(mm);
    b = read_all(path, &len);
    onnx_model_t *ms = onnx_model_load_static(b, len);
    CHECK(ms != NULL);
    CHECK(ms && onnx_run(ms, x, 784, y2, 10) == 0 && memcmp(y1, y2, sizeof y1) == 0);
    onnx_model_free(ms);
    free(b); /* only after the in-place model is gone */
}

/* Every prefix of a real model: an error code (or, where a prefix happens to be a complete
 * model, a working one), never a crash or a leak (valgrind in tools/c_tests.sh). */
static void test_truncations(const char *path) {
    size_t len;
    unsigned char *b = read_all(path, &len);
    CHECK(b != NULL && len > 100);
    if (!b) return;
    int errors = 0, loaded = 0, bad_codes = 0;
    float x[784] = {0}, y[10];
    for (size_t n = 0; n < len; n++) {
        onnx_model_t *m = NULL;
        onnx_error_t e;
        int rc = onnx_model_load_from_memory_ex(b, n, &m, &e);
        if (rc == 0) {
            loaded++;
            size_t in = onnx_model_input_len(m), out = onnx_model_output_len(m);
            if (in == 784 && out == 10) CHECK(onnx_run(m, x, 784, y, 10) == 0);
            onnx_model_free(m);
        } else {
            errors++;
            if (rc < -24 || m != NULL || e.code != rc || strlen(e.message) == 0) bad_codes++;
        }
    }
    CHECK(bad_codes == 0);
    CHECK(errors >= (int)len - 1);
    printf("%s: %zu truncations: %d errors, %d loaded\n", path, len, errors, loaded);
    free(b);
}

/* onnx_plan_verify: a plan passes, a damaged copy (one weight bit) fails with its message but
 * still loads in place (its structure is intact), and an ONNX file is not a plan. */
static void test_plan_verify(const char *plan_path, const char *onnx_path) {
    size_t len, onnx_len;
    unsigned char *b = read_all(plan_path, &len);
    unsigned char *o = read_all(onnx_path, &onnx_len);
    onnx_error_t e;
    CHECK(b != NULL && o != NULL && len > 64);
    if (!b || !o) return;
    CHECK(onnx_plan_verify(b, len, &e) == ONNX_OK && e.code == 0);
    CHECK(onnx_plan_verify(b, len, NULL) == ONNX_OK);
    b[len - 2] ^= 0x40;
    CHECK(onnx_plan_verify(b, len, &e) == ONNX_ERR_MALFORMED && strstr(e.message, "checksum") != NULL);
    onnx_model_t *m = NULL;
    CHECK(onnx_model_load_from_memory_ex(b, len, &m, &e) == ONNX_ERR_MALFORMED && m == NULL);
    m = onnx_model_load_static(b, len);
    CHECK(m != NULL);
    onnx_model_free(m);
    CHECK(onnx_plan_verify(o, onnx_len, &e) == ONNX_ERR_MALFORMED && strstr(e.message, "not a compiled plan"));
    CHECK(onnx_plan_verify(NULL, 4, &e) == ONNX_ERR_NULL_POINTER);
    printf("%s: onnx_plan_verify checked\n", plan_path);
    free(b);
    free(o);
}

/* ---- errors and strerror -------------------------------------------------------------- */

static void test_errors(const char *tmp) {
    onnx_error_t e;
    onnx_model_t *m = (onnx_model_t *)&e; /* must be overwritten with NULL */
    char path[4096];
    CHECK(onnx_model_load(NULL) == NULL);
    CHECK(onnx_model_load_ex(NULL, &m, &e) == ONNX_ERR_NULL_POINTER && m == NULL && e.code == ONNX_ERR_NULL_POINTER);
    CHECK(strstr(e.message, "NULL pointer") != NULL);
    CHECK(onnx_model_load_ex("/nonexistent/model.onnx", &m, &e) == ONNX_ERR_FILE_NOT_FOUND && m == NULL);
    CHECK(strstr(e.message, "/nonexistent/model.onnx") != NULL);
    CHECK(onnx_model_load_ex("/nonexistent/model.onnx", &m, NULL) == ONNX_ERR_FILE_NOT_FOUND);
    CHECK(onnx_model_load_ex("/nonexistent/model.onnx", NULL, &e) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_load("/nonexistent/model.onnx") == NULL);
    /* A directory is not a model file. */
    CHECK(onnx_model_load_ex(tmp, &m, &e) < 0 && m == NULL);
    /* A long path: the message keeps the start of the name and stays NUL-terminated (the
       cutting of long messages is tested in rust/capi.rs). */
    memset(path, 'a', 300);
    path[0] = '/';
    path[300] = '\0';
    memset(e.message, 'x', sizeof e.message);
    CHECK(onnx_model_load_ex(path, &m, &e) == ONNX_ERR_FILE_NOT_FOUND);
    CHECK(memchr(e.message, '\0', sizeof e.message) != NULL);
    CHECK(strncmp(e.message, "model file not found", 20) == 0 && strstr(e.message, "/aaaaaaaa") != NULL);
    /* A path that is not UTF-8 (Latin-1 e-acute): refused with a code before any file access. */
    m = (onnx_model_t *)&e;
    CHECK(onnx_model_load_ex("/tmp/caf\xe9.onnx", &m, &e) == ONNX_ERR_INVALID_ARGUMENT && m == NULL);
    CHECK(e.code == ONNX_ERR_INVALID_ARGUMENT && strstr(e.message, "UTF-8") != NULL);
    CHECK(onnx_model_load("/tmp/caf\xe9.onnx") == NULL);

    snprintf(path, sizeof path, "%s/empty.onnx", tmp);
    write_file(path, "", 0);
    CHECK(onnx_model_load_ex(path, &m, &e) == ONNX_ERR_EMPTY_MODEL && m == NULL);
    CHECK(onnx_model_load(path) == NULL);
    snprintf(path, sizeof path, "%s/garbage.onnx", tmp);
    write_file(path, "\xff\xff\xff\xff garbage", 13);
    CHECK(onnx_model_load_ex(path, &m, &e) == ONNX_ERR_MALFORMED && m == NULL);
    CHECK(strstr(e.message, "malformed") != NULL);
    CHECK(onnx_model_load(path) == NULL);
    /* A valid protobuf that is not a usable model: an empty ModelProto. */
    static const unsigned char ir_only[2] = {0x08, 0x07}; /* ir_version = 7, nothing else */
    CHECK(onnx_model_load_from_memory_ex(ir_only, 2, &m, &e) < 0 && m == NULL);

    const unsigned char junk[3] = {0x08, 0x01, 0xff};
    CHECK(onnx_model_load_from_memory(NULL, 10) == NULL);
    CHECK(onnx_model_load_from_memory(junk, 0) == NULL);
    CHECK(onnx_model_load_from_memory_ex(junk, 0, &m, &e) == ONNX_ERR_EMPTY_MODEL);
    CHECK(onnx_model_load_from_memory_ex(NULL, 3, &m, &e) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_load_from_memory_ex(junk, 3, &m, NULL) == ONNX_ERR_MALFORMED);
    CHECK(onnx_model_load_from_memory_ex(junk, 3, NULL, &e) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_load_static(NULL, 1) == NULL);
    CHECK(onnx_model_load_static(junk, 3) == NULL);

    float x[784] = {0}, y[10];
    CHECK(onnx_run(NULL, x, 784, y, 10) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_run_ex(NULL, x, 784, y, 10, &e) == ONNX_ERR_NULL_POINTER && strstr(e.message, "model") != NULL);
    CHECK(onnx_model_input_len(NULL) == 0 && onnx_model_output_len(NULL) == 0);
    CHECK(onnx_model_num_inputs(NULL) == 0 && onnx_model_num_outputs(NULL) == 0);
    CHECK(onnx_model_arena_bytes(NULL) == 0 && onnx_model_weight_bytes(NULL) == 0 && onnx_model_macs(NULL) == 0);
    const float *d;
    size_t n, dims[4];
    CHECK(onnx_model_initializer(NULL, "W", &d, &n, dims, 4) == ONNX_ERR_NULL_POINTER);
    onnx_model_info(NULL);
    onnx_model_free(NULL);
}

static void test_strerror(void) {
    static const int codes[] = {
        ONNX_ERR_NULL_POINTER, ONNX_ERR_BUFFER_LENGTH, ONNX_ERR_FILE_NOT_FOUND, ONNX_ERR_FILE_READ,
        ONNX_ERR_EMPTY_MODEL, ONNX_ERR_OUT_OF_MEMORY, ONNX_ERR_MALFORMED, ONNX_ERR_UNSUPPORTED_IR_VERSION,
        ONNX_ERR_UNSUPPORTED_OPSET, ONNX_ERR_UNSUPPORTED_DOMAIN, ONNX_ERR_UNSUPPORTED_OPERATOR,
        ONNX_ERR_UNSUPPORTED_DATA_TYPE, ONNX_ERR_UNSUPPORTED_ATTRIBUTE, ONNX_ERR_GRAPH_CYCLE,
        ONNX_ERR_DANGLING_INPUT, ONNX_ERR_DUPLICATE_OUTPUT, ONNX_ERR_SHAPE_MISMATCH, ONNX_ERR_INVALID_DIMENSION,
        ONNX_ERR_DATA_SIZE, ONNX_ERR_EMPTY_GRAPH, ONNX_ERR_INVALID_ATTRIBUTE, ONNX_ERR_INVALID_ARGUMENT,
        ONNX_ERR_LIMIT_EXCEEDED, ONNX_ERR_NOT_SUPPORTED, ONNX_ERR_STACK_TOO_SMALL,
    };
    const int n = (int)(sizeof codes / sizeof codes[0]);
    CHECK(strcmp(onnx_strerror(ONNX_OK), "ok") == 0);
    for (int i = 0; i < n; i++) {
        const char *s = onnx_strerror(codes[i]);
        CHECK(codes[i] == -(i + 1)); /* the numbering is stable */
        CHECK(s != NULL && strlen(s) > 5 && strcmp(s, "unknown error code") != 0);
        for (int j = 0; j < i; j++) CHECK(strcmp(s, onnx_strerror(codes[j])) != 0);
        CHECK(onnx_strerror(codes[i]) == s); /* static storage */
    }
    CHECK(strcmp(onnx_strerror(ONNX_ERR_FILE_NOT_FOUND), "model file not found") == 0);
    CHECK(strcmp(onnx_strerror(ONNX_ERR_OUT_OF_MEMORY), "out of memory") == 0);
    const int unknown[] = {-n - 1, 1, 7, INT_MIN, INT_MAX, -1000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(strcmp(onnx_strerror(unknown[i]), "unknown error code") == 0);
}

/* ---- kernels against naive C ----------------------------------------------------------- */

static unsigned rng_state = 12345;
static float rnd(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static void fill(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = rnd();
}

static void naive_conv(const float *x, int n, int c, int h, int w, const float *wt, int oc, int kh, int kw, int sh,
                       int sw, int pt, int pl, int pb, int pr, int dh, int dw, int g, const float *b, int relu,
                       float *y, int oh, int ow) {
    (void)pb;
    (void)pr;
    int cg = c / g, og = oc / g;
    for (int in = 0; in < n; in++)
        for (int o = 0; o < oc; o++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++) {
                    double s = b ? b[o] : 0.0;
                    int grp = o / og;
                    for (int ci = 0; ci < cg; ci++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int yy = r * sh - pt + i * dh, xx = q * sw - pl + j * dw;
                                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                s += (double)x[((in * c + grp * cg + ci) * h + yy) * w + xx] *
                                     wt[((o * cg + ci) * kh + i) * kw + j];
                            }
                    if (relu && s < 0) s = 0;
                    y[((in * oc + o) * oh + r) * ow + q] = (float)s;
                }
}

static void test_kernels(const char *sm_path) {
    /* Convolution: asymmetric pads, strides, dilations, groups (incl. depthwise), bias or
       not, relu or not, all against the naive loop. */
    struct {
        int n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g, bias, relu;
    } cases[] = {
        {1, 1, 28, 28, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {2, 3, 7, 9, 4, 3, 2, 2, 1, 0, 1, 2, 0, 1, 2, 1, 0, 0},
        {1, 4, 8, 8, 4, 3, 3, 1, 2, 1, 0, 0, 2, 2, 1, 4, 1, 1},
        {1, 4, 6, 5, 6, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 2, 1, 0},
        {1, 2, 5, 5, 2, 5, 5, 3, 3, 2, 2, 2, 2, 1, 1, 1, 0, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int n = cases[t].n, c = cases[t].c, h = cases[t].h, w = cases[t].w, oc = cases[t].oc;
        int kh = cases[t].kh, kw = cases[t].kw, sh = cases[t].sh, sw = cases[t].sw;
        int pt = cases[t].pt, pl = cases[t].pl, pb = cases[t].pb, pr = cases[t].pr;
        int dh = cases[t].dh, dw = cases[t].dw, g = cases[t].g;
        int oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1, ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
        size_t xl = (size_t)n * c * h * w, wl = (size_t)oc * (c / g) * kh * kw, yl = (size_t)n * oc * oh * ow;
        float *x = malloc(xl * 4), *wt = malloc(wl * 4), *b = malloc((size_t)oc * 4);
        float *y = malloc(yl * 4), *want = malloc(yl * 4);
        fill(x, xl);
        fill(wt, wl);
        fill(b, (size_t)oc);
        const float *bias = cases[t].bias ? b : NULL;
        naive_conv(x, n, c, h, w, wt, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g, bias, cases[t].relu, want, oh, ow);
        CHECK(onnx_conv2d(x, n, c, h, w, wt, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g, bias, cases[t].relu, y,
                          yl) == ONNX_OK);
        CHECK(max_abs_diff(y, want, yl) <= 1e-5f);
        CHECK(onnx_conv2d(x, n, c, h, w, wt, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g, bias, cases[t].relu, y,
                          yl + 1) == ONNX_ERR_BUFFER_LENGTH);
        free(x), free(wt), free(b), free(y), free(want);
    }
    float x[784], c[2 * 784], p[2 * 196], w[18] = {0};
    fill(x, 784);
    /* NULLs, parameters, sizes, overlap. */
    CHECK(onnx_conv2d(NULL, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_NULL_POINTER);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, NULL, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_NULL_POINTER);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, NULL, 1568) ==
          ONNX_ERR_NULL_POINTER);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* stride 0 */
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* dilation 0 */
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* kernel 0 */
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* group does not divide in_c */
    CHECK(onnx_conv2d(x, 1, 1, 2, 2, w, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* kernel larger than the padded input */
    CHECK(onnx_conv2d(x, SIZE_MAX / 2, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, c, 1568) ==
          ONNX_ERR_INVALID_DIMENSION);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL, 1, x, 1568) ==
          ONNX_ERR_INVALID_ARGUMENT); /* output over the input */

    /* Max pooling: asymmetric padding against a naive loop. */
    {
        int h = 7, wd = 6, kh = 3, kw = 2, sh = 2, sw = 2, pt = 1, pl = 0, pb = 2, pr = 1;
        int oh = (h + pt + pb - kh) / sh + 1, ow = (wd + pl + pr - kw) / sw + 1;
        float in[2 * 7 * 6], out[2 * 4 * 3], want[2 * 4 * 3];
        fill(in, sizeof in / 4);
        for (int ch = 0; ch < 2; ch++)
            for (int r = 0; r < oh; r++)
                for (int q = 0; q < ow; q++) {
                    float mx = -INFINITY;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int yy = r * sh - pt + i, xx = q * sw - pl + j;
                            if (yy >= 0 && yy < h && xx >= 0 && xx < wd && in[(ch * h + yy) * wd + xx] > mx)
                                mx = in[(ch * h + yy) * wd + xx];
                        }
                    want[(ch * oh + r) * ow + q] = mx;
                }
        CHECK(oh == 4 && ow == 3);
        CHECK(onnx_maxpool2d(in, 1, 2, h, wd, kh, kw, sh, sw, pt, pl, pb, pr, out, 24) == ONNX_OK);
        CHECK(memcmp(out, want, sizeof out) == 0);
    }
    CHECK(onnx_maxpool2d(x, 1, 1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, p, 196) == ONNX_OK);
    CHECK(onnx_maxpool2d(x, 1, 1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, p, 5) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_maxpool2d(NULL, 1, 1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, p, 196) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_maxpool2d(x, 1, 1, 28, 28, 2, 2, 0, 2, 0, 0, 0, 0, p, 196) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_maxpool2d(x, 1, 1, 28, 28, 2, 2, 2, 2, 2, 0, 0, 0, p, 196) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_maxpool2d(x, 1, 1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, x + 1, 196) == ONNX_ERR_INVALID_ARGUMENT);

    /* Relu, dense, softmax, transpose. */
    float r[4] = {-1, 0, 2, -0.5f};
    CHECK(onnx_relu(r, 4) == 0 && r[0] == 0 && r[1] == 0 && r[2] == 2 && r[3] == 0);
    CHECK(onnx_relu(NULL, 3) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_relu(r, 0) == ONNX_OK);
    {
        enum { M = 3, K = 5, N = 4 };
        float a[M * K], wt[K * N], b[N], y[M * N], want[M * N];
        fill(a, M * K), fill(wt, K * N), fill(b, N);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = b[j];
                for (int k = 0; k < K; k++) s += (double)a[i * K + k] * wt[k * N + j];
                want[i * N + j] = (float)s;
            }
        CHECK(onnx_dense(a, M, K, wt, N, b, y, M * N) == ONNX_OK && max_abs_diff(y, want, M * N) <= 1e-6f);
        for (int j = 0; j < M * N; j++) want[j] -= b[j % N];
        CHECK(onnx_dense(a, M, K, wt, N, NULL, y, M * N) == ONNX_OK && max_abs_diff(y, want, M * N) <= 1e-6f);
        CHECK(onnx_dense(a, M, K, wt, N, NULL, y, M * N - 1) == ONNX_ERR_BUFFER_LENGTH);
        CHECK(onnx_dense(NULL, M, K, wt, N, NULL, y, M * N) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_dense(a, M, K, NULL, N, NULL, y, M * N) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_dense(a, SIZE_MAX, K, wt, N, NULL, y, M * N) == ONNX_ERR_INVALID_DIMENSION);
        CHECK(onnx_dense(a, M, K, wt, N, NULL, a + 1, M * N) == ONNX_ERR_INVALID_ARGUMENT);
    }
    {
        float s[2 * 3] = {1, 2, 3, -1, 0, 1000}, o[6];
        CHECK(onnx_softmax(s, o, 2, 3) == ONNX_OK);
        double e1 = exp(1.0), e2 = exp(2.0), e3 = exp(3.0);
        CHECK(fabs(o[0] - e1 / (e1 + e2 + e3)) < 1e-6 && fabs(o[2] - e3 / (e1 + e2 + e3)) < 1e-6);
        CHECK(fabsf(o[5] - 1.0f) < 1e-6f && o[3] == 0.0f); /* large inputs stay finite */
        CHECK(onnx_softmax(s, s, 2, 3) == ONNX_OK && memcmp(s, o, sizeof o) == 0); /* in place */
        CHECK(onnx_softmax(NULL, o, 2, 3) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_softmax(s, s + 1, 2, 3) == ONNX_ERR_INVALID_ARGUMENT);
        CHECK(onnx_softmax(s, o, SIZE_MAX, 2) == ONNX_ERR_INVALID_DIMENSION);
    }
    {
        /* [2,3,4] by perm (2,0,1) -> [4,2,3] */
        size_t dims[3] = {2, 3, 4}, perm[3] = {2, 0, 1}, dup[3] = {0, 0, 1}, big[3] = {0, 1, 3};
        float t[24], tt[24];
        for (int i = 0; i < 24; i++) t[i] = (float)i;
        CHECK(onnx_transpose(t, tt, dims, perm, 3) == ONNX_OK);
        int ok = 1;
        for (int a = 0; a < 4; a++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) ok &= tt[(a * 2 + i) * 3 + j] == t[(i * 3 + j) * 4 + a];
        CHECK(ok);
        CHECK(onnx_transpose(t, tt, dims, dup, 3) == ONNX_ERR_INVALID_ARGUMENT);
        CHECK(onnx_transpose(t, tt, dims, big, 3) == ONNX_ERR_INVALID_ARGUMENT);
        CHECK(onnx_transpose(t, tt, dims, perm, 9) == ONNX_ERR_LIMIT_EXCEEDED);
        CHECK(onnx_transpose(t, tt, NULL, perm, 3) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_transpose(NULL, tt, dims, perm, 3) == ONNX_ERR_NULL_POINTER);
        CHECK(onnx_transpose(t, t + 4, dims, perm, 3) == ONNX_ERR_INVALID_ARGUMENT);
        size_t d8[8] = {1, 2, 1, 3, 1, 2, 1, 1}, p8[8] = {7, 6, 5, 4, 3, 2, 1, 0};
        CHECK(onnx_transpose(t, tt, d8, p8, 8) == ONNX_OK);
    }

    /* The keras2onnx mnist-sm's first layer by hand, weights looked up by name, equals the
       naive convolution with the same weights. */
    onnx_model_t *m = onnx_model_load(sm_path);
    const float *w3 = NULL, *b3 = NULL;
    size_t wl = 0, bl = 0, dims[4];
    CHECK(onnx_model_initializer(m, "W3", &w3, &wl, dims, 4) == 4 && wl == 18 && dims[0] == 2 && dims[1] == 1 &&
          dims[2] == 3 && dims[3] == 3);
    CHECK(onnx_model_initializer(m, "B3", &b3, &bl, dims, 4) == 1 && bl == 2 && dims[0] == 2);
    CHECK(onnx_model_initializer(m, "W3", &w3, &wl, dims, 3) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_model_initializer(m, "W3", &w3, &wl, NULL, 4) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_initializer(m, "nope", &w3, &wl, dims, 4) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_model_initializer(m, NULL, &w3, &wl, dims, 4) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_initializer(m, "W\xff", &w3, &wl, dims, 4) == ONNX_ERR_INVALID_ARGUMENT); /* not UTF-8 */
    CHECK(onnx_model_initializer(m, "W3", NULL, &wl, dims, 4) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_initializer(m, "W3", &w3, NULL, dims, 4) == ONNX_ERR_NULL_POINTER);
    if (w3 && b3 && wl == 18 && bl == 2) {
        float want[2 * 784];
        naive_conv(x, 1, 1, 28, 28, w3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b3, 1, want, 28, 28);
        CHECK(onnx_conv2d(x, 1, 1, 28, 28, w3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b3, 1, c, 2 * 784) == 0);
        CHECK(max_abs_diff(c, want, 2 * 784) <= 1e-5f);
    }
    onnx_model_free(m);
}

/* ---- two models on two threads ---------------------------------------------------------- */

struct worker {
    onnx_model_t *model;
    float expect[MNIST_NUM_IMAGES][10];
    int mismatches;
};

static void *work(void *arg) {
    struct worker *w = arg;
    float x[784], y[10];
    for (int round = 0; round < 200; round++) {
        int i = round % MNIST_NUM_IMAGES;
        image(i, x);
        if (onnx_run(w->model, x, 784, y, 10) != 0 || memcmp(y, w->expect[i], sizeof y) != 0) w->mismatches++;
    }
    return NULL;
}

static void test_threads(const char *a, const char *b) {
    struct worker w[2];
    const char *paths[2] = {a, b};
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        float x[784];
        w[k].model = onnx_model_load(paths[k]);
        w[k].mismatches = 0;
        CHECK(w[k].model != NULL);
        if (!w[k].model) return;
        for (int i = 0; i < MNIST_NUM_IMAGES; i++) {
            image(i, x);
            CHECK(onnx_run(w[k].model, x, 784, w[k].expect[i], 10) == 0);
        }
    }
    for (int k = 0; k < 2; k++) CHECK(pthread_create(&t[k], NULL, work, &w[k]) == 0);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    CHECK(w[0].mismatches == 0 && w[1].mismatches == 0);
    for (int k = 0; k < 2; k++) onnx_model_free(w[k].model);
}

static float *read_reference(const char *repo, const char *name) {
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/tests/reference/%s.f32", repo, name);
    float *r = (float *)read_all(path, &len);
    if (!r || len != 1000 * 10 * sizeof(float)) {
        fprintf(stderr, "%s: missing or not 1000 x 10 floats\n", path);
        exit(2);
    }
    return r;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s SHARED_DIR REPO_DIR TMP_DIR [SM_PLAN LG_PLAN]\n", argv[0]);
        return 2;
    }
    char sm[4096], lg[4096];
    snprintf(sm, sizeof sm, "%s/models/keras2onnx/mnist-sm.onnx", argv[1]);
    snprintf(lg, sizeof lg, "%s/models/keras2onnx/mnist-lg.onnx", argv[1]);
    float *ref_sm = read_reference(argv[2], "mnist-sm"), *ref_lg = read_reference(argv[2], "mnist-lg");
    test_model(sm, ref_sm, 1);
    test_model(lg, ref_lg, 1);
    test_truncations(sm);
    test_errors(argv[3]);
    test_strerror();
    test_kernels(sm);
    test_threads(sm, lg);
    /* The same models as compiled plans (rtonnx compile; tools/c_tests.sh makes them): the
     * same API, the same numbers, every truncation refused, onnx_plan_verify. */
    if (argc >= 6) {
        test_model(argv[4], ref_sm, 1);
        test_model(argv[5], ref_lg, 1);
        test_truncations(argv[4]);
        test_plan_verify(argv[4], sm);
    }
    free(ref_sm);
    free(ref_lg);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
