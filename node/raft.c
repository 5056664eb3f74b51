/* raft — the pure Raft consensus core. Contract and driving loop: raft.h.
 *
 * Layout of this file: small helpers (PRNG, buffers, log), the ready/persistence bookkeeping,
 * roles and elections (Raft §5.2, thesis §9.6 pre-vote, §6.2 check-quorum, §3.10 transfer),
 * replication (Raft §5.3, Figure 2; fast backtracking thesis §5.3; pipelining thesis §10.2.1),
 * commitment (Raft §5.4.2, Figure 8), apply and client replies, ReadIndex (thesis §6.4),
 * snapshots (Raft §7, Figure 13), and the public entry points.
 */
#include "node/raft.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/rng.h"

#define MAX_SNAPSHOT_BYTES (1024ull * 1024ull * 1024ull)

enum { PR_PROBE = 0, PR_REPLICATE = 1, PR_SNAPSHOT = 2 };

/* Leader's view of one follower (Raft Figure 2 nextIndex/matchIndex, plus flow control). */
struct progress {
	raft_id id;
	int priority;
	raft_index match, next;
	int state;
	bool probe_sent;      /* PROBE: one AppendEntries outstanding until reply or heartbeat */
	size_t inflight;      /* REPLICATE: AppendEntries sent and not yet acknowledged */
	raft_index inflight_last[64]; /* ring: last index of each inflight append */
	size_t inflight_head;
	bool recent_active;   /* heard from in this check-quorum period */
	uint64_t acked_ctx;   /* highest ReadIndex round acknowledged in this term */
	bool sent_this_flush;
	raft_index hb_match;  /* match at the previous heartbeat tick (progress detector) */
	/* PR_SNAPSHOT */
	raft_index snap_index;
	uint64_t snap_offset;
	bool snap_chunk_out;
	/* VOTE / PREVOTE responses in the current campaign: 0 none, 1 granted, 2 rejected */
	int vote_resp;
};

struct pending_write {
	raft_index index;
	raft_term term;
	uint64_t req_id;
	bool acked; /* ack-before-commit bug: already answered */
};

enum { READ_WAIT_TERM_COMMIT = 0, READ_WAIT_CONFIRM = 1, READ_WAIT_APPLY = 2 };

struct pending_read {
	uint64_t req_id;
	unsigned char *cmd;
	size_t len;
	int stage;
	raft_index read_index;
	uint64_t ctx;
};

/* Accumulated actions, moved into a ready by raft_ready(). */
struct outbox {
	struct raft_msg *msgs;
	size_t n_msgs, cap_msgs;
	struct raft_reply *replies;
	size_t n_replies, cap_replies;
	struct raft_entry *applied;
	size_t n_applied, cap_applied;
};

struct raft {
	struct raft_config cfg;
	struct rng rng; /* election timeouts: lib/rng, seeded from the config */
	uint64_t now;

	/* persistent state (Raft Figure 2) */
	raft_term term;
	raft_id vote;

	/* the log: entries[i] has index log_start + 1 + i; log_start/log_start_term describe the
	 * entry just before the first one held (0/0 or the compaction/snapshot point) */
	struct raft_entry *log;
	size_t log_n, log_cap;
	raft_index log_start;
	raft_term log_start_term;

	/* the latest snapshot (durable or restored at start): sent to lagging followers */
	struct raft_snapshot snap;

	/* volatile state */
	int role;
	raft_id leader;
	raft_index commit, applied;
	struct raft_kv *kv;
	uint64_t election_deadline;
	uint64_t heartbeat_deadline;
	uint64_t cq_deadline;
	uint64_t last_leader_contact;
	bool heard_leader;
	uint64_t timer_offset;  /* election timeout drawn at the last reset */
	bool timer_reset;       /* reset since the last tick: re-date it to that tick */
	bool contact_reset;     /* heard from the leader since the last tick */

	/* leader */
	struct progress prs[RAFT_MAX_NODES]; /* prs[i] for cfg.nodes[i]; self included, unused */
	size_t self_idx;
	raft_index term_start; /* first index of this leader's term */
	bool heartbeat_due;
	uint64_t read_ctx, ctx_sent;
	raft_id transfer_target;
	uint64_t transfer_deadline;
	struct pending_write *pw;
	size_t pw_n, pw_cap, pw_head;
	struct pending_read *rd;
	size_t rd_n, rd_cap;

	/* campaign */
	bool campaign_transfer;

	/* follower: InstallSnapshot being received */
	raft_index rx_index;
	raft_term rx_term;
	unsigned char *rx_buf;
	size_t rx_len;
	uint64_t rx_total;

	/* persistence bookkeeping */
	bool hs_dirty;
	raft_index unstable_from;  /* first index not yet handed out in a ready */
	raft_index trunc_pending;  /* truncate_from for the next ready (0 none) */
	raft_index persisted_index;
	struct raft_snapshot snap_pending; /* to hand out (index 0 none) */
	bool snap_pending_local;   /* taken here (not installed from the leader) */
	raft_index compact_pending;
	bool snap_in_flight;       /* a snapshot is being persisted; don't take another */

	struct outbox out;         /* accumulating */
	/* handed out in the current ready */
	struct outbox handed;
	struct raft_entry *h_entries;
	size_t h_n_entries;
	struct raft_snapshot h_snap;
	bool h_active;
	bool h_has_hs;
	bool h_vote_granted;
	bool h_leader_cmd;
	bool h_commit_told;        /* a leader's AppendEntries carry a commit index it advanced */
	raft_index commit_told;    /* the highest commit index this leader sent (term's start: commit) */
	raft_index conflict_logged; /* the last committed index a leader contradicted (logged) */
	raft_index h_last;
	raft_index h_snap_compact; /* compaction allowed once h_snap is durable */
	raft_index compact_todo;   /* in-memory compaction to do at advance */

	int oom; /* an allocation failed inside a void path: report at next call */
};

/* ------------------------------------------------------------------------------------------ */
/* helpers */

static void rlog(struct raft *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rlog(struct raft *r, int level, const char *fmt, ...)
{
	if (!r->cfg.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->cfg.log(r->cfg.log_ctx, level, r->term, line);
}

static void crash_point(struct raft *r, const char *name)
{
	if (r->cfg.crash)
		r->cfg.crash(r->cfg.crash_ctx, name);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	return array_grow(p, cap, need, elem, 8);
}

static unsigned char *memdup(const void *p, size_t n)
{
	unsigned char *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

static size_t quorum(const struct raft *r)
{
	return r->cfg.n_nodes / 2 + 1;
}

static struct progress *pr_of(struct raft *r, raft_id id)
{
	for (size_t i = 0; i < r->cfg.n_nodes; i++)
		if (r->prs[i].id == id && i != r->self_idx)
			return &r->prs[i];
	return NULL;
}

/* ---- log ---- */

static raft_index last_index(const struct raft *r)
{
	return r->log_start + r->log_n;
}

static raft_term last_term(const struct raft *r)
{
	return r->log_n ? r->log[r->log_n - 1].term : r->log_start_term;
}

static struct raft_entry *entry_at(const struct raft *r, raft_index i)
{
	if (i <= r->log_start || i > last_index(r))
		return NULL;
	return &r->log[i - r->log_start - 1];
}

/* Term of entry i; 0 with *ok = false if it is not known (compacted or beyond the end). */
static raft_term term_at(const struct raft *r, raft_index i, bool *ok)
{
	if (ok)
		*ok = true;
	if (i == r->log_start)
		return r->log_start_term;
	const struct raft_entry *e = entry_at(r, i);
	if (e)
		return e->term;
	if (ok)
		*ok = false;
	return 0;
}

static int log_append(struct raft *r, const struct raft_entry *e)
{
	if (grow((void **)&r->log, &r->log_cap, r->log_n + 1, sizeof(*r->log)))
		return SB_ENOMEM;
	struct raft_entry c = *e;
	c.data = memdup(e->data, e->len);
	if (!c.data)
		return SB_ENOMEM;
	r->log[r->log_n++] = c;
	return 0;
}

/* Drop entries >= from (a conflict, Raft Figure 2 AppendEntries step 3). */
static void log_truncate(struct raft *r, raft_index from)
{
	if (from > last_index(r))
		return;
	if (from <= r->log_start)
		from = r->log_start + 1;
	for (raft_index i = from; i <= last_index(r); i++)
		free(entry_at(r, i)->data);
	r->log_n = from - r->log_start - 1;
	if (from < r->unstable_from) {
		/* entries already handed to the shell are being replaced: it must truncate */
		if (!r->trunc_pending || from < r->trunc_pending)
			r->trunc_pending = from;
		r->unstable_from = from;
	}
	if (r->persisted_index >= from)
		r->persisted_index = from - 1;
}

/* Forget entries <= upto (they are covered by a snapshot). */
static void log_compact(struct raft *r, raft_index upto)
{
	if (upto <= r->log_start)
		return;
	if (upto > last_index(r))
		upto = last_index(r);
	bool ok;
	raft_term t = term_at(r, upto, &ok);
	size_t drop = (size_t)(upto - r->log_start);
	for (size_t i = 0; i < drop; i++)
		free(r->log[i].data);
	if (drop) {
		memmove(r->log, r->log + drop, (r->log_n - drop) * sizeof(*r->log));
		r->log_n -= drop;
	}
	r->log_start = upto;
	r->log_start_term = t;
}

/* Discard the whole log; it now continues after (index, term). */
static void log_reset(struct raft *r, raft_index index, raft_term term)
{
	for (size_t i = 0; i < r->log_n; i++)
		free(r->log[i].data);
	r->log_n = 0;
	r->log_start = index;
	r->log_start_term = term;
	/* the shell's log restarts after the snapshot: drop what follows it (what precedes it
	 * goes by compaction); an earlier pending truncation is subsumed */
	r->trunc_pending = index + 1;
	if (r->compact_pending < index)
		r->compact_pending = index;
	r->unstable_from = index + 1;
	if (r->persisted_index > index)
		r->persisted_index = index;
}

/* ---- outbox ---- */

static void free_msg(struct raft_msg *m)
{
	for (size_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free(m->data);
}

static void outbox_clear(struct outbox *o)
{
	for (size_t i = 0; i < o->n_msgs; i++)
		free_msg(&o->msgs[i]);
	for (size_t i = 0; i < o->n_replies; i++)
		raft_kv_result_free(&o->replies[i].result);
	for (size_t i = 0; i < o->n_applied; i++)
		free(o->applied[i].data);
	o->n_msgs = o->n_replies = o->n_applied = 0;
}

static void outbox_free(struct outbox *o)
{
	outbox_clear(o);
	free(o->msgs);
	free(o->replies);
	free(o->applied);
	memset(o, 0, sizeof(*o));
}

/* Queue a message; takes ownership of m's entries/data (freed on failure too). */
static void send(struct raft *r, struct raft_msg *m)
{
	m->from = r->cfg.self;
	if (!m->term)
		m->term = r->term;
	if (grow((void **)&r->out.msgs, &r->out.cap_msgs, r->out.n_msgs + 1,
		 sizeof(*r->out.msgs))) {
		free_msg(m);
		r->oom = 1;
		return;
	}
	r->out.msgs[r->out.n_msgs++] = *m;
}

/* Queue a reply; takes ownership of res (may be NULL for non-OK replies). */
static void reply(struct raft *r, uint64_t req_id, int status, struct raft_kv_result *res)
{
	if (grow((void **)&r->out.replies, &r->out.cap_replies, r->out.n_replies + 1,
		 sizeof(*r->out.replies))) {
		if (res)
			raft_kv_result_free(res);
		r->oom = 1;
		return;
	}
	struct raft_reply *rp = &r->out.replies[r->out.n_replies++];
	memset(rp, 0, sizeof(*rp));
	rp->req_id = req_id;
	rp->status = status;
	rp->leader_hint = r->leader == r->cfg.self ? 0 : r->leader;
	if (status == RAFT_REPLY_NOT_LEADER && r->role == RAFT_LEADER)
		rp->leader_hint = r->transfer_target;
	if (res)
		rp->result = *res;
}

/* ------------------------------------------------------------------------------------------ */
/* timers and roles */

/* Randomized election timeout (Raft §5.2). The core only knows the time of the last tick, and
 * a shell may handle events some time after it: the reset is therefore re-dated to the next
 * tick (raft_tick), which a shell calls right after handling a batch of events. */
static void reset_election_timer(struct raft *r)
{
	uint32_t span = r->cfg.election_timeout_max_ms - r->cfg.election_timeout_min_ms;
	r->timer_offset = r->cfg.election_timeout_min_ms + rng_below(&r->rng, span + 1);
	r->election_deadline = r->now + r->timer_offset;
	r->timer_reset = true;
}

static void set_term(struct raft *r, raft_term t)
{
	if (t == r->term)
		return;
	r->term = t;
	r->vote = 0;
	r->hs_dirty = true;
}

static void drop_pending(struct raft *r)
{
	for (size_t i = r->pw_head; i < r->pw_n; i++)
		if (!r->pw[i].acked)
			reply(r, r->pw[i].req_id, RAFT_REPLY_DROPPED, NULL);
	r->pw_n = r->pw_head = 0;
	for (size_t i = 0; i < r->rd_n; i++) {
		reply(r, r->rd[i].req_id, RAFT_REPLY_NOT_LEADER, NULL);
		free(r->rd[i].cmd);
	}
	r->rd_n = 0;
}

static void become_follower(struct raft *r, raft_term term, raft_id leader, const char *why)
{
	bool was_leader = r->role == RAFT_LEADER;
	set_term(r, term);
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->transfer_target = 0;
	if (was_leader) {
		rlog(r, 1, "event=stepped-down reason=%s", why);
		drop_pending(r);
	}
	reset_election_timer(r);
}

static void send_append(struct raft *r, struct progress *pr, bool heartbeat);
static void maybe_commit(struct raft *r);

static void become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->cfg.self;
	r->transfer_target = 0;
	r->commit_told = r->commit;
	for (size_t i = 0; i < r->cfg.n_nodes; i++) {
		struct progress *pr = &r->prs[i];
		pr->match = 0;
		pr->next = last_index(r) + 1;
		pr->state = PR_PROBE;
		pr->probe_sent = false;
		pr->inflight = 0;
		pr->inflight_head = 0;
		pr->recent_active = false;
		pr->acked_ctx = 0;
		pr->snap_chunk_out = false;
	}
	r->heartbeat_deadline = r->now; /* announce at once */
	r->heartbeat_due = true;
	r->cq_deadline = r->now + r->cfg.election_timeout_max_ms;
	r->term_start = last_index(r) + 1;
	rlog(r, 1, "event=became-leader last_index=%llu", (unsigned long long)last_index(r));
	/* A no-op of the new term (Raft §8): it commits the entries of earlier terms (which a
	 * leader may not commit by counting, Figure 8) and lets ReadIndex know the commit index. */
	if (!(r->cfg.bugs & RAFT_BUG_NO_NOOP)) {
		struct raft_entry e = {.term = r->term, .index = last_index(r) + 1,
				       .type = RAFT_ENTRY_NOOP};
		if (log_append(r, &e))
			r->oom = 1;
	}
	/* A single-node cluster commits on its own once the entry is durable. */
	maybe_commit(r);
}

static bool heard_leader_recently(const struct raft *r)
{
	return r->heard_leader && r->leader != 0 && r->leader != r->cfg.self &&
	       (r->contact_reset ||
		r->now < r->last_leader_contact + r->cfg.election_timeout_min_ms);
}

static bool lease_active(const struct raft *r)
{
	/* Thesis §4.2.3: a server that heard from a current leader within the minimum election
	 * timeout ignores RequestVote; with check-quorum the leader steps down when it loses the
	 * majority, so this does not block elections forever. */
	if (!r->cfg.check_quorum)
		return false;
	if (r->role == RAFT_LEADER)
		return true;
	return heard_leader_recently(r);
}

static void campaign(struct raft *r, bool pre, bool transfer)
{
	if (r->term >= RAFT_MAX_TERM) {
		/* No next term to campaign in (raft.h: terms never wrap). */
		rlog(r, 2, "event=term-exhausted max=%llu", (unsigned long long)RAFT_MAX_TERM);
		reset_election_timer(r);
		return;
	}
	for (size_t i = 0; i < r->cfg.n_nodes; i++)
		r->prs[i].vote_resp = 0;
	r->campaign_transfer = transfer;
	raft_term t;
	if (pre) {
		/* Pre-vote (thesis §9.6): ask whether we could win before disturbing anyone's term. */
		r->role = RAFT_PRECANDIDATE;
		r->leader = 0;
		t = r->term + 1;
		rlog(r, 1, "event=election-started prevote=1 for_term=%llu",
		     (unsigned long long)t);
	} else {
		set_term(r, r->term + 1);
		r->vote = r->cfg.self;
		r->hs_dirty = true;
		r->role = RAFT_CANDIDATE;
		r->leader = 0;
		t = r->term;
		rlog(r, 1, "event=election-started prevote=0 transfer=%d", transfer ? 1 : 0);
	}
	reset_election_timer(r);
	if (r->cfg.n_nodes == 1) {
		if (pre)
			campaign(r, false, transfer);
		else
			become_leader(r);
		return;
	}
	for (size_t i = 0; i < r->cfg.n_nodes; i++) {
		if (i == r->self_idx)
			continue;
		struct raft_msg m = {0};
		m.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
		m.to = r->prs[i].id;
		m.term = t;
		m.last_log_index = last_index(r);
		m.last_log_term = last_term(r);
		m.transfer = transfer;
		send(r, &m);
	}
}

static void start_election(struct raft *r, bool transfer)
{
	campaign(r, r->cfg.pre_vote && !transfer, transfer);
}

/* ------------------------------------------------------------------------------------------ */
/* replication (leader side) */

static void fill_entries(struct raft *r, struct raft_msg *m, raft_index from)
{
	raft_index last = last_index(r);
	size_t n = 0, bytes = 0;
	for (raft_index i = from; i <= last && n < r->cfg.max_append_entries; i++) {
		const struct raft_entry *e = entry_at(r, i);
		if (n > 0 && bytes + e->len > r->cfg.max_append_bytes)
			break;
		bytes += e->len;
		n++;
	}
	if (!n)
		return;
	m->entries = calloc(n, sizeof(*m->entries));
	if (!m->entries) {
		r->oom = 1;
		return;
	}
	for (size_t k = 0; k < n; k++) {
		const struct raft_entry *e = entry_at(r, from + k);
		m->entries[k] = *e;
		m->entries[k].data = memdup(e->data, e->len);
		if (!m->entries[k].data) {
			r->oom = 1;
			m->n_entries = k;
			return;
		}
		m->n_entries = k + 1;
	}
}

static void send_snapshot_chunk(struct raft *r, struct progress *pr)
{
	if (pr->snap_index != r->snap.index) {
		/* our snapshot moved on: start over with the newest one */
		pr->snap_index = r->snap.index;
		pr->snap_offset = 0;
	}
	struct raft_msg m = {0};
	m.type = RAFT_MSG_SNAPSHOT;
	m.to = pr->id;
	m.snap_index = r->snap.index;
	m.snap_term = r->snap.term;
	m.total = r->snap.len;
	m.offset = pr->snap_offset;
	if (m.offset > m.total)
		m.offset = 0;
	size_t n = (size_t)(m.total - m.offset);
	if (n > r->cfg.snapshot_chunk)
		n = r->cfg.snapshot_chunk;
	m.data = memdup(r->snap.data + m.offset, n);
	if (!m.data) {
		r->oom = 1;
		return;
	}
	m.len = n;
	m.done = m.offset + n == m.total;
	m.ctx = r->read_ctx;
	pr->snap_chunk_out = true;
	pr->sent_this_flush = true;
	send(r, &m);
}

/* Send what this follower needs (Raft §5.3): entries from next (batched, pipelined while in
 * REPLICATE), a snapshot when next was compacted away (§7), or an empty heartbeat. */
static void send_append(struct raft *r, struct progress *pr, bool heartbeat)
{
	if (pr->state == PR_SNAPSHOT) {
		if (!pr->snap_chunk_out || heartbeat)
			send_snapshot_chunk(r, pr);
		return;
	}
	if (pr->next <= r->log_start) {
		/* The entries it needs were compacted: InstallSnapshot. */
		if (r->snap.index == 0 || !r->snap.data)
			return; /* no snapshot yet (cannot happen: compaction follows a snapshot) */
		pr->state = PR_SNAPSHOT;
		pr->snap_index = r->snap.index;
		pr->snap_offset = 0;
		rlog(r, 1, "event=snapshot-send to=%u index=%llu", pr->id,
		     (unsigned long long)r->snap.index);
		send_snapshot_chunk(r, pr);
		return;
	}
	for (;;) {
		bool have = pr->next <= last_index(r);
		if (pr->state == PR_PROBE) {
			if (pr->probe_sent && !heartbeat)
				return;
		} else if (pr->inflight >= r->cfg.max_inflight) {
			if (!heartbeat)
				return;
			have = false; /* window full: plain heartbeat */
		}
		if (!have && !heartbeat)
			return;
		struct raft_msg m = {0};
		m.type = RAFT_MSG_APPEND;
		m.to = pr->id;
		m.ctx = r->read_ctx;
		if (!have) {
			/* Heartbeat: check only what is known to match, commit at most that far (a
			 * follower may apply only entries known to be the leader's). */
			m.prev_index = pr->match > r->log_start ? pr->match : r->log_start;
			m.prev_term = term_at(r, m.prev_index, NULL);
			m.commit = r->commit < m.prev_index ? r->commit : m.prev_index;
			send(r, &m);
			pr->sent_this_flush = true;
			return;
		}
		m.prev_index = pr->next - 1;
		m.prev_term = term_at(r, m.prev_index, NULL);
		fill_entries(r, &m, pr->next);
		raft_index sent_last = m.prev_index + m.n_entries;
		m.commit = r->commit < sent_last ? r->commit : sent_last;
		send(r, &m);
		pr->sent_this_flush = true;
		heartbeat = false;
		if (pr->state == PR_PROBE) {
			pr->probe_sent = true;
			return;
		}
		/* REPLICATE: optimistic next, pipelined (thesis §10.2.1) */
		pr->next = sent_last + 1;
		pr->inflight_last[(pr->inflight_head + pr->inflight) % 64] = sent_last;
		pr->inflight++;
	}
}

static void free_inflight(struct progress *pr, raft_index upto)
{
	while (pr->inflight && pr->inflight_last[pr->inflight_head] <= upto) {
		pr->inflight_head = (pr->inflight_head + 1) % 64;
		pr->inflight--;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* apply, replies, reads */

static void take_snapshot_if_due(struct raft *r)
{
	if (!r->cfg.snapshot_every || r->snap_in_flight || r->snap_pending.index)
		return;
	if (r->applied < r->snap.index + r->cfg.snapshot_every)
		return;
	unsigned char *buf;
	size_t len;
	if (raft_kv_snapshot(r->kv, &buf, &len)) {
		r->oom = 1;
		return;
	}
	r->snap_pending.index = r->applied;
	r->snap_pending.term = term_at(r, r->applied, NULL);
	r->snap_pending.data = buf;
	r->snap_pending.len = len;
	r->snap_pending_local = true;
	rlog(r, 1, "event=snapshot-taken index=%llu bytes=%zu", (unsigned long long)r->applied, len);
}

static void advance_reads(struct raft *r);

static void apply_committed(struct raft *r)
{
	while (r->applied < r->commit) {
		const struct raft_entry *e = entry_at(r, r->applied + 1);
		if (!e)
			break; /* not held (cannot happen for a correct leader) */
		struct raft_kv_result res = {0};
		if (e->type == RAFT_ENTRY_CMD) {
			if (raft_kv_apply(r->kv, e->client_id, e->seq, e->data, e->len, &res)) {
				r->oom = 1;
				return;
			}
		}
		r->applied++;
		if (!grow((void **)&r->out.applied, &r->out.cap_applied, r->out.n_applied + 1,
			  sizeof(*r->out.applied))) {
			struct raft_entry c = *e;
			c.data = memdup(e->data, e->len);
			if (c.data)
				r->out.applied[r->out.n_applied++] = c;
		}
		/* the leader answers the client that proposed it */
		bool replied = false;
		while (r->pw_head < r->pw_n && r->pw[r->pw_head].index <= r->applied) {
			struct pending_write *p = &r->pw[r->pw_head++];
			if (p->index == r->applied && p->term == e->term && !p->acked) {
				crash_point(r, RAFT_CRASH_LEADER_AFTER_COMMIT);
				reply(r, p->req_id, RAFT_REPLY_OK, &res);
				replied = true;
			} else if (!p->acked) {
				reply(r, p->req_id, RAFT_REPLY_DROPPED, NULL);
			}
		}
		if (r->pw_head == r->pw_n)
			r->pw_head = r->pw_n = 0;
		if (!replied)
			raft_kv_result_free(&res);
	}
	take_snapshot_if_due(r);
	advance_reads(r);
}

/* Commit rule (Raft §5.3, §5.4.2, Figure 8): the highest index stored on a majority, and only
 * if that entry is of the current term (older entries then commit indirectly). */
static void maybe_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	raft_index m[RAFT_MAX_NODES];
	size_t n = r->cfg.n_nodes;
	for (size_t i = 0; i < n; i++)
		m[i] = i == r->self_idx ? r->persisted_index : r->prs[i].match;
	/* sort descending (n <= 16) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && m[j - 1] < m[j]; j--) {
			raft_index t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	raft_index cand = m[quorum(r) - 1];
	if (cand <= r->commit)
		return;
	bool ok;
	raft_term t = term_at(r, cand, &ok);
	if (!ok)
		return;
	if (t != r->term && !(r->cfg.bugs & RAFT_BUG_COMMIT_OLD_TERM))
		return;
	r->commit = cand;
	apply_committed(r);
}

static bool term_committed(const struct raft *r)
{
	/* ReadIndex needs a commit in the leader's own term (thesis §6.4 step 1). The no-noop bug
	 * also drops this check: the code trusts a no-op it no longer appends. */
	if (r->cfg.bugs & RAFT_BUG_NO_NOOP)
		return true;
	bool ok;
	return term_at(r, r->commit, &ok) == r->term && ok;
}

static size_t confirmations(const struct raft *r, uint64_t ctx)
{
	size_t c = 1;
	for (size_t i = 0; i < r->cfg.n_nodes; i++)
		if (i != r->self_idx && r->prs[i].acked_ctx >= ctx)
			c++;
	return c;
}

static void next_read_ctx(struct raft *r, struct pending_read *p)
{
	if (r->read_ctx <= r->ctx_sent)
		r->read_ctx++;
	p->ctx = r->read_ctx;
	r->heartbeat_due = true;
}

static void advance_reads(struct raft *r)
{
	if (r->role != RAFT_LEADER || !r->rd_n)
		return;
	size_t keep = 0;
	for (size_t i = 0; i < r->rd_n; i++) {
		struct pending_read *p = &r->rd[i];
		if (p->stage == READ_WAIT_TERM_COMMIT && term_committed(r)) {
			p->read_index = r->commit;
			p->stage = READ_WAIT_CONFIRM;
			next_read_ctx(r, p);
		}
		if (p->stage == READ_WAIT_CONFIRM && confirmations(r, p->ctx) >= quorum(r))
			p->stage = READ_WAIT_APPLY;
		if (p->stage == READ_WAIT_APPLY && r->applied >= p->read_index) {
			struct raft_kv_result res;
			if (raft_kv_query(r->kv, p->cmd, p->len, &res)) {
				r->oom = 1;
				r->rd[keep++] = *p;
				continue;
			}
			reply(r, p->req_id, RAFT_REPLY_OK, &res);
			free(p->cmd);
			continue;
		}
		r->rd[keep++] = *p;
	}
	r->rd_n = keep;
}

/* ------------------------------------------------------------------------------------------ */
/* message handlers */

static bool log_up_to_date(const struct raft *r, raft_index idx, raft_term t)
{
	/* Raft §5.4.1: compare last terms, then lengths. */
	if (r->cfg.bugs & RAFT_BUG_NO_LOG_CHECK)
		return true;
	return t > last_term(r) || (t == last_term(r) && idx >= last_index(r));
}

static void handle_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	struct raft_msg resp = {0};
	resp.type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP;
	resp.to = m->from;
	bool can_vote;
	if (pre)
		/* Would we vote in m->term? Only if it is newer and we have not heard from a live
		 * leader within the minimum election timeout (thesis §9.6); our own term is not
		 * changed. A transfer's campaign skips pre-vote altogether. */
		can_vote = (m->term > r->term ||
			    (m->term == r->term && (r->vote == 0 || r->vote == m->from) &&
			     r->leader == 0)) &&
			   r->role != RAFT_LEADER && !heard_leader_recently(r);
	else
		can_vote = m->term == r->term && (r->vote == 0 || r->vote == m->from);
	bool grant = can_vote && log_up_to_date(r, m->last_log_index, m->last_log_term);
	resp.success = grant;
	resp.term = grant && pre ? m->term : r->term;
	if (grant && !pre) {
		r->vote = m->from;
		r->hs_dirty = true;
		reset_election_timer(r);
		rlog(r, 1, "event=vote-granted candidate=%u", m->from);
		crash_point(r, RAFT_CRASH_VOTE_BEFORE_PERSIST);
	}
	send(r, &resp);
}

static void handle_vote_resp(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
	if ((pre && r->role != RAFT_PRECANDIDATE) || (!pre && r->role != RAFT_CANDIDATE))
		return;
	if (pre ? m->term != r->term + 1 && m->success : m->term != r->term)
		return;
	struct progress *pr = pr_of(r, m->from);
	if (!pr || pr->vote_resp)
		return;
	pr->vote_resp = m->success ? 1 : 2;
	size_t yes = 1, no = 0;
	for (size_t i = 0; i < r->cfg.n_nodes; i++) {
		if (i == r->self_idx)
			continue;
		yes += r->prs[i].vote_resp == 1;
		no += r->prs[i].vote_resp == 2;
	}
	if (yes >= quorum(r)) {
		if (pre)
			campaign(r, false, r->campaign_transfer);
		else
			become_leader(r);
	} else if (no >= quorum(r)) {
		become_follower(r, r->term, 0, "lost-election");
	}
}

static void reject_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {0};
	resp.type = RAFT_MSG_APPEND_RESP;
	resp.to = m->from;
	resp.success = false;
	resp.prev_index = m->prev_index;
	resp.ctx = m->ctx;
	resp.match_index = last_index(r);
	raft_index prev = m->prev_index;
	if (prev > last_index(r)) {
		resp.conflict_term = 0;
		resp.conflict_index = last_index(r) + 1;
	} else {
		raft_term t = term_at(r, prev, NULL);
		raft_index i = prev;
		/* first index of that term we hold, not below what is committed */
		while (i > r->commit + 1 && i - 1 > r->log_start && term_at(r, i - 1, NULL) == t)
			i--;
		resp.conflict_term = t;
		resp.conflict_index = i;
	}
	send(r, &resp);
}

static void handle_append(struct raft *r, const struct raft_msg *m)
{
	/* m->term == r->term here: m->from is the leader of this term. */
	if (r->role != RAFT_FOLLOWER)
		become_follower(r, r->term, m->from, "append");
	r->leader = m->from;
	r->heard_leader = true;
	r->last_leader_contact = r->now;
	r->contact_reset = true;
	reset_election_timer(r);

	raft_index prev = m->prev_index;
	raft_term prev_term = m->prev_term;
	size_t skip = 0;
	raft_index msg_last = m->prev_index + m->n_entries;
	struct raft_msg resp = {0};
	resp.type = RAFT_MSG_APPEND_RESP;
	resp.to = m->from;
	resp.prev_index = m->prev_index;
	resp.ctx = m->ctx;
	if (prev < r->commit) {
		/* A leader never holds another entry at an index we committed (State Machine
		 * Safety); if it does, a commit somewhere was wrong: say so, it cannot be undone. */
		for (size_t i = 0; i < m->n_entries && m->entries[i].index <= r->commit; i++) {
			bool known;
			raft_term t = term_at(r, m->entries[i].index, &known);
			if (known && t != m->entries[i].term) {
				if (r->conflict_logged == m->entries[i].index)
					break; /* once per index: the leader retries it */
				r->conflict_logged = m->entries[i].index;
				rlog(r, 2,
				     "event=committed-entry-conflict index=%llu commit=%llu term=%llu "
				     "leader_term=%llu",
				     (unsigned long long)m->entries[i].index,
				     (unsigned long long)r->commit, (unsigned long long)t,
				     (unsigned long long)m->entries[i].term);
				break;
			}
		}
		/* Everything up to our commit index is the leader's already (Leader Completeness). */
		if (msg_last <= r->commit) {
			resp.success = true;
			resp.match_index = r->commit;
			send(r, &resp);
			return;
		}
		skip = (size_t)(r->commit - prev);
		prev = r->commit;
		prev_term = m->entries[skip - 1].term;
	}
	bool ok;
	raft_term have = term_at(r, prev, &ok);
	if (!ok || have != prev_term) {
		/* Consistency check failed (Raft §5.3). */
		reject_append(r, m);
		return;
	}
	for (size_t i = skip; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		bool known;
		raft_term t = term_at(r, e->index, &known);
		if (known && t == e->term)
			continue;
		if (e->index <= last_index(r))
			log_truncate(r, e->index); /* above our commit index (skip): uncommitted */
		if (log_append(r, e)) {
			r->oom = 1;
			return;
		}
	}
	/* Figure 2 step 5: commit = min(leaderCommit, index of last new entry). */
	raft_index c = m->commit < msg_last ? m->commit : msg_last;
	if (c > r->commit) {
		r->commit = c;
		apply_committed(r);
	}
	resp.success = true;
	resp.match_index = msg_last;
	send(r, &resp);
}

static void handle_append_resp(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER)
		return;
	struct progress *pr = pr_of(r, m->from);
	if (!pr)
		return;
	pr->recent_active = true;
	if (m->ctx > pr->acked_ctx)
		pr->acked_ctx = m->ctx;
	if (m->success) {
		raft_index mi = m->match_index;
		if (mi > last_index(r))
			mi = last_index(r); /* cannot match more than we have */
		if (mi > pr->match) {
			/* crash point: first follower to store a client write of this term while
			 * that is not a majority of the followers */
			if (r->cfg.crash && r->cfg.n_nodes >= 3) {
				raft_index others = 0;
				for (size_t i = 0; i < r->cfg.n_nodes; i++)
					if (i != r->self_idx && &r->prs[i] != pr && r->prs[i].match > others)
						others = r->prs[i].match;
				raft_index lo = pr->match > others ? pr->match : others;
				for (raft_index i = lo + 1; i <= mi; i++) {
					const struct raft_entry *e = entry_at(r, i);
					if (e && e->type == RAFT_ENTRY_CMD && e->term == r->term) {
						crash_point(r, RAFT_CRASH_LEADER_PARTIAL);
						break;
					}
				}
			}
			pr->match = mi;
		}
		if (pr->next < pr->match + 1)
			pr->next = pr->match + 1;
		free_inflight(pr, pr->match);
		if (pr->state == PR_PROBE) {
			pr->state = PR_REPLICATE;
			pr->probe_sent = false;
			pr->inflight = 0;
			pr->inflight_head = 0;
			pr->next = pr->match + 1;
		}
		maybe_commit(r);
		advance_reads(r);
		if (r->transfer_target == pr->id && pr->match == last_index(r)) {
			struct raft_msg tn = {0};
			tn.type = RAFT_MSG_TIMEOUT_NOW;
			tn.to = pr->id;
			send(r, &tn);
		}
		return;
	}
	advance_reads(r);
	/* Rejected. Ignore stale rejections (of positions we already know match, or of a probe
	 * we no longer wait for). */
	if (m->prev_index < pr->match || pr->state == PR_SNAPSHOT)
		return;
	if (pr->state == PR_PROBE && m->prev_index != pr->next - 1)
		return;
	/* Fast backtracking (thesis §5.3): skip the whole conflicting term. */
	raft_index next;
	if (m->conflict_term) {
		raft_index i = m->prev_index < last_index(r) ? m->prev_index : last_index(r);
		while (i > r->log_start && term_at(r, i, NULL) > m->conflict_term)
			i--;
		bool ok;
		if (i > r->log_start && term_at(r, i, &ok) == m->conflict_term && ok)
			next = i + 1;
		else
			next = m->conflict_index;
	} else {
		next = m->conflict_index;
	}
	if (next > m->prev_index)
		next = m->prev_index; /* must move back */
	if (next < pr->match + 1)
		next = pr->match + 1;
	if (next < 1)
		next = 1;
	pr->next = next;
	pr->state = PR_PROBE;
	pr->probe_sent = false;
	pr->inflight = 0;
	pr->inflight_head = 0;
}

static void install_snapshot(struct raft *r, raft_index index, raft_term term)
{
	char err[160];
	if (raft_kv_restore(r->kv, r->rx_buf, r->rx_len, err, sizeof(err))) {
		rlog(r, 2, "event=snapshot-rejected index=%llu error=\"%s\"",
		     (unsigned long long)index, err);
		return;
	}
	bool ok;
	raft_term t = term_at(r, index, &ok);
	if (ok && t == term && index <= last_index(r)) {
		/* Raft §7: keep the entries that follow a matching snapshot point. */
		log_compact(r, index);
		if (!r->compact_pending || r->compact_pending < index)
			r->compact_pending = index;
	} else {
		log_reset(r, index, term);
	}
	free(r->snap_pending.data);
	r->snap_pending.index = index;
	r->snap_pending.term = term;
	r->snap_pending.data = r->rx_buf;
	r->snap_pending.len = r->rx_len;
	r->snap_pending_local = false;
	r->rx_buf = NULL;
	r->rx_len = 0;
	r->rx_index = 0;
	r->commit = index;
	r->applied = index;
	rlog(r, 1, "event=snapshot-installed index=%llu term=%llu", (unsigned long long)index,
	     (unsigned long long)term);
}

static void handle_snapshot(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_FOLLOWER)
		become_follower(r, r->term, m->from, "snapshot");
	r->leader = m->from;
	r->heard_leader = true;
	r->last_leader_contact = r->now;
	r->contact_reset = true;
	reset_election_timer(r);
	struct raft_msg resp = {0};
	resp.type = RAFT_MSG_SNAPSHOT_RESP;
	resp.to = m->from;
	resp.snap_index = m->snap_index;
	resp.ctx = m->ctx;
	if (m->snap_index <= r->commit) {
		/* we already have all of it */
		resp.success = true;
		resp.offset = m->total;
		resp.match_index = r->commit;
		send(r, &resp);
		return;
	}
	if (m->offset == 0 || r->rx_index != m->snap_index || r->rx_term != m->snap_term ||
	    r->rx_total != m->total) {
		if (m->offset != 0) {
			resp.success = false;
			resp.offset = 0;
			send(r, &resp);
			return;
		}
		free(r->rx_buf);
		r->rx_buf = NULL;
		r->rx_len = 0;
		r->rx_index = m->snap_index;
		r->rx_term = m->snap_term;
		r->rx_total = m->total;
	}
	if (m->offset != r->rx_len) {
		resp.success = m->offset < r->rx_len; /* duplicate of a chunk we have */
		resp.offset = r->rx_len;
		send(r, &resp);
		return;
	}
	if (m->len) {
		unsigned char *nb = realloc(r->rx_buf, r->rx_len + m->len);
		if (!nb) {
			r->oom = 1;
			return;
		}
		r->rx_buf = nb;
		memcpy(r->rx_buf + r->rx_len, m->data, m->len);
		r->rx_len += m->len;
	}
	resp.success = true;
	resp.offset = r->rx_len;
	if (r->rx_len == r->rx_total) {
		if (!m->done) {
			resp.success = false;
			resp.offset = 0;
			free(r->rx_buf);
			r->rx_buf = NULL;
			r->rx_len = 0;
			r->rx_index = 0;
			send(r, &resp);
			return;
		}
		raft_index idx = m->snap_index;
		install_snapshot(r, idx, m->snap_term);
		if (r->applied != idx) {
			/* restore failed: start over */
			free(r->rx_buf);
			r->rx_buf = NULL;
			r->rx_len = 0;
			r->rx_index = 0;
			resp.success = false;
			resp.offset = 0;
		} else {
			resp.match_index = idx;
			resp.offset = m->total;
		}
	}
	send(r, &resp);
}

static void handle_snapshot_resp(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER)
		return;
	struct progress *pr = pr_of(r, m->from);
	if (!pr)
		return;
	pr->recent_active = true;
	if (m->ctx > pr->acked_ctx)
		pr->acked_ctx = m->ctx;
	if (pr->state != PR_SNAPSHOT) {
		if (m->success && m->match_index > pr->match && m->match_index <= last_index(r)) {
			pr->match = m->match_index;
			if (pr->next <= pr->match)
				pr->next = pr->match + 1;
			maybe_commit(r);
		}
		advance_reads(r);
		return;
	}
	if (m->snap_index != pr->snap_index) {
		advance_reads(r);
		return;
	}
	pr->snap_chunk_out = false;
	if (m->success && m->offset >= r->snap.len && m->match_index) {
		if (m->match_index > pr->match && m->match_index <= last_index(r))
			pr->match = m->match_index;
		pr->next = pr->match + 1;
		pr->state = PR_PROBE;
		pr->probe_sent = false;
		maybe_commit(r);
	} else {
		pr->snap_offset = m->offset <= r->snap.len ? m->offset : 0;
	}
	advance_reads(r);
}

/* ------------------------------------------------------------------------------------------ */
/* public: config, bugs, crash points */

struct bug_info {
	unsigned bit;
	const char *name;
	const char *desc;
};

static const struct bug_info bugs[RAFT_BUG_COUNT] = {
	{RAFT_BUG_COMMIT_OLD_TERM, "commit-old-term",
	 "commit entries of earlier terms by counting replicas (Raft Figure 8)"},
	{RAFT_BUG_ACK_BEFORE_COMMIT, "ack-before-commit",
	 "reply to a write once the leader stored it, before a majority did"},
	{RAFT_BUG_STALE_READ, "stale-read",
	 "serve reads from local state without confirming leadership (no ReadIndex)"},
	{RAFT_BUG_FORGET_VOTE, "forget-vote", "do not persist the vote; a restart forgets it"},
	{RAFT_BUG_NO_LOG_CHECK, "no-log-check",
	 "grant votes without the election restriction (up-to-date log check)"},
	{RAFT_BUG_NO_NOOP, "no-noop",
	 "no no-op entry when taking office; ReadIndex trusts a stale commit index"},
};

const char *raft_bug_name(unsigned bit)
{
	for (size_t i = 0; i < RAFT_BUG_COUNT; i++)
		if (bugs[i].bit == bit)
			return bugs[i].name;
	return NULL;
}

const char *raft_bug_describe(unsigned bit)
{
	for (size_t i = 0; i < RAFT_BUG_COUNT; i++)
		if (bugs[i].bit == bit)
			return bugs[i].desc;
	return NULL;
}

int raft_bug_parse(const char *name, unsigned *bit, char *err, size_t errlen)
{
	for (size_t i = 0; name && i < RAFT_BUG_COUNT; i++) {
		if (strcmp(bugs[i].name, name) == 0) {
			*bit = bugs[i].bit;
			return 0;
		}
	}
	return err_set(err, errlen, SB_EINVAL,
		       "unknown bug '%s' (known: commit-old-term, ack-before-commit, stale-read, "
		       "forget-vote, no-log-check, no-noop)",
		       name ? name : "");
}

const char *const raft_crash_points[RAFT_CRASH_POINT_COUNT + 1] = {
	RAFT_CRASH_LEADER_BEFORE_APPEND, RAFT_CRASH_LEADER_AFTER_APPEND, RAFT_CRASH_LEADER_PARTIAL,
	RAFT_CRASH_LEADER_AFTER_COMMIT,	 RAFT_CRASH_VOTE_BEFORE_PERSIST, RAFT_CRASH_VOTE_AFTER_PERSIST,
	RAFT_CRASH_VOTE_AFTER_SEND,	 RAFT_CRASH_LEADER_COMMIT_SENT, NULL,
};

const char *const raft_crash_point_help[RAFT_CRASH_POINT_COUNT + 1] = {
	"leader got a client write, before appending it to its log",
	"leader's log with the write is durable, before sending it to followers",
	"first follower stored the write, not yet a majority of followers",
	"write committed and applied on the leader, before the reply",
	"vote granted in memory, before it is persisted",
	"vote persisted, before the vote reply is sent",
	"vote reply sent to the candidate, before anything else happens",
	"leader sent followers a commit index it advanced, before anything else happens",
	NULL,
};

const char *raft_role_name(int role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "unknown";
}

void raft_config_init(struct raft_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->election_timeout_min_ms = 150;
	cfg->election_timeout_max_ms = 300;
	cfg->heartbeat_ms = 50;
	cfg->pre_vote = true;
	cfg->check_quorum = true;
	cfg->snapshot_every = 1024;
	cfg->snapshot_trailing = 64;
	cfg->snapshot_chunk = 64 * 1024;
	cfg->max_append_entries = 256;
	cfg->max_append_bytes = 1024 * 1024;
	cfg->max_inflight = 8;
}

int raft_config_validate(const struct raft_config *cfg, char *err, size_t errlen)
{
	if (cfg->n_nodes < 1 || cfg->n_nodes > RAFT_MAX_NODES)
		return err_set(err, errlen, SB_EINVAL, "config: %zu nodes (want 1..%d)", cfg->n_nodes,
			       RAFT_MAX_NODES);
	bool self = false;
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		raft_id id = cfg->nodes[i].id;
		if (id < 1 || id > RAFT_MAX_NODES)
			return err_set(err, errlen, SB_EINVAL, "config: node id %u out of range 1..%d",
				       id, RAFT_MAX_NODES);
		for (size_t j = 0; j < i; j++)
			if (cfg->nodes[j].id == id)
				return err_set(err, errlen, SB_EINVAL, "config: node id %u listed twice",
					       id);
		self |= id == cfg->self;
	}
	if (!self)
		return err_set(err, errlen, SB_EINVAL, "config: self id %u is not among the nodes",
			       cfg->self);
	if (cfg->election_timeout_min_ms < 1 ||
	    cfg->election_timeout_max_ms <= cfg->election_timeout_min_ms)
		return err_set(err, errlen, SB_EINVAL,
			       "config: election timeout %u-%u ms (want 0 < min < max)",
			       cfg->election_timeout_min_ms, cfg->election_timeout_max_ms);
	if (cfg->heartbeat_ms < 1 || cfg->heartbeat_ms >= cfg->election_timeout_min_ms)
		return err_set(err, errlen, SB_EINVAL,
			       "config: heartbeat %u ms must be > 0 and below the minimum election "
			       "timeout %u ms",
			       cfg->heartbeat_ms, cfg->election_timeout_min_ms);
	if (cfg->snapshot_chunk < 1 || cfg->snapshot_chunk > RAFT_MAX_CHUNK_BYTES)
		return err_set(err, errlen, SB_EINVAL, "config: snapshot chunk %zu (want 1..%u)",
			       cfg->snapshot_chunk, RAFT_MAX_CHUNK_BYTES);
	if (cfg->max_append_entries < 1 || cfg->max_append_entries > RAFT_MAX_MSG_ENTRIES)
		return err_set(err, errlen, SB_EINVAL, "config: max_append_entries %zu (want 1..%u)",
			       cfg->max_append_entries, RAFT_MAX_MSG_ENTRIES);
	if (cfg->max_append_bytes < 1)
		return err_set(err, errlen, SB_EINVAL, "config: max_append_bytes must be > 0");
	if (cfg->max_inflight < 1 || cfg->max_inflight > 64)
		return err_set(err, errlen, SB_EINVAL, "config: max_inflight %zu (want 1..64)",
			       cfg->max_inflight);
	if (cfg->bugs & ~((1u << RAFT_BUG_COUNT) - 1))
		return err_set(err, errlen, SB_EINVAL, "config: unknown bug bits 0x%x", cfg->bugs);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* public: lifecycle */

static int load_persisted(struct raft *r, const struct raft_persisted *ps, char *err,
			  size_t errlen)
{
	if (ps->hs.term > RAFT_MAX_TERM || ps->snapshot.term > RAFT_MAX_TERM)
		return err_set(err, errlen, SB_EINVAL, "persisted term above %llu",
			       (unsigned long long)RAFT_MAX_TERM);
	r->term = ps->hs.term;
	r->vote = ps->hs.vote;
	if (r->vote && !pr_of(r, r->vote) && r->vote != r->cfg.self)
		return err_set(err, errlen, SB_EINVAL, "persisted vote for unknown node %u", r->vote);
	const struct raft_snapshot *sn = &ps->snapshot;
	if (sn->index) {
		if (!sn->data && sn->len)
			return err_set(err, errlen, SB_EINVAL, "persisted snapshot has no data");
		int rc = raft_kv_restore(r->kv, sn->data, sn->len, err, errlen);
		if (rc) {
			err_prefix(err, errlen, "persisted snapshot at index %llu",
				   (unsigned long long)sn->index);
			return rc;
		}
		r->snap.index = sn->index;
		r->snap.term = sn->term;
		r->snap.len = sn->len;
		r->snap.data = memdup(sn->data, sn->len);
		if (!r->snap.data)
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		r->log_start = sn->index;
		r->log_start_term = sn->term;
	}
	if (ps->n_entries && !ps->entries)
		return err_set(err, errlen, SB_EINVAL, "persisted log: entries missing");
	/* Where does the persisted log meet the snapshot? */
	size_t from = 0;
	bool continues = true;
	if (ps->n_entries && sn->index) {
		raft_index first = ps->entries[0].index;
		if (first > sn->index + 1) {
			continues = false;
		} else if (first <= sn->index) {
			size_t at = (size_t)(sn->index - first);
			if (at < ps->n_entries && ps->entries[at].term != sn->term)
				continues = false;
			from = at + 1;
		}
	}
	if (!continues) {
		rlog(r, 2, "event=log-discarded reason=does-not-continue-snapshot snapshot_index=%llu",
		     (unsigned long long)sn->index);
		from = ps->n_entries;
	}
	for (size_t i = from; i < ps->n_entries; i++) {
		const struct raft_entry *e = &ps->entries[i];
		if (e->index != last_index(r) + 1)
			return err_set(err, errlen, SB_EINVAL,
				       "persisted log: entry %zu has index %llu, expected %llu", i,
				       (unsigned long long)e->index,
				       (unsigned long long)(last_index(r) + 1));
		if (e->term > RAFT_MAX_TERM)
			return err_set(err, errlen, SB_EINVAL, "persisted log: entry %llu has term %llu",
				       (unsigned long long)e->index, (unsigned long long)e->term);
		if (e->term < last_term(r))
			return err_set(err, errlen, SB_EINVAL,
				       "persisted log: entry %llu has term %llu below the previous %llu",
				       (unsigned long long)e->index, (unsigned long long)e->term,
				       (unsigned long long)last_term(r));
		if (e->type != RAFT_ENTRY_NOOP && e->type != RAFT_ENTRY_CMD)
			return err_set(err, errlen, SB_EINVAL, "persisted log: entry %llu has type %u",
				       (unsigned long long)e->index, e->type);
		if (e->len && !e->data)
			return err_set(err, errlen, SB_EINVAL, "persisted log: entry %llu has no data",
				       (unsigned long long)e->index);
		if (log_append(r, e))
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	if (last_term(r) > r->term) {
		/* The log is ahead of the hard state (a crash between the two writes): we never
		 * voted in that term durably, so adopt it with no vote. */
		r->term = last_term(r);
		r->vote = 0;
		r->hs_dirty = true;
	}
	r->commit = r->applied = r->snap.index;
	r->persisted_index = last_index(r);
	r->unstable_from = last_index(r) + 1;
	return 0;
}

int raft_create(const struct raft_config *cfg, const struct raft_persisted *ps, uint64_t now_ms,
		struct raft **out, char *err, size_t errlen)
{
	int rc = raft_config_validate(cfg, err, errlen);
	if (rc)
		return rc;
	struct raft *r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	r->cfg = *cfg;
	r->now = now_ms;
	/* Deterministic, seeded from the config (no ambient randomness); each node its own stream. */
	rng_seed(&r->rng, cfg->seed ^ (0x9e3779b97f4a7c15ull * (cfg->self + 1)));
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		r->prs[i].id = cfg->nodes[i].id;
		r->prs[i].priority = cfg->nodes[i].priority;
		if (cfg->nodes[i].id == cfg->self)
			r->self_idx = i;
	}
	r->kv = raft_kv_new();
	if (!r->kv) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	r->role = RAFT_FOLLOWER;
	if (ps) {
		rc = load_persisted(r, ps, err, errlen);
		if (rc)
			goto out;
	}
	reset_election_timer(r);
	r->timer_reset = false; /* dated by now_ms, which the shell gave us */
	rlog(r, 1, "event=started term=%llu last_index=%llu snapshot_index=%llu",
	     (unsigned long long)r->term, (unsigned long long)last_index(r),
	     (unsigned long long)r->snap.index);
	*out = r;
	return 0;
out:
	raft_destroy(r);
	return rc;
}

static void handed_release(struct raft *r)
{
	outbox_clear(&r->handed);
	for (size_t i = 0; i < r->h_n_entries; i++)
		free(r->h_entries[i].data);
	free(r->h_entries);
	r->h_entries = NULL;
	r->h_n_entries = 0;
	free(r->h_snap.data);
	memset(&r->h_snap, 0, sizeof(r->h_snap));
	r->h_active = false;
	r->h_has_hs = r->h_vote_granted = r->h_leader_cmd = r->h_commit_told = false;
}

void raft_destroy(struct raft *r)
{
	if (!r)
		return;
	handed_release(r);
	outbox_free(&r->handed);
	outbox_free(&r->out);
	for (size_t i = 0; i < r->log_n; i++)
		free(r->log[i].data);
	free(r->log);
	free(r->snap.data);
	free(r->snap_pending.data);
	free(r->rx_buf);
	for (size_t i = 0; i < r->rd_n; i++)
		free(r->rd[i].cmd);
	free(r->rd);
	free(r->pw);
	raft_kv_free(r->kv);
	free(r);
}

static int status_rc(struct raft *r)
{
	return r->oom ? SB_ENOMEM : 0;
}

int raft_tick(struct raft *r, uint64_t now_ms)
{
	if (now_ms > r->now)
		r->now = now_ms;
	if (r->timer_reset) {
		r->election_deadline = r->now + r->timer_offset;
		r->timer_reset = false;
	}
	if (r->contact_reset) {
		r->last_leader_contact = r->now;
		r->contact_reset = false;
	}
	if (r->role == RAFT_LEADER) {
		if (r->now >= r->heartbeat_deadline) {
			r->heartbeat_due = true;
			r->heartbeat_deadline = r->now + r->cfg.heartbeat_ms;
			for (size_t i = 0; i < r->cfg.n_nodes; i++) {
				struct progress *pr = &r->prs[i];
				if (i == r->self_idx)
					continue;
				/* Retransmission: a pipeline that made no progress for a heartbeat
				 * interval (lost messages) falls back to probing from match. */
				if (pr->state == PR_REPLICATE && pr->inflight &&
				    pr->match == pr->hb_match) {
					pr->state = PR_PROBE;
					pr->next = pr->match + 1;
					pr->inflight = 0;
					pr->inflight_head = 0;
				}
				pr->hb_match = pr->match;
				pr->probe_sent = false;
			}
		}
		if (r->now >= r->cq_deadline) {
			/* Check-quorum (thesis §6.2): step down without a majority's contact. */
			size_t active = 1;
			for (size_t i = 0; i < r->cfg.n_nodes; i++) {
				if (i == r->self_idx)
					continue;
				active += r->prs[i].recent_active;
				r->prs[i].recent_active = false;
			}
			r->cq_deadline = r->now + r->cfg.election_timeout_max_ms;
			if (r->cfg.check_quorum && active < quorum(r)) {
				become_follower(r, r->term, 0, "check-quorum");
				return status_rc(r);
			}
		}
		if (r->transfer_target && r->now >= r->transfer_deadline) {
			rlog(r, 1, "event=transfer-aborted target=%u", r->transfer_target);
			r->transfer_target = 0;
		}
		return status_rc(r);
	}
	if (r->now >= r->election_deadline)
		start_election(r, false);
	return status_rc(r);
}

uint64_t raft_next_deadline(const struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return r->election_deadline;
	uint64_t d = r->heartbeat_deadline;
	if (r->cq_deadline < d)
		d = r->cq_deadline;
	if (r->transfer_target && r->transfer_deadline < d)
		d = r->transfer_deadline;
	return d;
}

static int validate_msg(const struct raft *r, const struct raft_msg *m, char *err, size_t errlen)
{
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW)
		return err_set(err, errlen, SB_EINVAL, "message of unknown type %u", m->type);
	if (m->to != r->cfg.self)
		return err_set(err, errlen, SB_EINVAL, "message for node %u delivered to node %u",
			       m->to, r->cfg.self);
	if (m->from == r->cfg.self || !pr_of((struct raft *)r, m->from))
		return err_set(err, errlen, SB_EINVAL, "message from unknown node %u", m->from);
	if (m->term > RAFT_MAX_TERM || m->last_log_term > RAFT_MAX_TERM ||
	    m->prev_term > RAFT_MAX_TERM || m->conflict_term > RAFT_MAX_TERM ||
	    m->snap_term > RAFT_MAX_TERM)
		return err_set(err, errlen, SB_EINVAL, "message with a term above %llu",
			       (unsigned long long)RAFT_MAX_TERM);
	if (m->n_entries && m->type != RAFT_MSG_APPEND)
		return err_set(err, errlen, SB_EINVAL, "message type %u with entries", m->type);
	if (m->n_entries > RAFT_MAX_MSG_ENTRIES)
		return err_set(err, errlen, SB_EINVAL, "append with %zu entries (limit %u)",
			       m->n_entries, RAFT_MAX_MSG_ENTRIES);
	if (m->n_entries && !m->entries)
		return err_set(err, errlen, SB_EINVAL, "append without its entries");
	if (m->type == RAFT_MSG_APPEND) {
		if (m->prev_index > UINT64_MAX - RAFT_MAX_MSG_ENTRIES)
			return err_set(err, errlen, SB_EINVAL, "append prev_index %llu out of range",
				       (unsigned long long)m->prev_index);
		if (m->prev_index == 0 && m->prev_term != 0)
			return err_set(err, errlen, SB_EINVAL, "append at index 0 with term %llu",
				       (unsigned long long)m->prev_term);
		if (m->prev_term > m->term)
			return err_set(err, errlen, SB_EINVAL, "append prev_term %llu above term %llu",
				       (unsigned long long)m->prev_term, (unsigned long long)m->term);
		raft_term t = m->prev_term;
		for (size_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];
			if (e->index != m->prev_index + 1 + i)
				return err_set(err, errlen, SB_EINVAL,
					       "append entry %zu has index %llu, expected %llu", i,
					       (unsigned long long)e->index,
					       (unsigned long long)(m->prev_index + 1 + i));
			if (e->term < t || e->term > m->term || e->term == 0)
				return err_set(err, errlen, SB_EINVAL,
					       "append entry %llu has term %llu out of order",
					       (unsigned long long)e->index, (unsigned long long)e->term);
			t = e->term;
			if (e->type != RAFT_ENTRY_NOOP && e->type != RAFT_ENTRY_CMD)
				return err_set(err, errlen, SB_EINVAL,
					       "append entry %llu has unknown type %u",
					       (unsigned long long)e->index, e->type);
			if (e->len > RAFT_MAX_ENTRY_BYTES || (e->len && !e->data))
				return err_set(err, errlen, SB_EINVAL,
					       "append entry %llu has bad length %zu",
					       (unsigned long long)e->index, e->len);
		}
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (m->len > RAFT_MAX_CHUNK_BYTES || (m->len && !m->data))
			return err_set(err, errlen, SB_EINVAL, "snapshot chunk of bad length %zu",
				       m->len);
		if (m->total > MAX_SNAPSHOT_BYTES || m->offset > m->total ||
		    m->len > m->total - m->offset)
			return err_set(err, errlen, SB_EINVAL,
				       "snapshot chunk at %llu+%zu outside total %llu",
				       (unsigned long long)m->offset, m->len,
				       (unsigned long long)m->total);
		if (m->snap_index == 0 || m->snap_term == 0 || m->snap_term > m->term)
			return err_set(err, errlen, SB_EINVAL, "snapshot with index %llu term %llu",
				       (unsigned long long)m->snap_index,
				       (unsigned long long)m->snap_term);
	}
	return 0;
}

int raft_step(struct raft *r, const struct raft_msg *m, char *err, size_t errlen)
{
	int rc = validate_msg(r, m, err, errlen);
	if (rc)
		return rc;
	bool vote_req = m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE;
	if (m->term > r->term) {
		if (vote_req && !m->transfer && lease_active(r))
			return 0; /* thesis §4.2.3: a live leader exists; ignore */
		bool pre_grant = m->type == RAFT_MSG_PREVOTE_RESP && m->success;
		if (m->type != RAFT_MSG_PREVOTE && !pre_grant) {
			raft_id l = (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT)
					    ? m->from
					    : 0;
			become_follower(r, m->term, l, "higher-term");
		}
	} else if (m->term < r->term) {
		if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT) {
			/* A stale leader: tell it our term so it steps down. */
			struct raft_msg resp = {0};
			resp.type = RAFT_MSG_APPEND_RESP;
			resp.to = m->from;
			resp.prev_index = m->prev_index;
			send(r, &resp);
		} else if (m->type == RAFT_MSG_PREVOTE) {
			struct raft_msg resp = {0};
			resp.type = RAFT_MSG_PREVOTE_RESP;
			resp.to = m->from;
			send(r, &resp);
		}
		return status_rc(r);
	}
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		if (m->term == r->term && !m->transfer && m->type == RAFT_MSG_PREVOTE &&
		    lease_active(r)) {
			/* same-term pre-vote while we have a live leader */
			struct raft_msg resp = {0};
			resp.type = RAFT_MSG_PREVOTE_RESP;
			resp.to = m->from;
			send(r, &resp);
			break;
		}
		handle_vote(r, m);
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		handle_vote_resp(r, m);
		break;
	case RAFT_MSG_APPEND:
		if (r->role == RAFT_LEADER) {
			rlog(r, 2, "event=two-leaders other=%u", m->from);
			break;
		}
		handle_append(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		handle_append_resp(r, m);
		break;
	case RAFT_MSG_SNAPSHOT:
		if (r->role == RAFT_LEADER) {
			rlog(r, 2, "event=two-leaders other=%u", m->from);
			break;
		}
		handle_snapshot(r, m);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		handle_snapshot_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		if (r->role == RAFT_FOLLOWER && m->from == r->leader) {
			rlog(r, 1, "event=timeout-now from=%u", m->from);
			start_election(r, true);
		}
		break;
	}
	return status_rc(r);
}

int raft_propose(struct raft *r, uint64_t req_id, uint64_t client_id, uint64_t seq,
		 const void *cmd, size_t len, char *err, size_t errlen)
{
	int k = raft_kv_is_read(cmd, len);
	if (k < 0) {
		struct raft_kv_cmd c;
		raft_kv_decode(cmd, len, &c, err, errlen);
		err_prefix(err, errlen, "write");
		return SB_EINVAL;
	}
	if (k == 1)
		return err_set(err, errlen, SB_EINVAL, "write: a read-only command (use a read)");
	if (r->role != RAFT_LEADER || r->transfer_target) {
		reply(r, req_id, RAFT_REPLY_NOT_LEADER, NULL);
		return status_rc(r);
	}
	crash_point(r, RAFT_CRASH_LEADER_BEFORE_APPEND);
	struct raft_entry e = {.term = r->term,
			       .index = last_index(r) + 1,
			       .type = RAFT_ENTRY_CMD,
			       .client_id = client_id,
			       .seq = seq,
			       .data = (unsigned char *)(uintptr_t)cmd,
			       .len = len};
	if (r->pw_head && r->pw_head * 2 >= r->pw_n) {
		/* reuse the answered front of the queue (it never empties under steady load) */
		memmove(r->pw, r->pw + r->pw_head, (r->pw_n - r->pw_head) * sizeof(*r->pw));
		r->pw_n -= r->pw_head;
		r->pw_head = 0;
	}
	if (grow((void **)&r->pw, &r->pw_cap, r->pw_n + 1, sizeof(*r->pw)) || log_append(r, &e))
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	r->pw[r->pw_n++] = (struct pending_write){.index = e.index, .term = e.term, .req_id = req_id};
	return status_rc(r);
}

int raft_read(struct raft *r, uint64_t req_id, const void *cmd, size_t len, char *err,
	      size_t errlen)
{
	int k = raft_kv_is_read(cmd, len);
	if (k < 0) {
		struct raft_kv_cmd c;
		raft_kv_decode(cmd, len, &c, err, errlen);
		err_prefix(err, errlen, "read");
		return SB_EINVAL;
	}
	if (k == 0)
		return err_set(err, errlen, SB_EINVAL, "read: a write command (use a write)");
	if (r->role != RAFT_LEADER) {
		reply(r, req_id, RAFT_REPLY_NOT_LEADER, NULL);
		return status_rc(r);
	}
	if (r->cfg.bugs & RAFT_BUG_STALE_READ) {
		struct raft_kv_result res;
		if (raft_kv_query(r->kv, cmd, len, &res))
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		reply(r, req_id, RAFT_REPLY_OK, &res);
		return status_rc(r);
	}
	if (grow((void **)&r->rd, &r->rd_cap, r->rd_n + 1, sizeof(*r->rd)))
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	struct pending_read p = {.req_id = req_id, .len = len, .stage = READ_WAIT_TERM_COMMIT};
	p.cmd = memdup(cmd, len);
	if (!p.cmd)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	r->rd[r->rd_n++] = p;
	advance_reads(r);
	return status_rc(r);
}

int raft_transfer(struct raft *r, raft_id target, char *err, size_t errlen)
{
	if (r->role != RAFT_LEADER)
		return err_set(err, errlen, SB_EINVAL, "transfer: node %u is not the leader",
			       r->cfg.self);
	if (r->transfer_target)
		return err_set(err, errlen, SB_EINVAL, "transfer: already transferring to node %u",
			       r->transfer_target);
	if (r->cfg.n_nodes == 1)
		return err_set(err, errlen, SB_EINVAL, "transfer: no other node");
	struct progress *pr = NULL;
	if (target) {
		if (target == r->cfg.self)
			return err_set(err, errlen, SB_EINVAL, "transfer: node %u is already leader",
				       target);
		pr = pr_of(r, target);
		if (!pr)
			return err_set(err, errlen, SB_EINVAL, "transfer: unknown node %u", target);
	} else {
		/* Prefer the most up-to-date follower; among equals the highest priority. */
		for (size_t i = 0; i < r->cfg.n_nodes; i++) {
			struct progress *c = &r->prs[i];
			if (i == r->self_idx)
				continue;
			if (!pr || c->match > pr->match ||
			    (c->match == pr->match && c->priority > pr->priority))
				pr = c;
		}
	}
	r->transfer_target = pr->id;
	r->transfer_deadline = r->now + r->cfg.election_timeout_max_ms;
	rlog(r, 1, "event=transfer-started target=%u", pr->id);
	if (pr->match == last_index(r)) {
		struct raft_msg tn = {0};
		tn.type = RAFT_MSG_TIMEOUT_NOW;
		tn.to = pr->id;
		send(r, &tn);
	}
	return status_rc(r);
}

/* ------------------------------------------------------------------------------------------ */
/* public: ready / persisted / advance */

static bool need_send(const struct raft *r, const struct progress *pr)
{
	if (pr->state == PR_SNAPSHOT)
		return !pr->snap_chunk_out;
	if (pr->next <= r->log_start)
		return r->snap.data != NULL; /* a snapshot to send (always, after compaction) */
	if (pr->next > last_index(r))
		return false;
	if (pr->state == PR_PROBE)
		return !pr->probe_sent;
	return pr->inflight < r->cfg.max_inflight;
}

bool raft_has_ready(const struct raft *r)
{
	if (r->hs_dirty || r->unstable_from <= last_index(r) || r->trunc_pending ||
	    r->snap_pending.index || r->compact_pending || r->out.n_msgs || r->out.n_replies ||
	    r->out.n_applied)
		return true;
	if (r->role == RAFT_LEADER) {
		if (r->heartbeat_due)
			return true;
		for (size_t i = 0; i < r->cfg.n_nodes; i++)
			if (i != r->self_idx && need_send(r, &r->prs[i]))
				return true;
	}
	return false;
}

static void flush_leader(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	for (size_t i = 0; i < r->cfg.n_nodes; i++) {
		struct progress *pr = &r->prs[i];
		if (i == r->self_idx)
			continue;
		pr->sent_this_flush = false;
		if (need_send(r, pr))
			send_append(r, pr, false);
	}
	if (r->heartbeat_due) {
		for (size_t i = 0; i < r->cfg.n_nodes; i++) {
			struct progress *pr = &r->prs[i];
			if (i != r->self_idx && !pr->sent_this_flush)
				send_append(r, pr, true);
		}
		r->heartbeat_due = false;
	}
	r->ctx_sent = r->read_ctx;
}

int raft_ready(struct raft *r, struct raft_ready *rd)
{
	memset(rd, 0, sizeof(*rd));
	if (r->h_active)
		raft_advance(r);
	flush_leader(r);
	if (r->hs_dirty) {
		rd->hs_changed = true;
		rd->hs.term = r->term;
		/* forget-vote bug: the vote never reaches stable storage */
		rd->hs.vote = (r->cfg.bugs & RAFT_BUG_FORGET_VOTE) ? 0 : r->vote;
		r->hs_dirty = false;
		r->h_has_hs = true;
	}
	/* A snapshot taken here goes out only once the entries it covers were handed out: a
	 * storage may discard a log that does not reach the snapshot when it saves it. */
	if (r->snap_pending.index &&
	    (!r->snap_pending_local || r->unstable_from > r->snap_pending.index)) {
		r->h_snap = r->snap_pending;
		memset(&r->snap_pending, 0, sizeof(r->snap_pending));
		rd->snapshot = &r->h_snap;
		r->snap_in_flight = true;
	}
	rd->truncate_from = r->trunc_pending;
	r->trunc_pending = 0;
	raft_index last = last_index(r);
	if (r->unstable_from <= r->log_start) {
		/* An installed snapshot covers entries the shell never got: its log must restart
		 * after the snapshot (written first in this ready), not continue with a gap. */
		rd->truncate_from = r->log_start + 1;
		if (r->compact_pending < r->log_start)
			r->compact_pending = r->log_start;
		r->unstable_from = r->log_start + 1;
	}
	if (r->unstable_from <= last) {
		size_t n = (size_t)(last - r->unstable_from + 1);
		r->h_entries = calloc(n, sizeof(*r->h_entries));
		if (!r->h_entries)
			return SB_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const struct raft_entry *e = entry_at(r, r->unstable_from + i);
			r->h_entries[i] = *e;
			r->h_entries[i].data = memdup(e->data, e->len);
			if (!r->h_entries[i].data)
				return SB_ENOMEM;
			r->h_n_entries = i + 1;
			if (e->type == RAFT_ENTRY_CMD && e->term == r->term && r->role == RAFT_LEADER)
				r->h_leader_cmd = true;
		}
		rd->entries = r->h_entries;
		rd->n_entries = n;
	}
	r->unstable_from = last + 1;
	rd->compact_upto = r->compact_pending;
	r->compact_pending = 0;
	struct outbox tmp = r->handed;
	r->handed = r->out;
	r->out = tmp;
	rd->msgs = r->handed.msgs;
	rd->n_msgs = r->handed.n_msgs;
	rd->replies = r->handed.replies;
	rd->n_replies = r->handed.n_replies;
	rd->applied = r->handed.applied;
	rd->n_applied = r->handed.n_applied;
	for (size_t i = 0; i < rd->n_msgs; i++) {
		const struct raft_msg *m = &rd->msgs[i];
		if (m->type == RAFT_MSG_VOTE_RESP && m->success)
			r->h_vote_granted = true;
		if (m->type == RAFT_MSG_APPEND && r->role == RAFT_LEADER && m->commit > r->commit_told) {
			r->commit_told = m->commit;
			r->h_commit_told = true;
		}
	}
	r->h_last = last;
	r->h_active = true;
	return status_rc(r);
}

int raft_persisted(struct raft *r)
{
	if (!r->h_active)
		return 0;
	if (r->h_last <= last_index(r))
		r->persisted_index = r->h_last;
	if (r->h_snap.index) {
		r->snap_in_flight = false;
		if (r->h_snap.index >= r->snap.index) {
			unsigned char *copy = memdup(r->h_snap.data, r->h_snap.len);
			if (!copy) {
				r->oom = 1;
			} else {
				free(r->snap.data);
				r->snap.index = r->h_snap.index;
				r->snap.term = r->h_snap.term;
				r->snap.data = copy;
				r->snap.len = r->h_snap.len;
			}
			/* Compact behind the durable snapshot, keeping trailing entries so that
			 * slightly lagging followers still get entries, not a snapshot. */
			if (r->h_snap.index > r->cfg.snapshot_trailing) {
				raft_index c = r->h_snap.index - r->cfg.snapshot_trailing;
				if (c > r->log_start && c > r->compact_todo)
					r->compact_todo = c;
			}
		}
	}
	if (r->h_vote_granted)
		crash_point(r, RAFT_CRASH_VOTE_AFTER_PERSIST);
	if (r->h_leader_cmd && r->role == RAFT_LEADER)
		crash_point(r, RAFT_CRASH_LEADER_AFTER_APPEND);
	if ((r->cfg.bugs & RAFT_BUG_ACK_BEFORE_COMMIT) && r->role == RAFT_LEADER) {
		for (size_t i = r->pw_head; i < r->pw_n; i++) {
			struct pending_write *p = &r->pw[i];
			if (p->acked || p->index > r->persisted_index)
				continue;
			const struct raft_entry *e = entry_at(r, p->index);
			struct raft_kv_cmd c;
			struct raft_kv_result res = {0};
			res.kind = RAFT_KV_RES_OK;
			if (e && !raft_kv_decode(e->data, e->len, &c, NULL, 0) && c.op != RAFT_KV_SET) {
				res.kind = RAFT_KV_RES_INT;
				res.integer = c.op == RAFT_KV_RPUSH ? 0 : 1;
			}
			p->acked = true;
			reply(r, p->req_id, RAFT_REPLY_OK, &res);
		}
	}
	maybe_commit(r);
	advance_reads(r);
	return status_rc(r);
}

void raft_advance(struct raft *r)
{
	if (!r->h_active)
		return;
	/* THE LOOP sends a ready's messages before releasing it: a granted vote has left. */
	bool voted = r->h_vote_granted, told = r->h_commit_told;
	handed_release(r);
	if (voted)
		crash_point(r, RAFT_CRASH_VOTE_AFTER_SEND);
	if (told && r->role == RAFT_LEADER)
		crash_point(r, RAFT_CRASH_LEADER_COMMIT_SENT);
	if (r->compact_todo) {
		raft_index c = r->compact_todo;
		r->compact_todo = 0;
		if (c > r->applied)
			c = r->applied;
		if (c > r->log_start) {
			log_compact(r, c);
			if (c > r->compact_pending)
				r->compact_pending = c;
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* public: accessors */

void raft_status(const struct raft *r, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	st->id = r->cfg.self;
	st->role = r->role;
	st->term = r->term;
	st->vote = r->vote;
	st->leader = r->leader;
	st->commit = r->commit;
	st->applied = r->applied;
	st->first_index = r->log_start + 1;
	st->last_index = last_index(r);
	st->last_term = last_term(r);
	st->snapshot_index = r->snap.index;
	st->snapshot_term = r->snap.term;
	st->persisted_index = r->persisted_index;
}

const struct raft_kv *raft_state_machine(const struct raft *r)
{
	return r->kv;
}

const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index)
{
	return entry_at(r, index);
}
