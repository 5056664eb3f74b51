/* Simulation tests of the Raft core (node/sim.h).
 *
 *   SIM_SEEDS=n      number of seeds for the safety run (default 2000; at least 2000 in CI)
 *   SIM_SEED=n       replay one seed with a trace on stderr (the safety schedule, or the bug
 *                    schedule given by SIM_BUG=name) and report its verdict; SIM_TRACE_MSGS=1
 *                    adds every delivered message to the trace
 *
 * A failing seed is printed with the line that replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "node/raft.h"
#include "node/sim.h"

/* The schedule of the safety run: every fault on, settings varying with the seed. */
static void safety_schedule(struct sim_config *c, uint64_t seed)
{
	sim_config_init(c, seed, seed % 2 ? 3 : 5);
}

/* Fault schedules designed to expose one bug each (see the bug list in node/raft.h). */
static void bug_schedule(struct sim_config *c, unsigned bug, uint64_t seed)
{
	switch (bug) {
	case RAFT_BUG_COMMIT_OLD_TERM:
		/* Figure 8: leaders that die right after persisting (before sending) leave lone
		 * entries of their term; a re-elected leader re-replicates an old-term entry one
		 * entry per message, and dies right after committing it, so its own term's entry
		 * never reaches a majority and a node with the lone newer-term entry wins. */
		sim_config_init(c, seed, 5);
		c->snapshot_every = 0;
		c->crashpoint_every_ms = 0;
		c->partition_every_ms = 0;
		c->drop_pm = 0;
		c->max_append_entries = 1;
		c->max_inflight = 1;
		c->crash_leader_bias = true;
		c->restart_min_ms = 1;
		c->restart_max_ms = 100;
		c->crash_after_commit_pm = 1000;
		c->crash_before_send_pm = 600;
		break;
	case RAFT_BUG_FORGET_VOTE:
		/* Split votes (no pre-vote, a narrow timeout range, slow messages) and voters that
		 * die right after voting and come back within milliseconds, before the competing
		 * candidate's request reaches them. */
		sim_config_init(c, seed, 5);
		c->pre_vote = false;
		c->election_max_ms = 155;
		c->delay_max_ms = 30;
		c->crash_after_vote_pm = 800;
		c->restart_min_ms = 1;
		c->restart_max_ms = 10;
		break;
	default:
		/* ack-before-commit, stale-read, no-log-check, no-noop: the general schedule with
		 * crashes aimed at leaders finds them. */
		sim_config_init(c, seed, seed % 2 ? 3 : 5);
		c->crash_leader_bias = true;
		break;
	}
	c->bugs = bug;
}

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	return *end ? dflt : n;
}

static void test_replay(void **state)
{
	(void)state;
	const char *seed = getenv("SIM_SEED");
	if (!seed)
		skip();
	uint64_t s = strtoull(seed, NULL, 10);
	struct sim_config c;
	const char *bug = getenv("SIM_BUG");
	if (bug && *bug) {
		unsigned bit;
		char err[200];
		assert_int_equal(raft_bug_parse(bug, &bit, err, sizeof(err)), 0);
		bug_schedule(&c, bit, s);
	} else {
		safety_schedule(&c, s);
	}
	c.trace = stderr;
	c.trace_msgs = getenv("SIM_TRACE_MSGS") != NULL;
	struct sim_result r;
	char err[256];
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
	printf("seed %llu (%zu nodes%s%s): %s %s\n", (unsigned long long)s, c.n_nodes,
	       bug ? ", bug " : "", bug ? bug : "", sim_violation_name(r.violation), r.detail);
}

/* The main safety run: no violation in any seed, and the runs really did work. */
static void test_safety_seeds(void **state)
{
	(void)state;
	if (getenv("SIM_SEED"))
		skip();
	unsigned long n = env_ul("SIM_SEEDS", 2000);
	unsigned long first = env_ul("SIM_FIRST_SEED", 1);
	unsigned long failures = 0;
	struct sim_result tot = {0};
	for (unsigned long s = first; s < first + n; s++) {
		struct sim_config c;
		safety_schedule(&c, s);
		struct sim_result r;
		char err[256];
		int rc = sim_run(&c, &r, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "seed %lu: simulator error: %s\n", s, err);
			fail();
		}
		if (r.violation) {
			failures++;
			fprintf(stderr,
				"FAIL seed %lu (%zu nodes): %s at %llu ms: %s\n"
				"  replay: SIM_SEED=%lu %s\n",
				s, c.n_nodes, sim_violation_name(r.violation),
				(unsigned long long)r.at_ms, r.detail, s, "build/tests/unit/node/test_sim");
		}
		tot.appends_acked += r.appends_acked;
		tot.appends_sent += r.appends_sent;
		tot.reads_ok += r.reads_ok;
		tot.register_ops_ok += r.register_ops_ok;
		tot.crashes += r.crashes;
		tot.crashpoints_hit += r.crashpoints_hit;
		tot.partitions += r.partitions;
		tot.transfers += r.transfers;
		tot.pauses += r.pauses;
		tot.snapshots_installed += r.snapshots_installed;
		tot.msgs_delivered += r.msgs_delivered;
		if (r.max_term > tot.max_term)
			tot.max_term = r.max_term;
	}
	printf("%lu seeds: %lu failing; %llu appends acknowledged of %llu, %llu reads, %llu "
	       "register operations, %llu crashes, %llu crash points hit, %llu partitions, %llu pauses, %llu transfers, "
	       "%llu nodes ending with a snapshot, %llu messages, highest term %llu\n",
	       n, failures, (unsigned long long)tot.appends_acked,
	       (unsigned long long)tot.appends_sent, (unsigned long long)tot.reads_ok,
	       (unsigned long long)tot.register_ops_ok, (unsigned long long)tot.crashes, (unsigned long long)tot.crashpoints_hit,
	       (unsigned long long)tot.partitions, (unsigned long long)tot.pauses,
	       (unsigned long long)tot.transfers,
	       (unsigned long long)tot.snapshots_installed, (unsigned long long)tot.msgs_delivered,
	       (unsigned long long)tot.max_term);
	assert_int_equal(failures, 0);
	/* The schedules must have exercised what they claim to (a run that did nothing would
	 * pass trivially). Thresholds are far below what the default seeds produce. */
	if (n >= 100) {
		assert_true(tot.appends_acked > n * 10);
		assert_true(tot.reads_ok > n * 5);
		assert_true(tot.register_ops_ok > n);
		assert_true(tot.crashes > n);
		assert_true(tot.crashpoints_hit > n / 4);
		assert_true(tot.partitions > n);
		assert_true(tot.transfers > 0);
		assert_true(tot.pauses > n / 2);
		assert_true(tot.snapshots_installed > n / 4);
	}
}

/* Equal seeds replay equal runs. */
static void test_deterministic(void **state)
{
	(void)state;
	if (getenv("SIM_SEED"))
		skip();
	for (uint64_t s = 7; s < 10; s++) {
		struct sim_config c;
		struct sim_result a, b;
		char err[256];
		safety_schedule(&c, s);
		assert_int_equal(sim_run(&c, &a, err, sizeof(err)), 0);
		assert_int_equal(sim_run(&c, &b, err, sizeof(err)), 0);
		assert_int_equal(a.violation, b.violation);
		assert_int_equal(a.appends_acked, b.appends_acked);
		assert_int_equal(a.reads_ok, b.reads_ok);
		assert_int_equal(a.msgs_delivered, b.msgs_delivered);
		assert_int_equal(a.crashes, b.crashes);
		assert_int_equal(a.end_ms, b.end_ms);
		assert_int_equal(a.max_term, b.max_term);
		assert_true(a.appends_acked > 0);
	}
}

static bool is_safety(int v)
{
	return v != SIM_OK && v != SIM_NO_PROGRESS && v != SIM_CORE_ERROR;
}

/* With the bug on, the bug's schedule finds a safety violation within `bound` seeds; with the
 * bug off, the same schedule and seeds find none (so the violation is the bug's doing). */
static void expect_found(unsigned bug, unsigned long bound)
{
	if (getenv("SIM_SEED"))
		skip(); /* replaying one seed only */
	const char *name = raft_bug_name(bug);
	unsigned long found = 0;
	struct sim_result r;
	char err[256];
	for (unsigned long s = 1; s <= bound && !found; s++) {
		struct sim_config c;
		bug_schedule(&c, bug, s);
		assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
		if (is_safety(r.violation))
			found = s;
	}
	if (!found) {
		fprintf(stderr, "bug %s: no violation in %lu seeds\n", name, bound);
		fail();
	}
	printf("bug %s: seed %lu finds %s: %s (replay: SIM_SEED=%lu SIM_BUG=%s)\n", name, found,
	       sim_violation_name(r.violation), r.detail, found, name);
	for (unsigned long s = 1; s <= found; s++) {
		struct sim_config c;
		bug_schedule(&c, bug, s);
		c.bugs = 0;
		assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
		if (r.violation) {
			fprintf(stderr, "bug %s's schedule without the bug, seed %lu: %s: %s\n", name, s,
				sim_violation_name(r.violation), r.detail);
			fail();
		}
	}
}

static void test_bug_commit_old_term(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_COMMIT_OLD_TERM, 200);
}

static void test_bug_ack_before_commit(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_ACK_BEFORE_COMMIT, 100);
}

static void test_bug_stale_read(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_STALE_READ, 100);
}

static void test_bug_forget_vote(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_FORGET_VOTE, 100);
}

static void test_bug_no_log_check(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_NO_LOG_CHECK, 100);
}

static void test_bug_no_noop(void **state)
{
	(void)state;
	expect_found(RAFT_BUG_NO_NOOP, 100);
}

static void test_bad_config(void **state)
{
	(void)state;
	struct sim_config c;
	struct sim_result r;
	char err[256] = "";
	sim_config_init(&c, 1, 3);
	c.n_nodes = 0;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), SB_EINVAL);
	assert_non_null(strstr(err, "nodes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_safety_seeds),
		cmocka_unit_test(test_bug_commit_old_term),
		cmocka_unit_test(test_bug_ack_before_commit),
		cmocka_unit_test(test_bug_stale_read),
		cmocka_unit_test(test_bug_forget_vote),
		cmocka_unit_test(test_bug_no_log_check),
		cmocka_unit_test(test_bug_no_noop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
