/* search — linearizability of one key: Wing & Gong's search as improved by Lowe ("Testing
 * for linearizability", 2017), with a memo of configurations.
 *
 * The operations' invocation and completion entries sit in one doubly linked list in history
 * order. The search walks it from the head: at an invocation it tries to linearize that
 * operation now (the model accepts it and the configuration (linearized set, state) is new),
 * which lifts both of its entries out of the list and restarts from the head; at a completion
 * of an operation not linearized yet, nothing before it can be chosen any more, so it
 * backtracks (pops the last choice and tries the entry after it). Indeterminate operations
 * (info, never completed) have no completion: they may be linearized anywhere after their
 * invocation, or never. They are kept out of the entry list, in chains of identical
 * operations (same kind and arguments; interchangeable, so only the first untaken one of a
 * chain is ever tried), and are tried when the walk reaches a completion, if invoked before
 * it. When a key has few chains (small value domains), the walk also offers each chain at
 * the invocation of its next op, in time order with the entry list, as the classic search
 * does: trying an indeterminate write where it was invoked, with its effect, finds the
 * linearization of an info-heavy history with 30-50x fewer configurations (bench/RESULTS.md).
 * The history is linearizable when every operation that must happen is linearized.
 *
 * The linearized set is kept as a 128-bit Zobrist hash (XOR of two per-operation 64-bit
 * keys), and a memo entry is that hash with the state mixed into it: 16 bytes whatever the
 * history's length. Two different configurations of the same key collide with probability
 * about 2^-128 per pair visited; a collision could only prune a branch, never accept a wrong
 * history.
 *
 * Exact reductions done before the search (register models):
 *  - values that no operation compares against (no read returns them, no cas or mismatch
 *    expects them) all behave the same in every state transition, so they are merged into
 *    one "unobserved" value: orders of unread writes then collapse in the memo;
 *  - an indeterminate write or cas whose new value is unobserved may be dropped (it did not
 *    happen) when the key has no mismatch observation, because then nothing can tell it took
 *    effect;
 *  - a mismatch observation whose expected value no operation writes (and that is not the
 *    initial value) always holds and is dropped;
 *  - when the current value v is written by exactly one operation (or is the initial value
 *    and never written), leaving v is final: so a transition away from v is refused while any
 *    acknowledged read or cas still needs v. With unique written values (a read names its
 *    write) this keeps the search close to linear.
 * and during it (see step() and read_only()): an indeterminate operation that changes nothing,
 * or only moves to the unobserved value while no mismatch expects the current one, is never
 * taken (not taking it is as good); a read-only operation that can be taken is taken, and a
 * failure after it counts as a failure before it; of two pending alike acknowledged
 * operations (twins: same kind and arguments), the one invoked later is not taken while the
 * earlier one, which completes first, is pending. tests/unit/checker/test_bruteforce.c checks
 * all of this against an unreduced search, and tests/unit/checker/test_reference.c against
 * the classic algorithm (tests/support/wglref.c) on larger generated histories. List keys
 * whose appended elements are unique are decided without a search (listinfer.c). Register
 * keys with few values are searched by run() and by a just-in-time search (run_jit(),
 * below) in turns, with growing budgets (search_rounds()); the configurations the latter
 * has shown to fail are kept from one round to the next (jit_dominated()), and when its
 * first round gives up, windows around the operation it could not get past may show the
 * key invalid on their own (refute_windows()).
 */
#include <stdlib.h>
#include <string.h>

#include "checker/hmap.h"
#include "checker/internal.h"
#include "lib/bigmem.h"
#include "lib/err.h"

struct lop {
	int64_t call, ret;
	int64_t a, b; /* value references at first, local ids after preparation */
	uint32_t src;  /* index in the key's cop array */
	uint8_t kind, ok;
	uint8_t lin;   /* linearized now */
};

/* ---- per-key context ---------------------------------------------------------------------- */

/* A configuration in the memo: the 128-bit hash of its linearized set with the state mixed
 * into the first half (memo_key()); (0, 0) is an empty slot. */
struct mslot {
	uint64_t k1, h2;
};

/* The just-in-time search's failed configurations, for jit_dominated(): a key (completion,
 * acknowledged set, state) leads to its newest record, a record to its chain counts. */
struct jdom {
	uint64_t key2; /* the key's second 64 bits (a 128-bit key, as in the memo) */
	int32_t next;  /* the previous record under the same first 64 bits, or -1 */
	uint32_t off, len;
};

struct jdom_table {
	struct hmap keys;
	struct jdom *dr;
	size_t ndr, capdr;
	int32_t *dpool; /* the counts: (chain, ccur) pairs */
	size_t ndpool, capdpool;
	size_t bytes;   /* charged for it */
};

struct kctx {
	const struct chk_history *h;
	const struct ckey *k;
	struct budget *b;
	enum chk_model model;
	struct lop *ops;
	size_t n;
	int32_t init;
	/* register models: local value ids */
	vref *l2g; /* local value id -> reference (0 is the unobserved value) */
	size_t nloc;
	int32_t *nwriters, *need;
	int32_t *pending_mm; /* unlinearized mismatch observations per expected value */
	/* list: a trie of states; node 0 is the empty list */
	int32_t *tparent, *telem; /* telem: local element id */
	size_t ntrie, captrie;
	struct hmap trie;
	struct hmap elem_ids; /* element reference -> local element id */
	vref *elems;          /* local element id -> reference */
	size_t nelems, capelems;
	/* multi-register: interned state vectors */
	vref *svec;
	size_t nstates, capstates;
	struct hmap sidx; /* hash of vector -> first state id with that hash (chained below) */
	int32_t *snext;   /* next state id with the same hash, -1 */
	vref *tmp;
	/* memo */
	struct mslot *memo;
	size_t mcap, mn;
	size_t accounted;
	int oom; /* a model table or the memo hit the memory cap */
	int expired; /* a time limit passed inside a long step (chk_budget_expired's answer) */
	/* the deepest failure of the last run: the op whose completion was reached unlinearized */
	int32_t best_op;
	int32_t best_states[8];
	size_t nbest;
	/* the deepest path: ops in linearization order; path[0..path_low) is still the
	 * bottom of the stack, so a new deepest path copies only what changed above it */
	int32_t *path;
	size_t npath, path_low;
	int rerun;           /* a bounded second run for a better counterexample */
	int unique_prune;    /* refuse to leave a once-written value a read still needs */
	int greedy_reads;    /* read-only operations are linearized as soon as they can be */
	uint64_t iter_limit; /* 0: none */
	int64_t key_deadline; /* monotonic ns; 0: none */
	/* an invalid verdict shown by a window (refute_windows()): its operations (0: none)
	 * and the lines where it begins and ends */
	size_t win_nops;
	uint64_t win_line1, win_line2;
	int in_window; /* this is a window's context: run_jit() leaves chk_jit_stats alone */
	/* kept from one just-in-time round to the next (a window's search keeps none) */
	struct jdom_table jd;
};

/* Whether a time limit has passed (remembered in c->expired); for the long steps outside
 * the search loop: growing a large table, preparing a long key. */
static int kctx_over(void *arg)
{
	struct kctx *c = arg;
	int r = chk_budget_expired(c->b, c->key_deadline);
	if (r)
		c->expired = r;
	return r;
}

/* Charge `bytes` more to the shared budget. Returns -1 when the cap is exceeded. */
static int charge(struct kctx *c, size_t bytes)
{
	size_t now = atomic_fetch_add(&c->b->used, bytes) + bytes;
	c->accounted += bytes;
	if (c->b->limit && now > c->b->limit) {
		c->oom = 1;
		return -1;
	}
	return 0;
}

static void uncharge_all(struct kctx *c)
{
	atomic_fetch_sub(&c->b->used, c->accounted);
	c->accounted = 0;
}

/* Give back the memory charged since `acc` (a search's memo and tables, now freed). */
static void uncharge_to(struct kctx *c, size_t acc)
{
	atomic_fetch_sub(&c->b->used, c->accounted - acc);
	c->accounted = acc;
}

/* ---- list model: trie of lists ------------------------------------------------------------ */

static int32_t trie_child(struct kctx *c, int32_t parent, int32_t elem)
{
	uint64_t key = ((uint64_t)(uint32_t)parent << 32) | (uint32_t)elem;
	int32_t id = hmap_get(&c->trie, key);
	if (id >= 0)
		return id;
	if (c->ntrie == c->captrie) {
		size_t cap = c->captrie ? c->captrie * 2 : 256;
		if (charge(c, (cap - c->captrie) * 24))
			return -1;
		int32_t *p = realloc(c->tparent, cap * sizeof *p);
		if (!p)
			return -1;
		c->tparent = p;
		int32_t *e = realloc(c->telem, cap * sizeof *e);
		if (!e)
			return -1;
		c->telem = e;
		c->captrie = cap;
	}
	id = (int32_t)c->ntrie++;
	c->tparent[id] = parent;
	c->telem[id] = elem;
	if (hmap_put(&c->trie, key, id))
		return -1;
	return id;
}

/* The local id of a list element (interned per key). -1 when out of memory. */
static int32_t elem_local(struct kctx *c, vref r)
{
	int32_t id = hmap_get(&c->elem_ids, r);
	if (id >= 0)
		return id;
	if (c->nelems == c->capelems) {
		size_t cap = c->capelems ? c->capelems * 2 : 64;
		vref *e = realloc(c->elems, cap * sizeof *e);
		if (!e)
			return -1;
		c->elems = e;
		c->capelems = cap;
	}
	id = (int32_t)c->nelems;
	c->elems[c->nelems++] = r;
	if (hmap_put(&c->elem_ids, r, id))
		return -1;
	return id;
}

static int32_t trie_walk(struct kctx *c, const vref *elems, size_t n)
{
	int32_t s = 0;
	for (size_t i = 0; i < n && s >= 0; i++) {
		int32_t e = elem_local(c, elems[i]);
		s = e < 0 ? -1 : trie_child(c, s, e);
	}
	return s;
}

/* ---- multi-register: interned vectors ----------------------------------------------------- */

static uint64_t vec_hash(const vref *v, size_t n)
{
	uint64_t h = 0x12345;
	for (size_t i = 0; i < n; i++)
		h = mix64(h ^ v[i]) + i;
	return h;
}

static int32_t state_intern(struct kctx *c, const vref *v)
{
	size_t nr = c->h->nregs;
	uint64_t hv = vec_hash(v, nr);
	int32_t id = hmap_get(&c->sidx, hv);
	for (int32_t s = id; s >= 0; s = c->snext[s])
		if (!memcmp(c->svec + (size_t)s * nr, v, nr * sizeof *v))
			return s;
	if (c->nstates == c->capstates) {
		size_t cap = c->capstates ? c->capstates * 2 : 64;
		if (charge(c, (cap - c->capstates) * (nr * 4 + 24)))
			return -1;
		vref *sv = realloc(c->svec, cap * (nr ? nr : 1) * sizeof *sv);
		if (!sv)
			return -1;
		c->svec = sv;
		int32_t *sn = realloc(c->snext, cap * sizeof *sn);
		if (!sn)
			return -1;
		c->snext = sn;
		c->capstates = cap;
	}
	int32_t s = (int32_t)c->nstates++;
	memcpy(c->svec + (size_t)s * nr, v, nr * sizeof *v);
	c->snext[s] = id;
	if (hmap_put(&c->sidx, hv, s))
		return -1;
	return s;
}

/* Apply a transaction to state s. Returns 1 (and *ns), 0 if a read disagrees, -1 on OOM. */
static int txn_step(struct kctx *c, int32_t s, const struct lop *o, int32_t *ns)
{
	size_t nr = c->h->nregs;
	memcpy(c->tmp, c->svec + (size_t)s * nr, nr * sizeof *c->tmp);
	const vref *m = c->h->pool + o->a;
	int wrote = 0;
	for (int64_t i = 0; i < o->b; i++, m += 3) {
		if (m[0] == MICRO_READ) {
			/* An indeterminate txn's reads returned nothing we know. */
			if (o->ok && m[2] != VREF_UNKNOWN && c->tmp[m[1]] != m[2])
				return 0;
		} else {
			c->tmp[m[1]] = m[2];
			wrote = 1;
		}
	}
	if (!wrote) {
		*ns = s;
		return 1;
	}
	int32_t id = state_intern(c, c->tmp);
	if (id < 0)
		return -1;
	*ns = id;
	return 1;
}

/* ---- model step ----------------------------------------------------------------------------- */

/* Returns 1 and sets *ns if the operation may take effect in state s, 0 if not, -1 on OOM. */
static int step(struct kctx *c, int32_t s, const struct lop *o, int32_t *ns)
{
	switch (o->kind) {
	case K_READ:
	case K_LREAD:
		*ns = s;
		return s == o->a;
	case K_MISMATCH:
		*ns = s;
		return s != o->a;
	case K_WRITE:
	case K_LWRITE:
		*ns = o->a;
		break;
	case K_CAS:
		if (s != o->a)
			return 0;
		*ns = o->b;
		break;
	case K_ACQUIRE:
		*ns = 1;
		return s == 0;
	case K_RELEASE:
		*ns = 0;
		return s == 1;
	case K_APPEND:
		*ns = trie_child(c, s, (int32_t)o->a);
		return *ns < 0 ? -1 : 1;
	case K_TXN:
		return txn_step(c, s, o, ns);
	default:
		return 0;
	}
	/* An indeterminate op that changes nothing, or only moves to the unobserved value while
	 * no mismatch still expects s, is dominated by not linearizing it (yet): the remaining
	 * operations are a superset and every one that works from the unobserved value works
	 * from s. Exact, and it stops info writes of unread values from multiplying configs. */
	if (c->pending_mm && !o->ok && (*ns == s || (*ns == 0 && c->pending_mm[s] == 0)))
		return 0;
	/* A write or cas leaves s: refuse when s can never come back and is still needed. */
	if (c->unique_prune && *ns != s && c->nwriters[s] <= 1 &&
	    c->need[s] - (o->kind == K_CAS && o->ok) > 0)
		return 0;
	return 1;
}

static void on_linearize(struct kctx *c, struct lop *o, int delta)
{
	o->lin = delta > 0;
	if (c->need && o->ok && (o->kind == K_READ || o->kind == K_CAS))
		c->need[o->a] -= delta;
	if (c->pending_mm && o->kind == K_MISMATCH)
		c->pending_mm[o->a] -= delta;
}

/* ---- memo ------------------------------------------------------------------------------------ */

/* A configuration's memo entry: the set's hash with the state mixed into its first half.
 * mix64 is a bijection, so two states of one set never share an entry, and two different
 * sets share one only when both 128-bit hashes collide. The first half is also the home
 * slot: many configurations share a linearized set and differ only in the state, so a slot
 * taken from the set alone would pile them into one long probe run. */
static struct mslot memo_key(uint64_t h1, uint64_t h2, int32_t state)
{
	struct mslot e = {h1 ^ mix64((uint64_t)(uint32_t)state + 0x51ed27), h2};
	if (!e.k1 && !e.h2)
		e.h2 = 1; /* not the empty slot */
	return e;
}

/* The Zobrist keys of op o in the 128-bit hash of a linearized set: XOR them in to add o,
 * again to remove it. */
static uint64_t zkey1(int32_t o)
{
	return mix64((uint64_t)o * 2 + 1);
}

static uint64_t zkey2(int32_t o)
{
	return mix64((uint64_t)o * 2 + 0x9e3779b97f4a7c15ULL);
}

static int mslot_used(const struct mslot *e)
{
	return e->k1 || e->h2;
}

/* The slot holding this configuration, or the free slot where it would go (the table is
 * never full: it grows at half). */
static size_t memo_find(const struct kctx *c, struct mslot k)
{
	size_t i = k.k1 & (c->mcap - 1);
	for (; mslot_used(&c->memo[i]); i = (i + 1) & (c->mcap - 1))
		if (c->memo[i].k1 == k.k1 && c->memo[i].h2 == k.h2)
			break;
	return i;
}

/* Returns 1 if (h1, h2, state) was new and is now recorded, 0 if seen, -1 over the cap. */
static int memo_add(struct kctx *c, uint64_t h1, uint64_t h2, int32_t state)
{
	if ((c->mn + 1) * 2 > c->mcap) {
		size_t cap = c->mcap ? c->mcap * 2 : 1024;
		if (charge(c, cap * sizeof(struct mslot)))
			return -1;
		struct mslot *m = bigmem_zalloc(cap * sizeof *m);
		if (!m) {
			c->oom = 1;
			return -1;
		}
		for (size_t j = 0; j < c->mcap; j++) {
			if ((j & 0x3ffff) == 0x3ffff && kctx_over(c)) {
				bigmem_free(m, cap * sizeof *m);
				return -1;
			}
			if (!mslot_used(&c->memo[j]))
				continue;
			size_t i = c->memo[j].k1 & (cap - 1);
			while (mslot_used(&m[i]))
				i = (i + 1) & (cap - 1);
			m[i] = c->memo[j];
		}
		bigmem_free(c->memo, c->mcap * sizeof *c->memo);
		c->memo = m;
		c->mcap = cap;
	}
	struct mslot k = memo_key(h1, h2, state);
	size_t i = memo_find(c, k);
	if (mslot_used(&c->memo[i]))
		return 0;
	c->memo[i] = k;
	c->mn++;
	return 1;
}

/* Whether the memo holds this configuration (nothing is added). */
static int memo_has(const struct kctx *c, uint64_t h1, uint64_t h2, int32_t state)
{
	if (!c->mcap)
		return 0;
	return mslot_used(&c->memo[memo_find(c, memo_key(h1, h2, state))]);
}

/* ---- preparation ---------------------------------------------------------------------------- */

static int is_register(enum chk_model m)
{
	return m == CHK_MODEL_REGISTER || m == CHK_MODEL_CAS_REGISTER || m == CHK_MODEL_KV;
}

static int32_t local_id(struct kctx *c, struct hmap *g2l, vref g, int32_t dead)
{
	int32_t l = hmap_get(g2l, g);
	return l >= 0 ? l : dead;
}

/* Registers: merge unobserved values, map to local ids, drop what cannot matter. */
static int prepare_register(struct kctx *c)
{
	struct hmap g2l = {0};
	int rc = SB_ENOMEM;
	/* Observed values get local ids 1..; 0 is the unobserved value. */
	size_t nloc = 1;
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if (o->kind == K_READ || o->kind == K_CAS || o->kind == K_MISMATCH) {
			uint64_t g = (uint64_t)o->a;
			if (hmap_get(&g2l, g) < 0) {
				if (hmap_put(&g2l, g, (int32_t)nloc))
					goto out;
				nloc++;
			}
		}
	}
	c->nloc = nloc;
	c->l2g = malloc(nloc * sizeof *c->l2g);
	c->nwriters = calloc(nloc, sizeof *c->nwriters);
	c->need = calloc(nloc, sizeof *c->need);
	c->pending_mm = calloc(nloc, sizeof *c->pending_mm);
	if (!c->l2g || !c->nwriters || !c->need || !c->pending_mm)
		goto out;
	c->l2g[0] = VREF_UNKNOWN;
	for (size_t j = 0; j < g2l.cap; j++)
		if (g2l.v[j] >= 0)
			c->l2g[g2l.v[j]] = g2l.k[j];
	c->init = local_id(c, &g2l, c->h->initial, 0);
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		o->a = local_id(c, &g2l, (vref)o->a, 0);
		if (o->kind == K_CAS || o->kind == K_MISMATCH)
			o->b = local_id(c, &g2l, (vref)o->b, 0);
	}
	/* Writers per value (the unobserved value never needs the uniqueness prune). */
	c->unique_prune = 1;
	c->nwriters[0] = INT32_MAX / 2;
	c->nwriters[c->init]++;
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if (o->kind == K_WRITE)
			c->nwriters[o->a]++;
		else if (o->kind == K_CAS)
			c->nwriters[o->b]++;
	}
	size_t nmismatch = 0, w = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if (o->kind == K_MISMATCH && c->nwriters[o->a] == 0)
			continue; /* expects a value the register never holds: always true */
		nmismatch += o->kind == K_MISMATCH;
		c->ops[w++] = *o;
	}
	c->n = w;
	if (!nmismatch) {
		w = 0;
		for (size_t i = 0; i < c->n; i++) {
			struct lop *o = &c->ops[i];
			if (!o->ok && ((o->kind == K_WRITE && o->a == 0) ||
				       (o->kind == K_CAS && o->b == 0)))
				continue; /* unobservable indeterminate write */
			c->ops[w++] = *o;
		}
		c->n = w;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if (o->ok && (o->kind == K_READ || o->kind == K_CAS))
			c->need[o->a]++;
		if (o->kind == K_MISMATCH)
			c->pending_mm[o->a]++;
	}
	rc = 0;
out:
	hmap_free(&g2l);
	return rc;
}

static int prepare_list(struct kctx *c)
{
	int32_t root = trie_child(c, -1, -1); /* node 0: the empty list */
	if (root != 0)
		return SB_ENOMEM;
	c->init = 0;
	if (c->h->init_seq >= 0)
		c->init = trie_walk(c, c->h->pool + c->h->init_seq, (size_t)c->h->init_seq_len);
	if (c->init < 0)
		return SB_ENOMEM;
	size_t w = 0, maxlen = 0;
	for (size_t i = 0; i < c->n; i++)
		if ((c->ops[i].kind == K_LREAD || c->ops[i].kind == K_LWRITE) &&
		    (size_t)c->ops[i].b > maxlen)
			maxlen = (size_t)c->ops[i].b;
	vref *buf = malloc((maxlen + 1) * sizeof *buf);
	if (!buf)
		return SB_ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if ((i & 0xfff) == 0xfff && kctx_over(c)) {
			free(buf);
			return SB_ENOMEM; /* c->expired tells it was the clock */
		}
		if (o->kind == K_LREAD || o->kind == K_LWRITE) {
			size_t d = chk_seq_get(c->h, (int32_t)o->a, buf);
			int32_t s = trie_walk(c, buf, d);
			if (s < 0) {
				free(buf);
				return SB_ENOMEM;
			}
			o->a = s;
		} else if (o->kind == K_APPEND) {
			int32_t e = elem_local(c, (vref)o->a);
			if (e < 0) {
				free(buf);
				return SB_ENOMEM;
			}
			o->a = e;
		}
		c->ops[w++] = *o;
	}
	c->n = w;
	free(buf);
	return 0;
}

static int prepare_multi(struct kctx *c)
{
	size_t nr = c->h->nregs;
	c->tmp = malloc((nr ? nr : 1) * sizeof *c->tmp);
	if (!c->tmp)
		return SB_ENOMEM;
	for (size_t r = 0; r < nr; r++)
		c->tmp[r] = c->h->reg_init[r];
	c->init = state_intern(c, c->tmp);
	if (c->init < 0)
		return SB_ENOMEM;
	/* An indeterminate transaction that writes nothing has no effect: drop it. */
	size_t w = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct lop *o = &c->ops[i];
		if (!o->ok) {
			int writes = 0;
			for (int64_t j = 0; j < o->b; j++)
				writes |= c->h->pool[o->a + 3 * j] == MICRO_WRITE;
			if (!writes)
				continue;
		}
		c->ops[w++] = *o;
	}
	c->n = w;
	return 0;
}

/* A stale read, found without searching (register models). Let R be an acknowledged read
 * of v (or a cas expecting v) where v has one producer P (a single write or cas that can set
 * v, or the initial value when nothing writes v). If some acknowledged write or cas W began
 * after P completed and completed before R began, the history is not linearizable: in any
 * linearization P < W < R, W leaves another value, and nothing can bring v back. This is an
 * exact witness found in O(n log n); when there is none, the search decides. An acknowledged
 * read of a value that nothing writes and that is not the initial value is a witness too
 * (*refuter = -1).
 * Returns 1 with *bad and *refuter (op indexes) set, or 0. */
static int find_stale_read(struct kctx *c, int32_t *bad, int32_t *refuter)
{
	size_t n = c->n, nw = 0;
	int rc = 0;
	size_t v1 = 1; /* a witness reads a value with at most one producer */
	while (v1 < c->nloc && c->nwriters[v1] > 1)
		v1++;
	if (v1 == c->nloc)
		return 0; /* every value has several (small domains): nothing to find */
	int32_t *prod = malloc(c->nloc * sizeof *prod);
	int32_t *wr = malloc((n + 1) * sizeof *wr);
	int32_t *arg = malloc((n + 1) * sizeof *arg); /* suffix argmin of ret over writers */
	if (!prod || !wr || !arg)
		goto out;
	for (size_t v = 0; v < c->nloc; v++)
		prod[v] = -1; /* the initial value, or nothing */
	for (size_t i = 0; i < n; i++) {
		const struct lop *o = &c->ops[i];
		if (o->kind == K_WRITE)
			prod[o->a] = (int32_t)i;
		else if (o->kind == K_CAS)
			prod[o->b] = (int32_t)i;
		if (o->ok && (o->kind == K_WRITE || o->kind == K_CAS))
			wr[nw++] = (int32_t)i; /* in invocation order */
	}
	for (size_t j = nw; j-- > 0;)
		arg[j] = j + 1 < nw && c->ops[arg[j + 1]].ret < c->ops[wr[j]].ret ? arg[j + 1] : wr[j];
	int64_t best_call = CHK_INF;
	for (size_t i = 0; i < n; i++) {
		const struct lop *r = &c->ops[i];
		if (!r->ok || (r->kind != K_READ && r->kind != K_CAS))
			continue;
		int32_t v = r->a;
		if (v != 0 && c->nwriters[v] == 0) {
			/* Nothing writes v and it is not the initial value: no linearization can
			 * return it. Caught here because the search would otherwise have to try
			 * every order of the operations before this one to say so. */
			if (r->call < best_call) {
				best_call = r->call;
				*bad = (int32_t)i;
				*refuter = -1;
				rc = 1;
			}
			continue;
		}
		if (v == 0 || c->nwriters[v] != 1)
			continue;
		int64_t after; /* W must begin after this */
		if (prod[v] < 0) {
			if (v != c->init)
				continue; /* nothing produces v: the search reports it */
			after = -1;
		} else {
			after = c->ops[prod[v]].ret;
			if (after == CHK_INF)
				continue;
		}
		/* First writer invoked after `after`. */
		size_t lo = 0, hi = nw;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (c->ops[wr[mid]].call > after)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo == nw)
			continue;
		const struct lop *w = &c->ops[arg[lo]];
		if (w->ret < r->call && r->call < best_call) {
			best_call = r->call;
			*bad = (int32_t)i;
			*refuter = arg[lo];
			rc = 1;
		}
	}
out:
	free(prod);
	free(wr);
	free(arg);
	return rc;
}

/* ---- reporting ------------------------------------------------------------------------------ */

static void format_state(struct kctx *c, int32_t s, struct sbuf *b)
{
	switch (c->model) {
	case CHK_MODEL_MUTEX:
		sbuf_addf(b, "\"%s\"", s ? "held" : "free");
		return;
	case CHK_MODEL_LIST: {
		size_t n = 0;
		for (int32_t t = s; t > 0; t = c->tparent[t])
			n++;
		int32_t *el = malloc((n ? n : 1) * sizeof *el);
		if (!el)
			return;
		size_t i = n;
		for (int32_t t = s; t > 0; t = c->tparent[t])
			el[--i] = c->telem[t];
		sbuf_addc(b, '[');
		for (i = 0; i < n; i++) {
			if (i)
				sbuf_addc(b, ',');
			vtab_format_ref(&c->h->vals, c->elems[el[i]], b);
		}
		sbuf_addc(b, ']');
		free(el);
		return;
	}
	case CHK_MODEL_MULTI_REGISTER: {
		sbuf_addc(b, '{');
		for (size_t r = 0; r < c->h->nregs; r++) {
			if (r)
				sbuf_addc(b, ',');
			struct sbuf k = {0};
			vtab_format_ref(&c->h->vals, c->h->regs[r], &k);
			if (k.p && k.p[0] == '"')
				sbuf_add(b, k.p, k.len);
			else
				sbuf_add_json_string(b, k.p ? k.p : "", k.len);
			sbuf_free(&k);
			sbuf_addc(b, ':');
			vtab_format_ref(&c->h->vals, c->svec[(size_t)s * c->h->nregs + r], b);
		}
		sbuf_addc(b, '}');
		return;
	}
	default:
		if (s == 0 || c->l2g[s] == VREF_UNKNOWN)
			sbuf_add_json_string(b, "(a value no operation observes)", 31);
		else
			vtab_format_ref(&c->h->vals, c->l2g[s], b);
		return;
	}
}

static int overlaps(const struct cop *a, const struct cop *b)
{
	return a->call < b->ret && b->call < a->ret;
}

/* The one-sentence explanation for the operation that cannot be linearized. */
static void explain(struct kctx *c, const struct cop *bad, size_t nconc, char **states,
		    size_t nstates, struct sbuf *b)
{
	const struct ckey *k = c->k;
	const struct chk_history *h = c->h;
	struct sbuf key = {0}, when = {0};
	chk_key_phrase(h, k, &key);
	chk_when_phrase(bad->ret != CHK_INF ? bad->t_ret : bad->t_call,
			bad->ret != CHK_INF ? bad->ret_line : bad->line, &when);
	const char *kp = key.p ? key.p : "";
	const char *wp = when.p ? when.p : "";
	if ((bad->kind == K_READ || bad->kind == K_CAS) && is_register(c->model)) {
		vref v = bad->a; /* the value it saw (a cas: the value it expected) */
		/* The last write (or cas) completed before the read began, with another value. */
		const struct cop *last = NULL;
		int any_write_of_v = 0, later_write_of_v = 0;
		for (size_t i = 0; i < k->n; i++) {
			const struct cop *o = key_op(h, k, i);
			vref nv = o->kind == K_WRITE ? o->a : o->kind == K_CAS ? o->b : VREF_UNKNOWN;
			if (nv == VREF_UNKNOWN)
				continue;
			if (nv == v)
				any_write_of_v = 1;
			if (o->status == S_OK && o->ret < bad->call && nv != v &&
			    (!last || o->ret > last->ret))
				last = o;
		}
		if (last)
			for (size_t i = 0; i < k->n; i++) {
				const struct cop *o = key_op(h, k, i);
				vref nv = o->kind == K_WRITE ? o->a
					: o->kind == K_CAS   ? o->b
							     : VREF_UNKNOWN;
				if (nv == v && o->ret > last->ret)
					later_write_of_v = 1;
			}
		struct sbuf val = {0}, what = {0};
		vtab_format_ref(&h->vals, v, &val);
		if (bad->kind == K_READ) {
			sbuf_addf(&what, "read of %s returned %s", kp, val.p ? val.p : "");
		} else {
			sbuf_addf(&what, "cas of %s from %s to ", kp, val.p ? val.p : "");
			vtab_format_ref(&h->vals, bad->b, &what);
		}
		const char *wh = what.p ? what.p : "";
		if (!any_write_of_v && v != h->initial) {
			sbuf_addf(b, "%s at %s, but no operation ever wrote %s", wh, wp,
				  val.p ? val.p : "");
		} else if (last && !later_write_of_v) {
			struct sbuf lw = {0}, lv = {0};
			chk_when_phrase(last->t_ret, last->ret_line, &lw);
			vtab_format_ref(&h->vals, last->kind == K_WRITE ? last->a : last->b, &lv);
			sbuf_addf(b, "%s at %s, but %s %s completed at %s and no later write of %s exists",
				  wh, wp, chk_kind_name(last->kind), lv.p ? lv.p : "",
				  lw.p ? lw.p : "", val.p ? val.p : "");
			sbuf_free(&lw);
			sbuf_free(&lv);
		} else if (nconc == 0) {
			sbuf_addf(b, "%s at %s, but the value then was ", wh, wp);
			for (size_t i = 0; i < nstates; i++)
				sbuf_addf(b, "%s%s", i ? (i + 1 == nstates ? " or " : ", ") : "",
					  states[i]);
		} else {
			sbuf_addf(b,
				  "%s at %s, but no order of the %zu operations concurrent with it "
				  "leaves %s there",
				  wh, wp, nconc, val.p ? val.p : "");
		}
		sbuf_free(&val);
		sbuf_free(&what);
	} else {
		struct chk_op_info oi;
		chk_op_describe(h, bad, &oi);
		sbuf_addf(b, "%s %s on %s, completed at %s, has no place: every order of it "
			     "and the %zu operations concurrent with it fails; the states reached "
			     "before it were ",
			  oi.f, oi.value, kp, wp, nconc);
		for (size_t i = 0; i < nstates; i++)
			sbuf_addf(b, "%s%s", i ? (i + 1 == nstates ? " or " : ", ") : "", states[i]);
		if (!nstates)
			sbuf_lit(b, "unreachable");
		free(oi.f);
		free(oi.value);
	}
	sbuf_free(&key);
	sbuf_free(&when);
}

#define MAX_STATES 8
#define MAX_CONCURRENT 32

/* What a report about op shows: op itself into *desc, the first MAX_CONCURRENT ops concurrent
 * with it into out->concurrent (counting them all), and room for the states in out->states.
 * Returns the count of concurrent ops, or -1 out of memory. */
static int64_t describe_at(struct kctx *c, const struct cop *op, struct chk_op_info **desc,
			   struct chk_key_result *out)
{
	*desc = calloc(1, sizeof **desc);
	out->states = calloc(MAX_STATES, sizeof *out->states);
	out->concurrent = calloc(MAX_CONCURRENT, sizeof *out->concurrent);
	if (!*desc || !out->states || !out->concurrent)
		return -1;
	chk_op_describe(c->h, op, *desc);
	size_t nconc = 0;
	for (size_t i = 0; i < c->k->n; i++) {
		const struct cop *o = key_op(c->h, c->k, i);
		if (o == op || o->kind == K_DEAD || !overlaps(o, op))
			continue;
		if (out->nconcurrent < MAX_CONCURRENT)
			chk_op_describe(c->h, o, &out->concurrent[out->nconcurrent++]);
		nconc++;
	}
	out->nconcurrent_total = nconc;
	return (int64_t)nconc;
}

/* states: local states reached; or, when global_state >= 0, that value id alone. */
static int report_invalid(struct kctx *c, int32_t bad_local, const int32_t *states, size_t nst,
			  vref global_state, struct chk_key_result *out)
{
	const struct ckey *k = c->k;
	const struct cop *bad = key_op(c->h, k, c->ops[bad_local].src);
	out->verdict = CHK_INVALID;
	int64_t nconc = describe_at(c, bad, &out->bad, out);
	if (nconc < 0)
		return SB_ENOMEM;
	for (size_t i = 0; i < nst; i++) {
		struct sbuf s = {0};
		if (global_state != VREF_UNKNOWN)
			vtab_format_ref(&c->h->vals, global_state, &s);
		else
			format_state(c, states[i], &s);
		out->states[out->nstates++] = sbuf_take(&s);
	}
	size_t skip = c->npath > CHK_LINEARIZED_MAX ? c->npath - CHK_LINEARIZED_MAX : 0;
	if (c->npath - skip) {
		out->linearized = malloc((c->npath - skip) * sizeof *out->linearized);
		if (!out->linearized)
			return SB_ENOMEM;
		for (size_t i = skip; i < c->npath; i++)
			out->linearized[out->nlinearized++] = key_op(c->h, k, c->ops[c->path[i]].src)->line;
		out->linearized_skipped = skip;
	}
	struct sbuf why = {0};
	explain(c, bad, (size_t)nconc, out->states, out->nstates, &why);
	out->why = sbuf_take(&why);
	return 0;
}

/* An undecided key: the operation whose completion no order tried got past, the operations
 * concurrent with it, and the states reached there. The search stopped at a limit, so this
 * proves nothing; it is where a person looks first (a violation, if there is one, is usually
 * near it), and how far the search got says how much a larger limit might need. */
static int report_stalled(struct kctx *c, int32_t op, const int32_t *states, size_t nst,
			  struct chk_key_result *out)
{
	if (describe_at(c, key_op(c->h, c->k, c->ops[op].src), &out->stalled, out) < 0)
		return SB_ENOMEM;
	for (size_t i = 0; i < nst && i < MAX_STATES; i++) {
		struct sbuf st = {0};
		format_state(c, states[i], &st);
		if (!(out->states[out->nstates++] = sbuf_take(&st)))
			return SB_ENOMEM;
	}
	return 0;
}

/* ---- the search ----------------------------------------------------------------------------- */

struct frame {
	int32_t op;
	int32_t state;
	int32_t ro;      /* the op was read-only: the configuration below it is dominated */
	int32_t chain;   /* the op came from this chain of indeterminate ops; -1: entry list */
	int32_t blocker; /* for a chain op: the completion that bounded the scan */
	int32_t resume;  /* a chain op taken in the walk (phase 1): the entry it was tried at */
	int32_t chp;     /* an op of the entry list: the walk's chain position when it was tried */
	int64_t limit;
};

/* An operation that never changes the state where it succeeds. Linearizing such an
 * operation as soon as it is eligible and succeeds is never worse than delaying it: every
 * operation that must precede it is already linearized, and taking it out of a later place
 * in a linearization changes no state. So when the configuration after it fails, the one
 * before it fails too, and the search backtracks past both. */
static int read_only(const struct kctx *c, const struct lop *o)
{
	if (o->kind == K_READ || o->kind == K_LREAD || o->kind == K_MISMATCH)
		return 1;
	if (o->kind == K_TXN) {
		for (int64_t j = 0; j < o->b; j++)
			if (c->h->pool[o->a + 3 * j] == MICRO_WRITE)
				return 0;
		return 1;
	}
	return 0;
}

/* Phase 1 offers the chains of indeterminate ops at their invocations only when there are
 * few of them (small value domains): every restart of the walk passes over the pending
 * chains, which costs too much when every indeterminate op is its own chain (unique
 * values), and there the offers do not help (bench/RESULTS.md). */
#define MERGE_MAX_CHAINS 64

static int cmp_ret(const void *pa, const void *pb, void *arg)
{
	const struct lop *ops = arg;
	int64_t a = ops[*(const int32_t *)pa].ret, b = ops[*(const int32_t *)pb].ret;
	return (a > b) - (a < b);
}

/* Sorts the ops idx[0..n) by completion. Completions are positions in the file, so a radix
 * sort of their offsets from the first takes linear time: 11 bits a pass, two passes for a
 * history of up to 4M events. A short list, positions too far apart, or no memory for the
 * scratch: qsort. */
static void sort_by_ret(int32_t *idx, size_t n, const struct lop *ops)
{
	enum { BITS = 11, RADIX = 1 << BITS };
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t r = ops[idx[i]].ret;
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	uint64_t span = n ? (uint64_t)hi - (uint64_t)lo : 0;
	int32_t *tmp = n >= 256 && span < (1ULL << 33) ? malloc(n * sizeof *tmp) : NULL;
	if (!tmp) {
		qsort_r(idx, n, sizeof *idx, cmp_ret, (void *)ops);
		return;
	}
	int32_t *src = idx, *dst = tmp;
	size_t pos[RADIX];
	for (unsigned sh = 0; sh < 64 && (span >> sh); sh += BITS) {
		memset(pos, 0, sizeof pos);
		for (size_t i = 0; i < n; i++)
			pos[((uint64_t)(ops[src[i]].ret - lo) >> sh) & (RADIX - 1)]++;
		for (size_t d = 0, sum = 0; d < RADIX; d++) {
			size_t cnt = pos[d];
			pos[d] = sum;
			sum += cnt;
		}
		for (size_t i = 0; i < n; i++)
			dst[pos[((uint64_t)(ops[src[i]].ret - lo) >> sh) & (RADIX - 1)]++] = src[i];
		int32_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != idx)
		memcpy(idx, src, n * sizeof *idx);
	free(tmp);
}

/* Group the indeterminate ops into chains of identical ones (same kind and arguments), in
 * invocation order: cops holds each chain's ops contiguously from cstart[ch], clen[ch] of
 * them, chains numbered by first invocation; ccur[] is zeroed. chain_of is scratch (n + 1).
 * Returns the number of chains, or -1 out of memory. */
static int64_t build_chains(const struct kctx *c, struct hmap *last, int32_t *chain_of,
			    int32_t *cops, int32_t *cstart, int32_t *clen, int32_t *ccur)
{
	size_t n = c->n, nch = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lop *o = &c->ops[i];
		if (o->ok)
			continue;
		int32_t ch = -1;
		uint64_t key = mix64(((uint64_t)o->kind << 56) ^ mix64((uint64_t)o->a)) ^ (uint64_t)o->b;
		if (o->kind != K_TXN) {
			ch = hmap_get(last, key);
			if (ch >= 0) {
				const struct lop *p = &c->ops[chain_of[ch]]; /* its first op */
				if (p->kind != o->kind || p->a != o->a || p->b != o->b)
					ch = -1;
			}
		}
		if (ch < 0) {
			ch = (int32_t)nch++;
			chain_of[ch] = (int32_t)i;
			if (o->kind != K_TXN && hmap_put(last, key, ch))
				return -1;
		}
		clen[ch]++;
		cstart[i] = ch; /* scratch: op -> chain */
	}
	size_t off = 0;
	for (size_t ch = 0; ch < nch; ch++) {
		size_t l = (size_t)clen[ch];
		clen[ch] = (int32_t)off; /* scratch: write cursor */
		off += l;
	}
	for (size_t i = 0; i < n; i++)
		if (!c->ops[i].ok)
			cops[clen[cstart[i]]++] = (int32_t)i;
	/* clen[ch] is now the end offset; the start is the previous chain's end. */
	for (size_t ch = nch; ch-- > 0;) {
		int32_t end = clen[ch];
		int32_t start = ch ? clen[ch - 1] : 0;
		cstart[ch] = start;
		clen[ch] = end - start;
		ccur[ch] = 0;
	}
	return (int64_t)nch;
}

/* Twins: link each acknowledged op to the previous one of the same kind and arguments
 * (uprev/unext, -1 at the ends). Returns 0, or -1 out of memory. */
static int link_twins(const struct kctx *c, struct hmap *last, int32_t *uprev, int32_t *unext)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct lop *o = &c->ops[i];
		uprev[i] = unext[i] = -1;
		if (!o->ok || o->kind == K_TXN)
			continue;
		uint64_t key = mix64(((uint64_t)o->kind << 56) ^ mix64((uint64_t)o->a)) ^
			       mix64((uint64_t)o->b + 0x7f4a);
		int32_t q = hmap_get(last, key);
		if (q >= 0 && (c->ops[q].kind != o->kind || c->ops[q].a != o->a ||
			       c->ops[q].b != o->b))
			q = -1; /* a hash collision: no twin link */
		if (q >= 0) {
			uprev[i] = q;
			unext[q] = (int32_t)i;
		}
		if (hmap_put(last, key, (int32_t)i))
			return -1;
	}
	return 0;
}

/* The entries of the acknowledged ops in history order: ent_op[e] and is_call[e]; ce/re
 * (if not NULL) get each op's call and completion entry (-1 for indeterminate ops). req and
 * rets are scratch (n + 1); so is at4 (4 n entries) if not NULL, else it is allocated when
 * needed. Returns the number of entries. */
static size_t merge_entries(const struct kctx *c, int32_t *req, int32_t *rets, int32_t *ent_op,
			    uint8_t *is_call, int32_t *ce, int32_t *re, int32_t *at4)
{
	size_t n = c->n, nr = 0, nreq = 0, ne = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (ce)
			ce[i] = re[i] = -1;
		if (c->ops[i].ok) {
			req[nreq++] = rets[nr++] = (int32_t)i;
			lo = c->ops[i].call < lo ? c->ops[i].call : lo;
			hi = c->ops[i].ret > hi ? c->ops[i].ret : hi;
		}
	}
	/* Positions are distinct, and for one key's ops they are mostly dense: then a table by
	 * position gives the order in one pass, without sorting. (lo is the first op's call, as
	 * the ops are in invocation order; taken as the least, the table holds every position
	 * whatever the order.) */
	uint64_t span = nr ? (uint64_t)hi - (uint64_t)lo + 1 : 0;
	int dense = nr >= 256 && n < INT32_MAX / 2 && span <= 4 * (uint64_t)nr;
	int32_t *at = !dense ? NULL : at4 ? at4 : malloc(span * sizeof *at);
	if (at) {
		memset(at, 0xff, span * sizeof *at);
		for (size_t k = 0; k < nr; k++) {
			const struct lop *o = &c->ops[req[k]];
			at[o->call - lo] = 2 * req[k];
			at[o->ret - lo] = 2 * req[k] + 1;
		}
		for (size_t p = 0; p < span; p++) {
			if (at[p] < 0)
				continue;
			int32_t o = at[p] >> 1;
			int call = !(at[p] & 1);
			ent_op[ne] = o;
			is_call[ne] = (uint8_t)call;
			if (ce)
				(call ? ce : re)[o] = (int32_t)ne;
			ne++;
		}
		if (at != at4)
			free(at);
		return ne;
	}
	sort_by_ret(rets, nr, c->ops);
	size_t ic = 0, ir = 0;
	while (ic < nreq || ir < nr) {
		int call = ir == nr || (ic < nreq && c->ops[req[ic]].call < c->ops[rets[ir]].ret);
		int32_t o = call ? req[ic++] : rets[ir++];
		ent_op[ne] = o;
		is_call[ne] = (uint8_t)call;
		if (ce)
			(call ? ce : re)[o] = (int32_t)ne;
		ne++;
	}
	return ne;
}

/* Runs the search. Returns CHK_VALID/CHK_INVALID/CHK_UNKNOWN, or a negative SB_ENOMEM. */
static int run(struct kctx *c, struct chk_key_result *out)
{
	size_t n = c->n;
	int rc = SB_ENOMEM;
	int32_t *rets = NULL, *ent_op = NULL, *prev = NULL, *next = NULL, *ce = NULL, *re = NULL;
	int32_t *chain_of = NULL, *cops = NULL, *cstart = NULL, *clen = NULL, *ccur = NULL;
	int32_t *cprev = NULL, *cnext = NULL;
	int32_t *uprev = NULL, *unext = NULL; /* twins not linearized, see below */
	uint8_t *is_call = NULL;
	struct frame *stack = NULL;
	size_t sp = 0;
	struct hmap last = {0};
	int32_t *best_states = c->best_states;
	size_t nbest = 0, best_depth = 0;
	int32_t best_op = -1;
	uint64_t iter = 0;

	if (charge(c, n * 80)) {
		rc = CHK_UNKNOWN;
		goto out;
	}
	rets = malloc((n + 1) * sizeof *rets);
	ent_op = malloc((2 * n + 1) * sizeof *ent_op);
	prev = malloc((2 * n + 1) * sizeof *prev);
	next = malloc((2 * n + 1) * sizeof *next);
	is_call = malloc(2 * n + 1);
	ce = malloc((n + 1) * sizeof *ce);
	re = malloc((n + 1) * sizeof *re);
	stack = malloc((n + 1) * sizeof *stack);
	chain_of = malloc((n + 1) * sizeof *chain_of);
	cops = malloc((n + 1) * sizeof *cops);
	cstart = malloc((n + 1) * sizeof *cstart);
	clen = calloc(n + 1, sizeof *clen);
	ccur = calloc(n + 1, sizeof *ccur);
	cprev = malloc((n + 2) * sizeof *cprev);
	cnext = malloc((n + 2) * sizeof *cnext);
	if (!rets || !ent_op || !prev || !next || !is_call || !ce || !re || !stack || !chain_of ||
	    !cops || !cstart || !clen || !ccur || !cprev || !cnext)
		goto out;
	free(c->path);
	c->npath = c->path_low = 0;
	c->path = malloc((n + 1) * sizeof *c->path);
	if (!c->path)
		goto out;

	/* Indeterminate operations are grouped into chains of identical ones (same kind and
	 * arguments), in invocation order: they are interchangeable, so the search only ever
	 * takes the first untaken one of a chain. The chains are kept out of the entry list (they
	 * have no completion entry) in a list of their own, ordered by first invocation. */
	int64_t nchains = build_chains(c, &last, chain_of, cops, cstart, clen, ccur);
	if (nchains < 0)
		goto out;
	size_t nch = (size_t)nchains;
	int32_t CS = (int32_t)nch; /* chain list sentinel */
	for (size_t ch = 0; ch <= nch; ch++) {
		cprev[ch] = ch ? (int32_t)ch - 1 : CS;
		cnext[ch] = ch < nch ? (int32_t)ch + 1 : 0;
	}
	cnext[CS] = nch ? 0 : CS;
	if (nch)
		cprev[0] = CS, cnext[nch - 1] = CS, cprev[CS] = (int32_t)nch - 1;
	else
		cprev[CS] = CS;

	/* Twins: acknowledged operations with the same kind and arguments do the same thing, so
	 * of two that are both pending, the one that must complete first may as well be
	 * linearized first (swapping them in any linearization keeps it valid). Each twin class
	 * keeps its pending members in invocation order (uprev/unext, unlinked while
	 * linearized), and the walk skips an op whose pending predecessor twin completes
	 * earlier: that twin was offered before it at this configuration. */
	uprev = malloc((n + 1) * sizeof *uprev);
	unext = malloc((n + 1) * sizeof *unext);
	if (!uprev || !unext)
		goto out;
	hmap_free(&last);
	if (link_twins(c, &last, uprev, unext))
		goto out;

	/* The entry list: invocations and completions of the operations that must happen. */
	size_t ne = merge_entries(c, chain_of, rets, ent_op, is_call, ce, re, NULL);
	int32_t S = (int32_t)ne; /* sentinel */
	for (size_t e = 0; e <= ne; e++) {
		prev[e] = e ? (int32_t)e - 1 : S;
		next[e] = e < ne ? (int32_t)e + 1 : 0;
	}
	if (ne == 0)
		next[S] = prev[S] = S;
	else
		next[ne] = 0, prev[0] = S, next[ne - 1] = S, prev[S] = (int32_t)ne - 1;

	int32_t state = c->init;
	uint64_t h1 = 0, h2 = 0;
	int32_t e = next[S];
	int phase = 1;      /* 1: the entry list; 2: the chains of indeterminate ops */
	int64_t limit = 0;  /* phase 2: invocation position bound (the first completion) */
	int32_t ch = CS;    /* phase 2: the chain being tried */
	int32_t blocker = -1; /* the op whose completion bounds phase 2 */
	/* Phase 1 also offers the indeterminate ops at their invocations, in time order with
	 * the entry list (as the classic search does, which keeps them in that list): before
	 * the entry at time t, every chain whose next op was invoked before t is tried once.
	 * chp is the walk's position in the chain list. Completeness does not depend on it:
	 * phase 2 still tries every chain at the completion that bounds the walk, and the memo
	 * makes the repeats free. */
	int merge = nch <= MERGE_MAX_CHAINS;
	int32_t chp = merge ? cnext[CS] : CS;
	for (;;) {
		if ((++iter & 0x3ff) == 0) {
			if (c->iter_limit && iter > c->iter_limit) {
				rc = CHK_UNKNOWN;
				goto out;
			}
			int ex = chk_budget_expired(c->b, c->key_deadline);
			if (ex) {
				if (!c->rerun)
					out->why = strdup(chk_budget_why(ex));
				rc = CHK_UNKNOWN;
				goto out;
			}
		}
		int32_t o = -1;
		int32_t from = -1; /* phase 1: the chain the op comes from, -1: the entry list */
		if (phase == 1) {
			if (e == S) {
				rc = CHK_VALID; /* every required op is linearized */
				goto out;
			}
			if (chp != CS) {
				const struct lop *eo = &c->ops[ent_op[e]];
				int64_t t = is_call[e] ? eo->call : eo->ret;
				while (chp != CS) {
					if (c->ops[cops[cstart[chp]]].call >= t) {
						chp = CS; /* chains are ordered by first invocation */
						break;
					}
					if (c->ops[cops[cstart[chp] + ccur[chp]]].call < t)
						break;
					chp = cnext[chp];
				}
				if (chp != CS) {
					from = chp;
					o = cops[cstart[chp] + ccur[chp]];
				}
			}
		}
		if (phase == 1 && from < 0) {
			if (!is_call[e]) {
				/* A completion of an op not linearized: only indeterminate ops
				 * invoked before it remain to try here. */
				blocker = ent_op[e];
				limit = c->ops[blocker].ret;
				phase = 2;
				ch = cnext[CS];
				continue;
			}
			o = ent_op[e];
			if (uprev[o] >= 0 && c->ops[uprev[o]].ret < c->ops[o].ret) {
				e = next[e]; /* its pending twin goes first */
				continue;
			}
		} else if (phase == 2) {
			while (ch != CS) {
				int32_t first = cops[cstart[ch]];
				if (c->ops[first].call >= limit) {
					ch = CS; /* chains are ordered by first invocation */
					break;
				}
				int32_t cand = cops[cstart[ch] + ccur[ch]];
				if (c->ops[cand].call < limit)
					break;
				ch = cnext[ch];
			}
			if (ch == CS)
				goto fail;
			o = cops[cstart[ch] + ccur[ch]];
		}
		struct lop *op = &c->ops[o];
		int32_t ns;
		int ok = step(c, state, op, &ns);
		if (ok < 0)
			goto oom;
		if (ok) {
			uint64_t n1 = h1 ^ zkey1(o);
			uint64_t n2 = h2 ^ zkey2(o);
			int fresh = memo_add(c, n1, n2, ns);
			if (fresh < 0)
				goto oom;
			int ro = c->greedy_reads && phase == 1 && read_only(c, op);
			if (!fresh && ro)
				goto backtrack; /* the dominating configuration failed */
			if (fresh) {
				int32_t tch = phase == 2 ? ch : from; /* the chain taken from, or -1 */
				stack[sp].op = o;
				stack[sp].state = state;
				stack[sp].ro = ro;
				stack[sp].chain = tch;
				stack[sp].resume = phase == 1 ? e : -1;
				stack[sp].chp = chp;
				stack[sp].limit = limit;
				stack[sp].blocker = blocker;
				sp++;
				h1 = n1;
				h2 = n2;
				state = ns;
				on_linearize(c, op, 1);
				if (tch < 0) { /* leaves its twin class */
					if (uprev[o] >= 0)
						unext[uprev[o]] = unext[o];
					if (unext[o] >= 0)
						uprev[unext[o]] = uprev[o];
				}
				if (tch < 0) {
					int32_t x = ce[o];
					next[prev[x]] = next[x];
					prev[next[x]] = prev[x];
					x = re[o];
					next[prev[x]] = next[x];
					prev[next[x]] = prev[x];
				} else if (++ccur[tch] == clen[tch]) {
					cnext[cprev[tch]] = cnext[tch]; /* chain used up */
					cprev[cnext[tch]] = cprev[tch];
				}
				phase = 1;
				e = next[S];
				chp = merge ? cnext[CS] : CS;
				continue;
			}
		}
		if (phase == 2)
			ch = cnext[ch];
		else if (from >= 0)
			chp = cnext[chp];
		else
			e = next[e];
		continue;
	fail:
		/* Nothing before the completion of `blocker` can be taken: backtrack. */
		if (sp > best_depth || best_op < 0) {
			best_depth = sp;
			best_op = blocker;
			nbest = 0;
			for (size_t i = c->path_low; i < sp; i++)
				c->path[i] = stack[i].op;
			c->npath = c->path_low = sp;
		}
		if (sp == best_depth && best_op == blocker && nbest < MAX_STATES) {
			size_t i = 0;
			while (i < nbest && best_states[i] != state)
				i++;
			if (i == nbest)
				best_states[nbest++] = state;
		}
	backtrack:;
		int32_t ro;
		do {
			if (sp == 0) {
				rc = CHK_INVALID;
				goto out;
			}
			sp--;
			if (sp < c->path_low)
				c->path_low = sp;
			o = stack[sp].op;
			ro = stack[sp].ro;
			state = stack[sp].state;
			on_linearize(c, &c->ops[o], -1);
			h1 ^= zkey1(o);
			h2 ^= zkey2(o);
			int32_t sch = stack[sp].chain;
			if (sch < 0) {
				if (uprev[o] >= 0) /* back into its twin class */
					unext[uprev[o]] = o;
				if (unext[o] >= 0)
					uprev[unext[o]] = o;
				int32_t x = re[o];
				next[prev[x]] = x;
				prev[next[x]] = x;
				x = ce[o];
				next[prev[x]] = x;
				prev[next[x]] = x;
				phase = 1;
				e = next[x];
				chp = stack[sp].chp;
			} else {
				if (ccur[sch] == clen[sch]) {
					cnext[cprev[sch]] = sch;
					cprev[cnext[sch]] = sch;
				}
				ccur[sch]--;
				if (stack[sp].resume >= 0) {
					phase = 1; /* taken in the walk: go on with the next chain */
					e = stack[sp].resume;
					chp = cnext[sch];
				} else {
					phase = 2;
					limit = stack[sp].limit;
					blocker = stack[sp].blocker;
					ch = cnext[sch];
				}
			}
		} while (ro);
	}
oom:
	if (c->expired) {
		if (!c->rerun)
			out->why = strdup(chk_budget_why(c->expired));
		rc = CHK_UNKNOWN;
	} else if (c->oom) {
		if (!c->rerun)
			out->why = strdup("the memory cap was reached before this key was "
					  "decided");
		rc = CHK_UNKNOWN;
	} else {
		rc = SB_ENOMEM;
	}
out:
	/* Stopped by a limit with operations still linearized: put the counts back, for
	 * another round of either search (search_rounds()). */
	while (sp > 0)
		on_linearize(c, &c->ops[stack[--sp].op], -1);
	c->best_op = best_op;
	c->nbest = nbest;
	hmap_free(&last);
	free(rets);
	free(ent_op);
	free(prev);
	free(next);
	free(is_call);
	free(ce);
	free(re);
	free(stack);
	free(chain_of);
	free(cops);
	free(cstart);
	free(clen);
	free(ccur);
	free(cprev);
	free(cnext);
	free(uprev);
	free(unext);
	return rc;
}

/* ---- the just-in-time search (small-domain registers) ------------------------------------- */

/* Lowe's just-in-time linearization, depth first: the history is read in event order, and an
 * operation is linearized only when it must be: at its completion, if it is not linearized
 * yet, it is linearized there, possibly after some other pending operations that bring the
 * register to the state it needs (the choice point). Read-only operations are linearized as
 * soon as the state lets them (never worse, see read_only()), so a state change takes every
 * pending read of the new value with it. The choices at a completion are tried goal first:
 * operations that produce the state the completing one needs, then the others, each pending
 * one in completion order, then the chains of indeterminate ops. A configuration is the
 * completion being forced, the state, and the linearized set (memoised as in run()).
 *
 * The classic search linearizes eagerly at invocations, and with many clients and few values
 * most early choices are wrong only much later: 50-100 clients x 1,000-10,000 operations of
 * values 0-4 stay undecided for it after 20 s, while this order decides them in about two
 * configurations per operation. It does worse on some others, indeterminate-heavy
 * histories with few clients among them (every pending indeterminate op is a choice at
 * every completion), so the two take turns with growing budgets (search_rounds()).
 *
 * "Valid" comes only with a linearization checked step by step against the model and the
 * real-time order (jit_witness_ok), so a flaw there can cost time, never a wrong verdict.
 * "No linearization" rests on the search being complete, as run() does: the same exact
 * reductions, and Lowe's argument that every linearization can be reordered to linearize
 * each op no earlier than its own completion forces, or a pending op's needs ask for.
 * tests/unit/checker/test_bruteforce.c holds both answers to an unreduced search. */

struct chk_jit_stats chk_jit_stats;
int chk_jit_nodom;

enum { JT_PEND, JT_READ, JT_MM, JT_LIN, JT_LINCH };

/* 16 bytes: a 5-client check of 10,000 operations writes 10,500-15,200 of them, and the
 * pages a check touches for the first time are about a quarter of its time. */
struct jtrail {
	int32_t op;
	int32_t from; /* JT_LIN: the list it was taken from (JT_PEND/READ/MM) or -1 */
	int32_t at;   /* JT_LIN(CH): where it was linearized: the completion of op `at`, or,
		       * when negative, the invocation of op ~at (jit_at()) */
	int16_t prev_state; /* a local value id: run_jit() runs with at most JIT_MAX_VALUES */
	uint8_t kind; /* JT_PEND/READ/MM: inserted into that list; JT_LIN: op linearized
		       * (from list `from`, -1: at its invocation); JT_LINCH: chain op */
};

struct jframe {
	int32_t ev, op, state, stage, cur; /* state: for the report, the undo restores it */
	size_t trail;
};

struct jit {
	struct kctx *c;
	size_t n, ne;
	int32_t *ev_op;
	uint8_t *ev_call;
	int32_t *pnext, *pprev;   /* pending non-read-only ops, by completion; sentinel n */
	int32_t *rnext, *rprev;   /* pending reads, one list per value; heads at n + value */
	int32_t *mnext, *mprev;   /* pending mismatch observations; sentinel n */
	int32_t *uprev, *unext;   /* twins not linearized, in invocation order */
	int32_t *cops, *cstart, *clen, *ccur;
	size_t nch;
	struct jtrail *trail;
	size_t ntrail, captrail;
	struct jframe *fr;
	size_t nfr, capfr;
	int32_t state;
	uint64_t h1, h2;
	/* The indeterminate ops linearized, for jit_dominated(): their zkey1s and zkey2s
	 * XORed, and the chains with ops linearized (ccur > 0), in the order they got their
	 * first. */
	uint64_t hi, hi2;
	int32_t *act;
	size_t nact;
	struct jdom_table *t; /* c->jd */
};

/* The event position a trail entry's `at` names. */
static int64_t jit_at(const struct kctx *c, int32_t at)
{
	return at >= 0 ? c->ops[at].ret : c->ops[~at].call;
}

static int jit_push(struct jit *j, int32_t kind, int32_t op, int32_t from, int32_t at)
{
	if (j->ntrail == j->captrail) {
		/* about 1.5 entries per op in a search that does not backtrack: room for two at
		 * once, not a doubling (and a copy) every few thousand */
		size_t cap = j->captrail ? j->captrail * 2 : 2 * j->n + 1024;
		if (charge(j->c, (cap - j->captrail) * sizeof *j->trail))
			return -1;
		struct jtrail *p =
			bigmem_grow(j->trail, j->captrail * sizeof *p, cap * sizeof *p);
		if (!p)
			return -1;
		j->trail = p;
		j->captrail = cap;
	}
	j->trail[j->ntrail++] = (struct jtrail){.op = op, .from = from, .at = at,
						.prev_state = (int16_t)j->state, .kind = (uint8_t)kind};
	return 0;
}

static void dl_unlink(int32_t *next, int32_t *prev, int32_t x)
{
	next[prev[x]] = next[x];
	prev[next[x]] = prev[x];
}

static void dl_relink(int32_t *next, int32_t *prev, int32_t x)
{
	next[prev[x]] = x;
	prev[next[x]] = x;
}

static void dl_after(int32_t *next, int32_t *prev, int32_t at, int32_t x)
{
	prev[x] = at;
	next[x] = next[at];
	prev[next[at]] = x;
	next[at] = x;
}

static void jit_twin_out(struct jit *j, int32_t o)
{
	if (j->uprev[o] >= 0)
		j->unext[j->uprev[o]] = j->unext[o];
	if (j->unext[o] >= 0)
		j->uprev[j->unext[o]] = j->uprev[o];
}

static void jit_twin_in(struct jit *j, int32_t o)
{
	if (j->uprev[o] >= 0)
		j->unext[j->uprev[o]] = o;
	if (j->unext[o] >= 0)
		j->uprev[j->unext[o]] = o;
}

/* Linearize op o (already known to step from j->state to ns) taken from list `from` (or
 * -1, or chain ch when from == JT_LINCH), then every pending read-only op the new state
 * lets through. Returns 0, or -1 out of memory. */
static int jit_lin(struct jit *j, int32_t o, int32_t from, int32_t ns, int32_t at)
{
	struct kctx *c = j->c;
	int32_t old = j->state;
	if (from == JT_LINCH) {
		if (jit_push(j, JT_LINCH, o, -1, at))
			return -1;
		if (j->ccur[o]++ == 0) /* o is the chain here */
			j->act[j->nact++] = o;
		o = j->cops[j->cstart[o] + j->ccur[o] - 1];
		j->trail[j->ntrail - 1].from = o; /* the op, for the witness and the undo */
		j->hi ^= zkey1(o);
		j->hi2 ^= zkey2(o);
	} else {
		if (jit_push(j, JT_LIN, o, from, at))
			return -1;
		if (from == JT_PEND) {
			dl_unlink(j->pnext, j->pprev, o);
			jit_twin_out(j, o);
		} else if (from == JT_READ) {
			dl_unlink(j->rnext, j->rprev, o);
		} else if (from == JT_MM) {
			dl_unlink(j->mnext, j->mprev, o);
		}
	}
	on_linearize(c, &c->ops[o], 1);
	j->h1 ^= zkey1(o);
	j->h2 ^= zkey2(o);
	j->state = ns;
	if (ns == old)
		return 0;
	int32_t head = (int32_t)j->n + ns;
	while (j->rnext[head] != head) {
		int32_t r = j->rnext[head];
		if (jit_lin(j, r, JT_READ, ns, at))
			return -1;
	}
	int32_t ms = (int32_t)j->n;
	for (int32_t m = j->mnext[ms]; m != ms;) {
		int32_t nx = j->mnext[m];
		if (c->ops[m].a != ns && jit_lin(j, m, JT_MM, ns, at))
			return -1;
		m = nx;
	}
	return 0;
}

/* Undo the trail down to height h. */
static void jit_undo(struct jit *j, size_t h)
{
	struct kctx *c = j->c;
	while (j->ntrail > h) {
		struct jtrail *t = &j->trail[--j->ntrail];
		int32_t o = t->op;
		switch (t->kind) {
		case JT_PEND:
			dl_unlink(j->pnext, j->pprev, o);
			break;
		case JT_READ:
			dl_unlink(j->rnext, j->rprev, o);
			break;
		case JT_MM:
			dl_unlink(j->mnext, j->mprev, o);
			break;
		case JT_LINCH:
			o = t->from;
			if (--j->ccur[t->op] == 0)
				j->nact--; /* the last chain to get its first op: undone in order */
			j->hi ^= zkey1(o);
			j->hi2 ^= zkey2(o);
			/* fall through */
		case JT_LIN:
			on_linearize(c, &c->ops[o], -1);
			j->h1 ^= zkey1(o);
			j->h2 ^= zkey2(o);
			j->state = t->prev_state;
			if (t->kind == JT_LIN) {
				if (t->from == JT_PEND) {
					dl_relink(j->pnext, j->pprev, o);
					jit_twin_in(j, o);
				} else if (t->from == JT_READ) {
					dl_relink(j->rnext, j->rprev, o);
				} else if (t->from == JT_MM) {
					dl_relink(j->mnext, j->mprev, o);
				}
			}
			break;
		}
	}
}

/* The linearization the trail holds, checked from scratch: every acknowledged op exactly
 * once, indeterminate ones at most once, each at a point inside its own interval with the
 * points in order, and every step allowed by the plain register semantics. */
static int jit_witness_ok(const struct jit *j)
{
	const struct kctx *c = j->c;
	uint8_t *seen = calloc(j->n + 1, 1);
	if (!seen)
		return 0;

	int ok = 1;
	int32_t s = c->init;
	int64_t last = INT64_MIN;
	for (size_t i = 0; i < j->ntrail && ok; i++) {
		const struct jtrail *t = &j->trail[i];
		if (t->kind != JT_LIN && t->kind != JT_LINCH)
			continue;
		int32_t o = t->kind == JT_LIN ? t->op : t->from;
		const struct lop *op = &c->ops[o];
		int64_t at = jit_at(c, t->at);
		if (seen[o]++ || at < last || at < op->call || at > op->ret) {
			ok = 0;
			break;
		}
		last = at;
		switch (op->kind) {
		case K_READ:
			ok = s == op->a;
			break;
		case K_MISMATCH:
			ok = s != op->a;
			break;
		case K_WRITE:
			s = (int32_t)op->a;
			break;
		case K_CAS:
			ok = s == op->a;
			s = (int32_t)op->b;
			break;
		default:
			ok = 0;
		}
	}
	for (size_t i = 0; i < j->n && ok; i++)
		if (c->ops[i].ok && !seen[i])
			ok = 0;
	free(seen);
	return ok;
}

/* A read, or an acknowledged cas that writes back the value it expects: both only need the
 * state to be their value, and change nothing (read_only()'s argument holds for both). */
static int jit_read(const struct lop *o)
{
	return o->kind == K_READ || (o->kind == K_CAS && o->ok && o->a == o->b);
}

/* Whether ns is what op o needs to complete: the value it reads or expects. */
static int jit_goal(const struct lop *o, int32_t ns)
{
	switch (o->kind) {
	case K_READ:
	case K_CAS:
		return ns == o->a;
	case K_MISMATCH:
		return ns != o->a;
	default:
		return 0;
	}
}

/* Indeterminate ops in canonical runs. Between two acknowledged ops, a linearization's
 * indeterminate ops form a run (a segment) that moves the register through states s0..sk.
 * Such an op may be left out of any linearization (it need not take effect), so:
 *   - a segment that returns to a state it left can lose the ops in between, and
 *   - a segment just before a write can lose all its ops (the write sets the state alone);
 * neither removal changes a state any acknowledged op sees, nor adds a state for the
 * eager reads to act on. So the search only builds segments that visit each state once and
 * are not followed by a write, acknowledged or indeterminate (an indeterminate write after
 * a segment is tried at the segment's start instead); this cuts the subsets of
 * indeterminate ops it would otherwise try at a completion it cannot pass (5 clients x
 * 10,000 ops, 5% indeterminate: 6.0M steps to 32k; 30 clients x 2,000 ops, values 0-9,
 * 10% indeterminate: 1.0 s to 2 ms).
 * The segment is the run of chain linearizations at the top of the trail: a segment lies
 * within the frames of one completion, since only the completing op's own linearization
 * (not a chain op) lets the walk move on. */

/* Whether the current segment has visited state s (its start and current state included). */
static int jit_seg_has(const struct jit *j, int32_t s)
{
	if (s == j->state)
		return 1;
	for (size_t t = j->ntrail; t-- > 0 && j->trail[t].kind == JT_LINCH;)
		if (j->trail[t].prev_state == s)
			return 1;
	return 0;
}

/* Whether a segment is open: the last op linearized was indeterminate. */
static int jit_seg_open(const struct jit *j)
{
	return j->ntrail > 0 && j->trail[j->ntrail - 1].kind == JT_LINCH;
}

/* The first half of the memo key of the configuration at completion event i. */
static uint64_t jit_memo_k1(const struct jit *j, size_t i)
{
	return j->h1 ^ mix64((uint64_t)i + 0x2545f4914f6cdd1dULL);
}

/* The states the open segment has left, as a hash for the memo: what may follow depends on
 * them, so two configurations alike but for them are different configurations. */
static uint64_t jit_seg_hash(const struct jit *j)
{
	uint64_t h = 0;
	for (size_t t = j->ntrail; t-- > 0 && j->trail[t].kind == JT_LINCH;)
		h ^= mix64((uint64_t)j->trail[t].prev_state + 0x6a09e667f3bcc909ULL);
	return h;
}

/* Dominance through indeterminate ops. Take two configurations at the same completion, with
 * the same acknowledged ops linearized and the same state, where the first has linearized a
 * subset of the indeterminate ops the second has. Whatever order completes the second also
 * completes the first: the first still has every op that order uses, and it may leave the
 * extra ones out (an indeterminate op need not take effect). So when the first has failed,
 * the second fails too, and need not be searched. The memo catches only equal sets; with
 * many clients and a few indeterminate ops the search meets the same acknowledged choices
 * with many subsets of them (50 clients x 2,000 ops, values 0-9, 5% indeterminate: about 150
 * per configuration), and this cuts those.
 * A configuration is kept when every choice at it has failed, with its set as counts per
 * chain (the ops of a chain are linearized in order): the first's set is a subset of the
 * second's when no chain count of the first is larger. One with a segment open is not kept
 * (it is more restricted than the same configuration without, see run_jit()). Easy
 * histories, where few choices fail, keep little and pay almost nothing.
 * What a configuration can still do depends only on itself, not on the way the search came
 * to it, so the table outlives a round: the next round, with a larger budget, does not
 * search again what an earlier one showed to fail, and starts about where it stopped. */

/* The 128-bit key of the current configuration at event i, without its indeterminate ops. */
struct jdom_key {
	uint64_t k1, k2;
};

static struct jdom_key jit_dom_key(const struct jit *j, size_t i)
{
	uint64_t e = mix64((uint64_t)i + 0x3c6ef372fe94f82bULL) ^
		     mix64((uint64_t)(uint32_t)j->state * 2 + 0xbb67ae8584caa73bULL);
	return (struct jdom_key){j->h1 ^ j->hi ^ e, j->h2 ^ j->hi2 ^ mix64(e)};
}

/* Whether a kept (failed) configuration under key dominates the current one. */
static int jit_dominated(const struct jit *j, struct jdom_key key)
{
	const struct jdom_table *t = j->t;
	for (int32_t r = hmap_get(&t->keys, key.k1); r >= 0; r = t->dr[r].next) {
		if (t->dr[r].key2 != key.k2)
			continue;
		const int32_t *p = t->dpool + 2 * (size_t)t->dr[r].off;
		uint32_t k = 0;
		while (k < t->dr[r].len && j->ccur[p[2 * k]] >= p[2 * k + 1])
			k++;
		if (k == t->dr[r].len)
			return 1;
	}
	return 0;
}

/* Keeps the current configuration (failed, no segment open) under key. Returns 0, or -1
 * out of memory or over a limit. */
static int jit_dom_keep(struct jit *j, struct jdom_key key)
{
	struct kctx *c = j->c;
	struct jdom_table *t = j->t;
	if (t->ndr == t->capdr) {
		size_t cap = t->capdr ? t->capdr * 2 : 1024;
		if (charge(c, (cap - t->capdr) * sizeof *t->dr))
			return -1;
		t->bytes += (cap - t->capdr) * sizeof *t->dr;
		struct jdom *p = realloc(t->dr, cap * sizeof *p);
		if (!p)
			return -1;
		t->dr = p;
		t->capdr = cap;
	}
	if (t->ndpool + 2 * j->nact > t->capdpool) {
		size_t cap = t->capdpool ? t->capdpool : 4096;
		while (cap < t->ndpool + 2 * j->nact)
			cap *= 2;
		if (charge(c, (cap - t->capdpool) * sizeof *t->dpool))
			return -1;
		t->bytes += (cap - t->capdpool) * sizeof *t->dpool;
		int32_t *p = realloc(t->dpool, cap * sizeof *p);
		if (!p)
			return -1;
		t->dpool = p;
		t->capdpool = cap;
	}
	int32_t prev = hmap_get(&t->keys, key.k1);
	if (prev < 0) { /* the map's share per key, at its worst load */
		if (charge(c, 48))
			return -1;
		t->bytes += 48;
	}
	t->keys.over = kctx_over;
	t->keys.over_arg = c;
	if (t->ndr >= INT32_MAX || t->ndpool / 2 + j->nact > UINT32_MAX ||
	    hmap_put(&t->keys, key.k1, (int32_t)t->ndr))
		return -1;
	t->dr[t->ndr++] = (struct jdom){key.k2, prev, (uint32_t)(t->ndpool / 2),
					(uint32_t)j->nact};
	for (size_t k = 0; k < j->nact; k++) {
		t->dpool[t->ndpool++] = j->act[k];
		t->dpool[t->ndpool++] = j->ccur[j->act[k]];
	}
	return 0;
}

static void jit_dom_free(struct jdom_table *t)
{
	hmap_free(&t->keys);
	free(t->dr);
	free(t->dpool);
	*t = (struct jdom_table){0};
}

/* The next candidate of frame f (after f->cur in its stage), applied. Returns 1 when one
 * was applied, 0 when the frame is exhausted, -1 out of memory. */
static int jit_next(struct jit *j, struct jframe *f)
{
	struct kctx *c = j->c;
	const struct lop *fo = &c->ops[f->op];
	int64_t limit = fo->ret;
	int32_t ns;
	for (;;) {
		switch (f->stage) {
		case 0: /* the completing op itself */
			f->stage = 1;
			f->cur = (int32_t)j->n;
			if (!jit_read(fo) && fo->kind != K_MISMATCH &&
			    !(fo->kind == K_WRITE && jit_seg_open(j))) {
				int r = step(c, j->state, fo, &ns);
				if (r < 0)
					return -1;
				if (r)
					return jit_lin(j, f->op, JT_PEND, ns, f->op) ? -1 : 1;
			}
			continue;
		case 1: /* pending ops, goal first (stage 1), then the rest (stage 3) */
		case 3:
			for (int32_t p = j->pnext[f->cur]; p != (int32_t)j->n; p = j->pnext[p]) {
				f->cur = p;
				if (p == f->op)
					continue;
				const struct lop *po = &c->ops[p];
				if (j->uprev[p] >= 0 && c->ops[j->uprev[p]].ret < po->ret)
					continue; /* its twin completes first */
				if (po->kind == K_WRITE && jit_seg_open(j))
					continue; /* a segment before a write: left out instead */
				int r = step(c, j->state, po, &ns);
				if (r < 0)
					return -1;
				if (!r || jit_goal(fo, ns) != (f->stage == 1))
					continue;
				return jit_lin(j, p, JT_PEND, ns, f->op) ? -1 : 1;
			}
			f->stage++;
			f->cur = -1;
			continue;
		case 2: /* chains of indeterminate ops, goal first (2), then the rest (4) */
		case 4:
			for (int32_t ch = f->cur + 1; ch < (int32_t)j->nch; ch++) {
				f->cur = ch;
				if (c->ops[j->cops[j->cstart[ch]]].call >= limit)
					break; /* ordered by first invocation */
				if (j->ccur[ch] == j->clen[ch])
					continue;
				const struct lop *po = &c->ops[j->cops[j->cstart[ch] + j->ccur[ch]]];
				if (po->call >= limit)
					continue;
				if (po->kind == K_WRITE && jit_seg_open(j))
					continue; /* a segment before a write: left out instead */
				int r = step(c, j->state, po, &ns);
				if (r < 0)
					return -1;
				if (!r || jit_goal(fo, ns) != (f->stage == 2) || jit_seg_has(j, ns))
					continue;
				return jit_lin(j, ch, JT_LINCH, ns, f->op) ? -1 : 1;
			}
			if (f->stage == 4)
				return 0;
			f->stage = 3;
			f->cur = (int32_t)j->n;
			continue;
		default:
			return 0;
		}
	}
}

/* It runs on register keys with at most this many observed values: with unique values
 * run() is near linear already (a read names its write). */
#define JIT_MAX_VALUES 256
_Static_assert(JIT_MAX_VALUES <= INT16_MAX, "struct jtrail keeps a state in 16 bits");

/* Adds s to a report's list of states (at most MAX_STATES, each once). */
static void add_state(int32_t *states, size_t *n, int32_t s)
{
	size_t k = 0;
	while (k < *n && states[k] != s)
		k++;
	if (k == *n && *n < MAX_STATES)
		states[(*n)++] = s;
}

/* What an exhausted just-in-time search leaves for the report: the completion it reached
 * deepest without a way to linearize its op, and the states it tried there. */
struct jit_proof {
	int32_t op;
	int32_t ev;
	int32_t states[MAX_STATES];
	size_t nstates;
};

/* run_jit()'s per-op arrays, carved from one block (lib/bigmem.h): with base NULL only its
 * size is worked out, which it returns. One block of some 120 bytes per op instead of
 * nineteen arrays: at 10,000 ops, a single huge page where the kernel grants them. The
 * choice frames (at most one per op) and merge_entries()' table (4 n) are reserved in full
 * but touched only as far as they are used; as arrays of their own, from the heap, their
 * first touches cost a page fault per 4 KiB (a third of the faults of a 5-client check of
 * 10,000 ops, bench/RESULTS.md). */
static size_t jit_carve(struct jit *j, int32_t **rets, int32_t **chain_of, int32_t **at4,
			char *base)
{
	size_t n = j->n, nloc = j->c->nloc;
	struct bigmem_carve cv = {.base = base};
#define TAKE(ptr, count) ((ptr) = bigmem_take(&cv, (count) * sizeof *(ptr)))
	TAKE(*rets, n + 1);
	TAKE(*chain_of, n + 1);
	TAKE(*at4, 4 * n + 1);
	TAKE(j->fr, n + 1);
	TAKE(j->ev_op, 2 * n + 1);
	TAKE(j->ev_call, 2 * n + 1);
	TAKE(j->pnext, n + 1);
	TAKE(j->pprev, n + 1);
	TAKE(j->rnext, n + nloc);
	TAKE(j->rprev, n + nloc);
	TAKE(j->mnext, n + 1);
	TAKE(j->mprev, n + 1);
	TAKE(j->uprev, n + 1);
	TAKE(j->unext, n + 1);
	TAKE(j->cops, n + 1);
	TAKE(j->cstart, n + 1);
	TAKE(j->clen, n + 1);
	TAKE(j->ccur, n + 1);
	TAKE(j->act, n + 1);
#undef TAKE
	j->capfr = n + 1;
	return cv.off;
}

/* Runs the just-in-time search for at most `budget` steps. Returns 1 when the key is
 * linearizable (with a checked witness), 2 when it has no linearization (every choice
 * tried; *proof says where it got furthest), 0 when the budget or a limit ran out first,
 * -1 out of memory. Leaves c as it found it, memo aside, except after 1: the key is decided
 * and nothing looks at its ops again, so they stay marked linearized (undoing the whole trail
 * took 8% of a 5-client check of 10,000 operations). */
static int run_jit(struct kctx *c, uint64_t budget, struct jit_proof *proof)
{
	size_t n = c->n, nloc = c->nloc;
	struct jit jj = {.c = c, .n = n}, *j = &jj;
	struct hmap last = {0};
	int rc = -1;
	size_t acc0 = c->accounted;
	int32_t *rets, *chain_of, *at4;
	size_t blk = jit_carve(j, &rets, &chain_of, &at4, NULL);
	char *base = bigmem_alloc(blk);
	j->t = &c->jd;
	size_t tb0 = c->jd.bytes;
	if (charge(c, blk))
		goto out_undecided;
	if (!base)
		goto out;
	jit_carve(j, &rets, &chain_of, &at4, base);
	memset(j->clen, 0, (n + 1) * sizeof *j->clen);
	memset(j->ccur, 0, (n + 1) * sizeof *j->ccur);

	/* Chains of identical indeterminate ops and twin classes, as in run(). */
	int64_t nchains = build_chains(c, &last, chain_of, j->cops, j->cstart, j->clen, j->ccur);
	if (nchains < 0)
		goto out;
	j->nch = (size_t)nchains;
	hmap_free(&last);
	if (link_twins(c, &last, j->uprev, j->unext))
		goto out;
	j->ne = merge_entries(c, chain_of, rets, j->ev_op, j->ev_call, NULL, NULL, at4);
	int32_t S = (int32_t)n;
	j->pnext[S] = j->pprev[S] = S;
	j->mnext[S] = j->mprev[S] = S;
	for (size_t v = 0; v < nloc; v++)
		j->rnext[n + v] = j->rprev[n + v] = (int32_t)(n + v);
	j->state = c->init;

	uint64_t iter = 0;
	if (c->in_window) { /* otherwise: the deepest failure of every round so far */
		proof->op = proof->ev = -1;
		proof->nstates = 0;
	}
	size_t i = 0;
	for (;;) {
		/* Forward: invocations join the pending lists, completions of linearized ops
		 * pass; the first completion of an op not linearized is a choice point. */
		while (i < j->ne) {
			if ((++iter & 0x3ff) == 0 &&
			    (iter > budget || chk_budget_expired(c->b, c->key_deadline)))
				goto out_undecided;
			int32_t o = j->ev_op[i];
			const struct lop *op = &c->ops[o];
			if (j->ev_call[i]) {
				if (jit_read(op) || op->kind == K_MISMATCH) {
					int32_t ns;
					if (step(c, j->state, op, &ns) > 0) {
						if (jit_lin(j, o, -1, ns, ~o))
							goto out;
					} else if (op->kind != K_MISMATCH) {
						dl_after(j->rnext, j->rprev, (int32_t)n + (int32_t)op->a, o);
						if (jit_push(j, JT_READ, o, -1, 0))
							goto out;
					} else {
						dl_after(j->mnext, j->mprev, S, o);
						if (jit_push(j, JT_MM, o, -1, 0))
							goto out;
					}
				} else {
					int32_t at = j->pprev[S];
					while (at != S && c->ops[at].ret > op->ret)
						at = j->pprev[at];
					dl_after(j->pnext, j->pprev, at, o);
					if (jit_push(j, JT_PEND, o, -1, 0))
						goto out;
				}
				i++;
				continue;
			}
			if (op->lin) {
				i++;
				continue;
			}
			/* The memo holds the configurations whose every choice failed: one is
			 * recorded when its frame is given up, not when it is made, since a
			 * configuration still on the stack cannot come again (those after it have
			 * more ops linearized, or a later completion). A search that does not
			 * backtrack records nothing. With a segment open, the search is more
			 * restricted than at the same configuration without one (the canonical-run
			 * rules): if that one failed, so does this. */
			uint64_t k1 = jit_memo_k1(j, i);
			uint64_t sh = jit_seg_hash(j);
			if ((sh && memo_has(c, k1, j->h2, j->state)) ||
			    memo_has(c, k1, j->h2 ^ sh, j->state))
				goto backtrack;
			if (j->t->keys.n && jit_dominated(j, jit_dom_key(j, i))) {
				if (!c->in_window)
					atomic_fetch_add(&chk_jit_stats.dominated, 1);
				goto backtrack;
			}
			if (j->nfr == j->capfr) /* a frame per op linearized: cannot be */
				goto out_undecided;
			j->fr[j->nfr++] = (struct jframe){.ev = (int32_t)i, .op = o,
							  .state = j->state, .trail = j->ntrail};
			goto choose;
		}
		rc = jit_witness_ok(j);
		if (!c->in_window)
			atomic_fetch_add(rc ? &chk_jit_stats.decided : &chk_jit_stats.bad_witness, 1);
		else if (!rc)
			atomic_fetch_add(&chk_jit_stats.bad_witness, 1);
		goto out; /* a bad witness (0): the classic search decides */
	choose:;
		struct jframe *f = &j->fr[j->nfr - 1];
		int r = jit_next(j, f);
		if (r < 0)
			goto out;
		if (r) {
			i = (size_t)f->ev;
			continue;
		}
		if (f->ev > proof->ev) {
			proof->ev = f->ev;
			proof->op = f->op;
			proof->nstates = 0;
		}
		if (f->ev == proof->ev)
			add_state(proof->states, &proof->nstates, f->state);
		/* Every choice failed, and the trail is back where it was when the frame was made:
		 * keep its configuration in the memo, and for jit_dominated() (not one with a
		 * segment open). */
		if (memo_add(c, jit_memo_k1(j, (size_t)f->ev), j->h2 ^ jit_seg_hash(j), f->state) < 0)
			goto out_undecided;
		if (!chk_jit_nodom && !jit_seg_open(j) &&
		    jit_dom_keep(j, jit_dom_key(j, (size_t)f->ev)))
			goto out_undecided;
		j->nfr--;
	backtrack:
		if (j->nfr == 0) {
			rc = 2; /* every choice failed: no linearization */
			if (!c->in_window)
				atomic_fetch_add(&chk_jit_stats.proved_invalid, 1);
			goto out;
		}
		if (++iter > budget)
			goto out_undecided;
		jit_undo(j, j->fr[j->nfr - 1].trail);
		goto choose;
	}
out_undecided:
	rc = 0;
	if (!c->in_window)
		atomic_fetch_add(&chk_jit_stats.undecided, 1);
out:
	if (rc < 0 && c->oom)
		rc = 0; /* over the memory cap: run() says so */
	if (j->trail && rc != 1)
		jit_undo(j, 0);
	c->oom = 0;
	uncharge_to(c, acc0);
	if (c->in_window) {
		jit_dom_free(&c->jd);
	} else if (c->jd.bytes > tb0 && charge(c, c->jd.bytes - tb0)) {
		/* the failed configurations stay charged for the next round; over the cap, the
		 * next round goes without them */
		uncharge_to(c, acc0 - tb0);
		jit_dom_free(&c->jd);
		c->oom = 0;
	}
	bigmem_free(c->memo, c->mcap * sizeof *c->memo);
	c->memo = NULL;
	c->mcap = c->mn = 0;
	hmap_free(&last);
	bigmem_free(base, blk);
	bigmem_free(j->trail, j->captrail * sizeof *j->trail);
	return rc;
}

/* Steps of the first rounds of search_rounds(): where the just-in-time search helps it
 * needs about two per operation, and the classic search decides most small-domain keys it
 * can decide at all within about ten per operation (bench/RESULTS.md). */
#define JIT_FIRST(n) (8 * (uint64_t)(n) + 4096)
#define RUN_FIRST(n) (32 * (uint64_t)(n) + 4096)

/* ---- refutation in a window ----------------------------------------------------------------- */

/* A violation is usually local: a stale read, a lost write. Proving it with the whole history
 * means trying every order of everything before it, which with many clients outlasts any
 * time limit (50 clients x 500 operations: 17 s). A window proves it alone. Take the operations whose intervals meet a stretch of
 * time [t1, t2]: those inside it must take effect inside it; those reaching out of it (and
 * the indeterminate ones) may take effect in it or outside it. Any linearization of the
 * history, cut to the operations that take effect in the window, is a linearization of that
 * window from the value the register held at t1. So if the window has no linearization from
 * any value the register can hold, neither has the history.
 * Inside the window a write or cas that reaches out of it becomes indeterminate, and a read
 * that does is left out: both only allow more orders, so a refutation stays exact. */

/* Windows tried around an anchor, the operation no order got past: so many operations back
 * and forward from it in invocation order. The smallest first: the operations reaching into
 * a window from outside are the ones it must let go anywhere, and a short window has few. */
static const size_t win_sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

struct win_proof {
	int32_t op;    /* the operation (parent index) no order gets past */
	size_t nops;   /* operations in the window */
	uint64_t line1, line2; /* the history lines where the window begins and ends */
	int32_t states[MAX_STATES];
	size_t nstates;
};

int chk_window_every; /* tests: try a window at every acknowledged op before searching */

/* Builds the window from the invocation of ops[first] to the later of the completion of
 * ops[anchor] and the invocation of ops[last]: its operations into sub, their indexes in
 * c->ops into pidx. Returns the number of operations; 0 when the key has an operation kind
 * windows do not handle. */
static size_t win_build(const struct kctx *c, size_t first, int32_t anchor, size_t last,
			struct lop *sub, int32_t *pidx)
{
	int64_t t1 = c->ops[first].call, t2 = c->ops[anchor].ret;
	if (last < c->n && c->ops[last].call > t2)
		t2 = c->ops[last].call;
	size_t m = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct lop *o = &c->ops[i];
		if (o->kind != K_READ && o->kind != K_WRITE && o->kind != K_CAS &&
		    o->kind != K_MISMATCH)
			return 0;
		if (o->call > t2)
			break; /* ops are in invocation order */
		if (o->ret < t1)
			continue; /* took effect before the window */
		int inside = o->ok && o->call >= t1 && o->ret <= t2;
		if (!inside && (o->kind == K_READ || o->kind == K_MISMATCH))
			continue; /* may have taken effect outside: no constraint kept */
		sub[m] = *o;
		if (!inside) {
			sub[m].ok = 0; /* may take effect in the window or not at all */
			sub[m].ret = CHK_INF;
		}
		pidx[m++] = (int32_t)i;
	}
	return m;
}

/* Whether the window of `m` operations in sub has a linearization from some state the
 * register can hold. Returns 1 when it has none (*wp filled), 0 when it has one or the
 * budget ran out, -1 out of memory. */
static int win_refute(struct kctx *c, struct lop *sub, const int32_t *pidx, size_t m,
		      struct win_proof *wp)
{
	size_t nloc = c->nloc;
	struct kctx w = *c;
	int rc = -1;
	w.ops = sub;
	w.n = m;
	w.memo = NULL;
	w.mcap = w.mn = 0;
	w.path = NULL;
	w.npath = w.path_low = 0;
	w.iter_limit = 0;
	w.in_window = 1;
	w.jd = (struct jdom_table){0}; /* its own, for one run_jit() at a time */
	w.nwriters = malloc(nloc * sizeof *w.nwriters);
	w.need = calloc(nloc, sizeof *w.need);
	w.pending_mm = calloc(nloc, sizeof *w.pending_mm);
	uint8_t *held = malloc(nloc);
	if (!w.nwriters || !w.need || !w.pending_mm || !held)
		goto out;
	int32_t best_ev = -1;
	wp->nstates = 0;
	wp->op = -1;
	/* The values the register can hold: the initial one and those written (c->nwriters
	 * counts 0, the unobserved value, as always written, so it is not asked). */
	memset(held, 0, nloc);
	held[c->init] = 1;
	for (size_t i = 0; i < c->n; i++)
		if (c->ops[i].kind == K_WRITE || c->ops[i].kind == K_CAS)
			held[c->ops[i].kind == K_WRITE ? c->ops[i].a : c->ops[i].b] = 1;
	/* The window's own tables, as prepare_register() makes them for a key; the initial
	 * value counts as one more writer of itself. */
	memset(w.nwriters, 0, nloc * sizeof *w.nwriters);
	w.nwriters[0] = INT32_MAX / 2;
	for (size_t i = 0; i < m; i++) {
		const struct lop *o = &sub[i];
		if (o->kind == K_WRITE || o->kind == K_CAS)
			w.nwriters[o->kind == K_WRITE ? o->a : o->b]++;
		if (o->ok && (o->kind == K_READ || o->kind == K_CAS))
			w.need[o->a]++;
		if (o->kind == K_MISMATCH)
			w.pending_mm[o->a]++;
	}
	for (size_t s = 0; s < nloc; s++) {
		if (!held[s])
			continue; /* the register never holds it */
		w.init = (int32_t)s;
		w.nwriters[s]++;
		struct jit_proof p = {.op = -1};
		int r = run_jit(&w, JIT_FIRST(m), &p);
		w.nwriters[s]--;
		if (r != 2) {
			rc = r < 0 ? -1 : 0;
			goto out;
		}
		if (p.op < 0)
			continue; /* failed before any completion: nothing to show from here */
		if (p.ev > best_ev) {
			best_ev = p.ev;
			wp->op = pidx[p.op];
			wp->nstates = 0;
		}
		if (p.ev == best_ev)
			for (size_t k = 0; k < p.nstates; k++)
				add_state(wp->states, &wp->nstates, p.states[k]);
	}
	rc = wp->op >= 0;
out:
	free(held);
	free(w.nwriters);
	free(w.need);
	free(w.pending_mm);
	return rc;
}

/* Tries windows of growing size around `anchor`. Returns 1 when one of them has no
 * linearization (*wp says which), 0 when none was found, -1 out of memory. */
static int refute_windows(struct kctx *c, int32_t anchor, struct win_proof *wp)
{
	const struct lop *a = &c->ops[anchor];
	if (!a->ok || a->ret == CHK_INF)
		return 0;
	struct lop *sub = malloc((c->n + 1) * sizeof *sub);
	int32_t *pidx = malloc((c->n + 1) * sizeof *pidx);
	int rc = -1;
	if (!sub || !pidx)
		goto out;
	rc = 0;
	for (size_t k = 0; k < sizeof win_sizes / sizeof *win_sizes; k++) {
		size_t first = (size_t)anchor > win_sizes[k] ? (size_t)anchor - win_sizes[k] : 0;
		size_t last = (size_t)anchor + win_sizes[k];
		if (last >= c->n)
			last = c->n - 1;
		size_t m = win_build(c, first, anchor, last, sub, pidx);
		if (!m)
			break;
		rc = win_refute(c, sub, pidx, m, wp);
		if (rc) {
			const struct cop *f = key_op(c->h, c->k, c->ops[first].src);
			const struct cop *e = key_op(c->h, c->k, a->src);
			const struct cop *l = key_op(c->h, c->k, c->ops[last].src);
			wp->nops = m;
			wp->line1 = f->line;
			wp->line2 = c->ops[last].call > a->ret ? l->line : e->ret_line;
			break;
		}
		if (first == 0 || chk_budget_expired(c->b, c->key_deadline))
			break; /* the whole prefix was the window; or out of time */
	}
out:
	free(sub);
	free(pidx);
	return rc;
}

/* refute_windows() at `anchor`, for search_rounds(): CHK_INVALID with the counterexample
 * set when a window shows the key invalid, 0 when not, SB_ENOMEM. */
static int win_try(struct kctx *c, int32_t anchor)
{
	struct win_proof wp;
	int wr = refute_windows(c, anchor, &wp);
	if (wr < 0)
		return SB_ENOMEM;
	if (!wr)
		return 0;
	atomic_fetch_add(&chk_jit_stats.window_refuted, 1);
	c->best_op = wp.op;
	c->nbest = wp.nstates;
	memcpy(c->best_states, wp.states, wp.nstates * sizeof *wp.states);
	c->npath = 0; /* no order to show */
	c->win_nops = wp.nops;
	c->win_line1 = wp.line1;
	c->win_line2 = wp.line2;
	return CHK_INVALID;
}

/* Small-domain registers: neither search is always the faster one (each decides keys the
 * other does not within minutes), so they take turns, each round with four times the
 * steps of the last, until one decides or a limit runs out: the key costs at most a few
 * times what the better of the two needs. The just-in-time search answers valid with a
 * checked witness, or shows that there is no linearization; then run() gets one more
 * round to find the violation itself (its counterexample shows the order it reached), and
 * if it does not, the key is invalid with the just-in-time search's deepest failure as
 * the counterexample. When a just-in-time round gives up, windows around the completion it
 * got stuck at are tried before the next round (once per such completion). */
static int search_rounds(struct kctx *c, struct chk_key_result *out)
{
	uint64_t jb = JIT_FIRST(c->n), rb = RUN_FIRST(c->n);
	struct jit_proof proof = {.op = -1, .ev = -1}; /* run_jit() keeps the deepest */
	int proven = 0, v;
	int32_t tried = -1;
	for (size_t i = 0; chk_window_every && i < c->n; i++) {
		int wr = win_try(c, (int32_t)i);
		if (wr)
			return wr;
	}
	for (;;) {
		if (!proven) {
			int jr = run_jit(c, jb, &proof);
			if (jr < 0)
				return SB_ENOMEM;
			if (jr == 1)
				return CHK_VALID;
			proven = jr == 2;
			jb = jb > UINT64_MAX / 4 ? UINT64_MAX : jb * 4;
			/* Undecided: no order got past proof.op; if that is a local violation, a
			 * window around it shows it at once. */
			if (!proven && proof.op >= 0 && proof.op != tried) {
				tried = proof.op;
				int wr = win_try(c, proof.op);
				if (wr)
					return wr;
			}
		}
		size_t acc = c->accounted;
		/* when proven: one short round, for a counterexample with an order */
		c->iter_limit = proven ? RUN_FIRST(c->n) : rb;
		v = run(c, out);
		c->iter_limit = 0;
		if (v != CHK_UNKNOWN || out->why || proven)
			break; /* decided, or stopped by the time limit or the memory cap */
		bigmem_free(c->memo, c->mcap * sizeof *c->memo);
		c->memo = NULL;
		c->mcap = c->mn = 0;
		uncharge_to(c, acc);
		rb = rb > UINT64_MAX / 4 ? UINT64_MAX : rb * 4;
	}
	if (v == CHK_UNKNOWN && !proven && proof.op >= 0 &&
	    (c->best_op < 0 || c->ops[proof.op].ret >= c->ops[c->best_op].ret)) {
		/* undecided: the just-in-time search got further than the classic one */
		c->best_op = proof.op;
		c->nbest = proof.nstates;
		memcpy(c->best_states, proof.states, proof.nstates * sizeof *proof.states);
	}
	if (v == CHK_UNKNOWN && proven && proof.op >= 0) {
		free(out->why);
		out->why = NULL;
		c->best_op = proof.op;
		c->nbest = proof.nstates;
		memcpy(c->best_states, proof.states, proof.nstates * sizeof *proof.states);
		c->npath = 0; /* no order to show: run() was stopped */
		return CHK_INVALID;
	}
	return v;
}

/* Adds to the explanation of an invalid key that a window showed it, and which. */
static int win_note(struct kctx *c, struct chk_key_result *out)
{
	struct sbuf b = {0};
	sbuf_addf(&b, "%s (shown by the %zu operations of lines %llu to %llu alone, whatever "
		      "value the register held at line %llu)",
		  out->why ? out->why : "", c->win_nops, (unsigned long long)c->win_line1,
		  (unsigned long long)c->win_line2, (unsigned long long)c->win_line1);
	char *w = sbuf_take(&b);
	if (!w)
		return SB_ENOMEM;
	free(out->why);
	out->why = w;
	return 0;
}

int chk_search_key(const struct chk_history *h, const struct ckey *k, struct budget *b,
		   struct chk_key_result *out)
{
	struct kctx c = {.h = h, .k = k, .b = b, .model = h->opt.model, .greedy_reads = 1,
			 .best_op = -1};
	if (h->opt.key_timeout_s > 0)
		c.key_deadline = chk_now_ns() + (int64_t)(h->opt.key_timeout_s * 1e9);
	c.trie.over = c.elem_ids.over = c.sidx.over = kctx_over;
	c.trie.over_arg = c.elem_ids.over_arg = c.sidx.over_arg = &c;
	int rc = SB_ENOMEM;
	c.ops = bigmem_alloc((k->n + 1) * sizeof *c.ops);
	if (!c.ops)
		goto out;
	for (size_t i = 0; i < k->n; i++) {
		const struct cop *o = key_op(h, k, i);
		if (o->kind == K_DEAD)
			continue;
		if (o->status == S_OPEN && (o->kind == K_READ || o->kind == K_LREAD))
			continue; /* a read that never completed returned nothing we know */
		struct lop *l = &c.ops[c.n++];
		l->call = o->call;
		l->ret = o->status == S_OK || o->status == S_FAIL ? o->ret : CHK_INF;
		l->a = (int64_t)o->a;
		l->b = (int64_t)o->b;
		l->src = (uint32_t)i;
		l->kind = o->kind;
		l->ok = o->status == S_OK || o->status == S_FAIL;
		l->lin = 0;
	}
	out->ops = c.n;
	if (c.model == CHK_MODEL_LIST) {
		int ir = chk_list_infer(h, k, b, c.key_deadline, out);
		if (ir < 0)
			goto out;
		if (ir == 1) {
			rc = 0;
			goto out;
		}
	}
	int prc = 0;
	if (is_register(c.model))
		prc = prepare_register(&c);
	else if (c.model == CHK_MODEL_LIST)
		prc = prepare_list(&c);
	else if (c.model == CHK_MODEL_MULTI_REGISTER)
		prc = prepare_multi(&c);
	else
		c.init = 0;
	if (prc && (c.oom || c.expired)) {
		out->verdict = CHK_UNKNOWN;
		out->why = strdup(c.expired ? chk_budget_why(c.expired)
					    : "the memory cap was reached before this key was "
					      "decided");
		rc = 0;
		goto out;
	}
	if (prc)
		goto out;
	int32_t sbad, sref;
	if (c.unique_prune && find_stale_read(&c, &sbad, &sref)) {
		vref st = h->initial; /* a never-written value: the register held others */
		if (sref >= 0) {
			const struct cop *w = key_op(h, k, c.ops[sref].src);
			st = w->kind == K_WRITE ? w->a : w->b;
		}
		int32_t dummy = 0;
		if (report_invalid(&c, sbad, &dummy, 1, st, out))
			goto out;
		out->verdict = CHK_INVALID;
		rc = 0;
		goto out;
	}
	int v = is_register(c.model) && c.nloc <= JIT_MAX_VALUES ? search_rounds(&c, out)
								 : run(&c, out);
	if (v < 0)
		goto out;
	if (v == CHK_INVALID && c.unique_prune &&
	    (c.ops[c.best_op].kind == K_WRITE || c.ops[c.best_op].kind == K_CAS)) {
		/* The uniqueness prune stops the search at the write that would overwrite a value
		 * a read still needs; a person expects to be shown that read. A bounded run
		 * without the prune finds it. */
		int32_t sb = c.best_op, ss[MAX_STATES];
		size_t sn = c.nbest;
		memcpy(ss, c.best_states, sizeof ss);
		int32_t *spath = c.path;
		size_t snpath = c.npath;
		c.path = NULL;
		bigmem_free(c.memo, c.mcap * sizeof *c.memo);
		c.memo = NULL;
		c.mcap = c.mn = 0;
		c.unique_prune = 0;
		c.rerun = 1;
		c.iter_limit = 1u << 21;
		int v2 = run(&c, out);
		if (v2 != CHK_INVALID) {
			free(c.path);
			c.path = spath;
			c.npath = snpath;
		} else {
			free(spath);
		}
		if (v2 < 0)
			goto out;
		if (v2 == CHK_INVALID)
			c.win_nops = 0; /* the run found it, with an order */
		if (v2 != CHK_INVALID) {
			c.best_op = sb;
			c.nbest = sn;
			memcpy(c.best_states, ss, sizeof ss);
		}
	}
	if (v == CHK_INVALID &&
	    report_invalid(&c, c.best_op, c.best_states, c.nbest, VREF_UNKNOWN, out))
		goto out;
	if (v == CHK_INVALID && c.win_nops && win_note(&c, out))
		goto out;
	if (v == CHK_UNKNOWN && c.best_op >= 0 &&
	    report_stalled(&c, c.best_op, c.best_states, c.nbest, out))
		goto out;
	out->verdict = (enum chk_verdict)v;
	rc = 0;
out:
	uncharge_all(&c);
	jit_dom_free(&c.jd);
	bigmem_free(c.ops, (k->n + 1) * sizeof *c.ops);
	free(c.l2g);
	free(c.elems);
	hmap_free(&c.elem_ids);
	free(c.nwriters);
	free(c.need);
	free(c.pending_mm);
	free(c.tparent);
	free(c.telem);
	hmap_free(&c.trie);
	free(c.svec);
	free(c.snext);
	hmap_free(&c.sidx);
	free(c.tmp);
	bigmem_free(c.memo, c.mcap * sizeof *c.memo);
	free(c.path);
	return rc;
}
