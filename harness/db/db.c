#include "harness/db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/db/logscan.h"
#include "harness/store/store.h"
#include "lib/clock.h"
#include "lib/err.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const struct db_ops *const db_kinds[] = {
	&db_raftnode_ops,
	&db_etcd_ops,
	&db_redis_sentinel_ops,
	NULL,
};

const struct db_ops *db_kind_find(const char *kind)
{
	for (size_t i = 0; kind && db_kinds[i]; i++)
		if (!strcmp(db_kinds[i]->kind, kind))
			return db_kinds[i];
	return NULL;
}

/* Built once from the table, so a new row shows up in every message. */
static char kind_names[256];
static pthread_once_t kind_names_once = PTHREAD_ONCE_INIT;

static void kind_names_build(void)
{
	size_t n = 0;
	for (size_t i = 0; db_kinds[i] && n < sizeof kind_names; i++)
		n += (size_t)snprintf(kind_names + n, sizeof kind_names - n, "%s%s", i ? ", " : "",
				      db_kinds[i]->kind);
}

const char *db_kind_names(void)
{
	pthread_once(&kind_names_once, kind_names_build);
	return kind_names;
}

const char *db_op_name(enum db_op op)
{
	switch (op) {
	case DB_OP_INSTALL:
		return "install";
	case DB_OP_START:
		return "start";
	case DB_OP_STOP:
		return "stop";
	case DB_OP_KILL:
		return "kill";
	case DB_OP_PAUSE:
		return "pause";
	case DB_OP_RESUME:
		return "resume";
	case DB_OP_RESTART:
		return "restart";
	case DB_OP_WIPE:
		return "wipe";
	}
	return "?";
}

/* An absolute path without "..", control characters or a trailing slash: it ends up in
 * rm -rf, so it must not be "/" or escape upwards (quoting alone would not prevent that). */
static int check_base_dir(const char *p, char *err, size_t errlen)
{
	size_t n = strlen(p);
	if (n < 2 || p[0] != '/' || p[n - 1] == '/')
		return err_set(err, errlen, SB_EINVAL,
			       "base directory '%s': must be an absolute path other than '/' "
			       "without a trailing '/'",
			       p);
	if (n >= CONTROL_PATH_MAX - 2 * CONTROL_NAME_MAX - 8)
		return err_set(err, errlen, SB_EINVAL, "base directory '%s': too long", p);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return err_set(err, errlen, SB_EINVAL,
				       "base directory: control character at offset %zu", i);
	if (strstr(p, "/../") || strstr(p, "/./") || strstr(p, "//") ||
	    (n >= 3 && !strcmp(p + n - 3, "/..")) || (n >= 2 && !strcmp(p + n - 2, "/.")))
		return err_set(err, errlen, SB_EINVAL,
			       "base directory '%s': no '.', '..' or empty components", p);
	return 0;
}

static int copy_str(char *dst, size_t dstlen, const char *src, const char *what, char *err,
		    size_t errlen)
{
	if (strlen(src) >= dstlen)
		return err_set(err, errlen, SB_EINVAL, "%s '%s' too long (limit %zu)", what, src,
			       dstlen - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int db_open(struct db **out, const struct control_host *hosts, size_t n,
	    const struct db_opts *opts, char *err, size_t errlen)
{
	struct db_opts o = {0};
	if (opts)
		o = *opts;
	const char *kind = o.kind ? o.kind : "raftnode";
	const struct db_ops *ops = db_kind_find(kind);
	if (!ops)
		return err_set(err, errlen, SB_EINVAL, "db kind '%s' unknown (known: %s)", kind,
			       db_kind_names());
	if (n == 0)
		return err_set(err, errlen, SB_EINVAL, "db: no nodes");
	if (n > DB_MAX_NODES)
		return err_set(err, errlen, SB_EINVAL, "db: %zu nodes (limit %d)", n, DB_MAX_NODES);
	int cport = o.client_port ? o.client_port : 7001;
	int pport = o.peer_port ? o.peer_port : 7000;
	if (cport < 1 || cport > 65535 || pport < 1 || pport > 65535)
		return err_set(err, errlen, SB_EINVAL, "db: ports %d/%d out of range 1..65535", cport,
			       pport);

	int rc = 0;
	struct db *db = calloc(1, sizeof *db);
	if (!db)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	db->ops = ops;
	snprintf(db->kind, sizeof db->kind, "%s", kind);
	db->ready_timeout_ms = o.ready_timeout_ms > 0 ? o.ready_timeout_ms : 10000;
	db->op_timeout_ms = o.op_timeout_ms > 0 ? o.op_timeout_ms : 20000;
	db->faketime = o.faketime;
	if ((rc = copy_str(db->base_dir, sizeof db->base_dir,
			   o.base_dir ? o.base_dir : DB_BASE_DIR_DEFAULT, "base directory", err,
			   errlen)) ||
	    (rc = check_base_dir(db->base_dir, err, errlen)))
		goto out;
	const char *run_id = o.run_id ? o.run_id : "default";
	if (!store_name_ok(run_id)) {
		rc = err_set(err, errlen, SB_EINVAL,
			     "run id '%s': use 1..63 characters of [A-Za-z0-9_.-]", run_id);
		goto out;
	}
	if ((rc = copy_str(db->run_id, sizeof db->run_id, run_id, "run id", err, errlen)))
		goto out;
	if (o.binary && (rc = copy_str(db->binary, sizeof db->binary, o.binary, "binary", err,
				       errlen)))
		goto out;
	if (o.cluster_token) {
		/* It reaches command lines and config files: plain characters only. */
		size_t tl = strlen(o.cluster_token);
		bool ok = tl > 0 && tl < sizeof db->cluster_token;
		for (size_t i = 0; ok && i < tl; i++) {
			char ch = o.cluster_token[i];
			ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
		}
		if (!ok) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "cluster token '%.64s': use 1..%d characters of [A-Za-z0-9_.-]",
				     o.cluster_token, DB_TOKEN_MAX - 1);
			goto out;
		}
		memcpy(db->cluster_token, o.cluster_token, tl + 1);
	} else {
		snprintf(db->cluster_token, sizeof db->cluster_token, "splitbrain-%s", db->run_id);
	}

	size_t nargs = 0;
	db->args_given = o.args != NULL;
	while (o.args && o.args[nargs])
		nargs++;
	if (!(db->args = calloc(nargs + 1, sizeof *db->args))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nargs; i++)
		if (!(db->args[i] = strdup(o.args[i]))) {
			rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
			goto out;
		}

	if (!(db->nodes = calloc(n, sizeof *db->nodes))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	db->n = n;
	bool shared = false;
	for (size_t i = 0; i < n; i++) {
		struct db_node *d = &db->nodes[i];
		const struct control_host *h = &hosts[i];
		if (!store_name_ok(h->name)) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "node '%s': name not usable as a node id and directory", h->name);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(hosts[j].name, h->name)) {
				rc = err_set(err, errlen, SB_EINVAL, "node '%s' appears twice", h->name);
				goto out;
			}
		snprintf(d->name, sizeof d->name, "%s", h->name);
		snprintf(d->dc, sizeof d->dc, "%s", h->dc);
		if (h->backend == CONTROL_BACKEND_LOCAL && (!h->address[0] || !strcmp(h->address, "-")))
			snprintf(d->listen_host, sizeof d->listen_host, "127.0.0.1");
		else
			snprintf(d->listen_host, sizeof d->listen_host, "%s", h->address);
		int w = snprintf(d->dir, sizeof d->dir, "%s/%s/%s", db->base_dir, db->run_id, d->name);
		if (w < 0 || (size_t)w >= sizeof d->dir - 32) {
			rc = err_set(err, errlen, SB_EINVAL, "node %s: directory path too long", d->name);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(db->nodes[j].listen_host, d->listen_host))
				shared = true;
	}
	/* Shared address with default ports: peers from 7101 so that the two ranges (7001..,
	 * 7101..) do not overlap for up to 64 nodes. */
	if (shared && !o.peer_port && !o.client_port)
		pport = 7101;
	for (size_t i = 0; i < n; i++) {
		int off = shared ? (int)i : 0;
		db->nodes[i].client_port = cport + off;
		db->nodes[i].peer_port = pport + off;
		if (db->nodes[i].client_port > 65535 || db->nodes[i].peer_port > 65535) {
			rc = err_set(err, errlen, SB_EINVAL, "node %s: port beyond 65535",
				     db->nodes[i].name);
			goto out;
		}
		for (size_t j = 0; j < n; j++)
			if (db->nodes[i].client_port == db->nodes[j].peer_port &&
			    !strcmp(db->nodes[i].listen_host, db->nodes[j].listen_host)) {
				rc = err_set(err, errlen, SB_EINVAL,
					     "node %s: client port %d collides with node %s's peer "
					     "port; choose other ports",
					     db->nodes[i].name, db->nodes[i].client_port,
					     db->nodes[j].name);
				goto out;
			}
	}
	if ((rc = control_pool_new(&db->pool, hosts, n, err, errlen)))
		goto out;
	if (ops->init && (rc = ops->init(db, err, errlen)))
		goto out;
	*out = db;
	return 0;
out:
	db_close(db);
	return rc;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->ops && db->ops->destroy)
		db->ops->destroy(db);
	control_pool_close(&db->pool);
	for (size_t i = 0; db->args && db->args[i]; i++)
		free(db->args[i]);
	free(db->args);
	free(db->nodes);
	free(db);
}

int db_find(const struct db *db, const char *name)
{
	for (size_t i = 0; i < db->n; i++)
		if (!strcmp(db->nodes[i].name, name))
			return (int)i;
	return -1;
}

struct control *db_control(struct db *db, size_t i)
{
	return db->pool.c[i];
}

void db_client_addr(const struct db *db, size_t i, char *out, size_t outlen)
{
	const struct db_node *d = &db->nodes[i];
	if (strchr(d->listen_host, ':'))
		snprintf(out, outlen, "[%s]:%d", d->listen_host, d->client_port);
	else
		snprintf(out, outlen, "%s:%d", d->listen_host, d->client_port);
}

int db_wait_ready(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen)
{
	long long deadline = clock_mono_ms() + timeout_ms;
	char last[512] = "";
	int delay = 10;
	for (;;) {
		long long left = deadline - clock_mono_ms();
		int per = left > 1000 ? 1000 : (int)(left > 50 ? left : 50);
		int rc = db->ops->ping(db, i, per, last, sizeof last);
		if (rc == 0)
			return 0;
		if (rc != SB_EIO && rc != SB_ETIMEOUT)
			return err_set(err, errlen, rc, "node %s: %s", db->nodes[i].name, last);
		if (clock_mono_ms() + delay >= deadline)
			break;
		sleep_ms(delay);
		if (delay < 100)
			delay *= 2;
	}
	return err_set(err, errlen, SB_ETIMEOUT, "node %s: not ready after %d ms: %s",
		       db->nodes[i].name, timeout_ms, last);
}

/* After a start: wait for readiness; if that fails because the process is gone, say so. */
static int start_wait(struct db *db, size_t i, char *err, size_t errlen)
{
	int rc = db_wait_ready(db, i, db->ready_timeout_ms, err, errlen);
	if (rc != SB_ETIMEOUT)
		return rc;
	struct db_status st;
	char e2[256];
	if (db->ops->status(db, i, &st, e2, sizeof e2) == 0 && !st.running) {
		err_prefix(err, errlen, "node %s: exited after start (see its stdout.log)",
			   db->nodes[i].name);
		return SB_EIO;
	}
	return rc;
}

int db_do(struct db *db, enum db_op op, size_t i, char *err, size_t errlen)
{
	const struct db_ops *o = db->ops;
	int rc;
	switch (op) {
	case DB_OP_INSTALL:
		return o->install(db, i, err, errlen);
	case DB_OP_START:
		if ((rc = o->start(db, i, err, errlen)))
			return rc;
		return start_wait(db, i, err, errlen);
	case DB_OP_STOP:
		return o->stop(db, i, err, errlen);
	case DB_OP_KILL:
		return o->kill(db, i, err, errlen);
	case DB_OP_PAUSE:
		return o->pause(db, i, err, errlen);
	case DB_OP_RESUME:
		return o->resume(db, i, err, errlen);
	case DB_OP_RESTART:
		if ((rc = o->stop(db, i, err, errlen)) || (rc = o->start(db, i, err, errlen)))
			return rc;
		return start_wait(db, i, err, errlen);
	case DB_OP_WIPE:
		return o->wipe(db, i, err, errlen);
	}
	return err_set(err, errlen, SB_EINVAL, "unknown db operation %d", (int)op);
}

struct each_arg {
	struct db *db;
	enum db_op op;
	const bool *sel;
};

static int each_fn(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct each_arg *a = arg;
	if (a->sel && !a->sel[i])
		return 0;
	return db_do(a->db, a->op, i, err, errlen);
}

int db_each(struct db *db, enum db_op op, const bool *sel, int *rcs, char *err, size_t errlen)
{
	struct each_arg a = {.db = db, .op = op, .sel = sel};
	int rc = control_pool_each(&db->pool, each_fn, &a, rcs, err, errlen);
	if (rc)
		err_prefix(err, errlen, "%s", db_op_name(op));
	return rc;
}

struct status_arg {
	struct db *db;
	struct db_status *st;
};

static int status_fn(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct status_arg *a = arg;
	int rc = a->db->ops->status(a->db, i, &a->st[i], err, errlen);
	if (rc)
		snprintf(a->st[i].error, sizeof a->st[i].error, "%s", err);
	return rc;
}

int db_status_all(struct db *db, struct db_status *st, char *err, size_t errlen)
{
	for (size_t i = 0; i < db->n; i++) {
		memset(&st[i], 0, sizeof st[i]);
		st[i].commit_index = -1;
	}
	struct status_arg a = {.db = db, .st = st};
	return control_pool_each(&db->pool, status_fn, &a, NULL, err, errlen);
}

struct info_arg {
	struct db *db;
	struct db_status *st;
};

static int info_fn(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct info_arg *a = arg;
	a->db->ops->info(a->db, i, &a->st[i]);
	return 0;
}

void db_info_all(struct db *db, struct db_status *st)
{
	for (size_t i = 0; i < db->n; i++) {
		memset(&st[i], 0, sizeof st[i]);
		st[i].commit_index = -1;
	}
	struct info_arg a = {.db = db, .st = st};
	char err[64];
	control_pool_each(&db->pool, info_fn, &a, NULL, err, sizeof err);
}

int db_leader_decide(const struct db *db, const struct db_status *st, size_t n,
		     struct db_leader *out)
{
	bool found = false;
	struct db_leader best = {0};
	for (size_t c = 0; c < n; c++) {
		if (!st[c].up || strcmp(st[c].role, "leader") != 0)
			continue;
		size_t votes = 0;
		for (size_t j = 0; j < n; j++) {
			if (!st[j].up || st[j].term != st[c].term)
				continue;
			if (j == c || !strcmp(st[j].leader, db->nodes[c].name))
				votes++;
		}
		if (votes * 2 <= n)
			continue;
		if (!found || st[c].term > best.term) {
			found = true;
			memset(&best, 0, sizeof best);
			snprintf(best.node, sizeof best.node, "%s", db->nodes[c].name);
			best.index = c;
			best.term = st[c].term;
			best.votes = votes;
			best.source = DB_LEADER_INFO;
		}
	}
	if (found)
		*out = best;
	return found ? 1 : 0;
}

/* Download the logs of every node into dir/<node>/ and scan them. */
struct logs_arg {
	struct db *db;
	const char *dir;
};

static int fetch_logs_fn(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct logs_arg *a = arg;
	char local[STORE_PATH_MAX];
	snprintf(local, sizeof local, "%s/%s", a->dir, a->db->nodes[i].name);
	if (mkdir(local, 0700) < 0 && errno != EEXIST)
		return err_set(err, errlen, SB_EIO, "mkdir %s: %s", local, strerror(errno));
	char paths[8][CONTROL_PATH_MAX];
	size_t np = a->db->ops->log_files(a->db, i, paths, 8);
	for (size_t k = 0; k < np; k++) {
		const char *base = strrchr(paths[k], '/');
		base = base ? base + 1 : paths[k];
		char dst[STORE_PATH_MAX + CONTROL_PATH_MAX];
		int w = snprintf(dst, sizeof dst, "%s/%s", local, base);
		if (w < 0 || (size_t)w >= sizeof dst)
			continue;
		/* A node that never started has no log: not an error for discovery. */
		char e2[256];
		control_download(c, paths[k], dst, e2, sizeof e2);
	}
	return 0;
}

int db_leader_from_logs(struct db *db, struct db_leader *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	char tmpl[] = "/tmp/splitbrain-leader.XXXXXX";
	if (!mkdtemp(tmpl))
		return err_set(err, errlen, SB_EIO, "mkdtemp: %s", strerror(errno));
	struct logs_arg a = {.db = db, .dir = tmpl};
	int rc = control_pool_each(&db->pool, fetch_logs_fn, &a, NULL, err, errlen);
	char (*files)[STORE_PATH_MAX + CONTROL_PATH_MAX] = NULL;
	const char **fp = NULL;
	size_t nf = 0;
	if (rc)
		goto out;
	files = calloc(db->n * 8, sizeof *files);
	fp = calloc(db->n * 8, sizeof *fp);
	if (!files || !fp) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < db->n; i++) {
		char paths[8][CONTROL_PATH_MAX];
		size_t np = db->ops->log_files(db, i, paths, 8);
		for (size_t k = 0; k < np; k++) {
			const char *base = strrchr(paths[k], '/');
			base = base ? base + 1 : paths[k];
			int w = snprintf(files[nf], sizeof files[nf], "%s/%s/%s", tmpl,
					 db->nodes[i].name, base);
			if (w < 0 || (size_t)w >= sizeof files[nf])
				continue;
			fp[nf] = files[nf];
			nf++;
		}
	}
	struct logscan_leader l;
	if ((rc = logscan_latest_leader(fp, nf, &l, err, errlen)))
		goto out;
	if (l.node[0]) {
		int idx = db_find(db, l.node);
		if (idx >= 0) {
			snprintf(out->node, sizeof out->node, "%s", l.node);
			out->index = (size_t)idx;
			out->term = l.term;
			out->source = DB_LEADER_LOG;
		}
	}
out:
	/* Remove the temporary copies. */
	for (size_t i = 0; i < nf; i++)
		unlink(files[i]);
	for (size_t i = 0; i < db->n; i++) {
		char d[STORE_PATH_MAX];
		snprintf(d, sizeof d, "%s/%s", tmpl, db->nodes[i].name);
		rmdir(d);
	}
	rmdir(tmpl);
	free(files);
	free(fp);
	return rc;
}

int db_leader(struct db *db, int timeout_ms, struct db_leader *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (db->ops->leader)
		return db->ops->leader(db, timeout_ms, out, err, errlen);
	struct db_status *st = calloc(db->n, sizeof *st);
	if (!st)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	long long deadline = clock_mono_ms() + timeout_ms;
	int rc = 0;
	for (;;) {
		db_info_all(db, st);
		if (db_leader_decide(db, st, db->n, out))
			goto out;
		if (clock_mono_ms() + 100 >= deadline)
			break;
		sleep_ms(100);
	}
	rc = db_leader_from_logs(db, out, err, errlen);
out:
	free(st);
	return rc;
}

struct collect_arg {
	struct db *db;
	const bool *sel;
	const char *dir;
};

static int collect_fn(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct collect_arg *a = arg;
	if (a->sel && !a->sel[i])
		return 0;
	struct store s;
	char nd[STORE_PATH_MAX];
	int rc = store_open_dir(&s, a->dir, err, errlen);
	if (!rc)
		rc = store_node_dir(&s, a->db->nodes[i].name, nd, sizeof nd, err, errlen);
	if (!rc)
		rc = a->db->ops->collect(a->db, i, nd, err, errlen);
	return rc;
}

int db_collect(struct db *db, const bool *sel, const char *store_dir, char *err, size_t errlen)
{
	struct collect_arg a = {.db = db, .sel = sel, .dir = store_dir};
	int rc = control_pool_each(&db->pool, collect_fn, &a, NULL, err, errlen);
	if (rc)
		err_prefix(err, errlen, "collect");
	return rc;
}
