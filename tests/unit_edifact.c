/*
 * unit_edifact.c: EDIFACT tokenizer and envelope state machine: every
 * corpus flavour (UNA delimiters, release characters, hard wraps, character
 * sets, groups, broken trailers, no UNB), every envelope diagnostic on a
 * crafted input (and none on the valid ones), limits, garbage that must not
 * crash, the segment counter, and the loop tree over EDIFACT sets.
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
#include "edifact.h"
#include "eglimits.h"
#include "err.h"
#include "structure.h"
#include "tagpad.h"
#include "offer.h"
#include "tap.h"
#include "translator.h"
#include "xmalloc.h"

#define MAXD	2048
#define MAXP	8

/* A value to capture from a set while it is alive. */
struct probe {
	int		 set;		/* 0-based set index */
	const char	*tag;		/* "" : the set's UNB (env.interchange) */
	int		 occ;		/* occurrence of tag in the set, 1.. */
	int		 el, comp, rep;
	const char	*want;		/* NULL: absent */
};

struct run {
	struct diag	*d;
	int		 nd;
	int		 nsets, nrejected;
	int		 groups_ok, groups_bad, ics_ok, ics_bad;
	char		 doctypes[512];
	char		 versions[256];
	uint32_t	 nseg[8];
	int		 no_unb[8], has_group[8];
	uint32_t	 icindex[8];
	char		 decimal, repetition;
	const struct probe *probe;
	int		 nprobe;
	char		 got[MAXP][256];
	int		 found[MAXP];
	const struct structure *st;	/* build trees with this */
	int		 tree_loops;	/* loop instances seen */
	char		 loops[512];
	uint32_t	 lin_qty_in_lin;
	int		 utf8_ok;	/* every value valid UTF-8 */
	long		 tagcount;
	const char	*count_tag;
	struct diag_sink ds;
};

static void
collect(void *arg, const struct diag *d)
{
	struct run *r = arg;

	if (r->nd < MAXD)
		r->d[r->nd++] = *d;
}

static int
valid_utf8(struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p, *e = p + s.len;
	int	 n;

	while (p < e) {
		if (*p < 0x80)
			n = 1;
		else if ((*p & 0xE0) == 0xC0)
			n = 2;
		else if ((*p & 0xF0) == 0xE0)
			n = 3;
		else if ((*p & 0xF8) == 0xF0)
			n = 4;
		else
			return 0;
		if (e - p < n)
			return 0;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void
loop_names(const struct edi_set *s, const struct edi_loop *l, char *buf,
    size_t len)
{
	uint32_t i;
	size_t	 n;

	for (i = 0; i < l->nkid; i++) {
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s(", n && buf[n - 1] != '(' ?
		    " " : "",
		    s->seg[l->kid[i]->first].tag);
		loop_names(s, l->kid[i], buf, len);
		n = strlen(buf);
		snprintf(buf + n, len - n, ")");
	}
}

static int
on_set(void *arg, struct edi_set *s)
{
	struct run *r = arg;
	size_t	 n = strlen(r->doctypes);
	const struct slice *v;
	int	 i, occ, k;
	uint32_t j;

	tagpad_set(s);
	if (r->nsets < 8) {
		r->nseg[r->nsets] = s->nseg;
		r->no_unb[r->nsets] = s->env.interchange == NULL;
		r->has_group[r->nsets] = s->env.group != NULL;
		r->icindex[r->nsets] = s->env.interchange_index;
	}
	r->decimal = s->env.delims.decimal;
	r->repetition = s->env.delims.repetition;
	snprintf(r->doctypes + n, sizeof(r->doctypes) - n, "%s%.*s",
	    n ? "," : "", (int)s->doctype.len, s->doctype.p);
	n = strlen(r->versions);
	snprintf(r->versions + n, sizeof(r->versions) - n, "%s%.*s",
	    n ? "," : "", (int)s->version.len, s->version.p);
	for (i = 0; i < r->nprobe; i++) {
		const struct probe *p = &r->probe[i];

		if (p->tag == NULL || p->set != r->nsets)
			continue;
		if (p->tag[0] == '\0') {
			v = edi_value(s->env.interchange, p->el, p->comp,
			    p->rep);
			if (v) {
				r->found[i] = 1;
				snprintf(r->got[i], sizeof(r->got[i]), "%.*s",
				    (int)v->len, v->p);
			}
			continue;
		}
		for (j = 0, occ = 0; j < s->nseg; j++) {
			if (strcmp(s->seg[j].tag, p->tag) != 0 ||
			    ++occ != p->occ)
				continue;
			v = edi_value(&s->seg[j], p->el, p->comp, p->rep);
			if (v) {
				r->found[i] = 1;
				snprintf(r->got[i], sizeof(r->got[i]), "%.*s",
				    (int)v->len, v->p);
			}
			break;
		}
	}
	for (j = 0; j < s->nseg; j++) {
		if (r->count_tag && strcmp(s->seg[j].tag, r->count_tag) == 0)
			r->tagcount++;
		for (k = 0; k < s->seg[j].nval; k++)
			if (!valid_utf8(s->seg[j].val[k].s))
				r->utf8_ok = 0;
	}
	if (r->st != NULL) {
		struct diag_sink ds = { collect, r, 0, 0 };

		edi_tree_build(s, r->st, &ds);
		if (s->root) {
			r->loops[0] = '\0';
			loop_names(s, s->root, r->loops, sizeof(r->loops));
			for (j = 0; j < s->nseg; j++)
				if (strcmp(s->seg[j].tag, "QTY") == 0 &&
				    s->seg[j].loop && s->seg[j].loop->decl &&
				    strcmp(s->seg[j].loop->decl->tag, "LIN") ==
				    0)
					r->lin_qty_in_lin++;
		}
	}
	r->nsets++;
	r->nrejected += s->rejected;
	return 0;
}

static int
on_group(void *arg, const struct edi_env *env, int ok)
{
	struct run *r = arg;

	if (ok)
		r->groups_ok++;
	else
		r->groups_bad++;
	return 0;
}

static int
on_ic(void *arg, const struct edi_env *env, int ok)
{
	struct run *r = arg;

	if (ok)
		r->ics_ok++;
	else
		r->ics_bad++;
	return 0;
}

static struct diag dstore[MAXD];
static struct run r_edges;		/* test_block_edges() */

static int
run_probe(struct run *r, const char *p, size_t len, const struct probe *pr,
    int npr, const struct structure *st, const char *count_tag)
{
	struct edi_handler h = { 0 };

	memset(r, 0, sizeof(*r));
	r->d = dstore;
	r->probe = pr;
	r->nprobe = npr;
	r->st = st;
	r->utf8_ok = 1;
	r->count_tag = count_tag;
	r->ds.emit = collect;
	r->ds.arg = r;
	h.set = on_set;
	h.group_end = on_group;
	h.interchange_end = on_ic;
	h.diags = &r->ds;
	return translator_edifact.parse(slice_make(p, len), "t.edi", &h, r);
}

static int
run(struct run *r, const char *s)
{
	return run_probe(r, s, strlen(s), NULL, 0, NULL, NULL);
}

static int
ncode(const struct run *r, const char *code)
{
	int	 i, n = 0;

	for (i = 0; i < r->nd; i++)
		if (strcmp(r->d[i].code, code) == 0)
			n++;
	return n;
}

static const struct diag *
find(const struct run *r, const char *code)
{
	int	 i;

	for (i = 0; i < r->nd; i++)
		if (strcmp(r->d[i].code, code) == 0)
			return &r->d[i];
	return NULL;
}

static int
nerrors(const struct run *r)
{
	int	 i, n = 0;

	for (i = 0; i < r->nd; i++)
		if (r->d[i].sev == DIAG_ERROR)
			n++;
	return n;
}

static void
dump(const struct run *r)
{
	int	 i;

	for (i = 0; i < r->nd && i < 12; i++)
		printf("#   %s %s seg %u (%s) el %d: %s\n",
		    r->d[i].sev == DIAG_ERROR ? "error" : "warning",
		    r->d[i].code, r->d[i].filepos, r->d[i].tag, r->d[i].el,
		    r->d[i].msg);
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*p;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = xmalloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	*lenp = (size_t)n;
	return p;
}

static const char *
shared_dir(void)
{
	static char buf[EG_MAX_PATH];
	const char *s = getenv("EDIGATE_SHARED"), *top;

	if (s != NULL && *s != '\0')
		return s;
	top = getenv("top_srcdir");
	snprintf(buf, sizeof(buf), "%s/../shared", top ? top : ".");
	return buf;
}

static char *
corpus_file(const char *name, size_t *lenp)
{
	char	 path[EG_MAX_PATH];

	snprintf(path, sizeof(path), "%s/corpus/public/edifact/%s",
	    shared_dir(), name);
	return slurp(path, lenp);
}

/* -- corpus flavours ---------------------------------------------------- */

struct ctest {
	const char	*file;
	int		 nsets;
	const char	*doctypes;
	int		 ics_ok, ics_bad;
	const char	*codes;		/* each must fire */
	const char	*absent;	/* none may fire ("*ERROR": no errors) */
	long		 nsegments;	/* edifact_count_segments; 0: skip */
	struct probe	 p[MAXP];
};

static const struct ctest corpus[] = {
	{ "DESADV_D07A_GMI021_CPS-pack-levels_duplicate-UNH-ref.edi", 2,
	  "DESADV,DESADV", 0, 1, "EDI-UNH-DUP EDI-UNB-FIELD", "EDI-UNT-COUNT",
	  205, {
	    { 0, "BGM", 1, 2, 1, 1, "20171229" },
	    { 0, "GIN", 1, 2, 1, 1, "LOT NO. 1-3" },
	    { 1, "CPS", 2, 3, 1, 1, "1" },
	    { 0, "UNT", 1, 1, 1, 1, "101" },
	  } },
	{ "DESADV_D96A_UNA_utf8-in-UNOC.edi", 1, "DESADV", 1, 0,
	  "EDI-UNH-VERSION EDI-CHARSET", "EDI-UNT-COUNT", 0, {
	    { 0, "IMD", 1, 3, 4, 1, "MUNCI\xC3\x8B THE MIDDLE" },
	  } },
	{ "DESADV_D96A_UNOC1_one-CPS.edi", 1, "DESADV", 1, 0,
	  "EDI-UNH-VERSION", "EDI-CHARSET EDI-UNT-COUNT", 0, {
	    { 0, "BGM", 1, 2, 1, 1, "Y02197250" },
	    { 0, "", 0, 2, 2, 1, "31B" },
	  } },
	{ "IFTMBC_D00B_newline-inside-segment.edi", 1, "IFTMBC", 0, 1,
	  "EDI-UNB-DATE EDI-NEWLINE EDI-UNT-COUNT", NULL, 0, {
	    { 0, "FTX", 3, 4, 1, 1, "THE SHIPPER SHALL NOT BE RESPONSIBLE "
	      "FOR ANY COSTS/DELAYS OCCUR" },
	    { 0, "FTX", 3, 4, 2, 1, "DUE TO INTERVENTION OF CUSTOMS." },
	  } },
	{ "IFTMIN-INVOIC_duplicate-message-refs_bad-UNT.edi", 4,
	  "IFTMIN,INVOIC,IFTMIN,INVOIC", 0, 1,
	  "EDI-UNT-COUNT EDI-UNT-CONTROL EDI-UNH-DUP EDI-UNZ-COUNT", NULL, 0,
	  { { 0, "", 0, 5, 1, 1, "581575491" } } },
	{ "INFENT_D00B_UNOL_release-apostrophe_UNG.edi", 1, "INFENT", 1, 0,
	  "EDI-UNT-COUNT", "EDI-UNE-COUNT EDI-UNE-CONTROL EDI-CHARSET", 0, {
	    { 0, "RFF", 2, 1, 2, 1, "TELE'DECLAR" },
	  } },
	{ "INVOIC_D03B_UNOC4_repetition-separator_release-apostrophe.edi", 1,
	  "INVOIC", 1, 0, "", "*ERROR EDI-CHARSET", 39, {
	    { 0, "CUX", 1, 1, 1, 1, "3" },
	    { 0, "CUX", 1, 1, 1, 2, "1" },
	    { 0, "IMD", 1, 3, 5, 1, "Collectors edition of The Hobbit with "
	      "Tolkien's original colours on sleeve" },
	    { 0, "PRI", 1, 1, 2, 1, "9.83" },
	  } },
	{ "INVOIC_D97A_UNOA1_no-UNA.edi", 1, "INVOIC", 1, 0, "", "*ERROR",
	  0, { { 0, "RFF", 1, 1, 3, 1, NULL } } },
	{ "INVOIC_D97A_trailing-component-separator.edi", 1, "INVOIC", 1, 0,
	  "EDI-TRAILING", "*ERROR", 0, {
	    { 0, "RFF", 1, 1, 2, 1, "382324067" },
	    { 0, "RFF", 1, 1, 3, 1, NULL },
	  } },
	{ "INVOIC_D97B_UNA-caret-star-dollar-delimiters.edi", 1, "INVOIC",
	  0, 1, "EDI-UNB-FIELD EDI-UNB-TEST", "EDI-UNT-COUNT", 0, {
	    { 0, "BGM", 1, 2, 1, 1, "342459" },
	    { 0, "", 0, 3, 1, 1, "006415160CFS" },
	  } },
	{ "INVOIC_D97B_UNA-custom-delimiters_release.edi", 1, "INVOIC", 1, 0,
	  "", "*ERROR EDI-CHARSET", 0, {
	    { 0, "", 0, 3, 1, 1, "006415160" },
	    { 0, "NAD", 2, 4, 1, 1, "GENERAL WIDGET COMPANY" },
	    { 0, "NAD", 2, 2, 3, 1, "16" },
	  } },
	{ "INVOIC_D97B_UNOE-cyrillic-8859-5.edi", 1, "INVOIC", 0, 1,
	  "EDI-UNB-TEST", "EDI-CHARSET", 0, {
	    /* "Рыба текст" */
	    { 0, "NAD", 1, 4, 1, 1, "\xD0\xA0\xD1\x8B\xD0\xB1\xD0\xB0 "
	      "\xD1\x82\xD0\xB5\xD0\xBA\xD1\x81\xD1\x82" },
	  } },
	{ "INVOIC_D97B_hard-wrapped-50-cols.edi", 1, "INVOIC", 1, 0,
	  "EDI-NEWLINE EDI-CHARSET", "*ERROR", 26, {
	    { 0, "", 0, 5, 1, 1, "00000000000778" },
	    { 0, "NAD", 2, 4, 1, 1, "B\xC3\x9CTTNER WIDGET COMPANY" },
	    { 0, "LIN", 2, 3, 1, 1, "157871" },
	    { 0, "ALI", 2, 1, 1, 1, "JP" },
	  } },
	{ "INVOIC_D97B_no-UNA_utf8-in-UNOA.edi", 1, "INVOIC", 1, 0,
	  "EDI-CHARSET", "*ERROR EDI-NEWLINE", 26, {
	    { 0, "NAD", 2, 4, 1, 1, "B\xC3\x9CTTNER WIDGET COMPANY" },
	    { 0, "MOA", 3, 1, 2, 1, "2137.58" },
	  } },
	{ "ORDERS-DESADV_two-interchanges_mixed-messages.edi", 3,
	  "ORDERS,DESADV,ORDERS", 2, 0, "EDI-CHARSET", "*ERROR", 14, {
	    { 2, "BGM", 1, 2, 1, 1, "PO3" },
	    { 2, "", 0, 5, 1, 1, "0002" },
	  } },
	{ "ORDERS_D01B_EAN010_146-lines_UTF8-replacement-chars.edi", 1,
	  "ORDERS", 1, 0, "EDI-CHARSET", "*ERROR", 602, {
	    { 0, "NAD", 1, 4, 1, 1, "A+A K\xEF\xBF\xBDlte GmbH" },
	    { 0, "BGM", 1, 2, 1, 1, "2019265563" },
	  } },
	{ "ORDERS_D11A_no-UNB-envelope.edi", 1, "ORDERS", 0, 0, "EDI-NO-UNB",
	  "*ERROR", 10, {
	    { 0, "BGM", 1, 2, 1, 1, "PO-4711" },
	    { 0, "PRI", 1, 1, 2, 1, "12.50" },
	  } },
	{ "ORDERS_D96A_EAN008_CRLF_placeholder-GLNs.edi", 1, "ORDERS", 1, 0,
	  "EDI-CHARSET", "*ERROR", 28, {
	    { 0, "BGM", 1, 2, 1, 1, "1AA1TEST" },
	    { 0, "PIA", 1, 2, 1, 1, "3899408268X-39" },
	  } },
	{ "ORDERS_D96A_UNA-comma-decimal_UNOA4_no-UNZ.edi", 1, "ORDERS", 0,
	  1, "EDI-UNZ-MISSING", "EDI-UNT-COUNT", 18, {
	    { 0, "BGM", 1, 2, 1, 1, "801715918011" },
	  } },
	{ "ORDERS_D96A_wikipedia-de.edi", 1, "ORDERS", 0, 1,
	  "EDI-UNZ-CONTROL", "EDI-UNT-COUNT EDI-UNZ-COUNT", 0, {
	    { 0, "BGM", 1, 2, 1, 1, "B10001" },
	  } },
	{ "ORDERS_D96B_EANCOM_with-UNG-group.edi", 1, "ORDERS", 1, 0,
	  "EDI-UNT-COUNT EDI-UNG-ID", "EDI-UNE-COUNT", 0, {
	    { 0, "BGM", 1, 2, 1, 1, "C1441747" },
	  } },
	{ "ORDERS_invalid-message-version.edi", 1, "ORDERS", 1, 0,
	  "EDI-UNH-VERSION", "EDI-UNT-COUNT", 0, {
	    { 0, "BGM", 1, 2, 1, 1, "1AA1TEST" },
	  } },
	{ "ORDRSP_D01B_EAN008_latin1-under-UNOC.edi", 1, "ORDRSP", 1, 0, "",
	  "*ERROR EDI-CHARSET", 256, { { 0, "UNT", 1, 1, 1, 1, "253" } } },
	{ "ORDRSP_D10A_single-line_release-plus_bad-trailers.edi", 1,
	  "ORDRSP", 0, 1, "EDI-UNT-COUNT EDI-UNT-CONTROL EDI-UNZ-CONTROL",
	  NULL, 34, {
	    { 0, "COM", 1, 1, 1, 1, "+49 123 45678 8652" },
	    { 0, "LIN", 1, 3, 1, 1, "9900010000649" },
	  } },
	{ "PAORES_release-character-cases.edi", 1, "PAORES", 1, 0,
	  "EDI-UNT-COUNT", NULL, 26, {
	    { 0, "IFT", 3, 2, 1, 1, "NO MORE FLIGHTS 2?" },
	    { 0, "IFT", 4, 2, 1, 1, "NO MORE ' FLIGHTS 3" },
	    { 0, "IFT", 5, 2, 1, 1, "NO MORE ? FLIGHTS 3" },
	    { 0, "IFT", 6, 2, 1, 1, "NO MORE ?' FLIGHTS 3" },
	    { 0, "IFT", 8, 3, 1, 1, "FIELD 2" },
	    { 0, "IFT", 9, 2, 1, 1, "FIELD 1?+FIELD 2" },
	    { 0, "IFT", 10, 2, 2, 1, "FIELD 1.2" },
	    { 0, "IFT", 12, 2, 1, 1, "FIELD 1.1?:FIELD 1.2" },
	  } },
};

static void
test_corpus(void)
{
	struct run r;
	const struct ctest *t;
	size_t	 i, len;
	char	*p, w[32];
	const char *q;
	int	 k, rc;

	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		t = &corpus[i];
		if ((p = corpus_file(t->file, &len)) == NULL) {
			ok(0, "%s: readable under %s", t->file, shared_dir());
			continue;
		}
		ok(translator_sniff(slice_make(p, len)) == &translator_edifact,
		    "%s: sniffed as edifact", t->file);
		rc = run_probe(&r, p, len, t->p, MAXP, NULL, NULL);
		is_int(rc, 0, "%s: parsed to the end", t->file);
		is_int(r.nsets, t->nsets, "%s: %d messages", t->file,
		    t->nsets);
		is_str(r.doctypes, t->doctypes, "%s: message types", t->file);
		if (!ok(r.ics_ok == t->ics_ok && r.ics_bad == t->ics_bad,
		    "%s: interchanges ok %d, rejected %d", t->file, t->ics_ok,
		    t->ics_bad)) {
			printf("#   got %d ok, %d rejected\n", r.ics_ok,
			    r.ics_bad);
			dump(&r);
		}
		ok(r.utf8_ok, "%s: every value is UTF-8", t->file);
		for (q = t->codes; q && *q; ) {
			for (k = 0; *q && *q != ' ' && k < 31; k++)
				w[k] = *q++;
			w[k] = '\0';
			while (*q == ' ')
				q++;
			if (!ok(ncode(&r, w) > 0, "%s: %s fires", t->file, w))
				dump(&r);
		}
		for (q = t->absent; q && *q; ) {
			for (k = 0; *q && *q != ' ' && k < 31; k++)
				w[k] = *q++;
			w[k] = '\0';
			while (*q == ' ')
				q++;
			if (strcmp(w, "*ERROR") == 0) {
				if (!ok(nerrors(&r) == 0, "%s: no error",
				    t->file))
					dump(&r);
			} else
				ok(ncode(&r, w) == 0, "%s: no %s", t->file, w);
		}
		for (k = 0; k < MAXP; k++) {
			const struct probe *pr = &t->p[k];

			if (pr->tag == NULL)
				break;
			if (pr->want == NULL)
				ok(!r.found[k], "%s: %s#%d %02d-%02d*%d absent",
				    t->file, pr->tag[0] ? pr->tag : "UNB",
				    pr->occ, pr->el, pr->comp, pr->rep);
			else
				is_str(r.found[k] ? r.got[k] : NULL, pr->want,
				    "%s: %s#%d %02d-%02d*%d", t->file,
				    pr->tag[0] ? pr->tag : "UNB", pr->occ,
				    pr->el, pr->comp, pr->rep);
		}
		if (t->nsegments)
			is_int(edifact_count_segments(slice_make(p, len)),
			    t->nsegments, "%s: edifact_count_segments",
			    t->file);
		free(p);
	}
}

/* Facts beyond values: delimiters, groups, envelope absence. */
static void
test_corpus_env(void)
{
	struct run r;
	size_t	 len;
	char	*p;

	if ((p = corpus_file("ORDERS_D96A_UNA-comma-decimal_UNOA4_no-UNZ.edi",
	    &len)) != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		is_int(r.decimal, ',', "UNA decimal comma in env.delims");
		is_int(r.repetition, 0, "UNA position 5 space: no repetition "
		    "separator even in syntax 4");
		free(p);
	}
	if ((p = corpus_file("INVOIC_D03B_UNOC4_repetition-separator_"
	    "release-apostrophe.edi", &len)) != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		is_int(r.repetition, '*', "syntax 4 UNA repetition *");
		is_str(r.versions, "D03B", "version D03B");
		free(p);
	}
	if ((p = corpus_file("DESADV_D07A_GMI021_CPS-pack-levels_duplicate-"
	    "UNH-ref.edi", &len)) != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		is_int(r.repetition, 0, "syntax 3 with UNA *: no repetition");
		is_int(r.nseg[0], 101, "DESADV 101 segments");
		free(p);
	}
	if ((p = corpus_file("ORDERS_D96B_EANCOM_with-UNG-group.edi", &len))
	    != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		ok(r.has_group[0], "UNG: env.group set");
		is_int(r.groups_ok, 1, "UNG: group ok");
		is_str(r.versions, "D96B", "version from UNH, not UNG");
		free(p);
	}
	if ((p = corpus_file("ORDERS_D11A_no-UNB-envelope.edi", &len))
	    != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		ok(r.no_unb[0], "no UNB: env.interchange NULL");
		is_int(r.ics_ok + r.ics_bad, 0, "no UNB: no interchange_end");
		free(p);
	}
	if ((p = corpus_file("ORDERS-DESADV_two-interchanges_mixed-messages"
	    ".edi", &len)) != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, NULL);
		is_int(r.icindex[2], 2, "third message in interchange 2");
		free(p);
	}
	if ((p = corpus_file("ORDERS_D01B_EAN010_146-lines_UTF8-replacement-"
	    "chars.edi", &len)) != NULL) {
		run_probe(&r, p, len, NULL, 0, NULL, "LIN");
		is_int(r.tagcount, 146, "146 LIN segments");
		is_int(r.nseg[0], 599, "599 segments, UNT 599");
		free(p);
	}
}

/* -- crafted envelopes -------------------------------------------------- */

#define UNB	"UNB+UNOC:3+SENDER:14+RECEIVER:14+20240301:1200+IC1'"
#define MSG(r)	"UNH+" r "+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+" r "'"
#define UNZ(n)	"UNZ+" n "+IC1'"

struct etest {
	const char	*name;
	const char	*in;
	const char	*code;
	enum diag_sev	 sev;
	enum diag_scope	 scope;
	int		 ack_seg;	/* -1: not checked */
	int		 nsets;
};

static const struct etest envs[] = {
	{ "not EDIFACT", "HELLO WORLD", "EDI-NOT-EDI", DIAG_ERROR,
	  DIAG_SCOPE_FILE, -1, 0 },
	{ "segment after UNZ", UNB MSG("1") UNZ("1") "XYZ+1'", "EDI-OUTSIDE",
	  DIAG_ERROR, DIAG_SCOPE_FILE, -1, 1 },
	{ "message without UNB", MSG("1"), "EDI-NO-UNB", DIAG_WARNING,
	  DIAG_SCOPE_FILE, -1, 1 },
	{ "UNA with two equal separators", "UNA::.? '" UNB MSG("1") UNZ("1"),
	  "EDI-UNA", DIAG_ERROR, DIAG_SCOPE_FILE, 20, 1 },
	{ "syntax version 7", "UNB+UNOC:7+S:14+R:14+20240301:1200+IC1'"
	  MSG("1") UNZ("1"), "EDI-UNB-SYNTAX", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 2, 1 },
	{ "unknown syntax identifier", "UNB+ZZZZ:3+S:14+R:14+20240301:1200+"
	  "IC1'" MSG("1") UNZ("1"), "EDI-UNB-SYNTAX", DIAG_WARNING,
	  DIAG_SCOPE_INTERCHANGE, 2, 1 },
	{ "blank sender", "UNB+UNOC:3+ :14+R:14+20240301:1200+IC1'" MSG("1")
	  UNZ("1"), "EDI-UNB-FIELD", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 13,
	  1 },
	{ "ICR too long", "UNB+UNOC:3+S:14+R:14+20240301:1200+"
	  "123456789012345'" MSG("1") "UNZ+1+123456789012345'",
	  "EDI-UNB-FIELD", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 39, 1 },
	{ "ack request 5", "UNB+UNOC:3+S:14+R:14+20240301:1200+IC1++++5'"
	  MSG("1") UNZ("1"), "EDI-UNB-FIELD", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 12, 1 },
	{ "bad date", "UNB+UNOC:3+S:14+R:14+20241399:1200+IC1'" MSG("1")
	  UNZ("1"), "EDI-UNB-DATE", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 12,
	  1 },
	{ "bad time", "UNB+UNOC:3+S:14+R:14+20240301:2500+IC1'" MSG("1")
	  UNZ("1"), "EDI-UNB-DATE", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 12,
	  1 },
	{ "test indicator t", "UNB+UNOC:3+S:14+R:14+20240301:1200+IC1++++++"
	  "t'" MSG("1") UNZ("1"), "EDI-UNB-TEST", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 25, 1 },
	{ "duplicate ICR", UNB MSG("1") UNZ("1") UNB MSG("1") UNZ("1"),
	  "EDI-UNB-DUP", DIAG_WARNING, DIAG_SCOPE_INTERCHANGE, 26, 2 },
	{ "UNZ count", UNB MSG("1") UNZ("2"), "EDI-UNZ-COUNT", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 29, 1 },
	{ "UNZ reference", UNB MSG("1") "UNZ+1+IC2'", "EDI-UNZ-CONTROL",
	  DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 28, 1 },
	{ "no UNZ", UNB MSG("1"), "EDI-UNZ-MISSING", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 13, 1 },
	{ "no UNZ before next UNB", UNB MSG("1") UNB MSG("2") UNZ("1"),
	  "EDI-UNZ-MISSING", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 13, 2 },
	{ "empty interchange", UNB UNZ("0"), "EDI-EMPTY-IC", DIAG_ERROR,
	  DIAG_SCOPE_INTERCHANGE, 32, 0 },
	{ "groups and messages mixed", UNB MSG("1")
	  "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'" MSG("2") "UNE+1+G1'"
	  UNZ("1"), "EDI-MIXED", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 30, 2 },
	{ "segment between messages", UNB MSG("1") "FTX+AAI'" MSG("2")
	  UNZ("2"), "EDI-UNEXPECTED", DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, 33,
	  2 },
	{ "UNG without reference", UNB
	  "UNG+ORDERS+S+R+240301:1200++UN+D:96A'" MSG("1") "UNE+1'" UNZ("1"),
	  "EDI-UNG-FIELD", DIAG_ERROR, DIAG_SCOPE_GROUP, 13, 1 },
	{ "UNG bad date", UNB "UNG+ORDERS+S+R+241301:1200+G1+UN+D:96A'"
	  MSG("1") "UNE+1+G1'" UNZ("1"), "EDI-UNG-FIELD", DIAG_ERROR,
	  DIAG_SCOPE_GROUP, 12, 1 },
	{ "message type not the group's", UNB
	  "UNG+DESADV+S+R+240301:1200+G1+UN+D:96A'" MSG("1") "UNE+1+G1'"
	  UNZ("1"), "EDI-UNG-ID", DIAG_WARNING, DIAG_SCOPE_GROUP, -1, 1 },
	{ "duplicate group reference", UNB
	  "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'" MSG("1") "UNE+1+G1'"
	  "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'" MSG("2") "UNE+1+G1'"
	  UNZ("2"), "EDI-UNG-DUP", DIAG_WARNING, DIAG_SCOPE_GROUP, 26, 2 },
	{ "UNE count", UNB "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'"
	  MSG("1") "UNE+2+G1'" UNZ("1"), "EDI-UNE-COUNT", DIAG_ERROR,
	  DIAG_SCOPE_GROUP, 29, 1 },
	{ "UNE reference", UNB "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'"
	  MSG("1") "UNE+1+G2'" UNZ("1"), "EDI-UNE-CONTROL", DIAG_ERROR,
	  DIAG_SCOPE_GROUP, 28, 1 },
	{ "no UNE", UNB "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'" MSG("1")
	  UNZ("1"), "EDI-UNE-MISSING", DIAG_ERROR, DIAG_SCOPE_GROUP, 13, 1 },
	{ "empty group", UNB "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'"
	  "UNE+0+G1'" UNZ("1"), "EDI-EMPTY-GROUP", DIAG_ERROR,
	  DIAG_SCOPE_GROUP, 32, 0 },
	{ "UNH without reference", UNB "UNH++ORDERS:D:96A:UN'BGM+220+PO1'"
	  "UNT+3'" UNZ("1"), "EDI-UNH-FIELD", DIAG_ERROR, DIAG_SCOPE_SET, 13,
	  1 },
	{ "UNH without agency", UNB "UNH+1+ORDERS:D:96A'BGM+220+PO1'UNT+3+1'"
	  UNZ("1"), "EDI-UNH-FIELD", DIAG_ERROR, DIAG_SCOPE_SET, 13, 1 },
	{ "UNH reference too long", UNB "UNH+123456789012345+ORDERS:D:96A:UN'"
	  "UNT+2+123456789012345'" UNZ("1"), "EDI-UNH-FIELD", DIAG_ERROR,
	  DIAG_SCOPE_SET, 39, 1 },
	{ "UNH version X:XX", UNB "UNH+1+ORDERS:X:XX:UN'UNT+2+1'" UNZ("1"),
	  "EDI-UNH-VERSION", DIAG_ERROR, DIAG_SCOPE_SET, 12, 1 },
	{ "duplicate UNH reference", UNB MSG("1") MSG("1") UNZ("2"),
	  "EDI-UNH-DUP", DIAG_ERROR, DIAG_SCOPE_SET, 26, 2 },
	{ "UNT count", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+4+1'"
	  UNZ("1"), "EDI-UNT-COUNT", DIAG_ERROR, DIAG_SCOPE_SET, 29, 1 },
	{ "UNT reference", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+2'"
	  UNZ("1"), "EDI-UNT-CONTROL", DIAG_ERROR, DIAG_SCOPE_SET, 28, 1 },
	{ "no UNT", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'" UNZ("1"),
	  "EDI-UNT-MISSING", DIAG_ERROR, DIAG_SCOPE_SET, 13, 1 },
	{ "no UNT before UNH", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	  MSG("2") UNZ("2"), "EDI-UNT-MISSING", DIAG_ERROR, DIAG_SCOPE_SET,
	  13, 2 },
	{ "lowercase tag", UNB "UNH+1+ORDERS:D:96A:UN'bgm+220+PO1'UNT+3+1'"
	  UNZ("1"), "EDI-SEG-TAG", DIAG_ERROR, DIAG_SCOPE_SET, 12, 1 },
	{ "UNOA lowercase", "UNB+UNOA:3+S:14+R:14+20240301:1200+IC1'"
	  "UNH+1+ORDERS:D:96A:UN'BGM+220+po1'UNT+3+1'" UNZ("1"),
	  "EDI-CHARSET", DIAG_WARNING, DIAG_SCOPE_SET, -1, 1 },
	{ "UNOW invalid UTF-8", "UNB+UNOW:4+S:14+R:14+20240301:1200+IC1'"
	  "UNH+1+ORDERS:D:96A:UN'BGM+220+P\xFF" "1'UNT+3+1'" UNZ("1"),
	  "EDI-CHARSET", DIAG_WARNING, DIAG_SCOPE_SET, -1, 1 },
	{ "UNOC C1 control byte", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+P\x85"
	  "1'UNT+3+1'" UNZ("1"), "EDI-CHARSET", DIAG_WARNING, DIAG_SCOPE_SET,
	  -1, 1 },
	{ "line break inside a segment", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+P"
	  "\r\nO1'UNT+3+1'" UNZ("1"), "EDI-NEWLINE", DIAG_WARNING,
	  DIAG_SCOPE_SET, -1, 1 },
	{ "trailing element separator", UNB "UNH+1+ORDERS:D:96A:UN'"
	  "BGM+220+PO1+'UNT+3+1'" UNZ("1"), "EDI-TRAILING", DIAG_WARNING,
	  DIAG_SCOPE_SET, -1, 1 },
	{ "release at the end", UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1?",
	  "EDI-RELEASE", DIAG_WARNING, DIAG_SCOPE_SET, -1, 1 },
};

/* test_envelopes(): stops the parse at the second message. */
static int
stop_set(void *arg, struct edi_set *s)
{
	int	*n = arg;

	(void)s;
	return ++*n >= 2 ? EG_ERR_REJECTED : 0;
}

static void
test_envelopes(void)
{
	struct run r;
	const struct diag *d;
	size_t	 i;

	/* Valid inputs: nothing at all. */
	run(&r, UNB MSG("1") MSG("2") UNZ("2"));
	if (!ok(r.nd == 0 && r.nsets == 2 && r.ics_ok == 1,
	    "valid interchange: no diagnostics"))
		dump(&r);
	run(&r, "UNA:+.? '" UNB "UNG+ORDERS+S:14+R:14+240301:1200+G1+UN+D:96A'"
	    MSG("1") MSG("2") "UNE+2+G1'" UNZ("1"));
	if (!ok(r.nd == 0 && r.nsets == 2 && r.groups_ok == 1,
	    "valid group: no diagnostics"))
		dump(&r);
	run(&r, "\xEF\xBB\xBF  \r\nUNA:+.? '\r\n" UNB "\r\n" MSG("1")
	    "\r\n" UNZ("1") "\r\n\r\n");
	if (!ok(r.nd == 0 && r.nsets == 1, "BOM, CR/LF between segments: "
	    "no diagnostics"))
		dump(&r);
	run_probe(&r, UNB MSG("1") UNZ("1") "\r\n\x1a\0", sizeof(UNB MSG("1")
	    UNZ("1") "\r\n\x1a"), NULL, 0, NULL, NULL);
	if (!ok(r.nd == 0 && r.nsets == 1, "trailing SUB and NUL: no "
	    "diagnostics"))
		dump(&r);
	run(&r, "UNA:+.?*\nUNB+UNOC:3+S:14+R:14+20240301:1200+IC1\n"
	    "UNH+1+ORDERS:D:96A:UN\nFTX+AAI+++A?\nB\nUNT+3+1\nUNZ+1+IC1\n");
	if (!ok(nerrors(&r) == 0 && r.nsets == 1 && r.ics_ok == 1,
	    "newline terminator, released newline: no errors"))
		dump(&r);
	run(&r, "UNB+UNOW:4+S:14+R:14+20240301:1200+IC1+++A+1++1'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++\xE2\x82\xAC 5'UNT+3+1'" UNZ("1"));
	if (!ok(r.nd == 0 && r.repetition == '*', "syntax 4 UNOW, ack, "
	    "priority, test: no diagnostics, default repetition *"))
		dump(&r);

	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		run(&r, envs[i].in);
		d = find(&r, envs[i].code);
		if (!ok(d != NULL, "%s: %s", envs[i].name, envs[i].code)) {
			dump(&r);
			continue;
		}
		ok(d->sev == envs[i].sev && d->scope == envs[i].scope,
		    "%s: %s, scope %d", envs[i].name, envs[i].sev ==
		    DIAG_ERROR ? "error" : "warning", envs[i].scope);
		if (envs[i].ack_seg >= 0)
			is_int(d->ack_seg, envs[i].ack_seg, "%s: 0085 %d",
			    envs[i].name, envs[i].ack_seg);
		is_int(r.nsets, envs[i].nsets, "%s: %d message(s) delivered",
		    envs[i].name, envs[i].nsets);
	}

	/* Positions. */
	run(&r, "UNA:+.? '" UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	    "UNT+9+1'" UNZ("1"));
	d = find(&r, "EDI-UNT-COUNT");
	ok(d && d->filepos == 5 && d->setpos == 3 && d->el == 1 &&
	    strcmp(d->tag, "UNT") == 0, "UNT-COUNT at file segment 5 "
	    "(UNA counts), set position 3, element 1");
	d = find(&r, "EDI-UNB-DUP");
	ok(d == NULL, "one interchange: no duplicate");

	/* Error scopes reach the handlers. */
	run(&r, UNB MSG("1") UNZ("2"));
	ok(r.ics_bad == 1 && r.nrejected == 0, "UNZ error rejects the "
	    "interchange, not the message");
	run(&r, UNB "UNH+1+ORDERS:D:96A:UN'UNT+5+1'" MSG("2") UNZ("2"));
	ok(r.ics_ok == 1 && r.nrejected == 1, "UNT error rejects only its "
	    "message");
	run(&r, "");
	is_int(r.nd > 0 ? strcmp(r.d[0].code, "EDI-EMPTY") : 1, 0,
	    "empty input: EDI-EMPTY");

	/*
	 * A handler's negative return stops the parse at once: the common
	 * segments' loop looks at it only after the service segments.
	 */
	{
		struct edi_handler h = { stop_set, NULL, NULL, NULL, NULL };
		const char *t = UNB MSG("1") "UNH+2+ORDERS:D:96A:UN'BGM+220+"
		    "PO2+9'DTM+137:20240301:102'UNT+4+2'" MSG("3") UNZ("3");
		int	 nset = 0, rc;

		rc = translator_edifact.parse(slice_make(t, strlen(t)), NULL,
		    &h, &nset);
		ok(rc == EG_ERR_REJECTED && nset == 2, "a handler's negative "
		    "return stops the parse (rc %d, %d messages)", rc, nset);
	}
}

/* -- tokenizer details -------------------------------------------------- */

static void
test_tokenizer(void)
{
	struct run r;
	static const struct probe pr[] = {
		{ 0, "FTX", 1, 4, 1, 1, "A=B*C'D!E" },
		{ 0, "FTX", 1, 4, 2, 1, "F" },
		{ 0, "FTX", 1, 5, 1, 1, "X" },
		{ 0, "CUX", 1, 1, 1, 2, "Y" },
		{ 0, "CUX", 1, 1, 2, 2, "Z" },
		{ 0, "QTY", 1, 1, 2, 1, "1,5" },
		{ 0, "NAD", 1, 4, 1, 1, "\xC3\xA9t\xC3\xA9" },
	};
	static const struct probe pr2[] = {
		{ 0, "DTM", 1, 1, 2, 1, "20240301" },
		{ 0, "", 0, 2, 2, 1, "14" },
	};
	int	 i;

	run_probe(&r, "UNA=*,! $UNB*UNOC=4*S=14*R=14*20240301=1200*IC1$"
	    "UNH*1*ORDERS=D=96A=UN$FTX*AAI***A!=B!*C'D!!E=F*X$"
	    "CUX*A= Y=Z$QTY*21=1,5$NAD*BY***\xE9t\xE9$UNT*6*1$UNZ*1*IC1$",
	    strlen("UNA=*,! $UNB*UNOC=4*S=14*R=14*20240301=1200*IC1$"
	    "UNH*1*ORDERS=D=96A=UN$FTX*AAI***A!=B!*C'D!!E=F*X$"
	    "CUX*A= Y=Z$QTY*21=1,5$NAD*BY***\xE9t\xE9$UNT*6*1$UNZ*1*IC1$"),
	    pr, 7, NULL, NULL);
	is_int(r.nsets, 1, "custom UNA: one message");
	/* UNA position 5 is a space: no repetitions, so CUX has one */
	for (i = 0; i < 7; i++) {
		if (i == 3 || i == 4) {
			ok(!r.found[i], "no repetition without UNA position 5");
			continue;
		}
		is_str(r.found[i] ? r.got[i] : NULL, pr[i].want,
		    "custom UNA value %d", i);
	}
	if (nerrors(&r))
		dump(&r);
	ok(nerrors(&r) == 0, "custom UNA: no errors");

	/* Hard wrap inside a tag and a release pair. */
	run_probe(&r, UNB "UNH+1+ORDERS:D:96A:UN'D\nTM+137:2024\r\n0301:102'"
	    "UNT+3+1'UN\nZ+1+IC1'", strlen(UNB "UNH+1+ORDERS:D:96A:UN'D\nTM"
	    "+137:2024\r\n0301:102'UNT+3+1'UN\nZ+1+IC1'"), pr2, 2, NULL,
	    NULL);
	is_str(r.found[0] ? r.got[0] : NULL, "20240301", "line breaks in a "
	    "tag and a value are dropped");
	is_str(r.found[1] ? r.got[1] : NULL, "14", "UNB S002 qualifier");
	is_int(r.ics_ok, 1, "wrapped UNZ is recognised");
	is_int(ncode(&r, "EDI-NEWLINE"), 1, "one EDI-NEWLINE per interchange");

	/* Segment counter agrees with the parser. */
	is_int(edifact_count_segments(SLICE_LIT("UNA:+.? 'UNB+UNOC:3+S+R+"
	    "240301:1200+1'UNH+1+X:D:96A:UN'FTX+A?'B'UNT+3+1'UNZ+1+1'")), 6,
	    "count: released terminator is data, UNA counts");
	is_int(edifact_count_segments(SLICE_LIT("UNB+UNOC:3+S+R+240301:1200+1'"
	    "FTX+A??" "?'B'UNZ+1+1'")), 3, "count: three releases before '");
	is_int(edifact_count_segments(SLICE_LIT("ISA*00")), EG_ERR_SYNTAX,
	    "count: not EDIFACT");
	ok(!translator_edifact.sniff(SLICE_LIT("ISA*00*")), "sniff: X12 is "
	    "not EDIFACT");
	ok(translator_edifact.sniff(SLICE_LIT("\xEF\xBB\xBF\nUNB+UNOA:3+")),
	    "sniff: BOM, UNB");
	ok(!translator_edifact.sniff(SLICE_LIT("UNBX")), "sniff: UNBX");

	/*
	 * UNS and other UN tags without a handler go the common segments'
	 * way; UNH and UNT read their fields in one pass (components and
	 * repetitions beside the ones they want).
	 */
	{
		static const struct probe pr3[] = {
			{ 0, "UNQ", 1, 1, 2, 1, "B" },
			{ 0, "UNS", 1, 1, 1, 1, "S" },
			{ 0, "UNO", 1, 2, 1, 1, "9" },
			{ 0, "UNH", 1, 2, 1, 2, "X" },
			{ 0, "UNT", 1, 1, 2, 1, "3" },
		};
		const char *in = "UNA:+.?*'UNB+UNOC:4+S:14+R:14+20240301:1200+"
		    "IC1'UNH+M1:7+ORDERS:D:96A:UN:EAN*X:Y'UNQ+A:B'BGM+220+PO1'"
		    "UNS+S'UNO+1+9'UNT+6:3+M1*2'UNZ+1+IC1'";

		run_probe(&r, in, strlen(in), pr3, 5, NULL, NULL);
		for (i = 0; i < 5; i++)
			is_str(r.found[i] ? r.got[i] : NULL, pr3[i].want,
			    "service segments: %s value", pr3[i].tag);
		ok(r.nsets == 1 && nerrors(&r) == 0, "service segments: "
		    "one message, no errors");
		if (nerrors(&r))
			dump(&r);
		in = "UNB+UNOC:3+S:14+R:14+20240301:1200+IC1'UNH+M1+ORDERS::96A:"
		    "UN'UNS+S'UNT+4+M2'UNH+M1+ORDERS:D:96A:UN'UNT+2+M1'"
		    "UNZ+2+IC1'";
		run(&r, in);
		ok(ncode(&r, "EDI-UNH-FIELD") == 1 && ncode(&r,
		    "EDI-UNT-COUNT") == 1 && ncode(&r, "EDI-UNT-CONTROL") == 1 &&
		    ncode(&r, "EDI-UNH-DUP") == 1, "service segments: "
		    "0052 missing, count, control and duplicate reference");
	}

	/* Several interchanges, the second one without UNA: defaults. */
	run(&r, "UNA=*.? ~UNB*UNOA=3*S*R*240301=1200*1~UNH*1*X=D=96A=UN~"
	    "UNT*2*1~UNZ*1*1~UNB+UNOA:3+S+R+240301:1200+2'UNH+1+X:D:96A:UN'"
	    "UNT+2+1'UNZ+1+2'");
	ok(r.nsets == 2 && r.ics_ok == 2 && nerrors(&r) == 0,
	    "second interchange without UNA returns to the defaults");
	run(&r, "UNA=*.? ~UNB*UNOA=3*S*R*240301=1200*1~UNH*1*X=D=96A=UN~"
	    "UNT*2*1~UNZ*1*1~UNB*UNOA=3*S*R*240301=1200*2~UNH*1*X=D=96A=UN~"
	    "UNT*2*1~UNZ*1*2~");
	ok(r.nsets == 2 && r.ics_ok == 2 && nerrors(&r) == 0,
	    "second interchange written with the first one's UNA");
}

/* -- limits and garbage ------------------------------------------------- */

static void
test_limits(void)
{
	struct run r;
	char	*big, *p;
	size_t	 i, n;
	unsigned seed = 12345;

	/* A segment over EG_MAX_SEGMENT_LEN. */
	n = EG_MAX_SEGMENT_LEN + 200;
	big = xmalloc(n + 256);
	p = big;
	p += snprintf(p, 200, "%sUNH+1+ORDERS:D:96A:UN'FTX+AAI+++", UNB);
	memset(p, 'A', EG_MAX_SEGMENT_LEN);
	p += EG_MAX_SEGMENT_LEN;
	p += snprintf(p, 100, "'UNT+3+1'UNZ+1+IC1'");
	run_probe(&r, big, (size_t)(p - big), NULL, 0, NULL, NULL);
	ok(ncode(&r, "EDI-SEG-LONG") == 1 && r.nsets == 1 &&
	    r.nrejected == 1, "long segment: EDI-SEG-LONG, message rejected");
	free(big);

	/* Too many elements. */
	big = xmalloc(4096);
	p = big;
	p += snprintf(p, 200, "%sUNH+1+ORDERS:D:96A:UN'FTX", UNB);
	for (i = 0; i < 120; i++)
		*p++ = '+', *p++ = 'A';
	p += snprintf(p, 100, "'UNT+3+1'UNZ+1+IC1'");
	run_probe(&r, big, (size_t)(p - big), NULL, 0, NULL, NULL);
	ok(find(&r, "EDI-SEG-VALUES") && find(&r, "EDI-SEG-VALUES")->ack_seg ==
	    16, "120 elements: EDI-SEG-VALUES 16");
	p = big;
	p += snprintf(p, 200, "UNB+UNOC:4+S:14+R:14+20240301:1200+IC1'"
	    "UNH+1+ORDERS:D:96A:UN'FTX+A");
	for (i = 0; i < 120; i++)
		*p++ = '*', *p++ = 'A';
	p += snprintf(p, 100, "'UNT+3+1'UNZ+1+IC1'");
	run_probe(&r, big, (size_t)(p - big), NULL, 0, NULL, NULL);
	ok(find(&r, "EDI-SEG-VALUES") && find(&r, "EDI-SEG-VALUES")->ack_seg ==
	    35, "120 repetitions: EDI-SEG-VALUES 35");
	free(big);

	/* More than EG_MAX_DIAGS_PER_SET problems in one message. */
	n = EG_MAX_DIAGS_PER_SET + 50;
	big = xmalloc(n * 8 + 512);
	p = big;
	p += snprintf(p, 200, "%sUNH+1+ORDERS:D:96A:UN'", UNB);
	for (i = 0; i < n; i++)
		p += snprintf(p, 8, "x+1'");
	p += snprintf(p, 100, "UNT+%zu+1'UNZ+1+IC1'", n + 2);
	run_probe(&r, big, (size_t)(p - big), NULL, 0, NULL, NULL);
	is_int(ncode(&r, "EDI-DIAG-LIMIT"), 1, "EDI-DIAG-LIMIT once");
	is_int(ncode(&r, "EDI-SEG-TAG"), EG_MAX_DIAGS_PER_SET,
	    "then no more diagnostics for the message");
	free(big);

	/* More than EG_MAX_SET_SEGMENTS segments. */
	n = EG_MAX_SET_SEGMENTS + 10;
	big = xmalloc(n * 4 + 512);
	p = big;
	p += snprintf(p, 200, "%sUNH+1+ORDERS:D:96A:UN'", UNB);
	for (i = 0; i < n; i++) {
		memcpy(p, "CNT'", 4);
		p += 4;
	}
	p += snprintf(p, 100, "UNT+%zu+1'UNZ+1+IC1'", n + 2);
	run_probe(&r, big, (size_t)(p - big), NULL, 0, NULL, NULL);
	ok(ncode(&r, "EDI-SET-LIMIT") == 1 && ncode(&r, "EDI-UNT-COUNT") ==
	    0 && r.nrejected == 1, "EG_MAX_SET_SEGMENTS: EDI-SET-LIMIT, "
	    "count still checked");
	free(big);

	/* Garbage and truncations never crash (ASan checks the rest). */
	{
		static const char base[] = "UNA:+.? 'UNB+UNOC:4+S:14+R:14+"
		    "20240301:1200+IC1+++A+1++1'UNG+ORDERS+S+R+240301:1200+G1+"
		    "UN+D:96A'UNH+1+ORDERS:D:96A:UN'FTX+A?+B*C:D?'E?" "?'"
		    "NAD+BY+\xE9\xFF\x85'UNT+4+1'UNE+1+G1'UNZ+1+IC1'";
		static const char alphabet[] = "UNA:+.? '*\r\n\xFF\xC3UNBZHTGE";
		char	 buf[sizeof(base)];
		int	 k, crashed = 0;

		for (k = 0; k < 20000; k++) {
			memcpy(buf, base, sizeof(base));
			for (i = 0; i < 4; i++) {
				seed = seed * 1103515245 + 12345;
				buf[(seed >> 8) % (sizeof(base) - 1)] =
				    alphabet[(seed >> 20) % (sizeof(alphabet) -
				    1)];
			}
			seed = seed * 1103515245 + 12345;
			n = (seed >> 8) % sizeof(base);
			if (run_probe(&r, buf, k & 1 ? n : sizeof(base) - 1,
			    NULL, 0, NULL, NULL) == EG_ERR_INTERNAL)
				crashed = 1;
			(void)edifact_count_segments(slice_make(buf, n));
		}
		ok(!crashed, "20000 mutated inputs parsed");
	}
}

/* -- loop tree over EDIFACT sets ---------------------------------------- */

/*
 * A minimum above one is counted in characters too: one Latin-1 letter is
 * two UTF-8 bytes but one character, short of an2 (element and component).
 */
static void
test_tree_minimum(const char *top)
{
	static const char one[] = "UNB+UNOC:3+S:14+R:14+240101:1200+1'"
	    "UNH+1+ORDERS:D:96A:UN'BGM+\xe9+\xe9'UNS+S'UNT+4+1'UNZ+1+1'";
	static const char two[] = "UNB+UNOC:3+S:14+R:14+240101:1200+1'"
	    "UNH+1+ORDERS:D:96A:UN'BGM+\xe9\xe9+\xe9\xe9'UNS+S'UNT+4+1'"
	    "UNZ+1+1'";
	struct structure *st = NULL;
	struct run r;
	char	 path[EG_MAX_PATH], err[512];

	snprintf(path, sizeof(path), "%s/tests/data/edifact/orders-min2.struct",
	    top ? top : ".");
	if (!ok(structure_load(path, &st, err, sizeof(err)) == 0,
	    "orders-min2.struct loads")) {
		printf("#   %s\n", err);
		return;
	}
	run_probe(&r, one, sizeof(one) - 1, NULL, 0, st, NULL);
	if (!ok(ncode(&r, "ELEM-SHORT") == 2 && r.nrejected == 1,
	    "one Latin-1 letter (2 bytes) is short of an2: BGM01-01, BGM02"))
		dump(&r);
	run_probe(&r, two, sizeof(two) - 1, NULL, 0, st, NULL);
	if (!ok(ncode(&r, "ELEM-SHORT") == 0 && r.nrejected == 0,
	    "two Latin-1 letters fill an2"))
		dump(&r);
	structure_free(st);
}

static void
test_tree(void)
{
	struct structure *st = NULL;
	struct run r;
	char	 path[EG_MAX_PATH], err[512];
	const char *top = getenv("top_srcdir");
	char	*p;
	size_t	 len;
	int	 rc;

	snprintf(path, sizeof(path), "%s/tests/data/edifact/orders-test.struct",
	    top ? top : ".");
	rc = structure_load(path, &st, err, sizeof(err));
	if (!ok(rc == 0, "orders-test.struct loads")) {
		printf("#   %s\n", err);
		return;
	}
	snprintf(path, sizeof(path), "%s/tests/data/edifact/orders-valid.edi",
	    top ? top : ".");
	if ((p = slurp(path, &len)) == NULL) {
		ok(0, "orders-valid.edi readable");
		structure_free(st);
		return;
	}
	run_probe(&r, p, len, NULL, 0, st, NULL);
	if (!ok(r.nd == 0 && r.nsets == 2 && r.nrejected == 0,
	    "valid ORDERS: tree built without diagnostics"))
		dump(&r);
	is_str(r.loops, "NAD() LIN()", "second message: NAD and LIN "
	    "loops") ;
	ok(r.lin_qty_in_lin == 3, "every QTY sits in a LIN loop (%u)",
	    r.lin_qty_in_lin);
	free(p);

	/* First message alone: the full loop shape. */
	run_probe(&r, UNB "UNH+M1+ORDERS:D:96A:UN'BGM+220+PO1'RFF+CT:K-1'"
	    "NAD+BY+541::9'CTA+PD+:J'COM+1:TE'NAD+SU+401::9'CUX+2:EUR:9'"
	    "LIN+1'QTY+21:48:PCE'PRI+AAA:12.5'LIN+2'QTY+21:1:PCE'UNS+S'"
	    "UNT+15+M1'" UNZ("1"), strlen(UNB "UNH+M1+ORDERS:D:96A:UN'"
	    "BGM+220+PO1'RFF+CT:K-1'NAD+BY+541::9'CTA+PD+:J'COM+1:TE'"
	    "NAD+SU+401::9'CUX+2:EUR:9'LIN+1'QTY+21:48:PCE'PRI+AAA:12.5'"
	    "LIN+2'QTY+21:1:PCE'UNS+S'UNT+15+M1'" UNZ("1")), NULL, 0, st,
	    NULL);
	if (nerrors(&r))
		dump(&r);
	is_str(r.loops, "RFF() NAD(CTA()) NAD() CUX() LIN(PRI()) LIN()",
	    "ORDERS loops: RFF, NAD with CTA, CUX, LIN with PRI");

	/* an/a/n checks. */
	run_probe(&r, UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	    "CUX+2:E1R:9'LIN+1'QTY+21:4X:PCE'PRI+AAA:1.2.3'UNS+S'UNT+7+1'"
	    UNZ("1"), strlen(UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	    "CUX+2:E1R:9'LIN+1'QTY+21:4X:PCE'PRI+AAA:1.2.3'UNS+S'UNT+7+1'"
	    UNZ("1")), NULL, 0, st, NULL);
	is_int(ncode(&r, "ELEM-CHAR"), 3, "A with a digit, N with a letter, "
	    "N with two decimal marks: ELEM-CHAR");
	is_int(r.nrejected, 1, "the message is rejected");
	run_probe(&r, UNB "UNH+1+ORDERS:D:96A:UN'BGM+220'"
	    "LIN+1'QTY+21:1234567890123456:PCE'UNS+S'UNT+6+1'" UNZ("1"),
	    strlen(UNB "UNH+1+ORDERS:D:96A:UN'BGM+220'"
	    "LIN+1'QTY+21:1234567890123456:PCE'UNS+S'UNT+6+1'" UNZ("1")),
	    NULL, 0, st, NULL);
	ok(ncode(&r, "ELEM-MISSING") == 1 && ncode(&r, "ELEM-LONG") == 1,
	    "BGM02 missing, QTY01-02 n..15 too long");
	run_probe(&r, UNB "UNH+1+ORDERS:D:96A:UN'BGM+220+P'QTY+21:-1,5:PCE'"
	    "UNS+S'UNT+5+1'" UNZ("1"), strlen(UNB "UNH+1+ORDERS:D:96A:UN'"
	    "BGM+220+P'QTY+21:-1,5:PCE'UNS+S'UNT+5+1'" UNZ("1")), NULL, 0,
	    st, NULL);
	is_int(ncode(&r, "ELEM-CHAR"), 0, "n accepts sign and decimal comma");
	ok(ncode(&r, "SEG-UNEXPECTED") == 1, "QTY outside a LIN loop: "
	    "SEG-UNEXPECTED");

	/* Syntax 4 splits repetitions: one of a non-repeatable element. */
	{
		static const char s4[] = "UNA:+.?*'UNB+UNOC:4+S:14+R:14+"
		    "20240101:1200+1'UNH+1+ORDERS:D:96A:UN'BGM+220+P1*P2'"
		    "UNS+S'UNT+4+1'UNZ+1+1'";

		run_probe(&r, s4, sizeof(s4) - 1, NULL, 0, st, NULL);
		if (!ok(ncode(&r, "ELEM-REPEAT") == 1 && r.nrejected == 1,
		    "syntax 4: BGM02 repeated although not repeatable"))
			dump(&r);
	}
	/* Latin-1 text is counted in characters after transcoding. */
	{
		static const char l1[] = "UNB+UNOC:3+S:14+R:14+240101:1200+1'"
		    "UNH+1+ORDERS:D:96A:UN'BGM+220+\xe9\xe9\xe9\xe9\xe9\xe9"
		    "\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9"
		    "\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9"
		    "\xe9\xe9\xe9'UNS+S'UNT+4+1'UNZ+1+1'";

		run_probe(&r, l1, sizeof(l1) - 1, NULL, 0, st, NULL);
		ok(ncode(&r, "ELEM-LONG") == 0 && r.nrejected == 0,
		    "35 Latin-1 characters (70 UTF-8 bytes) fit an..35");
	}
	/*
	 * Alphabetic values (a1 element, a3 component) the index clears
	 * without check_value(): counted in characters, digits refused.
	 */
	{
		static const struct {
			const char *uns, *cux, *code;
			int	 n;
		} a[] = {
			{ "S", "EUR", "ELEM-LONG", 0 },
			{ "\xe9", "\xe9\xe9\xe9", "ELEM-LONG", 0 },
			{ "SS", "EURO", "ELEM-LONG", 2 },
			{ "\xe9\xe9", "\xe9\xe9\xe9\xe9", "ELEM-LONG", 2 },
			{ "S", "EU", "ELEM-SHORT", 1 },
			{ "S", "\xe9\xe9", "ELEM-SHORT", 1 },
			{ "1", "EU1", "ELEM-CHAR", 2 },
			{ "S", "\xe9\xe9" "9", "ELEM-CHAR", 1 },
		};
		char	 text[256];
		size_t	 k;
		int	 n;

		for (k = 0; k < sizeof(a) / sizeof(a[0]); k++) {
			n = snprintf(text, sizeof(text), "UNB+UNOC:3+S:14+"
			    "R:14+240101:1200+1'UNH+1+ORDERS:D:96A:UN'"
			    "BGM+220+P'CUX+2:%s:9'UNS+%s'UNT+5+1'UNZ+1+1'",
			    a[k].cux, a[k].uns);
			run_probe(&r, text, (size_t)n, NULL, 0, st, NULL);
			if (!ok(ncode(&r, a[k].code) == a[k].n &&
			    r.nrejected == (a[k].n != 0) && nerrors(&r) ==
			    a[k].n, "alphabetic UNS01 and CUX01-02, case %zu: "
			    "%d %s", k, a[k].n, a[k].code))
				dump(&r);
		}
	}
	structure_free(st);
	test_tree_minimum(top);
}

/*
 * A message whose values fill several of the arena's chunks: the fast
 * path's value window closes at each chunk's end (the segment that does
 * not fit goes through the general path, which starts the next chunk),
 * and at every segment with a release character; every segment keeps
 * its own values.  With a release character in every segment, and values
 * long enough that the room the window must show for one (its text
 * bounds the unescaped values) is more than a segment takes, some segment
 * near each chunk's end finds the window too short for that bound but
 * long enough for what it takes: unescaped through tbuf then.
 */
#define CHUNK_SEGS	1500
#define CHUNK_VALS	20
#define WPAD		"-padding-to-forty-bytes-or-so-"

struct chunks {
	unsigned	 sets, bad;
	uint32_t	 nseg;
	unsigned	 every;		/* a release character every so many */
	const char	*pad;		/* after each value's own text */
};

static int
chunks_set(void *arg, struct edi_set *s)
{
	struct chunks *c = arg;
	const struct edi_seg *seg;
	char	 want[64];
	uint32_t i;
	uint16_t k;

	tagpad_set(s);
	c->sets++;
	c->nseg = s->nseg;
	for (i = 1; i + 1 < s->nseg; i++) {
		seg = &s->seg[i];
		if (strcmp(seg->tag, "FTX") != 0 || seg->nval != CHUNK_VALS ||
		    seg->setpos != i + 1) {
			c->bad++;
			continue;
		}
		for (k = 0; k < seg->nval; k++) {
			snprintf(want, sizeof(want), "V%ux%u%s%s", i, k, c->pad,
			    i % c->every == 0 && k == 3 ? "+" : "");
			if (seg->val[k].el != k + 1 || seg->val[k].s.len !=
			    strlen(want) || memcmp(seg->val[k].s.p, want,
			    seg->val[k].s.len) != 0)
				c->bad++;
		}
	}
	return 0;
}

static void
test_window_chunks(const char *loop, unsigned every, const char *pad)
{
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	struct edi_handler h = { chunks_set, NULL, NULL, &ds, NULL };
	struct chunks c;
	size_t	 cap = 1U << 24, len = 0;
	char	*in = xmalloc(cap);
	unsigned i, k;

#define PUT(...)	(len += (size_t)snprintf(in + len, cap - len, __VA_ARGS__))
	PUT("%s", UNB "UNH+1+ORDERS:D:96A:UN'");
	for (i = 1; i <= CHUNK_SEGS; i++) {
		PUT("FTX");
		for (k = 0; k < CHUNK_VALS; k++)
			PUT("+V%ux%u%s%s", i, k, pad,
			    i % every == 0 && k == 3 ? "?+" : "");
		PUT("'");
	}
	PUT("UNT+%u+1'%s", CHUNK_SEGS + 2, UNZ("1"));
#undef PUT
	memset(&c, 0, sizeof(c));
	c.every = every;
	c.pad = pad;
	ok(translator_edifact.parse(slice_make(in, len), "t.edi", &h, &c) ==
	    0 && ds.nerror == 0 && c.sets == 1 && c.nseg == CHUNK_SEGS + 2 &&
	    c.bad == 0, "values over several arena chunks (%s, a release "
	    "character in one segment of %u): every segment's own, in order",
	    loop, every);
	free(in);
}

/*
 * A message cut off after one or two bytes of a tag that could be a
 * service segment's ("U", "UN"): the one-pass loop looks at the tag's
 * bytes before it knows how many are left.  The input is copied to a
 * buffer of its exact size, so that AddressSanitizer sees a byte read
 * past its end; the parser must report the message unterminated.
 */
static void
test_tail_tag(const char *loop)
{
	static const char *tail[] = { "U", "UN", "UNT" };
	struct diag_sink ds;
	struct edi_handler h = { 0 };
	struct chunks c;
	char	 buf[512], *in;
	size_t	 i, len;
	int	 rc;

	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
		len = (size_t)snprintf(buf, sizeof(buf), "%s%s", UNB
		    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'"
		    "DTM+137:20250101:102'"
		    "NAD+BY+5412345000013::9'\n"
		    "LIN+1++4000862141404:SRS'QTY+21:48'\n", tail[i]);
		in = xmalloc(len);
		memcpy(in, buf, len);
		memset(&ds, 0, sizeof(ds));
		memset(&h, 0, sizeof(h));
		memset(&c, 0, sizeof(c));
		h.set = chunks_set;
		h.diags = &ds;
		rc = translator_edifact.parse(slice_make(in, len), "t.edi", &h,
		    &c);
		ok(rc == 0 && ds.nerror > 0, "input ending in \"%s\" inside "
		    "a message (%s): reported, nothing read past the end",
		    tail[i], loop);
		free(in);
	}
}

/*
 * The parser's one-pass path reads a segment 32 bytes per step: the same
 * values and warnings wherever a release character, an escaped separator
 * or terminator, or a trailing separator falls in a step, and the same as
 * the byte-at-a-time path that takes segments with CR or LF.
 */
static void
test_block_edges(const char *loop)
{
	static const struct {
		const char	*text;		/* FTX04.. after the padding */
		const char	*v1, *v2, *v3;	/* FTX04-01 (after pad), -02, 05 */
		int		 trailing;
	} cases[] = {
		{ "A?'B?+C??:D?:+E", "A'B+C?", "D:", "E", 0 },
		{ "A:+B", "A", NULL, "B", 1 },
		{ "A?:+B", "A:", NULL, "B", 0 },
		{ "A:", "A", NULL, NULL, 1 },
		{ "A??", "A?", NULL, NULL, 0 },
		{ "A??" "?'+B", "A?'", NULL, "B", 0 },
		{ "A+", "A", NULL, NULL, 1 },
		/* unescape_vals(): runs of eight, releases near and far */
		{ "ABCDEFGHIJKL?+MNOPQRSTUV??WXYZ0123456789?:abc:X?'Y+Q?+R",
		    "ABCDEFGHIJKL+MNOPQRSTUV?WXYZ0123456789:abc", "X'Y",
		    "Q+R", 0 },
		{ "????????????????:??", "????????", "?", NULL, 0 },
		{ "A?+B?+C?+D?+E?+F?+G?+H?+I", "A+B+C+D+E+F+G+H+I", NULL,
		    NULL, 0 },
	};
	static const struct probe pr[] = {
		{ 0, "FTX", 1, 4, 1, 1, NULL },
		{ 0, "FTX", 1, 4, 2, 1, NULL },
		{ 0, "FTX", 1, 5, 1, 1, NULL },
	};
	char	 in[512], want[128], pad[80];
	size_t	 c;
	int	 n, nl, bad;

	memset(pad, 'x', sizeof(pad));
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (bad = 0, n = 0; n < 70; n++) {
			for (nl = 0; nl < 2; nl++) {
				/* nl: a line break in the tag sends the
				 * segment down the byte-at-a-time path */
				snprintf(in, sizeof(in), UNB "UNH+1+ORDERS:D:"
				    "96A:UN'%sTX+AAI+++%.*s%s'UNT+3+1'" UNZ("1"),
				    nl ? "F\n" : "F", n, pad, cases[c].text);
				run_probe(&r_edges, in, strlen(in), pr, 3,
				    NULL, NULL);
				snprintf(want, sizeof(want), "%.*s%s", n, pad,
				    cases[c].v1);
				if (nerrors(&r_edges) != 0 ||
				    ncode(&r_edges, "EDI-TRAILING") !=
				    cases[c].trailing ||
				    !r_edges.found[0] ||
				    strcmp(r_edges.got[0], want) != 0 ||
				    r_edges.found[1] != (cases[c].v2 != NULL) ||
				    (cases[c].v2 && strcmp(r_edges.got[1],
				    cases[c].v2) != 0) ||
				    r_edges.found[2] != (cases[c].v3 != NULL) ||
				    (cases[c].v3 && strcmp(r_edges.got[2],
				    cases[c].v3) != 0)) {
					if (bad++ == 0) {
						printf("# padding %d%s: %s\n",
						    n, nl ? " (CR/LF path)" :
						    "", in);
						dump(&r_edges);
					}
				}
			}
		}
		ok(bad == 0, "block edges (%s): \"%s\" at 70 offsets, both "
		    "paths", loop, cases[c].text);
	}
	/*
	 * Every byte but the separators and CR/LF, under UNOA and UNOC: the
	 * block scan's test for bytes to check (below 0x20, 0x7f and up)
	 * warns where the byte-at-a-time path does.  The segment and what
	 * follows it fill the block, for the block scan to take it.
	 */
	for (bad = 0, n = 0; n < 2; n++) {
		for (c = 1; c < 256; c++) {
			int	 got[2];

			if (strchr("'+:?*\r\n", (int)c) != NULL)
				continue;
			for (nl = 0; nl < 2; nl++) {
				snprintf(in, sizeof(in), "UNB+UNO%c:3+S:14+"
				    "R:14+20240301:1200+IC1'UNH+1+ORDERS:D:96A:"
				    "UN'%sTX+AAI+++%.*sA%cB'UNT+3+1'" UNZ("1"),
				    n ? 'C' : 'A', nl ? "F\n" : "F", 5, pad,
				    (int)c);
				run_probe(&r_edges, in, strlen(in), pr, 3,
				    NULL, NULL);
				got[nl] = ncode(&r_edges, "EDI-CHARSET");
			}
			if (got[0] != got[1] && bad++ == 0)
				printf("# byte 0x%02zx under UNO%c: %d and %d "
				    "EDI-CHARSET\n", c, n ? 'C' : 'A', got[0],
				    got[1]);
		}
	}
	ok(bad == 0, "block edges (%s): every byte's EDI-CHARSET as the "
	    "byte-at-a-time path", loop);
}

/*
 * Latin-1 text under UNOC, which the block loop converts straight into
 * the value window (fast_slot_latin1()) unless the character set step
 * has something to say: the values, the EDI-CHARSET warnings and the
 * UTF-8 validity as the byte-at-a-time path gives them, at 70 offsets
 * and past the 256 bytes the window path takes.
 */
static void
test_latin1(const char *loop)
{
	static const char *const cases[] = {
		"M\xfcller",
		"\xe9:\xff\xa0+\xc0x",
		"A\xe9::B\xe9++C\xe9",
		"caf\xc3\xa9",			/* UTF-8 already: kept, warned */
		"A\x85" "B:\xe9",		/* C1 control: U+FFFD, warned */
		"A\x7f:\xe9",
		"A\x01" "B:\xe9",
		"\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9"
		    "\xe9\xe9\xe9\xe9\xe9\xe9:x+\xe9",
		"?+\xe9:\xe9",			/* a release character too */
		"plain:ascii",
	};
	static const struct probe pr[] = {
		{ 0, "FTX", 1, 4, 1, 1, NULL },
		{ 0, "FTX", 1, 4, 2, 1, NULL },
		{ 0, "FTX", 1, 5, 1, 1, NULL },
	};
	struct run *r = xcalloc(2, sizeof(*r));
	char	 in[1024], pad[320];
	size_t	 c;
	int	 n, nl, k, bad = 0, ncase = 0;

	memset(pad, 'x', sizeof(pad));
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (n = 0; n < 300; n += n < 70 ? 1 : 23) {
			for (nl = 0; nl < 2; nl++) {
				snprintf(in, sizeof(in), UNB "UNH+1+ORDERS:D:"
				    "96A:UN'%sTX+AAI+++%.*s%s'UNT+3+1'" UNZ("1"),
				    nl ? "F\n" : "F", n, pad, cases[c]);
				run_probe(&r[nl], in, strlen(in), pr, 3, NULL,
				    NULL);
			}
			ncase++;
			for (k = 0; k < 3; k++)
				if (r[0].found[k] != r[1].found[k] ||
				    strcmp(r[0].got[k], r[1].got[k]) != 0)
					break;
			if (k == 3 && nerrors(&r[0]) == nerrors(&r[1]) &&
			    ncode(&r[0], "EDI-CHARSET") ==
			    ncode(&r[1], "EDI-CHARSET") &&
			    r[0].utf8_ok == r[1].utf8_ok && r[0].nsets == 1)
				continue;
			if (bad++ == 0) {
				printf("# padding %d: %s\n", n, in);
				dump(&r[0]);
				dump(&r[1]);
			}
		}
	}
	ok(bad == 0, "Latin-1 under UNOC (%s): %d segments as the "
	    "byte-at-a-time path", loop, ncase);
	snprintf(in, sizeof(in), UNB "UNH+1+ORDERS:D:96A:UN'FTX+AAI+++"
	    "M\xfcller:\xe9t\xe9+\xff'UNT+3+1'" UNZ("1"));
	run_probe(&r[0], in, strlen(in), pr, 3, NULL, NULL);
	ok(r[0].found[0] && strcmp(r[0].got[0], "M\xc3\xbcller") == 0 &&
	    r[0].found[1] && strcmp(r[0].got[1], "\xc3\xa9t\xc3\xa9") == 0 &&
	    r[0].found[2] && strcmp(r[0].got[2], "\xc3\xbf") == 0 &&
	    ncode(&r[0], "EDI-CHARSET") == 0 && r[0].utf8_ok,
	    "Latin-1 under UNOC (%s): converted to UTF-8, no warning", loop);
	free(r);
}

/*
 * Tags of every length, by each way a segment is read: the block loop,
 * the general tokenizer (a release character, a line break inside the
 * segment), the character set step (a Latin-1 byte in UNOC), a NUL byte
 * in a tag, a segment past EG_MAX_SEGMENT_LEN (only its tag read), a
 * group.
 */
static void
test_tagpad(const char *loop)
{
	static const char body[] = "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
	    "AB+1'A+2'ABCD+3'+4'NAD+BY+++M\xfcller'FTX+AAA+++a?+b'"
	    "FTX+AAA+++a\nb'AB+a?'b'UNT+10+1'";
	struct run *r = xcalloc(1, sizeof(*r));
	char	*t, *big, *q;
	size_t	 n = 4 * (size_t)EG_MAX_SEGMENT_LEN + 1024, len;
	unsigned bad = tagpad_bad, segs = tagpad_segs;

	t = xmalloc(n);
	big = tagpad_big("FT+");
	snprintf(t, n, "%s%sUNZ+1+IC1'", UNB, body);
	(void)run(r, t);
	snprintf(t, n, "%sUNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'%s"
	    "UNE+1+G1'UNZ+1+IC1'", UNB, body);
	(void)run(r, t);
	snprintf(t, n, "%sUNH+1+ORDERS:D:96A:UN'%s'AB+1'UNT+4+1'UNZ+1+IC1'",
	    UNB, big);
	(void)run(r, t);
	/* a NUL byte in a tag: "A", "B", released "C" */
	snprintf(t, n, "%sUNH+1+ORDERS:D:96A:UN'A@B+1'B@+2'C@D+a?+b'"
	    "UNT+5+1'UNZ+1+IC1'", UNB);
	len = strlen(t);
	while ((q = memchr(t, '@', len)) != NULL)
		*q = '\0';
	(void)run_probe(r, t, len, NULL, 0, NULL, NULL);
	ok(tagpad_segs >= segs + 36 && tagpad_bad == bad,
	    "tags of 0 to 4 bytes NUL-padded, every tokenizer (%s)", loop);
	free(big);
	free(t);
	free(r);
}

/* EDIFACT messages offered (offer.h), and the ones that must not be. */
static void
test_offer(const char *loop)
{
	static const struct offer_case c[] = {
		{ "three messages, released delimiters", "UNA:+.? '" UNB
		    MSG("1") "UNH+2+ORDERS:D:96A:UN'BGM+220+P?+O?'1?:x?" "?'"
		    "FTX+AAA+++a?+b?:c'UNT+4+2'" MSG("3") UNZ("3"), 3 },
		{ "CR LF between segments", UNB "\r\n"
		    "UNH+1+ORDERS:D:96A:UN'\r\nBGM+220+PO1'\r\nUNT+3+1'\r\n"
		    "UNH+2+ORDERS:D:96A:UN'\r\nBGM+220+PO2'\r\nUNT+3+2'\r\n"
		    UNZ("2"), 2 },
		{ "a line break inside a segment (EDI-NEWLINE)", UNB MSG("1")
		    "UNH+2+ORDERS:D:96A:UN'FTX+AAA+++a\nb'UNT+3+2'" MSG("3")
		    UNZ("3"), 2 },
		{ "a message without UNT", UNB "UNH+1+ORDERS:D:96A:UN'"
		    "BGM+220+PO1'" MSG("2") UNZ("2"), 1 },
		{ "a duplicate reference", UNB MSG("1") MSG("1") MSG("2")
		    UNZ("3"), 2 },
		{ "UNH with a problem", UNB "UNH+1+ORDERS:D:96AAA:UN'BGM+220+"
		    "PO1'UNT+3+1'" MSG("2") UNZ("2"), 1 },
		{ "a group", UNB "UNG+ORDERS+S+R+240301:1200+G1+UN+D:96A'"
		    MSG("1") "UNE+1+G1'" UNZ("1"), 0 },
		{ "a wrong UNT count, a bad tag, UNS", UNB
		    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'UNS+S'UNT+9+1'"
		    "UNH+2+ORDERS:D:96A:UN'bgm+220+PO1'UNT+3+2'"
		    "UNH+3+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+4'" UNZ("3"), 3 },
		{ "a segment UNTX, an empty segment", UNB
		    "UNH+1+ORDERS:D:96A:UN'UNTX+1'UNT+3+1'"
		    "UNH+2+ORDERS:D:96A:UN''UNT+2+2'" MSG("3") UNZ("3"), 1 },
		{ "two interchanges, other delimiters", "UNA:+.? '" UNB
		    MSG("1") UNZ("1") "UNA>*,# ~UNB*UNOC>3*S>14*R>14*"
		    "240301>1200*IC2~UNH*1*ORDERS>D>96A>UN~BGM*220*P#~1~"
		    "UNT*3*1~UNZ*1*IC2~", 2 },
		{ "UNOA, UNOY in syntax 4", "UNB+UNOA:3+S:14+R:14+"
		    "240301:1200+IC1'" MSG("1") "UNH+2+ORDERS:D:96A:UN'"
		    "BGM+220+po1'UNT+3+2'" UNZ("2")
		    "UNB+UNOY:4+S:14+R:14+20240301:1200+IC3'"
		    "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++a*b:c\xc3\xa9'UNT+3+1'"
		    "UNZ+1+IC3'", 3 },
		{ "a byte outside UNOA in UNH", "UNB+UNOA:3+S:14+R:14+"
		    "240301:1200+IC1'UNH+\xdb+ORDERS:D:96A:UN'BGM+220+PO1'"
		    "UNT+3+\xdb'" MSG("2") UNZ("2"), 1 },
		{ "a bad byte in a UNH that closes a message", "UNB+UNOA:3+S:14+"
		    "R:14+240301:1200+IC1'UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
		    "UNH+2+ORDERS:D:96A:UN:E\x01'BGM+220+PO2'UNT+3+2'" MSG("3")
		    UNZ("3"), 1 },
		{ "a line break in UNH after EDI-NEWLINE", UNB MSG("1")
		    "UNH+2+ORDERS:D:96A:UN'FTX+AAA+++a\nb'UNT+3+2'"
		    "UNH+3+ORDERS:D:96A\n:UN'BGM+220+PO3'UNT+3+3'" MSG("4")
		    UNZ("4"), 2 },
		{ "a released tag that reads as UNH or UNT", UNB
		    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'?UNH+2+ORDERS:D:96A:UN'"
		    "BGM+220+PO2'UNT+3+2'"
		    "UNH+3+ORDERS:D:96A:UN'BGM+220+PO3'U?NT+3+3'"
		    "UNH+4+ORDERS:D:96A:UN'BGM+220+PO4'UNT+3+4'" UNZ("4"), 2 },
		/*
		 * Syntax 4: a tag read from a later repetition of element 0
		 * (the fuzzer's "*UNB"); in syntax 3, where * is data, and
		 * a short segment: not plain tags, so not offered either.
		 */
		{ "a tag from a repetition: XYZ*UNT, *UNB", "UNB+UNOC:4+S:14+"
		    "R:14+20240301:1200+IC1'UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'"
		    "XYZ*UNT+3+1'UNH+2+ORDERS:D:96A:UN'BGM+220+PO2'UNT+3+2'"
		    "UNH+3+ORDERS:D:96A:UN'BGM+220+PO3'*UNB+UNOC:4+S:14+R:14+"
		    "20240301:1200+IC2'UNT+3+3'UNH+4+ORDERS:D:96A:UN'"
		    "BGM+220+PO4'UNT+3+4'UNZ+2+IC2'", 2 },
		{ "XYZ*UNT in syntax 3, a two-byte segment", UNB
		    "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1'XYZ*UNT+3+1'UNT+4+1'"
		    "UNH+2+ORDERS:D:96A:UN'AB'UNT+3+2'" MSG("3") UNZ("3"), 1 },
		{ "UNOD, read through iconv", "UNB+UNOD:3+S:14+R:14+"
		    "240301:1200+IC1'" MSG("1") UNZ("1"), 0 },
		{ "no UNB", MSG("1") MSG("2"), 0 },
		{ "the input ends inside a message", UNB MSG("1")
		    "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2", 1 },
		{ "the input ends inside a UNH", UNB MSG("1")
		    "UNH+2+ORDERS:D:96A:UN", 1 },
	};
	size_t	 i, n, len;
	char	*big;

	test_offer_cases(&translator_edifact, loop, c, sizeof(c) / sizeof(c[0]));
	/*
	 * Messages longer than a block of the scan (32 bytes), with a
	 * released terminator, a released release character, CR LF after
	 * each terminator, and a line break inside a segment, at every
	 * offset in a block.
	 */
	big = xmalloc(4096);
	for (i = 0; i < 64; i++) {
		/* each: the text before the padding, and after it */
		static const char *const form[][2] = {
			{ "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++", "?'y'"
			    "FTX+AAA+++a?" "?'UNS+S'UNT+5+1'" },
			{ "UNH+1+ORDERS:D:96A:UN'\r\nFTX+AAA+++", "?'y'\r\n"
			    "FTX+AAA+++a?" "?'\nUNS+S'\r\nUNT+5+1'\r\n" },
			{ "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++", "\ny'"
			    "FTX+AAA+++b'UNT+4+1'" },
			{ "UNH+1+ORDERS:D:96A:UN'FTX+AAA+++", "'\r'"
			    "FTX+AAA+++b'UNT+5+1'" },
		};
		static const int want[] = { 2, 2, 1, 1 };
		static const char pad[] = "0123456789abcdefghijklmnopqrstuv"
		    "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+:";
		char	 name[64];
		int	 k = (int)(i % 4), w = (int)(i / 4) * 2 + 1;

		len = (size_t)snprintf(big, 4096, "%s", UNB);
		len += (size_t)snprintf(big + len, 4096 - len, "%s%.*s%s",
		    form[k][0], w, pad, form[k][1]);
		len += (size_t)snprintf(big + len, 4096 - len, "%s%s", MSG("2"),
		    UNZ("2"));
		snprintf(name, sizeof(name), "form %d, %d bytes of padding",
		    k, w);
		test_offer_one(&translator_edifact, loop, name, big, len,
		    want[k]);
	}
	free(big);
	/* over 512 KB: read by the file's parser */
	n = 600 * 1024;
	big = xmalloc(n + 256);
	len = (size_t)snprintf(big, n, "%sUNH+1+ORDERS:D:96A:UN'", UNB);
	for (i = 0; len < n - 64; i++)
		len += (size_t)snprintf(big + len, n + 256 - len,
		    "FTX+AAA+++%zu'", i);
	len += (size_t)snprintf(big + len, n + 256 - len, "UNT+%zu+1'%s%s",
	    i + 2, MSG("2"), UNZ("2"));
	test_offer_one(&translator_edifact, loop, "a message over 512 KB",
	    big, len, 1);
	free(big);
}

int
main(void)
{
	test_corpus();
	test_corpus_env();
	test_envelopes();
	test_tokenizer();
	test_block_edges(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_window_chunks(edi_avx2() ? "AVX2 loop" : "SSE2 loop", 7, "");
	test_window_chunks(edi_avx2() ? "AVX2 loop" : "SSE2 loop", 1, WPAD);
	test_tail_tag(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_tagpad(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_latin1(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_offer(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	/* and the SSE2 loop, whatever this CPU has (edi_avx2()) */
	if (setenv("EDIGATE_SIMD", "sse2", 1) == 0 && !edi_avx2()) {
		test_tagpad("SSE2 loop, forced");
		test_latin1("SSE2 loop, forced");
		test_block_edges("SSE2 loop, forced");
		test_window_chunks("SSE2 loop, forced", 7, "");
		test_window_chunks("SSE2 loop, forced", 1, WPAD);
		test_tail_tag("SSE2 loop, forced");
		test_offer("SSE2 loop, forced");
	} else
		ok(0, "EDIGATE_SIMD=sse2 turns the AVX2 loop off");
	unsetenv("EDIGATE_SIMD");
	test_limits();
	test_tree();
	ok(tagpad_bad == 0 && tagpad_segs > 1000, "every segment of every "
	    "set parsed here has its tag NUL-padded (%u segments)",
	    tagpad_segs);
	return done_testing();
}
