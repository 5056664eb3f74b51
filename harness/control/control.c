/* control — the backend-independent part: host defaults, messages naming the host, file
 * transfer wrappers and the parallel pool. */
#include "harness/control/control.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/control/impl.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define DOWNLOAD_MAX ((size_t)256 << 20)

int control_text_add(struct control_text *t, const char *data, size_t n)
{
	if (t->len + n > t->max) {
		t->truncated = 1;
		n = t->len < t->max ? t->max - t->len : 0;
	}
	if (!t->buf || t->len + n + 1 > t->cap) {
		size_t nc = t->cap ? t->cap : 4096;
		while (nc < t->len + n + 1)
			nc *= 2;
		char *p = realloc(t->buf, nc);
		if (!p)
			return -1;
		t->buf = p;
		t->cap = nc;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

int control_text_take(struct control_text *t, char **out, size_t *len)
{
	static const char mark[] = "\n[truncated]";
	if (t->truncated) {
		t->max = t->len + sizeof mark;
		if (control_text_add(t, mark, sizeof mark - 1) < 0)
			goto fail;
	} else if (control_text_add(t, "", 0) < 0) {
		goto fail;
	}
	*out = t->buf;
	*len = t->len;
	t->buf = NULL;
	t->len = t->cap = 0;
	return 0;
fail:
	control_text_free(t);
	return -1;
}

void control_text_free(struct control_text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

char *control_upload_tmp(const char *path)
{
	static _Atomic unsigned long seq; /* unique temporary names in this process */
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	char *tmp = NULL;
	if (asprintf(&tmp, "%.*s%s%ld.%lu", dirlen, path, CONTROL_UPLOAD_TMP_PREFIX,
		     (long)getpid(), ++seq) < 0)
		return NULL;
	return tmp;
}

void control_host_defaults(struct control_host *h)
{
	memset(h, 0, sizeof *h);
	h->port = 22;
	snprintf(h->user, sizeof h->user, "root");
	h->hostkey_policy = CONTROL_HOSTKEY_STRICT;
	h->connect_timeout_ms = 5000;
	h->backend = CONTROL_BACKEND_SSH;
}

int control_hostkey_policy_parse(const char *s, enum control_hostkey_policy *out)
{
	if (!s)
		return SB_EINVAL;
	if (!strcmp(s, "strict") || !strcmp(s, "yes"))
		*out = CONTROL_HOSTKEY_STRICT;
	else if (!strcmp(s, "accept-new"))
		*out = CONTROL_HOSTKEY_ACCEPT_NEW;
	else if (!strcmp(s, "off") || !strcmp(s, "no"))
		*out = CONTROL_HOSTKEY_OFF;
	else
		return SB_EINVAL;
	return 0;
}

const char *control_hostkey_policy_name(enum control_hostkey_policy p)
{
	switch (p) {
	case CONTROL_HOSTKEY_STRICT:
		return "strict";
	case CONTROL_HOSTKEY_ACCEPT_NEW:
		return "accept-new";
	case CONTROL_HOSTKEY_OFF:
		return "off";
	}
	return "?";
}

const char *control_failure_name(enum control_failure f)
{
	switch (f) {
	case CONTROL_FAIL_NONE:
		return "ok";
	case CONTROL_FAIL_REFUSED:
		return "connection refused";
	case CONTROL_FAIL_UNREACHABLE:
		return "unreachable";
	case CONTROL_FAIL_TIMEOUT:
		return "timeout";
	case CONTROL_FAIL_HOSTKEY:
		return "host key mismatch";
	case CONTROL_FAIL_AUTH:
		return "auth failed";
	case CONTROL_FAIL_PROTOCOL:
		return "ssh protocol error";
	case CONTROL_FAIL_LOCAL:
		return "local error";
	}
	return "?";
}

void control_result_free(struct control_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}

/* Prefix a backend's message with "host NAME (ADDR:PORT)". */
static void host_prefix(const struct control *c, char *err, size_t errlen)
{
	if (c->host.backend == CONTROL_BACKEND_LOCAL)
		err_prefix(err, errlen, "host %s (local)", c->host.name);
	else if (strchr(c->host.address, ':'))
		err_prefix(err, errlen, "host %s ([%s]:%d)", c->host.name, c->host.address,
			   c->host.port);
	else
		err_prefix(err, errlen, "host %s (%s:%d)", c->host.name, c->host.address,
			   c->host.port);
}

int control_new(const struct control_host *host, struct control **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!host->name[0])
		return err_set(err, errlen, SB_EINVAL, "host without a name");
	if (host->backend == CONTROL_BACKEND_SSH) {
		if (!host->address[0])
			return err_set(err, errlen, SB_EINVAL, "host %s: no address", host->name);
		if (host->port < 1 || host->port > 65535)
			return err_set(err, errlen, SB_EINVAL, "host %s: port %d out of range 1..65535",
				       host->name, host->port);
		if (!host->user[0])
			return err_set(err, errlen, SB_EINVAL, "host %s: no user", host->name);
	}
	struct control *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, errlen, SB_ENOMEM, "host %s: out of memory", host->name);
	c->host = *host;
	/* Copies are NUL-terminated whatever the caller did. */
	c->host.name[sizeof c->host.name - 1] = '\0';
	c->host.address[sizeof c->host.address - 1] = '\0';
	c->host.user[sizeof c->host.user - 1] = '\0';
	c->host.key_file[sizeof c->host.key_file - 1] = '\0';
	c->host.known_hosts[sizeof c->host.known_hosts - 1] = '\0';
	if (c->host.connect_timeout_ms <= 0)
		c->host.connect_timeout_ms = 5000;
	c->ops = host->backend == CONTROL_BACKEND_LOCAL ? &control_local_ops : &control_ssh_ops;
	*out = c;
	return 0;
}

int control_connect(struct control *c, char *err, size_t errlen)
{
	int rc = c->ops->connect(c, err, errlen);
	if (rc)
		host_prefix(c, err, errlen);
	else
		c->failure = CONTROL_FAIL_NONE;
	return rc;
}

int control_exec(struct control *c, const char *cmd, const struct control_exec_opts *opts,
		 struct control_result *res, char *err, size_t errlen)
{
	struct control_exec_opts o = {0};
	if (opts)
		o = *opts;
	if (o.timeout_ms <= 0)
		o.timeout_ms = 60000;
	if (!o.max_output)
		o.max_output = (size_t)16 << 20;
	memset(res, 0, sizeof *res);
	res->exit_status = -1;
	if (!cmd)
		return err_set(err, errlen, SB_EINVAL, "host %s: no command", c->host.name);
	int rc = c->ops->exec(c, cmd, &o, res, err, errlen);
	if (rc)
		host_prefix(c, err, errlen);
	return rc;
}

/* The first line of s, at most 200 bytes, for messages. */
static void first_line(const char *s, char *buf, size_t len)
{
	size_t n = 0;
	while (s && s[n] && s[n] != '\n' && n + 1 < len && n < 200)
		n++;
	if (s)
		memcpy(buf, s, n);
	buf[n] = '\0';
}

int control_run(struct control *c, const char *cmd, int timeout_ms, char **out, char *err,
		size_t errlen)
{
	struct control_result r;
	struct control_exec_opts o = {.timeout_ms = timeout_ms};
	if (out)
		*out = NULL;
	int rc = control_exec(c, cmd, &o, &r, err, errlen);
	if (rc)
		goto out;
	if (r.exit_status != 0) {
		char line[256];
		first_line(r.err_len ? r.err : r.out, line, sizeof line);
		if (r.signal[0])
			rc = err_set(err, errlen, SB_EIO, "command killed by SIG%s: %s", r.signal, line);
		else
			rc = err_set(err, errlen, SB_EIO, "command exited %d: %s", r.exit_status, line);
		host_prefix(c, err, errlen);
		goto out;
	}
	if (out) {
		*out = r.out;
		r.out = NULL;
	}
out:
	control_result_free(&r);
	return rc;
}

static int read_file(const char *path, void **data, size_t *len, char *err, size_t errlen)
{
	int rc = 0;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(err, errlen, SB_EIO, "%s: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > DOWNLOAD_MAX) {
		rc = err_set(err, errlen, SB_ELIMIT, "%s: larger than 256 MiB", path);
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		rc = err_set(err, errlen, SB_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = err_set(err, errlen, SB_EIO, "read %s: %s", path,
				     n < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		got += (size_t)n;
	}
	*data = buf;
	*len = size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int control_upload_data(struct control *c, const void *data, size_t len,
			const char *remote_path, int mode, char *err, size_t errlen)
{
	if (!remote_path || !remote_path[0])
		return err_set(err, errlen, SB_EINVAL, "host %s: upload without a remote path",
			       c->host.name);
	int rc = c->ops->put(c, data, len, remote_path, mode, 60000, err, errlen);
	if (rc == SB_EIO && c->failure == CONTROL_FAIL_PROTOCOL) {
		/* The connection was lost: writing a whole file again is safe. */
		c->ops->disconnect(c);
		rc = c->ops->put(c, data, len, remote_path, mode, 60000, err, errlen);
	}
	if (rc) {
		err_prefix(err, errlen, "upload %s", remote_path);
		host_prefix(c, err, errlen);
	}
	return rc;
}

int control_upload(struct control *c, const char *local_path, const char *remote_path,
		   int mode, char *err, size_t errlen)
{
	void *data = NULL;
	size_t len = 0;
	int rc = read_file(local_path, &data, &len, err, errlen);
	if (rc) {
		c->failure = CONTROL_FAIL_LOCAL;
		err_prefix(err, errlen, "upload");
		host_prefix(c, err, errlen);
		return rc;
	}
	rc = control_upload_data(c, data, len, remote_path, mode, err, errlen);
	free(data);
	return rc;
}

int control_download(struct control *c, const char *remote_path, const char *local_path,
		     char *err, size_t errlen)
{
	void *data = NULL;
	size_t len = 0;
	int rc = c->ops->get(c, remote_path, DOWNLOAD_MAX, &data, &len, 60000, err, errlen);
	if (rc == SB_EIO && c->failure == CONTROL_FAIL_PROTOCOL) {
		c->ops->disconnect(c);
		rc = c->ops->get(c, remote_path, DOWNLOAD_MAX, &data, &len, 60000, err, errlen);
	}
	if (!rc) {
		rc = file_replace(local_path, data, len, 0644, err, errlen);
		if (rc)
			c->failure = CONTROL_FAIL_LOCAL;
	}
	free(data);
	if (rc) {
		err_prefix(err, errlen, "download %s", remote_path);
		host_prefix(c, err, errlen);
	}
	return rc;
}

enum control_failure control_failure(const struct control *c)
{
	return c->failure;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	c->ops->disconnect(c);
	c->ops->destroy(c);
	free(c);
}

/* ---- pool ---- */

void control_pool_close(struct control_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n && p->c; i++)
		control_close(p->c[i]);
	free(p->c);
	p->c = NULL;
	p->n = 0;
}

int control_pool_new(struct control_pool *p, const struct control_host *hosts, size_t n,
		     char *err, size_t errlen)
{
	p->c = NULL;
	p->n = 0;
	if (!n)
		return err_set(err, errlen, SB_EINVAL, "no hosts");
	p->c = calloc(n, sizeof *p->c);
	if (!p->c)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int rc = control_new(&hosts[i], &p->c[i], err, errlen);
		if (rc) {
			p->n = i;
			control_pool_close(p);
			return rc;
		}
	}
	p->n = n;
	return 0;
}

struct each_job {
	struct control *c;
	size_t i;
	control_each_fn fn;
	void *arg;
	int rc;
	char err[1024];
};

static void *each_thread(void *v)
{
	struct each_job *j = v;
	j->err[0] = '\0';
	j->rc = j->fn(j->c, j->i, j->arg, j->err, sizeof j->err);
	return NULL;
}

int control_pool_each(struct control_pool *p, control_each_fn fn, void *arg, int *rcs,
		      char *err, size_t errlen)
{
	int rc = 0;
	struct each_job *jobs = calloc(p->n ? p->n : 1, sizeof *jobs);
	pthread_t *th = calloc(p->n ? p->n : 1, sizeof *th);
	bool *started = calloc(p->n ? p->n : 1, sizeof *started);
	if (!jobs || !th || !started) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n; i++) {
		jobs[i] = (struct each_job){.c = p->c[i], .i = i, .fn = fn, .arg = arg};
		/* One host per thread; a failed pthread_create falls back to running inline. */
		if (pthread_create(&th[i], NULL, each_thread, &jobs[i]) == 0)
			started[i] = true;
		else
			each_thread(&jobs[i]);
	}
	size_t nfail = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		if (rcs)
			rcs[i] = jobs[i].rc;
		if (jobs[i].rc) {
			if (!rc)
				rc = jobs[i].rc;
			nfail++;
		}
	}
	if (rc && err && errlen) {
		size_t o = 0;
		int n = snprintf(err, errlen, "%zu of %zu hosts failed: ", nfail, p->n);
		o = n > 0 ? (size_t)n : 0;
		bool first = true;
		for (size_t i = 0; i < p->n && o < errlen; i++) {
			if (!jobs[i].rc)
				continue;
			n = snprintf(err + o, errlen - o, "%s%s", first ? "" : "; ", jobs[i].err);
			if (n > 0)
				o += (size_t)n;
			first = false;
		}
	}
out:
	free(jobs);
	free(th);
	free(started);
	return rc;
}

static int connect_one(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	return control_connect(c, err, errlen);
}

int control_pool_open(struct control_pool *p, const struct control_host *hosts, size_t n,
		      char *err, size_t errlen)
{
	int rc = control_pool_new(p, hosts, n, err, errlen);
	if (rc)
		return rc;
	rc = control_pool_each(p, connect_one, NULL, NULL, err, errlen);
	if (rc)
		control_pool_close(p);
	return rc;
}

struct exec_all {
	const char *cmd;
	const struct control_exec_opts *opts;
	struct control_result *res;
};

static int exec_one(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct exec_all *a = arg;
	return control_exec(c, a->cmd, a->opts, &a->res[i], err, errlen);
}

int control_pool_exec(struct control_pool *p, const char *cmd,
		      const struct control_exec_opts *opts, struct control_result *res,
		      char *err, size_t errlen)
{
	struct exec_all a = {.cmd = cmd, .opts = opts, .res = res};
	return control_pool_each(p, exec_one, &a, NULL, err, errlen);
}
