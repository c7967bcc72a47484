/*
 * edi.c: reading values out of the syntax-neutral set model (edi.h), the
 * date/time checks every parser and the validator share, and the
 * tokenizers' choice of loop.  Owns nothing:
 * values live in the set's arena or in the input bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edi.h"

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
