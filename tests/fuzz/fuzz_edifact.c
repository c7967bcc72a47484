/*
 * fuzz_edifact.c: libFuzzer harness for the EDIFACT tokenizer, envelope
 * checks, character-set conversion, loop-tree placement and validation
 * (every message built against the ORDERS or DESADV structure).
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	orders = fuzz_structure("edifact-orders.struct");
	desadv = fuzz_structure("edifact-desadv.struct");
	return 0;
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct diag_sink *ds = arg;
	const struct structure *base;

	base = slice_eqs(set->doctype, "DESADV") ? desadv : orders;
	edi_tree_build(set, structure_select(base, set->version, NULL), ds);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct diag_sink	 ds = { NULL, NULL, 0, 0 };
	struct edi_handler	 h = { 0 };

	h.set = on_set;
	h.diags = &ds;
	translator_edifact.parse(slice_make((const char *)data, len), "fuzz",
	    &h, &ds);
	return 0;
}
