/* election — at most one leader per term, from the nodes' logs (election.h). */
#include "harness/check/election.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/db/logscan.h"
#include "lib/array.h"
#include "lib/err.h"

struct election {
	struct logscan *ls;
	struct election_claim *c;
	size_t n, cap;
	int oom;
	const char *label; /* names the file being scanned in `where`, or NULL: its path */
};

/* ---- the pure core ----------------------------------------------------------------------- */

struct ref {
	uint64_t term;
	size_t i; /* scan order */
};

static int ref_cmp(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;
	if (a->term != b->term)
		return a->term < b->term ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* The claims of one term, refs r[0..n) in scan order: a violation when two nodes differ. */
static void judge_term(const struct election_claim *c, const struct ref *r, size_t n,
		       struct election_result *out)
{
	size_t other = n, distinct = 1;
	for (size_t k = 1; k < n; k++) {
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = !strcmp(c[r[j].i].node, c[r[k].i].node);
		if (seen)
			continue;
		distinct++;
		if (other == n)
			other = k;
	}
	if (distinct < 2)
		return;
	if (out->nviolations < ELECTION_MAX_SHOWN) {
		struct election_violation *v = &out->v[out->nviolations];
		v->term = r[0].term;
		v->nnodes = distinct;
		v->a = c[r[0].i];
		v->b = c[r[other].i];
	}
	out->nviolations++;
}

void election_judge(const struct election_claim *c, size_t n, struct election_result *out)
{
	memset(out, 0, sizeof *out);
	out->claims = n;
	if (!n)
		return;
	struct ref *r = malloc(n * sizeof *r);
	if (!r) {
		/* Without room to sort, compare every pair: slow but still the same answer. */
		for (size_t i = 0; i < n; i++) {
			bool first = true;
			for (size_t j = 0; j < i && first; j++)
				first = c[j].term != c[i].term;
			if (first)
				out->terms++;
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		r[i] = (struct ref){.term = c[i].term, .i = i};
	qsort(r, n, sizeof *r, ref_cmp);
	for (size_t s = 0; s < n;) {
		size_t e = s + 1;
		while (e < n && r[e].term == r[s].term)
			e++;
		out->terms++;
		judge_term(c, r + s, e - s, out);
		s = e;
	}
	free(r);
}

/* ---- scanning ---------------------------------------------------------------------------- */

int election_new(struct election **out, const char *pattern, char *err, size_t errlen)
{
	struct election *e = calloc(1, sizeof *e);
	if (!e)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = logscan_new(&e->ls, err, errlen);
	if (!rc)
		rc = logscan_add(e->ls, "leader", pattern ? pattern : "", err, errlen);
	if (!rc && (!logscan_has_group(e->ls, "leader", "node") ||
		    !logscan_has_group(e->ls, "leader", "term")))
		rc = err_set(err, errlen, SB_EINVAL,
			     "the leader pattern needs the named groups (?<node>...) and (?<term>...)");
	if (rc) {
		err_prefix(err, errlen, "election check");
		election_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

void election_free(struct election *e)
{
	if (!e)
		return;
	logscan_free(e->ls);
	free(e->c);
	free(e);
}

static int parse_term(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return -1;
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (t > (UINT64_MAX - d) / 10)
			return -1;
		t = t * 10 + d;
	}
	*out = t;
	return 0;
}

static int on_match(const struct logscan_match *m, void *arg)
{
	struct election *e = arg;
	struct election_claim c;
	char term[32];
	int tl = logscan_group(m, "term", term, sizeof term);
	int nl = logscan_group(m, "node", c.node, sizeof c.node);
	if (tl < 0 || nl <= 0 || parse_term(term, (size_t)tl, &c.term))
		return 0; /* not a usable announcement: ignored, like any other line */
	snprintf(c.where, sizeof c.where, "%s:%lu", e->label ? e->label : m->file, m->line);
	snprintf(c.text, sizeof c.text, "%.*s", (int)(m->len < sizeof c.text ? m->len
								     : sizeof c.text - 1),
		 m->text);
	if (array_grow((void **)&e->c, &e->cap, e->n + 1, sizeof *e->c, 64)) {
		e->oom = 1;
		return SB_ENOMEM;
	}
	e->c[e->n++] = c;
	return 0;
}

static int scan_done(struct election *e, int rc, char *err, size_t errlen)
{
	if (e->oom) {
		e->oom = 0;
		return err_set(err, errlen, SB_ENOMEM, "election check: out of memory");
	}
	return rc;
}

int election_scan_buffer(struct election *e, const char *label, const char *data, size_t len,
			 char *err, size_t errlen)
{
	int rc = logscan_buffer(e->ls, label ? label : "(buffer)", data, len, on_match, e, NULL,
				err, errlen);
	return scan_done(e, rc, err, errlen);
}

int election_scan_file(struct election *e, const char *path, const char *label, char *err,
		       size_t errlen)
{
	e->label = label;
	int rc = logscan_file(e->ls, path, on_match, e, NULL, err, errlen);
	e->label = NULL;
	return scan_done(e, rc, err, errlen);
}

const struct election_claim *election_claims(const struct election *e, size_t *n)
{
	*n = e->n;
	return e->c;
}
