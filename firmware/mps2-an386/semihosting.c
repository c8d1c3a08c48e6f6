/*
 * ARM semihosting (QEMU -semihosting) and the newlib system calls built on it: the console
 * (stdout, stderr), host files for open/read/fstat/lseek/close, exit codes, and the heap
 * (_sbrk, between the end of .bss and the stack).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "firmware.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0A
#define SYS_FLEN 0x0C
#define SYS_ERRNO 0x13
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

/* File descriptors: index = fd, value = semihosting handle (-1: closed). */
#define MAX_FILES 8
static int32_t handles[MAX_FILES];

static int32_t open_host(const char *name, uint32_t mode)
{
    uint32_t args[3] = {(uint32_t)name, mode, (uint32_t)strlen(name)};
    return semihost(SYS_OPEN, args);
}

void sh_init(void)
{
    for (int i = 0; i < MAX_FILES; i++)
    {
        handles[i] = -1;
    }
    handles[0] = open_host(":tt", 0); /* "r" */
    handles[1] = open_host(":tt", 4); /* "w" */
    handles[2] = open_host(":tt", 8); /* "a" */
}

void sh_write0(const char *text)
{
    semihost(SYS_WRITE0, text);
}

void sh_exit(int code)
{
    uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    semihost(SYS_EXIT_EXTENDED, args);
    /* Without the extended call: exit status 0 only for success. */
    semihost(SYS_EXIT, (const void *)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20023));
    for (;;)
    {
    }
}

int sh_cmdline(char *buf, size_t size)
{
    uint32_t args[2] = {(uint32_t)buf, (uint32_t)size};
    if (size == 0 || semihost(SYS_GET_CMDLINE, args) != 0)
    {
        return -1;
    }
    buf[args[1] < size ? args[1] : size - 1] = '\0';
    return (int)args[1];
}

static int32_t handle_of(int fd)
{
    return (fd >= 0 && fd < MAX_FILES) ? handles[fd] : -1;
}

int _open(const char *name, int flags, ...)
{
    int fd;
    int32_t h;
    uint32_t mode = 1; /* "rb" */

    if ((flags & 3) != 0)
    {
        errno = EACCES; /* the firmware only reads host files */
        return -1;
    }
    for (fd = 3; fd < MAX_FILES && handles[fd] != -1; fd++)
    {
    }
    if (fd == MAX_FILES)
    {
        errno = EMFILE;
        return -1;
    }
    h = open_host(name, mode);
    if (h == -1)
    {
        errno = semihost(SYS_ERRNO, NULL);
        return -1;
    }
    handles[fd] = h;
    return fd;
}

int _close(int fd)
{
    int32_t h = handle_of(fd);
    if (h == -1 || fd < 3)
    {
        errno = EBADF;
        return -1;
    }
    handles[fd] = -1;
    return semihost(SYS_CLOSE, &h) == 0 ? 0 : -1;
}

int _read(int fd, void *buf, size_t len)
{
    int32_t h = handle_of(fd);
    uint32_t args[3] = {(uint32_t)h, (uint32_t)buf, (uint32_t)len};
    int32_t left;

    if (h == -1)
    {
        errno = EBADF;
        return -1;
    }
    left = semihost(SYS_READ, args); /* bytes NOT read */
    if (left < 0 || (uint32_t)left > len)
    {
        errno = EIO;
        return -1;
    }
    return (int)(len - (uint32_t)left);
}

int _write(int fd, const void *buf, size_t len)
{
    int32_t h = handle_of(fd);
    uint32_t args[3] = {(uint32_t)h, (uint32_t)buf, (uint32_t)len};

    if (h == -1)
    {
        errno = EBADF;
        return -1;
    }
    return (int)(len - (uint32_t)semihost(SYS_WRITE, args));
}

int _fstat(int fd, struct stat *st)
{
    int32_t h = handle_of(fd);
    int32_t len;

    memset(st, 0, sizeof(*st));
    if (h == -1)
    {
        errno = EBADF;
        return -1;
    }
    if (fd < 3)
    {
        st->st_mode = S_IFCHR;
        return 0;
    }
    len = semihost(SYS_FLEN, &h);
    if (len < 0)
    {
        errno = EIO;
        return -1;
    }
    st->st_mode = S_IFREG;
    st->st_size = len;
    return 0;
}

off_t _lseek(int fd, off_t pos, int whence)
{
    int32_t h = handle_of(fd);
    uint32_t args[2] = {(uint32_t)h, (uint32_t)pos};

    if (h == -1 || fd < 3 || whence != SEEK_SET)
    {
        errno = (h == -1) ? EBADF : EINVAL;
        return -1;
    }
    return semihost(SYS_SEEK, args) == 0 ? pos : -1;
}

int _isatty(int fd)
{
    return fd >= 0 && fd < 3;
}

void _exit(int code)
{
    sh_exit(code);
}

int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}

/* The heap: from the end of .bss up to the bottom of the stack (see the linker script). */
extern char __heap_start__[], __heap_end__[];
static char *heap_top = __heap_start__;
size_t sbrk_high_water;

void *_sbrk(ptrdiff_t incr)
{
    char *old = heap_top;
    if (incr < 0 || incr > __heap_end__ - heap_top)
    {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_top += incr;
    if ((size_t)(heap_top - __heap_start__) > sbrk_high_water)
    {
        sbrk_high_water = (size_t)(heap_top - __heap_start__);
    }
    return old;
}
