/* lab: the parts that need no root. One directory under any spelling is one lab (its path is
 * resolved before it is hashed), and the record of run directories that `lab down` removes
 * node data from accepts only plain absolute paths. */
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

#include "harness/lab/lab.h"
#include "lib/err.h"

static char tmp[64], real_tmp[512];

static int setup(void **state)
{
	snprintf(tmp, sizeof tmp, "/tmp/sb-lab-XXXXXX");
	char *r = mkdtemp(tmp) ? realpath(tmp, NULL) : NULL;
	if (!r || strlen(r) >= sizeof real_tmp)
		return -1;
	snprintf(real_tmp, sizeof real_tmp, "%s", r);
	free(r);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void resolves_to(const char *spelling, const char *want)
{
	char got[1024], err[256];
	int rc = lab_dir_resolve(spelling, got, sizeof got, err, sizeof err);
	if (rc)
		fail_msg("%s: %s", spelling, err);
	if (strcmp(got, want))
		fail_msg("%s resolved to %s, want %s", spelling, got, want);
}

/* "/tmp//lab", "lab/.", a symlink: before, each gave its own hash and so its own lab, which
 * `lab down` and `lab status` under another spelling then missed. */
static void test_one_directory_one_lab(void **state)
{
	char real[1024], link[128], s[1200], want_new[1100];
	snprintf(real, sizeof real, "%s/lab", real_tmp);
	snprintf(s, sizeof s, "%s/lab", tmp);
	assert_int_equal(mkdir(s, 0700), 0);
	snprintf(link, sizeof link, "%s/link", tmp);
	assert_int_equal(symlink("lab", link), 0);

	const char *spellings[] = {"%s/lab", "%s//lab", "%s/lab/", "%s/lab/.", "%s/./lab",
				   "%s/lab/../lab", "%s/link", "%s/link/", "%s/link/.", NULL};
	for (size_t i = 0; spellings[i]; i++) {
		snprintf(s, sizeof s, spellings[i], tmp);
		resolves_to(s, real);
	}
	/* A directory that does not exist yet: its existing part is resolved. */
	snprintf(want_new, sizeof want_new, "%s/new", real);
	const char *later[] = {"%s/lab/new", "%s//lab//new/.", "%s/link/new",
			       "%s/nothing/../lab/new", NULL};
	for (size_t i = 0; later[i]; i++) {
		snprintf(s, sizeof s, later[i], tmp);
		resolves_to(s, want_new);
	}
	/* Relative, and through the environment. */
	char cwd[1024];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmp), 0);
	resolves_to("lab", real);
	resolves_to("./link/", real);
	setenv("SPLITBRAIN_LAB_DIR", "link/.", 1);
	resolves_to(NULL, real);
	resolves_to("", real);
	unsetenv("SPLITBRAIN_LAB_DIR");
	assert_int_equal(chdir(cwd), 0);

	/* Same path, same names. */
	struct lab_names a, b;
	char ra[1024], rb[1024], err[256];
	snprintf(s, sizeof s, "%s//lab/.", tmp);
	assert_int_equal(lab_dir_resolve(s, ra, sizeof ra, err, sizeof err), 0);
	assert_int_equal(lab_dir_resolve(link, rb, sizeof rb, err, sizeof err), 0);
	lab_names_make(ra, &a);
	lab_names_make(rb, &b);
	assert_string_equal(a.bridge, b.bridge);
	assert_string_equal(a.ns[0], b.ns[0]);

	/* A symlink to a path with a space is refused under its real name. */
	snprintf(s, sizeof s, "%s/with space", tmp);
	assert_int_equal(mkdir(s, 0700), 0);
	snprintf(link, sizeof link, "%s/spaced", tmp);
	assert_int_equal(symlink("with space", link), 0);
	assert_int_equal(lab_dir_resolve(link, ra, sizeof ra, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "with space"));
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void test_record_run(void **state)
{
	char err[512], runs[128], buf[1024], want[512];
	snprintf(runs, sizeof runs, "%s/runs", tmp);
	assert_int_equal(lab_record_run(tmp, "/var/lib/splitbrain/lab-abc123", err, sizeof err), 0);
	assert_int_equal(lab_record_run(tmp, "/srv/sb/run-2", err, sizeof err), 0);
	assert_int_equal(lab_record_run(tmp, "/var/lib/splitbrain/lab-abc123", err, sizeof err), 0);
	snprintf(want, sizeof want, "/var/lib/splitbrain/lab-abc123\n/srv/sb/run-2\n");
	assert_true(slurp(runs, buf, sizeof buf) > 0);
	assert_string_equal(buf, want);
	/* Only plain absolute paths ending in a run id: a line of this file is removed from. */
	const char *bad[] = {"relative/run", "/run",        "/a/../run", "/a//run",   "/a/./run",
			     "/a/run/",      "/a/..",       "/a/.",      "/a/r\nun", "/a/latest",
			     "/a/r un;x",    "",            NULL};
	for (size_t i = 0; bad[i]; i++)
		if (lab_record_run(tmp, bad[i], err, sizeof err) != SB_EINVAL)
			fail_msg("run dir '%s' accepted", bad[i]);
	assert_true(slurp(runs, buf, sizeof buf) > 0);
	assert_string_equal(buf, want);
	/* No lab directory: an I/O error, not a crash. */
	assert_int_equal(lab_record_run("/nonexistent/sb-lab", "/srv/sb/r", err, sizeof err),
			 SB_EIO);
}

static void test_dir_of_nodes(void **state)
{
	char nodes[128], state_path[128], dir[1024], other[128];
	snprintf(nodes, sizeof nodes, "%s/nodes", tmp);
	FILE *f = fopen(nodes, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(lab_dir_of_nodes(nodes, dir, sizeof dir), 0); /* no state: not a lab */
	snprintf(state_path, sizeof state_path, "%s/state", tmp);
	assert_non_null(f = fopen(state_path, "w"));
	fclose(f);
	assert_int_equal(lab_dir_of_nodes(nodes, dir, sizeof dir), 1);
	assert_string_equal(dir, real_tmp);
	snprintf(other, sizeof other, "%s/my.nodes", tmp);
	assert_non_null(f = fopen(other, "w"));
	fclose(f);
	assert_int_equal(lab_dir_of_nodes(other, dir, sizeof dir), 0);
	assert_int_equal(lab_dir_of_nodes("/nonexistent/nodes", dir, sizeof dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_directory_one_lab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_of_nodes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
