/* test_qom_cache.c - what a run keeps of QEMU's QOM tree
 * (src/qemu/qemu_qom_cache.c): a listing is fetched once and kept with no
 * time limit, until an invalidation; a fetch answered before an
 * invalidation is not kept after it; a link target learnt before a qom-set
 * of that link is not kept; which events and commands change the tree.
 * A fake fetch counts the qom-lists and can run an invalidation "while
 * the round trip is in flight". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_qom_cache.h"

struct fake {
	int fetches;
	struct qom_cache *c;
	bool invalidate_during;     /* a change while the list is in flight */
	const char *entries[4];     /* name:type, NULL-terminated */
};

static int fake_fetch(void *ctx, const char *path, struct prop_entry **ents,
		      size_t *n)
{
	struct fake *f = ctx;
	f->fetches++;
	if (!strcmp(path, "/gone"))
		return -ENOENT;
	size_t k = 0;
	while (k < 4 && f->entries[k])
		k++;
	struct prop_entry *e = calloc(k ? k : 1, sizeof *e);
	for (size_t i = 0; i < k; i++) {
		const char *colon = strchr(f->entries[i], ':');
		e[i].name = strndup(f->entries[i], colon - f->entries[i]);
		e[i].type = strdup(colon + 1);
		e[i].kind = !strncmp(colon + 1, "link<", 5) ? PROP_LINK
							    : PROP_FILE;
	}
	if (f->invalidate_during)
		qom_cache_invalidate(f->c);
	*ents = e;
	*n = k;
	return 0;
}

static struct qom_listing *get(struct fake *f, const char *path)
{
	struct qom_listing *l = NULL;
	assert_int_equal(qom_cache_listing(f->c, path, fake_fetch, f, &l), 0);
	assert_non_null(l);
	return l;
}

static void test_listing_is_kept_until_invalidated(void **state)
{
	struct fake f = { .c = qom_cache_new(),
			  .entries = { "type:string", "gpioA0:bool" } };
	struct qom_listing *l = get(&f, "/machine/soc/gpio");
	assert_int_equal(l->n, 2);
	assert_int_equal(qom_listing_find(l, "gpioA0"), 1);
	assert_int_equal(qom_listing_find(l, "nope"), -1);
	qom_listing_put(l);
	/* no time limit: asked again, any time later, no second qom-list */
	for (int i = 0; i < 5; i++)
		qom_listing_put(get(&f, "/machine/soc/gpio"));
	assert_int_equal(f.fetches, 1);
	qom_listing_put(get(&f, "/machine"));      /* another path: fetched */
	assert_int_equal(f.fetches, 2);

	qom_cache_invalidate(f.c);
	qom_listing_put(get(&f, "/machine/soc/gpio"));
	qom_listing_put(get(&f, "/machine"));
	assert_int_equal(f.fetches, 4);
	qom_cache_free(f.c);
}

static void test_a_failed_fetch_is_not_kept(void **state)
{
	struct fake f = { .c = qom_cache_new() };
	struct qom_listing *l = NULL;
	assert_int_equal(qom_cache_listing(f.c, "/gone", fake_fetch, &f, &l),
			 -ENOENT);
	assert_int_equal(qom_cache_listing(f.c, "/gone", fake_fetch, &f, &l),
			 -ENOENT);
	assert_int_equal(f.fetches, 2);
	qom_cache_free(f.c);
}

/* The listing answered before a change is the caller's, not the cache's. */
static void test_fetch_overtaken_by_invalidation_is_not_kept(void **state)
{
	struct fake f = { .c = qom_cache_new(), .invalidate_during = true,
			  .entries = { "type:string" } };
	struct qom_listing *l = get(&f, "/machine/peripheral");
	assert_int_equal(l->n, 1);           /* the caller still gets it */
	qom_listing_put(l);
	f.invalidate_during = false;
	qom_listing_put(get(&f, "/machine/peripheral"));
	assert_int_equal(f.fetches, 2);      /* not served from the cache */
	qom_listing_put(get(&f, "/machine/peripheral"));
	assert_int_equal(f.fetches, 2);
	qom_cache_free(f.c);
}

static void test_link_target_kept_until_the_link_is_set(void **state)
{
	struct fake f = { .c = qom_cache_new(),
			  .entries = { "type:string", "irq:link<irq>" } };
	struct qom_listing *l = get(&f, "/machine/soc/gpio");
	assert_null(qom_listing_link(f.c, l, 1));        /* not known yet */
	unsigned long gen = qom_cache_gen(f.c);
	qom_listing_set_link(f.c, l, 1, "", gen);        /* unset */
	char *t = qom_listing_link(f.c, l, 1);
	assert_string_equal(t, "");
	free(t);

	/* A qom-set of it: forgotten; a qom-get that was in flight when
	 * it happened (gen from before) is not kept. */
	qom_cache_forget_link(f.c, "/machine/soc/gpio", "irq");
	assert_null(qom_listing_link(f.c, l, 1));
	qom_listing_set_link(f.c, l, 1, "", gen);
	assert_null(qom_listing_link(f.c, l, 1));
	qom_listing_set_link(f.c, l, 1, "/machine/soc/vic", qom_cache_gen(f.c));
	t = qom_listing_link(f.c, l, 1);
	assert_string_equal(t, "/machine/soc/vic");
	free(t);
	qom_listing_put(l);
	/* forgetting a link keeps the listing: no new qom-list */
	qom_listing_put(get(&f, "/machine/soc/gpio"));
	assert_int_equal(f.fetches, 1);
	qom_cache_free(f.c);
}

/* A listing a caller holds outlives its invalidation (references). */
static void test_held_listing_survives_invalidation(void **state)
{
	struct fake f = { .c = qom_cache_new(), .entries = { "a:bool" } };
	struct qom_listing *l = get(&f, "/x");
	qom_cache_invalidate(f.c);
	assert_int_equal(qom_listing_find(l, "a"), 0);
	qom_listing_put(l);
	qom_cache_free(f.c);
}

static void test_events_and_commands_that_change_the_tree(void **state)
{
	assert_true(qom_event_changes_tree("DEVICE_ADDED"));
	assert_true(qom_event_changes_tree("DEVICE_DELETED"));
	assert_true(qom_event_changes_tree("RESET"));
	assert_false(qom_event_changes_tree("STOP"));
	assert_false(qom_event_changes_tree("RESUME"));
	assert_false(qom_event_changes_tree(NULL));

	assert_true(qom_command_may_change_tree("device_add"));
	assert_true(qom_command_may_change_tree("object-del"));
	assert_true(qom_command_may_change_tree("qom-set"));
	assert_true(qom_command_may_change_tree("human-monitor-command"));
	assert_false(qom_command_may_change_tree("qom-get"));
	assert_false(qom_command_may_change_tree("qom-list"));
	assert_false(qom_command_may_change_tree("query-status"));
	assert_false(qom_command_may_change_tree(NULL));
}

static void test_denied_bits_accumulate(void **state)
{
	struct qom_cache *c = qom_cache_new();
	assert_int_equal(qom_denied_bits(c, "/m", "p"), 0);
	qom_denied_add(c, "/m", "p", QOM_NOREAD);
	qom_denied_add(c, "/m", "p", QOM_NOWRITE);
	assert_int_equal(qom_denied_bits(c, "/m", "p"),
			 QOM_NOREAD | QOM_NOWRITE);
	assert_int_equal(qom_denied_bits(c, "/m", "q"), 0);
	assert_int_equal(qom_denied_bits(c, "/m/p", ""), 0);
	/* a reset does not make a property readable */
	qom_cache_invalidate(c);
	assert_int_equal(qom_denied_bits(c, "/m", "p"),
			 QOM_NOREAD | QOM_NOWRITE);
	qom_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_is_kept_until_invalidated),
		cmocka_unit_test(test_a_failed_fetch_is_not_kept),
		cmocka_unit_test(test_fetch_overtaken_by_invalidation_is_not_kept),
		cmocka_unit_test(test_link_target_kept_until_the_link_is_set),
		cmocka_unit_test(test_held_listing_survives_invalidation),
		cmocka_unit_test(test_events_and_commands_that_change_the_tree),
		cmocka_unit_test(test_denied_bits_accumulate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
