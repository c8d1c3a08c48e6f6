/* A host port of the small part of RT-Thread's API the rtonnx examples use, written from
 * RT-Thread's documented signatures (rtthread.h, rtdef.h, finsh's MSH_CMD_EXPORT). Threads are
 * pthreads, ticks are milliseconds of CLOCK_MONOTONIC, the heap is the C library's, and
 * MSH_CMD_EXPORT registers commands into a table that tests/host_rtthread/msh.c runs. */
#ifndef RT_THREAD_H__
#define RT_THREAD_H__

#include <stddef.h>
#include <stdint.h>

typedef int8_t rt_int8_t;
typedef int16_t rt_int16_t;
typedef int32_t rt_int32_t;
typedef uint8_t rt_uint8_t;
typedef uint16_t rt_uint16_t;
typedef uint32_t rt_uint32_t;
typedef long rt_base_t;
typedef unsigned long rt_ubase_t;
typedef rt_base_t rt_err_t;
typedef rt_uint32_t rt_tick_t;
typedef rt_ubase_t rt_size_t;

#define RT_EOK 0
#define RT_ERROR 1
#define RT_ENOMEM 5
#define RT_NULL 0
#define RT_TICK_PER_SECOND 1000

typedef struct rt_thread *rt_thread_t;

int rt_kprintf(const char *fmt, ...);
void *rt_malloc(rt_size_t size);
void *rt_calloc(rt_size_t count, rt_size_t size);
void rt_free(void *ptr);
void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used);
rt_thread_t rt_thread_create(const char *name, void (*entry)(void *parameter), void *parameter,
                             rt_uint32_t stack_size, rt_uint8_t priority, rt_uint32_t tick);
rt_err_t rt_thread_startup(rt_thread_t thread);
rt_err_t rt_thread_mdelay(rt_int32_t ms);
rt_tick_t rt_tick_get(void);
rt_tick_t rt_tick_from_millisecond(rt_int32_t ms);

/* finsh/msh command registration. */
typedef long (*msh_cmd_fn)(int argc, char **argv);
void rt_host_msh_register(const char *name, msh_cmd_fn fn, const char *desc);
#define MSH_CMD_EXPORT(command, desc)                                              \
    static void __attribute__((constructor)) rt_host_msh_reg_##command(void) {      \
        rt_host_msh_register(#command, (msh_cmd_fn)(command), #desc);              \
    }

#endif
