/* mnist_sm [path] [index]: the same hand-written layer sequence as onnx_mnist, with the
 * weights looked up by name in an ONNX model loaded from the file system. The names and the
 * layout facts come from mnist_weights.h (generated from the model). */
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

/* Finds initializer `name` with `len` elements; prints why not and returns NULL. */
static const float *weights(onnx_model_t *m, const char *name, size_t len) {
    const float *data = RT_NULL;
    size_t n = 0, dims[8];
    if (name[0] == '\0') return RT_NULL; /* no bias in this model */
    if (onnx_model_initializer(m, name, &data, &n, dims, 8) < 0 || n != len) {
        rt_kprintf("error: initializer '%s' with %lu values not found\n", name, (unsigned long)len);
        return RT_NULL;
    }
    return data;
}

static void mnist_sm_entry(void *parameter) {
    struct mnist_job *job = parameter;
    const uint8_t *img = mnist_images[job->index];
    const int c1 = MNIST_CONV1_OUT_C, c2 = MNIST_CONV2_OUT_C;
    const int k1 = MNIST_DENSE1_IN, n1 = MNIST_DENSE1_OUT, k2 = MNIST_DENSE2_IN, n2 = MNIST_DENSE2_OUT;
    float *buf = RT_NULL;
    onnx_error_t err;
    onnx_model_t *m = RT_NULL;
    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    if (onnx_model_load_ex(job->path, &m, &err) != 0) {
        rt_kprintf("error: cannot load %s: %s\n", job->path, err.message);
        goto done;
    }
    const float *w1 = weights(m, MNIST_CONV1_W, (size_t)c1 * 9), *b1 = weights(m, MNIST_CONV1_B, c1);
    const float *w2 = weights(m, MNIST_CONV2_W, (size_t)c2 * c1 * 9), *b2 = weights(m, MNIST_CONV2_B, c2);
    const float *w3 = weights(m, MNIST_DENSE1_W, (size_t)k1 * n1), *b3 = weights(m, MNIST_DENSE1_B, n1);
    const float *w4 = weights(m, MNIST_DENSE2_W, (size_t)k2 * n2), *b4 = weights(m, MNIST_DENSE2_B, n2);
    if (!w1 || !w2 || !w3 || !w4) goto done;
    buf = rt_malloc(sizeof(float) * (784 + c1 * 784 + c1 * 196 + c2 * 196 + 2 * c2 * 49 + 16 + 16 +
                                     (size_t)k1 * n1 + (size_t)k2 * n2));
    if (!buf) {
        rt_kprintf("error: out of memory\n");
        goto done;
    }
    float *x = buf, *conv1 = x + 784, *pool1 = conv1 + c1 * 784, *conv2 = pool1 + c1 * 196;
    float *pool2 = conv2 + c2 * 196, *flat = pool2 + c2 * 49, *dense1 = flat + c2 * 49, *dense2 = dense1 + 16;
    float *wt = dense2 + 16;
    for (int i = 0; i < 784; i++) x[i] = img[i] / 255.0f;
    CHECK(onnx_conv2d(x, 1, 1, 28, 28, w1, c1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b1, 1, conv1, c1 * 784));
    CHECK(onnx_maxpool2d(conv1, 1, c1, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, pool1, c1 * 196));
    CHECK(onnx_conv2d(pool1, 1, c1, 14, 14, w2, c2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, b2, 1, conv2, c2 * 196));
    CHECK(onnx_maxpool2d(conv2, 1, c2, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0, pool2, c2 * 49));
#if MNIST_FLATTEN_HWC
    {   /* the model flattens [C,7,7] as HWC (Keras): transpose to [7,7,C] first */
        size_t dims[3] = {(size_t)c2, 7, 7}, perm[3] = {1, 2, 0};
        CHECK(onnx_transpose(pool2, flat, dims, perm, 3));
    }
#else
    for (int i = 0; i < c2 * 49; i++) flat[i] = pool2[i];
#endif
#if MNIST_DENSE1_TRANS_B
    {   size_t dims[2] = {(size_t)n1, (size_t)k1}, perm[2] = {1, 0};
        CHECK(onnx_transpose(w3, wt, dims, perm, 2));
        w3 = wt; }
#endif
    CHECK(onnx_dense(flat, 1, k1, w3, n1, b3, dense1, n1));
#if MNIST_DENSE2_TRANS_B
    {   size_t dims[2] = {(size_t)n2, (size_t)k2}, perm[2] = {1, 0};
        CHECK(onnx_transpose(w4, wt + (size_t)k1 * n1, dims, perm, 2));
        w4 = wt + (size_t)k1 * n1; }
#endif
    CHECK(onnx_dense(dense1, 1, k2, w4, n2, b4, dense2, n2));
    CHECK(onnx_softmax(dense2, dense2, 1, n2));
    (void)wt;
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(dense2, n2), mnist_labels[job->index], t1 - t0);
done:
    rt_free(buf);
    onnx_model_free(m);
    rt_free(job);
}

static long mnist_sm(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 1, &job) != 0) return -1;
    return mnist_start("mnist_sm", mnist_sm_entry, &job);
}
MSH_CMD_EXPORT(mnist_sm, MNIST by hand with weights from an ONNX file: mnist_sm [path] [index]);
