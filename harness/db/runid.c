/* runid — where a cluster's node directories live on its hosts, by default. */
#include <stdio.h>
#include <string.h>

#include "harness/db/db.h"
#include "harness/lab/lab.h"
#include "lib/hash.h"

int db_default_run_id(const char *nodes_arg, const char *nodes_path, char *out, size_t outlen,
		      char *err, size_t errlen)
{
	if (!strcmp(nodes_arg, "lab")) {
		char dir[CONTROL_PATH_MAX];
		int rc = lab_dir_resolve(NULL, dir, sizeof dir, err, errlen);
		if (rc)
			return rc;
		struct lab_names names;
		lab_names_make(dir, &names);
		snprintf(out, outlen, "lab-%s", names.tag);
		return 0;
	}
	snprintf(out, outlen, "nodes-%08x",
		 hash_str32(nodes_path && nodes_path[0] ? nodes_path : nodes_arg));
	return 0;
}
