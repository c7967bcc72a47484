/*
 * jsonw.c: fast compact JSON writer for jansson values (see jsonw.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "err.h"
#include "jsonw.h"

/* Bytes that need an escape: controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

/* Whether any of the 8 bytes in x is < 0x20, '"' or '\\'. */
static inline uint64_t
word_escapes(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones << 7;
	uint64_t	 q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & high;
}

size_t
jsonw_plain_prefix(const char *s, size_t n)
{
	uint64_t	 x;
	uint32_t	 lo, hi;
	size_t		 i = 0;

	/*
	 * 8 bytes at a time, the last word overlapping the one before: most
	 * strings need no escape and are answered without a byte loop.  A
	 * word with a hit is looked at byte by byte for where it is.
	 */
	if (n >= 8) {
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, s + i, 8);
			if (word_escapes(x))
				goto bytes;
		}
		if (i == n)
			return n;
		memcpy(&x, s + n - 8, 8);
		if (!word_escapes(x))
			return n;
	} else if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		if (!word_escapes((uint64_t)hi << 32 | lo))
			return n;
	}
bytes:
	for (; i < n; i++)
		if (needs_escape[(unsigned char)s[i]])
			break;
	return i;
}

#ifdef __SSE2__
/* The bytes of v below 0x20, '"' or '\\', as a mask of 16 bits. */
static inline int
vec_escapes(__m128i v)
{
	__m128i	 lt = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);

	return _mm_movemask_epi8(_mm_or_si128(lt, _mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
}
#endif

int
jsonw_plain_long(const char *s, size_t n)
{
#ifdef __SSE2__
	uint64_t	 a, b;

	/* up to 32 bytes in one or two vectors that may overlap */
	if (n <= 16) {
		if (n < 8)
			return jsonw_plain_prefix(s, n) == n;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		return vec_escapes(_mm_set_epi64x((long long)b,
		    (long long)a)) == 0;
	}
	if (n <= 32)
		return (vec_escapes(_mm_loadu_si128((const __m128i *)s)) |
		    vec_escapes(_mm_loadu_si128((const __m128i *)
		    (s + n - 16)))) == 0;
#endif
	return jsonw_plain_prefix(s, n) == n;
}

int
jsonw_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";	/* as jansson */
	size_t		 i, start = 0;
	unsigned char	 c;
	char		 esc[6];
	int		 r = 0;
	char		*o;

	/* Most strings need no escape: one piece, room claimed once. */
	if ((i = jsonw_plain_prefix(s, n)) == n) {
		if (n > SIZE_MAX - 2 || (o = buf_room(b, n + 2)) == NULL)
			return EG_ERR_LIMIT;
		o[0] = '"';
		memcpy(o + 1, s, n);
		o[n + 1] = '"';
		buf_end_at(b, o + n + 2);
		return 0;
	}
	r |= buf_addc(b, '"');
	for (; i < n; i++) {
		c = (unsigned char)s[i];
		if (!needs_escape[c])
			continue;
		r |= buf_add(b, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':  r |= buf_add(b, "\\\"", 2); break;
		case '\\': r |= buf_add(b, "\\\\", 2); break;
		case '\b': r |= buf_add(b, "\\b", 2); break;
		case '\f': r |= buf_add(b, "\\f", 2); break;
		case '\n': r |= buf_add(b, "\\n", 2); break;
		case '\r': r |= buf_add(b, "\\r", 2); break;
		case '\t': r |= buf_add(b, "\\t", 2); break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			r |= buf_add(b, esc, 6);
		}
	}
	r |= buf_add(b, s + start, n - start);
	r |= buf_addc(b, '"');
	return r;
}

const char jsonw_pairs[201] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

char *
jsonw_fmt_int(char tmp[24], long long v)
{
	char		*p = tmp + 24;
	uint64_t	 u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	/* two digits a 64-bit division down to 32 bits, then as those */
	while (u > UINT32_MAX) {
		p -= 2;
		memcpy(p, jsonw_pairs + u % 100 * 2, 2);
		u /= 100;
	}
	p = jsonw_fmt_u32(p, (uint32_t)u);
	if (v < 0)
		*--p = '-';
	return p;
}

int
jsonw_int(struct buf *b, long long v)
{
	char		 tmp[24], *p = jsonw_fmt_int(tmp, v);

	return buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* jansson's form of a %.17g number: ".0" added, exponent without '+'
 * and leading zeros. */
static int
put_real(struct buf *b, const char *num)
{
	const char	*e = strpbrk(num, "eE"), *p;
	int		 r = 0;

	if (e == NULL) {
		r |= buf_adds(b, num);
		if (strchr(num, '.') == NULL)
			r |= buf_add(b, ".0", 2);
		return r;
	}
	r |= buf_add(b, num, (size_t)(e - num + 1));
	p = e + 1;
	if (*p == '+')
		p++;
	else if (*p == '-')
		r |= buf_addc(b, *p++);
	while (*p == '0' && p[1] != '\0')
		p++;
	r |= buf_adds(b, p);
	return r;
}

static int
dump(const json_t *v, struct buf *b, int depth)
{
	const char	*key;
	json_t		*x;
	void		*it;
	size_t		 i, n;
	char		 num[64];
	int		 r = 0, first = 1;

	if (depth > 2048)
		return EG_ERR_LIMIT;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		r |= buf_addc(b, '{');
		for (it = json_object_iter((json_t *)v); it != NULL;
		    it = json_object_iter_next((json_t *)v, it)) {
			key = json_object_iter_key(it);
			if (!first)
				r |= buf_addc(b, ',');
			first = 0;
			r |= jsonw_string(b, key, strlen(key));
			r |= buf_addc(b, ':');
			r |= dump(json_object_iter_value(it), b, depth + 1);
		}
		r |= buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		r |= buf_addc(b, '[');
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				r |= buf_addc(b, ',');
			x = json_array_get(v, i);
			r |= dump(x, b, depth + 1);
		}
		r |= buf_addc(b, ']');
		break;
	case JSON_STRING:
		r |= jsonw_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		r |= jsonw_int(b, json_integer_value(v));
		break;
	case JSON_REAL:
		/* Not used by events (decimals are strings); as jansson. */
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		r |= put_real(b, num);
		break;
	case JSON_TRUE:
		r |= buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		r |= buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		r |= buf_add(b, "null", 4);
		break;
	}
	return r ? EG_ERR_LIMIT : 0;
}

int
jsonw_dump(const json_t *v, struct buf *b)
{
	return dump(v, b, 0);
}

/* -- streaming writer -- */

void
jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->first[0] = 1;
}

/*
 * Whether a comma goes before the next member or element (not after its
 * key, nor first in its object or array); the state moves past it.
 */
static inline int
jw_comma(struct jw *w)
{
	if (w->afterkey) {
		w->afterkey = 0;
		return 0;
	}
	if (w->first[w->depth]) {
		w->first[w->depth] = 0;
		return 0;
	}
	return 1;
}

static void
jw_sep(struct jw *w)
{
	if (jw_comma(w))
		w->err |= buf_addc(w->b, ',');
}

/*
 * [,]"key": with room claimed once for it and more bytes: where those
 * go, or NULL at the cap (w->err set).  Keys are the program's own ASCII
 * names: copied, not escaped.
 */
static char *
jw_keyroom(struct jw *w, const char *key, size_t n, size_t more)
{
	int	 c = jw_comma(w);
	char	*o;

	if (n > SIZE_MAX / 4 || more > SIZE_MAX / 4 ||
	    (o = buf_room(w->b, (size_t)c + n + 3 + more)) == NULL) {
		w->err |= EG_ERR_LIMIT;
		return NULL;
	}
	if (c)
		*o++ = ',';
	o[0] = '"';
	memcpy(o + 1, key, n);
	o[n + 1] = '"';
	o[n + 2] = ':';
	return o + n + 3;
}

void
jw_keyn(struct jw *w, const char *key, size_t n)
{
	char	*o;

	if ((o = jw_keyroom(w, key, n, 0)) != NULL)
		buf_end_at(w->b, o);
	w->afterkey = 1;
}

/* Past a '{' or '[' just written. */
static void
jw_down(struct jw *w)
{
	if (w->depth + 1 >= JW_MAXDEPTH) {
		w->err |= EG_ERR_LIMIT;
		return;
	}
	w->first[++w->depth] = 1;
}

void
jw_open(struct jw *w, int brace)
{
	jw_sep(w);
	w->err |= buf_addc(w->b, brace);
	jw_down(w);
}

void
jw_kopenn(struct jw *w, const char *key, size_t keylen, int brace)
{
	char	*o;

	if ((o = jw_keyroom(w, key, keylen, 1)) != NULL) {
		*o = (char)brace;
		buf_end_at(w->b, o + 1);
	}
	jw_down(w);
}

void
jw_close(struct jw *w, int brace)
{
	w->err |= buf_addc(w->b, brace);
	if (w->depth > 0)
		w->depth--;
}

void
jw_str(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	w->err |= jsonw_string(w->b, s, n);
}

void
jw_cstr(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

void
jw_int(struct jw *w, long long v)
{
	char	 tmp[24], *p = jsonw_fmt_int(tmp, v), *o;
	size_t	 n = (size_t)(tmp + sizeof(tmp) - p);
	int	 c = jw_comma(w);

	if ((o = buf_room(w->b, (size_t)c + n)) == NULL) {
		w->err |= EG_ERR_LIMIT;
		return;
	}
	if (c)
		*o++ = ',';
	memcpy(o, p, n);
	buf_end_at(w->b, o + n);
}

void
jw_kintn(struct jw *w, const char *key, size_t keylen, long long v)
{
	char	 tmp[24], *p = jsonw_fmt_int(tmp, v), *o;
	size_t	 n = (size_t)(tmp + sizeof(tmp) - p);

	if ((o = jw_keyroom(w, key, keylen, n)) == NULL)
		return;
	memcpy(o, p, n);
	buf_end_at(w->b, o + n);
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	w->err |= buf_add(w->b, s, n);
}

void
jw_kstrn(struct jw *w, const char *key, size_t keylen, const char *s,
    size_t n)
{
	char	*o;

	if (s == NULL || n == 0)
		return;
	if (jsonw_plain_prefix(s, n) != n) {
		jw_keyn(w, key, keylen);
		jw_str(w, s, n);
		return;
	}
	/* The usual member: key and plain string in one piece. */
	if ((o = jw_keyroom(w, key, keylen, n + 2)) == NULL)
		return;
	o[0] = '"';
	memcpy(o + 1, s, n);
	o[n + 1] = '"';
	buf_end_at(w->b, o + n + 2);
}

void
jw_kcstrn(struct jw *w, const char *key, size_t keylen, const char *s)
{
	if (s != NULL)
		jw_kstrn(w, key, keylen, s, strlen(s));
}

/*
 * Our own events are compact JSON in which every '"' inside a string is
 * escaped, so ,"key":" (or {"key":" at the start) can only be a member.
 */
int
jsonw_top_string(const char *json, size_t len, const char *key, char *out,
    size_t outsz)
{
	char		 pat[128];
	const char	*p = NULL, *e = json + len, *hit;
	size_t		 pl, o = 0;
	unsigned int	 u;
	int		 n;

	n = snprintf(pat, sizeof(pat), ",\"%s\":\"", key);
	if (n < 0 || (size_t)n >= sizeof(pat) || outsz == 0)
		return -1;
	pl = (size_t)n;
	if (len > pl && json[0] == '{' && memcmp(json + 1, pat + 1,
	    pl - 1) == 0)
		p = json + pl;
	for (hit = json; p == NULL && hit != NULL && hit < e; hit++) {
		hit = memmem(hit, (size_t)(e - hit), pat, pl);
		if (hit != NULL) {
			p = hit + pl;
			break;
		}
	}
	if (p == NULL)
		return -1;
	for (; p < e && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			if (++p >= e)
				return -1;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				if (e - p < 5 || sscanf(p + 1, "%4x", &u) != 1)
					return -1;
				p += 4;
				c = u < 0x80 ? (char)u : '?';
				break;
			default: c = *p; break;	/* " \ / */
			}
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	if (p >= e)
		return -1;
	out[o] = '\0';
	return 0;
}
