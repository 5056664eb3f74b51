/* hmap — a small open-addressing hash map from 64-bit keys to non-negative int32 values. */
#include "checker/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "checker/values.h"

void hmap_free(struct hmap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof *m);
}

int hmap_put(struct hmap *m, uint64_t key, int32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *k = malloc(cap * sizeof *k);
		int32_t *v = malloc(cap * sizeof *v);
		if (!k || !v) {
			free(k);
			free(v);
			return -1;
		}
		memset(v, 0xff, cap * sizeof *v);
		for (size_t j = 0; j < m->cap; j++) {
			if ((j & 0x3ffff) == 0x3ffff && m->over && m->over(m->over_arg)) {
				free(k);
				free(v);
				return -2;
			}
			if (m->v[j] < 0)
				continue;
			size_t i = mix64(m->k[j]) & (cap - 1);
			while (v[i] >= 0)
				i = (i + 1) & (cap - 1);
			k[i] = m->k[j];
			v[i] = m->v[j];
		}
		free(m->k);
		free(m->v);
		m->k = k;
		m->v = v;
		m->cap = cap;
	}
	size_t i = mix64(key) & (m->cap - 1);
	while (m->v[i] >= 0) {
		if (m->k[i] == key) {
			m->v[i] = val;
			return 0;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->k[i] = key;
	m->v[i] = val;
	m->n++;
	return 0;
}
