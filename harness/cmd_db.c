/* splitbrain db — the node's lifecycle on its hosts (db.h), by hand. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/db/db.h"
#include "harness/lab/lab.h"
#include "harness/db/logscan.h"
#include "harness/control/nodes.h"
#include "harness/store/store.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/opt.h"

int cmd_db(int argc, char **argv);

static const char db_usage[] =
	"usage: splitbrain db <action> [options] [-- raftnode arguments]\n"
	"\n"
	"actions:\n"
	"  install   upload the binary and its config to each node's directory\n"
	"  start     start the nodes as daemons and wait until their client ports answer\n"
	"  deploy    install, then start\n"
	"  stop      SIGTERM (then SIGKILL after 5 s)\n"
	"  kill      SIGKILL\n"
	"  pause     SIGSTOP\n"
	"  resume    SIGCONT\n"
	"  restart   stop, then start; the data directory is kept\n"
	"  wipe      kill, then remove the node's directory (data, logs, binary)\n"
	"  leader    print the leader: a majority agreeing through INFO, else the logs\n"
	"  status    a table: node, pid, up, role, term, leader, commit index\n"
	"  logs      download logs and a data-dir listing into the store and scan them\n"
	"\n"
	"options:\n"
	"  --nodes lab|FILE    the hosts (default lab: the running lab's nodes file)\n"
	"  --node NAME|leader|all  which nodes (a comma-separated list is fine; default all)\n"
	"  --binary PATH       the raftnode binary to install (default build/raftnode)\n"
	"  --store DIR         store root for `logs` (default store): DIR/db-logs/<time>/<node>/\n"
	"  --run-id ID         nodes live in /var/lib/splitbrain/ID/<node>/ (default: lab-<tag>\n"
	"                      for the lab, nodes-<hash> for a nodes file); on a lab's hosts\n"
	"                      install records it, and `lab down` removes those directories\n"
	"  --base-dir DIR      instead of /var/lib/splitbrain\n"
	"  --client-port P     default 7001 (peer port: --peer-port, default 7000); hosts that\n"
	"                      share an address get P + index (peers from 7101 by default)\n"
	"  --timeout D         readiness and leader-discovery limit: 500ms, 10s, 2m (a bare\n"
	"                      number: seconds; default 10s)\n"
	"  --pattern NAME=RE   `logs`: also report lines matching this PCRE2 pattern (repeatable);\n"
	"                      the defaults report panics, assertion failures and fatal lines\n"
	"\n"
	"Arguments after `--` are appended to raftnode's command line, e.g.\n"
	"`-- --election-timeout 150-300`; install and start record the command line in the\n"
	"node's raftnode.args, and install/start/restart without `--` reuse that record.\n"
	"Processes are only ever addressed by their pid file. Exit: 0 ok, 2 no leader found,\n"
	"254 bad arguments, 255 a host or node failed.\n";

#define MAX_PATTERNS 16

struct db_cli {
	const char *action;
	const char *nodes;
	const char *node;
	const char *binary;
	const char *store;
	const char *run_id;
	const char *base_dir;
	int client_port, peer_port;
	int timeout_ms;
	const char *patterns[MAX_PATTERNS];
	size_t npatterns;
	char **args; /* after "--", NULL-terminated (points into argv); NULL without "--" */
};

/* --node: "all", "leader" or NAME[,NAME...]; an empty name anywhere in the list (",",
 * "n1,,n2", "n1,") is refused here, before any host is contacted. */
static int node_list_check(const char *list, char *err, size_t errlen)
{
	if (!strcmp(list, "all") || !strcmp(list, "leader"))
		return 0;
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0)
			return err_set(err, errlen, SB_EINVAL,
				       "--node '%s': empty name in the list (NAME[,NAME...], all or "
				       "leader)",
				       list);
		if (len >= CONTROL_NAME_MAX)
			return err_set(err, errlen, SB_EINVAL, "--node '%s': name too long", list);
		p += len;
		if (!*p)
			return 0;
	}
}

static int parse_args(int argc, char **argv, struct db_cli *c)
{
	memset(c, 0, sizeof *c);
	c->nodes = "lab";
	c->node = "all";
	c->binary = "build/raftnode";
	c->store = "store";
	int64_t timeout_ns = 10 * CLOCK_NS_PER_S;
	const struct opt opts[] = {
		OPT_STRING("nodes", 0, &c->nodes),
		OPT_STRING("node", 0, &c->node),
		OPT_STRING("binary", 0, &c->binary),
		OPT_STRING("store", 0, &c->store),
		OPT_STRING("run-id", 0, &c->run_id),
		OPT_STRING("base-dir", 0, &c->base_dir),
		{.type = OPT_INT, .name = "client-port", .dst = &c->client_port, .min = 1,
		 .max = 65535},
		{.type = OPT_INT, .name = "peer-port", .dst = &c->peer_port, .min = 1, .max = 65535},
		{.type = OPT_DURATION, .name = "timeout", .dst = &timeout_ns,
		 .min = CLOCK_NS_PER_MS, .max = 3600 * CLOCK_NS_PER_S},
		{.type = OPT_LIST, .name = "pattern", .dst = c->patterns, .cap = MAX_PATTERNS,
		 .count = &c->npatterns},
		OPT_END,
	};
	struct opt_args args;
	char err[512];
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		opt_args_free(&args);
		fputs(db_usage, stdout);
		return 1;
	}
	if (!rc && args.npos == 0)
		rc = err_set(err, sizeof err, SB_EINVAL, "no action given");
	if (!rc && args.npos > 1)
		rc = err_set(err, sizeof err, SB_EINVAL, "unexpected argument '%s'", args.pos[1]);
	if (!rc)
		rc = node_list_check(c->node, err, sizeof err);
	for (size_t k = 0; !rc && k < c->npatterns; k++)
		if (!strchr(c->patterns[k], '='))
			rc = err_set(err, sizeof err, SB_EINVAL, "--pattern '%s': expected NAME=REGEX",
				     c->patterns[k]);
	if (!rc) {
		c->action = args.pos[0];
		/* Arguments after `--` go to raftnode; without `--`, each node's recorded ones. */
		c->args = args.rest;
		c->timeout_ms = (int)(timeout_ns / CLOCK_NS_PER_MS);
	}
	opt_args_free(&args);
	if (rc) {
		fprintf(stderr, "splitbrain db: %s\n(see 'splitbrain db --help')\n", err);
		return -1;
	}
	return 0;
}

static int default_run_id(const struct db_cli *c, const struct nodes *nd, char *out,
			  size_t outlen, char *err, size_t errlen)
{
	if (c->run_id) {
		snprintf(out, outlen, "%s", c->run_id);
		return 0;
	}
	return db_default_run_id(c->nodes, nd->path, out, outlen, err, errlen);
}

/* Fill sel[] from --node: "all", "leader", or a comma-separated list of names. */
static int select_nodes(struct db *db, const struct db_cli *c, bool *sel, char *err,
			size_t errlen)
{
	memset(sel, 0, db->n * sizeof *sel);
	if (!strcmp(c->node, "all")) {
		for (size_t i = 0; i < db->n; i++)
			sel[i] = true;
		return 0;
	}
	if (!strcmp(c->node, "leader")) {
		struct db_leader l;
		int rc = db_leader(db, c->timeout_ms, &l, err, errlen);
		if (rc)
			return rc;
		if (l.source == DB_LEADER_NONE)
			return err_set(err, errlen, SB_ETIMEOUT, "--node leader: no leader found");
		sel[l.index] = true;
		printf("leader: %s (term %llu, %s)\n", l.node, (unsigned long long)l.term,
		       l.source == DB_LEADER_INFO ? "INFO" : "logs");
		return 0;
	}
	/* The list's shape was checked by node_list_check. */
	for (const char *p = c->node;; p++) {
		size_t len = strcspn(p, ",");
		char name[CONTROL_NAME_MAX];
		snprintf(name, sizeof name, "%.*s", (int)len, p);
		int idx = db_find(db, name);
		if (idx < 0)
			return err_set(err, errlen, SB_EINVAL, "--node: no node '%s' in %s", name,
				       c->nodes);
		sel[idx] = true;
		p += len;
		if (!*p)
			return 0;
	}
}

static void print_status(struct db *db, const bool *sel, const struct db_status *st)
{
	printf("%-12s %-8s %-4s %-10s %-6s %-12s %-8s %s\n", "node", "pid", "up", "role", "term",
	       "leader", "commit", "note");
	for (size_t i = 0; i < db->n; i++) {
		if (!sel[i])
			continue;
		const struct db_status *s = &st[i];
		char pid[24] = "-", term[24] = "-", commit[24] = "-";
		if (s->pid > 0)
			snprintf(pid, sizeof pid, "%ld", s->pid);
		if (s->up)
			snprintf(term, sizeof term, "%llu", (unsigned long long)s->term);
		if (s->up && s->commit_index >= 0)
			snprintf(commit, sizeof commit, "%lld", s->commit_index);
		printf("%-12s %-8s %-4s %-10s %-6s %-12s %-8s %s\n", db->nodes[i].name, pid,
		       s->up ? "yes" : "no", s->up && s->role[0] ? s->role : "-", term,
		       s->up && s->leader[0] ? s->leader : "-", commit, s->error);
	}
}

struct scan_ctx {
	unsigned long failures;
};

static int print_match(const struct logscan_match *m, void *arg)
{
	struct scan_ctx *sc = arg;
	if (strcmp(m->pattern, "leader") != 0)
		sc->failures++;
	printf("%s:%lu: [%s] %s\n", m->file, m->line, m->pattern, m->text);
	return 0;
}

static int do_logs(struct db *db, const struct db_cli *c, const bool *sel, char *err,
		   size_t errlen)
{
	struct logscan *ls = NULL;
	struct store s;
	int rc = logscan_new(&ls, err, errlen);
	if (rc)
		return rc;
	if ((rc = logscan_add_defaults(ls, NULL, err, errlen)))
		goto out;
	for (size_t k = 0; k < c->npatterns; k++) {
		const char *eq = strchr(c->patterns[k], '=');
		char name[LOGSCAN_NAME_MAX];
		size_t len = (size_t)(eq - c->patterns[k]);
		if (len >= sizeof name) {
			rc = err_set(err, errlen, SB_EINVAL, "--pattern: name too long");
			goto out;
		}
		memcpy(name, c->patterns[k], len);
		name[len] = '\0';
		if ((rc = logscan_add(ls, name, eq + 1, err, errlen))) {
			err_prefix(err, errlen, "--pattern");
			goto out;
		}
	}
	if ((rc = store_open(&s, c->store, "db-logs", time(NULL), err, errlen)))
		goto out;
	if ((rc = db_collect(db, sel, s.dir, err, errlen)))
		goto out;
	printf("logs of %zu node(s) in %s\n", db->n, s.dir);
	struct scan_ctx sc = {0};
	for (size_t i = 0; i < db->n; i++) {
		if (!sel[i])
			continue;
		static const char *const files[] = {"raftnode.log", "stdout.log"};
		for (size_t k = 0; k < 2; k++) {
			char path[STORE_PATH_MAX + CONTROL_NAME_MAX + 32];
			snprintf(path, sizeof path, "%s/%s/%s", s.dir, db->nodes[i].name, files[k]);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			fclose(f);
			if ((rc = logscan_file(ls, path, print_match, &sc, NULL, err, errlen)))
				goto out;
		}
	}
	printf("%lu line(s) matched patterns other than leader\n", sc.failures);
out:
	logscan_free(ls);
	return rc;
}

int cmd_db(int argc, char **argv)
{
	struct db_cli c;
	int p = parse_args(argc, argv, &c);
	if (p > 0)
		return 0;
	if (p < 0)
		return SB_EXIT_BADINPUT;
	static const struct {
		const char *name;
		int op; /* enum db_op, or -1 for the actions handled here */
	} actions[] = {
		{"install", DB_OP_INSTALL}, {"start", DB_OP_START},     {"stop", DB_OP_STOP},
		{"kill", DB_OP_KILL},       {"pause", DB_OP_PAUSE},     {"resume", DB_OP_RESUME},
		{"restart", DB_OP_RESTART}, {"wipe", DB_OP_WIPE},       {"deploy", -1},
		{"leader", -1},             {"status", -1},             {"logs", -1},
	};
	int op = -2;
	for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++)
		if (!strcmp(actions[k].name, c.action))
			op = actions[k].op;
	if (op == -2) {
		fprintf(stderr, "splitbrain db: unknown action '%s'\nsee 'splitbrain db --help'\n",
			c.action);
		return SB_EXIT_BADINPUT;
	}

	char err[4096] = "";
	struct nodes nd = {0};
	struct db *db = NULL;
	bool *sel = NULL;
	struct db_status *st = NULL;
	int rc = nodes_resolve(c.nodes, &nd, err, sizeof err);
	char run_id[CONTROL_NAME_MAX];
	if (!rc)
		rc = default_run_id(&c, &nd, run_id, sizeof run_id, err, sizeof err);
	if (!rc) {
		struct db_opts o = {.binary = c.binary, .base_dir = c.base_dir, .run_id = run_id,
				    .client_port = c.client_port, .peer_port = c.peer_port,
				    .args = (const char *const *)c.args,
				    .ready_timeout_ms = c.timeout_ms};
		rc = db_open(&db, nd.hosts, nd.n, &o, err, sizeof err);
	}
	if (rc)
		goto out;
	if (!(sel = calloc(db->n, sizeof *sel)) || !(st = calloc(db->n, sizeof *st))) {
		rc = err_set(err, sizeof err, SB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = select_nodes(db, &c, sel, err, sizeof err)))
		goto out;

	if (op == DB_OP_INSTALL || !strcmp(c.action, "deploy")) {
		/* A lab's hosts keep node data on this machine: `lab down` must know the run. */
		if ((rc = db_record_lab_run(db, c.nodes, nd.path, err, sizeof err)))
			goto out;
	}
	if (op >= 0 || !strcmp(c.action, "deploy")) {
		if (op < 0) {
			if ((rc = db_each(db, DB_OP_INSTALL, sel, NULL, err, sizeof err)))
				goto out;
			op = DB_OP_START;
		}
		rc = db_each(db, (enum db_op)op, sel, NULL, err, sizeof err);
		if (!rc)
			for (size_t i = 0; i < db->n; i++)
				if (sel[i])
					printf("%s %s: ok\n", c.action, db->nodes[i].name);
	} else if (!strcmp(c.action, "status")) {
		/* The table is printed even when some host failed; the exit code says so. */
		rc = db_status_all(db, st, err, sizeof err);
		print_status(db, sel, st);
	} else if (!strcmp(c.action, "leader")) {
		struct db_leader l;
		if ((rc = db_leader(db, c.timeout_ms, &l, err, sizeof err)))
			goto out;
		if (l.source == DB_LEADER_NONE) {
			printf("no leader\n");
			rc = SB_ETIMEOUT;
			snprintf(err, sizeof err, "no leader found within %d ms", c.timeout_ms);
			goto out;
		}
		if (l.source == DB_LEADER_INFO)
			printf("%s term=%llu source=info agree=%zu/%zu\n", l.node,
			       (unsigned long long)l.term, l.votes, db->n);
		else
			printf("%s term=%llu source=log\n", l.node, (unsigned long long)l.term);
	} else if (!strcmp(c.action, "logs")) {
		rc = do_logs(db, &c, sel, err, sizeof err);
	}
out:
	free(sel);
	free(st);
	db_close(db);
	nodes_free(&nd);
	if (rc) {
		fprintf(stderr, "splitbrain db: %s\n", err);
		if (rc == SB_ETIMEOUT && !strcmp(c.action, "leader"))
			return SB_EXIT_UNKNOWN;
		return err_exit_code(rc);
	}
	return 0;
}
