/* C API tests: success paths on the keras2onnx models and every error path.
 * usage: test_capi SHARED_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtonnx.h"

static int failures = 0;
static int checks = 0;
#define CHECK(cond)                                                          \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                    \
    } while (0)

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static size_t info_bytes = 0;
static void count_info(void *ctx, const char *text) {
    (void)ctx;
    info_bytes += strlen(text);
}

static void test_model(const char *path) {
    onnx_model_t *m = onnx_model_load(path);
    CHECK(m != NULL);
    if (!m) return;
    CHECK(onnx_model_input_len(m) == 784);
    CHECK(onnx_model_output_len(m) == 10);
    CHECK(onnx_model_num_inputs(m) == 1 && onnx_model_num_outputs(m) == 1);
    size_t dims[8];
    CHECK(onnx_model_input_shape(m, 0, dims, 8) == 4 && dims[1] == 28 && dims[3] == 1);
    CHECK(onnx_model_input_shape(m, 0, dims, 2) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_model_input_shape(m, 5, dims, 8) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_model_arena_bytes(m) > 0 && onnx_model_weight_bytes(m) > 0);
    CHECK(onnx_model_macs(m) >= 21600);
    float x[784], y[10];
    for (int i = 0; i < 784; i++) x[i] = (float)(i % 17) / 17.0f;
    CHECK(onnx_run(m, x, 784, y, 10) == 0);
    float sum = 0;
    for (int i = 0; i < 10; i++) sum += y[i];
    CHECK(sum > 0.999f && sum < 1.001f);
    /* Errors: lengths, NULLs. */
    onnx_error_t e;
    CHECK(onnx_run_ex(m, x, 783, y, 10, &e) == ONNX_ERR_BUFFER_LENGTH && e.code == ONNX_ERR_BUFFER_LENGTH);
    CHECK(strstr(e.message, "buffer length") != NULL);
    CHECK(onnx_run(m, x, 784, y, 9) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_run(m, NULL, 784, y, 10) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_run(m, x, 784, NULL, 10) == ONNX_ERR_NULL_POINTER);
    info_bytes = 0;
    CHECK(onnx_model_info_to(m, count_info, NULL) == 0 && info_bytes > 100);
    CHECK(onnx_model_info_to(m, NULL, NULL) == ONNX_ERR_NULL_POINTER);
    onnx_model_info(m);
    onnx_model_free(m);

    /* The same bytes from memory, copied and static. */
    size_t len;
    unsigned char *b = read_all(path, &len);
    CHECK(b != NULL);
    onnx_model_t *mm = onnx_model_load_from_memory(b, len);
    free(b); /* the model copied what it needs */
    CHECK(mm != NULL);
    float y2[10];
    CHECK(mm && onnx_run(mm, x, 784, y2, 10) == 0 && memcmp(y, y2, sizeof y) == 0);
    onnx_model_free(mm);
    b = read_all(path, &len);
    onnx_model_t *ms = onnx_model_load_static(b, len);
    CHECK(ms != NULL);
    CHECK(ms && onnx_run(ms, x, 784, y2, 10) == 0 && memcmp(y, y2, sizeof y) == 0);
    onnx_model_free(ms);
    free(b); /* after the static model is gone */
}

static void test_errors(const char *dir) {
    onnx_error_t e;
    onnx_model_t *m = (onnx_model_t *)1;
    CHECK(onnx_model_load(NULL) == NULL);
    CHECK(onnx_model_load_ex(NULL, &m, &e) == ONNX_ERR_NULL_POINTER && m == NULL);
    CHECK(onnx_model_load_ex("/nonexistent/model.onnx", &m, &e) == ONNX_ERR_FILE_NOT_FOUND);
    CHECK(strstr(e.message, "/nonexistent/model.onnx") != NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/empty.onnx", dir);
    FILE *f = fopen(path, "wb");
    fclose(f);
    CHECK(onnx_model_load_ex(path, &m, &e) == ONNX_ERR_EMPTY_MODEL);
    snprintf(path, sizeof path, "%s/garbage.onnx", dir);
    f = fopen(path, "wb");
    fputs("\xff\xff\xff\xff garbage", f);
    fclose(f);
    CHECK(onnx_model_load_ex(path, &m, &e) == ONNX_ERR_MALFORMED && m == NULL);
    CHECK(onnx_model_load(path) == NULL);
    const unsigned char junk[3] = {0x08, 0x01, 0xff};
    CHECK(onnx_model_load_from_memory(NULL, 10) == NULL);
    CHECK(onnx_model_load_from_memory(junk, 0) == NULL);
    CHECK(onnx_model_load_from_memory_ex(junk, 3, &m, NULL) == ONNX_ERR_MALFORMED);
    CHECK(onnx_model_load_from_memory_ex(junk, 3, NULL, &e) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_load_static(NULL, 1) == NULL);
    float x[784], y[10];
    CHECK(onnx_run(NULL, x, 784, y, 10) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_model_input_len(NULL) == 0 && onnx_model_output_len(NULL) == 0);
    CHECK(onnx_model_arena_bytes(NULL) == 0 && onnx_model_macs(NULL) == 0);
    onnx_model_info(NULL);
    onnx_model_free(NULL);
    for (int c = 0; c >= -24; c--) CHECK(onnx_strerror(c) != NULL && strlen(onnx_strerror(c)) > 1);
    CHECK(strcmp(onnx_strerror(-999), "unknown error code") == 0);
    CHECK(strcmp(onnx_strerror(ONNX_ERR_FILE_NOT_FOUND), "model file not found") == 0);
}

static void test_kernels(const char *sm_path) {
    /* Hand-built first layer equals the model's first steps: conv2d + relu + maxpool on an
       NCHW image with the model's weights looked up by name. */
    onnx_model_t *m = onnx_model_load(sm_path);
    const float *w = NULL, *b = NULL;
    size_t wl = 0, bl = 0, dims[4];
    CHECK(onnx_model_initializer(m, "W3", &w, &wl, dims, 4) == 4 && wl == 18 && dims[0] == 2);
    CHECK(onnx_model_initializer(m, "B3", &b, &bl, dims, 4) == 1 && bl == 2);
    CHECK(onnx_model_initializer(m, "nope", &w, &wl, dims, 4) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_model_initializer(m, NULL, &w, &wl, dims, 4) == ONNX_ERR_NULL_POINTER);
    float x[784], c[2 * 784], p[2 * 196];
    for (int i = 0; i < 784; i++) x[i] = (float)((i * 7) % 13) / 13.0f;
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b, 1, c, 2 * 784) == 0);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b, 1, c, 100) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_conv2d(NULL, 1, 1, 28, 28, w, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b, 1, c, 2 * 784) == ONNX_ERR_NULL_POINTER);
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w, 2, 3, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, b, 1, c, 2 * 784) == ONNX_ERR_INVALID_ARGUMENT);
    int neg = 0;
    for (int i = 0; i < 2 * 784; i++) neg += c[i] < 0;
    CHECK(neg == 0);
    CHECK(onnx_maxpool2d(c, 1, 2, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, p, 2 * 196) == 0);
    CHECK(onnx_maxpool2d(c, 1, 2, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, p, 5) == ONNX_ERR_BUFFER_LENGTH);
    float r[3] = {-1, 0, 2};
    CHECK(onnx_relu(r, 3) == 0 && r[0] == 0 && r[2] == 2);
    CHECK(onnx_relu(NULL, 3) == ONNX_ERR_NULL_POINTER);
    float dx[2] = {1, 2}, dw[6] = {1, 0, 1, 0, 1, 1}, db[3] = {0, 0, -1}, dy[3];
    CHECK(onnx_dense(dx, 1, 2, dw, 3, db, dy, 3) == 0 && dy[0] == 1 && dy[1] == 2 && dy[2] == 2);
    CHECK(onnx_dense(dx, 1, 2, dw, 3, NULL, dy, 4) == ONNX_ERR_BUFFER_LENGTH);
    CHECK(onnx_softmax(dy, dy, 1, 3) == 0 && dy[1] > dy[0]);
    size_t td[2] = {2, 3}, tp[2] = {1, 0}, bad[2] = {0, 0};
    float t[6] = {1, 2, 3, 4, 5, 6}, tt[6];
    CHECK(onnx_transpose(t, tt, td, tp, 2) == 0 && tt[1] == 4 && tt[2] == 2);
    CHECK(onnx_transpose(t, tt, td, bad, 2) == ONNX_ERR_INVALID_ARGUMENT);
    CHECK(onnx_transpose(t, tt, td, tp, 9) == ONNX_ERR_LIMIT_EXCEEDED);
    onnx_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SHARED_DIR TMP_DIR\n", argv[0]);
        return 2;
    }
    char sm[4096], lg[4096];
    snprintf(sm, sizeof sm, "%s/models/keras2onnx/mnist-sm.onnx", argv[1]);
    snprintf(lg, sizeof lg, "%s/models/keras2onnx/mnist-lg.onnx", argv[1]);
    test_model(sm);
    test_model(lg);
    test_errors(argv[2]);
    test_kernels(sm);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
