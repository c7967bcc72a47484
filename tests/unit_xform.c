/*
 * unit_xform.c: the transforms of the map language (MAPS.md §3.6), the
 * exact decimal helpers and the code tables (§3.7), table-driven.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "edi.h"
#include "err.h"
#include "map_int.h"
#include "tap.h"

struct xcase {
	enum map_xkind	 kind;
	int		 n;		/* decimal n, implied n, max n */
	int		 ai;
	const char	*in;
	int		 res;		/* enum map_xres */
	const char	*out;		/* NULL: unchanged / not checked */
	int		 edifact;	/* decimal comma allowed */
};

static const struct xcase xcases[] = {
	/* date x12: 6 digits (pivot 50) or 8 */
	{ MX_DATE_X12, 0, 0, "20240301", MXR_OK, "2024-03-01", 0 },
	{ MX_DATE_X12, 0, 0, "240301", MXR_OK, "2024-03-01", 0 },
	{ MX_DATE_X12, 0, 0, "491231", MXR_OK, "2049-12-31", 0 },
	{ MX_DATE_X12, 0, 0, "500101", MXR_OK, "1950-01-01", 0 },
	{ MX_DATE_X12, 0, 0, "991231", MXR_OK, "1999-12-31", 0 },
	{ MX_DATE_X12, 0, 0, "20240229", MXR_OK, "2024-02-29", 0 },
	{ MX_DATE_X12, 0, 0, "20230229", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "19000229", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20000229", MXR_OK, "2000-02-29", 0 },
	{ MX_DATE_X12, 0, 0, "20241301", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20240431", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20240300", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "2024031", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "2024-03-01", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "ABCDEFGH", MXR_TYPE, NULL, 0 },
	/* days 1-28 are taken without the calendar; the rest ask it */
	{ MX_DATE_X12, 0, 0, "20240128", MXR_OK, "2024-01-28", 0 },
	{ MX_DATE_X12, 0, 0, "20240131", MXR_OK, "2024-01-31", 0 },
	{ MX_DATE_X12, 0, 0, "20240132", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20241231", MXR_OK, "2024-12-31", 0 },
	{ MX_DATE_X12, 0, 0, "20240930", MXR_OK, "2024-09-30", 0 },
	{ MX_DATE_X12, 0, 0, "20240931", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20240001", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "20241201", MXR_OK, "2024-12-01", 0 },
	{ MX_DATE_X12, 0, 0, "00000101", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "00010101", MXR_OK, "0001-01-01", 0 },
	{ MX_DATE_X12, 0, 0, "99991231", MXR_OK, "9999-12-31", 0 },
	{ MX_DATE_X12, 0, 0, "000101", MXR_OK, "2000-01-01", 0 },
	{ MX_DATE_X12, 0, 0, "2024030/", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "2024030:", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "/0240301", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "2024\xb0" "301", MXR_TYPE, NULL, 0 },
	{ MX_DATE_X12, 0, 0, "24030\xff", MXR_TYPE, NULL, 0 },
	{ MX_DATE_CCYYMMDD, 0, 0, "20051107", MXR_OK, "2005-11-07", 0 },
	{ MX_DATE_CCYYMMDD, 0, 0, "051107", MXR_TYPE, NULL, 0 },
	{ MX_DATE_YYMMDD, 0, 0, "051107", MXR_OK, "2005-11-07", 0 },
	{ MX_DATE_YYMMDD, 0, 0, "20051107", MXR_TYPE, NULL, 0 },
	{ MX_DATE_102, 0, 0, "20051107", MXR_OK, "2005-11-07", 0 },
	{ MX_DATE_ISO, 0, 0, "2024-03-01T14:22:00-05:00", MXR_OK,
	    "2024-03-01", 0 },
	{ MX_DATE_ISO, 0, 0, "2024-03-01", MXR_OK, "2024-03-01", 0 },
	{ MX_DATE_ISO, 0, 0, "2024-02-30", MXR_TYPE, NULL, 0 },
	{ MX_DATE_ISO, 0, 0, "20240301", MXR_TYPE, NULL, 0 },
	{ MX_TIME_ISO, 0, 0, "2024-03-01T14:22:00-05:00", MXR_OK,
	    "14:22:00", 0 },
	{ MX_TIME_ISO, 0, 0, "2024-03-01T14:22:00.250Z", MXR_OK,
	    "14:22:00.250", 0 },
	{ MX_TIME_ISO, 0, 0, "2024-03-01T14:22", MXR_OK, "14:22", 0 },
	{ MX_TIME_ISO, 0, 0, "2024-03-01T25:22:00", MXR_TYPE, NULL, 0 },
	/* a date without a time (cXML orderDate="2024-03-03"): no time */
	{ MX_TIME_ISO, 0, 0, "2024-03-03", MXR_ABSENT, NULL, 0 },
	{ MX_TIME_ISO, 0, 0, "12:30:00", MXR_OK, "12:30:00", 0 },
	{ MX_TIME_ISO, 0, 0, "2024-03-0", MXR_TYPE, NULL, 0 },
	/* time x12 */
	{ MX_TIME_X12, 0, 0, "1630", MXR_OK, "16:30", 0 },
	{ MX_TIME_X12, 0, 0, "163005", MXR_OK, "16:30:05", 0 },
	{ MX_TIME_X12, 0, 0, "16300512", MXR_OK, "16:30:05", 0 },
	{ MX_TIME_X12, 0, 0, "2430", MXR_TYPE, NULL, 0 },
	{ MX_TIME_X12, 0, 0, "1660", MXR_TYPE, NULL, 0 },
	{ MX_TIME_X12, 0, 0, "16305", MXR_TYPE, NULL, 0 },
	{ MX_TIME_X12, 0, 0, "16:30", MXR_TYPE, NULL, 0 },
	/* decimal: canonical text, scale kept, never a double */
	{ MX_DECIMAL, -1, 0, "0008", MXR_OK, "8", 0 },
	{ MX_DECIMAL, -1, 0, "36.50", MXR_OK, "36.50", 0 },
	{ MX_DECIMAL, -1, 0, "-.5", MXR_OK, "-0.5", 0 },
	{ MX_DECIMAL, -1, 0, ".5", MXR_OK, "0.5", 0 },
	{ MX_DECIMAL, -1, 0, "+12", MXR_OK, "12", 0 },
	{ MX_DECIMAL, -1, 0, "-0", MXR_OK, "0", 0 },
	{ MX_DECIMAL, -1, 0, "-0.00", MXR_OK, "0.00", 0 },
	{ MX_DECIMAL, -1, 0, "000.250", MXR_OK, "0.250", 0 },
	{ MX_DECIMAL, -1, 0, "5.", MXR_OK, "5", 0 },
	{ MX_DECIMAL, -1, 0, "0", MXR_OK, "0", 0 },
	/* canonical input is passed through (no copy): same text */
	{ MX_DECIMAL, -1, 0, "0.5", MXR_OK, "0.5", 0 },
	{ MX_DECIMAL, -1, 0, "120", MXR_OK, "120", 0 },
	{ MX_DECIMAL, -1, 0, "-12.5", MXR_OK, "-12.5", 0 },
	{ MX_DECIMAL, -1, 0, "12.5,", MXR_TYPE, NULL, 1 },
	{ MX_DECIMAL, -1, 0,
	    "123456789012345678901234567890.123456789012345678901234567890",
	    MXR_OK,
	    "123456789012345678901234567890.123456789012345678901234567890",
	    0 },
	{ MX_DECIMAL, -1, 0, "1,5", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "1,5", MXR_OK, "1.5", 1 },
	{ MX_DECIMAL, -1, 0, "12A", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "1E3", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "-", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, ".", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "1.2.3", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, " 12", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, 2, 0, "36.5", MXR_OK, "36.50", 0 },
	{ MX_DECIMAL, 2, 0, "36", MXR_OK, "36.00", 0 },
	{ MX_DECIMAL, 2, 0, "36.123", MXR_OK, "36.123", 0 },
	/* the shapes taken as sent, and their neighbours that are not */
	{ MX_DECIMAL, 2, 0, "36.50", MXR_OK, "36.50", 0 },
	{ MX_DECIMAL, 3, 0, "36.50", MXR_OK, "36.500", 0 },
	{ MX_DECIMAL, 0, 0, "36", MXR_OK, "36", 0 },
	{ MX_DECIMAL, 1, 0, "0.5", MXR_OK, "0.5", 0 },
	{ MX_DECIMAL, 1, 0, "0", MXR_OK, "0.0", 0 },
	{ MX_DECIMAL, -1, 0, "00", MXR_OK, "0", 0 },
	{ MX_DECIMAL, -1, 0, "0.", MXR_OK, "0", 0 },
	{ MX_DECIMAL, -1, 0, "05.5", MXR_OK, "5.5", 0 },
	{ MX_DECIMAL, -1, 0, "1.5.", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "1.5a", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "0x", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "", MXR_TYPE, NULL, 0 },
	{ MX_DECIMAL, -1, 0, "12,50", MXR_OK, "12.50", 1 },
	/* implied n (X12 Nn) */
	{ MX_IMPLIED, 2, 0, "45120", MXR_OK, "451.20", 0 },
	{ MX_IMPLIED, 2, 0, "0045120", MXR_OK, "451.20", 0 },
	{ MX_IMPLIED, 2, 0, "5", MXR_OK, "0.05", 0 },
	{ MX_IMPLIED, 2, 0, "-5", MXR_OK, "-0.05", 0 },
	{ MX_IMPLIED, 2, 0, "00", MXR_OK, "0.00", 0 },
	{ MX_IMPLIED, 0, 0, "0042", MXR_OK, "42", 0 },
	{ MX_IMPLIED, 3, 0, "1234", MXR_OK, "1.234", 0 },
	{ MX_IMPLIED, 2, 0, "451.2", MXR_OK, "451.2", 0 },
	{ MX_IMPLIED, 2, 0, "4x5", MXR_TYPE, NULL, 0 },
	{ MX_IMPLIED, 2, 0, "-", MXR_TYPE, NULL, 0 },
	/* int */
	{ MX_INT, 0, 0, "000001", MXR_OK, "1", 0 },
	{ MX_INT, 0, 0, "-12", MXR_OK, "-12", 0 },
	{ MX_INT, 0, 0, "9223372036854775807", MXR_OK,
	    "9223372036854775807", 0 },
	{ MX_INT, 0, 0, "9223372036854775808", MXR_TYPE, NULL, 0 },
	{ MX_INT, 0, 0, "1.0", MXR_TYPE, NULL, 0 },
	{ MX_INT, 0, 0, "ten", MXR_TYPE, NULL, 0 },
	/* string hygiene */
	{ MX_TRIM, 0, 0, "  ACME DC 7 \t", MXR_OK, "ACME DC 7", 0 },
	{ MX_TRIM, 0, 0, "   ", MXR_ABSENT, NULL, 0 },
	{ MX_UPPER, 0, 0, "ea-x1", MXR_OK, "EA-X1", 0 },
	{ MX_LOWER, 0, 0, "EA-X1", MXR_OK, "ea-x1", 0 },
	{ MX_COLLAPSE, 0, 0, "  400   pound\t anvil ", MXR_OK,
	    "400 pound anvil", 0 },
	{ MX_MAX, 5, 0, "ABCDEFG", MXR_TRUNC, "ABCDE", 0 },
	{ MX_MAX, 5, 0, "ABCDE", MXR_OK, "ABCDE", 0 },
	{ MX_MAX, 2, 0, "\xc3\xa9\xc3\xa9\xc3\xa9", MXR_TRUNC,
	    "\xc3\xa9\xc3\xa9", 0 },
	{ MX_PAD, 0, 0, "12", MXR_OK, "12", 0 },
	/* gtin14: check digit verified, padded to 14 */
	{ MX_GTIN14, 0, 0, "012345678905", MXR_OK, "00012345678905", 0 },
	{ MX_GTIN14, 0, 0, "4006381333931", MXR_OK, "04006381333931", 0 },
	{ MX_GTIN14, 0, 0, "96385074", MXR_OK, "00000096385074", 0 },
	{ MX_GTIN14, 0, 0, "10012345678902", MXR_OK, "10012345678902", 0 },
	{ MX_GTIN14, 0, 0, "012345678906", MXR_TYPEWARN, "012345678906", 0 },
	{ MX_GTIN14, 0, 0, "0123456789", MXR_TYPEWARN, "0123456789", 0 },
	{ MX_GTIN14, 0, 0, "01234567890X", MXR_TYPEWARN, "01234567890X", 0 },
	/* sscc: 20 digits with AI 00 lose it; check digit verified */
	{ MX_SSCC, 0, 1, "00106141412345678908", MXR_OK, "106141412345678908",
	    0 },
	{ MX_SSCC, 0, 0, "106141412345678908", MXR_OK, "106141412345678908",
	    0 },
	{ MX_SSCC, 0, 1, "00106141412345678909", MXR_TYPEWARN,
	    "00106141412345678909", 0 },
	{ MX_SSCC, 0, 0, "1061414123456789", MXR_TYPEWARN, "1061414123456789",
	    0 },
	{ MX_SSCC, 0, 0, "11106141412345678908", MXR_TYPEWARN,
	    "11106141412345678908", 0 },
};

static const char *const xname[] = {
	"", "date x12", "date CCYYMMDD", "date YYMMDD", "date 102",
	"date code", "date iso8601", "time x12", "time iso8601", "decimal",
	"implied", "int", "trim", "upper", "lower", "collapse", "max", "pad",
	"gtin14", "sscc", "lookup", "time code",
};

static void
test_table(void)
{
	struct arena	 a;
	struct edi_set	 set;
	size_t		 i;

	arena_init(&a, 1 << 20);
	for (i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		const struct xcase *c = &xcases[i];
		struct map_xform x;
		struct map_val	 v;
		const char	*why;
		char		 got[256];
		int		 res;

		memset(&x, 0, sizeof(x));
		memset(&v, 0, sizeof(v));
		memset(&set, 0, sizeof(set));
		set.env.syntax = c->edifact ? EDI_EDIFACT : EDI_X12;
		x.kind = c->kind;
		x.n = c->n;
		x.ai = c->ai;
		v.p = c->in;
		v.len = strlen(c->in);
		v.kind = MV_STR;
		res = map_xform_apply(&x, &a, &set, &v, &why);
		if (v.kind == MV_INT)
			snprintf(got, sizeof(got), "%lld", (long long)v.i);
		else
			snprintf(got, sizeof(got), "%.*s", (int)v.len, v.p);
		is_int(res, c->res, "%s %d: \"%s\" outcome", xname[c->kind],
		    c->n, c->in);
		if (c->out != NULL && (res == MXR_OK || res == MXR_TRUNC ||
		    res == MXR_TYPEWARN))
			is_str(got, c->out, "%s %d: \"%s\" -> \"%s\"",
			    xname[c->kind], c->n, c->in, c->out);
		if (res == MXR_OK && c->kind == MX_INT)
			ok(v.kind == MV_INT, "int gives a JSON integer");
		if (res == MXR_OK && (c->kind == MX_DECIMAL ||
		    c->kind == MX_IMPLIED))
			ok(v.kind == MV_DEC, "decimal kind for %s", c->in);
	}
	arena_free(&a);
}

/*
 * DTM+137:IN:CODE as a segment (no CODE: two values), the code at (el3,
 * comp3, rep3), and `date code` or `time code` (kind) reading it at
 * (codeel, codecomp) applied to IN: the result, *v the value it leaves.
 */
static int
code_run(struct arena *a, enum map_xkind kind, const char *in,
    const char *code, unsigned el3, unsigned comp3, unsigned rep3,
    unsigned codeel, unsigned codecomp, struct map_val *v)
{
	struct edi_seg	 seg;
	struct edi_val	 vals[3];
	struct map_xform x;
	const char	*why;
	int		 res;

	memset(&seg, 0, sizeof(seg));
	memset(vals, 0, sizeof(vals));
	memcpy(seg.tag, "DTM", 4);
	vals[0].s = slice_cstr("137");
	vals[0].el = 1;
	vals[0].comp = 1;
	vals[0].rep = 1;
	vals[1].s = slice_cstr(in);
	vals[1].el = 1;
	vals[1].comp = 2;
	vals[1].rep = 1;
	vals[2].s = slice_cstr(code ? code : "");
	vals[2].el = (uint16_t)el3;
	vals[2].comp = (uint16_t)comp3;
	vals[2].rep = (uint16_t)rep3;
	seg.val = vals;
	seg.nval = code ? 3 : 2;
	seg.nel = (uint16_t)el3;
	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.codeel = (uint8_t)codeel;
	x.codecomp = (uint8_t)codecomp;
	memset(v, 0, sizeof(*v));
	v->p = in;
	v->len = strlen(in);
	v->kind = MV_STR;
	v->seg = &seg;
	res = map_xform_apply(&x, a, NULL, v, &why);
	v->seg = NULL;		/* seg is gone with this call */
	return res;
}

/* date code ELEM reads the format code from the same segment. */
static void
test_date_code(void)
{
	static const struct {
		const char	*code;	/* NULL: no code element */
		const char	*in;
		int		 res;
		const char	*out;
	} dc[] = {
		{ "102", "20051107", MXR_OK, "2005-11-07" },
		{ "101", "051107", MXR_OK, "2005-11-07" },
		{ "203", "200511071230", MXR_OK, "2005-11-07" },
		{ "204", "20051107123059", MXR_OK, "2005-11-07" },
		{ "718", "20051107-20051114", MXR_OK, "2005-11-07" },
		{ "201", "0511071230", MXR_OK, "2005-11-07" },
		{ "202", "051107123059", MXR_OK, "2005-11-07" },
		{ "205", "200511071230+0100", MXR_OK, "2005-11-07" },
		{ "205", "200511071230", MXR_TYPE, NULL },
		{ "201", "0511072430", MXR_TYPE, NULL },
		{ "102", "051107", MXR_TYPE, NULL },
		{ "203", "200511072530", MXR_TYPE, NULL },
		{ NULL, "051107", MXR_OK, "2005-11-07" },
		{ NULL, "20051107", MXR_OK, "2005-11-07" },
		{ NULL, "2005110", MXR_TYPE, NULL },
		{ "102", "20051131", MXR_TYPE, NULL },
		{ "102", "2005113", MXR_TYPE, NULL },
		{ "102", "200511301", MXR_TYPE, NULL },
		{ "102", "2005113A", MXR_TYPE, NULL },
		{ "102", "20240229", MXR_OK, "2024-02-29" },
	};
	struct arena	 a;
	struct map_val	 v;
	size_t		 i;
	int		 res;

	arena_init(&a, 1 << 16);
	for (i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
		res = code_run(&a, MX_DATE_CODE, dc[i].in, dc[i].code, 1, 3,
		    1, 1, 3, &v);
		is_int(res, dc[i].res, "date code %s: %s", dc[i].code ?
		    dc[i].code : "(none)", dc[i].in);
		if (dc[i].out != NULL)
			ok(v.len == strlen(dc[i].out) &&
			    memcmp(v.p, dc[i].out, v.len) == 0,
			    "date code %s: %s -> %s", dc[i].code ? dc[i].code :
			    "(none)", dc[i].in, dc[i].out);
	}
	arena_free(&a);
}

/*
 * date code reads its code where every value before it is there once,
 * and elsewhere as before: a code in a later element, no code where that
 * position holds another element's value, a code in a second repetition.
 */
static void
test_date_code_at(void)
{
	static const struct {
		int		 codeel, codecomp;
		unsigned	 el3, comp3, rep3;	/* the third value */
		int		 res;
	} dc[] = {
		{ 2, 1, 2, 1, 1, MXR_OK },	/* 201 read from element 2 */
		{ 1, 3, 2, 1, 1, MXR_TYPE },	/* (1,3) absent: by length */
		{ 1, 3, 1, 3, 2, MXR_TYPE },	/* repetition 2 is not it */
		{ 1, 3, 1, 3, 1, MXR_OK },	/* where it is guessed */
		{ 1, 3, 1, 3, 0, MXR_OK },	/* repetition 0 is 1 */
	};
	struct arena	 a;
	struct map_val	 v;
	size_t		 i;
	int		 res;

	arena_init(&a, 1 << 16);
	for (i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
		res = code_run(&a, MX_DATE_CODE, "0511071230", "201",
		    dc[i].el3, dc[i].comp3, dc[i].rep3, dc[i].codeel,
		    dc[i].codecomp, &v);
		is_int(res, dc[i].res, "date code at %d-%d, third value "
		    "(%u,%u) rep %u", dc[i].codeel, dc[i].codecomp, dc[i].el3,
		    dc[i].comp3, dc[i].rep3);
		if (dc[i].res == MXR_OK)
			ok(v.len == 10 && memcmp(v.p, "2005-11-07", 10) == 0,
			    "date code at %d-%d: 2005-11-07", dc[i].codeel,
			    dc[i].codecomp);
	}
	arena_free(&a);
}

/*
 * time code ELEM: the time of an EDIFACT 2379 date/time; a date-only code
 * gives no value and no error (MXR_ABSENT), so one DTM feeds issueDate
 * and issueTime.
 */
static void
test_time_code(void)
{
	static const struct {
		const char	*code;	/* NULL: no code element */
		const char	*in;
		int		 res;
		const char	*out;
	} tc[] = {
		{ "203", "200511071230", MXR_OK, "12:30" },
		{ "204", "20051107123059", MXR_OK, "12:30:59" },
		{ "205", "200511071230+0100", MXR_OK, "12:30" },
		{ "205", "200511071230-0530", MXR_OK, "12:30" },
		{ "201", "0511071230", MXR_OK, "12:30" },
		{ "202", "051107123059", MXR_OK, "12:30:59" },
		{ "401", "0930", MXR_OK, "09:30" },
		{ "402", "093015", MXR_OK, "09:30:15" },
		{ "102", "20051107", MXR_ABSENT, NULL },
		{ "101", "051107", MXR_ABSENT, NULL },
		{ "718", "20051107-20051114", MXR_ABSENT, NULL },
		{ "203", "20051107", MXR_TYPE, NULL },
		{ "203", "200511072430", MXR_TYPE, NULL },
		{ "204", "20051107123060", MXR_TYPE, NULL },
		{ "204", "2005110712305X", MXR_TYPE, NULL },
		{ "205", "200511071230", MXR_TYPE, NULL },
		{ "205", "200511071230*0100", MXR_TYPE, NULL },
		{ NULL, "200511071230", MXR_OK, "12:30" },
		{ NULL, "20051107123059", MXR_OK, "12:30:59" },
		{ NULL, "20051107", MXR_ABSENT, NULL },
	};
	struct arena	 a;
	struct map_val	 v;
	size_t		 i;
	int		 res;

	arena_init(&a, 1 << 16);
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		res = code_run(&a, MX_TIME_CODE, tc[i].in, tc[i].code, 1, 3,
		    1, 1, 3, &v);
		is_int(res, tc[i].res, "time code %s: %s", tc[i].code ?
		    tc[i].code : "(none)", tc[i].in);
		if (tc[i].out != NULL)
			ok(res == MXR_OK && v.len == strlen(tc[i].out) &&
			    memcmp(v.p, tc[i].out, v.len) == 0,
			    "time code %s: %s -> %s", tc[i].code ? tc[i].code :
			    "(none)", tc[i].in, tc[i].out);
	}
	arena_free(&a);
}

/* `decimal` at the length limit: as sent up to it, refused past it. */
static void
test_decimal_len(void)
{
	struct arena	 a;
	struct edi_set	 set;
	struct map_xform x;
	struct map_val	 v;
	const char	*why;
	char		 in[MAP_MAX_DEC_DIGITS + 4];
	size_t		 n;
	int		 res;

	arena_init(&a, 1 << 16);
	memset(&set, 0, sizeof(set));
	set.env.syntax = EDI_X12;
	for (n = MAP_MAX_DEC_DIGITS + 1; n <= MAP_MAX_DEC_DIGITS + 3; n++) {
		memset(in, '7', n);
		in[n / 2] = '.';
		memset(&x, 0, sizeof(x));
		x.kind = MX_DECIMAL;
		x.n = -1;
		memset(&v, 0, sizeof(v));
		v.p = in;
		v.len = n;
		v.kind = MV_STR;
		res = map_xform_apply(&x, &a, &set, &v, &why);
		if (n <= MAP_MAX_DEC_DIGITS + 2)
			ok(res == MXR_OK && v.p == in && v.len == n &&
			    v.kind == MV_DEC && v.plain,
			    "decimal of %zu bytes: as sent", n);
		else
			is_int(res, MXR_TYPE, "decimal of %zu bytes: too long",
			    n);
	}
	arena_free(&a);
}

static void
test_decimals(void)
{
	static const struct {
		const char *a, *b;
		int	 cmp;
	} cmps[] = {
		{ "1", "000001", 0 }, { "36.50", "36.5", 0 }, { "-0", "0", 0 },
		{ "0.00", "-0.0", 0 }, { "2", "10", -1 }, { "10", "2", 1 },
		{ "-2", "1", -1 }, { "-2", "-10", 1 }, { "1.05", "1.5", -1 },
		{ ".5", "0.50", 0 }, { "99999999999999999999999", "1e3", 9 },
		{ "A", "1", 9 },
	};
	static const struct {
		const char *a, *b, *sum;
	} sums[] = {
		{ "0", "20", "20" }, { "20", "4.5", "24.5" },
		{ "0.10", "0.2", "0.30" }, { "-5", "3", "-2" },
		{ "3", "-5", "-2" }, { "5", "-5", "0" }, { "-1.5", "-1.5", "-3.0" },
		{ "99999999999999999999", "1", "100000000000000000000" },
		{ "0", "000.5", "0.5" },
	};
	char	 out[256];
	size_t	 i;
	int	 res, rv;

	for (i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
		rv = map_dec_cmp(slice_cstr(cmps[i].a), slice_cstr(cmps[i].b),
		    &res);
		if (cmps[i].cmp == 9)
			is_int(rv, -1, "dec_cmp %s vs %s: not numbers",
			    cmps[i].a, cmps[i].b);
		else
			ok(rv == 0 && res == cmps[i].cmp, "dec_cmp %s vs %s = %d",
			    cmps[i].a, cmps[i].b, cmps[i].cmp);
	}
	for (i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		rv = map_dec_add(sums[i].a, strlen(sums[i].a), sums[i].b,
		    strlen(sums[i].b), out, sizeof(out));
		ok(rv == 0 && strcmp(out, sums[i].sum) == 0, "dec_add %s + %s "
		    "= %s (got %s)", sums[i].a, sums[i].b, sums[i].sum,
		    rv == 0 ? out : "error");
	}
	is_int(map_dec_add("1", 1, "x", 1, out, sizeof(out)), -1,
	    "dec_add refuses a non-number");
	ok(map_gtin_check("012345678905", 12), "GS1 check digit ok");
	ok(!map_gtin_check("012345678904", 12), "GS1 check digit bad");
	test_decimal_len();
}

/*
 * map_lookup_code (the transform's inline probe) against map_lookup_in:
 * codes of 0 to 12 bytes (keyed up to 7, text past that), rows that
 * crowd a small table, `->` and `<-` rows, codes the table lacks.
 */
static void
test_lookup_code(struct arena *a)
{
	struct map_lookup *lk;
	const struct map_row *r1, *r2;
	const struct map_hent *h;
	char	 k[16];
	int	 i, n, len, bad = 0, hits = 0, slots = 0, plain = 0, bang = 0;

	lk = map_lookup_new(a, "codes");
	for (i = 0; i < 40; i++) {
		char *l = arena_alloc(a, 16), *rt = arena_alloc(a, 16);

		len = 1 + i % 12;
		for (n = 0; n < len; n++)
			l[n] = (char)('A' + (i * 7 + n * 3) % 26);
		/* right sides of their own, some not plain, some `!` */
		snprintf(rt, 16, i % 4 == 1 ? "\xc3\xa9%d" : "v%d", i);
		map_lookup_addrow(lk, a, slice_make(l, (size_t)len),
		    slice_make(rt, strlen(rt)), i % 5 == 4 ? MR_OUT :
		    i % 3 ? MR_BOTH : MR_IN, i % 7 == 6, 0);
	}
	map_lookup_build(lk, a);
	for (i = 0; i < 80; i++) {
		/* The rows' own codes, then others of every length. */
		len = i < 40 ? 1 + i % 12 : i % 13;
		for (n = 0; n < len; n++)
			k[n] = (char)('A' + (i * 7 + n * 3 + i / 40) % 26);
		r1 = map_lookup_in(lk, slice_make(k, (size_t)len));
		r2 = map_lookup_code(lk, slice_make(k, (size_t)len), &h);
		bad += r1 != r2;
		hits += r1 != NULL;
		/* a code of up to 7 bytes: its row's right side in the slot */
		if (r2 != NULL && len <= 7) {
			slots += h != NULL && h->row == r2 &&
			    h->rp == r2->right.p && h->rlen == r2->right.len &&
			    h->bang == r2->bang && h->plain == r2->plain;
			plain += r2->plain;
			bang += r2->bang;
		} else
			slots += h == NULL;
	}
	ok(bad == 0 && hits > 10, "lookup: inline probe as map_lookup_in "
	    "(%d differ, %d hits)", bad, hits);
	ok(slots == 80 && plain > 0 && bang > 0, "lookup: a short code's slot "
	    "holds its row's right side, a long one has none (%d of 80; "
	    "%d plain, %d bang)", slots, plain, bang);
	lk = map_lookup_new(a, "empty");
	ok(map_lookup_code(lk, SLICE_LIT("EA"), &h) == NULL && h == NULL,
	    "lookup: inline probe, table not built");
}

/*
 * The lookup transform through its table's direct index (map_lookup_bind)
 * against the same transform without one: codes of 1 to 4 bytes, rows
 * enough to crowd the index, `->`, `<-`, `-> !` and empty rows, misses.
 */
static void
test_lookup_direct(struct arena *a)
{
	struct map_lookup *lk;
	struct map_xform x1, x2;
	struct map_val	 v1, v2;
	const char	*w1, *w2;
	char		 k[8];
	int		 i, n, len, r1, r2, bad = 0, hits = 0;

	lk = map_lookup_new(a, "direct");
	for (i = 0; i < 300; i++) {
		char *l = arena_alloc(a, 8), *rt = arena_alloc(a, 16);

		len = 1 + i % 3;
		for (n = 0; n < len; n++)
			l[n] = (char)('0' + (i * 7 + n * 13 + n * i) % 43);
		snprintf(rt, 16, i % 4 == 1 ? "\xc3\xa9%d" : "v%d", i);
		map_lookup_addrow(lk, a, slice_make(l, (size_t)len),
		    slice_make(rt, i % 11 == 10 ? 0 : strlen(rt)),
		    i % 5 == 4 ? MR_OUT : i % 3 ? MR_BOTH : MR_IN,
		    i % 7 == 6, 0);
	}
	map_lookup_build(lk, a);
	memset(&x1, 0, sizeof(x1));
	x1.kind = MX_LOOKUP;
	x1.lk = lk;
	x2 = x1;
	map_lookup_bind(&x1);
	ok(x1.lkt != NULL && x2.lkt == NULL, "lookup: direct index bound");
	for (i = 0; i < 1200; i++) {
		len = 1 + i % 4;
		for (n = 0; n < len; n++)
			k[n] = (char)('0' + (i / 4 * 7 + n * 13 + n * (i / 4) +
			    i / 900) % 43);
		memset(&v1, 0, sizeof(v1));
		v1.p = k;
		v1.len = (size_t)len;
		v1.kind = MV_STR;
		v2 = v1;
		w1 = w2 = NULL;
		r1 = map_xform_apply(&x1, a, NULL, &v1, &w1);
		r2 = map_xform_apply(&x2, a, NULL, &v2, &w2);
		bad += r1 != r2 || v1.p != v2.p || v1.len != v2.len ||
		    v1.kind != v2.kind ||
		    (r1 == MXR_OK && v1.plain != v2.plain);
		hits += r1 == MXR_OK;
	}
	ok(bad == 0 && hits > 100, "lookup: direct index as the hash "
	    "(%d differ, %d hits)", bad, hits);
}

static void
test_lookup(void)
{
	struct arena	 a;
	struct map_lookup *lk;
	const struct map_row *r;
	char		 err[256], path[1024];
	const char	*top = getenv("top_srcdir");
	int		 rv;

	arena_init(&a, 1 << 24);
	lk = map_lookup_new(&a, "uom");
	map_lookup_addrow(lk, &a, SLICE_LIT("EA"), SLICE_LIT("EA"), MR_BOTH, 0,
	    0);
	map_lookup_addrow(lk, &a, SLICE_LIT("CA"), SLICE_LIT("CS"), MR_BOTH, 0,
	    0);
	map_lookup_addrow(lk, &a, SLICE_LIT("DZ"), SLICE_LIT("DZN"), MR_IN, 0,
	    0);
	map_lookup_addrow(lk, &a, SLICE_LIT("D2"), SLICE_LIT("DZN"), MR_OUT,
	    0, 0);
	map_lookup_addrow(lk, &a, SLICE_LIT("CS"), SLICE_LIT("!"), MR_IN, 1,
	    0);
	map_lookup_build(lk, &a);
	r = map_lookup_in(lk, SLICE_LIT("CA"));
	ok(r != NULL && slice_eqs(r->right, "CS"), "lookup: CA -> CS");
	r = map_lookup_in(lk, SLICE_LIT("DZ"));
	ok(r != NULL && slice_eqs(r->right, "DZN"), "lookup: -> row inbound");
	ok(map_lookup_in(lk, SLICE_LIT("D2")) == NULL,
	    "lookup: <- row not inbound");
	r = map_lookup_out(lk, SLICE_LIT("DZN"));
	ok(r != NULL && slice_eqs(r->left, "D2"), "lookup: <- row outbound");
	r = map_lookup_out(lk, SLICE_LIT("CS"));
	ok(r != NULL && slice_eqs(r->left, "CA"), "lookup: <-> outbound");
	r = map_lookup_in(lk, SLICE_LIT("CS"));
	ok(r != NULL && r->bang, "lookup: -> ! row");
	ok(map_lookup_in(lk, SLICE_LIT("ZZ")) == NULL, "lookup: miss");
	ok(map_lookup_in(lk, SLICE_LIT("")) == NULL, "lookup: empty miss");

	/* `add` rows replace the same code and direction. */
	map_lookup_addrow(lk, &a, SLICE_LIT("CS"), SLICE_LIT("CS"), MR_IN, 0,
	    1);
	map_lookup_addrow(lk, &a, SLICE_LIT("CT"), SLICE_LIT("CS"), MR_OUT, 0,
	    1);
	map_lookup_build(lk, &a);
	r = map_lookup_in(lk, SLICE_LIT("CS"));
	ok(r != NULL && !r->bang && slice_eqs(r->right, "CS"),
	    "lookup add: CS -> CS replaces CS -> !");
	r = map_lookup_in(lk, SLICE_LIT("CA"));
	ok(r != NULL && slice_eqs(r->right, "CS"),
	    "lookup add: CA -> CS still inbound");
	r = map_lookup_out(lk, SLICE_LIT("CS"));
	ok(r != NULL && slice_eqs(r->left, "CT"),
	    "lookup add: outbound CS now written as CT");

	/* Many rows: hashing scales. */
	lk = map_lookup_new(&a, "big");
	for (rv = 0; rv < 5000; rv++) {
		char	*k = arena_alloc(&a, 16), *v = arena_alloc(&a, 16);

		snprintf(k, 16, "K%d", rv);
		snprintf(v, 16, "V%d", rv);
		map_lookup_addrow(lk, &a, slice_cstr(k), slice_cstr(v), MR_BOTH,
		    0, 0);
	}
	map_lookup_build(lk, &a);
	r = map_lookup_in(lk, SLICE_LIT("K4321"));
	ok(r != NULL && slice_eqs(r->right, "V4321"), "lookup: 5000 rows");
	r = map_lookup_out(lk, SLICE_LIT("V17"));
	ok(r != NULL && slice_eqs(r->left, "K17"), "lookup: 5000 rows out");
	test_lookup_code(&a);
	test_lookup_direct(&a);

	/* CSV: header, comments, quotes, directions, `!`. */
	snprintf(path, sizeof(path), "%s/tests/data/map/lookups/"
	    "edifact-7143-item.csv", top ? top : ".");
	lk = map_lookup_new(&a, "item");
	rv = map_lookup_csv(lk, &a, path, err, sizeof(err));
	is_int(rv, 0, "csv: loads (%s)", rv ? err : "ok");
	map_lookup_build(lk, &a);
	r = map_lookup_in(lk, SLICE_LIT("EN"));
	ok(r != NULL && slice_eqs(r->right, "GTIN"), "csv: EN -> GTIN");
	r = map_lookup_out(lk, SLICE_LIT("GTIN"));
	ok(r != NULL && slice_eqs(r->left, "SRV"), "csv: GTIN <- SRV only");
	r = map_lookup_in(lk, SLICE_LIT("SA"));
	ok(r != NULL && slice_eqs(r->right, "sellersItemId"),
	    "csv: quoted fields");
	snprintf(path, sizeof(path), "%s/tests/data/map/lookups/"
	    "edifact-1225-purpose.csv", top ? top : ".");
	lk = map_lookup_new(&a, "purpose");
	rv = map_lookup_csv(lk, &a, path, err, sizeof(err));
	is_int(rv, 0, "csv: header line skipped");
	is_int(lk->nrow, 5, "csv: five rows");
	snprintf(path, sizeof(path), "%s/tests/data/map/lookups/bad.csv",
	    top ? top : ".");
	lk = map_lookup_new(&a, "bad");
	rv = map_lookup_csv(lk, &a, path, err, sizeof(err));
	is_int(rv, EG_ERR_SYNTAX, "csv: bad direction refused");
	ok(strstr(err, "bad.csv:3:1:") != NULL, "csv: error names line 3 (%s)",
	    err);
	lk = map_lookup_new(&a, "none");
	rv = map_lookup_csv(lk, &a, "/nonexistent/x.csv", err, sizeof(err));
	is_int(rv, EG_ERR_NOTFOUND, "csv: missing file");
	arena_free(&a);
}

/* Digit strings of 1 to 20 bytes with one stray byte anywhere (implied
 * n reads its digits with alldigits), each in a buffer of its size. */
static void
test_digits(void)
{
	static const char stray[] = { '/', ':', 'a', ' ', '\0', '\x80', '\xaf',
	    '\xb0', '\xb9', '\xba', '\xff' };
	struct arena	 a;
	char		*in;
	size_t		 n, i, k;
	int		 bad = 0, res;

	arena_init(&a, 1 << 20);
	for (n = 1; n <= 20; n++) {
		for (i = 0; i <= n; i++) {	/* i == n: no stray byte */
			for (k = 0; k < sizeof(stray); k++) {
				struct map_xform xf;
				struct map_val	 v;
				const char	*why;

				if ((in = malloc(n)) == NULL)
					abort();
				memset(in, '7', n);
				if (i < n)
					in[i] = stray[k];
				memset(&xf, 0, sizeof(xf));
				xf.kind = MX_IMPLIED;
				memset(&v, 0, sizeof(v));
				v.p = in;
				v.len = n;
				v.kind = MV_STR;
				res = map_xform_apply(&xf, &a, NULL, &v, &why);
				if (res != (i < n ? MXR_TYPE : MXR_OK))
					bad++;
				free(in);
				if (i == n)
					break;
			}
		}
	}
	is_int(bad, 0, "digit strings of 1-20 bytes, stray bytes anywhere");
	arena_free(&a);
}

/* The GS1 rules as written, one byte at a time: 1 ok, 0 bad check
 * digit, -1 not a GTIN. */
static int
gtin_ref(const unsigned char *d, size_t n)
{
	size_t	 i;
	int	 sum = 0;

	if (n != 8 && n != 12 && n != 13 && n != 14)
		return -1;
	for (i = 0; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return -1;
	for (i = 0; i + 1 < n; i++)
		sum += (d[i] - '0') * ((n - 2 - i) % 2 == 0 ? 3 : 1);
	return (10 - sum % 10) % 10 == d[n - 1] - '0';
}

/* gtin14 against gtin_ref over pseudo-random codes and stray bytes. */
static void
test_gtin(void)
{
	struct arena	 a;
	uint32_t	 x = 12345;
	unsigned char	 in[20];
	char		 want[16], *heap;
	size_t		 n, i, k;
	int		 ref, res, bad = 0, nok = 0;

	arena_init(&a, 1 << 20);
	for (k = 0; k < 40000; k++) {
		struct map_xform xf;
		struct map_val	 v;
		const char	*why;

		x = x * 1103515245 + 12345;
		n = 6 + (x >> 16) % 11;		/* 6..16 */
		for (i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			in[i] = '0' + (x >> 16) % 10;
		}
		x = x * 1103515245 + 12345;
		if ((x >> 16) % 4 == 0) {	/* one stray byte */
			i = (x >> 20) % n;
			x = x * 1103515245 + 12345;
			in[i] = (unsigned char)(1 + (x >> 16) % 255);
		}
		ref = gtin_ref(in, n);
		/* Exactly n bytes: ASan sees any read past the value. */
		if ((heap = malloc(n)) == NULL)
			abort();
		memcpy(heap, in, n);
		memset(&xf, 0, sizeof(xf));
		xf.kind = MX_GTIN14;
		memset(&v, 0, sizeof(v));
		v.p = heap;
		v.len = n;
		v.kind = MV_STR;
		res = map_xform_apply(&xf, &a, NULL, &v, &why);
		if (ref == 1) {
			nok++;
			memset(want, '0', 14);
			memcpy(want + 14 - n, in, n);
			if (res != MXR_OK || v.len != 14 ||
			    memcmp(v.p, want, 14) != 0 || !v.plain ||
			    (n < 14 && v.p[14] != '\0'))
				bad++;
		} else if (res != MXR_TYPEWARN || v.p != heap ||
		    v.len != n || why == NULL || strcmp(why, ref == 0 ?
		    "has a bad GTIN check digit" :
		    "is not a GTIN (8, 12, 13 or 14 digits)") != 0)
			bad++;
		free(heap);
	}
	ok(bad == 0 && nok > 1000, "gtin14: 40000 codes as the GS1 rules "
	    "say (%d valid, %d wrong)", nok, bad);
	arena_free(&a);
}

int
main(void)
{
	test_table();
	test_date_code();
	test_date_code_at();
	test_time_code();
	test_decimals();
	test_lookup();
	test_gtin();
	test_digits();
	return done_testing();
}
