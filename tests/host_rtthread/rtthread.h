/* A host port of the part of RT-Thread's API that the rtonnx examples (the .c files in examples/), the
 * library's RT-Thread glue (rust/platform/rtthread.rs, feature `rtthread`) and its C glue
 * (port/rtonnx_port.c) use. Written from RT-Thread 5.x's documented signatures (rtdef.h /
 * rttypes.h, rtthread.h, finsh.h); implemented in rtthread_host.c, with the shell's main in
 * msh.c.
 *
 * Host behaviour: threads are pthreads; a tick is 1/RT_TICK_PER_SECOND s of CLOCK_MONOTONIC;
 * the heap is a budget of RT_HOST_HEAP_SIZE bytes (environment variable, default 131072)
 * kept on top of the C library's malloc, with RT-Thread's used / max-used accounting, and a
 * thread's stack is charged to it as rt_thread_create does on the device; rt_kprintf cuts
 * lines at RT_CONSOLEBUF_SIZE and stops the program on conversions RT-Thread's rt_kprintf
 * does not have (%f and the other floating-point ones, %ll, %z, ...); file I/O is the host C
 * library's POSIX API, which is what DFS_USING_POSIX gives code on the device. */
#ifndef __RT_THREAD_H__
#define __RT_THREAD_H__

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "rtconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Basic types (rttypes.h). */
typedef int8_t rt_int8_t;
typedef int16_t rt_int16_t;
typedef int32_t rt_int32_t;
typedef int64_t rt_int64_t;
typedef uint8_t rt_uint8_t;
typedef uint16_t rt_uint16_t;
typedef uint32_t rt_uint32_t;
typedef uint64_t rt_uint64_t;
typedef int rt_bool_t;
typedef signed long rt_base_t;
typedef unsigned long rt_ubase_t;
typedef rt_base_t rt_err_t;
typedef rt_uint32_t rt_time_t;
typedef rt_uint32_t rt_tick_t;
typedef rt_base_t rt_flag_t;
typedef rt_ubase_t rt_size_t;
typedef rt_base_t rt_ssize_t;
typedef rt_base_t rt_off_t;

#define RT_TRUE 1
#define RT_FALSE 0
#define RT_NULL 0

/* Error codes (returned negated by most functions). */
#define RT_EOK 0
#define RT_ERROR 1
#define RT_ETIMEOUT 2
#define RT_EFULL 3
#define RT_EEMPTY 4
#define RT_ENOMEM 5
#define RT_ENOSYS 6
#define RT_EBUSY 7
#define RT_EIO 8
#define RT_EINTR 9
#define RT_EINVAL 10

#define RT_WAITING_FOREVER -1

/* Kernel objects: only threads exist here. As in rtdef.h, the control block is public, with
 * the stack bounds port/rtonnx_port.c reads (here the host thread's real stack, set when the
 * thread starts; the configured size is only charged to the heap budget). */
struct rt_thread {
    void *stack_addr;
    rt_uint32_t stack_size;
    char name[RT_NAME_MAX];
    void (*entry)(void *);
    void *parameter;
    rt_uint32_t charged; /* the stack size given to rt_thread_create */
    pthread_t id;
    int started;
    int deleted; /* ended through rt_thread_delete/detach (e.g. by the Rust panic handler) */
};
typedef struct rt_thread *rt_thread_t;
typedef void *rt_object_t;

/* Console. */
int rt_kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Heap. */
void *rt_malloc(rt_size_t size);
void *rt_realloc(void *ptr, rt_size_t newsize);
void *rt_calloc(rt_size_t count, rt_size_t size);
void rt_free(void *ptr);
void *rt_malloc_align(rt_size_t size, rt_size_t align);
void rt_free_align(void *ptr);
void rt_memory_info(rt_size_t *total, rt_size_t *used, rt_size_t *max_used);

/* Threads and scheduling. */
rt_thread_t rt_thread_create(const char *name, void (*entry)(void *parameter), void *parameter,
                             rt_uint32_t stack_size, rt_uint8_t priority, rt_uint32_t tick);
rt_err_t rt_thread_startup(rt_thread_t thread);
rt_err_t rt_thread_delete(rt_thread_t thread);
rt_err_t rt_thread_detach(rt_thread_t thread);
rt_thread_t rt_thread_self(void);
rt_err_t rt_thread_suspend(rt_thread_t thread);
rt_err_t rt_thread_mdelay(rt_int32_t ms);
rt_err_t rt_thread_delay(rt_tick_t tick);
void rt_schedule(void);
rt_bool_t rt_object_is_systemobject(rt_object_t object);
rt_uint8_t rt_interrupt_get_nest(void);

/* Clock. */
rt_tick_t rt_tick_get(void);
rt_tick_t rt_tick_from_millisecond(rt_int32_t ms);

/* errno of the calling thread (DFS stores negative errno values). */
rt_err_t rt_get_errno(void);
void rt_set_errno(rt_err_t no);

/* finsh/msh commands: MSH_CMD_EXPORT puts a descriptor into the FSymTab section, as finsh
 * does; msh.c walks that table. `desc` is unquoted text, stringified. */
typedef long (*syscall_func)(void);
struct finsh_syscall {
    const char *name;
    const char *desc;
    syscall_func func;
};
#define MSH_FUNCTION_EXPORT_CMD(name, cmd, desc)                                                 \
    static const char __fsym_##cmd##_name[] = #cmd;                                              \
    static const char __fsym_##cmd##_desc[] = #desc;                                             \
    __attribute__((used, section("FSymTab"), aligned(sizeof(void *))))                           \
    static const struct finsh_syscall __fsym_##cmd = {__fsym_##cmd##_name, __fsym_##cmd##_desc, \
                                                      (syscall_func)(void (*)(void))(name)}
#define MSH_CMD_EXPORT(command, desc) MSH_FUNCTION_EXPORT_CMD(command, command, desc)
#define MSH_CMD_EXPORT_ALIAS(command, alias, desc) MSH_FUNCTION_EXPORT_CMD(command, alias, desc)

#ifdef __cplusplus
}
#endif

#endif
