/* knownhosts — check a server's host key against an OpenSSH known_hosts file, and add one.
 *
 * Lines are "HOSTS KEYTYPE BASE64 [COMMENT]" where HOSTS is a comma-separated list of
 * patterns, "[name]:port" forms, or a hashed "|1|salt|hash" entry. Plain lines are matched
 * here as OpenSSH does: '*' and '?' wildcards, a "!pattern" that matches excludes the line,
 * names compared case-insensitively, key type and decoded key blob compared. Hashed lines are
 * matched by libssh2's knownhost functions. Lines starting with '@' (@cert-authority,
 * @revoked) are not supported and are skipped; so are lines that cannot be parsed (an
 * unsupported key type, bad base64, a key whose blob names another type, garbage). Skipped
 * lines are counted, never fatal: one odd line must not make every host unknown. A host's
 * key matches only a line of the same key type (as in OpenSSH); the same type with a
 * different key is a mismatch.
 *
 * Both functions are thread-safe; knownhosts_add serialises writers in this process with a
 * mutex and across processes with flock(2) on the file.
 */
#ifndef SB_KNOWNHOSTS_H
#define SB_KNOWNHOSTS_H

#include <stddef.h>

enum knownhosts_result {
	KNOWNHOSTS_MATCH = 0,  /* an entry for host (and port) with this key */
	KNOWNHOSTS_MISMATCH,   /* an entry for host with the same key type but another key */
	KNOWNHOSTS_NOTFOUND,   /* no entry for this host and key type (or no file) */
};

/* A host key as the server sent it (the SSH wire blob: string keytype, then key data). */
struct knownhosts_key {
	const unsigned char *blob;
	size_t len;
};

/* A known_hosts file larger than this is refused (a big site's file is a few MiB). */
#define KNOWNHOSTS_FILE_MAX ((size_t)64 << 20)

/* Look up host:port (port 22 also matches plain "host" lines; any port matches a plain
 * "host" line too, as libssh2 does) in the file at `path`. A missing file gives NOTFOUND.
 * *skipped (may be NULL) gets the number of lines ignored. Returns 0, or SB_EIO (unreadable
 * file), SB_EINVAL (a key blob that is not an SSH key; a path that is not a regular file,
 * such as /dev/zero or a FIFO, or a file larger than KNOWNHOSTS_FILE_MAX: neither is read),
 * SB_ENOMEM. */
int knownhosts_check(const char *path, const char *host, int port, struct knownhosts_key key,
		     enum knownhosts_result *res, int *skipped, char *err, size_t errlen);

/* The same over known_hosts text in memory (text[0..len), borrowed; need not end in a NUL):
 * what knownhosts_check does once the file is read. Lines with a NUL byte are skipped. */
int knownhosts_check_text(const char *text, size_t len, const char *host, int port,
			  struct knownhosts_key key, enum knownhosts_result *res, int *skipped,
			  char *err, size_t errlen);

/* Append "host KEYTYPE BASE64" (or "[host]:port ..." when port != 22) to the file, creating
 * it (0600) if needed. */
int knownhosts_add(const char *path, const char *host, int port, struct knownhosts_key key,
		   char *err, size_t errlen);

/* Pure: format the line knownhosts_add writes (without the newline) into buf.
 * Returns 0, SB_EINVAL (bad blob), or SB_ELIMIT (buf too small). */
int knownhosts_format(const char *host, int port, struct knownhosts_key key, char *buf,
		      size_t len, char *err, size_t errlen);

/* Pure: the key type name inside a blob ("ssh-ed25519"), copied into buf. 0 or SB_EINVAL. */
int knownhosts_key_type(struct knownhosts_key key, char *buf, size_t len);

/* Pure: SHA-256 fingerprint of a key blob as OpenSSH prints it: "SHA256:base64-without-=". */
int knownhosts_fingerprint(struct knownhosts_key key, char *buf, size_t len);

/* libssh2_init once for the whole process (thread-safe); 0 or SB_EIO. Every libssh2 user
 * (this module, control/ssh.c) calls it first. */
int control_ssh_global_init(void);

#endif
