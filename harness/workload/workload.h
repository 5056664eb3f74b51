/* workload — what the clients do to the system: one file per workload, one row in the
 * table (workload_kinds).
 *
 * A workload names the operations it makes (a subset of read, write, cas, add, append), their
 * default mix, whether operations carry a key, the checker model that judges the history, and
 * the final read that ends every run. The generator (gen.h) draws operations from it; the
 * client (client.h) performs them. Operations, as they appear in the history (docs/history.md):
 *
 *   register     read, write v, cas [old, new]  on one register       model cas-register
 *   kv           read, write v, cas [old, new]  on keys "k0".."kN-1"  model kv
 *   set          add e, read -> [e...]          on keys               model set
 *   list-append  append e, read -> [e...]       on keys (order kept)  model list
 *
 * Written values and elements are unique per key (a counter), so that a read names the write
 * it saw; that is what lets the checker decide without searching, and name lost writes.
 *
 * Pure data and pure functions; thread-safe.
 */
#ifndef SB_WORKLOAD_H
#define SB_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "checker/checker.h"

/* The operations a workload may make. */
enum op_f { OP_READ = 0, OP_WRITE, OP_CAS, OP_ADD, OP_APPEND, OP_NF };

/* "read", "write", ... as in the history's `f`. */
const char *op_f_name(enum op_f f);

struct workload_kind {
	const char *name;          /* "kv" */
	const char *summary;       /* one line for docs and --help */
	enum chk_model model;      /* the checker model that judges its history */
	bool keyed;                /* operations carry `key` (register: one unnamed register) */
	const char *single_key;    /* !keyed: the key the client stores the register under ("r");
				      NULL for keyed kinds */
	bool collection;           /* a key holds a set or a list: a read returns all of its
				      elements (the client's LRANGE rather than GET) */
	unsigned ops;              /* bit (1 << enum op_f) for each operation it makes */
	double mix[OP_NF];         /* default weights */
	unsigned default_keys;     /* when the spec does not say */
	bool final_read;           /* end with one read of every key */
};

/* The kinds, in the order docs list them; NULL-terminated. One row per file in workload/. */
extern const struct workload_kind *const workload_kinds[];

/* The kind named `name`, or NULL. */
const struct workload_kind *workload_find(const char *name);

/* A comma-separated list of the kinds' names, for messages ("register, kv, set, list-append"). */
const char *workload_names(void);

/* The history's key for key index i: "k<i>" (keyed workloads), written into buf. */
void workload_key_name(unsigned i, char *buf, size_t n);

/* The key the client sends for key index i (client_req.key): the history's key for a keyed
 * kind, the kind's single_key ("r") for an unkeyed one. */
void workload_client_key(const struct workload_kind *k, unsigned i, char *buf, size_t n);

/* The rows, one per file. */
extern const struct workload_kind workload_register;
extern const struct workload_kind workload_kv;
extern const struct workload_kind workload_set;
extern const struct workload_kind workload_list_append;

#endif
