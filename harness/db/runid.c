/* runid — where a cluster's node directories live on its hosts, by default, and the lab's
 * record of them. */
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

int db_record_lab_run(const struct db *db, const char *nodes_arg, const char *nodes_path,
		      char *err, size_t errlen)
{
	char dir[CONTROL_PATH_MAX], run[2 * CONTROL_PATH_MAX];
	if (!strcmp(nodes_arg, "lab")) {
		int rc = lab_dir_resolve(NULL, dir, sizeof dir, err, errlen);
		if (rc)
			return rc;
	} else if (!nodes_path || !lab_dir_of_nodes(nodes_path, dir, sizeof dir)) {
		return 0;
	}
	snprintf(run, sizeof run, "%s/%s", db->base_dir, db->run_id);
	return lab_record_run(dir, run, err, errlen);
}
