/* set — add unique elements to sets "k0".."kN-1" and read them whole; a final read of every
 * key after recovery names each acknowledged add that was lost (Jepsen's set-full: adds and
 * reads in equal measure). */
#include "harness/workload/workload.h"

const struct workload_kind workload_set = {
	.name = "set",
	.summary = "sets k0..kN-1: add, read; lost, stale and unexpected elements",
	.model = CHK_MODEL_SET,
	.keyed = true,
	.collection = true,
	.ops = 1u << OP_ADD | 1u << OP_READ,
	.mix = {[OP_ADD] = 1, [OP_READ] = 1},
	.default_keys = 8,
	.final_read = true,
};
