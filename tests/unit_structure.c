/*
 * unit_structure.c: structure files (MAPS.md §2): the loaded model,
 * variants and their selection, and every loader error with file:line:col.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edi.h"
#include "err.h"
#include "slice.h"
#include "structure.h"
#include "tap.h"

static char fixtures[1024];

static const char *
fixture(const char *name)
{
	static char path[1200];

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	return path;
}

static const struct struct_entry *
entry(const struct struct_loop *l, size_t i)
{
	return i < l->nent ? &l->ent[i] : NULL;
}

static void
test_model(void)
{
	struct structure *st;
	const struct struct_loop *l;
	const struct struct_elem *e;
	const struct struct_pairs *pr;
	char	 err[512];
	size_t	 i;
	int	 sorted = 1;

	is_int(structure_load(fixture("t850.struct"), &st, err, sizeof(err)), 0,
	    "t850 loads");
	if (st == NULL) {
		printf("# %s\n", err);
		return;
	}
	is_int(st->syntax, EDI_X12, "syntax x12");
	is_str(st->doctype, "850", "doctype");
	ok(st->nversions == 2 && strcmp(st->versions[0], "004*") == 0,
	    "versions");
	ok(entry(&st->root, 0) && strcmp(entry(&st->root, 0)->tag, "ST") == 0 &&
	    entry(&st->root, 0)->min == 1 && entry(&st->root, 0)->max == 1,
	    "bare count N is N..N");
	ok(entry(&st->root, 3) && entry(&st->root, 3)->max == 0 &&
	    entry(&st->root, 3)->min == 0, "0..* is unbounded (max 0)");
	l = structure_loop(st, "SAC");
	ok(l && l->nent == 2 && strcmp(l->ent[1].tag, "CUR") == 0 &&
	    l->max == 25 && l->parent == &st->root, "loop SAC declares CUR");
	l = structure_loop(st, "PO1");
	ok(l && l->min == 1 && l->max == 0 && l->nent == 4 &&
	    l->ent[3].is_loop && strcmp(l->ent[3].loop->tag, "N9") == 0 &&
	    l->ent[3].loop->parent == l, "nested loop N9 inside PO1");
	l = structure_loop(st, "N9");
	ok(l && l->parent == &st->root, "structure_loop finds the first N9 "
	    "(depth-first, in order)");
	ok(structure_has_segment(st, "MSG") && !structure_has_segment(st,
	    "ZZZ"), "structure_has_segment");
	for (i = 1; i < st->nelem; i++)
		if (strcmp(st->elem[i - 1].tag, st->elem[i].tag) > 0)
			sorted = 0;
	ok(sorted, "elements sorted by tag");
	e = structure_elem(st, "BEG", 1, 0);
	ok(e && e->type == ST_ID && e->ncodes == 3 &&
	    strcmp(e->codes[2], "05") == 0 && e->req == SR_MANDATORY,
	    "BEG01 codes");
	e = structure_elem(st, "N4", 3, 0);
	ok(e && e->rep == 3 && e->req == SR_OPTIONAL, "N403 rep 3");
	e = structure_elem(st, "REF", 4, 0);
	ok(e && e->type == ST_COMPOSITE && e->rep == 2, "REF04 composite");
	e = structure_elem(st, "REF", 4, 2);
	ok(e && e->comp == 2 && e->max == 30, "REF04-02 component");
	e = structure_elem(st, "CTT", 1, 0);
	ok(e && e->type == ST_NN && e->decimals == 0, "CTT01 N0");
	e = structure_elem(st, "DTM", 2, 0);
	ok(e && e->type == ST_DT && e->req == SR_CONDITIONAL, "DTM02 DT X");
	ok(structure_elem(st, "BEG", 4, 0) == NULL, "undeclared element");
	ok(st->nsyn == 8, "syntax notes: one per note (%zu)", st->nsyn);
	for (i = 0; i < st->nsyn; i++)
		if (strcmp(st->syn[i].tag, "DTM") == 0 && st->syn[i].kind == 'R')
			ok(st->syn[i].nel == 3 && st->syn[i].el[2] == 5,
			    "R020305 has three positions");
	pr = structure_pairs(st, "PO1");
	ok(pr && pr->from == 6 && pr->to == 25 && pr->qualifier_first,
	    "pairs PO1 06..25 qualifier=first");
	pr = structure_pairs(st, "REF");
	ok(pr && pr->value_comp == 2 && pr->qualifier_comp == 1,
	    "pairs in a composite: value=-02 qualifier=-01");

	/* Variants. */
	is_int(st->nvariant, 2, "two variants extend t850.struct");
	{
		const struct structure *v;

		ok(st->idx != NULL && st->variant[0]->idx == NULL &&
		    st->variant[1]->idx == NULL,
		    "the base is indexed at load, its variants are not yet");
		v = structure_select(st, SLICE_LIT("004010"), NULL);
		ok(v == st, "004010, no partner: base");
		v = structure_select(st, SLICE_LIT("003050"), NULL);
		ok(v != st && v->base == st && strstr(v->path, "t850-003"),
		    "003050: the 003 variant");
		ok(v->idx != NULL && v == structure_select(st,
		    SLICE_LIT("003050"), NULL) && (st->variant[0]->idx == NULL ||
		    st->variant[1]->idx == NULL),
		    "a variant is indexed when first picked, and only it");
		e = structure_elem(v, "BEG", 5, 0);
		ok(e && e->min == 6 && e->max == 6, "variant element replaces "
		    "the base's");
		ok(structure_elem(v, "BEG", 3, 0) != NULL,
		    "variant keeps the base's other elements");
		l = structure_loop(v, "PO1");
		ok(l && l->nent == 2 && strcmp(l->ent[1].tag, "SLN") == 0,
		    "variant loop block replaces the base's loop");
		ok(structure_loop(v, "SAC") != NULL,
		    "variant keeps the base's other loops");
		for (i = 0; i < v->nsyn; i++)
			if (strcmp(v->syn[i].tag, "PO1") == 0)
				ok(v->syn[i].kind == 'C', "variant syntax "
				    "replaces the base's for PO1");
		v = structure_select(st, SLICE_LIT("004010VICS"), "acme-retail");
		ok(v != st && v->partner && strcmp(v->partner, "acme-retail")
		    == 0, "004010VICS for acme-retail: partner variant");
		e = structure_elem(v, "BEG", 3, 0);
		ok(e && e->max == 10, "partner variant element");
		v = structure_select(st, SLICE_LIT("004010VICS"), "other");
		ok(v == st, "another partner: base");
		v = structure_select(st, SLICE_LIT("005010"), "acme-retail");
		ok(v == st, "acme-retail on 005010: no matching variant");
	}
	structure_free(st);

	is_int(structure_load(fixture("t856.struct"), &st, err, sizeof(err)), 0,
	    "t856 loads");
	if (st) {
		l = structure_loop(st, "HL");
		ok(l && l->nent == 5 && strcmp(l->ent[0].tag, "HL") == 0 &&
		    l->ent[0].min == 1 && l->ent[0].max == 1,
		    "implicit trigger entry for loop HL");
		ok(l && l->hier && l->hier->id == 1 && l->hier->parent == 2 &&
		    l->hier->level == 3 && l->hier->children == 4 &&
		    strcmp(l->hier->count_tag, "CTT") == 0 &&
		    l->hier->count_el == 1, "hierarchy linked to the HL loop");
		ok(structure_hier(st, "HL") == l->hier, "structure_hier");
		structure_free(st);
	}
	is_int(structure_load(fixture("tdesadv.struct"), &st, err, sizeof(err)),
	    0, "EDIFACT structure loads");
	if (st) {
		is_int(st->syntax, EDI_EDIFACT, "edifact syntax");
		e = structure_elem(st, "NAD", 2, 1);
		ok(e && e->type == ST_AN && e->req == SR_MANDATORY,
		    "NAD02-01 component id");
		e = structure_elem(st, "QTY", 1, 2);
		ok(e && e->type == ST_N, "EDIFACT n");
		e = structure_elem(st, "LIN", 3, 2);
		ok(e && e->type == ST_A, "EDIFACT a");
		l = structure_loop(st, "LIN");
		ok(l && l->parent && strcmp(l->parent->tag, "CPS") == 0 &&
		    structure_loop(st, "CPS")->hier != NULL,
		    "CPS hierarchy, LIN nested");
		structure_free(st);
	}
}

/*
 * The position a segment of tag goes to from position g of the placement
 * automaton, as the entry index in its loop (-1: none), from the table and
 * by walking the positions the same way the tree builder does without one.
 */
static int
next_entry(const struct structure *st, uint32_t g, const char *tag,
    const struct struct_loop **loop)
{
	const struct struct_index *ix = st->idx;
	const struct struct_segdef *sd;
	uint32_t to = 0, h;

	sd = structure_segdef(ix, structure_tagkey(tag));
	if (sd != NULL && sd->col != 0 && ix->trans != NULL)
		to = ix->trans[(size_t)g * ix->ncol + sd->col];
	/* the walk */
	h = 0;
	if (sd != NULL && sd->col != 0) {
		for (;;) {
			for (; ix->pos[g].ent != NULL; g++)
				if (ix->pos[g].key == sd->key)
					break;
			if (ix->pos[g].ent != NULL) {
				h = g + 1;
				break;
			}
			if (ix->pos[g].depth == 0)
				break;
			g = ix->pos[g].up;
		}
	}
	if (h != to)
		return -2;
	if (to == 0)
		return -1;
	if (loop != NULL)
		*loop = ix->pos[to - 1].loop;
	return (int)(ix->pos[to - 1].ent - ix->pos[to - 1].loop->ent);
}

/*
 * The tables the index adds for the tree builder: per loop, the entries
 * by tag (a tag twice in one loop chains), mandatory components, and the
 * positions syntax notes name.
 */
static void
test_index(void)
{
	char	 dir[] = "/tmp/eg-struct-XXXXXX", path[256], err[512];
	struct structure *st = NULL;
	const struct struct_loop *l;
	const struct struct_segdef *sd;
	FILE	*fp;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/ix.struct", dir);
	fp = fopen(path, "w");
	fputs("structure edifact ORDERS\n"
	    "segment UNH 1\nsegment RFF 0..1\nsegment DTM 0..1\n"
	    "segment RFF 0..9\n"
	    "loop LIN 0..*\n  segment LIN 1\n  segment QTY 0..1\nend\n"
	    "segment UNT 1\n"
	    "element QTY01 C M\nelement QTY01-01 AN 1 3 M\n"
	    "element QTY01-02 N 1 15 O\nelement QTY01-03 AN 1 3 M\n"
	    "element DTM01 C M\nelement DTM01-01 AN 1 3 O\n"
	    "syntax RFF C0102\nsyntax QTY P0102 R0102 P0304 P0406\n", fp);
	fclose(fp);
	is_int(structure_load(path, &st, err, sizeof(err)), 0,
	    "index fixture loads");
	unlink(path);
	rmdir(dir);
	if (st == NULL) {
		printf("# %s\n", err);
		return;
	}
	/* positions: root UNH RFF DTM RFF LIN UNT end, then LIN's */
	l = &st->root;
	ok(st->idx->npos == 10 && st->idx->trans != NULL &&
	    st->idx->pos[6].ent == NULL && st->idx->pos[7].loop ==
	    structure_loop(st, "LIN") && st->idx->pos[9].up == 4 &&
	    st->idx->pos[4].child == 8 && st->idx->pos[0].min == 0 &&
	    st->idx->pos[0].nextmin == 6, "positions: layout, UNH min 0");
	is_int(next_entry(st, 0, "RFF", NULL), 1, "the first RFF of the root");
	is_int(next_entry(st, 2, "RFF", NULL), 3,
	    "past DTM, the second RFF");
	is_int(next_entry(st, 1, "RFF", NULL), 1, "RFF repeats in place");
	is_int(next_entry(st, 0, "LIN", NULL), 4, "the LIN loop entry");
	is_int(next_entry(st, 0, "QTY", NULL), -1, "QTY is not in the root");
	is_int(next_entry(st, 0, "FTX", NULL), -1, "FTX is nowhere");
	is_int(next_entry(st, 5, "RFF", NULL), -1, "no RFF after UNT");
	ok(next_entry(st, 8, "QTY", &l) == 1 && l == structure_loop(st, "LIN"),
	    "QTY in the LIN loop");
	ok(next_entry(st, 8, "LIN", &l) == 4 && l == &st->root,
	    "LIN again: the root's loop entry, a sibling instance");
	ok(next_entry(st, 9, "UNT", &l) == 5 && l == &st->root,
	    "UNT from the LIN loop's end: the root's");
	is_int(next_entry(st, 9, "DTM", NULL), -1,
	    "DTM from the LIN loop: behind the root's position");
	sd = structure_segdef(st->idx, structure_tagkey("QTY"));
	ok(sd && sd->nmcomp == 2 && sd->mcomp[0] == (1U << 16 | 1) &&
	    sd->mcomp[1] == (1U << 16 | 3), "mcomp: QTY01-01 and -03");
	sd = structure_segdef(st->idx, structure_tagkey("DTM"));
	ok(sd && sd->nmcomp == 0, "mcomp: none for DTM");
	sd = structure_segdef(st->idx, structure_tagkey("RFF"));
	ok(sd && sd->synall[0] == ((1U << 1) | (1U << 2)) &&
	    sd->synall[1] == 0 && &st->idx->seg[sd->idx] == sd,
	    "synall: RFF01 and RFF02; idx");
	ok(sd && sd->p1mask == 0 && sd->nsynrest == 1 && sd->synrest[0] == 0,
	    "p1mask: none for RFF C0102");
	sd = structure_segdef(st->idx, structure_tagkey("QTY"));
	ok(sd && sd->nsyn == 4 && sd->p1mask == ((1U << 1) | (1U << 3)) &&
	    sd->nsynrest == 2 && sd->synrest[0] == 1 && sd->synrest[1] == 3,
	    "p1mask: P0102 and P0304; R0102 and P0406 tried apart");
	structure_free(st);
}

static const struct {
	const char	*text;
	const char	*where;		/* ":line:col: " */
	const char	*what;		/* substring of the message */
} errors[] = {
	{ "segment ST 1\n", ":1:1: ", "first statement" },
	{ "structure x13 850\n", ":1:11: ", "unknown syntax" },
	{ "structure x12 850\nsegment ST 1..\n", ":2:15: ", "bad maximum" },
	{ "structure x12 850\nsegment ST x\n", ":2:12: ", "bad count" },
	{ "structure x12 850\nsegment ST 2..1\n", ":2:12: ", "below minimum" },
	{ "structure x12 850\nsegment ST 0..0\n", ":2:15: ", "at least 1" },
	{ "structure x12 850\nsegment st 1\n", ":2:9: ", "not a segment tag" },
	{ "structure x12 850\nloop N1 0..1\n  segment N1 1\n", ":2:1: ",
	    "not closed" },
	{ "structure x12 850\nend\n", ":2:1: ", "end without loop" },
	{ "structure x12 850\n  frob X\n", ":2:3: ", "unknown statement" },
	{ "structure x12 850\nelement BEG1 AN 1 2 M\n", ":2:9: ",
	    "not an element id" },
	{ "structure x12 850\nelement BEG01 XX 1 2 M\n", ":2:15: ",
	    "unknown element type" },
	{ "structure x12 850\nelement BEG01 AN 1 2 Q\n", ":2:22: ",
	    "requirement" },
	{ "structure x12 850\nelement BEG01 AN 3 2 M\n", ":2:20: ",
	    "below minimum" },
	{ "structure x12 850\nelement BEG01 AN 1 2 M rep\n", ":2:24: ",
	    "rep needs" },
	{ "structure x12 850\nelement BEG01 AN 1 2 M\nelement BEG01 ID 2 2 O\n",
	    ":3:9: ", "already defined at line 2" },
	{ "structure x12 850\nsyntax PO1 P06\n", ":2:12: ", "bad syntax note" },
	{ "structure x12 850\nsyntax PO1 Q0607\n", ":2:12: ", "bad syntax note" },
	{ "structure x12 850\nsyntax PO1 P06x7\n", ":2:15: ", "bad position" },
	{ "structure x12 850\npairs PO1 06-25 qualifier=first\n", ":2:11: ",
	    "bad position range" },
	{ "structure x12 850\npairs PO1 06..25 qualifier=third\n", ":2:18: ",
	    "bad pairs option" },
	{ "structure x12 850\nhierarchy HL id=1 parent=02\n", ":2:17: ",
	    "bad position" },
	{ "structure x12 850\nhierarchy HL id=01\n", ":2:1: ", "usage" },
	{ "structure x12 850\n# comment\nsegment ST 1 # trailing comment\n"
	    "element N104#2 AN 1 2 M\n", ":4:9: ", "not an element id" },
};

static void
test_errors(void)
{
	char	 dir[] = "/tmp/eg-struct-XXXXXX", path[256], err[512], want[300];
	struct structure *st;
	size_t	 i;
	FILE	*fp;
	int	 rc;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/bad.struct", dir);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		fp = fopen(path, "w");
		fputs(errors[i].text, fp);
		fclose(fp);
		st = NULL;
		rc = structure_load(path, &st, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", path, errors[i].where);
		ok(rc == EG_ERR_SYNTAX && st == NULL &&
		    strncmp(err, want, strlen(want)) == 0 &&
		    strstr(err, errors[i].what) != NULL,
		    "error %zu: %s", i, err);
		if (rc == 0)
			structure_free(st);
	}
	rc = structure_load("/nonexistent/x.struct", &st, err, sizeof(err));
	ok(rc == EG_ERR_NOTFOUND && strncmp(err, "/nonexistent/x.struct:", 22)
	    == 0, "missing file: EG_ERR_NOTFOUND with the path");

	/* A broken variant fails the load of its base, naming the variant. */
	fp = fopen(path, "w");
	fputs("structure x12 850\nsegment ST 1\nsegment SE 1\n", fp);
	fclose(fp);
	snprintf(want, sizeof(want), "%s/bad-v.struct", dir);
	fp = fopen(want, "w");
	fputs("structure x12 850\nextends bad.struct\nelement X 1\n", fp);
	fclose(fp);
	rc = structure_load(path, &st, err, sizeof(err));
	ok(rc == EG_ERR_SYNTAX && strstr(err, "bad-v.struct:3:9: ") != NULL,
	    "broken variant reported: %s", err);
	unlink(want);
	unlink(path);
	rmdir(dir);

	ok(structure_version_match(NULL, 0, SLICE_LIT("004010")),
	    "no patterns match everything");
	{
		char	*pat[] = { "004*", "003050" };

		ok(structure_version_match(pat, 2, SLICE_LIT("004010VICS")) &&
		    structure_version_match(pat, 2, SLICE_LIT("003050")) &&
		    !structure_version_match(pat, 2, SLICE_LIT("0030501")) &&
		    !structure_version_match(pat, 2, SLICE_LIT("005010")),
		    "prefix and exact patterns");
	}
}

/* edi_tagkey() reads the tag as one word: what lies past its NUL. */
static void
test_tagkey(void)
{
	static const char *tags[] = { "", "A", "AB", "ABC", "N1", "UNH" };
	union {
		char	 tag[4];
		uint32_t w;		/* keeps tag aligned like edi_seg's */
	} u;
	size_t	 i;
	int	 good = 1;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		/* garbage past the NUL, then none */
		memset(u.tag, 0x5a, sizeof(u.tag));
		memcpy(u.tag, tags[i], strlen(tags[i]) + 1);
		if (edi_tagkey(u.tag) != structure_tagkey(tags[i]))
			good = 0;
		memset(u.tag, 0, sizeof(u.tag));
		memcpy(u.tag, tags[i], strlen(tags[i]));
		if (edi_tagkey(u.tag) != structure_tagkey(tags[i]))
			good = 0;
	}
	ok(good, "edi_tagkey equals structure_tagkey, whatever follows the NUL");
	memcpy(u.tag, "N1", 3);
	good = edi_tagkey(u.tag) == (uint32_t)('N' | '1' << 8);
	memcpy(u.tag, "UNH", 4);
	ok(good && edi_tagkey(u.tag) == (uint32_t)('U' | 'N' << 8 | 'H' << 16),
	    "edi_tagkey: first byte lowest");
}

int
main(void)
{
	const char *top = getenv("top_srcdir");

	snprintf(fixtures, sizeof(fixtures), "%s/tests/data/structures",
	    top ? top : ".");
	test_model();
	test_index();
	test_errors();
	test_tagkey();
	return done_testing();
}
