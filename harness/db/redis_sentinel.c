/* db_redis_sentinel — the db kind "redis-sentinel": on every host one Redis server and one
 * Sentinel (Redis 7.0, Debian's redis-server and redis-sentinel). Redis replicates
 * asynchronously; the Sentinels watch the master (named "splitbrain") and, when a majority
 * of them agree it is down, promote a replica and reconfigure the others.
 *
 * Each node lives in its directory, <base>/<run-id>/<node>/, which is also both daemons'
 * working directory (their `dir`):
 *
 *   redis.conf, sentinel.conf   written at install when missing; Redis and Sentinel
 *                               rewrite them on failovers (replicaof, known replicas and
 *                               Sentinels, the epoch), so a restarted node keeps its role
 *   redis.args, sentinel.args   the command lines (`set -- BIN redis.conf ...`,
 *                               `set -- BIN sentinel.conf --sentinel`); BIN is
 *                               /usr/bin/redis-server or ./redis-server (db.binary, uploaded)
 *   redis.log, sentinel.log     their logs; redis.out, sentinel.out: stdout and stderr
 *   appendonlydir/              Redis' data (AOF, appendfsync everysec; no RDB snapshots)
 *   pid, sentinel.pid           the two pids (daemon.h)
 *
 * Ports: the client port (db.client_port, default 7001) is Redis'; the peer port
 * (db.peer_port, default 7000) is Sentinel's. The first node starts as the master and the
 * others as its replicas; quorum is a majority of the Sentinels; a master is judged down
 * after 1 s (down-after-milliseconds), failover-timeout 3 s. db.args are appended to the
 * Redis server's command line (e.g. [--appendfsync, always]).
 *
 * Faults: kill and pause hit the Redis server (the data), as a crash of the server process
 * would; its Sentinel keeps running. A partition cuts the whole host, both daemons. A node is
 * `running` when both run; start starts whichever does not.
 *
 * Leader discovery: a node's role is its Redis server's (INFO replication: a master that
 * its own Sentinel names = "leader"); the node it names as leader, and the term, are its
 * Sentinel's view (SENTINEL MASTER: the master's address and config-epoch), also while its
 * server is down. So a majority of Sentinels naming a server that says master at the newest
 * epoch is the leader.
 *
 * The clock fault is refused: starting Redis under libfaketime is not done yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/client/resp.h"
#include "harness/control/shquote.h"
#include "harness/db/daemon.h"
#include "harness/db/db.h"
#include "lib/err.h"

#define SYSTEM_BIN "/usr/bin/redis-server"
#define MASTER_NAME "splitbrain"
#define INFO_TIMEOUT_MS 1000

/* ---- configuration ----------------------------------------------------------------------- */

/* A Redis config argument in double quotes (Redis' own quoting: \" and \\). Paths come from
 * db_open's checked base directory (no control characters). */
static void conf_quote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s && o + 3 < outlen; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* redis.conf for node i: the first node is the master, the others its replicas. Pure. */
static void redis_conf(const struct db *db, size_t i, char *out, size_t outlen)
{
	const struct db_node *me = &db->nodes[i], *m = &db->nodes[0];
	char dir[2 * CONTROL_PATH_MAX], log[2 * CONTROL_PATH_MAX + 32], lp[CONTROL_PATH_MAX + 16];
	conf_quote(me->dir, dir, sizeof dir);
	snprintf(lp, sizeof lp, "%s/redis.log", me->dir);
	conf_quote(lp, log, sizeof log);
	int w = snprintf(out, outlen,
			 "# Redis for splitbrain (db kind redis-sentinel); Sentinel rewrites it\n"
			 "bind %s\nport %d\nprotected-mode no\ndaemonize no\n"
			 "dir %s\nlogfile %s\n"
			 "appendonly yes\nappendfsync everysec\nsave \"\"\n",
			 me->listen_host, me->client_port, dir, log);
	if (i > 0 && w > 0 && (size_t)w < outlen)
		snprintf(out + w, outlen - (size_t)w, "replicaof %s %d\n", m->listen_host,
			 m->client_port);
}

static void sentinel_conf(const struct db *db, size_t i, char *out, size_t outlen)
{
	const struct db_node *me = &db->nodes[i], *m = &db->nodes[0];
	char dir[2 * CONTROL_PATH_MAX], log[2 * CONTROL_PATH_MAX + 32], lp[CONTROL_PATH_MAX + 16];
	conf_quote(me->dir, dir, sizeof dir);
	snprintf(lp, sizeof lp, "%s/sentinel.log", me->dir);
	conf_quote(lp, log, sizeof log);
	snprintf(out, outlen,
		 "# Sentinel for splitbrain (db kind redis-sentinel); Sentinel rewrites it\n"
		 "bind %s\nport %d\nprotected-mode no\ndaemonize no\n"
		 "dir %s\nlogfile %s\n"
		 "sentinel monitor " MASTER_NAME " %s %d %zu\n"
		 "sentinel down-after-milliseconds " MASTER_NAME " 1000\n"
		 "sentinel failover-timeout " MASTER_NAME " 3000\n"
		 "sentinel parallel-syncs " MASTER_NAME " 1\n",
		 me->listen_host, me->peer_port, dir, log, m->listen_host, m->client_port,
		 db->n / 2 + 1);
}

/* The install script: directory, both configs (kept when present), both command lines. */
static char *install_body(const struct db *db, size_t i)
{
	const char *bin = db->binary[0] ? "./redis-server" : SYSTEM_BIN;
	size_t nextra = 0;
	while (db->args && db->args[nextra])
		nextra++;
	const char **rav = calloc(nextra + 3, sizeof *rav);
	char rconf[4 * CONTROL_PATH_MAX + 1024], sconf[4 * CONTROL_PATH_MAX + 1024];
	char *blocks[4] = {NULL}, *body = NULL;
	if (!rav)
		return NULL;
	rav[0] = bin;
	rav[1] = "redis.conf";
	for (size_t e = 0; e < nextra; e++)
		rav[2 + e] = db->args[e];
	const char *sav[] = {bin, "sentinel.conf", "--sentinel", NULL};
	redis_conf(db, i, rconf, sizeof rconf);
	sentinel_conf(db, i, sconf, sizeof sconf);
	blocks[0] = db_daemon_file_block("redis.conf", rconf, true);
	blocks[1] = db_daemon_file_block("sentinel.conf", sconf, true);
	blocks[2] = db_daemon_args_block("redis.args", "the Redis server's command line", rav,
					 !db->args_given);
	blocks[3] = db_daemon_args_block("sentinel.args", "Sentinel's command line", sav, false);
	free(rav);
	size_t n = 512;
	for (int k = 0; k < 4; k++) {
		if (!blocks[k])
			goto out;
		n += strlen(blocks[k]);
	}
	if ((body = malloc(n)))
		snprintf(body, n,
			 "%s"
			 "mkdir -p -- \"$d\" && chmod 700 \"$d\" || exit 3\n%s%s%s%s",
			 db->binary[0] ? ""
				       : "[ -x " SYSTEM_BIN " ] || { echo 'no " SYSTEM_BIN
					 " on this host (Debian: apt-get install redis-server "
					 "redis-sentinel), and no db.binary' >&2; exit 3; }\n",
			 blocks[0], blocks[1], blocks[2], blocks[3]);
out:
	for (int k = 0; k < 4; k++)
		free(blocks[k]);
	return body;
}

static int rs_install(struct db *db, size_t i, char *err, size_t errlen)
{
	char *body = install_body(db, i);
	if (!body)
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	int rc = db_daemon_run(db, i, body, NULL, err, errlen);
	free(body);
	if (!rc && db->binary[0]) {
		char path[CONTROL_PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/redis-server", db->nodes[i].dir);
		rc = control_upload(db_control(db, i), db->binary, path, 0755, err, errlen);
	}
	return db_daemon_err(db, i, rc, "install", err, errlen);
}

/* ---- processes --------------------------------------------------------------------------- */

/* Both daemons run the same binary; $bn is its canonical path. */
#define BIN_LINE "bn=$(binof redis.args)\n"

static int rs_start(struct db *db, size_t i, char *err, size_t errlen)
{
	if (db->faketime)
		return err_set(err, errlen, SB_EINVAL,
			       "node %s: the clock fault is not supported for redis-sentinel yet",
			       db->nodes[i].name);
	static const char body[] =
		"[ -f \"$d/redis.args\" ] && [ -f \"$d/sentinel.args\" ] || "
		"{ echo \"not installed: $d/redis.args missing\" >&2; exit 3; }\n"
		"cd \"$d\" || exit 3\n"
		"(. ./redis.args && dstart pid \"$(canon \"$1\")\" redis.out \"$@\") || exit $?\n"
		"(. ./sentinel.args && dstart sentinel.pid \"$(canon \"$1\")\" sentinel.out \"$@\") "
		"|| exit $?\n";
	return db_daemon_err(db, i, db_daemon_run(db, i, body, NULL, err, errlen), "start", err,
			errlen);
}

static int rs_run(struct db *db, size_t i, const char *cmds, const char *what, char *err,
		  size_t errlen)
{
	char body[512];
	snprintf(body, sizeof body, BIN_LINE "%s", cmds);
	return db_daemon_err(db, i, db_daemon_run(db, i, body, NULL, err, errlen), what, err, errlen);
}

static int rs_stop(struct db *db, size_t i, char *err, size_t errlen)
{
	return rs_run(db, i, "dstop sentinel.pid \"$bn\" || exit $?\ndstop pid \"$bn\"\n", "stop",
		      err, errlen);
}

static int rs_kill(struct db *db, size_t i, char *err, size_t errlen)
{
	return rs_run(db, i, "dkill pid \"$bn\"\n", "kill", err, errlen);
}

static int rs_pause(struct db *db, size_t i, char *err, size_t errlen)
{
	return rs_run(db, i, "dsig pid \"$bn\" STOP\n", "pause", err, errlen);
}

static int rs_resume(struct db *db, size_t i, char *err, size_t errlen)
{
	return rs_run(db, i, "dsig pid \"$bn\" CONT\n", "resume", err, errlen);
}

static int rs_wipe(struct db *db, size_t i, char *err, size_t errlen)
{
	return rs_run(db, i,
		      "dkill sentinel.pid \"$bn\" || exit 4\n"
		      "dkill pid \"$bn\" || exit 4\n"
		      "rm -rf -- \"$d\" || exit 4\n"
		      "rmdir -- \"${d%/*}\" 2>/dev/null\n"
		      "exit 0\n",
		      "wipe", err, errlen);
}

/* ---- asking the daemons (RESP, no SSH) --------------------------------------------------- */

/* One command to host:port; *reply (caller frees) unless it fails. */
static int ask(const char *host, int port, int argc, const char *const *argv,
	       struct resp_value **reply, char *err, size_t errlen)
{
	struct resp_client *c = NULL;
	int rc = resp_client_connect(&c, host, port, INFO_TIMEOUT_MS, err, errlen);
	if (!rc)
		rc = resp_client_command(c, argc, argv, NULL, reply, err, errlen);
	resp_client_close(c);
	return rc;
}

/* The value of `field` in a flat [field, value, ...] array reply (SENTINEL MASTER). */
static const char *pair_field(const struct resp_value *v, const char *field)
{
	if (!v || v->type != RESP_ARRAY)
		return NULL;
	for (size_t k = 0; k + 1 < v->nelems; k += 2)
		if (v->elems[k].type == RESP_BULK && v->elems[k + 1].type == RESP_BULK &&
		    !strcmp(v->elems[k].str, field))
			return v->elems[k + 1].str;
	return NULL;
}

/* Sentinel i's view of the master: its node index (or -1), epoch, and what it knows of the
 * others. 0, or an error when the Sentinel does not answer or knows no such master. */
struct sview {
	int master;
	unsigned long long epoch;
	long sentinels, replicas;
};

static int sentinel_view(struct db *db, size_t i, struct sview *out, char *err, size_t errlen)
{
	const struct db_node *me = &db->nodes[i];
	const char *argv[] = {"SENTINEL", "MASTER", MASTER_NAME};
	struct resp_value *v = NULL;
	int rc = ask(me->listen_host, me->peer_port, 3, argv, &v, err, errlen);
	if (rc)
		return rc;
	const char *ip = pair_field(v, "ip"), *port = pair_field(v, "port");
	const char *epoch = pair_field(v, "config-epoch");
	const char *ns = pair_field(v, "num-other-sentinels"), *nr = pair_field(v, "num-slaves");
	if (!ip || !port) {
		rc = err_set(err, errlen, SB_EIO, "sentinel %s:%d: SENTINEL MASTER answered %s %.100s",
			     me->listen_host, me->peer_port, resp_type_name(v->type),
			     v->str ? v->str : "");
		goto out;
	}
	out->master = -1;
	for (size_t j = 0; j < db->n; j++)
		if (!strcmp(db->nodes[j].listen_host, ip) &&
		    db->nodes[j].client_port == atoi(port))
			out->master = (int)j;
	out->epoch = epoch ? strtoull(epoch, NULL, 10) : 0;
	out->sentinels = ns ? atol(ns) : 0;
	out->replicas = nr ? atol(nr) : 0;
out:
	resp_value_free(v);
	return rc;
}

/* Ready: the Redis server answers PING, and its Sentinel knows every other Sentinel and
 * every replica (before that, a failover could not happen). */
static int rs_ping(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen)
{
	const struct db_node *me = &db->nodes[i];
	const char *argv[] = {"PING"};
	struct resp_value *v = NULL;
	int rc = ask(me->listen_host, me->client_port, 1, argv, &v, err, errlen);
	if (!rc && (v->type != RESP_SIMPLE || strcmp(v->str, "PONG")))
		rc = err_set(err, errlen, SB_EIO, "redis %s:%d: PING answered %s '%.100s'",
			     me->listen_host, me->client_port, resp_type_name(v->type),
			     v->str ? v->str : "");
	resp_value_free(v);
	if (rc)
		return rc;
	struct sview sv;
	if ((rc = sentinel_view(db, i, &sv, err, errlen)))
		return rc;
	if (sv.sentinels < (long)db->n - 1 || sv.replicas < (long)db->n - 1)
		return err_set(err, errlen, SB_EIO,
			       "sentinel %s:%d knows %ld other sentinels and %ld replicas of %zu",
			       me->listen_host, me->peer_port, sv.sentinels, sv.replicas,
			       db->n - 1);
	return 0;
}

/* A node answers when its Redis server or its Sentinel does: a Sentinel whose server is down
 * (killed, restarting) still names the master, and that vote must count. The role is the
 * server's: "leader" only for a master that its own Sentinel names too; a server that says
 * master while its Sentinel names another (an old master restarted with its old config,
 * before the Sentinels turn it into a replica) is "stale-master", so that no fault mistakes
 * it for the master. */
static void rs_info(struct db *db, size_t i, struct db_status *st)
{
	const struct db_node *me = &db->nodes[i];
	const char *argv[] = {"INFO", "replication"};
	struct resp_value *v = NULL;
	char role[32] = "", e1[256] = "", e2[256] = "";
	bool redis_up = false;
	st->up = false;
	if (!ask(me->listen_host, me->client_port, 2, argv, &v, e1, sizeof e1)) {
		if (v->type == RESP_BULK && !resp_info_field(v->str, v->len, "role", role, sizeof role)) {
			char off[32];
			redis_up = true;
			if (!resp_info_field(v->str, v->len, "master_repl_offset", off, sizeof off))
				st->commit_index = atoll(off);
		} else {
			snprintf(e1, sizeof e1, "INFO answered %s '%.200s'", resp_type_name(v->type),
				 v->str ? v->str : "");
		}
		resp_value_free(v);
	}
	struct sview sv;
	bool sentinel_up = sentinel_view(db, i, &sv, e2, sizeof e2) == 0;
	if (sentinel_up) {
		st->term = sv.epoch;
		if (sv.master >= 0)
			snprintf(st->leader, sizeof st->leader, "%s", db->nodes[sv.master].name);
	}
	st->up = redis_up || sentinel_up;
	if (redis_up && !strcmp(role, "master"))
		snprintf(st->role, sizeof st->role, "%s",
			 sentinel_up && sv.master == (int)i ? "leader" : "stale-master");
	else if (redis_up)
		snprintf(st->role, sizeof st->role, "follower");
	if (!redis_up || !sentinel_up)
		snprintf(st->error, sizeof st->error, "%s%.120s%s%.120s", redis_up ? "" : "redis: ",
			 redis_up ? "" : e1, sentinel_up ? "" : (redis_up ? "sentinel: " : "; sentinel: "),
			 sentinel_up ? "" : e2);
	else
		st->error[0] = '\0';
}

static int rs_status(struct db *db, size_t i, struct db_status *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	st->commit_index = -1;
	char *out = NULL;
	int rc = db_daemon_run(db, i,
			       BIN_LINE "dstate pid \"$bn\"\ndstate sentinel.pid \"$bn\"\n", &out,
			       err, errlen);
	if (rc)
		return db_daemon_err(db, i, rc, "status", err, errlen);
	long spid = 0;
	bool srun = false, spaused = false;
	const char *second = strchr(out, '\n');
	db_daemon_parse_state(out, &st->pid, &st->running, &st->paused);
	db_daemon_parse_state(second ? second + 1 : NULL, &spid, &srun, &spaused);
	free(out);
	if (!st->running || !srun) {
		snprintf(st->error, sizeof st->error, "%s not running",
			 !st->running && !srun ? "redis and sentinel"
			 : !st->running	     ? "redis"
					     : "sentinel");
		st->running = false;
		st->paused = false;
	} else if (st->paused) {
		snprintf(st->error, sizeof st->error, "paused (SIGSTOP)");
	} else {
		rs_info(db, i, st);
	}
	return 0;
}

static const char *const log_names[] = {"redis.log", "sentinel.log", "redis.out",
					"sentinel.out"};

static size_t rs_log_files(struct db *db, size_t i, char (*paths)[CONTROL_PATH_MAX],
			     size_t max)
{
	return db_daemon_log_files(db, i, log_names, sizeof log_names / sizeof log_names[0], paths,
				   max);
}

static int rs_collect(struct db *db, size_t i, const char *local_dir, char *err, size_t errlen)
{
	static const char *const files[] = {"redis.log",  "sentinel.log",  "redis.out",
					    "sentinel.out", "redis.conf", "sentinel.conf",
					    "redis.args"};
	return db_daemon_collect(db, i, local_dir, files, sizeof files / sizeof files[0], ".",
				 err, errlen);
}

const struct db_ops db_redis_sentinel_ops = {
	.kind = "redis-sentinel",
	/* A Sentinel's "+switch-master splitbrain OLDIP OLDPORT NEWIP NEWPORT" (node: the new
	 * master's "ip port"), or a server's "MASTER MODE enabled" (node: the log's own). Neither
	 * carries an epoch: no term group. */
	.leader_pattern = "\\+switch-master \\S+ \\S+ [0-9]+ (?<node>\\S+ [0-9]+)|MASTER MODE enabled",
	.install = rs_install,
	.start = rs_start,
	.stop = rs_stop,
	.kill = rs_kill,
	.pause = rs_pause,
	.resume = rs_resume,
	.wipe = rs_wipe,
	.status = rs_status,
	.info = rs_info,
	.leader = NULL, /* the generic majority-of-info discovery over the Sentinels' views */
	.ping = rs_ping,
	.log_files = rs_log_files,
	.collect = rs_collect,
};
