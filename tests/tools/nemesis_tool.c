/* nemesis_tool — drive the fault kinds (harness/nemesis) by hand, for the integration tests:
 * the same kind->start / heal / heal_all the interpreter calls, on a cluster opened through
 * db and control, without a run around them.
 *
 *   nemesis_tool [--nodes lab|FILE] [--run-id ID] [--base-dir DIR] [--binary PATH]
 *                [--faketime] [--seed N] [-- NODE ARGS...]
 *
 * Reads one command per line on stdin and answers one line on stdout:
 *   start KIND [FIELD=VALUE ...]   ok<TAB>ID<TAB>DESC<TAB>VALUE          (or: error<TAB>MSG)
 *   heal ID                        ok<TAB>ID<TAB>HEAL_DESC<TAB>HEAL_VALUE<TAB>ACT_ERROR
 *   heal-all [KIND]                ok   (every kind's heal_all in table order, or one kind's)
 *   leader                         ok<TAB>NAME   (or ok<TAB>- without one)
 *   db OP                          ok   (install, start, stop, kill, restart, wipe on all nodes)
 *   quit                           forget every act (no heal: heal_all's job) and exit
 * Fields: target, shape, dc, point (text); groups=n1,n2/n3,n4,n5; link=A,B; hit (count);
 * duration, restart_after, delay, jitter, offset (durations: 500ms, 2s, -1h); loss,
 * duplicate, reorder, corrupt, rate (numbers). Log lines of the faults go to stderr.
 * Exit: 0, or 254 on bad options, 255 when the cluster cannot be opened.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/nodes.h"
#include "harness/db/db.h"
#include "harness/nemesis/nemesis.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/rng.h"
#include "lib/units.h"

#define MAX_ACTS 256

struct tool {
	struct db *db;
	struct nemesis_env env;
	struct nemesis_act acts[MAX_ACTS];
	struct spec_fault faults[MAX_ACTS];
	size_t nacts;
	int64_t t0;
	uint64_t rnd;
};

static int64_t tool_now(const struct tool *t)
{
	return clock_mono_ns() - t->t0;
}

static int env_leader(struct nemesis_env *env, int timeout_ms)
{
	struct db_leader l;
	char err[512];
	if (db_leader(env->db, timeout_ms, &l, err, sizeof err) || l.source == DB_LEADER_NONE)
		return -1;
	return (int)l.index;
}

static void env_log(struct nemesis_env *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "log: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int set_text(char *dst, size_t len, const char *v, const char *name, char *err,
		    size_t errlen)
{
	if (strlen(v) >= len)
		return err_set(err, errlen, SB_EINVAL, "%s too long", name);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_duration(int64_t *dst, const char *v, char *err, size_t errlen)
{
	bool neg = v[0] == '-';
	int rc = units_duration(v + neg, CLOCK_NS_PER_S, INT64_MAX / 4, dst, err, errlen);
	if (neg)
		*dst = -*dst;
	return rc;
}

static int set_field(struct spec_fault *f, const char *k, const char *v, char *err,
		     size_t errlen)
{
	if (!strcmp(k, "target"))
		return set_text(f->target, sizeof f->target, v, k, err, errlen);
	if (!strcmp(k, "shape"))
		return set_text(f->shape, sizeof f->shape, v, k, err, errlen);
	if (!strcmp(k, "dc"))
		return set_text(f->dc, sizeof f->dc, v, k, err, errlen);
	if (!strcmp(k, "point"))
		return set_text(f->point, sizeof f->point, v, k, err, errlen);
	if (!strcmp(k, "groups")) {
		for (const char *p = v; *p && f->ngroups < SPEC_MAX_GROUPS;) {
			size_t n = strcspn(p, "/");
			if (n >= sizeof f->groups[0])
				return err_set(err, errlen, SB_EINVAL, "group too long");
			memcpy(f->groups[f->ngroups], p, n);
			f->groups[f->ngroups++][n] = '\0';
			p += n + (p[n] == '/');
		}
		return 0;
	}
	if (!strcmp(k, "link")) {
		size_t n = strcspn(v, ",");
		if (!v[n] || n >= sizeof f->link[0] || strlen(v + n + 1) >= sizeof f->link[1])
			return err_set(err, errlen, SB_EINVAL, "link=A,B");
		memcpy(f->link[0], v, n);
		f->link[0][n] = '\0';
		return set_text(f->link[1], sizeof f->link[1], v + n + 1, k, err, errlen);
	}
	if (!strcmp(k, "hit")) {
		long long h;
		int rc = units_int(v, 1, UINT32_MAX, &h, err, errlen);
		f->hit = (uint32_t)h;
		return rc;
	}
	struct {
		const char *name;
		int64_t *ns;
	} durs[] = {{"duration", &f->duration_ns}, {"restart_after", &f->restart_after_ns},
		    {"delay", &f->delay_ns},       {"jitter", &f->jitter_ns},
		    {"offset", &f->offset_ns}};
	for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++)
		if (!strcmp(k, durs[i].name))
			return set_duration(durs[i].ns, v, err, errlen);
	struct {
		const char *name;
		double *d;
	} nums[] = {{"loss", &f->loss},       {"duplicate", &f->duplicate}, {"reorder", &f->reorder},
		    {"corrupt", &f->corrupt}, {"rate", &f->clock_rate}};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (!strcmp(k, nums[i].name))
			return units_double(v, -1e9, 1e9, nums[i].d, err, errlen);
	return err_set(err, errlen, SB_EINVAL, "unknown field '%s'", k);
}

static void cmd_start(struct tool *t, char *args)
{
	char err[2048] = "";
	char *save = NULL, *kind = strtok_r(args, " ", &save);
	const struct nemesis_kind *k = kind ? nemesis_find(kind) : NULL;
	if (!k) {
		printf("error\tunknown kind '%s' (%s)\n", kind ? kind : "", nemesis_names());
		return;
	}
	if (t->nacts == MAX_ACTS) {
		printf("error\ttoo many acts\n");
		return;
	}
	struct spec_fault *f = &t->faults[t->nacts];
	memset(f, 0, sizeof *f);
	snprintf(f->kind, sizeof f->kind, "%s", kind);
	for (char *w; (w = strtok_r(NULL, " ", &save));) {
		char *eq = strchr(w, '=');
		if (!eq) {
			printf("error\texpected FIELD=VALUE, got '%s'\n", w);
			return;
		}
		*eq = '\0';
		if (set_field(f, w, eq + 1, err, sizeof err)) {
			printf("error\t%s: %s\n", w, err);
			return;
		}
	}
	struct nemesis_act *a = &t->acts[t->nacts];
	memset(a, 0, sizeof *a);
	*a = (struct nemesis_act){.id = t->nacts, .kind = k, .fault = f, .started = tool_now(t)};
	a->until = a->started + (f->duration_ns > 0 ? f->duration_ns : f->restart_after_ns);
	uint64_t rnd = rng_splitmix(&t->rnd);
	if (k->start(&t->env, a, rnd, err, sizeof err)) {
		printf("error\t%s\n", err);
		free(a->state); /* a failed start leaves no state, but be sure */
		return;
	}
	t->nacts++;
	printf("ok\t%llu\t%s\t%s\n", (unsigned long long)a->id, a->desc, a->value);
}

static void cmd_heal(struct tool *t, const char *arg)
{
	char *end = NULL;
	unsigned long long id = strtoull(arg ? arg : "", &end, 10);
	if (!arg || end == arg || id >= t->nacts) {
		printf("error\tno act '%s'\n", arg ? arg : "");
		return;
	}
	struct nemesis_act *a = &t->acts[id];
	char err[2048] = "";
	if (a->kind->heal(&t->env, a, err, sizeof err)) {
		printf("error\t%s\n", err);
		return;
	}
	a->healed = true;
	a->healed_at = tool_now(t);
	printf("ok\t%llu\t%s\t%s\t%s\n", id, a->heal_desc, a->heal_value, a->error);
}

static void cmd_heal_all(struct tool *t, const char *kind)
{
	int failed = 0;
	char err[2048] = "";
	for (size_t i = 0; nemesis_kinds[i]; i++) {
		if (kind && strcmp(kind, nemesis_kinds[i]->name))
			continue;
		if (nemesis_kinds[i]->heal_all(&t->env, err, sizeof err)) {
			fprintf(stderr, "heal_all %s: %s\n", nemesis_kinds[i]->name, err);
			failed++;
		}
	}
	if (failed)
		printf("error\t%d kind(s) failed to heal: %s\n", failed, err);
	else
		printf("ok\n");
}

static void cmd_db(struct tool *t, const char *op)
{
	static const struct {
		const char *name;
		enum db_op op;
	} ops[] = {{"install", DB_OP_INSTALL}, {"start", DB_OP_START}, {"stop", DB_OP_STOP},
		   {"kill", DB_OP_KILL},       {"restart", DB_OP_RESTART}, {"wipe", DB_OP_WIPE}};
	for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(op, ops[i].name)) {
			char err[2048];
			if (db_each(t->db, ops[i].op, NULL, NULL, err, sizeof err))
				printf("error\t%s\n", err);
			else
				printf("ok\n");
			return;
		}
	printf("error\tdb: unknown operation '%s'\n", op ? op : "");
}

static void serve(struct tool *t)
{
	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *save = NULL, *cmd = strtok_r(line, " ", &save);
		if (!cmd)
			continue;
		char *rest = save ? save : (char *)"";
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "start"))
			cmd_start(t, rest);
		else if (!strcmp(cmd, "heal"))
			cmd_heal(t, strtok_r(NULL, " ", &save));
		else if (!strcmp(cmd, "heal-all"))
			cmd_heal_all(t, strtok_r(NULL, " ", &save));
		else if (!strcmp(cmd, "db"))
			cmd_db(t, strtok_r(NULL, " ", &save));
		else if (!strcmp(cmd, "leader")) {
			int l = env_leader(&t->env, 10000);
			printf("ok\t%s\n", l < 0 ? "-" : t->db->nodes[l].name);
		} else
			printf("error\tunknown command '%s'\n", cmd);
		fflush(stdout);
	}
	/* Forgotten, not healed: heal_all undoes what is left (the state is plain memory). */
	for (size_t i = 0; i < t->nacts; i++)
		free(t->acts[i].state);
}

int main(int argc, char **argv)
{
	const char *nodes_arg = "lab", *run_id = NULL, *base = NULL, *binary = NULL;
	bool faketime = false;
	const char *const *args = NULL;
	uint64_t seed = (uint64_t)clock_wall_ns();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			args = (const char *const *)&argv[i + 1];
			break;
		} else if (!strcmp(a, "--faketime")) {
			faketime = true;
		} else if (i + 1 < argc && !strcmp(a, "--nodes")) {
			nodes_arg = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--run-id")) {
			run_id = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--base-dir")) {
			base = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "--seed")) {
			seed = strtoull(argv[++i], NULL, 10);
		} else if (i + 1 < argc && !strcmp(a, "--binary")) {
			binary = argv[++i];
		} else {
			fprintf(stderr, "nemesis_tool: bad option '%s' (see the comment at the top)\n", a);
			return 254;
		}
	}
	static struct tool t;
	struct nodes nodes;
	char err[2048], rid[CONTROL_NAME_MAX];
	int rc = nodes_resolve(nodes_arg, &nodes, err, sizeof err);
	if (!rc && !run_id && !(rc = db_default_run_id(nodes_arg, nodes.path, rid, sizeof rid, err,
							   sizeof err)))
		run_id = rid;
	struct db_opts o = {.binary = binary, .base_dir = base, .run_id = run_id, .args = args,
			    .faketime = faketime};
	if (!rc)
		rc = db_open(&t.db, nodes.hosts, nodes.n, &o, err, sizeof err);
	nodes_free(&nodes);
	if (rc) {
		fprintf(stderr, "nemesis_tool: %s\n", err);
		return err_exit_code(rc);
	}
	t.env = (struct nemesis_env){.db = t.db, .leader = env_leader, .log = env_log};
	t.t0 = clock_mono_ns();
	t.rnd = seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	serve(&t);
	db_close(t.db);
	return 0;
}
