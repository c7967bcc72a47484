/*
 * conf.c: declarative configuration over iniparser.
 *
 * iniparser lowercases keys, cuts unquoted values at ';' and '#', and has no
 * line numbers: the table below is the only place a key exists, and
 * conf_line() finds a key's line for error messages.  Never
 * iniparser_getint/getboolean (octal, loose truthiness).
 */
#include "config.h"

#include <iniparser/iniparser.h>

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "xmalloc.h"

enum ctype {
	CT_STRING, CT_PATH, CT_ENUM, CT_ZONE, CT_SIZE, CT_DURATION,
	CT_MSEC,	/* duration kept as milliseconds in noff */
	CT_UINT,	/* decimal integer kept in noff */
};

struct ckey {
	const char	*section;
	const char	*key;
	enum ctype	 type;
	const char	*def;
	const char	*choices;	/* CT_ENUM: "|"-separated; CT_SIZE and
					   CT_DURATION: "min|max" */
	size_t		 off;		/* in struct conf or struct partner */
	const char	*help;
	size_t		 noff;		/* CT_MSEC, CT_UINT: N(field), the
					   long long the value is parsed into */
};

#define C(f)	offsetof(struct conf, f)
#define P(f)	offsetof(struct partner, f)
#define N(t, f)	(offsetof(struct t, f) + 1)	/* 0 means none */

static const struct ckey gateway_keys[] = {
	{ "gateway", "state_dir", CT_PATH, "/var/lib/edigate", NULL,
	  C(state_dir), "LMDB environment and work files", 0 },
	{ "gateway", "partners_dir", CT_PATH, "partners.d", NULL,
	  C(partners_dir), "one NAME.ini per trading partner", 0 },
	{ "gateway", "maps_dir", CT_PATH, NULL, NULL, C(maps_dir),
	  "maps folder (default: the installed maps)", 0 },
	{ "gateway", "poll", CT_MSEC, "1s", "50ms|1h", C(poll_s),
	  "how often inbox folders are looked at", N(conf, poll_ms) },
	{ "gateway", "batch", CT_UINT, "256", "1|10000", C(batch_s),
	  "documents committed per LMDB transaction (group commit)",
	  N(conf, batch) },
	{ "store", "map_size", CT_SIZE, "4G", "1M|1T", C(map_size_s),
	  "largest size of the LMDB environment (K, M, G, T)", 0 },
	{ "store", "retention", CT_DURATION, "90d", "1h|36500d",
	  C(retention_s), "keep raw bytes of finished documents this long", 0 },
	{ "identity", "x12_id", CT_STRING, NULL, NULL, C(x12_id),
	  "our ISA qualifier:id", 0 },
	{ "identity", "edifact_id", CT_STRING, NULL, NULL, C(edifact_id),
	  "our UNB id:qualifier", 0 },
	{ "identity", "as2_id", CT_STRING, NULL, NULL, C(as2_id),
	  "our AS2 name (AS2-To of what we receive, AS2-From of what we "
	  "send)", 0 },
	{ "http", "listen", CT_STRING, NULL, NULL, C(http_listen),
	  "address:port of the HTTP listener (default: none)", 0 },
	{ "http", "max_body", CT_SIZE, "64M", "1K|2G", C(http_max_body_s),
	  "largest request body (AS2 messages; K, M, G)", 0 },
	{ "http", "timeout", CT_MSEC, "60s", "1s|1h", C(http_timeout_s),
	  "an idle connection is closed after this long",
	  N(conf, http_timeout_ms) },
	{ "http", "tls_cert", CT_PATH, NULL, NULL, C(http_tls_cert),
	  "PEM certificate: the listener speaks HTTPS (with tls_key)", 0 },
	{ "http", "tls_key", CT_PATH, NULL, NULL, C(http_tls_key),
	  "PEM private key of tls_cert", 0 },
	{ "as2", "key", CT_PATH, NULL, NULL, C(as2_key),
	  "our AS2 private key: PEM, or PKCS#12 with password_file", 0 },
	{ "as2", "cert", CT_PATH, NULL, NULL, C(as2_cert),
	  "our AS2 certificate (PEM; optional with PKCS#12)", 0 },
	{ "as2", "password_file", CT_PATH, NULL, NULL, C(as2_password_file),
	  "file holding the PKCS#12 password", 0 },
	{ "as2", "mdn_url", CT_STRING, NULL, NULL, C(as2_mdn_url),
	  "our URL for asynchronous MDNs (Receipt-Delivery-Option)", 0 },
	{ "http", "tokens", CT_PATH, NULL, NULL, C(http_tokens),
	  "bearer tokens of the console: one [NAME] per token with role "
	  "and sha256 (default: none)", 0 },
	{ "erp", "url", CT_STRING, NULL, NULL, C(erp_url),
	  "ERP import endpoint events are POSTed to (default: none)", 0 },
	{ "erp", "auth", CT_ENUM, "none", "bearer|basic|none", C(erp_auth),
	  "authentication towards the ERP", 0 },
	{ "erp", "token_file", CT_PATH, NULL, NULL, C(erp_token_file),
	  "file holding the bearer token", 0 },
	{ "erp", "user", CT_STRING, NULL, NULL, C(erp_user),
	  "user name for basic authentication", 0 },
	{ "erp", "password_file", CT_PATH, NULL, NULL, C(erp_password_file),
	  "file holding the basic authentication password", 0 },
	{ "erp", "client_cert", CT_PATH, NULL, NULL, C(erp_client_cert),
	  "PEM client certificate for mutual TLS", 0 },
	{ "erp", "client_key", CT_PATH, NULL, NULL, C(erp_client_key),
	  "PEM key of client_cert", 0 },
	{ "erp", "ca_file", CT_PATH, NULL, NULL, C(erp_ca_file),
	  "PEM CA bundle (default: the system's)", 0 },
	{ "erp", "reference", CT_STRING, NULL, NULL, C(erp_reference),
	  "JSON pointer to the ERP's document reference in a 2xx response", 0 },
	{ "erp", "ack", CT_ENUM, "sync", "sync|async", C(erp_ack),
	  "sync: a 2xx is the import ack; async: the ERP posts "
	  "/v1/events/ID/ack", 0 },
	{ "erp", "timeout", CT_MSEC, "30s", "100ms|10m", C(erp_timeout_s),
	  "one request's time limit", N(conf, erp_timeout_ms) },
	{ "erp", "retry_min", CT_MSEC, "10s", "10ms|1d", C(erp_retry_min_s),
	  "shortest delay before a retry", N(conf, erp_retry_min_ms) },
	{ "erp", "retry_max", CT_MSEC, "1h", "10ms|7d", C(erp_retry_max_s),
	  "longest delay before a retry", N(conf, erp_retry_max_ms) },
	{ "erp", "max_age", CT_MSEC, "3d", "1s|365d", C(erp_max_age_s),
	  "then an undelivered event becomes a dead letter",
	  N(conf, erp_max_age_ms) },
	{ "erp", "ack_timeout", CT_MSEC, "15m", "1s|30d", C(erp_ack_timeout_s),
	  "deadline of the ERP import acknowledgement",
	  N(conf, erp_ack_timeout_ms) },
	{ "erp", "connections", CT_UINT, "8", "1|256", C(erp_connections_s),
	  "parallel requests to the ERP", N(conf, erp_connections) },
};

static const struct ckey partner_keys[] = {
	{ "partner", "id", CT_STRING, NULL, NULL, P(id),
	  "partner id (default: the file name)", 0 },
	{ "partner", "name", CT_STRING, NULL, NULL, P(name), "display name", 0 },
	{ "partner", "x12_id", CT_STRING, NULL, NULL, P(x12_id),
	  "ISA05:ISA06 of the partner", 0 },
	{ "partner", "edifact_id", CT_STRING, NULL, NULL, P(edifact_id),
	  "UNB S002 id:qualifier of the partner", 0 },
	{ "partner", "ack", CT_ENUM, "997", "997|999|contrl|none", P(ack),
	  "functional acknowledgement to return", 0 },
	{ "partner", "timezone", CT_ZONE, "UTC", NULL, P(timezone),
	  "zone of business timestamps", 0 },
	{ "partner", "duplicate", CT_ENUM, "ack", "ack|none", P(duplicate),
	  "answer to a re-sent interchange: its acknowledgement again, or "
	  "nothing", 0 },
	{ "dir", "inbox", CT_PATH, NULL, NULL, P(inbox),
	  "folder polled for the partner's documents", 0 },
	{ "dir", "outbox", CT_PATH, NULL, NULL, P(outbox),
	  "folder acknowledgements for the partner are written to", 0 },
	{ "dir", "archive", CT_PATH, NULL, NULL, P(archive),
	  "taken files are moved here (default: removed)", 0 },
	{ "dir", "pattern", CT_STRING, "*", NULL, P(pattern),
	  "glob of the file names taken from inbox", 0 },
	{ "as2", "id", CT_STRING, NULL, NULL, P(as2_name),
	  "the partner's AS2 name (AS2-From of its messages)", 0 },
	{ "as2", "url", CT_STRING, NULL, NULL, P(as2_url),
	  "the partner's AS2 URL: acknowledgements are sent there", 0 },
	{ "as2", "cert", CT_PATH, NULL, NULL, P(as2_cert),
	  "the partner's certificate (PEM): verifies its signatures, "
	  "encrypts to it", 0 },
	{ "as2", "sign", CT_ENUM, "sha256", "sha1|sha256|sha384|sha512|none",
	  P(as2_sign), "digest we sign with; sha1 also allows the partner's "
	  "SHA-1 signatures", 0 },
	{ "as2", "encrypt", CT_ENUM, "aes256-cbc",
	  "aes128-cbc|aes192-cbc|aes256-cbc|aes128-gcm|aes192-gcm|"
	  "aes256-gcm|none", P(as2_encrypt), "cipher of what we send", 0 },
	{ "as2", "compress", CT_ENUM, "no", "yes|no", P(as2_compress),
	  "compress what we send (RFC 5402)", 0 },
	{ "as2", "expired_cert", CT_ENUM, "refuse", "refuse|accept",
	  P(as2_expired), "accept: an expired partner certificate still "
	  "verifies signatures (never encrypts)", 0 },
	{ "as2", "transfer", CT_ENUM, "binary", "binary|base64",
	  P(as2_transfer), "Content-Transfer-Encoding of what we send", 0 },
	{ "as2", "oaep", CT_ENUM, "no", "yes|no", P(as2_oaep),
	  "RSA-OAEP key transport instead of PKCS#1 v1.5", 0 },
	{ "as2", "mdn", CT_ENUM, "sync-signed",
	  "none|sync|sync-signed|async|async-signed", P(as2_mdn),
	  "the MDN we ask for when sending", 0 },
	{ "as2", "require_signed", CT_ENUM, "yes", "yes|no",
	  P(as2_require_signed), "refuse unsigned messages", 0 },
	{ "as2", "require_encrypted", CT_ENUM, "no", "yes|no",
	  P(as2_require_encrypted), "refuse unencrypted messages", 0 },
	{ "sftp", "host", CT_STRING, NULL, NULL, P(sftp_host),
	  "the partner's SFTP server (default: no SFTP channel)", 0 },
	{ "sftp", "port", CT_UINT, "22", "1|65535", P(sftp_port_s),
	  "its TCP port", N(partner, sftp_port) },
	{ "sftp", "user", CT_STRING, NULL, NULL, P(sftp_user),
	  "login name", 0 },
	{ "sftp", "key", CT_PATH, NULL, NULL, P(sftp_key),
	  "private key file (OpenSSH or PEM format)", 0 },
	{ "sftp", "passphrase_file", CT_PATH, NULL, NULL,
	  P(sftp_passphrase_file), "file holding the key's passphrase", 0 },
	{ "sftp", "password_file", CT_PATH, NULL, NULL, P(sftp_password_file),
	  "file holding the password (when there is no key)", 0 },
	{ "sftp", "known_hosts", CT_PATH, NULL, NULL, P(sftp_known_hosts),
	  "OpenSSH known_hosts file pinning the server's host key", 0 },
	{ "sftp", "fingerprint", CT_STRING, NULL, NULL, P(sftp_fingerprint),
	  "pinned host key as SHA256:base64 (ssh-keygen -lf)", 0 },
	{ "sftp", "inbox", CT_STRING, NULL, NULL, P(sftp_inbox),
	  "remote folder polled for the partner's documents", 0 },
	{ "sftp", "pattern", CT_STRING, "*", NULL, P(sftp_pattern),
	  "glob of the remote file names taken from inbox", 0 },
	{ "sftp", "outbox", CT_STRING, NULL, NULL, P(sftp_outbox),
	  "remote folder acknowledgements are uploaded to", 0 },
	{ "sftp", "after", CT_STRING, "delete", NULL, P(sftp_after),
	  "what is done to a taken remote file: delete, or move:FOLDER", 0 },
	{ "sftp", "poll", CT_MSEC, "60s", "50ms|1d", P(sftp_poll_s),
	  "how often the remote inbox is listed", N(partner, sftp_poll) },
	{ "sftp", "timeout", CT_MSEC, "30s", "100ms|10m", P(sftp_timeout_s),
	  "connect and I/O time limit", N(partner, sftp_timeout) },
	{ "acks", "functional", CT_MSEC, "24h", "1s|365d", P(ack_functional_s),
	  "deadline of the 997/999/CONTRL for what we send",
	  N(partner, ack_functional) },
	{ "acks", "po_ack", CT_MSEC, "48h", "1s|365d", P(ack_po_s),
	  "deadline of the 855/ORDRSP for an order",
	  N(partner, ack_po) },
	{ "acks", "ship_notice", CT_MSEC, "72h", "1s|365d", P(ack_ship_s),
	  "deadline of the 856/DESADV after an accepted 855",
	  N(partner, ack_ship) },
};

/* Line of "key =" in section of file, for messages; 0 when not found. */
static int
conf_line(const char *file, const char *section, const char *key)
{
	FILE	*fp;
	char	 line[1024], *p, *e;
	int	 n = 0, insec = 0;
	size_t	 kl = strlen(key);

	if ((fp = fopen(file, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		n++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '[') {
			e = strchr(p, ']');
			insec = e && (size_t)(e - p - 1) == strlen(section) &&
			    strncasecmp(p + 1, section, strlen(section)) == 0;
			continue;
		}
		if (insec && strncasecmp(p, key, kl) == 0 &&
		    (p[kl] == ' ' || p[kl] == '\t' || p[kl] == '=')) {
			fclose(fp);
			return n;
		}
	}
	fclose(fp);
	return 0;
}

/*
 * "file:line" of key for messages, or "file (-o)" when the key is not in
 * the file (a command-line override).  Returns a static buffer: one use
 * per message.
 */
static const char *
conf_where(const char *file, const char *section, const char *key)
{
	static char	 w[EG_MAX_PATH + 32];
	int		 line = conf_line(file, section, key);

	if (line > 0)
		snprintf(w, sizeof(w), "%s:%d", file, line);
	else
		snprintf(w, sizeof(w), "%s (-o %s.%s)", file, section, key);
	return w;
}

/* Line of "[section]" in file; 0 when not found. */
static int
conf_secline(const char *file, const char *section)
{
	FILE	*fp;
	char	 line[1024], *p;
	int	 n = 0;
	size_t	 sl = strlen(section);

	if ((fp = fopen(file, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		n++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '[' && strncasecmp(p + 1, section, sl) == 0 &&
		    p[sl + 1] == ']') {
			fclose(fp);
			return n;
		}
	}
	fclose(fp);
	return 0;
}

static char *
resolve(const char *file, const char *val)
{
	char	*dup, *dir, *out;

	if (val[0] == '/')
		return xstrdup(val);
	dup = xstrdup(file);
	dir = dirname(dup);
	xasprintf(&out, "%s/%s", dir, val);
	free(dup);
	return out;
}

int
conf_parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	switch (*p) {
	case '\0':			break;
	case 'K': case 'k':	mul = 1ULL << 10; p++; break;
	case 'M': case 'm':	mul = 1ULL << 20; p++; break;
	case 'G': case 'g':	mul = 1ULL << 30; p++; break;
	case 'T': case 't':	mul = 1ULL << 40; p++; break;
	default:		return -1;
	}
	if (*p != '\0' || (v != 0 && v > ~0ULL / mul))
		return -1;
	*out = v * mul;
	return 0;
}

/* Seconds: conf_parse_ms's syntax without "ms". */
int
conf_parse_duration(const char *s, long long *out)
{
	size_t		 n = strlen(s);
	long long	 ms;

	if ((n >= 2 && strcmp(s + n - 2, "ms") == 0) ||
	    conf_parse_ms(s, &ms) != 0)
		return -1;
	*out = ms / 1000;
	return 0;
}

int
conf_parse_ms(const char *s, long long *out)
{
	long long	 v = 0, mul = 1000;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (0x7fffffffffffffffLL - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (strcmp(p, "ms") == 0)
		mul = 1;
	else if (*p == '\0' || strcmp(p, "s") == 0)
		mul = 1000;
	else if (strcmp(p, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(p, "d") == 0)
		mul = 86400 * 1000LL;
	else
		return -1;
	if (v != 0 && v > 0x7fffffffffffffffLL / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_uint(const char *s, long long *out)
{
	long long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > 100000000LL)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A size or duration within "min|max" of the table. */
static int
bounded(enum ctype t, const char *v, const char *range)
{
	char		 lo[32], hi[32];
	const char	*bar = strchr(range, '|');
	unsigned long long sv, slo, shi;
	long long	 dv, dlo, dhi;

	if (bar == NULL || (size_t)(bar - range) >= sizeof(lo))
		return 0;
	snprintf(lo, sizeof(lo), "%.*s", (int)(bar - range), range);
	snprintf(hi, sizeof(hi), "%s", bar + 1);
	if (t == CT_SIZE)
		return conf_parse_size(v, &sv) == 0 &&
		    conf_parse_size(lo, &slo) == 0 &&
		    conf_parse_size(hi, &shi) == 0 && sv >= slo && sv <= shi;
	if (t == CT_MSEC)
		return conf_parse_ms(v, &dv) == 0 &&
		    conf_parse_ms(lo, &dlo) == 0 &&
		    conf_parse_ms(hi, &dhi) == 0 && dv >= dlo && dv <= dhi;
	if (t == CT_UINT)
		return parse_uint(v, &dv) == 0 && parse_uint(lo, &dlo) == 0 &&
		    parse_uint(hi, &dhi) == 0 && dv >= dlo && dv <= dhi;
	return conf_parse_duration(v, &dv) == 0 &&
	    conf_parse_duration(lo, &dlo) == 0 &&
	    conf_parse_duration(hi, &dhi) == 0 && dv >= dlo && dv <= dhi;
}

/* An IANA zone the system knows (tzdata), or UTC. */
static int
zone_ok(const char *z)
{
	char	 path[512];

	if (strcmp(z, "UTC") == 0)
		return 1;
	if (*z == '\0' || *z == '/' || strstr(z, "..") != NULL)
		return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", z);
	return access(path, R_OK) == 0;
}

static int
choice_ok(const char *choices, const char *v)
{
	const char	*p = choices, *e;
	size_t		 n = strlen(v);

	for (;;) {
		e = strchr(p, '|');
		if ((e ? (size_t)(e - p) : strlen(p)) == n &&
		    strncmp(p, v, n) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

/*
 * Apply table to the dictionary of file into obj; report unknown sections
 * and keys.  Returns the number of errors.
 */
static int
conf_apply(const char *file, dictionary *d, const struct ckey *tab,
    size_t ntab, void *obj, struct buf *errs)
{
	const char	**keys, *sec, *v;
	char		 full[256];
	int		 nsec, i, j, nk, nerr = 0;
	size_t		 t;
	char		**slot;

	for (t = 0; t < ntab; t++) {
		slot = (char **)(void *)((char *)obj + tab[t].off);
		snprintf(full, sizeof(full), "%s:%s", tab[t].section,
		    tab[t].key);
		v = iniparser_getstring(d, full, NULL);
		if (v == NULL)
			v = tab[t].def;
		if (v == NULL)
			continue;
		if (tab[t].type == CT_ENUM && !choice_ok(tab[t].choices, v)) {
			buf_printf(errs, "%s: [%s] %s: '%s' is not one of "
			    "%s\n", conf_where(file, tab[t].section,
			    tab[t].key), tab[t].section, tab[t].key, v,
			    tab[t].choices);
			nerr++;
			continue;
		}
		if ((tab[t].type == CT_SIZE || tab[t].type == CT_DURATION ||
		    tab[t].type == CT_MSEC || tab[t].type == CT_UINT) &&
		    !bounded(tab[t].type, v, tab[t].choices)) {
			buf_printf(errs, "%s: [%s] %s: '%s' is not a%s "
			    "from %.*s to %s\n", conf_where(file,
			    tab[t].section, tab[t].key), tab[t].section,
			    tab[t].key, v,
			    tab[t].type == CT_SIZE ? " size (4G, 512M, ...)" :
			    tab[t].type == CT_UINT ? " whole number" :
			    tab[t].type == CT_MSEC ? " duration (250ms, 30s, "
			    "5m, 2h, 7d)" : " duration (30s, 5m, 2h, 7d)",
			    (int)strcspn(tab[t].choices, "|"), tab[t].choices,
			    strchr(tab[t].choices, '|') + 1);
			nerr++;
			continue;
		}
		if (tab[t].type == CT_ZONE && !zone_ok(v)) {
			buf_printf(errs, "%s: [%s] %s: unknown time zone "
			    "'%s' (an IANA name such as America/New_York)\n",
			    conf_where(file, tab[t].section, tab[t].key),
			    tab[t].section, tab[t].key, v);
			nerr++;
			continue;
		}
		free(*slot);
		*slot = tab[t].type == CT_PATH ? resolve(file, v) : xstrdup(v);
		if (tab[t].noff != 0) {
			long long *n = (long long *)(void *)((char *)obj +
			    tab[t].noff - 1);

			if (tab[t].type == CT_MSEC)
				(void)conf_parse_ms(v, n);	/* bounded() */
			else
				(void)parse_uint(v, n);
		}
	}

	nsec = iniparser_getnsec(d);
	for (i = 0; i < nsec; i++) {
		sec = iniparser_getsecname(d, i);
		for (t = 0; t < ntab; t++)
			if (strcmp(tab[t].section, sec) == 0)
				break;
		if (t == ntab) {
			buf_printf(errs, "%s:%d: unknown section [%s]\n", file,
			    conf_secline(file, sec), sec);
			nerr++;
			continue;
		}
		nk = iniparser_getsecnkeys(d, sec);
		if (nk <= 0)
			continue;
		keys = xcalloc((size_t)nk, sizeof(*keys));
		iniparser_getseckeys(d, sec, keys);
		for (j = 0; j < nk; j++) {
			const char *k = strchr(keys[j], ':');

			k = k ? k + 1 : keys[j];
			for (t = 0; t < ntab; t++)
				if (strcmp(tab[t].section, sec) == 0 &&
				    strcmp(tab[t].key, k) == 0)
					break;
			if (t == ntab) {
				buf_printf(errs, "%s:%d: [%s] unknown key "
				    "'%s'\n", file, conf_line(file, sec, k),
				    sec, k);
				nerr++;
			}
		}
		free(keys);
	}
	return nerr;
}

#define NKEYS(t)	(sizeof(t) / sizeof((t)[0]))

/* Free every string of table tab in obj. */
static void
free_keys(const struct ckey *tab, size_t ntab, void *obj)
{
	size_t	 t;

	for (t = 0; t < ntab; t++) {
		char **slot = (char **)(void *)((char *)obj + tab[t].off);

		free(*slot);
		*slot = NULL;
	}
}

static void
partner_free(struct partner *p)
{
	free_keys(partner_keys, NKEYS(partner_keys), p);
	free(p->file);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * [sftp]: what the table cannot say.  The host key is always pinned
 * (there is no accept-any mode) and there is a way to log in.
 */
static int
sftp_check(const char *file, const struct partner *p, struct buf *errs)
{
	int	 nerr = 0;

	if (p->sftp_host == NULL) {
		if (p->sftp_user != NULL || p->sftp_inbox != NULL ||
		    p->sftp_outbox != NULL) {
			buf_printf(errs, "%s: [sftp] needs host\n", file);
			nerr++;
		}
		return nerr;
	}
	if (p->sftp_user == NULL) {
		buf_printf(errs, "%s: [sftp] needs user\n", file);
		nerr++;
	}
	if (p->sftp_key == NULL && p->sftp_password_file == NULL) {
		buf_printf(errs, "%s: [sftp] needs key or password_file\n",
		    file);
		nerr++;
	}
	if (p->sftp_known_hosts == NULL && p->sftp_fingerprint == NULL) {
		buf_printf(errs, "%s: [sftp] needs known_hosts or fingerprint: "
		    "the server's host key is always checked\n", file);
		nerr++;
	}
	if (p->sftp_fingerprint != NULL &&
	    (strncmp(p->sftp_fingerprint, "SHA256:", 7) != 0 ||
	    strlen(p->sftp_fingerprint) != 7 + 43)) {
		buf_printf(errs, "%s: [sftp] fingerprint: '%s' is not "
		    "SHA256: and 43 base64 characters (ssh-keygen -lf)\n",
		    conf_where(file, "sftp", "fingerprint"),
		    p->sftp_fingerprint);
		nerr++;
	}
	if (p->sftp_after != NULL && strcmp(p->sftp_after, "delete") != 0 &&
	    (strncmp(p->sftp_after, "move:", 5) != 0 ||
	    p->sftp_after[5] == '\0')) {
		buf_printf(errs, "%s: [sftp] after: '%s' is not delete or "
		    "move:FOLDER\n", conf_where(file, "sftp", "after"),
		    p->sftp_after);
		nerr++;
	}
	if (p->sftp_inbox == NULL && p->sftp_outbox == NULL) {
		buf_printf(errs, "%s: [sftp] needs inbox or outbox\n", file);
		nerr++;
	}
	return nerr;
}

static int
conf_partners(struct conf *c, struct buf *errs)
{
	DIR		*dir;
	struct dirent	*de;
	dictionary	*d;
	char		**names = NULL, *path;
	size_t		 n = 0, i, len;
	int		 nerr = 0;
	struct partner	*p;

	if ((dir = opendir(c->partners_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		buf_printf(errs, "%s: %s\n", c->partners_dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".ini") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", c->partners_dir, names[i]);
		if ((d = iniparser_load(path)) == NULL) {
			buf_printf(errs, "%s: cannot be read or parsed\n", path);
			nerr++;
			free(path);
			free(names[i]);
			continue;
		}
		c->partner = xreallocarray(c->partner, c->npartner + 1,
		    sizeof(*c->partner));
		p = &c->partner[c->npartner++];
		memset(p, 0, sizeof(*p));
		p->file = path;
		nerr += conf_apply(path, d, partner_keys,
		    sizeof(partner_keys) / sizeof(partner_keys[0]), p, errs);
		if (p->id == NULL)
			p->id = xstrndup(names[i], strlen(names[i]) - 4);
		nerr += sftp_check(path, p, errs);
		iniparser_freedict(d);
		free(names[i]);
	}
	free(names);
	return nerr;
}

/*
 * Apply "section.key=value" overrides to d; unknown keys are errors.
 * Returns the number of errors.
 */
static int
conf_override(dictionary *d, char *const *ovr, size_t novr, struct buf *errs)
{
	char		 sec[64], full[256];
	const char	*dot, *eq;
	size_t		 i, t;
	int		 nerr = 0;

	for (i = 0; i < novr; i++) {
		dot = strchr(ovr[i], '.');
		eq = strchr(ovr[i], '=');
		if (dot == NULL || eq == NULL || dot > eq ||
		    (size_t)(dot - ovr[i]) >= sizeof(sec)) {
			buf_printf(errs, "-o %s: not section.key=value\n",
			    ovr[i]);
			nerr++;
			continue;
		}
		snprintf(sec, sizeof(sec), "%.*s", (int)(dot - ovr[i]),
		    ovr[i]);
		for (t = 0; t < NKEYS(gateway_keys); t++)
			if (strcasecmp(gateway_keys[t].section, sec) == 0 &&
			    strlen(gateway_keys[t].key) ==
			    (size_t)(eq - dot - 1) &&
			    strncasecmp(gateway_keys[t].key, dot + 1,
			    (size_t)(eq - dot - 1)) == 0)
				break;
		if (t == NKEYS(gateway_keys)) {
			buf_printf(errs, "-o %s: unknown key [%s] %.*s\n",
			    ovr[i], sec, (int)(eq - dot - 1), dot + 1);
			nerr++;
			continue;
		}
		snprintf(full, sizeof(full), "%s:%s", gateway_keys[t].section,
		    gateway_keys[t].key);
		if (!iniparser_find_entry(d, gateway_keys[t].section))
			iniparser_set(d, gateway_keys[t].section, NULL);
		iniparser_set(d, full, eq + 1);
	}
	return nerr;
}

int
conf_load(const char *path, struct conf **out, struct buf *errs)
{
	return conf_load_with(path, NULL, 0, out, errs);
}

int
conf_load_with(const char *path, char *const *ovr, size_t novr,
    struct conf **out, struct buf *errs)
{
	struct conf	*c;
	dictionary	*d;
	int		 nerr;

	*out = NULL;
	if ((d = iniparser_load(path)) == NULL) {
		buf_printf(errs, "%s: cannot be read or parsed\n", path);
		return EG_ERR_INVAL;
	}
	if (conf_override(d, ovr, novr, errs) != 0) {
		iniparser_freedict(d);
		return EG_ERR_INVAL;
	}
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	nerr = conf_apply(path, d, gateway_keys,
	    sizeof(gateway_keys) / sizeof(gateway_keys[0]), c, errs);
	iniparser_freedict(d);
	nerr += conf_partners(c, errs);
	/* validated above; the defaults are in range */
	if (c->map_size_s != NULL)
		(void)conf_parse_size(c->map_size_s, &c->map_size);
	if (c->http_max_body_s != NULL)
		(void)conf_parse_size(c->http_max_body_s, &c->http_max_body);
	if (c->retention_s != NULL)
		(void)conf_parse_duration(c->retention_s, &c->retention);
	if (nerr) {
		conf_free(c);
		return EG_ERR_INVAL;
	}
	*out = c;
	return 0;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->npartner; i++)
		partner_free(&c->partner[i]);
	free(c->partner);
	free(c->path);
	free_keys(gateway_keys, NKEYS(gateway_keys), c);
	free(c);
}

/* Print "key = value", quoting what iniparser would cut or trim. */
static void
dump_keys(FILE *fp, const struct ckey *tab, size_t ntab, const void *obj)
{
	const char	*sec = NULL, *v;
	size_t		 t;

	for (t = 0; t < ntab; t++) {
		v = *(char *const *)(const void *)((const char *)obj +
		    tab[t].off);
		if (sec == NULL || strcmp(sec, tab[t].section) != 0) {
			fprintf(fp, "%s[%s]\n", sec ? "\n" : "",
			    tab[t].section);
			sec = tab[t].section;
		}
		if (v == NULL)
			fprintf(fp, "# %s =\t\t; %s\n", tab[t].key,
			    tab[t].help);
		else if (strcspn(v, ";#\"") != strlen(v) || *v == ' ' ||
		    (*v != '\0' && v[strlen(v) - 1] == ' '))
			fprintf(fp, "%s = \"%s\"\n", tab[t].key, v);
		else
			fprintf(fp, "%s = %s\n", tab[t].key, v);
	}
}

void
conf_dump(const struct conf *c, FILE *fp)
{
	size_t	 i;

	fprintf(fp, "# %s\n", c->path);
	dump_keys(fp, gateway_keys, NKEYS(gateway_keys), c);
	for (i = 0; i < c->npartner; i++) {
		fprintf(fp, "\n# %s\n", c->partner[i].file);
		dump_keys(fp, partner_keys, NKEYS(partner_keys),
		    &c->partner[i]);
	}
}

const struct partner *
conf_partner_x12(const struct conf *c, const char *qual, const char *id)
{
	size_t	 i, ql = strlen(qual);
	const char *x;

	for (i = 0; c != NULL && i < c->npartner; i++) {
		x = c->partner[i].x12_id;
		if (x != NULL && strncmp(x, qual, ql) == 0 && x[ql] == ':' &&
		    strcmp(x + ql + 1, id) == 0)
			return &c->partner[i];
	}
	return NULL;
}

const struct partner *
conf_partner(const struct conf *c, const char *id)
{
	size_t	 i;

	for (i = 0; c != NULL && i < c->npartner; i++)
		if (strcmp(c->partner[i].id, id) == 0)
			return &c->partner[i];
	return NULL;
}

const struct partner *
conf_partner_edifact(const struct conf *c, const char *id, const char *qual)
{
	size_t		 i, il = strlen(id);
	const char	*x;

	for (i = 0; c != NULL && i < c->npartner; i++) {
		x = c->partner[i].edifact_id;
		if (x == NULL || strncmp(x, id, il) != 0)
			continue;
		/* "id:qualifier", or "id" alone when UNB carries none */
		if ((x[il] == ':' && strcmp(x + il + 1, qual) == 0) ||
		    (x[il] == '\0' && *qual == '\0'))
			return &c->partner[i];
	}
	return NULL;
}
