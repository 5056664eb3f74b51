/* bigmem — large arrays in their own 2 MiB-aligned mappings, with transparent huge pages.
 *
 * A fresh process meets every page it touches for the first time, and each first touch is a
 * page fault. For arrays of many pages (the checker's operations, the search's per-operation
 * lists and its memo) one fault of a 2 MiB huge page costs far less than 512 faults of 4 KiB
 * pages, where the kernel grants huge pages (bench/RESULTS.md, "Checker: memory touched for
 * the first time", has the figures). Blocks under BIGMEM_MIN come from malloc: there a huge
 * page would cost more than the faults it saves.
 *
 * The caller keeps each block's size and passes it back to bigmem_grow and bigmem_free.
 * Built with AddressSanitizer, every block comes from malloc, so that its bounds are checked,
 * and the parts of a carved block are kept apart by poisoned gaps.
 * No I/O, clock or randomness; libc and mmap only.
 */
#ifndef SB_BIGMEM_H
#define SB_BIGMEM_H

#include <stddef.h>

/* Blocks of this many bytes or more are mapped (rounded up to whole 2 MiB huge pages). */
#define BIGMEM_MIN ((size_t)256 << 10)

/* 1 when large blocks are mapped; 0 under AddressSanitizer, where all come from malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define BIGMEM_MAPS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIGMEM_MAPS 0
#endif
#endif
#ifndef BIGMEM_MAPS
#define BIGMEM_MAPS 1
#endif

/* A block of `size` bytes (size > 0), uninitialised; NULL when memory runs out. */
void *bigmem_alloc(size_t size);

/* The same, zeroed (a fresh mapping is zero already: nothing is touched). */
void *bigmem_zalloc(size_t size);

/* Grows (or keeps) block p of `oldsize` bytes to `newsize` >= oldsize, keeping its contents
 * (mapped blocks are moved by remapping, not copied). p may be NULL with oldsize 0. NULL when
 * memory runs out: then p is unchanged and still the caller's. */
void *bigmem_grow(void *p, size_t oldsize, size_t newsize);

/* Frees block p of `size` bytes (the size it was allocated or last grown to); NULL is fine. */
void bigmem_free(void *p, size_t size);

/* Carving one block into arrays: take every part once with base NULL, which only adds up
 * the size (and returns NULL), allocate that, then take the same parts again from the block.
 * Each part starts on a 64-byte boundary. */
struct bigmem_carve {
	char *base;
	size_t off;
};
void *bigmem_take(struct bigmem_carve *cv, size_t bytes);

#endif
