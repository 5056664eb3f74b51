/* hash — the project's one non-cryptographic string hash: FNV-1a, in 32 and 64 bits.
 *
 * Used where a stable, portable hash of bytes is part of an interface: lab names derived from
 * a directory's path, run ids derived from a nodes file's path, raftnode's state digest and
 * key placement, the history writer's hash of event text. Pure; libc only.
 */
#ifndef SB_HASH_H
#define SB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV64_INIT 14695981039346656037ull
#define HASH_FNV32_INIT 2166136261u

/* FNV-1a of p[0..n), starting from h (HASH_FNV64_INIT for a fresh hash; pass a previous
 * result to hash pieces as one string). */
uint64_t hash_fnv64(uint64_t h, const void *p, size_t n);
uint32_t hash_fnv32(uint32_t h, const void *p, size_t n);

/* The same of a NUL-terminated string, from the initial value. */
uint64_t hash_str64(const char *s);
uint32_t hash_str32(const char *s);

/* A stateless 64-bit mixer (the splitmix64 finaliser): spreads the bits of an integer key
 * over the whole word, for open-addressing hash tables. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#endif
