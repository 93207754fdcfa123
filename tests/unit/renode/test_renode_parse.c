/* test_renode_parse.c - the Renode monitor's output formats, parsed.
 *
 * Samples: the `peripherals` tree as Renode's ITreePrintNode prints it
 * (and as older versions and the docs show it), a help text as captured
 * from Renode for sysbus.nvic (with the monitor's "\n\r" line ends),
 * GetGPIOs output from renode/renode#630, property values as
 * Monitor.PrintActionResult prints them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "renode/renode_parse.h"

/* Renode 1.15's printer: "  " then a 4-column block per level, a spacer
 * line after each node's notes. */
static const char tree_new[] =
	"Available peripherals:\n"
	"\n"
	"  sysbus (SystemBus)\n"
	"  \xe2\x94\x82   \n"
	"  \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 cpu (CortexM)\n"
	"  \xe2\x94\x82       Slot: 0\n"
	"  \xe2\x94\x82       \n"
	"  \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 gpioPortD (STM32_GPIOPort)\n"
	"  \xe2\x94\x82   \xe2\x94\x82   <0x40020C00, 0x40020FFF>\n"
	"  \xe2\x94\x82   \xe2\x94\x82   \n"
	"  \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 UserLED (LED)\n"
	"  \xe2\x94\x82           \n"
	"  \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 usart2 (STM32_UART)\n"
	"          <0x40004400, 0x400047FF>\n"
	"          \n";

/* renode-docs (Fomu): CRLF here, deeper nesting, several notes. */
static const char tree_docs[] =
	"(machine-0) peripherals\r\n"
	"Available peripherals:\r\n"
	"  sysbus (SystemBus)\r\n"
	"  \xe2\x94\x82\r\n"
	"  \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 cpu (VexRiscv)\r\n"
	"  \xe2\x94\x82     Slot: 0\r\n"
	"  \xe2\x94\x82\r\n"
	"  \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 eth (LiteX_Ethernet)\r\n"
	"  \xe2\x94\x82   \xe2\x94\x82 <0x60007800, 0x600078FF>\r\n"
	"  \xe2\x94\x82   \xe2\x94\x82\r\n"
	"  \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 phy "
	"(EthernetPhysicalLayer)\r\n"
	"  \xe2\x94\x82         Address: 0\r\n"
	"  \xe2\x94\x82\r\n"
	"  \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 led (EtherBoneBridge)\r\n"
	"        <0xE0006800, 0xE00068FF>\r\n";

/* Help text of sysbus.nvic as Renode printed it (trimmed methods). */
static const char help_nvic[] =
	"\nThe following methods are available:\n"
	" - Int32 AcknowledgeIRQ ()\n"
	" - IEnumerable<Tuple<String,IGPIO>> GetGPIOs ()\n"
	" - Void OnGPIO (Int32 number, Boolean value)\n"
	"\n\rUsage:\n\r sysbus.nvic MethodName param1 param2 ...\n\r\n"
	"\nThe following properties are available:\n"
	" - Boolean DeepSleepEnabled\n"
	"     available for 'get' and 'set'\n"
	" - UInt64 Divider\n"
	"     available for 'get' and 'set'\n"
	" - GPIO IRQ\n"
	"     available for 'get'\n"
	" - Boolean MaskedInterruptPresent\n"
	"     available for 'get'\n"
	" - Int64 Size\n"
	"     available for 'get'\n"
	" - UInt32 Secret\n"
	"     available for 'set'\n"
	" - IEnumerable<TranslationCPU> Clustered\n"
	"     available for 'get'\n"
	" - IEnumerable<BaseCPU> Clustered\n"
	"     available for 'get'\n"
	" - UInt64? LowestLoadedAddress\n"
	"     available for 'get'\n"
	"\n\rUsage:\n\r - get: sysbus.nvic PropertyName\n\r - set: sysbus.nvic "
	"PropertyName Value\n\r\n"
	"\nThe following indexers are available:\n"
	" - UInt32 Item[Int32 index]     available for 'get'\n"
	"\n\rUsage:\n\r - get: sysbus.nvic IndexerName [param1 param2 ...]\n"
	"\nThe following fields are available:\n"
	" - Int32 Counter\n"
	" - String Version (read only)\n"
	"\n\rUsage:\n\r - get: sysbus.nvic fieldName\n\r - set: sysbus.nvic "
	"fieldName Value\n\r\n";

/* renode/renode#630, wrapped by a terminal where it was copied. */
static const char gpios_630[] =
	"[\n"
	"(0, GPIO: unset), (1, GPIO: unset), (2, GPIO: unset), (3, GPIO: "
	"unset), (4, GPIO: unset), (5\n"
	", GPIO: unset), (6, GPIO: unset), (7, GPIO: unset), (8, GPIO: unset), "
	"(9, GPIO: unset), \n"
	"(10, GPIO: unset), (11, GPIO: unset), (12, GPIO: set), (13, GPIO: "
	"unset), (14, GPIO: unset\n"
	"), (15, GPIO: unset), \n"
	"]\n";

static const struct renode_periph *find(const struct renode_periph *p,
					size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].path, path))
			return &p[i];
	return NULL;
}

static void test_peripherals_tree_gives_dotted_paths(void **state)
{
	struct renode_periph *p;
	size_t n;
	assert_int_equal(renode_parse_peripherals(tree_new, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(p[0].path, "sysbus");
	assert_string_equal(p[0].type, "SystemBus");
	assert_string_equal(find(p, n, "sysbus.cpu")->type, "CortexM");
	assert_string_equal(find(p, n, "sysbus.gpioPortD")->type,
			    "STM32_GPIOPort");
	assert_string_equal(find(p, n, "sysbus.gpioPortD.UserLED")->type,
			    "LED");
	assert_string_equal(find(p, n, "sysbus.usart2")->type, "STM32_UART");
	/* on the bus at an address range: what LogPeripheralAccess takes */
	assert_true(find(p, n, "sysbus.usart2")->mapped);
	assert_true(find(p, n, "sysbus.gpioPortD")->mapped);
	assert_false(find(p, n, "sysbus")->mapped);
	assert_false(find(p, n, "sysbus.cpu")->mapped);
	assert_false(find(p, n, "sysbus.gpioPortD.UserLED")->mapped);
	renode_periphs_free(p, n);
}

static void test_peripherals_tree_of_the_docs(void **state)
{
	struct renode_periph *p;
	size_t n;
	assert_int_equal(renode_parse_peripherals(tree_docs, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_non_null(find(p, n, "sysbus.eth.phy"));
	assert_string_equal(find(p, n, "sysbus.led")->type, "EtherBoneBridge");
	assert_null(find(p, n, "sysbus.eth.led"));
	assert_true(find(p, n, "sysbus.eth")->mapped);
	assert_false(find(p, n, "sysbus.eth.phy")->mapped);
	assert_true(find(p, n, "sysbus.led")->mapped);
	renode_periphs_free(p, n);
}

static void test_peripherals_without_machine_is_empty(void **state)
{
	struct renode_periph *p;
	size_t n;
	assert_int_equal(renode_parse_peripherals("", &p, &n), 0);
	assert_int_equal(n, 0);
	renode_periphs_free(p, n);
}

static const struct renode_prop *prop(const struct renode_prop *p, size_t n,
				      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return &p[i];
	return NULL;
}

static void test_help_text_properties_and_access(void **state)
{
	struct renode_prop *p;
	size_t n;
	assert_int_equal(renode_parse_help(help_nvic, &p, &n), 0);
	const struct renode_prop *d = prop(p, n, "DeepSleepEnabled");
	assert_non_null(d);
	assert_string_equal(d->type, "Boolean");
	assert_true(d->get && d->set);
	const struct renode_prop *s = prop(p, n, "Size");
	assert_true(s->get && !s->set);
	assert_string_equal(s->type, "Int64");
	const struct renode_prop *w = prop(p, n, "Secret");
	assert_true(!w->get && w->set);
	assert_string_equal(prop(p, n, "IRQ")->type, "GPIO");
	assert_string_equal(prop(p, n, "LowestLoadedAddress")->type, "UInt64?");
	/* methods, indexers and the usage lines are not properties */
	assert_null(prop(p, n, "OnGPIO"));
	assert_null(prop(p, n, "Item"));
	assert_null(prop(p, n, "PropertyName"));
	/* the same name from a base class once */
	size_t clustered = 0;
	for (size_t i = 0; i < n; i++)
		clustered += !strcmp(p[i].name, "Clustered");
	assert_int_equal(clustered, 1);
	/* value fields: settable unless read only */
	assert_true(prop(p, n, "Counter")->set);
	assert_false(prop(p, n, "Version")->set);
	assert_string_equal(prop(p, n, "Version")->type, "String");
	assert_int_equal(n, 10);
	renode_props_free(p, n);
}

static void test_help_text_of_older_renode(void **state)
{
	struct renode_prop *p;
	size_t n;
	assert_int_equal(renode_parse_help(
		"Following properties are available:\n"
		" - Int32 CountThreshold\n"
		"     available for 'get' and 'set'\n"
		" - String ElapsedVirtualTimeForMonitor\n"
		"     available for 'get'\n"
		"\nUsage:\n - get: sysbus.cpu PropertyName\n", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_true(p[0].set);
	assert_false(p[1].set);
	renode_props_free(p, n);
}

static void test_gpio_state_of_issue_630(void **state)
{
	assert_int_equal(renode_parse_gpio_state(gpios_630, "12"), 1);
	assert_int_equal(renode_parse_gpio_state(gpios_630, "5"), 0);
	assert_int_equal(renode_parse_gpio_state(gpios_630, "14"), 0);
	assert_int_equal(renode_parse_gpio_state(gpios_630, "1"), 0);
	assert_int_equal(renode_parse_gpio_state(gpios_630, "16"), -ENOENT);
	assert_int_equal(renode_parse_gpio_state(
		"[\r\n(IRQ, GPIO: set), \r\n]\r\n", "IRQ"), 1);
	assert_int_equal(renode_parse_gpio_state("[\n(3, unknown), \n]\n", "3"),
			 -EIO);
}

static void test_bool_output(void **state)
{
	assert_int_equal(renode_parse_bool("True\r\n"), 1);
	assert_int_equal(renode_parse_bool("False\n"), 0);
	assert_int_equal(renode_parse_bool("true"), -1);
	assert_int_equal(renode_parse_bool(""), -1);
}

static void check_format(const char *type, const char *in, const char *want)
{
	char *got = renode_format_value(type, in);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_values_for_the_shell(void **state)
{
	check_format("UInt32", "0x0001C200\r\n", "115200\n");
	check_format("Int32", "0xFFFFFFFF\r\n", "-1\n");
	check_format("Int16", "0x8000\r\n", "-32768\n");
	check_format("UInt64", "0xFFFFFFFFFFFFFFFF\r\n",
		     "18446744073709551615\n");
	check_format("UInt64?", "0x0000000008000000\r\n", "134217728\n");
	check_format("UInt32", "115200\r\n", "115200\n");   /* decimal mode */
	check_format("UInt32", "0x1C200 (115200)\r\n", "115200\n");
	check_format("Boolean", "True\r\n", "true\n");
	check_format("Boolean", "False\r\n", "false\n");
	check_format("Endianess", "LittleEndian\r\n\nPossible values are:\n"
		     "\tLittleEndian (LittleEndian)\n\tBigEndian (BigEndian)"
		     "\n\n", "LittleEndian\n");
	check_format("String", "cortex-m4f\r\n", "cortex-m4f\n");
	check_format("String", "", "");
	check_format("UInt32", "not a number\r\n", "not a number\n");
}

static void check_token(const char *type, const char *in, const char *want)
{
	char why[100] = "";
	char *got = renode_value_token(type, in, strlen(in), why, sizeof why);
	if (!want) {
		assert_null(got);
		assert_true(why[0] != '\0');
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_written_values_become_one_token(void **state)
{
	check_token("UInt32", "250\n", "250");
	check_token("UInt32", "0X1f", "0x1f");
	check_token("Int32", "-5", "-5");
	check_token("UInt32", "abc", NULL);
	check_token("UInt32", "1 2", NULL);
	check_token("UInt32", "", NULL);
	check_token("Boolean", "yes\n", "true");
	check_token("Boolean", "0", "false");
	check_token("Boolean", "maybe", NULL);
	check_token("String", "hello world\n", "\"hello world\"");
	check_token("String", "say \"hi\"", "'say \"hi\"'");
	check_token("String", "it's \"x\"", NULL);
	check_token("String", "a\\b", NULL);
	check_token("String", "", "\"\"");
	check_token("Endianess", "BigEndian", "BigEndian");
	check_token("Endianess", "a;b", NULL);
	check_token("Endianess", "$x", NULL);
	check_token("Endianess", "`quit`", NULL);
	check_token("Double", "1.5", "1.5");
	check_token("Double", "1.5e3", NULL);
	check_token("UInt32", "1\n2", NULL);
}

static void test_paths_for_the_monitor(void **state)
{
	char *t = renode_path_token("/a b/c.repl");
	assert_string_equal(t, "@/a\\ b/c.repl");
	free(t);
	t = renode_path_token("platforms/boards/stm32f4_discovery-kit.repl");
	assert_string_equal(t, "@platforms/boards/stm32f4_discovery-kit.repl");
	free(t);
	assert_null(renode_path_token("/a;quit"));
	assert_null(renode_path_token("/a\tb"));
	/* what the firmware file accepts (renode_config_accepts_image) */
	assert_true(renode_path_expressible("/a b/c, d.elf"));
	assert_false(renode_path_expressible("/a;b.elf"));
	assert_false(renode_path_expressible("/a\nb.elf"));
	assert_false(renode_path_expressible("/a\rb.elf"));
	assert_false(renode_path_expressible("/a\vb.elf"));
	assert_true(renode_path_ok("sysbus.gpioPortD.UserLED"));
	assert_false(renode_path_ok("sysbus..usart2"));
	assert_false(renode_path_ok("sysbus.usart2."));
	assert_false(renode_path_ok("sysbus usart2"));
	assert_false(renode_path_ok("sysbus;quit"));
	assert_false(renode_path_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peripherals_tree_gives_dotted_paths),
		cmocka_unit_test(test_peripherals_tree_of_the_docs),
		cmocka_unit_test(test_peripherals_without_machine_is_empty),
		cmocka_unit_test(test_help_text_properties_and_access),
		cmocka_unit_test(test_help_text_of_older_renode),
		cmocka_unit_test(test_gpio_state_of_issue_630),
		cmocka_unit_test(test_bool_output),
		cmocka_unit_test(test_values_for_the_shell),
		cmocka_unit_test(test_written_values_become_one_token),
		cmocka_unit_test(test_paths_for_the_monitor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
