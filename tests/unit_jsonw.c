/*
 * unit_jsonw.c: jsonw_dump writes exactly what json_dumps(JSON_COMPACT)
 * writes, and respects its buffer's cap.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "jsonw.h"
#include "tap.h"

/*
 * jsonw_plain_prefix against a byte loop, and jsonw_plain against it:
 * every length up to 40, the byte that needs an escape (or a harmless
 * high byte) at every place.
 */
static void
plain_prefix(void)
{
	static const unsigned char bad[] = { 0x00, 0x01, 0x1f, '"', '\\' };
	/* bytes next to those the word checks look for, where a borrow or
	 * a carry between bytes would show */
	static const unsigned char near[] = { 0x20, 0x21, 0x23, 0x5b, 0x5d,
	    0x7f, 0x80, 0x9f, 0xa0, 0xa2, 0xdc, 0xff };
	char		 s[48];
	size_t		 n, at, k, i, bg, want, fails = 0, pfails = 0,
			 cases = 0;

	for (bg = 0; bg <= sizeof(near); bg++)
	for (n = 0; n <= 40; n++) {
		for (at = 0; at <= n; at++) {
			for (k = 0; k < sizeof(bad) + 1; k++) {
				memset(s, 'a', sizeof(s));
				for (i = 0; bg > 0 && i < sizeof(s); i++)
					s[i] = (char)near[(i + bg) %
					    sizeof(near)];
				if (at < n)
					s[at] = k < sizeof(bad) ? (char)bad[k] :
					    (char)0xe9;
				/* a hit past the end must not count */
				s[n] = '"';
				want = at < n && k < sizeof(bad) ? at : n;
				cases++;
				if (jsonw_plain_prefix(s, n) != want)
					fails++;
				if (jsonw_plain(s, n) != (want == n))
					pfails++;
			}
		}
	}
	is_int(fails, 0, "jsonw_plain_prefix: first byte to escape "
	    "(%zu cases)", cases);
	is_int(pfails, 0, "jsonw_plain: whether any byte needs an escape");
}

static void
same(json_t *v, const char *name)
{
	struct buf	 b;
	char		*want;

	buf_init(&b, 1 << 20);
	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	is_int(jsonw_dump(v, &b), 0, "%s: dumped", name);
	is_str(b.p, want, "%s: same bytes as jansson", name);
	free(want);
	buf_free(&b);
	json_decref(v);
}

int
main(void)
{
	struct buf	 b;
	json_t		*v;
	const char	*texts[] = {
		"{}", "[]", "[1,-2,0,9223372036854775807,-9223372036854775807]",
		"{\"a\":\"x\",\"b\":[true,false,null],\"c\":{\"d\":\"\"}}",
		"{\"s\":\"quote \\\" backslash \\\\ slash / tab \\t nl \\n\"}",
		"{\"c\":\"\\u0001\\u001f\\b\\f\\r\"}",
		"{\"u\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u2028\"}",
		"{\"z\":1,\"a\":2,\"m\":3}",
		"[1.5,0.1,1e300]",
		("[9,10,99,100,101,999,1000,-9,-10,-99,-100,12345678901,"
		    "-9223372036854775808]"),	/* one text (clang asks) */
		/* 32 bits and past, where the 64-bit divisions stop */
		("[4294967295,4294967296,4294967395,429496729600,"
		    "-4294967295,-4294967296,18446744073]"),
	};
	size_t		 i;
	char		 name[32];

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = json_loads(texts[i], JSON_DECODE_ANY, NULL);
		snprintf(name, sizeof(name), "case %zu", i);
		if (!ok(v != NULL, "%s parses", name))
			continue;
		same(v, name);
	}
	v = json_stringn("nul\0inside", 10);
	same(v, "embedded NUL");
	plain_prefix();

	/* the streaming writer places commas and keys itself */
	{
		struct jw	 w;

		buf_init(&b, 1 << 16);
		jw_init(&w, &b);
		jw_open(&w, '{');
		jw_kcstr(&w, "a", "x\"y");
		jw_kcstr(&w, "skipped", "");
		jw_kstr(&w, "none", NULL, 0);
		jw_key(&w, "b");
		jw_open(&w, '[');
		jw_int(&w, 1);
		jw_int(&w, -20);
		jw_open(&w, '{');
		jw_kcstr(&w, "c", "d");
		jw_close(&w, '}');
		jw_cstr(&w, "tab\t");
		jw_close(&w, ']');
		jw_key(&w, "e");
		jw_open(&w, '{');
		jw_close(&w, '}');
		jw_key(&w, "raw");
		jw_raw(&w, "[true]", 6);
		jw_close(&w, '}');
		is_int(w.err, 0, "jw: no error");
		is_str(b.p, "{\"a\":\"x\\\"y\",\"b\":[1,-20,{\"c\":\"d\"},"
		    "\"tab\\t\"],\"e\":{},\"raw\":[true]}",
		    "jw: commas, keys, escapes; empty and NULL strings omitted");
		buf_free(&b);

		buf_init(&b, 4);
		jw_init(&w, &b);
		jw_open(&w, '{');
		jw_kcstr(&w, "long", "value");
		jw_close(&w, '}');
		ok(w.err != 0, "jw: the buffer's cap is a sticky error");
		buf_free(&b);
	}

	buf_init(&b, 8);
	v = json_loads("{\"long\":\"0123456789\"}", 0, NULL);
	is_int(jsonw_dump(v, &b), EG_ERR_LIMIT, "cap reached: EG_ERR_LIMIT");
	json_decref(v);
	buf_free(&b);
	return done_testing();
}
