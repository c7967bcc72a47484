/*
 * unit_forward.c: the forwarder's pure decisions (forward_policy.c):
 * every HTTP status and libcurl code through forward_classify, the retry
 * delay's clamp, jitter and Retry-After floor, the three HTTP-date forms
 * and delta-seconds, JSON pointers into a response, and the reason text
 * an operator reads.  The thread itself needs the store (see forward.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "err.h"
#include "forward.h"
#include "tap.h"

static void
test_classify(void)
{
	long		 st;
	int		 bad = 0, code;
	enum forward_outcome want, got;

	for (st = 0; st <= 999; st++) {
		if (st >= 200 && st <= 299)
			want = FORWARD_OK;
		else if (st == 408 || st == 429 || (st >= 500 && st <= 599))
			want = FORWARD_TEMPFAIL;
		else if (st >= 100 && st <= 499)
			want = FORWARD_PERMFAIL;
		else
			want = FORWARD_TEMPFAIL;
		if ((got = forward_classify(CURLE_OK, st)) != want) {
			printf("# status %ld: got %d want %d\n", st, got, want);
			bad++;
		}
	}
	ok(bad == 0, "classify: every status 0..999 with CURLE_OK");
	is_int(forward_classify(CURLE_OK, 200), FORWARD_OK, "200 ok");
	is_int(forward_classify(CURLE_OK, 201), FORWARD_OK, "201 ok");
	is_int(forward_classify(CURLE_OK, 204), FORWARD_OK, "204 ok");
	is_int(forward_classify(CURLE_OK, 400), FORWARD_PERMFAIL,
	    "400 permanent");
	is_int(forward_classify(CURLE_OK, 401), FORWARD_PERMFAIL,
	    "401 permanent");
	is_int(forward_classify(CURLE_OK, 404), FORWARD_PERMFAIL,
	    "404 permanent");
	is_int(forward_classify(CURLE_OK, 409), FORWARD_PERMFAIL,
	    "409 permanent");
	is_int(forward_classify(CURLE_OK, 422), FORWARD_PERMFAIL,
	    "422 permanent");
	is_int(forward_classify(CURLE_OK, 408), FORWARD_TEMPFAIL,
	    "408 temporary");
	is_int(forward_classify(CURLE_OK, 429), FORWARD_TEMPFAIL,
	    "429 temporary");
	is_int(forward_classify(CURLE_OK, 500), FORWARD_TEMPFAIL,
	    "500 temporary");
	is_int(forward_classify(CURLE_OK, 503), FORWARD_TEMPFAIL,
	    "503 temporary");
	is_int(forward_classify(CURLE_OK, 599), FORWARD_TEMPFAIL,
	    "599 temporary");
	is_int(forward_classify(CURLE_OK, 100), FORWARD_PERMFAIL,
	    "100 as a final status: permanent");
	is_int(forward_classify(CURLE_OK, 301), FORWARD_PERMFAIL,
	    "301 (redirects are not followed): permanent");
	is_int(forward_classify(CURLE_OK, 0), FORWARD_TEMPFAIL,
	    "no status: temporary");
	is_int(forward_classify(CURLE_OK, 600), FORWARD_TEMPFAIL,
	    "600: temporary");

	bad = 0;
	for (code = 1; code < CURL_LAST; code++)
		for (st = 0; st <= 600; st += 100)
			if (forward_classify(code, st) != FORWARD_TEMPFAIL) {
				printf("# curl %d status %ld\n", code, st);
				bad++;
			}
	ok(bad == 0, "every libcurl error is temporary, whatever the status");
	is_int(forward_classify(CURLE_OPERATION_TIMEDOUT, 0),
	    FORWARD_TEMPFAIL, "timeout");
	is_int(forward_classify(CURLE_COULDNT_CONNECT, 0), FORWARD_TEMPFAIL,
	    "connection refused");
	is_int(forward_classify(CURLE_SSL_CONNECT_ERROR, 0), FORWARD_TEMPFAIL,
	    "TLS handshake");
	is_int(forward_classify(CURLE_PEER_FAILED_VERIFICATION, 0),
	    FORWARD_TEMPFAIL, "TLS verification");
	is_int(forward_classify(CURLE_GOT_NOTHING, 0), FORWARD_TEMPFAIL,
	    "empty reply");
	is_int(forward_classify(CURLE_RECV_ERROR, 200), FORWARD_TEMPFAIL,
	    "200 then a reset: temporary");
}

static void
test_backoff(void)
{
	struct forward_conf	 c;
	const int64_t		 now = INT64_C(1700000000000);
	const int64_t		 s = 1000, m = 60 * s;

	memset(&c, 0, sizeof(c));
	c.retry_min_ms = 30 * s;
	c.retry_max_ms = 60 * m;

	is_int(forward_backoff(&c, now, now, -1, 0), 30 * s,
	    "first failure: retry_min");
	is_int(forward_backoff(&c, now - 5 * s, now, -1, 0), 30 * s,
	    "young: retry_min");
	is_int(forward_backoff(&c, now - 10 * m, now, -1, 0), 10 * m,
	    "age 10m: 10m");
	is_int(forward_backoff(&c, now - 5 * 3600 * s, now, -1, 0), 60 * m,
	    "old: retry_max");
	is_int(forward_backoff(&c, 0, now, -1, 0), 30 * s,
	    "never tried: retry_min");
	is_int(forward_backoff(&c, now + m, now, -1, 0), 30 * s,
	    "first_try in the future (clock step): retry_min");

	is_int(forward_backoff(&c, now - 10 * m, now, -1, UINT32_MAX),
	    10 * m + m - 1, "jitter is below 10%%");
	is_int(forward_backoff(&c, now - 10 * m, now, -1, UINT32_C(1) << 31),
	    10 * m + m / 2, "half jitter");
	is_int(forward_backoff(&c, now - 5 * 3600 * s, now, -1, UINT32_MAX),
	    66 * m - 1, "jitter on top of retry_max");

	is_int(forward_backoff(&c, now, now, 120 * s, 0), 120 * s,
	    "Retry-After above the delay wins");
	is_int(forward_backoff(&c, now - 10 * m, now, 5 * s, 0), 10 * m,
	    "Retry-After below the delay is a floor only");
	is_int(forward_backoff(&c, now, now, 0, 0), 30 * s,
	    "Retry-After 0 keeps retry_min");
	is_int(forward_backoff(&c, now, now, 3 * 3600 * s, 0), 60 * m,
	    "Retry-After clamped to retry_max");
	is_int(forward_backoff(&c, now, now, 3 * 3600 * s, UINT32_MAX),
	    60 * m, "clamped Retry-After beats a smaller jittered delay");

	c.retry_min_ms = 10 * m;
	c.retry_max_ms = 5 * m;
	is_int(forward_backoff(&c, now - 3600 * s, now, -1, 0), 10 * m,
	    "retry_max below retry_min: retry_min");
	c.retry_min_ms = -5;
	c.retry_max_ms = 0;
	is_int(forward_backoff(&c, now - m, now, -1, UINT32_MAX), 0,
	    "negative bounds: 0");
	c.retry_min_ms = 1;
	c.retry_max_ms = INT64_MAX / 2;
	{
		int64_t	 d = INT64_MAX / 2 - 1;
		int64_t	 r = forward_backoff(&c, 1, INT64_MAX / 2, -1,
		    UINT32_MAX);

		ok(r > d + d / 10 - d / 1000 && r < d + d / 10,
		    "huge ages do not overflow the jitter");
	}
}

static void
test_retry_after(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const int64_t	 t94 = INT64_C(784111777) * 1000;
	const int64_t	 now = t94 - 10000;
	const int64_t	 now2024 = INT64_C(1704067200000); /* 2024-01-01 */
	static const struct {
		const char	*v;
		int64_t		 want;
	} bad[] = {
		{ "", -1 }, { " ", -1 }, { "-5", -1 }, { "+5", -1 },
		{ "1.5", -1 }, { "5s", -1 }, { "0x10", -1 }, { "1 2", -1 },
		{ "abc", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", -1 },
		{ "Sun, 06 Nov 1994 08:49:37", -1 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 nov 1994 08:49:37 GMT", -1 },
		{ "sun, 06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 94 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 8:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", -1 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 31 Nov 1994 08:49:37 GMT", -1 },
		{ "Sun, 06 Nov 1994 08:49:37 GMTX", -1 },
		{ "Sun,06 Nov 1994 08:49:37 GMT", -1 },
		{ "Sunday, 06-Nov-1994 08:49:37 GMT", -1 },
		{ "Sunday 06-Nov-94 08:49:37 GMT", -1 },
		{ "Sun Nov 6 08:49:37 1994", -1 },
		{ "Sun Nov  6 08:49:37 94", -1 },
		{ "Sun Nov  6 08:49:37 1994 GMT", -1 },
		{ "Xyz, 06 Nov 1994 08:49:37 GMT", -1 },
	};
	size_t		 i;
	int		 nbad = 0;

	is_int(forward_retry_after(NULL, now), -1, "NULL: malformed");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (forward_retry_after(bad[i].v, now) != bad[i].want) {
			printf("# accepted \"%s\"\n", bad[i].v);
			nbad++;
		}
	ok(nbad == 0, "%zu malformed values refused", i);

	is_int(forward_retry_after("0", now), 0, "delta 0");
	is_int(forward_retry_after("120", now), 120000, "delta 120 s");
	is_int(forward_retry_after("  7 \t", now), 7000,
	    "delta with surrounding whitespace");
	is_int(forward_retry_after("0007", now), 7000, "leading zeros");
	is_int(forward_retry_after("99999999999999999999999999", now),
	    INT64_C(100) * 365 * 86400 * 1000, "huge delta saturates");

	is_int(forward_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
	    10000, "IMF-fixdate 10 s ahead");
	is_int(forward_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
	    10000, "RFC 850 10 s ahead");
	is_int(forward_retry_after("Sun Nov  6 08:49:37 1994", now), 10000,
	    "asctime 10 s ahead");
	is_int(forward_retry_after("Sun Nov 16 08:49:37 1994", now),
	    10 * 86400000 + 10000, "asctime with a two-digit day");
	is_int(forward_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t94 + 5),
	    0, "a date in the past: 0");
	is_int(forward_retry_after("Mon, 06 Nov 1994 08:49:37 GMT", now),
	    10000, "weekday not checked against the date");
	is_int(forward_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), 0,
	    "the epoch: 0");
	is_int(forward_retry_after("Fri, 29 Feb 2028 12:00:00 GMT", now2024),
	    INT64_C(1835438400000) - now2024, "29 Feb of a leap year");
	is_int(forward_retry_after("Tue, 29 Feb 2027 12:00:00 GMT", now2024),
	    -1, "29 Feb of a common year");
	is_int(forward_retry_after("Monday, 01-Jan-24 00:01:00 GMT",
	    now2024), 60000, "RFC 850 year 24 in 2024 is 2024");
	is_int(forward_retry_after("Thursday, 01-Jan-70 00:00:00 GMT",
	    now2024), INT64_C(3155760000000) - now2024,
	    "RFC 850 year 70 in 2024 is 2070");
	is_int(forward_retry_after("Monday, 01-Jan-74 00:00:00 GMT",
	    now2024), INT64_C(3281990400000) - now2024,
	    "RFC 850 year 74 in 2024 is 2074 (not more than 50 years on)");
	is_int(forward_retry_after("Tuesday, 01-Jan-75 00:00:00 GMT",
	    now2024), 0, "RFC 850 year 75 in 2024 is 1975");
}

static void
test_reference(void)
{
	char		 out[64];
	const char	*b = "{\"id\":\"SO123\",\"n\":42,\"f\":1.5,"
	    "\"a\":[\"x\",{\"k\":\"deep\"}],\"a/b\":\"slash\",\"m~n\":\"tilde\","
	    "\"o\":{},\"t\":true,\"z\":null,\"\":\"empty\"}";

#define REF(ptr, want_rc, want) do {					\
	int rc_;							\
	out[0] = '\0';							\
	rc_ = forward_reference(b, strlen(b), (ptr), out, sizeof(out));	\
	is_int(rc_, (want_rc), "pointer \"%s\": rc", (ptr));		\
	if ((want_rc) == 0)						\
		is_str(out, (want), "pointer \"%s\": value", (ptr));	\
} while (0)
	REF("/id", 0, "SO123");
	REF("/n", 0, "42");
	REF("/f", 0, "1.5");
	REF("/a/0", 0, "x");
	REF("/a/1/k", 0, "deep");
	REF("/a~1b", 0, "slash");
	REF("/m~0n", 0, "tilde");
	REF("/", 0, "empty");
	REF("/nope", EG_ERR_NOTFOUND, "");
	REF("/o", EG_ERR_NOTFOUND, "");
	REF("/t", EG_ERR_NOTFOUND, "");
	REF("/z", EG_ERR_NOTFOUND, "");
	REF("", EG_ERR_NOTFOUND, "");
	REF("/a/2", EG_ERR_NOTFOUND, "");
	REF("/a/01", EG_ERR_NOTFOUND, "");
	REF("/a/-1", EG_ERR_NOTFOUND, "");
	REF("/a/-", EG_ERR_NOTFOUND, "");
	REF("/id/x", EG_ERR_NOTFOUND, "");
	REF("id", EG_ERR_SYNTAX, "");
	REF("/m~2n", EG_ERR_SYNTAX, "");
#undef REF
	is_int(forward_reference("not json", 8, "/id", out, sizeof(out)),
	    EG_ERR_SYNTAX, "a body that is not JSON");
	is_int(forward_reference("", 0, "/id", out, sizeof(out)),
	    EG_ERR_SYNTAX, "an empty body");
	is_int(forward_reference("\"SO9\"", 5, "", out, sizeof(out)), 0,
	    "the empty pointer names the whole document");
	is_str(out, "SO9", "a bare string body");
	is_int(forward_reference("{\"id\":\"0123456789\"}", 19, "/id", out,
	    5), 0, "a long reference is cut");
	is_str(out, "0123", "to the buffer");
}

static void
test_describe(void)
{
	char	 out[512], big[400];
	char	 want[300];

	forward_describe("Couldn't connect to server: Failed to connect",
	    0, NULL, 0, out, sizeof(out));
	is_str(out, "curl: Couldn't connect to server: Failed to connect",
	    "curl error");
	forward_describe(NULL, 503, NULL, 0, out, sizeof(out));
	is_str(out, "HTTP 503", "status without body");
	forward_describe(NULL, 503, " \n ", 3, out, sizeof(out));
	is_str(out, "HTTP 503", "status with a blank body");
	forward_describe(NULL, 400, "{\"error\":\"bad\nsku\"}\n", 20, out,
	    sizeof(out));
	is_str(out, "HTTP 400: {\"error\":\"bad sku\"}",
	    "control characters become spaces, trailing blanks go");
	memset(big, 'x', sizeof(big));
	forward_describe(NULL, 422, big, sizeof(big), out, sizeof(out));
	memset(want, 'x', sizeof(want));
	memcpy(want, "HTTP 422: ", 10);
	want[10 + FORWARD_EXCERPT] = '\0';
	is_str(out, want, "the excerpt is FORWARD_EXCERPT bytes");
	/* A two-byte character straddling the cut is dropped whole. */
	memset(big, 'y', sizeof(big));
	big[FORWARD_EXCERPT - 1] = (char)0xc3;
	big[FORWARD_EXCERPT] = (char)0xa9;
	forward_describe(NULL, 400, big, sizeof(big), out, sizeof(out));
	is_int(strlen(out), 10 + FORWARD_EXCERPT - 1,
	    "a UTF-8 sequence is not cut");
	forward_describe(NULL, 400, "abcdef", 6, out, 12);
	is_str(out, "HTTP 400: a", "a small buffer cuts the text");
	forward_describe(NULL, 400, "abcdef", 6, out, 9);
	is_str(out, "HTTP 400", "too small for any excerpt");
}

int
main(void)
{
	test_classify();
	test_backoff();
	test_retry_after();
	test_reference();
	test_describe();
	return done_testing();
}
