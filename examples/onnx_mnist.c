/* onnx_mnist [index]: the mnist-sm network built by hand from rtonnx's kernels, with the
 * weights compiled in from mnist_weights.h (made by tools/examples/gen_headers.py from our
 * trained mnist-sm model): Conv 3x3 + Relu, MaxPool 2, Conv 3x3 + Relu, MaxPool 2, Dense,
 * Dense, Softmax. */
#include <rtthread.h>

#include "mnist_common.h"
#include "mnist_weights.h"
#include "rtonnx.h"

#define CHECK(call)                                                             \
    do {                                                                        \
        int rc_ = (call);                                                       \
        if (rc_ != 0) {                                                         \
            rt_kprintf("error: %s: %s\n", #call, onnx_strerror(rc_));           \
            goto done;                                                          \
        }                                                                       \
    } while (0)

static void onnx_mnist_entry(void *parameter) {
    struct mnist_job *job = parameter;
    const uint8_t *img = mnist_images[job->index];
    const int c1 = MNIST_CONV1_OUT_C, c2 = MNIST_CONV2_OUT_C;
    /* One buffer for every layer: input | conv1 | pool1 | conv2 | pool2 | dense1 | dense2 */
    float *buf = rt_malloc(sizeof(float) * (784 + c1 * 784 + c1 * 196 + c2 * 196 + c2 * 49 + 16 + 16));
    if (!buf) {
        rt_kprintf("error: out of memory\n");
        rt_free(job);
        return;
    }
    float *x = buf, *conv1 = x + 784, *pool1 = conv1 + c1 * 784, *conv2 = pool1 + c1 * 196;
    float *pool2 = conv2 + c2 * 196, *dense1 = pool2 + c2 * 49, *dense2 = dense1 + 16;
    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    for (int i = 0; i < 784; i++) x[i] = img[i] / 255.0f;
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, mnist_conv1_w, c1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, mnist_conv1_b,
                      1, conv1, c1 * 784));
    CHECK(onnx_maxpool2d(conv1, 1, c1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, pool1, c1 * 196));
    CHECK(onnx_conv2d(pool1, 1, c1, 14, 14, mnist_conv2_w, c2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                      mnist_conv2_b, 1, conv2, c2 * 196));
    CHECK(onnx_maxpool2d(conv2, 1, c2, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0, pool2, c2 * 49));
    /* pool2 is flattened in CHW order; the header's dense1 rows are in that order. */
    CHECK(onnx_dense(pool2, 1, MNIST_DENSE1_IN, mnist_dense1_w, MNIST_DENSE1_OUT, mnist_dense1_b, dense1,
                     MNIST_DENSE1_OUT));
    CHECK(onnx_dense(dense1, 1, MNIST_DENSE2_IN, mnist_dense2_w, MNIST_DENSE2_OUT, mnist_dense2_b, dense2,
                     MNIST_DENSE2_OUT));
    CHECK(onnx_softmax(dense2, dense2, 1, MNIST_DENSE2_OUT));
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(dense2, MNIST_DENSE2_OUT), mnist_labels[job->index], t1 - t0);
done:
    rt_free(buf);
    rt_free(job);
}

static long onnx_mnist(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 0, &job) != 0) return -1;
    return mnist_start("onnx_mnist", onnx_mnist_entry, &job);
}
MSH_CMD_EXPORT(onnx_mnist, MNIST with a hand-built network and compiled-in weights: onnx_mnist [index]);
