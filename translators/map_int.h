/*
 * map_int.h: the compiled plan of a map (MAPS.md §3), shared by the
 * compiler (map_compile.c), the evaluator (map_eval.c), the transforms
 * (map_xform.c) and the code tables (map_lookup.c).  Nothing outside the
 * map engine includes this header.
 *
 * A plan is built once by map_load() and never modified afterwards: every
 * node lives in the map's arena, paths are resolved to tags and integer
 * positions, lookups are hashed, templates are inlined (statements shared
 * by pointer) and every rule knows the file and line it came from.  The
 * plan keeps what the reverse direction will need (targets as name
 * vectors, filters as constants, transforms with their parameters, `out`
 * expressions, `oneway`), so outbound can walk the same structures.
 */
#ifndef MAP_INT_H
#define MAP_INT_H

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <jansson.h>

#include "arena.h"
#include "edi.h"
#include "map.h"
#include "slice.h"

struct buf;
struct diag;
struct struct_pairs;
struct overflow;

/* Limits of the compiler (the shared ones are in eglimits.h). */
#define MAP_MAX_STEPS		8	/* loop steps in one path */
#define MAP_MAX_ALTS		64	/* alternatives in one filter atom */
#define MAP_MAX_ATOMS		16	/* atoms in one filter */
#define MAP_MAX_TERMS		64	/* `or` terms, list items, args */
#define MAP_MAX_XFORMS		16	/* transforms in one rule */
#define MAP_MAX_TARGET_DEPTH	16	/* names in one target */
#define MAP_MAX_STMTS		100000	/* statements in one map */
#define MAP_MAX_MULTI_LIST	5	/* positions named by MAP-MULTI */
#define MAP_MAX_DEC_DIGITS	200	/* digits of a decimal (sum, compare) */
#define MAP_MAX_XPATH_NODES	1000000	/* nodes read from one XPath */
#define MAP_XPATH_OP_LIMIT	20000000UL /* libxml2 steps per evaluation */
#define MAP_MAX_XPATHS		100000	/* compiled XPaths in one map */

/* Tags as 32-bit keys: up to 3 characters, NUL padded. */
static inline uint32_t
map_tagkey(const char *t)
{
	uint32_t k = (unsigned char)t[0];

	if (t[0] != '\0') {
		k |= (uint32_t)(unsigned char)t[1] << 8;
		if (t[1] != '\0')
			k |= (uint32_t)(unsigned char)t[2] << 16;
	}
	return k;
}

/*
 * map_dec_cmp's first case, inline for the evaluator's comparisons: two
 * unsigned integers (a count, most quantities, `> 0`), compared by length
 * without leading zeros, then by digits.  0 when it could tell (*res
 * set), -1 when either is anything else (map_dec_cmp's general case).
 */
static inline int
map_uint_cmp(struct slice a, struct slice b, int *res)
{
	size_t	 i;
	int	 c = 0;

	if (a.len == 0 || b.len == 0 || a.len > MAP_MAX_DEC_DIGITS + 2 ||
	    b.len > MAP_MAX_DEC_DIGITS + 2)
		return -1;
	for (i = 0; i < a.len; i++)
		if ((unsigned char)(a.p[i] - '0') > 9)
			return -1;
	for (i = 0; i < b.len; i++)
		if ((unsigned char)(b.p[i] - '0') > 9)
			return -1;
	while (a.len > 1 && a.p[0] == '0') {
		a.p++;
		a.len--;
	}
	while (b.len > 1 && b.p[0] == '0') {
		b.p++;
		b.len--;
	}
	if (a.len != b.len)
		c = a.len < b.len ? -1 : 1;
	else
		for (i = 0; i < a.len && c == 0; i++)
			c = (unsigned char)a.p[i] - (unsigned char)b.p[i];
	*res = c < 0 ? -1 : c > 0;
	return 0;
}

/*
 * The value at (el, comp, rep) of a segment, or NULL.  Values are kept in
 * (el, rep, comp) order; a simple element is its own component 1.
 */
static inline const struct edi_val *
map_segval(const struct edi_seg *s, unsigned el, unsigned comp, unsigned rep)
{
	const struct edi_val *v = s->val, *e = edi_val_end(s);

	for (; v < e; v++) {
		if (v->el < el)
			continue;
		if (v->el > el)
			break;
		if ((v->rep ? v->rep : 1u) == rep &&
		    (v->comp ? v->comp : 1u) == comp)
			return v;
	}
	return NULL;
}

/* ---- document paths ------------------------------------------------ */

/*
 * A code of up to 7 bytes as one integer: its bytes, and its length in the
 * top byte.  Longer text has no key (MAP_CODEKEY_NONE), so it never equals
 * the key of a short code.  Filters and pairs compare qualifiers this way.
 */
#define MAP_CODEKEY_MAX		7
#define MAP_CODEKEY_NONE	UINT64_MAX

static inline uint64_t
map_codekey(const char *p, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * Little endian: two loads, overlapping when they must, put the same
	 * bytes in place without a jump table or a byte read past the code.
	 */
	uint32_t a, b;
	uint16_t c, d;
	uint64_t k;

	if (len >= 4) {
		if (len > MAP_CODEKEY_MAX)
			return MAP_CODEKEY_NONE;
		memcpy(&a, p, sizeof(a));
		memcpy(&b, p + len - 4, sizeof(b));
		k = a | (uint64_t)b << (8 * (len - 4));
	} else if (len >= 2) {
		memcpy(&c, p, sizeof(c));
		memcpy(&d, p + len - 2, sizeof(d));
		k = c | (uint64_t)d << (8 * (len - 2));
	} else
		k = len ? (unsigned char)p[0] : 0;
	return k | (uint64_t)len << 56;
#else
	const unsigned char *u = (const unsigned char *)p;
	uint64_t k = (uint64_t)len << 56;

	/* Unrolled: most codes have 2 or 3 bytes. */
	switch (len) {
	case 7:
		k |= (uint64_t)u[6] << 48;
		/* FALLTHROUGH */
	case 6:
		k |= (uint64_t)u[5] << 40;
		/* FALLTHROUGH */
	case 5:
		k |= (uint64_t)u[4] << 32;
		/* FALLTHROUGH */
	case 4:
		k |= (uint64_t)u[3] << 24;
		/* FALLTHROUGH */
	case 3:
		k |= (uint64_t)u[2] << 16;
		/* FALLTHROUGH */
	case 2:
		k |= (uint64_t)u[1] << 8;
		/* FALLTHROUGH */
	case 1:
		k |= u[0];
		/* FALLTHROUGH */
	case 0:
		return k;
	}
	return MAP_CODEKEY_NONE;
#endif
}

/* One filter condition: [TAG]EL[-COMP] (=|!=) CODE|CODE... */
struct map_atom {
	uint8_t		 el, comp;	/* comp 0: the element (== comp 1) */
	uint8_t		 neg;		/* != */
	uint16_t	 ncode;
	struct slice	*code;
	uint64_t	*ck;		/* codes as map_codekey when every one
					   has a key (set when linked), or NULL */
};

struct map_filter {
	struct map_atom	*atom;
	uint16_t	 natom;
	int16_t		 rank;		/* atom whose alternatives rank; -1 */
	uint8_t		 one;		/* set when linked: one atom, codes
					   with keys, an element (not 00) */
};

struct map_step {
	char		 tag[4];
	uint32_t	 key;
	uint8_t		 hier;		/* the structure declares a hierarchy */
	uint16_t	 tid;		/* the tag's number in the map
					   (map_tag_id), set when parsed */
	struct map_filter f;
};

enum map_anchor {
	MA_REL = 0,	/* current scope */
	MA_ABS,		/* /BEG03: transaction root */
	MA_UP,		/* ../PRF01: enclosing group instance */
	MA_HIER,	/* ^HL[...]/: nearest hierarchy ancestor */
};

struct map_path {
	enum map_anchor	 anchor;
	int		 up;		/* MA_UP: levels */
	struct map_step	 hstep;		/* MA_HIER */
	struct map_step	*loop;		/* loop steps */
	int		 nloop;
	struct map_step	 seg;		/* the segment (last step) */
	int		 segonly;	/* selector / count(): no element */
	uint8_t		 el, comp, rep;	/* rep 0: first (or filtered) */
	int8_t		 repatom;	/* atom on el itself: picks a repetition */
	struct slice	*pair;		/* {VN|VP}: qualifier codes */
	int		 npair;
	uint64_t	*pk;		/* pair codes as map_codekey, or NULL
					   (as map_atom.ck) */
	/* From the structure: pair positions (pfrom 0: scan all pairs). */
	int		 pfrom, pto, pqfirst, pvcomp, pqcomp;
	/* Where it was written, for compile-time checks. */
	const char	*file;
	int		 line, col;
	const char	*text;
	/* Set when linked: how plain_value reads the candidates of one
	   segment (enum map_scan). */
	uint8_t		 scan;
	uint8_t		 scomp, sacomp;	/* MAP_SCAN_REP: comp and the filter
					   atom's, 0 read as 1 */
	uint8_t		 selfloop;	/* MAP_SCAN_ONE, one relative loop
					   step of the segment's own tag
					   without a filter (PID/PID05):
					   map_eval.c plain_best's short way */
	uint32_t	 playout;	/* MAP_SCAN_(C)PAIRS: the pair layout
					   (pfrom..pqcomp) as one non-zero key */
	/* Set when parsed: el and rep (0 read as 1) as the 32 bits an
	   edi_val keeps them in, and comp (0 read as 1). */
	uint32_t	 elrep;
	uint16_t	 comp1;
	uint32_t	 rc;		/* and rep and comp (0 read as 1) as
					   the 32 bits after el (segval_near) */
};

/*
 * How plain_value reads a path's candidates in one segment, told once
 * when the map is linked (0: not linked, the evaluator works it out):
 * MAP_SCAN_ONE	one value of the segment (TAG01-02, TAG01[TAG02=X]);
 * MAP_SCAN_REP	TAG01-02[TAG01-01=A|B]: one filter atom, on the element
 *		read, not negated, codes with integer keys;
 * MAP_SCAN_PAIRS	TAG{A|B} over simple-element pairs, codes with keys;
 * MAP_SCAN_CPAIRS	TAG{A|B} over component pairs (PIA C212), likewise;
 * MAP_SCAN_MULTI	any other path reading several values (multi_cand).
 */
enum map_scan {
	MAP_SCAN_NONE = 0, MAP_SCAN_ONE, MAP_SCAN_REP, MAP_SCAN_PAIRS,
	MAP_SCAN_CPAIRS, MAP_SCAN_MULTI,
};

/*
 * Most rules read `TAG01`, `TAG01-02`, `TAG01[filter]`, `TAG01-02[TAG01-01=
 * CODE]`, `TAG{QUAL}` or `LOOP/TAG01` in the current loop instance: the
 * evaluator finds such a value without the generic path machinery.
 */
static inline int
map_path_plain(const struct map_path *p)
{
	return p->anchor == MA_REL && p->nloop <= 1 && !p->segonly;
}

/* ---- expressions --------------------------------------------------- */

enum map_term {
	MT_LIT = 1,	/* "text", 12.5 */
	MT_SEQ,		/* seq */
	MT_PATH,	/* EDI path */
	MT_XPATH,	/* XML source path, kept as text for the XML engine */
	MT_FIELD,	/* event field */
	MT_ENV,		/* env.ISA06, env.partner.id */
	MT_COUNT,	/* count(field|selector) */
	MT_SUM,		/* sum(field|path) */
	MT_JOIN,	/* join("sep", expr, ...) */
	MT_OR,		/* a or b ...: first non-empty */
};

enum map_envkind {
	ME_ISA = 1,	/* interchange header: ISA, UNB */
	ME_GS,		/* group header: GS, UNG */
	ME_ST,		/* set header: ST, UNH */
	ME_PARTNER_ID,
	ME_PARTNER,	/* env.partner.NAME */
};

struct map_field {
	int		 up;		/* ../ count */
	int		 abs;		/* /name */
	const char	**name;
	int		 nname;
	const uint64_t	*bit;		/* mdoc_keybit of each name, set when
					   the expression is linked, or NULL */
};

struct map_expr {
	enum map_term	 kind;
	const char	*text;		/* as written, for diagnostics */
	int		 line, col;
	struct slice	 lit;		/* MT_LIT; MT_JOIN separator */
	int		 litnum;	/* the literal was an unquoted number */
	struct map_path	*path;		/* MT_PATH; MT_COUNT over a selector */
	struct map_field *field;	/* MT_FIELD; MT_COUNT/SUM over a field */
	enum map_envkind envkind;	/* MT_ENV */
	uint8_t		 envel, envcomp;
	const char	*envname;
	struct map_expr	**sub;		/* MT_OR terms; MT_JOIN/SUM args */
	int		 nsub;
	void		*xp;		/* MT_XPATH: xmlXPathCompExprPtr */
};

/*
 * The term of e the evaluator reads directly (map_path_plain): e itself,
 * or the first term of `a or b` (PO101 or seq), or NULL.
 */
static inline const struct map_expr *
map_expr_plain(const struct map_expr *e)
{
	if (e != NULL && e->kind == MT_OR && e->nsub > 0)
		e = e->sub[0];
	return e != NULL && e->kind == MT_PATH && e->path != NULL &&
	    map_path_plain(e->path) ? e : NULL;
}

enum map_condop {
	MC_AND = 1, MC_OR, MC_NOT, MC_CMP, MC_IN, MC_EXISTS,
};

enum map_cmp {
	MCMP_EQ = 1, MCMP_NE, MCMP_LT, MCMP_GT, MCMP_LE, MCMP_GE,
};

struct map_cond {
	enum map_condop	 op;
	struct map_cond	*l, *r;		/* AND, OR; NOT uses l */
	struct map_expr	*a, *b;		/* CMP; IN and EXISTS use a */
	enum map_cmp	 cmp;
	struct slice	*list;		/* IN */
	int		 nlist;
	/*
	 * Set when linked: a field compared with an unsigned integer
	 * literal (check quantity.value > 0), and the literal without its
	 * leading zeros, as map_uint_cmp compares it (map_eval.c
	 * check_quick).
	 */
	int		 quick;
	struct slice	 ulit;
};

/* A message with {…} placeholders, split at compile time. */
enum map_msgpart {
	MM_TEXT = 1, MM_VALUE, MM_SOURCE, MM_SEQ, MM_FIELD, MM_EXPR,
};

struct map_msg {
	const char	*text;		/* as written */
	int		 nparts;
	struct {
		enum map_msgpart kind;
		struct slice	 s;	/* MM_TEXT */
		struct map_expr	*e;	/* MM_EXPR */
	}		*part;
};

/* ---- transforms and lookups ------------------------------------------ */

enum map_xkind {
	MX_DATE_X12 = 1, MX_DATE_CCYYMMDD, MX_DATE_YYMMDD, MX_DATE_102,
	MX_DATE_CODE, MX_DATE_ISO, MX_TIME_X12, MX_TIME_ISO,
	MX_DECIMAL, MX_IMPLIED, MX_INT,
	MX_TRIM, MX_UPPER, MX_LOWER, MX_COLLAPSE, MX_MAX, MX_PAD,
	MX_GTIN14, MX_SSCC, MX_LOOKUP, MX_TIME_CODE,
};

struct map_lookup;
struct map_lkent;

struct map_xform {
	enum map_xkind	 kind;
	int		 n;		/* decimal n (-1 none), implied, max, pad */
	int		 ai;		/* sscc ai */
	/*
	 * lookup: lk's codes of 1 to 3 bytes as its map_lookup_bind placed
	 * them, beside the kind the transform reads first, so that finding
	 * one waits on a single load (NULL: lk's hash only).
	 */
	uint32_t	 lkmask;
	const struct map_lkent *lkt;
	uint64_t	 lkmul;		/* odd; a key's product places it */
	struct slice	 s;		/* pad string */
	uint8_t		 codeel, codecomp;	/* date/time code ELEM */
	const char	*lkname;
	struct map_lookup *lk;
	const char	*text;		/* "lookup uom", for traces */
	int		 line, col;
};

enum map_policy {
	MP_WARN = 0, MP_ERROR, MP_PASS, MP_DEFAULT,
};

enum map_rowdir {
	MR_BOTH = 1,	/* <-> */
	MR_IN,		/* -> */
	MR_OUT,		/* <- */
};

struct map_row {
	struct slice	 left, right;	/* right "!" with bang */
	enum map_rowdir	 dir;
	int		 bang;		/* -> ! */
	int		 plain;		/* right: ASCII, nothing JSON escapes */
};

/*
 * A slot of a table's hash: its key as map_codekey and its row (NULL:
 * empty), side by side, so that a code's probe reads one place; and, for
 * the lookup transform, what it needs of the row's right side, so that
 * it does not wait on a second load (the row's).
 */
struct map_hent {
	uint64_t	 ck;
	const struct map_row *row;
	const char	*rp;		/* row->right */
	uint32_t	 rlen;
	uint16_t	 bang;		/* row->bang */
	uint16_t	 plain;		/* row->plain */
};

/*
 * A code's key in a direct index (map_lkent): its 2 bytes as one load
 * makes them, its 3 bytes and bit 24, or its byte and bit 25, so that
 * codes of different lengths never share one.  Both sides of the index
 * make it the same way.
 */
static inline uint32_t
map_lkent_key(const char *p, size_t n)
{
	uint16_t c;

	if (n == 1)
		return (unsigned char)p[0] | 1u << 25;
	memcpy(&c, p, 2);
	if (n == 3)
		return c | (uint32_t)(unsigned char)p[2] << 16 | 1u << 24;
	return c;
}

struct map_hash {
	struct map_hent	*e;		/* nslot slots, or NULL */
	uint32_t	 mask;		/* nslot - 1 */
};

/*
 * An entry of a table's direct index (map_lookup_bind): an inbound code
 * of 1 to 3 bytes whose row the lookup transform returns as it is (not
 * `-> !`, not empty), with the row's right side.  A multiplier chosen
 * when the map is built puts no two such codes in one entry, so a code
 * is found with one compare and no probe; a code not there (a miss, or
 * a row the index leaves out) takes the hash.
 */
struct map_lkent {
	uint32_t	 ck;		/* map_lkent_key; UINT32_MAX: empty */
	uint16_t	 rlen;		/* row->right.len (longer: left out) */
	uint16_t	 plain;		/* row->plain */
	const char	*rp;		/* row->right.p */
};

struct map_lookup {
	const char	*name;
	const char	*file;		/* map name it was declared in */
	int		 line, col;
	const char	*csv;		/* `file "..."`: resolved path */
	enum map_policy	 policy;
	struct slice	 defval;	/* MP_DEFAULT */
	struct map_msg	*msg;		/* on-miss message; NULL: default */
	int		 add;		/* `lookup X add` (override) */
	struct map_row	*row;
	uint32_t	 nrow, caprow;
	struct map_hash	 in;		/* left -> row (MR_BOTH, MR_IN) */
	struct map_lkent *dt;		/* index of short codes, or NULL */
	uint64_t	 dmul;		/* its multiplier */
	uint32_t	 dmask;		/* its entries - 1 */
	struct map_hash	 out;		/* right -> row (MR_BOTH, MR_OUT) */
	int		 used;
	/* Compile-time only. */
	const char	*path;		/* file as opened */
	int		 csvcol;
	int		 policy_set;
	int		 loaded;
	struct map_lookup *replaced;	/* by a child map's table */
};

/* ---- statements ---------------------------------------------------- */

struct map_target {
	int		 rooted;	/* /target: from the event root */
	const char	**name;
	int		 nname;
	int		 array;		/* name[] */
	const char	*text;
	const uint64_t	*bit;		/* mdoc_keybit of each name */
};

enum map_req {
	MQ_NONE = 0, MQ_WARN, MQ_ERROR,
};

/* map_xform_apply's; map_xform_text() gives one for a transform's kind */
struct map_val;
typedef int map_xform_fn(const struct map_xform *, struct arena *,
    const struct edi_set *, struct map_val *, const char **why);

struct map_rule {
	struct map_target tgt;
	struct map_expr	**expr;		/* one, or the list of a [] rule */
	int		 nexpr;
	struct map_xform *xf;
	int		 nxf;
	enum map_req	 req;
	struct map_msg	*reqmsg;
	int		 hasdef;
	struct slice	 defval;
	int		 defnum;
	struct map_cond	*when;
	struct map_expr	*out;
	int		 oneway;
	const char	*srctext;	/* right side as written */
	/* Set when linked, so that evaluation need not work them out. */
	const char	*source;	/* text of expr[0]'s first alternative */
	const struct map_expr *plain;	/* map_expr_plain(expr[0]) */
	const struct map_path *ppath;	/* and its path, or NULL */
	map_xform_fn	*xfn;		/* nxf 1: map_xform_text(xf), for
					   a value read the plain way */
	int		 fast;		/* the common shape: plain set, no
					   when, not [] (run_rule) */
	int		 quiet;		/* and nothing to do when absent: no
					   `or`, default or required */
	unsigned	 vcomp;		/* map_path_vcomp of plain's path */
	int		 listfast;	/* a [] rule run_list_rule reads in
					   one pass (map_compile.c list_fast) */
	unsigned	 listel;	/* listfast, every term a component
					   of this one element, no filter,
					   each its own (list_el); else 0 */
	unsigned	 listrep;	/* and the repetition they read */
	const struct map_expr *or2;	/* fast, `a or b ...` with b a plain
					   path: b (run_rule_or), or NULL */
	uint8_t		 when_fast;	/* as fast, but with a `when` */
	uint8_t		 whensib;	/* and the when exists(F) of a field
					   F beside the target (id.schemeId
					   when exists(id.value)): the
					   object the test reaches is the
					   target's (run_rule_sib) */
	uint8_t		 lit;		/* a literal alone, no transform,
					   not [] (`= "GTIN"`) */
	uint8_t		 litplain;	/* and ASCII, nothing to escape */
};

/* The component a plain path's value is read at (map_eval.c pb_value). */
static inline unsigned
map_path_vcomp(const struct map_path *p)
{
	return p->npair > 0 && p->pfrom > 0 && p->pvcomp > 0 ?
	    (unsigned)p->pvcomp : p->npair > 0 ? 1 : p->comp ? p->comp : 1;
}

struct map_check {
	struct map_cond	*cond;
	int		 error;		/* else warn */
	struct map_msg	*msg;
};

enum map_axis {
	MX_AXIS_CHILD = 0, MX_AXIS_DESCENDANT,
};

struct map_where {
	struct map_field *f;		/* field of the element produced */
	const char	**name;		/* == f->name */
	struct map_expr	*e;		/* NULL: none */
};

struct map_stmt;

struct map_block {
	int		 within;	/* within: no JSON object */
	struct map_target tgt;		/* group */
	struct map_path	*sel;		/* EDI selector (segonly) */
	const char	*xsel;		/* XML selector */
	void		*xselc;		/* xsel compiled (xmlXPathCompExprPtr) */
	const char	*seltext;
	enum map_axis	 axis;
	struct map_where *where;
	int		 nwhere;
	struct map_cond	*when;
	enum map_req	 req;
	struct map_msg	*reqmsg;
	int		 unique;
	struct map_stmt	**body;
	int		 nbody;
	int		 nchecks;	/* MS_CHECK statements in body */
	int		 check0;	/* set when linked: the first of them
					   (0: scan from the start) */
	/* Compile-time only. */
	int		 capbody;
	int		 expanded;	/* templates inlined */
	/*
	 * Set when linked (map_compile.c share_runs): the statements as the
	 * evaluator runs them, body with each run of rules that read one
	 * tag in the frame's scope made one MS_SHARE statement (its u.b.body
	 * the rules), so that they find their segment once, and each run of
	 * groups that select one tag by its qualifier (parties from N1[N101=
	 * BY], N1[N101=ST], ...) one MS_GSHARE, so that each segment's
	 * qualifier is read once for all of them, and each literal rule
	 * under a when exists(F) of a field beside its target one MS_LITSIB;
	 * then each statement that has nothing to do when a tag is not in
	 * the instance is wrapped in an MS_SKIP (skip_wrap), which passes
	 * it over then.  Checks are still found in body.
	 */
	struct map_stmt	**rbody;
	int		 nrbody;
	/*
	 * Set when linked: a statement of body, at any depth, writes from
	 * the event root (/target).  Else a group's instances write only
	 * into their own objects, and an array group's array, once found,
	 * stays where it is for all of them (map_eval.c group_idx_at).
	 */
	int		 rootw;
	/*
	 * MS_SKIP (map_compile.c skip_wrap): the number (map_step.tid) of
	 * the tag whose absence from the frame's loop instance leaves the
	 * statement it wraps with nothing to do.
	 */
	uint32_t	 skiptid;
	/*
	 * MS_SHARE (map_compile.c share_ops): the tag's key and number, and
	 * one map_sop per rule of body, side by side, so that run_share
	 * reads a rule without following its statement, path and target.
	 */
	uint32_t	 sharekey;
	uint16_t	 sharetid;
	struct map_sop	*sop;
	/*
	 * Set when linked (map_compile.c run_table): rbody as run_block
	 * reads it, each statement's kind beside it, an MS_SKIP's tag and
	 * the statement it wraps in place of it; NULL when out of memory.
	 */
	struct map_rstmt *rs;
};

struct map_rstmt {
	uint8_t		 kind;		/* enum map_skind of s */
	uint8_t		 skip;		/* s is an MS_SKIP's: skip when the
					   tag skiptid is not there */
	uint32_t	 skiptid;
	const struct map_stmt *s;
};

/*
 * A rule of an MS_SHARE run as run_share reads it: what it needs of the
 * rule, its path and its target, copied when linked.
 */
enum map_sop_how {
	SOP_ONE = 1,	/* MAP_SCAN_ONE without a filter */
	SOP_ONEF,	/* MAP_SCAN_ONE with one */
	SOP_PAIRS,	/* MAP_SCAN_PAIRS without a filter */
	SOP_PAIRSF,	/* MAP_SCAN_PAIRS with one */
	SOP_OTHER,	/* any other: plain_cand's */
	SOP_COND,	/* a rule under a when exists(F) of the target of
			   the rule before it (share_cond) */
};

struct map_sop {
	const struct map_stmt *s;	/* the rule */
	const struct map_path *p;	/* its plain path */
	const char	*name0, *namel;	/* the target's first and last names */
	uint64_t	 bit0, bitl;	/* their keybits */
	uint64_t	 elrc;		/* p's el, rep and comp (0 read as 1)
					   as the 48 bits a value keeps them
					   in (path_value's fast way) */
	uint8_t		 el;		/* p->el */
	uint8_t		 how;		/* enum map_sop_how */
	uint8_t		 tshape;	/* 1: one name; 2: two, not rooted;
					   0: any other (target_obj_at) */
	uint8_t		 text;		/* no transform: the value's text */
	uint8_t		 quiet;		/* r->quiet */
	uint8_t		 xf1;		/* one transform: xf */
	uint8_t		 cond;		/* SOP_COND: SOP_LIT or SOP_PATH */
	uint8_t		 then;		/* the next rule is a SOP_COND on
					   this one's target */
	uint8_t		 fsame;		/* SOP_ONEF, SOP_PAIRSF: the rule
					   before is too, with the same
					   filter (its rank holds) */
	uint16_t	 vcomp;		/* r->vcomp */
	const struct map_xform *xf;	/* r->xf */
	map_xform_fn	*xfn;		/* r->xfn */
	const struct map_expr *plain;	/* r->plain; SOP_LIT: the literal,
					   text set when it is plain */
};

enum { SOP_LIT = 1, SOP_PATH };

enum map_skind {
	MS_RULE = 1, MS_CHECK, MS_GROUP, MS_WITHIN, MS_APPLY, MS_DROP,
	MS_SHARE,	/* rules reading one tag, in a block's rbody only */
	MS_GSHARE,	/* groups selecting one tag by one qualifier, likewise */
	MS_LITSIB,	/* a literal rule under a when exists(F) of a field
			   beside its target, likewise (its u.b.body[0]) */
	MS_SKIP,	/* a statement (its u.b.body[0]) that does nothing
			   when the tag u.b.skiptid is not in the frame's
			   instance, likewise */
};

struct map_stmt {
	enum map_skind	 kind;
	const char	*file;		/* map name ("x12/850-order-created.map") */
	const char	*path;		/* file as opened, for compile errors */
	int		 line, col;
	int		 linked;	/* compile-time */
	int		 linted;
	union {
		struct map_rule	 r;
		struct map_check c;
		struct map_block b;
		struct {
			const char *name;
		}		 apply;
		struct map_field *drop;
	} u;
	char		 rule[160];	/* "file:line" for diagnostics (cold) */
};

struct map_template {
	const char	*name;
	const char	*file;
	const char	*path;
	int		 line, col;
	struct map_block blk;
	int		 used;
	int		 expanding;	/* recursion guard */
};

struct map_ns {
	const char	*prefix;
	const char	*uri;
};

struct map {
	struct arena	 arena;		/* every node below */
	char		*path;
	char		*name;		/* relative to maps_root */
	char		 sha256[65];
	const char	*id;
	int		 version;
	enum edi_syntax	 syntax;	/* 0: XML source */
	int		 xml;
	const char	*doctype;	/* "850", "ORDERS", "cXML" */
	const char	*doctype2;	/* XML: element under Request */
	const char	**doctypes;	/* XML: root alternatives (a | b) */
	int		 ndoctypes;	/* doctypes[0] == doctype */
	char		**versions;
	int		 nversions;
	const char	*structpath;
	struct structure *structure;
	const char	*event_type;
	int		 event_version;
	enum map_direction dir;
	const char	*extends;
	const char	*partner;
	const char	*timezone;	/* NULL: partner */
	const char	*scope;
	void		*scopec;	/* scope compiled */
	int		 scopelc;	/* its line and column, packed */
	/* Every compiled XPath of the plan (freed with the map). */
	void		**xpc;
	int		 nxpc, capxpc;
	struct map_ns	*ns;
	int		 nns;
	struct map_lookup **lookup;
	int		 nlookup;
	struct map_template **tpl;
	int		 ntpl;
	struct map_block root;		/* top-level statements */
	/* Compile-time bookkeeping. */
	struct map	*owner;		/* owns the arena (extends parents) */
	int		 has_version, has_source, has_timezone;
	int		 structline;	/* packed line/column */
	const char	*structsrc, *structdir;
	int		 capns, caplookup, captpl;
	int		 owns_structure;
	int		 header_only;	/* map_load_header: not a plan */
	const struct structure *extstructure;	/* opts->structure */
	struct overflow	*overflow;	/* nodes past the arena cap */
	int		 overflowed;
	/*
	 * Target and field names, interned (owner only): equal names are one
	 * pointer, which is what the document builder compares.
	 */
	const char	**names;
	uint32_t	 namemask, nnames;
	/*
	 * Every segment tag a path of the plan names (owner's, parents'
	 * too): its number, map_step.tid, by map_tag_id.  The evaluator's
	 * segment indexes keep the first segment of each number, and leave
	 * out the segments of other tags, which no path can ask for.
	 */
	struct map_tag	*tags;
	uint32_t	 tagmask, ntags;
};

/* A slot of the table of tags: key 0 (no tag has it) is empty. */
struct map_tag {
	uint32_t	 key;		/* map_tagkey */
	uint32_t	 id;
};

#define MAP_TAG_NONE	UINT32_MAX

static inline uint32_t
map_tag_hash(uint32_t key)
{
	return (key * 0x9e3779b1u) >> 16;
}

/* The number of the tag of key, or MAP_TAG_NONE (tags, mask: a map's). */
static inline uint32_t
map_tag_id(const struct map_tag *tags, uint32_t mask, uint32_t key)
{
	uint32_t h;

	for (h = map_tag_hash(key) & mask; tags[h].key != 0;
	    h = (h + 1) & mask)
		if (tags[h].key == key)
			return tags[h].id;
	return MAP_TAG_NONE;
}

/*
 * Interned names (map_compile.c cp_name) are laid out as
 *	"name":"  zeros  bit (1 byte)  len (2 bytes, little endian)  name  NUL
 * the JSON form, with a string value's opening quote, in the first
 * MAP_NAME_JSONPAD bytes, MAP_NAME_PRE bytes before the name: the writer
 * copies a member's key, quotes and colon as one fixed block, from a
 * place that does not wait on the length.  A length of MAP_NAME_NOJSON:
 * the name has no such form (it needs escaping, never for a name the
 * compiler accepts, or its JSON form is longer than MAP_NAME_JSONPAD),
 * and the writer writes it as a string.
 */
#define MAP_NAME_NOJSON		0xffffu
#define MAP_NAME_JSONPAD	32
#define MAP_NAME_PRE		(MAP_NAME_JSONPAD + 3)

static inline unsigned
map_name_len(const char *k)
{
	return (unsigned)(unsigned char)k[-2] |
	    (unsigned)(unsigned char)k[-1] << 8;
}

/* ---- the mapped document (mdoc.c) -------------------------------------- */

enum mdoc_kind {
	MDOC_OBJ = 1, MDOC_ARR, MDOC_STR, MDOC_DEC, MDOC_INT,
};

/*
 * One node.  The document is its root object.  Object members are nodes
 * chained by next, named by key: a name of the plan, interned by the
 * compiler, so the builder compares key pointers, never text.  An
 * interned name carries its JSON form for the writer (map_name_json).
 */
struct mdoc {
	uint8_t		 kind;		/* enum mdoc_kind */
	uint8_t		 plain;		/* string: ASCII, nothing to escape */
	uint32_t	 pos;		/* array element: its source position */
	const char	*key;		/* object member: its name */
	struct mdoc	*next;		/* next member of the same object */
	union {
		struct {
			const char *p;	/* valid UTF-8; NUL not counted */
			size_t	 len;
		}		 s;
		json_int_t	 i;
		struct {
			struct mdoc *head, *tail;
			uint32_t n;
			uint64_t keys;	/* mdoc_keybit of every key set */
		}		 o;
		struct {
			struct mdoc **v;
			uint32_t n, cap;
			uint32_t ntrack;	/* elements put in order (mdoc_put) */
		}		 a;
	} u;
};

/* Nodes are carved from blocks of the set's arena. */
#define MDOC_POOL_BLOCK	(8U * 1024)

struct mdoc_pool {
	struct arena	*a;
	char		*p, *e;		/* the current block's free space */
};

void	*mdoc_pool_grow(struct mdoc_pool *, size_t);

/* n bytes, 8-aligned, not zeroed; NULL when the arena's cap is reached. */
static inline void *
mdoc_alloc(struct mdoc_pool *mp, size_t n)
{
	char	*p = mp->p;
	uintptr_t q;

	/*
	 * The end compared as an address: one add and one compare with the
	 * end in memory (an empty pool, p and e NULL, grows).  Addresses
	 * are far below the top, so p + n cannot wrap.
	 */
	n = (n + 7) & ~(size_t)7;
	q = (uintptr_t)p + n;
	if (n != 0 && q <= (uintptr_t)mp->e) {
		mp->p = p + n;
		return p;
	}
	return mdoc_pool_grow(mp, n);
}

void	 mdoc_pool_init(struct mdoc_pool *, struct arena *);
const char *mdoc_text_slow(struct mdoc_pool *, const char *p, size_t len,
	    size_t *outlen);

/*
 * The text of a string node: p itself when it is valid UTF-8 (most EDI
 * text is ASCII: checked 8 bytes at a time), else a repaired copy.
 * *plain is set when the text is ASCII without a byte JSON escapes
 * (controls, '"', '\\'): the writer then copies it as it is.
 */
extern const unsigned char mdoc_cls[256];	/* 1 escaped, 0x80 not ASCII */

#ifdef __SSE2__
/* The bytes of v JSON escapes, and those that are not ASCII (signed). */
static inline __m128i
mdoc_vec_bad(__m128i v)
{
	return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
}

/*
 * mdoc_text_plain's verdict on more than 16 bytes, 16 at a time, the last
 * 16 overlapping those before.  Out of line: a caller's buffer of known
 * size would have the compiler warn of the loads its length rules out.
 */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static unsigned
mdoc_cls_long(const char *p, size_t len)
{
	__m128i	 v, hi, bad;
	size_t	 i;

	memcpy(&v, p + len - 16, sizeof(v));
	hi = v;
	bad = mdoc_vec_bad(v);
	for (i = 0; i + 16 < len; i += 16) {
		memcpy(&v, p + i, sizeof(v));
		hi = _mm_or_si128(hi, v);
		bad = _mm_or_si128(bad, mdoc_vec_bad(v));
	}
	return _mm_movemask_epi8(hi) != 0 ? 0x80 :
	    _mm_movemask_epi8(bad) != 0;
}
#endif

static inline const char *
mdoc_text_plain(struct mdoc_pool *mp, const char *p, size_t len,
    size_t *outlen, uint8_t *plain)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones << 7;
	size_t	 i;
	uint64_t w, q, b, acc = 0, esc = 0;
	unsigned cls = 0;
#ifdef __SSE2__
	__m128i	 v;

	if (len >= 8) {
		/*
		 * Names, addresses and item numbers: 8 to 16 bytes as one
		 * vector of two words that may overlap (nothing is read
		 * outside the text), longer text mdoc_cls_long's.  A high
		 * byte makes the text not ASCII, whatever else it holds
		 * (the signed compare counts it as bad too); below 0x80
		 * that compare finds exactly the controls.
		 */
		if (len <= 16) {
			memcpy(&w, p, 8);
			memcpy(&q, p + len - 8, 8);
			v = _mm_set_epi64x((long long)q, (long long)w);
			if (_mm_movemask_epi8(v) != 0)
				cls = 0x80;
			else if (_mm_movemask_epi8(mdoc_vec_bad(v)) != 0)
				cls = 1;
		} else
			cls = mdoc_cls_long(p, len);
	} else
#endif
	if (len >= 8) {
		/* Whole words; the last one may overlap the one before. */
		for (i = 0;; i += 8) {
			if (i + 8 > len)
				i = len - 8;
			memcpy(&w, p + i, 8);
			q = w ^ (ones * '"');
			b = w ^ (ones * '\\');
			acc |= w;
			esc |= ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
			    ((b - ones) & ~b);
			if (i + 8 == len)
				break;
		}
		if (acc & high)
			cls = 0x80;
		else if (esc & high)
			cls = 1;
	} else
		for (i = 0; i < len; i++)
			cls |= mdoc_cls[(unsigned char)p[i]];
	if ((cls & 0x80) == 0) {
		*plain = cls == 0;
		*outlen = len;
		return p;
	}
	*plain = 0;
	return mdoc_text_slow(mp, p, len, outlen);
}

static inline const char *
mdoc_text(struct mdoc_pool *mp, const char *p, size_t len, size_t *outlen)
{
	uint8_t	 plain;

	return mdoc_text_plain(mp, p, len, outlen, &plain);
}

static inline struct mdoc *
mdoc_new(struct mdoc_pool *mp, enum mdoc_kind kind)
{
	struct mdoc *d;

	if ((d = mdoc_alloc(mp, sizeof(*d))) != NULL)
		*d = (struct mdoc){ .kind = (uint8_t)kind };
	return d;
}

/*
 * A one-bit summary of an interned name, its number in the map modulo
 * 64 (the byte before its length): most misses need no scan.  The same
 * whatever the heap layout, unlike a hash of the name's address.
 */
static inline uint64_t
mdoc_keybit(const char *key)
{
	return (uint64_t)1 << ((unsigned char)key[-3] & 63);
}

/*
 * The member named key (an interned name), or NULL.  The _bit forms take
 * the key's mdoc_keybit as the map linked it (map_target.bit).
 */
static inline struct mdoc *
mdoc_member_bit(const struct mdoc *o, const char *key, uint64_t bit)
{
	struct mdoc *m;

	if ((o->u.o.keys & bit) == 0)
		return NULL;
	for (m = o->u.o.head; m != NULL; m = m->next)
		if (m->key == key)
			return m;
	return NULL;
}

static inline struct mdoc *
mdoc_member(const struct mdoc *o, const char *key)
{
	return mdoc_member_bit(o, key, mdoc_keybit(key));
}
void	 mdoc_set_again(struct mdoc *obj, const char *key, struct mdoc *v);

/* Append v as key, a name o does not have (its bit is clear in keys). */
static inline void
mdoc_add_new(struct mdoc *o, const char *key, uint64_t bit, struct mdoc *v)
{
	o->u.o.keys |= bit;
	v->key = key;
	v->next = NULL;
	if (o->u.o.tail != NULL)
		o->u.o.tail->next = v;
	else
		o->u.o.head = v;
	o->u.o.tail = v;
	o->u.o.n++;
}

/*
 * Replace the member named key (an interned name) in place, or append v.
 * Called for every member built: appending a new name is inline, a name
 * the object may already have is mdoc_set_again's.
 */
static inline void
mdoc_set_bit(struct mdoc *o, const char *key, uint64_t bit, struct mdoc *v)
{
	if (o->u.o.keys & bit) {
		mdoc_set_again(o, key, v);
		return;
	}
	mdoc_add_new(o, key, bit, v);
}

static inline void
mdoc_set(struct mdoc *o, const char *key, struct mdoc *v)
{
	mdoc_set_bit(o, key, mdoc_keybit(key), v);
}
void	 mdoc_del(struct mdoc *obj, const char *key);
void	 mdoc_merge(struct mdoc *dst, struct mdoc *src);
int	 mdoc_append(struct mdoc_pool *, struct mdoc *arr, struct mdoc *v);
int	 mdoc_put(struct mdoc_pool *, struct mdoc *arr, struct mdoc *v,
	    uint32_t pos);
int	 mdoc_prune(struct mdoc *, int depth);

/* ---- values during evaluation ------------------------------------------ */

enum map_vkind {
	MV_NONE = 0, MV_STR, MV_DEC, MV_INT,
};

struct map_val {
	const char	*p;
	size_t		 len;
	enum map_vkind	 kind;
	/*
	 * Set by map_xform_apply: the text it left is ASCII without a byte
	 * JSON escapes (a date, a decimal, a checked lookup value), so the
	 * document need not check it again.  Read only after a transform.
	 */
	int		 plain;
	json_int_t	 i;		/* MV_INT */
	const struct edi_seg *seg;	/* where it came from, or NULL */
	uint16_t	 el, comp;
	int		 fallback;	/* seq or literal chosen by `or` */
	const struct map_expr *from;	/* the term that produced it */
	const void	*xnode;		/* XML: the node it came from (xmlNodePtr) */
};

/* Transform outcome (map_xform_apply). */
enum map_xres {
	MXR_OK = 0,
	MXR_ABSENT,	/* became empty */
	MXR_TYPE,	/* MAP-TYPE error: cannot be represented */
	MXR_TYPEWARN,	/* MAP-TYPE warning, value unchanged (gtin14, sscc) */
	MXR_TRUNC,	/* MAP-TRUNC warning, value truncated */
	MXR_MISS,	/* lookup miss: policy decides */
	MXR_BANG,	/* lookup `-> !` row */
	MXR_LIMIT,	/* scratch arena exhausted */
};

/*
 * A running sum of decimals (sum()), exact: machine integers while they
 * fit, digit strings after (map_xform.c).
 */
struct map_dec_sum {
	int64_t		 v;		/* the total times 10^scale, !big */
	size_t		 scale;
	int		 big;		/* the total is the text in acc */
	char		 acc[MAP_MAX_DEC_DIGITS + 8];
	char		 tmp[MAP_MAX_DEC_DIGITS + 8];
};

/* map_xform.c */
void	map_dec_sum_init(struct map_dec_sum *);
int	map_dec_sum_add(struct map_dec_sum *, struct slice);
struct slice map_dec_sum_text(struct map_dec_sum *);
int	map_xform_apply(const struct map_xform *, struct arena *,
	    const struct edi_set *, struct map_val *, const char **why);
map_xform_fn *map_xform_text(const struct map_xform *);
int	map_dec_canon(struct slice in, char decmark, struct arena *,
	    struct slice *out);
int	map_dec_parse(struct slice s, int *neg, struct slice *ip,
	    struct slice *fp);
int	map_dec_cmp(struct slice a, struct slice b, int *res);
int	map_dec_add(const char *a, size_t alen, const char *b, size_t blen,
	    char *out, size_t outlen);
int	map_int_parse(struct slice s, json_int_t *out);
int	map_date_valid(int y, int m, int d);
int	map_gtin_check(const char *digits, size_t n);

/* map_lookup.c */
struct map_lookup *map_lookup_new(struct arena *, const char *name);
int	map_lookup_addrow(struct map_lookup *, struct arena *, struct slice left,
	    struct slice right, enum map_rowdir, int bang, int replace);
int	map_lookup_csv(struct map_lookup *, struct arena *, const char *path,
	    char *err, size_t errlen);
/* As map_lookup_csv, reading path through a catalog load's cache. */
int	map_lookup_csv_cached(struct map_lookup *, struct arena *,
	    const char *path, struct structure_cache *, char *err,
	    size_t errlen);
int	map_lookup_build(struct map_lookup *, struct arena *);
void	map_lookup_bind(struct map_xform *);
const struct map_row *map_lookup_in(const struct map_lookup *, struct slice);

/* Where a code's probe starts (map_lookup.c lk_start). */
static inline uint32_t
map_lookup_ckhash(uint64_t ck)
{
	return (uint32_t)((ck * 0x9e3779b97f4a7c15ull) >> 32);
}

/*
 * map_lookup_in, inline for the lookup transform: a code of up to 7
 * bytes is one integer compared in its slots; a longer one (never the
 * key of a short code) is map_lookup_in's.  *slot: the slot of a row
 * found by the first way, else NULL.
 */
static inline const struct map_row *
map_lookup_code(const struct map_lookup *lk, struct slice code,
    const struct map_hent **slot)
{
	const struct map_hent *e = lk->in.e;
	uint64_t ck;
	uint32_t k;

	*slot = NULL;
	if (e == NULL)
		return NULL;
	if ((ck = map_codekey(code.p, code.len)) == MAP_CODEKEY_NONE)
		return map_lookup_in(lk, code);
	for (k = map_lookup_ckhash(ck) & lk->in.mask; e[k].row != NULL;
	    k = (k + 1) & lk->in.mask)
		if (e[k].ck == ck) {
			*slot = &e[k];
			return e[k].row;
		}
	return NULL;
}
const struct map_row *map_lookup_out(const struct map_lookup *,
	    struct slice);

/* map_compile.c */
struct map_compile_opts {
	const char	*maps_root;
	/* Use this structure instead of loading `structure` (tests); not owned. */
	const struct structure *structure;
	/* Files read once for all maps of a catalog; NULL: none. */
	struct structure_cache *cache;
	/*
	 * Parse only the header statements (and the blocks' nesting, which
	 * decides whether a header is at the top), following `extends`;
	 * link, lookup files and the hash are skipped (map_load_header).
	 */
	int		 header_only;
};
int	map_compile_text(const char *path, const char *name, const char *text,
	    size_t len, const struct map_compile_opts *, struct map **out,
	    struct buf *errors);

/* map_eval.c: the default texts of map diagnostics, one table. */
enum map_dmsg {
	MD_REQ = 0,	/* required value absent */
	MD_REQ_GROUP,	/* required group matched nothing */
	MD_REQ_WITHIN,	/* required `within` scope matched nothing */
	MD_TYPE,	/* transform could not convert */
	MD_TYPE_WARN,	/* gtin14/sscc pass-through */
	MD_LOOKUP,	/* table miss */
	MD_LOOKUP_BANG,	/* `-> !` row */
	MD_MULTI,	/* several matches, first taken */
	MD_MULTI_UNIQUE, /* several matches for a `unique` group */
	MD_DEFAULT,	/* `default` applied */
	MD_DEFAULT_OR,	/* `or` fell back to seq or a literal */
	MD_DEFAULT_LOOKUP, /* on-miss default */
	MD_TRUNC,	/* `max n` truncated */
	MD_MULTI_XML,	/* XML: several nodes, first taken */
	MD_MULTI_UNIQUE_XML, /* XML: several nodes for a `unique` group */
	MD_XPATH,	/* XML: an XPath could not be evaluated */
	MD_NMSG,
};
extern const char *const map_default_msg[MD_NMSG];

#endif /* MAP_INT_H */
