/* detect — the time of the first flagged evidence of a run (detect.h). */
#include "harness/report/detect.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/history.h"

/* Elements are the workload's unique values 1, 2, 3, ... per key; a larger or negative one
 * is left out of the bitmaps (the set checker has judged it; only its time is lost). */
#define ELEM_MAX (1 << 24)

struct keystate {
	char *key;          /* JSON text, as the checker names keys */
	bool invalid;       /* the set checker flagged it */
	int64_t *acked;     /* elements whose add completed ok, in completion order */
	size_t nacked, capacked;
	uint8_t *invoked;   /* bitmap: an add was invoked for the element */
	size_t invoked_bytes;
};

struct pending {
	size_t key;         /* index into keys; SIZE_MAX: none */
	size_t nacked;      /* acknowledged adds of the key when the read began */
};

struct scan {
	struct keystate *keys;
	size_t nkeys, capkeys;
	struct pending *procs; /* by process number */
	size_t nprocs;
	uint8_t *seen;         /* bitmap of one read's elements (cleared after each read) */
	size_t seen_bytes;
};

static bool grow(void **p, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap)
		return true;
	size_t n = *cap ? *cap : 16;
	while (n < want)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	memset((char *)q + *cap * size, 0, (n - *cap) * size);
	*p = q;
	*cap = n;
	return true;
}

static bool bit_set(uint8_t **map, size_t *bytes, int64_t v)
{
	if (v < 0 || v >= ELEM_MAX)
		return false;
	size_t need = (size_t)v / 8 + 1;
	if (!grow((void **)map, bytes, need, 1))
		return false;
	(*map)[v / 8] |= (uint8_t)(1u << (v % 8));
	return true;
}

static bool bit_get(const uint8_t *map, size_t bytes, int64_t v)
{
	return v >= 0 && (size_t)v / 8 < bytes && (map[v / 8] >> (v % 8)) & 1;
}

/* The key as JSON text ("k0" quoted, or digits), as chk_key_result.key has it. */
static void key_text(const struct hevent *ev, char *buf, size_t n)
{
	if (!ev->has_key) {
		buf[0] = '\0';
		return;
	}
	if (ev->key.kind == HVAL_INT)
		snprintf(buf, n, "%lld", (long long)ev->key.u.i);
	else if (ev->key.kind == HVAL_STR)
		snprintf(buf, n, "\"%.*s\"", (int)ev->key.len, ev->key.u.s);
	else
		snprintf(buf, n, "?");
}

static size_t key_index(struct scan *s, const char *text)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].key, text))
			return i;
	if (!grow((void **)&s->keys, &s->capkeys, s->nkeys + 1, sizeof *s->keys))
		return SIZE_MAX;
	char *k = strdup(text);
	if (!k)
		return SIZE_MAX;
	s->keys[s->nkeys].key = k;
	return s->nkeys++;
}

static struct pending *proc(struct scan *s, int64_t p)
{
	if (p < 0 || p >= 1 << 22)
		return NULL;
	size_t cap = s->nprocs;
	if (!grow((void **)&s->procs, &cap, (size_t)p + 1, sizeof *s->procs))
		return NULL;
	for (size_t i = s->nprocs; i < cap; i++)
		s->procs[i].key = SIZE_MAX;
	s->nprocs = cap;
	return &s->procs[p];
}

/* Does the completed read `v` of key k (begun when k had `nacked` acknowledged adds) show
 * an anomaly? `what` says which. */
static bool read_flagged(struct scan *s, struct keystate *k, size_t nacked, const struct hval *v,
			 const char **what)
{
	bool bad = false;
	size_t n = v->kind == HVAL_ARRAY ? v->len : 0;
	for (size_t i = 0; i < n; i++) {
		const struct hval *e = &v->u.items[i];
		if (e->kind != HVAL_INT)
			continue;
		if (!bit_set(&s->seen, &s->seen_bytes, e->u.i))
			continue;
		if (!bit_get(k->invoked, k->invoked_bytes, e->u.i)) {
			*what = "unexpected element";
			bad = true;
		}
	}
	for (size_t i = 0; i < nacked && !bad; i++)
		if (k->acked[i] >= 0 && k->acked[i] < ELEM_MAX &&
		    !bit_get(s->seen, s->seen_bytes, k->acked[i])) {
			*what = "lost or stale element";
			bad = true;
		}
	for (size_t i = 0; i < n; i++) {
		const struct hval *e = &v->u.items[i];
		if (e->kind == HVAL_INT && e->u.i >= 0 && e->u.i < ELEM_MAX &&
		    (size_t)e->u.i / 8 < s->seen_bytes)
			s->seen[e->u.i / 8] = 0;
	}
	return bad;
}

/* The earliest read of an invalid set key that shows its anomaly: its completion time (ns)
 * and key, or -1. */
static int64_t first_set_read(const char *path, const struct chk_result *res, char *key,
			      size_t keylen, const char **what)
{
	struct hreader *hr = NULL;
	struct scan s = {0};
	struct hevent ev;
	char err[256], kt[256];
	int64_t found = -1;
	if (hreader_open(&hr, path, HFMT_AUTO, err, sizeof err))
		return -1;
	for (size_t i = 0; i < res->nkeys; i++) {
		if (res->keys[i].verdict != CHK_INVALID || !res->keys[i].key)
			continue;
		size_t k = key_index(&s, res->keys[i].key);
		if (k == SIZE_MAX)
			goto out;
		s.keys[k].invalid = true;
	}
	while (found < 0 && hreader_next(hr, &ev, err, sizeof err) == 1) {
		if (ev.process == HPROC_NEMESIS || !ev.has_key)
			continue;
		key_text(&ev, kt, sizeof kt);
		size_t k = SIZE_MAX;
		for (size_t i = 0; i < s.nkeys; i++)
			if (!strcmp(s.keys[i].key, kt))
				k = i;
		if (k == SIZE_MAX)
			continue; /* a key the checker found valid */
		struct keystate *ks = &s.keys[k];
		struct pending *p = proc(&s, ev.process);
		bool add = !strcmp(ev.f, "add"), read = !strcmp(ev.f, "read");
		if (ev.type == HTYPE_INVOKE) {
			if (add && ev.value.kind == HVAL_INT)
				bit_set(&ks->invoked, &ks->invoked_bytes, ev.value.u.i);
			if (read && p)
				*p = (struct pending){.key = k, .nacked = ks->nacked};
			continue;
		}
		if (add && ev.type == HTYPE_OK && ev.value.kind == HVAL_INT &&
		    grow((void **)&ks->acked, &ks->capacked, ks->nacked + 1, sizeof *ks->acked))
			ks->acked[ks->nacked++] = ev.value.u.i;
		if (read && ev.type == HTYPE_OK && p && p->key == k &&
		    read_flagged(&s, ks, p->nacked, &ev.value, what)) {
			found = ev.time;
			snprintf(key, keylen, "%s", kt);
		}
		if (read && p)
			p->key = SIZE_MAX;
	}
out:
	hreader_close(hr);
	for (size_t i = 0; i < s.nkeys; i++) {
		free(s.keys[i].key);
		free(s.keys[i].acked);
		free(s.keys[i].invoked);
	}
	free(s.keys);
	free(s.procs);
	free(s.seen);
	return found;
}

int64_t detect_line_wall_ns(const char *line)
{
	struct tm tm = {0};
	int us = 0, n = 0;
	if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &n) != 7 || n == 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000000000LL + (int64_t)us * 1000;
}

static void take(double *best, char *by, size_t bylen, double at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void take(double *best, char *by, size_t bylen, double at, const char *fmt, ...)
{
	if (*best >= 0 && at >= *best)
		return;
	*best = at;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(by, bylen, fmt, ap);
	va_end(ap);
}

int detect_first(const struct detect_input *in, double *at_s, char *by, size_t bylen)
{
	double best = -1;
	const struct chk_result *res = in->check;
	bool sets = false;
	for (size_t i = 0; res && i < res->nkeys; i++) {
		const struct chk_key_result *k = &res->keys[i];
		if (k->verdict != CHK_INVALID)
			continue;
		if (res->model == CHK_MODEL_SET) {
			sets = true;
			continue;
		}
		if (!k->bad)
			continue;
		int64_t t = k->bad->ret_time >= 0 ? k->bad->ret_time : k->bad->time;
		if (t >= 0)
			take(&best, by, bylen, (double)t / 1e9, "nonlinearizable %s of key %s",
			     k->bad->f ? k->bad->f : "operation", k->key ? k->key : "(the register)");
	}
	if (sets && in->history_path && in->history_path[0]) {
		char key[256] = "";
		const char *what = "anomaly";
		int64_t t = first_set_read(in->history_path, res, key, sizeof key, &what);
		if (t >= 0)
			take(&best, by, bylen, (double)t / 1e9, "read of set %s: %s", key, what);
	}
	const struct checks *c = in->checks;
	if (c && c->election_status == ELECTION_VIOLATED && in->t0_wall_ns > 0) {
		size_t n = c->election.nviolations < ELECTION_MAX_SHOWN ? c->election.nviolations
									: ELECTION_MAX_SHOWN;
		for (size_t i = 0; i < n; i++) {
			const struct election_violation *v = &c->election.v[i];
			int64_t a = detect_line_wall_ns(v->a.text), b = detect_line_wall_ns(v->b.text);
			if (a < 0 || b < 0)
				continue;
			int64_t later = a > b ? a : b;
			double at = (double)(later - in->t0_wall_ns) / 1e9;
			take(&best, by, bylen, at < 0 ? 0 : at, "election safety: two leaders in term %llu",
			     (unsigned long long)v->term);
		}
	}
	for (size_t i = 0; c && c->safety_status == ELECTION_VIOLATED && in->t0_wall_ns > 0 &&
			   i < c->safety.nlines && i < NODESAFETY_MAX_SHOWN;
	     i++) {
		int64_t w = detect_line_wall_ns(c->safety.shown[i].text);
		if (w < 0)
			continue;
		double at = (double)(w - in->t0_wall_ns) / 1e9;
		take(&best, by, bylen, at < 0 ? 0 : at, "node safety: %s", c->safety.shown[i].where);
	}
	if (c && c->agreement.status == AGREE_DIVERGED)
		take(&best, by, bylen, in->end_s, "replicas disagree at index %llu",
		     (unsigned long long)c->agreement.applied);
	if (best < 0)
		return 0;
	*at_s = best;
	return 1;
}
