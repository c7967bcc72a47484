/*
 * edifact.h: UN/EDIFACT tokenizer and envelope state machine.  The public
 * entry point is translator_edifact (translator.h); this header exposes
 * what tests, acknowledgements and benchmarks use directly.
 */
#ifndef EDIFACT_H
#define EDIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "slice.h"

struct edi_handler;

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

/*
 * Messages parsed on other threads (docs/performance.md, "Threads").
 * edifact_parse() offers the handler's msg callback (translator.h) each
 * message that a parser started at its UNH reads exactly as the file's
 * own parser would: its UNH read with nothing to report, in an
 * interchange without groups, with no other service segment, empty
 * segment or line break before its UNT, and a character set read without
 * iconv.  A handler that takes one (returns 1) parses it later, on any
 * thread, with edifact_msg_parse(); edifact_parse() goes on after the
 * UNT, its counts as though it had read the message itself.
 *
 * A snapshot is the interchange's reading state (delimiters, character
 * set, UNB), shared read-only by the messages offered from it; hold and
 * drop count its users, on the thread that runs edifact_parse() only.
 */
struct edifact_snap;
struct edifact_msg {
	struct edifact_snap *snap;
	struct slice	 raw;		/* UNH .. UNT's terminator */
	uint32_t	 filepos;	/* of the segment before UNH */
};
void	edifact_snap_hold(struct edifact_snap *);
void	edifact_snap_drop(struct edifact_snap *);

/* A parser for one thread's messages, kept from one to the next. */
struct edifact_wk;
struct edifact_wk *edifact_wk_new(void);
void	edifact_wk_free(struct edifact_wk *);
/*
 * Parse m, giving h its set and diagnostics as edifact_parse() would
 * have.  Returns 0, a negative EG_ERR_* from h, or EG_ERR_INTERNAL when
 * the message did not end where edifact_parse() found its UNT (a bug).
 */
int	edifact_msg_parse(struct edifact_wk *, const struct edifact_msg *m,
	    const struct edi_handler *h, void *arg);

#endif /* EDIFACT_H */
