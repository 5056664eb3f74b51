/* control_ssh — the SSH backend over libssh2.
 *
 * Every session is non-blocking and every wait is a poll(2) bounded by a deadline, so no
 * call can hang on a dead host: connect + handshake + host key + auth share the host's
 * connect_timeout_ms, each exec or transfer has its own limit. A session that timed out or
 * lost its connection is torn down (the socket is shut down first so that libssh2's cleanup
 * cannot wait on the peer) and the next operation reconnects.
 *
 * Commands run inside a small wrapper that ends them at their time limit and when the
 * controller goes away (limit_on_host).
 *
 * Files go over SCP into "<dir>/.sbup.<pid>.<n>" (control_upload_tmp) and are then renamed
 * into place with one exec, so a running binary can be replaced (no ETXTBSY) and a
 * half-written file is never seen under its real name. The temporary name is plain because
 * SCP sends the file's base name in a protocol line that cannot carry a newline; the real
 * name, whatever it holds, only appears in the rename command, quoted with shquote. libssh2
 * quotes the SCP path itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/control/control.h"
#include "harness/control/impl.h"
#include "harness/control/knownhosts.h"
#include "harness/control/shquote.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileutil.h"

struct ssh_impl {
	int sock;
	LIBSSH2_SESSION *s;
	bool warned_off; /* the host_key=off warning was printed */
	bool lost;       /* the last failure broke the session */
};

static struct ssh_impl *impl(struct control *c)
{
	if (!c->impl) {
		struct ssh_impl *im = calloc(1, sizeof *im);
		if (!im)
			return NULL;
		im->sock = -1;
		c->impl = im;
	}
	return c->impl;
}

/* libssh2 errors after which the session cannot be used any more. */
static bool is_lost(int e)
{
	switch (e) {
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_BAD_SOCKET:
		return true;
	default:
		return false;
	}
}

static const char *last_msg(LIBSSH2_SESSION *s)
{
	char *m = NULL;
	libssh2_session_last_error(s, &m, NULL, 0);
	return m && m[0] ? m : "unknown libssh2 error";
}

/* Wait until the session's socket is ready in the direction libssh2 is blocked on, at most
 * until the deadline (checked in slices of a second). SB_ETIMEOUT once it has passed. */
static int wait_socket(struct ssh_impl *im, long long deadline)
{
	long long left = deadline - clock_mono_ms();
	if (left <= 0)
		return SB_ETIMEOUT;
	struct pollfd pf = {.fd = im->sock};
	int dir = libssh2_session_block_directions(im->s);
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pf.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pf.events |= POLLOUT;
	if (!pf.events)
		pf.events = POLLIN;
	int r = poll(&pf, 1, left > 1000 ? 1000 : (int)left);
	(void)r; /* EINTR or readiness: the caller simply retries its libssh2 call */
	return 0;
}

static void teardown(struct ssh_impl *im, bool polite)
{
	if (im->s) {
		if (polite && im->sock >= 0) {
			/* One non-blocking attempt; a busy or dead peer is not waited for. */
			libssh2_session_disconnect(im->s, "bye");
		}
		if (im->sock >= 0)
			shutdown(im->sock, SHUT_RDWR);
		libssh2_session_set_blocking(im->s, 0);
		libssh2_session_free(im->s);
		im->s = NULL;
	}
	if (im->sock >= 0) {
		close(im->sock);
		im->sock = -1;
	}
}

/* TCP connect with a deadline. */
static int tcp_connect(struct control *c, struct ssh_impl *im, long long deadline, char *err,
		       size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", c->host.port);
	int g = getaddrinfo(c->host.address, port, &hints, &ai);
	if (g) {
		c->failure = CONTROL_FAIL_UNREACHABLE;
		return err_set(err, errlen, SB_EIO, "unreachable: cannot resolve address: %s",
			       gai_strerror(g));
	}
	int rc = 0, last_errno = 0;
	bool timed_out = false;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_errno = errno;
			close(fd);
			continue;
		}
		for (;;) {
			long long left = deadline - clock_mono_ms();
			if (left <= 0) {
				timed_out = true;
				break;
			}
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			int n = poll(&pf, 1, (int)left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				continue;
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			last_errno = soerr;
			break;
		}
		if (!timed_out && last_errno == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			im->sock = fd;
			goto out;
		}
		close(fd);
		if (timed_out)
			break;
	}
	if (timed_out) {
		c->failure = CONTROL_FAIL_TIMEOUT;
		rc = err_set(err, errlen, SB_EIO, "timeout: no TCP connection within %d ms",
			     c->host.connect_timeout_ms);
	} else if (last_errno == ECONNREFUSED) {
		c->failure = CONTROL_FAIL_REFUSED;
		rc = err_set(err, errlen, SB_EIO, "connection refused (is sshd running on port %d?)",
			     c->host.port);
	} else if (last_errno == ETIMEDOUT) {
		c->failure = CONTROL_FAIL_TIMEOUT;
		rc = err_set(err, errlen, SB_EIO, "timeout: %s", strerror(last_errno));
	} else {
		c->failure = CONTROL_FAIL_UNREACHABLE;
		rc = err_set(err, errlen, SB_EIO, "unreachable: %s",
			     last_errno ? strerror(last_errno) : "no usable address");
	}
out:
	freeaddrinfo(ai);
	return rc;
}

/* The known_hosts file of the host: its own, or ~/.ssh/known_hosts. */
static int known_hosts_path(const struct control *c, char *path, size_t len, char *err,
			    size_t errlen)
{
	int n;
	if (c->host.known_hosts[0]) {
		n = snprintf(path, len, "%s", c->host.known_hosts);
	} else {
		const char *home = getenv("HOME");
		n = snprintf(path, len, "%s/.ssh/known_hosts", home ? home : "");
	}
	if (n < 0 || (size_t)n >= len)
		return err_set(err, errlen, SB_EINVAL, "known_hosts path too long");
	return 0;
}

/* The host's local files, checked before connecting: the private key and known_hosts must be
 * regular files of bounded size, since libssh2 would read key=/dev/zero forever and
 * known_hosts=/dev/zero would fill memory. A missing key is left to auth_key's message; a
 * missing known_hosts is an empty one. A bad file is bad input (SB_EINVAL, exit 254). */
static int check_local_files(struct control *c, char *err, size_t errlen)
{
	bool missing = false;
	int rc = 0;
	if (c->host.key_file[0] && strcmp(c->host.key_file, "agent")) {
		rc = file_check_regular(c->host.key_file, CONTROL_KEY_FILE_MAX, &missing, err,
					errlen);
		if (rc)
			err_prefix(err, errlen, "private key");
	}
	if (!rc && c->host.hostkey_policy != CONTROL_HOSTKEY_OFF) {
		char path[CONTROL_PATH_MAX];
		rc = known_hosts_path(c, path, sizeof path, err, errlen);
		if (!rc)
			rc = file_check_regular(path, KNOWNHOSTS_FILE_MAX, &missing, err, errlen);
		if (rc)
			err_prefix(err, errlen, "known_hosts");
	}
	if (rc) {
		c->failure = CONTROL_FAIL_LOCAL;
		if (rc == SB_ELIMIT)
			rc = SB_EINVAL;
	}
	return rc;
}

static int check_host_key(struct control *c, struct ssh_impl *im, char *err, size_t errlen)
{
	if (c->host.hostkey_policy == CONTROL_HOSTKEY_OFF) {
		if (!im->warned_off) {
			fprintf(stderr,
				"warning: host %s: host key not verified (host_key=off); anyone on "
				"the path can impersonate it\n",
				c->host.name);
			im->warned_off = true;
		}
		return 0;
	}
	size_t klen = 0;
	int ktype = 0;
	const char *key = libssh2_session_hostkey(im->s, &klen, &ktype);
	if (!key || !klen) {
		c->failure = CONTROL_FAIL_PROTOCOL;
		return err_set(err, errlen, SB_EIO, "server sent no host key");
	}
	char path[CONTROL_PATH_MAX];
	int rc = known_hosts_path(c, path, sizeof path, err, errlen);
	if (rc) {
		c->failure = CONTROL_FAIL_LOCAL;
		return rc;
	}
	struct knownhosts_key k = {.blob = (const unsigned char *)key, .len = klen};
	char fp[80] = "?";
	knownhosts_fingerprint(k, fp, sizeof fp);
	enum knownhosts_result res;
	rc = knownhosts_check(path, c->host.address, c->host.port, k, &res, NULL, err, errlen);
	if (rc) {
		c->failure = CONTROL_FAIL_LOCAL;
		return rc;
	}
	switch (res) {
	case KNOWNHOSTS_MATCH:
		return 0;
	case KNOWNHOSTS_MISMATCH:
		c->failure = CONTROL_FAIL_HOSTKEY;
		return err_set(err, errlen, SB_EIO,
			       "host key mismatch: the server's key %s differs from the one in %s "
			       "(changed host key; if the host was rebuilt, remove its line)",
			       fp, path);
	case KNOWNHOSTS_NOTFOUND:
		if (c->host.hostkey_policy == CONTROL_HOSTKEY_STRICT) {
			c->failure = CONTROL_FAIL_HOSTKEY;
			return err_set(err, errlen, SB_EIO,
				       "host key mismatch: host unknown, key %s is not in %s "
				       "(host_key=strict; use accept-new to add it)",
				       fp, path);
		}
		rc = knownhosts_add(path, c->host.address, c->host.port, k, err, errlen);
		if (rc) {
			c->failure = CONTROL_FAIL_LOCAL;
			return rc;
		}
		fprintf(stderr, "note: host %s: added host key %s to %s\n", c->host.name, fp, path);
		return 0;
	}
	return 0;
}

static int auth_key(struct control *c, struct ssh_impl *im, long long deadline, char *err,
		    size_t errlen)
{
	const char *key = c->host.key_file;
	if (access(key, R_OK) < 0) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_EIO, "cannot read private key %s: %s", key,
			       strerror(errno));
	}
	int r;
	while ((r = libssh2_userauth_publickey_fromfile_ex(im->s, c->host.user,
							   (unsigned)strlen(c->host.user), NULL,
							   key, NULL)) == LIBSSH2_ERROR_EAGAIN) {
		if (wait_socket(im, deadline)) {
			c->failure = CONTROL_FAIL_TIMEOUT;
			im->lost = true;
			return err_set(err, errlen, SB_EIO, "timeout during authentication");
		}
	}
	if (!r)
		return 0;
	if (r == LIBSSH2_ERROR_FILE) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_EIO, "cannot use private key %s: %s", key,
			       last_msg(im->s));
	}
	if (is_lost(r)) {
		c->failure = CONTROL_FAIL_PROTOCOL;
		im->lost = true;
		return err_set(err, errlen, SB_EIO, "connection lost during authentication: %s",
			       last_msg(im->s));
	}
	c->failure = CONTROL_FAIL_AUTH;
	return err_set(err, errlen, SB_EIO, "auth failed: key %s not accepted for user %s",
		       key, c->host.user);
}

static int auth_agent(struct control *c, struct ssh_impl *im, long long deadline, char *err,
		      size_t errlen)
{
	int rc = 0;
	LIBSSH2_AGENT *a = libssh2_agent_init(im->s);
	if (!a) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_ENOMEM, "ssh-agent: out of memory");
	}
	if (libssh2_agent_connect(a)) {
		c->failure = CONTROL_FAIL_AUTH;
		rc = err_set(err, errlen, SB_EIO,
			     "auth failed: no private key given and no ssh-agent reachable "
			     "(SSH_AUTH_SOCK %s)",
			     getenv("SSH_AUTH_SOCK") ? "set but not answering" : "unset");
		goto out;
	}
	if (libssh2_agent_list_identities(a)) {
		c->failure = CONTROL_FAIL_AUTH;
		rc = err_set(err, errlen, SB_EIO, "auth failed: cannot list ssh-agent identities");
		goto disc;
	}
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int tried = 0;
	while (libssh2_agent_get_identity(a, &id, prev) == 0) {
		prev = id;
		tried++;
		int r;
		while ((r = libssh2_agent_userauth(a, c->host.user, id)) == LIBSSH2_ERROR_EAGAIN) {
			if (wait_socket(im, deadline)) {
				c->failure = CONTROL_FAIL_TIMEOUT;
				im->lost = true;
				rc = err_set(err, errlen, SB_EIO, "timeout during authentication");
				goto disc;
			}
		}
		if (r == 0)
			goto disc;
		if (is_lost(r)) {
			c->failure = CONTROL_FAIL_PROTOCOL;
			im->lost = true;
			rc = err_set(err, errlen, SB_EIO, "connection lost during authentication");
			goto disc;
		}
	}
	c->failure = CONTROL_FAIL_AUTH;
	rc = err_set(err, errlen, SB_EIO,
		     "auth failed: none of the %d ssh-agent identities accepted for user %s", tried,
		     c->host.user);
disc:
	libssh2_agent_disconnect(a);
out:
	libssh2_agent_free(a);
	return rc;
}

static int ssh_connect(struct control *c, char *err, size_t errlen)
{
	struct ssh_impl *im = impl(c);
	if (!im) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	if (im->s)
		return 0;
	if (control_ssh_global_init()) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_EIO, "libssh2_init failed");
	}
	im->lost = false;
	int rc = check_local_files(c, err, errlen);
	if (rc)
		return rc;
	long long deadline = clock_mono_ms() + c->host.connect_timeout_ms;
	rc = tcp_connect(c, im, deadline, err, errlen);
	if (rc)
		return rc;
	im->s = libssh2_session_init();
	if (!im->s) {
		c->failure = CONTROL_FAIL_LOCAL;
		rc = err_set(err, errlen, SB_ENOMEM, "libssh2 session: out of memory");
		goto fail;
	}
	libssh2_session_set_blocking(im->s, 0);
	int r;
	while ((r = libssh2_session_handshake(im->s, im->sock)) == LIBSSH2_ERROR_EAGAIN) {
		if (wait_socket(im, deadline)) {
			c->failure = CONTROL_FAIL_TIMEOUT;
			rc = err_set(err, errlen, SB_EIO, "timeout: no SSH handshake within %d ms",
				     c->host.connect_timeout_ms);
			goto fail;
		}
	}
	if (r) {
		c->failure = CONTROL_FAIL_PROTOCOL;
		rc = err_set(err, errlen, SB_EIO, "ssh handshake failed: %s", last_msg(im->s));
		goto fail;
	}
	rc = check_host_key(c, im, err, errlen);
	if (rc)
		goto fail;
	if (c->host.key_file[0] && strcmp(c->host.key_file, "agent"))
		rc = auth_key(c, im, deadline, err, errlen);
	else
		rc = auth_agent(c, im, deadline, err, errlen);
	if (rc)
		goto fail;
	c->failure = CONTROL_FAIL_NONE;
	return 0;
fail:
	teardown(im, false);
	return rc;
}

/* Mark a libssh2 failure: sets failure/lost and writes the message. */
static int ssh_fail(struct control *c, struct ssh_impl *im, int e, const char *what, char *err,
		    size_t errlen)
{
	if (is_lost(e)) {
		im->lost = true;
		c->failure = CONTROL_FAIL_PROTOCOL;
		return err_set(err, errlen, SB_EIO, "connection lost during %s: %s", what,
			       last_msg(im->s));
	}
	c->failure = CONTROL_FAIL_PROTOCOL;
	return err_set(err, errlen, SB_EIO, "%s failed: %s", what, last_msg(im->s));
}

static int timeout_fail(struct control *c, struct ssh_impl *im, const char *what, int ms,
			char *err, size_t errlen)
{
	im->lost = true; /* a half-finished channel: drop the whole session */
	c->failure = CONTROL_FAIL_TIMEOUT;
	return err_set(err, errlen, SB_ETIMEOUT, "%s timed out after %d ms", what, ms);
}

static LIBSSH2_CHANNEL *open_channel(struct control *c, struct ssh_impl *im, long long deadline,
				     int ms, int *rc, char *err, size_t errlen)
{
	LIBSSH2_CHANNEL *ch;
	while (!(ch = libssh2_channel_open_session(im->s))) {
		int e = libssh2_session_last_errno(im->s);
		if (e != LIBSSH2_ERROR_EAGAIN) {
			*rc = ssh_fail(c, im, e, "opening a channel", err, errlen);
			/* A refused channel on a live connection (e.g. MaxSessions): start afresh. */
			im->lost = true;
			return NULL;
		}
		if (wait_socket(im, deadline)) {
			*rc = timeout_fail(c, im, "opening a channel", ms, err, errlen);
			return NULL;
		}
	}
	return ch;
}

/* Close and free a channel whose work is done. Returns 0 or a libssh2 error. */
/* Close a channel whose remote end has sent EOF. The server closes it first, once the command
 * has exited (its exit status comes before): closing ours first would close the command's
 * stdin while its last process may still be exiting, which the wrapper (limit_on_host)
 * would take for a controller that went away. */
static int close_channel(struct ssh_impl *im, LIBSSH2_CHANNEL *ch, long long deadline)
{
	int r;
	while ((r = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_socket(im, deadline))
			return LIBSSH2_ERROR_TIMEOUT;
	if (r)
		return r;
	while ((r = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_socket(im, deadline))
			return LIBSSH2_ERROR_TIMEOUT;
	return r;
}

static void free_channel(struct ssh_impl *im, LIBSSH2_CHANNEL *ch, long long deadline)
{
	while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
		if (wait_socket(im, deadline)) {
			/* Leave it to session teardown. */
			im->lost = true;
			return;
		}
}

/* One attempt. *started tells whether the command may have begun running. */
static int exec_once(struct control *c, struct ssh_impl *im, const char *cmd,
		     const struct control_exec_opts *o, long long deadline,
		     struct control_result *res, bool *started, char *err, size_t errlen)
{
	int rc = 0, r;
	struct control_text tout = {.max = o->max_output}, terr = {.max = o->max_output};
	LIBSSH2_CHANNEL *ch = open_channel(c, im, deadline, o->timeout_ms, &rc, err, errlen);
	if (!ch)
		return rc;
	*started = true;
	while ((r = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN) {
		if (wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "command", o->timeout_ms, err, errlen);
			res->timed_out = true;
			goto out;
		}
	}
	if (r) {
		rc = ssh_fail(c, im, r, "starting the command", err, errlen);
		goto out;
	}
	bool eof_out = false, eof_err = false;
	char buf[32768];
	while (!eof_out || !eof_err) {
		bool progress = false;
		for (int stream = 0; stream < 2; stream++) {
			bool *eof = stream ? &eof_err : &eof_out;
			if (*eof)
				continue;
			ssize_t n = libssh2_channel_read_ex(
				ch, stream ? SSH_EXTENDED_DATA_STDERR : 0, buf, sizeof buf);
			if (n > 0) {
				progress = true;
				if (control_text_add(stream ? &terr : &tout, buf, (size_t)n) < 0) {
					c->failure = CONTROL_FAIL_LOCAL;
					rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
					im->lost = true;
					goto out;
				}
			} else if (n == 0) {
				if (libssh2_channel_eof(ch))
					*eof = true;
			} else if (n != LIBSSH2_ERROR_EAGAIN) {
				rc = ssh_fail(c, im, (int)n, "reading the command's output", err,
					      errlen);
				goto out;
			}
		}
		if (!progress && (!eof_out || !eof_err) && wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "command", o->timeout_ms, err, errlen);
			res->timed_out = true;
			goto out;
		}
	}
	r = close_channel(im, ch, deadline);
	if (r == LIBSSH2_ERROR_TIMEOUT) {
		rc = timeout_fail(c, im, "command", o->timeout_ms, err, errlen);
		res->timed_out = true;
		goto out;
	}
	if (r) {
		rc = ssh_fail(c, im, r, "closing the channel", err, errlen);
		goto out;
	}
	char *sig = NULL;
	size_t siglen = 0;
	libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL);
	if (sig) {
		res->exit_status = -1;
		snprintf(res->signal, sizeof res->signal, "%.*s", (int)siglen, sig);
		libssh2_free(im->s, sig);
	} else {
		res->exit_status = libssh2_channel_get_exit_status(ch);
	}
out:
	if (ch && !im->lost)
		free_channel(im, ch, deadline);
	/* A lost session frees its channels in teardown. */
	if (rc == SB_ENOMEM || control_text_take(&tout, &res->out, &res->out_len) < 0 ||
	    control_text_take(&terr, &res->err, &res->err_len) < 0) {
		control_text_free(&tout);
		control_text_free(&terr);
		if (!rc) {
			c->failure = CONTROL_FAIL_LOCAL;
			rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		}
	}
	return rc;
}

/* The command's life on the host is bound to the time limit and to the channel.
 *
 * Time limit: closing the channel does not stop a command (without a pty sshd does not
 * signal it), so the command runs under coreutils' timeout, which kills its process group
 * with SIGKILL a second or two after our own limit. Hosts without `timeout` run it as is.
 *
 * Channel: a controller that dies (SIGKILL, a lost network) cannot close anything, and the
 * command would run on until its time limit. So a watcher in the background reads the
 * channel's stdin, which the controller never writes to and closes only after the command's
 * output has ended: end of file there while the command still runs means the controller is
 * gone, and the watcher kills the command's process group. sshd (OpenSSH) starts each
 * command as a session leader, and the wrapper execs into the command, so that group is the
 * command's own ($$). The watcher stays in it, which keeps the number $$ from being reused
 * while it waits: after a normal end, `kill -0 $$` fails and nothing is killed. The
 * command's stdin is /dev/null, as with the local backend.
 *
 * A process that detached itself with setsid (a daemon) is in neither group and is left
 * alone. */
static char *limit_on_host(const char *cmd, int timeout_ms)
{
	long secs = timeout_ms / 1000 + 2;
	return shquote_fmt("t=; command -v timeout >/dev/null 2>&1 && t='timeout -s KILL %lds'\n"
			   "exec 3<&0 </dev/null\n"
			   "{ while read -r _ <&3; do :; done; "
			   "kill -0 $$ 2>/dev/null && kill -9 -$$; } >/dev/null 2>&1 &\n"
			   "exec 3<&- $t /bin/sh -c %q",
			   secs, cmd);
}

static int ssh_exec(struct control *c, const char *user_cmd, const struct control_exec_opts *o,
		    struct control_result *res, char *err, size_t errlen)
{
	long long deadline = clock_mono_ms() + o->timeout_ms;
	int rc = 0;
	char *cmd = limit_on_host(user_cmd, o->timeout_ms);
	if (!cmd) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = ssh_connect(c, err, errlen);
		if (rc)
			break;
		struct ssh_impl *im = c->impl;
		bool started = false;
		control_result_free(res);
		res->exit_status = -1;
		res->timed_out = false;
		rc = exec_once(c, im, cmd, o, deadline, res, &started, err, errlen);
		if (im->lost)
			teardown(im, false);
		if (!rc) {
			c->failure = CONTROL_FAIL_NONE;
			break;
		}
		if (rc == SB_ETIMEOUT || c->failure != CONTROL_FAIL_PROTOCOL)
			break;
		if (started && !o->idempotent) {
			err_prefix(err, errlen, "not retried (the command may have run)");
			break;
		}
		if (clock_mono_ms() >= deadline)
			break;
	}
	free(cmd);
	return rc;
}

static int ssh_put(struct control *c, const void *data, size_t len, const char *remote_path,
		   int mode, int timeout_ms, char *err, size_t errlen)
{
	int rc = ssh_connect(c, err, errlen);
	if (rc)
		return rc;
	struct ssh_impl *im = c->impl;
	long long deadline = clock_mono_ms() + timeout_ms;
	char *tmp = NULL, *cmd = NULL;
	LIBSSH2_CHANNEL *ch = NULL;
	if (!(tmp = control_upload_tmp(remote_path))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	while (!(ch = libssh2_scp_send64(im->s, tmp, mode & 0777, (libssh2_int64_t)len, 0, 0))) {
		int e = libssh2_session_last_errno(im->s);
		if (e != LIBSSH2_ERROR_EAGAIN) {
			rc = ssh_fail(c, im, e, "scp", err, errlen);
			if (!is_lost(e))
				c->failure = CONTROL_FAIL_NONE; /* a remote file error, not the link */
			goto out;
		}
		if (wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "upload", timeout_ms, err, errlen);
			goto out;
		}
	}
	size_t off = 0;
	while (off < len) {
		size_t chunk = len - off > 32768 ? 32768 : len - off;
		ssize_t n = libssh2_channel_write(ch, (const char *)data + off, chunk);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (wait_socket(im, deadline)) {
				rc = timeout_fail(c, im, "upload", timeout_ms, err, errlen);
				goto out;
			}
			continue;
		}
		if (n < 0) {
			rc = ssh_fail(c, im, (int)n, "scp write", err, errlen);
			goto out;
		}
		off += (size_t)n;
	}
	/* The SCP protocol ends a file with one NUL byte; libssh2 leaves it to the caller, and
	 * without it the remote `scp -t` exits 1 even though the data arrived. */
	for (;;) {
		ssize_t n = libssh2_channel_write(ch, "", 1);
		if (n == 1)
			break;
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
			if (wait_socket(im, deadline)) {
				rc = timeout_fail(c, im, "upload", timeout_ms, err, errlen);
				goto out;
			}
			continue;
		}
		rc = ssh_fail(c, im, (int)n, "scp write", err, errlen);
		goto out;
	}
	int r;
	while ((r = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "upload", timeout_ms, err, errlen);
			goto out;
		}
	while ((r = libssh2_channel_wait_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "upload", timeout_ms, err, errlen);
			goto out;
		}
	r = close_channel(im, ch, deadline);
	if (r) {
		rc = r == LIBSSH2_ERROR_TIMEOUT ? timeout_fail(c, im, "upload", timeout_ms, err, errlen)
						: ssh_fail(c, im, r, "scp close", err, errlen);
		goto out;
	}
	int status = libssh2_channel_get_exit_status(ch);
	free_channel(im, ch, deadline);
	ch = NULL;
	if (status != 0) {
		c->failure = CONTROL_FAIL_NONE;
		rc = err_set(err, errlen, SB_EIO, "scp on the host exited %d (directory missing or "
						  "not writable?)",
			     status);
		goto out;
	}
	cmd = shquote_fmt("chmod %o %q && mv -f %q %q", (unsigned)(mode & 07777), tmp, tmp,
			  remote_path);
	if (!cmd) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	struct control_exec_opts o = {.timeout_ms = timeout_ms, .idempotent = true,
				      .max_output = 65536};
	struct control_result res = {0};
	rc = ssh_exec(c, cmd, &o, &res, err, errlen);
	if (!rc && res.exit_status != 0)
		rc = err_set(err, errlen, SB_EIO, "moving the file into place failed (exit %d): %.200s",
			     res.exit_status, res.err ? res.err : "");
	control_result_free(&res);
out:
	if (ch && !im->lost)
		free_channel(im, ch, deadline);
	if (im->lost)
		teardown(im, false);
	free(tmp);
	free(cmd);
	return rc;
}

static int ssh_get(struct control *c, const char *remote_path, size_t max, void **data,
		   size_t *len, int timeout_ms, char *err, size_t errlen)
{
	int rc = ssh_connect(c, err, errlen);
	if (rc)
		return rc;
	struct ssh_impl *im = c->impl;
	long long deadline = clock_mono_ms() + timeout_ms;
	LIBSSH2_CHANNEL *ch = NULL;
	char *buf = NULL;
	libssh2_struct_stat st;
	memset(&st, 0, sizeof st);
	while (!(ch = libssh2_scp_recv2(im->s, remote_path, &st))) {
		int e = libssh2_session_last_errno(im->s);
		if (e != LIBSSH2_ERROR_EAGAIN) {
			rc = ssh_fail(c, im, e, "scp", err, errlen);
			if (!is_lost(e))
				c->failure = CONTROL_FAIL_NONE;
			goto out;
		}
		if (wait_socket(im, deadline)) {
			rc = timeout_fail(c, im, "download", timeout_ms, err, errlen);
			goto out;
		}
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		rc = err_set(err, errlen, SB_ELIMIT, "remote file is larger than %zu bytes", max);
		im->lost = true; /* abandon the transfer with the session */
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		im->lost = true;
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = libssh2_channel_read(ch, buf + got, size - got);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (wait_socket(im, deadline)) {
				rc = timeout_fail(c, im, "download", timeout_ms, err, errlen);
				goto out;
			}
			continue;
		}
		if (n < 0) {
			rc = ssh_fail(c, im, (int)n, "scp read", err, errlen);
			goto out;
		}
		if (n == 0) {
			rc = ssh_fail(c, im, LIBSSH2_ERROR_SOCKET_DISCONNECT, "scp read (short file)",
				      err, errlen);
			goto out;
		}
		got += (size_t)n;
	}
	*data = buf;
	*len = size;
	buf = NULL;
out:
	if (ch && !im->lost)
		free_channel(im, ch, deadline);
	if (im->lost)
		teardown(im, false);
	free(buf);
	return rc;
}

static void ssh_disconnect(struct control *c)
{
	struct ssh_impl *im = c->impl;
	if (im)
		teardown(im, true);
}

static void ssh_destroy(struct control *c)
{
	free(c->impl);
	c->impl = NULL;
}

const struct control_ops control_ssh_ops = {
	.name = "ssh",
	.connect = ssh_connect,
	.exec = ssh_exec,
	.put = ssh_put,
	.get = ssh_get,
	.disconnect = ssh_disconnect,
	.destroy = ssh_destroy,
};
