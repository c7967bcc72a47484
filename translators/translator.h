/*
 * translator.h: the one interface every syntax module implements
 * (DESIGN.md §5).  Translators are pure: bytes in, sets and diagnostics out
 * through callbacks; no I/O, no LMDB, no global state.  They are registered
 * in a const table (translator_find).
 */
#ifndef TRANSLATOR_H
#define TRANSLATOR_H

#include "edi.h"
#include "slice.h"

struct diag_sink;
struct edifact_msg;

struct edi_handler {
	/*
	 * One complete transaction set (header to trailer), before its tree
	 * is built.  The set and everything it points to is valid only during
	 * the call.  Return 0 to go on, a negative EG_ERR_* to stop parsing.
	 */
	int	(*set)(void *arg, struct edi_set *);
	/*
	 * A group (GS..GE, UNG..UNE) ended.  ok is 0 when an envelope error
	 * rejects the group (GE count or control number, ...).  May be NULL.
	 */
	int	(*group_end)(void *arg, const struct edi_env *, int ok);
	/* Likewise for an interchange (ISA..IEA, UNB..UNZ).  May be NULL. */
	int	(*interchange_end)(void *arg, const struct edi_env *, int ok);
	struct diag_sink *diags;	/* every diagnostic of the parse */
	/*
	 * EDIFACT: a message that may be parsed later, on another thread
	 * (edifact.h).  hdr has the set's envelope, doctype, version,
	 * control, raw and UNH, valid during the call.  Return 1 to take
	 * it, 0 to have the parser read it now, a negative EG_ERR_* to
	 * stop.  May be NULL.
	 */
	int	(*msg)(void *arg, const struct edi_set *hdr,
		    const struct edifact_msg *);
};

struct translator {
	const char	*name;		/* "x12", "edifact", "xml" */
	/* 1 when the bytes look like this syntax (after a BOM/whitespace). */
	int		(*sniff)(struct slice input);
	/*
	 * Parse every interchange of input, handing over each set.  filename
	 * is for diagnostics only.  Returns 0 when the input was read to its
	 * end (problems are diagnostics), or a negative EG_ERR_* when parsing
	 * stopped (limit, handler stop, not this syntax at all).
	 */
	int		(*parse)(struct slice input, const char *filename,
			    const struct edi_handler *, void *arg);
};

extern const struct translator translator_x12;
extern const struct translator translator_xml;
extern const struct translator translator_edifact;

/* The translator whose sniff accepts input, or NULL. */
const struct translator *translator_sniff(struct slice input);
const struct translator *translator_find(const char *name);

#endif /* TRANSLATOR_H */
