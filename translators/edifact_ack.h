/*
 * edifact_ack.h: CONTRL syntax and service reports for received EDIFACT
 * interchanges (UCI, UCM, UCS, UCD with the validator's syntax error
 * codes), generated when UNB asks for one (0031 = 1) or the partner
 * requires it.  Same shape as x12_ack.h: a collector observes one input's
 * parse, then writes the CONTRL interchanges.  Map diagnostics never
 * reach it.  Pure: no I/O; control references are given.
 */
#ifndef EDIFACT_ACK_H
#define EDIFACT_ACK_H

#include <time.h>

#include "edi.h"

struct buf;
struct diag;
struct edifact_ack;

struct edifact_ack_opts {
	int		 always;	/* partner requires CONTRL even without 0031 */
	/* Our identity "id:qualifier" (UNB S002 form); NULL: inbound S003. */
	const char	*our_edifact_id;
	unsigned long	 icref;		/* first outbound UNB 0020 */
	unsigned long	 msgref;	/* first outbound UNH 0062 */
	struct timespec	 now;
};

/*
 * Added with the implementation: caps on what one CONTRL reports per
 * rejected message (CONTRL D:3 allows 999 UCS per UCM, 99 UCD per UCS).
 * Problems past the caps still reject the message (UCM 4).
 */
#define EDIFACT_ACK_MAX_UCS	999
#define EDIFACT_ACK_MAX_UCD	99
#define EDIFACT_ACK_MAX_ERRS	2048	/* problems kept per message */

struct edifact_ack *edifact_ack_new(const struct edifact_ack_opts *);
void		 edifact_ack_free(struct edifact_ack *);
void		 edifact_ack_diag(struct edifact_ack *, const struct diag *);
void		 edifact_ack_set(struct edifact_ack *, const struct edi_set *);
void		 edifact_ack_group_end(struct edifact_ack *,
		    const struct edi_env *, int ok);
void		 edifact_ack_interchange_end(struct edifact_ack *,
		    const struct edi_env *, int ok);
/* Append the CONTRL interchanges; returns how many, or EG_ERR_*. */
int		 edifact_ack_output(struct edifact_ack *, struct buf *out);
/* Next references after output (for the persistent counters). */
void		 edifact_ack_counters(const struct edifact_ack *,
		    unsigned long *icref, unsigned long *msgref);

#endif /* EDIFACT_ACK_H */
