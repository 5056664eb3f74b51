/* register — one register: read, write v, cas [old, new]. The history names no key; the
 * client stores it under the key "r". Jepsen's linearizable-register mix (1:1:1). */
#include "harness/workload/workload.h"

const struct workload_kind workload_register = {
	.name = "register",
	.summary = "one register: read, write, cas; checked as a cas-register",
	.model = CHK_MODEL_CAS_REGISTER,
	.keyed = false,
	.single_key = "r",
	.ops = 1u << OP_READ | 1u << OP_WRITE | 1u << OP_CAS,
	.mix = {[OP_READ] = 1, [OP_WRITE] = 1, [OP_CAS] = 1},
	.default_keys = 1,
	.final_read = false,
};
