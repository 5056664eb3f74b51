/* lab — a cluster of N "hosts" on this machine: network namespaces on a private bridge,
 * each with its own address, loopback, iptables and sshd (README: "The lab and the control
 * plane").
 *
 * Everything a lab makes is derived from, and recorded in, its directory (default ./lab,
 * $SPLITBRAIN_LAB_DIR, or --dir):
 *
 *   <dir>/state                 what `up` created, written before each step (read by down)
 *   <dir>/id_ed25519{,.pub}     the lab's client key pair; authorized_keys = the .pub
 *   <dir>/known_hosts           one line per host, checked strictly by the controller
 *   <dir>/nodes                 the nodes file (nodes.h) for `nodes: lab` / `--nodes lab`
 *   <dir>/hN/                   host N: sshd_config, ssh_host_ed25519_key, sshd.pid, sshd.log
 *   <dir>/runs                  run directories `splitbrain db` used on the hosts (below)
 *
 * Kernel object names (≤ 15 characters) and the default subnet come from a hash of the
 * directory's canonical path (lab_dir_resolve: every spelling of one directory, a symlink
 * to it included, gives the same path), so labs of two checkouts never share a name: bridge
 * "sbbr<tag>", namespaces "sb<tag>n<N>", root-side veths "sbv<tag><N>" (tag = 6 hex digits).
 * The default subnet is a /24 in 10.64.0.0/10 picked from the same hash, skipping any /24
 * that overlaps an address or route already on the machine. The bridge gets .1 (the
 * controller's address), host N gets .(10+N).
 *
 * Each host's iptables has a chain SPLITBRAIN jumped to from INPUT and OUTPUT for partition
 * rules; in front of the jumps, rules accept SSH between the host and the bridge address so
 * that no partition can cut the controller off. Nothing outside the namespaces is changed
 * except the bridge and veths (and /run/sshd, created if missing). A partition is made on a
 * host, over SSH, with e.g. `iptables -w -A SPLITBRAIN -s <peer address> -j DROP` (and
 * `-d <peer address>`), and healed with `iptables -w -F SPLITBRAIN`; `lab status` counts the
 * rules in force.
 *
 * The state records the directory it was made in (path and device/inode). A state whose
 * lab is not the directory's own (made under another path) is followed when it records this
 * very directory (it was moved), and refused when it is a copy's: `up` will not start a lab
 * there while the lab it names runs, and `down`/`status` send the user to the original.
 *
 * Node data. The hosts share this machine's file system, so the node directories that
 * `splitbrain db` makes on them (<base dir>/<run id>/<node>/, db.h) are local files, and a
 * new lab in the same directory would deploy onto the old data. So `down` removes, once the
 * namespaces are gone, the node directories n1..n9 of every run directory recorded in
 * <dir>/runs and of the lab's default run, DB_BASE_DIR_DEFAULT/lab-<tag>, and each run
 * directory that this leaves empty; nothing else. `up` does the same first, for data that
 * an earlier lab left behind.
 *
 * All functions need root (CAP_NET_ADMIN, CAP_SYS_ADMIN) except lab_dir_resolve, lab_names,
 * lab_subnet_pick, lab_record_run and lab_dir_of_nodes; they fail with SB_EIO and a message
 * saying so otherwise.
 */
#ifndef SB_LAB_H
#define SB_LAB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LAB_MIN_HOSTS 3
#define LAB_MAX_HOSTS 9
#define LAB_DEFAULT_HOSTS 5

/* The lab directory as a canonical absolute path: `opt` if given, else $SPLITBRAIN_LAB_DIR,
 * else ./lab, resolved with realpath() (symlinks, "//", "/.", ".."), or, when it does not
 * exist yet, its longest existing prefix resolved and the rest appended. Fails (SB_EINVAL)
 * if the path has whitespace, quotes, '=', '#', or is too long. */
int lab_dir_resolve(const char *opt, char *buf, size_t len, char *err, size_t errlen);

/* Record in <dir>/runs that `splitbrain db` deploys nodes under `run_dir` (<base dir>/<run
 * id>, absolute, as db_open computes it) on this lab's hosts, so that `lab down` removes
 * them; each run directory is recorded once. Call it before the first install. SB_EINVAL
 * for a run_dir that is not an absolute path of plain components ending in a run id;
 * SB_EIO when the file cannot be written. */
int lab_record_run(const char *dir, const char *run_dir, char *err, size_t errlen);

/* Is `nodes_path` a lab's nodes file (<lab dir>/nodes next to a lab's state)? 1 with the lab
 * directory in dir, else 0. */
int lab_dir_of_nodes(const char *nodes_path, char *dir, size_t len);

/* Names derived from the directory (pure). */
struct lab_names {
	char tag[8];                         /* 6 hex digits */
	char bridge[16];                     /* sbbr<tag> */
	char ns[LAB_MAX_HOSTS][16];          /* sb<tag>n<N>, N = 1.. */
	char veth[LAB_MAX_HOSTS][16];        /* sbv<tag><N> (root side) */
	char peer[LAB_MAX_HOSTS][16];        /* sbp<tag><N> (until renamed eth0 in the ns) */
	uint32_t hash;                       /* FNV-1a of the absolute path */
};
void lab_names_make(const char *absdir, struct lab_names *out);

/* A subnet as network address and prefix length (host byte order). */
struct lab_subnet {
	uint32_t net;
	int prefix;
};

/* Parse "a.b.c.d/p" (prefix 16..27, host bits zero). 0 or SB_EINVAL with a message. */
int lab_subnet_parse(const char *s, struct lab_subnet *out, char *err, size_t errlen);
void lab_subnet_format(struct lab_subnet s, char *buf, size_t len); /* "10.77.3.0/24" */
/* Pure: does [a] overlap any of used[0..n)? */
int lab_subnet_overlaps(struct lab_subnet a, const struct lab_subnet *used, size_t n);
/* Pure: the default /24 for `hash`, skipping candidates overlapping used[]. SB_EIO if none. */
int lab_subnet_pick(uint32_t hash, const struct lab_subnet *used, size_t n,
		    struct lab_subnet *out);
/* Address of the bridge (i = 0) or of host i (1..9) in s. */
uint32_t lab_addr(struct lab_subnet s, int i);
void lab_addr_format(uint32_t a, char *buf, size_t len);

struct lab_opts {
	const char *dir;    /* NULL: lab_dir_resolve's default */
	int n;              /* hosts, 3..9 (0: 5) */
	const char *subnet; /* CIDR or NULL for the derived default */
	FILE *log;          /* progress lines (may be NULL) */
	/* Set asynchronously (a signal handler) to ask `up` to stop: it then removes what it made
	 * and fails with SB_EIO. May be NULL. Borrowed. */
	const volatile sig_atomic_t *interrupted;
};

/* Bring the lab up. Refuses (SB_EIO) if a lab from this directory is running, or if its
 * state names another lab (a copied directory) that is still running. On failure
 * everything made so far is removed again. */
int lab_up(const struct lab_opts *o, char *err, size_t errlen);

/* Remove exactly what `up` recorded in <dir>/state: kill every process in the namespaces
 * (sshd by its pid file, others as members of the namespace), delete namespaces, veths and the
 * bridge, remove state/nodes, then the node data of the lab's runs (above). Keys stay. Safe
 * when nothing is running (prints so, removes leftover node data, returns 0). Refuses
 * (SB_EIO) a state that names the lab of another directory (a copy). */
int lab_down(const struct lab_opts *o, char *err, size_t errlen);

/* Print a table: host, namespace, address, sshd answering, processes in the namespace,
 * rules in SPLITBRAIN; and leftovers (names of this lab that exist without state).
 * Returns 0 if the lab is up and healthy, SB_EIO otherwise (the table is printed anyway). */
int lab_status(const struct lab_opts *o, FILE *out, char *err, size_t errlen);

#endif
