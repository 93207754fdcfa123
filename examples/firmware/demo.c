/*
 * demo.c: the newcomer demo firmware for QEMU's ast2500-evb board.
 *
 * A tiny "board" with a button on GPIO A0 (input) and an LED on GPIO A1
 * (output). It prints a short boot log on UART5 and then runs a shell:
 *
 *   help, uptime, led [on|off], button, echo <text>, blink <n>
 *
 * The LED follows the button: whenever A0 changes (on the host, e.g. QMP
 * `qom-set /machine/soc/gpio gpioA0 true`), the firmware says so and
 * sets A1 to match. `led on|off` and `blink` override the LED until the
 * button changes again.
 *
 * There are no interrupts: one loop polls the UART, the GPIO and the
 * clock (timer 1, free-running at 1 MHz), so QEMU keeps a host core busy.
 * ARMv6 has no divide instruction and we link no libgcc, so the code
 * avoids '/' and '%'.
 */
#include <stdint.h>

#define REG(addr)	(*(volatile uint32_t *)(addr))

/* UART5, a 16550 with a 4-byte register stride (QEMU sets it up). */
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
#define PIN_BUTTON	(1u << 0)		/* A0, input */
#define PIN_LED		(1u << 1)		/* A1, output */

/* Timer 1 counts down from RELOAD, here at the external 1 MHz clock. */
#define TMR_BASE	0x1E782000u
#define TMR1_COUNT	REG(TMR_BASE + 0x00)
#define TMR1_RELOAD	REG(TMR_BASE + 0x04)
#define TMR_CTRL	REG(TMR_BASE + 0x30)
#define TMR1_ENABLE	(1u << 0)
#define TMR1_EXT_1MHZ	(1u << 1)

#define LINE_MAX	80
#define BLINK_MAX	100
#define BLINK_MS	300

/* ---- clock: seconds + milliseconds since boot ------------------------ */

static uint32_t clk_last;	/* timer count at the last poll */
static uint32_t clk_us;		/* microseconds not yet counted, < 1000 */
static uint32_t clk_ms;		/* 0..999 */
static uint32_t clk_s;

static void clock_init(void)
{
	TMR1_RELOAD = 0xFFFFFFFFu;
	TMR_CTRL |= TMR1_ENABLE | TMR1_EXT_1MHZ;
	clk_last = TMR1_COUNT;
}

/* Fold the time since the last call into clk_s/clk_ms; call it often. */
static void clock_poll(void)
{
	uint32_t now = TMR1_COUNT;

	clk_us += clk_last - now;	/* counts down; wraps cleanly mod 2^32 */
	clk_last = now;
	while (clk_us >= 1000) {
		clk_us -= 1000;
		if (++clk_ms == 1000) {
			clk_ms = 0;
			clk_s++;
		}
	}
}

static uint32_t clock_ms(void)	/* milliseconds, wraps after 49 days */
{
	clock_poll();
	return clk_s * 1000u + clk_ms;
}

/* ---- UART output ------------------------------------------------------ */

static void putc_(char c)
{
	while (!(UART_LSR & LSR_THRE))
		;
	UART_THR = (uint8_t)c;
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

/* Decimal, at least `width` digits (zero-padded), without dividing. */
static void put_uint(uint32_t v, int width)
{
	static const uint32_t pow10[] = {
		1000000000u, 100000000u, 10000000u, 1000000u, 100000u,
		10000u, 1000u, 100u, 10u, 1u,
	};
	int started = 0;

	for (int i = 0; i < 10; i++) {
		char d = '0';
		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (d != '0' || started || 10 - i <= width) {
			putc_(d);
			started = 1;
		}
	}
}

/* ---- button and LED --------------------------------------------------- */

static unsigned button_seen;	/* last A0 level we reported */

static unsigned button_level(void)
{
	return (GPIO_DATA & PIN_BUTTON) ? 1 : 0;
}

static void led_set(unsigned on)
{
	if (on)
		GPIO_DATA |= PIN_LED;
	else
		GPIO_DATA &= ~PIN_LED;
}

static void led_say(unsigned on)
{
	puts_(on ? "LED on\r\n" : "LED off\r\n");
}

/* ---- small string helpers --------------------------------------------- */

static int equals(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Decimal number that makes up all of s, at most `max`; -1 if not. */
static int32_t parse_num(const char *s, int32_t max)
{
	int32_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* ---- commands --------------------------------------------------------- */

static void cmd_help(void)
{
	puts_("commands:\r\n"
	      "  help          this list\r\n"
	      "  uptime        time since boot\r\n"
	      "  led on|off    drive the LED (GPIO A1) until the button changes\r\n"
	      "  button        show the button (GPIO A0)\r\n"
	      "  echo <text>   print <text>\r\n"
	      "  blink <n>     toggle the LED n times (1..100, Ctrl-C stops)\r\n"
	      "the LED follows the button; press it from the host with\r\n"
	      "  qom-set /machine/soc/gpio gpioA0 true\r\n");
}

static void cmd_uptime(void)
{
	clock_poll();
	puts_("up ");
	put_uint(clk_s, 1);
	putc_('.');
	put_uint(clk_ms, 3);
	puts_(" s\r\n");
}

/* Toggle the LED n times, BLINK_MS apart; a Ctrl-C typed meanwhile stops. */
static void cmd_blink(uint32_t n)
{
	unsigned on = (GPIO_DATA & PIN_LED) ? 1 : 0;

	while (n--) {
		on = !on;
		led_set(on);
		led_say(on);
		if (!n)
			break;
		for (uint32_t t0 = clock_ms(); clock_ms() - t0 < BLINK_MS;) {
			if ((UART_LSR & LSR_DR) && (UART_RBR & 0xFF) == 0x03) {
				puts_("^C\r\n");
				return;
			}
		}
	}
}

/* Run one line: the first word is the command, `arg` the rest. */
static void run(char *line)
{
	char *arg = line;
	int32_t n;

	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = '\0';
	while (*arg == ' ')
		arg++;

	if (equals(line, "help")) {
		cmd_help();
	} else if (equals(line, "uptime")) {
		cmd_uptime();
	} else if (equals(line, "led") && (equals(arg, "on") || equals(arg, "off"))) {
		unsigned on = equals(arg, "on");
		led_set(on);
		led_say(on);
	} else if (equals(line, "led")) {
		puts_("usage: led on|off\r\n");
	} else if (equals(line, "button")) {
		puts_(button_level() ? "button: pressed (A0=1)\r\n"
				     : "button: released (A0=0)\r\n");
	} else if (equals(line, "echo")) {
		puts_(arg);
		puts_("\r\n");
	} else if (equals(line, "blink") && (n = parse_num(arg, BLINK_MAX)) > 0) {
		cmd_blink((uint32_t)n);
	} else if (equals(line, "blink")) {
		puts_("usage: blink <n>, n = 1..100\r\n");
	} else {
		puts_("unknown command: ");
		puts_(line);
		puts_("\r\n");
	}
}

/* ---- main loop: boot log, then the shell ------------------------------ */

static char line[LINE_MAX + 1];
static unsigned len;

static void prompt(void)
{
	puts_("demo> ");
	line[len] = '\0';
	puts_(line);		/* what was typed so far, after an interruption */
}

/* Report a button change and let the LED follow it. */
static void button_poll(void)
{
	unsigned b = button_level();

	if (b == button_seen)
		return;
	button_seen = b;
	led_set(b);
	puts_(b ? "\r\nbutton pressed\r\n" : "\r\nbutton released\r\n");
	led_say(b);
	prompt();
}

/* Handle one received byte: echo, line editing, and Enter. */
static void shell_byte(char c)
{
	static char prev;	/* to treat "\r\n" as one Enter */
	static int esc;		/* skipping an escape sequence (arrow keys) */

	if (esc) {
		if (c == '[' || c == 'O')
			esc = 2;
		else if (esc == 2 && (c < 0x40 || c > 0x7E))
			;	/* parameter bytes: keep skipping */
		else
			esc = 0;
	} else if (c == 0x1B) {
		esc = 1;
	} else if (c == '\r' || c == '\n') {
		if (!(c == '\n' && prev == '\r')) {
			puts_("\r\n");
			line[len] = '\0';
			if (len)
				run(line);
			len = 0;
			prompt();
		}
	} else if (c == 0x08 || c == 0x7F) {	/* Backspace / Delete */
		if (len) {
			len--;
			puts_("\b \b");
		}
	} else if (c == 0x03) {			/* Ctrl-C: drop the line */
		puts_("^C\r\n");
		len = 0;
		prompt();
	} else if (c >= ' ' && c < 0x7F && len < LINE_MAX) {
		line[len++] = c;
		putc_(c);
	}
	prev = c;
}

int main(void)
{
	GPIO_DIR = (GPIO_DIR | PIN_LED) & ~PIN_BUTTON;
	button_seen = button_level();
	led_set(button_seen);		/* the LED starts out following A0 */
	clock_init();

	puts_("\r\nemufs demo board (ast2500-evb)\r\n"
	      "[    0.000] cpu: ARM1176\r\n"
	      "[    0.001] uart5: 115200 8N1\r\n"
	      "[    0.002] gpio: button=A0 led=A1\r\n"
	      "[    0.003] timer1: 1 MHz\r\n"
	      "demo ready: type 'help'\r\n");
	prompt();

	for (;;) {
		clock_poll();
		button_poll();
		if (UART_LSR & LSR_DR)
			shell_byte((char)(UART_RBR & 0xFF));
	}
}
