/*
 * Startup code for the mps2-an386 test firmware: vector table, reset handler (FPU on, .data
 * copied, .bss zeroed, stack painted), fault handlers that report and stop the simulator.
 */
#include <stdint.h>
#include <string.h>

#include "firmware.h"

extern uint32_t __etext, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);

static void fault(const char *what)
{
    sh_write0("firmware: ");
    sh_write0(what);
    sh_write0(" fault, stopping\n");
    sh_exit(3);
}

static void NMI_Handler(void) { fault("NMI"); }
static void HardFault_Handler(void) { fault("HardFault"); }
static void MemManage_Handler(void) { fault("MemManage"); }
static void BusFault_Handler(void) { fault("BusFault"); }
static void UsageFault_Handler(void) { fault("UsageFault"); }
static void Unexpected_Handler(void) { fault("unexpected exception"); }

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + 32] = {
    [0] = (vector_t)&__stack_top__,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7 ... 14] = Unexpected_Handler,
    [15] = SysTick_Handler,
    [16 ... 47] = Unexpected_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
    /* Full access to CP10/CP11 (the FPU) before any floating-point instruction. */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
    /* Trap divide by zero and unaligned accesses that the code should never make. */
    volatile uint32_t *ccr = (volatile uint32_t *)0xE000ED14u;
    *ccr |= 1u << 4;

    uint32_t *src = &__etext;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;)
    {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;)
    {
        *dst++ = 0;
    }
    stack_paint();
    sh_init();
    sh_exit(main());
}
