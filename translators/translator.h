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

#include <stdatomic.h>
#include <stdint.h>

struct diag_sink;
struct edi_handler;

/*
 * Sets parsed on other threads (docs/performance.md, "Threads").  A parser
 * may offer its handler a set it has found whole (msg below): the set's
 * bytes, and a snapshot of the state it reads them in (delimiters,
 * character set, envelope headers), shared by the sets it offers and
 * counted by edi_snap_hold() and edi_snap_drop(), on any thread: the
 * parser holds one while it reads with it, a handler one for each set it
 * takes (until that set is parsed), and each thread's parser one for the
 * snapshot it last read from.  A handler that takes a set parses it
 * later, on any thread, with its translator's msg_parse.
 */
struct edi_snap {
	atomic_uint	 refs;
	void		(*free)(struct edi_snap *);
};

struct edi_msg {
	struct edi_snap	*snap;
	struct slice	 raw;		/* header .. the trailer's terminator */
	uint32_t	 filepos;	/* of the segment before the header */
};

void		 edi_snap_hold(struct edi_snap *);
void		 edi_snap_drop(struct edi_snap *);	/* NULL: nothing */
/*
 * A thread's parser holds the snapshot it last read from (*held): 1 when
 * sn is another, now held in its place, and the parser must read it.
 */
int		 edi_snap_switch(struct edi_snap **held, struct edi_snap *sn);

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
	 * A set that may be parsed later, on another thread (struct
	 * edi_msg).  hdr has the set's envelope, doctype, version, control,
	 * raw and header segment, valid during the call.  Return 1 to take
	 * it, 0 to have the parser read it now, a negative EG_ERR_* to stop.
	 * May be NULL.
	 */
	int	(*msg)(void *arg, const struct edi_set *hdr,
		    const struct edi_msg *);
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
	/*
	 * Parse an offered set m, giving h its set and diagnostics as parse
	 * would have, with *wk a parser of the calling thread's (made when
	 * NULL, freed with wk_free).  Returns 0, a negative EG_ERR_* from h,
	 * or EG_ERR_INTERNAL when the set did not end where parse found its
	 * trailer (a bug).  NULL when the translator offers no sets.
	 */
	int		(*msg_parse)(void **wk, const struct edi_msg *m,
			    const struct edi_handler *h, void *arg);
	void		(*wk_free)(void *wk);
};

extern const struct translator translator_x12;
extern const struct translator translator_xml;
extern const struct translator translator_edifact;

/* The translator whose sniff accepts input, or NULL. */
const struct translator *translator_sniff(struct slice input);
const struct translator *translator_find(const char *name);

#endif /* TRANSLATOR_H */
