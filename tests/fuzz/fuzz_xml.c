/*
 * fuzz_xml.c: libFuzzer harness for the XML front end (libxml2 with its
 * safety options, limits, cXML/UBL identification).
 */
#include "config.h"

#include <stdint.h>

#include "diag.h"
#include "edi.h"
#include "translator.h"

#include "fuzz.h"

static int
on_set(void *arg, struct edi_set *set)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct diag_sink	 ds = { NULL, NULL, 0, 0 };
	struct edi_handler	 h = { 0 };

	h.set = on_set;
	h.diags = &ds;
	translator_xml.parse(slice_make((const char *)data, len), "fuzz", &h,
	    NULL);
	return 0;
}
