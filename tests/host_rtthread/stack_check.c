/* The stack check of the RT-Thread build, on the host port (tools/examples.sh builds and runs
 * it): a thread whose stack is nearly used up gets ONNX_ERR_STACK_TOO_SMALL, with the bytes
 * needed and available in the message, from a load and from an inference, instead of
 * overflowing its stack; a thread with room loads and runs.
 *
 *   stack_check MODEL.onnx MODEL.rtm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rtthread.h>

#include "rtthread_host.h"

#include "rtonnx.h"

int rtonnx_port_stack_free(size_t *free_bytes);

static unsigned char *onnx_bytes, *plan_bytes;
static size_t onnx_len, plan_len;
static onnx_model_t *loaded; /* loaded outside any thread: no check there */
static int failures;

static void expect(int ok, const char *what, const struct onnx_error_t *e)
{
    printf("%s %s", ok ? "ok  " : "FAIL", what);
    if (e)
        printf(" (%d: %s)", e->code, e->message);
    printf("\n");
    if (!ok)
        failures++;
}

static int refused_for_stack(int rc, const struct onnx_error_t *e, int need)
{
    char needs[64];
    snprintf(needs, sizeof needs, "needs %d B, has ", need);
    return rc == ONNX_ERR_STACK_TOO_SMALL && e->code == rc && strstr(e->message, needs) &&
           strstr(e->message, "stack is too small");
}

/* What the three calls returned (printed once the stack is back: printing on a starved
 * host stack could overflow it for real). */
static int rcs[3];
static struct onnx_error_t errs[3];
static int model_returned[2];

/* The calls, with the stack as it is when this runs. */
static void calls(void)
{
    onnx_model_t *m = NULL;
    static float in[28 * 28], out[10]; /* static: this frame runs on a starved stack */
    rcs[0] = onnx_model_load_from_memory_ex(onnx_bytes, onnx_len, &m, &errs[0]);
    model_returned[0] = m != NULL;
    onnx_model_free(m);
    m = NULL;
    rcs[1] = onnx_model_load_static_ex(plan_bytes, plan_len, &m, &errs[1]);
    model_returned[1] = m != NULL;
    onnx_model_free(m);
    rcs[2] = onnx_run_ex(loaded, in, 28 * 28, out, 10, &errs[2]);
}

static void judge(int starved)
{
    static const char *what[3] = {"an ONNX load", "a plan load", "an inference"};
    const int need[3] = {ONNX_STACK_LOAD, ONNX_STACK_LOAD_PLAN, ONNX_STACK_RUN};
    char line[96];
    for (int i = 0; i < 3; i++) {
        int ok = starved ? refused_for_stack(rcs[i], &errs[i], need[i]) && (i == 2 || !model_returned[i])
                         : rcs[i] == ONNX_OK && (i == 2 || model_returned[i]);
        snprintf(line, sizeof line, "%s %s", what[i], starved ? "on a starved stack is refused" : "with room");
        expect(ok, line, rcs[i] ? &errs[i] : NULL);
    }
}

static size_t left;

/* Uses the stack down to about `leave` bytes, then makes the calls. */
static int starve(size_t leave)
{
    volatile char pad[512];
    size_t free_bytes = 0;
    int r;
    pad[0] = 1;
    if (rtonnx_port_stack_free(&free_bytes) != 0)
        return -1;
    if (free_bytes > leave + sizeof pad) {
        r = starve(leave);
    } else {
        left = free_bytes;
        calls();
        r = 0;
    }
    return r + pad[0] - 1;
}

static void starved_thread(void *arg)
{
    (void)arg;
    /* Less than any call needs, enough for the calls' checks themselves. */
    if (starve(2048) != 0) {
        expect(0, "rtonnx_port_stack_free knows the thread's stack", NULL);
        return;
    }
    printf("     (%zu B of stack left before the calls)\n", left);
    judge(1);
}

static void roomy_thread(void *arg)
{
    (void)arg;
    calls();
    judge(0);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stack_check MODEL.onnx MODEL.rtm\n");
        return 2;
    }
    onnx_bytes = read_all(argv[1], &onnx_len);
    plan_bytes = read_all(argv[2], &plan_len);
    size_t outside;
    expect(rtonnx_port_stack_free(&outside) != 0, "outside a thread the stack is unknown", NULL);
    loaded = onnx_model_load_from_memory(onnx_bytes, onnx_len);
    expect(loaded != NULL, "a load outside a thread goes ahead", NULL);
    rt_thread_t t = rt_thread_create("starved", starved_thread, NULL, 8192, 20, 10);
    rt_thread_startup(t);
    rt_host_join_threads();
    t = rt_thread_create("roomy", roomy_thread, NULL, 8192, 20, 10);
    rt_thread_startup(t);
    rt_host_join_threads();
    onnx_model_free(loaded);
    free(onnx_bytes);
    free(plan_bytes);
    printf("%s\n", failures ? "FAILED" : "stack check: passed");
    return failures ? 1 : 0;
}
