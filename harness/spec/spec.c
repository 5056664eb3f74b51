/* spec — the parser: a YAML tree (tree.c) walked against the field tables (fields.c). */
#include "harness/spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/spec/impl.h"
#include "harness/store/store.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/units.h"

#define SPEC_FILE_MAX (1u << 20) /* a spec is a page of text; refuse megabytes */
#define NUMBER_TEXT_MAX 64       /* longer text cannot be a number, a duration or a size */

int spec_fail(struct spec_ctx *c, const struct ynode *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (at && at->line > 0)
		return err_set(c->err, c->errlen, SB_EINVAL, "%s:%d:%d: %s", c->file, at->line,
			       at->col, msg);
	return err_set(c->err, c->errlen, SB_EINVAL, "%s: %s", c->file, msg);
}

void spec_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memset(dst, 0, size);
	memcpy(dst, src, n);
}

void spec_field_path(const struct spec_ctx *c, const char *name, char *buf, size_t n)
{
	if (c->path[0])
		snprintf(buf, n, "%s.%s", c->path, name);
	else
		snprintf(buf, n, "%s", name);
}

const char *spec_show(const char *s, size_t len, char *buf, size_t n)
{
	size_t o = 0, shown = 0;
	if (n < 16) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '\'';
	for (size_t i = 0; i < len && o + 8 < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (shown == 48) {
			o += (size_t)snprintf(buf + o, n - o, "...");
			break;
		}
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
		shown++;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

bool spec_is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* Levenshtein distance, for "did you mean"; words are short (callers bound them). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *spec_suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, wl = strlen(word);
	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, names[i]);
		/* close: at most a third of the word's letters differ (and at most 3) */
		size_t limit = wl / 3 > 0 ? wl / 3 : 1;
		if (limit > 3)
			limit = 3;
		/* or a known name that starts with the word ("restart" -> "restart_after") */
		if (d > limit && wl >= 4 && !strncmp(names[i], word, wl))
			d = limit;
		if (d <= limit && d < bestd) {
			best = names[i];
			bestd = d;
		}
	}
	return best;
}

const struct spec_field *spec_field_find(const struct spec_section *sec, const char *name,
					 size_t *index)
{
	for (size_t i = 0; i < sec->nfields; i++)
		if (!strcmp(sec->fields[i].name, name)) {
			if (index)
				*index = i;
			return &sec->fields[i];
		}
	return NULL;
}

const struct ynode *spec_find_key(const struct ynode *map, const char *name)
{
	if (!map || map->type != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kids[i]->text, name))
			return map->kids[i];
	return NULL;
}

const struct ynode *spec_find(const struct ynode *map, const char *name)
{
	if (!map || map->type != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kids[i]->text, name))
			return map->kids[i + 1];
	return NULL;
}

/* ---- scalar values ---- */

const char *spec_type_doc(const struct spec_field *f, char *buf, size_t n)
{
	switch (f->type) {
	case SPEC_T_STR:
		return "text";
	case SPEC_T_NAME:
		return "a name";
	case SPEC_T_WORD:
		return "a word";
	case SPEC_T_ENUM: {
		size_t o = (size_t)snprintf(buf, n, "one of ");
		for (const char *p = f->choices; *p && o + 3 < n; p++)
			o += (size_t)snprintf(buf + o, n - o, *p == '|' ? ", " : "%c", *p);
		return buf;
	}
	case SPEC_T_LPATH:
	case SPEC_T_CPATH:
	case SPEC_T_RPATH:
		return "a path";
	case SPEC_T_INT:
	case SPEC_T_U32:
	case SPEC_T_U64:
		return "a whole number";
	case SPEC_T_DOUBLE:
		return "a number";
	case SPEC_T_DURATION:
		return "a duration such as 30s";
	case SPEC_T_SDURATION:
		return "a duration such as 30s or -2s";
	case SPEC_T_SIZE:
		return "a size such as 512M";
	case SPEC_T_BOOL:
		return "true or false";
	case SPEC_T_MAP:
		return "a mapping";
	case SPEC_T_LIST:
		return "a list";
	case SPEC_T_CUSTOM:
		return f->custom->type_doc;
	}
	return "a value";
}

static bool is_numeric(enum spec_type t)
{
	return t == SPEC_T_INT || t == SPEC_T_U32 || t == SPEC_T_U64 || t == SPEC_T_DOUBLE ||
	       t == SPEC_T_DURATION || t == SPEC_T_SDURATION || t == SPEC_T_SIZE ||
	       t == SPEC_T_BOOL || t == SPEC_T_ENUM;
}

/* Control characters have no place in a spec's values (they would reach logs, file names
 * and remote command lines); tabs and newlines only in free text. */
/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0)
		n = 2, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int check_bytes(const char *s, size_t len, bool multiline, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80) {
			size_t n = utf8_len((const unsigned char *)s + i, len - i);
			if (!n)
				return err_set(err, errlen, SB_EINVAL, "is not valid UTF-8");
			i += n - 1;
			continue;
		}
		if (ch == 0)
			return err_set(err, errlen, SB_EINVAL, "contains a NUL byte");
		if ((ch < 0x20 || ch == 0x7f) && !(multiline && (ch == '\n' || ch == '\t')))
			return err_set(err, errlen, SB_EINVAL, "contains the control character 0x%02x",
				       ch);
	}
	return 0;
}

int spec_check_text(const char *s, bool multiline, char *err, size_t errlen)
{
	return check_bytes(s, strlen(s), multiline, err, errlen);
}

int spec_text(struct spec_ctx *c, const struct spec_field *f, const struct ynode *v,
	      size_t size, bool multiline)
{
	char path[256], msg[256], tb[160];
	spec_field_path(c, f->name, path, sizeof path);
	if (v->type != YNODE_SCALAR || spec_tree_is_null(v))
		return spec_fail(c, v, "%s: expected %s, got %s", path, spec_type_doc(f, tb, sizeof tb),
				 spec_tree_kind(v));
	if (check_bytes(v->text, v->len, multiline, msg, sizeof msg))
		return spec_fail(c, v, "%s: %s", path, msg);
	if (size && v->len >= size)
		return spec_fail(c, v, "%s: too long (%zu bytes; at most %zu)", path, v->len,
				 size - 1);
	if (is_numeric(f->type) && v->len > NUMBER_TEXT_MAX)
		return spec_fail(c, v, "%s: expected %s, got a string of %zu bytes", path,
				 spec_type_doc(f, tb, sizeof tb), v->len);
	return 0;
}

int spec_check_ll(const struct spec_field *f, long long v, const char *shown, char *err,
		  size_t errlen)
{
	if (v >= f->min && v <= f->max)
		return 0;
	if (f->type == SPEC_T_DURATION || f->type == SPEC_T_SDURATION) {
		char lo[32], hi[32];
		units_format_duration(f->min < 0 ? -f->min : f->min, lo, sizeof lo);
		units_format_duration(f->max, hi, sizeof hi);
		return err_set(err, errlen, SB_EINVAL, "%s is out of range (%s%s to %s)", shown,
			       f->min < 0 ? "-" : "", lo, hi);
	}
	return err_set(err, errlen, SB_EINVAL, "%s is out of range (%lld to %lld)", shown, f->min,
		       f->max);
}

int spec_check_double(const struct spec_field *f, double v, const char *shown, char *err,
		      size_t errlen)
{
	if (v >= f->dmin && v <= f->dmax)
		return 0;
	return err_set(err, errlen, SB_EINVAL, "%s is out of range (%g to %g)", shown, f->dmin,
		       f->dmax);
}

/* The home directory for `~/`: $HOME, else the password database. */
static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

int spec_abs_path(const char *p, const char *dir, char *out, size_t outlen, char *err,
		  size_t errlen)
{
	char cwd[SPEC_PATH_MAX];
	int n;
	const char *home = NULL;
	if (!strncmp(p, "~/", 2) && (home = home_dir()) != NULL) {
		n = snprintf(out, outlen, "%s/%s", home, p + 2);
	} else if (p[0] == '/') {
		n = snprintf(out, outlen, "%s", p);
	} else if (dir && dir[0] == '/') {
		n = snprintf(out, outlen, "%s/%s", dir, p);
	} else {
		if (!getcwd(cwd, sizeof cwd))
			return err_set(err, errlen, SB_EINVAL,
				       "cannot resolve '%.64s': the current directory is unknown",
				       p);
		if (dir && *dir && strcmp(dir, "."))
			n = snprintf(out, outlen, "%s/%s/%s", cwd, dir, p);
		else
			n = snprintf(out, outlen, "%s/%s", cwd, p);
	}
	if (n < 0 || (size_t)n >= outlen)
		return err_set(err, errlen, SB_EINVAL, "path too long once resolved (at most %zu bytes)",
			       outlen - 1);
	return 0;
}

static int parse_enum(const struct spec_field *f, void *dst, const char *text, char *err,
		      size_t errlen)
{
	const char *names[16] = {0};
	char words[16][SPEC_WORD_MAX];
	size_t n = 0;
	for (const char *p = f->choices; *p && n < 16;) {
		size_t l = strcspn(p, "|");
		snprintf(words[n], sizeof words[n], "%.*s", (int)l, p);
		names[n] = words[n];
		n++;
		p += l + (p[l] == '|');
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(text, names[i])) {
			if (f->flags & SPEC_F_INDEX)
				*(int *)dst = (int)i; /* enums are int-sized (spec.h's are) */
			else
				spec_copy(dst, f->size, text);
			return 0;
		}
	char tb[160], sb[80];
	const struct spec_field tmp = *f;
	const char *close = spec_suggest(text, names, n);
	if (close)
		return err_set(err, errlen, SB_EINVAL, "expected %s, got %s (did you mean '%s'?)",
			       spec_type_doc(&tmp, tb, sizeof tb), spec_show(text, strlen(text), sb, sizeof sb),
			       close);
	return err_set(err, errlen, SB_EINVAL, "expected %s, got %s", spec_type_doc(&tmp, tb, sizeof tb),
		       spec_show(text, strlen(text), sb, sizeof sb));
}

static int parse_path(const struct spec_field *f, void *dst, const char *text, const char *dir,
		      char *err, size_t errlen)
{
	char sb[80];
	if (f->type == SPEC_T_LPATH && (f->flags & SPEC_F_AGENT) && !strcmp(text, "agent")) {
		spec_copy(dst, f->size, "");
		return 0;
	}
	if (!*text)
		return err_set(err, errlen, SB_EINVAL, "expected a path, got an empty string");
	if (f->type == SPEC_T_RPATH) {
		if (text[0] != '/')
			return err_set(err, errlen, SB_EINVAL,
				       "%s is not an absolute path (it is a directory on the hosts)",
				       spec_show(text, strlen(text), sb, sizeof sb));
		spec_copy(dst, f->size, text);
		return 0;
	}
	char abs[SPEC_PATH_MAX];
	int rc = spec_abs_path(text, f->type == SPEC_T_LPATH ? dir : NULL, abs, sizeof abs, err,
			       errlen);
	if (rc)
		return rc;
	if (strlen(abs) >= f->size)
		return err_set(err, errlen, SB_EINVAL, "path too long once resolved (at most %zu bytes)",
			       f->size - 1);
	spec_copy(dst, f->size, abs);
	return 0;
}

static int parse_number(const struct spec_field *f, void *dst, const char *text, char *err,
			size_t errlen)
{
	char sb[80], tb[160];
	const char *shown = spec_show(text, strlen(text), sb, sizeof sb);
	long long ll;
	double d;
	int64_t ns;
	uint64_t u;
	int rc;
	switch (f->type) {
	case SPEC_T_INT:
	case SPEC_T_U32:
		if (units_int(text, LLONG_MIN, LLONG_MAX, &ll, NULL, 0))
			return err_set(err, errlen, SB_EINVAL, "expected %s, got %s",
				       spec_type_doc(f, tb, sizeof tb), shown);
		if ((rc = spec_check_ll(f, ll, text, err, errlen)))
			return rc;
		if (f->type == SPEC_T_INT)
			*(int *)dst = (int)ll;
		else
			*(uint32_t *)dst = (uint32_t)ll;
		return 0;
	case SPEC_T_U64: {
		const char *p = text + (*text == '+');
		char *end;
		if (!isdigit((unsigned char)*p))
			return err_set(err, errlen, SB_EINVAL, "expected %s, got %s",
				       spec_type_doc(f, tb, sizeof tb), shown);
		errno = 0;
		u = strtoull(p, &end, 10);
		if (*end)
			return err_set(err, errlen, SB_EINVAL, "expected %s, got %s",
				       spec_type_doc(f, tb, sizeof tb), shown);
		if (errno == ERANGE)
			return err_set(err, errlen, SB_EINVAL, "%s is out of range (0 to %llu)", text,
				       (unsigned long long)UINT64_MAX);
		*(uint64_t *)dst = u;
		return 0;
	}
	case SPEC_T_DOUBLE:
		if (units_double(text, -1e308, 1e308, &d, NULL, 0))
			return err_set(err, errlen, SB_EINVAL, "expected %s, got %s",
				       spec_type_doc(f, tb, sizeof tb), shown);
		if ((rc = spec_check_double(f, d, text, err, errlen)))
			return rc;
		*(double *)dst = d;
		return 0;
	case SPEC_T_DURATION:
	case SPEC_T_SDURATION: {
		bool neg = f->type == SPEC_T_SDURATION && text[0] == '-';
		if (units_duration(text + neg, 1000000000LL, INT64_MAX / 4, &ns, err, errlen))
			return SB_EINVAL;
		if (neg)
			ns = -ns;
		if ((rc = spec_check_ll(f, ns, text, err, errlen)))
			return rc;
		*(int64_t *)dst = ns;
		return 0;
	}
	case SPEC_T_SIZE:
		if (units_size(text, 1u << 20, UINT64_MAX / 4, &u, err, errlen))
			return SB_EINVAL;
		if (u > (uint64_t)f->max)
			return err_set(err, errlen, SB_EINVAL, "%s is out of range (at most %lld bytes)",
				       text, f->max);
		*(uint64_t *)dst = u;
		return 0;
	case SPEC_T_BOOL:
		if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE"))
			*(bool *)dst = true;
		else if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE"))
			*(bool *)dst = false;
		else
			return err_set(err, errlen, SB_EINVAL, "expected true or false, got %s", shown);
		return 0;
	default:
		return err_set(err, errlen, SB_EINVAL, "not a scalar field");
	}
}

int spec_parse_text(const struct spec_field *f, void *base, const char *text, const char *dir,
		    char *err, size_t errlen)
{
	char *dst = (char *)base + f->off, sb[80];
	size_t len = strlen(text);
	int rc = check_bytes(text, len, f->flags & SPEC_F_MULTILINE, err, errlen);
	if (rc)
		return rc;
	switch (f->type) {
	case SPEC_T_STR:
	case SPEC_T_NAME:
	case SPEC_T_WORD:
		if (len >= f->size)
			return err_set(err, errlen, SB_EINVAL, "too long (%zu bytes; at most %zu)", len,
				       f->size - 1);
		if (f->type == SPEC_T_NAME && !store_name_ok(text))
			return err_set(err, errlen, SB_EINVAL,
				       "%s cannot be a name (1 to %zu characters of [A-Za-z0-9_.-], "
				       "not '.', '..' or 'latest')",
				       spec_show(text, len, sb, sizeof sb), f->size - 1);
		if (f->type == SPEC_T_WORD && !spec_is_word(text))
			return err_set(err, errlen, SB_EINVAL,
				       "%s is not a word (letters, digits, '_', '.', '-')",
				       spec_show(text, len, sb, sizeof sb));
		spec_copy(dst, f->size, text);
		return 0;
	case SPEC_T_ENUM:
		return parse_enum(f, dst, text, err, errlen);
	case SPEC_T_LPATH:
	case SPEC_T_CPATH:
	case SPEC_T_RPATH:
		return parse_path(f, dst, text, dir, err, errlen);
	default:
		return parse_number(f, dst, text, err, errlen);
	}
}

/* ---- walking the tree ---- */

static int walk_value(struct spec_ctx *c, const struct spec_field *f, void *base,
		      const struct ynode *v);

static int apply_defaults(const struct spec_section *sec, void *base, char *err, size_t errlen);

static int walk_list(struct spec_ctx *c, const struct spec_field *f, void *base,
		     const struct ynode *v)
{
	char path[256], tb[160];
	size_t *count = (size_t *)((char *)base + f->count_off);
	spec_field_path(c, f->name, path, sizeof path);
	*count = 0;
	if (spec_tree_is_null(v))
		return 0;
	if (v->type != YNODE_SEQ)
		return spec_fail(c, v, "%s: expected %s, got %s", path, spec_type_doc(f, tb, sizeof tb),
				 spec_tree_kind(v));
	if (v->n > f->max_items)
		return spec_fail(c, v->kids[f->max_items], "%s: at most %zu entries", path,
				 f->max_items);
	for (size_t i = 0; i < v->n; i++) {
		char *item = (char *)base + f->off + i * f->sub->size;
		char name[64];
		memset(item, 0, f->sub->size);
		int rc = apply_defaults(f->sub, item, c->err, c->errlen);
		if (rc)
			return rc;
		snprintf(name, sizeof name, "%s[%zu]", f->name, i);
		rc = spec_walk(c, f->sub, item, v->kids[i], name);
		if (rc)
			return rc;
		*count = i + 1;
	}
	return 0;
}

static int walk_value(struct spec_ctx *c, const struct spec_field *f, void *base,
		      const struct ynode *v)
{
	char path[256], msg[512];
	int rc;
	switch (f->type) {
	case SPEC_T_MAP:
		return spec_walk(c, f->sub, (char *)base + f->off, v, f->name);
	case SPEC_T_LIST:
		return walk_list(c, f, base, v);
	case SPEC_T_CUSTOM:
		return f->custom->parse(c, f, base, v);
	default:
		break;
	}
	rc = spec_text(c, f, v, 0, f->flags & SPEC_F_MULTILINE);
	if (rc)
		return rc;
	if (spec_parse_text(f, base, v->text, c->s->dir, msg, sizeof msg)) {
		spec_field_path(c, f->name, path, sizeof path);
		return spec_fail(c, v, "%s: %s", path, msg);
	}
	return 0;
}

static int unknown_key(struct spec_ctx *c, const struct spec_section *sec, const struct ynode *k)
{
	const char *names[64];
	char sb[80], where[200] = "";
	size_t n = sec->nfields < 64 ? sec->nfields : 64;
	for (size_t i = 0; i < n; i++)
		names[i] = sec->fields[i].name;
	const char *close = k->len == strlen(k->text) ? spec_suggest(k->text, names, n) : NULL;
	if (c->path[0])
		snprintf(where, sizeof where, " in %s", c->path);
	if (close)
		return spec_fail(c, k, "unknown key %s%s (did you mean '%s'?)",
				 spec_show(k->text, k->len, sb, sizeof sb), where, close);
	return spec_fail(c, k, "unknown key %s%s", spec_show(k->text, k->len, sb, sizeof sb), where);
}

static int walk_pairs(struct spec_ctx *c, const struct spec_section *sec, void *base,
		      const struct ynode *v, uint64_t *given)
{
	const struct ynode *first[64] = {0};
	char sb[80], where[200] = "";
	if (c->path[0])
		snprintf(where, sizeof where, " in %s", c->path);
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *k = v->kids[i], *val = v->kids[i + 1];
		size_t idx;
		const struct spec_field *f =
			k->len == strlen(k->text) ? spec_field_find(sec, k->text, &idx) : NULL;
		if (!f)
			return unknown_key(c, sec, k);
		if (first[idx])
			return spec_fail(c, k, "duplicate key %s%s (first at %d:%d)",
					 spec_show(k->text, k->len, sb, sizeof sb), where,
					 first[idx]->line, first[idx]->col);
		first[idx] = k;
		int rc = walk_value(c, f, base, val);
		if (rc)
			return rc;
		*given |= 1ull << idx;
		if (f->given_off)
			*(bool *)((char *)base + f->given_off - 1) = true;
	}
	return 0;
}

int spec_walk(struct spec_ctx *c, const struct spec_section *sec, void *base,
	      const struct ynode *v, const char *name)
{
	char saved[sizeof c->path];
	uint64_t given = 0;
	int rc = 0;

	memcpy(saved, c->path, sizeof saved);
	if (name && *name) {
		size_t used = strlen(c->path);
		snprintf(c->path + used, sizeof c->path - used, "%s%s",
			 used && name[0] != '[' ? "." : "", name);
	}
	if (!spec_tree_is_null(v) && v->type != YNODE_MAP) {
		if (c->path[0])
			rc = spec_fail(c, v, "%s: expected a mapping, got %s", c->path,
				       spec_tree_kind(v));
		else
			rc = spec_fail(c, v,
				       "a spec is a mapping of fields (name:, workload:, ...), got %s",
				       spec_tree_kind(v));
		goto out;
	}
	if (v->type == YNODE_MAP && (rc = walk_pairs(c, sec, base, v, &given)))
		goto out;
	/* A section left out is read as an empty one, so its checks and derived defaults run
	 * (at the enclosing mapping's position). */
	for (size_t i = 0; i < sec->nfields; i++) {
		const struct spec_field *f = &sec->fields[i];
		struct ynode none = {.type = YNODE_SCALAR, .text = (char *)"", .plain = true,
				     .line = v->line, .col = v->col};
		if (f->type != SPEC_T_MAP || (given & (1ull << i)) || (f->flags & SPEC_F_REQUIRED))
			continue;
		if ((rc = spec_walk(c, f->sub, (char *)base + f->off, &none, f->name)))
			goto out;
	}
	for (size_t i = 0; i < sec->nfields; i++)
		if ((sec->fields[i].flags & SPEC_F_REQUIRED) && !(given & (1ull << i))) {
			if (c->path[0])
				rc = spec_fail(c, v, "%s: missing required field '%s'", c->path,
					       sec->fields[i].name);
			else
				rc = spec_fail(c, v, "missing required field '%s'",
					       sec->fields[i].name);
			goto out;
		}
	if (sec->set_off >= 0)
		*(uint64_t *)((char *)base + sec->set_off) = given;
	if (sec->pos_off >= 0) {
		struct spec_pos *pos = (struct spec_pos *)((char *)base + sec->pos_off);
		pos->line = v->line;
		pos->col = v->col;
	}
	if (sec->check)
		rc = sec->check(c, base, v, given);
out:
	memcpy(c->path, saved, sizeof saved);
	return rc;
}

/* Defaults are YAML text parsed by the same code as the file's values; a custom row gets a
 * plain scalar without a position. */
static int apply_defaults(const struct spec_section *sec, void *base, char *err, size_t errlen)
{
	for (size_t i = 0; i < sec->nfields; i++) {
		const struct spec_field *f = &sec->fields[i];
		int rc = 0;
		if (f->type == SPEC_T_MAP) {
			rc = apply_defaults(f->sub, (char *)base + f->off, err, errlen);
		} else if (f->def && f->type == SPEC_T_CUSTOM) {
			struct spec s0;
			struct spec_ctx c = {.s = &s0, .file = "(defaults)", .err = err, .errlen = errlen};
			struct ynode v = {.type = YNODE_SCALAR, .text = (char *)f->def,
					  .len = strlen(f->def), .plain = true};
			s0.dir[0] = '\0';
			rc = f->custom->parse(&c, f, base, &v);
		} else if (f->def && f->type != SPEC_T_LIST) {
			rc = spec_parse_text(f, base, f->def, NULL, err, errlen);
		}
		if (rc)
			return rc;
	}
	return 0;
}

void spec_defaults(struct spec *s)
{
	char err[256];
	memset(s, 0, sizeof *s);
	/* The defaults are the tables' own text; test_spec checks that they parse. */
	if (apply_defaults(&spec_sec_top, s, err, sizeof err))
		fprintf(stderr, "spec: a default does not parse: %s\n", err);
}

int spec_load_mem(struct spec *s, const char *name, const char *dir, const char *text,
		  size_t len, char *err, size_t errlen)
{
	struct ynode *root = NULL;
	struct spec_ctx c = {.s = s, .file = name ? name : "(spec)", .err = err, .errlen = errlen};
	char msg[1024];
	int rc;

	spec_defaults(s);
	spec_copy(s->path, sizeof s->path, c.file);
	rc = spec_abs_path(dir && *dir ? dir : ".", NULL, s->dir, sizeof s->dir, msg, sizeof msg);
	if (rc)
		return err_set(err, errlen, SB_EINVAL, "%s: %s", c.file, msg);
	rc = spec_tree_parse(text, len, &root, msg, sizeof msg);
	if (rc) {
		err_set(err, errlen, rc, "%s:%s", c.file, msg);
		goto out;
	}
	if (!root) {
		rc = err_set(err, errlen, SB_EINVAL, "%s:1:1: the spec is empty (it needs at least "
				       "name: and workload:)", c.file);
		goto out;
	}
	rc = spec_walk(&c, &spec_sec_top, s, root, "");
	if (!rc)
		rc = spec_resolve(&c, root);
out:
	spec_tree_free(root);
	return rc;
}

int spec_load(struct spec *s, const char *path, char *err, size_t errlen)
{
	char *text = NULL, dir[SPEC_PATH_MAX];
	size_t len = 0;
	int rc = file_read_all(path, SPEC_FILE_MAX, &text, &len, NULL, err, errlen);
	if (rc == SB_ELIMIT)
		return SB_EINVAL; /* a spec that large is bad input; the message says why */
	if (rc)
		return rc;
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	rc = spec_load_mem(s, path, dir, text, len, err, errlen);
	free(text);
	return rc;
}

uint32_t spec_concurrency(const struct spec *s, size_t nnodes)
{
	uint64_t n = s->workload.concurrency;
	if (s->workload.concurrency_per_node)
		n *= nnodes ? nnodes : 1;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

void spec_normalise(struct spec *s)
{
	memset(s->path, 0, sizeof s->path);
	memset(s->dir, 0, sizeof s->dir);
	memset(&s->nodes.pos, 0, sizeof s->nodes.pos);
	for (size_t i = 0; i < SPEC_MAX_HOSTS; i++)
		memset(&s->nodes.hosts[i].pos, 0, sizeof s->nodes.hosts[i].pos);
	for (size_t i = 0; i < SPEC_MAX_DCS; i++)
		memset(&s->dcs[i].pos, 0, sizeof s->dcs[i].pos);
	for (size_t i = 0; i < SPEC_MAX_FAULTS; i++)
		memset(&s->nemesis.faults[i].pos, 0, sizeof s->nemesis.faults[i].pos);
	for (size_t i = 0; i < SPEC_MAX_STEPS; i++) {
		memset(&s->nemesis.steps[i].pos, 0, sizeof s->nemesis.steps[i].pos);
		memset(&s->nemesis.steps[i].action.pos, 0, sizeof s->nemesis.steps[i].action.pos);
	}
	s->workload.mix_given = false;
}
