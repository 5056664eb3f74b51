/* workload — the table of workload kinds and the names the history uses. */
#include "harness/workload/workload.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const struct workload_kind *const workload_kinds[] = {
	&workload_register,
	&workload_kv,
	&workload_set,
	&workload_list_append,
	NULL,
};

static const char *const f_names[OP_NF] = {
	[OP_READ] = "read", [OP_WRITE] = "write", [OP_CAS] = "cas",
	[OP_ADD] = "add",   [OP_APPEND] = "append",
};

const char *op_f_name(enum op_f f)
{
	if ((unsigned)f >= OP_NF)
		return "?";
	return f_names[f];
}

const struct workload_kind *workload_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; workload_kinds[i]; i++)
		if (strcmp(workload_kinds[i]->name, name) == 0)
			return workload_kinds[i];
	return NULL;
}

/* Built once from the table, so a new row shows up in every message. */
static char names_buf[256];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_build(void)
{
	size_t n = 0;
	for (size_t i = 0; workload_kinds[i] && n < sizeof names_buf; i++)
		n += (size_t)snprintf(names_buf + n, sizeof names_buf - n, "%s%s", i ? ", " : "",
				      workload_kinds[i]->name);
}

const char *workload_names(void)
{
	pthread_once(&names_once, names_build);
	return names_buf;
}

void workload_key_name(unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "k%u", i);
}

void workload_client_key(const struct workload_kind *k, unsigned i, char *buf, size_t n)
{
	if (!k->keyed && k->single_key)
		snprintf(buf, n, "%s", k->single_key);
	else
		workload_key_name(i, buf, n);
}
