/* libFuzzer target: raftnode's peer frame and message decoder (node/wire.c). Any bytes: split
 * into frames as a peer connection would, decode each, re-encode what decodes and check that
 * the re-encoding decodes to the same message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct raft_msg *a, const struct raft_msg *b)
{
	if (a->type != b->type || a->term != b->term || a->n_entries != b->n_entries ||
	    a->len != b->len || a->commit != b->commit || a->ctx != b->ctx)
		abort();
	for (size_t i = 0; i < a->n_entries; i++)
		if (a->entries[i].len != b->entries[i].len || a->entries[i].index != b->entries[i].index ||
		    (a->entries[i].len &&
		     memcmp(a->entries[i].data, b->entries[i].data, a->entries[i].len)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char err[256];
	/* The input as a stream of frames. */
	size_t off = 0;
	for (;;) {
		int kind;
		const unsigned char *body;
		size_t blen, used;
		if (wire_frame(buf + off, size - off, &kind, &body, &blen, &used, err, sizeof err) != 1)
			break;
		off += used;
		if (kind == WIRE_HELLO) {
			raft_id from;
			char addr[WIRE_MAX_ADDR], token[WIRE_MAX_TOKEN];
			wire_decode_hello(body, blen, &from, addr, sizeof addr, token, sizeof token, err,
					  sizeof err);
			continue;
		}
		struct raft_msg m;
		if (wire_decode_msg(body, blen, &m, err, sizeof err) == 0)
			wire_msg_free(&m);
	}
	/* The input as one message body (most inputs fail the frame checksum). */
	struct raft_msg m;
	if (wire_decode_msg(buf, size, &m, err, sizeof err) == 0) {
		struct wire_buf b = {0};
		if (wire_encode_msg(&b, &m, err, sizeof err) == 0) {
			struct raft_msg d;
			if (wire_decode_msg(b.p + WIRE_HDR, b.len - WIRE_HDR, &d, err, sizeof err) != 0)
				abort();
			check_same(&m, &d);
			wire_msg_free(&d);
		}
		wire_buf_free(&b);
		wire_msg_free(&m);
	}
	free(buf);
	return 0;
}
