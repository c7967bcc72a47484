/*
 * fuzz_map_compile.c: libFuzzer harness for the map compiler.  The input
 * is a map's text; it is compiled against the 850 structure (loaded once)
 * with the shipped maps folder as root, so `lookup ... file` and
 * `extends` reach real files.  Any result is fine; a crash, leak or
 * sanitizer report is not.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "map.h"
#include "map_int.h"
#include "structure.h"

#include "fuzz.h"

static struct structure	*st850;
static const char	*root;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	root = getenv("EDIGATE_MAPS");
	if (root == NULL)
		root = "maps";
	st850 = fuzz_structure("x12-850.struct");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct map_compile_opts	 o = { .maps_root = root, .structure = st850 };
	struct map		*m = NULL;
	struct buf		 errs;
	char			 path[1024];

	snprintf(path, sizeof(path), "%s/x12/fuzz.map", root);
	buf_init(&errs, 1 << 20);
	if (map_compile_text(path, "x12/fuzz.map", (const char *)data, len,
	    &o, &m, &errs) == 0)
		map_free(m);
	buf_free(&errs);
	return 0;
}
