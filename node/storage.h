/* storage — the node's durable state: term and vote, the log, the snapshot.
 *
 * Layout of the data directory:
 *   meta                    term + vote: one checksummed record, replaced atomically
 *                           (write meta.tmp, fsync, rename, fsync the directory)
 *   seg-<first index>.log   log segments (20-digit zero-padded first index); each record
 *                           carries a CRC-32C; a new segment starts when one passes
 *                           STORAGE_SEGMENT_BYTES
 *   snapshot                the latest snapshot (snapshot.tmp, fsync, rename, fsync dir)
 *
 * Durability contract: storage_set_meta() and storage_save_snapshot() are durable when they
 * return 0. storage_append() only writes; entries are durable after storage_sync() returns 0,
 * and the shell must not acknowledge anything that depends on them before that (several
 * appends may share one sync: group commit). storage_truncate() is durable on return.
 *
 * Recovery (storage_open): a torn tail of the LAST segment (a record cut short, a bad checksum
 * on a record that runs to the end of the file, or zero fill, with no valid record anywhere
 * after it) is truncated and logged (event=torn-tail-truncated); a bad record anywhere else,
 * or one followed by a valid record (say a damaged length field that points past the end of
 * the file), is corruption and storage_open fails with a message naming the file and the byte
 * offset. A data directory with log segments but no meta record is refused too (the vote would
 * be forgotten): the shell writes term and vote before the first entry. Leftover *.tmp files
 * are removed.
 *
 * Failure: after any failed write, fsync, truncate or rename the storage is "failed": every
 * later call returns SB_EIO, because after a failed fsync the kernel's page cache can no longer
 * be trusted (the node must stop and recover from disk on restart).
 *
 * All I/O that changes the disk goes through a small vtable (struct storage_io) so that tests
 * can fail the Nth write or fsync. Single-threaded.
 */
#ifndef NODE_STORAGE_H
#define NODE_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORAGE_SEGMENT_BYTES (8u << 20)
#define STORAGE_MAX_ENTRY (16u << 20)     /* payload bytes of one log entry */
#define STORAGE_MAX_SNAPSHOT (1u << 30)   /* bytes of one snapshot */

/* The I/O seam. Functions behave like the syscalls of the same name (-1 and errno on error).
 * `ctx` is passed back unchanged. */
struct storage_io {
	int (*open)(void *ctx, const char *path, int flags, mode_t mode);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n);
	int (*fsync)(void *ctx, int fd);
	int (*ftruncate)(void *ctx, int fd, off_t len);
	int (*rename)(void *ctx, const char *from, const char *to);
	int (*unlink)(void *ctx, const char *path);
	int (*close)(void *ctx, int fd);
	void *ctx;
};

/* The real thing. */
extern const struct storage_io storage_io_posix;

struct storage_entry {
	uint64_t term;
	uint64_t index;
	uint8_t type;
	uint64_t client_id, seq; /* carried for the state machine's deduplication */
	uint32_t len;
	void *data; /* len bytes; ownership: see each function */
};

/* What storage_open() found on disk. Caller-owned: free with storage_state_free(). */
struct storage_state {
	uint64_t term;
	uint64_t vote; /* 0 = no vote */
	int has_snapshot;
	uint64_t snap_index, snap_term;
	void *snap_data; /* snap_len bytes (malloc'd) */
	size_t snap_len;
	struct storage_entry *entries; /* n_entries, consecutive indexes, each data malloc'd */
	size_t n_entries;
	int torn_tail; /* a torn tail was truncated */
};

void storage_state_free(struct storage_state *st);

struct storage;

/* Check, before anything else is written, that `dir` (created if missing) is a directory in
 * which a file can be created, written, fsynced, renamed and removed, and whose entries can be
 * fsynced: a node whose first persist would fail (say --data /proc/self) must not start.
 * Leaves nothing behind. io NULL means storage_io_posix. Returns 0 or SB_EINVAL with a message
 * naming the directory and the step that failed. */
int storage_probe_dir(const char *dir, const struct storage_io *io, char *err, size_t errlen);

/* Open (creating if needed) the data directory `dir`, recover it and report its content in
 * *st. io NULL means storage_io_posix (borrowed; must outlive the storage).
 * Returns 0, SB_EIO (I/O error or corruption: message names file and offset) or SB_ENOMEM. */
int storage_open(const char *dir, const struct storage_io *io, struct storage **out,
		 struct storage_state *st, char *err, size_t errlen);
void storage_close(struct storage *s);

/* Durably replace term and vote. */
int storage_set_meta(struct storage *s, uint64_t term, uint64_t vote, char *err, size_t errlen);

/* Append entries (borrowed). entries[0].index must be last_index + 1 (or, for an empty log,
 * anything > the snapshot index); indexes must be consecutive. Not durable until
 * storage_sync(). */
int storage_append(struct storage *s, const struct storage_entry *entries, size_t n, char *err,
		   size_t errlen);
/* fsync everything appended so far. */
int storage_sync(struct storage *s, char *err, size_t errlen);
/* Durably remove every entry with index >= from (a conflict on a follower). */
int storage_truncate(struct storage *s, uint64_t from, char *err, size_t errlen);

/* Durably write a snapshot of the state up to (index, term) (data borrowed). Raft §7: if the
 * log does not hold entry `index` with `term`, the whole log is superseded and dropped (the
 * next append starts at index + 1); otherwise the log is left alone. */
int storage_save_snapshot(struct storage *s, uint64_t index, uint64_t term, const void *data,
			  size_t len, char *err, size_t errlen);
/* Drop whole log segments whose entries are all <= upto (covered by a durable snapshot). The
 * last segment is always kept, so entries <= upto may remain; they are harmless. */
int storage_compact(struct storage *s, uint64_t upto, char *err, size_t errlen);

/* Last index in the log (0 if empty), first index kept (0 if empty), the durable prefix. */
uint64_t storage_last_index(const struct storage *s);
uint64_t storage_first_index(const struct storage *s);
uint64_t storage_synced_index(const struct storage *s);
int storage_failed(const struct storage *s);

#endif
