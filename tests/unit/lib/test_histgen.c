/* Tests for checker/histgen: determinism, the process rules of docs/history.md, and injection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker/histgen.h"
#include "lib/err.h"
#include "lib/history.h"

static char errbuf[512];

static void gen(const struct histgen_opts *o, char **buf, size_t *len, struct histgen_report *rep)
{
	int rc = histgen_to_mem(o, buf, len, rep, errbuf, sizeof errbuf);
	if (rc)
		fail_msg("histgen: %s", errbuf);
}

static void test_deterministic(void **state)
{
	struct histgen_opts o;
	histgen_opts_default(&o);
	o.seed = 42;
	o.keys = 7;
	o.ops = 3000;
	o.nemesis_every = 100;
	char *a, *b, *c;
	size_t al, bl, cl;
	gen(&o, &a, &al, NULL);
	gen(&o, &b, &bl, NULL);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	o.seed = 43;
	gen(&o, &c, &cl, NULL);
	assert_true(al != cl || memcmp(a, c, al) != 0);
	/* the streaming API gives the same bytes as the bulk one */
	o.seed = 42;
	struct histgen *g;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), 0);
	struct hevent ev;
	size_t off = 0;
	char line[512];
	while (histgen_next(g, &ev) == 1) {
		size_t n = hevent_format(line, sizeof line, &ev);
		assert_true(n < sizeof line);
		assert_true(off + n <= al);
		assert_memory_equal(line, a + off, n);
		off += n;
	}
	assert_int_equal(off, al);
	histgen_free(g);
	free(a);
	free(b);
	free(c);
}

struct pstate {
	int64_t proc;
	int busy;
	int dead; /* completed info */
	char f[16];
	int64_t key;
	int64_t tinv;
};

/* Read the history back and check the rules a checker enforces, plus the generator's own
 * promises (dense index, increasing time, value range, cas refusals). */
static void check_shape(const char *buf, size_t len, const struct histgen_opts *o,
			const struct histgen_report *rep)
{
	struct hreader *r;
	struct hevent ev;
	assert_int_equal(hreader_open_mem(&r, buf, len, "gen", HFMT_JSONL, errbuf, sizeof errbuf),
			 0);
	size_t cap = 1024, np = 0;
	struct pstate *ps = calloc(cap, sizeof *ps);
	int64_t last_t = -1, idx = 0;
	uint64_t mism = 0, info = 0, ok = 0, fail = 0, invokes = 0, nemesis = 0;
	int rc;
	while ((rc = hreader_next(r, &ev, errbuf, sizeof errbuf)) == 1) {
		assert_int_equal(ev.index, idx);
		idx++;
		assert_true(ev.time > last_t);
		last_t = ev.time;
		if (ev.process == HPROC_NEMESIS) {
			assert_int_equal(ev.type, HTYPE_INFO);
			nemesis++;
			continue;
		}
		assert_int_equal(ev.has_key, o->keys > 1);
		int64_t key = 0;
		if (ev.has_key && o->string_keys) {
			assert_int_equal(ev.key.kind, HVAL_STR);
			assert_true(ev.key.u.s[0] == 'k');
			key = strtoll(ev.key.u.s + 1, NULL, 10);
		} else if (ev.has_key) {
			assert_int_equal(ev.key.kind, HVAL_INT);
			key = ev.key.u.i;
		}
		assert_true(key >= 0 && key < (int64_t)o->keys);
		struct pstate *p = NULL;
		for (size_t i = 0; i < np; i++)
			if (ps[i].proc == ev.process)
				p = &ps[i];
		if (!p) {
			if (np == cap) {
				cap *= 2;
				ps = realloc(ps, cap * sizeof *ps);
			}
			p = &ps[np++];
			memset(p, 0, sizeof *p);
			p->proc = ev.process;
		}
		if (ev.type == HTYPE_INVOKE) {
			if (p->dead)
				fail_msg("line %llu: process %lld invokes after info",
					 (unsigned long long)ev.line, (long long)ev.process);
			if (p->busy)
				fail_msg("line %llu: process %lld has two operations in flight",
					 (unsigned long long)ev.line, (long long)ev.process);
			p->busy = 1;
			snprintf(p->f, sizeof p->f, "%s", ev.f);
			p->key = key;
			invokes++;
		} else {
			if (!p->busy)
				fail_msg("line %llu: completion without invoke",
					 (unsigned long long)ev.line);
			assert_string_equal(p->f, ev.f);
			assert_int_equal(p->key, key);
			p->busy = 0;
			if (ev.type == HTYPE_INFO) {
				p->dead = 1;
				info++;
				assert_string_not_equal(ev.f, "read");
			} else if (ev.type == HTYPE_FAIL) {
				fail++;
				assert_non_null(ev.error);
				if (!strcmp(ev.error, "mismatch")) {
					assert_string_equal(ev.f, "cas");
					mism++;
				}
			} else {
				ok++;
			}
		}
		/* values */
		if (!strcmp(ev.f, "cas")) {
			assert_int_equal(ev.value.kind, HVAL_ARRAY);
			assert_int_equal(ev.value.len, 2);
		} else if (!strcmp(ev.f, "write")) {
			assert_int_equal(o->workload, HISTGEN_REGISTER);
			assert_int_equal(ev.value.kind, HVAL_INT);
			if (o->values)
				assert_true(ev.value.u.i >= 0 && ev.value.u.i < (int64_t)o->values);
		} else if (!strcmp(ev.f, "append")) {
			assert_int_equal(o->workload, HISTGEN_LIST);
			assert_int_equal(ev.value.kind, HVAL_INT);
			assert_true(ev.value.u.i >= 0);
		} else {
			assert_string_equal(ev.f, "read");
			if (ev.type != HTYPE_OK)
				assert_int_equal(ev.value.kind, HVAL_NULL);
			else if (o->workload == HISTGEN_LIST)
				assert_int_equal(ev.value.kind, HVAL_ARRAY);
		}
	}
	if (rc < 0)
		fail_msg("%s", errbuf);
	hreader_close(r);
	assert_int_equal(invokes, o->ops);
	assert_int_equal(rep->ops, o->ops);
	assert_int_equal(rep->events, (uint64_t)idx);
	assert_int_equal(rep->ok, ok);
	assert_int_equal(rep->fail, fail);
	assert_int_equal(rep->info, info);
	assert_int_equal(rep->mismatch, mism);
	assert_int_equal(rep->processes, np);
	if (o->nemesis_every)
		assert_true(nemesis > 0);
	/* every operation completes, unless the history was cut */
	size_t open = 0;
	for (size_t i = 0; i < np; i++)
		open += ps[i].busy;
	if (o->leave_open)
		assert_true(open > 0);
	else
		assert_int_equal(open, 0);
	free(ps);
}

static void test_shapes(void **state)
{
	struct histgen_opts o;
	struct histgen_report rep;
	char *buf;
	size_t len;

	histgen_opts_etcd(&o, 7);
	gen(&o, &buf, &len, &rep);
	check_shape(buf, len, &o, &rep);
	assert_true(rep.processes > o.concurrency); /* crashes made fresh processes */
	assert_true(rep.info > 0);
	assert_true(rep.mismatch > 0);
	free(buf);

	histgen_opts_default(&o);
	o.seed = 3;
	o.values = 0;
	o.concurrency = 20;
	o.ops = 20000;
	o.keys = 50;
	o.nemesis_every = 500;
	o.has_initial = 1;
	o.initial = 0;
	gen(&o, &buf, &len, &rep);
	check_shape(buf, len, &o, &rep);
	free(buf);

	/* string keys */
	histgen_opts_default(&o);
	o.keys = 12;
	o.string_keys = 1;
	o.ops = 2000;
	gen(&o, &buf, &len, &rep);
	check_shape(buf, len, &o, &rep);
	assert_non_null(strstr(buf, "\"key\":\"k11\""));
	free(buf);

	/* cut short: the last operations stay open */
	histgen_opts_default(&o);
	o.seed = 9;
	o.concurrency = 10;
	o.ops = 500;
	o.leave_open = 1;
	gen(&o, &buf, &len, &rep);
	check_shape(buf, len, &o, &rep);
	free(buf);

	/* writes only, one process */
	histgen_opts_default(&o);
	o.concurrency = 1;
	o.mix_read = 0;
	o.mix_cas = 0;
	o.mix_write = 1;
	o.crash_rate = 0;
	o.fail_rate = 0;
	o.ops = 100;
	gen(&o, &buf, &len, &rep);
	check_shape(buf, len, &o, &rep);
	assert_int_equal(rep.ok, 100);
	assert_int_equal(rep.processes, 1);
	free(buf);
}

/* Find the line with the given index in JSON Lines text. */
static const char *line_at(const char *buf, int64_t idx)
{
	const char *p = buf;
	for (int64_t i = 0; i < idx; i++)
		p = strchr(p, '\n') + 1;
	return p;
}

struct opinfo {
	int64_t proc;
	int64_t tinv, tcomp;
	int kind; /* 0 read 1 write 2 cas */
	int type;
	int64_t val; /* write value / cas new / read result */
	int has_val;
};

static void test_inject(void **state)
{
	for (int unique = 0; unique < 2; unique++) {
		for (uint64_t seed = 1; seed <= 5; seed++) {
			struct histgen_opts o;
			struct histgen_report rv, ri;
			char *valid, *bad;
			size_t vl, bl;
			histgen_opts_default(&o);
			o.seed = seed;
			o.ops = 2000;
			o.concurrency = 10;
			o.values = unique ? 0 : 5;
			gen(&o, &valid, &vl, &rv);
			assert_false(rv.injected);
			o.inject = HISTGEN_INJECT_STALE_READ;
			gen(&o, &bad, &bl, &ri);
			assert_true(ri.injected);
			check_shape(bad, bl, &o, &ri);
			/* exactly the reported line differs, and it is an ok read */
			const char *a = valid, *b = bad;
			int64_t diffs = 0, at = -1;
			for (int64_t i = 0; *a && *b; i++) {
				const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
				if (ae - a != be - b || memcmp(a, b, (size_t)(ae - a))) {
					diffs++;
					at = i;
				}
				a = ae + 1;
				b = be + 1;
			}
			assert_int_equal(diffs, 1);
			assert_int_equal(at, ri.inj_index);
			const char *l = line_at(bad, at);
			assert_non_null(strstr(l, "\"type\":\"ok\",\"f\":\"read\""));
			assert_non_null(strstr(ri.inj_what, "line"));
			free(valid);

			if (!unique) {
				/* the value read is one no operation writes */
				char want[64];
				snprintf(want, sizeof want, "\"value\":%u}", o.values);
				assert_non_null(strstr(l, want));
				free(bad);
				continue;
			}
			/* Unique values: verify the stale read from the history alone. */
			struct hreader *r;
			struct hevent ev;
			size_t n = 0;
			struct opinfo *ops = calloc(ri.events, sizeof *ops);
			int64_t *open = calloc(ri.info + o.concurrency + 1, sizeof *open);
			for (size_t i = 0; i < ri.info + o.concurrency + 1; i++)
				open[i] = -1;
			assert_int_equal(hreader_open_mem(&r, bad, bl, "gen", HFMT_JSONL, errbuf,
							  sizeof errbuf),
					 0);
			int64_t rd = -1, rv_val = 0;
			while (hreader_next(r, &ev, errbuf, sizeof errbuf) == 1) {
				if (ev.type == HTYPE_INVOKE) {
					ops[n].proc = ev.process;
					ops[n].tinv = ev.time;
					ops[n].kind = ev.f[0] == 'r' ? 0 : ev.f[0] == 'w' ? 1 : 2;
					if (ops[n].kind == 1) {
						ops[n].val = ev.value.u.i;
						ops[n].has_val = 1;
					}
					if (ops[n].kind == 2) {
						ops[n].val = ev.value.u.items[1].u.i;
						ops[n].has_val = 1;
					}
					open[ev.process] = (int64_t)n++;
				} else {
					struct opinfo *op = &ops[open[ev.process]];
					op->tcomp = ev.time;
					op->type = ev.type;
					if (ev.index == ri.inj_index) {
						rd = open[ev.process];
						rv_val = ev.value.u.i;
					}
				}
			}
			hreader_close(r);
			assert_true(rd >= 0);
			/* W1: the only write of the value read, and it is ok */
			int64_t w1 = -1;
			for (size_t i = 0; i < n; i++)
				if (ops[i].has_val && ops[i].val == rv_val) {
					assert_int_equal(w1, -1);
					w1 = (int64_t)i;
				}
			assert_true(w1 >= 0);
			assert_int_equal(ops[w1].type, HTYPE_OK);
			/* W2: an ok write after W1 and before the read, in real time */
			int found = 0;
			for (size_t i = 0; i < n && !found; i++)
				if (ops[i].has_val && ops[i].type == HTYPE_OK &&
				    ops[i].tinv > ops[w1].tcomp && ops[i].tcomp < ops[rd].tinv)
					found = 1;
			assert_true(found);
			free(ops);
			free(open);
			free(bad);
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The list workload: the rules hold, appended elements are unique, every injection happens
 * and changes the history. */
static void test_list(void **state)
{
	for (int inj = HISTGEN_INJECT_NONE; inj <= HISTGEN_INJECT_NEVER_APPENDED; inj++) {
		struct histgen_opts o;
		struct histgen_report rep;
		char *buf, *valid;
		size_t len, vlen;
		histgen_opts_default(&o);
		o.workload = HISTGEN_LIST;
		o.seed = 11;
		o.keys = 3;
		o.concurrency = 10;
		o.ops = 2000;
		o.crash_rate = 0.1;
		gen(&o, &valid, &vlen, &rep);
		assert_false(rep.injected);
		o.inject = (enum histgen_inject)inj;
		gen(&o, &buf, &len, &rep);
		check_shape(buf, len, &o, &rep);
		assert_int_equal(rep.injected, inj != HISTGEN_INJECT_NONE);
		if (inj) {
			assert_true(rep.inj_what[0] != '\0');
			assert_true(rep.inj_index >= 0 && (uint64_t)rep.inj_index < rep.events);
			assert_true(len != vlen || memcmp(buf, valid, len));
		}
		/* appended elements are unique */
		struct hreader *r;
		struct hevent ev;
		assert_int_equal(
			hreader_open_mem(&r, buf, len, "gen", HFMT_JSONL, errbuf, sizeof errbuf), 0);
		int64_t *el = malloc(o.ops * sizeof *el);
		size_t n = 0;
		while (hreader_next(r, &ev, errbuf, sizeof errbuf) == 1)
			if (ev.type == HTYPE_INVOKE && !strcmp(ev.f, "append"))
				el[n++] = ev.value.u.i;
		hreader_close(r);
		qsort(el, n, sizeof *el, cmp_i64);
		for (size_t i = 1; i < n; i++)
			assert_true(el[i] != el[i - 1]);
		assert_true(n > o.ops / 3);
		free(el);
		free(buf);
		free(valid);
	}
}

static void test_bad_options(void **state)
{
	struct histgen_opts o;
	struct histgen *g;
	histgen_opts_default(&o);
	o.keys = 0;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "keys"));
	histgen_opts_default(&o);
	o.crash_rate = 0.7;
	o.fail_rate = 0.5;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), SB_EINVAL);
	histgen_opts_default(&o);
	o.concurrency = 0;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), SB_EINVAL);
	/* injection that cannot happen: no reads */
	histgen_opts_default(&o);
	o.mix_read = 0;
	o.inject = HISTGEN_INJECT_STALE_READ;
	char *buf;
	size_t len;
	assert_int_equal(histgen_to_mem(&o, &buf, &len, NULL, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "injection"));
	free(buf);
	/* list injections need the list workload; lists start empty */
	histgen_opts_default(&o);
	o.inject = HISTGEN_INJECT_LOST_APPEND;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), SB_EINVAL);
	assert_non_null(strstr(errbuf, "list workload"));
	histgen_opts_default(&o);
	o.workload = HISTGEN_LIST;
	o.has_initial = 1;
	assert_int_equal(histgen_new(&g, &o, errbuf, sizeof errbuf), SB_EINVAL);
	assert_int_equal(histgen_inject_parse("order"), HISTGEN_INJECT_ORDER);
	assert_int_equal(histgen_inject_parse("nope"), -1);
	/* an unwritable path */
	histgen_opts_default(&o);
	assert_int_equal(histgen_write_file(&o, "/nonexistent/x.jsonl", NULL, errbuf,
					    sizeof errbuf),
			 SB_EIO);
	assert_non_null(strstr(errbuf, "/nonexistent/x.jsonl"));
	if (access("/dev/full", W_OK) == 0) {
		o.ops = 100000;
		assert_int_equal(histgen_write_file(&o, "/dev/full", NULL, errbuf, sizeof errbuf),
				 SB_EIO);
		assert_non_null(strstr(errbuf, "disk full"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_inject),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
