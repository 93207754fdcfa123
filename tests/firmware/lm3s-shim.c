/*
 * lm3s-shim.c: test firmware for the emufs GPIO "shim" line protocol on
 * QEMU's lm3s6965evb board.
 *
 * UART0 is a console; UART1 carries the shim protocol. The firmware has
 * 8 virtual pins: 0-3 are inputs the host drives with "SET <p> <v>\n",
 * 4-7 are outputs, and output p+4 always mirrors input p. Each output
 * change is sent as "GPIO <p+4> <v>\n" on UART1 and shown as
 * "PIN <p+4> <v>\r\n" on UART0. The full contract is in README.md.
 */
#include <stdint.h>

#define REG(addr)	(*(volatile uint32_t *)(addr))

/* PL011 UARTs; QEMU needs no set-up before use. */
#define UART0		0x4000C000u
#define UART1		0x4000D000u
#define UART_DR(u)	REG((u) + 0x00)
#define UART_FR(u)	REG((u) + 0x18)
#define FR_RXFE		(1u << 4)	/* receive FIFO empty */
#define FR_TXFF		(1u << 5)	/* transmit FIFO full */

#define LINE_MAX	80

struct line {
	char buf[LINE_MAX + 1];
	unsigned len;
};

static struct line console, shim;
static unsigned outputs;	/* bit p: level of output pin p + 4 */

static void uart_putc(uint32_t uart, char c)
{
	while (UART_FR(uart) & FR_TXFF)
		;
	UART_DR(uart) = (uint8_t)c;
}

static void uart_puts(uint32_t uart, const char *s)
{
	while (*s)
		uart_putc(uart, *s++);
}

/* Add c to l; returns 1 when it ended a non-empty line (now in l->buf). */
static int line_feed(struct line *l, char c)
{
	if (c == '\r' || c == '\n') {
		l->buf[l->len] = '\0';
		int done = l->len > 0;
		l->len = 0;
		return done;
	}
	if (l->len < LINE_MAX)
		l->buf[l->len++] = c;	/* longer lines are truncated */
	return 0;
}

static int equals(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Announce output pin (4..7) at level v on both UARTs. */
static void output_report(unsigned pin, unsigned v)
{
	char msg[] = "GPIO p v\n";
	char con[] = "PIN p v\r\n";

	msg[5] = (char)('0' + pin);
	msg[7] = (char)('0' + v);
	con[4] = msg[5];
	con[6] = msg[7];
	uart_puts(UART1, msg);
	uart_puts(UART0, con);
}

/* Input p changed to v: the mirrored output p + 4 follows. */
static void input_set(unsigned p, unsigned v)
{
	if (((outputs >> p) & 1u) == v)
		return;
	outputs ^= 1u << p;
	output_report(p + 4, v);
}

/* "SET <0-3> <0|1>", exactly; anything else is shown on the console. */
static void shim_command(const char *s)
{
	if (s[0] == 'S' && s[1] == 'E' && s[2] == 'T' && s[3] == ' ' &&
	    s[4] >= '0' && s[4] <= '3' && s[5] == ' ' &&
	    (s[6] == '0' || s[6] == '1') && s[7] == '\0') {
		input_set((unsigned)(s[4] - '0'), (unsigned)(s[6] - '0'));
		return;
	}
	uart_puts(UART0, "? shim ");
	uart_puts(UART0, s);
	uart_puts(UART0, "\r\n");
}

static void console_command(const char *s)
{
	if (equals(s, "ping")) {
		uart_puts(UART0, "pong\r\n");
	} else if (equals(s, "garbage")) {
		/* Two malformed shim lines: the host must ignore them. */
		uart_puts(UART1, "GPIO x y\n");
		uart_puts(UART1, "XYZ\n");
		uart_puts(UART0, "GARBAGE SENT\r\n");
	} else {
		uart_puts(UART0, "? ");
		uart_puts(UART0, s);
		uart_puts(UART0, "\r\n");
	}
}

int main(void)
{
	uart_puts(UART0, "emufs-shim-firmware ready\r\n");
	for (unsigned pin = 4; pin < 8; pin++) {
		char msg[] = "GPIO p 0\n";
		msg[5] = (char)('0' + pin);
		uart_puts(UART1, msg);
	}

	for (;;) {
		if (!(UART_FR(UART0) & FR_RXFE)) {
			char c = (char)UART_DR(UART0);
			uart_putc(UART0, c);
			if (line_feed(&console, c))
				console_command(console.buf);
		}
		if (!(UART_FR(UART1) & FR_RXFE)) {
			char c = (char)UART_DR(UART1);
			if (line_feed(&shim, c))
				shim_command(shim.buf);
		}
	}
}
