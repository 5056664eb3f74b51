/* raftnode — placeholder entry point until the node lands; it refuses to run. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "raftnode: not built yet\n");
	return 255;
}
