/* report/html_data — reading what report.html shows (see html_data.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checker/checker.h"
#include "harness/report/html_data.h"
#include "lib/array.h"
#include "lib/err.h"
#include "lib/fileutil.h"

/* ---- JSON access ---------------------------------------------------------------------------- */

int rep_json_parse(const char *text, size_t len, struct hval **out, char *err, size_t errlen)
{
	/* The history reader's JSON parser reads one line: a newline or carriage return
	 * outside a string is whitespace, and a valid JSON string holds neither raw, so
	 * blanking them keeps the value. */
	char *flat = malloc(len + 1);
	if (!flat)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		flat[i] = text[i] == '\n' || text[i] == '\r' || text[i] == '\0' ? ' ' : text[i];
	flat[len] = '\0';
	int rc = chk_value_parse(flat, out, err, errlen);
	free(flat);
	return rc;
}

const struct hval *rep_jget(const struct hval *obj, const char *name)
{
	if (!obj || obj->kind != HVAL_MAP)
		return NULL;
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct hval *k = &obj->u.items[2 * i];
		if (k->kind == HVAL_STR && !strcmp(k->u.s, name))
			return &obj->u.items[2 * i + 1];
	}
	return NULL;
}

const char *rep_jstr(const struct hval *v)
{
	return v && v->kind == HVAL_STR ? v->u.s : NULL;
}

int rep_jnum(const struct hval *v, double *out)
{
	if (v && v->kind == HVAL_INT) {
		*out = (double)v->u.i;
		return 0;
	}
	if (v && v->kind == HVAL_FLOAT) {
		*out = v->u.d;
		return 0;
	}
	return -1;
}

void rep_jformat(const struct hval *v, struct sbuf *b)
{
	/* hval_format stops measuring past its buffer: write the whole value instead */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		b->oom = 1;
		return;
	}
	int rc = hval_write_json(f, v);
	if (fclose(f) || rc)
		b->oom = 1;
	else
		sbuf_add(b, text, len);
	free(text);
}

static char *jdup_str(const struct hval *v)
{
	const char *s = rep_jstr(v);
	return s ? strdup(s) : NULL;
}

/* ---- the checker's invalid keys ---------------------------------------------------------------- */

static int lines_of(const struct hval *arr, size_t max_from_end, uint64_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!arr || arr->kind != HVAL_ARRAY || !arr->len)
		return 0;
	size_t from = arr->len > max_from_end ? arr->len - max_from_end : 0;
	*out = calloc(arr->len - from, sizeof **out);
	if (!*out)
		return SB_ENOMEM;
	for (size_t i = from; i < arr->len; i++) {
		const struct hval *v = &arr->u.items[i];
		if (v->kind == HVAL_INT && v->u.i > 0)
			(*out)[(*n)++] = (uint64_t)v->u.i;
		else if (v->kind == HVAL_MAP) { /* a concurrent op: its invocation line */
			double l;
			if (!rep_jnum(rep_jget(v, "line"), &l) && l > 0)
				(*out)[(*n)++] = (uint64_t)l;
		}
	}
	return 0;
}

/* ce: the key's "counterexample", or the "stalled" object of an undecided key (the same
 * fields, without "linearized"). */
static int keyview_init(struct rep_keyview *kv, const struct hval *k, const struct hval *ce)
{
	const struct hval *key = rep_jget(k, "key");
	const struct hval *op = rep_jget(ce, "op");
	struct sbuf b = {0};
	if (key && key->kind != HVAL_NULL) {
		rep_jformat(key, &b);
		kv->key = sbuf_take(&b);
	}
	kv->why = jdup_str(rep_jget(k, "why"));
	double v;
	if (!rep_jnum(rep_jget(op, "line"), &v))
		kv->bad_line = (uint64_t)v;
	if (!rep_jnum(rep_jget(op, "completed_line"), &v))
		kv->bad_ret_line = (uint64_t)v;
	const struct hval *st = rep_jget(ce, "states");
	if (st && st->kind == HVAL_ARRAY) {
		for (uint32_t i = 0; i < st->len; i++) {
			if (i && i + 1 == st->len)
				sbuf_lit(&b, " or ");
			else if (i)
				sbuf_lit(&b, ", ");
			rep_jformat(&st->u.items[i], &b);
		}
		kv->states = sbuf_take(&b);
	}
	const struct hval *conc = rep_jget(ce, "concurrent");
	if (lines_of(conc, 1000, &kv->conc, &kv->nconc))
		return SB_ENOMEM;
	kv->nconc_total = kv->nconc; /* the checker lists the first 32; it counts them all */
	if (!rep_jnum(rep_jget(ce, "concurrent_total"), &v) && v > (double)kv->nconc && v < 1e15)
		kv->nconc_total = (size_t)v;
	const struct hval *lin = rep_jget(ce, "linearized");
	if (lines_of(lin, REP_LIN_TAIL, &kv->lin, &kv->nlin))
		return SB_ENOMEM;
	/* lin[] holds the tail: its first entry is position skipped+1 of the whole order */
	kv->lin_skipped = 0;
	if (!rep_jnum(rep_jget(ce, "linearized_skipped"), &v) && v > 0)
		kv->lin_skipped = (size_t)v;
	if (lin && lin->kind == HVAL_ARRAY && lin->len > REP_LIN_TAIL)
		kv->lin_skipped += lin->len - REP_LIN_TAIL;
	return b.oom ? SB_ENOMEM : 0;
}

int rep_keys_from_checker(struct rep_hist *h, char *err, size_t errlen)
{
	const struct hval *keys = rep_jget(h->chk, "keys");
	if (!keys || keys->kind != HVAL_ARRAY)
		return 0;
	/* invalid keys first, then undecided ones, each as the checker lists them */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < keys->len; i++) {
			const struct hval *k = &keys->u.items[i];
			const char *v = rep_jstr(rep_jget(k, "verdict"));
			if (!v || strcmp(v, pass ? "unknown" : "invalid"))
				continue;
			if (pass)
				h->nundecided++;
			else
				h->ninvalid++;
			const struct hval *ce = rep_jget(k, pass ? "stalled" : "counterexample");
			if (!ce || ce->kind != HVAL_MAP || h->nkv == REP_MAX_KEYVIEWS)
				continue;
			if (!h->kv && !(h->kv = calloc(REP_MAX_KEYVIEWS, sizeof *h->kv)))
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
			h->kv[h->nkv].undecided = pass;
			if (keyview_init(&h->kv[h->nkv++], k, ce))
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* ---- the history ----------------------------------------------------------------------------- */

/* An invocation waiting for its completion. */
struct pending {
	int64_t process; /* -2: free slot */
	int64_t t0;
	uint64_t line;
	int kv;          /* key view index, -1 none */
	char *text;      /* the invocation's line (only for key views) */
	char *label;
};

struct ptab {
	struct pending *s;
	size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct pending *ptab_find(struct ptab *t, int64_t p, int create)
{
	if (create && (t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct pending *ns = malloc(ncap * sizeof *ns);
		if (!ns)
			return NULL;
		for (size_t i = 0; i < ncap; i++)
			ns[i].process = -2;
		for (size_t i = 0; i < t->cap; i++) {
			if (t->s[i].process == -2)
				continue;
			size_t j = mix((uint64_t)t->s[i].process) & (ncap - 1);
			while (ns[j].process != -2)
				j = (j + 1) & (ncap - 1);
			ns[j] = t->s[i];
		}
		free(t->s);
		t->s = ns;
		t->cap = ncap;
	}
	if (!t->cap)
		return NULL;
	size_t j = mix((uint64_t)p) & (t->cap - 1);
	while (t->s[j].process != -2) {
		if (t->s[j].process == p)
			return &t->s[j];
		j = (j + 1) & (t->cap - 1);
	}
	if (!create)
		return NULL;
	t->s[j].process = p;
	t->n++;
	return &t->s[j];
}

/* Removal with backward-shift, so probing stays correct without tombstones. */
static void ptab_del(struct ptab *t, struct pending *e)
{
	size_t i = (size_t)(e - t->s);
	t->s[i].process = -2;
	t->n--;
	size_t j = i;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (t->s[j].process == -2)
			return;
		size_t home = mix((uint64_t)t->s[j].process) & (t->cap - 1);
		/* can the entry at j move to the hole at i? */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->s[i] = t->s[j];
			t->s[j].process = -2;
			i = j;
		}
	}
}

static char *event_line(const struct hevent *ev)
{
	char small[512];
	size_t need = hevent_format(small, sizeof small, ev);
	struct sbuf b = {0};
	sbuf_addf(&b, "line %llu: ", (unsigned long long)ev->line);
	if (need <= sizeof small) {
		sbuf_add(&b, small, need && small[need - 1] == '\n' ? need - 1 : need);
	} else {
		char *big = malloc(need + 1);
		if (big) {
			hevent_format(big, need + 1, ev);
			size_t cut = need > 4000 ? 4000 : need - 1; /* a huge value: show its start */
			sbuf_add(&b, big, cut);
			if (cut < need - 1)
				sbuf_lit(&b, "...");
			free(big);
		}
	}
	return sbuf_take(&b);
}

/* "w 3", "r 5", "cas 1→2": short enough to sit on a bar. */
static char *op_label(const char *f, const struct hval *v)
{
	struct sbuf b = {0};
	char val[64];
	if (!strcmp(f, "cas") && v && v->kind == HVAL_ARRAY && v->len == 2) {
		char v2[64];
		hval_format(val, sizeof val, &v->u.items[0]);
		hval_format(v2, sizeof v2, &v->u.items[1]);
		sbuf_addf(&b, "cas %s\u2192%s", val, v2);
	} else {
		const char *s = !strcmp(f, "read") ? "r" : !strcmp(f, "write") ? "w" : f;
		if (v)
			hval_format(val, 24, v);
		else
			strcpy(val, "?");
		sbuf_addf(&b, "%s %s", s, val);
	}
	return sbuf_take(&b);
}

static int in_list(const uint64_t *a, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == x)
			return 1;
	return 0;
}

static int keyview_index(const struct rep_hist *h, const struct hevent *ev)
{
	if (!h->nkv)
		return -1;
	char kt[256] = "";
	if (ev->has_key)
		hval_format(kt, sizeof kt, &ev->key);
	for (size_t i = 0; i < h->nkv; i++) {
		const char *k = h->kv[i].key;
		if ((!k && !ev->has_key) || (k && ev->has_key && !strcmp(k, kt)))
			return (int)i;
	}
	return -1;
}

static int kv_push(struct rep_keyview *kv, struct rep_bar *b)
{
	if (kv->nbars == REP_MAX_BARS)
		return 1;
	if (array_grow((void **)&kv->bars, &kv->capbars, kv->nbars + 1, sizeof *kv->bars, 32))
		return -1;
	kv->bars[kv->nbars++] = *b;
	return 0;
}

static void bar_free(struct rep_bar *b)
{
	free(b->label);
	free(b->text);
}

/* Decide whether a finished operation of an invalid key belongs to its view: the last
 * REP_RING that completed before the bad op began, every op overlapping or inside it, the
 * ops named by the counterexample or its linearized tail, and REP_AFTER ops after it. */
static int kv_offer(struct rep_keyview *kv, struct rep_bar *b)
{
	uint64_t bad_end = kv->bad_ret_line ? kv->bad_ret_line : UINT64_MAX;
	int named = b->line == kv->bad_line || in_list(kv->conc, kv->nconc, b->line) ||
		    in_list(kv->lin, kv->nlin, b->line);
	uint64_t end = b->ret_line ? b->ret_line : UINT64_MAX;
	int rc = 0;
	if (named || (b->line < kv->bad_line && end > kv->bad_line) ||
	    (b->line >= kv->bad_line && b->line <= bad_end)) {
		rc = kv_push(kv, b);
	} else if (end < kv->bad_line) {
		if (kv->nring == REP_RING)
			bar_free(&kv->ring[kv->ring_next]);
		else
			kv->nring++;
		kv->ring[kv->ring_next] = *b;
		kv->ring_next = (kv->ring_next + 1) % REP_RING;
		return 0;
	} else if (b->line > bad_end && kv->nafter < REP_AFTER) {
		kv->nafter++;
		rc = kv_push(kv, b);
	} else {
		rc = 1;
	}
	if (rc)
		bar_free(b);
	return rc < 0 ? rc : 0;
}

static int cmp_bar(const void *a, const void *b)
{
	uint64_t x = ((const struct rep_bar *)a)->line, y = ((const struct rep_bar *)b)->line;
	return (x > y) - (x < y);
}

static int kv_finish(struct rep_keyview *kv)
{
	for (size_t i = 0; i < kv->nring; i++) {
		struct rep_bar *b = &kv->ring[i];
		if (kv_push(kv, b))
			bar_free(b);
	}
	kv->nring = 0;
	qsort(kv->bars, kv->nbars, sizeof *kv->bars, cmp_bar);
	for (size_t i = 0; i < kv->nbars; i++) {
		struct rep_bar *b = &kv->bars[i];
		b->bad = b->line == kv->bad_line;
		b->conc = !b->bad && in_list(kv->conc, kv->nconc, b->line);
		for (size_t j = 0; j < kv->nlin; j++)
			if (kv->lin[j] == b->line)
				b->order = (long)(kv->lin_skipped + j + 1);
	}
	return 0;
}

/* ---- faults from nemesis events ---- */

static int heals(const char *f)
{
	return !strcmp(f, "start") || !strcmp(f, "resume") || !strcmp(f, "heal") ||
	       !strncmp(f, "heal", 4) || !strncmp(f, "stop", 4) || !strcmp(f, "recover");
}

/* Does a healing event end this fault? start ends kill and crashpoint, resume ends pause,
 * heal ends partition and netem; anything else that heals ends every open fault. */
static int heal_matches(const char *heal, const char *label)
{
	if (!strcmp(heal, "start"))
		return !strncmp(label, "kill", 4) || !strncmp(label, "crashpoint", 10);
	if (!strcmp(heal, "resume"))
		return !strncmp(label, "pause", 5);
	if (!strcmp(heal, "heal"))
		return !strncmp(label, "partition", 9) || !strncmp(label, "netem", 5);
	return 1;
}

static void names_of(const struct hval *v, struct sbuf *b, const char *sep)
{
	for (uint32_t i = 0; i < v->len; i++) {
		if (i)
			sbuf_addf(b, "%s", sep);
		const struct hval *x = &v->u.items[i];
		if (x->kind == HVAL_STR)
			sbuf_addf(b, "%s", x->u.s);
		else
			rep_jformat(x, b);
	}
}

/* "partition {n1} / {n2, n3}", "kill n2", "pause n1, n3", else f and the value's JSON. */
static char *fault_label(const char *f, const struct hval *v)
{
	struct sbuf b = {0};
	sbuf_addf(&b, "%s", f);
	const struct hval *nodes = rep_jget(v, "nodes");
	const struct hval *groups = rep_jget(v, "groups");
	if (!groups)
		groups = rep_jget(v, "partition");
	if (!groups && v && v->kind == HVAL_ARRAY && v->len && v->u.items[0].kind == HVAL_ARRAY)
		groups = v;
	if (groups && groups->kind == HVAL_ARRAY) {
		for (uint32_t i = 0; i < groups->len; i++) {
			const struct hval *g = &groups->u.items[i];
			sbuf_addf(&b, "%s{", i ? " / " : " ");
			if (g->kind == HVAL_ARRAY)
				names_of(g, &b, ", ");
			else
				rep_jformat(g, &b);
			sbuf_addc(&b, '}');
		}
	} else if (nodes && nodes->kind == HVAL_ARRAY) {
		sbuf_addc(&b, ' ');
		names_of(nodes, &b, ", ");
	} else if (v && v->kind == HVAL_ARRAY) {
		sbuf_addc(&b, ' ');
		names_of(v, &b, ", ");
	} else if (v && v->kind == HVAL_STR) {
		sbuf_addf(&b, " %s", v->u.s);
	} else if (v && v->kind != HVAL_NULL) {
		char t[96];
		hval_format(t, sizeof t, v);
		sbuf_addf(&b, " %s", t);
	}
	return sbuf_take(&b);
}

struct nemstate {
	char last_f[64];
	int last_invoke;
};

static int nemesis_event(struct rep_hist *h, struct nemstate *ns, const struct hevent *ev)
{
	h->n_nemesis++;
	/* an `info` that confirms the invoke just before it is the same fault */
	int confirm = ev->type != HTYPE_INVOKE && ns->last_invoke && !strcmp(ns->last_f, ev->f);
	snprintf(ns->last_f, sizeof ns->last_f, "%s", ev->f);
	ns->last_invoke = ev->type == HTYPE_INVOKE;
	if (confirm || h->faults_given)
		return 0;
	double t = ev->time >= 0 ? (double)ev->time / 1e9 : (double)ev->line;
	if (heals(ev->f)) {
		for (size_t i = 0; i < h->nfaults; i++)
			if (h->faults[i].end < 0 && heal_matches(ev->f, h->faults[i].label))
				h->faults[i].end = t;
		return 0;
	}
	if (h->nfaults == REP_MAX_FAULTS)
		return 0;
	size_t cap = h->nfaults; /* grown one at a time: faults are few */
	struct rep_fault *nf = realloc(h->faults, (cap + 1) * sizeof *nf);
	if (!nf)
		return SB_ENOMEM;
	h->faults = nf;
	struct rep_fault *fl = &h->faults[h->nfaults];
	fl->start = t;
	fl->end = -1;
	fl->label = fault_label(ev->f, ev->has_value ? &ev->value : NULL);
	if (!fl->label)
		return SB_ENOMEM;
	h->nfaults++;
	return 0;
}

int rep_faults_from_json(struct rep_hist *h, const struct hval *faults)
{
	if (!faults || faults->kind != HVAL_ARRAY)
		return 0;
	for (uint32_t i = 0; i < faults->len && h->nfaults < REP_MAX_FAULTS; i++) {
		const struct hval *f = &faults->u.items[i];
		double s, e;
		if (rep_jnum(rep_jget(f, "start_s"), &s))
			continue;
		if (rep_jnum(rep_jget(f, "end_s"), &e))
			e = -1;
		struct rep_fault *nf = realloc(h->faults, (h->nfaults + 1) * sizeof *nf);
		if (!nf)
			return SB_ENOMEM;
		h->faults = nf;
		const char *desc = rep_jstr(rep_jget(f, "desc"));
		char *label = desc ? strdup(desc) : NULL;
		if (!desc) {
			const char *kind = rep_jstr(rep_jget(f, "kind"));
			label = fault_label(kind ? kind : "fault", rep_jget(f, "value"));
		}
		if (!label)
			return SB_ENOMEM;
		h->faults[h->nfaults++] = (struct rep_fault){.start = s, .end = e, .label = label};
	}
	h->faults_given = 1;
	return 0;
}

/* ---- one pass over the history ---- */

static int add_op(struct rep_hist *h, int64_t t0, int64_t t1, uint8_t type)
{
	if (array_grow((void **)&h->ops, &h->capops, h->nops + 1, sizeof *h->ops, 4096))
		return SB_ENOMEM;
	h->ops[h->nops++] = (struct rep_op){.t0 = t0, .t1 = t1, .type = type};
	return 0;
}

static int completion(struct rep_hist *h, struct ptab *pt, const struct hevent *ev,
		      int64_t t)
{
	struct pending *p = ptab_find(pt, ev->process, 0);
	if (!p)
		return 0; /* a completion without its invoke: the checker names it; skip here */
	if (ev->type == HTYPE_OK)
		h->n_ok++;
	else if (ev->type == HTYPE_FAIL)
		h->n_fail++;
	else
		h->n_info++;
	int rc = add_op(h, p->t0, t, (uint8_t)ev->type);
	if (!rc && p->kv >= 0) {
		struct rep_bar b = {.line = p->line, .ret_line = ev->line, .process = ev->process,
				    .t0 = p->t0, .t1 = t, .type = (uint8_t)ev->type,
				    .label = p->label};
		/* a read's label shows what it returned */
		if (!strcmp(ev->f, "read") && ev->has_value) {
			b.label = op_label(ev->f, &ev->value);
			free(p->label);
		}
		char *ret = event_line(ev);
		struct sbuf tb = {0};
		sbuf_addf(&tb, "%s\n%s", p->text ? p->text : "", ret ? ret : "");
		free(ret);
		free(p->text);
		b.text = sbuf_take(&tb);
		p->label = p->text = NULL;
		if (!b.label || !b.text)
			rc = SB_ENOMEM;
		else
			rc = kv_offer(&h->kv[p->kv], &b);
	}
	ptab_del(pt, p);
	return rc;
}

static int invocation(struct rep_hist *h, struct ptab *pt, const struct hevent *ev, int64_t t)
{
	struct pending *p = ptab_find(pt, ev->process, 0);
	if (p) /* a second invoke while one is open: the history breaks a rule; keep going */
		return 0;
	p = ptab_find(pt, ev->process, 1);
	if (!p)
		return SB_ENOMEM;
	p->t0 = t;
	p->line = ev->line;
	p->kv = keyview_index(h, ev);
	p->text = p->label = NULL;
	if (p->kv >= 0) {
		p->text = event_line(ev);
		p->label = op_label(ev->f, ev->has_value ? &ev->value : NULL);
		if (!p->text || !p->label)
			return SB_ENOMEM;
	}
	return 0;
}

/* Operations still open at the end count as info (docs/history.md). */
static int close_open(struct rep_hist *h, struct ptab *pt)
{
	for (size_t i = 0; i < pt->cap; i++) {
		struct pending *p = &pt->s[i];
		if (p->process == -2)
			continue;
		h->n_open++;
		int rc = add_op(h, p->t0, -1, HTYPE_INFO);
		if (!rc && p->kv >= 0) {
			struct rep_bar b = {.line = p->line, .process = p->process, .t0 = p->t0,
					    .t1 = -1, .type = HTYPE_INVOKE, .label = p->label,
					    .text = p->text};
			p->label = p->text = NULL;
			rc = kv_offer(&h->kv[p->kv], &b);
		}
		free(p->label);
		free(p->text);
		p->process = -2;
		if (rc)
			return rc;
	}
	pt->n = 0;
	return 0;
}

int rep_history_read(struct rep_hist *h, char *err, size_t errlen)
{
	struct hreader *r = NULL;
	struct ptab pt = {0};
	struct nemstate ns = {{0}, 0};
	char e2[512];
	int rc = hreader_open(&r, h->path, HFMT_AUTO, err, errlen);
	if (rc)
		return rc;
	struct hevent ev;
	int64_t last_t = 0;
	for (;;) {
		int n = hreader_next(r, &ev, e2, sizeof e2);
		if (n == 0)
			break;
		if (n < 0) {
			h->note = strdup(e2); /* show what was read before the bad line */
			break;
		}
		h->events++;
		int64_t t = ev.time;
		if (t >= 0)
			h->has_time = 1;
		else
			t = (int64_t)ev.line; /* no times: lines stand in for them */
		if (t < last_t)
			t = last_t; /* keep the axis monotonic in file order, as the checker does */
		last_t = t;
		h->t_end = t;
		if (ev.process == HPROC_NEMESIS)
			rc = nemesis_event(h, &ns, &ev);
		else if (ev.type == HTYPE_INVOKE)
			rc = invocation(h, &pt, &ev, t);
		else
			rc = completion(h, &pt, &ev, t);
		if (rc)
			goto out;
	}
	rc = close_open(h, &pt);
	for (size_t i = 0; !rc && i < h->nkv; i++)
		rc = kv_finish(&h->kv[i]);
out:
	if (rc)
		err_set(err, errlen, rc, "out of memory");
	for (size_t i = 0; i < pt.cap; i++) {
		if (pt.s[i].process != -2) {
			free(pt.s[i].text);
			free(pt.s[i].label);
		}
	}
	free(pt.s);
	hreader_close(r);
	return rc;
}

/* ---- node logs ------------------------------------------------------------------------------- */

int rep_parse_utc(const char *s, double *out)
{
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	double frac = 0;
	const char *p = s + n;
	if (*p == '.') {
		double scale = 0.1;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (double)t + frac;
	return 0;
}

static int seg_add(struct rep_node *nd, double t, uint8_t role, int64_t term)
{
	if (nd->nsegs) {
		struct rep_seg *last = &nd->segs[nd->nsegs - 1];
		if (last->role == role && (last->term == term || term < 0))
			return 0;
		if (t < last->t0)
			t = last->t0; /* log lines out of order: keep the segments ordered */
		last->t1 = t;
	}
	if (array_grow((void **)&nd->segs, &nd->capsegs, nd->nsegs + 1, sizeof *nd->segs, 16))
		return SB_ENOMEM;
	nd->segs[nd->nsegs++] = (struct rep_seg){.t0 = t, .t1 = -1, .term = term, .role = role};
	return 0;
}

static const char *field(const char *line, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = line; (p = strstr(p, name)); p++) {
		if ((p == line || p[-1] == ' ') && p[nl] == '=') {
			const char *v = p + nl + 1;
			*len = strcspn(v, " \t\r\n");
			return v;
		}
	}
	return NULL;
}

static int log_line(struct rep_node *nd, const char *line, double started)
{
	double when;
	if (rep_parse_utc(line, &when))
		return 0;
	size_t elen = 0, tlen = 0;
	const char *ev = field(line, "event", &elen);
	const char *term = field(line, "term", &tlen);
	if (!ev)
		return 0;
	nd->lines++;
	int64_t tm = term ? strtoll(term, NULL, 10) : -1;
	double t = when - started;
	uint8_t cur = nd->nsegs ? nd->segs[nd->nsegs - 1].role : ROLE_DOWN;
	uint8_t role = cur;
#define EV(s) (elen == strlen(s) && !memcmp(ev, s, elen))
	if (EV("became-leader"))
		role = ROLE_LEADER;
	else if (EV("election-started"))
		role = ROLE_CANDIDATE;
	else if (EV("stepped-down") || EV("node-started") || EV("vote-granted"))
		role = ROLE_FOLLOWER;
	else if (EV("fatal") || EV("shutdown") || EV("crashpoint-hit"))
		role = ROLE_DOWN;
	else if (cur == ROLE_DOWN)
		role = ROLE_FOLLOWER; /* any other line: the node is up */
#undef EV
	if (role == ROLE_DOWN)
		tm = nd->nsegs ? nd->segs[nd->nsegs - 1].term : -1;
	if (tm < 0 && nd->nsegs)
		tm = nd->segs[nd->nsegs - 1].term;
	return seg_add(nd, t, role, tm);
}

static int cmp_seg(const void *a, const void *b)
{
	double x = ((const struct rep_seg *)a)->t0, y = ((const struct rep_seg *)b)->t0;
	return (x > y) - (x < y);
}

/* A kill fault takes the nodes it names down until their next log line. */
static int apply_kills(struct rep_node *nd, const struct rep_hist *h)
{
	for (size_t i = 0; i < h->nfaults; i++) {
		const char *l = h->faults[i].label;
		if (strncmp(l, "kill", 4) && strncmp(l, "crashpoint", 10))
			continue;
		size_t nl = strlen(nd->name);
		const char *p = strstr(l, nd->name);
		if (!p || (p[nl] && p[nl] != ',' && p[nl] != ' ' && p[nl] != '}'))
			continue;
		double t = h->faults[i].start;
		size_t j = 0;
		while (j < nd->nsegs && nd->segs[j].t0 <= t)
			j++;
		/* insert a down segment at t, up to the next segment */
		if (array_grow((void **)&nd->segs, &nd->capsegs, nd->nsegs + 1, sizeof *nd->segs, 16))
			return SB_ENOMEM;
		memmove(&nd->segs[j + 1], &nd->segs[j], (nd->nsegs - j) * sizeof *nd->segs);
		int64_t term = j ? nd->segs[j - 1].term : -1;
		nd->segs[j] = (struct rep_seg){.t0 = t, .t1 = -1, .term = term, .role = ROLE_DOWN};
		nd->nsegs++;
	}
	/* A node whose logs had no event line (another system's logs) and no kill has no
	 * segment, and segs may be NULL: qsort must not see it. */
	if (nd->nsegs > 1)
		qsort(nd->segs, nd->nsegs, sizeof *nd->segs, cmp_seg);
	for (size_t j = 0; j + 1 < nd->nsegs; j++)
		nd->segs[j].t1 = nd->segs[j + 1].t0;
	return 0;
}

static int read_log(struct rep_node *nd, const char *path, double started)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0; /* unreadable: the node's row stays empty */
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (!rc && getline(&line, &cap, f) > 0)
		rc = log_line(nd, line, started);
	free(line);
	fclose(f);
	return rc;
}

int rep_nodes_read(const char *dir, const char *const *names, size_t n, double started,
		   const struct rep_hist *h, struct rep_node **out, char *err, size_t errlen)
{
	*out = calloc(n ? n : 1, sizeof **out);
	if (!*out)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct rep_node *nd = &(*out)[i];
		if (!(nd->name = strdup(names[i])))
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		char nd_dir[4096];
		snprintf(nd_dir, sizeof nd_dir, "%s/%s", dir, names[i]);
		DIR *d = opendir(nd_dir);
		if (!d)
			continue;
		struct dirent *de;
		int rc = 0;
		while (!rc && (de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 4, ".log"))
				continue;
			char path[4096 + 256];
			snprintf(path, sizeof path, "%s/%s", nd_dir, de->d_name);
			rc = read_log(nd, path, started);
		}
		closedir(d);
		if (!rc && nd->nsegs)
			qsort(nd->segs, nd->nsegs, sizeof *nd->segs, cmp_seg);
		if (!rc)
			rc = apply_kills(nd, h);
		if (rc)
			return err_set(err, errlen, rc, "out of memory");
	}
	return 0;
}

void rep_nodes_free(struct rep_node *nodes, size_t n)
{
	if (!nodes)
		return;
	for (size_t i = 0; i < n; i++) {
		free(nodes[i].name);
		free(nodes[i].segs);
	}
	free(nodes);
}

void rep_hist_free(struct rep_hist *h)
{
	free(h->path);
	free(h->name);
	chk_value_free(h->chk);
	free(h->ops);
	for (size_t i = 0; i < h->nfaults; i++)
		free(h->faults[i].label);
	free(h->faults);
	for (size_t i = 0; i < h->nkv; i++) {
		struct rep_keyview *kv = &h->kv[i];
		free(kv->key);
		free(kv->why);
		free(kv->states);
		free(kv->conc);
		free(kv->lin);
		for (size_t j = 0; j < kv->nbars; j++)
			bar_free(&kv->bars[j]);
		free(kv->bars);
		for (size_t j = 0; j < kv->nring; j++)
			bar_free(&kv->ring[j]);
	}
	free(h->kv);
	free(h->note);
	memset(h, 0, sizeof *h);
}
