/* onnx_mnist [index]: the mnist-sm network built by hand from rtonnx's kernels, with the
 * weights compiled in from mnist_weights.h (generated from our trained model by
 * tools/examples/gen_headers.py; format in examples/README.md):
 *   Conv + Relu -> MaxPool -> Conv + Relu -> MaxPool -> flatten -> Dense -> Dense -> Softmax
 * No file system needed. */
#include <rtthread.h>

#include "mnist_weights.h"
#include "mnist_common.h"
#include "rtonnx.h"

/* Stops at the first failing kernel call, printing which one and why. */
#define TRY(call)                                                                   \
    do {                                                                            \
        int rc_ = (call);                                                           \
        if (rc_ != 0) {                                                             \
            rt_kprintf("error: %s failed: %s\n", #call, onnx_strerror(rc_));        \
            goto done;                                                              \
        }                                                                           \
    } while (0)

/* Element counts of every stage, NCHW with batch 1. */
#define C1_LEN (MNIST_CONV1_OUT_C * MNIST_CONV1_SIDE * MNIST_CONV1_SIDE)
#define P1_LEN (MNIST_CONV1_OUT_C * MNIST_POOL1_SIDE * MNIST_POOL1_SIDE)
#define C2_LEN (MNIST_CONV2_OUT_C * MNIST_CONV2_SIDE * MNIST_CONV2_SIDE)
#define P2_LEN MNIST_FEATURES

static void onnx_mnist_entry(void *parameter) {
    struct mnist_job *job = parameter;
    const uint8_t *img = mnist_images[job->index];
    /* One block for every stage: input | conv1 | pool1 | conv2 | pool2 | dense1 | dense2 */
    float *x = rt_malloc(sizeof(float) * (MNIST_PIXELS + C1_LEN + P1_LEN + C2_LEN + P2_LEN + MNIST_DENSE1_OUT +
                                          MNIST_DENSE2_OUT));
    if (!x) {
        rt_kprintf("error: out of memory for the feature maps\n");
        rt_free(job);
        return;
    }
    float *conv1 = x + MNIST_PIXELS, *pool1 = conv1 + C1_LEN, *conv2 = pool1 + P1_LEN, *pool2 = conv2 + C2_LEN;
    float *dense1 = pool2 + P2_LEN, *dense2 = dense1 + MNIST_DENSE1_OUT;

    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    mnist_normalize(img, x);
    /* input, batch, in_c, h, w, weights, out_c, kernel h/w, stride h/w, pads t/l/b/r,
       dilation h/w, group, bias, relu, output, output length */
    TRY(onnx_conv2d(x, 1, 1, MNIST_SIDE, MNIST_SIDE, mnist_conv1_w, MNIST_CONV1_OUT_C, MNIST_CONV1_KERNEL,
                    MNIST_CONV1_KERNEL, 1, 1, MNIST_CONV1_PAD, MNIST_CONV1_PAD, MNIST_CONV1_PAD, MNIST_CONV1_PAD, 1, 1,
                    1, mnist_conv1_b, 1, conv1, C1_LEN));
    TRY(onnx_maxpool2d(conv1, 1, MNIST_CONV1_OUT_C, MNIST_CONV1_SIDE, MNIST_CONV1_SIDE, MNIST_POOL1_KERNEL,
                       MNIST_POOL1_KERNEL, MNIST_POOL1_STRIDE, MNIST_POOL1_STRIDE, 0, 0, 0, 0, pool1, P1_LEN));
    TRY(onnx_conv2d(pool1, 1, MNIST_CONV1_OUT_C, MNIST_POOL1_SIDE, MNIST_POOL1_SIDE, mnist_conv2_w,
                    MNIST_CONV2_OUT_C, MNIST_CONV2_KERNEL, MNIST_CONV2_KERNEL, 1, 1, MNIST_CONV2_PAD, MNIST_CONV2_PAD,
                    MNIST_CONV2_PAD, MNIST_CONV2_PAD, 1, 1, 1, mnist_conv2_b, 1, conv2, C2_LEN));
    TRY(onnx_maxpool2d(conv2, 1, MNIST_CONV2_OUT_C, MNIST_CONV2_SIDE, MNIST_CONV2_SIDE, MNIST_POOL2_KERNEL,
                       MNIST_POOL2_KERNEL, MNIST_POOL2_STRIDE, MNIST_POOL2_STRIDE, 0, 0, 0, 0, pool2, P2_LEN));
    /* pool2 is flat in CHW order already; the header's dense1 rows are in that order. */
    TRY(onnx_dense(pool2, 1, MNIST_DENSE1_IN, mnist_dense1_w, MNIST_DENSE1_OUT, mnist_dense1_b, dense1,
                   MNIST_DENSE1_OUT));
    TRY(onnx_dense(dense1, 1, MNIST_DENSE2_IN, mnist_dense2_w, MNIST_DENSE2_OUT, mnist_dense2_b, dense2,
                   MNIST_DENSE2_OUT));
    TRY(onnx_softmax(dense2, dense2, 1, MNIST_DENSE2_OUT));
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(dense2, MNIST_CLASSES), mnist_labels[job->index], t1 - t0);
done:
    rt_free(x);
    rt_free(job);
}

static long onnx_mnist(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 0, &job) != 0) return -1;
    return mnist_start("onnxmn", onnx_mnist_entry, &job);
}
MSH_CMD_EXPORT(onnx_mnist, MNIST with a hand-built network and compiled-in weights: onnx_mnist [index]);
