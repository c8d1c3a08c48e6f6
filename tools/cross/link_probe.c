/*
 * Link probe for tools/cross_build.sh: links librtonnx.a (feature rtthread) into a minimal
 * bare-metal program so that the linker proves every symbol the library needs is one that an
 * RT-Thread kernel provides, and so that the library's share of a firmware can be measured
 * after --gc-sections (the script keeps every exported rtonnx symbol with -u).
 *
 * The rt_* functions below are stand-ins built on newlib, only so that the link resolves;
 * their code is not counted in the reported library size. They are never run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>

#include "rtthread.h"

void *rt_malloc(size_t size) { return malloc(size); }
void *rt_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
void rt_free(void *ptr) { free(ptr); }

void *rt_malloc_align(size_t size, size_t align)
{
    return memalign(align, size);
}

void rt_free_align(void *ptr) { free(ptr); }

int rt_kprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

static struct rt_thread probe_thread;
rt_thread_t rt_thread_self(void) { return &probe_thread; }
long rt_thread_delete(void *thread) { (void)thread; exit(1); }
long rt_thread_detach(void *thread) { (void)thread; exit(1); }
long rt_thread_suspend(void *thread) { (void)thread; exit(1); }
int rt_object_is_systemobject(void *object) { return object == &probe_thread; }
unsigned char rt_interrupt_get_nest(void) { return 0; }
void rt_schedule(void) { }
long rt_get_errno(void) { return 0; }

#ifdef PROBE_WITH_RUST_NEIGHBOUR
unsigned rust_neighbour_sum(unsigned n);
int main(void) { return (int)rust_neighbour_sum(4); }
#else
int main(void) { return 0; }
#endif
