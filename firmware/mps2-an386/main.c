/*
 * rtonnx test firmware for QEMU mps2-an386 (Cortex-M4F): the mnist_model example's logic
 * (load a model, run it on the bundled MNIST test digits, print the predictions) without
 * RT-Thread, plus measurements.
 *
 * The model (an ONNX file or a compiled plan, `rtonnx compile`) is loaded three times: from
 * flash (linked in by model.S) with onnx_model_load_from_memory (copied) and with
 * onnx_model_load_static (used in place), and from a host file through semihosting with
 * onnx_model_load (newlib's open/read reach the host through semihosting.c). The host path is
 * QEMU's -append text (default "mnist-sm.onnx").
 *
 * Lines for tools/firmware_test.sh:
 *   result SOURCE image INDEX label L predicted P probs P0 .. P9   (probabilities x 1e6)
 *   MEASURE NAME ticks T heap_peak H heap_kept K heap_calls C stack S   (one per icount pair)
 *   size flash F ram_static R stack_reserved S
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware.h"
#include "rtonnx.h"
#include RTONNX_IMAGES_HEADER

extern const uint8_t rtonnx_model_start[], rtonnx_model_end[];
extern char __flash_used__[], __data_start__[], __bss_end__[];

#define MAX_OUTPUT 16

/* --- hooks the bare-metal build of the library calls (rust/platform/baremetal.rs) --- */

void rtonnx_console_write(const char *text, size_t len)
{
    fwrite(text, 1, len, stdout);
}

__attribute__((noreturn)) void rtonnx_panic_hook(const char *file, size_t file_len, uint32_t line)
{
    (void)file;
    (void)file_len;
    (void)line;
    fflush(stdout);
    sh_write0("firmware: rtonnx panicked, stopping\n");
    sh_exit(4);
}

/* --- measurement helpers --- */

struct measure
{
    uint64_t t0;
    struct heap_stats heap_before;
};

static void measure_start(struct measure *m)
{
    heap_reset_peak();
    heap_stats(&m->heap_before);
    stack_paint();
    icount_begin();
    m->t0 = ticks_now();
}

static void measure_end(struct measure *m, const char *name)
{
    uint64_t t1 = ticks_now();
    struct heap_stats h;
    icount_end();
    heap_stats(&h);
    printf("MEASURE %s ticks %lu heap_peak %u heap_kept %u heap_calls %u stack %u\n", name,
           (unsigned long)(t1 - m->t0), (unsigned)(h.peak - m->heap_before.live),
           (unsigned)(h.live > m->heap_before.live ? h.live - m->heap_before.live : 0),
           (unsigned)h.calls, (unsigned)stack_high_water());
}

static int argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
    {
        if (v[i] > v[best])
        {
            best = i;
        }
    }
    return (int)best;
}

static void print_digit(const unsigned char *img)
{
    for (int r = 0; r < 28; r += 2)
    {
        char line[29];
        for (int c = 0; c < 28; c++)
        {
            int v = img[r * 28 + c] > img[(r + 1) * 28 + c] ? img[r * 28 + c] : img[(r + 1) * 28 + c];
            line[c] = v > 170 ? '#' : v > 85 ? '+' : v > 20 ? '.' : ' ';
        }
        line[28] = '\0';
        printf("    %s\n", line);
    }
}

/* Runs every bundled image; returns the number of failures (errors, not wrong digits). */
static int run_images(onnx_model_t *model, const char *source)
{
    static float input[MNIST_IMAGE_SIZE];
    float output[MAX_OUTPUT];
    size_t in_len = onnx_model_input_len(model);
    size_t out_len = onnx_model_output_len(model);
    int failures = 0;

    if (in_len != MNIST_IMAGE_SIZE || out_len == 0 || out_len > MAX_OUTPUT)
    {
        printf("firmware: unexpected model shape: input %u, output %u\n", (unsigned)in_len,
               (unsigned)out_len);
        return 1;
    }
    for (int i = 0; i < MNIST_IMAGE_COUNT; i++)
    {
        struct measure m;
        char name[48];
        int rc;

        for (int k = 0; k < MNIST_IMAGE_SIZE; k++)
        {
            input[k] = (float)mnist_images[i][k] / 255.0f;
        }
        snprintf(name, sizeof(name), "run-%s-%u", source, mnist_indices[i]);
        measure_start(&m);
        rc = onnx_run(model, input, in_len, output, out_len);
        measure_end(&m, name);
        if (rc != 0)
        {
            printf("firmware: onnx_run failed on image %u: %d (%s)\n", mnist_indices[i], rc,
                   onnx_strerror(rc));
            failures++;
            continue;
        }
        if (i == 0)
        {
            print_digit(mnist_images[i]);
        }
        printf("result %s image %u label %u predicted %d probs", source, mnist_indices[i],
               mnist_labels[i], argmax(output, out_len));
        for (size_t k = 0; k < out_len; k++)
        {
            printf(" %ld", (long)(output[k] * 1e6f + 0.5f));
        }
        printf("\nThe number is %d\n", argmax(output, out_len));
    }
    return failures;
}

/* The profiling clock: SysTick ticks (40 instructions each under -icount shift=0), and a
 * mark for the icount plugin, whose "mark N" lines give the exact instructions per node
 * (tools/firmware_report.py prints them). */
static uint32_t instruction_clock(void *ctx)
{
    (void)ctx;
    icount_mark();
    return (uint32_t)ticks_now();
}

/* Per-node profile of one inference (onnx_run_profiled_ex + onnx_model_profile), what the
 * onnx_stat msh command prints on a board. */
static int profile(onnx_model_t *model)
{
    static float input[MNIST_IMAGE_SIZE];
    static uint32_t ticks[64];
    float output[MAX_OUTPUT];
    size_t nodes = onnx_model_num_nodes(model);
    size_t out_len = onnx_model_output_len(model);
    onnx_error_t err;

    if (nodes > sizeof(ticks) / sizeof(ticks[0]) || out_len > MAX_OUTPUT)
    {
        printf("firmware: profile: too many nodes or outputs\n");
        return 1;
    }
    for (int k = 0; k < MNIST_IMAGE_SIZE; k++)
    {
        input[k] = (float)mnist_images[0][k] / 255.0f;
    }
    if (onnx_run_profiled_ex(model, input, MNIST_IMAGE_SIZE, output, out_len, instruction_clock, NULL,
                             ticks, nodes, &err) != 0)
    {
        printf("firmware: onnx_run_profiled_ex failed: %s\n", err.message);
        return 1;
    }
    /* Two back-to-back clock reads: the plugin's marks measure the clock's own cost. */
    instruction_clock(NULL);
    instruction_clock(NULL);
    printf("PROFILE nodes %u\n", (unsigned)nodes);
    return onnx_model_profile(model, ticks, nodes, "SysTick") != 0;
}

int main(void)
{
    static char cmdline[128];
    const char *host_path = "mnist-sm.onnx";
    size_t model_len = (size_t)(rtonnx_model_end - rtonnx_model_start);
    struct measure m;
    onnx_model_t *model;
    int failures = 0;

    /* The command line is "KERNEL [ARGS]": the model path is the last word after the kernel. */
    if (sh_cmdline(cmdline, sizeof(cmdline)) > 0)
    {
        char *space = strrchr(cmdline, ' ');
        if (space != NULL && space[1] != '\0')
        {
            host_path = space + 1;
        }
    }
    printf("rtonnx test firmware, mps2-an386 (Cortex-M4F), model in flash: %u bytes, %d images\n",
           (unsigned)model_len, MNIST_IMAGE_COUNT);
    ticks_start();

    /* Two empty measurements: the constant cost of the markers and of the helpers. */
    icount_begin();
    icount_end();
    printf("MEASURE markers ticks 0 heap_peak 0 heap_kept 0 heap_calls 0 stack 0\n");
    measure_start(&m);
    measure_end(&m, "empty");

    /* 1. The model from flash. */
    measure_start(&m);
    model = onnx_model_load_from_memory(rtonnx_model_start, model_len);
    measure_end(&m, "load-memory");
    if (model == NULL)
    {
        printf("firmware: loading the model from flash failed\n");
        failures++;
    }
    else
    {
        failures += run_images(model, "flash");
        failures += profile(model);
        onnx_model_free(model);
    }

    /* 2. The model in flash, used in place (a plan's weights and tables; an ONNX file's
     * aligned weights). */
    measure_start(&m);
    model = onnx_model_load_static(rtonnx_model_start, model_len);
    measure_end(&m, "load-static");
    if (model == NULL)
    {
        printf("firmware: loading the model in place from flash failed\n");
        failures++;
    }
    else
    {
        failures += run_images(model, "static");
        onnx_model_free(model);
    }

    /* 3. The model from a host file (semihosting). */
    measure_start(&m);
    model = onnx_model_load(host_path);
    measure_end(&m, "load-file");
    if (model == NULL)
    {
        printf("firmware: loading the model from host file '%s' failed\n", host_path);
        failures++;
    }
    else
    {
        failures += run_images(model, "file");
        onnx_model_free(model);
    }

    /* 4. Error paths: a missing file and an empty buffer are reported, not crashes. */
    model = onnx_model_load("no-such-model.onnx");
    printf("error-path missing-file %s\n", model == NULL ? "ok" : "FAILED");
    failures += model != NULL;
    onnx_model_free(model);
    model = onnx_model_load_from_memory(rtonnx_model_start, 0);
    printf("error-path empty-buffer %s\n", model == NULL ? "ok" : "FAILED");
    failures += model != NULL;
    onnx_model_free(model);

    {
        struct heap_stats h;
        heap_stats(&h);
        printf("size flash %u ram_static %u stack_reserved %u heap_area_used %u heap_live_end %u\n",
               (unsigned)(uintptr_t)__flash_used__, (unsigned)(__bss_end__ - __data_start__),
               (unsigned)stack_size(), (unsigned)h.sbrk_top, (unsigned)h.live);
    }
    printf("firmware: done, %d failure(s)\n", failures);
    fflush(stdout);
    return failures == 0 ? 0 : 1;
}
