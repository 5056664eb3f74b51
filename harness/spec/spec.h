/* spec — a test as a YAML file (docs/spec.md, workloads/README.md): parsed with libyaml into
 * one validated struct spec, with every default filled in.
 *
 *     name: register-kill-leader
 *     nodes: lab                     # lab | a nodes file | a list of hosts
 *     db: {kind: raftnode, binary: build/raftnode, args: [--election-timeout, 150-300]}
 *     workload: {kind: kv, keys: 8, concurrency: 2n, rate: 500, mix: {read: 2, write: 1, cas: 1}}
 *     nemesis:
 *       interval: 5s
 *       faults:
 *         - {kind: kill, target: leader, restart_after: 2s}
 *         - {kind: pause, target: random, duration: 2s}
 *     time_limit: 30s
 *     checker: {timeout: 60s}
 *     seed: 42
 *
 * Every field is declared in a table (name, type, bounds, default, where it goes), so the
 * parser, the resolved output (spec_write) and workloads/README.md agree. Unknown keys, wrong
 * types, values out of range, duplicate keys and missing required fields are errors
 * "FILE:LINE:COL: what is wrong" (SB_EINVAL, exit 254), where LINE:COL point at the offending
 * key or value. Kinds are checked against their tables: workload kinds (workload.h), db kinds
 * (one row each in spec/fields.c), fault kinds and the fields each takes (nemesis.h), checker
 * models (checker.h). Anchors, aliases and tags are refused (a YAML bomb stops at its first
 * anchor), and so is a second document.
 * Quantities use lib/units: durations `500ms`, `5s`, `2m` (a bare number is seconds), rates in
 * operations per second, concurrency as a number or per node (`2n`).
 *
 * A struct spec is plain data (fixed-size arrays, no pointers to free), so it can be copied.
 * Thread rules: none (read-only once loaded).
 */
#ifndef SB_SPEC_H
#define SB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SPEC_NAME_MAX 128
#define SPEC_PATH_MAX 1024
#define SPEC_WORD_MAX 64     /* kinds, node names, targets, models */
#define SPEC_MAX_HOSTS 64
#define SPEC_MAX_ARGS 64     /* db.args */
#define SPEC_ARG_MAX 256     /* one db argument */
#define SPEC_MAX_FAULTS 32
#define SPEC_MAX_STEPS 64    /* nemesis timeline steps */
#define SPEC_MAX_GROUPS 9    /* partition groups */
#define SPEC_MAX_DCS 9       /* `datacenters:` labels */

/* Where a value came from in the YAML file, for errors found after parsing (a node name that
 * the nodes file does not have, ...). line/col are 1-based; 0 = not from the file. */
struct spec_pos {
	int line, col;
};

enum spec_nodes_kind {
	SPEC_NODES_LAB = 0, /* `nodes: lab`: the running lab's nodes file */
	SPEC_NODES_FILE,    /* `nodes: path/to/nodes`: a nodes file (relative to the spec) */
	SPEC_NODES_LIST,    /* `nodes: [{name: n1, address: 10.0.0.1, ...}, ...]` */
};

/* One host of `nodes:` given as a list (SPEC_NODES_LIST). Connection settings not given here
 * come from `ssh:`. */
struct spec_host {
	char name[SPEC_WORD_MAX];
	char address[256];
	int port;                     /* 0: ssh.port */
	char user[SPEC_WORD_MAX];     /* "": ssh.user */
	char dc[SPEC_WORD_MAX];       /* datacenter label, "" if none */
	struct spec_pos pos;
};

/* One label of `datacenters:` and the nodes it holds ("n1,n2"). */
struct spec_dc {
	char label[SPEC_WORD_MAX];
	char nodes[SPEC_NAME_MAX];
	struct spec_pos pos;
};

struct spec_nodes {
	enum spec_nodes_kind kind;
	char file[SPEC_PATH_MAX];     /* SPEC_NODES_FILE: resolved against the spec's directory */
	struct spec_host hosts[SPEC_MAX_HOSTS]; /* SPEC_NODES_LIST */
	size_t nhosts;
	struct spec_pos pos;
};

/* `ssh:` — defaults for hosts given as a list. */
struct spec_ssh {
	char user[SPEC_WORD_MAX];           /* default root */
	char private_key[SPEC_PATH_MAX];    /* default: ssh-agent; `~/` is expanded */
	int port;                           /* default 22 */
	char known_hosts[SPEC_PATH_MAX];    /* default ~/.ssh/known_hosts */
	char host_key[16];                  /* strict (default) | accept-new | off */
	int64_t connect_timeout_ns;         /* default 5s */
};

/* `db:` — the system under test. */
struct spec_db {
	char kind[SPEC_WORD_MAX];           /* default raftnode (db.h's table) */
	char binary[SPEC_PATH_MAX];         /* raftnode: default build/raftnode (relative to the
					       current directory, like every CLI path) */
	char args[SPEC_MAX_ARGS][SPEC_ARG_MAX]; /* extra arguments for the node */
	size_t nargs;
	char base_dir[SPEC_PATH_MAX];       /* default /var/lib/splitbrain */
	int client_port, peer_port;         /* 0: the kind's defaults */
	bool keep_data;                     /* default false: every run starts on wiped nodes */
	bool keep_running;                  /* default false: nodes are stopped and wiped at the
					       end (after their logs are collected) */
	int64_t ready_timeout_ns;           /* default 20s: cluster up and a leader elected */
};

/* Operation mix weights (any non-negative numbers; only the workload's operations may be
 * non-zero). */
struct spec_mix {
	double read, write, cas, add, append;
};

enum spec_key_dist { SPEC_KEYS_UNIFORM = 0, SPEC_KEYS_ZIPF };

/* `workload:` */
struct spec_workload {
	char kind[SPEC_WORD_MAX];     /* register | kv | set | list-append (workload.h's table);
					 required */
	uint32_t keys;                /* default: the workload's (register 1, others 8) */
	enum spec_key_dist key_dist;  /* `key_dist: uniform | zipf`, default uniform */
	double zipf_s;                /* default 1.0 */
	uint32_t concurrency;         /* worker processes; with concurrency_per_node, times the
					 number of nodes (`2n`); default 2n */
	bool concurrency_per_node;
	double rate;                  /* total operations per second; 0: as fast as the workers
					 go; default 100 */
	double jitter;                /* 0..1: each gap is 1/rate * (1 ± jitter); default 0.5 */
	struct spec_mix mix;          /* default: the workload's (filled in by the parser) */
	bool mix_given;               /* the spec had `mix:` (informational: mix is always set) */
	int64_t op_timeout_ns;        /* one operation's time limit; default 5s */
	uint32_t ops_per_key;         /* move on to a fresh key after this many operations on a
					 key (Jepsen's independent keys: keeps each key's search
					 small); 0 = never; default 0 */
};

/* One fault of `nemesis.faults` (or the action of a timeline step). A flat set of fields:
 * each fault kind (nemesis.h) says which it takes and which it requires; the parser refuses
 * the others ("pause does not take restart_after"). */
struct spec_fault {
	char kind[SPEC_WORD_MAX];     /* kill | pause | partition | crashpoint | netem | clock | ... */
	double weight;                /* random schedule: relative frequency; default 1 */
	char target[SPEC_NAME_MAX];   /* leader | followers | random | minority | majority | all |
					 node names "n1,n2"; default: the kind's */
	int64_t duration_ns;          /* how long the fault lasts before it is healed */
	int64_t restart_after_ns;     /* kill/crashpoint: delay before the node is restarted */
	/* partition */
	char shape[SPEC_WORD_MAX];
	char groups[SPEC_MAX_GROUPS][SPEC_NAME_MAX]; /* explicit groups: "n1,n2" each */
	size_t ngroups;
	char dc[SPEC_WORD_MAX];       /* cut-dc */
	char link[2][SPEC_WORD_MAX];  /* cut-link */
	/* crashpoint */
	char point[SPEC_WORD_MAX];
	uint32_t hit;                 /* fire on the hit-th pass; default 1 */
	/* netem */
	int64_t delay_ns, jitter_ns;
	double loss, duplicate, reorder, corrupt; /* percentages 0..100 */
	/* clock */
	int64_t offset_ns;
	double clock_rate;            /* 1.0 = normal speed */
	uint64_t set;                 /* which fields hold a value (given, or the default of a
					 field the kind takes): ask spec_fault_given() */
	struct spec_pos pos;
};

/* One step of a nemesis timeline (`nemesis.timeline`). */
struct spec_step {
	char name[SPEC_WORD_MAX];     /* `id:`; later steps name it as `$id` in targets */
	int64_t at_ns;                /* `at:` time into the run; -1 when `when:` is used */
	char when[SPEC_NAME_MAX];     /* condition: "leader", "died", "commit" or "log"; "" with at */
	char when_arg[512];           /* commit: N (digits); log: the PCRE2 pattern (checked) */
	int64_t timeout_ns;           /* how long the condition may take; default 30s */
	struct spec_fault action;     /* what the step does */
	bool heal;                    /* `do: heal`: heal every active fault */
	struct spec_pos pos;
};

struct spec_nemesis {
	bool enabled;                 /* a `nemesis:` section with faults or a timeline */
	int64_t interval_ns;          /* random schedule: a fault starts every interval; default 10s */
	int64_t start_after_ns;       /* first fault not before this; default = interval */
	uint32_t max_concurrent;      /* active faults at once; default 1 */
	struct spec_fault faults[SPEC_MAX_FAULTS];
	size_t nfaults;
	struct spec_step steps[SPEC_MAX_STEPS];
	size_t nsteps;
};

struct spec_checker {
	char model[SPEC_WORD_MAX];    /* default: the workload's model */
	int64_t timeout_ns;           /* default 60s; keys not decided: unknown */
	uint64_t memory;              /* bytes; default 0 = half the machine's memory */
};

/* `availability:` — thresholds on how the cluster serves clients around faults
 * (harness/check/availability.h). Zero: not checked; the figures are reported either way. */
struct spec_availability {
	int64_t recover_within_ns;    /* every fault: an acknowledged write within this of its
					 start */
	double min_ok_share;          /* every fault window: at least this share succeeded */
	double min_recovery_ok_share; /* every recovery period (heal to next fault) */
};

struct spec {
	char path[SPEC_PATH_MAX];     /* the file it was read from */
	char dir[SPEC_PATH_MAX];      /* its directory (relative paths in it resolve here) */
	char name[SPEC_NAME_MAX];     /* required; a store path component (store.h) */
	char description[512];        /* optional free text */
	struct spec_nodes nodes;      /* default lab */
	/* `datacenters: {east: [n1, n2], west: [n3, n4], central: [n5]}`: datacenter labels by
	 * node name, for hosts whose nodes file has none (the lab's): the runner gives each named
	 * host that label (a host's own different `dc` is an error). */
	struct spec_dc dcs[SPEC_MAX_DCS];
	size_t ndcs;
	struct spec_ssh ssh;
	struct spec_db db;
	struct spec_workload workload;
	struct spec_nemesis nemesis;
	int64_t time_limit_ns;        /* the main phase; default 30s */
	int64_t recovery_ns;          /* after healing, before the final reads; default 5s */
	int64_t final_timeout_ns;     /* the final reads' time limit; default 30s */
	bool final_reads;             /* default true */
	struct spec_checker checker;
	struct spec_availability availability;
	uint64_t seed;
	bool seed_given;              /* when not given, the runner picks one and records it */
	char expect[16];              /* "" | valid | invalid: what the run must find */
};

/* Does fault f have a value for `field` (its YAML name: "duration", "target")? True when
 * the spec gave it, or when the kind takes it and it has a default. */
bool spec_fault_given(const struct spec_fault *f, const char *field);

/* Fill every field with its default (name, workload kind empty). */
void spec_defaults(struct spec *s);

/* Read and validate the YAML file at `path`. Errors: SB_EIO (cannot read), SB_EINVAL with
 * "PATH:LINE:COL: message". On error *s is unspecified. */
int spec_load(struct spec *s, const char *path, char *err, size_t errlen);

/* The same from memory; `name` stands for the file name in messages and `dir` for its
 * directory (relative paths). */
int spec_load_mem(struct spec *s, const char *name, const char *dir, const char *text,
		  size_t len, char *err, size_t errlen);

/* Command-line overrides (Jepsen's CLI): NULL/zero fields are not overridden. Values are
 * validated like the YAML's; errors name the option ("--rate: ..."). */
struct spec_overrides {
	const char *nodes;            /* --nodes lab|FILE */
	int64_t time_limit_ns;        /* --time-limit */
	const char *concurrency;      /* --concurrency 10 | 2n */
	double rate;                  /* --rate (>= 0; 0 given explicitly needs rate_given) */
	bool rate_given;
	uint64_t seed;                /* --seed */
	bool seed_given;
	/* --bug NAME (repeatable): raftnode's bug switch, appended to db.args as `--bug NAME`
	 * (node/raft.h); refused for another db kind. One scenario, run against the correct
	 * node and against each bug, is what the detection matrix does. */
	const char *const *bugs;
	size_t nbugs;
	const char *expect;           /* --expect valid|invalid|none (none: no expectation) */
	const char *binary;           /* --binary: db.binary (relative to the current directory),
					 for a spec recorded on another machine */
};
int spec_override(struct spec *s, const struct spec_overrides *o, char *err, size_t errlen);

/* Clear what depends on where and how the spec was written rather than on the test it
 * describes: the file's name and directory, the YAML positions, mix_given. Two specs of the
 * same test then compare equal with memcmp (a spec and the spec_write of it read back). */
void spec_normalise(struct spec *s);

/* The number of worker processes for a cluster of `nnodes` nodes. */
uint32_t spec_concurrency(const struct spec *s, size_t nnodes);

/* Write the resolved spec as YAML: every field with its value (defaults filled in, the seed
 * given), in the order of the field tables, so that `splitbrain run` of the output runs the
 * same test. Returns 0 or SB_EIO. */
int spec_write(const struct spec *s, FILE *f);

/* The field reference in Markdown, drawn from the same tables (every section's fields with
 * type, default, example and meaning; the workload kinds; the fault kinds). workloads/README.md
 * holds a copy between markers; test_spec fails when the two differ, and
 * `build/tools/specdoc --update workloads/README.md` refreshes it. Returns 0 or SB_EIO. */
int spec_write_reference(FILE *out);

#endif
