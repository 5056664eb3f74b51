/* knownhosts: matching, mismatch, unknown, ports, hashed entries, odd lines, appending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/control/knownhosts.h"
#include "lib/err.h"

/* Two ed25519 keys and one ECDSA key (public halves only). */
#define KEY_A "AAAAC3NzaC1lZDI1NTE5AAAAIL3t+ZlG60mUfeVWNyUApT3geLIXCq9RZQpnb7NoGLkK"
#define FP_A "SHA256:5ZO79mJ8lL1l7E9plHnwNu+Hktsi0lkzMhg5m2fVbBY"
#define KEY_B "AAAAC3NzaC1lZDI1NTE5AAAAIGBGdjPODwAWrRc80r3Z6npX+onPv6SSlmQ4mse9U/Wn"
#define KEY_E "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN1bO8VKBKGmbNAIKlgbyOAFZNqb0ql54PTLGVpE81IPrzWWecUcN0Yl2S8ekoGml3YwaLVUpg+oQW+0ywDMP9U="
#define FP_E "SHA256:PSrUcMx2KvE/wZnA7Qk36viKE0yHSJquEHtaW2DvzjY"
/* "10.9.8.7" hashed by ssh-keygen -H, with KEY_A. */
#define HASHED_A "|1|v2I38gKAoREXkhLohI7ubXb/epY=|x8OGMMyJDgE/KTg7GULOTMcPNMc= ssh-ed25519 " KEY_A
/* "n1" hashed by ssh-keygen -H, with KEY_A. */
#define HASHED_N1 "|1|iTW3VFqOh1IXfLzz1nfYcDP2huc=|WpMVF7/i9MRyvOVEMi2CuxaxsXU= ssh-ed25519 " KEY_A

static unsigned char blob_a[128], blob_b[128], blob_e[256];
static size_t len_a, len_b, len_e;
static char dir[64], path[128];

static size_t b64d(const char *s, unsigned char *out)
{
	static const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *s && *s != '='; s++) {
		const char *p = strchr(tab, *s);
		acc = acc << 6 | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

static struct knownhosts_key K(const unsigned char *b, size_t l)
{
	return (struct knownhosts_key){.blob = b, .len = l};
}

static void put(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static enum knownhosts_result check(const char *host, int port, struct knownhosts_key k,
				    int *skipped)
{
	enum knownhosts_result r = KNOWNHOSTS_MATCH;
	char err[256] = "";
	int rc = knownhosts_check(path, host, port, k, &r, skipped, err, sizeof err);
	if (rc)
		fail_msg("knownhosts_check: %s", err);
	return r;
}

static int setup(void **state)
{
	len_a = b64d(KEY_A, blob_a);
	len_b = b64d(KEY_B, blob_b);
	len_e = b64d(KEY_E, blob_e);
	snprintf(dir, sizeof dir, "/tmp/sb-kh-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/known_hosts", dir);
	return 0;
}

static int teardown(void **state)
{
	char fifo[160];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir); /* test_special_files_are_refused's */
	unlink(fifo);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void test_match_mismatch_unknown(void **state)
{
	put("# comment\n"
	    "\n"
	    "10.0.0.1 ssh-ed25519 " KEY_A "\n"
	    "10.0.0.2 ssh-ed25519 " KEY_B " a comment\n"
	    "other,10.0.0.3 ssh-ed25519 " KEY_A "\r\n"
	    "10.0.0.4 ecdsa-sha2-nistp256 " KEY_E "\n"
	    "   10.0.0.5 ssh-ed25519 " KEY_A); /* leading blanks, no final newline */
	int skipped = -1;
	assert_int_equal(check("10.0.0.1", 22, K(blob_a, len_a), &skipped), KNOWNHOSTS_MATCH);
	assert_int_equal(skipped, 0);
	assert_int_equal(check("10.0.0.2", 22, K(blob_b, len_b), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.3", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("other", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.5", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	/* Changed key of the same type: mismatch. */
	assert_int_equal(check("10.0.0.1", 22, K(blob_b, len_b), NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("10.0.0.5", 22, K(blob_b, len_b), NULL), KNOWNHOSTS_MISMATCH);
	/* Unknown host; a known host presenting another key type is unknown too (OpenSSH). */
	assert_int_equal(check("10.0.0.9", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("10.0.0.4", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("10.0.0.4", 22, K(blob_e, len_e), NULL), KNOWNHOSTS_MATCH);
	/* Prefix of a name is not the name. */
	assert_int_equal(check("10.0.0.", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_NOTFOUND);
}

static void test_ports_and_hashed(void **state)
{
	put("[10.0.0.1]:2222 ssh-ed25519 " KEY_A "\n" HASHED_A "\n");
	assert_int_equal(check("10.0.0.1", 2222, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.1", 2222, K(blob_b, len_b), NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("10.0.0.1", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("10.9.8.7", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.9.8.7", 22, K(blob_b, len_b), NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("10.9.8.8", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_NOTFOUND);
}

static void test_odd_lines_are_skipped_not_fatal(void **state)
{
	put("garbage\n"
	    "@cert-authority *.example ssh-ed25519 " KEY_B "\n"
	    "@revoked 10.0.0.1 ssh-ed25519 " KEY_B "\n"
	    "10.0.0.7 ssh-unknown-type AAAAB3Nz\n"
	    "10.0.0.1 ssh-ed25519 " KEY_A "\n");
	int skipped = 0;
	assert_int_equal(check("10.0.0.1", 22, K(blob_a, len_a), &skipped), KNOWNHOSTS_MATCH);
	assert_true(skipped >= 3); /* garbage and both markers at least */
}

static void test_missing_file_and_bad_input(void **state)
{
	unlink(path);
	int skipped = 5;
	assert_int_equal(check("10.0.0.1", 22, K(blob_a, len_a), &skipped), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(skipped, 0);
	enum knownhosts_result r;
	char err[256];
	const unsigned char junk[] = {0, 0, 0, 99, 'x'};
	assert_int_equal(knownhosts_check(path, "h", 22, K(junk, sizeof junk), &r, NULL, err,
					  sizeof err),
			 SB_EINVAL);
	assert_int_equal(knownhosts_check(path, "h", 22, K(junk, 2), &r, NULL, err, sizeof err),
			 SB_EINVAL);
	const unsigned char odd[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'x', 'y', 'z', 1, 2};
	assert_int_equal(knownhosts_check(path, "h", 22, K(odd, sizeof odd), &r, NULL, err,
					  sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "unsupported host key type ssh-xyz"));
	/* A directory where the file should be: an I/O error, not a crash. */
	assert_int_equal(knownhosts_check(dir, "h", 22, K(blob_a, len_a), &r, NULL, err,
					  sizeof err) != 0,
			 1);
}

/* known_hosts=/dev/zero used to be read into memory without end (gigabytes in seconds), and
 * a FIFO blocked forever: both are refused at once, neither is read, and adding to one
 * fails the same way. */
static void test_special_files_are_refused(void **state)
{
	enum knownhosts_result r;
	char err[256], fifo[160];
	assert_int_equal(knownhosts_check("/dev/zero", "h", 22, K(blob_a, len_a), &r, NULL, err,
					  sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "known_hosts: /dev/zero: not a regular file"));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(knownhosts_check(fifo, "h", 22, K(blob_a, len_a), &r, NULL, err,
					  sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	/* (no reader: the non-blocking open itself fails) */
	assert_int_not_equal(knownhosts_add(fifo, "h", 22, K(blob_a, len_a), err, sizeof err), 0);
	unlink(fifo);
	/* A file over the cap (KNOWNHOSTS_FILE_MAX, 64 MiB) is refused before it is read
	 * (sparse: no disk used). */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)65 << 20), 0);
	fclose(f);
	assert_int_equal(knownhosts_check(path, "h", 22, K(blob_a, len_a), &r, NULL, err,
					  sizeof err),
			 SB_EINVAL);
	assert_non_null(strstr(err, "larger than"));
	unlink(path);
}

static void test_add_then_match(void **state)
{
	char err[256];
	unlink(path);
	assert_int_equal(knownhosts_add(path, "10.0.0.1", 22, K(blob_a, len_a), err, sizeof err), 0);
	assert_int_equal(knownhosts_add(path, "10.0.0.2", 2222, K(blob_b, len_b), err, sizeof err),
			 0);
	FILE *f = fopen(path, "r");
	char text[1024] = "";
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, "10.0.0.1 ssh-ed25519 " KEY_A "\n"
				  "[10.0.0.2]:2222 ssh-ed25519 " KEY_B "\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(check("10.0.0.1", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.2", 2222, K(blob_b, len_b), NULL), KNOWNHOSTS_MATCH);

	/* Appending to a file without a final newline starts a new line. */
	put("10.0.0.3 ssh-ed25519 " KEY_A);
	assert_int_equal(knownhosts_add(path, "10.0.0.4", 22, K(blob_b, len_b), err, sizeof err), 0);
	assert_int_equal(check("10.0.0.3", 22, K(blob_a, len_a), NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.4", 22, K(blob_b, len_b), NULL), KNOWNHOSTS_MATCH);

	/* Hostile host names are refused, never written. */
	assert_int_equal(knownhosts_add(path, "a b", 22, K(blob_a, len_a), err, sizeof err),
			 SB_EINVAL);
	assert_int_equal(knownhosts_add(path, "a\nb", 22, K(blob_a, len_a), err, sizeof err),
			 SB_EINVAL);
	assert_int_equal(knownhosts_add(path, "", 22, K(blob_a, len_a), err, sizeof err),
			 SB_EINVAL);
	char small[20];
	assert_int_equal(knownhosts_format("h", 22, K(blob_a, len_a), small, sizeof small, err,
					   sizeof err),
			 SB_ELIMIT);
}

static void test_key_type_and_fingerprint(void **state)
{
	char buf[80];
	assert_int_equal(knownhosts_key_type(K(blob_a, len_a), buf, sizeof buf), 0);
	assert_string_equal(buf, "ssh-ed25519");
	assert_int_equal(knownhosts_key_type(K(blob_e, len_e), buf, sizeof buf), 0);
	assert_string_equal(buf, "ecdsa-sha2-nistp256");
	assert_int_equal(knownhosts_key_type(K(blob_a, 3), buf, sizeof buf), SB_EINVAL);
	assert_int_equal(knownhosts_key_type(K(blob_a, len_a), buf, 5), SB_EINVAL);
	/* The same fingerprints `ssh-keygen -l` prints. */
	assert_int_equal(knownhosts_fingerprint(K(blob_a, len_a), buf, sizeof buf), 0);
	assert_string_equal(buf, FP_A);
	assert_int_equal(knownhosts_fingerprint(K(blob_e, len_e), buf, sizeof buf), 0);
	assert_string_equal(buf, FP_E);
	assert_int_not_equal(knownhosts_fingerprint(K(blob_a, len_a), buf, 20), 0);
}

/* Short plain names: libssh2 1.10 never matched a plain entry whose name is 1 or 2 characters
 * long, so nodes called n1, db, ... were always "unknown" under a strict policy. */
static void test_short_plain_names(void **state)
{
	put("n1 ssh-ed25519 " KEY_A "\n"
	    "x ssh-ed25519 " KEY_A "\n"
	    "db,10.0.0.1 ssh-ed25519 " KEY_A "\n"
	    "ab ssh-ed25519 " KEY_B "\n"
	    "[p2]:2222 ssh-ed25519 " KEY_A "\n"
	    "e1 ecdsa-sha2-nistp256 " KEY_E "\n");
	struct knownhosts_key a = K(blob_a, len_a), b = K(blob_b, len_b), e = K(blob_e, len_e);
	assert_int_equal(check("n1", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("n1", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("x", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("x", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("db", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("db", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("10.0.0.1", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("10.0.0.1", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("ab", 22, b, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("ab", 22, a, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("p2", 2222, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("p2", 2222, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("p2", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	/* Another key type for a known name is unknown, not a mismatch. */
	assert_int_equal(check("e1", 22, e, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("e1", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("n1", 22, e, NULL), KNOWNHOSTS_NOTFOUND);
	/* Prefixes and extensions of a name are other names. */
	assert_int_equal(check("n", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("n12", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("d", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("10.0.0.", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	/* MATCH wins over another line with the same type and a different key. */
	put("n1 ssh-ed25519 " KEY_B "\nn1 ssh-ed25519 " KEY_A "\n");
	assert_int_equal(check("n1", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("n1", 22, b, NULL), KNOWNHOSTS_MATCH);
	/* A short name with a port. */
	put("[n1]:2222 ssh-ed25519 " KEY_A "\n");
	assert_int_equal(check("n1", 2222, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("n1", 2222, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("n1", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("n1", 2223, a, NULL), KNOWNHOSTS_NOTFOUND);
	/* A hashed entry for a short name still matches. */
	put(HASHED_N1 "\n");
	assert_int_equal(check("n1", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("n1", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("n2", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
}

/* OpenSSH's host patterns: '*' and '?' wildcards, '!' negation, case-insensitive names. */
static void test_host_patterns(void **state)
{
	put("w? ssh-ed25519 " KEY_A "\n"
	    "*.lab,!bad.lab ssh-ed25519 " KEY_A "\n"
	    "[q*]:2200 ssh-ed25519 " KEY_A "\n"
	    "Mixed ssh-ed25519 " KEY_A "\n");
	struct knownhosts_key a = K(blob_a, len_a), b = K(blob_b, len_b);
	assert_int_equal(check("w1", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("w1", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("w", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("w12", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("n1.lab", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("n1.lab", 22, b, NULL), KNOWNHOSTS_MISMATCH);
	assert_int_equal(check("bad.lab", 22, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("bad.lab", 22, b, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("q1", 2200, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("q1", 2201, a, NULL), KNOWNHOSTS_NOTFOUND);
	assert_int_equal(check("mixed", 22, a, NULL), KNOWNHOSTS_MATCH);
	assert_int_equal(check("MIXED", 22, b, NULL), KNOWNHOSTS_MISMATCH);
}

/* From memory: no terminating NUL needed; a line with a NUL byte is skipped, not the end. */
static void test_check_text(void **state)
{
	enum knownhosts_result res;
	int skipped = -1;
	char err[256];
	static const char text[] = "bad\0line ssh-ed25519 " KEY_B "\n10.0.0.1 ssh-ed25519 " KEY_A "XYZ";
	/* Without the trailing "XYZ": the text ends at the key, with no newline or NUL. */
	size_t len = sizeof text - 1 - 3;
	char *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, text, len);
	assert_int_equal(knownhosts_check_text(copy, len, "10.0.0.1", 22, K(blob_a, len_a), &res,
					       &skipped, err, sizeof err),
			 0);
	assert_int_equal(res, KNOWNHOSTS_MATCH);
	assert_int_equal(skipped, 1);
	assert_int_equal(knownhosts_check_text(copy, 0, "10.0.0.1", 22, K(blob_a, len_a), &res,
					       &skipped, err, sizeof err),
			 0);
	assert_int_equal(res, KNOWNHOSTS_NOTFOUND);
	assert_int_equal(skipped, 0);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match_mismatch_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_and_hashed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_lines_are_skipped_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_files_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_then_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_type_and_fingerprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_plain_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_patterns, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
