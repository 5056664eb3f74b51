/* client — the table of adapters, and the outcome struct's storage. */
#include "harness/client/client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

const struct client_kind *const client_kinds[] = {
	&client_raftnode,
	&client_etcd,
	&client_redis_sentinel,
	NULL,
};

const struct client_kind *client_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; client_kinds[i]; i++)
		if (strcmp(client_kinds[i]->name, name) == 0)
			return client_kinds[i];
	return NULL;
}

void client_res_clear(struct client_res *res)
{
	res->type = HTYPE_OK;
	res->has_value = false;
	memset(&res->value, 0, sizeof res->value); /* HVAL_NULL */
	res->error[0] = '\0';
	res->node[0] = '\0';
}

void client_res_free(struct client_res *res)
{
	if (!res)
		return;
	free(res->items);
	free(res->text);
	memset(res, 0, sizeof *res);
}

bool client_parse_int(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n || n - i > 19 || (s[i] == '0' && (n - i > 1 || neg)))
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
	return true;
}

void client_res_error(struct client_res *res, int type, const char *msg, size_t n)
{
	res->type = type;
	if (n >= sizeof res->error)
		n = sizeof res->error - 1;
	memcpy(res->error, msg, n);
	res->error[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)res->error[i] < 0x20)
			res->error[i] = ' ';
}

void client_res_fail(struct client_res *res, const char *msg)
{
	client_res_error(res, HTYPE_FAIL, msg, strlen(msg));
}

void client_res_unknown(struct client_res *res, const struct client_req *req, const char *msg,
			size_t n)
{
	client_res_error(res, req->f == OP_READ ? HTYPE_FAIL : HTYPE_INFO, msg, n);
}

int client_res_text_reserve(struct client_res *res, size_t need)
{
	if (need <= res->textcap)
		return 0;
	size_t cap = res->textcap ? res->textcap : 256;
	while (cap < need)
		cap *= 2;
	char *t = realloc(res->text, cap);
	if (!t)
		return SB_ENOMEM;
	res->text = t;
	res->textcap = cap;
	return 0;
}

/* One value into v; a string is copied into res->text at offset *used, which moves past it
 * (and its NUL). The caller has reserved the room. */
static void scalar_into(struct client_res *res, struct hval *v, const char *s, size_t n,
			size_t *used)
{
	memset(v, 0, sizeof *v);
	if (client_parse_int(s, n, &v->u.i)) {
		v->kind = HVAL_INT;
		return;
	}
	v->kind = HVAL_STR;
	v->len = (uint32_t)n;
	memcpy(res->text + *used, s, n);
	res->text[*used + n] = '\0';
	v->u.s = res->text + *used;
	*used += n + 1;
}

int client_res_scalar(struct client_res *res, const char *s, size_t n)
{
	size_t used = 0;
	if (n > UINT32_MAX || client_res_text_reserve(res, n + 1))
		return SB_ENOMEM;
	scalar_into(res, &res->value, s, n, &used);
	res->has_value = true;
	return 0;
}

/* The text storage must not move while an array's strings point into it: the caller says
 * how many bytes the elements hold (text_bytes) and everything is reserved up front. The
 * fill mark lives in the array's spare field `items[n]`, which is never an element. */
int client_res_array(struct client_res *res, size_t n, size_t text_bytes)
{
	if (n >= UINT32_MAX)
		return SB_ENOMEM;
	if (n + 1 > res->cap) {
		struct hval *items = realloc(res->items, (n + 1) * sizeof *items);
		if (!items)
			return SB_ENOMEM;
		res->items = items;
		res->cap = n + 1;
	}
	if (client_res_text_reserve(res, text_bytes + n + 1))
		return SB_ENOMEM;
	memset(res->items, 0, (n + 1) * sizeof *res->items);
	res->value = (struct hval){.kind = HVAL_ARRAY, .len = (uint32_t)n, .u.items = res->items};
	res->items[n].u.i = 0; /* the fill mark */
	res->has_value = true;
	return 0;
}

int client_res_item(struct client_res *res, size_t i, const char *s, size_t n)
{
	size_t nitems = res->value.len;
	if (res->value.kind != HVAL_ARRAY || i >= nitems)
		return SB_EINVAL;
	size_t used = (size_t)res->items[nitems].u.i;
	if (used + n + 1 > res->textcap)
		return SB_ENOMEM; /* more text than the caller announced */
	scalar_into(res, &res->items[i], s, n, &used);
	res->items[nitems].u.i = (int64_t)used;
	return 0;
}
