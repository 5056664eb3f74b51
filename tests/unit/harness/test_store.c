/* Tests for harness/store: run directories, the two `latest` links, per-node directories and
 * name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/store/store.h"
#include "lib/err.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_store.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_link(const char *link, const char *target)
{
	char buf[512];
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n < 0)
		fail_msg("readlink %s failed", link);
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_open_and_links(void **state)
{
	char root[128], p[STORE_PATH_MAX + 64];
	snprintf(root, sizeof root, "%s/store", tmpdir);
	struct store s;
	char err[256] = "";
	/* 2026-11-24 00:15:00 UTC */
	time_t t = 1795479300;
	assert_int_equal(store_open(&s, root, "reg-kill", t, err, sizeof err), 0);
	assert_string_equal(s.stamp, "20261124T001500");
	snprintf(p, sizeof p, "%s/reg-kill/20261124T001500", root);
	assert_string_equal(s.dir, p);
	assert_true(is_dir(p));
	snprintf(p, sizeof p, "%s/latest", root);
	expect_link(p, "reg-kill/20261124T001500");
	snprintf(p, sizeof p, "%s/reg-kill/latest", root);
	expect_link(p, "20261124T001500");
	/* The link resolves to the run dir. */
	snprintf(p, sizeof p, "%s/latest/", root);
	assert_true(is_dir(p));

	/* The same second again: a suffix, and the links move. */
	struct store s2;
	assert_int_equal(store_open(&s2, root, "reg-kill", t, err, sizeof err), 0);
	assert_string_equal(s2.stamp, "20261124T001500-2");
	snprintf(p, sizeof p, "%s/latest", root);
	expect_link(p, "reg-kill/20261124T001500-2");

	/* Another test moves the top-level link only. */
	struct store s3;
	assert_int_equal(store_open(&s3, root, "other", t + 61, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/latest", root);
	expect_link(p, "other/20261124T001601");
	snprintf(p, sizeof p, "%s/reg-kill/latest", root);
	expect_link(p, "20261124T001500-2");

	/* No temporary links left behind. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q tmp", root);
	assert_int_not_equal(system(cmd), 0);
}

static void test_node_dir_and_files(void **state)
{
	char root[128], p[STORE_PATH_MAX + 64];
	snprintf(root, sizeof root, "%s/store2", tmpdir);
	struct store s;
	char err[256] = "";
	assert_int_equal(store_open(&s, root, "t", 0, err, sizeof err), 0);
	assert_string_equal(s.stamp, "19700101T000000");
	char nd[STORE_PATH_MAX];
	assert_int_equal(store_node_dir(&s, "n1", nd, sizeof nd, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/n1", s.dir);
	assert_string_equal(nd, p);
	assert_true(is_dir(nd));
	/* Twice is fine. */
	assert_int_equal(store_node_dir(&s, "n1", nd, sizeof nd, err, sizeof err), 0);
	assert_int_equal(store_node_dir(&s, "../x", nd, sizeof nd, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "node name '../x'"));

	assert_int_equal(store_write_file(&s, "results.json", "{}\n", 3, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/results.json", s.dir);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	char buf[8] = "";
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "{}\n");
	assert_int_equal(store_write_file(&s, "a/b", "", 0, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "bad file name 'a/b'"));
	char fp[STORE_PATH_MAX];
	assert_int_equal(store_file_path(&s, "history.jsonl", fp, sizeof fp, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/history.jsonl", s.dir);
	assert_string_equal(fp, p);
	assert_int_equal(store_file_path(&s, "..", fp, sizeof fp, err, sizeof err), SB_EINVAL);
	char small[8];
	assert_int_equal(store_file_path(&s, "x", small, sizeof small, err, sizeof err),
			 SB_ELIMIT);
}

static void test_bad_names(void **state)
{
	const char *bad[] = {"", ".", "..", "latest", "a/b", "a b", "x;rm -rf /", "$(id)", NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_false(store_name_ok(bad[i]));
	char longname[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_false(store_name_ok(longname));
	assert_true(store_name_ok("register-kill_leader.v2"));

	struct store s;
	char err[256] = "";
	char root[128];
	snprintf(root, sizeof root, "%s/store3", tmpdir);
	assert_int_equal(store_open(&s, root, "a/../../etc", 0, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "test name 'a/../../etc'"));
	assert_int_equal(store_open(&s, "", "t", 0, err, sizeof err), SB_EINVAL);
	/* Nothing was created for the rejected name. */
	assert_false(is_dir(root));
}

static void test_root_is_a_file(void **state)
{
	char root[128];
	snprintf(root, sizeof root, "%s/plainfile", tmpdir);
	FILE *f = fopen(root, "w");
	assert_non_null(f);
	fclose(f);
	struct store s;
	char err[256] = "";
	assert_int_equal(store_open(&s, root, "t", 0, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, root));
}

static void test_open_dir(void **state)
{
	char d[128];
	snprintf(d, sizeof d, "%s/given/sub", tmpdir);
	struct store s;
	char err[256] = "";
	assert_int_equal(store_open_dir(&s, d, err, sizeof err), 0);
	assert_true(is_dir(d));
	assert_string_equal(s.dir, d);
	char nd[STORE_PATH_MAX];
	assert_int_equal(store_node_dir(&s, "n2", nd, sizeof nd, err, sizeof err), 0);
	assert_true(is_dir(nd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_links),
		cmocka_unit_test(test_node_dir_and_files),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_root_is_a_file),
		cmocka_unit_test(test_open_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
