/*
 * lm3s-start.c: vector table and reset handler for the lm3s6965evb
 * firmware. The Cortex-M3 loads SP from word 0 and jumps to word 1, so C
 * runs at once; we only copy .data and zero .bss. The loops go through
 * volatile pointers so the compiler cannot turn them into memcpy/memset
 * calls, which this freestanding build does not have.
 */
#include <stdint.h>

extern uint32_t __stack_top[], __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[];
int main(void);

void reset_handler(void)
{
	volatile uint32_t *src = __data_load, *dst = __data_start;

	while (dst < __data_end)
		*dst++ = *src++;
	for (dst = __bss_start; dst < __bss_end; )
		*dst++ = 0;
	main();
	for (;;)
		;
}

/* Any fault stops here; there is nothing sensible to recover. */
static void fault_handler(void)
{
	for (;;)
		;
}

__attribute__((section(".vectors"), used))
static void (*const vectors[])(void) = {
	(void (*)(void))__stack_top,
	reset_handler,
	fault_handler,		/* NMI */
	fault_handler,		/* HardFault */
	fault_handler,		/* MemManage */
	fault_handler,		/* BusFault */
	fault_handler,		/* UsageFault */
};
