/*
 * fuzz_edifact.c: libFuzzer harness for the EDIFACT tokenizer, envelope
 * checks, character-set conversion, loop-tree placement and validation
 * (every message built against the ORDERS or DESADV structure).  Each
 * input is parsed a second time offering its messages (edifact.h), each
 * parsed at once by a parser of its own: the sets and diagnostics must be
 * the same, or the harness aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "edi.h"
#include "structure.h"
#include "translator.h"

#include "fuzz.h"


static struct structure *orders, *desadv;
static void *wk;			/* translator_edifact's parser */

/* One parse: a digest of what the handler saw. */
struct fz {
	uint64_t	 h;
	int		 tree;		/* build trees (the first parse) */
	struct diag_sink ds, treeds;
	struct edi_handler h2;		/* for offered messages */
};

static void
mix(struct fz *f, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		f->h = (f->h ^ *b++) * 0x100000001b3ULL;
}

static void
mix_slice(struct fz *f, struct slice s)
{
	mix(f, &s.len, sizeof(s.len));
	mix(f, s.p, s.len);
}

static void
fz_diag(void *arg, const struct diag *d)
{
	struct fz *f = arg;

	mix(f, d->code, strlen(d->code));
	mix(f, &d->filepos, sizeof(d->filepos));
	mix(f, &d->setpos, sizeof(d->setpos));
	mix(f, &d->scope, sizeof(d->scope));
	mix(f, d->msg, strlen(d->msg));
}

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
	struct fz	*f = arg;
	const struct structure *base;
	uint32_t	 i;
	uint16_t	 k;

	mix_slice(f, set->doctype);
	mix_slice(f, set->version);
	mix_slice(f, set->control);
	mix_slice(f, set->raw);
	mix(f, &set->rejected, sizeof(set->rejected));
	mix(f, &set->env.interchange_index, sizeof(uint32_t));
	for (i = 0; i < set->nseg; i++) {
		mix(f, set->seg[i].tag, sizeof(set->seg[i].tag));
		mix(f, &set->seg[i].filepos, sizeof(uint32_t));
		for (k = 0; k < set->seg[i].nval; k++) {
			mix(f, &set->seg[i].val[k].el, sizeof(uint16_t));
			mix(f, &set->seg[i].val[k].comp, sizeof(uint16_t));
			mix_slice(f, set->seg[i].val[k].s);
		}
	}
	if (!f->tree)
		return 0;
	base = slice_eqs(set->doctype, "DESADV") ? desadv : orders;
	edi_tree_build(set, structure_select(base, set->version, NULL),
	    &f->treeds);
	return 0;
}

static int
on_msg(void *arg, const struct edi_set *hdr, const struct edi_msg *m)
{
	struct fz	*f = arg;

	(void)hdr;
	edi_snap_hold(m->snap);
	if (translator_edifact.msg_parse(&wk, m, &f->h2, f) != 0)
		abort();
	edi_snap_drop(m->snap);
	return 1;
}

static uint64_t
parse(const uint8_t *data, size_t len, int offer)
{
	struct fz		 f;
	struct edi_handler	 h = { 0 };

	memset(&f, 0, sizeof(f));
	f.h = 0xcbf29ce484222325ULL;
	f.tree = !offer;
	f.ds.emit = fz_diag;
	f.ds.arg = &f;
	h.set = on_set;
	h.diags = &f.ds;
	f.h2 = h;
	h.msg = offer ? on_msg : NULL;
	translator_edifact.parse(slice_make((const char *)data, len), "fuzz",
	    &h, &f);
	return f.h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (parse(data, len, 0) != parse(data, len, 1))
		abort();	/* an offered message read otherwise */
	return 0;
}
