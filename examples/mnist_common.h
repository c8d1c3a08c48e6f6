/* Shared helpers of the rtonnx MNIST examples: argument parsing, ASCII art, fixed-point
 * printing (rt_kprintf has no %f), timing and memory reports, and the example thread. */
#ifndef RTONNX_MNIST_COMMON_H
#define RTONNX_MNIST_COMMON_H

#include <rtthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mnist_images.h"

#ifndef RTONNX_EXAMPLE_STACK_SIZE
#define RTONNX_EXAMPLE_STACK_SIZE 4096
#endif
#ifndef RTONNX_EXAMPLE_PRIORITY
#define RTONNX_EXAMPLE_PRIORITY 20
#endif
#ifndef RTONNX_MODEL_PATH
#define RTONNX_MODEL_PATH "/mnist-sm.onnx"
#endif

/* Parameters handed from the shell to the example thread. */
struct mnist_job {
    char path[96];
    int index;
};

/* Parses "[path] [index]" (either may be omitted when `with_path` says a path is accepted).
 * Returns 0, or prints why not and returns -1. */
static int mnist_parse(int argc, char **argv, int with_path, struct mnist_job *job) {
    int a = 1;
    const char *path = RTONNX_MODEL_PATH;
    job->index = 0;
    if (with_path && argc > a && !(argv[a][0] >= '0' && argv[a][0] <= '9')) path = argv[a++];
    if (argc > a) {
        char *end = NULL;
        long v = strtol(argv[a], &end, 10);
        if (end == argv[a] || *end != '\0' || v < 0 || v >= MNIST_NUM_IMAGES) {
            rt_kprintf("error: image index '%s' is out of range (0..%d)\n", argv[a], MNIST_NUM_IMAGES - 1);
            return -1;
        }
        job->index = (int)v;
        a++;
    }
    if (argc > a) {
        rt_kprintf("error: too many arguments\n");
        return -1;
    }
    size_t i = 0;
    for (; path[i] && i + 1 < sizeof job->path; i++) job->path[i] = path[i];
    job->path[i] = '\0';
    return 0;
}

/* The digit as 28 lines of ASCII art. */
static void mnist_print_digit(const uint8_t *img) {
    static const char ramp[] = " .:-=+*#%@";
    char line[2 * 28 + 2];
    for (int r = 0; r < 28; r++) {
        for (int c = 0; c < 28; c++) {
            char ch = ramp[(img[r * 28 + c] * 9 + 127) / 255];
            line[2 * c] = ch;
            line[2 * c + 1] = ch;
        }
        line[56] = '\n';
        line[57] = '\0';
        rt_kprintf("%s", line);
    }
}

/* The probabilities with four decimals, fixed point. Returns the argmax. */
static int mnist_print_probabilities(const float *p, int n) {
    int best = 0;
    for (int i = 0; i < n; i++) {
        float v = p[i];
        if (v > p[best]) best = i;
        if (!(v >= 0.0f)) v = 0.0f; /* NaN or negative: print 0 */
        if (v > 1.0f) v = 1.0f;
        long q = (long)(v * 10000.0f + 0.5f);
        rt_kprintf("%d: %ld.%04ld\n", i, q / 10000, q % 10000);
    }
    return best;
}

static void mnist_print_report(int predicted, int label, rt_tick_t ticks) {
    rt_size_t total = 0, used = 0, max_used = 0;
    rt_memory_info(&total, &used, &max_used);
    rt_kprintf("The number is %d (label %d)\n", predicted, label);
    rt_kprintf("time: %lu ticks (%lu ms)\n", (unsigned long)ticks,
               (unsigned long)((uint64_t)ticks * 1000u / RT_TICK_PER_SECOND));
    rt_kprintf("memory: %lu bytes used, %lu max used\n", (unsigned long)used, (unsigned long)max_used);
}

/* Runs `entry(job)` in its own thread (a Rust panic or a stack overflow then cannot take the
 * shell down). The thread frees `job`. */
static int mnist_start(const char *name, void (*entry)(void *), struct mnist_job *job) {
    struct mnist_job *copy = rt_malloc(sizeof *copy);
    if (!copy) {
        rt_kprintf("error: out of memory\n");
        return -1;
    }
    *copy = *job;
    rt_thread_t t = rt_thread_create(name, entry, copy, RTONNX_EXAMPLE_STACK_SIZE,
                                     RTONNX_EXAMPLE_PRIORITY, 10);
    if (t == RT_NULL || rt_thread_startup(t) != RT_EOK) {
        rt_kprintf("error: cannot start the example thread\n");
        rt_free(copy);
        return -1;
    }
    return 0;
}

#endif
