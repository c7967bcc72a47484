/*
 * edi.h: the syntax-neutral model of one transaction set (X12 ST..SE,
 * EDIFACT UNH..UNT) as the parsers hand it over and the map engine reads it.
 *
 * Ownership: everything reachable from a struct edi_set lives in the set's
 * arena or in the input bytes, and is valid only during the callback that
 * delivers the set.  The map engine must copy what an event keeps.
 *
 * Positions are 1-based everywhere: element 1 is the first after the tag,
 * component 1 is the element itself for a simple element, repetition 1 is
 * the first occurrence.
 */
#ifndef EDI_H
#define EDI_H

#include <stdint.h>
#include <string.h>

#include "slice.h"

struct arena;
struct diag_sink;
struct structure;
struct struct_loop;

enum edi_syntax {
	EDI_X12 = 1,
	EDI_EDIFACT,
	EDI_XML,		/* cXML, UBL and other supplier XML */
};

/* One non-empty value: element el, repetition rep, component comp. */
struct edi_val {
	struct slice	 s;		/* unescaped bytes (EDIFACT release removed) */
	uint16_t	 el;
	uint16_t	 rep;
	uint16_t	 comp;
};

struct edi_loop;
struct edi_delims;

struct edi_seg {
	char		 tag[4];	/* NUL-padded: edi_seg_tagkey() */
	uint32_t	 filepos;	/* position in the file, envelopes included */
	uint32_t	 setpos;	/* from ST/UNH = 1; 0 for envelope segments */
	uint16_t	 nel;		/* element positions present, empty included */
	uint16_t	 nval;
	struct edi_val	*val;		/* non-empty values, in (el, rep, comp) order */
	struct slice	 raw;		/* the segment text, without terminator */
	struct edi_loop	*loop;		/* innermost loop instance (tree built) */
};

/*
 * Whether the tokenizers may take their AVX2 (with BMI1/BMI2) loop: the
 * CPU has the three and EDIGATE_SIMD is not "sse2".  Asked once per parse;
 * the variable lets the tests (and an operator ruling out the CPU) run the
 * SSE2 loop on any machine.
 */
int	edi_avx2(void);

/*
 * One pass over an X12 set's text (raw): EDI_SCAN_PLAIN when no byte but
 * the element, component and segment delimiters, and line breaks after a
 * segment terminator, is a control, '"', '\\' or above 0x7f (the set's
 * plain); EDI_SCAN_RS when the byte rs occurs (0: not asked).  Without
 * AVX2 the first is not looked for.
 */
#define EDI_SCAN_PLAIN	0x1
#define EDI_SCAN_RS	0x2
unsigned edi_set_scan(struct slice raw, const struct edi_delims *d, char rs);

/*
 * The end of s's values.  val is NULL when there are none, and NULL + 0
 * is undefined in C: a walk from s->val to here is then empty.
 */
static inline struct edi_val *
edi_val_end(const struct edi_seg *s)
{
	return s->nval ? s->val + s->nval : s->val;
}

/*
 * A segment tag as an integer: up to three bytes, the first in the low
 * byte, zero past the end.  Distinct for distinct tags of 0..3 bytes; any
 * NUL-terminated string (structure_tagkey), byte by byte.
 */
static inline uint32_t
edi_tagkey_str(const char *tag)
{
	uint32_t k;

	if (tag[0] == '\0')
		return 0;
	k = (unsigned char)tag[0];
	if (tag[1] == '\0')
		return k;
	k |= (uint32_t)(unsigned char)tag[1] << 8;
	if (tag[2] == '\0')
		return k;
	return k | (uint32_t)(unsigned char)tag[2] << 16;
}

/*
 * edi_tagkey_str() of a segment's tag (equal to map_tagkey() too).  Bytes
 * past the tag's NUL may be anything, so a tag of two or three bytes
 * (tag[3] is NUL) is the low three bytes of one little-endian load; only
 * a tag of fewer than two bytes, never a valid one, is packed byte by
 * byte.  The tree builder keys every segment this way.
 */
static inline uint32_t
edi_tagkey(const char tag[4])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t k;

	memcpy(&k, tag, sizeof(k));
	k &= 0xffffffU;
	if ((k & 0xffU) != 0 && (k & 0xff00U) != 0)
		return k;
#endif
	return edi_tagkey_str(tag);
}

/*
 * edi_tagkey() of a segment's tag.  Every parser NUL-pads the tag (all
 * four bytes past its end are 0; a 3-byte tag's fourth is its NUL), and
 * code that builds a segment by hand must too (memset, or a string
 * literal's array): then, on a little-endian CPU, the key is the load
 * itself, with no test of where the tag ends.
 */
static inline uint32_t
edi_seg_tagkey(const struct edi_seg *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t k;

	memcpy(&k, s->tag, sizeof(k));
	return k;
#else
	return edi_tagkey_str(s->tag);
#endif
}

/*
 * A parser's last step on a tag it found bad, which may hold a NUL byte
 * from the input ("A\0B"): the bytes past its first NUL zeroed, so that
 * edi_seg_tagkey() keys it as edi_tagkey() does.
 */
static inline void
edi_tag_pad(char tag[4])
{
	size_t	 n = strnlen(tag, 4);

	memset(tag + n, 0, 4 - n);
}

/*
 * A loop instance is a contiguous run of the set's segments: its trigger
 * segment seg[first] and everything placed after it up to seg[last],
 * including the segments of nested loop instances (kids).
 */
struct edi_loop {
	const struct struct_loop *decl;	/* NULL for the set's root */
	uint32_t	 first, last;	/* indexes into set->seg */
	struct edi_loop	*parent;	/* enclosing instance; NULL for root */
	struct edi_loop	**kid;		/* nested instances, in order */
	uint32_t	 nkid;
	/* Hierarchy (HL, CPS): set when the structure declares one. */
	struct edi_loop	*hparent;	/* NULL: a root of the hierarchy */
	struct slice	 hid;		/* HL01 / CPS01 */
};

struct edi_delims {
	char		 element;	/* X12 ISA byte 3; EDIFACT + */
	char		 component;	/* ISA16; EDIFACT : */
	char		 repetition;	/* ISA11 from 00402; EDIFACT *; 0 none */
	char		 segment;	/* after ISA16; EDIFACT ' */
	char		 release;	/* EDIFACT ?; 0 none */
	char		 decimal;	/* EDIFACT . or ,; X12 . */
};

/* The envelope a set arrived in.  Segments are parser-owned copies. */
struct edi_env {
	enum edi_syntax	 syntax;
	const struct edi_seg *interchange;	/* ISA / UNB */
	const struct edi_seg *group;		/* GS / UNG; may be NULL (EDIFACT) */
	struct edi_delims delims;
	uint32_t	 interchange_index;	/* 1-based in file */
	uint32_t	 group_index;		/* 1-based in file */
};

struct edi_set {
	const char	*filename;	/* for diagnostics; may be NULL */
	struct edi_env	 env;
	struct slice	 doctype;	/* ST01 / UNH 0065 */
	struct slice	 version;	/* GS08 / UNH 0052+0054 ("D96A") */
	struct slice	 control;	/* ST02 / UNH 0062 */
	struct edi_seg	*seg;		/* header (ST/UNH) .. trailer, in order */
	uint32_t	 nseg;
	struct slice	 raw;		/* the set's bytes in the input */
	struct edi_loop	*root;		/* set by edi_tree_build() */
	struct arena	*arena;
	int		 rejected;	/* syntax errors found: AK5 R */
	/*
	 * Every segment's text (raw) lies inside the set's raw, as the X12
	 * parser builds its sets; 0 when not known (the tree builder then
	 * looks at each).
	 */
	int		 segs_in_raw;
	/*
	 * No byte of raw but the delimiters is one that JSON escapes or that
	 * is not ASCII, so a value whose text lies in raw can go into a
	 * document as it is (edi_set_scan; set by edi_tree_build for X12;
	 * for EDIFACT by its parser, which edi_tree_build leaves alone).
	 */
	int		 plain;
	/*
	 * EDI_XML: the whole document is one set with no segments (nseg 0).
	 * doctype is the root's local name ("cXML", "Order"), version the
	 * cXML version or cbc:UBLVersionID, control the cXML payloadID.
	 */
	void		*xml;		/* xmlDocPtr, owned by the parser */
	struct slice	 xml_ns;	/* namespace URI of the root; empty none */
	struct slice	 xml_request;	/* cXML: OrderRequest, ...; else empty */
	struct slice	 xml_sender;	/* cXML From credential; UBL sender party */
};

/*
 * Repetitions (added by the X12 parser work, see x12.c): the X12 tokenizer
 * does NOT split elements at the repetition separator.  Real partners send
 * ISA11 characters such as '-' that also occur in data (N403 31139-0020),
 * so an eager split corrupts values.  Until edi_tree_build() runs, every
 * element is repetition 1 holding its whole text (components split).
 * edi_tree_build() re-splits, at the repetition separator, exactly the
 * elements its structure declares `rep N` with N > 1, and reports a
 * repetition separator found in any other declared element (error, AK403
 * 12, unless the separator is a character that plausibly is data, then a
 * warning) while leaving its text whole.  EDIFACT parsers split
 * repetitions themselves (the release character makes it unambiguous).
 *
 * X12 TA1: a TA1 directly inside an interchange is delivered as a
 * pseudo-set with doctype "TA1", control TA101, version ISA12, seg[] = just
 * the TA1 (setpos 1) and env.group NULL, so a map can turn it into
 * ack.received.  It does not count as a functional group (IEA01).
 *
 * The value at (el, comp, rep), or NULL when absent or empty.
 * A simple element is its own component 1 (MAPS.md: BGM02 == BGM02-01).
 */
const struct slice *edi_value(const struct edi_seg *, int el, int comp,
		    int rep);
/* Number of repetitions of element el present (0 when absent). */
int		 edi_nrep(const struct edi_seg *, int el);

/*
 * Date and time checks shared by the parsers, the tree validator and maps
 * (added): 1 when s is a valid CCYYMMDD or YYMMDD date (YYMMDD only when
 * short is set), resp. HHMM[SS[d..d]] time; 0 otherwise.
 */
int		 edi_valid_date(struct slice s, int allow_short);
int		 edi_valid_time(struct slice s);

/*
 * Build the loop tree of set from its structure (MAPS.md §2 placement) and
 * validate segments and elements against it: requirement, repeat counts,
 * element types and lengths, codes, syntax notes, hierarchy links and the
 * hierarchy count.  Problems go to ds with AK304/AK403 codes; the tree is
 * always built (undeclared segments stay in the current loop with a
 * warning).  Sets set->rejected on any error.  Returns 0 or EG_ERR_LIMIT.
 */
int		 edi_tree_build(struct edi_set *, const struct structure *,
		    struct diag_sink *);

#endif /* EDI_H */
