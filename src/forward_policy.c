/*
 * forward_policy.c: the ERP forwarder's pure decisions (forward.h):
 * classifying a transport outcome, the retry delay, Retry-After, the
 * reference in a response and the operator's reason text.  Kept apart
 * from forward.c (the thread, libcurl and the store) so that the tests
 * link them alone.  No I/O, no clock, no global state.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "forward.h"

enum forward_outcome
forward_classify(int curl_code, long status)
{
	/*
	 * Every libcurl failure is temporary: timeouts, refused and reset
	 * connections, DNS and TLS errors obviously, and the configuration
	 * ones too (bad URL, unsupported protocol): an operator fixes the
	 * configuration and the queue resumes, rather than every event
	 * becoming a dead letter.  max_age bounds them all.
	 */
	if (curl_code != 0)
		return FORWARD_TEMPFAIL;
	if (status >= 200 && status <= 299)
		return FORWARD_OK;
	if (status == 408 || status == 429)
		return FORWARD_TEMPFAIL;
	if (status >= 500 && status <= 599)
		return FORWARD_TEMPFAIL;
	if (status >= 100 && status <= 499)
		return FORWARD_PERMFAIL;
	/* No or no valid status line: like a broken connection. */
	return FORWARD_TEMPFAIL;
}

/* floor(v * rnd / 2^32) without overflow. */
static int64_t
scale32(int64_t v, uint32_t rnd)
{
	uint64_t	 u = (uint64_t)v;

	return (int64_t)((u >> 32) * rnd + (((u & 0xffffffffU) * rnd) >> 32));
}

int64_t
forward_backoff(const struct forward_conf *c, int64_t first_try, int64_t now,
    int64_t retry_after_ms, uint32_t rnd)
{
	int64_t	 lo, hi, age, d;

	lo = c->retry_min_ms > 0 ? c->retry_min_ms : 0;
	hi = c->retry_max_ms > lo ? c->retry_max_ms : lo;
	age = (first_try > 0 && now > first_try) ? now - first_try : 0;
	d = age < lo ? lo : age > hi ? hi : age;
	d += scale32(d / 10, rnd);
	if (retry_after_ms >= 0) {
		if (retry_after_ms > hi)
			retry_after_ms = hi;
		if (retry_after_ms > d)
			d = retry_after_ms;
	}
	return d;
}

/* --- Retry-After (RFC 9110 §10.2.3, HTTP-date §5.6.7) --- */

static const char *const wkday[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const weekday[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};
static const char *const month[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

/* Match one of names (exact bytes); advance *p.  Index or -1. */
static int
name(const char **p, const char *const *names, int n)
{
	int	 i;
	size_t	 l;

	for (i = 0; i < n; i++) {
		l = strlen(names[i]);
		if (strncmp(*p, names[i], l) == 0) {
			*p += l;
			return i;
		}
	}
	return -1;
}

/* Exactly n digits (n > 0); a leading space allowed when sp. */
static int
digits(const char **p, int n, int sp, int *out)
{
	int	 v = 0, i;

	if (sp && **p == ' ') {
		(*p)++;
		n--;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
lit(const char **p, const char *s)
{
	size_t	 l = strlen(s);

	if (strncmp(*p, s, l) != 0)
		return -1;
	*p += l;
	return 0;
}

/* hh:mm:ss */
static int
clock3(const char **p, struct tm *tm)
{
	if (digits(p, 2, 0, &tm->tm_hour) < 0 || lit(p, ":") < 0 ||
	    digits(p, 2, 0, &tm->tm_min) < 0 || lit(p, ":") < 0 ||
	    digits(p, 2, 0, &tm->tm_sec) < 0)
		return -1;
	return 0;
}

/*
 * The three forms a recipient must accept:
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 * The weekday must be spelled right but is not checked against the date.
 */
static int
http_date(const char *p, int64_t now, int64_t *out)
{
	struct tm	 tm, chk;
	time_t		 t;
	const char	*q = p;
	int		 y, nowy;

	memset(&tm, 0, sizeof(tm));
	if (name(&q, weekday, 7) >= 0) {		/* RFC 850 */
		if (lit(&q, ", ") < 0 || digits(&q, 2, 0, &tm.tm_mday) < 0 ||
		    lit(&q, "-") < 0 ||
		    (tm.tm_mon = name(&q, month, 12)) < 0 ||
		    lit(&q, "-") < 0 || digits(&q, 2, 0, &y) < 0 ||
		    lit(&q, " ") < 0 || clock3(&q, &tm) < 0 ||
		    lit(&q, " GMT") < 0)
			return -1;
		/* A two-digit year more than 50 years ahead is in the past. */
		t = (time_t)(now / 1000);
		if (gmtime_r(&t, &chk) == NULL)
			return -1;
		nowy = chk.tm_year + 1900;
		y += nowy - nowy % 100;
		if (y > nowy + 50)
			y -= 100;
	} else if (name(&q, wkday, 7) >= 0) {
		if (*q == ',') {			/* IMF-fixdate */
			if (lit(&q, ", ") < 0 ||
			    digits(&q, 2, 0, &tm.tm_mday) < 0 ||
			    lit(&q, " ") < 0 ||
			    (tm.tm_mon = name(&q, month, 12)) < 0 ||
			    lit(&q, " ") < 0 || digits(&q, 4, 0, &y) < 0 ||
			    lit(&q, " ") < 0 || clock3(&q, &tm) < 0 ||
			    lit(&q, " GMT") < 0)
				return -1;
		} else {				/* asctime */
			if (lit(&q, " ") < 0 ||
			    (tm.tm_mon = name(&q, month, 12)) < 0 ||
			    lit(&q, " ") < 0 ||
			    digits(&q, 2, 1, &tm.tm_mday) < 0 ||
			    lit(&q, " ") < 0 || clock3(&q, &tm) < 0 ||
			    lit(&q, " ") < 0 || digits(&q, 4, 0, &y) < 0)
				return -1;
		}
	} else
		return -1;
	if (*q != '\0')
		return -1;
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	chk = tm;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* 31 Feb normalises to March: refuse it (a leap second may not). */
	if (tm.tm_mday != chk.tm_mday && chk.tm_sec != 60)
		return -1;
	*out = (int64_t)t * 1000;
	return 0;
}

/* Far enough for any delay, small enough to add to a time in ms. */
#define RETRY_AFTER_MAX	(INT64_C(100) * 365 * 86400 * 1000)

int64_t
forward_retry_after(const char *value, int64_t now)
{
	char		 v[64];
	const char	*p, *e;
	size_t		 l;
	int64_t		 d = 0, t;

	if (value == NULL)
		return -1;
	for (p = value; *p == ' ' || *p == '\t'; p++)
		;
	for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t' ||
	    e[-1] == '\r' || e[-1] == '\n'); e--)
		;
	l = (size_t)(e - p);
	if (l == 0 || l >= sizeof(v))
		return -1;
	memcpy(v, p, l);
	v[l] = '\0';
	if (isdigit((unsigned char)v[0])) {
		for (p = v; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			if (d < RETRY_AFTER_MAX)
				d = d * 10 + (*p - '0') * 1000;
		}
		return d < RETRY_AFTER_MAX ? d : RETRY_AFTER_MAX;
	}
	if (http_date(v, now, &t) < 0)
		return -1;
	if (t <= now)
		return 0;
	return t - now < RETRY_AFTER_MAX ? t - now : RETRY_AFTER_MAX;
}

/* --- the response --- */

int
forward_reference(const char *body, size_t len, const char *ptr, char *out,
    size_t outsz)
{
	json_t		*root, *cur;
	json_error_t	 jerr;
	const char	*p, *e;
	char		 tok[256];
	size_t		 tl, i;
	char		*end;
	unsigned long	 idx;
	int		 rc = 0;

	if (ptr == NULL || (ptr[0] != '\0' && ptr[0] != '/') || outsz == 0)
		return EG_ERR_SYNTAX;
	if ((root = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL)
		return EG_ERR_SYNTAX;
	cur = root;
	for (p = ptr; *p == '/' && cur != NULL; p = e) {
		p++;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		for (tl = 0, i = 0; p + i < e; i++) {
			if (tl + 1 >= sizeof(tok)) {
				rc = EG_ERR_NOTFOUND;
				goto done;
			}
			if (p[i] == '~') {
				if (p[i + 1] == '0')
					tok[tl++] = '~';
				else if (p[i + 1] == '1')
					tok[tl++] = '/';
				else {
					rc = EG_ERR_SYNTAX;
					goto done;
				}
				i++;
			} else
				tok[tl++] = p[i];
		}
		tok[tl] = '\0';
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur)) {
			/* RFC 6901: digits, no leading zero, no sign. */
			if (tl == 0 || !isdigit((unsigned char)tok[0]) ||
			    (tok[0] == '0' && tl > 1) ||
			    strspn(tok, "0123456789") != tl) {
				cur = NULL;
				break;
			}
			idx = strtoul(tok, &end, 10);
			cur = json_array_get(cur, idx);
		} else
			cur = NULL;
	}
	if (cur == NULL)
		rc = EG_ERR_NOTFOUND;
	else if (json_is_string(cur))
		snprintf(out, outsz, "%s", json_string_value(cur));
	else if (json_is_integer(cur))
		snprintf(out, outsz, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(cur));
	else if (json_is_real(cur))
		snprintf(out, outsz, "%.17g", json_real_value(cur));
	else
		rc = EG_ERR_NOTFOUND;
 done:
	json_decref(root);
	return rc;
}

void
forward_describe(const char *curl_err, long status, const char *body,
    size_t len, char *out, size_t outsz)
{
	size_t	 o, i, n;

	if (outsz == 0)
		return;
	if (curl_err != NULL) {
		snprintf(out, outsz, "curl: %s", curl_err);
		return;
	}
	o = (size_t)snprintf(out, outsz, "HTTP %ld", status);
	if (o >= outsz || body == NULL)
		return;
	/* Leading blanks say nothing. */
	while (len > 0 && isspace((unsigned char)*body)) {
		body++;
		len--;
	}
	n = len < FORWARD_EXCERPT ? len : FORWARD_EXCERPT;
	/* Do not cut a UTF-8 sequence: back up to its lead byte. */
	if (n < len)
		while (n > 0 && ((unsigned char)body[n] & 0xc0) == 0x80)
			n--;
	while (n > 0 && isspace((unsigned char)body[n - 1]))
		n--;
	if (n == 0 || o + 2 >= outsz)
		return;
	out[o++] = ':';
	out[o++] = ' ';
	for (i = 0; i < n && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)body[i];

		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[o] = '\0';
}
