/* client — the table of adapters, and the outcome struct's storage. */
#include "harness/client/client.h"

#include <stdlib.h>
#include <string.h>

const struct client_kind *const client_kinds[] = {
	&client_raftnode,
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
