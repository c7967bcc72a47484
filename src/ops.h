/*
 * ops.h: the operator's queries and actions on the store (DESIGN.md §10),
 * as jansson values.  One implementation for the CLI (cmd_ops.c,
 * cmd_action.c print them as tables or JSON) and the HTTP console
 * (http.c: /v1 JSON, the dashboard, /metrics).
 *
 * Queries read through a struct store_rtxn the caller began (and ends:
 * keep it short) and never write; they return 0 or a store EG_ERR_* code
 * (store_errmsg() says why).  Times are UTC ISO 8601 strings, ids full
 * UUID text, absent values null.  Actions take the struct store, read in
 * their own snapshot, then write one transaction per job.
 */
#ifndef OPS_H
#define OPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

struct conf;

#define OPS_NDOCSTATE	(STORE_DOC_QUARANTINED + 1)
#define OPS_NJOBSTATE	(STORE_JOB_HELD + 1)
#define OPS_NJOBKIND	(STORE_JOB_TRANSLATE + 1)
#define OPS_NACKKIND	(STORE_ACK_ERP + 1)

/* --- values --- */

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
json_t	*ops_str(const char *);
json_t	*ops_strn(const char *, size_t);
/* s, or null when NULL or "". */
json_t	*ops_opt(const char *);
/* UTC ISO 8601 to the second; null for 0 and STORE_DUE_NEVER. */
json_t	*ops_time(int64_t ms);
/* The id text; null for the all-zero id. */
json_t	*ops_id(const uint8_t id[STORE_ID_LEN]);
json_t	*ops_int(uint64_t);
/* json_object_set_new with NULL as null. */
void	 ops_set(json_t *o, const char *k, json_t *v);

const char *ops_job_kind_name(int);
/* A name of ops_*_name(1..max-1): its number, 0 when unknown. */
int	 ops_parse_name(const char *, const char *(*name)(int), int max);
const char *ops_doc_state_name(int);
const char *ops_job_state_name(int);
const char *ops_ack_kind_name(int);
/* "2024-03-01" or "2024-03-01T14:22:00Z" (end: the day's end): ms, or -1. */
int64_t	 ops_parse_time(const char *, int end);
/* The sysexits(3) code of a store EG_ERR_* code. */
int	 ops_exit(int rc);

/* Pending past its due time, or marked overdue. */
int	 ops_ack_overdue(const struct store_ack *, int64_t now);

json_t	*ops_doc_json(const struct store_doc *);
json_t	*ops_job_json(const struct store_job *);
json_t	*ops_ack_json(const struct store_ack *, int64_t now);
json_t	*ops_event_json(const struct store_event_rec *);

/* --- queries --- */

/* Every document passing f, newest first (f->before moves). */
typedef int (*ops_doc_fn)(void *arg, const struct store_doc *);
int	 ops_each_doc(struct store_rtxn *, struct store_doc_filter *,
	    ops_doc_fn, void *arg);

/* Counts over the whole store: `edigate status` and /metrics. */
struct ops_tally {
	int64_t		 now;
	uint64_t	 doc[OPS_NDOCSTATE], unreadable;
	uint64_t	 job[OPS_NJOBKIND][OPS_NJOBSTATE];
	int64_t		 oldest[OPS_NJOBKIND];	/* created, of pending jobs */
	uint64_t	 ack[OPS_NACKKIND][4];	/* pending, overdue, rejected,
						   accepted */
};
int	 ops_tally(struct store_rtxn *, int64_t now, struct ops_tally *);

/*
 * One row per partner (configured first, in the configuration's order,
 * then those only the store knows): id, configured, name, x12_id,
 * edifact_id, ack, documents {total, STATE: n}, last_received, acks
 * {pending, overdue, rejected}, acks_by_kind {KIND: {pending, overdue,
 * rejected, accepted}}.  cf may be NULL.
 */
/* A channel's state as its poller last stored it (store_chan_put). */
json_t	*ops_chan_json(const char *partner, const char *channel,
	    const struct store_chan *, int64_t now);
/* Every channel's state, an array of ops_chan_json() objects. */
int	 ops_channels(struct store_rtxn *, int64_t now, json_t **out);
int	 ops_partners(struct store_rtxn *, const struct conf *, int64_t now,
	    json_t **rows);

/*
 * Documents newest first.  po: only the documents of that PO's chain
 * (ops_chain); from, to: received in [from, to] (0: open).  limit 0: all.
 * next (may be NULL) gets the cursor of the following page, all zero at
 * the end.
 */
struct ops_docq {
	const char	*partner;
	const char	*doctype;
	enum store_doc_state state;		/* 0: any */
	const char	*po;
	int64_t		 from, to;
	uint8_t		 before[STORE_ID_LEN];	/* cursor; zero: newest */
	long		 limit;
};
int	 ops_docs(struct store_rtxn *, const struct conf *,
	    const struct ops_docq *, json_t **rows,
	    uint8_t next[STORE_ID_LEN]);

/*
 * A document: {document, diagnostics, events, jobs, acks, acks_sent}
 * (acks_sent: the functional acknowledgements written with it).
 */
int	 ops_doc_detail(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    int64_t now, json_t **out);
/* An event: {id, doc, event, jobs, acks}. */
int	 ops_event_detail(struct store_rtxn *,
	    const uint8_t id[STORE_ID_LEN], int64_t now, json_t **out);
/*
 * Event summaries: of document doc (not NULL), of business key biz (not
 * NULL), else of every document, newest document first; limit 0: all.
 */
int	 ops_events(struct store_rtxn *, const uint8_t *doc, const char *biz,
	    long limit, json_t **rows);
/* Expectations, filtered (NULL, 0: any). */
int	 ops_acks(struct store_rtxn *, const char *partner, int kind,
	    int overdue_only, int64_t now, json_t **rows);
/*
 * Jobs (due order), filtered (0: any); dlq: dead jobs only, each with
 * what it was about (event_type, partner, subject, doc).
 */
int	 ops_jobs(struct store_rtxn *, int dlq, int state, int kind,
	    json_t **rows);
/*
 * The chain of a PO number across the configured partners' order keys
 * (order:PARTNER:PO): {po, documents, events, acks, jobs, steps}; steps is
 * the time line (time, step, doc, event, state, text), oldest first.
 * partner (may be NULL) narrows it to one.
 */
int	 ops_chain(struct store_rtxn *, const struct conf *,
	    const char *partner, const char *po, int64_t now, json_t **out);

/* --- ids and actions --- */

enum { OPS_ID_DOC = 1, OPS_ID_EVENT, OPS_ID_JOB };
/*
 * An id or unique prefix of a document, event or job: 0 with *kind and
 * id, else a sysexits code with why in err (64 not an id or ambiguous, 66
 * none, other: a store error).
 */
int	 ops_resolve(struct store_rtxn *, const char *text, int *kind,
	    uint8_t id[STORE_ID_LEN], char *err, size_t errsz);

enum ops_act { OPS_REPLAY, OPS_HOLD, OPS_RELEASE };
const char *ops_act_name(enum ops_act);
/*
 * replay, hold or release the object text names (cmd_action.c's rules).
 * *result gets {action, id, done: [lines], errors: [lines]} (also on
 * failure).  Returns 0, or a sysexits code: 64 a bad or ambiguous id, 65
 * nothing in a state the action applies to, 66 no such id, 69 a job the
 * daemon moved meanwhile, another for a store error.
 */
int	 ops_action(struct store *, enum ops_act, const char *text,
	    json_t **result);

#endif /* OPS_H */
