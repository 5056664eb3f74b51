/* cut — see cut.h. The shapes (pure) first, then their text, then the iptables rules. */
#include "harness/nemesis/cut.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/shquote.h"
#include "lib/err.h"
#include "lib/rng.h"

const char *const nemesis_shapes[] = {
	"isolate-leader", "isolate-node",    "halves", "random-halves", "majority",
	"minority-third", "majorities-ring", "bridge", "one-way",       NULL,
};

bool nemesis_shape_ok(const char *shape)
{
	for (size_t i = 0; nemesis_shapes[i]; i++)
		if (!strcmp(shape, nemesis_shapes[i]))
			return true;
	return false;
}

static uint64_t all_of(size_t n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

static uint64_t bit(size_t i)
{
	return (uint64_t)1 << i;
}

void nemesis_cut_none(struct nemesis_cut *c, size_t n)
{
	memset(c, 0, sizeof *c);
	c->n = n;
	for (size_t i = 0; i < n; i++)
		c->hears[i] = all_of(n);
	snprintf(c->shape, sizeof c->shape, "none");
}

/* i hears j iff some group holds both (and everyone hears itself). */
static void hear_within_groups(struct nemesis_cut *c)
{
	for (size_t i = 0; i < c->n; i++) {
		c->hears[i] = bit(i);
		for (size_t g = 0; g < c->ngroups; g++)
			if (c->groups[g] & bit(i))
				c->hears[i] |= c->groups[g];
	}
}

static void add_group(struct nemesis_cut *c, uint64_t g)
{
	if (g && c->ngroups < DB_MAX_NODES)
		c->groups[c->ngroups++] = g;
}

/* perm = 0..n-1, shuffled by r when r != NULL (Fisher-Yates). */
static void order(size_t *perm, size_t n, struct rng *r)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = 0; r && i + 1 < n; i++) {
		size_t j = i + (size_t)rng_below(r, n - i);
		size_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

static uint64_t mask_of(const size_t *perm, size_t from, size_t to)
{
	uint64_t m = 0;
	for (size_t i = from; i < to; i++)
		m |= bit(perm[i]);
	return m;
}

/* The first k of perm / the rest. */
static void split(struct nemesis_cut *c, const size_t *perm, size_t k)
{
	add_group(c, mask_of(perm, 0, k));
	add_group(c, mask_of(perm, k, c->n));
	hear_within_groups(c);
}

/* Every node on a ring hears the k nearest on each side (see cut.h). */
static void ring(struct nemesis_cut *c, const size_t *perm)
{
	size_t n = c->n;
	c->style = NEMESIS_CUT_VIEWS;
	c->ngroups = n;
	if (n == 3) {
		/* The path perm[0] - perm[1] - perm[2]. */
		c->hears[perm[0]] = bit(perm[0]) | bit(perm[1]);
		c->hears[perm[1]] = all_of(3);
		c->hears[perm[2]] = bit(perm[1]) | bit(perm[2]);
	} else {
		size_t k = (n / 2 + 1) / 2; /* ceil((m - 1) / 2) for the majority m = n/2 + 1 */
		for (size_t p = 0; p < n; p++) {
			uint64_t view = 0;
			for (size_t d = 0; d <= 2 * k; d++)
				view |= bit(perm[(p + n - k + d) % n]);
			c->hears[perm[p]] = view;
		}
	}
	for (size_t i = 0; i < n; i++)
		c->groups[i] = c->hears[i];
}

static void pick_target(uint64_t *target, size_t n, struct rng *r)
{
	if (!*target)
		*target = bit((size_t)rng_below(r, n));
}

int nemesis_cut_shape(struct nemesis_cut *c, const char *shape, size_t n, int leader,
		      uint64_t target, uint64_t rnd, char *err, size_t errlen)
{
	if (n < 2 || n > DB_MAX_NODES)
		return err_set(err, errlen, SB_EINVAL, "partition: %zu nodes (2..%d)", n,
			       DB_MAX_NODES);
	nemesis_cut_none(c, n);
	snprintf(c->shape, sizeof c->shape, "%s", shape);
	target &= all_of(n);
	struct rng r;
	rng_seed(&r, rnd);
	size_t perm[DB_MAX_NODES];
	if (!strcmp(shape, "isolate-leader")) {
		if (leader < 0 || (size_t)leader >= n)
			return err_set(err, errlen, SB_ETIMEOUT, "partition isolate-leader: no leader");
		add_group(c, bit((size_t)leader));
		add_group(c, all_of(n) & ~bit((size_t)leader));
		hear_within_groups(c);
	} else if (!strcmp(shape, "isolate-node")) {
		pick_target(&target, n, &r);
		if (target == all_of(n))
			return err_set(err, errlen, SB_EINVAL,
				       "partition isolate-node: the target is every node");
		for (size_t i = 0; i < n; i++)
			if (target & bit(i))
				add_group(c, bit(i));
		add_group(c, all_of(n) & ~target);
		hear_within_groups(c);
	} else if (!strcmp(shape, "halves") || !strcmp(shape, "random-halves")) {
		order(perm, n, shape[0] == 'r' ? &r : NULL);
		split(c, perm, n / 2);
	} else if (!strcmp(shape, "majority") || !strcmp(shape, "minority-third")) {
		size_t k = !strcmp(shape, "majority") ? (n - 1) / 2 : (n + 2) / 3 - 1;
		order(perm, n, &r);
		split(c, perm, k ? k : 1);
	} else if (!strcmp(shape, "majorities-ring")) {
		if (n < 3)
			return err_set(err, errlen, SB_EINVAL,
				       "partition majorities-ring: needs at least 3 nodes");
		order(perm, n, &r);
		ring(c, perm);
	} else if (!strcmp(shape, "bridge")) {
		if (n < 3)
			return err_set(err, errlen, SB_EINVAL, "partition bridge: needs at least 3 nodes");
		order(perm, n, &r);
		size_t h = n / 2;
		add_group(c, mask_of(perm, 0, h + 1));
		add_group(c, mask_of(perm, h, n));
		hear_within_groups(c);
	} else if (!strcmp(shape, "one-way")) {
		pick_target(&target, n, &r);
		int rc = nemesis_cut_one_way(c, n, target, all_of(n) & ~target, err, errlen);
		snprintf(c->shape, sizeof c->shape, "%s", shape);
		return rc;
	} else {
		return err_set(err, errlen, SB_EINVAL, "partition: unknown shape '%s'", shape);
	}
	return 0;
}

int nemesis_cut_groups(struct nemesis_cut *c, size_t n, const uint64_t *groups, size_t ngroups,
		       char *err, size_t errlen)
{
	nemesis_cut_none(c, n);
	snprintf(c->shape, sizeof c->shape, "groups");
	uint64_t seen = 0;
	if (!ngroups)
		return err_set(err, errlen, SB_EINVAL, "partition: no groups");
	for (size_t g = 0; g < ngroups; g++) {
		if (!groups[g])
			return err_set(err, errlen, SB_EINVAL, "partition: group %zu is empty", g + 1);
		if (groups[g] & seen)
			return err_set(err, errlen, SB_EINVAL,
				       "partition: group %zu names a node that an earlier group has",
				       g + 1);
		seen |= groups[g];
		add_group(c, groups[g] & all_of(n));
	}
	add_group(c, all_of(n) & ~seen);
	if (c->ngroups < 2)
		return err_set(err, errlen, SB_EINVAL, "partition: one group holds every node");
	hear_within_groups(c);
	return 0;
}

int nemesis_cut_one_way(struct nemesis_cut *c, size_t n, uint64_t a, uint64_t b, char *err,
			size_t errlen)
{
	nemesis_cut_none(c, n);
	snprintf(c->shape, sizeof c->shape, "one-way");
	a &= all_of(n);
	b &= all_of(n);
	if (!a || !b || (a & b))
		return err_set(err, errlen, SB_EINVAL,
			       "partition one-way: needs two non-empty, separate sets of nodes");
	c->style = NEMESIS_CUT_ONE_WAY;
	add_group(c, a);
	add_group(c, b);
	for (size_t i = 0; i < n; i++)
		if (a & bit(i))
			c->hears[i] &= ~b;
	return 0;
}

/* The nodes labelled `dc`. */
static uint64_t dc_nodes(size_t n, const char *const *dcs, const char *dc)
{
	uint64_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (dcs[i] && dcs[i][0] && !strcmp(dcs[i], dc))
			m |= bit(i);
	return m;
}

/* "no node in datacenter 'x' (datacenters: a, b)". */
static int no_dc(size_t n, const char *const *dcs, const char *dc, char *err, size_t errlen)
{
	char known[512] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!dcs[i] || !dcs[i][0])
			continue;
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= dcs[j] && !strcmp(dcs[j], dcs[i]);
		if (!dup && len < sizeof known) {
			int w = snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "",
					 dcs[i]);
			len += w > 0 ? (size_t)w : 0;
		}
	}
	if (!known[0])
		return err_set(err, errlen, SB_EINVAL,
			       "no node in datacenter '%s' (no node has a dc label: add dc=LABEL to "
			       "the nodes file, or dc: to the spec's hosts)",
			       dc);
	return err_set(err, errlen, SB_EINVAL, "no node in datacenter '%s' (datacenters: %s)", dc,
		       known);
}

int nemesis_cut_datacenter(struct nemesis_cut *c, size_t n, const char *const *dcs, const char *dc,
		   char *err, size_t errlen)
{
	nemesis_cut_none(c, n);
	snprintf(c->shape, sizeof c->shape, "dc");
	uint64_t m = dc_nodes(n, dcs, dc);
	if (!m)
		return no_dc(n, dcs, dc, err, errlen);
	if (m == all_of(n))
		return err_set(err, errlen, SB_EINVAL,
			       "cut-dc %s: every node is in it, there is nothing to cut it from", dc);
	add_group(c, m);
	add_group(c, all_of(n) & ~m);
	hear_within_groups(c);
	return 0;
}

int nemesis_cut_between(struct nemesis_cut *c, size_t n, const char *const *dcs, const char *a,
		     const char *b, char *err, size_t errlen)
{
	nemesis_cut_none(c, n);
	snprintf(c->shape, sizeof c->shape, "link");
	if (!strcmp(a, b))
		return err_set(err, errlen, SB_EINVAL, "cut-link: both ends are '%s'", a);
	uint64_t ma = dc_nodes(n, dcs, a), mb = dc_nodes(n, dcs, b);
	if (!ma)
		return no_dc(n, dcs, a, err, errlen);
	if (!mb)
		return no_dc(n, dcs, b, err, errlen);
	c->style = NEMESIS_CUT_LINK;
	add_group(c, ma);
	add_group(c, mb);
	for (size_t i = 0; i < n; i++) {
		if (ma & bit(i))
			c->hears[i] &= ~mb;
		if (mb & bit(i))
			c->hears[i] &= ~ma;
	}
	return 0;
}

bool nemesis_cut_has(const struct nemesis_cut *c, size_t from, size_t to)
{
	return from < c->n && to < c->n && !(c->hears[to] & bit(from));
}

size_t nemesis_cut_count(const struct nemesis_cut *c)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->n; j++)
			k += nemesis_cut_has(c, j, i);
	return k;
}

/* ---- text ---- */

/* Append to buf[*len..len) like snprintf, keeping *len at most len - 1. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, const char *a)
{
	if (*len + 1 >= size)
		return;
	int w = snprintf(buf + *len, size - *len, fmt, a);
	if (w > 0)
		*len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

static void put_set(char *buf, size_t size, size_t *len, uint64_t m, const char *const *names,
		    size_t n)
{
	put(buf, size, len, "%s", "{");
	bool first = true;
	for (size_t i = 0; i < n; i++)
		if (m & bit(i)) {
			put(buf, size, len, first ? "%s" : ", %s", names[i]);
			first = false;
		}
	put(buf, size, len, "%s", "}");
}

void nemesis_cut_text(const struct nemesis_cut *c, const char *const *names, char *buf,
		      size_t size)
{
	size_t len = 0;
	if (!size)
		return;
	buf[0] = '\0';
	switch (c->style) {
	case NEMESIS_CUT_ONE_WAY:
		put_set(buf, size, &len, c->groups[0], names, c->n);
		put(buf, size, &len, "%s", " stops hearing ");
		put_set(buf, size, &len, c->groups[1], names, c->n);
		break;
	case NEMESIS_CUT_VIEWS:
		for (size_t i = 0; i < c->n; i++) {
			put(buf, size, &len, i ? "; %s sees " : "%s sees ", names[i]);
			put_set(buf, size, &len, c->hears[i], names, c->n);
		}
		break;
	case NEMESIS_CUT_LINK: {
		put_set(buf, size, &len, c->groups[0], names, c->n);
		put(buf, size, &len, "%s", " / ");
		put_set(buf, size, &len, c->groups[1], names, c->n);
		uint64_t rest = all_of(c->n) & ~(c->groups[0] | c->groups[1]);
		if (rest) {
			put(buf, size, &len, "%s", ", ");
			put_set(buf, size, &len, rest, names, c->n);
			put(buf, size, &len, "%s", " sees both");
		}
		break;
	}
	case NEMESIS_CUT_GROUPS:
	default:
		for (size_t g = 0; g < c->ngroups; g++) {
			if (g)
				put(buf, size, &len, "%s", " / ");
			put_set(buf, size, &len, c->groups[g], names, c->n);
		}
		break;
	}
}

void nemesis_cut_json(const struct nemesis_cut *c, const char *const *names, struct sbuf *b)
{
	sbuf_addf(b, "\"groups\":[");
	for (size_t g = 0; g < c->ngroups; g++) {
		sbuf_addf(b, "%s[", g ? "," : "");
		bool first = true;
		for (size_t i = 0; i < c->n; i++)
			if (c->groups[g] & bit(i)) {
				sbuf_addf(b, "%s\"%s\"", first ? "" : ",", names[i]);
				first = false;
			}
		sbuf_addc(b, ']');
	}
	sbuf_addf(b, "],\"cut\":[");
	bool first = true;
	for (size_t from = 0; from < c->n; from++)
		for (size_t to = 0; to < c->n; to++)
			if (nemesis_cut_has(c, from, to)) {
				sbuf_addf(b, "%s[\"%s\",\"%s\"]", first ? "" : ",", names[from],
					  names[to]);
				first = false;
			}
	sbuf_addc(b, ']');
}

void nemesis_cut_names(const struct db *db, const char **names)
{
	for (size_t i = 0; i < db->n; i++)
		names[i] = db->nodes[i].name;
}

/* ---- rules ---- */

/* A host's SPLITBRAIN chain is made on first use (the lab makes it at `lab up`). */
static const char ensure_fn[] =
	"ensure() {\n"
	"  \"$1\" -w -n -L SPLITBRAIN >/dev/null 2>&1 && return 0\n"
	"  \"$1\" -w -N SPLITBRAIN && \"$1\" -w -I INPUT 1 -j SPLITBRAIN\n"
	"}\n";

/* The commands that add (or delete) host i's rules, or NULL when it has none. */
static char *host_script(const struct db *db, const struct nemesis_cut *c, size_t i, bool add)
{
	struct sbuf b = {0};
	bool any = false;
	if (add)
		sbuf_add(&b, ensure_fn, sizeof ensure_fn - 1);
	for (size_t j = 0; j < c->n; j++) {
		if (!nemesis_cut_has(c, j, i))
			continue;
		const char *addr = db->nodes[j].listen_host;
		const char *tool = strchr(addr, ':') ? "ip6tables" : "iptables";
		char *q = shquote(addr);
		if (!q) {
			sbuf_free(&b);
			return NULL;
		}
		if (add)
			sbuf_addf(&b, "ensure %s || exit 3\n%s -w -A SPLITBRAIN -s %s -j DROP || exit 4\n",
				  tool, tool, q);
		else
			sbuf_addf(&b, "%s -w -D SPLITBRAIN -s %s -j DROP 2>/dev/null\n", tool, q);
		free(q);
		any = true;
	}
	sbuf_addf(&b, "exit 0\n");
	if (!any || b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_take(&b);
}

struct rules {
	struct db *db;
	const struct nemesis_cut *cut;
	bool add;
};

static int host_rules(struct control *ctl, size_t i, void *arg, char *err, size_t errlen)
{
	const struct rules *r = arg;
	if (i >= r->cut->n)
		return 0;
	bool any = false;
	for (size_t j = 0; j < r->cut->n; j++)
		any |= nemesis_cut_has(r->cut, j, i);
	if (!any)
		return 0;
	char *s = host_script(r->db, r->cut, i, r->add);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = control_run(ctl, s, r->db->op_timeout_ms, NULL, err, errlen);
	free(s);
	return rc;
}

/* Two nodes at one address cannot be told apart by a rule. */
static int check_addresses(const struct db *db, const struct nemesis_cut *c, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < db->n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(db->nodes[i].listen_host, db->nodes[j].listen_host))
				return err_set(err, errlen, SB_EINVAL,
					       "nodes %s and %s share the address %s: a partition "
					       "needs one address per node (iptables matches "
					       "addresses), e.g. the lab's hosts",
					       db->nodes[j].name, db->nodes[i].name,
					       db->nodes[i].listen_host);
	if (c->n != db->n)
		return err_set(err, errlen, SB_EINVAL, "partition of %zu nodes on a cluster of %zu",
			       c->n, db->n);
	return 0;
}

int nemesis_cut_apply(struct db *db, const struct nemesis_cut *c, char *err, size_t errlen)
{
	int rc = check_addresses(db, c, err, errlen);
	if (rc)
		return rc;
	struct rules r = {.db = db, .cut = c, .add = true};
	rc = control_pool_each(&db->pool, host_rules, &r, NULL, err, errlen);
	if (rc) {
		char e2[256];
		nemesis_cut_remove(db, c, e2, sizeof e2);
	}
	return rc;
}

int nemesis_cut_remove(struct db *db, const struct nemesis_cut *c, char *err, size_t errlen)
{
	if (c->n != db->n)
		return err_set(err, errlen, SB_EINVAL, "partition of %zu nodes on a cluster of %zu",
			       c->n, db->n);
	struct rules r = {.db = db, .cut = c, .add = false};
	return control_pool_each(&db->pool, host_rules, &r, NULL, err, errlen);
}

static int host_flush(struct control *ctl, size_t i, void *arg, char *err, size_t errlen)
{
	const struct db *db = arg;
	return control_run(ctl,
			   "rc=0\n"
			   "for t in iptables ip6tables; do\n"
			   "  command -v \"$t\" >/dev/null 2>&1 || continue\n"
			   "  \"$t\" -w -n -L SPLITBRAIN >/dev/null 2>&1 || continue\n"
			   "  \"$t\" -w -F SPLITBRAIN || rc=4\n"
			   "done\n"
			   "exit $rc\n",
			   db->op_timeout_ms, NULL, err, errlen);
}

int nemesis_cut_flush_all(struct db *db, char *err, size_t errlen)
{
	return control_pool_each(&db->pool, host_flush, db, NULL, err, errlen);
}

/* ---- the kinds' common start and heal ---- */

int nemesis_cut_start(struct nemesis_env *env, struct nemesis_act *act,
		      const struct nemesis_cut *c, const char *desc_head, const char *json_head,
		      char *err, size_t errlen)
{
	struct db *db = env->db;
	const char *names[DB_MAX_NODES];
	nemesis_cut_names(db, names);
	char text[NEMESIS_DESC_MAX];
	nemesis_cut_text(c, names, text, sizeof text);
	snprintf(act->desc, sizeof act->desc, "%s%s", desc_head, text);
	for (size_t i = 0; i < c->n && i < db->n; i++)
		act->nodes[i] = c->hears[i] != all_of(c->n);
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->n; j++)
			if (nemesis_cut_has(c, j, i))
				act->nodes[j] = true;
	struct sbuf b = {0};
	sbuf_addf(&b, "{%s,", json_head);
	nemesis_cut_json(c, names, &b);
	sbuf_addc(&b, '}');
	if (b.oom || b.len >= sizeof act->value)
		/* Too big for the history event (a large cluster): the count stands in. */
		snprintf(act->value, sizeof act->value, "{%s,\"cut_count\":%zu,\"truncated\":true}",
			 json_head, nemesis_cut_count(c));
	else
		memcpy(act->value, b.p, b.len + 1);
	sbuf_free(&b);
	struct nemesis_cut *keep = malloc(sizeof *keep);
	if (!keep)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*keep = *c;
	int rc = nemesis_cut_apply(db, c, err, errlen);
	if (rc) {
		free(keep);
		return rc;
	}
	act->state = keep;
	return 0;
}

int nemesis_cut_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		     size_t errlen)
{
	char json[NEMESIS_VALUE_MAX - 64];
	snprintf(act->heal_desc, sizeof act->heal_desc, "heal %.*s",
		 (int)(sizeof act->heal_desc - 6), act->desc);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->heal_value, sizeof act->heal_value, "{\"nodes\":%s}", json);
	struct nemesis_cut *c = act->state;
	if (!c)
		return 0; /* healed already */
	int rc = nemesis_cut_remove(env->db, c, err, errlen);
	if (rc)
		return rc; /* kept: a retry, or heal_all's flush, removes the rest */
	free(c);
	act->state = NULL;
	return 0;
}

int nemesis_cut_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	return nemesis_cut_flush_all(env->db, err, errlen);
}

/* "n1,n2" -> a bit mask of the named nodes. */
int nemesis_cut_parse_set(const struct db *db, const char *list, uint64_t *out, char *err,
			  size_t errlen)
{
	*out = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		char name[CONTROL_NAME_MAX];
		if (!len || len >= sizeof name)
			return err_set(err, errlen, SB_EINVAL, "bad node list '%s'", list);
		memcpy(name, p, len);
		name[len] = '\0';
		int i = db_find(db, name);
		if (i < 0)
			return err_set(err, errlen, SB_EINVAL, "'%s': no node named '%s'", list, name);
		*out |= bit((size_t)i);
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*out)
		return err_set(err, errlen, SB_EINVAL, "empty node list");
	return 0;
}
