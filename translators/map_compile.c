/*
 * map_compile.c: the compiler of the map language (MAPS.md §3): a
 * per-line lexer, a recursive-descent parser following the EBNF of §3.11,
 * partner overrides (`extends`), template inlining, code tables, and the
 * compile-time checks of §3.8 (unknown segments, elements, lookups and
 * templates, target conflicts, duplicate writes, lint warnings).
 *
 * XML maps (`source xml`) keep their paths as XPath 1.0, compiled here
 * once with libxml2 (prefixes checked against the `namespace` lines) and
 * freed with the plan.
 *
 * It owns every node of a plan (in the map's arena) and the structure the
 * map names.  It never evaluates a document, and it must never crash on
 * a malformed map: every line, token, nesting level and row is capped and
 * every problem becomes a "file:line:col: message" line.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "arena.h"
#include "buf.h"
#include "digest.h"
#include "eglimits.h"
#include "err.h"
#include "map.h"
#include "map_int.h"
#include "structure.h"
#include "xmalloc.h"

#define MAP_ARENA_MAX	(512U * 1024 * 1024)
#define MAX_ERRORS	100
#define MAX_TOKS	1024
#define MAX_PHYS	256	/* physical lines in one logical line */

enum tk {
	TK_EOL = 0, TK_WORD, TK_STR, TK_LP, TK_RP, TK_COMMA, TK_PIPE,
	TK_EQ, TK_EQEQ, TK_NE, TK_LT, TK_GT, TK_LE, TK_GE,
	TK_BOTH, TK_IN, TK_OUT, TK_BANG,
};

struct tok {
	enum tk		 k;
	const char	*p;	/* TK_STR: unescaped, in the arena */
	size_t		 len;
	size_t		 off, end;	/* in the logical line */
	int		 col;
};

enum bk {
	BK_ROOT = 0, BK_GROUP, BK_WITHIN, BK_TEMPLATE, BK_LOOKUP,
};

struct cp {
	struct map	*m;		/* the file's skeleton */
	struct map	*owner;		/* owns the arena */
	struct arena	*a;
	const struct map_compile_opts *opts;
	struct buf	*errors;
	int		*nerr;
	const char	*path;		/* as opened */
	const char	*name;		/* relative to maps_root */
	char		 dir[EG_MAX_PATH];
	int		 depth;		/* extends chain */
	struct map	*parent;	/* parsed `extends`, merged at the end */
	int		 extline, extcol;
	int		 seen_hdr[16];

	int		 line;		/* first physical line of the statement */
	size_t		 lblen;
	int		 nphys;
	int		 ntok, pos;
	int		 edepth;

	struct {
		enum bk		 kind;
		int		 line;
		struct map_block *blk;
		struct map_lookup *lk;
		struct map_template *tpl;
	}		 stk[EG_MAX_MAP_DEPTH + 2];
	int		 nstk;
	int		 nstmt;
	int		 lineerr;	/* an error was reported on this line */

	/*
	 * The current line: only lb[0..lblen], phys[0..nphys) and
	 * tok[0..ntok] are ever read, each written first, so parse_file
	 * leaves these 45 KB unzeroed (they must stay last).
	 */
	char		 lb[EG_MAX_MAP_LINE + 1];
	struct {
		size_t	 off;
		int	 line;
		int	 col0;
	}		 phys[MAX_PHYS];
	struct tok	 tok[MAX_TOKS];
};

static struct map *parse_file(struct map *, const struct map_compile_opts *,
		    struct buf *, int *, const char *, const char *,
		    const char *, size_t, int);

/* ---- errors -------------------------------------------------------- */

static void __attribute__((format(printf, 6, 7)))
report(struct buf *errors, int *nerr, int warn, const char *path,
    int line, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];
	int	 col = line >> 20;

	line &= (1 << 20) - 1;
	if (!warn && (*nerr)++ >= MAX_ERRORS) {
		if (*nerr == MAX_ERRORS + 1 && errors != NULL)
			buf_printf(errors, "%s: too many errors\n", path);
		return;
	}
	if (errors == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(errors, "%s:%d:%d: %s%s\n", path, line, col ? col : 1,
	    warn ? "warning: " : "", msg);
}

/* Pack line and column into one int for report(). */
#define LC(l, c)	(((l) & ((1 << 20) - 1)) | ((c) < 2047 ? (c) : 2047) << 20)

#define perr(cp, col, ...) do {						\
	(cp)->lineerr = 1;						\
	report((cp)->errors, (cp)->nerr, 0, (cp)->path,			\
	    LC(lineof(cp, col), colof(cp, col)), __VA_ARGS__);		\
} while (0)

#define pwarn(cp, col, ...)						\
	report((cp)->errors, (cp)->nerr, 1, (cp)->path,			\
	    LC(lineof(cp, col), colof(cp, col)), __VA_ARGS__)

/* Logical-line offset -> physical line and column. */
static int
physidx(const struct cp *cp, size_t off)
{
	int	 i;

	for (i = cp->nphys - 1; i > 0; i--)
		if (off >= cp->phys[i].off)
			return i;
	return 0;
}

static int
lineof(const struct cp *cp, int off)
{
	if (cp->nphys == 0)
		return cp->line;
	return cp->phys[physidx(cp, (size_t)off)].line;
}

static int
colof(const struct cp *cp, int off)
{
	int	 i;

	if (cp->nphys == 0)
		return off + 1;
	i = physidx(cp, (size_t)off);
	return (int)((size_t)off - cp->phys[i].off) + cp->phys[i].col0;
}

/* ---- allocation ------------------------------------------------------ */

/*
 * Every node lives in the owner's arena.  Past the arena's cap the compile
 * fails, but parsing goes on with heap blocks (freed with the map) so the
 * remaining errors are still found; the map text is capped, so this is
 * bounded too.
 */
struct overflow {
	struct overflow	*next;
	_Alignas(16) unsigned char data[];
};

static void *
cp_alloc(struct cp *cp, size_t n)
{
	struct overflow	*o;
	void		*p;

	if ((p = arena_alloc(cp->a, n)) != NULL)
		return p;
	if (!cp->owner->overflowed++)
		report(cp->errors, cp->nerr, 0, cp->path, LC(cp->line, 1),
		    "map too large to compile");
	o = xcalloc(1, sizeof(*o) + n);
	o->next = cp->owner->overflow;
	cp->owner->overflow = o;
	return o->data;
}

static char *
cp_strndup(struct cp *cp, const char *s, size_t n)
{
	char	*p = cp_alloc(cp, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * The interned copy of a target or field name: one pointer per distinct
 * name in the map and everything it extends (they share the owner), so
 * that the evaluator compares document keys by pointer.
 */
static uint32_t
cp_namehash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t	 x;

	for (x = 0; x < n; x++)
		h = (h ^ (unsigned char)s[x]) * 16777619u;
	return h;
}

/*
 * An interned name in its map_int.h layout: JSON form, key bit, length,
 * name.  The key bit is the name's number in the map: names numbered
 * apart by less than 64 never share a bit, whatever the heap.
 */
static const char *
cp_internname(struct cp *cp, const char *s, size_t n, uint32_t seq)
{
	char	*p = cp_alloc(cp, MAP_NAME_PRE + n + 1), *k = p + MAP_NAME_PRE;
	unsigned len = n + 4 <= MAP_NAME_JSONPAD ? (unsigned)n :
	    MAP_NAME_NOJSON;
	size_t	 x;

	for (x = 0; x < n; x++)
		if ((unsigned char)s[x] < 0x20 || s[x] == '"' ||
		    s[x] == '\\' || (unsigned char)s[x] >= 0x80)
			len = MAP_NAME_NOJSON;
	if (len != MAP_NAME_NOJSON) {
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		p[n + 2] = ':';
		p[n + 3] = '"';	/* a string value's, copied with the key */
	}
	k[-3] = (char)(seq % 64);
	k[-2] = (char)(len & 0xff);
	k[-1] = (char)(len >> 8);
	memcpy(k, s, n);
	k[n] = '\0';
	return k;
}

static const char *
cp_name(struct cp *cp, const char *s, size_t n)
{
	struct map	*o = cp->owner;
	const char	**nt, *k;
	uint32_t	 h = cp_namehash(s, n), i, j, nm;

	if (o->names == NULL || (o->nnames + 1) * 2 > o->namemask) {
		nm = o->names == NULL ? 63 : o->namemask * 2 + 1;
		nt = cp_alloc(cp, (nm + 1) * sizeof(*nt));
		for (i = 0; o->names != NULL && i <= o->namemask; i++) {
			if ((k = o->names[i]) == NULL)
				continue;
			for (j = cp_namehash(k, strlen(k)) & nm; nt[j] != NULL;
			    j = (j + 1) & nm)
				;
			nt[j] = k;
		}
		o->names = nt;
		o->namemask = nm;
	}
	for (i = h & o->namemask; (k = o->names[i]) != NULL;
	    i = (i + 1) & o->namemask)
		if (strncmp(k, s, n) == 0 && k[n] == '\0')
			return k;
	k = cp_internname(cp, s, n, o->nnames);
	o->names[i] = k;
	o->nnames++;
	return k;
}

/*
 * The number of a segment tag a path names (map_step.tid): the next one
 * for a tag not seen before, in the owner's table, kept at most a quarter
 * full so that the evaluator's probe mostly ends at its first slot.
 */
static uint16_t
cp_tag(struct cp *cp, uint32_t key)
{
	struct map	*o = cp->owner;
	struct map_tag	*nt;
	uint32_t	 i, j, nm, id;

	if (o->tags != NULL &&
	    (id = map_tag_id(o->tags, o->tagmask, key)) != MAP_TAG_NONE)
		return (uint16_t)id;
	if (o->tags == NULL || (o->ntags + 1) * 4 > o->tagmask) {
		nm = o->tags == NULL ? 63 : o->tagmask * 2 + 1;
		nt = cp_alloc(cp, (nm + 1) * sizeof(*nt));
		for (i = 0; o->tags != NULL && i <= o->tagmask; i++) {
			if (o->tags[i].key == 0)
				continue;
			for (j = map_tag_hash(o->tags[i].key) & nm;
			    nt[j].key != 0; j = (j + 1) & nm)
				;
			nt[j] = o->tags[i];
		}
		o->tags = nt;
		o->tagmask = nm;
	}
	for (i = map_tag_hash(key) & o->tagmask; o->tags[i].key != 0;
	    i = (i + 1) & o->tagmask)
		;
	o->tags[i].key = key;
	o->tags[i].id = o->ntags;
	return (uint16_t)o->ntags++;
}

/* Grow an arena array of pointers (or structs) by doubling. */
static void *
cp_grow(struct cp *cp, void *arr, int n, int *cap, size_t el)
{
	void	*na;
	int	 nc;

	if (n < *cap)
		return arr;
	nc = *cap ? *cap * 2 : 8;
	na = cp_alloc(cp, (size_t)nc * el);
	if (n)
		memcpy(na, arr, (size_t)n * el);
	*cap = nc;
	return na;
}

/* ---- lexer ----------------------------------------------------------- */

static int
isupperc(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int
islowerc(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
isdigitc(int c)
{
	return c >= '0' && c <= '9';
}

static int
isalnumc(int c)
{
	return isupperc(c) || islowerc(c) || isdigitc(c);
}

static int
isspacec(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * What ends a word's plain run: a byte that ends the word (blanks and
 * the bytes that start another token), or '[' / '{' opening a bracket
 * the word goes on through.  A word's first byte is never one that ends
 * it: lex's switch took those, or skipped the blank.
 */
static const unsigned char wordstop[256] = {
	[' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1,
	['|'] = 1, [','] = 1, ['('] = 1, [')'] = 1, ['='] = 1, ['<'] = 1,
	['>'] = 1, ['!'] = 1, ['"'] = 1, ['['] = 1, ['{'] = 1,
};

/* Unescape a "..." string at p (pointing at the quote).  Returns the
 * offset after the closing quote, or 0 when unterminated. */
static size_t
lex_string(struct cp *cp, const char *p, size_t len, struct tok *t)
{
	size_t	 i, n = 0;
	char	*o = cp_alloc(cp, len + 1);

	for (i = 1; i < len; i++) {
		if (p[i] == '"') {
			t->p = o;
			t->len = n;
			o[n] = '\0';
			return i + 1;
		}
		if (p[i] == '\\' && i + 1 < len) {
			i++;
			o[n++] = p[i] == 'n' ? '\n' : p[i] == 't' ? '\t' : p[i];
			continue;
		}
		o[n++] = p[i];
	}
	return 0;
}

/* Tokenize p[0..len) (part of the logical line at base offset). */
static int
lex(struct cp *cp, const char *p, size_t len, size_t base, struct tok *out,
    int max)
{
	size_t	 i = 0, j, r;
	int	 n = 0, depth;
	char	 q;

	while (i < len) {
		struct tok *t;

		if (isspacec((unsigned char)p[i])) {
			i++;
			continue;
		}
		if (n >= max - 1) {
			perr(cp, (int)(base + i), "too many tokens on one line");
			return -1;
		}
		t = &out[n++];
		memset(t, 0, sizeof(*t));
		t->off = base + i;
		t->col = (int)(base + i);
		t->p = p + i;
		j = i;
		switch (p[i]) {
		case '"':
			t->k = TK_STR;
			if ((r = lex_string(cp, p + i, len - i, t)) == 0) {
				perr(cp, (int)(base + i), "unterminated string");
				return -1;
			}
			i += r;
			t->end = base + i;
			continue;
		case '(':
			t->k = TK_LP;
			i++;
			break;
		case ')':
			t->k = TK_RP;
			i++;
			break;
		case ',':
			t->k = TK_COMMA;
			i++;
			break;
		case '|':
			t->k = TK_PIPE;
			i++;
			break;
		case '=':
			if (i + 1 < len && p[i + 1] == '=') {
				t->k = TK_EQEQ;
				i += 2;
			} else {
				t->k = TK_EQ;
				i++;
			}
			break;
		case '!':
			if (i + 1 < len && p[i + 1] == '=') {
				t->k = TK_NE;
				i += 2;
			} else {
				t->k = TK_BANG;
				i++;
			}
			break;
		case '<':
			if (i + 2 < len && p[i + 1] == '-' && p[i + 2] == '>') {
				t->k = TK_BOTH;
				i += 3;
			} else if (i + 1 < len && p[i + 1] == '-') {
				t->k = TK_OUT;
				i += 2;
			} else if (i + 1 < len && p[i + 1] == '=') {
				t->k = TK_LE;
				i += 2;
			} else {
				t->k = TK_LT;
				i++;
			}
			break;
		case '>':
			if (i + 1 < len && p[i + 1] == '=') {
				t->k = TK_GE;
				i += 2;
			} else {
				t->k = TK_GT;
				i++;
			}
			break;
		case '-':
			if (i + 1 < len && p[i + 1] == '>') {
				t->k = TK_IN;
				i += 2;
				break;
			}
			/* FALLTHROUGH */
		default:
			t->k = TK_WORD;
			depth = 0;
			q = 0;
			while (i < len) {
				char c;

				/* Most of a word: one table look-up a byte. */
				while (i < len &&
				    !wordstop[(unsigned char)p[i]])
					i++;
				if (i == len)
					break;
				c = p[i];
				if (c != '[' && c != '{')
					break;		/* the word's end */
				/* A bracket: up to its match, quotes within. */
				depth = 1;
				for (i++; i < len && depth > 0; i++) {
					c = p[i];
					if (q) {
						if (c == q)
							q = 0;
					} else if (c == '[' || c == '{')
						depth++;
					else if (c == ']' || c == '}')
						depth--;
					else if (c == '\'' || c == '"')
						q = c;
				}
			}
			if (q || depth > 0) {
				perr(cp, (int)(base + j), "unbalanced %s",
				    q ? "quote" : "bracket");
				return -1;
			}
			/* XPath node tests ending a step: text(), node() */
			if (i + 1 < len && p[i] == '(' && p[i + 1] == ')' &&
			    i > j) {
				size_t k = i;

				while (k > j &&
				    islowerc((unsigned char)p[k - 1]))
					k--;
				if (k < i && (k == j || p[k - 1] == '/'))
					i += 2;
			}
			t->len = i - j;
			break;
		}
		if (t->k != TK_WORD && t->k != TK_STR)
			t->len = i - j;
		t->end = base + i;
	}
	out[n].k = TK_EOL;
	out[n].off = out[n].end = base + len;
	out[n].col = (int)(base + len);
	return n;
}

/* ---- token helpers -------------------------------------------------- */

static struct tok *
peek(struct cp *cp)
{
	return &cp->tok[cp->pos];
}

static struct tok *
next(struct cp *cp)
{
	struct tok *t = &cp->tok[cp->pos];

	if (t->k != TK_EOL)
		cp->pos++;
	return t;
}

static int
isword(const struct tok *t, const char *w)
{
	return t->k == TK_WORD && t->len == strlen(w) &&
	    memcmp(t->p, w, t->len) == 0;
}

static char *
tokstr(struct cp *cp, const struct tok *t)
{
	return cp_strndup(cp, t->p, t->len);
}

/* Text of the logical line between two tokens (inclusive). */
static char *
spantext(struct cp *cp, int from, int to)
{
	size_t	 s, e;

	if (to < from)
		return cp_strndup(cp, "", 0);
	s = cp->tok[from].off;
	e = cp->tok[to].end;
	if (e > cp->lblen || s > e)
		return cp_strndup(cp, "", 0);
	return cp_strndup(cp, cp->lb + s, e - s);
}

static const char *
tokdesc(const struct tok *t, char *b, size_t n)
{
	if (t->k == TK_EOL)
		snprintf(b, n, "end of line");
	else
		snprintf(b, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len),
		    t->p);
	return b;
}

#define expected(cp, t, what) do {					\
	char tb_[64];							\
	perr(cp, (t)->col, "expected %s, found %s", what,		\
	    tokdesc(t, tb_, sizeof(tb_)));				\
} while (0)

/* ---- names, numbers, codes ------------------------------------------ */

static int
is_name(const char *p, size_t n)
{
	size_t	 i;

	if (n == 0 || !islowerc((unsigned char)p[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnumc((unsigned char)p[i]) && p[i] != '_')
			return 0;
	return 1;
}

static int
is_number(const char *p, size_t n)
{
	size_t	 i = 0, d = 0;

	if (n && (p[0] == '-' || p[0] == '+'))
		i++;
	for (; i < n && isdigitc((unsigned char)p[i]); i++)
		d++;
	if (i < n && p[i] == '.')
		for (i++; i < n && isdigitc((unsigned char)p[i]); i++)
			d++;
	return d > 0 && i == n;
}

static int
is_int(const char *p, size_t n, int *v)
{
	size_t	 i;
	long	 x = 0;

	if (n == 0 || n > 9)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigitc((unsigned char)p[i]))
			return 0;
		x = x * 10 + (p[i] - '0');
	}
	*v = (int)x;
	return 1;
}

/* With their lengths: every target and field name is checked against all. */
#define KW(s)	{ s, sizeof(s) - 1 }
static const struct {
	const char	*s;
	size_t		 n;
} keywords[] = {
	KW("map"), KW("version"), KW("source"), KW("structure"), KW("event"),
	KW("direction"), KW("extends"), KW("partner"), KW("timezone"),
	KW("scope"), KW("namespace"), KW("group"), KW("within"),
	KW("template"), KW("lookup"), KW("apply"), KW("drop"), KW("check"),
	KW("end"), KW("from"), KW("child"), KW("descendant"), KW("where"),
	KW("when"), KW("required"), KW("warn"), KW("error"), KW("default"),
	KW("out"), KW("oneway"), KW("unique"), KW("or"), KW("and"), KW("not"),
	KW("in"), KW("exists"), KW("seq"), KW("count"), KW("sum"), KW("join"),
	KW("none"),
};
#undef KW

static int
is_keyword(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (keywords[i].n == n && memcmp(keywords[i].s, p, n) == 0)
			return 1;
	return 0;
}

/* A field reference: [/ | ../...] name{.name} */
static int
looks_field(const char *p, size_t n, int xml)
{
	size_t	 i = 0, s;

	if (n >= 1 && p[0] == '/')
		i = 1;
	else
		while (n - i >= 3 && memcmp(p + i, "../", 3) == 0)
			i += 3;
	if (i == n || !islowerc((unsigned char)p[i]))
		return 0;
	for (s = i; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (!is_name(p + s, i - s))
				return 0;
			s = i + 1;
			continue;
		}
		if (xml && p[i] == ':')
			return 0;
	}
	return 1;
}

static struct map_field *
parse_field(struct cp *cp, const struct tok *t)
{
	struct map_field *f = cp_alloc(cp, sizeof(*f));
	const char	*p = t->p;
	size_t		 n = t->len, i = 0, s;
	int		 cap = 0;

	if (n >= 1 && p[0] == '/') {
		f->abs = 1;
		i = 1;
	} else
		while (n - i >= 3 && memcmp(p + i, "../", 3) == 0) {
			f->up++;
			i += 3;
		}
	for (s = i; i <= n; i++) {
		if (i < n && p[i] != '.')
			continue;
		if (!is_name(p + s, i - s)) {
			perr(cp, t->col + (int)s, "bad field name");
			return NULL;
		}
		if (f->nname >= MAP_MAX_TARGET_DEPTH) {
			perr(cp, t->col, "field nested too deeply");
			return NULL;
		}
		f->name = cp_grow(cp, f->name, f->nname, &cap, sizeof(char *));
		f->name[f->nname++] = cp_name(cp, p + s, i - s);
		s = i + 1;
	}
	return f;
}

/* ---- EDI paths ------------------------------------------------------- */

/* Codes: CODE | "str" | 'str', separated by '|'. */
static int
parse_codes(struct cp *cp, const char *p, size_t n, int col,
    struct slice **out, uint16_t *nout)
{
	struct slice	*c = NULL;
	int		 cap = 0, k = 0;
	size_t		 i = 0, s;

	for (;;) {
		while (i < n && isspacec((unsigned char)p[i]))
			i++;
		if (i < n && (p[i] == '"' || p[i] == '\'')) {
			char q = p[i++];

			s = i;
			while (i < n && p[i] != q)
				i++;
			if (i >= n) {
				perr(cp, col + (int)s, "unterminated quote");
				return -1;
			}
			c = cp_grow(cp, c, k, &cap, sizeof(*c));
			c[k++] = slice_make(cp_strndup(cp, p + s, i - s), i - s);
			i++;
		} else {
			s = i;
			while (i < n && p[i] != '|' && !isspacec((unsigned char)p[i]))
				i++;
			if (i == s) {
				perr(cp, col + (int)s, "expected a code");
				return -1;
			}
			c = cp_grow(cp, c, k, &cap, sizeof(*c));
			c[k++] = slice_make(cp_strndup(cp, p + s, i - s), i - s);
		}
		while (i < n && isspacec((unsigned char)p[i]))
			i++;
		if (k > MAP_MAX_ALTS) {
			perr(cp, col, "more than %d alternatives", MAP_MAX_ALTS);
			return -1;
		}
		if (i >= n)
			break;
		if (p[i] != '|') {
			perr(cp, col + (int)i, "expected '|' between codes");
			return -1;
		}
		i++;
	}
	*out = c;
	*nout = (uint16_t)k;
	return 0;
}

static int
two_digits(const char *p, int *v)
{
	if (!isdigitc((unsigned char)p[0]) || !isdigitc((unsigned char)p[1]))
		return 0;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return 1;
}

/* [01=DP], [REF01=DP|IA, 03!=ZZ], [COM01-02=TE], [01=BD and 03=TE] */
static int
parse_filter(struct cp *cp, const char *p, size_t n, int col,
    const char *segtag, struct map_filter *f)
{
	size_t	 i = 0, s, e;
	int	 cap = 0, v, depthq;

	f->rank = -1;
	while (i < n) {
		struct map_atom *a;
		size_t	 h;

		while (i < n && isspacec((unsigned char)p[i]))
			i++;
		if (i >= n)
			break;
		/* One atom ends at ',' or ' and ' outside quotes. */
		s = i;
		depthq = 0;
		for (e = i; e < n; e++) {
			if (p[e] == '"' || p[e] == '\'')
				depthq = !depthq;
			if (depthq)
				continue;
			if (p[e] == ',')
				break;
			if (e > s && isspacec((unsigned char)p[e]) &&
			    e + 4 <= n && memcmp(p + e + 1, "and", 3) == 0 &&
			    (e + 4 == n || isspacec((unsigned char)p[e + 4])))
				break;
		}
		if (f->natom >= MAP_MAX_ATOMS) {
			perr(cp, col + (int)s, "too many filter conditions");
			return -1;
		}
		f->atom = cp_grow(cp, f->atom, f->natom, &cap, sizeof(*a));
		a = &f->atom[f->natom++];
		memset(a, 0, sizeof(*a));
		for (h = s; h < e && (isupperc((unsigned char)p[h]) ||
		    isdigitc((unsigned char)p[h])); h++)
			;
		if (h - s == 2 && two_digits(p + s, &v))
			a->el = (uint8_t)v;
		else if (h - s >= 4 && h - s <= 5 && isupperc((unsigned char)p[s]) &&
		    two_digits(p + h - 2, &v)) {
			if ((size_t)(h - s - 2) != strlen(segtag) ||
			    memcmp(p + s, segtag, h - s - 2) != 0) {
				perr(cp, col + (int)s, "filter names %.*s but "
				    "the segment is %s", (int)(h - s - 2), p + s,
				    segtag);
				return -1;
			}
			a->el = (uint8_t)v;
		} else {
			perr(cp, col + (int)s, "expected an element position "
			    "such as 01 or %s01", segtag);
			return -1;
		}
		if (a->el == 0) {
			perr(cp, col + (int)s, "element positions start at 01");
			return -1;
		}
		if (h < e && p[h] == '-') {
			if (h + 3 > e || !two_digits(p + h + 1, &v) || v == 0) {
				perr(cp, col + (int)h, "expected a component "
				    "position such as -02");
				return -1;
			}
			a->comp = (uint8_t)v;
			h += 3;
		}
		while (h < e && isspacec((unsigned char)p[h]))
			h++;
		if (h + 1 < e && p[h] == '!' && p[h + 1] == '=') {
			a->neg = 1;
			h += 2;
		} else if (h < e && p[h] == '=')
			h++;
		else {
			perr(cp, col + (int)h, "expected '=' or '!=' in filter");
			return -1;
		}
		while (e > h && isspacec((unsigned char)p[e - 1]))
			e--;
		if (parse_codes(cp, p + h, e - h, col + (int)h, &a->code,
		    &a->ncode) != 0)
			return -1;
		if (f->rank < 0 && !a->neg && a->ncode > 1)
			f->rank = (int16_t)(f->natom - 1);
		/* Skip the separator. */
		for (i = e; i < n && (isspacec((unsigned char)p[i]) ||
		    p[i] == ','); i++)
			;
		if (n - i >= 3 && memcmp(p + i, "and", 3) == 0 &&
		    (n - i == 3 || isspacec((unsigned char)p[i + 3])))
			i += 3;
	}
	if (f->natom == 0) {
		perr(cp, col, "empty filter");
		return -1;
	}
	return 0;
}

/* Matching ']' or '}' for the bracket at p[0]. */
static size_t
closing(const char *p, size_t n)
{
	size_t	 i;
	int	 d = 0;
	char	 q = 0;

	for (i = 0; i < n; i++) {
		if (q) {
			if (p[i] == q)
				q = 0;
			continue;
		}
		if (p[i] == '"' || p[i] == '\'')
			q = p[i];
		else if (p[i] == '[' || p[i] == '{')
			d++;
		else if ((p[i] == ']' || p[i] == '}') && --d == 0)
			return i;
	}
	return 0;
}

/*
 * One step: TAG[filter] (loop step, selector) or, when elem is set and
 * the text allows it, the element reference of a path.
 */
static int
parse_step(struct cp *cp, const char *p, size_t n, int col,
    struct map_step *st, struct map_path *path, int elem)
{
	size_t	 h, i, c;
	int	 v, iselem = 0;

	for (h = 0; h < n && (isupperc((unsigned char)p[h]) ||
	    isdigitc((unsigned char)p[h])); h++)
		;
	if (h == 0 || !isupperc((unsigned char)p[0])) {
		perr(cp, col, "expected a segment tag");
		return -1;
	}
	if (h >= 4 && h <= 5 && two_digits(p + h - 2, &v)) {
		iselem = 1;
		memcpy(st->tag, p, h - 2);
		st->tag[h - 2] = '\0';
		if (!elem) {
			perr(cp, col, "expected a segment tag, found the "
			    "element %.*s", (int)h, p);
			return -1;
		}
		if (v == 0) {
			perr(cp, col + (int)h - 2, "element positions start at 01");
			return -1;
		}
		path->el = (uint8_t)v;
	} else if (h >= 2 && h <= 3) {
		memcpy(st->tag, p, h);
		st->tag[h] = '\0';
	} else {
		perr(cp, col, "bad segment tag or element '%.*s'", (int)h, p);
		return -1;
	}
	st->key = map_tagkey(st->tag);
	st->tid = cp_tag(cp, st->key);
	i = h;
	if (i < n && p[i] == '-') {
		if (!iselem || i + 3 > n || !two_digits(p + i + 1, &v) ||
		    v == 0) {
			perr(cp, col + (int)i, "expected a component position "
			    "such as DTM01-02");
			return -1;
		}
		path->comp = (uint8_t)v;
		i += 3;
	}
	if (i < n && p[i] == '#') {
		size_t s = ++i;

		while (i < n && isdigitc((unsigned char)p[i]))
			i++;
		if (!iselem || !is_int(p + s, i - s, &v) || v < 1 ||
		    v > (int)EG_MAX_REPEATS) {
			perr(cp, col + (int)s - 1, "expected a repetition "
			    "number such as N104#2");
			return -1;
		}
		path->rep = (uint8_t)v;
	}
	st->f.rank = -1;
	if (i < n && p[i] == '[') {
		if ((c = closing(p + i, n - i)) == 0) {
			perr(cp, col + (int)i, "unclosed '['");
			return -1;
		}
		if (parse_filter(cp, p + i + 1, c - 1, col + (int)i + 1,
		    st->tag, &st->f) != 0)
			return -1;
		i += c + 1;
	}
	if (i < n && p[i] == '{') {
		uint16_t np;

		if (iselem || !elem) {
			perr(cp, col + (int)i, "a pair lookup follows a "
			    "segment tag: PO1{VN}");
			return -1;
		}
		if ((c = closing(p + i, n - i)) == 0) {
			perr(cp, col + (int)i, "unclosed '{'");
			return -1;
		}
		if (parse_codes(cp, p + i + 1, c - 1, col + (int)i + 1,
		    &path->pair, &np) != 0)
			return -1;
		path->npair = np;
		i += c + 1;
	}
	if (i != n) {
		perr(cp, col + (int)i, "unexpected '%.*s' in path",
		    (int)(n - i), p + i);
		return -1;
	}
	if (elem && !iselem && path->npair == 0)
		path->segonly = 1;
	return 0;
}

/*
 * The position a path reads as the evaluator compares it with a value
 * (map_eval.c path_value): el and rep laid out as in struct edi_val, read
 * back the way the evaluator reads a value's, whatever the byte order.
 */
static void
path_elrep(struct map_path *path)
{
	struct edi_val	 t;

	memset(&t, 0, sizeof(t));
	t.el = path->el;
	t.rep = path->rep ? path->rep : 1;
	memcpy(&path->elrep, (const char *)&t + offsetof(struct edi_val, el),
	    sizeof(path->elrep));
	path->comp1 = path->comp ? path->comp : 1;
	t.comp = path->comp1;
	memcpy(&path->rc, (const char *)&t + offsetof(struct edi_val, rep),
	    sizeof(path->rc));
}

/*
 * path = [ "/" | "../"... | "^" loopstep "/" ] { loopstep "/" } elem
 * With selector set the last step is a segment (no element).
 */
static struct map_path *
parse_path(struct cp *cp, const char *p, size_t n, int col, int selector)
{
	struct map_path	*path = cp_alloc(cp, sizeof(*path));
	struct map_step	 steps[MAP_MAX_STEPS + 1];
	size_t		 i = 0, s, c;
	int		 ns = 0, k;

	path->file = cp->path;
	path->line = lineof(cp, col);
	path->col = colof(cp, col);
	path->text = cp_strndup(cp, p, n);
	path->repatom = -1;
	if (n && p[0] == '^') {
		path->anchor = MA_HIER;
		for (i = 1; i < n && p[i] != '/' && p[i] != '['; i++)
			;
		if (i < n && p[i] == '[') {
			if ((c = closing(p + i, n - i)) == 0) {
				perr(cp, col + (int)i, "unclosed '['");
				return NULL;
			}
			i += c + 1;
		}
		if (i >= n || p[i] != '/') {
			perr(cp, col, "expected ^TAG[filter]/ before the element");
			return NULL;
		}
		if (parse_step(cp, p + 1, i - 1, col + 1, &path->hstep, path,
		    0) != 0)
			return NULL;
		i++;
	} else if (n && p[0] == '/') {
		path->anchor = MA_ABS;
		i = 1;
	} else {
		while (n - i >= 3 && memcmp(p + i, "../", 3) == 0) {
			path->anchor = MA_UP;
			path->up++;
			i += 3;
		}
	}
	for (;;) {
		s = i;
		while (i < n && p[i] != '/') {
			if (p[i] == '[' || p[i] == '{') {
				if ((c = closing(p + i, n - i)) == 0) {
					perr(cp, col + (int)i, "unclosed '%c'", p[i]);
					return NULL;
				}
				i += c;
			}
			i++;
		}
		if (ns > MAP_MAX_STEPS) {
			perr(cp, col, "more than %d loop steps", MAP_MAX_STEPS);
			return NULL;
		}
		if (i == s) {
			perr(cp, col + (int)s, "empty path step");
			return NULL;
		}
		memset(&steps[ns], 0, sizeof(steps[ns]));
		if (i < n) {
			if (parse_step(cp, p + s, i - s, col + (int)s,
			    &steps[ns], path, 0) != 0)
				return NULL;
			ns++;
			i++;
			continue;
		}
		if (parse_step(cp, p + s, i - s, col + (int)s, &steps[ns], path,
		    1) != 0)
			return NULL;
		if (selector && !path->segonly) {
			perr(cp, col + (int)s, "expected a loop or segment, "
			    "not an element");
			return NULL;
		}
		path->seg = steps[ns];
		break;
	}
	if (ns) {
		path->loop = cp_alloc(cp, ns * sizeof(*path->loop));
		memcpy(path->loop, steps, ns * sizeof(*path->loop));
		path->nloop = ns;
	}
	/* A filter on the element itself selects among its repetitions. */
	for (k = 0; k < path->seg.f.natom && !path->segonly; k++)
		if (path->seg.f.atom[k].el == path->el) {
			path->repatom = (int8_t)k;
			break;
		}
	path_elrep(path);
	return path;
}

/* ---- expressions ------------------------------------------------------ */

static struct map_expr *parse_expr(struct cp *);
static struct map_cond *parse_cond(struct cp *);

static struct map_expr *
new_expr(struct cp *cp, enum map_term kind, const struct tok *t)
{
	struct map_expr *e = cp_alloc(cp, sizeof(*e));

	e->kind = kind;
	e->line = lineof(cp, t->col);
	e->col = colof(cp, t->col);
	return e;
}

static int
parse_env(struct cp *cp, const struct tok *t, struct map_expr *e)
{
	const char *p = t->p + 4;
	size_t	 n = t->len - 4, h;
	int	 v;

	if (n > 8 && memcmp(p, "partner.", 8) == 0) {
		if (!is_name(p + 8, n - 8)) {
			perr(cp, t->col + 12, "expected env.partner.NAME");
			return -1;
		}
		e->envname = cp_strndup(cp, p + 8, n - 8);
		e->envkind = strcmp(e->envname, "id") == 0 ? ME_PARTNER_ID :
		    ME_PARTNER;
		return 0;
	}
	for (h = 0; h < n && (isupperc((unsigned char)p[h]) ||
	    isdigitc((unsigned char)p[h])); h++)
		;
	if (h < 4 || h > 5 || !two_digits(p + h - 2, &v) || v == 0) {
		perr(cp, t->col + 4, "expected env.ISA06, env.GS04, env.ST02, "
		    "env.UNB02-01 or env.partner.NAME");
		return -1;
	}
	if ((h == 5 && (memcmp(p, "ISA", 3) == 0 || memcmp(p, "UNB", 3) == 0)))
		e->envkind = ME_ISA;
	else if ((h == 4 && memcmp(p, "GS", 2) == 0) ||
	    (h == 5 && memcmp(p, "UNG", 3) == 0))
		e->envkind = ME_GS;
	else if ((h == 4 && memcmp(p, "ST", 2) == 0) ||
	    (h == 5 && memcmp(p, "UNH", 3) == 0))
		e->envkind = ME_ST;
	else {
		perr(cp, t->col + 4, "env. reads ISA, GS, ST, UNB, UNG or UNH");
		return -1;
	}
	e->envel = (uint8_t)v;
	if (h < n) {
		if (p[h] != '-' || h + 3 != n || !two_digits(p + h + 1, &v) ||
		    v == 0) {
			perr(cp, t->col + 4 + (int)h, "expected a component "
			    "such as env.UNB02-01");
			return -1;
		}
		e->envcomp = (uint8_t)v;
	}
	return 0;
}

/* A word that is a document reference: field, EDI path or XPath. */
static struct map_expr *
parse_ref(struct cp *cp, const struct tok *t, int selector)
{
	struct map_expr	*e;

	if (looks_field(t->p, t->len, cp->m->xml)) {
		e = new_expr(cp, MT_FIELD, t);
		if ((e->field = parse_field(cp, t)) == NULL)
			return NULL;
		return e;
	}
	if (cp->m->xml) {
		e = new_expr(cp, MT_XPATH, t);
		e->lit = slice_make(tokstr(cp, t), t->len);
		return e;
	}
	if (t->len > 0 && (islowerc((unsigned char)t->p[0]))) {
		perr(cp, t->col, "unknown name '%.*s' (event fields are "
		    "name.name, document paths TAG01)", (int)t->len, t->p);
		return NULL;
	}
	e = new_expr(cp, MT_PATH, t);
	if ((e->path = parse_path(cp, t->p, t->len, t->col, selector)) == NULL)
		return NULL;
	return e;
}

static struct map_expr *
parse_call(struct cp *cp, const struct tok *t)
{
	struct map_expr	*e, *a;
	struct tok	*u;
	int		 cap = 0;

	next(cp);	/* ( */
	if (isword(t, "join")) {
		e = new_expr(cp, MT_JOIN, t);
		u = next(cp);
		if (u->k != TK_STR) {
			expected(cp, u, "a separator string");
			return NULL;
		}
		e->lit = slice_make(u->p, u->len);
		while (peek(cp)->k == TK_COMMA) {
			next(cp);
			if (e->nsub >= MAP_MAX_TERMS) {
				perr(cp, peek(cp)->col, "too many arguments");
				return NULL;
			}
			if ((a = parse_expr(cp)) == NULL)
				return NULL;
			e->sub = cp_grow(cp, e->sub, e->nsub, &cap, sizeof(a));
			e->sub[e->nsub++] = a;
		}
		if (e->nsub == 0) {
			expected(cp, peek(cp), "',' and a value to join");
			return NULL;
		}
	} else {
		e = new_expr(cp, isword(t, "count") ? MT_COUNT : MT_SUM, t);
		u = next(cp);
		if (u->k != TK_WORD) {
			expected(cp, u, isword(t, "count") ?
			    "an event array or a loop" : "a field or a path");
			return NULL;
		}
		if ((a = parse_ref(cp, u, e->kind == MT_COUNT &&
		    !looks_field(u->p, u->len, cp->m->xml) &&
		    !cp->m->xml)) == NULL)
			return NULL;
		e->sub = cp_alloc(cp, sizeof(a));
		e->sub[0] = a;
		e->nsub = 1;
		e->field = a->field;
		e->path = a->path;
	}
	u = next(cp);
	if (u->k != TK_RP) {
		expected(cp, u, "')'");
		return NULL;
	}
	return e;
}

static struct map_expr *
parse_term(struct cp *cp)
{
	struct tok	*t = peek(cp);
	struct map_expr	*e;
	int		 from = cp->pos;

	if (++cp->edepth > (int)EG_MAX_EXPR_DEPTH) {
		perr(cp, t->col, "expression nested too deeply");
		return NULL;
	}
	switch (t->k) {
	case TK_STR:
		next(cp);
		e = new_expr(cp, MT_LIT, t);
		e->lit = slice_make(t->p, t->len);
		break;
	case TK_LP:
		next(cp);
		if ((e = parse_expr(cp)) == NULL)
			return NULL;
		if (next(cp)->k != TK_RP) {
			expected(cp, &cp->tok[cp->pos > 0 ? cp->pos - 1 : 0],
			    "')'");
			return NULL;
		}
		break;
	case TK_WORD:
		next(cp);
		if (isword(t, "seq"))
			e = new_expr(cp, MT_SEQ, t);
		else if ((isword(t, "count") || isword(t, "sum") ||
		    isword(t, "join")) && peek(cp)->k == TK_LP) {
			if ((e = parse_call(cp, t)) == NULL)
				return NULL;
		} else if (is_number(t->p, t->len)) {
			e = new_expr(cp, MT_LIT, t);
			e->lit = slice_make(tokstr(cp, t), t->len);
			e->litnum = 1;
		} else if (t->len > 4 && memcmp(t->p, "env.", 4) == 0) {
			e = new_expr(cp, MT_ENV, t);
			if (parse_env(cp, t, e) != 0)
				return NULL;
		} else if (is_keyword(t->p, t->len)) {
			expected(cp, t, "a value");
			return NULL;
		} else if ((e = parse_ref(cp, t, 0)) == NULL)
			return NULL;
		break;
	default:
		expected(cp, t, "a value");
		return NULL;
	}
	cp->edepth--;
	if (e->text == NULL)
		e->text = spantext(cp, from, cp->pos - 1);
	return e;
}

static struct map_expr *
parse_expr(struct cp *cp)
{
	struct map_expr	*e, *t, *o;
	int		 cap = 0, from = cp->pos;

	if ((t = parse_term(cp)) == NULL)
		return NULL;
	if (!isword(peek(cp), "or"))
		return t;
	o = new_expr(cp, MT_OR, &cp->tok[from]);
	o->sub = cp_grow(cp, o->sub, o->nsub, &cap, sizeof(t));
	o->sub[o->nsub++] = t;
	while (isword(peek(cp), "or")) {
		next(cp);
		if ((e = parse_term(cp)) == NULL)
			return NULL;
		if (o->nsub >= MAP_MAX_TERMS) {
			perr(cp, peek(cp)->col, "too many alternatives");
			return NULL;
		}
		o->sub = cp_grow(cp, o->sub, o->nsub, &cap, sizeof(e));
		o->sub[o->nsub++] = e;
	}
	o->text = spantext(cp, from, cp->pos - 1);
	return o;
}

/* ---- conditions ---------------------------------------------------------- */

/*
 * In a comparison, a bare code (`BEG01 = ZZ`, `HL03 = O`) is a literal: a
 * segment tag alone is never a value.  Element references stay paths.
 */
static struct map_expr *
bare_code(struct cp *cp)
{
	struct tok	*t = peek(cp);
	struct map_expr	*e;
	size_t		 i;
	int		 v;

	if (t->k != TK_WORD || cp->m->xml || looks_field(t->p, t->len, 0) ||
	    is_keyword(t->p, t->len) || (t->len > 4 &&
	    memcmp(t->p, "env.", 4) == 0))
		return NULL;
	for (i = 0; i < t->len; i++)
		if (!isalnumc((unsigned char)t->p[i]) && t->p[i] != '.' &&
		    t->p[i] != '-' && t->p[i] != '+')
			return NULL;
	/* TAG + two digits (PO101, DTM01-02) is an element. */
	for (i = 0; i < t->len && (isupperc((unsigned char)t->p[i]) ||
	    isdigitc((unsigned char)t->p[i])); i++)
		;
	if (i >= 4 && i <= 5 && isupperc((unsigned char)t->p[0]) &&
	    two_digits(t->p + i - 2, &v))
		return NULL;
	next(cp);
	e = new_expr(cp, MT_LIT, t);
	e->lit = slice_make(tokstr(cp, t), t->len);
	e->litnum = is_number(t->p, t->len);
	e->text = tokstr(cp, t);
	return e;
}

static struct map_cond *
parse_cterm(struct cp *cp)
{
	struct map_cond	*c = cp_alloc(cp, sizeof(*c));
	struct tok	*t = peek(cp);
	int		 cap = 0;

	if (++cp->edepth > (int)EG_MAX_EXPR_DEPTH) {
		perr(cp, t->col, "condition nested too deeply");
		return NULL;
	}
	if (isword(t, "not")) {
		next(cp);
		c->op = MC_NOT;
		if ((c->l = parse_cterm(cp)) == NULL)
			return NULL;
		cp->edepth--;
		return c;
	}
	if (isword(t, "exists") && cp->tok[cp->pos + 1].k == TK_LP) {
		next(cp);
		next(cp);
		t = next(cp);
		c->op = MC_EXISTS;
		if (t->k != TK_WORD) {
			expected(cp, t, "a field or a path");
			return NULL;
		}
		if ((c->a = parse_ref(cp, t, 0)) == NULL)
			return NULL;
		c->a->text = tokstr(cp, t);
		if ((t = next(cp))->k != TK_RP) {
			expected(cp, t, "')'");
			return NULL;
		}
		cp->edepth--;
		return c;
	}
	if ((c->a = parse_term(cp)) == NULL)
		return NULL;
	t = next(cp);
	c->op = MC_CMP;
	switch (t->k) {
	case TK_EQ:
	case TK_EQEQ:
		c->cmp = MCMP_EQ;
		break;
	case TK_NE:
		c->cmp = MCMP_NE;
		break;
	case TK_LT:
		c->cmp = MCMP_LT;
		break;
	case TK_GT:
		c->cmp = MCMP_GT;
		break;
	case TK_LE:
		c->cmp = MCMP_LE;
		break;
	case TK_GE:
		c->cmp = MCMP_GE;
		break;
	default:
		if (!isword(t, "in")) {
			expected(cp, t, "a comparison (=, !=, <, >, <=, >=, in)");
			return NULL;
		}
		c->op = MC_IN;
		if ((t = next(cp))->k != TK_LP) {
			expected(cp, t, "'('");
			return NULL;
		}
		for (;;) {
			t = next(cp);
			if (t->k != TK_STR && t->k != TK_WORD) {
				expected(cp, t, "a literal");
				return NULL;
			}
			if (c->nlist >= MAP_MAX_ALTS) {
				perr(cp, t->col, "list too long");
				return NULL;
			}
			c->list = cp_grow(cp, c->list, c->nlist, &cap,
			    sizeof(*c->list));
			c->list[c->nlist++] = slice_make(t->k == TK_STR ? t->p :
			    tokstr(cp, t), t->len);
			t = next(cp);
			if (t->k == TK_RP)
				break;
			if (t->k != TK_COMMA) {
				expected(cp, t, "',' or ')'");
				return NULL;
			}
		}
		cp->edepth--;
		return c;
	}
	if ((c->b = bare_code(cp)) == NULL && (c->b = parse_term(cp)) == NULL)
		return NULL;
	cp->edepth--;
	return c;
}

static struct map_cond *
parse_cand(struct cp *cp)
{
	struct map_cond	*l, *c;

	if ((l = parse_cterm(cp)) == NULL)
		return NULL;
	while (isword(peek(cp), "and")) {
		next(cp);
		c = cp_alloc(cp, sizeof(*c));
		c->op = MC_AND;
		c->l = l;
		if ((c->r = parse_cterm(cp)) == NULL)
			return NULL;
		l = c;
	}
	return l;
}

static struct map_cond *
parse_cond(struct cp *cp)
{
	struct map_cond	*l, *c;

	if ((l = parse_cand(cp)) == NULL)
		return NULL;
	while (isword(peek(cp), "or")) {
		next(cp);
		c = cp_alloc(cp, sizeof(*c));
		c->op = MC_OR;
		c->l = l;
		if ((c->r = parse_cand(cp)) == NULL)
			return NULL;
		l = c;
	}
	return l;
}

/* ---- messages ----------------------------------------------------------- */

/*
 * A {expr} placeholder of a message, parsed with the expression parser on
 * tokens of its own.  Only the statement's tokens that those overwrite are
 * saved and put back (lex() fills at most 64 of them), not all MAX_TOKS.
 */
static struct map_expr *
parse_placeholder(struct cp *cp, const struct tok *t, const char *p,
    size_t n)
{
	struct map_expr	*e = NULL;
	struct tok	 sub[64], saved[64];
	char		*txt = cp_strndup(cp, p, n);
	int		 nsub, savepos, saventok, k;

	savepos = cp->pos;
	saventok = cp->ntok;
	nsub = lex(cp, txt, n, (size_t)t->col, sub, 64);
	if (nsub > 0) {
		for (k = 0; k <= nsub; k++) {
			sub[k].col = t->col;
			sub[k].off = 0;
			sub[k].end = 0;
		}
		memcpy(saved, cp->tok, (size_t)(nsub + 1) * sizeof(sub[0]));
		memcpy(cp->tok, sub, (size_t)(nsub + 1) * sizeof(sub[0]));
		cp->pos = 0;
		cp->ntok = nsub;
		cp->edepth = 0;
		e = parse_expr(cp);
		if (e != NULL && peek(cp)->k != TK_EOL) {
			perr(cp, t->col, "bad placeholder {%s}", txt);
			e = NULL;
		}
		memcpy(cp->tok, saved, (size_t)(nsub + 1) * sizeof(sub[0]));
	} else if (nsub == 0)
		perr(cp, t->col, "empty placeholder {}");
	cp->pos = savepos;
	cp->ntok = saventok;
	if (e != NULL)
		e->text = txt;
	return e;
}

/* Split "text {expr} text" into parts; {value} {source} {seq} {field}. */
static struct map_msg *
parse_msg(struct cp *cp, const struct tok *t)
{
	struct map_msg	*m = cp_alloc(cp, sizeof(*m));
	const char	*p = t->p;
	size_t		 n = t->len, i = 0, s, c;
	int		 cap = 0;
	struct map_expr	*e;

	m->text = p;
	while (i < n) {
		s = i;
		while (i < n && p[i] != '{')
			i++;
		if (i > s) {
			m->part = cp_grow(cp, m->part, m->nparts, &cap,
			    sizeof(*m->part));
			m->part[m->nparts].kind = MM_TEXT;
			m->part[m->nparts++].s = slice_make(p + s, i - s);
		}
		if (i >= n)
			break;
		if ((c = closing(p + i, n - i)) == 0) {
			/* A lone '{' is text. */
			m->part = cp_grow(cp, m->part, m->nparts, &cap,
			    sizeof(*m->part));
			m->part[m->nparts].kind = MM_TEXT;
			m->part[m->nparts++].s = slice_make(p + i, n - i);
			break;
		}
		m->part = cp_grow(cp, m->part, m->nparts, &cap,
		    sizeof(*m->part));
		s = i + 1;
		i += c + 1;
		if (i - s - 1 == 5 && memcmp(p + s, "value", 5) == 0)
			m->part[m->nparts++].kind = MM_VALUE;
		else if (i - s - 1 == 6 && memcmp(p + s, "source", 6) == 0)
			m->part[m->nparts++].kind = MM_SOURCE;
		else if (i - s - 1 == 3 && memcmp(p + s, "seq", 3) == 0)
			m->part[m->nparts++].kind = MM_SEQ;
		else if (i - s - 1 == 5 && memcmp(p + s, "field", 5) == 0)
			m->part[m->nparts++].kind = MM_FIELD;
		else {
			if ((e = parse_placeholder(cp, t, p + s,
			    i - s - 1)) == NULL)
				return NULL;
			m->part[m->nparts].kind = MM_EXPR;
			m->part[m->nparts++].e = e;
		}
	}
	return m;
}

/* ---- targets ------------------------------------------------------------ */

static int
parse_target(struct cp *cp, const struct tok *t, struct map_target *tg)
{
	const char	*p = t->p;
	size_t		 n = t->len, i = 0, s;
	int		 cap = 0;
	uint64_t	*bit;

	tg->text = tokstr(cp, t);
	if (n && p[0] == '/') {
		tg->rooted = 1;
		i = 1;
	}
	if (n >= 2 && p[n - 2] == '[' && p[n - 1] == ']') {
		tg->array = 1;
		n -= 2;
	}
	for (s = i; i <= n; i++) {
		if (i < n && p[i] != '.')
			continue;
		if (!is_name(p + s, i - s) || is_keyword(p + s, i - s)) {
			perr(cp, t->col + (int)s, "bad target '%.*s': event "
			    "fields are lowerCamelCase names joined by '.'",
			    (int)(t->len), t->p);
			return -1;
		}
		if (tg->nname >= MAP_MAX_TARGET_DEPTH) {
			perr(cp, t->col, "target nested too deeply");
			return -1;
		}
		tg->name = cp_grow(cp, tg->name, tg->nname, &cap,
		    sizeof(char *));
		tg->name[tg->nname++] = cp_name(cp, p + s, i - s);
		s = i + 1;
	}
	/* The evaluator tests and sets these bits for every value written. */
	bit = cp_alloc(cp, (size_t)tg->nname * sizeof(*bit));
	for (i = 0; i < (size_t)tg->nname; i++)
		bit[i] = mdoc_keybit(tg->name[i]);
	tg->bit = bit;
	return 0;
}

/* ---- transforms ------------------------------------------------------- */

static int
need_int(struct cp *cp, int *v, int min, int max, const char *what)
{
	struct tok *t = next(cp);

	if (t->k != TK_WORD || !is_int(t->p, t->len, v) || *v < min ||
	    *v > max) {
		expected(cp, t, what);
		return -1;
	}
	return 0;
}


/*
 * The ELEM of `date code ELEM` / `time code ELEM`: an element of the same
 * segment as the value (the EDIFACT 2379 format code, DTM01-03).
 */
static int
parse_code_elem(struct cp *cp, struct map_xform *x, const char *what)
{
	struct tok	*u;
	struct map_path	*p;

	u = next(cp);
	if (u->k != TK_WORD || cp->m->xml) {
		expected(cp, u, "an element such as DTM01-03");
		return -1;
	}
	if ((p = parse_path(cp, u->p, u->len, u->col, 0)) == NULL)
		return -1;
	if (p->anchor != MA_REL || p->nloop || p->segonly || p->npair ||
	    p->seg.f.natom) {
		perr(cp, u->col, "`%s` names an element of the same segment, "
		    "such as DTM01-03", what);
		return -1;
	}
	x->codeel = p->el;
	x->codecomp = p->comp;
	return 0;
}

static int
parse_xform(struct cp *cp, struct map_xform *x)
{
	struct tok	*t = next(cp), *u;
	int		 from = cp->pos - 1;

	x->line = lineof(cp, t->col);
	x->col = colof(cp, t->col);
	x->n = -1;
	if (t->k != TK_WORD) {
		expected(cp, t, "a transform");
		return -1;
	}
	if (isword(t, "date")) {
		u = next(cp);
		if (isword(u, "x12"))
			x->kind = MX_DATE_X12;
		else if (isword(u, "CCYYMMDD"))
			x->kind = MX_DATE_CCYYMMDD;
		else if (isword(u, "YYMMDD"))
			x->kind = MX_DATE_YYMMDD;
		else if (isword(u, "102"))
			x->kind = MX_DATE_102;
		else if (isword(u, "iso8601"))
			x->kind = MX_DATE_ISO;
		else if (isword(u, "code")) {
			x->kind = MX_DATE_CODE;
			if (parse_code_elem(cp, x, "date code") != 0)
				return -1;
		} else {
			perr(cp, u->col, "bad date format: expected x12, "
			    "CCYYMMDD, YYMMDD, 102, code ELEM or iso8601");
			return -1;
		}
	} else if (isword(t, "time")) {
		u = next(cp);
		if (isword(u, "x12"))
			x->kind = MX_TIME_X12;
		else if (isword(u, "iso8601"))
			x->kind = MX_TIME_ISO;
		else if (isword(u, "code")) {
			x->kind = MX_TIME_CODE;
			if (parse_code_elem(cp, x, "time code") != 0)
				return -1;
		} else {
			perr(cp, u->col, "bad time format: expected x12, "
			    "iso8601 or code ELEM");
			return -1;
		}
	} else if (isword(t, "decimal")) {
		x->kind = MX_DECIMAL;
		u = peek(cp);
		if (u->k == TK_WORD && isdigitc((unsigned char)u->p[0]) &&
		    need_int(cp, &x->n, 0, 30, "a number of decimals") != 0)
			return -1;
	} else if (isword(t, "implied")) {
		x->kind = MX_IMPLIED;
		if (need_int(cp, &x->n, 0, 9, "a number of implied decimals "
		    "(0-9)") != 0)
			return -1;
	} else if (isword(t, "int"))
		x->kind = MX_INT;
	else if (isword(t, "trim"))
		x->kind = MX_TRIM;
	else if (isword(t, "upper"))
		x->kind = MX_UPPER;
	else if (isword(t, "lower"))
		x->kind = MX_LOWER;
	else if (isword(t, "collapse"))
		x->kind = MX_COLLAPSE;
	else if (isword(t, "max")) {
		x->kind = MX_MAX;
		if (need_int(cp, &x->n, 1, (int)EG_MAX_VALUE_LEN,
		    "a maximum length") != 0)
			return -1;
	} else if (isword(t, "pad")) {
		x->kind = MX_PAD;
		u = next(cp);
		if (u->k != TK_STR || u->len != 1) {
			expected(cp, u, "a one-character pad string such as \"0\"");
			return -1;
		}
		x->s = slice_make(u->p, u->len);
		if (need_int(cp, &x->n, 1, 1000, "a width") != 0)
			return -1;
	} else if (isword(t, "gtin14"))
		x->kind = MX_GTIN14;
	else if (isword(t, "sscc")) {
		x->kind = MX_SSCC;
		if (isword(peek(cp), "ai")) {
			next(cp);
			x->ai = 1;
		}
	} else if (isword(t, "lookup")) {
		x->kind = MX_LOOKUP;
		u = next(cp);
		if (u->k != TK_WORD) {
			expected(cp, u, "a lookup name");
			return -1;
		}
		x->lkname = tokstr(cp, u);
	} else {
		char tb[64];

		perr(cp, t->col, "unknown transform %s",
		    tokdesc(t, tb, sizeof(tb)));
		return -1;
	}
	x->text = spantext(cp, from, cp->pos - 1);
	return 0;
}

/* ---- statements ---------------------------------------------------------- */

/*
 * out = "name:line", cut to outlen - 1 bytes like snprintf: every
 * statement gets one, and snprintf spent ~900 instructions on each.
 */
static void
rule_name(char *out, size_t outlen, const char *name, int line)
{
	char	 num[16];
	size_t	 o = 0, n = 0, k;
	unsigned v;

	if (outlen == 0)
		return;
	if (line < 0) {
		snprintf(out, outlen, "%s:%d", name, line);
		return;
	}
	v = (unsigned)line;
	do
		num[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (k = 0; name[k] != '\0' && o + 1 < outlen; k++)
		out[o++] = name[k];
	if (o + 1 < outlen)
		out[o++] = ':';
	while (n > 0 && o + 1 < outlen)
		out[o++] = num[--n];
	out[o] = '\0';
}

static struct map_stmt *
new_stmt(struct cp *cp, enum map_skind kind, int col)
{
	struct map_stmt *s = cp_alloc(cp, sizeof(*s));

	s->kind = kind;
	s->file = cp->name;
	s->path = cp->path;
	s->line = lineof(cp, col);
	s->col = colof(cp, col);
	rule_name(s->rule, sizeof(s->rule), cp->name, s->line);
	return s;
}

static void
add_stmt(struct cp *cp, struct map_stmt *s)
{
	struct map_block *b = cp->stk[cp->nstk - 1].blk;

	if (++cp->nstmt > MAP_MAX_STMTS) {
		if (cp->nstmt == MAP_MAX_STMTS + 1)
			perr(cp, 0, "more than %d statements", MAP_MAX_STMTS);
		return;
	}
	b->body = cp_grow(cp, b->body, b->nbody, &b->capbody, sizeof(s));
	b->body[b->nbody++] = s;
}

static int
parse_required(struct cp *cp, enum map_req *req, struct map_msg **msg)
{
	*req = MQ_ERROR;
	if (isword(peek(cp), "warn")) {
		next(cp);
		*req = MQ_WARN;
	}
	if (peek(cp)->k == TK_STR) {
		if ((*msg = parse_msg(cp, next(cp))) == NULL)
			return -1;
	}
	return 0;
}

static void
parse_rule(struct cp *cp)
{
	struct map_stmt	*s;
	struct map_rule	*r;
	struct map_expr	*e;
	struct tok	*t = next(cp);
	int		 cap = 0, from;

	s = new_stmt(cp, MS_RULE, t->col);
	r = &s->u.r;
	if (t->k != TK_WORD) {
		expected(cp, t, "a statement");
		return;
	}
	if (parse_target(cp, t, &r->tgt) != 0)
		return;
	if ((t = next(cp))->k != TK_EQ) {
		expected(cp, t, "'='");
		return;
	}
	from = cp->pos;
	for (;;) {
		if (r->nexpr >= MAP_MAX_TERMS) {
			perr(cp, peek(cp)->col, "list too long");
			return;
		}
		if ((e = parse_expr(cp)) == NULL)
			return;
		r->expr = cp_grow(cp, r->expr, r->nexpr, &cap, sizeof(e));
		r->expr[r->nexpr++] = e;
		if (peek(cp)->k != TK_COMMA)
			break;
		if (!r->tgt.array) {
			perr(cp, peek(cp)->col, "a list of values needs an "
			    "array target such as %s[]", r->tgt.text);
			return;
		}
		next(cp);
	}
	r->srctext = spantext(cp, from, cp->pos - 1);
	cap = 0;
	while (peek(cp)->k == TK_PIPE) {
		next(cp);
		if (r->nxf >= MAP_MAX_XFORMS) {
			perr(cp, peek(cp)->col, "too many transforms");
			return;
		}
		r->xf = cp_grow(cp, r->xf, r->nxf, &cap, sizeof(*r->xf));
		memset(&r->xf[r->nxf], 0, sizeof(*r->xf));
		if (parse_xform(cp, &r->xf[r->nxf]) != 0)
			return;
		r->nxf++;
	}
	for (;;) {
		t = peek(cp);
		if (t->k == TK_EOL)
			break;
		next(cp);
		if (isword(t, "required")) {
			if (parse_required(cp, &r->req, &r->reqmsg) != 0)
				return;
		} else if (isword(t, "default")) {
			t = next(cp);
			if (t->k != TK_STR && t->k != TK_WORD) {
				expected(cp, t, "a default literal");
				return;
			}
			r->hasdef = 1;
			r->defnum = t->k == TK_WORD && is_number(t->p, t->len);
			r->defval = slice_make(t->k == TK_STR ? t->p :
			    tokstr(cp, t), t->len);
		} else if (isword(t, "when")) {
			if ((r->when = parse_cond(cp)) == NULL)
				return;
		} else if (isword(t, "out")) {
			if ((r->out = parse_expr(cp)) == NULL)
				return;
		} else if (isword(t, "oneway"))
			r->oneway = 1;
		else {
			char tb[64];

			perr(cp, t->col, "unexpected %s (options are required, "
			    "default, when, out, oneway)",
			    tokdesc(t, tb, sizeof(tb)));
			return;
		}
	}
	add_stmt(cp, s);
}

static void
parse_check(struct cp *cp, const struct tok *kw)
{
	struct map_stmt	*s = new_stmt(cp, MS_CHECK, kw->col);
	struct tok	*t;

	if ((s->u.c.cond = parse_cond(cp)) == NULL)
		return;
	t = next(cp);
	if (isword(t, "error"))
		s->u.c.error = 1;
	else if (!isword(t, "warn")) {
		expected(cp, t, "error or warn");
		return;
	}
	t = next(cp);
	if (t->k != TK_STR) {
		expected(cp, t, "a message string");
		return;
	}
	if ((s->u.c.msg = parse_msg(cp, t)) == NULL)
		return;
	if ((t = peek(cp))->k != TK_EOL) {
		expected(cp, t, "end of line");
		return;
	}
	add_stmt(cp, s);
}

static void
push_block(struct cp *cp, enum bk kind, int line, struct map_block *b,
    struct map_lookup *lk, struct map_template *tpl)
{
	if (cp->nstk >= (int)EG_MAX_MAP_DEPTH + 1) {
		perr(cp, 0, "blocks nested more than %u deep",
		    EG_MAX_MAP_DEPTH);
		/* Keep matching `end`s: push onto the last slot again. */
		cp->stk[cp->nstk - 1].line = line;
		return;
	}
	cp->stk[cp->nstk].kind = kind;
	cp->stk[cp->nstk].line = line;
	cp->stk[cp->nstk].blk = b;
	cp->stk[cp->nstk].lk = lk;
	cp->stk[cp->nstk].tpl = tpl;
	cp->nstk++;
}

static void
parse_block(struct cp *cp, const struct tok *kw)
{
	int		 within = isword(kw, "within");
	struct map_stmt	*s = new_stmt(cp, within ? MS_WITHIN : MS_GROUP,
			    kw->col);
	struct map_block *b = &s->u.b;
	struct tok	*t;
	int		 cap = 0;

	b->within = within;
	if (!within) {
		t = next(cp);
		if (t->k != TK_WORD) {
			expected(cp, t, "a target");
			goto open;
		}
		if (parse_target(cp, t, &b->tgt) != 0)
			goto open;
		t = next(cp);
		if (!isword(t, "from")) {
			expected(cp, t, "from");
			goto open;
		}
	}
	t = next(cp);
	if (t->k != TK_WORD) {
		expected(cp, t, "a loop or segment selector");
		goto open;
	}
	b->seltext = tokstr(cp, t);
	if (cp->m->xml)
		b->xsel = b->seltext;
	else if ((b->sel = parse_path(cp, t->p, t->len, t->col, 1)) == NULL)
		goto open;
	else if (b->sel->anchor == MA_UP || b->sel->anchor == MA_HIER) {
		perr(cp, t->col, "a selector starts in the current scope or "
		    "at the root (/)");
		goto open;
	}
	for (;;) {
		t = next(cp);
		if (t->k == TK_EOL)
			break;
		if (isword(t, "child"))
			b->axis = MX_AXIS_CHILD;
		else if (isword(t, "descendant"))
			b->axis = MX_AXIS_DESCENDANT;
		else if (isword(t, "where") && !within) {
			struct map_where *w;

			b->where = cp_grow(cp, b->where, b->nwhere, &cap,
			    sizeof(*w));
			w = &b->where[b->nwhere++];
			memset(w, 0, sizeof(*w));
			t = next(cp);
			if (t->k != TK_WORD || !looks_field(t->p, t->len, 0) ||
			    t->p[0] == '/' || t->p[0] == '.') {
				expected(cp, t, "a field of the element produced");
				goto open;
			}
			if ((w->f = parse_field(cp, t)) == NULL)
				goto open;
			w->name = w->f->name;
			t = next(cp);
			if (t->k != TK_EQEQ) {
				expected(cp, t, "'=='");
				goto open;
			}
			if (isword(peek(cp), "none"))
				next(cp);
			else if ((w->e = parse_expr(cp)) == NULL)
				goto open;
		} else if (isword(t, "when")) {
			if ((b->when = parse_cond(cp)) == NULL)
				goto open;
		} else if (isword(t, "required")) {
			if (parse_required(cp, &b->req, &b->reqmsg) != 0)
				goto open;
		} else if (isword(t, "unique") && !within)
			b->unique = 1;
		else {
			char tb[64];

			perr(cp, t->col, "unexpected %s in %s", tokdesc(t, tb,
			    sizeof(tb)), within ? "within" : "group");
			goto open;
		}
	}
	if (b->unique && b->tgt.array)
		perr(cp, kw->col, "`unique` is for single-object groups");
open:
	/* Always open the block so that its `end` matches. */
	add_stmt(cp, s);
	push_block(cp, within ? BK_WITHIN : BK_GROUP, s->line, b, NULL, NULL);
}

static int
parse_policy(struct cp *cp, struct map_lookup *lk)
{
	struct tok *t;

	if (peek(cp)->k == TK_EOL)
		return 0;
	t = next(cp);
	if (!isword(t, "on-miss")) {
		expected(cp, t, "on-miss");
		return -1;
	}
	t = next(cp);
	if (isword(t, "warn"))
		lk->policy = MP_WARN;
	else if (isword(t, "error"))
		lk->policy = MP_ERROR;
	else if (isword(t, "pass"))
		lk->policy = MP_PASS;
	else if (isword(t, "default")) {
		lk->policy = MP_DEFAULT;
		t = next(cp);
		if (t->k != TK_STR && t->k != TK_WORD) {
			expected(cp, t, "a default string");
			return -1;
		}
		lk->defval = slice_make(t->k == TK_STR ? t->p : tokstr(cp, t),
		    t->len);
	} else {
		expected(cp, t, "error, warn, pass or default");
		return -1;
	}
	lk->policy_set = 1;
	if (peek(cp)->k == TK_STR) {
		if ((lk->msg = parse_msg(cp, next(cp))) == NULL)
			return -1;
	}
	if ((t = peek(cp))->k != TK_EOL) {
		expected(cp, t, "end of line");
		return -1;
	}
	return 0;
}

static int
joinpath(char *out, size_t outlen, const char *dir, const char *rel)
{
	int	 n;

	if (rel[0] == '/' || dir == NULL)
		n = snprintf(out, outlen, "%s", rel);
	else
		n = snprintf(out, outlen, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(out, outlen, "%s", "(path too long)");
		return -1;
	}
	return 0;
}

/* A path named by a map: from the map's folder dir, then from maps_root. */
static char *
resolve_from(const char *dir, const struct map_compile_opts *opts,
    const char *rel, char *out, size_t outlen)
{
	struct stat st;

	if (rel[0] == '/') {
		joinpath(out, outlen, NULL, rel);
		return out;
	}
	if (joinpath(out, outlen, dir, rel) == 0 && stat(out, &st) == 0)
		return out;
	if (opts->maps_root != NULL &&
	    joinpath(out, outlen, opts->maps_root, rel) == 0 &&
	    stat(out, &st) == 0)
		return out;
	joinpath(out, outlen, dir, rel);
	return out;
}

static char *
resolve(struct cp *cp, const char *rel, char *out, size_t outlen)
{
	return resolve_from(cp->dir, cp->opts, rel, out, outlen);
}

static struct map_lookup *
find_lookup(struct map *m, const char *name)
{
	int	 i;

	for (i = 0; i < m->nlookup; i++)
		if (strcmp(m->lookup[i]->name, name) == 0)
			return m->lookup[i];
	return NULL;
}

static struct map_template *
find_template(struct map *m, const char *name)
{
	int	 i;

	for (i = 0; i < m->ntpl; i++)
		if (strcmp(m->tpl[i]->name, name) == 0)
			return m->tpl[i];
	return NULL;
}

static void
parse_lookup(struct cp *cp, const struct tok *kw)
{
	struct map_lookup *lk;
	struct tok	*t = next(cp);
	char		 path[EG_MAX_PATH];

	if (t->k != TK_WORD) {
		expected(cp, t, "a lookup name");
		push_block(cp, BK_LOOKUP, cp->line, NULL, NULL, NULL);
		return;
	}
	if (cp->nstk > 1) {
		perr(cp, kw->col, "lookup tables are declared at the top level");
		return;
	}
	lk = map_lookup_new(cp->a, tokstr(cp, t));
	if (lk == NULL)
		return;
	lk->file = cp->name;
	lk->line = lineof(cp, t->col);
	lk->col = colof(cp, t->col);
	lk->path = cp->path;
	if (find_lookup(cp->m, lk->name) != NULL)
		perr(cp, t->col, "lookup '%s' declared twice", lk->name);
	if (isword(peek(cp), "file")) {
		next(cp);
		t = next(cp);
		if (t->k != TK_STR && t->k != TK_WORD) {
			expected(cp, t, "a file name");
			return;
		}
		resolve(cp, tokstr(cp, t), path, sizeof(path));
		lk->csv = cp_strndup(cp, path, strlen(path));
		lk->csvcol = t->col;
		if (parse_policy(cp, lk) != 0)
			return;
		/* Rows now, so that a child's `add` rows replace them. */
		{
			char err[512];

			err[0] = '\0';
			lk->loaded = 1;
			if (map_lookup_csv_cached(lk, cp->a, lk->csv,
			    cp->opts->cache, err, sizeof(err)) != 0)
				perr(cp, kw->col + 7, "lookup '%s': %s",
				    lk->name, err);
		}
		cp->m->lookup = cp_grow(cp, cp->m->lookup, cp->m->nlookup,
		    &cp->m->caplookup, sizeof(lk));
		cp->m->lookup[cp->m->nlookup++] = lk;
		return;
	}
	if (isword(peek(cp), "add")) {
		next(cp);
		lk->add = 1;
	}
	if (parse_policy(cp, lk) != 0) {
		push_block(cp, BK_LOOKUP, cp->line, NULL, NULL, NULL);
		return;
	}
	cp->m->lookup = cp_grow(cp, cp->m->lookup, cp->m->nlookup,
	    &cp->m->caplookup, sizeof(lk));
	cp->m->lookup[cp->m->nlookup++] = lk;
	push_block(cp, BK_LOOKUP, cp->line, NULL, lk, NULL);
}

static void
parse_row(struct cp *cp)
{
	struct map_lookup *lk = cp->stk[cp->nstk - 1].lk;
	struct tok	*l, *op, *r;
	enum map_rowdir	 dir;
	int		 bang = 0;

	l = next(cp);
	op = next(cp);
	r = next(cp);
	if (l->k != TK_WORD && l->k != TK_STR) {
		expected(cp, l, "a code");
		return;
	}
	if (op->k == TK_BOTH)
		dir = MR_BOTH;
	else if (op->k == TK_IN)
		dir = MR_IN;
	else if (op->k == TK_OUT)
		dir = MR_OUT;
	else {
		expected(cp, op, "<->, -> or <-");
		return;
	}
	if (r->k == TK_BANG) {
		if (dir != MR_IN) {
			perr(cp, r->col, "`!` marks an inbound code: CODE -> !");
			return;
		}
		bang = 1;
	} else if (r->k != TK_WORD && r->k != TK_STR) {
		expected(cp, r, "a code");
		return;
	}
	if (peek(cp)->k != TK_EOL) {
		expected(cp, peek(cp), "end of line");
		return;
	}
	if (lk == NULL)
		return;
	if (map_lookup_addrow(lk, cp->a,
	    slice_make(l->k == TK_STR ? l->p : tokstr(cp, l), l->len),
	    bang ? SLICE_LIT("!") :
	    slice_make(r->k == TK_STR ? r->p : tokstr(cp, r), r->len),
	    dir, bang, 0) != 0)
		perr(cp, l->col, "more than %u rows", EG_MAX_LOOKUP_ROWS);
}

/* ---- headers ------------------------------------------------------------- */

enum hdr {
	H_MAP, H_VERSION, H_SOURCE, H_STRUCTURE, H_EVENT, H_DIRECTION,
	H_EXTENDS, H_PARTNER, H_TIMEZONE, H_SCOPE, H_NAMESPACE, H_NHDR,
};

static const char *const hdrname[H_NHDR] = {
	"map", "version", "source", "structure", "event", "direction",
	"extends", "partner", "timezone", "scope", "namespace",
};

static int
hdr_index(const struct tok *t)
{
	int	 i;

	for (i = 0; i < H_NHDR; i++)
		if (isword(t, hdrname[i]))
			return i;
	return -1;
}

/* A one-token value: a word or a string. */
static char *
hdr_value(struct cp *cp, const char *what)
{
	struct tok *t = next(cp);

	if (t->k != TK_WORD && t->k != TK_STR) {
		expected(cp, t, what);
		return NULL;
	}
	return tokstr(cp, t);
}

static int
version_pattern_ok(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '*' && i == n - 1)
			continue;
		if (!isalnumc((unsigned char)p[i]) && p[i] != '.' &&
		    p[i] != '-' && p[i] != '_' && p[i] != '/' && p[i] != '+')
			return 0;
	}
	return n > 0;
}

static void load_parent(struct cp *, const char *, const struct tok *);

/*
 * A `timezone` must name a zone the system knows: UTC, or a file under
 * /usr/share/zoneinfo.  Names are IANA names (Area/City), so anything that
 * could step out of that folder is refused before looking.
 */
static int
zone_known(const char *name)
{
	char		 path[EG_MAX_PATH];
	struct stat	 sb;
	const char	*p;

	if (strcmp(name, "UTC") == 0)
		return 1;
	if (name[0] == '\0' || name[0] == '/' || name[0] == '.')
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnumc((unsigned char)*p) && *p != '/' && *p != '_' &&
		    *p != '-' && *p != '+' && *p != '.')
			return 0;
	if (strstr(name, "..") != NULL || strstr(name, "//") != NULL)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s",
	    name) >= sizeof(path))
		return 0;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void
parse_header(struct cp *cp, int h, const struct tok *kw)
{
	struct map	*m = cp->m;
	struct tok	*t;
	char		*v;
	int		 n, cap = 0;

	if (cp->nstk > 1) {
		perr(cp, kw->col, "`%s` belongs at the top of the map",
		    hdrname[h]);
		return;
	}
	if (h != H_NAMESPACE && cp->seen_hdr[h]++) {
		perr(cp, kw->col, "duplicate `%s`", hdrname[h]);
		return;
	}
	switch (h) {
	case H_MAP:
		if ((v = hdr_value(cp, "a map id")) == NULL)
			return;
		m->id = v;
		break;
	case H_VERSION:
		if (need_int(cp, &n, 0, INT_MAX / 2, "a version number") != 0)
			return;
		m->version = n;
		m->has_version = 1;
		break;
	case H_SOURCE:
		t = next(cp);
		if (isword(t, "x12"))
			m->syntax = EDI_X12;
		else if (isword(t, "edifact"))
			m->syntax = EDI_EDIFACT;
		else if (isword(t, "xml"))
			m->xml = 1;
		else {
			expected(cp, t, "x12, edifact or xml");
			return;
		}
		m->has_source = 1;
		t = next(cp);
		if (t->k != TK_WORD && t->k != TK_STR) {
			expected(cp, t, "a document type");
			return;
		}
		m->doctype = tokstr(cp, t);
		if (m->xml) {
			/* Root alternatives: ubl:OrderResponse | ubls:... */
			m->doctypes = cp_grow(cp, m->doctypes, m->ndoctypes,
			    &cap, sizeof(char *));
			m->doctypes[m->ndoctypes++] = m->doctype;
			while (peek(cp)->k == TK_PIPE) {
				next(cp);
				t = next(cp);
				if (t->k != TK_WORD) {
					expected(cp, t, "a root element name");
					return;
				}
				if (m->ndoctypes >= 16) {
					perr(cp, t->col, "too many roots");
					return;
				}
				m->doctypes = cp_grow(cp, m->doctypes,
				    m->ndoctypes, &cap, sizeof(char *));
				m->doctypes[m->ndoctypes++] = tokstr(cp, t);
			}
			cap = 0;
		}
		if (m->xml && peek(cp)->k == TK_WORD &&
		    (isupperc((unsigned char)peek(cp)->p[0]) ||
		    islowerc((unsigned char)peek(cp)->p[0])) &&
		    memchr(peek(cp)->p, '*', peek(cp)->len) == NULL)
			m->doctype2 = tokstr(cp, next(cp));
		while ((t = next(cp))->k != TK_EOL) {
			if (t->k != TK_WORD || !version_pattern_ok(t->p,
			    t->len)) {
				expected(cp, t, "a version pattern such as 004*");
				return;
			}
			if (m->nversions >= 256) {
				perr(cp, t->col, "too many versions");
				return;
			}
			m->versions = cp_grow(cp, m->versions, m->nversions,
			    &cap, sizeof(char *));
			m->versions[m->nversions++] = tokstr(cp, t);
		}
		return;
	case H_STRUCTURE:
		if ((v = hdr_value(cp, "a structure file")) == NULL)
			return;
		m->structpath = v;
		m->structline = LC(lineof(cp, kw->col),
		    colof(cp, cp->tok[cp->pos - 1].col));
		m->structsrc = cp->path;
		m->structdir = cp_strndup(cp, cp->dir, strlen(cp->dir));
		break;
	case H_EVENT:
		if ((v = hdr_value(cp, "an event type")) == NULL)
			return;
		m->event_type = v;
		if (need_int(cp, &n, 0, INT_MAX / 2, "an event-model version")
		    != 0)
			return;
		m->event_version = n;
		break;
	case H_DIRECTION:
		t = next(cp);
		if (isword(t, "in"))
			m->dir = MAP_DIR_IN;
		else if (isword(t, "out"))
			m->dir = MAP_DIR_OUT;
		else if (isword(t, "both"))
			m->dir = MAP_DIR_BOTH;
		else {
			expected(cp, t, "in, out or both");
			return;
		}
		break;
	case H_EXTENDS:
		t = next(cp);
		if (t->k != TK_WORD && t->k != TK_STR) {
			expected(cp, t, "the path of the base map");
			return;
		}
		v = tokstr(cp, t);
		m->extends = v;
		cp->extline = lineof(cp, t->col);
		cp->extcol = colof(cp, t->col);
		if (peek(cp)->k != TK_EOL) {
			expected(cp, peek(cp), "end of line");
			return;
		}
		load_parent(cp, v, t);
		return;
	case H_PARTNER:
		if ((v = hdr_value(cp, "a partner id")) == NULL)
			return;
		m->partner = v;
		break;
	case H_TIMEZONE:
		if ((v = hdr_value(cp, "partner or a zone name")) == NULL)
			return;
		if (strcmp(v, "partner") != 0 && !zone_known(v)) {
			perr(cp, cp->tok[cp->pos - 1].col, "unknown time zone "
			    "'%s' (not UTC and not in /usr/share/zoneinfo)", v);
			return;
		}
		m->timezone = strcmp(v, "partner") == 0 ? NULL : v;
		m->has_timezone = 1;
		break;
	case H_SCOPE:
		if ((v = hdr_value(cp, "an XPath")) == NULL)
			return;
		m->scope = v;
		m->scopelc = LC(lineof(cp, kw->col),
		    colof(cp, cp->tok[cp->pos - 1].col));
		break;
	case H_NAMESPACE: {
		struct map_ns	*ns;

		if ((v = hdr_value(cp, "a prefix")) == NULL)
			return;
		t = next(cp);
		if (t->k != TK_STR && t->k != TK_WORD) {
			expected(cp, t, "a namespace URI string");
			return;
		}
		m->ns = cp_grow(cp, m->ns, m->nns, &m->capns, sizeof(*ns));
		ns = &m->ns[m->nns++];
		ns->prefix = v;
		ns->uri = tokstr(cp, t);
		break;
	}
	}
	if ((t = peek(cp))->k != TK_EOL)
		expected(cp, t, "end of line");
}

/* ---- blocks ------------------------------------------------------------- */

static void
close_block(struct cp *cp, const struct tok *t)
{
	if (cp->nstk <= 1) {
		perr(cp, t->col, "`end` closes nothing");
		return;
	}
	cp->nstk--;
	if (cp->tok[1].k != TK_EOL)
		expected(cp, &cp->tok[1], "end of line after `end`");
}

static void
parse_template(struct cp *cp, const struct tok *kw)
{
	struct map_template *tp;
	struct tok	*t = next(cp);

	tp = cp_alloc(cp, sizeof(*tp));
	tp->file = cp->name;
	tp->path = cp->path;
	tp->line = lineof(cp, kw->col);
	tp->col = colof(cp, t->col);
	if (t->k != TK_WORD || !(isalnumc((unsigned char)t->p[0]))) {
		expected(cp, t, "a template name");
		tp->name = "";
	} else
		tp->name = tokstr(cp, t);
	if (cp->nstk > 1) {
		perr(cp, kw->col, "templates are declared at the top level");
	} else if (find_template(cp->m, tp->name) != NULL)
		perr(cp, t->col, "template '%s' declared twice", tp->name);
	else {
		cp->m->tpl = cp_grow(cp, cp->m->tpl, cp->m->ntpl,
		    &cp->m->captpl, sizeof(tp));
		cp->m->tpl[cp->m->ntpl++] = tp;
	}
	if (peek(cp)->k != TK_EOL)
		expected(cp, peek(cp), "end of line");
	push_block(cp, BK_TEMPLATE, tp->line, &tp->blk, NULL, tp);
}

/*
 * A statement in a header-only parse: only what the full parse would do
 * to the headers and to the nesting of blocks (a header inside a block is
 * an error), the same way parse_stmt would, without building anything.
 * parse_block and parse_template always open a block; parse_lookup opens
 * one unless it is a one-line `lookup NAME file ...` or misplaced.
 */
static void
parse_stmt_header(struct cp *cp)
{
	struct tok	*t = peek(cp);
	int		 h;

	if (cp->stk[cp->nstk - 1].kind == BK_LOOKUP) {
		if (isword(t, "end") && cp->ntok == 1)
			close_block(cp, t);
		return;
	}
	if (t->k != TK_WORD || cp->tok[1].k == TK_EQ)
		return;
	if (isword(t, "end"))
		close_block(cp, t);
	else if ((h = hdr_index(t)) >= 0) {
		next(cp);
		parse_header(cp, h, t);
	} else if (isword(t, "group") || isword(t, "within"))
		push_block(cp, BK_GROUP, cp->line, NULL, NULL, NULL);
	else if (isword(t, "template"))
		push_block(cp, BK_TEMPLATE, cp->line, NULL, NULL, NULL);
	else if (isword(t, "lookup")) {
		if (cp->tok[1].k != TK_WORD)
			push_block(cp, BK_LOOKUP, cp->line, NULL, NULL, NULL);
		else if (cp->nstk == 1 && !isword(&cp->tok[2], "file"))
			push_block(cp, BK_LOOKUP, cp->line, NULL, NULL, NULL);
	}
}

/*
 * Could the logical line matter to a header-only parse?  Only when it
 * starts with a header keyword, `end` or a word that opens a block (as a
 * prefix: the lexer has the last word on where a token ends); the rest
 * (rules, rows, checks: most lines) is not even tokenized.
 */
static int
header_line(const char *lb, size_t len)
{
	const char	*w;
	size_t		 i = 0, n;

	while (i < len && isspacec((unsigned char)lb[i]))
		i++;
	if (i == len)
		return 0;
	w = lb + i;
	n = len - i;
	/* By the first letter: one or three compares, not sixteen. */
#define P(s)	(n >= sizeof(s) - 1 && memcmp(w, s, sizeof(s) - 1) == 0)
	switch (w[0]) {
	case 'd':
		return P("direction");
	case 'e':
		return P("end") || P("event") || P("extends");
	case 'g':
		return P("group");
	case 'l':
		return P("lookup");
	case 'm':
		return P("map");
	case 'n':
		return P("namespace");
	case 'p':
		return P("partner");
	case 's':
		return P("source") || P("structure") || P("scope");
	case 't':
		return P("timezone") || P("template");
	case 'v':
		return P("version");
	case 'w':
		return P("within");
	}
#undef P
	return 0;
}

static void
parse_stmt(struct cp *cp)
{
	struct tok	*t = peek(cp);
	struct map_stmt	*s;
	int		 h;

	cp->edepth = 0;
	if (cp->stk[cp->nstk - 1].kind == BK_LOOKUP) {
		if (isword(t, "end") && cp->ntok == 1) {
			close_block(cp, t);
			return;
		}
		parse_row(cp);
		return;
	}
	if (t->k == TK_WORD && cp->tok[1].k != TK_EQ) {
		if (isword(t, "end")) {
			close_block(cp, t);
			return;
		}
		if ((h = hdr_index(t)) >= 0) {
			next(cp);
			parse_header(cp, h, t);
			return;
		}
		if (isword(t, "group") || isword(t, "within")) {
			next(cp);
			parse_block(cp, t);
			return;
		}
		if (isword(t, "template")) {
			next(cp);
			parse_template(cp, t);
			return;
		}
		if (isword(t, "lookup")) {
			next(cp);
			parse_lookup(cp, t);
			return;
		}
		if (isword(t, "check")) {
			next(cp);
			parse_check(cp, t);
			return;
		}
		if (isword(t, "apply") || isword(t, "drop")) {
			struct tok *u;

			next(cp);
			u = next(cp);
			if (u->k != TK_WORD) {
				expected(cp, u, isword(t, "apply") ?
				    "a template name" : "a field");
				return;
			}
			if (peek(cp)->k != TK_EOL) {
				expected(cp, peek(cp), "end of line");
				return;
			}
			if (isword(t, "apply")) {
				s = new_stmt(cp, MS_APPLY, t->col);
				s->u.apply.name = tokstr(cp, u);
				s->col = colof(cp, u->col);
			} else {
				s = new_stmt(cp, MS_DROP, t->col);
				if (!looks_field(u->p, u->len, 0) ||
				    u->p[0] == '.') {
					expected(cp, u, "a field");
					return;
				}
				if ((s->u.drop = parse_field(cp, u)) == NULL)
					return;
				if (cp->nstk > 1) {
					perr(cp, t->col, "`drop` belongs at the "
					    "top level");
					return;
				}
			}
			add_stmt(cp, s);
			return;
		}
	}
	parse_rule(cp);
}

/* ---- lines --------------------------------------------------------------- */

/* What next_line looks for in a line: out of quotes, and within. */
#define LS_OUTQ	1
#define LS_INQ	2
static const unsigned char linestop[256] = {
	['"'] = LS_OUTQ | LS_INQ, ['#'] = LS_OUTQ, ['\\'] = LS_INQ,
};

/*
 * Assemble the next logical line from text at *off: comments removed,
 * `\` continuations joined.  Returns 0 at the end of the text.
 */
static int
next_line(struct cp *cp, const char *text, size_t len, size_t *off,
    int *physline)
{
	size_t	 i = *off, s, e, c;
	int	 cont, first = 1;
	char	 q;

	if (i >= len)
		return 0;
	cp->lblen = 0;
	cp->nphys = 0;
	do {
		const char *nl;

		s = i;
		nl = memchr(text + i, '\n', len - i);
		i = nl != NULL ? (size_t)(nl - text) : len;
		e = i;
		if (i < len)
			i++;
		(*physline)++;
		if (first)
			cp->line = *physline;
		first = 0;
		if (e > s && text[e - 1] == '\r')
			e--;
		/* A comment: '#' at the start or after whitespace, outside
		 * quotes. */
		q = 0;
		for (c = s; c < e; c++) {
			/* Step over the bytes that cannot matter, by table. */
			if (q) {
				while (c < e && !(linestop[(unsigned char)
				    text[c]] & LS_INQ))
					c++;
				if (c == e)
					break;
				if (text[c] == '\\') {
					if (c + 1 < e)
						c++;
				} else
					q = 0;		/* '"' */
				continue;
			}
			while (c < e && !(linestop[(unsigned char)text[c]] &
			    LS_OUTQ))
				c++;
			if (c == e)
				break;
			if (text[c] == '"')
				q = '"';
			else if (c == s || isspacec((unsigned char)
			    text[c - 1]))
				break;			/* '#' */
		}
		e = c;
		while (e > s && isspacec((unsigned char)text[e - 1]))
			e--;
		cont = e > s && text[e - 1] == '\\' && i < len;
		if (cont)
			e--;
		if (cp->lblen + (e - s) + 1 > EG_MAX_MAP_LINE ||
		    cp->nphys >= MAX_PHYS) {
			report(cp->errors, cp->nerr, 0, cp->path,
			    LC(*physline, 1), "line longer than %u bytes",
			    EG_MAX_MAP_LINE);
			/* Skip the rest of this logical line. */
			while (cont && i < len) {
				while (i < len && text[i] != '\n')
					i++;
				if (i < len)
					i++;
				(*physline)++;
				cont = 0;
			}
			cp->lblen = 0;
			cp->nphys = 0;
			*off = i;
			return 1;
		}
		cp->phys[cp->nphys].off = cp->lblen;
		cp->phys[cp->nphys].line = *physline;
		cp->phys[cp->nphys].col0 = 1;
		cp->nphys++;
		memcpy(cp->lb + cp->lblen, text + s, e - s);
		cp->lblen += e - s;
		if (cont)
			cp->lb[cp->lblen++] = ' ';
	} while (cont);
	cp->lb[cp->lblen] = '\0';
	*off = i;
	return 1;
}

/*
 * A header-only parse steps over a physical line at the start of a
 * logical one when it neither matters (header_line) nor may go on into
 * the next line: without a `\` it cannot, whatever its comment holds.
 * Most lines of a map are skipped so, without being copied or scanned
 * for comments.
 */
static int
skip_line(const char *text, size_t len, size_t *off)
{
	const char	*s = text + *off, *e;
	size_t		 n;

	if (*off >= len)
		return 0;
	e = memchr(s, '\n', len - *off);
	n = e != NULL ? (size_t)(e - s) : len - *off;
	if (memchr(s, '\\', n) != NULL || header_line(s, n))
		return 0;
	*off += n + (e != NULL);
	return 1;
}

/* Column offsets: leading indentation counts for the first physical line. */
static struct map *
parse_text(struct cp *cp, const char *text, size_t len)
{
	size_t	 off = 0;
	int	 physline = 0, i;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	if (memchr(text, '\0', len) != NULL) {
		report(cp->errors, cp->nerr, 0, cp->path, LC(1, 1),
		    "NUL byte in map file");
		return cp->m;
	}
	cp->stk[0].kind = BK_ROOT;
	cp->stk[0].blk = &cp->m->root;
	cp->stk[0].line = 0;
	cp->nstk = 1;
	for (;;) {
		if (cp->opts->header_only && skip_line(text, len, &off)) {
			physline++;
			continue;
		}
		if (!next_line(cp, text, len, &off, &physline))
			break;
		if (cp->lblen == 0)
			continue;
		if (cp->opts->header_only && !header_line(cp->lb, cp->lblen))
			continue;
		cp->lineerr = 0;
		cp->pos = 0;
		cp->ntok = lex(cp, cp->lb, cp->lblen, 0, cp->tok, MAX_TOKS);
		if (cp->ntok <= 0)
			continue;
		if (cp->opts->header_only)
			parse_stmt_header(cp);
		else
			parse_stmt(cp);
	}
	for (i = cp->nstk - 1; i >= 1; i--) {
		static const char *const kname[] = { "", "group", "within",
		    "template", "lookup" };

		report(cp->errors, cp->nerr, 0, cp->path,
		    LC(cp->stk[i].line, 1), "%s opened at line %d never closed",
		    kname[cp->stk[i].kind], cp->stk[i].line);
	}
	return cp->m;
}

/* ---- files ---------------------------------------------------------------- */

/*
 * Every run reads all the maps' texts (their headers): open(2) and
 * read(2) straight into the arena, not stdio, and the text not zeroed
 * first, since it is read over.
 */
static int
read_text(const char *path, struct arena *a, char **textp, size_t *lenp,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*t;
	size_t		 n;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return EG_ERR_NOTFOUND;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "not a regular file");
		return EG_ERR_IO;
	}
	if ((unsigned long long)st.st_size > EG_MAX_MAP_SIZE) {
		close(fd);
		snprintf(err, errlen, "larger than %u bytes", EG_MAX_MAP_SIZE);
		return EG_ERR_LIMIT;
	}
	if ((t = arena_alloc_raw(a, (size_t)st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return EG_ERR_LIMIT;
	}
	if ((r = structure_read_all(fd, t, (size_t)st.st_size)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return EG_ERR_IO;
	}
	n = (size_t)r;
	close(fd);
	t[n] = '\0';
	*textp = t;
	*lenp = n;
	return 0;
}

/* The map name: the path relative to maps_root, else after "maps/". */
static char *
map_relname(const char *path, const char *maps_root)
{
	char	 rp[PATH_MAX], rr[PATH_MAX];
	size_t	 n;
	const char *p;

	if (maps_root != NULL && realpath(path, rp) != NULL &&
	    realpath(maps_root, rr) != NULL) {
		n = strlen(rr);
		if (strncmp(rp, rr, n) == 0 && rp[n] == '/')
			return xstrdup(rp + n + 1);
	}
	if (path[0] != '/' && strncmp(path, "../", 3) != 0) {
		p = path;
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (strncmp(p, "maps/", 5) == 0)
			return xstrdup(p + 5);
		return xstrdup(p);
	}
	if ((p = strstr(path, "/maps/")) != NULL)
		return xstrdup(p + 6);
	return xstrdup(path);
}

static void
dirname_of(const char *path, char *out, size_t outlen)
{
	const char *s = strrchr(path, '/');

	if (s == NULL)
		snprintf(out, outlen, ".");
	else if (s == path)
		snprintf(out, outlen, "/");
	else
		snprintf(out, outlen, "%.*s", (int)(s - path), path);
}

static void
load_parent(struct cp *cp, const char *rel, const struct tok *t)
{
	char	 path[EG_MAX_PATH], err[256];
	char	*text, *pathc, *name;
	size_t	 len;
	struct map *pm;

	if (cp->depth + 1 >= (int)EG_MAX_EXTENDS_DEPTH) {
		perr(cp, t->col, "`extends` chain longer than %u",
		    EG_MAX_EXTENDS_DEPTH);
		return;
	}
	if (cp->parent != NULL) {
		perr(cp, t->col, "duplicate `extends`");
		return;
	}
	resolve(cp, rel, path, sizeof(path));
	if (read_text(path, cp->a, &text, &len, err, sizeof(err)) != 0) {
		perr(cp, t->col, "cannot read %s: %s", path, err);
		return;
	}
	pathc = cp_strndup(cp, path, strlen(path));
	name = map_relname(path, cp->opts->maps_root);
	cp->extline = lineof(cp, t->col);
	cp->extcol = colof(cp, t->col);
	pm = cp_alloc(cp, sizeof(*pm));
	pm->dir = MAP_DIR_IN;
	pm->owner = cp->owner;
	pm = parse_file(pm, cp->opts, cp->errors, cp->nerr, pathc,
	    cp_strndup(cp, name, strlen(name)), text, len, cp->depth + 1);
	free(name);
	cp->parent = pm;
	/* The child reads paths the way its parent does. */
	if (!cp->m->has_source) {
		cp->m->xml = pm->xml;
		cp->m->syntax = pm->syntax;
	}
}

/* ---- extends: merging a child over its parent ------------------------------ */

static const char *
target_key(const struct map_stmt *s)
{
	if (s->kind == MS_RULE)
		return s->u.r.tgt.text;
	if (s->kind == MS_GROUP)
		return s->u.b.tgt.text;
	return NULL;
}

/* "a.b[]" and "/a.b" name the same field as "a.b". */
static int
key_eq(const char *a, const char *b)
{
	size_t	 na, nb;

	if (*a == '/')
		a++;
	if (*b == '/')
		b++;
	na = strlen(a);
	nb = strlen(b);
	if (na >= 2 && strcmp(a + na - 2, "[]") == 0)
		na -= 2;
	if (nb >= 2 && strcmp(b + nb - 2, "[]") == 0)
		nb -= 2;
	return na == nb && memcmp(a, b, na) == 0;
}

/* Is key under the dropped field (equal, or "field." prefix)? */
static int
key_under(const char *key, const struct map_field *f)
{
	int	 i;
	size_t	 n;

	if (*key == '/')
		key++;
	for (i = 0; i < f->nname; i++) {
		n = strlen(f->name[i]);
		if (strncmp(key, f->name[i], n) != 0)
			return 0;
		key += n;
		if (i < f->nname - 1) {
			if (*key != '.')
				return 0;
			key++;
		}
	}
	return *key == '\0' || *key == '.' || *key == '[';
}

static void
merge_parent(struct cp *cp, struct map *pm)
{
	struct map	*m = cp->m;
	struct map_block *rb = &m->root, nb;
	struct map_lookup *pl;
	int		 i, j, k, done;

	/* Headers: the child's win. */
	if (m->id == NULL)
		m->id = pm->id;
	if (!m->has_version) {
		m->version = pm->version;
		m->has_version = pm->has_version;
	}
	if (!m->has_source) {
		m->has_source = pm->has_source;
		m->syntax = pm->syntax;
		m->xml = pm->xml;
		m->doctype = pm->doctype;
		m->doctype2 = pm->doctype2;
		m->doctypes = pm->doctypes;
		m->ndoctypes = pm->ndoctypes;
		m->versions = pm->versions;
		m->nversions = pm->nversions;
	}
	if (m->structpath == NULL) {
		m->structpath = pm->structpath;
		m->structline = pm->structline;
		m->structsrc = pm->structsrc;
		m->structdir = pm->structdir;
	}
	if (m->event_type == NULL) {
		m->event_type = pm->event_type;
		m->event_version = pm->event_version;
	}
	if (!cp->seen_hdr[H_DIRECTION])
		m->dir = pm->dir;
	if (m->partner == NULL)
		m->partner = pm->partner;
	if (!m->has_timezone) {
		m->timezone = pm->timezone;
		m->has_timezone = pm->has_timezone;
	}
	if (m->scope == NULL) {
		m->scope = pm->scope;
		m->scopelc = pm->scopelc;
	}
	for (i = 0; i < pm->nns; i++) {
		for (j = 0; j < m->nns; j++)
			if (strcmp(m->ns[j].prefix, pm->ns[i].prefix) == 0)
				break;
		if (j == m->nns) {
			m->ns = cp_grow(cp, m->ns, m->nns, &m->capns,
			    sizeof(*m->ns));
			m->ns[m->nns++] = pm->ns[i];
		}
	}

	/* Lookups: a child table replaces the parent's; `add` extends it. */
	for (i = 0; i < m->nlookup; i++) {
		struct map_lookup *cl = m->lookup[i];

		if ((pl = find_lookup(pm, cl->name)) == NULL) {
			if (cl->add)
				report(cp->errors, cp->nerr, 0, cp->path,
				    LC(cl->line, cl->col), "lookup '%s' add: "
				    "the base map has no such table", cl->name);
			continue;
		}
		if (cl->add) {
			for (k = 0; k < (int)cl->nrow; k++)
				if (map_lookup_addrow(pl, cp->a, cl->row[k].left,
				    cl->row[k].right, cl->row[k].dir,
				    cl->row[k].bang, 1) != 0)
					report(cp->errors, cp->nerr, 0,
					    cp->path, LC(cl->line, cl->col),
					    "too many rows");
			if (cl->policy_set) {
				pl->policy = cl->policy;
				pl->defval = cl->defval;
				pl->msg = cl->msg;
			}
		}
		pl->replaced = cl->add ? NULL : cl;
	}
	{
		struct map_lookup **nl = NULL;
		int	 n = 0, cap = 0;

		for (i = 0; i < pm->nlookup; i++) {
			pl = pm->lookup[i];
			nl = cp_grow(cp, nl, n, &cap, sizeof(pl));
			nl[n++] = pl->replaced ? pl->replaced : pl;
		}
		for (i = 0; i < m->nlookup; i++) {
			if (find_lookup(pm, m->lookup[i]->name) != NULL)
				continue;
			nl = cp_grow(cp, nl, n, &cap, sizeof(pl));
			nl[n++] = m->lookup[i];
		}
		m->lookup = nl;
		m->nlookup = n;
		m->caplookup = cap;
	}

	/* Templates: the child's replace the parent's of the same name. */
	for (i = 0; i < pm->ntpl; i++) {
		if (find_template(m, pm->tpl[i]->name) != NULL)
			continue;
		m->tpl = cp_grow(cp, m->tpl, m->ntpl, &m->captpl,
		    sizeof(pm->tpl[i]));
		m->tpl[m->ntpl++] = pm->tpl[i];
	}

	/* Statements: same target replaces; drop removes a subtree. */
	memset(&nb, 0, sizeof(nb));
	for (i = 0; i < pm->root.nbody; i++) {
		nb.body = cp_grow(cp, nb.body, nb.nbody, &nb.capbody,
		    sizeof(struct map_stmt *));
		nb.body[nb.nbody++] = pm->root.body[i];
	}
	for (i = 0; i < rb->nbody; i++) {
		struct map_stmt *s = rb->body[i];
		const char *key = target_key(s);

		if (s->kind == MS_DROP) {
			done = 0;
			for (j = k = 0; j < nb.nbody; j++) {
				const char *pk = target_key(nb.body[j]);

				if (pk != NULL && key_under(pk, s->u.drop)) {
					done++;
					continue;
				}
				nb.body[k++] = nb.body[j];
			}
			nb.nbody = k;
			if (!done)
				report(cp->errors, cp->nerr, 1, s->path,
				    LC(s->line, s->col), "drop removes nothing "
				    "from the base map");
			continue;
		}
		done = 0;
		if (key != NULL)
			for (j = 0; j < nb.nbody; j++) {
				const char *pk = target_key(nb.body[j]);

				if (pk != NULL && key_eq(pk, key) &&
				    nb.body[j]->file != s->file) {
					nb.body[j] = s;
					done = 1;
					break;
				}
			}
		if (!done) {
			nb.body = cp_grow(cp, nb.body, nb.nbody, &nb.capbody,
			    sizeof(struct map_stmt *));
			nb.body[nb.nbody++] = s;
		}
	}
	m->root.body = nb.body;
	m->root.nbody = nb.nbody;
	m->root.capbody = nb.capbody;
}

static struct map *
parse_file(struct map *m, const struct map_compile_opts *opts,
    struct buf *errors, int *nerr, const char *path, const char *name,
    const char *text, size_t len, int depth)
{
	struct cp	*cp = xmalloc(sizeof(*cp));
	struct map	*owner = m->owner ? m->owner : m;

	memset(cp, 0, offsetof(struct cp, lb));
	cp->m = m;
	cp->owner = owner;
	cp->a = &owner->arena;
	cp->opts = opts;
	cp->errors = errors;
	cp->nerr = nerr;
	cp->path = path;
	cp->name = name;
	cp->depth = depth;
	dirname_of(path, cp->dir, sizeof(cp->dir));
	m->owner = owner;
	parse_text(cp, text, len);
	/*
	 * An override is selected by its partner and reported by its own id:
	 * inheriting either would let it shadow the base map for everyone.
	 */
	if (m->extends != NULL && !cp->seen_hdr[H_PARTNER])
		report(errors, nerr, 0, path, LC(cp->extline, cp->extcol),
		    "a map that extends another must name its partner");
	if (m->extends != NULL && !cp->seen_hdr[H_MAP])
		report(errors, nerr, 0, path, LC(cp->extline, cp->extcol),
		    "a map that extends another must have its own `map` id");
	if (cp->parent != NULL)
		merge_parent(cp, cp->parent);
	free(cp);
	return m;
}

/* ---- link: structure, lookups, templates, checks --------------------------- */

struct lk {
	struct map	*m;
	const struct structure *st;
	struct buf	*errors;
	int		*nerr;
	const struct map_compile_opts *opts;
	const char	*curpath;	/* file of the statement linked */
};

#define lerr(L, path, line, col, ...)					\
	report((L)->errors, (L)->nerr, 0, (path), LC((line), (col)), __VA_ARGS__)
#define lwarn(L, path, line, col, ...)					\
	report((L)->errors, (L)->nerr, 1, (path), LC((line), (col)), __VA_ARGS__)

/* ---- XPath (XML sources) ------------------------------------------------- */

struct xperr {
	char	 msg[160];
	int	 set;
};

static void
xp_error(void *arg, xmlErrorPtr e)
{
	struct xperr	*x = arg;
	size_t		 n;

	if (x->set || e == NULL)
		return;
	snprintf(x->msg, sizeof(x->msg), "%s", e->message ? e->message : "");
	n = strlen(x->msg);
	while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
	x->set = 1;
}

static const char *
ns_uri(const struct map *m, const char *prefix, size_t n)
{
	int	 i;

	for (i = 0; i < m->nns; i++)
		if (strlen(m->ns[i].prefix) == n &&
		    memcmp(m->ns[i].prefix, prefix, n) == 0)
			return m->ns[i].uri;
	return NULL;
}

static int
xname_char(int c)
{
	return isalnumc(c) || c == '-' || c == '_' || c == '.' || c >= 0x80;
}

/*
 * Every prefix an XPath uses must be bound by a `namespace` line (xml is
 * predefined): libxml2 would only notice when a document reaches that
 * step, and then every document of a partner would fail at run time.
 */
static int
xp_prefixes(struct lk *L, const char *path, int line, int col,
    const char *text)
{
	const char	*p, *b;
	char		 q = 0;

	for (p = text; *p != '\0'; p++) {
		if (q) {
			if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			q = *p;
			continue;
		}
		if (*p != ':' || p[1] == ':' || (p > text && p[-1] == ':'))
			continue;
		for (b = p; b > text && xname_char((unsigned char)b[-1]); b--)
			;
		if (b == p || isdigitc((unsigned char)*b) || *b == '-' ||
		    *b == '.')
			continue;
		if ((p - b == 3 && memcmp(b, "xml", 3) == 0) ||
		    ns_uri(L->m, b, (size_t)(p - b)) != NULL)
			continue;
		lerr(L, path, line, col, "undeclared namespace prefix '%.*s' "
		    "in '%s' (add `namespace %.*s \"URI\"`)", (int)(p - b), b,
		    text, (int)(p - b), b);
		return -1;
	}
	return 0;
}

/*
 * Compile one XPath of the plan, once, at load (libxml2 resolves the
 * prefixes per evaluation, against the context the evaluator registers
 * the map's namespaces in).  The plan keeps every compiled expression so
 * that map_free() releases them.
 */
static void *
xp_compile(struct lk *L, const char *path, int line, int col,
    const char *text)
{
	struct map	*m = L->m;
	struct xperr	 xe;
	xmlXPathCompExprPtr c;

	if (text == NULL || xp_prefixes(L, path, line, col, text) != 0)
		return NULL;
	if (m->nxpc >= MAP_MAX_XPATHS) {
		lerr(L, path, line, col, "more than %d XPaths in one map",
		    MAP_MAX_XPATHS);
		return NULL;
	}
	memset(&xe, 0, sizeof(xe));
	xmlSetStructuredErrorFunc(&xe, xp_error);
	c = xmlXPathCompile((const xmlChar *)text);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (c == NULL) {
		lerr(L, path, line, col, "bad XPath '%s'%s%s", text,
		    xe.set ? ": " : "", xe.msg);
		return NULL;
	}
	if (m->nxpc == m->capxpc) {
		m->capxpc = m->capxpc ? m->capxpc * 2 : 32;
		m->xpc = xreallocarray(m->xpc, (size_t)m->capxpc,
		    sizeof(*m->xpc));
	}
	m->xpc[m->nxpc++] = c;
	return c;
}

/*
 * The reversible XPath subset (MAPS.md §3.4): child steps, @attr,
 * text() and [@a='v'] / [Name='v'] predicates.
 */
static const char *
xp_irreversible(const char *text)
{
	const char	*p;
	char		 q = 0;

	for (p = text; *p != '\0'; p++) {
		if (q) {
			if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (p[0] == '.' && p[1] == '.')
			return "`..`";
		else if (p[0] == '/' && p[1] == '/')
			return "`//`";
		else if (p[0] == ':' && p[1] == ':')
			return "an axis";
		else if (*p == '|' || *p == '*')
			return "a wildcard or union";
		else if (*p == '(' && (p - text < 4 ||
		    memcmp(p - 4, "text", 4) != 0))
			return "a function";
	}
	return NULL;
}

/* Does the structure declare any element of tag? */
static int
seg_has_elems(const struct structure *st, const char *tag)
{
	const struct struct_segdef *sd;
	size_t	 i;

	/* The index holds each tag's run of elem[]: no scan of them all. */
	if (st->idx != NULL && strlen(tag) < sizeof(st->root.tag))
		return (sd = structure_segdef(st->idx,
		    structure_tagkey(tag))) != NULL && sd->nelem > 0;
	for (i = 0; i < st->nelem; i++)
		if (strcmp(st->elem[i].tag, tag) == 0)
			return 1;
	return 0;
}

static int
st_has_segment(const struct structure *st, const char *tag)
{
	return structure_has_segment(st, tag);
}

static void
check_elem(struct lk *L, const struct map_path *p, const char *tag, int el,
    int comp, int col)
{
	const struct struct_elem *e;

	if (L->st == NULL || !seg_has_elems(L->st, tag))
		return;
	if ((e = structure_elem(L->st, tag, el, 0)) == NULL) {
		lerr(L, p->file, p->line, col, "unknown element %s%02d in "
		    "structure %s", tag, el, L->m->structpath);
		return;
	}
	if (comp > 1 && e->type != ST_COMPOSITE) {
		lerr(L, p->file, p->line, col, "%s%02d is not a composite: "
		    "no component %02d", tag, el, comp);
		return;
	}
	if (comp > 0 && e->type == ST_COMPOSITE &&
	    structure_elem(L->st, tag, el, 1) != NULL &&
	    structure_elem(L->st, tag, el, comp) == NULL)
		lerr(L, p->file, p->line, col, "unknown component %s%02d-%02d "
		    "in structure %s", tag, el, comp, L->m->structpath);
}

static void
check_step(struct lk *L, const struct map_path *p, const struct map_step *s)
{
	int	 i;

	if (L->st == NULL)
		return;
	if (!st_has_segment(L->st, s->tag)) {
		lerr(L, p->file, p->line, p->col, "unknown segment %s in "
		    "structure %s", s->tag, L->m->structpath);
		return;
	}
	for (i = 0; i < s->f.natom; i++)
		check_elem(L, p, s->tag, s->f.atom[i].el, s->f.atom[i].comp,
		    p->col);
}

/*
 * Codes as integer keys (map_codekey), when every code of the list has
 * one; NULL otherwise, and the evaluator compares text.
 */
static uint64_t *
code_keys(struct lk *L, const struct slice *code, int n)
{
	uint64_t *k;
	int	 i;

	if (n <= 0)
		return NULL;
	for (i = 0; i < n; i++)
		if (code[i].len > MAP_CODEKEY_MAX)
			return NULL;
	if ((k = arena_allocarray(&L->m->arena, (size_t)n, sizeof(*k))) ==
	    NULL)
		return NULL;
	for (i = 0; i < n; i++)
		k[i] = map_codekey(code[i].p, code[i].len);
	return k;
}

static void
step_keys(struct lk *L, struct map_step *s)
{
	int	 i;

	for (i = 0; i < s->f.natom; i++)
		if (s->f.atom[i].ck == NULL)
			s->f.atom[i].ck = code_keys(L, s->f.atom[i].code,
			    s->f.atom[i].ncode);
	/* The filter frank() hands straight to filter_rank1 (map_eval.c). */
	s->f.one = s->f.natom == 1 && s->f.atom[0].ck != NULL &&
	    s->f.atom[0].el != 0;
}

/*
 * How plain_value reads p's candidates (map_int.h, enum map_scan), once
 * its codes have keys and its pair layout is known.
 */
static uint8_t
path_scan(const struct map_path *p)
{
	/* atom is NULL without a filter: no address taken then (UB) */
	const struct map_atom *a = p->seg.f.natom > 0 ? &p->seg.f.atom[0] :
	    NULL;

	if (p->segonly)
		return MAP_SCAN_NONE;
	if (p->npair > 0) {
		if (p->pk == NULL)
			return MAP_SCAN_MULTI;
		return p->pfrom > 0 && p->pvcomp > 0 ? MAP_SCAN_CPAIRS :
		    MAP_SCAN_PAIRS;
	}
	if (p->repatom < 0 || p->rep != 0)
		return MAP_SCAN_ONE;
	if (a != NULL && p->seg.f.natom == 1 && a->el == p->el &&
	    a->ck != NULL && !a->neg)
		return MAP_SCAN_REP;
	return MAP_SCAN_MULTI;
}

static void
link_path(struct lk *L, struct map_path *p)
{
	struct map_step	*s;
	const struct struct_pairs *pr;
	int		 i;

	/* Filter and pair codes as integers, for the evaluator. */
	if (p->anchor == MA_HIER)
		step_keys(L, &p->hstep);
	for (i = 0; i < p->nloop; i++)
		step_keys(L, &p->loop[i]);
	step_keys(L, &p->seg);
	if (p->pk == NULL)
		p->pk = code_keys(L, p->pair, p->npair);

	if (p->anchor == MA_HIER) {
		check_step(L, p, &p->hstep);
		if (L->st != NULL && structure_hier(L->st, p->hstep.tag) ==
		    NULL)
			lerr(L, p->file, p->line, p->col, "^%s: the structure "
			    "declares no hierarchy for %s", p->hstep.tag,
			    p->hstep.tag);
		p->hstep.hier = 1;
	}
	for (i = 0; i < p->nloop; i++) {
		s = &p->loop[i];
		check_step(L, p, s);
		if (L->st != NULL && structure_hier(L->st, s->tag) != NULL)
			s->hier = 1;
	}
	check_step(L, p, &p->seg);
	if (L->st != NULL && structure_hier(L->st, p->seg.tag) != NULL)
		p->seg.hier = 1;
	if (L->st != NULL && !p->segonly && p->npair == 0 &&
	    st_has_segment(L->st, p->seg.tag))
		check_elem(L, p, p->seg.tag, p->el, p->comp, p->col);
	if (p->npair) {
		pr = L->st != NULL ? structure_pairs(L->st, p->seg.tag) : NULL;
		if (pr != NULL) {
			p->pfrom = pr->from;
			p->pto = pr->to;
			p->pqfirst = pr->qualifier_first;
			p->pvcomp = pr->value_comp;
			p->pqcomp = pr->qualifier_comp;
		} else if (L->st != NULL)
			lwarn(L, p->file, p->line, p->col, "the structure "
			    "declares no `pairs` for %s: every element pair "
			    "is scanned", p->seg.tag);
	}
	p->scan = path_scan(p);
	p->selfloop = p->scan == MAP_SCAN_ONE && p->anchor == MA_REL &&
	    p->nloop == 1 && !p->loop[0].hier && !p->seg.hier &&
	    p->loop[0].key == p->seg.key && p->loop[0].f.natom == 0;
	/* Positions and components are below 128 (EG_MAX_ELEMENTS). */
	p->playout = 1u << 31 | (uint32_t)(p->pfrom & 0x7f) |
	    (uint32_t)(p->pto & 0x7f) << 7 | (uint32_t)(p->pvcomp & 0x7f) << 14 |
	    (uint32_t)(p->pqcomp & 0x7f) << 21 | (p->pqfirst ? 1u << 28 : 0);
	p->scomp = p->comp ? p->comp : 1;
	p->sacomp = p->seg.f.natom > 0 && p->seg.f.atom[0].comp ?
	    p->seg.f.atom[0].comp : 1;
}

static void link_expr(struct lk *, struct map_expr *);

/* The evaluator tests these bits for every field it reads (map_eval.c). */
static void
link_field(struct lk *L, struct map_field *f)
{
	uint64_t *bit;
	int	 i;

	if (f->nname == 0 ||
	    (bit = arena_allocarray(&L->m->arena, f->nname, sizeof(*bit))) ==
	    NULL)
		return;
	for (i = 0; i < f->nname; i++)
		bit[i] = mdoc_keybit(f->name[i]);
	f->bit = bit;
}

static void
link_cond(struct lk *L, struct map_cond *c)
{
	if (c == NULL)
		return;
	link_cond(L, c->l);
	link_cond(L, c->r);
	if (c->a)
		link_expr(L, c->a);
	if (c->b)
		link_expr(L, c->b);
	c->quick = 0;
	if (c->op == MC_CMP && c->a != NULL && c->a->kind == MT_FIELD &&
	    c->a->field != NULL && c->b != NULL && c->b->kind == MT_LIT) {
		struct slice u = c->b->lit;
		size_t	 i;

		/* map_uint_cmp's literal, its leading zeros dropped. */
		if (u.len == 0 || u.len > MAP_MAX_DEC_DIGITS + 2)
			return;
		for (i = 0; i < u.len; i++)
			if ((unsigned char)(u.p[i] - '0') > 9)
				return;
		while (u.len > 1 && u.p[0] == '0') {
			u.p++;
			u.len--;
		}
		c->ulit = u;
		c->quick = 1;
	}
}

static void
link_expr(struct lk *L, struct map_expr *e)
{
	int	 i;

	if (e == NULL)
		return;
	if (e->kind == MT_PATH && e->path != NULL)
		link_path(L, e->path);
	if (e->kind == MT_XPATH && e->xp == NULL)
		e->xp = xp_compile(L, L->curpath, e->line, e->col, e->lit.p);
	if (e->field != NULL && e->field->bit == NULL)
		link_field(L, e->field);
	for (i = 0; i < e->nsub; i++)
		link_expr(L, e->sub[i]);
}

static void
link_msg(struct lk *L, struct map_msg *m)
{
	int	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nparts; i++)
		if (m->part[i].kind == MM_EXPR)
			link_expr(L, m->part[i].e);
}

static struct map_template *
tpl_find(struct map *m, const char *name)
{
	return find_template(m, name);
}

/*
 * Inline `apply` statements (recursively) and link every statement of b.
 * Statements of templates are shared: each is linked once (linked flag).
 */
static void link_block(struct lk *, struct map_block *);

static void
expand_into(struct lk *L, struct map_block *b, struct map_block *out,
    int depth)
{
	struct map_template *tp;
	int	 i;

	for (i = 0; i < b->nbody; i++) {
		struct map_stmt *s = b->body[i];

		if (s->kind != MS_APPLY) {
			if (out->nbody >= out->capbody) {
				int nc = out->capbody ? out->capbody * 2 : 8;
				struct map_stmt **nb = arena_allocarray(
				    &L->m->arena, nc, sizeof(*nb));

				if (nb == NULL) {
					lerr(L, s->path, s->line, s->col,
					    "map too large");
					return;
				}
				if (out->nbody)
					memcpy(nb, out->body, out->nbody *
					    sizeof(*nb));
				out->body = nb;
				out->capbody = nc;
			}
			out->body[out->nbody++] = s;
			continue;
		}
		if ((tp = tpl_find(L->m, s->u.apply.name)) == NULL) {
			lerr(L, s->path, s->line, s->col, "unknown template "
			    "'%s'", s->u.apply.name);
			continue;
		}
		tp->used = 1;
		if (tp->expanding || depth > (int)EG_MAX_MAP_DEPTH) {
			lerr(L, s->path, s->line, s->col, "template '%s' "
			    "applies itself", s->u.apply.name);
			continue;
		}
		tp->expanding = 1;
		expand_into(L, &tp->blk, out, depth + 1);
		tp->expanding = 0;
	}
}

/*
 * A list rule run_list_rule reads in one pass (address.lines[] = N301,
 * N302): no transform, every item a path of the current instance to an
 * element (no loop step, pairs or filtered repetitions), all of one tag.
 */
static int
list_fast(const struct map_rule *r)
{
	const struct map_path *p;
	int	 i;

	if (!r->tgt.array || r->nxf != 0 || r->nexpr < 1 ||
	    r->nexpr > MAP_MAX_TERMS)
		return 0;
	for (i = 0; i < r->nexpr; i++) {
		if (r->expr[i]->kind != MT_PATH || (p = r->expr[i]->path) ==
		    NULL || p->anchor != MA_REL || p->nloop != 0 ||
		    p->segonly || p->npair != 0 || (p->repatom >= 0 &&
		    p->rep == 0) || p->seg.key != r->expr[0]->path->seg.key)
			return 0;
	}
	return 1;
}

/*
 * The element a list_fast rule reads every term of, as components of one
 * repetition (address.lines[] = NAD05-01, NAD05-02, NAD05-03, NAD05-04),
 * none filtered, no two the same: list_plain then reads the element's
 * values in one pass for all terms.  0 for any other rule.
 */
static unsigned
list_el(const struct map_rule *r)
{
	const struct map_path *p, *q;
	int	 i, k;

	if (!r->listfast || r->nexpr < 2)
		return 0;
	q = r->expr[0]->path;
	for (i = 0; i < r->nexpr; i++) {
		p = r->expr[i]->path;
		if (p->seg.f.natom != 0 || p->el == 0 || p->el != q->el ||
		    (p->rep ? p->rep : 1u) != (q->rep ? q->rep : 1u) ||
		    p->comp1 == 0)
			return 0;
		for (k = 0; k < i; k++)
			if (r->expr[k]->path->comp1 == p->comp1)
				return 0;
	}
	return q->el;
}

/*
 * A literal the document may keep as it is (mdoc_text_plain would leave
 * it and call it plain): ASCII without a byte JSON escapes.
 */
static int
lit_plain(struct slice s)
{
	size_t	 i;

	for (i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 ||
		    (unsigned char)s.p[i] >= 0x80 || s.p[i] == '"' ||
		    s.p[i] == '\\')
			return 0;
	return 1;
}

/*
 * A rule's `when` is exists(F) of a field F of the target's own object,
 * reached from the same frame object by the same names (id.schemeId when
 * exists(id.value)): when F exists, the objects the test passed through
 * are the target's, and the evaluator writes there without finding them
 * again (map_eval.c run_rule_sib).
 */
static int
when_sib(const struct map_rule *r)
{
	const struct map_cond *c = r->when;
	const struct map_field *f;
	int	 k;

	if (c == NULL || c->op != MC_EXISTS || c->a == NULL ||
	    c->a->kind != MT_FIELD || (f = c->a->field) == NULL)
		return 0;
	if (f->abs || f->up != 0 || r->tgt.rooted || r->tgt.array ||
	    f->nname < 2 || f->nname != r->tgt.nname ||
	    f->nname > MAP_MAX_TARGET_DEPTH)
		return 0;
	for (k = 0; k < f->nname - 1; k++)
		if (strcmp(f->name[k], r->tgt.name[k]) != 0)
			return 0;
	return 1;
}

/* What run_rule would otherwise work out each time (map_eval.c). */
static void
rule_hints(struct map_rule *r)
{
	const struct map_expr *e = r->nexpr > 0 ? r->expr[0] : NULL;
	int	 n = 0;

	r->plain = map_expr_plain(e);
	r->ppath = r->plain != NULL ? r->plain->path : NULL;
	r->xfn = r->nxf == 1 ? map_xform_text(r->xf) : NULL;
	while (e != NULL && e->kind == MT_OR && e->nsub > 0 && n++ < 64)
		e = e->sub[0];
	r->source = e != NULL ? e->text : NULL;
	/* What run_rule may take without its checks (see there). */
	r->fast = r->plain != NULL && r->source != NULL && r->when == NULL &&
	    !r->tgt.array;
	r->quiet = r->fast && r->plain == r->expr[0] && !r->hasdef &&
	    r->req == MQ_NONE;
	/* The shapes run_rule_gen takes the short way. */
	r->when_fast = r->plain != NULL && r->source != NULL &&
	    r->when != NULL && !r->tgt.array;
	r->whensib = r->when_fast && when_sib(r);
	r->lit = r->plain == NULL && r->nexpr == 1 && e == r->expr[0] &&
	    e->kind == MT_LIT && e->lit.len > 0 && r->nxf == 0 &&
	    !r->tgt.array;
	r->litplain = r->lit && lit_plain(e->lit);
	r->vcomp = r->plain != NULL ? map_path_vcomp(r->plain->path) : 0;
	r->listfast = list_fast(r);
	r->listel = list_el(r);
	r->listrep = r->listel != 0 && r->expr[0]->path->rep != 0 ?
	    r->expr[0]->path->rep : 1;
	r->or2 = NULL;
	if (r->fast && r->nexpr == 1 && r->expr[0]->kind == MT_OR &&
	    r->expr[0]->nsub >= 2 && r->plain == r->expr[0]->sub[0] &&
	    map_expr_plain(r->expr[0]->sub[1]) == r->expr[0]->sub[1])
		r->or2 = r->expr[0]->sub[1];
}

static void
link_stmt(struct lk *L, struct map_stmt *s)
{
	struct map_rule	*r;
	int		 i;

	if (s->linked)
		return;
	s->linked = 1;
	L->curpath = s->path;
	switch (s->kind) {
	case MS_RULE:
		r = &s->u.r;
		for (i = 0; i < r->nexpr; i++)
			link_expr(L, r->expr[i]);
		link_cond(L, r->when);
		link_expr(L, r->out);
		link_msg(L, r->reqmsg);
		for (i = 0; i < r->nxf; i++) {
			struct map_xform *x = &r->xf[i];

			if (x->kind != MX_LOOKUP)
				continue;
			if ((x->lk = find_lookup(L->m, x->lkname)) == NULL)
				lerr(L, s->path, x->line, x->col, "unknown "
				    "lookup '%s'", x->lkname);
			else {
				x->lk->used = 1;
				map_lookup_bind(x);
			}
		}
		for (i = 0; i < r->nxf; i++)
			if ((r->xf[i].kind == MX_DATE_CODE ||
			    r->xf[i].kind == MX_TIME_CODE) && L->st != NULL &&
			    r->nexpr == 1 && r->expr[0]->kind == MT_PATH) {
				struct map_path *p = r->expr[0]->path;

				check_elem(L, p, p->seg.tag, r->xf[i].codeel,
				    r->xf[i].codecomp, r->xf[i].col);
			}
		if (r->hasdef && r->req == MQ_ERROR)
			lwarn(L, s->path, s->line, s->col, "`required` never "
			    "fires on a rule with a `default`");
		rule_hints(r);
		break;
	case MS_CHECK:
		link_cond(L, s->u.c.cond);
		link_msg(L, s->u.c.msg);
		break;
	case MS_GROUP:
	case MS_WITHIN:
		if (s->u.b.sel != NULL)
			link_path(L, s->u.b.sel);
		if (s->u.b.xsel != NULL && s->u.b.xselc == NULL)
			s->u.b.xselc = xp_compile(L, s->path, s->line, s->col,
			    s->u.b.xsel);
		for (i = 0; i < s->u.b.nwhere; i++)
			link_expr(L, s->u.b.where[i].e);
		link_cond(L, s->u.b.when);
		link_msg(L, s->u.b.reqmsg);
		link_block(L, &s->u.b);
		break;
	default:
		break;
	}
}

/*
 * The tag a rule reads the way share_runs gathers: the fast shape
 * (rule_hints) reading a plain path of the frame's own scope, no loop
 * step.  0 for any other statement.
 */
static uint32_t
share_key(const struct map_stmt *s)
{
	const struct map_path *p;

	if (s->kind != MS_RULE || !s->u.r.fast || s->u.r.plain == NULL ||
	    (p = s->u.r.plain->path) == NULL || !map_path_plain(p) ||
	    p->nloop != 0 || p->seg.key == 0)
		return 0;
	return p->seg.key;
}

/*
 * The selector step of a group share_runs may gather with the groups
 * next to it: one step from the frame's own instance (group_idx's
 * shape) with a filter of one atom that frank() reads with
 * filter_rank1, not negated, and no `when`.  NULL for anything else.
 */
static const struct map_step *
gshare_step(const struct map_stmt *s)
{
	const struct map_block *b;
	const struct map_step *st;

	if (s->kind != MS_GROUP)
		return NULL;
	b = &s->u.b;
	if (b->sel == NULL || b->xsel != NULL || b->when != NULL ||
	    b->sel->anchor != MA_REL || b->sel->nloop != 0)
		return NULL;
	st = &b->sel->seg;
	if (st->hier || !st->f.one || st->f.atom[0].neg)
		return NULL;
	return st;
}

/* Whether two selector steps read the same qualifier of the same tag. */
static int
gshare_same(const struct map_step *a, const struct map_step *b)
{
	return a != NULL && b != NULL && a->key == b->key &&
	    a->f.atom[0].el == b->f.atom[0].el &&
	    (a->f.atom[0].comp ? a->f.atom[0].comp : 1) ==
	    (b->f.atom[0].comp ? b->f.atom[0].comp : 1);
}

/*
 * Whether body[j], in a run of rules reading tag key, is a rule under a
 * `when exists(F)` of a field F beside its target (when_sib) that the
 * rule before it writes: a literal (= "GTIN"), or a rule of the fast
 * shape but for the when reading the run's tag (N103 | lookup idScheme
 * when exists(id.value)).  run_share then tests the condition on what
 * that rule wrote.  Only where the block's selector has the tag, so that
 * the run would not be passed over (skip_wrap) anyway.
 */
static int
share_cond(const struct map_block *b, int j, uint32_t key)
{
	const struct map_rule *r, *pr;
	const struct map_field *f;
	const struct map_path *p;
	int	 k;

	if (b->sel == NULL || b->sel->seg.key != key ||
	    b->body[j]->kind != MS_RULE ||
	    share_key(b->body[j - 1]) != key)
		return 0;
	r = &b->body[j]->u.r;
	pr = &b->body[j - 1]->u.r;
	if (!(r->lit && when_sib(r)) && !(r->whensib &&
	    (p = r->plain->path) != NULL && map_path_plain(p) &&
	    p->nloop == 0 && p->seg.key == key))
		return 0;
	f = r->when->a->field;
	if (pr->tgt.rooted || pr->tgt.array || pr->tgt.nname != f->nname)
		return 0;
	for (k = 0; k < f->nname; k++)
		if (strcmp(pr->tgt.name[k], f->name[k]) != 0)
			return 0;
	return 1;
}

/* The length of the run of statements share_runs gathers from body[i]. */
static int
share_len(const struct map_block *b, int i)
{
	const struct map_step *st;
	uint32_t	 key;
	int		 j = i + 1;

	if ((key = share_key(b->body[i])) != 0)
		while (j < b->nbody && (share_key(b->body[j]) == key ||
		    share_cond(b, j, key)))
			j++;
	else if ((st = gshare_step(b->body[i])) != NULL)
		while (j < b->nbody && gshare_same(st,
		    gshare_step(b->body[j])))
			j++;
	return j - i;
}

/*
 * A literal rule under a when exists(F) of a field beside its target
 * (item.standardItemId.schemeId = "GTIN" when exists(item.standardItemId.
 * value)), which share_runs wraps in an MS_LITSIB statement.
 */
static int
lit_sib(const struct map_stmt *s)
{
	return s->kind == MS_RULE && s->u.r.lit && when_sib(&s->u.r);
}

/*
 * Whether two filters rank every segment alike (frank): the same atoms,
 * codes in the same order, the same ranking atom.
 */
static int
filter_same(const struct map_filter *a, const struct map_filter *b)
{
	const struct map_atom *x, *y;
	int	 i, k;

	if (a->natom != b->natom || a->rank != b->rank || a->one != b->one)
		return 0;
	for (i = 0; i < a->natom; i++) {
		x = &a->atom[i];
		y = &b->atom[i];
		if (x->el != y->el || (x->comp ? x->comp : 1) !=
		    (y->comp ? y->comp : 1) || x->neg != y->neg ||
		    x->ncode != y->ncode || (x->ck == NULL) != (y->ck == NULL))
			return 0;
		for (k = 0; k < x->ncode; k++)
			if (x->code[k].len != y->code[k].len ||
			    memcmp(x->code[k].p, y->code[k].p,
			    x->code[k].len) != 0)
				return 0;
	}
	return 1;
}

/*
 * What run_share reads of each rule of an MS_SHARE run (map_sop), one
 * after the other, and the tag they read.  Left NULL when out of memory:
 * run_share then runs each rule alone.
 */
static void
share_ops(struct lk *L, struct map_stmt *sh)
{
	struct map_sop	*op;
	const struct map_rule *r;
	const struct map_path *p;
	const struct map_target *t;
	struct edi_val	 v;
	int		 i, n = sh->u.b.nbody;

	p = sh->u.b.body[0]->u.r.ppath;
	sh->u.b.sharekey = p->seg.key;
	sh->u.b.sharetid = p->seg.tid;
	if ((op = arena_allocarray(&L->m->arena, (size_t)n,
	    sizeof(*op))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		r = &sh->u.b.body[i]->u.r;
		t = &r->tgt;
		op[i].s = sh->u.b.body[i];
		op[i].name0 = t->name[0];
		op[i].bit0 = t->bit[0];
		op[i].namel = t->name[t->nname - 1];
		op[i].bitl = t->bit[t->nname - 1];
		op[i].tshape = t->rooted ? 0 : t->nname == 1 ? 1 :
		    t->nname == 2 ? 2 : 0;
		if (r->when != NULL) {
			/* share_cond's: after a rule of the run. */
			op[i].cond = r->lit ? SOP_LIT : SOP_PATH;
			op[i].how = SOP_COND;
			op[i - 1].then = 1;
		}
		if (r->lit) {
			op[i].plain = r->expr[0];
			op[i].text = r->litplain;
			continue;
		}
		p = r->ppath;
		op[i].p = p;
		op[i].plain = r->plain;
		memset(&v, 0, sizeof(v));
		v.el = p->el;
		v.rep = p->rep ? p->rep : 1;
		v.comp = p->comp1;
		memcpy(&op[i].elrc, (const char *)&v + offsetof(struct edi_val,
		    el), 3 * sizeof(uint16_t));
		op[i].el = p->el;
		if (op[i].cond)
			;
		else if (p->scan == MAP_SCAN_ONE)
			op[i].how = p->seg.f.natom == 0 ? SOP_ONE : SOP_ONEF;
		else if (p->scan == MAP_SCAN_PAIRS)
			op[i].how = p->seg.f.natom == 0 ? SOP_PAIRS :
			    SOP_PAIRSF;
		else
			op[i].how = SOP_OTHER;
		op[i].fsame = i > 0 && (op[i].how == SOP_ONEF ||
		    op[i].how == SOP_PAIRSF) && (op[i - 1].how == SOP_ONEF ||
		    op[i - 1].how == SOP_PAIRSF) &&
		    filter_same(&op[i - 1].p->seg.f, &p->seg.f);
		op[i].text = r->nxf == 0;
		op[i].quiet = r->quiet;
		op[i].xf1 = r->nxf == 1;
		op[i].vcomp = (uint16_t)r->vcomp;
		op[i].xf = r->xf;
		op[i].xfn = r->xfn;
	}
	sh->u.b.sop = op;
}

/*
 * Whether run_block does anything with statement s of a body: checks
 * are run from body after the rules, and a body holds nothing else that
 * it passes over (templates are expanded).
 */
static int
runs_stmt(const struct map_stmt *s)
{
	return s->kind == MS_RULE || s->kind == MS_GROUP ||
	    s->kind == MS_WITHIN;
}

/*
 * The statements of b as the evaluator runs them (rbody): each run of
 * two or more rules in a row that read one tag of the frame's scope
 * (PO102 PO103 PO104 PO105 PO1{VN|VP|VC}, QTY01-02 QTY01-03) becomes one
 * MS_SHARE statement over them.  The evaluator finds their segment once
 * and has each rule read its value there, as it would have alone.  Each
 * run of groups in a row that select instances of one tag by the same
 * qualifier element (gshare_step) becomes one MS_GSHARE: the evaluator
 * reads each instance's qualifier once and ranks it for every group.
 * A literal rule of lit_sib's shape becomes one MS_LITSIB over it: the
 * evaluator writes it into the object its test reached (run_lit_sib).
 * The runs are made for each block: a template's statements, put in
 * several blocks, join a run in each of them as they stand there.
 * Statements run_block passes over (checks) are left out.
 */
static void
share_runs(struct lk *L, struct map_block *b)
{
	struct map_stmt	**rb, *sh;
	int		 i, j, n, nrun = 0;

	b->rbody = b->body;
	b->nrbody = b->nbody;
	for (i = 0; i < b->nbody; i = j) {
		j = i + share_len(b, i);
		if (j - i >= 2 || lit_sib(b->body[i]) ||
		    !runs_stmt(b->body[i]))
			nrun++;
	}
	if (nrun == 0)
		return;
	if ((rb = arena_allocarray(&L->m->arena, (size_t)b->nbody,
	    sizeof(*rb))) == NULL)
		return;
	for (i = 0, n = 0; i < b->nbody; i = j) {
		j = i + share_len(b, i);
		if ((j - i >= 2 || lit_sib(b->body[i])) &&
		    (sh = arena_alloc(&L->m->arena, sizeof(*sh))) != NULL) {
			sh->kind = j - i == 1 ? MS_LITSIB :
			    b->body[i]->kind == MS_GROUP ? MS_GSHARE :
			    MS_SHARE;
			sh->file = b->body[i]->file;
			sh->path = b->body[i]->path;
			sh->line = b->body[i]->line;
			sh->col = b->body[i]->col;
			sh->linked = 1;
			sh->u.b.body = &b->body[i];
			sh->u.b.nbody = j - i;
			if (sh->kind == MS_SHARE)
				share_ops(L, sh);
			rb[n++] = sh;
			continue;
		}
		for (; i < j; i++)
			if (runs_stmt(b->body[i]))
				rb[n++] = b->body[i];
	}
	b->rbody = rb;
	b->nrbody = n;
}

/*
 * The tag whose absence from the frame's loop instance leaves statement s
 * (of an rbody) with nothing to do, as its number (map_step.tid) + 1: a
 * quiet rule of the fast shape (run_rule_plain finds no segment of its
 * path's first step: no value, and nothing to say), a run of them
 * (MS_SHARE), and a group, or a run of groups (MS_GSHARE), without a
 * `when` or a requirement whose selector's first step is of the frame's
 * instance (sel_none: no instance, nothing to say).  0 for any other
 * statement.
 */
static uint32_t
skip_tid(const struct map_stmt *s)
{
	const struct map_path *p;
	const struct map_block *b;
	const struct map_step *st;
	uint32_t	 t = 0, k;
	int		 i;

	switch (s->kind) {
	case MS_RULE:
		if (!s->u.r.fast || !s->u.r.quiet || s->u.r.plain == NULL ||
		    (p = s->u.r.plain->path) == NULL || !map_path_plain(p))
			return 0;
		st = p->nloop != 0 ? &p->loop[0] : &p->seg;
		return st->key != 0 ? (uint32_t)st->tid + 1 : 0;
	case MS_GROUP:
	case MS_WITHIN:
		b = &s->u.b;
		if (b->sel == NULL || b->xsel != NULL || b->when != NULL ||
		    b->req != MQ_NONE || b->sel->anchor != MA_REL)
			return 0;
		st = b->sel->nloop > 0 ? &b->sel->loop[0] : &b->sel->seg;
		return !st->hier && st->key != 0 ? (uint32_t)st->tid + 1 : 0;
	case MS_SHARE:
	case MS_GSHARE:
		/* One tag for all (share_len). */
		for (i = 0; i < s->u.b.nbody; i++) {
			if ((k = skip_tid(s->u.b.body[i])) == 0 ||
			    (t != 0 && k != t))
				return 0;
			t = k;
		}
		return t;
	default:
		return 0;
	}
}

/*
 * Each statement of b's rbody that skip_tid gives a tag wrapped in an
 * MS_SKIP statement, so that the evaluator passes it over with one test
 * when the tag is not in the frame's instance: a line's DTM, SAC and N9
 * when it has none, the header's ITD and TD5.  A group's instance always
 * has its selector's segment: a statement that reads it (PO1's rules in
 * `group lines[] from PO1`) is left as it is.
 */
static void
skip_wrap(struct lk *L, struct map_block *b)
{
	struct map_stmt	**rb, *w, **one;
	uint32_t	 t, trig = 0;
	int		 i, n = 0;

	if (b->sel != NULL && b->sel->seg.key != 0)
		trig = (uint32_t)b->sel->seg.tid + 1;
	for (i = 0; i < b->nrbody; i++)
		if ((t = skip_tid(b->rbody[i])) != 0 && t != trig)
			n++;
	if (n == 0 || (rb = arena_allocarray(&L->m->arena,
	    (size_t)b->nrbody, sizeof(*rb))) == NULL)
		return;
	for (i = 0; i < b->nrbody; i++) {
		rb[i] = b->rbody[i];
		if ((t = skip_tid(b->rbody[i])) == 0 || t == trig ||
		    (w = arena_alloc(&L->m->arena, sizeof(*w))) == NULL ||
		    (one = arena_alloc(&L->m->arena, sizeof(*one))) == NULL)
			continue;
		memset(w, 0, sizeof(*w));
		w->kind = MS_SKIP;
		w->file = rb[i]->file;
		w->path = rb[i]->path;
		w->line = rb[i]->line;
		w->col = rb[i]->col;
		w->linked = 1;
		*one = rb[i];
		w->u.b.body = one;
		w->u.b.nbody = 1;
		w->u.b.skiptid = t - 1;
		rb[i] = w;
	}
	b->rbody = rb;
}

/*
 * b's rbody as run_block reads it (map_rstmt): the kind of each statement
 * beside it, so that passing over an MS_SKIP reads no statement, and the
 * statement an MS_SKIP wraps in its place.
 */
static void
run_table(struct lk *L, struct map_block *b)
{
	struct map_rstmt *rs;
	const struct map_stmt *s;
	int	 i;

	if ((rs = arena_allocarray(&L->m->arena, (size_t)b->nrbody + 1,
	    sizeof(*rs))) == NULL)
		return;
	for (i = 0; i < b->nrbody; i++) {
		s = b->rbody[i];
		if (s->kind == MS_SKIP) {
			rs[i].skip = 1;
			rs[i].skiptid = s->u.b.skiptid;
			s = s->u.b.body[0];
		}
		rs[i].kind = (uint8_t)s->kind;
		rs[i].s = s;
	}
	b->rs = rs;
}

static void
link_block(struct lk *L, struct map_block *b)
{
	struct map_block out;
	int	 i;

	if (!b->expanded) {
		memset(&out, 0, sizeof(out));
		expand_into(L, b, &out, 0);
		b->body = out.body;
		b->nbody = out.nbody;
		b->capbody = out.capbody;
		b->expanded = 1;
	}
	b->nchecks = 0;
	b->check0 = 0;
	b->rootw = 0;
	for (i = 0; i < b->nbody; i++) {
		const struct map_stmt *s = b->body[i];

		link_stmt(L, b->body[i]);
		if (s->kind == MS_CHECK && b->nchecks++ == 0)
			b->check0 = i;
		if ((s->kind == MS_RULE && s->u.r.tgt.rooted) ||
		    ((s->kind == MS_GROUP || s->kind == MS_WITHIN) &&
		    (s->u.b.tgt.rooted || s->u.b.rootw)))
			b->rootw = 1;
	}
	share_runs(L, b);
	skip_wrap(L, b);
	run_table(L, b);
}

/* ---- target checks ---------------------------------------------------------- */

enum { TN_SCALAR = 1, TN_OBJECT, TN_ARRAY };

struct tnode {
	const char	*name;
	int		 kind;
	const char	*file;
	int		 line, col;
	struct tnode	*kid, *next;
	struct tnode	*elem;		/* TN_ARRAY: the element object */
};

static struct tnode *
tn_child(struct lk *L, struct tnode *n, const char *name)
{
	struct tnode *k;

	for (k = n->kid; k != NULL; k = k->next)
		if (strcmp(k->name, name) == 0)
			return k;
	if ((k = arena_alloc(&L->m->arena, sizeof(*k))) == NULL)
		return NULL;
	k->name = name;
	k->next = n->kid;
	n->kid = k;
	return k;
}

static const char *const kindname[] = { "", "a value", "an object",
    "an array" };

/* Mark a target; returns the node it names (array: its element). */
static struct tnode *
tn_mark(struct lk *L, struct tnode *base, const char **name, int nname,
    int lastkind, const struct map_stmt *s, const char *text)
{
	struct tnode *n = base, *k;
	int	 i, want;

	for (i = 0; i < nname && n != NULL; i++) {
		want = i == nname - 1 ? lastkind : TN_OBJECT;
		if ((k = tn_child(L, n, name[i])) == NULL)
			return NULL;
		if (k->kind == 0) {
			k->kind = want;
			k->file = s->file;
			k->line = s->line;
			k->col = s->col;
		} else if (k->kind != want) {
			lerr(L, s->path, s->line, s->col, "target '%s' uses "
			    "'%s' as %s, but %s:%d uses it as %s", text,
			    name[i], kindname[want], k->file, k->line,
			    kindname[k->kind]);
			return NULL;
		}
		if (k->kind == TN_ARRAY) {
			if (k->elem == NULL) {
				k->elem = arena_alloc(&L->m->arena,
				    sizeof(*k->elem));
				if (k->elem == NULL)
					return NULL;
				k->elem->kind = TN_OBJECT;
			}
			if (i < nname - 1) {
				lerr(L, s->path, s->line, s->col, "target '%s' "
				    "goes through the array '%s'", text,
				    name[i]);
				return NULL;
			}
			return k->elem;
		}
		n = k;
	}
	return n;
}

struct wrote {
	const char	*key;
	size_t		 len;
	const struct map_stmt *s;
};

#define KEYMAX	511	/* a duplicate-write key's length */

static void
check_targets(struct lk *L, struct map_block *b, struct tnode *root,
    struct tnode *cur, int depth)
{
	struct wrote	*w;
	int		 nw = 0, i, j;
	const char	*key;
	size_t		 len, keylen;
	struct tnode	*base, *en;

	if (depth > (int)EG_MAX_MAP_DEPTH + 2)
		return;
	w = xcalloc((size_t)b->nbody + (size_t)b->nwhere + 1, sizeof(*w));
	for (i = 0; i < b->nbody; i++) {
		struct map_stmt *s = b->body[i];
		const struct map_target *t;

		if (s->kind == MS_RULE) {
			t = &s->u.r.tgt;
			base = t->rooted ? root : cur;
			if (base == NULL)
				continue;
			tn_mark(L, base, t->name, t->nname, t->array ?
			    TN_ARRAY : TN_SCALAR, s, t->text);
			if (t->array)
				continue;
			/*
			 * Two rules writing one scalar in one block.  The
			 * key compared is the target cut to 511 bytes, as
			 * it always was, without copying it.
			 */
			key = t->text[0] == '/' ? t->text + 1 : t->text;
			len = strlen(key);
			keylen = len > KEYMAX ? KEYMAX : len;
			for (j = 0; j < nw; j++)
				if (w[j].len == keylen && memcmp(w[j].key, key,
				    keylen) == 0)
					break;
			if (j < nw)
				lerr(L, s->path, s->line, s->col, "'%.*s' is "
				    "already written by the rule at %s:%d; mark "
				    "one of them or merge them with `or`",
				    (int)keylen, key, w[j].s->file,
				    w[j].s->line);
			else {
				w[nw].key = key;
				w[nw].len = len;
				w[nw++].s = s;
			}
		} else if (s->kind == MS_GROUP) {
			t = &s->u.b.tgt;
			base = t->rooted ? root : cur;
			if (base == NULL)
				continue;
			en = tn_mark(L, base, t->name, t->nname, t->array ?
			    TN_ARRAY : TN_OBJECT, s, t->text);
			if (en == NULL)
				continue;
			for (j = 0; j < s->u.b.nwhere; j++)
				tn_mark(L, en, s->u.b.where[j].name,
				    s->u.b.where[j].f->nname, TN_SCALAR, s,
				    t->text);
			check_targets(L, &s->u.b, root, en, depth + 1);
		} else if (s->kind == MS_WITHIN)
			check_targets(L, &s->u.b, root, cur, depth + 1);
	}
	free(w);
}

/* Direction both: rules the reverse cannot run. */
static int
has_call(const struct map_expr *e)
{
	int	 i;

	if (e == NULL)
		return 0;
	if (e->kind == MT_JOIN || e->kind == MT_SUM || e->kind == MT_COUNT)
		return 1;
	for (i = 0; i < e->nsub; i++)
		if (has_call(e->sub[i]))
			return 1;
	return 0;
}

static int
xp_check_reversible(struct lk *L, const struct map_stmt *s,
    const struct map_expr *e, int depth)
{
	const char	*why;
	int		 i;

	if (e == NULL || depth > (int)EG_MAX_EXPR_DEPTH)
		return 0;
	if (e->kind == MT_XPATH && e->lit.p != NULL &&
	    (why = xp_irreversible(e->lit.p)) != NULL) {
		lerr(L, s->path, e->line, e->col, "'%s' cannot be reversed "
		    "(XPath '%s' uses %s): mark it `oneway`", s->u.r.tgt.text,
		    e->lit.p, why);
		return -1;
	}
	for (i = 0; i < e->nsub; i++)
		if (xp_check_reversible(L, s, e->sub[i], depth + 1) != 0)
			return -1;
	return 0;
}

static void
check_reversible(struct lk *L, struct map_block *b, int depth)
{
	int	 i, j;

	if (depth > (int)EG_MAX_MAP_DEPTH + 2)
		return;
	for (i = 0; i < b->nbody; i++) {
		struct map_stmt *s = b->body[i];

		if (s->kind == MS_GROUP || s->kind == MS_WITHIN) {
			check_reversible(L, &s->u.b, depth + 1);
			continue;
		}
		if (s->kind != MS_RULE || s->u.r.oneway || s->u.r.out)
			continue;
		for (j = 0; j < s->u.r.nexpr; j++)
			if (xp_check_reversible(L, s, s->u.r.expr[j], 0) != 0)
				break;
		for (j = 0; j < s->u.r.nexpr; j++)
			if (has_call(s->u.r.expr[j])) {
				lerr(L, s->path, s->line, s->col, "'%s' cannot "
				    "be reversed (join/sum/count on the right "
				    "side): mark it `oneway` or give it an "
				    "`out` expression", s->u.r.tgt.text);
				break;
			}
	}
}

/* ---- lint: paths that can never match ---------------------------------- */

/* What a block's document scope is, per the structure. */
struct lscope {
	const struct struct_loop *loop;	/* a loop instance, or */
	char		 seg[4];	/* one segment (group from a segment) */
	const struct lscope *up;
	const char	*name;		/* for messages */
};

static const struct struct_entry *
lsc_entry(const struct lscope *sc, const char *tag)
{
	size_t	 i;

	if (sc->loop == NULL)
		return NULL;
	for (i = 0; i < sc->loop->nent; i++)
		if (strcmp(sc->loop->ent[i].tag, tag) == 0)
			return &sc->loop->ent[i];
	return NULL;
}

/* snprintf(seg, 4, "%s", tag) without the formatting machinery. */
static void
seg_copy(char seg[4], const char *tag)
{
	size_t	 i;

	for (i = 0; i < 3 && tag[i] != '\0'; i++)
		seg[i] = tag[i];
	seg[i] = '\0';
}

/* The scope a step into tag leads to; 0 when tag is never in sc. */
static int
lsc_step(const struct lscope *sc, const char *tag, struct lscope *out)
{
	const struct struct_entry *e;

	memset(out, 0, sizeof(*out));
	out->up = sc;
	out->name = tag;
	if (sc->seg[0] != '\0') {
		if (strcmp(sc->seg, tag) != 0)
			return 0;
		seg_copy(out->seg, tag);
		return 1;
	}
	if ((e = lsc_entry(sc, tag)) == NULL)
		return 0;
	if (e->is_loop && e->loop != NULL)
		out->loop = e->loop;
	else
		seg_copy(out->seg, tag);
	return 1;
}

static void
lint_warn(struct lk *L, const struct map_path *p, const struct lscope *sc,
    const char *tag)
{
	lwarn(L, p->file, p->line, p->col, "%s is never in scope here (the "
	    "structure does not place it in %s%s): '%s' can never match",
	    tag, sc->seg[0] ? "the segment " : sc->loop && sc->loop->tag[0] ?
	    "the loop " : "the top level", sc->seg[0] ? sc->seg :
	    sc->loop && sc->loop->tag[0] ? sc->loop->tag : "", p->text);
}

/* Returns 1 and the final scope when p's steps are all reachable. */
static int
lint_path(struct lk *L, const struct map_path *p, const struct lscope *sc,
    const struct lscope *root, struct lscope *steps, int selector)
{
	const struct lscope *cur = sc;
	int	 i;

	switch (p->anchor) {
	case MA_ABS:
		cur = root;
		break;
	case MA_UP:
		for (i = 0; i < p->up && cur->up != NULL; i++)
			cur = cur->up;
		break;
	case MA_HIER:
		return 0;	/* any level of the hierarchy */
	default:
		break;
	}
	for (i = 0; i < p->nloop; i++) {
		if (!lsc_step(cur, p->loop[i].tag, &steps[i])) {
			lint_warn(L, p, cur, p->loop[i].tag);
			return 0;
		}
		cur = &steps[i];
	}
	if (p->seg.hier && selector)
		return lsc_step(root, p->seg.tag, &steps[i]) ||
		    (cur->loop != NULL && lsc_step(cur, p->seg.tag, &steps[i]));
	if (!lsc_step(cur, p->seg.tag, &steps[i])) {
		lint_warn(L, p, cur, p->seg.tag);
		return 0;
	}
	return 1;
}

static void
lint_expr(struct lk *L, const struct map_expr *e, const struct lscope *sc,
    const struct lscope *root)
{
	struct lscope	 steps[MAP_MAX_STEPS + 2];
	int		 i;

	if (e == NULL)
		return;
	if ((e->kind == MT_PATH || e->kind == MT_COUNT || e->kind == MT_SUM) &&
	    e->path != NULL)
		lint_path(L, e->path, sc, root, steps, 0);
	if (e->kind == MT_COUNT || e->kind == MT_SUM)
		return;
	for (i = 0; i < e->nsub; i++)
		lint_expr(L, e->sub[i], sc, root);
}

static void
lint_cond(struct lk *L, const struct map_cond *c, const struct lscope *sc,
    const struct lscope *root, int depth)
{
	if (c == NULL || depth > (int)EG_MAX_EXPR_DEPTH * 2)
		return;
	lint_cond(L, c->l, sc, root, depth + 1);
	lint_cond(L, c->r, sc, root, depth + 1);
	lint_expr(L, c->a, sc, root);
	lint_expr(L, c->b, sc, root);
}

static void
lint_block(struct lk *L, const struct map_block *b, const struct lscope *sc,
    const struct lscope *root, int depth)
{
	struct lscope	 steps[MAP_MAX_STEPS + 2];
	int		 i, k;

	if (depth > (int)EG_MAX_MAP_DEPTH + 2)
		return;
	for (i = 0; i < b->nbody; i++) {
		struct map_stmt *s = b->body[i];

		switch (s->kind) {
		case MS_RULE:
			if (s->linted)
				break;
			s->linted = 1;
			for (k = 0; k < s->u.r.nexpr; k++)
				lint_expr(L, s->u.r.expr[k], sc, root);
			lint_cond(L, s->u.r.when, sc, root, 0);
			break;
		case MS_CHECK:
			if (!s->linted)
				lint_cond(L, s->u.c.cond, sc, root, 0);
			s->linted = 1;
			break;
		case MS_GROUP:
		case MS_WITHIN:
			if (s->u.b.sel == NULL)
				break;
			lint_cond(L, s->u.b.when, sc, root, 0);
			if (!lint_path(L, s->u.b.sel, sc, root, steps, 1))
				break;
			steps[s->u.b.sel->nloop].up = sc;
			lint_block(L, &s->u.b, &steps[s->u.b.sel->nloop], root,
			    depth + 1);
			break;
		default:
			break;
		}
	}
}

/* ---- direction both --------------------------------------------------------- */

/*
 * A write key under construction.  It behaves as the struct buf capped at
 * max that it replaces (each piece is added whole, or not at all when it
 * would pass the cap), without a printf per piece: every two-way rule
 * gets a key.
 */
struct wkey {
	char	*p;
	size_t	 len, max;
};

static int
wk_fits(const struct wkey *k, size_t n)
{
	return n <= k->max && k->len <= k->max - n;
}

static void
wk_put(struct wkey *k, const char *s, size_t n)
{
	memcpy(k->p + k->len, s, n);
	k->len += n;
	k->p[k->len] = '\0';
}

static void
wk_add(struct wkey *k, const char *s, size_t n)
{
	if (wk_fits(k, n))
		wk_put(k, s, n);
}

/* v in decimal into b (at least 3 bytes: v is a uint8_t); its length. */
static size_t
wk_num(char *b, unsigned v)
{
	char	 t[12];
	size_t	 n = 0, i;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		b[i] = t[n - 1 - i];
	return n;
}

/* "[EL-COMP=CODE]" or "[EL-COMP!=CODE]", one piece. */
static void
wk_atom(struct wkey *k, const struct map_atom *a)
{
	char	 el[12], comp[12];
	size_t	 nel = wk_num(el, a->el), ncomp = wk_num(comp, a->comp);
	size_t	 nop = a->neg ? 2 : 1, ncode = a->code[0].len;

	if (!wk_fits(k, 1 + nel + 1 + ncomp + nop + ncode + 1))
		return;
	wk_put(k, "[", 1);
	wk_put(k, el, nel);
	wk_put(k, "-", 1);
	wk_put(k, comp, ncomp);
	wk_put(k, a->neg ? "!=" : "=", nop);
	wk_put(k, a->code[0].p, ncode);
	wk_put(k, "]", 1);
}

/* ".EL-COMP#REP", one piece. */
static void
wk_tail(struct wkey *k, const struct map_path *p)
{
	char	 b[40];
	size_t	 n = 0;

	b[n++] = '.';
	n += wk_num(b + n, p->el);
	b[n++] = '-';
	n += wk_num(b + n, p->comp ? p->comp : 1);
	b[n++] = '#';
	n += wk_num(b + n, p->rep ? p->rep : 1);
	wk_add(k, b, n);
}

/* The document element a rule writes outbound (its first term). */
static int
write_key(const struct map_rule *r, char *key, size_t keylen)
{
	const struct map_expr *e = r->expr[0];
	const struct map_path *p;
	struct wkey	 k;
	int		 i, j, n = 0;

	while (e != NULL && e->kind == MT_OR && e->nsub > 0 && n++ < 64)
		e = e->sub[0];
	if (e != NULL && e->kind == MT_XPATH && e->lit.p != NULL) {
		snprintf(key, keylen, "xpath:%s", e->lit.p);
		return 1;
	}
	if (e == NULL || e->kind != MT_PATH || e->path == NULL)
		return 0;
	if (keylen == 0)
		return 1;
	p = e->path;
	k.p = key;
	k.len = 0;
	k.max = keylen - 1;
	key[0] = '\0';
	if (p->anchor == MA_ABS)
		wk_add(&k, "/", 1);
	for (i = 0; i < p->up; i++)
		wk_add(&k, "../", 3);
	for (i = 0; i <= p->nloop; i++) {
		const struct map_step *st = i < p->nloop ? &p->loop[i] : &p->seg;

		wk_add(&k, st->tag, strlen(st->tag));
		for (j = 0; j < st->f.natom; j++)
			wk_atom(&k, &st->f.atom[j]);
		if (i < p->nloop)
			wk_add(&k, "/", 1);
	}
	wk_tail(&k, p);
	if (p->npair && wk_fits(&k, p->pair[0].len + 2)) {
		wk_put(&k, "{", 1);
		wk_put(&k, p->pair[0].p, p->pair[0].len);
		wk_put(&k, "}", 1);
	}
	return 1;
}

/* Does a condition read the document (not allowed in direction both)? */
static const struct map_expr *
cond_docref(const struct map_cond *c, int depth)
{
	const struct map_expr *e;

	if (c == NULL || depth > (int)EG_MAX_EXPR_DEPTH * 2)
		return NULL;
	if ((e = cond_docref(c->l, depth + 1)) != NULL ||
	    (e = cond_docref(c->r, depth + 1)) != NULL)
		return e;
	if (c->a != NULL && (c->a->kind == MT_PATH || c->a->kind == MT_XPATH))
		return c->a;
	if (c->b != NULL && (c->b->kind == MT_PATH || c->b->kind == MT_XPATH))
		return c->b;
	return NULL;
}

/* The segment a rule's first term writes, without filters ("N1/REF"). */
static const struct map_path *
write_seg(const struct map_rule *r, char *key, size_t keylen)
{
	const struct map_expr *e = r->expr[0];
	size_t	 o = 0;
	int	 i, n = 0;

	while (e != NULL && e->kind == MT_OR && e->nsub > 0 && n++ < 64)
		e = e->sub[0];
	if (e == NULL || e->kind != MT_PATH || e->path == NULL ||
	    e->path->anchor != MA_REL)
		return NULL;
	key[0] = '\0';
	for (i = 0; i < e->path->nloop && o + 8 < keylen; i++)
		o += (size_t)snprintf(key + o, keylen - o, "%s/",
		    e->path->loop[i].tag);
	snprintf(key + o, keylen - o, "%s", e->path->seg.tag);
	return e->path;
}

/* A statement's write_seg(), worked out once per block. */
struct wseg {
	const struct map_path *p;	/* NULL: not a two-way rule's segment */
	char		 key[64];
};

/*
 * Outbound, rules that read a segment without a filter tie it to one
 * instance; two rules whose filters put different constants into the
 * same element of that instance cannot both be written (ACK05[ACK04=068]
 * and ACK05[ACK04=067] next to ACK01).
 */
static void
check_constants(struct lk *L, const struct map_block *b)
{
	const struct map_path *p, *q;
	struct wseg	*ws;
	int		 i, j, u, a, c, tied;

	/* Each rule is compared with every other: key them once. */
	ws = xcalloc((size_t)b->nbody + 1, sizeof(*ws));
	for (i = 0; i < b->nbody; i++) {
		const struct map_stmt *s = b->body[i];

		if (s->kind == MS_RULE && !s->u.r.oneway)
			ws[i].p = write_seg(&s->u.r, ws[i].key,
			    sizeof(ws[i].key));
	}
	for (i = 0; i < b->nbody; i++) {
		const struct map_stmt *s = b->body[i];

		if ((p = ws[i].p) == NULL || p->seg.f.natom == 0)
			continue;
		for (tied = 0, u = 0; u < b->nbody && !tied; u++)
			tied = (q = ws[u].p) != NULL &&
			    q->seg.f.natom == 0 && q->npair == 0 &&
			    strcmp(ws[u].key, ws[i].key) == 0;
		if (!tied)
			continue;
		for (j = 0; j < i; j++) {
			const struct map_stmt *t = b->body[j];

			if ((q = ws[j].p) == NULL ||
			    strcmp(ws[i].key, ws[j].key) != 0)
				continue;
			for (a = 0; a < p->seg.f.natom; a++)
				for (c = 0; c < q->seg.f.natom; c++) {
					const struct map_atom *x =
					    &p->seg.f.atom[a], *y =
					    &q->seg.f.atom[c];

					if (x->neg || y->neg || x->el != y->el ||
					    x->comp != y->comp ||
					    slice_eq(x->code[0], y->code[0]))
						continue;
					lerr(L, s->path, s->line, s->col, "'%s' "
					    "(%s%02d=%.*s) and '%s' (%s:%d, "
					    "%s%02d=%.*s) write conflicting "
					    "constants into one %s segment; "
					    "mark one `oneway`",
					    s->u.r.tgt.text, p->seg.tag, x->el,
					    (int)x->code[0].len, x->code[0].p,
					    t->u.r.tgt.text, t->file, t->line,
					    q->seg.tag, y->el,
					    (int)y->code[0].len, y->code[0].p,
					    p->seg.tag);
					free(ws);
					return;
				}
		}
	}
	free(ws);
}

static void
check_both(struct lk *L, const struct map_block *b, int depth)
{
	struct {
		char	 key[256];
		const struct map_stmt *s;
	}		*w;
	const struct map_expr *e;
	int		 i, j, nw = 0;

	if (depth > (int)EG_MAX_MAP_DEPTH + 2)
		return;
	w = xcalloc((size_t)b->nbody + 1, sizeof(*w));
	for (i = 0; i < b->nbody; i++) {
		const struct map_stmt *s = b->body[i];
		const struct map_cond *c = s->kind == MS_RULE ? s->u.r.when :
		    (s->kind == MS_GROUP || s->kind == MS_WITHIN) ?
		    s->u.b.when : NULL;

		if ((e = cond_docref(c, 0)) != NULL && (s->kind != MS_RULE ||
		    !s->u.r.oneway))
			lerr(L, s->path, e->line, e->col, "`when` in a "
			    "`direction both` map tests event fields or env "
			    "values, not the document (%s)", e->text);
		if (s->kind == MS_GROUP || s->kind == MS_WITHIN) {
			check_both(L, &s->u.b, depth + 1);
			continue;
		}
		if (s->kind != MS_RULE || s->u.r.oneway ||
		    !write_key(&s->u.r, w[nw].key, sizeof(w[nw].key)))
			continue;
		for (j = 0; j < nw; j++)
			if (strcmp(w[j].key, w[nw].key) == 0)
				break;
		if (j < nw) {
			lerr(L, s->path, s->line, s->col, "'%s' and '%s' "
			    "(%s:%d) write the same document element outbound: "
			    "mark all but one `oneway`", s->u.r.tgt.text,
			    w[j].s->u.r.tgt.text, w[j].s->file,
			    w[j].s->line);
			continue;
		}
		w[nw++].s = s;
	}
	free(w);
	check_constants(L, b);
}

static int
link_map(struct map *m, const struct map_compile_opts *opts,
    struct buf *errors, int *nerr, const char *path)
{
	struct lk	 L;
	char		 sp[EG_MAX_PATH], err[512], sdir[EG_MAX_PATH];
	struct tnode	 root;
	int		 i, rv;

	memset(&L, 0, sizeof(L));
	L.m = m;
	L.errors = errors;
	L.nerr = nerr;
	L.opts = opts;

	if (m->id == NULL)
		lerr(&L, path, 1, 1, "missing `map ID`");
	if (!m->has_source)
		lerr(&L, path, 1, 1, "missing `source`");
	if (m->event_type == NULL)
		lerr(&L, path, 1, 1, "missing `event TYPE VERSION`");
	if (!m->xml && m->has_source && m->structpath == NULL &&
	    opts->structure == NULL)
		lerr(&L, path, 1, 1, "missing `structure` (EDI maps need one)");

	/* The structure. */
	if (opts->structure != NULL)
		L.st = opts->structure;
	else if (m->structpath != NULL && !m->xml) {
		snprintf(sdir, sizeof(sdir), "%s", m->structdir ?
		    m->structdir : ".");
		resolve_from(sdir, opts, m->structpath, sp, sizeof(sp));
		err[0] = '\0';
		if ((rv = structure_load_cached(opts->cache, sp,
		    &m->structure, err, sizeof(err))) != 0) {
			report(errors, nerr, 0, m->structsrc ? m->structsrc :
			    path, m->structline, "cannot load structure %s: %s",
			    sp, err[0] ? err : eg_strerror(rv));
			m->structure = NULL;
		} else
			L.st = m->structure;
	}
	if (L.st != NULL && m->has_source && !m->xml &&
	    L.st->doctype[0] != '\0' && m->doctype != NULL &&
	    strcmp(L.st->doctype, m->doctype) != 0)
		lwarn(&L, m->structsrc ? m->structsrc : path, m->structline &
		    ((1 << 20) - 1), m->structline >> 20, "structure %s "
		    "describes %s, the map's source is %s", m->structpath,
		    L.st->doctype, m->doctype);

	/* Lookups: load CSV files, hash. */
	for (i = 0; i < m->nlookup; i++) {
		struct map_lookup *lk = m->lookup[i];

		if (map_lookup_build(lk, &m->arena) != 0)
			lerr(&L, lk->path, lk->line, lk->col, "lookup '%s' too "
			    "large", lk->name);
	}

	/* XML: the source's roots, the scope. */
	if (m->xml) {
		xmlInitParser();
		for (i = 0; i < m->ndoctypes; i++) {
			const char *c = strchr(m->doctypes[i], ':');

			if (c != NULL && ns_uri(m, m->doctypes[i],
			    (size_t)(c - m->doctypes[i])) == NULL)
				lerr(&L, path, 1, 1, "source %s: undeclared "
				    "namespace prefix '%.*s'", m->doctypes[i],
				    (int)(c - m->doctypes[i]), m->doctypes[i]);
		}
		if (m->scope != NULL)
			m->scopec = xp_compile(&L, path, m->scopelc &
			    ((1 << 20) - 1), m->scopelc >> 20, m->scope);
	}

	/* Templates inlined, paths resolved, lookups bound. */
	link_block(&L, &m->root);
	for (i = 0; i < m->ntpl; i++)
		link_block(&L, &m->tpl[i]->blk);

	memset(&root, 0, sizeof(root));
	root.kind = TN_OBJECT;
	check_targets(&L, &m->root, &root, &root, 0);
	if (m->dir == MAP_DIR_BOTH) {
		check_reversible(&L, &m->root, 0);
		check_both(&L, &m->root, 0);
	}
	if (L.st != NULL && !m->xml) {
		struct lscope rs;

		memset(&rs, 0, sizeof(rs));
		rs.loop = &L.st->root;
		lint_block(&L, &m->root, &rs, &rs, 0);
	}

	/* Lint. */
	for (i = 0; i < m->nlookup; i++)
		if (!m->lookup[i]->used)
			lwarn(&L, m->lookup[i]->path, m->lookup[i]->line,
			    m->lookup[i]->col, "lookup '%s' is never used",
			    m->lookup[i]->name);
	for (i = 0; i < m->ntpl; i++)
		if (!m->tpl[i]->used)
			lwarn(&L, m->tpl[i]->path, m->tpl[i]->line,
			    m->tpl[i]->col, "template '%s' is never applied",
			    m->tpl[i]->name);
	return 0;
}

/* ---- public --------------------------------------------------------------- */

int
map_compile_text(const char *path, const char *name, const char *text,
    size_t len, const struct map_compile_opts *opts, struct map **out,
    struct buf *errors)
{
	struct map	*m;
	int		 nerr = 0;
	struct map_compile_opts dflt;

	*out = NULL;
	if (opts == NULL) {
		memset(&dflt, 0, sizeof(dflt));
		opts = &dflt;
	}
	if (len > EG_MAX_MAP_SIZE) {
		report(errors, &nerr, 0, path, LC(1, 1), "map larger than %u "
		    "bytes", EG_MAX_MAP_SIZE);
		return EG_ERR_LIMIT;
	}
	m = xcalloc(1, sizeof(*m));
	arena_init(&m->arena, MAP_ARENA_MAX);
	m->path = xstrdup(path);
	m->name = xstrdup(name);
	m->dir = MAP_DIR_IN;
	m->owns_structure = opts->structure == NULL;
	m->header_only = opts->header_only;
	if (!opts->header_only)
		digest_sha256_hex(text, len, m->sha256);
	parse_file(m, opts, errors, &nerr, m->path, m->name, text, len, 0);
	if (opts->structure != NULL)
		m->structure = NULL;
	/* A statement with a syntax error is incomplete: link only a clean
	 * parse. */
	if (nerr == 0 && !opts->header_only)
		link_map(m, opts, errors, &nerr, m->path);
	if (opts->structure != NULL)
		m->extstructure = opts->structure;
	if (nerr > 0) {
		map_free(m);
		return EG_ERR_SYNTAX;
	}
	*out = m;
	return 0;
}

int
map_load(const char *path, const char *maps_root, struct map **out,
    struct buf *errors)
{
	return map_load_cached(path, maps_root, NULL, out, errors);
}

static int
load_file(const char *path, const char *maps_root,
    struct structure_cache *sc, int header_only, struct map **out,
    struct buf *errors)
{
	struct map_compile_opts opts;
	struct arena	 a;
	char		*text, *name, err[256];
	size_t		 len;
	int		 rv, nerr = 0;

	*out = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.maps_root = maps_root;
	opts.cache = sc;
	opts.header_only = header_only;
	arena_init(&a, EG_MAX_MAP_SIZE + 64);
	if ((rv = read_text(path, &a, &text, &len, err, sizeof(err))) != 0) {
		report(errors, &nerr, 0, path, LC(1, 1), "%s", err);
		arena_free(&a);
		return rv;
	}
	name = map_relname(path, maps_root);
	rv = map_compile_text(path, name, text, len, &opts, out, errors);
	free(name);
	arena_free(&a);
	return rv;
}

int
map_load_cached(const char *path, const char *maps_root,
    struct structure_cache *sc, struct map **out, struct buf *errors)
{
	return load_file(path, maps_root, sc, 0, out, errors);
}

int
map_load_header(const char *path, const char *maps_root, struct map **out,
    struct buf *errors)
{
	return load_file(path, maps_root, NULL, 1, out, errors);
}

int
map_is_header(const struct map *m)
{
	return m->header_only;
}

void
map_free(struct map *m)
{
	if (m == NULL)
		return;
	if (m->owns_structure && m->structure != NULL)
		structure_free(m->structure);
	while (m->nxpc > 0)
		xmlXPathFreeCompExpr(m->xpc[--m->nxpc]);
	free(m->xpc);
	while (m->overflow != NULL) {
		struct overflow *o = m->overflow;

		m->overflow = o->next;
		free(o);
	}
	arena_free(&m->arena);
	free(m->path);
	free(m->name);
	free(m);
}

const char *
map_id(const struct map *m)
{
	return m->id;
}

int
map_version(const struct map *m)
{
	return m->version;
}

const char *
map_sha256(const struct map *m)
{
	return m->sha256;
}

const char *
map_path(const struct map *m)
{
	return m->path;
}

const char *
map_name(const struct map *m)
{
	return m->name;
}

const char *
map_event_type(const struct map *m)
{
	return m->event_type;
}

int
map_event_version(const struct map *m)
{
	return m->event_version;
}

enum map_direction
map_direction(const struct map *m)
{
	return m->dir;
}

const char *
map_partner(const struct map *m)
{
	return m->partner;
}

const char *
map_timezone(const struct map *m)
{
	return m->timezone;
}

const struct structure *
map_structure(const struct map *m)
{
	return m->structure != NULL ? m->structure : m->extstructure;
}

/* Length of the pattern when version matches it, else -1. */
static int
vmatch(const char *pat, struct slice v)
{
	size_t	 n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*') {
		if (v.len >= n - 1 && memcmp(v.p, pat, n - 1) == 0)
			return (int)(n - 1) * 2;
		return -1;
	}
	if (v.len == n && memcmp(v.p, pat, n) == 0)
		return (int)n * 2 + 1;
	return -1;
}

int
map_source_match(const struct map *m, enum edi_syntax syntax,
    struct slice doctype, struct slice version)
{
	if (m->xml || m->syntax != syntax || m->doctype == NULL ||
	    !slice_eqs(doctype, m->doctype))
		return 0;
	if (m->nversions == 0)
		return 1;
	return map_source_specificity(m, version) > 0;
}

/*
 * An XML root named by the map (`ubl:Order`): the local name, in the
 * namespace the map binds to the prefix; an unprefixed name is in no
 * namespace (as in XPath 1.0), which is what cXML roots are.
 */
static int
root_match(const struct map *m, const char *qn, const struct edi_set *set)
{
	const char	*c = strchr(qn, ':'), *uri = "";

	if (c != NULL && (uri = ns_uri(m, qn, (size_t)(c - qn))) == NULL)
		return 0;
	return slice_eqs(set->doctype, c != NULL ? c + 1 : qn) &&
	    slice_eqs(set->xml_ns, uri);
}

int
map_accepts(const struct map *m, const struct edi_set *set)
{
	int	 i;

	if (set->env.syntax != EDI_XML)
		return map_source_match(m, set->env.syntax, set->doctype,
		    set->version);
	if (!m->xml || !m->has_source)
		return 0;
	for (i = 0; i < m->ndoctypes; i++)
		if (root_match(m, m->doctypes[i], set))
			break;
	if (i == m->ndoctypes)
		return 0;
	if (m->doctype2 != NULL && !slice_eqs(set->xml_request, m->doctype2))
		return 0;
	/*
	 * A document without a version (UBL may leave out UBLVersionID)
	 * matches a map without version patterns, or with `*`.
	 */
	if (m->nversions == 0)
		return 1;
	return map_source_specificity(m, set->version) > 0;
}

/*
 * How specific the best matching version pattern is: its length without
 * the `*`, doubled, plus one for an exact match (so "004010" beats
 * "004010*" and both beat "004*"); 0 when none matches or the map has no
 * versions.
 */
int
map_source_specificity(const struct map *m, struct slice version)
{
	int	 i, best = 0, r;

	for (i = 0; i < m->nversions; i++)
		if ((r = vmatch(m->versions[i], version)) + 1 > best)
			best = r + 1;
	return best;
}
