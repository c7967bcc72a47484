/*
 * x12.c: ANSI X12 tokenizer and envelope state machine (translator_x12).
 *
 * Reads the delimiters of each ISA (by finding its 16 element separators,
 * not by assuming 106 bytes), cuts segments with memchr on the terminator,
 * tracks ISA/IEA, GS/GE and ST/SE, checks counts and control numbers, and
 * hands each transaction set to the caller as one struct edi_set.  Per-set
 * values live in an arena that is reset after every set, so memory does not
 * grow with the number of sets; the ISA and GS copies live in two small
 * arenas of their own for the life of the interchange / group.  Pure: no
 * I/O, no global state, never aborts on partner data.
 *
 * Diagnostic codes (stable; the docs catalogue is generated from this table):
 *
 *   X12-EMPTY        FILE   the input is empty
 *   X12-TOO-BIG      FILE   the input exceeds EG_MAX_DOC_SIZE
 *   X12-NOT-EDI      FILE   the input does not start with an ISA segment
 *   X12-OUTSIDE      FILE   a segment outside any interchange (after IEA)
 *   X12-COMMENT      FILE/INTERCHANGE  a non-X12 "//" comment line, skipped
 *   X12-ISA          INTERCHANGE  ISA unreadable: separators not found or
 *                           unusable delimiters (TA105 022/026/027/004)
 *   X12-ISA-FIELD    INTERCHANGE  an ISA field has the wrong size or value
 *                           (TA105 005..020 by field)
 *   X12-ISA-DATE     INTERCHANGE  ISA09 is not a valid YYMMDD (TA105 014)
 *   X12-ISA-TIME     INTERCHANGE  ISA10 is not a valid HHMM (TA105 015)
 *   X12-ISA-DUP      INTERCHANGE  warning: ISA13 repeats an earlier
 *                           interchange of this file (TA105 025)
 *   X12-IEA-COUNT    INTERCHANGE  IEA01 is not the number of groups (021)
 *   X12-IEA-CONTROL  INTERCHANGE  IEA02 differs from ISA13 (001)
 *   X12-IEA-MISSING  INTERCHANGE  the interchange has no IEA (023)
 *   X12-UNEXPECTED   INTERCHANGE/GROUP  a segment between envelopes, not
 *                           inside a set (TA105 024; AK905 none)
 *   X12-GS-FIELD     GROUP  a GS element is missing or invalid (TA105 024)
 *   X12-GS-DATE      GROUP  GS04 is not a valid date (TA105 024, AK403 8)
 *   X12-GS-TIME      GROUP  GS05 is not a valid time (TA105 024, AK403 9)
 *   X12-GS-ID        GROUP  warning: GS01 does not carry ST01 (PO vs 856)
 *   X12-GE-COUNT     GROUP  GE01 is not the number of sets (AK905 5)
 *   X12-GE-CONTROL   GROUP  GE02 differs from GS06 (AK905 4)
 *   X12-GE-MISSING   GROUP  the group has no GE (AK905 3)
 *   X12-NO-GROUP     INTERCHANGE  an ST outside a functional group; the
 *                           set is skipped (AK502 18)
 *   X12-ST-FIELD     SET    ST01 or ST02 missing or invalid (AK502 6 / 7)
 *   X12-ST-DUP       SET    ST02 repeats within the group (AK502 23)
 *   X12-SE-COUNT     SET    SE01 is not the number of segments (AK502 4)
 *   X12-SE-CONTROL   SET    SE02 differs from ST02 (AK502 3)
 *   X12-SE-MISSING   SET    the set has no SE (AK502 2)
 *   X12-SET-LIMIT    SET    the set exceeds EG_MAX_SET_SIZE, _SEGMENTS or
 *                           its arena; the rest of it is not kept (AK502 5)
 *   X12-SEG-LONG     SET/INTERCHANGE  a segment over EG_MAX_SEGMENT_LEN;
 *                           its values are not read (AK304 8)
 *   X12-SEG-VALUES   SET/INTERCHANGE  too many values, elements, components
 *                           or repetitions in one segment (AK403 3)
 *   X12-SEG-TAG      SET/INTERCHANGE  a segment tag that is not 2-3
 *                           uppercase letters or digits (AK304 1)
 *   X12-DIAG-LIMIT   SET    more than EG_MAX_DIAGS_PER_SET diagnostics
 *
 * Acknowledgement fields: ack_ta1 holds the TA105 note code.  For SET
 * scope envelope codes (X12-ST-*, X12-SE-*, X12-SET-LIMIT) ack_seg holds
 * the AK502/IK502 transaction set syntax error code (718); for GROUP
 * scope codes (X12-GE-*) ack_seg holds the AK905 functional group syntax
 * error code (716).  Segment-level codes inside a set (X12-SEG-*) use
 * ack_seg/ack_el as AK304/AK403, like the tree validator.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* x86 compilers that take target("avx2,bmi,bmi2"): 32 bytes per load */
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__)) && \
    defined(__GNUC__)
#define X12_AVX2	1
#include <immintrin.h>
#endif

#include "arena.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "refset.h"
#include "setbuf.h"
#include "translator.h"
#include "x12.h"
#include "xmalloc.h"

enum x12_state {
	XS_OUT = 0,	/* no interchange open */
	XS_ISA,		/* interchange open, no group */
	XS_GS,		/* group open, no set */
	XS_ST,		/* set open */
	XS_SKIP,	/* skipping an ST outside a group, until SE */
};


struct x12 {
	struct slice	 in;
	const char	*filename;
	const struct edi_handler *h;
	void		*arg;
	struct diag_sink *ds;
	struct edi_delims d;
	int		 have_delims;
	enum x12_state	 state;
	uint32_t	 filepos;
	int		 stop;		/* a handler's negative return */
	int		 outrun;	/* in a run of unexpected segments */
	int		 commented;	/* a comment line was reported */
	/*
	 * Sets offered to other threads (set_offer()): the group's snapshot,
	 * made at its first offer and let go at the next ISA or GS; worker:
	 * this parser reads one offered set (x12_msg_parse()); skipto: the
	 * offset to go on at, past a set taken; diag_fp: the latest filepos
	 * diagnosed.
	 */
	struct x12_snap	*snap;
	int		 worker;
	size_t		 skipto;
	uint32_t	 diag_fp;

	/* interchange */
	struct arena	 iar;
	struct edi_seg	 isa;
	int		 iok;
	uint32_t	 ngroups, iindex;
	struct refset	 isactl;

	/* group */
	struct arena	 gar;
	struct edi_seg	 gs;
	struct slice	 gs01, gs08;	/* val(&gs, 1), val(&gs, 8) */
	int		 gok;
	uint32_t	 nsets, gindex;
	struct refset	 stctl;	/* the group's ST02s (a run, mostly) */
	/*
	 * fid_match()'s last answer, for the next ST: GS01 and ST01's bytes
	 * (fid_key()), 0 for none, and whether it was worth a warning.
	 */
	uint64_t	 fid_key;
	int		 fid_warn;

	/* set */
	struct arena	 sar;
	struct edi_set	 set;
	struct setbuf	 sb;
	uint32_t	 st_filepos;
	int		 rejected;
	unsigned	 ndiag;
	struct slice	 st01, st02;

#if defined(__SSE2__)
	/* scan_plain(): the element, component and segment bytes */
	__m128i		 ves, vcs, vst;
	int		 avx2;		/* fast_run_avx2() */
	/*
	 * scan_plain()'s position after a component (k = 0) or element
	 * (k = 1) separator, (erc & erc_step[k]) + erc_step[k + 2]: in x,
	 * whose pointer the loop holds anyway, it needs no table base.
	 */
	uint64_t	 erc_step[4];
#endif
#ifdef X12_AVX2
	/*
	 * classify_avx2()'s element, component and segment bytes, 32 of
	 * each: compared straight from memory (VEX takes unaligned operands)
	 * instead of broadcast per block.
	 */
	unsigned char	 b32[3][32];
#endif
#if defined(__SSE2__)
	/*
	 * Copies of lead[] and tagok[]: indexed from x, which the loop holds
	 * anyway, they need no table address of their own per segment.
	 */
	unsigned char	 xlead[256], xtagok[256];
#endif
	struct edi_val	 scratch[EG_MAX_SEG_VALUES];
};

/* GS01 functional identifier -> the ST01 values it may carry. */
static const struct {
	const char	*gs01;
	const char	*st01;	/* space separated */
} x12_fids[] = {
	{ "AG", "824" },
	{ "AR", "943" },
	{ "BE", "834" },
	{ "CA", "865" },
	{ "CT", "832" },
	{ "FA", "997 999" },
	{ "GF", "990" },
	{ "HB", "271" },
	{ "HC", "837" },
	{ "HI", "278" },
	{ "HN", "277" },
	{ "HP", "835" },
	{ "HR", "276" },
	{ "HS", "270" },
	{ "IB", "846" },
	{ "IM", "210" },
	{ "IN", "810" },
	{ "OW", "940" },
	{ "PC", "860" },
	{ "PD", "867" },
	{ "PO", "850" },
	{ "PR", "855" },
	{ "PS", "830" },
	{ "QM", "214" },
	{ "RA", "820" },
	{ "RE", "944" },
	{ "SH", "856" },
	{ "SM", "204" },
	{ "SS", "862" },
	{ "SW", "945" },
	{ "TX", "864" },
};

static void	snap_let_go(struct x12 *);

static int
is_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
all_digits(struct slice s)
{
	size_t	 i;

	if (s.len == 0)
		return 0;
	for (i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
	return 1;
}

/* Decimal value of an all-digit slice (leading zeros allowed). */
static int
parse_u32(struct slice s, uint32_t *out)
{
	uint64_t v = 0;
	size_t	 i;

	if (!all_digits(s) || s.len > 20)
		return EG_ERR_SYNTAX;
	for (i = 0; i < s.len; i++) {
		v = v * 10 + (unsigned)(s.p[i] - '0');
		if (v > UINT32_MAX)
			return EG_ERR_SYNTAX;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * Whether parse_u32(s) would give n, in one pass: all digits (leading
 * zeros allowed), at most 20, of value n.
 */
static inline int
u32_is(struct slice s, uint32_t n)
{
	uint64_t v = 0;
	size_t	 i;
	unsigned d;

	if (s.len == 0 || s.len > 20)
		return 0;
	for (i = 0; i < s.len; i++) {
		if ((d = (unsigned)(unsigned char)s.p[i] - '0') > 9)
			return 0;
		/* past UINT32_MAX it stays past n */
		if ((v = v * 10 + d) > UINT32_MAX)
			return 0;
	}
	return v == n;
}

/* Same number, ignoring leading zeros (both all digits). */
static int
num_equal(struct slice a, struct slice b)
{
	if (!all_digits(a) || !all_digits(b))
		return 0;
	while (a.len > 1 && a.p[0] == '0') {
		a.p++;
		a.len--;
	}
	while (b.len > 1 && b.p[0] == '0') {
		b.p++;
		b.len--;
	}
	return slice_eq(a, b);
}

static struct slice
val(const struct edi_seg *seg, int el)
{
	const struct slice *s = edi_value(seg, el, 1, 1);

	return s ? *s : slice_make("", 0);
}

/* -- tokenizer ---------------------------------------------------------- */

/*
 * First byte in [p, e) that is a, b or c: eight bytes per step (SWAR).  The
 * lowest flagged byte of the zero-byte test is exact, so on little-endian
 * machines the first match is found without false positives.
 */
static inline const unsigned char *
scan3(const unsigned char *p, const unsigned char *e, unsigned char a,
    unsigned char b, unsigned char c)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	const uint64_t ma = ones * a, mb = ones * b, mc = ones * c;
	uint64_t w, x, y, z, m;

	while (e - p >= 8) {
		memcpy(&w, p, 8);
		x = w ^ ma;
		y = w ^ mb;
		z = w ^ mc;
		m = ((x - ones) & ~x) | ((y - ones) & ~y) | ((z - ones) & ~z);
		m &= high;
		if (m != 0)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < e && *p != a && *p != b && *p != c)
		p++;
	return p;
}

/*
 * memchr for the segment terminator, which is usually a few dozen bytes
 * away: the first 32 bytes are tested inline (SSE2), only longer segments
 * pay for the call.
 */
static inline const char *
find_byte(const char *p, const char *e, unsigned char c)
{
#if defined(__SSE2__)
	const __m128i vc = _mm_set1_epi8((char)c);
	unsigned m;
	int	 i;

	for (i = 0; i < 2 && e - p >= 16; i++, p += 16) {
		m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(
		    (const __m128i *)(const void *)p), vc));
		if (m != 0)
			return p + __builtin_ctz(m);
	}
#endif
	return p < e ? memchr(p, c, (size_t)(e - p)) : NULL;
}

/*
 * The tag of a segment: up to the first element separator at i, at most
 * EG_MAX_TAG_LEN bytes kept.  EG_ERR_SYNTAX unless it is two or three
 * letters and digits.
 */
static int
split_tag(const unsigned char *p, const unsigned char *e, unsigned char es,
    char tag[4], size_t *ip)
{
	size_t	 i, k;
	int	 rc = 0;

	for (i = 0; p + i < e && p[i] != es; i++)
		;
	k = i < EG_MAX_TAG_LEN ? i : EG_MAX_TAG_LEN;
	memset(tag, 0, 4);		/* NUL-padded: edi_seg_tagkey() */
	memcpy(tag, p, k);
	if (i < 2 || i > EG_MAX_TAG_LEN)
		rc = EG_ERR_SYNTAX;
	for (k = 0; k < i && k < EG_MAX_TAG_LEN; k++)
		if (!((p[k] >= 'A' && p[k] <= 'Z') ||
		    (p[k] >= '0' && p[k] <= '9')))
			rc = EG_ERR_SYNTAX;
	edi_tag_pad(tag);
	*ip = i;
	return rc;
}

#if defined(__SSE2__)
/*
 * Sixteen bytes from blk as a vector; bytes up to lim (>= e) may be read,
 * never used: a short segment is then one load instead of a copy.
 */
static inline __m128i
load16(const unsigned char *blk, const unsigned char *e,
    const unsigned char *lim)
{
	unsigned char tail[16];

	if (lim - blk >= 16)
		return _mm_loadu_si128((const __m128i *)(const void *)blk);
	/* never read past the input */
	memset(tail, 0, sizeof(tail));
	memcpy(tail, blk, (size_t)(e - blk));
	return _mm_loadu_si128((const __m128i *)(void *)tail);
}

struct plain {
	const unsigned char *start;	/* of the value being read */
	uint64_t	 erc;		/* el, rep 1, comp (ERC_*) */
	size_t		 n;
};

/*
 * The separators of one block, bits of m (mes: those that are element
 * separators) at offsets from blk, walked with ctz.  Nonzero at a limit.
 */
static inline int
plain_block(struct plain *st, const unsigned char *blk, unsigned m,
    unsigned mes, struct edi_val *out, size_t maxval)
{
	const unsigned char *q;

	for (; m != 0; m &= m - 1) {
		q = blk + __builtin_ctz(m);
		if (q > st->start) {
			if (st->n >= maxval ||
			    ERC_COMP(st->erc) > EG_MAX_COMPONENTS)
				return -1;
			setbuf_putval(&out[st->n], st->start, q, st->erc);
			st->n++;
		}
		if (mes & (1U << __builtin_ctz(m))) {
			if (ERC_ELNUM(st->erc) >= EG_MAX_ELEMENTS)
				return -1;
			st->erc = ((st->erc + 1) & ERC_EL) | ERC_REP1 |
			    ERC_COMP1;
		} else
			st->erc += ERC_COMP1;
		st->start = q + 1;
	}
	return 0;
}

/*
 * A whole segment when nothing splits at a repetition separator (the
 * parser's own pass): separators are found sixteen bytes at a time as a
 * bit mask and walked with ctz, so a value costs a few instructions
 * instead of a scan, and the tag is read from the first block's mask.
 * Same results, limits and tag checks as split_tag() and the loop in
 * split_core.
 */
static int
split_plain(const unsigned char *p, const unsigned char *e,
    const unsigned char *lim, unsigned char es, unsigned char cs,
    struct edi_val *out, size_t maxval, char tag[4], uint16_t *nelp,
    uint16_t *nvalp)
{
	const __m128i ves = _mm_set1_epi8((char)es);
	const __m128i vcs = _mm_set1_epi8((char)cs);
	const unsigned char *blk;
	struct plain st;
	unsigned mes, m, keep, alnum, need;
	uint32_t t4;
	size_t	 i, k, left = (size_t)(e - p);
	int	 rc = 0;
	__m128i	 w;

	w = load16(p, e, lim);
	keep = left < 16 ? (1U << left) - 1 : 0xffff;
	mes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, ves)) & keep;
	if (mes == 0 && left > 16) {
		/* a tag of sixteen bytes or more: certainly bad, rare */
		rc = split_tag(p, e, es, tag, &i);
		if (p + i >= e) {
			*nelp = 0;
			*nvalp = 0;
			return rc;
		}
		/* i >= 16: the loop below loads from p + i + 1 on */
		blk = p + i + 1 - 16;
		st.start = p + i + 1;
		m = 0;
		mes = 0;
	} else {
		i = mes ? (size_t)__builtin_ctz(mes) : left;
		k = i < EG_MAX_TAG_LEN ? i : EG_MAX_TAG_LEN;
		t4 = (uint32_t)_mm_cvtsi128_si32(w);
		t4 &= (1U << (8 * k)) - 1;
		memcpy(tag, &t4, 4);	/* little-endian: bytes 0..k-1, NULs */
		alnum = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('A' - 1)),
		    _mm_cmpgt_epi8(_mm_set1_epi8('Z' + 1), w)),
		    _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('0' - 1)),
		    _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), w))));
		need = (1U << k) - 1;
		if (i < 2 || i > EG_MAX_TAG_LEN || (alnum & need) != need) {
			rc = EG_ERR_SYNTAX;
			edi_tag_pad(tag);
		}
		if (i >= left) {
			*nelp = 0;
			*nvalp = 0;
			return rc;
		}
		/* the rest of the first block: separators after the tag */
		blk = p;
		st.start = p + i + 1;
		m = (mes | (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w,
		    vcs))) & keep & ~((2U << i) - 1);
		mes &= ~((2U << i) - 1);
	}
	st.erc = 1 | ERC_REP1 | ERC_COMP1;
	st.n = 0;
	for (;;) {
		if (plain_block(&st, blk, m, mes, out, maxval) != 0)
			goto limit;
		if ((blk += 16) >= e)
			break;
		w = load16(blk, e, lim);
		mes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, ves));
		m = mes | (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, vcs));
		if (e - blk < 16) {
			m &= (1U << (e - blk)) - 1;
			mes &= (1U << (e - blk)) - 1;
		}
	}
	if (e > st.start) {
		if (st.n >= maxval || ERC_COMP(st.erc) > EG_MAX_COMPONENTS)
			goto limit;
		setbuf_putval(&out[st.n], st.start, e, st.erc);
		st.n++;
	}
	*nelp = (uint16_t)ERC_ELNUM(st.erc);
	*nvalp = (uint16_t)st.n;
	return rc;
 limit:
	*nelp = (uint16_t)ERC_ELNUM(st.erc);
	*nvalp = (uint16_t)st.n;
	return EG_ERR_LIMIT;
}
#endif

/*
 * Split raw at es; at cs for components unless cs == es; at rs for the
 * elements of repel unless rs == es.
 */
static int
split_core(struct slice raw, const char *lim, unsigned char es,
    unsigned char cs, unsigned char rs, const unsigned char *repel,
    struct edi_val *out, size_t maxval, char tag[4], uint16_t *nelp,
    uint16_t *nvalp)
{
	const unsigned char *p = (const unsigned char *)raw.p, *start;
	const unsigned char *e = p + raw.len;
	unsigned el, rep = 1, comp = 1, c;
	int	 rc, splitrep;
	size_t	 n = 0, i;

#if defined(__SSE2__)
	if (repel == NULL && rs == es && raw.len > 0)
		return split_plain(p, e, (const unsigned char *)lim, es, cs,
		    out, maxval, tag, nelp, nvalp);
#else
	(void)lim;	/* split_plain()'s: loads may pass e, not lim */
#endif
	*nelp = 0;
	*nvalp = 0;
	rc = split_tag(p, e, es, tag, &i);
	if (p + i >= e)
		return rc;
	p += i + 1;
	el = 1;
	splitrep = repel != NULL && (repel[0] & 2);
	start = p;
	for (;;) {
		p = scan3(p, e, es, cs, rs);
		c = p >= e ? 0 : *p == es ? 1 : *p == cs ? 2 : 3;
		if (c == 3 && !splitrep) {
			p++;
			continue;
		}
		/* flush [start, p) */
		if (p > start) {
			if (n >= maxval || comp > EG_MAX_COMPONENTS ||
			    rep > EG_MAX_REPEATS) {
				rc = EG_ERR_LIMIT;
				break;
			}
			out[n].s.p = (const char *)start;
			out[n].s.len = (size_t)(p - start);
			out[n].el = (uint16_t)el;
			out[n].rep = (uint16_t)rep;
			out[n].comp = (uint16_t)comp;
			n++;
		}
		if (p >= e)
			break;
		if (c == 1) {
			if (el >= EG_MAX_ELEMENTS) {
				rc = EG_ERR_LIMIT;
				break;
			}
			el++;
			rep = 1;
			comp = 1;
			splitrep = repel != NULL && el < 128 &&
			    (repel[el / 8] & (1U << (el % 8)));
		} else if (c == 2) {
			comp++;
		} else {
			rep++;
			comp = 1;
		}
		start = ++p;
	}
	*nelp = (uint16_t)el;
	*nvalp = (uint16_t)n;
	return rc;
}

int
x12_split(struct slice raw, const struct edi_delims *d,
    const unsigned char *repel, int flags, struct edi_val *out,
    size_t maxval, char tag[4], uint16_t *nelp, uint16_t *nvalp)
{
	unsigned char es = (unsigned char)d->element;
	unsigned char cs = (flags & X12_SPLIT_NOCOMP) ? es :
	    (unsigned char)d->component;
	unsigned char rs = (repel != NULL && d->repetition) ?
	    (unsigned char)d->repetition : es;

	return split_core(raw, raw.p + raw.len, es, cs, rs, repel, out,
	    maxval, tag, nelp, nvalp);
}

/* Skip a UTF-8 BOM, whitespace and "//" comment lines; count comments. */
static size_t
skip_preamble(struct slice in, size_t pos, unsigned *ncomment)
{
	if (pos == 0 && in.len >= 3 && memcmp(in.p, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	for (;;) {
		while (pos < in.len && is_ws((unsigned char)in.p[pos]))
			pos++;
		if (pos + 1 < in.len && in.p[pos] == '/' &&
		    in.p[pos + 1] == '/') {
			const char *nl = memchr(in.p + pos, '\n', in.len - pos);
			pos = nl ? (size_t)(nl - in.p) + 1 : in.len;
			if (ncomment)
				(*ncomment)++;
			continue;
		}
		return pos;
	}
}

static int
at_isa(struct slice in, size_t pos)
{
	return pos + 3 < in.len && memcmp(in.p + pos, "ISA", 3) == 0 &&
	    !is_alnum((unsigned char)in.p[pos + 3]) &&
	    !is_ws((unsigned char)in.p[pos + 3]);
}

/*
 * Read the delimiters of the ISA at off.  *endp receives the offset of the
 * segment terminator, *nextp the offset after it.  On failure returns
 * EG_ERR_SYNTAX and a reason and TA105 code.
 */
static int
isa_scan(struct slice in, size_t off, struct edi_delims *d, size_t *endp,
    size_t *nextp, const char **why, const char **ta1)
{
	size_t	 sep[17], i, lim;
	int	 n = 0;
	char	 es, cs, term, rep;

	*why = "no ISA";
	*ta1 = "022";
	if (!at_isa(in, off))
		return EG_ERR_SYNTAX;
	es = in.p[off + 3];
	lim = in.len - off > EG_MAX_ISA_LEN ? off + EG_MAX_ISA_LEN : in.len;
	for (i = off + 3; i < lim && n < 16; i++)
		if (in.p[i] == es)
			sep[++n] = i;
	if (n < 16) {
		*why = "fewer than 16 element separators in the ISA";
		return EG_ERR_SYNTAX;
	}
	if (sep[16] + 2 >= in.len) {
		*why = "input ends inside the ISA";
		*ta1 = "023";
		return EG_ERR_SYNTAX;
	}
	cs = in.p[sep[16] + 1];
	term = in.p[sep[16] + 2];
	if (cs == es || is_alnum((unsigned char)cs) || cs == ' ') {
		*why = "unusable component separator (ISA16)";
		*ta1 = "027";
		return EG_ERR_SYNTAX;
	}
	if (term == es || term == cs || is_alnum((unsigned char)term)) {
		*why = "unusable segment terminator after ISA16";
		*ta1 = "004";
		return EG_ERR_SYNTAX;
	}
	rep = 0;
	/* sep[n] precedes ISAn: ISA11 is one byte, ISA12 five digits */
	if (sep[12] - sep[11] == 2 && sep[13] - sep[12] == 6) {
		char	 c = in.p[sep[11] + 1];
		if (memcmp(in.p + sep[12] + 1, "00402", 5) >= 0 &&
		    !is_alnum((unsigned char)c) && c != ' ' && c != es &&
		    c != cs && c != term)
			rep = c;
	}
	memset(d, 0, sizeof(*d));
	d->element = es;
	d->component = cs;
	d->repetition = rep;
	d->segment = term;
	d->release = 0;
	d->decimal = '.';
	*endp = sep[16] + 2;
	*nextp = sep[16] + 3;
	return 0;
}

long
x12_delims(struct slice input, struct edi_delims *out)
{
	size_t	 off, end, next;
	const char *why, *ta1;

	off = skip_preamble(input, 0, NULL);
	if (isa_scan(input, off, out, &end, &next, &why, &ta1) != 0)
		return EG_ERR_SYNTAX;
	return (long)off;
}

long
x12_count_segments(struct slice in)
{
	struct edi_delims d;
	const char *p = in.p, *q, *why, *ta1;
	size_t	 pos, end, next, len = in.len;
	long	 n = 0;
	long	 off;

	if (in.len > EG_MAX_DOC_SIZE)
		return EG_ERR_LIMIT;
	if ((off = x12_delims(in, &d)) < 0)
		return off;
	pos = (size_t)off;
	while (pos < len) {
		while (pos < len && is_ws((unsigned char)p[pos]))
			pos++;
		if (pos >= len)
			break;
		if (p[pos] == '/' && pos + 1 < len && p[pos + 1] == '/') {
			q = memchr(p + pos, '\n', len - pos);
			pos = q ? (size_t)(q - p) + 1 : len;
			continue;
		}
		if (p[pos] == 'I' && at_isa(in, pos) &&
		    isa_scan(in, pos, &d, &end, &next, &why, &ta1) == 0) {
			n++;
			pos = next;
			continue;
		}
		q = memchr(p + pos, (unsigned char)d.segment, len - pos);
		n++;
		pos = q ? (size_t)(q - p) + 1 : len;
	}
	return n;
}

static int
x12_sniff(struct slice input)
{
	struct edi_delims d;

	return x12_delims(input, &d) >= 0;
}

/* -- diagnostics -------------------------------------------------------- */

struct xd {
	enum diag_sev	 sev;
	enum diag_scope	 scope;
	const char	*code;
	uint32_t	 filepos;
	const char	*tag;
	int		 el;
	int		 ack_seg, ack_el;
	const char	*ta1;
};

static void __attribute__((format(printf, 3, 4)))
xdiag(struct x12 *x, const struct xd *a, const char *fmt, ...)
{
	struct diag	 dg;
	va_list	 ap;

	/* a segment's own come before any about an older one (close_to()) */
	if (a->filepos > x->diag_fp)
		x->diag_fp = a->filepos;
	if (a->scope == DIAG_SCOPE_SET) {
		if (x->ndiag == EG_MAX_DIAGS_PER_SET) {
			x->ndiag++;
			diag_init(&dg, DIAG_WARNING, "X12-DIAG-LIMIT");
			dg.scope = DIAG_SCOPE_SET;
			dg.filepos = a->filepos;
			diag_msg(&dg, "more than %u diagnostics in this set; "
			    "the rest are not shown", EG_MAX_DIAGS_PER_SET);
			diag_emit(x->ds, &dg);
			return;
		}
		if (x->ndiag > EG_MAX_DIAGS_PER_SET)
			return;
		x->ndiag++;
	}
	diag_init(&dg, a->sev, a->code);
	dg.scope = a->scope;
	dg.filepos = a->filepos;
	if (a->scope == DIAG_SCOPE_SET && a->filepos >= x->st_filepos &&
	    x->st_filepos)
		dg.setpos = a->filepos - x->st_filepos + 1;
	if (a->tag)
		snprintf(dg.tag, sizeof(dg.tag), "%s", a->tag);
	dg.el = a->el;
	dg.ack_seg = a->ack_seg;
	dg.ack_el = a->ack_el;
	if (a->ta1)
		snprintf(dg.ack_ta1, sizeof(dg.ack_ta1), "%s", a->ta1);
	va_start(ap, fmt);
	vsnprintf(dg.msg, sizeof(dg.msg), fmt, ap);
	va_end(ap);
	diag_emit(x->ds, &dg);
	if (a->sev == DIAG_ERROR) {
		switch (a->scope) {
		case DIAG_SCOPE_SET:
			x->rejected = 1;
			break;
		case DIAG_SCOPE_GROUP:
			x->gok = 0;
			break;
		case DIAG_SCOPE_INTERCHANGE:
			x->iok = 0;
			break;
		case DIAG_SCOPE_FILE:
			break;
		}
	}
}

/* XD(sev, scope, code[, filepos, tag, el][, .ack_seg = ...]) */
#define XD(sv, sc, ...)	\
	(&(const struct xd){ .sev = (sv), .scope = (sc), .code = __VA_ARGS__ })

/* -- envelope ----------------------------------------------------------- */

static void
fill_env(struct x12 *x, struct edi_env *env, int with_group)
{
	memset(env, 0, sizeof(*env));
	env->syntax = EDI_X12;
	env->interchange = &x->isa;
	env->group = with_group ? &x->gs : NULL;
	env->delims = x->d;
	env->interchange_index = x->iindex;
	env->group_index = with_group ? x->gindex : 0;
}

static void
deliver_set(struct x12 *x, struct slice doctype, struct slice control,
    struct slice version, int with_group)
{
	struct edi_set *s = &x->set;
	int	 rc;

	/*
	 * Every field an X12 set has is set here, and root, which the tree
	 * builder sets; the XML ones stay as xcalloc() left them.
	 */
	s->filename = x->filename;
	s->root = NULL;
	fill_env(x, &s->env, with_group);
	s->doctype = doctype;
	s->version = version;
	s->control = control;
	s->seg = x->sb.seg;
	s->nseg = (uint32_t)x->sb.nseg;
	s->raw = setbuf_raw(&x->sb, x->in);
	/* every segment kept lies in [start, end), in the input */
	s->segs_in_raw = 1;
	s->arena = &x->sar;
	s->rejected = x->rejected;
	if (x->stop == 0 && x->h->set != NULL &&
	    (rc = x->h->set(x->arg, s)) < 0)
		x->stop = rc;
	arena_reset(&x->sar);
	/* x->sb: what is kept next (ST, TA1) begins it again */
	x->rejected = 0;
	x->ndiag = 0;
	x->st_filepos = 0;
}

static void
end_group(struct x12 *x)
{
	struct edi_env env;
	int	 rc;

	fill_env(x, &env, 1);
	if (x->stop == 0 && x->h->group_end != NULL &&
	    (rc = x->h->group_end(x->arg, &env, x->gok)) < 0)
		x->stop = rc;
	x->state = XS_ISA;
	refset_clear(&x->stctl);
}

static void
end_interchange(struct x12 *x)
{
	struct edi_env env;
	int	 rc;

	fill_env(x, &env, 0);
	if (x->stop == 0 && x->h->interchange_end != NULL &&
	    (rc = x->h->interchange_end(x->arg, &env, x->iok)) < 0)
		x->stop = rc;
	x->state = XS_OUT;
}

/* Close what is open down to (not including) state `to`: missing trailers. */
static void
close_to(struct x12 *x, enum x12_state to, uint32_t filepos)
{
	if (x->state == XS_SKIP)
		x->state = XS_ISA;
	if (x->state == XS_ST && to < XS_ST) {
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-SE-MISSING",
		    x->st_filepos, "ST", .ack_seg = 2),
		    "transaction set %.*s has no SE trailer",
		    (int)x->st02.len, x->st02.p);
		deliver_set(x, x->st01, x->st02, x->gs08, 1);
		x->state = XS_GS;
	}
	if (x->state == XS_GS && to < XS_GS) {
		struct slice gs06 = val(&x->gs, 6);
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GE-MISSING",
		    filepos, "GS", .ack_seg = 3, .ta1 = "023"),
		    "functional group %.*s has no GE trailer",
		    (int)gs06.len, gs06.p);
		end_group(x);
	}
	if (x->state == XS_ISA && to < XS_ISA) {
		struct slice isa13 = val(&x->isa, 13);
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-IEA-MISSING", filepos, "ISA", .ta1 = "023"),
		    "interchange %.*s has no IEA trailer",
		    (int)isa13.len, isa13.p);
		end_interchange(x);
	}
}

static void
unexpected(struct x12 *x, const char *tag, uint32_t filepos)
{
	if (x->outrun)
		return;
	x->outrun = 1;
	if (x->state == XS_OUT)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_FILE, "X12-OUTSIDE",
		    filepos, tag), "segment %s outside any interchange "
		    "(following segments up to the next envelope segment "
		    "are skipped)", tag);
	else if (x->state == XS_ISA)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-UNEXPECTED", filepos, tag, .ta1 = "024"),
		    "segment %s between functional groups (skipped)", tag);
	else
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-UNEXPECTED",
		    filepos, tag, .ta1 = "024"),
		    "segment %s between transaction sets (skipped)", tag);
}

static void
copy_env_seg(struct x12 *x, struct arena *a, struct edi_seg *dst,
    const struct edi_seg *src)
{
	(void)x;
	arena_reset(a);
	*dst = *src;
	dst->val = NULL;
	if (src->nval &&
	    (dst->val = arena_allocarray(a, src->nval, sizeof(*dst->val)))
	    != NULL)
		memcpy(dst->val, src->val, src->nval * sizeof(*dst->val));
	if (dst->val == NULL)
		dst->nval = 0;
}

static const struct {
	int		 el;
	unsigned	 len;
	const char	*ta1;
	const char	*name;
} isa_fields[] = {
	{ 1, 2, "010", "authorization information qualifier" },
	{ 2, 10, "011", "authorization information" },
	{ 3, 2, "012", "security information qualifier" },
	{ 4, 10, "013", "security information" },
	{ 5, 2, "005", "sender id qualifier" },
	{ 6, 15, "006", "sender id" },
	{ 7, 2, "007", "receiver id qualifier" },
	{ 8, 15, "008", "receiver id" },
	{ 9, 6, "014", "date" },
	{ 10, 4, "015", "time" },
	{ 11, 1, "016", "standards identifier / repetition separator" },
	{ 12, 5, "017", "version" },
	{ 13, 9, "018", "control number" },
	{ 14, 1, "019", "acknowledgment requested" },
	{ 15, 1, "020", "usage indicator" },
	{ 16, 1, "027", "component separator" },
};

static void
check_isa(struct x12 *x)
{
	const struct edi_seg *isa = &x->isa;
	struct slice v;
	size_t	 i, k;
	char	 b[48];
	int	 ascii;

	for (i = 0; i < sizeof(isa_fields) / sizeof(isa_fields[0]); i++) {
		v = val(isa, isa_fields[i].el);
		ascii = 1;
		for (k = 0; k < v.len; k++)
			if ((unsigned char)v.p[k] >= 0x80)
				ascii = 0;
		if (!ascii)
			xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
			    "X12-ISA-FIELD", x->isa.filepos, "ISA",
			    isa_fields[i].el, .ta1 = isa_fields[i].ta1),
			    "ISA%02d (%s) contains non-ASCII bytes "
			    "(NBSP padding?): %zu bytes, must be %u "
			    "characters", isa_fields[i].el,
			    isa_fields[i].name, v.len, isa_fields[i].len);
		else if (v.len != isa_fields[i].len)
			xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
			    "X12-ISA-FIELD", x->isa.filepos, "ISA",
			    isa_fields[i].el, .ta1 = isa_fields[i].ta1),
			    "ISA%02d (%s) \"%s\" is %zu characters, must be "
			    "%u (fixed width, space padded)",
			    isa_fields[i].el, isa_fields[i].name,
			    slice_show(v, b, sizeof(b)), v.len,
			    isa_fields[i].len);
	}
	v = val(isa, 9);
	if (v.len == 6 && !edi_valid_date(v, 1))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "X12-ISA-DATE",
		    isa->filepos, "ISA", 9, .ta1 = "014"),
		    "ISA09 \"%s\" is not a valid YYMMDD date",
		    slice_show(v, b, sizeof(b)));
	v = val(isa, 10);
	if (v.len == 4 && !edi_valid_time(v))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "X12-ISA-TIME",
		    isa->filepos, "ISA", 10, .ta1 = "015"),
		    "ISA10 \"%s\" is not a valid HHMM time",
		    slice_show(v, b, sizeof(b)));
	v = val(isa, 12);
	if (v.len == 5 && !all_digits(v))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-ISA-FIELD", isa->filepos, "ISA", 12, .ta1 = "017"),
		    "ISA12 \"%s\" is not a version number",
		    slice_show(v, b, sizeof(b)));
	v = val(isa, 13);
	if (v.len == 9 && !all_digits(v))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-ISA-FIELD", isa->filepos, "ISA", 13, .ta1 = "018"),
		    "ISA13 \"%s\" must be 9 digits", slice_show(v, b,
		    sizeof(b)));
	else if (refset_seen(&x->isactl, v))
		xdiag(x, XD(DIAG_WARNING, DIAG_SCOPE_INTERCHANGE,
		    "X12-ISA-DUP", isa->filepos, "ISA", 13, .ta1 = "025"),
		    "interchange control number %s repeats an earlier "
		    "interchange of this file", slice_show(v, b, sizeof(b)));
	v = val(isa, 14);
	if (v.len == 1 && v.p[0] != '0' && v.p[0] != '1')
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-ISA-FIELD", isa->filepos, "ISA", 14, .ta1 = "019"),
		    "ISA14 \"%c\" must be 0 or 1", v.p[0]);
	v = val(isa, 15);
	if (v.len == 1 && v.p[0] != 'P' && v.p[0] != 'T' && v.p[0] != 'I')
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-ISA-FIELD", isa->filepos, "ISA", 15, .ta1 = "020"),
		    "ISA15 \"%c\" must be P, T or I", v.p[0]);
}

static void
on_isa(struct x12 *x, size_t pos, size_t *nextp)
{
	struct edi_delims d;
	struct edi_seg tmp;
	const char *why, *ta1;
	size_t	 end, next;
	int	 rc;

	close_to(x, XS_OUT, x->filepos + 1);
	snap_let_go(x);
	x->filepos++;
	if (isa_scan(x->in, pos, &d, &end, &next, &why, &ta1) != 0) {
		const char *q;

		xdiag(x, XD(DIAG_ERROR,
		    x->have_delims ? DIAG_SCOPE_INTERCHANGE :
		    DIAG_SCOPE_FILE, "X12-ISA", x->filepos, "ISA", .ta1 = ta1),
		    "unreadable ISA: %s; the interchange is skipped", why);
		/* Skip this segment with the old terminator; stay outside. */
		q = x->have_delims ? memchr(x->in.p + pos,
		    (unsigned char)x->d.segment, x->in.len - pos) : NULL;
		*nextp = q ? (size_t)(q - x->in.p) + 1 : x->in.len;
		x->outrun = 1;
		return;
	}
	x->d = d;
#if defined(__SSE2__)
	x->ves = _mm_set1_epi8(d.element);
	x->vcs = _mm_set1_epi8(d.component);
	x->vst = _mm_set1_epi8(d.segment);
#endif
#ifdef X12_AVX2
	memset(x->b32[0], d.element, 32);
	memset(x->b32[1], d.component, 32);
	memset(x->b32[2], d.segment, 32);
#endif
	x->have_delims = 1;
	memset(&tmp, 0, sizeof(tmp));
	rc = x12_split(slice_make(x->in.p + pos, end - pos), &d, NULL,
	    X12_SPLIT_NOCOMP, x->scratch, EG_MAX_SEG_VALUES, tmp.tag,
	    &tmp.nel, &tmp.nval);
	(void)rc;	/* 16 separators found: cannot exceed limits */
	tmp.val = x->scratch;
	tmp.filepos = x->filepos;
	tmp.raw = slice_make(x->in.p + pos, end - pos);
	copy_env_seg(x, &x->iar, &x->isa, &tmp);
	x->iindex++;
	x->ngroups = 0;
	x->iok = 1;
	x->state = XS_ISA;
	x->outrun = 0;
	check_isa(x);
	*nextp = next;
}

static void
check_gs(struct x12 *x)
{
	const struct edi_seg *gs = &x->gs;
	struct slice v, ver;
	char	 b[48];
	int	 el, shortdate;

	for (el = 1; el <= 8; el++) {
		v = slice_trim(val(gs, el));
		if (v.len == 0)
			xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP,
			    "X12-GS-FIELD",
			    gs->filepos, "GS", el, .ack_el = 1, .ta1 = "024"),
			    "GS%02d is missing or blank", el);
	}
	v = val(gs, 1);
	if (v.len && (v.len != 2 || !is_alnum((unsigned char)v.p[0]) ||
	    !is_alnum((unsigned char)v.p[1])))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-FIELD",
		    gs->filepos, "GS", 1, .ack_el = 7, .ta1 = "024"),
		    "GS01 \"%s\" is not a functional identifier code",
		    slice_show(v, b, sizeof(b)));
	for (el = 2; el <= 3; el++) {
		v = val(gs, el);
		if (v.len > 15)
			xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP,
			    "X12-GS-FIELD", gs->filepos, "GS", el, .ack_el = 5,
			    .ta1 = "024"), "GS%02d is longer than 15", el);
	}
	ver = val(gs, 8);
	shortdate = slice_prefix(ver, "002") || slice_prefix(ver, "003");
	v = val(gs, 4);
	if (v.len && !edi_valid_date(v, shortdate))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-DATE",
		    gs->filepos, "GS", 4, .ack_el = 8, .ta1 = "024"),
		    "GS04 \"%s\" is not a valid %s date", slice_show(v, b,
		    sizeof(b)),
		    shortdate ? "YYMMDD or CCYYMMDD" : "CCYYMMDD");
	v = val(gs, 5);
	if (v.len && !edi_valid_time(v))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-TIME",
		    gs->filepos, "GS", 5, .ack_el = 9, .ta1 = "024"),
		    "GS05 \"%s\" is not a valid HHMM[SS[dd]] time",
		    slice_show(v, b, sizeof(b)));
	v = val(gs, 6);
	if (v.len && (!all_digits(v) || v.len > 9))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-FIELD",
		    gs->filepos, "GS", 6, .ack_seg = 6, .ack_el = 6,
		    .ta1 = "024"),
		    "GS06 \"%s\" must be 1 to 9 digits", slice_show(v, b,
		    sizeof(b)));
	v = val(gs, 7);
	if (v.len == 1 && v.p[0] == 'T')
		xdiag(x, XD(DIAG_WARNING, DIAG_SCOPE_GROUP, "X12-GS-FIELD",
		    gs->filepos, "GS", 7),
		    "GS07 \"T\" (TDCC) where X (ASC X12) is expected");
	else if (v.len && (v.len != 1 || v.p[0] != 'X'))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-FIELD",
		    gs->filepos, "GS", 7, .ack_el = 7, .ta1 = "024"),
		    "GS07 \"%s\" must be X", slice_show(v, b, sizeof(b)));
	if (ver.len > 12)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GS-FIELD",
		    gs->filepos, "GS", 8, .ack_el = 5, .ta1 = "024"),
		    "GS08 is longer than 12");
}

static void
on_gs(struct x12 *x, const struct edi_seg *seg)
{
	if (x->state == XS_OUT) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, XS_ISA, seg->filepos);
	snap_let_go(x);
	copy_env_seg(x, &x->gar, &x->gs, seg);
	x->gs01 = val(&x->gs, 1);
	x->gs08 = val(&x->gs, 8);
	x->gindex++;
	x->ngroups++;
	x->nsets = 0;
	x->gok = 1;
	refset_clear(&x->stctl);
	x->state = XS_GS;
	check_gs(x);
}

static void
on_ge(struct x12 *x, const struct edi_seg *seg)
{
	struct slice v, gs06;
	uint32_t n;
	char	 b[48];

	if (x->state == XS_OUT || x->state == XS_ISA) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, XS_GS, seg->filepos);
	v = val(seg, 1);
	if (parse_u32(v, &n) != 0 || n != x->nsets)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GE-COUNT",
		    seg->filepos, "GE", 1, .ack_seg = 5, .ta1 = "024"),
		    "GE01 \"%s\" but the group has %u transaction set%s",
		    slice_show(v, b, sizeof(b)), x->nsets,
		    x->nsets == 1 ? "" : "s");
	v = val(seg, 2);
	gs06 = val(&x->gs, 6);
	if (!slice_eq(v, gs06))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_GROUP, "X12-GE-CONTROL",
		    seg->filepos, "GE", 2, .ack_seg = 4, .ta1 = "024"),
		    "GE02 \"%s\" differs from GS06 \"%.*s\"%s",
		    slice_show(v, b, sizeof(b)), (int)gs06.len, gs06.p,
		    num_equal(v, gs06) ? " (numerically equal, but control "
		    "numbers must match exactly)" : "");
	end_group(x);
}

static void
on_iea(struct x12 *x, const struct edi_seg *seg)
{
	struct slice v, isa13;
	uint32_t n;
	char	 b[48];

	if (x->state == XS_OUT) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, XS_ISA, seg->filepos);
	v = val(seg, 1);
	if (parse_u32(v, &n) != 0 || n != x->ngroups)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "X12-IEA-COUNT",
		    seg->filepos, "IEA", 1, .ta1 = "021"),
		    "IEA01 \"%s\" but the interchange has %u functional "
		    "group%s", slice_show(v, b, sizeof(b)), x->ngroups,
		    x->ngroups == 1 ? "" : "s");
	v = val(seg, 2);
	isa13 = val(&x->isa, 13);
	if (!slice_eq(v, isa13))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "X12-IEA-CONTROL", seg->filepos, "IEA", 2, .ta1 = "001"),
		    "IEA02 \"%s\" differs from ISA13 \"%.*s\"%s",
		    slice_show(v, b, sizeof(b)), (int)isa13.len, isa13.p,
		    num_equal(v, isa13) ? " (numerically equal, but IEA02 "
		    "must be the same 9 digits)" : "");
	end_interchange(x);
}

/* set_append()'s limits, out of the common path. */
static void __attribute__((noinline, cold))
set_limit(struct x12 *x, const struct edi_seg *seg, struct edi_seg *s,
    enum setbuf_why why, int over)
{
	if (s == NULL) {
		if (why != SETBUF_OVERFLOWED)
			xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET,
			    "X12-SET-LIMIT", seg->filepos, seg->tag,
			    .ack_seg = 5), "transaction set exceeds %s; the "
			    "rest is not read", why == SETBUF_SEGMENTS ?
			    "EG_MAX_SET_SEGMENTS" : "EG_MAX_SET_SIZE");
		return;
	}
	if (!over)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-SET-LIMIT",
		    seg->filepos, seg->tag, .ack_seg = 5),
		    "transaction set exceeds its memory limit "
		    "(EG_MAX_SET_ARENA); the rest is not read");
	setbuf_overflow(&x->sb);
	s->nval = 0;
}

/*
 * Keep seg (values in scratch, or already in place in the arena) as the
 * next segment of the open set.  Inline: the fast path calls it for nearly
 * every segment.
 */
static inline __attribute__((always_inline)) void
set_append(struct x12 *x, const struct edi_seg *seg, int force)
{
	struct edi_seg	*s;
	enum setbuf_why	 why = SETBUF_OVERFLOWED;
	int		 over = x->sb.overflow;

	s = setbuf_add(&x->sb, seg, (size_t)(seg->raw.p + seg->raw.len -
	    x->in.p), force, &why);
	if (s == NULL) {
		set_limit(x, seg, s, why, over);
		return;
	}
	s->val = NULL;
	if (seg->nval && (s->val = arena_allocarray_raw(&x->sar, seg->nval,
	    sizeof(*s->val))) == NULL)
		set_limit(x, seg, s, why, over);
	else if (seg->nval && s->val != seg->val)	/* not in place */
		memcpy(s->val, seg->val, seg->nval * sizeof(*s->val));
}

static int
fid_match(struct slice gs01, struct slice st01, int *known)
{
	size_t	 i;
	const char *p;

	*known = 0;
	for (i = 0; i < sizeof(x12_fids) / sizeof(x12_fids[0]); i++) {
		/* every GS01 of the table has two letters */
		if (gs01.len != 2 || gs01.p[0] != x12_fids[i].gs01[0] ||
		    gs01.p[1] != x12_fids[i].gs01[1])
			continue;
		*known = 1;
		for (p = x12_fids[i].st01; *p; p += p[3] ? 4 : 3)
			if (st01.len == 3 && memcmp(p, st01.p, 3) == 0)
				return 1;
		return 0;
	}
	/* ST01 known under another GS01? Then GS01 is wrong. */
	for (i = 0; i < sizeof(x12_fids) / sizeof(x12_fids[0]); i++)
		for (p = x12_fids[i].st01; *p; p += p[3] ? 4 : 3)
			if (st01.len == 3 && memcmp(p, st01.p, 3) == 0) {
				*known = 1;
				return 0;
			}
	return 1;
}

/*
 * GS01 of two bytes and ST01 of three as one nonzero key for fid_match()'s
 * answer; 0 for any other (asked every time).
 */
static uint64_t
fid_key(struct slice gs01, struct slice st01)
{
	if (gs01.len != 2 || st01.len != 3)
		return 0;
	return (uint64_t)(unsigned char)gs01.p[0] |
	    (uint64_t)(unsigned char)gs01.p[1] << 8 |
	    (uint64_t)(unsigned char)st01.p[0] << 16 |
	    (uint64_t)(unsigned char)st01.p[1] << 24 |
	    (uint64_t)(unsigned char)st01.p[2] << 32 | (uint64_t)1 << 40;
}

/* val(seg, 1) and val(seg, 2) in one pass (ST, SE). */
static void
val12_walk(const struct edi_seg *seg, struct slice *v1, struct slice *v2)
{
	const struct edi_val *v, *e = edi_val_end(seg);

	*v1 = *v2 = slice_make("", 0);
	/* in (el, rep, comp) order: each position once */
	for (v = seg->val; v < e && v->el <= 2; v++)
		if (v->rep == 1 && v->comp == 1 && v->s.len != 0)
			*(v->el == 1 ? v1 : v2) = v->s;
}

/*
 * val12_walk() where the first two values are elements 1 and 2, as in
 * nearly every ST and SE: each position is there once, so they are the two.
 */
static inline __attribute__((always_inline)) void
val12(const struct edi_seg *seg, struct slice *v1, struct slice *v2)
{
	const struct edi_val *v = seg->val;

	if (seg->nval >= 2 && v[0].el == 1 && v[0].rep == 1 &&
	    v[0].comp == 1 && v[1].el == 2 && v[1].rep == 1 &&
	    v[1].comp == 1 && v[0].s.len != 0 && v[1].s.len != 0) {
		*v1 = v[0].s;
		*v2 = v[1].s;
	} else
		val12_walk(seg, v1, v2);
}

static void
on_st(struct x12 *x, const struct edi_seg *seg)
{
	struct slice gs01;
	uint64_t key;
	char	 b[48], b2[48];
	int	 known, warn;

	if (x->state == XS_OUT) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	if (x->state != XS_GS)		/* in a group, nothing to close */
		close_to(x, XS_GS, seg->filepos);
	if (x->state == XS_ISA) {
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "X12-NO-GROUP",
		    seg->filepos, "ST", .ack_seg = 18, .ta1 = "024"),
		    "transaction set outside a functional group (no GS); "
		    "skipped");
		x->state = XS_SKIP;
		return;
	}
	x->nsets++;
	x->state = XS_ST;
	setbuf_begin(&x->sb, (size_t)(seg->raw.p - x->in.p));
	x->rejected = 0;
	x->ndiag = 0;
	x->st_filepos = seg->filepos;
	val12(seg, &x->st01, &x->st02);
	set_append(x, seg, 0);
	if (x->st01.len != 3 || !all_digits(x->st01))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-ST-FIELD",
		    seg->filepos, "ST", 1, .ack_seg = 6, .ack_el = 1),
		    "ST01 \"%s\" is not a transaction set identifier",
		    slice_show(x->st01, b, sizeof(b)));
	if (x->st02.len < 4 || x->st02.len > 9)
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-ST-FIELD",
		    seg->filepos, "ST", 2, .ack_seg = 7,
		    .ack_el = x->st02.len == 0 ? 1 : 4),
		    "ST02 \"%s\" must be 4 to 9 characters",
		    slice_show(x->st02, b, sizeof(b)));
	else if (!x->worker && refset_seen(&x->stctl, x->st02))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-ST-DUP",
		    seg->filepos, "ST", 2, .ack_seg = 23),
		    "transaction set control number %s is not unique in the "
		    "functional group", slice_show(x->st02, b, sizeof(b)));
	gs01 = x->gs01;
	if (gs01.len == 0 || x->st01.len == 0)
		warn = 0;
	else if ((key = fid_key(gs01, x->st01)) != 0 && key == x->fid_key)
		warn = x->fid_warn;	/* the same pair as the last ST */
	else {
		warn = !fid_match(gs01, x->st01, &known) && known;
		x->fid_key = key;
		x->fid_warn = warn;
	}
	if (warn)
		xdiag(x, XD(DIAG_WARNING, DIAG_SCOPE_GROUP, "X12-GS-ID",
		    seg->filepos, "ST", 1),
		    "transaction set %s in a functional group with GS01 %s",
		    slice_show(x->st01, b, sizeof(b)), slice_show(gs01, b2,
		    sizeof(b2)));
}

/*
 * on_se() once SE is kept as the set's last segment: its checks and the
 * set's delivery.  noinline: fast_run()'s flatten leaves it out of line.
 */
static void __attribute__((noinline))
se_close(struct x12 *x, const struct edi_seg *seg)
{
	struct slice v, v2;
	char	 b[48];

	val12(seg, &v, &v2);
	if (!u32_is(v, x->sb.count))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-SE-COUNT",
		    seg->filepos, "SE", 1, .ack_seg = 4),
		    "SE01 \"%s\" but the transaction set has %u segments",
		    slice_show(v, b, sizeof(b)), x->sb.count);
	v = v2;
	if (!slice_eq(v, x->st02))
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_SET, "X12-SE-CONTROL",
		    seg->filepos, "SE", 2, .ack_seg = 3),
		    "SE02 \"%s\" differs from ST02 \"%.*s\"",
		    slice_show(v, b, sizeof(b)), (int)x->st02.len, x->st02.p);
	deliver_set(x, x->st01, x->st02, x->gs08, 1);
	x->state = XS_GS;
}

static void
on_se(struct x12 *x, const struct edi_seg *seg)
{
	set_append(x, seg, 1);
	se_close(x, seg);
}

static void
on_ta1(struct x12 *x, const struct edi_seg *seg)
{
	setbuf_begin(&x->sb, (size_t)(seg->raw.p - x->in.p));
	x->rejected = 0;
	x->ndiag = 0;
	x->st_filepos = seg->filepos;
	set_append(x, seg, 1);
	deliver_set(x, SLICE_LIT("TA1"), val(seg, 1), val(&x->isa, 12), 0);
}

/* -- sets read on other threads (translator.h) ------------------------- */

/*
 * The largest set offered: a larger one is read here, so that a set is
 * never scanned whole only to be read again.
 */
#define OFFER_MAX	(512U * 1024)

/*
 * What a set of the group is read with: the delimiters and their vectors
 * (rs, the fields x12_reading() copies), the ISA and the GS with their
 * values (which lie in the input).
 */
struct x12_snap {
	struct edi_snap	 base;
	struct arena	 ar;
	struct edi_seg	 isa, gs;
	uint32_t	 iindex, gindex;
	struct x12	 rs;
};

/* A thread's parser of offered sets (x12_msg_parse()). */
struct x12_wk {
	struct x12	*x;
	struct edi_snap	*held;		/* x was read from */
};

/* The fields of src that a set is read with, into dst. */
static void
x12_reading(struct x12 *dst, const struct x12 *src)
{
	dst->in = src->in;
	dst->filename = src->filename;
	dst->d = src->d;
	dst->have_delims = src->have_delims;
#if defined(__SSE2__)
	dst->ves = src->ves;
	dst->vcs = src->vcs;
	dst->vst = src->vst;
	dst->avx2 = src->avx2;
	memcpy(dst->erc_step, src->erc_step, sizeof(dst->erc_step));
	memcpy(dst->xlead, src->xlead, sizeof(dst->xlead));
	memcpy(dst->xtagok, src->xtagok, sizeof(dst->xtagok));
#endif
#ifdef X12_AVX2
	memcpy(dst->b32, src->b32, sizeof(dst->b32));
#endif
}

static void
snap_free(struct edi_snap *base)
{
	struct x12_snap *sn = (struct x12_snap *)(void *)base;

	arena_free(&sn->ar);
	free(sn);
}

/* x's snapshot no longer tells how x reads: later offers get a new one. */
static void
snap_let_go(struct x12 *x)
{
	if (x->snap != NULL)
		edi_snap_drop(&x->snap->base);
	x->snap = NULL;
}

/* A copy of src, its values into a; -1 when they do not fit. */
static int
snap_seg(struct arena *a, struct edi_seg *dst, const struct edi_seg *src)
{
	*dst = *src;
	if (src->nval == 0)
		return 0;
	if ((dst->val = arena_allocarray_raw(a, src->nval,
	    sizeof(*dst->val))) == NULL)
		return -1;
	memcpy(dst->val, src->val, src->nval * sizeof(*dst->val));
	return 0;
}

/* x's reading state, ISA and GS, in a snapshot of their own; NULL if not. */
static struct x12_snap *
snap_new(struct x12 *x)
{
	struct x12_snap	*sn;

	sn = xmalloc(sizeof(*sn));
	atomic_init(&sn->base.refs, 1);
	sn->base.free = snap_free;
	arena_init(&sn->ar, EG_MAX_ENV_ARENA);
	x12_reading(&sn->rs, x);
	sn->iindex = x->iindex;
	sn->gindex = x->gindex;
	if (snap_seg(&sn->ar, &sn->isa, &x->isa) != 0 ||
	    snap_seg(&sn->ar, &sn->gs, &x->gs) != 0) {
		edi_snap_drop(&sn->base);
		return NULL;
	}
	return sn;
}

/*
 * The end (past its terminator) of the set whose ST ends before pos, with
 * in *nseg its segments after ST, SE included; 0 when a parser started at
 * its ST might not read it as this one would: another envelope segment
 * (ST, GS, GE, ISA, IEA, or SE not followed by an element separator), a
 * comment line, an empty segment, no SE, or too large a set.  White space
 * between segments is skipped, as the parser does.
 */
static size_t
set_extent(const struct x12 *x, size_t pos, uint32_t *nseg)
{
	const unsigned char *p = (const unsigned char *)x->in.p, *q;
	const unsigned char es = (unsigned char)x->d.element;
	size_t	 lim, t;
	uint32_t n = 0;
	unsigned char c;

	lim = x->in.len - pos > OFFER_MAX ? pos + OFFER_MAX : x->in.len;
	for (;;) {
		while (pos < lim && is_ws(p[pos]))
			pos++;
		if (pos >= lim || (q = memchr(p + pos,
		    (unsigned char)x->d.segment, lim - pos)) == NULL)
			return 0;
		t = (size_t)(q - p);
		c = p[pos];
		if (c == 'S' || c == 'G' || c == 'I' || c == '/') {
			if (t - pos < 3)
				return 0;
			if (c == 'S' && p[pos + 1] == 'E') {
				if (p[pos + 2] != es || ++n >= EG_MAX_SET_SEGMENTS)
					return 0;
				*nseg = n;
				return t + 1;
			}
			if (c == '/' || (c == 'S' && p[pos + 1] == 'T') ||
			    (c == 'G' && (p[pos + 1] == 'S' ||
			    p[pos + 1] == 'E')) || (c == 'I' &&
			    (p[pos + 1] == 'S' || p[pos + 1] == 'E')))
				return 0;
		} else if (t == pos)
			return 0;	/* an empty segment */
		if (++n >= EG_MAX_SET_SEGMENTS)
			return 0;
		pos = t + 1;
	}
}

/*
 * After on_st(): offer the set to the handler, and when it takes it, go
 * on past its SE (x->skipto) with the set's counts.  after: the offset
 * past ST's terminator.
 */
static void
set_offer(struct x12 *x, size_t after)
{
	const struct edi_delims *d = &x->d;
	struct edi_msg	 m;
	struct edi_set	 hdr;
	size_t		 end;
	uint32_t	 n;
	int		 rc;

	/* ST with anything to report, before on_st() or in it: not */
	if (x->h->msg == NULL || x->worker || x->state != XS_ST ||
	    x->ndiag > 0 || x->rejected || x->stop ||
	    x->diag_fp >= x->st_filepos || x->sb.nseg != 1 ||
	    is_ws((unsigned char)d->segment) ||
	    is_ws((unsigned char)d->element) ||
	    is_ws((unsigned char)d->component) ||
	    (d->repetition && is_ws((unsigned char)d->repetition)) ||
	    after >= x->in.len || (end = set_extent(x, after, &n)) == 0)
		return;
	if (x->snap == NULL && (x->snap = snap_new(x)) == NULL)
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.filename = x->filename;
	fill_env(x, &hdr.env, 1);
	hdr.doctype = x->st01;
	hdr.version = x->gs08;
	hdr.control = x->st02;
	hdr.seg = x->sb.seg;
	hdr.nseg = 1;
	/* as deliver_set() would have it: up to SE's terminator */
	hdr.raw = slice_make(x->sb.seg[0].raw.p, (size_t)(x->in.p + end - 1 -
	    x->sb.seg[0].raw.p));
	hdr.segs_in_raw = 1;
	m.snap = &x->snap->base;
	m.raw = slice_make(hdr.raw.p, hdr.raw.len + 1);
	m.filepos = x->st_filepos - 1;
	if ((rc = x->h->msg(x->arg, &hdr, &m)) < 0)
		x->stop = rc;
	if (rc != 1)
		return;
	/* what on_se() and deliver_set() leave */
	x->filepos += n;
	x->skipto = end;
	x->state = XS_GS;
	arena_reset(&x->sar);
	x->rejected = 0;
	x->ndiag = 0;
	x->st_filepos = 0;
}

static void	x12_loop(struct x12 *, size_t);
static void	x12_free(struct x12 *);

static void
x12_wk_free(void *arg)
{
	struct x12_wk	*wk = arg;

	if (wk == NULL)
		return;
	edi_snap_drop(wk->held);
	x12_free(wk->x);
	free(wk);
}

/* translator_x12.msg_parse: m, a set set_offer() offered. */
static int
x12_msg_parse(void **wkp, const struct edi_msg *m,
    const struct edi_handler *h, void *arg)
{
	struct x12_wk	*wk;
	struct x12_snap	*sn = (struct x12_snap *)(void *)m->snap;
	struct x12	*x;

	if ((wk = *wkp) == NULL) {
		*wkp = wk = xcalloc(1, sizeof(*wk));
		wk->x = x = xcalloc(1, sizeof(*x));
		x->worker = 1;
		arena_init(&x->iar, EG_MAX_ENV_ARENA);
		arena_init(&x->gar, EG_MAX_ENV_ARENA);
		arena_init(&x->sar, EG_MAX_SET_ARENA);
	}
	x = wk->x;
	if (edi_snap_switch(&wk->held, m->snap)) {
		x12_reading(x, &sn->rs);
		x->isa = sn->isa;
		x->gs = sn->gs;
		x->gs01 = val(&x->gs, 1);
		x->gs08 = val(&x->gs, 8);
		x->iindex = sn->iindex;
		x->gindex = sn->gindex;
		x->fid_key = 0;
	}
	/* the input ends with the set: the loop stops after its SE */
	x->in.len = (size_t)(m->raw.p + m->raw.len - x->in.p);
	x->h = h;
	x->arg = arg;
	x->ds = h->diags;
	x->state = XS_GS;
	x->filepos = m->filepos;
	x->stop = 0;
	x->outrun = 0;
	x12_loop(x, (size_t)(m->raw.p - x->in.p));
	/* set_extent() saw to it that the set is read whole */
	if (x->stop == 0 && x->state != XS_GS)
		return EG_ERR_INTERNAL;
	return x->stop;
}

/* A tag as an integer, for dispatch without strcmp. */
#define TAGKEY(t)	((uint32_t)(unsigned char)(t)[0] |		\
	    (uint32_t)(unsigned char)(t)[1] << 8 |			\
	    ((t)[1] ? (uint32_t)(unsigned char)(t)[2] << 16 : 0))
#define K2(a, b)	((uint32_t)(a) | (uint32_t)(b) << 8)
#define K3(a, b, c)	(K2(a, b) | (uint32_t)(c) << 16)
#define K_SE	K2('S', 'E')
#define K_ST	K2('S', 'T')
#define K_GS	K2('G', 'S')
#define K_GE	K2('G', 'E')
#define K_IEA	K3('I', 'E', 'A')
#define K_ISB	K3('I', 'S', 'B')
#define K_ISE	K3('I', 'S', 'E')
#define K_TA1	K3('T', 'A', '1')

static void	on_tokens(struct x12 *, struct edi_seg *)
		    __attribute__((noinline));

static void
on_segment(struct x12 *x, struct slice raw)
{
	struct edi_seg seg;
	enum diag_scope scope;
	int	 rc;

	memset(&seg, 0, sizeof(seg));
	seg.filepos = x->filepos;
	seg.raw = raw;
	seg.val = x->scratch;
	scope = x->state == XS_ST ? DIAG_SCOPE_SET :
	    x->state == XS_OUT ? DIAG_SCOPE_FILE : DIAG_SCOPE_INTERCHANGE;
	if (raw.len > EG_MAX_SEGMENT_LEN) {
		/* Only the tag is read. */
		rc = x12_split(slice_make(raw.p, 8), &x->d, NULL, 0, x->scratch,
		    0, seg.tag, &seg.nel, &seg.nval);
		seg.nel = 0;
		seg.nval = 0;
		xdiag(x, XD(DIAG_ERROR, scope, "X12-SEG-LONG", x->filepos,
		    seg.tag, .ack_seg = 8), "segment of %zu bytes exceeds "
		    "EG_MAX_SEGMENT_LEN (%u); its values are not read",
		    raw.len, EG_MAX_SEGMENT_LEN);
	} else {
		rc = split_core(raw, x->in.p + x->in.len,
		    (unsigned char)x->d.element, (unsigned char)x->d.component,
		    (unsigned char)x->d.element, NULL, x->scratch,
		    EG_MAX_SEG_VALUES, seg.tag, &seg.nel, &seg.nval);
		if (rc == EG_ERR_LIMIT)
			xdiag(x, XD(DIAG_ERROR, scope, "X12-SEG-VALUES",
			    x->filepos, seg.tag, .ack_seg = 8, .ack_el = 3),
			    "segment has too many values, elements, components "
			    "or repetitions (limits %u/%u/%u/%u); the rest is "
			    "not read", EG_MAX_SEG_VALUES, EG_MAX_ELEMENTS,
			    EG_MAX_COMPONENTS, EG_MAX_REPEATS);
		else if (rc == EG_ERR_SYNTAX) {
			char b[48];
			xdiag(x, XD(DIAG_ERROR, scope, "X12-SEG-TAG",
			    x->filepos, seg.tag, .ack_seg = 1),
			    "\"%s\" is not a segment tag",
			    slice_show(slice_make(raw.p,
			    raw.len < 20 ? raw.len : 20),
			    b, sizeof(b)));
		}
	}

	on_tokens(x, &seg);
}

/* A split segment: the envelope state machine, or the open set. */
static void
on_tokens(struct x12 *x, struct edi_seg *seg)
{
	uint32_t key;

	key = TAGKEY(seg->tag);
	switch (x->state) {
	case XS_ST:
		if (key == K_SE) {
			on_se(x, seg);
			return;
		}
		if (key != K_ST && key != K_GS && key != K_GE && key != K_IEA) {
			set_append(x, seg, 0);
			return;
		}
		break;
	case XS_SKIP:
		if (key == K_SE) {
			x->state = XS_ISA;
			return;
		}
		if (key != K_ST && key != K_GS && key != K_IEA)
			return;
		x->state = XS_ISA;
		break;
	default:
		break;
	}

	if (key == K_GS)
		on_gs(x, seg);
	else if (key == K_GE)
		on_ge(x, seg);
	else if (key == K_ST) {
		on_st(x, seg);
		set_offer(x, (size_t)(seg->raw.p + seg->raw.len - x->in.p) +
		    1);
	}
	else if (key == K_IEA)
		on_iea(x, seg);
	else if (x->state == XS_ISA && (key == K_ISB || key == K_ISE))
		x->outrun = 0;		/* X12.56 interchange services */
	else if (x->state == XS_ISA && key == K_TA1) {
		x->outrun = 0;
		on_ta1(x, seg);
	} else {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	if (key != K_TA1)
		x->outrun = 0;
}

#if defined(__SSE2__)
/* scan_plain() found nothing to decide: on_segment() reads the segment */
#define SCAN_NO		((size_t)-1)


/* Bit i set where byte i of a, then b (32 bytes), equals v's. */
static inline unsigned
mask32(__m128i a, __m128i b, __m128i v)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, v)) |
	    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, v)) << 16;
}

/* The byte classes of 32 input bytes, as bit masks (scan_plain()). */
struct cls32 {
	unsigned	 es;		/* element separator */
	unsigned	 cs;		/* component separator */
	unsigned	 st;		/* segment terminator */
};

static inline void
classify_sse2(const unsigned char *p, const struct x12 *x, struct cls32 *m)
{
	__m128i	 a, b;

	a = _mm_loadu_si128((const __m128i *)(const void *)p);
	b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	m->es = mask32(a, b, x->ves);
	m->cs = mask32(a, b, x->vcs);
	m->st = mask32(a, b, x->vst);
}

#ifdef X12_AVX2
/*
 * classify_sse2() in one 32-byte load: inlined only into the target
 * ("avx2,bmi,bmi2") copy of the segment loop, fast_run_avx2().
 */
static inline __attribute__((target("avx2,bmi,bmi2"))) void
classify_avx2(const unsigned char *p, const struct x12 *x, struct cls32 *m)
{
	const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)p);

#define EQ(i)	_mm256_cmpeq_epi8(w, _mm256_loadu_si256(			\
	    (const __m256i *)(const void *)x->b32[i]))
	m->es = (unsigned)_mm256_movemask_epi8(EQ(0));
	m->cs = (unsigned)_mm256_movemask_epi8(EQ(1));
	m->st = (unsigned)_mm256_movemask_epi8(EQ(2));
#undef EQ
}
#endif

/* The masks of the 32 bytes at p, by the copy of the loop we are in. */
static inline __attribute__((always_inline)) void
classify(const unsigned char *p, const struct x12 *x, struct cls32 *m,
    const int avx2)
{
#ifdef X12_AVX2
	if (avx2)
		classify_avx2(p, x, m);
	else
#endif
		classify_sse2(p, x, m);
}

/*
 * __builtin_ctzll() for scan_plain()'s walk of nonzero masks, without the
 * register clear gcc puts before each tzcnt, one instruction per value
 * (against a false dependency on its output that Intel's CPUs before
 * Skylake have, and AMD's do not).  tzcnt runs as bsf where BMI1 is
 * missing, with the same answer for a nonzero v.
 */
static inline __attribute__((always_inline)) uint64_t
sep_ctz(uint64_t v)
{
#if defined(__x86_64__)
	uint64_t r;

	__asm__("tzcnt %1, %0" : "=r" (r) : "r" (v) : "cc");
	return r;
#else
	return (uint64_t)__builtin_ctzll(v);
#endif
}

/*
 * setbuf_putval() of the value from start to q at o, and the next value's
 * place: o + 1 when the value is not empty.  The move is conditional on
 * the length just computed, so that no compare of q and start is needed.
 */
static inline __attribute__((always_inline)) struct edi_val *
put_val(struct edi_val *o, const unsigned char *start,
    const unsigned char *q, uint64_t erc)
{
	size_t	 len = (size_t)(q - start);

	o->s.p = (const char *)start;
	o->s.len = len;
	memcpy((unsigned char *)o + offsetof(struct edi_val, el), &erc,
	    sizeof(erc));
	return len != 0 ? o + 1 : o;
}

/*
 * A-Z 0-9: the bytes of a tag, as TAG_BITS, bits 2 and 3 of a segment's
 * first separator mask (scan_plain()): no delimiter is one of them
 * (isa_scan(), at_isa()).
 */
#define TAG_BITS	0xc
#define T_		TAG_BITS
static const unsigned char tagok[256] = {
	['0'] = T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	['A'] = T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
	T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_,
};
#undef T_
_Static_assert(EG_MAX_TAG_LEN == 3, "scan_plain(): tags of two or three");
_Static_assert(EG_MAX_SEG_VALUES <= EG_MAX_SEGMENT_LEN,
    "scan_plain(): the segment's length tested with its values'");

/*
 * x12_parse()'s common segment, cut and split in one pass instead of
 * find_byte() and split_plain(): at b a tag of two or three letters or
 * digits, then the element separator or the terminator, and no limit
 * within reach before the terminator.  Thirty-two bytes at a time give
 * bit masks of the separators and the terminator; the separators are
 * walked with ctz and every one stores a value, counted only when not
 * empty, without a branch.  out has room for EG_MAX_SEG_VALUES values;
 * a 32-byte load may start at any byte up to last.  Fills seg's tag and
 * nel, *np with the bytes of the values written at out (val_count()
 * counts them), and returns the terminator; NULL, having decided
 * nothing, otherwise.  b0ok: the caller knows b[0] to be a tag's byte.
 */
static inline __attribute__((always_inline)) const unsigned char *
scan_plain(const struct x12 *x, const unsigned char *b,
    const unsigned char *last, struct edi_seg *seg, struct edi_val *out,
    size_t *np, const int b0ok, const int avx2)
{
	const unsigned char *blk = b, *start, *q;
	unsigned mst, i, s, t;
	/* 64-bit for the walk: indexes and shifts without extensions */
	uint64_t mes, sep, k, erc = 1 | ERC_REP1 | ERC_COMP1;
	uint32_t t4;
	struct edi_val *o = out;
	struct cls32 m;

	/* the caller saw 32 bytes from b: loads never pass the input */
	classify(b, x, &m, avx2);
	mes = m.es;
	mst = m.st;
	/*
	 * A tag of two or three bytes in one test.  Tag bytes are no
	 * delimiters: with b[0] and b[1] tag bytes, bits 0 and 1 of the
	 * separator mask s are clear, and the tag ends at bit 2 (b[2] a
	 * separator) or, b[2] a tag byte too, at bit 3.  tagok[b[2]] lets
	 * bit 3 count only then; a component separator at b[2] or b[3] is
	 * in neither mask, as before.
	 */
	s = mes | mst;
	t = s & (4 | x->xtagok[b[2]]) & x->xtagok[b[1]];
	if ((b0ok ? t : t & x->xtagok[b[0]]) == 0)
		return NULL;
	i = (unsigned)sep_ctz(s);
	memcpy(&t4, b, 4);
	t4 &= (1U << (8 * i)) - 1;
	memcpy(seg->tag, &t4, 4);	/* little-endian: the tag, NULs */
	start = b + i + 1;
	/*
	 * The separators after the tag: below bit i none (tag bytes), and
	 * bit i, when not the terminator, is the lowest; when it is, the
	 * terminator's mask below clears them all anyway.
	 */
	sep = mes | m.cs;
	sep &= sep - 1;
	for (;;) {
		/* below the lowest terminator bit; all bits when there is none */
		sep &= ~mst & (mst - 1);
		if ((sep & m.cs) == 0) {
			/*
			 * Element separators only, as in nearly every block:
			 * each takes the element step, without a look at mes
			 */
			for (; sep != 0; sep &= sep - 1) {
				q = blk + sep_ctz(sep);
				o = put_val(o, start, q, erc);
				erc = (erc & ERC_EL) + x->erc_step[3];
				start = q + 1;
			}
		} else {
			for (; sep != 0; sep &= sep - 1) {
				k = sep_ctz(sep);
				q = blk + k;
				o = put_val(o, start, q, erc);
				k = (mes >> k) & 1;
				erc = (erc & x->erc_step[k]) +
				    x->erc_step[k + 2];
				start = q + 1;
			}
		}
		if (mst != 0)
			break;
		/*
		 * Another block: within the input and the segment's length,
		 * and room for 32 more values with el and comp within the
		 * limits.  Each byte is at most one separator: with blk - b
		 * bytes behind, el and comp are at most blk - b - 2 (a tag of
		 * two bytes and its separator open element 1), below 68 up to
		 * 64 bytes; and below EG_MAX_SEG_VALUES - 32 bytes there are
		 * fewer values, and the segment is short.  A block that starts
		 * within 32 bytes of EG_MAX_SEGMENT_LEN is left to the general
		 * steps, so that no terminator found needs a length test.
		 */
		blk += 32;
		if (blk > last || (blk - b >= 96 &&
		    (((erc + 0x7fbc00007fbcULL) & 0x800000008000ULL) != 0 ||
		    (blk - b >= EG_MAX_SEG_VALUES - 32 &&
		    (blk - b > EG_MAX_SEGMENT_LEN - 32 ||
		    o - out >= EG_MAX_SEG_VALUES - 32)))))
			return NULL;
		classify(blk, x, &m, avx2);
		mes = m.es;
		mst = m.st;
		sep = mes | m.cs;
	}
	/* q - b is below EG_MAX_SEGMENT_LEN: at most blk - b + 31 */
	q = blk + __builtin_ctz(mst);
	if (q < start) {
		/* just the tag: start is past the terminator */
		seg->nel = 0;
		*np = 0;
		return q;
	}
	o = put_val(o, start, q, erc);
	*np = (size_t)((unsigned char *)o - (unsigned char *)out);
	seg->nel = (uint16_t)ERC_ELNUM(erc);
	return q;
}

/*
 * The number of values in nb bytes of them: nb / 24 for nb up to
 * EG_MAX_SEG_VALUES values, by one 32-bit multiply and shift.  nb is
 * always a multiple of 24, 24k: 24k * 2,731 = 65,544k, and 65,544k >> 16
 * is k while 8k < 65,536 (k below 8,192).
 */
static inline __attribute__((always_inline)) size_t
val_count(size_t nb)
{
	_Static_assert(sizeof(struct edi_val) == 24 &&
	    EG_MAX_SEG_VALUES < 8192, "val_count(): 24-byte values");
	return (uint32_t)nb * 2731U >> 16;
}

/*
 * The first bytes fast_run() and fast_direct() look at twice: those up to
 * ' ' (white space), '/' (a comment), the first letters of the envelope
 * segments, and every other byte that is not a tag's (tagok[]): a
 * segment fast_run() takes as direct starts with a tag's byte.
 */
static const unsigned char lead[256] = {
	/* 0x00 to '/' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* '0' to '9' are 0 */
	[':'] = 1, 1, 1, 1, 1, 1, 1,
	['G'] = 1, ['I'] = 1, ['S'] = 1,
	['['] = 1, 1, 1, 1, 1,
	/* 0x60 to 0xff */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * Whether the segment at p, in the open set, is none of the envelope
 * segments (SE, ST, GS, GE, IEA) and starts with a tag's byte: for those
 * whose first byte is in lead[].
 */
static inline __attribute__((always_inline)) int
lead_direct(const struct x12 *x, const char *p)
{
	switch (p[0]) {
	case 'S':
		return p[1] != 'E' && p[1] != 'T';
	case 'G':
		return p[1] != 'S' && p[1] != 'E';
	case 'I':
		return p[1] != 'E';
	}
	return x->xtagok[(unsigned char)p[0]];
}

/* Whether the segment at p may go straight into the open set's slot. */
static inline __attribute__((always_inline)) int
fast_direct(const struct x12 *x, const char *p)
{
	return x->state == XS_ST &&
	    (!x->xlead[(unsigned char)p[0]] || lead_direct(x, p));
}

/*
 * The segment at pos split into x->scratch and handed to the general
 * steps: an envelope segment, a segment outside a set, or one that
 * fast_segment() has no slot or no room in the arena for.  Out of line
 * (fast_other_sse2(), fast_other_avx2()), so that fast_segment()'s common
 * path keeps its values in registers.
 * The terminator's offset, or SCAN_NO for find_byte() and on_segment().
 */
static inline __attribute__((always_inline)) size_t
fast_other_body(struct x12 *x, size_t pos, const int avx2)
{
	const unsigned char *in = (const unsigned char *)x->in.p, *q;
	struct edi_seg seg;
	size_t	 end, n;

	/* fast_segment() saw 32 bytes from pos */
	if ((q = scan_plain(x, in + pos, in + x->in.len - 32, &seg,
	    x->scratch, &n, 0, avx2)) == NULL)
		return SCAN_NO;
	end = (size_t)(q - in);
	x->filepos++;
	seg.filepos = x->filepos;
	seg.setpos = 0;
	seg.nval = (uint16_t)val_count(n);
	seg.val = x->scratch;
	seg.raw = slice_make(x->in.p + pos, end - pos);
	seg.loop = NULL;
	/* what on_tokens() would do */
	if (fast_direct(x, x->in.p + pos))
		set_append(x, &seg, 0);
	else if (x->state == XS_ST && TAGKEY(seg.tag) == K_SE)
		on_se(x, &seg);		/* what on_tokens() would do */
	else if (x->state == XS_GS && TAGKEY(seg.tag) == K_ST) {
		on_st(x, &seg);
		x->outrun = 0;
		set_offer(x, end + 1);
	} else
		on_tokens(x, &seg);
	return end;
}

/*
 * fast_other_body() for each copy of fast_run(): out of line, but with
 * the copy's own classifier (ST and SE of every set come this way).
 */
static size_t __attribute__((noinline))
fast_other_sse2(struct x12 *x, size_t pos)
{
	return fast_other_body(x, pos, 0);
}

#ifdef X12_AVX2
static size_t __attribute__((noinline, target("avx2,bmi,bmi2")))
fast_other_avx2(struct x12 *x, size_t pos)
{
	return fast_other_body(x, pos, 1);
}
#endif

/*
 * What fast_run() changes for every segment it keeps, held in locals for
 * the run instead of in x and x->sb: the stores into a slot may alias
 * those fields, so there each was loaded and stored again per segment.
 * run_load() takes them from x, run_store() puts them back before
 * anything else may read x (fast_other(), a limit, the run's end).
 * slot and slim are NULL until fast_open() has opened the value window for
 * the set.  x->sb.end is not followed per segment: run_store() takes it
 * from the last slot kept.
 */
struct run {
	struct edi_seg	*slot;		/* x->sb.seg + x->sb.nseg, or NULL */
	struct edi_seg	*slim;		/* x->sb.seg + x->sb.lim_nseg, or NULL */
	uintptr_t	 wlim;		/* the window's last start for VW_NEED */
	uint64_t	 fs;		/* x->filepos | x->sb.count << 32 */
	uintptr_t	 limend;	/* x->in.p + x->sb.lim_end, at most */
};

/* struct edi_seg's filepos and setpos, stored as one word from run's fs */
_Static_assert(offsetof(struct edi_seg, setpos) ==
    offsetof(struct edi_seg, filepos) + 4, "edi_seg: filepos, setpos");
#define RUN_FS1		((uint64_t)1 << 32 | 1)

/* The value window's room for a segment's EG_MAX_SEG_VALUES values. */
#define VW_NEED		(EG_MAX_SEG_VALUES * sizeof(struct edi_val))

static inline __attribute__((always_inline)) void
run_load(const struct x12 *x, struct run *r)
{
	uintptr_t in = (uintptr_t)x->in.p;

	r->slot = NULL;
	r->slim = NULL;
	r->wlim = 0;
	r->fs = x->filepos | (uint64_t)x->sb.count << 32;
	/* as a pointer to compare a terminator's with, within uintptr_t */
	r->limend = x->sb.lim_end > UINTPTR_MAX - in ? UINTPTR_MAX :
	    in + x->sb.lim_end;
}

static inline __attribute__((always_inline)) void
run_store(struct x12 *x, const struct run *r)
{
	struct setbuf *b = &x->sb;

	x->filepos = (uint32_t)r->fs;
	b->count = (uint32_t)(r->fs >> 32);
	if (r->slot != NULL && r->slot != b->seg + b->nseg) {
		/* segments kept since run_load(): the set ends with the last */
		b->nseg = (size_t)(r->slot - b->seg);
		b->end = (size_t)(r->slot[-1].raw.p + r->slot[-1].raw.len -
		    x->in.p);
	}
}

/*
 * setbuf_vwclose(), leaving end NULL too.
 */
static inline __attribute__((always_inline)) void
fast_vwclose(struct arena *a, struct setbuf_vwin *w)
{
	setbuf_vwclose(a, w);
	w->end = NULL;
}

/*
 * For a segment of the open set, with the window closed (so r is what x
 * holds): the set's free slots and a value window with room for a whole
 * segment (VW_NEED; less only near a 64 KB chunk's end or the arena's
 * cap).  0 sends the segment to the general steps, which claim its values
 * at the same place or grow the arena.
 */
static inline __attribute__((always_inline)) int
fast_open(struct x12 *x, struct run *r, struct setbuf_vwin *w)
{
	const struct setbuf *b = &x->sb;
	size_t	 cap;

	if (w->p != NULL || x->state != XS_ST || b->lim_nseg <= b->nseg ||
	    setbuf_vwroom(&x->sar, w, EG_MAX_SEG_VALUES, &cap) == NULL ||
	    cap < EG_MAX_SEG_VALUES)
		return 0;
	r->slot = b->seg + b->nseg;
	r->slim = b->seg + b->lim_nseg;
	r->wlim = (uintptr_t)w->end - VW_NEED;
	return 1;
}

/*
 * Either, as fast_segment()'s answer: SCAN_NO also when a handler asked
 * to stop (only the envelope segments reach one), so that fast_run() need
 * not look at x->stop for every segment.  The run's state goes back to x
 * and the value window is closed first: the general steps use both.
 */
static inline __attribute__((always_inline)) size_t
fast_other(struct x12 *x, size_t pos, struct run *r, struct setbuf_vwin *w,
    const int avx2)
{
	size_t	 end;

	run_store(x, r);
	fast_vwclose(&x->sar, w);
#ifdef X12_AVX2
	if (avx2)
		end = fast_other_avx2(x, pos);
	else
#endif
		end = fast_other_sse2(x, pos);
	run_load(x, r);
	return x->stop != 0 ? SCAN_NO : end;
}

/*
 * A segment scanned into its slot past the set's size limit: the general
 * steps decide: set_append() on a copy, which reports the limit.
 */
static void __attribute__((noinline))
fast_limit(struct x12 *x, struct edi_seg *seg, const char *p, size_t len,
    struct edi_val *out, size_t n)
{
	struct edi_seg	 copy;

	x->filepos++;
	seg->filepos = x->filepos;
	seg->nval = (uint16_t)n;
	seg->val = out;
	seg->raw = slice_make(p, len);
	seg->loop = NULL;
	copy = *seg;
	set_append(x, &copy, 0);
}

/*
 * The segment scanned into r's slot (p to its terminator q, n bytes of
 * values at w->p) kept there with its values in the window: what
 * set_append() would do, without a copy or a claim per segment.
 */
static inline __attribute__((always_inline)) void
fast_keep(struct run *r, struct setbuf_vwin *w, struct edi_seg *seg,
    const char *p, const unsigned char *q, size_t n)
{
	struct edi_val *out = (struct edi_val *)(void *)w->p;

	r->fs += RUN_FS1;
	memcpy(&seg->filepos, &r->fs, sizeof(r->fs));
	seg->nval = (uint16_t)val_count(n);
	seg->val = n ? out : NULL;
	seg->raw = slice_make(p, (size_t)(q - (const unsigned char *)p));
	seg->loop = NULL;
	/* w->p is ARENA_ALIGN-aligned: round the values' end up */
	w->p = (unsigned char *)(((uintptr_t)w->p + n + ARENA_ALIGN - 1) &
	    ~(uintptr_t)(ARENA_ALIGN - 1));
	r->slot++;
}

/*
 * The open set's SE at *pp, with a slot and room in the window (r->slot
 * is not NULL only while the set is open): kept in its slot as fast_keep()
 * keeps any other, then closed as on_se() closes it after set_append(),
 * without a copy of its values.  Past the set's size limit, fast_other()
 * reads it again.  fast_segment()'s answer.
 */
static inline __attribute__((always_inline)) int
fast_se(struct x12 *x, const char *in, const unsigned char *last,
    const char **pp, struct run *r, struct setbuf_vwin *w, const int avx2)
{
	const unsigned char *q;
	struct edi_seg *seg = r->slot;
	const char *p = *pp;
	size_t	 end, n;

	if ((q = scan_plain(x, (const unsigned char *)p, last, seg,
	    (struct edi_val *)(void *)w->p, &n, 1, avx2)) == NULL)
		return 0;
	if ((uintptr_t)q > r->limend) {
		if ((end = fast_other(x, (size_t)(p - in), r, w, avx2)) ==
		    SCAN_NO)
			return 0;
		*pp = in + end + 1;
		return 1;
	}
	fast_keep(r, w, seg, p, q, n);
	run_store(x, r);
	fast_vwclose(&x->sar, w);
	se_close(x, seg);
	run_load(x, r);
	*pp = (const char *)q + 1;
	/* as fast_other() answers once a handler asked to stop */
	return x->stop == 0;
}

/*
 * The segment at *pp through scan_plain(), with 32 bytes from it in the
 * input (last: the last byte a 32-byte load may start at, computed once
 * per run): 1 with *pp past its terminator, or 0 for find_byte() and
 * on_segment().  The walk is by pointer: in is needed only on the way to
 * fast_other().  A segment of the open set other than the envelope
 * segments (direct; their handlers may reset the set's arena) is split
 * straight into its setbuf slot and the arena's free space (w,
 * fast_run()'s value window, closed before anything else may allocate
 * there); fast_other() takes the others.
 */
static inline __attribute__((always_inline)) int
fast_segment(struct x12 *x, const char *in, const unsigned char *last,
    const char **pp, struct run *r, struct setbuf_vwin *w, int direct,
    const int avx2)
{
	const unsigned char *q;
	struct edi_seg *seg;
	struct edi_val *out;
	size_t	 end, n;
	const char *p = *pp;

	if (!direct && r->slot != r->slim && (uintptr_t)w->p <= r->wlim &&
	    p[0] == 'S' && p[1] == 'E' && p[2] == x->d.element)
		return fast_se(x, in, last, pp, r, w, avx2);
	if (!direct || ((r->slot == r->slim || (uintptr_t)w->p > r->wlim) &&
	    !fast_open(x, r, w))) {
		if ((end = fast_other(x, (size_t)(p - in), r, w, avx2)) ==
		    SCAN_NO)
			return 0;
		*pp = in + end + 1;
		if (x->skipto != 0) {	/* a set taken */
			*pp = in + x->skipto;
			x->skipto = 0;
		}
		return 1;
	}
	seg = r->slot;
	out = (struct edi_val *)(void *)w->p;
	if ((q = scan_plain(x, (const unsigned char *)p, last, seg, out, &n,
	    1, avx2)) == NULL)
		return 0;
	if ((uintptr_t)q > r->limend) {
		/* at the set's size limit */
		run_store(x, r);
		fast_vwclose(&x->sar, w);
		fast_limit(x, seg, p, (size_t)(q - (const unsigned char *)p),
		    out, val_count(n));
		run_load(x, r);
		*pp = (const char *)q + 1;
		return 1;
	}
	fast_keep(r, w, seg, p, q, n);
	*pp = (const char *)q + 1;
	return 1;
}

/*
 * x12_parse()'s loop for as long as fast_segment() takes the segments:
 * the position of the first one it does not take (or of an ISA or a "//"
 * comment, or one within 32 bytes of the end), for the loop's own steps.
 */
static inline __attribute__((always_inline)) size_t
fast_run(struct x12 *x, const char *in, size_t len, size_t pos,
    const int avx2)
{
	struct setbuf_vwin w = { NULL, NULL, NULL };
	struct run r;
	const unsigned char *lastp;
	const char *p, *e;
	int	 direct;
	unsigned char c;

	/* CR LF: the old loop's; only an ISA, which ends a run, sets x->d */
	if (x->d.segment == '\n' || len < 32)
		return pos;
	/* scan_plain() loads 32 bytes from a segment's start */
	lastp = (const unsigned char *)in + len - 32;
	p = in + pos;
	e = in + len;
	run_load(x, &r);
	/* x->stop is 0 here; fast_other() answers SCAN_NO once it is not */
	while ((const unsigned char *)p <= lastp) {
		/* one look for what most segments do not start with */
		direct = 1;
		if (x->xlead[c = (unsigned char)*p]) {
			if (c <= ' ') {
				while (p < e && is_ws((unsigned char)*p))
					p++;
				if ((const unsigned char *)p > lastp)
					break;
			}
			if (*p == '/' || (*p == 'I' &&
			    at_isa(slice_make(in, len), (size_t)(p - in))))
				break;
			direct = !x->xlead[(unsigned char)*p] ||
			    lead_direct(x, p);
		}
		if (!fast_segment(x, in, lastp, &p, &r, &w, direct, avx2))
			break;
	}
	run_store(x, &r);
	fast_vwclose(&x->sar, &w);
	return (size_t)(p - in);
}

/*
 * fast_run() compiled twice, with everything it calls inlined: for any
 * SSE2 machine, and for one with AVX2, BMI1 and BMI2 (classify_avx2();
 * the three checked together).  on_tokens() is noinline: flatten leaves
 * the envelope state machine where it is.
 */
static size_t __attribute__((flatten))
fast_run_sse2(struct x12 *x, const char *in, size_t len, size_t pos)
{
	return fast_run(x, in, len, pos, 0);
}

#ifdef X12_AVX2
static size_t __attribute__((flatten, target("avx2,bmi,bmi2")))
fast_run_avx2(struct x12 *x, const char *in, size_t len, size_t pos)
{
	return fast_run(x, in, len, pos, 1);
}
#endif
#endif

static void
x12_free(struct x12 *x)
{
	snap_let_go(x);
	arena_free(&x->iar);
	arena_free(&x->gar);
	arena_free(&x->sar);
	refset_free(&x->isactl);
	refset_free(&x->stctl);
	setbuf_free(&x->sb);
	free(x);
}

/* Read x->in from pos, to its end or until a handler stops. */
static void
x12_loop(struct x12 *x, size_t pos)
{
	struct slice in = x->in;
	const char *p = in.p, *q;
	size_t	 end, next, len = in.len;

	while (pos < len && x->stop == 0) {
#if defined(__SSE2__)
		/* the common segments; the loop below takes the others */
#ifdef X12_AVX2
		if (x->avx2)
			pos = fast_run_avx2(x, p, len, pos);
		else
#endif
			pos = fast_run_sse2(x, p, len, pos);
		if (pos >= len || x->stop != 0)
			break;
#endif
		/* every is_ws() byte is <= ' ': one test for the common tag */
		if ((unsigned char)p[pos] <= ' ')
			while (pos < len && is_ws((unsigned char)p[pos]))
				pos++;
		if (pos >= len)
			break;
		if (p[pos] == '/' && pos + 1 < len && p[pos + 1] == '/') {
			q = memchr(p + pos, '\n', len - pos);
			end = q ? (size_t)(q - p) : len;
			if (end > pos && p[end - 1] == '\r')
				end--;
			if (!x->commented || (x->state != XS_OUT &&
			    x->iok)) {
				char b[48];
				x->commented = 1;
				xdiag(x, XD(DIAG_ERROR, x->state == XS_OUT ?
				    DIAG_SCOPE_FILE : DIAG_SCOPE_INTERCHANGE,
				    "X12-COMMENT", x->filepos), "comment line "
				    "\"%s\" after segment %u is not X12 "
				    "(skipped, like any further ones)",
				    slice_show(slice_make(p + pos, end - pos),
				    b, sizeof(b)), x->filepos);
			}
			pos = q ? (size_t)(q - p) + 1 : len;
			continue;
		}
		if (p[pos] == 'I' && at_isa(in, pos)) {
			on_isa(x, pos, &pos);
			continue;
		}
		q = find_byte(p + pos, p + len, (unsigned char)x->d.segment);
		if (q != NULL) {
			end = (size_t)(q - p);
			next = end + 1;
		} else {
			end = len;
			while (end > pos && is_ws((unsigned char)p[end - 1]))
				end--;
			next = len;
		}
		if (x->d.segment == '\n' && end > pos && p[end - 1] == '\r')
			end--;
		x->filepos++;
		on_segment(x, slice_make(p + pos, end - pos));
		pos = next;
		if (x->skipto != 0) {	/* a set taken */
			pos = x->skipto;
			x->skipto = 0;
		}
	}
}

static int
x12_parse(struct slice in, const char *filename,
    const struct edi_handler *h, void *arg)
{
	struct x12 *x;
	size_t	 pos;
	unsigned ncomment = 0;
	int	 rc;

	x = xcalloc(1, sizeof(*x));
	x->in = in;
	x->filename = filename;
	x->h = h;
	x->arg = arg;
	x->ds = h->diags;
	arena_init(&x->iar, EG_MAX_ENV_ARENA);
	arena_init(&x->gar, EG_MAX_ENV_ARENA);
	arena_init(&x->sar, EG_MAX_SET_ARENA);

	if (in.len == 0 || in.p == NULL) {
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_FILE, "X12-EMPTY"),
		    "the input is empty");
		rc = EG_ERR_SYNTAX;
		goto out;
	}
	if (in.len > EG_MAX_DOC_SIZE) {
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_FILE, "X12-TOO-BIG"),
		    "the input (%zu bytes) exceeds EG_MAX_DOC_SIZE (%llu)",
		    in.len, (unsigned long long)EG_MAX_DOC_SIZE);
		rc = EG_ERR_LIMIT;
		goto out;
	}
	pos = skip_preamble(in, 0, &ncomment);
	if (!at_isa(in, pos)) {
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_FILE, "X12-NOT-EDI"),
		    "the input does not start with an X12 ISA segment");
		rc = EG_ERR_SYNTAX;
		goto out;
	}
	if (ncomment) {
		x->commented = 1;
		xdiag(x, XD(DIAG_ERROR, DIAG_SCOPE_FILE, "X12-COMMENT"),
		    "%u \"//\" comment line%s before the ISA (not X12; "
		    "skipped)",
		    ncomment, ncomment == 1 ? "" : "s");
	}
	on_isa(x, pos, &pos);
	if (!x->have_delims) {
		rc = EG_ERR_SYNTAX;
		goto out;
	}
#if defined(__SSE2__)
	x->erc_step[0] = ~(uint64_t)0;
	x->erc_step[1] = ERC_EL;
	x->erc_step[2] = ERC_COMP1;
	x->erc_step[3] = 1 | ERC_REP1 | ERC_COMP1;
	memcpy(x->xlead, lead, sizeof(x->xlead));
	memcpy(x->xtagok, tagok, sizeof(x->xtagok));
#endif
#ifdef X12_AVX2
	x->avx2 = edi_avx2();
#endif
	x12_loop(x, pos);
	if (x->stop == 0)
		close_to(x, XS_OUT, x->filepos);
	rc = x->stop;
 out:
	x12_free(x);
	return rc;
}

const struct translator translator_x12 = {
	.name = "x12",
	.sniff = x12_sniff,
	.parse = x12_parse,
	.msg_parse = x12_msg_parse,
	.wk_free = x12_wk_free,
};
