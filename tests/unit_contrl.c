/*
 * unit_contrl.c: the CONTRL collector (edifact_ack.c): accepted
 * interchanges, rejected messages with UCS/UCD from the parser and the
 * tree validator, interchange and group errors, when a CONTRL is due and
 * when not, delimiters and identities, and every CONTRL parsed back through
 * translator_edifact without envelope errors.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "edifact.h"
#include "edifact_ack.h"
#include "eglimits.h"
#include "err.h"
#include "structure.h"
#include "tap.h"
#include "translator.h"

struct ctx {
	struct edifact_ack *c;
	const struct structure *st;
	int		 notree;	/* no map: envelope checks only */
	struct diag_sink ds;
};

static void
feed_diag(void *arg, const struct diag *d)
{
	struct ctx *x = arg;

	edifact_ack_diag(x->c, d);
}

static int
feed_set(void *arg, struct edi_set *s)
{
	struct ctx *x = arg;

	if (!x->notree)
		edi_tree_build(s, x->st, &x->ds);
	edifact_ack_set(x->c, s);
	return 0;
}

static int
feed_group(void *arg, const struct edi_env *env, int ok)
{
	struct ctx *x = arg;

	edifact_ack_group_end(x->c, env, ok);
	return 0;
}

static int
feed_ic(void *arg, const struct edi_env *env, int ok)
{
	struct ctx *x = arg;

	edifact_ack_interchange_end(x->c, env, ok);
	return 0;
}

/* The CONTRL for input, in out; returns edifact_ack_output's result. */
static int
contrl(const char *input, int always, const char *our,
    const struct structure *st, int notree, struct buf *out)
{
	struct edifact_ack_opts o;
	struct edi_handler h = { 0 };
	struct ctx x;
	int	 n;

	memset(&o, 0, sizeof(o));
	o.always = always;
	o.our_edifact_id = our;
	o.icref = 1;
	o.msgref = 1;
	o.now.tv_sec = 1709294400;	/* 2024-03-01 12:00:00 UTC */
	memset(&x, 0, sizeof(x));
	x.c = edifact_ack_new(&o);
	x.st = st;
	x.notree = notree;
	x.ds.emit = feed_diag;
	x.ds.arg = &x;
	h.set = feed_set;
	h.group_end = feed_group;
	h.interchange_end = feed_ic;
	h.diags = &x.ds;
	(void)translator_edifact.parse(slice_cstr(input), "t.edi", &h, &x);
	buf_reset(out);
	n = edifact_ack_output(x.c, out);
	edifact_ack_free(x.c);
	return n;
}

/* Parse a CONTRL back: counts of errors, sets and good interchanges. */
struct back {
	int	 nerr, nsets, ics_ok;
	char	 doctype[16];
};

static void
back_diag(void *arg, const struct diag *d)
{
	struct back *b = arg;

	if (d->sev == DIAG_ERROR) {
		b->nerr++;
		printf("#   parse back: %s %s\n", d->code, d->msg);
	}
}

static int
back_set(void *arg, struct edi_set *s)
{
	struct back *b = arg;

	b->nsets++;
	snprintf(b->doctype, sizeof(b->doctype), "%.*s", (int)s->doctype.len,
	    s->doctype.p);
	return 0;
}

static int
back_ic(void *arg, const struct edi_env *env, int ok)
{
	struct back *b = arg;

	b->ics_ok += ok;
	return 0;
}

static void
parse_back(const char *name, const struct buf *out, int nic)
{
	struct edi_handler h = { 0 };
	struct diag_sink ds;
	struct back b;

	memset(&b, 0, sizeof(b));
	ds.emit = back_diag;
	ds.arg = &b;
	ds.nerror = ds.nwarning = 0;
	h.set = back_set;
	h.group_end = NULL;
	h.interchange_end = back_ic;
	h.diags = &ds;
	(void)translator_edifact.parse(slice_make(out->p, out->len), "c.edi",
	    &h, &b);
	ok(b.nerr == 0 && b.nsets == nic && b.ics_ok == nic &&
	    strcmp(b.doctype, "CONTRL") == 0, "%s: CONTRL parses back without "
	    "errors", name);
}

static int
has(const struct buf *b, const char *s)
{
	return b->p != NULL && strstr(b->p, s) != NULL;
}

#define UNB1	"UNB+UNOC:3+SENDER:14+RECEIVER:14+20240301:1200+IC1++++1'"
#define UNB0	"UNB+UNOC:3+SENDER:14+RECEIVER:14+20240301:1200+IC1'"
#define MSG(r)	"UNH+" r "+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+" r "'"
#define UNZ(n)	"UNZ+" n "+IC1'"

struct ctest {
	const char	*name;
	const char	*in;
	int		 always;
	const char	*our;
	int		 tree;		/* 1: orders-test.struct */
	int		 notree;
	int		 n;		/* interchanges written */
	const char	*want[6];	/* substrings of the output */
	const char	*not[3];	/* must not occur */
};

static const struct ctest tests[] = {
	{ "accepted", UNB1 MSG("1") MSG("2") UNZ("2"), 0, NULL, 0, 0, 1, {
	    "UNA:+.? 'UNB+UNOC:3+RECEIVER:14+SENDER:14+240301:1200+1'",
	    "UNH+1+CONTRL:D:3:UN'",
	    "UCI+IC1+SENDER:14+RECEIVER:14+7'",
	    "UCM+1+ORDERS:D:96A:UN+7'UCM+2+ORDERS:D:96A:UN+7'",
	    "UNT+5+1'UNZ+1+1'" }, { "UCS" } },
	{ "not requested", UNB0 MSG("1") UNZ("1"), 0, NULL, 0, 0, 0, { NULL },
	  { NULL } },
	{ "partner requires CONTRL", UNB0 MSG("1") UNZ("1"), 1, NULL, 0, 0, 1,
	  { "UCI+IC1+SENDER:14+RECEIVER:14+7'",
	    "UCM+1+ORDERS:D:96A:UN+7'" }, { NULL } },
	{ "rejected message", UNB1 MSG("1")
	  "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2'UNT+9+2'" UNZ("2"), 0, NULL, 0,
	  0, 1, { "UCI+IC1+SENDER:14+RECEIVER:14+7'",
	    "UCM+1+ORDERS:D:96A:UN+7'",
	    "UCM+2+ORDERS:D:96A:UN+4+29+UNT+1'UNT+5+1'" }, { NULL } },
	{ "interchange error, not requested", UNB0 MSG("1") UNZ("3"), 0, NULL,
	  0, 0, 1, { "UCI+IC1+SENDER:14+RECEIVER:14+4+29+UNZ+1'UNT+3+1'" },
	  { "UCM" } },
	{ "bad UNB date", "UNB+UNOC:3+SENDER:14+RECEIVER:14+20241301:1200+"
	  "IC1++++1'" MSG("1") UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UCI+IC1+SENDER:14+RECEIVER:14+4+12+UNB+4:1'" }, { "UCM" } },
	{ "element errors", UNB1 "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'LIN+1'"
	  "QTY+21:4X:PCE'PRI+AAA:1.2.3'UNS+S'UNT+7+1'" UNZ("1"), 0, NULL, 1, 0,
	  1, { "UCM+1+ORDERS:D:96A:UN+4'UCS+4'UCD+37+1:2'UCS+5'UCD+37+1:2'"
	    "UNT+8+1'" }, { NULL } },
	{ "missing mandatory element", UNB1 "UNH+1+ORDERS:D:96A:UN'BGM+220'"
	  "UNS+S'UNT+4+1'" UNZ("1"), 0, NULL, 1, 0, 1,
	  { "UCS+2'UCD+13+2'" }, { NULL } },
	{ "unexpected segment", UNB1 "UNH+1+ORDERS:D:96A:UN'BGM+220+P'"
	  "QTY+21:1:PCE'UNS+S'UNT+5+1'" UNZ("1"), 0, NULL, 1, 0, 1,
	  { "UCM+1+ORDERS:D:96A:UN+7'" }, { "UCS" } },
	{ "bad segment tag", UNB1 "UNH+1+ORDERS:D:96A:UN'BGM+220+P'b+1'"
	  "UNT+4+1'" UNZ("1"), 0, NULL, 0, 0, 1, { "UCM+1+ORDERS:D:96A:UN+4'"
	    "UCS+3+12'" }, { NULL } },
	{ "no map", UNB1 MSG("1") UNZ("1"), 0, NULL, 0, 1, 1,
	  { "UCM+1+ORDERS:D:96A:UN+4+14+UNH+2:1'" }, { NULL } },
	{ "group", "UNA:+.? '" UNB1 "UNG+ORDERS+GS:ZZ+GR:ZZ+240301:1200+G1+UN+"
	  "D:96A'" MSG("1") "UNE+1+G1'" UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UCI+IC1+SENDER:14+RECEIVER:14+7'UCF+G1+GS:ZZ+GR:ZZ+7'"
	    "UCM+1+ORDERS:D:96A:UN+7'UNT+5+1'" }, { NULL } },
	{ "rejected group", UNB1 "UNG+ORDERS+GS:ZZ+GR:ZZ+240301:1200+G1+UN+"
	  "D:96A'" MSG("1") "UNE+2+G1'" UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UCF+G1+GS:ZZ+GR:ZZ+4+29+UNE+1'UNT+4+1'" }, { "UCM" } },
	{ "CONTRL is never acknowledged", UNB1 "UNH+1+CONTRL:D:3:UN'"
	  "UCI+X+S+R+7'UNT+3+1'" UNZ("1"), 1, NULL, 0, 0, 0, { NULL },
	  { NULL } },
	{ "our identity", UNB1 MSG("1") UNZ("1"), 0, "OUR+ID:ZZ", 0, 0, 1,
	  { "UNB+UNOC:3+OUR?+ID:ZZ+SENDER:14+" }, { NULL } },
	{ "custom delimiters kept", "UNA=*,! ~UNB*UNOA=3*S!*1=14*R=14*"
	  "240301=1200*IC1****1~UNH*1*ORDERS=D=96A=UN~UNT*2*1~UNZ*1*IC1~", 0,
	  NULL, 0, 0, 1, { "UNA=*,! ~UNB*UNOA=3*R=14*S!*1=14*",
	    "UCI*IC1*S!*1=14*R=14*7~", "UNH*1*CONTRL=D=3=UN~" }, { NULL } },
	{ "syntax 4: date CCYYMMDD, repetition kept", "UNB+UNOC:4+S:14+"
	  "R:14+20240301:1200+IC1++++1'" MSG("1") UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UNA:+.?*'UNB+UNOC:4+R:14+S:14+20240301:1200+1'" }, { NULL } },
	{ "indication of receipt (0031 = 2)", "UNB+UNOC:4+S:14+R:14+"
	  "20240301:1200+IC1++++2'" MSG("1") UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UCI+IC1+S:14+R:14+8'UNT+3+1'" }, { "UCM" } },
	{ "hard-wrapped input", "UNB+UNOC:3+SEN\nDER:14+RECEIVER:14+20240301:"
	  "1200+IC\r\n1++++1'" MSG("1") UNZ("1"), 0, NULL, 0, 0, 1,
	  { "UCI+IC1+SENDER:14+RECEIVER:14+7'" }, { NULL } },
};

static void
test_table(const struct structure *st)
{
	struct buf out;
	const struct ctest *t;
	size_t	 i;
	int	 k, n;

	buf_init(&out, EG_MAX_DOC_SIZE);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		t = &tests[i];
		n = contrl(t->in, t->always, t->our, t->tree ? st : NULL,
		    t->notree, &out);
		if (!ok(n == t->n, "%s: %d CONTRL interchange(s)", t->name,
		    t->n))
			printf("#   got %d: %s\n", n, out.p ? out.p : "");
		for (k = 0; k < 6 && t->want[k]; k++)
			if (!ok(has(&out, t->want[k]), "%s: has %s", t->name,
			    t->want[k]))
				printf("#   output: %s\n", out.p ? out.p : "");
		for (k = 0; k < 3 && t->not[k]; k++)
			ok(!has(&out, t->not[k]), "%s: no %s", t->name,
			    t->not[k]);
		if (n > 0)
			parse_back(t->name, &out, n);
	}
	buf_free(&out);
}

static void
test_misc(void)
{
	struct edifact_ack_opts o;
	struct edifact_ack *c;
	struct buf out;
	unsigned long ic, msg;
	int	 n;

	/* Two interchanges in one input: two CONTRL, references run on. */
	buf_init(&out, EG_MAX_DOC_SIZE);
	n = contrl(UNB1 MSG("1") UNZ("1")
	    "UNB+UNOC:3+SENDER:14+RECEIVER:14+20240301:1200+IC2++++1'"
	    MSG("1") "UNZ+1+IC2'", 0, NULL, NULL, 0, &out);
	is_int(n, 2, "two inbound interchanges: two CONTRL");
	ok(has(&out, "UNH+1+CONTRL") && has(&out, "UNH+2+CONTRL") &&
	    has(&out, "UNZ+1+1'") && has(&out, "UNZ+1+2'"),
	    "references 1 and 2");
	parse_back("two interchanges", &out, 2);

	/* No UNB: nobody to answer. */
	n = contrl(MSG("1"), 1, NULL, NULL, 0, &out);
	is_int(n, 0, "message without UNB: no CONTRL");

	/* Counters and argument checks. */
	memset(&o, 0, sizeof(o));
	o.icref = 41;
	o.msgref = 7;
	c = edifact_ack_new(&o);
	edifact_ack_counters(c, &ic, &msg);
	ok(ic == 41 && msg == 7, "counters before output");
	is_int(edifact_ack_output(NULL, &out), EG_ERR_INVAL, "NULL collector");
	edifact_ack_diag(c, NULL);
	edifact_ack_set(c, NULL);
	is_int(edifact_ack_output(c, &out), 0, "nothing observed: nothing");
	edifact_ack_free(c);
	edifact_ack_free(NULL);
	buf_free(&out);
}

int
main(void)
{
	struct structure *st = NULL;
	char	 path[EG_MAX_PATH], err[512];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/tests/data/edifact/orders-test.struct",
	    top ? top : ".");
	if (!ok(structure_load(path, &st, err, sizeof(err)) == 0,
	    "orders-test.struct loads"))
		printf("#   %s\n", err);
	test_table(st);
	test_misc();
	structure_free(st);
	return done_testing();
}
