/* crash — named crash points for fault injection (docs/node-protocol.md, `DEBUG CRASHPOINT`).
 *
 * A crash point is a place in the node where it may die on purpose: `crash_point("name")`
 * does nothing unless that name is armed; when armed, the hit-th pass logs
 * `event=crashpoint-hit name=NAME` and ends the process at once with _exit(CRASH_EXIT_CODE),
 * without flushing, fsyncing or replying, exactly as a power cut or SIGKILL would.
 *
 * Names are known in advance (so `--help` can list them and a typo is refused): the shell's
 * own points are built in, the consensus core's are added with crash_register().
 *
 * Global state (a named exception): the armed point, because a crash point can be reached
 * from anywhere in the shell. Single-threaded use only.
 */
#ifndef NODE_CRASH_H
#define NODE_CRASH_H

#include <stddef.h>
#include <stdint.h>

#define CRASH_EXIT_CODE 86

/* The shell's crash points. */
#define CRASH_FOLLOWER_AFTER_APPEND "follower-after-append-before-fsync"
#define CRASH_FOLLOWER_AFTER_FSYNC "follower-after-fsync-before-ack"
#define CRASH_STORAGE_BEFORE_FSYNC "storage-before-fsync"
#define CRASH_STORAGE_AFTER_FSYNC "storage-after-fsync"
#define CRASH_SNAPSHOT_MID_WRITE "snapshot-mid-write"
#define CRASH_SNAPSHOT_AFTER_RENAME "snapshot-after-rename-before-truncate"

struct crash_info {
	const char *name;
	const char *what; /* one line for --help and the README */
};

/* Add names (borrowed: must outlive the process, e.g. string literals) to the known set.
 * Returns 0 or SB_ELIMIT if the table is full. */
int crash_register(const struct crash_info *points, size_t n);
/* Call fn for every known crash point, in registration order. */
void crash_foreach(void (*fn)(const struct crash_info *ci, void *arg), void *arg);

/* Arm `name` to fire on its hit-th pass (hit >= 1). Disarms any other point.
 * Returns 0, or SB_EINVAL with a message for an unknown name or hit 0. */
int crash_arm(const char *name, uint64_t hit, char *err, size_t errlen);
void crash_clear(void);
/* The armed point's name, or NULL. */
const char *crash_armed(void);

/* A crash point: dies here if `name` is armed and this is its hit-th pass. */
void crash_point(const char *name);

#endif
