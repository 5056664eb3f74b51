/* control — run commands on hosts and move files to and from them.
 *
 * A `struct control` is one host's connection behind a small vtable (STYLE.md: backends
 * behind a vtable, like Jepsen's Remote):
 *   - CONTROL_BACKEND_SSH    libssh2: exec, upload (SCP), download (SCP), with host key
 *                            verification against a known_hosts file and authentication by
 *                            private key file or ssh-agent (control/ssh.c);
 *   - CONTROL_BACKEND_LOCAL  runs commands with /bin/sh -c on this machine and copies files
 *                            locally; for tests and single-machine runs (control/local.c).
 *
 * Commands are strings for a POSIX shell on the host. Every value that comes from a spec, a
 * nodes file or a host must be quoted with shquote.h before it reaches such a string.
 *
 * Errors. Every failing function returns a negative SB_E* code and writes a one-line message
 * into the caller's buffer that starts with the host: "host n1 (10.0.0.1:22): connection
 * refused". A connection-level failure is SB_EIO (exit 255 via err_exit_code); its class is
 * kept and returned by control_failure(). A command that runs and exits non-zero is NOT an
 * error: control_exec returns 0 and the status is in the result.
 *
 * Threads. libssh2 is initialised once for the process (pthread_once) on first use. One
 * `struct control` must be used by one thread at a time; different ones may be used in
 * parallel (control_pool does that).
 */
#ifndef SB_CONTROL_H
#define SB_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

enum control_backend {
	CONTROL_BACKEND_SSH = 0,
	CONTROL_BACKEND_LOCAL,
};

/* How the SSH backend treats the server's host key (OpenSSH's StrictHostKeyChecking):
 *   STRICT      the key must be in known_hosts, unchanged; unknown or changed host: refuse.
 *   ACCEPT_NEW  an unknown host's key is added to known_hosts; a changed key: refuse.
 *   OFF         no check at all (prints a warning on stderr once per host). */
enum control_hostkey_policy {
	CONTROL_HOSTKEY_STRICT = 0,
	CONTROL_HOSTKEY_ACCEPT_NEW,
	CONTROL_HOSTKEY_OFF,
};

/* Why a connection-level operation failed (control_failure()). */
enum control_failure {
	CONTROL_FAIL_NONE = 0,
	CONTROL_FAIL_REFUSED,     /* TCP connection refused (nothing listens on the port) */
	CONTROL_FAIL_UNREACHABLE, /* no route / network or host unreachable / bad address */
	CONTROL_FAIL_TIMEOUT,     /* connect, handshake or an operation passed its time limit */
	CONTROL_FAIL_HOSTKEY,     /* host key unknown (strict) or changed (strict, accept-new) */
	CONTROL_FAIL_AUTH,        /* no key / agent identity accepted */
	CONTROL_FAIL_PROTOCOL,    /* handshake or channel error, connection lost, remote I/O */
	CONTROL_FAIL_LOCAL,       /* a local problem: reading the key, a local file, memory */
};

#define CONTROL_NAME_MAX 64
#define CONTROL_ADDR_MAX 256
#define CONTROL_USER_MAX 64
#define CONTROL_PATH_MAX 1024
/* A private key file larger than this is refused before it is read (keys are a few KiB). */
#define CONTROL_KEY_FILE_MAX ((size_t)1 << 20)

/* One host as described by a nodes file (nodes.h) or a spec. Plain data, copied by value. */
struct control_host {
	char name[CONTROL_NAME_MAX];     /* short name used in messages and the store: "n1" */
	char address[CONTROL_ADDR_MAX];  /* IPv4/IPv6 literal or host name */
	int port;                        /* SSH port, default 22 */
	char user[CONTROL_USER_MAX];     /* default "root" */
	char key_file[CONTROL_PATH_MAX]; /* private key file; empty: use ssh-agent ($SSH_AUTH_SOCK) */
	char known_hosts[CONTROL_PATH_MAX]; /* empty: ~/.ssh/known_hosts (unused when policy off) */
	/* Both files must be regular files (at most CONTROL_KEY_FILE_MAX / KNOWNHOSTS_FILE_MAX
	 * bytes): the SSH backend checks them before it connects and fails with SB_EINVAL
	 * otherwise (key=/dev/zero, a FIFO, a directory). */
	enum control_hostkey_policy hostkey_policy;
	int connect_timeout_ms;          /* TCP connect + handshake + auth; default 5000 */
	enum control_backend backend;
	char dc[CONTROL_NAME_MAX];       /* datacenter label ("" if none): the cut-dc and cut-link
	                                    faults (harness/nemesis) group nodes by it */
};

/* Fill `h` with the defaults above (name and address empty). */
void control_host_defaults(struct control_host *h);

/* "strict" / "accept-new" / "off" and back. parse returns 0 or SB_EINVAL. */
int control_hostkey_policy_parse(const char *s, enum control_hostkey_policy *out);
const char *control_hostkey_policy_name(enum control_hostkey_policy p);
/* "refused", "auth failed", "host key mismatch", ... (never NULL). */
const char *control_failure_name(enum control_failure f);

/* The outcome of one command. Owned by the caller; release with control_result_free. */
struct control_result {
	int exit_status;    /* the command's exit status 0..255; -1 if it died by a signal or
	                       the status is unknown (timed out, connection lost) */
	char signal[32];    /* the signal's name ("KILL") when it died by one, else "" */
	bool timed_out;     /* the time limit was reached (the call then returns SB_ETIMEOUT) */
	char *out;          /* stdout, NUL-terminated (out_len excludes the NUL); never NULL after
	                       a successful exec */
	size_t out_len;
	char *err;          /* stderr, likewise */
	size_t err_len;
};

void control_result_free(struct control_result *r); /* frees out/err; safe on a zeroed struct */

/* Options of one exec. A zeroed struct means: no time limit beyond the default, not retried. */
struct control_exec_opts {
	int timeout_ms;     /* whole-command limit; 0: 60000. On expiry the call returns; the
	                       command's process group is killed (local: at once; SSH: by
	                       coreutils `timeout` on the host, a second or two later, when the
	                       host has it); an SSH session is dropped and reconnected on next
	                       use. A process that detached itself (setsid) is not affected. */
	bool idempotent;    /* if the connection is lost after the command was sent, reconnect and
	                       run it again. Without it a lost connection is retried only when the
	                       command certainly did not start (channel open failed). */
	size_t max_output;  /* cap on each of stdout/stderr kept; 0: 16 MiB. Extra is discarded
	                       and the result's text ends with "\n[truncated]". */
};

struct control;

/* The backend vtable. Implementations: control/ssh.c, control/local.c. Called only through
 * the control_* functions below, which add the host to error messages. */
struct control_ops {
	const char *name; /* "ssh", "local" */
	int (*connect)(struct control *c, char *err, size_t errlen);
	int (*exec)(struct control *c, const char *cmd, const struct control_exec_opts *o,
		    struct control_result *res, char *err, size_t errlen);
	/* Write `len` bytes to the remote path with permission bits `mode` (e.g. 0755). */
	int (*put)(struct control *c, const void *data, size_t len, const char *remote_path,
		   int mode, int timeout_ms, char *err, size_t errlen);
	/* Read the remote file into a malloc'd buffer (*data, caller frees), at most `max` bytes:
	 * larger files fail with SB_ELIMIT. */
	int (*get)(struct control *c, const char *remote_path, size_t max, void **data,
		   size_t *len, int timeout_ms, char *err, size_t errlen);
	void (*disconnect)(struct control *c); /* drop the connection; the object stays usable */
	void (*destroy)(struct control *c);    /* free backend state (after disconnect) */
};

struct control {
	const struct control_ops *ops;
	struct control_host host;      /* a copy; owned */
	enum control_failure failure;  /* class of the last connection-level failure */
	void *impl;                    /* backend state */
};

/* Create a control for `host` (copied). Does not connect: that happens on first use or with
 * control_connect. Fails (SB_EINVAL) on an incomplete host (no name, no address for SSH,
 * port out of range). *out is owned by the caller: control_close. */
int control_new(const struct control_host *host, struct control **out, char *err, size_t errlen);

/* Connect and authenticate now (SSH: TCP, handshake, host key check, auth). Idempotent. */
int control_connect(struct control *c, char *err, size_t errlen);

/* Run `cmd` with /bin/sh semantics on the host; fills `res` (which the caller frees even on
 * error). opts may be NULL. The command's stdin is /dev/null. The call returns when the
 * command has exited AND its stdout and stderr are closed: a background process that keeps
 * them open (a daemon started without redirecting its output) keeps the call waiting until
 * the time limit, as with ssh(1). SSH: if the controller goes away while the command runs
 * (killed, network lost), the host kills the command's process group as soon as sshd closes
 * the channel (processes that called setsid are spared). Returns 0 when the command ran
 * (whatever its exit status), SB_ETIMEOUT when it passed its time limit (res->timed_out),
 * SB_EIO on a connection failure (see control_failure), SB_EINVAL when the host's key or
 * known_hosts file is not a regular file or too large (checked before connecting), SB_ENOMEM. */
int control_exec(struct control *c, const char *cmd, const struct control_exec_opts *opts,
		 struct control_result *res, char *err, size_t errlen);

/* Convenience: run `cmd` and fail (SB_EIO, message with the exit status and the first line of
 * stderr) unless it exits 0. stdout is returned in *out (caller frees) when out != NULL. */
int control_run(struct control *c, const char *cmd, int timeout_ms, char **out, char *err,
		size_t errlen);

/* Uploads are written to a temporary file in the target's directory, named
 * CONTROL_UPLOAD_TMP_PREFIX "<pid>.<n>" (e.g. ".sbup.4242.1"), and then renamed into place, so
 * a half-written file never appears under its real name. An upload that was killed leaves
 * its temporary file behind; whoever owns the directory may remove files with this prefix
 * (db install does, in a node's directory). */
#define CONTROL_UPLOAD_TMP_PREFIX ".sbup."

/* Copy local file `local_path` to `remote_path` on the host with mode `mode`. The remote
 * directory must exist. Retried once over a fresh connection if the connection is lost. */
int control_upload(struct control *c, const char *local_path, const char *remote_path,
		   int mode, char *err, size_t errlen);
/* The same from memory (configs). */
int control_upload_data(struct control *c, const void *data, size_t len,
			const char *remote_path, int mode, char *err, size_t errlen);
/* Copy `remote_path` from the host into local file `local_path` (created/replaced, 0644).
 * Files above 256 MiB fail with SB_ELIMIT. */
int control_download(struct control *c, const char *remote_path, const char *local_path,
		     char *err, size_t errlen);

/* The class of the last connection-level failure on c (CONTROL_FAIL_NONE after a success). */
enum control_failure control_failure(const struct control *c);

/* Drop the connection (if any) and free c. NULL is fine. */
void control_close(struct control *c);

/* ---- many hosts in parallel ---- */

/* One control per host, opened together. Owned by the caller: control_pool_close. */
struct control_pool {
	struct control **c; /* n entries */
	size_t n;
};

/* Create controls for hosts[0..n) and connect them all in parallel (one thread per host).
 * If any host fails, fails with SB_EIO and a message naming every failing host and its
 * reason, e.g. "2 of 5 hosts failed: host n2 (10.0.0.2:22): connection refused; host n4 ...";
 * the pool is then left empty. */
int control_pool_open(struct control_pool *p, const struct control_host *hosts, size_t n,
		      char *err, size_t errlen);

/* Create controls without connecting (they connect on first use). */
int control_pool_new(struct control_pool *p, const struct control_host *hosts, size_t n,
		     char *err, size_t errlen);

/* Call fn(c, i, arg, err_i, errlen_i) for every host in parallel, one thread per host, and
 * wait for all. rcs (n ints, may be NULL) gets each return value. Returns 0 if every call
 * returned 0, else the first failing host's code with a message naming every failing host. */
typedef int (*control_each_fn)(struct control *c, size_t i, void *arg, char *err, size_t errlen);
int control_pool_each(struct control_pool *p, control_each_fn fn, void *arg, int *rcs,
		      char *err, size_t errlen);

/* Run the same command on every host in parallel; res (n zeroed results, caller frees each)
 * gets the outcomes. Returns 0 if the command ran everywhere (exit statuses are in res),
 * else as control_pool_each. */
int control_pool_exec(struct control_pool *p, const char *cmd,
		      const struct control_exec_opts *opts, struct control_result *res,
		      char *err, size_t errlen);

void control_pool_close(struct control_pool *p); /* closes every control; safe twice */

/* ---- running a program on this machine (control/local.c) ---- */

/* How control_local_spawn runs a program. */
struct control_spawn_opts {
	const char *file;  /* program to execute; NULL: argv[0], looked up in PATH */
	int timeout_ms;    /* whole-run limit; <= 0: none, wait as long as the program runs */
	bool own_group;    /* run it in its own process group, killed as a whole on a time-out
	                      or an error (as control_exec does); else only the program is */
	size_t max_out;    /* caps on the stdout / stderr kept, as control_exec_opts.max_output */
	size_t max_err;
};

/* Run argv (no shell; argv borrowed, NULL-terminated) with stdin from /dev/null and capture
 * its stdout and stderr into `res`, which the caller frees (control_result_free) even on
 * error. The backbone of the local backend's exec, also used by the lab for ip/iptables.
 * Returns 0 when the program ran, whatever its exit status (res->exit_status, res->signal;
 * a program that cannot be executed prints "cannot run FILE: reason" on its stderr and
 * exits 127); SB_ETIMEOUT when it passed its limit (res->timed_out; it was killed); SB_EIO
 * (pipe, fork, poll) and SB_ENOMEM. Thread-safe: the pipes are close-on-exec. */
int control_local_spawn(char *const argv[], const struct control_spawn_opts *o,
			struct control_result *res, char *err, size_t errlen);

/* ---- backends (used by control_new; declared here for the tests) ---- */
extern const struct control_ops control_ssh_ops;
extern const struct control_ops control_local_ops;

#endif
