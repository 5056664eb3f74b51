/* spec/fields — the field tables of every section, the values with a shape of their own
 * (nodes, concurrency, targets, ...), and the checks that tie fields together. */
#include <ctype.h>
#include <limits.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "harness/nemesis/nemesis.h"
#include "harness/spec/impl.h"
#include "harness/workload/workload.h"
#include "lib/err.h"
#include "lib/units.h"

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define DAY_NS (86400 * S_NS)
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ROW(T, S, fld, nm) .name = (nm), .type = (T), .off = offsetof(S, fld), \
			   .size = sizeof(((S *)0)->fld)

/* The db kinds: one row each (db.h's db_kinds has their code). */
static const struct {
	const char *kind;
	const char *binary; /* default binary, relative to the current directory; NULL: the
			       host's own (an installed package), unless db.binary names one */
} spec_db_kinds[] = {
	{"raftnode", "build/raftnode"},
	{"etcd", NULL},           /* /usr/bin/etcd (Debian: etcd-server) */
	{"redis-sentinel", NULL}, /* /usr/bin/redis-server (Debian: redis-server, redis-sentinel) */
};

/* Target words of nemesis.h; anything else in a target is a node name. */
static const char *const target_words[] = {"leader", "followers", "random", "minority",
					   "majority", "all"};

/* ---- small helpers ---- */

static int fail_field(struct spec_ctx *c, const struct spec_field *f, const struct ynode *v,
		      const char *fmt, const char *detail)
{
	char path[256];
	spec_field_path(c, f->name, path, sizeof path);
	return spec_fail(c, v, fmt, path, detail);
}

/* A scalar checked for type, bytes and length; its text is v->text. */
static int scalar(struct spec_ctx *c, const struct spec_field *f, const struct ynode *v,
		  size_t size)
{
	return spec_text(c, f, v, size, false);
}

static void write_plain(FILE *out, const char *s)
{
	fputc(' ', out);
	spec_write_string(out, s);
	fputc('\n', out);
}

static bool is_target_word(const char *w)
{
	for (size_t i = 0; i < N(target_words); i++)
		if (!strcmp(w, target_words[i]))
			return true;
	return false;
}

/* ---- nodes: lab | a nodes file | a list of hosts ---- */

static int nodes_scalar(struct spec *s, const char *text, const char *dir, char *err,
			size_t errlen)
{
	memset(s->nodes.file, 0, sizeof s->nodes.file);
	s->nodes.nhosts = 0;
	if (!strcmp(text, "lab")) {
		s->nodes.kind = SPEC_NODES_LAB;
		return 0;
	}
	if (!*text)
		return err_set(err, errlen, SB_EINVAL,
			       "expected lab, a nodes file or a list of hosts, got an empty string");
	s->nodes.kind = SPEC_NODES_FILE;
	return spec_abs_path(text, dir, s->nodes.file, sizeof s->nodes.file, err, errlen);
}

static int nodes_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		       const struct ynode *v)
{
	struct spec *s = base;
	char msg[512], sb[80];
	s->nodes.pos.line = v->line;
	s->nodes.pos.col = v->col;
	if (v->type == YNODE_SCALAR && !spec_tree_is_null(v)) {
		int rc = scalar(c, f, v, SPEC_PATH_MAX);
		if (rc)
			return rc;
		if (nodes_scalar(s, v->text, c->s->dir, msg, sizeof msg))
			return fail_field(c, f, v, "%s: %s", msg);
		return 0;
	}
	if (v->type != YNODE_SEQ)
		return fail_field(c, f, v, "%s: expected lab, a nodes file or a list of hosts, got %s",
				  spec_tree_kind(v));
	if (v->n == 0)
		return fail_field(c, f, v, "%s: %s", "an empty list (give hosts, or lab)");
	if (v->n > SPEC_MAX_HOSTS)
		return spec_fail(c, v->kids[SPEC_MAX_HOSTS], "nodes: at most %d hosts",
				 SPEC_MAX_HOSTS);
	s->nodes.kind = SPEC_NODES_LIST;
	memset(s->nodes.file, 0, sizeof s->nodes.file);
	memset(s->nodes.hosts, 0, sizeof s->nodes.hosts);
	for (size_t i = 0; i < v->n; i++) {
		char name[32];
		snprintf(name, sizeof name, "nodes[%zu]", i);
		int rc = spec_walk(c, &spec_sec_host, &s->nodes.hosts[i], v->kids[i], name);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->nodes.hosts[j].name, s->nodes.hosts[i].name))
				return spec_fail(c, spec_find(v->kids[i], "name"),
						 "nodes[%zu].name: %s is already the name of nodes[%zu]",
						 i,
						 spec_show(s->nodes.hosts[i].name,
							   strlen(s->nodes.hosts[i].name), sb, sizeof sb),
						 j);
		s->nodes.nhosts = i + 1;
	}
	return 0;
}

static void nodes_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec *s = base;
	if (s->nodes.kind == SPEC_NODES_LAB) {
		write_plain(out, "lab");
		return;
	}
	if (s->nodes.kind == SPEC_NODES_FILE) {
		write_plain(out, s->nodes.file);
		return;
	}
	fputc('\n', out);
	for (size_t i = 0; i < s->nodes.nhosts; i++)
		spec_write_section(out, &spec_sec_host, &s->nodes.hosts[i], indent + 4, true);
}

static const struct spec_custom nodes_custom = {
	"lab, a nodes file, or a list of hosts", nodes_parse, nodes_write};

/* A host's address: an IP literal or a host name. */
static int address_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
			 const struct ynode *v)
{
	struct spec_host *h = base;
	char sb[80];
	int rc = scalar(c, f, v, sizeof h->address);
	if (rc)
		return rc;
	bool ok = v->len > 0;
	for (size_t i = 0; i < v->len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-_",
			    v->text[i]))
			ok = false;
	if (!ok || v->text[0] == '-')
		return fail_field(c, f, v, "%s: %s is not an IP address or host name",
				  spec_show(v->text, v->len, sb, sizeof sb));
	spec_copy(h->address, sizeof h->address, v->text);
	return 0;
}

static void address_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	write_plain(out, ((const struct spec_host *)base)->address);
}

static const struct spec_custom address_custom = {"an IP address or host name", address_parse,
						  address_write};

/* ---- concurrency: N or Nn ---- */

static int concurrency_text(struct spec_workload *w, const char *text, char *err, size_t errlen)
{
	char sb[80];
	size_t len = strlen(text), nd = len;
	bool per = len > 1 && text[len - 1] == 'n';
	if (per)
		nd--;
	bool digits = nd > 0;
	for (size_t i = 0; i < nd; i++)
		if (!isdigit((unsigned char)text[i]))
			digits = false;
	if (!digits)
		return err_set(err, errlen, SB_EINVAL,
			       "expected a number of workers (10) or workers per node (2n), got %s",
			       spec_show(text, len, sb, sizeof sb));
	long v = nd > 9 ? LONG_MAX : strtol(text, NULL, 10);
	if (per ? v < 1 || v > 64 : v < 1 || v > 1024)
		return err_set(err, errlen, SB_EINVAL, "%s is out of range (%s)",
			       spec_show(text, len, sb, sizeof sb),
			       per ? "1n to 64n workers per node" : "1 to 1024 workers");
	w->concurrency = (uint32_t)v;
	w->concurrency_per_node = per;
	return 0;
}

static int concurrency_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
			     const struct ynode *v)
{
	char msg[256];
	int rc = scalar(c, f, v, 32);
	if (rc)
		return rc;
	if (concurrency_text(base, v->text, msg, sizeof msg))
		return fail_field(c, f, v, "%s: %s", msg);
	return 0;
}

static void concurrency_write(FILE *out, const struct spec_field *f, const void *base,
			      int indent)
{
	const struct spec_workload *w = base;
	fprintf(out, " %u%s\n", w->concurrency, w->concurrency_per_node ? "n" : "");
}

static const struct spec_custom concurrency_custom = {"a number, or Nn (N per node)",
						      concurrency_parse, concurrency_write};

/* ---- db.args: a list of strings ---- */

static int args_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		      const struct ynode *v)
{
	struct spec_db *db = base;
	char path[256];
	spec_field_path(c, f->name, path, sizeof path);
	db->nargs = 0;
	memset(db->args, 0, sizeof db->args);
	if (spec_tree_is_null(v))
		return 0;
	if (v->type != YNODE_SEQ)
		return spec_fail(c, v, "%s: expected a list of arguments, got %s", path,
				 spec_tree_kind(v));
	if (v->n > SPEC_MAX_ARGS)
		return spec_fail(c, v->kids[SPEC_MAX_ARGS], "%s: at most %d arguments", path,
				 SPEC_MAX_ARGS);
	for (size_t i = 0; i < v->n; i++) {
		const struct spec_field item = {.name = f->name, .type = SPEC_T_STR};
		int rc = spec_text(c, &item, v->kids[i], SPEC_ARG_MAX, false);
		if (rc)
			return rc;
		spec_copy(db->args[i], SPEC_ARG_MAX, v->kids[i]->text);
		db->nargs = i + 1;
	}
	return 0;
}

static void args_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec_db *db = base;
	if (!db->nargs) {
		fputs(" []\n", out);
		return;
	}
	fputc('\n', out);
	for (size_t i = 0; i < db->nargs; i++) {
		fprintf(out, "%*s-", indent + 2, "");
		write_plain(out, db->args[i]);
	}
}

static const struct spec_custom args_custom = {"a list of strings", args_parse, args_write};

/* ---- fault targets ---- */

static int target_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
			const struct ynode *v)
{
	struct spec_fault *flt = base;
	char sb[80];
	int rc = scalar(c, f, v, sizeof flt->target);
	if (rc)
		return rc;
	if (v->text[0] == '$') {
		if (!c->in_timeline)
			return fail_field(c, f, v, "%s: %s",
					  "'$id' names the nodes of an earlier timeline step; it "
					  "has no meaning in nemesis.faults");
		if (!spec_is_word(v->text + 1) || strlen(v->text) >= SPEC_WORD_MAX)
			return fail_field(c, f, v, "%s: %s is not '$' and a step's id",
					  spec_show(v->text, v->len, sb, sizeof sb));
	} else if (!nemesis_target_ok(v->text)) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "%s is not a target (leader, followers, random, minority, majority, all, "
			 "or node names such as n1,n3)",
			 spec_show(v->text, v->len, sb, sizeof sb));
		return fail_field(c, f, v, "%s: %s", msg);
	}
	spec_copy(flt->target, sizeof flt->target, v->text);
	return 0;
}

static void target_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	write_plain(out, ((const struct spec_fault *)base)->target);
}

static const struct spec_custom target_custom = {
	"leader, followers, random, minority, majority, all, or node names (n1,n3)",
	target_parse, target_write};

/* A comma-separated list of node names ("n1,n2"), each a word. */
static bool names_ok(const char *s)
{
	char buf[SPEC_NAME_MAX];
	snprintf(buf, sizeof buf, "%s", s);
	if (!*buf)
		return false;
	char *save = NULL;
	size_t n = 0;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save), n++)
		if (!spec_is_word(w) || strlen(w) >= SPEC_WORD_MAX)
			return false;
	return n > 0 && s[0] != ',' && s[strlen(s) - 1] != ',' && !strstr(s, ",,");
}

/* ---- partition groups: [[n1, n2], [n3]] or ["n1,n2", "n3"] ---- */

static int group_text(struct spec_ctx *c, const struct spec_field *f, const struct ynode *g,
		      char *out, size_t outlen)
{
	char sb[80];
	const struct spec_field item = {.name = f->name, .type = SPEC_T_WORD};
	size_t o = 0;
	if (g->type == YNODE_SCALAR) {
		int rc = spec_text(c, &item, g, outlen, false);
		if (rc)
			return rc;
		if (!names_ok(g->text))
			return fail_field(c, f, g, "%s: %s is not a list of node names (n1,n2)",
					  spec_show(g->text, g->len, sb, sizeof sb));
		spec_copy(out, outlen, g->text);
		return 0;
	}
	if (g->type != YNODE_SEQ || g->n == 0)
		return fail_field(c, f, g, "%s: a group is a list of node names, got %s",
				  g->type == YNODE_SEQ ? "an empty list" : spec_tree_kind(g));
	memset(out, 0, outlen);
	for (size_t i = 0; i < g->n; i++) {
		int rc = spec_text(c, &item, g->kids[i], SPEC_WORD_MAX, false);
		if (rc)
			return rc;
		if (!spec_is_word(g->kids[i]->text))
			return fail_field(c, f, g->kids[i], "%s: %s is not a node name",
					  spec_show(g->kids[i]->text, g->kids[i]->len, sb, sizeof sb));
		if (o + g->kids[i]->len + 2 > outlen)
			return fail_field(c, f, g->kids[i], "%s: %s", "group too long");
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "", g->kids[i]->text);
	}
	return 0;
}

static int groups_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
			const struct ynode *v)
{
	struct spec_fault *flt = base;
	char path[256];
	spec_field_path(c, f->name, path, sizeof path);
	if (v->type != YNODE_SEQ)
		return spec_fail(c, v, "%s: expected a list of groups, got %s", path,
				 spec_tree_kind(v));
	if (v->n < 2 || v->n > SPEC_MAX_GROUPS)
		return spec_fail(c, v, "%s: a partition has 2 to %d groups, got %zu", path,
				 SPEC_MAX_GROUPS, v->n);
	memset(flt->groups, 0, sizeof flt->groups);
	for (size_t i = 0; i < v->n; i++) {
		int rc = group_text(c, f, v->kids[i], flt->groups[i], sizeof flt->groups[i]);
		if (rc)
			return rc;
	}
	flt->ngroups = v->n;
	return 0;
}

static void groups_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec_fault *flt = base;
	fputc('\n', out);
	for (size_t i = 0; i < flt->ngroups; i++) {
		fprintf(out, "%*s-", indent + 2, "");
		write_plain(out, flt->groups[i]);
	}
}

static const struct spec_custom groups_custom = {"a list of groups of node names",
						 groups_parse, groups_write};

/* ---- datacenter labels: cut-dc's dc and cut-link's two ends ---- */

/* A datacenter label as a fault names it: a word, or $leader (the leader's datacenter when
 * the fault starts). */
static bool dc_label_ok(const char *s)
{
	return !strcmp(s, "$leader") || spec_is_word(s);
}

static int dc_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		    const struct ynode *v)
{
	struct spec_fault *flt = base;
	char sb[80];
	int rc = scalar(c, f, v, sizeof flt->dc);
	if (rc)
		return rc;
	if (!dc_label_ok(v->text))
		return fail_field(c, f, v, "%s: %s is not a datacenter label (a word, or $leader)",
				  spec_show(v->text, v->len, sb, sizeof sb));
	spec_copy(flt->dc, sizeof flt->dc, v->text);
	return 0;
}

static void dc_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	write_plain(out, ((const struct spec_fault *)base)->dc);
}

static const struct spec_custom dc_custom = {"a datacenter label, or $leader", dc_parse,
					     dc_write};

/* ---- datacenters: {east: [n1, n2], central: [n5]} ---- */

static int dcs_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		     const struct ynode *v)
{
	struct spec *s = base;
	char path[256], sb[80];
	spec_field_path(c, f->name, path, sizeof path);
	memset(s->dcs, 0, sizeof s->dcs);
	s->ndcs = 0;
	if (spec_tree_is_null(v))
		return 0;
	if (v->type != YNODE_MAP)
		return spec_fail(c, v, "%s: expected a mapping of labels to node names "
			      "({east: [n1, n2], west: [n3]}), got %s", path, spec_tree_kind(v));
	if (v->n / 2 > SPEC_MAX_DCS)
		return spec_fail(c, v, "%s: at most %d datacenters", path, SPEC_MAX_DCS);
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *k = v->kids[i], *g = v->kids[i + 1];
		struct spec_dc *d = &s->dcs[s->ndcs];
		const struct spec_field item = {.name = f->name, .type = SPEC_T_WORD};
		int rc = spec_text(c, &item, k, SPEC_WORD_MAX, false);
		if (rc)
			return rc;
		if (!spec_is_word(k->text))
			return spec_fail(c, k, "%s: %s is not a datacenter label", path,
					 spec_show(k->text, k->len, sb, sizeof sb));
		if ((rc = group_text(c, f, g, d->nodes, sizeof d->nodes)))
			return rc;
		spec_copy(d->label, sizeof d->label, k->text);
		d->pos = (struct spec_pos){k->line, k->col};
		s->ndcs++;
	}
	/* One label per node. */
	for (size_t i = 0; i < s->ndcs; i++) {
		char buf[SPEC_NAME_MAX], *save = NULL;
		snprintf(buf, sizeof buf, "%s", s->dcs[i].nodes);
		for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
			for (size_t j = 0; j <= i; j++) {
				char other[SPEC_NAME_MAX + 2];
				snprintf(other, sizeof other, ",%s,", s->dcs[j].nodes);
				char needle[SPEC_WORD_MAX + 2];
				snprintf(needle, sizeof needle, ",%s,", w);
				char *hit = strstr(other, needle);
				/* in an earlier datacenter, or twice in this one */
				if (hit && (j < i || strstr(hit + 1, needle)))
					return spec_fail(c, v->kids[2 * i + 1],
							 "%s.%s: node %s is already in datacenter %s",
							 path, s->dcs[i].label, w, s->dcs[j].label);
			}
	}
	return 0;
}

static void dcs_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec *s = base;
	fputc('\n', out);
	for (size_t i = 0; i < s->ndcs; i++) {
		fprintf(out, "%*s%s:", indent + 2, "", s->dcs[i].label);
		write_plain(out, s->dcs[i].nodes);
	}
}

static const struct spec_custom dcs_custom = {"labels, each with a list of node names",
					      dcs_parse, dcs_write};

static int link_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		      const struct ynode *v)
{
	struct spec_fault *flt = base;
	char path[256], sb[80];
	spec_field_path(c, f->name, path, sizeof path);
	if (v->type != YNODE_SEQ || v->n != 2)
		return spec_fail(c, v, "%s: expected two datacenter labels [A, B], got %s", path,
				 v->type == YNODE_SEQ ? "another number of entries" : spec_tree_kind(v));
	for (size_t i = 0; i < 2; i++) {
		const struct spec_field item = {.name = f->name, .type = SPEC_T_WORD};
		int rc = spec_text(c, &item, v->kids[i], SPEC_WORD_MAX, false);
		if (rc)
			return rc;
		if (!dc_label_ok(v->kids[i]->text))
			return spec_fail(c, v->kids[i],
					 "%s: %s is not a datacenter label (a word, or $leader)", path,
					 spec_show(v->kids[i]->text, v->kids[i]->len, sb, sizeof sb));
		spec_copy(flt->link[i], sizeof flt->link[i], v->kids[i]->text);
	}
	if (!strcmp(flt->link[0], flt->link[1]))
		return spec_fail(c, v, "%s: the two ends of a link must differ", path);
	return 0;
}

static void link_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec_fault *flt = base;
	fprintf(out, "\n%*s-", indent + 2, "");
	write_plain(out, flt->link[0]);
	fprintf(out, "%*s-", indent + 2, "");
	write_plain(out, flt->link[1]);
}

static const struct spec_custom link_custom = {"two datacenter labels", link_parse, link_write};

/* ---- timeline conditions: leader | died | commit>=N | log~RE ---- */

static int when_text(struct spec_step *st, const char *text, char *err, size_t errlen)
{
	char sb[80];
	memset(st->when, 0, sizeof st->when);
	memset(st->when_arg, 0, sizeof st->when_arg);
	if (!strcmp(text, "leader") || !strcmp(text, "died")) {
		spec_copy(st->when, sizeof st->when, text);
	} else if (!strncmp(text, "commit>=", 8)) {
		const char *n = text + 8;
		bool ok = *n && strlen(n) < 19;
		for (const char *p = n; *p; p++)
			ok = ok && isdigit((unsigned char)*p);
		if (!ok)
			return err_set(err, errlen, SB_EINVAL,
				       "commit>= needs a whole number (commit>=100), got %s",
				       spec_show(n, strlen(n), sb, sizeof sb));
		spec_copy(st->when, sizeof st->when, "commit");
		spec_copy(st->when_arg, sizeof st->when_arg, n);
	} else if (!strncmp(text, "log~", 4)) {
		const char *re = text + 4;
		int code;
		PCRE2_SIZE off;
		if (!*re)
			return err_set(err, errlen, SB_EINVAL, "log~ needs a regular expression");
		if (strlen(re) >= sizeof st->when_arg)
			return err_set(err, errlen, SB_EINVAL, "the regular expression is too long "
				       "(at most %zu bytes)", sizeof st->when_arg - 1);
		pcre2_code *rx = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &off,
					       NULL);
		if (!rx) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(code, msg, sizeof msg);
			return err_set(err, errlen, SB_EINVAL,
				       "bad regular expression at offset %zu: %s", (size_t)off,
				       (const char *)msg);
		}
		pcre2_code_free(rx);
		spec_copy(st->when, sizeof st->when, "log");
		spec_copy(st->when_arg, sizeof st->when_arg, re);
	} else {
		return err_set(err, errlen, SB_EINVAL,
			       "expected leader, died, commit>=N or log~REGEX, got %s",
			       spec_show(text, strlen(text), sb, sizeof sb));
	}
	st->at_ns = -1;
	return 0;
}

static int when_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		      const struct ynode *v)
{
	char msg[512];
	int rc = scalar(c, f, v, 0);
	if (rc)
		return rc;
	if (when_text(base, v->text, msg, sizeof msg))
		return fail_field(c, f, v, "%s: %s", msg);
	return 0;
}

static void when_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec_step *st = base;
	char buf[600];
	if (!strcmp(st->when, "commit"))
		snprintf(buf, sizeof buf, "commit>=%s", st->when_arg);
	else if (!strcmp(st->when, "log"))
		snprintf(buf, sizeof buf, "log~%s", st->when_arg);
	else
		snprintf(buf, sizeof buf, "%s", st->when);
	write_plain(out, buf);
}

static const struct spec_custom when_custom = {"leader, died, commit>=N or log~REGEX",
					       when_parse, when_write};

/* ---- a timeline step's action: heal, or a fault ---- */

static int do_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		    const struct ynode *v)
{
	struct spec_step *st = base;
	char sb[80];
	memset(&st->action, 0, sizeof st->action);
	st->heal = false;
	if (v->type == YNODE_SCALAR && !spec_tree_is_null(v)) {
		if (strcmp(v->text, "heal") || v->len != 4)
			return fail_field(c, f, v, "%s: expected heal or a fault ({kind: ...}), got %s",
					  spec_show(v->text, v->len, sb, sizeof sb));
		st->heal = true;
		return 0;
	}
	if (v->type != YNODE_MAP)
		return fail_field(c, f, v, "%s: expected heal or a fault ({kind: ...}), got %s",
				  spec_tree_kind(v));
	c->in_timeline = true;
	int rc = spec_walk(c, &spec_sec_fault, &st->action, v, f->name);
	c->in_timeline = false;
	return rc;
}

static void do_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	const struct spec_step *st = base;
	if (st->heal) {
		write_plain(out, "heal");
		return;
	}
	fputc('\n', out);
	spec_write_section(out, &spec_sec_fault, &st->action, indent + 2, false);
}

static const struct spec_custom do_custom = {"heal, or a fault (as in nemesis.faults)",
					     do_parse, do_write};

/* ---- checker.model ---- */

static int model_parse(struct spec_ctx *c, const struct spec_field *f, void *base,
		       const struct ynode *v)
{
	struct spec_checker *ck = base;
	enum chk_model m;
	char msg[256];
	int rc = scalar(c, f, v, sizeof ck->model);
	if (rc)
		return rc;
	if (chk_model_parse(v->text, &m, msg, sizeof msg))
		return fail_field(c, f, v, "%s: %s", msg);
	spec_copy(ck->model, sizeof ck->model, chk_model_name(m));
	return 0;
}

static void model_write(FILE *out, const struct spec_field *f, const void *base, int indent)
{
	write_plain(out, ((const struct spec_checker *)base)->model);
}

static const struct spec_custom model_custom = {"a checker model", model_parse, model_write};

/* ---- checks that tie a section's fields together ---- */

static bool given_field(const struct spec_section *sec, uint64_t given, const char *name)
{
	size_t i;
	return spec_field_find(sec, name, &i) && (given & (1ull << i));
}

/* "'x' (did you mean 'y'?; known: a, b)" for an unknown kind. */
static void unknown_kind(const char *word, const char *const *names, size_t n, const char *list,
			 char *buf, size_t len)
{
	char sb[80];
	const char *close = spec_suggest(word, names, n);
	if (close)
		snprintf(buf, len, "%s (did you mean '%s'?; known: %s)",
			 spec_show(word, strlen(word), sb, sizeof sb), close, list);
	else
		snprintf(buf, len, "%s (known: %s)", spec_show(word, strlen(word), sb, sizeof sb),
			 list);
}

static int db_check(struct spec_ctx *c, void *base, const struct ynode *map, uint64_t given)
{
	struct spec_db *db = base;
	size_t k = 0;
	char msg[512];
	while (k < N(spec_db_kinds) && strcmp(db->kind, spec_db_kinds[k].kind))
		k++;
	if (k == N(spec_db_kinds)) {
		const char *names[N(spec_db_kinds)];
		char list[256] = "";
		for (size_t i = 0; i < N(spec_db_kinds); i++) {
			names[i] = spec_db_kinds[i].kind;
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
				 names[i]);
		}
		unknown_kind(db->kind, names, N(spec_db_kinds), list, msg, sizeof msg);
		return spec_fail(c, spec_find(map, "kind"), "db.kind: unknown db kind %s", msg);
	}
	if (!given_field(&spec_sec_db, given, "binary") && spec_db_kinds[k].binary &&
	    spec_abs_path(spec_db_kinds[k].binary, NULL, db->binary, sizeof db->binary, msg, sizeof msg))
		return spec_fail(c, map, "db.binary: %s", msg);
	if (db->client_port && db->client_port == db->peer_port)
		return spec_fail(c, spec_find(map, "peer_port"),
				 "db.peer_port: the same port as db.client_port");
	return 0;
}

static double *mix_weight(struct spec_mix *m, size_t i)
{
	return (double *)((char *)m + spec_sec_mix.fields[i].off);
}

static void ops_list(const struct workload_kind *k, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < spec_sec_mix.nfields && o < n; i++)
		if (k->ops & (1u << i))
			o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "",
					      spec_sec_mix.fields[i].name);
}

static int mix_check(struct spec_ctx *c, struct spec_workload *w, const struct workload_kind *k,
		     const struct ynode *map)
{
	const struct ynode *mix = spec_find(map, "mix");
	double sum = 0;
	char ops[128];
	for (size_t i = 0; i < spec_sec_mix.nfields; i++) {
		double v = *mix_weight(&w->mix, i);
		if (v > 0 && !(k->ops & (1u << i))) {
			ops_list(k, ops, sizeof ops);
			return spec_fail(c, spec_find_key(mix, spec_sec_mix.fields[i].name),
					 "workload.mix.%s: %s does not make %s operations (it makes %s)",
					 spec_sec_mix.fields[i].name, k->name,
					 spec_sec_mix.fields[i].name, ops);
		}
		sum += v;
	}
	if (!(sum > 0))
		return spec_fail(c, mix, "workload.mix: every weight is 0");
	return 0;
}

static int workload_check(struct spec_ctx *c, void *base, const struct ynode *map,
			  uint64_t given)
{
	struct spec_workload *w = base;
	const struct workload_kind *k = workload_find(w->kind);
	char msg[512];
	if (!k) {
		const char *names[32];
		size_t n = 0;
		for (; workload_kinds[n] && n < 32; n++)
			names[n] = workload_kinds[n]->name;
		unknown_kind(w->kind, names, n, workload_names(), msg, sizeof msg);
		return spec_fail(c, spec_find(map, "kind"), "workload.kind: unknown workload %s", msg);
	}
	if (!given_field(&spec_sec_workload, given, "keys"))
		w->keys = k->default_keys ? k->default_keys : 1;
	if (!k->keyed && w->keys != 1)
		return spec_fail(c, spec_find(map, "keys"),
				 "workload.keys: %s works on one register (keys must be 1)", k->name);
	if (!k->keyed && w->ops_per_key)
		return spec_fail(c, spec_find(map, "ops_per_key"),
				 "workload.ops_per_key: %s has no keys to move on from", k->name);
	if (w->mix_given)
		return mix_check(c, w, k, map);
	for (size_t i = 0; i < spec_sec_mix.nfields && i < OP_NF; i++)
		*mix_weight(&w->mix, i) = k->mix[i];
	return 0;
}

static void takes_list(const struct nemesis_kind *k, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (const char *p = k->fields ? k->fields : ""; *p && o + 3 < n; p++)
		o += (size_t)snprintf(buf + o, n - o, *p == ',' ? ", " : "%c", *p);
	if (!buf[0])
		snprintf(buf, n, "nothing");
}

/* A fault takes `name`? weight is the random schedule's, not the kind's. */
static bool fault_takes(const struct spec_ctx *c, const struct nemesis_kind *k, const char *name)
{
	if (!strcmp(name, "kind"))
		return true;
	if (!strcmp(name, "weight"))
		return !c->in_timeline;
	return nemesis_takes(k, name);
}

static int fault_kind(struct spec_ctx *c, struct spec_fault *flt, const struct ynode *map,
		      const struct nemesis_kind **out)
{
	char msg[512];
	*out = nemesis_find(flt->kind);
	if (*out)
		return 0;
	const char *names[32];
	size_t n = 0;
	for (; nemesis_kinds[n] && n < 32; n++)
		names[n] = nemesis_kinds[n]->name;
	unknown_kind(flt->kind, names, n, nemesis_names(), msg, sizeof msg);
	return spec_fail(c, spec_find(map, "kind"), "%s.kind: unknown fault kind %s", c->path, msg);
}

static int fault_check(struct spec_ctx *c, void *base, const struct ynode *map, uint64_t given)
{
	struct spec_fault *flt = base;
	const struct nemesis_kind *k;
	char takes[256];
	int rc = fault_kind(c, flt, map, &k);
	if (rc)
		return rc;
	for (size_t i = 0; map->type == YNODE_MAP && i + 1 < map->n; i += 2) {
		const char *name = map->kids[i]->text;
		if (!strcmp(name, "weight") && c->in_timeline)
			return spec_fail(c, map->kids[i], "%s: weight applies to nemesis.faults only "
					 "(a timeline step happens once)", c->path);
		if (!fault_takes(c, k, name)) {
			takes_list(k, takes, sizeof takes);
			return spec_fail(c, map->kids[i], "%s: %s does not take '%s' (it takes %s)",
					 c->path, k->name, name, takes);
		}
	}
	for (size_t i = 0; i < spec_sec_fault.nfields; i++) {
		const struct spec_field *f = &spec_sec_fault.fields[i];
		if (!strcmp(f->name, "kind") || !strcmp(f->name, "weight"))
			continue;
		if (nemesis_requires(k, f->name) && !(given & (1ull << i)))
			return spec_fail(c, map, "%s: %s requires '%s'", c->path, k->name, f->name);
	}
	/* Defaults for the fields the kind takes; the others stay zero and unset. */
	for (size_t i = 0; i < spec_sec_fault.nfields; i++) {
		const struct spec_field *f = &spec_sec_fault.fields[i];
		char msg[256];
		if (given & (1ull << i))
			continue;
		if (!fault_takes(c, k, f->name)) {
			if (f->def)
				memset((char *)flt + f->off, 0, f->size);
			continue;
		}
		if (!strcmp(f->name, "target")) {
			if (!k->default_target || !*k->default_target)
				continue;
			spec_copy(flt->target, sizeof flt->target, k->default_target);
		} else if (!strcmp(f->name, "duration") && k->default_duration_ns) {
			flt->duration_ns = k->default_duration_ns;
		} else if (!f->def || spec_parse_text(f, flt, f->def, NULL, msg, sizeof msg)) {
			continue;
		}
		given |= 1ull << i;
	}
	flt->set = given;
	/* The kind's own rules for its fields together (a shape it does not know, groups with
	 * a target, ...): at load time, not when the fault would start mid-run. */
	if (k->check) {
		char msg[512];
		if (k->check(flt, msg, sizeof msg))
			return spec_fail(c, map, "%s: %s", c->path, msg);
	}
	return 0;
}

static int step_check(struct spec_ctx *c, void *base, const struct ynode *map, uint64_t given)
{
	bool at = given_field(&spec_sec_step, given, "at");
	bool when = given_field(&spec_sec_step, given, "when");
	if (at && when)
		return spec_fail(c, spec_find_key(map, "when"),
				 "%s: give either 'at' or 'when', not both", c->path);
	if (!at && !when)
		return spec_fail(c, map,
				 "%s: a step needs 'at' (a time into the run) or 'when' (a condition)",
				 c->path);
	if (at && given_field(&spec_sec_step, given, "timeout"))
		return spec_fail(c, spec_find_key(map, "timeout"),
				 "%s: timeout applies only to a step with 'when'", c->path);
	return 0;
}

static const struct ynode *step_node(const struct ynode *nemesis, size_t i)
{
	const struct ynode *tl = spec_find(nemesis, "timeline");
	return tl && tl->type == YNODE_SEQ && i < tl->n ? tl->kids[i] : NULL;
}

static int steps_check(struct spec_ctx *c, struct spec_nemesis *n, const struct ynode *map)
{
	char sb[80];
	for (size_t i = 0; i < n->nsteps; i++) {
		const struct spec_step *st = &n->steps[i];
		const struct ynode *node = step_node(map, i);
		for (size_t j = 0; st->name[0] && j < i; j++)
			if (!strcmp(st->name, n->steps[j].name))
				return spec_fail(c, spec_find(node, "id"),
						 "nemesis.timeline[%zu].id: %s is already the id of "
						 "nemesis.timeline[%zu]",
						 i, spec_show(st->name, strlen(st->name), sb, sizeof sb), j);
		if (st->heal || st->action.target[0] != '$')
			continue;
		size_t j = 0;
		while (j < i && strcmp(n->steps[j].name, st->action.target + 1))
			j++;
		const struct ynode *tv = spec_find(spec_find(node, "do"), "target");
		if (j == i)
			return spec_fail(c, tv, "nemesis.timeline[%zu].do.target: %s names no earlier "
					 "step", i, spec_show(st->action.target,
							      strlen(st->action.target), sb, sizeof sb));
		if (n->steps[j].heal)
			return spec_fail(c, tv, "nemesis.timeline[%zu].do.target: %s names a heal step, "
					 "which touches no nodes", i,
					 spec_show(st->action.target, strlen(st->action.target), sb,
						   sizeof sb));
	}
	return 0;
}

static int nemesis_check(struct spec_ctx *c, void *base, const struct ynode *map,
			 uint64_t given)
{
	struct spec_nemesis *n = base;
	double sum = 0;
	n->enabled = n->nfaults > 0 || n->nsteps > 0;
	if (!given_field(&spec_sec_nemesis, given, "start_after"))
		n->start_after_ns = n->interval_ns;
	for (size_t i = 0; i < n->nfaults; i++)
		sum += n->faults[i].weight;
	if (n->nfaults && !(sum > 0))
		return spec_fail(c, spec_find(map, "faults"),
				 "nemesis.faults: every weight is 0 (no fault would ever be chosen)");
	return steps_check(c, n, map);
}

/* ---- what spec_write leaves out ---- */

static bool seed_present(const void *b)
{
	return ((const struct spec *)b)->seed_given;
}
static bool expect_present(const void *b)
{
	return ((const struct spec *)b)->expect[0] != '\0';
}
static bool dcs_present(const void *b)
{
	return ((const struct spec *)b)->ndcs > 0;
}
/* No binary: the kind uses the hosts' own (etcd, redis-sentinel). */
static bool binary_present(const void *b)
{
	return ((const struct spec_db *)b)->binary[0] != '\0';
}

static bool dc_present(const void *b)
{
	return ((const struct spec_host *)b)->dc[0] != '\0';
}
static bool id_present(const void *b)
{
	return ((const struct spec_step *)b)->name[0] != '\0';
}
static bool at_present(const void *b)
{
	return ((const struct spec_step *)b)->at_ns >= 0;
}
static bool when_present(const void *b)
{
	return ((const struct spec_step *)b)->when[0] != '\0';
}

/* ---- the tables ---- */

static const struct spec_field top_fields[] = {
	{ROW(SPEC_T_NAME, struct spec, name, "name"), .flags = SPEC_F_REQUIRED,
	 .example = "register-kill-leader",
	 .doc = "the test's name: its runs are kept in `store/<name>/`"},
	{ROW(SPEC_T_STR, struct spec, description, "description"), .flags = SPEC_F_MULTILINE,
	 .def = "", .example = "\"kill the leader every 5 s\"", .doc = "free text for people"},
	{ROW(SPEC_T_CUSTOM, struct spec, nodes, "nodes"), .custom = &nodes_custom, .def = "lab",
	 .example = "lab",
	 .doc = "the hosts: `lab` (the running lab's nodes file), a nodes file (relative to the "
		"spec's directory), or a list of hosts (below)"},
	{ROW(SPEC_T_CUSTOM, struct spec, dcs, "datacenters"), .custom = &dcs_custom,
	 .present = dcs_present, .def_doc = "none", .example = "{east: [n1, n2], west: [n3]}",
	 .doc = "datacenter labels by node name, for `cut-dc` and `cut-link` on hosts whose "
		"nodes file has none (the lab's): each named node gets the label"},
	{ROW(SPEC_T_MAP, struct spec, ssh, "ssh"), .sub = &spec_sec_ssh,
	 .doc = "how to reach hosts given as a list (below)"},
	{ROW(SPEC_T_MAP, struct spec, db, "db"), .sub = &spec_sec_db,
	 .doc = "the system under test (below)"},
	{ROW(SPEC_T_MAP, struct spec, workload, "workload"), .sub = &spec_sec_workload,
	 .flags = SPEC_F_REQUIRED, .doc = "what the clients do (below)"},
	{ROW(SPEC_T_MAP, struct spec, nemesis, "nemesis"), .sub = &spec_sec_nemesis,
	 .doc = "the faults (below); without it the run injects none"},
	{ROW(SPEC_T_DURATION, struct spec, time_limit_ns, "time_limit"), .min = MS_NS,
	 .max = 7 * DAY_NS, .def = "30s", .example = "60s",
	 .doc = "length of the main phase: operations at the rate, faults on their schedule"},
	{ROW(SPEC_T_DURATION, struct spec, recovery_ns, "recovery"), .min = 0, .max = DAY_NS,
	 .def = "5s", .example = "10s",
	 .doc = "after every fault is healed, operations go on this long without faults"},
	{ROW(SPEC_T_BOOL, struct spec, final_reads, "final_reads"), .def = "true",
	 .example = "false",
	 .doc = "end with one read of every key (workloads that have a final read: see Workloads)"},
	{ROW(SPEC_T_DURATION, struct spec, final_timeout_ns, "final_timeout"), .min = MS_NS,
	 .max = DAY_NS, .def = "30s", .example = "1m",
	 .doc = "time limit of each final read attempt"},
	{ROW(SPEC_T_MAP, struct spec, checker, "checker"), .sub = &spec_sec_checker,
	 .doc = "how the history is checked (below)"},
	{ROW(SPEC_T_MAP, struct spec, availability, "availability"), .sub = &spec_sec_availability,
	 .doc = "thresholds on availability around faults (below); a failed one makes the run "
		"invalid"},
	{ROW(SPEC_T_U64, struct spec, seed, "seed"), .given_off = offsetof(struct spec, seed_given) + 1,
	 .present = seed_present, .def_doc = "chosen at random, recorded in the run's test.yaml",
	 .example = "42", .doc = "the same seed gives the same operations and fault schedule"},
	{ROW(SPEC_T_ENUM, struct spec, expect, "expect"), .choices = "valid|invalid",
	 .present = expect_present, .def_doc = "none", .example = "invalid",
	 .doc = "the verdict the run must reach; any other makes the run fail (for tests of "
		"the harness, e.g. with a bug switch)"},
};

static const struct spec_field ssh_fields[] = {
	{ROW(SPEC_T_WORD, struct spec_ssh, user, "user"), .def = "root", .example = "admin",
	 .doc = "login user"},
	{ROW(SPEC_T_LPATH, struct spec_ssh, private_key, "private_key"), .flags = SPEC_F_AGENT,
	 .def = "agent", .example = "~/.ssh/id_ed25519",
	 .doc = "private key file, or `agent` for ssh-agent ($SSH_AUTH_SOCK)"},
	{ROW(SPEC_T_INT, struct spec_ssh, port, "port"), .min = 1, .max = 65535, .def = "22",
	 .example = "2222", .doc = "SSH port"},
	{ROW(SPEC_T_LPATH, struct spec_ssh, known_hosts, "known_hosts"),
	 .def = "~/.ssh/known_hosts", .example = "lab/known_hosts",
	 .doc = "known_hosts file checked against the hosts' keys"},
	{ROW(SPEC_T_ENUM, struct spec_ssh, host_key, "host_key"),
	 .choices = "strict|accept-new|off", .def = "strict", .example = "accept-new",
	 .doc = "host-key policy: strict refuses unknown keys, accept-new records them, off "
		"checks nothing"},
	{ROW(SPEC_T_DURATION, struct spec_ssh, connect_timeout_ns, "connect_timeout"),
	 .min = 100 * MS_NS, .max = 600 * S_NS, .def = "5s", .example = "2s",
	 .doc = "TCP connect, handshake and authentication"},
};

static const struct spec_field db_fields[] = {
	{ROW(SPEC_T_WORD, struct spec_db, kind, "kind"), .def = "raftnode", .example = "raftnode",
	 .doc = "the system under test: raftnode, etcd or redis-sentinel (Redis with Sentinel)"},
	{ROW(SPEC_T_CPATH, struct spec_db, binary, "binary"), .present = binary_present,
	 .def_doc = "the kind's (raftnode: build/raftnode; etcd, redis-sentinel: the hosts' "
		    "installed /usr/bin/etcd, /usr/bin/redis-server)",
	 .example = "build/raftnode",
	 .doc = "the binary installed on every host (relative to the current directory)"},
	{ROW(SPEC_T_CUSTOM, struct spec_db, args, "args"), .custom = &args_custom, .def_doc = "[]",
	 .example = "[--election-timeout, 150-300]",
	 .doc = "extra arguments for every node (e.g. `--bug stale-read`)"},
	{ROW(SPEC_T_RPATH, struct spec_db, base_dir, "base_dir"), .def = "/var/lib/splitbrain",
	 .example = "/srv/splitbrain",
	 .doc = "directory on the hosts; each node lives in `<base_dir>/<run>/<node>/`"},
	{ROW(SPEC_T_INT, struct spec_db, client_port, "client_port"), .min = 0, .max = 65535,
	 .def = "0", .example = "7001",
	 .doc = "client port; 0: the kind's (7001: raftnode's RESP, etcd's client URL, the "
		"Redis server; hosts sharing an address get port + index)"},
	{ROW(SPEC_T_INT, struct spec_db, peer_port, "peer_port"), .min = 0, .max = 65535,
	 .def = "0", .example = "7000",
	 .doc = "peer port; 0: the kind's (7000: raftnode's and etcd's Raft peers, Redis' Sentinel)"},
	{ROW(SPEC_T_BOOL, struct spec_db, keep_data, "keep_data"), .def = "false",
	 .example = "true", .doc = "start on the nodes' existing data instead of wiping it"},
	{ROW(SPEC_T_BOOL, struct spec_db, keep_running, "keep_running"), .def = "false",
	 .example = "true", .doc = "leave the nodes running after the run (logs are collected "
				   "either way)"},
	{ROW(SPEC_T_DURATION, struct spec_db, ready_timeout_ns, "ready_timeout"), .min = S_NS,
	 .max = 3600 * S_NS, .def = "20s", .example = "1m",
	 .doc = "time for the cluster to come up and elect a leader"},
};

static const struct spec_field workload_fields[] = {
	{ROW(SPEC_T_WORD, struct spec_workload, kind, "kind"), .flags = SPEC_F_REQUIRED,
	 .example = "kv", .doc = "register, kv, set or list-append (see Workloads)"},
	{ROW(SPEC_T_U32, struct spec_workload, keys, "keys"), .min = 1, .max = 1000000,
	 .def_doc = "the workload's", .example = "16", .doc = "number of keys (register: 1)"},
	{ROW(SPEC_T_ENUM, struct spec_workload, key_dist, "key_dist"), .flags = SPEC_F_INDEX,
	 .choices = "uniform|zipf", .def = "uniform", .example = "zipf",
	 .doc = "how keys are chosen"},
	{ROW(SPEC_T_DOUBLE, struct spec_workload, zipf_s, "zipf_s"), .dmin = 0.01, .dmax = 10,
	 .def = "1", .example = "1.2", .doc = "the zipf exponent (larger: hotter hot keys)"},
	{ROW(SPEC_T_CUSTOM, struct spec_workload, concurrency, "concurrency"),
	 .custom = &concurrency_custom, .def = "2n", .example = "10",
	 .doc = "worker processes: a number, or Nn for N per node"},
	{ROW(SPEC_T_DOUBLE, struct spec_workload, rate, "rate"), .dmin = 0, .dmax = 1e6,
	 .def = "100", .example = "500",
	 .doc = "operations per second over all workers; 0: as fast as they go"},
	{ROW(SPEC_T_DOUBLE, struct spec_workload, jitter, "jitter"), .dmin = 0, .dmax = 1,
	 .def = "0.5", .example = "0.1",
	 .doc = "each gap between operations is 1/rate × (1 ± jitter)"},
	{ROW(SPEC_T_MAP, struct spec_workload, mix, "mix"), .sub = &spec_sec_mix,
	 .given_off = offsetof(struct spec_workload, mix_given) + 1, .def_doc = "the workload's",
	 .example = "{read: 2, write: 1}",
	 .doc = "relative weights of the operations (below)"},
	{ROW(SPEC_T_DURATION, struct spec_workload, op_timeout_ns, "op_timeout"), .min = MS_NS,
	 .max = 600 * S_NS, .def = "5s", .example = "1s",
	 .doc = "an operation not answered by then ends `info` (a read: `fail`)"},
	{ROW(SPEC_T_U32, struct spec_workload, ops_per_key, "ops_per_key"), .min = 0,
	 .max = 1000000000, .def = "0", .example = "200",
	 .doc = "move on to a fresh key after this many operations on one (keeps each key's "
		"check small); 0: never"},
};

#define MIX_ROW(fld, what)                                                                  \
	{ROW(SPEC_T_DOUBLE, struct spec_mix, fld, #fld), .dmin = 0, .dmax = 1e6,             \
	 .def_doc = "the workload's", .example = "1", .doc = "weight of " what}
/* In the order of enum op_f (workload.h). */
static const struct spec_field mix_fields[] = {
	MIX_ROW(read, "reads"), MIX_ROW(write, "writes"), MIX_ROW(cas, "compare-and-sets"),
	MIX_ROW(add, "set adds"), MIX_ROW(append, "list appends"),
};

static const struct spec_field nemesis_fields[] = {
	{ROW(SPEC_T_DURATION, struct spec_nemesis, interval_ns, "interval"), .min = MS_NS,
	 .max = DAY_NS, .def = "10s", .example = "5s",
	 .doc = "random schedule: a fault starts every interval (± the workload's jitter)"},
	{ROW(SPEC_T_DURATION, struct spec_nemesis, start_after_ns, "start_after"), .min = 0,
	 .max = 7 * DAY_NS, .def_doc = "the interval", .example = "2s",
	 .doc = "no fault of the random schedule before this"},
	{ROW(SPEC_T_U32, struct spec_nemesis, max_concurrent, "max_concurrent"), .min = 1,
	 .max = SPEC_MAX_FAULTS, .def = "1", .example = "2", .doc = "faults active at once"},
	{ROW(SPEC_T_LIST, struct spec_nemesis, faults, "faults"), .sub = &spec_sec_fault,
	 .count_off = offsetof(struct spec_nemesis, nfaults), .max_items = SPEC_MAX_FAULTS,
	 .def_doc = "[]", .example = "[{kind: kill, target: leader}]",
	 .doc = "the random schedule draws from these, by weight (below)"},
	{ROW(SPEC_T_LIST, struct spec_nemesis, steps, "timeline"), .sub = &spec_sec_step,
	 .count_off = offsetof(struct spec_nemesis, nsteps), .max_items = SPEC_MAX_STEPS,
	 .def_doc = "[]", .example = "[{at: 5s, do: {kind: kill}}]",
	 .doc = "faults at given times or conditions, in order (below)"},
};

/* Bit i of spec_fault.set is row i: keep the order (spec_fault_given reads it by name). */
static const struct spec_field fault_fields[] = {
	{ROW(SPEC_T_WORD, struct spec_fault, kind, "kind"), .flags = SPEC_F_REQUIRED,
	 .example = "kill", .doc = "the fault (see Fault kinds)"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, weight, "weight"), .dmin = 0, .dmax = 1e6,
	 .def = "1", .example = "3",
	 .doc = "how often the random schedule picks it, relative to the others"},
	{ROW(SPEC_T_CUSTOM, struct spec_fault, target, "target"), .custom = &target_custom,
	 .def_doc = "the kind's", .example = "leader",
	 .doc = "the nodes it hits, chosen when it starts; in a timeline, `$id` is the nodes "
		"of step `id` (for isolate-leader and isolate-node, the isolated ones)"},
	{ROW(SPEC_T_DURATION, struct spec_fault, duration_ns, "duration"), .min = MS_NS,
	 .max = DAY_NS, .def = "5s", .example = "2s",
	 .doc = "how long until it is healed (crashpoint: how long the point may take to fire, "
		"10s by default)"},
	{ROW(SPEC_T_DURATION, struct spec_fault, restart_after_ns, "restart_after"), .min = 0,
	 .max = DAY_NS, .def = "5s", .example = "2s",
	 .doc = "a killed or crashed node is restarted this long after"},
	{ROW(SPEC_T_WORD, struct spec_fault, shape, "shape"), .example = "isolate-leader",
	 .doc = "partition: how the nodes are split"},
	{ROW(SPEC_T_CUSTOM, struct spec_fault, groups, "groups"), .custom = &groups_custom,
	 .example = "[[n1, n2], [n3]]", .doc = "partition: explicit groups"},
	{ROW(SPEC_T_CUSTOM, struct spec_fault, dc, "dc"), .custom = &dc_custom, .example = "east",
	 .doc = "cut-dc: the datacenter (hosts' `dc`) to cut off; $leader: the leader's"},
	{ROW(SPEC_T_CUSTOM, struct spec_fault, link, "link"), .custom = &link_custom,
	 .example = "[east, west]",
	 .doc = "cut-link: the two datacenters whose link is cut; either may be $leader"},
	{ROW(SPEC_T_WORD, struct spec_fault, point, "point"),
	 .example = "leader-after-partial-replicate", .doc = "crashpoint: the crash point's name"},
	{ROW(SPEC_T_U32, struct spec_fault, hit, "hit"), .min = 1, .max = 1000000, .def = "1",
	 .example = "3", .doc = "crashpoint: fire on the hit-th pass"},
	{ROW(SPEC_T_DURATION, struct spec_fault, delay_ns, "delay"), .min = 0, .max = 60 * S_NS,
	 .example = "100ms", .doc = "netem: added delay"},
	{ROW(SPEC_T_DURATION, struct spec_fault, jitter_ns, "jitter"), .min = 0,
	 .max = 60 * S_NS, .example = "20ms", .doc = "netem: delay jitter"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, loss, "loss"), .dmin = 0, .dmax = 100,
	 .example = "10", .doc = "netem: packets lost, %"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, duplicate, "duplicate"), .dmin = 0, .dmax = 100,
	 .example = "1", .doc = "netem: packets duplicated, %"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, reorder, "reorder"), .dmin = 0, .dmax = 100,
	 .example = "25", .doc = "netem: packets reordered, %"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, corrupt, "corrupt"), .dmin = 0, .dmax = 100,
	 .example = "0.1", .doc = "netem: packets corrupted, %"},
	{ROW(SPEC_T_SDURATION, struct spec_fault, offset_ns, "offset"), .min = -DAY_NS,
	 .max = DAY_NS, .example = "-2s", .doc = "clock: step the clock by this much"},
	{ROW(SPEC_T_DOUBLE, struct spec_fault, clock_rate, "clock_rate"), .dmin = 0.001,
	 .dmax = 1000, .def = "1", .example = "1.5", .doc = "clock: speed of the clock (1: normal)"},
};

static const struct spec_field step_fields[] = {
	{ROW(SPEC_T_WORD, struct spec_step, name, "id"), .present = id_present, .def_doc = "none",
	 .example = "k1", .doc = "a name that later steps use as `target: $id`"},
	{ROW(SPEC_T_DURATION, struct spec_step, at_ns, "at"), .min = 0, .max = 7 * DAY_NS,
	 .present = at_present, .def_doc = "none", .example = "5s",
	 .doc = "when, in time since the run started (this or `when`)"},
	{ROW(SPEC_T_CUSTOM, struct spec_step, when, "when"), .custom = &when_custom,
	 .present = when_present, .def_doc = "none", .example = "commit>=100",
	 .doc = "wait for a condition: leader (one is elected), died (a node exited), "
		"commit>=N, log~REGEX (a node's log line matches, one written since the step "
		"before began to act)"},
	{ROW(SPEC_T_DURATION, struct spec_step, timeout_ns, "timeout"), .min = MS_NS,
	 .max = DAY_NS, .def = "30s", .present = when_present, .example = "1m",
	 .doc = "how long the `when` condition may take to hold"},
	{ROW(SPEC_T_CUSTOM, struct spec_step, action, "do"), .custom = &do_custom,
	 .flags = SPEC_F_REQUIRED, .example = "{kind: pause, target: $k1}",
	 .doc = "`heal` (heal every active fault) or a fault, as in nemesis.faults without "
		"weight"},
};

static const struct spec_field checker_fields[] = {
	{ROW(SPEC_T_CUSTOM, struct spec_checker, model, "model"), .custom = &model_custom,
	 .def_doc = "the workload's", .example = "cas-register",
	 .doc = "the consistency model (a register workload without cas may use register)"},
	{ROW(SPEC_T_DURATION, struct spec_checker, timeout_ns, "timeout"), .min = MS_NS,
	 .max = 7 * DAY_NS, .def = "60s", .example = "5m",
	 .doc = "time limit of the check; keys not decided by then are unknown"},
	{ROW(SPEC_T_SIZE, struct spec_checker, memory, "memory"), .min = 0, .max = 1LL << 40,
	 .def = "0", .example = "4G",
	 .doc = "memory cap of the search (a bare number is MiB); 0: half the machine's"},
};

static const struct spec_field availability_fields[] = {
	{ROW(SPEC_T_DURATION, struct spec_availability, recover_within_ns, "recover_within"),
	 .min = 0, .max = DAY_NS, .def = "0s", .example = "5s",
	 .doc = "every fault: a write is acknowledged within this of its start (one invoked "
		"after it); 0: not checked"},
	{ROW(SPEC_T_DOUBLE, struct spec_availability, min_ok_share, "min_ok_share"), .dmin = 0,
	 .dmax = 1, .def = "0", .example = "0.5",
	 .doc = "every fault window: at least this share of the operations invoked in it "
		"succeeded; 0: not checked"},
	{ROW(SPEC_T_DOUBLE, struct spec_availability, min_recovery_ok_share,
	     "min_recovery_ok_share"),
	 .dmin = 0, .dmax = 1, .def = "0", .example = "0.9",
	 .doc = "every recovery period (a fault's heal to the next fault's start): at least this "
		"share succeeded; 0: not checked"},
};

static const struct spec_field host_fields[] = {
	{ROW(SPEC_T_NAME, struct spec_host, name, "name"), .flags = SPEC_F_REQUIRED,
	 .example = "n1", .doc = "the node's name (its --id, its folder in the store)"},
	{ROW(SPEC_T_CUSTOM, struct spec_host, address, "address"), .custom = &address_custom,
	 .flags = SPEC_F_REQUIRED, .example = "10.0.0.11", .doc = "IP address or host name"},
	{ROW(SPEC_T_INT, struct spec_host, port, "port"), .min = 1, .max = 65535,
	 .def_doc = "ssh.port", .example = "22", .doc = "SSH port"},
	{ROW(SPEC_T_WORD, struct spec_host, user, "user"), .def_doc = "ssh.user",
	 .example = "root", .doc = "login user"},
	{ROW(SPEC_T_WORD, struct spec_host, dc, "dc"), .present = dc_present, .def_doc = "none",
	 .example = "east", .doc = "datacenter label, for partitions by dc"},
};

#define SECTION(nm, rows, type, setoff, posoff, chk)                                          \
	{.name = (nm), .fields = (rows), .nfields = N(rows), .size = sizeof(type),             \
	 .set_off = (setoff), .pos_off = (posoff), .check = (chk)}

const struct spec_section spec_sec_top = SECTION("", top_fields, struct spec, -1, -1, NULL);
const struct spec_section spec_sec_ssh = SECTION("ssh", ssh_fields, struct spec_ssh, -1, -1, NULL);
const struct spec_section spec_sec_db = SECTION("db", db_fields, struct spec_db, -1, -1, db_check);
const struct spec_section spec_sec_workload =
	SECTION("workload", workload_fields, struct spec_workload, -1, -1, workload_check);
const struct spec_section spec_sec_mix =
	SECTION("workload.mix", mix_fields, struct spec_mix, -1, -1, NULL);
const struct spec_section spec_sec_nemesis =
	SECTION("nemesis", nemesis_fields, struct spec_nemesis, -1, -1, nemesis_check);
const struct spec_section spec_sec_fault =
	SECTION("nemesis.faults[]", fault_fields, struct spec_fault,
		(long long)offsetof(struct spec_fault, set),
		(long long)offsetof(struct spec_fault, pos), fault_check);
const struct spec_section spec_sec_step =
	SECTION("nemesis.timeline[]", step_fields, struct spec_step, -1,
		(long long)offsetof(struct spec_step, pos), step_check);
const struct spec_section spec_sec_checker =
	SECTION("checker", checker_fields, struct spec_checker, -1, -1, NULL);
const struct spec_section spec_sec_availability =
	SECTION("availability", availability_fields, struct spec_availability, -1, -1, NULL);
const struct spec_section spec_sec_host =
	SECTION("nodes[]", host_fields, struct spec_host, -1, (long long)offsetof(struct spec_host, pos),
		NULL);

bool spec_fault_given(const struct spec_fault *f, const char *field)
{
	size_t i;
	return spec_field_find(&spec_sec_fault, field, &i) && (f->set & (1ull << i));
}

/* ---- once the whole file is read ---- */

static bool host_known(const struct spec *s, const char *name)
{
	for (size_t i = 0; i < s->nodes.nhosts; i++)
		if (!strcmp(s->nodes.hosts[i].name, name))
			return true;
	return false;
}

/* Every node name in "n1,n3" (target words and $ids aside) is a host of the list. */
static int check_names(struct spec_ctx *c, const char *path, const struct ynode *at,
		       const char *list)
{
	char buf[SPEC_NAME_MAX], sb[80], *save = NULL;
	snprintf(buf, sizeof buf, "%s", list);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (!is_target_word(w) && w[0] != '$' && !host_known(c->s, w))
			return spec_fail(c, at, "%s: no host named %s in nodes", path,
					 spec_show(w, strlen(w), sb, sizeof sb));
	return 0;
}

static const struct ynode *kid(const struct ynode *n, size_t i)
{
	return n && n->type == YNODE_SEQ && i < n->n ? n->kids[i] : n;
}

static int fault_names(struct spec_ctx *c, const struct spec_fault *f, const struct ynode *node,
		       const char *where)
{
	char path[200];
	int rc = 0;
	snprintf(path, sizeof path, "%s.target", where);
	if (spec_fault_given(f, "target") &&
	    (rc = check_names(c, path, spec_find(node, "target"), f->target)))
		return rc;
	snprintf(path, sizeof path, "%s.groups", where);
	for (size_t i = 0; i < f->ngroups && !rc; i++)
		rc = check_names(c, path, kid(spec_find(node, "groups"), i), f->groups[i]);
	if (rc)
		return rc;
	/* Datacenter labels can be checked only when the spec lists its hosts; a nodes file's
	 * labels are checked when the fault starts. */
	const char *labels[3] = {spec_fault_given(f, "dc") ? f->dc : NULL,
				 spec_fault_given(f, "link") ? f->link[0] : NULL,
				 spec_fault_given(f, "link") ? f->link[1] : NULL};
	for (size_t l = 0; l < 3 && c->s->nodes.kind == SPEC_NODES_LIST; l++) {
		if (!labels[l] || !strcmp(labels[l], "$leader"))
			continue;
		bool found = false;
		for (size_t i = 0; i < c->s->nodes.nhosts && !found; i++)
			found = !strcmp(c->s->nodes.hosts[i].dc, labels[l]);
		for (size_t i = 0; i < c->s->ndcs && !found; i++)
			found = !strcmp(c->s->dcs[i].label, labels[l]);
		if (found)
			continue;
		char sb[80];
		const struct ynode *at = l ? kid(spec_find(node, "link"), l - 1) : spec_find(node, "dc");
		return spec_fail(c, at, "%s.%s: no host has dc %s", where, l ? "link" : "dc",
				 spec_show(labels[l], strlen(labels[l]), sb, sizeof sb));
	}
	return 0;
}

static int nodes_names(struct spec_ctx *c, const struct ynode *root)
{
	const struct spec_nemesis *n = &c->s->nemesis;
	const struct ynode *nem = spec_find(root, "nemesis");
	char where[64];
	for (size_t i = 0; i < n->nfaults; i++) {
		snprintf(where, sizeof where, "nemesis.faults[%zu]", i);
		int rc = fault_names(c, &n->faults[i], kid(spec_find(nem, "faults"), i), where);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n->nsteps; i++) {
		if (n->steps[i].heal)
			continue;
		snprintf(where, sizeof where, "nemesis.timeline[%zu].do", i);
		int rc = fault_names(c, &n->steps[i].action,
				     spec_find(kid(spec_find(nem, "timeline"), i), "do"), where);
		if (rc)
			return rc;
	}
	return 0;
}

static int model_resolve(struct spec_ctx *c, const struct ynode *root)
{
	struct spec *s = c->s;
	const struct workload_kind *k = workload_find(s->workload.kind);
	enum chk_model m;
	if (!k)
		return spec_fail(c, root, "workload.kind: unknown workload");
	if (!s->checker.model[0]) {
		spec_copy(s->checker.model, sizeof s->checker.model, chk_model_name(k->model));
		return 0;
	}
	if (chk_model_parse(s->checker.model, &m, NULL, 0))
		return spec_fail(c, root, "checker.model: unknown model");
	if (m == k->model ||
	    (k->model == CHK_MODEL_CAS_REGISTER && m == CHK_MODEL_REGISTER && s->workload.mix.cas == 0))
		return 0;
	return spec_fail(c, spec_find(spec_find(root, "checker"), "model"),
			 "checker.model: %s histories are checked with model %s, not %s", k->name,
			 chk_model_name(k->model), s->checker.model);
}

int spec_resolve(struct spec_ctx *c, const struct ynode *root)
{
	struct spec *s = c->s;
	int rc = model_resolve(c, root);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->nodes.nhosts; i++) {
		struct spec_host *h = &s->nodes.hosts[i];
		if (!h->port)
			h->port = s->ssh.port;
		if (!h->user[0])
			spec_copy(h->user, sizeof h->user, s->ssh.user);
	}
	if (s->nodes.kind != SPEC_NODES_LIST)
		return 0;
	/* With a list of hosts, `datacenters:` may name only those hosts, and must agree with
	 * their own `dc:`. */
	const struct ynode *dcs = spec_find(root, "datacenters");
	for (size_t i = 0; i < s->ndcs; i++) {
		char buf[SPEC_NAME_MAX], path[128], *save = NULL;
		const struct ynode *at = dcs && dcs->type == YNODE_MAP && 2 * i + 1 < dcs->n
						 ? dcs->kids[2 * i + 1] : dcs;
		snprintf(path, sizeof path, "datacenters.%s", s->dcs[i].label);
		if ((rc = check_names(c, path, at, s->dcs[i].nodes)))
			return rc;
		snprintf(buf, sizeof buf, "%s", s->dcs[i].nodes);
		for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
			for (size_t j = 0; j < s->nodes.nhosts; j++)
				if (!strcmp(s->nodes.hosts[j].name, w) && s->nodes.hosts[j].dc[0] &&
				    strcmp(s->nodes.hosts[j].dc, s->dcs[i].label))
					return spec_fail(c, at, "%s: host %s has dc %s", path, w,
							 s->nodes.hosts[j].dc);
	}
	return nodes_names(c, root);
}

/* ---- command-line overrides ---- */

int spec_override(struct spec *s, const struct spec_overrides *o, char *err, size_t errlen)
{
	char msg[512], shown[64];
	const struct spec_field *f;
	if (o->nodes) {
		if (spec_check_text(o->nodes, false, msg, sizeof msg) ||
		    nodes_scalar(s, o->nodes, NULL, msg, sizeof msg))
			return err_set(err, errlen, SB_EINVAL, "--nodes: %s", msg);
		memset(s->nodes.hosts, 0, sizeof s->nodes.hosts);
		memset(&s->nodes.pos, 0, sizeof s->nodes.pos);
	}
	if (o->time_limit_ns) {
		f = spec_field_find(&spec_sec_top, "time_limit", NULL);
		units_format_duration(o->time_limit_ns < 0 ? -o->time_limit_ns : o->time_limit_ns,
				      shown, sizeof shown);
		if (o->time_limit_ns < 0 || spec_check_ll(f, o->time_limit_ns, shown, msg, sizeof msg))
			return err_set(err, errlen, SB_EINVAL, "--time-limit: %s",
				       o->time_limit_ns < 0 ? "must not be negative" : msg);
		s->time_limit_ns = o->time_limit_ns;
	}
	if (o->concurrency) {
		if (spec_check_text(o->concurrency, false, msg, sizeof msg) ||
		    concurrency_text(&s->workload, o->concurrency, msg, sizeof msg))
			return err_set(err, errlen, SB_EINVAL, "--concurrency: %s", msg);
	}
	if (o->rate_given || o->rate != 0) {
		f = spec_field_find(&spec_sec_workload, "rate", NULL);
		snprintf(shown, sizeof shown, "%g", o->rate);
		if (spec_check_double(f, o->rate, shown, msg, sizeof msg))
			return err_set(err, errlen, SB_EINVAL, "--rate: %s", msg);
		s->workload.rate = o->rate;
	}
	if (o->seed_given) {
		s->seed = o->seed;
		s->seed_given = true;
	}
	for (size_t i = 0; i < o->nbugs; i++) {
		const char *b = o->bugs[i];
		if (strcmp(s->db.kind, "raftnode"))
			return err_set(err, errlen, SB_EINVAL, "--bug: db kind %s has no bug switches "
				       "(raftnode has)", s->db.kind);
		if (!*b || !spec_is_word(b) || strlen(b) >= SPEC_ARG_MAX)
			return err_set(err, errlen, SB_EINVAL, "--bug: '%.64s' is not a bug name", b);
		if (s->db.nargs + 2 > SPEC_MAX_ARGS)
			return err_set(err, errlen, SB_EINVAL, "--bug: db.args holds at most %d "
				       "arguments", SPEC_MAX_ARGS);
		spec_copy(s->db.args[s->db.nargs++], SPEC_ARG_MAX, "--bug");
		spec_copy(s->db.args[s->db.nargs++], SPEC_ARG_MAX, b);
	}
	if (o->expect) {
		if (!strcmp(o->expect, "none"))
			s->expect[0] = '\0';
		else if (!strcmp(o->expect, "valid") || !strcmp(o->expect, "invalid"))
			spec_copy(s->expect, sizeof s->expect, o->expect);
		else
			return err_set(err, errlen, SB_EINVAL,
				       "--expect: '%.64s' is not valid, invalid or none", o->expect);
	}
	if (o->binary) {
		f = spec_field_find(&spec_sec_db, "binary", NULL);
		if (spec_check_text(o->binary, false, msg, sizeof msg) ||
		    spec_parse_text(f, &s->db, o->binary, NULL, msg, sizeof msg))
			return err_set(err, errlen, SB_EINVAL, "--binary: %s", msg);
	}
	return 0;
}
