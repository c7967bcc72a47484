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
#include "err.h"
#include "xmalloc.h"

enum ctype { CT_STRING, CT_PATH, CT_ENUM, CT_ZONE, CT_SIZE, CT_DURATION };

struct ckey {
	const char	*section;
	const char	*key;
	enum ctype	 type;
	const char	*def;
	const char	*choices;	/* CT_ENUM: "|"-separated; CT_SIZE and
					   CT_DURATION: "min|max" */
	size_t		 off;		/* in struct conf or struct partner */
	const char	*help;
};

#define C(f)	offsetof(struct conf, f)
#define P(f)	offsetof(struct partner, f)

static const struct ckey gateway_keys[] = {
	{ "gateway", "state_dir", CT_PATH, "/var/lib/edigate", NULL,
	  C(state_dir), "LMDB environment and work files" },
	{ "gateway", "partners_dir", CT_PATH, "partners.d", NULL,
	  C(partners_dir), "one NAME.ini per trading partner" },
	{ "gateway", "maps_dir", CT_PATH, NULL, NULL, C(maps_dir),
	  "maps folder (default: the installed maps)" },
	{ "store", "map_size", CT_SIZE, "4G", "1M|1T", C(map_size_s),
	  "largest size of the LMDB environment (K, M, G, T)" },
	{ "store", "retention", CT_DURATION, "90d", "1h|36500d",
	  C(retention_s), "keep raw bytes of finished documents this long" },
	{ "identity", "x12_id", CT_STRING, NULL, NULL, C(x12_id),
	  "our ISA qualifier:id" },
	{ "identity", "edifact_id", CT_STRING, NULL, NULL, C(edifact_id),
	  "our UNB id:qualifier" },
};

static const struct ckey partner_keys[] = {
	{ "partner", "id", CT_STRING, NULL, NULL, P(id),
	  "partner id (default: the file name)" },
	{ "partner", "name", CT_STRING, NULL, NULL, P(name), "display name" },
	{ "partner", "x12_id", CT_STRING, NULL, NULL, P(x12_id),
	  "ISA05:ISA06 of the partner" },
	{ "partner", "edifact_id", CT_STRING, NULL, NULL, P(edifact_id),
	  "UNB S002 id:qualifier of the partner" },
	{ "partner", "ack", CT_ENUM, "997", "997|999|contrl|none", P(ack),
	  "functional acknowledgement to return" },
	{ "partner", "timezone", CT_ZONE, "UTC", NULL, P(timezone),
	  "zone of business timestamps" },
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

int
conf_parse_duration(const char *s, long long *out)
{
	long long	 v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (0x7fffffffffffffffLL - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0': case 's':	break;
	case 'm':		mul = 60; break;
	case 'h':		mul = 3600; break;
	case 'd':		mul = 86400; break;
	default:		return -1;
	}
	if (*p != '\0')
		p++;
	if (*p != '\0' || (v != 0 && v > 0x7fffffffffffffffLL / mul))
		return -1;
	*out = v * mul;
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
			buf_printf(errs, "%s:%d: [%s] %s: '%s' is not one of "
			    "%s\n", file, conf_line(file, tab[t].section,
			    tab[t].key), tab[t].section, tab[t].key, v,
			    tab[t].choices);
			nerr++;
			continue;
		}
		if ((tab[t].type == CT_SIZE || tab[t].type == CT_DURATION) &&
		    !bounded(tab[t].type, v, tab[t].choices)) {
			buf_printf(errs, "%s:%d: [%s] %s: '%s' is not a %s "
			    "from %s\n", file, conf_line(file, tab[t].section,
			    tab[t].key), tab[t].section, tab[t].key, v,
			    tab[t].type == CT_SIZE ? "size (4G, 512M, ...)" :
			    "duration (30s, 5m, 2h, 7d)", tab[t].choices);
			nerr++;
			continue;
		}
		if (tab[t].type == CT_ZONE && !zone_ok(v)) {
			buf_printf(errs, "%s:%d: [%s] %s: unknown time zone "
			    "'%s' (an IANA name such as America/New_York)\n",
			    file, conf_line(file, tab[t].section, tab[t].key),
			    tab[t].section, tab[t].key, v);
			nerr++;
			continue;
		}
		free(*slot);
		*slot = tab[t].type == CT_PATH ? resolve(file, v) : xstrdup(v);
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

static void
partner_free(struct partner *p)
{
	free(p->id);
	free(p->name);
	free(p->x12_id);
	free(p->edifact_id);
	free(p->ack);
	free(p->timezone);
	free(p->file);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
		iniparser_freedict(d);
		free(names[i]);
	}
	free(names);
	return nerr;
}

int
conf_load(const char *path, struct conf **out, struct buf *errs)
{
	struct conf	*c;
	dictionary	*d;
	int		 nerr;

	*out = NULL;
	if ((d = iniparser_load(path)) == NULL) {
		buf_printf(errs, "%s: cannot be read or parsed\n", path);
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
	free(c->state_dir);
	free(c->maps_dir);
	free(c->partners_dir);
	free(c->map_size_s);
	free(c->retention_s);
	free(c->x12_id);
	free(c->edifact_id);
	free(c);
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
