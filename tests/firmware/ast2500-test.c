/*
 * ast2500-test.c: test firmware for QEMU's ast2500-evb board.
 *
 * The behaviour is a contract the emufs integration tests rely on; it is
 * written down in README.md. In short: a banner on UART5, pin A1 mirrors
 * pin A0 ("LED <0|1>" on every change), every received byte is echoed,
 * and complete lines are commands (ping, burst N, reset).
 *
 * There are no interrupts: one loop polls the GPIO and the UART in turn,
 * and waiting for the transmitter keeps mirroring the pin, so neither
 * side starves the other, not even during a long burst.
 */
#include <stdint.h>

#define REG(addr)	(*(volatile uint32_t *)(addr))

/* UART5, a 16550 with a 4-byte register stride. */
#define UART_BASE	0x1E784000u
#define UART_RBR	REG(UART_BASE + 0x00)	/* read: receive buffer */
#define UART_THR	REG(UART_BASE + 0x00)	/* write: transmit holding */
#define UART_LSR	REG(UART_BASE + 0x14)
#define LSR_DR		(1u << 0)		/* a byte is waiting */
#define LSR_THRE	(1u << 5)		/* THR can take a byte */

/* GPIO ports A-D share one data and one direction register. */
#define GPIO_BASE	0x1E780000u
#define GPIO_DATA	REG(GPIO_BASE + 0x000)
#define GPIO_DIR	REG(GPIO_BASE + 0x004)	/* 1 = output */
#define PIN_A0		(1u << 0)		/* input: "button" */
#define PIN_A1		(1u << 1)		/* output: "led" */

/* Watchdog 1: used by "reset"; QEMU resets (or exits with -no-reboot). */
#define WDT_BASE	0x1E785000u
#define WDT_RELOAD	REG(WDT_BASE + 0x04)
#define WDT_RESTART	REG(WDT_BASE + 0x08)
#define WDT_CTRL	REG(WDT_BASE + 0x0C)
#define WDT_MAGIC	0x4755u
#define WDT_ENABLE	(1u << 0)
#define WDT_RESET_SYS	(1u << 1)
#define WDT_1MHZ	(1u << 4)

#define LINE_MAX	128

static unsigned led;		/* level driven on A1 */
static unsigned led_reported;	/* level last announced with "LED n" */

/* Copy A0 to A1. Silent, so it can run inside any wait loop. */
static void gpio_mirror(void)
{
	unsigned a0 = (GPIO_DATA & PIN_A0) ? 1 : 0;

	if (a0 == led)
		return;
	led = a0;
	if (led)
		GPIO_DATA |= PIN_A1;
	else
		GPIO_DATA &= ~PIN_A1;
}

static void uart_putc(char c)
{
	while (!(UART_LSR & LSR_THRE))
		gpio_mirror();
	UART_THR = (uint8_t)c;
}

static void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

/* Announce the level on A1 if it changed since the last announcement. */
static void gpio_report(void)
{
	while (led != led_reported) {
		led_reported = led;
		uart_puts(led_reported ? "LED 1\r\n" : "LED 0\r\n");
	}
}

/*
 * The burst pattern: line k (from 0) is k as 8 zero-padded decimal digits,
 * then BURST_TAIL; every line is 64 bytes. The line number is kept as
 * ASCII digits because ARMv6 has no divide instruction (and we no libgcc).
 */
static const char BURST_TAIL[] =
	" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01\n";

static void burst(uint32_t n)
{
	char digits[8] = { '0', '0', '0', '0', '0', '0', '0', '0' };
	uint32_t col = 0;

	while (n--) {
		uart_putc(col < 8 ? digits[col] : BURST_TAIL[col - 8]);
		if (++col < 64)
			continue;
		col = 0;
		for (int i = 7; i >= 0 && ++digits[i] > '9'; i--)
			digits[i] = '0';
	}
	uart_puts("\r\nBURST DONE\r\n");
}

static void wdt_reset(void)
{
	WDT_RELOAD = 1000;		/* 1 ms at 1 MHz */
	WDT_RESTART = WDT_MAGIC;
	WDT_CTRL = WDT_ENABLE | WDT_RESET_SYS | WDT_1MHZ;
	for (;;)
		gpio_mirror();
}

/* Parse a decimal uint32_t that makes up all of s; 0 on failure. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		uint32_t d = (uint32_t)(*s - '0');
		if (v > (0xFFFFFFFFu - d) / 10u)
			return 0;
		v = v * 10u + d;
	}
	*out = v;
	return 1;
}

static int starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

static int equals(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void run_command(const char *line)
{
	uint32_t n;

	if (equals(line, "ping")) {
		uart_puts("pong\r\n");
	} else if (starts_with(line, "burst ") && parse_u32(line + 6, &n)) {
		burst(n);
	} else if (equals(line, "reset")) {
		uart_puts("RESET\r\n");
		wdt_reset();
	} else {
		uart_puts("? ");
		uart_puts(line);
		uart_puts("\r\n");
	}
}

int main(void)
{
	char line[LINE_MAX + 1];
	unsigned len = 0;

	GPIO_DATA &= ~PIN_A1;
	GPIO_DIR = (GPIO_DIR | PIN_A1) & ~PIN_A0;
	uart_puts("emufs-test-firmware ready\r\n");

	for (;;) {
		gpio_mirror();
		gpio_report();
		if (!(UART_LSR & LSR_DR))
			continue;

		char c = (char)UART_RBR;
		uart_putc(c);
		if (c == '\r' || c == '\n') {
			line[len] = '\0';
			if (len)
				run_command(line);
			len = 0;
		} else if (len < LINE_MAX) {
			line[len++] = c;	/* longer lines are truncated */
		}
	}
}
