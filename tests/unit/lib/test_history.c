/* Tests for lib/history: JSON Lines and EDN readers, values, and the writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/history.h"

static char errbuf[1024];

/* Read every event of an in-memory history; returns the count, or the (negative) error. */
static int count_mem(const char *s, size_t len, enum hformat fmt)
{
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, s, len, "t", fmt, errbuf, sizeof errbuf), 0);
	int n = 0, rc;
	while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1)
		n++;
	hreader_close(r);
	return rc < 0 ? rc : n;
}

static int count_str(const char *s)
{
	return count_mem(s, strlen(s), HFMT_AUTO);
}

/* Expect `s` to be rejected with SB_EINVAL and a message starting with `prefix` ("t:L:C:"). */
static void expect_error(const char *s, size_t len, const char *prefix, const char *word)
{
	int rc = count_mem(s, len, HFMT_AUTO);
	if (rc != SB_EINVAL || strncmp(errbuf, prefix, strlen(prefix)) ||
	    (word && !strstr(errbuf, word)))
		fail_msg("input %.60s: got rc %d, message \"%s\"; wanted %s ... %s", s, rc, errbuf,
			 prefix, word ? word : "");
}

static void test_jsonl_fields(void **state)
{
	const char *h =
		"{\"index\":0,\"time\":12,\"process\":3,\"type\":\"invoke\",\"f\":\"cas\","
		"\"key\":\"k\\u00e9\",\"value\":[1,2],\"node\":\"n1\",\"extra\":{\"a\":[true]}}\n"
		"\n   \t\r\n"
		"{ \"process\" : \"nemesis\" , \"type\" : \"info\" , \"f\" : \"kill\" , "
		"\"value\" : null , \"error\" : \"a\\\"b\\n\" }\r\n"
		"{\"process\":0,\"type\":\"fail\",\"f\":\"write\",\"key\":-7,\"value\":-1.5e3,"
		"\"error\":{\"code\":7}}\n"
		"{\"process\":9223372036854775807,\"type\":\"ok\",\"f\":\"\\ud83d\\ude00\","
		"\"value\":18446744073709551616}";
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, h, strlen(h), "t", HFMT_AUTO, errbuf, sizeof errbuf),
			 0);
	assert_int_equal(hreader_size(r), 0); /* memory: no file size */
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(hreader_format(r), HFMT_JSONL);
	assert_int_equal(ev.index, 0);
	assert_int_equal(ev.time, 12);
	assert_int_equal(ev.process, 3);
	assert_int_equal(ev.type, HTYPE_INVOKE);
	assert_string_equal(ev.f, "cas");
	assert_true(ev.has_key);
	assert_int_equal(ev.key.kind, HVAL_STR);
	assert_string_equal(ev.key.u.s, "k\xc3\xa9");
	assert_int_equal(ev.key.len, 3);
	assert_true(ev.has_value);
	assert_int_equal(ev.value.kind, HVAL_ARRAY);
	assert_int_equal(ev.value.len, 2);
	assert_int_equal(ev.value.u.items[1].kind, HVAL_INT);
	assert_int_equal(ev.value.u.items[1].u.i, 2);
	assert_string_equal(ev.node, "n1");
	assert_null(ev.error);
	assert_int_equal(ev.line, 1);

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 4);
	assert_int_equal(ev.index, -1);
	assert_int_equal(ev.time, -1);
	assert_int_equal(ev.process, HPROC_NEMESIS);
	assert_int_equal(ev.type, HTYPE_INFO);
	assert_true(ev.has_value);
	assert_int_equal(ev.value.kind, HVAL_NULL);
	assert_false(ev.has_key);
	assert_string_equal(ev.error, "a\"b\n");
	assert_null(ev.node);

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 5);
	assert_int_equal(ev.type, HTYPE_FAIL);
	assert_int_equal(ev.key.kind, HVAL_INT);
	assert_int_equal(ev.key.u.i, -7);
	assert_int_equal(ev.value.kind, HVAL_FLOAT);
	assert_true(ev.value.u.d == -1500.0);
	assert_string_equal(ev.error, "{\"code\":7}");

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 6);
	assert_int_equal(ev.process, INT64_MAX);
	assert_string_equal(ev.f, "\xf0\x9f\x98\x80");
	assert_int_equal(ev.value.kind, HVAL_BIGINT); /* too big for int64: kept exactly */
	assert_string_equal(ev.value.u.s, "18446744073709551616");
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 0);
	hreader_close(r);

	assert_int_equal(count_str(""), 0);
	assert_int_equal(count_str("\n\n  \n"), 0);
}

/* The value of `"value":TEXT` in a one-line history, or fail. */
static struct hval one_value(const char *text, char *keep, size_t keeplen)
{
	char line[256];
	snprintf(line, sizeof line, "{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"value\":%s}",
		 text);
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, line, strlen(line), "t", HFMT_JSONL, errbuf,
					  sizeof errbuf),
			 0);
	if (hreader_next(r, &ev, errbuf, sizeof errbuf) != 1)
		fail_msg("%s: %s", text, errbuf);
	struct hval v = ev.value;
	hval_format(keep, keeplen, &v);
	hreader_close(r);
	return v;
}

static void test_json_numbers(void **state)
{
	char k[64];
	struct hval v;
	v = one_value("123456789012345678", k, sizeof k);
	assert_int_equal(v.kind, HVAL_INT);
	assert_int_equal(v.u.i, 123456789012345678ll);
	v = one_value("9223372036854775807", k, sizeof k);
	assert_int_equal(v.kind, HVAL_INT);
	assert_int_equal(v.u.i, INT64_MAX);
	v = one_value("-9223372036854775808", k, sizeof k);
	assert_int_equal(v.kind, HVAL_INT);
	assert_true(v.u.i == INT64_MIN);
	v = one_value("9223372036854775808", k, sizeof k);
	assert_int_equal(v.kind, HVAL_BIGINT);
	assert_string_equal(k, "9223372036854775808");
	v = one_value("-0", k, sizeof k);
	assert_int_equal(v.kind, HVAL_INT);
	assert_int_equal(v.u.i, 0);
	v = one_value("0", k, sizeof k);
	assert_int_equal(v.kind, HVAL_INT);
	v = one_value("1e3", k, sizeof k);
	assert_int_equal(v.kind, HVAL_FLOAT);
	assert_true(v.u.d == 1000.0);
	v = one_value("-2.5E-1", k, sizeof k);
	assert_true(v.kind == HVAL_FLOAT && v.u.d == -0.25);
	v = one_value("[0,-1,[],{}]", k, sizeof k);
	assert_int_equal(v.kind, HVAL_ARRAY);
	assert_string_equal(k, "[0,-1,[],{}]");
	/* too large for a double: refused (a fuzz finding: it read back as null) */
	const char *big = "{\"process\":0,\"type\":\"ok\",\"f\":\"cas\",\"value\":[1,244e4444444444444444]}";
	assert_int_equal(count_mem(big, strlen(big), HFMT_JSONL), SB_EINVAL);
	assert_non_null(strstr(errbuf, "t:1:47: number out of range"));
	assert_int_equal(count_str("[{:process 0 :type :ok :f :r :value 1e400}]"), SB_EINVAL);
	assert_non_null(strstr(errbuf, "out of range"));
	assert_int_equal(count_str("[{:process 0 :type :ok :f :r :value 1/0}]"), SB_EINVAL);
	assert_int_equal(count_str("[{:process 0 :type :ok :f :r :value ##Inf}]"), 1);
	const char *bad[] = {"-", "01", "1.", ".5", "1e", "+1", "0x10", "1e+", "--1", "NaN"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char line[128];
		snprintf(line, sizeof line,
			 "{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"value\":%s}", bad[i]);
		if (count_mem(line, strlen(line), HFMT_JSONL) != SB_EINVAL)
			fail_msg("number %s accepted", bad[i]);
		assert_non_null(strstr(errbuf, "t:1:"));
	}
}

static void test_edn_fields(void **state)
{
	const char *h =
		"; a comment\n"
		"[{:process 1, :type :invoke, :f :cas, :value [1 2], :time 5, :index 0}\n"
		" {:process :nemesis :type :info :f :start :value #{:n1 \"n2\"}\n"
		"  :error :timeout}\n"
		" ; between\n"
		" {:process 2 :type :ok :f :read :value {:a (1 2.5 nil true false)} :node \"n3\"\n"
		"  :error [:not-found \"gone\"] :unknown #{} :key :k1}\n"
		" #jepsen.history.Op{:index 3 :time 9 :type :fail :process 4 :f \"write\" "
		":value -3N}\n"
		" {:process 5 :type :ok :f :read :value \\a :extra #_ {:ignored 1} 7}]\n"
		"; trailing comment";
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, h, strlen(h), "t", HFMT_AUTO, errbuf, sizeof errbuf),
			 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(hreader_format(r), HFMT_EDN);
	assert_int_equal(ev.line, 2);
	assert_int_equal(ev.process, 1);
	assert_int_equal(ev.type, HTYPE_INVOKE);
	assert_string_equal(ev.f, "cas");
	assert_int_equal(ev.value.kind, HVAL_ARRAY);
	assert_int_equal(ev.value.len, 2);
	assert_int_equal(ev.time, 5);
	assert_int_equal(ev.index, 0);

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 3);
	assert_int_equal(ev.process, HPROC_NEMESIS);
	assert_int_equal(ev.type, HTYPE_INFO);
	assert_int_equal(ev.value.kind, HVAL_ARRAY);
	assert_int_equal(ev.value.len, 2);
	assert_true(ev.value.u.items[0].keyword);
	assert_string_equal(ev.value.u.items[0].u.s, "n1");
	assert_false(ev.value.u.items[1].keyword);
	assert_string_equal(ev.error, "timeout");

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 6);
	assert_int_equal(ev.value.kind, HVAL_MAP);
	assert_int_equal(ev.value.len, 1);
	const struct hval *list = &ev.value.u.items[1];
	assert_int_equal(list->kind, HVAL_ARRAY);
	assert_int_equal(list->len, 5);
	assert_int_equal(list->u.items[1].kind, HVAL_FLOAT);
	assert_int_equal(list->u.items[2].kind, HVAL_NULL);
	assert_int_equal(list->u.items[3].kind, HVAL_BOOL);
	assert_int_equal(list->u.items[3].u.b, 1);
	assert_int_equal(list->u.items[4].u.b, 0);
	assert_string_equal(ev.node, "n3");
	assert_string_equal(ev.error, "[\"not-found\",\"gone\"]");
	assert_true(ev.has_key);
	assert_string_equal(ev.key.u.s, "k1");

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 8);
	assert_int_equal(ev.index, 3);
	assert_int_equal(ev.type, HTYPE_FAIL);
	assert_string_equal(ev.f, "write");
	assert_int_equal(ev.value.kind, HVAL_INT);
	assert_int_equal(ev.value.u.i, -3);

	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 9);
	assert_int_equal(ev.value.kind, HVAL_STR);
	assert_string_equal(ev.value.u.s, "a");
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 0);
	hreader_close(r);

	/* lists, one map per line, empty histories */
	assert_int_equal(count_str("({:process 1 :type :ok :f :read})"), 1);
	assert_int_equal(count_str("{:process 1 :type :invoke :f :read}\n"
				   "{:process 1 :type :ok :f :read :value 3}\n"),
			 2);
	assert_int_equal(count_str("[]"), 0);
	assert_int_equal(count_str("; nothing\n()\n; at all"), 0);
	assert_int_equal(count_mem("[{:process 1 :type :ok :f :read}]", 33, HFMT_EDN), 1);
}

/* Each malformed input is SB_EINVAL with a message naming the right line and column. */
static void test_malformed(void **state)
{
	const char *ok = "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n";
	char b[512];
#define TWO(second) (snprintf(b, sizeof b, "%s%s", ok, second), b)
#define expect2(second, prefix, word)                                                   \
	do {                                                                             \
		TWO(second);                                                             \
		expect_error(b, strlen(b), prefix, word);                                \
	} while (0)
	/* truncated line (at end of file and in the middle) */
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"re", "t:2:",
		     "truncated");
	expect2("{\"process\":1,\"type\":\"ok\",\n", "t:2:", "truncated");
	expect2("{\"process\":1,\"type\":\"ok\",\"value\":[1,2\n", "t:2:",
		     "truncated");
	/* wrong field types */
	expect2("{\"process\":-1,\"type\":\"ok\",\"f\":\"read\"}", "t:2:12:",
		     "process");
	expect2("{\"process\":1.5,\"type\":\"ok\",\"f\":\"read\"}", "t:2:12:",
		     "process");
	expect2("{\"process\":1,\"type\":3,\"f\":\"read\"}", "t:2:21:",
		     "type");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":[\"read\"]}",
		     "t:2:", "\"f\" must be a string");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"key\":[1]}",
		     "t:2:", "key");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"time\":\"5\"}",
		     "t:2:", "time");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"time\":-2}", "t:2:", "time");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"index\":-2}",
		     "t:2:", "index");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"node\":5}",
		     "t:2:", "node");
	expect2("{\"process\":1,\"process\":2,\"type\":\"ok\",\"f\":\"r\"}",
		     "t:2:", "twice");
	/* unknown type */
	expect2("{\"process\":1,\"type\":\"okay\",\"f\":\"read\"}", "t:2:21:",
		     "unknown type");
	/* missing fields */
	expect2("{\"type\":\"ok\",\"f\":\"read\"}", "t:2:1:", "process");
	expect2("{\"process\":1,\"f\":\"read\"}", "t:2:1:", "type");
	expect2("{\"process\":1,\"type\":\"ok\"}", "t:2:1:", "no f");
	expect2("{}", "t:2:1:", "process");
	/* garbage, trailing data, bad JSON */
	expect2("hello", "t:2:1:", "expected '{'");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\"}}", "t:2:34:",
		     NULL);
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"value\":tru}",
		     "t:2:", NULL);
	expect2("{\"process\":01,\"type\":\"ok\",\"f\":\"r\"}", "t:2:", NULL);
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\\q\"}", "t:2:",
		     "escape");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"r\\u12\"}", "t:2:",
		     "escape");
	/* NUL and control bytes outside strings; a raw control byte inside a JSON string */
	memcpy(b, ok, strlen(ok));
	memcpy(b + strlen(ok), "{\"process\":1,\0\"type\"}", 22);
	expect_error(b, strlen(ok) + 22, "t:2:14:", "control character");
	expect2("\x01{}", "t:2:1:", "control character");
	expect2("{\"process\":1,\"type\":\"ok\",\"f\":\"a\x02\"}", "t:2:",
		     "control character");
	/* invalid UTF-8 inside a string passes through */
	assert_int_equal(count_str(TWO("{\"process\":1,\"type\":\"ok\",\"f\":\"\xff\xfe\"}")), 2);
	/* deep nesting is refused, not a stack overflow */
	{
		static char deep[4096];
		size_t n = (size_t)snprintf(deep, sizeof deep,
					    "{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"value\":");
		for (int i = 0; i < 1000; i++)
			deep[n++] = '[';
		deep[n] = '\0';
		expect_error(deep, n, "t:1:", "nested");
	}

	/* EDN */
	expect_error("[{:process 1 :type :ok :f :read}\n {:process 1 :type :ok", 54, "t:2:2:",
		     "truncated");
	expect_error("[{:process 1 :type :ok :f :read}\n", 33, "t:2:1:", "truncated");
	expect_error("[{:process 1 :type :okk :f :read}]", 34, "t:1:2:", "unknown :type");
	expect_error("[{:process 1 :type :ok :f :read}\n{:process x :type :ok :f :read}]", 65,
		     "t:2:1:", ":process");
	expect_error("[{:process 1 :type :ok :f :read}\n\n  {:process 2 :f :read}]", 58,
		     "t:3:3:", ":type");
	expect_error("[{:type :ok :f :read}]", 22, "t:1:2:", ":process");
	expect_error("[{:process 1 :type :ok}]", 24, "t:1:2:", ":f");
	expect_error("[{:process 1 :type :ok :f :read :time \"x\"}]", 43, "t:1:2:", ":time");
	expect_error("[{:process 1 :type :ok :f :read :time -5}]", 42, "t:1:2:", ":time");
	expect_error("[{:process 1 :type :ok :f}]", 27, "t:1:2:", "key without a value");
	expect_error("[{:process 1 :type :ok :f :read}] [", 35, "t:1:35:", "after");
	expect_error("[{:process 1 :type :ok :f :read} 5]", 35, "t:1:34:", "operation map");
	expect_error("[{:process 1 :type :ok :f :read}\n {:process 1 :value \"abc}]", 59,
		     "t:2:21:", "string never closed");
	expect_error("[{:process 1 :type :ok :f :read :value 1x2}]", 44, "t:1:40:", "number");
	expect_error("[{:process 1 :type :ok :f :read}\n\x01]", 35, "t:2:1:", "control");
	expect_error("[{:process 1 :type \0:ok :f :read}]", 34, "t:1:20:", "control");
	expect_error("[{:process 1 :type :ok :f :read)]", 33, "t:1:32:", "unexpected ')'");
#undef TWO
}

/* A long line of garbage is rejected early, naming its line; an event over the limit is
 * rejected; a valid 10 MB event is accepted (the limit is HREADER_MAX_EVENT, 64 MiB). */
static void test_long_lines(void **state)
{
	char path[] = "/tmp/test_history_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n");
	fprintf(f, "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":\"");
	for (int i = 0; i < 10 * 1024 * 1024; i++)
		fputc('x', f);
	fprintf(f, "\"}\n{\"process\":2,\"type\":\"ok\",\"f\":\"read\",\"value\":[");
	for (int i = 0; i < 1024 * 1024; i++)
		fprintf(f, "%d,", i % 10);
	fprintf(f, "0]}\n");
	/* 10 MB of garbage without a newline */
	for (int i = 0; i < 10 * 1024 * 1024; i++)
		fputc("#$%&"[i % 4], f);
	fclose(f);

	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.value.kind, HVAL_STR);
	assert_int_equal(ev.value.len, 10 * 1024 * 1024);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 3);
	assert_int_equal(ev.value.len, 1024 * 1024 + 1);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, ":4:1: expected '{'"));
	/* the error is sticky */
	errbuf[0] = '\0';
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, ":4:1: expected '{'"));
	hreader_close(r);

	/* over the limit: a string that never ends */
	size_t big = (size_t)HREADER_MAX_EVENT + 100;
	char *m = malloc(big);
	assert_non_null(m);
	const char *head = "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":\"";
	memcpy(m, head, strlen(head));
	memset(m + strlen(head), 'y', big - strlen(head));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n", f);
	assert_int_equal(fwrite(m, 1, big, f), big);
	fclose(f);
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, ":2:1: event longer than"));
	hreader_close(r);
	/* the same from memory */
	expect_error(m, big, "t:1:1:", "longer than");
	/* EDN: one map over the limit */
	memcpy(m, "[{:value \"", 10);
	f = fopen(path, "w");
	assert_int_equal(fwrite(m, 1, big, f), big);
	fclose(f);
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, ":1:1: event longer than"));
	hreader_close(r);
	free(m);
	unlink(path);
}

/* After an event far larger than the read buffer, the buffer gives its room back (and a
 * file this large is read through a lib/bigmem block): the events after it, and the bytes
 * of them already read when the buffer shrank, come out whole and in order. */
static void test_buffer_shrinks_after_large_event(void **state)
{
	char path[] = "/tmp/test_history_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	for (int round = 0; round < 3; round++) {
		fprintf(f, "{\"index\":%d,\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":\"",
			round * 100000);
		for (int i = 0; i < 3 * 1024 * 1024 + round * 4099; i++)
			fputc('a' + (i + round) % 26, f);
		fprintf(f, "\"}\n");
		for (int i = 1; i < 20000; i++)
			fprintf(f, "{\"index\":%d,\"process\":%d,\"type\":\"ok\",\"f\":\"write\",\"value\":%d}\n",
				round * 100000 + i, i % 7, i * 3);
	}
	fclose(f);
	struct hreader *r;
	struct hevent ev;
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_size(r), (uint64_t)st.st_size); /* a regular file: its size */
	for (int round = 0; round < 3; round++) {
		assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
		assert_int_equal(ev.index, round * 100000);
		assert_int_equal(ev.value.kind, HVAL_STR);
		assert_int_equal(ev.value.len, 3 * 1024 * 1024 + round * 4099);
		for (uint32_t i = 0; i < ev.value.len; i += 4093)
			assert_int_equal(ev.value.u.s[i], 'a' + (int)((i + (uint32_t)round) % 26));
		for (int i = 1; i < 20000; i++) {
			assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
			assert_int_equal(ev.index, round * 100000 + i);
			assert_int_equal(ev.process, i % 7);
			assert_string_equal(ev.f, "write");
			assert_int_equal(ev.value.kind, HVAL_INT);
			assert_int_equal(ev.value.u.i, i * 3);
		}
	}
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 0);
	hreader_close(r);
	unlink(path);
}

/* Files are read in chunks: events that straddle chunk boundaries read the same as from
 * memory, for both formats. */
static void test_file_matches_memory(void **state)
{
	for (int edn = 0; edn < 2; edn++) {
		char path[] = "/tmp/test_history_XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		FILE *f = fdopen(fd, "w");
		size_t cap = 8u << 20, len = 0;
		char *mem = malloc(cap);
		assert_non_null(mem);
		if (edn)
			len += (size_t)sprintf(mem + len, "; history\n[");
		for (int i = 0; len < cap - 4096; i++) {
			if (edn)
				len += (size_t)sprintf(mem + len,
						       "{:process %d,\n :type :ok, :f :write, "
						       ":value [%d \"%*s\"]} ; c\n",
						       i % 7, i, i % 50, "");
			else
				len += (size_t)sprintf(mem + len,
						       "{\"index\":%d,\"process\":%d,\"type\":\"ok\","
						       "\"f\":\"write\",\"value\":[%d,\"%*s\"]}\n",
						       i, i % 7, i, i % 50, "");
		}
		if (edn)
			len += (size_t)sprintf(mem + len, "]");
		assert_int_equal(fwrite(mem, 1, len, f), len);
		fclose(f);
		struct hreader *a, *b;
		struct hevent ea, eb;
		assert_int_equal(hreader_open(&a, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
		assert_int_equal(hreader_open_mem(&b, mem, len, path, HFMT_AUTO, errbuf,
						  sizeof errbuf),
				 0);
		int n = 0;
		for (;;) {
			int ra = hreader_next(a, &ea, errbuf, sizeof errbuf);
			if (ra < 0)
				fail_msg("%s", errbuf);
			int rb = hreader_next(b, &eb, errbuf, sizeof errbuf);
			assert_int_equal(ra, rb);
			if (!ra)
				break;
			assert_int_equal(ea.line, eb.line);
			assert_int_equal(ea.process, eb.process);
			assert_true(hval_equal(&ea.value, &eb.value));
			assert_int_equal(ea.value.u.items[0].u.i, n);
			n++;
		}
		assert_true(n > 50000);
		hreader_close(a);
		hreader_close(b);
		free(mem);
		unlink(path);
	}
}

/* Every file of the Knossos corpus reads, with as many events as it has ":type" keys. */
static void read_corpus_dir(const char *dir, int *files, long *events)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("opendir %s: %s (run from the repository root)", dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			read_corpus_dir(path, files, events);
			continue;
		}
		size_t n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".edn"))
			continue;
		/* expected count */
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		char *text = malloc((size_t)st.st_size + 1);
		assert_non_null(text);
		assert_int_equal(fread(text, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		text[st.st_size] = '\0';
		fclose(f);
		long want = 0;
		for (char *p = text; (p = strstr(p, ":type")); p++)
			want++;
		free(text);

		struct hreader *r;
		struct hevent ev;
		assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
		long got = 0;
		int rc;
		while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1)
			got++;
		if (rc < 0)
			fail_msg("%s", errbuf);
		assert_int_equal(hreader_format(r), HFMT_EDN);
		hreader_close(r);
		if (got != want || got == 0)
			fail_msg("%s: %ld events, expected %ld", path, got, want);
		(*files)++;
		*events += got;
	}
	closedir(d);
}

static void test_corpus(void **state)
{
	int files = 0;
	long events = 0;
	read_corpus_dir("tests/fixtures/knossos", &files, &events);
	assert_int_equal(files, 122);
	assert_int_equal(events, 48500);
}

static void test_values(void **state)
{
	struct hval i3 = {.kind = HVAL_INT, .u.i = 3};
	struct hval f3 = {.kind = HVAL_FLOAT, .u.d = 3.0};
	struct hval f35 = {.kind = HVAL_FLOAT, .u.d = 3.5};
	struct hval s = {.kind = HVAL_STR, .len = 3, .u.s = "a\"\n"};
	struct hval kw = {.kind = HVAL_STR, .keyword = 1, .len = 3, .u.s = "a\"\n"};
	struct hval nul = {.kind = HVAL_NULL};
	struct hval items[3] = {i3, s, nul};
	struct hval arr = {.kind = HVAL_ARRAY, .len = 3, .u.items = items};
	struct hval items2[3] = {f3, kw, nul};
	struct hval arr2 = {.kind = HVAL_ARRAY, .len = 3, .u.items = items2};
	assert_true(hval_equal(&i3, &f3));
	assert_int_equal(hval_hash(&i3), hval_hash(&f3));
	assert_false(hval_equal(&i3, &f35));
	assert_false(hval_equal(&i3, &s));
	assert_true(hval_equal(&arr, &arr2));
	assert_int_equal(hval_hash(&arr), hval_hash(&arr2));
	assert_false(hval_equal(&arr, &i3));

	char buf[64];
	assert_int_equal(hval_format(buf, sizeof buf, &arr), strlen("[3,\"a\\\"\\n\",null]"));
	assert_string_equal(buf, "[3,\"a\\\"\\n\",null]");
	hval_format(buf, sizeof buf, &f35);
	assert_string_equal(buf, "3.5");
	hval_format(buf, sizeof buf, &f3);
	assert_string_equal(buf, "3.0");
	/* truncation */
	size_t need = hval_format(buf, 8, &arr);
	assert_int_equal(need, strlen("[3,\"a\\\"\\n\",null]"));
	assert_int_equal(strlen(buf), 7);
	assert_string_equal(buf + 4, "...");

	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	assert_int_equal(json_write_string(f, "x\0y\x1f\\", 5), 0);
	assert_int_equal(hval_write_json(f, &arr), 0);
	fclose(f);
	assert_string_equal(out, "\"x\\u0000y\\u001f\\\\\"[3,\"a\\\"\\n\",null]");
	free(out);
}

/* ---- writer ------------------------------------------------------------------------------ */

static void test_writer_roundtrip(void **state)
{
	char path[] = "/tmp/test_history_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct hwriter *w;
	assert_int_equal(hwriter_open(&w, path, errbuf, sizeof errbuf), 0);

	struct hval pair[2] = {{.kind = HVAL_INT, .u.i = 1}, {.kind = HVAL_STR, .len = 4,
							       .u.s = "t\xc3\xa9\n"}};
	struct hval mapitems[2] = {{.kind = HVAL_STR, .len = 1, .u.s = "k"},
				   {.kind = HVAL_FLOAT, .u.d = 0.25}};
	struct hevent in[4];
	memset(in, 0, sizeof in);
	in[0] = (struct hevent){.time = 100, .process = 0, .type = HTYPE_INVOKE, .f = "cas",
				.has_key = 1, .key = {.kind = HVAL_STR, .len = 2, .u.s = "k1"},
				.has_value = 1,
				.value = {.kind = HVAL_ARRAY, .len = 2, .u.items = pair},
				.node = "n\"1"};
	in[1] = (struct hevent){.time = 200, .process = 0, .type = HTYPE_FAIL, .f = "cas",
				.has_key = 1, .key = {.kind = HVAL_INT, .u.i = -5},
				.has_value = 1,
				.value = {.kind = HVAL_MAP, .len = 1, .u.items = mapitems},
				.error = "mismatch"};
	in[2] = (struct hevent){.time = -1, .process = HPROC_NEMESIS, .type = HTYPE_INFO,
				.f = "kill", .has_value = 1, .value = {.kind = HVAL_NULL}};
	in[3] = (struct hevent){.time = 300, .process = 7, .type = HTYPE_OK, .f = "read"};
	for (int i = 0; i < 4; i++) {
		in[i].index = 99; /* the writer assigns it */
		assert_int_equal(hwriter_append(w, &in[i], errbuf, sizeof errbuf), 0);
		assert_int_equal(in[i].index, i);
	}
	assert_int_equal(hwriter_sync(w, errbuf, sizeof errbuf), 0);
	assert_int_equal(hwriter_close(w, errbuf, sizeof errbuf), 0);

	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
		assert_int_equal(hreader_format(r), HFMT_JSONL);
		assert_int_equal(ev.index, i);
		assert_int_equal(ev.line, i + 1);
		assert_int_equal(ev.time, in[i].time);
		assert_int_equal(ev.process, in[i].process);
		assert_int_equal(ev.type, in[i].type);
		assert_string_equal(ev.f, in[i].f);
		assert_int_equal(ev.has_key, in[i].has_key);
		if (ev.has_key)
			assert_true(hval_equal(&ev.key, &in[i].key));
		assert_int_equal(ev.has_value, in[i].has_value);
		if (ev.has_value)
			assert_true(hval_equal(&ev.value, &in[i].value));
		if (in[i].node)
			assert_string_equal(ev.node, in[i].node);
		else
			assert_null(ev.node);
		if (in[i].error)
			assert_string_equal(ev.error, in[i].error);
		else
			assert_null(ev.error);
	}
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 0);
	hreader_close(r);
	unlink(path);

	/* events the reader would refuse are refused */
	assert_int_equal(hwriter_open(&w, path, errbuf, sizeof errbuf), 0);
	struct hevent bad = {.process = -2, .type = HTYPE_OK, .f = "read"};
	assert_int_equal(hwriter_append(w, &bad, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "process -2"));
	bad.process = 1;
	bad.f = NULL;
	assert_int_equal(hwriter_append(w, &bad, errbuf, sizeof errbuf), SB_EINVAL);
	bad.f = "read";
	bad.type = (enum htype)7;
	assert_int_equal(hwriter_append(w, &bad, errbuf, sizeof errbuf), SB_EINVAL);
	bad.type = HTYPE_OK;
	bad.has_key = 1;
	bad.key.kind = HVAL_ARRAY;
	assert_int_equal(hwriter_append(w, &bad, errbuf, sizeof errbuf), SB_EINVAL);
	assert_int_equal(hwriter_close(w, errbuf, sizeof errbuf), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(path);

	/* a path that cannot be created */
	assert_int_equal(hwriter_open(&w, "/nonexistent-dir/h.jsonl", errbuf, sizeof errbuf),
			 SB_EIO);
	assert_non_null(strstr(errbuf, "/nonexistent-dir/h.jsonl"));
	assert_int_equal(hwriter_close(NULL, errbuf, sizeof errbuf), 0);
}

#define NTHREADS 4
#define PER_THREAD 2000

struct wargs {
	struct hwriter *w;
	int id;
};

static void *writer_thread(void *arg)
{
	struct wargs *a = arg;
	char e[256];
	char pad[200];
	memset(pad, 'a' + a->id, sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	for (int i = 0; i < PER_THREAD; i++) {
		struct hval v = {.kind = HVAL_INT, .u.i = i};
		struct hevent ev = {.time = i, .process = a->id, .type = HTYPE_OK, .f = "write",
				    .has_value = 1, .value = v,
				    .node = pad + (size_t)(i % 150)};
		if (hwriter_append(a->w, &ev, e, sizeof e))
			return (void *)1;
	}
	return NULL;
}

static void test_writer_threads(void **state)
{
	char path[] = "/tmp/test_history_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct hwriter *w;
	assert_int_equal(hwriter_open(&w, path, errbuf, sizeof errbuf), 0);
	pthread_t th[NTHREADS];
	struct wargs args[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct wargs){w, i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		void *res;
		pthread_join(th[i], &res);
		assert_null(res);
	}
	assert_int_equal(hwriter_close(w, errbuf, sizeof errbuf), 0);

	struct hreader *r;
	struct hevent ev;
	int next[NTHREADS] = {0};
	assert_int_equal(hreader_open(&r, path, HFMT_JSONL, errbuf, sizeof errbuf), 0);
	int64_t n = 0;
	int rc;
	while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1) {
		assert_int_equal(ev.index, n); /* dense, in file order */
		n++;
		assert_true(ev.process >= 0 && ev.process < NTHREADS);
		/* each thread's events in its own order, none lost or torn */
		assert_int_equal(ev.value.u.i, next[ev.process]);
		assert_int_equal(ev.time, next[ev.process]);
		assert_int_equal(strlen(ev.node), 199 - (size_t)(next[ev.process] % 150));
		next[ev.process]++;
	}
	if (rc < 0)
		fail_msg("%s", errbuf);
	assert_int_equal(n, NTHREADS * PER_THREAD);
	hreader_close(r);
	unlink(path);
}

/* A full disk is reported as such; nothing crashes, and the writer stays usable. */
static void test_writer_enospc(void **state)
{
	struct hwriter *w;
	if (access("/dev/full", W_OK) != 0)
		skip();
	assert_int_equal(hwriter_open(&w, "/dev/full", errbuf, sizeof errbuf), 0);
	struct hevent ev = {.time = 1, .process = 1, .type = HTYPE_INVOKE, .f = "read"};
	assert_int_equal(hwriter_append(w, &ev, errbuf, sizeof errbuf), SB_EIO);
	assert_non_null(strstr(errbuf, "disk full"));
	assert_non_null(strstr(errbuf, "/dev/full"));
	assert_int_equal(hwriter_append(w, &ev, errbuf, sizeof errbuf), SB_EIO);
	/* index not consumed by failed appends */
	assert_int_equal(ev.index, 0);
	errbuf[0] = '\0';
	assert_int_equal(hwriter_close(w, errbuf, sizeof errbuf), SB_EIO);
	assert_non_null(strstr(errbuf, "disk full"));
}

/* On a tiny tmpfs the disk really fills in the middle of a line: the writer must report it
 * and leave only whole lines, all of which read back. Needs root (mount); skipped otherwise. */
static void test_writer_tiny_fs(void **state)
{
	char dir[] = "/tmp/test_history_fs_XXXXXX";
	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=16k") != 0) {
		rmdir(dir);
		skip();
	}
	char path[256];
	snprintf(path, sizeof path, "%s/h.jsonl", dir);
	struct hwriter *w;
	int rc = hwriter_open(&w, path, errbuf, sizeof errbuf);
	int appended = 0, first_fail = 0;
	char msg[1024] = "";
	char node[200];
	memset(node, 'n', sizeof node - 1);
	node[sizeof node - 1] = '\0';
	if (rc == 0) {
		for (int i = 0; i < 1000; i++) {
			struct hevent ev = {.time = i, .process = i % 5, .type = HTYPE_OK,
					    .f = "write", .node = node + (i % 37)};
			if (hwriter_append(w, &ev, errbuf, sizeof errbuf)) {
				first_fail = i;
				snprintf(msg, sizeof msg, "%s", errbuf);
				break;
			}
			appended++;
		}
		hwriter_close(w, NULL, 0);
	}
	/* read the file back before unmounting */
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	if (f) {
		text = malloc(64 << 10);
		len = fread(text, 1, 64 << 10, f);
		fclose(f);
	}
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	assert_int_equal(rc, 0);
	assert_non_null(text);
	assert_true(first_fail > 0);
	if (!strstr(msg, "disk full"))
		fail_msg("message: %s", msg);
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, text, len, "tiny", HFMT_JSONL, errbuf, sizeof errbuf),
			 0);
	int n = 0;
	while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1) {
		assert_int_equal(ev.index, n);
		n++;
	}
	if (rc < 0)
		fail_msg("%s", errbuf);
	assert_int_equal(n, appended);
	assert_true(len > 0 && text[len - 1] == '\n');
	hreader_close(r);
	free(text);
}

/* Binary garbage in either format, and one format read as the other: an error naming the
 * line, never a crash. */
static void test_garbage(void **state)
{
	static unsigned char junk[1 << 16];
	uint64_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		junk[i] = (unsigned char)(x >> 56);
	}
	junk[0] = '{'; /* get past the first byte */
	for (int fmt = HFMT_JSONL; fmt <= HFMT_EDN; fmt++) {
		int rc = count_mem((const char *)junk, sizeof junk, (enum hformat)fmt);
		assert_int_equal(rc, SB_EINVAL);
		assert_int_equal(strncmp(errbuf, "t:1:", 4), 0);
	}
	const char *edn = "[{:process 1 :type :ok :f :read}]";
	assert_int_equal(count_mem(edn, strlen(edn), HFMT_JSONL), SB_EINVAL);
	assert_non_null(strstr(errbuf, "t:1:1:"));
	const char *json = "{\"process\":1,\"type\":\"ok\",\"f\":\"r\"}";
	assert_int_equal(count_mem(json, strlen(json), HFMT_EDN), SB_EINVAL);
	assert_non_null(strstr(errbuf, "t:1:"));
}

struct trickle {
	int fd;
	const char *text;
};

/* Write the text a few bytes at a time, so the reader sees many short reads. */
static void *trickle_thread(void *arg)
{
	struct trickle *t = arg;
	size_t len = strlen(t->text), off = 0, step = 1;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		ssize_t w = write(t->fd, t->text + off, n);
		if (w <= 0)
			break;
		off += (size_t)w;
		step = step % 13 + 1;
		if (off % 97 == 0)
			usleep(100);
	}
	close(t->fd);
	return NULL;
}

/* "-" reads standard input; a pipe delivers the history in small pieces. */
static void test_stdin_pipe(void **state)
{
	const char *texts[2] = {
		"{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
		"{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n\n"
		"{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":"
		"[\"n1\",\"n2\"]}\n",
		"; from Knossos\n[{:process 1, :type :invoke, :f :write, :value 1}\n"
		" {:process 1, :type :ok, :f :write,\n  :value 1} ; done\n"
		" {:process :nemesis, :type :info, :f :kill, :value [\"n1\" \"n2\"]}]\n"};
	int saved = dup(0);
	assert_true(saved >= 0);
	for (int i = 0; i < 2; i++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		assert_int_equal(dup2(p[0], 0), 0);
		close(p[0]);
		struct trickle t = {p[1], texts[i]};
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, trickle_thread, &t), 0);
		struct hreader *r;
		struct hevent ev;
		assert_int_equal(hreader_open(&r, "-", HFMT_AUTO, errbuf, sizeof errbuf), 0);
		assert_int_equal(hreader_size(r), 0); /* a pipe: unknown */
		int n = 0, rc;
		while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1) {
			n++;
			if (n == 3) {
				assert_int_equal(ev.process, HPROC_NEMESIS);
				assert_int_equal(ev.value.len, 2);
				assert_string_equal(ev.value.u.items[1].u.s, "n2");
			}
		}
		if (rc < 0)
			fail_msg("%s", errbuf);
		assert_int_equal(n, 3);
		assert_int_equal(hreader_format(r), i ? HFMT_EDN : HFMT_JSONL);
		hreader_close(r);
		pthread_join(th, NULL);
	}
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
}

static void test_bom_and_first_line(void **state)
{
	const char *h = "\xef\xbb\xbf{\"process\":1,\"type\":\"ok\",\"f\":\"r\"}\n";
	assert_int_equal(count_str(h), 1);
	assert_int_equal(count_str("\xef\xbb\xbf[{:process 1 :type :ok :f :r}]"), 1);
	expect_error("\xef\xbb\xbf{\"process\":x}", 16, "t:1:12:", NULL);

	/* a piece of a larger file keeps the file's line numbers */
	const char *piece = "{\"process\":1,\"type\":\"ok\",\"f\":\"r\"}\n\n{\"process\":2}\n";
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, piece, strlen(piece), "big.jsonl", HFMT_JSONL,
					  errbuf, sizeof errbuf),
			 0);
	hreader_set_line(r, 1001);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(ev.line, 1001);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "big.jsonl:1003:1:"));
	hreader_close(r);
}

static void test_open_errors(void **state)
{
	struct hreader *r;
	assert_int_equal(hreader_open(&r, "/nonexistent/file.jsonl", HFMT_AUTO, errbuf,
				      sizeof errbuf),
			 SB_EINVAL);
	assert_null(r);
	assert_non_null(strstr(errbuf, "/nonexistent/file.jsonl"));
	assert_int_equal(hreader_open(&r, "/tmp", HFMT_AUTO, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "directory"));
	hreader_close(NULL);
}


/* index, time and process beyond 64 bits: the message says the number is out of range (it
 * said "not a non-integer number"). */
static void test_out_of_range_fields(void **state)
{
	const char *big = "18446744073709551616";
	const char *fields[] = {"index", "time", "process"};
	for (size_t i = 0; i < 3; i++) {
		char line[256], want[128];
		snprintf(line, sizeof line, "{\"%s\":%s,\"process\":1,\"type\":\"ok\",\"f\":\"r\"}",
			 fields[i], big);
		if (i == 2)
			snprintf(line, sizeof line, "{\"process\":%s,\"type\":\"ok\",\"f\":\"r\"}", big);
		snprintf(want, sizeof want, "\"%s\" %s is out of range", fields[i], big);
		expect_error(line, strlen(line), "t:1:", want);
		snprintf(line, sizeof line, "[{:%s %sN :process 1 :type :ok :f :r}]", fields[i], big);
		if (i == 2)
			snprintf(line, sizeof line, "[{:process %s :type :ok :f :r}]", big);
		snprintf(want, sizeof want, ":%s %s is out of range", fields[i], big);
		expect_error(line, strlen(line), "t:1:", want);
	}
	const char *neg = "{\"process\":-18446744073709551616,\"type\":\"ok\",\"f\":\"r\"}";
	expect_error(neg, strlen(neg), "t:1:", "negative");
}

/* Whether s[0..n) is valid UTF-8 (written here, independently of the library). */
static int utf8_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (!len || i + len > n)
			return 0;
		uint32_t cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 0;
		i += len;
	}
	return 1;
}

/* Strings that are not valid UTF-8 are written as valid JSON: each bad byte as \udcXX (as
 * Python's surrogateescape does), which the reader turns back into the byte, so the output
 * parses everywhere and nothing is lost. Raw bytes made the JSON invalid. */
static void test_invalid_utf8_json(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{"a\xff" "b", 3, "\"a\\udcffb\""},
		{"\xc3", 1, "\"\\udcc3\""},                    /* cut short */
		{"\xc3\xa9\xe2\x82", 4, "\"\xc3\xa9\\udce2\\udc82\""},
		{"\xc0\x80", 2, "\"\\udcc0\\udc80\""},          /* overlong NUL */
		{"\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\""}, /* a surrogate */
		{"\xf4\x90\x80\x80", 4, "\"\\udcf4\\udc90\\udc80\\udc80\""}, /* > U+10FFFF */
		{"\xf0\x9f\x98\x80\x7f", 5, "\"\xf0\x9f\x98\x80\\u007f\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hval v = {.kind = HVAL_STR, .len = (uint32_t)cases[i].len, .u.s = cases[i].in};
		char buf[128];
		hval_format(buf, sizeof buf, &v);
		if (strcmp(buf, cases[i].out))
			fail_msg("case %zu: hval_format gave %s, want %s", i, buf, cases[i].out);
		char *out = NULL;
		size_t outlen = 0;
		FILE *f = open_memstream(&out, &outlen);
		assert_int_equal(json_write_string(f, cases[i].in, cases[i].len), 0);
		fclose(f);
		assert_string_equal(out, cases[i].out);
		free(out);
		/* an event with it reads back with the same bytes */
		struct hevent ev = {.index = 0, .time = -1, .process = 1, .type = HTYPE_OK,
				    .f = cases[i].in, .has_value = 1, .value = v,
				    .node = cases[i].in, .error = cases[i].in};
		if (strlen(cases[i].in) != cases[i].len)
			ev.f = ev.node = ev.error = "x";
		char line[512];
		size_t n = hevent_format(line, sizeof line, &ev);
		assert_true(n < sizeof line);
		if (!utf8_ok(line, n))
			fail_msg("case %zu: not UTF-8: %.*s", i, (int)n, line);
		struct hreader *r;
		struct hevent back;
		assert_int_equal(hreader_open_mem(&r, line, n, "t", HFMT_JSONL, errbuf, sizeof errbuf),
				 0);
		assert_int_equal(hreader_next(r, &back, errbuf, sizeof errbuf), 1);
		assert_int_equal(back.value.kind, HVAL_STR);
		assert_int_equal(back.value.len, cases[i].len);
		assert_memory_equal(back.value.u.s, cases[i].in, cases[i].len);
		assert_string_equal(back.f, ev.f);
		assert_string_equal(back.node, ev.node);
		assert_string_equal(back.error, ev.error);
		hreader_close(r);
	}
	/* a lone \udc80..\udcff escape reads as its byte; other lone surrogates keep their form */
	char k[64];
	struct hval v = one_value("\"\\udcffx\"", k, sizeof k);
	assert_int_equal(v.len, 2);
	assert_string_equal(k, "\"\\udcffx\"");
	v = one_value("\"\\udc7f\"", k, sizeof k);
	assert_int_equal(v.len, 3);
	v = one_value("\"\\ud83d\\ude00\"", k, sizeof k);
	assert_string_equal(k, "\"\xf0\x9f\x98\x80\"");
}


/* Integers beyond 64 bits are kept exactly (they were doubles: 2^64 and 2^64+1 were equal). */
static void test_bigints(void **state)
{
	char k[128];
	struct hval v = one_value("18446744073709551617", k, sizeof k);
	assert_int_equal(v.kind, HVAL_BIGINT);
	assert_string_equal(k, "18446744073709551617");
	v = one_value("-9223372036854775809", k, sizeof k);
	assert_int_equal(v.kind, HVAL_BIGINT);
	assert_string_equal(k, "-9223372036854775809");
	v = one_value("[18446744073709551616,1.5]", k, sizeof k);
	assert_string_equal(k, "[18446744073709551616,1.5]");
	/* EDN: the N suffix, a sign, leading zeros: one canonical text */
	const char *edn = "[{:process 0 :type :ok :f :r :value [18446744073709551616N "
			  "+18446744073709551616 -00018446744073709551616N 5N 1/2 "
			  "36893488147419103232/18446744073709551616]}]";
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, edn, strlen(edn), "t", HFMT_AUTO, errbuf,
					  sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	const struct hval *it = ev.value.u.items;
	assert_int_equal(it[0].kind, HVAL_BIGINT);
	assert_string_equal(it[0].u.s, "18446744073709551616");
	assert_string_equal(it[1].u.s, "18446744073709551616");
	assert_string_equal(it[2].u.s, "-18446744073709551616");
	assert_int_equal(it[3].kind, HVAL_INT);
	assert_true(it[4].kind == HVAL_FLOAT && it[4].u.d == 0.5);
	assert_true(it[5].kind == HVAL_FLOAT && it[5].u.d == 2.0);
	assert_true(hval_equal(&it[0], &it[1]));
	assert_false(hval_equal(&it[0], &it[2]));
	hreader_close(r);
	/* equality and hashing: exact among integers; a double equals the integer it is */
	struct hval b64 = {.kind = HVAL_BIGINT, .len = 20, .u.s = "18446744073709551616"};
	struct hval b64p1 = {.kind = HVAL_BIGINT, .len = 20, .u.s = "18446744073709551617"};
	struct hval d64 = {.kind = HVAL_FLOAT, .u.d = 18446744073709551616.0};
	struct hval e19 = {.kind = HVAL_FLOAT, .u.d = 1e19};
	struct hval b19 = {.kind = HVAL_BIGINT, .len = 20, .u.s = "10000000000000000000"};
	struct hval d63 = {.kind = HVAL_FLOAT, .u.d = 9223372036854775808.0};
	struct hval b63 = {.kind = HVAL_BIGINT, .len = 19, .u.s = "9223372036854775808"};
	struct hval i1 = {.kind = HVAL_INT, .u.i = 1}, f1 = {.kind = HVAL_FLOAT, .u.d = 1.0};
	assert_false(hval_equal(&b64, &b64p1));
	assert_true(hval_equal(&b64, &d64) && hval_equal(&d64, &b64));
	assert_false(hval_equal(&b64p1, &d64));
	assert_true(hval_hash(&b64) == hval_hash(&d64));
	assert_true(hval_equal(&e19, &b19) && hval_hash(&e19) == hval_hash(&b19));
	assert_true(hval_equal(&d63, &b63) && hval_hash(&d63) == hval_hash(&b63));
	assert_true(hval_equal(&i1, &f1) && hval_hash(&i1) == hval_hash(&f1));
	assert_false(hval_equal(&i1, &b64));
	assert_false(hval_equal(&b64, &i1));
	/* the writer writes it as it is, and it reads back equal */
	struct hevent w = {.index = 0, .time = -1, .process = 1, .type = HTYPE_OK, .f = "r",
			   .has_key = 1, .key = b64p1, .has_value = 1, .value = b64};
	char line[256];
	size_t n = hevent_format(line, sizeof line, &w);
	assert_true(n < sizeof line);
	const char *with = "{\"index\":0,\"process\":1,";
	assert_true(!strncmp(line, with, strlen(with)));
	/* an event read from a line without an index is shown without one (not "index":-1) */
	w.index = -1;
	n = hevent_format(line, sizeof line, &w);
	assert_true(n < sizeof line);
	const char *without = "{\"process\":1,\"type\":\"ok\",";
	assert_true(!strncmp(line, without, strlen(without)));
	w.index = 0;
	n = hevent_format(line, sizeof line, &w);
	assert_true(n < sizeof line);
	assert_non_null(strstr(line, "\"key\":18446744073709551617,\"value\":18446744073709551616"));
	assert_int_equal(hreader_open_mem(&r, line, n, "t", HFMT_JSONL, errbuf, sizeof errbuf), 0);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_true(ev.has_key && hval_equal(&ev.key, &b64p1));
	assert_true(hval_equal(&ev.value, &b64));
	hreader_close(r);
	/* an integer of more than HVAL_BIGINT_MAX_DIGITS digits is refused */
	char *huge = malloc(HVAL_BIGINT_MAX_DIGITS + 100);
	int len = snprintf(huge, 64, "{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"value\":");
	memset(huge + len, '7', HVAL_BIGINT_MAX_DIGITS + 1);
	huge[len + HVAL_BIGINT_MAX_DIGITS + 1] = '}';
	huge[len + HVAL_BIGINT_MAX_DIGITS + 2] = '\0';
	expect_error(huge, strlen(huge), "t:1:", "out of range");
	huge[len + HVAL_BIGINT_MAX_DIGITS] = '}';
	huge[len + HVAL_BIGINT_MAX_DIGITS + 1] = '\0';
	assert_int_equal(count_mem(huge, strlen(huge), HFMT_JSONL), 1);
	free(huge);
}


/* hval_parse_json: one value from a string (a command-line argument), owned by the caller. */
static void test_parse_json(void **state)
{
	struct hval *v = NULL;
	const char *t = " {\"a\":[1,\"x\\u00e9\",18446744073709551616,{}],\"b\":null}\n";
	assert_int_equal(hval_parse_json(t, strlen(t), &v, errbuf, sizeof errbuf), 0);
	char k[128];
	hval_format(k, sizeof k, v);
	assert_string_equal(k, "{\"a\":[1,\"x\xc3\xa9\",18446744073709551616,{}],\"b\":null}");
	struct hval *c = hval_copy(v);
	assert_non_null(c);
	assert_true(hval_equal(c, v));
	hval_free(v);
	hval_free(c);
	hval_free(NULL);
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"[1,", "column 4: the value ends before it is complete"},
		{"1 2", "column 3: expected the end after the value"},
		{"", "column 1: the value ends"},
		{"{\"a\"}", "column 5: expected ':'"},
		{"1e400", "column 1: number out of range"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = NULL;
		assert_int_equal(hval_parse_json(bad[i].in, strlen(bad[i].in), &v, errbuf,
						 sizeof errbuf), SB_EINVAL);
		assert_null(v);
		if (strncmp(errbuf, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("'%s': %s", bad[i].in, errbuf);
	}
}

/* A pipe whose writer stalls: with a deadline the reader returns what it has, then
 * SB_ETIMEOUT (and again on the next call) instead of waiting in read() for ever. */
static void test_deadline_stalled_pipe(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *line = "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n";
	assert_int_equal(write(p[1], line, strlen(line)), (ssize_t)strlen(line));
	char path[64];
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	struct hreader *r = NULL;
	assert_int_equal(hreader_open(&r, path, HFMT_AUTO, errbuf, sizeof errbuf), 0);
	hreader_set_deadline(r, clock_mono_ns() + 100 * 1000000LL);
	struct hevent ev;
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), 1);
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_ETIMEOUT);
	assert_non_null(strstr(errbuf, "no input before the time limit"));
	assert_int_equal(hreader_next(r, &ev, errbuf, sizeof errbuf), SB_ETIMEOUT);
	hreader_close(r);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl_fields),
		cmocka_unit_test(test_json_numbers),
		cmocka_unit_test(test_edn_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_buffer_shrinks_after_large_event),
		cmocka_unit_test(test_file_matches_memory),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_writer_threads),
		cmocka_unit_test(test_writer_enospc),
		cmocka_unit_test(test_writer_tiny_fs),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_stdin_pipe),
		cmocka_unit_test(test_bom_and_first_line),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_out_of_range_fields),
		cmocka_unit_test(test_invalid_utf8_json),
		cmocka_unit_test(test_bigints),
		cmocka_unit_test(test_parse_json),
		cmocka_unit_test(test_deadline_stalled_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
