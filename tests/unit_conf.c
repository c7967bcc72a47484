/*
 * unit_conf.c: configuration table, partner files, errors with file:line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "tap.h"

int
main(void)
{
	const char		*top = getenv("top_srcdir");
	const struct partner	*p;
	struct conf		*c;
	struct buf		 errs;
	char			 path[1024];

	if (top == NULL)
		top = ".";
	buf_init(&errs, 1 << 16);
	snprintf(path, sizeof(path), "%s/tests/data/conf/good/edigate.ini", top);
	is_int(conf_load(path, &c, &errs), 0, "good configuration loads");
	if (errs.len)
		printf("# %s", errs.p);
	if (c == NULL)
		return done_testing();
	ok(strstr(c->state_dir, "/tests/data/conf/good/state") != NULL,
	    "relative state_dir resolves from the file's folder (%s)",
	    c->state_dir);
	is_str(c->maps_dir, "/usr/share/edigate/maps", "absolute path kept");
	is_str(c->edifact_id, "5098765432109:14", "quoted value");
	ok(c->map_size == 2ULL << 30, "[store] map_size 2G is 2 GiB");
	is_int(c->retention, 30 * 86400, "[store] retention 30d in seconds");
	is_int(c->npartner, 2, "two partner files");
	p = conf_partner_x12(c, "ZZ", "ACMERETAIL");
	ok(p != NULL, "partner found by ISA05:ISA06");
	if (p != NULL) {
		is_str(p->id, "acme-retail", "id defaults to the file name");
		is_str(p->name, "ACME Retail; Inc.", "quoted ';' kept");
		is_str(p->ack, "999", "enum value");
		is_str(p->timezone, "UTC", "default applied");
	}
	p = conf_partner_x12(c, "01", "123456789");
	ok(p != NULL && strcmp(p->id, "zeta-foods") == 0, "explicit id");
	ok(conf_partner_x12(c, "ZZ", "ACMERETAI") == NULL, "no prefix match");
	ok(conf_partner_x12(c, "Z", "Z:ACMERETAIL") == NULL,
	    "qualifier boundary respected");
	ok(conf_partner(c, "zeta-foods") != NULL, "partner by id");
	p = conf_partner_edifact(c, "5012345678900", "14");
	ok(p != NULL && strcmp(p->id, "acme-retail") == 0,
	    "partner found by UNB S002 id:qualifier");
	ok(conf_partner_edifact(c, "5012345678900", "") == NULL,
	    "EDIFACT qualifier must match");
	conf_free(c);

	buf_reset(&errs);
	snprintf(path, sizeof(path), "%s/tests/data/conf/bad/edigate.ini", top);
	is_int(conf_load(path, &c, &errs), EG_ERR_INVAL, "bad configuration");
	ok(c == NULL, "nothing returned on error");
	ok(errs.p && strstr(errs.p, "edigate.ini:3: [gateway] unknown key "
	    "'colour'"), "unknown key named with file and line");
	ok(errs.p && strstr(errs.p, "edigate.ini:5: unknown section [nosuch]"),
	    "unknown section named");
	ok(errs.p && strstr(errs.p, "p.ini:4: [partner] ack: '998' is not one "
	    "of 997|999|contrl|none"), "bad enum in a partner file, with line");
	ok(errs.p && strstr(errs.p, "p.ini:5: [partner] timezone: unknown time "
	    "zone 'Mars/Olympus_Mons'"), "unknown time zone refused");
	printf("# %s", errs.p ? errs.p : "");
	buf_free(&errs);

	{
		unsigned long long sz;
		long long	 d;

		ok(conf_parse_size("4G", &sz) == 0 && sz == 4ULL << 30, "4G");
		ok(conf_parse_size("512m", &sz) == 0 && sz == 512ULL << 20,
		    "512m");
		ok(conf_parse_size("1048576", &sz) == 0 && sz == 1048576,
		    "bytes without suffix");
		ok(conf_parse_size("99999999999999999999", &sz) == -1,
		    "size overflow refused");
		ok(conf_parse_size("-1G", &sz) == -1 &&
		    conf_parse_size("G", &sz) == -1 &&
		    conf_parse_size("1GB", &sz) == -1, "malformed sizes refused");
		ok(conf_parse_duration("90d", &d) == 0 && d == 90 * 86400,
		    "90d");
		ok(conf_parse_duration("5m", &d) == 0 && d == 300 &&
		    conf_parse_duration("2h", &d) == 0 && d == 7200 &&
		    conf_parse_duration("30s", &d) == 0 && d == 30 &&
		    conf_parse_duration("45", &d) == 0 && d == 45,
		    "s, m, h, d and bare seconds");
		ok(conf_parse_duration("1w", &d) == -1 &&
		    conf_parse_duration("", &d) == -1 &&
		    conf_parse_duration("3dd", &d) == -1,
		    "malformed durations refused");
		ok(conf_parse_ms("250ms", &d) == 0 && d == 250 &&
		    conf_parse_ms("30s", &d) == 0 && d == 30000 &&
		    conf_parse_ms("2", &d) == 0 && d == 2000 &&
		    conf_parse_ms("3d", &d) == 0 && d == 3 * 86400000LL,
		    "milliseconds: ms, s, bare seconds, d");
		ok(conf_parse_ms("1.5s", &d) == -1 &&
		    conf_parse_ms("ms", &d) == -1 &&
		    conf_parse_ms("5mss", &d) == -1, "malformed ms refused");
	}
	{
		char	*ovr[] = { "erp.url=http://127.0.0.1:9/x",
			    "erp.retry_min=250ms", "gateway.batch=64" };
		char	*bad[] = { "erp.nope=1" };
		char	*badv[] = { "erp.connections=0" };
		FILE	*fp;
		char	 dump[8192];
		size_t	 n;

		snprintf(path, sizeof(path),
		    "%s/tests/data/conf/good/edigate.ini", top);
		buf_init(&errs, 1 << 16);
		is_int(conf_load_with(path, ovr, 3, &c, &errs), 0,
		    "-o overrides load");
		if (c != NULL) {
			is_str(c->erp_url, "http://127.0.0.1:9/x",
			    "-o sets a key of a section absent from the file");
			is_int(c->erp_retry_min_ms, 250, "-o duration in ms");
			is_int(c->batch, 64, "-o whole number");
			is_int(c->erp_max_age_ms, 3 * 86400000LL,
			    "default duration parsed into ms");
			is_int(c->erp_connections, 8, "default whole number");
			is_str(c->erp_ack, "sync", "default enum");
			fp = tmpfile();
			conf_dump(c, fp);
			rewind(fp);
			n = fread(dump, 1, sizeof(dump) - 1, fp);
			dump[n] = '\0';
			fclose(fp);
			ok(strstr(dump, "retry_min = 250ms\n") != NULL &&
			    strstr(dump, "name = \"ACME Retail; Inc.\"\n") !=
			    NULL && strstr(dump, "[acks]\nfunctional = 24h\n")
			    != NULL, "dump shows overrides, quotes ';', "
			    "prints defaults");
			conf_free(c);
		}
		buf_reset(&errs);
		is_int(conf_load_with(path, bad, 1, &c, &errs),
		    EG_ERR_INVAL, "unknown -o key refused");
		ok(errs.p && strstr(errs.p, "-o erp.nope=1: unknown key "
		    "[erp] nope") != NULL, "error names the override (%s)",
		    errs.p ? errs.p : "");
		buf_reset(&errs);
		is_int(conf_load_with(path, badv, 1, &c, &errs),
		    EG_ERR_INVAL, "out-of-range -o value refused");
		ok(errs.p && strstr(errs.p, "[erp] connections: '0' is not "
		    "a whole number from 1 to 256") != NULL,
		    "range in the message (%s)", errs.p ? errs.p : "");
		buf_free(&errs);
	}
	return done_testing();
}
