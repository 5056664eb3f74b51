/* run — the interpreter of a spec (run.h): threads, sockets and the clock live here. */
#include "harness/run/run.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness/report/detect.h"
#include "harness/report/html.h"
#include "harness/run/internal.h"
#include "lib/err.h"
#include "lib/sbuf.h"

/* The one global state: the signal that asked the run to stop (0: none). Set by the handler,
 * read by the main thread. */
static volatile sig_atomic_t run_signal;

static void on_signal(int sig)
{
	run_signal = sig;
}

int64_t run_now(const struct run *r)
{
	return clock_mono_ns() - r->t0;
}

/* ---- log and errors ---------------------------------------------------------------------- */

static void vlog_line(struct run *r, const char *fmt, va_list ap)
{
	if (!r->log)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	int64_t wall = clock_wall_ns();
	time_t sec = (time_t)(wall / CLOCK_NS_PER_S);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&r->log_mu);
	if (r->t0)
		fprintf(r->log, "%s.%06ldZ +%.3fs %s\n", stamp, (long)(wall % CLOCK_NS_PER_S / 1000),
			(double)run_now(r) / 1e9, msg);
	else
		fprintf(r->log, "%s.%06ldZ %s\n", stamp, (long)(wall % CLOCK_NS_PER_S / 1000), msg);
	fflush(r->log);
	pthread_mutex_unlock(&r->log_mu);
}

void run_log(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(r, fmt, ap);
	va_end(ap);
}

/* An environment problem worth reporting in results.json and on stderr. */
void run_error(struct run *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	run_log(r, "error: %s", msg);
	fprintf(stderr, "\rsplitbrain run: %s\033[K\n", msg);
	pthread_mutex_lock(&r->mu);
	if (r->nerrors < REPORT_MAX_ERRORS)
		r->errors[r->nerrors++] = strdup(msg);
	pthread_mutex_unlock(&r->mu);
}

static void env_log(struct nemesis_env *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(env->run, fmt, ap);
	va_end(ap);
}

/* Stop the workload at once (a signal, or an error that makes going on pointless): no new
 * operations, no new faults, heal. Caller holds r->mu. */
static void stop_locked(struct run *r, bool skip_final)
{
	if (!r->stop) {
		r->stop = 1;
		if (r->t0)
			r->phase[REPORT_MAIN][1] = (double)run_now(r) / 1e9;
		if (r->gen)
			gen_stop(r->gen, run_now(r), skip_final);
		run_wake_locked(r);
	}
}

/* ---- the history ------------------------------------------------------------------------- */

/* Append one event; a history that cannot be written makes the run stop: an operation that is
 * not recorded could hide a lost write. */
static void record(struct run *r, struct hevent *ev)
{
	char err[512];
	ev->time = run_now(r);
	if (hwriter_append(r->hist, ev, err, sizeof err)) {
		pthread_mutex_lock(&r->mu);
		int first = !r->stop;
		stop_locked(r, true);
		pthread_mutex_unlock(&r->mu);
		if (first)
			run_error(r, "%s: the run stops (nothing more can be recorded)", err);
	}
}

void run_record_nemesis(struct run *r, enum htype type, const char *f, const char *value_json,
			   const char *error)
{
	struct hevent ev = {.process = HPROC_NEMESIS, .type = type, .f = f, .error = error};
	struct hval v = {.kind = HVAL_NULL};
	struct hreader *hr = NULL;
	char err[256];
	/* The value is JSON text made by a fault kind: parse it back into an hval through the
	 * history reader, so the journal holds exactly what the kind described. */
	if (value_json && value_json[0]) {
		char line[NEMESIS_VALUE_MAX + 64];
		snprintf(line, sizeof line, "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"x\","
			 "\"value\":%s}", value_json);
		struct hevent tmp;
		if (hreader_open_mem(&hr, line, strlen(line), "nemesis", HFMT_JSONL, err,
				     sizeof err) == 0 &&
		    hreader_next(hr, &tmp, err, sizeof err) == 1)
			v = tmp.value;
	}
	ev.has_value = 1;
	ev.value = v;
	record(r, &ev);
	hreader_close(hr);
}

/* ---- leader ------------------------------------------------------------------------------ */

/* The leader a majority of the cluster agrees on, asking every node (INFO) until timeout_ms;
 * -1 when there is none. No fallback to the logs: a fault must target the leader of now.
 * With `claims`, a node that calls itself leader at the highest term among those that answer
 * is taken when no majority agrees: with its followers paused or cut off, a leader is still
 * the leader a fault means, though no majority can say so. */
int run_find_leader(struct run *r, int timeout_ms, bool claims)
{
	struct db_status st[DB_MAX_NODES];
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * CLOCK_NS_PER_MS;
	for (;;) {
		struct db_leader l;
		db_info_all(r->db, st);
		if (db_leader_decide(r->db, st, r->db->n, &l))
			return (int)l.index;
		int claim = -1;
		for (size_t i = 0; claims && i < r->db->n; i++)
			if (st[i].up && !strcmp(st[i].role, "leader") &&
			    (claim < 0 || st[i].term > st[claim].term))
				claim = (int)i;
		if (claim >= 0)
			return claim;
		if (clock_mono_ns() >= deadline)
			return -1;
		clock_sleep_ns(50 * CLOCK_NS_PER_MS, NULL);
	}
}

static int env_leader(struct nemesis_env *env, int timeout_ms)
{
	struct run *r = env->run;
	/* Waiting for a leader holds up the nemesis thread: never past the moment another
	 * fault is due to be healed (a pause must not outlast its duration because the next
	 * fault found no leader). */
	int64_t now = run_now(r), due = INT64_MAX;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nacts; i++)
		if (!r->acts[i].healed && r->acts[i].until < due)
			due = r->acts[i].until;
	pthread_mutex_unlock(&r->mu);
	if (due != INT64_MAX) {
		int64_t left_ms = due > now ? (due - now) / CLOCK_NS_PER_MS : 0;
		if (left_ms < timeout_ms)
			timeout_ms = (int)left_ms;
	}
	return run_find_leader(r, timeout_ms, true);
}

void run_wake_locked(struct run *r)
{
	pthread_cond_broadcast(&r->cv);
	pthread_cond_broadcast(&r->cv_ctl);
}

/* ---- workers ----------------------------------------------------------------------------- */

struct worker {
	struct run *r;
	uint32_t w;
	pthread_t th;
};

/* Wait on r->cv until the monotonic time `until_ns` (run time) or TICK_NS from now. Caller
 * holds r->mu. */
void run_wait_locked(struct run *r, pthread_cond_t *cv, int64_t until_ns)
{
	int64_t now = run_now(r);
	if (until_ns > now + TICK_NS)
		until_ns = now + TICK_NS;
	int64_t abs_ns = r->t0 + until_ns;
	struct timespec ts = {.tv_sec = abs_ns / CLOCK_NS_PER_S, .tv_nsec = abs_ns % CLOCK_NS_PER_S};
	pthread_cond_timedwait(cv, &r->mu, &ts);
}

static void op_value(const struct gen_op *op, struct hval *v, struct hval pair[2])
{
	switch (op->f) {
	case OP_READ:
		v->kind = HVAL_NULL;
		break;
	case OP_CAS:
		pair[0] = (struct hval){.kind = HVAL_INT, .u.i = op->expect};
		pair[1] = (struct hval){.kind = HVAL_INT, .u.i = op->value};
		*v = (struct hval){.kind = HVAL_ARRAY, .len = 2, .u.items = pair};
		break;
	default:
		*v = (struct hval){.kind = HVAL_INT, .u.i = op->value};
	}
}

static void do_op(struct run *r, struct client *c, size_t node, const struct gen_op *op,
		  struct client_res *res)
{
	char key[32], ckey[32];
	struct hval pair[2];
	struct hevent ev = {.process = op->process, .type = HTYPE_INVOKE, .f = op_f_name(op->f),
			    .has_value = 1, .node = r->db->nodes[node].name};
	workload_key_name(op->key, key, sizeof key);
	if (r->wk->keyed) {
		ev.has_key = 1;
		ev.key = (struct hval){.kind = HVAL_STR, .len = (uint32_t)strlen(key), .u.s = key};
	}
	op_value(op, &ev.value, pair);
	record(r, &ev);

	workload_client_key(r->wk, op->key, ckey, sizeof ckey);
	struct client_req req = {.f = op->f, .key = ckey, .value = op->value, .expect = op->expect,
				 .collection = r->wk->collection,
				 .deadline = clock_mono_ns() + r->spec.workload.op_timeout_ns};
	r->ck->invoke(c, &req, res);

	ev.type = (enum htype)res->type;
	if (res->type == HTYPE_OK && op->f == OP_READ && res->has_value)
		ev.value = res->value;
	ev.error = res->type == HTYPE_OK ? NULL : res->error;
	if (res->node[0])
		ev.node = res->node;
	record(r, &ev);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct run *r = wk->r;
	size_t node = wk->w % r->db->n;
	struct client *c = NULL;
	struct client_res res = {0};
	char err[512];
	if (r->ck->open(&c, r->db, node, err, sizeof err)) {
		run_error(r, "worker %u: %s", wk->w, err);
		pthread_mutex_lock(&r->mu);
		stop_locked(r, true);
	} else {
		pthread_mutex_lock(&r->mu);
	}
	for (;;) {
		struct gen_op op;
		int64_t wake = 0;
		enum gen_status st = gen_next(r->gen, wk->w, run_now(r), &op, &wake);
		if (st == GEN_DONE)
			break;
		if (st == GEN_WAIT) {
			r->nwaiting++;
			run_wait_locked(r, &r->cv, wake);
			r->nwaiting--;
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		int64_t delay = op.at - run_now(r);
		if (delay > 0)
			clock_sleep_ns(delay, &r->stop);
		enum gen_outcome out = GEN_FAIL;
		bool stopped = r->stop && !op.final;
		if (stopped) {
			/* Stopped while it waited for its time: never invoked, so recorded nowhere
			 * and given back (gen.h). */
			pthread_mutex_lock(&r->mu);
			gen_complete(r->gen, &op, GEN_FAIL, run_now(r));
			if (r->nwaiting)
				pthread_cond_broadcast(&r->cv);
			continue;
		}
		if (c) {
			do_op(r, c, node, &op, &res);
			out = res.type == HTYPE_OK ? GEN_OK : res.type == HTYPE_FAIL ? GEN_FAIL : GEN_INFO;
		}
		pthread_mutex_lock(&r->mu);
		gen_complete(r->gen, &op, out, run_now(r));
		r->ops[op.f][out]++;
		/* Only workers waiting for the generator care about a completion: no wake-up,
		 * no context switch, when none does (the common case at full speed). */
		if (r->nwaiting)
			pthread_cond_broadcast(&r->cv);
	}
	r->running--;
	run_wake_locked(r);
	pthread_mutex_unlock(&r->mu);
	client_res_free(&res);
	if (c)
		r->ck->close(c);
	return NULL;
}

/* ---- faults ------------------------------------------------------------------------------ */

/* ---- progress ---------------------------------------------------------------------------- */

static void print_progress(struct run *r, bool final)
{
	struct gen_stats gs;
	char faults[128] = "";
	pthread_mutex_lock(&r->mu);
	int64_t now = run_now(r);
	enum gen_phase ph = gen_phase(r->gen, now);
	gen_stats(r->gen, &gs);
	size_t active = 0;
	for (size_t i = 0; i < r->nacts; i++)
		if (!r->acts[i].healed) {
			active++;
			snprintf(faults, sizeof faults, "%.100s", r->acts[i].desc);
		}
	if (active > 1)
		snprintf(faults, sizeof faults, "%zu active", active);
	int leader = r->leader;
	pthread_mutex_unlock(&r->mu);
	char line[512];
	snprintf(line, sizeof line,
		 "%5.1fs/%.0fs %-8s ops %llu (ok %llu fail %llu info %llu)  faults: %s  leader: %s",
		 (double)now / 1e9, (double)r->spec.time_limit_ns / 1e9, gen_phase_name(ph),
		 (unsigned long long)gs.invoked, (unsigned long long)gs.ok,
		 (unsigned long long)gs.fail, (unsigned long long)gs.info,
		 faults[0] ? faults : "none", leader >= 0 ? r->db->nodes[leader].name : "?");
	if (r->progress > 1) /* a terminal: one line, rewritten */
		fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
	else
		fprintf(stderr, "%s\n", line);
}

/* The main thread while the workload runs: signals, progress, the leader. */
static void watch(struct run *r)
{
	int64_t last_print = 0, last_leader = -CLOCK_NS_PER_S;
	int64_t every = r->progress > 1 ? CLOCK_NS_PER_S : 5 * CLOCK_NS_PER_S;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		if (run_signal && !r->stop) {
			pthread_mutex_unlock(&r->mu);
			run_log(r, "signal %d: stopping the workload, healing", (int)run_signal);
			fprintf(stderr, "\rsplitbrain run: %s: stopping; healing every fault before "
					"exit\033[K\n",
				strsignal(run_signal));
			pthread_mutex_lock(&r->mu);
			stop_locked(r, true);
		}
		if (!r->running) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		run_wait_locked(r, &r->cv_ctl, run_now(r) + TICK_NS);
		pthread_mutex_unlock(&r->mu);
		int64_t now = run_now(r);
		if (now - last_leader >= 2 * CLOCK_NS_PER_S) {
			int l = run_find_leader(r, 0, false);
			pthread_mutex_lock(&r->mu);
			r->leader = l;
			pthread_mutex_unlock(&r->mu);
			last_leader = now;
		}
		if (r->progress && now - last_print >= every) {
			print_progress(r, false);
			last_print = now;
		}
	}
	if (r->progress)
		print_progress(r, true);
}

/* ---- setup and teardown ------------------------------------------------------------------ */

/* The spec's `datacenters:` labels onto the hosts (the lab's nodes file has none). A name
 * that no host has, or a host labelled otherwise by its nodes file, is a mistake of the spec. */
static int apply_datacenters(struct run *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->spec.ndcs; i++) {
		const struct spec_dc *d = &r->spec.dcs[i];
		char buf[sizeof d->nodes], *save = NULL;
		snprintf(buf, sizeof buf, "%s", d->nodes);
		for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			size_t j = 0;
			while (j < r->nodes.n && strcmp(r->nodes.hosts[j].name, w))
				j++;
			if (j == r->nodes.n)
				return err_set(err, errlen, SB_EINVAL,
					       "%s: datacenters.%s: no host named %s in the nodes",
					       r->spec.path, d->label, w);
			struct control_host *h = &r->nodes.hosts[j];
			if (h->dc[0] && strcmp(h->dc, d->label))
				return err_set(err, errlen, SB_EINVAL,
					       "%s: datacenters.%s: host %s has dc=%s", r->spec.path,
					       d->label, w, h->dc);
			snprintf(h->dc, sizeof h->dc, "%s", d->label);
		}
	}
	return 0;
}

static int resolve_hosts(struct run *r, char *err, size_t errlen)
{
	const struct spec_nodes *sn = &r->spec.nodes;
	int rc;
	if (sn->kind == SPEC_NODES_LAB || sn->kind == SPEC_NODES_FILE) {
		rc = sn->kind == SPEC_NODES_LAB ? nodes_resolve("lab", &r->nodes, err, errlen)
						: nodes_load(sn->file, &r->nodes, err, errlen);
		return rc ? rc : apply_datacenters(r, err, errlen);
	}
	/* A list in the spec: hosts with the ssh section's defaults. */
	const struct spec_ssh *ssh = &r->spec.ssh;
	r->nodes.hosts = calloc(sn->nhosts, sizeof *r->nodes.hosts);
	if (!r->nodes.hosts)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	r->nodes.n = sn->nhosts;
	for (size_t i = 0; i < sn->nhosts; i++) {
		struct control_host *h = &r->nodes.hosts[i];
		const struct spec_host *s = &sn->hosts[i];
		control_host_defaults(h);
		snprintf(h->name, sizeof h->name, "%s", s->name);
		snprintf(h->address, sizeof h->address, "%s", s->address);
		snprintf(h->dc, sizeof h->dc, "%s", s->dc);
		h->port = s->port ? s->port : ssh->port;
		snprintf(h->user, sizeof h->user, "%s", s->user[0] ? s->user : ssh->user);
		snprintf(h->key_file, sizeof h->key_file, "%s", ssh->private_key);
		if (ssh->known_hosts[0])
			snprintf(h->known_hosts, sizeof h->known_hosts, "%s", ssh->known_hosts);
		if (ssh->host_key[0] &&
		    control_hostkey_policy_parse(ssh->host_key, &h->hostkey_policy))
			return err_set(err, errlen, SB_EINVAL, "ssh.host_key '%s'", ssh->host_key);
		if (ssh->connect_timeout_ns)
			h->connect_timeout_ms = (int)(ssh->connect_timeout_ns / CLOCK_NS_PER_MS);
	}
	return apply_datacenters(r, err, errlen);
}

/* Open the store and its files: test.yaml, splitbrain.log, history.jsonl. */
static int open_store(struct run *r, const char *root, char *err, size_t errlen)
{
	int rc = store_open(&r->store, root, r->spec.name, time(NULL), err, errlen);
	if (rc)
		return rc;
	char path[STORE_PATH_MAX];
	if ((rc = store_file_path(&r->store, "test.yaml", path, sizeof path, err, errlen)))
		return rc;
	FILE *f = fopen(path, "w");
	if (!f)
		return err_set(err, errlen, SB_EIO, "%s: %s", path, strerror(errno));
	rc = spec_write(&r->spec, f);
	if (fclose(f) || rc)
		return err_set(err, errlen, SB_EIO, "%s: write failed", path);
	if ((rc = store_file_path(&r->store, "splitbrain.log", path, sizeof path, err, errlen)))
		return rc;
	if (!(r->log = fopen(path, "a")))
		return err_set(err, errlen, SB_EIO, "%s: %s", path, strerror(errno));
	if ((rc = store_file_path(&r->store, "history.jsonl", r->history_path,
				  sizeof r->history_path, err, errlen)))
		return rc;
	return hwriter_open(&r->hist, r->history_path, err, errlen);
}

static int open_db(struct run *r, char *err, size_t errlen)
{
	const struct spec *s = &r->spec;
	char run_id[CONTROL_NAME_MAX];
	const char *arg = s->nodes.kind == SPEC_NODES_LAB ? "lab"
			  : s->nodes.kind == SPEC_NODES_FILE ? s->nodes.file
							     : s->path;
	int rc = db_default_run_id(arg, r->nodes.path, run_id, sizeof run_id, err, errlen);
	if (rc)
		return rc;
	/* Crash points need --fault-injection; a cluster token of this run keeps its nodes from
	 * ever talking to those of another cluster on the same hosts. The spec's own arguments
	 * come after. */
	const char *args[SPEC_MAX_ARGS + 4];
	size_t na = 0;
	char token[2 * STORE_NAME_MAX + 2];
	snprintf(token, sizeof token, "%s-%s", s->name, r->store.stamp);
	if (!strcmp(s->db.kind, "raftnode")) {
		args[na++] = "--fault-injection";
		args[na++] = "--cluster-token";
		args[na++] = token;
	}
	for (size_t i = 0; i < s->db.nargs; i++)
		args[na++] = s->db.args[i];
	args[na] = NULL;
	struct db_opts o = {.kind = s->db.kind, .binary = s->db.binary,
			    .base_dir = s->db.base_dir[0] ? s->db.base_dir : NULL,
			    .run_id = run_id, .client_port = s->db.client_port,
			    .peer_port = s->db.peer_port, .args = args,
			    .ready_timeout_ms = (int)(s->db.ready_timeout_ns / CLOCK_NS_PER_MS),
			    /* kinds with a cluster token of their own (etcd) take this run's */
			    .cluster_token = token};
	/* What the spec's fault kinds need of the nodes (libfaketime for clock faults). */
	nemesis_db_opts(s, &o);
	return db_open(&r->db, r->nodes.hosts, r->nodes.n, &o, err, errlen);
}

/* Wipe (unless keep_data), install and start every node; wait for a leader. */
static int setup_cluster(struct run *r, char *err, size_t errlen)
{
	const struct spec *s = &r->spec;
	int rc;
	if (!s->db.keep_data) {
		run_log(r, "setup: wiping every node's data");
		if ((rc = db_each(r->db, DB_OP_WIPE, NULL, NULL, err, errlen)))
			return rc;
	}
	if (run_signal)
		return err_set(err, errlen, SB_EIO, "interrupted during setup");
	/* On a lab, `lab down` must find these node directories whatever base_dir says. */
	const char *arg = s->nodes.kind == SPEC_NODES_LAB ? "lab" : s->nodes.file;
	if (s->nodes.kind != SPEC_NODES_LIST &&
	    (rc = db_record_lab_run(r->db, arg, r->nodes.path, err, errlen)))
		return rc;
	run_log(r, "setup: installing %s on %zu nodes", s->db.kind, r->db->n);
	if ((rc = db_each(r->db, DB_OP_INSTALL, NULL, NULL, err, errlen)))
		return rc;
	run_log(r, "setup: starting the nodes");
	if ((rc = db_each(r->db, DB_OP_START, NULL, NULL, err, errlen)))
		return rc;
	if (run_signal)
		return err_set(err, errlen, SB_EIO, "interrupted during setup");
	int ms = (int)(s->db.ready_timeout_ns / CLOCK_NS_PER_MS);
	int l = run_find_leader(r, ms, false);
	if (l < 0)
		return err_set(err, errlen, SB_EIO, "no leader elected within %d ms", ms);
	r->leader = l;
	run_log(r, "setup: leader %s", r->db->nodes[l].name);
	return 0;
}

/* Every way out passes here once the cluster may have been touched. */
static void teardown(struct run *r)
{
	char err[2048];
	if (!r->db)
		return;
	run_log(r, "teardown: healing every fault kind");
	run_heal_everything(r);
	/* Healed, and quiet since the final reads: the replicas must converge and agree. */
	checks_agreement(&r->checks, r->db,
			 !r->t0 ? "the workload did not run" : r->stop ? "the workload was stopped"
								 : NULL,
			 AGREE_DEFAULT_TIMEOUT_NS);
	run_log(r, "teardown: replica agreement: %s %s",
		agree_status_name(r->checks.agreement.status), r->checks.agreement.reason);
	run_log(r, "teardown: collecting logs");
	if (db_collect(r->db, NULL, r->store.dir, err, sizeof err))
		run_error(r, "%s", err);
	if (!r->spec.db.keep_running) {
		run_log(r, "teardown: stopping and wiping the nodes");
		if (db_each(r->db, DB_OP_STOP, NULL, NULL, err, sizeof err))
			run_error(r, "%s", err);
		if (db_each(r->db, DB_OP_WIPE, NULL, NULL, err, sizeof err))
			run_error(r, "%s", err);
	}
}

/* ---- check and results ------------------------------------------------------------------- */

/* This process's user + system CPU time so far, in seconds (every thread). */
static double cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int write_store_file(struct run *r, const char *name, const struct report_run *rr,
			    int (*fn)(const struct report_run *, FILE *))
{
	char path[STORE_PATH_MAX], tmp[STORE_PATH_MAX + 16], err[512];
	if (store_file_path(&r->store, name, path, sizeof path, err, sizeof err)) {
		run_error(r, "%s", err);
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = f ? fn(rr, f) : SB_EIO;
	if (f && fclose(f))
		rc = SB_EIO;
	if (!rc && rename(tmp, path))
		rc = SB_EIO;
	if (rc) {
		unlink(tmp);
		run_error(r, "writing %s failed", path);
	}
	return rc;
}

static int finish(struct run *r, bool ran, int64_t started_wall, double cpu0)
{
	double cpu1 = cpu_seconds();
	char err[1024] = "";
	struct chk_result *res = NULL;
	struct report_run rr = {.spec = &r->spec, .store_dir = r->store.dir,
				.started = (time_t)(started_wall / CLOCK_NS_PER_S),
				.concurrency = r->workers, .model = chk_model_name(r->model),
				.faults = r->acts, .nfaults = r->nacts,
				.interrupted = run_signal != 0, .expect_held = -1, .as_written = -1};
	const char *names[DB_MAX_NODES];
	for (size_t i = 0; r->db && i < r->db->n; i++)
		names[i] = r->db->nodes[i].name;
	rr.nodes = names;
	rr.nnodes = r->db ? r->db->n : 0;
	memcpy(rr.phase, r->phase, sizeof rr.phase);
	memcpy(rr.ops, r->ops, sizeof rr.ops);
	if (r->t0)
		rr.duration_s = (double)run_now(r) / 1e9;
	if (ran) {
		struct chk_options co = {.model = r->model,
					 .timeout_s = (double)r->spec.checker.timeout_ns / 1e9,
					 .memory_limit = (size_t)r->spec.checker.memory};
		if (!co.memory_limit) {
			long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
			if (pages > 0 && psize > 0)
				co.memory_limit = (size_t)pages * (size_t)psize / 2;
		}
		run_log(r, "checking %s with model %s", r->history_path, chk_model_name(r->model));
		if (chk_check_file(r->history_path, &co, &res, err, sizeof err)) {
			res = NULL;
			rr.check_error = err;
		}
	} else {
		rr.check_error = r->nerrors ? r->errors[0] : "the run did not start";
	}
	rr.check = res;
	struct sbuf tl = {0};
	if (r->spec.nemesis.nsteps) {
		run_timeline_json(r, &tl);
		rr.timeline_json = tl.p;
		rr.as_written = ran ? run_timeline_as_written(r) : 0;
	}
	double final = r->phase[REPORT_FINAL][0] >= 0 ? r->phase[REPORT_FINAL][0] : rr.duration_s;
	struct checks_input ci = {.db = r->db, .store_dir = r->store.dir,
				  .history_path = r->history_path, .spec = &r->spec,
				  .faults = r->acts, .nfaults = r->nacts,
				  .end_ns = (int64_t)(final * 1e9), .ran = ran};
	checks_after_run(&r->checks, &ci);
	rr.checks = &r->checks;
	/* When the run first showed what was flagged (results.json detected_s). */
	char detected_by[256];
	struct detect_input di = {.check = res, .history_path = ran ? r->history_path : NULL,
				  .checks = &r->checks, .t0_wall_ns = r->t0_wall,
				  .end_s = rr.duration_s};
	if (detect_first(&di, &rr.detected_s, detected_by, sizeof detected_by))
		rr.detected_by = detected_by;
	rr.cpu_run_s = cpu1 - cpu0;
	rr.cpu_workload_s = r->cpu_workload;
	rr.cpu_check_s = cpu_seconds() - cpu1;
	rr.errors = (const char *const *)r->errors;
	rr.nerrors = r->nerrors;
	report_verdict(&rr);
	/* Faults that could not be injected or healed make the run's verdict unreliable. */
	run_log(r, "verdict: %s (exit %d)", rr.verdict, rr.exit);
	if (r->store.dir[0]) {
		write_store_file(r, "results.json", &rr, report_results_json);
		write_store_file(r, "junit.xml", &rr, report_junit);
		if (report_html_write(r->store.dir, err, sizeof err))
			fprintf(stderr, "splitbrain run: report.html: %s\n", err);
	}
	report_summary(&rr, stdout);
	fflush(stdout);
	int code = rr.exit;
	sbuf_free(&tl);
	chk_result_free(res);
	return code;
}

/* ---- one campaign ------------------------------------------------------------------------ */

static void run_free(struct run *r)
{
	char err[256];
	gen_free(r->gen);
	db_close(r->db);
	nodes_free(&r->nodes);
	if (r->hist)
		hwriter_close(r->hist, err, sizeof err);
	if (r->log)
		fclose(r->log);
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->acts);
	checks_free(&r->checks);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->log_mu);
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->cv_ctl);
}

static int run_one(const struct spec *spec, const struct run_opts *o)
{
	struct run *r = calloc(1, sizeof *r);
	if (!r) {
		fprintf(stderr, "splitbrain run: out of memory\n");
		return SB_EXIT_INTERNAL;
	}
	r->spec = *spec;
	r->leader = -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->log_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_cond_init(&r->cv_ctl, &ca);
	pthread_condattr_destroy(&ca);
	for (int p = 0; p < REPORT_NPHASE; p++)
		r->phase[p][0] = r->phase[p][1] = -1;
	r->progress = o->progress < 0 ? (isatty(STDERR_FILENO) ? 2 : 1) : o->progress;
	r->env = (struct nemesis_env){.spec = &r->spec, .leader = env_leader, .log = env_log,
				      .run = r};
	int64_t started_wall = clock_wall_ns();
	double cpu0 = cpu_seconds();
	char err[2048] = "";
	int rc = 0, code;
	bool ran = false;

	r->wk = workload_find(r->spec.workload.kind);
	r->ck = client_find(r->spec.db.kind);
	if (!r->wk || !r->ck) {
		rc = err_set(err, sizeof err, SB_EINVAL, "%s: no %s named '%s'", r->spec.path,
			     !r->wk ? "workload" : "client for the db kind",
			     !r->wk ? r->spec.workload.kind : r->spec.db.kind);
		goto early;
	}
	r->model = r->wk->model;
	if (r->spec.checker.model[0] &&
	    (rc = chk_model_parse(r->spec.checker.model, &r->model, err, sizeof err)))
		goto early;
	if ((rc = resolve_hosts(r, err, sizeof err)) || (rc = open_store(r, o->store_root, err, sizeof err)))
		goto early;
	fprintf(stderr, "splitbrain run: %s (seed %llu) on %zu nodes; store %s\n", r->spec.name,
		(unsigned long long)r->spec.seed, r->nodes.n, r->store.dir);
	run_log(r, "run %s, seed %llu, spec %s", r->spec.name, (unsigned long long)r->spec.seed,
		r->spec.path);
	if ((rc = open_db(r, err, sizeof err)))
		goto early;
	r->env.db = r->db;
	r->workers = spec_concurrency(&r->spec, r->db->n);
	if ((rc = gen_new(&r->gen, &r->spec, r->workers, err, sizeof err)))
		goto early;
	if ((rc = setup_cluster(r, err, sizeof err))) {
		run_error(r, "setup: %s", err);
		goto out;
	}

	/* The workload. */
	struct worker *ws = calloc(r->workers, sizeof *ws);
	if (!ws) {
		run_error(r, "out of memory");
		goto out;
	}
	r->t0 = clock_mono_ns();
	r->t0_wall = clock_wall_ns();
	double cpu_start = cpu_seconds();
	r->phase[REPORT_MAIN][0] = 0;
	run_log(r, "main phase: %u workers, %.0f s", r->workers,
		(double)r->spec.time_limit_ns / 1e9);
	pthread_t nem;
	run_timeline_init(r);
	r->running = 1;
	if (pthread_create(&nem, NULL, run_nemesis_main, r)) {
		free(ws);
		run_error(r, "cannot start the nemesis thread");
		goto out;
	}
	uint32_t started = 0;
	for (uint32_t w = 0; w < r->workers; w++) {
		ws[w] = (struct worker){.r = r, .w = w};
		pthread_mutex_lock(&r->mu);
		r->running++;
		pthread_mutex_unlock(&r->mu);
		if (pthread_create(&ws[w].th, NULL, worker_main, &ws[w])) {
			pthread_mutex_lock(&r->mu);
			r->running--;
			stop_locked(r, true);
			pthread_mutex_unlock(&r->mu);
			run_error(r, "cannot start worker %u", w);
			break;
		}
		started++;
	}
	ran = true;
	watch(r);
	for (uint32_t w = 0; w < started; w++)
		pthread_join(ws[w].th, NULL);
	pthread_join(nem, NULL);
	r->cpu_workload = cpu_seconds() - cpu_start;
	free(ws);
	{
		double end = (double)run_now(r) / 1e9;
		double main_end = r->phase[REPORT_MAIN][1] >= 0 ? r->phase[REPORT_MAIN][1]
								: (double)r->spec.time_limit_ns / 1e9;
		r->phase[REPORT_MAIN][1] = main_end;
		r->phase[REPORT_HEAL][0] = main_end;
		double rec_end = r->phase[REPORT_RECOVERY][0] + (double)r->spec.recovery_ns / 1e9;
		r->phase[REPORT_RECOVERY][1] = rec_end < end ? rec_end : end;
		if (!r->stop && r->spec.final_reads) {
			r->phase[REPORT_FINAL][0] = r->phase[REPORT_RECOVERY][1];
			r->phase[REPORT_FINAL][1] = end;
		}
	}
out:
	teardown(r);
	if (r->hist && hwriter_close(r->hist, err, sizeof err))
		run_error(r, "%s", err);
	r->hist = NULL;
	code = finish(r, ran, started_wall, cpu0);
	run_free(r);
	free(r);
	return code;
early:
	/* Nothing on the hosts was touched yet. */
	fprintf(stderr, "splitbrain run: %s\n", err);
	code = err_exit_code(rc);
	if (r->store.dir[0]) {
		run_log(r, "error: %s", err);
		if (r->nerrors < REPORT_MAX_ERRORS)
			r->errors[r->nerrors++] = strdup(err);
		code = finish(r, false, started_wall, cpu0);
		if (rc == SB_EINVAL)
			code = SB_EXIT_BADINPUT;
	}
	run_free(r);
	free(r);
	return code;
}

/* ---- campaigns --------------------------------------------------------------------------- */

static int dry_run(struct spec *s, const struct run_opts *o)
{
	struct nodes nd = {0};
	char err[1024];
	size_t n;
	if (s->nodes.kind == SPEC_NODES_LIST) {
		n = s->nodes.nhosts;
	} else if (!nodes_resolve(s->nodes.kind == SPEC_NODES_LAB ? "lab" : s->nodes.file, &nd,
				  err, sizeof err)) {
		n = nd.n;
		nodes_free(&nd);
	} else if (s->nodes.kind == SPEC_NODES_LAB) {
		n = 5;
		printf("# the lab is not up: assuming 5 nodes\n");
	} else {
		fprintf(stderr, "splitbrain run: %s\n", err);
		return SB_EXIT_BADINPUT;
	}
	uint32_t workers = spec_concurrency(s, n);
	printf("# %s: seed %llu, %zu nodes, %u workers\n", s->name, (unsigned long long)s->seed, n,
	       workers);
	if (gen_dry_run(s, workers, o->dry_ops ? o->dry_ops : 20, stdout, err, sizeof err)) {
		fprintf(stderr, "splitbrain run: %s\n", err);
		return SB_EXIT_INTERNAL;
	}
	run_timeline_print(s, stdout);
	return 0;
}

int run_main(const struct run_opts *o)
{
	struct spec *s = malloc(sizeof *s);
	char err[2048];
	if (!s) {
		fprintf(stderr, "splitbrain run: out of memory\n");
		return SB_EXIT_INTERNAL;
	}
	int rc = spec_load(s, o->spec_path, err, sizeof err);
	if (!rc)
		rc = spec_override(s, &o->ov, err, sizeof err);
	if (rc) {
		fprintf(stderr, "splitbrain run: %s\n", err);
		free(s);
		return err_exit_code(rc);
	}
	if (!s->seed_given) {
		/* Any seed will do; it is recorded in test.yaml and results.json for replays. */
		s->seed = (uint64_t)clock_wall_ns() ^ ((uint64_t)getpid() << 32);
		s->seed_given = true;
	}
	if (o->dry_run) {
		rc = dry_run(s, o);
		free(s);
		return rc;
	}
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	/* A closed pipe to a client must not kill the controller mid-run. */
	signal(SIGPIPE, SIG_IGN);
	run_signal = 0;
	int worst = SB_EXIT_VALID;
	unsigned count = o->test_count ? o->test_count : 1;
	uint64_t seed = s->seed;
	for (unsigned i = 0; i < count && !run_signal; i++) {
		s->seed = seed + i;
		if (count > 1)
			fprintf(stderr, "splitbrain run: campaign %u of %u\n", i + 1, count);
		worst = err_exit_worst(worst, run_one(s, o));
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(s);
	return worst;
}
