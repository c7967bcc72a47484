/*
 * conf.h: configuration (DESIGN.md §11): edigate.ini plus one file per
 * partner in partners.d/NAME.ini.  Every key is declared once in a table
 * (conf.c) with its type and default; unknown sections and keys are errors
 * naming the file, line, section and key.  Relative paths resolve from the
 * folder of the file that names them.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>

struct buf;

struct partner {
	char	*id;		/* defaults to the file's name */
	char	*name;
	char	*x12_id;	/* "ZZ:ACMERETAIL": ISA05:ISA06 */
	char	*edifact_id;	/* "5012345678900:14": UNB S002 id:qualifier */
	char	*ack;		/* 997 | 999 | none */
	char	*timezone;
	char	*file;
};

struct conf {
	char		*path;
	char		*state_dir;
	char		*maps_dir;	/* NULL: the default maps */
	char		*partners_dir;
	char		*map_size_s;	/* [store] map_size as written */
	char		*retention_s;	/* [store] retention as written */
	unsigned long long map_size;	/* bytes */
	long long	 retention;	/* seconds */
	char		*x12_id;	/* our identity */
	char		*edifact_id;
	struct partner	*partner;
	size_t		 npartner;
};

/*
 * "4G" (K, M, G, T: powers of 1024; no suffix: bytes) and "90d" (s, m, h,
 * d; no suffix: seconds).  0, or -1 when malformed or out of range.
 */
int	conf_parse_size(const char *, unsigned long long *);
int	conf_parse_duration(const char *, long long *);

/* Load and validate; errors appended to errs, then EG_ERR_INVAL. */
int	conf_load(const char *path, struct conf **out, struct buf *errs);
void	conf_free(struct conf *);
/* Partner by X12 sender (ISA05, ISA06 trimmed), or NULL. */
const struct partner *conf_partner_x12(const struct conf *,
	    const char *qual, const char *id);
/* Partner by EDIFACT sender (UNB S002 0004 and 0007; qual may be ""). */
const struct partner *conf_partner_edifact(const struct conf *,
	    const char *id, const char *qual);
const struct partner *conf_partner(const struct conf *, const char *id);

#endif /* CONF_H */
