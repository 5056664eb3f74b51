/* Storage: recovery of torn tails, corruption reports, atomic record replacement, snapshots,
 * and SQLite's loop: fail the Nth write or fsync, reopen, nothing acknowledged is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "node/storage.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static void make_dir(char *out, size_t n)
{
	snprintf(out, n, "/tmp/sb-test-storage-XXXXXX");
	assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char p[4096];
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static struct storage_entry mk(uint64_t index, uint64_t term, const char *text)
{
	struct storage_entry e = {.term = term, .index = index, .type = 2, .client_id = 7,
				  .seq = index, .len = (uint32_t)strlen(text), .data = (void *)text};
	return e;
}

static void append_range(struct storage *s, uint64_t from, uint64_t to, uint64_t term)
{
	char err[256];
	for (uint64_t i = from; i <= to; i++) {
		char *text = malloc(32);
		snprintf(text, 32, "v%llu-t%llu", (unsigned long long)i, (unsigned long long)term);
		struct storage_entry e = mk(i, term, text);
		assert_int_equal(storage_append(s, &e, 1, err, sizeof err), 0);
		free(text);
	}
	assert_int_equal(storage_sync(s, err, sizeof err), 0);
}

static void check_entry(const struct storage_entry *e, uint64_t index, uint64_t term)
{
	char want[32];
	snprintf(want, sizeof want, "v%llu-t%llu", (unsigned long long)index, (unsigned long long)term);
	assert_int_equal(e->index, index);
	assert_int_equal(e->term, term);
	assert_int_equal(e->len, strlen(want));
	assert_memory_equal(e->data, want, e->len);
	assert_int_equal(e->client_id, 7);
	assert_int_equal(e->seq, index);
}

static void first_segment(const char *dir, char *out, size_t n)
{
	snprintf(out, n, "%s/seg-%020d.log", dir, 1);
}

static long file_size(const char *p)
{
	struct stat st;
	if (stat(p, &st) < 0)
		return -1;
	return (long)st.st_size;
}

/* ---- basic behaviour --------------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	char dir[64], err[256];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.term, 0);
	assert_int_equal(st.n_entries, 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 5, 2, err, sizeof err), 0);
	append_range(s, 1, 10, 5);
	assert_int_equal(storage_last_index(s), 10);
	assert_int_equal(storage_synced_index(s), 10);
	storage_close(s);

	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.term, 5);
	assert_int_equal(st.vote, 2);
	assert_int_equal(st.n_entries, 10);
	assert_int_equal(st.torn_tail, 0);
	for (size_t i = 0; i < 10; i++)
		check_entry(&st.entries[i], i + 1, 5);
	storage_state_free(&st);
	/* appends must continue where the log ends */
	struct storage_entry bad = mk(12, 5, "x");
	assert_int_equal(storage_append(s, &bad, 1, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "expected 11"));
	storage_close(s);
	remove_dir(dir);
}

static void test_truncate_and_reopen(void **state)
{
	char dir[64], err[256];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	append_range(s, 1, 10, 1);
	assert_int_equal(storage_truncate(s, 6, err, sizeof err), 0);
	assert_int_equal(storage_last_index(s), 5);
	append_range(s, 6, 8, 2);
	storage_close(s);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.n_entries, 8);
	for (size_t i = 0; i < 5; i++)
		check_entry(&st.entries[i], i + 1, 1);
	for (size_t i = 5; i < 8; i++)
		check_entry(&st.entries[i], i + 1, 2);
	storage_state_free(&st);
	/* truncating everything leaves an empty log that restarts at the cut */
	assert_int_equal(storage_truncate(s, 1, err, sizeof err), 0);
	assert_int_equal(storage_last_index(s), 0);
	append_range(s, 1, 2, 3);
	storage_close(s);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.n_entries, 2);
	check_entry(&st.entries[1], 2, 3);
	storage_state_free(&st);
	storage_close(s);
	remove_dir(dir);
}

static void test_torn_tail(void **state)
{
	char dir[64], err[256], seg[128];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	append_range(s, 1, 5, 1);
	storage_close(s);
	/* Cut the last record in the middle, as a crash during its write would. */
	first_segment(dir, seg, sizeof seg);
	long sz = file_size(seg);
	assert_true(sz > 10);
	assert_int_equal(truncate(seg, sz - 7), 0);

	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.torn_tail, 1);
	assert_int_equal(st.n_entries, 4);
	check_entry(&st.entries[3], 4, 1);
	storage_state_free(&st);
	assert_true(file_size(seg) < sz - 7); /* the partial record is gone from the file */
	append_range(s, 5, 6, 2);
	storage_close(s);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.torn_tail, 0);
	assert_int_equal(st.n_entries, 6);
	check_entry(&st.entries[5], 6, 2);
	storage_state_free(&st);
	storage_close(s);

	/* Zero fill after the last record (a preallocated or half-flushed page) is a torn tail too. */
	int fd = open(seg, O_WRONLY | O_APPEND);
	char zeros[300] = {0};
	assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
	close(fd);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.torn_tail, 1);
	assert_int_equal(st.n_entries, 6);
	storage_state_free(&st);
	storage_close(s);
	remove_dir(dir);
}

static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_crc_mismatch_in_the_middle(void **state)
{
	char dir[64], err[256], seg[128];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	append_range(s, 1, 10, 1);
	storage_close(s);
	first_segment(dir, seg, sizeof seg);
	/* Records are 48 header bytes + 6..7 data bytes after a 24-byte segment header: byte 150
	 * is inside the third record, with seven valid records after it. */
	flip_byte(seg, 150);
	memset(err, 0, sizeof err);
	int rc = storage_open(dir, NULL, &s, &st, err, sizeof err);
	assert_int_equal(rc, SB_EIO);
	assert_null(s);
	assert_non_null(strstr(err, "seg-00000000000000000001.log"));
	assert_non_null(strstr(err, "crc mismatch at offset"));
	/* the file is left untouched for a person to inspect */
	flip_byte(seg, 150);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.n_entries, 10);
	storage_state_free(&st);
	storage_close(s);
	remove_dir(dir);
}

/* Offset of the n-th record (1-based) of a segment file. */
static long record_offset(const char *path, int n)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	long off = 24;
	for (int i = 1; i < n; i++) {
		unsigned char l[4];
		assert_int_equal(pread(fd, l, 4, off + 4), 4);
		off += 48 + (long)(l[0] | l[1] << 8 | l[2] << 16 | (uint32_t)l[3] << 24);
	}
	close(fd);
	return off;
}

static void put_le32(const char *path, long off, uint32_t v)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};
	assert_int_equal(pwrite(fd, b, 4, off), 4);
	close(fd);
}

/* A damaged length field in the middle of the last segment points past the end of the file,
 * as a torn last record would; but fsynced records follow it, so it is corruption: the node
 * must refuse to start rather than cut the log there and lose them. */
static void test_bad_length_in_the_middle_of_the_last_segment(void **state)
{
	const uint32_t bad[] = {0x7fffffffu, 1u << 20};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char dir[64], err[512], seg[128], want[64];
		make_dir(dir, sizeof dir);
		struct storage *s;
		struct storage_state st;
		assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
		assert_int_equal(storage_set_meta(s, 1, 1, err, sizeof err), 0);
		append_range(s, 1, 100, 1);
		storage_close(s);
		first_segment(dir, seg, sizeof seg);
		long sz = file_size(seg), off = record_offset(seg, 50);
		put_le32(seg, off + 4, bad[k]);
		memset(err, 0, sizeof err);
		assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), SB_EIO);
		assert_null(s);
		assert_non_null(strstr(err, "seg-00000000000000000001.log"));
		snprintf(want, sizeof want, "at offset %ld,", off);
		assert_non_null(strstr(err, want));
		assert_non_null(strstr(err, "not a torn tail"));
		assert_int_equal(file_size(seg), sz); /* nothing was cut */

		/* The same damage on the very last record is a torn tail: nothing follows it. */
		put_le32(seg, off + 4, (uint32_t)strlen("v50-t1"));
		long last = record_offset(seg, 100);
		put_le32(seg, last + 4, bad[k]);
		assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
		assert_int_equal(st.torn_tail, 1);
		assert_int_equal(st.n_entries, 99);
		check_entry(&st.entries[98], 99, 1);
		storage_state_free(&st);
		storage_close(s);
		assert_int_equal(file_size(seg), last);
		remove_dir(dir);
	}
}

/* A log without its term/vote record: starting at term 0 with no vote could grant a second
 * vote in a term the node already voted in, so storage_open refuses. */
static void test_meta_missing_with_segments(void **state)
{
	char dir[64], err[512], p[128];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(storage_set_meta(s, 4, 2, err, sizeof err), 0);
	append_range(s, 1, 3, 4);
	storage_close(s);
	snprintf(p, sizeof p, "%s/meta", dir);
	assert_int_equal(unlink(p), 0);
	memset(err, 0, sizeof err);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), SB_EIO);
	assert_null(s);
	assert_non_null(strstr(err, "meta missing but 1 log segments exist"));
	/* nothing was changed: the segment is still there for a person to look at */
	first_segment(dir, p, sizeof p);
	assert_true(file_size(p) > 0);
	remove_dir(dir);
}

static void test_corruption_in_an_older_segment(void **state)
{
	char dir[64], err[256], seg[128];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	/* 1 MiB entries: the ninth starts a second segment. */
	size_t big = 1u << 20;
	char *data = malloc(big);
	memset(data, 'a', big);
	for (uint64_t i = 1; i <= 10; i++) {
		struct storage_entry e = {.term = 1, .index = i, .type = 2, .len = (uint32_t)big, .data = data};
		assert_int_equal(storage_append(s, &e, 1, err, sizeof err), 0);
	}
	assert_int_equal(storage_sync(s, err, sizeof err), 0);
	storage_close(s);
	first_segment(dir, seg, sizeof seg);
	long sz = file_size(seg);
	assert_true(sz > 0 && sz < 10L * (long)big);
	/* The LAST record of the first segment: not a torn tail, since a later segment exists. */
	flip_byte(seg, sz - 10);
	int rc = storage_open(dir, NULL, &s, &st, err, sizeof err);
	assert_int_equal(rc, SB_EIO);
	assert_non_null(strstr(err, "seg-00000000000000000001.log"));
	assert_non_null(strstr(err, "offset"));
	flip_byte(seg, sz - 10);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.n_entries, 10);
	storage_state_free(&st);
	/* compaction drops whole segments covered by a snapshot, never the last one */
	assert_int_equal(storage_save_snapshot(s, 9, 1, "snap", 4, err, sizeof err), 0);
	assert_int_equal(storage_compact(s, 9, err, sizeof err), 0);
	assert_int_equal(file_size(seg), -1);
	assert_true(storage_first_index(s) > 1);
	storage_close(s);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.has_snapshot, 1);
	assert_int_equal(st.snap_index, 9);
	assert_int_equal(st.entries[st.n_entries - 1].index, 10);
	storage_state_free(&st);
	storage_close(s);
	free(data);
	remove_dir(dir);
}

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	assert_non_null(a);
	assert_non_null(b);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		assert_int_equal(fwrite(buf, 1, n, b), n);
	fclose(a);
	fclose(b);
}

/* An installed snapshot that the log does not continue supersedes the whole log (Raft §7),
 * when it is saved and, after a crash between saving it and dropping the log, on restart. */
static void test_snapshot_supersedes_log(void **state)
{
	char dir[64], other[64], err[256], p1[128], p2[128];
	make_dir(dir, sizeof dir);
	make_dir(other, sizeof other);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	append_range(s, 1, 10, 1);
	/* a snapshot beyond the log: the log goes, appends continue after the snapshot */
	assert_int_equal(storage_save_snapshot(s, 20, 3, "s20", 3, err, sizeof err), 0);
	assert_int_equal(storage_last_index(s), 0);
	append_range(s, 21, 22, 3);
	storage_close(s);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.snap_index, 20);
	assert_int_equal(st.n_entries, 2);
	check_entry(&st.entries[0], 21, 3);
	storage_state_free(&st);
	/* a snapshot that matches the log's entry keeps the log */
	assert_int_equal(storage_save_snapshot(s, 21, 3, "s21", 3, err, sizeof err), 0);
	assert_int_equal(storage_last_index(s), 22);
	storage_close(s);

	/* crash after the snapshot was renamed into place, before the log was dropped */
	assert_int_equal(storage_open(other, NULL, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 1, 0, err, sizeof err), 0);
	append_range(s, 1, 10, 1);
	storage_close(s);
	snprintf(p1, sizeof p1, "%s/snapshot", dir);
	snprintf(p2, sizeof p2, "%s/snapshot", other);
	copy_file(p1, p2); /* index 21, term 3: the log here ends at 10 */
	assert_int_equal(storage_open(other, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.snap_index, 21);
	assert_int_equal(st.n_entries, 0);
	storage_state_free(&st);
	append_range(s, 22, 23, 4);
	storage_close(s);
	assert_int_equal(storage_open(other, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.n_entries, 2);
	check_entry(&st.entries[1], 23, 4);
	storage_state_free(&st);
	storage_close(s);
	remove_dir(dir);
	remove_dir(other);
}

/* ---- a fault-injecting I/O backend -------------------------------------------------------- */

struct fault {
	int target;     /* fail the target-th write-or-fsync (1-based); 0 = never */
	int count;
	int fired;
	int fail_rename; /* fail every rename */
};

static int f_open(void *ctx, const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}
static ssize_t f_write(void *ctx, int fd, const void *buf, size_t n)
{
	struct fault *f = ctx;
	if (f->target && ++f->count == f->target) {
		f->fired = 1;
		/* A failed write may still have written part of its bytes. */
		if (n > 1)
			(void)!write(fd, buf, n / 2);
		errno = EIO;
		return -1;
	}
	return write(fd, buf, n);
}
static int f_fsync(void *ctx, int fd)
{
	struct fault *f = ctx;
	if (f->target && ++f->count == f->target) {
		f->fired = 1;
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}
static int f_ftruncate(void *ctx, int fd, off_t len)
{
	return ftruncate(fd, len);
}
static int f_rename(void *ctx, const char *a, const char *b)
{
	struct fault *f = ctx;
	if (f->fail_rename) {
		errno = EIO;
		return -1;
	}
	return rename(a, b);
}
static int f_unlink(void *ctx, const char *p)
{
	return unlink(p);
}
static int f_close(void *ctx, int fd)
{
	return close(fd);
}

static struct storage_io fault_io(struct fault *f)
{
	struct storage_io io = {f_open, f_write, f_fsync, f_ftruncate, f_rename, f_unlink, f_close, f};
	return io;
}

/* A crash between writing the temp file and renaming it: the old record stays, and the
 * leftover temp file is ignored and removed on restart. */
static void test_crash_between_temp_and_rename(void **state)
{
	char dir[64], err[256], p[128];
	make_dir(dir, sizeof dir);
	struct storage *s;
	struct storage_state st;
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(storage_set_meta(s, 3, 1, err, sizeof err), 0);
	assert_int_equal(storage_save_snapshot(s, 0, 0, "old", 3, err, sizeof err), 0);
	storage_close(s);

	struct fault f = {.fail_rename = 1};
	struct storage_io io = fault_io(&f);
	assert_int_equal(storage_open(dir, &io, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_set_meta(s, 4, 2, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "rename"));
	/* the storage refuses further work after a failure */
	assert_int_equal(storage_set_meta(s, 4, 2, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "failed earlier"));
	storage_close(s);
	snprintf(p, sizeof p, "%s/meta.tmp", dir);
	assert_true(file_size(p) > 0); /* the new record sits in the temp file */

	f.fail_rename = 1;
	assert_int_equal(storage_open(dir, &io, &s, &st, err, sizeof err), 0);
	storage_state_free(&st);
	assert_int_equal(storage_save_snapshot(s, 0, 0, "newer", 5, err, sizeof err), SB_EIO);
	storage_close(s);

	/* A garbage temp file (crash mid-write) is just as harmless. */
	snprintf(p, sizeof p, "%s/snapshot.tmp", dir);
	FILE *fp = fopen(p, "w");
	fputs("half a snapsh", fp);
	fclose(fp);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), 0);
	assert_int_equal(st.term, 3);
	assert_int_equal(st.vote, 1);
	assert_int_equal(st.has_snapshot, 1);
	assert_int_equal(st.snap_len, 3);
	assert_memory_equal(st.snap_data, "old", 3);
	assert_int_equal(file_size(p), -1);
	storage_state_free(&st);
	storage_close(s);

	/* A damaged meta record is corruption, reported with the file. */
	snprintf(p, sizeof p, "%s/meta", dir);
	flip_byte(p, 10);
	assert_int_equal(storage_open(dir, NULL, &s, &st, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "meta"));
	assert_non_null(strstr(err, "crc mismatch at offset 0"));
	remove_dir(dir);
}

/* The start-up probe: a directory that cannot take a persist is refused before the node
 * starts (it once started on /proc/self and failed only at its first persist). */
static void test_probe_dir(void **state)
{
	char dir[64], err[512], p[128];
	make_dir(dir, sizeof dir);
	assert_int_equal(storage_probe_dir(dir, NULL, err, sizeof err), 0);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	assert_int_equal(n, 0); /* nothing left behind */
	/* a missing directory is created */
	snprintf(p, sizeof p, "%s/sub", dir);
	assert_int_equal(storage_probe_dir(p, NULL, err, sizeof err), 0);
	assert_int_equal(rmdir(p), 0);

	assert_int_equal(storage_probe_dir("/proc/self", NULL, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "/proc/self is not usable: create"));
	snprintf(p, sizeof p, "%s/file", dir);
	FILE *f = fopen(p, "w");
	fclose(f);
	assert_int_equal(storage_probe_dir(p, NULL, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "not a directory"));
	unlink(p);
	/* a disk whose fsync fails */
	for (int target = 1; target <= 3; target++) {
		struct fault fl = {.target = target};
		struct storage_io io = fault_io(&fl);
		int rc = storage_probe_dir(dir, &io, err, sizeof err);
		if (!fl.fired) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, SB_EINVAL);
		assert_non_null(strstr(err, "not usable"));
	}
	struct fault fr = {.fail_rename = 1};
	struct storage_io io = fault_io(&fr);
	assert_int_equal(storage_probe_dir(dir, &io, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "rename"));
	snprintf(p, sizeof p, "%s/probe.tmp", dir);
	assert_int_equal(file_size(p), -1); /* removed after a failure too */
	remove_dir(dir);
}

/* ---- SQLite's loop ------------------------------------------------------------------------ */

/* The model of what a successful run of the workload has made durable. */
struct model {
	uint64_t term, vote;
	uint64_t n;            /* entries 1..n */
	uint64_t terms[64];    /* term of entry i at terms[i] */
	uint64_t snap_index;
	int has_snap;
};

enum { OP_META, OP_APPEND, OP_TRUNCATE, OP_SNAPSHOT };
struct op {
	int kind;
	uint64_t a, b, c; /* META term vote; APPEND from to term; TRUNCATE from; SNAPSHOT index term */
};

static const struct op workload[] = {
	{OP_META, 1, 1, 0},	 {OP_APPEND, 1, 5, 1},	  {OP_APPEND, 6, 8, 1},
	{OP_META, 2, 0, 0},	 {OP_TRUNCATE, 7, 0, 0},  {OP_APPEND, 7, 12, 2},
	{OP_SNAPSHOT, 5, 1, 0}, {OP_META, 3, 2, 0},	  {OP_APPEND, 13, 20, 3},
	{OP_APPEND, 21, 21, 3},
};
#define NOPS (sizeof workload / sizeof workload[0])

static void model_apply(struct model *m, const struct op *o)
{
	switch (o->kind) {
	case OP_META:
		m->term = o->a;
		m->vote = o->b;
		break;
	case OP_APPEND:
		for (uint64_t i = o->a; i <= o->b; i++)
			m->terms[i] = o->c;
		m->n = o->b;
		break;
	case OP_TRUNCATE:
		m->n = o->a - 1;
		break;
	case OP_SNAPSHOT:
		m->has_snap = 1;
		m->snap_index = o->a;
		break;
	}
}

static int run_op(struct storage *s, const struct op *o, char *err, size_t errlen)
{
	switch (o->kind) {
	case OP_META:
		return storage_set_meta(s, o->a, o->b, err, errlen);
	case OP_APPEND: {
		struct storage_entry es[32];
		char texts[32][32];
		size_t n = 0;
		for (uint64_t i = o->a; i <= o->b; i++, n++) {
			snprintf(texts[n], sizeof texts[n], "v%llu-t%llu", (unsigned long long)i,
				 (unsigned long long)o->c);
			es[n] = mk(i, o->c, texts[n]);
		}
		int rc = storage_append(s, es, n, err, errlen);
		return rc ? rc : storage_sync(s, err, errlen);
	}
	case OP_TRUNCATE:
		return storage_truncate(s, o->a, err, errlen);
	case OP_SNAPSHOT:
		return storage_save_snapshot(s, o->a, o->b, "snapshot", 8, err, errlen);
	}
	return -1;
}

/* The disk after a failure inside the op that takes `before` to `after` must hold one of the
 * two states (or, for the log, something between them): nothing durable before the op is
 * lost, nothing appears that was never written. */
static void check_recovered(const char *dir, const struct model *before, const struct model *after,
			    int n_fail)
{
	char err[256];
	struct storage *s;
	struct storage_state st;
	int rc = storage_open(dir, NULL, &s, &st, err, sizeof err);
	if (rc)
		fail_msg("N=%d: reopen failed: %s", n_fail, err);
	int meta_ok = (st.term == before->term && st.vote == before->vote) ||
		      (st.term == after->term && st.vote == after->vote);
	if (!meta_ok)
		fail_msg("N=%d: term/vote %llu/%llu is neither the old nor the new record", n_fail,
			 (unsigned long long)st.term, (unsigned long long)st.vote);
	if (st.has_snapshot != before->has_snap && st.has_snapshot != after->has_snap)
		fail_msg("N=%d: snapshot presence wrong", n_fail);
	/* The log: a contiguous run ending at L, every entry matching before or after, and L at
	 * least the common durable prefix. */
	uint64_t common = 0;
	uint64_t lim = before->n < after->n ? before->n : after->n;
	while (common < lim && before->terms[common + 1] == after->terms[common + 1])
		common++;
	uint64_t last = st.n_entries ? st.entries[st.n_entries - 1].index : 0;
	uint64_t first = st.n_entries ? st.entries[0].index : 0;
	if (last < common && !(st.has_snapshot && last == 0 && st.snap_index >= common))
		fail_msg("N=%d: acknowledged entries lost: log ends at %llu, %llu were durable", n_fail,
			 (unsigned long long)last, (unsigned long long)common);
	if (first > 1 && !(st.has_snapshot && first <= st.snap_index + 1))
		fail_msg("N=%d: log starts at %llu", n_fail, (unsigned long long)first);
	int as_before = last <= before->n, as_after = last <= after->n;
	for (size_t i = 0; i < st.n_entries; i++) {
		uint64_t ix = st.entries[i].index;
		if (ix > before->n || st.entries[i].term != before->terms[ix])
			as_before = 0;
		if (ix > after->n || st.entries[i].term != after->terms[ix])
			as_after = 0;
		check_entry(&st.entries[i], ix, st.entries[i].term);
	}
	if (!as_before && !as_after)
		fail_msg("N=%d: the log matches neither the state before nor after the failed op", n_fail);
	storage_state_free(&st);
	/* the recovered storage accepts new work */
	struct storage_entry e = mk(last + 1, 9, "v-next");
	if (storage_append(s, &e, 1, err, sizeof err) || storage_sync(s, err, sizeof err))
		fail_msg("N=%d: append after recovery: %s", n_fail, err);
	storage_close(s);
}

static void test_fail_nth_write_or_fsync(void **state)
{
	int completed = 0, failures = 0;
	for (int n = 1; n < 500 && !completed; n++) {
		char dir[64], err[256];
		make_dir(dir, sizeof dir);
		struct fault f = {.target = n};
		struct storage_io io = fault_io(&f);
		struct storage *s;
		struct storage_state st;
		assert_int_equal(storage_open(dir, &io, &s, &st, err, sizeof err), 0);
		storage_state_free(&st);
		struct model m = {0};
		size_t k;
		for (k = 0; k < NOPS; k++) {
			struct model next = m;
			model_apply(&next, &workload[k]);
			int rc = run_op(s, &workload[k], err, sizeof err);
			if (rc) {
				assert_int_equal(rc, SB_EIO);
				assert_true(f.fired);
				assert_true(storage_failed(s));
				/* every later call is refused */
				assert_int_equal(storage_set_meta(s, 99, 9, err, sizeof err), SB_EIO);
				storage_close(s);
				check_recovered(dir, &m, &next, n);
				failures++;
				break;
			}
			m = next;
		}
		if (k == NOPS) {
			assert_false(f.fired);
			storage_close(s);
			check_recovered(dir, &m, &m, n);
			completed = 1;
		}
		remove_dir(dir);
	}
	assert_true(completed);
	assert_true(failures > 10); /* every write and fsync of the workload was failed once */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncate_and_reopen),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_crc_mismatch_in_the_middle),
		cmocka_unit_test(test_bad_length_in_the_middle_of_the_last_segment),
		cmocka_unit_test(test_meta_missing_with_segments),
		cmocka_unit_test(test_corruption_in_an_older_segment),
		cmocka_unit_test(test_snapshot_supersedes_log),
		cmocka_unit_test(test_crash_between_temp_and_rename),
		cmocka_unit_test(test_probe_dir),
		cmocka_unit_test(test_fail_nth_write_or_fsync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
