/* shquote: hostile values survive a real /bin/sh byte for byte and execute nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/control/shquote.h"

static char tmpdir[256];
static char canary[300];

/* Run /bin/sh -c cmd with PATH pointing nowhere (only builtins work: an escaped `rm` could
 * not run even if quoting were broken) in tmpdir; return its stdout (caller frees). */
static char *sh(const char *cmd, size_t *len, int *status)
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (chdir(tmpdir) < 0)
			_exit(126);
		char *envp[] = {"PATH=/nonexistent-splitbrain", NULL};
		execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, envp);
		_exit(127);
	}
	close(p[1]);
	size_t cap = 1024, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 512 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = read(p[0], buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(p[0]);
	waitpid(pid, status, 0);
	*len = n;
	return buf;
}

static const char *hostile[] = {
	"; rm -rf /",
	"; : > canary",
	"$(: > canary)",
	"`: > canary`",
	"'; : > canary; '",
	"\"; : > canary; \"",
	"a'b\"c",
	"'",
	"''",
	"\\",
	"\\'",
	"line1\n: > canary\nline3",
	"\n",
	"",
	" leading and trailing spaces ",
	"tab\there",
	"* ? [a-z] ~ ~root",
	"$HOME ${HOME} $((1+1)) $1 $@ $*",
	"| : > canary & : > canary && : > canary || : > canary",
	"> canary < /dev/null 2>&1",
	"-n",
	"--help",
	"%s %d %n",
	"\x01\x02\x7f\xff\xfe utf8: \xc3\xa9\xe2\x82\xac",
	"!!",
	"#comment",
	"a\rb",
	"{a,b}",
	"(subshell)",
	"x=y",
};

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sb-shquote-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(canary, sizeof canary, "%s/canary", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	unlink(canary);
	rmdir(tmpdir);
	return 0;
}

static void assert_no_canary(void)
{
	struct stat st;
	assert_int_equal(stat(canary, &st), -1);
}

static void test_roundtrip_printf(void **state)
{
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		char *q = shquote(hostile[i]);
		assert_non_null(q);
		char *cmd = NULL;
		assert_true(asprintf(&cmd, "printf %%s %s", q) > 0);
		size_t len;
		int st;
		char *out = sh(cmd, &len, &st);
		assert_non_null(out);
		if (len != strlen(hostile[i]) || memcmp(out, hostile[i], len))
			fail_msg("value %zu: printed %zu bytes [%s], expected [%s]", i, len, out,
				 hostile[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_no_canary();
		free(out);
		free(cmd);
		free(q);
	}
}

/* The same through shquote_fmt, several values in one command, and shquote_argv. */
static void test_fmt_and_argv(void **state)
{
	size_t n = sizeof hostile / sizeof hostile[0];
	for (size_t i = 0; i + 1 < n; i++) {
		char *cmd = shquote_fmt("printf '%%s|%%s' %q %q", hostile[i], hostile[i + 1]);
		assert_non_null(cmd);
		size_t len;
		int st;
		char *out = sh(cmd, &len, &st);
		char *want = NULL;
		assert_true(asprintf(&want, "%s|%s", hostile[i], hostile[i + 1]) >= 0);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(out, want, len);
		assert_no_canary();
		free(want);
		free(out);
		free(cmd);
	}
	const char *argv[] = {"printf", "%s,", "; : > canary", "$(: > canary)", "", "'", NULL};
	char *cmd = shquote_argv(argv);
	assert_non_null(cmd);
	size_t len;
	int st;
	char *out = sh(cmd, &len, &st);
	const char want[] = "; : > canary,$(: > canary),,',";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_no_canary();
	free(out);
	free(cmd);
}

static void test_canary_detector_works(void **state)
{
	/* The detector itself must be able to fail: an unquoted value does create the canary. */
	size_t len;
	int st;
	char *out = sh("printf %s ; : > canary", &len, &st);
	free(out);
	struct stat sb;
	assert_int_equal(stat(canary, &sb), 0);
	unlink(canary);
}

static void test_exact_forms(void **state)
{
	char *q = shquote("");
	assert_string_equal(q, "''");
	free(q);
	q = shquote("abc");
	assert_string_equal(q, "'abc'");
	free(q);
	q = shquote("it's");
	assert_string_equal(q, "'it'\\''s'");
	free(q);
	assert_null(shquote(NULL));

	char buf[16];
	assert_int_equal(shquote_buf("abc", buf, sizeof buf), 5);
	assert_string_equal(buf, "'abc'");
	assert_int_equal(shquote_buf("abcdefghijklmn", buf, sizeof buf), -1);
	assert_string_equal(buf, "");
	assert_int_equal(shquote_buf("'", buf, 7), 6);
	assert_string_equal(buf, "''\\'''");
	assert_int_equal(shquote_buf("'", buf, 6), -1);

	char *s = shquote_fmt("chmod %o %q && echo %d %u %ld %lu %lld %llu %zu %s %%", 0755u,
			      "a b", -1, 2u, -3L, 4UL, -5LL, 6ULL, (size_t)7, "raw");
	assert_string_equal(s, "chmod 755 'a b' && echo -1 2 -3 4 -5 6 7 raw %");
	free(s);
	assert_null(shquote_fmt("%q", (const char *)NULL));
	assert_null(shquote_fmt("%x", 1));
	assert_null(shquote_fmt("trailing %"));
	assert_null(shquote_fmt("%lx", 1L));
	const char *empty[] = {NULL};
	s = shquote_argv(empty);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_printf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fmt_and_argv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canary_detector_works, setup, teardown),
		cmocka_unit_test(test_exact_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
