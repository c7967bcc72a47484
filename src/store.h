/*
 * store.h: the durable state of the gateway (DESIGN.md §4), one LMDB
 * environment with the named databases docs, blobs, events, doc_events,
 * idem, biz, ctl, jobs, acks, ctrseq and meta.
 *
 * Contract, in the manner of lmdb.h:
 *
 * - Every function returns 0 or a negative EG_ERR_* code.  On failure
 *   store_errmsg() returns one line saying what failed, for this thread,
 *   until the thread's next failing store call.  The store never logs and
 *   never aborts on stored data: a record that fails validation is
 *   EG_ERR_SYNTAX (the caller quarantines it, store_doc_mark()).
 * - Every write function is one LMDB write transaction and returns 0 only
 *   after mdb_txn_commit() returned 0 (the environment is never opened
 *   with MDB_NOSYNC): what it reports is durable.  On failure nothing of
 *   the call was written.  MDB_MAP_FULL is EG_ERR_LIMIT with the message
 *   "store full (map_size N): raise [store] map_size".
 * - Out-parameters are filled only on success, unless said otherwise.
 *   Structures returned by value (struct store_doc, struct store_job) own
 *   their text (fixed arrays); slices returned through a struct store_rtxn
 *   point into the memory map and stay valid until store_rtxn_end().
 * - Threads: one struct store is shared by all threads of the daemon;
 *   each call runs its own transaction, writers serialize on LMDB's
 *   writer lock.  A struct store_rtxn is used by one thread at a time
 *   (it may be handed to another thread between calls).
 * - Processes: never open the same store twice in one process (LMDB's
 *   POSIX locks would be dropped by the second close; store_open() refuses
 *   it), and never use a struct store in a child after fork().
 *
 * Times are milliseconds since the epoch, UTC (int64_t).  Ids are 16-byte
 * UUIDv7 values (time-ordered, so key order is arrival order).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "eglimits.h"
#include "slice.h"

#define STORE_ID_LEN		16
#define STORE_SHA_LEN		32
#define STORE_ID_TEXT		37	/* 8-4-4-4-12 hex plus NUL */
#define STORE_SCHEMA		1	/* the schema this code writes */
#define STORE_MAP_SIZE_DEFAULT	(4ULL * 1024 * 1024 * 1024)
#define STORE_DUE_NEVER		INT64_MAX	/* held, done and dead jobs */

struct store;
struct store_rtxn;

/* store_open() flags. */
#define STORE_RDONLY	0x1	/* CLI: no writes; works beside the daemon */

/*
 * Open (and, unless STORE_RDONLY, create) the environment in directory
 * path: its last component is created with mode 0700 when missing.
 * map_size is the LMDB map size in bytes (rounded up to the page size);
 * 0 means STORE_MAP_SIZE_DEFAULT for a writer and the size recorded in the
 * environment for a reader.  The schema in meta is checked: a store
 * written by a newer edigate is EG_ERR_UNSUPPORTED, a path without a store
 * EG_ERR_NOTFOUND, an unreadable meta EG_ERR_SYNTAX, a store this process
 * has open already EG_ERR_INVAL.  *out is freed by store_close().
 */
int	 store_open(const char *path, size_t map_size, int flags,
	    struct store **out);
/* Close; every store_rtxn of s must have ended.  NULL is a no-op. */
void	 store_close(struct store *);
/* The instance id written when the store was created. */
void	 store_instance(const struct store *, uint8_t out[STORE_ID_LEN]);
/* The message of this thread's last failing store call ("" if none). */
const char *store_errmsg(void);

/*
 * Clear reader slots left by dead processes (mdb_reader_check); *dead
 * (may be NULL) gets their number.  For the daemon's timer.
 */
int	 store_reader_check(struct store *, int *dead);

/*
 * Hot backup into directory dir, which must exist and hold no data.mdb
 * (mdb_env_copy2: a consistent snapshot taken in a read transaction, so it
 * runs while writers commit; compact != 0 adds MDB_CP_COMPACT, which omits
 * free pages and renumbers them).
 */
int	 store_backup(struct store *, const char *dir, int compact);

/* Numbers for `edigate status` and /metrics. */
enum store_db {
	STORE_DB_DOCS, STORE_DB_BLOBS, STORE_DB_EVENTS, STORE_DB_DOC_EVENTS,
	STORE_DB_IDEM, STORE_DB_BIZ, STORE_DB_CTL, STORE_DB_JOBS,
	STORE_DB_ACKS, STORE_DB_CTRSEQ, STORE_DB_META,
	STORE_NDB
};
struct store_stat {
	uint64_t	 map_size;	/* bytes */
	uint64_t	 used;		/* bytes up to the last used page */
	unsigned int	 readers, max_readers;
	uint64_t	 entries[STORE_NDB];
};
int	 store_stat(struct store *, struct store_stat *);
const char *store_db_name(enum store_db);

/* --- ids and time --- */

/* A new UUIDv7 for time ms, increasing within this process. */
void	 store_uuid7(int64_t ms, uint8_t out[STORE_ID_LEN]);
/* 8-4-4-4-12 lowercase hex. */
void	 store_id_format(const uint8_t id[STORE_ID_LEN],
	    char out[STORE_ID_TEXT]);
/* Full id text (with or without dashes): 0, or EG_ERR_INVAL. */
int	 store_id_parse(const char *text, uint8_t out[STORE_ID_LEN]);
int64_t	 store_now(void);

/* --- documents --- */

enum store_doc_state {		/* stored values: never renumber */
	STORE_DOC_RECEIVED = 1,
	STORE_DOC_TRANSLATED = 2,
	STORE_DOC_REJECTED = 3,
	STORE_DOC_DUPLICATE = 4,
	STORE_DOC_QUARANTINED = 5,
};
enum store_direction {
	STORE_INBOUND = 1,
	STORE_OUTBOUND = 2,
};
const char *store_doc_state_name(enum store_doc_state);

#define STORE_DOCF_PURGED	0x1	/* raw bytes removed by retention */

#define STORE_FIELD	(EG_MAX_STORE_FIELD + 1)
struct store_doc {
	uint8_t		 id[STORE_ID_LEN];
	enum store_doc_state state;
	enum store_direction direction;
	uint32_t	 flags;		/* STORE_DOCF_* */
	int64_t		 received;	/* ms */
	int64_t		 updated;	/* last state change, ms */
	uint64_t	 size;		/* bytes of the blob */
	uint8_t		 sha256[STORE_SHA_LEN];	/* of the blob */
	char		 partner[STORE_FIELD];	/* partner id, required */
	char		 channel[STORE_FIELD];	/* e.g. "sftp:acme-in" */
	char		 name[STORE_FIELD];	/* file or AS2 Message-ID */
	char		 syntax[STORE_FIELD];	/* x12, edifact, xml */
	char		 doctype[STORE_FIELD];	/* 850, ORDERS, OrderRequest */
	char		 sender[STORE_FIELD];	/* ISA05:ISA06, UNB S002, ... */
	char		 receiver[STORE_FIELD];
	char		 icn[STORE_FIELD];	/* interchange control number */
	char		 gcn[STORE_FIELD];	/* group (first group) */
	char		 scn[STORE_FIELD];	/* set (first set) */
	char		 error[EG_MAX_STORE_ERROR + 1];	/* why rejected, ... */
	uint8_t		 about[STORE_ID_LEN];	/* the document this one answers
					   (an acknowledgement's inbound
					   document); zero: none */
	size_t		 diagslen;	/* bytes for store_doc_diags() */
	int		 unreadable;	/* store_doc_list() only: record failed
					   validation; id and error are set */
};

/* One control-number ledger entry (ctl) written by store_ingest(). */
enum store_level {		/* stored values: never renumber */
	STORE_LVL_ISA = 1,	/* ISA13 */
	STORE_LVL_GS = 2,	/* GS06 */
	STORE_LVL_ST = 3,	/* ST02 */
	STORE_LVL_UNB = 4,	/* UNB 0020 */
	STORE_LVL_UNG = 5,	/* UNG 0048 */
	STORE_LVL_UNH = 6,	/* UNH 0062 */
	STORE_LVL_CXML = 7,	/* cXML payloadID */
	STORE_LVL_AS2 = 8,	/* AS2 Message-ID */
};
struct store_ctl {
	enum store_level level;
	const char	*sender;	/* as in the envelope, <= KEYPART */
	const char	*number;	/* control number, <= KEYPART */
};

struct store_ingest_res {
	uint8_t		 id[STORE_ID_LEN];	/* the new document */
	uint8_t		 sha256[STORE_SHA_LEN];
	size_t		 ndup;		/* ctl entries seen before */
	uint8_t		 dup_of[STORE_ID_LEN];	/* that of the first one */
};

/*
 * Commit a received document in one transaction: its record (docs), the
 * raw bytes (blobs) and its control-number ledger entries (ctl: partner +
 * level + sender + number -> doc id).  doc->id all zero: the store assigns
 * a UUIDv7 for doc->received (0: now); doc->state 0 means received (the
 * only other accepted state is quarantined, e.g. an unknown sender),
 * doc->direction 0 inbound; doc->flags must be 0;
 * doc->size and doc->sha256 are ignored and computed from raw.  A ctl entry
 * already recorded by an earlier document is not overwritten: it is
 * counted in res->ndup (the document is still committed: durable before
 * acknowledged; deciding what a duplicate interchange means is the
 * caller's).  An entry repeated within the same call is not a duplicate.
 * Returns after the commit: EG_ERR_INVAL for a bad record, EG_ERR_LIMIT for
 * raw over EG_MAX_DOC_SIZE or a full map.
 */
int	 store_ingest(struct store *, const struct store_doc *doc,
	    struct slice raw, const struct store_ctl *ctl, size_t nctl,
	    struct store_ingest_res *res);

/*
 * One event to store.  id all zero: assigned.  json is the CloudEvents
 * text (<= EG_MAX_EVENT_SIZE), idem the idempotency key (required), biz
 * the business key (NULL: none), both <= EG_MAX_STORE_KEYTEXT.  duplicate
 * and dup_of are set by the call: when duplicate is 1 the event was not
 * written and dup_of names the stored event with the same key.
 */
struct store_event {
	uint8_t		 id[STORE_ID_LEN];
	const char	*json;
	size_t		 jsonlen;
	const char	*idem;
	const char	*biz;
	int		 duplicate;			/* out */
	uint8_t		 dup_of[STORE_ID_LEN];		/* out */
};

/*
 * Events of document id, in one transaction: each new event goes to
 * events, doc_events (after the document's earlier events), idem
 * (sha256(idem) -> event id) and biz (sha256(biz) + event id), and, when
 * target is not NULL, a forward job due now (jobs).  An idempotency key
 * already present (also earlier in ev[]) makes the event a duplicate:
 * nothing is written for it.  The document becomes translated, or
 * duplicate when nev > 0 and every event was one; *state (may be NULL)
 * gets which.  Allowed from received, rejected and quarantined (replay);
 * otherwise EG_ERR_INVAL.  A document record failing validation is
 * EG_ERR_SYNTAX.  ev[].id of new events is filled in.
 */
int	 store_translated(struct store *, const uint8_t id[STORE_ID_LEN],
	    struct store_event *ev, size_t nev, const char *target,
	    enum store_doc_state *state);

/*
 * More events of document id without changing its state (operational
 * events: ack.overdue), in one transaction, as store_translated() writes
 * them: duplicates by idempotency key are skipped (*ndup, may be NULL,
 * gets how many), new ones get a forward job to target (NULL: none) and,
 * when erp_due is not 0, an ERP expectation.
 */
int	 store_events_add(struct store *, const uint8_t id[STORE_ID_LEN],
	    struct store_event *ev, size_t nev, const char *target,
	    int64_t erp_due, size_t *ndup);

/*
 * The document is rejected: reason (short, <= EG_MAX_STORE_ERROR, cut
 * when longer) into its error, diags (a JSON array text,
 * <= EG_MAX_STORE_DIAGS; NULL none) kept with the record; ev[] (may be
 * empty: the document.rejected operational events) written as by
 * store_translated().  Same allowed states as store_translated().
 */
int	 store_rejected(struct store *, const uint8_t id[STORE_ID_LEN],
	    const char *reason, const char *diags, size_t diagslen,
	    struct store_event *ev, size_t nev, const char *target);

/*
 * Move document id to state duplicate (from received, rejected,
 * quarantined) or quarantined (from any state) with reason.  Quarantining
 * a record that fails validation keeps its bytes: they are copied to
 * blobs under id + 0x01 and the record is replaced by a minimal valid one
 * (state quarantined, error "unreadable record: ..."); nothing is deleted.
 */
int	 store_doc_mark(struct store *, const uint8_t id[STORE_ID_LEN],
	    enum store_doc_state, const char *reason);

/*
 * Retention: delete the raw bytes of up to max finished documents
 * (translated, duplicate, rejected) received before `before`, oldest
 * first from the id in cursor (all zero: the oldest), and flag them
 * STORE_DOCF_PURGED; records stay.  One transaction per call; *n gets how
 * many were purged and cursor where the next call goes on (all zero: the
 * end was reached).  Received and quarantined documents keep their bytes,
 * and so do records failing validation.
 */
int	 store_purge_blobs(struct store *, int64_t before, size_t max,
	    uint8_t cursor[STORE_ID_LEN], size_t *n);

/* --- reading: one read transaction per struct store_rtxn --- */

/*
 * A read snapshot.  Keep it short: it pins pages, so the file grows while
 * it is open.  Slices it returns are valid until store_rtxn_end().
 */
int	 store_rtxn_begin(struct store *, struct store_rtxn **);
void	 store_rtxn_end(struct store_rtxn *);

/* By id: 0, EG_ERR_NOTFOUND, EG_ERR_SYNTAX (failed validation). */
int	 store_doc_get(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    struct store_doc *);
/*
 * By id text or a unique hex prefix of it (dashes ignored):
 * EG_ERR_NOTFOUND, EG_ERR_INVAL when not hex or ambiguous.
 */
int	 store_doc_find(struct store_rtxn *, const char *idtext,
	    struct store_doc *);
/* The diagnostics JSON of a rejected document ({0,0} when none). */
int	 store_doc_diags(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    struct slice *);

struct store_doc_filter {
	const char	*partner;	/* NULL: any */
	const char	*doctype;	/* NULL: any */
	enum store_doc_state state;	/* 0: any */
	uint8_t		 before[STORE_ID_LEN];	/* page cursor; zero: newest */
};
/*
 * Newest first, up to max (<= EG_MAX_STORE_PAGE) documents older than
 * f->before that pass the filter into out[]; *n gets their number and
 * next (may be f->before itself) the cursor of the following page (all
 * zero: no more).  Records
 * failing validation are returned with unreadable = 1 when the filter has
 * no partner, type, or a state other than quarantined.
 */
int	 store_doc_list(struct store_rtxn *, const struct store_doc_filter *f,
	    struct store_doc *out, size_t max, size_t *n,
	    uint8_t next[STORE_ID_LEN]);

/*
 * The raw bytes, zero-copy.  EG_ERR_NOTFOUND when purged, EG_ERR_SYNTAX
 * when their length is not the record's size.
 */
int	 store_blob_get(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    struct slice *);

struct store_event_rec {
	uint8_t		 id[STORE_ID_LEN];
	uint8_t		 doc[STORE_ID_LEN];	/* the document it came from */
	struct slice	 json;			/* valid until rtxn end */
};
int	 store_event_get(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    struct store_event_rec *);
int	 store_event_find(struct store_rtxn *, const char *idtext,
	    struct store_event_rec *);
/*
 * Call fn for each event of a document (in order) or of a business key
 * (in arrival order).  fn returning non-zero stops the walk and that
 * value is returned.  A record failing validation stops it with
 * EG_ERR_SYNTAX.
 */
typedef int (*store_event_fn)(void *arg, const struct store_event_rec *);
int	 store_events_of_doc(struct store_rtxn *,
	    const uint8_t doc[STORE_ID_LEN], store_event_fn, void *arg);
int	 store_events_of_biz(struct store_rtxn *, const char *bizkey,
	    store_event_fn, void *arg);

/* --- jobs: forwarding events, sending documents --- */

enum store_job_state {		/* stored values: never renumber */
	STORE_JOB_PENDING = 1,
	STORE_JOB_INFLIGHT = 2,
	STORE_JOB_DONE = 3,
	STORE_JOB_DEAD = 4,
	STORE_JOB_HELD = 5,
};
enum store_job_kind {
	STORE_JOB_FORWARD = 1,	/* ref is an event, target a destination */
	STORE_JOB_SEND = 2,	/* ref is an outbound document */
	STORE_JOB_TRANSLATE = 3, /* ref is a received document */
};
const char *store_job_state_name(enum store_job_state);

/*
 * due is the key's time: pending, the next attempt; inflight, the end of
 * the lease (a job whose lease ran out, e.g. after a crash, is due again);
 * held, done and dead, STORE_DUE_NEVER (ordered by id).
 */
struct store_job {
	uint8_t		 id[STORE_ID_LEN];
	enum store_job_kind kind;
	enum store_job_state state;
	uint8_t		 ref[STORE_ID_LEN];
	char		 target[EG_MAX_STORE_TARGET + 1];
	int64_t		 due;
	int64_t		 created;
	int64_t		 first_try;	/* 0: never tried */
	int64_t		 last_try;
	uint32_t	 attempts;
	char		 error[EG_MAX_STORE_ERROR + 1];	/* last failure */
};

/*
 * A pending job due at due; *out (may be NULL) gets it.  target is
 * required, except for STORE_JOB_TRANSLATE (NULL or "": none).
 */
int	 store_job_add(struct store *, enum store_job_kind,
	    const uint8_t ref[STORE_ID_LEN], const char *target, int64_t due,
	    struct store_job *out);
/*
 * Up to max jobs with due <= now (pending, or inflight with an expired
 * lease), earliest first; *n gets their number (0: none due).  A record
 * failing validation is EG_ERR_SYNTAX.
 */
int	 store_job_next_due(struct store *, int64_t now, struct store_job *out,
	    size_t max, size_t *n);
/*
 * Move *job (as last read: its due and id name the record) to state to:
 *   pending  -> inflight   due = lease end; attempts + 1, tries stamped
 *   inflight -> inflight   (an expired lease taken again; the same)
 *   inflight -> done | dead
 *   inflight -> pending    retry at due; error recorded
 *   pending  -> held | dead, held -> pending (release, due), dead ->
 *   pending (operator replay, due)
 * error (may be NULL) replaces the job's error when not NULL.  The record
 * changed since it was read: EG_ERR_NOTFOUND; another transition:
 * EG_ERR_INVAL.  On success *job is the new record.
 */
int	 store_job_update(struct store *, struct store_job *job,
	    enum store_job_state to, int64_t due, const char *error,
	    int64_t now);
/* By id text or unique prefix, for the CLI (scans the jobs). */
int	 store_job_find(struct store_rtxn *, const char *idtext,
	    struct store_job *);

/* --- work queue: translate jobs, group commit, outcomes --- */

/*
 * Jobs are the daemon's one work queue: STORE_JOB_TRANSLATE (ref: a
 * received document) is written with the document by intake, taken by a
 * translate worker and finished in the same transaction as the
 * document's outcome; STORE_JOB_FORWARD (ref: an event) by the ERP
 * forwarder; STORE_JOB_SEND (ref: an outbound document) by the channel
 * that delivers it (target "dir:PARTNER", later "sftp:..", "as2:..").
 */

/*
 * Attachments: bytes kept beside a document's raw bytes under its id and
 * a tag (blobs key id(16) tag u8).  AS2 keeps the message as received
 * (signed and encrypted: non-repudiation of origin) and the MDN it
 * answered with (a duplicate Message-ID is answered with it again).
 * Retention purges the signed original with the raw bytes; the MDN and
 * its URL stay.
 */
enum store_attach_tag {		/* stored values: never renumber */
	STORE_ATT_SIGNED = 2,	/* the AS2 request as received */
	STORE_ATT_MDN = 3,	/* the MDN returned (headers, CRLF, body) */
	STORE_ATT_MDN_URL = 4,	/* where an asynchronous MDN goes */
	STORE_ATT_MIC = 5,	/* outbound: "MIC, alg" an MDN must return */
};
struct store_attach {
	enum store_attach_tag tag;
	struct slice	 data;
};
/* Attachment tag of document id: 0, EG_ERR_NOTFOUND. */
int	 store_attach_get(struct store_rtxn *, const uint8_t id[STORE_ID_LEN],
	    enum store_attach_tag, struct slice *);
/* Write (replace) an attachment of an existing document. */
int	 store_attach_put(struct store *, const uint8_t id[STORE_ID_LEN],
	    enum store_attach_tag, struct slice);
/*
 * The document that first recorded control number (partner, level,
 * sender, number) in the ctl ledger: 0, EG_ERR_NOTFOUND.
 */
int	 store_ctl_get(struct store_rtxn *, const char *partner,
	    enum store_level, const char *sender, const char *number,
	    uint8_t out[STORE_ID_LEN]);

/*
 * One received document for store_ingest_batch(): the fields of
 * store_ingest() plus, when translate is set, a STORE_JOB_TRANSLATE job
 * due now for it (no target), written in the same transaction.  rc, res
 * and job are set by the call for each request (res and job all zero when
 * rc is not 0, job too when translate is not set).
 */
struct store_ingest_req {
	struct store_doc doc;
	struct slice	 raw;
	const struct store_ctl *ctl;
	size_t		 nctl;
	int		 translate;
	const struct store_attach *att;	/* extra bytes kept with it */
	size_t		 natt;
	const char	*send_target;	/* not NULL: a STORE_JOB_SEND job due
					   now, ref this document (e.g. an
					   asynchronous AS2 MDN) */
	int		 rc;				/* out */
	struct store_ingest_res res;			/* out */
	struct store_job job;				/* out: the job */
};
/*
 * Group commit: every request in one write transaction (one fsync).  A
 * request that fails validation gets its rc (EG_ERR_INVAL, EG_ERR_LIMIT)
 * and is skipped; the others commit.  An LMDB failure (map full, I/O)
 * aborts all: nothing is written and that error is returned (the
 * requests' out fields then mean nothing).  Returns 0 after the commit.
 * Each request runs in a nested transaction, so one that fails inside the
 * transaction (e.g. doc.id already stored) leaves nothing either.  When a
 * request failed, store_errmsg() holds the last failed request's message
 * even though the call returns 0.  The same holds for the other batch
 * calls below.
 */
int	 store_ingest_batch(struct store *, struct store_ingest_req *, size_t n);

/* Acknowledgement ledger (acks, DESIGN.md §7). */
enum store_ack_kind {		/* stored values: never renumber */
	STORE_ACK_MDN = 1,		/* ref: AS2 Message-ID we sent */
	STORE_ACK_FUNCTIONAL = 2,	/* ref: ISA13 / UNB 0020 we sent */
	STORE_ACK_POACK = 3,		/* ref: PO number (855/ORDRSP) */
	STORE_ACK_SHIPNOTICE = 4,	/* ref: PO number (856/DESADV) */
	STORE_ACK_ERP = 5,		/* ref: event id text */
};
enum store_ack_state {		/* stored values: never renumber */
	STORE_ACK_PENDING = 1,
	STORE_ACK_ACCEPTED = 2,
	STORE_ACK_REJECTED = 3,		/* negative: reason says why */
	STORE_ACK_OVERDUE = 4,		/* past due, still resolvable */
};
const char *store_ack_kind_name(enum store_ack_kind);	/* "mdn", "functional",
							   "po_ack", "ship_notice", "erp" */
const char *store_ack_state_name(enum store_ack_state);
/* By name as above: 0 when unknown. */
enum store_ack_kind store_ack_kind_parse(const char *);

/* An expectation as stored (key: partner + kind + ref). */
struct store_ack {
	char		 partner[STORE_FIELD];
	enum store_ack_kind kind;
	char		 ref[STORE_FIELD];
	char		 bizkey[STORE_FIELD];	/* "" when none */
	uint8_t		 doc[STORE_ID_LEN];	/* what awaits it (doc or event) */
	uint8_t		 by[STORE_ID_LEN];	/* what resolved it; zero: none */
	enum store_ack_state state;
	int64_t		 created, due, resolved;	/* ms; resolved 0: not */
	char		 reason[EG_MAX_STORE_ERROR + 1];	/* negative, ERP ref */
};

/* A new expectation.  An existing one with the same key is replaced. */
struct store_expect {
	enum store_ack_kind kind;
	const char	*partner;
	const char	*ref;			/* <= EG_MAX_STORE_FIELD */
	const char	*bizkey;		/* may be NULL */
	uint8_t		 doc[STORE_ID_LEN];
	int64_t		 due;			/* ms */
};
/*
 * Resolve the expectation partner + kind + ref (pending or overdue) to
 * state (accepted or rejected) with reason (may be NULL: none; cut to
 * EG_MAX_STORE_ERROR) and by, at the time of the call.  found is set to
 * 1 when one was resolved, 0 when none was awaited (not an error; an
 * expectation accepted or rejected already is left as it is).
 */
struct store_resolve {
	enum store_ack_kind kind;
	const char	*partner;
	const char	*ref;
	enum store_ack_state state;
	const char	*reason;
	uint8_t		 by[STORE_ID_LEN];
	int		 found;				/* out */
};
int	 store_ack_expect(struct store *, const struct store_expect *);
int	 store_ack_resolve(struct store *, struct store_resolve *);
/*
 * Pending expectations with due <= now become overdue, up to max in one
 * transaction; they are copied to out[] (for the ack.overdue events) and
 * *n gets their number.  v1 scans every expectation (key order); a record
 * failing validation is skipped here (store_ack_walk() reports it).
 */
int	 store_ack_overdue(struct store *, int64_t now, struct store_ack *out,
	    size_t max, size_t *n);
/*
 * Every expectation in key order; fn non-zero stops and is returned.  A
 * record failing validation stops it with EG_ERR_SYNTAX.
 */
typedef int (*store_ack_fn)(void *arg, const struct store_ack *);
int	 store_ack_walk(struct store_rtxn *, store_ack_fn, void *arg);

/*
 * A document we send (a functional ack now; business documents later).
 * It is stored with direction outbound, state translated (generated, its
 * send job queued; retention treats it as finished) and a new id
 * (doc.state, doc.direction and doc.id are ignored); its other fields are
 * checked as by store_ingest().
 */
struct store_outbound {
	struct store_doc doc;	/* partner, syntax, doctype, name, icn, ...;
				   direction, state and id are set by the
				   store */
	struct slice	 raw;
	const struct store_ctl *ctl;	/* our control numbers, so inbound
					   997/CONTRL correlate (ctl, under
					   doc.partner; an entry recorded
					   before is kept, as by
					   store_ingest()) */
	size_t		 nctl;
	const char	*target;	/* a STORE_JOB_SEND due now; NULL: none */
	uint8_t		 id[STORE_ID_LEN];		/* out */
};

/*
 * The outcome of translating one document, all in one transaction: its
 * new state (translated, rejected, duplicate, quarantined) with reason
 * and diags as store_rejected(); its events as store_translated() (a
 * translated document whose events were all duplicates becomes
 * duplicate), each new one with a forward job to target when target is
 * not NULL and, when erp_due is not 0, an STORE_ACK_ERP expectation (ref
 * = event id text, partner = the document's, doc = the event id, bizkey =
 * the event's, cut to fit) due at erp_due; outbound documents each with
 * their send job; expectations created and resolved; and job (may be
 * NULL: a job as read by store_jobs_take(), inflight; a translate job
 * must be this document's) done.
 */
struct store_outcome {
	uint8_t		 id[STORE_ID_LEN];
	enum store_doc_state state;
	const char	*reason;
	struct slice	 diags;
	struct store_event *ev;
	size_t		 nev;
	const char	*target;
	int64_t		 erp_due;
	struct store_outbound *out;
	size_t		 nout;
	int		 out_unless_duplicate;	/* no out[] when the document
						   turns out a duplicate */
	const struct store_expect *exp;
	size_t		 nexp;
	struct store_resolve *res;
	size_t		 nres;
	struct store_job *job;
	enum store_doc_state final;			/* out */
	int		 rc;				/* out */
};
/*
 * Group commit of outcomes, as store_ingest_batch(): one that fails
 * (bad transition, record failing validation, bad event, a job changed
 * since it was read) gets its rc and nothing of it is written; the others
 * commit together.  A failed outcome's final, out[].id and res[].found
 * are 0.  *job, the caller's copy, becomes the done record only once the
 * call succeeds.
 */
int	 store_outcome_batch(struct store *, struct store_outcome *, size_t n);

/*
 * Take up to max due jobs of the kinds in mask (1 << STORE_JOB_*) and
 * move them to inflight with a lease until now + lease_ms, in one
 * transaction, earliest first, as store_job_update() (attempts + 1, tries
 * stamped); out[] gets them as updated and *n their number.  A mask of 0
 * or with other bits, or lease_ms <= 0, is EG_ERR_INVAL.  A record failing
 * validation is skipped, so that it cannot stop the queue
 * (store_job_next_due() and store_job_walk() report it).
 */
int	 store_jobs_take(struct store *, unsigned int mask, int64_t now,
	    int64_t lease_ms, struct store_job *out, size_t max, size_t *n);
/*
 * Settle inflight jobs in one transaction: each to done, pending (retry at
 * due), dead or inflight as store_job_update(), with error, and its
 * expectation resolution res (may be NULL) in the same transaction.  A
 * job that is not inflight, another target state or a bad resolution is
 * EG_ERR_INVAL, a job changed since it was read EG_ERR_NOTFOUND, in its
 * rc; a failed settlement's res->found is 0.  *job, the caller's copy,
 * becomes the new record only once the call succeeds.
 */
struct store_settle {
	struct store_job *job;
	enum store_job_state to;
	int64_t		 due;
	const char	*error;
	struct store_resolve *res;
	int		 rc;				/* out */
};
int	 store_jobs_settle(struct store *, struct store_settle *, size_t n,
	    int64_t now);
/*
 * Every job (due order); fn non-zero stops and is returned.  A record
 * failing validation stops it with EG_ERR_SYNTAX.
 */
typedef int (*store_job_fn)(void *arg, const struct store_job *);
int	 store_job_walk(struct store_rtxn *, store_job_fn, void *arg);

/* --- outbound control numbers (ctrseq) --- */

/*
 * The next outbound control number of partner at level (ISA13, GS06,
 * ST02, UNB 0020, UNG 0048, UNH 0062), persisted in the same transaction:
 * 1, 2, ... up to store_ctr_max(level), then 1 again.
 */
int	 store_ctr_next(struct store *, const char *partner, enum store_level,
	    uint64_t *out);
/* Set the number store_ctr_next() returns next (1..max). */
int	 store_ctr_set(struct store *, const char *partner, enum store_level,
	    uint64_t next);
/* 999999999 for X12, 99999999999999 for EDIFACT; 0: no counter. */
uint64_t store_ctr_max(enum store_level);

/* --- channel state (meta, "chan:PARTNER:CHANNEL") --- */

/*
 * What a channel's poller last saw, for `edigate partners` and `status`
 * (another process).  The poller writes it at most once per poll; it is
 * an observation, not a ledger: losing the last write loses nothing.
 */
struct store_chan {
	int64_t		 last_poll;	/* ms: end of the last poll; 0 never */
	int64_t		 last_ok;	/* end of the last poll without error */
	int64_t		 error_at;	/* when error was last set */
	uint64_t	 polls;		/* polls since the daemon started */
	uint64_t	 files, bytes;	/* pulled and committed, ever */
	uint64_t	 errors;	/* failed polls and uploads, ever */
	uint64_t	 sent;		/* files delivered, ever */
	uint32_t	 cycle_ms;	/* duration of the last poll */
	uint32_t	 connected;	/* 1: a session is up */
	char		 server[STORE_FIELD];	/* "host:port" */
	char		 error[EG_MAX_STORE_ERROR + 1];	/* last; "" none */
};
/*
 * Replace the state of partner's channel ("sftp"; no ':').  Text fields
 * are cut to fit.  EG_ERR_INVAL for an empty or over-long partner or
 * channel.
 */
int	 store_chan_put(struct store *, const char *partner,
	    const char *channel, const struct store_chan *);
/* 0, EG_ERR_NOTFOUND, EG_ERR_SYNTAX (unreadable record). */
int	 store_chan_get(struct store_rtxn *, const char *partner,
	    const char *channel, struct store_chan *);
/*
 * Every channel state in key order; fn non-zero stops and is returned.
 * An unreadable record stops the walk with EG_ERR_SYNTAX.
 */
typedef int (*store_chan_fn)(void *arg, const char *partner,
	    const char *channel, const struct store_chan *);
int	 store_chan_walk(struct store_rtxn *, store_chan_fn, void *arg);

#endif /* STORE_H */
