/* opt — one table-driven command-line parser for every subcommand (git's parse-options in
 * spirit).
 *
 * A command declares its options in an array of struct opt ending with OPT_END, each with
 * where its value goes; opt_parse() fills them and collects the positional arguments.
 *
 * Accepted forms: `--name value`, `--name=value`, `-x value` (a one-letter alias), flags
 * `--name` alone. Options and positional arguments may come in any order
 * (`check h.jsonl --model kv` works); `--` ends the options, and what follows it is kept apart
 * (opt_args.rest) for commands that pass it on. A lone `-` is a positional argument (standard
 * input). `-h` and `--help` make opt_parse return OPT_HELP.
 *
 * Values are checked by type, with one message shape for every command:
 *   OPT_STR       the text (borrowed from argv); an empty value is refused unless
 *                 OPT_ALLOW_EMPTY is set
 *   OPT_INT       an integer in [min, max] (into an int)
 *   OPT_LLONG     the same into a long long
 *   OPT_DOUBLE    a finite number in [dmin, dmax] (into a double)
 *   OPT_DURATION  a duration in nanoseconds (into an int64_t): 500ms, 5s, 2m; a bare number
 *                 means seconds; must lie in [min, max] nanoseconds
 *   OPT_SIZE      a size in bytes (into a uint64_t): 512M, 2G; a bare number is in units of
 *                 `unit` bytes; at most max
 *   OPT_FLAG      no value; sets an int to 1
 *   OPT_LIST      repeatable; appends the text to a const char * array of `cap` entries
 *                 whose count is *count
 *   OPT_FN        calls fn(opt, value, err, errlen), which checks and stores it
 * As with getopt, a later value of an option replaces an earlier one (scripts put common
 * options first and override some), except OPT_LIST, which collects them all.
 *
 * Errors are SB_EINVAL with messages like "--timeout '5x': unknown unit 'x' (ns, us, ms, s,
 * m, h)", "unknown option '--foo'", "--json needs a value". The caller prints
 * "splitbrain CMD: MESSAGE" and its usage, and exits 254.
 *
 * Pure (no output); thread-safe.
 */
#ifndef SB_OPT_H
#define SB_OPT_H

#include <stddef.h>
#include <stdint.h>

enum opt_type {
	OPT_END_ = 0,
	OPT_STR,
	OPT_INT,
	OPT_LLONG,
	OPT_DOUBLE,
	OPT_DURATION,
	OPT_SIZE,
	OPT_FLAG,
	OPT_LIST,
	OPT_FN,
};

#define OPT_ALLOW_EMPTY 1 /* flags: an empty string is a valid OPT_STR value */

struct opt;
typedef int (*opt_fn)(const struct opt *o, const char *value, char *err, size_t errlen);

struct opt {
	enum opt_type type;
	const char *name; /* long name without the dashes: "timeout" */
	char alias;       /* one-letter alias ('n' for -n), or 0 */
	void *dst;        /* where the value goes (type as above); for OPT_FN, passed in o->dst */
	long long min, max; /* OPT_INT/OPT_LLONG bounds; OPT_DURATION bounds in ns; OPT_SIZE max */
	double dmin, dmax;  /* OPT_DOUBLE bounds */
	uint64_t unit;      /* OPT_SIZE: bytes per unit of a bare number (0 = 1) */
	size_t cap;         /* OPT_LIST: capacity of the array at dst */
	size_t *count;      /* OPT_LIST: entries stored */
	opt_fn fn;          /* OPT_FN */
	int flags;
};

#define OPT_END {.type = OPT_END_}
/* Shorthands for the common rows. */
#define OPT_STRING(n, a, d) {.type = OPT_STR, .name = (n), .alias = (a), .dst = (d)}
#define OPT_BOOL(n, a, d) {.type = OPT_FLAG, .name = (n), .alias = (a), .dst = (d)}

/* What is left after the options. All pointers point into argv. */
struct opt_args {
	char **pos;   /* positional arguments in order (an array of argc pointers: caller frees
			 with opt_args_free) */
	int npos;
	char **rest;  /* what followed `--` (NULL when there was no `--`); rest[nrest] == NULL */
	int nrest;
};

#define OPT_HELP 1 /* opt_parse's return when -h/--help was given */

/* Parse argv[1..argc) (argv[0] is the command's name). Returns 0, OPT_HELP, or SB_EINVAL /
 * SB_ENOMEM with a message. `args` is filled on 0 and OPT_HELP; free it with opt_args_free in
 * every case. */
int opt_parse(const struct opt *opts, int argc, char **argv, struct opt_args *args, char *err,
	      size_t errlen);
void opt_args_free(struct opt_args *args);

/* The same, for commands that pass a command line on (`hosts run -- ls -l`): after max_pos
 * positional arguments, the next one and everything after it go to args->rest unparsed, as
 * if `--` stood before it. */
int opt_parse_head(const struct opt *opts, int argc, char **argv, int max_pos,
		   struct opt_args *args, char *err, size_t errlen);

#endif
