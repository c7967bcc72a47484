/*
 * envelope.h: what intake and the pipeline need to know about an input
 * before (or without) translating it: its syntax, and the sender,
 * receiver and control number of its first interchange, as received.
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include "slice.h"

#define ENVELOPE_FIELD	80

struct envelope {
	const char	*syntax;	/* "x12", "edifact", "xml"; NULL: none */
	char		 sender_qual[ENVELOPE_FIELD];	/* ISA05 | S002 0007 */
	char		 sender_id[ENVELOPE_FIELD];	/* ISA06 | S002 0004 */
	char		 receiver_qual[ENVELOPE_FIELD];
	char		 receiver_id[ENVELOPE_FIELD];
	char		 control[ENVELOPE_FIELD];	/* ISA13 | UNB 0020 */
	char		 doctype[ENVELOPE_FIELD];	/* first ST01 | UNH 0065;
							   "" unknown */
	char		 sender[2 * ENVELOPE_FIELD];	/* "ZZ:ACME" (X12),
							   "id:qual" (EDIFACT) */
	char		 receiver[2 * ENVELOPE_FIELD];
};

/*
 * Fill e from the first interchange of input.  Returns 0 (e->syntax set;
 * for XML only the syntax), or EG_ERR_SYNTAX when no syntax is recognised
 * or its header is unreadable (e->syntax may still be set).
 */
int	envelope_peek(struct slice input, struct envelope *e);

#endif /* ENVELOPE_H */
