/* Unit tests of specific Raft rules in the core (node/raft.h), each driven message by message:
 * election restriction, Figure 8 commit rule, fast backtracking, pre-vote, check-quorum,
 * leadership transfer with priorities, InstallSnapshot, ReadIndex, deduplication of retried
 * writes, durable votes, crash-point hooks and rejection of malformed messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "node/raft.h"
#include "node/raft_kv.h"

/* ---- a tiny hand-driven cluster ---- */

#define TMAX 5

struct trep {
	uint64_t req_id;
	int status;
	raft_id hint;
	int kind;
	long long integer;
	size_t n_items;
};

struct cluster {
	size_t n;
	struct raft *r[TMAX + 1]; /* by id */
	bool isolated[TMAX + 1];
	uint64_t now;
	struct raft_msg *q;
	size_t qn, qcap;
	struct trep rep[512];
	size_t nrep;
	struct raft_hardstate hs[TMAX + 1]; /* last persisted hard state */
	size_t snaps_persisted[TMAX + 1];
	char crashes[64][48];
	size_t ncrash;
};

static void crash_rec(void *ctx, const char *point)
{
	struct cluster *c = ctx;
	if (c->ncrash < 64)
		snprintf(c->crashes[c->ncrash++], sizeof(c->crashes[0]), "%s", point);
}

static void base_cfg(struct raft_config *cfg, raft_id self, size_t n)
{
	raft_config_init(cfg);
	cfg->self = self;
	cfg->n_nodes = n;
	for (size_t i = 0; i < n; i++)
		cfg->nodes[i].id = (raft_id)(i + 1);
	cfg->seed = 42;
	cfg->pre_vote = false;
	cfg->check_quorum = false;
	cfg->snapshot_every = 0;
}

static unsigned char *dupb(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static void qpush(struct cluster *c, const struct raft_msg *m)
{
	if (c->qn == c->qcap) {
		c->qcap = c->qcap ? c->qcap * 2 : 64;
		c->q = realloc(c->q, c->qcap * sizeof(*c->q));
		assert_non_null(c->q);
	}
	struct raft_msg *d = &c->q[c->qn++];
	*d = *m;
	if (m->n_entries) {
		d->entries = calloc(m->n_entries, sizeof(*d->entries));
		assert_non_null(d->entries);
		for (size_t i = 0; i < m->n_entries; i++) {
			d->entries[i] = m->entries[i];
			d->entries[i].data = dupb(m->entries[i].data, m->entries[i].len);
		}
	}
	if (m->len)
		d->data = dupb(m->data, m->len);
}

static void msg_release(struct raft_msg *m)
{
	for (size_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free(m->data);
}

/* Run node id's ready loop; queue its messages (unless isolated), record its replies. */
static void drain(struct cluster *c, raft_id id)
{
	struct raft *r = c->r[id];
	while (r && raft_has_ready(r)) {
		struct raft_ready rd;
		assert_int_equal(raft_ready(r, &rd), 0);
		if (rd.hs_changed)
			c->hs[id] = rd.hs;
		if (rd.snapshot)
			c->snaps_persisted[id]++;
		assert_int_equal(raft_persisted(r), 0);
		for (size_t i = 0; i < rd.n_msgs; i++)
			qpush(c, &rd.msgs[i]);
		for (size_t i = 0; i < rd.n_replies && c->nrep < 512; i++) {
			const struct raft_reply *p = &rd.replies[i];
			c->rep[c->nrep++] = (struct trep){p->req_id, p->status, p->leader_hint,
							   p->result.kind, p->result.integer,
							   p->result.n_items};
		}
		raft_advance(r);
	}
}

static void drain_all(struct cluster *c)
{
	for (raft_id id = 1; id <= c->n; id++)
		drain(c, id);
}

/* Deliver queued messages (FIFO) until none are left; drop those touching isolated nodes. */
static void deliver(struct cluster *c)
{
	for (int rounds = 0; c->qn && rounds < 10000; rounds++) {
		struct raft_msg m = c->q[0];
		memmove(c->q, c->q + 1, (c->qn - 1) * sizeof(*c->q));
		c->qn--;
		if (!c->isolated[m.from] && !c->isolated[m.to] && c->r[m.to]) {
			char err[200];
			assert_int_equal(raft_step(c->r[m.to], &m, err, sizeof(err)), 0);
			drain(c, m.to);
		}
		msg_release(&m);
	}
}

static void drop_queue(struct cluster *c)
{
	for (size_t i = 0; i < c->qn; i++)
		msg_release(&c->q[i]);
	c->qn = 0;
}

static void run(struct cluster *c, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t++) {
		c->now++;
		for (raft_id id = 1; id <= c->n; id++)
			if (c->r[id])
				assert_int_equal(raft_tick(c->r[id], c->now), 0);
		drain_all(c);
		deliver(c);
	}
}

typedef void (*tweak_fn)(struct raft_config *cfg);

static void cluster_init(struct cluster *c, size_t n, tweak_fn tweak)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->now = 1000;
	for (raft_id id = 1; id <= n; id++) {
		struct raft_config cfg;
		base_cfg(&cfg, id, n);
		cfg.seed = 1000 + id * 7;
		cfg.crash = crash_rec;
		cfg.crash_ctx = c;
		if (tweak)
			tweak(&cfg);
		char err[200];
		assert_int_equal(raft_create(&cfg, NULL, c->now, &c->r[id], err, sizeof(err)), 0);
	}
}

static void cluster_free(struct cluster *c)
{
	drop_queue(c);
	free(c->q);
	for (raft_id id = 1; id <= c->n; id++)
		raft_destroy(c->r[id]);
}

static raft_id leader_of(struct cluster *c)
{
	raft_id best = 0;
	raft_term bt = 0;
	for (raft_id id = 1; id <= c->n; id++) {
		struct raft_status st;
		if (!c->r[id] || c->isolated[id])
			continue;
		raft_status(c->r[id], &st);
		if (st.role == RAFT_LEADER && st.term >= bt) {
			best = id;
			bt = st.term;
		}
	}
	return best;
}

static raft_id elect(struct cluster *c)
{
	for (int i = 0; i < 50 && !leader_of(c); i++)
		run(c, 100);
	raft_id l = leader_of(c);
	assert_true(l != 0);
	run(c, 120); /* let the no-op commit everywhere */
	return l;
}

static void encode(enum raft_kv_op op, const char *a, const char *b, const char *d,
		   unsigned char **buf, size_t *len)
{
	struct raft_kv_str args[3];
	size_t n = 0;
	const char *v[3] = {a, b, d};
	for (size_t i = 0; i < 3 && v[i]; i++)
		args[n++] = (struct raft_kv_str){(const unsigned char *)v[i], strlen(v[i])};
	assert_int_equal(raft_kv_encode_args(op, args, n, buf, len, NULL, 0), 0);
}

static void propose(struct cluster *c, raft_id id, uint64_t req, uint64_t client, uint64_t seq,
		    const char *key, const char *val)
{
	unsigned char *buf;
	size_t len;
	char err[200];
	encode(RAFT_KV_RPUSH, key, val, NULL, &buf, &len);
	assert_int_equal(raft_propose(c->r[id], req, client, seq, buf, len, err, sizeof(err)), 0);
	free(buf);
}

static void read_list(struct cluster *c, raft_id id, uint64_t req, const char *key)
{
	unsigned char *buf;
	size_t len;
	char err[200];
	encode(RAFT_KV_LRANGE, key, "0", "-1", &buf, &len);
	assert_int_equal(raft_read(c->r[id], req, buf, len, err, sizeof(err)), 0);
	free(buf);
}

static const struct trep *reply_for(struct cluster *c, uint64_t req)
{
	for (size_t i = 0; i < c->nrep; i++)
		if (c->rep[i].req_id == req)
			return &c->rep[i];
	return NULL;
}

static struct raft_status status_of(struct cluster *c, raft_id id)
{
	struct raft_status st;
	raft_status(c->r[id], &st);
	return st;
}

/* ---- single cores built from a persisted state ---- */

static struct raft *core_with_log(raft_id self, size_t n, raft_term term, const raft_term *terms,
				  size_t nlog, unsigned bugs)
{
	struct raft_entry e[16];
	assert_true(nlog <= 16);
	for (size_t i = 0; i < nlog; i++)
		e[i] = (struct raft_entry){.term = terms[i], .index = i + 1, .type = RAFT_ENTRY_NOOP};
	struct raft_persisted ps = {.hs = {.term = term}, .entries = e, .n_entries = nlog};
	struct raft_config cfg;
	base_cfg(&cfg, self, n);
	cfg.bugs = bugs;
	struct raft *r;
	char err[200];
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
	return r;
}

static struct raft_status status_of_core(struct raft *r)
{
	struct raft_status st;
	raft_status(r, &st);
	return st;
}

/* Drain a single core: hand back a copy of its last message of `type` to `to` (0 = any). */
static bool take_msg(struct raft *r, int type, raft_id to, struct raft_msg *out)
{
	bool found = false;
	while (raft_has_ready(r)) {
		struct raft_ready rd;
		assert_int_equal(raft_ready(r, &rd), 0);
		assert_int_equal(raft_persisted(r), 0);
		for (size_t i = 0; i < rd.n_msgs; i++) {
			if (rd.msgs[i].type != type || (to && rd.msgs[i].to != to))
				continue;
			if (found)
				free(out->entries);
			*out = rd.msgs[i];
			out->entries = NULL; /* entries not needed by callers */
			out->n_entries = rd.msgs[i].n_entries;
			out->data = NULL;
			found = true;
		}
		raft_advance(r);
	}
	return found;
}

static void make_leader(struct raft *r, size_t n)
{
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(raft_tick(r, 10000), 0); /* election timeout passes */
	raft_status(r, &st);
	assert_int_equal(st.role, RAFT_CANDIDATE);
	struct raft_msg dummy;
	take_msg(r, RAFT_MSG_VOTE, 0, &dummy);
	for (raft_id v = 1; v <= n && st.role != RAFT_LEADER; v++) {
		if (v == st.id)
			continue;
		struct raft_msg m = {.type = RAFT_MSG_VOTE_RESP, .from = v, .to = st.id,
				     .term = st.term, .success = true};
		assert_int_equal(raft_step(r, &m, NULL, 0), 0);
		raft_status(r, &st);
	}
	assert_int_equal(st.role, RAFT_LEADER);
}

/* ------------------------------------------------------------------------------------------ */

/* Raft §5.4.1: a voter denies its vote to a candidate whose log is less up-to-date. */
static void test_election_restriction(void **state)
{
	(void)state;
	const raft_term longer[] = {1, 1}, shorter[] = {1};
	struct raft *n1 = core_with_log(1, 3, 1, longer, 2, 0);
	struct raft *n2 = core_with_log(2, 3, 1, shorter, 1, 0);
	struct raft *n3 = core_with_log(3, 3, 1, shorter, 1, 0);
	assert_int_equal(raft_tick(n2, 10000), 0);
	struct raft_msg req;
	assert_true(take_msg(n2, RAFT_MSG_VOTE, 1, &req));
	assert_int_equal(req.term, 2);
	assert_int_equal(req.last_log_index, 1);

	struct raft_msg resp;
	assert_int_equal(raft_step(n1, &req, NULL, 0), 0);
	assert_true(take_msg(n1, RAFT_MSG_VOTE_RESP, 2, &resp));
	assert_false(resp.success); /* n1's log is longer */
	assert_int_equal(resp.term, 2);

	req.to = 3;
	assert_int_equal(raft_step(n3, &req, NULL, 0), 0);
	assert_true(take_msg(n3, RAFT_MSG_VOTE_RESP, 2, &resp));
	assert_true(resp.success); /* equal logs */

	/* With no-log-check, the longer log no longer protects n1's vote. */
	raft_destroy(n1);
	n1 = core_with_log(1, 3, 1, longer, 2, RAFT_BUG_NO_LOG_CHECK);
	req.to = 1;
	assert_int_equal(raft_step(n1, &req, NULL, 0), 0);
	assert_true(take_msg(n1, RAFT_MSG_VOTE_RESP, 2, &resp));
	assert_true(resp.success);
	raft_destroy(n1);
	raft_destroy(n2);
	raft_destroy(n3);
}

/* Raft §5.4.2 / Figure 8: a leader does not commit an entry of an earlier term by counting
 * replicas; it commits it together with an entry of its own term. */
static void figure8(unsigned bugs, raft_index expect_after_old_acks)
{
	const raft_term terms[] = {1, 2};
	struct raft *r = core_with_log(1, 5, 3, terms, 2, bugs);
	make_leader(r, 5); /* term 4, no-op at index 3 */
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.term, 4);
	assert_int_equal(st.last_index, 3);
	struct raft_msg dummy;
	take_msg(r, RAFT_MSG_APPEND, 0, &dummy); /* persist the no-op */
	/* Two followers store up to index 2 (the term-2 entry): with the leader, a majority. */
	for (raft_id f = 2; f <= 3; f++) {
		struct raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = f, .to = 1, .term = 4,
				     .success = true, .prev_index = 1, .match_index = 2};
		assert_int_equal(raft_step(r, &m, NULL, 0), 0);
	}
	raft_status(r, &st);
	assert_int_equal(st.commit, expect_after_old_acks);
	/* Once the term-4 entry is on a majority, everything up to it commits. */
	for (raft_id f = 2; f <= 3; f++) {
		struct raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = f, .to = 1, .term = 4,
				     .success = true, .prev_index = 2, .match_index = 3};
		assert_int_equal(raft_step(r, &m, NULL, 0), 0);
	}
	raft_status(r, &st);
	assert_int_equal(st.commit, 3);
	raft_destroy(r);
}

static void test_figure8_commit_rule(void **state)
{
	(void)state;
	figure8(0, 0);
	figure8(RAFT_BUG_COMMIT_OLD_TERM, 2); /* the bug commits the old entry at once */
}

/* cfg.max_append_entries (raftnode --max-append-entries) bounds the entries of one
 * AppendEntries. At 1 a new leader brings a follower the old-term entry it lacks in a message
 * of its own, ahead of the leader's no-op, as Figure 8 draws it: the follower's ack then
 * counts for the old entry alone. By default both travel in one message. */
static void test_max_append_entries(void **state)
{
	(void)state;
	const size_t limits[] = {1, 256};
	for (size_t k = 0; k < 2; k++) {
		struct raft_entry e[2] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
					  {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP}};
		struct raft_persisted ps = {.hs = {.term = 3}, .entries = e, .n_entries = 2};
		struct raft_config cfg;
		base_cfg(&cfg, 1, 3);
		cfg.max_append_entries = limits[k];
		struct raft *r;
		char err[200];
		assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
		make_leader(r, 3); /* term 4, its no-op at index 3 */
		struct raft_msg m;
		assert_true(take_msg(r, RAFT_MSG_APPEND, 2, &m));
		assert_int_equal(m.prev_index, 2); /* the probe: the no-op alone */
		assert_int_equal(m.n_entries, 1);
		/* node 2 holds index 1 only */
		struct raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 4,
				       .prev_index = 2, .match_index = 1, .conflict_index = 2};
		assert_int_equal(raft_step(r, &rej, NULL, 0), 0);
		assert_true(take_msg(r, RAFT_MSG_APPEND, 2, &m));
		assert_int_equal(m.prev_index, 1);
		assert_int_equal(m.n_entries, limits[k] == 1 ? 1 : 2);
		raft_destroy(r);
	}
	/* out of range: refused with the field named */
	struct raft_config cfg;
	base_cfg(&cfg, 1, 3);
	char err[200];
	cfg.max_append_entries = 0;
	assert_int_equal(raft_config_validate(&cfg, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "max_append_entries"));
	cfg.max_append_entries = RAFT_MAX_MSG_ENTRIES + 1;
	assert_int_equal(raft_config_validate(&cfg, err, sizeof(err)), SB_EINVAL);
}

/* Fast backtracking (thesis §5.3): the follower names the conflicting term and its first index;
 * the leader skips the whole term in one round trip. */
static void test_fast_backtracking(void **state)
{
	(void)state;
	/* follower: 1@1 2@2 3@2 4@2 */
	const raft_term ft[] = {1, 2, 2, 2};
	struct raft *f = core_with_log(2, 3, 2, ft, 4, 0);
	struct raft_msg app = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 3,
			       .prev_index = 4, .prev_term = 3};
	struct raft_msg resp;
	assert_int_equal(raft_step(f, &app, NULL, 0), 0);
	assert_true(take_msg(f, RAFT_MSG_APPEND_RESP, 1, &resp));
	assert_false(resp.success);
	assert_int_equal(resp.conflict_term, 2);
	assert_int_equal(resp.conflict_index, 2);
	assert_int_equal(resp.prev_index, 4);
	/* beyond its log: conflict_term 0, conflict_index = last + 1 */
	app.prev_index = 9;
	assert_int_equal(raft_step(f, &app, NULL, 0), 0);
	assert_true(take_msg(f, RAFT_MSG_APPEND_RESP, 1, &resp));
	assert_false(resp.success);
	assert_int_equal(resp.conflict_term, 0);
	assert_int_equal(resp.conflict_index, 5);
	raft_destroy(f);

	/* leader: 1@1 2@1 3@1 4@3 5@3, term 4 after election (no-op 6@4) */
	const raft_term lt[] = {1, 1, 1, 3, 3};
	struct raft *l = core_with_log(1, 3, 3, lt, 5, 0);
	make_leader(l, 3);
	struct raft_msg out;
	assert_true(take_msg(l, RAFT_MSG_APPEND, 2, &out));
	assert_int_equal(out.prev_index, 5); /* first probe at the end */
	/* follower has term 2 from index 2 on: the leader has no term 2 -> next = 2 */
	struct raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 4,
			       .prev_index = 5, .conflict_term = 2, .conflict_index = 2};
	assert_int_equal(raft_step(l, &rej, NULL, 0), 0);
	assert_true(take_msg(l, RAFT_MSG_APPEND, 2, &out));
	assert_int_equal(out.prev_index, 1);
	assert_int_equal(out.prev_term, 1);
	/* another follower whose entry at 5 has term 1: skip to after the leader's last term-1
	 * entry (index 3) */
	rej = (struct raft_msg){.type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 4,
				.prev_index = 5, .conflict_term = 1, .conflict_index = 2};
	assert_int_equal(raft_step(l, &rej, NULL, 0), 0);
	assert_true(take_msg(l, RAFT_MSG_APPEND, 3, &out));
	assert_int_equal(out.prev_index, 3);
	assert_int_equal(out.prev_term, 1);
	raft_destroy(l);
}

static void tweak_prevote(struct raft_config *cfg)
{
	cfg->pre_vote = true;
}

/* Pre-vote (thesis §9.6): a node cut off from a healthy cluster campaigns without raising its
 * term, so when it comes back it does not depose the leader. */
static void test_prevote_does_not_disrupt(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, tweak_prevote);
	raft_id l = elect(&c);
	raft_term t = status_of(&c, l).term;
	raft_id cut = l == 3 ? 2 : 3;
	c.isolated[cut] = true;
	run(&c, 2000); /* many election timeouts for the isolated node */
	struct raft_status cs = status_of(&c, cut);
	assert_int_equal(cs.term, t); /* pre-votes never raised its term */
	assert_true(cs.role == RAFT_PRECANDIDATE || cs.role == RAFT_FOLLOWER);
	c.isolated[cut] = false;
	run(&c, 500);
	assert_int_equal(leader_of(&c), l);
	assert_int_equal(status_of(&c, l).term, t);
	assert_int_equal(status_of(&c, cut).term, t);
	assert_int_equal(status_of(&c, cut).role, RAFT_FOLLOWER);
	cluster_free(&c);

	/* Without pre-vote the same isolation raises the term and deposes the leader. */
	cluster_init(&c, 3, NULL);
	l = elect(&c);
	t = status_of(&c, l).term;
	cut = l == 3 ? 2 : 3;
	c.isolated[cut] = true;
	run(&c, 2000);
	assert_true(status_of(&c, cut).term > t);
	c.isolated[cut] = false;
	run(&c, 1000);
	assert_true(status_of(&c, leader_of(&c)).term > t);
	cluster_free(&c);
}

static void tweak_cq(struct raft_config *cfg)
{
	cfg->check_quorum = true;
	cfg->pre_vote = true;
}

/* Check-quorum (thesis §6.2): a leader that hears from no majority for an election timeout
 * steps down. */
static void test_check_quorum_step_down(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, tweak_cq);
	raft_id l = elect(&c);
	run(&c, 1000);
	assert_int_equal(leader_of(&c), l); /* healthy: stays */
	c.isolated[l] = true;
	run(&c, 700); /* > 2 x the maximum election timeout */
	assert_int_not_equal(status_of(&c, l).role, RAFT_LEADER);
	cluster_free(&c);

	/* Without check-quorum the isolated leader keeps believing it leads. */
	cluster_init(&c, 3, NULL);
	l = elect(&c);
	c.isolated[l] = true;
	run(&c, 700);
	assert_int_equal(status_of(&c, l).role, RAFT_LEADER);
	cluster_free(&c);
}

static void tweak_priority(struct raft_config *cfg)
{
	cfg->check_quorum = true;
	cfg->pre_vote = true;
	for (size_t i = 0; i < cfg->n_nodes; i++)
		cfg->nodes[i].priority = cfg->nodes[i].id == 2 ? 5 : 1;
}

/* Leadership transfer (thesis §3.10): TimeoutNow makes the target campaign at once, and voters
 * grant it despite their leader lease; target 0 prefers the highest priority. */
static void test_transfer(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, tweak_priority);
	raft_id l = elect(&c);
	raft_term t = status_of(&c, l).term;
	raft_id target = l == 3 ? 1 : 3;
	if (target == 2)
		target = 1;
	char err[200];
	assert_int_equal(raft_transfer(c.r[l], target, err, sizeof(err)), 0);
	/* a second request while one runs is refused with a reason */
	assert_int_equal(raft_transfer(c.r[l], target, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "already"));
	/* writes are refused during the transfer */
	propose(&c, l, 77, 0, 0, "k", "v");
	drain_all(&c);
	assert_non_null(reply_for(&c, 77));
	assert_int_equal(reply_for(&c, 77)->status, RAFT_REPLY_NOT_LEADER);
	run(&c, 50);
	assert_int_equal(leader_of(&c), target);
	assert_int_equal(status_of(&c, target).term, t + 1);
	run(&c, 200);
	/* target 0: node 2 has the highest priority */
	raft_id now_leader = leader_of(&c);
	if (now_leader != 2) {
		assert_int_equal(raft_transfer(c.r[now_leader], 0, err, sizeof(err)), 0);
		run(&c, 50);
		assert_int_equal(leader_of(&c), 2);
	}
	/* a non-leader cannot transfer */
	raft_id f = leader_of(&c) == 1 ? 3 : 1;
	assert_int_equal(raft_transfer(c.r[f], 0, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "not the leader"));
	cluster_free(&c);
}

static void tweak_snap(struct raft_config *cfg)
{
	cfg->snapshot_every = 5;
	cfg->snapshot_trailing = 0;
	cfg->snapshot_chunk = 16;
}

/* Snapshots (Raft §7): a follower that missed compacted entries gets them by chunked
 * InstallSnapshot and ends with the same state. */
static void test_snapshot_install(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, tweak_snap);
	raft_id l = elect(&c);
	raft_id lag = l == 3 ? 2 : 3;
	c.isolated[lag] = true;
	char val[16];
	for (int i = 0; i < 30; i++) {
		snprintf(val, sizeof(val), "v%d", i);
		propose(&c, l, 100 + (uint64_t)i, 9, (uint64_t)i + 1, "list", val);
		run(&c, 5);
	}
	run(&c, 100);
	struct raft_status ls = status_of(&c, l);
	assert_true(ls.snapshot_index >= 25);
	assert_true(ls.first_index > status_of(&c, lag).last_index + 1); /* compacted past it */
	assert_true(c.snaps_persisted[l] >= 5);
	size_t before = c.snaps_persisted[lag];
	c.isolated[lag] = false;
	run(&c, 500);
	struct raft_status fs = status_of(&c, lag);
	assert_true(fs.snapshot_index >= 25);
	assert_int_equal(fs.applied, status_of(&c, l).applied);
	assert_true(c.snaps_persisted[lag] > before);
	assert_int_equal(raft_kv_digest(raft_state_machine(c.r[lag])),
			 raft_kv_digest(raft_state_machine(c.r[l])));
	for (int i = 0; i < 30; i++)
		assert_int_equal(reply_for(&c, 100 + (uint64_t)i)->status, RAFT_REPLY_OK);
	cluster_free(&c);
}

/* ReadIndex (thesis §6.4): the leader answers a read only after a heartbeat round acknowledged
 * by a majority; a follower redirects; the stale-read bug answers at once. */
static void test_read_index(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, NULL);
	raft_id l = elect(&c);
	propose(&c, l, 1, 5, 1, "k", "a");
	run(&c, 20);
	assert_int_equal(reply_for(&c, 1)->status, RAFT_REPLY_OK);
	/* the read waits for the heartbeat round */
	read_list(&c, l, 2, "k");
	drain_all(&c);
	assert_null(reply_for(&c, 2));
	assert_true(c.qn >= 2); /* heartbeats went out at once */
	/* deliver the heartbeats but not the answers: still no reply */
	c.isolated[l] = false;
	struct cluster *cc = &c;
	size_t pending = cc->qn;
	for (size_t i = 0; i < pending; i++) {
		struct raft_msg m = cc->q[0];
		memmove(cc->q, cc->q + 1, (cc->qn - 1) * sizeof(*cc->q));
		cc->qn--;
		assert_int_equal(raft_step(cc->r[m.to], &m, NULL, 0), 0);
		msg_release(&m);
	}
	assert_null(reply_for(&c, 2));
	drain_all(&c); /* followers answer */
	deliver(&c);
	const struct trep *rp = reply_for(&c, 2);
	assert_non_null(rp);
	assert_int_equal(rp->status, RAFT_REPLY_OK);
	assert_int_equal(rp->kind, RAFT_KV_RES_ARRAY);
	assert_int_equal(rp->n_items, 1);
	/* a follower redirects to the leader */
	raft_id f = l == 1 ? 2 : 1;
	read_list(&c, f, 3, "k");
	drain_all(&c);
	assert_int_equal(reply_for(&c, 3)->status, RAFT_REPLY_NOT_LEADER);
	assert_int_equal(reply_for(&c, 3)->hint, l);
	/* an isolated leader (no majority) never answers */
	c.isolated[l] = true;
	read_list(&c, l, 4, "k");
	run(&c, 100);
	assert_null(reply_for(&c, 4));
	cluster_free(&c);
}

static void tweak_stale(struct raft_config *cfg)
{
	cfg->bugs = RAFT_BUG_STALE_READ;
}

static void test_stale_read_bug_answers_at_once(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, tweak_stale);
	raft_id l = elect(&c);
	c.isolated[l] = true;
	read_list(&c, l, 4, "k");
	drain_all(&c);
	assert_non_null(reply_for(&c, 4));
	assert_int_equal(reply_for(&c, 4)->status, RAFT_REPLY_OK);
	cluster_free(&c);
}

/* A retried write (same client id and sequence number) applies once; an older sequence number
 * is refused. */
static void test_dedup_retried_write(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 3, NULL);
	raft_id l = elect(&c);
	propose(&c, l, 1, 42, 1, "k", "x");
	propose(&c, l, 2, 42, 1, "k", "x"); /* the client's retry */
	run(&c, 20);
	assert_int_equal(reply_for(&c, 1)->status, RAFT_REPLY_OK);
	assert_int_equal(reply_for(&c, 1)->integer, 1);
	assert_int_equal(reply_for(&c, 2)->status, RAFT_REPLY_OK);
	assert_int_equal(reply_for(&c, 2)->integer, 1); /* the remembered result */
	propose(&c, l, 3, 42, 2, "k", "y");
	run(&c, 20);
	assert_int_equal(reply_for(&c, 3)->integer, 2);
	propose(&c, l, 4, 42, 1, "k", "x"); /* older than the last applied */
	run(&c, 20);
	assert_int_equal(reply_for(&c, 4)->kind, RAFT_KV_RES_ERR);
	propose(&c, l, 5, 43, 1, "k", "z"); /* another client, same seq: applies */
	run(&c, 20);
	assert_int_equal(reply_for(&c, 5)->integer, 3);
	read_list(&c, l, 6, "k");
	run(&c, 20);
	assert_int_equal(reply_for(&c, 6)->n_items, 3);
	/* every replica has the same state */
	for (raft_id id = 1; id <= 3; id++)
		assert_int_equal(raft_kv_digest(raft_state_machine(c.r[id])),
				 raft_kv_digest(raft_state_machine(c.r[l])));
	cluster_free(&c);
}

/* Votes are durable (Raft Figure 2): a restarted voter remembers whom it voted for; the
 * forget-vote bug hands the shell a vote of 0. */
static void test_vote_persisted(void **state)
{
	(void)state;
	for (int bug = 0; bug < 2; bug++) {
		const raft_term t1[] = {1};
		struct raft *v = core_with_log(3, 3, 1, t1, 1, bug ? RAFT_BUG_FORGET_VOTE : 0);
		struct raft_msg req = {.type = RAFT_MSG_VOTE, .from = 1, .to = 3, .term = 2,
				       .last_log_index = 1, .last_log_term = 1};
		assert_int_equal(raft_step(v, &req, NULL, 0), 0);
		struct raft_ready rd;
		assert_int_equal(raft_ready(v, &rd), 0);
		assert_true(rd.hs_changed);
		assert_int_equal(rd.hs.term, 2);
		assert_int_equal(rd.hs.vote, bug ? 0 : 1);
		struct raft_hardstate hs = rd.hs;
		raft_persisted(v);
		raft_advance(v);
		raft_destroy(v);
		/* restart from what was persisted; node 2 asks in the same term */
		struct raft_entry e = {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP};
		struct raft_persisted ps = {.hs = hs, .entries = &e, .n_entries = 1};
		struct raft_config cfg;
		base_cfg(&cfg, 3, 3);
		char err[200];
		assert_int_equal(raft_create(&cfg, &ps, 0, &v, err, sizeof(err)), 0);
		req.from = 2;
		assert_int_equal(raft_step(v, &req, NULL, 0), 0);
		struct raft_msg resp;
		assert_true(take_msg(v, RAFT_MSG_VOTE_RESP, 2, &resp));
		assert_int_equal(resp.success, bug ? true : false);
		raft_destroy(v);
	}
}

static bool crashed_at(struct cluster *c, const char *name)
{
	for (size_t i = 0; i < c->ncrash; i++)
		if (strcmp(c->crashes[i], name) == 0)
			return true;
	return false;
}

/* The core calls the crash hook at each named point. */
static void test_crash_points(void **state)
{
	(void)state;
	struct cluster c;
	cluster_init(&c, 5, NULL);
	raft_id l = elect(&c);
	assert_true(crashed_at(&c, RAFT_CRASH_VOTE_BEFORE_PERSIST));
	assert_true(crashed_at(&c, RAFT_CRASH_VOTE_AFTER_PERSIST));
	assert_true(crashed_at(&c, RAFT_CRASH_VOTE_AFTER_SEND));
	c.ncrash = 0;
	propose(&c, l, 1, 1, 1, "k", "v");
	assert_true(crashed_at(&c, RAFT_CRASH_LEADER_BEFORE_APPEND));
	assert_false(crashed_at(&c, RAFT_CRASH_LEADER_AFTER_APPEND));
	drain(&c, l);
	assert_true(crashed_at(&c, RAFT_CRASH_LEADER_AFTER_APPEND));
	assert_false(crashed_at(&c, RAFT_CRASH_LEADER_PARTIAL));
	deliver(&c);
	assert_true(crashed_at(&c, RAFT_CRASH_LEADER_PARTIAL));
	assert_true(crashed_at(&c, RAFT_CRASH_LEADER_AFTER_COMMIT));
	assert_int_equal(reply_for(&c, 1)->status, RAFT_REPLY_OK);
	/* each name is listed for the shell */
	for (size_t i = 0; i < RAFT_CRASH_POINT_COUNT; i++) {
		assert_non_null(raft_crash_points[i]);
		assert_non_null(raft_crash_point_help[i]);
	}
	assert_null(raft_crash_points[RAFT_CRASH_POINT_COUNT]);
	cluster_free(&c);
}

static void crash_note(void *ctx, const char *point)
{
	char *last = ctx;
	snprintf(last, 48, "%s", point);
}

/* "vote-after-send" comes in raft_advance, after the ready holding a granted vote (its
 * persistence done, its messages sent), and only for a granted vote, not a refused one or
 * a pre-vote. A voter that dies there and restarts in the same term refuses a second
 * candidate; with forget-vote it votes again: the double vote the point exists to provoke. */
static void test_crash_vote_after_send(void **state)
{
	(void)state;
	for (int bug = 0; bug < 2; bug++) {
		struct raft_entry e = {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP};
		struct raft_persisted ps = {.hs = {.term = 1}, .entries = &e, .n_entries = 1};
		struct raft_config cfg;
		base_cfg(&cfg, 3, 3);
		cfg.pre_vote = true;
		cfg.bugs = bug ? RAFT_BUG_FORGET_VOTE : 0;
		char last[48] = "", err[200];
		cfg.crash = crash_note;
		cfg.crash_ctx = last;
		struct raft *v;
		assert_int_equal(raft_create(&cfg, &ps, 0, &v, err, sizeof(err)), 0);
		/* a pre-vote granted: no vote point */
		struct raft_msg pre = {.type = RAFT_MSG_PREVOTE, .from = 1, .to = 3, .term = 2,
				       .last_log_index = 1, .last_log_term = 1};
		assert_int_equal(raft_step(v, &pre, NULL, 0), 0);
		struct raft_msg resp;
		assert_true(take_msg(v, RAFT_MSG_PREVOTE_RESP, 1, &resp));
		assert_true(resp.success);
		assert_string_equal(last, "");
		/* the vote: persisted, sent, then the point */
		struct raft_msg req = {.type = RAFT_MSG_VOTE, .from = 1, .to = 3, .term = 2,
				       .last_log_index = 1, .last_log_term = 1};
		assert_int_equal(raft_step(v, &req, NULL, 0), 0);
		assert_string_equal(last, RAFT_CRASH_VOTE_BEFORE_PERSIST);
		struct raft_ready rd;
		assert_int_equal(raft_ready(v, &rd), 0);
		assert_int_equal(rd.n_msgs, 1);
		assert_int_equal(rd.msgs[0].type, RAFT_MSG_VOTE_RESP);
		assert_true(rd.msgs[0].success);
		struct raft_hardstate hs = rd.hs;
		assert_int_equal(raft_persisted(v), 0);
		assert_string_equal(last, RAFT_CRASH_VOTE_AFTER_PERSIST);
		raft_advance(v);
		assert_string_equal(last, RAFT_CRASH_VOTE_AFTER_SEND);
		/* a refused vote (another candidate, same term): no point */
		last[0] = '\0';
		req.from = 2;
		assert_int_equal(raft_step(v, &req, NULL, 0), 0);
		assert_true(take_msg(v, RAFT_MSG_VOTE_RESP, 2, &resp));
		assert_false(resp.success);
		assert_string_equal(last, "");
		raft_destroy(v);
		/* died there; restarted from what was persisted, node 2 asks in the same term */
		ps.hs = hs;
		cfg.crash = NULL;
		assert_int_equal(raft_create(&cfg, &ps, 0, &v, err, sizeof(err)), 0);
		assert_int_equal(raft_step(v, &req, NULL, 0), 0);
		assert_true(take_msg(v, RAFT_MSG_VOTE_RESP, 2, &resp));
		assert_int_equal(resp.success, bug ? true : false);
		raft_destroy(v);
	}
}

/* "leader-after-commit-sent" comes in raft_advance, after a ready whose AppendEntries carry a
 * commit index the leader advanced in its term; a commit index it only repeats does not
 * count. With commit-old-term the first such index is the old-term entry alone (Figure 8):
 * followers learn it, the leader dies, and a later leader may replace it. */
static void test_crash_commit_sent(void **state)
{
	(void)state;
	for (int bug = 0; bug < 2; bug++) {
		struct raft_entry e[2] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
					  {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP}};
		struct raft_persisted ps = {.hs = {.term = 3}, .entries = e, .n_entries = 2};
		struct raft_config cfg;
		base_cfg(&cfg, 1, 5);
		cfg.bugs = bug ? RAFT_BUG_COMMIT_OLD_TERM : 0;
		cfg.max_append_entries = 1;
		cfg.max_inflight = 1;
		char last[48] = "", err[200];
		cfg.crash = crash_note;
		cfg.crash_ctx = last;
		struct raft *r;
		assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
		make_leader(r, 5); /* term 4, no-op at index 3 */
		struct raft_msg m;
		take_msg(r, RAFT_MSG_APPEND, 0, &m);
		assert_string_equal(last, "");
		/* two followers store index 2, the term-2 entry */
		for (raft_id f = 2; f <= 3; f++) {
			struct raft_msg a = {.type = RAFT_MSG_APPEND_RESP, .from = f, .to = 1, .term = 4,
					     .success = true, .prev_index = 1, .match_index = 2};
			assert_int_equal(raft_step(r, &a, NULL, 0), 0);
		}
		bool sent = take_msg(r, RAFT_MSG_APPEND, 2, &m);
		if (bug) {
			assert_true(sent);
			assert_int_equal(m.commit, 2);
			assert_string_equal(last, RAFT_CRASH_LEADER_COMMIT_SENT);
		} else {
			assert_string_equal(last, "");
		}
		/* the no-op on a majority: a correct leader now commits and tells */
		last[0] = '\0';
		for (raft_id f = 2; f <= 3; f++) {
			struct raft_msg a = {.type = RAFT_MSG_APPEND_RESP, .from = f, .to = 1, .term = 4,
					     .success = true, .prev_index = 2, .match_index = 3};
			assert_int_equal(raft_step(r, &a, NULL, 0), 0);
		}
		assert_int_equal(raft_tick(r, 20000), 0); /* a heartbeat carries the commit */
		assert_true(take_msg(r, RAFT_MSG_APPEND, 2, &m));
		assert_int_equal(m.commit, 3);
		assert_string_equal(last, RAFT_CRASH_LEADER_COMMIT_SENT);
		/* heartbeats repeating it: no point */
		last[0] = '\0';
		assert_int_equal(raft_tick(r, 40000), 0);
		assert_true(take_msg(r, RAFT_MSG_APPEND, 2, &m));
		assert_int_equal(m.commit, 3);
		assert_string_equal(last, "");
		raft_destroy(r);
	}
}

struct loglines {
	char line[8][256];
	size_t n;
};

static void log_note(void *ctx, int level, raft_term term, const char *line)
{
	(void)term;
	struct loglines *l = ctx;
	if (level >= 2 && l->n < 8)
		snprintf(l->line[l->n++], sizeof l->line[0], "%s", line);
}

/* A follower that is sent another entry at an index it committed logs
 * event=committed-entry-conflict (once per index), whether the entry lies within its commit
 * index (the leader-completeness shortcut answers such messages without looking) or the
 * follower would truncate it. The harness's node-safety check reads that line. */
static void test_committed_entry_conflict(void **state)
{
	(void)state;
	for (int shape = 0; shape < 2; shape++) {
		struct raft_entry e[3] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
					  {.term = 1, .index = 2, .type = RAFT_ENTRY_NOOP},
					  {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP}};
		struct raft_persisted ps = {.hs = {.term = 1}, .entries = e, .n_entries = 3};
		struct raft_config cfg;
		base_cfg(&cfg, 1, 3);
		struct loglines logs = {0};
		cfg.log = log_note;
		cfg.log_ctx = &logs;
		struct raft *r;
		char err[200];
		assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
		/* leader 2 of term 1 says index 2 (shape 0) or 3 (shape 1) is committed */
		raft_index committed = shape ? 3 : 2;
		struct raft_msg hb = {.type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 1,
				      .prev_index = 3, .prev_term = 1, .commit = committed};
		assert_int_equal(raft_step(r, &hb, NULL, 0), 0);
		struct raft_msg m;
		take_msg(r, RAFT_MSG_APPEND_RESP, 2, &m);
		assert_int_equal(status_of_core(r).commit, committed);
		/* the same entries again from leader 3 of term 2: nothing to say */
		struct raft_entry same[2] = {{.term = 1, .index = 2, .type = RAFT_ENTRY_NOOP},
					     {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP}};
		struct raft_msg ae = {.type = RAFT_MSG_APPEND, .from = 3, .to = 1, .term = 2,
				      .prev_index = 1, .prev_term = 1, .commit = 3,
				      .entries = same, .n_entries = 2};
		assert_int_equal(raft_step(r, &ae, NULL, 0), 0);
		take_msg(r, RAFT_MSG_APPEND_RESP, 3, &m);
		assert_int_equal(logs.n, 0);
		/* a term-3 leader with another entry at index 2, twice */
		struct raft_entry other[2] = {{.term = 3, .index = 2, .type = RAFT_ENTRY_NOOP},
					      {.term = 3, .index = 3, .type = RAFT_ENTRY_NOOP}};
		struct raft_msg bad = {.type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 3,
				       .prev_index = 1, .prev_term = 1, .commit = 3,
				       .entries = other, .n_entries = shape ? 1 : 2};
		for (int k = 0; k < 2; k++) {
			assert_int_equal(raft_step(r, &bad, NULL, 0), 0);
			take_msg(r, RAFT_MSG_APPEND_RESP, 2, &m);
		}
		assert_int_equal(logs.n, 1);
		assert_non_null(strstr(logs.line[0], "event=committed-entry-conflict index=2 "));
		assert_non_null(strstr(logs.line[0], "term=1 leader_term=3"));
		raft_destroy(r);
	}
}

/* Malformed messages from outside are refused with a reason and change nothing. */
static void test_bad_messages(void **state)
{
	(void)state;
	const raft_term t1[] = {1};
	struct raft *r = core_with_log(2, 3, 1, t1, 1, 0);
	struct raft_status before, after;
	raft_status(r, &before);
	char err[200];
	struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = 9, .to = 2, .term = 5};
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "unknown node 9"));
	m.from = 1;
	m.to = 3;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	m.to = 2;
	m.type = 77;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	m.type = RAFT_MSG_APPEND;
	struct raft_entry e[2] = {{.term = 5, .index = 2, .type = RAFT_ENTRY_NOOP},
				  {.term = 5, .index = 4, .type = RAFT_ENTRY_NOOP}};
	m.prev_index = 1;
	m.prev_term = 1;
	m.entries = e;
	m.n_entries = 2;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "expected 3"));
	e[1].index = 3;
	e[1].term = 9; /* above the message's term */
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	e[1].term = 5;
	e[1].type = 99;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	e[1].type = RAFT_ENTRY_CMD;
	e[1].len = 10; /* no data */
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	struct raft_msg s = {.type = RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 5,
			     .snap_index = 3, .snap_term = 5, .offset = 10, .total = 5};
	assert_int_equal(raft_step(r, &s, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "outside"));
	raft_status(r, &after);
	assert_int_equal(after.term, before.term);
	assert_int_equal(after.last_index, before.last_index);
	assert_int_equal(after.role, before.role);
	/* a bad command never reaches the log */
	unsigned char junk[3] = {1, 2, 3};
	assert_int_equal(raft_propose(r, 1, 0, 0, junk, sizeof(junk), err, sizeof(err)),
			 SB_EINVAL);
	assert_int_equal(raft_read(r, 1, junk, sizeof(junk), err, sizeof(err)), SB_EINVAL);
	raft_destroy(r);
}

/* Terms are bounded: a forged term of 2^64-1 once wrapped `term + 1` to 0 at the next
 * election, was persisted, and left the cluster leaderless for good. */
static void test_term_bound(void **state)
{
	(void)state;
	const raft_term t1[] = {1};
	struct raft *r = core_with_log(2, 3, 1, t1, 1, 0);
	char err[200];
	struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = UINT64_MAX,
			     .prev_index = 1, .prev_term = 1};
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "term above"));
	m.term = RAFT_MAX_TERM + 1;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), SB_EINVAL);
	struct raft_msg v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 2,
			     .last_log_index = 1, .last_log_term = UINT64_MAX};
	assert_int_equal(raft_step(r, &v, err, sizeof(err)), SB_EINVAL);
	assert_int_equal(status_of_core(r).term, 1);
	/* the bound itself is a term like any other */
	m.term = RAFT_MAX_TERM;
	assert_int_equal(raft_step(r, &m, err, sizeof(err)), 0);
	assert_int_equal(status_of_core(r).term, RAFT_MAX_TERM);
	/* ... after which the node never campaigns: its term does not wrap to 0 */
	for (uint64_t now = 1000; now < 20000; now += 100)
		assert_int_equal(raft_tick(r, now), 0);
	struct raft_msg out;
	assert_false(take_msg(r, RAFT_MSG_VOTE, 0, &out));
	assert_int_equal(status_of_core(r).term, RAFT_MAX_TERM);
	assert_int_equal(status_of_core(r).role, RAFT_FOLLOWER);
	raft_destroy(r);

	/* with pre-vote the same holds, also when restarted from a persisted bound term */
	struct raft_config cfg;
	base_cfg(&cfg, 1, 3);
	cfg.pre_vote = true;
	struct raft_persisted ps = {.hs = {.term = RAFT_MAX_TERM}};
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
	for (uint64_t now = 1000; now < 20000; now += 100)
		assert_int_equal(raft_tick(r, now), 0);
	assert_false(take_msg(r, RAFT_MSG_PREVOTE, 0, &out));
	assert_int_equal(status_of_core(r).term, RAFT_MAX_TERM);
	raft_destroy(r);
	ps.hs.term = UINT64_MAX;
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "term above"));
}

/* Configuration and persisted-state errors name what is wrong. */
static void test_bad_config_and_state(void **state)
{
	(void)state;
	struct raft_config cfg;
	struct raft *r = NULL;
	char err[200];
	base_cfg(&cfg, 4, 3);
	assert_int_equal(raft_create(&cfg, NULL, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "self"));
	base_cfg(&cfg, 1, 3);
	cfg.heartbeat_ms = 500;
	assert_int_equal(raft_create(&cfg, NULL, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "heartbeat"));
	base_cfg(&cfg, 1, 3);
	cfg.election_timeout_max_ms = cfg.election_timeout_min_ms;
	assert_int_equal(raft_create(&cfg, NULL, 0, &r, err, sizeof(err)), SB_EINVAL);
	base_cfg(&cfg, 1, 3);
	cfg.nodes[2].id = 1;
	assert_int_equal(raft_create(&cfg, NULL, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "twice"));
	base_cfg(&cfg, 1, 3);
	struct raft_entry e[2] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
				  {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP}};
	struct raft_persisted ps = {.hs = {.term = 1}, .entries = e, .n_entries = 2};
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "expected 2"));
	/* a log ahead of the hard state (crash between the writes) is adopted with no vote */
	e[1].index = 2;
	e[1].term = 3;
	ps.hs.vote = 2;
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.term, 3);
	assert_int_equal(st.vote, 0);
	raft_destroy(r);
	/* bug names */
	unsigned bit;
	assert_int_equal(raft_bug_parse("no-noop", &bit, err, sizeof(err)), 0);
	assert_int_equal(bit, RAFT_BUG_NO_NOOP);
	assert_string_equal(raft_bug_name(bit), "no-noop");
	assert_int_equal(raft_bug_parse("nope", &bit, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "commit-old-term"));
	for (unsigned b = 1; b < (1u << RAFT_BUG_COUNT); b <<= 1) {
		assert_non_null(raft_bug_name(b));
		assert_non_null(raft_bug_describe(b));
	}
}

/* Restart from a snapshot plus trailing log: state restored, entries after it kept; a log that
 * does not continue the snapshot is dropped. */
static void test_restart_from_snapshot(void **state)
{
	(void)state;
	struct raft_kv *kv = raft_kv_new();
	assert_non_null(kv);
	unsigned char *cmd;
	size_t clen;
	encode(RAFT_KV_SET, "a", "1", NULL, &cmd, &clen);
	struct raft_kv_result res;
	assert_int_equal(raft_kv_apply(kv, 0, 0, cmd, clen, &res), 0);
	raft_kv_result_free(&res);
	unsigned char *snap;
	size_t slen;
	assert_int_equal(raft_kv_snapshot(kv, &snap, &slen), 0);
	struct raft_entry e[3] = {{.term = 2, .index = 5, .type = RAFT_ENTRY_NOOP},
				  {.term = 2, .index = 6, .type = RAFT_ENTRY_CMD, .data = cmd, .len = clen},
				  {.term = 3, .index = 7, .type = RAFT_ENTRY_NOOP}};
	struct raft_persisted ps = {.hs = {.term = 3, .vote = 1},
				    .snapshot = {.index = 5, .term = 2, .data = snap, .len = slen},
				    .entries = e,
				    .n_entries = 3};
	struct raft_config cfg;
	base_cfg(&cfg, 1, 3);
	struct raft *r;
	char err[200];
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
	struct raft_status st;
	raft_status(r, &st);
	assert_int_equal(st.snapshot_index, 5);
	assert_int_equal(st.applied, 5);
	assert_int_equal(st.last_index, 7);
	assert_int_equal(st.vote, 1);
	assert_int_equal(raft_kv_digest(raft_state_machine(r)), raft_kv_digest(kv));
	raft_destroy(r);
	/* entry 5 with another term: the log does not continue the snapshot */
	e[0].term = 1;
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), 0);
	raft_status(r, &st);
	assert_int_equal(st.last_index, 5);
	raft_destroy(r);
	/* a corrupt snapshot is an error that says so */
	snap[0] ^= 0xff;
	assert_int_equal(raft_create(&cfg, &ps, 0, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "snapshot"));
	free(snap);
	free(cmd);
	raft_kv_free(kv);
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Hostile input: many random messages (plausible and absurd fields, random entries and
 * chunks) into cores in every role. raft_step returns 0 or SB_EINVAL, never crashes (the
 * sanitizer build checks memory), and the core keeps its own invariants. */
static void test_random_messages(void **state)
{
	(void)state;
	uint64_t rs = 0x1234567;
	struct cluster c;
	cluster_init(&c, 3, tweak_snap);
	raft_id l = elect(&c);
	for (int i = 0; i < 20; i++)
		propose(&c, l, 500 + (uint64_t)i, 3, (uint64_t)i + 1, "k", "v");
	run(&c, 50);
	unsigned char blob[64];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)xs(&rs);
	size_t accepted = 0;
	for (int iter = 0; iter < 30000; iter++) {
		raft_id to = (raft_id)(xs(&rs) % 3 + 1);
		struct raft_msg m = {0};
		struct raft_entry e[4];
		m.type = (uint8_t)(xs(&rs) % 11);
		m.from = (raft_id)(xs(&rs) % 4);
		m.to = xs(&rs) % 8 ? to : 7;
		struct raft_status st = status_of(&c, to);
		m.term = st.term + xs(&rs) % 3 - (st.term ? 1 : 0);
		m.last_log_index = xs(&rs) % 40;
		m.last_log_term = xs(&rs) % (m.term + 1);
		m.transfer = xs(&rs) % 5 == 0;
		m.success = xs(&rs) % 2;
		m.prev_index = xs(&rs) % 40;
		m.prev_term = xs(&rs) % (m.term + 1);
		m.commit = xs(&rs) % 50;
		m.ctx = xs(&rs) % 10;
		m.match_index = xs(&rs) % 50;
		m.conflict_index = xs(&rs) % 50;
		m.conflict_term = xs(&rs) % (m.term + 2);
		m.snap_index = xs(&rs) % 50;
		m.snap_term = xs(&rs) % (m.term + 1);
		m.total = xs(&rs) % 80;
		m.offset = xs(&rs) % 80;
		m.len = (size_t)(xs(&rs) % 64);
		m.data = blob;
		m.done = xs(&rs) % 2;
		if (m.type == RAFT_MSG_APPEND && xs(&rs) % 2) {
			m.n_entries = (size_t)(xs(&rs) % 4) + 1;
			raft_term t = m.prev_term;
			for (size_t k = 0; k < m.n_entries; k++) {
				if (xs(&rs) % 3 == 0 && t < m.term)
					t++;
				e[k] = (struct raft_entry){.term = t ? t : 1,
							   .index = m.prev_index + 1 + k,
							   .type = (uint8_t)(xs(&rs) % 3 + 1),
							   .client_id = xs(&rs) % 3,
							   .seq = xs(&rs) % 5,
							   .data = blob,
							   .len = (size_t)(xs(&rs) % 64)};
			}
			m.entries = e;
		}
		int rc = raft_step(c.r[to], &m, NULL, 0);
		assert_true(rc == 0 || rc == SB_EINVAL);
		accepted += rc == 0;
		drain(&c, to);
		drop_queue(&c);
		struct raft_status a = status_of(&c, to);
		assert_true(a.applied <= a.commit || a.commit < a.snapshot_index);
		assert_true(a.first_index <= a.last_index + 1);
		assert_true(a.term >= st.term);
		if (iter % 1000 == 0)
			run(&c, 30); /* let timers fire in between */
	}
	printf("%zu of 30000 random messages accepted\n", accepted);
	assert_true(accepted > 5000); /* the test reaches the handlers, not only validation */
	cluster_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_election_restriction),
		cmocka_unit_test(test_figure8_commit_rule),
		cmocka_unit_test(test_fast_backtracking),
		cmocka_unit_test(test_prevote_does_not_disrupt),
		cmocka_unit_test(test_check_quorum_step_down),
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_snapshot_install),
		cmocka_unit_test(test_read_index),
		cmocka_unit_test(test_stale_read_bug_answers_at_once),
		cmocka_unit_test(test_dedup_retried_write),
		cmocka_unit_test(test_vote_persisted),
		cmocka_unit_test(test_crash_points),
		cmocka_unit_test(test_crash_vote_after_send),
		cmocka_unit_test(test_crash_commit_sent),
		cmocka_unit_test(test_committed_entry_conflict),
		cmocka_unit_test(test_max_append_entries),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_term_bound),
		cmocka_unit_test(test_bad_config_and_state),
		cmocka_unit_test(test_restart_from_snapshot),
		cmocka_unit_test(test_random_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
