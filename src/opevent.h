/*
 * opevent.h: the operational events (EVENTS.md §3.9), document.rejected
 * and ack.overdue, as CloudEvents JSON text ready for the store.
 */
#ifndef OPEVENT_H
#define OPEVENT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct opevent {
	uint8_t	 id[STORE_ID_LEN];	/* the CloudEvents id */
	char	*json;		/* compact JSON text (malloc'd) */
	size_t	 len;
	char	*idem;		/* idempotency key (malloc'd) */
	char	*biz;		/* business key (malloc'd), or NULL */
};
void	opevent_free(struct opevent *);

/*
 * document.rejected for doc: reason is one of EVENTS.md's words (syntax,
 * envelope, map, unknown-partner, limit), message the operator's text,
 * diags a JSON array text (may be NULL), ack_type and ack_ctl the
 * negative acknowledgement queued (NULL: none).  0, or EG_ERR_*.
 */
int	opevent_rejected(const struct store_doc *doc, const char *reason,
	    const char *message, const char *diags, size_t diagslen,
	    const char *ack_type, const char *ack_ctl, struct opevent *out);
/* The reason word for a diagnostic code (X12-GE-COUNT: envelope, ...). */
const char *opevent_reason(const char *code);

/* ack.overdue for the expectation a.  0, or EG_ERR_*. */
int	opevent_overdue(const struct store_ack *a, struct opevent *out);

#endif /* OPEVENT_H */
