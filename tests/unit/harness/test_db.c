/* Tests for harness/db and db_raftnode over the control layer's LOCAL backend.
 *
 * The "raftnode" deployed here is this test binary itself: started with --id it becomes a
 * tiny fake node (fake_node_main) that answers PING and INFO on its --client port, writes a
 * became-leader line to its --log when it is the designated leader, and records the argv it
 * received (NUL-separated) in ./argv.bin, so the test can check that hostile values arrive
 * byte for byte and that nothing in them was executed by a shell.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/control/control.h"
#include "harness/db/db.h"
#include "harness/client/resp.h"
#include "lib/err.h"

/* ---- the fake node ----------------------------------------------------------------------- */

static const char *arg_after(int argc, char **argv, const char *flag)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], flag))
			return argv[i + 1];
	return NULL;
}

static int fake_node_main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	FILE *a = fopen("argv.bin", "wb");
	if (a) {
		for (int i = 0; i < argc; i++)
			fwrite(argv[i], 1, strlen(argv[i]) + 1, a);
		fclose(a);
	}
	const char *id = arg_after(argc, argv, "--id");
	const char *client = arg_after(argc, argv, "--client");
	const char *logp = arg_after(argc, argv, "--log");
	const char *leader = arg_after(argc, argv, "--fake-leader");
	const char *term_s = arg_after(argc, argv, "--fake-term");
	if (!id || !client || !logp)
		return 2;
	const char *term = term_s ? term_s : "1";
	bool is_leader = leader && !strcmp(leader, id);
	FILE *lf = fopen(logp, "a");
	if (lf) {
		fprintf(lf, "2026-11-24T00:00:00.000000Z INFO node=%s term=0 event=start\n", id);
		if (is_leader)
			fprintf(lf, "2026-11-24T00:00:00.100000Z INFO node=%s term=%s "
				    "event=became-leader\n", id, term);
		fclose(lf);
	}
	printf("fake node %s up\n", id);
	fflush(stdout);
	char host[64];
	int port = 0;
	if (resp_split_addr(client, host, sizeof host, &port, NULL, 0))
		return 2;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "fake node %s: bind %s: %s\n", id, client, strerror(errno));
		return 3;
	}
	char info[512];
	snprintf(info, sizeof info,
		 "# Raft\r\nrole:%s\r\nterm:%s\r\nleader:%s\r\ncommit_index:42\r\n",
		 is_leader ? "leader" : "follower", term, leader ? leader : "?");
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char buf[4096];
		size_t len = 0;
		for (;;) {
			ssize_t r = read(fd, buf + len, sizeof buf - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			size_t used = 0;
			struct resp_value *v = NULL;
			while (len && resp_parse(buf, len, &used, &v, NULL, 0) == 0) {
				char out[700];
				int n;
				if (v->type == RESP_ARRAY && v->nelems && !strcmp(v->elems[0].str, "PING"))
					n = snprintf(out, sizeof out, "+PONG\r\n");
				else if (v->type == RESP_ARRAY && v->nelems &&
					 !strcmp(v->elems[0].str, "INFO"))
					n = snprintf(out, sizeof out, "$%zu\r\n%s\r\n", strlen(info), info);
				else if (v->type == RESP_ARRAY && v->nelems &&
					 !strcmp(v->elems[0].str, "TIME")) /* its wall clock, seconds */
					n = snprintf(out, sizeof out, ":%lld\r\n", (long long)time(NULL));
				else
					n = snprintf(out, sizeof out, "-ERR unknown\r\n");
				resp_value_free(v);
				v = NULL;
				if (write(fd, out, (size_t)n) < 0)
					break;
				memmove(buf, buf + used, len - used);
				len -= used;
			}
			if (len == sizeof buf)
				break;
		}
		close(fd);
	}
}

/* ---- helpers ----------------------------------------------------------------------------- */

static char tmpdir[64];
static char self_exe[1024];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_db.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Kill whatever fake nodes a failed test left running: processes whose executable lies in
 * this test's own temporary directory (and nothing else). */
static void kill_leftovers(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	size_t tl = strlen(tmpdir);
	while ((e = readdir(d))) {
		char *end = NULL;
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || *end)
			continue;
		char link[64], exe[1024];
		snprintf(link, sizeof link, "/proc/%ld/exe", pid);
		ssize_t n = readlink(link, exe, sizeof exe - 1);
		if (n <= 0)
			continue;
		exe[n] = '\0';
		if (!strncmp(exe, tmpdir, tl) && exe[tl] == '/')
			kill((pid_t)pid, SIGKILL);
	}
	closedir(d);
}

static int teardown(void **state)
{
	kill_leftovers();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* Two runs of n free consecutive ports (client and peer bases). */
static void pick_ports(size_t n, int *client, int *peer)
{
	srand((unsigned)(time(NULL) ^ getpid()));
	for (int tries = 0; tries < 1000; tries++) {
		int base = 20000 + (rand() % 20000) * 2;
		bool ok = true;
		for (size_t i = 0; i < 2 * n && ok; i++)
			ok = port_free(base + (int)i);
		if (ok) {
			*client = base;
			*peer = base + (int)n;
			return;
		}
	}
	fail_msg("no free ports");
}

static void local_hosts(struct control_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		control_host_defaults(&h[i]);
		snprintf(h[i].name, sizeof h[i].name, "n%zu", i + 1);
		snprintf(h[i].address, sizeof h[i].address, "-");
		h[i].backend = CONTROL_BACKEND_LOCAL;
	}
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* Any file named PWNED* under dir (recursively)? */
static bool pwned_under(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "find '%s' -name 'PWNED*' | grep -q .", dir);
	return system(cmd) == 0;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* A control backend that records every command it runs, then runs it locally. */
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static char *recorded[1024];
static size_t nrecorded;
static struct control_ops rec_ops;

static int rec_exec(struct control *c, const char *cmd, const struct control_exec_opts *o,
		    struct control_result *res, char *err, size_t errlen)
{
	pthread_mutex_lock(&rec_mu);
	if (nrecorded < sizeof recorded / sizeof recorded[0])
		recorded[nrecorded++] = strdup(cmd);
	pthread_mutex_unlock(&rec_mu);
	return control_local_ops.exec(c, cmd, o, res, err, errlen);
}

static void record_commands(struct db *db)
{
	rec_ops = control_local_ops;
	rec_ops.exec = rec_exec;
	for (size_t i = 0; i < db->n; i++)
		db_control(db, i)->ops = &rec_ops;
}

/* Is every occurrence of needle in cmd inside single quotes (where sh expands nothing)? */
static bool only_single_quoted(const char *cmd, const char *needle)
{
	size_t nl = strlen(needle);
	bool in_single = false, in_double = false;
	for (size_t i = 0; cmd[i]; i++) {
		if (!strncmp(cmd + i, needle, nl) && !in_single)
			return false;
		char ch = cmd[i];
		if (in_single) {
			if (ch == '\'')
				in_single = false;
		} else if (ch == '\\' && cmd[i + 1]) {
			i++;
		} else if (ch == '"') {
			in_double = !in_double;
		} else if (ch == '\'' && !in_double) {
			in_single = true;
		}
	}
	return true;
}

static void check_recorded(const char *const *needles)
{
	size_t hits = 0;
	for (size_t r = 0; r < nrecorded; r++) {
		for (size_t k = 0; needles[k]; k++) {
			if (strstr(recorded[r], needles[k]))
				hits++;
			if (!only_single_quoted(recorded[r], needles[k]))
				fail_msg("'%s' outside single quotes in:\n%s", needles[k], recorded[r]);
		}
		free(recorded[r]);
	}
	nrecorded = 0;
	/* The hostile values did reach the commands (so the check above looked at them). */
	assert_true(hits > 10);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_open_checks(void **state)
{
	struct control_host h[3];
	local_hosts(h, 3);
	struct db *db = NULL;
	char err[512] = "";
	struct db_opts o = {.base_dir = "relative/dir"};
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "absolute path"));
	const char *bad_bases[] = {"/", "/a/../b", "/a/.", "/a//b", "/a/", "/a\nb", NULL};
	for (size_t i = 0; bad_bases[i]; i++) {
		o.base_dir = bad_bases[i];
		err[0] = '\0';
		if (db_open(&db, h, 3, &o, err, sizeof err) != SB_EINVAL)
			fail_msg("base dir '%s' accepted", bad_bases[i]);
		assert_non_null(strstr(err, "base directory"));
	}
	o.base_dir = "/tmp/x";
	o.run_id = "../etc";
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "run id '../etc'"));
	o.run_id = NULL;
	o.kind = "zookeeper";
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "db kind 'zookeeper' unknown (known: raftnode, etcd, "
				    "redis-sentinel)"));
	o.kind = NULL;
	snprintf(h[1].name, sizeof h[1].name, "n1");
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "node 'n1' appears twice"));
	snprintf(h[1].name, sizeof h[1].name, "$(reboot)");
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "node '$(reboot)'"));
	assert_int_equal(db_open(&db, h, 0, &o, err, sizeof err), SB_EINVAL);
	assert_null(db);
}

static void test_open_layout(void **state)
{
	struct control_host h[3];
	local_hosts(h, 3);
	struct db *db = NULL;
	char err[512] = "";
	struct db_opts o = {.base_dir = "/srv/sb", .run_id = "lab-x", .client_port = 9001,
			    .peer_port = 9100};
	assert_int_equal(db_open(&db, h, 3, &o, err, sizeof err), 0);
	/* All three share 127.0.0.1: ports are spread by index. */
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(db->nodes[i].listen_host, "127.0.0.1");
		assert_int_equal(db->nodes[i].client_port, 9001 + (int)i);
		assert_int_equal(db->nodes[i].peer_port, 9100 + (int)i);
	}
	assert_string_equal(db->nodes[2].dir, "/srv/sb/lab-x/n3");
	char addr[64];
	db_client_addr(db, 1, addr, sizeof addr);
	assert_string_equal(addr, "127.0.0.1:9002");
	assert_int_equal(db_find(db, "n3"), 2);
	assert_int_equal(db_find(db, "n9"), -1);
	db_close(db);

	/* Distinct addresses (SSH hosts): the same ports everywhere. */
	for (size_t i = 0; i < 3; i++) {
		h[i].backend = CONTROL_BACKEND_SSH;
		snprintf(h[i].address, sizeof h[i].address, "10.9.0.%zu", i + 1);
	}
	assert_int_equal(db_open(&db, h, 3, NULL, err, sizeof err), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(db->nodes[i].client_port, 7001);
		assert_int_equal(db->nodes[i].peer_port, 7000);
	}
	assert_string_equal(db->nodes[0].dir, "/var/lib/splitbrain/default/n1");
	db_close(db);

	/* Shared address, no ports given: the two ranges do not overlap. */
	local_hosts(h, 3);
	assert_int_equal(db_open(&db, h, 3, NULL, err, sizeof err), 0);
	assert_int_equal(db->nodes[2].client_port, 7003);
	assert_int_equal(db->nodes[0].peer_port, 7101);
	assert_int_equal(db->nodes[2].peer_port, 7103);
	db_close(db);

	/* Client and peer ranges that overlap on a shared address are refused. */
	local_hosts(h, 3);
	struct db_opts o2 = {.base_dir = "/srv/sb", .client_port = 9001, .peer_port = 9002};
	assert_int_equal(db_open(&db, h, 3, &o2, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "collides"));
}

static void status_of(const char *role, uint64_t term, const char *leader, bool up,
		      struct db_status *st)
{
	memset(st, 0, sizeof *st);
	snprintf(st->role, sizeof st->role, "%s", role);
	st->term = term;
	snprintf(st->leader, sizeof st->leader, "%s", leader);
	st->up = up;
	st->running = up;
}

static void test_leader_decide(void **state)
{
	struct control_host h[5];
	local_hosts(h, 5);
	struct db *db = NULL;
	char err[512] = "";
	struct db_opts o = {.base_dir = "/srv/sb", .client_port = 9001, .peer_port = 9101};
	assert_int_equal(db_open(&db, h, 5, &o, err, sizeof err), 0);
	struct db_status st[5];
	struct db_leader l;
	/* n2 leads term 3 and two followers agree: 3 of 5. */
	status_of("follower", 3, "n2", true, &st[0]);
	status_of("leader", 3, "n2", true, &st[1]);
	status_of("follower", 3, "n2", true, &st[2]);
	status_of("", 0, "", false, &st[3]);
	status_of("", 0, "", false, &st[4]);
	assert_int_equal(db_leader_decide(db, st, 5, &l), 1);
	assert_string_equal(l.node, "n2");
	assert_int_equal(l.index, 1);
	assert_true(l.term == 3);
	assert_int_equal(l.votes, 3);
	assert_int_equal(l.source, DB_LEADER_INFO);
	/* Only 2 of 5: not a majority. */
	status_of("follower", 2, "n2", true, &st[2]);
	assert_int_equal(db_leader_decide(db, st, 5, &l), 0);
	/* An old leader (term 3, isolated) and a new one (term 4, with a majority). */
	status_of("leader", 3, "n2", true, &st[1]);
	status_of("follower", 3, "n2", true, &st[0]);
	status_of("leader", 4, "n4", true, &st[3]);
	status_of("follower", 4, "n4", true, &st[2]);
	status_of("follower", 4, "n4", true, &st[4]);
	assert_int_equal(db_leader_decide(db, st, 5, &l), 1);
	assert_string_equal(l.node, "n4");
	assert_true(l.term == 4);
	/* Followers that name a leader that does not answer: no leader. */
	status_of("", 0, "", false, &st[3]);
	assert_int_equal(db_leader_decide(db, st, 5, &l), 0);
	db_close(db);
}

/* Deploy the fake node to three "hosts" on this machine and drive its whole lifecycle. */
static void test_lifecycle_local(void **state)
{
	struct control_host h[3];
	local_hosts(h, 3);
	int cport = 0, pport = 0;
	pick_ports(3, &cport, &pport);
	/* A base directory full of shell syntax: it must only ever be data. */
	char base[512];
	snprintf(base, sizeof base, "%s/we ird$(touch PWNED1)`touch PWNED2`;'\"x", tmpdir);
	assert_int_equal(mkdir(base, 0755), 0);
	/* Hostile extra arguments, passed through to the node. */
	const char *args[] = {"--fake-leader", "n2", "--fake-term", "7",
			      "--x=$(touch PWNED3)", "'; touch PWNED4; '", "a\nb", "", "*", NULL};
	struct db_opts o = {.binary = self_exe, .base_dir = base, .run_id = "run-1",
			    .client_port = cport, .peer_port = pport, .args = args,
			    .ready_timeout_ms = 5000, .op_timeout_ms = 10000};
	struct db *db = NULL;
	char err[1024] = "";
	int rc = db_open(&db, h, 3, &o, err, sizeof err);
	if (rc)
		fail_msg("db_open: %s", err);
	record_commands(db);

	if ((rc = db_each(db, DB_OP_INSTALL, NULL, NULL, err, sizeof err)))
		fail_msg("install: %s", err);
	char p[2048];
	snprintf(p, sizeof p, "%s/run-1/n1/raftnode", base);
	assert_true(exists(p));
	snprintf(p, sizeof p, "%s/run-1/n1/data", base);
	assert_true(exists(p));
	if ((rc = db_each(db, DB_OP_START, NULL, NULL, err, sizeof err)))
		fail_msg("start: %s", err);

	/* The node got every argument byte for byte. */
	char buf[8192];
	snprintf(p, sizeof p, "%s/run-1/n3/argv.bin", base);
	size_t n = read_file(p, buf, sizeof buf);
	assert_true(n > 0);
	const char *want_tail[] = {"--fake-leader", "n2", "--fake-term", "7", "--x=$(touch PWNED3)",
				   "'; touch PWNED4; '", "a\nb", "", "*"};
	/* Walk to the 12th word (after the 11 fixed ones). */
	size_t off = 0;
	for (int w = 0; w < 11; w++)
		off += strlen(buf + off) + 1;
	for (size_t w = 0; w < 9; w++) {
		assert_true(off < n);
		assert_string_equal(buf + off, want_tail[w]);
		off += strlen(buf + off) + 1;
	}
	assert_int_equal(off, n);
	/* The fixed words: id, peers (every node), client, data, log. */
	assert_string_equal(buf + strlen(buf) + 1, "--id");
	char expect_peers[256];
	snprintf(expect_peers, sizeof expect_peers, "n1=127.0.0.1:%d,n2=127.0.0.1:%d,n3=127.0.0.1:%d",
		 pport, pport + 1, pport + 2);
	assert_non_null(memmem(buf, n, expect_peers, strlen(expect_peers) + 1));
	/* The config file holds the same words. */
	snprintf(p, sizeof p, "%s/run-1/n3/raftnode.args", base);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "set -- './raftnode' '--id' 'n3' '--peers' "));
	assert_non_null(strstr(buf, " '--x=$(touch PWNED3)' "));
	assert_non_null(strstr(buf, " ''\\''; touch PWNED4; '\\''' 'a\nb' '' '*'\n"));

	/* Starting again leaves the running nodes alone. */
	struct db_status st0[3], st[3];
	assert_int_equal(db_status_all(db, st0, err, sizeof err), 0);
	if ((rc = db_each(db, DB_OP_START, NULL, NULL, err, sizeof err)))
		fail_msg("second start: %s", err);
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_true(st[i].running);
		assert_true(st[i].up);
		assert_int_equal(st[i].pid, st0[i].pid);
		assert_true(st[i].term == 7);
		assert_string_equal(st[i].leader, "n2");
		assert_int_equal(st[i].commit_index, 42);
	}
	assert_string_equal(st[1].role, "leader");
	assert_string_equal(st[0].role, "follower");

	struct db_leader l;
	assert_int_equal(db_leader(db, 2000, &l, err, sizeof err), 0);
	assert_int_equal(l.source, DB_LEADER_INFO);
	assert_string_equal(l.node, "n2");
	assert_int_equal(l.votes, 3);

	/* Pause and resume n1. */
	bool sel1[3] = {true, false, false};
	assert_int_equal(db_each(db, DB_OP_PAUSE, sel1, NULL, err, sizeof err), 0);
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_true(st[0].paused);
	assert_false(st[0].up);
	assert_int_equal(db_each(db, DB_OP_RESUME, sel1, NULL, err, sizeof err), 0);
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_false(st[0].paused);
	assert_true(st[0].up);

	/* Kill the leader: its process is gone, and the logs still name it. */
	bool sel2[3] = {false, true, false};
	long old = st[1].pid;
	assert_int_equal(db_each(db, DB_OP_KILL, sel2, NULL, err, sizeof err), 0);
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_false(st[1].running);
	assert_int_equal(st[1].pid, 0);
	snprintf(p, sizeof p, "/proc/%ld/exe", old);
	char exe[64];
	assert_true(readlink(p, exe, sizeof exe) < 0); /* gone or a zombie */
	assert_int_equal(db_leader(db, 300, &l, err, sizeof err), 0);
	assert_int_equal(l.source, DB_LEADER_LOG);
	assert_string_equal(l.node, "n2");
	assert_true(l.term == 7);
	/* Pausing a dead node is an error that names it. */
	assert_int_equal(db_each(db, DB_OP_PAUSE, sel2, NULL, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "node n2: pause"));
	assert_non_null(strstr(err, "not running"));
	/* Killing it again is fine. */
	assert_int_equal(db_each(db, DB_OP_KILL, sel2, NULL, err, sizeof err), 0);

	/* Restart keeps the data directory. */
	snprintf(p, sizeof p, "%s/run-1/n2/data/keep", base);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	if ((rc = db_each(db, DB_OP_RESTART, sel2, NULL, err, sizeof err)))
		fail_msg("restart: %s", err);
	assert_true(exists(p));
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_true(st[1].up);
	assert_true(st[1].pid != old);

	/* Without arguments, a restart reuses the recorded command line. */
	struct db_opts o2 = o;
	o2.args = NULL;
	struct db *db2 = NULL;
	assert_int_equal(db_open(&db2, h, 3, &o2, err, sizeof err), 0);
	if ((rc = db_do(db2, DB_OP_RESTART, 1, err, sizeof err)))
		fail_msg("restart with recorded args: %s", err);
	db_close(db2);
	snprintf(p, sizeof p, "%s/run-1/n2/argv.bin", base);
	n = read_file(p, buf, sizeof buf);
	assert_non_null(memmem(buf, n, "'; touch PWNED4; '\0a\nb\0\0*\0", 26));
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_string_equal(st[1].role, "leader");

	/* Collect into a store directory. */
	char store[512];
	snprintf(store, sizeof store, "%s/store/run", tmpdir);
	if ((rc = db_collect(db, NULL, store, err, sizeof err)))
		fail_msg("collect: %s", err);
	snprintf(p, sizeof p, "%s/n2/raftnode.log", store);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "event=became-leader"));
	snprintf(p, sizeof p, "%s/n2/stdout.log", store);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "fake node n2 up"));
	snprintf(p, sizeof p, "%s/n1/data-listing.txt", store);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	snprintf(p, sizeof p, "%s/n2/data-listing.txt", store);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "keep"));
	snprintf(p, sizeof p, "%s/n3/raftnode.args", store);
	assert_true(exists(p));

	/* Stop everything; then wipe removes the nodes' directories and the run's. */
	assert_int_equal(db_status_all(db, st0, err, sizeof err), 0);
	assert_int_equal(db_each(db, DB_OP_STOP, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_false(st[i].running);
		snprintf(p, sizeof p, "/proc/%ld/exe", st0[i].pid);
		assert_true(readlink(p, exe, sizeof exe) < 0);
	}
	assert_int_equal(db_each(db, DB_OP_WIPE, NULL, NULL, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/run-1", base);
	assert_false(exists(p));
	assert_true(exists(base));
	/* Status of a wiped cluster: nothing runs, no error. */
	assert_int_equal(db_status_all(db, st, err, sizeof err), 0);
	assert_false(st[0].running);

	assert_false(pwned_under(tmpdir));
	assert_false(exists("PWNED1") || exists("PWNED2") || exists("PWNED3") || exists("PWNED4"));
	/* And in the command text itself, every hostile value sits inside single quotes. */
	const char *needles[] = {"$(touch PWNED1)", "`touch PWNED2`", "$(touch PWNED3)",
				 "touch PWNED4", NULL};
	check_recorded(needles);
	db_close(db);
}

/* The fake node's wall clock (its TIME command), in seconds. */
static long long node_time(struct db *db, size_t i)
{
	char addr[128], err[256];
	db_client_addr(db, i, addr, sizeof addr);
	struct resp_client *c = NULL;
	struct resp_value *v = NULL;
	const char *argv[] = {"TIME"};
	if (resp_client_connect_addr(&c, addr, 2000, err, sizeof err) ||
	    resp_client_command(c, 1, argv, NULL, &v, err, sizeof err))
		fail_msg("TIME on %s: %s", addr, err);
	assert_int_equal(v->type, RESP_INTEGER);
	long long t = v->integer;
	resp_value_free(v);
	resp_client_close(c);
	return t;
}

/* db_opts.faketime: the node runs under libfaketime, reading its own faketime.rc (created
 * neutral), so that rewriting that file moves its wall clock while it runs; a restart keeps
 * the file. Without the option nothing is preloaded. */
static void test_faketime_start(void **state)
{
	if (access("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1", F_OK))
		skip(); /* scripts/install-deps.sh installs it */
	struct control_host h[1];
	local_hosts(h, 1);
	char base[256], p[512], buf[8192];
	snprintf(base, sizeof base, "%s/ft", tmpdir);
	assert_int_equal(mkdir(base, 0755), 0);
	int cport = 0, pport = 0;
	pick_ports(1, &cport, &pport);
	struct db_opts o = {.binary = self_exe, .base_dir = base, .run_id = "r",
			    .client_port = cport, .peer_port = pport, .args = (const char *[]){NULL},
			    .ready_timeout_ms = 5000, .faketime = true};
	struct db *db = NULL;
	char err[1024] = "";
	assert_int_equal(db_open(&db, h, 1, &o, err, sizeof err), 0);
	if (db_each(db, DB_OP_INSTALL, NULL, NULL, err, sizeof err) ||
	    db_each(db, DB_OP_START, NULL, NULL, err, sizeof err))
		fail_msg("install/start: %s", err);
	snprintf(p, sizeof p, "%s/r/n1/faketime.rc", base);
	assert_true(read_file(p, buf, sizeof buf) > 0);
	assert_string_equal(buf, "+0 x1\n");
	struct db_status st;
	assert_int_equal(db->ops->status(db, 0, &st, err, sizeof err), 0);
	assert_true(st.running);
	char envp[64], want[600];
	snprintf(envp, sizeof envp, "/proc/%ld/environ", st.pid);
	size_t n = read_file(envp, buf, sizeof buf);
	snprintf(want, sizeof want, "FAKETIME_TIMESTAMP_FILE=%s", p);
	assert_non_null(memmem(buf, n, want, strlen(want) + 1));
	assert_non_null(memmem(buf, n, "FAKETIME_DONT_FAKE_MONOTONIC=1", 31));
	assert_non_null(memmem(buf, n, "LD_PRELOAD=", 11));
	long long real = (long long)time(NULL), t = node_time(db, 0);
	assert_true(t >= real - 5 && t <= real + 5);
	/* An hour ahead, without a restart. */
	FILE *f = fopen(p, "w");
	fputs("+3600 x1\n", f);
	fclose(f);
	t = node_time(db, 0);
	real = (long long)time(NULL);
	assert_true(t >= real + 3600 - 5 && t <= real + 3600 + 5);
	/* A restart keeps the setting (the host's clock would still be off). */
	assert_int_equal(db_do(db, DB_OP_RESTART, 0, err, sizeof err), 0);
	t = node_time(db, 0);
	real = (long long)time(NULL);
	assert_true(t >= real + 3600 - 5 && t <= real + 3600 + 5);
	db_close(db);
	/* Without the option, the same node starts without the preload. */
	o.faketime = false;
	assert_int_equal(db_open(&db, h, 1, &o, err, sizeof err), 0);
	assert_int_equal(db_do(db, DB_OP_RESTART, 0, err, sizeof err), 0);
	assert_int_equal(db->ops->status(db, 0, &st, err, sizeof err), 0);
	snprintf(envp, sizeof envp, "/proc/%ld/environ", st.pid);
	n = read_file(envp, buf, sizeof buf);
	assert_null(memmem(buf, n, "FAKETIME", 8));
	t = node_time(db, 0);
	real = (long long)time(NULL);
	assert_true(t >= real - 5 && t <= real + 5);
	assert_int_equal(db_each(db, DB_OP_WIPE, NULL, NULL, err, sizeof err), 0);
	db_close(db);
}

/* Start failures are reported with the node's name and its output. */
static void test_start_errors(void **state)
{
	struct control_host h[1];
	local_hosts(h, 1);
	char base[256];
	snprintf(base, sizeof base, "%s/errs", tmpdir);
	assert_int_equal(mkdir(base, 0755), 0);
	int cport = 0, pport = 0;
	pick_ports(1, &cport, &pport);
	struct db_opts o = {.binary = "/nonexistent/raftnode", .base_dir = base,
			    .client_port = cport, .peer_port = pport, .ready_timeout_ms = 300};
	struct db *db = NULL;
	char err[1024] = "";
	assert_int_equal(db_open(&db, h, 1, &o, err, sizeof err), 0);
	/* Not installed. */
	assert_int_equal(db_do(db, DB_OP_START, 0, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "node n1: start"));
	assert_non_null(strstr(err, "not installed"));
	/* The binary to upload does not exist. */
	assert_true(db_do(db, DB_OP_INSTALL, 0, err, sizeof err) < 0);
	assert_non_null(strstr(err, "node n1: install"));
	assert_non_null(strstr(err, "/nonexistent/raftnode"));
	db_close(db);

	/* A binary that exits at once (the fake node without --id parses nothing: /bin/false). */
	o.binary = "/bin/false";
	assert_int_equal(db_open(&db, h, 1, &o, err, sizeof err), 0);
	assert_int_equal(db_do(db, DB_OP_INSTALL, 0, err, sizeof err), 0);
	/* Seen either by the start command itself or, if it exec'd before dying, by the wait
	 * for readiness. */
	assert_int_equal(db_do(db, DB_OP_START, 0, err, sizeof err), SB_EIO);
	if (!strstr(err, "exited at once") && !strstr(err, "exited after start"))
		fail_msg("unexpected message: %s", err);
	/* Nothing answers: waiting for readiness times out with the reason. */
	assert_int_equal(db_wait_ready(db, 0, 200, err, sizeof err), SB_ETIMEOUT);
	assert_non_null(strstr(err, "node n1: not ready after 200 ms"));
	assert_non_null(strstr(err, "refused"));
	struct db_leader l;
	assert_int_equal(db_leader(db, 100, &l, err, sizeof err), 0);
	assert_int_equal(l.source, DB_LEADER_NONE);
	assert_int_equal(db_do(db, DB_OP_WIPE, 0, err, sizeof err), 0);
	db_close(db);
}

/* A killed install leaves its upload's temporary file (".sbup.<pid>.<n>") in the node's
 * directory; the next install removes such files of that node, and nothing else. */
static void test_install_removes_stale_uploads(void **state)
{
	struct control_host h[2];
	local_hosts(h, 2);
	char base[256], p[512];
	snprintf(base, sizeof base, "%s/stale", tmpdir);
	assert_int_equal(mkdir(base, 0755), 0);
	struct db_opts o = {.binary = self_exe, .base_dir = base, .run_id = "r"};
	struct db *db = NULL;
	char err[1024] = "";
	if (db_open(&db, h, 2, &o, err, sizeof err))
		fail_msg("db_open: %s", err);
	if (db_each(db, DB_OP_INSTALL, NULL, NULL, err, sizeof err))
		fail_msg("install: %s", err);
	/* What killed uploads leave, and files that merely look alike. */
	const char *stale[] = {".sbup.4242.1", ".sbup.1.99", ".sbup.x"};
	const char *keep[] = {"keep.sbup.1.1", ".sbupx", "data/.sbup.1.1"};
	for (size_t k = 0; k < 3; k++) {
		snprintf(p, sizeof p, "%s/r/n1/%s", base, stale[k]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("half a binary", f);
		fclose(f);
		snprintf(p, sizeof p, "%s/r/n1/%s", base, keep[k]);
		assert_non_null(f = fopen(p, "w"));
		fclose(f);
	}
	snprintf(p, sizeof p, "%s/r/n2/.sbup.4242.2", base);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	/* Installing n1 cleans n1 only. */
	if (db_do(db, DB_OP_INSTALL, 0, err, sizeof err))
		fail_msg("install n1: %s", err);
	for (size_t k = 0; k < 3; k++) {
		snprintf(p, sizeof p, "%s/r/n1/%s", base, stale[k]);
		if (exists(p))
			fail_msg("%s left after install", p);
		snprintf(p, sizeof p, "%s/r/n1/%s", base, keep[k]);
		assert_true(exists(p));
	}
	snprintf(p, sizeof p, "%s/r/n2/.sbup.4242.2", base);
	assert_true(exists(p));
	snprintf(p, sizeof p, "%s/r/n1/raftnode", base);
	assert_true(exists(p));
	db_close(db);
}

int cmd_db(int argc, char **argv);

static int run_cli(const char *const *words)
{
	char *argv[64];
	int argc = 0;
	for (; words[argc]; argc++)
		argv[argc] = (char *)words[argc];
	argv[argc] = NULL;
	fflush(stdout);
	return cmd_db(argc, argv);
}

/* The command line: bad arguments exit 254 with a message; a local-backend cluster goes
 * through deploy, status, leader, logs and wipe. */
static void test_cli(void **state)
{
	const char *help[] = {"db", "--help", NULL};
	assert_int_equal(run_cli(help), 0);
	const char *none[] = {"db", NULL};
	assert_int_equal(run_cli(none), 254);
	const char *bad_action[] = {"db", "explode", "--nodes", "x", NULL};
	assert_int_equal(run_cli(bad_action), 254);
	const char *bad_port[] = {"db", "status", "--client-port", "70000", NULL};
	assert_int_equal(run_cli(bad_port), 254);
	const char *bad_opt[] = {"db", "status", "--frobnicate", NULL};
	assert_int_equal(run_cli(bad_opt), 254);
	const char *no_val[] = {"db", "status", "--node", NULL};
	assert_int_equal(run_cli(no_val), 254);
	const char *bad_pat[] = {"db", "logs", "--pattern", "nameonly", NULL};
	assert_int_equal(run_cli(bad_pat), 254);

	char nodes[256], base[256], store[256], cp[16], pp[16];
	snprintf(nodes, sizeof nodes, "%s/nodes", tmpdir);
	snprintf(base, sizeof base, "%s/cli", tmpdir);
	snprintf(store, sizeof store, "%s/cli-store", tmpdir);
	FILE *f = fopen(nodes, "w");
	assert_non_null(f);
	fprintf(f, "host n1 - backend=local\nhost n2 - backend=local\nhost n3 - backend=local\n");
	fclose(f);
	assert_int_equal(mkdir(base, 0755), 0);
	int cport = 0, pport = 0;
	pick_ports(3, &cport, &pport);
	snprintf(cp, sizeof cp, "%d", cport);
	snprintf(pp, sizeof pp, "%d", pport);
#define COMMON "--nodes", nodes, "--base-dir", base, "--run-id", "cli", "--client-port", cp, \
	       "--peer-port", pp, "--timeout", "3s"
	const char *unknown_node[] = {"db", "kill", COMMON, "--node", "n9", NULL};
	assert_int_equal(run_cli(unknown_node), 254);
	/* An empty node name anywhere in --node is refused, before anything is done: these
	 * used to do nothing and exit 0 ("") or select fewer nodes than written ("n1,"). */
	const char *bad_lists[] = {"", ",", "n1,,n2", "n1,", ",n1", NULL};
	for (size_t k = 0; bad_lists[k]; k++) {
		const char *kill_list[] = {"db", "kill", COMMON, "--node", bad_lists[k], NULL};
		if (run_cli(kill_list) != 254)
			fail_msg("--node '%s' accepted", bad_lists[k]);
	}
	const char *empty_eq[] = {"db", "kill", COMMON, "--node=", NULL};
	assert_int_equal(run_cli(empty_eq), 254);

	/* A host whose key or known_hosts is /dev/zero: bad input (254), not an endless read
	 * (the address refuses connections, which would be 255). */
	char bad_nodes[256];
	snprintf(bad_nodes, sizeof bad_nodes, "%s/bad-nodes", tmpdir);
	const char *bad_files[] = {"known_hosts=/dev/zero", "key=/dev/zero", NULL};
	for (size_t k = 0; bad_files[k]; k++) {
		assert_non_null(f = fopen(bad_nodes, "w"));
		fprintf(f, "host n1 127.0.0.1 port=1 %s\n", bad_files[k]);
		fclose(f);
		const char *st_bad[] = {"db", "status", "--nodes", bad_nodes, NULL};
		if (run_cli(st_bad) != 254)
			fail_msg("nodes file with %s not refused with 254", bad_files[k]);
	}

	/* Installing on a lab's hosts (here: a nodes file next to a lab state) records the run
	 * directory with the lab, for `lab down` to remove. */
	char fakelab[256], labnodes[300], runs[300], buf[512];
	snprintf(fakelab, sizeof fakelab, "%s/fakelab", tmpdir);
	assert_int_equal(mkdir(fakelab, 0700), 0);
	snprintf(labnodes, sizeof labnodes, "%s/state", fakelab);
	assert_non_null(f = fopen(labnodes, "w"));
	fclose(f);
	snprintf(labnodes, sizeof labnodes, "%s/nodes", fakelab);
	assert_non_null(f = fopen(labnodes, "w"));
	fprintf(f, "host n1 - backend=local\nhost n2 - backend=local\n");
	fclose(f);
	const char *lab_install[] = {"db", "install", "--nodes", labnodes, "--base-dir", base,
				     "--run-id", "rec", "--binary", self_exe, "--client-port", cp,
				     "--peer-port", pp, NULL};
	assert_int_equal(run_cli(lab_install), 0);
	assert_int_equal(run_cli(lab_install), 0);
	snprintf(runs, sizeof runs, "%s/runs", fakelab);
	char want_runs[400];
	snprintf(want_runs, sizeof want_runs, "%s/rec\n", base);
	assert_true(read_file(runs, buf, sizeof buf) > 0);
	assert_string_equal(buf, want_runs); /* once, however often installed */
	const char *lab_wipe[] = {"db", "wipe", "--nodes", labnodes, "--base-dir", base,
				  "--run-id", "rec", "--client-port", cp, "--peer-port", pp, NULL};
	assert_int_equal(run_cli(lab_wipe), 0);
	const char *deploy[] = {"db", "deploy", COMMON, "--binary", self_exe, "--",
				"--fake-leader", "n3", "--fake-term", "9", NULL};
	assert_int_equal(run_cli(deploy), 0);
	const char *status[] = {"db", "status", COMMON, NULL};
	assert_int_equal(run_cli(status), 0);
	const char *leader[] = {"db", "leader", COMMON, NULL};
	assert_int_equal(run_cli(leader), 0);
	/* Kill the leader by role; the logs still name it. */
	const char *kill_leader[] = {"db", "kill", COMMON, "--node", "leader", NULL};
	assert_int_equal(run_cli(kill_leader), 0);
	char p[512];
	snprintf(p, sizeof p, "%s/cli/n3/pid", base);
	assert_false(exists(p));
	const char *logs[] = {"db", "logs", COMMON, "--store", store, "--pattern",
			      "started=event=start", NULL};
	assert_int_equal(run_cli(logs), 0);
	snprintf(p, sizeof p, "%s/latest/n3/raftnode.log", store);
	assert_true(exists(p));
	/* Pause a node that is not running: the host's failure exits 255. */
	const char *pause[] = {"db", "pause", COMMON, "--node", "n3", NULL};
	assert_int_equal(run_cli(pause), 255);
	const char *wipe[] = {"db", "wipe", COMMON, NULL};
	assert_int_equal(run_cli(wipe), 0);
	snprintf(p, sizeof p, "%s/cli", base);
	assert_false(exists(p));
	/* Nothing runs any more: no leader, exit 2. */
	const char *leader2[] = {"db", "leader", COMMON, "--timeout", "200ms", NULL};
	assert_int_equal(run_cli(leader2), 2);
#undef COMMON
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--id"))
		return fake_node_main(argc, argv);
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_checks),
		cmocka_unit_test(test_open_layout),
		cmocka_unit_test(test_leader_decide),
		cmocka_unit_test(test_lifecycle_local),
		cmocka_unit_test(test_faketime_start),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_install_removes_stale_uploads),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
