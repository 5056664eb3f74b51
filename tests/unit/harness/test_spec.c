/* spec: YAML test specs into a validated struct spec.
 *
 * Data-driven: every tests/fixtures/specs/bad/<case>.yaml starts with a line
 * "# error: <message>", the exact message after "FILE:"; every good/<case>.yaml loads, and
 * load -> spec_write -> load gives the same struct (positions, file names and mix_given
 * aside). Plus the defaults, the overrides, the reference in workloads/README.md. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/spec/spec.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define BAD_DIR "tests/fixtures/specs/bad"
#define GOOD_DIR "tests/fixtures/specs/good"
#define WORKLOADS_DIR "workloads"
#define README "workloads/README.md"
#define REF_BEGIN "<!-- spec-reference:"
#define REF_END "<!-- end of spec-reference -->"

static struct spec a, b; /* large: not on the stack */

static int load_text(struct spec *s, const char *text, char *err, size_t errlen)
{
	return spec_load_mem(s, "t.yaml", "/base", text, strlen(text), err, errlen);
}

/* The sorted .yaml files of dir; caller frees each name and the array. */
static size_t list_yaml(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		assert_non_null(names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	*out = names;
	return n;
}

/* load(path) -> spec_write -> load: the same struct. Returns the written text (caller
 * frees). */
static char *roundtrip(const char *path)
{
	char err[1024] = "", *text = NULL;
	size_t len = 0;
	int rc = spec_load(&a, path, err, sizeof err);
	if (rc)
		print_error("%s: %s\n", path, err);
	assert_int_equal(rc, 0);
	if (!a.seed_given) { /* the runner picks one before writing; so do we */
		a.seed = 12345;
		a.seed_given = true;
	}
	FILE *m = open_memstream(&text, &len);
	assert_non_null(m);
	assert_int_equal(spec_write(&a, m), 0);
	fclose(m);
	rc = spec_load_mem(&b, "written.yaml", "/elsewhere", text, len, err, sizeof err);
	if (rc)
		print_error("%s written back does not load: %s\n%s", path, err, text);
	assert_int_equal(rc, 0);
	spec_normalise(&a);
	spec_normalise(&b);
	if (memcmp(&a, &b, sizeof a))
		print_error("%s: the written spec reads back differently:\n%s", path, text);
	assert_memory_equal(&a, &b, sizeof a);
	return text;
}

static void test_bad_fixtures(void **state)
{
	char **names;
	size_t n = list_yaml(BAD_DIR, &names), failed = 0;
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		char path[512], want[1200], err[1024] = "", *text = NULL;
		size_t len;
		snprintf(path, sizeof path, "%s/%s", BAD_DIR, names[i]);
		assert_int_equal(file_read_all(path, 0, &text, &len, NULL, err, sizeof err), 0);
		const char *tag = "# error: ";
		assert_true(!strncmp(text, tag, strlen(tag)));
		size_t l = strcspn(text + strlen(tag), "\n");
		snprintf(want, sizeof want, "%s:%.*s", path, (int)l, text + strlen(tag));
		int rc = spec_load(&a, path, err, sizeof err);
		if (rc != SB_EINVAL || strcmp(err, want)) {
			print_error("%s:\n  want %s\n  got  %s (rc %d)\n", names[i], want, err, rc);
			failed++;
		}
		free(text);
		free(names[i]);
	}
	free(names);
	assert_int_equal(failed, 0);
}

static void roundtrip_dir(const char *dir, size_t min)
{
	char **names;
	size_t n = list_yaml(dir, &names);
	assert_true(n >= min);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *text = roundtrip(path);
		/* Writing the re-read spec gives the same text: the output is a fixed point. */
		char *again = NULL;
		size_t len;
		FILE *m = open_memstream(&again, &len);
		assert_int_equal(spec_write(&b, m), 0);
		fclose(m);
		assert_string_equal(text, again);
		free(again);
		free(text);
		free(names[i]);
	}
	free(names);
}

static void test_good_fixtures_roundtrip(void **state)
{
	roundtrip_dir(GOOD_DIR, 5);
}

/* The project's own specs are valid too. */
static void test_workload_specs(void **state)
{
	roundtrip_dir(WORKLOADS_DIR, 4);
}

static void test_defaults(void **state)
{
	char err[512];
	spec_defaults(&a);
	assert_int_equal(a.nodes.kind, SPEC_NODES_LAB);
	assert_int_equal(a.time_limit_ns, 30000000000LL);
	assert_int_equal(a.recovery_ns, 5000000000LL);
	assert_int_equal(a.final_timeout_ns, 30000000000LL);
	assert_true(a.final_reads);
	assert_string_equal(a.ssh.user, "root");
	assert_string_equal(a.ssh.private_key, ""); /* agent */
	assert_int_equal(a.ssh.port, 22);
	assert_string_equal(a.ssh.host_key, "strict");
	assert_int_equal(a.ssh.connect_timeout_ns, 5000000000LL);
	assert_string_equal(a.db.kind, "raftnode");
	assert_string_equal(a.db.base_dir, "/var/lib/splitbrain");
	assert_int_equal(a.db.ready_timeout_ns, 20000000000LL);
	assert_int_equal(a.workload.concurrency, 2);
	assert_true(a.workload.concurrency_per_node);
	assert_true(a.workload.rate == 100);
	assert_true(a.workload.jitter == 0.5);
	assert_int_equal(a.workload.op_timeout_ns, 5000000000LL);
	assert_int_equal(a.nemesis.interval_ns, 10000000000LL);
	assert_int_equal(a.nemesis.max_concurrent, 1);
	assert_int_equal(a.checker.timeout_ns, 60000000000LL);
	assert_false(a.seed_given);
	assert_string_equal(a.expect, "");

	/* The smallest spec: the defaults plus what the workload and db derive. */
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\n", err, sizeof err), 0);
	assert_int_equal(a.workload.keys, 8);
	assert_true(a.workload.mix.read > 0 && a.workload.mix.write > 0 && a.workload.mix.cas > 0);
	assert_true(a.workload.mix.add == 0 && a.workload.mix.append == 0);
	assert_false(a.workload.mix_given);
	assert_string_equal(a.checker.model, "kv");
	assert_true(a.db.binary[0] == '/');
	assert_non_null(strstr(a.db.binary, "/build/raftnode"));
	assert_false(a.nemesis.enabled);
	assert_int_equal(a.nemesis.start_after_ns, a.nemesis.interval_ns);
	assert_string_equal(a.dir, "/base");
}

static void test_register_and_faults(void **state)
{
	char err[512];
	const char *text = "name: r\n"
			   "workload: {kind: register, mix: {read: 1, write: 1}}\n"
			   "checker: {model: register}\n"
			   "nemesis:\n"
			   "  faults:\n"
			   "    - {kind: kill}\n"
			   "    - {kind: pause, target: minority, duration: 1500ms, weight: 3}\n";
	int rc = load_text(&a, text, err, sizeof err);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(a.workload.keys, 1);
	assert_true(a.workload.mix_given);
	assert_string_equal(a.checker.model, "register");
	assert_true(a.nemesis.enabled);
	assert_int_equal(a.nemesis.nfaults, 2);
	const struct spec_fault *k = &a.nemesis.faults[0], *p = &a.nemesis.faults[1];
	assert_string_equal(k->kind, "kill");
	assert_true(spec_fault_given(k, "kind"));
	assert_true(spec_fault_given(k, "weight"));
	assert_true(k->weight == 1);
	assert_true(k->target[0] != '\0'); /* the kind's default */
	assert_true(spec_fault_given(k, "target"));
	assert_false(spec_fault_given(k, "point"));
	assert_false(spec_fault_given(k, "no-such-field"));
	assert_int_equal(k->pos.line, 6);
	assert_int_equal(k->pos.col, 7);
	assert_string_equal(p->target, "minority");
	assert_int_equal(p->duration_ns, 1500000000LL);
	assert_true(p->weight == 3);
	assert_true(spec_fault_given(p, "duration"));
	assert_false(spec_fault_given(p, "restart_after"));
	assert_int_equal(p->restart_after_ns, 0); /* not taken: left zero */

	/* A register workload that makes cas is judged as a cas-register. */
	assert_int_equal(load_text(&a, "name: r\nworkload: {kind: register}\n"
				       "checker: {model: register}\n",
				   err, sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "checker.model"));
}

static void test_timeline(void **state)
{
	char err[512];
	const char *text = "name: t\n"
			   "workload: {kind: kv}\n"
			   "nemesis:\n"
			   "  timeline:\n"
			   "    - {id: k1, at: 5s, do: {kind: kill, target: leader}}\n"
			   "    - {when: \"log~event=became-leader\", timeout: 10s,\n"
			   "       do: {kind: pause, target: $k1}}\n"
			   "    - {when: commit>=100, do: heal}\n"
			   "    - {when: leader, do: heal}\n";
	int rc = load_text(&a, text, err, sizeof err);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_true(a.nemesis.enabled);
	assert_int_equal(a.nemesis.nfaults, 0);
	assert_int_equal(a.nemesis.nsteps, 4);
	const struct spec_step *s = a.nemesis.steps;
	assert_string_equal(s[0].name, "k1");
	assert_int_equal(s[0].at_ns, 5000000000LL);
	assert_string_equal(s[0].when, "");
	assert_string_equal(s[0].action.kind, "kill");
	assert_false(spec_fault_given(&s[0].action, "weight")); /* not in a timeline */
	assert_int_equal(s[1].at_ns, -1);
	assert_string_equal(s[1].when, "log");
	assert_string_equal(s[1].when_arg, "event=became-leader");
	assert_int_equal(s[1].timeout_ns, 10000000000LL);
	assert_string_equal(s[1].action.target, "$k1");
	assert_string_equal(s[2].when, "commit");
	assert_string_equal(s[2].when_arg, "100");
	assert_true(s[2].heal);
	assert_int_equal(s[2].timeout_ns, 30000000000LL);
	assert_string_equal(s[3].when, "leader");
	assert_int_equal(s[1].pos.line, 6);
}

static void test_nodes_list(void **state)
{
	char err[512];
	const char *text = "name: t\n"
			   "workload: {kind: kv, concurrency: 3}\n"
			   "ssh: {user: alice, port: 2222, private_key: keys/id, known_hosts: /kh}\n"
			   "nodes:\n"
			   "  - {name: n1, address: 10.0.0.1, dc: east}\n"
			   "  - {name: n2, address: node2.example, port: 22, user: bob}\n"
			   "nemesis:\n"
			   "  faults: [{kind: kill, target: \"n1,n2\"}]\n";
	int rc = load_text(&a, text, err, sizeof err);
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(a.nodes.kind, SPEC_NODES_LIST);
	assert_int_equal(a.nodes.nhosts, 2);
	assert_string_equal(a.nodes.hosts[0].user, "alice"); /* from ssh: */
	assert_int_equal(a.nodes.hosts[0].port, 2222);
	assert_string_equal(a.nodes.hosts[0].dc, "east");
	assert_string_equal(a.nodes.hosts[1].user, "bob");
	assert_int_equal(a.nodes.hosts[1].port, 22);
	assert_string_equal(a.ssh.private_key, "/base/keys/id"); /* relative to the spec */
	assert_int_equal(a.nodes.hosts[1].pos.line, 6);
	assert_int_equal(spec_concurrency(&a, 2), 3);

	/* A nodes file is relative to the spec's directory. */
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\nnodes: hosts/nodes\n", err,
				   sizeof err),
			 0);
	assert_int_equal(a.nodes.kind, SPEC_NODES_FILE);
	assert_string_equal(a.nodes.file, "/base/hosts/nodes");
	assert_int_equal(spec_concurrency(&a, 5), 10); /* 2n */
}

static void test_overrides(void **state)
{
	char err[512];
	struct spec_overrides o = {0};
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\n", err, sizeof err), 0);

	o.nodes = "/etc/nodes";
	o.time_limit_ns = 5000000000LL;
	o.concurrency = "7";
	o.rate = 0;
	o.rate_given = true;
	o.seed = 0;
	o.seed_given = true;
	assert_int_equal(spec_override(&a, &o, err, sizeof err), 0);
	assert_int_equal(a.nodes.kind, SPEC_NODES_FILE);
	assert_string_equal(a.nodes.file, "/etc/nodes");
	assert_int_equal(a.time_limit_ns, 5000000000LL);
	assert_int_equal(a.workload.concurrency, 7);
	assert_false(a.workload.concurrency_per_node);
	assert_true(a.workload.rate == 0);
	assert_true(a.seed_given);
	assert_int_equal(a.seed, 0);

	/* Zero and NULL leave things alone. */
	struct spec_overrides none = {0};
	assert_int_equal(spec_override(&a, &none, err, sizeof err), 0);
	assert_int_equal(a.time_limit_ns, 5000000000LL);

	struct spec_overrides bad = {0};
	bad.rate = -3;
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--rate: -3 is out of range (0 to 1e+06)");
	bad = (struct spec_overrides){.concurrency = "0n"};
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--concurrency: '0n' is out of range (1n to 64n workers per node)");
	bad = (struct spec_overrides){.concurrency = "lots"};
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--concurrency: expected a number of workers (10) or workers per "
				 "node (2n), got 'lots'");
	bad = (struct spec_overrides){.time_limit_ns = 8LL * 86400 * 1000000000};
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--time-limit: 192h is out of range (1ms to 168h)");
	bad = (struct spec_overrides){.nodes = "bad\x01name"};
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--nodes: contains the control character 0x01");
	bad = (struct spec_overrides){.nodes = ""};
	assert_int_equal(spec_override(&a, &bad, err, sizeof err), SB_EINVAL);
	o = (struct spec_overrides){.nodes = "lab"};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), 0);
	assert_int_equal(a.nodes.kind, SPEC_NODES_LAB);
}

/* --bug appends raftnode's switch to db.args; --expect replaces or clears `expect:`. */
static void test_overrides_bug_expect(void **state)
{
	char err[512];
	assert_int_equal(load_text(&a, "name: t\ndb: {args: [--heartbeat, '40']}\n"
				       "workload: {kind: kv}\nexpect: valid\n", err, sizeof err), 0);
	const char *bugs[] = {"stale-read", "no-noop"};
	struct spec_overrides o = {.bugs = bugs, .nbugs = 2, .expect = "invalid"};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), 0);
	assert_int_equal(a.db.nargs, 6);
	assert_string_equal(a.db.args[1], "40");
	assert_string_equal(a.db.args[2], "--bug");
	assert_string_equal(a.db.args[3], "stale-read");
	assert_string_equal(a.db.args[5], "no-noop");
	assert_string_equal(a.expect, "invalid");
	o = (struct spec_overrides){.expect = "none"};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), 0);
	assert_string_equal(a.expect, "");

	const char *shell[] = {"x; rm -rf /"};
	o = (struct spec_overrides){.bugs = shell, .nbugs = 1};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--bug: 'x; rm -rf /' is not a bug name");
	o = (struct spec_overrides){.expect = "maybe"};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), SB_EINVAL);
	assert_string_equal(err, "--expect: 'maybe' is not valid, invalid or none");
	/* db.args is bounded: the override says so rather than dropping a switch. */
	const char *many[SPEC_MAX_ARGS];
	for (size_t i = 0; i < SPEC_MAX_ARGS; i++)
		many[i] = "no-noop";
	o = (struct spec_overrides){.bugs = many, .nbugs = SPEC_MAX_ARGS};
	assert_int_equal(spec_override(&a, &o, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "at most"));
}

/* `datacenters:` labels nodes by name; it survives the resolved spec's round trip. */
static void test_datacenters(void **state)
{
	char err[512];
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\n"
				       "datacenters: {east: [n1, n2], west: 'n3,n4', central: [n5]}\n"
				       "nemesis: {faults: [{kind: cut-dc, dc: central}]}\n",
				   err, sizeof err), 0);
	assert_int_equal(a.ndcs, 3);
	assert_string_equal(a.dcs[0].label, "east");
	assert_string_equal(a.dcs[0].nodes, "n1,n2");
	assert_string_equal(a.dcs[1].nodes, "n3,n4");
	assert_string_equal(a.dcs[2].label, "central");
	char *text = NULL;
	size_t len;
	FILE *m = open_memstream(&text, &len);
	assert_int_equal(spec_write(&a, m), 0);
	fclose(m);
	assert_non_null(strstr(text, "datacenters:\n  east: n1,n2\n  west: n3,n4\n  central: n5\n"));
	assert_int_equal(load_text(&b, text, err, sizeof err), 0);
	spec_normalise(&a);
	spec_normalise(&b);
	assert_memory_equal(&a, &b, sizeof a);
	free(text);
	/* A list of hosts: the labels must name its hosts, and a cut-dc label may come from
	 * either place. */
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\n"
				       "nodes: [{name: n1, address: 10.0.0.1}, {name: n2, address: 10.0.0.2}]\n"
				       "datacenters: {east: [n1], west: [n2]}\n"
				       "nemesis: {faults: [{kind: cut-link, link: [east, west]}, {kind: cut-dc, dc: west}]}\n",
				   err, sizeof err), 0);
	assert_int_equal(load_text(&a, "name: t\nworkload: {kind: kv}\n"
				       "nodes: [{name: n1, address: 10.0.0.1}, {name: n2, address: 10.0.0.2}]\n"
				       "nemesis: {faults: [{kind: cut-dc, dc: west}]}\n",
				   err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "no host has dc 'west'"));
}

/* Errors that a fixture file cannot carry. */
static void test_limits(void **state)
{
	char err[512], path[] = "/tmp/sb-spec-XXXXXX";
	/* A file over the size limit. */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char *big = malloc((1u << 20) + 10);
	assert_non_null(big);
	memset(big, '#', (1u << 20) + 10);
	assert_int_equal(fd_write_all(fd, big, (1u << 20) + 10, NULL), 0);
	close(fd);
	assert_int_equal(spec_load(&a, path, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "larger than"));
	unlink(path);
	free(big);
	/* A file that is not there: an I/O error, not bad input. */
	assert_int_equal(spec_load(&a, "/nonexistent/spec.yaml", err, sizeof err), SB_EIO);
	/* A NUL in the middle of the bytes given. */
	const char text[] = "name: t\0\nworkload: {kind: kv}\n";
	assert_int_equal(spec_load_mem(&a, "t.yaml", NULL, text, sizeof text - 1, err, sizeof err),
			 SB_EINVAL);
	assert_string_equal(err, "t.yaml:1:8: invalid input: control characters are not allowed "
				 "(byte 0x00)");
	/* A small error buffer gets a truncated message, never an overflow. */
	char tiny[8];
	assert_int_equal(load_text(&a, "nmae: x\n", tiny, sizeof tiny), SB_EINVAL);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

/* workloads/README.md carries the field reference generated from the tables. */
static void test_readme_reference(void **state)
{
	char *text = NULL, *gen = NULL, err[256];
	size_t len, genlen;
	assert_int_equal(file_read_all(README, 0, &text, &len, NULL, err, sizeof err), 0);
	const char *from = strstr(text, REF_BEGIN), *e = strstr(text, REF_END);
	assert_non_null(from);
	assert_non_null(e);
	from = strchr(from, '\n');
	assert_non_null(from);
	from += 2; /* the marker's line and a blank line */
	FILE *m = open_memstream(&gen, &genlen);
	assert_int_equal(spec_write_reference(m), 0);
	fclose(m);
	if ((size_t)(e - from) != genlen || memcmp(from, gen, genlen))
		print_error("%s is out of date: run build/tools/spectool update %s\n", README, README);
	assert_int_equal((size_t)(e - from), genlen);
	assert_memory_equal(from, gen, genlen);
	free(gen);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_good_fixtures_roundtrip),
		cmocka_unit_test(test_workload_specs),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_register_and_faults),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_nodes_list),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_overrides_bug_expect),
		cmocka_unit_test(test_datacenters),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_readme_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
