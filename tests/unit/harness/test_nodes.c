/* nodes: parsing the nodes file, its errors (FILE:LINE:COL), writing and resolving "lab". */
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

#include "harness/lab/lab.h"
#include "harness/control/nodes.h"
#include "lib/err.h"

static int parse(const char *text, struct nodes *n, char *err, size_t errlen)
{
	return nodes_parse(text, strlen(text), "t.nodes", "/base", n, err, errlen);
}

static void test_full_file(void **state)
{
	const char *text =
		"# a comment\n"
		"\n"
		"defaults user=alice port=2222 key=keys/id known_hosts=/etc/kh host_key=accept-new\n"
		"host n1 10.0.0.1\n"
		"host n2 10.0.0.2 port=22 user=bob   # trailing comment\n"
		"  host\tn3 node3.example key=agent host_key=off connect_timeout=1500\r\n"
		"defaults user=carol dc=east\n"
		"host n_4 fe80::1 backend=ssh\n"
		"host me - backend=local dc=dc-2.b_c";
	struct nodes n;
	char err[256] = "";
	assert_int_equal(parse(text, &n, err, sizeof err), 0);
	assert_int_equal(n.n, 5);
	assert_string_equal(n.hosts[0].name, "n1");
	assert_string_equal(n.hosts[0].address, "10.0.0.1");
	assert_int_equal(n.hosts[0].port, 2222);
	assert_string_equal(n.hosts[0].user, "alice");
	assert_string_equal(n.hosts[0].key_file, "/base/keys/id");
	assert_string_equal(n.hosts[0].known_hosts, "/etc/kh");
	assert_int_equal(n.hosts[0].hostkey_policy, CONTROL_HOSTKEY_ACCEPT_NEW);
	assert_int_equal(n.hosts[0].connect_timeout_ms, 5000);
	assert_int_equal(n.hosts[0].backend, CONTROL_BACKEND_SSH);
	assert_int_equal(n.hosts[1].port, 22);
	assert_string_equal(n.hosts[1].user, "bob");
	assert_string_equal(n.hosts[2].key_file, ""); /* agent */
	assert_int_equal(n.hosts[2].hostkey_policy, CONTROL_HOSTKEY_OFF);
	assert_int_equal(n.hosts[2].connect_timeout_ms, 1500);
	assert_string_equal(n.hosts[3].user, "carol"); /* later defaults apply to later hosts */
	assert_string_equal(n.hosts[3].address, "fe80::1");
	assert_int_equal(n.hosts[4].backend, CONTROL_BACKEND_LOCAL);
	assert_string_equal(n.hosts[4].address, "");
	/* Datacenter labels: none unless given, from defaults, and per host. */
	assert_string_equal(n.hosts[0].dc, "");
	assert_string_equal(n.hosts[3].dc, "east");
	assert_string_equal(n.hosts[4].dc, "dc-2.b_c");
	assert_non_null(nodes_find(&n, "n3"));
	assert_null(nodes_find(&n, "n9"));
	nodes_free(&n);
	nodes_free(&n); /* twice is fine */
}

struct bad {
	const char *text;
	const char *want; /* expected start of the message */
};

static void test_errors_name_file_line_col(void **state)
{
	const struct bad cases[] = {
		{"host n1\n", "t.nodes:1:8: expected: host NAME ADDRESS"},
		{"host\n", "t.nodes:1:5: expected: host NAME ADDRESS"},
		{"\n\nhost n1 10.0.0.1 prot=22\n", "t.nodes:3:18: unknown key 'prot'"},
		{"host n1 10.0.0.1 port=0\n", "t.nodes:1:23: port '0' is not a number"},
		{"host n1 10.0.0.1 port=65536\n", "t.nodes:1:23: port '65536'"},
		{"host n1 10.0.0.1 port=22x\n", "t.nodes:1:23: port '22x'"},
		{"host n1 10.0.0.1 host_key=maybe\n", "t.nodes:1:27: host_key 'maybe' is not one of"},
		{"host n1 10.0.0.1 backend=telnet\n", "t.nodes:1:26: backend 'telnet'"},
		{"host n1 10.0.0.1 connect_timeout=5\n", "t.nodes:1:34: connect_timeout '5'"},
		{"host n1 10.0.0.1\nhost n1 10.0.0.2\n", "t.nodes:2:6: duplicate host name 'n1'"},
		{"host n;1 10.0.0.1\n", "t.nodes:1:6: bad host name 'n;1'"},
		{"host n1 10.0.0.1;reboot\n", "t.nodes:1:9: bad address '10.0.0.1;reboot'"},
		{"host n1 $(x)\n", "t.nodes:1:9: bad address"},
		{"host n1 -\n", "t.nodes:1:9: bad address '-'"},
		{"node n1 10.0.0.1\n", "t.nodes:1:1: unknown directive 'node'"},
		{"defaults\n", "t.nodes:1:1: 'defaults' needs KEY=VALUE"},
		{"defaults user\n", "t.nodes:1:10: expected KEY=VALUE, got 'user'"},
		{"defaults user=\n", "t.nodes:1:15: empty value for 'user'"},
		{"defaults =x\n", "t.nodes:1:10: expected KEY=VALUE"},
		{"host n1 10.0.0.1 user=a'b\n", "t.nodes:1:23: value of 'user' may not contain"},
		{"host n1 10.0.0.1 user=a;b\n", "t.nodes:1:23: bad user name 'a;b'"},
		{"host n1 10.0.0.1 key=a=b\n", "t.nodes:1:22: value of 'key'"},
		{"host n1 10.0.0.1\x01\n", "t.nodes:1:17: control character"},
		{"host n1 10.0.0.1 dc=a;b\n", "t.nodes:1:21: bad datacenter label 'a;b'"},
		{"host n1 10.0.0.1 dc=$(x)\n", "t.nodes:1:21: bad datacenter label"},
		{"host n1 10.0.0.1 dc=\n", "t.nodes:1:21: empty value for 'dc'"},
		{"# only comments\n\n", "t.nodes: no 'host' lines"},
		{"", "t.nodes: no 'host' lines"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct nodes n;
		char err[256] = "";
		int rc = parse(cases[i].text, &n, err, sizeof err);
		if (rc != SB_EINVAL || strncmp(err, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: rc %d, message [%s], want [%s...]", i, rc, err,
				 cases[i].want);
		assert_null(n.hosts);
		assert_int_equal(n.n, 0);
	}
}

static void test_limits(void **state)
{
	/* A line over 4096 bytes, a NUL byte, 65 hosts. */
	size_t big = 5000;
	char *text = malloc(big + 1);
	memset(text, 'a', big);
	text[big] = '\0';
	struct nodes n;
	char err[256];
	assert_int_equal(nodes_parse(text, big, "t.nodes", NULL, &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "t.nodes:1:4097: line longer than 4096 bytes"));
	free(text);

	const char nul[] = "host n1 10.0.0.1\nhost n2 10.0\0.0.2\n";
	assert_int_equal(nodes_parse(nul, sizeof nul - 1, "t.nodes", NULL, &n, err, sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "t.nodes:2:"));
	assert_non_null(strstr(err, "NUL byte"));

	char *many = malloc(65 * 32 + 1);
	many[0] = '\0';
	for (int i = 0; i < 65; i++)
		sprintf(many + strlen(many), "host h%d 10.0.0.%d\n", i, i + 1);
	assert_int_equal(parse(many, &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "t.nodes:65:1: more than 64 hosts"));
	free(many);
}

/* A UTF-8 byte order mark at the start is skipped (columns count from after it); one
 * anywhere else is still an error. */
static void test_bom(void **state)
{
	struct nodes n;
	char err[256] = "";
	assert_int_equal(parse("\xEF\xBB\xBFhost n1 10.0.0.1\nhost n2 10.0.0.2\n", &n, err,
			       sizeof err),
			 0);
	assert_int_equal(n.n, 2);
	assert_string_equal(n.hosts[0].name, "n1");
	nodes_free(&n);
	assert_int_equal(parse("\xEF\xBB\xBF# comment first\nhost n1 10.0.0.1\n", &n, err,
			       sizeof err),
			 0);
	nodes_free(&n);
	assert_int_equal(parse("\xEF\xBB\xBFhost n1 10.0.0.1 colour=blue\n", &n, err, sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "t.nodes:1:18: unknown key 'colour'"));
	assert_int_equal(parse("host n1 10.0.0.1\n\xEF\xBB\xBFhost n2 10.0.0.2\n", &n, err,
			       sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "t.nodes:2:1: unknown directive"));
	assert_int_equal(parse("\xEF\xBB\xBF", &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "no 'host' lines"));
}

static int load_text(const char *dir, const char *text, struct nodes *n, char *err,
		     size_t errlen)
{
	char path[256];
	snprintf(path, sizeof path, "%s/nodes", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return nodes_load(path, n, err, errlen);
}

/* key=/dev/zero made libssh2 spin forever and known_hosts=/dev/zero grew memory without
 * bound: nodes_load refuses a key or known_hosts that is not a regular file, or is too
 * large, with FILE:LINE:COL, before anything reads it. Files that do not exist yet are fine
 * (accept-new creates known_hosts; a missing key is the connection's error). */
static void test_load_refuses_special_files(void **state)
{
	char dir[] = "/tmp/sb-nodes-special-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct nodes n;
	char err[512], text[512], fifo[128], big[128];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(big, sizeof big, "%s/big", dir);
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)2 << 20), 0); /* over the 1 MiB key cap */
	fclose(f);
	const struct {
		const char *line;
		const char *want;
	} cases[] = {
		{"host n1 10.0.0.1 known_hosts=/dev/zero",
		 ":1:30: known_hosts: /dev/zero: not a regular file"},
		{"host n1 10.0.0.1 key=/dev/zero", ":1:22: key: /dev/zero: not a regular file"},
		{"defaults key=/dev/zero\nhost n1 10.0.0.1", ":1:14: key: /dev/zero"},
		{"host n1 10.0.0.1 key=/tmp", ":1:22: key: /tmp: not a regular file"},
		{"host n1 10.0.0.1 known_hosts=fifo", "fifo: not a regular file"},
		{"host n1 10.0.0.1 key=big", "big: larger than"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "%s\n", cases[i].line);
		int rc = load_text(dir, text, &n, err, sizeof err);
		if (rc != SB_EINVAL || !strstr(err, cases[i].want))
			fail_msg("case %zu: rc %d, message [%s], want [...%s...]", i, rc, err,
				 cases[i].want);
		assert_non_null(strstr(err, dir)); /* the nodes file is named */
	}
	/* Not there yet, or regular: fine. */
	assert_int_equal(load_text(dir,
				   "host n1 10.0.0.1 known_hosts=kh-new key=no-such-key\n"
				   "host n2 10.0.0.2 key=agent known_hosts=nodes\n",
				   &n, err, sizeof err),
			 0);
	nodes_free(&n);
	/* nodes_parse stays pure: it reads no file. */
	assert_int_equal(parse("host n1 10.0.0.1 key=/dev/zero known_hosts=/dev/zero\n", &n, err,
			       sizeof err),
			 0);
	nodes_free(&n);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_write_and_load_roundtrip(void **state)
{
	char dir[] = "/tmp/sb-nodes-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/nodes", dir);
	struct control_host h[2];
	control_host_defaults(&h[0]);
	snprintf(h[0].name, sizeof h[0].name, "n1");
	snprintf(h[0].address, sizeof h[0].address, "10.1.2.3");
	snprintf(h[0].key_file, sizeof h[0].key_file, "/k/id");
	snprintf(h[0].known_hosts, sizeof h[0].known_hosts, "/k/known_hosts");
	h[0].port = 2200;
	h[0].hostkey_policy = CONTROL_HOSTKEY_ACCEPT_NEW;
	snprintf(h[0].dc, sizeof h[0].dc, "west");
	control_host_defaults(&h[1]);
	snprintf(h[1].name, sizeof h[1].name, "local");
	h[1].backend = CONTROL_BACKEND_LOCAL;
	struct nodes out = {.hosts = h, .n = 2};
	assert_int_equal(nodes_write(&out, path, err, sizeof err), 0);
	struct nodes in;
	assert_int_equal(nodes_load(path, &in, err, sizeof err), 0);
	assert_int_equal(in.n, 2);
	assert_string_equal(in.path, path);
	assert_memory_equal(&in.hosts[0], &h[0], sizeof h[0]);
	assert_memory_equal(&in.hosts[1], &h[1], sizeof h[1]);
	nodes_free(&in);

	/* Relative paths resolve against the file's directory. */
	FILE *f = fopen(path, "w");
	fprintf(f, "host a 10.0.0.1 key=id known_hosts=sub/kh\n");
	fclose(f);
	assert_int_equal(nodes_load(path, &in, err, sizeof err), 0);
	char want[300];
	snprintf(want, sizeof want, "%s/id", dir);
	assert_string_equal(in.hosts[0].key_file, want);
	snprintf(want, sizeof want, "%s/sub/kh", dir);
	assert_string_equal(in.hosts[0].known_hosts, want);
	nodes_free(&in);

	/* An error names the file's path. */
	f = fopen(path, "w");
	fprintf(f, "host a 10.0.0.1\nhost b 10.0.0.2 colour=blue\n");
	fclose(f);
	assert_int_equal(nodes_load(path, &in, err, sizeof err), SB_EINVAL);
	snprintf(want, sizeof want, "%s:2:17: unknown key 'colour'", path);
	assert_non_null(strstr(err, want));
	unlink(path);

	assert_int_equal(nodes_load(path, &in, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "No such file"));
	rmdir(dir);
}

static void test_resolve_lab(void **state)
{
	char dir[] = "/tmp/sb-nodes-lab-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("SPLITBRAIN_LAB_DIR", dir, 1);
	struct nodes n;
	char err[512];
	/* No lab up: a hint, not a crash. */
	assert_int_not_equal(nodes_resolve("lab", &n, err, sizeof err), 0);
	assert_non_null(strstr(err, "splitbrain lab up"));
	char path[256];
	snprintf(path, sizeof path, "%s/nodes", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "host n1 10.9.9.11\nhost n2 10.9.9.12\nhost n3 10.9.9.13\n");
	fclose(f);
	assert_int_equal(nodes_resolve("lab", &n, err, sizeof err), 0);
	assert_int_equal(n.n, 3);
	nodes_free(&n);
	/* Any other argument is a file. */
	assert_int_equal(nodes_resolve(path, &n, err, sizeof err), 0);
	nodes_free(&n);
	assert_int_equal(nodes_resolve("", &n, err, sizeof err), SB_EINVAL);
	unlink(path);
	rmdir(dir);
	unsetenv("SPLITBRAIN_LAB_DIR");
}

static void test_lab_dir_and_names(void **state)
{
	char a[1024], b[1024], err[256];
	assert_int_equal(lab_dir_resolve("/x/lab/", a, sizeof a, err, sizeof err), 0);
	assert_string_equal(a, "/x/lab");
	assert_int_equal(lab_dir_resolve("/x/lab/.", b, sizeof b, err, sizeof err), 0);
	assert_string_equal(b, "/x/lab");
	assert_int_equal(lab_dir_resolve("/x/my lab", a, sizeof a, err, sizeof err), SB_EINVAL);
	assert_int_equal(lab_dir_resolve("/x/l'ab", a, sizeof a, err, sizeof err), SB_EINVAL);
	struct lab_names n1, n2;
	lab_names_make("/work/a/lab", &n1);
	lab_names_make("/work/b/lab", &n2);
	assert_string_not_equal(n1.bridge, n2.bridge);
	assert_true(strlen(n1.bridge) <= 15);
	for (int i = 0; i < LAB_MAX_HOSTS; i++) {
		assert_true(strlen(n1.ns[i]) <= 15);
		assert_true(strlen(n1.veth[i]) <= 15);
		assert_true(strlen(n1.peer[i]) <= 15);
		assert_string_not_equal(n1.ns[i], n2.ns[i]);
	}
	/* Subnets: parse, overlap, pick skipping used ones. */
	struct lab_subnet s, used[2];
	assert_int_equal(lab_subnet_parse("10.77.3.0/24", &s, err, sizeof err), 0);
	char buf[40];
	lab_subnet_format(s, buf, sizeof buf);
	assert_string_equal(buf, "10.77.3.0/24");
	lab_addr_format(lab_addr(s, 0), buf, sizeof buf);
	assert_string_equal(buf, "10.77.3.1");
	lab_addr_format(lab_addr(s, 9), buf, sizeof buf);
	assert_string_equal(buf, "10.77.3.19");
	assert_int_equal(lab_subnet_parse("10.77.3.1/24", &s, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(lab_subnet_parse("10.77.3.0/28", &s, err, sizeof err), SB_EINVAL);
	assert_int_equal(lab_subnet_parse("10.77.300.0/24", &s, err, sizeof err), SB_EINVAL);
	assert_int_equal(lab_subnet_parse("10.77.3.0", &s, err, sizeof err), SB_EINVAL);
	assert_int_equal(lab_subnet_parse("10.0.0.0/8", &s, err, sizeof err), SB_EINVAL);
	struct lab_subnet first;
	assert_int_equal(lab_subnet_pick(n1.hash, NULL, 0, &first), 0);
	assert_int_equal(first.prefix, 24);
	assert_int_equal(first.net >> 22, (10u << 2) | 1u); /* inside 10.64.0.0/10 */
	used[0] = first;
	used[1] = (struct lab_subnet){.net = 0x0a000000, .prefix = 32}; /* 10.0.0.0/32 */
	struct lab_subnet second;
	assert_int_equal(lab_subnet_pick(n1.hash, used, 2, &second), 0);
	assert_int_not_equal(second.net, first.net);
	assert_false(lab_subnet_overlaps(second, used, 2));
	used[0] = (struct lab_subnet){.net = 0x0a000000, .prefix = 8}; /* all of 10/8 taken */
	assert_int_not_equal(lab_subnet_pick(n1.hash, used, 1, &second), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_errors_name_file_line_col),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_load_refuses_special_files),
		cmocka_unit_test(test_write_and_load_roundtrip),
		cmocka_unit_test(test_resolve_lab),
		cmocka_unit_test(test_lab_dir_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
