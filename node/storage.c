#include "node/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/err.h"
#include "node/crash.h"
#include "node/crc32c.h"
#include "node/log.h"

/* ---- on-disk formats (little-endian) ----------------------------------------------------
 * meta:     "SBMETA01" | term u64 | vote u64 | crc u32 (of the 24 bytes before)      28 bytes
 * segment:  "SBSEG001" | first index u64 | crc u32 (of the 16 bytes before) | pad u32  24 bytes
 *   record: crc u32 | len u32 | type u8 | pad[7] | term u64 | index u64 | client_id u64 |
 *           seq u64 | data[len]; crc covers everything after itself (44 header bytes + data)
 * snapshot: "SBSNAP01" | index u64 | term u64 | len u64 | data[len] | crc u32 (of all before)
 */
#define META_SIZE 28
#define SEG_HDR 24
#define REC_HDR 48
#define SNAP_HDR 32

static const char META_MAGIC[8] = {'S', 'B', 'M', 'E', 'T', 'A', '0', '1'};
static const char SEG_MAGIC[8] = {'S', 'B', 'S', 'E', 'G', '0', '0', '1'};
static const char SNAP_MAGIC[8] = {'S', 'B', 'S', 'N', 'A', 'P', '0', '1'};

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- the POSIX backend -------------------------------------------------------------------- */

static int px_open(void *ctx, const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}
static ssize_t px_write(void *ctx, int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}
static int px_fsync(void *ctx, int fd)
{
	return fsync(fd);
}
static int px_ftruncate(void *ctx, int fd, off_t len)
{
	return ftruncate(fd, len);
}
static int px_rename(void *ctx, const char *from, const char *to)
{
	return rename(from, to);
}
static int px_unlink(void *ctx, const char *path)
{
	return unlink(path);
}
static int px_close(void *ctx, int fd)
{
	return close(fd);
}

const struct storage_io storage_io_posix = {
	px_open, px_write, px_fsync, px_ftruncate, px_rename, px_unlink, px_close, NULL,
};

/* ---- state ------------------------------------------------------------------------------- */

struct seg {
	uint64_t first;
	uint64_t n;         /* records */
	uint64_t *offs;     /* offset of each record */
	uint64_t *terms;    /* term of each record */
	uint64_t cap;
	uint64_t size;      /* bytes */
	char name[40];
};

struct storage {
	char dir[PATH_MAX - 64];
	const struct storage_io *io;
	struct seg *segs;
	size_t nsegs, capsegs;
	int fd; /* the last segment, open for appending; -1 if none */
	uint64_t next_index;
	uint64_t synced;
	int dirty; /* appended since the last sync */
	int has_snapshot;
	uint64_t snap_index, snap_term;
	int has_meta; /* storage_open found a meta record */
	int failed;
	char failmsg[256];
};

static void path_of(const struct storage *s, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", s->dir, name);
}

/* Record an I/O failure: the storage refuses all further work (see storage.h). */
static int fail(struct storage *s, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct storage *s, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->failmsg, sizeof s->failmsg, fmt, ap);
	va_end(ap);
	s->failed = 1;
	log_event(LOG_ERROR, "storage-failed", "msg=\"%s\"", s->failmsg);
	return err_set(err, errlen, SB_EIO, "%s", s->failmsg);
}

static int check_ok(const struct storage *s, char *err, size_t errlen)
{
	if (s->failed)
		return err_set(err, errlen, SB_EIO, "storage failed earlier: %s", s->failmsg);
	return 0;
}

static int write_all(const struct storage_io *io, int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = io->write(io->ctx, fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(struct storage *s)
{
	int fd = s->io->open(s->io->ctx, s->dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return -1;
	int rc = s->io->fsync(s->io->ctx, fd);
	int saved = errno;
	s->io->close(s->io->ctx, fd);
	errno = saved;
	return rc;
}

/* Read a whole file (plain read(2): reading is not a fault-injection seam). */
static int read_file(const char *path, unsigned char **out, size_t *len, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat stb;
	if (fstat(fd, &stb) < 0) {
		close(fd);
		return -1;
	}
	if ((uint64_t)stb.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	size_t n = (size_t)stb.st_size;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

static uint64_t seg_last(const struct seg *g)
{
	return g->first + g->n - 1;
}

static int seg_push(struct seg *g, uint64_t off, uint64_t term)
{
	if (g->n == g->cap) {
		uint64_t cap = g->cap ? g->cap * 2 : 1024;
		uint64_t *o = realloc(g->offs, cap * sizeof *o);
		if (!o)
			return -1;
		g->offs = o;
		uint64_t *t = realloc(g->terms, cap * sizeof *t);
		if (!t)
			return -1;
		g->terms = t;
		g->cap = cap;
	}
	g->offs[g->n] = off;
	g->terms[g->n] = term;
	g->n++;
	return 0;
}

static int segs_push(struct storage *s, uint64_t first, const char *name)
{
	if (array_grow((void **)&s->segs, &s->capsegs, s->nsegs + 1, sizeof *s->segs, 16))
		return -1;
	struct seg *g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof *g);
	g->first = first;
	snprintf(g->name, sizeof g->name, "%s", name);
	return 0;
}

static uint64_t last_index(const struct storage *s)
{
	for (size_t i = s->nsegs; i-- > 0;)
		if (s->segs[i].n)
			return seg_last(&s->segs[i]);
	return 0;
}

uint64_t storage_last_index(const struct storage *s)
{
	return last_index(s);
}

uint64_t storage_first_index(const struct storage *s)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].n)
			return s->segs[i].first;
	return 0;
}

uint64_t storage_synced_index(const struct storage *s)
{
	return s->synced;
}

int storage_failed(const struct storage *s)
{
	return s->failed;
}

void storage_state_free(struct storage_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_entries; i++)
		free(st->entries[i].data);
	free(st->entries);
	free(st->snap_data);
	memset(st, 0, sizeof *st);
}

void storage_close(struct storage *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		s->io->close(s->io->ctx, s->fd);
	for (size_t i = 0; i < s->nsegs; i++) {
		free(s->segs[i].offs);
		free(s->segs[i].terms);
	}
	free(s->segs);
	free(s);
}

/* ---- meta -------------------------------------------------------------------------------- */

static int load_meta(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX];
	path_of(s, "meta", path, sizeof path);
	unsigned char *buf = NULL;
	size_t len = 0;
	if (read_file(path, &buf, &len, 4096) < 0) {
		if (errno == ENOENT)
			return 0; /* a fresh node: term 0, no vote */
		return err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
	}
	int rc = 0;
	if (len != META_SIZE || memcmp(buf, META_MAGIC, 8) != 0)
		rc = err_set(err, errlen, SB_EIO, "%s: not a term/vote record (size %zu) at offset 0",
			     path, len);
	else if (crc32c(0, buf, 24) != get32(buf + 24))
		rc = err_set(err, errlen, SB_EIO, "%s: crc mismatch at offset 0", path);
	else {
		st->term = get64(buf + 8);
		st->vote = get64(buf + 16);
		s->has_meta = 1;
	}
	free(buf);
	return rc;
}

int storage_set_meta(struct storage *s, uint64_t term, uint64_t vote, char *err, size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc)
		return rc;
	unsigned char rec[META_SIZE];
	memcpy(rec, META_MAGIC, 8);
	put64(rec + 8, term);
	put64(rec + 16, vote);
	put32(rec + 24, crc32c(0, rec, 24));
	char tmp[PATH_MAX], dst[PATH_MAX];
	path_of(s, "meta.tmp", tmp, sizeof tmp);
	path_of(s, "meta", dst, sizeof dst);
	int fd = s->io->open(s->io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail(s, err, errlen, "create %s: %s", tmp, strerror(errno));
	if (write_all(s->io, fd, rec, sizeof rec) < 0) {
		int e = errno;
		s->io->close(s->io->ctx, fd);
		return fail(s, err, errlen, "write %s: %s", tmp, strerror(e));
	}
	if (s->io->fsync(s->io->ctx, fd) < 0) {
		int e = errno;
		s->io->close(s->io->ctx, fd);
		return fail(s, err, errlen, "fsync %s: %s", tmp, strerror(e));
	}
	s->io->close(s->io->ctx, fd);
	if (s->io->rename(s->io->ctx, tmp, dst) < 0)
		return fail(s, err, errlen, "rename %s to %s: %s", tmp, dst, strerror(errno));
	if (fsync_dir(s) < 0)
		return fail(s, err, errlen, "fsync directory %s: %s", s->dir, strerror(errno));
	return 0;
}

/* ---- snapshot ---------------------------------------------------------------------------- */

static int load_snapshot(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX];
	path_of(s, "snapshot", path, sizeof path);
	unsigned char *buf = NULL;
	size_t len = 0;
	if (read_file(path, &buf, &len, (size_t)STORAGE_MAX_SNAPSHOT + SNAP_HDR + 4) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
	}
	int rc = 0;
	if (len < SNAP_HDR + 4 || memcmp(buf, SNAP_MAGIC, 8) != 0) {
		rc = err_set(err, errlen, SB_EIO, "%s: not a snapshot at offset 0", path);
		goto out;
	}
	uint64_t dlen = get64(buf + 24);
	if (dlen != len - SNAP_HDR - 4) {
		rc = err_set(err, errlen, SB_EIO, "%s: length %" PRIu64 " does not match file size %zu at offset 24",
			     path, dlen, len);
		goto out;
	}
	if (crc32c(0, buf, len - 4) != get32(buf + len - 4)) {
		rc = err_set(err, errlen, SB_EIO, "%s: crc mismatch at offset %zu", path, len - 4);
		goto out;
	}
	st->snap_data = malloc(dlen ? dlen : 1);
	if (!st->snap_data) {
		rc = err_set(err, errlen, SB_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	memcpy(st->snap_data, buf + SNAP_HDR, dlen);
	st->snap_len = dlen;
	st->has_snapshot = 1;
	st->snap_index = s->snap_index = get64(buf + 8);
	st->snap_term = s->snap_term = get64(buf + 16);
	s->has_snapshot = 1;
out:
	free(buf);
	return rc;
}

/* ---- segments ---------------------------------------------------------------------------- */

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The offset of the first complete record with a valid checksum that starts after the bad
 * record at `off` (which should have held index `want`), or 0 if there is none. A record that
 * follows holds index want + k (k >= 1) with k records, each at least REC_HDR bytes, from off
 * to it: cheap tests that pass over almost every position before a CRC is computed, and that
 * no record really written there can fail. */
static size_t next_valid_record(const unsigned char *buf, size_t len, size_t off, uint64_t want)
{
	for (size_t p = off + 1; p < len && len - p >= REC_HDR; p++) {
		uint32_t dlen = get32(buf + p + 4);
		if (dlen > STORAGE_MAX_ENTRY || dlen > len - p - REC_HDR)
			continue;
		uint64_t index = get64(buf + p + 24);
		if (index <= want || index - want > (p - off) / REC_HDR)
			continue;
		if (crc32c(0, buf + p + 4, REC_HDR - 4 + dlen) == get32(buf + p))
			return p;
	}
	return 0;
}

/* Scan one segment's bytes; append its entries to st. `last` says whether it is the last
 * segment (where a torn tail is expected after a crash). Sets *cut to the offset to truncate
 * at (or UINT64_MAX for none). */
static int scan_segment(struct storage *s, struct seg *g, const unsigned char *buf, size_t len,
			int last, uint64_t expect, struct storage_state *st, uint64_t *cut,
			char *err, size_t errlen)
{
	char path[PATH_MAX];
	path_of(s, g->name, path, sizeof path);
	*cut = UINT64_MAX;
	if (len < SEG_HDR || memcmp(buf, SEG_MAGIC, 8) != 0 || crc32c(0, buf, 16) != get32(buf + 16) ||
	    get64(buf + 8) != g->first) {
		if (last && (len < SEG_HDR || all_zero(buf, len))) {
			*cut = 0; /* created, header never made it: drop the file */
			return 0;
		}
		return err_set(err, errlen, SB_EIO, "%s: bad segment header at offset 0", path);
	}
	if (expect && g->first != expect)
		return err_set(err, errlen, SB_EIO, "%s: starts at index %" PRIu64 " but %" PRIu64
			       " was expected (a gap in the log) at offset 0", path, g->first, expect);
	size_t off = SEG_HDR;
	uint64_t want = g->first;
	while (off < len) {
		const char *why = NULL;
		size_t end = 0;
		if (len - off < REC_HDR) {
			why = "record header cut short";
			end = len;
		} else {
			uint32_t dlen = get32(buf + off + 4);
			end = off + REC_HDR + (size_t)dlen;
			if (dlen > STORAGE_MAX_ENTRY)
				why = "record length out of range";
			else if (end > len)
				why = "record cut short";
			else if (crc32c(0, buf + off + 4, REC_HDR - 4 + dlen) != get32(buf + off))
				why = "crc mismatch";
			else if (get64(buf + off + 24) != want)
				why = "unexpected index";
		}
		if (why) {
			/* A torn tail: the bad record is the last thing in the last segment (it runs to
			 * or past the end of the file, or the rest is zero fill) and no valid record
			 * follows it: only a final write cut short by a crash looks like that. A bad
			 * length field in the middle also "runs past the end", but the records after it
			 * were fsynced and acknowledged: cutting there would lose them, so that is
			 * corruption, as is anything else in data that was once durable. */
			int torn = last && strcmp(why, "unexpected index") != 0 &&
				   (end >= len || all_zero(buf + off, len - off));
			size_t next = torn ? next_valid_record(buf, len, off, want) : 0;
			if (next)
				return err_set(err, errlen, SB_EIO,
					       "%s: %s at offset %zu, followed by a valid record at offset %zu"
					       " (not a torn tail)", path, why, off, next);
			if (!torn)
				return err_set(err, errlen, SB_EIO, "%s: %s at offset %zu", path, why, off);
			*cut = off;
			log_event(LOG_WARN, "torn-tail-truncated", "file=%s offset=%zu dropped=%zu reason=\"%s\"",
				  path, off, len - off, why);
			st->torn_tail = 1;
			return 0;
		}
		uint32_t dlen = get32(buf + off + 4);
		if (st->n_entries % 1024 == 0) {
			struct storage_entry *e = realloc(st->entries, (st->n_entries + 1024) * sizeof *e);
			if (!e)
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
			st->entries = e;
		}
		struct storage_entry *e = &st->entries[st->n_entries];
		e->data = malloc(dlen ? dlen : 1);
		if (!e->data || seg_push(g, off, get64(buf + off + 16)) < 0) {
			free(e->data);
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		}
		memcpy(e->data, buf + off + REC_HDR, dlen);
		e->len = dlen;
		e->type = buf[off + 8];
		e->term = get64(buf + off + 16);
		e->index = want;
		e->client_id = get64(buf + off + 32);
		e->seq = get64(buf + off + 40);
		st->n_entries++;
		want++;
		off = end;
	}
	return 0;
}

static int load_segments(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
	DIR *d = opendir(s->dir);
	if (!d)
		return err_set(err, errlen, SB_EIO, "open directory %s: %s", s->dir, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		unsigned long long first;
		char tail[8];
		if (strlen(de->d_name) != 28 || sscanf(de->d_name, "seg-%20llu%5s", &first, tail) != 2 ||
		    strcmp(tail, ".log") != 0)
			continue;
		if (segs_push(s, first, de->d_name) < 0) {
			rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
			break;
		}
	}
	closedir(d);
	if (rc)
		return rc;
	if (s->nsegs)
		qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
	/* The term and vote are made durable before any entry (raft.h's order), so a log without
	 * them means the meta record was lost: starting at term 0 with no vote could grant a
	 * second vote in a term this node already voted in. */
	if (s->nsegs && !s->has_meta)
		return err_set(err, errlen, SB_EIO, "%s/meta missing but %zu log segments exist", s->dir,
			       s->nsegs);

	uint64_t expect = 0;
	for (size_t i = 0; i < s->nsegs; i++) {
		struct seg *g = &s->segs[i];
		char path[PATH_MAX];
		path_of(s, g->name, path, sizeof path);
		unsigned char *buf = NULL;
		size_t len = 0;
		if (read_file(path, &buf, &len, (size_t)STORAGE_SEGMENT_BYTES * 4 + STORAGE_MAX_ENTRY) < 0)
			return err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
		uint64_t cut;
		int last = i + 1 == s->nsegs;
		rc = scan_segment(s, g, buf, len, last, expect, st, &cut, err, errlen);
		free(buf);
		if (rc)
			return rc;
		if (!last && g->n == 0)
			return err_set(err, errlen, SB_EIO, "%s: empty segment before the last at offset %d",
				       path, SEG_HDR);
		g->size = len;
		if (cut == 0) {
			if (s->io->unlink(s->io->ctx, path) < 0 || fsync_dir(s) < 0)
				return err_set(err, errlen, SB_EIO, "remove torn segment %s: %s", path, strerror(errno));
			log_event(LOG_WARN, "torn-tail-truncated", "file=%s offset=0 removed=1", path);
			st->torn_tail = 1;
			free(g->offs);
			free(g->terms);
			s->nsegs--;
			break;
		}
		if (cut != UINT64_MAX) {
			int fd = s->io->open(s->io->ctx, path, O_WRONLY, 0);
			if (fd < 0 || s->io->ftruncate(s->io->ctx, fd, (off_t)cut) < 0 ||
			    s->io->fsync(s->io->ctx, fd) < 0) {
				int e = errno;
				if (fd >= 0)
					s->io->close(s->io->ctx, fd);
				return err_set(err, errlen, SB_EIO, "truncate torn tail of %s at offset %" PRIu64 ": %s",
					       path, cut, strerror(e));
			}
			s->io->close(s->io->ctx, fd);
			g->size = cut;
		}
		expect = g->n ? seg_last(g) + 1 : g->first;
	}
	return 0;
}

/* Remove segments [from, nsegs) from disk and from the table. */
static int drop_segments_from(struct storage *s, size_t from, char *err, size_t errlen)
{
	if (from >= s->nsegs)
		return 0;
	if (s->fd >= 0) {
		s->io->close(s->io->ctx, s->fd);
		s->fd = -1;
	}
	for (size_t i = s->nsegs; i-- > from;) {
		char path[PATH_MAX];
		path_of(s, s->segs[i].name, path, sizeof path);
		if (s->io->unlink(s->io->ctx, path) < 0 && errno != ENOENT)
			return fail(s, err, errlen, "remove %s: %s", path, strerror(errno));
		free(s->segs[i].offs);
		free(s->segs[i].terms);
		s->nsegs = i;
	}
	if (fsync_dir(s) < 0)
		return fail(s, err, errlen, "fsync directory %s: %s", s->dir, strerror(errno));
	return 0;
}

/* Remove segments [0, upto) (compaction). */
static int drop_segments_before(struct storage *s, size_t upto, char *err, size_t errlen)
{
	if (upto == 0)
		return 0;
	if (upto >= s->nsegs)
		return drop_segments_from(s, 0, err, errlen);
	for (size_t i = 0; i < upto; i++) {
		char path[PATH_MAX];
		path_of(s, s->segs[i].name, path, sizeof path);
		if (s->io->unlink(s->io->ctx, path) < 0 && errno != ENOENT)
			return fail(s, err, errlen, "remove %s: %s", path, strerror(errno));
		free(s->segs[i].offs);
		free(s->segs[i].terms);
	}
	memmove(s->segs, s->segs + upto, (s->nsegs - upto) * sizeof *s->segs);
	s->nsegs -= upto;
	if (fsync_dir(s) < 0)
		return fail(s, err, errlen, "fsync directory %s: %s", s->dir, strerror(errno));
	return 0;
}

/* Find the entry with `index`: its segment, and whether it exists. */
static struct seg *find_seg(struct storage *s, uint64_t index, size_t *pos)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		struct seg *g = &s->segs[i];
		if (g->n && index >= g->first && index <= seg_last(g)) {
			*pos = i;
			return g;
		}
	}
	return NULL;
}

static int rm_tmp(struct storage *s, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	path_of(s, name, path, sizeof path);
	if (s->io->unlink(s->io->ctx, path) < 0 && errno != ENOENT)
		return err_set(err, errlen, SB_EIO, "remove %s: %s", path, strerror(errno));
	return 0;
}

static int open_last(struct storage *s, char *err, size_t errlen)
{
	if (!s->nsegs)
		return 0;
	char path[PATH_MAX];
	path_of(s, s->segs[s->nsegs - 1].name, path, sizeof path);
	s->fd = s->io->open(s->io->ctx, path, O_WRONLY | O_APPEND, 0);
	if (s->fd < 0)
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	return 0;
}

int storage_open(const char *dir, const struct storage_io *io, struct storage **out,
		 struct storage_state *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	*out = NULL;
	struct storage *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	s->io = io ? io : &storage_io_posix;
	s->fd = -1;
	int rc;
	if (strlen(dir) >= sizeof s->dir) {
		rc = err_set(err, errlen, SB_EINVAL, "data directory path too long: %s", dir);
		goto out;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = err_set(err, errlen, SB_EIO, "create data directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = rm_tmp(s, "meta.tmp", err, errlen)) || (rc = rm_tmp(s, "snapshot.tmp", err, errlen)))
		goto out;
	if ((rc = load_meta(s, st, err, errlen)) || (rc = load_snapshot(s, st, err, errlen)) ||
	    (rc = load_segments(s, st, err, errlen)))
		goto out;

	uint64_t first = storage_first_index(s), last = last_index(s);
	if (s->has_snapshot && last) {
		/* Raft §7: keep the log only if it holds the snapshot's last entry with the same term
		 * (or starts right after it); otherwise the snapshot supersedes the whole log. A crash
		 * between installing a snapshot and discarding the log lands here. */
		int keep;
		if (first > s->snap_index)
			keep = first == s->snap_index + 1;
		else if (last < s->snap_index)
			keep = 0;
		else
			keep = st->entries[s->snap_index - first].term == s->snap_term;
		if (!keep) {
			log_event(LOG_WARN, "log-discarded", "reason=\"superseded by snapshot\" snap_index=%" PRIu64
				  " first=%" PRIu64 " last=%" PRIu64, s->snap_index, first, last);
			for (size_t i = 0; i < st->n_entries; i++)
				free(st->entries[i].data);
			st->n_entries = 0;
			if ((rc = drop_segments_from(s, 0, err, errlen)))
				goto out;
		}
	}
	last = last_index(s);
	s->next_index = last ? last + 1 : (s->has_snapshot ? s->snap_index + 1 : 1);
	s->synced = last;
	if ((rc = open_last(s, err, errlen)))
		goto out;
	*out = s;
	return 0;
out:
	storage_state_free(st);
	storage_close(s);
	return rc;
}

int storage_probe_dir(const char *dir, const struct storage_io *io, char *err, size_t errlen)
{
	if (!io)
		io = &storage_io_posix;
	char tmp[PATH_MAX], dst[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s/probe.tmp", dir) >= (int)sizeof tmp - 8)
		return err_set(err, errlen, SB_EINVAL, "data directory path too long: %s", dir);
	snprintf(dst, sizeof dst, "%s/probe", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_set(err, errlen, SB_EINVAL, "create data directory %s: %s", dir,
			       strerror(errno));
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return err_set(err, errlen, SB_EINVAL, "data directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(err, errlen, SB_EINVAL, "data directory %s: not a directory", dir);
	/* The steps every persist takes: create, write, fsync, rename, fsync the directory. */
	const char *step = "create", *what = tmp;
	int fd = io->open(io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		goto fail;
	step = "write";
	if (write_all(io, fd, "probe\n", 6) < 0)
		goto fail;
	step = "fsync";
	if (io->fsync(io->ctx, fd) < 0)
		goto fail;
	io->close(io->ctx, fd);
	fd = -1;
	step = "rename";
	if (io->rename(io->ctx, tmp, dst) < 0)
		goto fail;
	step = "remove";
	what = dst;
	if (io->unlink(io->ctx, dst) < 0)
		goto fail;
	step = "fsync";
	what = dir;
	fd = io->open(io->ctx, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || io->fsync(io->ctx, fd) < 0)
		goto fail;
	io->close(io->ctx, fd);
	return 0;
fail:;
	int rc = err_set(err, errlen, SB_EINVAL, "data directory %s is not usable: %s %s: %s", dir,
			 step, what, strerror(errno));
	if (fd >= 0)
		io->close(io->ctx, fd);
	io->unlink(io->ctx, tmp);
	return rc;
}

static int new_segment(struct storage *s, uint64_t first, char *err, size_t errlen)
{
	if (s->fd >= 0) {
		/* The finished segment must be durable before the next one's entries can be. */
		if (s->dirty && s->io->fsync(s->io->ctx, s->fd) < 0)
			return fail(s, err, errlen, "fsync %s: %s", s->segs[s->nsegs - 1].name, strerror(errno));
		s->io->close(s->io->ctx, s->fd);
		s->fd = -1;
	}
	char name[40], path[PATH_MAX];
	snprintf(name, sizeof name, "seg-%020" PRIu64 ".log", first);
	path_of(s, name, path, sizeof path);
	int fd = s->io->open(s->io->ctx, path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		return fail(s, err, errlen, "create %s: %s", path, strerror(errno));
	unsigned char hdr[SEG_HDR] = {0};
	memcpy(hdr, SEG_MAGIC, 8);
	put64(hdr + 8, first);
	put32(hdr + 16, crc32c(0, hdr, 16));
	if (write_all(s->io, fd, hdr, sizeof hdr) < 0) {
		int e = errno;
		s->io->close(s->io->ctx, fd);
		return fail(s, err, errlen, "write %s: %s", path, strerror(e));
	}
	s->fd = fd;
	if (fsync_dir(s) < 0)
		return fail(s, err, errlen, "fsync directory %s: %s", s->dir, strerror(errno));
	if (segs_push(s, first, name) < 0)
		return fail(s, err, errlen, "out of memory");
	s->segs[s->nsegs - 1].size = SEG_HDR;
	return 0;
}

int storage_append(struct storage *s, const struct storage_entry *entries, size_t n, char *err,
		   size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc || n == 0)
		return rc;
	if (entries[0].index != s->next_index)
		return err_set(err, errlen, SB_EINVAL, "append at index %" PRIu64 ", expected %" PRIu64,
			       entries[0].index, s->next_index);
	for (size_t i = 0; i < n; i++) {
		if (entries[i].len > STORAGE_MAX_ENTRY)
			return err_set(err, errlen, SB_EINVAL, "entry %" PRIu64 " too large (%u bytes)",
				       entries[i].index, entries[i].len);
		if (entries[i].index != entries[0].index + i)
			return err_set(err, errlen, SB_EINVAL, "entries not consecutive at %" PRIu64,
				       entries[i].index);
	}
	unsigned char *buf = NULL;
	size_t blen = 0, bcap = 0;
	size_t i = 0;
	while (i < n) {
		struct seg *g = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
		if (!g || s->fd < 0 || (g->size >= STORAGE_SEGMENT_BYTES && g->n)) {
			if ((rc = new_segment(s, entries[i].index, err, errlen)))
				goto out;
			g = &s->segs[s->nsegs - 1];
		}
		/* Encode as many entries as fit into this segment, then write them at once. */
		blen = 0;
		uint64_t base = g->size;
		size_t start = i;
		while (i < n && (i == start || base + blen + REC_HDR + entries[i].len <= STORAGE_SEGMENT_BYTES)) {
			const struct storage_entry *e = &entries[i];
			size_t need = REC_HDR + e->len;
			if (bcap - blen < need) {
				size_t cap = bcap ? bcap : 4096;
				while (cap - blen < need)
					cap *= 2;
				unsigned char *nb = realloc(buf, cap);
				if (!nb) {
					rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
					goto out;
				}
				buf = nb;
				bcap = cap;
			}
			unsigned char *r = buf + blen;
			memset(r, 0, REC_HDR);
			put32(r + 4, e->len);
			r[8] = e->type;
			put64(r + 16, e->term);
			put64(r + 24, e->index);
			put64(r + 32, e->client_id);
			put64(r + 40, e->seq);
			if (e->len)
				memcpy(r + REC_HDR, e->data, e->len);
			put32(r, crc32c(0, r + 4, REC_HDR - 4 + e->len));
			if (seg_push(g, base + blen, e->term) < 0) {
				rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
				goto out;
			}
			blen += need;
			i++;
		}
		if (write_all(s->io, s->fd, buf, blen) < 0) {
			rc = fail(s, err, errlen, "write %s at offset %" PRIu64 ": %s", g->name, base,
				  strerror(errno));
			goto out;
		}
		g->size += blen;
		s->dirty = 1;
	}
	s->next_index = entries[n - 1].index + 1;
out:
	free(buf);
	return rc;
}

int storage_sync(struct storage *s, char *err, size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc)
		return rc;
	if (!s->dirty || s->fd < 0)
		return 0;
	crash_point(CRASH_STORAGE_BEFORE_FSYNC);
	if (s->io->fsync(s->io->ctx, s->fd) < 0)
		return fail(s, err, errlen, "fsync %s: %s", s->segs[s->nsegs - 1].name, strerror(errno));
	s->dirty = 0;
	s->synced = last_index(s);
	crash_point(CRASH_STORAGE_AFTER_FSYNC);
	return 0;
}

int storage_truncate(struct storage *s, uint64_t from, char *err, size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc)
		return rc;
	uint64_t last = last_index(s);
	if (!last || from > last)
		return 0;
	size_t pos = 0;
	struct seg *g = find_seg(s, from, &pos);
	if (!g) /* from is before the first entry: everything goes */
		pos = 0;
	if (!g || from == g->first) {
		rc = drop_segments_from(s, pos, err, errlen);
	} else {
		if ((rc = drop_segments_from(s, pos + 1, err, errlen)))
			return rc;
		uint64_t off = g->offs[from - g->first];
		char path[PATH_MAX];
		path_of(s, g->name, path, sizeof path);
		if (s->fd < 0 && (rc = open_last(s, err, errlen)))
			return fail(s, err, errlen, "reopen %s", path);
		if (s->io->ftruncate(s->io->ctx, s->fd, (off_t)off) < 0)
			return fail(s, err, errlen, "truncate %s at offset %" PRIu64 ": %s", path, off,
				    strerror(errno));
		if (s->io->fsync(s->io->ctx, s->fd) < 0)
			return fail(s, err, errlen, "fsync %s: %s", path, strerror(errno));
		g->n = from - g->first;
		g->size = off;
	}
	if (rc)
		return rc;
	s->next_index = from;
	if (s->synced >= from)
		s->synced = from - 1;
	log_event(LOG_INFO, "log-truncated", "from=%" PRIu64 " old_last=%" PRIu64, from, last);
	return 0;
}

int storage_compact(struct storage *s, uint64_t upto, char *err, size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc)
		return rc;
	/* Whole segments only, and never the last one (it is the one being appended to). */
	size_t n = 0;
	while (n + 1 < s->nsegs && s->segs[n].n && seg_last(&s->segs[n]) <= upto)
		n++;
	if (n)
		log_event(LOG_DEBUG, "log-compacted", "upto=%" PRIu64 " segments=%zu", upto, n);
	return drop_segments_before(s, n, err, errlen);
}

int storage_save_snapshot(struct storage *s, uint64_t index, uint64_t term, const void *data,
			  size_t len, char *err, size_t errlen)
{
	int rc = check_ok(s, err, errlen);
	if (rc)
		return rc;
	if (len > STORAGE_MAX_SNAPSHOT)
		return err_set(err, errlen, SB_EINVAL, "snapshot too large (%zu bytes)", len);
	char tmp[PATH_MAX], dst[PATH_MAX];
	path_of(s, "snapshot.tmp", tmp, sizeof tmp);
	path_of(s, "snapshot", dst, sizeof dst);
	unsigned char hdr[SNAP_HDR], tail[4];
	memcpy(hdr, SNAP_MAGIC, 8);
	put64(hdr + 8, index);
	put64(hdr + 16, term);
	put64(hdr + 24, len);
	uint32_t crc = crc32c(crc32c(0, hdr, SNAP_HDR), data, len);
	put32(tail, crc);
	int fd = s->io->open(s->io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail(s, err, errlen, "create %s: %s", tmp, strerror(errno));
	size_t half = len / 2;
	if (write_all(s->io, fd, hdr, SNAP_HDR) < 0 || write_all(s->io, fd, data, half) < 0)
		goto werr;
	crash_point(CRASH_SNAPSHOT_MID_WRITE);
	if (write_all(s->io, fd, (const char *)data + half, len - half) < 0 ||
	    write_all(s->io, fd, tail, 4) < 0)
		goto werr;
	if (s->io->fsync(s->io->ctx, fd) < 0) {
		int e = errno;
		s->io->close(s->io->ctx, fd);
		return fail(s, err, errlen, "fsync %s: %s", tmp, strerror(e));
	}
	s->io->close(s->io->ctx, fd);
	if (s->io->rename(s->io->ctx, tmp, dst) < 0)
		return fail(s, err, errlen, "rename %s to %s: %s", tmp, dst, strerror(errno));
	if (fsync_dir(s) < 0)
		return fail(s, err, errlen, "fsync directory %s: %s", s->dir, strerror(errno));
	crash_point(CRASH_SNAPSHOT_AFTER_RENAME);
	s->has_snapshot = 1;
	s->snap_index = index;
	s->snap_term = term;

	/* Raft §7: if the log holds the snapshot's last entry with its term, what follows stays;
	 * otherwise the whole log is superseded by the snapshot. */
	size_t pos;
	struct seg *g = find_seg(s, index, &pos);
	int match = g ? g->terms[index - g->first] == term : storage_first_index(s) == index + 1;
	if (!match && s->nsegs) {
		log_event(LOG_INFO, "log-discarded", "reason=\"superseded by snapshot\" snap_index=%" PRIu64,
			  index);
		if ((rc = drop_segments_from(s, 0, err, errlen)))
			return rc;
	}
	if (!match) {
		s->next_index = index + 1;
		s->synced = 0;
	}
	return 0;

werr:;
	int e = errno;
	s->io->close(s->io->ctx, fd);
	return fail(s, err, errlen, "write %s: %s", tmp, strerror(e));
}
