/* listinfer — the list model decided by inference instead of search (the idea Elle uses for
 * list-append histories, and the one the register search uses for unique values).
 *
 * When a key has no list writes, every appended element is unique and none is in the
 * initial list, each reachable state is the initial list followed by distinct appended
 * elements, and states only grow. So:
 *  - an ok read that does not start with the initial list, holds an element twice, or holds
 *    an element nothing (that may have happened) appends, matches no state: invalid;
 *  - all ok reads must be prefixes of one list (states form a chain of prefixes): two reads
 *    that are not prefixes of one another are invalid together. Let L be the longest read:
 *    every read must be a prefix of L;
 *  - then every linearization has the same shape: the appends of L's elements in L's order,
 *    each read placed after the append of its last element and before the next one, and
 *    every acknowledged append that no read contains after every read (anywhere earlier, a
 *    later read would contain it); indeterminate appends that no read contains may be left
 *    out (taking them never helps). Only the order of reads at the same place, and of the
 *    acknowledged appends at the end, is free, and both are interval orders, which always
 *    have a linear extension consistent with real time.
 * So the history is linearizable exactly when no operation must come after one that
 * completed before it was invoked: giving each operation its place ("slot") in that shape,
 * every operation x needs min{ret(y) : slot(y) > slot(x)} > call(x). A suffix minimum over
 * the slots decides it in O(n + |L|); the reads are interned trie nodes (chk_history.seqs),
 * so "R is a prefix of L" is one array lookup along L's path.
 *
 * tests/unit/checker/test_bruteforce.c compares these verdicts with an unreduced search.
 */
#include <stdlib.h>
#include <string.h>

#include "checker/hmap.h"
#include "checker/internal.h"
#include "lib/err.h"

#define MAX_CONCURRENT 32
#define CHECK_EVERY 16384 /* steps between looks at the clock */

/* An element's owner in the element map: the key-local index of the append that adds it,
 * or INIT_BASE + i for the initial list's i-th element. */
#define INIT_BASE 0x40000000

struct infer {
	const struct chk_history *h;
	const struct ckey *k;
	struct budget *b;
	int64_t key_deadline;
	struct chk_key_result *out;
	struct hmap owner; /* element -> owner */
	const vref *init;  /* the initial list */
	size_t ninit;
	int32_t *path;     /* path[d]: L's trie node at depth d */
	size_t ld;         /* |L| */
	uint32_t lread;    /* key-local index of the read L */
	int32_t *pos;      /* per key-local op: position (1-based) of an append in L, 0 if none */
	size_t steps;
};

/* 1 when a time limit passed (out is then unknown). Cheap between looks at the clock. */
static int over_time(struct infer *x)
{
	if (++x->steps % CHECK_EVERY)
		return 0;
	int r = chk_budget_expired(x->b, x->key_deadline);
	if (!r)
		return 0;
	x->out->verdict = CHK_UNKNOWN;
	x->out->why = strdup(chk_budget_why(r));
	return 1;
}

static const struct cop *op_at(const struct infer *x, uint32_t i)
{
	return key_op(x->h, x->k, i);
}

static vref elem_at(const struct infer *x, int32_t node)
{
	return x->h->seqs.elem[node];
}

/* ---- reporting ---------------------------------------------------------------------------- */

static int overlaps(const struct cop *a, const struct cop *b)
{
	return a->call < b->ret && b->call < a->ret;
}

/* Fill out as invalid: `bad` cannot be linearized, for the reason in why (taken). Returns 1
 * (reported), or SB_ENOMEM. */
static int report(struct infer *x, uint32_t bad_i, struct sbuf *why)
{
	struct chk_key_result *out = x->out;
	const struct cop *bad = op_at(x, bad_i);
	out->verdict = CHK_INVALID;
	out->why = sbuf_take(why);
	out->bad = calloc(1, sizeof *out->bad);
	out->concurrent = calloc(MAX_CONCURRENT, sizeof *out->concurrent);
	if (!out->why || !out->bad || !out->concurrent)
		return SB_ENOMEM;
	chk_op_describe(x->h, bad, out->bad);
	for (size_t i = 0; i < x->k->n; i++) {
		const struct cop *o = op_at(x, (uint32_t)i);
		if (o == bad || o->kind == K_DEAD || !overlaps(o, bad))
			continue;
		if (out->nconcurrent < MAX_CONCURRENT) /* listed: the first ones; counted: all */
			chk_op_describe(x->h, o, &out->concurrent[out->nconcurrent++]);
		out->nconcurrent_total++;
	}
	return 1;
}

/* "read of key K at T" (a read: when it completed; an append: when it was invoked). */
static void op_phrase(const struct infer *x, const struct cop *o, struct sbuf *b)
{
	if (o->kind == K_LREAD) {
		sbuf_lit(b, "read of ");
		chk_key_phrase(x->h, x->k, b);
		sbuf_lit(b, " that completed at ");
		chk_when_phrase(o->t_ret, o->ret_line, b);
	} else {
		sbuf_lit(b, "append of ");
		vtab_format_ref(&x->h->vals, o->a, b);
		sbuf_lit(b, " to ");
		chk_key_phrase(x->h, x->k, b);
		sbuf_lit(b, " invoked at ");
		chk_when_phrase(o->t_call, o->line, b);
	}
}

/* Element problems of read r (key-local index ri) at its depth d (1-based) holding e. */
static int report_element(struct infer *x, uint32_t ri, size_t d, vref e, int twice)
{
	struct sbuf why = {0};
	op_phrase(x, op_at(x, ri), &why);
	sbuf_addf(&why, " returned ");
	vtab_format_ref(&x->h->vals, e, &why);
	if (twice)
		sbuf_addf(&why, " twice (again at position %zu), but every element is appended "
				"once", d);
	else
		sbuf_addf(&why, " at position %zu, but no operation that may have taken effect "
				"appended it", d);
	return report(x, ri, &why);
}

/* Read ri (node n, depth d) is not a prefix of L: name both reads and where they part. */
static int report_disagree(struct infer *x, uint32_t ri, int32_t n, size_t d)
{
	const struct seqtab *t = &x->h->seqs;
	/* The first position where they differ: walk r up to the deepest common ancestor. */
	size_t c = d < x->ld ? d : x->ld;
	int32_t a = n;
	for (size_t i = d; i > c; i--)
		a = t->parent[a];
	while (a != x->path[c]) {
		a = t->parent[a];
		c--;
	}
	/* Position c + 1 differs (r is never shorter than c + 1: it is not a prefix of L). */
	int32_t ra = n;
	for (size_t i = d; i > c + 1; i--)
		ra = t->parent[ra];
	vref re = elem_at(x, ra);
	int32_t own = hmap_get(&x->owner, re);
	if (own < 0)
		return report_element(x, ri, c + 1, re, 0);
	/* r itself may hold an element twice: look for it among r's earlier elements. */
	for (int32_t p = t->parent[ra]; p > 0; p = t->parent[p])
		if (elem_at(x, p) == re)
			return report_element(x, ri, c + 1, re, 1);
	struct sbuf why = {0};
	op_phrase(x, op_at(x, ri), &why);
	sbuf_addf(&why, " returned %zu elements and the ", d);
	op_phrase(x, op_at(x, x->lread), &why);
	sbuf_addf(&why, " returned %zu; they agree on the first %zu but then one has ", x->ld, c);
	vtab_format_ref(&x->h->vals, re, &why);
	sbuf_lit(&why, " and the other ");
	if (c < x->ld)
		vtab_format_ref(&x->h->vals, elem_at(x, x->path[c + 1]), &why);
	else
		sbuf_lit(&why, "ends");
	sbuf_addf(&why, ", so no single order of the appends explains both");
	return report(x, ri, &why);
}

/* Real time contradicts the only possible order: op xi must come after op yi, but yi
 * completed before xi was invoked. */
static int report_order(struct infer *x, uint32_t xi, uint32_t yi)
{
	const struct cop *xo = op_at(x, xi), *yo = op_at(x, yi);
	struct sbuf why = {0};
	if (xo->kind == K_LREAD && yo->kind == K_APPEND) {
		/* a stale read, or the append was lost */
		op_phrase(x, xo, &why);
		sbuf_addf(&why, " returned %zu elements without ", (size_t)xo->b);
		vtab_format_ref(&x->h->vals, yo->a, &why);
		sbuf_lit(&why, ", but its append completed at ");
		chk_when_phrase(yo->t_ret, yo->ret_line, &why);
		sbuf_lit(&why, ", before the read began");
		if (!x->pos[yi])
			sbuf_lit(&why, ", and no read ever returned it (a lost append)");
	} else if (xo->kind == K_LREAD) {
		op_phrase(x, xo, &why);
		sbuf_addf(&why, " returned %zu elements, but a read that completed at ",
			  (size_t)xo->b);
		chk_when_phrase(yo->t_ret, yo->ret_line, &why);
		sbuf_addf(&why, ", before it began, had returned %zu (a stale read)", (size_t)yo->b);
	} else if (yo->kind == K_LREAD) {
		op_phrase(x, yo, &why);
		sbuf_lit(&why, " returned ");
		vtab_format_ref(&x->h->vals, xo->a, &why);
		sbuf_lit(&why, ", but its append was invoked only at ");
		chk_when_phrase(xo->t_call, xo->line, &why);
		sbuf_lit(&why, ", after that read completed");
	} else {
		sbuf_lit(&why, "append of ");
		vtab_format_ref(&x->h->vals, yo->a, &why);
		sbuf_lit(&why, " to ");
		chk_key_phrase(x->h, x->k, &why);
		sbuf_lit(&why, " completed at ");
		chk_when_phrase(yo->t_ret, yo->ret_line, &why);
		sbuf_lit(&why, ", before the append of ");
		vtab_format_ref(&x->h->vals, xo->a, &why);
		sbuf_lit(&why, " began, but ");
		if (x->pos[yi])
			sbuf_lit(&why, "reads return them in the other order");
		else
			sbuf_lit(&why, "reads return the later one and never the earlier (a lost "
				       "append)");
	}
	return report(x, xi, &why);
}

/* ---- the inference ------------------------------------------------------------------------- */

/* Collect the elements' owners and the longest read. Returns 1 when the key qualifies,
 * 0 when it must be searched, SB_ENOMEM. *lread = -1 when there is no ok read. */
static int scan(struct infer *x, int64_t *lread)
{
	*lread = -1;
	uint32_t best = 0;
	for (size_t i = 0; i < x->ninit; i++) {
		if (hmap_get(&x->owner, x->init[i]) >= 0)
			return 0;
		if (hmap_put(&x->owner, x->init[i], (int32_t)(INIT_BASE + i)))
			return SB_ENOMEM;
	}
	if (x->k->n >= INIT_BASE || x->ninit >= INIT_BASE)
		return 0;
	for (size_t i = 0; i < x->k->n; i++) {
		const struct cop *o = op_at(x, (uint32_t)i);
		if (o->kind == K_LWRITE)
			return 0;
		if (o->kind == K_APPEND) {
			if (hmap_get(&x->owner, o->a) >= 0)
				return 0; /* not unique */
			if (hmap_put(&x->owner, o->a, (int32_t)i))
				return SB_ENOMEM;
		} else if (o->kind == K_LREAD && o->status == S_OK) {
			if (*lread < 0 || (uint32_t)o->b > best) {
				*lread = (int64_t)i;
				best = (uint32_t)o->b;
			}
		}
	}
	return 1;
}

/* L's path and its elements' positions; an element problem of L is reported. Returns 0
 * (go on), 1 (reported), SB_ENOMEM. */
static int place_longest(struct infer *x)
{
	const struct cop *l = op_at(x, x->lread);
	x->ld = (size_t)l->b;
	x->path = malloc((x->ld + 1) * sizeof *x->path);
	if (!x->path)
		return SB_ENOMEM;
	int32_t n = (int32_t)l->a;
	for (size_t d = x->ld + 1; d-- > 0; n = x->h->seqs.parent[n])
		x->path[d] = n;
	for (size_t d = 1; d <= x->ld; d++) {
		vref e = elem_at(x, x->path[d]);
		int32_t own = hmap_get(&x->owner, e);
		if (d <= x->ninit) {
			if (e != x->init[d - 1])
				goto not_initial;
			continue;
		}
		if (own < 0)
			return report_element(x, x->lread, d, e, 0);
		if (own >= INIT_BASE || x->pos[own])
			return report_element(x, x->lread, d, e, 1);
		x->pos[own] = (int32_t)d;
	}
	if (x->ld < x->ninit)
		goto not_initial;
	return 0;
not_initial:;
	struct sbuf why = {0};
	op_phrase(x, l, &why);
	sbuf_addf(&why, " does not begin with the %zu elements of the initial list", x->ninit);
	return report(x, x->lread, &why);
}

/* Every read must be a prefix of L, at least as long as the initial list. Returns 0, 1
 * (reported), SB_ENOMEM. */
static int check_prefixes(struct infer *x)
{
	for (size_t i = 0; i < x->k->n; i++) {
		const struct cop *o = op_at(x, (uint32_t)i);
		if (o->kind != K_LREAD || o->status != S_OK)
			continue;
		size_t d = (size_t)o->b;
		if (x->path[d] != (int32_t)o->a)
			return report_disagree(x, (uint32_t)i, (int32_t)o->a, d);
		if (d < x->ninit) {
			struct sbuf why = {0};
			op_phrase(x, o, &why);
			sbuf_addf(&why, " returned %zu elements, fewer than the initial list's %zu",
				  d, x->ninit);
			return report(x, (uint32_t)i, &why);
		}
		if (over_time(x))
			return 1;
	}
	return 0;
}

/* The slot of op i in the only possible order, or -1 when it takes no part. */
static int64_t slot_of(const struct infer *x, uint32_t i)
{
	const struct cop *o = op_at(x, i);
	int64_t m = (int64_t)(x->ld - x->ninit);
	if (o->kind == K_LREAD)
		return o->status == S_OK ? 2 * ((int64_t)o->b - (int64_t)x->ninit) + 1 : -1;
	if (o->kind != K_APPEND)
		return -1;
	if (x->pos[i])
		return 2 * ((int64_t)x->pos[i] - (int64_t)x->ninit);
	return o->status == S_OK ? 2 * m + 2 : -1; /* after every read, or left out */
}

/* Every op x needs every op of a later slot to complete after x was invoked. Returns 0
 * (valid), 1 (reported), SB_ENOMEM. */
static int check_real_time(struct infer *x)
{
	size_t nslots = 2 * (x->ld - x->ninit) + 4;
	int64_t *minret = malloc(nslots * sizeof *minret);
	uint32_t *argmin = malloc(nslots * sizeof *argmin);
	int rc = SB_ENOMEM;
	if (!minret || !argmin)
		goto out;
	for (size_t s = 0; s < nslots; s++)
		minret[s] = CHK_INF;
	for (size_t i = 0; i < x->k->n; i++) {
		int64_t s = slot_of(x, (uint32_t)i);
		const struct cop *o = op_at(x, (uint32_t)i);
		if (s >= 0 && o->status == S_OK && o->ret < minret[s]) {
			minret[s] = o->ret;
			argmin[s] = (uint32_t)i;
		}
	}
	/* suffix minima: minret[s] becomes the minimum over slots >= s */
	for (size_t s = nslots - 1; s-- > 0;)
		if (minret[s + 1] < minret[s]) {
			minret[s] = minret[s + 1];
			argmin[s] = argmin[s + 1];
		}
	rc = 0;
	for (size_t i = 0; i < x->k->n; i++) {
		int64_t s = slot_of(x, (uint32_t)i);
		if (s < 0)
			continue;
		const struct cop *o = op_at(x, (uint32_t)i);
		if (minret[s + 1] < o->call) {
			rc = report_order(x, (uint32_t)i, argmin[s + 1]);
			goto out;
		}
		if (over_time(x)) {
			rc = 1;
			goto out;
		}
	}
out:
	free(minret);
	free(argmin);
	return rc;
}

int chk_list_infer(const struct chk_history *h, const struct ckey *k, struct budget *b,
		   int64_t key_deadline, struct chk_key_result *out)
{
	struct infer x = {.h = h, .k = k, .b = b, .key_deadline = key_deadline, .out = out};
	if (h->init_seq >= 0) {
		x.init = h->pool + h->init_seq;
		x.ninit = (size_t)h->init_seq_len;
	}
	int64_t lread;
	int rc = scan(&x, &lread);
	if (rc <= 0)
		goto out;
	if (lread < 0) {
		out->verdict = CHK_VALID; /* no read: appends may take effect in any order */
		goto out;
	}
	x.lread = (uint32_t)lread;
	x.pos = calloc(k->n + 1, sizeof *x.pos);
	if (!x.pos) {
		rc = SB_ENOMEM;
		goto out;
	}
	int r = place_longest(&x);
	if (!r)
		r = check_prefixes(&x);
	if (!r)
		r = check_real_time(&x);
	if (r < 0) {
		rc = r;
		goto out;
	}
	if (!r)
		out->verdict = CHK_VALID;
	rc = 1;
out:
	hmap_free(&x.owner);
	free(x.path);
	free(x.pos);
	return rc;
}
