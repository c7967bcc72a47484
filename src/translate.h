/*
 * translate.h: the translation pipeline for one input: sniff the syntax,
 * parse, choose a map per transaction set, build the loop tree, map, wrap
 * in a CloudEvent.  Used by `edigate translate`, `map run`, `map test` and
 * (later) the daemon's translate workers.  No I/O of its own: events and
 * diagnostics go to callbacks.
 */
#ifndef TRANSLATE_H
#define TRANSLATE_H

#include <stddef.h>
#include <time.h>

#include "slice.h"

/* Events held in out while the input is hashed (out_held), at most. */
#define TRANSLATE_HOLD_MAX	(8U * 1024 * 1024)

struct buf;
struct catalog;
struct conf;
struct diag;
struct map;
struct x12_ack;
struct edifact_ack;

struct translate_opts {
	/*
	 * Maps are selected on the calling thread only, also with threads
	 * (the pool's workers get a selected, compiled map): so a lazy
	 * catalogue (catalog_load_lazy), which compiles as it selects, is
	 * never written to by two threads.
	 */
	const struct catalog *cat;
	const struct conf *conf;	/* partners; may be NULL */
	const struct map *force_map;	/* -m: every set uses this map */
	const char	*partner;	/* -p: partner id; NULL: from envelope */
	const char	*filename;	/* as given, for diagnostics */
	const char	*protocol;	/* data.source.channel.protocol */
	const char	*doc_id;
	struct timespec	 received;
	int		 drop_behind;	/* input is a file mapping: madvise */
	/*
	 * Threads working on the input's X12 and EDIFACT sets (tree, map,
	 * event), the caller's included, which also parses; 0 or 1: the
	 * caller's only.  The effects (callbacks, acknowledgements,
	 * statistics) stay on the caller's thread and in set order: the
	 * output is the same.  Ignored with trace.
	 */
	int		 threads;
	struct x12_ack	*ack;		/* observes X12 parses; may be NULL */
	struct edifact_ack *contrl;	/* observes EDIFACT parses; may be NULL */
	/*
	 * One event as compact JSON text (no newline), valid during the
	 * call; return non-zero to stop.
	 */
	int		(*on_event)(void *arg, const char *json, size_t len);
	/*
	 * Where events are written; NULL: a buffer of translate's own.  An
	 * event is appended at out's end and handed to on_event where it
	 * lies, so that a caller collecting output in blocks (the CLI's
	 * stdout) need not copy it; on_event may add to out or empty it.
	 * An event's cap (EG_MAX_EVENT_SIZE) counts from where it starts:
	 * out->max must leave that much room past what the caller keeps.
	 */
	struct buf	*out;
	/*
	 * With out and threads: where translate says that out holds events
	 * whose rawRef.sha256 is a stand-in, while the first worker still
	 * hashes the input (*out_held 1; on_event may see them so).  They
	 * are mended before *out_held is 0 again; meanwhile the caller must
	 * not write out out or empty it, and out->max must leave
	 * TRANSLATE_HOLD_MAX more room.  NULL: events wait for the hash.
	 */
	int		*out_held;
	/*
	 * A group (level 1) or interchange (level 2) ended; ok 0 when an
	 * envelope error rejects it, and with it the events of its sets
	 * already handed to on_event (the daemon holds events until their
	 * trailers validated).  May be NULL.
	 */
	void		(*on_envelope)(void *arg, int level, int ok);
	void		(*on_diag)(void *arg, const struct diag *);
	void		(*trace)(void *arg, const char *line);
	void		*arg;
};

struct translate_stats {
	unsigned	 sets;		/* transaction sets seen */
	unsigned	 translated;	/* events produced */
	unsigned	 rejected;	/* sets rejected (syntax, map, no map) */
	unsigned	 envelope_errors; /* groups/interchanges rejected */
	unsigned	 errors;	/* error diagnostics in all */
	int		 not_edi;	/* no syntax recognised */
};

/*
 * Returns 0 when every document translated, EG_ERR_REJECTED when anything
 * was rejected (the others were still delivered), another negative
 * EG_ERR_* when parsing stopped early.
 */
int	translate_bytes(struct slice input, const struct translate_opts *,
	    struct translate_stats *);

#endif /* TRANSLATE_H */
