/* report/html_data — what report.html shows, read from a run's files (internal to report/).
 *
 * html_data.c reads: the checker's result JSON (which keys are invalid, their counterexample
 * and the order the search reached), one pass over the history (operations aggregated for
 * the charts, fault windows from nemesis events, and for each invalid key a bounded window
 * of its operations around the counterexample with their history lines), and the nodes' logs
 * (role and term over time). html.c and html_svg.c turn it into the page.
 */
#ifndef SB_REPORT_HTML_DATA_H
#define SB_REPORT_HTML_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lib/history.h"
#include "lib/sbuf.h"

#define REP_MAX_KEYVIEWS 8   /* invalid keys drawn; the others are listed */
#define REP_RING 24          /* operations of the key that completed before the bad one */
#define REP_AFTER 8          /* operations of the key invoked after it completed */
#define REP_MAX_BARS 400     /* bars in one key view */
#define REP_LIN_TAIL 30      /* entries of the linearized order looked for in the window */
#define REP_MAX_FAULTS 2000  /* fault windows drawn */

/* One operation for the charts: 24 bytes, so a million cost 24 MB. */
struct rep_op {
	int64_t t0, t1; /* ns; t1 < 0: never completed */
	uint8_t type;   /* enum htype of the completion (HTYPE_INFO for an open op) */
};

struct rep_fault {
	double start, end; /* seconds since the run started; end < 0: never healed */
	char *label;       /* "kill n2", "partition {n1} / {n2, n3}" */
};

/* One bar of a key view: an operation of that key. */
struct rep_bar {
	uint64_t line, ret_line; /* ret_line 0: never completed */
	int64_t process;
	int64_t t0, t1;          /* ns (or line numbers when the history has no times); t1 < 0 */
	uint8_t type;            /* enum htype of the completion; HTYPE_INVOKE: never completed */
	uint8_t bad, conc;       /* the operation that cannot be linearized / concurrent with it */
	long order;              /* 1-based position in the linearized order; 0: not in it */
	char *label;             /* "w 3", "r 5", "cas 1→2" */
	char *text;              /* the history lines (invocation, completion) */
};

struct rep_keyview {
	char *key;     /* JSON text of the key; NULL: the history's single key */
	char *why;     /* the checker's sentence */
	int undecided; /* an unknown key: bad_line is the op its search could not get past */
	char *states;  /* the states the search reached, as text */
	uint64_t bad_line, bad_ret_line;
	uint64_t *conc;  /* invocation lines of the concurrent ops (from the counterexample) */
	size_t nconc, nconc_total;
	uint64_t *lin;   /* linearized order (invocation lines) */
	size_t nlin, lin_skipped;
	struct rep_bar *bars; /* sorted by invocation line once the history is read */
	size_t nbars, capbars;
	struct rep_bar ring[REP_RING];
	size_t nring, ring_next, nafter;
};

/* A node's role over time, from its log. */
enum rep_role { ROLE_DOWN = 0, ROLE_FOLLOWER, ROLE_CANDIDATE, ROLE_LEADER };

struct rep_seg {
	double t0, t1; /* seconds since the run started */
	int64_t term;  /* -1 unknown */
	uint8_t role;
};

struct rep_node {
	char *name;
	struct rep_seg *segs;
	size_t nsegs, capsegs;
	size_t lines; /* log lines read */
};

/* One history and what the page shows about it. */
struct rep_hist {
	char *path;          /* the history file */
	char *name;          /* as shown */
	struct hval *chk;    /* the checker's result for it (owned), or NULL */
	struct rep_op *ops;
	size_t nops, capops;
	uint64_t n_ok, n_fail, n_info, n_open, events, n_nemesis;
	int64_t t_end;       /* ns of the last event */
	int has_time;        /* the history has `time` fields */
	struct rep_fault *faults;
	size_t nfaults;
	int faults_given;    /* faults came from results.json (not from the history) */
	struct rep_keyview *kv;
	size_t nkv;
	size_t ninvalid;     /* invalid keys in the checker's result */
	size_t nundecided;   /* unknown keys in the checker's result */
	char *note;          /* why the history could not be read to its end, or NULL */
};

/* ---- JSON access (over lib/history's struct hval) ---- */
/* Parse a whole JSON text (newlines allowed). *out owned by the caller (chk_value_free). */
int rep_json_parse(const char *text, size_t len, struct hval **out, char *err, size_t errlen);
const struct hval *rep_jget(const struct hval *obj, const char *name);
const char *rep_jstr(const struct hval *v);  /* NULL unless a string */
int rep_jnum(const struct hval *v, double *out); /* 0 when a number */
void rep_jformat(const struct hval *v, struct sbuf *b); /* compact JSON text */

/* ---- loading ---- */
/* Take the invalid keys from h->chk (when set) into h->kv. */
int rep_keys_from_checker(struct rep_hist *h, char *err, size_t errlen);
/* Read the history at h->path (one pass); a history that breaks the format or ends early
 * leaves h->note set and keeps what was read. Returns 0, or SB_ENOMEM / SB_EIO when the file
 * cannot be opened at all. */
int rep_history_read(struct rep_hist *h, char *err, size_t errlen);
/* Faults from results.json's "faults" array (takes over h->faults). */
int rep_faults_from_json(struct rep_hist *h, const struct hval *faults);
/* Read <dir>/<node>/ *.log for role and term over time. `started` is the run's start (seconds
 * since the epoch, fractional) that log times are measured from; kill faults mark the killed
 * nodes down. *out: an array of n nodes (caller frees with rep_nodes_free). */
int rep_nodes_read(const char *dir, const char *const *names, size_t n, double started,
		   const struct rep_hist *h, struct rep_node **out, char *err, size_t errlen);
void rep_nodes_free(struct rep_node *nodes, size_t n);
void rep_hist_free(struct rep_hist *h);

/* Parse an ISO 8601 UTC time "2026-11-24T00:10:00.123456Z" into seconds since the epoch. */
int rep_parse_utc(const char *s, double *out);

#endif
