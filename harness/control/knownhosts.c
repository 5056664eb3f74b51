#include "harness/control/knownhosts.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"

/* libssh2_init must run once before any other libssh2 call and is not thread-safe itself. */
static pthread_once_t libssh2_once = PTHREAD_ONCE_INIT;
static int libssh2_init_rc;

static void do_libssh2_init(void)
{
	libssh2_init_rc = libssh2_init(0);
}

int control_ssh_global_init(void)
{
	pthread_once(&libssh2_once, do_libssh2_init);
	return libssh2_init_rc ? SB_EIO : 0;
}

/* Writers of known_hosts files in this process (flock covers other processes). */
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of data into buf; returns the length or -1 if it does not fit. */
static long b64_encode(const unsigned char *d, size_t n, char *buf, size_t len, int pad)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		char q[4] = {b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63],
			     i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
			     i + 2 < n ? b64chars[v & 63] : '='};
		for (int k = 0; k < 4; k++) {
			if (q[k] == '=' && !pad)
				continue;
			if (o + 1 >= len)
				return -1;
			buf[o++] = q[k];
		}
	}
	if (o >= len)
		return -1;
	buf[o] = '\0';
	return (long)o;
}

int knownhosts_key_type(struct knownhosts_key key, char *buf, size_t len)
{
	if (!key.blob || key.len < 4)
		return SB_EINVAL;
	uint32_t n = (uint32_t)key.blob[0] << 24 | (uint32_t)key.blob[1] << 16 |
		     (uint32_t)key.blob[2] << 8 | key.blob[3];
	if (n == 0 || n > 64 || n > key.len - 4 || n + 1 > len)
		return SB_EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char ch = key.blob[4 + i];
		if (ch <= ' ' || ch >= 127)
			return SB_EINVAL;
		buf[i] = (char)ch;
	}
	buf[n] = '\0';
	return 0;
}

static int type_mask(const char *t)
{
	if (!strcmp(t, "ssh-ed25519"))
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	if (!strcmp(t, "ssh-rsa"))
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	if (!strcmp(t, "ssh-dss"))
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	if (!strcmp(t, "ecdsa-sha2-nistp256"))
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	if (!strcmp(t, "ecdsa-sha2-nistp384"))
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	if (!strcmp(t, "ecdsa-sha2-nistp521"))
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	return 0;
}

int knownhosts_format(const char *host, int port, struct knownhosts_key key, char *buf,
		      size_t len, char *err, size_t errlen)
{
	char type[80];
	if (knownhosts_key_type(key, type, sizeof type))
		return err_set(err, errlen, SB_EINVAL, "not an SSH public key blob");
	if (!host || !host[0] || strpbrk(host, " \t\r\n,#"))
		return err_set(err, errlen, SB_EINVAL, "bad host name for known_hosts");
	int n = port == 22 || port <= 0 ? snprintf(buf, len, "%s %s ", host, type)
					: snprintf(buf, len, "[%s]:%d %s ", host, port, type);
	if (n < 0 || (size_t)n >= len)
		return err_set(err, errlen, SB_ELIMIT, "known_hosts line too long");
	if (b64_encode(key.blob, key.len, buf + n, len - (size_t)n, 1) < 0)
		return err_set(err, errlen, SB_ELIMIT, "known_hosts line too long");
	return 0;
}

/* Base64 (with or without '=' padding) of s[0..n) into out (room for n * 3 / 4 bytes); returns
 * the decoded length or -1 on a byte outside the alphabet or a truncated group. */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = s[i] ? strchr(b64chars, s[i]) : NULL;
		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* OpenSSH's match_pattern: does name (NUL-terminated) match pat[0..n), where '*' matches any
 * run of characters and '?' any one? Case-insensitive, as OpenSSH lowercases host names. */
static bool pattern_match(const char *name, const char *pat, size_t n)
{
	/* Backtracking only to the last '*': linear enough for one host field. */
	const char *star_p = NULL, *star_n = NULL;
	size_t i = 0;
	while (*name) {
		if (i < n && pat[i] == '*') {
			star_p = pat + ++i;
			star_n = name;
		} else if (i < n && (pat[i] == '?' || lower((unsigned char)pat[i]) ==
							  lower((unsigned char)*name))) {
			i++;
			name++;
		} else if (star_p) {
			i = (size_t)(star_p - pat);
			name = ++star_n;
		} else {
			return false;
		}
	}
	while (i < n && pat[i] == '*')
		i++;
	return i == n;
}

/* OpenSSH's match_hostname over the host field f[0..n): 1 if a pattern of the comma-separated
 * list matches name, -1 if a negated one ("!pat") does (that wins), 0 if none does. */
static int hosts_match(const char *name, const char *f, size_t n)
{
	int got = 0;
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && f[j] != ',')
			j++;
		bool neg = j > i && f[i] == '!';
		size_t s = i + neg;
		if (j > s && pattern_match(name, f + s, j - s)) {
			if (neg)
				return -1;
			got = 1;
		}
		i = j + 1;
	}
	return got;
}

/* One plain (non-hashed) line: hosts, type and base64 key fields, already split. For the
 * lookup names (see knownhosts_check_text) and our key of type `type`: sets *match or
 * *mismatch when the line names the host with that key type. Returns -1 if the line is
 * malformed (skipped), else 0. `dec` has room for the decoded key. */
static int check_plain(const char *hosts, size_t hl, const char *ktype, size_t tl,
		       const char *b64, size_t bl, const char *name, const char *bracketed,
		       const char *type, struct knownhosts_key key, unsigned char *dec,
		       bool *match, bool *mismatch)
{
	char t[80];
	if (tl == 0 || tl >= sizeof t)
		return -1;
	memcpy(t, ktype, tl);
	t[tl] = '\0';
	if (!type_mask(t))
		return -1; /* a key type we do not support (libssh2 skipped those too) */
	long dl = b64_decode(b64, bl, dec);
	char inner[80];
	if (dl < 0 || knownhosts_key_type((struct knownhosts_key){dec, (size_t)dl}, inner,
					  sizeof inner) ||
	    strcmp(inner, t))
		return -1;
	if (strcmp(t, type))
		return 0; /* another key type is neither a match nor a mismatch (OpenSSH) */
	/* OpenSSH looks up "[host]:port" for a port other than 22. A plain "host" line also
	 * matches any port, as libssh2 did (documented in knownhosts.h). */
	int m = bracketed ? hosts_match(bracketed, hosts, hl) : 0;
	if (m == 0)
		m = hosts_match(name, hosts, hl);
	if (m != 1)
		return 0;
	if ((size_t)dl == key.len && !memcmp(dec, key.blob, key.len))
		*match = true;
	else
		*mismatch = true;
	return 0;
}

/* Plain lines are matched here, following OpenSSH (hostfile.c, match.c): libssh2 1.10 never
 * matches a plain entry whose name is shorter than 3 characters ("n1", "db"). Hashed
 * "|1|salt|hash" entries still go to libssh2, which handles them (HMAC-SHA1 is not otherwise
 * linked into the harness). */
int knownhosts_check_text(const char *text, size_t len, const char *host, int port,
			  struct knownhosts_key key, enum knownhosts_result *res, int *skipped,
			  char *err, size_t errlen)
{
	int rc = 0, skip = 0, hashed = 0;
	bool match = false, mismatch = false;
	LIBSSH2_SESSION *s = NULL;
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	char type[80];
	char *one = NULL; /* one line at a time, see below */
	unsigned char *dec = NULL;
	const size_t one_size = 8192;
	char *bracketed = NULL;

	*res = KNOWNHOSTS_NOTFOUND;
	if (knownhosts_key_type(key, type, sizeof type)) {
		rc = err_set(err, errlen, SB_EINVAL, "host key is not an SSH public key blob");
		goto out;
	}
	int mask = type_mask(type);
	if (!mask) {
		rc = err_set(err, errlen, SB_EINVAL, "unsupported host key type %s", type);
		goto out;
	}
	if (control_ssh_global_init()) {
		rc = err_set(err, errlen, SB_EIO, "libssh2_init failed");
		goto out;
	}
	one = malloc(one_size);
	dec = malloc(one_size);
	if (!one || !dec) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	if (port > 0 && port != 22) {
		size_t bn = strlen(host) + 16;
		bracketed = malloc(bn);
		if (!bracketed) {
			rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(bracketed, bn, "[%s]:%d", host, port);
	}
	const char *line = text, *end = text + len;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *next = nl ? nl + 1 : end;
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
			l--;
		size_t lead = 0;
		while (lead < l && (line[lead] == ' ' || line[lead] == '\t'))
			lead++;
		const char *p = line + lead;
		size_t ll = l - lead;
		line = next;
		if (ll == 0 || *p == '#')
			continue;
		/* Lines with a NUL byte or too long for the buffers are skipped, as are markers. */
		if (*p == '@' || ll + 2 > one_size || memchr(p, '\0', ll)) {
			skip++;
			continue;
		}
		if (*p != '|') {
			/* Fields: hosts, key type, base64 key, optional comment. */
			const char *f[3];
			size_t fl[3];
			size_t i = 0;
			int nf = 0;
			while (nf < 3 && i < ll) {
				while (i < ll && (p[i] == ' ' || p[i] == '\t'))
					i++;
				if (i == ll)
					break;
				f[nf] = p + i;
				while (i < ll && p[i] != ' ' && p[i] != '\t')
					i++;
				fl[nf] = (size_t)(p + i - f[nf]);
				nf++;
			}
			if (nf < 3 || check_plain(f[0], fl[0], f[1], fl[1], f[2], fl[2], host,
						  bracketed, type, key, dec, &match, &mismatch))
				skip++;
			continue;
		}
		if (!kh) {
			s = libssh2_session_init();
			kh = s ? libssh2_knownhost_init(s) : NULL;
			if (!kh) {
				rc = err_set(err, errlen, SB_ENOMEM, "libssh2 knownhost init failed");
				goto out;
			}
		}
		/* libssh2 1.10 treats the byte just past the given length as the line's
		 * terminator (it drops the key's last character when that byte is not a
		 * newline), so hand it a copy that ends in "\n\0". */
		memcpy(one, p, ll);
		one[ll] = '\n';
		one[ll + 1] = '\0';
		if (libssh2_knownhost_readline(kh, one, ll + 1, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
			skip++;
		else
			hashed++;
	}
	if (hashed) {
		struct libssh2_knownhost *found = NULL;
		int r = libssh2_knownhost_checkp(kh, host, port, (const char *)key.blob, key.len,
						 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
							 LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
						 &found);
		switch (r) {
		case LIBSSH2_KNOWNHOST_CHECK_MATCH:
			match = true;
			break;
		case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
			mismatch = true;
			break;
		case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
			break;
		default:
			rc = err_set(err, errlen, SB_EIO, "known_hosts check failed");
			goto out;
		}
	}
	*res = match ? KNOWNHOSTS_MATCH : mismatch ? KNOWNHOSTS_MISMATCH : KNOWNHOSTS_NOTFOUND;
out:
	if (skipped)
		*skipped = skip;
	if (kh)
		libssh2_knownhost_free(kh);
	if (s)
		libssh2_session_free(s);
	free(one);
	free(dec);
	free(bracketed);
	return rc;
}

int knownhosts_check(const char *path, const char *host, int port, struct knownhosts_key key,
		     enum knownhosts_result *res, int *skipped, char *err, size_t errlen)
{
	bool missing = false;
	size_t len = 0;
	char *text = NULL;

	*res = KNOWNHOSTS_NOTFOUND;
	if (skipped)
		*skipped = 0;
	int rc = file_read_regular(path, KNOWNHOSTS_FILE_MAX, &text, &len, &missing, err, errlen);
	if (rc) {
		if (rc == SB_ELIMIT)
			rc = SB_EINVAL;
		err_prefix(err, errlen, "known_hosts");
		return rc;
	}
	/* A missing file is an empty one: the key is still checked (an invalid blob is an error
	 * either way). */
	rc = knownhosts_check_text(missing ? "" : text, len, host, port, key, res, skipped, err,
				   errlen);
	free(text);
	return rc;
}

int knownhosts_add(const char *path, const char *host, int port, struct knownhosts_key key,
		   char *err, size_t errlen)
{
	char line[4096];
	int rc = knownhosts_format(host, port, key, line, sizeof line - 1, err, errlen);
	if (rc)
		return rc;
	size_t l = strlen(line);
	line[l++] = '\n';
	pthread_mutex_lock(&add_lock);
	/* Non-blocking, so that a FIFO cannot hang the call; it is refused below. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0) {
		rc = err_set(err, errlen, SB_EIO, "open known_hosts %s: %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(err, errlen, SB_EINVAL, "known_hosts %s: not a regular file", path);
		goto out;
	}
	if (flock(fd, LOCK_EX) < 0) {
		rc = err_set(err, errlen, SB_EIO, "lock %s: %s", path, strerror(errno));
		goto out;
	}
	/* If the file does not end in a newline, start our line on a fresh one. */
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		char last = '\n';
		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
		if (last != '\n' && write(fd, "\n", 1) != 1) {
			rc = err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(errno));
			goto out;
		}
	}
	ssize_t w = write(fd, line, l);
	if (w != (ssize_t)l)
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", path,
			     w < 0 ? strerror(errno) : "short write");
out:
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = err_set(err, errlen, SB_EIO, "close %s: %s", path, strerror(errno));
	pthread_mutex_unlock(&add_lock);
	return rc;
}

/* ---- SHA-256 (FIPS 180-4), for fingerprints only ---- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

static void sha256(const unsigned char *d, size_t n, unsigned char out[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		sha256_block(h, d + i);
	unsigned char tail[128] = {0};
	size_t rem = n - i;
	memcpy(tail, d + i, rem);
	tail[rem] = 0x80;
	size_t tl = rem + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int b = 0; b < 8; b++)
		tail[tl - 1 - b] = (unsigned char)(bits >> (8 * b));
	sha256_block(h, tail);
	if (tl == 128)
		sha256_block(h, tail + 64);
	for (int b = 0; b < 8; b++) {
		out[4 * b] = (unsigned char)(h[b] >> 24);
		out[4 * b + 1] = (unsigned char)(h[b] >> 16);
		out[4 * b + 2] = (unsigned char)(h[b] >> 8);
		out[4 * b + 3] = (unsigned char)h[b];
	}
}

int knownhosts_fingerprint(struct knownhosts_key key, char *buf, size_t len)
{
	if (!key.blob || !key.len || len < 8)
		return SB_EINVAL;
	unsigned char d[32];
	sha256(key.blob, key.len, d);
	memcpy(buf, "SHA256:", 7);
	return b64_encode(d, sizeof d, buf + 7, len - 7, 0) < 0 ? SB_ELIMIT : 0;
}
