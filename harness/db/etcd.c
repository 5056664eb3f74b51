/* db_etcd — the db kind "etcd": one etcd member per host (etcd 3.4, Debian's etcd-server).
 *
 * Each member lives in its node's directory, <base>/<run-id>/<node>/:
 *
 *   etcd.args   its command line, a quoted `set -- BIN --name ...` line that start sources;
 *               BIN is /usr/bin/etcd (the host's package) or ./etcd (db.binary, uploaded)
 *   data/       --data-dir
 *   etcd.log    its log (zap JSON lines, --log-outputs)
 *   etcd.out    its stdout and stderr (a Go panic lands here)
 *   pid         the member's pid (daemon.h: believed only for BIN running in this directory)
 *
 * Ports: the client port (db.client_port, default 7001) serves gRPC and the v3 HTTP/JSON
 * gateway; the peer port (db.peer_port, default 7000) is Raft's. The cluster is
 * --initial-cluster of every node, with --initial-cluster-token the run's token (db_opts
 * .cluster_token), so members of two runs never join each other. db.args are appended to
 * the command line (e.g. [--election-timeout, "500"]).
 *
 * Leader discovery: each member's /v3/maintenance/status names the leader's member ID and
 * the Raft term; IDs are mapped to node names through /v3/cluster/member/list (cached).
 *
 * The clock fault cannot skew etcd: Go reads the clock through the vDSO, which libfaketime
 * does not reach, so start refuses db_opts.faketime.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/client/etcd.h"
#include "harness/client/http.h"
#include "harness/control/shquote.h"
#include "harness/db/daemon.h"
#include "harness/db/db.h"
#include "lib/clock.h"
#include "lib/err.h"

#define SYSTEM_BIN "/usr/bin/etcd"
#define ARGS_FILE "etcd.args"
#define INFO_TIMEOUT_MS 1000

struct member {
	unsigned long long id;
	char name[CONTROL_NAME_MAX];
};

/* The kind's state: member IDs learned so far (shared by every node's thread). */
struct etcd_impl {
	pthread_mutex_t mu;
	struct member members[DB_MAX_NODES];
	size_t nmembers;
};

/* "http://host:port" of node j's client or peer port. */
static void url_of(const struct db_node *d, int port, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(d->listen_host, ':') ? "http://[%s]:%d" : "http://%s:%d",
		 d->listen_host, port);
}

/* The member's command line (NULL-terminated; free with free_argv). */
static char **member_argv(const struct db *db, size_t i)
{
	const struct db_node *me = &db->nodes[i];
	size_t nextra = 0;
	while (db->args && db->args[nextra])
		nextra++;
	size_t clen = 1;
	for (size_t j = 0; j < db->n; j++)
		clen += strlen(db->nodes[j].name) + strlen(db->nodes[j].listen_host) + 24;
	char **av = calloc(32 + nextra, sizeof *av);
	char *cluster = malloc(clen);
	char curl[CONTROL_ADDR_MAX + 32], purl[CONTROL_ADDR_MAX + 32];
	char data[CONTROL_PATH_MAX + 8], log[CONTROL_PATH_MAX + 16];
	size_t k = 0;
	if (!av || !cluster)
		goto fail;
	size_t o = 0;
	for (size_t j = 0; j < db->n; j++) {
		char u[CONTROL_ADDR_MAX + 32];
		url_of(&db->nodes[j], db->nodes[j].peer_port, u, sizeof u);
		o += (size_t)snprintf(cluster + o, clen - o, "%s%s=%s", j ? "," : "",
				      db->nodes[j].name, u);
	}
	url_of(me, me->client_port, curl, sizeof curl);
	url_of(me, me->peer_port, purl, sizeof purl);
	snprintf(data, sizeof data, "%s/data", me->dir);
	snprintf(log, sizeof log, "%s/etcd.log", me->dir);
	const char *fixed[] = {
		db->binary[0] ? "./etcd" : SYSTEM_BIN,
		"--name", me->name,
		"--data-dir", data,
		"--listen-client-urls", curl,
		"--advertise-client-urls", curl,
		"--listen-peer-urls", purl,
		"--initial-advertise-peer-urls", purl,
		"--initial-cluster", cluster,
		"--initial-cluster-token", db->cluster_token,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-outputs", log,
	};
	for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++)
		if (!(av[k++] = strdup(fixed[f])))
			goto fail;
	for (size_t e = 0; e < nextra; e++)
		if (!(av[k++] = strdup(db->args[e])))
			goto fail;
	free(cluster);
	return av;
fail:
	free(cluster);
	for (size_t f = 0; av && f < k; f++)
		free(av[f]);
	free(av);
	return NULL;
}

static void free_argv(char **av)
{
	for (size_t i = 0; av && av[i]; i++)
		free(av[i]);
	free(av);
}

static int etcd_install(struct db *db, size_t i, char *err, size_t errlen)
{
	char **av = member_argv(db, i);
	char *args = av ? db_daemon_args_block(ARGS_FILE, "etcd's command line (splitbrain db)",
					       (const char *const *)av, !db->args_given)
			: NULL;
	free_argv(av);
	if (!args)
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	size_t n = strlen(args) + 512;
	char *body = malloc(n);
	int rc;
	if (!body) {
		free(args);
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	}
	snprintf(body, n,
		 "%s"
		 "mkdir -p -- \"$d/data\" && chmod 700 \"$d/data\" || exit 3\n%s",
		 db->binary[0] ? ""
			       : "[ -x " SYSTEM_BIN " ] || { echo 'no " SYSTEM_BIN " on this host "
				 "(Debian: apt-get install etcd-server), and no db.binary' >&2; "
				 "exit 3; }\n",
		 args);
	free(args);
	rc = db_daemon_run(db, i, body, NULL, err, errlen);
	free(body);
	if (!rc && db->binary[0]) {
		char path[CONTROL_PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/etcd", db->nodes[i].dir);
		rc = control_upload(db_control(db, i), db->binary, path, 0755, err, errlen);
	}
	return db_daemon_err(db, i, rc, "install", err, errlen);
}

static int etcd_start(struct db *db, size_t i, char *err, size_t errlen)
{
	if (db->faketime)
		return err_set(err, errlen, SB_EINVAL,
			       "node %s: the clock fault cannot skew etcd (Go reads the clock "
			       "through the vDSO, which libfaketime does not reach)",
			       db->nodes[i].name);
	static const char body[] =
		"[ -f \"$d/" ARGS_FILE "\" ] || { echo \"not installed: $d/" ARGS_FILE
		" missing\" >&2; exit 3; }\n"
		"cd \"$d\" || exit 3\n"
		". ./" ARGS_FILE " || exit 3\n"
		"dstart pid \"$(canon \"$1\")\" etcd.out \"$@\"\n";
	return db_daemon_err(db, i, db_daemon_run(db, i, body, NULL, err, errlen), "start", err,
			errlen);
}

/* Run `cmd` (a daemon.h function call on the member's pid file; $bn is its binary). */
static int etcd_signal(struct db *db, size_t i, const char *cmd, const char *what, char *err,
		       size_t errlen)
{
	char body[256];
	snprintf(body, sizeof body, "bn=$(binof " ARGS_FILE ")\n%s\n", cmd);
	return db_daemon_err(db, i, db_daemon_run(db, i, body, NULL, err, errlen), what, err, errlen);
}

static int etcd_stop(struct db *db, size_t i, char *err, size_t errlen)
{
	return etcd_signal(db, i, "dstop pid \"$bn\"", "stop", err, errlen);
}

static int etcd_kill(struct db *db, size_t i, char *err, size_t errlen)
{
	return etcd_signal(db, i, "dkill pid \"$bn\"", "kill", err, errlen);
}

static int etcd_pause(struct db *db, size_t i, char *err, size_t errlen)
{
	return etcd_signal(db, i, "dsig pid \"$bn\" STOP", "pause", err, errlen);
}

static int etcd_resume(struct db *db, size_t i, char *err, size_t errlen)
{
	return etcd_signal(db, i, "dsig pid \"$bn\" CONT", "resume", err, errlen);
}

static int etcd_wipe(struct db *db, size_t i, char *err, size_t errlen)
{
	static const char body[] = "bn=$(binof " ARGS_FILE ")\n"
				   "dkill pid \"$bn\" || exit 4\n"
				   "rm -rf -- \"$d\" || exit 4\n"
				   "rmdir -- \"${d%/*}\" 2>/dev/null\n"
				   "exit 0\n";
	return db_daemon_err(db, i, db_daemon_run(db, i, body, NULL, err, errlen), "wipe", err,
			errlen);
}

/* ---- asking the members (HTTP, no SSH) --------------------------------------------------- */

/* POST {} to path on node i; the parsed JSON object in *doc (caller frees). */
static int ask(struct db *db, size_t i, const char *path, struct hval **doc, char *err,
	       size_t errlen)
{
	struct http *h = NULL;
	char url[CONTROL_ADDR_MAX + 64], addr[CONTROL_ADDR_MAX + 16];
	struct http_res hr;
	int rc = http_new(&h, err, errlen);
	if (rc)
		return rc;
	db_client_addr(db, i, addr, sizeof addr);
	snprintf(url, sizeof url, "http://%s%s", addr, path);
	rc = http_post(h, url, "{}", 2, clock_mono_ns() + INFO_TIMEOUT_MS * CLOCK_NS_PER_MS, &hr);
	if (rc) {
		rc = err_set(err, errlen, rc == SB_ETIMEOUT ? SB_ETIMEOUT : SB_EIO, "%s: %s", url,
			     hr.error);
	} else if (hr.status != 200) {
		rc = err_set(err, errlen, SB_EIO, "%s: HTTP %ld %.120s", url, hr.status, hr.body);
	} else if (hval_parse_json(hr.body, hr.len, doc, err, errlen) || (*doc)->kind != HVAL_MAP) {
		hval_free(*doc);
		*doc = NULL;
		rc = err_set(err, errlen, SB_EIO, "%s: not a JSON object", url);
	}
	http_free(h);
	return rc;
}

static int etcd_ping(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen)
{
	struct hval *doc = NULL;
	int rc = ask(db, i, "/v3/maintenance/status", &doc, err, errlen);
	hval_free(doc);
	return rc;
}

/* The name of member `id`, from the cache or, once, from node i's member list. */
static int member_name(struct db *db, size_t i, unsigned long long id, char *out, size_t outlen)
{
	struct etcd_impl *m = db->impl;
	int found = 0;
	pthread_mutex_lock(&m->mu);
	for (size_t k = 0; k < m->nmembers && !found; k++)
		if (m->members[k].id == id) {
			snprintf(out, outlen, "%s", m->members[k].name);
			found = 1;
		}
	pthread_mutex_unlock(&m->mu);
	if (found)
		return 1;
	struct hval *doc = NULL;
	char err[256];
	if (ask(db, i, "/v3/cluster/member/list", &doc, err, sizeof err))
		return 0;
	const struct hval *list = etcd_json_field(doc, "members");
	pthread_mutex_lock(&m->mu);
	for (uint32_t k = 0; list && list->kind == HVAL_ARRAY && k < list->len; k++) {
		const struct hval *mem = &list->u.items[k];
		const struct hval *nm = etcd_json_field(mem, "name");
		unsigned long long mid;
		if (etcd_json_u64(etcd_json_field(mem, "ID"), &mid) || !nm || nm->kind != HVAL_STR ||
		    db_find(db, nm->u.s) < 0)
			continue;
		bool known = false;
		for (size_t j = 0; j < m->nmembers; j++)
			known |= m->members[j].id == mid;
		if (!known && m->nmembers < DB_MAX_NODES) {
			m->members[m->nmembers].id = mid;
			snprintf(m->members[m->nmembers].name, sizeof m->members[0].name, "%s",
				 nm->u.s);
			m->nmembers++;
		}
		if (mid == id) {
			snprintf(out, outlen, "%s", nm->u.s);
			found = 1;
		}
	}
	pthread_mutex_unlock(&m->mu);
	hval_free(doc);
	return found;
}

static void etcd_info(struct db *db, size_t i, struct db_status *st)
{
	struct hval *doc = NULL;
	st->up = false;
	if (ask(db, i, "/v3/maintenance/status", &doc, st->error, sizeof st->error))
		return;
	unsigned long long me = 0, leader = 0, term = 0, index = 0;
	etcd_json_u64(etcd_json_field(etcd_json_field(doc, "header"), "member_id"), &me);
	etcd_json_u64(etcd_json_field(doc, "leader"), &leader);
	etcd_json_u64(etcd_json_field(doc, "raftTerm"), &term);
	if (!etcd_json_u64(etcd_json_field(doc, "raftIndex"), &index))
		st->commit_index = (long long)index;
	hval_free(doc);
	st->up = true;
	st->error[0] = '\0';
	st->term = term;
	/* A member without a leader says leader 0. */
	snprintf(st->role, sizeof st->role, "%s",
		 leader && leader == me ? "leader" : leader ? "follower" : "candidate");
	if (leader && !member_name(db, i, leader, st->leader, sizeof st->leader))
		st->leader[0] = '\0';
}

static int etcd_status(struct db *db, size_t i, struct db_status *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	st->commit_index = -1;
	char *out = NULL;
	int rc = db_daemon_run(db, i, "bn=$(binof " ARGS_FILE ")\ndstate pid \"$bn\"\n", &out,
			       err, errlen);
	if (rc)
		return db_daemon_err(db, i, rc, "status", err, errlen);
	db_daemon_parse_state(out, &st->pid, &st->running, &st->paused);
	free(out);
	if (!st->running)
		snprintf(st->error, sizeof st->error, "not running");
	else if (st->paused)
		snprintf(st->error, sizeof st->error, "paused (SIGSTOP)");
	else
		etcd_info(db, i, st);
	return 0;
}

static const char *const log_names[] = {"etcd.log", "etcd.out"};

static size_t etcd_log_files(struct db *db, size_t i, char (*paths)[CONTROL_PATH_MAX],
			     size_t max)
{
	return db_daemon_log_files(db, i, log_names, sizeof log_names / sizeof log_names[0], paths,
				   max);
}

static int etcd_collect(struct db *db, size_t i, const char *local_dir, char *err,
			size_t errlen)
{
	static const char *const files[] = {"etcd.log", "etcd.out", ARGS_FILE};
	return db_daemon_collect(db, i, local_dir, files, 3, "data", err, errlen);
}

static int etcd_init(struct db *db, char *err, size_t errlen)
{
	struct etcd_impl *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	pthread_mutex_init(&m->mu, NULL);
	db->impl = m;
	return 0;
}

static void etcd_destroy(struct db *db)
{
	struct etcd_impl *m = db->impl;
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
	db->impl = NULL;
}

const struct db_ops db_etcd_ops = {
	.kind = "etcd",
	/* {"level":"info",...,"msg":"8e9e05c52164694d became leader at term 3"}: the member
	 * logs its own election, by member ID (etcd's logs carry no names). */
	.leader_pattern = "\"msg\":\"(?<node>[0-9a-f]+) became leader at term (?<term>[0-9]+)\"",
	/* etcd's raft stops with these when a leader contradicts a committed entry or sends a
	 * commit index beyond the log: state machine safety broke, or the log was lost. */
	.safety_pattern = "conflict with committed entry|tocommit\\([0-9]+\\) is out of range",
	.init = etcd_init,
	.install = etcd_install,
	.start = etcd_start,
	.stop = etcd_stop,
	.kill = etcd_kill,
	.pause = etcd_pause,
	.resume = etcd_resume,
	.wipe = etcd_wipe,
	.status = etcd_status,
	.info = etcd_info,
	.leader = NULL, /* the generic majority-of-info discovery */
	.ping = etcd_ping,
	.log_files = etcd_log_files,
	.collect = etcd_collect,
	.destroy = etcd_destroy,
};
