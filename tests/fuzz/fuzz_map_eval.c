/*
 * fuzz_map_eval.c: libFuzzer harness for the whole translation pipeline:
 * the input (X12, EDIFACT or XML, as sniffed) is translated with every
 * shipped map exactly as `edigate translate` does: parse, loop tree or
 * XPath, map evaluation, CloudEvent envelope.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "catalog.h"
#include "translate.h"

#include "fuzz.h"

static struct catalog	*cat;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct buf	 errs;
	const char	*root = getenv("EDIGATE_MAPS");

	buf_init(&errs, 1 << 20);
	if (catalog_load(root ? root : "maps", &cat, &errs) != 0) {
		fprintf(stderr, "%s", errs.p ? errs.p : "");
		abort();
	}
	buf_free(&errs);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct translate_opts	 o = { 0 };
	struct translate_stats	 st;
	struct slice		 in = { (const char *)data, len };

	o.cat = cat;
	o.filename = "fuzz.edi";
	o.protocol = "FILE";
	translate_bytes(in, &o, &st);
	return 0;
}
