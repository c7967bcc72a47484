/*
 * cmd_token.c: `edigate token NAME [--role read|operator|erp]`: a fresh
 * console token.  Prints the token once (it is never stored) and the
 * section to add to the [http] tokens file, which holds only its SHA-256
 * (edigate.ini(5)).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cmd.h"
#include "digest.h"

#define TOKEN_BYTES	32

static int
name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	return 1;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
cmd_token(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned char	 raw[TOKEN_BYTES], dg[EVP_MAX_MD_SIZE];
	char		 tok[2 * TOKEN_BYTES + 1], sum[2 * EVP_MAX_MD_SIZE + 1];
	const char	*role = "read";
	unsigned int	 dl = 0;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "hr:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			role = optarg;
			break;
		case 'h':
			return cmd_usage("token", stdout);
		default:
			return cmd_usage("token", stderr);
		}
	}
	if (optind + 1 != argc)
		return cmd_usage("token", stderr);
	if (!name_ok(argv[optind])) {
		fprintf(stderr, "edigate token: '%s': a name is 1 to 64 "
		    "letters, digits, '-', '_' or '.'\n", argv[optind]);
		return EX_USAGE;
	}
	if (strcmp(role, "read") != 0 && strcmp(role, "operator") != 0 &&
	    strcmp(role, "erp") != 0) {
		fprintf(stderr, "edigate token: role '%s' is not read, "
		    "operator or erp\n", role);
		return EX_USAGE;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, "edigate token: no random bytes\n");
		return EX_SOFTWARE;
	}
	hex(raw, sizeof(raw), tok);
	if (EVP_Digest(tok, strlen(tok), dg, &dl, digest_sha256(), NULL) != 1) {
		fprintf(stderr, "edigate token: SHA-256 failed\n");
		return EX_SOFTWARE;
	}
	hex(dg, dl, sum);
	printf("# token for %s (shown once; edigate keeps only its SHA-256):\n"
	    "#   %s\n# add to the [http] tokens file, then SIGHUP edigate:\n"
	    "[%s]\nrole   = %s\nsha256 = %s\n", argv[optind], tok,
	    argv[optind], role, sum);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(tok, sizeof(tok));
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}
