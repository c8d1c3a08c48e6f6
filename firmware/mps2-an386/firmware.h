/* Shared declarations of the mps2-an386 test firmware. */
#ifndef FIRMWARE_H
#define FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

/* semihosting.c: the host's console and files through QEMU -semihosting. */
void sh_init(void);
void sh_write0(const char *text);
int sh_cmdline(char *buf, size_t size); /* QEMU -append text; length, or -1 */
__attribute__((noreturn)) void sh_exit(int code);

/* measure.c: heap, stack and instruction counting. */
struct heap_stats
{
    size_t live;     /* bytes requested and not yet freed */
    size_t peak;     /* highest `live` since heap_reset_peak() */
    size_t calls;    /* malloc/calloc/realloc calls since heap_reset_peak() */
    size_t sbrk_top; /* bytes the C library took from the heap area (high-water) */
};
void heap_stats(struct heap_stats *out);
void heap_reset_peak(void);

void stack_paint(void);              /* paints the free stack below the caller */
size_t stack_high_water(void);       /* deepest stack use in bytes since the last paint */
size_t stack_size(void);

void ticks_start(void);              /* SysTick on the core clock, counting down */
uint64_t ticks_now(void);            /* SysTick ticks since ticks_start() */
/* Instructions per SysTick tick under `-icount shift=0` (QEMU runs one instruction per ns
 * of virtual time and clocks SysTick at the board's 25 MHz: 40). */
#define INSNS_PER_TICK 40u

/* Markers for the icount TCG plugin (plugin/icount.c): it counts the instructions executed
 * from the first instruction of icount_begin() to the first of icount_end(). Never inlined. */
void icount_begin(void);
void icount_end(void);
/* A third marker: the plugin prints its running count at every call ("mark N"). */
void icount_mark(void);

#endif
