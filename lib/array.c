#include "lib/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

int array_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : (first ? first : 1);
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return SB_ENOMEM;
		nc *= 2;
	}
	if (elem && nc > SIZE_MAX / elem)
		return SB_ENOMEM;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return SB_ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

int array_grow_zero(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t old = *cap;
	int rc = array_grow(p, cap, need, elem, first);
	if (rc == 0 && *cap > old)
		memset((char *)*p + old * elem, 0, (*cap - old) * elem);
	return rc;
}
