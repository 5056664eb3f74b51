/* nemesis — the table of fault kinds and what they share: resolving targets. */
#include "harness/nemesis/nemesis.h"

#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/rng.h"

/* The kinds, in the order heal_all() runs them at the end of a run: the network and clocks
 * first, then paused processes resumed, then armed crash points cleared (a paused node could
 * not answer), then dead nodes restarted (a node restarted into a partition would only have
 * to be healed again). */
const struct nemesis_kind *const nemesis_kinds[] = {
	&nemesis_partition,
	&nemesis_cut_dc,
	&nemesis_cut_link,
	&nemesis_netem,
	&nemesis_clock,
	&nemesis_pause,
	&nemesis_crashpoint,
	&nemesis_kill,
	NULL,
};

const struct nemesis_kind *nemesis_find(const char *name)
{
	for (size_t i = 0; nemesis_kinds[i]; i++)
		if (!strcmp(nemesis_kinds[i]->name, name))
			return nemesis_kinds[i];
	return NULL;
}

const char *nemesis_names(void)
{
	static char buf[256];
	static int done;
	/* Built once from the constant table; every caller gets the same text. */
	if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		char tmp[sizeof buf] = "";
		for (size_t i = 0; nemesis_kinds[i]; i++) {
			size_t len = strlen(tmp);
			snprintf(tmp + len, sizeof tmp - len, "%s%s", i ? ", " : "",
				 nemesis_kinds[i]->name);
		}
		memcpy(buf, tmp, sizeof buf);
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	return buf;
}

/* Is `word` one of the comma-separated words of `list`? */
static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

bool nemesis_takes(const struct nemesis_kind *k, const char *field)
{
	return in_list(k->fields, field) || !strcmp(field, "kind") || !strcmp(field, "weight");
}

bool nemesis_requires(const struct nemesis_kind *k, const char *field)
{
	return in_list(k->required, field);
}

static const char *const target_words[] = {"leader", "follower", "followers", "random",
					   "minority", "majority", "all", NULL};

bool nemesis_target_needs_leader(const char *target)
{
	return !strcmp(target, "leader") || !strcmp(target, "follower") ||
	       !strcmp(target, "followers");
}

int nemesis_pick(struct nemesis_env *env, const char *target, uint64_t rnd, bool *sel,
		 char *err, size_t errlen)
{
	int leader = nemesis_target_needs_leader(target) ? env->leader(env, 5000) : -1;
	return nemesis_targets(target, env->db, leader, rnd, sel, err, errlen);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

bool nemesis_target_ok(const char *target)
{
	for (size_t i = 0; target_words[i]; i++)
		if (!strcmp(target, target_words[i]))
			return true;
	/* A list of node names, n1,n2; or `$id`, what an earlier timeline step chose. */
	const char *p = target[0] == '$' ? target + 1 : target;
	size_t part = 0;
	for (; *p; p++) {
		if (*p == ',' && target[0] != '$') {
			if (!part)
				return false;
			part = 0;
		} else if (name_char(*p)) {
			part++;
		} else {
			return false;
		}
	}
	return part > 0;
}

/* Choose k of the nodes in cand[0..n) (true = may be chosen) at random: a partial
 * Fisher-Yates shuffle seeded by rnd. */
static void choose(const bool *cand, size_t n, size_t k, uint64_t rnd, bool *sel)
{
	size_t idx[DB_MAX_NODES], m = 0;
	for (size_t i = 0; i < n; i++)
		if (cand[i])
			idx[m++] = i;
	struct rng r;
	rng_seed(&r, rnd);
	for (size_t i = 0; i < k && i < m; i++) {
		size_t j = i + (size_t)rng_below(&r, m - i);
		size_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
		sel[idx[i]] = true;
	}
}

int nemesis_targets(const char *target, const struct db *db, int leader, uint64_t rnd,
		    bool *sel, char *err, size_t errlen)
{
	size_t n = db->n;
	bool all[DB_MAX_NODES];
	memset(sel, 0, n * sizeof *sel);
	for (size_t i = 0; i < n; i++)
		all[i] = true;
	if (nemesis_target_needs_leader(target)) {
		if (leader < 0 || (size_t)leader >= n)
			return err_set(err, errlen, SB_ETIMEOUT, "target %s: no leader", target);
		if (!strcmp(target, "follower")) {
			bool others[DB_MAX_NODES];
			for (size_t i = 0; i < n; i++)
				others[i] = i != (size_t)leader;
			choose(others, n, 1, rnd, sel);
			return 1;
		}
		for (size_t i = 0; i < n; i++)
			sel[i] = (i == (size_t)leader) == !strcmp(target, "leader");
		return !strcmp(target, "leader") ? 1 : (int)n - 1;
	}
	if (!strcmp(target, "all")) {
		memcpy(sel, all, n * sizeof *sel);
		return (int)n;
	}
	size_t k = 0;
	if (!strcmp(target, "random"))
		k = 1;
	else if (!strcmp(target, "minority"))
		k = (n - 1) / 2 ? (n - 1) / 2 : 1;
	else if (!strcmp(target, "majority"))
		k = n / 2 + 1;
	if (k) {
		choose(all, n, k, rnd, sel);
		return (int)k;
	}
	/* Node names. */
	int count = 0;
	for (const char *p = target; *p;) {
		size_t len = strcspn(p, ",");
		char name[CONTROL_NAME_MAX];
		if (len == 0 || len >= sizeof name)
			return err_set(err, errlen, SB_EINVAL, "target '%s': bad node list", target);
		memcpy(name, p, len);
		name[len] = '\0';
		int i = db_find(db, name);
		if (i < 0)
			return err_set(err, errlen, SB_EINVAL, "target '%s': no node named '%s'",
				       target, name);
		count += !sel[i];
		sel[i] = true;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!count)
		return err_set(err, errlen, SB_EINVAL, "target '%s': no nodes", target);
	return count;
}

void nemesis_nodes_text(const struct db *db, const bool *sel, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < db->n && len < n; i++) {
		if (!sel[i])
			continue;
		int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", db->nodes[i].name);
		if (w < 0)
			return;
		len += (size_t)w;
	}
}

void nemesis_nodes_json(const struct db *db, const bool *sel, char *buf, size_t n)
{
	size_t len = 0;
	int first = 1;
	len += (size_t)snprintf(buf, n, "[");
	for (size_t i = 0; i < db->n && len < n; i++) {
		if (!sel[i])
			continue;
		/* Node names are [A-Za-z0-9_.-] (nodes.h): nothing to escape. */
		int w = snprintf(buf + len, n - len, "%s\"%s\"", first ? "" : ",", db->nodes[i].name);
		if (w < 0)
			return;
		len += (size_t)w;
		first = 0;
	}
	if (len < n)
		snprintf(buf + len, n - len, "]");
}

static void kind_db_opts(const char *kind, struct db_opts *o)
{
	const struct nemesis_kind *k = nemesis_find(kind);
	if (k && k->db_opts)
		k->db_opts(o);
}

void nemesis_db_opts(const struct spec *s, struct db_opts *o)
{
	for (size_t i = 0; i < s->nemesis.nfaults && i < SPEC_MAX_FAULTS; i++)
		kind_db_opts(s->nemesis.faults[i].kind, o);
	for (size_t i = 0; i < s->nemesis.nsteps && i < SPEC_MAX_STEPS; i++)
		if (!s->nemesis.steps[i].heal)
			kind_db_opts(s->nemesis.steps[i].action.kind, o);
}

int nemesis_filter(struct nemesis_env *env, enum nemesis_proc want, bool all_nodes, bool *sel,
		   char *err, size_t errlen)
{
	struct db_status st[DB_MAX_NODES];
	int rc = db_status_all(env->db, st, err, errlen);
	if (rc)
		return rc;
	int n = 0;
	for (size_t i = 0; i < env->db->n; i++) {
		enum nemesis_proc p = !st[i].running ? NEMESIS_DOWN
				      : st[i].paused  ? NEMESIS_STOPPED
						      : NEMESIS_UP;
		sel[i] = (all_nodes || sel[i]) && p == want;
		n += sel[i];
	}
	return n;
}
