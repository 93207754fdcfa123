/* test_fs_inode.c - the inode table of the FUSE adapter (fs/inode.c):
 * one stable number per identity while the kernel holds a lookup of it,
 * FORGET counting, owner references taken and dropped exactly once,
 * detached owners (rmdir) answering ESTALE, growth past the first
 * buckets. A fake owner counts its references. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inode.h"

struct owner {
	int refs;
};

static void owner_get(void *o)
{
	((struct owner *)o)->refs++;
}

static void owner_put(void *o)
{
	assert_true(((struct owner *)o)->refs > 0);
	((struct owner *)o)->refs--;
}

static const struct inode_owner_ops ops = { owner_get, owner_put };

static void test_same_identity_same_number(void **state)
{
	struct owner a = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	struct inode_id id = { &a, 3, "serial0" };
	uint64_t ino = inode_lookup(t, &id);

	assert_true(ino > INODE_ROOT);
	assert_int_equal(inode_lookup(t, &id), ino);
	assert_int_equal(inode_count(t), 1);
	assert_int_equal(a.refs, 1);            /* one per inode, not lookup */

	struct inode_id other = { &a, 3, "serial1" };
	uint64_t ino2 = inode_lookup(t, &other);
	assert_true(ino2 != ino);
	struct inode_id kind = { &a, 4, "serial0" };
	assert_true(inode_lookup(t, &kind) != ino);
	inode_table_free(t);
	assert_int_equal(a.refs, 0);
}

static void test_get_gives_identity_and_reference(void **state)
{
	struct owner a = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	struct inode_id id = { &a, 7, "qom/x" }, got;
	uint64_t ino = inode_lookup(t, &id);

	assert_int_equal(inode_get(t, ino, &got), 0);
	assert_ptr_equal(got.owner, &a);
	assert_int_equal(got.kind, 7);
	assert_string_equal(got.path, "qom/x");
	assert_int_equal(a.refs, 2);
	inode_id_release(t, &got);
	assert_int_equal(a.refs, 1);
	assert_int_equal(inode_get(t, ino + 100, &got), -ENOENT);
	inode_table_free(t);
}

static void test_forget_counts_lookups(void **state)
{
	struct owner a = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	struct inode_id id = { &a, 1, "log" }, got;
	uint64_t ino = inode_lookup(t, &id);

	inode_lookup(t, &id);
	inode_lookup(t, &id);
	inode_forget(t, ino, 2);
	assert_int_equal(inode_get(t, ino, &got), 0);   /* one lookup left */
	inode_id_release(t, &got);
	inode_forget(t, ino, 1);
	assert_int_equal(inode_get(t, ino, &got), -ENOENT);
	assert_int_equal(inode_count(t), 0);
	assert_int_equal(a.refs, 0);
	/* Looked up again after it was forgotten: a new number, never a
	 * reused one. */
	uint64_t again = inode_lookup(t, &id);
	assert_true(again > ino);
	inode_forget(t, 12345, 1);                       /* unknown: ignored */
	inode_table_free(t);
	assert_int_equal(a.refs, 0);
}

static void test_detach_owner_makes_inodes_stale(void **state)
{
	struct owner a = { 0 }, b = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	struct inode_id ia = { &a, 1, "ctl" }, ib = { &b, 1, "ctl" }, got;
	uint64_t na = inode_lookup(t, &ia), nb = inode_lookup(t, &ib);

	a.refs++;                        /* the caller's own reference */
	inode_detach_owner(t, &a);
	assert_int_equal(a.refs, 1);     /* the table's went at once */
	assert_int_equal(inode_get(t, na, &got), -ESTALE);
	assert_int_equal(inode_get(t, nb, &got), 0);
	inode_id_release(t, &got);
	/* The same identity again (a new owner at the same address): a
	 * new number, not the stale one. */
	uint64_t na2 = inode_lookup(t, &ia);
	assert_true(na2 != na);
	assert_int_equal(a.refs, 2);
	/* The kernel's FORGET of the stale one drops no reference. */
	inode_forget(t, na, 1);
	assert_int_equal(a.refs, 2);
	assert_int_equal(inode_count(t), 2);
	inode_table_free(t);
	assert_int_equal(a.refs, 1);
	assert_int_equal(b.refs, 0);
}

static bool kind_two(int kind)
{
	return kind == 2;
}

/* What propcache.c walks: the live inodes of one owner and kind, and a
 * directory's number found without counting a lookup. */
static void test_owned_lists_one_owners_kind_and_find_counts_nothing(
	void **state)
{
	struct owner a = { 0 }, b = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	struct inode_id a1 = { &a, 2, "machine" }, a2 = { &a, 2, "machine/soc" };
	struct inode_id a3 = { &a, 1, "ctl" }, b1 = { &b, 2, "machine" };
	struct inode_id gone = { &a, 2, "objects" };
	uint64_t n1 = inode_lookup(t, &a1), n2 = inode_lookup(t, &a2);
	inode_lookup(t, &a3);
	inode_lookup(t, &b1);
	inode_forget(t, inode_lookup(t, &gone), 1);

	struct inode_ref *refs;
	size_t n;
	assert_int_equal(inode_owned(t, &a, kind_two, &refs, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(refs[i].kind, 2);
		if (refs[i].ino == n1)
			assert_string_equal(refs[i].path, "machine");
		else if (refs[i].ino == n2)
			assert_string_equal(refs[i].path, "machine/soc");
		else
			fail_msg("inode %llu is not a's of kind 2",
				 (unsigned long long)refs[i].ino);
	}
	inode_refs_free(refs, n);

	assert_int_equal(inode_find(t, &a1), n1);
	assert_int_equal(inode_find(t, &gone), 0);
	/* found, not counted: one FORGET ends it */
	inode_forget(t, n1, 1);
	assert_int_equal(inode_find(t, &a1), 0);

	/* a detached owner has none */
	a.refs++;
	inode_detach_owner(t, &a);
	assert_int_equal(inode_owned(t, &a, kind_two, &refs, &n), 0);
	assert_int_equal(n, 0);
	inode_refs_free(refs, n);
	inode_table_free(t);
	assert_int_equal(a.refs, 1);
	assert_int_equal(b.refs, 0);
}

static void test_many_inodes_grow_the_table(void **state)
{
	struct owner a = { 0 };
	struct inode_table *t = inode_table_new(&ops);
	enum { N = 5000 };
	static uint64_t nums[N];
	char path[32];

	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "p%d", i);
		struct inode_id id = { &a, 2, path };
		nums[i] = inode_lookup(t, &id);
		assert_true(nums[i] != 0);
	}
	assert_int_equal(inode_count(t), N);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "p%d", i);
		struct inode_id id = { &a, 2, path }, got;
		assert_int_equal(inode_lookup(t, &id), nums[i]);
		assert_int_equal(inode_get(t, nums[i], &got), 0);
		assert_string_equal(got.path, path);
		inode_id_release(t, &got);
		inode_forget(t, nums[i], i % 2 ? 2 : 1);
	}
	assert_int_equal(inode_count(t), N / 2);   /* the even ones remain */
	inode_table_free(t);
	assert_int_equal(a.refs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_identity_same_number),
		cmocka_unit_test(test_get_gives_identity_and_reference),
		cmocka_unit_test(test_forget_counts_lookups),
		cmocka_unit_test(test_detach_owner_makes_inodes_stale),
		cmocka_unit_test(test_many_inodes_grow_the_table),
		cmocka_unit_test(
			test_owned_lists_one_owners_kind_and_find_counts_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
