/* values — interning of history values into dense int32 ids.
 *
 * A value (struct hval) is reduced to a canonical byte string (numbers by value: integral
 * floats become the integers they are, integers beyond 64 bits keep their exact decimal
 * text; EDN keywords and strings compare equal; as in hval_equal) and interned: equal values
 * get the same id, ids are dense from 0. The table keeps only the canonical bytes; vtab_format()
 * turns an id back into JSON text for reports.
 *
 * Thread rules: interning is single-threaded; once interning is over, vtab_format() and the
 * other readers may run from many threads at once.
 */
#ifndef SB_CHECKER_VALUES_H
#define SB_CHECKER_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "lib/hash.h"
#include "lib/history.h"
#include "lib/sbuf.h"

struct vtab {
	char *bytes; /* canonical encodings, back to back */
	size_t nbytes, capbytes;
	uint64_t *off;  /* per id: offset in bytes */
	uint32_t *len;  /* per id: length */
	uint64_t *hash; /* per id */
	size_t n, capn;
	uint32_t *slots; /* open addressing: id + 1, 0 = empty */
	size_t nslots;   /* power of two */
	size_t ngen;     /* ids in slots (all but the integers) */
	/* integers, the common case, have their own table: one probe touches one slot */
	struct vint { int64_t v; uint32_t id1; } *ints; /* id1 = id + 1, 0 = empty */
	size_t nints, nintslots;
	struct sbuf scratch;
};

void vtab_init(struct vtab *t);
void vtab_free(struct vtab *t);
/* The id of v, interned if new. Returns >= 0, or -1 when out of memory. */
int32_t vtab_intern(struct vtab *t, const struct hval *v);
/* The id of a 64-bit integer value. */
int32_t vtab_intern_int(struct vtab *t, int64_t i);
/* Append the JSON text of id to b. */
void vtab_format(const struct vtab *t, int32_t id, struct sbuf *b);
/* 1 if the value is JSON null. */
int vtab_is_null(const struct vtab *t, int32_t id);
/* Bytes the table holds (for memory accounting). */
size_t vtab_bytes(const struct vtab *t);

/* A value reference: integers in [-2^62, 2^62) are held in the reference itself (the
 * common case costs no table lookup), any other value is an interned id. Equal values have
 * equal references. */
typedef uint64_t vref;
#define VREF_UNKNOWN UINT64_MAX /* a read whose value is unknown (never a real reference) */

static inline int vref_fits_int(int64_t v)
{
	return v >= -((int64_t)1 << 62) && v < ((int64_t)1 << 62);
}
static inline vref vref_int(int64_t v)
{
	return (uint64_t)v << 1;
}
/* The reference of v (interned if needed). Returns 0, or -1 when out of memory. */
int vtab_ref(struct vtab *t, const struct hval *v, vref *out);
/* Append the JSON text of r to b. */
void vtab_format_ref(const struct vtab *t, vref r, struct sbuf *b);

/* A 64-bit mix of x (splitmix64 finaliser). */
static inline uint64_t mix64(uint64_t x)
{
	return hash_mix64(x);
}

#endif
