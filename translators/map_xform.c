/*
 * map_xform.c: the inbound side of the transforms of the map language
 * (MAPS.md §3.6) and the exact decimal arithmetic the engine needs
 * (canonical text, comparison, sums).  Decimals never pass through a
 * binary float: they are digit strings from end to end.
 *
 * A transform reads one value and writes its result into scratch memory
 * from the set's arena; it never allocates from the heap and never emits
 * diagnostics itself (it reports an outcome; the evaluator words it).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "map_int.h"

#ifdef __GNUC__
#define XF_NOINLINE	__attribute__((noinline))
#else
#define XF_NOINLINE
#endif

/*
 * A transform map_xform_apply ends in with a tail call: it takes the same
 * arguments, in the same order, and keeps them (no interprocedural
 * change of its parameters), so that no path of map_xform_apply moves
 * them between registers first.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define XF_TAIL	__attribute__((noipa))
#else
#define XF_TAIL	XF_NOINLINE
#endif

/*
 * Hides x's value from the compiler, so that tests of it after this stay
 * tests: gcc would otherwise join them with the ones before into a jump
 * table, which costs more than the two or three tests that decide nearly
 * every transform (map_xform_apply).
 */
#ifdef __GNUC__
#define XF_OPAQUE(x)	__asm__("" : "+r"(x))
#else
#define XF_OPAQUE(x)	((void)0)
#endif

static int
isdig(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * Words of 8 bytes, for digit strings (dates, GS1 keys, decimals).  Every
 * helper reads bytes through memcpy (no alignment, no aliasing) and is
 * correct for either byte order: a test of every byte does not depend on
 * their order, and what does (positions, lanes) is under W_LE.
 */
#define W_ONES	0x0101010101010101ull
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define W_LE	1		/* a word's first byte is its lowest */
#endif
#define W_HIGH	0x8080808080808080ull
#define W_LANE	0x00ff00ff00ff00ffull	/* the low byte of each 16-bit lane */
#define W_LANES	0x0001000100010001ull

static inline uint64_t
w_load(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * The high bit of each byte of x = w ^ '0' (in every byte) whose byte of
 * w is not an ASCII digit: exactly the bytes of x that are not 0-9.  A
 * byte of 0x80 or more keeps its high bit, and any other of 10 or more is
 * lifted to 0x80 or more by adding 0x76; a carry crosses only out of a
 * byte of 0x8a or more, which is marked itself.  Unlike w - '0', x has no
 * borrow: a '.' leaves the digit after it alone.  A marked byte in x
 * stays marked, so d_nondigit(x1 | d_nondigit(x2)) tests two words.
 */
static inline uint64_t
d_nondigit(uint64_t x)
{
	return (x | (x + W_ONES * 0x76)) & W_HIGH;
}

/* Each byte of w that is an ASCII digit, as its value 0-9. */
static inline uint64_t
w_digits(uint64_t w)
{
	return w ^ W_ONES * '0';
}

/*
 * The high bit of each byte of w that is not an ASCII digit (and maybe of
 * the byte after one of 0x8a or more): nonzero unless all 8 are digits.
 */
static inline uint64_t
w_nondigit(uint64_t w)
{
	return d_nondigit(w_digits(w));
}

#ifdef W_LE
/*
 * arena_alloc_raw(a, n) for n of 9 to 16 when the 16 bytes fit in the
 * current chunk, else NULL, with no call: so that a transform's words
 * need no register saved across one (its slow path allocates the usual
 * way, as a tail call).
 */
static inline char *
alloc16_here(struct arena *a)
{
	struct arena_chunk *c = a->head;
	char	*p;

	if (c == NULL || c->size - c->off < 16 || a->max < 16 ||
	    a->used > a->max - 16)
		return NULL;
	p = (char *)c->data + c->off;
	c->off += 16;
	a->used += 16;
	return p;
}

#endif

/*
 * Whether p[0..n) is 1 or more ASCII digits: 8 bytes at a time, the last
 * word overlapping the one before; 4 to 7 bytes as two overlapping
 * halves.  Never a byte outside p[0..n).
 */
static inline int
alldigits(const char *p, size_t n)
{
	uint64_t bad = 0;
	uint32_t h, t;
	size_t	 i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8)
			bad |= w_nondigit(w_load(p + i));
		return (bad | w_nondigit(w_load(p + n - 8))) == 0;
	}
	if (n >= 4) {
		memcpy(&h, p, 4);
		memcpy(&t, p + n - 4, 4);
		return w_nondigit((uint64_t)h << 32 | t) == 0;
	}
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdig((unsigned char)p[i]))
			return 0;
	return 1;
}

static int
num2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int
num4(const char *p)
{
	return num2(p) * 100 + num2(p + 2);
}

/*
 * slice_eqs for the three-digit format codes of DTM (2379): every date
 * code transform asks several, and memcmp calls cost more than this.
 */
static inline int
code3(struct slice c, const char *s)
{
	return c.len == 3 && c.p[0] == s[0] && c.p[1] == s[1] &&
	    c.p[2] == s[2];
}

/* ---- decimals ------------------------------------------------------ */

/*
 * Split a decimal "[+-]digits[.digits]" into sign, integer and fraction
 * digits.  decmark ',' also accepts a decimal comma.  At least one digit.
 */
static int
dec_split(struct slice s, char decmark, int *neg, struct slice *ip,
    struct slice *fp)
{
	size_t	 i = 0, j;

	*neg = 0;
	if (s.len == 0 || s.len > MAP_MAX_DEC_DIGITS + 2)
		return -1;
	if (s.p[0] == '-' || s.p[0] == '+') {
		*neg = s.p[0] == '-';
		i++;
	}
	j = i;
	while (i < s.len && isdig((unsigned char)s.p[i]))
		i++;
	*ip = slice_make(s.p + j, i - j);
	*fp = slice_make(s.p + i, 0);
	if (i < s.len && (s.p[i] == '.' || (decmark == ',' && s.p[i] == ','))) {
		j = ++i;
		while (i < s.len && isdig((unsigned char)s.p[i]))
			i++;
		*fp = slice_make(s.p + j, i - j);
	}
	if (i != s.len || ip->len + fp->len == 0)
		return -1;
	return 0;
}

int
map_dec_parse(struct slice s, int *neg, struct slice *ip, struct slice *fp)
{
	return dec_split(s, ',', neg, ip, fp);
}

/*
 * Canonical decimal text: sign only when not zero, leading zeros of the
 * integer part dropped (one kept), fraction kept as sent.
 */
int
map_dec_canon(struct slice in, char decmark, struct arena *a,
    struct slice *out)
{
	struct slice	 ip, fp;
	int		 neg, nz = 0;
	size_t		 i, n = 0;
	char		*o;

	/*
	 * Most values are canonical already (16, 95.27): digits, no leading
	 * zero, and a point followed by digits.  One pass says so.
	 */
	for (i = 0; i < in.len && isdig((unsigned char)in.p[i]); i++)
		;
	if (i > 0 && (in.p[0] != '0' || i == 1) && in.len <=
	    MAP_MAX_DEC_DIGITS + 2) {
		if (i == in.len) {
			*out = in;
			return MXR_OK;
		}
		if (in.p[i] == '.' && i + 1 < in.len) {
			for (n = i + 1; n < in.len &&
			    isdig((unsigned char)in.p[n]); n++)
				;
			if (n == in.len) {
				*out = in;
				return MXR_OK;
			}
			n = 0;
		}
	}
	if (dec_split(in, decmark, &neg, &ip, &fp) != 0)
		return MXR_TYPE;
	while (ip.len > 1 && ip.p[0] == '0') {
		ip.p++;
		ip.len--;
	}
	for (i = 0; i < ip.len; i++)
		nz |= ip.p[i] != '0';
	for (i = 0; i < fp.len; i++)
		nz |= fp.p[i] != '0';
	/* Already canonical (no sign, no leading zero, a point): as sent. */
	if (in.p[0] != '-' && in.p[0] != '+' && ip.len > 0 &&
	    ip.p == in.p && (fp.len == 0 ? ip.len == in.len :
	    fp.p == ip.p + ip.len + 1 && ip.p[ip.len] == '.' &&
	    fp.p + fp.len == in.p + in.len)) {
		*out = in;
		return MXR_OK;
	}
	if ((o = arena_alloc(a, ip.len + fp.len + 4)) == NULL)
		return MXR_LIMIT;
	if (neg && nz)
		o[n++] = '-';
	if (ip.len == 0)
		o[n++] = '0';
	else {
		memcpy(o + n, ip.p, ip.len);
		n += ip.len;
	}
	if (fp.len) {
		o[n++] = '.';
		memcpy(o + n, fp.p, fp.len);
		n += fp.len;
	}
	*out = slice_make(o, n);
	return MXR_OK;
}

/* Compare two decimals exactly; -1 when either is not a number. */
int
map_dec_cmp(struct slice a, struct slice b, int *res)
{
	struct slice	 ai, af, bi, bf;
	int		 an, bn, az = 1, bz = 1, c = 0, sign;
	size_t		 i, n;

	/* Unsigned integers (counts, most quantities): no split. */
	if (map_uint_cmp(a, b, res) == 0)
		return 0;
	if (dec_split(a, ',', &an, &ai, &af) != 0 ||
	    dec_split(b, ',', &bn, &bi, &bf) != 0)
		return -1;
	while (ai.len && ai.p[0] == '0') {
		ai.p++;
		ai.len--;
	}
	while (bi.len && bi.p[0] == '0') {
		bi.p++;
		bi.len--;
	}
	while (af.len && af.p[af.len - 1] == '0')
		af.len--;
	while (bf.len && bf.p[bf.len - 1] == '0')
		bf.len--;
	if (ai.len || af.len)
		az = 0;
	if (bi.len || bf.len)
		bz = 0;
	if (az)
		an = 0;
	if (bz)
		bn = 0;
	if (an != bn) {
		*res = an ? -1 : 1;
		return 0;
	}
	sign = an ? -1 : 1;
	if (ai.len != bi.len)
		c = ai.len < bi.len ? -1 : 1;
	else if ((c = ai.len ? memcmp(ai.p, bi.p, ai.len) : 0) == 0) {
		n = af.len < bf.len ? af.len : bf.len;
		for (i = 0; i < n && c == 0; i++)
			c = af.p[i] - bf.p[i];
		if (c == 0 && af.len != bf.len)
			c = af.len < bf.len ? -1 : 1;
	}
	c = c < 0 ? -1 : c > 0 ? 1 : 0;
	*res = c * sign;
	return 0;
}

/* Digits of a decimal scaled to `scale` fraction digits, right aligned. */
static int
dec_digits(struct slice ip, struct slice fp, size_t scale, uint8_t *d,
    size_t nd)
{
	size_t	 i, k;

	memset(d, 0, nd);
	if (fp.len > scale || ip.len + scale > nd)
		return -1;
	k = nd - scale;
	for (i = 0; i < fp.len; i++)
		d[k + i] = fp.p[i] - '0';
	for (i = 0; i < ip.len; i++)
		d[k - ip.len + i] = ip.p[i] - '0';
	return 0;
}

#define DEC_SMALL	18	/* digits that two can add in an int64_t */

/* The digits of ip then fp, scaled to `scale` fraction digits. */
static int64_t
dec_small(struct slice ip, struct slice fp, size_t scale)
{
	int64_t	 v = 0;
	size_t	 i;

	for (i = 0; i < ip.len; i++)
		v = v * 10 + (ip.p[i] - '0');
	for (i = 0; i < fp.len; i++)
		v = v * 10 + (fp.p[i] - '0');
	for (; i < scale; i++)
		v *= 10;
	return v;
}

/*
 * map_dec_add when both operands have at most DEC_SMALL digits at the
 * common scale (sums of quantities and amounts): the same text from
 * machine integers.
 */
static int
dec_add_small(int64_t a, int64_t b, size_t scale, char *out, size_t outlen)
{
	char	 d[24];
	int64_t	 sum = a + b;
	uint64_t mag = sum < 0 ? -(uint64_t)sum : (uint64_t)sum;
	size_t	 nd = 0, n = 0, i;

	do {
		d[nd++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag > 0);
	while (nd < scale + 1)		/* one integer digit at least */
		d[nd++] = '0';
	if (outlen < nd + 3)
		return -1;
	if (sum < 0)
		out[n++] = '-';
	for (i = nd; i-- > scale;)
		out[n++] = d[i];
	if (scale) {
		out[n++] = '.';
		for (i = scale; i-- > 0;)
			out[n++] = d[i];
	}
	out[n] = '\0';
	return 0;
}

/*
 * out = a + b, exactly, as canonical decimal text (the larger scale of
 * the two).  Returns 0, or -1 when an operand is not a number or the
 * result does not fit.
 */
int
map_dec_add(const char *a, size_t alen, const char *b, size_t blen,
    char *out, size_t outlen)
{
	struct slice	 ai, af, bi, bf;
	int		 an, bn, neg, c, borrow, carry;
	uint8_t		 da[MAP_MAX_DEC_DIGITS + 2], db[MAP_MAX_DEC_DIGITS + 2];
	uint8_t		 r[MAP_MAX_DEC_DIGITS + 2];
	const uint8_t	*x, *y;
	size_t		 nd, scale, i, n, start;

	if (dec_split(slice_make(a, alen), ',', &an, &ai, &af) != 0 ||
	    dec_split(slice_make(b, blen), ',', &bn, &bi, &bf) != 0)
		return -1;
	scale = af.len > bf.len ? af.len : bf.len;
	if (ai.len + scale <= DEC_SMALL && bi.len + scale <= DEC_SMALL) {
		int64_t sa = dec_small(ai, af, scale);
		int64_t sb = dec_small(bi, bf, scale);

		return dec_add_small(an ? -sa : sa, bn ? -sb : sb, scale, out,
		    outlen);
	}
	/* Only as many digits as the operands need (plus a carry). */
	nd = (ai.len > bi.len ? ai.len : bi.len) + scale + 2;
	if (nd > sizeof(da))
		return -1;
	if (dec_digits(ai, af, scale, da, nd) != 0 ||
	    dec_digits(bi, bf, scale, db, nd) != 0)
		return -1;
	if (an == bn) {
		carry = 0;
		for (i = nd; i-- > 0;) {
			c = da[i] + db[i] + carry;
			r[i] = c % 10;
			carry = c / 10;
		}
		if (carry)
			return -1;
		neg = an;
	} else {
		c = memcmp(da, db, nd);
		x = c >= 0 ? da : db;
		y = c >= 0 ? db : da;
		neg = c >= 0 ? an : bn;
		borrow = 0;
		for (i = nd; i-- > 0;) {
			c = x[i] - y[i] - borrow;
			borrow = c < 0;
			r[i] = c < 0 ? c + 10 : c;
		}
	}
	for (start = 0; start < nd - scale - 1 && r[start] == 0; start++)
		;
	c = 0;
	for (i = start; i < nd; i++)
		c |= r[i];
	if (c == 0)
		neg = 0;
	n = 0;
	if (outlen < nd - start + 3)
		return -1;
	if (neg)
		out[n++] = '-';
	for (i = start; i < nd - scale; i++)
		out[n++] = '0' + r[i];
	if (scale) {
		out[n++] = '.';
		for (i = nd - scale; i < nd; i++)
			out[n++] = '0' + r[i];
	}
	out[n] = '\0';
	return 0;
}

/*
 * Running sums (sum() over a document's lines): while every operand and
 * the total fit in DEC_SMALL digits, the total is a machine integer at
 * the largest scale seen, written out once at the end; the text it gives
 * is map_dec_add's, which takes over (from that text) for longer ones.
 */
#define DEC_SUM_LIM	1000000000000000000LL	/* 10^DEC_SMALL */

void
map_dec_sum_init(struct map_dec_sum *ds)
{
	ds->v = 0;
	ds->scale = 0;
	ds->big = 0;
}

/* ds->v scaled up to `scale` fraction digits, if it stays small. */
static int
dec_sum_rescale(struct map_dec_sum *ds, size_t scale)
{
	int64_t	 v = ds->v;
	size_t	 k;

	for (k = ds->scale; k < scale; k++) {
		if (v >= DEC_SUM_LIM / 10 || v <= -DEC_SUM_LIM / 10)
			return -1;
		v *= 10;
	}
	ds->v = v;
	ds->scale = scale;
	return 0;
}

#ifdef __GNUC__
#define DEC_NOINLINE	__attribute__((noinline))
#else
#define DEC_NOINLINE
#endif

/* map_dec_sum_add past its first case. */
static DEC_NOINLINE int
dec_sum_add_slow(struct map_dec_sum *ds, struct slice s)
{
	struct slice	 ip, fp;
	int64_t		 x;
	size_t		 scale;
	int		 neg;

	if (!ds->big) {
		if (dec_split(s, ',', &neg, &ip, &fp) != 0)
			return -1;
		scale = fp.len > ds->scale ? fp.len : ds->scale;
		if (ip.len + scale <= DEC_SMALL &&
		    dec_sum_rescale(ds, scale) == 0) {
			x = dec_small(ip, fp, scale);
			ds->v += neg ? -x : x;
			if (ds->v < DEC_SUM_LIM && ds->v > -DEC_SUM_LIM)
				return 0;
			/* The total outgrew the integer: text from now on. */
			ds->big = 1;
			return dec_add_small(ds->v, 0, ds->scale, ds->acc,
			    sizeof(ds->acc));
		}
		if (dec_add_small(ds->v, 0, ds->scale, ds->acc,
		    sizeof(ds->acc)) != 0)
			return -1;
		ds->big = 1;
	}
	if (map_dec_add(ds->acc, strlen(ds->acc), s.p, s.len, ds->tmp,
	    sizeof(ds->tmp)) != 0)
		return -1;
	memcpy(ds->acc, ds->tmp, sizeof(ds->acc));
	return 0;
}

/*
 * Add the decimal s; -1 when it is not a number or the total too long.
 * The first case is kept apart from the rest (dec_sum_add_slow), so that
 * a line's quantity costs a few instructions a digit and no frame.
 */
int
map_dec_sum_add(struct map_dec_sum *ds, struct slice s)
{
	int64_t		 x;
	size_t		 i;

	/*
	 * sum(lines.quantity.value): whole numbers into a whole total, as
	 * the general case below adds them (dec_split, dec_small).
	 */
	if (!ds->big && ds->scale == 0 && s.len > 0 && s.len <= DEC_SMALL) {
		for (x = 0, i = 0; i < s.len && isdig((unsigned char)s.p[i]);
		    i++)
			x = x * 10 + (s.p[i] - '0');
		if (i == s.len) {
			ds->v += x;
			if (ds->v < DEC_SUM_LIM && ds->v > -DEC_SUM_LIM)
				return 0;
			ds->big = 1;
			return dec_add_small(ds->v, 0, ds->scale, ds->acc,
			    sizeof(ds->acc));
		}
	}
	return dec_sum_add_slow(ds, s);
}

/* The total as canonical decimal text (in ds->acc). */
struct slice
map_dec_sum_text(struct map_dec_sum *ds)
{
	char		*e, *p;
	uint64_t	 m;

	/*
	 * A whole total of whole quantities (sum(lines.quantity.value)):
	 * the digits dec_add_small writes, from the end of acc back, with
	 * no copy and no strlen.
	 */
	if (!ds->big && ds->scale == 0 && ds->v >= 0) {
		e = p = ds->acc + sizeof(ds->acc) - 1;
		*e = '\0';
		m = (uint64_t)ds->v;
		do {
			*--p = (char)('0' + m % 10);
			m /= 10;
		} while (m > 0);
		return slice_make(p, (size_t)(e - p));
	}
	if (!ds->big && dec_add_small(ds->v, 0, ds->scale, ds->acc,
	    sizeof(ds->acc)) != 0)
		return slice_make(ds->acc, 0);
	return slice_make(ds->acc, strlen(ds->acc));
}

/* Integer text (sign, digits, leading zeros) to a JSON integer. */
int
map_int_parse(struct slice s, json_int_t *out)
{
	size_t		 i = 0;
	int		 neg = 0;
	uint64_t	 v = 0, lim;

	if (s.len && (s.p[0] == '-' || s.p[0] == '+')) {
		neg = s.p[0] == '-';
		i++;
	}
	if (i == s.len)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < s.len; i++) {
		if (!isdig((unsigned char)s.p[i]))
			return -1;
		if (v > (lim - (uint64_t)(s.p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(json_int_t)v;
	else
		*out = (json_int_t)v;
	return 0;
}

/* ---- dates and times ------------------------------------------------ */

int
map_date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 n;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	n = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		n = 29;
	return d <= n;
}

static int
put_date(struct arena *a, int y, int m, int d, struct map_val *v)
{
	char	*o;

	if (!map_date_valid(y, m, d))
		return MXR_TYPE;
	if ((o = arena_alloc(a, 11)) == NULL)
		return MXR_LIMIT;
	o[0] = '0' + y / 1000;
	o[1] = '0' + y / 100 % 10;
	o[2] = '0' + y / 10 % 10;
	o[3] = '0' + y % 10;
	o[4] = '-';
	o[5] = '0' + m / 10;
	o[6] = '0' + m % 10;
	o[7] = '-';
	o[8] = '0' + d / 10;
	o[9] = '0' + d % 10;
	v->p = o;
	v->len = 10;
	v->kind = MV_STR;
	return MXR_OK;
}

/*
 * put_date for a date given as digits: CC (the century), then YYMMDD at p.
 * The text it writes is those digits, so they are copied rather than
 * printed from the numbers (every X12 DTM and EDIFACT 102 date).
 */
#ifdef __GNUC__
#define XF_INLINE	inline __attribute__((always_inline))
#else
#define XF_INLINE	inline
#endif

static XF_INLINE int
put_digits_in(struct arena *a, const char *cc, const char *p,
    struct map_val *v)
{
	int	 m = num2(p + 2), d = num2(p + 4);
	char	*o;

	/* Days 1-28 of a month are in every year from 0001. */
	if ((unsigned)(m - 1) >= 12 || (unsigned)(d - 1) >= 28 ||
	    (cc[0] == '0' && cc[1] == '0' && p[0] == '0' && p[1] == '0')) {
		if (!map_date_valid(num2(cc) * 100 + num2(p), m, d))
			return MXR_TYPE;
	}
	/* Every byte is written: no zeroing (arena_alloc's memset call). */
	if ((o = arena_alloc_raw(a, 11)) == NULL)
		return MXR_LIMIT;
	memcpy(o, cc, 2);
	memcpy(o + 2, p, 2);
	o[4] = '-';
	memcpy(o + 5, p + 2, 2);
	o[7] = '-';
	memcpy(o + 8, p + 4, 2);
	o[10] = '\0';
	v->p = o;
	v->len = 10;
	v->kind = MV_STR;
	return MXR_OK;
}

static int
put_digits(struct arena *a, const char *cc, const char *p, struct map_val *v)
{
	return put_digits_in(a, cc, p, v);
}

/* YYMMDD with the pivot year 50: 00-49 are 20xx, 50-99 19xx. */
static int
date_yymmdd(struct arena *a, const char *p, struct map_val *v)
{
	return put_digits(a, num2(p) < 50 ? "20" : "19", p, v);
}

/* CCYYMMDD, all digits (checked by the callers). */
static int
date_ccyymmdd(struct arena *a, const char *p, struct map_val *v)
{
	return put_digits(a, p, p + 2, v);
}

static XF_NOINLINE int
date_bylen(struct arena *a, struct map_val *v)
{
	if (!alldigits(v->p, v->len))
		return MXR_TYPE;
	if (v->len == 6)
		return date_yymmdd(a, v->p, v);
	if (v->len == 8)
		return date_ccyymmdd(a, v->p, v);
	return MXR_TYPE;
}

/*
 * The usual date, CCYYMMDD of 8 digits (X12, EDIFACT 102) with a day 1-28
 * of a month of a year from 0001, which needs no calendar: its text built
 * from the value's word, as put_digits_in writes it, without a call, and
 * v->plain set.  MXR_ABSENT for any other value, and when a new chunk
 * would be needed: the general path decides those.
 */
static inline int
date8_word(struct arena *a, struct map_val *v)
{
#ifdef W_LE
	uint64_t w, b, lo;
	uint32_t hi;
	unsigned m, d;
	char	*o;

	if (v->len != 8)
		return MXR_ABSENT;
	w = w_load(v->p);
	if (w_nondigit(w) != 0 || (uint32_t)w == 0x30303030u)
		return MXR_ABSENT;
	/*
	 * MM and DD as 16-bit numbers of their two digits, the first one
	 * high ("12" is 0x3132): of the digit pairs, those from "01" to
	 * "12" and from "01" to "28" are exactly these ranges.
	 */
	b = __builtin_bswap64(w);
	m = (unsigned)(b >> 16 & 0xffff);
	d = (unsigned)(b & 0xffff);
	if (m - 0x3031 > 0x3132 - 0x3031 || d - 0x3031 > 0x3238 - 0x3031 ||
	    (o = alloc16_here(a)) == NULL)
		return MXR_ABSENT;
	/* CCYY-MM- then DD and the NUL, in the allocation's 16 bytes. */
	lo = (w & 0xffffffffu) | (uint64_t)'-' << 32 |
	    (w >> 32 & 0xffff) << 40 | (uint64_t)'-' << 56;
	hi = (uint32_t)(w >> 48);
	memcpy(o, &lo, 8);
	memcpy(o + 8, &hi, 4);
	v->p = o;
	v->len = 10;
	v->kind = MV_STR;
	v->plain = 1;
	return MXR_OK;
#else
	(void)a;
	(void)v;
	return MXR_ABSENT;
#endif
}

/* date_bylen for `date x12`, setting v->plain and, unless MXR_OK, *why. */
static XF_TAIL int
date_x12_slow(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	int	 res;

	if ((res = date_bylen(a, v)) != MXR_OK)
		*why = "not a date (YYMMDD or CCYYMMDD)";
	v->plain = res == MXR_OK;
	return res;
}

/* date_x12_slow, its usual value by date8_word (the rest by a tail call). */
static int
date_x12(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	if (date8_word(a, v) == MXR_OK)
		return MXR_OK;
	return date_x12_slow(xf, a, NULL, v, why);	/* set: not read */
}

/*
 * The value of a date's format code (DTM01-03): map_segval, tried first
 * where it is when every element and component before it is there once
 * (DTM+137:20240101:102 holds it third).  Each (el, rep, comp) is in a
 * segment once, so a value found there is the one map_segval finds.
 */
static inline const struct edi_val *
code_val(const struct map_xform *xf, const struct edi_seg *s)
{
	unsigned el = xf->codeel, comp = xf->codecomp ? xf->codecomp : 1;
	unsigned g = el - 1 + comp - 1;
	const struct edi_val *cv;

	if (el > 0 && g < s->nval) {
		cv = &s->val[g];
		if (cv->el == el && (cv->comp ? cv->comp : 1u) == comp &&
		    (cv->rep ? cv->rep : 1u) == 1)
			return cv;
	}
	return map_segval(s, el, comp, 1);
}

/* EDIFACT 2379 codes: 101 YYMMDD, 102 CCYYMMDD, 201 YYMMDD+HHMM, 202
 * YYMMDD+HHMMSS, 203 +HHMM, 204 +HHMMSS, 205 +HHMM+ZHHMM (zone sign Z),
 * 718 CCYYMMDD-CCYYMMDD (the start is taken). */
static int
date_code(const struct map_xform *xf, struct arena *a, struct map_val *v,
    const char **why)
{
	const struct edi_val *cv = NULL;
	const struct slice *code;
	size_t	 want;

	if (v->seg != NULL)
		cv = code_val(xf, v->seg);
	if (cv == NULL)
		return date_bylen(a, v);
	code = &cv->s;
	if (!alldigits(v->p, v->len >= 8 ? 8 : v->len)) {
		*why = "not a date";
		return MXR_TYPE;
	}
	/* 102 first, the usual code: its 8 digits are checked just above. */
	if (v->len == 8 && code3(*code, "102"))
		return put_digits_in(a, v->p, v->p + 2, v);
	if (code3(*code, "101") || code3(*code, "201") ||
	    code3(*code, "202")) {
		want = code->p[0] == '1' ? 6 : code->p[2] == '1' ? 10 : 12;
		if (v->len != want || !alldigits(v->p, want) || (want > 6 &&
		    (num2(v->p + 6) > 23 || num2(v->p + 8) > 59 ||
		    (want == 12 && num2(v->p + 10) > 59))))
			return MXR_TYPE;
		return date_yymmdd(a, v->p, v);
	}
	if (code3(*code, "205")) {
		if (v->len != 17 || !alldigits(v->p, 12) ||
		    (v->p[12] != '+' && v->p[12] != '-') ||
		    !alldigits(v->p + 13, 4) || num2(v->p + 8) > 23 ||
		    num2(v->p + 10) > 59)
			return MXR_TYPE;
		return date_ccyymmdd(a, v->p, v);
	}
	if (code3(*code, "102"))
		want = 8;
	else if (code3(*code, "203"))
		want = 12;
	else if (code3(*code, "204"))
		want = 14;
	else if (code3(*code, "718")) {
		if (v->len != 17 || v->p[8] != '-' || !alldigits(v->p, 8) ||
		    !alldigits(v->p + 9, 8))
			return MXR_TYPE;
		return date_ccyymmdd(a, v->p, v);
	} else {
		*why = "unsupported date format code";
		return date_bylen(a, v);
	}
	if (v->len != want || !alldigits(v->p, want))
		return MXR_TYPE;
	if (want >= 12 && (num2(v->p + 8) > 23 || num2(v->p + 10) > 59 ||
	    (want == 14 && num2(v->p + 12) > 59)))
		return MXR_TYPE;
	return date_ccyymmdd(a, v->p, v);
}

static int
date_iso(struct arena *a, struct map_val *v)
{
	const char *p = v->p;

	if (v->len < 10 || !alldigits(p, 4) || p[4] != '-' ||
	    !alldigits(p + 5, 2) || p[7] != '-' || !alldigits(p + 8, 2))
		return MXR_TYPE;
	if (v->len > 10 && p[10] != 'T' && p[10] != 't' && p[10] != ' ')
		return MXR_TYPE;
	return put_date(a, num4(p), num2(p + 5), num2(p + 8), v);
}

/*
 * The time part of an ISO 8601 timestamp, as written, without offset.  A
 * date without a time (`orderDate="2024-03-03"`, which partners send for
 * an xs:dateTime) has no time: absent, not an error.
 */
static int
time_iso(struct map_val *v)
{
	const char *p = v->p, *e = v->p + v->len;
	size_t	 n;

	while (p < e && *p != 'T' && *p != 't' && *p != ' ')
		p++;
	if (p < e)
		p++;
	else if (v->len == 10 && alldigits(v->p, 4) && v->p[4] == '-' &&
	    alldigits(v->p + 5, 2) && v->p[7] == '-' && alldigits(v->p + 8, 2))
		return MXR_ABSENT;
	else
		p = v->p;
	if (e - p < 5 || !alldigits(p, 2) || p[2] != ':' ||
	    !alldigits(p + 3, 2) || num2(p) > 23 || num2(p + 3) > 59)
		return MXR_TYPE;
	n = 5;
	if (e - p >= 8 && p[5] == ':') {
		if (!alldigits(p + 6, 2) || num2(p + 6) > 60)
			return MXR_TYPE;
		n = 8;
		if (p + n < e && (p[n] == '.' || p[n] == ',')) {
			n++;
			while (p + n < e && isdig((unsigned char)p[n]))
				n++;
		}
	}
	if (p + n < e && p[n] != 'Z' && p[n] != 'z' && p[n] != '+' &&
	    p[n] != '-')
		return MXR_TYPE;
	v->p = p;
	v->len = n;
	v->kind = MV_STR;
	return MXR_OK;
}

/*
 * `time code DTM01-03`: the time of an EDIFACT date/time/period whose
 * 2379 format code is in that element of the same segment: 201 and 203
 * (…HHMM) and 205 (…HHMM±HHMM, the zone dropped) give "HH:MM", 202 and
 * 204 (…HHMMSS) "HH:MM:SS", 401 HHMM and 402 HHMMSS likewise.  Any other
 * code (102: a date only) gives no value and no error, so one DTM can
 * feed both issueDate and issueTime.  Without a code, 12 digits read as
 * 203 and 14 as 204.  Outbound (when it exists) writes the time into the
 * date's element with code 203, as `date code` writes 102 or 203.
 */
static int
time_code(const struct map_xform *xf, struct arena *a, struct map_val *v)
{
	const struct edi_val *cv = NULL;
	size_t	 at, want, zone = 0, n;
	char	*o;

	if (v->seg != NULL)
		cv = code_val(xf, v->seg);
	if (cv == NULL) {
		if (v->len != 12 && v->len != 14)
			return MXR_ABSENT;
		at = 8;
		want = v->len;
	} else if (code3(cv->s, "203") || code3(cv->s, "204")) {
		at = 8;
		want = cv->s.p[2] == '3' ? 12 : 14;
	} else if (code3(cv->s, "201") || code3(cv->s, "202")) {
		at = 6;
		want = cv->s.p[2] == '1' ? 10 : 12;
	} else if (code3(cv->s, "205")) {
		at = 8;
		want = 12;
		zone = 5;
		if (v->len != 17 || (v->p[12] != '+' && v->p[12] != '-') ||
		    !alldigits(v->p + 13, 4))
			return MXR_TYPE;
	} else if (code3(cv->s, "401") || code3(cv->s, "402")) {
		at = 0;
		want = cv->s.p[2] == '1' ? 4 : 6;
	} else
		return MXR_ABSENT;
	if (v->len != want + zone || !alldigits(v->p, want))
		return MXR_TYPE;
	n = want - at;		/* 4: HHMM, 6: HHMMSS */
	if (num2(v->p + at) > 23 || num2(v->p + at + 2) > 59 ||
	    (n == 6 && num2(v->p + at + 4) > 59))
		return MXR_TYPE;
	if ((o = arena_alloc(a, 9)) == NULL)
		return MXR_LIMIT;
	o[0] = v->p[at];
	o[1] = v->p[at + 1];
	o[2] = ':';
	o[3] = v->p[at + 2];
	o[4] = v->p[at + 3];
	if (n == 6) {
		o[5] = ':';
		o[6] = v->p[at + 4];
		o[7] = v->p[at + 5];
	}
	v->p = o;
	v->len = n == 6 ? 8 : 5;
	v->kind = MV_STR;
	return MXR_OK;
}

/* HHMM / HHMMSS / HHMMSSd... -> HH:MM[:SS] */
static int
time_x12(struct arena *a, struct map_val *v)
{
	char	*o;
	size_t	 n;

	if (v->len < 4 || v->len == 5 || !alldigits(v->p, v->len) ||
	    num2(v->p) > 23 || num2(v->p + 2) > 59 ||
	    (v->len >= 6 && num2(v->p + 4) > 59))
		return MXR_TYPE;
	n = v->len >= 6 ? 8 : 5;
	if ((o = arena_alloc(a, n + 1)) == NULL)
		return MXR_LIMIT;
	o[0] = v->p[0];
	o[1] = v->p[1];
	o[2] = ':';
	o[3] = v->p[2];
	o[4] = v->p[3];
	if (n == 8) {
		o[5] = ':';
		o[6] = v->p[4];
		o[7] = v->p[5];
	}
	v->p = o;
	v->len = n;
	v->kind = MV_STR;
	return MXR_OK;
}

/* ---- numbers -------------------------------------------------------- */

/*
 * The number of fraction digits of a decimal that map_dec_canon would
 * return as sent (digits without a leading zero, then '.' and digits),
 * or -1 for any other text, which takes the general path.  Nearly every
 * quantity and amount has that shape (16, 95.27): x_decimal's result for
 * it is the value itself, found in one pass (up to 8 bytes as one word,
 * not a byte at a time).
 */
#if defined(W_LE) && defined(__GNUC__)
/*
 * For dec_as_sent's 4 to 8 bytes, by their number: the factor that moves
 * the last 4 bytes to their place (a multiply, not a shift by a count),
 * and the mask of their bytes in a word.
 */
static const uint64_t dec_lift[9] = {
	0, 0, 0, 0, 1, 1ull << 8, 1ull << 16, 1ull << 24, 1ull << 32,
};
static const uint64_t dec_bytes[9] = {
	0, 0, 0, 0, 0xffffffffull, 0xffffffffffull, 0xffffffffffffull,
	0xffffffffffffffull, ~0ull,
};
#endif

/* XF_INLINE: in map_xform_apply and in xs_decimal, its two callers. */
static XF_INLINE int
dec_as_sent(const char *p, size_t len)
{
	size_t	 i = 0, j;
#if defined(W_LE) && defined(__GNUC__)
	uint64_t w, m;
	uint32_t h, t;
	unsigned dot;

	/*
	 * Up to 8 bytes (every quantity and price of an 850) as one word:
	 * its bytes that are not digits must be one '.', with digits on
	 * both sides.  1 to 3 bytes sit at 0, 1, 2 (a shorter value
	 * repeats a byte: any byte not a digit is then marked twice, or
	 * first), with '0's above them; 4 to 8 bytes are the two halves.
	 */
	if (len - 1 < 8) {
		if (p[0] == '0' && len > 1 && p[1] != '.')
			return -1;
		if (len >= 4) {
			memcpy(&h, p, 4);
			memcpy(&t, p + len - 4, 4);
			w = h | t * dec_lift[len];
			m = w_nondigit(w) & dec_bytes[len];
		} else {
			w = (unsigned char)p[0] |
			    (uint64_t)(unsigned char)p[len / 2] << 8 |
			    (uint64_t)(unsigned char)p[len - 1] << 16;
			m = w_nondigit(w | (W_ONES * '0') << 24);
		}
		if (m == 0)
			return 0;
		dot = (unsigned)__builtin_ctzll(m) >> 3;
		if ((m & (m - 1)) != 0 || dot == 0 || dot + 1 == len ||
		    p[dot] != '.')
			return -1;
		return (int)(len - 1 - dot);
	}
#endif
	if (len == 0 || len > MAP_MAX_DEC_DIGITS + 2 ||
	    (p[0] == '0' && len > 1 && p[1] != '.'))
		return -1;
	while (i < len && isdig((unsigned char)p[i]))
		i++;
	if (i == len)
		return 0;
	if (i == 0 || p[i] != '.' || i + 1 == len)
		return -1;
	for (j = ++i; i < len && isdig((unsigned char)p[i]); i++)
		;
	return i == len ? (int)(len - j) : -1;
}

/*
 * map_int_parse for 1 to 18 digits, which cannot overflow: 0 and the
 * value, or -1 for any other text (the general path decides).
 */
static inline int
int_short(const char *p, size_t len, json_int_t *out)
{
	int64_t	 x = 0;
	size_t	 i;
	unsigned c;

	if (len - 1 >= 18)
		return -1;
	for (i = 0; i < len; i++) {
		if ((c = (unsigned char)p[i] - '0') > 9)
			return -1;
		x = x * 10 + c;
	}
	*out = x;
	return 0;
}

static int
x_decimal(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v)
{
	struct slice	 out, ip, fp;
	char		 mark = '.';
	char		*o;
	int		 rv, neg;

	if (set != NULL && set->env.syntax == EDI_EDIFACT)
		mark = ',';
	if ((rv = map_dec_canon(slice_make(v->p, v->len), mark, a,
	    &out)) != MXR_OK)
		return rv;
	/* `decimal n`: at least n fraction digits (more are kept as sent:
	 * inbound never loses precision; outbound refuses them). */
	if (xf->n > 0) {
		dec_split(out, '.', &neg, &ip, &fp);
		if (fp.len < (size_t)xf->n) {
			if ((o = arena_alloc(a, out.len + xf->n + 2)) == NULL)
				return MXR_LIMIT;
			memcpy(o, out.p, out.len);
			if (fp.len == 0)
				o[out.len++] = '.';
			memset(o + out.len, '0', xf->n - fp.len);
			out = slice_make(o, out.len + xf->n - fp.len);
		}
	}
	v->p = out.p;
	v->len = out.len;
	v->kind = MV_DEC;
	return MXR_OK;
}

/* X12 Nn: "45120" with 2 implied decimals is "451.20". */
static int
x_implied(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v)
{
	size_t	 i = 0, nd, n = 0, k;
	int	 neg = 0, nz = 0;
	char	*o;
	const char *d;

	if (memchr(v->p, '.', v->len) != NULL) {
		/* Already explicit (not X12 Nn, but harmless): as sent. */
		struct map_xform dx = *xf;

		dx.n = -1;
		return x_decimal(&dx, a, set, v);
	}
	if (v->len && (v->p[0] == '-' || v->p[0] == '+')) {
		neg = v->p[0] == '-';
		i = 1;
	}
	d = v->p + i;
	nd = v->len - i;
	if (!alldigits(d, nd) || nd > MAP_MAX_DEC_DIGITS)
		return MXR_TYPE;
	while (nd > (size_t)xf->n + 1 && d[0] == '0') {
		d++;
		nd--;
	}
	for (k = 0; k < nd; k++)
		nz |= d[k] != '0';
	if ((o = arena_alloc(a, nd + xf->n + 4)) == NULL)
		return MXR_LIMIT;
	if (neg && nz)
		o[n++] = '-';
	if (nd <= (size_t)xf->n) {
		o[n++] = '0';
		if (xf->n > 0)
			o[n++] = '.';
		for (k = nd; k < (size_t)xf->n; k++)
			o[n++] = '0';
		memcpy(o + n, d, nd);
		n += nd;
	} else {
		memcpy(o + n, d, nd - xf->n);
		n += nd - xf->n;
		if (xf->n > 0) {
			o[n++] = '.';
			memcpy(o + n, d + nd - xf->n, xf->n);
			n += xf->n;
		}
	}
	v->p = o;
	v->len = n;
	v->kind = MV_DEC;
	return MXR_OK;
}

static int
x_int(struct map_val *v)
{
	json_int_t i;

	if (map_int_parse(slice_make(v->p, v->len), &i) != 0)
		return MXR_TYPE;
	v->i = i;
	v->kind = MV_INT;
	return MXR_OK;
}

/* ---- strings -------------------------------------------------------- */

static int
isspc(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static int
x_case(struct arena *a, struct map_val *v, int upper)
{
	char	*o;
	size_t	 i;

	if ((o = arena_alloc(a, v->len + 1)) == NULL)
		return MXR_LIMIT;
	for (i = 0; i < v->len; i++) {
		char c = v->p[i];

		if (upper && c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		else if (!upper && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		o[i] = c;
	}
	v->p = o;
	v->kind = MV_STR;
	return MXR_OK;
}

static int
x_collapse(struct arena *a, struct map_val *v)
{
	char	*o;
	size_t	 i, n = 0;
	int	 sp = 0;

	if ((o = arena_alloc(a, v->len + 1)) == NULL)
		return MXR_LIMIT;
	for (i = 0; i < v->len; i++) {
		if (isspc((unsigned char)v->p[i])) {
			sp = n > 0;
			continue;
		}
		if (sp)
			o[n++] = ' ';
		sp = 0;
		o[n++] = v->p[i];
	}
	v->p = o;
	v->len = n;
	v->kind = MV_STR;
	return n ? MXR_OK : MXR_ABSENT;
}

/* Truncate to n characters (UTF-8 sequences are not split). */
static int
x_max(const struct map_xform *xf, struct map_val *v)
{
	size_t	 i = 0, nch = 0;

	while (i < v->len) {
		if (nch == (size_t)xf->n) {
			v->len = i;
			return MXR_TRUNC;
		}
		i++;
		while (i < v->len && ((unsigned char)v->p[i] & 0xc0) == 0x80)
			i++;
		nch++;
	}
	return MXR_OK;
}

/* ---- GS1 identifiers ------------------------------------------------- */

/* 1 when the last digit is the GS1 mod-10 check digit of the others. */
/* The GS1 check digit of n >= 2 digits is right. */
static int
gtin_sum_ok(const char *d, size_t n)
{
	size_t	 i;
	int	 sum3 = 0, sum1 = 0;

	/* Weights 3, 1, 3, ... from the digit before the check digit. */
	for (i = n - 1; i >= 2; i -= 2) {
		sum3 += d[i - 1] - '0';
		sum1 += d[i - 2] - '0';
	}
	if (i == 1)
		sum3 += d[0] - '0';
	return (10 - (sum3 * 3 + sum1) % 10) % 10 == d[n - 1] - '0';
}

int
map_gtin_check(const char *d, size_t n)
{
	if (n < 2 || !alldigits(d, n))
		return 0;
	return gtin_sum_ok(d, n);
}

#ifdef W_LE
/* The padded GTIN g[2..16) at o from its words (hi, lo) into v. */
static inline void
gtin_put(char *o, struct map_val *v, uint64_t hi, uint64_t lo)
{
	/* g[2..8) then g[8..16), the second store over the first's tail */
	hi >>= 16;
	memcpy(o, &hi, 8);
	memcpy(o + 6, &lo, 8);
	o[14] = '\0';
	v->p = o;
	v->len = 14;
	v->kind = MV_STR;
}

static XF_NOINLINE int
gtin_put_slow(struct arena *a, struct map_val *v, uint64_t hi, uint64_t lo,
    const char **why)
{
	char	*o;

	if ((o = arena_alloc_raw(a, 15)) == NULL) {
		*why = NULL;
		v->plain = 0;
		return MXR_LIMIT;
	}
	gtin_put(o, v, hi, lo);
	return MXR_OK;
}
#endif

#ifdef W_LE
/* For x_gtin14, by the code's length: 2^(8 * (16 - n)), 0 for 8. */
static const uint64_t gtin_lift[15] = {
	[12] = 1ull << 32, [13] = 1ull << 24, [14] = 1ull << 16,
};
#endif

/*
 * gtin14: 8, 12, 13 or 14 digits with a right GS1 check digit, padded
 * with zeros to 14.  Leading zeros weigh nothing in the check, so the
 * padded form is built first, in g[2..15] behind two more zeros, and
 * checked as two words: digits, then weights 3 on the even bytes and 1
 * on the odd ones (g[15], the check digit, too).  Sets v->plain itself,
 * so that map_xform_apply calls it last (no register kept for after).
 */
static XF_TAIL int
x_gtin14(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	uint64_t hi, lo, dhi, dlo, t;
	unsigned sum;
#ifndef W_LE
	char	 g[16];
#endif
	char	*o;
	size_t	 n = v->len;

	v->plain = 0;
	if (n != 8 && n != 12 && n != 13 && n != 14) {
		*why = "is not a GTIN (8, 12, 13 or 14 digits)";
		return MXR_TYPEWARN;
	}
	/*
	 * The 16 digits g, zeros first, as two words (hi, lo) in memory
	 * order.  Little-endian: straight from the value, the zeros shifted
	 * in, as loading g back from the stores that built it stalls on
	 * them (a load over several stores is not forwarded).
	 */
#ifdef W_LE
	/*
	 * The zeros' digits are 0: shifted in after w_digits, by a multiply
	 * (gtin_lift), which needs no count register and drops an 8-digit
	 * code's first word (all of it is lo) without a test.
	 */
	lo = w_load(v->p + n - 8);
	dlo = w_digits(lo);
	dhi = w_digits(w_load(v->p)) * gtin_lift[n];
	hi = dhi ^ W_ONES * '0';
#else
	memset(g, '0', 8);
	if (n > 8)		/* g[16 - n...]: bytes past g[7] are redone */
		memcpy(g + 16 - n, v->p, 8);
	memcpy(g + 8, v->p + n - 8, 8);
	hi = w_load(g);
	lo = w_load(g + 8);
	dhi = w_digits(hi);
	dlo = w_digits(lo);
#endif
	if (d_nondigit(dhi | d_nondigit(dlo)) != 0) {
		*why = "is not a GTIN (8, 12, 13 or 14 digits)";
		return MXR_TYPEWARN;
	}
	/*
	 * The check digit d is right when (10 - sum % 10) % 10 == d, that
	 * is when sum + d is a multiple of 10: d weighs 1 like the other
	 * odd bytes.  The two words' digits added (18 at most a byte), then
	 * the even bytes times 3 and the odd ones in 16-bit lanes, 72 at
	 * most each, summed by one multiply.
	 */
	t = dhi + dlo;
#ifdef W_LE
	sum = (unsigned)((((t & W_LANE) * 3 + (t >> 8 & W_LANE)) *
	    W_LANES) >> 48);
#else
	sum = (unsigned)((((t >> 8 & W_LANE) * 3 + (t & W_LANE)) *
	    W_LANES) >> 48);
#endif
	if (sum % 10 != 0) {
		*why = "has a bad GTIN check digit";
		return MXR_TYPEWARN;
	}
	v->plain = 1;
	if (n == 14)
		return MXR_OK;
#ifdef W_LE
	/* Its 14 bytes and NUL where they fit, without a call. */
	if ((o = alloc16_here(a)) == NULL)
		return gtin_put_slow(a, v, hi, lo, why);
	gtin_put(o, v, hi, lo);
#else
	if ((o = arena_alloc_raw(a, 15)) == NULL) {
		*why = NULL;
		v->plain = 0;
		return MXR_LIMIT;
	}
	memcpy(o, g + 2, 14);
	o[14] = '\0';
	v->p = o;
	v->len = 14;
	v->kind = MV_STR;
#endif
	return MXR_OK;
}

static int
x_sscc(struct map_val *v, const char **why)
{
	const char *p = v->p;
	size_t	 n = v->len;

	if (n == 20 && p[0] == '0' && p[1] == '0') {
		p += 2;
		n -= 2;
	}
	if (n != 18 || !alldigits(p, n)) {
		*why = "is not an SSCC (18 digits, or 20 with AI 00)";
		return MXR_TYPEWARN;
	}
	if (!map_gtin_check(p, n)) {
		*why = "has a bad SSCC check digit";
		return MXR_TYPEWARN;
	}
	v->p = p;
	v->len = n;
	v->kind = MV_STR;
	return MXR_OK;
}

/*
 * A transform that succeeds here writes only digits, '-', '.' and ':'
 * (dates, times, decimals, GTINs): v is then plain text (map_val.plain).
 */
static inline int
plain_ok(int res, struct map_val *v)
{
	if (res == MXR_OK)
		v->plain = 1;
	return res;
}

/* plain_ok where v->plain was not cleared first. */
static inline int
plain_set(int res, struct map_val *v)
{
	v->plain = res == MXR_OK;
	return res;
}

/* A lookup's miss or `-> !` row: v as it was, and no reason. */
static inline int
x_lookup_fail(int res, struct map_val *v, const char **why)
{
	*why = NULL;
	v->plain = 0;
	return res;
}

/*
 * The table's right side for v, or what its policy must decide: for the
 * codes the direct index leaves (x_lookup_slow) and xform_all.
 */
static inline __attribute__((always_inline)) int
x_lookup(const struct map_xform *xf, struct map_val *v, const char **why)
{
	const struct map_row *row;
	const struct map_hent *h;

	if (xf->lk == NULL ||
	    (row = map_lookup_code(xf->lk, slice_make(v->p, v->len),
	    &h)) == NULL)
		return x_lookup_fail(MXR_MISS, v, why);
	if (h != NULL) {		/* the row's right side, from its slot */
		if (h->bang)
			return x_lookup_fail(MXR_BANG, v, why);
		v->p = h->rp;
		v->len = h->rlen;
		v->plain = h->plain;
	} else {
		if (row->bang)
			return x_lookup_fail(MXR_BANG, v, why);
		v->p = row->right.p;
		v->len = row->right.len;
		v->plain = row->plain;
	}
	v->kind = MV_STR;
	if (v->len == 0) {
		*why = NULL;
		return MXR_ABSENT;
	}
	return MXR_OK;
}

/*
 * x_lookup for a code its table's direct index does not hold (a miss,
 * a `-> !` or empty row, another length), out of map_xform_apply, whose
 * usual lookup then needs no register saved.
 */
static XF_TAIL int
x_lookup_slow(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	return x_lookup(xf, v, why);
}

/*
 * x_lookup for a code of 1 to 3 bytes (X12 and EDIFACT units and
 * qualifiers) found in its table's direct index: its key (map_lkent)
 * built from one or two loads, then one entry compared, with no probe
 * and no wait on the table's own fields.  0 for anything else (a miss,
 * a row the index leaves out, any other length): x_lookup decides.
 */
static inline int
x_lookup_direct(const struct map_xform *xf, struct map_val *v)
{
	const struct map_lkent *e;
	uint32_t ck;

	if (v->len == 2)		/* X12's codes: its own test */
		ck = map_lkent_key(v->p, 2);
	else if (v->len - 1 < 3)	/* 1 or 3 (EDIFACT's agency 9) */
		ck = map_lkent_key(v->p, v->len);
	else
		return 0;
	/* Its entry as map_lookup.c's lk_dslot places it. */
	e = &xf->lkt[(uint32_t)((ck * xf->lkmul) >> 32) & xf->lkmask];
	if (e->ck != ck)
		return 0;
	v->p = e->rp;
	v->len = e->rlen;
	v->kind = MV_STR;
	v->plain = (int)e->plain;
	return 1;
}

static XF_NOINLINE int xform_all(const struct map_xform *, struct arena *,
    const struct edi_set *, struct map_val *, const char **);

/* x_decimal past its first case, with v->plain and *why. */
static XF_TAIL int
x_decimal_slow(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	*why = "not a number";
	return plain_set(x_decimal(xf, a, set, v), v);
}

/* date_code with v->plain and *why. */
static XF_NOINLINE int
x_date_code_slow(const struct map_xform *xf, struct arena *a,
    struct map_val *v, const char **why)
{
	*why = "not a date in the format its code names";
	return plain_set(date_code(xf, a, v, why), v);
}

/*
 * x_date_code_slow, but its usual value, CCYYMMDD with code 102 where
 * code_val looks first (DTM+137:20240101:102), is date8_word's, as
 * date_code would write it; the rest by a tail call.
 */
static XF_TAIL int
x_date_code(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	const struct edi_seg *s = v->seg;
	const struct edi_val *cv;
	unsigned el = xf->codeel, comp = xf->codecomp ? xf->codecomp : 1;
	unsigned g = el - 1 + comp - 1;

	if (v->len == 8 && s != NULL && el > 0 && g < s->nval) {
		cv = &s->val[g];
		if (cv->el == el && (cv->comp ? cv->comp : 1u) == comp &&
		    (cv->rep ? cv->rep : 1u) == 1 && code3(cv->s, "102") &&
		    date8_word(a, v) == MXR_OK)
			return MXR_OK;
	}
	return x_date_code_slow(xf, a, v, why);
}

/*
 * Apply one transform to v in place.  Returns an enum map_xres; on
 * MXR_TYPE/MXR_TYPEWARN *why may name the problem (*why is set for every
 * result but MXR_OK, and only then read).  On MXR_MISS and MXR_BANG the
 * value is unchanged (the caller applies the policy).
 *
 * Most values are text going through decimal, lookup, gtin14 or a date
 * (X12, or EDIFACT by its code), whose helpers are calls or short: those
 * are taken here, and the other transforms, inlined in xform_all, cost
 * their register saves only to the values that need them.
 */
int
map_xform_apply(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	enum map_xkind k;
	int	 fl;

	if (v->kind == MV_STR || v->kind == MV_DEC) {
		k = xf->kind;
		/*
		 * Tests in the order of their counts (an 850: 12 lookups, 12
		 * decimals, 5 GTINs, 3 dates), cheaper than a jump table.
		 * v->plain is stored on the way out, and *why only where a
		 * result other than MXR_OK may be (the caller reads it then);
		 * every case ends in a call, if any, so nothing is saved.
		 */
		if (k == MX_LOOKUP) {
			if (xf->lkt != NULL && x_lookup_direct(xf, v))
				return MXR_OK;
			/* Without a and set, whose registers are then free. */
			return x_lookup_slow(xf, NULL, NULL, v, why);
		}
		if (k == MX_DECIMAL) {
			/* Canonical, with at least n fraction digits: as is. */
			if ((fl = dec_as_sent(v->p, v->len)) >= 0 &&
			    fl >= xf->n) {
				v->kind = MV_DEC;
				v->plain = 1;
				return MXR_OK;
			}
			return x_decimal_slow(xf, a, set, v, why);
		}
		XF_OPAQUE(k);
		if (k == MX_GTIN14)
			return x_gtin14(xf, a, set, v, why);
		if (k == MX_DATE_X12)
			return date_x12(xf, a, set, v, why);
		if (k == MX_INT) {
			/* Up to 18 digits: no sign, no overflow. */
			if (int_short(v->p, v->len, &v->i) == 0) {
				v->kind = MV_INT;
				v->plain = 0;
				return MXR_OK;
			}
		} else if (k == MX_DATE_CODE)
			return x_date_code(xf, a, set, v, why);
	}
	return xform_all(xf, a, set, v, why);
}

/*
 * map_xform_apply of a text value (MV_STR), by the transform's kind: the
 * value's kind and the transform's are not tested again per value.  The
 * function map_xform_text() picks does what map_xform_apply would.
 */
static int
xs_lookup(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	(void)a;
	(void)set;
	if (xf->lkt != NULL && x_lookup_direct(xf, v))
		return MXR_OK;
	return x_lookup_slow(xf, NULL, NULL, v, why);
}

static int
xs_decimal(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	int	 fl;

	if ((fl = dec_as_sent(v->p, v->len)) >= 0 && fl >= xf->n) {
		v->kind = MV_DEC;
		v->plain = 1;
		return MXR_OK;
	}
	return x_decimal_slow(xf, a, set, v, why);
}

map_xform_fn *
map_xform_text(const struct map_xform *xf)
{
	switch (xf->kind) {
	case MX_LOOKUP:
		return xs_lookup;
	case MX_DECIMAL:
		return xs_decimal;
	case MX_GTIN14:
		return x_gtin14;
	case MX_DATE_X12:
		return date_x12;
	case MX_DATE_CODE:
		return x_date_code;
	default:
		return map_xform_apply;
	}
}

/* map_xform_apply for every transform and value kind. */
static int
xform_all(const struct map_xform *xf, struct arena *a,
    const struct edi_set *set, struct map_val *v, const char **why)
{
	char	 nb[32];
	int	 n;

	*why = NULL;
	v->plain = 0;
	if (v->kind == MV_NONE)
		return MXR_ABSENT;
	if (v->kind == MV_INT && xf->kind != MX_INT) {
		/* Back to text for string transforms. */
		char *o;

		n = snprintf(nb, sizeof(nb), "%lld", (long long)v->i);
		if ((o = arena_strndup(a, nb, (size_t)n)) == NULL)
			return MXR_LIMIT;
		v->p = o;
		v->len = (size_t)n;
		v->kind = MV_STR;
	}
	switch (xf->kind) {
	case MX_DATE_X12:
		return date_x12(xf, a, set, v, why);
	case MX_DATE_CCYYMMDD:
	case MX_DATE_102:
		*why = "not a date (CCYYMMDD)";
		if (v->len != 8 || !alldigits(v->p, 8))
			return MXR_TYPE;
		return plain_ok(date_ccyymmdd(a, v->p, v), v);
	case MX_DATE_YYMMDD:
		*why = "not a date (YYMMDD)";
		if (v->len != 6 || !alldigits(v->p, 6))
			return MXR_TYPE;
		return plain_ok(date_yymmdd(a, v->p, v), v);
	case MX_DATE_CODE:
		*why = "not a date in the format its code names";
		return plain_ok(date_code(xf, a, v, why), v);
	case MX_DATE_ISO:
		*why = "not an ISO 8601 date";
		return date_iso(a, v);
	case MX_TIME_ISO:
		*why = "not an ISO 8601 time";
		return time_iso(v);
	case MX_TIME_X12:
		*why = "not a time (HHMM or HHMMSS)";
		return time_x12(a, v);
	case MX_TIME_CODE:
		*why = "not a date and time in the format its code names";
		return plain_ok(time_code(xf, a, v), v);
	case MX_DECIMAL:
		*why = "not a number";
		return plain_ok(x_decimal(xf, a, set, v), v);
	case MX_IMPLIED:
		*why = "not a number";
		return plain_ok(x_implied(xf, a, set, v), v);
	case MX_INT:
		*why = "not an integer";
		if (v->kind == MV_INT)
			return MXR_OK;
		return x_int(v);
	case MX_TRIM:
		while (v->len && isspc((unsigned char)v->p[0])) {
			v->p++;
			v->len--;
		}
		while (v->len && isspc((unsigned char)v->p[v->len - 1]))
			v->len--;
		v->kind = MV_STR;
		return v->len ? MXR_OK : MXR_ABSENT;
	case MX_UPPER:
		return x_case(a, v, 1);
	case MX_LOWER:
		return x_case(a, v, 0);
	case MX_COLLAPSE:
		return x_collapse(a, v);
	case MX_MAX:
		return x_max(xf, v);
	case MX_PAD:
		return MXR_OK;
	case MX_GTIN14:
		return x_gtin14(xf, a, set, v, why);
	case MX_SSCC:
		return x_sscc(v, why);
	case MX_LOOKUP:
		return x_lookup(xf, v, why);
	}
	return MXR_OK;
}
