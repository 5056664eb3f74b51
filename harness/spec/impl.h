/* spec/impl — the field tables shared by the parser (spec.c), the writer and the field
 * reference (write.c). Internal to harness/spec/.
 *
 * Every field of a section is one row: its YAML name, its type, where its value goes
 * (offset into the section's struct), bounds, the default (as YAML text, parsed by the same
 * code as the file's values) and a doc line. A section is a table plus an optional check
 * that runs after the section's mapping was read (cross-field rules, kinds, derived
 * defaults). Rows with a `custom` type bring their own parse and write functions.
 */
#ifndef SB_SPEC_IMPL_H
#define SB_SPEC_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/spec/spec.h"
#include "harness/spec/tree.h"

enum spec_type {
	SPEC_T_STR = 0,  /* printable text into a char array */
	SPEC_T_NAME,     /* a store-safe name (store.h) into a char array */
	SPEC_T_WORD,     /* [A-Za-z0-9_.-]+ into a char array */
	SPEC_T_ENUM,     /* one of `choices` ("a|b|c"): into a char array, or with SPEC_F_INDEX
			    the choice's index into an enum */
	SPEC_T_LPATH,    /* a local file: relative to the spec's directory, `~/` expanded */
	SPEC_T_CPATH,    /* a local file: relative to the current directory */
	SPEC_T_RPATH,    /* an absolute path on the hosts */
	SPEC_T_INT,      /* int */
	SPEC_T_U32,      /* uint32_t */
	SPEC_T_U64,      /* uint64_t, the whole range */
	SPEC_T_DOUBLE,   /* double in [dmin, dmax] */
	SPEC_T_DURATION, /* int64_t ns in [min, max]; a bare number is seconds */
	SPEC_T_SDURATION, /* the same, with an optional sign */
	SPEC_T_SIZE,     /* uint64_t bytes in [min, max]; a bare number is MiB */
	SPEC_T_BOOL,     /* bool */
	SPEC_T_MAP,      /* a nested section at `off` */
	SPEC_T_LIST,     /* a list of `sub` items: array at off, count at count_off */
	SPEC_T_CUSTOM,   /* parse and write of its own */
};

#define SPEC_F_REQUIRED 1u   /* must be given */
#define SPEC_F_MULTILINE 2u  /* SPEC_T_STR: tabs and newlines allowed */
#define SPEC_F_AGENT 4u      /* SPEC_T_LPATH: the word `agent` stands for "" (ssh-agent) */
#define SPEC_F_INDEX 8u      /* SPEC_T_ENUM: store the choice's index into an enum */

struct spec_ctx;
struct spec_field;

struct spec_custom {
	const char *type_doc; /* for the field reference: "a number or Nn (per node)" */
	/* Parse the YAML value v into base (the section's struct). Errors via spec_fail. */
	int (*parse)(struct spec_ctx *c, const struct spec_field *f, void *base,
		     const struct ynode *v);
	/* Write the value (after "name:"): a scalar on the same line, or a block on the lines
	 * after it, indented by `indent` spaces. */
	void (*write)(FILE *out, const struct spec_field *f, const void *base, int indent);
};

struct spec_section;

struct spec_field {
	const char *name;
	enum spec_type type;
	size_t off;               /* offset of the value in the section's struct */
	size_t size;              /* char arrays: their size */
	long long min, max;       /* INT, U32, DURATION (ns), SIZE (bytes) */
	double dmin, dmax;        /* DOUBLE */
	const char *choices;      /* ENUM: "strict|accept-new|off" */
	const char *def;          /* the default as YAML text; NULL: none, or derived (def_doc) */
	const char *def_doc;      /* the default as the reference shows it, when derived */
	const char *example;      /* a value for the reference */
	const char *doc;          /* one line */
	unsigned flags;           /* SPEC_F_* */
	const struct spec_section *sub; /* MAP, LIST */
	size_t count_off, max_items;    /* LIST: size_t count, capacity */
	size_t given_off;         /* offset + 1 of a bool set when the field is given; 0: none */
	const struct spec_custom *custom;
	/* Written by spec_write? NULL: always (or, in a section with set_off, when set). */
	bool (*present)(const void *base);
};

struct spec_section {
	const char *name;         /* "workload", for messages; "" at the top level */
	const struct spec_field *fields;
	size_t nfields;
	size_t size;              /* sizeof the struct a LIST holds */
	long long set_off;        /* >= 0: uint64_t bits of the fields given (spec_fault.set):
				     only those are written */
	long long pos_off;        /* >= 0: struct spec_pos of the mapping */
	/* Runs after the mapping was read; `given` has bit i for field i. */
	int (*check)(struct spec_ctx *c, void *base, const struct ynode *map, uint64_t given);
};

/* Parsing state: the spec being filled, the file's name for messages, the dotted path of the
 * section being read ("nemesis.faults[2]"). */
struct spec_ctx {
	struct spec *s;
	const char *file;
	char *err;
	size_t errlen;
	char path[160];
	bool in_timeline;         /* reading a timeline step's `do:` */
};

/* The sections (fields.c). */
extern const struct spec_section spec_sec_top, spec_sec_ssh, spec_sec_db, spec_sec_workload,
	spec_sec_mix, spec_sec_nemesis, spec_sec_fault, spec_sec_step, spec_sec_checker,
	spec_sec_availability, spec_sec_host;

/* Cross-section checks and derived defaults, once the whole file was read (fields.c). */
int spec_resolve(struct spec_ctx *c, const struct ynode *root);

/* spec.c: the parser's pieces used by the custom rows. */
int spec_fail(struct spec_ctx *c, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read map v into base according to sec (path extended by `name`). */
int spec_walk(struct spec_ctx *c, const struct spec_section *sec, void *base,
	      const struct ynode *v, const char *name);
/* The value of key `name` in map (NULL if absent or map is not a mapping), and its key. */
const struct ynode *spec_find(const struct ynode *map, const char *name);
const struct ynode *spec_find_key(const struct ynode *map, const char *name);
/* A scalar's text checked for NUL and control characters and length < size; errors name
 * the field. */
int spec_text(struct spec_ctx *c, const struct spec_field *f, const struct ynode *v,
	      size_t size, bool multiline);
/* Copy src into a char array of `size`, zero-filling the rest (so structs compare equal). */
void spec_copy(char *dst, size_t size, const char *src);
/* "path.name" into buf. */
void spec_field_path(const struct spec_ctx *c, const char *name, char *buf, size_t n);
/* Quote a value for a message: 'abc', shortened and with unprintable bytes escaped. */
const char *spec_show(const char *s, size_t len, char *buf, size_t n);
/* The closest name of a list ("a|b|c" when sep is '|'), or NULL when none is close. */
const char *spec_suggest(const char *word, const char *const *names, size_t n);
/* Is s a word: [A-Za-z0-9_.-]+? */
bool spec_is_word(const char *s);
/* Parse a scalar's text as field f into base; on error, a message without position or
 * field name ("expected a number, got 'x'"). */
int spec_parse_text(const struct spec_field *f, void *base, const char *text, const char *dir,
		    char *err, size_t errlen);
/* Refuse NUL bytes, control characters (tabs and newlines too unless multiline) and
 * invalid UTF-8. */
int spec_check_text(const char *s, bool multiline, char *err, size_t errlen);
/* Range checks on parsed numbers, with the same messages. */
int spec_check_ll(const struct spec_field *f, long long v, const char *shown, char *err,
		  size_t errlen);
int spec_check_double(const struct spec_field *f, double v, const char *shown, char *err,
		      size_t errlen);
/* Resolve a local path against dir (or the current directory when dir is NULL), expanding
 * `~/`: the result is absolute. */
int spec_abs_path(const char *p, const char *dir, char *out, size_t outlen, char *err,
		  size_t errlen);
/* The field of a section by name, and its index. */
const struct spec_field *spec_field_find(const struct spec_section *sec, const char *name,
					 size_t *index);

/* "a duration such as 30s", "one of a, b": what a field takes, for messages and docs. */
const char *spec_type_doc(const struct spec_field *f, char *buf, size_t n);

/* write.c */
void spec_write_scalar(FILE *out, const struct spec_field *f, const void *base);
void spec_write_string(FILE *out, const char *s);
/* Write the fields of a section, one per line at `indent`; as a list item, the first line
 * starts with "- " two columns to the left. */
void spec_write_section(FILE *out, const struct spec_section *sec, const void *base, int indent,
			bool item);

#endif
