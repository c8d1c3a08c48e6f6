/* Host implementation of tests/host_rtthread/rtthread.h and a tiny msh: `msh CMD ARGS...`
 * runs one registered command, waits for the threads it started, and exits. */
#define _GNU_SOURCE
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtthread.h"

struct rt_thread {
    pthread_t id;
    void (*entry)(void *);
    void *parameter;
    size_t stack_size;
    int started;
};

#define MAX_THREADS 16
static struct rt_thread threads[MAX_THREADS];
static int num_threads;

int rt_kprintf(const char *fmt, ...) {
    char buf[128]; /* RT_CONSOLEBUF_SIZE of the STM32F407 BSPs: longer lines are cut there */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs(buf, stdout);
    return n;
}

void *rt_malloc(rt_size_t size) { return malloc(size); }
void *rt_calloc(rt_size_t count, rt_size_t size) { return calloc(count, size); }
void rt_free(void *ptr) { free(ptr); }

void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used) {
    struct mallinfo2 mi = mallinfo2();
    static size_t peak;
    if (mi.uordblks > peak) peak = mi.uordblks;
    if (total) *total = mi.arena;
    if (used) *used = mi.uordblks;
    if (max_used) *max_used = peak;
}

static void *trampoline(void *arg) {
    struct rt_thread *t = arg;
    t->entry(t->parameter);
    return NULL;
}

rt_thread_t rt_thread_create(const char *name, void (*entry)(void *), void *parameter,
                             rt_uint32_t stack_size, rt_uint8_t priority, rt_uint32_t tick) {
    (void)name;
    (void)priority;
    (void)tick;
    if (num_threads >= MAX_THREADS) return RT_NULL;
    struct rt_thread *t = &threads[num_threads++];
    t->entry = entry;
    t->parameter = parameter;
    /* Host code needs more stack than the device build; the device size is what Kconfig says. */
    t->stack_size = stack_size < 256 * 1024 ? 256 * 1024 : stack_size;
    return t;
}

rt_err_t rt_thread_startup(rt_thread_t t) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, t->stack_size);
    int r = pthread_create(&t->id, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    t->started = r == 0;
    return r == 0 ? RT_EOK : -RT_ERROR;
}

rt_err_t rt_thread_mdelay(rt_int32_t ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return RT_EOK;
}

rt_tick_t rt_tick_get(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rt_tick_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000u);
}

rt_tick_t rt_tick_from_millisecond(rt_int32_t ms) { return (rt_tick_t)ms; }

struct command {
    const char *name;
    msh_cmd_fn fn;
    const char *desc;
};
static struct command commands[32];
static int num_commands;

void rt_host_msh_register(const char *name, msh_cmd_fn fn, const char *desc) {
    if (num_commands < 32) commands[num_commands++] = (struct command){name, fn, desc};
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: %s COMMAND [ARGS...]\ncommands:\n", argv[0]);
        for (int i = 0; i < num_commands; i++) printf("  %-12s - %s\n", commands[i].name, commands[i].desc);
        return 2;
    }
    for (int i = 0; i < num_commands; i++) {
        if (strcmp(commands[i].name, argv[1]) == 0) {
            printf("msh />%s", argv[1]);
            for (int a = 2; a < argc; a++) printf(" %s", argv[a]);
            printf("\n");
            long rc = commands[i].fn(argc - 1, argv + 1);
            for (int t = 0; t < num_threads; t++)
                if (threads[t].started) pthread_join(threads[t].id, NULL);
            fflush(stdout);
            return rc == 0 ? 0 : 1;
        }
    }
    printf("%s: command not found.\n", argv[1]);
    return 127;
}
