/* A device library made of parts (tools/c_tests.sh builds it three ways), on one model and its
 * compiled plan:
 *
 *   test_parts exact MODEL.onnx MODEL.rtm OUT.bin
 *       a plan-only library with exactly the plan's operator families: the ONNX file is refused
 *       (no ONNX loader), the plan loads and runs; its output for MNIST image 0 goes to OUT.bin
 *   test_parts missing MODEL.rtm OPTION
 *       a library without one of the plan's families: the plan is refused with
 *       ONNX_ERR_NOT_SUPPORTED and a message that names OPTION
 *   test_parts full MODEL.onnx OUT.bin
 *       the whole library: the ONNX file's output for MNIST image 0 goes to OUT.bin, for the
 *       caller to compare with the plan's, byte for byte
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist_images.h"
#include "rtonnx.h"

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int failures;

static void expect(int ok, const char *what, const struct onnx_error_t *e)
{
    printf("%s %s", ok ? "ok  " : "FAIL", what);
    if (e)
        printf(" (%d: %s)", e->code, e->message);
    printf("\n");
    if (!ok)
        failures++;
}

/* Runs MNIST image 0 and writes the output to `out_path`. */
static void run_image0(onnx_model_t *m, const char *out_path)
{
    float input[28 * 28], output[10];
    for (int i = 0; i < 28 * 28; i++)
        input[i] = mnist_images[0][i] / 255.0f;
    struct onnx_error_t e;
    int rc = onnx_run_ex(m, input, 28 * 28, output, 10, &e);
    expect(rc == ONNX_OK, "onnx_run", rc == ONNX_OK ? NULL : &e);
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(output, sizeof output, 1, f) != 1) {
        fprintf(stderr, "cannot write %s\n", out_path);
        exit(2);
    }
    fclose(f);
}

static onnx_model_t *load(const char *path, struct onnx_error_t *e, int *rc)
{
    size_t len;
    unsigned char *bytes = read_file(path, &len);
    onnx_model_t *m = NULL;
    *rc = onnx_model_load_from_memory_ex(bytes, len, &m, e);
    free(bytes);
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 4) {
        fprintf(stderr, "usage: see the comment at the top of test_parts.c\n");
        return 2;
    }
    struct onnx_error_t e;
    int rc;
    if (strcmp(argv[1], "exact") == 0 && argc == 5) {
        onnx_model_t *m = load(argv[2], &e, &rc);
        expect(rc == ONNX_ERR_NOT_SUPPORTED && !m && strstr(e.message, "RTONNX_ONNX_LOADER") &&
                   strstr(e.message, "rtonnx compile"),
               "an ONNX file is refused by a plan-only build", &e);
        m = load(argv[3], &e, &rc);
        expect(rc == ONNX_OK && m, "the plan loads on its own families", rc ? &e : NULL);
        if (m) {
            run_image0(m, argv[4]);
            onnx_model_free(m);
        }
    } else if (strcmp(argv[1], "missing") == 0 && argc == 4) {
        onnx_model_t *m = load(argv[2], &e, &rc);
        expect(rc == ONNX_ERR_NOT_SUPPORTED && !m && strstr(e.message, argv[3]),
               "a plan that needs a family the build lacks is refused, naming its option", &e);
    } else if (strcmp(argv[1], "full") == 0 && argc == 4) {
        onnx_model_t *m = load(argv[2], &e, &rc);
        expect(rc == ONNX_OK && m, "the ONNX file loads on the whole library", rc ? &e : NULL);
        if (m) {
            run_image0(m, argv[3]);
            onnx_model_free(m);
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    printf("%s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
