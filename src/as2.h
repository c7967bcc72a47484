/*
 * as2.h: the AS2 channel (RFC 4130, DESIGN.md §8): the MIME side of
 * receiving at POST /as2 (and asynchronous MDNs at POST /as2/mdn),
 * building and parsing MDNs, and building outbound messages.  The
 * cryptography is as2_cms.c's.  HTTP itself is http.c's (receiving) and
 * outbox.c's (sending): this module takes and returns header blocks and
 * bodies.
 */
#ifndef AS2_H
#define AS2_H

#include <stddef.h>

#include "buf.h"
#include "store.h"

struct gateway;

/* What http.c sends back. */
struct as2_response {
	unsigned int	 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
};
void	 as2_response_init(struct as2_response *);
void	 as2_response_free(struct as2_response *);

/*
 * POST /as2: hdrs is the request's header block ("Name: value\r\n" ...),
 * body the request body.  Commits the payload before a processed MDN is
 * built into out (sync), or queues it (async).  Also takes asynchronous
 * MDNs for what we sent (a multipart/report body, or a signed one).
 */
void	 as2_receive(struct gateway *, const char *hdrs, size_t hlen,
	    const char *body, size_t blen, struct as2_response *out);

/*
 * Send an outbound document (doc id) to partner's [as2] url: sign,
 * encrypt, compress as configured, POST, and, for a synchronous MDN,
 * check it.  Returns 0 when delivered (the MDN outcome in *res, ready for
 * store_jobs_settle: res->found stays for the store), EG_ERR_REJECTED for
 * a permanent failure, other errors are temporary; err says why.
 */
struct as2_sent {
	int		 mdn_due;	/* an MDN is awaited (async) */
	int		 resolved;	/* sync MDN seen: state and reason */
	enum store_ack_state state;
	char		 msgid[256];
	char		 reason[EG_MAX_STORE_ERROR + 1];
};
int	 as2_send(struct gateway *, const char *partner,
	    const uint8_t doc[STORE_ID_LEN], struct as2_sent *out,
	    char *err, size_t errsz);
/* An asynchronous MDN we owe: POST it (job ref doc, attachments). */
int	 as2_send_mdn(struct gateway *, const uint8_t doc[STORE_ID_LEN],
	    char *err, size_t errsz);

#endif /* AS2_H */
