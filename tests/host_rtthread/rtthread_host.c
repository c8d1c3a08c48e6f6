/* Host implementation of tests/host_rtthread/rtthread.h (see there for what it emulates). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtthread.h"
#include "rtthread_host.h"

/* ---- console ------------------------------------------------------------------------ */

static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;

/* Stops the program when `fmt` uses a conversion that RT-Thread's rt_kprintf (rt_vsnprintf:
 * flags, width, precision, the h and l length modifiers, d i u o x X c s p %) does not have:
 * on the device such output would be garbage, so the host tests must not pass with it. */
static void check_format(const char *fmt) {
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') continue;
        p++;
        if (*p == '%') continue;
        while (*p && strchr("-+ #0", *p)) p++;
        while (*p && (*p == '*' || (*p >= '0' && *p <= '9'))) p++;
        if (*p == '.') {
            p++;
            while (*p && (*p == '*' || (*p >= '0' && *p <= '9'))) p++;
        }
        if (*p == 'h' || *p == 'l') {
            char m = *p++;
            if (*p == m) {
                fprintf(stderr, "rt_kprintf: '%%%c%c' needs RT_KPRINTF_USING_LONGLONG, off by default: \"%s\"\n", m, m, fmt);
                abort();
            }
        }
        if (!*p || !strchr("diuoxXcsp", *p)) {
            fprintf(stderr, "rt_kprintf: conversion '%%%c' is not supported by RT-Thread: \"%s\"\n", *p ? *p : '?', fmt);
            abort();
        }
    }
}

int rt_kprintf(const char *fmt, ...) {
    char buf[RT_CONSOLEBUF_SIZE];
    check_format(fmt);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return 0;
    if ((size_t)n > sizeof buf - 1) n = (int)sizeof buf - 1; /* cut like the device */
    pthread_mutex_lock(&console_lock);
    fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
    pthread_mutex_unlock(&console_lock);
    return n;
}

/* ---- heap ----------------------------------------------------------------------------- */

/* Every block starts with this header (16 bytes, so blocks stay 16-byte aligned). */
struct block {
    size_t size;   /* bytes the caller asked for */
    size_t offset; /* from the malloc'd start to the caller's pointer */
};

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t heap_total, heap_used, heap_max_used;
static unsigned long heap_live_blocks;

static size_t heap_size(void) {
    if (heap_total == 0) {
        const char *s = getenv("RT_HOST_HEAP_SIZE");
        heap_total = s && *s ? strtoul(s, NULL, 0) : 128 * 1024;
    }
    return heap_total;
}

/* Charges `n` bytes to the heap budget; 0 when they do not fit. */
static int heap_take(size_t n) {
    pthread_mutex_lock(&heap_lock);
    int ok = n <= heap_size() && heap_used <= heap_size() - n;
    if (ok) {
        heap_used += n;
        if (heap_used > heap_max_used) heap_max_used = heap_used;
    }
    pthread_mutex_unlock(&heap_lock);
    return ok;
}

static void heap_give(size_t n) {
    pthread_mutex_lock(&heap_lock);
    heap_used -= n;
    pthread_mutex_unlock(&heap_lock);
}

static void *block_alloc(size_t size, size_t align) {
    if (align < sizeof(struct block)) align = sizeof(struct block);
    if ((align & (align - 1)) != 0) return RT_NULL;
    if (size > (size_t)-1 / 2 || !heap_take(size)) return RT_NULL;
    unsigned char *raw = malloc(size + align + sizeof(struct block));
    if (!raw) {
        heap_give(size);
        return RT_NULL;
    }
    uintptr_t start = (uintptr_t)(raw + sizeof(struct block));
    uintptr_t user = (start + align - 1) & ~(uintptr_t)(align - 1);
    struct block *b = (struct block *)(user - sizeof(struct block));
    b->size = size;
    b->offset = user - (uintptr_t)raw;
    pthread_mutex_lock(&heap_lock);
    heap_live_blocks++;
    pthread_mutex_unlock(&heap_lock);
    return (void *)user;
}

static struct block *block_of(void *ptr) { return (struct block *)((unsigned char *)ptr - sizeof(struct block)); }

static void block_free(void *ptr) {
    if (!ptr) return;
    struct block *b = block_of(ptr);
    size_t size = b->size;
    unsigned char *raw = (unsigned char *)ptr - b->offset;
    free(raw);
    pthread_mutex_lock(&heap_lock);
    heap_used -= size;
    heap_live_blocks--;
    pthread_mutex_unlock(&heap_lock);
}

void *rt_malloc(rt_size_t size) { return block_alloc(size, 16); }

void *rt_calloc(rt_size_t count, rt_size_t size) {
    if (size != 0 && count > (rt_size_t)-1 / size) return RT_NULL;
    void *p = rt_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *rt_realloc(void *ptr, rt_size_t newsize) {
    if (!ptr) return rt_malloc(newsize);
    if (newsize == 0) {
        rt_free(ptr);
        return RT_NULL;
    }
    void *q = rt_malloc(newsize);
    if (!q) return RT_NULL; /* the old block stays valid, as on the device */
    size_t old = block_of(ptr)->size;
    memcpy(q, ptr, old < newsize ? old : newsize);
    rt_free(ptr);
    return q;
}

void rt_free(void *ptr) { block_free(ptr); }
void *rt_malloc_align(rt_size_t size, rt_size_t align) { return block_alloc(size, align); }
void rt_free_align(void *ptr) { block_free(ptr); }

void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used) {
    pthread_mutex_lock(&heap_lock);
    if (total) *total = heap_size();
    if (used) *used = heap_used;
    if (max_used) *max_used = heap_max_used;
    pthread_mutex_unlock(&heap_lock);
}

unsigned long rt_host_heap_live_blocks(void) {
    pthread_mutex_lock(&heap_lock);
    unsigned long n = heap_live_blocks;
    pthread_mutex_unlock(&heap_lock);
    return n;
}

/* ---- threads -------------------------------------------------------------------------- */

static __thread struct rt_thread *current;
static struct rt_thread *threads[RT_HOST_MAX_THREADS];
static int num_threads;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;

/* The stack of a host thread: host code (x86-64, libc's printf) needs far more than the
 * device's, so the configured size is only charged to the heap budget, as on the device. */
#define HOST_STACK_BYTES (512 * 1024)

static void *trampoline(void *arg) {
    struct rt_thread *t = arg;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->stack_addr = addr;
            t->stack_size = (rt_uint32_t)size;
        }
        pthread_attr_destroy(&attr);
    }
    current = t;
    t->entry(t->parameter);
    return NULL;
}

rt_thread_t rt_thread_create(const char *name, void (*entry)(void *), void *parameter, rt_uint32_t stack_size,
                             rt_uint8_t priority, rt_uint32_t tick) {
    (void)priority;
    (void)tick;
    if (!entry) return RT_NULL;
    struct rt_thread *t = rt_malloc(sizeof *t);
    if (!t) return RT_NULL;
    if (!heap_take(stack_size)) { /* the device allocates the stack from the heap too */
        rt_free(t);
        return RT_NULL;
    }
    memset(t, 0, sizeof *t);
    strncpy(t->name, name ? name : "", RT_NAME_MAX - 1);
    t->entry = entry;
    t->parameter = parameter;
    t->charged = stack_size;
    pthread_mutex_lock(&threads_lock);
    int slot = num_threads < RT_HOST_MAX_THREADS ? num_threads++ : -1;
    if (slot >= 0) threads[slot] = t;
    pthread_mutex_unlock(&threads_lock);
    if (slot < 0) {
        heap_give(stack_size);
        rt_free(t);
        return RT_NULL;
    }
    return t;
}

rt_err_t rt_thread_startup(rt_thread_t t) {
    if (!t || t->started) return -RT_ERROR;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, HOST_STACK_BYTES);
    int r = pthread_create(&t->id, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    t->started = r == 0;
    return r == 0 ? RT_EOK : -RT_ERROR;
}

/* Ending the calling thread is what the panic handler does; other threads cannot be
 * stopped from outside with pthreads, which the examples never need. */
rt_err_t rt_thread_delete(rt_thread_t t) {
    if (!t) return -RT_ERROR;
    if (t != current) return -RT_ENOSYS;
    t->deleted = 1;
    pthread_exit(NULL);
}

rt_err_t rt_thread_detach(rt_thread_t t) { return rt_thread_delete(t); }

rt_thread_t rt_thread_self(void) { return current; }

rt_err_t rt_thread_suspend(rt_thread_t t) {
    if (t && t == current) { /* suspending oneself forever: nothing would resume it here */
        t->deleted = 1;
        pthread_exit(NULL);
    }
    return -RT_ENOSYS;
}

rt_err_t rt_thread_mdelay(rt_int32_t ms) {
    if (ms < 0) ms = 0;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return RT_EOK;
}

rt_err_t rt_thread_delay(rt_tick_t tick) { return rt_thread_mdelay((rt_int32_t)(tick * 1000u / RT_TICK_PER_SECOND)); }

void rt_schedule(void) { sched_yield(); }

rt_bool_t rt_object_is_systemobject(rt_object_t object) {
    (void)object;
    return RT_FALSE; /* every thread here comes from rt_thread_create */
}

rt_uint8_t rt_interrupt_get_nest(void) { return 0; }

int rt_host_join_threads(void) {
    int ended = 0;
    for (int i = 0;; i++) {
        pthread_mutex_lock(&threads_lock);
        struct rt_thread *t = i < num_threads ? threads[i] : RT_NULL;
        pthread_mutex_unlock(&threads_lock);
        if (!t) break;
        if (t->started) pthread_join(t->id, NULL);
        if (t->deleted) {
            printf("[host] thread '%s' was deleted\n", t->name);
            ended++;
        }
        /* The idle thread frees an ended thread's stack and control block on the device. */
        heap_give(t->charged);
        rt_free(t);
        pthread_mutex_lock(&threads_lock);
        threads[i] = RT_NULL;
        pthread_mutex_unlock(&threads_lock);
    }
    pthread_mutex_lock(&threads_lock);
    num_threads = 0;
    pthread_mutex_unlock(&threads_lock);
    return ended;
}

/* ---- clock and errno ------------------------------------------------------------------- */

rt_tick_t rt_tick_get(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (rt_tick_t)(ms * RT_TICK_PER_SECOND / 1000u);
}

rt_tick_t rt_tick_from_millisecond(rt_int32_t ms) {
    if (ms < 0) return (rt_tick_t)RT_WAITING_FOREVER;
    return (rt_tick_t)(((uint64_t)ms * RT_TICK_PER_SECOND + 999u) / 1000u);
}

rt_err_t rt_get_errno(void) { return -(rt_err_t)errno; }

void rt_set_errno(rt_err_t no) { errno = (int)(no < 0 ? -no : no); }
