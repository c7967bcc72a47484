/*
 * offer.h: the parser tests' check of sets offered to other threads
 * (translator.h, struct edi_msg): a parser that offers every set it can,
 * each parsed at once by the translator's msg_parse with a parser of its
 * own, must give the handler the same sets and diagnostics, in the same
 * order, as one that offers none; and offer only the sets that a parser
 * started at their header reads as the file's parser does.  Included by
 * unit_x12.c and unit_edifact.c.
 */
#ifndef OFFER_H
#define OFFER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "edi.h"
#include "tap.h"
#include "translator.h"
#include "xmalloc.h"

struct offer {
	const struct translator *tr;
	const char	*in;
	char		*text;		/* what the handler saw */
	size_t		 len, cap;
	int		 offers;
	void		*wk;		/* tr's parser of offered sets */
	struct diag_sink ds;
	struct edi_handler h2;		/* for the offered messages */
};

static void __attribute__((format(printf, 2, 3)))
offer_say(struct offer *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->text + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len)
			break;
		o->cap = o->cap * 2 + (size_t)n + 64;
		o->text = xreallocarray(o->text, o->cap, 1);
	}
	o->len += (size_t)n;
}

static void
offer_diag(void *arg, const struct diag *d)
{
	offer_say(arg, "diag %s %u %u %d %d %d %s %d %d: %s\n", d->code,
	    d->filepos, d->setpos, d->sev, d->scope, d->el, d->tag, d->comp,
	    d->ack_seg, d->msg);
}

static int
offer_set(void *arg, struct edi_set *s)
{
	struct offer *o = arg;
	uint32_t i;
	uint16_t k;

	offer_say(o, "set %.*s %.*s %.*s ic %u rej %d raw %zu+%zu segs %u\n",
	    (int)s->doctype.len, s->doctype.p, (int)s->version.len,
	    s->version.p, (int)s->control.len, s->control.p,
	    s->env.interchange_index, s->rejected,
	    (size_t)(s->raw.p - o->in), s->raw.len, s->nseg);
	for (i = 0; i < s->nseg; i++) {
		offer_say(o, " %s %u %u:", s->seg[i].tag, s->seg[i].filepos,
		    s->seg[i].setpos);
		for (k = 0; k < s->seg[i].nval; k++)
			offer_say(o, " %u.%u.%u=%.*s", s->seg[i].val[k].el,
			    s->seg[i].val[k].rep, s->seg[i].val[k].comp,
			    (int)s->seg[i].val[k].s.len, s->seg[i].val[k].s.p);
		offer_say(o, "\n");
	}
	return 0;
}

static int
offer_env(void *arg, const struct edi_env *env, int ok)
{
	offer_say(arg, "end %u %u %d\n", env->interchange_index,
	    env->group_index, ok);
	return 0;
}

static int
offer_take(void *arg, const struct edi_set *hdr, const struct edi_msg *m)
{
	struct offer *o = arg;
	int	 r;

	o->offers++;
	offer_say(o, "offer %.*s\n", (int)hdr->control.len, hdr->control.p);
	edi_snap_hold(m->snap);
	r = o->tr->msg_parse(&o->wk, m, &o->h2, o);
	edi_snap_drop(m->snap);
	return r == 0 ? 1 : r;
}

/* The handler's record of in, with offers or without; offers counted. */
static char *
offer_run(const struct translator *tr, const char *in, size_t len,
    int offering, int *offers)
{
	struct offer o;
	struct edi_handler h = { 0 };
	char	*text;
	size_t	 i, j;

	memset(&o, 0, sizeof(o));
	o.cap = 4096;
	o.text = xmalloc(o.cap);
	o.text[0] = '\0';
	o.tr = tr;
	o.in = in;
	o.ds.emit = offer_diag;
	o.ds.arg = &o;
	h.set = offer_set;
	h.group_end = offer_env;
	h.interchange_end = offer_env;
	h.diags = &o.ds;
	h.msg = offering ? offer_take : NULL;
	o.h2 = h;
	o.h2.msg = NULL;
	(void)tr->parse(slice_make(in, len), "t.edi", &h, &o);
	if (o.wk != NULL)
		tr->wk_free(o.wk);
	*offers = o.offers;
	/* the offers themselves are the only lines that may differ */
	text = o.text;
	for (i = j = 0; i < o.len; ) {
		size_t e = i;

		while (e < o.len && text[e] != '\n')
			e++;
		if (strncmp(text + i, "offer ", 6) != 0) {
			memmove(text + j, text + i, e + 1 - i);
			j += e + 1 - i;
		}
		i = e + 1;
	}
	text[j < o.len ? j : o.len] = '\0';
	return text;
}

static void
test_offer_one(const struct translator *tr, const char *loop,
    const char *name, const char *in, size_t len, int want)
{
	char	*a, *b;
	size_t	 i;
	int	 n0, n1;

	a = offer_run(tr, in, len, 0, &n0);
	b = offer_run(tr, in, len, 1, &n1);
	ok(strcmp(a, b) == 0 && n0 == 0 && n1 == want, "offered sets, %s (%s): "
	    "%s: %d of %d offered, the same sets and diagnostics", tr->name,
	    loop, name, n1, want);
	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		;
	if (a[i] != b[i])
		printf("# differs at byte %zu: \"%.60s\" against \"%.60s\"\n",
		    i, a + i, b + i);
	free(a);
	free(b);
}

/* A crafted input and the sets it should offer. */
struct offer_case {
	const char	*name, *in;
	int		 want;
};

static void
test_offer_cases(const struct translator *tr, const char *loop,
    const struct offer_case *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		test_offer_one(tr, loop, c[i].name, c[i].in, strlen(c[i].in),
		    c[i].want);
}

#endif /* OFFER_H */
