/* setcheck — the set model (Jepsen's set semantics), one key at a time.
 *
 * For every element: its acknowledged adds (the earliest completion counts), whether any add
 * of it was attempted without failing (ok, info or never completed), and which successful
 * reads returned it. Reads are ordered by invocation; "the final read" is the one invoked
 * last. An acknowledged add is
 *   lost       when the final read began after the add completed and lacks it;
 *   stale      when some read that began after the add completed lacks it (and it is not lost);
 *   never-read when no read began after it completed and no read returned it.
 * An element read but never added (or only added by failed adds) is unexpected; an element
 * whose adds were all indeterminate and that a read returned is recovered. Lost, stale and
 * unexpected elements make the key invalid; a key with acknowledged adds and no successful
 * read is unknown (nothing could be verified).
 */
#include <stdlib.h>
#include <string.h>

#include "checker/internal.h"
#include "lib/array.h"
#include "lib/err.h"

struct elem {
	vref value;
	int64_t acked;     /* earliest completion of an ok add; CHK_INF if none */
	uint8_t attempted; /* an add that did not fail */
	uint8_t seen, in_final;
	size_t contained_after; /* reads begun after `acked` that returned it */
	size_t mark;            /* 1 + index of the last read that counted it */
};

struct emap {
	int32_t *slot; /* element index + 1, 0 = empty */
	size_t cap;
	struct elem *e;
	size_t n, capn;
};

static struct elem *elem_get(struct emap *m, vref v)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		int32_t *s = calloc(cap, sizeof *s);
		if (!s)
			return NULL;
		for (size_t j = 0; j < m->n; j++) {
			size_t i = mix64(m->e[j].value) & (cap - 1);
			while (s[i])
				i = (i + 1) & (cap - 1);
			s[i] = (int32_t)j + 1;
		}
		free(m->slot);
		m->slot = s;
		m->cap = cap;
	}
	size_t i = mix64(v) & (m->cap - 1);
	while (m->slot[i]) {
		struct elem *e = &m->e[m->slot[i] - 1];
		if (e->value == v)
			return e;
		i = (i + 1) & (m->cap - 1);
	}
	if (array_grow((void **)&m->e, &m->capn, m->n + 1, sizeof *m->e, 64))
		return NULL;
	struct elem *e = &m->e[m->n];
	memset(e, 0, sizeof *e);
	e->value = v;
	e->acked = CHK_INF;
	m->slot[i] = (int32_t)m->n + 1;
	m->n++;
	return e;
}

static int cmp_call(const void *pa, const void *pb)
{
	const struct cop *a = *(const struct cop *const *)pa, *b = *(const struct cop *const *)pb;
	return (a->call > b->call) - (a->call < b->call);
}

int chk_set_key(const struct chk_history *h, const struct ckey *k, struct chk_key_result *out)
{
	struct emap m = {0};
	const struct cop **reads = NULL;
	size_t nreads = 0;
	struct sbuf samples[CHK_SET_NANOMALY] = {{0}};
	int rc = SB_ENOMEM;

	reads = malloc((k->n + 1) * sizeof *reads);
	if (!reads)
		goto out;
	for (size_t i = 0; i < k->n; i++) {
		const struct cop *o = key_op(h, k, i);
		if (o->kind == K_ADD) {
			struct elem *e = elem_get(&m, o->a);
			if (!e)
				goto out;
			if (o->status == S_OK && o->ret < e->acked)
				e->acked = o->ret;
			if (o->status != S_FAIL)
				e->attempted = 1;
			out->ops++;
		} else if (o->kind == K_SREAD && o->status == S_OK) {
			reads[nreads++] = o;
			out->ops++;
		}
	}
	qsort(reads, nreads, sizeof *reads, cmp_call);
	const struct cop *final = nreads ? reads[nreads - 1] : NULL;
	for (size_t r = 0; r < nreads; r++) {
		const struct cop *o = reads[r];
		for (vref i = 0; i < o->b; i++) {
			struct elem *e = elem_get(&m, h->pool[o->a + i]);
			if (!e)
				goto out;
			/* Count each read once per element, even if it lists the element twice. */
			if (e->mark == r + 1)
				continue;
			e->seen = 1;
			e->mark = r + 1;
			if (o->call > e->acked)
				e->contained_after++;
		}
	}
	if (final)
		for (vref i = 0; i < final->b; i++) {
			struct elem *e = elem_get(&m, h->pool[final->a + i]);
			if (!e)
				goto out;
			e->in_final = 1;
		}
	for (size_t i = 0; i < m.n; i++) {
		struct elem *e = &m.e[i];
		int cat = -1;
		if (e->acked != CHK_INF) {
			out->set_acked++;
			/* Reads that began after the add completed: binary search on call order. */
			size_t lo = 0, hi = nreads;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (reads[mid]->call > e->acked)
					hi = mid;
				else
					lo = mid + 1;
			}
			size_t after = nreads - lo;
			if (final && final->call > e->acked && !e->in_final)
				cat = CHK_SET_LOST;
			else if (e->contained_after < after)
				cat = CHK_SET_STALE;
			else if (!after && !e->seen)
				cat = CHK_SET_NEVER_READ;
		} else if (e->seen && !e->attempted) {
			cat = CHK_SET_UNEXPECTED;
		} else if (e->seen) {
			cat = CHK_SET_RECOVERED;
		}
		if (cat < 0)
			continue;
		if (out->set_count[cat]++ < 20) {
			sbuf_addc(&samples[cat], out->set_count[cat] == 1 ? '[' : ',');
			vtab_format_ref(&h->vals, e->value, &samples[cat]);
		}
	}
	for (int c = 0; c < CHK_SET_NANOMALY; c++) {
		if (!out->set_count[c])
			sbuf_addc(&samples[c], '[');
		sbuf_addc(&samples[c], ']');
		out->set_sample[c] = sbuf_take(&samples[c]);
	}
	size_t bad = out->set_count[CHK_SET_LOST] + out->set_count[CHK_SET_STALE] +
		     out->set_count[CHK_SET_UNEXPECTED];
	struct sbuf why = {0}, key = {0};
	chk_key_phrase(h, k, &key);
	if (bad) {
		out->verdict = CHK_INVALID;
		sbuf_addf(&why, "%s: ", key.p ? key.p : "");
		int first = 1;
		static const char *const what[] = {
			[CHK_SET_LOST] = "acknowledged adds missing from the final read",
			[CHK_SET_STALE] = "acknowledged adds missing from a read that began after "
					  "they completed",
			[CHK_SET_UNEXPECTED] = "elements read that were never added",
		};
		for (int c = 0; c < CHK_SET_NANOMALY; c++) {
			if (c == CHK_SET_NEVER_READ || c == CHK_SET_RECOVERED || !out->set_count[c])
				continue;
			sbuf_addf(&why, "%s%zu %s (%s %s)", first ? "" : "; ", out->set_count[c],
				  what[c], chk_set_anomaly_name(c), out->set_sample[c]);
			first = 0;
		}
		if (final && out->set_count[CHK_SET_LOST]) {
			sbuf_lit(&why, "; the final read began at ");
			chk_when_phrase(final->t_call, final->line, &why);
		}
		out->why = sbuf_take(&why);
	} else if (out->set_acked && !nreads) {
		out->verdict = CHK_UNKNOWN;
		sbuf_addf(&why, "%s has %zu acknowledged adds but no successful read",
			  key.p ? key.p : "", out->set_acked);
		out->why = sbuf_take(&why);
	} else {
		out->verdict = CHK_VALID;
	}
	sbuf_free(&why);
	sbuf_free(&key);
	rc = 0;
out:
	for (int c = 0; c < CHK_SET_NANOMALY; c++)
		sbuf_free(&samples[c]);
	free(reads);
	free(m.slot);
	free(m.e);
	return rc;
}
