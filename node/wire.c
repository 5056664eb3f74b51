#include "node/wire.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "node/crc32c.h"

/* ---- buffers ----------------------------------------------------------------------------- */

void wire_buf_free(struct wire_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void wire_buf_consume(struct wire_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

int wire_buf_reserve(struct wire_buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap - b->len < n) {
			if (cap > ((size_t)-1) / 2) {
				b->oom = 1;
				return -1;
			}
			cap *= 2;
		}
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return -1;
		}
		b->p = q;
		b->cap = cap;
	}
	return 0;
}

void wire_buf_put(struct wire_buf *b, const void *p, size_t n)
{
	if (wire_buf_reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put8(struct wire_buf *b, uint8_t v)
{
	wire_buf_put(b, &v, 1);
}
static void put16(struct wire_buf *b, uint16_t v)
{
	unsigned char t[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	wire_buf_put(b, t, 2);
}
static void put32(struct wire_buf *b, uint32_t v)
{
	unsigned char t[4];
	for (int i = 0; i < 4; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	wire_buf_put(b, t, 4);
}
static void put64(struct wire_buf *b, uint64_t v)
{
	unsigned char t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	wire_buf_put(b, t, 8);
}
static uint32_t get32p(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- frames ------------------------------------------------------------------------------ */

/* Reserve the header, return its offset; finish_frame fills it once the body is written. */
static size_t begin_frame(struct wire_buf *b, int kind)
{
	size_t at = b->len;
	unsigned char hdr[WIRE_HDR] = {0x53, 0x42, WIRE_VERSION, (unsigned char)kind};
	wire_buf_put(b, hdr, sizeof hdr);
	return at;
}

static int finish_frame(struct wire_buf *b, size_t at, char *err, size_t errlen)
{
	if (b->oom)
		return err_set(err, errlen, SB_ENOMEM, "out of memory encoding a peer frame");
	size_t body = b->len - at - WIRE_HDR;
	if (body > WIRE_MAX_BODY) {
		b->len = at;
		return err_set(err, errlen, SB_EINVAL, "peer frame of %zu bytes exceeds %u", body,
			       WIRE_MAX_BODY);
	}
	uint32_t crc = crc32c(0, b->p + at + WIRE_HDR, body);
	for (int i = 0; i < 4; i++) {
		b->p[at + 4 + i] = (unsigned char)((uint32_t)body >> (8 * i));
		b->p[at + 8 + i] = (unsigned char)(crc >> (8 * i));
	}
	return 0;
}

int wire_frame(const unsigned char *buf, size_t len, int *kind, const unsigned char **body,
	       size_t *body_len, size_t *consumed, char *err, size_t errlen)
{
	if (len >= 2 && (buf[0] != 0x53 || buf[1] != 0x42))
		return err_set(err, errlen, SB_EINVAL, "bad frame magic 0x%02x%02x", buf[1], buf[0]);
	if (len >= 3 && buf[2] != WIRE_VERSION)
		return err_set(err, errlen, SB_EINVAL, "unsupported protocol version %u (want %u)",
			       buf[2], WIRE_VERSION);
	if (len < WIRE_HDR)
		return 0;
	uint32_t blen = get32p(buf + 4);
	if (blen > WIRE_MAX_BODY)
		return err_set(err, errlen, SB_EINVAL, "frame body of %u bytes exceeds %u", blen,
			       WIRE_MAX_BODY);
	if (buf[3] != WIRE_HELLO && buf[3] != WIRE_MSG)
		return err_set(err, errlen, SB_EINVAL, "unknown frame kind %u", buf[3]);
	if (buf[3] == WIRE_HELLO && blen > WIRE_MAX_HELLO_BODY)
		return err_set(err, errlen, SB_EINVAL, "hello of %u bytes exceeds %u", blen,
			       WIRE_MAX_HELLO_BODY);
	/* Only AppendEntries and InstallSnapshot carry data: the others are refused before a
	 * large body is buffered. */
	if (buf[3] == WIRE_MSG && blen > WIRE_MAX_SMALL_BODY && len > WIRE_HDR &&
	    buf[WIRE_HDR] != RAFT_MSG_APPEND && buf[WIRE_HDR] != RAFT_MSG_SNAPSHOT)
		return err_set(err, errlen, SB_EINVAL, "message of type %u with a %u-byte body (max %u)",
			       buf[WIRE_HDR], blen, WIRE_MAX_SMALL_BODY);
	if (len - WIRE_HDR < blen)
		return 0;
	if (crc32c(0, buf + WIRE_HDR, blen) != get32p(buf + 8))
		return err_set(err, errlen, SB_EINVAL, "frame checksum mismatch (%u-byte body)", blen);
	*kind = buf[3];
	*body = buf + WIRE_HDR;
	*body_len = blen;
	*consumed = WIRE_HDR + (size_t)blen;
	return 1;
}

size_t wire_frame_size(const unsigned char *buf, size_t len)
{
	if (len < WIRE_HDR)
		return 0;
	uint32_t blen = get32p(buf + 4);
	if (buf[3] == WIRE_MSG && blen > WIRE_MAX_SMALL_BODY && len == WIRE_HDR)
		return 0; /* its type, and so its bound, is not known yet */
	return WIRE_HDR + (size_t)blen;
}

/* ---- messages ----------------------------------------------------------------------------
 * body: type u8 | from u32 | to u32 | term u64 | flags u8 (1 transfer, 2 success, 4 done) |
 *       last_log_index u64 | last_log_term u64 | prev_index u64 | prev_term u64 | commit u64 |
 *       ctx u64 | match_index u64 | conflict_index u64 | conflict_term u64 | snap_index u64 |
 *       snap_term u64 | offset u64 | total u64 |
 *       n_entries u32 | n x (term u64 | index u64 | type u8 | client_id u64 | seq u64 |
 *                            len u32 | data) |
 *       data len u32 | data
 */

int wire_encode_msg(struct wire_buf *b, const struct raft_msg *m, char *err, size_t errlen)
{
	if (m->n_entries > RAFT_MAX_MSG_ENTRIES)
		return err_set(err, errlen, SB_EINVAL, "message carries %zu entries (max %u)",
			       m->n_entries, RAFT_MAX_MSG_ENTRIES);
	if (m->len > RAFT_MAX_CHUNK_BYTES)
		return err_set(err, errlen, SB_EINVAL, "snapshot chunk of %zu bytes (max %u)", m->len,
			       RAFT_MAX_CHUNK_BYTES);
	size_t at = begin_frame(b, WIRE_MSG);
	put8(b, m->type);
	put32(b, m->from);
	put32(b, m->to);
	put64(b, m->term);
	put8(b, (uint8_t)((m->transfer ? 1 : 0) | (m->success ? 2 : 0) | (m->done ? 4 : 0)));
	put64(b, m->last_log_index);
	put64(b, m->last_log_term);
	put64(b, m->prev_index);
	put64(b, m->prev_term);
	put64(b, m->commit);
	put64(b, m->ctx);
	put64(b, m->match_index);
	put64(b, m->conflict_index);
	put64(b, m->conflict_term);
	put64(b, m->snap_index);
	put64(b, m->snap_term);
	put64(b, m->offset);
	put64(b, m->total);
	put32(b, (uint32_t)m->n_entries);
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (e->len > RAFT_MAX_ENTRY_BYTES) {
			b->len = at;
			return err_set(err, errlen, SB_EINVAL, "entry %llu of %zu bytes (max %u)",
				       (unsigned long long)e->index, e->len, RAFT_MAX_ENTRY_BYTES);
		}
		put64(b, e->term);
		put64(b, e->index);
		put8(b, e->type);
		put64(b, e->client_id);
		put64(b, e->seq);
		put32(b, (uint32_t)e->len);
		wire_buf_put(b, e->data, e->len);
	}
	put32(b, (uint32_t)m->len);
	wire_buf_put(b, m->data, m->len);
	return finish_frame(b, at, err, errlen);
}

int wire_encode_hello(struct wire_buf *b, raft_id from, const char *client_addr,
		      const char *token, char *err, size_t errlen)
{
	size_t n = strlen(client_addr), t = strlen(token);
	if (n >= WIRE_MAX_ADDR)
		return err_set(err, errlen, SB_EINVAL, "client address too long (%zu bytes)", n);
	if (t >= WIRE_MAX_TOKEN)
		return err_set(err, errlen, SB_EINVAL, "cluster token too long (%zu bytes)", t);
	size_t at = begin_frame(b, WIRE_HELLO);
	put32(b, from);
	put16(b, (uint16_t)n);
	wire_buf_put(b, client_addr, n);
	put16(b, (uint16_t)t);
	wire_buf_put(b, token, t);
	return finish_frame(b, at, err, errlen);
}

/* A bounded reader: every get checks the remaining length first. */
struct rd {
	const unsigned char *p;
	size_t n;
	int short_read;
};

static const unsigned char *take(struct rd *r, size_t n)
{
	if (r->short_read || r->n < n) {
		r->short_read = 1;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->n -= n;
	return p;
}

static uint64_t get_n(struct rd *r, int bytes)
{
	const unsigned char *p = take(r, (size_t)bytes);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int wire_decode_msg(const unsigned char *body, size_t len, struct raft_msg *m, char *err,
		    size_t errlen)
{
	struct rd r = {body, len, 0};
	memset(m, 0, sizeof *m);
	m->type = (uint8_t)get_n(&r, 1);
	m->from = (raft_id)get_n(&r, 4);
	m->to = (raft_id)get_n(&r, 4);
	m->term = get_n(&r, 8);
	unsigned flags = (unsigned)get_n(&r, 1);
	m->transfer = flags & 1;
	m->success = (flags & 2) != 0;
	m->done = (flags & 4) != 0;
	m->last_log_index = get_n(&r, 8);
	m->last_log_term = get_n(&r, 8);
	m->prev_index = get_n(&r, 8);
	m->prev_term = get_n(&r, 8);
	m->commit = get_n(&r, 8);
	m->ctx = get_n(&r, 8);
	m->match_index = get_n(&r, 8);
	m->conflict_index = get_n(&r, 8);
	m->conflict_term = get_n(&r, 8);
	m->snap_index = get_n(&r, 8);
	m->snap_term = get_n(&r, 8);
	m->offset = get_n(&r, 8);
	m->total = get_n(&r, 8);
	uint32_t n = (uint32_t)get_n(&r, 4);
	if (r.short_read)
		return err_set(err, errlen, SB_EINVAL, "message header cut short (%zu bytes)", len);
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW)
		return err_set(err, errlen, SB_EINVAL, "unknown message type %u", m->type);
	if (flags > 7)
		return err_set(err, errlen, SB_EINVAL, "unknown message flags 0x%x", flags);
	if (n > RAFT_MAX_MSG_ENTRIES)
		return err_set(err, errlen, SB_EINVAL, "message claims %u entries (max %u)", n,
			       RAFT_MAX_MSG_ENTRIES);
	/* Each entry takes at least 37 bytes: a count the body cannot hold is refused before
	 * allocating for it. */
	if ((uint64_t)n * 37 > r.n)
		return err_set(err, errlen, SB_EINVAL, "message claims %u entries in %zu bytes", n, r.n);
	if (n) {
		m->entries = calloc(n, sizeof *m->entries);
		if (!m->entries)
			return err_set(err, errlen, SB_ENOMEM, "out of memory decoding %u entries", n);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct raft_entry *e = &m->entries[i];
		e->term = get_n(&r, 8);
		e->index = get_n(&r, 8);
		e->type = (uint8_t)get_n(&r, 1);
		e->client_id = get_n(&r, 8);
		e->seq = get_n(&r, 8);
		uint32_t el = (uint32_t)get_n(&r, 4);
		if (!r.short_read && el > RAFT_MAX_ENTRY_BYTES) {
			wire_msg_free(m);
			return err_set(err, errlen, SB_EINVAL, "entry %u of %u bytes (max %u)", i, el,
				       RAFT_MAX_ENTRY_BYTES);
		}
		e->data = (unsigned char *)take(&r, el);
		e->len = el;
		if (r.short_read) {
			wire_msg_free(m);
			return err_set(err, errlen, SB_EINVAL, "entry %u cut short", i);
		}
		if (el == 0)
			e->data = NULL;
	}
	m->n_entries = n;
	uint32_t dl = (uint32_t)get_n(&r, 4);
	if (!r.short_read && dl > RAFT_MAX_CHUNK_BYTES) {
		wire_msg_free(m);
		return err_set(err, errlen, SB_EINVAL, "snapshot chunk of %u bytes (max %u)", dl,
			       RAFT_MAX_CHUNK_BYTES);
	}
	m->data = (unsigned char *)take(&r, dl);
	m->len = dl;
	if (dl == 0)
		m->data = NULL;
	if (r.short_read) {
		wire_msg_free(m);
		return err_set(err, errlen, SB_EINVAL, "message body cut short");
	}
	if (r.n) {
		wire_msg_free(m);
		return err_set(err, errlen, SB_EINVAL, "%zu trailing bytes after the message", r.n);
	}
	return 0;
}

void wire_msg_free(struct raft_msg *m)
{
	free(m->entries);
	m->entries = NULL;
	m->n_entries = 0;
}

/* Copy a length-prefixed printable string out of a hello. */
static int hello_string(struct rd *r, char *out, size_t outlen, size_t max, const char *what,
			char *err, size_t errlen)
{
	size_t n = (size_t)get_n(r, 2);
	const unsigned char *p = take(r, n);
	if (r->short_read)
		return err_set(err, errlen, SB_EINVAL, "malformed hello: %s cut short", what);
	if (n >= outlen || n >= max)
		return err_set(err, errlen, SB_EINVAL, "hello %s too long (%zu bytes)", what, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return err_set(err, errlen, SB_EINVAL, "hello %s has a non-printable byte", what);
	if (n)
		memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int wire_decode_hello(const unsigned char *body, size_t len, raft_id *from, char *addr,
		      size_t addrlen, char *token, size_t tokenlen, char *err, size_t errlen)
{
	struct rd r = {body, len, 0};
	*from = (raft_id)get_n(&r, 4);
	int rc = hello_string(&r, addr, addrlen, WIRE_MAX_ADDR, "address", err, errlen);
	if (!rc)
		rc = hello_string(&r, token, tokenlen, WIRE_MAX_TOKEN, "cluster token", err, errlen);
	if (!rc && r.n)
		rc = err_set(err, errlen, SB_EINVAL, "malformed hello: %zu trailing bytes", r.n);
	return rc;
}
