/*
 * unit_as2.c: the parts of as2_cms.c that need no keys: MICs, base64,
 * digest names, RFC 5402 compressed-data (our DER writer against our
 * zlib reader, and against OpenSSL's parser), and bounded failures on
 * garbage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as2_cms.h"
#include "buf.h"
#include "err.h"
#include "tap.h"

int
main(void)
{
	struct buf	 a, b, c;
	char		 mic[128], err[256];
	char		 big[100000];
	size_t		 i;

	/* sha-256("abc"), base64 */
	ok(as2_mic(AS2_MD_SHA256, "abc", 3, mic, sizeof(mic)) == 0 &&
	    strcmp(mic, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=") == 0,
	    "MIC sha-256 of abc: %s", mic);
	ok(as2_mic(AS2_MD_SHA1, "abc", 3, mic, sizeof(mic)) == 0 &&
	    strcmp(mic, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=") == 0,
	    "MIC sha1 of abc: %s", mic);
	ok(as2_mic(AS2_MD_NONE, "abc", 3, mic, sizeof(mic)) == EG_ERR_INVAL,
	    "MIC without an algorithm is refused");
	ok(as2_md_parse("SHA-256", 7) == AS2_MD_SHA256 &&
	    as2_md_parse(" sha1", 5) == AS2_MD_SHA1 &&
	    as2_md_parse("sha-512", 7) == AS2_MD_SHA512 &&
	    as2_md_parse("sha384", 6) == AS2_MD_SHA384 &&
	    as2_md_parse("md5", 3) == AS2_MD_NONE,
	    "micalg names");
	is_str(as2_md_name(AS2_MD_SHA256), "sha-256", "sha-256 name");

	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	buf_init(&c, 1 << 20);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)("ISA*00*~\r\n"[i % 10] ^ (i % 97 == 0));
	ok(as2_b64_encode(big, sizeof(big), &a) == 0 &&
	    as2_b64_decode(a.p, a.len, &b) == 0 && b.len == sizeof(big) &&
	    memcmp(b.p, big, sizeof(big)) == 0, "base64 round trip, 100 kB");
	ok(strstr(a.p, "\r\n") - a.p == 76, "base64 lines of 76 with CRLF");

	buf_reset(&a);
	buf_reset(&b);
	i = (size_t)as2_cms_compress(big, sizeof(big), &a, err, sizeof(err));
	ok(i == 0 && a.len < sizeof(big) / 4,
	    "compressed-data written (%zu bytes)", a.len);
	is_str(as2_cms_kind(a.p, a.len) ? as2_cms_kind(a.p, a.len) : "",
	    "compressed-data", "OpenSSL parses it as compressed-data");
	ok(as2_cms_uncompress(a.p, a.len, &b, err, sizeof(err)) == 0 &&
	    b.len == sizeof(big) && memcmp(b.p, big, sizeof(big)) == 0,
	    "inflated back byte for byte");
	ok(as2_cms_compress("", 0, &c, err, sizeof(err)) == 0 &&
	    as2_cms_kind(c.p, c.len) != NULL, "empty content compresses");

	/* a truncated and a corrupted structure fail cleanly */
	buf_reset(&b);
	ok(as2_cms_uncompress(a.p, a.len / 2, &b, err, sizeof(err)) != 0,
	    "truncated compressed-data refused: %s", err);
	a.p[a.len - 20] ^= 0x55;
	buf_reset(&b);
	ok(as2_cms_uncompress(a.p, a.len, &b, err, sizeof(err)) != 0,
	    "corrupted deflate stream refused: %s", err);
	ok(as2_cms_kind("garbage", 7) == NULL, "garbage is no CMS");
	ok(as2_cms_decrypt(NULL, "x", 1, &b, err, sizeof(err)) ==
	    EG_ERR_INVAL, "decrypt without keys refused: %s", err);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	return done_testing();
}
