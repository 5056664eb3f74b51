#include "checker/values.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canonical encoding ------------------------------------------------------------------ */

/* Tags of the canonical encoding. Numbers are encoded by value, as hval_equal() compares
 * them: integers that fit int64_t and doubles that are such an integer share 'i' (1 and 1.0
 * intern together); larger integers and the integral doubles beyond int64_t share 'b', their
 * exact decimal text (2^64 and 2^64+1 stay apart); other doubles are 'd'. */
enum { C_NULL = 'n', C_TRUE = 't', C_FALSE = 'f', C_INT = 'i', C_DBL = 'd', C_STR = 's',
       C_ARR = 'a', C_MAP = 'm', C_BIG = 'b' };

static void put_u32(struct sbuf *b, uint32_t v)
{
	sbuf_add(b, (const char *)&v, sizeof v);
}

static void canon(struct sbuf *b, const struct hval *v, int depth)
{
	if (depth > 200) { /* the readers bound nesting; this is a second fence */
		sbuf_addc(b, C_NULL);
		return;
	}
	switch (v->kind) {
	case HVAL_BOOL:
		sbuf_addc(b, v->u.b ? C_TRUE : C_FALSE);
		break;
	case HVAL_INT:
		sbuf_addc(b, C_INT);
		sbuf_add(b, (const char *)&v->u.i, sizeof v->u.i);
		break;
	case HVAL_FLOAT: {
		double d = v->u.d;
		int64_t i;
		char t[HVAL_DBL_TEXT];
		switch (hval_dbl_integer(d, &i, t, sizeof t)) {
		case 1:
			sbuf_addc(b, C_INT);
			sbuf_add(b, (const char *)&i, sizeof i);
			break;
		case 2:
			sbuf_addc(b, C_BIG);
			put_u32(b, (uint32_t)strlen(t));
			sbuf_add(b, t, strlen(t));
			break;
		default:
			sbuf_addc(b, C_DBL);
			sbuf_add(b, (const char *)&d, sizeof d);
		}
		break;
	}
	case HVAL_BIGINT:
		sbuf_addc(b, C_BIG);
		put_u32(b, v->len);
		sbuf_add(b, v->u.s, v->len);
		break;
	case HVAL_STR:
		sbuf_addc(b, C_STR);
		put_u32(b, v->len);
		sbuf_add(b, v->u.s, v->len);
		break;
	case HVAL_ARRAY:
		sbuf_addc(b, C_ARR);
		put_u32(b, v->len);
		for (uint32_t i = 0; i < v->len; i++)
			canon(b, &v->u.items[i], depth + 1);
		break;
	case HVAL_MAP:
		sbuf_addc(b, C_MAP);
		put_u32(b, v->len);
		for (uint32_t i = 0; i < 2 * v->len; i++)
			canon(b, &v->u.items[i], depth + 1);
		break;
	default:
		sbuf_addc(b, C_NULL);
		break;
	}
}

#define INT_ENTRY UINT64_MAX /* hash[] mark of an id interned by vtab_intern_int */

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = mix64(h ^ w) + 0x632be59bd9b4e019ULL;
	}
	uint64_t w = 0;
	memcpy(&w, p + i, n - i);
	h = mix64(h ^ w ^ ((uint64_t)(n - i) << 56));
	return h == INT_ENTRY ? h - 1 : h;
}

void vtab_init(struct vtab *t)
{
	memset(t, 0, sizeof *t);
}

void vtab_free(struct vtab *t)
{
	free(t->bytes);
	free(t->off);
	free(t->len);
	free(t->hash);
	free(t->slots);
	free(t->ints);
	sbuf_free(&t->scratch);
	memset(t, 0, sizeof *t);
}

size_t vtab_bytes(const struct vtab *t)
{
	return t->capbytes + t->capn * (8 + 4 + 8) + t->nslots * 4 +
	       t->nintslots * sizeof *t->ints;
}

static int rehash(struct vtab *t, size_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof *s);
	if (!s)
		return -1;
	for (size_t id = 0; id < t->n; id++) {
		if (t->hash[id] == INT_ENTRY)
			continue; /* top-level integers live in the int table */
		size_t i = t->hash[id] & (nslots - 1);
		while (s[i])
			i = (i + 1) & (nslots - 1);
		s[i] = (uint32_t)id + 1;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = nslots;
	return 0;
}

/* Append a new id for the canonical bytes p[0..n) (no lookup, no slot). */
static int32_t append_entry(struct vtab *t, const char *p, size_t n, uint64_t h)
{
	if (t->n >= INT32_MAX - 1)
		return -1;
	if (t->n == t->capn) {
		size_t cap = t->capn ? t->capn * 2 : 256;
		uint64_t *o = realloc(t->off, cap * sizeof *o);
		if (!o)
			return -1;
		t->off = o;
		uint32_t *l = realloc(t->len, cap * sizeof *l);
		if (!l)
			return -1;
		t->len = l;
		uint64_t *hh = realloc(t->hash, cap * sizeof *hh);
		if (!hh)
			return -1;
		t->hash = hh;
		t->capn = cap;
	}
	if (t->nbytes + n > t->capbytes) {
		size_t cap = t->capbytes ? t->capbytes : 4096;
		while (cap < t->nbytes + n)
			cap *= 2;
		char *nb = realloc(t->bytes, cap);
		if (!nb)
			return -1;
		t->bytes = nb;
		t->capbytes = cap;
	}
	memcpy(t->bytes + t->nbytes, p, n);
	size_t id = t->n++;
	t->off[id] = t->nbytes;
	t->len[id] = (uint32_t)n;
	t->hash[id] = h;
	t->nbytes += n;
	return (int32_t)id;
}

static int32_t intern_bytes(struct vtab *t, const char *p, size_t n)
{
	if (n > UINT32_MAX)
		return -1;
	uint64_t h = hash_bytes(p, n);
	if (t->nslots) {
		size_t i = h & (t->nslots - 1);
		while (t->slots[i]) {
			uint32_t id = t->slots[i] - 1;
			if (t->hash[id] == h && t->len[id] == n &&
			    !memcmp(t->bytes + t->off[id], p, n))
				return (int32_t)id;
			i = (i + 1) & (t->nslots - 1);
		}
	}
	if ((t->ngen + 1) * 2 > t->nslots && rehash(t, t->nslots ? t->nslots * 2 : 1024))
		return -1;
	int32_t id = append_entry(t, p, n, h);
	if (id < 0)
		return -1;
	t->ngen++;
	size_t i = h & (t->nslots - 1);
	while (t->slots[i])
		i = (i + 1) & (t->nslots - 1);
	t->slots[i] = (uint32_t)id + 1;
	return id;
}

/* The int64_t that v is, if it is one (an HVAL_INT, or a double equal to one). */
static int int_of(const struct hval *v, int64_t *i)
{
	if (v->kind == HVAL_INT) {
		*i = v->u.i;
		return 1;
	}
	/* integral doubles inside int64_t's range convert exactly */
	if (v->kind == HVAL_FLOAT && v->u.d == floor(v->u.d) &&
	    v->u.d >= -9223372036854775808.0 && v->u.d < 9223372036854775808.0) {
		*i = (int64_t)v->u.d;
		return 1;
	}
	return 0;
}

int32_t vtab_intern(struct vtab *t, const struct hval *v)
{
	int64_t i;
	if (int_of(v, &i))
		return vtab_intern_int(t, i);
	sbuf_reset(&t->scratch);
	canon(&t->scratch, v, 0);
	if (t->scratch.oom)
		return -1;
	return intern_bytes(t, t->scratch.p, t->scratch.len);
}

static int grow_ints(struct vtab *t)
{
	size_t cap = t->nintslots ? t->nintslots * 2 : 1024;
	struct vint *n = calloc(cap, sizeof *n);
	if (!n)
		return -1;
	for (size_t j = 0; j < t->nintslots; j++) {
		if (!t->ints[j].id1)
			continue;
		size_t i = mix64((uint64_t)t->ints[j].v) & (cap - 1);
		while (n[i].id1)
			i = (i + 1) & (cap - 1);
		n[i] = t->ints[j];
	}
	free(t->ints);
	t->ints = n;
	t->nintslots = cap;
	return 0;
}

int32_t vtab_intern_int(struct vtab *t, int64_t v)
{
	if ((t->nints + 1) * 2 > t->nintslots && grow_ints(t))
		return -1;
	size_t i = mix64((uint64_t)v) & (t->nintslots - 1);
	while (t->ints[i].id1) {
		if (t->ints[i].v == v)
			return (int32_t)(t->ints[i].id1 - 1);
		i = (i + 1) & (t->nintslots - 1);
	}
	/* New: its canonical bytes are kept for formatting, but only this table finds it;
	 * vtab_intern() sends integral floats here too, so 1 and 1.0 share an id. */
	char buf[9];
	buf[0] = C_INT;
	memcpy(buf + 1, &v, 8);
	int32_t id = append_entry(t, buf, sizeof buf, INT_ENTRY);
	if (id < 0)
		return -1;
	t->ints[i].v = v;
	t->ints[i].id1 = (uint32_t)id + 1;
	t->nints++;
	return id;
}

int vtab_is_null(const struct vtab *t, int32_t id)
{
	return id >= 0 && (size_t)id < t->n && t->len[id] == 1 && t->bytes[t->off[id]] == C_NULL;
}

/* Decode one canonical value at *p (bounded by end) as JSON into b. */
static const char *decode(const char *p, const char *end, struct sbuf *b)
{
	if (p >= end)
		return end;
	char tag = *p++;
	uint32_t n;
	switch (tag) {
	case C_TRUE:
		sbuf_lit(b, "true");
		return p;
	case C_FALSE:
		sbuf_lit(b, "false");
		return p;
	case C_INT: {
		int64_t i;
		memcpy(&i, p, 8);
		sbuf_addf(b, "%lld", (long long)i);
		return p + 8;
	}
	case C_BIG:
		memcpy(&n, p, 4);
		p += 4;
		sbuf_add(b, p, n);
		return p + n;
	case C_DBL: {
		double d;
		memcpy(&d, p, 8);
		char t[40];
		if (isfinite(d) && json_format_double(t, sizeof t, d) > 0)
			sbuf_add(b, t, strlen(t));
		else
			sbuf_lit(b, "null");
		return p + 8;
	}
	case C_STR:
		memcpy(&n, p, 4);
		p += 4;
		sbuf_add_json_string(b, p, n);
		return p + n;
	case C_ARR:
	case C_MAP:
		memcpy(&n, p, 4);
		p += 4;
		sbuf_addc(b, tag == C_ARR ? '[' : '{');
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				sbuf_addc(b, ',');
			if (tag == C_MAP) {
				/* JSON object keys must be strings: format others as JSON text. */
				if (p < end && *p == C_STR) {
					p = decode(p, end, b);
				} else {
					struct sbuf k = {0};
					p = decode(p, end, &k);
					sbuf_add_json_string(b, k.p ? k.p : "", k.len);
					sbuf_free(&k);
				}
				sbuf_addc(b, ':');
			}
			p = decode(p, end, b);
		}
		sbuf_addc(b, tag == C_ARR ? ']' : '}');
		return p;
	default:
		sbuf_lit(b, "null");
		return p;
	}
}

void vtab_format(const struct vtab *t, int32_t id, struct sbuf *b)
{
	if (id < 0 || (size_t)id >= t->n) {
		sbuf_lit(b, "null");
		return;
	}
	const char *p = t->bytes + t->off[id];
	decode(p, p + t->len[id], b);
}

int vtab_ref(struct vtab *t, const struct hval *v, vref *out)
{
	int64_t i;
	if (!int_of(v, &i)) {
		int32_t id = vtab_intern(t, v);
		if (id < 0)
			return -1;
		*out = ((uint64_t)id << 1) | 1;
		return 0;
	}
	if (vref_fits_int(i)) {
		*out = vref_int(i);
		return 0;
	}
	int32_t id = vtab_intern_int(t, i);
	if (id < 0)
		return -1;
	*out = ((uint64_t)id << 1) | 1;
	return 0;
}

void vtab_format_ref(const struct vtab *t, vref r, struct sbuf *b)
{
	if (r == VREF_UNKNOWN)
		sbuf_lit(b, "null");
	else if (r & 1)
		vtab_format(t, (int32_t)(r >> 1), b);
	else
		sbuf_addf(b, "%lld", (long long)((int64_t)r >> 1));
}
