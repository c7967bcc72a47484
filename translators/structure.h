/*
 * structure.h: structure ("grammar") files, MAPS.md §2.  A structure tells
 * the parser where loops start and end, how a hierarchy is linked, where
 * qualifier/value pairs sit and what each element may hold.  Data, not code:
 * a new transaction set needs a .struct file, never a code change.
 *
 * A loaded structure is immutable and may be shared by many maps and
 * threads.  Variants (`extends`) are loaded with their base and chosen per
 * document by structure_select().
 */
#ifndef STRUCTURE_H
#define STRUCTURE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "slice.h"

enum struct_type {
	ST_AN = 1,	/* X12 AN, EDIFACT an */
	ST_A,		/* EDIFACT a */
	ST_N,		/* EDIFACT n: numeric, explicit decimal mark */
	ST_ID,		/* X12 ID: code value */
	ST_NN,		/* X12 N0..N9: implied decimals in ->decimals */
	ST_R,		/* X12 R: explicit decimal */
	ST_DT,		/* X12 DT: CCYYMMDD or YYMMDD */
	ST_TM,		/* X12 TM: HHMM[SS[d..]] */
	ST_COMPOSITE,	/* X12/EDIFACT composite: components follow */
};

enum struct_req {
	SR_OPTIONAL = 0,	/* O */
	SR_MANDATORY,		/* M */
	SR_CONDITIONAL,		/* X: governed by a syntax note */
};

struct struct_elem {
	char		 tag[4];
	int		 el;		/* 1.. */
	int		 comp;		/* 0 for the element itself, else 1.. */
	enum struct_type type;
	int		 decimals;	/* N0..N9 */
	unsigned	 min, max;	/* lengths; composites 0 */
	enum struct_req	 req;
	unsigned	 rep;		/* allowed repetitions, 1 by default */
	char		**codes;	/* NULL: any value */
	size_t		 ncodes;
	int		 line;		/* in the file, for diagnostics */
};

struct struct_loop;

struct struct_entry {
	int		 is_loop;
	char		 tag[4];	/* segment tag, or the loop's trigger */
	unsigned	 min, max;	/* max 0: unbounded ("*") */
	struct struct_loop *loop;	/* is_loop */
};

struct struct_hier;
struct struct_index;

struct struct_loop {
	char		 tag[4];	/* trigger segment; "" for the root */
	unsigned	 min, max;
	struct struct_entry *ent;	/* in standard order; ent[0] is the trigger */
	size_t		 nent;
	struct struct_loop *parent;
	const struct struct_hier *hier;	/* non-NULL for hierarchical loops */
	int		 line;
};

/* `pairs TAG FROM..TO qualifier=first|second` or `value=-01 qualifier=-02` */
struct struct_pairs {
	char		 tag[4];
	int		 from, to;	/* element positions */
	int		 qualifier_first; /* simple-element pairs */
	int		 value_comp;	/* composite form: component of value, else 0 */
	int		 qualifier_comp;
};

/* `hierarchy TAG id=NN parent=NN [level=NN] [children=NN] [count=ELEM]` */
struct struct_hier {
	char		 tag[4];
	int		 id, parent, level, children;	/* element positions, 0 none */
	char		 count_tag[4];			/* "CTT"; "" none */
	int		 count_el;
};

/* `syntax TAG P0506 R0203 ...` one relational condition */
struct struct_syntax {
	char		 tag[4];
	char		 kind;		/* P R E C L */
	int		 el[16];
	int		 nel;
	int		 line;
};

struct structure {
	char		*path;
	enum edi_syntax	 syntax;
	char		 doctype[8];	/* "850", "ORDERS" */
	char		**versions;	/* patterns: "004*", "D96A"; none = any */
	size_t		 nversions;
	char		*partner;	/* NULL: any partner */
	struct struct_loop root;	/* the set's segment table */
	struct struct_elem *elem;
	size_t		 nelem;
	struct struct_pairs *pairs;
	size_t		 npairs;
	struct struct_hier *hier;
	size_t		 nhier;
	struct struct_syntax *syn;
	size_t		 nsyn;
	struct structure **variant;	/* files that extend this one */
	size_t		 nvariant;
	const struct structure *base;	/* for a variant */
	struct struct_index *idx;	/* added: by tag, see below */
};

/*
 * A segment tag packed into an integer: up to three bytes, the first in the
 * low byte, zero past the end.  Distinct for distinct tags of 0..3 bytes.
 */
static inline uint32_t
structure_tagkey(const char *tag)
{
	return edi_tagkey_str(tag);
}

/*
 * What makes a value valid at a glance, see struct_segdef: min..max bytes
 * of text (type 0; max 0 for no text but the empty one).  A number of
 * that type (ST_NN, ST_R, ST_N: tmin..tmax digits), alphabetic text
 * (ST_A: tmin..tmax long), a valid date or time (ST_DT, ST_TM:
 * tmin..tmax bytes) and a composite's own entry
 * (ST_COMPOSITE: nothing) have min 1, max 0: the text test, the common
 * one, then always fails and the type is looked at only after it.
 */
struct struct_plain {
	unsigned	 min, max;
	uint16_t	 type;
	/*
	 * For UTF-8 (EDIFACT) text, where with min 1 the first byte must
	 * start a character: a non-empty value has min..max characters
	 * when len - 1 < umax (max, or 0 when min > 1) and its first byte
	 * masked with ulead (0xc0 when min is 1, else 0) is not 0x80.
	 */
	unsigned char	 ulead;
	/*
	 * 1: a number (ST_NN, ST_R, ST_N); 2: a date (ST_DT) that may be
	 * eight bytes long (CCYYMMDD, tmin..tmax holds 8); 0 otherwise.
	 */
	unsigned char	 quick;
	unsigned	 tmin, tmax;
	/*
	 * A number's count of digits n is at least 1 and within tmin..tmax
	 * exactly when n - tlo <= tspan (tlo the larger of 1 and tmin; tlo
	 * SIZE_MAX, tspan 0 when none is): one compare.
	 */
	size_t		 tlo, tspan;
	unsigned	 umax;
	uint64_t	 mbit;	/* a mandatory component: its bit in mcall */
};

/*
 * Everything a structure says about one segment tag, found by
 * structure_segdef() in constant time (added for the tree validator; the
 * tables above stay the source of truth and this only points into them).
 * Element positions are two digits, so elfirst[] covers them all.
 */
#define STRUCT_MAXPOS	100

struct struct_segdef {
	uint32_t	 key;		/* structure_tagkey(tag) */
	char		 tag[4];
	int		 in_table;	/* has an entry in the segment table */
	const struct struct_elem *elem;	/* the tag's run of elem[], sorted */
	size_t		 nelem;
	/* 1 + index into elem of the first entry of element el; 0 none */
	uint16_t	 elfirst[STRUCT_MAXPOS];
	unsigned char	 decl[16];	/* bit el: element el (comp 0) known */
	unsigned char	 repel[16];	/* bit el: declared with rep > 1 */
	int		 anyrep;	/* some bit of repel is set */
	uint64_t	 mand[2];	/* bit el: element el mandatory (M) */
	/*
	 * What a value needs to be valid without a closer look, by element
	 * el and component comp: vpl[el][comp], an entry of the index's
	 * vplain, when comp < vn[el] (vn 0: el is none of these).  A simple
	 * element with rep 1 has two entries (comp 0 and 1): an AN or ID
	 * element without a code list (text), a number without a code list,
	 * a date or a time.  A composite with rep 1 has its highest declared
	 * component + 1: entry 0 is type ST_COMPOSITE (no value is plain
	 * there), entry comp is as for a simple element, or all zero when
	 * the component is not plain or not declared.
	 */
	const struct struct_plain *vpl[STRUCT_MAXPOS];
	/*
	 * Component 1 (a simple element's own value) of every element, the
	 * common case, without the indirection: min and max of vplain's
	 * entry 1 for el (1 and 0 when typed), or 0 when vn[el] is 0.
	 */
	unsigned	 p1min[STRUCT_MAXPOS];
	unsigned	 p1max[STRUCT_MAXPOS];
	/*
	 * The same test as one comparison for byte-counted (X12) text: a
	 * length len is in p1min..p1max exactly when len - p1lo <= p1span
	 * (p1lo p1min, p1span p1max - p1min), or never when p1min > p1max
	 * (p1lo SIZE_MAX, p1span 0: no value is that long, see structure.c).
	 * As wide as a length: the test then takes them from memory as
	 * operands, without a load to widen each first.
	 */
	size_t		 p1lo[STRUCT_MAXPOS];
	size_t		 p1span[STRUCT_MAXPOS];
	unsigned	 p1umax[STRUCT_MAXPOS];	/* vplain's entry 1 umax */
	unsigned char	 p1ulead[STRUCT_MAXPOS]; /* and ulead */
	/* vplain's entry 1 for el when it is typed; NULL otherwise */
	const struct struct_plain *p1ty[STRUCT_MAXPOS];
	uint64_t	 p1mbit[STRUCT_MAXPOS];	/* vplain's entry 1 mbit */
	/*
	 * 1 << el, for el < 64: X12's value scan indexes sd's arrays by
	 * el anyway, so the present bit comes from the same address
	 * without a register for a table of its own.
	 */
	uint64_t	 elbit[64];
	unsigned char	 vn[STRUCT_MAXPOS];
	int		 mandcomp;	/* some component is mandatory */
	/* elem[mcfirst..mcend): every mandatory component among them */
	size_t		 mcfirst, mcend;
	/*
	 * Exactly the mandatory components, in order, each as el << 16 |
	 * comp: the values' order, compared as one number.
	 */
	const uint32_t	*mcomp;
	size_t		 nmcomp;
	/*
	 * mcomp[i]'s vplain entry has mbit 1 << i, and mcall is all of
	 * them; 0 when some mandatory component has no entry (its
	 * composite repeats) or there are more than 64.  A segment whose
	 * values are all repetition 1 and name every bit of mcall has
	 * every mandatory component.
	 */
	uint64_t	 mcall;
	/*
	 * 0 when, for a segment whose values are all repetition 1 at
	 * positions below 64, every element of mand[0] present and every
	 * bit of mcall seen settle the requirement and nothing else is
	 * asked: no mandatory position past 63, no mandatory component
	 * that mcall leaves out, no syntax note.
	 */
	int		 qmore;
	/*
	 * For such a segment (values all repetition 1 below 64) with every
	 * bit of mcall and no pair of p1mask apart: bit ((bit0 >> qvlo) &
	 * qvmask) of qverd is 1 when nothing else is asked, that is when
	 * every element of mand[0] is present and synverd holds, if there
	 * is no mandatory position past 63, no mandatory component that
	 * mcall leaves out, the notes are synverd's to decide (or there
	 * are none) and the positions of mand[0] and of those notes lie
	 * within six of one another; qverd is 0 otherwise.
	 */
	uint64_t	 qverd;
	uint64_t	 qvmask;
	unsigned char	 qvlo;
	/*
	 * Which scan of X12 values seg_quiet() takes, as one test: 0 with
	 * declarations and mcall 0 (nearly all), 1 with mcall, 2 without
	 * declarations (nelem 0).
	 */
	unsigned char	 qscan;
	unsigned char	 mcel[64];	/* bit i of mcall: mcomp[i]'s element */
	/*
	 * The present bits of those elements below 64: a segment whose
	 * values are all below 64 and meet none of them asks for none of
	 * mcall's components (their elements are absent).
	 */
	uint64_t	 mcebit;
	const struct struct_syntax *const *syn;	/* the tag's notes, in order */
	const struct struct_synmask *synmask;	/* syn[i]'s positions */
	size_t		 nsyn;
	uint64_t	 synall[2];	/* bit el: some note names element el */
	/*
	 * The notes "P" of two neighbours (P0607, P0809: most of them) as
	 * bit el of p1mask, el < 63: they all hold exactly when no such bit
	 * differs from the next one up.  synrest[0..nsynrest): the indexes
	 * in syn of the other notes, in order.
	 */
	uint64_t	 p1mask;
	const uint16_t	*synrest;
	size_t		 nsynrest;
	/*
	 * synrest's notes as masks over bit[0] (struct struct_synfast),
	 * in the same order; NULL when some note is an "E" or names a
	 * position past 63, and the notes are tried one by one.
	 */
	const struct struct_synfast *synfast;
	/*
	 * With synfast, when the positions of synrest's notes lie within
	 * six of one another (synvw set): bit ((bit0 >> synlo) & synvmask)
	 * of synverd is 1 exactly when all of them hold on bit0, the
	 * present-element bits, every answer worked out at load time.
	 */
	uint64_t	 synverd;
	uint64_t	 synvmask;
	unsigned char	 synlo;
	unsigned char	 synvw;
	/*
	 * With synfast, the union of its a masks: when a segment's bits
	 * (with bit 0) meet none of them, no note of synrest is triggered
	 * and all hold (an "R" note, whose a is bit 0, always meets it).
	 */
	uint64_t	 synuntrig;
	uint32_t	 idx;		/* this entry's index in seg[] */
	uint32_t	 col;		/* an entry's tag: its trans column; 0 */
	const struct struct_pairs *pairs;	/* first `pairs`, or NULL */
	const struct struct_hier *hier;		/* first `hierarchy`, or NULL */
};

/*
 * A syntax note "P", "R", "C" or "L" whose positions are all below 64 as
 * one test over b, a segment's present-element bits 1..63 (bit 0 clear):
 * it holds when ((b | 1) & a) == 0 (not triggered: P none present, C and
 * L el[0] absent; R never, a is bit 0), or (b & need) == need (P and C
 * all present; never for R and L, need is bit 0), or (b & any) != 0 (R
 * one present, L one of el[1..]; 0 for P and C).
 */
struct struct_synfast {
	uint64_t	 a, need, any;
};

/*
 * One position of the placement automaton (struct_index's pos): entry j of
 * one occurrence of a loop in the segment table, or the place past its
 * last entry (ent NULL).  The positions of an occurrence are consecutive,
 * an occurrence's nested loops follow it, and the root's come first.
 *
 * Placement (MAPS.md §2) keeps one open frame per loop level, each
 * at the position of its last placement; an outer frame is always at the
 * entry of the loop open above it.  So the innermost frame's position
 * alone says where the next segment goes: the first entry with its tag at
 * or after that position, else at or after the enclosing loop's entry,
 * and so on outward.  trans holds that answer for every position and tag.
 * 64 bytes on LP64, so that pos[] is indexed by a shift.
 */
struct struct_pos {
	const struct struct_loop *loop;	/* the occurrence's declaration */
	const struct struct_entry *ent;	/* entry j; NULL past the end */
	uint32_t	 key;		/* structure_tagkey(ent->tag); 0 */
	uint32_t	 depth;		/* loop's nesting, the root's 0 */
	uint32_t	 end;		/* the occurrence's position past the end */
	/* past the end, depth > 0: the enclosing loop's entry for this one */
	uint32_t	 up;
	/*
	 * A loop entry: its loop (ent->loop), the nested occurrence's
	 * position after its trigger, where a new instance starts (its end
	 * when it has no entries); NULL and 0 for a segment.  trigshort:
	 * the trigger, counted once per instance, is declared with a
	 * minimum above 1.
	 */
	const struct struct_loop *cloop;
	uint32_t	 child;
	uint32_t	 trigshort;
	/*
	 * A segment count below min is reported when the instance closes;
	 * envelope tags (ST, SE, UNH, UNT) are never reported there and have
	 * min 0.  nextmin: the next position of the occurrence with min > 0,
	 * or end.
	 */
	unsigned	 min, max;
	uint32_t	 nextmin;
	/*
	 * Whether a frame at this position has an entry to report when it
	 * closes, as one compare of its run: it has when run < popmin
	 * (min, or UINT_MAX when a later entry has a minimum).
	 */
	unsigned	 popmin;
};

/* The positions of a syntax note as bits: all of them, and el[1..]. */
struct struct_synmask {
	uint64_t	 all[2];
	uint64_t	 rest[2];
};

/*
 * The slot table's hash: the top bits of key * STRUCT_SLOT_MUL.  An odd
 * number chosen so that every shipped structure's tags (maps/structures)
 * each have a home slot of their own at 256 to 4096 slots: a tag out of
 * its home takes placement's probe every time it comes, and with
 * 0x9E3779B1 DTM shared TAX's up to 2048 slots.
 */
#define STRUCT_SLOT_MUL	0xBAEC1FCFU

struct struct_index {
	struct struct_segdef *seg;
	size_t		 nseg;
	/*
	 * Open addressing, sd NULL (key and col 0) for a free slot.  The key
	 * beside the pointer: a lookup reads one slot, not the definition,
	 * to compare.  col: sd's, for placement without reading sd.
	 */
	struct struct_slot {
		uint32_t	 key;
		uint32_t	 col;
		const struct struct_segdef *sd;
	}		*slot;
	unsigned	 bits;		/* 1 << bits slots */
	const struct struct_syntax **syn;	/* grouped by tag, file order */
	struct struct_synmask *synmask;		/* parallel to syn */
	uint16_t	*synrest;		/* segdefs' synrest */
	struct struct_synfast *synfast;		/* segdefs' synfast */
	struct struct_plain *vplain;		/* segdefs' vplain */
	uint32_t	*mcomp;			/* segdefs' mcomp */
	/*
	 * The placement automaton over st->root, see struct_pos.  With
	 * trans, trans[g * ncol + sd->col] is 1 + the position a segment
	 * of sd's tag goes to from position g, or 0 when no open loop
	 * declares it there (column 0: tags outside the segment table).
	 * trans is NULL when the table would be too large; placement
	 * then walks pos from g instead, to the same answer.
	 */
	struct struct_pos *pos;
	size_t		 npos;
	uint16_t	*trans;
	uint32_t	 ncol;
	/*
	 * With trans, act[g * ncol + col] is trans's answer with what that
	 * step does worked out (STRUCT_ACT_*): a frame at g is the innermost
	 * one (placement keeps its position at its loop's depth), so how
	 * many frames close, where the frame that takes the segment stands,
	 * and whether it opens a new instance depend only on g and the tag.
	 */
	uint32_t	*act;
};

/*
 * act's bits: the position, then SAME: the frame that takes the segment
 * is at that position already (another segment of the same entry), MAX:
 * SAME, and the entry has a maximum, CHILD: a loop entry whose instance
 * opens, with a frame at its first position after the trigger, and NPOP:
 * the number of frames that close first, each instance ending with the
 * segment before.  GEN (the sign bit): the step depends on the counts so
 * far (an entry left or closed with a minimum it may not have reached,
 * one skipped, a trigger counted against a minimum above 1, the depth
 * limit), or there is none; placement takes its general steps, and
 * STRUCT_ACT_POS then holds trans's value (1 + the position, 0 none).
 */
#define STRUCT_ACT_POS		0xffffU
#define STRUCT_ACT_SAME		(1U << 16)
#define STRUCT_ACT_MAX		(1U << 17)
#define STRUCT_ACT_CHILD	(1U << 18)
#define STRUCT_ACT_NPOPS	(0x3fU << 24)
#define STRUCT_ACT_NPOP(e)	((e) >> 24 & 0x3f)
#define STRUCT_ACT_GEN		(1U << 31)

/*
 * Index of st (structure_load builds one for every structure it returns;
 * structure_free frees it).  The index points into st, which must outlive
 * it.  Never NULL.
 */
struct struct_index *structure_index_new(const struct structure *st);
void	structure_index_free(struct struct_index *);

/*
 * structure_segdef() on ix's slot and bits, which a caller looking up many
 * tags keeps in locals.
 */
static inline const struct struct_segdef *
structure_segdef_at(const struct struct_slot *slot, unsigned bits,
    uint32_t key)
{
	uint32_t j = (key * STRUCT_SLOT_MUL) >> (32 - bits);

	/* a free slot's sd is NULL: the answer when the key is absent */
	while (slot[j].sd != NULL && slot[j].key != key)
		j = (j + 1) & ((1U << bits) - 1);
	return slot[j].sd;
}

static inline const struct struct_segdef *
structure_segdef(const struct struct_index *ix, uint32_t key)
{
	return structure_segdef_at(ix->slot, ix->bits, key);
}

/*
 * Load path and every file in the same folder that `extends` it (by file
 * name).  On error returns a negative EG_ERR_* and writes "file:line:col:
 * message" to err.
 */
ssize_t	structure_read_all(int fd, char *buf, size_t len);
int	structure_load(const char *path, struct structure **out,
	    char *err, size_t errlen);
void	structure_free(struct structure *);

/*
 * The files read while loading one catalog, each read once: a folder's
 * *.struct files (every structure_load scans its folder for variants) and
 * other files by path (lookup CSVs).  Only texts are kept, never a parsed
 * structure, so what a load returns is the caller's as with
 * structure_load.  One thread; free it when the load is done.
 */
struct structure_cache;

struct structure_cache *structure_cache_new(void);
void	structure_cache_free(struct structure_cache *);
/* As structure_load, reading files through sc (NULL: none). */
int	structure_load_cached(struct structure_cache *sc, const char *path,
	    struct structure **out, char *err, size_t errlen);
/*
 * The text of path (NUL-terminated, at most EG_MAX_MAP_SIZE bytes), valid
 * until sc is freed; -1 when it cannot be read, the caller then reads the
 * file itself to report why.
 */
int	structure_cache_text(struct structure_cache *sc, const char *path,
	    const char **text, size_t *len);

/*
 * The most specific of base and its variants for a document version (the
 * longest matching pattern) and partner (NULL: none).  Never NULL.  A
 * variant is indexed (idx) the first time it is answered, so use what
 * this returns, not base->variant[i]; safe from several threads at once.
 */
const struct structure *structure_select(const struct structure *base,
	    struct slice version, const char *partner);

/* 1 when version matches one of the patterns (a pattern ending in '*' is a
 * prefix; no patterns matches everything). */
int	structure_version_match(char *const *patterns, size_t n,
	    struct slice version);

/* Element definition, comp 0 for the element itself; NULL if undeclared. */
const struct struct_elem *structure_elem(const struct structure *,
	    const char *tag, int el, int comp);
/* 1 when the segment tag appears anywhere in the segment table. */
int	structure_has_segment(const struct structure *, const char *tag);
/* The loop declaration triggered by tag (first found, depth-first). */
const struct struct_loop *structure_loop(const struct structure *,
	    const char *tag);
const struct struct_pairs *structure_pairs(const struct structure *,
	    const char *tag);
const struct struct_hier *structure_hier(const struct structure *,
	    const char *tag);

#endif /* STRUCTURE_H */
