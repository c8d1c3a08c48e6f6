/*
 * Stand-in for RT-Thread's rtthread.h in the link probe of tools/cross_build.sh: the types and
 * the thread control block fields port/rtonnx_port.c uses, as rtdef.h declares them (32-bit
 * ports), so that the port is compiled as a BSP compiles it (-DRTONNX_RTTHREAD) and its stack
 * function links. Never run.
 */
#ifndef RTONNX_PROBE_RTTHREAD_H
#define RTONNX_PROBE_RTTHREAD_H

#include <stddef.h>

/* What rtconfig.h says in the probe's configuration: files on. */
#define RTONNX_USING_FILE 1

typedef unsigned char rt_uint8_t;
typedef unsigned int rt_uint32_t;
typedef int rt_bool_t;
typedef long rt_base_t;
typedef unsigned long rt_ubase_t;
typedef rt_base_t rt_err_t;
typedef rt_ubase_t rt_size_t;
#define RT_NULL 0

struct rt_thread {
    char name[8];
    void *sp;
    void *entry;
    void *parameter;
    void *stack_addr;
    rt_uint32_t stack_size;
};
typedef struct rt_thread *rt_thread_t;

rt_thread_t rt_thread_self(void);

#endif
