/* wire — the peer protocol: Raft messages (node/raft.h) in length-prefixed, checksummed,
 * versioned frames over TCP.
 *
 * Frame (little-endian):
 *   magic u16 0x4253 ("SB") | version u8 (WIRE_VERSION) | kind u8 | body length u32 |
 *   crc32c(body) u32 | body
 * kinds: WIRE_HELLO   body = from id u32 | client address (u16 length + bytes) |
 *                     cluster token (u16 length + bytes): sent first on every connection a
 *                     node dials; the receiver accepts nothing else before it, checks the
 *                     token and the sender's address, and learns where the sender's clients
 *                     go (for -NOTLEADER redirects);
 *        WIRE_MSG     body = one struct raft_msg, every field, fixed order (see wire.c).
 *
 * Sizes are bounded per kind, from the header and the first body byte, before a receiver
 * buffers a body: a hello at most WIRE_MAX_HELLO_BODY bytes, AppendEntries and
 * InstallSnapshot at most WIRE_MAX_BODY, every other message at most WIRE_MAX_SMALL_BODY.
 *
 * Decoding hostile bytes never crashes and never allocates more than the bounds from raft.h
 * allow: a frame that is too large for its kind, has a bad magic, version, checksum, or a body
 * that does not parse is SB_EINVAL with a message (the shell drops the connection).
 * Pure; no global state.
 */
#ifndef NODE_WIRE_H
#define NODE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "node/raft.h"

#define WIRE_VERSION 2 /* 2: the hello carries the cluster token */
#define WIRE_HDR 12
#define WIRE_MAX_BODY (64u << 20)
#define WIRE_MAX_ADDR 256
#define WIRE_MAX_TOKEN 256
#define WIRE_MAX_HELLO_BODY (4u + 2u + WIRE_MAX_ADDR + 2u + WIRE_MAX_TOKEN)
#define WIRE_MAX_SMALL_BODY 256u /* messages without entries or snapshot data */

enum wire_kind { WIRE_HELLO = 1, WIRE_MSG = 2 };

struct wire_buf {
	unsigned char *p; /* owned; free with wire_buf_free() */
	size_t len, cap;
	int oom; /* sticky allocation failure */
};

void wire_buf_free(struct wire_buf *b);
void wire_buf_consume(struct wire_buf *b, size_t n);
void wire_buf_put(struct wire_buf *b, const void *p, size_t n);
/* Make room for n more bytes (len unchanged). 0, or -1 (and oom set) if out of memory. */
int wire_buf_reserve(struct wire_buf *b, size_t n);

/* Append one frame to b. SB_ENOMEM, or SB_EINVAL if the message exceeds the decoder's bounds
 * (it would be refused by the peer). */
int wire_encode_msg(struct wire_buf *b, const struct raft_msg *m, char *err, size_t errlen);
/* client_addr and token: NUL-terminated, shorter than WIRE_MAX_ADDR / WIRE_MAX_TOKEN. */
int wire_encode_hello(struct wire_buf *b, raft_id from, const char *client_addr,
		      const char *token, char *err, size_t errlen);

/* Look for one complete frame at the start of buf[0..len).
 * Returns 1 with *kind, *body, *body_len (borrowing buf) and *consumed set; 0 if more bytes
 * are needed; SB_EINVAL for a bad header, size or checksum. */
int wire_frame(const unsigned char *buf, size_t len, int *kind, const unsigned char **body,
	       size_t *body_len, size_t *consumed, char *err, size_t errlen);

/* After wire_frame() asked for more bytes: the whole size of the frame at buf, once enough of
 * it is there to have checked it against its kind's bound (the header and, for a message, its
 * type byte); 0 before that. Lets a receiver reserve a frame's room exactly. */
size_t wire_frame_size(const unsigned char *buf, size_t len);

/* Decode a WIRE_MSG body into *m. m->entries is malloc'ed (free with wire_msg_free); entry and
 * chunk data point into `body` (borrowed: keep body alive while m is used). */
int wire_decode_msg(const unsigned char *body, size_t len, struct raft_msg *m, char *err,
		    size_t errlen);
void wire_msg_free(struct raft_msg *m);

/* Decode a WIRE_HELLO body. addr and token receive the NUL-terminated client address and
 * cluster token (printable ASCII only; anything else is SB_EINVAL). */
int wire_decode_hello(const unsigned char *body, size_t len, raft_id *from, char *addr,
		      size_t addrlen, char *token, size_t tokenlen, char *err, size_t errlen);

#endif
