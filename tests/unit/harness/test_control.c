/* control: the local backend always; the SSH backend and its error paths against a running
 * lab when SB_TEST_LAB_DIR names one (tests/integration/test_control_errors.sh does that).
 *
 * Hostile values go through exec and upload; the hosts of a lab share this machine's file
 * system, so a canary file in a private temporary directory shows whether anything ran. */
#include <errno.h>
#include <signal.h>
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

#include "harness/control/control.h"
#include "harness/control/nodes.h"
#include "harness/control/shquote.h"
#include "lib/err.h"

static char tmpdir[256], canary[300];
static const char *lab_dir; /* NULL: SSH tests are skipped */
static struct nodes lab;

static const char *hostile[] = {
	"; : > canary",     "$(: > canary)", "`: > canary`", "'; : > canary; '", "\n: > canary\n",
	"a'b\"c\\d",        "",              " spaced out ", "* ?",              "$HOME",
	"-rf",              "x\ty",
};

static void no_canary(void)
{
	struct stat st;
	if (stat(canary, &st) == 0)
		fail_msg("canary %s exists: a hostile value was executed", canary);
}

static void local_host(struct control_host *h, const char *name)
{
	control_host_defaults(h);
	snprintf(h->name, sizeof h->name, "%s", name);
	h->backend = CONTROL_BACKEND_LOCAL;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sb-control-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(canary, sizeof canary, "%s/canary", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = shquote_fmt("rm -rf -- %q", tmpdir);
	if (cmd && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

/* ---- shared checks, run on any control ---- */

static void exec_basics(struct control *c)
{
	struct control_result r;
	char err[512];
	assert_int_equal(control_exec(c, "printf out; printf err >&2; exit 7", NULL, &r, err,
				      sizeof err),
			 0);
	assert_int_equal(r.exit_status, 7);
	assert_string_equal(r.out, "out");
	assert_string_equal(r.err, "err");
	assert_string_equal(r.signal, "");
	control_result_free(&r);

	assert_int_equal(control_exec(c, "kill -TERM $$", NULL, &r, err, sizeof err), 0);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.signal, "TERM");
	control_result_free(&r);

	/* Large output on both streams at once (more than any SSH window). */
	assert_int_equal(control_exec(c,
				      "head -c 1000000 /dev/zero | tr '\\0' a; "
				      "head -c 300000 /dev/zero | tr '\\0' b >&2",
				      NULL, &r, err, sizeof err),
			 0);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.out_len, 1000000);
	assert_int_equal(r.err_len, 300000);
	assert_int_equal(r.out[999999], 'a');
	assert_int_equal(r.err[0], 'b');
	control_result_free(&r);

	/* The output cap. */
	struct control_exec_opts o = {.max_output = 10};
	assert_int_equal(control_exec(c, "echo 0123456789abcdef", &o, &r, err, sizeof err), 0);
	assert_string_equal(r.out, "0123456789\n[truncated]");
	control_result_free(&r);

	/* control_run: non-zero exit is an error that quotes stderr and names the host. */
	char *out = NULL;
	assert_int_equal(control_run(c, "echo fine", 10000, &out, err, sizeof err), 0);
	assert_string_equal(out, "fine\n");
	free(out);
	assert_int_equal(control_run(c, "echo broken >&2; exit 3", 10000, &out, err, sizeof err),
			 SB_EIO);
	assert_null(out);
	char want[128];
	snprintf(want, sizeof want, "host %s (", c->host.name);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "exited 3: broken"));
}

static void exec_timeout(struct control *c)
{
	struct control_result r;
	char err[512];
	struct control_exec_opts o = {.timeout_ms = 300};
	/* A unique sleep so that we can look for it in the (shared) process table. */
	char cmd[128], pat[64];
	snprintf(pat, sizeof pat, "sleep 7.%ld", (long)getpid());
	snprintf(cmd, sizeof cmd, "echo started; %s; echo not reached", pat);
	assert_int_equal(control_exec(c, cmd, &o, &r, err, sizeof err), SB_ETIMEOUT);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_status, -1);
	assert_non_null(strstr(err, "timed out after 300 ms"));
	assert_non_null(strstr(err, c->host.name));
	control_result_free(&r);
	/* The command is stopped on the host too (SSH: within about a second after the limit). */
	char check[160];
	snprintf(check, sizeof check, "pgrep -f '^%s$' >/dev/null", pat);
	int left = 1;
	for (int t = 0; t < 60 && left; t++) {
		left = system(check) == 0;
		if (left)
			usleep(100000);
	}
	if (left)
		fail_msg("'%s' still runs after the time limit", pat);
	/* The control is usable afterwards (SSH: a new session). */
	assert_int_equal(control_exec(c, "echo again", NULL, &r, err, sizeof err), 0);
	assert_string_equal(r.out, "again\n");
	control_result_free(&r);
}

static void hostile_exec(struct control *c)
{
	char err[512];
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		char *cmd = shquote_fmt("cd %q && printf %%s %q", tmpdir, hostile[i]);
		assert_non_null(cmd);
		struct control_result r;
		assert_int_equal(control_exec(c, cmd, NULL, &r, err, sizeof err), 0);
		assert_int_equal(r.exit_status, 0);
		assert_int_equal(r.out_len, strlen(hostile[i]));
		assert_memory_equal(r.out, hostile[i], r.out_len);
		control_result_free(&r);
		free(cmd);
		no_canary();
	}
}

static void hostile_transfer(struct control *c)
{
	char err[512];
	const char *names[] = {"$(: > canary)", "'; : > canary; '", "`: > canary`", "a b;c",
			       "-dash", "new\nline"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char remote[600], back[600];
		snprintf(remote, sizeof remote, "%s/%s", tmpdir, names[i]);
		snprintf(back, sizeof back, "%s/back-%zu", tmpdir, i);
		const char data[] = "payload\0with a NUL\n";
		int urc = control_upload_data(c, data, sizeof data, remote, 0750, err, sizeof err);
		if (urc)
			fail_msg("upload %zu: %s", i, err);
		struct stat st;
		assert_int_equal(stat(remote, &st), 0); /* exactly that name, on this machine */
		assert_int_equal(st.st_size, sizeof data);
		assert_int_equal(st.st_mode & 0777, 0750);
		assert_int_equal(control_download(c, remote, back, err, sizeof err), 0);
		FILE *f = fopen(back, "rb");
		assert_non_null(f);
		char got[64];
		size_t n = fread(got, 1, sizeof got, f);
		fclose(f);
		assert_int_equal(n, sizeof data);
		assert_memory_equal(got, data, n);
		no_canary();
	}
	/* A hostile directory name on the way: only the rename command sees it, quoted. */
	char hdir[500], hfile[600];
	snprintf(hdir, sizeof hdir, "%s/d$(: > canary)'\n`x`", tmpdir);
	assert_int_equal(mkdir(hdir, 0700), 0);
	snprintf(hfile, sizeof hfile, "%s/f;: > canary", hdir);
	assert_int_equal(control_upload_data(c, "ok", 2, hfile, 0600, err, sizeof err), 0);
	struct stat hst;
	assert_int_equal(stat(hfile, &hst), 0);
	assert_int_equal(hst.st_size, 2);
	no_canary();

	/* Upload from a file, replacing a running-binary-like existing file. */
	char src[400], dst[400];
	snprintf(src, sizeof src, "%s/src", tmpdir);
	snprintf(dst, sizeof dst, "%s/dst", tmpdir);
	FILE *f = fopen(src, "w");
	fputs("#!/bin/sh\necho v2\n", f);
	fclose(f);
	f = fopen(dst, "w");
	fputs("old\n", f);
	fclose(f);
	assert_int_equal(control_upload(c, src, dst, 0755, err, sizeof err), 0);
	char *out = NULL, *cmd = shquote_fmt("%q", dst);
	assert_int_equal(control_run(c, cmd, 10000, &out, err, sizeof err), 0);
	assert_string_equal(out, "v2\n");
	free(out);
	free(cmd);
	/* Errors: a missing remote file, a missing remote directory, a missing local file. */
	char missing[400];
	snprintf(missing, sizeof missing, "%s/no/such/dir/file", tmpdir);
	assert_int_not_equal(control_download(c, missing, dst, err, sizeof err), 0);
	assert_non_null(strstr(err, c->host.name));
	assert_int_not_equal(control_upload_data(c, "x", 1, missing, 0644, err, sizeof err), 0);
	assert_non_null(strstr(err, c->host.name));
	assert_int_not_equal(control_upload(c, missing, dst, 0644, err, sizeof err), 0);
	assert_non_null(strstr(err, "open"));
	no_canary();
}

/* ---- local backend ---- */

static void test_local(void **state)
{
	struct control_host h;
	local_host(&h, "me");
	struct control *c;
	char err[512];
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_connect(c, err, sizeof err), 0);
	exec_basics(c);
	exec_timeout(c);
	hostile_exec(c);
	hostile_transfer(c);
	control_close(c);
}

static void test_new_rejects_incomplete_hosts(void **state)
{
	struct control_host h;
	struct control *c = (struct control *)1;
	char err[256];
	control_host_defaults(&h);
	assert_int_equal(control_new(&h, &c, err, sizeof err), SB_EINVAL);
	assert_null(c);
	snprintf(h.name, sizeof h.name, "n1");
	assert_int_equal(control_new(&h, &c, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "host n1: no address"));
	snprintf(h.address, sizeof h.address, "10.0.0.1");
	h.port = 70000;
	assert_int_equal(control_new(&h, &c, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "port 70000"));
	assert_int_equal(control_hostkey_policy_parse("accept-new", &h.hostkey_policy), 0);
	assert_int_equal(control_hostkey_policy_parse("sometimes", &h.hostkey_policy), SB_EINVAL);
	assert_string_equal(control_failure_name(CONTROL_FAIL_AUTH), "auth failed");
	assert_string_equal(control_failure_name(CONTROL_FAIL_REFUSED), "connection refused");
	assert_string_equal(control_failure_name(CONTROL_FAIL_HOSTKEY), "host key mismatch");
}

/* The SSH backend checks the host's key and known_hosts files before it connects: key=
 * /dev/zero used to spin in libssh2 forever and known_hosts=/dev/zero to fill memory. Now
 * either is bad input (SB_EINVAL, exit 254) naming the host, without touching the network
 * (the address below refuses connections, which would be SB_EIO). */
static void test_ssh_refuses_special_local_files(void **state)
{
	struct control_host h;
	struct control *c = NULL;
	char err[512];
	control_host_defaults(&h);
	snprintf(h.name, sizeof h.name, "n1");
	snprintf(h.address, sizeof h.address, "127.0.0.1");
	h.port = 1;
	const struct {
		const char *key, *known_hosts;
		enum control_hostkey_policy policy;
		const char *want;
	} cases[] = {
		{"/dev/zero", "", CONTROL_HOSTKEY_STRICT, "private key: /dev/zero: not a regular"},
		{"", "/dev/zero", CONTROL_HOSTKEY_STRICT, "known_hosts: /dev/zero: not a regular"},
		{"", "/dev/zero", CONTROL_HOSTKEY_ACCEPT_NEW, "known_hosts: /dev/zero"},
		{"/tmp", "", CONTROL_HOSTKEY_OFF, "private key: /tmp: not a regular file"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(h.key_file, sizeof h.key_file, "%s", cases[i].key);
		snprintf(h.known_hosts, sizeof h.known_hosts, "%s", cases[i].known_hosts);
		h.hostkey_policy = cases[i].policy;
		assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
		int rc = control_connect(c, err, sizeof err);
		if (rc != SB_EINVAL || !strstr(err, cases[i].want) ||
		    !strstr(err, "host n1 (127.0.0.1:1)"))
			fail_msg("case %zu: rc %d [%s], want [...%s...]", i, rc, err, cases[i].want);
		assert_int_equal(control_failure(c), CONTROL_FAIL_LOCAL);
		control_close(c);
	}
	/* With host_key=off, known_hosts is not used, so not checked: the connection is tried. */
	snprintf(h.key_file, sizeof h.key_file, "%s", "");
	snprintf(h.known_hosts, sizeof h.known_hosts, "/dev/zero");
	h.hostkey_policy = CONTROL_HOSTKEY_OFF;
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_connect(c, err, sizeof err), SB_EIO);
	assert_int_equal(control_failure(c), CONTROL_FAIL_REFUSED);
	control_close(c);
}

static int each_fail_odd(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	if (i % 2)
		return err_set(err, errlen, SB_EIO, "host %s: synthetic failure %zu", c->host.name, i);
	return 0;
}

static void test_local_pool(void **state)
{
	struct control_host hs[4];
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof name, "l%d", i);
		local_host(&hs[i], name);
	}
	struct control_pool p;
	char err[1024];
	assert_int_equal(control_pool_open(&p, hs, 4, err, sizeof err), 0);
	struct control_result res[4] = {0};
	assert_int_equal(control_pool_exec(&p, "sleep 0.2; echo hi", NULL, res, err, sizeof err), 0);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(res[i].out, "hi\n");
		control_result_free(&res[i]);
	}
	int rcs[4];
	assert_int_equal(control_pool_each(&p, each_fail_odd, NULL, rcs, err, sizeof err), SB_EIO);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(rcs[1], SB_EIO);
	assert_string_equal(err, "2 of 4 hosts failed: host l1: synthetic failure 1; host l3: "
				 "synthetic failure 3");
	control_pool_close(&p);
	control_pool_close(&p);
	assert_int_equal(control_pool_open(&p, hs, 0, err, sizeof err), SB_EINVAL);
}

/* ---- SSH backend against the lab ---- */

static struct control_host lab_host(size_t i)
{
	return lab.hosts[i];
}

static void test_ssh_every_host_in_parallel(void **state)
{
	if (!lab_dir)
		skip();
	struct control_pool p;
	char err[2048];
	assert_int_equal(control_pool_open(&p, lab.hosts, lab.n, err, sizeof err), 0);
	struct control_result *res = calloc(lab.n, sizeof *res);
	assert_int_equal(control_pool_exec(&p, "cat /proc/self/net/dev | grep -c eth0; hostname -I",
					   NULL, res, err, sizeof err),
			 0);
	for (size_t i = 0; i < lab.n; i++) {
		assert_int_equal(res[i].exit_status, 0);
		/* Each command ran inside its own host: its address is the host's. */
		assert_non_null(strstr(res[i].out, lab.hosts[i].address));
		control_result_free(&res[i]);
	}
	free(res);
	control_pool_close(&p);
}

static void test_ssh_exec_and_transfer(void **state)
{
	if (!lab_dir)
		skip();
	struct control_host h = lab_host(0);
	struct control *c;
	char err[512];
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	exec_basics(c);
	hostile_exec(c);
	hostile_transfer(c);
	exec_timeout(c);
	control_close(c);
}

static void test_ssh_reconnect(void **state)
{
	if (!lab_dir)
		skip();
	struct control_host h = lab_host(1);
	struct control *c;
	char err[512];
	struct control_result r;
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_exec(c, "true", NULL, &r, err, sizeof err), 0);
	control_result_free(&r);
	/* The command kills its own sshd session process: the connection drops mid-command.
	 * Not idempotent: not retried, an error naming the host. */
	/* (The command's shell runs under `timeout`, whose parent is the session process.) */
	const char *kill_session = "kill -9 $(awk '{print $4}' /proc/$PPID/stat)";
	char cmd1[200];
	snprintf(cmd1, sizeof cmd1, "%s; sleep 5", kill_session);
	assert_int_equal(control_exec(c, cmd1, NULL, &r, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "host n2"));
	assert_non_null(strstr(err, "not retried"));
	assert_int_equal(control_failure(c), CONTROL_FAIL_PROTOCOL);
	control_result_free(&r);
	/* The next command reconnects by itself. */
	assert_int_equal(control_exec(c, "echo back", NULL, &r, err, sizeof err), 0);
	assert_string_equal(r.out, "back\n");
	control_result_free(&r);
	/* Idempotent: the first run loses the connection, the retry succeeds. */
	char *cmd = shquote_fmt("if [ ! -e %q/once ]; then : > %q/once; %s; sleep 5; fi; "
				"echo retried",
				tmpdir, tmpdir, kill_session);
	struct control_exec_opts o = {.idempotent = true};
	assert_int_equal(control_exec(c, cmd, &o, &r, err, sizeof err), 0);
	assert_string_equal(r.out, "retried\n");
	control_result_free(&r);
	free(cmd);
	control_close(c);
}

static void expect_failure(struct control_host h, enum control_failure want, const char *text)
{
	struct control *c;
	char err[1024];
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	int rc = control_connect(c, err, sizeof err);
	if (rc != SB_EIO || control_failure(c) != want)
		fail_msg("host %s: rc %d failure %s, want %s; message: %s", h.name, rc,
			 control_failure_name(control_failure(c)), control_failure_name(want), err);
	char prefix[128];
	snprintf(prefix, sizeof prefix, "host %s (", h.name);
	assert_non_null(strstr(err, prefix));
	if (!strstr(err, text))
		fail_msg("message [%s] lacks [%s]", err, text);
	assert_int_equal(err_exit_code(rc), 255);
	/* exec on a control that cannot connect fails the same way (and fast). */
	struct control_result r;
	assert_int_equal(control_exec(c, "true", NULL, &r, err, sizeof err), SB_EIO);
	assert_int_equal(control_failure(c), want);
	control_result_free(&r);
	control_close(c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void test_ssh_errors(void **state)
{
	if (!lab_dir)
		skip();
	struct control_host h = lab_host(0);
	char path[600], line[1024], kh[600];

	/* Connection refused: nothing listens on port 2. */
	h.port = 2;
	expect_failure(h, CONTROL_FAIL_REFUSED, "connection refused");

	/* Wrong key: another valid ed25519 key that is not authorized (n2's host key). */
	h = lab_host(0);
	snprintf(h.key_file, sizeof h.key_file, "%s/h2/ssh_host_ed25519_key", lab_dir);
	expect_failure(h, CONTROL_FAIL_AUTH, "auth failed");
	/* A key file that does not exist is a local error, named. */
	snprintf(h.key_file, sizeof h.key_file, "%s/no-such-key", tmpdir);
	expect_failure(h, CONTROL_FAIL_LOCAL, "no-such-key");

	/* Changed host key: known_hosts says n1's address has n2's key. */
	h = lab_host(0);
	snprintf(path, sizeof path, "%s/h2/ssh_host_ed25519_key.pub", lab_dir);
	read_line(path, line, sizeof line);
	char *sp = strchr(line, ' ');
	sp = sp ? strchr(sp + 1, ' ') : NULL;
	if (sp)
		*sp = '\0'; /* drop the comment */
	snprintf(kh, sizeof kh, "%s/kh-changed", tmpdir);
	char text[2400];
	snprintf(text, sizeof text, "%s %s\n", h.address, line);
	write_file(kh, text);
	snprintf(h.known_hosts, sizeof h.known_hosts, "%s", kh);
	h.hostkey_policy = CONTROL_HOSTKEY_STRICT;
	expect_failure(h, CONTROL_FAIL_HOSTKEY, "host key mismatch");
	h.hostkey_policy = CONTROL_HOSTKEY_ACCEPT_NEW; /* accept-new refuses a changed key too */
	expect_failure(h, CONTROL_FAIL_HOSTKEY, "changed host key");

	/* Unknown host: strict refuses; accept-new accepts, records it, and then matches. */
	snprintf(kh, sizeof kh, "%s/kh-empty", tmpdir);
	write_file(kh, "");
	snprintf(h.known_hosts, sizeof h.known_hosts, "%s", kh);
	h.hostkey_policy = CONTROL_HOSTKEY_STRICT;
	expect_failure(h, CONTROL_FAIL_HOSTKEY, "host unknown");
	h.hostkey_policy = CONTROL_HOSTKEY_ACCEPT_NEW;
	struct control *c;
	char err[1024];
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_connect(c, err, sizeof err), 0);
	control_close(c);
	read_line(kh, line, sizeof line);
	assert_true(strncmp(line, h.address, strlen(h.address)) == 0);
	h.hostkey_policy = CONTROL_HOSTKEY_STRICT; /* now known */
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_connect(c, err, sizeof err), 0);
	control_close(c);

	/* Off: connects whatever known_hosts says (with a warning on stderr). */
	snprintf(h.known_hosts, sizeof h.known_hosts, "%s/kh-changed", tmpdir);
	h.hostkey_policy = CONTROL_HOSTKEY_OFF;
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_connect(c, err, sizeof err), 0);
	control_close(c);

	/* Unreachable: an unused address of the lab's subnet (no host answers ARP). */
	h = lab_host(0);
	char *dot = strrchr(h.address, '.');
	assert_non_null(dot);
	snprintf(dot + 1, sizeof h.address - (size_t)(dot + 1 - h.address), "%d", 99);
	h.connect_timeout_ms = 1500;
	struct control *u;
	assert_int_equal(control_new(&h, &u, err, sizeof err), 0);
	assert_int_equal(control_connect(u, err, sizeof err), SB_EIO);
	enum control_failure f = control_failure(u);
	if (f != CONTROL_FAIL_TIMEOUT && f != CONTROL_FAIL_UNREACHABLE)
		fail_msg("unreachable address gave %s: %s", control_failure_name(f), err);
	assert_non_null(strstr(err, "host n1 ("));
	control_close(u);
}

/* A host whose sshd accepts TCP but never speaks (stopped with SIGSTOP): connect must give
 * up at the connect timeout, and an exec on an open session whose peer went silent must
 * give up at its own limit. Nothing may hang. */
static void test_ssh_silent_host_never_hangs(void **state)
{
	if (!lab_dir)
		skip();
	char pidf[600], err[1024];
	snprintf(pidf, sizeof pidf, "%s/h3/sshd.pid", lab_dir);
	FILE *f = fopen(pidf, "r");
	assert_non_null(f);
	long pid = 0;
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	assert_true(pid > 1);

	struct control_host h = lab_host(2);
	h.connect_timeout_ms = 800;
	struct control *open_c, *c;
	assert_int_equal(control_new(&h, &open_c, err, sizeof err), 0);
	assert_int_equal(control_connect(open_c, err, sizeof err), 0);

	assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	int rc = control_connect(c, err, sizeof err);
	enum control_failure fc = control_failure(c);
	/* The open session's own process is separate from the listener: stop it too by
	 * making the command itself stop its session (the peer goes silent mid-command). */
	struct control_result r;
	struct control_exec_opts o = {.timeout_ms = 700};
	char *stop = shquote_fmt("p=$(awk '{print $4}' /proc/$PPID/stat); echo $p > %q/session.pid; "
				 "kill -STOP $p",
				 tmpdir);
	int rc2 = control_exec(open_c, stop, &o, &r, err, sizeof err);
	control_result_free(&r);
	free(stop);
	kill((pid_t)pid, SIGCONT);
	char sessf[400];
	snprintf(sessf, sizeof sessf, "%s/session.pid", tmpdir);
	long spid = 0;
	f = fopen(sessf, "r");
	if (f) {
		if (fscanf(f, "%ld", &spid) == 1 && spid > 1)
			kill((pid_t)spid, SIGCONT);
		fclose(f);
	}
	assert_true(spid > 1);
	assert_int_equal(rc, SB_EIO);
	assert_int_equal(fc, CONTROL_FAIL_TIMEOUT);
	assert_int_equal(rc2, SB_ETIMEOUT);
	control_close(c);
	control_close(open_c);
	/* After SIGCONT the host answers again. */
	h.connect_timeout_ms = 5000;
	assert_int_equal(control_new(&h, &c, err, sizeof err), 0);
	assert_int_equal(control_exec(c, "true", NULL, &r, err, sizeof err), 0);
	control_result_free(&r);
	control_close(c);
}

static void test_ssh_pool_names_failing_hosts(void **state)
{
	if (!lab_dir)
		skip();
	struct control_host *hs = calloc(lab.n, sizeof *hs);
	memcpy(hs, lab.hosts, lab.n * sizeof *hs);
	hs[1].port = 2; /* refused */
	snprintf(hs[2].key_file, sizeof hs[2].key_file, "%s/h1/ssh_host_ed25519_key", lab_dir);
	struct control_pool p;
	char err[2048];
	assert_int_equal(control_pool_open(&p, hs, lab.n, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "2 of "));
	assert_non_null(strstr(err, "host n2 ("));
	assert_non_null(strstr(err, "connection refused"));
	assert_non_null(strstr(err, "host n3 ("));
	assert_non_null(strstr(err, "auth failed"));
	assert_null(strstr(err, "host n1 ("));
	assert_null(p.c);
	free(hs);
}

int main(void)
{
	lab_dir = getenv("SB_TEST_LAB_DIR");
	if (lab_dir && *lab_dir) {
		char path[600], err[512];
		snprintf(path, sizeof path, "%s/nodes", lab_dir);
		if (nodes_load(path, &lab, err, sizeof err) || lab.n < 3) {
			fprintf(stderr, "SB_TEST_LAB_DIR=%s: %s\n", lab_dir, err);
			return 1;
		}
	} else {
		lab_dir = NULL;
		fprintf(stderr, "SB_TEST_LAB_DIR not set: SSH tests skipped (see "
				"tests/integration/test_control_errors.sh)\n");
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_incomplete_hosts),
		cmocka_unit_test(test_ssh_refuses_special_local_files),
		cmocka_unit_test_setup_teardown(test_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_every_host_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_exec_and_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_silent_host_never_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_pool_names_failing_hosts, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	nodes_free(&lab);
	return rc;
}
