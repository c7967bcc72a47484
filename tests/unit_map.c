/*
 * unit_map.c: the map compiler and evaluator (MAPS.md §3): compile errors
 * with exact file:line:col, every document path form, groups, templates,
 * hierarchy, checks, diagnostics, partner overrides, the maps quoted in
 * MAPS.md and the shipped maps, and a short mutation run over the
 * compiler.  Sets are built by hand from segment text and given a loop
 * tree by edi_tree_build(); one case goes through the X12 parser.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "catalog.h"
#include "diag.h"
#include "edi.h"
#include "err.h"
#include "map.h"
#include "map_int.h"
#include "structure.h"
#include "tap.h"
#include "translate.h"
#include "translator.h"

static char datadir[4096];
static char mapsdir[4096];
static char shareddir[4096];

/* ---- compiling ------------------------------------------------------------ */

static const char *hdr850 =
    "map t\nversion 1\nsource x12 850 004*\n"
    "structure structures/x12-850.struct\nevent order.created 1\n";

/* Compile text as <datadir>/t.map; errors without the directory. */
static struct map *
compile(const char *text, char *errs, size_t errlen)
{
	struct map_compile_opts opts;
	struct map	*m = NULL;
	struct buf	 b;
	char		 path[8192], *p, *q;
	size_t		 dl;

	memset(&opts, 0, sizeof(opts));
	opts.maps_root = datadir;
	snprintf(path, sizeof(path), "%s/t.map", datadir);
	buf_init(&b, 1 << 20);
	map_compile_text(path, "t.map", text, strlen(text), &opts, &m, &b);
	/* Strip "<datadir>/" from every line. */
	dl = strlen(datadir) + 1;
	errs[0] = '\0';
	for (p = b.p; p != NULL && *p != '\0'; p = q) {
		size_t	 n, o = strlen(errs);

		q = strchr(p, '\n');
		q = q ? q + 1 : p + strlen(p);
		if ((size_t)(q - p) > dl && strncmp(p, datadir, dl - 1) == 0)
			p += dl;
		n = (size_t)(q - p);
		if (o + n + 1 < errlen) {
			memcpy(errs + o, p, n);
			errs[o + n] = '\0';
		}
	}
	buf_free(&b);
	return m;
}

/* ---- hand-built sets --------------------------------------------------- */

struct tset {
	struct arena	 a;
	struct edi_set	 set;
	struct edi_seg	 isa, gs;
};

/* Split "TAG*a*b:c^d" into a segment (elements *, components :, reps ^). */
static void
mkseg(struct arena *a, const char *text, struct edi_seg *s)
{
	struct edi_val	*v = arena_allocarray(a, 256, sizeof(*v));
	const char	*p = text, *e;
	int		 el = 0, rep = 1, comp = 1;
	uint16_t	 n = 0;

	memset(s, 0, sizeof(*s));
	s->raw = slice_cstr(text);
	e = strchr(p, '*');
	if (e == NULL)
		e = p + strlen(p);
	snprintf(s->tag, sizeof(s->tag), "%.*s", (int)(e - p), p);
	if (*e == '\0') {
		s->val = v;
		return;
	}
	p = e + 1;
	el = 1;
	for (;;) {
		const char *t = p;

		while (*t && *t != '*' && *t != ':' && *t != '^')
			t++;
		if (t > p && n < 256) {
			v[n].s = slice_make(p, (size_t)(t - p));
			v[n].el = (uint16_t)el;
			v[n].rep = (uint16_t)rep;
			v[n].comp = (uint16_t)comp;
			n++;
		}
		if (*t == '\0')
			break;
		if (*t == '*') {
			el++;
			rep = comp = 1;
		} else if (*t == ':')
			comp++;
		else {
			rep++;
			comp = 1;
		}
		p = t + 1;
	}
	s->nel = (uint16_t)el;
	s->nval = n;
	s->val = v;
}

/*
 * A set from '~'-separated segment text between ST and SE (both added).
 * Positions: ISA 1, GS 2, ST 3, ...
 */
static struct edi_set *
mkset(struct tset *t, const char *doctype, const char *version,
    const char *body, const struct structure *st)
{
	const char	*segs[4096];
	char		*copy, *p, *e, se[64];
	int		 n = 0, i;
	struct diag_sink ds = { NULL, NULL, 0, 0 };

	memset(t, 0, sizeof(*t));
	arena_init(&t->a, 64 << 20);
	copy = arena_strndup(&t->a, body, strlen(body));
	segs[n] = arena_alloc(&t->a, 64);
	snprintf((char *)segs[n], 64, "ST*%s*0001", doctype);
	n++;
	for (p = copy; *p != '\0' && n < 4090; p = e) {
		while (*p == '\n' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '~');
		if (e == NULL)
			e = p + strlen(p);
		else
			*e++ = '\0';
		segs[n++] = p;
	}
	snprintf(se, sizeof(se), "SE*%d*0001", n + 1);
	segs[n++] = arena_strndup(&t->a, se, strlen(se));
	t->set.seg = arena_allocarray(&t->a, (size_t)n, sizeof(struct edi_seg));
	t->set.nseg = (uint32_t)n;
	for (i = 0; i < n; i++) {
		mkseg(&t->a, segs[i], &t->set.seg[i]);
		t->set.seg[i].filepos = (uint32_t)i + 3;
		t->set.seg[i].setpos = (uint32_t)i + 1;
	}
	mkseg(&t->a, "ISA*00*          *00*          *ZZ*ACMERETAIL     "
	    "*ZZ*WIDGETCO       *240301*1200*U*00401*000000905*0*P*>", &t->isa);
	t->isa.filepos = 1;
	mkseg(&t->a, "GS*PO*ACMERETAIL*WIDGETCO*20240302*1200*905*X*004010",
	    &t->gs);
	t->gs.filepos = 2;
	t->set.filename = "t.edi";
	t->set.env.syntax = strlen(doctype) > 3 ? EDI_EDIFACT : EDI_X12;
	t->set.env.interchange = &t->isa;
	t->set.env.group = &t->gs;
	t->set.env.delims.element = '*';
	t->set.env.delims.component = ':';
	t->set.env.delims.repetition = '^';
	t->set.env.delims.segment = '~';
	t->set.env.delims.decimal = '.';
	t->set.doctype = slice_cstr(doctype);
	t->set.version = slice_cstr(version);
	t->set.control = SLICE_LIT("0001");
	t->set.arena = &t->a;
	edi_tree_build(&t->set, st, &ds);
	return &t->set;
}

/* ---- running ------------------------------------------------------------ */

struct run {
	struct buf	 diags;		/* "SEV CODE field|source|pos: msg" */
	struct buf	 lines;		/* diag_format lines */
	struct buf	 trace;
	json_t		*doc;		/* mdoc_to_json of the document */
	char		*json;		/* mdoc_write_json of it */
	int		 rv;
};

/* Documents whose mdoc_write_json differed from jansson's (must be 0). */
static int	 write_diffs, write_docs;

static void
on_diag(void *arg, const struct diag *d)
{
	struct run *r = arg;

	buf_printf(&r->diags, "%s %s %s|%s|%u/%s/%d: %s\n",
	    d->sev == DIAG_ERROR ? "E" : "W", d->code, d->field, d->source,
	    d->filepos, d->tag, d->el, d->msg);
	diag_format(d, "t.edi", &r->lines);
	buf_addc(&r->lines, '\n');
}

static void
on_trace(void *arg, const char *line)
{
	struct run *r = arg;

	buf_printf(&r->trace, "%s\n", line);
}

static const char *
pvalue(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "name") == 0)
		return "Acme Retail";
	return NULL;
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->diags, 1 << 20);
	buf_init(&r->lines, 1 << 20);
	buf_init(&r->trace, 1 << 20);
}

static void
run_free(struct run *r)
{
	buf_free(&r->diags);
	buf_free(&r->lines);
	buf_free(&r->trace);
	json_decref(r->doc);
	free(r->json);
}

/*
 * The document as jansson values and as mdoc_write_json text, taken
 * before the set's arena goes; every document a test evaluates also
 * checks the writer against json_dumps(JSON_COMPACT).
 */
static void
keep_doc(const struct mdoc *md, struct run *r)
{
	struct buf	 w;
	char		*j;

	json_decref(r->doc);
	free(r->json);
	r->doc = NULL;
	r->json = NULL;
	if (md == NULL)
		return;
	r->doc = mdoc_to_json(md);
	buf_init(&w, 1 << 26);
	if (mdoc_write_json(md, &w) != 0)
		write_diffs++;
	j = json_dumps(r->doc, JSON_COMPACT);
	write_docs++;
	if (j == NULL || w.p == NULL || strcmp(j, w.p) != 0) {
		write_diffs++;
		printf("# mdoc_write_json: %s\n# json_dumps:      %s\n",
		    w.p ? w.p : "(null)", j ? j : "(null)");
	}
	free(j);
	r->json = buf_release(&w, NULL);
}

static void
eval(const struct map *m, struct edi_set *set, struct run *r, int trace)
{
	struct map_env	 env;
	struct diag_sink ds = { on_diag, r, 0, 0 };
	struct mdoc	*md = NULL;

	memset(&env, 0, sizeof(env));
	env.partner_id = "acme-retail";
	env.partner_value = pvalue;
	if (trace) {
		env.trace = on_trace;
		env.trace_arg = r;
	}
	r->rv = map_eval(m, set, &env, &md, &ds);
	keep_doc(md, r);
}

/* Compile, build, run: the document (or NULL) and diagnostics in r. */
static int
run_text(const char *maptext, const char *doctype, const char *body,
    struct run *r, int trace)
{
	char		 errs[8192];
	struct map	*m;
	struct tset	 t;

	run_init(r);
	m = compile(maptext, errs, sizeof(errs));
	if (m == NULL) {
		printf("# compile failed:\n%s", errs);
		r->rv = -100;
		return -1;
	}
	mkset(&t, doctype, "004010", body, map_structure(m));
	eval(m, &t.set, r, trace);
	if (r->rv != 0)
		printf("# map_eval %d; diagnostics:\n%s", r->rv,
		    r->diags.p ? r->diags.p : "");
	arena_free(&t.a);
	map_free(m);
	return 0;
}

static void
is_json(json_t *got, const char *want, const char *name)
{
	json_error_t	 je;
	json_t		*w = json_loads(want, 0, &je);
	char		*g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) :
			    NULL;
	char		*ws = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) :
			    NULL;

	if (w == NULL)
		printf("# bad expected JSON in test: %s\n", je.text);
	is_str(g, ws, "%s", name);
	free(g);
	free(ws);
	json_decref(w);
}

static int
no_line(const struct buf *b, const char *text)
{
	if (b->p == NULL || strstr(b->p, text) == NULL)
		return 1;
	printf("# unexpected: %s\n# in:\n%s", text, b->p);
	return 0;
}

static int
has_line(const struct buf *b, const char *want)
{
	if (b->p != NULL && strstr(b->p, want) != NULL)
		return 1;
	printf("# no line: %s\n# in:\n%s", want, b->p ? b->p : "");
	return 0;
}

/* ---- compile errors ----------------------------------------------------- */

struct ecase {
	const char	*name;
	const char	*text;		/* after hdr850 unless it starts with '!' */
	const char	*err;		/* expected line (first), NULL: compiles */
};

static const struct ecase ecases[] = {
	{ "end closes nothing", "id = BEG03\nend\n",
	    "t.map:7:1: `end` closes nothing" },
	{ "unclosed group", "id = BEG03\ngroup lines[] from PO1\n"
	    "  id = PO101\n",
	    "t.map:7:1: group opened at line 7 never closed" },
	{ "unclosed lookup", "lookup x\n  A <-> B\n",
	    "t.map:6:1: lookup opened at line 6 never closed" },
	{ "unknown lookup", "id = BEG03 | lookup nope\n",
	    "t.map:6:14: unknown lookup 'nope'" },
	{ "unknown template", "group lines[] from PO1\n  apply nope\nend\n",
	    "t.map:7:9: unknown template 'nope'" },
	{ "unknown segment", "id = ZZZ01\n",
	    "t.map:6:6: unknown segment ZZZ in structure "
	    "structures/x12-850.struct" },
	{ "unknown element", "id = BEG12\n",
	    "t.map:6:6: unknown element BEG12 in structure "
	    "structures/x12-850.struct" },
	{ "unknown element in a filter", "id = BEG03[BEG15=X]\n",
	    "t.map:6:6: unknown element BEG15 in structure "
	    "structures/x12-850.struct" },
	{ "simple element has no component", "id = BEG03-02\n",
	    "t.map:6:6: BEG03 is not a composite: no component 02" },
	{ "array and object", "refs[] = REF02\nrefs.first = REF02\n",
	    "t.map:7:1: target 'refs.first' uses 'refs' as an object, but "
	    "t.map:6 uses it as an array" },
	{ "value and object", "id = BEG03\nid.value = BEG03\n",
	    "t.map:7:1: target 'id.value' uses 'id' as an object, but "
	    "t.map:6 uses it as a value" },
	{ "two rules, one scalar", "id = BEG03\nid = BEG02\n",
	    "t.map:7:1: 'id' is already written by the rule at t.map:6; "
	    "mark one of them or merge them with `or`" },
	{ "two rules in a group", "group lines[] from PO1\n  id = PO101\n"
	    "  id = PO102\nend\n",
	    "t.map:8:3: 'id' is already written by the rule at t.map:7; "
	    "mark one of them or merge them with `or`" },
	{ "bad transform", "id = BEG03 | frobnicate\n",
	    "t.map:6:14: unknown transform 'frobnicate'" },
	{ "bad date format", "d = BEG05 | date julian\n",
	    "t.map:6:18: bad date format: expected x12, CCYYMMDD, YYMMDD, 102, "
	    "code ELEM or iso8601" },
	{ "implied needs n", "a = SAC05 | implied\n",
	    "t.map:6:20: expected a number of implied decimals (0-9), found end "
	    "of line" },
	{ "missing value", "id =\n", "t.map:6:5: expected a value, found end "
	    "of line" },
	{ "missing =", "id BEG03\n", "t.map:6:4: expected '=', found 'BEG03'" },
	{ "bad target", "Id = BEG03\n", "t.map:6:1: bad target 'Id': event "
	    "fields are lowerCamelCase names joined by '.'" },
	{ "filter names another segment", "id = REF02[N101=DP]\n",
	    "t.map:6:12: filter names N1 but the segment is REF" },
	{ "empty filter code", "id = REF02[01=]\n",
	    "t.map:6:15: expected a code" },
	{ "unclosed bracket", "id = REF02[01=DP\n",
	    "t.map:6:6: unbalanced bracket" },
	{ "unterminated string", "id = \"abc\n",
	    "t.map:6:6: unterminated string" },
	{ "bad option", "id = BEG03 requird\n",
	    "t.map:6:12: unexpected 'requird' (options are required, default, "
	    "when, out, oneway)" },
	{ "list needs array", "a = N301, N302\n",
	    "t.map:6:9: a list of values needs an array target such as a[]" },
	{ "header in a block", "group lines[] from PO1\n  version 2\nend\n",
	    "t.map:7:3: `version` belongs at the top of the map" },
	{ "duplicate header", "version 3\n", "t.map:6:1: duplicate `version`" },
	{ "bad direction", "!map t\nsource x12 850\nstructure structures/"
	    "x12-850.struct\nevent e 1\ndirection sideways\n",
	    "t.map:5:11: expected in, out or both, found 'sideways'" },
	{ "missing source", "!map t\nevent e 1\n", "t.map:1:1: missing `source`" },
	{ "element where a loop is needed", "group lines[] from PO101\nend\n",
	    "t.map:6:20: expected a loop or segment, not an element" },
	{ "join not reversible", "direction both\nt = join(\" \", MSG01)\n",
	    "t.map:7:1: 't' cannot be reversed (join/sum/count on the right "
	    "side): mark it `oneway` or give it an `out` expression" },
	{ "join oneway is fine", "direction both\n"
	    "t = join(\" \", MSG01) oneway\n", NULL },
	{ "continuation lines", "id = BEG03 \\\n   | lookup \\\n   nope\n",
	    "t.map:7:6: unknown lookup 'nope'" },
	{ "# in a token is not a comment", "id = N104#2  # 2nd repetition\n",
	    NULL },
	{ "comment after text", "id = BEG03 # the PO number\n", NULL },
	{ "drop outside", "group lines[] from PO1\n  drop x\nend\n",
	    "t.map:7:3: `drop` belongs at the top level" },
	{ "lookup row syntax", "lookup x\n  A => B\nend\n",
	    "t.map:7:5: expected <->, -> or <-, found '='" },
	{ "bang needs ->", "lookup x\n  A <-> !\nend\n",
	    "t.map:7:9: `!` marks an inbound code: CODE -> !" },
	{ "template applies itself", "template a\n  apply a\nend\n"
	    "group lines[] from PO1\n  apply a\nend\n",
	    "t.map:7:9: template 'a' applies itself" },
	{ "unknown env", "x = env.ZZ01\n",
	    "t.map:6:9: env. reads ISA, GS, ST, UNB, UNG or UNH" },
	{ "unknown name", "x = foo bar\n",
	    "t.map:6:9: unexpected 'bar' (options are required, default, "
	    "when, out, oneway)" },
	{ "selector ../", "group a from ../N1\nend\n",
	    "t.map:6:14: a selector starts in the current scope or at the "
	    "root (/)" },
	{ "unique on array", "group a[] from N1 unique\nend\n",
	    "t.map:6:1: `unique` is for single-object groups" },
	{ "where needs ==", "group a[] from N1 where id = N101\nend\n",
	    "t.map:6:28: expected '==', found '='" },
	{ "lookup csv missing", "lookup u file \"lookups/none.csv\"\n"
	    "u = BEG01 | lookup u\n",
	    "t.map:6:8: lookup 'u': " },
	{ "^ needs a hierarchy", "x = ^N1[N101=ST]/N102\n",
	    "t.map:6:5: ^N1: the structure declares no hierarchy for N1" },
};

static void
test_compile_errors(void)
{
	char	 text[8192], errs[8192];
	size_t	 i;
	struct map *m;

	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *c = &ecases[i];

		if (c->text[0] == '!')
			snprintf(text, sizeof(text), "%s", c->text + 1);
		else
			snprintf(text, sizeof(text), "%s%s", hdr850, c->text);
		m = compile(text, errs, sizeof(errs));
		if (c->err == NULL) {
			ok(m != NULL, "compiles: %s", c->name);
			if (m == NULL)
				printf("# %s", errs);
		} else {
			ok(m == NULL, "refused: %s", c->name);
			if (strncmp(errs, c->err, strlen(c->err)) != 0)
				is_str(errs, c->err, "error text: %s", c->name);
			else
				ok(1, "error text: %s", c->name);
		}
		map_free(m);
	}
}

static void
test_lint(void)
{
	char	 text[8192], errs[8192];
	struct map *m;

	snprintf(text, sizeof(text), "%slookup unused\n  A <-> B\nend\n"
	    "template t\n  x = N101\nend\nid = BEG03\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL, "lint: warnings do not fail");
	ok(strstr(errs, "t.map:6:8: warning: lookup 'unused' is never used") !=
	    NULL, "lint: unused lookup");
	ok(strstr(errs, "t.map:9:10: warning: template 't' is never applied")
	    != NULL, "lint: unused template");
	map_free(m);

	snprintf(text, sizeof(text), "%sx = N301\ngroup a[] from N1\n"
	    "  y = PO102\n  z = N1/N301\n  w = N301\nend\n"
	    "group b[] from REF\n  v = REF02\n  u = N901\nend\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL, "lint: never-in-scope is a warning");
	ok(strstr(errs, "t.map:6:5: warning: N3 is never in scope here (the "
	    "structure does not place it in the top level): 'N301' can never "
	    "match") != NULL, "lint: N301 at the top level");
	ok(strstr(errs, "t.map:8:7: warning: PO1 is never in scope here (the "
	    "structure does not place it in the loop N1): 'PO102' can never "
	    "match") != NULL, "lint: PO102 in an N1 group");
	ok(strstr(errs, "t.map:9:7: warning: N3 is never in scope here (the "
	    "structure does not place it in the segment N1)") !=
	    NULL, "lint: loop step that is not there");
	ok(strstr(errs, "t.map:10:") == NULL, "lint: N301 in N1 is fine");
	ok(strstr(errs, "t.map:14:7: warning: N9 is never in scope here (the "
	    "structure does not place it in the segment REF)") != NULL,
	    "lint: a segment group's scope is its segment");
	map_free(m);

	snprintf(text, sizeof(text), "%sdirection both\nid = BEG03\n"
	    "po = BEG03\nd = DTM02[DTM01=002]\ne = DTM02[DTM01=010]\n"
	    "f = BEG03 oneway\ng = BEG02 when BEG01 = 00\n"
	    "h = BEG01 when exists(id)\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m == NULL, "both: refused");
	ok(strstr(errs, "t.map:8:1: 'po' and 'id' (t.map:7) write the same "
	    "document element outbound: mark all but one `oneway`") != NULL,
	    "both: two rules, one element");
	ok(strstr(errs, "t.map:9:") == NULL && strstr(errs, "t.map:10:") ==
	    NULL && strstr(errs, "t.map:11:") == NULL,
	    "both: other filter constants and oneway are fine");
	ok(strstr(errs, "t.map:12:16: `when` in a `direction both` map tests "
	    "event fields or env values, not the document (BEG01)") != NULL,
	    "both: when on the document refused");
	ok(strstr(errs, "t.map:13:") == NULL, "both: when on a field is fine");
	map_free(m);

	snprintf(text, sizeof(text), "map t\nsource x12 855\nstructure "
	    "structures/x12-855.struct\nevent e 1\ndirection both\n"
	    "group lines[] from PO1\n  status = ACK01\n"
	    "  ship = ACK05[ACK04=068] | date x12\n"
	    "  deliver = ACK05[ACK04=067] | date x12\nend\n"
	    "group refs[] from PO1\n  a = REF02[REF01=DP]\n"
	    "  b = REF02[REF01=IA]\nend\n");
	m = compile(text, errs, sizeof(errs));
	ok(m == NULL && strstr(errs, "t.map:9:3: 'deliver' (ACK04=067) and "
	    "'ship' (t.map:8, ACK04=068) write conflicting constants into one "
	    "ACK segment; mark one `oneway`") != NULL,
	    "both: conflicting constants in one segment instance");
	ok(strstr(errs, "t.map:12:") == NULL,
	    "both: filtered repeats (REF DP, REF IA) are fine");
	map_free(m);

	snprintf(text, sizeof(text), "%sid = BEG03 default \"X\" required\n",
	    hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL && strstr(errs, "warning: `required` never fires") != NULL,
	    "lint: required with default");
	map_free(m);
}

/* ---- headers and accessors ------------------------------------------------ */

static void
test_headers(void)
{
	char	 errs[8192];
	struct map *m;

	m = compile("map x12-850-order-created\nversion 3\n"
	    "source x12 850 003* 004* 005010\n"
	    "structure structures/x12-850.struct\nevent order.created 1\n"
	    "direction both\npartner acme-retail\ntimezone America/New_York\n"
	    "id = BEG03 required\n", errs, sizeof(errs));
	ok(m != NULL, "headers compile");
	if (m == NULL) {
		printf("# %s", errs);
		return;
	}
	is_str(map_id(m), "x12-850-order-created", "map id");
	is_int(map_version(m), 3, "map version");
	is_str(map_event_type(m), "order.created", "event type");
	is_int(map_event_version(m), 1, "event version");
	is_int(map_direction(m), MAP_DIR_BOTH, "direction both recorded");
	is_str(map_partner(m), "acme-retail", "partner");
	is_str(map_timezone(m), "America/New_York", "timezone");
	is_str(map_name(m), "t.map", "map name");
	is_int(strlen(map_sha256(m)), 64, "sha256 hex");
	ok(map_structure(m) != NULL, "structure loaded");
	ok(map_source_match(m, EDI_X12, SLICE_LIT("850"),
	    SLICE_LIT("004010VICS")), "source: 004* accepts 004010VICS");
	ok(map_source_match(m, EDI_X12, SLICE_LIT("850"), SLICE_LIT("005010")),
	    "source: exact 005010");
	ok(!map_source_match(m, EDI_X12, SLICE_LIT("850"),
	    SLICE_LIT("005020")), "source: 005020 refused");
	ok(!map_source_match(m, EDI_X12, SLICE_LIT("855"), SLICE_LIT("004010")),
	    "source: other document refused");
	ok(!map_source_match(m, EDI_EDIFACT, SLICE_LIT("850"),
	    SLICE_LIT("004010")), "source: other syntax refused");
	ok(map_source_specificity(m, SLICE_LIT("005010")) >
	    map_source_specificity(m, SLICE_LIT("004010")),
	    "specificity: exact beats prefix");
	map_free(m);

	m = compile("map t\nsource x12 850\nstructure structures/x12-850.struct\n"
	    "event e 1\nid = BEG03\n", errs, sizeof(errs));
	ok(m != NULL && map_source_match(m, EDI_X12, SLICE_LIT("850"),
	    SLICE_LIT("002001")), "source without versions accepts all");
	ok(m != NULL && map_direction(m) == MAP_DIR_IN, "direction default in");
	ok(m != NULL && map_timezone(m) == NULL, "timezone default partner");
	map_free(m);

	m = compile("map t\nsource xml cXML OrderRequest 1.*\nevent e 1\n"
	    "scope /cXML/Request/OrderRequest\nnamespace cbc \"urn:x\"\n"
	    "id = OrderRequestHeader/@orderID\n"
	    "t = text() | trim\n", errs, sizeof(errs));
	ok(m != NULL, "XML map compiles (paths kept for XPath)");
	map_free(m);
}

/* ---- path forms ------------------------------------------------------------ */

static const char *doc850 =
    "BEG*00*SA*PO-1**20240301~"
    "CUR*BY*USD~"
    "REF*DP*DEPT1~"
    "REF*IA*V123~"
    "PER*BD*JOHN*TE*555-1234*EM*j@x.com~"
    "PER*OC*MARY*EM*m@x.com*TE*555-9999~"
    "DTM*002*20240310~"
    "DTM*010*20240305~"
    "N9*ZZ*NOTE1~"
    "MSG*HELLO~"
    "MSG*WORLD~"
    "N1*BT*BILL CO*92*B1~"
    "N3*1 BILL ST*SUITE 5~"
    "N4*TOWN*ST*12345*US~"
    "N1*ST*SHIP CO*UL*0614141000036~"
    "N3*10 SHIP RD~"
    "N3*DOCK 4~"
    "N4*CITY*CA*90001*US~"
    "PO1*1*0008*CA*36.50**VN*V1*UP*012345678905*IN*B1~"
    "PID*F****BLUE WIDGET~"
    "PID*F*08***SECOND~"
    "PO1**5*EA*1.5**BP*B2*EN*4006381333931~"
    "PID*S****NOT F~"
    "CTT*2*13~";

static void
test_paths(void)
{
	char	 text[16384];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "beg03   = BEG03\n"
	    "d002    = DTM02[DTM01=002] | date x12\n"
	    "d010    = DTM02[01=010]\n"
	    "alt     = REF02[REF01=ZZ|IA|DP]\n"
	    "neg     = REF02[REF01!=DP]\n"
	    "andf    = PER02[PER01=OC, 03=EM]\n"
	    "andk    = PER02[PER01=OC and 05=TE]\n"
	    "pairTe  = PER[PER01=BD|OC]{TE}\n"
	    "pairOc  = PER[PER01=OC]{TE}\n"
	    "pairAlt = PER[PER01=OC]{FX|TE}\n"
	    "shipCity = N1[N101=ST]/N401\n"
	    "firstZip = N1/N403\n"
	    "desc    = PO1/PID/PID05[PID01=F]\n"
	    "cur     = CUR02[CUR01=SE] or CUR02\n"
	    "lit     = BEG07 or \"X\"\n"
	    "isa06   = env.ISA06\n"
	    "gs04    = env.GS04 | date x12\n"
	    "st02    = env.ST02\n"
	    "pid     = env.partner.id\n"
	    "pname   = env.partner.name\n"
	    "pnone   = env.partner.nothing\n"
	    "npo1    = count(PO1)\n"
	    "nref    = count(REF[REF01=DP])\n"
	    "note    = join(\" \", N9/MSG01)\n"
	    "qsum    = sum(PO102)\n"
	    "absent  = BEG04\n"
	    "ctt     = CTT01 | int\n"
	    "abs     = /BEG03\n"
	    "num     = 12.5\n"
	    "noPair  = PER{ZZ}\n",
	    hdr850);
	run_text(text, "850", doc850, &r, 0);
	is_int(r.rv, 0, "paths: evaluates");
	is_json(r.doc, "{\"beg03\":\"PO-1\",\"d002\":\"2024-03-10\","
	    "\"d010\":\"20240305\",\"alt\":\"V123\",\"neg\":\"V123\","
	    "\"andf\":\"MARY\",\"andk\":\"MARY\",\"pairTe\":\"555-1234\","
	    "\"pairOc\":\"555-9999\",\"pairAlt\":\"555-9999\","
	    "\"shipCity\":\"CITY\",\"firstZip\":\"12345\","
	    "\"desc\":\"BLUE WIDGET\",\"cur\":\"USD\",\"lit\":\"X\","
	    "\"isa06\":\"ACMERETAIL\",\"gs04\":\"2024-03-02\","
	    "\"st02\":\"0001\",\"pid\":\"acme-retail\","
	    "\"pname\":\"Acme Retail\",\"npo1\":2,\"nref\":1,"
	    "\"note\":\"HELLO WORLD\",\"qsum\":\"13\",\"ctt\":2,"
	    "\"abs\":\"PO-1\",\"num\":\"12.5\"}", "paths: every form");
	ok(has_line(&r.diags, "W MAP-MULTI document.firstZip|N1/N403|"
	    "17/N4/3: N1/N403 matched 2 segments; the first (segment 17) is "
	    "used, others at segment 21"), "paths: MAP-MULTI names the others");
	ok(has_line(&r.diags, "W MAP-MULTI document.desc|PO1/PID/PID05[PID01=F]"
	    "|23/PID/5"), "paths: loop steps search every loop (MAP-MULTI)");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.lit|BEG07|4/BEG/7: "
	    "BEG07 is empty: default X (literal) used for document.lit"),
	    "paths: or with a literal is MAP-DEFAULT");
	ok(no_line(&r.diags, "document.cur"), "paths: or with a path is "
	    "silent");
	run_free(&r);
}

/* Repetitions, composites, component filters (hand-split values). */
static void
test_components(void)
{
	char	 text[8192];
	struct run r;

	snprintf(text, sizeof(text), "map t\nsource edifact ORDERS D*\n"
	    "structure structures/edifact-orders.struct\nevent e 1\n"
	    "id      = BGM02\n"
	    "id2     = BGM02-01\n"
	    "type    = BGM01-01\n"
	    "issue   = DTM01-02[DTM01-01=137|4] | date code DTM01-03\n"
	    "deliv   = DTM01-02[DTM01-01=2] | date code DTM01-03\n"
	    "phone   = NAD/CTA/COM01-01[COM01-02=TE]\n"
	    "email   = NAD/CTA/COM01-01[COM01-02=EM]\n"
	    "rep2    = FTX04-01#2\n"
	    "rep1    = FTX04-01\n"
	    "cux     = CUX01-02[CUX01-01=2]\n"
	    "nlin    = CNT01-02[CNT01-01=2] | int\n"
	    "group lines[] from LIN\n"
	    "  id = LIN01 or seq\n"
	    "  gtin = LIN03-01[LIN03-02=SRV|EN]\n"
	    "  seller = PIA{SA} or LIN03-01[LIN03-02=SA]\n"
	    "  buyer = PIA{IN|BP}\n"
	    "  qty = QTY01-02[QTY01-01=21|1] | decimal\n"
	    "end\n");
	run_text(text, "ORDERS",
	    "BGM*220*PO99*9~"
	    "DTM*137:20051107:102~"
	    "DTM*2:051110:101~"
	    "FTX*AAI***first^second~"
	    "NAD*BY*5412345000176::9~"
	    "CTA*IC*:BUYER~"
	    "COM*0123^x@y.com:EM^555:TE~"
	    "CUX*2:EUR:9~"
	    "LIN*1*1*0764569104:IB~"
	    "PIA*5*6001001:IN::92*1001:SA~"
	    "QTY*1:25,5~"
	    "LIN***4006381333931:EN~"
	    "QTY*21:3~"
	    "UNS*S~"
	    "CNT*2:2~", &r, 0);
	is_int(r.rv, 0, "components: evaluates");
	is_json(r.doc, "{\"id\":\"PO99\",\"id2\":\"PO99\",\"type\":\"220\","
	    "\"issue\":\"2005-11-07\",\"deliv\":\"2005-11-10\","
	    "\"phone\":\"555\",\"email\":\"x@y.com\",\"rep2\":\"second\","
	    "\"rep1\":\"first\",\"cux\":\"EUR\",\"nlin\":2,"
	    "\"lines\":[{\"id\":\"1\",\"seller\":\"1001\",\"buyer\":\"6001001\","
	    "\"qty\":\"25.5\"},{\"id\":\"2\",\"gtin\":\"4006381333931\","
	    "\"qty\":\"3\"}]}", "components: BGM02 == BGM02-01, COM "
	    "repetitions, #2, PIA composite pairs, date code");
	run_free(&r);
}

/*
 * map_codekey is a code's bytes, byte i at bits 8i, and its length in the
 * top byte, whichever way it is computed; longer than 7 bytes has no key.
 * Each length is taken from the end of a buffer, so that a read past the
 * code would be one past the buffer too (ASan).
 */
static void
test_codekey(void)
{
	const char	*text = "AbC9-./";
	char		*buf;
	uint64_t	 want;
	size_t		 len, i;
	int		 bad = 0;

	for (len = 0; len <= 8; len++) {
		buf = malloc(len > 0 ? len : 1);
		if (buf == NULL)
			abort();
		for (i = 0; i < len; i++)
			buf[i] = len == 8 ? 'x' : text[(i + len) % 7];
		want = len > 7 ? UINT64_MAX : (uint64_t)len << 56;
		for (i = 0; i < len && len <= 7; i++)
			want |= (uint64_t)(unsigned char)buf[i] << (8 * i);
		if (map_codekey(buf, len) != want) {
			printf("# map_codekey length %zu: %016llx, want %016llx\n",
			    len, (unsigned long long)map_codekey(buf, len),
			    (unsigned long long)want);
			bad++;
		}
		free(buf);
	}
	ok(bad == 0, "map_codekey: bytes in place and the length, 0 to 8");
}

/*
 * Values that are not the el-th of their segment (segval_near): after
 * empty elements, later components, past the last
 * value, an element that is absent between two present ones, and the
 * first of several values of an element.
 */
static void
test_values_near(void)
{
	struct run r;

	run_text("map t\nsource edifact ORDERS D*\n"
	    "structure structures/edifact-orders.struct\nevent e 1\n"
	    "a = NAD01\nb = NAD02-01\nc = NAD02-03\nd = NAD04-01\n"
	    "e = NAD05-03\nf = NAD06\ng = NAD07-01\nh = NAD08\n"
	    "i = NAD09\nj = NAD03-01\nk = NAD05-02\n"
	    "o = LIN03-02\np = LIN03-01\nq = LIN02\n"
	    "group lines[] from LIN\n"
	    "  l = IMD03-04\n  m = IMD03-02\n  n = IMD02\nend\n",
	    "ORDERS",
	    "BGM*220*PO99*9~"
	    "NAD*BY*111::9**ACME*L1:L2:L3*CITY***DE~"
	    "LIN*1**733:EN~IMD*F**:::DESC~", &r, 0);
	is_int(r.rv, 0, "values near: evaluates");
	is_json(r.doc, "{\"a\":\"BY\",\"b\":\"111\",\"c\":\"9\","
	    "\"d\":\"ACME\",\"e\":\"L3\",\"f\":\"CITY\","
	    "\"i\":\"DE\",\"k\":\"L2\",\"o\":\"EN\",\"p\":\"733\","
	    "\"lines\":[{\"l\":\"DESC\"}]}",
	    "values near: found from their element's place, absent ones "
	    "absent");
	run_free(&r);
}

/*
 * A qualifier on the element read picks one of its repetitions: the
 * codes rank in listed order across repetitions, a repetition without
 * the value is no candidate, two of the same rank are MAP-MULTI, and a
 * negated or long code takes the general path with the same result.
 */
static void
test_rep_qualifiers(void)
{
	struct run r;

	run_text("map t\nsource edifact ORDERS D*\n"
	    "structure structures/edifact-orders.struct\nevent e 1\n"
	    "first   = DTM01-02[DTM01-01=4|137]\n"
	    "phone   = COM01-01[COM01-02=TE]\n"
	    "mail    = COM01-01[COM01-02=EM]\n"
	    "notfax  = COM01-01[COM01-02!=FX]\n"
	    "long    = COM01-01[COM01-02=LONGCODE1|EM]\n"
	    "self    = COM01-02[COM01-02=TE]\n"
	    "nothing = DTM01-02[DTM01-01=999]\n",
	    "ORDERS",
	    "BGM*220*PO99*9~"
	    "DTM*137:20051107:102^4:20060101:102~"
	    "COM*:TE^a@b:EM^555:TE^c@d:EM~", &r, 0);
	is_int(r.rv, 0, "rep qualifiers: evaluates");
	is_json(r.doc, "{\"first\":\"20060101\",\"phone\":\"555\","
	    "\"mail\":\"a@b\",\"notfax\":\"a@b\",\"long\":\"a@b\","
	    "\"self\":\"TE\"}",
	    "rep qualifiers: listed order, missing value, general path");
	ok(has_line(&r.diags, "W MAP-MULTI document.mail|"),
	    "rep qualifiers: two repetitions of one rank are MAP-MULTI");
	ok(has_line(&r.diags, "W MAP-MULTI document.self|"),
	    "rep qualifiers: the qualifier read itself, MAP-MULTI");
	run_free(&r);
}

/*
 * Pair layouts the shipped structures do not use: the qualifier second
 * (PO106 value, PO107 qualifier), and component pairs in a repeating
 * element, more repetitions than the evaluator keeps pairs for, the code
 * asked for in the last ones.
 */
static void
test_pair_layouts(void)
{
	char	 text[4096], body[8192];
	struct run r;
	size_t	 o;
	int	 i;

	snprintf(text, sizeof(text), "map t\nsource x12 850 004*\n"
	    "structure structures/t-pairs.struct\nevent e 1\n"
	    "group lines[] from PO1\n"
	    "  vn = PO1{VN}\n  alt = PO1{UP|BP}\n  nothing = PO1{ZZ}\n"
	    "end\n"
	    "ref = REF{Q1}\nlast = REF{QLAST|Q5}\nrefMiss = REF{QX}\n");
	o = (size_t)snprintf(body, sizeof(body),
	    "BEG*00*SA*P**20240101~REF*XX*");
	for (i = 0; i < 120; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%sr%d:Q%d",
		    i ? "^" : "", i, i % 7);
	snprintf(body + o, sizeof(body) - o, "^end:QLAST~"
	    "PO1*1*2*EA*1.00**V1*VN*B1*BP*U1*UP~"
	    "PO1*2*2*EA*1.00**V2*VN*VN*V3*B2*BP~");
	run_text(text, "850", body, &r, 0);
	is_int(r.rv, 0, "pair layouts: evaluates");
	is_json(r.doc, "{\"lines\":[{\"vn\":\"V1\",\"alt\":\"U1\"},"
	    "{\"vn\":\"V2\",\"alt\":\"B2\"}],"
	    "\"ref\":\"r1\",\"last\":\"end\"}",
	    "pair layouts: qualifier second, many component pairs");
	run_free(&r);
}

/*
 * Pair rules over a segment without a declared pair range take every
 * element as a qualifier for the next: a REF of 99 elements has 98 pairs,
 * the code asked for in the last one.  PO1's declared range ends at
 * PO124/PO125.
 */
static void
test_many_pairs(void)
{
	char	 text[4096], body[4096];
	struct run r;
	size_t	 o;
	int	 i;

	snprintf(text, sizeof(text), "%s"
	    "ref = REF{VN}\nrefAlt = REF{BP|VN}\nrefNone = REF{UP}\n"
	    "seller = PO1{VN}\n", hdr850);
	o = (size_t)snprintf(body, sizeof(body),
	    "BEG*00*SA*P**20240101~REF");
	for (i = 0; i < 97; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "*Z%d", i);
	o += (size_t)snprintf(body + o, sizeof(body) - o,
	    "*VN*FAR~PO1*1*2*EA*1.00*");
	for (i = 0; i < 9; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "*ZZ*X%d", i);
	snprintf(body + o, sizeof(body) - o, "*VN*LAST~");
	run_text(text, "850", body, &r, 0);
	is_int(r.rv, 0, "many pairs: evaluates");
	is_json(r.doc, "{\"ref\":\"FAR\",\"refAlt\":\"FAR\","
	    "\"seller\":\"LAST\"}", "many pairs: REF's 98th pair and PO1's "
	    "last declared pair found, an absent code absent");
	run_free(&r);
}

/*
 * PO1 pairs read at their own positions when every element of them is
 * one value (pairs_dense), and the segments where that does not hold,
 * which the pass over the values reads: a qualifier last without its
 * value, a composite value, a repeated qualifier, an empty value (the
 * later pairs shift), an empty element before the pairs, components in
 * a qualifier.
 */
static void
test_pairs_dense(void)
{
	char	 text[4096];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "group lines[] from PO1\n"
	    "  id = PO101\n  seller = PO1{VN|VP}\n  buyer = PO1{BP}\n"
	    "  gtin = PO1{UP}\nend\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P**20240101~"
	    "PO1*1*2*EA*1.00*PE*BP*B1*VP*P1*VN*V1~"
	    "PO1*2*2*EA*1.00*PE*VN*V2*BP~"
	    "PO1*3*2*EA*1.00*PE*VN*V3:X*BP*B3~"
	    "PO1*4*2*EA*1.00*PE*VN^VP*V4*BP*B4~"
	    "PO1*5*2*EA*1.00*PE*BP**VN*V5*UP*U5~"
	    "PO1*6*2*EA*1.00**VN*V6*BP*B6~"
	    "PO1*7*2*EA*1.00*PE*VN:Q*V7*BP*B7*UP~"
	    "PO1*8*2*EA*1.00*PE*UP*U8*BP*B8*VP*P8*VN*V8*MG*M8*UK*K8"
	    "*EN*E8*IN*I8*CB*C8*VC*C8*XX*Y8~", &r, 0);
	is_int(r.rv, 0, "dense pairs: evaluates");
	is_json(r.doc, "{\"lines\":["
	    "{\"id\":\"1\",\"seller\":\"V1\",\"buyer\":\"B1\"},"
	    "{\"id\":\"2\",\"seller\":\"V2\"},"
	    "{\"id\":\"3\",\"seller\":\"V3\",\"buyer\":\"B3\"},"
	    "{\"id\":\"4\",\"seller\":\"V4\",\"buyer\":\"B4\"},"
	    "{\"id\":\"5\",\"seller\":\"V5\",\"gtin\":\"U5\"},"
	    "{\"id\":\"6\",\"seller\":\"V6\",\"buyer\":\"B6\"},"
	    "{\"id\":\"7\",\"seller\":\"V7\",\"buyer\":\"B7\"},"
	    "{\"id\":\"8\",\"seller\":\"V8\",\"buyer\":\"B8\","
	    "\"gtin\":\"U8\"}]}",
	    "dense pairs: as the pass over the values reads them");
	run_free(&r);

	/*
	 * Fewer values than the first pair position: PO101 and PO105 left
	 * empty (VICS), so PO106 is the fifth value.  The pair is there.
	 */
	run_text(text, "850", "BEG*00*SA*P**20240101~"
	    "PO1**2*EA*1.00**UP*U9~"
	    "PO1**2*EA***VN*V10~", &r, 0);
	is_int(r.rv, 0, "pairs past empty elements: evaluates");
	is_json(r.doc, "{\"lines\":["
	    "{\"gtin\":\"U9\"},{\"seller\":\"V10\"}]}",
	    "pairs past empty elements: found by the pass");
	run_free(&r);
}

/* ---- list rules ---------------------------------------------------------- */

/*
 * List rules of plain paths of one tag are read in one pass when nobody
 * traces (map_eval.c list_plain); tracing takes the general collect and
 * sort.  Both must give the same document and diagnostics: by segment,
 * then list order, filters per item, defaults and MAP-REQ when none.
 */
static void
test_list_rules(void)
{
	static const char *const want = "{\"refs\":[\"R1\",\"R2\"],"
	    "\"parties\":[{\"lines\":[\"A2\",\"A1\",\"B2\",\"X\",\"B2\"],"
	    "\"miss\":[\"none\"]},{\"lines\":[\"C\\\"2\"],"
	    "\"miss\":[\"none\"]}]}";
	char	 text[4096];
	struct run r, t;

	snprintf(text, sizeof(text), "%s"
	    "refs[] = REF02\n"
	    "group parties[] from N1\n"
	    "  lines[] = N302, N301, N302[N301=X]\n"
	    "  miss[] = N309 default \"none\"\n"
	    "  req[] = N399 required warn\n"
	    "end\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~REF*DP*R1~REF*IA*R2~"
	    "N1*ST*A~N3*A1*A2~N3*X*B2~N1*BT*B~N3**C\"2~", &r, 0);
	run_text(text, "850", "BEG*00*SA*P1**20240101~REF*DP*R1~REF*IA*R2~"
	    "N1*ST*A~N3*A1*A2~N3*X*B2~N1*BT*B~N3**C\"2~", &t, 1);
	is_int(r.rv, 0, "list rules: evaluate");
	is_str(r.json, want, "list rules: by segment, then list order");
	is_str(t.json, want, "list rules: the same when traced");
	is_str(r.diags.p ? r.diags.p : "", t.diags.p ? t.diags.p : "",
	    "list rules: the same diagnostics when traced");
	ok(r.diags.p != NULL && strstr(r.diags.p, "MAP-REQ") != NULL,
	    "list rules: a required list with no value warns");
	run_free(&r);
	run_free(&t);
}

/*
 * `a or b`, a absent: b read as a first term is (map_eval.c run_rule_or)
 * unless someone traces.  Both ways give the same document and
 * diagnostics: b found, transformed, absent, required, followed by a
 * literal (MAP-DEFAULT), or matched twice (MAP-MULTI).
 */
static void
test_or_second(void)
{
	static const char *const want = "{\"a\":\"P1\",\"b\":\"20240101\","
	    "\"c\":\"2024-01-01\",\"e\":\"lit\",\"f\":\"R1\"}";
	char	 text[4096];
	struct run r, t;

	snprintf(text, sizeof(text), "%s"
	    "a = BEG09 or BEG03\n"
	    "b = BEG09 or BEG05\n"
	    "c = BEG09 or BEG05 | date x12\n"
	    "d = BEG09 or BEG08 required warn\n"
	    "e = BEG09 or BEG08 or \"lit\"\n"
	    "f = BEG09 or REF02\n"
	    "g = BEG09 or BEG08\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~REF*DP*R1~REF*IA*R2~",
	    &r, 0);
	run_text(text, "850", "BEG*00*SA*P1**20240101~REF*DP*R1~REF*IA*R2~",
	    &t, 1);
	is_int(r.rv, 0, "or, second term: evaluates");
	is_str(r.json, want, "or, second term: values");
	is_str(t.json, want, "or, second term: the same when traced");
	is_str(r.diags.p ? r.diags.p : "", t.diags.p ? t.diags.p : "",
	    "or, second term: the same diagnostics when traced");
	ok(has_line(&r.diags, "W MAP-REQ document.d|") &&
	    has_line(&r.diags, "W MAP-DEFAULT document.e|") &&
	    has_line(&r.diags, "W MAP-MULTI document.f|"),
	    "or, second term: MAP-REQ, MAP-DEFAULT and MAP-MULTI");
	run_free(&r);
	run_free(&t);
}

/*
 * Rules under a `when`, and a literal alone, are taken a short way when
 * nobody traces (map_eval.c run_rule_short); a plain literal's node is
 * the literal's own text.  Both ways give the same document and
 * diagnostics: when true or false, a literal to escape or not ASCII.
 */
static void
test_when_lit(void)
{
	static const char *const want = "{\"id\":\"P1\",\"k\":\"GTIN\","
	    "\"q\":\"a\\\"b\",\"u\":\"\xc3\xa9t\xc3\xa9\","
	    "\"x\":{\"v\":\"SA\",\"s\":\"S\"},\"d\":\"2024-01-01\"}";
	char	 text[4096];
	struct run r, t;

	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "k = \"GTIN\" when exists(id)\n"
	    "n = \"NO\" when exists(none)\n"
	    "q = \"a\\\"b\"\n"
	    "u = \"\xc3\xa9t\xc3\xa9\"\n"
	    "x.v = BEG02\n"
	    "x.s = \"S\" when exists(x.v)\n"
	    "d = BEG05 | date x12 when exists(id)\n"
	    "e = BEG09 required warn when exists(id)\n"
	    "f = BEG03 when exists(none)\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~", &r, 0);
	run_text(text, "850", "BEG*00*SA*P1**20240101~", &t, 1);
	is_int(r.rv, 0, "when, literals: evaluate");
	is_str(r.json, want, "when, literals: values");
	is_str(t.json, want, "when, literals: the same when traced");
	is_str(r.diags.p ? r.diags.p : "", t.diags.p ? t.diags.p : "",
	    "when, literals: the same diagnostics when traced");
	ok(has_line(&r.diags, "W MAP-REQ document.e|"),
	    "when, literals: required under a true when");
	run_free(&r);
	run_free(&t);
}

/*
 * An array group finds its array once for all its instances, unless a
 * statement in it writes from the event root (map_block.rootw): such
 * groups take the general way, which finds it for each instance.  Rooted
 * rules and groups inside an array group, into other fields and into the
 * group's own array: the documents 5f7faca gave, before the array was
 * found once.
 */
static void
test_group_rootw(void)
{
	static const char *const po =
	    "BEG*00*SA*P1**20240101~PO1*1*5*EA*2**VN*A1~"
	    "PO1*2*7*EA*3**VN*B2~PO1*3*9*EA*4**VN*C3~";
	char	 text[4096];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "group lines[] from PO1\n"
	    "  id = PO101\n"
	    "  /lastLine = PO101 oneway\n"
	    "  /seen[] = PO102\n"
	    "end\n", hdr850);
	run_text(text, "850", po, &r, 0);
	is_str(r.json, "{\"id\":\"P1\",\"lines\":[{\"id\":\"1\"},"
	    "{\"id\":\"2\"},{\"id\":\"3\"}],\"lastLine\":\"3\","
	    "\"seen\":[\"5\",\"7\",\"9\"]}",
	    "array group with rooted rules: every instance and rooted value");
	run_free(&r);
	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "group lines[] from PO1\n"
	    "  id = PO101\n"
	    "  group /lines[] from PO1\n"
	    "    x = PO103\n"
	    "  end\n"
	    "end\n", hdr850);
	run_text(text, "850", po, &r, 0);
	is_str(r.json, "{\"id\":\"P1\",\"lines\":[{\"x\":\"EA\"},"
	    "{\"id\":\"1\"},{\"x\":\"EA\"},{\"id\":\"2\"},"
	    "{\"x\":\"EA\"},{\"id\":\"3\"}]}",
	    "array group with a rooted group into its own array: both kept");
	run_free(&r);
	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "group lines[] from PO1\n"
	    "  id = PO101\n"
	    "  group /lines[] from SAC\n"
	    "    x = SAC01\n"
	    "  end\n"
	    "end\n", hdr850);
	run_text(text, "850", po, &r, 0);
	is_str(r.json, "{\"id\":\"P1\",\"lines\":[{\"id\":\"1\"},"
	    "{\"id\":\"2\"},{\"id\":\"3\"}]}",
	    "array group with a rooted group of no instances into its own "
	    "array: every line kept");
	run_free(&r);
}

/*
 * Run map text over the 850 p untraced and traced: it evaluates, each of
 * the nwant MAP-CHECK warnings (": message\n") is given and no other,
 * and tracing changes none of the diagnostics.
 */
static void
check_wants(const char *text, const char *p, const char *const *want,
    size_t nwant, const char *label)
{
	struct run r, t;
	size_t	 i;
	int	 n;

	run_text(text, "850", p, &r, 0);
	run_text(text, "850", p, &t, 1);
	is_int(r.rv, 0, "%s: evaluates", label);
	for (i = 0; i < nwant; i++)
		ok(has_line(&r.diags, want[i]), "%s: %.*s", label,
		    (int)strlen(want[i]) - 3, want[i] + 2);
	for (n = 0, p = r.diags.p; p != NULL &&
	    (p = strstr(p, "MAP-CHECK")) != NULL; p++)
		n++;
	is_int(n, (int)nwant, "%s: no other check fails", label);
	is_str(r.diags.p ? r.diags.p : "", t.diags.p ? t.diags.p : "",
	    "%s: the same diagnostics when traced", label);
	run_free(&r);
	run_free(&t);
}

/*
 * A checked field against a literal: unsigned integers (leading zeros,
 * "0", "00") compared where they are read, everything else (a sign, a
 * decimal, text, an exponent, an object, an absent field) as before.
 */
static void
test_check_lit(void)
{
	static const char *const want[] = {
	    ": le6.5 007\n",
	    ": obj 007\n",
	    ": eq007 6.5\n",
	    ": obj 6.5\n",
	    ": lt9 ABC\n",
	    ": eq007 ABC\n",
	    ": neABC ABC\n",
	    ": le6.5 ABC\n",
	    ": lt9 10\n",
	    ": eq007 10\n",
	    ": le6.5 10\n",
	    ": obj 10\n",
	    ": v12 10\n",
	    ": obj \n",
	    ": v12 \n",
	    ": gt6 0\n",
	    ": eq007 0\n",
	    ": ge05 0\n",
	    ": gt00 0\n",
	    ": gt6 -1\n",
	    ": eq007 -1\n",
	    ": ge05 -1\n",
	    ": gt00 -1\n",
	    ": le6.5 +7\n",
	    ": gt6 00\n",
	    ": eq007 00\n",
	    ": ge05 00\n",
	    ": gt00 00\n",
	    ": lt9 9.00\n",
	    ": eq007 9.00\n",
	    ": le6.5 9.00\n",
	    ": gt6 1e3\n",
	    ": eq007 1e3\n",
	};
	char	 text[4096];
	const char *p;

	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "group lines[] from REF\n"
	    "  q = REF02\n"
	    "  item.v = REF03\n"
	    "  check q > 6 warn \"gt6 {q}\"\n"
	    "  check q < 9 warn \"lt9 {q}\"\n"
	    "  check q = 007 warn \"eq007 {q}\"\n"
	    "  check q != ABC warn \"neABC {q}\"\n"
	    "  check q >= 05 warn \"ge05 {q}\"\n"
	    "  check q <= 6.5 warn \"le6.5 {q}\"\n"
	    "  check q > 00 warn \"gt00 {q}\"\n"
	    "  check item > 0 warn \"obj {q}\"\n"
	    "  check item.v = 12 warn \"v12 {q}\"\n"
	    "  check nothing > 0 warn \"none {q}\"\n"
	    "end\n", hdr850);
	p = "BEG*00*SA*P1**20240101~REF*DP*007*12~REF*DP*6.5*012~"
	    "REF*DP*ABC~REF*DP*10*x~REF*DP**y~REF*DP*0~REF*DP*-1~REF*DP*+7~"
	    "REF*DP*00~REF*DP*9.00~REF*DP*1e3~PO1*1*1*EA~";
	check_wants(text, p, want, sizeof(want) / sizeof(want[0]),
	    "check literal");
}

/*
 * count() and sum() of fields compared: whole totals against unsigned
 * integers without their text, and every other pairing (a decimal or
 * negative total, text, a number past 19 digits, count against count or
 * sum, an absent operand) as before.
 */
static void
test_check_agg(void)
{
	static const char *const want[] = {
	    ": slt19\n",
	    ": sABC\n",
	    ": shuge2\n",
	    ": scount 3\n",
	    ": d3 3.75\n",
	    ": cne3 3\n",
	    ": cgt0\n",
	    ": cctt2 20\n",
	    ": csum\n",
	    ": ccount\n",
	};
	char	 text[8192];
	const char *p;

	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "group a[] from REF[REF01=DP]\n"
	    "  q = REF02\n"
	    "end\n"
	    "group d[] from REF[REF01=IA]\n"
	    "  q = REF02\n"
	    "end\n"
	    "group n[] from REF[REF01=CT]\n"
	    "  q = REF02\n"
	    "end\n"
	    "group e[] from REF[REF01=PD]\n"
	    "  q = REF02\n"
	    "end\n"
	    "check sum(a.q) = 20 warn \"s20 {sum(a.q)}\"\n"
	    "check sum(a.q) = 0020 warn \"s0020\"\n"
	    "check sum(a.q) > 19 warn \"sgt19\"\n"
	    "check sum(a.q) < 19 warn \"slt19\"\n"
	    "check sum(a.q) = 20.0 warn \"s20.0\"\n"
	    "check sum(a.q) = ABC warn \"sABC\"\n"
	    "check sum(a.q) < 123456789012345678901234 warn \"shuge\"\n"
	    "check sum(a.q) > 123456789012345678901234 warn \"shuge2\"\n"
	    "check sum(a.q) = count(a) warn \"scount {count(a)}\"\n"
	    "check sum(d.q) = 3.75 warn \"d375\"\n"
	    "check sum(d.q) = 3 warn \"d3 {sum(d.q)}\"\n"
	    "check sum(n.q) = -2 warn \"nm2\"\n"
	    "check sum(n.q) < 0 warn \"nlt0\"\n"
	    "check sum(e.q) = 0 warn \"e0\"\n"
	    "check sum(e.q) = 00 warn \"e00\"\n"
	    "check sum(none.q) = 0 warn \"none\"\n"
	    "check count(a) = 3 warn \"c3\"\n"
	    "check count(a) = 03 warn \"c03\"\n"
	    "check count(a) != 3 warn \"cne3 {count(a)}\"\n"
	    "check count(none) = 0 warn \"c0\"\n"
	    "check count(none) > 0 warn \"cgt0\"\n"
	    "check count(a) = x3 warn \"cx3\"\n"
	    "check count(a) >= CTT01 warn \"cctt {CTT01}\"\n"
	    "check count(a) = CTT02 warn \"cctt2 {CTT02}\"\n"
	    "check count(a) = sum(e.q) warn \"csum\"\n"
	    "check count(a) = count(d) warn \"ccount\"\n"
	    "check sum(a.q) = CTT02 warn \"sctt2\"\n", hdr850);
	p = "BEG*00*SA*P1**20240101~REF*DP*007~REF*DP*10~REF*DP*3~"
	    "REF*IA*1.5~REF*IA*2.25~REF*CT*-5~REF*CT*3~REF*PD*0~"
	    "PO1*1*1*EA~CTT*3*20~";
	check_wants(text, p, want, sizeof(want) / sizeof(want[0]),
	    "check count/sum");
}

/* ---- groups ------------------------------------------------------------- */

/*
 * Groups in a row that select one tag by one qualifier element read each
 * instance's qualifier once (map_eval.c run_gshare), and select what each
 * group alone would: a qualifier element that repeats (its codes ranked
 * across the repetitions), two instances of one rank (MAP-MULTI), none,
 * an array group.  A trace runs each group alone: the same document and
 * diagnostics.
 */
static void
test_group_runs(void)
{
	static const char text[] = "map t\nsource edifact ORDERS D*\n"
	    "structure structures/edifact-orders.struct\nevent e 1\n"
	    "first = BGM02\n"
	    "group a from DTM[DTM01-01=4|137]\n  v = DTM01-02\nend\n"
	    "group b from DTM[DTM01-01=137]\n  v = DTM01-02\nend\n"
	    "group c from DTM[DTM01-01=2]\n  v = DTM01-02\nend\n"
	    "group d from DTM[DTM01-01=999]\n  v = DTM01-02\nend\n"
	    "group e from DTM[DTM01-01=999|4]\n  v = DTM01-02\nend\n"
	    "group f[] from DTM[DTM01-01=2|4]\n  v = DTM01-02\nend\n";
	static const char body[] = "BGM*220*PO99*9~"
	    "DTM*137:20051107:102^4:20060101:102~"
	    "DTM*2:20070101:102~DTM*2:20080101:102~";
	static const char want[] = "{\"first\":\"PO99\","
	    "\"a\":{\"v\":\"20051107\"},\"b\":{\"v\":\"20051107\"},"
	    "\"c\":{\"v\":\"20070101\"},\"e\":{\"v\":\"20051107\"},"
	    "\"f\":[{\"v\":\"20051107\"},{\"v\":\"20070101\"},"
	    "{\"v\":\"20080101\"}]}";
	struct run r;
	int	 trace;

	for (trace = 0; trace <= 1; trace++) {
		run_text(text, "ORDERS", body, &r, trace);
		is_int(r.rv, 0, "group runs: evaluates (trace %d)", trace);
		is_json(r.doc, want, trace ? "group runs: traced, each group "
		    "alone" : "group runs: repeated qualifier, none, array");
		ok(has_line(&r.diags, "W MAP-MULTI document.c|"),
		    "group runs: two of one rank are MAP-MULTI (trace %d)",
		    trace);
		run_free(&r);
	}
}

static void
test_groups(void)
{
	char	 text[16384];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "lookup idScheme on-miss warn\n  92 <-> buyerAssigned\n"
	    "  UL <-> GLN\nend\n"
	    "template party\n"
	    "  name = N102\n"
	    "  id.value = N104\n"
	    "  id.schemeId = N103 | lookup idScheme when exists(id.value)\n"
	    "  address.lines[] = N301, N302\n"
	    "  address.city = N401\n"
	    "end\n"
	    "id = BEG03 required\n"
	    "group references[] from REF\n"
	    "  type = REF01\n"
	    "  value = REF02\n"
	    "end\n"
	    "group notes[] from N9\n"
	    "  type = N901\n"
	    "  text = join(\" \", MSG01) or N903 oneway\n"
	    "end\n"
	    "group parties.shipTo from N1[N101=ST]\n  apply party\nend\n"
	    "group parties.billTo from N1[N101=BT]\n  apply party\nend\n"
	    "group parties.seller from N1[N101=SE|SU|VN] required warn "
	    "\"no seller\"\n  apply party\nend\n"
	    "group parties.any from N1[N101=BT|ST]\n  name = N102\nend\n"
	    	    "within PO1[PO101=1]\n  firstQty = PO102 | decimal\nend\n"
	    "group lines[] from PO1 required warn\n"
	    "  id = PO101 or seq\n"
	    "  quantity.value = PO102 | decimal required warn\n"
	    "  item.sellersItemId = PO1{VN|VP|VC}\n"
	    "  item.buyersItemId = PO1{BP|IN|CB}\n"
	    "  item.gtin = PO1{UP|EN|UK} | gtin14\n"
	    "  item.description = PID/PID05[PID01=F]\n"
	    "  orderId = /BEG03\n"
	    "  orderId2 = ../BEG03\n"
	    "  group descs[] from PID\n"
	    "    text = PID05\n"
	    "    line = ../id\n"
	    "  end\n"
	    "  check quantity.value > 6 warn \"line {id}: {quantity.value} "
	    "too small\"\n"
	    "end\n"
	    "group /flat[] from PO1\n  n = PO102 | int\nend\n"
	    "group empty[] from PO1\n  x = PO199\nend\n"
	    "totals.lineCount = CTT01 | int out count(lines)\n"
	    "check count(lines) = CTT01 warn \"CTT01 says {CTT01} lines but "
	    "{count(lines)} PO1 loops arrived\"\n"
	    "check sum(lines.quantity.value) = CTT02 warn \"hash {CTT02} != "
	    "{sum(lines.quantity.value)}\"\n"
	    "check count(lines) = 3 warn \"three {count(lines)}\"\n",
	    hdr850);
	run_text(text, "850", doc850, &r, 0);
	is_int(r.rv, 0, "groups: evaluates");
	is_json(r.doc, "{\"id\":\"PO-1\","
	    "\"references\":[{\"type\":\"DP\",\"value\":\"DEPT1\"},"
	    "{\"type\":\"IA\",\"value\":\"V123\"}],"
	    "\"notes\":[{\"type\":\"ZZ\",\"text\":\"HELLO WORLD\"}],"
	    "\"parties\":{"
	    "\"shipTo\":{\"name\":\"SHIP CO\",\"id\":{\"value\":\"0614141000036\","
	    "\"schemeId\":\"GLN\"},\"address\":{\"lines\":[\"10 SHIP RD\","
	    "\"DOCK 4\"],\"city\":\"CITY\"}},"
	    "\"billTo\":{\"name\":\"BILL CO\",\"id\":{\"value\":\"B1\","
	    "\"schemeId\":\"buyerAssigned\"},\"address\":{\"lines\":"
	    "[\"1 BILL ST\",\"SUITE 5\"],\"city\":\"TOWN\"}},"
	    "\"any\":{\"name\":\"BILL CO\"}},"
	    "\"firstQty\":\"8\","
	    "\"lines\":[{\"id\":\"1\",\"quantity\":{\"value\":\"8\"},"
	    "\"item\":{\"sellersItemId\":\"V1\",\"buyersItemId\":\"B1\","
	    "\"gtin\":\"00012345678905\",\"description\":\"BLUE WIDGET\"},"
	    "\"orderId\":\"PO-1\",\"orderId2\":\"PO-1\","
	    "\"descs\":[{\"text\":\"BLUE WIDGET\",\"line\":\"1\"},"
	    "{\"text\":\"SECOND\",\"line\":\"1\"}]},"
	    "{\"id\":\"2\",\"quantity\":{\"value\":\"5\"},"
	    "\"item\":{\"buyersItemId\":\"B2\",\"gtin\":\"04006381333931\"},"
	    "\"orderId\":\"PO-1\",\"orderId2\":\"PO-1\","
	    "\"descs\":[{\"text\":\"NOT F\",\"line\":\"2\"}]}],"
	    "\"flat\":[{\"n\":8},{\"n\":5}],"
	    "\"totals\":{\"lineCount\":2}}", "groups: arrays, objects, "
	    "templates, within, nested, /, ../, checks");
	ok(has_line(&r.diags, "W MAP-REQ document.parties.seller|"
	    "N1[N101=SE|SU|VN]|3/ST/0: no seller"),
	    "groups: required warn group names the ST trigger");
	ok(no_line(&r.diags, "W MAP-MULTI document.parties.any|"),
	    "groups: alternatives rank, no MAP-MULTI");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.lines[1].id|PO101|25/PO1/"
	    "1: PO101 is empty: default 2 (seq) used for document.lines[1].id"),
	    "groups: or seq on an empty PO101");
	ok(has_line(&r.diags, "W MAP-CHECK ||25/PO1/0: line 2: 5 too small"),
	    "groups: check in a group, message placeholders");
	ok(has_line(&r.diags, "W MAP-CHECK ||3/ST/0: three 2"),
	    "groups: top-level check after the groups");
	ok(no_line(&r.diags, "CTT01 says"), "groups: count check passes");
	ok(no_line(&r.diags, "hash"), "groups: exact sum check passes");
	ok(r.doc != NULL && json_object_get(r.doc, "empty") == NULL,
	    "groups: empty elements and arrays omitted");
	run_free(&r);
}

static void
test_unique(void)
{
	char	 text[4096];
	struct run r;

	snprintf(text, sizeof(text), "%sgroup parties.one from N1 unique\n"
	    "  name = N102\nend\n", hdr850);
	run_text(text, "850", doc850, &r, 0);
	is_int(r.rv, EG_ERR_REJECTED, "unique: two matches reject");
	ok(has_line(&r.diags, "E MAP-MULTI document.parties.one|N1|15/N1/0: N1 "
	    "must match once but matched 2 segments (segments 15, 18)"),
	    "unique: MAP-MULTI error names both");
	run_free(&r);
	run_text(text, "850", "BEG*00*SA*P**20240101~N1*ST*ONE~", &r, 0);
	is_int(r.rv, 0, "unique: one match is fine");
	is_json(r.doc, "{\"parties\":{\"one\":{\"name\":\"ONE\"}}}",
	    "unique: the object");
	run_free(&r);
}

/* ---- required, default, when, lookups -------------------------------------- */

static void
test_rules(void)
{
	char	 text[16384];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "lookup purpose on-miss error \"Unknown BEG01 purpose code "
	    "'{value}'\"\n  00 <-> original\n  01 <-> cancellation\nend\n"
	    "lookup poType on-miss warn\n  NE -> standard\nend\n"
	    "lookup uom on-miss warn \"Unknown unit '{value}' at {source}\"\n"
	    "  EA <-> EA\n  CA <-> CS\n  CS -> !\nend\n"
	    "lookup pass on-miss pass\n  A -> B\nend\n"
	    "lookup dflt on-miss default \"other\"\n  A -> B\nend\n"
	    "id = BEG03 required \"Purchase order number (BEG03) is missing\"\n"
	    "purpose = BEG01 | lookup purpose\n"
	    "orderType = BEG02 | lookup poType\n"
	    "rel = BEG04 default \"none\"\n"
	    "relWarn = BEG04 required warn\n"
	    "d = BEG05 | date x12 required warn\n"
	    "u1 = PO103 | lookup uom\n"
	    "p = BEG02 | lookup pass\n"
	    "dd = BEG02 | lookup dflt\n"
	    "w1 = BEG02 when BEG01 = 00\n"
	    "w2 = BEG02 when BEG01 in (05, 06)\n"
	    "w3 = BEG02 when exists(d)\n"
	    "w4 = BEG02 when not exists(nothing) and (BEG07 or BEG02) = ZZ\n"
	    "w5 = BEG02 when BEG04 = X\n"
	    "w6 = BEG02 when CTT01 >= 1.0 or BEG04 = X\n"
	    "n = CTT02 | decimal 2\n"
	    "i = CTT01 | int default 0\n"
	    "t = REF02[REF01=DP] | lower | max 3\n"
	    "check CTT01 < 2 error \"too many lines\"\n", hdr850);
	run_text(text, "850",
	    "BEG*00*ZZ*PO-9**2024031~"
	    "REF*DP*DEPARTMENT~"
	    "PO1*1*1*CS~PO1*2*1*ZZ~"
	    "CTT*2*2~", &r, 0);
	is_int(r.rv, EG_ERR_REJECTED, "rules: rejected (lookup !, date, check)");
	ok(r.doc == NULL, "rules: no document on error");
	ok(has_line(&r.diags, "W MAP-LOOKUP document.orderType|BEG02|4/BEG/2: "
	    "unknown code 'ZZ' in BEG02 (table poType)"),
	    "rules: on-miss warn default message");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.rel|BEG04|4/BEG/4: BEG04 "
	    "is empty: default none used for document.rel"), "rules: default");
	ok(has_line(&r.diags, "W MAP-REQ document.relWarn|BEG04|4/BEG/4: "
	    "document.relWarn is required but BEG04 is absent"),
	    "rules: required warn, element position on the segment");
	ok(has_line(&r.diags, "E MAP-TYPE document.d|BEG05|4/BEG/5: '2024031' "
	    "in BEG05 is not a date (YYMMDD or CCYYMMDD)"),
	    "rules: bad date is MAP-TYPE error");
	ok(no_line(&r.diags, "MAP-REQ document.d|"),
	    "rules: no MAP-REQ after MAP-TYPE");
	ok(has_line(&r.diags, "E MAP-LOOKUP document.u1|PO103|6/PO1/3: code "
	    "'CS' in PO103 is marked unusable (!) in table uom"),
	    "rules: -> ! row is an error");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.dd|BEG02|4/BEG/2: unknown "
	    "code 'ZZ' in BEG02 (table dflt): default other used"),
	    "rules: on-miss default");
	ok(has_line(&r.diags, "E MAP-CHECK |CTT01|8/CTT/0: too many lines"),
	    "rules: check error");
	ok(has_line(&r.diags, "W MAP-TRUNC document.t|REF02[REF01=DP]|5/REF/2: "
	    "'DEPARTMENT' in REF02[REF01=DP] truncated to 3 characters"),
	    "rules: max n truncates with MAP-TRUNC");
	run_free(&r);

	/* The same map on a clean document: the values. */
	run_text(text, "850",
	    "BEG*01*NE*PO-9*R1*20240301~"
	    "REF*DP*DEPT~"
	    "PO1*1*1*CA~"
	    "CTT*1*7.5~", &r, 0);
	is_int(r.rv, 0, "rules: clean document");
	is_json(r.doc, "{\"id\":\"PO-9\",\"purpose\":\"cancellation\","
	    "\"orderType\":\"standard\",\"rel\":\"R1\",\"relWarn\":\"R1\","
	    "\"d\":\"2024-03-01\",\"u1\":\"CS\",\"p\":\"NE\",\"dd\":\"other\","
	    "\"w3\":\"NE\",\"w6\":\"NE\",\"n\":\"7.50\",\"i\":1,"
	    "\"t\":\"dep\"}", "rules: lookups, when, default, typed values");
	run_free(&r);

	/* A missing business key rejects; MAP-REQ names the segment. */
	run_text(text, "850", "BEG*00*SA**20240301~", &r, 0);
	is_int(r.rv, EG_ERR_REJECTED, "rules: missing key rejects");
	ok(has_line(&r.lines, "t.edi: segment 4 (BEG), element 03: error "
	    "MAP-REQ: Purchase order number (BEG03) is missing [t.map:24]"),
	    "rules: MAP-REQ line format");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.i|"),
	    "rules: int default when CTT01 absent");
	run_free(&r);
}

/*
 * A value a transform leaves empty (| trim of blanks) takes the rule's
 * default or requirement, whichever way run_rule takes the rule; the
 * first term found is never a fallback.
 */
static void
test_rules_xform_absent(void)
{
	char	 text[4096];
	struct run r;

	snprintf(text, sizeof(text), "%s"
	    "id = BEG03\n"
	    "td = REF02 | trim default \"none\"\n"
	    "tr = REF02 | trim required warn\n"
	    "tq = REF02 | trim\n"
	    "to = REF02 or BEG03\n"
	    "tm = REF03 or BEG03\n", hdr850);
	run_text(text, "850", "BEG*00*SA*PO-1**20240311~REF*DP*   ~", &r, 0);
	is_int(r.rv, 0, "xform absent: evaluates");
	is_json(r.doc, "{\"id\":\"PO-1\",\"td\":\"none\",\"to\":\"   \","
	    "\"tm\":\"PO-1\"}", "xform absent: default, or, nothing");
	ok(has_line(&r.diags, "W MAP-DEFAULT document.td|REF02|5/REF/2: REF02 "
	    "is empty: default none used for document.td"),
	    "xform absent: default after | trim");
	ok(has_line(&r.diags, "W MAP-REQ document.tr|REF02|5/REF/2: "
	    "document.tr is required but REF02 is absent"),
	    "xform absent: required after | trim");
	ok(no_line(&r.diags, "document.to"), "xform absent: first term found");
	run_free(&r);
}

/* ---- hierarchy: the MAPS.md 856 map on the §6 sample ----------------------- */

static const char *sample856 =
    "BSN*00*SH240311-01*20240311*1630*0001~"
    "HL*1**S~TD1*CTN25*2****G*42.5*LB~TD5**2*UPSN*M~"
    "REF*BM*1Z999AA10123456784~"
    "DTM*011*20240311~DTM*017*20240315~N1*ST*ACME DC 7*UL*0614141000036~"
    "N1*SF*WIDGET CO*1*123456789~"
    "HL*2*1*O~PRF*4500012345***20240301~"
    "HL*3*2*P~MAN*GM*00006141411234567890~"
    "HL*4*3*I~LIN*1*VN*WC-1001*UP*012345678905~SN1**24*CA~"
    "HL*5*2*P~MAN*GM*00006141411234567906~"
    "HL*6*5*I~LIN*2*VN*WC-2002*UP*012345678912~SN1**10*EA~"
    "CTT*6~";

static struct map *
load_fixture(const char *name, char *errs, size_t errlen)
{
	char	 path[8192];
	struct map *m = NULL;
	struct buf b;

	snprintf(path, sizeof(path), "%s/%s", datadir, name);
	buf_init(&b, 1 << 20);
	map_load(path, datadir, &m, &b);
	snprintf(errs, errlen, "%s", b.p ? b.p : "");
	buf_free(&b);
	return m;
}

static void
test_856(void)
{
	char		 errs[8192];
	struct map	*m;
	struct tset	 t;
	struct run	 r;

	m = load_fixture("mapsmd_x12_856-shipment-noticed.map", errs,
	    sizeof(errs));
	ok(m != NULL, "856: MAPS.md map compiles");
	if (m == NULL) {
		printf("# %s", errs);
		return;
	}
	run_init(&r);
	mkset(&t, "856", "004010", sample856, map_structure(m));
	eval(m, &t.set, &r, 1);
	is_int(r.rv, 0, "856: evaluates");
	is_json(r.doc, "{\"id\":\"SH240311-01\",\"purpose\":\"original\","
	    "\"issueDate\":\"2024-03-11\",\"issueTime\":\"16:30\","
	    "\"hierarchyCode\":\"0001\","
	    "\"despatchDate\":\"2024-03-11\","
	    "\"estimatedDeliveryDate\":\"2024-03-15\","
	    "\"carrier\":{\"scac\":\"UPSN\",\"transportMode\":\"motor\"},"
	    "\"billOfLading\":\"1Z999AA10123456784\","
	    "\"totals\":{\"packageCount\":2,\"grossWeight\":{\"value\":\"42.5\","
	    "\"unitCode\":\"LBR\"}},"
	    "\"parties\":{\"shipTo\":{\"name\":\"ACME DC 7\",\"id\":{\"value\":"
	    "\"0614141000036\",\"schemeId\":\"GLN\"}},\"shipFrom\":{\"name\":"
	    "\"WIDGET CO\",\"id\":{\"value\":\"123456789\",\"schemeId\":"
	    "\"DUNS\"}}},"
	    "\"orders\":[{\"orderReference\":{\"id\":\"4500012345\","
	    "\"issueDate\":\"2024-03-01\"}}],"
	    "\"packages\":[{\"id\":\"3\",\"orderRef\":\"4500012345\","
	    "\"sscc\":\"006141411234567890\"},{\"id\":\"5\",\"orderRef\":"
	    "\"4500012345\",\"sscc\":\"006141411234567906\"}],"
	    "\"lines\":[{\"id\":\"4\",\"orderReference\":{\"id\":\"4500012345\","
	    "\"lineId\":\"1\"},\"packageRef\":\"3\",\"item\":{\"sellersItemId\":"
	    "\"WC-1001\",\"standardItemId\":{\"value\":\"00012345678905\","
	    "\"schemeId\":\"GTIN\"}},\"despatchedQuantity\":{\"value\":\"24\","
	    "\"unitCode\":\"CS\"}},"
	    "{\"id\":\"6\",\"orderReference\":{\"id\":\"4500012345\","
	    "\"lineId\":\"2\"},\"packageRef\":\"5\",\"item\":{\"sellersItemId\":"
	    "\"WC-2002\",\"standardItemId\":{\"value\":\"00012345678912\","
	    "\"schemeId\":\"GTIN\"}},\"despatchedQuantity\":{\"value\":\"10\","
	    "\"unitCode\":\"EA\"}}]}",
	    "856: SOPI hierarchy into flat orders/packages/lines");
	is_str(r.diags.p ? r.diags.p : "", "", "856: no diagnostics");
	ok(has_line(&r.trace, "mapsmd_x12_856-shipment-noticed.map:48 "
	    "lines[0].despatchedQuantity.unitCode <- SN103 \"CA\" (seg 19) | "
	    "lookup uom -> \"CS\""), "856: trace line format");
	arena_free(&t.a);
	run_free(&r);

	/* S/T/I/P without an order level; DTM before the first HL. */
	run_init(&r);
	mkset(&t, "856", "002001",
	    "BSN*00*SHIP2*20240311*1630~DTM*011*20240310~"
	    "HL*1**S~TD1*CTN*3~"
	    "HL*2*1*T~MAN*GM*00106141412345678908~"
	    "HL*3*2*I~LIN**BP*B-1*ON*RG61372~SN1**5*EA~"
	    "HL*4*3*P~MAN*GM*106141412345678908~"
	    "HL*5*2*I~LIN**BP*B-2*ON*RG61373~SN1**7*EA~"
	    "CTT*5~", map_structure(m));
	eval(m, &t.set, &r, 0);
	is_int(r.rv, 0, "856 STIP: evaluates");
	is_json(r.doc, "{\"id\":\"SHIP2\",\"purpose\":\"original\","
	    "\"issueDate\":\"2024-03-11\",\"issueTime\":\"16:30\","
	    "\"despatchDate\":\"2024-03-10\",\"totals\":{\"packageCount\":3},"
	    "\"packages\":[{\"id\":\"2\",\"sscc\":\"106141412345678908\"},"
	    "{\"id\":\"4\",\"parentId\":\"2\",\"sscc\":\"106141412345678908\"}],"
	    "\"lines\":[{\"id\":\"3\",\"item\":{\"buyersItemId\":\"B-1\"},"
	    "\"despatchedQuantity\":{\"value\":\"5\",\"unitCode\":\"EA\"},"
	    "\"orderReference\":{\"id\":\"RG61372\"},\"packageRef\":\"2\"},"
	    "{\"id\":\"5\",\"item\":{\"buyersItemId\":\"B-2\"},"
	    "\"despatchedQuantity\":{\"value\":\"7\",\"unitCode\":\"EA\"},"
	    "\"orderReference\":{\"id\":\"RG61373\"},\"packageRef\":\"2\"}]}",
	    "856 STIP: descendant groups, ^HL parents");
	arena_free(&t.a);
	run_free(&r);

	/* No shipment level at all: within required warn. */
	run_init(&r);
	mkset(&t, "856", "004010", "BSN*00*S3*20240311*1630~"
	    "HL*1**O~PRF*PO-X~CTT*1~", map_structure(m));
	eval(m, &t.set, &r, 0);
	is_int(r.rv, 0, "856 no S level: evaluates");
	ok(has_line(&r.diags, "W MAP-REQ |HL[HL03=S]|3/ST/0: No "
	    "shipment-level HL (HL03=S)"), "856: within required warn");
	arena_free(&t.a);
	run_free(&r);
	map_free(m);
}

/* child vs descendant, and roots at the top level. */
static void
test_hierarchy_axes(void)
{
	char	 text[8192];
	struct run r;

	snprintf(text, sizeof(text), "map t\nsource x12 856\n"
	    "structure structures/x12-856.struct\nevent e 1\n"
	    "group roots[] from HL\n  id = HL01\nend\n"
	    "group all[] from HL descendant\n  id = HL01\nend\n"
	    "within HL[HL03=S]\n"
	    "  group kids[] from HL child\n    id = HL01\n"
	    "    group grand[] from HL\n      id = HL01\n"
	    "      up = ^HL[HL03=S]/HL01\n    end\n  end\n"
	    "  group below[] from HL[HL03=I] descendant\n    id = HL01\n"
	    "    parent = ^HL/HL01\n    pack = ^HL[HL03=P|T]/HL01\n  end\n"
	    "end\n");
	run_text(text, "856", "BSN*00*X*20240101~"
	    "HL*1**S~HL*2*1*O~HL*3*2*P~HL*4*3*I~HL*5*2*I~HL*6*1*O~"
	    "HL*7**S~HL*8*7*I~HL*9*99*I~CTT*9~", &r, 0);
	is_int(r.rv, 0, "axes: evaluates");
	is_json(r.doc, "{\"roots\":[{\"id\":\"1\"},{\"id\":\"7\"},{\"id\":\"9\"}],"
	    "\"all\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"},{\"id\":\"4\"},"
	    "{\"id\":\"5\"},{\"id\":\"6\"},{\"id\":\"7\"},{\"id\":\"8\"},"
	    "{\"id\":\"9\"}],"
	    "\"kids\":[{\"id\":\"2\",\"grand\":[{\"id\":\"3\",\"up\":\"1\"},"
	    "{\"id\":\"5\",\"up\":\"1\"}]},{\"id\":\"6\"}],"
	    "\"below\":[{\"id\":\"4\",\"parent\":\"3\",\"pack\":\"3\"},"
	    "{\"id\":\"5\",\"parent\":\"2\"}]}",
	    "axes: roots, descendant, child, ^HL");
	ok(has_line(&r.diags, "W MAP-MULTI |HL[HL03=S]|"),
	    "axes: within with two matches warns");
	run_free(&r);
}

/* ---- the MAPS.md maps and the shipped maps compile --------------------------- */

static void
test_mapsmd(void)
{
	static const char *const names[] = {
		"mapsmd_x12_850-order-created.map",
		"mapsmd_x12_855-order-acknowledged.map",
		"mapsmd_x12_856-shipment-noticed.map",
		"mapsmd_edifact_orders-order-created.map",
		"mapsmd_cxml_orderrequest-order-created.map",
		"desadv-outline-filled.map",
		"partners/acme/850.map",
	};
	char	 errs[8192];
	size_t	 i;
	struct map *m;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		m = load_fixture(names[i], errs, sizeof(errs));
		ok(m != NULL, "MAPS.md map compiles: %s", names[i]);
		if (m == NULL)
			printf("# %s", errs);
		map_free(m);
	}
	m = load_fixture("mapsmd_edifact_desadv-shipment-noticed.map", errs,
	    sizeof(errs));
	ok(m == NULL && strstr(errs, "mapsmd_edifact_desadv-shipment-noticed."
	    "map:13:14: expected end of line, found '...'") != NULL,
	    "the DESADV outline (template nad ... end) is refused precisely");
	map_free(m);
}

static void
test_shipped(void)
{
	char		 dir[8192], path[8192 + 300];
	struct dirent	*de;
	DIR		*d;
	struct map	*m;
	struct buf	 b;
	int		 n = 0;

	snprintf(dir, sizeof(dir), "%s/x12", mapsdir);
	if ((d = opendir(dir)) == NULL) {
		ok(1, "no shipped maps yet");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".map") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf_init(&b, 1 << 20);
		m = NULL;
		map_load(path, mapsdir, &m, &b);
		ok(m != NULL, "shipped map compiles: x12/%s", de->d_name);
		if (m == NULL)
			printf("# %s", b.p ? b.p : "");
		else {
			char want[300];

			snprintf(want, sizeof(want), "x12/%s", de->d_name);
			is_str(map_name(m), want, "map name relative to maps_root");
		}
		map_free(m);
		buf_free(&b);
		n++;
	}
	closedir(d);
	if (n == 0)
		ok(1, "no shipped maps yet");
}

/* ---- partner override ------------------------------------------------------ */

static void
test_extends(void)
{
	char		 errs[8192];
	struct map	*m;
	struct tset	 t;
	struct run	 r;

	m = load_fixture("partners/acme/850.map", errs, sizeof(errs));
	ok(m != NULL, "extends: partner map compiles");
	if (m == NULL) {
		printf("# %s", errs);
		return;
	}
	is_str(map_id(m), "acme-850-order-created", "extends: own id");
	is_int(map_version(m), 2, "extends: own version");
	is_str(map_partner(m), "acme-retail", "extends: partner");
	is_str(map_event_type(m), "order.created", "extends: inherits event");
	is_int(map_direction(m), MAP_DIR_BOTH, "extends: inherits direction");
	run_init(&r);
	mkset(&t, "850", "004010", "BEG*00*SA*PO-7**20240301~"
	    "ITD*01*3*2**30**45~REF*19*D42~"
	    "N1*DP*DOCK 9~PO1*1*2*CS*3~CTT*1*2~", map_structure(m));
	eval(m, &t.set, &r, 0);
	is_int(r.rv, 0, "extends: CS passes (add row replaces `CS -> !`)");
	is_json(json_object_get(r.doc ? r.doc : json_null(), "lines"),
	    "[{\"id\":\"1\",\"quantity\":{\"value\":\"2\",\"unitCode\":\"CS\"},"
	    "\"price\":{\"amount\":\"3\"}}]", "extends: lines from the base");
	ok(r.doc != NULL && json_object_get(r.doc, "paymentTerms") == NULL,
	    "extends: drop removes the subtree");
	is_json(json_object_get(r.doc ? r.doc : json_null(), "references"),
	    "[{\"type\":\"department\",\"value\":\"D42\"}]",
	    "extends: lookup add");
	is_json(json_object_get(r.doc ? r.doc : json_null(), "parties"),
	    "{\"shipTo\":{\"name\":\"DOCK 9\"}}",
	    "extends: the group with the same target replaces the base's");
	ok(no_line(&r.diags, "No ship-to"),
	    "extends: replaced group has no required warn");
	arena_free(&t.a);
	run_free(&r);
	map_free(m);
}


/* ---- header-only loads and the lazy catalogue ------------------------- */

/* ok() with what explains a failure printed under it (may be NULL). */
static int
okd(int cond, const char *name, const char *detail)
{
	if (!ok(cond, "%s", name) && detail != NULL)
		printf("# %s\n", detail);
	return cond;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* What selection reads of a map, equal in a header and its compile. */
static int
same_selection(const struct map *a, const struct map *b, char *why,
    size_t len)
{
	int	 i;

#define DIFF(c, what) do {						\
	if (c) {							\
		snprintf(why, len, "%s", what);				\
		return 0;						\
	}								\
} while (0)
#define SDIFF(x, y) ((x) == NULL ? (y) != NULL : (y) == NULL ||	\
	strcmp((x), (y)) != 0)
	DIFF(SDIFF(map_id(a), map_id(b)), "id");
	DIFF(SDIFF(map_partner(a), map_partner(b)), "partner");
	DIFF(map_direction(a) != map_direction(b), "direction");
	DIFF(a->has_source != b->has_source || a->xml != b->xml ||
	    a->syntax != b->syntax, "syntax");
	DIFF(SDIFF(a->doctype, b->doctype) ||
	    SDIFF(a->doctype2, b->doctype2), "document type");
	DIFF(a->ndoctypes != b->ndoctypes, "roots");
	for (i = 0; i < a->ndoctypes; i++)
		DIFF(SDIFF(a->doctypes[i], b->doctypes[i]), "a root");
	DIFF(a->nversions != b->nversions, "versions");
	for (i = 0; i < a->nversions; i++)
		DIFF(SDIFF(a->versions[i], b->versions[i]), "a version");
	DIFF(a->nns != b->nns, "namespaces");
	for (i = 0; i < a->nns; i++)
		DIFF(SDIFF(a->ns[i].prefix, b->ns[i].prefix) ||
		    SDIFF(a->ns[i].uri, b->ns[i].uri), "a namespace");
#undef SDIFF
#undef DIFF
	return 1;
}

/* Compare the header and the compile of one file. */
static void
header_vs_full(const char *path, const char *root, const char *label)
{
	struct map	*full = NULL, *hdr = NULL;
	struct buf	 b1, b2;
	char		 why[64] = "";

	buf_init(&b1, 1 << 20);
	buf_init(&b2, 1 << 20);
	map_load(path, root, &full, &b1);
	map_load_header(path, root, &hdr, &b2);
	ok(full != NULL && hdr != NULL && map_is_header(hdr) &&
	    !map_is_header(full) && map_sha256(hdr)[0] == '\0' &&
	    same_selection(full, hdr, why, sizeof(why)) &&
	    strcmp(map_name(full), map_name(hdr)) == 0,
	    "header of %s selects as its compile %s", label, why);
	if (full == NULL || hdr == NULL)
		printf("# %s%s", b1.p ? b1.p : "", b2.p ? b2.p : "");
	map_free(full);
	map_free(hdr);
	buf_free(&b1);
	buf_free(&b2);
}

static void
header_walk(const char *dir, const char *root, int depth)
{
	char		 path[8192];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t	 l = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    (depth == 0 && strcmp(de->d_name, "tests") == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			header_walk(path, root, depth + 1);
		else if (l > 4 && strcmp(de->d_name + l - 4, ".map") == 0)
			header_vs_full(path, root, path + strlen(root) + 1);
	}
	closedir(d);
}

static char tmpmaps[4096];

static void
put(const char *rel, const char *text)
{
	char	 path[8192], *sl;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", tmpmaps, rel);
	for (sl = strchr(path + strlen(tmpmaps) + 1, '/'); sl != NULL;
	    sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		mkdir(path, 0700);
		*sl = '/';
	}
	if ((fp = fopen(path, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* map_load_header's errors for text as <tmpmaps>/h.map, directory cut. */
static struct map *
header_text(const char *text, int full, char *errs, size_t len)
{
	struct map	*m = NULL;
	struct buf	 b;
	char		 path[8192];
	const char	*p;
	size_t		 dl = strlen(tmpmaps) + 1;

	put("h.map", text);
	snprintf(path, sizeof(path), "%s/h.map", tmpmaps);
	buf_init(&b, 1 << 20);
	if (full)
		map_load(path, tmpmaps, &m, &b);
	else
		map_load_header(path, tmpmaps, &m, &b);
	errs[0] = '\0';
	for (p = b.p; p != NULL && *p != '\0'; ) {
		const char *q = strchr(p, '\n');
		size_t	 n = q ? (size_t)(q - p) + 1 : strlen(p);

		if (n > dl && strncmp(p, tmpmaps, dl - 1) == 0) {
			p += dl;
			n -= dl;
		}
		if (strlen(errs) + n < len)
			strncat(errs, p, n);
		p += n;
	}
	buf_free(&b);
	unlink(path);
	return m;
}

static void
test_header_only(void)
{
	char		 e1[4096], e2[4096], text[4096];
	const char	*fx[] = { "mapsmd_x12_850-order-created.map",
		"mapsmd_x12_856-shipment-noticed.map",
		"mapsmd_edifact_orders-order-created.map",
		"mapsmd_cxml_orderrequest-order-created.map",
		"partners/acme/850.map", "desadv-outline-filled.map" };
	char		 path[8192];
	struct map	*m, *f;
	size_t		 i;

	header_walk(mapsdir, mapsdir, 0);
	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", datadir, fx[i]);
		header_vs_full(path, datadir, fx[i]);
	}

	/* The same header errors as a compile, with the same positions. */
	m = header_text("map h\nversion 1\nsource x13 850\n", 0, e1,
	    sizeof(e1));
	f = header_text("map h\nversion 1\nsource x13 850\n", 1, e2,
	    sizeof(e2));
	ok(m == NULL && f == NULL && e1[0] != '\0' && strcmp(e1, e2) == 0 &&
	    strncmp(e1, "h.map:3:", 8) == 0,
	    "header: a bad `source` fails as the compile does");
	map_free(m);
	map_free(f);
	m = header_text("map h\ngroup a from N1\n  partner p\nend\n", 0, e1,
	    sizeof(e1));
	okd(m == NULL && strstr(e1, "h.map:3:3: `partner` belongs at the top")
	    != NULL, "header: a header inside a block is an error", e1);
	map_free(m);

	/* Errors outside the headers are the compile's. */
	snprintf(text, sizeof(text), "%s%s", "map h\nversion 1\n"
	    "source x12 850 004*\nevent order.created 1\n",
	    "this is not a rule\n");
	m = header_text(text, 0, e1, sizeof(e1));
	f = header_text(text, 1, e2, sizeof(e2));
	okd(m != NULL && e1[0] == '\0' && f == NULL && e2[0] != '\0',
	    "header: a body error is left to the compile", e2);
	map_free(m);
	map_free(f);

	/* Rows and continuations are not statements. */
	m = header_text("map h\nlookup t\n  end -> e\n  map -> m\nend\n"
	    "x = BEG03 \\\n  map\nsource x12 \\\n  850 004* # 4010\n"
	    "partner p\n", 0, e1, sizeof(e1));
	okd(m != NULL && e1[0] == '\0' && strcmp(map_id(m), "h") == 0 &&
	    strcmp(map_partner(m), "p") == 0 && m->doctype != NULL &&
	    strcmp(m->doctype, "850") == 0 && m->nversions == 1 &&
	    strcmp(m->versions[0], "004*") == 0,
	    "header: lookup rows and continued lines are read as a compile "
	    "reads them", e1);
	map_free(m);
}

struct reports {
	int	 n;
	char	 last[4096];
};

static void
count_report(void *arg, const char *text)
{
	struct reports	*r = arg;

	r->n++;
	snprintf(r->last, sizeof(r->last), "%s", text);
}

static void
setof(struct edi_set *set, enum edi_syntax syn, const char *dt,
    const char *ver, const char *ns, const char *req)
{
	memset(set, 0, sizeof(*set));
	set->env.syntax = syn;
	set->doctype = slice_make(dt, strlen(dt));
	set->version = slice_make(ver, strlen(ver));
	set->xml_ns = slice_make(ns, strlen(ns));
	set->xml_request = slice_make(req, strlen(req));
}

static void
test_catalog_lazy(void)
{
	static const struct {
		enum edi_syntax	 syn;
		const char	*dt, *ver, *ns, *req;
	} sets[] = {
		{ EDI_X12, "850", "004010", "", "" },
		{ EDI_X12, "850", "005010", "", "" },
		{ EDI_X12, "850", "003040", "", "" },
		{ EDI_X12, "855", "004010", "", "" },
		{ EDI_X12, "856", "004010VICS", "", "" },
		{ EDI_X12, "997", "005010", "", "" },
		{ EDI_X12, "999", "005010X231A1", "", "" },
		{ EDI_X12, "810", "004010", "", "" },
		{ EDI_EDIFACT, "ORDERS", "D96A", "", "" },
		{ EDI_EDIFACT, "ORDERS", "D01B", "", "" },
		{ EDI_EDIFACT, "DESADV", "D96A", "", "" },
		{ EDI_EDIFACT, "ORDRSP", "D01B", "", "" },
		{ EDI_EDIFACT, "CONTRL", "D3", "", "" },
		{ EDI_EDIFACT, "INVOIC", "D96A", "", "" },
		{ EDI_XML, "cXML", "1.2.014", "", "OrderRequest" },
		{ EDI_XML, "cXML", "1.2.014", "", "ConfirmationRequest" },
		{ EDI_XML, "Order", "2.1",
		    "urn:oasis:names:specification:ubl:schema:xsd:Order-2", "" },
		{ EDI_XML, "Order", "2.1", "urn:other", "" },
	};
	struct catalog	*eager = NULL, *lazy = NULL, *c;
	const struct map *a, *b, *base;
	struct edi_set	 set;
	struct reports	 rep;
	struct buf	 errs;
	char		 text[8192], absmaps[PATH_MAX];
	size_t		 i;
	int		 same = 1, r;

	buf_init(&errs, 1 << 20);
	r = catalog_load(mapsdir, &eager, &errs);
	okd(r == 0, "catalog: shipped maps load eagerly", errs.p);
	memset(&rep, 0, sizeof(rep));
	r = catalog_load_lazy(mapsdir, count_report, &rep, &lazy, &errs);
	okd(r == 0 && errs.len == 0 && catalog_count(lazy) ==
	    catalog_count(eager), "catalog: shipped headers load lazily",
	    errs.p);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		setof(&set, sets[i].syn, sets[i].dt, sets[i].ver, sets[i].ns,
		    sets[i].req);
		a = catalog_select(eager, &set, NULL);
		if (catalog_select_compiles(eager, &set, NULL) != 0)
			same = 0;	/* an eager one has nothing to compile */
		b = catalog_select(lazy, &set, NULL);
		if ((a == NULL) != (b == NULL) || (a != NULL &&
		    (strcmp(map_name(a), map_name(b)) != 0 ||
		    strcmp(map_sha256(a), map_sha256(b)) != 0 ||
		    map_is_header(b)))) {
			printf("# %s %s: %s vs %s\n", sets[i].dt, sets[i].ver,
			    a ? map_name(a) : "none", b ? map_name(b) : "none");
			same = 0;
		}
	}
	ok(same && rep.n == 0 && catalog_broken(lazy) == 0,
	    "catalog: lazy selection picks the eager catalogue's maps");
	a = catalog_find(eager, "x12-856-shipment-noticed");
	b = catalog_find(lazy, "x12-856-shipment-noticed");
	ok(a != NULL && b != NULL && strcmp(map_sha256(a), map_sha256(b)) == 0
	    && catalog_find(lazy, "no-such-map") == NULL,
	    "catalog: catalog_find compiles lazily");
	ok(catalog_add(lazy, "x.map", &errs) == EG_ERR_INVAL,
	    "catalog: nothing is added to a lazy catalogue");
	catalog_free(eager);
	catalog_free(lazy);

	/* A folder with a broken map for EDIFACT and a broken overlay. */
	if (realpath(mapsdir, absmaps) == NULL)
		snprintf(absmaps, sizeof(absmaps), "%s", mapsdir);
	snprintf(text, sizeof(text), "map t850\nversion 1\n"
	    "source x12 850 004*\nstructure %s/structures/x12-850.struct\n"
	    "event order.created 1\nid = BEG03\n", absmaps);
	put("x12/850.map", text);
	snprintf(text, sizeof(text), "map o\nversion 1\n"
	    "source edifact ORDERS D96A\n"
	    "structure %s/structures/edifact-orders-d96.struct\n"
	    "event order.created 1\nthis is not a rule\n", absmaps);
	put("edifact/orders.map", text);
	put("partners/p/850.map", "map p850\nextends ../../x12/850.map\n"
	    "partner p\nversion 2\nid = BEG03 | nosuchtransform\n");
	put("partners/q/850.map", "map q850\nextends ../../x12/850.map\n"
	    "partner q\nversion 2\nid = BEG03 | upper\n");
	buf_reset(&errs);
	r = catalog_load(tmpmaps, &eager, &errs);
	okd(r != 0 && strstr(errs.p, "orders.map:6:") != NULL &&
	    strstr(errs.p, "partners/p/850.map:5:") != NULL,
	    "catalog: an eager load reports every broken map", errs.p);
	catalog_free(eager);
	buf_reset(&errs);
	memset(&rep, 0, sizeof(rep));
	r = catalog_load_lazy(tmpmaps, count_report, &rep, &lazy, &errs);
	okd(r == 0 && errs.len == 0 && rep.n == 0 && catalog_count(lazy) == 4,
	    "catalog: a lazy load reads only headers", errs.p);
	setof(&set, EDI_X12, "850", "004010", "", "");
	ok(catalog_select_compiles(lazy, &set, NULL) == 1,
	    "catalog: a first pick is known to compile before it does");
	base = catalog_select(lazy, &set, NULL);
	ok(catalog_select_compiles(lazy, &set, NULL) == 0,
	    "catalog: a second pick compiles nothing");
	ok(base != NULL && strcmp(map_id(base), "t850") == 0 && rep.n == 0 &&
	    catalog_broken(lazy) == 0, "catalog: the needed map compiles, "
	    "the broken ones are not looked at");
	a = catalog_select(lazy, &set, "q");
	ok(a != NULL && strcmp(map_id(a), "q850") == 0 && map_version(a) == 2
	    && map_structure(a) != NULL && rep.n == 0,
	    "catalog: an overlay compiles with its base when its partner's "
	    "document needs it");
	a = catalog_select(lazy, &set, "p");
	okd(a == NULL && rep.n == 1 && strstr(rep.last, "partners/p/850.map:5:")
	    != NULL && catalog_broken(lazy) == 1,
	    "catalog: a broken overlay is reported when picked, and not "
	    "replaced by its base", rep.last);
	a = catalog_select(lazy, &set, "p");
	ok(a == NULL && rep.n == 1 && catalog_broken(lazy) == 2 &&
	    catalog_select_compiles(lazy, &set, "p") == 0,
	    "catalog: reported once, counted each time, not compiled again");
	setof(&set, EDI_EDIFACT, "ORDERS", "D96A", "", "");
	a = catalog_select(lazy, &set, NULL);
	okd(a == NULL && rep.n == 2 && strstr(rep.last, "orders.map:6:") != NULL
	    && catalog_broken(lazy) == 3, "catalog: the broken EDIFACT map "
	    "when an EDIFACT document needs it", rep.last);
	setof(&set, EDI_X12, "850", "004010", "", "");
	ok(catalog_select(lazy, &set, "r") == base &&
	    catalog_find(lazy, "t850") == base && catalog_map(lazy, 99) == NULL,
	    "catalog: a map is compiled once");
	catalog_free(lazy);

	/* A header that cannot be read stops the load. */
	put("edifact/bad.map", "map bad\nsource x13 ORDERS\n");
	buf_reset(&errs);
	r = catalog_load_lazy(tmpmaps, NULL, NULL, &c, &errs);
	okd(r != 0 && strstr(errs.p, "edifact/bad.map:2:") != NULL,
	    "catalog: a bad header fails a lazy load", errs.p);
	catalog_free(c);
	buf_free(&errs);
}

/* ---- one real file through the X12 parser ----------------------------------- */

struct xrun {
	const struct map *m;
	struct run	*r;
	int		 nset;
};

static int
x_on_set(void *arg, struct edi_set *set)
{
	struct xrun	*x = arg;
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	const struct structure *st;

	st = structure_select(map_structure(x->m), set->version, NULL);
	edi_tree_build(set, st, &ds);
	if (x->nset++ == 0)
		eval(x->m, set, x->r, 0);
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "rb");
	char	*p;
	long	 n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p == NULL || fread(p, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(p);
		return NULL;
	}
	fclose(fp);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

static void
test_corpus(void)
{
	char		 errs[8192], path[8192];
	struct map	*m;
	struct run	 r;
	struct xrun	 x;
	struct edi_handler h = { 0 };
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	char		*text;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/corpus/public/x12/"
	    "850_005010_GS01-OW-mismatch.edi", shareddir);
	if ((text = slurp(path, &len)) == NULL) {
		ok(1, "corpus not available: skipped");
		return;
	}
	m = load_fixture("mapsmd_x12_850-order-created.map", errs,
	    sizeof(errs));
	if (m == NULL) {
		ok(0, "850 map: %s", errs);
		free(text);
		return;
	}
	run_init(&r);
	memset(&x, 0, sizeof(x));
	x.m = m;
	x.r = &r;
	memset(&h, 0, sizeof(h));
	h.set = x_on_set;
	h.diags = &ds;
	translator_x12.parse(slice_make(text, len), "f.edi", &h, &x);
	ok(x.nset >= 1, "corpus: the X12 parser hands over a set");
	is_json(json_array_get(json_object_get(r.doc ? r.doc : json_null(),
	    "lines"), 0), "{\"id\":\"item-1\",\"quantity\":{\"value\":\"8\","
	    "\"unitCode\":\"EA\"},\"price\":{\"amount\":\"400\"},\"item\":"
	    "{\"sellersItemId\":\"VND1234567\",\"description\":"
	    "\"400 pound anvil\"}}", "corpus: MAPS.md §4 line of "
	    "850_005010_GS01-OW-mismatch.edi");
	run_free(&r);
	map_free(m);
	free(text);
}

/* ---- robustness ------------------------------------------------------------- */

static uint32_t rng = 2463534242u;

static uint32_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* A mutated map compiled as a header (*h) and in full (*m), in b. */
static void
compile_both(const char *path, const char *name, const char *text,
    size_t len, struct map **h, struct map **m, struct buf *b)
{
	struct map_compile_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.maps_root = datadir;
	opts.header_only = 1;
	*h = *m = NULL;
	map_compile_text(path, name, text, len, &opts, h, b);
	buf_reset(b);
	opts.header_only = 0;
	map_compile_text(path, name, text, len, &opts, m, b);
}

static void
test_mutations(void)
{
	static const char *const names[] = {
		"mapsmd_x12_850-order-created.map",
		"mapsmd_x12_856-shipment-noticed.map",
		"mapsmd_edifact_orders-order-created.map",
	};
	static const char junk[] = "[]{}()|,=!<>-#\"\\^/.*:0aZ \n\t";
	char		 path[8192], *orig, *mut, why[64] = "";
	size_t		 len, i, k;
	int		 n, compiled = 0, runs = 0, hdiff = 0;
	struct map	*m, *h;
	struct buf	 b;
	struct tset	 t;
	struct run	 r;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", datadir, names[i]);
		if ((orig = slurp(path, &len)) == NULL)
			continue;
		mut = malloc(len + 64);
		for (n = 0; n < 300; n++) {
			memcpy(mut, orig, len);
			for (k = 0; k < 1 + xorshift() % 6; k++) {
				size_t at = xorshift() % len;

				switch (xorshift() % 3) {
				case 0:
					mut[at] = junk[xorshift() %
					    (sizeof(junk) - 1)];
					break;
				case 1:
					mut[at] = (char)(xorshift() & 0xff);
					break;
				default:
					memmove(mut + at, mut + at + 1,
					    len - at - 1);
					mut[len - 1] = ' ';
					break;
				}
			}
			buf_init(&b, 1 << 20);
			compile_both(path, names[i], mut, len, &h, &m, &b);
			/* What compiles has a header that selects as it. */
			if (m != NULL && (h == NULL ||
			    !same_selection(m, h, why, sizeof(why)))) {
				printf("# %s mutation %d: header %s %s\n",
				    names[i], n, h ? "differs:" : "fails", why);
				hdiff++;
			}
			map_free(h);
			if (m != NULL) {
				compiled++;
				if (strstr(names[i], "850") != NULL) {
					run_init(&r);
					mkset(&t, "850", "004010", doc850,
					    map_structure(m));
					eval(m, &t.set, &r, n % 7 == 0);
					arena_free(&t.a);
					run_free(&r);
					runs++;
				}
			}
			map_free(m);
			buf_free(&b);
		}
		free(mut);
		free(orig);
	}
	ok(1, "mutations: 900 mutated maps compiled or refused without a "
	    "crash (%d compiled, %d evaluated)", compiled, runs);
	ok(hdiff == 0, "mutations: every one that compiles has a header "
	    "that selects as its compile (%d differ)", hdiff);

	/* The same, with the mutations in and around the headers. */
	compiled = hdiff = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", datadir, names[i]);
		if ((orig = slurp(path, &len)) == NULL)
			continue;
		mut = malloc(len + 64);
		for (n = 0; n < 400; n++) {
			size_t span = len < 900 ? len : 900;

			memcpy(mut, orig, len);
			for (k = 0; k < 1 + xorshift() % 3; k++) {
				size_t at = xorshift() % span;

				if (xorshift() % 2)
					mut[at] = junk[xorshift() %
					    (sizeof(junk) - 1)];
				else {
					memmove(mut + at, mut + at + 1,
					    len - at - 1);
					mut[len - 1] = ' ';
				}
			}
			buf_init(&b, 1 << 20);
			compile_both(path, names[i], mut, len, &h, &m, &b);
			if (m != NULL) {
				compiled++;
				if (h == NULL || !same_selection(m, h, why,
				    sizeof(why))) {
					printf("# %s header mutation %d: %s "
					    "%s\n", names[i], n, h ?
					    "differs:" : "fails", why);
					hdiff++;
				}
			}
			map_free(h);
			map_free(m);
			buf_free(&b);
		}
		free(mut);
		free(orig);
	}
	ok(hdiff == 0 && compiled > 0, "header mutations: every one that "
	    "compiles has a header that selects as its compile (%d compiled, "
	    "%d differ)", compiled, hdiff);

	/* Random documents through the 850 and 856 maps. */
	{
		static const char *const tags[] = { "BEG", "CUR", "REF", "PER",
		    "DTM", "N9", "MSG", "N1", "N3", "N4", "PO1", "PID", "SAC",
		    "CTT", "BSN", "HL", "TD1", "TD5", "PRF", "MAN", "LIN", "SN1",
		    "ITD", "FOB", "ZZZ" };
		static const char *const vals[] = { "", "S", "O", "P", "I", "T",
		    "1", "2", "01", "002", "GM", "ST", "VN", "UP", "0008",
		    "-.5", "12345678901234567890", "20240230", "\xff\xfe",
		    "A:B", "X^Y", "99999999999999999999999999" };
		char	 errs[8192], body[8192];
		struct map *m850, *m856;
		int	 ok850 = 0;

		m850 = load_fixture("mapsmd_x12_850-order-created.map", errs,
		    sizeof(errs));
		m856 = load_fixture("mapsmd_x12_856-shipment-noticed.map", errs,
		    sizeof(errs));
		for (n = 0; n < 400 && m850 != NULL && m856 != NULL; n++) {
			size_t o = 0;
			int nseg = 1 + (int)(xorshift() % 40), j, e;

			for (j = 0; j < nseg && o < sizeof(body) - 300; j++) {
				o += (size_t)snprintf(body + o, sizeof(body) - o,
				    "%s", tags[xorshift() % (sizeof(tags) /
				    sizeof(tags[0]))]);
				for (e = (int)(xorshift() % 8); e > 0; e--)
					o += (size_t)snprintf(body + o,
					    sizeof(body) - o, "*%s",
					    vals[xorshift() % (sizeof(vals) /
					    sizeof(vals[0]))]);
				body[o++] = '~';
				body[o] = '\0';
			}
			run_init(&r);
			mkset(&t, n % 2 ? "856" : "850", "004010", body,
			    map_structure(n % 2 ? m856 : m850));
			eval(n % 2 ? m856 : m850, &t.set, &r, n % 5 == 0);
			ok850 += r.rv == 0 || r.rv == EG_ERR_REJECTED;
			arena_free(&t.a);
			run_free(&r);
		}
		is_int(ok850, 400, "random documents: every one evaluated or "
		    "rejected");
		map_free(m850);
		map_free(m856);
	}

	/* Pathological inputs. */
	{
		char *big = malloc(EG_MAX_MAP_LINE * 2 + 200);
		char errs[8192];

		snprintf(big, 200, "%s", hdr850);
		k = strlen(big);
		memcpy(big + k, "x = ", 4);
		memset(big + k + 4, '(', 500);
		big[k + 4 + 500] = '\0';
		m = compile(big, errs, sizeof(errs));
		ok(m == NULL && strstr(errs, "nested too deeply") != NULL,
		    "deep parentheses refused");
		map_free(m);
		memset(big + k, 'a', EG_MAX_MAP_LINE + 10);
		big[k + EG_MAX_MAP_LINE + 10] = '\0';
		m = compile(big, errs, sizeof(errs));
		ok(m == NULL && strstr(errs, "longer than") != NULL,
		    "over-long line refused");
		map_free(m);
		snprintf(big, 200, "%s", hdr850);
		k = strlen(big);
		for (n = 0; n < 40; n++)
			k += (size_t)snprintf(big + k, 40, "within N1\n");
		m = compile(big, errs, sizeof(errs));
		ok(m == NULL && strstr(errs, "nested more than") != NULL,
		    "deep blocks refused");
		map_free(m);
		free(big);
	}
}

/* ---- the mapped document (mdoc.c) ------------------------------------------ */

/*
 * The string map_eval built with jansson before struct mdoc (kept here as
 * the reference): valid UTF-8 as is, else every byte that starts no valid
 * sequence (and every NUL) becomes U+FFFD.
 */
static json_t *
old_json_text(const char *p, size_t len)
{
	json_t	*j, *t;
	char	*o;
	size_t	 i, n = 0, k, need;
	unsigned char c;
	int	 ok_;

	if ((j = json_stringn(p, len)) != NULL)
		return j;
	o = malloc(len * 3 + 1);
	for (i = 0; i < len;) {
		c = (unsigned char)p[i];
		if (c != 0 && c < 0x80) {
			o[n++] = (char)c;
			i++;
			continue;
		}
		need = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
		    (c & 0xf8) == 0xf0 ? 3 : 0;
		ok_ = need > 0 && i + need < len;
		for (k = 1; ok_ && k <= need; k++)
			if (((unsigned char)p[i + k] & 0xc0) != 0x80)
				ok_ = 0;
		if (ok_ && (t = json_stringn(p + i, need + 1)) != NULL) {
			json_decref(t);
			memcpy(o + n, p + i, need + 1);
			n += need + 1;
			i += need + 1;
			continue;
		}
		memcpy(o + n, "\xef\xbf\xbd", 3);
		n += 3;
		i++;
	}
	j = json_stringn(o, n);
	free(o);
	return j;
}

static void
test_mdoc_strings(void)
{
	static const unsigned char alpha[] = {
		0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, '"', '\\',
		'/', 'a', 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xa9,
		0xdf, 0xe0, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0x9f, 0xef, 0xf0,
		0x9d, 0x84, 0x9e, 0x90, 0xf4, 0x8f, 0xf5, 0xf8, 0xff,
	};
	static const char *const fixed[] = {
		"", "plain", "q\"b\\c", "\x01\x1f\x7f", "tab\there\nnl\r\b\f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", "bad\xff",
		"\xc3(", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "ab\xe2\x82\xac\xe2", "12345678\xc3\xa9",
	};
	struct arena	 a;
	struct mdoc_pool mp;
	struct mdoc	*d;
	struct buf	 w;
	char		 in[16], *jd;
	json_t		*j;
	size_t		 n, i, k, bad = 0, badw = 0, cases = 0;
	unsigned	 seed = 12345;

	arena_init(&a, 64 << 20);
	mdoc_pool_init(&mp, &a);
	buf_init(&w, 1 << 20);
	for (i = 0; i < 20000; i++) {
		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			n = strlen(fixed[i]);
			memcpy(in, fixed[i], n);
		} else {
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % 13;
			for (k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				in[k] = (char)alpha[(seed >> 16) %
				    sizeof(alpha)];
			}
		}
		cases++;
		j = old_json_text(in, n);
		d = mdoc_new(&mp, MDOC_STR);
		d->u.s.p = mdoc_text(&mp, in, n, &d->u.s.len);
		if (j == NULL || d->u.s.p == NULL ||
		    json_string_length(j) != d->u.s.len ||
		    memcmp(json_string_value(j), d->u.s.p, d->u.s.len) != 0) {
			if (bad++ < 5)
				printf("# text differs for case %zu\n", i);
		}
		buf_reset(&w);
		mdoc_write_json(d, &w);
		jd = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		if (jd == NULL || w.p == NULL || strcmp(jd, w.p) != 0) {
			if (badw++ < 5)
				printf("# write differs for case %zu: %s / %s\n",
				    i, w.p ? w.p : "", jd ? jd : "");
		}
		free(jd);
		json_decref(j);
	}
	is_int(bad, 0, "mdoc: strings repaired as map_eval always did "
	    "(%zu cases)", cases);
	is_int(badw, 0, "mdoc: string escapes as json_dumps (%zu cases)",
	    cases);
	buf_free(&w);
	arena_free(&a);
}

/*
 * mdoc_text_plain's word and vector checks against mdoc_cls byte by byte:
 * every length up to 80, one byte to escape, not ASCII or harmless at
 * every place, the text at the very end of its own allocation (a read
 * past it is ASan's to find).
 */
static void
test_mdoc_plain(void)
{
	static const unsigned char odd[] = {
		0x00, 0x01, 0x1f, 0x20, '"', '\\', 0x7f, 0x80, 0xc3, 0xff,
	};
	struct arena	 a;
	struct mdoc_pool mp;
	const char	*t, *want;
	char		*in;
	size_t		 n, at, k, i, outlen, wantlen, bad = 0, cases = 0;
	unsigned	 cls;
	uint8_t		 plain;

	arena_init(&a, 64 << 20);
	mdoc_pool_init(&mp, &a);
	for (n = 0; n <= 80; n++)
		for (at = 0; at <= n; at++)
			for (k = 0; k < sizeof(odd); k++) {
				if (at == n && k > 0)
					break;	/* one all-plain case */
				in = malloc(n > 0 ? n : 1);
				for (i = 0; i < n; i++)
					in[i] = (char)('A' + (i * 7 + n) % 26);
				if (at < n)
					in[at] = (char)odd[k];
				for (cls = 0, i = 0; i < n; i++)
					cls |= mdoc_cls[(unsigned char)in[i]];
				want = in;
				wantlen = n;
				if (cls & 0x80)
					want = mdoc_text_slow(&mp, in, n,
					    &wantlen);
				plain = 2;
				t = mdoc_text_plain(&mp, in, n, &outlen, &plain);
				cases++;
				if (t == NULL || want == NULL ||
				    outlen != wantlen ||
				    memcmp(t, want, outlen) != 0 ||
				    ((cls & 0x80) == 0 && t != in) ||
				    plain != (cls == 0)) {
					if (bad++ < 5)
						printf("# length %zu, byte "
						    "%#x at %zu: plain %u\n",
						    n, odd[k], at, plain);
				}
				free(in);
			}
	is_int(bad, 0, "mdoc_text_plain: as mdoc_cls byte by byte (%zu "
	    "cases)", cases);
	arena_free(&a);
}

static void
each_cb(void *arg, const char *s, size_t len)
{
	struct buf *b = arg;

	buf_add(b, s, len);
	buf_addc(b, '|');
}

static void
test_mdoc_docs(void)
{
	char		 text[4096], errs[8192];
	struct run	 r;
	struct map	*m;
	struct tset	 t;
	struct mdoc	*md = NULL;
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	struct buf	 b;
	const char	*v;
	size_t		 len;

	/* Tricky strings through a map: escapes, UTF-8, repaired bytes. */
	snprintf(text, sizeof(text), "%sa = REF02[REF01=A]\n"
	    "b = REF02[REF01=B]\nc = REF02[REF01=C]\nn = CTT01 | int\n"
	    "d = CTT02 | decimal\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~"
	    "REF*A*q\"b\\c\x01\x1f\x7f\t/~"
	    "REF*B*caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e~"
	    "REF*C*bad\xff\xc3(\xed\xa0\x80" "end~CTT*-12*007.50~", &r, 0);
	is_int(r.rv, 0, "mdoc: tricky strings map");
	is_str(r.json, "{\"a\":\"q\\\"b\\\\c\\u0001\\u001F\x7f\\t/\","
	    "\"b\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\","
	    "\"c\":\"bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd" "end\",\"n\":-12,\"d\":\"7.50\"}",
	    "mdoc: escapes, UTF-8 as is, bad bytes U+FFFD, int, decimal");
	run_free(&r);

	/* Empty objects and arrays are pruned. */
	snprintf(text, sizeof(text), "%sgroup refs[] from REF\n"
	    "  v = REF03\nend\ngroup one from N1\n  v = N199\nend\n"
	    "group two from N1\n  x.y = N198\nend\n"
	    "a.b.c = BEG03\nz.nothing = BEG07\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~REF*DP*1~REF*IA*2~"
	    "N1*ST*S~", &r, 0);
	is_str(r.json, "{\"a\":{\"b\":{\"c\":\"P1\"}}}",
	    "mdoc: empty array elements, arrays and objects omitted");
	run_free(&r);

	/* Several groups fill one array in document order. */
	snprintf(text, sizeof(text), "%sgroup parties[] from N1[N101=ST]\n"
	    "  role = \"ship\"\n  name = N102\nend\n"
	    "group parties[] from N1[N101=BT]\n  role = \"bill\"\n"
	    "  name = N102\nend\ngroup parties[] from N1[N101=ZZ]\n"
	    "  name = N199\nend\nlast = BEG03\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~N1*BT*B1~N1*ST*S1~"
	    "N1*ZZ*Z~N1*BT*B2~", &r, 0);
	is_str(r.json, "{\"parties\":[{\"role\":\"bill\",\"name\":\"B1\"},"
	    "{\"role\":\"ship\",\"name\":\"S1\"},{\"role\":\"bill\",\"name\":"
	    "\"B2\"}],\"last\":\"P1\"}",
	    "mdoc: arrays from several groups, in document order");
	run_free(&r);

	/* mdoc_get and mdoc_each on a live document. */
	snprintf(text, sizeof(text), "%sid = BEG03\nref.id = REF02\n"
	    "group lines[] from PO1\n  orderReference.id = PO101\n"
	    "  qty = PO102 | int\n  notes[] = PO106, PO107\nend\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL, "mdoc: get/each map compiles");
	if (m == NULL) {
		printf("# %s", errs);
		return;
	}
	mkset(&t, "850", "004010", "BEG*00*SA*P1**20240101~REF*DP*R9~"
	    "PO1*L1*2*EA***X*Y~PO1**3~PO1*L3*4*EA***Z~", map_structure(m));
	is_int(map_eval(m, &t.set, NULL, &md, &ds), 0, "mdoc: evaluated");
	v = mdoc_get(md, "id", &len);
	ok(v != NULL && len == 2 && memcmp(v, "P1", 2) == 0, "mdoc_get: id");
	v = mdoc_get(md, "ref.id", &len);
	ok(v != NULL && len == 2 && memcmp(v, "R9", 2) == 0,
	    "mdoc_get: nested");
	ok(mdoc_get(md, "ref", &len) == NULL && len == 0,
	    "mdoc_get: an object is not a string");
	ok(mdoc_get(md, "nothing.here", NULL) == NULL, "mdoc_get: absent");
	ok(mdoc_get(md, "lines", NULL) == NULL, "mdoc_get: an array is not "
	    "a string");
	ok(mdoc_get(md, "i", NULL) == NULL && mdoc_get(md, "idx", NULL) ==
	    NULL, "mdoc_get: names match whole");
	buf_init(&b, 4096);
	mdoc_each(md, "lines[].orderReference.id", each_cb, &b);
	is_str(b.p, "L1|L3|", "mdoc_each: through an array");
	buf_reset(&b);
	mdoc_each(md, "lines[].notes[]", each_cb, &b);
	is_str(b.p, "X|Y|Z|", "mdoc_each: arrays of strings");
	buf_reset(&b);
	mdoc_each(md, "id", each_cb, &b);
	is_str(b.p, "P1|", "mdoc_each: a plain member");
	buf_reset(&b);
	mdoc_each(md, "lines.orderReference.id", each_cb, &b);
	mdoc_each(md, "lines[].qty", each_cb, &b);
	mdoc_each(md, "nope[].x", each_cb, &b);
	ok(b.len == 0, "mdoc_each: no [] no step into arrays; integers and "
	    "absent members are skipped");
	buf_free(&b);
	{
		/* by text, then by the map's names: as mdoc_get either way */
		static const char *const paths[] = { "id", "ref.id", "ref",
		    "nothing.here", "i", "lines", "orderReference.id",
		    "qty" };
		struct mdoc_paths ps;
		const char	*gv[8], *want;
		size_t		 gl[8], wl;
		int		 pass, k, same = 1;

		mdoc_paths_init(&ps, paths, 8);
		for (pass = 0; pass < 2; pass++) {
			if (pass == 1)
				mdoc_paths_map(&ps, m);
			mdoc_get_paths(md, &ps, gv, gl);
			for (k = 0; k < 8; k++) {
				want = mdoc_get(md, paths[k], &wl);
				if (gv[k] != want || gl[k] != wl)
					same = 0;
			}
		}
		ok(same && ps.p[6].key != NULL && ps.p[3].absent &&
		    ps.p[4].absent, "mdoc_get_paths: as mdoc_get, by text "
		    "and by the map's names (a name only below the root is "
		    "the map's, an unknown one absent)");
	}
	arena_free(&t.a);
	map_free(m);
}

/* ---- engine findings: sum, within, extends, timezone ----------------------- */

static void
test_findings(void)
{
	char		 text[4096], errs[8192];
	struct run	 r;
	struct map	*m;

	/* sum() over a field no element has is absent: the check is skipped. */
	snprintf(text, sizeof(text), "%sgroup lines[] from PO1\n"
	    "  id = PO101\n  q = PO102 | decimal\nend\n"
	    "check sum(lines.q) = CTT02 warn \"hash {CTT02}\"\n"
	    "check sum(PO1/PO102) = CTT02 warn \"path hash {CTT02}\"\n",
	    hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~PO1*1~PO1*2~CTT*2*5~",
	    &r, 0);
	is_int(r.rv, 0, "sum: evaluated");
	ok(no_line(&r.diags, "hash"), "sum: of nothing is absent, the checks "
	    "are skipped");
	run_free(&r);
	run_text(text, "850", "BEG*00*SA*P1**20240101~PO1*1*2~PO1*2~"
	    "CTT*2*5~", &r, 0);
	ok(has_line(&r.diags, "W MAP-CHECK |CTT02|7/CTT/0: hash 5") &&
	    has_line(&r.diags,
	    "W MAP-CHECK |CTT02|7/CTT/0: path hash 5"),
	    "sum: of one value still compares");
	run_free(&r);

	/*
	 * sum(): whole values of up to 9 digits are added inline, longer
	 * ones, fractions and signs by map_dec_sum_add; a total past 18
	 * digits becomes text.  Each total as canonical decimal text.
	 */
	snprintf(text, sizeof(text), "%sgroup lines[] from PO1\n"
	    "  id = PO101\n  q = PO102\nend\n"
	    "check sum(lines.q) = CTT02 warn \"sum {sum(lines.q)}\"\n",
	    hdr850);
	{
		static const char *const sums[][2] = {
			{ "PO1*1*7~PO1*2*0012~PO1*3*1234567890~",
			    "sum 1234567909" },
			{ "PO1*1*999999999~PO1*2*999999999~PO1*3*2~",
			    "sum 2000000000" },
			{ "PO1*1*2.5~PO1*2*3~PO1*3*4~", "sum 9.5" },
			{ "PO1*1*3~PO1*2*-5~PO1*3*1~", "sum -1" },
			{ "PO1*1*0~PO1*2*000~PO1*3*0~", "sum 0" },
			{ "PO1*1*999999999999999999~PO1*2*999999999999999999~"
			    "PO1*3*5~", "sum 2000000000000000003" },
			{ "PO1*1*999999999999999990~PO1*2*9~PO1*3*1~",
			    "sum 1000000000000000000" },
			{ "PO1*1*5~PO1*2*12x~PO1*3*1~", NULL },
		};
		char	 doc[256], want[128];
		size_t	 k;

		for (k = 0; k < sizeof(sums) / sizeof(sums[0]); k++) {
			snprintf(doc, sizeof(doc), "BEG*00*SA*P1**20240101~%s"
			    "CTT*3*77~", sums[k][0]);
			run_text(text, "850", doc, &r, 0);
			snprintf(want, sizeof(want), "W MAP-CHECK |CTT02|8/CTT/"
			    "0: %s", sums[k][1] ? sums[k][1] : "");
			if (sums[k][1] != NULL)
				ok(r.rv == 0 && has_line(&r.diags, want),
				    "sum: %s", sums[k][1]);
			else
				ok(r.rv == 0 && no_line(&r.diags, "sum"),
				    "sum: not a number: absent, check skipped");
			run_free(&r);
		}
	}

	/*
	 * Fields through arrays in arrays (the walk recurses only there):
	 * sum(), count() and exists() over every element of every line.
	 */
	snprintf(text, sizeof(text), "%sgroup lines[] from PO1\n"
	    "  id = PO101\n  group descs[] from PID\n    n = PID05\n"
	    "  end\nend\n"
	    "check sum(lines.descs.n) = CTT02 warn \"nested {sum(lines.descs.n)}\"\n"
	    "check count(lines.descs) = CTT01 warn \"count {count(lines.descs)}\"\n"
	    "check count(lines) = 1 warn \"lines {count(lines)}\"\n"
	    "check count(nope.lines) = 1 warn \"none {count(nope.lines)}\"\n"
	    "x = \"Y\" when exists(lines.descs.n)\n"
	    "y = \"Y\" when exists(lines.descs.m)\n"
	    "z = \"Z\" when exists(CTT01)\n"
	    "z2 = \"Z\" when exists(CTT03)\n"
	    "z3 = \"Z\" when exists(lines) and not exists(nope)\n"
	    "lookup lk on-miss warn \"miss {lines.id} {count(lines.descs)}\"\n"
	    "  A -> B\nend\n"
	    "lk = BEG02 | lookup lk\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~PO1*1~PID*F****3~"
	    "PID*F****4~PO1*2~PID*F****5~CTT*9*99~", &r, 0);
	is_int(r.rv, 0, "nested fields: evaluated");
	ok(has_line(&r.diags, "W MAP-CHECK |CTT02|10/CTT/0: nested 12"),
	    "nested fields: sum() adds every element's values");
	ok(has_line(&r.diags, "W MAP-CHECK |CTT01|10/CTT/0: count 3"),
	    "nested fields: count() counts every element's array");
	ok(has_line(&r.diags, "W MAP-CHECK ||3/ST/0: lines 2"),
	    "nested fields: count() of an array");
	ok(has_line(&r.diags, "W MAP-CHECK ||3/ST/0: none 0"),
	    "nested fields: count() of nothing is 0");
	ok(r.doc != NULL && json_object_get(r.doc, "x") != NULL &&
	    json_object_get(r.doc, "y") == NULL,
	    "nested fields: exists() through arrays");
	ok(r.doc != NULL && json_object_get(r.doc, "z") != NULL &&
	    json_object_get(r.doc, "z2") == NULL &&
	    json_object_get(r.doc, "z3") != NULL,
	    "exists(): of a path, and inside and/not");
	ok(has_line(&r.diags, "W MAP-LOOKUP document.lk|BEG02|4/BEG/2: "
	    "miss 1 3"), "fields in a lookup's message (not linked)");
	run_free(&r);

	/* within ... required without a message. */
	snprintf(text, sizeof(text), "%swithin N1[N101=ZZ] required warn\n"
	    "  x = N102\nend\n", hdr850);
	run_text(text, "850", "BEG*00*SA*P1**20240101~N1*ST*S~", &r, 0);
	ok(has_line(&r.diags, "W MAP-REQ |N1[N101=ZZ]|3/ST/0: N1[N101=ZZ] "
	    "is required but none was found"),
	    "within required: a default message naming the selector");
	run_free(&r);

	/* An override names its partner and has its own map id. */
	m = compile("map t2\nextends mapsmd_x12_850-order-created.map\n"
	    "version 2\n", errs, sizeof(errs));
	ok(m == NULL && strstr(errs, "t.map:2:9: a map that extends another "
	    "must name its partner") != NULL,
	    "extends: without partner is an error");
	map_free(m);
	m = compile("extends mapsmd_x12_850-order-created.map\n"
	    "partner acme-retail\n", errs, sizeof(errs));
	ok(m == NULL && strstr(errs, "t.map:1:9: a map that extends another "
	    "must have its own `map` id") != NULL,
	    "extends: without map id is an error");
	ok(strstr(errs, "name its partner") == NULL,
	    "extends: partner given, not reported");
	map_free(m);
	m = compile("map t2\nextends mapsmd_x12_850-order-created.map\n"
	    "partner acme-retail\n", errs, sizeof(errs));
	ok(m != NULL, "extends: with map and partner compiles");
	if (m == NULL)
		printf("# %s", errs);
	map_free(m);

	/* timezone must name a zone the system knows. */
	snprintf(text, sizeof(text), "%stimezone Mars/Olympus_Mons\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m == NULL && strstr(errs, "t.map:6:10: unknown time zone "
	    "'Mars/Olympus_Mons'") != NULL, "timezone: unknown zone refused");
	map_free(m);
	snprintf(text, sizeof(text), "%stimezone ../../../etc/passwd\n",
	    hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m == NULL && strstr(errs, "unknown time zone") != NULL,
	    "timezone: a path is not a zone");
	map_free(m);
	snprintf(text, sizeof(text), "%stimezone UTC\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL && map_timezone(m) != NULL &&
	    strcmp(map_timezone(m), "UTC") == 0, "timezone: UTC");
	map_free(m);
	snprintf(text, sizeof(text), "%stimezone Europe/Berlin\n", hdr850);
	m = compile(text, errs, sizeof(errs));
	ok(m != NULL, "timezone: an IANA name in zoneinfo");
	map_free(m);
}

/* ---- XML sources (cXML, UBL): XPath ---------------------------------------- */

struct xmlrun2 {
	const struct map *m;
	struct run	*r;
	int		 accepted;	/* map_accepts */
	int		 called;
};

static int
xml_set_cb(void *arg, struct edi_set *set)
{
	struct xmlrun2	*x = arg;

	x->called = 1;
	x->accepted = map_accepts(x->m, set);
	if (x->accepted)
		eval(x->m, set, x->r, 0);
	return 0;
}

/* Parse xml with the real front end, run m on it (when it accepts it). */
static int
run_xml(const struct map *m, const char *xml, struct run *r)
{
	struct edi_handler h = { 0 };
	struct diag_sink ds = { on_diag, r, 0, 0 };
	struct xmlrun2	 x;

	memset(&h, 0, sizeof(h));
	memset(&x, 0, sizeof(x));
	h.set = xml_set_cb;
	h.diags = &ds;
	x.m = m;
	x.r = r;
	r->rv = -100;
	translator_xml.parse(slice_cstr(xml), "t.xml", &h, &x);
	return x.accepted;
}

static const char *cxmlmap =
    "map t\nversion 1\nsource xml cXML OrderRequest 1.*\n"
    "event order.created 1\nscope /cXML/Request/OrderRequest\n"
    "lookup ty on-miss error\n  new -> original\nend\n"
    "id = OrderRequestHeader/@orderID required \"no orderID\"\n"
    "issueDate = OrderRequestHeader/@orderDate | date iso8601\n"
    "purpose = OrderRequestHeader/@type | lookup ty\n"
    "buyer = /cXML/Header/From/Credential[@domain='DUNS']/Identity\n"
    "total = OrderRequestHeader/Total/Money | decimal\n"
    "name = OrderRequestHeader/ShipTo/Address/Name\n"
    "n = count(ItemOut) | int\n"
    "tags[] = ItemOut/@lineNumber\n"
    "group lines[] from ItemOut\n"
    "  id = @lineNumber or seq\n"
    "  qty = @quantity | decimal\n"
    "  po = ../OrderRequestHeader/@orderID\n"
    "  desc = ItemDetail/Description\n"
    "  note = Comments/text() | trim\n"
    "end\n"
    "group first from ItemOut\n  q = @quantity\nend\n"
    "check count(lines) = n warn \"count\"\n";

static const char *cxmldoc =
    "<?xml version=\"1.0\"?>\n"
    "<cXML version=\"1.2.050\" payloadID=\"p1\">\n"
    "<Header><From><Credential domain=\"DUNS\"><Identity>123</Identity>"
    "</Credential></From></Header>\n"
    "<Request><OrderRequest>\n"
    "<OrderRequestHeader orderID=\"PO-1\" orderDate=\"2024-03-01T10:00:00Z\""
    " type=\"new\">\n"
    "<Total><Money currency=\"USD\">\n  12.50 <!-- c -->\n</Money></Total>\n"
    "<ShipTo><Address><Name> Dock </Name></Address></ShipTo>\n"
    "</OrderRequestHeader>\n"
    "<ItemOut quantity=\"2\" lineNumber=\"1\"><ItemDetail>"
    "<Description>A</Description><Description>B</Description></ItemDetail>"
    "<Comments>\n  <Attachment>x</Attachment>\n</Comments></ItemOut>\n"
    "<ItemOut quantity=\"3\"><Comments> hi </Comments></ItemOut>\n"
    "</OrderRequest></Request></cXML>\n";

static void
test_xml(void)
{
	char		 errs[8192];
	struct map	*m;
	struct run	 r;

	m = compile(cxmlmap, errs, sizeof(errs));
	ok(m != NULL, "xml: cXML map compiles");
	if (m == NULL) {
		printf("# %s", errs);
		return;
	}
	run_init(&r);
	ok(run_xml(m, cxmldoc, &r), "xml: cXML OrderRequest 1.* accepts it");
	is_int(r.rv, 0, "xml: evaluated");
	is_json(r.doc, "{\"id\":\"PO-1\",\"issueDate\":\"2024-03-01\","
	    "\"purpose\":\"original\",\"buyer\":\"123\",\"total\":\"12.50\","
	    "\"name\":\" Dock \",\"n\":2,\"tags\":[\"1\"],"
	    "\"lines\":[{\"id\":\"1\",\"qty\":\"2\",\"po\":\"PO-1\","
	    "\"desc\":\"A\"},{\"id\":\"2\",\"qty\":\"3\",\"po\":\"PO-1\","
	    "\"note\":\"hi\"}],\"first\":{\"q\":\"2\"}}",
	    "xml: values, typed values trimmed, strings not, blank text() "
	    "absent, groups, .., count, lists");
	ok(has_line(&r.lines, "t.edi: line 11 (Description): warning "
	    "MAP-MULTI: ItemDetail/Description matched 2 nodes; the first "
	    "(line 11) is used, others at line 11 [t.map:"),
	    "xml: MAP-MULTI names lines");
	ok(has_line(&r.lines, "t.edi: line 14 (ItemOut): warning MAP-DEFAULT: "
	    "@lineNumber is empty: default 2 (seq)"),
	    "xml: seq fallback points at the group's element");
	ok(has_line(&r.lines, "warning MAP-MULTI: ItemOut matched 2 nodes"),
	    "xml: single-object group takes the first node");
	ok(no_line(&r.lines, "MAP-CHECK"), "xml: check on count() passes");
	run_free(&r);

	/* the request element and version select the map */
	run_init(&r);
	ok(!run_xml(m, "<cXML version=\"1.2.050\"><Request><ConfirmationRequest/>"
	    "</Request></cXML>", &r), "xml: other request element refused");
	run_free(&r);
	run_init(&r);
	ok(!run_xml(m, "<cXML version=\"2.0\"><Request><OrderRequest/>"
	    "</Request></cXML>", &r), "xml: version 2.0 refused by 1.*");
	run_free(&r);
	run_init(&r);
	ok(!run_xml(m, "<cXML><Request><OrderRequest/></Request></cXML>", &r),
	    "xml: no version refused by a versioned map");
	run_free(&r);
	run_init(&r);
	ok(!run_xml(m, "<cXML xmlns=\"urn:x\" version=\"1.2\"><Request>"
	    "<OrderRequest/></Request></cXML>", &r),
	    "xml: root in a namespace is not the map's unprefixed root");
	run_free(&r);

	/* errors: missing key, unknown purpose, bad number, positions */
	run_init(&r);
	run_xml(m, "<cXML version=\"1.2\"><Request><OrderRequest>\n"
	    "<OrderRequestHeader type=\"cancel\">\n"
	    "<Total><Money>1,5</Money></Total></OrderRequestHeader>\n"
	    "</OrderRequest></Request></cXML>", &r);
	is_int(r.rv, EG_ERR_REJECTED, "xml: errors reject");
	ok(has_line(&r.lines, "t.edi: line 1 (OrderRequest): error MAP-REQ: "
	    "no orderID [t.map:9]"), "xml: absent attribute: the scope node");
	ok(has_line(&r.lines, "t.edi: line 2 (OrderRequestHeader/@type): "
	    "error MAP-LOOKUP: unknown code 'cancel'"),
	    "xml: lookup miss names element and attribute");
	ok(has_line(&r.lines, "t.edi: line 3 (Money): error MAP-TYPE: '1,5' "
	    "in OrderRequestHeader/Total/Money is not a number"),
	    "xml: MAP-TYPE at the value's line");
	run_free(&r);
	map_free(m);

	/* the scope must exist */
	m = compile("map t\nsource xml cXML\nevent e 1\n"
	    "scope /cXML/Request/OrderRequest\nid = @x\n", errs, sizeof(errs));
	ok(m != NULL, "xml: map without request element compiles");
	run_init(&r);
	ok(m != NULL && run_xml(m, "<cXML><Response/></cXML>", &r),
	    "xml: cXML without request element: any cXML");
	is_int(r.rv, EG_ERR_REJECTED, "xml: scope not in the document rejects");
	ok(has_line(&r.lines, "error MAP-REQ: the document has no "
	    "/cXML/Request/OrderRequest (the map's scope)"),
	    "xml: scope diagnostic");
	run_free(&r);
	map_free(m);

	/* UBL: prefixes are the map's, matched by URI; root alternatives */
	m = compile("map t\nsource xml u:OrderResponse | s:OrderResponseSimple\n"
	    "event e 1\n"
	    "namespace u \"urn:ubl:OrderResponse-2\"\n"
	    "namespace s \"urn:ubl:OrderResponseSimple-2\"\n"
	    "namespace cbc \"urn:cbc\"\nnamespace cac \"urn:cac\"\n"
	    "id = cbc:ID\nref = cac:OrderReference/cbc:ID\n"
	    "root = /u:OrderResponse/cbc:ID or /s:OrderResponseSimple/cbc:ID\n"
	    "any = /*/cbc:ID\n", errs, sizeof(errs));
	ok(m != NULL, "xml: UBL map with root alternatives compiles");
	if (m == NULL)
		printf("# %s", errs);
	run_init(&r);
	ok(m != NULL && run_xml(m, "<OrderResponseSimple "
	    "xmlns=\"urn:ubl:OrderResponseSimple-2\" xmlns:a=\"urn:cac\">"
	    "<ID xmlns=\"urn:cbc\">7</ID><a:OrderReference><b:ID "
	    "xmlns:b=\"urn:cbc\">34</b:ID></a:OrderReference>"
	    "</OrderResponseSimple>", &r), "xml: second root alternative, "
	    "default namespace accepted");
	is_json(r.doc, "{\"id\":\"7\",\"ref\":\"34\",\"root\":\"7\","
	    "\"any\":\"7\"}", "xml: other prefixes and default namespaces");
	run_free(&r);
	run_init(&r);
	ok(m != NULL && !run_xml(m, "<OrderResponse xmlns=\"urn:other\"/>", &r),
	    "xml: right local name, wrong namespace refused");
	run_free(&r);
	run_init(&r);
	ok(m != NULL && run_xml(m, "<x:OrderResponse "
	    "xmlns:x=\"urn:ubl:OrderResponse-2\"/>", &r) && r.rv == 0,
	    "xml: no version, map without versions: accepted");
	run_free(&r);
	map_free(m);

	/* an evaluation limit is a diagnostic, not a hang */
	m = compile("map t\nsource xml r\nevent e 1\n"
	    "n = count(//*[count(//*) > 0][count(//*) > 0]) | int\n", errs,
	    sizeof(errs));
	if (m != NULL) {
		struct buf big;
		int i;

		buf_init(&big, 1 << 22);
		buf_adds(&big, "<r>");
		for (i = 0; i < 20000; i++)
			buf_adds(&big, "<a/>");
		buf_adds(&big, "</r>");
		run_init(&r);
		run_xml(m, big.p, &r);
		is_int(r.rv, EG_ERR_REJECTED, "xml: XPath over its operation "
		    "limit rejects");
		ok(has_line(&r.lines, "error MAP-LIMIT:"), "xml: MAP-LIMIT "
		    "diagnostic");
		run_free(&r);
		buf_free(&big);
		map_free(m);
	} else
		ok(0, "xml: limit map compiles: %s", errs);
}

static void
test_xml_compile(void)
{
	static const struct {
		const char	*name, *text, *err;
	} xc[] = {
		{ "undeclared prefix", "id = cbc:ID\n",
		    "t.map:4:6: undeclared namespace prefix 'cbc' in 'cbc:ID'" },
		{ "undeclared prefix in a predicate",
		    "id = A[b:c='1']/D\n", "undeclared namespace prefix 'b'" },
		{ "quoted colon is no prefix", "id = A[@x='a:b']\n", NULL },
		{ "axis is no prefix", "id = child::A\n", NULL },
		{ "xml prefix is predefined", "id = A/@xml:lang\n", NULL },
		{ "bad XPath", "id = A[@x=\n", "unbalanced" },
		{ "bad XPath (libxml2)", "id = A/]B\n", "bad XPath 'A/]B'" },
		{ "group selector compiled", "group x from A[\n", "unbalanced" },
		{ "group selector prefix", "group x from p:A\n  y = B\nend\n",
		    "undeclared namespace prefix 'p'" },
		{ "bad scope", "!map t\nsource xml r\nevent e 1\nscope ///\n",
		    "bad XPath '///'" },
		{ "root prefix undeclared",
		    "!map t\nsource xml u:Order\nevent e 1\nid = A\n",
		    "source u:Order: undeclared namespace prefix 'u'" },
		{ "both: .. not reversible",
		    "!map t\nsource xml r\nevent e 1\ndirection both\n"
		    "id = ../A\n", "cannot be reversed (XPath '../A' uses `..`)" },
		{ "both: function not reversible",
		    "!map t\nsource xml r\nevent e 1\ndirection both\n"
		    "id = A[1]/B[not(@x)]\n", "uses a function" },
		{ "both: oneway is exempt",
		    "!map t\nsource xml r\nevent e 1\ndirection both\n"
		    "id = //A oneway\n", NULL },
		{ "both: text() and predicates are reversible",
		    "!map t\nsource xml r\nevent e 1\ndirection both\n"
		    "id = A[@d='x']/B/text()\n", NULL },
		{ "time code names an element",
		    "!map t\nsource x12 850\nstructure structures/x12-850.struct\n"
		    "event e 1\nt = DTM02 | time code DTM03\n", NULL },
		{ "time code in XML", "t = A | time code DTM01-03\n",
		    "expected an element such as DTM01-03" },
	};
	char	 errs[8192], text[2048];
	size_t	 i;
	struct map *m;

	for (i = 0; i < sizeof(xc) / sizeof(xc[0]); i++) {
		if (xc[i].text[0] == '!')
			snprintf(text, sizeof(text), "%s", xc[i].text + 1);
		else
			snprintf(text, sizeof(text), "map t\nsource xml r\n"
			    "event e 1\n%s", xc[i].text);
		m = compile(text, errs, sizeof(errs));
		if (xc[i].err == NULL)
			ok(m != NULL, "xml compile: %s%s%s", xc[i].name,
			    m ? "" : ": ", m ? "" : errs);
		else
			ok(m == NULL && strstr(errs, xc[i].err) != NULL,
			    "xml compile: %s (%.*s)", xc[i].name,
			    (int)strcspn(errs, "\n"), errs);
		map_free(m);
	}
}

/*
 * An object of 200 names: their one-bit summaries (64 bits) collide, so
 * setting a name whose bit is already set must still append a new one,
 * and setting each again must replace it in place.  The names are laid
 * out as interned names (map_int.h), numbered as the compiler numbers
 * them; the builder reads no more than their key bit.
 */
static void
test_mdoc_many_keys(void)
{
	static char	 store[200][16];
	const char	*names[200];
	struct arena	 a;
	struct mdoc_pool mp;
	struct mdoc	*o, *v, *m;
	int		 i, bad = 0;

	arena_init(&a, 1 << 20);
	mdoc_pool_init(&mp, &a);
	o = mdoc_new(&mp, MDOC_OBJ);
	for (i = 0; i < 200; i++) {
		store[i][0] = (char)(i % 64);
		snprintf(store[i] + 3, sizeof(store[i]) - 3, "k%d", i);
		store[i][1] = (char)strlen(store[i] + 3);
		names[i] = store[i] + 3;
		v = mdoc_new(&mp, MDOC_INT);
		v->u.i = i;
		mdoc_set(o, names[i], v);
	}
	for (i = 0; i < 200; i++) {
		v = mdoc_new(&mp, MDOC_INT);
		v->u.i = 1000 + i;
		mdoc_set(o, names[i], v);
	}
	for (i = 0, m = o->u.o.head; m != NULL; m = m->next, i++)
		if (i >= 200 || m->key != names[i] || m->u.i != 1000 + i ||
		    mdoc_member(o, names[i]) != m)
			bad++;
	ok(o->u.o.n == 200 && i == 200 && bad == 0 &&
	    o->u.o.tail->key == names[199], "mdoc_set: 200 names (their "
	    "key bits collide) appended once each, replaced in place");
	arena_free(&a);
}

/* ---- an event at its cap ----------------------------------------------- */

struct capev {
	char	 text[8192];
	size_t	 len;
	int	 n;
};

static int
cap_event(void *arg, const char *json, size_t len)
{
	struct capev	*c = arg;

	c->n++;
	c->len = len;
	if (len < sizeof(c->text))
		memcpy(c->text, json, len);
	return 0;
}

/* The event's text without its id (random). */
static int
cap_same(const struct capev *a, const struct capev *b)
{
	const char	*ia = strstr(a->text, "\"id\":\""),
			*ib = strstr(b->text, "\"id\":\"");

	return a->len == b->len && a->len < sizeof(a->text) && ia != NULL &&
	    ib != NULL && ia - a->text == ib - b->text &&
	    memcmp(a->text, b->text, (size_t)(ia - a->text)) == 0 &&
	    memcmp(ia + 42, ib + 42, a->len - (size_t)(ia + 42 - a->text)) ==
	    0;
}

/*
 * translate's event fails exactly when its text does not fit the out
 * buffer's cap (translate.h), at every cap up to past its length: the
 * event writer claims its room in pieces, never more than the text to
 * come unless it falls back.  The subject with a '"' takes the member by
 * member writer, the plain one the pieces.  With threads, the event is
 * written in a job's own buffer and appended to out when committed: the
 * same verdict, as the same EVENT-LIMIT.
 */
static void
test_event_cap(void)
{
	static const char *const po[] = { "PO00000001", "PO\"0001" };
	char		 errs[8192], in[2048];
	struct map	*m;
	struct translate_opts o;
	struct translate_stats st;
	struct capev	 full, at;
	struct buf	 out;
	size_t		 cap, n;
	int		 i, r, bad, th;

	m = load_fixture("mapsmd_x12_850-order-created.map", errs,
	    sizeof(errs));
	if (!ok(m != NULL, "event cap: 850 map compiles")) {
		printf("# %s\n", errs);
		return;
	}
	for (i = 0; i < 2; i++) {
		n = (size_t)snprintf(in, sizeof(in),
		    "ISA*00*          *00*          *ZZ*PEERSENDER     *ZZ*"
		    "PEERRECEIVER   *250101*1200*^*00501*000000001*0*T*:~"
		    "GS*PO*PEERSENDER*PEERRECEIVER*20250101*1200*1*X*005010~"
		    "ST*850*0001~BEG*00*SA*%s**20251104~CUR*BY*USD~"
		    "REF*DP*026~N1*ST*UMBRELLA RETAIL #22*92*18290~"
		    "N3*1680 2ND ST~N4*DENVER*CO*80014*US~"
		    "PO1*1*16*CA*95.27*PE*BP*B8478454*VP*VP-78907~"
		    "PID*F****BOLT HEX M8 X 40~CTT*1~SE*11*0001~GE*1*1~"
		    "IEA*1*000000001~", po[i]);
		memset(&o, 0, sizeof(o));
		o.force_map = m;
		o.filename = "cap.x12";
		o.protocol = "FILE";
		o.on_event = cap_event;
		o.out = &out;
		o.received.tv_sec = 1700000000;
		memset(&full, 0, sizeof(full));
		o.arg = &full;
		buf_init(&out, 1 << 20);
		r = translate_bytes(slice_make(in, n), &o, &st);
		buf_free(&out);
		if (!ok(r == 0 && full.n == 1 && full.len < sizeof(full.text),
		    "event cap %d: one event (%zu bytes)", i, full.len))
			continue;
		for (th = 0; th <= 3; th += 3) {
			o.threads = th;
			bad = 0;
			for (cap = 0; cap <= full.len + 8; cap++) {
				memset(&at, 0, sizeof(at));
				o.arg = &at;
				buf_init(&out, cap);
				r = translate_bytes(slice_make(in, n), &o, &st);
				buf_free(&out);
				if (cap < full.len ? r != EG_ERR_REJECTED ||
				    at.n != 0 || st.rejected != 1 ||
				    st.errors != 1 :
				    r != 0 || at.n != 1 ||
				    !cap_same(&full, &at))
					bad++;
			}
			is_int(bad, 0, "event cap %d, %d threads: fails "
			    "exactly below %zu bytes (one EVENT-LIMIT), else "
			    "the same event", i, th, full.len);
		}
	}
	map_free(m);
}

/* ---- the caller stops ---------------------------------------------------- */

static int
stop_at_4(void *arg, const char *json, size_t len)
{
	int	*n = arg;

	(void)json;
	(void)len;
	return ++*n == 4;
}

/*
 * on_event asks to stop at the fourth of twelve sets: translate returns
 * EG_ERR_REJECTED with four sets counted and translated, with threads
 * (which have parsed sets past it) as without.
 */
static void
test_stop(void)
{
	char		 errs[8192], *in;
	struct map	*m;
	struct translate_opts o;
	struct translate_stats st;
	size_t		 n = 0, cap = 8192;
	int		 i, th, r, nev;

	m = load_fixture("mapsmd_x12_850-order-created.map", errs,
	    sizeof(errs));
	if (!ok(m != NULL, "stop: 850 map compiles")) {
		printf("# %s\n", errs);
		return;
	}
	if ((in = malloc(cap)) == NULL)
		abort();
	n += (size_t)snprintf(in + n, cap - n,
	    "ISA*00*          *00*          *ZZ*PEERSENDER     *ZZ*"
	    "PEERRECEIVER   *250101*1200*^*00501*000000001*0*T*:~"
	    "GS*PO*PEERSENDER*PEERRECEIVER*20250101*1200*1*X*005010~");
	for (i = 1; i <= 12; i++)
		n += (size_t)snprintf(in + n, cap - n,
		    "ST*850*%04d~BEG*00*SA*PO%d**20251104~"
		    "N1*ST*UMBRELLA*92*18290~PO1*1*16*CA*95.27*PE*BP*B1~"
		    "CTT*1~SE*6*%04d~", i, i, i);
	n += (size_t)snprintf(in + n, cap - n, "GE*12*1~IEA*1*000000001~");
	for (th = 0; th <= 3; th += 3) {
		memset(&o, 0, sizeof(o));
		o.force_map = m;
		o.filename = "stop.x12";
		o.on_event = stop_at_4;
		o.threads = th;
		nev = 0;
		o.arg = &nev;
		r = translate_bytes(slice_make(in, n), &o, &st);
		ok(r == EG_ERR_REJECTED && nev == 4 && st.sets == 4 &&
		    st.translated == 4, "stop, %d threads: rejected after 4 "
		    "events (r %d, %d events, %u sets, %u translated)", th,
		    r, nev, st.sets, st.translated);
	}
	free(in);
	map_free(m);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	const char *sh = getenv("EDIGATE_SHARED");

	snprintf(datadir, sizeof(datadir), "%s/tests/data/map", top ? top :
	    ".");
	snprintf(mapsdir, sizeof(mapsdir), "%s/maps", top ? top : ".");
	snprintf(shareddir, sizeof(shareddir), "%s", sh ? sh : top ?
	    "../shared" : "../shared");
	if (sh == NULL && top != NULL)
		snprintf(shareddir, sizeof(shareddir), "%s/../shared", top);
	test_compile_errors();
	test_lint();
	test_headers();
	test_paths();
	test_components();
	test_codekey();
	test_rep_qualifiers();
	test_list_rules();
	test_or_second();
	test_when_lit();
	test_group_rootw();
	test_check_lit();
	test_check_agg();
	test_groups();
	test_group_runs();
	test_many_pairs();
	test_values_near();
	test_pairs_dense();
	test_pair_layouts();
	test_unique();
	test_rules();
	test_rules_xform_absent();
	test_856();
	test_hierarchy_axes();
	test_mapsmd();
	test_shipped();
	test_extends();
	snprintf(tmpmaps, sizeof(tmpmaps), "/tmp/unit_map.XXXXXX");
	if (mkdtemp(tmpmaps) != NULL) {
		test_header_only();
		test_catalog_lazy();
		rmtree(tmpmaps);
	}
	test_corpus();
	test_mutations();
	test_mdoc_strings();
	test_mdoc_plain();
	test_mdoc_docs();
	test_mdoc_many_keys();
	test_findings();
	test_xml();
	test_xml_compile();
	test_event_cap();
	test_stop();
	ok(write_docs > 0 && write_diffs == 0, "mdoc_write_json is "
	    "json_dumps(mdoc_to_json, JSON_COMPACT) for all %d documents "
	    "evaluated", write_docs);
	return done_testing();
}
