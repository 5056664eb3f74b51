/* control_impl — helpers shared by the control backends (not for other modules). */
#ifndef SB_CONTROL_IMPL_H
#define SB_CONTROL_IMPL_H

#include <stddef.h>

/* A command's captured stream: keeps at most `max` bytes, remembers that more came. */
struct control_text {
	char *buf;
	size_t len, cap, max;
	int truncated;
};

/* Append n bytes (what exceeds max is dropped). 0 or -1 when out of memory. */
int control_text_add(struct control_text *t, const char *data, size_t n);
/* Terminate (adding "\n[truncated]" if bytes were dropped) and hand the buffer over:
 * *out (caller frees), *len. 0 or -1 when out of memory (t is then freed). */
int control_text_take(struct control_text *t, char **out, size_t *len);
void control_text_free(struct control_text *t);

/* The temporary name of an upload to `path`: "<dir>/" CONTROL_UPLOAD_TMP_PREFIX "<pid>.<n>",
 * unique in this process. Caller frees; NULL when out of memory. */
char *control_upload_tmp(const char *path);


#endif
