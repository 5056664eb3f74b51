/* internal — types shared by the checker's modules (not part of its public contract).
 *
 * checker.c pairs events into operations (struct cop) grouped by key (struct ckey) and runs
 * the workers; search.c decides one key's linearizability; setcheck.c analyses one key of
 * the set model; report.c formats results. After ingest the history is read-only, so the
 * workers share it without locks; each worker owns its key's result.
 */
#ifndef SB_CHECKER_INTERNAL_H
#define SB_CHECKER_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "checker/checker.h"
#include "checker/values.h"

#define CHK_INF INT64_MAX

/* Operation kinds after pairing. a/b meaning per kind:
 *   READ a=value read | WRITE a=value | CAS a=expected b=new | MISMATCH a=expected b=new
 *   ACQUIRE, RELEASE (no args) | APPEND a=value | LREAD, LWRITE, SREAD a=pool offset b=count
 *   ADD a=value | TXN a=pool offset of micro-ops (3 ints each: kind, register, value) b=count */
enum cop_kind {
	K_DEAD = 0, /* dropped: a plain fail, an unknown read */
	K_READ,
	K_WRITE,
	K_CAS,
	K_MISMATCH,
	K_ACQUIRE,
	K_RELEASE,
	K_APPEND,
	K_LREAD,  /* a = interned sequence node, b = its length */
	K_LWRITE, /* likewise */
	K_ADD,
	K_SREAD,
	K_TXN,
};

enum cop_status { S_OK = 0, S_INFO, S_FAIL, S_OPEN };

enum { MICRO_READ = 0, MICRO_WRITE = 1 };
/* a micro-op read whose value is unknown (EDN nil) holds VREF_UNKNOWN */

struct cop {
	int64_t call, ret; /* positions of the events in the file; ret = CHK_INF if none */
	int64_t process;
	int64_t t_call, t_ret; /* the `time` fields, -1 if absent */
	uint64_t line, ret_line;
	vref a, b; /* value references, or pool offset and count */
	uint8_t kind, status;
};

struct ckey {
	vref key; /* the key; VREF_UNKNOWN for the history's single key */
	uint32_t *idx; /* the key's operations: indexes into chk_history.cops, in order */
	size_t n, cap;
	size_t nmismatch;
	/* list model: the longest list read or written so far on this key (elements, and the
	 * interned node at each depth), in order. Reads mostly repeat its prefixes, so they are
	 * interned by comparing with it, in sequence, rather than by one hash probe each. */
	vref *order;
	int32_t *onode;
	size_t norder, caporder;
};

/* Sequences (the lists that list reads return and list writes write), interned as nodes of
 * a trie: node 0 is the empty sequence, every other node is (parent, last element). A list
 * history's reads mostly share prefixes, so this keeps memory proportional to the distinct
 * prefixes rather than to the sum of the reads' lengths. Built while reading (one thread);
 * read-only afterwards. */
struct seqtab {
	int32_t *parent;
	vref *elem;
	uint32_t *depth;
	size_t n, cap;
	uint32_t *slots; /* node + 1, 0 = empty */
	size_t nslots;
	int32_t *hot;    /* per node: the child found or made last (-1): reads of one key
			  * repeat one order, so a walk mostly follows it without hashing */
};

/* A process while reading: its last operation (the lines that messages name are that
 * operation's) and where it stands. */
struct pslot {
	uint32_t op;   /* its last operation: an index into chk_history.cops */
	int32_t key;   /* that operation's key index */
	uint8_t seen;  /* the process has had an event */
	uint8_t state; /* 0 idle, 1 in flight, 2 ended `info` */
};

/* A process numbered outside chk_history.pdir, hashed. */
struct phslot {
	int64_t process;
	struct pslot s;
};

struct chk_history {
	struct chk_options opt;
	char *name;
	int edn;
	struct vtab vals;
	vref null_ref;
	vref initial;           /* the initial value (null if none) */
	vref *reg_init;         /* multi-register: per register, the initial value */
	vref reg_default;       /* multi-register: initial value of registers not named */
	int64_t init_seq;       /* list: pool offset of the initial list's elements, -1 if none */
	int32_t init_seq_len;
	vref *regs;             /* multi-register: register names */
	size_t nregs, capregs;
	struct cop *cops; /* every operation, in invocation order (one growing array: large
			   * reallocations move pages instead of copying) */
	size_t ncops, capcops;
	size_t cops_hint; /* operations the file's size suggests (0: unknown): the first capacity */
	struct ckey *keys;
	size_t nkeys, capkeys;
	uint32_t *kslots; /* key value id -> key index + 1 */
	size_t nkslots;
	/* Processes: those numbered 0 .. npdir - 1 by number, in pdir (histories number them
	 * densely: one per client, a new one for each crash); any other in phash. */
	struct pslot *pdir;
	size_t npdir, nprocs;
	struct phslot *phash;
	size_t nphash, nphashed;
	vref *pool; /* sequences: set reads, txn micro-ops, the list model's initial value */
	struct seqtab seqs; /* list reads and writes */
	size_t npool, cappool;
	int64_t pos; /* events seen */
	size_t ops;
	int failed;
	int64_t start_ns;
	int cut; /* the time limit passed while reading: every key is unknown */
};

/* The i-th operation of key k. */
static inline const struct cop *key_op(const struct chk_history *h, const struct ckey *k,
				       size_t i)
{
	return &h->cops[k->idx[i]];
}

/* Shared limits of one check: a deadline, a memory budget, and a cancel flag. */
struct budget {
	int64_t deadline_ns; /* monotonic; 0 = none */
	size_t limit;        /* bytes; 0 = none */
	atomic_size_t used;
	atomic_int stop;     /* set when the deadline passed */
};

int64_t chk_now_ns(void);

/* What the just-in-time search (search.c) did, summed over all runs of it in this process:
 * keys it showed valid, keys it showed to have no linearization, runs that ended at their
 * budget or a limit, and linearizations it built that failed their own check (a flaw in
 * it; the tests require none). */
struct chk_jit_stats {
	atomic_ulong decided, proved_invalid, undecided, bad_witness;
	atomic_ulong window_refuted; /* keys shown invalid by a window (refute_windows()) */
	atomic_ulong dominated; /* configurations cut by jit_dominated() */
};
extern struct chk_jit_stats chk_jit_stats;
/* Tests only: when set, a small-domain register key first tries a window ending at each of
 * its operations, so that every window path is taken on small histories. */
extern int chk_window_every;
/* Tests and benchmarks only: when set, the just-in-time search does not cut configurations
 * dominated through indeterminate ops (jit_dominated()), to show what that cut changes. */
extern int chk_jit_nodom;

/* Whether a search must stop now: 1 when the check's deadline has passed or another worker
 * saw it pass (b->stop is then set for all), 2 when only this key's deadline (monotonic ns,
 * 0 = none) has passed, 0 otherwise. Reads the clock once. Long loops call it every few
 * thousand steps, so a time limit is kept to well within a second. */
int chk_budget_expired(struct budget *b, int64_t key_deadline);
/* The sentence for an unknown verdict caused by chk_budget_expired()'s answer r (1 or 2). */
const char *chk_budget_why(int r);

/* List model by inference: when the key has no list writes and every appended element is
 * unique (and none is in the initial list), every read names the order of the appends it
 * saw, and linearizability is a question of real time alone, decided in O(n log n) with
 * the same verdict the search would reach. Returns 1 with out filled (valid, invalid, or
 * unknown when a time limit passed), 0 when the key does not qualify (search it), or
 * SB_ENOMEM. */
int chk_list_infer(const struct chk_history *h, const struct ckey *k, struct budget *b,
		   int64_t key_deadline, struct chk_key_result *out);

/* Decide one key of a linearizability model; fills out (verdict, why, counterexample).
 * Returns 0, or SB_ENOMEM when a report could not be allocated. */
int chk_search_key(const struct chk_history *h, const struct ckey *k, struct budget *b,
		   struct chk_key_result *out);
/* Analyse one key of the set model. */
int chk_set_key(const struct chk_history *h, const struct ckey *k, struct chk_key_result *out);

/* The elements of interned sequence `node`, in order, into out (room for its depth).
 * Returns the depth. */
size_t chk_seq_get(const struct chk_history *h, int32_t node, vref *out);

/* Free the keys of a result (and r->keys itself). */
void chk_result_free_keys(struct chk_result *r);

/* Fill info for an operation of the history (strings allocated). */
void chk_op_describe(const struct chk_history *h, const struct cop *op, struct chk_op_info *out);
/* The name of an operation kind ("read", "cas", ...). */
const char *chk_kind_name(int kind);
/* Append "key K" (or "the register") to b. */
void chk_key_phrase(const struct chk_history *h, const struct ckey *k, struct sbuf *b);
/* Append a time in seconds ("2.31 s") or "line N" when the history has no times. */
void chk_when_phrase(int64_t t, uint64_t line, struct sbuf *b);

#endif
