/* hmap — a small open-addressing hash map: 64-bit key -> non-negative int32 value, for the
 * checker's per-key tables (trie children, element ids, interned states).
 *
 * A zeroed struct hmap is an empty map. Values must be >= 0 (-1 marks an empty slot, and
 * hmap_get() returns -1 for a missing key); any 64-bit key is allowed. The map owns its
 * arrays (hmap_free()). Thread rules: one thread at a time.
 */
#ifndef SB_CHECKER_HMAP_H
#define SB_CHECKER_HMAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hash.h"

struct hmap {
	uint64_t *k;
	int32_t *v; /* -1 = empty slot */
	size_t cap, n;
	/* Optional: asked every few hundred thousand entries while a large map grows; a
	 * nonzero answer abandons the growth (a time limit passed). */
	int (*over)(void *arg);
	void *over_arg;
};

/* The value of key, or -1. Inline: the searches look keys up in their inner loops. */
static inline int32_t hmap_get(const struct hmap *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	size_t i = hash_mix64(key) & (m->cap - 1);
	while (m->v[i] >= 0) {
		if (m->k[i] == key)
			return m->v[i];
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}
/* Set key to val (>= 0), replacing an old value. Returns 0, -1 out of memory, or -2 when
 * `over` stopped a growth (the map is unchanged in both cases). */
int hmap_put(struct hmap *m, uint64_t key, int32_t val);
void hmap_free(struct hmap *m);

#endif
