/* matrix — the runs of `splitbrain test-all`: specs × seeds, and the shard each belongs to.
 *
 * The matrix has one entry per (spec, seed): a spec's seeds are its `seed:` (or, when it has
 * none, the base seed given, else one derived from its file name) and the test_count - 1
 * seeds after it. A shard I of N takes the entries whose key — the spec's path as given,
 * normalised ("./a//b.yaml" is "a/b.yaml"), and the seed — hashes to I - 1 modulo N. So every
 * entry is in exactly one shard of N, the same entry always lands in the same shard whatever
 * else is in the matrix (adding, removing or reordering specs moves no other entry), and CI
 * jobs that each run one shard of the same command together run the whole matrix once.
 * Shards are balanced only statistically: with few entries one may get more than another.
 *
 * Pure except matrix_expand (which lists directories) and matrix_result_read.
 */
#ifndef SB_MATRIX_H
#define SB_MATRIX_H

#include <stddef.h>
#include <stdint.h>

/* "I/N" with 1 <= I <= N <= 10000. SB_EINVAL with a message otherwise. */
int matrix_parse_shard(const char *text, unsigned *i, unsigned *n, char *err, size_t errlen);

/* The path without "./" components and repeated slashes (pure, textual). */
void matrix_normalise(const char *path, char *out, size_t outlen);

/* The shard (1..n) of the entry (path, seed); path is normalised first. */
unsigned matrix_shard(const char *path, uint64_t seed, unsigned n);

/* The seed of a spec that gives none: derived from its normalised path, so every CI job
 * agrees on it. */
uint64_t matrix_default_seed(const char *path);

/* Of two exit codes of runs, the one a matrix reports: bad input (254) over an environment
 * error (255) over invalid (1) over unknown (2) over valid (0), as `run --test-count` does. */
int matrix_worse_exit(int a, int b);

/* Expand the arguments: a directory gives its *.yaml and *.yml files (not recursive, sorted
 * by name), a file itself. *paths (caller frees with matrix_paths_free) in argument order.
 * SB_EINVAL naming an argument that is neither, or a directory without specs. */
int matrix_expand(const char *const *args, size_t nargs, char ***paths, size_t *npaths,
		  char *err, size_t errlen);
void matrix_paths_free(char **paths, size_t n);

/* What a stored run concluded, from its results.json (docs/store.md). */
struct matrix_result {
	char test[128];
	uint64_t seed;
	char verdict[16];     /* valid, invalid, unknown, error */
	int exit;
	char expect[16];      /* "" when the spec has no expect: */
	int expect_held;      /* -1: no expectation */
	double duration_s;
};

/* Read <run_dir>/results.json. SB_EIO when it cannot be read (a run killed before it was
 * written), SB_EINVAL when it is not what splitbrain writes; the message names the file. */
int matrix_result_read(const char *run_dir, struct matrix_result *out, char *err,
		       size_t errlen);

#endif
