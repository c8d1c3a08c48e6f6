/*
 * Measurements of the test firmware:
 * - heap: malloc/calloc/realloc/free are wrapped (-Wl,--wrap=...) to count the bytes the
 *   program requests (live and peak), as the original package's figures were measured; the C
 *   library's own heap use (stdio buffers) goes through _malloc_r and is not counted, the
 *   _sbrk high-water covers everything;
 * - stack: the free stack is painted with a pattern, the deepest overwritten word gives the
 *   high-water;
 * - time: SysTick on the core clock, which under QEMU -icount shift=0 advances one tick per
 *   40 instructions; exact counts come from the icount plugin and the markers below.
 */
#include <stdint.h>
#include <string.h>

#include "firmware.h"

void *__real_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);

/* Each block carries its requested size in an 8-byte header (keeps 8-byte alignment). */
#define HEADER 8u

static size_t heap_live, heap_peak, heap_calls;
extern size_t sbrk_high_water;

static void count_alloc(size_t size)
{
    heap_live += size;
    heap_calls++;
    if (heap_live > heap_peak)
    {
        heap_peak = heap_live;
    }
}

void *__wrap_malloc(size_t size)
{
    char *p;
    if (size > SIZE_MAX - HEADER)
    {
        return NULL;
    }
    p = __real_malloc(size + HEADER);
    if (p == NULL)
    {
        return NULL;
    }
    memcpy(p, &size, sizeof(size));
    count_alloc(size);
    return p + HEADER;
}

void __wrap_free(void *ptr)
{
    size_t size;
    char *p = ptr;
    if (p == NULL)
    {
        return;
    }
    p -= HEADER;
    memcpy(&size, p, sizeof(size));
    heap_live -= size;
    __real_free(p);
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p;
    if (size != 0 && n > SIZE_MAX / size)
    {
        return NULL;
    }
    p = __wrap_malloc(n * size);
    if (p != NULL)
    {
        memset(p, 0, n * size);
    }
    return p;
}

void *__wrap_realloc(void *ptr, size_t size)
{
    size_t old;
    char *p;
    if (ptr == NULL)
    {
        return __wrap_malloc(size);
    }
    if (size > SIZE_MAX - HEADER)
    {
        return NULL;
    }
    p = (char *)ptr - HEADER;
    memcpy(&old, p, sizeof(old));
    p = __real_realloc(p, size + HEADER);
    if (p == NULL)
    {
        return NULL;
    }
    memcpy(p, &size, sizeof(size));
    heap_live -= old;
    count_alloc(size);
    return p + HEADER;
}

void heap_stats(struct heap_stats *out)
{
    out->live = heap_live;
    out->peak = heap_peak;
    out->calls = heap_calls;
    out->sbrk_top = sbrk_high_water;
}

void heap_reset_peak(void)
{
    heap_peak = heap_live;
    heap_calls = 0;
}

/* Stack painting. */
#define PAINT 0xC5A1C5A1u
extern uint32_t __stack_limit__[], __stack_top__[];

__attribute__((noinline)) void stack_paint(void)
{
    uint32_t marker;
    /* Leave 64 bytes under this frame alone (the call itself uses them). */
    uint32_t *end = (uint32_t *)((uintptr_t)&marker & ~(uintptr_t)3) - 16;
    for (uint32_t *p = __stack_limit__; p < end; p++)
    {
        *p = PAINT;
    }
}

size_t stack_high_water(void)
{
    const uint32_t *p = __stack_limit__;
    while (p < __stack_top__ && *p == PAINT)
    {
        p++;
    }
    return (size_t)((uintptr_t)__stack_top__ - (uintptr_t)p);
}

size_t stack_size(void)
{
    return (size_t)((uintptr_t)__stack_top__ - (uintptr_t)__stack_limit__);
}

/* SysTick: 24-bit down-counter on the core clock; the interrupt counts wraps. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

void ticks_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    systick_wraps = 0;
    SYST_CSR = 7u; /* enable, interrupt on wrap, core clock */
}

uint64_t ticks_now(void)
{
    uint32_t wraps, cvr;
    do
    {
        wraps = systick_wraps;
        cvr = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * 0x01000000u + (0x00FFFFFFu - cvr);
}

/* Plugin markers: distinct, never inlined, with a side effect so they are not merged. */
volatile uint32_t icount_marks;

__attribute__((noinline)) void icount_begin(void)
{
    icount_marks++;
}

__attribute__((noinline)) void icount_end(void)
{
    icount_marks++;
}

__attribute__((noinline)) void icount_mark(void)
{
    icount_marks += 2;
}
