/*
 * x12_ack.c: the acknowledgements edigate returns for X12 input: TA1, 997
 * and 999 (x12_ack.h).  It owns one collector per input: what it was told
 * about each set, group and interchange, and the acknowledgement bytes
 * built from it.  Pure: no I/O, no clock (the time is given), no global
 * state; partner data never reaches an abort.
 *
 * The parser and the tree validator emit diagnostics in input order, so
 * every diagnostic belongs to the next x12_ack_set (SET scope), the group
 * that ends next (GROUP scope) or the interchange that ends next
 * (INTERCHANGE scope).  A set's AK2 loop is written when the set ends; the
 * whole outbound interchange when the inbound one ends, so memory is the
 * size of the output, not of the input.
 *
 * Decisions (docs/diagnostics.md has the code tables):
 *
 *  - AK5/IK5 R: any error diagnostic of the set (envelope: X12-ST-*,
 *    X12-SE-*, X12-SET-LIMIT give AK502 from diag.ack_seg; segment and
 *    element errors give AK3/AK4 and AK502 5), or no map applies to the
 *    set (x12_ack_set without a tree: AK502 1, the set is not supported:
 *    it produces no event, so "accepted" would lose it).  E: no error, but
 *    warnings that carry an AK304/AK403 code (SEG-UNEXPECTED, ELEM-REPEAT
 *    on a data-like separator): itemised, AK502 5.  Else A.  Warnings
 *    without acknowledgement codes (X12-GS-ID, HL-COUNT) change nothing.
 *  - AK9: R when the group's envelope is in error (GE count, control,
 *    missing; AK905 from diag.ack_seg; AK904 is then 0 because none of
 *    its sets becomes visible), or when no set was accepted; P when some
 *    were; E when all were and some with E; A otherwise.  AK902 is the
 *    count of sets received (GE01 when the parser hands it over in the
 *    X12-GE-COUNT badvalue).
 *  - TA1 when ISA14 = 1, when the interchange has an envelope error (TA104
 *    R, TA105 from the first error's diag.ack_ta1, else 024) or a
 *    warning with a TA105 code (TA104 E, e.g. 025 duplicate ISA13), or a
 *    group whose GS cannot be acknowledged (GS01 or GS06 unusable for
 *    AK1: TA104 E, 024).  Blank GS02/GS03 are replaced by the ISA ids,
 *    a blank GS08 by the ISA12 version.  A rejected interchange gets the
 *    TA1 only: none of its sets becomes visible, the partner resends it
 *    whole.
 *  - Groups of acknowledgements (GS01 FA: 997, 999, TA1) are never
 *    acknowledged.  One outbound interchange per inbound interchange, one
 *    FA group per outbound version and GS02/GS03 pair (normally one), one
 *    997/999 per inbound group.  999 only for GS08 >= 005010, with
 *    005010X231 in GS08 and ST03 for 005010; a 997 for an 005010 HIPAA
 *    group (GS08 005010Xnnn) is versioned 005010X230.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "slice.h"
#include "x12_ack.h"
#include "segw.h"
#include "xmalloc.h"

#define MAXCODES	5		/* AK502..AK506, AK905..AK909 */
#define CTL_MAX		999999999UL	/* ISA13, GS06, ST02: 9 digits */
#define COUNT_MAX	999999UL	/* AK902..AK904: N0 1/6 */

struct ack_err {
	uint32_t	 setpos;
	uint32_t	 seq;		/* emission order: a stable sort */
	char		 tag[4];
	char		 loop[8];
	int		 segcode;	/* AK304 */
	int		 el, comp, rep;
	int		 elcode;	/* AK403; 0: no AK4 */
	int		 error;		/* else a warning (AK5 E) */
	char		 bad[100];
};

struct codes {
	int		 v[MAXCODES];
	int		 n;
};

struct ack_group {
	char		 gs01[16], gs02[16], gs03[16], gs06[16], gs08[16];
	char		 outver[16];	/* GS08 of the acknowledgement */
	int		 is999;
	int		 v5010;		/* AK103, AK203, ST03, C03003 */
	int		 v4020;		/* AK403 12 and 13 exist */
	int		 filled, ended, ok, emitted;
	int		 skip;		/* no 997 for it */
	struct codes	 ak9;
	unsigned long	 recv, acc, nwarn;
	long		 ge01;		/* -1: unknown */
	struct buf	 body;		/* the AK2 loops */
	unsigned long	 nseg;
};

struct ack_ic {
	int		 filled;
	struct edi_delims d;
	char		 isa05[3], isa06[16], isa07[3], isa08[16];
	char		 isa09[7], isa10[5], isa12[6], isa13[10];
	char		 isa11, isa14, isa15;
	char		 ta1err[4], ta1warn[4];
	int		 has_err, has_warn, force_ta1;
	struct ack_group **grp;
	size_t		 ngrp, grpcap;
};

struct x12_ack {
	struct x12_ack_opts o;
	char		 ourq[3], ourid[16];
	int		 have_our;
	struct ack_ic	*ic;		/* the open inbound interchange */
	/* the set being collected */
	struct ack_err	*err;
	size_t		 nerr, errcap;
	uint32_t	 seq;
	struct codes	 setcodes;	/* AK502 from envelope checks */
	int		 set_error;
	/* output */
	struct buf	 out;
	int		 nout;
	int		 rc;
	unsigned long	 isa, gs, st;
};

/* -- small helpers ------------------------------------------------------ */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

#define TRIM_LEAD	0x1
#define TRIM_TRAIL	0x2

/*
 * s without control bytes, bytes outside ASCII and the delimiters of d (an
 * X12 element cannot carry them; there is no escape), at most len - 1
 * bytes, NUL-terminated; spaces trimmed as asked.
 */
static void
clean(char *dst, size_t len, struct slice s, const struct edi_delims *d,
    int trim)
{
	size_t	 i, n = 0;
	int	 c;

	for (i = 0; i < s.len && n + 1 < len; i++) {
		c = (unsigned char)s.p[i];
		if (c < 0x20 || c >= 0x7f || segw_is_delim(d, c))
			continue;
		if ((trim & TRIM_LEAD) && n == 0 && c == ' ')
			continue;
		dst[n++] = (char)c;
	}
	while ((trim & TRIM_TRAIL) && n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static void
clean_str(char *dst, size_t len, const char *s, const struct edi_delims *d,
    int trim)
{
	clean(dst, len, slice_cstr(s), d, trim);
}

/* Element el of an envelope segment as written (components included). */
static struct slice
el_raw(const struct edi_seg *s, char es, int el)
{
	const char *p, *e, *q;
	int	 k = 0;

	if (s == NULL || s->raw.p == NULL)
		return slice_make("", 0);
	p = s->raw.p;
	e = p + s->raw.len;
	while (p < e && *p != es)
		p++;
	while (p < e) {
		p++;
		k++;
		if ((q = memchr(p, es, (size_t)(e - p))) == NULL)
			q = e;
		if (k == el)
			return slice_make(p, (size_t)(q - p));
		p = q;
	}
	return slice_make("", 0);
}

static int
all_digits(struct slice s, size_t min, size_t max)
{
	size_t	 i;

	if (s.len < min || s.len > max)
		return 0;
	for (i = 0; i < s.len; i++)
		if (!is_digit((unsigned char)s.p[i]))
			return 0;
	return 1;
}

static int
digits6(const char *v)
{
	int	 i;

	for (i = 0; i < 6; i++)
		if (!is_digit((unsigned char)v[i]))
			return 0;
	return 1;
}

/* v (a GS08) is version ref (6 digits) or later. */
static int
ver_ge(const char *v, const char *ref)
{
	return digits6(v) && strncmp(v, ref, 6) >= 0;
}

static void
codes_add(struct codes *k, int v)
{
	int	 i;

	if (v <= 0 || k->n >= MAXCODES)
		return;
	for (i = 0; i < k->n; i++)
		if (k->v[i] == v)
			return;
	k->v[k->n++] = v;
}

static void
set_rc(struct x12_ack *c, int r)
{
	if (r < 0 && c->rc == 0)
		c->rc = r;
}

/* Next control number: 1..999999999, wrapping. */
static unsigned long
ctl_next(unsigned long *v)
{
	unsigned long r = *v;

	if (r == 0 || r > CTL_MAX)
		r = 1;
	*v = r >= CTL_MAX ? 1 : r + 1;
	return r;
}

/* -- acknowledgement codes ---------------------------------------------- */

/* AK304 / IK304 (720 / 620). */
static void
segcode_str(int v, int is999, char *out, size_t len)
{
	if (v >= X12_ACK_ICODE(0)) {
		if (is999) {
			snprintf(out, len, "I%d", v - X12_ACK_ICODE(0));
			return;
		}
		/* I4, I9 "Not Used" present: unexpected; I6..I8: missing */
		v = (v == X12_ACK_ICODE(4) || v == X12_ACK_ICODE(9)) ? 2 : 3;
	}
	snprintf(out, len, "%d", v);
}

/* AK403 / IK403 (723 / 621). */
static void
elcode_str(int v, int is999, int v4020, char *out, size_t len)
{
	if (v >= X12_ACK_ICODE(0)) {
		if (is999) {
			snprintf(out, len, "I%d", v - X12_ACK_ICODE(0));
			return;
		}
		switch (v - X12_ACK_ICODE(0)) {
		case 9:		/* implementation dependent element missing */
			v = 2;
			break;
		case 10:	/* "Not Used" element present */
		case 13:
			v = 3;
			break;
		case 11:	/* too few repetitions */
			v = 1;
			break;
		case 12:	/* pattern match failure */
			v = 6;
			break;
		default:	/* I6 code value not used */
			v = 7;
			break;
		}
	}
	/* Too many repetitions / components: before 004020, the separator
	 * is simply an invalid character in the element. */
	if (!v4020 && (v == 12 || v == 13))
		v = 6;
	snprintf(out, len, "%d", v);
}

/* AK502 / IK502 (718). */
static void
setcode_str(int v, int is999, char *out, size_t len)
{
	if (v >= X12_ACK_ICODE(0)) {
		if (is999) {
			snprintf(out, len, "I%d", v - X12_ACK_ICODE(0));
			return;
		}
		v = v == X12_ACK_ICODE(6) ? 1 : 5;
	}
	snprintf(out, len, "%d", v);
}

/* -- element writers (segments: segw.c) -------------------------------- */

/* A simple element: delimiters and control bytes left out. */
static void
seg_el(struct segw *w, const char *s)
{
	char	 t[128];

	clean_str(t, sizeof(t), s ? s : "", w->d, 0);
	segw_raw(w, t);
}

/* A fixed-width ISA field: cut or space padded to width. */
static void
seg_fixed(struct segw *w, const char *s, int width)
{
	char	 t[32];

	/* never empty: every ISA field is written, padded */
	snprintf(t, sizeof(t), "%-*.*s", width, width, s);
	segw_raw(w, t);
}

/* -- collector state ---------------------------------------------------- */

static struct ack_ic *
cur_ic(struct x12_ack *c)
{
	if (c->ic == NULL)
		c->ic = xcalloc(1, sizeof(*c->ic));
	return c->ic;
}

static struct ack_group *
cur_group(struct ack_ic *ic)
{
	struct ack_group *g;

	if (ic->ngrp > 0 && !ic->grp[ic->ngrp - 1]->ended)
		return ic->grp[ic->ngrp - 1];
	if (ic->ngrp == ic->grpcap) {
		ic->grpcap = ic->grpcap ? ic->grpcap * 2 : 4;
		ic->grp = xreallocarray(ic->grp, ic->grpcap, sizeof(*ic->grp));
	}
	g = xcalloc(1, sizeof(*g));
	g->ge01 = -1;
	g->ok = 1;
	buf_init(&g->body, EG_MAX_DOC_SIZE);
	ic->grp[ic->ngrp++] = g;
	return g;
}

static void
ic_free(struct ack_ic *ic)
{
	size_t	 i;

	if (ic == NULL)
		return;
	for (i = 0; i < ic->ngrp; i++) {
		buf_free(&ic->grp[i]->body);
		free(ic->grp[i]);
	}
	free(ic->grp);
	free(ic);
}

static void
ic_fill(struct ack_ic *ic, const struct edi_env *env)
{
	const struct edi_seg *isa = env->interchange;
	struct slice v;
	char	 es;

	if (ic->filled || isa == NULL)
		return;
	ic->filled = 1;
	ic->d = env->delims;
	es = ic->d.element;
	clean(ic->isa05, sizeof(ic->isa05), el_raw(isa, es, 5), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa06, sizeof(ic->isa06), el_raw(isa, es, 6), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa07, sizeof(ic->isa07), el_raw(isa, es, 7), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa08, sizeof(ic->isa08), el_raw(isa, es, 8), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa09, sizeof(ic->isa09), el_raw(isa, es, 9), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa10, sizeof(ic->isa10), el_raw(isa, es, 10), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(ic->isa13, sizeof(ic->isa13), el_raw(isa, es, 13), &ic->d,
	    TRIM_LEAD | TRIM_TRAIL);
	v = el_raw(isa, es, 12);
	if (all_digits(v, 5, 5))
		memcpy(ic->isa12, v.p, 5);
	else
		memcpy(ic->isa12, "00401", 5);
	ic->isa12[5] = '\0';
	/* ISA11: the repetition separator from 00402 on, else 'U'. */
	v = el_raw(isa, es, 11);
	ic->isa11 = 'U';
	if (v.len == 1 && v.p[0] > 0x20 && v.p[0] < 0x7f &&
	    v.p[0] != ic->d.element && v.p[0] != ic->d.segment &&
	    v.p[0] != ic->d.component)
		ic->isa11 = v.p[0];
	v = el_raw(isa, es, 14);
	ic->isa14 = v.len == 1 ? v.p[0] : '0';
	v = el_raw(isa, es, 15);
	ic->isa15 = (v.len == 1 && (v.p[0] == 'P' || v.p[0] == 'T' ||
	    v.p[0] == 'I')) ? v.p[0] : 'P';
}

static void
grp_fill(struct x12_ack *c, struct ack_ic *ic, struct ack_group *g,
    const struct edi_seg *gs)
{
	const struct edi_delims *d = &ic->d;
	struct slice gs01, gs06;
	char	 es = d->element;
	int	 fa, unusable;

	if (g->filled || gs == NULL)
		return;
	g->filled = 1;
	gs01 = el_raw(gs, es, 1);
	gs06 = el_raw(gs, es, 6);
	clean(g->gs01, sizeof(g->gs01), gs01, d, TRIM_LEAD | TRIM_TRAIL);
	clean(g->gs02, sizeof(g->gs02), el_raw(gs, es, 2), d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(g->gs03, sizeof(g->gs03), el_raw(gs, es, 3), d,
	    TRIM_LEAD | TRIM_TRAIL);
	clean(g->gs06, sizeof(g->gs06), gs06, d, TRIM_LEAD | TRIM_TRAIL);
	clean(g->gs08, sizeof(g->gs08), el_raw(gs, es, 8), d,
	    TRIM_LEAD | TRIM_TRAIL);
	g->gs08[12] = '\0';		/* AK103 AN 1/12 */

	fa = strcmp(g->gs01, "FA") == 0;
	unusable = gs01.len != 2 || !is_alnum((unsigned char)gs01.p[0]) ||
	    !is_alnum((unsigned char)gs01.p[1]) || !all_digits(gs06, 1, 9);
	g->skip = fa || unusable || c->o.kind == X12_ACK_NONE;
	if (unusable && !fa)
		ic->force_ta1 = 1;

	g->is999 = c->o.kind == X12_ACK_999 && ver_ge(g->gs08, "005010");
	if (g->is999 && strncmp(g->gs08, "005010", 6) == 0)
		snprintf(g->outver, sizeof(g->outver), "005010X231");
	else if (g->is999)
		snprintf(g->outver, sizeof(g->outver), "%.6s", g->gs08);
	else if (digits6(g->gs08) && g->gs08[6] == 'X') {
		/* the inbound implementation guide is not the 997's */
		if (strncmp(g->gs08, "005010", 6) == 0)
			snprintf(g->outver, sizeof(g->outver), "005010X230");
		else
			snprintf(g->outver, sizeof(g->outver), "%.6s",
			    g->gs08);
	} else if (g->gs08[0] != '\0')
		snprintf(g->outver, sizeof(g->outver), "%s", g->gs08);
	else		/* no GS08: the ISA12 version, 00401 -> 004010 */
		snprintf(g->outver, sizeof(g->outver), "%.5s0", ic->isa12);
	g->v5010 = ver_ge(g->outver, "005010");
	g->v4020 = ver_ge(g->outver, "004020");
}

/* -- diagnostics -------------------------------------------------------- */

static int
envelope_set_code(const char *code)
{
	return strncmp(code, "X12-ST-", 7) == 0 ||
	    strncmp(code, "X12-SE-", 7) == 0 ||
	    strcmp(code, "X12-SET-LIMIT") == 0;
}

static void
set_clear(struct x12_ack *c)
{
	c->nerr = 0;
	c->seq = 0;
	memset(&c->setcodes, 0, sizeof(c->setcodes));
	c->set_error = 0;
}

static void
set_diag(struct x12_ack *c, const struct diag *d)
{
	struct ack_err *e;
	int	 err = d->sev == DIAG_ERROR;

	if (envelope_set_code(d->code)) {
		if (err) {
			c->set_error = 1;
			codes_add(&c->setcodes, d->ack_seg);
		}
		return;
	}
	if (err)
		c->set_error = 1;
	/* Only what names a segment can become an AK3. */
	if ((d->ack_seg == 0 && d->ack_el == 0) || d->setpos == 0 ||
	    d->tag[0] == '\0' || c->nerr >= X12_ACK_MAX_ERRS)
		return;
	if (c->nerr == c->errcap) {
		c->errcap = c->errcap ? c->errcap * 2 : 16;
		c->err = xreallocarray(c->err, c->errcap, sizeof(*c->err));
	}
	e = &c->err[c->nerr++];
	memset(e, 0, sizeof(*e));
	e->setpos = d->setpos;
	e->seq = c->seq++;
	snprintf(e->tag, sizeof(e->tag), "%.3s", d->tag);
	snprintf(e->loop, sizeof(e->loop), "%.6s", d->loop);
	e->segcode = d->ack_seg;
	e->el = d->el;
	e->comp = d->comp;
	e->rep = d->rep;
	e->elcode = d->ack_el;
	e->error = err;
	snprintf(e->bad, sizeof(e->bad), "%s", d->badvalue);
}

void
x12_ack_diag(struct x12_ack *c, const struct diag *d)
{
	struct ack_ic	*ic;
	struct ack_group *g;
	struct slice	 v;

	if (c == NULL || d == NULL)
		return;
	/* Map diagnostics never change an acknowledgement; an unreadable
	 * ISA has nothing to answer to; FILE scope is outside interchanges. */
	if (d->scope == DIAG_SCOPE_FILE || strncmp(d->code, "MAP-", 4) == 0 ||
	    strcmp(d->code, "X12-ISA") == 0)
		return;
	ic = cur_ic(c);
	switch (d->scope) {
	case DIAG_SCOPE_INTERCHANGE:
		if (d->sev == DIAG_ERROR) {
			ic->has_err = 1;
			if (ic->ta1err[0] == '\0')
				snprintf(ic->ta1err, sizeof(ic->ta1err), "%.3s",
				    d->ack_ta1);
		} else if (d->ack_ta1[0] != '\0') {
			ic->has_warn = 1;
			if (ic->ta1warn[0] == '\0')
				snprintf(ic->ta1warn, sizeof(ic->ta1warn),
				    "%.3s", d->ack_ta1);
		}
		break;
	case DIAG_SCOPE_GROUP:
		if (d->sev != DIAG_ERROR)
			break;
		g = cur_group(ic);
		codes_add(&g->ak9, d->ack_seg);
		v = slice_cstr(d->badvalue);
		if (strcmp(d->code, "X12-GE-COUNT") == 0 &&
		    all_digits(v, 1, 6))
			g->ge01 = strtol(d->badvalue, NULL, 10);
		break;
	case DIAG_SCOPE_SET:
		set_diag(c, d);
		break;
	case DIAG_SCOPE_FILE:
		break;
	}
}

/* -- one set: its AK2 loop ---------------------------------------------- */

static int
err_cmp(const void *a, const void *b)
{
	const struct ack_err *x = a, *y = b;
	int	 r;

	if (x->setpos != y->setpos)
		return x->setpos < y->setpos ? -1 : 1;
	if ((r = strcmp(x->tag, y->tag)) != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
write_ak4(struct x12_ack *c, struct ack_group *g, const struct ack_err *e,
    const struct edi_delims *d)
{
	struct segw w;
	char	 pos[48], code[16], bad[100];
	int	 withrep = g->v5010 && e->rep > 1;

	if (e->comp > 0 && withrep)
		snprintf(pos, sizeof(pos), "%d%c%d%c%d", e->el, d->component,
		    e->comp, d->component, e->rep);
	else if (withrep)
		snprintf(pos, sizeof(pos), "%d%c%c%d", e->el, d->component,
		    d->component, e->rep);
	else if (e->comp > 0)
		snprintf(pos, sizeof(pos), "%d%c%d", e->el, d->component,
		    e->comp);
	else
		snprintf(pos, sizeof(pos), "%d", e->el);
	elcode_str(e->elcode, g->is999, g->v4020, code, sizeof(code));
	clean_str(bad, sizeof(bad), e->bad, d, TRIM_TRAIL);
	segw_start(&w, &g->body, d, &c->rc, g->is999 ? "IK4" : "AK4");
	segw_raw(&w, pos);
	segw_raw(&w, "");		/* data element reference: unknown */
	segw_raw(&w, code);
	seg_el(&w, bad);
	segw_end(&w);
	g->nseg++;
}

/* AK301 is ID 2/3: a tag that is not 2-3 letters or digits is left out. */
static int
tag_ok(const char *tag)
{
	size_t	 i, n = strlen(tag);

	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)tag[i]) &&
		    !(tag[i] >= 'A' && tag[i] <= 'Z'))
			return 0;
	return n >= 2 && n <= 3;
}

static void
write_ak3s(struct x12_ack *c, struct ack_group *g,
    const struct edi_delims *d)
{
	struct segw w;
	const struct ack_err *e;
	const char *loop;
	size_t	 i, j, k, n3 = 0;
	int	 code, n4;
	char	 cs[16];

	if (c->nerr == 0)
		return;
	qsort(c->err, c->nerr, sizeof(*c->err), err_cmp);
	for (i = 0; i < c->nerr && n3 < X12_ACK_MAX_AK3; i = j, n3++) {
		for (j = i + 1; j < c->nerr && c->err[j].setpos ==
		    c->err[i].setpos && strcmp(c->err[j].tag, c->err[i].tag) ==
		    0; j++)
			;
		/* The segment's own code wins over "has element errors". */
		code = 0;
		loop = "";
		for (k = i; k < j; k++) {
			e = &c->err[k];
			if (e->segcode != 0 && e->segcode != 8 && code == 0)
				code = e->segcode;
			if (loop[0] == '\0')
				loop = e->loop;
		}
		if (code == 0)
			code = 8;
		if (!tag_ok(c->err[i].tag))
			continue;	/* an unreadable tag: AK5 R 5 only */
		segcode_str(code, g->is999, cs, sizeof(cs));
		segw_start(&w, &g->body, d, &c->rc, g->is999 ? "IK3" : "AK3");
		seg_el(&w, c->err[i].tag);
		segw_num(&w, c->err[i].setpos);
		seg_el(&w, loop);
		segw_raw(&w, cs);
		segw_end(&w);
		g->nseg++;
		for (k = i, n4 = 0; k < j && n4 < X12_ACK_MAX_AK4; k++) {
			e = &c->err[k];
			if (e->elcode == 0 || e->el <= 0)
				continue;
			write_ak4(c, g, e, d);
			n4++;
		}
	}
}

static void
set_render(struct x12_ack *c, struct ack_ic *ic, struct ack_group *g,
    const struct edi_set *set)
{
	const struct edi_delims *d = &ic->d;
	struct codes k = c->setcodes;
	struct segw w;
	char	 st01[8], st02[16], st03[40], cs[16];
	int	 supported, error, status, i;

	supported = set->root != NULL;
	error = c->set_error || set->rejected || !supported;
	if (c->nerr > 0)
		codes_add(&k, 5);
	if (!supported)
		codes_add(&k, 1);
	if (error && k.n == 0)
		codes_add(&k, 5);
	status = error ? 'R' : c->nerr > 0 ? 'E' : 'A';
	g->recv++;
	if (status != 'R') {
		g->acc++;
		if (status == 'E')
			g->nwarn++;
	}
	if (g->skip)
		return;
	clean(st01, sizeof(st01), set->doctype, d, TRIM_LEAD | TRIM_TRAIL);
	clean(st02, sizeof(st02), set->control, d, TRIM_LEAD | TRIM_TRAIL);
	st01[3] = '\0';
	st02[9] = '\0';
	if (st01[0] == '\0' || st02[0] == '\0')
		return;		/* cannot be named: counted only */
	st03[0] = '\0';
	if (g->v5010 && set->nseg > 0 && strcmp(set->seg[0].tag, "ST") == 0)
		clean(st03, sizeof(st03), el_raw(&set->seg[0], d->element, 3),
		    d, TRIM_LEAD | TRIM_TRAIL);
	st03[35] = '\0';

	segw_start(&w, &g->body, d, &c->rc, "AK2");
	segw_raw(&w, st01);
	segw_raw(&w, st02);
	segw_raw(&w, st03);
	segw_end(&w);
	g->nseg++;
	write_ak3s(c, g, d);
	segw_start(&w, &g->body, d, &c->rc, g->is999 ? "IK5" : "AK5");
	cs[0] = (char)status;
	cs[1] = '\0';
	segw_raw(&w, cs);
	for (i = 0; i < k.n; i++) {
		setcode_str(k.v[i], g->is999, cs, sizeof(cs));
		segw_raw(&w, cs);
	}
	segw_end(&w);
	g->nseg++;
}

void
x12_ack_set(struct x12_ack *c, const struct edi_set *set)
{
	struct ack_ic	*ic;
	struct ack_group *g;

	if (c == NULL || set == NULL)
		return;
	/* A TA1 pseudo-set (no group) is never acknowledged. */
	if (set->env.syntax != EDI_X12 || set->env.group == NULL) {
		set_clear(c);
		return;
	}
	ic = cur_ic(c);
	ic_fill(ic, &set->env);
	g = cur_group(ic);
	grp_fill(c, ic, g, set->env.group);
	set_render(c, ic, g, set);
	set_clear(c);
}

void
x12_ack_group_end(struct x12_ack *c, const struct edi_env *env, int ok)
{
	struct ack_ic	*ic;
	struct ack_group *g;

	if (c == NULL || env == NULL || env->syntax != EDI_X12)
		return;
	ic = cur_ic(c);
	ic_fill(ic, env);
	g = cur_group(ic);
	grp_fill(c, ic, g, env->group);
	g->ok = ok;
	g->ended = 1;
	set_clear(c);
}

/* -- one interchange ---------------------------------------------------- */

static void
write_fa_set(struct x12_ack *c, struct ack_ic *ic, struct ack_group *g,
    struct buf *b)
{
	const struct edi_delims *d = &ic->d;
	struct segw w;
	char	 ctl[16], cs[16];
	unsigned long recv, incl, acc;
	int	 status, i;

	snprintf(ctl, sizeof(ctl), "%04lu", ctl_next(&c->st));
	segw_start(&w, b, d, &c->rc, "ST");
	segw_raw(&w, g->is999 ? "999" : "997");
	segw_raw(&w, ctl);
	if (strlen(g->outver) > 6 && g->v5010)
		seg_el(&w, g->outver);
	segw_end(&w);
	segw_start(&w, b, d, &c->rc, "AK1");
	seg_el(&w, g->gs01);
	seg_el(&w, g->gs06);
	if (g->v5010)
		seg_el(&w, g->gs08);
	segw_end(&w);
	set_rc(c, buf_add(b, g->body.p ? g->body.p : "", g->body.len));

	recv = g->recv > COUNT_MAX ? COUNT_MAX : g->recv;
	incl = g->ge01 >= 0 ? (unsigned long)g->ge01 : recv;
	acc = g->ok ? (g->acc > COUNT_MAX ? COUNT_MAX : g->acc) : 0;
	if (!g->ok)
		status = 'R';
	else if (g->recv == 0)
		status = 'A';
	else if (g->acc == 0)
		status = 'R';
	else if (g->acc < g->recv)
		status = 'P';
	else if (g->nwarn > 0)
		status = 'E';
	else
		status = 'A';
	segw_start(&w, b, d, &c->rc, "AK9");
	cs[0] = (char)status;
	cs[1] = '\0';
	segw_raw(&w, cs);
	segw_num(&w, incl);
	segw_num(&w, recv);
	segw_num(&w, acc);
	if (status == 'R' || status == 'P' || status == 'E')
		for (i = 0; i < g->ak9.n; i++)
			segw_num(&w, (unsigned long)g->ak9.v[i]);
	segw_end(&w);
	segw_start(&w, b, d, &c->rc, "SE");
	segw_num(&w, g->nseg + 4);
	segw_raw(&w, ctl);
	segw_end(&w);
}

/*
 * TA101 is N0 9/9: the digits of ISA13, the last nine, zero padded, so
 * that even an ISA13 in error is answered with a valid TA1.
 */
static void
ta1_control(const char *isa13, char *out, size_t len)
{
	char	 dg[16];
	size_t	 i, n = 0;

	for (i = 0; isa13[i] != '\0' && n + 1 < sizeof(dg); i++)
		if (is_digit((unsigned char)isa13[i]))
			dg[n++] = isa13[i];
	dg[n] = '\0';
	snprintf(out, len, "%09lu", n ? strtoul(dg, NULL, 10) % 1000000000UL :
	    0UL);
}

static int
same_fa(const struct ack_group *a, const struct ack_group *b)
{
	return strcmp(a->outver, b->outver) == 0 &&
	    strcmp(a->gs02, b->gs02) == 0 && strcmp(a->gs03, b->gs03) == 0;
}

static void
ic_render(struct x12_ack *c, struct ack_ic *ic, int ok)
{
	const struct edi_delims *d = &ic->d;
	struct ack_group *g;
	struct segw w;
	struct tm tm;
	time_t	 now = c->o.now.tv_sec;
	char	 ymd6[16], ymd8[16], hm[8], t[32], st[2];
	const char *oq, *oid, *code;
	size_t	 i, j, nfa = 0;
	unsigned long ngs = 0, nst, isactl, gsctl;
	int	 ta1, status;

	if (!ic->filled)
		return;
	ok = ok && !ic->has_err;
	for (i = 0; ok && i < ic->ngrp; i++)
		if (ic->grp[i]->filled && !ic->grp[i]->skip)
			nfa++;
	ta1 = ic->isa14 == '1' || !ok || ic->has_warn || ic->force_ta1;
	if (!ta1 && nfa == 0)
		return;

	memset(&tm, 0, sizeof(tm));
	gmtime_r(&now, &tm);
	if (strftime(ymd8, sizeof(ymd8), "%Y%m%d", &tm) != 8 ||
	    strftime(hm, sizeof(hm), "%H%M", &tm) != 4) {
		set_rc(c, EG_ERR_INVAL);	/* a year outside 1000..9999 */
		return;
	}
	memcpy(ymd6, ymd8 + 2, 7);		/* YYMMDD */
	oq = c->have_our ? c->ourq : ic->isa07;
	oid = c->have_our ? c->ourid : ic->isa08;

	segw_start(&w, &c->out, d, &c->rc, "ISA");
	seg_fixed(&w, "00", 2);
	seg_fixed(&w, "", 10);
	seg_fixed(&w, "00", 2);
	seg_fixed(&w, "", 10);
	seg_fixed(&w, oq, 2);
	seg_fixed(&w, oid, 15);
	seg_fixed(&w, ic->isa05, 2);
	seg_fixed(&w, ic->isa06, 15);
	seg_fixed(&w, ymd6, 6);
	seg_fixed(&w, hm, 4);
	t[0] = ic->isa11;
	t[1] = '\0';
	seg_fixed(&w, t, 1);
	seg_fixed(&w, ic->isa12, 5);
	isactl = ctl_next(&c->isa);
	snprintf(t, sizeof(t), "%09lu", isactl);
	seg_fixed(&w, t, 9);
	seg_fixed(&w, "0", 1);
	t[0] = ic->isa15;
	t[1] = '\0';
	seg_fixed(&w, t, 1);
	t[0] = d->component;
	seg_fixed(&w, t, 1);
	segw_end(&w);

	if (ta1) {
		if (!ok) {
			status = 'R';
			code = ic->ta1err[0] ? ic->ta1err : "024";
		} else if (ic->has_warn || ic->force_ta1) {
			status = 'E';
			code = ic->ta1warn[0] ? ic->ta1warn : "024";
		} else {
			status = 'A';
			code = "000";
		}
		segw_start(&w, &c->out, d, &c->rc, "TA1");
		ta1_control(ic->isa13, t, sizeof(t));
		segw_raw(&w, t);
		seg_el(&w, ic->isa09);
		seg_el(&w, ic->isa10);
		st[0] = (char)status;
		st[1] = '\0';
		segw_raw(&w, st);
		seg_el(&w, code);
		segw_end(&w);
	}

	for (i = 0; ok && i < ic->ngrp; i++) {
		g = ic->grp[i];
		if (!g->filled || g->skip || g->emitted)
			continue;
		segw_start(&w, &c->out, d, &c->rc, "GS");
		segw_raw(&w, "FA");
		/* GS02/GS03 blank inbound: the interchange ids stand in */
		seg_el(&w, g->gs03[0] ? g->gs03 : oid);
		seg_el(&w, g->gs02[0] ? g->gs02 : ic->isa06);
		segw_raw(&w, (strncmp(g->outver, "002", 3) == 0 ||
		    strncmp(g->outver, "003", 3) == 0) ? ymd6 : ymd8);
		segw_raw(&w, hm);
		gsctl = ctl_next(&c->gs);
		segw_num(&w, gsctl);
		segw_raw(&w, "X");
		seg_el(&w, g->outver);
		segw_end(&w);
		nst = 0;
		for (j = i; j < ic->ngrp; j++) {
			if (!ic->grp[j]->filled || ic->grp[j]->skip ||
			    ic->grp[j]->emitted || !same_fa(g, ic->grp[j]))
				continue;
			write_fa_set(c, ic, ic->grp[j], &c->out);
			ic->grp[j]->emitted = 1;
			nst++;
		}
		segw_start(&w, &c->out, d, &c->rc, "GE");
		segw_num(&w, nst);
		segw_num(&w, gsctl);
		segw_end(&w);
		ngs++;
	}
	segw_start(&w, &c->out, d, &c->rc, "IEA");
	segw_num(&w, ngs);
	snprintf(t, sizeof(t), "%09lu", isactl);
	segw_raw(&w, t);
	segw_end(&w);
	c->nout++;
}

void
x12_ack_interchange_end(struct x12_ack *c, const struct edi_env *env,
    int ok)
{
	struct ack_ic	*ic;

	if (c == NULL || env == NULL || env->syntax != EDI_X12)
		return;
	ic = cur_ic(c);
	ic_fill(ic, env);
	ic_render(c, ic, ok);
	ic_free(ic);
	c->ic = NULL;
	set_clear(c);
}

/* -- the collector ------------------------------------------------------ */

struct x12_ack *
x12_ack_new(const struct x12_ack_opts *o)
{
	struct x12_ack	*c;
	const char	*colon;
	struct edi_delims none;

	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->o.our_x12_id = NULL;
	buf_init(&c->out, EG_MAX_DOC_SIZE);
	c->isa = o->isa_control;
	c->gs = o->gs_control;
	c->st = o->st_control;
	memset(&none, 0, sizeof(none));
	none.element = '*';
	none.segment = '~';
	none.component = ':';
	if (o->our_x12_id != NULL && o->our_x12_id[0] != '\0') {
		if ((colon = strchr(o->our_x12_id, ':')) != NULL) {
			clean(c->ourq, sizeof(c->ourq),
			    slice_make(o->our_x12_id,
			    (size_t)(colon - o->our_x12_id)), &none,
			    TRIM_LEAD | TRIM_TRAIL);
			clean_str(c->ourid, sizeof(c->ourid), colon + 1, &none,
			    TRIM_LEAD | TRIM_TRAIL);
		} else {
			snprintf(c->ourq, sizeof(c->ourq), "ZZ");
			clean_str(c->ourid, sizeof(c->ourid), o->our_x12_id,
			    &none, TRIM_LEAD | TRIM_TRAIL);
		}
		c->have_our = c->ourid[0] != '\0';
	}
	return c;
}

void
x12_ack_free(struct x12_ack *c)
{
	if (c == NULL)
		return;
	ic_free(c->ic);
	free(c->err);
	buf_free(&c->out);
	free(c);
}

int
x12_ack_output(struct x12_ack *c, struct buf *out)
{
	int	 r;

	if (c == NULL || out == NULL)
		return EG_ERR_INVAL;
	if (c->rc < 0)
		return c->rc;
	if (c->out.len > 0 && (r = buf_add(out, c->out.p, c->out.len)) < 0)
		return r;
	return c->nout;
}

void
x12_ack_counters(const struct x12_ack *c, unsigned long *isa,
    unsigned long *gs, unsigned long *st)
{
	unsigned long i = c->isa, g = c->gs, s = c->st;

	if (isa)
		*isa = ctl_next(&i);
	if (gs)
		*gs = ctl_next(&g);
	if (st)
		*st = ctl_next(&s);
}
