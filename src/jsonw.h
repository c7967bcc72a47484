/*
 * jsonw.h: compact serialization of a jansson value into a capped buffer.
 *
 * jansson builds and parses the event model; this writes it out several
 * times faster than json_dump_callback (which formats through snprintf and
 * escapes through per-chunk callbacks).  Output is byte-for-byte what
 * json_dumps(JSON_COMPACT) gives: insertion order, the same escapes.
 */
#ifndef JSONW_H
#define JSONW_H

#include <stdint.h>
#include <string.h>

#include <jansson.h>

struct buf;

/* Append v to b.  Returns 0, or EG_ERR_LIMIT when b's cap is reached. */
int	jsonw_dump(const json_t *v, struct buf *b);
/* Append a JSON string literal (quotes and escapes, as jansson). */
int	jsonw_string(struct buf *b, const char *s, size_t n);
/* Length of the prefix of s that needs no escape (n: none does). */
size_t	jsonw_plain_prefix(const char *s, size_t n);
/* The bytes of x below 0x20, '"' or '\\' (as jsonw.c's word_escapes). */
static inline uint64_t
jsonw_word_escapes(uint64_t x)
{
	const uint64_t	 ones = 0x0101010101010101ull;
	uint64_t	 q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & ones << 7;
}

/* jsonw_plain for more than 8 bytes. */
int	jsonw_plain_long(const char *s, size_t n);

/*
 * Whether s needs no escape (jsonw_plain_prefix(s, n) == n).  Most of
 * an envelope's strings are codes and references of up to 8 bytes:
 * those are looked at here, without a call, by loads that may overlap
 * but stay within [s, s + n).
 */
static inline int
jsonw_plain(const char *s, size_t n)
{
	uint64_t	 x;
	uint32_t	 lo, hi;

	if (n > 8)
		return jsonw_plain_long(s, n);
	if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		x = (uint64_t)hi << 32 | lo;
	} else if (n > 0) {
		/* the first, middle and last bytes, the rest a plain 'a' */
		x = 0x6161616161000000ull | (unsigned char)s[0] |
		    (uint64_t)(unsigned char)s[n >> 1] << 8 |
		    (uint64_t)(unsigned char)s[n - 1] << 16;
	} else
		return 1;
	return jsonw_word_escapes(x) == 0;
}

/*
 * n bytes from s to d (room already claimed) when n is at most 32: the
 * keys and short values most of an event is made of, copied without a
 * call, by loads and stores that may overlap but stay within [s, s + n)
 * and [d, d + n).  0 for longer text, with nothing written.
 */
static inline int
jsonw_copy32(char *d, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;
	char	 p[16], q[16];

	if (n - 8 <= 8) {		/* 8 to 16 bytes: the most common */
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n < 4) {
		if (n >= 2) {
			memcpy(d, s, 2);
			memcpy(d + n - 2, s + n - 2, 2);
		} else if (n == 1)
			d[0] = s[0];
	} else if (n < 8) {
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n <= 32) {
		memcpy(p, s, 16);
		memcpy(q, s + n - 16, 16);
		memcpy(d, p, 16);
		memcpy(d + n - 16, q, 16);
	} else
		return 0;
	return 1;
}

/* n bytes from s to d, room already claimed; short ones without a call. */
static inline void
jsonw_copy(char *d, const char *s, size_t n)
{
	if (!jsonw_copy32(d, s, n))
		memcpy(d, s, n);
}

/* Append a JSON integer. */
int	jsonw_int(struct buf *b, long long v);
/* v in decimal at the end of tmp (no NUL): returns where it starts. */
char	*jsonw_fmt_int(char tmp[24], long long v);

/* "00" to "99" */
extern const char jsonw_pairs[201];

/*
 * The decimal digits of u, ending at e: where they start.  The event's
 * counts and positions, without a call, two digits a 32-bit division.
 */
static inline char *
jsonw_fmt_u32(char *e, uint32_t u)
{
	while (u >= 100) {
		e -= 2;
		memcpy(e, jsonw_pairs + u % 100 * 2, 2);
		u /= 100;
	}
	if (u >= 10) {
		e -= 2;
		memcpy(e, jsonw_pairs + u * 2, 2);
	} else
		*--e = (char)('0' + u);
	return e;
}

/*
 * A streaming writer: objects and arrays opened and closed in order, with
 * commas and keys placed by the writer.  Errors (the buffer's cap) are
 * sticky and reported by jw_close_all... in jw.err.
 */
#define JW_MAXDEPTH	64

struct jw {
	struct buf	*b;
	int		 depth;
	unsigned char	 first[JW_MAXDEPTH];	/* no member written yet */
	int		 afterkey;		/* the next value follows a key */
	int		 err;
};

void	jw_init(struct jw *, struct buf *);
/* key: plain ASCII without '"', '\\' or controls (the program's names) */
void	jw_keyn(struct jw *, const char *key, size_t keylen);
#define jw_key(w, key)	jw_keyn((w), (key), strlen(key))
void	jw_open(struct jw *, int brace);	/* '{' or '[' */
void	jw_close(struct jw *, int brace);	/* '}' or ']' */
void	jw_str(struct jw *, const char *s, size_t n);
void	jw_cstr(struct jw *, const char *s);
void	jw_int(struct jw *, long long);
/* A value already serialized as JSON. */
void	jw_raw(struct jw *, const char *s, size_t n);
/* key, then '{' or '[' (or an integer): one piece, as jw_key and jw_open */
void	jw_kopenn(struct jw *, const char *key, size_t keylen, int brace);
void	jw_kintn(struct jw *, const char *key, size_t keylen, long long);
#define jw_kopen(w, key, brace)	jw_kopenn((w), (key), strlen(key), (brace))
#define jw_kint(w, key, v)	jw_kintn((w), (key), strlen(key), (v))
/* key + string, omitted when s is NULL or empty (EVENTS.md: no nulls). */
void	jw_kstrn(struct jw *, const char *key, size_t keylen, const char *s,
	    size_t n);
void	jw_kcstrn(struct jw *, const char *key, size_t keylen, const char *s);
/* Keys are mostly literals: their length is the compiler's. */
#define jw_kstr(w, key, s, n)	jw_kstrn((w), (key), strlen(key), (s), (n))
#define jw_kcstr(w, key, s)	jw_kcstrn((w), (key), strlen(key), (s))

/*
 * The string member key of the top-level object of json, an event this
 * program wrote (compact, with every '"' in strings escaped), unescaped
 * into out (\u escapes above U+007F become '?').  Returns 0, or -1 when
 * absent, not a string or longer than outsz - 1.
 */
int	jsonw_top_string(const char *json, size_t len, const char *key,
	    char *out, size_t outsz);

#endif /* JSONW_H */
