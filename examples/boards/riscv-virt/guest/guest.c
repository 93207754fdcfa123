/*
 * guest.c: the bare-metal guest of examples/boards/riscv-virt, for QEMU's
 * riscv64 "virt" machine. Debian 12 has no riscv64 kernel, so the board
 * runs this instead: a line shell on the NS16550A UART (serial0) that
 * behaves, for a script, like the Linux guests of the other boards:
 *
 *   EMUFS-GUEST-READY      a whole line at boot (for grep -m1)
 *   riscv>                 the prompt, no newline after it
 *   uname [-a]             "emufs-riscv-virt riscv64 bare-metal"
 *   echo TEXT              TEXT
 *   poweroff               QEMU ends with status 0 (emufs: "exited")
 *
 * Typed characters are echoed, as a terminal in cooked mode would.
 */
#include <stdint.h>

#define UART_BASE 0x10000000UL /* NS16550A */
#define UART_THR 0             /* transmit holding (write) */
#define UART_RBR 0             /* receive buffer (read) */
#define UART_LSR 5             /* line status */
#define LSR_DR 0x01            /* a byte is waiting */
#define LSR_THRE 0x20          /* room to transmit */
#define TEST_BASE 0x100000UL   /* sifive_test: ends QEMU */
#define TEST_PASS 0x5555       /* exit status 0 */

static volatile uint8_t *const uart = (volatile uint8_t *)UART_BASE;

static void putc_(char c)
{
	while (!(uart[UART_LSR] & LSR_THRE))
		;
	uart[UART_THR] = (uint8_t)c;
}

static void puts_(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_('\r');
		putc_(*s);
	}
}

static char getc_(void)
{
	while (!(uart[UART_LSR] & LSR_DR))
		;
	return (char)uart[UART_RBR];
}

/* is_cmd S P: S is the command P, alone or followed by a space */
static int is_cmd(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return *s == '\0' || *s == ' ';
}

static void run(const char *line)
{
	if (line[0] == '\0')
		return;
	if (is_cmd(line, "uname")) {
		puts_("emufs-riscv-virt riscv64 bare-metal\n");
	} else if (is_cmd(line, "echo")) {
		puts_(line[4] ? line + 5 : "");
		puts_("\n");
	} else if (is_cmd(line, "poweroff")) {
		puts_("power down\n");
		*(volatile uint32_t *)TEST_BASE = TEST_PASS;
	} else {
		puts_("unknown command: ");
		puts_(line);
		puts_(" (uname, echo, poweroff)\n");
	}
}

int main(void)
{
	char line[128];
	unsigned n;

	/* on a line of its own even after a reset that cut a line short */
	puts_("\nEMUFS-GUEST-READY\n");
	for (;;) {
		puts_("riscv> ");
		n = 0;
		for (;;) {
			char c = getc_();
			if (c == '\r' || c == '\n') {
				puts_("\n");
				break;
			}
			if ((c == '\b' || c == 0x7f) && n > 0) {
				n--;
				puts_("\b \b");
			} else if (c >= ' ' && n < sizeof(line) - 1) {
				line[n++] = c;
				putc_(c);
			}
		}
		line[n] = '\0';
		run(line);
	}
}
