/*
 * event.h: the CloudEvents envelope around a mapped document (EVENTS.md
 * §1-§2): id, subject, keys, provenance.  Pure: the caller supplies the
 * receive time and where the bytes came from.  Events are written as
 * compact JSON text, one object, straight into a buffer.
 */
#ifndef EVENT_H
#define EVENT_H

#include <stddef.h>
#include <time.h>

struct buf;
struct edi_set;
struct event_frag;
struct map;
struct mdoc;

struct event_origin {
	const char	*partner;	/* partner id */
	const char	*protocol;	/* FILE, DIR, SFTP, AS2 */
	const char	*filename;	/* as received; NULL none */
	const char	*sha256;	/* hex of the raw input */
	/*
	 * Not NULL: set to where sha256's text lies in the event written,
	 * from its start (SIZE_MAX: not in it), for a caller that writes a
	 * stand-in of the same length and the hash once it is known.
	 */
	size_t		*sha256_at;
	const char	*doc_id;	/* stored document; NULL in the CLI */
	const char	*timezone;	/* IANA zone of business times; NULL UTC */
	struct timespec	 received;
};

/*
 * What stays the same across the sets of one input: the CloudEvents time,
 * the serialized interchange and group objects and the idempotency-key
 * prefix of the current envelope, and the generator of UUID random bits.
 * Zero-initialise; event_cache_free() at the end of the input.
 */
struct event_cache {
	uint32_t	 ici, gi;	/* envelope the fragments belong to */
	int		 valid;
	struct buf	*frag;		/* ,"interchange":{...},"group":{...} */
	char		 idem[1024];	/* idempotency key up to the set ref */
	size_t		 idemlen;
	int		 idemplain;	/* idem needs no JSON escape */
	unsigned	 envgen;	/* counts envelopes cached */
	unsigned	 envpgen;	/* pgen the envelope was made for */
	/* the last partner, and a count of its changes (pgen) */
	char		 partner[256];
	int		 pvalid;	/* partner holds it (not too long) */
	unsigned	 pgen;
	char		 time[40];
	int		 have_time;
	unsigned long long rng[2];	/* xorshift128+ (event_uuid7) */
	int		 seeded;
	/*
	 * Serialized pieces of the event that depend only on the partner,
	 * the map and the input (event.c), and what they were made for.
	 */
	struct event_frag *fr;
	int		 frvalid;
	unsigned	 frpgen;	/* pgen the pieces were made for */
	const void	*frmap, *frproto, *frfile, *frdoc, *frsha;
	int		 frsyntax;
	unsigned	 frgen;		/* counts pieces made */
	/* data.source up to its transaction, and what it was made for */
	struct buf	*src;
	int		 srcvalid;
	unsigned	 srcfrgen, srcenvgen;
	char		 srcver[64], srcdt[64];
	int		 srcdtplain;	/* srcdt needs no escape */
	size_t		 srcverlen, srcdtlen;
};
void	 event_cache_free(struct event_cache *);

/*
 * Append the event for one mapped set to out.  diags is the set's
 * diagnostics as JSON objects separated by commas (diagslen 0: none).
 * Returns 0, or EG_ERR_LIMIT when out's cap is reached.
 */
int	 event_write(struct event_cache *, struct buf *out, const struct map *,
	    const struct edi_set *, const struct mdoc *doc,
	    const char *diags, size_t diagslen, const struct event_origin *);

/*
 * A UUIDv7 (RFC 9562) for time t, as 36 characters plus NUL; the random
 * bits come from c's generator (seeded once from getrandom(2), else
 * OpenSSL), or straight from RAND_bytes when c is NULL.
 */
void	 event_uuid7(struct event_cache *c, const struct timespec *t,
	    char out[37]);

/*
 * RFC 3339 for a local date (YYYY-MM-DD) and time (HH:MM:SS) in an IANA
 * zone (NULL or "UTC": Z) into out.  0, or -1 when the zone is unknown or
 * the date or time unreadable.
 */
int	 event_rfc3339(char *out, size_t outlen, const char *date,
	    const char *time, const char *zone);

/* The partner id for a sender without configuration: ISA05-ISA06. */
char	*event_default_partner(const struct edi_set *);

#endif /* EVENT_H */
