/* kv — independent registers "k0".."kN-1": read, write v, cas [old, new] on each; checked
 * key by key (a cas-register per key, Jepsen's independent keys). */
#include "harness/workload/workload.h"

const struct workload_kind workload_kv = {
	.name = "kv",
	.summary = "registers k0..kN-1: read, write, cas; checked as a cas-register per key",
	.model = CHK_MODEL_KV,
	.keyed = true,
	.ops = 1u << OP_READ | 1u << OP_WRITE | 1u << OP_CAS,
	.mix = {[OP_READ] = 1, [OP_WRITE] = 1, [OP_CAS] = 1},
	.default_keys = 8,
	.final_read = false,
};
