/* sim — deterministic cluster simulator for the Raft core. Contract: sim.h.
 *
 * The loop: advance the simulated clock to the next event (a message delivery, a node's timer,
 * a restart, a fault, a client action), handle every event due, then drive each live node
 * through its readies exactly as raftnode's shell does (persist to the simulated disk, report
 * persistence, send, reply, advance), checking the safety properties on the way.
 */
#include "node/sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/rng.h"
#include "node/raft.h"

#define SIM_MAX_NODES 9

struct sim;

/* ---- randomness (lib/rng: every random choice of the run comes from the run's seed) ---- */

static uint64_t rnd(struct rng *s)
{
	return rng_next(s);
}

static uint64_t rrange(struct rng *s, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + rng_below(s, hi - lo + 1);
}

static bool chance(struct rng *s, unsigned pm)
{
	return pm && rng_below(s, 1000) < pm;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	return hash_fnv64(h ? h : HASH_FNV64_INIT, p, n);
}

static uint64_t entry_hash(const struct raft_entry *e)
{
	uint64_t h = hash_bytes(&e->type, sizeof(e->type), 0);
	h = hash_bytes(&e->client_id, sizeof(e->client_id), h);
	h = hash_bytes(&e->seq, sizeof(e->seq), h);
	return hash_bytes(e->data, e->len, h);
}

/* ---- simulated disk ---- */

struct store {
	struct raft_hardstate hs;
	struct raft_snapshot snap;
	struct raft_entry *log;
	size_t n, cap;
};

static void store_free(struct store *s)
{
	free(s->snap.data);
	for (size_t i = 0; i < s->n; i++)
		free(s->log[i].data);
	free(s->log);
	memset(s, 0, sizeof(*s));
}

static unsigned char *dup_bytes(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* ---- network ---- */

struct flight {
	uint64_t at, order;
	struct raft_msg m; /* deep copy */
};

struct heap {
	struct flight *v;
	size_t n, cap;
};

static bool flight_before(const struct flight *a, const struct flight *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int heap_push(struct heap *h, struct flight *f)
{
	if (array_grow((void **)&h->v, &h->cap, h->n + 1, sizeof(*h->v), 64))
		return SB_ENOMEM;
	size_t i = h->n++;
	h->v[i] = *f;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!flight_before(&h->v[i], &h->v[p]))
			break;
		struct flight t = h->v[i];
		h->v[i] = h->v[p];
		h->v[p] = t;
		i = p;
	}
	return 0;
}

static void heap_pop(struct heap *h, struct flight *out)
{
	*out = h->v[0];
	h->v[0] = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && flight_before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && flight_before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		struct flight t = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = t;
		i = m;
	}
}

static void msg_free(struct raft_msg *m)
{
	for (size_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free(m->data);
}

static int msg_copy(struct raft_msg *dst, const struct raft_msg *src)
{
	*dst = *src;
	dst->entries = NULL;
	dst->data = NULL;
	dst->n_entries = 0;
	if (src->n_entries) {
		dst->entries = calloc(src->n_entries, sizeof(*dst->entries));
		if (!dst->entries)
			return SB_ENOMEM;
		for (size_t i = 0; i < src->n_entries; i++) {
			dst->entries[i] = src->entries[i];
			dst->entries[i].data = dup_bytes(src->entries[i].data, src->entries[i].len);
			dst->n_entries = i + 1;
			if (!dst->entries[i].data)
				return SB_ENOMEM;
		}
	}
	if (src->len) {
		dst->data = dup_bytes(src->data, src->len);
		if (!dst->data)
			return SB_ENOMEM;
	}
	return 0;
}

/* ---- nodes and clients ---- */

struct node {
	struct sim *sim;
	raft_id id;
	struct raft *core;
	bool alive;
	uint64_t restart_at;
	uint64_t paused_until; /* a paused process: no ticks, messages and requests wait */
	struct store store;
	int group; /* partition side */
	const char *armed;
	int armed_hits;
	bool crash_now;
	raft_term seen_leader_term; /* last term checked for Leader Completeness */
};

struct append_rec {
	uint64_t value;
	size_t key;
	uint64_t t_inv, t_ack; /* t_ack 0: not acknowledged */
};

struct read_rec {
	size_t key;
	uint64_t t_inv, t_ok;
	uint64_t *vals;
	size_t n;
};

struct client {
	uint64_t id;
	uint64_t seq;
	bool busy;
	bool is_read;
	int reg; /* 0: a list operation; RAFT_KV_SET/CAS/GET: a register operation on r<key> */
	size_t key;
	uint64_t value;
	size_t rec; /* index into appends or reads */
	uint64_t next_at;  /* idle: when to issue; busy: when to (re)send */
	uint64_t deadline; /* busy: give up on this attempt and retry */
	raft_id target;
	bool sent;         /* busy: the current attempt reached a node */
};

/* index -> (term, hash) for State Machine Safety */
struct applied_rec {
	raft_term term;
	uint64_t hash;
};

/* (index, term) -> (prev_term, hash) for Log Matching */
struct lm_slot {
	raft_index index;
	raft_term term;
	raft_term prev_term;
	uint64_t hash;
	bool used;
	bool prev_known;
};

struct sim {
	const struct sim_config *cfg;
	struct sim_result *res;
	struct rng rng;
	uint64_t now;
	uint64_t order;
	bool faults; /* fault phase */
	struct node nodes[SIM_MAX_NODES];
	size_t n;
	struct heap net;
	struct client *clients;
	struct append_rec *apps;
	size_t n_apps, cap_apps;
	struct read_rec *reads;
	size_t n_reads, cap_reads;
	struct applied_rec *applied;
	size_t cap_applied;
	raft_index max_applied;
	raft_id *term_leader; /* term -> leader id */
	size_t cap_terms;
	struct lm_slot *lm;
	size_t lm_cap, lm_used;
	uint64_t next_crash, next_partition, heal_at, next_crashpoint, next_transfer, next_pause;
	int oom;
	char errbuf[256];
};

static void trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct sim *s, const char *fmt, ...)
{
	if (!s->cfg->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(s->cfg->trace, "%8llu ", (unsigned long long)s->now);
	vfprintf(s->cfg->trace, fmt, ap);
	fputc('\n', s->cfg->trace);
	va_end(ap);
}

static void violation(struct sim *s, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void violation(struct sim *s, int kind, const char *fmt, ...)
{
	if (s->res->violation)
		return;
	s->res->violation = kind;
	s->res->at_ms = s->now;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->res->detail, sizeof(s->res->detail), fmt, ap);
	va_end(ap);
	trace(s, "VIOLATION %s: %s", sim_violation_name(kind), s->res->detail);
}

/* Grown arrays are zeroed: applied[] and term_leader[] are indexed, and a zero means
 * "nothing seen yet" for the slots in between. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return array_grow_zero(p, cap, need, elem, 16);
}

/* ---- safety checks ---- */

static void check_log_matching(struct sim *s, struct node *nd, const struct raft_entry *e,
			       bool prev_known, raft_term prev_term)
{
	if (s->lm_used * 2 >= s->lm_cap) {
		size_t nc = s->lm_cap ? s->lm_cap * 2 : 1024;
		struct lm_slot *nv = calloc(nc, sizeof(*nv));
		if (!nv) {
			s->oom = 1;
			return;
		}
		for (size_t i = 0; i < s->lm_cap; i++) {
			if (!s->lm[i].used)
				continue;
			size_t j = (size_t)((s->lm[i].index * 31 + s->lm[i].term) * 0x9e3779b97f4a7c15ull) &
				   (nc - 1);
			while (nv[j].used)
				j = (j + 1) & (nc - 1);
			nv[j] = s->lm[i];
		}
		free(s->lm);
		s->lm = nv;
		s->lm_cap = nc;
	}
	uint64_t h = entry_hash(e);
	size_t j = (size_t)((e->index * 31 + e->term) * 0x9e3779b97f4a7c15ull) & (s->lm_cap - 1);
	while (s->lm[j].used) {
		struct lm_slot *sl = &s->lm[j];
		if (sl->index == e->index && sl->term == e->term) {
			if (sl->hash != h)
				violation(s, SIM_LOG_MATCHING,
					  "node %u: entry %llu of term %llu differs from the one another "
					  "node holds at the same index and term",
					  nd->id, (unsigned long long)e->index,
					  (unsigned long long)e->term);
			if (prev_known && sl->prev_known && sl->prev_term != prev_term)
				violation(s, SIM_LOG_MATCHING,
					  "node %u: entry %llu term %llu follows term %llu, another "
					  "node's follows term %llu",
					  nd->id, (unsigned long long)e->index,
					  (unsigned long long)e->term, (unsigned long long)prev_term,
					  (unsigned long long)sl->prev_term);
			if (prev_known && !sl->prev_known) {
				sl->prev_known = true;
				sl->prev_term = prev_term;
			}
			return;
		}
		j = (j + 1) & (s->lm_cap - 1);
	}
	s->lm[j] = (struct lm_slot){.index = e->index,
				    .term = e->term,
				    .prev_term = prev_term,
				    .hash = h,
				    .used = true,
				    .prev_known = prev_known};
	s->lm_used++;
}

static void check_applied(struct sim *s, struct node *nd, const struct raft_entry *e)
{
	if (grow((void **)&s->applied, &s->cap_applied, (size_t)e->index + 1,
		 sizeof(*s->applied))) {
		s->oom = 1;
		return;
	}
	struct applied_rec *a = &s->applied[e->index];
	uint64_t h = entry_hash(e);
	if (a->term == 0) {
		a->term = e->term;
		a->hash = h;
		if (e->index > s->max_applied)
			s->max_applied = e->index;
		return;
	}
	if (a->term != e->term || a->hash != h)
		violation(s, SIM_STATE_MACHINE_SAFETY,
			  "node %u applied entry %llu of term %llu, another node applied one of term "
			  "%llu at that index",
			  nd->id, (unsigned long long)e->index, (unsigned long long)e->term,
			  (unsigned long long)a->term);
}

static void check_leaders(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (!nd->alive)
			continue;
		struct raft_status st;
		raft_status(nd->core, &st);
		if (st.term > s->res->max_term)
			s->res->max_term = st.term;
		if (st.role != RAFT_LEADER)
			continue;
		if (grow((void **)&s->term_leader, &s->cap_terms, (size_t)st.term + 1,
			 sizeof(*s->term_leader))) {
			s->oom = 1;
			return;
		}
		raft_id *tl = &s->term_leader[st.term];
		if (*tl && *tl != nd->id)
			violation(s, SIM_ELECTION_SAFETY, "nodes %u and %u are both leaders of term %llu",
				  *tl, nd->id, (unsigned long long)st.term);
		*tl = nd->id;
		if (nd->seen_leader_term == st.term)
			continue;
		nd->seen_leader_term = st.term;
		trace(s, "node %u leader term %llu last %llu", nd->id, (unsigned long long)st.term,
		      (unsigned long long)st.last_index);
		/* Leader Completeness: every entry applied anywhere (hence committed) before it
		 * took office is in its log. Entries covered by its snapshot are not visible. */
		for (raft_index x = 1; x <= s->max_applied; x++) {
			const struct applied_rec *a = &s->applied[x];
			if (!a->term || a->term >= st.term)
				continue;
			if (x <= st.snapshot_index)
				continue;
			const struct raft_entry *e = raft_log_entry(nd->core, x);
			if (!e && x < st.first_index)
				continue;
			if (!e || e->term != a->term || entry_hash(e) != a->hash) {
				violation(s, SIM_LEADER_COMPLETENESS,
					  "node %u leads term %llu without committed entry %llu of term "
					  "%llu (it has %s)",
					  nd->id, (unsigned long long)st.term, (unsigned long long)x,
					  (unsigned long long)a->term, e ? "another entry" : "nothing");
				break;
			}
		}
	}
}

/* ---- clients ---- */

static uint64_t value_of(size_t client, uint64_t seq)
{
	return (uint64_t)(client + 1) * 1000000ull + seq;
}

static void client_schedule(struct sim *s, struct client *c)
{
	c->busy = false;
	c->next_at = s->now + rrange(&s->rng, s->cfg->think_min_ms, s->cfg->think_max_ms);
}

static raft_id random_node(struct sim *s)
{
	return s->nodes[rnd(&s->rng) % s->n].id;
}

static void client_start(struct sim *s, size_t ci)
{
	struct client *c = &s->clients[ci];
	c->seq++;
	c->busy = true;
	c->is_read = chance(&s->rng, s->cfg->read_pm);
	c->key = rnd(&s->rng) % s->cfg->n_keys;
	c->next_at = s->now;
	c->sent = false;
	c->reg = 0;
	if (!c->target)
		c->target = random_node(s);
	if (chance(&s->rng, s->cfg->register_pm)) {
		/* registers exercise SET/CAS/GET and deduplicated retries; the final states are
		 * compared between nodes, single operations are not checked */
		static const int ops[] = {RAFT_KV_SET, RAFT_KV_CAS, RAFT_KV_GET};
		c->reg = ops[rnd(&s->rng) % 3];
		c->is_read = c->reg == RAFT_KV_GET;
		c->value = value_of(ci, c->seq);
		return;
	}
	if (c->is_read) {
		if (grow((void **)&s->reads, &s->cap_reads, s->n_reads + 1, sizeof(*s->reads))) {
			s->oom = 1;
			return;
		}
		c->rec = s->n_reads++;
		s->reads[c->rec] = (struct read_rec){.key = c->key, .t_inv = s->now};
	} else {
		if (grow((void **)&s->apps, &s->cap_apps, s->n_apps + 1, sizeof(*s->apps))) {
			s->oom = 1;
			return;
		}
		c->value = value_of(ci, c->seq);
		c->rec = s->n_apps++;
		s->apps[c->rec] = (struct append_rec){.value = c->value, .key = c->key, .t_inv = s->now};
		s->res->appends_sent++;
	}
}

static void crash_node(struct sim *s, struct node *nd, const char *why);

static bool running(const struct sim *s, const struct node *nd)
{
	return nd->alive && nd->paused_until <= s->now;
}

static int encode_op(struct client *c, unsigned char **buf, size_t *len)
{
	char k[32], v[32], v2[32];
	int kl = snprintf(k, sizeof(k), "%s%zu", c->reg ? "r" : "k", c->key);
	if (c->reg) {
		int vl = snprintf(v, sizeof(v), "%llu", (unsigned long long)c->value);
		int vl2 = snprintf(v2, sizeof(v2), "%llu", (unsigned long long)(c->value - 1));
		struct raft_kv_str a[3] = {{(const unsigned char *)k, (size_t)kl},
					   {(const unsigned char *)v2, (size_t)vl2},
					   {(const unsigned char *)v, (size_t)vl}};
		if (c->reg == RAFT_KV_GET)
			return raft_kv_encode_args(RAFT_KV_GET, a, 1, buf, len, NULL, 0);
		if (c->reg == RAFT_KV_SET) {
			a[1] = a[2];
			return raft_kv_encode_args(RAFT_KV_SET, a, 2, buf, len, NULL, 0);
		}
		return raft_kv_encode_args(RAFT_KV_CAS, a, 3, buf, len, NULL, 0);
	}
	if (c->is_read) {
		struct raft_kv_str a[3] = {{(const unsigned char *)k, (size_t)kl},
					   {(const unsigned char *)"0", 1},
					   {(const unsigned char *)"-1", 2}};
		return raft_kv_encode_args(RAFT_KV_LRANGE, a, 3, buf, len, NULL, 0);
	}
	int vl = snprintf(v, sizeof(v), "%llu", (unsigned long long)c->value);
	struct raft_kv_str a[2] = {{(const unsigned char *)k, (size_t)kl},
				   {(const unsigned char *)v, (size_t)vl}};
	return raft_kv_encode_args(RAFT_KV_RPUSH, a, 2, buf, len, NULL, 0);
}

static struct node *node_by_id(struct sim *s, raft_id id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->nodes[i].id == id)
			return &s->nodes[i];
	return NULL;
}

static void after_call(struct sim *s, struct node *nd, int rc, const char *what)
{
	if (rc == SB_ENOMEM) {
		s->oom = 1;
		return;
	}
	if (rc)
		violation(s, SIM_CORE_ERROR, "node %u: %s failed: %s", nd->id, what, s->errbuf);
	if (nd->crash_now)
		crash_node(s, nd, nd->armed ? nd->armed : "crash point");
}

static void client_send(struct sim *s, size_t ci)
{
	struct client *c = &s->clients[ci];
	struct node *nd = node_by_id(s, c->target);
	c->deadline = s->now + s->cfg->client_timeout_ms;
	c->next_at = UINT64_MAX;
	if (!nd || !nd->alive) {
		/* connection refused: try another node soon */
		c->target = random_node(s);
		c->next_at = s->now + 5;
		return;
	}
	if (!running(s, nd)) {
		/* the request waits in the paused process's socket */
		c->next_at = nd->paused_until;
		return;
	}
	unsigned char *buf;
	size_t len;
	if (encode_op(c, &buf, &len)) {
		s->oom = 1;
		return;
	}
	uint64_t req = ((uint64_t)ci << 40) | c->seq;
	int rc;
	if (c->is_read)
		rc = raft_read(nd->core, req, buf, len, s->errbuf, sizeof(s->errbuf));
	else
		rc = raft_propose(nd->core, req, c->id, c->seq, buf, len, s->errbuf,
				  sizeof(s->errbuf));
	free(buf);
	c->sent = true;
	after_call(s, nd, rc, c->is_read ? "read" : "propose");
}

static uint64_t parse_u64(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	return v;
}

static void client_reply(struct sim *s, struct node *nd, const struct raft_reply *rp)
{
	size_t ci = (size_t)(rp->req_id >> 40);
	uint64_t seq = rp->req_id & ((1ull << 40) - 1);
	if (ci >= s->cfg->n_clients)
		return;
	struct client *c = &s->clients[ci];
	if (!c->busy || c->seq != seq)
		return; /* a reply to an attempt we gave up on */
	if (rp->status == RAFT_REPLY_NOT_LEADER) {
		c->target = rp->leader_hint ? rp->leader_hint : random_node(s);
		c->sent = false;
		c->next_at = s->now + 1;
		return;
	}
	if (rp->status == RAFT_REPLY_DROPPED) {
		c->target = random_node(s);
		c->sent = false;
		c->next_at = s->now + 1;
		return;
	}
	c->target = nd->id; /* it answered as leader: stay with it */
	if (c->reg) {
		int k = rp->result.kind;
		bool ok = c->reg == RAFT_KV_SET   ? k == RAFT_KV_RES_OK
			  : c->reg == RAFT_KV_CAS ? k == RAFT_KV_RES_INT && rp->result.integer >= 0 &&
							rp->result.integer <= 1
						  : k == RAFT_KV_RES_BULK || k == RAFT_KV_RES_NIL;
		if (!ok) {
			violation(s, SIM_CORE_ERROR, "node %u: register op %d answered with kind %d",
				  nd->id, c->reg, k);
			return;
		}
		s->res->register_ops_ok++;
	} else if (c->is_read) {
		struct read_rec *r = &s->reads[c->rec];
		if (rp->result.kind != RAFT_KV_RES_ARRAY) {
			violation(s, SIM_CORE_ERROR, "node %u: LRANGE answered with result kind %d",
				  nd->id, rp->result.kind);
			return;
		}
		r->t_ok = s->now;
		r->n = rp->result.n_items;
		r->vals = calloc(r->n ? r->n : 1, sizeof(*r->vals));
		if (!r->vals) {
			s->oom = 1;
			return;
		}
		for (size_t i = 0; i < r->n; i++)
			r->vals[i] = parse_u64(rp->result.items[i], rp->result.item_lens[i]);
		s->res->reads_ok++;
	} else {
		if (rp->result.kind != RAFT_KV_RES_INT) {
			violation(s, SIM_CORE_ERROR, "node %u: RPUSH answered with result kind %d",
				  nd->id, rp->result.kind);
			return;
		}
		s->apps[c->rec].t_ack = s->now;
		s->res->appends_acked++;
	}
	client_schedule(s, c);
}

/* ---- node lifecycle ---- */

static void crash_hook(void *ctx, const char *point)
{
	struct node *nd = ctx;
	if (!nd->armed || strcmp(nd->armed, point) != 0)
		return;
	if (--nd->armed_hits > 0)
		return;
	nd->crash_now = true;
	nd->sim->res->crashpoints_hit++;
}

static void log_hook(void *ctx, int level, raft_term term, const char *line)
{
	struct node *nd = ctx;
	if (level >= 1)
		trace(nd->sim, "node %u term %llu %s", nd->id, (unsigned long long)term, line);
}

static void core_config(struct sim *s, struct node *nd, struct raft_config *rc)
{
	const struct sim_config *c = s->cfg;
	raft_config_init(rc);
	rc->self = nd->id;
	rc->n_nodes = s->n;
	for (size_t i = 0; i < s->n; i++) {
		rc->nodes[i].id = s->nodes[i].id;
		rc->nodes[i].priority = (int)(i % 3);
	}
	rc->election_timeout_min_ms = c->election_min_ms;
	rc->election_timeout_max_ms = c->election_max_ms;
	rc->heartbeat_ms = c->heartbeat_ms;
	rc->pre_vote = c->pre_vote;
	rc->check_quorum = c->check_quorum;
	rc->snapshot_every = c->snapshot_every;
	rc->snapshot_trailing = c->snapshot_trailing;
	rc->snapshot_chunk = c->snapshot_chunk;
	rc->max_append_entries = c->max_append_entries;
	rc->max_inflight = c->max_inflight;
	rc->bugs = c->bugs;
	rc->seed = rnd(&s->rng);
	rc->crash = crash_hook;
	rc->crash_ctx = nd;
	if (c->trace) {
		rc->log = log_hook;
		rc->log_ctx = nd;
	}
}

static int start_node(struct sim *s, struct node *nd)
{
	struct raft_config rc;
	core_config(s, nd, &rc);
	struct raft_persisted ps = {0};
	ps.hs = nd->store.hs;
	ps.snapshot = nd->store.snap;
	ps.entries = nd->store.log;
	ps.n_entries = nd->store.n;
	char err[256];
	int r = raft_create(&rc, &ps, s->now, &nd->core, err, sizeof(err));
	if (r) {
		if (r == SB_ENOMEM)
			return r;
		violation(s, SIM_CORE_ERROR, "node %u: restart failed: %s", nd->id, err);
		return 0;
	}
	nd->alive = true;
	nd->crash_now = false;
	nd->armed = NULL;
	nd->seen_leader_term = 0;
	return 0;
}

static void crash_node(struct sim *s, struct node *nd, const char *why)
{
	if (!nd->alive)
		return;
	trace(s, "node %u crash (%s)", nd->id, why);
	raft_destroy(nd->core);
	nd->core = NULL;
	nd->alive = false;
	nd->paused_until = 0;
	nd->crash_now = false;
	nd->armed = NULL;
	nd->restart_at = s->now + rrange(&s->rng, s->cfg->restart_min_ms, s->cfg->restart_max_ms);
	s->res->crashes++;
}

/* Apply a ready's persistence part to the node's simulated disk (raft.h THE LOOP step 1). */
/* Steps of a ready's persistence, in the order of raft.h; `steps` of them are carried out (a
 * crash in the middle of step 1 of THE LOOP loses the rest): 0 snapshot, 1 hard state,
 * 2 truncation, 3 compaction, 4 + i entry i. */
static void persist(struct sim *s, struct node *nd, const struct raft_ready *rd, size_t steps)
{
	struct store *st = &nd->store;
	if (steps == 0)
		return;
	if (rd->snapshot) {
		unsigned char *d = dup_bytes(rd->snapshot->data, rd->snapshot->len);
		if (!d) {
			s->oom = 1;
			return;
		}
		free(st->snap.data);
		st->snap = *rd->snapshot;
		st->snap.data = d;
		/* Like node/storage: a log that does not hold the snapshot's last entry (nor start
		 * right after it) is superseded by the snapshot. */
		bool match = st->n && st->log[0].index == st->snap.index + 1;
		for (size_t i = 0; i < st->n && !match; i++)
			match = st->log[i].index == st->snap.index && st->log[i].term == st->snap.term;
		if (!match) {
			for (size_t i = 0; i < st->n; i++)
				free(st->log[i].data);
			st->n = 0;
		}
	}
	if (steps <= 1)
		return;
	if (rd->hs_changed)
		st->hs = rd->hs;
	if (steps <= 2)
		return;
	if (rd->truncate_from) {
		size_t keep = 0;
		while (keep < st->n && st->log[keep].index < rd->truncate_from)
			keep++;
		for (size_t i = keep; i < st->n; i++)
			free(st->log[i].data);
		st->n = keep;
	}
	if (steps <= 3)
		return;
	if (rd->compact_upto) {
		if (rd->compact_upto > st->snap.index) {
			violation(s, SIM_CORE_ERROR,
				  "node %u: asked to compact to %llu beyond its durable snapshot %llu",
				  nd->id, (unsigned long long)rd->compact_upto,
				  (unsigned long long)st->snap.index);
			return;
		}
		size_t drop = 0;
		while (drop < st->n && st->log[drop].index <= rd->compact_upto)
			drop++;
		for (size_t i = 0; i < drop; i++)
			free(st->log[i].data);
		if (drop) {
			memmove(st->log, st->log + drop, (st->n - drop) * sizeof(*st->log));
			st->n -= drop;
		}
	}
	for (size_t i = 0; i < rd->n_entries && i + 4 < steps; i++) {
		const struct raft_entry *e = &rd->entries[i];
		raft_index want = st->n ? st->log[st->n - 1].index + 1 : st->snap.index + 1;
		if (e->index != want) {
			violation(s, SIM_CORE_ERROR,
				  "node %u: asked to append entry %llu where the log continues at %llu",
				  nd->id, (unsigned long long)e->index, (unsigned long long)want);
			return;
		}
		if (grow((void **)&st->log, &st->cap, st->n + 1, sizeof(*st->log))) {
			s->oom = 1;
			return;
		}
		st->log[st->n] = *e;
		st->log[st->n].data = dup_bytes(e->data, e->len);
		if (!st->log[st->n].data) {
			s->oom = 1;
			return;
		}
		st->n++;
	}
}

static bool connected(struct sim *s, raft_id a, raft_id b)
{
	struct node *x = node_by_id(s, a), *y = node_by_id(s, b);
	return x && y && x->group == y->group;
}

static void net_send(struct sim *s, const struct raft_msg *m)
{
	if (!connected(s, m->from, m->to))
		return;
	if (s->faults && chance(&s->rng, s->cfg->drop_pm))
		return;
	int copies = 1 + (s->faults && chance(&s->rng, s->cfg->dup_pm));
	for (int k = 0; k < copies; k++) {
		struct flight f = {0};
		uint64_t d = rrange(&s->rng, s->cfg->delay_min_ms, s->cfg->delay_max_ms);
		if (s->faults && chance(&s->rng, s->cfg->long_delay_pm))
			d = rrange(&s->rng, s->cfg->delay_max_ms, 10ull * s->cfg->delay_max_ms);
		if (d < 1)
			d = 1;
		f.at = s->now + d;
		f.order = s->order++;
		if (msg_copy(&f.m, m) || heap_push(&s->net, &f)) {
			msg_free(&f.m);
			s->oom = 1;
			return;
		}
	}
}

/* THE LOOP of raft.h, steps 1-5, until the node has nothing more to do. */
static void drive(struct sim *s, struct node *nd)
{
	for (int guard = 0; running(s, nd) && raft_has_ready(nd->core); guard++) {
		if (guard == 64) {
			/* a shell loops while raft_has_ready(): it must become false */
			violation(s, SIM_CORE_ERROR, "node %u: still has a ready after 64 rounds",
				  nd->id);
			return;
		}
		struct raft_ready rd;
		int rc = raft_ready(nd->core, &rd);
		if (rc) {
			s->oom = rc == SB_ENOMEM;
			if (!s->oom)
				violation(s, SIM_CORE_ERROR, "node %u: raft_ready failed", nd->id);
			return;
		}
		for (size_t i = 0; i < rd.n_entries; i++) {
			const struct raft_entry *e = &rd.entries[i];
			bool pk = false;
			raft_term pt = 0;
			if (i > 0) {
				pk = true;
				pt = rd.entries[i - 1].term;
			} else {
				const struct raft_entry *p = raft_log_entry(nd->core, e->index - 1);
				struct raft_status st;
				raft_status(nd->core, &st);
				if (p) {
					pk = true;
					pt = p->term;
				} else if (e->index - 1 == st.first_index - 1 &&
					   e->index - 1 == st.snapshot_index) {
					pk = true;
					pt = st.snapshot_term;
				} else if (e->index == 1) {
					pk = true;
					pt = 0;
				}
			}
			check_log_matching(s, nd, e, pk, pt);
		}
		for (size_t i = 0; i < rd.n_applied; i++)
			check_applied(s, nd, &rd.applied[i]);
		if (rd.snapshot && rd.snapshot->index && rd.snapshot->term)
			trace(s, "node %u persists snapshot %llu", nd->id,
			      (unsigned long long)rd.snapshot->index);
		/* raftnode's one deviation from THE LOOP (node/server.c): a leader whose ready
		 * changes neither term, vote, snapshot nor log prefix sends its AppendEntries and
		 * its replies before its own fsync (thesis §10.2.1) */
		bool early = false;
		if (s->cfg->early_leader_send) {
			struct raft_status st;
			raft_status(nd->core, &st);
			early = st.role == RAFT_LEADER && !rd.hs_changed && !rd.snapshot &&
				!rd.truncate_from && rd.n_entries;
		}
		if (early) {
			for (size_t i = 0; i < rd.n_msgs; i++)
				if (rd.msgs[i].type == RAFT_MSG_APPEND)
					net_send(s, &rd.msgs[i]);
			for (size_t i = 0; i < rd.n_replies; i++)
				client_reply(s, nd, &rd.replies[i]);
		}
		if (s->faults && chance(&s->rng, s->cfg->crash_mid_persist_pm)) {
			/* torn persistence: the node dies part way through step 1 */
			size_t steps = (size_t)rrange(&s->rng, 0, 4 + rd.n_entries);
			persist(s, nd, &rd, steps);
			crash_node(s, nd, "mid-persist");
			return;
		}
		persist(s, nd, &rd, SIZE_MAX);
		rc = raft_persisted(nd->core);
		after_call(s, nd, rc, "persisted");
		if (!nd->alive)
			return; /* crashed inside raft_persisted: nothing is sent */
		if (s->faults) {
			struct raft_status st;
			raft_status(nd->core, &st);
			bool lead = st.role == RAFT_LEADER;
			if ((lead && rd.n_entries && chance(&s->rng, s->cfg->crash_before_send_pm)) ||
			    (lead && rd.n_applied && chance(&s->rng, s->cfg->crash_after_commit_pm))) {
				crash_node(s, nd, rd.n_applied ? "after commit" : "before send");
				return;
			}
		}
		bool voted = false;
		for (size_t i = 0; i < rd.n_msgs; i++) {
			if (!early || rd.msgs[i].type != RAFT_MSG_APPEND)
				net_send(s, &rd.msgs[i]);
			voted |= rd.msgs[i].type == RAFT_MSG_VOTE_RESP && rd.msgs[i].success;
		}
		for (size_t i = 0; i < rd.n_replies && !early; i++)
			client_reply(s, nd, &rd.replies[i]);
		raft_advance(nd->core);
		if (nd->crash_now) { /* the "vote-after-send" crash point */
			crash_node(s, nd, nd->armed ? nd->armed : "crash point");
			return;
		}
		if (voted && s->faults && chance(&s->rng, s->cfg->crash_after_vote_pm)) {
			crash_node(s, nd, "after vote");
			return;
		}
	}
}

/* ---- faults ---- */

static struct node *current_leader(struct sim *s)
{
	struct node *best = NULL;
	raft_term bt = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (!nd->alive)
			continue;
		struct raft_status st;
		raft_status(nd->core, &st);
		if (st.role == RAFT_LEADER && st.term >= bt) {
			best = nd;
			bt = st.term;
		}
	}
	return best;
}

static struct node *pick_victim(struct sim *s)
{
	struct node *l = current_leader(s);
	if (l && s->cfg->crash_leader_bias && chance(&s->rng, 700))
		return l;
	return &s->nodes[rnd(&s->rng) % s->n];
}

static uint64_t next_interval(struct sim *s, unsigned mean)
{
	if (!mean)
		return UINT64_MAX;
	return s->now + rrange(&s->rng, mean / 2, mean + mean / 2);
}

static void faults_due(struct sim *s)
{
	const struct sim_config *c = s->cfg;
	if (s->now >= s->next_crash) {
		s->next_crash = next_interval(s, c->crash_every_ms);
		struct node *v = pick_victim(s);
		size_t alive = 0;
		for (size_t i = 0; i < s->n; i++)
			alive += s->nodes[i].alive;
		if (v->alive && alive > 1)
			crash_node(s, v, "crash fault");
	}
	if (s->now >= s->heal_at) {
		for (size_t i = 0; i < s->n; i++)
			s->nodes[i].group = 0;
		s->heal_at = UINT64_MAX;
		trace(s, "heal");
	}
	if (s->now >= s->next_partition) {
		s->next_partition = next_interval(s, c->partition_every_ms);
		/* random split: isolate the leader, or a random cut */
		struct node *l = current_leader(s);
		int shape = (int)(rnd(&s->rng) % 3);
		for (size_t i = 0; i < s->n; i++)
			s->nodes[i].group = (int)(rnd(&s->rng) % 2);
		if (shape == 0 && l) {
			for (size_t i = 0; i < s->n; i++)
				s->nodes[i].group = 0;
			l->group = 1;
		} else if (shape == 1 && l && s->n >= 3) {
			/* leader with a minority buddy */
			for (size_t i = 0; i < s->n; i++)
				s->nodes[i].group = 0;
			l->group = 1;
			s->nodes[rnd(&s->rng) % s->n].group = 1;
		}
		s->heal_at = s->now + rrange(&s->rng, c->partition_min_ms, c->partition_max_ms);
		s->res->partitions++;
		if (s->cfg->trace) {
			char g[64] = {0};
			for (size_t i = 0; i < s->n && i < sizeof(g) - 1; i++)
				g[i] = (char)('0' + s->nodes[i].group);
			trace(s, "partition %s until %llu", g, (unsigned long long)s->heal_at);
		}
	}
	if (s->now >= s->next_crashpoint) {
		s->next_crashpoint = next_interval(s, c->crashpoint_every_ms);
		struct node *v = pick_victim(s);
		if (v->alive) {
			v->armed = raft_crash_points[rnd(&s->rng) % RAFT_CRASH_POINT_COUNT];
			v->armed_hits = (int)rrange(&s->rng, 1, 3);
			trace(s, "node %u arm %s hit %d", v->id, v->armed, v->armed_hits);
		}
	}
	if (s->now >= s->next_pause) {
		s->next_pause = next_interval(s, c->pause_every_ms);
		struct node *v = pick_victim(s);
		if (running(s, v)) {
			v->paused_until = s->now + rrange(&s->rng, c->pause_min_ms, c->pause_max_ms);
			s->res->pauses++;
			trace(s, "node %u pause until %llu", v->id, (unsigned long long)v->paused_until);
		}
	}
	if (s->now >= s->next_transfer) {
		s->next_transfer = next_interval(s, c->transfer_every_ms);
		struct node *l = current_leader(s);
		if (l) {
			raft_id target = chance(&s->rng, 500) ? 0 : random_node(s);
			int rc = raft_transfer(l->core, target, s->errbuf, sizeof(s->errbuf));
			if (rc == 0) {
				s->res->transfers++;
				trace(s, "node %u transfer to %u", l->id, target);
			} else if (rc == SB_ENOMEM) {
				s->oom = 1;
			}
		}
	}
}

/* ---- end checks ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static bool contains(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void final_checks(struct sim *s)
{
	const struct sim_config *c = s->cfg;
	/* every node's state is identical */
	uint64_t d0 = raft_kv_digest(raft_state_machine(s->nodes[0].core));
	for (size_t i = 1; i < s->n; i++) {
		uint64_t d = raft_kv_digest(raft_state_machine(s->nodes[i].core));
		if (d != d0) {
			violation(s, SIM_DIVERGED, "node %u's final state differs from node %u's",
				  s->nodes[i].id, s->nodes[0].id);
			return;
		}
	}
	for (size_t k = 0; k < c->n_keys && !s->res->violation; k++) {
		char key[32];
		int kl = snprintf(key, sizeof(key), "k%zu", k);
		struct raft_kv_str a[3] = {{(const unsigned char *)key, (size_t)kl},
					   {(const unsigned char *)"0", 1},
					   {(const unsigned char *)"-1", 2}};
		unsigned char *buf;
		size_t len;
		if (raft_kv_encode_args(RAFT_KV_LRANGE, a, 3, &buf, &len, NULL, 0)) {
			s->oom = 1;
			return;
		}
		struct raft_kv_result res;
		int rc = raft_kv_query(raft_state_machine(s->nodes[0].core), buf, len, &res);
		free(buf);
		if (rc) {
			s->oom = 1;
			return;
		}
		size_t n = res.n_items;
		uint64_t *fin = calloc(n ? n : 1, sizeof(*fin));
		uint64_t *sorted = calloc(n ? n : 1, sizeof(*sorted));
		if (!fin || !sorted) {
			free(fin);
			free(sorted);
			raft_kv_result_free(&res);
			s->oom = 1;
			return;
		}
		for (size_t i = 0; i < n; i++)
			fin[i] = sorted[i] = parse_u64(res.items[i], res.item_lens[i]);
		raft_kv_result_free(&res);
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
		for (size_t i = 1; i < n; i++)
			if (sorted[i] == sorted[i - 1])
				violation(s, SIM_DUPLICATE_WRITE, "value %llu is in list k%zu twice",
					  (unsigned long long)sorted[i], k);
		for (size_t i = 0; i < s->n_apps; i++) {
			const struct append_rec *ap = &s->apps[i];
			if (ap->key != k || !ap->t_ack)
				continue;
			if (!bsearch(&ap->value, sorted, n, sizeof(*sorted), cmp_u64))
				violation(s, SIM_LOST_WRITE,
					  "append of %llu to k%zu acknowledged at %llu ms is missing "
					  "from the final state",
					  (unsigned long long)ap->value, k,
					  (unsigned long long)ap->t_ack);
		}
		/* appends take effect in real-time order: one acknowledged before another began
		 * precedes it in the list */
		for (size_t i = 0; i < s->n_apps && !s->res->violation; i++) {
			const struct append_rec *x = &s->apps[i];
			if (x->key != k || !x->t_ack)
				continue;
			size_t pa = 0;
			while (pa < n && fin[pa] != x->value)
				pa++;
			for (size_t j = 0; j < s->n_apps; j++) {
				const struct append_rec *y = &s->apps[j];
				if (y->key != k || y->t_inv <= x->t_ack)
					continue;
				size_t pb = 0;
				while (pb < n && fin[pb] != y->value)
					pb++;
				if (pb < pa) {
					violation(s, SIM_STALE_READ,
						  "k%zu: %llu (acknowledged at %llu ms) comes after %llu "
						  "(begun at %llu ms) in the list",
						  k, (unsigned long long)x->value,
						  (unsigned long long)x->t_ack,
						  (unsigned long long)y->value,
						  (unsigned long long)y->t_inv);
					break;
				}
			}
		}
		/* reads: a prefix of the final list, holding every append acknowledged before the
		 * read began; and never shorter than a read that completed before it began */
		for (size_t i = 0; i < s->n_reads && !s->res->violation; i++) {
			const struct read_rec *r = &s->reads[i];
			if (r->key != k || !r->t_ok)
				continue;
			bool prefix = r->n <= n;
			for (size_t j = 0; prefix && j < r->n; j++)
				prefix = r->vals[j] == fin[j];
			if (!prefix) {
				violation(s, SIM_STALE_READ,
					  "read of k%zu [%llu..%llu ms] returned %zu values that are not a "
					  "prefix of the final list",
					  k, (unsigned long long)r->t_inv, (unsigned long long)r->t_ok,
					  r->n);
				break;
			}
			for (size_t j = 0; j < s->n_apps; j++) {
				const struct append_rec *ap = &s->apps[j];
				if (ap->key != k || !ap->t_ack || ap->t_ack >= r->t_inv)
					continue;
				if (!contains(r->vals, r->n, ap->value)) {
					violation(s, SIM_STALE_READ,
						  "read of k%zu [%llu..%llu ms] misses %llu, whose "
						  "append was acknowledged at %llu ms",
						  k, (unsigned long long)r->t_inv,
						  (unsigned long long)r->t_ok,
						  (unsigned long long)ap->value,
						  (unsigned long long)ap->t_ack);
					break;
				}
			}
			for (size_t j = 0; j < s->n_reads && !s->res->violation; j++) {
				const struct read_rec *q = &s->reads[j];
				if (q->key != k || !q->t_ok || q->t_ok >= r->t_inv)
					continue;
				if (q->n > r->n)
					violation(s, SIM_STALE_READ,
						  "read of k%zu [%llu..%llu ms] saw %zu values, an earlier "
						  "read [%llu..%llu ms] saw %zu",
						  k, (unsigned long long)r->t_inv,
						  (unsigned long long)r->t_ok, r->n,
						  (unsigned long long)q->t_inv,
						  (unsigned long long)q->t_ok, q->n);
			}
		}
		free(fin);
		free(sorted);
	}
}

static bool settled(struct sim *s)
{
	struct node *l = current_leader(s);
	if (!l)
		return false;
	struct raft_status ls;
	raft_status(l->core, &ls);
	if (ls.commit != ls.last_index)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (!nd->alive)
			return false;
		struct raft_status st;
		raft_status(nd->core, &st);
		if (st.term != ls.term || st.applied != ls.last_index || st.last_index != ls.last_index)
			return false;
	}
	for (size_t i = 0; i < s->cfg->n_clients; i++)
		if (s->clients[i].busy)
			return false;
	return true;
}

/* ---- main loop ---- */

static uint64_t next_event(struct sim *s, uint64_t end)
{
	uint64_t t = end;
	if (s->net.n && s->net.v[0].at < t)
		t = s->net.v[0].at;
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		uint64_t d = !nd->alive		   ? nd->restart_at
			     : nd->paused_until > s->now ? nd->paused_until
							 : raft_next_deadline(nd->core);
		if (d < t)
			t = d;
	}
	for (size_t i = 0; i < s->cfg->n_clients; i++) {
		struct client *c = &s->clients[i];
		uint64_t d = c->next_at;
		if (c->busy && c->sent && c->deadline < d)
			d = c->deadline;
		if (!c->busy && !s->faults)
			continue;
		if (d < t)
			t = d;
	}
	if (s->faults) {
		uint64_t f[] = {s->next_crash,	    s->next_partition, s->heal_at,
				s->next_crashpoint, s->next_transfer,  s->next_pause};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (f[i] < t)
				t = f[i];
	}
	return t > s->now ? t : s->now + 1;
}

static void step(struct sim *s)
{
	/* the time of this iteration, as a shell's loop does before handling events */
	for (size_t i = 0; i < s->n; i++)
		if (running(s, &s->nodes[i]))
			after_call(s, &s->nodes[i], raft_tick(s->nodes[i].core, s->now), "tick");
	/* deliver due messages */
	while (s->net.n && s->net.v[0].at <= s->now && !s->res->violation && !s->oom) {
		struct flight f;
		heap_pop(&s->net, &f);
		struct node *nd = node_by_id(s, f.m.to);
		if (nd && nd->alive && !running(s, nd) && connected(s, f.m.from, f.m.to)) {
			/* paused: the message waits in its socket */
			f.at = nd->paused_until;
			f.order = s->order++;
			if (heap_push(&s->net, &f)) {
				msg_free(&f.m);
				s->oom = 1;
			}
			continue;
		}
		if (nd && nd->alive && connected(s, f.m.from, f.m.to)) {
			s->res->msgs_delivered++;
			if (s->cfg->trace_msgs)
				trace(s, "msg %u->%u type %u term %llu prev %llu n %zu commit %llu ok %d match %llu off %llu len %zu si %llu",
				      f.m.from, f.m.to, f.m.type, (unsigned long long)f.m.term,
				      (unsigned long long)f.m.prev_index, f.m.n_entries,
				      (unsigned long long)f.m.commit, f.m.success,
				      (unsigned long long)f.m.match_index, (unsigned long long)f.m.offset, f.m.len,
				      (unsigned long long)f.m.snap_index);
			int rc = raft_step(nd->core, &f.m, s->errbuf, sizeof(s->errbuf));
			after_call(s, nd, rc, "step");
		}
		msg_free(&f.m);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (!nd->alive && nd->restart_at <= s->now) {
			trace(s, "node %u restart", nd->id);
			if (start_node(s, nd))
				s->oom = 1;
		}
	}
	if (s->faults)
		faults_due(s);
	for (size_t i = 0; i < s->cfg->n_clients; i++) {
		struct client *c = &s->clients[i];
		if (!c->busy) {
			if (s->faults && c->next_at <= s->now)
				client_start(s, i);
			else
				continue;
		}
		if (c->sent && c->deadline <= s->now) {
			/* timed out: retry elsewhere with the same sequence number */
			c->sent = false;
			c->target = random_node(s);
			c->next_at = s->now;
		}
		if (!c->sent && c->next_at <= s->now)
			client_send(s, i);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (running(s, nd)) {
			int rc = raft_tick(nd->core, s->now);
			after_call(s, nd, rc, "tick");
		}
	}
	for (size_t i = 0; i < s->n; i++)
		drive(s, &s->nodes[i]);
	/* date this iteration's timer resets (raft_tick), then hand out what that caused */
	for (size_t i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		if (!running(s, nd))
			continue;
		after_call(s, nd, raft_tick(nd->core, s->now), "tick");
		drive(s, nd);
	}
	check_leaders(s);
}

static void free_sim(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		raft_destroy(s->nodes[i].core);
		store_free(&s->nodes[i].store);
	}
	while (s->net.n) {
		struct flight f;
		heap_pop(&s->net, &f);
		msg_free(&f.m);
	}
	free(s->net.v);
	free(s->clients);
	free(s->apps);
	for (size_t i = 0; i < s->n_reads; i++)
		free(s->reads[i].vals);
	free(s->reads);
	free(s->applied);
	free(s->term_leader);
	free(s->lm);
}

int sim_run(const struct sim_config *cfg, struct sim_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	if (cfg->n_nodes < 1 || cfg->n_nodes > SIM_MAX_NODES)
		return err_set(err, errlen, SB_EINVAL, "sim: %zu nodes (want 1..%d)", cfg->n_nodes,
			       SIM_MAX_NODES);
	if (!cfg->n_keys || cfg->client_timeout_ms < 1)
		return err_set(err, errlen, SB_EINVAL, "sim: need keys and a client timeout");
	struct sim s = {0};
	int rc = 0;
	s.cfg = cfg;
	s.res = res;
	rng_seed(&s.rng, cfg->seed);
	s.n = cfg->n_nodes;
	s.faults = true;
	s.clients = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof(*s.clients));
	if (!s.clients) {
		rc = err_set(err, errlen, SB_ENOMEM, "sim: out of memory");
		goto out;
	}
	for (size_t i = 0; i < cfg->n_clients; i++) {
		s.clients[i].id = 1000 + i;
		s.clients[i].next_at = rrange(&s.rng, cfg->think_min_ms, cfg->think_max_ms) + 300;
	}
	for (size_t i = 0; i < s.n; i++) {
		s.nodes[i].sim = &s;
		s.nodes[i].id = (raft_id)(i + 1);
	}
	for (size_t i = 0; i < s.n; i++) {
		if (start_node(&s, &s.nodes[i])) {
			rc = err_set(err, errlen, SB_ENOMEM, "sim: out of memory");
			goto out;
		}
	}
	s.next_crash = next_interval(&s, cfg->crash_every_ms);
	s.next_partition = next_interval(&s, cfg->partition_every_ms);
	s.heal_at = UINT64_MAX;
	s.next_crashpoint = next_interval(&s, cfg->crashpoint_every_ms);
	s.next_transfer = next_interval(&s, cfg->transfer_every_ms);
	s.next_pause = next_interval(&s, cfg->pause_every_ms);

	/* fault phase */
	while (s.now < cfg->duration_ms && !res->violation && !s.oom) {
		s.now = next_event(&s, cfg->duration_ms);
		step(&s);
	}
	/* heal everything, restart everyone, stop faults and new requests; settle */
	s.faults = false;
	for (size_t i = 0; i < s.n; i++) {
		s.nodes[i].group = 0;
		s.nodes[i].armed = NULL;
		s.nodes[i].paused_until = 0;
		if (!s.nodes[i].alive)
			s.nodes[i].restart_at = s.now;
	}
	trace(&s, "heal all; settling");
	uint64_t end = s.now + cfg->settle_ms;
	while (!res->violation && !s.oom && !settled(&s)) {
		if (s.now >= end) {
			struct node *l = current_leader(&s);
			violation(&s, SIM_NO_PROGRESS,
				  "the healed cluster did not settle within %llu ms (leader %u)",
				  (unsigned long long)cfg->settle_ms, l ? l->id : 0);
			break;
		}
		s.now = next_event(&s, end);
		step(&s);
	}
	if (!res->violation && !s.oom)
		final_checks(&s);
	if (s.oom)
		rc = err_set(err, errlen, SB_ENOMEM, "sim: out of memory");
	for (size_t i = 0; i < s.n; i++)
		if (s.nodes[i].alive) {
			struct raft_status st;
			raft_status(s.nodes[i].core, &st);
			if (st.snapshot_index)
				res->snapshots_installed++;
		}
	res->end_ms = s.now;
out:
	free_sim(&s);
	return rc;
}

void sim_config_init(struct sim_config *cfg, uint64_t seed, size_t n_nodes)
{
	struct rng r;
	rng_seed(&r, seed ^ 0x5bd1e9955bd1e995ull);
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->n_nodes = n_nodes;
	cfg->duration_ms = 3000;
	cfg->settle_ms = 20000;
	cfg->drop_pm = (unsigned)rrange(&r, 0, 100);
	cfg->dup_pm = (unsigned)rrange(&r, 0, 50);
	cfg->delay_min_ms = 1;
	cfg->delay_max_ms = (unsigned)rrange(&r, 2, 20);
	cfg->long_delay_pm = (unsigned)rrange(&r, 0, 20);
	cfg->crash_every_ms = (unsigned)rrange(&r, 300, 1500);
	cfg->restart_min_ms = 10;
	cfg->restart_max_ms = (unsigned)rrange(&r, 50, 800);
	cfg->partition_every_ms = (unsigned)rrange(&r, 300, 1500);
	cfg->partition_min_ms = 50;
	cfg->partition_max_ms = (unsigned)rrange(&r, 200, 1200);
	cfg->crashpoint_every_ms = (unsigned)rrange(&r, 200, 1000);
	cfg->transfer_every_ms = (unsigned)rrange(&r, 0, 3) ? 0 : 700;
	cfg->pause_every_ms = (unsigned)rrange(&r, 0, 1) ? 0 : (unsigned)rrange(&r, 300, 1500);
	cfg->pause_min_ms = 20;
	cfg->pause_max_ms = (unsigned)rrange(&r, 100, 800);
	cfg->crash_leader_bias = rrange(&r, 0, 1);
	cfg->crash_before_send_pm = rrange(&r, 0, 2) ? 0 : (unsigned)rrange(&r, 1, 50);
	cfg->crash_after_commit_pm = rrange(&r, 0, 2) ? 0 : (unsigned)rrange(&r, 1, 50);
	cfg->crash_after_vote_pm = rrange(&r, 0, 2) ? 0 : (unsigned)rrange(&r, 1, 200);
	cfg->crash_mid_persist_pm = rrange(&r, 0, 2) ? 0 : (unsigned)rrange(&r, 1, 20);
	cfg->n_clients = (size_t)rrange(&r, 2, 5);
	cfg->n_keys = (size_t)rrange(&r, 1, 3);
	cfg->think_min_ms = 0;
	cfg->think_max_ms = (unsigned)rrange(&r, 5, 40);
	cfg->read_pm = (unsigned)rrange(&r, 200, 500);
	cfg->register_pm = (unsigned)rrange(&r, 0, 300);
	cfg->early_leader_send = rrange(&r, 0, 1);
	cfg->client_timeout_ms = 400;
	cfg->election_min_ms = 150;
	cfg->election_max_ms = 300;
	cfg->heartbeat_ms = 50;
	cfg->pre_vote = rrange(&r, 0, 3) != 0;
	cfg->check_quorum = rrange(&r, 0, 3) != 0;
	cfg->snapshot_every = rrange(&r, 0, 2) ? rrange(&r, 10, 60) : 0;
	cfg->snapshot_trailing = rrange(&r, 0, 8);
	cfg->snapshot_chunk = (size_t)rrange(&r, 16, 512);
	cfg->max_append_entries = (size_t)rrange(&r, 1, 64);
	cfg->max_inflight = (size_t)rrange(&r, 1, 8);
}

const char *sim_violation_name(int v)
{
	switch (v) {
	case SIM_OK:
		return "ok";
	case SIM_ELECTION_SAFETY:
		return "election-safety";
	case SIM_LOG_MATCHING:
		return "log-matching";
	case SIM_LEADER_COMPLETENESS:
		return "leader-completeness";
	case SIM_STATE_MACHINE_SAFETY:
		return "state-machine-safety";
	case SIM_LOST_WRITE:
		return "lost-write";
	case SIM_DUPLICATE_WRITE:
		return "duplicate-write";
	case SIM_DIVERGED:
		return "diverged";
	case SIM_STALE_READ:
		return "stale-read";
	case SIM_NO_PROGRESS:
		return "no-progress";
	case SIM_CORE_ERROR:
		return "core-error";
	}
	return "unknown";
}
