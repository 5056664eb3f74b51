/* libFuzzer target: the harness's RESP2 reply parser (harness/client/resp.c, resp_parse).
 * Any bytes: decode replies one after another as a client reading a pipelined connection
 * would, walk each reply tree, and check that every prefix of a reply that decoded asks for
 * more bytes rather than failing or decoding differently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/client/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every byte of the tree so that ASan sees a bad length or pointer. */
static size_t walk(const struct resp_value *v, int depth)
{
	if (depth > RESP_MAX_DEPTH + 1)
		abort();
	size_t sum = v->type;
	switch (v->type) {
	case RESP_SIMPLE:
	case RESP_ERROR:
	case RESP_BULK:
		if (!v->str || v->str[v->len] != '\0')
			abort();
		for (size_t i = 0; i < v->len; i++)
			sum += (unsigned char)v->str[i];
		break;
	case RESP_ARRAY:
		if (v->nelems > RESP_MAX_ELEMS || (v->nelems && !v->elems))
			abort();
		for (size_t i = 0; i < v->nelems; i++)
			sum += walk(&v->elems[i], depth + 1);
		break;
	case RESP_INTEGER:
	case RESP_NIL:
		break;
	default:
		abort();
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so that reading past the input is caught by ASan. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char err[256];
	size_t off = 0;
	volatile size_t sink = 0;
	while (off < size) {
		size_t used = 0;
		struct resp_value *v = NULL;
		int rc = resp_parse(buf + off, size - off, &used, &v, err, sizeof err);
		if (rc != 0) {
			if (v)
				abort(); /* nothing is handed out on failure or when more is needed */
			break;
		}
		if (!v || used == 0 || used > size - off)
			abort();
		sink += walk(v, 0);
		/* A shorter buffer holds part of this reply: it must ask for more. Checking one
		 * prefix (the reply minus its last byte) keeps the target fast. */
		struct resp_value *w = NULL;
		size_t u2 = 0;
		int r2 = resp_parse(buf + off, used - 1, &u2, &w, err, sizeof err);
		if (r2 == 0) {
			/* Only possible if the shorter text is itself a complete reply. */
			if (u2 > used - 1)
				abort();
			resp_value_free(w);
		} else if (w) {
			abort();
		}
		resp_value_free(v);
		off += used;
	}
	free(buf);
	return 0;
}
