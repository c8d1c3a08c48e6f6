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
    /* The buffers live on the heap: the thread's stack is for the loader (about 4.5 KB). */
    float *input = rt_malloc(sizeof(float) * (784 + 10));
    float *output = input + 784;
    if (!input) {
        rt_kprintf("error: out of memory\n");
        rt_free(job);
        return;
    }
    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    if (onnx_model_load_ex(job->path, &model, &err) != 0) {
        rt_kprintf("error: cannot load %s: %s\n", job->path, err.message);
        goto done;
    }
    if (onnx_model_input_len(model) != 784 || onnx_model_output_len(model) != 10) {
        rt_kprintf("error: %s takes %lu inputs and gives %lu outputs, not 784 and 10\n", job->path,
                   (unsigned long)onnx_model_input_len(model), (unsigned long)onnx_model_output_len(model));
        goto done;
    }
    for (int i = 0; i < 784; i++) input[i] = img[i] / 255.0f;
    if (onnx_run_ex(model, input, 784, output, 10, &err) != 0) {
        rt_kprintf("error: %s\n", err.message);
        goto done;
    }
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(output, 10), mnist_labels[job->index], t1 - t0);
done:
    onnx_model_free(model);
    rt_free(input);
    rt_free(job);
}

static long mnist_model(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 1, &job) != 0) return -1;
    return mnist_start("mnist_model", mnist_model_entry, &job);
}
MSH_CMD_EXPORT(mnist_model, MNIST with an ONNX model from a file: mnist_model [path] [index]);
