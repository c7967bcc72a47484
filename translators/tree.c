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

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
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

/*
 * Scratch memory is sized for common sets and lives in struct tb on the
 * stack; only unusual sets (many loop instances or missing entries, X12
 * repetitions to split) allocate, so a set costs no malloc.
 */
#define TB_INSTBUF	64	/* loop instances (segments) before the heap */
#define TB_SHORTBUF	32	/* entries below their minimum, ditto */
#define TB_SYNMEMO	16	/* segment definitions remembered by check_syntax */
#define TB_DEFERBUF	256	/* segments to check after placement, ditto */

/*
 * An open loop instance.  Its frame is at one position of the structure's
 * placement automaton (struct_pos): that of its last placement, or the
 * first after the trigger.  As positions only move forward, an entry's
 * count is the run of placements at it, and only the current one needs a
 * counter; entries left below their minimum are noted in t->shortv and
 * reported when the instance closes, in entry order as they were noted.
 */
struct frame {
	struct edi_loop	*inst;
	uint32_t	 cur;		/* position in t->pos */
	unsigned	 run;		/* placements at cur in a row */
	size_t		 short0;	/* this frame's t->shortv from here */
};

/* An entry left below its minimum: its position, the segments it got. */
struct tshort {
	uint32_t	 pos;
	unsigned	 count;
};

struct tb {
	struct edi_set	*set;
	const struct structure *st;
	const struct struct_index *ix;
	struct diag_sink *ds;
	unsigned	 ndiag;
	int		 oom;
	int		 nfr;
	struct edi_loop	**inst;		/* every instance, in order */
	size_t		 ninst;
	const struct struct_pos *pos;	/* t->ix's automaton */
	struct tshort	*shortv;	/* entries below their minimum */
	size_t		 nshort;
	size_t		 shortcap;
	struct edi_val	*scratch;	/* x12_repetitions, when needed */
	/* The segments seg_quiet() did not clear, for check_segment(). */
	uint32_t	*defer;
	size_t		 ndefer;
	/*
	 * Placement's loop instances are carved from a window on the set's
	 * arena (arena_window), claimed when placement ends or a diagnostic
	 * goes out: nothing else is allocated from it meanwhile.  wstart
	 * is NULL when none is open, and wp..wend then an empty range
	 * (at wnone), so that new_inst() tests only what is left.
	 */
	unsigned char	*wstart, *wp, *wend;
	unsigned char	 wnone;
	/*
	 * Every instance's children array, as one block (NULL: not yet
	 * taken): carved from the window when placement ends, if it fits.
	 */
	struct edi_loop	**kids;
	int		 synon;		/* synok is cleared */
	/* not cleared per set: */
	/*
	 * Whether a segment's syntax notes hold depends only on its tag's
	 * notes and which of the positions they name are present (the
	 * present-element bitmap masked with the definition's synall), and a
	 * set repeats both (PO1, PID, LIN once per line): per definition
	 * (slot: its index modulo TB_SYNMEMO), the last masked bitmap whose
	 * notes said nothing.  Cleared on its first use in a set (synon),
	 * as most sets need no note looked at one by one.
	 */
	struct {
		const struct struct_segdef *sd;
		uint64_t	 bit[2];
	}		 synok[TB_SYNMEMO];
	struct frame	 fr[EG_MAX_LOOP_DEPTH + 1];
	struct edi_loop	*instbuf[TB_INSTBUF];
	struct tshort	 shortbuf[TB_SHORTBUF];
	uint32_t	 deferbuf[TB_DEFERBUF];
};

#define TAGKEY2(a, b)		((uint32_t)(a) | (uint32_t)(b) << 8)
#define TAGKEY3(a, b, c)	(TAGKEY2(a, b) | (uint32_t)(c) << 16)

struct tdiag {
	enum diag_sev	 sev;
	const char	*code;
	uint32_t	 segi;		/* index into set->seg */
	const char	*tag;		/* NULL: the segment's */
	int		 el, comp, rep;
	int		 ack_seg, ack_el;
	const struct slice *bad;
};

/* snprintf(dst, size, "%s", src) without the format machinery. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t	 n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void	win_close(struct tb *);
static void	win_open(struct tb *);

/*
 * Hand d to the sink.  Placement's arena window (struct tb) is claimed
 * around the call, so that a sink may allocate from the set's arena too.
 */
static void
emit(struct tb *t, const struct diag *d)
{
	int	 win = t->wstart != NULL;

	if (win)
		win_close(t);
	diag_emit(t->ds, d);
	if (win)
		win_open(t);
}

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
		emit(t, &d);
		return;
	}
	diag_init(&d, a->sev, a->code);
	d.scope = DIAG_SCOPE_SET;
	if (a->segi < t->set->nseg) {
		s = &t->set->seg[a->segi];
		d.filepos = s->filepos;
		d.setpos = s->setpos;
		copy_str(d.tag, sizeof(d.tag), s->tag);
		if (s->loop && s->loop->decl)
			copy_str(d.loop, sizeof(d.loop), s->loop->decl->tag);
	}
	if (a->tag)
		copy_str(d.tag, sizeof(d.tag), a->tag);
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
	emit(t, &d);
}

#define TD(sv, cd, ...)	\
	(&(const struct tdiag){ .sev = (sv), .code = (cd), __VA_ARGS__ })

/* -- placement ---------------------------------------------------------- */

/*
 * Fill in l, a new instance under parent (not NULL), and list it: t->inst
 * has room for one per segment and the root's.
 */
static inline struct edi_loop *
inst_init(struct tb *t, struct edi_loop *l, const struct struct_loop *decl,
    uint32_t first, struct edi_loop *parent)
{
	*l = (struct edi_loop){ .decl = decl, .first = first, .last = first,
	    .parent = parent };
	/* counted here, so the children arrays take one pass to fill */
	parent->nkid++;
	t->inst[t->ninst++] = l;
	return l;
}

/* Claim what placement carved from its arena window, and close it. */
static void
win_close(struct tb *t)
{
	if (t->wstart != NULL && t->wp != t->wstart)
		arena_commit(t->set->arena, (size_t)(t->wp - t->wstart));
	t->wstart = NULL;
	t->wp = t->wend = &t->wnone;
}

/* Open a window on the set's arena, maybe empty, for new_inst(). */
static void
win_open(struct tb *t)
{
	size_t	 avail;

	if ((t->wstart = arena_window(t->set->arena, &avail)) == NULL) {
		t->wp = t->wend = &t->wnone;
		return;
	}
	t->wp = t->wstart;
	t->wend = t->wp + avail;
}

/*
 * The window cannot hold an instance: claim it, take one from the arena
 * as before windows, and open a new window past it.  The arena ends up
 * as if each instance had been allocated on its own.
 */
static struct edi_loop * __attribute__((noinline))
inst_alloc(struct tb *t)
{
	struct edi_loop *l;

	win_close(t);
	if ((l = arena_alloc_raw(t->set->arena, sizeof(*l))) == NULL) {
		t->oom = 1;
		return NULL;
	}
	win_open(t);
	return l;
}

/*
 * A set has a loop instance every two or three segments: during placement
 * each is carved raw from the window with every field set, which spares
 * the arena's tests and memset.
 */
static inline struct edi_loop *
new_inst(struct tb *t, const struct struct_loop *decl, uint32_t first,
    struct edi_loop *parent)
{
	struct edi_loop *l;

	if ((size_t)(t->wend - t->wp) >= sizeof(*l)) {
		l = (struct edi_loop *)(void *)t->wp;
		t->wp += sizeof(*l);
	} else if ((l = inst_alloc(t)) == NULL)
		return NULL;
	return inst_init(t, l, decl, first, parent);
}

/*
 * Before the window closes on placement's end: the block for every
 * instance's children array (ninst - 1 in all, as each but the root is
 * one child), carved from what the window has left when it fits, which
 * spares an allocation per parent.  Otherwise the children pass takes
 * the block from the arena, as it took each array before.
 */
static void
kids_carve(struct tb *t)
{
	size_t	 need = (t->ninst - 1) * sizeof(*t->kids);

	need = (need + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0 || (size_t)(t->wend - t->wp) < need)
		return;
	t->kids = (struct edi_loop **)(void *)t->wp;
	t->wp += need;
}

/* windows hand out multiples of ARENA_ALIGN, each instance a whole one */
_Static_assert(sizeof(struct edi_loop) % ARENA_ALIGN == 0,
    "an instance is a multiple of the arena's alignment");

/* The shortfall list is full: double it. */
static void __attribute__((noinline))
short_grow(struct tb *t)
{
	t->shortcap *= 2;
	if (t->shortv == t->shortbuf) {
		t->shortv = xreallocarray(NULL, t->shortcap,
		    sizeof(*t->shortv));
		memcpy(t->shortv, t->shortbuf, sizeof(t->shortbuf));
	} else
		t->shortv = xreallocarray(t->shortv, t->shortcap,
		    sizeof(*t->shortv));
}

static void
short_note(struct tb *t, uint32_t pos, unsigned count)
{
	if (t->nshort == t->shortcap)
		short_grow(t);
	t->shortv[t->nshort].pos = pos;
	t->shortv[t->nshort++].count = count;
}

/*
 * Open a frame for inst at position cur: the first after the trigger of
 * a loop (counted once), or the root's first.
 */
static inline void
push(struct tb *t, struct edi_loop *inst, uint32_t cur, int trigshort)
{
	struct frame *f = &t->fr[t->nfr++];

	f->inst = inst;
	f->cur = cur;
	f->run = 0;
	f->short0 = t->nshort;
	if (trigshort)
		short_note(t, cur - 1, 1);
}

static int
envelope_key(uint32_t key)
{
	return key == TAGKEY2('S', 'T') || key == TAGKEY2('S', 'E') ||
	    key == TAGKEY3('U', 'N', 'H') || key == TAGKEY3('U', 'N', 'T');
}

/* The index entry of a tag; NULL when the structure never names it. */
static const struct struct_segdef *
segdef(const struct tb *t, const char *tag)
{
	return structure_segdef(t->ix, structure_tagkey(tag));
}

/* The entry at position g has count placements, below its minimum. */
static void
pop_missing(struct tb *t, uint32_t g, unsigned count, uint32_t at)
{
	const struct struct_loop *d = t->pos[g].loop;
	const struct struct_entry *e = t->pos[g].ent;

	if (e->is_loop)
		tdiag(t, TD(DIAG_ERROR, "LOOP-MISSING", .segi = at,
		    .tag = e->tag, .ack_seg = 3),
		    "mandatory loop %s missing%s%s (%u of at least %u)",
		    e->tag, d->tag[0] ? " in loop " : "", d->tag, count,
		    e->min);
	else
		tdiag(t, TD(DIAG_ERROR, "SEG-MISSING", .segi = at,
		    .tag = e->tag, .ack_seg = 3),
		    "mandatory segment %s missing%s%s (%u of at least %u)",
		    e->tag, d->tag[0] ? " in loop " : "", d->tag, count,
		    e->min);
}

/*
 * f leaves its position for a later one, to (its end when the frame
 * closes), with the current entry or one passed over below its minimum
 * (the rare case, kept apart): note them.
 */
static void __attribute__((noinline))
leave_short(struct tb *t, const struct frame *f, uint32_t to)
{
	const struct struct_pos *pos = t->pos;
	uint32_t g;

	if (f->run < pos[f->cur].min)
		short_note(t, f->cur, f->run);
	for (g = pos[f->cur].nextmin; g < to; g = pos[g].nextmin)
		short_note(t, g, 0);
}

/* Report what the closing frame f noted, in entry order. */
static void __attribute__((noinline))
pop_short(struct tb *t, const struct frame *f, uint32_t at)
{
	size_t	 k;

	leave_short(t, f, t->pos[f->cur].end);
	for (k = f->short0; k < t->nshort; k++)
		pop_missing(t, t->shortv[k].pos, t->shortv[k].count, at);
	t->nshort = f->short0;
}

/*
 * Close the innermost frame at segment at: report the entries below their
 * minimum.  last: the last segment placed.
 */
static inline void
pop(struct tb *t, uint32_t at, uint32_t last)
{
	struct frame *f = &t->fr[t->nfr - 1];
	const struct struct_pos *p = &t->pos[f->cur];

	if (f->run < p->popmin || t->nshort > f->short0)
		pop_short(t, f, at);
	/* open until now: it ends with the last segment placed */
	f->inst->last = last;
	t->nfr--;
}

/*
 * The position a segment of sd's tag goes to from g, plus 1 (0: none), by
 * walking the positions when the index has no table: trans[] holds the
 * same answers.
 */
static uint32_t __attribute__((noinline))
trans_walk(const struct struct_pos *pos, uint32_t g,
    const struct struct_segdef *sd)
{
	if (sd == NULL || sd->col == 0)
		return 0;
	for (;;) {
		for (; pos[g].ent != NULL; g++)
			if (pos[g].key == sd->key)
				return g + 1;
		if (pos[g].depth == 0)
			return 0;
		g = pos[g].up;
	}
}

/* Segment i (s), which no open loop declares at this point. */
static void __attribute__((noinline))
unexpected(struct tb *t, uint32_t i, uint32_t key,
    const struct struct_segdef *sd)
{
	struct edi_seg *s = &t->set->seg[i];
	const struct frame *f = &t->fr[t->nfr - 1];
	const struct struct_loop *d = t->pos[f->cur].loop;
	int	 declared = sd != NULL && sd->in_table;

	s->loop = f->inst;
	if (envelope_key(key) && !declared)
		return;
	if (declared)
		tdiag(t, TD(DIAG_WARNING, "SEG-UNEXPECTED", .segi = i,
		    .ack_seg = 2), "segment %s is not expected here%s%s;"
		    " kept in the current loop", s->tag,
		    d->tag[0] ? " in loop " : "", d->tag);
	else
		tdiag(t, TD(DIAG_WARNING, "SEG-UNEXPECTED", .segi = i,
		    .ack_seg = 1), "segment %s is not declared in the "
		    "%s structure; kept in the current loop", s->tag,
		    t->st->doctype);
}

static void __attribute__((noinline))
max_use(struct tb *t, uint32_t i, const struct struct_pos *p)
{
	const struct struct_entry *e = p->ent;
	const struct struct_loop *d = p->loop;

	tdiag(t, TD(DIAG_ERROR, e->is_loop ? "LOOP-MAXUSE" : "SEG-MAXUSE",
	    .segi = i, .ack_seg = e->is_loop ? 4 : 5),
	    "%s %s occurs more than %u time%s%s%s", e->is_loop ? "loop" :
	    "segment", e->tag, e->max, e->max == 1 ? "" : "s",
	    d->tag[0] ? " in loop " : "", d->tag);
}

/*
 * Place segment i (s), whose key and definition (NULL: none) are given,
 * at g1, 1 + the position the automaton's step from the innermost frame's
 * position names (0: none), in general: whatever the counts so far say.
 */
static inline __attribute__((always_inline)) void
place_at(struct tb *t, struct edi_seg *s, uint32_t i, uint32_t key,
    const struct struct_segdef *sd, uint32_t g1, const struct struct_pos *pos)
{
	const struct struct_pos *p;
	struct frame *f = &t->fr[t->nfr - 1];
	struct edi_loop *l;
	uint32_t g = g1;

	if (g-- == 0) {
		unexpected(t, i, key, sd);
		return;
	}
	p = &pos[g];
	if (t->nfr - 1 != (int)p->depth) {
		/* the target is in an enclosing loop */
		do
			pop(t, i, i - 1);	/* i > 0: root is open */
		while (t->nfr - 1 > (int)p->depth);
		f = &t->fr[p->depth];
	}
	if (g != f->cur) {
		/* positions only move forward: g is past f->cur */
		if (f->run < pos[f->cur].min || pos[f->cur].nextmin < g)
			leave_short(t, f, g);
		f->cur = g;
		f->run = 0;
	}
	f->run++;
	if (p->max && f->run == p->max + 1)
		max_use(t, i, p);
	if (p->child == 0 || t->nfr >= (int)EG_MAX_LOOP_DEPTH ||
	    (l = new_inst(t, p->cloop, i, f->inst)) == NULL) {
		s->loop = f->inst;
		return;
	}
	push(t, l, p->child, p->trigshort);
	s->loop = l;
}

/* place_at() out of line, for place()'s rare steps. */
static void __attribute__((noinline))
place_gen(struct tb *t, struct edi_seg *s, uint32_t i, uint32_t key,
    const struct struct_segdef *sd, uint32_t g1)
{
	place_at(t, s, i, key, sd, g1, t->pos);
}

/*
 * Place segment i (s): one step of the automaton from f, the innermost
 * frame, with what it does read from the index's act (struct_index): the
 * frames to close, whether the entry is the frame's current one, whether
 * an instance opens.  Steps whose outcome depends on the counts (act's
 * GEN; rare) take place_at()'s general way, as do frames that close while
 * some entry is noted below its minimum (then t->nshort is not 0).
 * Returns the innermost frame after it.  The caller keeps it and t->ix's
 * tables in locals (act, ncol, pos): stores to the frames could alias
 * them in t.
 */
static inline __attribute__((always_inline)) struct frame *
place(struct tb *t, struct frame *f, struct edi_seg *s, uint32_t i,
    uint32_t key, const struct struct_segdef *sd, uint32_t col,
    const uint32_t *act, uint32_t ncol, const struct struct_pos *pos)
{
	const struct struct_pos *p;
	struct edi_loop *l;
	uint32_t e = act[(size_t)f->cur * ncol + col], n;

	if ((int32_t)e < 0 ||
	    ((e & STRUCT_ACT_NPOPS) != 0 && t->nshort != 0)) {
		place_gen(t, s, i, key, sd, (int32_t)e < 0 ?
		    e & STRUCT_ACT_POS : (e & STRUCT_ACT_POS) + 1);
		return &t->fr[t->nfr - 1];
	}
	p = &pos[e & STRUCT_ACT_POS];
	if ((e & STRUCT_ACT_NPOPS) != 0) {
		/* nothing to report: each closing instance ends before i */
		n = STRUCT_ACT_NPOP(e);
		t->nfr -= (int)n;
		do {
			f->inst->last = i - 1;
			f--;
		} while (--n != 0);
	}
	if (e & STRUCT_ACT_SAME) {
		f->run++;
		if ((e & STRUCT_ACT_MAX) && f->run == p->max + 1)
			max_use(t, i, p);
	} else {
		/* a later entry, whose count of 1 passes any maximum */
		f->cur = e & STRUCT_ACT_POS;
		f->run = 1;
	}
	if ((e & STRUCT_ACT_CHILD) &&
	    (l = new_inst(t, p->cloop, i, f->inst)) != NULL) {
		/* push() on the frame after f */
		f++;
		f->inst = l;
		f->cur = p->child;
		f->run = 0;
		f->short0 = t->nshort;
		t->nfr++;
		s->loop = l;
		return f;
	}
	s->loop = f->inst;
	return f;
}

/* -- repetitions -------------------------------------------------------- */

static int
basic_special(int c)
{
	return c != 0 && strchr("-./ ,&'()+#%:;?=!\"", c) != NULL;
}

/* 1 when bit n (< 128) of a 16-byte set is on. */
static int
bit_on(const unsigned char *set, unsigned n)
{
	return n < 128 && (set[n / 8] & (1U << (n % 8))) != 0;
}

/* 1 when s lies inside the bytes of within (compared as addresses). */
static int
slice_inside(struct slice s, struct slice within)
{
	uintptr_t p = (uintptr_t)s.p, w = (uintptr_t)within.p;

	return within.len > 0 && p >= w && s.len <= within.len &&
	    p - w <= within.len - s.len;
}

/*
 * The first of seg[0..n) with text outside within (n: none): slice_inside
 * with within's part hoisted, since a set has some thirty segments.
 */
static uint32_t
first_outside(const struct edi_seg *seg, uint32_t n, struct slice within)
{
	uintptr_t w = (uintptr_t)within.p, off;
	size_t	 len;
	uint32_t i;

	for (i = 0; i < n && within.len == 0; i++)
		if (seg[i].raw.len != 0)
			return i;	/* nothing lies inside nothing */
	for (i = 0; i < n; i++) {
		len = seg[i].raw.len;
		/* p < w wraps: off is then past any len <= within.len */
		off = (uintptr_t)seg[i].raw.p - w;
		if (len != 0 && (len > within.len || off > within.len - len))
			break;
	}
	return i;
}

static void
x12_repetitions(struct tb *t, int clean)
{
	struct edi_set *set = t->set;
	const struct struct_segdef *sd;
	struct edi_seg *s;
	struct edi_val *nv;
	char	 rs = set->env.delims.repetition, tag[4], b[48];
	uint32_t i;
	uint16_t nel, nval, v;

	/*
	 * One scan of the set's text (clean: rs is not in it, edi_set_scan)
	 * usually clears every segment: then a tight loop skips those whose
	 * text lies in it.
	 */
	i = 0;
	if (clean)
		i = set->segs_in_raw ? set->nseg : first_outside(set->seg,
		    set->nseg, set->raw);
	for (; i < set->nseg; i++) {
		s = &set->seg[i];
		if (s->raw.len == 0 || (clean && slice_inside(s->raw,
		    set->raw)) || memchr(s->raw.p, rs, s->raw.len) == NULL)
			continue;
		if ((sd = segdef(t, s->tag)) == NULL || sd->nelem == 0)
			continue;
		/* Separator inside a non-repeatable declared element. */
		for (v = 0; v < s->nval; v++) {
			if (bit_on(sd->repel, s->val[v].el))
				continue;
			if (memchr(s->val[v].s.p, rs, s->val[v].s.len) == NULL)
				continue;
			if (!bit_on(sd->decl, s->val[v].el))
				continue;
			tdiag(t, TD(basic_special((unsigned char)rs) ?
			    DIAG_WARNING : DIAG_ERROR, "ELEM-REPEAT", .segi = i,
			    .el = s->val[v].el, .ack_el = 12,
			    .bad = &s->val[v].s), "%s%02d \"%s\" contains the "
			    "repetition separator '%c' but is not repeatable; "
			    "kept whole", s->tag, s->val[v].el,
			    slice_show(s->val[v].s, b, sizeof(b)), rs);
			while (v + 1 < s->nval && s->val[v + 1].el ==
			    s->val[v].el)
				v++;
		}
		if (!sd->anyrep)
			continue;
		if (t->scratch == NULL)
			t->scratch = xcalloc(EG_MAX_SEG_VALUES,
			    sizeof(*t->scratch));
		if (x12_split(s->raw, &set->env.delims, sd->repel, 0,
		    t->scratch, EG_MAX_SEG_VALUES, tag, &nel, &nval) ==
		    EG_ERR_LIMIT)
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
		memcpy(nv, t->scratch, nval * sizeof(*nv));
		s->val = nv;
		s->nval = nval;
	}
}

/* -- element validation ------------------------------------------------- */

/*
 * The characters of a number of type (ST_NN, ST_R, ST_N); *lenp gets its
 * digits, the length the standard counts.
 */
static inline int
num_chars(unsigned type, struct slice v, size_t *lenp)
{
	size_t	 i = 0, digits = 0, dots = 0;

	if (type == ST_NN) {
		if (v.len && v.p[0] == '-')
			i = 1;
		for (; i < v.len; i++)
			if (v.p[i] < '0' || v.p[i] > '9')
				return 0;
		*lenp = v.len - (v.len && v.p[0] == '-');
		return *lenp > 0;
	}
	if (v.len && (v.p[0] == '-' || v.p[0] == '+'))
		i = 1;
	/* what is neither sign nor decimal mark is a digit */
	digits = v.len - i;
	for (; i < v.len; i++) {
		if (v.p[i] >= '0' && v.p[i] <= '9')
			continue;
		if (v.p[i] == '.' || (type == ST_N && v.p[i] == ','))
			dots++;
		else
			return 0;
	}
	digits -= dots;
	*lenp = digits;
	return digits > 0 && dots <= 1;
}

/*
 * Character checks for numeric and alphabetic types; *lenp gets the length
 * the standard counts: digits for numbers, characters for text.  EDIFACT
 * values are UTF-8 after the parser's transcoding (UNOC Latin-1 "é" is two
 * bytes but one character), so text is counted in code points there; X12
 * text is counted in bytes, as sent.
 */
static inline int
check_chars(const struct struct_elem *d, struct slice v, int utf8,
    size_t *lenp)
{
	size_t	 i = 0, n;

	*lenp = v.len;
	if (utf8 && d->type != ST_NN && d->type != ST_R && d->type != ST_N) {
		for (n = 0; i < v.len; i++)
			if (((unsigned char)v.p[i] & 0xc0) != 0x80)
				n++;
		*lenp = n;
		i = 0;
	}
	switch (d->type) {
	case ST_NN:
	case ST_R:
	case ST_N:
		return num_chars(d->type, v, lenp);
	case ST_A:
		for (; i < v.len; i++)
			if (v.p[i] >= '0' && v.p[i] <= '9')
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* BEG05 or SLN05-01: for messages only, so built only for them. */
static const char *
elem_id(const char *tag, const struct struct_elem *d, char *buf, size_t len)
{
	size_t	 n = strnlen(tag, 4);

	/* positions are two digits: spell them without snprintf */
	if (d->el >= 0 && d->el <= 99 && d->comp >= 0 && d->comp <= 99 &&
	    len >= n + 7) {
		memcpy(buf, tag, n);
		buf[n++] = (char)('0' + d->el / 10);
		buf[n++] = (char)('0' + d->el % 10);
		if (d->comp) {
			buf[n++] = '-';
			buf[n++] = (char)('0' + d->comp / 10);
			buf[n++] = (char)('0' + d->comp % 10);
		}
		buf[n] = '\0';
		return buf;
	}
	if (d->comp)
		snprintf(buf, len, "%s%02d-%02d", tag, d->el, d->comp);
	else
		snprintf(buf, len, "%s%02d", tag, d->el);
	return buf;
}

#define ID	elem_id(s->tag, d, id, sizeof(id))

static void
check_value(struct tb *t, uint32_t si, const struct struct_elem *d,
    const struct edi_val *v)
{
	const struct edi_seg *s = &t->set->seg[si];
	char	 id[16], b[48];
	size_t	 len, k;

	if (d->type == ST_DT) {
		if (!edi_valid_date(v->s, d->min <= 6))
			tdiag(t, TD(DIAG_ERROR, "ELEM-DATE", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = 8, .bad = &v->s),
			    "%s \"%s\" is not a valid date", ID,
			    slice_show(v->s, b, sizeof(b)));
		else if (v->s.len < d->min || v->s.len > d->max)
			tdiag(t, TD(DIAG_ERROR, v->s.len < d->min ?
			    "ELEM-SHORT" : "ELEM-LONG", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = v->s.len < d->min ? 4 : 5, .bad = &v->s),
			    "%s date \"%s\" must have %u to %u digits", ID,
			    slice_show(v->s, b, sizeof(b)), d->min, d->max);
		return;
	}
	if (d->type == ST_TM) {
		if (!edi_valid_time(v->s))
			tdiag(t, TD(DIAG_ERROR, "ELEM-TIME", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = 9, .bad = &v->s),
			    "%s \"%s\" is not a valid time", ID,
			    slice_show(v->s, b, sizeof(b)));
		else if (v->s.len < d->min || v->s.len > d->max)
			tdiag(t, TD(DIAG_ERROR, v->s.len < d->min ?
			    "ELEM-SHORT" : "ELEM-LONG", .segi = si,
			    .el = v->el, .comp = d->comp, .rep = v->rep,
			    .ack_el = v->s.len < d->min ? 4 : 5, .bad = &v->s),
			    "%s time \"%s\" must have %u to %u digits", ID,
			    slice_show(v->s, b, sizeof(b)), d->min, d->max);
		return;
	}
	if (!check_chars(d, v->s, t->set->env.syntax == EDI_EDIFACT, &len)) {
		tdiag(t, TD(DIAG_ERROR, "ELEM-CHAR", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 6, .bad = &v->s),
		    "%s \"%s\" is not %s", ID, slice_show(v->s, b, sizeof(b)),
		    d->type == ST_NN ? "an integer" : d->type == ST_A ?
		    "alphabetic" : "a decimal number");
		return;
	}
	if (len < d->min)
		tdiag(t, TD(DIAG_ERROR, "ELEM-SHORT", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 4, .bad = &v->s),
		    "%s \"%s\" is shorter than %u", ID,
		    slice_show(v->s, b, sizeof(b)), d->min);
	else if (len > d->max)
		tdiag(t, TD(DIAG_ERROR, "ELEM-LONG", .segi = si, .el = v->el,
		    .comp = d->comp, .rep = v->rep, .ack_el = 5, .bad = &v->s),
		    "%s \"%s\" is longer than %u", ID,
		    slice_show(v->s, b, sizeof(b)), d->max);
	if (d->codes == NULL)
		return;
	for (k = 0; k < d->ncodes; k++)
		if (slice_eqs(v->s, d->codes[k]))
			return;
	tdiag(t, TD(DIAG_ERROR, "ELEM-CODE", .segi = si, .el = v->el,
	    .comp = d->comp, .rep = v->rep, .ack_el = 7, .bad = &v->s),
	    "%s \"%s\" is not one of the allowed codes", ID,
	    slice_show(v->s, b, sizeof(b)));
}

#undef ID

/*
 * Element positions present in a segment, one bit each: syntax notes and
 * requirements test presence per declared position, and positions are at
 * most two digits.  Values beyond 127 cannot match a declaration.
 */
struct present {
	uint64_t	 bit[2];
	/*
	 * The repetitions of all values OR-ed (at least the highest) and
	 * AND-ed: they spare the per-element repetition counts when the
	 * segment has no repetitions (nearly always).
	 */
	unsigned	 orrep, andrep;
	/*
	 * The mcall bits of the mandatory components seen in repetition 1
	 * (scan_values with mc; incomplete when it stopped early, which only
	 * sends the segment to mand_comps).
	 */
	uint64_t	 mbits;
};

/* 1 when every value of the segment is repetition 1. */
static int
allrep1(const struct present *p)
{
	/* not as one 64-bit compare, which would go through memory */
	return ((p->orrep ^ 1) | (p->andrep ^ 1)) == 0;
}

static int
present(const struct present *p, int el)
{
	return el >= 0 && el < 128 &&
	    (p->bit[el / 64] & ((uint64_t)1 << (el % 64))) != 0;
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

/* "P0506": for messages only, so built only for them. */
static const char *
note_text(const struct struct_syntax *n, char *note, size_t len)
{
	size_t	 q = 0;
	int	 j;

	note[q++] = n->kind;
	for (j = 0; j < n->nel && q + 3 < len; j++) {
		note[q++] = (char)('0' + n->el[j] / 10);
		note[q++] = (char)('0' + n->el[j] % 10);
	}
	note[q] = '\0';
	return note;
}

#define NOTE	note_text(n, note, sizeof(note))

/*
 * 1 when note n certainly holds, from bit masks; 0 when the exact test
 * below must decide (and word the diagnostics).
 */
static int
syntax_holds(const struct struct_syntax *n, const struct struct_synmask *m,
    const struct present *pr)
{
	uint64_t h0 = pr->bit[0] & m->all[0], h1 = pr->bit[1] & m->all[1];
	int	 none = h0 == 0 && h1 == 0;
	int	 all = h0 == m->all[0] && h1 == m->all[1];

	switch (n->kind) {
	case 'P':
		return none || all;
	case 'R':
		return !none;
	case 'E':
		return none;
	case 'C':
		return !present(pr, n->el[0]) || all;
	case 'L':
		return !present(pr, n->el[0]) ||
		    (pr->bit[0] & m->rest[0]) != 0 ||
		    (pr->bit[1] & m->rest[1]) != 0;
	}
	return 0;
}

/*
 * 1 when every note of synrest holds, from sd->synfast (no note is an "E"
 * or names a position past 63, so bit[0] tells all); 0 when some note may
 * not, and the notes are tried one by one to word the diagnostics.
 */
static inline int
syntax_fast(const struct struct_segdef *sd, uint64_t bit0)
{
	const struct struct_synfast *f = sd->synfast;
	uint64_t b = bit0 & ~(uint64_t)1;	/* bit 0: no element */
	size_t	 i;

	/* usually none is triggered (CUR's fourteen, all but two absent) */
	if (((b | 1) & sd->synuntrig) == 0)
		return 1;
	for (i = 0; i < sd->nsynrest; i++, f++)
		if (((b | 1) & f->a) != 0 && (b & f->need) != f->need &&
		    (b & f->any) == 0)
			return 0;
	return 1;
}

/*
 * Which of sd's notes have to be tried on pr (b0: its bits masked with
 * sd->synall): 1 when none, because every "P" of two neighbours holds
 * (one test for all of them) and the fast test clears the rest;
 * otherwise *list (NULL: all of them, in order) and *nlist.
 */
static inline __attribute__((always_inline)) int
syntax_todo(const struct struct_segdef *sd, const struct present *pr,
    uint64_t b0, const uint16_t **list, size_t *nlist)
{
	*list = NULL;
	*nlist = sd->nsyn;
	if (sd->p1mask == 0 || ((b0 ^ b0 >> 1) & sd->p1mask) == 0) {
		if (sd->synfast != NULL && syntax_fast(sd, pr->bit[0]))
			return 1;
		if (sd->p1mask != 0) {
			*list = sd->synrest;
			*nlist = sd->nsynrest;
		}
	}
	return 0;
}

/* Whether sd's notes said nothing on b0, b1, as the memo in slot has it. */
static inline int
synok_has(const struct tb *t, size_t slot, const struct struct_segdef *sd,
    uint64_t b0, uint64_t b1)
{
	return t->synon && t->synok[slot].sd == sd &&
	    t->synok[slot].bit[0] == b0 && t->synok[slot].bit[1] == b1;
}

/* Remember that sd's notes said nothing on b0, b1, in slot. */
static void
synok_put(struct tb *t, size_t slot, const struct struct_segdef *sd,
    uint64_t b0, uint64_t b1)
{
	if (!t->synon) {
		memset(t->synok, 0, sizeof(t->synok));
		t->synon = 1;
	}
	t->synok[slot].sd = sd;
	t->synok[slot].bit[0] = b0;
	t->synok[slot].bit[1] = b1;
}

static void
check_syntax(struct tb *t, uint32_t si, const struct struct_segdef *sd,
    const struct present *pr)
{
	const struct edi_seg *s = &t->set->seg[si];
	const struct struct_syntax *n;
	const uint16_t *list = NULL;
	char	 note[40];
	size_t	 k, r, nlist, slot;
	uint64_t b0, b1;
	int	 j, np, first, second, quiet = 1;

	if (sd->nsyn == 0)
		return;
	slot = sd->idx % TB_SYNMEMO;
	b0 = pr->bit[0] & sd->synall[0];
	b1 = pr->bit[1] & sd->synall[1];
	if (synok_has(t, slot, sd, b0, b1))
		return;
	if (syntax_todo(sd, pr, b0, &list, &nlist))
		goto quiet;
	for (r = 0; r < nlist; r++) {
		k = list != NULL ? list[r] : r;
		n = sd->syn[k];
		if (syntax_holds(n, &sd->synmask[k], pr))
			continue;
		quiet = 0;
		np = 0;
		first = second = 0;
		for (j = 0; j < n->nel; j++)
			if (present(pr, n->el[j])) {
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
				if (!present(pr, n->el[j]))
					tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
					    .segi = si, .el = n->el[j],
					    .ack_el = 2), "%s%02d is required "
					    "when %s%02d is present (%s: all "
					    "or none)", s->tag, n->el[j],
					    s->tag, first, NOTE);
			break;
		case 'R':
			if (np == 0)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
				    .segi = si,
				    .el = n->el[0], .ack_el = 2),
				    "at least one "
				    "of the elements of %s is required", NOTE);
			break;
		case 'E':
			if (np > 1)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
				    .segi = si,
				    .el = second, .ack_el = 10), "%s%02d and "
				    "%s%02d exclude each other (%s)", s->tag,
				    first, s->tag, second, NOTE);
			break;
		case 'C':
			if (!present(pr, n->el[0]))
				break;
			for (j = 1; j < n->nel; j++)
				if (!present(pr, n->el[j]))
					tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
					    .segi = si, .el = n->el[j],
					    .ack_el = 2), "%s%02d is required "
					    "when %s%02d is present (%s)",
					    s->tag, n->el[j], s->tag, n->el[0],
					    NOTE);
			break;
		case 'L':
			if (!present(pr, n->el[0]))
				break;
			for (j = 1; j < n->nel; j++)
				if (present(pr, n->el[j]))
					break;
			if (j == n->nel)
				tdiag(t, TD(DIAG_ERROR, "SYNTAX-NOTE",
				    .segi = si,
				    .el = n->el[1], .ack_el = 2),
				    "%s%02d needs "
				    "at least one of the other elements of %s",
				    s->tag, n->el[0], NOTE);
			break;
		}
	}
	if (!quiet)
		return;
 quiet:
	/* every note held on the masks alone: nothing to report */
	synok_put(t, slot, sd, b0, b1);
}

#undef NOTE

/* The declaration of (el, comp) among the tag's elements, or NULL. */
static inline const struct struct_elem *
seg_elem(const struct struct_segdef *sd, int el, int comp)
{
	size_t	 k;

	if (el <= 0 || el >= STRUCT_MAXPOS || sd->elfirst[el] == 0)
		return NULL;
	k = sd->elfirst[el] - 1u;
	if (sd->elem[k].comp == comp)
		return &sd->elem[k];	/* comp 0 comes first */
	/*
	 * The run is sorted by comp without duplicates (structure_load), so
	 * with every component declared, comp sits comp places on.
	 */
	if (comp > 0 && k + (size_t)comp < sd->nelem &&
	    sd->elem[k + comp].el == el && sd->elem[k + comp].comp == comp)
		return &sd->elem[k + comp];
	for (k++; k < sd->nelem && sd->elem[k].el == el; k++)
		if (sd->elem[k].comp == comp)
			return &sd->elem[k];
	return NULL;
}

/*
 * 1 when check_value() has nothing to say about v, a text or code element
 * or component of the right length with no code list, decided without the
 * call.  EDIFACT text is counted in code points, at most its bytes, and at
 * least one when the first byte starts a character; longer minimums go to
 * check_value().
 */
static inline int
value_plain(const struct struct_elem *d, const struct edi_val *v, int utf8)
{
	if ((d->type != ST_AN && d->type != ST_ID) || d->codes != NULL ||
	    v->s.len > d->max)
		return 0;
	if (!utf8)
		return v->s.len >= d->min;
	return d->min == 0 || (d->min == 1 && v->s.len > 0 &&
	    ((unsigned char)v->s.p[0] & 0xc0) != 0x80);
}

/*
 * value_plain() for a declaration the index found plain (struct_segdef's
 * vplain, type 0): min..max, max 0 for none.  An empty EDIFACT value is
 * never plain here (the first byte is looked at): empty_plain() decides.
 */
static inline int
len_plain(unsigned min, unsigned max, unsigned umax, unsigned ulead,
    const struct edi_val *v, int utf8)
{
	if (!utf8)
		return v->s.len <= max && v->s.len >= min;
	/*
	 * At least min characters: min 0, or 1 and a first byte starts one,
	 * on struct_plain's umax and ulead (umax 0 for a larger min).
	 */
	return v->s.len - 1 < (size_t)umax &&
	    ((unsigned char)v->s.p[0] & ulead) != 0x80;
}

/*
 * The verdict on an empty value, which the parsers never deliver, as it
 * stood before vplain: component 0 or 1 of any element but an AN or ID
 * one of minimum 1 or more went through, and a later component of a
 * composite when its entry is text of minimum 0, or all zero.
 */
static int __attribute__((noinline))
empty_plain(const struct struct_segdef *sd, const struct edi_val *v)
{
	const struct struct_plain *pl;
	unsigned el = v->el, comp = v->comp;

	if (v->s.len != 0)
		return 0;
	if (comp <= 1) {
		if (sd->vn[el] == 0)
			return 1;
		pl = sd->vpl[el];
		return pl->type != 0 || pl->min == 0;
	}
	if (comp >= sd->vn[el] || sd->vpl[el]->type != ST_COMPOSITE)
		return 0;
	pl = &sd->vpl[el][comp];
	/* an alphabetic component's entry was all zero before it had one */
	return (pl->type == 0 && pl->min == 0) || pl->type == ST_A;
}

/*
 * edi_valid_date() of an eight-byte value (CCYYMMDD, nearly every date),
 * a word at a time: all digits when no byte of the word minus '0' reaches
 * 10 (the carry-free test below), then month and day from their bytes.
 */
static inline int
date8_ok(const char *p)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31,
	    31, 30, 31, 30, 31 };
	uint64_t x, y;
	unsigned m, d, yr;

	memcpy(&x, p, sizeof(x));
	y = x ^ 0x3030303030303030ULL;
	if (((((y & 0x7f7f7f7f7f7f7f7fULL) + 0x7676767676767676ULL) | y) &
	    0x8080808080808080ULL) != 0)
		return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	y = __builtin_bswap64(y);
#endif
	/* byte i of the text in bits 8i.. of y, as its digit */
	m = (unsigned)(y >> 32 & 0xff) * 10 + (unsigned)(y >> 40 & 0xff);
	d = (unsigned)(y >> 48 & 0xff) * 10 + (unsigned)(y >> 56);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m != 2 || d != 29)
		return 1;
	yr = (unsigned)(y & 0xff) * 1000 + (unsigned)(y >> 8 & 0xff) * 100 +
	    (unsigned)(y >> 16 & 0xff) * 10 + (unsigned)(y >> 24 & 0xff);
	return (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0;
}

/*
 * check_value()'s verdict on v, an alphabetic value (ST_A without a code
 * list): no digit, and min..max long whichever way the set counts, in
 * bytes (X12) or in characters (EDIFACT's UTF-8, at most its bytes).
 */
static int
alpha_ok(struct slice v, unsigned min, unsigned max)
{
	size_t	 i, n = 0;

	if (v.len > max)
		return 0;
	for (i = 0; i < v.len; i++) {
		if (v.p[i] >= '0' && v.p[i] <= '9')
			return 0;
		if (((unsigned char)v.p[i] & 0xc0) != 0x80)
			n++;
	}
	return n >= min;
}

/* The number types: ST_N, ST_NN, ST_R. */
#define TB_NUMTYPES	(1U << ST_N | 1U << ST_NN | 1U << ST_R)

/*
 * The bytes of p, 1..8 long, byte i in bits 8i.. and 0 above, read
 * without passing either end of it: two words (or three bytes) that
 * overlap where they hold the same bytes.  Little-endian.
 */
static inline uint64_t
load_short(const char *p, size_t len)
{
	uint32_t a, b;

	if (len >= 4) {
		memcpy(&a, p, sizeof(a));
		memcpy(&b, p + len - 4, sizeof(b));
		return a | (uint64_t)b << (8 * (len - 4));
	}
	return (uint64_t)(unsigned char)p[0] |
	    (uint64_t)(unsigned char)p[len >> 1] << (8 * (len >> 1)) |
	    (uint64_t)(unsigned char)p[len - 1] << (8 * (len - 1));
}

/*
 * typed_plain()'s verdict on a number (ST_NN, ST_R, ST_N) 1..8 long, by
 * its bytes at once: which are not digits (the carry-free test of
 * date8_ok), of which the first may be a sign and one other the
 * decimal mark (not for ST_NN); the digits are what is left.  The same
 * answers as the byte loop there.
 */
static inline int
num8_ok(const struct struct_plain *pl, const char *p, size_t len)
{
	/* '0' in each of the first len bytes */
	static const uint64_t zeros[9] = { 0, 0x30, 0x3030, 0x303030,
	    0x30303030, 0x3030303030ULL, 0x303030303030ULL,
	    0x30303030303030ULL, 0x3030303030303030ULL };
	uint64_t y, x, nd;
	size_t	 i = 0, dots = 0;
	unsigned c;

	y = load_short(p, len);
	x = y ^ zeros[len];
	nd = (((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7676767676767676ULL) | x) &
	    0x8080808080808080ULL;
	if ((nd & 0x80) != 0 && (p[0] == '-' ||
	    (p[0] == '+' && pl->type != ST_NN))) {
		i = 1;
		nd &= ~(uint64_t)0x80;
	}
	if (nd != 0) {
		if (pl->type == ST_NN || (nd & (nd - 1)) != 0)
			return 0;
		c = (unsigned char)(y >> (__builtin_ctzll(nd) - 7));
		if (c != '.' && (c != ',' || pl->type != ST_N))
			return 0;
		dots = 1;
	}
	return len - i - dots - pl->tlo <= pl->tspan;
}

/* 1 for a digit */
static const unsigned char tb_digit[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
};

/* typed_plain() past numbers and eight-byte dates. */
static int __attribute__((noinline))
typed_rest(const struct struct_segdef *sd, const struct struct_plain *pl,
    const struct edi_val *v)
{
	if (pl == NULL || v->s.len == 0)
		return empty_plain(sd, v);
	switch (pl->type) {
	case ST_DT:
		return edi_valid_date(v->s, pl->tmin <= 6) &&
		    v->s.len >= pl->tmin && v->s.len <= pl->tmax;
	case ST_TM:
		return edi_valid_time(v->s) && v->s.len >= pl->tmin &&
		    v->s.len <= pl->tmax;
	case ST_A:
		return alpha_ok(v->s, pl->tmin, pl->tmax);
	default:
		return 0;	/* text, or a composite's own entry */
	}
}

/*
 * A value whose text test failed, for typed entry pl (NULL: none): the
 * verdict of the entry (for a number, what number_ok() would say), or
 * empty_plain()'s.  Out of line, so that the text test of val_plain stays
 * small enough to inline into the value scan; numbers and eight-byte
 * dates, most of what comes here, call nothing, the rest go on to
 * typed_rest().
 */
static int __attribute__((noinline))
typed_plain(const struct struct_segdef *sd, const struct struct_plain *pl,
    const struct edi_val *v)
{
	const char *p = v->s.p;
	size_t	 i, k, dots = 0, len = v->s.len;

	/*
	 * num_chars() and the count against tmin..tmax as number_ok() has
	 * them, in fewer steps: the count in one compare (tlo, tspan), and
	 * no count kept of what can be worked out (digits: what is neither
	 * sign nor dot).  1..8 bytes (len - 1 < 8) by their bytes at once.
	 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (pl != NULL && pl->quick == 1 && len - 1 < 8) {
		/* up to three digits (most counts): three bytes */
		if (len <= 3 && (tb_digit[(unsigned char)p[0]] &
		    tb_digit[(unsigned char)p[len >> 1]] &
		    tb_digit[(unsigned char)p[len - 1]]) != 0)
			return len - pl->tlo <= pl->tspan;
		return num8_ok(pl, p, len);
	}
#endif
	/* a date of eight bytes, which tmin..tmax allows (quick 2) */
	if (pl != NULL && pl->quick == 2 && len == 8)
		return date8_ok(p);
	if (pl != NULL && len != 0) {
		if (pl->type == ST_NN) {
			i = p[0] == '-';
			for (k = i; k < len; k++)
				if (p[k] < '0' || p[k] > '9')
					return 0;
			return len - i - pl->tlo <= pl->tspan;
		}
		if (((1U << pl->type) & TB_NUMTYPES) != 0) {
			i = p[0] == '-' || p[0] == '+';
			for (k = i; k < len; k++) {
				if (p[k] >= '0' && p[k] <= '9')
					continue;
				if (p[k] == '.' || (pl->type == ST_N &&
				    p[k] == ','))
					dots++;
				else
					return 0;
			}
			return dots <= 1 && len - i - dots - pl->tlo <=
			    pl->tspan;
		}
		if (pl->type == ST_DT && v->s.len == 8)
			return date8_ok(v->s.p) && v->s.len >= pl->tmin &&
			    v->s.len <= pl->tmax;
	}
	return typed_rest(sd, pl, v);
}

/*
 * val_plain_comp() for a component other than 1 (0, or of a composite).
 */
static inline __attribute__((always_inline)) int
val_plain_other(const struct struct_segdef *sd, const struct edi_val *v,
    int utf8, int mc, uint64_t *mbits)
{
	const struct struct_plain *pl;
	unsigned el = v->el;

	if (v->comp >= sd->vn[el])
		return typed_plain(sd, NULL, v);
	pl = &sd->vpl[el][v->comp];
	if (mc)
		*mbits |= pl->mbit;
	if (len_plain(pl->min, pl->max, pl->umax, pl->ulead, v, utf8))
		return 1;
	return typed_plain(sd, pl, v);
}

/*
 * val_plain() past its repetition and position tests (v repetition 0 or
 * 1, el below STRUCT_MAXPOS): by component.
 */
static inline __attribute__((always_inline)) int
val_plain_comp(const struct struct_segdef *sd, const struct edi_val *v,
    int utf8, int mc, uint64_t *mbits)
{
	unsigned el = v->el;

	if (v->comp == 1) {
		if (mc)
			*mbits |= sd->p1mbit[el];
		if (len_plain(sd->p1min[el], sd->p1max[el], sd->p1umax[el],
		    sd->p1ulead[el], v, utf8))
			return 1;
		return typed_plain(sd, sd->p1ty[el], v);
	}
	return val_plain_other(sd, v, utf8, mc, mbits);
}

/*
 * 1 when check_segment() has nothing to say about v, from the index alone:
 * text of the right length, a number, a date or a time.  The text test
 * comes first, component 1 (nearly every value) straight from p1min and
 * p1max; typed_plain() takes the rest, and empty values.  With mc, the
 * mandatory component v is (struct_segdef's mcall) goes into *mbits.
 */
static inline __attribute__((always_inline)) int
val_plain(const struct struct_segdef *sd, const struct edi_val *v, int utf8,
    int mc, uint64_t *mbits)
{
	unsigned el = v->el;
	uint32_t rc;

	/*
	 * X12: repetition 1, component 1 (nearly every value there), in one
	 * compare: rep and comp are adjacent, and 1 in both halves reads the
	 * same in either byte order.  Its text test is then one subtraction
	 * against the index's p1lo and p1span.  (EDIFACT has composites:
	 * there the second test would only add to the others.)
	 */
	if (!utf8) {
		memcpy(&rc, &v->rep, sizeof(rc));
		if (rc == 0x00010001U && el < STRUCT_MAXPOS) {
			if (mc)
				*mbits |= sd->p1mbit[el];
			if (v->s.len - sd->p1lo[el] <= sd->p1span[el])
				return 1;
			return typed_plain(sd, sd->p1ty[el], v);
		}
	}
	if (v->rep > 1 || el >= STRUCT_MAXPOS)
		return 0;
	return val_plain_comp(sd, v, utf8, mc, mbits);
}

_Static_assert(offsetof(struct edi_val, comp) ==
    offsetof(struct edi_val, rep) + sizeof(uint16_t),
    "val_plain reads rep and comp as one word");
/* p1lo's SIZE_MAX: no value is that long */
_Static_assert(EG_MAX_DOC_SIZE < SIZE_MAX, "a value may reach p1lo's sentinel");

#define TB_SLOWVALS	32	/* values scan_values() lists for check_val */

/* One value's part of scan_values()'s present bits and repetitions. */
static inline __attribute__((always_inline)) void
scan_note(const struct edi_val *v, int reps, uint64_t *b0, uint64_t *b1,
    unsigned *orrep, unsigned *andrep)
{
	uint64_t m = (uint64_t)1 << (v->el % 64);

	if (v->el < 64)
		*b0 |= m;
	else if (v->el < 128)
		*b1 |= m;
	if (reps) {
		*orrep |= v->rep;
		*andrep &= v->rep;
	}
}

/*
 * What check_segment() needs from the values of s, in one pass: the
 * present bits, and the values val_plain() cannot clear (nearly all are
 * plain, so each value is read once).  The first TB_SLOWVALS of those go
 * to slow[]; *nslow gets their number and the return value is where to
 * scan on for more (s->nval when slow[] held them all).  Without reps
 * (nothing will ask: X12 segments without mandatory components or
 * repeatable elements), the repetition summary says "unknown".
 */
static inline __attribute__((always_inline)) uint16_t
scan_values(const struct edi_seg *s, const struct struct_segdef *sd,
    int utf8, int reps, int mc, struct present *p, uint16_t *slow,
    size_t *nslow)
{
	const struct edi_val *v = s->val, *end = edi_val_end(s);
	uint64_t b0 = 0, b1 = 0, mb = 0;
	unsigned orrep = 0, andrep = ~0U;
	uint16_t rest = s->nval;
	size_t	 n = 0;

	for (; v < end; v++) {
		scan_note(v, reps, &b0, &b1, &orrep, &andrep);
		if (val_plain(sd, v, utf8, mc, &mb))
			continue;
		if (n == TB_SLOWVALS) {
			rest = (uint16_t)(v - s->val);
			break;
		}
		slow[n++] = (uint16_t)(v - s->val);
	}
	/* past TB_SLOWVALS values to check: the bits only */
	for (; v < end; v++)
		scan_note(v, reps, &b0, &b1, &orrep, &andrep);
	p->bit[0] = b0;
	p->bit[1] = b1;
	p->orrep = reps ? orrep : ~0U;
	p->andrep = reps ? andrep : 0;
	p->mbits = mb;
	/* without declarations, values are not looked at */
	if (sd->nelem == 0) {
		n = 0;
		rest = s->nval;
	}
	*nslow = n;
	return rest;
}

/*
 * 1 when check_value() has nothing to say about v, a number (X12 R, N0..N9,
 * EDIFACT n) without a code list: check_chars() and the length test
 * inline, since numbers are most of the values that are not plain.  0 for
 * other types, or when check_value() must decide.
 */
static inline int
number_ok(const struct struct_elem *d, struct slice v)
{
	size_t	 digits;

	if (d->codes != NULL ||
	    (d->type != ST_NN && d->type != ST_R && d->type != ST_N))
		return 0;
	return num_chars(d->type, v, &digits) && digits >= d->min &&
	    digits <= d->max;
}

/* check_val's reports, apart from its common path. */
static void __attribute__((noinline))
repeat_count(struct tb *t, uint32_t si, const struct struct_elem *d,
    const struct edi_val *v)
{
	const struct edi_seg *s = &t->set->seg[si];
	int	 nrep;

	if ((nrep = edi_nrep(s, v->el)) > (int)(d->rep ? d->rep : 1))
		tdiag(t, TD(DIAG_ERROR, "ELEM-REPEAT", .segi = si,
		    .el = v->el, .rep = nrep, .ack_el = 12),
		    "%s%02d repeats %d times, at most %u allowed",
		    s->tag, v->el, nrep, d->rep ? d->rep : 1);
}

static void __attribute__((noinline))
simple_component(struct tb *t, uint32_t si, const struct edi_val *v)
{
	const struct edi_seg *s = &t->set->seg[si];
	char	 b[48];

	tdiag(t, TD(DIAG_ERROR, "ELEM-COMPONENT", .segi = si, .el = v->el,
	    .comp = v->comp, .rep = v->rep, .ack_el = 13, .bad = &v->s),
	    "%s%02d is a simple element but has component %d \"%s\"",
	    s->tag, v->el, v->comp, slice_show(v->s, b, sizeof(b)));
}

/*
 * One value val_plain() did not clear.  *lastel: the element whose repeat
 * count was checked last.
 */
static void
check_val(struct tb *t, uint32_t si, const struct struct_segdef *sd,
    const struct present *pr, const struct edi_val *v, int *lastel)
{
	const struct struct_elem *d, *cd;
	int	 utf8 = t->set->env.syntax == EDI_EDIFACT;

	if ((d = seg_elem(sd, v->el, 0)) == NULL) {
		/* maybe only components are declared */
		if (v->comp >= 1 && (cd = seg_elem(sd, v->el, v->comp)) !=
		    NULL && !number_ok(cd, v->s))
			check_value(t, si, cd, v);
		return;
	}
	if (v->el != *lastel) {
		*lastel = v->el;
		/*
		 * X12 repetitions of undeclared elements are found by
		 * x12_repetitions(); EDIFACT's parser splits them itself
		 * (syntax 4), so every count is checked here.
		 */
		if ((d->rep > 1 || utf8) && pr->orrep > (d->rep ? d->rep : 1))
			repeat_count(t, si, d, v);
	}
	if (d->type == ST_COMPOSITE) {
		if ((cd = seg_elem(sd, v->el, v->comp)) != NULL &&
		    !value_plain(cd, v, utf8) && !number_ok(cd, v->s))
			check_value(t, si, cd, v);
		return;
	}
	if (v->comp > 1) {
		simple_component(t, si, v);
		return;
	}
	if (!value_plain(d, v, utf8) && !number_ok(d, v->s))
		check_value(t, si, d, v);
}

/*
 * The mandatory components, when every mandatory element is there and
 * every value is repetition 1 (the usual case): the values are then in
 * (el, comp) order like the declarations, so one walk along them finds
 * each component instead of a search per component.  comp_present()
 * confirms an absence, so nothing rests on that order.
 */
static void
mand_comps(struct tb *t, uint32_t si, const struct struct_segdef *sd,
    const struct present *pr)
{
	const struct edi_seg *s = &t->set->seg[si];
	const struct edi_val *v = s->val, *end = edi_val_end(s);
	uint32_t key;
	size_t	 m;
	int	 el, comp;

	for (m = 0; m < sd->nmcomp; m++) {
		key = sd->mcomp[m];
		while (v < end && ((uint32_t)v->el << 16 | v->comp) < key)
			v++;
		if (v < end && ((uint32_t)v->el << 16 | v->comp) == key)
			continue;
		el = (int)(key >> 16);
		comp = (int)(key & 0xffff);
		if (!present(pr, el))
			continue;	/* no repetition at all */
		if (!comp_present(s, el, comp, 1))
			tdiag(t, TD(DIAG_ERROR, "ELEM-MISSING", .segi = si,
			    .el = el, .comp = comp, .rep = 1, .ack_el = 1),
			    "mandatory component %s%02d-%02d is missing",
			    s->tag, el, comp);
	}
}

/*
 * 1 when mand_comps() would have nothing to say, from the scan's bits:
 * every mandatory component of a present element has a value (one of an
 * absent element is not asked for).
 */
static inline int
mand_seen(const struct struct_segdef *sd, const struct present *pr)
{
	uint64_t miss;

	if (sd->mcall == 0)
		return 0;
	for (miss = sd->mcall & ~pr->mbits; miss != 0; miss &= miss - 1)
		if (present(pr, sd->mcel[__builtin_ctzll(miss)]))
			return 0;
	return 1;
}

/*
 * The requirement of elem[k..kend): mandatory elements present, and
 * mandatory components in every present repetition.  Out of line: most
 * segments have every mandatory element and no component to look for.
 */
static void __attribute__((noinline))
mand_elems(struct tb *t, uint32_t si, const struct struct_segdef *sd,
    const struct present *pr, size_t k, size_t kend)
{
	const struct edi_seg *s = &t->set->seg[si];
	const struct struct_elem *d;
	uint16_t i;
	int	 nrep, r;

	for (; k < kend; k++) {
		d = &sd->elem[k];
		if (d->req != SR_MANDATORY)
			continue;
		if (d->comp == 0) {
			if (!present(pr, d->el))
				tdiag(t, TD(DIAG_ERROR, "ELEM-MISSING",
				    .segi = si, .el = d->el, .ack_el = 1),
				    "mandatory element %s%02d is missing",
				    s->tag, d->el);
			continue;
		}
		/* a component: mandatory in every present repetition */
		if (!present(pr, d->el))
			continue;	/* no repetition at all */
		if (allrep1(pr)) {
			/* one repetition, and d->el has a value in it */
			if (!comp_present(s, d->el, d->comp, 1))
				tdiag(t, TD(DIAG_ERROR, "ELEM-MISSING",
				    .segi = si, .el = d->el, .comp = d->comp,
				    .rep = 1, .ack_el = 1), "mandatory "
				    "component %s%02d-%02d is missing", s->tag,
				    d->el, d->comp);
			continue;
		}
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
}

/*
 * The checks of segment si (s) against sd.
 */
static inline __attribute__((always_inline)) void
check_segment(struct tb *t, uint32_t si, const struct edi_seg *s,
    const struct struct_segdef *sd, int utf8)
{
	struct present pr;
	size_t	 k, nslow;
	uint16_t i, rest, slow[TB_SLOWVALS];
	int	 lastel = 0;

	if (sd == NULL)
		return;		/* no elements, no syntax notes */
	/* copies of the scan where utf8 and reps are constants */
	if (utf8 && sd->mcall != 0)
		rest = scan_values(s, sd, 1, 1, 1, &pr, slow, &nslow);
	else if (utf8)
		rest = scan_values(s, sd, 1, 1, 0, &pr, slow, &nslow);
	else if (sd->mcall != 0)
		rest = scan_values(s, sd, 0, 1, 1, &pr, slow, &nslow);
	else if (sd->mandcomp || sd->anyrep)
		rest = scan_values(s, sd, 0, 1, 0, &pr, slow, &nslow);
	else
		rest = scan_values(s, sd, 0, 0, 0, &pr, slow, &nslow);
	/*
	 * Requirement; usually every mandatory element is there, and then
	 * only the mandatory components are looked at.
	 */
	if (((sd->mand[0] & ~pr.bit[0]) | (sd->mand[1] & ~pr.bit[1])) != 0)
		mand_elems(t, si, sd, &pr, 0, sd->nelem);
	else if (sd->mandcomp) {
		if (sd->nmcomp > 0 && allrep1(&pr)) {
			if (!mand_seen(sd, &pr))
				mand_comps(t, si, sd, &pr);
		} else
			mand_elems(t, si, sd, &pr, sd->mcfirst, sd->mcend);
	}
	/*
	 * Values, those scan_values() could not clear, in order.  Plain ones
	 * are a first repetition of a text or code element or component of
	 * the right length (later repetitions go on to the repeat-count
	 * check in check_val).
	 */
	for (k = 0; k < nslow; k++)
		check_val(t, si, sd, &pr, &s->val[slow[k]], &lastel);
	for (i = rest; i < s->nval; i++)
		if (!val_plain(sd, &s->val[i], utf8, 0, NULL))
			check_val(t, si, sd, &pr, &s->val[i], &lastel);
	if (sd->nsyn != 0)
		check_syntax(t, si, sd, &pr);
}

/*
 * syntax_quiet() past its memo, out of line: b0 and b1 are pr's bits
 * masked with sd->synall, slot sd's memo.
 */
static int __attribute__((noinline))
syntax_quiet_notes(struct tb *t, const struct struct_segdef *sd,
    const struct present *pr, uint64_t b0, uint64_t b1, size_t slot)
{
	const uint16_t *list = NULL;
	size_t	 k, r, nlist;

	if (syntax_todo(sd, pr, b0, &list, &nlist))
		goto quiet;
	for (r = 0; r < nlist; r++) {
		k = list != NULL ? list[r] : r;
		if (!syntax_holds(sd->syn[k], &sd->synmask[k], pr))
			return 0;
	}
 quiet:
	synok_put(t, slot, sd, b0, b1);
	return 1;
}

/*
 * 1 when every note of sd holds on pr (what check_syntax() would say
 * nothing about), without a word: the memo, the masks, and the notes one
 * by one as check_syntax() tries them.  A quiet answer is remembered as
 * check_syntax() remembers it.
 */
static inline int
syntax_quiet(struct tb *t, const struct struct_segdef *sd,
    const struct present *pr)
{
	size_t	 slot = sd->idx % TB_SYNMEMO;
	uint64_t b0 = pr->bit[0] & sd->synall[0];
	uint64_t b1 = pr->bit[1] & sd->synall[1];

	if (synok_has(t, slot, sd, b0, b1))
		return 1;
	return syntax_quiet_notes(t, sd, pr, b0, b1, slot);
}

/*
 * 1 << el for el < 64, from memory: the scan's loop then keeps no register
 * for the constant its shift would need.
 */
#define TB_B(n)		((uint64_t)1 << (n))
#define TB_B4(n)	TB_B(n), TB_B(n + 1), TB_B(n + 2), TB_B(n + 3)
#define TB_B16(n)	TB_B4(n), TB_B4(n + 4), TB_B4(n + 8), TB_B4(n + 12)
static const uint64_t tb_elbit[64] = { TB_B16(0), TB_B16(16), TB_B16(32),
    TB_B16(48) };

/*
 * The values of s, for seg_quiet(): the present bits (and repetitions
 * and mandatory components, as scan_values() notes them) when
 * val_plain() clears every one; 0 at the first it does not.  Without
 * vals (no declarations) only the bits.  2 (p not filled in) when the
 * values also settle all that seg_quiet() would ask, see qmore.
 */
static inline __attribute__((always_inline)) int
scan_quiet(const struct edi_seg *s, const struct struct_segdef *sd,
    int utf8, int reps, int mc, int vals, struct present *p)
{
	const struct edi_val *v = s->val, *end = edi_val_end(s);
	uint64_t b0 = 0, b1 = 0, mb = 0;
	unsigned orrep = 0, andrep = ~0U;
	uint32_t rc;

	/*
	 * Values of repetition 1 at positions below 64 (nearly all): the
	 * present bit needs no range test, the repetition summary is known
	 * once one such value was seen, and val_plain()'s own repetition
	 * and position tests are settled (for X12 with component 1, in the
	 * compare of rep and comp as one word; EDIFACT goes on by component).
	 * The first other value leaves for the full loop below.  Values
	 * are in element order, so the last one says whether all are below
	 * 64, once for the segment.
	 */
	if (v < end && end[-1].el >= 64)
		goto rest;
	for (; v < end; v++) {
		if (utf8) {
			/*
			 * Component 1 (more than half the values) by the
			 * same one-word compare as X12's; the others are
			 * looked at by component.
			 */
			memcpy(&rc, &v->rep, sizeof(rc));
			if (rc != 0x00010001U) {
				if (v->rep != 1)
					goto rest;
				b0 |= tb_elbit[v->el];
				if (vals && !val_plain_other(sd, v, 1, mc, &mb))
					return 0;
				continue;
			}
			b0 |= tb_elbit[v->el];
			if (!vals)
				continue;
			if (mc)
				mb |= sd->p1mbit[v->el];
			/*
			 * Both in registers here: without this gcc moves the
			 * OR-s past the tests, on the paths that keep them,
			 * and stores their operands to the stack meanwhile
			 * (1.5M instructions more on 2 MB of ORDERS).
			 */
			__asm__("" : "+r"(b0), "+r"(mb));
			if (len_plain(0, 0, sd->p1umax[v->el],
			    sd->p1ulead[v->el], v, 1))
				continue;
			if (!typed_plain(sd, sd->p1ty[v->el], v))
				return 0;
		} else {
			memcpy(&rc, &v->rep, sizeof(rc));
			if (rc != 0x00010001U)
				goto rest;
			b0 |= sd->elbit[v->el];
			if (!vals)
				continue;
			if (mc)
				mb |= sd->p1mbit[v->el];
			if (v->s.len - sd->p1lo[v->el] <= sd->p1span[v->el])
				continue;
			if (!typed_plain(sd, sd->p1ty[v->el], v))
				return 0;
		}
	}
	/*
	 * Every value here (nearly every segment): bit[1] is 0 and every
	 * repetition 1, so with qmore 0 the requirement is settled by
	 * mand[0] and mcall, and seg_quiet() has nothing more to ask (2).
	 * Without values mb is 0: a segment with mandatory components goes
	 * on to seg_quiet's own tests, as does one with a mandatory
	 * component missing (mand_seen() decides whether its element is
	 * there).  In X12, where the elements with mandatory components
	 * (mcebit) are all absent (REF without REF04, nearly every one),
	 * none is asked for, as mand_seen() would find: mcall is not
	 * looked at.  X12 segments mostly have syntax notes: there qverd's bit
	 * says whether they and mand[0] settle all, with the pairs' test,
	 * in the same step (structure load worked out every answer over
	 * their positions; a segment whose positions do not fit has qverd
	 * 0 and goes on to seg_quiet's own tests).  (mc 0: mcall is 0.)
	 */
	if (utf8) {
		if (((sd->mand[0] & ~b0) | (sd->mcall & ~mb)) == 0 &&
		    !sd->qmore)
			return 2;
	} else if (((mc && (b0 & sd->mcebit) != 0 ? sd->mcall & ~mb : 0) |
	    ((b0 ^ b0 >> 1) & sd->p1mask)) == 0 &&
	    (sd->qverd >> (b0 >> sd->qvlo & sd->qvmask) & 1) != 0)
		return 2;
	if (v != s->val)
		orrep = andrep = 1;
	goto done;
 rest:
	if (v != s->val)
		orrep = andrep = 1;
	for (; v < end; v++) {
		scan_note(v, reps, &b0, &b1, &orrep, &andrep);
		if (vals && !val_plain(sd, v, utf8, mc, &mb))
			return 0;
	}
 done:
	p->bit[0] = b0;
	p->bit[1] = b1;
	p->orrep = reps ? orrep : ~0U;
	p->andrep = reps ? andrep : 0;
	p->mbits = mb;
	return 1;
}

/*
 * 1 when check_segment() would have nothing to say about s (sd not
 * NULL), decided without a diagnostic: every value plain, every
 * mandatory element and component there, every syntax note held.  0
 * when it may have something to say: check_segment() then decides, after
 * placement, as before.
 */
static inline __attribute__((always_inline)) int
seg_quiet(struct tb *t, const struct edi_seg *s,
    const struct struct_segdef *sd, int utf8)
{
	struct present pr, prc;
	int	 ok;

	if (utf8) {
		if (sd->nelem == 0)
			/* without declarations, values are not looked at */
			ok = scan_quiet(s, sd, 1, 1, 0, 0, &pr);
		else
			/* mbit 0 where mcall is: one copy of the EDIFACT scan */
			ok = scan_quiet(s, sd, 1, 1, 1, 1, &pr);
	} else if (sd->qscan == 0)
		/*
		 * The repetition summary costs nothing in scan_quiet's first
		 * loop, so it is not worth a test of whether anything will
		 * ask (mandatory components, repeatable elements).
		 */
		ok = scan_quiet(s, sd, 0, 1, 0, 1, &pr);
	else if (sd->qscan == 1)
		ok = scan_quiet(s, sd, 0, 1, 1, 1, &pr);
	else
		ok = scan_quiet(s, sd, 0, 1, 0, 0, &pr);
	if (ok != 1)
		return ok != 0;
	if (((sd->mand[0] & ~pr.bit[0]) | (sd->mand[1] & ~pr.bit[1])) != 0)
		return 0;
	if (sd->mandcomp && (sd->nmcomp == 0 || !allrep1(&pr) ||
	    !mand_seen(sd, &pr)))
		return 0;
	if (sd->nsyn == 0)
		return 1;
	/*
	 * Notes that the masks decide (synfast) are decided in fewer steps
	 * than the memo takes: the pairs' test, then synverd's bit for the
	 * rest's positions (every answer worked out when the structure was
	 * loaded), or the rest note by note.
	 */
	if (sd->synfast != NULL) {
		if (((pr.bit[0] ^ pr.bit[0] >> 1) & sd->p1mask) != 0)
			return 0;
		if (sd->synvw)
			return (int)(sd->synverd >> (pr.bit[0] >> sd->synlo &
			    sd->synvmask) & 1);
		return syntax_fast(sd, pr.bit[0]);
	}
	/*
	 * A copy: pr's own address then never leaves the scan, whose bits
	 * stay in registers instead of being stored for this rare call.
	 */
	prc = pr;
	return syntax_quiet(t, sd, &prc);
}

/* -- hierarchy ---------------------------------------------------------- */

struct hslot {
	struct slice	 id;
	struct edi_loop	*l;
	unsigned	 depth;
};

static struct hslot *
hfind(struct hslot *tab, size_t cap, struct slice id)
{
	size_t	 j = slice_hash(id) & (cap - 1);

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
	uint32_t k, cnt, hkey, ckey;
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
				    h->parent, slice_show(*pid, b, sizeof(b)),
				    h->tag);
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
			    h->id, slice_show(*id, b, sizeof(b)),
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
	hkey = structure_tagkey(h->tag);
	ckey = structure_tagkey(h->count_tag);
	for (k = 0; k < set->nseg; k++)
		if (edi_seg_tagkey(&set->seg[k]) == hkey)
			cnt++;
	for (k = 0; k < set->nseg; k++) {
		if (edi_seg_tagkey(&set->seg[k]) != ckey)
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
				    h->count_el, slice_show(*cv, b, sizeof(b)),
				    cnt, h->tag, cnt == 1 ? "" : "s");
		}
		break;
	}
}

/* seg_slot() past its home slot: the same probing as structure_segdef_at. */
static const struct struct_slot * __attribute__((noinline))
seg_slot_probe(const struct struct_slot *slot, unsigned bits, uint32_t key)
{
	uint32_t j = (key * STRUCT_SLOT_MUL) >> (32 - bits);

	while (slot[j].sd != NULL && slot[j].key != key)
		j = (j + 1) & ((1U << bits) - 1);
	return &slot[j];
}

/*
 * The slot structure_segdef_at() stops at for key: key's own (its sd and
 * col), or a free one (sd NULL, col 0).  The home slot is compared inline
 * and the probing is out of line: a tag's key is nearly always at home.
 * A free slot's key is 0, which only the root's "" has, so a free home
 * slot that matches is where the probing would stop too.
 */
static inline __attribute__((always_inline)) const struct struct_slot *
seg_slot(const struct struct_slot *slot, unsigned bits, uint32_t key)
{
	uint32_t j = (key * STRUCT_SLOT_MUL) >> (32 - bits);

	if (slot[j].key == key)
		return &slot[j];
	return seg_slot_probe(slot, bits, key);
}

/*
 * Place every segment, and check each as it is placed while its values
 * are at hand: a segment seg_quiet() clears needs nothing more, the
 * others are listed in t->defer for check_segment() once placement is
 * done, so that every diagnostic comes in the order it always had
 * (placement's first, then the segments' in order).
 */
static inline __attribute__((always_inline)) void
place_all(struct tb *t, const struct struct_slot *slot, unsigned bits,
    const uint32_t *act, uint32_t ncol, const struct struct_pos *pos,
    int utf8, int walk)
{
	struct edi_seg *seg = t->set->seg, *s;
	const struct struct_segdef *sd;
	const struct struct_slot *sl;
	struct frame *f = &t->fr[t->nfr - 1];
	uint32_t k, key, nseg = t->set->nseg;

	/* in locals: the stores to t and the frames could alias set's */
	for (k = 0; k < nseg; k++) {
		s = &seg[k];
		key = edi_seg_tagkey(s);
		sl = seg_slot(slot, bits, key);
		sd = sl->sd;
		if (!walk)
			f = place(t, f, s, k, key, sd, sl->col, act, ncol,
			    pos);
		else
			place_at(t, s, k, key, sd, trans_walk(pos,
			    t->fr[t->nfr - 1].cur, sd), pos);
		if (sd != NULL && !seg_quiet(t, s, sd, utf8))
			t->defer[t->ndefer++] = k;
	}
}

/*
 * X12's place_all() for an index without a table (trans NULL, the
 * structure too large for one): a copy of its own, so that the one with
 * a table does not test for it at every segment.  (EDIFACT's copy keeps
 * the test: there gcc lays out the loop better with it.)
 */
static void __attribute__((noinline))
place_walk(struct tb *t, const struct struct_slot *slot, unsigned bits,
    const struct struct_pos *pos)
{
	place_all(t, slot, bits, NULL, 0, pos, 0, 1);
}

/* -- entry point -------------------------------------------------------- */

int
edi_tree_build(struct edi_set *set, const struct structure *st,
    struct diag_sink *ds)
{
	struct tb tb, *t = &tb;
	struct struct_index *ixown = NULL;
	struct edi_loop *root, *l, **kids;
	const struct struct_slot *slot;
	const struct struct_pos *pos;
	const uint32_t *act;
	struct edi_seg *s;
	size_t	 i;
	uint32_t k, ncol;
	unsigned bits, scan;
	int	 rc = 0, utf8;

	if (set == NULL || set->arena == NULL)
		return EG_ERR_INVAL;
	memset(t, 0, offsetof(struct tb, synok));
	t->set = set;
	t->st = st;
	t->ds = ds;
	/* EDIFACT: its parser's mark (edifact.c, mplain); X12: below */
	if (set->env.syntax != EDI_EDIFACT)
		set->plain = 0;
	t->inst = t->instbuf;
	/* at most one instance per segment, and the root */
	if (set->nseg >= TB_INSTBUF)
		t->inst = xreallocarray(NULL, (size_t)set->nseg + 1,
		    sizeof(*t->inst));
	t->shortv = t->shortbuf;
	t->shortcap = TB_SHORTBUF;
	t->defer = t->deferbuf;
	t->wp = t->wend = &t->wnone;
	if ((root = arena_alloc_raw(set->arena, sizeof(*root))) == NULL)
		goto oom;
	*root = (struct edi_loop){ .last = set->nseg ? set->nseg - 1 : 0 };
	t->inst[t->ninst++] = root;
	set->root = root;

	if (st == NULL || set->nseg == 0) {
		for (k = 0; k < set->nseg; k++)
			set->seg[k].loop = root;
		goto kids;
	}
	/* structure_load indexes every structure; others get one here. */
	if ((t->ix = st->idx) == NULL)
		t->ix = ixown = structure_index_new(st);
	t->pos = t->ix->pos;
	if (set->nseg > TB_DEFERBUF)
		t->defer = xreallocarray(NULL, set->nseg, sizeof(*t->defer));
	if (set->env.syntax == EDI_X12) {
		scan = edi_set_scan(set->raw, &set->env.delims,
		    set->env.delims.repetition);
		set->plain = (scan & EDI_SCAN_PLAIN) && set->segs_in_raw;
		if (set->env.delims.repetition) {
			x12_repetitions(t, set->raw.len > 0 &&
			    !(scan & EDI_SCAN_RS));
			if (t->oom)
				goto oom;
		}
	}
	push(t, root, 0, 0);
	/*
	 * An instance's last segment is set when its frame is popped: every
	 * segment placed meanwhile went into it or into a nested instance.
	 */
	slot = t->ix->slot;		/* in locals: place() stores a lot */
	bits = t->ix->bits;
	/* a table (trans, and act from it) unless too large */
	act = t->ix->trans != NULL ? t->ix->act : NULL;
	ncol = t->ix->ncol;
	pos = t->ix->pos;
	win_open(t);
	if (set->env.syntax == EDI_EDIFACT)
		place_all(t, slot, bits, act, ncol, pos, 1, act == NULL);
	else if (act == NULL)
		place_walk(t, slot, bits, pos);
	else
		place_all(t, slot, bits, act, ncol, pos, 0, 0);
	kids_carve(t);
	win_close(t);
	while (t->nfr > 0)
		pop(t, set->nseg - 1, set->nseg - 1);
	root->last = set->nseg - 1;
	if (t->oom)
		goto oom;
	/* what placement could not clear without a word, in order */
	utf8 = set->env.syntax == EDI_EDIFACT;
	for (i = 0; i < t->ndefer; i++) {
		k = t->defer[i];
		s = &set->seg[k];
		check_segment(t, k, s, structure_segdef_at(slot, bits,
		    edi_seg_tagkey(s)), utf8);
	}
	for (i = 0; i < st->nhier; i++)
		hierarchy(t, &st->hier[i]);

 kids:
	/*
	 * Children arrays, in document order (instances are in order);
	 * new_inst() counted each instance's children.  A parent comes
	 * before its children, so one pass places each array in the block
	 * and fills the parent's.
	 */
	if (t->ninst > 1 && t->kids == NULL &&
	    (t->kids = arena_allocarray_raw(set->arena, t->ninst - 1,
	    sizeof(*t->kids))) == NULL) {
		for (i = 0; i < t->ninst; i++) {
			t->inst[i]->nkid = 0;
			t->inst[i]->kid = NULL;
		}
		goto oom;
	}
	kids = t->kids;
	for (i = 0; i < t->ninst; i++) {
		l = t->inst[i];
		if (i > 0)
			l->parent->kid[l->parent->nkid++] = l;
		if (l->nkid) {
			l->kid = kids;
			kids += l->nkid;
		}
		l->nkid = 0;
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
	if (t->shortv != t->shortbuf)
		free(t->shortv);
	if (t->inst != t->instbuf)
		free(t->inst);
	if (t->defer != t->deferbuf)
		free(t->defer);
	free(t->scratch);
	structure_index_free(ixown);
	return rc;
}
