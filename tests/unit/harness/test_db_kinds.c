/* Tests for the db kinds beyond raftnode (harness/db/{etcd,redis_sentinel,daemon}.c) and the
 * table of kinds:
 *   - every kind's leader_pattern compiles and reads the leader lines its system writes;
 *   - real 3-member etcd and Redis + Sentinel clusters on this machine through the local
 *     control backend (the hosts share 127.0.0.1, so each node gets port + index): install,
 *     start, leader discovery, kill (and re-election / failover), restart, pause, resume,
 *     status, log collection, wipe, and nothing left afterwards. Skipped when the packages'
 *     binaries are missing (make deps installs them). Waits are bounded by deadlines only.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/db/db.h"
#include "lib/clock.h"
#include "lib/err.h"

/* ---- the table and the leader patterns --------------------------------------------------- */

static void test_table(void **state)
{
	assert_ptr_equal(db_kind_find("raftnode"), &db_raftnode_ops);
	assert_ptr_equal(db_kind_find("etcd"), &db_etcd_ops);
	assert_ptr_equal(db_kind_find("redis-sentinel"), &db_redis_sentinel_ops);
	assert_null(db_kind_find("zookeeper"));
	assert_null(db_kind_find(NULL));
	assert_string_equal(db_kind_names(), "raftnode, etcd, redis-sentinel");
	for (size_t i = 0; db_kinds[i]; i++) {
		const struct db_ops *o = db_kinds[i];
		assert_non_null(o->leader_pattern);
		assert_true(o->install && o->start && o->stop && o->kill && o->pause && o->resume &&
			    o->wipe && o->status && o->info && o->ping && o->log_files && o->collect);
	}
}

struct pline {
	const char *kind;
	const char *line;
	const char *node; /* NULL: no match; "" : matched, node group unset */
	const char *term; /* "" : unset */
};

static void test_leader_patterns(void **state)
{
	static const struct pline lines[] = {
		{"raftnode", "2026-11-24T00:10:00.123456Z INFO node=n1 term=3 event=became-leader",
		 "n1", "3"},
		{"raftnode", "2026-11-24T00:10:00Z INFO event=became-leader term=12 node=n3 x=1", "n3",
		 "12"},
		{"raftnode", "2026-11-24T00:10:00Z INFO node=n1 term=3 event=stepped-down", NULL, NULL},
		{"raftnode", "INFO node=n1 term=3 event=became-leader-soon", NULL, NULL},
		{"etcd",
		 "{\"level\":\"info\",\"ts\":\"2026-11-30T08:00:58.989Z\",\"caller\":\"raft/raft.go:771\","
		 "\"msg\":\"bdae9bbc11dd390d became leader at term 2\"}",
		 "bdae9bbc11dd390d", "2"},
		{"etcd",
		 "{\"level\":\"info\",\"msg\":\"raft.node: bdae9bbc11dd390d elected leader "
		 "bdae9bbc11dd390d at term 2\"}",
		 NULL, NULL},
		{"etcd", "{\"msg\":\"bdae9bbc11dd390d became follower at term 3\"}", NULL, NULL},
		{"redis-sentinel",
		 "28967:X 30 Nov 2026 08:06:58.665 # +switch-master splitbrain 10.1.2.11 7001 "
		 "10.1.2.13 7001",
		 "10.1.2.13 7001", ""},
		{"redis-sentinel",
		 "28946:M 30 Nov 2026 08:07:00.066 * MASTER MODE enabled (user request from 'id=42')",
		 "", ""},
		{"redis-sentinel", "28946:M 30 Nov 2026 08:07:00.066 * Connecting to MASTER 10.1.2.12:7001",
		 NULL, NULL},
		{"redis-sentinel", "28967:X 30 Nov 2026 08:06:58.665 # +sdown master splitbrain 10.1.2.11 7001",
		 NULL, NULL},
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		const struct pline *p = &lines[i];
		const struct db_ops *o = db_kind_find(p->kind);
		int ec;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)o->leader_pattern, PCRE2_ZERO_TERMINATED, 0,
					       &ec, &off, NULL);
		if (!re)
			fail_msg("%s: pattern does not compile at %zu", p->kind, (size_t)off);
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
		int r = pcre2_match(re, (PCRE2_SPTR)p->line, strlen(p->line), 0, 0, md, NULL);
		if (!p->node) {
			if (r >= 0)
				fail_msg("line %zu matched: %s", i, p->line);
		} else {
			if (r < 0)
				fail_msg("line %zu did not match: %s", i, p->line);
			const char *names[] = {"node", "term"};
			const char *want[] = {p->node, p->term};
			for (int g = 0; g < 2; g++) {
				PCRE2_UCHAR buf[128];
				PCRE2_SIZE len = sizeof buf;
				int gr = pcre2_substring_copy_byname(md, (PCRE2_SPTR)names[g], buf, &len);
				const char *gotv = gr == 0 ? (const char *)buf : "";
				if (strcmp(gotv, want[g]))
					fail_msg("line %zu: %s '%s', want '%s'", i, names[g], gotv, want[g]);
			}
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
}

/* ---- real clusters through the local backend --------------------------------------------- */

static char base[64];

static int rm_fn(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
	return system(cmd);
}

static int setup_base(void **state)
{
	snprintf(base, sizeof base, "/tmp/sb-dbkinds.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown_base(void **state)
{
	rm_fn(base);
	return 0;
}

/* Processes whose working directory is under base (the nodes' daemons). */
static int procs_under_base(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	char real[PATH_MAX];
	if (!d || !realpath(base, real))
		return d ? (closedir(d), 0) : 0;
	while ((e = readdir(d))) {
		char link[300], target[PATH_MAX];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(link, sizeof link, "/proc/%s/cwd", e->d_name);
		ssize_t l = readlink(link, target, sizeof target - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		if (!strncmp(target, real, strlen(real)))
			n++;
	}
	closedir(d);
	return n;
}

static struct db *open_cluster(const char *kind, int run_tag)
{
	struct control_host h[3];
	for (size_t i = 0; i < 3; i++) {
		control_host_defaults(&h[i]);
		snprintf(h[i].name, sizeof h[i].name, "n%zu", i + 1);
		snprintf(h[i].address, sizeof h[i].address, "-");
		h[i].backend = CONTROL_BACKEND_LOCAL;
	}
	/* Ports from the pid, away from the defaults other tests use. */
	int port = 21000 + (int)(getpid() % 400) * 20 + run_tag * 10;
	struct db_opts o = {.kind = kind, .base_dir = base, .run_id = kind, .client_port = port,
			    .peer_port = port + 5, .ready_timeout_ms = 30000,
			    .cluster_token = "dbkinds-test"};
	struct db *db = NULL;
	char err[512];
	if (db_open(&db, h, 3, &o, err, sizeof err))
		fail_msg("db_open: %s", err);
	return db;
}

static void must(int rc, const char *what, const char *err)
{
	if (rc)
		fail_msg("%s: %s", what, err);
}

/* The leader, within timeout_ms; its index. */
static size_t leader_of(struct db *db, int timeout_ms)
{
	struct db_leader l;
	char err[512];
	must(db_leader(db, timeout_ms, &l, err, sizeof err), "leader", err);
	if (l.source != DB_LEADER_INFO)
		fail_msg("no leader agreed on (source %d)", (int)l.source);
	return l.index;
}

/* Wait until a node other than `old` is the agreed leader. */
static size_t new_leader(struct db *db, size_t old, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * CLOCK_NS_PER_MS;
	struct db_status st[3];
	struct db_leader l;
	while (clock_mono_ns() < deadline) {
		db_info_all(db, st);
		if (db_leader_decide(db, st, db->n, &l) && l.index != old)
			return l.index;
		clock_sleep_ns(100 * CLOCK_NS_PER_MS, NULL);
	}
	fail_msg("no new leader after %d ms", timeout_ms);
	return 0;
}

static void lifecycle(const char *kind, const char *bin, const char *log, int tag)
{
	if (access(bin, X_OK)) {
		print_message("%s missing: skipped (make deps installs it)\n", bin);
		skip();
	}
	struct db *db = open_cluster(kind, tag);
	char err[2048];
	struct db_status st[3];
	must(db_each(db, DB_OP_WIPE, NULL, NULL, err, sizeof err), "wipe", err);
	must(db_each(db, DB_OP_INSTALL, NULL, NULL, err, sizeof err), "install", err);
	must(db_each(db, DB_OP_START, NULL, NULL, err, sizeof err), "start", err);
	size_t l = leader_of(db, 30000);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	for (size_t i = 0; i < 3; i++) {
		assert_true(st[i].running);
		assert_false(st[i].paused);
		assert_true(st[i].up);
	}
	assert_string_equal(st[l].role, "leader");
	/* Start again: running nodes are left alone (same pids). */
	long pids[3] = {st[0].pid, st[1].pid, st[2].pid};
	must(db_each(db, DB_OP_START, NULL, NULL, err, sizeof err), "start again", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(st[i].pid, pids[i]);

	/* Kill the leader: not running; the others elect (fail over to) another. */
	must(db_do(db, DB_OP_KILL, l, err, sizeof err), "kill", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	assert_false(st[l].running);
	size_t l2 = new_leader(db, l, 30000);
	must(db_do(db, DB_OP_START, l, err, sizeof err), "restart", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	assert_true(st[l].running);

	/* Pause and resume a follower. */
	size_t f = (l2 + 1) % 3;
	must(db_do(db, DB_OP_PAUSE, f, err, sizeof err), "pause", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	assert_true(st[f].running && st[f].paused);
	must(db_do(db, DB_OP_RESUME, f, err, sizeof err), "resume", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	assert_false(st[f].paused);

	/* Logs: collected, and the kind's leader lines are in them. */
	char store[128];
	snprintf(store, sizeof store, "%s/store-%s", base, kind);
	assert_int_equal(mkdir(store, 0700), 0);
	must(db_collect(db, NULL, store, err, sizeof err), "collect", err);
	char path[256];
	snprintf(path, sizeof path, "%s/n1/%s", store, log);
	struct stat sb;
	if (stat(path, &sb) || sb.st_size == 0)
		fail_msg("%s missing or empty", path);
	snprintf(path, sizeof path, "%s/n1/data-listing.txt", store);
	assert_int_equal(stat(path, &sb), 0);

	must(db_each(db, DB_OP_STOP, NULL, NULL, err, sizeof err), "stop", err);
	must(db_status_all(db, st, err, sizeof err), "status", err);
	for (size_t i = 0; i < 3; i++)
		assert_false(st[i].running);
	must(db_each(db, DB_OP_START, NULL, NULL, err, sizeof err), "start after stop", err);
	must(db_each(db, DB_OP_WIPE, NULL, NULL, err, sizeof err), "wipe", err);
	assert_int_equal(procs_under_base(), 0);
	snprintf(path, sizeof path, "%s/%s", base, kind);
	assert_int_equal(stat(path, &sb), -1);
	db_close(db);
}

static void test_etcd_lifecycle(void **state)
{
	lifecycle("etcd", "/usr/bin/etcd", "etcd.log", 0);
}

static void test_redis_lifecycle(void **state)
{
	lifecycle("redis-sentinel", "/usr/bin/redis-server", "sentinel.log", 1);
}

/* A kind that runs the host's binary refuses the clock fault with a reason, before
 * touching anything. */
static void test_faketime_refused(void **state)
{
	const char *kinds[] = {"etcd", "redis-sentinel"};
	for (size_t k = 0; k < 2; k++) {
		struct db *db = open_cluster(kinds[k], 0);
		db->faketime = true;
		char err[512] = "";
		assert_int_equal(db->ops->start(db, 0, err, sizeof err), SB_EINVAL);
		assert_non_null(strstr(err, "clock"));
		db_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_leader_patterns),
		cmocka_unit_test(test_faketime_refused),
		cmocka_unit_test(test_etcd_lifecycle),
		cmocka_unit_test(test_redis_lifecycle),
	};
	return cmocka_run_group_tests(tests, setup_base, teardown_base);
}
