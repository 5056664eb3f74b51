#include "lib/hash.h"

#include <string.h>

uint64_t hash_fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

uint32_t hash_fnv32(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

uint64_t hash_str64(const char *s)
{
	return hash_fnv64(HASH_FNV64_INIT, s, strlen(s));
}

uint32_t hash_str32(const char *s)
{
	return hash_fnv32(HASH_FNV32_INIT, s, strlen(s));
}
