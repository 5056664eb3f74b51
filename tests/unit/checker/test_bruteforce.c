/* Cross-check of the checker against a brute-force search on thousands of small random
 * cas-register, mutex and list histories (valid and invalid alike: reads return random values,
 * outcomes are random ok / info / fail / mismatch / never completed). List histories come
 * in two kinds: small repeated elements (the checker searches) and unique appended
 * elements, with and without an initial list (the checker decides by inference): reads
 * there are mostly prefixes of one plausible order, sometimes disordered, stale, holding an
 * element twice, or one never appended. The brute force tries every order
 * that respects real time and every choice of which indeterminate operations happened, with
 * no reduction at all, so any inexact pruning in the checker shows up as a disagreement. The
 * plain reference search (tests/support/wglref.h) is held to the same verdicts, so the
 * benchmarks and tests that set the checker beside it compare against a correct baseline.
 * A failing case prints its seed and the history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checker/checker.h"
#include "checker/internal.h"
#include "lib/err.h"
#include "tests/support/wglref.h"

enum { F_READ, F_WRITE, F_CAS, F_ACQUIRE, F_RELEASE, F_APPEND, F_LREAD };
enum { M_CAS, M_MUTEX, M_LIST, M_LIST_UNIQUE };
static int model;
enum { O_OK, O_INFO, O_FAIL, O_MISMATCH, O_OPEN };

typedef uint64_t state_t; /* a register value, the lock, or a list code (see list_append) */

struct bop {
	int f, outcome;
	state_t a;     /* write a; cas a -> b; read result a; append a; list read: code a */
	int b;
	int call, ret; /* event positions; ret = 1 << 30 if none */
	int required;  /* must be linearized (ok, mismatch) */
	int present;   /* takes part at all (not a plain fail) */
};

#define MAXOPS 9
#define NEVER (1 << 30)

static uint64_t rng;
static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng >> 33) % n);
}

/* A list of up to 12 elements 0..15: its length in bits 56.., element i in bits 4i..4i+3. */
#define LIST_MAX 12
static int list_len(state_t st)
{
	return (int)(st >> 56);
}

static int list_elem(state_t st, int i)
{
	return (int)((st >> (4 * i)) & 15);
}

static state_t list_append(state_t st, int v)
{
	int len = list_len(st);
	return ((state_t)(len + 1) << 56) | (st & (((state_t)1 << 56) - 1)) |
	       ((state_t)v << (4 * len));
}

static int brute(const struct bop *ops, int n, unsigned mask, state_t state)
{
	int all = 1;
	for (int i = 0; i < n; i++)
		if (ops[i].required && !(mask & (1u << i)))
			all = 0;
	if (all)
		return 1;
	for (int i = 0; i < n; i++) {
		const struct bop *o = &ops[i];
		if (!o->present || (mask & (1u << i)))
			continue;
		/* Every operation that completed before o began must already be linearized. */
		int ok = 1;
		for (int j = 0; j < n && ok; j++)
			if (ops[j].present && ops[j].required && !(mask & (1u << j)) &&
			    ops[j].ret < o->call)
				ok = 0;
		if (!ok)
			continue;
		state_t ns = state;
		if (o->outcome == O_MISMATCH) {
			if (state == o->a)
				continue;
		} else if (o->f == F_READ || o->f == F_LREAD) {
			if (state != o->a)
				continue;
		} else if (o->f == F_WRITE) {
			ns = o->a;
		} else if (o->f == F_CAS) {
			if (state != o->a)
				continue;
			ns = (state_t)o->b;
		} else if (o->f == F_ACQUIRE) {
			if (state != 0)
				continue;
			ns = 1;
		} else if (o->f == F_RELEASE) {
			if (state != 1)
				continue;
			ns = 0;
		} else {
			if (list_len(state) >= LIST_MAX)
				continue;
			ns = list_append(state, (int)o->a);
		}
		if (brute(ops, n, mask | (1u << i), ns))
			return 1;
	}
	return 0;
}

static const char *fname(int f)
{
	static const char *const n[] = {"read", "write", "cas", "acquire", "release", "append",
					"read"};
	return n[f];
}

static size_t emit_list(char *p, size_t cap, state_t code)
{
	size_t len = (size_t)snprintf(p, cap, "[");
	for (int i = 0; i < list_len(code); i++)
		len += (size_t)snprintf(p + len, cap - len, "%s%d", i ? "," : "",
					list_elem(code, i));
	return len + (size_t)snprintf(p + len, cap - len, "]");
}

/* Unique-element lists: the initial list (code) of this history, and the elements appended
 * so far in invocation order. */
static state_t uinit;
static int uappended[16], nuappended;

/* A read for the unique-element kind: usually the initial list and a prefix of the appends
 * so far, lightly shuffled; sometimes a mutation of that. */
static state_t unique_read(void)
{
	int order[16], n = nuappended;
	memcpy(order, uappended, sizeof order);
	for (int i = 0; i + 1 < n; i++)
		if (rnd(4) == 0) {
			int t = order[i];
			order[i] = order[i + 1];
			order[i + 1] = t;
		}
	state_t code = uinit;
	int take = n ? (int)rnd((unsigned)n + 1) : 0;
	for (int i = 0; i < take && list_len(code) < LIST_MAX; i++)
		code = list_append(code, order[i]);
	switch (rnd(12)) {
	case 0: /* an element twice, or one never appended */
		if (list_len(code) < LIST_MAX)
			code = list_append(code, rnd(2) && list_len(code) ? list_elem(code, 0) : 15);
		break;
	case 1: /* without the initial list */
		code = 0;
		for (int i = 0; i < take && i < LIST_MAX; i++)
			code = list_append(code, order[i]);
		break;
	default:
		break;
	}
	return code;
}

static size_t emit_value(char *p, size_t cap, const struct bop *o, int completion)
{
	if (o->f == F_READ)
		return completion ? (size_t)snprintf(p, cap, "%d", (int)o->a)
				  : (size_t)snprintf(p, cap, "null");
	if (o->f == F_LREAD)
		return completion ? emit_list(p, cap, o->a) : (size_t)snprintf(p, cap, "null");
	if (o->f == F_ACQUIRE || o->f == F_RELEASE)
		return (size_t)snprintf(p, cap, "null");
	if (o->f == F_WRITE || o->f == F_APPEND)
		return (size_t)snprintf(p, cap, "%d", (int)o->a);
	return (size_t)snprintf(p, cap, "[%d,%d]", (int)o->a, o->b);
}

/* Make a random history of n ops over `procs` processes; text into buf. */
static void make_history(struct bop *ops, int n, int procs, char *buf, size_t cap)
{
	int cur[8];   /* op in flight per process, -1 */
	int dead[8];  /* process ended info */
	int pid[8];   /* process number in use */
	for (int p = 0; p < procs; p++)
		cur[p] = -1, dead[p] = 0, pid[p] = p;
	int next = 0, pos = 0, nextpid = procs;
	size_t len = 0;
	while (next < n || 1) {
		int inflight = 0;
		for (int p = 0; p < procs; p++)
			inflight += cur[p] >= 0;
		if (next >= n && !inflight)
			break;
		int p = (int)rnd((unsigned)procs);
		if (cur[p] < 0) {
			if (next >= n)
				continue;
			if (dead[p]) {
				pid[p] = nextpid++;
				dead[p] = 0;
			}
			struct bop *o = &ops[next];
			memset(o, 0, sizeof *o);
			if (model == M_CAS) {
				o->f = (int)rnd(3);
			} else if (model == M_MUTEX) {
				o->f = F_ACQUIRE + (int)rnd(2);
			} else {
				o->f = rnd(2) ? F_APPEND : F_LREAD;
			}
			o->a = rnd(3);
			o->b = (int)rnd(3);
			if (o->f == F_LREAD && model == M_LIST) { /* a short list of small values */
				int nel = (int)rnd(4);
				state_t code = 0;
				for (int i = 0; i < nel; i++)
					code = list_append(code, (int)rnd(3));
				o->a = code;
			} else if (o->f == F_LREAD) {
				o->a = unique_read();
			} else if (o->f == F_APPEND && model == M_LIST_UNIQUE) {
				o->a = (state_t)(1 + nuappended);
				uappended[nuappended++] = (int)o->a;
			}
			o->call = pos++;
			o->ret = NEVER;
			cur[p] = next++;
			len += (size_t)snprintf(buf + len, cap - len,
						"{\"process\":%d,\"type\":\"invoke\",\"f\":\"%s\",\"value\":",
						pid[p], fname(o->f));
			len += emit_value(buf + len, cap - len, o, 0);
			len += (size_t)snprintf(buf + len, cap - len, "}\n");
			continue;
		}
		struct bop *o = &ops[cur[p]];
		unsigned r = rnd(20);
		/* Some operations never complete: decide when the history ends. */
		if (next >= n && r == 0) {
			o->outcome = O_OPEN;
			o->present = o->f != F_READ && o->f != F_LREAD;
			cur[p] = -1;
			continue;
		}
		const char *type = "ok", *error = NULL;
		if (r < 13) {
			o->outcome = O_OK;
		} else if (r < 16) {
			o->outcome = O_INFO;
			type = "info";
		} else if (o->f == F_CAS && r < 18) {
			o->outcome = O_MISMATCH;
			type = "fail";
			error = "mismatch";
		} else {
			o->outcome = O_FAIL;
			type = "fail";
			error = "unavailable";
		}
		o->ret = o->outcome == O_INFO ? NEVER : pos;
		pos++;
		o->required = o->outcome == O_OK || o->outcome == O_MISMATCH;
		o->present = o->outcome != O_FAIL &&
			     !(o->outcome == O_INFO && (o->f == F_READ || o->f == F_LREAD));
		len += (size_t)snprintf(buf + len, cap - len,
					"{\"process\":%d,\"type\":\"%s\",\"f\":\"%s\",\"value\":", pid[p],
					type, fname(o->f));
		len += emit_value(buf + len, cap - len, o, 1);
		if (error)
			len += (size_t)snprintf(buf + len, cap - len, ",\"error\":\"%s\"", error);
		len += (size_t)snprintf(buf + len, cap - len, "}\n");
		if (o->outcome == O_INFO)
			dead[p] = 1;
		cur[p] = -1;
	}
	/* Open operations were still invoked: they may have happened. */
}

static void against_brute_force(int m, enum chk_model cm, uint64_t nseeds, int min_each)
{
	char buf[8192], err[512];
	int counts[2] = {0, 0};
	struct hval *zero = NULL, *ilist = NULL;
	model = m;
	unsigned long jit0 = chk_jit_stats.decided, bad0 = chk_jit_stats.bad_witness;
	int jit_proved = 0;
	assert_int_equal(chk_value_parse("0", &zero, err, sizeof err), 0);
	assert_int_equal(chk_value_parse("[14]", &ilist, err, sizeof err), 0);
	for (uint64_t seed = 1; seed <= nseeds; seed++) {
		rng = seed * 0x9e3779b97f4a7c15ULL;
		struct bop ops[MAXOPS];
		int n = 3 + (int)rnd(MAXOPS - 2);
		int procs = 2 + (int)rnd(3);
		/* unique lists: a third of the histories start from the list [14] */
		int with_init = m == M_LIST_UNIQUE && seed % 3 == 0;
		uinit = with_init ? list_append(0, 14) : 0;
		nuappended = 0;
		make_history(ops, n, procs, buf, sizeof buf);
		int want = brute(ops, n, 0, uinit) ? CHK_VALID : CHK_INVALID;
		struct chk_options opt = {.model = cm,
					  .initial = m == M_CAS ? zero : with_init ? ilist : NULL,
					  .threads = 1};
		struct hreader *r = NULL;
		assert_int_equal(
			hreader_open_mem(&r, buf, strlen(buf), "h", HFMT_JSONL, err, sizeof err), 0);
		struct chk_result *res = NULL;
		unsigned long proved = chk_jit_stats.proved_invalid;
		int rc = chk_check_reader(r, &opt, "h", &res, err, sizeof err);
		hreader_close(r);
		if (rc)
			fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, err, buf);
		int got = (int)res->verdict;
		chk_result_free(res);
		struct wglref_opts ro = {.model = chk_model_name(cm), .initial = opt.initial};
		struct wglref_result rr;
		if (wglref_check_mem(buf, strlen(buf), &ro, &rr, err, sizeof err))
			fail_msg("seed %llu: reference: %s\n%s", (unsigned long long)seed, err, buf);
		if (rr.verdict != want)
			fail_msg("seed %llu: reference says %d, brute force %s\n%s",
				 (unsigned long long)seed, rr.verdict,
				 chk_verdict_name((enum chk_verdict)want), buf);
		if (chk_jit_stats.proved_invalid != proved && want != CHK_INVALID)
			fail_msg("seed %llu: the just-in-time search found no linearization, the "
				 "brute force did\n%s", (unsigned long long)seed, buf);
		jit_proved += chk_jit_stats.proved_invalid != proved;
		if (got != want)
			fail_msg("seed %llu: checker says %s, brute force %s\n%s",
				 (unsigned long long)seed, chk_verdict_name((enum chk_verdict)got),
				 chk_verdict_name((enum chk_verdict)want), buf);
		counts[want == CHK_VALID]++;
	}
	chk_value_free(zero);
	chk_value_free(ilist);
	print_message("%d valid, %d invalid histories agreed\n", counts[1], counts[0]);
	/* The just-in-time search (registers) is complete within its budget on histories this
	 * small: it must find the linearization of every valid one, and every linearization it
	 * finds must pass its own check. */
	assert_int_equal(chk_jit_stats.bad_witness - bad0, 0);
	if (m == M_CAS) {
		assert_int_equal(chk_jit_stats.decided - jit0, counts[1]);
		print_message("the just-in-time search showed %d of them invalid\n", jit_proved);
		if (!chk_window_every)
			assert_true(jit_proved > min_each); /* the path is taken, and agrees */
	}
	/* Both verdicts must be well represented for the comparison to mean something. */
	assert_true(counts[0] > min_each && counts[1] > min_each);
}

static void test_cas_register(void **state)
{
	against_brute_force(M_CAS, CHK_MODEL_CAS_REGISTER, 20000, 500);
}

/* Windows (refute_windows() in checker/search.c) tried at every operation of every key
 * before the search: a window that shows a valid history invalid is a wrong verdict here. */
static void test_cas_register_windows(void **state)
{
	unsigned long w0 = chk_jit_stats.window_refuted;
	chk_window_every = 1;
	against_brute_force(M_CAS, CHK_MODEL_CAS_REGISTER, 20000, 500);
	chk_window_every = 0;
	unsigned long nw = chk_jit_stats.window_refuted - w0;
	print_message("%lu invalid histories were shown invalid by a window\n", nw);
	assert_true(nw > 1000); /* the path is taken, and agrees */
}

static void test_mutex(void **state)
{
	against_brute_force(M_MUTEX, CHK_MODEL_MUTEX, 10000, 500);
}

static void test_list(void **state)
{
	against_brute_force(M_LIST, CHK_MODEL_LIST, 10000, 200);
}

/* Unique appended elements: decided by inference (checker/listinfer.c). */
static void test_list_unique(void **state)
{
	against_brute_force(M_LIST_UNIQUE, CHK_MODEL_LIST, 30000, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cas_register),
		cmocka_unit_test(test_cas_register_windows),
		cmocka_unit_test(test_mutex),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
