/*
 * cmd_config.c: `edigate config check|dump [-c config]`: validate the
 * configuration (edigate.ini, partners.d/NAME.ini, -o overrides) and the maps
 * it names, or print the effective configuration with every default.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "as2_cms.h"
#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "conf.h"

int
cmd_config(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf	*cf = NULL;
	struct catalog	*cat = NULL;
	const char	*config = NULL, *verb;
	int		 ch, ex;

	if (argc < 2)
		return cmd_usage("config", stderr);
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
		return cmd_usage("config", stdout);
	if (strcmp(verb, "check") != 0 && strcmp(verb, "dump") != 0)
		return cmd_usage("config", stderr);
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "c:ho:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			if ((ex = cmd_conf_override(optarg)) != 0)
				return ex;
			break;
		case 'h':
			return cmd_usage("config", stdout);
		default:
			return cmd_usage("config", stderr);
		}
	}
	if (optind != argc)
		return cmd_usage("config", stderr);
	if ((config = cmd_conf_path(config)) == NULL) {
		fprintf(stderr, "edigate config: no configuration: give -c "
		    "FILE\n");
		return EX_CONFIG;
	}
	if ((ex = cmd_conf(config, &cf)) != 0)
		return ex;
	if (strcmp(verb, "dump") == 0) {
		conf_dump(cf, stdout);
		conf_free(cf);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	ex = cmd_catalog(cf->maps_dir, NULL, &cat);
	if (ex == 0) {
		/* the AS2 keys and certificates, as serve loads them */
		struct as2_keys	*keys = NULL;
		struct buf	 errs, warns;

		buf_init(&errs, 1 << 16);
		buf_init(&warns, 1 << 16);
		if (as2_keys_load(cf, &keys, &errs, &warns) != 0) {
			fprintf(stderr, "%s", errs.p ? errs.p : "");
			ex = EX_CONFIG;
		}
		if (warns.len > 0)
			fprintf(stderr, "%s", warns.p);
		as2_keys_free(keys);
		buf_free(&errs);
		buf_free(&warns);
	}
	if (ex == 0)
		printf("%s: ok, %zu partners, maps in %s\n", config,
		    cf->npartner, cmd_maps_root(cf->maps_dir));
	catalog_free(cat);
	conf_free(cf);
	return ex;
}
