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
