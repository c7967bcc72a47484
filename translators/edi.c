/*
 * edi.c: reading values out of the syntax-neutral set model (edi.h), the
 * date/time checks every parser and the validator share, and the
 * tokenizers' choice of loop.  Owns nothing:
 * values live in the set's arena or in the input bytes.
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edi.h"

/* x86 compilers that take target("avx2,bmi,bmi2"): edi_set_scan's loop */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define EDI_SCAN_AVX2	1
#include <immintrin.h>
#endif

const struct slice *
edi_value(const struct edi_seg *seg, int el, int comp, int rep)
{
	const struct edi_val *v;
	uint16_t i;

	if (seg == NULL || el <= 0)
		return NULL;
	if (comp <= 0)
		comp = 1;
	if (rep <= 0)
		rep = 1;
	for (i = 0; i < seg->nval; i++) {
		v = &seg->val[i];
		if (v->el < el)
			continue;
		if (v->el > el)
			break;
		if (v->rep == rep && v->comp == comp)
			return v->s.len ? &v->s : NULL;
	}
	return NULL;
}

int
edi_nrep(const struct edi_seg *seg, int el)
{
	uint16_t i;
	int	 n = 0;

	if (seg == NULL || el <= 0)
		return 0;
	for (i = 0; i < seg->nval; i++) {
		if (seg->val[i].el < el)
			continue;
		if (seg->val[i].el > el)
			break;
		if (seg->val[i].rep > n)
			n = seg->val[i].rep;
	}
	return n;
}

static int
digits(const char *p, size_t n, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 1;
}

int
edi_valid_date(struct slice s, int allow_short)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 y, m, d, off;

	if (s.len == 8)
		off = 4;
	else if (s.len == 6 && allow_short)
		off = 2;
	else
		return 0;
	if (!digits(s.p, off, &y) || !digits(s.p + off, 2, &m) ||
	    !digits(s.p + off + 2, 2, &d))
		return 0;
	if (off == 2)
		y += y < 50 ? 2000 : 1900;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

int
edi_valid_time(struct slice s)
{
	int	 h, m, sec, dummy;

	if (s.len != 4 && (s.len < 6 || s.len > 8))
		return 0;
	if (!digits(s.p, 2, &h) || !digits(s.p + 2, 2, &m) || h > 23 ||
	    m > 59)
		return 0;
	if (s.len >= 6 && (!digits(s.p + 4, 2, &sec) || sec > 59))
		return 0;
	if (s.len > 6 && !digits(s.p + 6, s.len - 6, &dummy))
		return 0;
	return 1;
}

int
edi_avx2(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	const char *e = getenv("EDIGATE_SIMD");

	if (e != NULL && strcmp(e, "sse2") == 0)
		return 0;
	return __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
	return 0;
#endif
}

/*
 * A byte edi_set_scan found that JSON escapes or that is not ASCII, at
 * p[i] of n: 1 when no value holds it.  The delimiters never lie in an X12
 * value (the component separator included: every element is split), nor
 * does the line break the parser skips after a terminator: "~\n", "~\r",
 * "~\r\n", and with a terminator of '\n' the CR before it.  Anything else
 * (a tab, blank lines, a comment line) makes the set not plain: each
 * value then is looked at alone, as in any set.
 */
static int
scan_excused(const unsigned char *p, size_t i, size_t n,
    const struct edi_delims *d)
{
	const unsigned char c = p[i], st = (unsigned char)d->segment;

	if (c == (unsigned char)d->element ||
	    c == (unsigned char)d->component || c == st)
		return 1;
	if (c == '\r' && st == '\n' && i + 1 < n && p[i + 1] == '\n')
		return 1;
	if (c != '\r' && c != '\n')
		return 0;
	if (i > 0 && p[i - 1] == st)
		return 1;
	return c == '\n' && i > 1 && p[i - 1] == '\r' && p[i - 2] == st;
}

#ifdef EDI_SCAN_AVX2
static inline __attribute__((target("avx2,bmi,bmi2"), always_inline)) __m256i
scan_bad(__m256i v)
{
	/* signed: below 0x20 holds the controls and 0x80..0xff */
	return _mm256_or_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v),
	    _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
	    _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))));
}

/*
 * First whether any byte at all is one scan_excused must judge, 64 bytes
 * a step with the last ones overlapping those before (n >= 32): in most
 * sets none is.  Only then, each such byte where it is.
 */
static __attribute__((target("avx2,bmi,bmi2"))) unsigned
scan_avx2(const unsigned char *p, size_t n, const struct edi_delims *d,
    char rs)
{
	const __m256i r = _mm256_set1_epi8(rs);
	__m256i	 a, b, bad = _mm256_setzero_si256(), hit = bad;
	unsigned m, res = 0, k;
	size_t	 i, at;

	for (i = 0; i + 64 <= n; i += 64) {
		a = _mm256_loadu_si256((const void *)(p + i));
		b = _mm256_loadu_si256((const void *)(p + i + 32));
		bad = _mm256_or_si256(bad, _mm256_or_si256(scan_bad(a),
		    scan_bad(b)));
		hit = _mm256_or_si256(hit, _mm256_or_si256(
		    _mm256_cmpeq_epi8(a, r), _mm256_cmpeq_epi8(b, r)));
	}
	for (; i < n; i += 32) {
		at = i + 32 <= n ? i : n - 32;
		a = _mm256_loadu_si256((const void *)(p + at));
		bad = _mm256_or_si256(bad, scan_bad(a));
		hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(a, r));
	}
	if (rs != 0 && !_mm256_testz_si256(hit, hit))
		res |= EDI_SCAN_RS;
	if (_mm256_testz_si256(bad, bad))
		return res | EDI_SCAN_PLAIN;
	for (i = 0; i < n; i += 32) {
		at = i + 32 <= n ? i : n - 32;
		a = _mm256_loadu_si256((const void *)(p + at));
		m = (unsigned)_mm256_movemask_epi8(scan_bad(a));
		for (; m != 0; m &= m - 1) {
			k = (unsigned)__builtin_ctz(m);
			if (!scan_excused(p, at + k, n, d))
				return res;
		}
	}
	return res | EDI_SCAN_PLAIN;
}

/*
 * scan_avx2 in one pass of one question per byte, when rs is 0, or
 * printable and its low four bits are not those of '"' or '\\': a
 * table lookup by those bits (vpshufb) then finds '"', '\\' and rs in one
 * compare, and the signed minimum of all bytes whether any is a control
 * or above 0x7f.  Most sets have none of these: plain, without rs.
 * Otherwise each such byte is looked at where it is, an rs noted, the
 * others judged as scan_avx2 judges them; at the first that is not
 * excused, whether rs is in the rest decides.
 */
static __attribute__((target("avx2,bmi,bmi2"))) unsigned
scan_avx2_one(const unsigned char *p, size_t n, const struct edi_delims *d,
    unsigned char rs)
{
	/* 0x80 | k matches no byte: those above 0x7f look up 0 */
	static const unsigned char t0[16] = { 0x80, 0x81, '"', 0x83, 0x84,
	    0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, '\\', 0x8d, 0x8e,
	    0x8f };
	const __m256i sp = _mm256_set1_epi8(0x20);
	__m256i	 tab, a, b, mn, acc = _mm256_setzero_si256();
	unsigned char t[16];
	unsigned m, res = 0, k;
	size_t	 i, at, done;

	memcpy(t, t0, sizeof(t));
	if (rs != 0)
		t[rs & 15] = rs;
	tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)t));
#define SCAN_HIT(v)	_mm256_cmpeq_epi8(_mm256_shuffle_epi8(tab, (v)), (v))
#define SCAN_ONE(v)	_mm256_or_si256(_mm256_cmpgt_epi8(sp, (v)), SCAN_HIT(v))
	/* a control or a byte above 0x7f: the signed minimum below 0x20 */
	mn = _mm256_set1_epi8(0x7f);
	for (i = 0; i + 64 <= n; i += 64) {
		a = _mm256_loadu_si256((const void *)(p + i));
		b = _mm256_loadu_si256((const void *)(p + i + 32));
		mn = _mm256_min_epi8(mn, _mm256_min_epi8(a, b));
		acc = _mm256_or_si256(acc, _mm256_or_si256(SCAN_HIT(a),
		    SCAN_HIT(b)));
	}
	for (; i < n; i += 32) {
		at = i + 32 <= n ? i : n - 32;
		a = _mm256_loadu_si256((const void *)(p + at));
		mn = _mm256_min_epi8(mn, a);
		acc = _mm256_or_si256(acc, SCAN_HIT(a));
	}
	acc = _mm256_or_si256(acc, _mm256_cmpgt_epi8(sp, mn));
	if (_mm256_testz_si256(acc, acc))
		return EDI_SCAN_PLAIN;
	for (i = 0, done = 0; i < n; i += 32) {
		at = i + 32 <= n ? i : n - 32;
		a = _mm256_loadu_si256((const void *)(p + at));
		m = (unsigned)_mm256_movemask_epi8(SCAN_ONE(a));
		/* the last step overlaps bytes already looked at */
		m &= ~0U << (done - at);
		for (; m != 0; m &= m - 1) {
			k = (unsigned)__builtin_ctz(m);
			if (rs != 0 && p[at + k] == rs) {
				res |= EDI_SCAN_RS;
				continue;
			}
			if (scan_excused(p, at + k, n, d))
				continue;
			if (!(res & EDI_SCAN_RS) && rs != 0 &&
			    memchr(p + at + k, rs, n - at - k) != NULL)
				res |= EDI_SCAN_RS;
			return res;
		}
		done = at + 32;
	}
#undef SCAN_ONE
#undef SCAN_HIT
	return res | EDI_SCAN_PLAIN;
}
#endif

unsigned
edi_set_scan(struct slice raw, const struct edi_delims *d, char rs)
{
#ifdef EDI_SCAN_AVX2
	/* 0 not asked yet, 1 without AVX2, 2 with */
	static _Atomic int avx2;
	int	 a;

	if ((a = atomic_load_explicit(&avx2, memory_order_relaxed)) == 0) {
		a = edi_avx2() ? 2 : 1;
		atomic_store_explicit(&avx2, a, memory_order_relaxed);
	}
	if (a == 2 && raw.len >= 32) {
		if (rs == 0 || ((unsigned char)rs > 0x20 &&
		    (unsigned char)rs < 0x80 && rs != '"' && rs != '\\' &&
		    (rs & 15) != ('"' & 15) && (rs & 15) != ('\\' & 15)))
			return scan_avx2_one((const unsigned char *)raw.p,
			    raw.len, d, (unsigned char)rs);
		return scan_avx2((const unsigned char *)raw.p, raw.len, d, rs);
	}
#endif
	return rs != 0 && raw.len > 0 && memchr(raw.p, rs, raw.len) != NULL ?
	    EDI_SCAN_RS : 0;
}
