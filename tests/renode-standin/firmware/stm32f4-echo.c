/* stm32f4-echo.c - test firmware for emufs's Renode tests on REAL Renode
 * (stm32f4_discovery-kit.repl). The stand-in (../renode) does not run it;
 * it behaves the same way by itself (../standin_machine.py).
 *
 * Prints "emufs-renode-fw ready\r\n" on USART2, then forever: echoes every
 * byte USART2 receives and copies the user button's input (PA0) to the
 * user LED (PD12). No interrupts, no libc, no data section.
 */
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))

#define RCC_AHB1ENR REG(0x40023830)
#define RCC_APB1ENR REG(0x40023840)
#define GPIOA_IDR   REG(0x40020010)
#define GPIOD_MODER REG(0x40020C00)
#define GPIOD_BSRR  REG(0x40020C18)
#define USART2_SR   REG(0x40004400)
#define USART2_DR   REG(0x40004404)
#define USART2_BRR  REG(0x40004408)
#define USART2_CR1  REG(0x4000440C)

#define SR_RXNE (1u << 5)
#define SR_TXE  (1u << 7)

extern uint32_t __stack_top;
void reset_handler(void);

__attribute__((section(".vectors"), used))
static const void *const vectors[16] = {
	&__stack_top, reset_handler,
};

static void put(char c)
{
	while (!(USART2_SR & SR_TXE))
		;
	USART2_DR = (uint8_t)c;
}

__attribute__((noreturn)) void reset_handler(void)
{
	static const char banner[] = "emufs-renode-fw ready\r\n";

	RCC_AHB1ENR |= (1u << 0) | (1u << 3);     /* GPIOA, GPIOD */
	RCC_APB1ENR |= 1u << 17;                  /* USART2 */
	GPIOD_MODER = (GPIOD_MODER & ~(3u << 24)) | (1u << 24); /* PD12 out */
	USART2_BRR = 0x8b;                        /* 115200 at 16 MHz */
	USART2_CR1 = (1u << 13) | (1u << 3) | (1u << 2);  /* UE TE RE */
	for (const char *p = banner; *p; p++)
		put(*p);
	int led = -1;
	for (;;) {
		if (USART2_SR & SR_RXNE)
			put((char)USART2_DR);
		int button = GPIOA_IDR & 1u;
		if (button != led) {
			GPIOD_BSRR = button ? 1u << 12 : 1u << (12 + 16);
			led = button;
		}
	}
}
