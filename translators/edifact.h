/*
 * edifact.h: UN/EDIFACT tokenizer and envelope state machine.  The public
 * entry point is translator_edifact (translator.h); this header exposes
 * what tests, acknowledgements and benchmarks use directly.
 */
#ifndef EDIFACT_H
#define EDIFACT_H

#include <stddef.h>

#include "edi.h"
#include "slice.h"

/*
 * Tokenizer only, for benchmarks and fuzzing: count segments of input
 * (a UNA counts as one, as filepos does).  Returns the count or a negative
 * EG_ERR_* (EG_ERR_SYNTAX when input does not start with UNA, UNB or UNH).
 */
long	edifact_count_segments(struct slice input);

/*
 * Added for `edigate ack`: the UNB S002 sender id (0004) and qualifier
 * (0007) of the first interchange, trimmed, unescaped, as received (no
 * character set conversion), for the partner lookup.  Returns 0, or
 * EG_ERR_SYNTAX when the input does not start with [UNA] UNB.
 */
int	edifact_unb_sender(struct slice input, char *id, size_t idlen,
	    char *qual, size_t quallen);

/*
 * The UNB of the first interchange, for intake: sender and recipient
 * (S002, S003: id and qualifier) and the control reference (0020),
 * trimmed and unescaped, as received.  Returns 0, or EG_ERR_SYNTAX when
 * the input does not start with [UNA] UNB.
 */
#define EDIFACT_UNB_FIELD	72
struct edifact_unb {
	char	 sender_id[EDIFACT_UNB_FIELD], sender_qual[EDIFACT_UNB_FIELD];
	char	 recipient_id[EDIFACT_UNB_FIELD];
	char	 recipient_qual[EDIFACT_UNB_FIELD];
	char	 control[EDIFACT_UNB_FIELD];
};
int	edifact_unb_peek(struct slice input, struct edifact_unb *);

#endif /* EDIFACT_H */
