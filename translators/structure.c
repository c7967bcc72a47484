/*
 * structure.c: loading structure files (MAPS.md §2) and choosing a variant
 * per document.  Owns the parsed, immutable struct structure and its
 * variants; never touches partner data.  Errors are "file:line:col:
 * message", written to the caller's buffer.
 *
 * Decisions beyond MAPS.md:
 *  - elem[] is kept sorted by (tag, el, comp) so that lookups (and the tree
 *    validator, which walks one segment's range) can binary-search it.
 *  - A loop whose first line is not `segment TRIGGER ...` gets an implicit
 *    trigger entry `segment TRIGGER 1` (the 856 example's `loop HL`).
 *  - A bare `*` as a count means 0..unbounded; `MAX` 0 is refused.
 *  - In a variant, a loop block replaces the base's loop with that trigger
 *    wherever it is nested; top-level `segment` lines in a variant replace
 *    the base's whole segment table.  `element` replaces by (tag, el,
 *    comp); `syntax`, `pairs` and `hierarchy` replace every base line of
 *    the same segment tag.  Variants extend the base only (no chains).
 *  - Element types: X12 AN ID N0..N9 R DT TM, EDIFACT AN A N; `N` in an X12
 *    structure means N0; `C` is a composite.  Requirement M, O, X; EDIFACT
 *    C (conditional) is read as O.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eglimits.h"
#include "err.h"
#include "structure.h"
#include "xmalloc.h"

#define MAXWORDS	64

struct sword {
	const char	*p;
	size_t		 len;
	int		 col;
};

struct sparse {
	const char	*file;
	int		 line;
	char		*err;
	size_t		 errlen;
	struct structure *st;
	struct struct_loop *cur;
	int		 depth;
	char		*extends;
	int		 has_toplevel_segment;
	int		 seen_structure;
	size_t		 elemcap, pairscap, hiercap, syncap, vercap;
	/*
	 * elem[] by (tag, el, comp), so that a duplicate `element` line is
	 * found without comparing it with every earlier one: open
	 * addressing, 1 + elem index, at most half full.
	 */
	uint32_t	*eslot;
	unsigned	 ebits;
};

static int __attribute__((format(printf, 3, 4)))
serr(struct sparse *sp, int col, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sp->err && sp->errlen)
		snprintf(sp->err, sp->errlen, "%s:%d:%d: %s", sp->file,
		    sp->line, col, msg);
	return EG_ERR_SYNTAX;
}

static int
weq(const struct sword *w, const char *s)
{
	return w->len == strlen(s) && memcmp(w->p, s, w->len) == 0;
}

/* Unsigned decimal, at most 9 digits. */
static int
wnum(const struct sword *w, unsigned *out)
{
	unsigned v = 0;
	size_t	 i;

	if (w->len == 0 || w->len > 9)
		return -1;
	for (i = 0; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(w->p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
valid_tag(const char *p, size_t len)
{
	size_t	 i;

	if (len < 2 || len > EG_MAX_TAG_LEN)
		return 0;
	if (!(p[0] >= 'A' && p[0] <= 'Z'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
			return 0;
	return 1;
}

static int
wtag(struct sparse *sp, const struct sword *w, char tag[4])
{
	if (!valid_tag(w->p, w->len))
		return serr(sp, w->col, "\"%.*s\" is not a segment tag "
		    "(2-3 uppercase letters or digits)", (int)w->len, w->p);
	memcpy(tag, w->p, w->len);
	tag[w->len] = '\0';
	return 0;
}

/* "MIN..MAX", "N", "MIN..*", "*" */
static int
wrange(struct sparse *sp, const struct sword *w, unsigned *min, unsigned *max)
{
	const char *dots;
	struct sword a, b;

	if (weq(w, "*")) {
		*min = 0;
		*max = 0;
		return 0;
	}
	dots = memchr(w->p, '.', w->len);
	if (dots == NULL) {
		if (wnum(w, min) != 0 || *min == 0)
			return serr(sp, w->col, "bad count \"%.*s\" (MIN..MAX, "
			    "N or *)", (int)w->len, w->p);
		*max = *min;
		return 0;
	}
	a.p = w->p;
	a.len = (size_t)(dots - w->p);
	a.col = w->col;
	if ((size_t)(dots - w->p) + 2 > w->len || dots[1] != '.')
		return serr(sp, w->col, "bad count \"%.*s\" (MIN..MAX)",
		    (int)w->len, w->p);
	b.p = dots + 2;
	b.len = w->len - a.len - 2;
	b.col = w->col + (int)a.len + 2;
	if (wnum(&a, min) != 0)
		return serr(sp, a.col, "bad minimum \"%.*s\"", (int)a.len, a.p);
	if (weq(&b, "*")) {
		*max = 0;
		return 0;
	}
	if (wnum(&b, max) != 0)
		return serr(sp, b.col, "bad maximum \"%.*s\"", (int)b.len, b.p);
	if (*max == 0)
		return serr(sp, b.col, "maximum must be at least 1 (use * for "
		    "unbounded)");
	if (*max < *min)
		return serr(sp, w->col, "maximum %u is below minimum %u", *max,
		    *min);
	return 0;
}

/* "TAGnn" or "TAGnn-cc" */
static int
welemid(struct sparse *sp, const struct sword *w, char tag[4], int *el,
    int *comp)
{
	const char *dash = memchr(w->p, '-', w->len);
	size_t	 base = dash ? (size_t)(dash - w->p) : w->len;
	size_t	 i;

	*comp = 0;
	if (base < 4 || base > EG_MAX_TAG_LEN + 2)
		goto bad;
	for (i = base - 2; i < base; i++)
		if (w->p[i] < '0' || w->p[i] > '9')
			goto bad;
	if (!valid_tag(w->p, base - 2))
		goto bad;
	memcpy(tag, w->p, base - 2);
	tag[base - 2] = '\0';
	*el = (w->p[base - 2] - '0') * 10 + (w->p[base - 1] - '0');
	if (*el == 0)
		goto bad;
	if (dash) {
		if (w->len - base != 3 || dash[1] < '0' || dash[1] > '9' ||
		    dash[2] < '0' || dash[2] > '9')
			goto bad;
		*comp = (dash[1] - '0') * 10 + (dash[2] - '0');
		if (*comp == 0)
			goto bad;
	}
	return 0;
 bad:
	return serr(sp, w->col, "\"%.*s\" is not an element id (TAGnn or "
	    "TAGnn-cc)", (int)w->len, w->p);
}

static struct struct_entry *
loop_add(struct struct_loop *l)
{
	l->ent = xreallocarray(l->ent, l->nent + 1, sizeof(*l->ent));
	memset(&l->ent[l->nent], 0, sizeof(*l->ent));
	return &l->ent[l->nent++];
}

static void
loop_free(struct struct_loop *l)
{
	size_t	 i;

	for (i = 0; i < l->nent; i++)
		if (l->ent[i].is_loop && l->ent[i].loop) {
			loop_free(l->ent[i].loop);
			free(l->ent[i].loop);
		}
	free(l->ent);
	l->ent = NULL;
	l->nent = 0;
}

static int
st_segment(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_entry *e;
	char	 tag[4];
	unsigned min, max;

	if (nw != 3)
		return serr(sp, w[0].col, "usage: segment TAG MIN..MAX");
	if (wtag(sp, &w[1], tag) || wrange(sp, &w[2], &min, &max))
		return EG_ERR_SYNTAX;
	if (sp->cur == &sp->st->root)
		sp->has_toplevel_segment = 1;
	if (sp->cur != &sp->st->root && sp->cur->nent == 0 &&
	    strcmp(tag, sp->cur->tag) != 0) {
		/* implicit trigger entry */
		e = loop_add(sp->cur);
		memcpy(e->tag, sp->cur->tag, sizeof(e->tag));
		e->min = e->max = 1;
	}
	e = loop_add(sp->cur);
	memcpy(e->tag, tag, sizeof(tag));
	e->min = min;
	e->max = max;
	return 0;
}

static int
st_loop(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_entry *e;
	struct struct_loop *l;
	char	 tag[4];
	unsigned min, max;

	if (nw != 3)
		return serr(sp, w[0].col, "usage: loop TAG MIN..MAX");
	if (wtag(sp, &w[1], tag) || wrange(sp, &w[2], &min, &max))
		return EG_ERR_SYNTAX;
	if (sp->depth + 1 >= (int)EG_MAX_LOOP_DEPTH)
		return serr(sp, w[0].col, "loops nested deeper than %u",
		    EG_MAX_LOOP_DEPTH);
	if (sp->cur != &sp->st->root && sp->cur->nent == 0) {
		e = loop_add(sp->cur);
		memcpy(e->tag, sp->cur->tag, sizeof(e->tag));
		e->min = e->max = 1;
	}
	l = xcalloc(1, sizeof(*l));
	memcpy(l->tag, tag, sizeof(tag));
	l->min = min;
	l->max = max;
	l->parent = sp->cur;
	l->line = sp->line;
	e = loop_add(sp->cur);
	e->is_loop = 1;
	memcpy(e->tag, tag, sizeof(tag));
	e->min = min;
	e->max = max;
	e->loop = l;
	sp->cur = l;
	sp->depth++;
	return 0;
}

static int
st_end(struct sparse *sp, struct sword *w, int nw)
{
	if (nw != 1)
		return serr(sp, w[1].col, "unexpected \"%.*s\" after end",
		    (int)w[1].len, w[1].p);
	if (sp->cur == &sp->st->root)
		return serr(sp, w[0].col, "end without loop");
	if (sp->cur->nent == 0) {
		struct struct_entry *e = loop_add(sp->cur);
		memcpy(e->tag, sp->cur->tag, sizeof(e->tag));
		e->min = e->max = 1;
	}
	sp->cur = sp->cur->parent;
	sp->depth--;
	return 0;
}

static int
parse_type(struct sparse *sp, const struct sword *w, struct struct_elem *e)
{
	int	 edifact = sp->st->syntax == EDI_EDIFACT;

	e->decimals = 0;
	if (weq(w, "AN"))
		e->type = ST_AN;
	else if (weq(w, "A") && edifact)
		e->type = ST_A;
	else if (weq(w, "N") && edifact)
		e->type = ST_N;
	else if (weq(w, "N") || (w->len == 2 && w->p[0] == 'N' &&
	    w->p[1] >= '0' && w->p[1] <= '9')) {
		e->type = ST_NN;
		e->decimals = w->len == 2 ? w->p[1] - '0' : 0;
	} else if (weq(w, "ID"))
		e->type = ST_ID;
	else if (weq(w, "R"))
		e->type = ST_R;
	else if (weq(w, "DT"))
		e->type = ST_DT;
	else if (weq(w, "TM"))
		e->type = ST_TM;
	else if (weq(w, "C"))
		e->type = ST_COMPOSITE;
	else
		return serr(sp, w->col, "unknown element type \"%.*s\"",
		    (int)w->len, w->p);
	return 0;
}

static int
parse_req(struct sparse *sp, const struct sword *w, enum struct_req *r)
{
	if (weq(w, "M"))
		*r = SR_MANDATORY;
	else if (weq(w, "O") || weq(w, "C"))
		*r = SR_OPTIONAL;
	else if (weq(w, "X"))
		*r = SR_CONDITIONAL;
	else
		return serr(sp, w->col, "requirement must be M, O or X, not "
		    "\"%.*s\"", (int)w->len, w->p);
	return 0;
}

static int
elem_cmp(const void *a, const void *b)
{
	const struct struct_elem *x = a, *y = b;
	int	 c;

	if ((c = strcmp(x->tag, y->tag)) != 0)
		return c;
	if (x->el != y->el)
		return x->el < y->el ? -1 : 1;
	if (x->comp != y->comp)
		return x->comp < y->comp ? -1 : 1;
	return 0;
}

/*
 * Sort elem[] in elem_cmp's order, comparing integers instead of calling
 * strcmp through qsort's comparator.  The key holds the tag's bytes as
 * strcmp compares them (zero past its end), el and comp (at most 99),
 * and the element's index in the low 24 bits, which makes keys unique
 * (as (tag, el, comp) already are in a structure) and says where each
 * element goes.
 */
#define ELEM_SORTMAX	((size_t)1 << 24)

static int
sortkey_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
elem_sort(struct struct_elem *elem, size_t n)
{
	struct struct_elem *tmp;
	uint64_t *key, k;
	const unsigned char *t;
	size_t	 i;

	if (n < 2)
		return;
	if (n >= ELEM_SORTMAX) {
		qsort(elem, n, sizeof(*elem), elem_cmp);
		return;
	}
	key = xreallocarray(NULL, n, sizeof(*key));
	for (i = 0; i < n; i++) {
		t = (const unsigned char *)elem[i].tag;
		k = (uint64_t)t[0] << 16;
		if (t[0] != '\0' && t[1] != '\0')
			k |= (uint64_t)t[1] << 8 | t[2];
		k = k << 16 | (uint64_t)(elem[i].el & 0xff) << 8 |
		    (uint64_t)(elem[i].comp & 0xff);
		key[i] = k << 24 | i;
	}
	qsort(key, n, sizeof(*key), sortkey_cmp);
	tmp = xreallocarray(NULL, n, sizeof(*tmp));
	for (i = 0; i < n; i++)
		tmp[i] = elem[key[i] & (ELEM_SORTMAX - 1)];
	memcpy(elem, tmp, n * sizeof(*elem));
	free(tmp);
	free(key);
}

/* (tag, el, comp) as one integer: tag key, then 7 bits each (1..99). */
static uint64_t
elem_key(const struct struct_elem *e)
{
	return structure_tagkey(e->tag) | (uint64_t)e->el << 24 |
	    (uint64_t)e->comp << 31;
}

static uint32_t
elem_slot0(uint64_t key, unsigned bits)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

/* The element already declared with e's (tag, el, comp), or NULL. */
static struct struct_elem *
elem_find(struct sparse *sp, const struct struct_elem *e)
{
	uint64_t key;
	uint32_t j, mask;

	if (sp->eslot == NULL)
		return NULL;
	key = elem_key(e);
	mask = (1U << sp->ebits) - 1;
	for (j = elem_slot0(key, sp->ebits); sp->eslot[j] != 0;
	    j = (j + 1) & mask)
		if (elem_key(&sp->st->elem[sp->eslot[j] - 1]) == key)
			return &sp->st->elem[sp->eslot[j] - 1];
	return NULL;
}

static void
elem_put(struct sparse *sp, size_t i)
{
	uint32_t j, mask = (1U << sp->ebits) - 1;

	for (j = elem_slot0(elem_key(&sp->st->elem[i]), sp->ebits);
	    sp->eslot[j] != 0; j = (j + 1) & mask)
		;
	sp->eslot[j] = (uint32_t)(i + 1);
}

/* Record elem[i], growing the table first to stay at most half full. */
static void
elem_insert(struct sparse *sp, size_t i)
{
	size_t	 k;

	if (sp->eslot == NULL || 2 * (i + 1) > (1UL << sp->ebits)) {
		free(sp->eslot);
		sp->ebits = sp->ebits ? sp->ebits + 1 : 8;
		sp->eslot = xcalloc((size_t)1 << sp->ebits,
		    sizeof(*sp->eslot));
		for (k = 0; k < i; k++)
			elem_put(sp, k);
	}
	elem_put(sp, i);
}

static int
st_element(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_elem e, *dup;
	int	 i, k;
	size_t	 j;

	memset(&e, 0, sizeof(e));
	if (nw < 3)
		return serr(sp, w[0].col, "usage: element ID TYPE MIN MAX M|O|X "
		    "[rep N] [codes C...]");
	if (welemid(sp, &w[1], e.tag, &e.el, &e.comp) ||
	    parse_type(sp, &w[2], &e))
		return EG_ERR_SYNTAX;
	if (e.type == ST_COMPOSITE) {
		if (e.comp != 0)
			return serr(sp, w[1].col, "a component cannot be a "
			    "composite");
		if (nw < 4)
			return serr(sp, w[0].col, "usage: element ID C M|O|X "
			    "[rep N]");
		if (parse_req(sp, &w[3], &e.req))
			return EG_ERR_SYNTAX;
		k = 4;
	} else {
		if (nw < 6)
			return serr(sp, nw > 3 ? w[nw - 1].col + (int)w[nw - 1].len
			    : w[2].col, "usage: element ID TYPE MIN MAX M|O|X");
		if (wnum(&w[3], &e.min) != 0)
			return serr(sp, w[3].col, "bad minimum length \"%.*s\"",
			    (int)w[3].len, w[3].p);
		if (wnum(&w[4], &e.max) != 0 || e.max == 0)
			return serr(sp, w[4].col, "bad maximum length \"%.*s\"",
			    (int)w[4].len, w[4].p);
		if (e.max < e.min)
			return serr(sp, w[4].col, "maximum length %u is below "
			    "minimum %u", e.max, e.min);
		if (parse_req(sp, &w[5], &e.req))
			return EG_ERR_SYNTAX;
		k = 6;
	}
	e.rep = 1;
	e.line = sp->line;
	while (k < nw) {
		if (weq(&w[k], "rep")) {
			if (k + 1 >= nw)
				return serr(sp, w[k].col, "rep needs a number");
			if (weq(&w[k + 1], "*"))
				e.rep = EG_MAX_REPEATS;
			else if (wnum(&w[k + 1], &e.rep) != 0 || e.rep == 0)
				return serr(sp, w[k + 1].col, "bad repeat "
				    "count \"%.*s\"", (int)w[k + 1].len,
				    w[k + 1].p);
			k += 2;
		} else if (weq(&w[k], "codes")) {
			if (e.type == ST_COMPOSITE)
				return serr(sp, w[k].col, "a composite has no "
				    "codes");
			if (k + 1 >= nw)
				return serr(sp, w[k].col, "codes needs values");
			e.ncodes = (size_t)(nw - k - 1);
			e.codes = xcalloc(e.ncodes, sizeof(*e.codes));
			for (i = k + 1; i < nw; i++)
				e.codes[i - k - 1] = xstrndup(w[i].p, w[i].len);
			k = nw;
		} else
			return serr(sp, w[k].col, "unexpected \"%.*s\" (rep N "
			    "or codes ...)", (int)w[k].len, w[k].p);
	}
	if ((dup = elem_find(sp, &e)) != NULL) {
		for (j = 0; j < e.ncodes; j++)
			free(e.codes[j]);
		free(e.codes);
		return serr(sp, w[1].col, "element %.*s already "
		    "defined at line %d", (int)w[1].len, w[1].p,
		    dup->line);
	}
	if (sp->st->nelem == sp->elemcap) {
		sp->elemcap = sp->elemcap ? sp->elemcap * 2 : 64;
		sp->st->elem = xreallocarray(sp->st->elem, sp->elemcap,
		    sizeof(e));
	}
	sp->st->elem[sp->st->nelem++] = e;
	elem_insert(sp, sp->st->nelem - 1);
	return 0;
}

static int
st_syntax(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_syntax s;
	char	 tag[4];
	int	 i;
	size_t	 k;

	if (nw < 3)
		return serr(sp, w[0].col, "usage: syntax TAG NOTE...");
	if (wtag(sp, &w[1], tag))
		return EG_ERR_SYNTAX;
	for (i = 2; i < nw; i++) {
		memset(&s, 0, sizeof(s));
		memcpy(s.tag, tag, sizeof(tag));
		s.line = sp->line;
		s.kind = w[i].p[0];
		if (strchr("PRECL", s.kind) == NULL || w[i].len < 5 ||
		    (w[i].len - 1) % 2 != 0 ||
		    (w[i].len - 1) / 2 > sizeof(s.el) / sizeof(s.el[0]))
			return serr(sp, w[i].col, "bad syntax note \"%.*s\" "
			    "(P, R, E, C or L and two or more 2-digit "
			    "positions)", (int)w[i].len, w[i].p);
		for (k = 1; k < w[i].len; k += 2) {
			if (w[i].p[k] < '0' || w[i].p[k] > '9' ||
			    w[i].p[k + 1] < '0' || w[i].p[k + 1] > '9')
				return serr(sp, w[i].col + (int)k, "bad position "
				    "in syntax note \"%.*s\"", (int)w[i].len,
				    w[i].p);
			s.el[s.nel] = (w[i].p[k] - '0') * 10 +
			    (w[i].p[k + 1] - '0');
			if (s.el[s.nel] == 0)
				return serr(sp, w[i].col + (int)k, "position 00 "
				    "in syntax note");
			s.nel++;
		}
		if (s.kind == 'L' && s.nel < 3)
			return serr(sp, w[i].col, "an L note needs at least "
			    "three positions");
		if (sp->st->nsyn == sp->syncap) {
			sp->syncap = sp->syncap ? sp->syncap * 2 : 32;
			sp->st->syn = xreallocarray(sp->st->syn, sp->syncap,
			    sizeof(s));
		}
		sp->st->syn[sp->st->nsyn++] = s;
	}
	return 0;
}

/* "NN" or "-NN" two-digit position */
static int
wpos(const char *p, size_t len, int *out)
{
	if (len != 2 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	*out = (p[0] - '0') * 10 + (p[1] - '0');
	return *out ? 0 : -1;
}

static int
st_pairs(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_pairs pr;
	const char *dots;
	size_t	 j;
	int	 i;

	memset(&pr, 0, sizeof(pr));
	if (nw < 4)
		return serr(sp, w[0].col, "usage: pairs TAG FROM..TO "
		    "qualifier=first|second | value=-NN qualifier=-NN");
	if (wtag(sp, &w[1], pr.tag))
		return EG_ERR_SYNTAX;
	dots = memchr(w[2].p, '.', w[2].len);
	if (dots == NULL || wpos(w[2].p, (size_t)(dots - w[2].p), &pr.from) ||
	    (size_t)(dots - w[2].p) + 2 > w[2].len || dots[1] != '.' ||
	    wpos(dots + 2, w[2].len - (size_t)(dots - w[2].p) - 2, &pr.to) ||
	    pr.to < pr.from)
		return serr(sp, w[2].col, "bad position range \"%.*s\" (NN..NN)",
		    (int)w[2].len, w[2].p);
	for (i = 3; i < nw; i++) {
		if (weq(&w[i], "qualifier=first"))
			pr.qualifier_first = 1;
		else if (weq(&w[i], "qualifier=second"))
			pr.qualifier_first = 0;
		else if (w[i].len == 13 && memcmp(w[i].p, "qualifier=-", 11) == 0) {
			if (wpos(w[i].p + 11, 2, &pr.qualifier_comp))
				goto bad;
		} else if (w[i].len == 9 && memcmp(w[i].p, "value=-", 7) == 0) {
			if (wpos(w[i].p + 7, 2, &pr.value_comp))
				goto bad;
		} else
			goto bad;
		continue;
 bad:
		return serr(sp, w[i].col, "bad pairs option \"%.*s\"",
		    (int)w[i].len, w[i].p);
	}
	if ((pr.value_comp == 0) != (pr.qualifier_comp == 0))
		return serr(sp, w[3].col, "value=-NN and qualifier=-NN go "
		    "together");
	for (j = 0; j < sp->st->npairs; j++)
		if (strcmp(sp->st->pairs[j].tag, pr.tag) == 0)
			return serr(sp, w[1].col, "pairs for %s already "
			    "declared", pr.tag);
	if (sp->st->npairs == sp->pairscap) {
		sp->pairscap = sp->pairscap ? sp->pairscap * 2 : 8;
		sp->st->pairs = xreallocarray(sp->st->pairs, sp->pairscap,
		    sizeof(pr));
	}
	sp->st->pairs[sp->st->npairs++] = pr;
	return 0;
}

static int
st_hierarchy(struct sparse *sp, struct sword *w, int nw)
{
	struct struct_hier h;
	struct sword v;
	int	 i, *dst, comp;
	size_t	 j;
	char	 tag[4];

	memset(&h, 0, sizeof(h));
	if (nw < 4)
		return serr(sp, w[0].col, "usage: hierarchy TAG id=NN "
		    "parent=NN [level=NN] [children=NN] [count=ELEM]");
	if (wtag(sp, &w[1], h.tag))
		return EG_ERR_SYNTAX;
	for (i = 2; i < nw; i++) {
		const char *eq = memchr(w[i].p, '=', w[i].len);
		size_t	 klen = eq ? (size_t)(eq - w[i].p) : 0;

		if (eq == NULL)
			goto bad;
		v.p = eq + 1;
		v.len = w[i].len - klen - 1;
		v.col = w[i].col + (int)klen + 1;
		dst = NULL;
		if (klen == 2 && memcmp(w[i].p, "id", 2) == 0)
			dst = &h.id;
		else if (klen == 6 && memcmp(w[i].p, "parent", 6) == 0)
			dst = &h.parent;
		else if (klen == 5 && memcmp(w[i].p, "level", 5) == 0)
			dst = &h.level;
		else if (klen == 8 && memcmp(w[i].p, "children", 8) == 0)
			dst = &h.children;
		else if (klen == 5 && memcmp(w[i].p, "count", 5) == 0) {
			if (welemid(sp, &v, tag, &h.count_el, &comp))
				return EG_ERR_SYNTAX;
			memcpy(h.count_tag, tag, sizeof(tag));
			continue;
		} else
			goto bad;
		if (wpos(v.p, v.len, dst))
			return serr(sp, v.col, "bad position \"%.*s\" (NN)",
			    (int)v.len, v.p);
		continue;
 bad:
		return serr(sp, w[i].col, "bad hierarchy option \"%.*s\"",
		    (int)w[i].len, w[i].p);
	}
	if (h.id == 0 || h.parent == 0)
		return serr(sp, w[0].col, "hierarchy needs id=NN and parent=NN");
	for (j = 0; j < sp->st->nhier; j++)
		if (strcmp(sp->st->hier[j].tag, h.tag) == 0)
			return serr(sp, w[1].col, "hierarchy for %s already "
			    "declared", h.tag);
	if (sp->st->nhier == sp->hiercap) {
		sp->hiercap = sp->hiercap ? sp->hiercap * 2 : 4;
		sp->st->hier = xreallocarray(sp->st->hier, sp->hiercap,
		    sizeof(h));
	}
	sp->st->hier[sp->st->nhier++] = h;
	return 0;
}

static int
st_line(struct sparse *sp, struct sword *w, int nw)
{
	int	 i;

	if (weq(&w[0], "structure")) {
		if (sp->seen_structure)
			return serr(sp, w[0].col, "second structure line");
		if (nw != 3)
			return serr(sp, w[0].col, "usage: structure x12|edifact "
			    "DOCTYPE");
		if (weq(&w[1], "x12"))
			sp->st->syntax = EDI_X12;
		else if (weq(&w[1], "edifact"))
			sp->st->syntax = EDI_EDIFACT;
		else
			return serr(sp, w[1].col, "unknown syntax \"%.*s\" "
			    "(x12 or edifact)", (int)w[1].len, w[1].p);
		if (w[2].len == 0 || w[2].len >= sizeof(sp->st->doctype))
			return serr(sp, w[2].col, "bad document type");
		memcpy(sp->st->doctype, w[2].p, w[2].len);
		sp->st->doctype[w[2].len] = '\0';
		sp->seen_structure = 1;
		return 0;
	}
	if (!sp->seen_structure)
		return serr(sp, w[0].col, "the first statement must be "
		    "`structure x12|edifact DOCTYPE`");
	if (weq(&w[0], "version")) {
		if (nw < 2)
			return serr(sp, w[0].col, "version needs patterns");
		for (i = 1; i < nw; i++) {
			if (sp->st->nversions == sp->vercap) {
				sp->vercap = sp->vercap ? sp->vercap * 2 : 8;
				sp->st->versions = xreallocarray(sp->st->versions,
				    sp->vercap, sizeof(char *));
			}
			sp->st->versions[sp->st->nversions++] =
			    xstrndup(w[i].p, w[i].len);
		}
		return 0;
	}
	if (weq(&w[0], "extends")) {
		if (nw != 2)
			return serr(sp, w[0].col, "usage: extends FILE");
		if (sp->extends)
			return serr(sp, w[0].col, "second extends line");
		sp->extends = xstrndup(w[1].p, w[1].len);
		return 0;
	}
	if (weq(&w[0], "partner")) {
		if (nw != 2)
			return serr(sp, w[0].col, "usage: partner ID");
		if (sp->st->partner)
			return serr(sp, w[0].col, "second partner line");
		sp->st->partner = xstrndup(w[1].p, w[1].len);
		return 0;
	}
	if (weq(&w[0], "segment"))
		return st_segment(sp, w, nw);
	if (weq(&w[0], "loop"))
		return st_loop(sp, w, nw);
	if (weq(&w[0], "end"))
		return st_end(sp, w, nw);
	if (weq(&w[0], "element"))
		return st_element(sp, w, nw);
	if (weq(&w[0], "syntax"))
		return st_syntax(sp, w, nw);
	if (weq(&w[0], "pairs"))
		return st_pairs(sp, w, nw);
	if (weq(&w[0], "hierarchy"))
		return st_hierarchy(sp, w, nw);
	return serr(sp, w[0].col, "unknown statement \"%.*s\"", (int)w[0].len,
	    w[0].p);
}

static void
link_hier(struct struct_loop *l, const struct structure *st)
{
	size_t	 i, j;

	l->hier = NULL;
	for (j = 0; j < st->nhier; j++)
		if (l->tag[0] && strcmp(st->hier[j].tag, l->tag) == 0)
			l->hier = &st->hier[j];
	for (i = 0; i < l->nent; i++)
		if (l->ent[i].is_loop) {
			l->ent[i].loop->parent = l;
			link_hier(l->ent[i].loop, st);
		}
}

static int
parse_text(struct sparse *sp, const char *text, size_t len)
{
	struct sword w[MAXWORDS];
	const char *p = text, *e = text + len, *nl, *q, *le;
	int	 nw, rc;

	sp->cur = &sp->st->root;
	sp->line = 0;
	while (p < e) {
		sp->line++;
		nl = memchr(p, '\n', (size_t)(e - p));
		le = nl ? nl : e;
		if ((size_t)(le - p) > EG_MAX_MAP_LINE)
			return serr(sp, 1, "line longer than %u bytes",
			    EG_MAX_MAP_LINE);
		if (sp->line > (int)EG_MAX_STRUCT_LINES)
			return serr(sp, 1, "more than %u lines",
			    EG_MAX_STRUCT_LINES);
		if (le > p && le[-1] == '\r')
			le--;
		nw = 0;
		for (q = p; q < le;) {
			if (*q == ' ' || *q == '\t') {
				q++;
				continue;
			}
			if (*q == '#')
				break;
			if (nw == MAXWORDS)
				return serr(sp, (int)(q - p) + 1, "more than %d "
				    "words", MAXWORDS);
			w[nw].p = q;
			w[nw].col = (int)(q - p) + 1;
			while (q < le && *q != ' ' && *q != '\t')
				q++;
			w[nw].len = (size_t)(q - w[nw].p);
			nw++;
		}
		if (nw > 0 && (rc = st_line(sp, w, nw)) != 0)
			return rc;
		p = nl ? nl + 1 : e;
	}
	if (sp->cur != &sp->st->root) {
		sp->line = sp->cur->line;
		return serr(sp, 1, "loop %s is not closed with end",
		    sp->cur->tag);
	}
	if (!sp->seen_structure) {
		sp->line = 1;
		return serr(sp, 1, "no `structure` statement");
	}
	elem_sort(sp->st->elem, sp->st->nelem);
	link_hier(&sp->st->root, sp->st);
	return 0;
}

/*
 * read(2) into buf until len bytes or the end of the file, EINTR retried:
 * the bytes read, or -1 with errno.  Map files are read the same way
 * (map_compile.c read_text).
 */
ssize_t
structure_read_all(int fd, char *buf, size_t len)
{
	size_t	 n = 0;
	ssize_t	 r;

	while (n < len) {
		if ((r = read(fd, buf + n, len - n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/*
 * A load reads every structure file of the folder (to find the variants)
 * and the lookup files: open(2) and read(2), not stdio's buffer on top.
 */
static int
read_file(const char *path, char **out, size_t *lenp, char *err, size_t errlen)
{
	struct stat sb;
	char	*buf;
	size_t	 n;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s:0:0: %s", path, strerror(errno));
		return errno == ENOENT ? EG_ERR_NOTFOUND : EG_ERR_IO;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size < 0) {
		snprintf(err, errlen, "%s:0:0: %s", path, strerror(errno));
		close(fd);
		return EG_ERR_IO;
	}
	if ((unsigned long long)sb.st_size > EG_MAX_MAP_SIZE) {
		snprintf(err, errlen, "%s:0:0: file larger than %u bytes", path,
		    EG_MAX_MAP_SIZE);
		close(fd);
		return EG_ERR_LIMIT;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	if ((r = structure_read_all(fd, buf, (size_t)sb.st_size)) == -1) {
		snprintf(err, errlen, "%s:0:0: read error", path);
		free(buf);
		close(fd);
		return EG_ERR_IO;
	}
	n = (size_t)r;
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*lenp = n;
	return 0;
}

static void
struct_free_one(struct structure *st)
{
	size_t	 i, j;

	if (st == NULL)
		return;
	free(st->path);
	for (i = 0; i < st->nversions; i++)
		free(st->versions[i]);
	free(st->versions);
	free(st->partner);
	loop_free(&st->root);
	for (i = 0; i < st->nelem; i++) {
		for (j = 0; j < st->elem[i].ncodes; j++)
			free(st->elem[i].codes[j]);
		free(st->elem[i].codes);
	}
	free(st->elem);
	free(st->pairs);
	free(st->hier);
	free(st->syn);
	free(st->variant);
	structure_index_free(st->idx);
	free(st);
}

static int
load_text(const char *path, const char *text, size_t len,
    struct structure **out, char **extends, int *toplevel, char *err,
    size_t errlen)
{
	struct sparse sp;
	int	 rc;

	memset(&sp, 0, sizeof(sp));
	sp.file = path;
	sp.err = err;
	sp.errlen = errlen;
	sp.st = xcalloc(1, sizeof(*sp.st));
	sp.st->path = xstrdup(path);
	rc = parse_text(&sp, text, len);
	free(sp.eslot);
	if (rc != 0) {
		free(sp.extends);
		struct_free_one(sp.st);
		return rc;
	}
	*out = sp.st;
	if (extends)
		*extends = sp.extends;
	else
		free(sp.extends);
	if (toplevel)
		*toplevel = sp.has_toplevel_segment;
	return 0;
}

static int
load_one(const char *path, struct structure **out, char **extends,
    int *toplevel, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	if ((rc = read_file(path, &text, &len, err, errlen)) != 0)
		return rc;
	rc = load_text(path, text, len, out, extends, toplevel, err, errlen);
	free(text);
	return rc;
}

/* -- variants ----------------------------------------------------------- */

static struct struct_loop *
loop_copy(const struct struct_loop *src, struct struct_loop *dst)
{
	size_t	 i;

	*dst = *src;
	dst->ent = NULL;
	if (src->nent) {
		dst->ent = xcalloc(src->nent, sizeof(*dst->ent));
		for (i = 0; i < src->nent; i++) {
			dst->ent[i] = src->ent[i];
			if (src->ent[i].is_loop) {
				dst->ent[i].loop = xcalloc(1,
				    sizeof(*dst->ent[i].loop));
				loop_copy(src->ent[i].loop, dst->ent[i].loop);
			}
		}
	}
	return dst;
}

static const struct struct_loop *
find_loop(const struct struct_loop *l, const char *tag)
{
	const struct struct_loop *r;
	size_t	 i;

	for (i = 0; i < l->nent; i++) {
		if (!l->ent[i].is_loop)
			continue;
		if (strcmp(l->ent[i].loop->tag, tag) == 0)
			return l->ent[i].loop;
		if ((r = find_loop(l->ent[i].loop, tag)) != NULL)
			return r;
	}
	return NULL;
}

/* Replace, in the copy rooted at l, loops that v declares by trigger. */
static void
replace_loops(struct struct_loop *l, const struct struct_loop *vroot)
{
	const struct struct_loop *vl;
	size_t	 i;

	for (i = 0; i < l->nent; i++) {
		if (!l->ent[i].is_loop)
			continue;
		if ((vl = find_loop(vroot, l->ent[i].loop->tag)) != NULL) {
			loop_free(l->ent[i].loop);
			loop_copy(vl, l->ent[i].loop);
			l->ent[i].min = vl->min;
			l->ent[i].max = vl->max;
		} else
			replace_loops(l->ent[i].loop, vroot);
	}
}

static int
tag_in(const char *tag, const void *arr, size_t n, size_t stride)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp((const char *)arr + i * stride, tag) == 0)
			return 1;
	return 0;
}

/* Turn v (parsed variant) into base + v. */
static void
merge_variant(const struct structure *base, struct structure *v,
    int toplevel)
{
	struct struct_loop root;
	struct struct_elem *el;
	struct struct_syntax *syn;
	struct struct_pairs *pr;
	struct struct_hier *hi;
	size_t	 i, j, n;

	if (!toplevel) {
		loop_copy(&base->root, &root);
		replace_loops(&root, &v->root);
		loop_free(&v->root);
		v->root = root;
	}

	el = xcalloc(base->nelem + v->nelem + 1, sizeof(*el));
	n = 0;
	for (i = 0; i < base->nelem; i++) {
		if (bsearch(&base->elem[i], v->elem, v->nelem, sizeof(*el),
		    elem_cmp) != NULL)
			continue;
		el[n] = base->elem[i];
		el[n].codes = NULL;
		if (base->elem[i].ncodes) {
			el[n].codes = xcalloc(base->elem[i].ncodes,
			    sizeof(char *));
			for (j = 0; j < base->elem[i].ncodes; j++)
				el[n].codes[j] = xstrdup(base->elem[i].codes[j]);
		}
		n++;
	}
	for (i = 0; i < v->nelem; i++)
		el[n++] = v->elem[i];
	free(v->elem);
	v->elem = el;
	v->nelem = n;
	elem_sort(v->elem, v->nelem);

	syn = xcalloc(base->nsyn + v->nsyn + 1, sizeof(*syn));
	n = 0;
	for (i = 0; i < base->nsyn; i++)
		if (!tag_in(base->syn[i].tag, v->syn, v->nsyn, sizeof(*syn)))
			syn[n++] = base->syn[i];
	for (i = 0; i < v->nsyn; i++)
		syn[n++] = v->syn[i];
	free(v->syn);
	v->syn = syn;
	v->nsyn = n;

	pr = xcalloc(base->npairs + v->npairs + 1, sizeof(*pr));
	n = 0;
	for (i = 0; i < base->npairs; i++)
		if (!tag_in(base->pairs[i].tag, v->pairs, v->npairs,
		    sizeof(*pr)))
			pr[n++] = base->pairs[i];
	for (i = 0; i < v->npairs; i++)
		pr[n++] = v->pairs[i];
	free(v->pairs);
	v->pairs = pr;
	v->npairs = n;

	hi = xcalloc(base->nhier + v->nhier + 1, sizeof(*hi));
	n = 0;
	for (i = 0; i < base->nhier; i++)
		if (!tag_in(base->hier[i].tag, v->hier, v->nhier, sizeof(*hi)))
			hi[n++] = base->hier[i];
	for (i = 0; i < v->nhier; i++)
		hi[n++] = v->hier[i];
	free(v->hier);
	v->hier = hi;
	v->nhier = n;
	link_hier(&v->root, v);
	v->base = base;
}

/* -- index by tag ------------------------------------------------------ */

/*
 * The index is derived data: built once the tables are final (after every
 * variant is merged), it only points into them.  Lookups then cost a hash
 * probe and an array access instead of string comparisons per segment.
 */

static struct struct_segdef *
ix_find(struct struct_index *ix, const char *tag)
{
	return (struct struct_segdef *)structure_segdef(ix,
	    structure_tagkey(tag));
}

/* The entry for tag, added when missing; the table has room for it. */
static struct struct_segdef *
ix_add(struct struct_index *ix, const char *tag)
{
	struct struct_segdef *sd;
	uint32_t key = structure_tagkey(tag), mask = (1U << ix->bits) - 1, j;

	if ((sd = ix_find(ix, tag)) != NULL)
		return sd;
	sd = &ix->seg[ix->nseg++];
	sd->idx = (uint32_t)(ix->nseg - 1);
	sd->key = key;
	/* tag is a valid_tag() of at most 3 bytes, or the root's "" */
	memcpy(sd->tag, tag, strlen(tag) + 1);
	j = (key * STRUCT_SLOT_MUL) >> (32 - ix->bits);
	while (ix->slot[j].sd != NULL)
		j = (j + 1) & mask;
	ix->slot[j].key = key;
	ix->slot[j].sd = sd;
	return sd;
}

static void
ix_table(struct struct_index *ix, const struct struct_loop *l)
{
	size_t	 i;

	for (i = 0; i < l->nent; i++) {
		if (l->ent[i].is_loop)
			ix_table(ix, l->ent[i].loop);
		else
			ix_add(ix, l->ent[i].tag)->in_table = 1;
	}
}

static size_t
count_entries(const struct struct_loop *l)
{
	size_t	 i, n = l->nent;

	for (i = 0; i < l->nent; i++)
		if (l->ent[i].is_loop)
			n += count_entries(l->ent[i].loop);
	return n;
}

static void
syn_mask(const struct struct_syntax *n, struct struct_synmask *m)
{
	int	 j;

	/* positions are 01..99 (st_syntax) */
	for (j = 0; j < n->nel; j++) {
		m->all[n->el[j] / 64] |= (uint64_t)1 << (n->el[j] % 64);
		if (j > 0)
			m->rest[n->el[j] / 64] |= (uint64_t)1 <<
			    (n->el[j] % 64);
	}
}

/* 1 when a value of e, simple or a component, can be valid at a glance. */
static int
plain_text(const struct struct_elem *e)
{
	return (e->type == ST_AN || e->type == ST_ID) && e->codes == NULL;
}

/*
 * Likewise for a number, alphabetic text (EDIFACT a: UNS01), a date or a
 * time (date and time ignore codes).
 */
static int
plain_typed(const struct struct_elem *e)
{
	return ((e->type == ST_NN || e->type == ST_R || e->type == ST_N ||
	    e->type == ST_A) && e->codes == NULL) || e->type == ST_DT ||
	    e->type == ST_TM;
}

/*
 * The vplain entries of the run elem[k..j) of one element (see
 * struct_segdef), 0 when it has none.
 */
static size_t
vplain_count(const struct struct_elem *elem, size_t k, size_t j)
{
	const struct struct_elem *e = &elem[k];

	if (e->comp != 0 || e->rep > 1 || e->el <= 0 ||
	    e->el >= STRUCT_MAXPOS)
		return 0;
	if (plain_text(e) || plain_typed(e))
		return 2;
	if (e->type == ST_COMPOSITE)
		return (size_t)elem[j - 1].comp + 1;
	return 0;
}

static void
vplain_set(struct struct_plain *pl, const struct struct_elem *e)
{
	if (plain_text(e)) {
		pl->min = e->min;
		pl->max = e->max;
		pl->umax = e->min <= 1 ? e->max : 0;
		pl->ulead = e->min == 1 ? 0xc0 : 0;
		return;
	}
	pl->min = 1;
	pl->max = 0;
	pl->type = e->type;
	if (e->type == ST_NN || e->type == ST_R || e->type == ST_N)
		pl->quick = 1;
	else if (e->type == ST_DT && e->min <= 8 && e->max >= 8)
		pl->quick = 2;
	pl->tmin = e->min;
	pl->tmax = e->max;
	pl->tlo = e->min > 1 ? e->min : 1;
	if (pl->tlo <= e->max)
		pl->tspan = e->max - pl->tlo;
	else {
		pl->tlo = SIZE_MAX;
		pl->tspan = 0;
	}
}

/*
 * Every segdef's vpl, vn and vplain (struct_segdef).  elem[] is sorted
 * by (el, comp) and components are 1..99, so a composite's highest
 * component is the last of its run.
 */
static void
val_plain_index(struct struct_index *ix)
{
	struct struct_segdef *sd;
	const struct struct_elem *e, *c;
	struct struct_plain *pl;
	size_t	 i, n = 0, k, j, m;

	for (i = 0; i < ix->nseg; i++) {
		sd = &ix->seg[i];
		for (k = 0; k < sd->nelem; k = j) {
			for (j = k + 1; j < sd->nelem &&
			    sd->elem[j].el == sd->elem[k].el; j++)
				;
			n += vplain_count(sd->elem, k, j);
		}
	}
	ix->vplain = xcalloc(n + 1, sizeof(*ix->vplain));
	for (i = 0, n = 0; i < ix->nseg; i++) {
		sd = &ix->seg[i];
		for (k = 0; k < sd->nelem; k = j) {
			e = &sd->elem[k];
			for (j = k + 1; j < sd->nelem &&
			    sd->elem[j].el == e->el; j++)
				;
			/* a structure file is capped: n fits */
			if ((m = vplain_count(sd->elem, k, j)) == 0)
				continue;
			sd->vn[e->el] = (unsigned char)m;
			pl = &ix->vplain[n];
			sd->vpl[e->el] = pl;
			n += m;
			if (e->type != ST_COMPOSITE) {
				/* comp 0 is the element, as comp 1 */
				vplain_set(&pl[0], e);
				vplain_set(&pl[1], e);
			} else {
				pl[0].min = 1;
				pl[0].type = ST_COMPOSITE;
				for (c = e + 1; c < sd->elem + j; c++)
					if (plain_text(c) || plain_typed(c))
						vplain_set(&pl[c->comp], c);
			}
			sd->p1min[e->el] = pl[1].min;
			sd->p1max[e->el] = pl[1].max;
			if (pl[1].min <= pl[1].max) {
				sd->p1lo[e->el] = pl[1].min;
				sd->p1span[e->el] = pl[1].max - pl[1].min;
			} else {
				sd->p1lo[e->el] = SIZE_MAX;
				sd->p1span[e->el] = 0;
			}
			sd->p1umax[e->el] = pl[1].umax;
			sd->p1ulead[e->el] = pl[1].ulead;
			if (pl[1].type != 0)
				sd->p1ty[e->el] = &pl[1];
		}
	}
}

/* sd's mcall and the mbit of its mandatory components' vplain entries. */
static void
mand_bits(struct struct_index *ix, struct struct_segdef *sd,
    const uint32_t *mc)
{
	struct struct_plain *pl;
	uint64_t all = 0;
	size_t	 m;
	unsigned el, comp;

	if (sd->nmcomp == 0 || sd->nmcomp > 64)
		return;
	for (m = 0; m < sd->nmcomp; m++) {
		el = mc[m] >> 16;
		comp = mc[m] & 0xffff;
		if (comp >= sd->vn[el] || sd->vpl[el]->type != ST_COMPOSITE)
			return;		/* no entry: mcall stays 0 */
	}
	for (m = 0; m < sd->nmcomp; m++) {
		el = mc[m] >> 16;
		comp = mc[m] & 0xffff;
		pl = &ix->vplain[sd->vpl[el] - ix->vplain + comp];
		pl->mbit = (uint64_t)1 << m;
		sd->mcel[m] = (unsigned char)el;
		if (el < 64)
			sd->mcebit |= (uint64_t)1 << el;
		if (comp == 1)
			sd->p1mbit[el] = pl->mbit;
		all |= pl->mbit;
	}
	sd->mcall = all;
}

/*
 * Every segdef's mcomp list (struct_segdef): the mandatory components
 * of elements 1..STRUCT_MAXPOS-1, as between mcfirst and mcend.
 * Components are 1..99 (st_element), so the keys order as (el, comp).
 */
static void
mand_comps(struct struct_index *ix)
{
	struct struct_segdef *sd;
	size_t	 i, k, n = 0;

	for (i = 0; i < ix->nseg; i++)
		for (k = 0; k < ix->seg[i].nelem; k++)
			if (ix->seg[i].elem[k].req == SR_MANDATORY &&
			    ix->seg[i].elem[k].comp != 0)
				n++;
	ix->mcomp = xcalloc(n + 1, sizeof(*ix->mcomp));
	for (i = 0, n = 0; i < ix->nseg; i++) {
		sd = &ix->seg[i];
		sd->mcomp = &ix->mcomp[n];
		for (k = 0; k < sd->nelem; k++)
			if (sd->elem[k].req == SR_MANDATORY &&
			    sd->elem[k].comp > 0 && sd->elem[k].comp <= 0xffff &&
			    sd->elem[k].el > 0 && sd->elem[k].el < STRUCT_MAXPOS)
				ix->mcomp[n + sd->nmcomp++] =
				    (uint32_t)sd->elem[k].el << 16 |
				    (uint32_t)sd->elem[k].comp;
		n += sd->nmcomp;
		mand_bits(ix, sd, &ix->mcomp[n - sd->nmcomp]);
	}
}

/* 1 when note n is "P" of two neighbouring positions below 63. */
static int
syn_p1(const struct struct_syntax *n)
{
	return n->kind == 'P' && n->nel == 2 && n->el[0] >= 0 &&
	    n->el[0] < 63 && n->el[1] == n->el[0] + 1;
}

/* Note n as a struct_synfast; -1 when it cannot be one. */
static int
syn_fast(const struct struct_syntax *n, struct struct_synfast *f)
{
	uint64_t all = 0, rest = 0;
	int	 j;

	if (n->nel < 1)
		return -1;
	for (j = 0; j < n->nel; j++) {
		if (n->el[j] < 1 || n->el[j] > 63)
			return -1;
		all |= (uint64_t)1 << n->el[j];
		if (j > 0)
			rest |= (uint64_t)1 << n->el[j];
	}
	switch (n->kind) {
	case 'P':
		*f = (struct struct_synfast){ .a = all, .need = all };
		return 0;
	case 'C':
		*f = (struct struct_synfast){
		    .a = (uint64_t)1 << n->el[0], .need = all };
		return 0;
	case 'R':
		*f = (struct struct_synfast){ .a = 1, .need = 1, .any = all };
		return 0;
	case 'L':
		*f = (struct struct_synfast){
		    .a = (uint64_t)1 << n->el[0], .need = 1, .any = rest };
		return 0;
	}
	return -1;
}

/*
 * The bits from pos's lowest set one to its highest: the lowest's number
 * in *lo, and how many (0 for no bit).  A verdict table is worked out over
 * every value of that window when it is narrow (syn_verdict, q_verdict).
 */
static unsigned
bit_window(uint64_t pos, unsigned *lo)
{
	*lo = 0;
	if (pos == 0)
		return 0;
	*lo = (unsigned)__builtin_ctzll(pos);
	return 64 - (unsigned)__builtin_clzll(pos) - *lo;
}

/*
 * The verdict of synrest's notes as one word (struct_segdef's synverd),
 * when their positions fit: the test of syntax_fast() in tree.c on every
 * set of them.
 */
static void
syn_verdict(struct struct_segdef *sd)
{
	const struct struct_synfast *f;
	uint64_t pos = 0, b, v = 0;
	unsigned lo, w, i;
	size_t	 k;

	for (k = 0, f = sd->synfast; k < sd->nsynrest; k++, f++)
		pos |= (f->a | f->need | f->any) & ~(uint64_t)1;
	if ((w = bit_window(pos, &lo)) > 6)
		return;
	for (i = 0; i < 1U << w; i++) {
		b = (uint64_t)i << lo;
		for (k = 0, f = sd->synfast; k < sd->nsynrest; k++, f++)
			if (((b | 1) & f->a) != 0 && (b & f->need) != f->need &&
			    (b & f->any) == 0)
				break;
		if (k == sd->nsynrest)
			v |= (uint64_t)1 << i;
	}
	sd->synverd = v;
	sd->synvmask = ((uint64_t)1 << w) - 1;
	sd->synlo = (unsigned char)lo;
	sd->synvw = 1;
}

/* Every segdef's p1mask, synrest and synfast (struct_segdef). */
static void
syn_pairs(struct struct_index *ix)
{
	struct struct_segdef *sd;
	size_t	 i, k, n = 0;
	int	 fast;

	for (i = 0; i < ix->nseg; i++)
		n += ix->seg[i].nsyn;
	ix->synrest = xcalloc(n + 1, sizeof(*ix->synrest));
	ix->synfast = xcalloc(n + 1, sizeof(*ix->synfast));
	for (i = 0, n = 0; i < ix->nseg; i++) {
		sd = &ix->seg[i];
		sd->synrest = &ix->synrest[n];
		if (sd->nsyn > UINT16_MAX)
			continue;	/* p1mask 0: every note is tried */
		for (k = 0; k < sd->nsyn; k++) {
			if (syn_p1(sd->syn[k]))
				sd->p1mask |= (uint64_t)1 << sd->syn[k]->el[0];
			else
				ix->synrest[n + sd->nsynrest++] = (uint16_t)k;
		}
		fast = 1;	/* the pairs of p1mask are tested apart */
		for (k = 0; k < sd->nsynrest && fast; k++)
			if (syn_fast(sd->syn[ix->synrest[n + k]],
			    &ix->synfast[n + k]) != 0)
				fast = 0;
		if (fast && sd->nsyn > 0) {
			sd->synfast = &ix->synfast[n];
			for (k = 0; k < sd->nsynrest; k++)
				sd->synuntrig |= sd->synfast[k].a;
			syn_verdict(sd);
		}
		n += sd->nsynrest;
	}
}

/* -- the placement automaton (struct_pos) ------------------------------ */

/* The table's size limit, in entries: beyond it placement walks pos. */
#define TRANS_MAX	((size_t)1 << 20)

static size_t
count_pos(const struct struct_loop *l)
{
	size_t	 i, n = l->nent + 1;

	for (i = 0; i < l->nent; i++)
		if (l->ent[i].is_loop)
			n += count_pos(l->ent[i].loop);
	return n;
}

static int
envelope_tagkey(uint32_t key)
{
	return key == structure_tagkey("ST") || key == structure_tagkey("SE") ||
	    key == structure_tagkey("UNH") || key == structure_tagkey("UNT");
}

/*
 * The positions of occurrence l from *next on, then those of its nested
 * loops; up: the enclosing loop's entry for l.  Returns l's first.
 */
static uint32_t
pos_layout(struct struct_index *ix, const struct struct_loop *l,
    uint32_t depth, uint32_t up, uint32_t *next)
{
	struct struct_pos *p;
	uint32_t base = *next, end = base + (uint32_t)l->nent, nm, j, cb;

	*next = end + 1;
	/* every field set: pos is not zeroed (a calloc of it costs more) */
	for (j = 0; j <= l->nent; j++) {
		p = &ix->pos[base + j];
		*p = (struct struct_pos){ .loop = l, .depth = depth,
		    .end = end };
		if (j == l->nent) {
			p->up = up;
			break;
		}
		p->ent = &l->ent[j];
		p->key = structure_tagkey(p->ent->tag);
		p->min = envelope_tagkey(p->key) ? 0 : p->ent->min;
		p->max = p->ent->max;
	}
	for (nm = end, j = end - base + 1; j-- > 0;) {
		p = &ix->pos[base + j];
		p->nextmin = nm;
		p->popmin = nm < end ? UINT_MAX : p->min;
		if (p->min > 0)
			nm = base + j;
	}
	for (j = 0; j < l->nent; j++) {
		if (!l->ent[j].is_loop)
			continue;
		cb = pos_layout(ix, l->ent[j].loop, depth + 1, base + j, next);
		p = &ix->pos[base + j];
		p->cloop = l->ent[j].loop;
		p->child = cb + (l->ent[j].loop->nent > 0);
		p->trigshort = l->ent[j].loop->nent > 0 &&
		    ix->pos[cb].min > 1;
	}
	return base;
}

/*
 * The rows of trans for the occurrence whose first position is base, then
 * for its nested loops: past the end, the row of the enclosing loop's
 * entry (none at the root); at entry j, the row after it with j's own tag
 * leading to j.
 */
static void
trans_rows(struct struct_index *ix, uint32_t base)
{
	const struct struct_pos *p = &ix->pos[base];
	const struct struct_segdef *sd;
	uint16_t *row;
	size_t	 ncol = ix->ncol;
	uint32_t g, end = p->end;

	if (p->depth > 0)
		memcpy(&ix->trans[(size_t)end * ncol],
		    &ix->trans[(size_t)ix->pos[end].up * ncol],
		    ncol * sizeof(*ix->trans));
	else
		memset(&ix->trans[(size_t)end * ncol], 0,
		    ncol * sizeof(*ix->trans));
	for (g = end; g-- > base;) {
		row = &ix->trans[(size_t)g * ncol];
		memcpy(row, row + ncol, ncol * sizeof(*row));
		if ((sd = structure_segdef(ix, ix->pos[g].key)) != NULL)
			row[sd->col] = (uint16_t)(g + 1);
	}
	for (g = base; g < end; g++) {
		p = &ix->pos[g];
		if (p->child != 0)
			trans_rows(ix, p->child - (p->ent->loop->nent > 0));
	}
}

/*
 * Whether a frame at position y may have a count below m there when it
 * leaves or closes (start: y is where a frame opens, its count 0 until
 * a segment goes there; anywhere else the frame came with a segment).
 */
static int
act_may_short(unsigned m, int start)
{
	return m > 1 || (m == 1 && start);
}

/*
 * act from trans, see struct_index.  Per row c: ys[n], the position of
 * the frame n levels out from one at c (where it took its loop's
 * trigger), and gen[n], whether closing the n innermost may report.
 */
static void
act_rows(struct struct_index *ix)
{
	const struct struct_pos *pos = ix->pos, *p;
	const uint16_t *tr;
	size_t	 ncol = ix->ncol, c, k;
	unsigned char *start;
	uint32_t *row, ys[EG_MAX_LOOP_DEPTH + 1], e, g, y, n, d;
	unsigned char gen[EG_MAX_LOOP_DEPTH + 1];

	ix->act = xreallocarray(NULL, ix->npos * ncol, sizeof(*ix->act));
	start = xcalloc(ix->npos, 1);
	start[0] = 1;
	for (c = 0; c < ix->npos; c++)
		if (pos[c].child != 0)
			start[pos[c].child] = 1;
	for (c = 0; c < ix->npos; c++) {
		d = pos[c].depth;
		tr = &ix->trans[c * ncol];
		row = &ix->act[c * ncol];
		if (d > EG_MAX_LOOP_DEPTH) {
			/* deeper than placement goes (not from a file) */
			for (k = 0; k < ncol; k++)
				row[k] = STRUCT_ACT_GEN | tr[k];
			continue;
		}
		ys[0] = y = (uint32_t)c;
		gen[0] = 0;
		for (n = 0; n < d; n++) {
			gen[n + 1] = gen[n] |
			    act_may_short(pos[y].popmin, start[y]);
			ys[n + 1] = y = pos[pos[y].end].up;
		}
		for (k = 0; k < ncol; k++) {
			if ((e = tr[k]) == 0) {
				row[k] = STRUCT_ACT_GEN;
				continue;
			}
			g = e - 1;
			p = &pos[g];
			n = d - p->depth;
			y = ys[n];
			e = g | n << 24 | (gen[n] ? STRUCT_ACT_GEN : 0);
			if (g == y) {
				e |= STRUCT_ACT_SAME;
				if (p->max != 0)
					e |= STRUCT_ACT_MAX;
			} else if (pos[y].nextmin < g ||
			    act_may_short(pos[y].min, start[y]))
				e |= STRUCT_ACT_GEN;
			if (p->child != 0) {
				e |= STRUCT_ACT_CHILD;
				if (p->trigshort ||
				    p->depth + 1 >= EG_MAX_LOOP_DEPTH)
					e |= STRUCT_ACT_GEN;
			}
			/* GEN: trans's value for the general steps */
			if (e & STRUCT_ACT_GEN)
				e = STRUCT_ACT_GEN | (g + 1);
			row[k] = e;
		}
	}
	free(start);
}

static void
automaton(struct struct_index *ix, const struct structure *st)
{
	struct struct_segdef *sd;
	uint32_t next = 0;
	size_t	 i;

	ix->npos = count_pos(&st->root);
	ix->pos = xreallocarray(NULL, ix->npos, sizeof(*ix->pos));
	pos_layout(ix, &st->root, 0, 0, &next);
	/* a column for each tag some entry has (ix_table indexed them) */
	ix->ncol = 1;
	for (i = 0; i < ix->npos; i++)
		if (ix->pos[i].ent != NULL && (sd = (struct struct_segdef *)
		    structure_segdef(ix, ix->pos[i].key)) != NULL &&
		    sd->col == 0)
			sd->col = ix->ncol++;
	if (ix->npos >= UINT16_MAX || ix->npos > TRANS_MAX / ix->ncol)
		return;
	/* every row is written, from the root's end on */
	ix->trans = xreallocarray(NULL, ix->npos * ix->ncol,
	    sizeof(*ix->trans));
	trans_rows(ix, 0);
	act_rows(ix);
}

/*
 * sd's qverd, qvmask and qvlo (struct_segdef): over the positions of
 * mand[0] and of the notes synverd decides, when they lie within six of
 * one another, every answer of both tests worked out here; qverd 0 (the
 * segment goes on to seg_quiet's own tests) otherwise.
 */
static void
q_verdict(struct struct_segdef *sd)
{
	uint64_t pos = sd->mand[0], b, v = 0;
	unsigned lo, w, i;

	if (sd->nsyn != 0) {
		if (sd->synfast == NULL || !sd->synvw)
			return;
		pos |= sd->synvmask << sd->synlo;
	}
	if ((w = bit_window(pos & ~(uint64_t)1, &lo)) > 6)
		return;
	for (i = 0; i < 1U << w; i++) {
		b = (uint64_t)i << lo;
		if ((sd->mand[0] & ~b) != 0)
			continue;
		if (sd->nsyn != 0 &&
		    ((sd->synverd >> (b >> sd->synlo & sd->synvmask)) & 1) == 0)
			continue;
		v |= (uint64_t)1 << i;
	}
	sd->qverd = v;
	sd->qvmask = ((uint64_t)1 << w) - 1;
	sd->qvlo = (unsigned char)lo;
}

/* Each slot's copy of its definition's column (struct_slot). */
static void
slot_cols(struct struct_index *ix)
{
	size_t	 j;

	for (j = 0; j < (size_t)1 << ix->bits; j++)
		if (ix->slot[j].sd != NULL)
			ix->slot[j].col = ix->slot[j].sd->col;
}

struct struct_index *
structure_index_new(const struct structure *st)
{
	struct struct_index *ix;
	struct struct_segdef *sd;
	const struct struct_elem *e;
	size_t	 n, i, j, k;

	ix = xcalloc(1, sizeof(*ix));
	n = count_entries(&st->root) + st->nelem + st->nsyn + st->npairs +
	    st->nhier;
	/* valid_tag() allows fewer tags than this */
	if (n > 26 * 36 * 37)
		n = 26 * 36 * 37;
	ix->bits = 4;
	while ((1UL << ix->bits) < 2 * n + 2)
		ix->bits++;
	ix->slot = xcalloc((size_t)1 << ix->bits, sizeof(*ix->slot));
	ix->seg = xcalloc(n + 1, sizeof(*ix->seg));

	ix_table(ix, &st->root);
	for (i = 0; i < st->nelem; i = j) {
		sd = ix_add(ix, st->elem[i].tag);
		for (j = i; j < st->nelem && strcmp(st->elem[j].tag,
		    st->elem[i].tag) == 0; j++)
			;
		sd->elem = &st->elem[i];
		sd->nelem = j - i;
		for (k = sd->nelem; k-- > 0;) {
			e = &sd->elem[k];
			if (e->el <= 0 || e->el >= STRUCT_MAXPOS)
				continue;
			sd->elfirst[e->el] = (uint16_t)(k + 1);
			if (e->req == SR_MANDATORY && e->comp != 0) {
				/* k runs down: the first one seen is last */
				if (!sd->mandcomp)
					sd->mcend = k + 1;
				sd->mcfirst = k;
				sd->mandcomp = 1;
			}
			if (e->comp != 0)
				continue;
			if (e->req == SR_MANDATORY)
				sd->mand[e->el / 64] |= (uint64_t)1 <<
				    (e->el % 64);
			sd->decl[e->el / 8] |=
			    (unsigned char)(1U << (e->el % 8));
			if (e->rep > 1) {
				sd->repel[e->el / 8] |=
				    (unsigned char)(1U << (e->el % 8));
				sd->anyrep = 1;
			}
		}
	}
	val_plain_index(ix);
	mand_comps(ix);
	for (i = st->npairs; i-- > 0;)
		ix_add(ix, st->pairs[i].tag)->pairs = &st->pairs[i];
	for (i = st->nhier; i-- > 0;)
		ix_add(ix, st->hier[i].tag)->hier = &st->hier[i];
	/* Syntax notes grouped by tag, each group in file order. */
	ix->syn = xcalloc(st->nsyn + 1, sizeof(*ix->syn));
	ix->synmask = xcalloc(st->nsyn + 1, sizeof(*ix->synmask));
	for (i = 0; i < st->nsyn; i++)
		ix_add(ix, st->syn[i].tag)->nsyn++;
	for (i = 0, k = 0; i < ix->nseg; i++) {
		ix->seg[i].syn = &ix->syn[k];
		ix->seg[i].synmask = &ix->synmask[k];
		k += ix->seg[i].nsyn;
		ix->seg[i].nsyn = 0;
	}
	for (i = 0; i < st->nsyn; i++) {
		sd = ix_find(ix, st->syn[i].tag);
		k = (size_t)(sd->syn - ix->syn) + sd->nsyn++;
		ix->syn[k] = &st->syn[i];
		syn_mask(&st->syn[i], &ix->synmask[k]);
		sd->synall[0] |= ix->synmask[k].all[0];
		sd->synall[1] |= ix->synmask[k].all[1];
	}
	syn_pairs(ix);
	for (i = 0; i < ix->nseg; i++) {
		sd = &ix->seg[i];
		sd->qscan = sd->nelem == 0 ? 2 : sd->mcall != 0 ? 1 : 0;
		for (k = 0; k < 64; k++)
			sd->elbit[k] = (uint64_t)1 << k;
		sd->qmore = sd->mand[1] != 0 ||
		    (sd->mandcomp && sd->mcall == 0) || sd->nsyn != 0;
		if (sd->mand[1] != 0 || (sd->mandcomp && sd->mcall == 0))
			continue;	/* qverd 0 */
		q_verdict(sd);
	}
	automaton(ix, st);
	slot_cols(ix);
	return ix;
}

void
structure_index_free(struct struct_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slot);
	free(ix->seg);
	free(ix->syn);
	free(ix->synmask);
	free(ix->synrest);
	free(ix->synfast);
	free(ix->vplain);
	free(ix->mcomp);
	free(ix->pos);
	free(ix->trans);
	free(ix->act);
	free(ix);
}

static void
index_structure(struct structure *st)
{
	structure_index_free(st->idx);
	st->idx = structure_index_new(st);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* -- the files of one catalog load -------------------------------------- */

/*
 * Every structure_load reads each *.struct file of its folder to find the
 * ones that extend it: with the 16 files of the maps folder, a catalog
 * load read 135 files for 9 structures.  The cache lists a folder once
 * and reads each file once, and remembers where each of its `extends`
 * words is followed by a name, so that mentions_extends runs strstr over a
 * file once instead of once per structure.
 */
struct sc_file {
	char		*name;		/* in the folder */
	char		*text;		/* NUL-terminated */
	size_t		 len;
	int		 state;		/* 0 unread, 1 read, -1 unreadable */
	size_t		*ext;		/* offsets of the names after `extends` */
	size_t		 next;
};

struct sc_dir {
	char		*path;
	struct sc_file	*file;		/* *.struct, sorted by name */
	size_t		 nfile;
};

struct sc_text {
	char		*path;
	char		*text;		/* NULL: unreadable */
	size_t		 len;
};

struct structure_cache {
	struct sc_dir	*dir;
	size_t		 ndir;
	struct sc_text	*text;
	size_t		 ntext;
};

struct structure_cache *
structure_cache_new(void)
{
	return xcalloc(1, sizeof(struct structure_cache));
}

void
structure_cache_free(struct structure_cache *sc)
{
	size_t	 i, j;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->ndir; i++) {
		for (j = 0; j < sc->dir[i].nfile; j++) {
			free(sc->dir[i].file[j].name);
			free(sc->dir[i].file[j].text);
			free(sc->dir[i].file[j].ext);
		}
		free(sc->dir[i].file);
		free(sc->dir[i].path);
	}
	free(sc->dir);
	for (i = 0; i < sc->ntext; i++) {
		free(sc->text[i].path);
		free(sc->text[i].text);
	}
	free(sc->text);
	free(sc);
}

int
structure_cache_text(struct structure_cache *sc, const char *path,
    const char **text, size_t *len)
{
	struct sc_text	*t = NULL;
	char		 err[8];
	size_t		 i;

	for (i = 0; i < sc->ntext; i++)
		if (strcmp(sc->text[i].path, path) == 0) {
			t = &sc->text[i];
			break;
		}
	if (t == NULL) {
		sc->text = xreallocarray(sc->text, sc->ntext + 1,
		    sizeof(*sc->text));
		t = &sc->text[sc->ntext++];
		t->path = xstrdup(path);
		if (read_file(path, &t->text, &t->len, err, sizeof(err)) != 0)
			t->text = NULL;
	}
	if (t->text == NULL)
		return -1;
	*text = t->text;
	*len = t->len;
	return 0;
}

static int
sc_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sc_file *)a)->name,
	    ((const struct sc_file *)b)->name);
}

/* The *.struct files of dirpath, listed once; NULL entries if unreadable. */
static struct sc_dir *
sc_dir_get(struct structure_cache *sc, const char *dirpath)
{
	struct sc_dir	*d;
	DIR		*dir;
	struct dirent	*de;
	size_t		 i, len;

	for (i = 0; i < sc->ndir; i++)
		if (strcmp(sc->dir[i].path, dirpath) == 0)
			return &sc->dir[i];
	sc->dir = xreallocarray(sc->dir, sc->ndir + 1, sizeof(*sc->dir));
	d = &sc->dir[sc->ndir++];
	memset(d, 0, sizeof(*d));
	d->path = xstrdup(dirpath);
	if ((dir = opendir(dirpath)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			len = strlen(de->d_name);
			if (len < 8 || strcmp(de->d_name + len - 7, ".struct"))
				continue;
			d->file = xreallocarray(d->file, d->nfile + 1,
			    sizeof(*d->file));
			memset(&d->file[d->nfile], 0, sizeof(*d->file));
			d->file[d->nfile++].name = xstrdup(de->d_name);
		}
		closedir(dir);
	}
	if (d->nfile > 1)
		qsort(d->file, d->nfile, sizeof(*d->file), sc_file_cmp);
	return d;
}

static struct sc_file *
sc_dir_find(struct sc_dir *d, const char *name)
{
	struct sc_file	 key;

	if (d->nfile == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, d->file, d->nfile, sizeof(*d->file),
	    sc_file_cmp);
}

/*
 * Where `extends` starts a word (at the start of the text or after a
 * newline, space or tab), the offset of what follows it and its blanks:
 * mentions_extends() compares the name there.
 */
static void
sc_scan_extends(struct sc_file *f)
{
	const char *p = f->text, *q;

	while ((p = strstr(p, "extends")) != NULL) {
		if (p == f->text || p[-1] == '\n' || p[-1] == ' ' ||
		    p[-1] == '\t') {
			q = p + 7;
			while (*q == ' ' || *q == '\t')
				q++;
			f->ext = xreallocarray(f->ext, f->next + 1,
			    sizeof(*f->ext));
			f->ext[f->next++] = (size_t)(q - f->text);
		}
		p += 7;
	}
}

/* Read f (dirpath/name) once; -1 when it cannot be read. */
static int
sc_file_read(const struct sc_dir *d, struct sc_file *f)
{
	char	 path[EG_MAX_PATH], err[8];

	if (f->state == 0) {
		f->state = -1;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->path,
		    f->name) < sizeof(path) &&
		    read_file(path, &f->text, &f->len, err, sizeof(err)) == 0) {
			f->state = 1;
			sc_scan_extends(f);
		}
	}
	return f->state == 1 ? 0 : -1;
}

/* Does f contain a line "extends NAME"? */
static int
mentions_extends(const struct sc_file *f, const char *name)
{
	const char *q;
	size_t	 i, n = strlen(name);

	for (i = 0; i < f->next; i++) {
		q = f->text + f->ext[i];
		if (strncmp(q, name, n) == 0 &&
		    (q[n] == '\0' || q[n] == ' ' || q[n] == '\t' ||
		    q[n] == '\r' || q[n] == '\n' || q[n] == '#'))
			return 1;
	}
	return 0;
}

int
structure_load(const char *path, struct structure **out, char *err,
    size_t errlen)
{
	struct structure_cache *sc;
	int	 rc;

	sc = structure_cache_new();
	rc = structure_load_cached(sc, path, out, err, errlen);
	structure_cache_free(sc);
	return rc;
}

int
structure_load_cached(struct structure_cache *sc, const char *path,
    struct structure **out, char *err, size_t errlen)
{
	struct structure *st, *v;
	struct sc_dir *d;
	struct sc_file *f;
	char	 dirpath[EG_MAX_PATH], vpath[EG_MAX_PATH], dummy[8];
	char	*ext;
	const char *bn, *slash;
	size_t	 i, dl;
	int	 rc, toplevel = 0;

	if (sc == NULL)
		return structure_load(path, out, err, errlen);
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	bn = base_name(path);
	slash = strrchr(path, '/');
	dl = slash ? (size_t)(slash - path) : 1;
	if (dl >= sizeof(dirpath))
		dl = sizeof(dirpath) - 1;
	memcpy(dirpath, slash ? path : ".", dl);
	dirpath[dl] = '\0';
	if (slash == path)
		memcpy(dirpath, "/", 2);

	/* The file itself: its folder's copy, if it is one of the *.struct. */
	d = sc_dir_get(sc, dirpath);
	if ((f = sc_dir_find(d, bn)) != NULL && sc_file_read(d, f) == 0)
		rc = load_text(path, f->text, f->len, &st, NULL, NULL, err,
		    errlen);
	else
		rc = load_one(path, &st, NULL, NULL, err, errlen);
	if (rc != 0)
		return rc;

	for (i = 0; i < d->nfile; i++) {
		f = &d->file[i];
		if (strcmp(f->name, bn) == 0)
			continue;
		if (sc_file_read(d, f) != 0 || !mentions_extends(f, bn))
			continue;
		if ((size_t)snprintf(vpath, sizeof(vpath), "%s/%s", dirpath,
		    f->name) >= sizeof(vpath)) {
			snprintf(err, errlen, "%s/%s:0:0: path too long", dirpath,
			    f->name);
			rc = EG_ERR_LIMIT;
			goto fail;
		}
		ext = NULL;
		if ((rc = load_text(vpath, f->text, f->len, &v, &ext,
		    &toplevel, err, errlen)) != 0)
			goto fail;
		if (ext == NULL || strcmp(base_name(ext), bn) != 0) {
			free(ext);
			struct_free_one(v);
			continue;
		}
		free(ext);
		if (v->syntax != st->syntax || strcmp(v->doctype,
		    st->doctype) != 0) {
			snprintf(err, errlen, "%s:1:1: variant describes %s %s "
			    "but extends %s (%s %s)", vpath,
			    v->syntax == EDI_X12 ? "x12" : "edifact",
			    v->doctype, bn,
			    st->syntax == EDI_X12 ? "x12" : "edifact",
			    st->doctype);
			struct_free_one(v);
			rc = EG_ERR_SYNTAX;
			goto fail;
		}
		merge_variant(st, v, toplevel);
		st->variant = xreallocarray(st->variant, st->nvariant + 1,
		    sizeof(*st->variant));
		st->variant[st->nvariant++] = v;
	}
	/* Variants are indexed when structure_select() first picks them. */
	index_structure(st);
	if (err != dummy && errlen)
		err[0] = '\0';
	*out = st;
	return 0;
 fail:
	structure_free(st);
	return rc;
}

void
structure_free(struct structure *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nvariant; i++)
		struct_free_one(st->variant[i]);
	struct_free_one(st);
}

/* Score of the best pattern matching version: 0 none, else > 0. */
static int
version_score(char *const *pat, size_t n, struct slice version)
{
	size_t	 i, len;
	int	 best = 0, s;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++) {
		len = strlen(pat[i]);
		if (len && pat[i][len - 1] == '*') {
			if (version.len >= len - 1 &&
			    memcmp(version.p, pat[i], len - 1) == 0)
				s = 2 + 2 * (int)(len - 1);
			else
				continue;
		} else if (slice_eqs(version, pat[i]))
			s = 3 + 2 * (int)len;
		else
			continue;
		if (s > best)
			best = s;
	}
	return best;
}

int
structure_version_match(char *const *patterns, size_t n, struct slice version)
{
	return version_score(patterns, n, version) > 0;
}

/*
 * v's index, built the first time v is picked: most runs use one version
 * of a document, and a variant's index costs about as much as the base's
 * (0.35 million instructions for x12-850-003).  Threads may pick v at
 * once: the first index published wins, a loser frees its own.
 */
static const struct structure * __attribute__((noinline))
variant_indexed(struct structure *v)
{
	struct struct_index *ix, *none = NULL;

	if (__atomic_load_n(&v->idx, __ATOMIC_ACQUIRE) != NULL)
		return v;
	ix = structure_index_new(v);
	if (!__atomic_compare_exchange_n(&v->idx, &none, ix, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		structure_index_free(ix);
	return v;
}

const struct structure *
structure_select(const struct structure *base, struct slice version,
    const char *partner)
{
	struct structure *v, *bestv = NULL;
	int	 bscore = -1, s;
	size_t	 i;

	for (i = 0; i < base->nvariant; i++) {
		v = base->variant[i];
		if (v->partner != NULL && (partner == NULL ||
		    strcmp(v->partner, partner) != 0))
			continue;
		if ((s = version_score(v->versions, v->nversions, version)) == 0)
			continue;
		s = s * 2 + (v->partner != NULL);
		if (s > bscore) {
			bscore = s;
			bestv = v;
		}
	}
	return bestv != NULL ? variant_indexed(bestv) : base;
}

const struct struct_elem *
structure_elem(const struct structure *st, const char *tag, int el, int comp)
{
	const struct struct_segdef *sd;
	struct struct_elem key;
	size_t	 k;

	if (st == NULL || tag == NULL || strlen(tag) >= sizeof(key.tag))
		return NULL;
	if (st->idx != NULL) {
		if (el <= 0 || el >= STRUCT_MAXPOS || (sd = structure_segdef(
		    st->idx, structure_tagkey(tag))) == NULL ||
		    sd->elfirst[el] == 0)
			return NULL;
		for (k = sd->elfirst[el] - 1u; k < sd->nelem &&
		    sd->elem[k].el == el; k++)
			if (sd->elem[k].comp == comp)
				return &sd->elem[k];
		return NULL;
	}
	memset(&key, 0, sizeof(key));
	memcpy(key.tag, tag, strlen(tag) + 1);
	key.el = el;
	key.comp = comp;
	return bsearch(&key, st->elem, st->nelem, sizeof(key), elem_cmp);
}

static int
has_segment(const struct struct_loop *l, const char *tag)
{
	size_t	 i;

	for (i = 0; i < l->nent; i++) {
		if (!l->ent[i].is_loop && strcmp(l->ent[i].tag, tag) == 0)
			return 1;
		if (l->ent[i].is_loop && has_segment(l->ent[i].loop, tag))
			return 1;
	}
	return 0;
}

int
structure_has_segment(const struct structure *st, const char *tag)
{
	const struct struct_segdef *sd;

	if (st == NULL || tag == NULL)
		return 0;
	if (st->idx != NULL && strlen(tag) < sizeof(st->root.tag))
		return (sd = structure_segdef(st->idx,
		    structure_tagkey(tag))) != NULL && sd->in_table;
	return has_segment(&st->root, tag);
}

const struct struct_loop *
structure_loop(const struct structure *st, const char *tag)
{
	if (st == NULL || tag == NULL)
		return NULL;
	return find_loop(&st->root, tag);
}

const struct struct_pairs *
structure_pairs(const struct structure *st, const char *tag)
{
	size_t	 i;

	for (i = 0; st != NULL && i < st->npairs; i++)
		if (strcmp(st->pairs[i].tag, tag) == 0)
			return &st->pairs[i];
	return NULL;
}

const struct struct_hier *
structure_hier(const struct structure *st, const char *tag)
{
	size_t	 i;

	for (i = 0; st != NULL && i < st->nhier; i++)
		if (strcmp(st->hier[i].tag, tag) == 0)
			return &st->hier[i];
	return NULL;
}
