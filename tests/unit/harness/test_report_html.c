/* Tests for harness/report/html: report.html from the fixture stores (tests/fixtures/stores),
 * from a run whose files are missing or broken, with hostile strings, and the key view of
 * `check --html`. The page's rendering in a browser is tested by tests/scripts/test_report_browser.sh. */
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

#include "checker/checker.h"
#include "harness/report/html.h"
#include "harness/report/html_data.h"
#include "lib/err.h"
#include "lib/fileutil.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_report.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	char *text = NULL, err[256];
	size_t len;
	if (file_read_all(path, 0, &text, &len, NULL, err, sizeof err))
		fail_msg("%s", err);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The part of the page from `from` to the next `to` (a copy, caller frees). */
static char *part(const char *page, const char *from, const char *to)
{
	const char *a = strstr(page, from);
	assert_non_null(a);
	const char *b = strstr(a, to);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

static char *report_of(const char *store)
{
	char out[256], err[512];
	snprintf(out, sizeof out, "%s/report.html", tmpdir);
	int rc = report_html_write_to(store, out, err, sizeof err);
	if (rc)
		fail_msg("report of %s: %s", store, err);
	return slurp(out);
}

static void test_invalid_store(void **state)
{
	char *p = report_of("tests/fixtures/stores/invalid");
	assert_non_null(strstr(p, "<span class=\"verdict v-invalid\" id=\"verdict\">invalid</span>"));
	assert_non_null(strstr(p, "register-invalid"));
	/* the anomaly's sentence, the faults by name, links to the files */
	assert_non_null(strstr(p, "data-kind=\"nonlinearizable\""));
	assert_non_null(strstr(p, "but no order of the 3 operations concurrent with it"));
	assert_non_null(strstr(p, "kill n2"));
	assert_non_null(strstr(p, "partition {n1} / {n2, n3}"));
	assert_non_null(strstr(p, "href=\"history.jsonl\""));
	assert_non_null(strstr(p, "href=\"n2/raftnode.log\""));
	/* one shaded region per fault in each chart */
	char *tp = part(p, "id=\"throughput\"", "</svg>");
	assert_int_equal(count(tp, "class=\"fault "), 2);
	assert_non_null(strstr(tp, "data-fault=\"0\""));
	assert_non_null(strstr(tp, "data-fault=\"1\""));
	free(tp);
	/* the nodes' roles from their logs: n1 led term 1, n2 term 2 */
	char *np = part(p, "id=\"nodes\"", "</svg>");
	assert_non_null(strstr(np, "n1 leader, term 1"));
	assert_non_null(strstr(np, "n2 leader, term 2"));
	assert_non_null(strstr(np, "n2 down"));
	free(np);
	/* the key view: one bad bar, three concurrent ones, the search's order on bars */
	char *kp = part(p, "id=\"keyview-0\"", "</svg>");
	assert_int_equal(count(kp, " bad"), 1);
	assert_int_equal(count(kp, " conc"), 3);
	assert_true(count(kp, " lin") >= 10);
	assert_non_null(strstr(kp, "cannot be linearized"));
	/* hovering shows the history lines: the bad op's invocation line is in its data-h */
	assert_non_null(strstr(kp, "data-line=\"411\" data-h=\"line 411: {&quot;index&quot;:410"));
	free(kp);
	free(p);
}

static void test_valid_store(void **state)
{
	char *p = report_of("tests/fixtures/stores/valid");
	assert_non_null(strstr(p, "id=\"verdict\">valid</span>"));
	assert_null(strstr(p, "class=\"key\""));
	assert_non_null(strstr(p, "None found."));
	assert_non_null(strstr(p, "id=\"latency\""));
	free(p);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(file_replace(path, text, strlen(text), 0644, err, sizeof err), 0);
}

/* A run of a system whose logs are not raftnode's (etcd, Redis): the nodes' folders hold
 * no event lines, so the role chart has no segment for a node that no fault killed. The
 * page is written all the same (it once sorted a node's empty, unallocated segment list:
 * undefined behaviour that the sanitizer build stopped on). */
static void test_foreign_logs(void **state)
{
	char cmd[512], run[128];
	snprintf(run, sizeof run, "%s/foreign", tmpdir);
	snprintf(cmd, sizeof cmd,
		 "cp -r tests/fixtures/stores/valid '%s' && rm -f '%s'/n*/raftnode.log '%s'/n*/raftnode.args",
		 run, run, run);
	assert_int_equal(system(cmd), 0);
	for (int i = 1; i <= 3; i++) {
		char nd[160];
		snprintf(nd, sizeof nd, "%s/n%d", run, i);
		write_file(nd, "etcd.log",
			   "{\"level\":\"info\",\"ts\":\"2026-11-30T08:00:58.989Z\","
			   "\"msg\":\"bdae9bbc11dd390d became leader at term 2\"}\n");
	}
	char *p = report_of(run);
	assert_non_null(strstr(p, "id=\"verdict\">valid</span>"));
	free(p);
}

/* No results.json, a history cut by a bad line, hostile strings: a page all the same, with
 * notes, and nothing from the inputs unescaped. */
static void test_broken_run(void **state)
{
	char run[128];
	snprintf(run, sizeof run, "%s/run", tmpdir);
	assert_int_equal(mkdir(run, 0755), 0);
	write_file(run, "history.jsonl",
		   "{\"index\":0,\"time\":1000,\"process\":0,\"type\":\"invoke\",\"f\":\"write\","
		   "\"key\":\"<script>alert(1)</script>\",\"value\":1}\n"
		   "{\"index\":1,\"time\":2000,\"process\":\"nemesis\",\"type\":\"invoke\","
		   "\"f\":\"<img src=x>\",\"value\":null}\n"
		   "{\"index\":2,\"time\":3000,\"process\":0,\"type\":\"ok\",\"f\":\"write\","
		   "\"key\":\"<script>alert(1)</script>\",\"value\":1}\n"
		   "this is not JSON\n");
	char *p = report_of(run);
	assert_non_null(strstr(p, "results.json is missing"));
	assert_non_null(strstr(p, "could not be read to its end"));
	assert_null(strstr(p, "<script>alert"));
	assert_null(strstr(p, "<img"));
	assert_non_null(strstr(p, "&lt;img src=x&gt;"));
	free(p);
	/* a results.json that is not JSON is a note too */
	write_file(run, "results.json", "{\"verdict\": ");
	p = report_of(run);
	assert_non_null(strstr(p, "results.json could not be read"));
	free(p);
	/* not a directory: an error */
	char err[256];
	assert_int_equal(report_html_write("/nonexistent/run", err, sizeof err), SB_EIO);
}

/* A fault kind this page has never heard of, and an anomaly kind of a later checker, are
 * shown as they are. */
static void test_generic_kinds(void **state)
{
	char run[128];
	snprintf(run, sizeof run, "%s/gen", tmpdir);
	assert_int_equal(mkdir(run, 0755), 0);
	write_file(run, "history.jsonl",
		   "{\"index\":0,\"time\":1000,\"process\":0,\"type\":\"invoke\",\"f\":\"read\","
		   "\"value\":null}\n"
		   "{\"index\":1,\"time\":2000,\"process\":0,\"type\":\"ok\",\"f\":\"read\","
		   "\"value\":null}\n");
	write_file(run, "results.json",
		   "{\n \"test\": \"t\", \"verdict\": \"invalid\",\n"
		   " \"faults\": [{\"kind\": \"clock-skew\", \"value\": {\"nodes\": [\"n3\"]},"
		   " \"start_s\": 0.0, \"end_s\": null}],\n"
		   " \"anomalies\": [{\"kind\": \"election-safety\", \"key\": null, \"text\": "
		   "\"n1 and n2 both led term 4\"},\n {\"kind\": \"replica-divergence\", "
		   "\"key\": \"x\", \"text\": \"n3 applied index 9 with another digest\"}]}\n");
	char *p = report_of(run);
	assert_non_null(strstr(p, "data-kind=\"election-safety\""));
	assert_non_null(strstr(p, "n1 and n2 both led term 4"));
	assert_non_null(strstr(p, "key &quot;x&quot;: n3 applied"));
	assert_non_null(strstr(p, "clock-skew n3"));
	assert_non_null(strstr(p, "not healed"));
	free(p);
}

/* check --html: the key view straight from a checker result. */
static void test_check_html(void **state)
{
	char hist[128], out[128], err[512];
	snprintf(hist, sizeof hist, "%s/h.jsonl", tmpdir);
	snprintf(out, sizeof out, "%s/check.html", tmpdir);
	const char *h = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
			"{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":2}\n"
			"{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
			"{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":2}\n"
			"{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
			"{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"value\":2}\n"
			"{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
			"{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n";
	write_file(tmpdir, "h.jsonl", h);
	struct chk_options opt = {.model = CHK_MODEL_REGISTER};
	struct chk_result *r = NULL;
	assert_int_equal(chk_check_file(hist, &opt, &r, err, sizeof err), 0);
	assert_int_equal(r->verdict, CHK_INVALID);
	struct report_check *rc;
	assert_int_equal(report_check_new(&rc, err, sizeof err), 0);
	assert_int_equal(report_check_add(rc, hist, r, err, sizeof err), 0);
	chk_result_free(r); /* the page keeps its own copy */
	assert_int_equal(report_check_write(rc, out, err, sizeof err), 0);
	report_check_free(rc);
	char *p = slurp(out);
	assert_non_null(strstr(p, "id=\"keyview-0\""));
	char *kp = part(p, "id=\"keyview-0\"", "</svg>");
	assert_int_equal(count(kp, " bad"), 1);
	assert_non_null(strstr(kp, "data-line=\"7\""));
	/* the order the search reached: both writes, then the read of 2 (line 5) third */
	assert_non_null(strstr(kp, "data-line=\"5\" data-h=\"line 5:"));
	assert_non_null(strstr(kp, "linearized #3"));
	free(kp);
	free(p);
}

static void test_parse_utc(void **state)
{
	double t;
	assert_int_equal(rep_parse_utc("2026-11-24T00:10:00.123456Z", &t), 0);
	assert_true(t > 1795e6 && t < 1796e6);
	double frac = t - (double)(long long)t;
	assert_true(frac > 0.1234 && frac < 0.1235);
	assert_int_equal(rep_parse_utc("yesterday", &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_store),
		cmocka_unit_test(test_valid_store),
		cmocka_unit_test(test_foreign_logs),
		cmocka_unit_test(test_broken_run),
		cmocka_unit_test(test_generic_kinds),
		cmocka_unit_test(test_check_html),
		cmocka_unit_test(test_parse_utc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
