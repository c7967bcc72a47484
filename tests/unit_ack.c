/*
 * unit_ack.c: TA1, 997 and 999 from x12_ack (translators/x12_ack.h), fed
 * the way src/translate.c feeds it: every parser and tree diagnostic, each
 * set after its tree, group and interchange ends.  Every acknowledgement
 * is parsed back with translator_x12 and validated against the product
 * 997/999 structures: it must be valid X12 itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "err.h"
#include "structure.h"
#include "tap.h"
#include "translator.h"
#include "x12_ack.h"
#include "xmalloc.h"

static struct structure *s850, *s997, *s999;

struct run {
	struct x12_ack	*ack;
	const struct structure *st;	/* NULL: no map, envelope only */
	struct diag_sink ds;
	const struct diag *inject;	/* passed before each set */
	int		 nsets;
};

static void
feed(void *arg, const struct diag *d)
{
	struct run	*r = arg;

	x12_ack_diag(r->ack, d);
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct run	*r = arg;

	r->nsets++;
	if (set->env.group != NULL && r->st != NULL &&
	    slice_eqs(set->doctype, r->st->doctype))
		edi_tree_build(set, structure_select(r->st, set->version,
		    NULL), &r->ds);
	if (r->inject)
		x12_ack_diag(r->ack, r->inject);
	x12_ack_set(r->ack, set);
	return 0;
}

static int
on_group(void *arg, const struct edi_env *env, int ok)
{
	struct run	*r = arg;

	x12_ack_group_end(r->ack, env, ok);
	return 0;
}

static int
on_ic(void *arg, const struct edi_env *env, int ok)
{
	struct run	*r = arg;

	x12_ack_interchange_end(r->ack, env, ok);
	return 0;
}

/* 2024-03-05 07:08:09 UTC */
#define NOW	1709622489

/* The acknowledgement of input (NUL-terminated, caller frees), or NULL. */
static char *
ack_with(const char *input, enum x12_ack_kind kind, const char *our,
    const struct structure *st, const struct diag *inject, int *nic,
    unsigned long ctl[3])
{
	struct x12_ack_opts o;
	struct edi_handler h = { 0 };
	struct run	 r;
	struct buf	 out;
	int		 n;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.our_x12_id = our;
	o.isa_control = 1;
	o.gs_control = 1;
	o.st_control = 1;
	o.now.tv_sec = NOW;
	memset(&r, 0, sizeof(r));
	r.ack = x12_ack_new(&o);
	r.st = st;
	r.inject = inject;
	r.ds.emit = feed;
	r.ds.arg = &r;
	memset(&h, 0, sizeof(h));
	h.set = on_set;
	h.group_end = on_group;
	h.interchange_end = on_ic;
	h.diags = &r.ds;
	translator_x12.parse(slice_cstr(input), "in", &h, &r);
	buf_init(&out, 1 << 24);
	n = x12_ack_output(r.ack, &out);
	if (nic)
		*nic = n;
	if (ctl)
		x12_ack_counters(r.ack, &ctl[0], &ctl[1], &ctl[2]);
	x12_ack_free(r.ack);
	if (n < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_release(&out, NULL);
}

static char *
ack(const char *input, enum x12_ack_kind kind)
{
	return ack_with(input, kind, NULL, s850, NULL, NULL, NULL);
}

/* -- validating an acknowledgement ------------------------------------ */

struct vrun {
	int		 nerr;
	int		 nsets;
	struct diag_sink ds;
	char		 first[512];
};

static void
vdiag(void *arg, const struct diag *d)
{
	struct vrun	*v = arg;

	if (d->sev != DIAG_ERROR)
		return;
	if (v->nerr++ == 0)
		snprintf(v->first, sizeof(v->first), "%s %s%02d %.120s",
		    d->code, d->tag, d->el, d->msg);
}

static int
vset(void *arg, struct edi_set *set)
{
	struct vrun	*v = arg;
	const struct structure *st = NULL;

	if (set->env.group == NULL)
		return 0;		/* TA1 */
	v->nsets++;
	if (slice_eqs(set->doctype, "997"))
		st = s997;
	else if (slice_eqs(set->doctype, "999"))
		st = s999;
	if (st == NULL) {
		v->nerr++;
		snprintf(v->first, sizeof(v->first), "set is not a 997/999");
		return 0;
	}
	edi_tree_build(set, structure_select(st, set->version, NULL), &v->ds);
	return 0;
}

/* Parse a back; the number of errors (envelope and 997/999 structure). */
static int
verrors(const char *a, struct vrun *v)
{
	struct edi_handler h = { 0 };

	memset(v, 0, sizeof(*v));
	v->ds.emit = vdiag;
	v->ds.arg = v;
	memset(&h, 0, sizeof(h));
	h.set = vset;
	h.diags = &v->ds;
	translator_x12.parse(slice_cstr(a), "ack", &h, v);
	return v->nerr;
}

/* The acknowledgement parses without error and validates as a 997/999. */
static void
valid(const char *a, const char *name)
{
	struct vrun	 v;

	if (a == NULL || *a == '\0') {
		ok(0, "%s: valid X12 (no output)", name);
		return;
	}
	if (!ok(verrors(a, &v) == 0, "%s: the acknowledgement is valid X12",
	    name))
		printf("#   %s\n#   %s\n", v.first, a);
}

static void
has(const char *a, const char *want, const char *name)
{
	if (!ok(a != NULL && strstr(a, want) != NULL, "%s", name))
		printf("#   want: %s\n#   in:   %s\n", want, a ? a : "(null)");
}

static void
hasnt(const char *a, const char *want, const char *name)
{
	if (!ok(a != NULL && strstr(a, want) == NULL, "%s", name))
		printf("#   unwanted: %s\n#   in:   %s\n", want,
		    a ? a : "(null)");
}

/* The segments from AK1 up to the SE. */
static void
is_body(const char *a, const char *want, const char *name)
{
	const char *p, *q;
	char	 got[2048];

	got[0] = '\0';
	if (a && (p = strstr(a, "AK1")) != NULL &&
	    (q = strstr(p, "SE*")) != NULL)
		snprintf(got, sizeof(got), "%.*s", (int)(q - p), p);
	is_str(got, want, "%s", name);
}

static int
count(const char *a, const char *s)
{
	int	 n = 0;

	while (a && (a = strstr(a, s)) != NULL) {
		n++;
		a += strlen(s);
	}
	return n;
}

/* -- inputs ------------------------------------------------------------- */

#define ISA(v, ctl, ack)						\
	"ISA*00*          *00*          *ZZ*ACME           "		\
	"*ZZ*EDIGATE        *240101*1200*" v "*" ctl "*" ack "*P*>~"
#define ISA4	ISA("U*00401", "000000101", "0")
#define ISA5	ISA("^*00501", "000000101", "0")
#define GS4(ctl) "GS*PO*ACMEAPP*EDIGATEAPP*20240101*1200*" ctl "*X*004010~"
#define GS5(ctl) "GS*PO*ACMEAPP*EDIGATEAPP*20240101*1200*" ctl "*X*005010~"
#define GOOD(c)	"ST*850*" c "~BEG*00*SA*PO-1**20240101~N1*ST*WH~"	\
		"PO1*1*2*EA*9.5~CTT*1~SE*6*" c "~"
#define NOBEG05(c) "ST*850*" c "~BEG*00*SA*PO-2~PO1*1*2*EA*9.5~SE*4*" c "~"
#define IEA	"IEA*1*000000101~"

static void
test_valid_850(void)
{
	char	*a = ack(ISA4 GS4("7") GOOD("0001") "GE*1*7~" IEA,
	    X12_ACK_997);

	is_body(a, "AK1*PO*7~AK2*850*0001~AK5*A~AK9*A*1*1*1~",
	    "valid 850: AK5 A, AK9 A 1 1 1");
	has(a, "ISA*00*          *00*          *ZZ*EDIGATE        "
	    "*ZZ*ACME           *240305*0708*U*00401*000000001*0*P*>~",
	    "ISA: ids swapped and padded, time from opts, ISA11/12 kept");
	has(a, "~GS*FA*EDIGATEAPP*ACMEAPP*20240305*0708*1*X*004010~"
	    "ST*997*0001~", "GS: FA, GS02/GS03 swapped, GS08 = inbound");
	has(a, "~SE*6*0001~GE*1*1~IEA*1*000000001~", "SE01, GE01, IEA01");
	hasnt(a, "TA1", "no TA1 when ISA14 = 0 and no envelope error");
	valid(a, "valid 850");
	free(a);

	{
		struct vrun v;

		ok(verrors(ISA4 "GS*FA*A*B*20240101*1200*1*X*004010~"
		    "ST*997*0001~AK1*PO*7~AK9*A*1*1*1~SE*9*0001~GE*1*1~" IEA,
		    &v) > 0 && verrors(ISA4 "GS*FA*A*B*20240101*1200*1*X*"
		    "004010~ST*997*0001~AK1*PO*7~AK2*850*1~AK5*Q~AK9*A*1*1*1~"
		    "SE*6*0001~GE*1*1~" IEA, &v) > 0,
		    "the check notices a wrong SE01 and a bad AK5");
	}
}

static void
test_set_errors(void)
{
	char	*a;

	a = ack(ISA4 GS4("7") "ST*850*0001~BEG*00*SA*PO-1**20240101~"
	    "PO1*1*2*EA*9.5~SE*9*0001~GE*1*7~" IEA, X12_ACK_997);
	has(a, "~AK2*850*0001~AK5*R*4~AK9*R*1*1*0~",
	    "SE count error: AK5 R 4, AK9 R");
	valid(a, "SE count");
	free(a);

	a = ack(ISA4 GS4("7") NOBEG05("0001") "GE*1*7~" IEA, X12_ACK_997);
	is_body(a, "AK1*PO*7~AK2*850*0001~AK3*BEG*2**8~AK4*5**1~AK5*R*5~"
	    "AK9*R*1*1*0~", "missing mandatory element: AK3 8, AK4 1, AK5 R 5");
	valid(a, "missing element");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") NOBEG05("0002") "GE*2*7~" IEA,
	    X12_ACK_997);
	has(a, "~AK2*850*0001~AK5*A~AK2*850*0002~AK3*BEG*2**8~AK4*5**1~"
	    "AK5*R*5~AK9*P*2*2*1~", "one good, one bad set: AK9 P 2 2 1");
	valid(a, "partial");
	free(a);

	/* bad code, bad date, a component in a simple element, long value */
	a = ack(ISA4 GS4("7") "ST*850*0001~BEG*09*SA*PO-1**20241341~"
	    "REF*ZZ>X*1~PO1*1*2*EA*9.5~SE*5*0001~GE*1*7~" IEA, X12_ACK_997);
	has(a, "~AK3*BEG*2**8~AK4*1**7*09~AK4*5**8*20241341~"
	    "AK3*REF*3**8~AK4*1>2**6*X~AK5*R*5~",
	    "element codes 7, 8, and 13 as 6 before 004020, with bad data");
	valid(a, "element errors");
	free(a);

	/* warning only: an undeclared segment */
	a = ack(ISA4 GS4("7") "ST*850*0001~BEG*00*SA*PO-1**20240101~"
	    "ZZZ*1~PO1*1*2*EA*9.5~SE*5*0001~GE*1*7~" IEA, X12_ACK_997);
	has(a, "~AK3*ZZZ*3**1~AK5*E*5~AK9*E*1*1*1~",
	    "warning with an AK304 code: AK5 E, AK9 E");
	valid(a, "accepted with errors");
	free(a);

	/* no map applies: not supported */
	a = ack_with(ISA4 "GS*IN*ACMEAPP*EDIGATEAPP*20240101*1200*7*X*004010~"
	    "ST*810*0001~BIG*20240101*1~SE*3*0001~GE*1*7~" IEA, X12_ACK_997,
	    NULL, s850, NULL, NULL, NULL);
	has(a, "~AK1*IN*7~AK2*810*0001~AK5*R*1~AK9*R*1*1*0~",
	    "no map: AK5 R 1 (not supported)");
	valid(a, "not supported");
	free(a);
}

static void
test_group_errors(void)
{
	char	*a;

	a = ack(ISA4 GS4("7") GOOD("0001") "GE*1*8~" IEA, X12_ACK_997);
	has(a, "~AK2*850*0001~AK5*A~AK9*R*1*1*0*4~",
	    "GE control mismatch: AK9 R, AK905 4, none accepted");
	valid(a, "GE control");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") "GE*3*7~" IEA, X12_ACK_997);
	has(a, "~AK9*R*1*1*0*5~", "GE count mismatch: AK905 5");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") IEA, X12_ACK_997);
	has(a, "~AK9*R*1*1*0*3~", "GE missing: AK905 3");
	valid(a, "GE missing");
	free(a);

	/* an acknowledgement group is never acknowledged */
	a = ack(ISA4 "GS*FA*ACMEAPP*EDIGATEAPP*20240101*1200*7*X*004010~"
	    "ST*997*0001~AK1*PO*1~AK9*A*1*1*1~SE*4*0001~GE*1*7~" IEA,
	    X12_ACK_997);
	is_str(a, "", "an FA group gets no 997");
	free(a);

	/* GS06 unusable: no 997 can name it, TA1 E 024 instead */
	a = ack(ISA4 "GS*PO*ACMEAPP*EDIGATEAPP*20240101*1200*X7*X*004010~"
	    GOOD("0001") "GE*1*X7~" IEA, X12_ACK_997);
	has(a, "~TA1*000000101*240101*1200*E*024~IEA*0*000000001~",
	    "unusable GS06: TA1 E 024, no FA group");
	valid(a, "unusable GS");
	free(a);
}

static void
test_ta1(void)
{
	char	*a;
	int	 n;

	a = ack(ISA("U*00401", "000000101", "1") GS4("7") GOOD("0001")
	    "GE*1*7~" IEA, X12_ACK_997);
	has(a, "*0*P*>~TA1*000000101*240101*1200*A*000~GS*FA*",
	    "ISA14 = 1: TA1 A 000 right after the ISA");
	has(a, "~AK9*A*1*1*1~", "and the 997");
	valid(a, "TA1 + 997");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") "GE*1*7~IEA*1*000000102~",
	    X12_ACK_997);
	has(a, "~TA1*000000101*240101*1200*R*001~IEA*0*000000001~",
	    "IEA control mismatch: TA1 R 001 and no 997 (rejected whole)");
	valid(a, "TA1 R");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") "GE*1*7~IEA*2*000000101~",
	    X12_ACK_997);
	has(a, "~TA1*000000101*240101*1200*R*021~", "IEA count: TA1 R 021");
	free(a);

	a = ack(ISA4 GS4("7") GOOD("0001") "GE*1*7~", X12_ACK_997);
	has(a, "~TA1*000000101*240101*1200*R*023~", "IEA missing: TA1 R 023");
	free(a);

	a = ack_with(ISA4 GS4("7") GOOD("0001") "GE*1*7~" IEA, X12_ACK_NONE,
	    NULL, s850, NULL, &n, NULL);
	ok(a && *a == '\0' && n == 0, "ack none, nothing due: no output");
	free(a);
	a = ack_with(ISA("U*00401", "000000101", "1") GS4("7") GOOD("0001")
	    "GE*1*7~" IEA, X12_ACK_NONE, NULL, s850, NULL, &n, NULL);
	has(a, "~TA1*000000101*240101*1200*A*000~IEA*0*000000001~",
	    "ack none, ISA14 = 1: the TA1 alone");
	is_int(n, 1, "one interchange written");
	valid(a, "TA1 only");
	free(a);

	/* a duplicate ISA13 is a warning: TA1 E 025, the 997 too */
	a = ack_with(ISA4 GS4("7") GOOD("0001") "GE*1*7~" IEA
	    ISA4 GS4("8") GOOD("0001") "GE*1*8~" IEA, X12_ACK_997, NULL, s850,
	    NULL, &n, NULL);
	is_int(n, 2, "two inbound interchanges, two acknowledgements");
	has(a, "*000000002*0*P*>~TA1*000000101*240101*1200*E*025~GS*FA*",
	    "duplicate ISA13: TA1 E 025 in the second");
	has(a, "*20240305*0708*2*X*004010~ST*997*0002~AK1*PO*8~",
	    "control numbers run on across interchanges");
	valid(a, "two interchanges");
	free(a);
}

static void
test_999(void)
{
	struct diag d;
	char	*a;

	a = ack(ISA5 GS5("7") GOOD("0001") "GE*1*7~" IEA, X12_ACK_999);
	has(a, "*ZZ*ACME           *240305*0708*^*00501*000000001*0*P*>~"
	    "GS*FA*EDIGATEAPP*ACMEAPP*20240305*0708*1*X*005010X231~"
	    "ST*999*0001*005010X231~", "005010 + 999: ST03/GS08 005010X231");
	is_body(a, "AK1*PO*7*005010~AK2*850*0001~IK5*A~AK9*A*1*1*1~",
	    "999: AK103, IK5 A");
	valid(a, "999");
	free(a);

	a = ack(ISA5 GS5("7") "ST*850*0001*X1~BEG*00*SA*PO-1**20240101~"
	    "REF*ZZ>X*1~PO1*1*2*EA*9.5~SE*5*0001~GE*1*7~" IEA, X12_ACK_999);
	is_body(a, "AK1*PO*7*005010~AK2*850*0001*X1~IK3*REF*3**8~"
	    "IK4*1>2**13*X~IK5*R*5~AK9*R*1*1*0~",
	    "999: IK3/IK4 (13 kept from 004020), AK203 = ST03");
	valid(a, "999 errors");
	free(a);

	/* implementation codes: I6 in a 999, 7 in a 997 */
	diag_init(&d, DIAG_ERROR, "TEST-I6");
	d.scope = DIAG_SCOPE_SET;
	d.setpos = 2;
	snprintf(d.tag, sizeof(d.tag), "BEG");
	d.el = 2;
	d.rep = 3;
	d.ack_seg = 8;
	d.ack_el = X12_ACK_ICODE(6);
	snprintf(d.badvalue, sizeof(d.badvalue), "S*A~B%cC", '\x01');
	a = ack_with(ISA5 GS5("7") GOOD("0001") "GE*1*7~" IEA, X12_ACK_999,
	    NULL, s850, &d, NULL, NULL);
	has(a, "~IK3*BEG*2**8~IK4*2>>3**I6*SABC~IK5*R*5~",
	    "IK403 I6, IK401 with repetition, delimiters left out of IK404");
	valid(a, "999 I-codes");
	free(a);
	a = ack_with(ISA4 GS4("7") GOOD("0001") "GE*1*7~" IEA, X12_ACK_999,
	    NULL, s850, &d, NULL, NULL);
	has(a, "~ST*997*0001~", "004010 inbound with kind 999: a 997");
	has(a, "~AK3*BEG*2**8~AK4*2**7*SABC~AK5*R*5~",
	    "997: I6 as 7, no repetition before 005010");
	valid(a, "997 for 999 partner");
	free(a);

	/* 005010 with a 997: HIPAA-style versions become the 997's guide */
	a = ack(ISA5 "GS*HC*ACMEAPP*EDIGATEAPP*20240101*1200*7*X*005010X222A1~"
	    "ST*837*0001*005010X222A1~BHT*1~SE*3*0001~GE*1*7~" IEA,
	    X12_ACK_997);
	has(a, "*X*005010X230~ST*997*0001*005010X230~AK1*HC*7*005010X222A1~"
	    "AK2*837*0001*005010X222A1~AK5*R*1~",
	    "005010X222A1 + 997: 005010X230, AK103/AK203 echo the inbound");
	valid(a, "5010 997");
	free(a);
}

static void
test_delimiters_and_ids(void)
{
	char	*a;
	unsigned long ctl[3];

	a = ack_with("ISA|00|          |00|          |ZZ|ACME           "
	    "|ZZ|EDIGATE        |240101|1200|U|00401|000000101|0|P|^!"
	    "GS|PO|ACMEAPP|EDIGATEAPP|20240101|1200|7|X|004010!"
	    "ST|850|0001!BEG|00|SA|PO-1||20240101!PO1|1|2|EA|9.5!SE|4|0001!"
	    "GE|1|7!IEA|1|000000101!", X12_ACK_997, "01:123456789", s850,
	    NULL, NULL, ctl);
	has(a, "ISA|00|          |00|          |01|123456789      |ZZ|ACME"
	    "           |240305|0708|U|00401|000000001|0|P|^!GS|FA|",
	    "'|' and '!' delimiters kept; our id from the configuration");
	has(a, "!AK9|A|1|1|1!SE|6|0001!GE|1|1!IEA|1|000000001!",
	    "'!' terminated throughout");
	is_int(ctl[0], 2, "next ISA13");
	is_int(ctl[1], 2, "next GS06");
	is_int(ctl[2], 2, "next ST02");
	valid(a, "other delimiters");
	free(a);

	/* newline terminator; two groups of different versions */
	a = ack("ISA*00*          *00*          *ZZ*ACME           *ZZ*EDIGATE"
	    "        *240101*1200*U*00401*000000101*0*P*>\n"
	    "GS*PO*ACMEAPP*EDIGATEAPP*20240101*1200*7*X*004010\n"
	    "ST*850*0001\nBEG*00*SA*PO-1**20240101\nPO1*1*2*EA*9.5\n"
	    "SE*4*0001\nGE*1*7\n"
	    "GS*PO*ACMEAPP*EDIGATEAPP*240101*1200*8*X*003010\n"
	    "ST*850*0001\nBEG*00*SA*PO-1**20240101\nPO1*1*2*EA*9.5\n"
	    "SE*4*0001\nGE*1*8\nIEA*2*000000101\n", X12_ACK_997);
	has(a, "\nGS*FA*EDIGATEAPP*ACMEAPP*20240305*0708*1*X*004010\n",
	    "newline terminator kept");
	has(a, "\nGS*FA*EDIGATEAPP*ACMEAPP*240305*0708*2*X*003010\n"
	    "ST*997*0002\nAK1*PO*8\n",
	    "a second FA group for 003010, with a 6-digit GS04");
	has(a, "\nGE*1*2\nIEA*2*000000001\n", "IEA01 counts FA groups");
	valid(a, "newline, two versions");
	free(a);
}

static void
test_limits(void)
{
	struct buf in;
	char	*a;
	int	 i;

	buf_init(&in, 1 << 24);
	buf_adds(&in, ISA4 GS4("7") "ST*850*0001~BEG*00*SA*PO-1**20240101~");
	for (i = 0; i < 3000; i++)
		buf_adds(&in, "PO1*1*X*EA*9.5~");
	buf_printf(&in, "SE*%d*0001~GE*1*7~" IEA, 3003);
	a = ack(in.p, X12_ACK_997);
	ok(a != NULL, "3000 segments in error: no crash");
	ok(count(a, "~AK3*") <= X12_ACK_MAX_AK3 && count(a, "~AK3*") > 900,
	    "AK3 loops capped at %d (got %d)", X12_ACK_MAX_AK3,
	    count(a, "~AK3*"));
	has(a, "~AK5*R*5~AK9*R*1*1*0~", "still AK5 R");
	valid(a, "capped");
	free(a);
	buf_free(&in);

	a = ack("not x12 at all", X12_ACK_997);
	ok(a != NULL && *a == '\0', "not X12: nothing");
	free(a);
	a = ack(ISA4 GS4("7") "ST*850*0001~BEG", X12_ACK_997);
	ok(a != NULL, "truncated input: no crash");
	free(a);
}

static struct structure *
load(const char *top, const char *rel)
{
	struct structure *st = NULL;
	char	 path[1200], err[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (structure_load(path, &st, err, sizeof(err)) != 0)
		printf("# %s\n", err);
	return st;
}

int
main(void)
{
	const char *top = getenv("top_srcdir");

	if (top == NULL)
		top = ".";
	s850 = load(top, "tests/data/ack/a850.struct");
	s997 = load(top, "maps/structures/x12-997.struct");
	s999 = load(top, "maps/structures/x12-999.struct");
	if (!ok(s850 && s997 && s999, "structures load"))
		return done_testing();
	test_valid_850();
	test_set_errors();
	test_group_errors();
	test_ta1();
	test_999();
	test_delimiters_and_ids();
	test_limits();
	structure_free(s850);
	structure_free(s997);
	structure_free(s999);
	return done_testing();
}
