/* raft_kv — the replicated key-value state machine (docs/node-protocol.md) that every Raft node
 * applies committed entries to, identically in raftnode and in the simulator.
 *
 * Pure: no I/O, no clock, no randomness. Not thread-safe; one owner (the Raft core).
 *
 * Values: a key holds either a string or a list of strings (RPUSH creates a list).
 * Commands and their results (the shell renders results as RESP2):
 *   GET k              string -> BULK; absent -> NIL; list -> ERR "WRONGTYPE ..."
 *   SET k v            OK (replaces a string or a list)
 *   CAS k old new      INT 1 if the current string equals old (then set to new), else INT 0
 *                      (absent key or a list: 0)
 *   DEL k              INT 1 if the key existed, else INT 0
 *   RPUSH k v          INT new length of the list; string value -> ERR "WRONGTYPE ..."
 *   LRANGE k start stop ARRAY (Redis index rules: negative counts from the end, -1 = last);
 *                      absent -> empty ARRAY; string -> ERR "WRONGTYPE ..."
 * GET and LRANGE are read-only (served by ReadIndex); the others are writes (through the log).
 *
 * Deduplication (a retried write applies once): a write carries (client_id, seq). client_id 0
 * means "no deduplication". For each client the state machine remembers the highest seq applied
 * and that write's result. A write with seq == last returns the remembered result without
 * applying again; seq < last returns ERR "STALE sequence" without applying; seq > last applies.
 * The table is part of the snapshot, so deduplication survives restarts and snapshot installs.
 *
 * Encoded command format (the bytes carried in a Raft entry), little-endian:
 *   u8 op (enum raft_kv_op) | u32 nargs | nargs x (u32 len | len bytes)
 * with nargs fixed per op (GET 1, SET 2, CAS 3, DEL 1, RPUSH 2, LRANGE 3 — LRANGE's start/stop
 * as decimal text). raft_kv_decode validates everything; hostile bytes give SB_EINVAL + message.
 */
#ifndef NODE_RAFT_KV_H
#define NODE_RAFT_KV_H

#include <stddef.h>
#include <stdint.h>

enum raft_kv_op {
	RAFT_KV_GET = 1,
	RAFT_KV_SET = 2,
	RAFT_KV_CAS = 3,
	RAFT_KV_DEL = 4,
	RAFT_KV_RPUSH = 5,
	RAFT_KV_LRANGE = 6,
};

/* Limits on one command (also bound what a hostile entry can make us allocate). */
#define RAFT_KV_MAX_KEY (64u * 1024u)
#define RAFT_KV_MAX_VALUE (1024u * 1024u)

/* A borrowed byte string (not NUL-terminated). */
struct raft_kv_str {
	const unsigned char *p;
	size_t len;
};

/* A decoded command. key/arg point into the buffer it was decoded from (borrowed).
 *   GET/DEL: key.  SET/RPUSH: key, arg[0] = value.  CAS: key, arg[0] = expected, arg[1] = new.
 *   LRANGE: key, start, stop (arg unused after decoding). */
struct raft_kv_cmd {
	enum raft_kv_op op;
	struct raft_kv_str key;
	struct raft_kv_str arg[2];
	long long start, stop;
};

enum raft_kv_res_kind {
	RAFT_KV_RES_OK = 1, /* +OK */
	RAFT_KV_RES_NIL,    /* $-1 */
	RAFT_KV_RES_INT,    /* :integer */
	RAFT_KV_RES_BULK,   /* $len bytes */
	RAFT_KV_RES_ARRAY,  /* *n of bulk strings */
	RAFT_KV_RES_ERR,    /* -message (no leading '-', no CRLF) */
};

/* A command's result. Owns its memory: release with raft_kv_result_free(). */
struct raft_kv_result {
	enum raft_kv_res_kind kind;
	long long integer;       /* INT */
	unsigned char *bulk;     /* BULK data or ERR message (NUL-terminated for ERR) */
	size_t bulk_len;
	unsigned char **items;   /* ARRAY: n_items strings */
	size_t *item_lens;
	size_t n_items;
};

struct raft_kv;

/* A new empty state machine, or NULL when out of memory. */
struct raft_kv *raft_kv_new(void);
void raft_kv_free(struct raft_kv *kv);

/* Encode a command. *out is malloc'ed; the caller frees it. */
int raft_kv_encode(const struct raft_kv_cmd *cmd, unsigned char **out, size_t *outlen,
		   char *err, size_t errlen);

/* Build and encode a command from text arguments as a client sent them (argv without the
 * command name), e.g. op=RAFT_KV_CAS, args {"k","1","2"}. LRANGE parses start/stop as
 * integers. Wrong arity or a bad integer: SB_EINVAL with a message like "CAS takes 3 args". */
int raft_kv_encode_args(enum raft_kv_op op, const struct raft_kv_str *args, size_t nargs,
			unsigned char **out, size_t *outlen, char *err, size_t errlen);

/* Decode bytes into *cmd (which then borrows buf). */
int raft_kv_decode(const unsigned char *buf, size_t len, struct raft_kv_cmd *cmd, char *err,
		   size_t errlen);

/* 1 if the encoded command is read-only (GET, LRANGE), 0 if a write, SB_EINVAL if undecodable. */
int raft_kv_is_read(const unsigned char *buf, size_t len);

/* Apply one encoded write with deduplication by (client_id, seq). Fills *res (caller frees with
 * raft_kv_result_free). An undecodable command is not an error of the state machine: it yields
 * an ERR result deterministically, so every replica applies it the same way. Returns SB_ENOMEM
 * when out of memory (the state is then unspecified: the node must stop), else 0. */
int raft_kv_apply(struct raft_kv *kv, uint64_t client_id, uint64_t seq, const unsigned char *buf,
		  size_t len, struct raft_kv_result *res);

/* Evaluate a read-only command against the current state (no change). Same result rules. */
int raft_kv_query(const struct raft_kv *kv, const unsigned char *buf, size_t len,
		  struct raft_kv_result *res);

/* Serialise the whole state (values + dedup table) to *out (malloc'ed, caller frees).
 * The format is deterministic: equal states give equal bytes. */
int raft_kv_snapshot(const struct raft_kv *kv, unsigned char **out, size_t *outlen);

/* Replace the state with a serialised one. On error (SB_EINVAL: malformed, message says where;
 * SB_ENOMEM) the previous state is kept. */
int raft_kv_restore(struct raft_kv *kv, const unsigned char *buf, size_t len, char *err,
		    size_t errlen);

/* A deterministic 64-bit digest of the state (for comparing replicas in tests). */
uint64_t raft_kv_digest(const struct raft_kv *kv);

/* Copy / free a result. raft_kv_result_copy returns SB_ENOMEM on failure (dst then empty). */
int raft_kv_result_copy(struct raft_kv_result *dst, const struct raft_kv_result *src);
void raft_kv_result_free(struct raft_kv_result *res);

#endif
