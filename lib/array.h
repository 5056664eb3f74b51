/* array — growing a malloc'd array by doubling its capacity.
 *
 * Pure (realloc only: no I/O, clock or randomness), so the Raft core may use it; libc only.
 */
#ifndef SB_ARRAY_H
#define SB_ARRAY_H

#include <stddef.h>

/* Make room for at least `need` elements of `elem` bytes in the array *p, whose capacity is
 * *cap elements: when need > *cap the capacity doubles, starting from `first` for an empty
 * array (first > 0), until it holds `need`, and *p is realloc'd. The elements already there
 * are kept; the new part is left uninitialised. Returns 0, or SB_ENOMEM when memory runs out
 * or the size overflows (then *p and *cap are unchanged and still owned by the caller). */
int array_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/* The same, and the new part (from the old capacity to the new) is zeroed. */
int array_grow_zero(void **p, size_t *cap, size_t need, size_t elem, size_t first);

#endif
