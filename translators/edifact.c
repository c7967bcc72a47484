/*
 * edifact.c: UN/EDIFACT tokenizer and envelope state machine
 * (translator_edifact).
 *
 * Reads the UNA service string advice (or the defaults :+.? ' and, for
 * syntax version 4 without UNA, the repetition separator *), cuts segments
 * at the segment terminator (a released terminator ?' is data), splits
 * elements, components and repetitions, removes release characters and
 * line breaks (hard-wrapped files) and converts the text of the declared
 * character set (UNOA..UNOY) to UTF-8.  It tracks UNB/UNZ, UNG/UNE and
 * UNH/UNT, checks counts and references, and hands each message to the
 * caller as one struct edi_set.  Per-message values live in an arena reset
 * after every message; the UNB and UNG copies in small arenas of their own.
 * Pure: no I/O, no global state, never aborts on partner data.
 *
 * Positions: filepos counts the segments of the file from 1, envelopes
 * included, and a UNA service string advice counts as a segment (so that
 * in a one-segment-per-line file filepos is the line number); setpos
 * counts from UNH = 1.
 *
 * Repetitions are split here, not by the tree builder (edi.h): the release
 * character makes the repetition separator unambiguous.  The separator is
 * active from syntax version 4 on (UNA position 5, default *); in syntax
 * versions 1 to 3 that position is reserved and a character there is not
 * a separator (many syntax 3 files carry UNA:+.?*').
 *
 * Diagnostic codes (stable; docs/diagnostics.md catalogues them):
 *
 *   EDI-EMPTY        FILE   the input is empty
 *   EDI-TOO-BIG      FILE   the input exceeds EG_MAX_DOC_SIZE
 *   EDI-NOT-EDI      FILE   the input does not start with UNA, UNB or UNH
 *   EDI-OUTSIDE      FILE   a segment outside any interchange (after UNZ)
 *   EDI-NO-UNB       FILE   warning: a message without UNB/UNZ envelope
 *                           (delivered with env.interchange NULL)
 *   EDI-UNA          INTERCHANGE  unusable service string advice (UCI 20):
 *                           the defaults are used instead
 *   EDI-UNB-SYNTAX   INTERCHANGE  S001 syntax identifier or version
 *                           missing or not supported (UCI 2); warning for an
 *                           unknown identifier (text read as UTF-8)
 *   EDI-UNB-FIELD    INTERCHANGE  a mandatory UNB element missing or blank
 *                           (UCI 13), too long (39) or an invalid code
 *                           (12; 0029 priority: warning)
 *   EDI-UNB-DATE     INTERCHANGE  S004 date or time invalid (UCI 12)
 *   EDI-UNB-TEST     INTERCHANGE  0035 test indicator not 1 (UCI 25;
 *                           warning for 0)
 *   EDI-UNB-DUP      INTERCHANGE  warning: 0020 repeats an earlier
 *                           interchange of this file (UCI 26)
 *   EDI-UNZ-COUNT    INTERCHANGE  0036 is not the number of messages
 *                           (or groups) (UCI 29)
 *   EDI-UNZ-CONTROL  INTERCHANGE  UNZ 0020 differs from UNB 0020 (UCI 28)
 *   EDI-UNZ-MISSING  INTERCHANGE  the interchange has no UNZ (UCI 13)
 *   EDI-EMPTY-IC     INTERCHANGE  an interchange without messages (32)
 *   EDI-MIXED        INTERCHANGE  groups and messages side by side (30)
 *   EDI-UNEXPECTED   INTERCHANGE/GROUP  a segment between messages or
 *                           groups (33); skipped
 *   EDI-UNG-FIELD    GROUP  a mandatory UNG element missing (UCF 13) or
 *                           its date/time invalid (12)
 *   EDI-UNG-ID       GROUP  warning: a message whose type or version
 *                           differs from UNG 0038 / S008
 *   EDI-UNG-DUP      GROUP  warning: 0048 repeats in the interchange (26)
 *   EDI-UNE-COUNT    GROUP  0060 is not the number of messages (UCF 29)
 *   EDI-UNE-CONTROL  GROUP  UNE 0048 differs from UNG 0048 (UCF 28)
 *   EDI-UNE-MISSING  GROUP  the group has no UNE (UCF 13)
 *   EDI-EMPTY-GROUP  GROUP  a group without messages (UCF 32)
 *   EDI-UNH-FIELD    SET    0062 or S009 missing (UCM 13) or too long (39)
 *   EDI-UNH-VERSION  SET    S009 0052/0054 is not a message version (12)
 *   EDI-UNH-DUP      SET    0062 repeats within the interchange (UCM 26)
 *   EDI-UNT-COUNT    SET    0074 is not the number of segments (UCM 29)
 *   EDI-UNT-CONTROL  SET    UNT 0062 differs from UNH 0062 (UCM 28)
 *   EDI-UNT-MISSING  SET    the message has no UNT (UCM 13)
 *   EDI-SET-LIMIT    SET    the message exceeds EG_MAX_SET_SIZE, _SEGMENTS
 *                           or its arena; the rest is not kept (UCM 18)
 *   EDI-SEG-LONG     SET/INTERCHANGE  a segment over EG_MAX_SEGMENT_LEN;
 *                           its values are not read (UCS 18)
 *   EDI-SEG-VALUES   SET/INTERCHANGE  too many values, elements,
 *                           components or repetitions (UCS 16 / 35)
 *   EDI-SEG-TAG      SET/INTERCHANGE  a tag that is not 3 uppercase
 *                           letters or digits (UCS 12)
 *   EDI-CHARSET      warning: characters outside the declared character
 *                           set, or bytes that do not convert (replaced by
 *                           U+FFFD), or UTF-8 text under a Latin charset
 *                           (kept as UTF-8) (UCD 21)
 *   EDI-NEWLINE      warning: line breaks inside segments were removed
 *                           (reported once per interchange)
 *   EDI-TRAILING     warning: trailing separators in a segment (UCD 45)
 *   EDI-RELEASE      warning: a release character at the end of input
 *   EDI-DIAG-LIMIT   SET    warning: more than EG_MAX_DIAGS_PER_SET
 *
 * Acknowledgement fields (read by edifact_ack.c, which tells these codes
 * from the tree validator's X12-style AK304/AK403 codes by their "EDI-"
 * prefix): ack_seg holds the syntax error code 0085 at the level of the
 * diagnostic's scope: UCI for INTERCHANGE, UCF for GROUP, UCM for the SET
 * envelope codes (EDI-UNH-*, EDI-UNT-*, EDI-SET-LIMIT), UCS for segment
 * codes inside a message (EDI-SEG-*).  ack_el holds the UCD 0085 of a data
 * element error, whose position is el (0098) and comp (0104).  tag names
 * the service segment (UCI/UCF/UCM 0135).  ack_ta1 is not used.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* x86 compilers that take target("avx2,bmi,bmi2"): 32 bytes per load */
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__)) && \
    defined(__GNUC__)
#define EF_AVX2	1
#include <immintrin.h>
#endif

#include "arena.h"
#include "diag.h"
#include "edi.h"
#include "edifact.h"
#include "eglimits.h"
#include "err.h"
#include "refset.h"
#include "setbuf.h"
#include "translator.h"
#include "xmalloc.h"

enum ef_state {
	ES_OUT = 0,	/* no interchange open */
	ES_IC,		/* interchange open, between messages / groups */
	ES_GRP,		/* group open, between messages */
	ES_MSG,		/* message open (in an interchange) */
	ES_BARE,	/* message open without UNB */
};

/* Character classes of the tokenizer. */
enum {
	C_DATA = 0,
	C_EL,		/* element separator */
	C_CO,		/* component separator */
	C_RE,		/* repetition separator (syntax 4) */
	C_RC,		/* release character */
	C_NL,		/* CR or LF that is not a delimiter: dropped */
	C_END,
};

/* Character sets of UNB S001 0001. */
enum ef_cs {
	CS_UTF8 = 0,	/* UNOW, UNOY, UNOX, unknown, no UNB: validate */
	CS_A,		/* UNOA */
	CS_B,		/* UNOB */
	CS_LATIN1,	/* UNOC */
	CS_ICONV,	/* UNOD.., through iconv */
};

static const struct {
	const char	*id;
	enum ef_cs	 cs;
	const char	*iconv;
} ef_charsets[] = {
	/* glibc and musl names, spelt so that they do not look like codes */
	{ "UNOA", CS_A, NULL },
	{ "UNOB", CS_B, NULL },
	{ "UNOC", CS_LATIN1, NULL },
	{ "UNOD", CS_ICONV, "ISO_8859-2" },
	{ "UNOE", CS_ICONV, "ISO_8859-5" },
	{ "UNOF", CS_ICONV, "ISO_8859-7" },
	{ "UNOG", CS_ICONV, "ISO_8859-3" },
	{ "UNOH", CS_ICONV, "ISO_8859-4" },
	{ "UNOI", CS_ICONV, "ISO_8859-6" },
	{ "UNOJ", CS_ICONV, "ISO_8859-8" },
	{ "UNOK", CS_ICONV, "ISO_8859-9" },
	{ "UNOL", CS_ICONV, "ISO_8859-15" },
	{ "UNOW", CS_UTF8, NULL },
	{ "UNOX", CS_UTF8, NULL },
	{ "UNOY", CS_UTF8, NULL },
	{ "IATA", CS_A, NULL },		/* IATA syntax levels A and B */
	{ "IATB", CS_B, NULL },
};


/* One tokenized segment. */
#define TF_NEWLINE	0x01	/* CR/LF removed inside */
#define TF_TRAILING	0x02	/* trailing separator */
#define TF_LIMIT	0x04	/* too many values/positions */
#define TF_BADTAG	0x08
#define TF_DANGLING	0x10	/* release at the very end */
#define TF_REPLIMIT	0x20	/* the limit hit was repetitions */
/* not a problem: no byte < 0x20 or >= 0x7f, for raw_plain() */
#define TF_CSPLAIN	0x40
/*
 * scan_plain() unescaped values into tbuf (x->tlen counts them); its
 * callers take it off before the flags go on.
 */
#define TF_REL		0x80

/*
 * The special bytes of the delimiters as vectors (next_special(),
 * tokenize_plain()); build_classes() sets them with the classes.
 */
#ifdef __SSE2__
struct specials {
	__m128i	 v[6];
	/* scan_plain(): the terminator, and release, repetition or a stand-in */
	__m128i	 term, rel, rep;
	/* scan_plain(): '"' and '\\', or NUL for either when a delimiter */
	__m128i	 jq, jb;
	unsigned hasrel;		/* ~0U with a release character, or 0 */
#ifdef EF_AVX2
	/*
	 * classify_avx2()'s element, component, repetition, terminator and
	 * release bytes, 32 of each: compared straight from memory (VEX
	 * takes unaligned operands) instead of broadcast per block; then
	 * 0x01 and a table of thresholds (0x21, and '"' + 2 at 3) for
	 * raw_plain()'s bytes and '"', added and compared the same way;
	 * then jb's bytes.
	 */
	unsigned char	 b32[8][32];
#endif
};
#else
struct specials {
	int	 unused;
};
#endif

/*
 * Everything in struct ef above iar (EF_HEAD) is the state in which a
 * message is read: the delimiters, their classes and the character set.
 * A snapshot copies it whole for the parsers of other threads
 * (edifact_msg_parse()); it holds no pointer to what the parser owns but
 * cd, and no snapshot is made while cd is in use (CS_ICONV).
 */
struct ef {
	struct slice	 in;
	const char	*filename;
	const struct edi_handler *h;
	void		*arg;
	struct diag_sink *ds;
	struct edi_delims d;
	unsigned char	 cls[256];
	unsigned char	 csok[256];	/* UNOA characters, delimiters */
	unsigned char	 tagok[256];	/* A-Z 0-9: is_upalnum() */
	/*
	 * scan_block()'s step past a separator byte b: erc_keep[cls[b]] and
	 * erc_add[cls[b]] (0 for the other classes), one load each.
	 */
	uint64_t	 ekeep[256], eadd[256];
	struct specials	 sp;
	char		 una_rep;	/* UNA position 5; 0: none */
	int		 have_una;	/* a UNA applies to the next UNB */
	int		 stale;		/* delimiters of a closed UNB */
	enum ef_state	 state;
	uint32_t	 filepos;
	int		 stop;
	int		 outrun;
	int		 bare_reported;
	int		 nl_reported;
	int		 avx2;		/* fast_run_avx2() */
	/*
	 * No delimiter is '"' or '\\', the bytes besides raw_plain()'s
	 * that JSON escapes: scan_plain() takes those out of TF_CSPLAIN
	 * too, and a message may be plain (mplain).
	 */
	int		 jsonok;

	/* character set */
	enum ef_cs	 cs;
	char		 csname[8];
	iconv_t		 cd;
	const char	*cdname;
	int		 syntax_ver;

	/* interchange */
	struct arena	 iar;
	/*
	 * The interchange's snapshot for msg_offer(), made at its first
	 * offer and let go when anything in EF_HEAD or unb changes.  worker:
	 * this parser reads one offered message (edifact_msg_parse());
	 * skipto: the offset to go on at, past a message taken.
	 */
	struct edifact_snap *snap;
	int		 worker;
	size_t		 skipto;
	uint32_t	 diag_fp;	/* the latest filepos diagnosed */
	struct edi_seg	 unb;
	int		 iok;
	uint32_t	 nmsgs, ngroups, iindex;
	int		 mixed;
	struct refset	 icctl;		/* UNB 0020 in the file */
	struct refset	 msgctl;	/* UNH 0062 in the interchange */
	struct refset	 grpctl;	/* UNG 0048 in the interchange */

	/* group */
	struct arena	 gar;
	struct edi_seg	 ung;
	int		 in_group;
	int		 gok;
	uint32_t	 gmsgs, gindex;

	/* message */
	struct arena	 sar;
	struct edi_set	 set;
	struct setbuf	 sb;
	/*
	 * fast_run()'s value window w has the room for a whole segment's
	 * values (VW_NEED) at w->p when w->p - 1 is below this: set where
	 * fast_segment() opens the window, and stale once it is closed,
	 * where w->p - 1 is the top address.
	 */
	uintptr_t	 vwfull;
	uint32_t	 unh_filepos;
	/*
	 * Every value of the open message that lies in the input is text
	 * that JSON takes as it is (edi_set.plain): set by the common UNH
	 * (fast_other_body()), cleared by any segment that on_tokens() or
	 * fast_slot_latin1() sees with such a byte.  The others are kept
	 * with TF_CSPLAIN (no byte below 0x20 or above 0x7e, no '"' or
	 * '\\'), or with no value, or with their values rewritten outside
	 * the input (released, converted).
	 */
	int		 mplain;
	int		 rejected;
	unsigned	 ndiag;
	struct slice	 ref, type, v52, v54;
	char		 verbuf[16];	/* deliver_set()'s version */

	/* current segment */
	char		*tbuf;		/* unescaped, converted values */
	size_t		 tlen, tcap;
	struct edi_val	 scratch[EG_MAX_SEG_VALUES];
};

#define EF_HEAD		offsetof(struct ef, iar)

static void	snap_let_go(struct ef *);

/* -- small helpers ------------------------------------------------------ */

/* Between segments: also SUB and NUL, the padding of old transfers. */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == 0x1a || c == 0;
}

static int
is_upalnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
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

static struct slice
val(const struct edi_seg *seg, int el, int comp)
{
	const struct slice *s = edi_value(seg, el, comp, 1);

	return s ? *s : slice_make("", 0);
}

/* -- delimiters --------------------------------------------------------- */

static void
default_delims(struct edi_delims *d)
{
	memset(d, 0, sizeof(*d));
	d->component = ':';
	d->element = '+';
	d->decimal = '.';
	d->release = '?';
	d->repetition = 0;
	d->segment = '\'';
}

static int
unoa_ok(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr(" .,-()/='+:?!\"%&*;<>", c) != NULL;
}

/* The position after a separator of class c: (erc & keep) + add. */
static const uint64_t erc_keep[4] = {
	[C_EL] = ERC_EL, [C_CO] = ~(uint64_t)0, [C_RE] = 0xffffffffU,
};
static const uint64_t erc_add[4] = {
	[C_EL] = 1 | ERC_REP1 | ERC_COMP1, [C_CO] = ERC_COMP1,
	[C_RE] = ERC_REP1 | ERC_COMP1,
};

static void	specials_init(const struct ef *, struct specials *);

static void
build_classes(struct ef *x)
{
	int	 i;

	snap_let_go(x);
	memset(x->cls, C_DATA, sizeof(x->cls));
	x->cls['\r'] = C_NL;
	x->cls['\n'] = C_NL;
	if (x->d.release)
		x->cls[(unsigned char)x->d.release] = C_RC;
	if (x->d.repetition)
		x->cls[(unsigned char)x->d.repetition] = C_RE;
	x->cls[(unsigned char)x->d.component] = C_CO;
	x->cls[(unsigned char)x->d.element] = C_EL;
	/* The terminator ends the raw text before splitting. */
	x->cls[(unsigned char)x->d.segment] = C_DATA;
	for (i = 0; i < 256; i++) {
		x->csok[i] = (unsigned char)unoa_ok((unsigned char)i);
		x->tagok[i] = (unsigned char)is_upalnum(i);
	}
	for (i = 0; i < 256; i++) {
		x->ekeep[i] = x->cls[i] <= C_RE ? erc_keep[x->cls[i]] : 0;
		x->eadd[i] = x->cls[i] <= C_RE ? erc_add[x->cls[i]] : 0;
	}
	x->csok[(unsigned char)x->d.element] = 1;
	x->csok[(unsigned char)x->d.component] = 1;
	if (x->d.release)
		x->csok[(unsigned char)x->d.release] = 1;
	if (x->d.repetition)
		x->csok[(unsigned char)x->d.repetition] = 1;
	x->jsonok = x->d.element != '"' && x->d.element != '\\' &&
	    x->d.component != '"' && x->d.component != '\\' &&
	    x->d.segment != '"' && x->d.segment != '\\' &&
	    x->d.release != '"' && x->d.release != '\\' &&
	    x->d.repetition != '"' && x->d.repetition != '\\';
	specials_init(x, &x->sp);
}

static int
at_tag(struct slice in, size_t pos, const char *tag)
{
	return pos + 3 < in.len && memcmp(in.p + pos, tag, 3) == 0;
}

/*
 * Read the UNA at pos (6 service characters after "UNA").  Returns 0 and
 * fills d, or EG_ERR_SYNTAX with a reason (d then holds the defaults).
 */
static int
una_read(struct slice in, size_t pos, struct edi_delims *d, char *rep,
    const char **why)
{
	const unsigned char *u;
	unsigned char set[5];
	int	 i, j;

	default_delims(d);
	*rep = 0;
	if (pos + 9 > in.len) {
		*why = "the input ends inside the UNA";
		return EG_ERR_SYNTAX;
	}
	u = (const unsigned char *)in.p + pos + 3;
	set[0] = u[0];		/* component */
	set[1] = u[1];		/* element */
	set[2] = u[3];		/* release (space: none) */
	set[3] = u[4];		/* repetition (space: none) */
	set[4] = u[5];		/* terminator */
	for (i = 0; i < 5; i++) {
		if (set[i] == ' ' && (i == 2 || i == 3))
			continue;
		if (is_upalnum(set[i]) || (set[i] >= 'a' && set[i] <= 'z') ||
		    set[i] == ' ' || set[i] == 0) {
			*why = "a service character is a letter, digit, space "
			    "or NUL";
			return EG_ERR_SYNTAX;
		}
		if ((set[i] == '\r' || set[i] == '\n') && i != 4) {
			*why = "a separator is CR or LF";
			return EG_ERR_SYNTAX;
		}
		for (j = 0; j < i; j++)
			if (set[j] == set[i] && set[i] != ' ') {
				*why = "two service characters are the same";
				return EG_ERR_SYNTAX;
			}
	}
	d->component = (char)u[0];
	d->element = (char)u[1];
	d->decimal = (u[2] == ',') ? ',' : '.';
	d->release = u[3] == ' ' ? 0 : (char)u[3];
	*rep = u[4] == ' ' ? 0 : (char)u[4];
	d->segment = (char)u[5];
	if (u[2] != '.' && u[2] != ',') {
		*why = "the decimal mark is neither . nor ,";
		return EG_ERR_SYNTAX;
	}
	return 0;
}

/*
 * End of the segment starting at pos: the offset of its (unreleased)
 * terminator, or in.len.  A terminator preceded by an odd run of release
 * characters is data.
 */
static size_t
seg_end(struct slice in, size_t pos, char term, char rel)
{
	const char *p = in.p, *q;
	size_t	 k, end;

	for (;;) {
		q = memchr(p + pos, (unsigned char)term, in.len - pos);
		if (q == NULL)
			return in.len;
		end = (size_t)(q - p);
		if (rel == 0 || end == 0 || p[end - 1] != rel)
			return end;
		for (k = end; k > 0 && p[k - 1] == rel; k--)
			;
		if (((end - k) & 1) == 0)
			return end;
		pos = end + 1;
		if (pos >= in.len)
			return in.len;
	}
}

static size_t
skip_ws(struct slice in, size_t pos, const struct edi_delims *d)
{
	unsigned char c;

	while (pos < in.len) {
		c = (unsigned char)in.p[pos];
		if (!is_ws(c) || c == (unsigned char)d->element ||
		    c == (unsigned char)d->segment ||
		    c == (unsigned char)d->component)
			break;
		pos++;
	}
	return pos;
}

static size_t
skip_bom_ws(struct slice in)
{
	size_t	 pos = 0;

	if (in.len >= 3 && memcmp(in.p, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < in.len && is_ws((unsigned char)in.p[pos]))
		pos++;
	return pos;
}

/*
 * Before a UNB with no UNA of its own, the delimiters of a previous
 * interchange stay when that UNB is written with them, else the defaults
 * apply (ISO 9735: a UNA governs the interchange that follows it).
 */
static int
unb_defaults(struct slice in, size_t pos, const struct edi_delims *d)
{
	return pos + 3 < in.len && in.p[pos + 3] != d->element &&
	    in.p[pos + 3] == '+';
}

long
edifact_count_segments(struct slice in)
{
	struct edi_delims d;
	const char *why;
	size_t	 pos, len = in.len;
	long	 n = 0;
	char	 rep;
	int	 stale = 0;

	if (in.len > EG_MAX_DOC_SIZE)
		return EG_ERR_LIMIT;
	if (in.p == NULL || in.len == 0)
		return EG_ERR_SYNTAX;
	default_delims(&d);
	pos = skip_bom_ws(in);
	if (!at_tag(in, pos, "UNA") && !at_tag(in, pos, "UNB") &&
	    !at_tag(in, pos, "UNH"))
		return EG_ERR_SYNTAX;
	while (pos < len) {
		pos = skip_ws(in, pos, &d);
		if (pos >= len)
			break;
		if (in.p[pos] == 'U' && at_tag(in, pos, "UNA")) {
			(void)una_read(in, pos, &d, &rep, &why);
			stale = 0;
			n++;
			pos += 9;
			continue;
		}
		if (in.p[pos] == 'U' && at_tag(in, pos, "UNB")) {
			if (stale && unb_defaults(in, pos, &d))
				default_delims(&d);
			stale = 0;
		} else if (in.p[pos] == 'U' && at_tag(in, pos, "UNZ"))
			stale = 1;
		n++;
		pos = seg_end(in, pos, d.segment, d.release) + 1;
	}
	return n;
}

static int
edifact_sniff(struct slice in)
{
	size_t	 pos = skip_bom_ws(in);

	if (at_tag(in, pos, "UNA"))
		return pos + 9 <= in.len;
	if (at_tag(in, pos, "UNB") || at_tag(in, pos, "UNH"))
		return !is_upalnum((unsigned char)in.p[pos + 3]) &&
		    !is_ws((unsigned char)in.p[pos + 3]);
	return 0;
}

/* -- diagnostics -------------------------------------------------------- */

struct ed {
	enum diag_sev	 sev;
	enum diag_scope	 scope;
	const char	*code;
	uint32_t	 filepos;
	const char	*tag;
	int		 el, comp;
	int		 ack_seg, ack_el;
	const struct slice *bad;
};

static void __attribute__((format(printf, 3, 4)))
ediag(struct ef *x, const struct ed *a, const char *fmt, ...)
{
	struct diag	 dg;
	va_list	 ap;
	size_t	 n;

	/* a segment's own come before any about an older one (close_to()) */
	if (a->filepos > x->diag_fp)
		x->diag_fp = a->filepos;
	if (a->scope == DIAG_SCOPE_SET) {
		if (x->ndiag == EG_MAX_DIAGS_PER_SET) {
			x->ndiag++;
			diag_init(&dg, DIAG_WARNING, "EDI-DIAG-LIMIT");
			dg.scope = DIAG_SCOPE_SET;
			dg.filepos = a->filepos;
			diag_msg(&dg,
			    "more than %u diagnostics in this message; "
			    "the rest are not shown", EG_MAX_DIAGS_PER_SET);
			diag_emit(x->ds, &dg);
			if (a->sev == DIAG_ERROR)
				x->rejected = 1;
			return;
		}
		if (x->ndiag > EG_MAX_DIAGS_PER_SET) {
			if (a->sev == DIAG_ERROR)
				x->rejected = 1;
			return;
		}
		x->ndiag++;
	}
	diag_init(&dg, a->sev, a->code);
	dg.scope = a->scope;
	dg.filepos = a->filepos;
	if (a->scope == DIAG_SCOPE_SET && x->unh_filepos &&
	    a->filepos >= x->unh_filepos)
		dg.setpos = a->filepos - x->unh_filepos + 1;
	if (a->tag)
		snprintf(dg.tag, sizeof(dg.tag), "%s", a->tag);
	dg.el = a->el;
	dg.comp = a->comp;
	dg.ack_seg = a->ack_seg;
	dg.ack_el = a->ack_el;
	if (a->bad != NULL) {
		n = a->bad->len < sizeof(dg.badvalue) - 1 ? a->bad->len :
		    sizeof(dg.badvalue) - 1;
		memcpy(dg.badvalue, a->bad->p, n);
		dg.badvalue[n] = '\0';
	}
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

/* ED(sev, scope, code[, filepos, tag, el][, .ack_seg = ...]) */
#define ED(sv, sc, ...)	\
	(&(const struct ed){ .sev = (sv), .scope = (sc), .code = __VA_ARGS__ })

/* Scope of a problem in the segment being read. */
static enum diag_scope
cur_scope(const struct ef *x)
{
	switch (x->state) {
	case ES_MSG:
	case ES_BARE:
		return DIAG_SCOPE_SET;
	case ES_GRP:
		return DIAG_SCOPE_GROUP;
	case ES_IC:
		return DIAG_SCOPE_INTERCHANGE;
	default:
		return DIAG_SCOPE_FILE;
	}
}

/* -- tokenizer ---------------------------------------------------------- */

/* Room for n more bytes of converted text; NULL past the cap. */
static char *
tbuf_room(struct ef *x, size_t n)
{
	if (x->tlen + n > x->tcap)
		return NULL;
	return x->tbuf + x->tlen;
}

/* [s, e) without release characters and dropped CR/LF. */
static struct slice
unescape(struct ef *x, const unsigned char *s, const unsigned char *e)
{
	char	*o, *start;
	unsigned char c;

	if ((start = tbuf_room(x, (size_t)(e - s))) == NULL)
		return slice_make((const char *)s, (size_t)(e - s));
	o = start;
	while (s < e) {
		c = x->cls[*s];
		if (c == C_NL) {
			s++;
			continue;
		}
		if (c == C_RC) {
			s++;
			while (s < e && x->cls[*s] == C_NL)
				s++;
			if (s >= e)
				break;
		}
		*o++ = (char)*s++;
	}
	x->tlen += (size_t)(o - start);
	return slice_make(start, (size_t)(o - start));
}

static void
specials_init(const struct ef *x, struct specials *sp)
{
#ifdef __SSE2__
	sp->v[0] = _mm_set1_epi8(x->d.element);
	sp->v[1] = _mm_set1_epi8(x->d.component);
	sp->v[2] = _mm_set1_epi8(x->d.release ? x->d.release : x->d.element);
	sp->v[3] = _mm_set1_epi8(x->d.repetition ? x->d.repetition :
	    x->d.element);
	sp->v[4] = _mm_set1_epi8('\n');
	sp->v[5] = _mm_set1_epi8('\r');
	sp->term = _mm_set1_epi8(x->d.segment);
	/* a stand-in that means the same: the terminator, the component */
	sp->rel = _mm_set1_epi8(x->d.release ? x->d.release : x->d.segment);
	sp->rep = _mm_set1_epi8(x->d.repetition ? x->d.repetition :
	    x->d.component);
	sp->hasrel = x->d.release ? ~0U : 0;
	/* NUL: already one of raw_plain()'s bytes */
	sp->jq = _mm_set1_epi8(x->jsonok ? '"' : 0);
	sp->jb = _mm_set1_epi8(x->jsonok ? '\\' : 0);
#ifdef EF_AVX2
	memset(sp->b32[0], x->d.element, 32);
	memset(sp->b32[1], x->d.component, 32);
	memset(sp->b32[2], x->d.repetition ? x->d.repetition :
	    x->d.component, 32);
	memset(sp->b32[3], x->d.segment, 32);
	memset(sp->b32[4], x->d.release ? x->d.release : x->d.segment, 32);
	memset(sp->b32[5], 0x01, 32);
	/*
	 * A byte b is raw_plain()'s when b + 1 (signed) is below 0x21; the
	 * threshold is looked up by the low four bits of b + 1 (vpshufb,
	 * 0 from a byte of 0x80 and up), and 0x24 at 3 takes '"' (0x23)
	 * too, but no other byte that is not one already.
	 */
	memset(sp->b32[6], 0x21, 32);
	if (x->jsonok)
		sp->b32[6][3] = sp->b32[6][16 + 3] = 0x24;
	memset(sp->b32[7], x->jsonok ? '\\' : 0, 32);
#endif
#else
	(void)x;
	sp->unused = 0;
#endif
}

/*
 * The first byte in [p, e) that is not C_DATA.  With SSE2, sixteen bytes
 * per step against the (at most six) special bytes; the table finishes.
 */
static inline const unsigned char *
next_special(const struct specials *sp, const unsigned char *cls,
    const unsigned char *p, const unsigned char *e, const unsigned char *lim)
{
#ifdef __SSE2__
	__m128i v, m;
	unsigned mask;

	/* Loads may pass e (not lim): bits from e on are masked off. */
	while (p < e && lim - p >= 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)p);
		m = _mm_or_si128(_mm_cmpeq_epi8(v, sp->v[0]),
		    _mm_cmpeq_epi8(v, sp->v[1]));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(v, sp->v[2]));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(v, sp->v[3]));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(v, sp->v[4]));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(v, sp->v[5]));
		mask = (unsigned)_mm_movemask_epi8(m);
		if (e - p < 16)
			mask &= (1U << (e - p)) - 1;
		if (mask != 0)
			return p + __builtin_ctz(mask);
		if (e - p <= 16)
			return e;
		p += 16;
	}
#else
	(void)sp;
	(void)lim;
#endif
	while (p < e && cls[*p] == C_DATA)
		p++;
	return p;
}

/*
 * 1 when raw may hold bytes the character set check must look at: any
 * byte >= 0x7f or < 0x20 (UNOA is checked by table, every byte).
 */
static int
raw_plain(const struct ef *x, struct slice raw)
{
	const unsigned char *p = (const unsigned char *)raw.p;
	const unsigned char *e = p + raw.len;

	if (x->cs == CS_A) {
		for (; p < e; p++)
			if (!x->csok[*p])
				return 0;
		return 1;
	}
#ifdef __SSE2__
	{
		const __m128i lo = _mm_set1_epi8(0x20),
		    del = _mm_set1_epi8(0x7f);
		const unsigned char *lim = (const unsigned char *)x->in.p +
		    x->in.len;
		__m128i v;
		unsigned mask;

		/* raw lies in the input: loads may pass e, not lim */
		while (p < e && lim - p >= 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)p);
			mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			    _mm_or_si128(v, _mm_cmplt_epi8(v, lo)),
			    _mm_cmpeq_epi8(v, del)));
			if (e - p < 16)
				mask &= (1U << (e - p)) - 1;
			if (mask)
				return 0;
			if (e - p <= 16)
				return 1;
			p += 16;
		}
	}
#endif
	for (; p < e; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

/* The tag [p, e) into seg->tag; TF_BADTAG unless three of A-Z 0-9. */
static inline int
plain_tag(struct edi_seg *seg, const unsigned char *p, const unsigned char *e)
{
	size_t	 len = (size_t)(e - p), k;
	int	 flags = 0;

	if (len == 3) {		/* every real tag: no memcpy call */
		seg->tag[0] = (char)p[0];
		seg->tag[1] = (char)p[1];
		seg->tag[2] = (char)p[2];
		seg->tag[3] = '\0';
		if (is_upalnum(p[0]) && is_upalnum(p[1]) && is_upalnum(p[2]))
			return 0;
		edi_tag_pad(seg->tag);
		return TF_BADTAG;
	}
	k = len < 3 ? len : 3;
	memset(seg->tag, 0, sizeof(seg->tag));	/* edi_seg_tagkey() */
	memcpy(seg->tag, p, k);
	if (len != 3)
		flags |= TF_BADTAG;
	for (k = 0; k < len && k < 3; k++)
		if (!is_upalnum(p[k]))
			flags |= TF_BADTAG;
	edi_tag_pad(seg->tag);
	return flags;
}

/*
 * The tokenizers' shared steps.  val_limit: the flags when a value at
 * (rep, comp) after n others exceeds a limit, else 0.  sep_step: the
 * position after separator c; -1 past the element limit.
 */
static inline int
val_limit(size_t n, unsigned rep, unsigned comp)
{
	if (n >= EG_MAX_SEG_VALUES || comp > EG_MAX_COMPONENTS)
		return TF_LIMIT;
	if (rep > EG_MAX_REPEATS)
		return TF_LIMIT | TF_REPLIMIT;
	return 0;
}

static inline int
sep_step(unsigned c, unsigned *el, unsigned *rep, unsigned *comp)
{
	if (c == C_EL) {
		if (*el >= EG_MAX_ELEMENTS)
			return -1;
		(*el)++;
		*rep = 1;
		*comp = 1;
	} else if (c == C_CO)
		(*comp)++;
	else {
		(*rep)++;
		*comp = 1;
	}
	return 0;
}

#ifdef __SSE2__
/*
 * tokenize() for the common segment: no release character, CR or LF, so
 * every value is a slice of the input.  The special bytes of sixteen input
 * bytes are found as one bit mask and walked with ctz, instead of one
 * vector scan per value.  Returns -1, having decided nothing, at the first
 * byte that needs tokenize()'s loop; otherwise the same flags, values and
 * limits as that loop.
 */
static int
tokenize_plain(struct ef *x, const struct specials *sp, struct slice raw,
    struct edi_seg *seg)
{
	const unsigned char *b = (const unsigned char *)raw.p;
	const unsigned char *e = b + raw.len, *blk, *q, *start = b;
	const unsigned char *lim = (const unsigned char *)x->in.p + x->in.len;
	const unsigned char *cls = x->cls;
	struct edi_val *out = x->scratch;
	unsigned char tail[16];
	const __m128i lo = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	unsigned el = 0, rep = 1, comp = 1, c, last = C_END, m, odd = 0, o;
	size_t	 n = 0, left, k;
	int	 flags = 0, vf;
	__m128i	 w, t;

	memset(seg->tag, 0, sizeof(seg->tag));
	for (blk = b; blk < e; blk += 16) {
		left = (size_t)(e - blk);
		if (lim - blk >= 16)
			w = _mm_loadu_si128((const __m128i *)(const void *)blk);
		else {
			/* never read past the input */
			memset(tail, 0, sizeof(tail));
			memcpy(tail, blk, left < 16 ? left : 16);
			w = _mm_loadu_si128((const __m128i *)(void *)tail);
		}
		t = _mm_or_si128(_mm_cmpeq_epi8(w, sp->v[0]),
		    _mm_cmpeq_epi8(w, sp->v[1]));
		t = _mm_or_si128(t, _mm_cmpeq_epi8(w, sp->v[2]));
		t = _mm_or_si128(t, _mm_cmpeq_epi8(w, sp->v[3]));
		t = _mm_or_si128(t, _mm_cmpeq_epi8(w, sp->v[4]));
		t = _mm_or_si128(t, _mm_cmpeq_epi8(w, sp->v[5]));
		m = (unsigned)_mm_movemask_epi8(t);
		/* raw_plain()'s test, on the same load */
		o = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(w,
		    _mm_cmplt_epi8(w, lo)), _mm_cmpeq_epi8(w, del)));
		if (left < 16) {
			m &= (1U << left) - 1;
			o &= (1U << left) - 1;
		}
		odd |= o;
		for (; m != 0; m &= m - 1) {
			q = blk + __builtin_ctz(m);
			c = cls[*q];
			if (c != C_EL && c != C_CO && c != C_RE)
				return -1;
			if (q > start) {
				if (el == 0) {
					if (comp == 1)
						flags |= plain_tag(seg, start,
						    q);
				} else {
					if ((vf = val_limit(n, rep, comp))
					    != 0) {
						flags |= vf;
						goto out;
					}
					out[n].s = slice_make((const char *)
					    start, (size_t)(q - start));
					out[n].el = (uint16_t)el;
					out[n].rep = (uint16_t)rep;
					out[n].comp = (uint16_t)comp;
					n++;
				}
			} else if (q > b && c == C_EL && (last == C_CO ||
			    last == C_RE))
				flags |= TF_TRAILING;
			if (sep_step(c, &el, &rep, &comp) != 0) {
				flags |= TF_LIMIT;
				goto out;
			}
			last = c;
			start = q + 1;
		}
	}
	/* the end of the segment */
	if (e > start) {
		if (el == 0) {
			if (comp == 1)
				flags |= plain_tag(seg, start, e);
		} else if ((vf = val_limit(n, rep, comp)) != 0)
			flags |= vf;
		else {
			k = n++;
			out[k].s = slice_make((const char *)start,
			    (size_t)(e - start));
			out[k].el = (uint16_t)el;
			out[k].rep = (uint16_t)rep;
			out[k].comp = (uint16_t)comp;
		}
	} else if (e > b && (last == C_CO || last == C_RE || last == C_EL))
		flags |= TF_TRAILING;
	if (odd == 0)
		flags |= TF_CSPLAIN;	/* every byte of raw was looked at */
 out:
	if (seg->tag[0] == '\0')
		flags |= TF_BADTAG;
	seg->nel = (uint16_t)el;
	seg->nval = (uint16_t)n;
	seg->val = x->scratch;
	return flags;
}
#endif

/*
 * Split raw (tag first, no terminator) into seg: values in x->scratch,
 * unescaped where needed.  Returns TF_* flags.
 */
static int
tokenize(struct ef *x, struct slice raw, struct edi_seg *seg)
{
	const unsigned char *p = (const unsigned char *)raw.p, *start;
	const unsigned char *e = p + raw.len, *b = p;
	const unsigned char *cls = x->cls;
	unsigned el = 0, rep = 1, comp = 1, c, last = C_END;
	int	 flags = 0, dirty = 0, vf;
	size_t	 n = 0, k;
	struct slice v;
	const struct specials *sp = &x->sp;
	struct edi_val *out = x->scratch;
	const unsigned char *lim = (const unsigned char *)x->in.p + x->in.len;

#ifdef __SSE2__
	if ((flags = tokenize_plain(x, sp, raw, seg)) >= 0)
		return flags;
	flags = 0;
#endif
	memset(seg->tag, 0, sizeof(seg->tag));
	seg->nel = 0;
	seg->nval = 0;
	start = p;
	for (;;) {
		p = next_special(sp, cls, p, e, lim);
		c = p < e ? cls[*p] : C_END;
		if (c == C_DATA) {	/* a CR/LF terminator, released */
			p++;
			continue;
		}
		if (c == C_NL) {
			dirty = 1;
			flags |= TF_NEWLINE;
			p++;
			continue;
		}
		if (c == C_RC) {
			dirty = 1;
			p++;
			while (p < e && cls[*p] == C_NL) {
				flags |= TF_NEWLINE;
				p++;
			}
			if (p >= e)
				flags |= TF_DANGLING;
			else
				p++;
			continue;
		}
		/* flush [start, p) */
		if (p > start) {
			v = dirty ? unescape(x, start, p) :
			    slice_make((const char *)start,
			    (size_t)(p - start));
			if (el == 0) {
				if (comp == 1) {
					k = v.len < 3 ? v.len : 3;
					memset(seg->tag, 0, sizeof(seg->tag));
					memcpy(seg->tag, v.p, k);
					if (v.len != 3)
						flags |= TF_BADTAG;
					for (k = 0; k < v.len && k < 3; k++)
						if (!is_upalnum((unsigned char)
						    v.p[k]))
							flags |= TF_BADTAG;
					edi_tag_pad(seg->tag);
				}
			} else if (v.len > 0) {
				if ((vf = val_limit(n, rep, comp)) != 0) {
					flags |= vf;
					break;
				}
				out[n].s = v;
				out[n].el = (uint16_t)el;
				out[n].rep = (uint16_t)rep;
				out[n].comp = (uint16_t)comp;
				n++;
			}
		} else if (p > b && (c == C_END || c == C_EL) &&
		    (last == C_CO || last == C_RE || (c == C_END &&
		    last == C_EL)))
			flags |= TF_TRAILING;
		if (c == C_END)
			break;
		if (sep_step(c, &el, &rep, &comp) != 0) {
			flags |= TF_LIMIT;
			break;
		}
		last = c;
		start = ++p;
		dirty = 0;
	}
	if (seg->tag[0] == '\0')
		flags |= TF_BADTAG;
	seg->nel = (uint16_t)el;
	seg->nval = (uint16_t)n;
	seg->val = x->scratch;
	return flags;
}

#ifdef __SSE2__
/* scan_plain() found nothing to decide: seg_end() and tokenize() read it */
#define SCAN_NO		((size_t)-1)
/* ... because out[] was too short: scan again into x->scratch */
#define SCAN_ROOM	((size_t)-2)

/* Bit i set where byte i of a, then b (32 bytes), is v1 or v2. */
static inline unsigned
mask32(__m128i a, __m128i b, __m128i v1, __m128i v2)
{
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(a, v1),
	    _mm_cmpeq_epi8(a, v2))) |
	    (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b, v1),
	    _mm_cmpeq_epi8(b, v2))) << 16;
}

/* The byte classes of 32 input bytes, as bit masks (scan_plain()). */
struct cls32 {
	unsigned	 el;		/* element separator */
	unsigned	 cr;		/* component or repetition separator */
	unsigned	 term;		/* segment terminator */
	unsigned	 rel;		/* release character */
	/* raw_plain()'s bytes (< 0x20, >= 0x7f), and '"' and '\\' */
	unsigned	 odd;
};

static inline void
classify_sse2(const unsigned char *p, const struct specials *sp,
    struct cls32 *m)
{
	const __m128i one = _mm_set1_epi8(1), lo = _mm_set1_epi8(0x21);
	__m128i	 a, b;

	a = _mm_loadu_si128((const __m128i *)(const void *)p);
	b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	m->el = mask32(a, b, sp->v[0], sp->v[0]);
	m->cr = mask32(a, b, sp->v[1], sp->rep);
	m->term = mask32(a, b, sp->term, sp->term);
	m->rel = mask32(a, b, sp->rel, sp->rel) & sp->hasrel;
	/*
	 * Below 0x20, 0x7f and up: one signed compare of the byte plus one
	 * (0x7f..0xfe become negative, 0xff zero, 0x00..0x1f 1..0x20).
	 */
	m->odd = ((unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(
	    _mm_add_epi8(a, one), lo)) |
	    (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(
	    _mm_add_epi8(b, one), lo)) << 16) |
	    mask32(a, b, sp->jq, sp->jb);
}

#ifdef EF_AVX2
/*
 * classify_sse2() in one 32-byte load: inlined only into the target
 * ("avx2,bmi,bmi2") copy of the segment loop, fast_run_avx2().
 */
static inline __attribute__((target("avx2,bmi,bmi2"))) void
classify_avx2(const unsigned char *p, const struct specials *sp,
    struct cls32 *m)
{
	const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i	 u;

#define ROW(i)	_mm256_loadu_si256((const __m256i *)(const void *)sp->b32[i])
#define EQ(i)	_mm256_cmpeq_epi8(w, ROW(i))
	m->el = (unsigned)_mm256_movemask_epi8(EQ(0));
	m->cr = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(EQ(1), EQ(2)));
	m->term = (unsigned)_mm256_movemask_epi8(EQ(3));
	m->rel = (unsigned)_mm256_movemask_epi8(EQ(4)) & sp->hasrel;
	u = _mm256_add_epi8(w, ROW(5));
	m->odd = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
	    _mm256_cmpgt_epi8(_mm256_shuffle_epi8(ROW(6), u), u), EQ(7)));
#undef EQ
#undef ROW
}
#endif

/*
 * The bytes that the release characters at the bits of mrel escape, in
 * order: a release character escaped by the one before it escapes
 * nothing.  *carry: in, the first byte is escaped; out, the next block's.
 */
static inline unsigned
escapes(unsigned mrel, unsigned *carry)
{
	unsigned esc = *carry, m = mrel & ~esc, bit;

	*carry = 0;
	for (; m != 0; m &= ~(bit | bit << 1)) {
		bit = m & -m;
		esc |= bit << 1;
		*carry |= bit >> 31;
	}
	return esc;
}

/*
 * edifact_parse()'s common segment, cut and split in one pass: at pos a
 * tag of three letters or digits, then + or the terminator, and up to the
 * terminator no CR or LF and no limit within reach.  Thirty-two bytes at
 * a time give bit masks of the separators, the terminator, the release
 * characters and raw_plain()'s bytes.  A block with a release character
 * drops the bytes it escapes from the masks, in order; otherwise the
 * separators are walked with ctz and every one stores a value, counted
 * only when not empty, without a branch.  A trailing separator is an
 * element separator right after a component or repetition separator, or
 * a separator right before the terminator.  Values with a release
 * character are unescaped into tbuf at the end, as tokenize() would.
 * Fills seg (values in out, room for cap) and *flagsp as on_segment()
 * would and returns the terminator's offset; SCAN_NO or SCAN_ROOM, having
 * decided nothing, otherwise.
 */
/* scan_plain()'s state between blocks. */
struct scan_st {
	const unsigned char *start;	/* of the value being read */
	uint64_t	 erc;		/* its el, rep, comp (setbuf_putval) */
	struct edi_val	*o;		/* where the next value goes */
	unsigned	 odd;		/* raw_plain()'s bytes seen */
	unsigned	 trail;		/* a trailing separator seen */
	unsigned	 carry;		/* the last block ended in : or * */
	unsigned	 ecarry;	/* ... in an active release character */
	unsigned	 rel;		/* a release character seen */
};

/*
 * The value [v, ve) of a segment without CR or LF unescaped to o, as
 * unescape() would; the end of what it wrote.  With wide, eight bytes
 * may be written past that end.
 */
static inline __attribute__((always_inline)) char *
unescape_to(const struct ef *x, const char *v, const char *ve, char *o,
    int wide)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t rels = ones * (unsigned char)x->d.release;
	const char *lim = x->in.p + x->in.len;
	uint64_t w, t, m;
	size_t	 rest;

	/*
	 * Eight bytes at a time while eight may be read from the input:
	 * those before the first release character, then that one dropped
	 * and the byte it releases kept.
	 */
	while (wide && v < ve && lim - v >= 8) {
		memcpy(&w, v, 8);
		t = w ^ rels;
		/* the lowest flagged byte is the first release */
		m = (t - ones) & ~t & ones << 7;
		t = m ? (uint64_t)__builtin_ctzll(m) >> 3 : 8;
		memcpy(o, &w, 8);
		rest = (size_t)(ve - v);
		if (t >= rest) {
			o += rest;
			v = ve;
			break;
		}
		o += t;
		v += t;
		if (m == 0)
			continue;
		if (++v == ve)
			break;
		*o++ = *v++;
	}
	/* as unescape(): there is no CR or LF */
	for (; v < ve; *o++ = *v++)
		if (x->cls[(unsigned char)*v] == C_RC && ++v == ve)
			break;
	return o;
}

/*
 * scan_plain()'s values out[0..n) of the segment text [p, e) with release
 * characters in them, unescaped into tbuf as unescape() would.  Each
 * release character is a byte of exactly one value (none is a separator
 * or in the tag), and the values are in order: one memchr() from the end
 * of a value finds the next value to unescape, instead of one per value.
 * No CR or LF: scan_plain() leaves those segments to tokenize().
 */
static void __attribute__((noinline))
unescape_vals(struct ef *x, struct edi_val *out, size_t n, const char *p,
    const char *e)
{
	/* a release character that is another delimiter too is not one */
	const int swar = x->cls[(unsigned char)x->d.release] == C_RC;
	const char *r, *v, *ve;
	char	*o, *start;
	size_t	 k;
	int	 wide;

	r = memchr(p, x->d.release, (size_t)(e - p));
	for (k = 0; k < n && r != NULL; k++) {
		v = out[k].s.p;
		ve = v + out[k].s.len;
		if (ve <= r)
			continue;
		/* eight bytes to spare for the wide stores */
		wide = swar;
		if ((start = tbuf_room(x, out[k].s.len + 8)) == NULL) {
			wide = 0;
			start = tbuf_room(x, out[k].s.len);
		}
		if (start == NULL) {
			r = memchr(ve, x->d.release, (size_t)(e - ve));
			continue;
		}
		o = unescape_to(x, v, ve, start, wide);
		x->tlen += (size_t)(o - start);
		out[k].s = slice_make(start, (size_t)(o - start));
		r = memchr(ve, x->d.release, (size_t)(e - ve));
	}
}

/*
 * One block of scan_plain() at blk: the values it ends, the mask of its
 * terminators (*mtermp) and of its component and repetition separators
 * (*mcrp, for the next block's carry); -1 at CR or LF.  Inline, and
 * called once for the first block apart, so that the compiler folds that
 * block's initial state: most segments end in it.
 */
static inline __attribute__((always_inline)) int
scan_block(const struct ef *x, const unsigned char *blk, unsigned keep,
    struct scan_st *st, unsigned *mtermp, unsigned *mcrp, const int avx2)
{
	const struct specials *sp = &x->sp;
	const unsigned char *q;
	unsigned mel, mcr, mterm, mrel, modd, sep, below, c, esc;
	struct cls32 m;

#ifdef EF_AVX2
	if (avx2)
		classify_avx2(blk, sp, &m);
	else
#endif
		classify_sse2(blk, sp, &m);
	mel = m.el;
	mcr = m.cr;
	mterm = m.term;
	mrel = m.rel;
	modd = m.odd;
	if ((mrel | st->ecarry) != 0) {
		esc = escapes(mrel, &st->ecarry);
		mel &= ~esc;
		mcr &= ~esc;
		mterm &= ~esc;
		/*
		 * The values are looked at for one at the end when it is
		 * in the segment (not past the terminator, in the next one).
		 */
		st->rel |= mrel & ~mterm & (mterm - 1);
	}
	/* the bytes of the segment in this block */
	below = ~mterm & (mterm - 1);	/* below the lowest bit; 0: all */
	/* CR and LF are raw_plain() bytes: looked for among those */
	if ((modd & below) != 0 && (mask32(_mm_loadu_si128(
	    (const __m128i *)(const void *)blk), _mm_loadu_si128(
	    (const __m128i *)(const void *)(blk + 16)), sp->v[4],
	    sp->v[5]) & below) != 0)
		return -1;
	st->odd |= modd & below;
	st->trail |= mel & (mcr << 1 | st->carry) & below;
	for (sep = (mel | mcr) & keep & below; sep != 0; sep &= sep - 1) {
		q = blk + __builtin_ctz(sep);
		c = *q;
		setbuf_putval(st->o, st->start, q, st->erc);
		/* counted when not empty: a conditional move */
		st->o = q != st->start ? st->o + 1 : st->o;
		st->erc = (st->erc & x->ekeep[c]) + x->eadd[c];
		st->start = q + 1;
	}
	*mtermp = mterm;
	*mcrp = mcr;
	return 0;
}

/*
 * edifact_parse()'s common segment, cut and split in one pass: at pos a
 * tag of three letters or digits, then + or the terminator, and up to the
 * terminator no CR or LF and no limit within reach.  Thirty-two bytes at
 * a time give bit masks of the separators, the terminator, the release
 * characters and raw_plain()'s bytes.  A block with a release character
 * drops the bytes it escapes from the masks, in order; otherwise the
 * separators are walked with ctz and every one stores a value, counted
 * only when not empty, without a branch.  A trailing separator is an
 * element separator right after a component or repetition separator, or
 * a separator right before the terminator.  Values with a release
 * character are unescaped into tbuf at the end, as tokenize() would.
 * Fills seg but for seg->val (values in out, room for cap: the caller
 * sets seg->val, which a kept segment without values has NULL) and
 * *flagsp as on_segment() would, but with release characters left in
 * the values and TF_REL in *flagsp when there are any (for the caller
 * to unescape, into tbuf or straight into the arena), and returns the
 * terminator's offset; SCAN_NO or SCAN_ROOM, having decided nothing,
 * otherwise.
 */
static inline __attribute__((always_inline)) size_t
scan_plain(struct ef *x, const char *in, size_t len, size_t pos,
    struct edi_seg *seg, struct edi_val *out, size_t cap, int *flagsp,
    struct edi_val **endp, const int avx2)
{
	const unsigned char *b = (const unsigned char *)in + pos;
	const unsigned char *lim = (const unsigned char *)in + len;
	const unsigned char *blk = b, *start, *q;
	struct edi_val *o;
	unsigned mterm, mcr, odd, trail;
	uint64_t erc;
	uint32_t t4;
	size_t	 n;
	struct scan_st st;

	/* the caller saw 32 bytes from pos: loads never pass the input */
	if (!(x->tagok[b[0]] & x->tagok[b[1]] & x->tagok[b[2]]) ||
	    (b[3] != (unsigned char)x->d.element &&
	    b[3] != (unsigned char)x->d.segment))
		return SCAN_NO;
	memcpy(&t4, b, 4);
	t4 &= 0xffffff;
	memcpy(seg->tag, &t4, 4);	/* little-endian: three bytes, NUL */
	st.start = b + 4;
	st.erc = 1 | ERC_REP1 | ERC_COMP1;
	st.o = out;
	st.odd = st.trail = st.carry = st.ecarry = st.rel = 0;
	if (32 >= cap)
		return cap < EG_MAX_SEG_VALUES ? SCAN_ROOM : SCAN_NO;
	/* the tag's bytes hold no separator */
	if (scan_block(x, blk, ~0xfU, &st, &mterm, &mcr, avx2) != 0)
		return SCAN_NO;
	while (mterm == 0) {
		/* ended in : or *: read only by a segment not ended */
		st.carry = mcr >> 31;
		blk += 32;
		/* a terminator in this block is within EG_MAX_SEGMENT_LEN */
		if (lim - blk < 32 || blk - b > EG_MAX_SEGMENT_LEN - 32)
			return SCAN_NO;
		if ((size_t)(st.o - out) + 32 >= cap)
			return cap < EG_MAX_SEG_VALUES ? SCAN_ROOM : SCAN_NO;
		/* el, rep and comp stay within the limits for 32 more */
		if (((st.erc + 0x7fbc7fbc7fbcULL) & 0x800080008000ULL) != 0)
			return SCAN_NO;
		if (scan_block(x, blk, ~0U, &st, &mterm, &mcr, avx2) != 0)
			return SCAN_NO;
	}
	start = st.start;
	erc = st.erc;
	o = st.o;
	odd = st.odd;
	trail = st.trail;
	q = blk + __builtin_ctz(mterm);
	/* seg->val: the caller's (out, unless no value is kept) */
	if (q == b + 3) {
		/* just the tag */
		seg->nel = 0;
		seg->nval = 0;
		*endp = out;
		*flagsp = odd ? 0 : TF_CSPLAIN;
		return pos + 3;
	}
	setbuf_putval(o, start, q, erc);
	o = q != start ? o + 1 : o;
	*endp = o;
	n = (size_t)(o - out);
	if (q == start)
		trail = 1;
	seg->nel = (uint16_t)ERC_ELNUM(erc);
	seg->nval = (uint16_t)n;
	/* nearly every segment: one test, which the caller's folds into */
	if ((odd | trail | st.rel) == 0)
		*flagsp = TF_CSPLAIN;
	else
		*flagsp = (trail ? TF_TRAILING : 0) | (odd ? 0 : TF_CSPLAIN) |
		    (st.rel != 0 ? TF_REL : 0);
	return (size_t)(q - (const unsigned char *)in);
}
#endif

/* -- character sets ----------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *e)
{
	unsigned char c = p[0];
	size_t	 n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(e - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* 1 when s is valid UTF-8 with at least one multi-byte sequence. */
static int
utf8_text(struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p, *e = p + s.len;
	size_t	 n;
	int	 multi = 0;

	while (p < e) {
		if ((n = utf8_seq(p, e)) == 0)
			return 0;
		if (n > 1)
			multi = 1;
		p += n;
	}
	return multi;
}

static char *
put_fffd(char *o)
{
	*o++ = (char)0xEF;
	*o++ = (char)0xBF;
	*o++ = (char)0xBD;
	return o;
}

/*
 * Convert one value to UTF-8 into tbuf.  Returns the number of bytes
 * replaced by U+FFFD (*out then points into tbuf), or -1 when tbuf is full
 * (the value is left as it is).
 */
static int
convert(struct ef *x, struct slice in, struct slice *out)
{
	const unsigned char *p = (const unsigned char *)in.p, *e = p + in.len;
	char	*o, *start;
	size_t	 n;
	int	 bad = 0;

	if ((start = tbuf_room(x, in.len * 3)) == NULL)
		return -1;
	o = start;
	switch (x->cs) {
	case CS_LATIN1:
		for (; p < e; p++) {
			if (*p < 0x80)
				*o++ = (char)*p;
			else if (*p < 0xA0) {
				o = put_fffd(o);
				bad++;
			} else {
				*o++ = (char)(0xC0 | (*p >> 6));
				*o++ = (char)(0x80 | (*p & 0x3F));
			}
		}
		break;
	case CS_ICONV:
		if (x->cd == (iconv_t)-1) {
			for (; p < e; p++) {
				if (*p < 0x80)
					*o++ = (char)*p;
				else {
					o = put_fffd(o);
					bad++;
				}
			}
			break;
		}
		while (p < e) {
			char	*ip = (char *)(uintptr_t)p, *op = o;
			size_t	 il = (size_t)(e - p), ol = in.len * 3 -
			    (size_t)(o - start);

			if (iconv(x->cd, &ip, &il, &op, &ol) != (size_t)-1) {
				o = op;
				break;
			}
			o = op;
			p = (const unsigned char *)ip;
			if (errno == E2BIG || p >= e || ol < 3)
				break;
			/* a byte the character set does not define */
			o = put_fffd(o);
			bad++;
			p++;
			(void)iconv(x->cd, NULL, NULL, NULL, NULL);
		}
		break;
	default:
		/* UTF-8 (also the fallback for UNOA/UNOB high bytes) */
		while (p < e) {
			if ((n = utf8_seq(p, e)) == 0) {
				o = put_fffd(o);
				bad++;
				p++;
				continue;
			}
			memcpy(o, p, n);
			o += n;
			p += n;
		}
		break;
	}
	x->tlen += (size_t)(o - start);
	*out = slice_make(start, (size_t)(o - start));
	return bad;
}

/*
 * Check and convert the values of seg for the interchange's character set.
 * One warning per segment at most.
 */
static void
charset_values(struct ef *x, struct edi_seg *seg)
{
	struct edi_val *v;
	const unsigned char *p, *e;
	uint16_t i;
	int	 high, ctl, outside, bad, r, warned = 0;
	char	 b[48];
	const char *why;

	for (i = 0; i < seg->nval; i++) {
		v = &seg->val[i];
		p = (const unsigned char *)v->s.p;
		e = p + v->s.len;
		high = ctl = outside = 0;
		for (; p < e; p++) {
			if (*p >= 0x80)
				high = 1;
			else if (*p < 0x20 || *p == 0x7f)
				ctl = 1;
			else if (x->cs == CS_A && !unoa_ok(*p))
				outside = 1;
		}
		if (!high && !ctl && !outside)
			continue;
		why = NULL;
		bad = 0;
		if (high) {
			if ((x->cs == CS_LATIN1 || x->cs == CS_ICONV ||
			    x->cs == CS_A || x->cs == CS_B) &&
			    utf8_text(v->s)) {
				/* UTF-8 where a Latin set was declared:
				 * kept as UTF-8, the sender's real intent */
				why = "UTF-8 text where the syntax identifier "
				    "declares another character set (kept as "
				    "UTF-8)";
			} else if (x->cs == CS_A || x->cs == CS_B) {
				enum ef_cs keep = x->cs;
				x->cs = CS_UTF8;
				r = convert(x, v->s, &v->s);
				x->cs = keep;
				bad = r;
				why = "bytes outside the 7-bit character set "
				    "(replaced by U+FFFD)";
			} else {
				r = convert(x, v->s, &v->s);
				bad = r;
				if (r > 0)
					why = "bytes that do not convert to "
					    "UTF-8 (replaced by U+FFFD)";
			}
		}
		if (why == NULL && ctl)
			why = "control characters";
		if (why == NULL && outside)
			why = "characters outside UNOA (level A)";
		if (why == NULL && bad <= 0)
			continue;
		if (why == NULL)
			why = "bytes that do not convert";
		if (warned++)
			continue;
		ediag(x, ED(DIAG_WARNING, cur_scope(x), "EDI-CHARSET",
		    x->filepos, seg->tag, v->el, v->comp, .ack_el = 21,
		    .bad = &v->s), "%s%02d: %s under %s: \"%s\"", seg->tag,
		    v->el, why, x->csname[0] ? x->csname : "no UNB",
		    slice_show(v->s, b, sizeof(b)));
	}
}

/* -- envelope ----------------------------------------------------------- */

static void
fill_env(struct ef *x, struct edi_env *env, int with_group)
{
	memset(env, 0, sizeof(*env));
	env->syntax = EDI_EDIFACT;
	env->interchange = x->state == ES_BARE || x->iindex == 0 ||
	    x->unb.tag[0] == '\0' ? NULL : &x->unb;
	env->group = with_group ? &x->ung : NULL;
	env->delims = x->d;
	env->interchange_index = env->interchange ? x->iindex : 0;
	env->group_index = with_group ? x->gindex : 0;
}

/*
 * The values of dst, a copy of src (or src itself), into arena a: values
 * converted into tbuf are copied.  inroom: src's values are at the
 * arena's free space (setbuf_vwroom(), window closed since), and nothing
 * was allocated from a since.
 * Inline for set_append(), which gets dst from setbuf_add() already
 * copied.
 */
static inline __attribute__((always_inline)) int
copy_vals_into(struct ef *x, struct arena *a, struct edi_seg *dst,
    const struct edi_seg *src, int inroom)
{
	struct edi_val *sv = src->val;
	uint16_t i, n = src->nval;
	const char *tb = x->tbuf;
	char	*s;

	dst->val = NULL;
	if (n == 0)
		return 0;
	/* every element is copied from src: no need to zero them first */
	if ((dst->val = inroom ? setbuf_valclaim(a, sv, n) :
	    arena_allocarray_raw(a, n, sizeof(*dst->val))) == NULL) {
		dst->nval = 0;
		return EG_ERR_LIMIT;
	}
	/* scan_plain() may have put them there already */
	if (dst->val != sv)
		memcpy(dst->val, sv, n * sizeof(*dst->val));
	/* src is the segment just read: nothing in tbuf, nothing to copy */
	if (x->tlen == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((uintptr_t)dst->val[i].s.p < (uintptr_t)tb ||
		    (uintptr_t)dst->val[i].s.p >= (uintptr_t)tb + x->tcap)
			continue;
		if ((s = arena_strndup(a, dst->val[i].s.p,
		    dst->val[i].s.len)) == NULL) {
			dst->nval = i;
			return EG_ERR_LIMIT;
		}
		dst->val[i].s.p = s;
	}
	return 0;
}

/* A copy of src into arena a: values converted into tbuf are copied. */
static int
copy_vals(struct ef *x, struct arena *a, struct edi_seg *dst,
    const struct edi_seg *src)
{
	*dst = *src;
	return copy_vals_into(x, a, dst, src, 0);
}

static void
deliver_set(struct ef *x)
{
	struct edi_set *s = &x->set;
	char	*vb;
	size_t	 i;
	uint32_t w52, w54;
	int	 rc, with_group;

	/*
	 * Every field set here, the zero ones too, without a memset() of
	 * the whole (fill_env()'s included): only the padding is left.
	 */
	s->filename = x->filename;
	with_group = x->in_group && x->state != ES_BARE;
	s->env.syntax = EDI_EDIFACT;
	s->env.interchange = x->state == ES_BARE || x->iindex == 0 ||
	    x->unb.tag[0] == '\0' ? NULL : &x->unb;
	s->env.group = with_group ? &x->ung : NULL;
	s->env.delims = x->d;
	s->env.interchange_index = s->env.interchange ? x->iindex : 0;
	s->env.group_index = with_group ? x->gindex : 0;
	s->root = NULL;
	s->xml = NULL;
	s->xml_ns = s->xml_request = s->xml_sender = slice_make(NULL, 0);
	s->doctype = x->type;
	s->control = x->ref;
	/*
	 * D and 96A, each of at most four bytes in the input (UNH's values,
	 * unless released): one load and one store each into x->verbuf,
	 * which outlives the set's handler.  Else in the arena.
	 */
	if (x->v52.len <= 4 && x->v54.len <= 4 &&
	    (uintptr_t)x->v52.p - (uintptr_t)x->in.p + 4 <= x->in.len &&
	    (uintptr_t)x->v54.p - (uintptr_t)x->in.p + 4 <= x->in.len) {
		memcpy(&w52, x->v52.p, 4);
		memcpy(&w54, x->v54.p, 4);
		memcpy(x->verbuf, &w52, 4);
		memcpy(x->verbuf + x->v52.len, &w54, 4);
		x->verbuf[x->v52.len + x->v54.len] = '\0';
		s->version = slice_make(x->verbuf, x->v52.len + x->v54.len);
	/* every byte written: no zeroing */
	} else if ((vb = arena_alloc_raw(&x->sar, x->v52.len + x->v54.len +
	    1)) != NULL) {
		/* D and 96A: byte by byte, shorter than two calls */
		for (i = 0; i < x->v52.len; i++)
			vb[i] = x->v52.p[i];
		for (i = 0; i < x->v54.len; i++)
			vb[x->v52.len + i] = x->v54.p[i];
		vb[x->v52.len + x->v54.len] = '\0';
		s->version = slice_make(vb, x->v52.len + x->v54.len);
	} else
		s->version = slice_make(NULL, 0);
	s->seg = x->sb.seg;
	s->nseg = (uint32_t)x->sb.nseg;
	s->raw = setbuf_raw(&x->sb, x->in);
	/*
	 * Every segment kept lies in [start, end), in the input: on_unh()
	 * began the set at UNH, and each segment counted moved end past it
	 * (setbuf_add*()), kept or not.
	 */
	s->segs_in_raw = 1;
	s->plain = x->mplain;
	s->arena = &x->sar;
	s->rejected = x->rejected;
	if (x->stop == 0 && x->h->set != NULL &&
	    (rc = x->h->set(x->arg, s)) < 0)
		x->stop = rc;
	/* x->sb: on_unh() begins the next message, nothing reads it before */
	arena_reset(&x->sar);
	x->rejected = 0;
	x->ndiag = 0;
	x->unh_filepos = 0;
}

static void
end_group(struct ef *x)
{
	struct edi_env env;
	int	 rc;

	fill_env(x, &env, 1);
	if (x->stop == 0 && x->h->group_end != NULL &&
	    (rc = x->h->group_end(x->arg, &env, x->gok)) < 0)
		x->stop = rc;
	x->in_group = 0;
	x->state = ES_IC;
}

static void
end_interchange(struct ef *x)
{
	struct edi_env env;
	int	 rc;

	fill_env(x, &env, 0);
	if (x->stop == 0 && x->h->interchange_end != NULL &&
	    (rc = x->h->interchange_end(x->arg, &env, x->iok)) < 0)
		x->stop = rc;
	x->state = ES_OUT;
	x->stale = 1;
	x->have_una = 0;
}

static void
msg_unterminated(struct ef *x)
{
	ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNT-MISSING",
	    x->unh_filepos, "UNH", .ack_seg = 13), "message %.*s has no UNT "
	    "trailer", (int)x->ref.len, x->ref.p);
}

/* Close what is open (missing trailers) down to state `to`. */
static void
close_to(struct ef *x, enum ef_state to, uint32_t filepos)
{
	char	 b[48];

	if (x->state == ES_BARE) {
		msg_unterminated(x);
		deliver_set(x);
		x->state = ES_OUT;
		return;
	}
	if (x->state == ES_MSG && to < ES_MSG) {
		msg_unterminated(x);
		deliver_set(x);
		x->state = x->in_group ? ES_GRP : ES_IC;
	}
	if (x->state == ES_GRP && to < ES_GRP) {
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNE-MISSING",
		    filepos, "UNE", .ack_seg = 13), "group %s has no UNE "
		    "trailer", slice_show(val(&x->ung, 5, 1), b, sizeof(b)));
		end_group(x);
	}
	if (x->state == ES_IC && to < ES_IC) {
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNZ-MISSING", filepos, "UNZ", .ack_seg = 13),
		    "interchange %s has no UNZ trailer",
		    slice_show(val(&x->unb, 5, 1), b, sizeof(b)));
		end_interchange(x);
	}
}

static void
unexpected(struct ef *x, const char *tag, uint32_t filepos)
{
	if (x->outrun)
		return;
	x->outrun = 1;
	if (x->state == ES_OUT)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_FILE, "EDI-OUTSIDE",
		    filepos, tag), "segment %s outside any interchange "
		    "(following segments up to the next UNB or UNH are "
		    "skipped)", tag);
	else if (x->state == ES_IC)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNEXPECTED", filepos, tag, .ack_seg = 33),
		    "segment %s between messages (skipped)", tag);
	else
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNEXPECTED",
		    filepos, tag, .ack_seg = 33),
		    "segment %s between the messages of a group (skipped)",
		    tag);
}

static void
set_charset(struct ef *x, struct slice id)
{
	size_t	 i;

	snap_let_go(x);
	x->cs = CS_UTF8;
	x->cdname = NULL;
	snprintf(x->csname, sizeof(x->csname), "%.*s",
	    (int)(id.len < 7 ? id.len : 7), id.p);
	for (i = 0; i < sizeof(ef_charsets) / sizeof(ef_charsets[0]); i++) {
		if (!slice_eqs(id, ef_charsets[i].id))
			continue;
		x->cs = ef_charsets[i].cs;
		if (x->cs != CS_ICONV)
			return;
		if (x->cd != (iconv_t)-1 && x->cdname == ef_charsets[i].iconv)
			return;
		if (x->cd != (iconv_t)-1)
			iconv_close(x->cd);
		x->cdname = ef_charsets[i].iconv;
		x->cd = iconv_open("UTF8", x->cdname);
		return;
	}
}

static int
known_charset(struct slice id)
{
	size_t	 i;

	for (i = 0; i < sizeof(ef_charsets) / sizeof(ef_charsets[0]); i++)
		if (slice_eqs(id, ef_charsets[i].id))
			return 1;
	return 0;
}

static void
check_unb(struct ef *x)
{
	const struct edi_seg *unb = &x->unb;
	struct slice v;
	char	 b[48];
	uint32_t fp = unb->filepos;
	static const struct {
		int	 el, comp;
		unsigned max;
		const char *name;
	} mand[] = {
		{ 2, 1, 35, "S002 0004 interchange sender" },
		{ 3, 1, 35, "S003 0010 interchange recipient" },
		{ 4, 1, 8, "S004 0017 date" },
		{ 4, 2, 4, "S004 0019 time" },
		{ 5, 1, 14, "0020 interchange control reference" },
	};
	size_t	 i;

	v = val(unb, 1, 1);
	if (v.len == 0)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNB-SYNTAX", fp, "UNB", 1, 1, .ack_seg = 2),
		    "UNB S001 0001 syntax identifier is missing");
	else if (!known_charset(v))
		ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNB-SYNTAX", fp, "UNB", 1, 1, .ack_seg = 2),
		    "unknown syntax identifier \"%s\"; text is read as UTF-8",
		    slice_show(v, b, sizeof(b)));
	v = val(unb, 1, 2);
	if (v.len != 1 || v.p[0] < '1' || v.p[0] > '4')
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNB-SYNTAX", fp, "UNB", 1, 2, .ack_seg = 2,
		    .bad = &v), "UNB S001 0002 syntax version \"%s\" is not "
		    "1, 2, 3 or 4", slice_show(v, b, sizeof(b)));
	for (i = 0; i < sizeof(mand) / sizeof(mand[0]); i++) {
		v = slice_trim(val(unb, mand[i].el, mand[i].comp));
		if (v.len == 0)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
			    "EDI-UNB-FIELD", fp, "UNB", mand[i].el,
			    mand[i].comp, .ack_seg = 13), "UNB %s is missing "
			    "or blank", mand[i].name);
		else if (v.len > mand[i].max)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
			    "EDI-UNB-FIELD", fp, "UNB", mand[i].el,
			    mand[i].comp, .ack_seg = 39, .bad = &v),
			    "UNB %s \"%s\" is longer than %u", mand[i].name,
			    slice_show(v, b, sizeof(b)), mand[i].max);
	}
	v = val(unb, 4, 1);
	if (v.len && (v.len == 6 || v.len == 8) && !edi_valid_date(v, 1))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-UNB-DATE",
		    fp, "UNB", 4, 1, .ack_seg = 12, .bad = &v),
		    "UNB S004 date \"%s\" is not a valid YYMMDD or CCYYMMDD "
		    "date", slice_show(v, b, sizeof(b)));
	else if (v.len && v.len != 6 && v.len != 8)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-UNB-DATE",
		    fp, "UNB", 4, 1, .ack_seg = 12, .bad = &v),
		    "UNB S004 date \"%s\" must have 6 or 8 digits",
		    slice_show(v, b, sizeof(b)));
	v = val(unb, 4, 2);
	if (v.len && (v.len != 4 || !edi_valid_time(v)))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-UNB-DATE",
		    fp, "UNB", 4, 2, .ack_seg = 12, .bad = &v),
		    "UNB S004 time \"%s\" is not a valid HHMM time",
		    slice_show(v, b, sizeof(b)));
	v = val(unb, 5, 1);
	if (v.len && refset_seen(&x->icctl, v))
		ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_INTERCHANGE, "EDI-UNB-DUP",
		    fp, "UNB", 5, .ack_seg = 26), "interchange control "
		    "reference %s repeats an earlier interchange of this file",
		    slice_show(v, b, sizeof(b)));
	v = val(unb, 8, 1);
	if (v.len && !slice_eqs(v, "A"))
		ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNB-FIELD", fp, "UNB", 8, .ack_seg = 12, .bad = &v),
		    "UNB 0029 processing priority \"%s\" is not A",
		    slice_show(v, b, sizeof(b)));
	v = val(unb, 9, 1);
	if (v.len && !slice_eqs(v, "1") && !slice_eqs(v, "0") &&
	    !(slice_eqs(v, "2") && x->syntax_ver >= 4))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNB-FIELD", fp, "UNB", 9, .ack_seg = 12, .bad = &v),
		    "UNB 0031 acknowledgement request \"%s\" is not 1%s",
		    slice_show(v, b, sizeof(b)),
		    x->syntax_ver >= 4 ? " or 2" : "");
	v = val(unb, 11, 1);
	if (v.len && !slice_eqs(v, "1"))
		ediag(x, ED(slice_eqs(v, "0") ? DIAG_WARNING : DIAG_ERROR,
		    DIAG_SCOPE_INTERCHANGE, "EDI-UNB-TEST", fp, "UNB", 11,
		    .ack_seg = 25, .bad = &v), "UNB 0035 test indicator "
		    "\"%s\" is not 1", slice_show(v, b, sizeof(b)));
}

static void
on_unb(struct ef *x, const struct edi_seg *seg)
{
	struct slice v;

	close_to(x, ES_OUT, seg->filepos);
	v = val(seg, 1, 2);
	x->syntax_ver = v.len == 1 && v.p[0] >= '1' && v.p[0] <= '9' ?
	    v.p[0] - '0' : 3;
	/* Syntax 4: the repetition separator (UNA position 5, default *). */
	x->d.repetition = x->syntax_ver >= 4 ?
	    (x->have_una ? x->una_rep : '*') : 0;
	build_classes(x);
	set_charset(x, val(seg, 1, 1));
	snap_let_go(x);
	arena_reset(&x->iar);
	if (copy_vals(x, &x->iar, &x->unb, seg) != 0)
		x->unb.nval = 0;
	x->iindex++;
	x->nmsgs = 0;
	x->ngroups = 0;
	x->mixed = 0;
	x->iok = 1;
	x->in_group = 0;
	x->nl_reported = 0;
	refset_clear(&x->msgctl);
	refset_clear(&x->grpctl);
	x->state = ES_IC;
	x->stale = 0;
	check_unb(x);
}

static void
on_unz(struct ef *x, const struct edi_seg *seg)
{
	struct slice v, ref;
	uint32_t n, want;
	char	 b[48];

	if (x->state == ES_OUT) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, ES_IC, seg->filepos);
	want = x->ngroups ? x->ngroups : x->nmsgs;
	v = val(seg, 1, 1);
	if (parse_u32(v, &n) != 0 || n != want)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-UNZ-COUNT",
		    seg->filepos, "UNZ", 1, .ack_seg = 29, .bad = &v),
		    "UNZ 0036 \"%s\" but the interchange has %u %s%s",
		    slice_show(v, b, sizeof(b)), want, x->ngroups ? "group" :
		    "message", want == 1 ? "" : "s");
	v = val(seg, 2, 1);
	ref = val(&x->unb, 5, 1);
	if (!slice_eq(v, ref))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
		    "EDI-UNZ-CONTROL", seg->filepos, "UNZ", 2, .ack_seg = 28,
		    .bad = &v), "UNZ 0020 \"%s\" differs from UNB 0020 "
		    "\"%.*s\"", slice_show(v, b, sizeof(b)),
		    (int)(ref.len < 40 ? ref.len : 40), ref.p);
	if (x->nmsgs == 0 && x->ngroups == 0)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-EMPTY-IC",
		    seg->filepos, "UNZ", .ack_seg = 32),
		    "the interchange contains no message");
	end_interchange(x);
}

static void
on_ung(struct ef *x, const struct edi_seg *seg)
{
	struct slice v;
	char	 b[48];
	int	 el;
	static const char *const names[] = { "", "0038 message group "
	    "identification", "S006 application sender", "S007 application "
	    "recipient", "S004 date and time", "0048 group reference",
	    "0051 controlling agency", "S008 message version" };

	if (x->state == ES_OUT) {
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, ES_IC, seg->filepos);
	x->outrun = 0;
	arena_reset(&x->gar);
	if (copy_vals(x, &x->gar, &x->ung, seg) != 0)
		x->ung.nval = 0;
	x->gindex++;
	x->ngroups++;
	x->gmsgs = 0;
	x->gok = 1;
	x->in_group = 1;
	x->state = ES_GRP;
	if (x->nmsgs > 0 && !x->mixed) {
		x->mixed = 1;
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE, "EDI-MIXED",
		    seg->filepos, "UNG", .ack_seg = 30), "functional groups "
		    "and messages side by side in one interchange");
	}
	for (el = 1; el <= 7; el++) {
		if (el != 5 && x->syntax_ver >= 4)
			continue;	/* conditional from syntax 4 on */
		if (slice_trim(val(seg, el, 1)).len == 0)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP,
			    "EDI-UNG-FIELD", seg->filepos, "UNG", el,
			    .ack_seg = 13), "UNG %s is missing", names[el]);
	}
	v = val(seg, 4, 1);
	if (v.len && !edi_valid_date(v, 1))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNG-FIELD",
		    seg->filepos, "UNG", 4, 1, .ack_seg = 12, .bad = &v),
		    "UNG S004 date \"%s\" is not valid", slice_show(v, b,
		    sizeof(b)));
	v = val(seg, 4, 2);
	if (v.len && (v.len != 4 || !edi_valid_time(v)))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNG-FIELD",
		    seg->filepos, "UNG", 4, 2, .ack_seg = 12, .bad = &v),
		    "UNG S004 time \"%s\" is not valid", slice_show(v, b,
		    sizeof(b)));
	v = val(seg, 5, 1);
	if (v.len && refset_seen(&x->grpctl, v))
		ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_GROUP, "EDI-UNG-DUP",
		    seg->filepos, "UNG", 5, .ack_seg = 26), "group reference "
		    "%s repeats in the interchange", slice_show(v, b,
		    sizeof(b)));
}

static void
on_une(struct ef *x, const struct edi_seg *seg)
{
	struct slice v, ref;
	uint32_t n;
	char	 b[48];

	if (x->state == ES_OUT || (x->state == ES_IC) ||
	    (x->state == ES_MSG && !x->in_group)) {
		if (x->state == ES_MSG) {
			msg_unterminated(x);
			deliver_set(x);
			x->state = ES_IC;
		}
		unexpected(x, seg->tag, seg->filepos);
		return;
	}
	close_to(x, ES_GRP, seg->filepos);
	v = val(seg, 1, 1);
	if (parse_u32(v, &n) != 0 || n != x->gmsgs)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNE-COUNT",
		    seg->filepos, "UNE", 1, .ack_seg = 29, .bad = &v),
		    "UNE 0060 \"%s\" but the group has %u message%s",
		    slice_show(v, b, sizeof(b)), x->gmsgs,
		    x->gmsgs == 1 ? "" : "s");
	v = val(seg, 2, 1);
	ref = val(&x->ung, 5, 1);
	if (!slice_eq(v, ref))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-UNE-CONTROL",
		    seg->filepos, "UNE", 2, .ack_seg = 28, .bad = &v),
		    "UNE 0048 \"%s\" differs from UNG 0048 \"%.*s\"",
		    slice_show(v, b, sizeof(b)),
		    (int)(ref.len < 40 ? ref.len : 40),
		    ref.p);
	if (x->gmsgs == 0)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_GROUP, "EDI-EMPTY-GROUP",
		    seg->filepos, "UNE", .ack_seg = 32),
		    "the group contains no message");
	end_group(x);
}

/* set_append()'s limits, out of the common path. */
static void __attribute__((noinline, cold))
set_limit(struct ef *x, const struct edi_seg *seg, struct edi_seg *s,
    enum setbuf_why why, int over)
{
	if (s == NULL) {
		if (why != SETBUF_OVERFLOWED)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET,
			    "EDI-SET-LIMIT", seg->filepos, seg->tag,
			    .ack_seg = 18), "message exceeds %s; the rest is "
			    "not read", why == SETBUF_SEGMENTS ?
			    "EG_MAX_SET_SEGMENTS" : "EG_MAX_SET_SIZE");
		return;
	}
	if (!over)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-SET-LIMIT",
		    seg->filepos, seg->tag, .ack_seg = 18),
		    "message exceeds its memory limit "
		    "(EG_MAX_SET_ARENA); the rest is not read");
	setbuf_overflow(&x->sb);
	s->nval = 0;
}

/*
 * Keep seg as the next segment of the open message.  Inline: the fast
 * path calls it for nearly every segment.
 */
static inline __attribute__((always_inline)) void
set_append(struct ef *x, const struct edi_seg *seg, int force)
{
	struct edi_seg	*s;
	enum setbuf_why	 why = SETBUF_OVERFLOWED;
	int		 over = x->sb.overflow;

	s = setbuf_add(&x->sb, seg, (size_t)(seg->raw.p + seg->raw.len -
	    x->in.p), force, &why);
	if (s == NULL || copy_vals_into(x, &x->sar, s, seg, 0) != 0)
		set_limit(x, seg, s, why, over);
}

/*
 * set_append() for seg written at setbuf_slot(): not copied again.  At
 * the message's size limit, set_append() on a copy decides.
 */
static inline __attribute__((always_inline)) void
set_append_slot(struct ef *x, struct edi_seg *seg, int inroom)
{
	struct edi_seg copy;

	if (setbuf_add_slot(&x->sb, seg, (size_t)(seg->raw.p + seg->raw.len -
	    x->in.p)) == NULL) {
		copy = *seg;
		set_append(x, &copy, 0);
		return;
	}
	if (copy_vals_into(x, &x->sar, seg, seg, inroom) != 0)
		set_limit(x, seg, seg, SETBUF_OVERFLOWED, 0);
}

/* A message version: D + 96A-style release, or a numeric version. */
static int
version_ok(struct slice v52, struct slice v54)
{
	size_t	 i;

	if (v52.len == 0 || v52.len > 3 || v54.len == 0 || v54.len > 3)
		return 0;
	for (i = 0; i < v54.len; i++)
		if (!is_upalnum((unsigned char)v54.p[i]))
			return 0;
	if (slice_eqs(v52, "D"))
		return (v54.len == 3 && v54.p[0] >= '0' && v54.p[0] <= '9' &&
		    v54.p[1] >= '0' && v54.p[1] <= '9' && v54.p[2] >= 'A' &&
		    v54.p[2] <= 'Z') || (v54.len == 1 && v54.p[0] >= '1' &&
		    v54.p[0] <= '9');
	if (slice_eqs(v52, "S"))
		return 1;
	return all_digits(v52) && !(v52.len == 1 && v52.p[0] == '0');
}

/*
 * val() of the values on_unh() reads, in one pass instead of one walk
 * each: f[0] is 0062, f[1..4] S009's 0065, 0052, 0054 and 0051.
 */
static void
unh_fields(const struct edi_seg *seg, struct slice f[5])
{
	/* UNH+ref+type:version:release:agency, el, rep, comp as words */
	static const uint64_t plain[5] = {
		1 | ERC_REP1 | ERC_COMP1, 2 | ERC_REP1 | ERC_COMP1,
		2 | ERC_REP1 | 2 * ERC_COMP1, 2 | ERC_REP1 | 3 * ERC_COMP1,
		2 | ERC_REP1 | 4 * ERC_COMP1,
	};
	const struct edi_val *v, *e = edi_val_end(seg);
	uint64_t w;
	int	 i;

	/*
	 * Nearly every UNH: its first five values are those five, each once
	 * (values are never empty), and no other before element 3.
	 */
	if (seg->nval >= 5 && (seg->nval == 5 || seg->val[5].el > 2)) {
		for (i = 0; i < 5; i++) {
			memcpy(&w, (const unsigned char *)&seg->val[i] +
			    offsetof(struct edi_val, el), sizeof(w));
			if ((w & 0xffffffffffffULL) != plain[i])
				break;
			f[i] = seg->val[i].s;
		}
		if (i == 5)
			return;
	}
	for (i = 0; i < 5; i++)
		f[i] = slice_make("", 0);
	/* in (el, rep, comp) order: each position once */
	for (v = seg->val; v < e && v->el <= 2; v++)
		if (v->rep == 1 && v->s.len != 0 &&
		    (v->el == 1 ? v->comp == 1 : v->comp <= 4))
			f[v->el == 1 ? 0 : v->comp] = v->s;
}

static void
on_unh(struct ef *x, const struct edi_seg *seg)
{
	struct slice v, g38, g52, g54, f[5];
	char	 b[48], b2[48];
	int	 comp;
	static const struct {
		int	 comp;
		unsigned max;
		const char *name;
	} s009[] = {
		{ 1, 6, "0065 message type" },
		{ 2, 3, "0052 message version" },
		{ 3, 3, "0054 message release" },
		{ 4, 3, "0051 controlling agency" },
	};

	if (x->state == ES_MSG || x->state == ES_BARE)
		close_to(x, x->in_group && x->state == ES_MSG ? ES_GRP :
		    x->state == ES_MSG ? ES_IC : ES_OUT, seg->filepos);
	x->outrun = 0;
	if (x->state == ES_OUT) {
		if (!x->bare_reported) {
			x->bare_reported = 1;
			ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_FILE, "EDI-NO-UNB",
			    seg->filepos, "UNH"), "message without an "
			    "interchange envelope (no UNB/UNZ)");
		}
		x->state = ES_BARE;
		x->cs = CS_UTF8;
		x->csname[0] = '\0';
	} else {
		if (x->state == ES_IC && x->ngroups > 0 && !x->mixed) {
			x->mixed = 1;
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_INTERCHANGE,
			    "EDI-MIXED", seg->filepos, "UNH", .ack_seg = 30),
			    "functional groups and messages side by side in "
			    "one interchange");
		}
		if (x->in_group)
			x->gmsgs++;
		else
			x->nmsgs++;
		x->state = ES_MSG;
	}
	setbuf_begin(&x->sb, (size_t)(seg->raw.p - x->in.p));
	x->mplain = 0;		/* fast_other_body()'s to set */
	x->rejected = 0;
	x->ndiag = 0;
	x->unh_filepos = seg->filepos;
	set_append(x, seg, 0);
	/* The slices below live in the set's copy of UNH. */
	unh_fields(&x->sb.seg[0], f);
	x->ref = f[0];
	x->type = f[1];
	x->v52 = f[2];
	x->v54 = f[3];
	if (x->ref.len == 0)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-FIELD",
		    seg->filepos, "UNH", 1, .ack_seg = 13),
		    "UNH 0062 message reference number is missing");
	else if (x->ref.len > 14)
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-FIELD",
		    seg->filepos, "UNH", 1, .ack_seg = 39, .bad = &x->ref),
		    "UNH 0062 \"%s\" is longer than 14",
		    slice_show(x->ref, b, sizeof(b)));
	else if (x->state == ES_MSG && !x->worker &&
	    refset_seen(&x->msgctl, x->ref))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-DUP",
		    seg->filepos, "UNH", 1, .ack_seg = 26, .bad = &x->ref),
		    "message reference %s is not unique in the interchange",
		    slice_show(x->ref, b, sizeof(b)));
	/*
	 * Nearly every UNH: all four there and short enough (len - 1 <
	 * max), one test for the loop's four.
	 */
	for (comp = f[1].len - 1 < s009[0].max && f[2].len - 1 < s009[1].max &&
	    f[3].len - 1 < s009[2].max && f[4].len - 1 < s009[3].max ? 4 : 0;
	    comp < 4; comp++) {
		v = f[s009[comp].comp];
		if (v.len == 0)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-FIELD",
			    seg->filepos, "UNH", 2, s009[comp].comp,
			    .ack_seg = 13), "UNH S009 %s is missing",
			    s009[comp].name);
		else if (v.len > s009[comp].max)
			ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-FIELD",
			    seg->filepos, "UNH", 2, s009[comp].comp,
			    .ack_seg = 39, .bad = &v), "UNH S009 %s \"%s\" is "
			    "longer than %u", s009[comp].name,
			    slice_show(v, b, sizeof(b)), s009[comp].max);
	}
	if (x->v52.len && x->v54.len && x->v52.len <= 3 && x->v54.len <= 3 &&
	    !version_ok(x->v52, x->v54))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNH-VERSION",
		    seg->filepos, "UNH", 2, 2, .ack_seg = 12, .bad = &x->v52),
		    "UNH S009 version \"%s:%s\" is not a message version "
		    "(such as D:96A)", slice_show(x->v52, b, sizeof(b)),
		    slice_show(x->v54, b2, sizeof(b2)));
	if (x->in_group && x->state == ES_MSG) {
		g38 = val(&x->ung, 1, 1);
		g52 = val(&x->ung, 7, 1);
		g54 = val(&x->ung, 7, 2);
		if ((g38.len && x->type.len && !slice_eq(g38, x->type)) ||
		    (g52.len && !slice_eq(g52, x->v52)) ||
		    (g54.len && !slice_eq(g54, x->v54))) {
			char	 b3[48], b4[48], b5[48], b6[48];

			ediag(x, ED(DIAG_WARNING, DIAG_SCOPE_GROUP,
			    "EDI-UNG-ID", seg->filepos, "UNH", 2),
			    "message %s %s:%s in a group for %s %s:%s",
			    slice_show(x->type, b, sizeof(b)),
			    slice_show(x->v52, b2, sizeof(b2)),
			    slice_show(x->v54, b3, sizeof(b3)),
			    slice_show(g38, b4, sizeof(b4)),
			    slice_show(g52, b5, sizeof(b5)),
			    slice_show(g54, b6, sizeof(b6)));
		}
	}
}

/*
 * parse_u32(v, &n) == 0 && n == count, digits in one loop: up to ten
 * fit in 64 bits; longer ones (leading zeros) as parse_u32() reads them.
 */
static inline int
unt_count_ok(struct slice v, uint32_t count)
{
	uint64_t n = 0;
	uint32_t n32;
	size_t	 i;
	unsigned d;

	if (v.len - 1 >= 10)
		return v.len != 0 && parse_u32(v, &n32) == 0 && n32 == count;
	for (i = 0; i < v.len; i++) {
		if ((d = (unsigned)(unsigned char)v.p[i] - '0') > 9)
			return 0;
		n = n * 10 + d;
	}
	return n == count;
}

/* on_unt() past keeping seg, the message's last segment. */
static void __attribute__((noinline))
unt_close(struct ef *x, const struct edi_seg *seg)
{
	const struct edi_val *p, *e = edi_val_end(seg);
	struct slice v, v2;
	char	 b[48];
	int	 bare = x->state == ES_BARE;

	/* val(seg, 1, 1) and val(seg, 2, 1) in one pass */
	v = v2 = slice_make("", 0);
	for (p = seg->val; p < e && p->el <= 2; p++)
		if (p->rep == 1 && p->comp == 1 && p->s.len != 0) {
			if (p->el == 1)
				v = p->s;
			else
				v2 = p->s;
		}
	if (!unt_count_ok(v, x->sb.count))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNT-COUNT",
		    seg->filepos, "UNT", 1, .ack_seg = 29, .bad = &v),
		    "UNT 0074 \"%s\" but the message has %u segments",
		    slice_show(v, b, sizeof(b)), x->sb.count);
	v = v2;
	if (!slice_eq(v, x->ref))
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_SET, "EDI-UNT-CONTROL",
		    seg->filepos, "UNT", 2, .ack_seg = 28, .bad = &v),
		    "UNT 0062 \"%s\" differs from UNH 0062 \"%.*s\"",
		    slice_show(v, b, sizeof(b)), (int)(x->ref.len < 40 ?
		    x->ref.len : 40), x->ref.p);
	deliver_set(x);
	x->state = bare ? ES_OUT : x->in_group ? ES_GRP : ES_IC;
}

static void __attribute__((noinline))
on_unt(struct ef *x, const struct edi_seg *seg)
{
	set_append(x, seg, 1);
	unt_close(x, seg);
}

/* -- messages read on other threads (edifact.h) ------------------------ */

/*
 * The largest message offered: a larger one is read here, so that a
 * message is never scanned whole only to be read again.
 */
#define OFFER_MAX	(512U * 1024)

struct edifact_snap {
	struct edi_snap	 base;
	struct arena	 ar;		/* unb's values */
	struct edi_seg	 unb;
	uint32_t	 iindex;
	_Alignas(32) unsigned char head[EF_HEAD];
};

/* A thread's parser of offered messages (edifact_msg_parse()). */
struct edifact_wk {
	struct ef	*x;
	struct edi_snap	*held;		/* x was read from */
};

static void
snap_free(struct edi_snap *base)
{
	struct edifact_snap *sn = (struct edifact_snap *)(void *)base;

	arena_free(&sn->ar);
	free(sn);
}

/* x's snapshot no longer tells how x reads: later offers get a new one. */
static void
snap_let_go(struct ef *x)
{
	if (x->snap != NULL)
		edi_snap_drop(&x->snap->base);
	x->snap = NULL;
}

/* A copy of the text of s that is not in x's input, into a. */
static int
snap_text(const struct ef *x, struct arena *a, struct slice *s)
{
	char	*p;

	if (s->len == 0 || ((uintptr_t)s->p >= (uintptr_t)x->in.p &&
	    (uintptr_t)s->p + s->len <= (uintptr_t)x->in.p + x->in.len))
		return 0;
	if ((p = arena_strndup(a, s->p, s->len)) == NULL)
		return -1;
	s->p = p;
	return 0;
}

/* x's reading state and UNB, in a snapshot of their own; NULL if not. */
static struct edifact_snap *
snap_new(struct ef *x)
{
	struct edifact_snap *sn;
	struct edi_val	*v;
	uint16_t	 i;

	sn = xcalloc(1, sizeof(*sn));
	atomic_init(&sn->base.refs, 1);
	sn->base.free = snap_free;
	arena_init(&sn->ar, EG_MAX_ENV_ARENA);
	memcpy(sn->head, x, EF_HEAD);
	sn->unb = x->unb;
	sn->iindex = x->iindex;
	if (snap_text(x, &sn->ar, &sn->unb.raw) != 0)
		goto fail;
	if (x->unb.nval > 0) {
		if ((v = arena_allocarray_raw(&sn->ar, x->unb.nval,
		    sizeof(*v))) == NULL)
			goto fail;
		memcpy(v, x->unb.val, x->unb.nval * sizeof(*v));
		for (i = 0; i < x->unb.nval; i++)
			if (snap_text(x, &sn->ar, &v[i].s) != 0)
				goto fail;
		sn->unb.val = v;
	}
	return sn;
fail:
	edi_snap_drop(&sn->base);
	return NULL;
}

/*
 * The first byte at or after i and before lim that is one of the four
 * in c (the terminator, the release character, CR, LF), or lim.
 */
static inline size_t
msg_stop(const unsigned char *p, size_t i, size_t lim, const char c[4])
{
	for (; i < lim; i++)
		if (p[i] == (unsigned char)c[0] || p[i] == (unsigned char)c[1] ||
		    p[i] == (unsigned char)c[2] || p[i] == (unsigned char)c[3])
			return i;
	return lim;
}

/*
 * Whether the segment at s, whose tag is plain (msg_tag_plain()), is a
 * service segment that ends the scan: 1 UNT, -1 another (UNA, UNB, UNG,
 * UNE, UNH, UNZ, or UNT not followed by an element separator), 0 none.
 */
static inline int
msg_service(const struct ef *x, const unsigned char *p, size_t s)
{
	unsigned char c;

	if (p[s] != 'U' || p[s + 1] != 'N')
		return 0;
	c = p[s + 2];
	if (c == 'A' || c == 'B' || c == 'Z' || c == 'G' || c == 'E' ||
	    c == 'H')
		return -1;
	if (c == 'T')
		return p[s + 3] == (unsigned char)x->d.element ? 1 : -1;
	return 0;
}

/*
 * Whether the segment at s (four bytes at least before the end of the
 * input) reads as its first three bytes for a tag: none of them a
 * terminator, separator, release character or line break, and the
 * element separator or the terminator right after.  The tokenizer takes a
 * tag from any repetition of element 0 and unescapes it ("?UNH" reads as
 * UNH, "*UNB" and "XYZ*UNT" as UNB and UNT in syntax 4): a segment
 * otherwise is not looked at, so msg_extent() gives up on it.
 */
static inline int
msg_tag_plain(const struct ef *x, const unsigned char *p, size_t s)
{
	const unsigned char seg = (unsigned char)x->d.segment;

	return (x->cls[p[s]] | x->cls[p[s + 1]] | x->cls[p[s + 2]]) ==
	    C_DATA && p[s] != seg && p[s + 1] != seg && p[s + 2] != seg &&
	    (p[s + 3] == (unsigned char)x->d.element || p[s + 3] == seg);
}

/*
 * msg_extent(), segment by segment from pos, a segment's start (n
 * segments counted so far), a byte at a time.
 */
static size_t
msg_extent_bytes(const struct ef *x, size_t pos, size_t lim, uint32_t n,
    uint32_t *nseg)
{
	const unsigned char *p = (const unsigned char *)x->in.p;
	const char stops[4] = { x->d.segment, x->d.release ? x->d.release :
	    x->d.segment, '\r', '\n' };
	size_t	 i;
	int	 svc;

	for (;;) {
		while (pos < lim && is_ws(p[pos]))
			pos++;
		if (lim - pos < 4 || !msg_tag_plain(x, p, pos))
			return 0;
		if ((svc = msg_service(x, p, pos)) < 0)
			return 0;
		for (i = pos;; i += 2) {
			i = msg_stop(p, i, lim, stops);
			if (i >= lim)
				return 0;
			if (p[i] == (unsigned char)x->d.segment)
				break;
			/* the release character: the next byte is data */
			if (p[i] != (unsigned char)x->d.release || i + 1 >= lim ||
			    p[i + 1] == '\r' || p[i + 1] == '\n')
				return 0;
		}
		if (++n >= EG_MAX_SET_SEGMENTS)
			return 0;
		pos = i + 1;
		if (svc) {
			*nseg = n;
			return pos;
		}
	}
}

/*
 * The end (past its terminator) of the message whose UNH ends before pos,
 * with in *nseg its segments after UNH, UNT included; 0 when a parser
 * started at its UNH might not read it as this one would: another service
 * segment (UNA, UNB, UNG, UNE, UNH, UNZ) before its UNT, an empty segment,
 * a segment whose tag is not its first three bytes (msg_tag_plain()), a
 * line break inside a segment (EDI-NEWLINE is reported once per
 * interchange), no UNT, or too large a message.
 *
 * 32 bytes a step, as bit masks: the terminators not released, and line
 * breaks only as CR LF or LF right after one.  Anything else (white
 * space before a segment, a line break elsewhere, the last bytes) goes
 * to msg_extent_bytes() from the segment it is in.
 */
static size_t
msg_extent(const struct ef *x, size_t pos, uint32_t *nseg)
{
	const unsigned char *p = (const unsigned char *)x->in.p;
	size_t	 lim, b, s = pos, t;
	uint32_t n = 0;
	int	 svc;
#ifdef __SSE2__
	const __m128i vt = _mm_set1_epi8(x->d.segment);
	const __m128i vr = _mm_set1_epi8(x->d.release);
	const __m128i vcr = _mm_set1_epi8('\r'), vlf = _mm_set1_epi8('\n');
	__m128i	 lo, hi;
	/* tprev: the byte before pos ends UNH */
	unsigned T, R, NL, CR, LF, after, after2, esc = 0, carry = 0;
	unsigned tprev = 1, crprev = 0;
	unsigned char c;
#endif

	lim = x->in.len - pos > OFFER_MAX ? pos + OFFER_MAX : x->in.len;
#ifdef __SSE2__
	for (b = pos; lim - b >= 32; b += 32) {
		lo = _mm_loadu_si128((const __m128i *)(const void *)(p + b));
		hi = _mm_loadu_si128((const __m128i *)(const void *)
		    (p + b + 16));
		T = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(lo, vt)) |
		    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(hi, vt)) << 16;
		if (x->d.release) {
			R = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(lo, vr)) |
			    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(hi,
			    vr)) << 16;
			esc = (R | carry) != 0 ? escapes(R, &carry) : 0;
			T &= ~esc;
		}
		NL = mask32(lo, hi, vcr, vlf);
		if (NL != 0) {
			/* CR LF or LF right after a terminator, nowhere else */
			CR = mask32(lo, hi, vcr, vcr);
			LF = NL & ~CR;
			after = T << 1 | tprev;
			after2 = (after & CR) << 1 | crprev;
			if ((NL & esc) != 0 ||
			    (NL & ~((after & NL) | (after2 & LF))) != 0)
				return msg_extent_bytes(x, s, lim, n, nseg);
			crprev = (after & CR) >> 31;
		} else
			crprev = 0;
		tprev = T >> 31;
		for (; T != 0; T &= T - 1) {
			t = b + (size_t)__builtin_ctz(T);
			if (s == t)
				return 0;	/* an empty segment */
			if ((c = p[s]) <= ' ') {
				/* CR LF or LF after the last terminator */
				while (s < t && (c == '\r' || c == '\n'))
					c = p[++s];
				if (s == t || c <= ' ')
					return msg_extent_bytes(x, s, lim, n,
					    nseg);
			}
			if (t - s < 3 || !msg_tag_plain(x, p, s))
				return 0;
			if (c == 'U') {
				if ((svc = msg_service(x, p, s)) < 0)
					return 0;
				if (svc) {
					if (n + 1 >= EG_MAX_SET_SEGMENTS)
						return 0;
					*nseg = n + 1;
					return t + 1;
				}
			}
			if (++n >= EG_MAX_SET_SEGMENTS)
				return 0;
			s = t + 1;
		}
	}
#endif
	return msg_extent_bytes(x, s, lim, n, nseg);
}

/*
 * After on_unh(): offer the message to the handler, and when it takes it,
 * go on past its UNT (x->skipto) with the message's counts.  after: the
 * offset past UNH's terminator.
 */
static void
msg_offer(struct ef *x, size_t after)
{
	const struct edi_delims *d = &x->d;
	struct edi_msg	 m;
	struct edi_set	 hdr;
	struct slice	 raw;
	char		 vb[8];
	size_t		 end;
	uint32_t	 n;
	int		 rc;

	/* UNH with anything to report, before on_unh() or in it: not */
	if (x->h->msg == NULL || x->state != ES_MSG || x->in_group ||
	    x->ngroups > 0 || x->ndiag > 0 || x->rejected || x->stop ||
	    x->diag_fp >= x->unh_filepos ||
	    x->cs == CS_ICONV || x->sb.nseg != 1 ||
	    x->v52.len + x->v54.len >= sizeof(vb) ||
	    is_ws((unsigned char)d->segment) ||
	    is_ws((unsigned char)d->element) ||
	    is_ws((unsigned char)d->component) ||
	    (d->release && is_ws((unsigned char)d->release)) ||
	    (d->repetition && is_ws((unsigned char)d->repetition)))
		return;
	/*
	 * A UNH without a terminator ends the input.  A line break in UNH:
	 * EDI-NEWLINE is reported once per interchange, maybe before.
	 */
	raw = x->sb.seg[0].raw;
	if (after >= x->in.len || memchr(raw.p, '\n', raw.len) != NULL ||
	    memchr(raw.p, '\r', raw.len) != NULL ||
	    (end = msg_extent(x, after, &n)) == 0)
		return;
	if (x->snap == NULL && (x->snap = snap_new(x)) == NULL)
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.filename = x->filename;
	fill_env(x, &hdr.env, 0);
	hdr.doctype = x->type;
	memcpy(vb, x->v52.p, x->v52.len);
	memcpy(vb + x->v52.len, x->v54.p, x->v54.len);
	vb[x->v52.len + x->v54.len] = '\0';
	hdr.version = slice_make(vb, x->v52.len + x->v54.len);
	hdr.control = x->ref;
	hdr.seg = x->sb.seg;
	hdr.nseg = 1;
	/* as deliver_set() would have it: up to UNT's terminator */
	hdr.raw = slice_make(x->sb.seg[0].raw.p, (size_t)(x->in.p + end - 1 -
	    x->sb.seg[0].raw.p));
	hdr.segs_in_raw = 1;
	m.snap = &x->snap->base;
	m.raw = slice_make(hdr.raw.p, hdr.raw.len + 1);
	m.filepos = x->unh_filepos - 1;
	if ((rc = x->h->msg(x->arg, &hdr, &m)) < 0)
		x->stop = rc;
	if (rc != 1)
		return;
	/* what deliver_set() and on_unt() leave */
	x->filepos += n;
	x->skipto = end;
	x->state = ES_IC;
	arena_reset(&x->sar);
	x->rejected = 0;
	x->ndiag = 0;
	x->unh_filepos = 0;
}

static struct edifact_wk *
wk_new(void)
{
	struct edifact_wk *wk;
	struct ef	*x;

	wk = xcalloc(1, sizeof(*wk));
	wk->x = x = xcalloc(1, sizeof(*x));
	x->cd = (iconv_t)-1;
	x->worker = 1;
	arena_init(&x->iar, EG_MAX_ENV_ARENA);
	arena_init(&x->gar, EG_MAX_ENV_ARENA);
	arena_init(&x->sar, EG_MAX_SET_ARENA);
	x->tcap = 4 * (size_t)EG_MAX_SEGMENT_LEN + 64;
	x->tbuf = xmalloc(x->tcap);
	return wk;
}

static void	parse_loop(struct ef *, size_t);
static void	ef_free(struct ef *);

static void
edifact_wk_free(void *arg)
{
	struct edifact_wk *wk = arg;

	if (wk == NULL)
		return;
	edi_snap_drop(wk->held);
	ef_free(wk->x);
	free(wk);
}

/* translator_edifact.msg_parse: m, a message msg_offer() offered. */
static int
edifact_msg_parse(void **wkp, const struct edi_msg *m,
    const struct edi_handler *h, void *arg)
{
	struct edifact_wk *wk;
	struct edifact_snap *sn = (struct edifact_snap *)(void *)m->snap;
	struct ef	*x;

	if ((wk = *wkp) == NULL)
		*wkp = wk = wk_new();
	x = wk->x;
	if (edi_snap_switch(&wk->held, m->snap)) {
		memcpy(x, sn->head, EF_HEAD);
		x->cd = (iconv_t)-1;	/* never in use in a snapshot */
		x->unb = sn->unb;
		x->iindex = sn->iindex;
	}
	/* the input ends with the message: the loop stops after its UNT */
	x->in.len = (size_t)(m->raw.p + m->raw.len - x->in.p);
	x->h = h;
	x->arg = arg;
	x->ds = h->diags;
	x->state = ES_IC;
	x->filepos = m->filepos;
	x->stop = 0;
	x->outrun = 0;
	parse_loop(x, (size_t)(m->raw.p - x->in.p));
	/* msg_extent() saw to it that the message is read whole */
	if (x->stop == 0 && x->state != ES_IC)
		return EG_ERR_INTERNAL;
	return x->stop;
}

/* A tag as an integer, for dispatch without strcmp. */
#define K3(a, b, c)	((uint32_t)(a) | (uint32_t)(b) << 8 |		\
	    (uint32_t)(c) << 16)
#define TAGKEY(t)	((t)[0] && (t)[1] && (t)[2] ? K3((unsigned char)(t)[0], \
	    (unsigned char)(t)[1], (unsigned char)(t)[2]) : 0)
#define K_UNB	K3('U', 'N', 'B')
#define K_UNZ	K3('U', 'N', 'Z')
#define K_UNG	K3('U', 'N', 'G')
#define K_UNE	K3('U', 'N', 'E')
#define K_UNH	K3('U', 'N', 'H')
#define K_UNT	K3('U', 'N', 'T')

static void
segment_diags(struct ef *x, struct edi_seg *seg, struct slice raw, int flags)
{
	enum diag_scope scope = cur_scope(x);
	char	 b[48];

	if (flags & TF_BADTAG)
		ediag(x, ED(DIAG_ERROR, scope == DIAG_SCOPE_FILE ?
		    DIAG_SCOPE_FILE : scope, "EDI-SEG-TAG", x->filepos,
		    seg->tag, .ack_seg = 12), "\"%s\" is not a segment tag",
		    slice_show(slice_make(raw.p, raw.len < 20 ? raw.len : 20),
		    b, sizeof(b)));
	if (flags & TF_LIMIT)
		ediag(x, ED(DIAG_ERROR, scope, "EDI-SEG-VALUES", x->filepos,
		    seg->tag, .ack_seg = (flags & TF_REPLIMIT) ? 35 : 16),
		    "segment has too many values, elements, components or "
		    "repetitions (limits %u/%u/%u/%u); the rest is not read",
		    EG_MAX_SEG_VALUES, EG_MAX_ELEMENTS, EG_MAX_COMPONENTS,
		    EG_MAX_REPEATS);
	if (flags & TF_TRAILING)
		ediag(x, ED(DIAG_WARNING, scope, "EDI-TRAILING", x->filepos,
		    seg->tag, seg->nel, .ack_el = 45), "trailing separator "
		    "in %s", seg->tag);
	if (flags & TF_DANGLING)
		ediag(x, ED(DIAG_WARNING, scope, "EDI-RELEASE", x->filepos,
		    seg->tag), "release character at the end of the input "
		    "(ignored)");
	if ((flags & TF_NEWLINE) && !x->nl_reported) {
		x->nl_reported = 1;
		ediag(x, ED(DIAG_WARNING, scope, "EDI-NEWLINE", x->filepos,
		    seg->tag), "line breaks inside segment %s were removed "
		    "(hard-wrapped input; further ones in this interchange "
		    "are not reported)", seg->tag);
	}
}

static int	seg_charset(struct ef *, struct edi_seg *, struct slice, int)
		    __attribute__((noinline));
static void	on_tokens(struct ef *, struct edi_seg *, struct slice, int)
		    __attribute__((noinline));

static void
on_segment(struct ef *x, struct slice raw)
{
	struct edi_seg seg;
	int	 flags;

	memset(&seg, 0, sizeof(seg));
	seg.filepos = x->filepos;
	seg.raw = raw;
	x->tlen = 0;
	if (raw.len > EG_MAX_SEGMENT_LEN) {
		/* Only the tag is read. */
		flags = tokenize(x, slice_make(raw.p, 4), &seg);
		seg.nel = 0;
		seg.nval = 0;
		seg.val = x->scratch;
		ediag(x, ED(DIAG_ERROR, cur_scope(x), "EDI-SEG-LONG",
		    x->filepos, seg.tag, .ack_seg = 18), "segment of %zu "
		    "bytes exceeds EG_MAX_SEGMENT_LEN (%u); its values are "
		    "not read", raw.len, EG_MAX_SEGMENT_LEN);
		flags &= TF_BADTAG;
	} else {
		flags = tokenize(x, raw, &seg);
		flags = seg_charset(x, &seg, raw, flags);
	}
	on_tokens(x, &seg, raw, flags);
}

/*
 * The character set step of a segment read whole: UNB declares the
 * character set of its own text.  Returns flags without TF_CSPLAIN.
 */
static int
seg_charset(struct ef *x, struct edi_seg *seg, struct slice raw, int flags)
{
	if (TAGKEY(seg->tag) == K_UNB)
		set_charset(x, val(seg, 1, 1));
	if (seg->nval > 0 && !((flags & TF_CSPLAIN) && x->cs != CS_A) &&
	    !raw_plain(x, raw))
		charset_values(x, seg);
	return flags & ~TF_CSPLAIN;
}

/* A tokenized segment: the envelope state machine, or the open message. */
static void
on_tokens(struct ef *x, struct edi_seg *seg, struct slice raw, int flags)
{
	uint32_t key;

	x->mplain = 0;
	key = TAGKEY(seg->tag);
	/* A message without UNB ends at the first envelope segment. */
	if (x->state == ES_BARE && (key == K_UNZ || key == K_UNG ||
	    key == K_UNE))
		close_to(x, ES_OUT, seg->filepos);
	/* Envelope segments choose the scope of their own problems. */
	if (flags != 0 && key != K_UNB && key != K_UNH && key != K_UNG)
		segment_diags(x, seg, raw, flags);

	switch (x->state) {
	case ES_MSG:
	case ES_BARE:
		if (key == K_UNT) {
			on_unt(x, seg);
			return;
		}
		if (key != K_UNH && key != K_UNB && key != K_UNG &&
		    key != K_UNE && key != K_UNZ) {
			set_append(x, seg, 0);
			return;
		}
		break;
	default:
		break;
	}
	switch (key) {
	case K_UNB:
		on_unb(x, seg);
		segment_diags(x, seg, raw, flags);
		x->outrun = 0;
		break;
	case K_UNZ:
		on_unz(x, seg);
		x->outrun = 0;
		break;
	case K_UNG:
		on_ung(x, seg);
		segment_diags(x, seg, raw, flags);
		break;
	case K_UNE:
		on_une(x, seg);
		x->outrun = 0;
		break;
	case K_UNH:
		on_unh(x, seg);
		if (flags != 0)		/* nothing to say otherwise */
			segment_diags(x, seg, raw, flags);
		msg_offer(x, (size_t)(raw.p + raw.len - x->in.p) + 1);
		break;
	default:
		unexpected(x, seg->tag[0] ? seg->tag : "?", seg->filepos);
		break;
	}
}

#ifdef __SSE2__
/*
 * Whether the segment at p has one of the tags that on_tokens() gives a
 * handler of its own (UNB, UNZ, UNG, UNE, UNH, UNT).  Any other, UNS
 * included, is a segment of the open message like the rest.  Three bytes
 * are enough: a longer tag is not scan_plain()'s.
 */
static inline int
env_tag(const char *p)
{
	unsigned c = (unsigned char)p[2];

	return p[0] == 'U' && p[1] == 'N' && c >= 'B' && c <= 'Z' &&
	    ((1U << (c - 'B')) & (1U << ('B' - 'B') | 1U << ('Z' - 'B') |
	    1U << ('G' - 'B') | 1U << ('E' - 'B') | 1U << ('H' - 'B') |
	    1U << ('T' - 'B'))) != 0;
}

/*
 * The segment at pos split into x->scratch and handed to the general
 * steps: a service segment, a segment outside a message, or one that
 * fast_segment() has no slot or no room in the arena for.  Out of line
 * (fast_other_sse2(), fast_other_avx2()), so that fast_segment()'s common
 * path keeps its values in registers.  The terminator's offset, or
 * SCAN_NO for on_segment().
 */
static inline __attribute__((always_inline)) size_t
fast_other_body(struct ef *x, size_t pos, struct setbuf_vwin *w,
    const int avx2)
{
	struct edi_seg seg;
	struct edi_val *oend;
	size_t	 end;
	uint32_t key;
	int	 flags, direct;

	setbuf_vwclose(&x->sar, w);
	x->tlen = 0;
	if ((end = scan_plain(x, x->in.p, x->in.len, pos, &seg, x->scratch,
	    EG_MAX_SEG_VALUES, &flags, &oend, avx2)) == SCAN_NO)
		return SCAN_NO;
	seg.val = x->scratch;
	if (flags & TF_REL)
		unescape_vals(x, seg.val, seg.nval, x->in.p + pos + 4,
		    x->in.p + end);
	flags &= ~TF_REL;
	direct = (x->state == ES_MSG || x->state == ES_BARE) &&
	    !env_tag(x->in.p + pos);
	x->filepos++;
	seg.filepos = x->filepos;
	seg.setpos = 0;
	seg.raw = slice_make(x->in.p + pos, end - pos);
	seg.loop = NULL;
	/* nothing to report and no character to check: on_tokens()' end */
	if (direct && !(flags & TF_TRAILING) && ((flags & TF_CSPLAIN) ?
	    x->cs != CS_A : seg.nval == 0)) {
		set_append(x, &seg, 0);
		return end;
	}
	/*
	 * UNH and UNT of every message: no byte to check (seg_charset()
	 * would only take TF_CSPLAIN off), unless UNB declares the set; and
	 * with nothing to report, in their usual places, on_tokens() would
	 * only hand them to their handlers.
	 */
	if (flags == TF_CSPLAIN && x->cs != CS_A &&
	    (key = edi_seg_tagkey(&seg)) != K_UNB) {
		if (key == K_UNH && (x->state == ES_IC ||
		    x->state == ES_GRP)) {
			on_unh(x, &seg);
			x->mplain = x->jsonok;
			msg_offer(x, end + 1);
			return end;
		}
		if (key == K_UNT && x->state == ES_MSG) {
			on_unt(x, &seg);
			return end;
		}
		flags = 0;
	} else
		flags = seg_charset(x, &seg, seg.raw, flags);
	on_tokens(x, &seg, seg.raw, flags);
	return end;
}

/*
 * fast_other_body() for each copy of fast_run(): out of line, but with
 * the copy's own classifier (the service segments of every message come
 * this way).
 */
static size_t __attribute__((noinline))
fast_other_sse2(struct ef *x, size_t pos, struct setbuf_vwin *w)
{
	return fast_other_body(x, pos, w, 0);
}

#ifdef EF_AVX2
static size_t __attribute__((noinline, target("avx2,bmi,bmi2")))
fast_other_avx2(struct ef *x, size_t pos, struct setbuf_vwin *w)
{
	return fast_other_body(x, pos, w, 1);
}
#endif

/*
 * Either, as fast_segment()'s answer: SCAN_NO also when a handler asked
 * to stop (only the service segments reach one), so that fast_run() need
 * not look at x->stop for every segment.
 */
static inline __attribute__((always_inline)) size_t
fast_other(struct ef *x, size_t pos, struct setbuf_vwin *w, uint32_t *fpp,
    const int avx2)
{
	size_t	 end;

	x->filepos = *fpp;
#ifdef EF_AVX2
	if (avx2)
		end = fast_other_avx2(x, pos, w);
	else
#endif
		end = fast_other_sse2(x, pos, w);
	*fpp = x->filepos;
	return x->stop != 0 ? SCAN_NO : end;
}

/*
 * The rest of a segment of the open message that fast_segment() split
 * into its slot (s) and the value window, when it is not simply kept:
 * something to report or to convert, unescaped values, or the message's
 * size limit.
 */
static void __attribute__((noinline))
fast_slot_rest(struct ef *x, struct edi_seg *s, int flags,
    struct setbuf_vwin *w)
{
	struct edi_seg seg;

	setbuf_vwclose(&x->sar, w);
	if (!(flags & TF_TRAILING) && ((flags & TF_CSPLAIN) ?
	    x->cs != CS_A : s->nval == 0)) {
		set_append_slot(x, s, 1);
		return;
	}
	seg = *s;
	flags = seg_charset(x, &seg, seg.raw, flags);
	on_tokens(x, &seg, seg.raw, flags);
}

/*
 * fast_segment()'s segment s, to be kept, whose values (at the value
 * window) include some unescaped into tbuf: their text goes into the
 * window after the values, each as copy_vals_into()'s arena_strndup()
 * would put it (NUL, ARENA_ALIGN), so that the window stays open and the
 * arena counts the same bytes.  0, or -1 with nothing done when the
 * window has not the room or the set is at its size limit: the general
 * steps decide.
 */
static int __attribute__((noinline))
fast_slot_text(struct ef *x, struct edi_seg *s, struct setbuf_vwin *w)
{
	struct edi_val *v = s->val;
	const char *tb = x->tbuf;
	unsigned char *o;
	size_t	 need, vneed, len;
	uint16_t i, n = s->nval;

#define IN_TBUF(p)	((uintptr_t)(p) >= (uintptr_t)tb &&		\
	    (uintptr_t)(p) < (uintptr_t)tb + x->tcap)
#define ALIGNED(k)	(((k) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
	vneed = need = ALIGNED(n * sizeof(*v));
	for (i = 0; i < n; i++)
		if (IN_TBUF(v[i].s.p))
			need += ALIGNED(v[i].s.len + 1);
	/* v is at w->p: its room is the window's */
	if (need > (size_t)(w->end - w->p) || setbuf_add_slot(&x->sb, s,
	    (size_t)(s->raw.p + s->raw.len - x->in.p)) == NULL)
		return -1;
	o = w->p + vneed;
	for (i = 0; i < n; i++) {
		if (!IN_TBUF(v[i].s.p))
			continue;
		len = v[i].s.len;
		memcpy(o, v[i].s.p, len);
		o[len] = '\0';
		v[i].s.p = (const char *)o;
		o += ALIGNED(len + 1);
	}
#undef IN_TBUF
#undef ALIGNED
	w->p += need;
	return 0;
}

/*
 * fast_segment()'s segment s, to be kept, with release characters in
 * its values (at the value window): those values unescaped straight into
 * the window after the values, each where fast_slot_text() would have
 * copied it from tbuf (NUL, ARENA_ALIGN), so that the arena counts the
 * same bytes, without the copy.  0, or -1 with nothing kept when the
 * window may not have the room (the text's length bounds each value's)
 * or the set is at its size limit: tbuf and fast_slot_text() decide.
 */
static int __attribute__((noinline))
fast_slot_unesc(struct ef *x, struct edi_seg *s, struct setbuf_vwin *w,
    size_t end)
{
	struct edi_val *v = s->val;
	const char *p = s->raw.p + 4, *e = s->raw.p + s->raw.len, *r, *vp, *ve;
	const int swar = x->cls[(unsigned char)x->d.release] == C_RC;
	char	*o, *start;
	size_t	 vneed, len;
	uint16_t i, n = s->nval;

#define ALIGNED(k)	(((k) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
	vneed = ALIGNED(n * sizeof(*v));
	/* each value's text, NUL and padding; eight for the wide stores */
	if (vneed + (size_t)(e - p) + n * (size_t)ARENA_ALIGN + 8 >
	    (size_t)(w->end - w->p) || setbuf_add_slot(&x->sb, s, end) == NULL)
		return -1;
	o = (char *)w->p + vneed;
	r = memchr(p, x->d.release, (size_t)(e - p));
	for (i = 0; i < n && r != NULL; i++) {
		vp = v[i].s.p;
		ve = vp + v[i].s.len;
		if (ve <= r)
			continue;
		start = o;
		o = unescape_to(x, vp, ve, start, swar);
		len = (size_t)(o - start);
		start[len] = '\0';
		v[i].s = slice_make(start, len);
		o = start + ALIGNED(len + 1);
		r = memchr(ve, x->d.release, (size_t)(e - ve));
	}
#undef ALIGNED
	w->p = (unsigned char *)o;
	return 0;
}

/*
 * fast_slot_latin1()'s look at 16 bytes at p, of which those in keep
 * count: their bytes 0x80..0xFF OR-ed into *hm at bit sh, and their '"'
 * and '\\' into *jq; the answer has a bit for each byte below 0x20 or
 * in 0x7F..0x9F.
 */
static inline unsigned
latin1_bits(const struct ef *x, const unsigned char *p, unsigned keep,
    uint64_t *hm, size_t sh, unsigned *jq)
{
	const __m128i c1f = _mm_set1_epi8(0x1f), c7f = _mm_set1_epi8(0x7f),
	    c20 = _mm_set1_epi8(0x20);
	__m128i	 b, t;

	b = _mm_loadu_si128((const __m128i *)(const void *)p);
	t = _mm_sub_epi8(b, c7f);
	*hm |= (uint64_t)((unsigned)_mm_movemask_epi8(b) & keep) << sh;
	*jq |= (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b,
	    x->sp.jq), _mm_cmpeq_epi8(b, x->sp.jb))) & keep;
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b,
	    _mm_min_epu8(b, c1f)), _mm_cmpeq_epi8(t, _mm_min_epu8(t, c20)))) &
	    keep;
}

/*
 * fast_segment()'s segment s, to be kept, under UNOC (ISO 8859-1), with
 * bytes for the character set step (flags 0: nothing else to report or
 * unescape): values with bytes 0xA0..0xFF converted to UTF-8 straight
 * into the value window after the values, each where fast_slot_text()
 * would have copied it from tbuf (NUL, ARENA_ALIGN).  charset_values()
 * would convert the same values and say nothing.  0, or -1 with nothing
 * changed when it would say something (a control character, 0x7F..0x9F,
 * text that is UTF-8 already), when the window may not have the room
 * (twice the text bounds the converted values) or at the set's size
 * limit: the general steps decide.
 */
static int __attribute__((noinline))
fast_slot_latin1(struct ef *x, struct edi_seg *s, struct setbuf_vwin *w,
    size_t end)
{
	const unsigned char *lim = (const unsigned char *)x->in.p + x->in.len;
	const unsigned char *r = (const unsigned char *)s->raw.p, *p, *e;
	struct edi_val *v = s->val;
	unsigned char *o, *start;
	uint64_t hm[4], hv[4];
	size_t	 vneed, k, len = s->raw.len;
	unsigned bad = 0, jq = 0;
	uint16_t i, n = s->nval;

#define ALIGNED(k)	(((k) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
	/*
	 * The segment's text 16 bytes at a time, loads within the blocks
	 * scan_plain() read: a byte below 0x20 or in 0x7F..0x9F, value or
	 * separator, is for the general steps (charset_values() reports
	 * one in a value); hm: where the bytes 0xA0..0xFF are.
	 */
	if (n == 0 || len > 256 ||
	    (size_t)(lim - r) < ((len + 15) & ~(size_t)15))
		return -1;
	memset(hm, 0, sizeof(hm));
	for (k = 0; k + 16 <= len; k += 16)
		bad |= latin1_bits(x, r + k, 0xffff, &hm[k >> 6], k & 63,
		    &jq);
	if (k < len)
		bad |= latin1_bits(x, r + k, (1U << (len - k)) - 1,
		    &hm[k >> 6], k & 63, &jq);
	if (bad != 0)
		return -1;
	/*
	 * hv: the values with such a byte, found from each high byte in
	 * turn (the values are in order).  A value that is UTF-8 already
	 * is kept as UTF-8 with a warning: the general steps.  The ASCII
	 * before its first high byte is UTF-8 either way.
	 */
	memset(hv, 0, sizeof(hv));
	i = 0;
	for (k = 0; k < 4; k++)
		for (; hm[k] != 0; hm[k] &= hm[k] - 1) {
			p = r + k * 64 + (size_t)__builtin_ctzll(hm[k]);
			while (i < n && v[i].s.p + v[i].s.len <= (const char *)p)
				i++;
			/* a separator's: the general steps */
			if (i == n || (const char *)p < v[i].s.p)
				return -1;
			if (hv[i >> 6] >> (i & 63) & 1)
				continue;
			e = (const unsigned char *)v[i].s.p + v[i].s.len;
			if (utf8_text(slice_make((const char *)p,
			    (size_t)(e - p))))
				return -1;
			hv[i >> 6] |= (uint64_t)1 << (i & 63);
		}
	vneed = ALIGNED(n * sizeof(*v));
	if (vneed + 2 * s->raw.len + n * (size_t)ARENA_ALIGN >
	    (size_t)(w->end - w->p) || setbuf_add_slot(&x->sb, s, end) == NULL)
		return -1;
	o = w->p + vneed;
	for (k = 0; k < 4; k++)
		for (; hv[k] != 0; hv[k] &= hv[k] - 1) {
			i = (uint16_t)(k * 64 +
			    (size_t)__builtin_ctzll(hv[k]));
			p = (const unsigned char *)v[i].s.p;
			e = p + v[i].s.len;
			start = o;
			for (; p < e; p++) {
				if (*p < 0x80)
					*o++ = *p;
				else {
					*o++ = (unsigned char)(0xC0 |
					    (*p >> 6));
					*o++ = (unsigned char)(0x80 |
					    (*p & 0x3F));
				}
			}
			*o = '\0';
			v[i].s = slice_make((const char *)start,
			    (size_t)(o - start));
			o = start + ALIGNED(v[i].s.len + 1);
		}
#undef ALIGNED
	w->p = o;
	/* a value left in the input may hold a byte JSON escapes */
	if (jq != 0)
		x->mplain = 0;
	return 0;
}

/*
 * fast_segment()'s segment with nothing to report under UNOA: every
 * byte of its text a UNOA character or a delimiter, so that
 * seg_charset() would find nothing to say (raw_plain()) and on_tokens()
 * would only append it.  Out of line: UNOC, UNOB and the others never
 * call it.
 */
static int __attribute__((noinline))
unoa_plain(const struct ef *x, struct slice raw)
{
	const unsigned char *p = (const unsigned char *)raw.p;
	const unsigned char *e = p + raw.len;
	const unsigned char *ok = x->csok;
	unsigned all = 1;

	/* csok[] is 0 or 1: four bytes a step, no branch per byte */
	for (; e - p >= 4; p += 4)
		all &= ok[p[0]] & ok[p[1]] & ok[p[2]] & ok[p[3]];
	for (; p < e; p++)
		all &= ok[*p];
	return (int)all;
}

/* The value window's room for a segment's EG_MAX_SEG_VALUES values. */
#define VW_NEED		(EG_MAX_SEG_VALUES * sizeof(struct edi_val))

/*
 * fast_segment()'s value window, with room for a whole segment's values
 * (VW_NEED) at w->p, noted in x->vwfull: 1, or 0 when it has not (only
 * near the end of the arena's chunk or at its cap), for the general
 * steps, which claim the values where they fit.
 */
static inline __attribute__((always_inline)) int
fast_vwopen(struct ef *x, struct setbuf_vwin *w)
{
	size_t	 cap;

	if (setbuf_vwroom(&x->sar, w, EG_MAX_SEG_VALUES, &cap) == NULL ||
	    cap < EG_MAX_SEG_VALUES)
		return 0;
	x->vwfull = (uintptr_t)w->end - VW_NEED + 1;
	return 1;
}

/*
 * The segment at pos through scan_plain(): the terminator's offset, or
 * SCAN_NO for on_segment().  A segment of the open message other than
 * the service segments (whose handlers may reset the set's arena) is
 * split straight into its setbuf slot and the arena's free space (w,
 * fast_run()'s value window, closed before anything else may allocate
 * there); fast_other() takes the others.  direct: fast_run() found the
 * message open and the tag no service segment's.  fast_run() calls it
 * with 32 bytes from pos in the input.
 */
static inline __attribute__((always_inline)) size_t
fast_segment(struct ef *x, const char *in, size_t len, size_t pos,
    struct setbuf_vwin *w, int direct, uint32_t *fpp, const int avx2)
{
	struct edi_seg *seg;
	struct edi_val *out, *oend;
	size_t	 end;
	int	 flags;

	/* pos < last, fast_run()'s loop: scan_plain() may load 32 bytes */
	/*
	 * The window's room for a whole segment is known from its opening
	 * (x->vwfull): one compare per segment, and scan_plain()'s cap a
	 * constant.  Less room, near a chunk's end: the general steps.
	 */
	if (!direct || ((uintptr_t)w->p - 1 >= x->vwfull &&
	    !fast_vwopen(x, w)) || (seg = setbuf_slot(&x->sb)) == NULL)
		return fast_other(x, pos, w, fpp, avx2);
	out = (struct edi_val *)(void *)w->p;
	/* x->tlen: set below, before anything may use tbuf */
	/* SCAN_ROOM and SCAN_NO are the two largest: one compare */
	if ((end = scan_plain(x, in, len, pos, seg, out, EG_MAX_SEG_VALUES,
	    &flags, &oend, avx2)) >= SCAN_ROOM)
		return end == SCAN_ROOM ? fast_other(x, pos, w, fpp, avx2) :
		    SCAN_NO;
	/* x->filepos: fast_run()'s *fpp, stored before any other step */
	seg->filepos = ++*fpp;
	/* setpos: whatever keeps the slot sets it (setbuf_add*()) */
	seg->raw = slice_make(in + pos, end - pos);
	seg->loop = NULL;
	/*
	 * Nothing to report, no character to check, nothing unescaped
	 * (nearly every segment): what set_append_slot() would do, without
	 * a claim per segment.  The segment ends at input offset end (in is
	 * x->in.p).
	 */
	if (flags == TF_CSPLAIN && (x->cs != CS_A ||
	    unoa_plain(x, seg->raw))) {
		if (setbuf_add_slot(&x->sb, seg, end) != NULL) {
			seg->val = setbuf_vwtake_end(w, oend);
			return end;
		}
		seg->val = out;
		x->filepos = *fpp;
		x->tlen = 0;
		fast_slot_rest(x, seg, flags, w);
		return end;
	}
	seg->val = out;
	x->filepos = *fpp;
	x->tlen = 0;
	if (flags & TF_REL) {
		if (flags == (TF_CSPLAIN | TF_REL) && x->cs != CS_A &&
		    fast_slot_unesc(x, seg, w, end) == 0)
			return end;
		unescape_vals(x, seg->val, seg->nval, in + pos + 4, in + end);
		flags &= ~TF_REL;
	} else if (flags == 0 && x->cs == CS_LATIN1 &&
	    fast_slot_latin1(x, seg, w, end) == 0)
		return end;
	/* the same with a value that has no byte to check; unescaped ones */
	if (!(flags & TF_TRAILING) && ((flags & TF_CSPLAIN) ?
	    x->cs != CS_A : seg->nval == 0)) {
		if (x->tlen == 0) {
			if (setbuf_add_slot(&x->sb, seg, end) != NULL) {
				seg->val = setbuf_vwtake(w, seg->nval);
				return end;
			}
		} else if (fast_slot_text(x, seg, w) == 0)
			return end;
	}
	fast_slot_rest(x, seg, flags, w);
	return end;
}

/*
 * The UNT at pos of the open message (ES_MSG), nothing to report and no
 * character to check: split straight into its setbuf slot and the value
 * window as fast_segment() splits the others, kept as set_append() would
 * keep it (within the set's limits force changes nothing), then
 * unt_close() as on_unt() would.  Anything else: fast_other().  Out of
 * line, once per message.
 */
static inline __attribute__((always_inline)) size_t
fast_unt_body(struct ef *x, size_t pos, struct setbuf_vwin *w,
    uint32_t *fpp, const int avx2)
{
	struct edi_seg *seg;
	struct edi_val *oend;
	size_t	 end;
	int	 flags;

	if (x->cs == CS_A || ((uintptr_t)w->p - 1 >= x->vwfull &&
	    !fast_vwopen(x, w)) || (seg = setbuf_slot(&x->sb)) == NULL ||
	    (end = scan_plain(x, x->in.p, x->in.len, pos, seg,
	    (struct edi_val *)(void *)w->p, EG_MAX_SEG_VALUES, &flags,
	    &oend, avx2)) >= SCAN_ROOM || flags != TF_CSPLAIN ||
	    setbuf_add_slot(&x->sb, seg, end) == NULL)
		return fast_other(x, pos, w, fpp, avx2);
	seg->filepos = ++*fpp;
	seg->raw = slice_make(x->in.p + pos, end - pos);
	seg->loop = NULL;
	seg->val = setbuf_vwtake_end(w, oend);
	/* the set's handler allocates from the arena, which is then reset */
	setbuf_vwclose(&x->sar, w);
	x->filepos = *fpp;
	unt_close(x, seg);
	*fpp = x->filepos;
	return x->stop != 0 ? SCAN_NO : end;
}

static size_t __attribute__((noinline))
fast_unt_sse2(struct ef *x, size_t pos, struct setbuf_vwin *w, uint32_t *fpp)
{
	return fast_unt_body(x, pos, w, fpp, 0);
}

#ifdef EF_AVX2
static size_t __attribute__((noinline, target("avx2,bmi,bmi2")))
fast_unt_avx2(struct ef *x, size_t pos, struct setbuf_vwin *w, uint32_t *fpp)
{
	return fast_unt_body(x, pos, w, fpp, 1);
}
#endif

/*
 * edifact_parse()'s loop for as long as fast_segment() takes the
 * segments: the position of the first one it does not take (or of a UNA,
 * or of the UNB after a closed interchange), for the loop's own steps.
 * Whether a message is open changes only in the service segments'
 * handlers (fast_other()), so it is asked again after those only.
 */
static inline __attribute__((always_inline)) size_t
fast_run(struct ef *x, const char *in, size_t len, size_t pos,
    const int avx2)
{
	struct setbuf_vwin w = { NULL, NULL, NULL };
	size_t	 end, last;
	uint32_t fp = x->filepos;	/* x->filepos, kept in a register */
	int	 inmsg, direct;

	/* from here on fewer than 32 bytes are left: len - pos < 32 */
	last = len < 32 ? 0 : len - 31;
	inmsg = x->state == ES_MSG || x->state == ES_BARE;
	/*
	 * x->stop is 0 here; fast_other() answers SCAN_NO once it is not.
	 * The last 31 bytes, and white space before them, are the caller's.
	 */
	while (pos < last) {
		if ((unsigned char)in[pos] <= ' ' &&
		    (pos = skip_ws(slice_make(in, len), pos, &x->d)) >= last)
			break;
		direct = inmsg;
		if (in[pos] == 'U') {
			if (at_tag(slice_make(in, len), pos, "UNA") || x->stale)
				break;
			/* env_tag() reads three bytes */
			if (len - pos >= 3 && env_tag(in + pos))
				direct = 0;
		}
		if (!direct && in[pos + 2] == 'T' && x->state == ES_MSG) {
#ifdef EF_AVX2
			if (avx2)
				end = fast_unt_avx2(x, pos, &w, &fp);
			else
#endif
				end = fast_unt_sse2(x, pos, &w, &fp);
			if (end == SCAN_NO)
				break;
		} else if ((end = fast_segment(x, in, len, pos, &w, direct,
		    &fp, avx2)) == SCAN_NO)
			break;
		if (!direct) {
			inmsg = x->state == ES_MSG || x->state == ES_BARE;
			if (x->skipto != 0) {	/* a message taken */
				end = x->skipto - 1;
				x->skipto = 0;
			}
		}
		pos = end + 1;
	}
	setbuf_vwclose(&x->sar, &w);
	x->filepos = fp;
	return pos;
}

/*
 * fast_run() compiled twice, with everything it calls inlined: for any
 * SSE2 machine, and for one with AVX2, BMI1 and BMI2 (classify_avx2();
 * the three checked together).  The functions it must not take along
 * are noinline.
 */
static size_t __attribute__((flatten))
fast_run_sse2(struct ef *x, const char *in, size_t len, size_t pos)
{
	return fast_run(x, in, len, pos, 0);
}

#ifdef EF_AVX2
static size_t __attribute__((flatten, target("avx2,bmi,bmi2")))
fast_run_avx2(struct ef *x, const char *in, size_t len, size_t pos)
{
	return fast_run(x, in, len, pos, 1);
}
#endif
#endif

static void
ef_free(struct ef *x)
{
	snap_let_go(x);
	arena_free(&x->iar);
	arena_free(&x->gar);
	arena_free(&x->sar);
	refset_free(&x->icctl);
	refset_free(&x->msgctl);
	refset_free(&x->grpctl);
	if (x->cd != (iconv_t)-1)
		iconv_close(x->cd);
	free(x->tbuf);
	setbuf_free(&x->sb);
	free(x);
}

static void
on_una(struct ef *x, size_t pos)
{
	const char *why;
	char	 b[16];

	x->filepos++;
	if (una_read(x->in, pos, &x->d, &x->una_rep, &why) != 0) {
		ediag(x, ED(DIAG_ERROR, x->state == ES_OUT ? DIAG_SCOPE_FILE :
		    DIAG_SCOPE_INTERCHANGE, "EDI-UNA", x->filepos, "UNA",
		    .ack_seg = 20), "unusable service string advice \"%s\": "
		    "%s; the default delimiters are used",
		    slice_show(slice_make(x->in.p + pos, x->in.len - pos < 9 ?
		    x->in.len - pos : 9), b, sizeof(b)), why);
		default_delims(&x->d);
		x->una_rep = 0;
	}
	x->d.repetition = 0;
	x->have_una = 1;
	x->stale = 0;
	build_classes(x);
}

/* Read x->in from pos, to its end or until a handler stops. */
static void
parse_loop(struct ef *x, size_t pos)
{
	struct slice in = x->in;
	size_t	 end, len = in.len;

	while (pos < len && x->stop == 0) {
#ifdef __SSE2__
		/* the common segments; the loop below takes the others */
#ifdef EF_AVX2
		if (x->avx2)
			pos = fast_run_avx2(x, in.p, len, pos);
		else
#endif
			pos = fast_run_sse2(x, in.p, len, pos);
		if (pos >= len || x->stop != 0)
			break;
#endif
		/* every byte skip_ws() skips is <= ' ' */
		if ((unsigned char)in.p[pos] <= ' ')
			pos = skip_ws(in, pos, &x->d);
		if (pos >= len)
			break;
		if (in.p[pos] == 'U' && at_tag(in, pos, "UNA")) {
			on_una(x, pos);
			pos += 9;
			continue;
		}
		if (in.p[pos] == 'U' && x->stale && at_tag(in, pos, "UNB") &&
		    unb_defaults(in, pos, &x->d)) {
			default_delims(&x->d);
			build_classes(x);
		}
		end = seg_end(in, pos, x->d.segment, x->d.release);
		x->filepos++;
		if (end > pos)
			on_segment(x, slice_make(in.p + pos, end - pos));
		else
			x->filepos--;	/* an empty segment: nothing */
		pos = end + 1;
		if (x->skipto != 0) {	/* a message taken */
			pos = x->skipto;
			x->skipto = 0;
		}
	}
}

static int
edifact_parse(struct slice in, const char *filename,
    const struct edi_handler *h, void *arg)
{
	struct ef *x;
	size_t	 pos;
	int	 rc;

	x = xcalloc(1, sizeof(*x));
	x->in = in;
	x->filename = filename;
	x->h = h;
	x->arg = arg;
	x->ds = h->diags;
	x->cd = (iconv_t)-1;
	arena_init(&x->iar, EG_MAX_ENV_ARENA);
	arena_init(&x->gar, EG_MAX_ENV_ARENA);
	arena_init(&x->sar, EG_MAX_SET_ARENA);
	default_delims(&x->d);
	build_classes(x);

	if (in.len == 0 || in.p == NULL) {
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_FILE, "EDI-EMPTY"),
		    "the input is empty");
		rc = EG_ERR_SYNTAX;
		goto out;
	}
	if (in.len > EG_MAX_DOC_SIZE) {
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_FILE, "EDI-TOO-BIG"),
		    "the input (%zu bytes) exceeds EG_MAX_DOC_SIZE (%llu)",
		    in.len, (unsigned long long)EG_MAX_DOC_SIZE);
		rc = EG_ERR_LIMIT;
		goto out;
	}
	pos = skip_bom_ws(in);
	if (!at_tag(in, pos, "UNA") && !at_tag(in, pos, "UNB") &&
	    !at_tag(in, pos, "UNH")) {
		ediag(x, ED(DIAG_ERROR, DIAG_SCOPE_FILE, "EDI-NOT-EDI"),
		    "the input does not start with an EDIFACT UNA, UNB or "
		    "UNH segment");
		rc = EG_ERR_SYNTAX;
		goto out;
	}
	x->tcap = 4 * (size_t)EG_MAX_SEGMENT_LEN + 64;
	x->tbuf = xmalloc(x->tcap);
#ifdef EF_AVX2
	x->avx2 = edi_avx2();
#endif
	parse_loop(x, pos);
	if (x->stop == 0)
		close_to(x, ES_OUT, x->filepos);
	rc = x->stop;
 out:
	ef_free(x);
	return rc;
}

int
edifact_unb_peek(struct slice in, struct edifact_unb *out)
{
	struct ef *x;
	struct edi_seg seg;
	const struct slice *v;
	static const struct { int el, comp; size_t off; } f[] = {
		{ 2, 1, offsetof(struct edifact_unb, sender_id) },
		{ 2, 2, offsetof(struct edifact_unb, sender_qual) },
		{ 3, 1, offsetof(struct edifact_unb, recipient_id) },
		{ 3, 2, offsetof(struct edifact_unb, recipient_qual) },
		{ 5, 1, offsetof(struct edifact_unb, control) },
	};
	const char *why;
	size_t	 pos, end, i;
	int	 rc = EG_ERR_SYNTAX;

	memset(out, 0, sizeof(*out));
	if (in.p == NULL || in.len == 0 || in.len > EG_MAX_DOC_SIZE)
		return rc;
	x = xcalloc(1, sizeof(*x));
	x->in = in;
	x->cd = (iconv_t)-1;
	x->tcap = 4 * (size_t)EG_MAX_SEGMENT_LEN + 64;
	x->tbuf = xmalloc(x->tcap);
	default_delims(&x->d);
	pos = skip_bom_ws(in);
	if (at_tag(in, pos, "UNA")) {
		(void)una_read(in, pos, &x->d, &x->una_rep, &why);
		pos = skip_ws(in, pos + 9, &x->d);
	}
	build_classes(x);
	if (at_tag(in, pos, "UNB")) {
		end = seg_end(in, pos, x->d.segment, x->d.release);
		if (end - pos <= EG_MAX_SEGMENT_LEN) {
			memset(&seg, 0, sizeof(seg));
			(void)tokenize(x, slice_make(in.p + pos, end - pos),
			    &seg);
			for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
				struct slice t;

				v = edi_value(&seg, f[i].el, f[i].comp, 1);
				t = slice_trim(v ? *v : slice_make("", 0));
				snprintf((char *)out + f[i].off,
				    EDIFACT_UNB_FIELD, "%.*s",
				    (int)(t.len < EDIFACT_UNB_FIELD - 1 ?
				    t.len : EDIFACT_UNB_FIELD - 1),
				    t.p ? t.p : "");
			}
			rc = 0;
		}
	}
	free(x->tbuf);
	free(x);
	return rc;
}

int
edifact_unb_sender(struct slice in, char *id, size_t idlen, char *qual,
    size_t quallen)
{
	struct edifact_unb u;
	int	 rc;

	rc = edifact_unb_peek(in, &u);
	if (idlen)
		snprintf(id, idlen, "%s", u.sender_id);
	if (quallen)
		snprintf(qual, quallen, "%s", u.sender_qual);
	return rc;
}

const struct translator translator_edifact = {
	.name = "edifact",
	.sniff = edifact_sniff,
	.parse = edifact_parse,
	.msg_parse = edifact_msg_parse,
	.wk_free = edifact_wk_free,
};
