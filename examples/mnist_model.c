/* mnist_model [path] [index]: fully automatic: load an ONNX model from the file system with
 * onnx_model_load and classify one of the bundled MNIST digits with onnx_run. */
#include <rtthread.h>

#include "mnist_common.h"
#include "rtonnx.h"

static void mnist_model_entry(void *parameter) {
    struct mnist_job *job = parameter;
    const uint8_t *img = mnist_images[job->index];
    onnx_model_t *model = RT_NULL;
    onnx_error_t err;
    /* On the heap: the thread's small stack is for the library's load and run. */
    float *input = rt_malloc(sizeof(float) * (MNIST_PIXELS + MNIST_CLASSES));
    float *output;
    if (!input) {
        rt_kprintf("error: out of memory\n");
        goto done;
    }
    output = input + MNIST_PIXELS;
    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    if (onnx_model_load_ex(job->path, &model, &err) != 0) {
        rt_kprintf("error: cannot load %s: %s\n", job->path, err.message);
        goto done;
    }
    mnist_print_time("load", rt_tick_get() - t0);
    if (onnx_model_input_len(model) != MNIST_PIXELS || onnx_model_output_len(model) != MNIST_CLASSES) {
        rt_kprintf("error: %s takes %lu values and gives %lu, not %d and %d\n", job->path,
                   (unsigned long)onnx_model_input_len(model), (unsigned long)onnx_model_output_len(model),
                   MNIST_PIXELS, MNIST_CLASSES);
        goto done;
    }
    rt_kprintf("model: %lu bytes of weights, %lu bytes of arena\n", (unsigned long)onnx_model_weight_bytes(model),
               (unsigned long)onnx_model_arena_bytes(model));
    t0 = rt_tick_get();
    mnist_normalize(img, input);
    if (onnx_run_ex(model, input, MNIST_PIXELS, output, MNIST_CLASSES, &err) != 0) {
        rt_kprintf("error: %s\n", err.message);
        goto done;
    }
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(output, MNIST_CLASSES), mnist_labels[job->index], t1 - t0);
done:
    onnx_model_free(model);
    rt_free(input);
    rt_free(job);
}

static long mnist_model(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 1, &job) != 0) return -1;
    return mnist_start("mnistmd", mnist_model_entry, &job);
}
MSH_CMD_EXPORT(mnist_model, MNIST with an ONNX model from a file: mnist_model [path] [index]);

/* onnx_stat [path] [index]: per-node profile of a model, like NNoM's model_stat(): each
 * node's operator, MACs, output bytes and time. On a Cortex-M3/M4/M7 the clock is the DWT
 * cycle counter (exact cycles of one inference); elsewhere it is the RT-Thread tick, and the
 * inference is repeated ONNX_STAT_RUNS times so that the ticks add up to something. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
#define ONNX_STAT_RUNS 1
#define ONNX_STAT_UNIT "cycles"
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define CORE_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
static void onnx_stat_clock_start(void) {
    CORE_DEMCR |= 1u << 24; /* TRCENA: enable the DWT */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
}
static uint32_t onnx_stat_clock(void *ctx) {
    (void)ctx;
    return DWT_CYCCNT;
}
#else
#define ONNX_STAT_RUNS 100
#define ONNX_STAT_UNIT "ticks"
static void onnx_stat_clock_start(void) {}
static uint32_t onnx_stat_clock(void *ctx) {
    (void)ctx;
    return (uint32_t)rt_tick_get();
}
#endif

static void onnx_stat_entry(void *parameter) {
    struct mnist_job *job = parameter;
    onnx_model_t *model = RT_NULL;
    onnx_error_t err;
    float *buf = RT_NULL;
    uint32_t *ticks = RT_NULL, *sum = RT_NULL;
    if (onnx_model_load_ex(job->path, &model, &err) != 0) {
        rt_kprintf("error: cannot load %s: %s\n", job->path, err.message);
        goto done;
    }
    size_t in_len = onnx_model_input_len(model), out_len = onnx_model_output_len(model);
    size_t nodes = onnx_model_num_nodes(model);
    if (in_len != MNIST_PIXELS) {
        rt_kprintf("error: %s takes %lu values, not %d\n", job->path, (unsigned long)in_len, MNIST_PIXELS);
        goto done;
    }
    buf = rt_malloc(sizeof(float) * (in_len + out_len));
    ticks = rt_malloc(2 * sizeof(uint32_t) * (nodes ? nodes : 1));
    if (!buf || !ticks) {
        rt_kprintf("error: out of memory\n");
        goto done;
    }
    sum = ticks + nodes;
    for (size_t i = 0; i < nodes; i++) sum[i] = 0;
    mnist_normalize(mnist_images[job->index], buf);
    onnx_stat_clock_start();
    for (int r = 0; r < ONNX_STAT_RUNS; r++) {
        if (onnx_run_profiled_ex(model, buf, in_len, buf + in_len, out_len, onnx_stat_clock, RT_NULL, ticks, nodes,
                                 &err) != 0) {
            rt_kprintf("error: %s\n", err.message);
            goto done;
        }
        for (size_t i = 0; i < nodes; i++) sum[i] += ticks[i];
    }
    rt_kprintf("%s, image %d, %d run(s):\n", job->path, job->index, ONNX_STAT_RUNS);
    onnx_model_profile(model, sum, nodes, ONNX_STAT_UNIT);
    rt_kprintf("weights %lu B, arena %lu B\n", (unsigned long)onnx_model_weight_bytes(model),
               (unsigned long)onnx_model_arena_bytes(model));
done:
    onnx_model_free(model);
    rt_free(buf);
    rt_free(ticks);
    rt_free(job);
}

static long onnx_stat(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 1, &job) != 0) return -1;
    return mnist_start("onnxst", onnx_stat_entry, &job);
}
MSH_CMD_EXPORT(onnx_stat, per-node profile of a model: onnx_stat [path] [index]);
