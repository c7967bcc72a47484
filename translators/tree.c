/*
 * tree.c: the loop tree of one transaction set (MAPS.md §2 placement) and
 * its validation against a structure: segment and loop counts, element
 * requirement, types, lengths, codes, syntax notes, hierarchy links.
 * Everything it builds lives in the set's arena; scratch memory is freed
 * before returning.  It never rejects the set outright: the tree is always
 * built, problems are diagnostics with AK304/AK403 codes.
 *
 * Diagnostic codes (SET scope; error unless marked warning):
 *
 *   SEG-UNEXPECTED  warning: a segment no open loop declares at that
 *                   position (AK304 2), or a tag the structure does not
 *                   declare at all (AK304 1); it stays in the current loop
 *   SEG-MISSING     a mandatory segment is missing (AK304 3)
 *   SEG-MAXUSE      a segment repeats more than its maximum (AK304 5)
 *   LOOP-MISSING    a mandatory loop is missing (AK304 3, trigger tag)
 *   LOOP-MAXUSE     a loop repeats more than its maximum (AK304 4)
 *   ELEM-MISSING    a mandatory element / component is missing (AK403 1)
 *   ELEM-SHORT      a value is shorter than its minimum (AK403 4)
 *   ELEM-LONG       a value is longer than its maximum (AK403 5)
 *   ELEM-CHAR       invalid character for N, R or EDIFACT n/a (AK403 6)
 *   ELEM-CODE       an ID value not in the declared codes (AK403 7)
 *   ELEM-DATE       an invalid date in a DT element (AK403 8)
 *   ELEM-TIME       an invalid time in a TM element (AK403 9)
 *   ELEM-REPEAT     repetitions where not declared, or over `rep N`
 *                   (AK403 12; a warning when the X12 repetition separator
 *                   is a character of the basic set such as '-', since the
 *                   element text is then kept whole as data)
 *   ELEM-COMPONENT  a component separator in a simple element (AK403 13)
 *   SYNTAX-NOTE     a P/R/C/L note violated (AK403 2) or E (AK403 10)
 *   HL-PARENT       the parent id names no earlier hierarchy loop
 *   HL-DUP          a hierarchy id that repeats in the set
 *   HL-DEPTH        hierarchy deeper than EG_MAX_HL_DEPTH
 *   HL-COUNT        warning: the count element (CTT01) differs from the
 *                   number of hierarchy segments
 *   TREE-LIMIT      the set's arena is full; the tree is incomplete
 *   DIAG-LIMIT      warning: more than EG_MAX_DIAGS_PER_SET diagnostics
 *
 * Segments and elements the structure does not declare are not validated
 * (structures are trimmed): hence no "too many elements" check either.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "structure.h"
#include "x12.h"
#include "xmalloc.h"

struct frame {
	struct edi_loop	*inst;
	const struct struct_loop *decl;
	long		 pos;		/* entry of the last placement; -1 */
	unsigned	*cnt;		/* per entry, in this instance */
	size_t		 cntcap;
};

struct tb {
	struct edi_set	*set;
	const struct structure *st;
	struct diag_sink *ds;
	unsigned	 ndiag;
	int		 oom;
	struct frame	 fr[EG_MAX_LOOP_DEPTH + 1];
	int		 nfr;
	struct edi_loop	**inst;		/* every instance, in order */
	size_t		 ninst;
	size_t		 instcap;
};

struct tdiag {
	enum diag_sev	 sev;
	const char	*code;
	uint32_t	 segi;		/* index into set->seg */
	const char	*tag;		/* NULL: the segment's */
	int		 el, comp, rep;
	int		 ack_seg, ack_el;
	const struct slice *bad;
};

static void __attribute__((format(printf, 3, 4)))
tdiag(struct tb *t, const struct tdiag *a, const char *fmt, ...)
{
	struct diag	 d;
	const struct edi_seg *s = NULL;
	va_list	 ap;
	size_t	 n;

	if (a->sev == DIAG_ERROR)
		t->set->rejected = 1;
	if (t->ndiag > EG_MAX_DIAGS_PER_SET)
		return;
	if (t->ndiag++ == EG_MAX_DIAGS_PER_SET) {
		diag_init(&d, DIAG_WARNING, "DIAG-LIMIT");
		d.scope = DIAG_SCOPE_SET;
		diag_msg(&d, "more than %u diagnostics in this set; the rest "
		    "are not shown", EG_MAX_DIAGS_PER_SET);
		diag_emit(t->ds, &d);
		return;
	}
	diag_init(&d, a->sev, a->code);
	d.scope = DIAG_SCOPE_SET;
	if (a->segi < t->set->nseg) {
		s = &t->set->seg[a->segi];
		d.filepos = s->filepos;
		d.setpos = s->setpos;
		snprintf(d.tag, sizeof(d.tag), "%s", s->tag);
		if (s->loop && s->loop->decl)
			snprintf(d.loop, sizeof(d.loop), "%s",
			    s->loop->decl->tag);
	}
	if (a->tag)
		snprintf(d.tag, sizeof(d.tag), "%s", a->tag);
	d.el = a->el;
	d.comp = a->comp;
	d.rep = a->rep;
	d.ack_seg = a->ack_seg ? a->ack_seg : (a->ack_el ? 8 : 0);
	d.ack_el = a->ack_el;
	if (a->bad) {
		n = a->bad->len < sizeof(d.badvalue) - 1 ? a->bad->len :
		    sizeof(d.badvalue) - 1;
		memcpy(d.badvalue, a->bad->p, n);
		d.badvalue[n] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof(d.msg), fmt, ap);
	va_end(ap);
	diag_emit(t->ds, &d);
}

#define TD(sv, cd, ...)	\
	(&(const struct tdiag){ .sev = (sv), .code = (cd), __VA_ARGS__ })

/* Printable copy of a value for messages. */
static const char *
show(struct slice s, char *buf, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < s.len && n + 1 < len && i < 40; i++)
		buf[n++] = (s.p[i] >= 0x20 && s.p[i] < 0x7f) ? s.p[i] : '?';
	buf[n] = '\0';
	return buf;
}

/* -- placement ---------------------------------------------------------- */

static struct edi_loop *
new_inst(struct tb *t, const struct struct_loop *decl, uint32_t first,
    struct edi_loop *parent)
{
	struct edi_loop *l;

	if ((l = arena_alloc(t->set->arena, sizeof(*l))) == NULL) {
		t->oom = 1;
		return NULL;
	}
	l->decl = decl;
	l->first = l->last = first;
	l->parent = parent;
	if (t->ninst == t->instcap) {
		t->instcap = t->instcap ? t->instcap * 2 : 64;
		t->inst = xreallocarray(t->inst, t->instcap, sizeof(*t->inst));
	}
	t->inst[t->ninst++] = l;
	return l;
}

static void
push(struct tb *t, struct edi_loop *inst, const struct struct_loop *decl)
{
	struct frame *f = &t->fr[t->nfr++];

	f->inst = inst;
	f->decl = decl;
	f->pos = -1;
	if (f->cntcap < decl->nent) {
		free(f->cnt);
		f->cntcap = decl->nent;
		f->cnt = xcalloc(f->cntcap, sizeof(*f->cnt));
	} else if (decl->nent)
		memset(f->cnt, 0, decl->nent * sizeof(*f->cnt));
}

static int
envelope_tag(const char *tag)
{
	return strcmp(tag, "ST") == 0 || strcmp(tag, "SE") == 0 ||
	    strcmp(tag, "UNH") == 0 || strcmp(tag, "UNT") == 0;
}

/* Close the innermost frame: check its minimum counts. */
static void
pop(struct tb *t, uint32_t at)
{
	struct frame *f = &t->fr[t->nfr - 1];
	const struct struct_entry *e;
	size_t	 j;

	for (j = 0; j < f->decl->nent; j++) {
		e = &f->decl->ent[j];
		if (f->cnt[j] >= e->min || envelope_tag(e->tag))
			continue;
		if (e->is_loop)
			tdiag(t, TD(DIAG_ERROR, "LOOP-MISSING", .segi = at,
			    .tag = e->tag, .ack_seg = 3),
			    "mandatory loop %s missing%s%s (%u of at least %u)",
			    e->tag, f->decl->tag[0] ? " in loop " : "",
			    f->decl->tag, f->cnt[j], e->min);
		else
			tdiag(t, TD(DIAG_ERROR, "SEG-MISSING", .segi = at,
			    .tag = e->tag, .ack_seg = 3),
			    "mandatory segment %s missing%s%s (%u of at least "
			    "%u)", e->tag, f->decl->tag[0] ? " in loop " : "",
			    f->decl->tag, f->cnt[j], e->min);
	}
	t->nfr--;
}

static long
frame_find(const struct frame *f, const char *tag)
{
	size_t	 j = f->pos < 0 ? 0 : (size_t)f->pos;

	if (f->decl->tag[0] != '\0' && j == 0)
		j = 1;		/* the trigger repeats as a sibling */
	for (; j < f->decl->nent; j++)
		if (strcmp(f->decl->ent[j].tag, tag) == 0)
			return (long)j;
	return -1;
}

static void
place(struct tb *t, uint32_t i)
{
	struct edi_seg *s = &t->set->seg[i];
	const struct struct_entry *e;
	struct frame *f;
	struct edi_loop *l;
	long	 j = -1;
	int	 k;

	for (k = t->nfr - 1; k >= 0; k--)
		if ((j = frame_find(&t->fr[k], s->tag)) >= 0)
			break;
	if (k < 0) {
		f = &t->fr[t->nfr - 1];
		s->loop = f->inst;
		for (k = 0; k < t->nfr; k++)
			t->fr[k].inst->last = i;
		if (envelope_tag(s->tag) && !structure_has_segment(t->st,
		    s->tag))
			return;
		if (structure_has_segment(t->st, s->tag))
			tdiag(t, TD(DIAG_WARNING, "SEG-UNEXPECTED", .segi = i,
			    .ack_seg = 2), "segment %s is not expected here%s%s;"
			    " kept in the current loop", s->tag,
			    f->decl->tag[0] ? " in loop " : "", f->decl->tag);
		else
			tdiag(t, TD(DIAG_WARNING, "SEG-UNEXPECTED", .segi = i,
			    .ack_seg = 1), "segment %s is not declared in the "
			    "%s structure; kept in the current loop", s->tag,
			    t->st->doctype);
		return;
	}
	while (t->nfr - 1 > k)
		pop(t, i);
	f = &t->fr[k];
	e = &f->decl->ent[j];
	f->pos = j;
	f->cnt[j]++;
	if (e->max && f->cnt[j] == e->max + 1)
		tdiag(t, TD(DIAG_ERROR, e->is_loop ? "LOOP-MAXUSE" :
		    "SEG-MAXUSE", .segi = i, .ack_seg = e->is_loop ? 4 : 5),
		    "%s %s occurs more than %u time%s%s%s", e->is_loop ?
		    "loop" : "segment", e->tag, e->max, e->max == 1 ? "" : "s",
		    f->decl->tag[0] ? " in loop " : "", f->decl->tag);
	for (k = 0; k < t->nfr; k++)
		t->fr[k].inst->last = i;
	if (!e->is_loop) {
		s->loop = f->inst;
		return;
	}
	if (t->nfr >= (int)EG_MAX_LOOP_DEPTH) {
		s->loop = f->inst;
		return;
	}
	if ((l = new_inst(t, e->loop, i, f->inst)) == NULL) {
		s->loop = f->inst;
		return;
	}
	push(t, l, e->loop);
	t->fr[t->nfr - 1].pos = 0;
	t->fr[t->nfr - 1].cnt[0] = 1;
	s->loop = l;
}

/* -- repetitions -------------------------------------------------------- */

static int
basic_special(int c)
{
	return c != 0 && strchr("-./ ,&'()+#%:;?=!\"", c) != NULL;
}

/* Range of declared elements of tag in st->elem (sorted). */
static size_t
elem_range(const struct structure *st, const char *tag, size_t *endp)
{
	size_t	 lo = 0, hi = st->nelem, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(st->elem[mid].tag, tag) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < st->nelem && strcmp(st->elem[hi].tag, tag) == 0;
	    hi++)
		;
	*endp = hi;
	return lo;
}

static void
x12_repetitions(struct tb *t, struct edi_val *scratch)
{
	struct edi_set *set = t->set;
	const struct structure *st = t->st;
	const struct struct_elem *d;
	unsigned char repel[16];
	struct edi_seg *s;
	struct edi_val *nv;
	char	 rs = set->env.delims.repetition, tag[4], b[48];
	size_t	 lo, hi, k;
	uint32_t i;
	uint16_t nel, nval, v;
	int	 any;

	for (i = 0; i < set->nseg; i++) {
		s = &set->seg[i];
		if (s->raw.len == 0 || memchr(s->raw.p, rs, s->raw.len) == NULL)
			continue;
		lo = elem_range(st, s->tag, &hi);
		if (lo == hi)
			continue;
		memset(repel, 0, sizeof(repel));
		any = 0;
		for (k = lo; k < hi; k++)
			if (st->elem[k].comp == 0 && st->elem[k].rep > 1 &&
			    st->elem[k].el < 128) {
				repel[st->elem[k].el / 8] |=
				    (unsigned char)(1U << (st->elem[k].el % 8));
				any = 1;
			}
		/* Separator inside a non-repeatable declared element. */
		for (v = 0; v < s->nval; v++) {
			if (s->val[v].el < 128 && (repel[s->val[v].el / 8] &
			    (1U << (s->val[v].el % 8))))
				continue;
			if (memchr(s->val[v].s.p, rs, s->val[v].s.len) == NULL)
				continue;
			if ((d = structure_elem(st, s->tag, s->val[v].el, 0))
			    == NULL)
				continue;
			tdiag(t, TD(basic_special((unsigned char)rs) ?
			    DIAG_WARNING : DIAG_ERROR, "ELEM-REPEAT", .segi = i,
			    .el = s->val[v].el, .ack_el = 12,
			    .bad = &s->val[v].s), "%s%02d \"%s\" contains the "
			    "repetition separator '%c' but is not repeatable; "
			    "kept whole", s->tag, s->val[v].el,
			    show(s->val[v].s, b, sizeof(b)), rs);
			while (v + 1 < s->nval && s->val[v + 1].el ==
			    s->val[v].el)
				v++;
		}
		if (!any)
			continue;
		if (x12_split(s->raw, &set->env.delims, repel, 0, scratch,
		    EG_MAX_SEG_VALUES, tag, &nel, &nval) == EG_ERR_LIMIT)
			tdiag(t, TD(DIAG_ERROR, "ELEM-REPEAT", .segi = i,
			    .ack_el = 12), "too many repetitions (limit %u or "
			    "%u values)", EG_MAX_REPEATS, EG_MAX_SEG_VALUES);
		if (nval == 0) {
			s->nval = 0;
			continue;
		}
		if ((nv = arena_allocarray(set->arena, nval, sizeof(*nv)))
		    == NULL) {
			t->oom = 1;
			return;
		}
		memcpy(nv, scratch, nval * sizeof(*nv));
		s->val = nv;
		s->nval = nval;
	}
}

/* -- element validation ------------------------------------------------- */

static int
check_chars(const struct struct_elem *d, struct slice v, size_t *lenp)
{
	size_t	 i = 0, digits = 0, dots = 0;

	*lenp = v.len;
	switch (d->type) {
	case ST_NN:
		if (v.len && v.p[0] == '-')
			i = 1;
		for (; i < v.len; i++)
			if (v.p[i] < '0' || v.p[i] > '9')
				return 0;
		*lenp = v.len - (v.len && v.p[0] == '-');
		return *lenp > 0;
	case ST_R:
	case ST_N:
		if (v.len && (v.p[0] == '-' || v.p[0] == '+'))
			i = 1;
		for (; i < v.len; i++) {
			if (v.p[i] >= '0' && v.p[i] <= '9')
				digits++;
			else if (v.p[i] == '.' || (d->type == ST_N &&
			    v.p[i] == ','))
				dots++;
			else
				return 0;
		}
		*lenp = digits;
		return digits > 0 && dots <= 1;
	case ST_A:
		for (; i < v.len; i++)
			if (v.p[i] >= '0' && v.p[i] <= '9')
				return 0;
		return 1;
	default:
		return 1;
	}
}

static void
check_value(struct tb *t, uint32_t si, const struct struct_elem *d,
    const struct edi_val *v)
{
	const struct edi_seg *s = &t->set->seg[si];
	char	 id[16], b[48];
	size_t	 len, k;

	if (d->comp)
		snprintf(id, sizeof(id), "%s%02d-%02d", s->tag, d->el, d->comp);
	else
		snprintf(id, sizeof(id), "%s%02d", s->tag, d->el);
	if (d->type == ST_DT) {
		if (!edi_valid_date(v->s, d->min <= 6))
			tdiag(t, TD(DIAG_ERROR, "ELEM-DATE", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = 8, .bad = &v->s),
			    "%s \"%s\" is not a valid date", id,
			    show(v->s, b, sizeof(b)));
		else if (v->s.len < d->min || v->s.len > d->max)
			tdiag(t, TD(DIAG_ERROR, v->s.len < d->min ?
			    "ELEM-SHORT" : "ELEM-LONG", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = v->s.len < d->min ? 4 : 5, .bad = &v->s),
			    "%s date \"%s\" must have %u to %u digits", id,
			    show(v->s, b, sizeof(b)), d->min, d->max);
		return;
	}
	if (d->type == ST_TM) {
		if (!edi_valid_time(v->s))
			tdiag(t, TD(DIAG_ERROR, "ELEM-TIME", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = 9, .bad = &v->s),
			    "%s \"%s\" is not a valid time", id,
			    show(v->s, b, sizeof(b)));
		else if (v->s.len < d->min || v->s.len > d->max)
			tdiag(t, TD(DIAG_ERROR, v->s.len < d->min ?
			    "ELEM-SHORT" : "ELEM-LONG", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = v->s.len < d->min ? 4 : 5, .bad = &v->s),
			    "%s time \"%s\" must have %u to %u digits", id,
			    show(v->s, b, sizeof(b)), d->min, d->max);
		return;
	}
	if (!check_chars(d, v->s, &len)) {
		tdiag(t, TD(DIAG_ERROR, "ELEM-CHAR", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 6, .bad = &v->s),
		    "%s \"%s\" is not %s", id, show(v->s, b, sizeof(b)),
		    d->type == ST_NN ? "an integer" : d->type == ST_A ?
		    "alphabetic" : "a decimal number");
		return;
	}
	if (len < d->min)
		tdiag(t, TD(DIAG_ERROR, "ELEM-SHORT", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 4, .bad = &v->s),
		    "%s \"%s\" is shorter than %u", id,
		    show(v->s, b, sizeof(b)), d->min);
	else if (len > d->max)
		tdiag(t, TD(DIAG_ERROR, "ELEM-LONG", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 5, .bad = &v->s),
		    "%s \"%s\" is longer than %u", id,
		    show(v->s, b, sizeof(b)), d->max);
	if (d->codes == NULL)
		return;
	for (k = 0; k < d->ncodes; k++)
		if (slice_eqs(v->s, d->codes[k]))
			return;
	tdiag(t, TD(DIAG_ERROR, "ELEM-CODE", .segi = si, .el = v->el,
	    .comp = d->comp, .rep = v->rep, .ack_el = 7, .bad = &v->s),
	    "%s \"%s\" is not one of the allowed codes", id,
	    show(v->s, b, sizeof(b)));
}

static int
present(const struct edi_seg *s, int el)
{
	uint16_t i;

	for (i = 0; i < s->nval; i++)
		if (s->val[i].el == el)
			return 1;
	return 0;
}

static int
comp_present(const struct edi_seg *s, int el, int comp, int rep)
{
	uint16_t i;

	for (i = 0; i < s->nval; i++)
		if (s->val[i].el == el && s->val[i].comp == comp &&
		    s->val[i].rep == rep)
			return 1;
	return 0;
}

static void
check_syntax(struct tb *t, uint32_t si)
{
	const struct edi_seg *s = &t->set->seg[si];
	const struct struct_syntax *n;
	char	 note[40];
	size_t	 k, q;
	int	 j, np, first, second;

	for (k = 0; k < t->st->nsyn; k++) {
		n = &t->st->syn[k];
		if (strcmp(n->tag, s->tag) != 0)
			continue;
		q = 0;
		note[q++] = n->kind;
		for (j = 0; j < n->nel && q + 3 < sizeof(note); j++) {
			note[q++] = (char)('0' + n->el[j] / 10);
			note[q++] = (char)('0' + n->el[j] % 10);
		}
		note[q] = '\0';
		np = 0;
		first = second = 0;
		for (j = 0; j < n->nel; j++)
			if (present(s, n->el[j])) {
				np++;
				if (!first)
					first = n->el[j];
				else if (!second)
					second = n->el[j];
			}
		switch (n->kind) {
		case 'P':
			if (np == 0 || np == n->nel)
				break;
			for (j = 0; j < n->nel; j++)
				if (!present(s, n->el[j]))
					tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
					    .segi = si, .el = n->el[j],
					    .ack_el = 2), "%s%02d is required "
					    "when %s%02d is present (%s: all or "
					    "none)", s->tag, n->el[j], s->tag,
					    first, note);
			break;
		case 'R':
			if (np == 0)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE", .segi = si,
				    .el = n->el[0], .ack_el = 2), "at least one "
				    "of the elements of %s is required", note);
			break;
		case 'E':
			if (np > 1)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE", .segi = si,
				    .el = second, .ack_el = 10), "%s%02d and "
				    "%s%02d exclude each other (%s)", s->tag,
				    first, s->tag, second, note);
			break;
		case 'C':
			if (!present(s, n->el[0]))
				break;
			for (j = 1; j < n->nel; j++)
				if (!present(s, n->el[j]))
					tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
					    .segi = si, .el = n->el[j],
					    .ack_el = 2), "%s%02d is required "
					    "when %s%02d is present (%s)",
					    s->tag, n->el[j], s->tag, n->el[0],
					    note);
			break;
		case 'L':
			if (!present(s, n->el[0]))
				break;
			for (j = 1; j < n->nel; j++)
				if (present(s, n->el[j]))
					break;
			if (j == n->nel)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE", .segi = si,
				    .el = n->el[1], .ack_el = 2), "%s%02d needs "
				    "at least one of the other elements of %s",
				    s->tag, n->el[0], note);
			break;
		}
	}
}

static void
check_segment(struct tb *t, uint32_t si)
{
	const struct edi_seg *s = &t->set->seg[si];
	const struct structure *st = t->st;
	const struct struct_elem *d, *cd;
	const struct edi_val *v;
	size_t	 lo, hi, k;
	uint16_t i;
	int	 nrep, r, lastel = 0;
	char	 b[48];

	lo = elem_range(st, s->tag, &hi);
	if (lo == hi)
		goto syntax;
	/* Requirement. */
	for (k = lo; k < hi; k++) {
		d = &st->elem[k];
		if (d->req != SR_MANDATORY)
			continue;
		if (d->comp == 0) {
			if (!present(s, d->el))
				tdiag(t, TD(DIAG_ERROR, "ELEM-MISSING",
				    .segi = si, .el = d->el, .ack_el = 1),
				    "mandatory element %s%02d is missing",
				    s->tag, d->el);
			continue;
		}
		/* a component: mandatory in every present repetition */
		nrep = edi_nrep(s, d->el);
		for (r = 1; r <= nrep; r++) {
			int	 any = 0;
			for (i = 0; i < s->nval; i++)
				if (s->val[i].el == d->el && s->val[i].rep == r)
					any = 1;
			if (any && !comp_present(s, d->el, d->comp, r))
				tdiag(t, TD(DIAG_ERROR, "ELEM-MISSING",
				    .segi = si, .el = d->el, .comp = d->comp,
				    .rep = r, .ack_el = 1), "mandatory "
				    "component %s%02d-%02d is missing", s->tag,
				    d->el, d->comp);
		}
	}
	/* Values. */
	for (i = 0; i < s->nval; i++) {
		v = &s->val[i];
		if ((d = structure_elem(st, s->tag, v->el, 0)) == NULL) {
			/* maybe only components are declared */
			if (v->comp >= 1 && (cd = structure_elem(st, s->tag,
			    v->el, v->comp)) != NULL)
				check_value(t, si, cd, v);
			continue;
		}
		if (v->el != lastel) {
			lastel = v->el;
			nrep = edi_nrep(s, v->el);
			if (nrep > (int)(d->rep ? d->rep : 1) && d->rep > 1)
				tdiag(t, TD(DIAG_ERROR, "ELEM-REPEAT", .segi = si,
				    .el = v->el, .rep = nrep, .ack_el = 12),
				    "%s%02d repeats %d times, at most %u "
				    "allowed", s->tag, v->el, nrep, d->rep);
		}
		if (d->type == ST_COMPOSITE) {
			if ((cd = structure_elem(st, s->tag, v->el, v->comp))
			    != NULL)
				check_value(t, si, cd, v);
			continue;
		}
		if (v->comp > 1) {
			tdiag(t, TD(DIAG_ERROR, "ELEM-COMPONENT", .segi = si,
			    .el = v->el, .comp = v->comp, .rep = v->rep,
			    .ack_el = 13, .bad = &v->s), "%s%02d is a simple "
			    "element but has component %d \"%s\"", s->tag,
			    v->el, v->comp, show(v->s, b, sizeof(b)));
			continue;
		}
		check_value(t, si, d, v);
	}
 syntax:
	check_syntax(t, si);
}

/* -- hierarchy ---------------------------------------------------------- */

struct hslot {
	struct slice	 id;
	struct edi_loop	*l;
	unsigned	 depth;
};

static uint64_t
hhash(struct slice s)
{
	uint64_t h = 1469598103934665603ULL;
	size_t	 i;

	for (i = 0; i < s.len; i++)
		h = (h ^ (unsigned char)s.p[i]) * 1099511628211ULL;
	return h;
}

static struct hslot *
hfind(struct hslot *tab, size_t cap, struct slice id)
{
	size_t	 j = hhash(id) & (cap - 1);

	while (tab[j].l != NULL) {
		if (slice_eq(tab[j].id, id))
			return &tab[j];
		j = (j + 1) & (cap - 1);
	}
	return &tab[j];
}

static void
hierarchy(struct tb *t, const struct struct_hier *h)
{
	struct edi_set *set = t->set;
	struct hslot *tab, *slot, *ps;
	struct edi_loop *l;
	const struct slice *id, *pid, *cv;
	size_t	 cap = 64, i, n = 0;
	uint32_t k, cnt;
	char	 b[48], b2[48];

	for (i = 0; i < t->ninst; i++)
		if (t->inst[i]->decl && t->inst[i]->decl->hier == h)
			n++;
	while (cap < n * 2 + 2)
		cap *= 2;
	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < t->ninst; i++) {
		l = t->inst[i];
		if (l->decl == NULL || l->decl->hier != h)
			continue;
		id = edi_value(&set->seg[l->first], h->id, 1, 1);
		pid = edi_value(&set->seg[l->first], h->parent, 1, 1);
		if (id)
			l->hid = *id;
		unsigned depth = 1;
		if (pid != NULL) {
			ps = hfind(tab, cap, *pid);
			if (ps->l == NULL)
				tdiag(t, TD(DIAG_ERROR, "HL-PARENT",
				    .segi = l->first, .el = h->parent,
				    .ack_seg = 8, .bad = pid), "%s%02d parent "
				    "id \"%s\" names no earlier %s", h->tag,
				    h->parent, show(*pid, b, sizeof(b)), h->tag);
			else if (ps->depth >= EG_MAX_HL_DEPTH)
				tdiag(t, TD(DIAG_ERROR, "HL-DEPTH",
				    .segi = l->first, .el = h->parent,
				    .ack_seg = 8), "hierarchy deeper than %u",
				    EG_MAX_HL_DEPTH);
			else {
				l->hparent = ps->l;
				depth = ps->depth + 1;
			}
		}
		if (id == NULL)
			continue;
		slot = hfind(tab, cap, *id);
		if (slot->l != NULL) {
			tdiag(t, TD(DIAG_ERROR, "HL-DUP", .segi = l->first,
			    .el = h->id, .ack_seg = 8, .bad = id), "%s%02d id "
			    "\"%s\" repeats (first at segment %u)", h->tag,
			    h->id, show(*id, b, sizeof(b)),
			    set->seg[slot->l->first].filepos);
			continue;
		}
		slot->id = *id;
		slot->l = l;
		slot->depth = depth;
	}
	free(tab);
	if (h->count_tag[0] == '\0')
		return;
	cnt = 0;
	for (k = 0; k < set->nseg; k++)
		if (strcmp(set->seg[k].tag, h->tag) == 0)
			cnt++;
	for (k = 0; k < set->nseg; k++) {
		if (strcmp(set->seg[k].tag, h->count_tag) != 0)
			continue;
		cv = edi_value(&set->seg[k], h->count_el, 1, 1);
		if (cv == NULL)
			break;
		snprintf(b2, sizeof(b2), "%u", cnt);
		{
			struct slice c = *cv;
			while (c.len > 1 && c.p[0] == '0') {
				c.p++;
				c.len--;
			}
			if (!slice_eqs(c, b2))
				tdiag(t, TD(DIAG_WARNING, "HL-COUNT", .segi = k,
				    .el = h->count_el), "%s%02d \"%s\" but the "
				    "set has %u %s segment%s", h->count_tag,
				    h->count_el, show(*cv, b, sizeof(b)), cnt,
				    h->tag, cnt == 1 ? "" : "s");
		}
		break;
	}
}

/* -- entry point -------------------------------------------------------- */

int
edi_tree_build(struct edi_set *set, const struct structure *st,
    struct diag_sink *ds)
{
	struct tb *t;
	struct edi_loop *root, *l;
	struct edi_val *scratch = NULL;
	size_t	 i;
	uint32_t k;
	int	 rc = 0;

	if (set == NULL || set->arena == NULL)
		return EG_ERR_INVAL;
	t = xcalloc(1, sizeof(*t));
	t->set = set;
	t->st = st;
	t->ds = ds;
	if ((root = new_inst(t, NULL, 0, NULL)) == NULL)
		goto oom;
	root->last = set->nseg ? set->nseg - 1 : 0;
	set->root = root;

	if (st == NULL || set->nseg == 0) {
		for (k = 0; k < set->nseg; k++)
			set->seg[k].loop = root;
		goto kids;
	}
	if (set->env.syntax == EDI_X12 && set->env.delims.repetition) {
		scratch = xcalloc(EG_MAX_SEG_VALUES, sizeof(*scratch));
		x12_repetitions(t, scratch);
		if (t->oom)
			goto oom;
	}
	push(t, root, &st->root);
	for (k = 0; k < set->nseg; k++)
		place(t, k);
	while (t->nfr > 0)
		pop(t, set->nseg - 1);
	root->last = set->nseg - 1;
	if (t->oom)
		goto oom;
	for (k = 0; k < set->nseg; k++)
		check_segment(t, k);
	for (i = 0; i < st->nhier; i++)
		hierarchy(t, &st->hier[i]);

 kids:
	/* Children arrays, in document order (instances are in order). */
	for (i = 0; i < t->ninst; i++)
		t->inst[i]->nkid = 0;
	for (i = 1; i < t->ninst; i++)
		t->inst[i]->parent->nkid++;
	for (i = 0; i < t->ninst; i++) {
		l = t->inst[i];
		if (l->nkid && (l->kid = arena_allocarray(set->arena, l->nkid,
		    sizeof(*l->kid))) == NULL) {
			for (i = 0; i < t->ninst; i++) {
				t->inst[i]->nkid = 0;
				t->inst[i]->kid = NULL;
			}
			goto oom;
		}
		l->nkid = 0;
	}
	for (i = 1; i < t->ninst; i++) {
		l = t->inst[i];
		l->parent->kid[l->parent->nkid++] = l;
	}
	goto done;
 oom:
	{
		struct diag d;

		diag_init(&d, DIAG_ERROR, "TREE-LIMIT");
		d.scope = DIAG_SCOPE_SET;
		diag_msg(&d, "the set's memory limit (EG_MAX_SET_ARENA) was "
		    "reached while building its loop tree");
		diag_emit(ds, &d);
		set->rejected = 1;
		rc = EG_ERR_LIMIT;
	}
 done:
	for (i = 0; i <= EG_MAX_LOOP_DEPTH; i++)
		free(t->fr[i].cnt);
	free(t->inst);
	free(scratch);
	free(t);
	return rc;
}
