/*
 * fuzz_x12.c: libFuzzer harness for the X12 tokenizer, envelope checks,
 * loop-tree placement and validation.  Every set the parser hands over is
 * built against the 850 or 856 structure (whichever its ST01 names), so
 * the tree code sees arbitrary segment orders too.  Each input is parsed
 * a second time taking the sets it offers (fuzz.h): the sets and
 * diagnostics must be the same, or the harness aborts.
 *
 * Build: ./configure CC=clang --enable-fuzzing && make fuzz
 * Structures are read from $EDIGATE_MAPS/structures (default ./maps).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "edi.h"
#include "structure.h"
#include "translator.h"

#include "fuzz.h"

static struct structure *st850, *st856;
static void *wk;			/* translator_x12's parser */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	st850 = fuzz_structure("x12-850.struct");
	st856 = fuzz_structure("x12-856.struct");
	return 0;
}

static void
tree(struct edi_set *set, struct diag_sink *ds)
{
	const struct structure *base;

	base = slice_eqs(set->doctype, "856") ? st856 : st850;
	edi_tree_build(set, structure_select(base, set->version, NULL), ds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (fuzz_parse(&translator_x12, &wk, data, len, 0, tree) !=
	    fuzz_parse(&translator_x12, &wk, data, len, 1, tree))
		abort();	/* an offered set read otherwise */
	return 0;
}
