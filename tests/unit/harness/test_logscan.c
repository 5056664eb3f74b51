/* Tests for harness/logscan: named PCRE2 patterns over log files, the default raftnode
 * patterns, bad-pattern errors and the leader fallback (highest term wins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/db/logscan.h"
#include "lib/err.h"

struct hits {
	char lines[16][320];
	size_t n;
};

static int collect(const struct logscan_match *m, void *arg)
{
	struct hits *h = arg;
	if (h->n < 16)
		snprintf(h->lines[h->n++], sizeof h->lines[0], "%s:%lu:%s:%s", m->file, m->line,
			 m->pattern, m->text);
	return 0;
}

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_logscan.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *const sample =
	"2026-11-24T00:00:00.001Z INFO node=n1 term=0 event=start data=/d\n"
	"2026-11-24T00:00:00.200Z INFO node=n1 term=1 event=became-candidate\n"
	"2026-11-24T00:00:00.210Z INFO node=n1 term=1 event=became-leader commit=0\n"
	"2026-11-24T00:00:01.000Z WARN node=n1 term=1 event=not-became-leader-really\r\n"
	"raftnode: node/raft.c:812: raft_step: Assertion `r->term >= m->term' failed.\n"
	"2026-11-24T00:00:02.000Z FATAL node=n1 term=1 event=crash reason=disk\n"
	"goroutine-style PANIC: index out of range\n"
	"node/log.c:10:5: runtime error: signed integer overflow";

static void test_defaults_on_file(void **state)
{
	char path[128];
	snprintf(path, sizeof path, "%s/n1.log", tmpdir);
	write_file(path, sample);
	struct logscan *ls = NULL;
	char err[256] = "";
	assert_int_equal(logscan_new(&ls, err, sizeof err), 0);
	assert_int_equal(logscan_add_defaults(ls, NULL, err, sizeof err), 0);
	assert_int_equal(logscan_count(ls), 4);
	struct hits h = {0};
	unsigned long n = 0;
	assert_int_equal(logscan_file(ls, path, collect, &h, &n, err, sizeof err), 0);
	assert_int_equal(n, h.n);
	char want[6][320];
	snprintf(want[0], 320, "%s:3:leader:2026-11-24T00:00:00.210Z INFO node=n1 term=1 "
			       "event=became-leader commit=0", path);
	snprintf(want[1], 320, "%s:5:assertion:raftnode: node/raft.c:812: raft_step: Assertion "
			       "`r->term >= m->term' failed.", path);
	snprintf(want[2], 320, "%s:6:fatal:2026-11-24T00:00:02.000Z FATAL node=n1 term=1 "
			       "event=crash reason=disk", path);
	snprintf(want[3], 320, "%s:7:panic:goroutine-style PANIC: index out of range", path);
	/* The last line has no newline; it is still scanned. */
	snprintf(want[4], 320, "%s:8:fatal:node/log.c:10:5: runtime error: signed integer "
			       "overflow", path);
	assert_int_equal(h.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(h.lines[i], want[i]);
	logscan_free(ls);
}

static void test_custom_and_bad_patterns(void **state)
{
	struct logscan *ls = NULL;
	char err[256] = "";
	assert_int_equal(logscan_new(&ls, err, sizeof err), 0);
	assert_int_equal(logscan_add(ls, "cand", "event=became-(candidate|follower)", err,
				     sizeof err), 0);
	assert_int_equal(logscan_add(ls, "broken", "term=(\\d+", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "pattern 'broken' at offset 9"));
	assert_non_null(strstr(err, "missing closing parenthesis"));
	assert_int_equal(logscan_add(ls, "bad name", "x", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "pattern name 'bad name'"));
	assert_int_equal(logscan_add(ls, "cand", "x", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(logscan_add_defaults(ls, "leader,nosuch", err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "no default pattern 'nosuch'"));
	/* "leader" was added before the unknown name failed. */
	assert_int_equal(logscan_count(ls), 2);
	assert_string_equal(logscan_name(ls, 1), "leader");
	assert_null(logscan_name(ls, 2));

	struct hits h = {0};
	unsigned long n = 0;
	assert_int_equal(logscan_buffer(ls, "mem", sample, strlen(sample), collect, &h, &n, err,
					sizeof err), 0);
	assert_int_equal(n, 2);
	assert_non_null(strstr(h.lines[0], "mem:2:cand:"));
	assert_non_null(strstr(h.lines[1], "mem:3:leader:"));
	logscan_free(ls);
}

static void test_missing_file(void **state)
{
	struct logscan *ls = NULL;
	char err[256] = "";
	assert_int_equal(logscan_new(&ls, err, sizeof err), 0);
	assert_int_equal(logscan_file(ls, "/nonexistent/x.log", NULL, NULL, NULL, err, sizeof err),
			 SB_EIO);
	assert_non_null(strstr(err, "open /nonexistent/x.log"));
	logscan_free(ls);
}

/* A line longer than the limit is matched on its head; the next line still counts from the
 * right number. */
static void test_long_line(void **state)
{
	size_t n = LOGSCAN_MAX_LINE * 3;
	char *buf = malloc(n + 64);
	assert_non_null(buf);
	memcpy(buf, "head-marker ", 12);
	memset(buf + 12, 'x', n - 12);
	size_t len = n;
	len += (size_t)sprintf(buf + len, "\ntail-marker\n");
	struct logscan *ls = NULL;
	char err[256] = "";
	assert_int_equal(logscan_new(&ls, err, sizeof err), 0);
	assert_int_equal(logscan_add(ls, "m", "-marker", err, sizeof err), 0);
	struct hits h = {0};
	assert_int_equal(logscan_buffer(ls, "b", buf, len, collect, &h, NULL, err, sizeof err), 0);
	assert_int_equal(h.n, 2);
	assert_non_null(strstr(h.lines[0], "b:1:m:head-marker xxx"));
	assert_string_equal(h.lines[1], "b:2:m:tail-marker");
	/* The same, fed through a file in 64 KiB reads. */
	char path[128];
	snprintf(path, sizeof path, "%s/long.log", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(buf, 1, len, f);
	fclose(f);
	memset(&h, 0, sizeof h);
	assert_int_equal(logscan_file(ls, path, collect, &h, NULL, err, sizeof err), 0);
	assert_int_equal(h.n, 2);
	assert_non_null(strstr(h.lines[1], ":2:m:tail-marker"));
	logscan_free(ls);
	free(buf);
}

static int stop_at_first(const struct logscan_match *m, void *arg)
{
	(*(int *)arg)++;
	return 7;
}

static void test_callback_stops(void **state)
{
	struct logscan *ls = NULL;
	assert_int_equal(logscan_new(&ls, NULL, 0), 0);
	assert_int_equal(logscan_add(ls, "any", "node=", NULL, 0), 0);
	int calls = 0;
	assert_int_equal(logscan_buffer(ls, "b", sample, strlen(sample), stop_at_first, &calls,
					NULL, NULL, 0), 7);
	assert_int_equal(calls, 1);
	logscan_free(ls);
}

static void test_parse_leader_line(void **state)
{
	struct logscan_leader l;
	const char *a = "t INFO node=n3 term=17 event=became-leader";
	assert_int_equal(logscan_parse_leader_line(a, strlen(a), &l), 1);
	assert_string_equal(l.node, "n3");
	assert_true(l.term == 17);
	/* Field order does not matter. */
	const char *b = "t INFO event=became-leader term=4 node=n-2.x";
	assert_int_equal(logscan_parse_leader_line(b, strlen(b), &l), 1);
	assert_string_equal(l.node, "n-2.x");
	assert_true(l.term == 4);
	const char *no[] = {
		"t INFO node=n1 term=3 event=became-follower",
		"t INFO node=n1 term=3 event=became-leaderish",
		"t INFO node=n1 event=became-leader",
		"t INFO term=3 event=became-leader",
		"t INFO node=n1 term=3x event=became-leader",
		"t INFO xnode=n1 term=3 event=became-leader",
		"t INFO node=n1 term=99999999999999999999 event=became-leader",
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (logscan_parse_leader_line(no[i], strlen(no[i]), &l))
			fail_msg("matched: %s", no[i]);
}

static void test_latest_leader(void **state)
{
	char p1[128], p2[128], p3[128], missing[128];
	snprintf(p1, sizeof p1, "%s/a.log", tmpdir);
	snprintf(p2, sizeof p2, "%s/b.log", tmpdir);
	snprintf(p3, sizeof p3, "%s/c.log", tmpdir);
	snprintf(missing, sizeof missing, "%s/none.log", tmpdir);
	write_file(p1, "t INFO node=n1 term=2 event=became-leader\n"
		       "t INFO node=n1 term=5 event=became-follower\n");
	write_file(p2, "t INFO node=n2 term=5 event=became-leader\n"
		       "t INFO node=n2 term=5 event=stepped-down\n");
	write_file(p3, "t INFO node=n3 term=3 event=became-leader\n");
	const char *files[] = {p1, missing, p2, p3};
	struct logscan_leader l;
	char err[256] = "";
	assert_int_equal(logscan_latest_leader(files, 4, &l, err, sizeof err), 0);
	assert_string_equal(l.node, "n2");
	assert_true(l.term == 5);
	assert_int_equal(l.line, 1);
	assert_string_equal(l.file, p2);

	/* No leader at all. */
	write_file(p1, "t INFO node=n1 term=0 event=start\n");
	const char *one[] = {p1, missing};
	assert_int_equal(logscan_latest_leader(one, 2, &l, err, sizeof err), 0);
	assert_string_equal(l.node, "");
}

/* Named groups of the matching pattern are readable from the callback; a pattern without the
 * group, or a group that took no part, gives -1; logscan_has_group answers per pattern. */
struct groups {
	char node[8][32], term[8][32], opt[8][32];
	int optlen[8];
	size_t n;
};

static int group_fn(const struct logscan_match *m, void *arg)
{
	struct groups *g = arg;
	if (g->n == 8)
		return 0;
	assert_true(logscan_group(m, "node", g->node[g->n], sizeof g->node[0]) > 0);
	assert_true(logscan_group(m, "term", g->term[g->n], sizeof g->term[0]) > 0);
	g->optlen[g->n] = logscan_group(m, "opt", g->opt[g->n], sizeof g->opt[0]);
	assert_int_equal(logscan_group(m, "nosuch", g->opt[7], sizeof g->opt[7]), -1);
	char tiny[2];
	assert_int_equal(logscan_group(m, "term", tiny, sizeof tiny), g->term[g->n][1] ? -1 : 1);
	g->n++;
	return 0;
}

static void test_named_groups(void **state)
{
	struct logscan *ls = NULL;
	char err[256];
	assert_int_equal(logscan_new(&ls, err, sizeof err), 0);
	assert_int_equal(logscan_add(ls, "lead",
				     "^(?=.*node=(?<node>\\S+))(?=.*term=(?<term>[0-9]+))"
				     ".*event=became-leader(?: (?<opt>x=1))?",
				     err, sizeof err), 0);
	assert_true(logscan_has_group(ls, "lead", "node"));
	assert_true(logscan_has_group(ls, "lead", "opt"));
	assert_false(logscan_has_group(ls, "lead", "nosuch"));
	assert_false(logscan_has_group(ls, "nosuch", "node"));
	static const char text[] = "t node=n1 term=3 event=became-leader x=1\n"
				   "garbage\n"
				   "t term=12 node=n22 event=became-leader\n";
	struct groups g = {0};
	assert_int_equal(logscan_buffer(ls, "buf", text, sizeof text - 1, group_fn, &g, NULL, err,
					sizeof err), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.node[0], "n1");
	assert_string_equal(g.term[0], "3");
	assert_int_equal(g.optlen[0], 3);
	assert_string_equal(g.opt[0], "x=1");
	assert_string_equal(g.node[1], "n22");
	assert_string_equal(g.term[1], "12");
	assert_int_equal(g.optlen[1], -1);
	logscan_free(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_on_file),
		cmocka_unit_test(test_custom_and_bad_patterns),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_parse_leader_line),
		cmocka_unit_test(test_latest_leader),
		cmocka_unit_test(test_named_groups),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
