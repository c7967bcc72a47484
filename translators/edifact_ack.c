/*
 * edifact_ack.c: the CONTRL syntax and service report edigate returns for
 * EDIFACT input (edifact_ack.h).  It owns one collector per input: what it
 * was told about each message, group and interchange, and the CONTRL
 * bytes built from it.  Pure: no I/O, no clock (the time is given), no
 * global state; partner data never reaches an abort.
 *
 * Like x12_ack.c: the parser and the tree validator emit diagnostics in
 * input order, so each diagnostic belongs to the next edifact_ack_set (SET
 * scope), the group that ends next (GROUP) or the interchange that ends
 * next (INTERCHANGE).  A message's UCM loop is written when it ends, the
 * CONTRL interchange when the inbound interchange ends.
 *
 * What is written (CONTRL D:3:UN, ISO 9735 syntax service report), per
 * inbound interchange, enveloped UNA/UNB..UNZ with the inbound delimiters
 * and syntax identifier, sender and recipient swapped:
 *
 *   UNH+ref+CONTRL:D:3:UN'
 *   UCI+0020+S002+S003+0083[+0085+0135+S011]'
 *   UCM+0062+S009+0083[+0085+0135+S011]'     per message outside groups
 *     UCS+0096[+0085]'  UCD+0085+0098:0104'   per segment / element error
 *   UCF+0048+S006+S007+0083[+0085+0135+S011]' per group, its UCMs follow
 *   UNT+n+ref'
 *
 * Decisions:
 *
 *  - Due when UNB 0031 is 1 (or 2, syntax 4: indication of receipt, UCI
 *    action 8 only), when opts.always, or when the interchange has an
 *    envelope error (rejection is reported even unasked, as X12 sends a
 *    TA1).  Never for an interchange that carries only CONTRL messages.
 *  - Action 0083: 4 rejected, 7 acknowledged (lower levels acknowledged
 *    unless reported), 8 received.  A rejected interchange (any
 *    INTERCHANGE error) gets the UCI only; a rejected group its UCF only.
 *  - A message is rejected (UCM 4) on any error diagnostic, or when no
 *    map applies (no tree: 0085 14 "value not supported in this position"
 *    on UNH S009 0065: it produces no event, so "acknowledged" would lose
 *    it).  Otherwise UCM 7.  Every message is listed.
 *  - Codes: "EDI-" diagnostics carry 0085 codes (edifact.c); the tree
 *    validator's AK304/AK403 codes are mapped: AK304 1,2 -> 15, 3 -> 13,
 *    4 -> 36, 5 -> 35, 8 -> (element errors follow); AK403 1,2 -> 13,
 *    3 -> 16, 4 -> 40, 5 -> 39, 6 -> 37, 7,8,9 -> 12, 10 -> 15, 12 -> 35,
 *    13 -> 16.  Warnings are not reported (CONTRL has no "accepted with
 *    errors"), map diagnostics (MAP-*) never change a CONTRL.
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
#include "edifact_ack.h"
#include "eglimits.h"
#include "err.h"
#include "slice.h"
#include "segw.h"
#include "xmalloc.h"

#define REF_MAX		99999999999999UL	/* 0020 / 0062: an..14 */

struct ack_err {
	uint32_t	 setpos;
	uint32_t	 seq;
	int		 segcode;	/* UCS 0085; 0: element errors */
	int		 el, comp;
	int		 elcode;	/* UCD 0085; 0: no UCD */
};

/* One reported level: code, service segment tag and element position. */
struct lvl {
	int		 err;
	int		 code;
	char		 tag[4];
	int		 el, comp;
};

struct ack_group {
	char		 ref[64], s006[128], s007[128];
	int		 filled, ended, ok;
	struct lvl	 l;
	struct buf	 body;		/* its UCM loops */
	unsigned long	 nseg;
};

struct ack_ic {
	int		 filled;
	struct edi_delims d;
	int		 ver;		/* syntax version */
	char		 s001[32];	/* as received */
	char		 icref[64], s002[128], s003[128];
	char		 ackreq;
	struct lvl	 l;
	struct buf	 direct;	/* UCM loops outside groups */
	unsigned long	 ndirect;
	unsigned long	 nmsg, ncontrl;
	struct ack_group **grp;
	size_t		 ngrp, grpcap;
};

struct edifact_ack {
	struct edifact_ack_opts o;
	char		 our[128];	/* our S002, escaped; "" none */
	struct ack_ic	*ic;
	/* the message being collected */
	struct ack_err	*err;
	size_t		 nerr, errcap;
	uint32_t	 seq;
	struct lvl	 ml;		/* UCM level */
	int		 set_error;
	/* output */
	struct buf	 out;
	int		 nout;
	int		 rc;
	unsigned long	 icref, msgref;
};

/* -- helpers ------------------------------------------------------------ */

static void
set_rc(struct edifact_ack *c, int r)
{
	if (r < 0 && c->rc == 0)
		c->rc = r;
}

static unsigned long
ref_next(unsigned long *v)
{
	unsigned long r = *v;

	if (r == 0 || r > REF_MAX)
		r = 1;
	*v = r >= REF_MAX ? 1 : r + 1;
	return r;
}

/*
 * Element el of an envelope segment exactly as received (release
 * characters and components kept, CR/LF dropped), into dst.
 */
static void
raw_el(char *dst, size_t len, const struct edi_seg *s,
    const struct edi_delims *d, int el)
{
	const char *p, *e;
	size_t	 n = 0;
	int	 k = 0, c;

	dst[0] = '\0';
	if (s == NULL || s->raw.p == NULL || len == 0)
		return;
	p = s->raw.p;
	e = p + s->raw.len;
	for (; p < e; p++) {
		c = (unsigned char)*p;
		if (d->release && c == (unsigned char)d->release && p + 1 < e) {
			if (k == el && n + 2 < len) {
				dst[n++] = (char)c;
				dst[n++] = p[1];
			}
			p++;
			continue;
		}
		if (c == (unsigned char)d->element) {
			if (k == el)
				break;
			k++;
			continue;
		}
		if (k == el && c != '\r' && c != '\n' && n + 1 < len)
			dst[n++] = (char)c;
	}
	/* a cut-off release pair would escape what follows */
	while (n > 0 && d->release && dst[n - 1] == d->release) {
		size_t r = 0;

		while (r < n && dst[n - 1 - r] == d->release)
			r++;
		if ((r & 1) == 0)
			break;
		n--;
	}
	dst[n] = '\0';
}

/* s with the delimiters of d released, into dst. */
static void
escape(char *dst, size_t len, const char *s, const struct edi_delims *d)
{
	size_t	 n = 0;
	int	 c;

	for (; *s && n + 2 < len; s++) {
		c = (unsigned char)*s;
		if (c < 0x20)
			continue;
		if (segw_is_delim(d, c)) {
			if (!d->release)
				continue;
			dst[n++] = d->release;
		}
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
}

/* An "id:qualifier" from the configuration: components joined by d's. */
static void
escape_composite(char *dst, size_t len, const char *s,
    const struct edi_delims *d)
{
	char	 part[128], esc[128];
	const char *colon;
	size_t	 n = 0, k;

	dst[0] = '\0';
	for (;;) {
		colon = strchr(s, ':');
		k = colon ? (size_t)(colon - s) : strlen(s);
		snprintf(part, sizeof(part), "%.*s", (int)k, s);
		escape(esc, sizeof(esc), part, d);
		if (n + strlen(esc) + 2 >= len)
			break;
		if (n > 0)
			dst[n++] = d->component;
		memcpy(dst + n, esc, strlen(esc) + 1);
		n += strlen(esc);
		if (colon == NULL)
			break;
		s = colon + 1;
	}
}

/* -- codes -------------------------------------------------------------- */

static int
map_segcode(int ak304)
{
	switch (ak304) {
	case 1:
	case 2:
		return 15;
	case 3:
		return 13;
	case 4:
		return 36;
	case 5:
		return 35;
	case 8:
		return 0;
	default:
		return ak304 > 0 ? 18 : 0;
	}
}

static int
map_elcode(int ak403)
{
	switch (ak403) {
	case 1:
	case 2:
		return 13;
	case 3:
	case 13:
		return 16;
	case 4:
		return 40;
	case 5:
		return 39;
	case 6:
		return 37;
	case 7:
	case 8:
	case 9:
		return 12;
	case 10:
		return 15;
	case 12:
		return 35;
	default:
		return ak403 > 0 ? 12 : 0;
	}
}

static int
native(const struct diag *d)
{
	return strncmp(d->code, "EDI-", 4) == 0;
}

static int
envelope_set_code(const char *code)
{
	return strncmp(code, "EDI-UNH-", 8) == 0 ||
	    strncmp(code, "EDI-UNT-", 8) == 0 ||
	    strcmp(code, "EDI-SET-LIMIT") == 0;
}

static void
lvl_note(struct lvl *l, const struct diag *d, int code)
{
	if (l->err)
		return;
	l->err = 1;
	l->code = code > 0 ? code : 18;
	snprintf(l->tag, sizeof(l->tag), "%.3s", d->tag);
	l->el = d->el;
	l->comp = d->comp;
}

/* -- segment writer (segments: segw.c) ---------------------------------- */

/* 0085, 0135 and S011 of a level (UCI, UCF, UCM). */
static void
seg_lvl(struct segw *w, const struct lvl *l)
{
	char	 t[32];

	if (!l->err)
		return;
	segw_num(w, (unsigned long)l->code);
	escape(t, sizeof(t), l->tag, w->d);
	segw_raw(w, t);
	if (l->el > 0 && l->comp > 0)
		snprintf(t, sizeof(t), "%d%c%d", l->el, w->d->component,
		    l->comp);
	else if (l->el > 0)
		snprintf(t, sizeof(t), "%d", l->el);
	else
		t[0] = '\0';
	segw_raw(w, t);
}

/* -- collector state ---------------------------------------------------- */

static struct ack_ic *
cur_ic(struct edifact_ack *c)
{
	if (c->ic == NULL) {
		c->ic = xcalloc(1, sizeof(*c->ic));
		buf_init(&c->ic->direct, EG_MAX_DOC_SIZE);
	}
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
	buf_free(&ic->direct);
	free(ic);
}

static void
ic_fill(struct ack_ic *ic, const struct edi_env *env)
{
	const struct edi_seg *unb = env->interchange;
	const struct slice *v;
	char	 t[8];

	if (ic->filled || unb == NULL)
		return;
	ic->filled = 1;
	ic->d = env->delims;
	raw_el(ic->s001, sizeof(ic->s001), unb, &ic->d, 1);
	raw_el(ic->s002, sizeof(ic->s002), unb, &ic->d, 2);
	raw_el(ic->s003, sizeof(ic->s003), unb, &ic->d, 3);
	raw_el(ic->icref, sizeof(ic->icref), unb, &ic->d, 5);
	raw_el(t, sizeof(t), unb, &ic->d, 9);
	ic->ackreq = t[0] != '\0' && t[1] == '\0' ? t[0] : '\0';
	v = edi_value(unb, 1, 2, 1);
	ic->ver = v != NULL && v->len == 1 && v->p[0] >= '1' &&
	    v->p[0] <= '9' ? v->p[0] - '0' : 3;
}

static void
grp_fill(struct ack_ic *ic, struct ack_group *g, const struct edi_seg *ung)
{
	if (g->filled || ung == NULL)
		return;
	g->filled = 1;
	raw_el(g->ref, sizeof(g->ref), ung, &ic->d, 5);
	raw_el(g->s006, sizeof(g->s006), ung, &ic->d, 2);
	raw_el(g->s007, sizeof(g->s007), ung, &ic->d, 3);
}

static void
set_clear(struct edifact_ack *c)
{
	c->nerr = 0;
	c->seq = 0;
	memset(&c->ml, 0, sizeof(c->ml));
	c->set_error = 0;
}

/* -- diagnostics -------------------------------------------------------- */

static void
set_diag(struct edifact_ack *c, const struct diag *d)
{
	struct ack_err *e;
	int	 segcode, elcode;

	if (d->sev != DIAG_ERROR)
		return;
	c->set_error = 1;
	if (native(d) && envelope_set_code(d->code)) {
		lvl_note(&c->ml, d, d->ack_seg);
		return;
	}
	if (native(d)) {
		segcode = d->ack_seg;
		elcode = d->ack_el;
	} else {
		segcode = map_segcode(d->ack_seg);
		elcode = map_elcode(d->ack_el);
	}
	/* Only what names a segment in the message becomes a UCS. */
	if ((segcode == 0 && elcode == 0) || d->setpos == 0 ||
	    c->nerr >= EDIFACT_ACK_MAX_ERRS)
		return;
	if (c->nerr == c->errcap) {
		c->errcap = c->errcap ? c->errcap * 2 : 16;
		c->err = xreallocarray(c->err, c->errcap, sizeof(*c->err));
	}
	e = &c->err[c->nerr++];
	memset(e, 0, sizeof(*e));
	e->setpos = d->setpos;
	e->seq = c->seq++;
	e->segcode = segcode;
	e->el = d->el;
	e->comp = d->comp;
	e->elcode = d->el > 0 ? elcode : 0;
	if (e->elcode == 0 && e->segcode == 0)
		e->segcode = elcode;
}

void
edifact_ack_diag(struct edifact_ack *c, const struct diag *d)
{
	struct ack_ic	*ic;

	if (c == NULL || d == NULL)
		return;
	if (d->scope == DIAG_SCOPE_FILE || strncmp(d->code, "MAP-", 4) == 0)
		return;
	switch (d->scope) {
	case DIAG_SCOPE_INTERCHANGE:
		if (d->sev == DIAG_ERROR)
			lvl_note(&cur_ic(c)->l, d, d->ack_seg);
		break;
	case DIAG_SCOPE_GROUP:
		if (d->sev != DIAG_ERROR)
			break;
		ic = cur_ic(c);
		cur_group(ic)->ok = 0;
		lvl_note(&cur_group(ic)->l, d, d->ack_seg);
		break;
	case DIAG_SCOPE_SET:
		set_diag(c, d);
		break;
	case DIAG_SCOPE_FILE:
		break;
	}
}

/* -- one message: its UCM loop ------------------------------------------ */

static int
err_cmp(const void *a, const void *b)
{
	const struct ack_err *x = a, *y = b;

	if (x->setpos != y->setpos)
		return x->setpos < y->setpos ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static unsigned long
write_ucs(struct edifact_ack *c, struct buf *b, const struct edi_delims *d)
{
	struct segw w;
	size_t	 i, j, k;
	unsigned long nseg = 0, nucs = 0;
	int	 code, nucd;
	char	 t[32];

	if (c->nerr == 0)
		return 0;
	qsort(c->err, c->nerr, sizeof(*c->err), err_cmp);
	for (i = 0; i < c->nerr && nucs < EDIFACT_ACK_MAX_UCS; i = j) {
		for (j = i + 1; j < c->nerr && c->err[j].setpos ==
		    c->err[i].setpos; j++)
			;
		code = 0;
		for (k = i; k < j && code == 0; k++)
			code = c->err[k].segcode;
		segw_start(&w, b, d, &c->rc, "UCS");
		segw_num(&w, c->err[i].setpos);
		if (code)
			segw_num(&w, (unsigned long)code);
		segw_end(&w);
		nseg++;
		nucs++;
		for (k = i, nucd = 0; k < j && nucd < EDIFACT_ACK_MAX_UCD;
		    k++) {
			if (c->err[k].elcode == 0 || c->err[k].el <= 0)
				continue;
			segw_start(&w, b, d, &c->rc, "UCD");
			segw_num(&w, (unsigned long)c->err[k].elcode);
			if (c->err[k].comp > 0)
				snprintf(t, sizeof(t), "%d%c%d", c->err[k].el,
				    d->component, c->err[k].comp);
			else
				snprintf(t, sizeof(t), "%d", c->err[k].el);
			segw_raw(&w, t);
			segw_end(&w);
			nseg++;
			nucd++;
		}
	}
	return nseg;
}

static void
set_render(struct edifact_ack *c, struct ack_ic *ic, struct buf *b,
    unsigned long *nseg, const struct edi_set *set)
{
	const struct edi_delims *d = &ic->d;
	const struct edi_seg *unh;
	struct segw w;
	struct lvl l = c->ml;
	char	 ref[64], s009[128];
	int	 supported, rejected;

	if (set->nseg == 0)
		return;
	unh = &set->seg[0];
	supported = set->root != NULL;
	rejected = c->set_error || set->rejected || !supported;
	if (!supported && !l.err) {
		l.err = 1;
		l.code = 14;
		snprintf(l.tag, sizeof(l.tag), "UNH");
		l.el = 2;
		l.comp = 1;
	}
	if (rejected && !l.err && c->nerr == 0) {
		l.err = 1;
		l.code = 18;
	}
	raw_el(ref, sizeof(ref), unh, d, 1);
	raw_el(s009, sizeof(s009), unh, d, 2);
	if (ref[0] == '\0' || s009[0] == '\0')
		return;		/* cannot be named: counted only */
	segw_start(&w, b, d, &c->rc, "UCM");
	segw_raw(&w, ref);
	segw_raw(&w, s009);
	segw_raw(&w, rejected ? "4" : "7");
	seg_lvl(&w, &l);
	segw_end(&w);
	(*nseg)++;
	if (rejected)
		*nseg += write_ucs(c, b, d);
}

void
edifact_ack_set(struct edifact_ack *c, const struct edi_set *set)
{
	struct ack_ic	*ic;
	struct ack_group *g;

	if (c == NULL || set == NULL)
		return;
	if (set->env.syntax != EDI_EDIFACT || set->env.interchange == NULL) {
		set_clear(c);		/* no UNB: nobody to answer */
		return;
	}
	ic = cur_ic(c);
	ic_fill(ic, &set->env);
	ic->nmsg++;
	if (slice_eqs(set->doctype, "CONTRL")) {
		ic->ncontrl++;	/* a CONTRL is never acknowledged */
		set_clear(c);
		return;
	}
	if (set->env.group != NULL) {
		g = cur_group(ic);
		grp_fill(ic, g, set->env.group);
		set_render(c, ic, &g->body, &g->nseg, set);
	} else
		set_render(c, ic, &ic->direct, &ic->ndirect, set);
	set_clear(c);
}

void
edifact_ack_group_end(struct edifact_ack *c, const struct edi_env *env,
    int ok)
{
	struct ack_ic	*ic;
	struct ack_group *g;

	if (c == NULL || env == NULL || env->syntax != EDI_EDIFACT)
		return;
	ic = cur_ic(c);
	ic_fill(ic, env);
	g = cur_group(ic);
	grp_fill(ic, g, env->group);
	if (!ok)
		g->ok = 0;
	g->ended = 1;
	set_clear(c);
}

/* -- one interchange ---------------------------------------------------- */

static void
write_una(struct edifact_ack *c, const struct edi_delims *d, int ver)
{
	char	 una[10];

	memcpy(una, "UNA", 3);
	una[3] = d->component;
	una[4] = d->element;
	una[5] = d->decimal ? d->decimal : '.';
	una[6] = d->release ? d->release : ' ';
	una[7] = ver >= 4 && d->repetition ? d->repetition : ' ';
	una[8] = d->segment;
	set_rc(c, buf_add(&c->out, una, 9));
}

static void
ic_render(struct edifact_ack *c, struct ack_ic *ic, int ok)
{
	struct edi_delims d = ic->d;
	struct segw w;
	struct tm tm;
	time_t	 now = c->o.now.tv_sec;
	char	 date[16], hm[8], t[64], our[128], ucmref[24];
	unsigned long icref, msgref, nseg;
	size_t	 i;
	int	 rejected, receipt, due;

	if (!ic->filled)
		return;
	if (ic->nmsg > 0 && ic->ncontrl == ic->nmsg)
		return;		/* CONTRL for CONTRL: never */
	rejected = !ok || ic->l.err;
	receipt = ic->ackreq == '2' && ic->ver >= 4;
	due = ic->ackreq == '1' || receipt || c->o.always || rejected;
	if (!due)
		return;
	if (d.release == 0)
		d.release = '?';	/* we escape what we write */
	memset(&tm, 0, sizeof(tm));
	gmtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%Y%m%d", &tm) != 8 ||
	    strftime(hm, sizeof(hm), "%H%M", &tm) != 4) {
		set_rc(c, EG_ERR_INVAL);	/* a year outside 1000..9999 */
		return;
	}
	if (ic->ver < 4)			/* YYMMDD before syntax 4 */
		memmove(date, date + 2, 7);
	if (c->our[0] != '\0')
		escape_composite(our, sizeof(our), c->o.our_edifact_id, &d);
	else
		snprintf(our, sizeof(our), "%s", ic->s003);

	write_una(c, &d, ic->ver);
	icref = ref_next(&c->icref);
	segw_start(&w, &c->out, &d, &c->rc, "UNB");
	snprintf(t, sizeof(t), "%s", ic->s001[0] ? ic->s001 : "UNOB:3");
	segw_raw(&w, t);
	segw_raw(&w, our[0] ? our : "UNKNOWN");
	segw_raw(&w, ic->s002[0] ? ic->s002 : "UNKNOWN");
	snprintf(t, sizeof(t), "%s%c%s", date, d.component, hm);
	segw_raw(&w, t);
	segw_num(&w, icref);
	segw_end(&w);

	msgref = ref_next(&c->msgref);
	snprintf(ucmref, sizeof(ucmref), "%lu", msgref);
	segw_start(&w, &c->out, &d, &c->rc, "UNH");
	segw_raw(&w, ucmref);
	snprintf(t, sizeof(t), "CONTRL%cD%c3%cUN", d.component, d.component,
	    d.component);
	segw_raw(&w, t);
	segw_end(&w);
	nseg = 1;

	segw_start(&w, &c->out, &d, &c->rc, "UCI");
	segw_raw(&w, ic->icref[0] ? ic->icref : "0");
	segw_raw(&w, ic->s002[0] ? ic->s002 : "UNKNOWN");
	segw_raw(&w, ic->s003[0] ? ic->s003 : "UNKNOWN");
	segw_raw(&w, rejected ? "4" : receipt && c->o.always == 0 &&
	    ic->ackreq == '2' ? "8" : "7");
	if (rejected && !ic->l.err) {
		ic->l.err = 1;
		ic->l.code = 18;
	}
	seg_lvl(&w, &ic->l);
	segw_end(&w);
	nseg++;

	if (!rejected && !(receipt && !c->o.always)) {
		set_rc(c, buf_add(&c->out, ic->direct.p ? ic->direct.p : "",
		    ic->direct.len));
		nseg += ic->ndirect;
		for (i = 0; i < ic->ngrp; i++) {
			struct ack_group *g = ic->grp[i];

			if (!g->filled)
				continue;
			segw_start(&w, &c->out, &d, &c->rc, "UCF");
			segw_raw(&w, g->ref[0] ? g->ref : "0");
			segw_raw(&w, g->s006);
			segw_raw(&w, g->s007);
			segw_raw(&w, g->ok ? "7" : "4");
			if (!g->ok && !g->l.err) {
				g->l.err = 1;
				g->l.code = 18;
			}
			seg_lvl(&w, &g->l);
			segw_end(&w);
			nseg++;
			if (g->ok) {
				set_rc(c, buf_add(&c->out, g->body.p ?
				    g->body.p : "", g->body.len));
				nseg += g->nseg;
			}
		}
	}
	segw_start(&w, &c->out, &d, &c->rc, "UNT");
	segw_num(&w, nseg + 1);
	segw_raw(&w, ucmref);
	segw_end(&w);
	segw_start(&w, &c->out, &d, &c->rc, "UNZ");
	segw_raw(&w, "1");
	segw_num(&w, icref);
	segw_end(&w);
	c->nout++;
}

void
edifact_ack_interchange_end(struct edifact_ack *c, const struct edi_env *env,
    int ok)
{
	struct ack_ic	*ic;

	if (c == NULL || env == NULL || env->syntax != EDI_EDIFACT)
		return;
	ic = cur_ic(c);
	ic_fill(ic, env);
	ic_render(c, ic, ok);
	ic_free(ic);
	c->ic = NULL;
	set_clear(c);
}

/* -- the collector ------------------------------------------------------ */

struct edifact_ack *
edifact_ack_new(const struct edifact_ack_opts *o)
{
	struct edifact_ack *c;

	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->o.our_edifact_id = NULL;
	if (o->our_edifact_id != NULL && o->our_edifact_id[0] != '\0') {
		snprintf(c->our, sizeof(c->our), "%s", o->our_edifact_id);
		c->o.our_edifact_id = c->our;
	}
	buf_init(&c->out, EG_MAX_DOC_SIZE);
	c->icref = o->icref;
	c->msgref = o->msgref;
	return c;
}

void
edifact_ack_free(struct edifact_ack *c)
{
	if (c == NULL)
		return;
	ic_free(c->ic);
	free(c->err);
	buf_free(&c->out);
	free(c);
}

int
edifact_ack_output(struct edifact_ack *c, struct buf *out)
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
edifact_ack_counters(const struct edifact_ack *c, unsigned long *icref,
    unsigned long *msgref)
{
	unsigned long i = c->icref, m = c->msgref;

	if (icref)
		*icref = ref_next(&i);
	if (msgref)
		*msgref = ref_next(&m);
}
