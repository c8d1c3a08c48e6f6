/* Shared helpers of the rtonnx MNIST examples: argument parsing, ASCII art, fixed-point
 * printing (rt_kprintf has no %f), the timing and memory report, and the example thread.
 * Formats of the generated headers: examples/README.md. */
#ifndef RTONNX_MNIST_COMMON_H
#define RTONNX_MNIST_COMMON_H

#include <rtthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mnist_images.h"

/* Package options (Kconfig, through rtconfig.h); defaults for builds without them. */
#ifndef RTONNX_EXAMPLE_STACK_SIZE
#define RTONNX_EXAMPLE_STACK_SIZE 8192
#endif
#ifndef RTONNX_EXAMPLE_PRIORITY
#define RTONNX_EXAMPLE_PRIORITY 20
#endif
#ifndef RTONNX_MODEL_PATH
#define RTONNX_MODEL_PATH "/mnist-sm.onnx"
#endif

#define MNIST_SIDE 28
#define MNIST_PIXELS (MNIST_SIDE * MNIST_SIDE)
#define MNIST_CLASSES 10

#ifdef MNIST_WEIGHTS_H
/* Feature-map sides of the hand-built network from the geometry in mnist_weights.h
 * (stride-1 convolutions with even padding, unpadded max pooling with floor rounding). */
#define MNIST_CONV1_SIDE (MNIST_SIDE + 2 * MNIST_CONV1_PAD - MNIST_CONV1_KERNEL + 1)
#define MNIST_POOL1_SIDE ((MNIST_CONV1_SIDE - MNIST_POOL1_KERNEL) / MNIST_POOL1_STRIDE + 1)
#define MNIST_CONV2_SIDE (MNIST_POOL1_SIDE + 2 * MNIST_CONV2_PAD - MNIST_CONV2_KERNEL + 1)
#define MNIST_POOL2_SIDE ((MNIST_CONV2_SIDE - MNIST_POOL2_KERNEL) / MNIST_POOL2_STRIDE + 1)
#define MNIST_FEATURES (MNIST_CONV2_OUT_C * MNIST_POOL2_SIDE * MNIST_POOL2_SIDE)
/* The header must describe a network these examples can build (compile-time checks). */
typedef char mnist_check_conv_chain[(MNIST_CONV1_IN_C == 1 && MNIST_CONV2_IN_C == MNIST_CONV1_OUT_C) ? 1 : -1];
typedef char mnist_check_dense1_in[(MNIST_DENSE1_IN == MNIST_FEATURES) ? 1 : -1];
typedef char mnist_check_dense2_in[(MNIST_DENSE2_IN == MNIST_DENSE1_OUT) ? 1 : -1];
typedef char mnist_check_classes[(MNIST_DENSE2_OUT == MNIST_CLASSES) ? 1 : -1];
#endif

/* Parameters handed from the shell to the example thread. */
struct mnist_job {
    char path[96];
    int index;
};

static int mnist_is_number(const char *s) {
    if (*s == '\0') return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* Parses "[path] [index]" (`with_path` 0: only "[index]"). A lone argument made of digits
 * is the index. Returns 0, or prints why not and returns -1. */
static int mnist_parse(int argc, char **argv, int with_path, struct mnist_job *job) {
    const char *path = RTONNX_MODEL_PATH;
    const char *index = RT_NULL;
    int max_args = with_path ? 2 : 1;
    if (argc - 1 > max_args) {
        rt_kprintf("error: too many arguments; usage: %s %s\n", argv[0], with_path ? "[path] [index]" : "[index]");
        return -1;
    }
    if (argc - 1 == 2) {
        path = argv[1];
        index = argv[2];
    } else if (argc - 1 == 1) {
        if (with_path && !mnist_is_number(argv[1]))
            path = argv[1];
        else
            index = argv[1];
    }
    job->index = 0;
    if (index) {
        long v = mnist_is_number(index) ? strtol(index, RT_NULL, 10) : -1;
        if (v < 0 || v >= MNIST_NUM_IMAGES) {
            rt_kprintf("error: image index '%s' is not in 0..%d\n", index, MNIST_NUM_IMAGES - 1);
            return -1;
        }
        job->index = (int)v;
    }
    size_t n = 0;
    while (path[n]) n++;
    if (n + 1 > sizeof job->path) {
        rt_kprintf("error: model path is longer than %d bytes\n", (int)sizeof job->path - 1);
        return -1;
    }
    for (size_t i = 0; i <= n; i++) job->path[i] = path[i];
    return 0;
}

/* Pixels 0..255 as 0.0..1.0, the input the models were trained on. */
static void mnist_normalize(const uint8_t *img, float *x) {
    for (int i = 0; i < MNIST_PIXELS; i++) x[i] = (float)img[i] / 255.0f;
}

/* The digit as 28 lines of ASCII art, two characters per pixel. */
static void mnist_print_digit(const uint8_t *img) {
    static const char ramp[] = " .:-=+*#%@";
    char line[2 * MNIST_SIDE + 2];
    for (int r = 0; r < MNIST_SIDE; r++) {
        for (int c = 0; c < MNIST_SIDE; c++) {
            char ch = ramp[(img[r * MNIST_SIDE + c] * 9 + 127) / 255];
            line[2 * c] = ch;
            line[2 * c + 1] = ch;
        }
        line[2 * MNIST_SIDE] = '\n';
        line[2 * MNIST_SIDE + 1] = '\0';
        rt_kprintf("%s", line);
    }
}

/* Writes `v` with `decimals` (1..6) digits after the point into `out` (room for 24 bytes),
 * rounding half up, without floating-point printf. NaN prints "nan", magnitudes of 10^9 and
 * more print "inf" (with their sign). */
static void mnist_format_fixed(char *out, float v, int decimals) {
    uint32_t scale = 1;
    char digits[24];
    int n = 0;
    if (v != v) {
        out[0] = 'n', out[1] = 'a', out[2] = 'n', out[3] = '\0';
        return;
    }
    if (v < 0.0f) {
        *out++ = '-';
        v = -v;
    }
    if (v >= 1e9f) {
        out[0] = 'i', out[1] = 'n', out[2] = 'f', out[3] = '\0';
        return;
    }
    if (decimals < 1) decimals = 1;
    if (decimals > 6) decimals = 6;
    for (int i = 0; i < decimals; i++) scale *= 10u;
    uint32_t whole = (uint32_t)v;
    uint32_t frac = (uint32_t)((v - (float)whole) * (float)scale + 0.5f);
    if (frac >= scale) { /* rounding carried into the integer part */
        whole++;
        frac -= scale;
    }
    do { /* integer part, least significant digit first */
        digits[n++] = (char)('0' + whole % 10u);
        whole /= 10u;
    } while (whole);
    while (n) *out++ = digits[--n];
    *out++ = '.';
    for (int i = decimals - 1; i >= 0; i--) {
        out[i] = (char)('0' + frac % 10u);
        frac /= 10u;
    }
    out[decimals] = '\0';
}

/* The probabilities, one per line with four decimals. Returns the most probable class. */
static int mnist_print_probabilities(const float *p, int n) {
    int best = 0;
    char text[24];
    for (int i = 0; i < n; i++) {
        if (p[i] > p[best]) best = i;
        mnist_format_fixed(text, p[i], 4);
        rt_kprintf("%d: %s\n", i, text);
    }
    return best;
}

/* Ticks as "N ticks (M ms)". */
static void mnist_print_time(const char *what, rt_tick_t ticks) {
    rt_kprintf("%s: %lu ticks (%lu ms)\n", what, (unsigned long)ticks,
               (unsigned long)((uint64_t)ticks * 1000u / RT_TICK_PER_SECOND));
}

/* The prediction, the inference time and the heap in use. */
static void mnist_print_report(int predicted, int label, rt_tick_t ticks) {
    rt_size_t total = 0, used = 0, max_used = 0;
    rt_memory_info(&total, &used, &max_used);
    rt_kprintf("The number is %d (label %d)\n", predicted, label);
    mnist_print_time("inference", ticks);
    rt_kprintf("memory: %lu bytes used, %lu max used, of %lu\n", (unsigned long)used, (unsigned long)max_used,
               (unsigned long)total);
}

/* Runs `entry(job)` in a thread of its own (name at most 7 characters), so a failure ends
 * that thread and never the shell. The thread must rt_free(job). */
static int mnist_start(const char *name, void (*entry)(void *), const struct mnist_job *job) {
    struct mnist_job *copy = rt_malloc(sizeof *copy);
    if (!copy) {
        rt_kprintf("error: out of memory\n");
        return -1;
    }
    *copy = *job;
    rt_thread_t t = rt_thread_create(name, entry, copy, RTONNX_EXAMPLE_STACK_SIZE, RTONNX_EXAMPLE_PRIORITY, 10);
    if (t == RT_NULL) {
        rt_kprintf("error: cannot create the example thread (%d bytes of stack)\n", (int)RTONNX_EXAMPLE_STACK_SIZE);
        rt_free(copy);
        return -1;
    }
    if (rt_thread_startup(t) != RT_EOK) {
        rt_kprintf("error: cannot start the example thread\n");
        rt_thread_delete(t);
        rt_free(copy);
        return -1;
    }
    return 0;
}

#endif
