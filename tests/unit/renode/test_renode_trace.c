/* test_renode_trace.c - which lines of Renode's log file are
 * LogPeripheralAccess's (renode_trace_line): the lines as Renode's
 * Read/WriteLoggingWrapper and FileBackend write them (and as Renode's
 * own tests and users' logs show them), against the rest of its log. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "renode/renode_trace.h"

static bool is_trace(const char *s)
{
	return renode_trace_line(s, strlen(s));
}

static void test_access_lines_are_trace(void **st)
{
	assert_true(is_trace("[15:02:11.0921] [INFO] usart2: [cpu: 0x8000124] "
			     "WriteUInt32 to 0x4 (Data), value 0x65"));
	assert_true(is_trace("[15:02:11.0921] [INFO] gpioPortD: ReadUInt32 "
			     "from 0x0 (Mode), returned 0x0"));
	/* no register enum; several machines; the other widths; a repeat */
	assert_true(is_trace("[10:00:00.0000] [INFO] machine-0/uart: "
			     "WriteByte to 0x1F (unknown), value 0xA"));
	assert_true(is_trace("[10:00:00.0000] [INFO] sdram.ctrl: ReadUInt64 "
			     "from 0x10 (Status+0x4), returned 0xFFFF (3)"));
	/* other timestamp types (log-timestamps-type), or none */
	assert_true(is_trace("[host: 10:00:00.0000 | virt: 00:00:01.000] "
			     "[INFO] usart2: ReadUInt16 from 0x8 (BaudRate), "
			     "returned 0x8B"));
	assert_true(is_trace("[INFO] usart2: ReadUInt32 from 0x0 (Status), "
			     "returned 0xC0"));
}

static void test_other_log_lines_are_not(void **state)
{
	assert_false(is_trace("[15:02:11.0921] [INFO] usart2: Logging is "
			      "already enabled"));
	assert_false(is_trace("[15:02:11.0921] [INFO] machine-0: Machine "
			      "started."));
	assert_false(is_trace("[15:02:11.0921] [INFO] sysbus: Loading block "
			      "of 764 bytes length at 0x8000000."));
	assert_false(is_trace("[15:02:11.0921] [WARNING] usart2: Unhandled "
			      "write to offset 0x1C, value 0x1."));
	assert_false(is_trace("    WriteUInt32 to 0x4 (Data), value 0x65"));
	assert_false(is_trace(""));
	/* cut short, or with a NUL inside */
	assert_false(is_trace("[15:02:11.0921] [INFO] usart2: WriteUInt32 to "
			      "0x4 (Data), value "));
	assert_false(renode_trace_line("[INFO] u: ReadUInt32 from 0x0 (S), "
				       "returned 0x0\0x", 43));
}

/* Not NUL-terminated: the line ends at len, as the follower hands it. */
static void test_the_line_ends_at_its_length(void **state)
{
	const char s[] = "[INFO] usart2: ReadUInt32 from 0x0 (Status), "
			 "returned 0xC0 and more";
	assert_true(renode_trace_line(s, strlen(s) - strlen(" and more")));
	assert_false(renode_trace_line(s, strlen(s)));
}

/* A line as long as no access line is: not one, whatever it holds. */
static void test_an_overlong_line_is_not_trace(void **state)
{
	static char s[2048];
	const char head[] = "[INFO] usart2: WriteUInt32 to 0x4 (";
	const char tail[] = "), value 0x65";
	memset(s, 'x', sizeof s - 1);
	memcpy(s, head, strlen(head));
	memcpy(s + sizeof s - 1 - strlen(tail), tail, strlen(tail));
	assert_false(is_trace(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_lines_are_trace),
		cmocka_unit_test(test_other_log_lines_are_not),
		cmocka_unit_test(test_the_line_ends_at_its_length),
		cmocka_unit_test(test_an_overlong_line_is_not_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
