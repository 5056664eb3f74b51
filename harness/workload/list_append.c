/* list-append — append unique elements to lists "k0".."kN-1" and read them whole; the order
 * of a list is part of what is checked (Elle's list-append, one key per operation). */
#include "harness/workload/workload.h"

const struct workload_kind workload_list_append = {
	.name = "list-append",
	.summary = "lists k0..kN-1: append, read; order and lost appends checked",
	.model = CHK_MODEL_LIST,
	.keyed = true,
	.collection = true,
	.ops = 1u << OP_APPEND | 1u << OP_READ,
	.mix = {[OP_APPEND] = 1, [OP_READ] = 1},
	.default_keys = 8,
	.final_read = true,
};
