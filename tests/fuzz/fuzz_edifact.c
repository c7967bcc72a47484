/*
 * fuzz_edifact.c: libFuzzer harness for the EDIFACT tokenizer, envelope
 * checks, character-set conversion, loop-tree placement and validation
 * (every message built against the ORDERS or DESADV structure).  Each
 * input is parsed a second time taking the messages it offers (fuzz.h):
 * the sets and diagnostics must be the same, or the harness aborts.
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


static struct structure *orders, *desadv;
static void *wk;			/* translator_edifact's parser */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	orders = fuzz_structure("edifact-orders.struct");
	desadv = fuzz_structure("edifact-desadv.struct");
	return 0;
}

static void
tree(struct edi_set *set, struct diag_sink *ds)
{
	const struct structure *base;

	base = slice_eqs(set->doctype, "DESADV") ? desadv : orders;
	edi_tree_build(set, structure_select(base, set->version, NULL), ds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (fuzz_parse(&translator_edifact, &wk, data, len, 0, tree) !=
	    fuzz_parse(&translator_edifact, &wk, data, len, 1, tree))
		abort();	/* an offered message read otherwise */
	return 0;
}
