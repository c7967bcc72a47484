/*
 * event.h: the CloudEvents envelope around a mapped document (EVENTS.md
 * §1-§2): id, subject, keys, provenance.  Pure: the caller supplies the
 * receive time and where the bytes came from.
 */
#ifndef EVENT_H
#define EVENT_H

#include <time.h>

#include <jansson.h>

struct edi_set;
struct map;

struct event_origin {
	const char	*partner;	/* partner id */
	const char	*protocol;	/* FILE, DIR, SFTP, AS2 */
	const char	*filename;	/* as received; NULL none */
	const char	*sha256;	/* hex of the raw input */
	const char	*doc_id;	/* stored document; NULL in the CLI */
	const char	*timezone;	/* IANA zone of business times; NULL UTC */
	struct timespec	 received;
};

/*
 * The event for one mapped set.  doc and diags (an array, may be NULL or
 * empty) are stolen.  Returns a new reference.
 */
json_t	*event_build(const struct map *, const struct edi_set *, json_t *doc,
	    json_t *diags, const struct event_origin *);

/* A UUIDv7 (RFC 9562) for time t, as 36 characters plus NUL. */
void	 event_uuid7(const struct timespec *t, char out[37]);

/*
 * RFC 3339 for a local date (YYYY-MM-DD) and time (HH:MM:SS) in an IANA
 * zone (NULL or "UTC": Z).  NULL when the zone is unknown.
 */
char	*event_rfc3339(const char *date, const char *time, const char *zone);

/* The partner id for a sender without configuration: ISA05-ISA06. */
char	*event_default_partner(const struct edi_set *);

#endif /* EVENT_H */
