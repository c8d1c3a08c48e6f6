/*
 * rtonnx C glue for device builds (RT-Thread or bare metal with newlib).
 *
 * The Rust library (features `rtthread`/`baremetal` with `fs`) reads model files through the
 * C library's open/read/close and asks this file for the size: `struct stat` differs between
 * C libraries (newlib, musl, picolibc) and configurations, and only the C compiler knows its
 * real layout.
 *
 * When compiled inside an RT-Thread BSP (the package SConscript defines RTONNX_RTTHREAD), it
 * also tells the library how much stack the calling thread has left, and checks at compile time that the hand-written Rust declarations of the RT-Thread API in
 * rust/platform/rtthread.rs match this BSP's rtthread.h: a mismatch stops the build here
 * instead of miscompiling calls.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef RTONNX_RTTHREAD
#include <rtthread.h>

/* rust/platform/rtthread.rs uses usize for rt_size_t, isize for rt_base_t/rt_err_t, c_int for
 * rt_bool_t and c_uchar for rt_uint8_t. */
_Static_assert(sizeof(rt_size_t) == sizeof(void *), "rt_size_t must be pointer-sized (usize)");
_Static_assert((rt_size_t)-1 > 0, "rt_size_t must be unsigned");
_Static_assert(sizeof(rt_base_t) == sizeof(void *), "rt_base_t must be pointer-sized (isize)");
_Static_assert(sizeof(rt_err_t) == sizeof(void *), "rt_err_t must be pointer-sized (isize)");
_Static_assert((rt_err_t)-1 < 0, "rt_err_t must be signed");
_Static_assert(sizeof(rt_bool_t) == sizeof(int), "rt_bool_t must be int");
_Static_assert(sizeof(rt_uint8_t) == 1, "rt_uint8_t must be one byte");
#endif

/* The file functions: always on bare metal, with "Load models from the file system" on
 * RT-Thread (a BSP without DFS may have no fstat to link). */
#if !defined(RTONNX_RTTHREAD) || defined(RTONNX_USING_FILE)
#define RTONNX_PORT_FILES 1
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>

/* rust/platform/posix.rs declares read(int, void *, usize) -> isize and uses O_RDONLY == 0. */
_Static_assert(sizeof(size_t) == sizeof(void *), "size_t must be pointer-sized (usize)");
_Static_assert(sizeof(ssize_t) == sizeof(void *), "ssize_t must be pointer-sized (isize)");
_Static_assert(sizeof(int) == 4, "int must be 32-bit (c_int)");
_Static_assert(O_RDONLY == 0, "O_RDONLY must be 0");

/* Size of the open file `fd` through fstat: 0 and *size on success, -1 on failure (fstat
 * failed, negative size, or a size that does not fit in size_t). */
int rtonnx_port_file_size(int fd, size_t *size)
{
    struct stat st;

    if (size == NULL || fstat(fd, &st) != 0 || st.st_size < 0)
    {
        return -1;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX)
    {
        return -1;
    }
    *size = (size_t)st.st_size;
    return 0;
}
#endif

#ifdef RTONNX_RTTHREAD
/* Bytes of stack the calling thread has left below the current stack pointer (above it where
 * the stack grows upward): 0 and *free_bytes, or -1 when unknown (no thread yet, or the call
 * runs on another stack, e.g. an interrupt's). The Rust library refuses a load or an
 * inference that would need more (ONNX_ERR_STACK_TOO_SMALL) instead of overflowing the
 * stack into the heap. */
int rtonnx_port_stack_free(size_t *free_bytes)
{
    rt_thread_t self = rt_thread_self();
    volatile char probe = 0;
    uintptr_t sp = (uintptr_t)&probe;
    uintptr_t low, high;

    if (free_bytes == NULL || self == RT_NULL || self->stack_addr == RT_NULL)
    {
        return -1;
    }
    low = (uintptr_t)self->stack_addr;
    high = low + (uintptr_t)self->stack_size;
    if (sp < low || sp >= high)
    {
        return -1;
    }
#ifdef ARCH_CPU_STACK_GROWS_UPWARD
    *free_bytes = (size_t)(high - sp);
#else
    *free_bytes = (size_t)(sp - low);
#endif
    return 0;
}
#endif

#if !defined(RTONNX_RTTHREAD) && defined(RTONNX_PORT_FILES)
/* The C library's errno for the bare-metal glue (RT-Thread builds call rt_get_errno). */
int rtonnx_port_errno(void)
{
    return errno;
}
#endif
