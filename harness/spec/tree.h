/* spec/tree — a YAML document as a small tree with positions (internal to spec/).
 *
 * Built from libyaml's event API rather than its document API so that every refusal has the
 * position of what is refused: anchors and aliases (a YAML "billion laughs" document is
 * refused at its first anchor instead of being walked), tags, a second document, nesting
 * deeper than SPEC_TREE_MAX_DEPTH, more than SPEC_TREE_MAX_NODES nodes. Mapping keys must be
 * scalars. Nothing is resolved here: a scalar keeps its text, its length (a double-quoted
 * "\0" makes a NUL byte inside it) and whether it was plain (unquoted), which decides whether
 * `~`/`null`/empty means null.
 *
 * Pure (no I/O); thread-safe.
 */
#ifndef SB_SPEC_TREE_H
#define SB_SPEC_TREE_H

#include <stdbool.h>
#include <stddef.h>

#define SPEC_TREE_MAX_DEPTH 32
#define SPEC_TREE_MAX_NODES 100000

enum ynode_type { YNODE_SCALAR = 0, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_type type;
	int line, col;          /* 1-based */
	char *text;             /* scalar: the value, NUL-terminated (owned) */
	size_t len;             /* scalar: its length (may hold NUL bytes before len) */
	bool plain;             /* scalar: written without quotes */
	struct ynode **kids;    /* map: key, value, key, value, ...; seq: the items (owned) */
	size_t n;               /* number of entries in kids */
	size_t cap;
};

/* Parse `text[0..len)` (one YAML document). On success *root is the document's root (NULL
 * for an empty stream) and the caller frees it with spec_tree_free. Errors: SB_EINVAL with
 * "LINE:COL: message" (no file name: the caller adds it), SB_ENOMEM. */
int spec_tree_parse(const char *text, size_t len, struct ynode **root, char *err,
		    size_t errlen);

void spec_tree_free(struct ynode *n); /* NULL is fine */

/* Is the node a plain null (`~`, `null`, `Null`, `NULL` or nothing, unquoted)? */
bool spec_tree_is_null(const struct ynode *n);

/* "a list", "a mapping", "null", "a string" ...: what a node is, for "expected X, got Y". */
const char *spec_tree_kind(const struct ynode *n);

#endif
