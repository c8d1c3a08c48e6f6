/* mnist_sm [path] [index]: the same hand-written layer sequence as onnx_mnist, with the
 * weights looked up by name (onnx_model_initializer) in an ONNX model loaded from the file
 * system. The names, the geometry and how the model stores its matrices come from
 * mnist_weights.h (format in examples/README.md); its weight arrays are not used. */
#include <rtthread.h>

#include "mnist_weights.h"
#include "mnist_common.h"
#include "rtonnx.h"

#define TRY(call)                                                                   \
    do {                                                                            \
        int rc_ = (call);                                                           \
        if (rc_ != 0) {                                                             \
            rt_kprintf("error: %s failed: %s\n", #call, onnx_strerror(rc_));        \
            goto done;                                                              \
        }                                                                           \
    } while (0)

#define C1_LEN (MNIST_CONV1_OUT_C * MNIST_CONV1_SIDE * MNIST_CONV1_SIDE)
#define P1_LEN (MNIST_CONV1_OUT_C * MNIST_POOL1_SIDE * MNIST_POOL1_SIDE)
#define C2_LEN (MNIST_CONV2_OUT_C * MNIST_CONV2_SIDE * MNIST_CONV2_SIDE)
#define P2_LEN MNIST_FEATURES
#define W3_LEN (MNIST_DENSE1_IN * MNIST_DENSE1_OUT)
#define W4_LEN (MNIST_DENSE2_IN * MNIST_DENSE2_OUT)

/* Initializer `name` of `len` floats from the model; NULL (after saying why, and clearing
 * *ok) when it is missing or of another size. An empty name (a layer without bias) gives
 * NULL quietly; after a failure (*ok == 0) nothing more is looked up. */
static const float *weights(onnx_model_t *m, const char *name, size_t len, int *ok) {
    const float *data = RT_NULL;
    size_t n = 0, dims[8];
    if (!*ok || name[0] == '\0') return RT_NULL; /* an earlier one failed, or no bias */
    int rank = onnx_model_initializer(m, name, &data, &n, dims, 8);
    if (rank == ONNX_ERR_INVALID_ARGUMENT) {
        rt_kprintf("error: initializer '%s' is not in the model\n", name);
        *ok = 0;
        return RT_NULL;
    }
    if (rank < 0) {
        rt_kprintf("error: initializer '%s': %s\n", name, onnx_strerror(rank));
        *ok = 0;
        return RT_NULL;
    }
    if (n != len) {
        rt_kprintf("error: initializer '%s' has %lu values, the network needs %lu\n", name, (unsigned long)n,
                   (unsigned long)len);
        *ok = 0;
        return RT_NULL;
    }
    return data;
}

static void mnist_sm_entry(void *parameter) {
    struct mnist_job *job = parameter;
    const uint8_t *img = mnist_images[job->index];
    onnx_model_t *m = RT_NULL;
    onnx_error_t err;
    int ok = 1;
    /* input | conv1 | pool1 | conv2 | pool2 | flat | dense1 | dense2 (| dense weights [k][n]) */
    size_t floats = MNIST_PIXELS + C1_LEN + P1_LEN + C2_LEN + 2 * P2_LEN + MNIST_DENSE1_OUT + MNIST_DENSE2_OUT;
#if MNIST_DENSE1_TRANS_B
    floats += W3_LEN;
#endif
#if MNIST_DENSE2_TRANS_B
    floats += W4_LEN;
#endif
    float *x = RT_NULL;

    mnist_print_digit(img);
    rt_tick_t t0 = rt_tick_get();
    if (onnx_model_load_ex(job->path, &m, &err) != 0) {
        rt_kprintf("error: cannot load %s: %s\n", job->path, err.message);
        goto done;
    }
    mnist_print_time("load", rt_tick_get() - t0);
    const float *w1 = weights(m, MNIST_CONV1_W, MNIST_CONV1_OUT_C * MNIST_CONV1_IN_C * MNIST_CONV1_KERNEL *
                                                   MNIST_CONV1_KERNEL, &ok);
    const float *b1 = weights(m, MNIST_CONV1_B, MNIST_CONV1_OUT_C, &ok);
    const float *w2 = weights(m, MNIST_CONV2_W, MNIST_CONV2_OUT_C * MNIST_CONV2_IN_C * MNIST_CONV2_KERNEL *
                                                   MNIST_CONV2_KERNEL, &ok);
    const float *b2 = weights(m, MNIST_CONV2_B, MNIST_CONV2_OUT_C, &ok);
    const float *w3 = weights(m, MNIST_DENSE1_W, W3_LEN, &ok);
    const float *b3 = weights(m, MNIST_DENSE1_B, MNIST_DENSE1_OUT, &ok);
    const float *w4 = weights(m, MNIST_DENSE2_W, W4_LEN, &ok);
    const float *b4 = weights(m, MNIST_DENSE2_B, MNIST_DENSE2_OUT, &ok);
    if (!ok) goto done;
    x = rt_malloc(sizeof(float) * floats);
    if (!x) {
        rt_kprintf("error: out of memory for the feature maps (%lu bytes)\n", (unsigned long)(sizeof(float) * floats));
        goto done;
    }
    float *conv1 = x + MNIST_PIXELS, *pool1 = conv1 + C1_LEN, *conv2 = pool1 + P1_LEN, *pool2 = conv2 + C2_LEN;
    float *flat = pool2 + P2_LEN, *dense1 = flat + P2_LEN, *dense2 = dense1 + MNIST_DENSE1_OUT;
    float *spare = dense2 + MNIST_DENSE2_OUT;
    (void)spare;

    t0 = rt_tick_get();
#if MNIST_DENSE1_TRANS_B
    { /* the model stores [n][k]: onnx_dense takes [k][n] */
        size_t dims[2] = {MNIST_DENSE1_OUT, MNIST_DENSE1_IN}, perm[2] = {1, 0};
        TRY(onnx_transpose(w3, spare, dims, perm, 2));
        w3 = spare;
        spare += W3_LEN;
    }
#endif
#if MNIST_DENSE2_TRANS_B
    {
        size_t dims[2] = {MNIST_DENSE2_OUT, MNIST_DENSE2_IN}, perm[2] = {1, 0};
        TRY(onnx_transpose(w4, spare, dims, perm, 2));
        w4 = spare;
    }
#endif
    mnist_normalize(img, x);
    TRY(onnx_conv2d(x, 1, 1, MNIST_SIDE, MNIST_SIDE, w1, MNIST_CONV1_OUT_C, MNIST_CONV1_KERNEL, MNIST_CONV1_KERNEL, 1,
                    1, MNIST_CONV1_PAD, MNIST_CONV1_PAD, MNIST_CONV1_PAD, MNIST_CONV1_PAD, 1, 1, 1, b1, 1, conv1,
                    C1_LEN));
    TRY(onnx_maxpool2d(conv1, 1, MNIST_CONV1_OUT_C, MNIST_CONV1_SIDE, MNIST_CONV1_SIDE, MNIST_POOL1_KERNEL,
                       MNIST_POOL1_KERNEL, MNIST_POOL1_STRIDE, MNIST_POOL1_STRIDE, 0, 0, 0, 0, pool1, P1_LEN));
    TRY(onnx_conv2d(pool1, 1, MNIST_CONV1_OUT_C, MNIST_POOL1_SIDE, MNIST_POOL1_SIDE, w2, MNIST_CONV2_OUT_C,
                    MNIST_CONV2_KERNEL, MNIST_CONV2_KERNEL, 1, 1, MNIST_CONV2_PAD, MNIST_CONV2_PAD, MNIST_CONV2_PAD,
                    MNIST_CONV2_PAD, 1, 1, 1, b2, 1, conv2, C2_LEN));
    TRY(onnx_maxpool2d(conv2, 1, MNIST_CONV2_OUT_C, MNIST_CONV2_SIDE, MNIST_CONV2_SIDE, MNIST_POOL2_KERNEL,
                       MNIST_POOL2_KERNEL, MNIST_POOL2_STRIDE, MNIST_POOL2_STRIDE, 0, 0, 0, 0, pool2, P2_LEN));
#if MNIST_FLATTEN_HWC
    { /* the model flattens [C, H, W] in HWC order (Keras): transpose to [H, W, C] first */
        size_t dims[3] = {MNIST_CONV2_OUT_C, MNIST_POOL2_SIDE, MNIST_POOL2_SIDE}, perm[3] = {1, 2, 0};
        TRY(onnx_transpose(pool2, flat, dims, perm, 3));
    }
#else
    for (int i = 0; i < P2_LEN; i++) flat[i] = pool2[i];
#endif
    TRY(onnx_dense(flat, 1, MNIST_DENSE1_IN, w3, MNIST_DENSE1_OUT, b3, dense1, MNIST_DENSE1_OUT));
    TRY(onnx_dense(dense1, 1, MNIST_DENSE2_IN, w4, MNIST_DENSE2_OUT, b4, dense2, MNIST_DENSE2_OUT));
    TRY(onnx_softmax(dense2, dense2, 1, MNIST_DENSE2_OUT));
    rt_tick_t t1 = rt_tick_get();
    mnist_print_report(mnist_print_probabilities(dense2, MNIST_CLASSES), mnist_labels[job->index], t1 - t0);
done:
    rt_free(x);
    onnx_model_free(m);
    rt_free(job);
}

static long mnist_sm(int argc, char **argv) {
    struct mnist_job job;
    if (mnist_parse(argc, argv, 1, &job) != 0) return -1;
    return mnist_start("mnistsm", mnist_sm_entry, &job);
}
MSH_CMD_EXPORT(mnist_sm, MNIST by hand with weights from an ONNX file: mnist_sm [path] [index]);
