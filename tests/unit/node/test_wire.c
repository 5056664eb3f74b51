/* Peer wire codec: round trips, framing, and hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "node/crc32c.h"
#include "node/wire.h"

/* CRC-32C check values (RFC 3720 appendix B.4 and the classic "123456789"), also split in
 * two calls and at odd lengths, so that the hardware and table paths agree. */
static void test_crc32c(void **state)
{
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	unsigned char z[32] = {0}, f[32];
	memset(f, 0xff, sizeof f);
	assert_int_equal(crc32c(0, z, 32), 0x8A9136AAu);
	assert_int_equal(crc32c(0, f, 32), 0x62A8AB43u);
	assert_int_equal(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
	for (size_t cut = 0; cut <= 32; cut++)
		assert_int_equal(crc32c(crc32c(0, f, cut), f + cut, 32 - cut), 0x62A8AB43u);
}

static struct raft_msg sample(struct raft_entry *es, size_t n)
{
	struct raft_msg m = {
		.type = RAFT_MSG_APPEND, .from = 1, .to = 3, .term = 7, .last_log_index = 11,
		.last_log_term = 6, .transfer = true, .success = false, .prev_index = 10,
		.prev_term = 6, .commit = 9, .entries = es, .n_entries = n, .ctx = 0xdeadbeef,
		.match_index = 4, .conflict_index = 5, .conflict_term = 2, .snap_index = 3,
		.snap_term = 1, .offset = 65536, .total = 1 << 20, .done = true,
		.data = (unsigned char *)"chunk", .len = 5,
	};
	return m;
}

static void test_roundtrip(void **state)
{
	struct raft_entry es[3] = {
		{.term = 6, .index = 11, .type = RAFT_ENTRY_NOOP},
		{.term = 7, .index = 12, .type = RAFT_ENTRY_CMD, .client_id = 99, .seq = 4,
		 .data = (unsigned char *)"abc", .len = 3},
		{.term = 7, .index = 13, .type = RAFT_ENTRY_CMD, .data = (unsigned char *)"\0\1", .len = 2},
	};
	struct raft_msg m = sample(es, 3);
	struct wire_buf b = {0};
	char err[256];
	assert_int_equal(wire_encode_hello(&b, 1, "127.0.0.1:7001", "run-42", err, sizeof err), 0);
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), 0);

	int kind;
	const unsigned char *body;
	size_t blen, used;
	/* a partial frame asks for more, at every length */
	for (size_t i = 0; i < WIRE_HDR + 4; i++)
		assert_int_equal(wire_frame(b.p, i, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame(b.p, b.len, &kind, &body, &blen, &used, err, sizeof err), 1);
	assert_int_equal(kind, WIRE_HELLO);
	raft_id from;
	char addr[64], token[WIRE_MAX_TOKEN];
	assert_int_equal(wire_decode_hello(body, blen, &from, addr, sizeof addr, token, sizeof token,
					   err, sizeof err), 0);
	assert_int_equal(from, 1);
	assert_string_equal(addr, "127.0.0.1:7001");
	assert_string_equal(token, "run-42");

	size_t off = used;
	for (size_t i = off; i < b.len; i++)
		assert_int_equal(wire_frame(b.p + off, i - off, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame(b.p + off, b.len - off, &kind, &body, &blen, &used, err, sizeof err), 1);
	assert_int_equal(kind, WIRE_MSG);
	assert_int_equal(off + used, b.len);
	struct raft_msg d;
	assert_int_equal(wire_decode_msg(body, blen, &d, err, sizeof err), 0);
	assert_int_equal(d.type, m.type);
	assert_int_equal(d.from, 1);
	assert_int_equal(d.to, 3);
	assert_int_equal(d.term, 7);
	assert_int_equal(d.last_log_index, 11);
	assert_int_equal(d.last_log_term, 6);
	assert_true(d.transfer);
	assert_false(d.success);
	assert_true(d.done);
	assert_int_equal(d.prev_index, 10);
	assert_int_equal(d.prev_term, 6);
	assert_int_equal(d.commit, 9);
	assert_int_equal(d.ctx, 0xdeadbeef);
	assert_int_equal(d.match_index, 4);
	assert_int_equal(d.conflict_index, 5);
	assert_int_equal(d.conflict_term, 2);
	assert_int_equal(d.snap_index, 3);
	assert_int_equal(d.snap_term, 1);
	assert_int_equal(d.offset, 65536);
	assert_int_equal(d.total, 1 << 20);
	assert_int_equal(d.len, 5);
	assert_memory_equal(d.data, "chunk", 5);
	assert_int_equal(d.n_entries, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(d.entries[i].term, es[i].term);
		assert_int_equal(d.entries[i].index, es[i].index);
		assert_int_equal(d.entries[i].type, es[i].type);
		assert_int_equal(d.entries[i].client_id, es[i].client_id);
		assert_int_equal(d.entries[i].seq, es[i].seq);
		assert_int_equal(d.entries[i].len, es[i].len);
		if (es[i].len)
			assert_memory_equal(d.entries[i].data, es[i].data, es[i].len);
	}
	wire_msg_free(&d);
	wire_buf_free(&b);
}

static void test_bad_frames(void **state)
{
	struct raft_msg m = sample(NULL, 0);
	struct wire_buf b = {0};
	char err[256];
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), 0);
	int kind;
	const unsigned char *body;
	size_t blen, used;

	b.p[WIRE_HDR + 3] ^= 1; /* body bit flip */
	assert_int_equal(wire_frame(b.p, b.len, &kind, &body, &blen, &used, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "checksum"));
	b.p[WIRE_HDR + 3] ^= 1;
	b.p[2] = 9; /* version */
	assert_int_equal(wire_frame(b.p, b.len, &kind, &body, &blen, &used, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "version 9"));
	b.p[2] = WIRE_VERSION;
	b.p[0] = 'X';
	assert_int_equal(wire_frame(b.p, 1, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame(b.p, 2, &kind, &body, &blen, &used, err, sizeof err), SB_EINVAL);
	b.p[0] = 0x53;
	b.p[7] = 0x7f; /* length 2 GiB */
	assert_int_equal(wire_frame(b.p, b.len, &kind, &body, &blen, &used, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "exceeds"));
	wire_buf_free(&b);

	/* Bodies: truncated at every length, trailing bytes, absurd counts. */
	b = (struct wire_buf){0};
	struct raft_entry e = {.term = 1, .index = 1, .type = 2, .data = (unsigned char *)"xy", .len = 2};
	m = sample(&e, 1);
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), 0);
	const unsigned char *bd = b.p + WIRE_HDR;
	size_t bl = b.len - WIRE_HDR;
	struct raft_msg d;
	for (size_t i = 0; i < bl; i++)
		assert_int_equal(wire_decode_msg(bd, i, &d, err, sizeof err), SB_EINVAL);
	unsigned char *longer = malloc(bl + 1);
	memcpy(longer, bd, bl);
	longer[bl] = 0;
	assert_int_equal(wire_decode_msg(longer, bl + 1, &d, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "trailing"));
	/* entry count field sits after the 122 fixed bytes */
	memcpy(longer, bd, bl);
	longer[122] = 0xff;
	longer[123] = 0xff;
	longer[124] = 0xff;
	longer[125] = 0x00;
	assert_int_equal(wire_decode_msg(longer, bl, &d, err, sizeof err), SB_EINVAL);
	memcpy(longer, bd, bl);
	longer[0] = 42; /* type */
	assert_int_equal(wire_decode_msg(longer, bl, &d, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "type 42"));
	free(longer);
	wire_buf_free(&b);

	/* the encoder refuses what the decoder would refuse */
	m = sample(NULL, 0);
	m.n_entries = RAFT_MAX_MSG_ENTRIES + 1;
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), SB_EINVAL);
	wire_buf_free(&b);
}

/* A hello: the empty token is a token too; bad ones are refused on both sides. */
static void test_hello(void **state)
{
	struct wire_buf b = {0};
	char err[256], addr[WIRE_MAX_ADDR], token[WIRE_MAX_TOKEN], big[WIRE_MAX_TOKEN + 1];
	assert_int_equal(wire_encode_hello(&b, 2, "h:1", "", err, sizeof err), 0);
	raft_id from;
	assert_int_equal(wire_decode_hello(b.p + WIRE_HDR, b.len - WIRE_HDR, &from, addr, sizeof addr,
					   token, sizeof token, err, sizeof err), 0);
	assert_int_equal(from, 2);
	assert_string_equal(token, "");
	/* an old (version 1) hello body, without a token, is cut short */
	assert_int_equal(wire_decode_hello(b.p + WIRE_HDR, b.len - WIRE_HDR - 2, &from, addr,
					   sizeof addr, token, sizeof token, err, sizeof err), SB_EINVAL);
	memset(big, 't', WIRE_MAX_TOKEN);
	big[WIRE_MAX_TOKEN] = '\0';
	b.len = 0;
	assert_int_equal(wire_encode_hello(&b, 2, "h:1", big, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "token too long"));
	b.len = 0;
	assert_int_equal(wire_encode_hello(&b, 2, "h:1", "a b", err, sizeof err), 0);
	assert_int_equal(wire_decode_hello(b.p + WIRE_HDR, b.len - WIRE_HDR, &from, addr, sizeof addr,
					   token, sizeof token, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "non-printable"));
	wire_buf_free(&b);
}

/* Per-kind bounds, known from the header and the first body byte, before a body is buffered:
 * a receiver once buffered 64 MiB per connection for any frame before checking it. */
static void test_frame_bounds(void **state)
{
	unsigned char h[WIRE_HDR + 1] = {0x53, 0x42, WIRE_VERSION, WIRE_HELLO, 0, 0, 0x10, 0};
	int kind;
	const unsigned char *body;
	size_t blen, used;
	char err[256];
	/* a hello claiming 1 MiB */
	assert_int_equal(wire_frame(h, WIRE_HDR, &kind, &body, &blen, &used, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "hello of"));
	h[6] = 0;
	h[4] = (unsigned char)WIRE_MAX_HELLO_BODY; /* the largest hello: more bytes needed */
	h[5] = (unsigned char)(WIRE_MAX_HELLO_BODY >> 8);
	assert_int_equal(wire_frame(h, WIRE_HDR, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame_size(h, WIRE_HDR), WIRE_HDR + WIRE_MAX_HELLO_BODY);
	/* a 1 MiB message: its type decides */
	h[3] = WIRE_MSG;
	h[4] = h[5] = 0;
	h[6] = 0x10;
	assert_int_equal(wire_frame(h, WIRE_HDR, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame_size(h, WIRE_HDR), 0); /* type not known yet */
	const int small[] = {RAFT_MSG_PREVOTE, RAFT_MSG_VOTE, RAFT_MSG_VOTE_RESP,
			     RAFT_MSG_APPEND_RESP, RAFT_MSG_SNAPSHOT_RESP, RAFT_MSG_TIMEOUT_NOW};
	for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
		h[WIRE_HDR] = (unsigned char)small[i];
		assert_int_equal(wire_frame(h, sizeof h, &kind, &body, &blen, &used, err, sizeof err),
				 SB_EINVAL);
		assert_non_null(strstr(err, "body (max"));
	}
	h[WIRE_HDR] = RAFT_MSG_APPEND;
	assert_int_equal(wire_frame(h, sizeof h, &kind, &body, &blen, &used, err, sizeof err), 0);
	assert_int_equal(wire_frame_size(h, sizeof h), WIRE_HDR + (1u << 20));
	h[WIRE_HDR] = RAFT_MSG_SNAPSHOT;
	assert_int_equal(wire_frame(h, sizeof h, &kind, &body, &blen, &used, err, sizeof err), 0);
	/* every message the core makes without data fits the small bound */
	struct raft_msg m = sample(NULL, 0);
	m.type = RAFT_MSG_VOTE;
	m.data = NULL;
	m.len = 0;
	struct wire_buf b = {0};
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), 0);
	assert_true(b.len - WIRE_HDR <= WIRE_MAX_SMALL_BODY);
	assert_int_equal(wire_frame(b.p, b.len, &kind, &body, &blen, &used, err, sizeof err), 1);
	wire_buf_free(&b);
}

static void test_random_bodies(void **state)
{
	srand(11);
	unsigned char buf[512];
	char err[256];
	struct raft_entry e = {.term = 1, .index = 1, .type = 2, .data = (unsigned char *)"xy", .len = 2};
	struct raft_msg m = sample(&e, 1);
	struct wire_buf b = {0};
	assert_int_equal(wire_encode_msg(&b, &m, err, sizeof err), 0);
	for (int it = 0; it < 100000; it++) {
		size_t n = b.len - WIRE_HDR;
		memcpy(buf, b.p + WIRE_HDR, n);
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++)
			buf[rand() % (int)n] = (unsigned char)rand();
		if (it % 3 == 0)
			n = (size_t)(rand() % (int)sizeof buf);
		struct raft_msg d;
		int rc = wire_decode_msg(buf, n, &d, err, sizeof err);
		assert_true(rc == 0 || rc == SB_EINVAL);
		if (rc == 0) {
			for (size_t i = 0; i < d.n_entries; i++)
				assert_true(d.entries[i].len == 0 ||
					    (d.entries[i].data >= buf && d.entries[i].data + d.entries[i].len <= buf + n));
			wire_msg_free(&d);
		}
	}
	wire_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_frame_bounds),
		cmocka_unit_test(test_random_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
