/*
 * map_eval.c: the inbound evaluator of compiled maps (MAPS.md §3).  It
 * walks the plan over the loop tree of one transaction set and builds the
 * `data.document` (struct mdoc, mdoc.c): rules in file order, groups per
 * loop instance, checks after the rules of their block, diagnostics with
 * the rule, field, source and segment position of every problem.
 *
 * Everything, the document included, lives in the set's arena: no heap
 * allocation per set except the text of diagnostics actually emitted.  The
 * plan is read-only here, so one plan serves any number of threads.
 * Nothing a partner sends may crash it: every walk is bounded by the set's
 * segment count and the hierarchy depth limit.
 *
 * XML sources (cXML, UBL) have no segments: their paths are XPath 1.0,
 * compiled with the plan and evaluated by libxml2 relative to the group's
 * node (frame.xn), with the map's namespace prefixes registered, an
 * operation limit per evaluation and a cap on the nodes read from one
 * result.  The document is only read.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "arena.h"
#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "map.h"
#include "map_int.h"
#include "structure.h"

/*
 * The default text of every map diagnostic, used when a rule gives none.
 * Placeholders: {field} the event field, {source} the document path,
 * {value} the value read, {why} what is wrong with it, {table} the lookup,
 * {default} the value applied, {n} a count, {first} and {others} segment
 * positions.
 */
const char *const map_default_msg[MD_NMSG] = {
	[MD_REQ] = "{field} is required but {source} is absent",
	[MD_REQ_GROUP] = "{field} is required but no {source} was found",
	[MD_REQ_WITHIN] = "{source} is required but none was found",
	[MD_TYPE] = "'{value}' in {source} is {why}",
	[MD_TYPE_WARN] = "'{value}' in {source} {why}; passed unchanged",
	[MD_LOOKUP] = "unknown code '{value}' in {source} (table {table})",
	[MD_LOOKUP_BANG] = "code '{value}' in {source} is marked unusable (!) "
	    "in table {table}",
	[MD_MULTI] = "{source} matched {n} segments; the first (segment "
	    "{first}) is used, others at segment {others}",
	[MD_MULTI_UNIQUE] = "{source} must match once but matched {n} "
	    "segments (segments {first}, {others})",
	[MD_DEFAULT] = "{source} is empty: default {default} used for {field}",
	[MD_DEFAULT_OR] = "{source} is empty: default {default} ({why}) used "
	    "for {field}",
	[MD_DEFAULT_LOOKUP] = "unknown code '{value}' in {source} (table "
	    "{table}): default {default} used",
	[MD_TRUNC] = "'{value}' in {source} truncated to {n} characters",
	[MD_MULTI_XML] = "{source} matched {n} nodes; the first (line "
	    "{first}) is used, others at line {others}",
	[MD_MULTI_UNIQUE_XML] = "{source} must match once but matched {n} "
	    "nodes (lines {first}, {others})",
	[MD_XPATH] = "{source} could not be evaluated: {why}",
};

enum { C_FALSE = 0, C_TRUE = 1, C_UNKNOWN = 2 };

/*
 * Inlining by hand where the compiler's estimate is wrong for us: the
 * common path of a rule (plain_value, write_scalar, val_node) runs a few
 * hundred thousand times per megabyte and its call overhead showed in the
 * profile; the rarer, longer cases (pairs, repetitions, loop steps) are
 * kept out of line so that they do not stop it.
 */
#if defined(__GNUC__)
#define NOINLINE	__attribute__((noinline))
#define ALWAYS_INLINE	__attribute__((always_inline))
#else
#define NOINLINE
#define ALWAYS_INLINE
#endif

/*
 * The qualifier/value pairs of one segment under one pair layout (see
 * pair_value), in element order.  Rules reading pairs mostly come in a
 * row over one segment (PO1{VN|VP}, PO1{BP|IN}, PO1{UP|EN}): the first
 * finds the pairs, the others only compare their codes.
 */
#define PAIRS_MAX	EG_MAX_ELEMENTS	/* pairs start at distinct positions */

/* el, rep and comp are read two at a time (val_elrep, pairs_build). */
_Static_assert(offsetof(struct edi_val, rep) ==
    offsetof(struct edi_val, el) + sizeof(uint16_t), "edi_val: el, rep");
_Static_assert(offsetof(struct edi_val, comp) ==
    offsetof(struct edi_val, rep) + sizeof(uint16_t), "edi_val: rep, comp");

struct pairs {
	const struct edi_seg *seg;	/* NULL: nothing kept */
	int		 from, to, qfirst;
	int		 vcomp, qcomp;	/* components of the pairs; 0: simple
					   elements */
	uint32_t	 layout;	/* map_path.playout of the builder */
	int		 n;
	struct {
		const struct edi_val *q, *v;
		uint64_t	 qk;	/* q as map_codekey */
	}		 p[PAIRS_MAX];
};

/* One nesting level: a group element, a within scope, or the root. */
struct frame {
	const struct frame *up;
	const struct edi_loop *loop;	/* scope: loop instance, or */
	int32_t		 segi;		/* >= 0: this one segment */
	struct mdoc	*obj;		/* output object; NULL for within */
	int		 seq;
	const struct map_target *tgt;	/* for the field path */
	int		 index;		/* array element index, -1 */
	struct sidx	*sx;		/* index of loop, once known */
	xmlNodePtr	 xn;		/* XML: the context node */
};

struct ev {
	const struct map *m;
	const struct edi_set *set;
	const struct map_env *env;
	struct diag_sink *ds;
	struct arena	*a;
	struct mdoc_pool mp;		/* the document's nodes */
	struct mdoc	*root;
	/* a plain set's text (edi_set.plain), else NULL and 0: ev_text() */
	const char	*plo;
	size_t		 plen;
	/*
	 * Every segment value lies in plo..plen: a plain X12 set, whose
	 * parser keeps each segment in the set's text (segs_in_raw) and
	 * splits values, and the tree builder repetitions, within it.
	 * ev_segtext() then need not look.  EDIFACT values with a release
	 * character are copies: 0 there.
	 */
	int		 allin;
	unsigned	 nerr;
	unsigned	 ndiag;
	int		 limit;
	int		 tracing;	/* env->trace set */
	const struct edi_seg *lastseg;	/* last segment a path read */
	const char	*lastsrc;	/* and its path */
	/* Hierarchy index, built on first use. */
	int		 hbuilt;
	const struct edi_loop **h;
	uint32_t	 nh;
	uint32_t	*hkoff;		/* CSR children: hk[hkoff[i]..hkoff[i+1]) */
	uint32_t	*hk;
	uint32_t	*hstack;	/* traversal scratch, nh entries */
	uint32_t	*hgen;		/* visited mark: == hcur */
	uint32_t	 hcur;
	int		 dirty;		/* an empty object may be left */
	/* Per loop instance: its in-scope items by tag, built on first use. */
	const struct map_tag *tags;	/* the map's tags (map_tag_id) */
	uint32_t	 tagmask, ntags;
	struct sidx	**stab;
	uint32_t	 smask, sn;
	struct sidx	*s1;		/* the first, before stab is needed */
	/* XML sources. */
	int		 xml;
	xmlXPathContextPtr xctx;
	xmlNodePtr	 xat;		/* next diagnostic points here */
	xmlNodePtr	 xlast;		/* the last value's node */
	const struct map_stmt *cur;	/* statement being run */
	int		 xfail;		/* libxml2 reported an error */
	char		 xwhy[128];
	struct pairs	 pc;		/* the pairs of the last segment read;
					   last: map_eval does not zero it */
};

/* Context for MAP-MULTI and other diagnostics of one rule. */
struct rctx {
	const struct map_stmt *s;
	const struct frame *fr;
	const struct map_target *tgt;
	const char	*source;
	int		 listidx;	/* list rules: element index, -1 */
};

/* ---- small helpers ----------------------------------------------------- */

/*
 * Scratch memory: carved by the document's pool from the set's arena, not
 * zeroed (ev_zalloc when it must be).
 */
static inline void *
ev_alloc(struct ev *ev, size_t n)
{
	void	*p = mdoc_alloc(&ev->mp, n);

	if (p == NULL)
		ev->limit = 1;
	return p;
}

static void *
ev_allocarray(struct ev *ev, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		ev->limit = 1;
		return NULL;
	}
	return ev_alloc(ev, n * size);
}

static void *
ev_zalloc(struct ev *ev, size_t n)
{
	void	*p = ev_alloc(ev, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

static char *
ev_strndup(struct ev *ev, const char *p, size_t n)
{
	char	*s = ev_alloc(ev, n + 1);

	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static const struct edi_seg *
frame_trigger(const struct ev *ev, const struct frame *fr)
{
	uint32_t i;

	if (fr->segi >= 0)
		i = (uint32_t)fr->segi;
	else if (fr->loop != NULL)
		i = fr->loop->first;
	else
		i = 0;
	if (ev->set->nseg == 0)
		return NULL;
	if (i >= ev->set->nseg)
		i = 0;
	return &ev->set->seg[i];
}

static const struct frame *
obj_frame(const struct frame *fr)
{
	while (fr != NULL && fr->obj == NULL)
		fr = fr->up;
	return fr;
}

/* ---- field paths for diagnostics ---------------------------------------- */

static void
add_names(struct buf *b, const struct map_target *t, int index)
{
	int	 i;

	for (i = 0; i < t->nname; i++)
		buf_printf(b, ".%s", t->name[i]);
	if (index >= 0)
		buf_printf(b, "[%d]", index);
}

static void
field_path(const struct frame *fr, const struct map_target *tgt, int index,
    struct buf *b)
{
	const struct frame *chain[EG_MAX_MAP_DEPTH + 4];
	int	 n = 0, i;

	buf_adds(b, "document");
	if (tgt == NULL || !tgt->rooted) {
		for (fr = obj_frame(fr); fr != NULL && fr->tgt != NULL &&
		    n < (int)EG_MAX_MAP_DEPTH + 2; fr = obj_frame(fr->up)) {
			chain[n++] = fr;
			if (fr->tgt->rooted)
				break;
		}
		for (i = n - 1; i >= 0; i--)
			add_names(b, chain[i]->tgt, chain[i]->index);
	}
	if (tgt != NULL)
		add_names(b, tgt, index);
}

/* ---- diagnostics ------------------------------------------------------- */

struct margs {
	const char	*value;
	size_t		 vlen;
	const char	*source;
	const char	*field;
	const char	*why;
	const char	*table;
	const char	*dflt;
	size_t		 dlen;
	long		 n;
	const char	*first;
	const char	*others;
	int		 seq;
};

static void
render_default(const char *tpl, const struct margs *ma, struct buf *b)
{
	const char *p = tpl, *e;

	while (*p) {
		if (*p != '{' || (e = strchr(p, '}')) == NULL) {
			buf_addc(b, *p++);
			continue;
		}
		if (strncmp(p, "{value}", 7) == 0)
			buf_add(b, ma->value ? ma->value : "", ma->value ?
			    ma->vlen : 0);
		else if (strncmp(p, "{source}", 8) == 0)
			buf_adds(b, ma->source ? ma->source : "");
		else if (strncmp(p, "{field}", 7) == 0)
			buf_adds(b, ma->field ? ma->field : "");
		else if (strncmp(p, "{why}", 5) == 0)
			buf_adds(b, ma->why ? ma->why : "not valid");
		else if (strncmp(p, "{table}", 7) == 0)
			buf_adds(b, ma->table ? ma->table : "");
		else if (strncmp(p, "{default}", 9) == 0)
			buf_add(b, ma->dflt ? ma->dflt : "", ma->dflt ?
			    ma->dlen : 0);
		else if (strncmp(p, "{n}", 3) == 0)
			buf_printf(b, "%ld", ma->n);
		else if (strncmp(p, "{first}", 7) == 0)
			buf_adds(b, ma->first ? ma->first : "");
		else if (strncmp(p, "{others}", 8) == 0)
			buf_adds(b, ma->others ? ma->others : "");
		else {
			buf_addc(b, *p++);
			continue;
		}
		p = e + 1;
	}
}

static int eval_expr(struct ev *, const struct frame *, const struct map_expr *,
		    struct map_val *, const struct rctx *);

static void
val_text(struct ev *ev, const struct map_val *v, struct buf *b)
{
	if (v->kind == MV_INT)
		buf_printf(b, "%lld", (long long)v->i);
	else if (v->kind != MV_NONE)
		buf_add(b, v->p, v->len);
}

/* A map's own message: text and {…} placeholders. */
static void
render_msg(struct ev *ev, const struct frame *fr, const struct map_msg *m,
    const struct margs *ma, struct buf *b)
{
	struct map_val	 v;
	int		 i;

	for (i = 0; i < m->nparts; i++) {
		switch (m->part[i].kind) {
		case MM_TEXT:
			buf_add(b, m->part[i].s.p, m->part[i].s.len);
			break;
		case MM_VALUE:
			buf_add(b, ma->value ? ma->value : "", ma->value ?
			    ma->vlen : 0);
			break;
		case MM_SOURCE:
			buf_adds(b, ma->source ? ma->source : "");
			break;
		case MM_FIELD:
			buf_adds(b, ma->field ? ma->field : "");
			break;
		case MM_SEQ:
			buf_printf(b, "%d", fr != NULL ? fr->seq : 0);
			break;
		case MM_EXPR:
			if (eval_expr(ev, fr, m->part[i].e, &v, NULL))
				val_text(ev, &v, b);
			break;
		}
	}
}

static void
diag_emitv(struct ev *ev, struct diag *d)
{
	if (d->sev == DIAG_ERROR)
		ev->nerr++;
	if (ev->ndiag == EG_MAX_DIAGS_PER_SET) {
		struct diag t;

		ev->ndiag++;
		diag_init(&t, DIAG_WARNING, "MAP-LIMIT");
		diag_msg(&t, "more than %u map diagnostics; the rest are "
		    "not reported", EG_MAX_DIAGS_PER_SET);
		if (d->sev == DIAG_ERROR && ev->ds != NULL)
			ev->ds->nerror++;
		diag_emit(ev->ds, &t);
		return;
	}
	if (ev->ndiag > EG_MAX_DIAGS_PER_SET) {
		if (d->sev == DIAG_ERROR && ev->ds != NULL)
			ev->ds->nerror++;
		return;
	}
	ev->ndiag++;
	diag_emit(ev->ds, d);
}

/* XML: the context node of a frame (the innermost that has one). */
static xmlNodePtr
frame_xnode(const struct frame *fr)
{
	for (; fr != NULL; fr = fr->up)
		if (fr->xn != NULL)
			return fr->xn;
	return NULL;
}

/* The element a node belongs to (itself, or an attribute's or text's). */
static xmlNodePtr
xml_elem(xmlNodePtr n)
{
	if (n == NULL || n->type == XML_NAMESPACE_DECL)
		return NULL;
	if (n->type != XML_ELEMENT_NODE)
		n = n->parent;
	return n != NULL && n->type == XML_ELEMENT_NODE ? n : NULL;
}

static int
xml_line(xmlNodePtr n)
{
	long	 l;

	if ((n = xml_elem(n)) == NULL)
		return 0;
	l = xmlGetLineNo(n);
	return l > 0 && l < INT32_MAX ? (int)l : 0;
}

/* XML diagnostics point at a line and name the element (attribute). */
static void
xml_pos(xmlNodePtr n, struct diag *d)
{
	xmlNodePtr	 e = xml_elem(n);

	if (e == NULL)
		return;
	d->line = (uint32_t)xml_line(e);
	if (e->ns != NULL && e->ns->prefix != NULL)
		snprintf(d->element, sizeof(d->element), "%s:%s",
		    (const char *)e->ns->prefix, (const char *)e->name);
	else
		snprintf(d->element, sizeof(d->element), "%s",
		    (const char *)e->name);
	if (n->type == XML_ATTRIBUTE_NODE) {
		size_t o = strlen(d->element);

		snprintf(d->element + o, sizeof(d->element) - o, "/@%s",
		    (const char *)n->name);
	}
}

/*
 * Emit one map diagnostic.  seg/el/comp: where the value came from (NULL:
 * the frame's trigger segment, no element).  XML: ev->xat, else the
 * frame's node.
 */
static void
emit(struct ev *ev, enum diag_sev sev, const char *code,
    const struct map_stmt *s, const struct frame *fr,
    const struct map_target *tgt, int listidx, const char *source,
    const struct edi_seg *seg, int el, int comp, const struct map_msg *msg,
    enum map_dmsg dm, struct margs *ma)
{
	struct diag	 d;
	struct buf	 fb, mb;
	struct margs	 dflt;

	if (ma == NULL) {
		memset(&dflt, 0, sizeof(dflt));
		ma = &dflt;
	}
	diag_init(&d, sev, code);
	buf_init(&fb, sizeof(d.field) * 4);
	if (s == NULL || (s->kind != MS_CHECK && s->kind != MS_WITHIN)) {
		field_path(fr, tgt, listidx, &fb);
		snprintf(d.field, sizeof(d.field), "%s", fb.p ? fb.p : "");
	}
	if (s != NULL)
		snprintf(d.rule, sizeof(d.rule), "%s", s->rule);
	if (source != NULL)
		snprintf(d.source, sizeof(d.source), "%s", source);
	if (seg == NULL) {
		seg = frame_trigger(ev, fr);
		el = comp = 0;
	}
	if (seg != NULL) {
		d.filepos = seg->filepos;
		d.setpos = seg->setpos;
		snprintf(d.tag, sizeof(d.tag), "%s", seg->tag);
		d.el = el;
		d.comp = comp > 1 ? comp : 0;
	}
	if (ev->xml) {
		xml_pos(ev->xat != NULL ? ev->xat : frame_xnode(fr), &d);
		ev->xat = NULL;
	}
	ma->field = fb.p ? fb.p : "";
	if (ma->source == NULL)
		ma->source = source;
	buf_init(&mb, EG_MAX_DIAG_MSG * 2);
	if (msg != NULL)
		render_msg(ev, fr, msg, ma, &mb);
	else
		render_default(map_default_msg[dm], ma, &mb);
	snprintf(d.msg, sizeof(d.msg), "%s", mb.p ? mb.p : "");
	buf_free(&mb);
	buf_free(&fb);
	diag_emitv(ev, &d);
}

/* ---- scope iteration ------------------------------------------------------ */

/*
 * "In scope": the segments of the loop instance, and the trigger segments
 * of the loops directly inside it (kid != NULL for those).
 */
struct sit {
	const struct edi_set *set;
	const struct edi_loop *L;
	uint32_t	 i, end, k;
	int		 single, done;
};

static void
sit_init(struct sit *it, const struct edi_set *set, const struct edi_loop *L,
    int32_t segi)
{
	memset(it, 0, sizeof(*it));
	it->set = set;
	it->L = L;
	if (segi >= 0 || L == NULL) {
		it->single = 1;
		it->i = segi >= 0 ? (uint32_t)segi : 0;
		it->done = segi < 0 || (uint32_t)segi >= set->nseg;
		return;
	}
	it->i = L->first;
	it->end = L->last < set->nseg ? L->last : set->nseg - 1;
	it->done = set->nseg == 0 || L->first > it->end;
}

static int
sit_next(struct sit *it, uint32_t *segi, const struct edi_loop **kid)
{
	const struct edi_loop *L = it->L, *k;

	if (it->done)
		return 0;
	if (it->single) {
		*segi = it->i;
		*kid = NULL;
		it->done = 1;
		return 1;
	}
	if (it->i > it->end)
		return 0;
	while (it->k < L->nkid && L->kid[it->k]->first < it->i)
		it->k++;
	*segi = it->i;
	if (it->k < L->nkid && L->kid[it->k]->first == it->i) {
		k = L->kid[it->k++];
		*kid = k;
		it->i = k->last >= it->i ? k->last + 1 : it->i + 1;
	} else {
		*kid = NULL;
		it->i++;
	}
	if (it->i == 0)		/* wrapped */
		it->done = 1;
	return 1;
}

/* ---- filters ------------------------------------------------------------- */

/* slice_eq for the short codes of filters and pairs: no call for them. */
static inline int
code_eq(struct slice a, struct slice b)
{
	size_t	 i;

	if (a.len != b.len)
		return 0;
	if (a.len > 8)
		return memcmp(a.p, b.p, a.len) == 0;
	for (i = 0; i < a.len; i++)
		if (a.p[i] != b.p[i])
			return 0;
	return 1;
}

/* Index of the first code of a equal to s, or -1. */
static inline int
atom_code(const struct map_atom *a, struct slice s)
{
	uint64_t k;
	int	 c;

	if (a->ck != NULL) {
		k = map_codekey(s.p, s.len);
		for (c = 0; c < a->ncode; c++)
			if (a->ck[c] == k)
				return c;
		return -1;
	}
	for (c = 0; c < a->ncode; c++)
		if (code_eq(s, a->code[c]))
			return c;
	return -1;
}

/* Index of the first code matched by atom a (or 0 for a passing !=), -1. */
static int
atom_rank(const struct edi_seg *s, const struct map_atom *a, unsigned onlyrep)
{
	const struct edi_val *v, *e;
	unsigned	 comp = a->comp ? a->comp : 1;
	int		 best = -1, c;

	for (v = s->val, e = edi_val_end(s); v < e; v++) {
		if (v->el < a->el)
			continue;
		if (v->el > a->el)
			break;
		if ((v->comp ? v->comp : 1u) != comp)
			continue;
		if (onlyrep && (v->rep ? v->rep : 1u) != onlyrep)
			continue;
		if ((c = atom_code(a, v->s)) >= 0 && (best < 0 || c < best))
			best = c;
	}
	if (a->neg)
		return best >= 0 ? -1 : 0;
	return best;
}

/*
 * atom_rank of the one atom of a filter with integer codes, not limited
 * to a repetition, as filter_rank ranks it: N1[N101=BY] for every N1
 * instance and group, DTM02[DTM01=002], the usual filter of a selector.
 * Small and out of line, so that filter_rank only dispatches to it.
 */
static NOINLINE int
filter_rank1(const struct edi_seg *s, const struct map_filter *f)
{
	const struct map_atom *a = &f->atom[0];
	const struct edi_val *v = s->val, *e = edi_val_end(s);
	const unsigned	 el = a->el, comp = a->comp ? a->comp : 1;
	const int	 none = a->ncode;
	uint64_t	 k;
	int		 best = none, c;

	for (; v < e && v->el <= el; v++) {
		if (v->el < el || (v->comp ? v->comp : 1u) != comp)
			continue;
		/* The first code before best that matches. */
		k = map_codekey(v->s.p, v->s.len);
		for (c = 0; c < best; c++)
			if (a->ck[c] == k) {
				best = c;
				break;
			}
	}
	if (a->neg)
		return best < none ? -1 : 0;
	if (best == none)
		return -1;
	return f->rank == 0 ? best : 0;
}

/* Rank of s under f (0 when f has no alternatives), -1 when no match. */
static NOINLINE int
filter_rank_all(const struct edi_seg *s, const struct map_filter *f,
    unsigned repel, unsigned rep)
{
	int	 i, r, rank = 0;

	for (i = 0; i < f->natom; i++) {
		const struct map_atom *a = &f->atom[i];

		r = atom_rank(s, a, a->el == repel ? rep : 0);
		if (r < 0)
			return -1;
		if (i == f->rank)
			rank = r;
	}
	return rank;
}

static NOINLINE int
filter_rank(const struct edi_seg *s, const struct map_filter *f,
    unsigned repel, unsigned rep)
{
	if (f->natom == 1 && f->atom[0].ck != NULL &&
	    f->atom[0].el != repel)
		return filter_rank1(s, f);
	return filter_rank_all(s, f, repel, rep);
}

/*
 * filter_rank without repetitions; most steps have no filter at all, and
 * most filters are one atom with keys (f->one, set when linked), which
 * go to filter_rank1 without filter_rank's dispatch.
 */
static inline int
frank(const struct edi_seg *s, const struct map_filter *f)
{
	if (f->natom == 0)
		return 0;
	return f->one ? filter_rank1(s, f) : filter_rank(s, f, 0, 0);
}

static int
step_match(const struct edi_seg *s, const struct map_step *st)
{
	if (edi_seg_tagkey(s) != st->key)
		return -1;
	return frank(s, &st->f);
}

/* ---- path matching ------------------------------------------------------- */

enum { PM_FIRST = 0, PM_ALL };

struct pm {
	int		 mode;
	uint64_t	 best;
	long		 nbest;
	const struct edi_seg *seg;	/* the best candidate so far */
	const struct edi_val *val;	/* its value; NULL: the segment */
	unsigned	 comp;
	uint32_t	 others[MAP_MAX_MULTI_LIST];
	int		 nothers;
	void		(*fn)(struct ev *, void *, const struct map_val *);
	void		*arg;
};

#define RANK_BITS	6

/* The map value of a candidate: a value, or (v NULL) the segment's tag. */
static inline void
mk_val(struct map_val *mv, const struct edi_seg *s, const struct edi_val *v,
    unsigned comp)
{
	mv->kind = MV_STR;
	mv->i = 0;
	mv->seg = s;
	mv->fallback = 0;
	mv->from = NULL;
	mv->xnode = NULL;
	if (v == NULL) {
		mv->p = s->tag;
		mv->len = strlen(s->tag);
		mv->el = mv->comp = 0;
		return;
	}
	mv->p = v->s.p;
	mv->len = v->s.len;
	mv->el = v->el;
	mv->comp = (uint16_t)comp;
}

/* A candidate: kept when it ranks best; only the winner becomes a value. */
static inline void
pm_visit(struct ev *ev, struct pm *pm, const struct edi_seg *s,
    const struct edi_val *val, unsigned comp, uint64_t rank)
{
	if (pm->mode == PM_ALL) {
		struct map_val mv;

		mk_val(&mv, s, val, comp);
		pm->nbest++;
		pm->fn(ev, pm->arg, &mv);
		return;
	}
	if (pm->nbest == 0 || rank < pm->best) {
		pm->best = rank;
		pm->seg = s;
		pm->val = val;
		pm->comp = comp;
		pm->nbest = 1;
		pm->nothers = 0;
	} else if (rank == pm->best) {
		pm->nbest++;
		if (pm->nothers < MAP_MAX_MULTI_LIST)
			pm->others[pm->nothers++] = s->filepos;
	}
}

static unsigned
nrep_of(const struct edi_seg *s, unsigned el)
{
	const struct edi_val *v, *e;
	unsigned	 n = 0;

	for (v = s->val, e = edi_val_end(s); v < e; v++) {
		if (v->el < el)
			continue;
		if (v->el > el)
			break;
		if ((v->rep ? v->rep : 1u) > n)
			n = v->rep ? v->rep : 1u;
	}
	return n;
}

/* A value of repetition and component 1 (0 read as 1), as one test. */
static inline int
val_rc1(const struct edi_val *v)
{
	uint32_t rc;

	memcpy(&rc, (const char *)v + offsetof(struct edi_val, rep),
	    sizeof(rc));
	return (rc & ~(uint32_t)0x00010001) == 0;
}

/*
 * pairs_build for a layout of positions (FROM..TO two by two) in a
 * segment that sends each element of them as one value, at its own
 * index (PO1*1*16*CA*95.27*PE*BP*B8478454*VP*VP-78907): the pair at
 * positions e, e + 1 is values e - 1 and e, read without a pass over the
 * others.  Each is then the value the pass takes: the first of its
 * element (the one before is of an earlier element), of repetition and
 * component 1.  -1 when the values are laid out otherwise at a pair's
 * position (a repetition, a component, an element left out): then
 * pairs_build's pass decides.  Past the last value there is no pair.
 */
static inline int
pairs_dense(struct pairs *pc, const struct edi_seg *s, unsigned from,
    unsigned to, int qsecond)
{
	const struct edi_val *a, *q, *v;
	const unsigned	 nv = s->nval;
	unsigned	 e, lim;
	int		 n = 0;

	/* A pair at e has e + 1 <= to, and its first value e - 1 < nv. */
	if (to <= from)
		return 0;
	/*
	 * Fewer values than from: elements left empty before the pairs
	 * (PO1**2*EA*1.00**UP*U1), whose values may still be at from and
	 * later; the pass finds them.
	 */
	if (from > nv)
		return -1;
	lim = to - 1 < nv ? to - 1 : nv;
	a = s->val + from - 1;		/* from <= nv: a value (no NULL + 0) */
	if (from > 1 && a[-1].el >= from)
		return -1;
	for (e = from; e <= lim; e += 2, a += 2) {
		if (a->el != e || !val_rc1(a))
			return -1;
		if (e == nv)
			break;		/* a qualifier without its value */
		if (a[1].el != e + 1 || !val_rc1(&a[1]))
			return -1;
		q = qsecond ? &a[1] : a;
		v = qsecond ? a : &a[1];
		pc->p[n].q = q;
		pc->p[n].v = v;
		pc->p[n].qk = map_codekey(q->s.p, q->s.len);
		n++;
	}
	return n;
}

/*
 * The pairs of s under p's layout of simple elements: from PFROM to PTO
 * two by two, the qualifier first or second (pqfirst), or (pfrom 0) every
 * element with the next; a pair counts when both elements have a value
 * (map_segval(s, el, 1, 1)).  One pass over the values, which are in
 * element order: each element's first value of repetition and
 * component 1 pairs with the previous one when that is its partner.
 * Returns how many.
 */
static NOINLINE int
pairs_build(struct pairs *pc, const struct map_path *p,
    const struct edi_seg *s, unsigned from, unsigned to)
{
	const struct edi_val *v, *end, *prev = NULL;
	const int	 qsecond = p->pfrom > 0 && !p->pqfirst;
	const unsigned	 odd = p->pfrom > 0;	/* pairs start at even offsets */
	unsigned	 el, pel = 0;		/* prev's element; 0: none */
	uint32_t	 rc;
	int		 n = 0;

	pc->seg = s;
	pc->from = (int)from;
	pc->to = (int)to;
	pc->qfirst = p->pqfirst;
	pc->vcomp = pc->qcomp = 0;
	pc->layout = p->playout;
	if (odd && (n = pairs_dense(pc, s, from, to, qsecond)) >= 0)
		goto done;
	n = 0;
	v = s->val;
	end = edi_val_end(s);
	while (v < end && v->el < from)
		v++;
	for (; v < end && (el = v->el) <= to; v++) {
		/*
		 * Repetition and component 1 (0 reads as 1): both at most 1,
		 * read as one integer; the first such value of its element.
		 */
		memcpy(&rc, (const char *)v + offsetof(struct edi_val, rep),
		    sizeof(rc));
		if ((rc & ~(uint32_t)0x00010001) != 0 || el == pel)
			continue;
		/* Partners: e and e + 1, e at an even offset for twos. */
		if (el == pel + 1 && pel != 0 && ((pel - from) & odd) == 0) {
			if (n == PAIRS_MAX)
				break;	/* not reached: positions are capped */
			pc->p[n].q = qsecond ? v : prev;
			pc->p[n].v = qsecond ? prev : v;
			pc->p[n].qk = map_codekey(pc->p[n].q->s.p,
			    pc->p[n].q->s.len);
			n++;
		}
		prev = v;
		pel = el;
	}
done:
	pc->n = n;
	return n;
}

/* The pairs of s, kept for the rules that read the same segment next. */
static inline int
pairs_of(struct pairs *pc, const struct map_path *p, const struct edi_seg *s)
{
	unsigned from = p->pfrom > 0 ? (unsigned)p->pfrom : 1;
	unsigned to = p->pfrom > 0 ? (unsigned)p->pto : s->nel;

	if (pc->seg == s && pc->from == (int)from && pc->to == (int)to &&
	    pc->qfirst == p->pqfirst && pc->vcomp == 0)
		return pc->n;
	return pairs_build(pc, p, s, from, to);
}

/*
 * The next repetition of an element from *vp on, up to element to (values
 * are in (el, rep, comp) order): the first values of its components qc
 * and vc in *q and *val, NULL when absent; *vp moves past it.  0 when
 * there is none.  cpairs_build and pair_comp_at pair a composite's
 * qualifier and value this way.
 */
static inline ALWAYS_INLINE int
rep_comps(const struct edi_val **vp, const struct edi_val *e, unsigned to,
    unsigned qc, unsigned vcp, const struct edi_val **q,
    const struct edi_val **val)
{
	const struct edi_val *v = *vp;
	unsigned	 el, rep, vc;

	if (v >= e || v->el > to)
		return 0;
	el = v->el;
	rep = v->rep ? v->rep : 1;
	*q = *val = NULL;
	for (; v < e && v->el == el && (v->rep ? v->rep : 1u) == rep; v++) {
		vc = v->comp ? v->comp : 1;
		if (vc == qc && *q == NULL)
			*q = v;
		if (vc == vcp && *val == NULL)
			*val = v;
	}
	*vp = v;
	return 1;
}

/*
 * The pairs of s under p's layout of components (PIA C212: value -01,
 * qualifier -02 of every repetition of PFROM..PTO), as pair_comp_at
 * finds them: a repetition counts when it has both components, the first
 * value of each.  -1 (nothing kept) when there are too many to keep.
 */
static NOINLINE int
cpairs_build(struct pairs *pc, const struct map_path *p,
    const struct edi_seg *s)
{
	const struct edi_val *v, *e, *q, *val;
	const unsigned	 from = (unsigned)p->pfrom, to = (unsigned)p->pto;
	const unsigned	 qc = (unsigned)p->pqcomp, vcp = (unsigned)p->pvcomp;
	int		 n = 0;

	pc->seg = s;
	pc->from = p->pfrom;
	pc->to = p->pto;
	pc->qfirst = p->pqfirst;
	pc->vcomp = p->pvcomp;
	pc->qcomp = p->pqcomp;
	pc->layout = p->playout;
	v = s->val;
	e = edi_val_end(s);
	while (v < e && v->el < from)
		v++;
	while (rep_comps(&v, e, to, qc, vcp, &q, &val)) {
		if (q == NULL || val == NULL)
			continue;
		if (n == PAIRS_MAX) {
			pc->seg = NULL;
			return -1;
		}
		pc->p[n].q = q;
		pc->p[n].v = val;
		pc->p[n].qk = map_codekey(q->s.p, q->s.len);
		n++;
	}
	pc->n = n;
	return n;
}

/* pair_value for composite pairs: value and qualifier are components. */
static inline ALWAYS_INLINE const struct edi_val *
pair_comp_at(const struct map_path *p, const struct edi_seg *s, int *pr)
{
	const struct edi_val *v = s->val, *e = edi_val_end(s), *q, *val;
	const struct edi_val *best = NULL;
	int		 c, bestc = -1;

	/*
	 * One pass over the values of PFROM..PTO, a repetition of an
	 * element at a time: its qualifier and value components as
	 * map_segval finds them.
	 */
	while (v < e && v->el < (unsigned)p->pfrom)
		v++;
	while (rep_comps(&v, e, (unsigned)p->pto, (unsigned)p->pqcomp,
	    (unsigned)p->pvcomp, &q, &val)) {
		if (q == NULL)
			continue;
		if (p->pk != NULL) {
			uint64_t k = map_codekey(q->s.p, q->s.len);

			for (c = 0; c < p->npair; c++)
				if (p->pk[c] == k)
					break;
		} else
			for (c = 0; c < p->npair; c++)
				if (code_eq(q->s, p->pair[c]))
					break;
		if (c == p->npair || (bestc >= 0 && c >= bestc))
			continue;
		if (val != NULL) {
			best = val;
			bestc = c;
		}
	}
	*pr = bestc;
	return best;
}

/* pair_comp_at out of line, for pair_value (inlined where it is used). */
static NOINLINE const struct edi_val *
pair_comp(const struct map_path *p, const struct edi_seg *s, int *pr)
{
	return pair_comp_at(p, s, pr);
}

/* The pair value for the best qualifier of p in s; rank in *pr. */
static inline ALWAYS_INLINE const struct edi_val *
pair_value(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    int *pr, unsigned *vcomp)
{
	const struct edi_val *q, *best = NULL;
	int		 c, bestc = -1, i, n;

	*vcomp = 1;
	if (p->pfrom > 0 && p->pvcomp > 0) {
		*vcomp = (unsigned)p->pvcomp;
		return pair_comp(p, s, pr);
	}
	/* The earliest pair of the first code that has one. */
	n = pairs_of(&ev->pc, p, s);
	if (p->pk != NULL) {
		/* Code by code: the first hit is the answer. */
		for (c = 0; c < p->npair; c++)
			for (i = 0; i < n; i++)
				if (ev->pc.p[i].qk == p->pk[c]) {
					*pr = c;
					return ev->pc.p[i].v;
				}
		*pr = -1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		q = ev->pc.p[i].q;
		for (c = 0; c < p->npair; c++)
			if (code_eq(q->s, p->pair[c]))
				break;
		if (c == p->npair || (bestc >= 0 && c >= bestc))
			continue;
		best = ev->pc.p[i].v;
		bestc = c;
		if (c == 0)
			break;
	}
	*pr = bestc;
	return best;
}

/* Candidates of the final segment step: s has the step's tag. */
static void
match_seg_at(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    uint64_t rank, struct pm *pm)
{
	const struct edi_val *v;
	unsigned	 comp = p->comp ? p->comp : 1, nrep, r;
	int		 fr, pr;

	if (p->segonly) {
		if ((fr = frank(s, &p->seg.f)) < 0)
			return;
		pm_visit(ev, pm, s, NULL, 0, rank << RANK_BITS | (uint64_t)fr);
		return;
	}
	if (p->npair) {
		if ((fr = frank(s, &p->seg.f)) < 0)
			return;
		if ((v = pair_value(ev, p, s, &pr, &comp)) == NULL)
			return;
		pm_visit(ev, pm, s, v, comp, ((rank << RANK_BITS |
		    (uint64_t)fr) << RANK_BITS) | (uint64_t)pr);
		return;
	}
	if (p->repatom >= 0 && p->rep == 0) {
		/* The filter on the element picks among its repetitions. */
		nrep = nrep_of(s, p->el);
		for (r = 1; r <= nrep; r++) {
			if ((fr = filter_rank(s, &p->seg.f, p->el, r)) < 0)
				continue;
			if ((v = map_segval(s, p->el, comp, r)) == NULL ||
			    v->s.len == 0)
				continue;
			pm_visit(ev, pm, s, v, comp, rank << RANK_BITS |
			    (uint64_t)fr);
		}
		return;
	}
	if ((fr = frank(s, &p->seg.f)) < 0)
		return;
	if ((v = map_segval(s, p->el, comp, p->rep ? p->rep : 1)) == NULL ||
	    v->s.len == 0)
		return;
	pm_visit(ev, pm, s, v, comp, rank << RANK_BITS | (uint64_t)fr);
}

static inline void
match_seg(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    uint64_t rank, struct pm *pm)
{
	if (edi_seg_tagkey(s) == p->seg.key)
		match_seg_at(ev, p, s, rank, pm);
}

static void walk_scan(struct ev *, const struct edi_loop *, int32_t,
		    const struct map_path *, int, uint64_t, struct pm *);

/*
 * The in-scope items of one loop instance, chained by tag, so that a path
 * step looks only at the segments with its tag.  Built once per instance
 * and set (in the set's arena); rules then cost what they match.  Frames
 * and the items that trigger a loop keep the index of their loop, so the
 * table by loop pointer is consulted only for scopes reached otherwise.
 * Only segments whose tag some path of the map names are items (every
 * key asked for is a step's): the first of each is found by the tag's
 * number in the map (map_step.tid), one load.
 */
struct sitem {
	uint32_t	 seg;		/* segment index */
	uint32_t	 next;		/* next item with the same tag */
	const struct edi_loop *kid;	/* loop the item triggers, or NULL */
	struct sidx	*ksx;		/* kid's index, once known (kept
					   only with a kid) */
};

struct sidx {
	const struct edi_loop *L;
	struct sitem	*it;		/* the items at its top, reached by
					   first and next */
	uint32_t	 first[];	/* by tag number: the first item, or
					   SIDX_END */
};

#define SIDX_END	UINT32_MAX

static uint32_t
ptrhash(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0x9e3779b1u;
	return (uint32_t)(v ^ (v >> 15));
}

/*
 * map_tag_id for sidx_build, into *d: 0 when no path names the tag.  The
 * compare with the key first, as most segments' tags are named by the
 * map and sit at their home slot; and no test of the number found.
 */
static inline int
sidx_tag(const struct map_tag *tags, uint32_t mask, uint32_t key,
    uint32_t *d)
{
	uint32_t h;

	for (h = map_tag_hash(key) & mask; tags[h].key != key;
	    h = (h + 1) & mask)
		if (tags[h].key == 0)
			return 0;
	*d = tags[h].id;
	return 1;
}

static struct sidx *
sidx_build(struct ev *ev, const struct edi_loop *L)
{
	const struct edi_seg *seg = ev->set->seg;
	const struct map_tag *tags = ev->tags;
	const uint32_t	 tmask = ev->tagmask, nt = ev->ntags;
	struct sidx	*x;
	struct sitem	*it;
	uint32_t	 i, n, k, d, *first, end, kk, lo, hi;
	const struct edi_loop *kid;
	char		*m;
	size_t		 sz;

	/* Items are at most the segments of the instance. */
	n = 0;
	end = 0;
	if (ev->set->nseg > 0 && L->first < ev->set->nseg) {
		end = L->last < ev->set->nseg ? L->last : ev->set->nseg - 1;
		if (end >= L->first)
			n = end - L->first + 1;
	}
	/*
	 * One piece of memory: the first by tag (in the sidx, so that a
	 * look-up needs no pointer), then the items, 8-aligned.
	 */
	sz = sizeof(*x) + (((size_t)nt + 1) & ~(size_t)1) * sizeof(uint32_t) +
	    ((size_t)n + 1) * sizeof(*x->it);
	if ((m = ev_alloc(ev, sz)) == NULL)
		return NULL;
	x = (struct sidx *)(void *)m;
	first = x->first;
	x->it = it = (struct sitem *)(void *)(first + ((nt + 1) & ~1u));
	memset(first, 0xff, nt * sizeof(*first));
	x->L = L;
	/*
	 * The segments of L, a nested instance counting as its trigger,
	 * from the last one back: each item then heads its tag's chain, the
	 * items after it already chained, and the items end up in document
	 * order at the top of it[] (it[k..n - 1]; nothing walks it[] but
	 * by first and next).  L's own segments after kid kk - 1 ([lo, hi))
	 * one by one, then that kid's trigger, then on before it.  Kids
	 * are in order and within L in a tree built; one that is not (past
	 * end, or reaching past the segments left) is passed over or cut.
	 */
	k = n;
	hi = end + 1;
	for (kk = L->nkid; n > 0 && nt > 0;) {
		kid = NULL;
		lo = L->first;
		while (kk > 0) {
			kid = L->kid[--kk];
			if (kid->first >= L->first && kid->first < hi) {
				lo = kid->last < hi ? kid->last + 1 : hi;
				break;
			}
			kid = NULL;
		}
		for (i = hi; i > lo;) {
			i--;
			if (!sidx_tag(tags, tmask, edi_seg_tagkey(&seg[i]), &d))
				continue;	/* no path names it */
			k--;
			it[k].seg = i;
			it[k].next = first[d];
			it[k].kid = NULL;
			first[d] = k;
		}
		if (kid == NULL)
			break;
		i = kid->first;
		if (sidx_tag(tags, tmask, edi_seg_tagkey(&seg[i]), &d)) {
			k--;
			it[k].seg = i;
			it[k].next = first[d];
			it[k].kid = kid;
			it[k].ksx = NULL;
			first[d] = k;
		}
		hi = i;
	}
	return x;
}

static struct sidx *
sidx_get(struct ev *ev, const struct edi_loop *L)
{
	struct sidx	**ns, *x;
	uint32_t	 k, i, nm;

	/*
	 * Most sets ask for one scope's index here, the set's own (the top
	 * frame keeps it): the table is made when a second one comes.
	 */
	if (ev->s1 != NULL && ev->s1->L == L)
		return ev->s1;
	if (ev->stab != NULL)
		for (k = ptrhash(L) & ev->smask; ev->stab[k] != NULL;
		    k = (k + 1) & ev->smask)
			if (ev->stab[k]->L == L)
				return ev->stab[k];
	if ((x = sidx_build(ev, L)) == NULL) {
		ev->limit = 1;
		return NULL;
	}
	if (ev->s1 == NULL) {
		ev->s1 = x;
		return x;
	}
	if (ev->stab == NULL || (ev->sn + 1) * 2 > ev->smask) {
		nm = ev->stab == NULL ? 63 : ev->smask * 2 + 1;
		if ((ns = ev_zalloc(ev, (nm + 1) * sizeof(*ns))) == NULL) {
			ev->limit = 1;
			return NULL;
		}
		for (i = 0; ev->stab != NULL && i <= ev->smask; i++) {
			if (ev->stab[i] == NULL)
				continue;
			for (k = ptrhash(ev->stab[i]->L) & nm; ns[k] != NULL;
			    k = (k + 1) & nm)
				;
			ns[k] = ev->stab[i];
		}
		ev->stab = ns;
		ev->smask = nm;
	}
	for (k = ptrhash(L) & ev->smask; ev->stab[k] != NULL;
	    k = (k + 1) & ev->smask)
		;
	ev->stab[k] = x;
	ev->sn++;
	return x;
}

/*
 * The index of the loop item it of x triggers, kept by the item.  Every
 * PO1 or LIN instance is reached this way, once: the item is where it is
 * looked up again (the parent's index is unique), so it is not entered in
 * the table by loop pointer, whose probes and growth cost as much as a
 * small index.  A scope reached otherwise (sidx_get) builds its own, equal
 * to this one.
 */
static struct sidx *
sidx_kid(struct ev *ev, struct sitem *si)
{
	if (si->ksx == NULL && (si->ksx = sidx_build(ev, si->kid)) == NULL)
		ev->limit = 1;
	return si->ksx;
}

/* First item of x with the tag of step st, or SIDX_END. */
static inline uint32_t
sidx_first(const struct sidx *x, const struct map_step *st)
{
	return x->first[st->tid];
}

/*
 * The index of a frame's loop instance (kept in the frame).  A frame's
 * sx, once set, is its loop's: run_group sets both together (inst_sidx),
 * and the others start with sx NULL.
 */
static struct sidx *
frame_sidx(struct ev *ev, const struct frame *fr)
{
	struct frame *f = (struct frame *)fr;	/* never a const object */

	if (f->sx == NULL)
		f->sx = sidx_get(ev, f->loop);
	return f->sx;
}

/*
 * A nested instance of a few segments (PO1's PID loop: one) is scanned
 * rather than indexed, unless an index exists: building one costs more
 * than the scans of the rules that reach it through a path step.
 */
#define KID_SCAN	4

static inline int
kid_small(const struct edi_loop *k)
{
	return k->last >= k->first && k->last - k->first < KID_SCAN;
}

static void
walk(struct ev *ev, const struct edi_loop *L, struct sidx *x, int32_t segi,
    const struct map_path *p, int stepi, uint64_t rank, struct pm *pm)
{
	const struct map_step *st = stepi < p->nloop ? &p->loop[stepi] :
	    &p->seg;
	const struct edi_seg *s;
	uint32_t	 it;
	int		 r;

	if (segi < 0 && L != NULL) {
		if (x == NULL && (x = sidx_get(ev, L)) == NULL)
			return;
		for (it = sidx_first(x, st); it != SIDX_END;
		    it = x->it[it].next) {
			s = &ev->set->seg[x->it[it].seg];
			if (stepi == p->nloop) {
				match_seg_at(ev, p, s, rank, pm);
				continue;
			}
			if ((r = frank(s, &st->f)) < 0)
				continue;
			if (x->it[it].kid != NULL && x->it[it].ksx == NULL &&
			    kid_small(x->it[it].kid))
				walk_scan(ev, x->it[it].kid, -1, p, stepi + 1,
				    rank << RANK_BITS | (uint64_t)r, pm);
			else if (x->it[it].kid != NULL)
				walk(ev, x->it[it].kid, sidx_kid(ev,
				    &x->it[it]), -1, p, stepi + 1,
				    rank << RANK_BITS | (uint64_t)r, pm);
			else
				walk(ev, NULL, NULL, (int32_t)x->it[it].seg, p,
				    stepi + 1, rank << RANK_BITS | (uint64_t)r,
				    pm);
		}
		return;
	}
	walk_scan(ev, L, segi, p, stepi, rank, pm);
}

static void
walk_scan(struct ev *ev, const struct edi_loop *L, int32_t segi,
    const struct map_path *p, int stepi, uint64_t rank, struct pm *pm)
{
	struct sit	 it;
	uint32_t	 i;
	const struct edi_loop *kid;
	const struct edi_seg *s;
	int		 r;

	sit_init(&it, ev->set, L, segi);
	if (stepi < p->nloop) {
		const struct map_step *st = &p->loop[stepi];

		while (sit_next(&it, &i, &kid)) {
			s = &ev->set->seg[i];
			if ((r = step_match(s, st)) < 0)
				continue;
			if (kid != NULL)
				walk(ev, kid, NULL, -1, p, stepi + 1, rank <<
				    RANK_BITS | (uint64_t)r, pm);
			else
				walk(ev, NULL, NULL, (int32_t)i, p, stepi + 1,
				    rank << RANK_BITS | (uint64_t)r, pm);
		}
		return;
	}
	while (sit_next(&it, &i, &kid))
		match_seg(ev, p, &ev->set->seg[i], rank, pm);
}

static int
is_hier(const struct edi_loop *l)
{
	return l != NULL && l->decl != NULL && l->decl->hier != NULL;
}

/* The scope a path starts from. */
static int
path_start(struct ev *ev, const struct frame *fr, const struct map_path *p,
    const struct edi_loop **L, struct sidx **x, int32_t *segi)
{
	const struct edi_loop *c, *h;
	unsigned	 depth;
	int		 i;

	*L = fr->loop;
	*segi = fr->segi;
	*x = NULL;
	switch (p->anchor) {
	case MA_REL:
		if (fr->segi < 0 && fr->loop != NULL)
			*x = frame_sidx(ev, fr);
		return 0;
	case MA_ABS:
		*L = ev->set->root;
		*segi = -1;
		return *L != NULL ? 0 : -1;
	case MA_UP:
		for (i = 0; i < p->up && fr != NULL; i++)
			fr = fr->up;
		if (fr == NULL) {
			*L = ev->set->root;
			*segi = -1;
		} else {
			*L = fr->loop;
			*segi = fr->segi;
			if (fr->segi < 0 && fr->loop != NULL)
				*x = frame_sidx(ev, fr);
		}
		return 0;
	case MA_HIER:
		c = fr->segi >= 0 ? ev->set->seg[fr->segi].loop : fr->loop;
		for (h = c, depth = 0; h != NULL && !is_hier(h) &&
		    depth < EG_MAX_LOOP_DEPTH + 2; h = h->parent, depth++)
			;
		if (h == NULL)
			return -1;
		/* Ancestors only: from an HL instance, its parent. */
		c = h == c ? h->hparent : h;
		for (depth = 0; c != NULL && depth < EG_MAX_HL_DEPTH;
		    c = c->hparent, depth++) {
			if (c->first < ev->set->nseg &&
			    step_match(&ev->set->seg[c->first], &p->hstep) >= 0) {
				*L = c;
				*segi = -1;
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

/*
 * Every segment p reaches from fr, into pm; -1 when p has no start there.
 * The common `TAG01` in the current loop is walk() inlined.
 */
static inline int
path_walk(struct ev *ev, const struct frame *fr, const struct map_path *p,
    struct pm *pm)
{
	const struct edi_loop *L;
	struct sidx	*x;
	int32_t		 segi;
	uint32_t	 it;

	if (p->anchor == MA_REL && p->nloop == 0 && fr->segi < 0 &&
	    fr->loop != NULL) {
		if ((x = frame_sidx(ev, fr)) == NULL)
			return -1;
		for (it = sidx_first(x, &p->seg); it != SIDX_END;
		    it = x->it[it].next)
			match_seg_at(ev, p, &ev->set->seg[x->it[it].seg], 0,
			    pm);
		return 0;
	}
	if (path_start(ev, fr, p, &L, &x, &segi) != 0)
		return -1;
	walk(ev, L, x, segi, p, 0, 0, pm);
	return 0;
}

/* First match of p; *n is the number of matches in the winning rank. */
static int
path_first(struct ev *ev, const struct frame *fr, const struct map_path *p,
    struct pm *pm)
{
	pm->mode = PM_FIRST;
	pm->nbest = 0;
	pm->nothers = 0;
	pm->seg = NULL;
	if (path_walk(ev, fr, p, pm) != 0 || pm->nbest == 0)
		return 0;
	ev->lastseg = pm->seg;
	return 1;
}

static long
path_all(struct ev *ev, const struct frame *fr, const struct map_path *p,
    void (*fn)(struct ev *, void *, const struct map_val *), void *arg)
{
	struct pm	 pm;

	memset(&pm, 0, sizeof(pm));
	pm.mode = PM_ALL;
	pm.fn = fn;
	pm.arg = arg;
	if (path_walk(ev, fr, p, &pm) != 0)
		return 0;
	return pm.nbest;
}

/* ---- the hierarchy index ----------------------------------------------- */

static void
h_collect(struct ev *ev, const struct edi_loop *l, unsigned depth,
    uint32_t *cap)
{
	uint32_t i;

	if (depth > EG_MAX_LOOP_DEPTH + 2 || ev->limit)
		return;
	if (is_hier(l)) {
		if (ev->nh == *cap) {
			uint32_t nc = *cap ? *cap * 2 : 64;
			const struct edi_loop **nh = ev_allocarray(ev, nc,
			    sizeof(*nh));

			if (nh == NULL) {
				ev->limit = 1;
				return;
			}
			if (ev->nh)
				memcpy(nh, ev->h, ev->nh * sizeof(*nh));
			ev->h = nh;
			*cap = nc;
		}
		ev->h[ev->nh++] = l;
	}
	for (i = 0; i < l->nkid; i++)
		h_collect(ev, l->kid[i], depth + 1, cap);
}

static long
h_index(const struct ev *ev, const struct edi_loop *l)
{
	uint32_t lo = 0, hi = ev->nh, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev->h[mid]->first < l->first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ev->nh && ev->h[lo]->first == l->first; lo++)
		if (ev->h[lo] == l)
			return lo;
	return -1;
}

static void
h_build(struct ev *ev)
{
	uint32_t cap = 0, i, *fill;
	long	 pi;

	ev->hbuilt = 1;
	if (ev->set->root == NULL)
		return;
	h_collect(ev, ev->set->root, 0, &cap);
	ev->hkoff = ev_zalloc(ev, (ev->nh + 1) * sizeof(uint32_t));
	ev->hk = ev_zalloc(ev, (ev->nh + 1) * sizeof(uint32_t));
	fill = ev_zalloc(ev, (ev->nh + 1) * sizeof(uint32_t));
	if (ev->hkoff == NULL || ev->hk == NULL || fill == NULL) {
		ev->limit = 1;
		ev->nh = 0;
		return;
	}
	for (i = 0; i < ev->nh; i++)
		if (ev->h[i]->hparent != NULL &&
		    (pi = h_index(ev, ev->h[i]->hparent)) >= 0)
			ev->hkoff[pi + 1]++;
	for (i = 0; i < ev->nh; i++)
		ev->hkoff[i + 1] += ev->hkoff[i];
	for (i = 0; i < ev->nh; i++)
		if (ev->h[i]->hparent != NULL &&
		    (pi = h_index(ev, ev->h[i]->hparent)) >= 0)
			ev->hk[ev->hkoff[pi] + fill[pi]++] = i;
}

/* ---- selectors (group instances) ------------------------------------------ */

struct inst {
	const struct edi_loop *loop;
	int32_t		 segi;
	uint64_t	 rank;
	uint32_t	 first;		/* document order */
	struct sitem	*si;		/* item triggering loop, or NULL */
	struct sidx	*sx;		/* loop's index if known, or NULL */
};

struct ilist {
	struct inst	*v;
	size_t		 n, cap;
};

static void
il_add(struct ev *ev, struct ilist *il, const struct edi_loop *l,
    int32_t segi, uint64_t rank)
{
	struct inst	*nv;

	if (il->n == il->cap) {
		size_t nc = il->cap ? il->cap * 2 : 4;

		if ((nv = ev_allocarray(ev, nc, sizeof(*nv))) == NULL)
			return;
		if (il->n)
			memcpy(nv, il->v, il->n * sizeof(*nv));
		il->v = nv;
		il->cap = nc;
	}
	il->v[il->n].loop = l;
	il->v[il->n].segi = segi;
	il->v[il->n].rank = rank;
	il->v[il->n].first = l != NULL ? l->first : (uint32_t)segi;
	il->v[il->n].si = NULL;
	il->v[il->n].sx = NULL;
	il->n++;
}

static int
inst_cmp(const void *a, const void *b)
{
	const struct inst *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Hierarchical instances below base (NULL: top level) matching st. */
static void
sel_hier(struct ev *ev, const struct edi_loop *scope, const struct map_step *st,
    enum map_axis axis, uint64_t rank, struct ilist *il)
{
	const struct edi_loop *base;
	uint32_t	 i, k, *stack, nst = 0, *seen;
	long		 bi;
	int		 r;
	size_t		 start = il->n;

	if (!ev->hbuilt)
		h_build(ev);
	for (base = scope; base != NULL && !is_hier(base); base = base->parent)
		;
	if (base == NULL) {
		for (i = 0; i < ev->nh; i++) {
			const struct edi_loop *l = ev->h[i];

			if (axis == MX_AXIS_CHILD && l->hparent != NULL)
				continue;
			if (l->first >= ev->set->nseg ||
			    (r = step_match(&ev->set->seg[l->first], st)) < 0)
				continue;
			il_add(ev, il, l, -1, rank << RANK_BITS | (uint64_t)r);
		}
		return;
	}
	if ((bi = h_index(ev, base)) < 0)
		return;
	if (ev->hstack == NULL) {
		/* Once per set: traversals reuse them (generation marks). */
		ev->hstack = ev_zalloc(ev, (ev->nh + 1) *
		    sizeof(*ev->hstack));
		ev->hgen = ev_zalloc(ev, (ev->nh + 1) * sizeof(*ev->hgen));
		if (ev->hstack == NULL || ev->hgen == NULL) {
			ev->limit = 1;
			return;
		}
	}
	stack = ev->hstack;
	seen = ev->hgen;
	ev->hcur++;
	seen[bi] = ev->hcur;
	stack[nst++] = (uint32_t)bi;
	while (nst > 0) {
		i = stack[--nst];
		for (k = ev->hkoff[i]; k < ev->hkoff[i + 1]; k++) {
			uint32_t c = ev->hk[k];
			const struct edi_loop *l = ev->h[c];

			if (seen[c] == ev->hcur)
				continue;
			seen[c] = ev->hcur;
			if (l->first < ev->set->nseg &&
			    (r = step_match(&ev->set->seg[l->first], st)) >= 0)
				il_add(ev, il, l, -1, rank << RANK_BITS |
				    (uint64_t)r);
			if (axis == MX_AXIS_DESCENDANT && nst < ev->nh)
				stack[nst++] = c;
		}
	}
	if (axis == MX_AXIS_DESCENDANT && il->n - start > 1)
		qsort(il->v + start, il->n - start, sizeof(*il->v), inst_cmp);
}

/* The index of an instance's loop: the one its trigger item keeps. */
static struct sidx *
inst_sidx(struct ev *ev, const struct inst *in)
{
	if (in->loop == NULL)
		return NULL;
	if (in->sx != NULL)
		return in->sx;
	if (in->si == NULL)
		return sidx_get(ev, in->loop);
	return sidx_kid(ev, in->si);
}

static void
sel_step(struct ev *ev, const struct inst *in, const struct map_step *st,
    enum map_axis axis, uint64_t rank, struct ilist *il)
{
	const struct edi_loop *L = in->loop;
	int32_t		 segi = L != NULL ? -1 : in->segi;
	struct sit	 it;
	struct sidx	*x;
	uint32_t	 i, k;
	const struct edi_loop *kid;
	int		 r;

	if (st->hier) {
		sel_hier(ev, segi >= 0 ? ev->set->seg[segi].loop : L, st, axis,
		    rank, il);
		return;
	}
	if (L != NULL) {
		if ((x = inst_sidx(ev, in)) == NULL)
			return;
		for (k = sidx_first(x, st); k != SIDX_END;
		    k = x->it[k].next) {
			i = x->it[k].seg;
			if ((r = frank(&ev->set->seg[i], &st->f)) < 0)
				continue;
			kid = x->it[k].kid;
			il_add(ev, il, kid, kid != NULL ? -1 : (int32_t)i,
			    rank << RANK_BITS | (uint64_t)r);
			if (kid != NULL && il->n > 0 &&
			    il->v[il->n - 1].loop == kid)
				il->v[il->n - 1].si = &x->it[k];
		}
		return;
	}
	sit_init(&it, ev->set, L, segi);
	while (sit_next(&it, &i, &kid)) {
		if ((r = step_match(&ev->set->seg[i], st)) < 0)
			continue;
		il_add(ev, il, kid, kid != NULL ? -1 : (int32_t)i,
		    rank << RANK_BITS | (uint64_t)r);
	}
}

/*
 * The selector's first step has no item in the frame's loop instance (a
 * PO1 line without SAC or N9): select_inst would find nothing.
 */
static inline int
sel_none(struct ev *ev, const struct frame *fr, const struct map_path *p)
{
	const struct map_step *st = p->nloop > 0 ? &p->loop[0] : &p->seg;
	struct sidx	*x;

	if (p->anchor != MA_REL || st->hier || fr->segi >= 0 ||
	    fr->loop == NULL || (x = frame_sidx(ev, fr)) == NULL)
		return 0;
	return sidx_first(x, st) == SIDX_END;
}

static void
select_inst(struct ev *ev, const struct frame *fr, const struct map_block *b,
    struct ilist *il)
{
	const struct map_path *p = b->sel;
	struct ilist	 cur, nxt;
	struct inst	 start;
	const struct edi_loop *L = fr->loop;
	int32_t		 segi = fr->segi;
	size_t		 j;
	int		 k;

	memset(il, 0, sizeof(*il));
	if (p == NULL)
		return;
	if (p->anchor == MA_ABS) {
		L = ev->set->root;
		segi = -1;
	}
	if (L == NULL && segi < 0)
		return;
	memset(&start, 0, sizeof(start));
	start.loop = L;
	start.segi = segi;
	start.first = L != NULL ? L->first : (uint32_t)segi;
	if (L != NULL && L == fr->loop && fr->segi < 0)
		start.sx = frame_sidx(ev, fr);
	cur.v = &start;
	cur.n = cur.cap = 1;
	for (k = 0; k <= p->nloop && !ev->limit; k++) {
		const struct map_step *st = k < p->nloop ? &p->loop[k] :
		    &p->seg;

		memset(&nxt, 0, sizeof(nxt));
		for (j = 0; j < cur.n; j++)
			sel_step(ev, &cur.v[j], st, b->axis, cur.v[j].rank,
			    &nxt);
		cur = nxt;
	}
	*il = cur;
}

/* ---- event fields ------------------------------------------------------- */

struct sumacc;

/*
 * A walk over the nodes a field names.  sum() adds each node itself
 * (sum set), every other walk calls fn.
 */
struct fwalk {
	void		(*fn)(struct ev *, void *, const struct mdoc *);
	void		*arg;
	long		 n;
	struct sumacc	*sum;
};

static inline void sum_node(struct sumacc *, const struct mdoc *);

static inline void
fw_visit(struct ev *ev, struct fwalk *fw, const struct mdoc *j)
{
	fw->n++;
	if (fw->sum != NULL)
		sum_node(fw->sum, j);
	else
		fw->fn(ev, fw->arg, j);
}

/*
 * The mdoc_keybit of f's name k, as the map linked it.  A field that was
 * not linked (a lookup's on-miss message) tests every bit: the members
 * are then scanned, as they would be after a hit.
 */
static inline uint64_t
field_bit(const struct map_field *f, int k)
{
	return f->bit != NULL ? f->bit[k] : ~(uint64_t)0;
}

/*
 * Every node f's names from k on reach under j, arrays on the way taken
 * element by element.  Member steps loop, and so do those of each
 * element: only an array in an array's element recurses, so
 * sum(lines.quantity.value) costs no call per line.  depth counts both
 * kinds of step, as the limit always has.
 */
static void
field_each_at(struct ev *ev, const struct mdoc *j, const struct map_field *f,
    int k, struct fwalk *fw, int depth)
{
	const struct mdoc *e;
	uint32_t i;
	int	 ek, ed;

	for (;; k++, depth++) {
		if (j == NULL || depth > MAP_MAX_TARGET_DEPTH + 2)
			return;
		if (k == f->nname) {
			fw_visit(ev, fw, j);
			return;
		}
		if (j->kind == MDOC_ARR)
			break;
		if (j->kind != MDOC_OBJ)
			return;
		j = mdoc_member_bit(j, f->name[k], field_bit(f, k));
	}
	for (i = 0; i < j->u.a.n; i++) {
		for (e = j->u.a.v[i], ek = k, ed = depth + 1;; ek++, ed++) {
			if (e == NULL || ed > MAP_MAX_TARGET_DEPTH + 2)
				break;
			if (ek == f->nname) {
				fw_visit(ev, fw, e);
				break;
			}
			if (e->kind == MDOC_ARR) {
				field_each_at(ev, e, f, ek, fw, ed);
				break;
			}
			if (e->kind != MDOC_OBJ)
				break;
			e = mdoc_member_bit(e, f->name[ek], field_bit(f, ek));
		}
	}
}

static inline struct mdoc *
field_base(struct ev *ev, const struct frame *fr, const struct map_field *f)
{
	int	 i;

	if (f->abs)
		return ev->root;
	fr = obj_frame(fr);
	for (i = 0; i < f->up && fr != NULL; i++)
		fr = obj_frame(fr->up);
	return fr != NULL ? fr->obj : NULL;
}

static long
field_each(struct ev *ev, const struct frame *fr, const struct map_field *f,
    void (*fn)(struct ev *, void *, const struct mdoc *), void *arg)
{
	struct fwalk fw = { fn, arg, 0, NULL };

	field_each_at(ev, field_base(ev, fr, f), f, 0, &fw, 0);
	return fw.n;
}

/*
 * A document node as a map value: strings (decimals read back as strings,
 * as they were JSON strings), integers; objects and arrays are present
 * when not empty.
 */
static int
node_val(const struct mdoc *j, struct map_val *v)
{
	memset(v, 0, sizeof(*v));
	if (j == NULL)
		return 0;
	switch (j->kind) {
	case MDOC_STR:
	case MDOC_DEC:
		v->p = j->u.s.p;
		v->len = j->u.s.len;
		v->kind = MV_STR;
		return v->len > 0;
	case MDOC_INT:
		v->i = j->u.i;
		v->kind = MV_INT;
		return 1;
	case MDOC_ARR:
		return j->u.a.n > 0;
	case MDOC_OBJ:
		return j->u.o.n > 0;
	}
	return 0;
}

/*
 * mdoc_member, the last member first: a rule's condition mostly reads
 * what the rule before it wrote (exists(item.standardItemId.value)).
 */
static inline const struct mdoc *
member(const struct mdoc *o, const struct map_field *f, int k)
{
	const struct mdoc *t = o->u.o.tail;

	if (t != NULL && t->key == f->name[k])
		return t;
	return mdoc_member_bit(o, f->name[k], field_bit(f, k));
}

/*
 * f's names followed from its base through objects: the node reached,
 * and in *kp how many names that took (f->nname: the node f names).
 * Stopped early on an array or a scalar, which the callers tell apart.
 */
static inline const struct mdoc *
field_obj(struct ev *ev, const struct frame *fr, const struct map_field *f,
    int *kp)
{
	const struct mdoc *j = field_base(ev, fr, f);
	int	 k, n = f->nname;

	for (k = 0; k < n; k++) {
		if (j == NULL || j->kind != MDOC_OBJ ||
		    k > MAP_MAX_TARGET_DEPTH)
			break;
		j = member(j, f, k);
	}
	*kp = k;
	return j;
}

/* node_val(j, v) != 0, without the value. */
static int
node_has(const struct mdoc *j)
{
	switch (j->kind) {
	case MDOC_STR:
	case MDOC_DEC:
		return j->u.s.len > 0;
	case MDOC_INT:
		return 1;
	case MDOC_ARR:
		return j->u.a.n > 0;
	case MDOC_OBJ:
		return j->u.o.n > 0;
	}
	return 0;
}

struct first_node {
	const struct mdoc *j;
};

static void
cb_first_node(struct ev *ev, void *arg, const struct mdoc *j)
{
	struct first_node *fj = arg;
	struct map_val v;

	(void)ev;
	if (fj->j == NULL && node_val(j, &v))
		fj->j = j;
}

static void
cb_count(struct ev *ev, void *arg, const struct mdoc *j)
{
	long	*n = arg;

	(void)ev;
	if (j->kind == MDOC_ARR)
		*n += (long)j->u.a.n;
	else
		(*n)++;
}

/* ---- expressions --------------------------------------------------------- */

/* Integer or decimal text of a value (for sums and comparisons). */
static struct slice
val_slice(struct ev *ev, const struct map_val *v, char *nb, size_t nblen)
{
	unsigned long long mag;
	char	*p;

	if (v->kind == MV_INT) {
		/* "%lld", without printf's machinery (count() = CTT01). */
		mag = v->i < 0 ? -(unsigned long long)v->i :
		    (unsigned long long)v->i;
		p = nb + nblen;
		do {
			*--p = (char)('0' + mag % 10);
			mag /= 10;
		} while (mag > 0 && p > nb + 1);
		if (v->i < 0)
			*--p = '-';
		return slice_make(p, (size_t)(nb + nblen - p));
	}
	(void)ev;
	return slice_make(v->p, v->len);
}

struct sumacc {
	struct map_dec_sum ds;
	int	 bad;
	long	 n;		/* values added */
};

static inline void
sum_add(struct sumacc *sa, struct slice s)
{
	int64_t	 x;
	size_t	 i;
	unsigned d;

	sa->n++;
	/*
	 * A whole quantity of up to 9 digits into a whole total (most of
	 * sum(lines.quantity.value)): map_dec_sum_add's first case, without
	 * the call.  It takes every other value, and a total that outgrows
	 * the integer, as before.
	 */
	if (!sa->ds.big && sa->ds.scale == 0 && s.len - 1 < 9) {
		for (x = 0, i = 0; i < s.len; i++) {
			if ((d = (unsigned char)s.p[i] - '0') > 9)
				break;
			x = x * 10 + d;
		}
		if (i == s.len && sa->ds.v + x < 1000000000000000000LL) {
			sa->ds.v += x;
			return;
		}
	}
	if (map_dec_sum_add(&sa->ds, s) != 0)
		sa->bad = 1;
}

static inline void
sum_node(struct sumacc *sa, const struct mdoc *j)
{
	struct map_val	 v;
	char		 nb[32];

	/* node_val's values, without zeroing one for every line summed. */
	if (j == NULL)
		return;
	switch (j->kind) {
	case MDOC_STR:
	case MDOC_DEC:
		if (j->u.s.len > 0)
			sum_add(sa, slice_make(j->u.s.p, j->u.s.len));
		break;
	case MDOC_INT:
		v.kind = MV_INT;
		v.i = j->u.i;
		sum_add(sa, val_slice(NULL, &v, nb, sizeof(nb)));
		break;
	}
}

static void
cb_sum_val(struct ev *ev, void *arg, const struct map_val *v)
{
	char	 nb[32];

	sum_add(arg, val_slice(ev, v, nb, sizeof(nb)));
}

struct joinacc {
	struct buf	 b;
	struct slice	 sep;
	int		 n;
};

static void
join_add(struct joinacc *ja, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (ja->n++ > 0)
		buf_add(&ja->b, ja->sep.p, ja->sep.len);
	buf_add(&ja->b, p, len);
}

static void
cb_join_val(struct ev *ev, void *arg, const struct map_val *v)
{
	char	 nb[32];
	struct slice s = val_slice(ev, v, nb, sizeof(nb));

	join_add(arg, s.p, s.len);
}

static int eval_expr_all(struct ev *, const struct frame *,
		    const struct map_expr *,
		    void (*)(struct ev *, void *, const struct map_val *), void *);
static void cb_noop(struct ev *, void *, const struct map_val *);

static const struct edi_seg *
env_seg(struct ev *ev, enum map_envkind k)
{
	switch (k) {
	case ME_ISA:
		return ev->set->env.interchange;
	case ME_GS:
		return ev->set->env.group;
	case ME_ST:
		return ev->set->nseg ? &ev->set->seg[0] : NULL;
	default:
		return NULL;
	}
}

static void
multi_diag(struct ev *ev, const struct rctx *rc, const struct map_expr *e,
    const struct pm *pm)
{
	char	 first[16], others[80];
	struct margs ma;
	size_t	 o = 0;
	int	 i;

	if (rc == NULL || pm->nbest < 2)
		return;
	snprintf(first, sizeof(first), "%u", pm->seg ? pm->seg->filepos :
	    0);
	others[0] = '\0';
	for (i = 0; i < pm->nothers && o < sizeof(others) - 16; i++)
		o += (size_t)snprintf(others + o, sizeof(others) - o, "%s%u",
		    i ? ", " : "", pm->others[i]);
	if (pm->nbest - 1 > pm->nothers && o < sizeof(others) - 8)
		snprintf(others + o, sizeof(others) - o, ", ...");
	memset(&ma, 0, sizeof(ma));
	ma.n = pm->nbest;
	ma.first = first;
	ma.others = others;
	emit(ev, DIAG_WARNING, "MAP-MULTI", rc->s, rc->fr, rc->tgt,
	    rc->listidx, e->text, pm->seg, pm->val ? pm->val->el : 0,
	    pm->val ? pm->comp : 0, NULL,
	    MD_MULTI, &ma);
}

/* ---- XML sources: XPath ------------------------------------------------- */

static void
xp_error(void *arg, xmlErrorPtr e)
{
	struct ev	*ev = arg;
	size_t		 n;

	if (ev->xfail++ || e == NULL)
		return;
	snprintf(ev->xwhy, sizeof(ev->xwhy), "%s", e->message ? e->message :
	    "XPath error");
	n = strlen(ev->xwhy);
	while (n > 0 && (ev->xwhy[n - 1] == '\n' || ev->xwhy[n - 1] == ' '))
		ev->xwhy[--n] = '\0';
}

/*
 * Evaluate a compiled XPath with fr's node as the context node (absolute
 * paths start at the document).  NULL when it cannot be evaluated (the
 * operation limit, a runtime error): that is an error diagnostic, since
 * the map cannot be applied to this document.
 */
static xmlXPathObjectPtr
xp_run(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    void *comp, const char *text)
{
	xmlXPathContextPtr c = ev->xctx;
	xmlXPathObjectPtr r;
	struct margs	 ma;

	if (c == NULL || comp == NULL)
		return NULL;
	c->node = frame_xnode(fr);
	c->contextSize = 1;
	c->proximityPosition = 1;
	c->opCount = 0;
	c->opLimit = MAP_XPATH_OP_LIMIT;
	ev->xfail = 0;
	r = xmlXPathCompiledEval(comp, c);
	if (r != NULL && !ev->xfail)
		return r;
	xmlXPathFreeObject(r);
	memset(&ma, 0, sizeof(ma));
	ma.why = ev->xfail ? ev->xwhy : "XPath error";
	emit(ev, DIAG_ERROR, "MAP-LIMIT", ev->cur, fr, NULL, -1,
	    e != NULL ? e->text : text, NULL, 0, 0, NULL, MD_XPATH, &ma);
	return NULL;
}

static int
xml_blank(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return 0;
	return 1;
}

/* Cut at EG_MAX_VALUE_LEN, on a UTF-8 character boundary. */
static size_t
xml_cap(const char *p, size_t n)
{
	if (n <= EG_MAX_VALUE_LEN)
		return n;
	n = EG_MAX_VALUE_LEN;
	while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * The XPath string value of a node: a pointer into the document when it
 * is one text node (valid while the document is, i.e. during the set
 * callback), else a copy in the arena.  NULL when empty or only white
 * space: like an empty EDI element, such a value is absent.
 */
static const char *
xnode_value(struct ev *ev, xmlNodePtr n, size_t *len)
{
	const xmlChar	*t = NULL;
	xmlChar		*own = NULL;
	const char	*p;
	size_t		 l;
	int		 copy = 0;

	switch (n->type) {
	case XML_NAMESPACE_DECL:	/* a copy owned by the XPath result */
		t = ((xmlNsPtr)n)->href;
		copy = 1;
		break;
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
	case XML_COMMENT_NODE:
	case XML_PI_NODE:
		t = n->content;
		break;
	case XML_ATTRIBUTE_NODE:
	case XML_ELEMENT_NODE:
		if (n->children == NULL)
			return NULL;
		if (n->children->next == NULL &&
		    (n->children->type == XML_TEXT_NODE ||
		    n->children->type == XML_CDATA_SECTION_NODE)) {
			t = n->children->content;
			break;
		}
		/* FALLTHROUGH */
	default:
		t = own = xmlNodeGetContent(n);
		copy = 1;
		break;
	}
	if (t == NULL)
		return NULL;
	l = strlen((const char *)t);
	if (xml_blank((const char *)t, l)) {
		xmlFree(own);
		return NULL;
	}
	l = xml_cap((const char *)t, l);
	p = copy ? ev_strndup(ev, (const char *)t, l) : (const char *)t;
	xmlFree(own);
	*len = l;
	return p;
}

/* A value made from a string, number or boolean XPath result. */
static int
xp_scalar(struct ev *ev, const struct frame *fr, xmlXPathObjectPtr r,
    struct map_val *v)
{
	xmlChar	*t = NULL;
	const char *p;
	size_t	 l;

	switch (r->type) {
	case XPATH_STRING:
		p = (const char *)r->stringval;
		break;
	case XPATH_BOOLEAN:
		p = r->boolval ? "true" : "false";
		break;
	case XPATH_NUMBER:
		if (xmlXPathIsNaN(r->floatval))
			return 0;
		t = xmlXPathCastNumberToString(r->floatval);
		p = (const char *)t;
		break;
	default:
		return 0;
	}
	if (p == NULL || (l = strlen(p)) == 0 || xml_blank(p, l)) {
		xmlFree(t);
		return 0;
	}
	l = xml_cap(p, l);
	v->p = ev_strndup(ev, p, l);
	v->len = l;
	xmlFree(t);
	if (v->p == NULL)
		return 0;
	v->kind = MV_STR;
	v->xnode = frame_xnode(fr);
	return 1;
}

static void
xmulti_diag(struct ev *ev, const struct rctx *rc, const char *source,
    xmlNodePtr first, xmlNodeSetPtr ns, int nfound, int unique,
    const struct frame *fr)
{
	char	 fb[16], others[80];
	struct margs ma;
	size_t	 o = 0;
	int	 i, shown = 0;

	snprintf(fb, sizeof(fb), "%d", xml_line(first));
	others[0] = '\0';
	for (i = 0; ns != NULL && i < ns->nodeNr &&
	    shown < MAP_MAX_MULTI_LIST && o < sizeof(others) - 16; i++) {
		if (ns->nodeTab[i] == first)
			continue;
		o += (size_t)snprintf(others + o, sizeof(others) - o, "%s%d",
		    shown ? ", " : "", xml_line(ns->nodeTab[i]));
		shown++;
	}
	if (nfound - 1 > shown && o < sizeof(others) - 8)
		snprintf(others + o, sizeof(others) - o, ", ...");
	memset(&ma, 0, sizeof(ma));
	ma.n = nfound;
	ma.first = fb;
	ma.others = others;
	ev->xat = first != NULL && first->type != XML_NAMESPACE_DECL ? first :
	    NULL;
	if (rc != NULL)
		emit(ev, unique ? DIAG_ERROR : DIAG_WARNING, "MAP-MULTI", rc->s,
		    rc->fr, rc->tgt, rc->listidx, source, NULL, 0, 0, NULL,
		    unique ? MD_MULTI_UNIQUE_XML : MD_MULTI_XML, &ma);
	else
		emit(ev, unique ? DIAG_ERROR : DIAG_WARNING, "MAP-MULTI",
		    ev->cur, fr, NULL, -1, source, NULL, 0, 0, NULL,
		    unique ? MD_MULTI_UNIQUE_XML : MD_MULTI_XML, &ma);
}

/*
 * The value of an XPath term: the string value of the first node whose
 * value is not blank; MAP-MULTI (when rc is given) if several are not.
 */
static int
xp_value(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v, const struct rctx *rc)
{
	xmlXPathObjectPtr r;
	xmlNodeSetPtr	 ns;
	xmlNodePtr	 first = NULL;
	const char	*p, *fp = NULL;
	size_t		 l, fl = 0;
	int		 i, n = 0, found;

	if ((r = xp_run(ev, fr, e, e->xp, NULL)) == NULL)
		return 0;
	if (r->type != XPATH_NODESET) {
		found = xp_scalar(ev, fr, r, v);
		xmlXPathFreeObject(r);
		return found;
	}
	ns = r->nodesetval;
	for (i = 0; ns != NULL && i < ns->nodeNr && i < MAP_MAX_XPATH_NODES;
	    i++) {
		if ((p = xnode_value(ev, ns->nodeTab[i], &l)) == NULL)
			continue;
		if (n++ == 0) {
			first = ns->nodeTab[i];
			fp = p;
			fl = l;
		} else if (rc == NULL)
			break;
	}
	if (n == 0) {
		xmlXPathFreeObject(r);
		return 0;
	}
	v->p = fp;
	v->len = fl;
	v->kind = MV_STR;
	v->xnode = first->type != XML_NAMESPACE_DECL ? first : frame_xnode(fr);
	ev->xlast = (xmlNodePtr)v->xnode;
	ev->lastsrc = e->text;
	if (n > 1 && rc != NULL)
		xmulti_diag(ev, rc, e->text, first, ns, n, 0, fr);
	xmlXPathFreeObject(r);
	return 1;
}

/* Every non-blank value of an XPath, in document order. */
static int
xp_all(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    void (*fn)(struct ev *, void *, const struct map_val *), void *arg)
{
	xmlXPathObjectPtr r;
	xmlNodeSetPtr	 ns;
	struct map_val	 v;
	const char	*p;
	size_t		 l;
	int		 i, n = 0;

	if ((r = xp_run(ev, fr, e, e->xp, NULL)) == NULL)
		return 0;
	memset(&v, 0, sizeof(v));
	if (r->type != XPATH_NODESET) {
		if (xp_scalar(ev, fr, r, &v)) {
			v.from = e;
			fn(ev, arg, &v);
			n = 1;
		}
		xmlXPathFreeObject(r);
		return n;
	}
	ns = r->nodesetval;
	for (i = 0; ns != NULL && i < ns->nodeNr && i < MAP_MAX_XPATH_NODES &&
	    !ev->limit; i++) {
		if ((p = xnode_value(ev, ns->nodeTab[i], &l)) == NULL)
			continue;
		memset(&v, 0, sizeof(v));
		v.p = p;
		v.len = l;
		v.kind = MV_STR;
		v.from = e;
		v.xnode = ns->nodeTab[i]->type != XML_NAMESPACE_DECL ?
		    ns->nodeTab[i] : frame_xnode(fr);
		fn(ev, arg, &v);
		n++;
	}
	xmlXPathFreeObject(r);
	return n;
}

/* count(XPATH): nodes; exists(XPATH): any node, or a non-empty value. */
static long
xp_count(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    int *isset)
{
	xmlXPathObjectPtr r;
	struct map_val	 v;
	long		 n;

	*isset = 0;
	if ((r = xp_run(ev, fr, e, e->xp, NULL)) == NULL)
		return 0;
	if (r->type == XPATH_NODESET) {
		*isset = 1;
		n = r->nodesetval != NULL ? r->nodesetval->nodeNr : 0;
	} else {
		memset(&v, 0, sizeof(v));
		n = r->type == XPATH_BOOLEAN ? r->boolval :
		    xp_scalar(ev, fr, r, &v);
	}
	xmlXPathFreeObject(r);
	return n;
}

static int eval_expr1(struct ev *, const struct frame *,
		    const struct map_expr *, struct map_val *,
		    const struct rctx *);
static int eval_or(struct ev *, const struct frame *,
		    const struct map_expr *, int, struct map_val *,
		    const struct rctx *);

static inline int plain_value(struct ev *, const struct frame *,
		    const struct map_expr *, struct map_val *);

/*
 * A plain path (map_path_plain), which plain_value reads in a loop
 * instance or a segment frame (or answers -1 for the generic walk).
 */
static inline int
plain_ok(const struct frame *fr, const struct map_expr *e)
{
	return e->kind == MT_PATH && fr != NULL && map_path_plain(e->path);
}

/* One value of e (first non-empty); 0 when absent. */
static int
eval_expr(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v, const struct rctx *rc)
{
	int	 found;

	/* Several candidates: the generic walk reports MAP-MULTI. */
	if (plain_ok(fr, e) && (found = plain_value(ev, fr, e, v)) >= 0)
		return found;
	if (e->kind == MT_LIT) {
		/* eval_expr1's, without the call (= "GTIN" on every line). */
		memset(v, 0, sizeof(*v));
		v->p = e->lit.p;
		v->len = e->lit.len;
		v->kind = MV_STR;
		if (v->len == 0)
			return 0;
		v->from = e;
		return 1;
	}
	if (!eval_expr1(ev, fr, e, v, rc))
		return 0;
	if (v->from == NULL)
		v->from = e;
	return 1;
}

static int
eval_expr1(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v, const struct rctx *rc)
{
	struct pm	 pm;
	const struct edi_seg *s;
	const struct edi_val *ev_;
	const char	*pv;
	char		 nb[32];
	int		 i, n;

	memset(v, 0, sizeof(*v));
	switch (e->kind) {
	case MT_LIT:
		v->p = e->lit.p;
		v->len = e->lit.len;
		v->kind = MV_STR;
		return v->len > 0;
	case MT_SEQ:
		n = snprintf(nb, sizeof(nb), "%d", fr ? fr->seq : 0);
		if ((v->p = ev_strndup(ev, nb, (size_t)n)) == NULL)
			return 0;
		v->len = (size_t)n;
		v->kind = MV_STR;
		return 1;
	case MT_PATH:
		if (!path_first(ev, fr, e->path, &pm))
			return 0;
		mk_val(v, pm.seg, pm.val, pm.comp);
		ev->lastsrc = e->text;
		multi_diag(ev, rc, e, &pm);
		return 1;
	case MT_XPATH:
		return xp_value(ev, fr, e, v, rc);
	case MT_FIELD: {
		struct first_node fj = { NULL };
		const struct mdoc *j;
		int k;

		/* Most fields name objects only: no walk with callbacks. */
		j = field_obj(ev, fr, e->field, &k);
		if (j != NULL && k == e->field->nname && node_val(j, v))
			return 1;
		if (j == NULL || k == e->field->nname ||
		    (j->kind != MDOC_ARR && j->kind != MDOC_OBJ))
			return node_val(NULL, v);
		/* An array on the way (or a very deep name): every element. */
		field_each(ev, fr, e->field, cb_first_node, &fj);
		return node_val(fj.j, v);
	}
	case MT_ENV:
		if (e->envkind == ME_PARTNER_ID) {
			pv = ev->env ? ev->env->partner_id : NULL;
		} else if (e->envkind == ME_PARTNER) {
			pv = ev->env && ev->env->partner_value ?
			    ev->env->partner_value(ev->env->partner_arg,
			    e->envname) : NULL;
		} else {
			if ((s = env_seg(ev, e->envkind)) == NULL)
				return 0;
			ev_ = map_segval(s, e->envel, e->envcomp ? e->envcomp :
			    1, 1);
			if (ev_ == NULL)
				return 0;
			mk_val(v, s, ev_, e->envcomp ? e->envcomp : 1);
			if (e->envkind == ME_ISA) {
				struct slice t = slice_trim(ev_->s);

				v->p = t.p;
				v->len = t.len;
			}
			return v->len > 0;
		}
		if (pv == NULL || *pv == '\0')
			return 0;
		/* The document may outlive the partner's configuration. */
		v->len = strlen(pv);
		if ((v->p = ev_strndup(ev, pv, v->len)) == NULL)
			return 0;
		v->kind = MV_STR;
		return 1;
	case MT_COUNT: {
		long	 cnt = 0;

		if (e->field != NULL) {
			const struct mdoc *j;
			int k;

			/* count(lines): objects down to the array, no walk. */
			j = field_obj(ev, fr, e->field, &k);
			if (j != NULL && k == e->field->nname)
				cb_count(ev, &cnt, j);
			else if (j != NULL)
				field_each(ev, fr, e->field, cb_count, &cnt);
		} else if (e->path != NULL)
			cnt = path_all(ev, fr, e->path, cb_noop, NULL);
		else if (e->nsub > 0 && e->sub[0]->kind == MT_XPATH) {
			int isset;

			cnt = xp_count(ev, fr, e->sub[0], &isset);
		} else
			return 0;
		v->i = cnt;
		v->kind = MV_INT;
		return 1;
	}
	case MT_SUM: {
		struct sumacc *sa = ev_alloc(ev, sizeof(*sa));
		struct slice total;

		if (sa == NULL)
			return 0;
		map_dec_sum_init(&sa->ds);
		sa->bad = 0;
		sa->n = 0;
		if (e->field != NULL) {
			struct fwalk fw = { NULL, NULL, 0, sa };

			field_each_at(ev, field_base(ev, fr, e->field),
			    e->field, 0, &fw, 0);
		}
		else if (e->nsub > 0)
			eval_expr_all(ev, fr, e->sub[0], cb_sum_val, sa);
		/* Nothing to add up is absent, not 0 (a check is skipped). */
		if (sa->bad || sa->n == 0)
			return 0;
		total = map_dec_sum_text(&sa->ds);
		v->p = total.p;
		v->len = total.len;
		v->kind = MV_DEC;
		return 1;
	}
	case MT_JOIN: {
		struct joinacc ja;

		memset(&ja, 0, sizeof(ja));
		buf_init(&ja.b, EG_MAX_VALUE_LEN);
		ja.sep = e->lit;
		for (i = 0; i < e->nsub; i++)
			eval_expr_all(ev, fr, e->sub[i], cb_join_val, &ja);
		if (ja.n == 0 || ja.b.len == 0) {
			buf_free(&ja.b);
			return 0;
		}
		v->p = ev_strndup(ev, ja.b.p, ja.b.len);
		v->len = ja.b.len;
		v->kind = MV_STR;
		buf_free(&ja.b);
		return v->p != NULL;
	}
	case MT_OR:
		return eval_or(ev, fr, e, 0, v, rc);
	}
	return 0;
}

/* The first non-empty term of `a or b ...` from term i on. */
static int
eval_or(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    int i, struct map_val *v, const struct rctx *rc)
{
	for (; i < e->nsub; i++) {
		if (eval_expr(ev, fr, e->sub[i], v, rc)) {
			if (i > 0 && (e->sub[i]->kind == MT_SEQ ||
			    e->sub[i]->kind == MT_LIT))
				v->fallback = 1;
			return 1;
		}
	}
	return 0;
}

static void
cb_noop(struct ev *ev, void *arg, const struct map_val *v)
{
	(void)ev;
	(void)arg;
	(void)v;
}

struct jcb {
	void		(*fn)(struct ev *, void *, const struct map_val *);
	void		*arg;
};

static void
cb_node_to_val(struct ev *ev, void *arg, const struct mdoc *j)
{
	struct jcb	*c = arg;
	struct map_val	 v;

	if (node_val(j, &v) && (v.kind == MV_STR || v.kind == MV_INT))
		c->fn(ev, c->arg, &v);
}

/* Every value of e in document order; returns how many. */
static int
eval_expr_all(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    void (*fn)(struct ev *, void *, const struct map_val *), void *arg)
{
	struct map_val	 v;
	struct jcb	 c;
	int		 i, n;

	switch (e->kind) {
	case MT_PATH:
		return (int)path_all(ev, fr, e->path, fn, arg);
	case MT_XPATH:
		return xp_all(ev, fr, e, fn, arg);
	case MT_FIELD:
		c.fn = fn;
		c.arg = arg;
		return (int)field_each(ev, fr, e->field, cb_node_to_val, &c);
	case MT_OR:
		for (i = 0; i < e->nsub; i++)
			if ((n = eval_expr_all(ev, fr, e->sub[i], fn, arg)) > 0)
				return n;
		return 0;
	default:
		if (!eval_expr(ev, fr, e, &v, NULL))
			return 0;
		fn(ev, arg, &v);
		return 1;
	}
}

/* ---- conditions ---------------------------------------------------------- */

static inline ALWAYS_INLINE int
val_cmp(struct ev *ev, const struct map_val *a, const struct map_val *b,
    int *res)
{
	char	 na[32], nb[32];
	struct slice sa = val_slice(ev, a, na, sizeof(na));
	struct slice sb = val_slice(ev, b, nb, sizeof(nb));
	size_t	 n;
	int	 c;

	if (map_uint_cmp(sa, sb, res) == 0 || map_dec_cmp(sa, sb, res) == 0)
		return 0;
	n = sa.len < sb.len ? sa.len : sb.len;
	c = n ? memcmp(sa.p, sb.p, n) : 0;
	if (c == 0)
		c = sa.len < sb.len ? -1 : sa.len > sb.len;
	*res = c < 0 ? -1 : c > 0;
	return 0;
}

/* exists(e) for what exists_field() does not answer itself. */
static NOINLINE int
exists_slow(struct ev *ev, const struct frame *fr, const struct map_expr *e)
{
	struct map_val	 v;
	struct pm	 pm;
	int		 n;

	if (plain_ok(fr, e) && (n = plain_value(ev, fr, e, &v)) >= 0)
		return n;
	if (e->kind == MT_PATH)
		return path_first(ev, fr, e->path, &pm);
	if (e->kind == MT_XPATH) {
		int isset;

		return xp_count(ev, fr, e, &isset) > 0;
	}
	return eval_expr(ev, fr, e, &v, NULL);
}

/*
 * exists(id.value), a rule's `when` on what the rule before it wrote:
 * eval_expr1's walk without a value.  1 or 0; -1 when the walk meets an
 * array on the way, which is exists_slow's.
 */
static inline ALWAYS_INLINE int
exists_field(struct ev *ev, const struct frame *fr, const struct map_expr *e)
{
	const struct mdoc *j;
	int	 n;

	if ((j = field_obj(ev, fr, e->field, &n)) == NULL)
		return 0;
	if (n == e->field->nname)
		return node_has(j);
	return -1;
}

static NOINLINE int
cond_exists(struct ev *ev, const struct frame *fr, const struct map_expr *e)
{
	return exists_slow(ev, fr, e) ? C_TRUE : C_FALSE;
}

/*
 * A field compared (check quantity.value > 0 on every line) as eval_expr1
 * reads it, for what val_cmp needs: kind, text or integer.  1 found, 0
 * absent, -1 when the walk meets an array or ends on a container: those
 * are eval_expr's.
 */
static inline int
field_cmpval(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v)
{
	const struct mdoc *j;
	int	 k;

	j = field_obj(ev, fr, e->field, &k);
	if (j == NULL)
		return 0;
	switch (j->kind) {
	case MDOC_STR:
	case MDOC_DEC:
		if (k != e->field->nname)
			return 0;
		v->p = j->u.s.p;
		v->len = j->u.s.len;
		v->kind = MV_STR;
		return v->len > 0;
	case MDOC_INT:
		if (k != e->field->nname)
			return 0;
		v->i = j->u.i;
		v->kind = MV_INT;
		return 1;
	}
	return -1;
}

/*
 * sum(lines.quantity.value): field_each_at's walk from the array (name 0)
 * for a field of three names, each element's members read in a loop
 * without its steps' tests.  An element member that is an array is
 * field_each_at's, as it would recurse there.
 */
static void
sum_objs(struct ev *ev, const struct mdoc *arr, const struct map_field *f,
    struct fwalk *fw)
{
	const char	*n1 = f->name[1], *n2 = f->name[2];
	const uint64_t	 b1 = f->bit[1], b2 = f->bit[2];
	const struct mdoc *e, *q;
	uint32_t	 i;

	for (i = 0; i < arr->u.a.n; i++) {
		if ((e = arr->u.a.v[i]) == NULL)
			continue;
		if (e->kind == MDOC_ARR) {
			field_each_at(ev, e, f, 1, fw, 2);
			continue;
		}
		if (e->kind != MDOC_OBJ ||
		    (q = mdoc_member_bit(e, n1, b1)) == NULL)
			continue;
		if (q->kind == MDOC_ARR) {
			field_each_at(ev, q, f, 2, fw, 3);
			continue;
		}
		if (q->kind == MDOC_OBJ &&
		    (q = mdoc_member_bit(q, n2, b2)) != NULL)
			fw_visit(ev, fw, q);
	}
}

/*
 * count(field) or sum(field) compared (check count(lines) = CTT01): the
 * value eval_expr1 has, but a whole total is left in *x (*isnum set)
 * without its text; *sap keeps that sum for cond_cmp to write it when it
 * must.  1 found, 0 absent.
 */
static inline int
agg_field(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v, uint64_t *x, int *isnum, struct sumacc **sap)
{
	const struct mdoc *j;
	struct sumacc	*sa;
	struct slice	 total;
	long		 cnt = 0;
	int		 k;

	memset(v, 0, sizeof(*v));
	v->from = e;
	if (e->kind == MT_COUNT) {
		j = field_obj(ev, fr, e->field, &k);
		if (j != NULL && k == e->field->nname)
			cb_count(ev, &cnt, j);
		else if (j != NULL)
			field_each(ev, fr, e->field, cb_count, &cnt);
		v->i = cnt;
		v->kind = MV_INT;
		*x = (uint64_t)cnt;	/* never negative */
		*isnum = 1;
		return 1;
	}
	if ((sa = ev_alloc(ev, sizeof(*sa))) == NULL)
		return 0;
	map_dec_sum_init(&sa->ds);
	sa->bad = 0;
	sa->n = 0;
	{
		struct fwalk fw = { NULL, NULL, 0, sa };

		j = field_base(ev, fr, e->field);
		if (e->field->nname == 3 && e->field->bit != NULL &&
		    j != NULL && j->kind == MDOC_OBJ &&
		    (j = mdoc_member_bit(j, e->field->name[0],
		    e->field->bit[0])) != NULL && j->kind == MDOC_ARR)
			sum_objs(ev, j, e->field, &fw);
		else
			field_each_at(ev, field_base(ev, fr, e->field),
			    e->field, 0, &fw, 0);
	}
	if (sa->bad || sa->n == 0)
		return 0;
	v->kind = MV_DEC;
	*sap = sa;
	if (!sa->ds.big && sa->ds.scale == 0 && sa->ds.v >= 0) {
		*x = (uint64_t)sa->ds.v;
		*isnum = 1;
		return 1;
	}
	total = map_dec_sum_text(&sa->ds);
	v->p = total.p;
	v->len = total.len;
	return 1;
}

/*
 * map_uint_cmp of x's digits with b, without writing them: 0 and *res
 * when b is an unsigned integer, -1 when not.  x is below 10^19.
 */
static inline int
uint_cmp_x(uint64_t x, struct slice b, int *res)
{
	uint64_t y = 0;
	size_t	 i;

	if (b.len == 0 || b.len > MAP_MAX_DEC_DIGITS + 2)
		return -1;
	for (i = 0; i < b.len; i++)
		if ((unsigned char)(b.p[i] - '0') > 9)
			return -1;
	while (b.len > 1 && b.p[0] == '0') {
		b.p++;
		b.len--;
	}
	if (b.len > 19) {
		*res = -1;
		return 0;
	}
	for (i = 0; i < b.len; i++)
		y = y * 10 + (uint64_t)(b.p[i] - '0');
	*res = x < y ? -1 : x > y;
	return 0;
}

/* Whether a comparison's result res (<0, 0, >0) satisfies op; -1: no op. */
static inline int
cmp_holds(enum map_cmp op, int res)
{
	switch (op) {
	case MCMP_EQ:
		return res == 0;
	case MCMP_NE:
		return res != 0;
	case MCMP_LT:
		return res < 0;
	case MCMP_GT:
		return res > 0;
	case MCMP_LE:
		return res <= 0;
	case MCMP_GE:
		return res >= 0;
	}
	return -1;
}

/* A comparison (MC_CMP): C_TRUE, C_FALSE or C_UNKNOWN. */
static NOINLINE int
cond_cmp(struct ev *ev, const struct frame *fr, const struct map_cond *c)
{
	struct map_val	 a, b;
	struct sumacc	*sa = NULL;
	struct slice	 total;
	uint64_t	 x = 0;
	int		 l, res, isnum = 0;

	if ((c->a->kind == MT_COUNT || c->a->kind == MT_SUM) &&
	    c->a->field != NULL)
		l = agg_field(ev, fr, c->a, &a, &x, &isnum, &sa);
	else if (c->a->kind != MT_FIELD ||
	    (l = field_cmpval(ev, fr, c->a, &a)) < 0)
		l = eval_expr(ev, fr, c->a, &a, NULL);
	if (!l)
		return C_UNKNOWN;
	if (c->b->kind == MT_LIT) {
		/* `> 0`: val_cmp reads the text only. */
		b.p = c->b->lit.p;
		b.len = c->b->lit.len;
		b.kind = MV_STR;
		if (b.len == 0)
			return C_UNKNOWN;
	} else if (plain_ok(fr, c->b) &&
	    (l = plain_value(ev, fr, c->b, &b)) >= 0) {
		/* CTT01: eval_expr's first way, without its call. */
		if (l == 0)
			return C_UNKNOWN;
	} else if (!eval_expr(ev, fr, c->b, &b, NULL))
		return C_UNKNOWN;
	if (isnum && b.kind != MV_INT && uint_cmp_x(x, slice_make(b.p, b.len),
	    &res) == 0)
		goto out;
	if (sa != NULL && a.p == NULL) {
		/* A whole sum against anything else: as its text. */
		total = map_dec_sum_text(&sa->ds);
		a.p = total.p;
		a.len = total.len;
	}
	if (val_cmp(ev, &a, &b, &res) != 0)
		return C_UNKNOWN;
out:
	return (l = cmp_holds(c->cmp, res)) < 0 ? C_UNKNOWN : l;
}

/* A list test (MC_IN). */
static NOINLINE int
cond_in(struct ev *ev, const struct frame *fr, const struct map_cond *c)
{
	struct map_val	 a, b;
	int		 res, i;

	if (!eval_expr(ev, fr, c->a, &a, NULL))
		return C_UNKNOWN;
	for (i = 0; i < c->nlist; i++) {
		memset(&b, 0, sizeof(b));
		b.p = c->list[i].p;
		b.len = c->list[i].len;
		b.kind = MV_STR;
		if (val_cmp(ev, &a, &b, &res) == 0 && res == 0)
			return C_TRUE;
	}
	return C_FALSE;
}

static int eval_cond(struct ev *, const struct frame *,
		    const struct map_cond *, int);

/* A condition other than exists(field); comparisons are out of line. */
static NOINLINE int
cond_tree(struct ev *ev, const struct frame *fr, const struct map_cond *c,
    int depth)
{
	int	 l, r;

	if (c == NULL)
		return C_TRUE;
	if (depth > (int)EG_MAX_EXPR_DEPTH * 2)
		return C_UNKNOWN;
	switch (c->op) {
	case MC_AND:
		if ((l = eval_cond(ev, fr, c->l, depth + 1)) == C_FALSE)
			return C_FALSE;
		if ((r = eval_cond(ev, fr, c->r, depth + 1)) == C_FALSE)
			return C_FALSE;
		return l == C_TRUE && r == C_TRUE ? C_TRUE : C_UNKNOWN;
	case MC_OR:
		if ((l = eval_cond(ev, fr, c->l, depth + 1)) == C_TRUE)
			return C_TRUE;
		if ((r = eval_cond(ev, fr, c->r, depth + 1)) == C_TRUE)
			return C_TRUE;
		return l == C_FALSE && r == C_FALSE ? C_FALSE : C_UNKNOWN;
	case MC_NOT:
		l = eval_cond(ev, fr, c->l, depth + 1);
		return l == C_UNKNOWN ? l : !l;
	case MC_EXISTS:
		if (c->a->kind == MT_FIELD &&
		    (l = exists_field(ev, fr, c->a)) >= 0)
			return l ? C_TRUE : C_FALSE;
		return cond_exists(ev, fr, c->a);
	case MC_IN:
		return cond_in(ev, fr, c);
	case MC_CMP:
		return cond_cmp(ev, fr, c);
	}
	return C_UNKNOWN;
}

/*
 * `check quantity.value > 0` on every line: a field compared with a
 * literal, both unsigned integers (map_uint_cmp, val_cmp's first case),
 * read and compared without cond_cmp's frame and values.  -1 for all
 * else, which cond_cmp decides as before.
 */
static inline ALWAYS_INLINE int
cond_cmp_lit(struct ev *ev, const struct frame *fr, const struct map_cond *c)
{
	const struct mdoc *j;
	int	 k, res;

	j = field_obj(ev, fr, c->a->field, &k);
	if (j == NULL || k != c->a->field->nname ||
	    (j->kind != MDOC_STR && j->kind != MDOC_DEC) ||
	    map_uint_cmp(slice_make(j->u.s.p, j->u.s.len), c->b->lit,
	    &res) != 0)
		return -1;
	return cmp_holds(c->cmp, res);
}

/*
 * The common `when exists(field)` answered here: member tests without a
 * frame to save (cond_tree's registers); a field against a literal here
 * too; other comparisons go straight to cond_cmp; and, or, not and lists
 * are cond_tree's.
 */
static int
eval_cond(struct ev *ev, const struct frame *fr, const struct map_cond *c,
    int depth)
{
	int	 l;

	if (c == NULL || depth > (int)EG_MAX_EXPR_DEPTH * 2)
		return cond_tree(ev, fr, c, depth);
	if (c->op == MC_EXISTS && c->a->kind == MT_FIELD) {
		if ((l = exists_field(ev, fr, c->a)) >= 0)
			return l ? C_TRUE : C_FALSE;
		return cond_exists(ev, fr, c->a);
	}
	if (c->op == MC_CMP) {
		if (c->a->kind == MT_FIELD && c->b->kind == MT_LIT &&
		    (l = cond_cmp_lit(ev, fr, c)) >= 0)
			return l;
		return cond_cmp(ev, fr, c);
	}
	return cond_tree(ev, fr, c, depth);
}

/* ---- writing the document ------------------------------------------------ */

/*
 * A string, decimal or integer node: only its kind is stored here.  The
 * caller fills in its value and plain mark (the writer reads the mark of
 * any node: an integer's is 0), the object it joins its key and link.
 * Nothing reads the object and array fields of a leaf, nor pos, which
 * only mdoc_put sets and reads, of the elements it put.
 */
static inline ALWAYS_INLINE struct mdoc *
leaf_node(struct ev *ev, enum mdoc_kind k)
{
	struct mdoc *d = mdoc_alloc(&ev->mp, sizeof(*d));

	if (d != NULL)
		d->kind = (uint8_t)k;
	return d;
}

/*
 * Text for a document node, as mdoc_text_plain makes it; without a look
 * at its bytes when it lies in a plain set's text, where no byte needs
 * an escape or is not ASCII (edi_set_scan).
 */
static inline ALWAYS_INLINE const char *
ev_text(struct ev *ev, const char *p, size_t len, size_t *outlen,
    uint8_t *plain)
{
	const uintptr_t off = (uintptr_t)p - (uintptr_t)ev->plo;

	if (off < ev->plen && len <= ev->plen - off) {
		*outlen = len;
		*plain = 1;
		return p;
	}
	return mdoc_text_plain(&ev->mp, p, len, outlen, plain);
}

/* ev_text() of a segment's value. */
static inline ALWAYS_INLINE const char *
ev_segtext(struct ev *ev, const struct edi_val *val, size_t *outlen,
    uint8_t *plain)
{
	if (ev->allin) {
		*outlen = val->s.len;
		*plain = 1;
		return val->s.p;
	}
	return ev_text(ev, val->s.p, val->s.len, outlen, plain);
}

/*
 * A value as a document node (strings made valid UTF-8); NULL: none.
 * xf: v was left by a transform, whose v->plain is then to be trusted.
 */
static inline ALWAYS_INLINE struct mdoc *
val_node(struct ev *ev, const struct map_val *v, int xf)
{
	struct mdoc	*d;

	if (v->kind == MV_INT) {
		if ((d = leaf_node(ev, MDOC_INT)) == NULL) {
			ev->limit = 1;
			return NULL;
		}
		d->plain = 0;
		d->u.i = v->i;
		return d;
	}
	if (v->p == NULL)
		return NULL;
	if ((d = leaf_node(ev, v->kind == MV_DEC ? MDOC_DEC : MDOC_STR)) ==
	    NULL) {
		ev->limit = 1;
		return NULL;
	}
	if (xf && v->plain) {
		d->u.s.p = v->p;
		d->u.s.len = v->len;
		d->plain = 1;
	} else if ((d->u.s.p = ev_text(ev, v->p, v->len, &d->u.s.len,
	    &d->plain)) == NULL) {
		ev->limit = 1;
		return NULL;
	}
	return d;
}

static struct mdoc *
new_node(struct ev *ev, enum mdoc_kind k)
{
	struct mdoc *d = mdoc_new(&ev->mp, k);

	if (d == NULL)
		ev->limit = 1;
	return d;
}

/* The object a target's last name lives in (created as needed). */
static struct mdoc *
target_parent(struct ev *ev, const struct frame *fr,
    const struct map_target *t)
{
	const struct frame *of;
	struct mdoc *o, *k;
	int	 i;

	if (t->rooted)
		o = ev->root;
	else {
		of = obj_frame(fr);
		o = of != NULL ? of->obj : ev->root;
	}
	for (i = 0; i < t->nname - 1 && o != NULL; i++) {
		/*
		 * Rules naming one object come in a row (price.amount,
		 * price.basisCode): the object is then the last member, and
		 * keys are unique in an object.
		 */
		if ((k = o->u.o.tail) == NULL || k->key != t->name[i])
			k = mdoc_member_bit(o, t->name[i], t->bit[i]);
		if (k == NULL) {
			if ((k = new_node(ev, MDOC_OBJ)) == NULL)
				return NULL;
			mdoc_add_new(o, t->name[i], t->bit[i], k);
		} else if (k->kind != MDOC_OBJ)
			return NULL;
		o = k;
	}
	return o;
}

/*
 * Put j into arr keeping document order by pos (the source position):
 * several groups may fill one array.  Returns the index, -1 on error.
 */
static int
array_put(struct ev *ev, struct mdoc *arr, struct mdoc *j, uint32_t pos)
{
	uint32_t n = arr->u.a.n;
	int	 at;

	if (n >= EG_MAX_ARRAY_ITEMS)
		return -1;
	/*
	 * One group's instances come in document order: j goes last, as
	 * mdoc_put would put it, without the call while there is room.
	 */
	if (arr->u.a.ntrack == n && n < arr->u.a.cap &&
	    (n == 0 || arr->u.a.v[n - 1]->pos <= pos)) {
		j->key = NULL;
		j->next = NULL;
		j->pos = pos;
		arr->u.a.v[n] = j;
		arr->u.a.n = arr->u.a.ntrack = n + 1;
		return (int)n;
	}
	if ((at = mdoc_put(&ev->mp, arr, j, pos)) < 0)
		ev->limit = 1;
	return at;
}

static inline struct mdoc *
target_array(struct ev *ev, const struct frame *fr, const struct map_target *t)
{
	const struct frame *of;
	struct mdoc *o, *arr;

	/* lines[], references[]: the frame's object, target_parent's. */
	if (t->nname == 1 && !t->rooted) {
		of = obj_frame(fr);
		o = of != NULL ? of->obj : ev->root;
	} else if ((o = target_parent(ev, fr, t)) == NULL)
		return NULL;
	/* The group's instances come in a row: the array is the last member. */
	if ((arr = o->u.o.tail) == NULL || arr->key != t->name[t->nname - 1])
		arr = mdoc_member_bit(o, t->name[t->nname - 1],
		    t->bit[t->nname - 1]);
	if (arr == NULL) {
		if ((arr = new_node(ev, MDOC_ARR)) == NULL)
			return NULL;
		mdoc_add_new(o, t->name[t->nname - 1], t->bit[t->nname - 1],
		    arr);
	} else if (arr->kind != MDOC_ARR)
		return NULL;
	return arr;
}

/* ---- rules --------------------------------------------------------------- */

struct tr {			/* --trace */
	struct buf	 b;
	int		 on;
};

static void
trace_val(struct buf *b, const struct map_val *v)
{
	if (v->kind == MV_INT)
		buf_printf(b, "%lld", (long long)v->i);
	else {
		buf_addc(b, '"');
		buf_add(b, v->p, v->len > 200 ? 200 : v->len);
		buf_addc(b, '"');
	}
}

static void trace_open(struct ev *, struct tr *, const struct map_stmt *,
		    const struct frame *, const struct map_target *, int);

/* Nothing to do per rule unless --trace is on. */
static inline void
trace_start(struct ev *ev, struct tr *tr, const struct map_stmt *s,
    const struct frame *fr, const struct map_target *t, int idx)
{
	tr->on = 0;
	if (ev->tracing)
		trace_open(ev, tr, s, fr, t, idx);
}

static void
trace_open(struct ev *ev, struct tr *tr, const struct map_stmt *s,
    const struct frame *fr, const struct map_target *t, int idx)
{
	(void)ev;
	tr->on = 1;
	buf_init(&tr->b, 4096);
	buf_printf(&tr->b, "%s ", s->rule);
	{
		struct buf fb;

		buf_init(&fb, 1024);
		field_path(fr, t, idx, &fb);
		buf_adds(&tr->b, fb.p && strncmp(fb.p, "document.", 9) == 0 ?
		    fb.p + 9 : fb.p ? fb.p : "");
		buf_free(&fb);
	}
}

static inline void
trace_end(struct ev *ev, struct tr *tr)
{
	if (!tr->on)
		return;
	ev->env->trace(ev->env->trace_arg, tr->b.p ? tr->b.p : "");
	buf_free(&tr->b);
	tr->on = 0;
}

enum { VR_OK = 0, VR_ABSENT, VR_DROPPED };

/*
 * XML Schema's numbers, dates, times and codes (xs:decimal, xs:date,
 * xs:token) ignore surrounding white space, and pretty-printed documents
 * have it (`<Money>1505.0<!-- note --></Money>` ends in a newline and
 * indentation): typed transforms read XML values trimmed.  Strings keep
 * theirs unless the map says `trim`.
 */
static int
xml_typed(enum map_xkind k)
{
	return k != MX_TRIM && k != MX_UPPER && k != MX_LOWER &&
	    k != MX_COLLAPSE && k != MX_MAX && k != MX_PAD;
}

static void
xml_trim(struct map_val *v)
{
	if (v->kind != MV_STR && v->kind != MV_DEC)
		return;
	while (v->len > 0 && xml_blank(v->p, 1)) {
		v->p++;
		v->len--;
	}
	while (v->len > 0 && xml_blank(v->p + v->len - 1, 1))
		v->len--;
	if (v->len == 0)
		v->kind = MV_NONE;
}

/*
 * The outcome res of transform x over v, raw being v before the first
 * transform: a diagnostic, a default, or nothing.  Returns VR_OK to go on
 * with the next transform, VR_ABSENT or VR_DROPPED.
 */
static NOINLINE int
xform_res(struct ev *ev, const struct map_stmt *s, const struct rctx *rc,
    const struct map_xform *x, const struct map_val *raw, struct map_val *v,
    struct tr *tr, int res, const char *why)
{
	struct margs	 ma;

	ev->xat = (xmlNodePtr)raw->xnode;
	/* Only a diagnostic needs its arguments. */
	memset(&ma, 0, sizeof(ma));
	ma.value = raw->kind == MV_INT ? "" : raw->p;
	ma.vlen = raw->kind == MV_INT ? 0 : raw->len;
	ma.why = why;
	ma.table = x->lk != NULL ? x->lk->name : x->lkname;
	switch (res) {
	case MXR_OK:
		break;
	case MXR_ABSENT:
		v->kind = MV_NONE;
		return VR_ABSENT;
	case MXR_TYPE:
		emit(ev, DIAG_ERROR, "MAP-TYPE", s, rc->fr, rc->tgt,
		    rc->listidx, rc->source, raw->seg, raw->el, raw->comp,
		    NULL, MD_TYPE, &ma);
		if (tr->on)
			buf_adds(&tr->b, " -> MAP-TYPE");
		return VR_DROPPED;
	case MXR_TYPEWARN:
		emit(ev, DIAG_WARNING, "MAP-TYPE", s, rc->fr, rc->tgt,
		    rc->listidx, rc->source, raw->seg, raw->el, raw->comp,
		    NULL, MD_TYPE_WARN, &ma);
		break;
	case MXR_TRUNC:
		ma.n = x->n;
		emit(ev, DIAG_WARNING, "MAP-TRUNC", s, rc->fr, rc->tgt,
		    rc->listidx, rc->source, raw->seg, raw->el, raw->comp,
		    NULL, MD_TRUNC, &ma);
		break;
	case MXR_MISS:
		ma.value = v->p;
		ma.vlen = v->len;
		switch (x->lk ? x->lk->policy : MP_WARN) {
		case MP_PASS:
			break;
		case MP_WARN:
			emit(ev, DIAG_WARNING, "MAP-LOOKUP", s, rc->fr,
			    rc->tgt, rc->listidx, rc->source, raw->seg,
			    raw->el, raw->comp, x->lk ? x->lk->msg : NULL,
			    MD_LOOKUP, &ma);
			break;
		case MP_ERROR:
			emit(ev, DIAG_ERROR, "MAP-LOOKUP", s, rc->fr,
			    rc->tgt, rc->listidx, rc->source, raw->seg,
			    raw->el, raw->comp, x->lk->msg, MD_LOOKUP,
			    &ma);
			if (tr->on)
				buf_adds(&tr->b, " -> MAP-LOOKUP");
			return VR_DROPPED;
		case MP_DEFAULT:
			ma.dflt = x->lk->defval.p;
			ma.dlen = x->lk->defval.len;
			emit(ev, DIAG_WARNING, "MAP-DEFAULT", s, rc->fr,
			    rc->tgt, rc->listidx, rc->source, raw->seg,
			    raw->el, raw->comp, x->lk->msg,
			    MD_DEFAULT_LOOKUP, &ma);
			v->p = x->lk->defval.p;
			v->len = x->lk->defval.len;
			v->kind = MV_STR;
			break;
		}
		break;
	case MXR_BANG:
		ma.value = v->p;
		ma.vlen = v->len;
		emit(ev, DIAG_ERROR, "MAP-LOOKUP", s, rc->fr, rc->tgt,
		    rc->listidx, rc->source, raw->seg, raw->el, raw->comp,
		    NULL, MD_LOOKUP_BANG, &ma);
		if (tr->on)
			buf_adds(&tr->b, " -> MAP-LOOKUP");
		return VR_DROPPED;
	case MXR_LIMIT:
	default:
		ev->limit = 1;
		return VR_DROPPED;
	}
	return VR_OK;
}

/*
 * Run the transforms of r over v.  Returns VR_OK (v holds the result),
 * VR_ABSENT (became empty), or VR_DROPPED (an error was reported).
 */
static int
run_xforms(struct ev *ev, const struct map_stmt *s, const struct rctx *rc,
    struct map_val *v, struct tr *tr)
{
	const struct map_rule *r = &s->u.r;
	const struct map_xform *x;
	struct map_val	 raw;
	const char	*why;
	int		 i, res, vr;

	if (r->nxf == 0)
		return VR_OK;
	raw = *v;	/* what diagnostics quote */
	for (i = 0; i < r->nxf; i++) {
		x = &r->xf[i];
		if (v->xnode != NULL && xml_typed(x->kind))
			xml_trim(v);
		res = map_xform_apply(x, ev->a, ev->set, v, &why);
		if (tr->on)
			buf_printf(&tr->b, " | %s", x->text);
		if (res != MXR_OK && (vr = xform_res(ev, s, rc, x, &raw, v, tr,
		    res, why)) != VR_OK)
			return vr;
	}
	return VR_OK;
}

/*
 * Most rules with a transform have one (| decimal, | lookup uom), it
 * succeeds, and nobody traces: only v's text and kind are kept for a
 * diagnostic (a transform leaves where the value came from alone), and
 * run_xforms is not called.
 */
static inline ALWAYS_INLINE int
xforms(struct ev *ev, const struct map_stmt *s, const struct rctx *rc,
    struct map_val *v, struct tr *tr)
{
	const struct map_rule *r = &s->u.r;
	struct map_val	 raw;
	const char	*why, *p;
	size_t		 len;
	enum map_vkind	 kind;
	int		 res;

	if (r->nxf != 1 || tr->on || v->xnode != NULL)
		return run_xforms(ev, s, rc, v, tr);
	p = v->p;
	len = v->len;
	kind = v->kind;
	if ((res = map_xform_apply(r->xf, ev->a, ev->set, v, &why)) ==
	    MXR_OK)
		return VR_OK;
	raw = *v;
	raw.p = p;
	raw.len = len;
	raw.kind = kind;
	return xform_res(ev, s, rc, r->xf, &raw, v, tr, res, why);
}

/* A candidate of plain_value: kept when it ranks best, ties counted. */
struct pbest {
	const struct edi_seg *s;
	const struct edi_val *v;
	int		 best, n;
};

static inline void
pb_add(struct pbest *b, const struct edi_seg *s, const struct edi_val *v,
    int r)
{
	if (b->n == 0 || r < b->best) {
		b->best = r;
		b->s = s;
		b->v = v;
		b->n = 1;
	} else if (r == b->best)
		b->n++;
}

/*
 * The value of the best candidate: 1, 0 when there is none, -1 when
 * several share the best rank.  Rules read it here; ev->lastseg and
 * lastsrc, which only run_check reads, are plain_value_at's to set.
 */
static inline int
pb_value(const struct pbest *b, const struct map_expr *e, unsigned comp,
    struct map_val *v)
{
	if (b->n != 1)
		return b->n == 0 ? 0 : -1;
	mk_val(v, b->s, b->v, comp);
	v->from = e;
	return 1;
}

/*
 * TAG01-02[TAG01-01=A|B], the usual EDIFACT qualifier: a single filter
 * atom on the element read.  One pass over the element's values, a
 * repetition at a time (values are in (el, rep, comp) order), with the
 * candidates and ranks of nrep_of, filter_rank and map_segval.
 */
static void
rep_scan(const struct edi_seg *s, const struct map_path *p, unsigned comp,
    int rank, struct pbest *b)
{
	const struct map_atom *a = &p->seg.f.atom[0];
	const struct edi_val *v = s->val, *e = edi_val_end(s), *val;
	unsigned	 acomp = a->comp ? a->comp : 1, rep, vc;
	int		 c, best;

	while (v < e && v->el < p->el)
		v++;
	while (v < e && v->el == p->el) {
		rep = v->rep ? v->rep : 1;
		best = -1;
		val = NULL;
		for (; v < e && v->el == p->el && (v->rep ? v->rep : 1u) == rep;
		    v++) {
			vc = v->comp ? v->comp : 1;
			if (vc == comp && val == NULL)
				val = v;
			if (vc != acomp)
				continue;
			if ((c = atom_code(a, v->s)) >= 0 &&
			    (best < 0 || c < best))
				best = c;
		}
		if (a->neg ? best >= 0 : best < 0)
			continue;
		if (val != NULL && val->s.len > 0)
			pb_add(b, s, val, rank << RANK_BITS |
			    (p->seg.f.rank == 0 && !a->neg ? best : 0));
	}
}

/*
 * A value's element and repetition as one integer, as they are stored
 * (el, then rep), to tell in one comparison that the next value belongs
 * to the same repetition.  Equal only when both are equal; a rep of 0
 * (read as 1) makes two that are the same repetition differ, which the
 * caller must allow for.
 */

static inline uint32_t
val_elrep(const struct edi_val *v)
{
	uint32_t u;

	memcpy(&u, (const char *)v + offsetof(struct edi_val, el), sizeof(u));
	return u;
}


/*
 * rep_scan for MAP_SCAN_REP paths, most of the EDIFACT qualifiers: codes
 * with keys, nothing negated.  Called for every segment with the tag in
 * scope, so the usual element, one repetition with one qualifier, is
 * read in one short pass; anything else is rep_scan's.
 */
static inline ALWAYS_INLINE void
rep_key(const struct map_path *p, const struct edi_seg *s, int rank,
    struct pbest *b)
{
	const struct map_atom *a = &p->seg.f.atom[0];
	const struct edi_val *v, *e, *q = NULL, *val = NULL;
	const unsigned	 el = p->el;
	unsigned	 vc;
	uint32_t	 er;
	uint64_t	 k;
	int		 c;

	if (s->nval == 0)
		return;
	v = s->val;
	e = v + s->nval;
	while (v->el < el)
		if (++v == e)
			return;
	if (v->el != el)
		return;
	er = val_elrep(v);
	do {
		vc = v->comp ? v->comp : 1;
		if (vc == p->sacomp) {
			if (q != NULL)
				goto scan;	/* two qualifiers: rank both */
			q = v;
		}
		if (vc == p->scomp && val == NULL)
			val = v;
	} while (++v < e && val_elrep(v) == er);
	if (v < e && v->el == el)
		goto scan;		/* another repetition (or rep 0 and 1) */
	if (q == NULL || val == NULL || val->s.len == 0)
		return;
	k = map_codekey(q->s.p, q->s.len);
	for (c = 0; c < a->ncode; c++)
		if (a->ck[c] == k) {
			pb_add(b, s, val, rank << RANK_BITS |
			    (p->seg.f.rank == 0 ? c : 0));
			return;
		}
	return;
scan:
	rep_scan(s, p, p->scomp, rank, b);
}

/*
 * The pairs of s for pair_key, when the pairs kept are another
 * segment's or layout's; -1 when there are too many to keep.
 */
static inline int
pairs_new(struct ev *ev, const struct map_path *p, const struct edi_seg *s)
{
	if (p->scan == MAP_SCAN_PAIRS)
		return pairs_build(&ev->pc, p, s, p->pfrom > 0 ?
		    (unsigned)p->pfrom : 1, p->pfrom > 0 ? (unsigned)p->pto :
		    s->nel);
	return cpairs_build(&ev->pc, p, s);
}

/* pair_key's candidate from a scan: too many component pairs to keep. */
static NOINLINE void
pair_scan(const struct map_path *p, const struct edi_seg *s, int rank,
    int r, struct pbest *b)
{
	const struct edi_val *val;
	int	 c;

	if ((val = pair_comp(p, s, &c)) != NULL)
		pb_add(b, s, val, ((rank << RANK_BITS | r) << RANK_BITS) | c);
}

/*
 * pair_key when the pairs kept are not the segment's under the path's
 * layout, or the segment step has a filter (PER[PER01=BD|OC]{TE}).
 */
static NOINLINE void
pair_key_slow(struct ev *ev, const struct map_path *p,
    const struct edi_seg *s, int rank, struct pbest *b)
{
	const struct pairs *pc = &ev->pc;
	int		 r, c, i, n;

	if ((r = frank(s, &p->seg.f)) < 0)
		return;
	if (pc->seg == s && pc->layout == p->playout)
		n = pc->n;
	else if ((n = pairs_new(ev, p, s)) < 0) {
		pair_scan(p, s, rank, r, b);
		return;
	}
	for (c = 0; c < p->npair; c++)
		for (i = 0; i < n; i++)
			if (pc->p[i].qk == p->pk[c]) {
				pb_add(b, s, pc->p[i].v, ((rank << RANK_BITS |
				    r) << RANK_BITS) | c);
				return;
			}
}

/*
 * The candidate of a MAP_SCAN_PAIRS or MAP_SCAN_CPAIRS path in s, as
 * multi_cand ranks it: the earliest pair of the first code that has one,
 * from the pairs kept for the segment (ev->pc, told by the segment and
 * the layout key the linker gave the path).  The second and later rules
 * over a segment only compare codes, here, without a call.
 */
static inline ALWAYS_INLINE void
pair_key(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    int rank, struct pbest *b)
{
	const struct pairs *pc = &ev->pc;
	int		 c, i;

	if (p->seg.f.natom != 0 || pc->seg != s || pc->layout != p->playout) {
		pair_key_slow(ev, p, s, rank, b);
		return;
	}
	for (c = 0; c < p->npair; c++)
		for (i = 0; i < pc->n; i++)
			if (pc->p[i].qk == p->pk[c]) {
				pb_add(b, s, pc->p[i].v, (rank << RANK_BITS <<
				    RANK_BITS) | c);
				return;
			}
}

/*
 * The candidates of plain path p in segment s, which has its tag, for
 * paths that read more than one value of it: qualifier pairs (TAG{QUAL})
 * and a filter on the element itself that picks one of its repetitions
 * (DTM01-02[DTM01-01=137]).  Ranks as match_seg_at's under the loop
 * step's rank.
 */
static NOINLINE void
multi_cand(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    int rank, struct pbest *b)
{
	const struct edi_val *val;
	unsigned	 comp = p->comp ? p->comp : 1, nrep, k;
	int		 r, pr;

	if (p->npair > 0) {
		if ((r = frank(s, &p->seg.f)) < 0)
			return;
		/* PIA{SA} (C212): the composite pairs here, not a call. */
		if (p->pfrom > 0 && p->pvcomp > 0) {
			comp = (unsigned)p->pvcomp;
			val = pair_comp_at(p, s, &pr);
		} else
			val = pair_value(ev, p, s, &pr, &comp);
		if (val == NULL)
			return;
		pb_add(b, s, val, ((rank << RANK_BITS | r) << RANK_BITS) | pr);
		return;
	}
	if (p->seg.f.natom == 1 && p->seg.f.atom[0].el == p->el) {
		rep_scan(s, p, comp, rank, b);
		return;
	}
	nrep = nrep_of(s, p->el);
	for (k = 1; k <= nrep; k++) {
		if ((r = filter_rank(s, &p->seg.f, p->el, k)) < 0 ||
		    (val = map_segval(s, p->el, comp, k)) == NULL ||
		    val->s.len == 0)
			continue;
		pb_add(b, s, val, rank << RANK_BITS | r);
	}
}

/*
 * map_segval for plain_cand, at p's position.  Most segments send every
 * element up to the one read, and simple: element el is then the el-th
 * value.  That value is the one map_segval finds when it is the first of
 * its element (the one before it is of an earlier element) and has the
 * repetition and component asked for (>= 1, so 0 read as 1 goes the long
 * way).  Element and repetition are compared as one integer, laid out by
 * the compiler as a value keeps them (map_compile.c path_elrep).
 */
/*
 * The first of s's values (s->nval > 0) of element el or later: from the
 * el-th value, a step or two back or forward, as values past omitted
 * elements are.  segval_near and list_el_vals start there.
 */
static inline ALWAYS_INLINE const struct edi_val *
el_first(const struct edi_seg *s, unsigned el)
{
	const struct edi_val *v, *b = s->val, *e = b + s->nval;

	v = el - 1 < s->nval ? &b[el - 1] : e - 1;
	if (v->el >= el)
		while (v > b && v[-1].el >= el)
			v--;
	else
		while (++v < e && v->el < el)
			;
	return v;
}

/*
 * map_segval for path_value's other values (NAD08 after an empty NAD07,
 * NAD02-03, IMD03-04): values are in element order, so the first of
 * element el is found from the el-th value, a step or two back or
 * forward, rather than from the first; from there map_segval's pass.
 */
static NOINLINE const struct edi_val *
segval_near(const struct edi_seg *s, const struct map_path *p)
{
	const struct edi_val *v, *b, *e;
	const unsigned	 el = p->el;
	uint32_t	 rc;

	if (s->nval == 0)
		return NULL;
	b = s->val;
	e = b + s->nval;
	for (v = el_first(s, el); v < e && v->el == el; v++) {
		/* rep and comp as one, as the compiler laid them out. */
		memcpy(&rc, (const char *)v + offsetof(struct edi_val, rep),
		    sizeof(rc));
		if (rc == p->rc)
			return v;
		/* A rep or comp of 0 reads as 1. */
		if ((v->rep == 0 || v->comp == 0) &&
		    (v->rep ? v->rep : 1u) == (p->rep ? p->rep : 1u) &&
		    (v->comp ? v->comp : 1u) == p->comp1)
			return v;
	}
	return NULL;
}

static inline const struct edi_val *
path_value(const struct edi_seg *s, const struct map_path *p)
{
	const struct edi_val *v;
	const unsigned	 el = p->el;

	if (el - 1 < s->nval) {
		v = &s->val[el - 1];
		if (val_elrep(v) == p->elrep && v->comp == p->comp1 &&
		    (el == 1 || v[-1].el < el))
			return v;
	}
	return segval_near(s, p);
}

/* The candidates of plain path p in segment s (match_seg_at). */
static inline ALWAYS_INLINE void
plain_cand(struct ev *ev, const struct map_path *p, const struct edi_seg *s,
    int rank, struct pbest *b)
{
	const struct edi_val *val;
	int	 r;

	/* The shapes the linker told apart; 0 (not linked): work it out. */
	if (p->scan != MAP_SCAN_ONE) {
		if (p->scan == MAP_SCAN_REP) {
			rep_key(p, s, rank, b);
			return;
		}
		if (p->scan == MAP_SCAN_PAIRS || p->scan == MAP_SCAN_CPAIRS) {
			pair_key(ev, p, s, rank, b);
			return;
		}
		if (p->scan == MAP_SCAN_MULTI || p->npair > 0 ||
		    (p->repatom >= 0 && p->rep == 0)) {
			multi_cand(ev, p, s, rank, b);
			return;
		}
	}
	if ((r = frank(s, &p->seg.f)) < 0 ||
	    (val = path_value(s, p)) == NULL || val->s.len == 0)
		return;
	pb_add(b, s, val, rank << RANK_BITS | r);
}

/*
 * LOOP/TAG01...: one loop step from a loop instance, as walk() takes it:
 * every item with the step's tag that passes its filter, then the
 * segments with the last step's tag inside the instance it triggers (or
 * the item itself when it is a plain segment).
 */
static NOINLINE void
plain_step(struct ev *ev, struct sidx *x, const struct map_path *p,
    struct pbest *b)
{
	const struct edi_seg *seg = ev->set->seg, *s;
	const struct edi_loop *kid, *kk;
	struct sidx	*kx;
	struct sit	 si;
	uint32_t	 it, k, i, end;
	int		 r;

	for (it = sidx_first(x, &p->loop[0]); it != SIDX_END;
	    it = x->it[it].next) {
		s = &seg[x->it[it].seg];
		if ((r = frank(s, &p->loop[0].f)) < 0)
			continue;
		if ((kid = x->it[it].kid) == NULL) {
			if (edi_seg_tagkey(s) == p->seg.key)
				plain_cand(ev, p, s, r, b);
			continue;
		}
		if (x->it[it].ksx == NULL && kid_small(kid) &&
		    kid->nkid == 0) {
			/* PO1's PID loop: its segments, as sit_next takes them. */
			end = kid->last < ev->set->nseg ? kid->last :
			    ev->set->nseg - 1;
			for (i = kid->first; ev->set->nseg > 0 && i <= end; i++)
				if (edi_seg_tagkey(&seg[i]) == p->seg.key)
					plain_cand(ev, p, &seg[i], r, b);
			continue;
		}
		if (x->it[it].ksx == NULL && kid_small(kid)) {
			sit_init(&si, ev->set, kid, -1);
			while (sit_next(&si, &i, &kk))
				if (edi_seg_tagkey(&seg[i]) == p->seg.key)
					plain_cand(ev, p, &seg[i], r, b);
			continue;
		}
		if ((kx = sidx_kid(ev, &x->it[it])) == NULL)
			continue;
		for (k = sidx_first(kx, &p->seg); k != SIDX_END;
		    k = kx->it[k].next)
			plain_cand(ev, p, &seg[kx->it[k].seg], r, b);
	}
}

/*
 * The candidates of p in the items of x from it on, of its tag: a tag
 * the instance has several of (DTM, REF).  Most have one, which
 * plain_value takes without the loop and what it keeps in registers.
 */
static NOINLINE void
plain_cands(struct ev *ev, const struct sidx *x, const struct map_path *p,
    uint32_t it, struct pbest *b)
{
	const struct edi_seg *seg = ev->set->seg;

	for (; it != SIDX_END; it = x->it[it].next)
		plain_cand(ev, p, &seg[x->it[it].seg], 0, b);
}

/*
 * Most rules read `TAG01`, `TAG01-02`, `TAG01[filter]`, `TAG01-02[TAG01-01=
 * CODE]`, `TAG{QUAL}` or `LOOP/TAG01` in the current loop instance or
 * segment.  plain_value() finds such a value without the generic
 * machinery (eval_expr, path_first, walk, match_seg_at), ranking
 * candidates as they would: 1 found, 0 absent, -1 when several segments
 * match (eval_expr must report MAP-MULTI) or the frame is not one it
 * reads.  plain_best ranks the candidates of path p into *pb (-1: the
 * frame is not one it reads, else 0), pb_value makes the value.
 */
static inline ALWAYS_INLINE int
plain_best(struct ev *ev, const struct frame *fr, const struct map_path *p,
    struct pbest *pb)
{
	const struct edi_seg *seg = ev->set->seg, *s;
	struct sidx	*x;
	uint32_t	 it;

	pb->n = 0;		/* the rest comes with a candidate (pb_add) */
	/* A frame with an index is a loop instance's (frame_sidx). */
	if ((x = fr->sx) == NULL) {
		if (fr->segi >= 0) {
			/* A group of single segments (REF): that one. */
			if (p->nloop != 0 ||
			    (uint32_t)fr->segi >= ev->set->nseg)
				return -1;
			s = &seg[fr->segi];
			if (edi_seg_tagkey(s) == p->seg.key)
				plain_cand(ev, p, s, 0, pb);
			goto done;
		}
		if (fr->loop == NULL)
			return -1;
		if ((x = frame_sidx(ev, fr)) == NULL)
			goto done;
	}
	if (p->nloop != 0) {
		/*
		 * A step of the segment's own tag (PID/PID05 from a line):
		 * one item of the tag, a plain segment or the trigger of an
		 * instance of no other segment, is the one candidate, of the
		 * step's rank 0, as plain_step would find it.
		 */
		if (!p->selfloop ||
		    ((it = sidx_first(x, &p->seg)) != SIDX_END &&
		    (x->it[it].next != SIDX_END || (x->it[it].kid != NULL &&
		    x->it[it].kid->first != x->it[it].kid->last))))
			plain_step(ev, x, p, pb);
		else if (it != SIDX_END)
			plain_cand(ev, p, &seg[x->it[it].seg], 0, pb);
	} else if ((it = sidx_first(x, &p->seg)) != SIDX_END) {
		if (x->it[it].next == SIDX_END)
			plain_cand(ev, p, &seg[x->it[it].seg], 0, pb);
		else
			plain_cands(ev, x, p, it, pb);
	}
done:
	return 0;
}

static inline ALWAYS_INLINE int
plain_value_at(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    unsigned comp, struct map_val *v)
{
	struct pbest	 b;

	if (plain_best(ev, fr, e->path, &b) < 0)
		return -1;
	if (pb_value(&b, e, comp, v) != 1)
		return b.n == 0 ? 0 : -1;
	ev->lastseg = b.s;
	ev->lastsrc = e->text;
	return 1;
}

/* plain_value_at, at the component a value of e's path is read at. */
static inline ALWAYS_INLINE int
plain_value(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    struct map_val *v)
{
	return plain_value_at(ev, fr, e, map_path_vcomp(e->path), v);
}

/* The first term of an expression (the canonical alternative). */
static const struct map_expr *
primary(const struct map_expr *e)
{
	int	 n = 0;

	while (e != NULL && e->kind == MT_OR && e->nsub > 0 && n++ < 64)
		e = e->sub[0];
	return e;
}

/*
 * Where an absent value would have been: the first segment of the
 * primary path's kind in scope (the element is empty there), else the
 * frame's trigger segment (with the element when the path names it).
 */
static const struct edi_seg *
absent_pos(struct ev *ev, const struct frame *fr, const struct map_expr *e,
    int *el, int *comp)
{
	const struct map_expr *p = primary(e);
	const struct edi_seg *t = frame_trigger(ev, fr);
	struct map_path	 tmp;
	struct pm	 pm;

	*el = *comp = 0;
	if (p == NULL || p->kind != MT_PATH || p->path->segonly)
		return t;
	tmp = *p->path;
	tmp.segonly = 1;
	tmp.npair = 0;
	if (path_first(ev, fr, &tmp, &pm) && pm.seg != NULL) {
		*el = p->path->el;
		*comp = p->path->comp;
		return pm.seg;
	}
	if (t != NULL && p->path->anchor == MA_REL && p->path->nloop == 0 &&
	    edi_seg_tagkey(t) == p->path->seg.key) {
		*el = p->path->el;
		*comp = p->path->comp;
	}
	return t;
}

/* The event value of a `default` literal, typed like the rule's output. */
static void
default_val(const struct map_rule *r, struct map_val *v)
{
	int	 i;

	memset(v, 0, sizeof(*v));
	v->p = r->defval.p;
	v->len = r->defval.len;
	v->kind = MV_STR;
	for (i = r->nxf - 1; i >= 0; i--) {
		if (r->xf[i].kind == MX_INT && r->defnum &&
		    map_int_parse(r->defval, &v->i) == 0) {
			v->kind = MV_INT;
			return;
		}
		if (r->xf[i].kind == MX_DECIMAL || r->xf[i].kind == MX_IMPLIED) {
			v->kind = MV_DEC;
			return;
		}
		if (r->xf[i].kind == MX_LOOKUP)
			return;
	}
}

/* Absent value: default, or required. */
static int
absent(struct ev *ev, const struct map_stmt *s, const struct rctx *rc,
    struct map_val *v)
{
	const struct map_rule *r = &s->u.r;
	const struct edi_seg *seg;
	struct margs	 ma;
	int		 el, comp;

	if (!r->hasdef && r->req == MQ_NONE)
		return 0;
	memset(&ma, 0, sizeof(ma));
	seg = absent_pos(ev, rc->fr, r->expr[0], &el, &comp);
	if (r->hasdef) {
		default_val(r, v);
		ma.dflt = r->defval.p;
		ma.dlen = r->defval.len;
		emit(ev, DIAG_WARNING, "MAP-DEFAULT", s, rc->fr, rc->tgt,
		    rc->listidx, rc->source, seg, el, comp, NULL, MD_DEFAULT,
		    &ma);
		return 1;
	}
	emit(ev, r->req == MQ_ERROR ? DIAG_ERROR : DIAG_WARNING, "MAP-REQ", s,
	    rc->fr, rc->tgt, rc->listidx, rc->source, seg, el, comp,
	    r->reqmsg, MD_REQ, &ma);
	return 0;
}

/*
 * The object a target's last name goes in, as target_parent finds it,
 * for the usual cases without the call: each name is the last member of
 * the object before it (item.standardItemId.value after .qualifier), or
 * a name the object does not have yet (the first quantity.value of a
 * line), whose object is then made here.  Anything else (a name set
 * earlier, not last) is target_parent's.
 */
static inline ALWAYS_INLINE struct mdoc *
frame_base(struct ev *ev, const struct frame *fr)
{
	const struct frame *of = obj_frame(fr);

	return of != NULL ? of->obj : ev->root;
}

/* target_obj, the object of fr's frame (frame_base) given. */
static inline ALWAYS_INLINE struct mdoc *
target_obj_at(struct ev *ev, const struct frame *fr, struct mdoc *o,
    const struct map_target *t)
{
	struct mdoc *j;
	int	 i;

	if (t->rooted)
		return target_parent(ev, fr, t);
	/* Most nested names are one step (quantity.value): no loop. */
	if (t->nname == 2) {
		if ((j = o->u.o.tail) != NULL && j->key == t->name[0] &&
		    j->kind == MDOC_OBJ)
			return j;
		if ((o->u.o.keys & t->bit[0]) != 0)
			return target_parent(ev, fr, t);
		if ((j = mdoc_new(&ev->mp, MDOC_OBJ)) == NULL) {
			ev->limit = 1;
			return NULL;
		}
		mdoc_add_new(o, t->name[0], t->bit[0], j);
		return j;
	}
	for (i = 0; i < t->nname - 1; i++) {
		if ((j = o->u.o.tail) != NULL && j->key == t->name[i] &&
		    j->kind == MDOC_OBJ)
			o = j;
		else if ((o->u.o.keys & t->bit[i]) == 0) {
			if ((j = mdoc_new(&ev->mp, MDOC_OBJ)) == NULL) {
				ev->limit = 1;
				return NULL;
			}
			mdoc_add_new(o, t->name[i], t->bit[i], j);
			o = j;
		} else
			return target_parent(ev, fr, t);
	}
	return o;
}

static inline ALWAYS_INLINE struct mdoc *
target_obj(struct ev *ev, const struct frame *fr, const struct map_target *t)
{
	return target_obj_at(ev, fr, frame_base(ev, fr), t);
}

/* write_scalar into o, the target's object (target_obj's). */
static inline ALWAYS_INLINE void
write_scalar_in(struct ev *ev, struct mdoc *o, const struct map_target *t,
    const struct map_val *v, int xf)
{
	struct mdoc *j;

	if ((j = val_node(ev, v, xf)) == NULL) {
		ev->dirty = 1;
		return;
	}
	mdoc_set_bit(o, t->name[t->nname - 1], t->bit[t->nname - 1], j);
}

static inline ALWAYS_INLINE void
write_scalar_at(struct ev *ev, const struct frame *fr, struct mdoc *base,
    const struct map_target *t, const struct map_val *v, int xf)
{
	struct mdoc *o;

	if ((o = target_obj_at(ev, fr, base, t)) == NULL) {
		ev->dirty = 1;
		return;
	}
	write_scalar_in(ev, o, t, v, xf);
}

static inline ALWAYS_INLINE void
write_scalar(struct ev *ev, const struct frame *fr, const struct map_target *t,
    const struct map_val *v, int xf)
{
	write_scalar_at(ev, fr, frame_base(ev, fr), t, v, xf);
}

/*
 * write_scalar of the value mk_val makes of val, no transform applied:
 * a string of its text; into o, the target's object (target_obj's).
 */
static inline ALWAYS_INLINE void
write_text_in(struct ev *ev, struct mdoc *o, const struct map_target *t,
    const struct edi_val *val)
{
	struct mdoc *j;

	/* val is a segment's value: never empty, so never NULL (edi.h). */
	if ((j = leaf_node(ev, MDOC_STR)) == NULL ||
	    (j->u.s.p = ev_segtext(ev, val, &j->u.s.len, &j->plain)) ==
	    NULL) {
		ev->limit = 1;
		ev->dirty = 1;
		return;
	}
	mdoc_set_bit(o, t->name[t->nname - 1], t->bit[t->nname - 1], j);
}

static inline ALWAYS_INLINE void
write_text_at(struct ev *ev, const struct frame *fr, struct mdoc *base,
    const struct map_target *t, const struct edi_val *val)
{
	struct mdoc *o;

	if ((o = target_obj_at(ev, fr, base, t)) == NULL) {
		ev->dirty = 1;
		return;
	}
	write_text_in(ev, o, t, val);
}

static inline ALWAYS_INLINE void
write_text(struct ev *ev, const struct frame *fr, const struct map_target *t,
    const struct edi_val *val)
{
	write_text_at(ev, fr, frame_base(ev, fr), t, val);
}

struct lvals {
	struct lv {
		struct map_val	 v;
		uint32_t	 segi;	/* XML: the line */
		uint32_t	 ord;
		uint32_t	 idx;	/* arrival: a stable sort */
	}		*v;
	size_t		 n, cap;
	uint32_t	 ord;
};

static void
cb_list(struct ev *ev, void *arg, const struct map_val *v)
{
	struct lvals	*lv = arg;
	struct lv	*nv;

	if (lv->n == lv->cap) {
		size_t nc = lv->cap ? lv->cap * 2 : 16;

		if (nc > EG_MAX_ARRAY_ITEMS ||
		    (nv = ev_allocarray(ev, nc, sizeof(*nv))) == NULL) {
			ev->limit = 1;
			return;
		}
		if (lv->n)
			memcpy(nv, lv->v, lv->n * sizeof(*nv));
		lv->v = nv;
		lv->cap = nc;
	}
	lv->v[lv->n].v = *v;
	lv->v[lv->n].segi = v->seg != NULL && v->seg >= ev->set->seg &&
	    v->seg < ev->set->seg + ev->set->nseg ?
	    (uint32_t)(v->seg - ev->set->seg) : 0;
	if (v->xnode != NULL)
		lv->v[lv->n].segi = (uint32_t)xml_line((xmlNodePtr)v->xnode);
	lv->v[lv->n].ord = lv->ord;
	lv->v[lv->n].idx = (uint32_t)lv->n;
	lv->n++;
}

static int
lv_cmp(const void *a, const void *b)
{
	const struct lv *x = a, *y = b;

	if (x->segi != y->segi)
		return x->segi < y->segi ? -1 : 1;
	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * An item of a list rule's array: past EG_MAX_ARRAY_ITEMS it is dropped
 * (the rule still counts it as read, so no MAP-DEFAULT follows).
 */
static inline void
list_append(struct ev *ev, struct mdoc *arr, struct mdoc *j)
{
	if (arr->u.a.n < EG_MAX_ARRAY_ITEMS &&
	    mdoc_append(&ev->mp, arr, j) != 0)
		ev->limit = 1;
}

/*
 * The values of the terms of a list rule of one element (r->listel:
 * address.lines[] = NAD05-01, NAD05-02, NAD05-03, NAD05-04) in s, each
 * as path_value would find it, in one pass over the element's values:
 * for each bit k of what it returns, fv[k] is the first value of term k's
 * repetition and component; the other terms have none.  Most segments
 * send one or two of the components, and path_value would look for each
 * of the others from the element's position again.
 */
_Static_assert(MAP_MAX_TERMS <= 64, "list_el_vals: a bit per list term");

static inline ALWAYS_INLINE uint64_t
list_el_vals(const struct edi_seg *s, const struct map_rule *r,
    const struct edi_val **fv)
{
	const struct edi_val *v, *b, *e;
	const unsigned	 el = r->listel;
	uint64_t	 got = 0;
	unsigned	 vc;
	int		 k;

	if (s->nval == 0)
		return 0;
	b = s->val;
	e = b + s->nval;
	for (v = el_first(s, el); v < e && v->el == el; v++) {
		if ((v->rep ? v->rep : 1u) != r->listrep)
			continue;
		vc = v->comp ? v->comp : 1u;
		for (k = 0; k < r->nexpr; k++)
			if (r->expr[k]->path->comp1 == vc) {
				if (!(got >> k & 1)) {
					fv[k] = v;
					got |= (uint64_t)1 << k;
				}
				break;
			}
	}
	return got;
}

/*
 * run_list_rule for a rule of the shape list_fast (map_compile.c) allows,
 * in a loop instance, nobody tracing: the values path_all would collect,
 * in the order the sort would leave them (by segment, then item), are
 * the items of every segment with the tag, each segment's in list order.
 * Each is written as it is found, as the general loop writes it when
 * there is no transform.  Returns how many were added.
 */
static int
list_plain(struct ev *ev, const struct frame *fr, const struct map_rule *r)
{
	const struct edi_seg *seg = ev->set->seg, *sg;
	const struct map_path *p;
	const struct edi_val *val, *fv[MAP_MAX_TERMS];
	struct sidx	*x;
	struct mdoc	*arr = NULL, *j;
	uint32_t	 it;
	uint64_t	 got = 0;
	int		 k, added = 0;

	if ((x = frame_sidx(ev, fr)) == NULL)
		return 0;
	for (it = sidx_first(x, &r->expr[0]->path->seg); it != SIDX_END;
	    it = x->it[it].next) {
		sg = &seg[x->it[it].seg];
		if (r->listel != 0)
			got = list_el_vals(sg, r, fv);
		for (k = 0; k < r->nexpr; k++) {
			p = r->expr[k]->path;
			if (r->listel != 0)
				val = got >> k & 1 ? fv[k] : NULL;
			else if (frank(sg, &p->seg.f) < 0)
				continue;
			else
				val = path_value(sg, p);
			if (val == NULL || val->s.len == 0)
				continue;
			if (arr == NULL && (arr = target_array(ev, fr,
			    &r->tgt)) == NULL)
				return -1;
			if ((j = leaf_node(ev, MDOC_STR)) == NULL ||
			    (j->u.s.p = ev_segtext(ev, val, &j->u.s.len,
			    &j->plain)) == NULL) {
				ev->limit = 1;
				ev->dirty = 1;
				continue;
			}
			list_append(ev, arr, j);
			added++;
		}
	}
	return added;
}

/* address.lines[] = N301, N302: every value, by segment then list order. */
static void
run_list_rule(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_rule *r = &s->u.r;
	struct lvals	 lv;
	struct rctx	 rc;
	struct tr	 tr;
	struct mdoc	*arr = NULL, *j;
	struct map_val	 v;
	size_t		 i;
	int		 k, added = 0;

	if (r->listfast && !ev->tracing && fr->segi < 0 && fr->loop != NULL) {
		if ((added = list_plain(ev, fr, r)) < 0)
			return;
		goto none;
	}
	memset(&lv, 0, sizeof(lv));
	for (k = 0; k < r->nexpr; k++) {
		lv.ord = (uint32_t)k;
		eval_expr_all(ev, fr, r->expr[k], cb_list, &lv);
	}
	/* Mostly in order already: one segment, its elements as listed. */
	for (i = 1; i < lv.n && lv_cmp(&lv.v[i - 1], &lv.v[i]) < 0; i++)
		;
	if (i < lv.n)
		qsort(lv.v, lv.n, sizeof(*lv.v), lv_cmp);
	for (i = 0; i < lv.n; i++) {
		v = lv.v[i].v;
		rc.s = s;
		rc.fr = fr;
		rc.tgt = &r->tgt;
		rc.listidx = arr != NULL ? (int)arr->u.a.n : 0;
		rc.source = r->expr[lv.v[i].ord]->text;
		trace_start(ev, &tr, s, fr, &r->tgt, rc.listidx);
		if (tr.on) {
			buf_printf(&tr.b, " <- %s ", rc.source);
			trace_val(&tr.b, &v);
			if (v.seg)
				buf_printf(&tr.b, " (seg %u)", v.seg->filepos);
			else if (v.xnode)
				buf_printf(&tr.b, " (line %d)",
				    xml_line((xmlNodePtr)v.xnode));
		}
		if (run_xforms(ev, s, &rc, &v, &tr) != VR_OK) {
			trace_end(ev, &tr);
			continue;
		}
		if (tr.on && r->nxf) {
			buf_adds(&tr.b, " -> ");
			trace_val(&tr.b, &v);
		}
		trace_end(ev, &tr);
		if (arr == NULL && (arr = target_array(ev, fr, &r->tgt)) ==
		    NULL)
			return;
		if ((j = val_node(ev, &v, r->nxf > 0)) == NULL) {
			ev->dirty = 1;
			continue;
		}
		list_append(ev, arr, j);
		added++;
	}
none:
	if (added == 0) {
		rc.s = s;
		rc.fr = fr;
		rc.tgt = &r->tgt;
		rc.listidx = -1;
		rc.source = r->srctext;
		if (absent(ev, s, &rc, &v) &&
		    (arr = target_array(ev, fr, &r->tgt)) != NULL &&
		    (j = val_node(ev, &v, 0)) != NULL &&
		    mdoc_append(&ev->mp, arr, j) != 0)
			ev->limit = 1;
	}
}

/* The context of a scalar rule's diagnostics (its source set apart). */
static inline struct rctx *
rctx_set(struct rctx *rc, const struct map_stmt *s, const struct frame *fr)
{
	rc->s = s;
	rc->fr = fr;
	rc->tgt = &s->u.r.tgt;
	rc->listidx = -1;
	return rc;
}

static void run_rule_short(struct ev *, const struct frame *,
		    const struct map_stmt *);

/* run_rule_gen's found: not worked out yet. */
#define RULE_UNSEEN	(-2)
/* As 0, from run_rule_or: the second term is eval_or's to take. */
#define RULE_OR_SLOW	(-3)

static void run_rule_or(struct ev *, const struct frame *,
		    const struct map_stmt *, int);

/*
 * A scalar rule.  found, unless RULE_UNSEEN, is what run_rule's fast
 * path had plain_value return for a rule of the fast shape while nobody
 * traces, 0 or -1 (nothing in the value yet): it goes on from there.
 */
static NOINLINE void
run_rule_gen(struct ev *ev, const struct frame *fr, const struct map_stmt *s,
    int found)
{
	const struct map_rule *r = &s->u.r;
	const struct map_expr *plain;
	struct rctx	 rc;
	struct tr	 tr;
	struct map_val	 v;
	struct margs	 ma;
	int		 vr;

	/* run_rule took run_rule_short's rules (when_fast, lit) itself. */
	if (found == RULE_UNSEEN) {
		ev->xat = NULL;
		if (r->when != NULL &&
		    eval_cond(ev, fr, r->when, 0) != C_TRUE) {
			trace_start(ev, &tr, s, fr, &r->tgt, -1);
			if (tr.on)
				buf_adds(&tr.b, " (when: false)");
			trace_end(ev, &tr);
			return;
		}
		if (r->tgt.array) {
			run_list_rule(ev, fr, s);
			return;
		}
	} else if (found == RULE_OR_SLOW)
		found = 0;
	/*
	 * rc (what diagnostics name) is filled in only for the calls that
	 * may emit one: most rules find their value and write it.
	 */
	/* Worked out when the map was linked (rule_hints), else here. */
	if ((rc.source = r->source) != NULL)
		plain = r->plain;
	else {
		rc.source = primary(r->expr[0])->text;
		plain = map_expr_plain(r->expr[0]);
	}
	trace_start(ev, &tr, s, fr, &r->tgt, -1);
	if (found == RULE_UNSEEN)
		found = plain != NULL ? plain_value(ev, fr, plain, &v) : -1;
	if (found < 0)
		found = eval_expr(ev, fr, r->expr[0], &v,
		    rctx_set(&rc, s, fr));
	else if (found == 0 && plain != r->expr[0])
		found = eval_or(ev, fr, r->expr[0], 1, &v,
		    rctx_set(&rc, s, fr));
	if (tr.on) {
		buf_printf(&tr.b, " <- %s", r->srctext);
		if (found) {
			buf_addc(&tr.b, ' ');
			trace_val(&tr.b, &v);
			if (v.seg)
				buf_printf(&tr.b, " (seg %u)", v.seg->filepos);
			else if (v.xnode)
				buf_printf(&tr.b, " (line %d)",
				    xml_line((xmlNodePtr)v.xnode));
		} else
			buf_adds(&tr.b, " (absent)");
	}
	if (found && v.fallback) {
		const struct edi_seg *seg;
		int el, comp;

		memset(&ma, 0, sizeof(ma));
		ma.dflt = v.p;
		ma.dlen = v.len;
		ma.why = v.from != NULL && v.from->kind == MT_SEQ ? "seq" :
		    "literal";
		seg = absent_pos(ev, fr, r->expr[0], &el, &comp);
		emit(ev, DIAG_WARNING, "MAP-DEFAULT", s, fr, &r->tgt, -1,
		    rc.source, seg, el, comp, NULL, MD_DEFAULT_OR, &ma);
	}
	if (found && v.from != NULL && !v.fallback)
		rc.source = v.from->text;
	/* Most rules have no transform, no default and nothing required. */
	vr = !found ? VR_ABSENT : r->nxf == 0 ? VR_OK :
	    xforms(ev, s, rctx_set(&rc, s, fr), &v, &tr);
	if (vr == VR_ABSENT) {
		if ((!r->hasdef && r->req == MQ_NONE) ||
		    !absent(ev, s, rctx_set(&rc, s, fr), &v)) {
			trace_end(ev, &tr);
			return;
		}
		if (tr.on) {
			buf_adds(&tr.b, " default ");
			trace_val(&tr.b, &v);
		}
	} else if (vr == VR_DROPPED) {
		trace_end(ev, &tr);
		return;
	} else if (tr.on && r->nxf) {
		buf_adds(&tr.b, " -> ");
		trace_val(&tr.b, &v);
	}
	trace_end(ev, &tr);
	/* After transforms v.plain is set; a default (default_val) is 0. */
	write_scalar(ev, fr, &r->tgt, &v, r->nxf > 0);
}

/*
 * The value v a rule read the plain way, through its transforms (an
 * absent result still written when a default or a requirement says so)
 * into its target.
 */
static inline ALWAYS_INLINE void
write_scalar(struct ev *, const struct frame *, const struct map_target *,
    const struct map_val *, int);

/*
 * rule_write's way for a rule of several transforms, or an XML value: the
 * transforms as run_rule_gen runs them, then the write.
 */
static NOINLINE void
rule_write_xforms(struct ev *ev, const struct frame *fr,
    const struct map_stmt *s, struct map_val *v)
{
	const struct map_rule *r = &s->u.r;
	struct rctx	 rc;
	struct tr	 tr;
	int		 vr;

	rc.source = v->from->text;
	tr.on = 0;
	if ((vr = run_xforms(ev, s, rctx_set(&rc, s, fr), v, &tr)) != VR_OK) {
		if (vr == VR_ABSENT && (r->hasdef || r->req != MQ_NONE) &&
		    absent(ev, s, &rc, v))
			write_scalar(ev, fr, &r->tgt, v, 1);
		return;
	}
	write_scalar(ev, fr, &r->tgt, v, 1);
}

/*
 * rule_write's way when its one transform did not simply succeed: the
 * diagnostic or policy of res (xforms' raw value: v's text and kind
 * before the transform), then the write, a default's, or none.  Only
 * here is what a diagnostic names (rc) filled in.
 */
static NOINLINE void
rule_write_res(struct ev *ev, const struct frame *fr,
    const struct map_stmt *s, struct map_val *v, const char *p, size_t len,
    enum map_vkind kind, int res, const char *why)
{
	const struct map_rule *r = &s->u.r;
	struct map_val	 raw;
	struct rctx	 rc;
	struct tr	 tr;
	int		 vr;

	raw = *v;
	raw.p = p;
	raw.len = len;
	raw.kind = kind;
	rc.source = v->from->text;
	tr.on = 0;
	if ((vr = xform_res(ev, s, rctx_set(&rc, s, fr), r->xf, &raw, v, &tr,
	    res, why)) != VR_OK) {
		if (vr == VR_ABSENT && (r->hasdef || r->req != MQ_NONE) &&
		    absent(ev, s, &rc, v))
			write_scalar(ev, fr, &r->tgt, v, 1);
		return;
	}
	write_scalar(ev, fr, &r->tgt, v, 1);
}

/*
 * The value v a rule read the plain way, through its transforms (an
 * absent result still written when a default or a requirement says so)
 * into its target.  Most have one transform that succeeds (xforms' fast
 * way): nothing is kept for a diagnostic but v's text and kind.
 */
static inline ALWAYS_INLINE void
rule_write_at(struct ev *ev, const struct frame *fr, struct mdoc *base,
    const struct map_stmt *s, struct map_val *v)
{
	const struct map_rule *r = &s->u.r;
	const char	*why, *p;
	size_t		 len;
	enum map_vkind	 kind;
	int		 res;

	if (r->nxf != 0) {
		if (r->nxf != 1 || v->xnode != NULL) {
			rule_write_xforms(ev, fr, s, v);
			return;
		}
		p = v->p;
		len = v->len;
		kind = v->kind;
		/* v is text (pb_value's): r->xfn, set for its kind */
		if ((res = r->xfn(r->xf, ev->a, ev->set, v, &why)) != MXR_OK) {
			rule_write_res(ev, fr, s, v, p, len, kind, res, why);
			return;
		}
	}
	write_scalar_at(ev, fr, base, &r->tgt, v, r->nxf > 0);
}

static inline ALWAYS_INLINE void
rule_write(struct ev *ev, const struct frame *fr, const struct map_stmt *s,
    struct map_val *v)
{
	rule_write_at(ev, fr, frame_base(ev, fr), s, v);
}

/*
 * Most rules have the shape rule_hints calls fast: the first term a
 * plain path, no when, not a list.  Unless someone traces, the value
 * plain_value finds is written as run_rule_gen would: it is never a
 * fallback, and what the transforms leave is written unless they drop
 * it or find it absent.  An absent value is nothing to do for most
 * (quiet: no `or`, default or required); the rest is run_rule_gen's.
 */
static inline ALWAYS_INLINE void
run_rule_plain(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_rule *r = &s->u.r;
	struct map_val	 v;
	struct pbest	 b;
	int		 found;

	if ((found = plain_best(ev, fr, r->ppath, &b)) == 0) {
		/* Without a transform the value is only its text. */
		if (b.n == 1 && r->nxf == 0 && b.v != NULL) {
			write_text(ev, fr, &r->tgt, b.v);
			return;
		}
		found = pb_value(&b, r->plain, r->vcomp, &v);
	}
	if (found != 1) {
		if (found != 0 || !r->quiet)
			run_rule_or(ev, fr, s, found);
		return;
	}
	rule_write(ev, fr, s, &v);
}

/*
 * What run_rule leaves to run_rule_gen (found: 0 absent, -1 several),
 * but first the common case of `a or b ...` with b a plain path (or2)
 * and a absent: eval_or's second term, read as run_rule reads a first
 * one, then written as run_rule writes it (the value of a path is never
 * a fallback).  b absent with terms after it, or matching several
 * segments (MAP-MULTI), is run_rule_gen's.
 */
static NOINLINE void
run_rule_or(struct ev *ev, const struct frame *fr, const struct map_stmt *s,
    int found)
{
	const struct map_rule *r = &s->u.r;
	const struct map_expr *e = r->or2;
	struct map_val	 v;
	struct pbest	 b;

	if (found != 0 || e == NULL) {
		run_rule_gen(ev, fr, s, found);
		return;
	}
	if (plain_best(ev, fr, e->path, &b) != 0 || b.n > 1 ||
	    (b.n == 0 && (r->expr[0]->nsub > 2 || r->hasdef ||
	    r->req != MQ_NONE))) {
		run_rule_gen(ev, fr, s, RULE_OR_SLOW);
		return;
	}
	if (b.n == 0)
		return;
	if (r->nxf == 0 && b.v != NULL) {
		write_text(ev, fr, &r->tgt, b.v);	/* as run_rule_plain */
		return;
	}
	pb_value(&b, e, map_path_vcomp(e->path), &v);
	rule_write(ev, fr, s, &v);
}

static inline ALWAYS_INLINE void
run_rule(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	/* fast and tracing are 0 or 1: one comparison for both. */
	if (s->u.r.fast <= ev->tracing) {
		/*
		 * The rules run_rule_gen would hand on at once, without its
		 * frame: each of when_fast and lit 0 or 1, one of them and
		 * nobody tracing.
		 */
		if ((s->u.r.when_fast | s->u.r.lit) > ev->tracing)
			run_rule_short(ev, fr, s);
		else
			run_rule_gen(ev, fr, s, RULE_UNSEEN);
		return;
	}
	/*
	 * A fast rule reads an EDI path: ev->xat, the node of an XML
	 * source's next diagnostic, is NULL throughout an EDI run.
	 */
	run_rule_plain(ev, fr, s);
}

/* The 48 bits of a value's el, rep and comp (map_sop.elrc). */
static inline uint64_t
val_elrc(const struct edi_val *v)
{
	static const unsigned char m6[8] = { 255, 255, 255, 255, 255, 255 };
	uint64_t u, m;

	memcpy(&u, (const char *)v + offsetof(struct edi_val, el), sizeof(u));
	memcpy(&m, m6, sizeof(m));
	return u & m;
}

/*
 * target_obj_at for a rule of a run (op): a target of one name is the
 * frame's object, one of two not rooted its member or a new one.
 */
static inline ALWAYS_INLINE struct mdoc *
sop_obj(struct ev *ev, const struct frame *fr, struct mdoc *o,
    const struct map_sop *op)
{
	struct mdoc *j;

	if (op->tshape == 1)
		return o;
	if (op->tshape != 2)
		return target_obj_at(ev, fr, o, &op->s->u.r.tgt);
	if ((j = o->u.o.tail) != NULL && j->key == op->name0 &&
	    j->kind == MDOC_OBJ)
		return j;
	if ((o->u.o.keys & op->bit0) != 0)
		return target_parent(ev, fr, &op->s->u.r.tgt);
	if ((j = mdoc_new(&ev->mp, MDOC_OBJ)) == NULL) {
		ev->limit = 1;
		return NULL;
	}
	mdoc_add_new(o, op->name0, op->bit0, j);
	return j;
}

/* A literal rule's value, as eval_expr1() makes it, from e. */
static inline void
lit_val(struct map_val *v, const struct map_expr *e)
{
	memset(v, 0, sizeof(*v));
	v->p = e->lit.p;
	v->len = e->lit.len;
	v->kind = MV_STR;
	v->from = e;
}

/*
 * The rule after a rule of a run that has just written j into o, under a
 * when exists(F) of that target (SOP_LIT, SOP_PATH: map_compile.c
 * share_cond): F is j, as exists_field would find it (keys are unique),
 * and o the object its test reaches (run_rule_sib, run_lit_sib).  The
 * literal is written as run_lit_sib writes it; a path's rule as
 * run_rule_sib goes on, its target object being o.
 */
static NOINLINE void
sop_then(struct ev *ev, const struct frame *fr, struct mdoc *o,
    const struct mdoc *j, const struct map_sop *op)
{
	const struct map_expr *e = op->plain;
	struct mdoc	*l;
	struct map_val	 v;

	if (!node_has(j))
		return;
	ev->xat = NULL;
	if (op->cond == SOP_PATH) {
		run_rule_plain(ev, fr, op->s);
		return;
	}
	if (!op->text) {
		lit_val(&v, e);
		write_scalar_in(ev, o, &op->s->u.r.tgt, &v, 0);
		return;
	}
	if ((l = leaf_node(ev, MDOC_STR)) == NULL) {
		ev->limit = 1;
		ev->dirty = 1;
		return;
	}
	l->u.s.p = e->lit.p;
	l->u.s.len = e->lit.len;
	l->plain = 1;
	mdoc_set_bit(o, op->namel, op->bitl, l);
}

/*
 * A run of rules that read one tag of the frame's scope (MS_SHARE,
 * map_compile.c share_runs), each of the fast shape: as run_block would
 * run them one by one, but with their segment found once.  When the
 * scope has one segment with the tag (or none), each rule's candidate
 * is read there as plain_best reads it, then written as run_rule_plain
 * writes it.  Several segments with the tag, a scope without its index
 * yet, or someone tracing: each rule runs alone.  Each rule is read from
 * its map_sop, which holds what the loop needs side by side.  A rule
 * under a when exists(F) of the target of the rule before it (SOP_COND)
 * is sop_then's when that rule has just written F, else run alone.
 */
static NOINLINE void
run_share(struct ev *ev, const struct frame *fr, const struct map_stmt *sh)
{
	const struct map_sop *op = sh->u.b.sop, *oe;
	const struct edi_seg *s = NULL;
	const struct map_path *p;
	const struct edi_val *val;
	const struct sidx *x;
	struct mdoc	*base, *o, *j;
	struct map_val	 v;
	struct pbest	 b;
	const char	*vp, *why;
	size_t		 vlen;
	uint32_t	 it;
	int		 c, k, found, res, fk = 0;

	if (ev->tracing || op == NULL)
		goto each;
	/* A loop instance not indexed yet (the header's): as plain_best. */
	if ((x = fr->sx) == NULL && fr->segi < 0 && fr->loop != NULL)
		x = frame_sidx(ev, fr);
	if (x == NULL) {
		/* A group of single segments (REF): that one. */
		if (fr->segi < 0 || (uint32_t)fr->segi >= ev->set->nseg)
			goto each;
		s = &ev->set->seg[fr->segi];
		if (edi_seg_tagkey(s) != sh->u.b.sharekey)
			s = NULL;
	} else if ((it = x->first[sh->u.b.sharetid]) != SIDX_END) {
		if (x->it[it].next != SIDX_END)
			goto each;
		s = &ev->set->seg[x->it[it].seg];
	}
	/*
	 * ev->cur is not set for each rule: only XML's diagnostics read it
	 * (xp_error, xmulti_diag), and these rules read EDI paths.
	 */
	oe = op + sh->u.b.nbody;
	if (s == NULL) {
		/* No segment: every value absent, as below. */
		for (; op < oe && !ev->limit; op++)
			if (op->how == SOP_COND)
				run_rule_short(ev, fr, op->s);
			else if (!op->quiet)
				run_rule_or(ev, fr, op->s, 0);
		return;
	}
	/* The frame's object, which no rule of the run changes. */
	base = frame_base(ev, fr);
	/*
	 * ev->limit, which stops the run, is tested after what may set it
	 * (slow), not for each rule.
	 */
	for (; op < oe; op++) {
		val = NULL;
		found = 0;
		/*
		 * The candidate as plain_cand ranks it, without a pbest for
		 * the two shapes that have one at most: a value of the
		 * segment (its last way) and a qualifier pair from the pairs
		 * kept (pair_key's).
		 */
		if (op->how == SOP_ONE || (op->how == SOP_ONEF &&
		    (fk = op->fsame ? fk : frank(s, &op->p->seg.f)) >= 0)) {
			/* path_value, from op. */
			if (op->el - 1u < s->nval &&
			    val_elrc(val = &s->val[op->el - 1]) == op->elrc &&
			    (op->el == 1 || val[-1].el < op->el))
				found = 1;
			else if ((val = segval_near(s, op->p)) != NULL)
				found = val->s.len > 0;
		} else if ((op->how == SOP_PAIRS || (op->how == SOP_PAIRSF &&
		    (fk = op->fsame ? fk : frank(s, &op->p->seg.f)) >= 0)) &&
		    ev->pc.seg == s && ev->pc.layout == (p = op->p)->playout) {
			for (c = 0; c < p->npair && !found; c++)
				for (k = 0; k < ev->pc.n; k++)
					if (ev->pc.p[k].qk == p->pk[c]) {
						val = ev->pc.p[k].v;
						found = 1;
						break;
					}
		} else if (op->how == SOP_PAIRS || op->how == SOP_OTHER ||
		    (op->how == SOP_PAIRSF && fk >= 0)) {
			b.n = 0;
			plain_cand(ev, op->p, s, 0, &b);
			found = b.n == 1 ? 1 : b.n == 0 ? 0 : -1;
			if (found == 1)
				val = b.v;	/* every candidate is of s */
		}
		/* From here as run_rule_plain. */
		if (found != 1) {
			/* A SOP_COND here: the rule before wrote nothing. */
			if (found != 0 || !op->quiet) {
				if (op->how == SOP_COND)
					run_rule_short(ev, fr, op->s);
				else
					run_rule_or(ev, fr, op->s, found);
				goto slow;
			}
			continue;
		}
		if (op->text) {
			/* write_text_at, from op. */
			if ((o = sop_obj(ev, fr, base, op)) == NULL) {
				ev->dirty = 1;
				goto slow;
			}
			if ((j = leaf_node(ev, MDOC_STR)) == NULL ||
			    (j->u.s.p = ev_segtext(ev, val, &j->u.s.len,
			    &j->plain)) == NULL) {
				ev->limit = 1;
				ev->dirty = 1;
				return;
			}
			mdoc_set_bit(o, op->namel, op->bitl, j);
			if (!op->then)
				continue;
			sop_then(ev, fr, o, j, ++op);
			goto slow;
		}
		/* rule_write_at, from op. */
		mk_val(&v, s, val, op->vcomp);
		v.from = op->plain;
		if (!op->xf1) {
			rule_write_xforms(ev, fr, op->s, &v);
			goto slow;
		}
		vp = v.p;
		vlen = v.len;
		if ((res = op->xfn(op->xf, ev->a, ev->set, &v, &why)) !=
		    MXR_OK) {
			rule_write_res(ev, fr, op->s, &v, vp, vlen, MV_STR, res,
			    why);
			goto slow;
		}
		if ((o = sop_obj(ev, fr, base, op)) == NULL ||
		    (j = val_node(ev, &v, 1)) == NULL) {
			ev->dirty = 1;
			goto slow;
		}
		mdoc_set_bit(o, op->namel, op->bitl, j);
		if (!op->then)
			continue;
		sop_then(ev, fr, o, j, ++op);
slow:
		if (ev->limit)
			return;
	}
	return;
each:
	for (k = 0; k < sh->u.b.nbody; k++) {
		if (ev->limit)
			break;
		ev->cur = sh->u.b.body[k];
		run_rule(ev, fr, sh->u.b.body[k]);
	}
}

/*
 * exists(F) of a field F beside a rule's target (r->whensib), as
 * exists_field tests it: 2 with *op the object that holds F, 1 when F is
 * absent, 0 when the walk meets something other than an object
 * (exists_field's -1).
 */
static inline ALWAYS_INLINE int
sib_find(const struct frame *fr, const struct map_field *f, struct mdoc **op)
{
	const struct frame *of;
	const struct mdoc *j;
	struct mdoc	*o;
	int		 k, n = f->nname;

	if ((of = obj_frame(fr)) == NULL)
		return 1;		/* no object: F is absent */
	o = of->obj;
	for (k = 0; k < n - 1; k++) {
		if (o->kind != MDOC_OBJ)
			return 0;
		if ((j = member(o, f, k)) == NULL)
			return 1;
		o = (struct mdoc *)(uintptr_t)j;
	}
	if (o->kind != MDOC_OBJ)
		return 0;
	if ((j = member(o, f, n - 1)) == NULL || !node_has(j))
		return 1;
	*op = o;
	return 2;
}

/*
 * A rule whose `when` is exists(F) of a field beside its target
 * (r->whensib: id.schemeId when exists(id.value)), unless someone traces:
 * the test as exists_field makes it, then run_rule_plain's way, writing
 * into the object the test reached, which is the one target_obj would
 * find (the same names from the same frame object, whose keys are
 * unique).  0 when the test meets something other than an object on the
 * way (exists_field's -1): the caller's general way.
 */
static inline ALWAYS_INLINE int
run_rule_sib(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_rule *r = &s->u.r;
	const struct map_field *f = r->when->a->field;
	struct mdoc	*o;
	struct map_val	 v;
	struct pbest	 b;
	const char	*why, *p;
	size_t		 len;
	enum map_vkind	 kind;
	int		 k, found, res;

	if ((k = sib_find(fr, f, &o)) != 2)
		return k;
	/* From here as run_rule_plain, then rule_write, into o. */
	if ((found = plain_best(ev, fr, r->ppath, &b)) == 0) {
		if (b.n == 1 && r->nxf == 0 && b.v != NULL) {
			write_text_in(ev, o, &r->tgt, b.v);
			return 1;
		}
		found = pb_value(&b, r->plain, r->vcomp, &v);
	}
	if (found != 1) {
		if (found != 0 || !r->quiet)
			run_rule_or(ev, fr, s, found);
		return 1;
	}
	if (r->nxf != 0) {
		if (r->nxf != 1 || v.xnode != NULL) {
			rule_write_xforms(ev, fr, s, &v);
			return 1;
		}
		p = v.p;
		len = v.len;
		kind = v.kind;
		if ((res = r->xfn(r->xf, ev->a, ev->set, &v, &why)) != MXR_OK) {
			rule_write_res(ev, fr, s, &v, p, len, kind, res, why);
			return 1;
		}
	}
	write_scalar_in(ev, o, &r->tgt, &v, r->nxf > 0);
	return 1;
}

/*
 * A literal under a `when` as run_rule_sib takes a path's rule (MS_LITSIB:
 * item.standardItemId.schemeId = "GTIN" when exists(item.standardItemId.
 * value)): the test as exists_field makes it, then the literal written as
 * run_rule_short writes it, into the object the test reached.  0 when
 * the test meets something other than an object on the way: the
 * caller's general way.
 */
static NOINLINE int
run_lit_sib(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_rule *r = &s->u.r;
	const struct map_field *f = r->when->a->field;
	const struct map_expr *e = r->expr[0];
	struct mdoc	*o, *l;
	struct map_val	 v;
	int		 k;

	ev->xat = NULL;
	if ((k = sib_find(fr, f, &o)) != 2)
		return k;
	if (!r->litplain) {
		lit_val(&v, e);
		write_scalar_in(ev, o, &r->tgt, &v, 0);
		return 1;
	}
	if ((l = leaf_node(ev, MDOC_STR)) == NULL) {
		ev->limit = 1;
		ev->dirty = 1;
		return 1;
	}
	l->u.s.p = e->lit.p;
	l->u.s.len = e->lit.len;
	l->plain = 1;
	mdoc_set_bit(o, r->tgt.name[r->tgt.nname - 1],
	    r->tgt.bit[r->tgt.nname - 1], l);
	return 1;
}

/*
 * run_rule_gen's short ways, unless someone traces: a rule of the fast
 * shape under a `when` (the when tested as run_rule_gen tests it, then
 * run_rule's path), and a literal alone (= "GTIN"), written as
 * eval_expr makes its value.
 */
static NOINLINE void
run_rule_short(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_rule *r = &s->u.r;
	const struct map_expr *e;
	const struct map_cond *c;
	struct map_val	 v;
	struct mdoc	*o, *j;
	int		 l;

	ev->xat = NULL;
	if (r->whensib && run_rule_sib(ev, fr, s))
		return;
	/* eval_cond's first case (exists(id.value)) without the call. */
	if ((c = r->when) != NULL) {
		if (c->op != MC_EXISTS || c->a->kind != MT_FIELD ||
		    (l = exists_field(ev, fr, c->a)) < 0)
			l = eval_cond(ev, fr, c, 0) == C_TRUE;
		if (!l)
			return;
	}
	if (r->when_fast) {
		run_rule_plain(ev, fr, s);
		return;
	}
	e = r->expr[0];
	if (r->litplain) {
		/* write_scalar's node, as mdoc_text_plain leaves the text. */
		if ((o = target_obj(ev, fr, &r->tgt)) == NULL) {
			ev->dirty = 1;
			return;
		}
		if ((j = leaf_node(ev, MDOC_STR)) == NULL) {
			ev->limit = 1;
			ev->dirty = 1;
			return;
		}
		j->u.s.p = e->lit.p;
		j->u.s.len = e->lit.len;
		j->plain = 1;
		mdoc_set_bit(o, r->tgt.name[r->tgt.nname - 1],
		    r->tgt.bit[r->tgt.nname - 1], j);
		return;
	}
	lit_val(&v, e);
	write_scalar(ev, fr, &r->tgt, &v, 0);
}

/*
 * A check of a field against an unsigned integer (c->quick: check
 * quantity.value > 0 on every line), as cond_cmp_lit decides it, with the
 * literal's digits settled when linked: 1 when it passes or an operand is
 * absent (run_check would have nothing to do), 0 when it fails or the
 * field is not an unsigned integer (run_check's to decide and report).
 */
static inline ALWAYS_INLINE int
check_quick(struct ev *ev, const struct frame *fr, const struct map_cond *c)
{
	const struct mdoc *j;
	const char	*p;
	size_t		 len, i;
	int		 k, res;

	if ((j = field_obj(ev, fr, c->a->field, &k)) == NULL) {
		ev->xat = NULL;		/* as run_check leaves it */
		return 1;
	}
	if (k != c->a->field->nname ||
	    (j->kind != MDOC_STR && j->kind != MDOC_DEC))
		return 0;
	p = j->u.s.p;
	len = j->u.s.len;
	if (len == 0 || len > MAP_MAX_DEC_DIGITS + 2)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)(p[i] - '0') > 9)
			return 0;
	while (len > 1 && p[0] == '0') {
		p++;
		len--;
	}
	if (len != c->ulit.len)
		res = len < c->ulit.len ? -1 : 1;
	else if ((res = memcmp(p, c->ulit.p, len)) != 0)
		res = res < 0 ? -1 : 1;
	if (cmp_holds(c->cmp, res) != 1)
		return 0;
	ev->xat = NULL;
	return 1;
}

static void
run_check(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	struct margs	 ma;
	const struct edi_seg *seg;
	struct tr	 tr;
	int		 res;

	ev->lastseg = NULL;
	ev->lastsrc = NULL;
	ev->xlast = NULL;
	res = eval_cond(ev, fr, s->u.c.cond, 0);
	seg = ev->lastseg;
	ev->xat = ev->xlast;
	trace_start(ev, &tr, s, fr, NULL, -1);
	if (tr.on)
		buf_printf(&tr.b, " check %s", res == C_TRUE ? "passed" :
		    res == C_FALSE ? "FAILED" : "skipped (absent operand)");
	trace_end(ev, &tr);
	if (res != C_FALSE)
		return;
	memset(&ma, 0, sizeof(ma));
	emit(ev, s->u.c.error ? DIAG_ERROR : DIAG_WARNING, "MAP-CHECK", s, fr,
	    NULL, -1, seg != NULL || ev->xat != NULL ? ev->lastsrc : NULL, seg,
	    0, 0, s->u.c.msg, MD_REQ, &ma);
}

/* ---- blocks ---------------------------------------------------------------- */

static void run_block(struct ev *, struct frame *, const struct map_block *,
		    int);

/*
 * The where-assignments of a group instance (group ... where f == expr);
 * the callers skip the call for a group without any, as most are.
 */
static int
apply_where(struct ev *ev, struct frame *nf, const struct map_block *b)
{
	struct map_val	 v;
	struct map_target t;
	uint64_t	 bit[MAP_MAX_TARGET_DEPTH];
	int		 i, j, n = 0;

	for (i = 0; i < b->nwhere; i++) {
		const struct map_where *w = &b->where[i];

		if (w->e == NULL)
			continue;
		if (!eval_expr(ev, nf, w->e, &v, NULL))
			continue;
		memset(&t, 0, sizeof(t));
		t.name = w->name;
		t.nname = w->f->nname;
		for (j = 0; j < t.nname && j < MAP_MAX_TARGET_DEPTH; j++)
			bit[j] = mdoc_keybit(t.name[j]);
		t.bit = bit;
		write_scalar(ev, nf, &t, &v, 0);
		n++;
	}
	return n;
}

/* Number of members a where-assignment left in obj (they don't count). */
static int
obj_nonempty(const struct mdoc *obj, int nwhere)
{
	return obj->u.o.n > (uint32_t)nwhere;
}

/*
 * XML groups: `from XPATH` relative to the enclosing group's node; an
 * array group takes every node in document order, a single-object group
 * or `within` the first (MAP-MULTI when there are several).
 */
static void
run_xgroup(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int depth)
{
	const struct map_block *b = &s->u.b;
	xmlXPathObjectPtr r;
	xmlNodeSetPtr	 ns = NULL;
	xmlNodePtr	 first = NULL, n;
	struct frame	 nf;
	struct margs	 ma;
	struct rctx	 rc;
	struct mdoc	*obj, *parent, *arr, *old;
	int		 i, nn = 0, nw;

	if ((r = xp_run(ev, fr, NULL, b->xselc, b->seltext)) == NULL)
		return;
	if (r->type == XPATH_NODESET)
		ns = r->nodesetval;
	for (i = 0; ns != NULL && i < ns->nodeNr && i < MAP_MAX_XPATH_NODES;
	    i++)
		if (ns->nodeTab[i]->type != XML_NAMESPACE_DECL &&
		    nn++ == 0)
			first = ns->nodeTab[i];
	if (nn == 0) {
		if (b->req != MQ_NONE) {
			memset(&ma, 0, sizeof(ma));
			emit(ev, b->req == MQ_ERROR ? DIAG_ERROR : DIAG_WARNING,
			    "MAP-REQ", s, fr, b->within ? NULL : &b->tgt, -1,
			    b->seltext, NULL, 0, 0, b->reqmsg, b->within ?
			    MD_REQ_WITHIN : MD_REQ_GROUP, &ma);
		}
		xmlXPathFreeObject(r);
		return;
	}
	memset(&nf, 0, sizeof(nf));
	nf.up = fr;
	nf.tgt = b->within ? NULL : &b->tgt;
	nf.index = -1;
	nf.segi = -1;
	if (b->within || !b->tgt.array) {
		if (nn > 1) {
			rc.s = s;
			rc.fr = fr;
			rc.tgt = b->within ? NULL : &b->tgt;
			rc.listidx = -1;
			rc.source = b->seltext;
			xmulti_diag(ev, &rc, b->seltext, first, ns, nn,
			    b->unique, fr);
		}
		nf.xn = first;
		nf.seq = fr->seq;
		if (b->within) {
			run_block(ev, &nf, b, depth + 1);
		} else if ((obj = new_node(ev, MDOC_OBJ)) != NULL) {
			nf.obj = obj;
			nw = b->nwhere > 0 ? apply_where(ev, &nf, b) : 0;
			run_block(ev, &nf, b, depth + 1);
			if (obj_nonempty(obj, nw) &&
			    (parent = target_parent(ev, fr, &b->tgt)) != NULL) {
				old = mdoc_member(parent,
				    b->tgt.name[b->tgt.nname - 1]);
				if (old != NULL && old->kind == MDOC_OBJ)
					mdoc_merge(old, obj);
				else
					mdoc_set(parent,
					    b->tgt.name[b->tgt.nname - 1], obj);
			}
		}
		xmlXPathFreeObject(r);
		return;
	}
	for (i = 0; i < ns->nodeNr && i < MAP_MAX_XPATH_NODES && !ev->limit;
	    i++) {
		if ((n = ns->nodeTab[i])->type == XML_NAMESPACE_DECL)
			continue;
		if ((arr = target_array(ev, fr, &b->tgt)) == NULL ||
		    (obj = new_node(ev, MDOC_OBJ)) == NULL)
			break;
		nf.xn = n;
		nf.obj = obj;
		nf.index = (int)arr->u.a.n;
		nf.seq = nf.index + 1;
		nw = b->nwhere > 0 ? apply_where(ev, &nf, b) : 0;
		run_block(ev, &nf, b, depth + 1);
		/* Several groups may fill one array: by line, then arrival. */
		if (obj_nonempty(obj, nw))
			array_put(ev, arr, obj, (uint32_t)xml_line(n));
	}
	xmlXPathFreeObject(r);
	if ((parent = target_parent(ev, fr, &b->tgt)) != NULL &&
	    (arr = mdoc_member(parent, b->tgt.name[b->tgt.nname - 1])) !=
	    NULL && arr->kind == MDOC_ARR && arr->u.a.n == 0) {
		mdoc_del(parent, b->tgt.name[b->tgt.nname - 1]);
		ev->dirty = 1;
	}
}

/* A group's selector matched nothing: MAP-REQ when it is required. */
static void
group_req(struct ev *ev, const struct frame *fr, const struct map_stmt *s)
{
	const struct map_block *b = &s->u.b;
	struct margs	 ma;

	if (b->req == MQ_NONE)
		return;
	memset(&ma, 0, sizeof(ma));
	emit(ev, b->req == MQ_ERROR ? DIAG_ERROR : DIAG_WARNING, "MAP-REQ", s,
	    fr, b->within ? NULL : &b->tgt, -1, b->seltext, NULL, 0, 0,
	    b->reqmsg, b->within ? MD_REQ_WITHIN : MD_REQ_GROUP, &ma);
}

/*
 * The instance an item of an index stands for, as sel_step and
 * inst_sidx make it: the loop the item triggers with the index it keeps,
 * or the item's segment alone.
 */
static inline void
item_frame(struct ev *ev, struct sidx *x, uint32_t k, struct frame *nf)
{
	const struct edi_loop *kid = x->it[k].kid;

	nf->loop = kid;
	nf->segi = kid != NULL ? -1 : (int32_t)x->it[k].seg;
	nf->sx = kid != NULL ? sidx_kid(ev, &x->it[k]) : NULL;
}

/*
 * The one instance selected for an object group (or a `within` block) in
 * nf: its rules run into a new object, which joins the group's target
 * (merged into an object already there) when anything was written.
 */
static inline ALWAYS_INLINE void
run_obj_inst(struct ev *ev, const struct frame *fr, struct frame *nf,
    const struct map_block *b, int depth)
{
	struct mdoc	*obj, *parent, *old;
	int		 nw;

	if (b->within) {
		nf->obj = NULL;
		run_block(ev, nf, b, depth + 1);
		return;
	}
	if ((obj = new_node(ev, MDOC_OBJ)) == NULL)
		return;
	nf->obj = obj;
	nw = b->nwhere > 0 ? apply_where(ev, nf, b) : 0;
	run_block(ev, nf, b, depth + 1);
	if (obj_nonempty(obj, nw) &&
	    (parent = target_parent(ev, fr, &b->tgt)) != NULL) {
		old = mdoc_member(parent, b->tgt.name[b->tgt.nname - 1]);
		if (old != NULL && old->kind == MDOC_OBJ)
			mdoc_merge(old, obj);
		else
			mdoc_set(parent, b->tgt.name[b->tgt.nname - 1], obj);
	}
}

/*
 * A qualifier read once for several groups (run_gshare): the key of the
 * one value a one-atom filter reads in a segment (map_codekey), or
 * MAP_CODEKEY_NONE when it has none (no code matches), or QK_SLOW when
 * it has several (repetitions: filter_rank1 ranks them).
 */
#define QK_SLOW		(UINT64_MAX - 1)

static inline uint64_t
qual_key(const struct edi_seg *s, const struct map_atom *a)
{
	const struct edi_val *v = s->val, *e = edi_val_end(s), *q = NULL;
	const unsigned	 el = a->el, comp = a->comp ? a->comp : 1;

	for (; v < e && v->el <= el; v++) {
		if (v->el < el || (v->comp ? v->comp : 1u) != comp)
			continue;
		if (q != NULL)
			return QK_SLOW;
		q = v;
	}
	return q != NULL ? map_codekey(q->s.p, q->s.len) : MAP_CODEKEY_NONE;
}

/* frank of a segment whose qualifier's key is k, as filter_rank1 ranks. */
static inline int
qk_rank(uint64_t k, const struct edi_seg *s, const struct map_filter *f)
{
	const struct map_atom *a = &f->atom[0];
	int	 c;

	if (k == QK_SLOW)
		return frank(s, f);
	for (c = 0; c < a->ncode; c++)
		if (a->ck[c] == k)
			return f->rank == 0 ? c : 0;
	return -1;
}

/*
 * run_group for the usual selector, one step from the frame's loop
 * instance (from PO1, from N1[N101=ST]), without select_inst's list:
 * the items of the step's tag in the frame's index are the instances,
 * in document order, each ranked by the step's filter as sel_step ranks
 * it.  An array group runs every one; an object group the first of the
 * best rank.  0 when the selector is of another shape, or an object
 * group's best rank is shared (MAP-MULTI): run_group's general way.
 * qk: the keys of the items' qualifiers (run_gshare), in their order,
 * or NULL (each ranked by frank).
 */
static inline ALWAYS_INLINE int
group_idx_at(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int depth, const uint64_t *qk)
{
	const struct map_block *b = &s->u.b;
	const struct map_step *st = &b->sel->seg;
	const struct edi_seg *seg = ev->set->seg;
	struct sidx	*x;
	struct frame	 nf;
	struct mdoc	*obj, *parent, *arr;
	uint32_t	 k, first, best = SIDX_END, j;
	int		 r, rbest = 0, nbest = 0, nw;

	/* select_inst selects nothing once a limit is reached. */
	if (b->sel->anchor != MA_REL || b->sel->nloop != 0 || st->hier ||
	    fr->segi >= 0 || fr->loop == NULL || (x = fr->sx) == NULL ||
	    ev->limit)
		return 0;
	memset(&nf, 0, sizeof(nf));
	nf.up = fr;
	nf.tgt = b->within ? NULL : &b->tgt;
	nf.index = -1;
#define GROUP_RANK(k, j)	(qk != NULL ?				\
	qk_rank(qk[j], &seg[x->it[k].seg], &st->f) :			\
	frank(&seg[x->it[k].seg], &st->f))
	if (b->within || !b->tgt.array) {
		for (k = sidx_first(x, st), j = 0; k != SIDX_END;
		    k = x->it[k].next, j++) {
			if ((r = GROUP_RANK(k, j)) < 0)
				continue;
			if (best == SIDX_END || r < rbest) {
				best = k;
				rbest = r;
				nbest = 1;
			} else if (r == rbest)
				nbest++;
		}
		if (nbest > 1)
			return 0;
		if (best == SIDX_END) {
			group_req(ev, fr, s);
			return 1;
		}
		item_frame(ev, x, best, &nf);
		nf.seq = fr->seq;
		run_obj_inst(ev, fr, &nf, b, depth);
		return 1;
	}
	/*
	 * Array group: every instance in document order, into one array,
	 * found once: no statement of the group writes from the root
	 * (rootw), so nothing but the group moves or empties it.
	 */
	if (b->rootw)
		return 0;
	for (k = sidx_first(x, st), j = 0; k != SIDX_END;
	    k = x->it[k].next, j++)
		if (GROUP_RANK(k, j) >= 0)
			break;
	if (k == SIDX_END) {
		group_req(ev, fr, s);
		return 1;
	}
	if ((arr = target_array(ev, fr, &b->tgt)) == NULL)
		return 1;
	for (; k != SIDX_END && !ev->limit; k = x->it[k].next, j++) {
		if (st->f.natom != 0 && GROUP_RANK(k, j) < 0)
			continue;
#undef GROUP_RANK
		if ((obj = new_node(ev, MDOC_OBJ)) == NULL)
			return 1;
		item_frame(ev, x, k, &nf);
		first = nf.loop != NULL ? nf.loop->first : (uint32_t)nf.segi;
		nf.obj = obj;
		nf.index = (int)arr->u.a.n;
		nf.seq = nf.index + 1;
		nw = b->nwhere > 0 ? apply_where(ev, &nf, b) : 0;
		run_block(ev, &nf, b, depth + 1);
		if (obj_nonempty(obj, nw))
			array_put(ev, arr, obj, first);
	}
	/* An array left empty by every instance is not kept. */
	if (arr->u.a.n == 0 &&
	    (parent = target_parent(ev, fr, &b->tgt)) != NULL &&
	    (arr = mdoc_member(parent, b->tgt.name[b->tgt.nname - 1])) !=
	    NULL && arr->kind == MDOC_ARR && arr->u.a.n == 0) {
		mdoc_del(parent, b->tgt.name[b->tgt.nname - 1]);
		ev->dirty = 1;	/* its parents may be empty now */
	}
	return 1;
}

static int
group_idx(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int depth)
{
	return group_idx_at(ev, fr, s, depth, NULL);
}

/*
 * A group statement.  Inline by hand: run_gshare and run_group_q call it
 * too, and out of line from run_block it cost more than the qualifiers
 * they save (1.2M instructions on the 2 MB X12 file).
 */
static inline ALWAYS_INLINE void
run_group(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int depth)
{
	const struct map_block *b = &s->u.b;
	struct ilist	 il;
	struct frame	 nf;
	struct margs	 ma;
	size_t		 i, best;
	long		 nbest;
	struct mdoc	*obj, *parent, *arr;
	int		 nw;

	ev->xat = NULL;
	if (b->when != NULL && eval_cond(ev, fr, b->when, 0) != C_TRUE)
		return;
	if (ev->xml) {
		run_xgroup(ev, fr, s, depth);
		return;
	}
	if (b->sel == NULL)
		return;
	if (sel_none(ev, fr, b->sel))
		memset(&il, 0, sizeof(il));
	else if (group_idx(ev, fr, s, depth))
		return;
	else
		select_inst(ev, fr, b, &il);
	if (il.n == 0) {
		group_req(ev, fr, s);
		return;
	}
	memset(&nf, 0, sizeof(nf));
	nf.up = fr;
	nf.tgt = b->within ? NULL : &b->tgt;
	nf.index = -1;
	if (b->within || !b->tgt.array) {
		/* One instance: the first of the best rank. */
		for (best = 0, i = 1; i < il.n; i++)
			if (il.v[i].rank < il.v[best].rank)
				best = i;
		for (nbest = 0, i = 0; i < il.n; i++)
			if (il.v[i].rank == il.v[best].rank)
				nbest++;
		if (nbest > 1) {
			char first[16], others[80];
			size_t o = 0;
			int shown = 0;

			snprintf(first, sizeof(first), "%u",
			    il.v[best].first < ev->set->nseg ?
			    ev->set->seg[il.v[best].first].filepos : 0);
			others[0] = '\0';
			for (i = 0; i < il.n && shown < MAP_MAX_MULTI_LIST &&
			    o < sizeof(others) - 16; i++) {
				if (i == best || il.v[i].rank != il.v[best].rank ||
				    il.v[i].first >= ev->set->nseg)
					continue;
				o += (size_t)snprintf(others + o,
				    sizeof(others) - o, "%s%u", shown ? ", " : "",
				    ev->set->seg[il.v[i].first].filepos);
				shown++;
			}
			memset(&ma, 0, sizeof(ma));
			ma.n = nbest;
			ma.first = first;
			ma.others = others;
			emit(ev, b->unique ? DIAG_ERROR : DIAG_WARNING,
			    "MAP-MULTI", s, fr, b->within ? NULL : &b->tgt,
			    -1, b->seltext, il.v[best].first < ev->set->nseg ?
			    &ev->set->seg[il.v[best].first] : NULL, 0, 0, NULL,
			    b->unique ? MD_MULTI_UNIQUE : MD_MULTI, &ma);
		}
		nf.loop = il.v[best].loop;
		nf.segi = il.v[best].loop != NULL ? -1 : il.v[best].segi;
		nf.sx = inst_sidx(ev, &il.v[best]);
		nf.seq = fr->seq;
		run_obj_inst(ev, fr, &nf, b, depth);
		return;
	}
	/* Array group: every instance in document order. */
	for (i = 0; i < il.n && !ev->limit; i++) {
		arr = target_array(ev, fr, &b->tgt);
		if (arr == NULL)
			return;
		if ((obj = new_node(ev, MDOC_OBJ)) == NULL)
			return;
		nf.loop = il.v[i].loop;
		nf.segi = il.v[i].loop != NULL ? -1 : il.v[i].segi;
		nf.sx = inst_sidx(ev, &il.v[i]);
		nf.obj = obj;
		nf.index = (int)arr->u.a.n;
		nf.seq = nf.index + 1;
		nw = b->nwhere > 0 ? apply_where(ev, &nf, b) : 0;
		run_block(ev, &nf, b, depth + 1);
		if (obj_nonempty(obj, nw))
			array_put(ev, arr, obj, il.v[i].first);
	}
	/* An array left empty by every instance is not kept. */
	if ((parent = target_parent(ev, fr, &b->tgt)) != NULL &&
	    (arr = mdoc_member(parent, b->tgt.name[b->tgt.nname - 1])) !=
	    NULL && arr->kind == MDOC_ARR && arr->u.a.n == 0) {
		mdoc_del(parent, b->tgt.name[b->tgt.nname - 1]);
		ev->dirty = 1;	/* its parents may be empty now */
	}
}

/*
 * run_group for a group of a run (run_gshare), whose selector is of
 * group_idx's shape and has no `when`: qk, the keys of the qualifiers
 * of the instances, rank them.  What group_idx leaves (MAP-MULTI) is
 * run_group's.
 */
static NOINLINE void
run_group_q(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int depth, const uint64_t *qk)
{
	/* No ev->xat to clear: run_gshare leaves XML to run_group. */
	if (sel_none(ev, fr, s->u.b.sel)) {
		group_req(ev, fr, s);
		return;
	}
	if (group_idx_at(ev, fr, s, depth, qk))
		return;
	run_group(ev, fr, s, depth);
}

/*
 * Whether no instance of qk's (nk keys) passes a group's filter atom a:
 * no key is one of its codes (qk_rank -1 for all), and none needs
 * filter_rank1.  The group then selects nothing, in run_group_q's way
 * and in run_group's: only its requirement is left (the buyer and the
 * seller of an 850 that names a ship-to and a bill-to).
 */
static inline int
gshare_none(const struct map_atom *a, const uint64_t *qk, int nk)
{
	int	 j, c;

	for (j = 0; j < nk; j++) {
		if (qk[j] == QK_SLOW)
			return 0;
		for (c = 0; c < a->ncode; c++)
			if (a->ck[c] == qk[j])
				return 0;
	}
	return 1;
}

/* Instances a run of groups ranks by keys read once (run_gshare). */
#define GSHARE_MAX	64

/*
 * A run of groups that select instances of one tag by one qualifier
 * element (MS_GSHARE, map_compile.c share_runs: the parties from
 * N1[N101=BY], N1[N101=ST], ...): each instance's qualifier is read
 * once, and each group ranks the instances by its key rather than
 * reading it again.  The groups run one after the other as run_block
 * runs them.  A frame of another kind, too many instances, or a trace
 * (so that `map run --trace` shows the path every group takes alone):
 * each group runs alone.
 */
static NOINLINE void
run_gshare(struct ev *ev, struct frame *fr, const struct map_stmt *sh,
    int depth)
{
	struct map_stmt *const *m = sh->u.b.body;
	const int	 n = sh->u.b.nbody;
	const struct map_step *st = &m[0]->u.b.sel->seg;
	uint64_t	 qk[GSHARE_MAX];
	struct sidx	*x;
	uint32_t	 k;
	int		 i, nk = 0;

	if (ev->xml || ev->tracing || fr->segi >= 0 || fr->loop == NULL ||
	    (x = fr->sx) == NULL)
		goto each;
	for (k = sidx_first(x, st); k != SIDX_END; k = x->it[k].next) {
		if (nk == GSHARE_MAX)
			goto each;
		qk[nk++] = qual_key(&ev->set->seg[x->it[k].seg],
		    &st->f.atom[0]);
	}
	for (i = 0; i < n && !ev->limit; i++) {
		ev->cur = m[i];
		if (gshare_none(&m[i]->u.b.sel->seg.f.atom[0], qk, nk))
			group_req(ev, fr, m[i]);
		else
			run_group_q(ev, fr, m[i], depth, qk);
	}
	return;
each:
	for (i = 0; i < n && !ev->limit; i++) {
		ev->cur = m[i];
		run_group(ev, fr, m[i], depth);
	}
}

/* One statement of a block's rbody, of kind kind (ev->cur is s). */
static inline ALWAYS_INLINE void
run_stmt(struct ev *ev, struct frame *fr, const struct map_stmt *s,
    int kind, int depth)
{
	switch (kind) {
	case MS_RULE:
		run_rule(ev, fr, s);
		break;
	case MS_GROUP:
	case MS_WITHIN:
		run_group(ev, fr, s, depth);
		break;
	case MS_SHARE:
		run_share(ev, fr, s);
		break;
	case MS_GSHARE:
		run_gshare(ev, fr, s, depth);
		break;
	case MS_LITSIB:
		s = s->u.b.body[0];
		ev->cur = s;
		if (ev->tracing || !run_lit_sib(ev, fr, s))
			run_rule(ev, fr, s);
		break;
	default:
		break;
	}
}

/*
 * run_block's statements of a block without its table (map_rstmt: out
 * of memory when linked): each as run_block runs it, an MS_SKIP's
 * statement whatever its tag (it would have nothing to do).
 */
static NOINLINE void
run_block_slow(struct ev *ev, struct frame *fr, const struct map_block *b,
    int depth)
{
	const struct map_stmt *s;
	int	 i;

	for (i = 0; i < b->nrbody && !ev->limit; i++) {
		s = b->rbody[i];
		if (s->kind == MS_SKIP)
			s = s->u.b.body[0];
		ev->cur = s;
		run_stmt(ev, fr, s, s->kind, depth);
	}
}

static void
run_block(struct ev *ev, struct frame *fr, const struct map_block *b,
    int depth)
{
	/* Kept here: the compiler cannot tell that writes through ev spare b. */
	const struct map_rstmt *rs = b->rs;
	int	 i, n, nbody = b->nrbody;

	if (depth > (int)EG_MAX_MAP_DEPTH + 2)
		return;
	if (rs == NULL) {
		run_block_slow(ev, fr, b, depth);
		goto checks;
	}
	for (i = 0; i < nbody && !ev->limit; i++) {
		const struct map_stmt *s = rs[i].s;
		const struct sidx *x;

		/*
		 * The tag an MS_SKIP reads is not in the instance: nothing
		 * to do, unless someone traces (each statement shows).
		 */
		if (rs[i].skip && (x = fr->sx) != NULL &&
		    x->first[rs[i].skiptid] == SIDX_END && !ev->tracing)
			continue;
		ev->cur = s;
		run_stmt(ev, fr, s, rs[i].kind, depth);
	}
checks:
	/* Checks run after the rules of their block. */
	for (i = b->check0, n = 0; n < b->nchecks && i < b->nbody &&
	    !ev->limit; i++)
		if (b->body[i]->kind == MS_CHECK) {
			ev->cur = b->body[i];
			if (!b->body[i]->u.c.cond->quick || ev->tracing ||
			    !check_quick(ev, fr, b->body[i]->u.c.cond))
				run_check(ev, fr, b->body[i]);
			n++;
		}
}

/*
 * XML: the XPath context (the map's prefixes registered, errors kept
 * quiet and turned into diagnostics) and the top frame's node: the
 * `scope`, else the root element.  0, or an EG_ERR_* code.
 */
static int
xml_begin(struct ev *ev, struct frame *top)
{
	const struct map *m = ev->m;
	xmlDocPtr	 doc = ev->set->xml;
	xmlXPathObjectPtr r;
	struct diag	 d;
	int		 i;

	ev->xml = 1;
	if ((ev->xctx = xmlXPathNewContext(doc)) == NULL)
		return EG_ERR_NOMEM;
	ev->xctx->error = xp_error;
	ev->xctx->userData = ev;
	for (i = 0; i < m->nns; i++)
		if (xmlXPathRegisterNs(ev->xctx,
		    (const xmlChar *)m->ns[i].prefix,
		    (const xmlChar *)m->ns[i].uri) != 0)
			return EG_ERR_NOMEM;
	top->xn = xmlDocGetRootElement(doc);
	if (m->scopec == NULL || top->xn == NULL)
		return top->xn != NULL ? 0 : EG_ERR_INVAL;
	if ((r = xp_run(ev, top, NULL, m->scopec, m->scope)) == NULL)
		return 0;		/* reported */
	if (r->type == XPATH_NODESET && r->nodesetval != NULL &&
	    r->nodesetval->nodeNr > 0 &&
	    r->nodesetval->nodeTab[0]->type == XML_ELEMENT_NODE) {
		top->xn = r->nodesetval->nodeTab[0];
		xmlXPathFreeObject(r);
		return 0;
	}
	xmlXPathFreeObject(r);
	/* The map cannot apply: its scope is not in the document. */
	diag_init(&d, DIAG_ERROR, "MAP-REQ");
	xml_pos(top->xn, &d);
	snprintf(d.rule, sizeof(d.rule), "%s:%d", m->name, m->scopelc &
	    ((1 << 20) - 1));
	snprintf(d.source, sizeof(d.source), "%s", m->scope);
	diag_msg(&d, "the document has no %s (the map's scope)", m->scope);
	diag_emitv(ev, &d);
	return 0;
}

int
map_eval(const struct map *m, const struct edi_set *set,
    const struct map_env *env, struct mdoc **doc, struct diag_sink *ds)
{
	struct ev	 ev;
	struct frame	 top;
	int		 rv = 0;

	*doc = NULL;
	if (m == NULL || set == NULL)
		return EG_ERR_INVAL;
	if (m->dir == MAP_DIR_OUT)
		return EG_ERR_UNSUPPORTED;
	if (m->xml ? set->env.syntax != EDI_XML || set->xml == NULL ||
	    set->arena == NULL : set->nseg == 0 || set->root == NULL ||
	    set->arena == NULL)
		return EG_ERR_INVAL;
	/* All but the pairs cache, a few KB, empty while pc.seg is NULL. */
	memset(&ev, 0, offsetof(struct ev, pc));
	ev.pc.seg = NULL;
	ev.m = m;
	ev.set = set;
	ev.env = env;
	ev.ds = ds;
	ev.a = set->arena;
	if (set->plain) {
		ev.plo = set->raw.p;
		ev.plen = set->raw.len;
		ev.allin = set->env.syntax == EDI_X12 && set->segs_in_raw;
	}
	ev.tracing = env != NULL && env->trace != NULL;
	ev.tags = (m->owner != NULL ? m->owner : m)->tags;
	ev.tagmask = (m->owner != NULL ? m->owner : m)->tagmask;
	ev.ntags = (m->owner != NULL ? m->owner : m)->ntags;
	mdoc_pool_init(&ev.mp, ev.a);
	if ((ev.root = mdoc_new(&ev.mp, MDOC_OBJ)) == NULL)
		return EG_ERR_LIMIT;
	memset(&top, 0, sizeof(top));
	top.loop = set->root;
	top.segi = -1;
	top.obj = ev.root;
	top.seq = 1;
	top.index = -1;
	if (m->xml && (rv = xml_begin(&ev, &top)) != 0)
		goto out;
	if (ev.nerr == 0)
		run_block(&ev, &top, &m->root, 0);
	if (ev.limit) {
		rv = EG_ERR_LIMIT;
		goto out;
	}
	/* Empty objects and arrays left by intermediate targets. */
	if (ev.dirty)
		mdoc_prune(ev.root, 0);
	if (ev.nerr > 0) {
		rv = EG_ERR_REJECTED;
		goto out;
	}
	*doc = ev.root;
out:
	if (ev.xctx != NULL)
		xmlXPathFreeContext(ev.xctx);
	return rv;
}
