/*
 * store.c: the LMDB store (DESIGN.md §4, contract in store.h).
 *
 * It owns the environment and every byte layout in it: keys, record
 * encodings and their validation.  Each state change is one short write
 * transaction that returns only after mdb_txn_commit() returned 0.  It must
 * never log, never abort on stored or partner data (a record that fails
 * validation is EG_ERR_SYNTAX, for the caller to quarantine), and never
 * hold a write transaction across anything slower than a memcpy: hashing
 * happens before the transaction begins.
 *
 * Environment: MDB_NOTLS, because the daemon's threads (libmicrohttpd's
 * among them, which come and go) and the CLI may hold more than one read
 * transaction per thread, and a reader slot must be released when its
 * transaction ends rather than when its thread exits.  Never MDB_NOSYNC or
 * MDB_NOMETASYNC: a commit is on disk when it returns (DESIGN §2.1).
 *
 * Record layouts (all integers big-endian; "str" is a u16 length then that
 * many bytes, no NUL inside, no terminator).  Every record starts with a
 * tag byte and a version byte; a reader accepts only the versions it
 * knows and checks that the record is consumed exactly.
 *
 *   docs    doc id(16) ->
 *           'D' 1 | id(16) | state u8 | direction u8 | flags u32 |
 *           received i64 | updated i64 | size u64 | sha256(32) |
 *           str partner, channel, name, syntax, doctype, sender,
 *           receiver, icn, gcn, scn, error | u32 n | n bytes diags JSON |
 *           [about(16): only when not zero; records without it read
 *           as about zero]
 *   blobs   doc id(16) -> the raw bytes (the record's size and sha256
 *           describe them); doc id(16) 0x01 -> the bytes of an unreadable
 *           docs record, kept when it was quarantined; doc id(16) tag
 *           (2..5, enum store_attach_tag) -> an attachment
 *   events  event id(16) -> 'E' 1 | flags u8 (0) | doc id(16) | JSON text
 *   doc_events  doc id(16) seq u32 -> event id(16)
 *   idem    sha256(idempotency key) -> event id(16)
 *   biz     sha256(business key) event id(16) -> empty
 *   ctl     partner 0x00 level u8 sender 0x00 number -> doc id(16)
 *   jobs    due i64(8) job id(16) ->
 *           'J' 1 | id(16) | kind u8 | state u8 | ref(16) | due i64 |
 *           created i64 | first_try i64 | last_try i64 | attempts u32 |
 *           str target | str error
 *           (kind 1 forward, 2 send, 3 translate: a translate job's
 *           target may be empty)
 *   ctrseq  partner 0x00 level u8 -> 'C' 1 | next u64
 *   meta    "schema" -> 'M' 1 | u32;  "instance" -> 'M' 1 | id(16);
 *           "chan:" partner ":" channel ->
 *           'H' 1 | last_poll i64 | last_ok i64 | error_at i64 |
 *           polls u64 | files u64 | bytes u64 | errors u64 | sent u64 |
 *           cycle_ms u32 | connected u8 | str partner | str channel |
 *           str server | str error
 *   acks    partner 0x00 kind u8 ref ->
 *           'A' 1 | kind u8 | state u8 | doc(16) | by(16) | created i64 |
 *           due i64 | resolved i64 | str partner | str ref | str bizkey |
 *           str reason
 *           (the key is recomputed from the record when it is read)
 *
 * A key longer than LMDB's maximum (511) is 0xFF followed by the sha256
 * of the key it stands for; partner ids never start with 0xFF.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "digest.h"
#include "eglimits.h"
#include "err.h"
#include "log.h"
#include "slice.h"
#include "store.h"
#include "xmalloc.h"

#define TAG_DOC		'D'
#define TAG_EVENT	'E'
#define TAG_JOB		'J'
#define TAG_CTR		'C'
#define TAG_META	'M'
#define TAG_ACK		'A'
#define TAG_CHAN	'H'
#define REC_V1		1

#define DOC_FIXED	80	/* bytes of a doc record before its strings */
#define EVENT_HDR	19
#define JOBKEY_LEN	(8 + STORE_ID_LEN)
#define BLOB_CORRUPT	0x01
#define HASHED_KEY	0xff
#define MAX_KEY		(2 * EG_MAX_STORE_KEYPART + EG_MAX_STORE_FIELD + 8)
#define MAX_OPEN	32

struct store {
	MDB_env		*env;
	MDB_dbi		 dbi[STORE_NDB];
	int		 rdonly;
	unsigned int	 maxkey;
	dev_t		 dev;
	ino_t		 ino;
	uint8_t		 instance[STORE_ID_LEN];
	char		 path[EG_MAX_PATH];
};

struct store_rtxn {
	struct store	*s;
	MDB_txn		*txn;
};

static const char *const db_names[STORE_NDB] = {
	"docs", "blobs", "events", "doc_events", "idem", "biz", "ctl",
	"jobs", "acks", "ctrseq", "meta"
};

static _Thread_local char errmsg[1024];
/*
 * Set when an LMDB call failed (lmerr()): a batch tells a failing request
 * (its rc) from a failing transaction (map full, I/O), which aborts all.
 */
static _Thread_local int lmfail;

/* Environments open in this process (LMDB: never the same one twice). */
static pthread_mutex_t open_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct {
	dev_t	 dev;
	ino_t	 ino;
	int	 used;
} open_envs[MAX_OPEN];

static int __attribute__((format(printf, 2, 3)))
seterr(int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
store_errmsg(void)
{
	return errmsg;
}

const char *
store_db_name(enum store_db db)
{
	return (unsigned)db < STORE_NDB ? db_names[db] : "?";
}

const char *
store_doc_state_name(enum store_doc_state st)
{
	switch (st) {
	case STORE_DOC_RECEIVED:	return "received";
	case STORE_DOC_TRANSLATED:	return "translated";
	case STORE_DOC_REJECTED:	return "rejected";
	case STORE_DOC_DUPLICATE:	return "duplicate";
	case STORE_DOC_QUARANTINED:	return "quarantined";
	}
	return "?";
}

const char *
store_job_state_name(enum store_job_state st)
{
	switch (st) {
	case STORE_JOB_PENDING:		return "pending";
	case STORE_JOB_INFLIGHT:	return "inflight";
	case STORE_JOB_DONE:		return "done";
	case STORE_JOB_DEAD:		return "dead";
	case STORE_JOB_HELD:		return "held";
	}
	return "?";
}

/* --- bytes --- */

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	int	 i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int	 i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int
iszero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++ != 0)
			return 0;
	return 1;
}

static void
sha256(const void *p, size_t len, uint8_t out[STORE_SHA_LEN])
{
	unsigned int	 n = 0;

	if (EVP_Digest(p, len, out, &n, digest_sha256(), NULL) != 1 ||
	    n != STORE_SHA_LEN)
		fatalx("sha256: digest failed");
}

/* Copy a C string into a fixed array, cut to fit. */
static void
cpy(char *dst, size_t size, const char *src)
{
	size_t	 n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
idtext(const uint8_t *id, char out[STORE_ID_TEXT])
{
	store_id_format(id, out);
}

/* --- ids and time --- */

int64_t
store_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * RFC 9562 method 1: rand_a is a 12-bit counter within one millisecond,
 * so ids made by this process sort in the order they were made.
 */
void
store_uuid7(int64_t ms, uint8_t out[STORE_ID_LEN])
{
	static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t		 last_ms;
	static unsigned int	 seq;
	uint8_t			 r[10];
	uint64_t		 t = ms > 0 ? (uint64_t)ms : 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("uuid: no randomness");
	pthread_mutex_lock(&mtx);
	if (t <= last_ms) {
		t = last_ms;
		if (++seq > 0xfff) {
			t++;
			seq = 0;
		}
	} else
		seq = ((unsigned int)r[8] << 8 | r[9]) & 0x1ff;
	last_ms = t;
	put_be(out, t, 6);
	out[6] = (uint8_t)(0x70 | (seq >> 8));
	out[7] = (uint8_t)seq;
	pthread_mutex_unlock(&mtx);
	memcpy(out + 8, r, 8);
	out[8] = (uint8_t)(0x80 | (out[8] & 0x3f));
}

void
store_id_format(const uint8_t id[STORE_ID_LEN], char out[STORE_ID_TEXT])
{
	static const char hex[] = "0123456789abcdef";
	int	 i, o = 0;

	for (i = 0; i < STORE_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Hex digits of text (dashes skipped) into id, zero-padded; *nibbles gets
 * their number.  EG_ERR_INVAL when empty, not hex, or over 32 digits.
 */
static int
id_prefix(const char *text, uint8_t id[STORE_ID_LEN], size_t *nibbles)
{
	size_t	 n = 0;
	int	 v;

	memset(id, 0, STORE_ID_LEN);
	for (; text != NULL && *text != '\0'; text++) {
		if (*text == '-')
			continue;
		if ((v = hexval((unsigned char)*text)) < 0 ||
		    n == 2 * STORE_ID_LEN)
			return seterr(EG_ERR_INVAL, "\"%.40s\" is not an id",
			    text);
		id[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
		n++;
	}
	if (n == 0)
		return seterr(EG_ERR_INVAL, "empty id");
	*nibbles = n;
	return 0;
}

int
store_id_parse(const char *text, uint8_t out[STORE_ID_LEN])
{
	uint8_t	 id[STORE_ID_LEN];
	size_t	 n;
	int	 rc;

	if ((rc = id_prefix(text, id, &n)) != 0)
		return rc;
	if (n != 2 * STORE_ID_LEN)
		return seterr(EG_ERR_INVAL, "\"%.40s\" is not a full id", text);
	memcpy(out, id, STORE_ID_LEN);
	return 0;
}

static int
prefix_match(const uint8_t *id, const uint8_t *pfx, size_t nibbles)
{
	if (memcmp(id, pfx, nibbles / 2) != 0)
		return 0;
	return nibbles % 2 == 0 ||
	    (id[nibbles / 2] & 0xf0) == (pfx[nibbles / 2] & 0xf0);
}

/* --- LMDB errors and transactions --- */

static int
lmerr(struct store *s, int rc, const char *what)
{
	MDB_envinfo	 ei;

	lmfail = 1;
	switch (rc) {
	case MDB_MAP_FULL:
		if (mdb_env_info(s->env, &ei) != 0)
			ei.me_mapsize = 0;
		return seterr(EG_ERR_LIMIT,
		    "store full (map_size %zu): raise [store] map_size",
		    ei.me_mapsize);
	case MDB_TXN_FULL:
		return seterr(EG_ERR_LIMIT, "store %s: %s: transaction too "
		    "large", s->path, what);
	case MDB_READERS_FULL:
		return seterr(EG_ERR_LIMIT, "store %s: every reader slot in "
		    "use (stale readers? see store_reader_check)", s->path);
	case MDB_NOTFOUND:
		return seterr(EG_ERR_NOTFOUND, "store %s: %s: not found",
		    s->path, what);
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return seterr(EG_ERR_UNSUPPORTED, "store %s: %s: %s", s->path,
		    what, mdb_strerror(rc));
	}
	if (rc > 0)
		errno = rc;
	return seterr(EG_ERR_IO, "store %s: %s: %s", s->path, what,
	    mdb_strerror(rc));
}

static int
txn_begin(struct store *s, unsigned int flags, MDB_txn **txn)
{
	int	 rc;

	rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size. */
		if ((rc = mdb_env_set_mapsize(s->env, 0)) == 0)
			rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc ? lmerr(s, rc, "begin transaction") : 0;
}

static int
wbegin(struct store *s, MDB_txn **txn)
{
	if (s->rdonly)
		return seterr(EG_ERR_INVAL, "store %s: opened read-only",
		    s->path);
	return txn_begin(s, 0, txn);
}

/* Commit, or abort when rc says the work failed; returns the outcome. */
static int
wend(struct store *s, MDB_txn *txn, int rc)
{
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmerr(s, rc, "commit");
	return 0;
}

static MDB_val
mval(const void *p, size_t len)
{
	MDB_val	 v;

	v.mv_data = (void *)(uintptr_t)p;
	v.mv_size = len;
	return v;
}

/* --- record encoding --- */

struct dec {
	const uint8_t	*p;
	size_t		 len, off;
	const char	*why;		/* first failure, NULL while fine */
};

static int
dec_need(struct dec *d, size_t n)
{
	if (d->why != NULL)
		return 0;
	if (d->len - d->off < n) {
		d->why = "truncated";
		return 0;
	}
	return 1;
}

static uint64_t
dec_int(struct dec *d, int n)
{
	uint64_t v;

	if (!dec_need(d, (size_t)n))
		return 0;
	v = get_be(d->p + d->off, n);
	d->off += (size_t)n;
	return v;
}

static void
dec_bytes(struct dec *d, void *out, size_t n)
{
	if (!dec_need(d, n)) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, d->p + d->off, n);
	d->off += n;
}

static void
dec_str(struct dec *d, char *out, size_t size, const char *field)
{
	size_t	 n = (size_t)dec_int(d, 2);

	out[0] = '\0';
	if (!dec_need(d, n))
		return;
	if (n >= size) {
		d->why = field;
		return;
	}
	if (memchr(d->p + d->off, '\0', n) != NULL) {
		d->why = field;
		return;
	}
	memcpy(out, d->p + d->off, n);
	out[n] = '\0';
	d->off += n;
}

static void
dec_header(struct dec *d, int tag)
{
	if (!dec_need(d, 2))
		return;
	if (d->p[0] != tag)
		d->why = "not this kind of record";
	else if (d->p[1] != REC_V1)
		d->why = "unknown record version";
	d->off = 2;
}

static void
dec_end(struct dec *d)
{
	if (d->why == NULL && d->off != d->len)
		d->why = "trailing bytes";
}

static void
enc_int(struct buf *b, uint64_t v, int n)
{
	uint8_t	 t[8];

	put_be(t, v, n);
	buf_add(b, t, (size_t)n);
}

static void
enc_str(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);

	enc_int(b, n, 2);
	buf_add(b, s, n);
}

static int
valid_doc_state(unsigned int st)
{
	return st >= STORE_DOC_RECEIVED && st <= STORE_DOC_QUARANTINED;
}

/* The doc record of d with diagnostics diags into b (reset first). */
static int
doc_encode(const struct store_doc *d, struct slice diags, struct buf *b)
{
	buf_reset(b);
	buf_addc(b, TAG_DOC);
	buf_addc(b, REC_V1);
	buf_add(b, d->id, STORE_ID_LEN);
	buf_addc(b, (int)d->state);
	buf_addc(b, (int)d->direction);
	enc_int(b, d->flags, 4);
	enc_int(b, (uint64_t)d->received, 8);
	enc_int(b, (uint64_t)d->updated, 8);
	enc_int(b, d->size, 8);
	buf_add(b, d->sha256, STORE_SHA_LEN);
	enc_str(b, d->partner);
	enc_str(b, d->channel);
	enc_str(b, d->name);
	enc_str(b, d->syntax);
	enc_str(b, d->doctype);
	enc_str(b, d->sender);
	enc_str(b, d->receiver);
	enc_str(b, d->icn);
	enc_str(b, d->gcn);
	enc_str(b, d->scn);
	enc_str(b, d->error);
	enc_int(b, diags.len, 4);
	if (diags.len)
		buf_add(b, diags.p, diags.len);
	if (!iszero(d->about, STORE_ID_LEN))
		buf_add(b, d->about, STORE_ID_LEN);
	/* One check at the end: buf_add fails only at the cap. */
	if (b->len != DOC_FIXED + 11 * 2 + strlen(d->partner) +
	    strlen(d->channel) + strlen(d->name) + strlen(d->syntax) +
	    strlen(d->doctype) + strlen(d->sender) + strlen(d->receiver) +
	    strlen(d->icn) + strlen(d->gcn) + strlen(d->scn) +
	    strlen(d->error) + 4 + diags.len +
	    (iszero(d->about, STORE_ID_LEN) ? 0 : STORE_ID_LEN))
		return seterr(EG_ERR_LIMIT, "document record over its limit");
	return 0;
}

/*
 * Decode and validate a docs record; diags (may be NULL) gets the
 * diagnostics, pointing into v.  EG_ERR_SYNTAX names what failed.
 */
static int
doc_decode(const MDB_val *k, const MDB_val *v, struct store_doc *d,
    struct slice *diags)
{
	struct dec	 dc = { v->mv_data, v->mv_size, 0, NULL };
	char		 idt[STORE_ID_TEXT];
	unsigned int	 st, dir;

	memset(d, 0, sizeof(*d));
	if (k->mv_size == STORE_ID_LEN)
		memcpy(d->id, k->mv_data, STORE_ID_LEN);
	dec_header(&dc, TAG_DOC);
	dec_bytes(&dc, d->id, STORE_ID_LEN);
	st = (unsigned int)dec_int(&dc, 1);
	dir = (unsigned int)dec_int(&dc, 1);
	d->flags = (uint32_t)dec_int(&dc, 4);
	d->received = (int64_t)dec_int(&dc, 8);
	d->updated = (int64_t)dec_int(&dc, 8);
	d->size = dec_int(&dc, 8);
	dec_bytes(&dc, d->sha256, STORE_SHA_LEN);
	dec_str(&dc, d->partner, sizeof(d->partner), "partner");
	dec_str(&dc, d->channel, sizeof(d->channel), "channel");
	dec_str(&dc, d->name, sizeof(d->name), "name");
	dec_str(&dc, d->syntax, sizeof(d->syntax), "syntax");
	dec_str(&dc, d->doctype, sizeof(d->doctype), "doctype");
	dec_str(&dc, d->sender, sizeof(d->sender), "sender");
	dec_str(&dc, d->receiver, sizeof(d->receiver), "receiver");
	dec_str(&dc, d->icn, sizeof(d->icn), "icn");
	dec_str(&dc, d->gcn, sizeof(d->gcn), "gcn");
	dec_str(&dc, d->scn, sizeof(d->scn), "scn");
	dec_str(&dc, d->error, sizeof(d->error), "error");
	d->diagslen = (size_t)dec_int(&dc, 4);
	if (dec_need(&dc, d->diagslen)) {
		if (diags != NULL)
			*diags = slice_make((const char *)dc.p + dc.off,
			    d->diagslen);
		dc.off += d->diagslen;
	}
	if (dc.why == NULL && dc.len - dc.off == STORE_ID_LEN) {
		dec_bytes(&dc, d->about, STORE_ID_LEN);
		if (iszero(d->about, STORE_ID_LEN))
			dc.why = "about: zero written";
	}
	dec_end(&dc);
	if (dc.why == NULL) {
		if (k->mv_size != STORE_ID_LEN ||
		    memcmp(k->mv_data, d->id, STORE_ID_LEN) != 0)
			dc.why = "id is not the key";
		else if (!valid_doc_state(st))
			dc.why = "state";
		else if (dir != STORE_INBOUND && dir != STORE_OUTBOUND)
			dc.why = "direction";
		else if ((d->flags & ~(uint32_t)STORE_DOCF_PURGED) != 0)
			dc.why = "flags";
		else if (d->partner[0] == '\0')
			dc.why = "no partner";
		else if (d->diagslen > EG_MAX_STORE_DIAGS)
			dc.why = "diagnostics over limit";
	}
	d->state = (enum store_doc_state)st;
	d->direction = (enum store_direction)dir;
	if (dc.why != NULL) {
		if (k->mv_size == STORE_ID_LEN)
			memcpy(d->id, k->mv_data, STORE_ID_LEN);
		idtext(d->id, idt);
		return seterr(EG_ERR_SYNTAX, "docs record %s: %s "
		    "(%zu bytes)", idt, dc.why, v->mv_size);
	}
	return 0;
}

static int
event_decode(const MDB_val *k, const MDB_val *v, struct store_event_rec *e)
{
	struct dec	 dc = { v->mv_data, v->mv_size, 0, NULL };
	char		 idt[STORE_ID_TEXT];
	size_t		 n;

	memset(e, 0, sizeof(*e));
	if (k->mv_size == STORE_ID_LEN)
		memcpy(e->id, k->mv_data, STORE_ID_LEN);
	dec_header(&dc, TAG_EVENT);
	if (dec_int(&dc, 1) != 0 && dc.why == NULL)
		dc.why = "flags";
	dec_bytes(&dc, e->doc, STORE_ID_LEN);
	if (dc.why == NULL) {
		n = dc.len - dc.off;
		e->json = slice_make((const char *)dc.p + dc.off, n);
		if (k->mv_size != STORE_ID_LEN)
			dc.why = "key";
		else if (n < 2 || n > EG_MAX_EVENT_SIZE ||
		    e->json.p[0] != '{' || e->json.p[n - 1] != '}')
			dc.why = "not a JSON object";
		else if (memchr(e->json.p, '\0', n) != NULL)
			dc.why = "NUL in JSON";
	}
	if (dc.why != NULL) {
		idtext(e->id, idt);
		e->json = slice_make(NULL, 0);
		return seterr(EG_ERR_SYNTAX, "events record %s: %s", idt,
		    dc.why);
	}
	return 0;
}

static int
valid_job_state(unsigned int st)
{
	return st >= STORE_JOB_PENDING && st <= STORE_JOB_HELD;
}

static int
valid_job_kind(unsigned int kind)
{
	return kind == STORE_JOB_FORWARD || kind == STORE_JOB_SEND ||
	    kind == STORE_JOB_TRANSLATE;
}

static void
job_key(const struct store_job *j, uint8_t key[JOBKEY_LEN])
{
	put_be(key, (uint64_t)j->due, 8);
	memcpy(key + 8, j->id, STORE_ID_LEN);
}

static int
job_encode(const struct store_job *j, struct buf *b)
{
	buf_reset(b);
	buf_addc(b, TAG_JOB);
	buf_addc(b, REC_V1);
	buf_add(b, j->id, STORE_ID_LEN);
	buf_addc(b, (int)j->kind);
	buf_addc(b, (int)j->state);
	buf_add(b, j->ref, STORE_ID_LEN);
	enc_int(b, (uint64_t)j->due, 8);
	enc_int(b, (uint64_t)j->created, 8);
	enc_int(b, (uint64_t)j->first_try, 8);
	enc_int(b, (uint64_t)j->last_try, 8);
	enc_int(b, j->attempts, 4);
	enc_str(b, j->target);
	enc_str(b, j->error);
	if (b->len != 2 + 16 + 2 + 16 + 32 + 4 + 4 + strlen(j->target) +
	    strlen(j->error))
		return seterr(EG_ERR_LIMIT, "job record over its limit");
	return 0;
}

static int
job_decode(const MDB_val *k, const MDB_val *v, struct store_job *j)
{
	struct dec	 dc = { v->mv_data, v->mv_size, 0, NULL };
	char		 idt[STORE_ID_TEXT];
	unsigned int	 kind, st;

	memset(j, 0, sizeof(*j));
	if (k->mv_size == JOBKEY_LEN)
		memcpy(j->id, (const uint8_t *)k->mv_data + 8, STORE_ID_LEN);
	dec_header(&dc, TAG_JOB);
	dec_bytes(&dc, j->id, STORE_ID_LEN);
	kind = (unsigned int)dec_int(&dc, 1);
	st = (unsigned int)dec_int(&dc, 1);
	dec_bytes(&dc, j->ref, STORE_ID_LEN);
	j->due = (int64_t)dec_int(&dc, 8);
	j->created = (int64_t)dec_int(&dc, 8);
	j->first_try = (int64_t)dec_int(&dc, 8);
	j->last_try = (int64_t)dec_int(&dc, 8);
	j->attempts = (uint32_t)dec_int(&dc, 4);
	dec_str(&dc, j->target, sizeof(j->target), "target");
	dec_str(&dc, j->error, sizeof(j->error), "error");
	dec_end(&dc);
	j->kind = (enum store_job_kind)kind;
	j->state = (enum store_job_state)st;
	if (dc.why == NULL) {
		if (k->mv_size != JOBKEY_LEN ||
		    get_be(k->mv_data, 8) != (uint64_t)j->due ||
		    memcmp((const uint8_t *)k->mv_data + 8, j->id,
		    STORE_ID_LEN) != 0)
			dc.why = "key is not due and id";
		else if (!valid_job_kind(kind))
			dc.why = "kind";
		else if (!valid_job_state(st))
			dc.why = "state";
		else if (j->due < 0)
			dc.why = "due";
	}
	if (dc.why != NULL) {
		idtext(j->id, idt);
		return seterr(EG_ERR_SYNTAX, "jobs record %s: %s", idt, dc.why);
	}
	return 0;
}

/* --- keys --- */

static int
check_text(const char *what, const char *s, size_t max, int required)
{
	size_t	 n;

	if (s == NULL || *s == '\0')
		return required ? seterr(EG_ERR_INVAL, "%s is required",
		    what) : 0;
	if ((n = strlen(s)) > max)
		return seterr(EG_ERR_LIMIT, "%s: %zu bytes, over %zu", what,
		    n, max);
	return 0;
}

static int
check_partner(const char *p)
{
	const unsigned char *u;
	int	 rc;

	if ((rc = check_text("partner", p, EG_MAX_STORE_FIELD, 1)) != 0)
		return rc;
	if ((unsigned char)p[0] == HASHED_KEY)
		return seterr(EG_ERR_INVAL, "partner id starts with 0xff");
	for (u = (const unsigned char *)p; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return seterr(EG_ERR_INVAL, "partner id has a control "
			    "character");
	return 0;
}

/*
 * partner 0x00 level, then sender 0x00 when sender is not NULL, then
 * number when it is not NULL, into key: the ctl key (partner, level,
 * sender, number), the acks key (partner, kind, NULL, ref) and the ctrseq
 * key (partner, level, NULL, NULL).  Hashed when longer than LMDB's
 * maximum key size.  Returns its length.
 */
static size_t
key_make(const struct store *s, uint8_t key[MAX_KEY], const char *partner,
    int level, const char *sender, const char *number)
{
	uint8_t	 tmp[MAX_KEY];
	size_t	 n = 0, l;

	l = strlen(partner);
	memcpy(tmp, partner, l);
	n = l;
	tmp[n++] = 0;
	tmp[n++] = (uint8_t)level;
	if (sender != NULL) {
		l = strlen(sender);
		memcpy(tmp + n, sender, l);
		n += l;
		tmp[n++] = 0;
	}
	if (number != NULL) {
		l = strlen(number);
		memcpy(tmp + n, number, l);
		n += l;
	}
	if (n <= s->maxkey) {
		memcpy(key, tmp, n);
		return n;
	}
	key[0] = HASHED_KEY;
	sha256(tmp, n, key + 1);
	return 1 + STORE_SHA_LEN;
}

/* --- acknowledgement records --- */

static int
valid_ack_kind(unsigned int kind)
{
	return kind >= STORE_ACK_MDN && kind <= STORE_ACK_ERP;
}

static int
valid_ack_state(unsigned int st)
{
	return st >= STORE_ACK_PENDING && st <= STORE_ACK_OVERDUE;
}

static size_t
ack_key(const struct store *s, uint8_t key[MAX_KEY], const char *partner,
    enum store_ack_kind kind, const char *ref)
{
	return key_make(s, key, partner, (int)kind, NULL, ref);
}

static int
ack_encode(const struct store_ack *a, struct buf *b)
{
	buf_reset(b);
	buf_addc(b, TAG_ACK);
	buf_addc(b, REC_V1);
	buf_addc(b, (int)a->kind);
	buf_addc(b, (int)a->state);
	buf_add(b, a->doc, STORE_ID_LEN);
	buf_add(b, a->by, STORE_ID_LEN);
	enc_int(b, (uint64_t)a->created, 8);
	enc_int(b, (uint64_t)a->due, 8);
	enc_int(b, (uint64_t)a->resolved, 8);
	enc_str(b, a->partner);
	enc_str(b, a->ref);
	enc_str(b, a->bizkey);
	enc_str(b, a->reason);
	if (b->len != 4 + 2 * STORE_ID_LEN + 24 + 4 * 2 + strlen(a->partner) +
	    strlen(a->ref) + strlen(a->bizkey) + strlen(a->reason))
		return seterr(EG_ERR_LIMIT, "acks record over its limit");
	return 0;
}

/* Decode and validate an acks record; its key must be the record's. */
static int
ack_decode(const struct store *s, const MDB_val *k, const MDB_val *v,
    struct store_ack *a)
{
	struct dec	 dc = { v->mv_data, v->mv_size, 0, NULL };
	uint8_t		 key[MAX_KEY];
	unsigned int	 kind, st;
	size_t		 kl;

	memset(a, 0, sizeof(*a));
	dec_header(&dc, TAG_ACK);
	kind = (unsigned int)dec_int(&dc, 1);
	st = (unsigned int)dec_int(&dc, 1);
	dec_bytes(&dc, a->doc, STORE_ID_LEN);
	dec_bytes(&dc, a->by, STORE_ID_LEN);
	a->created = (int64_t)dec_int(&dc, 8);
	a->due = (int64_t)dec_int(&dc, 8);
	a->resolved = (int64_t)dec_int(&dc, 8);
	dec_str(&dc, a->partner, sizeof(a->partner), "partner");
	dec_str(&dc, a->ref, sizeof(a->ref), "ref");
	dec_str(&dc, a->bizkey, sizeof(a->bizkey), "bizkey");
	dec_str(&dc, a->reason, sizeof(a->reason), "reason");
	dec_end(&dc);
	a->kind = (enum store_ack_kind)kind;
	a->state = (enum store_ack_state)st;
	if (dc.why == NULL) {
		if (!valid_ack_kind(kind))
			dc.why = "kind";
		else if (!valid_ack_state(st))
			dc.why = "state";
		else if (a->partner[0] == '\0' ||
		    (unsigned char)a->partner[0] == HASHED_KEY)
			dc.why = "partner";
		else if (a->ref[0] == '\0')
			dc.why = "no reference";
		else if (a->due < 0 || a->created < 0 || a->resolved < 0)
			dc.why = "times";
		else {
			kl = ack_key(s, key, a->partner, a->kind, a->ref);
			if (k->mv_size != kl || memcmp(k->mv_data, key, kl) != 0)
				dc.why = "key is not partner, kind and "
				    "reference";
		}
	}
	if (dc.why != NULL)
		return seterr(EG_ERR_SYNTAX, "acks record %.64s/%u/%.64s: %s "
		    "(%zu bytes)", a->partner, kind, a->ref, dc.why,
		    v->mv_size);
	return 0;
}

/* Write (or replace) the expectation a; b is scratch. */
static int
ack_put(struct store *s, MDB_txn *txn, const struct store_ack *a,
    struct buf *b)
{
	uint8_t	 key[MAX_KEY];
	MDB_val	 k, v;
	int	 rc;

	if ((rc = ack_encode(a, b)) != 0)
		return rc;
	k = mval(key, ack_key(s, key, a->partner, a->kind, a->ref));
	v = mval(b->p, b->len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_ACKS], &k, &v, 0)) != 0)
		return lmerr(s, rc, "acks");
	return 0;
}

/* The expectation partner + kind + ref: 0, EG_ERR_NOTFOUND, EG_ERR_SYNTAX. */
static int
ack_get(struct store *s, MDB_txn *txn, const char *partner,
    enum store_ack_kind kind, const char *ref, struct store_ack *a)
{
	uint8_t	 key[MAX_KEY];
	MDB_val	 k, v;
	int	 rc;

	k = mval(key, ack_key(s, key, partner, kind, ref));
	rc = mdb_get(txn, s->dbi[STORE_DB_ACKS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return EG_ERR_NOTFOUND;
	if (rc != 0)
		return lmerr(s, rc, "acks");
	return ack_decode(s, &k, &v, a);
}

static int
check_ack_key(enum store_ack_kind kind, const char *partner, const char *ref)
{
	int	 rc;

	if (!valid_ack_kind((unsigned int)kind))
		return seterr(EG_ERR_INVAL, "acknowledgement kind %d",
		    (int)kind);
	if ((rc = check_partner(partner)) != 0)
		return rc;
	return check_text("acknowledgement reference", ref,
	    EG_MAX_STORE_FIELD, 1);
}

static int
check_expect(const struct store_expect *e)
{
	int	 rc;

	if ((rc = check_ack_key(e->kind, e->partner, e->ref)) != 0 ||
	    (rc = check_text("business key", e->bizkey, EG_MAX_STORE_FIELD,
	    0)) != 0)
		return rc;
	if (e->due < 0)
		return seterr(EG_ERR_INVAL, "acknowledgement due time");
	return 0;
}

static int
check_resolve(const struct store_resolve *r)
{
	int	 rc;

	if ((rc = check_ack_key(r->kind, r->partner, r->ref)) != 0)
		return rc;
	if (r->state != STORE_ACK_ACCEPTED && r->state != STORE_ACK_REJECTED)
		return seterr(EG_ERR_INVAL, "an expectation is resolved to "
		    "accepted or rejected, not %s",
		    store_ack_state_name(r->state));
	return 0;
}

/* A pending expectation from e (checked by check_expect()). */
static int
ack_expect_put(struct store *s, MDB_txn *txn, const struct store_expect *e,
    int64_t now, struct buf *b)
{
	struct store_ack a;

	memset(&a, 0, sizeof(a));
	a.kind = e->kind;
	a.state = STORE_ACK_PENDING;
	cpy(a.partner, sizeof(a.partner), e->partner);
	cpy(a.ref, sizeof(a.ref), e->ref);
	cpy(a.bizkey, sizeof(a.bizkey), e->bizkey);
	memcpy(a.doc, e->doc, STORE_ID_LEN);
	a.created = now;
	a.due = e->due;
	return ack_put(s, txn, &a, b);
}

/* The ERP import expectation of a new event (ref: the event id text). */
static void
ack_erp(struct store_ack *a, const char *partner,
    const struct store_event *ev, int64_t due, int64_t now)
{
	memset(a, 0, sizeof(*a));
	a->kind = STORE_ACK_ERP;
	a->state = STORE_ACK_PENDING;
	cpy(a->partner, sizeof(a->partner), partner);
	idtext(ev->id, a->ref);
	/* A business key over the field's size is cut: it is for display. */
	cpy(a->bizkey, sizeof(a->bizkey), ev->biz);
	memcpy(a->doc, ev->id, STORE_ID_LEN);
	a->created = now;
	a->due = due;
}

/*
 * Resolve r (checked by check_resolve()) inside txn; r->found says
 * whether a pending or overdue expectation was there.
 */
static int
ack_resolve_put(struct store *s, MDB_txn *txn, struct store_resolve *r,
    int64_t now, struct buf *b)
{
	struct store_ack a;
	int		 rc;

	r->found = 0;
	rc = ack_get(s, txn, r->partner, r->kind, r->ref, &a);
	if (rc == EG_ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (a.state != STORE_ACK_PENDING && a.state != STORE_ACK_OVERDUE)
		return 0;
	a.state = r->state;
	memcpy(a.by, r->by, STORE_ID_LEN);
	a.resolved = now;
	cpy(a.reason, sizeof(a.reason), r->reason);
	if ((rc = ack_put(s, txn, &a, b)) != 0)
		return rc;
	r->found = 1;
	return 0;
}

/* --- open and close --- */

static int
guard_add(struct store *s)
{
	int	 i, free_slot = -1, rc = 0;

	pthread_mutex_lock(&open_mtx);
	for (i = 0; i < MAX_OPEN; i++) {
		if (!open_envs[i].used) {
			if (free_slot < 0)
				free_slot = i;
		} else if (open_envs[i].dev == s->dev &&
		    open_envs[i].ino == s->ino)
			rc = seterr(EG_ERR_INVAL, "store %s: already open in "
			    "this process", s->path);
	}
	if (rc == 0 && free_slot < 0)
		rc = seterr(EG_ERR_LIMIT, "too many stores open");
	if (rc == 0) {
		open_envs[free_slot].dev = s->dev;
		open_envs[free_slot].ino = s->ino;
		open_envs[free_slot].used = 1;
	}
	pthread_mutex_unlock(&open_mtx);
	return rc;
}

static void
guard_del(const struct store *s)
{
	int	 i;

	pthread_mutex_lock(&open_mtx);
	for (i = 0; i < MAX_OPEN; i++)
		if (open_envs[i].used && open_envs[i].dev == s->dev &&
		    open_envs[i].ino == s->ino)
			open_envs[i].used = 0;
	pthread_mutex_unlock(&open_mtx);
}

static int
meta_put(struct store *s, MDB_txn *txn, const char *name, const void *p,
    size_t len)
{
	uint8_t	 v[2 + 16];
	MDB_val	 k = mval(name, strlen(name)), d;
	int	 rc;

	v[0] = TAG_META;
	v[1] = REC_V1;
	memcpy(v + 2, p, len);
	d = mval(v, 2 + len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_META], &k, &d, 0)) != 0)
		return lmerr(s, rc, "meta");
	return 0;
}

/* The payload of meta record name, of exactly len bytes. */
static int
meta_get(struct store *s, MDB_txn *txn, const char *name, void *p,
    size_t len)
{
	MDB_val	 k = mval(name, strlen(name)), d;
	int	 rc;

	rc = mdb_get(txn, s->dbi[STORE_DB_META], &k, &d);
	if (rc == MDB_NOTFOUND)
		return EG_ERR_NOTFOUND;
	if (rc != 0)
		return lmerr(s, rc, "meta");
	if (d.mv_size != 2 + len || ((uint8_t *)d.mv_data)[0] != TAG_META ||
	    ((uint8_t *)d.mv_data)[1] != REC_V1)
		return seterr(EG_ERR_SYNTAX, "store %s: meta record \"%s\" is "
		    "unreadable", s->path, name);
	memcpy(p, (uint8_t *)d.mv_data + 2, len);
	return 0;
}

/* Open the databases and check (or, for a new store, write) meta. */
static int
open_dbs(struct store *s)
{
	MDB_txn	*txn;
	MDB_stat st;
	uint8_t	 v[4];
	uint32_t schema;
	int	 i, rc;

	if ((rc = txn_begin(s, s->rdonly ? MDB_RDONLY : 0, &txn)) != 0)
		return rc;
	for (i = 0; i < STORE_NDB; i++) {
		rc = mdb_dbi_open(txn, db_names[i], s->rdonly ? 0 : MDB_CREATE,
		    &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return seterr(EG_ERR_NOTFOUND, "store %s is not "
			    "initialised (no database \"%s\"): start the "
			    "daemon once", s->path, db_names[i]);
		}
		if (rc != 0) {
			rc = lmerr(s, rc, db_names[i]);
			mdb_txn_abort(txn);
			return rc;
		}
	}
	rc = meta_get(s, txn, "schema", v, sizeof(v));
	if (rc == EG_ERR_NOTFOUND) {
		if (s->rdonly) {
			mdb_txn_abort(txn);
			return seterr(EG_ERR_NOTFOUND, "store %s is not "
			    "initialised (no schema)", s->path);
		}
		if ((rc = mdb_stat(txn, s->dbi[STORE_DB_DOCS], &st)) == 0 &&
		    st.ms_entries != 0) {
			mdb_txn_abort(txn);
			return seterr(EG_ERR_SYNTAX, "store %s: documents but "
			    "no schema in meta", s->path);
		}
		put_be(v, STORE_SCHEMA, 4);
		store_uuid7(store_now(), s->instance);
		if ((rc = meta_put(s, txn, "schema", v, 4)) == 0)
			rc = meta_put(s, txn, "instance", s->instance,
			    STORE_ID_LEN);
		return wend(s, txn, rc);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	schema = (uint32_t)get_be(v, 4);
	if (schema > STORE_SCHEMA) {
		mdb_txn_abort(txn);
		return seterr(EG_ERR_UNSUPPORTED, "store %s has schema %" PRIu32
		    ", newer than this edigate's %d: upgrade edigate",
		    s->path, schema, STORE_SCHEMA);
	}
	if (schema < 1) {
		mdb_txn_abort(txn);
		return seterr(EG_ERR_SYNTAX, "store %s: schema %" PRIu32
		    " is not valid", s->path, schema);
	}
	rc = meta_get(s, txn, "instance", s->instance, STORE_ID_LEN);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == EG_ERR_NOTFOUND ? seterr(EG_ERR_SYNTAX, "store "
		    "%s: no instance id in meta", s->path) : rc;
	}
	/* Committing a read transaction keeps its database handles. */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmerr(s, rc, "open");
	return 0;
}

int
store_open(const char *path, size_t map_size, int flags, struct store **out)
{
	struct store	*s;
	struct stat	 sb;
	char		 data[EG_MAX_PATH + 16];
	long		 pg;
	int		 rc;

	if (path == NULL || strlen(path) >= EG_MAX_PATH)
		return seterr(EG_ERR_INVAL, "store path too long");
	if ((flags & ~STORE_RDONLY) != 0)
		return seterr(EG_ERR_INVAL, "store_open: unknown flags");
	if (!(flags & STORE_RDONLY) && mkdir(path, 0700) == -1 &&
	    errno != EEXIST)
		return seterr(errno == ENOENT ? EG_ERR_NOTFOUND : EG_ERR_IO,
		    "store %s: %s", path, strerror(errno));
	if (stat(path, &sb) == -1)
		return seterr(errno == ENOENT ? EG_ERR_NOTFOUND : EG_ERR_IO,
		    "no store at %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return seterr(EG_ERR_INVAL, "store %s: not a directory", path);
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if ((flags & STORE_RDONLY) && access(data, F_OK) == -1)
		return seterr(EG_ERR_NOTFOUND, "no store at %s (%s)", path,
		    strerror(errno));

	s = xcalloc(1, sizeof(*s));
	s->rdonly = (flags & STORE_RDONLY) != 0;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	cpy(s->path, sizeof(s->path), path);
	if ((rc = guard_add(s)) != 0) {
		free(s);
		return rc;
	}
	if ((rc = mdb_env_create(&s->env)) != 0) {
		rc = lmerr(s, rc, "create");
		s->env = NULL;
		goto fail;
	}
	if (map_size == 0 && !s->rdonly)
		map_size = (size_t)STORE_MAP_SIZE_DEFAULT;
	if (map_size != 0) {
		pg = sysconf(_SC_PAGESIZE);
		if (pg <= 0)
			pg = 4096;
		if (map_size > SIZE_MAX - (size_t)pg) {
			rc = seterr(EG_ERR_INVAL, "map_size too large");
			goto fail;
		}
		map_size = (map_size + (size_t)pg - 1) / (size_t)pg *
		    (size_t)pg;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_NDB)) != 0 ||
	    (map_size != 0 &&
	    (rc = mdb_env_set_mapsize(s->env, map_size)) != 0)) {
		rc = lmerr(s, rc, "configure");
		goto fail;
	}
	rc = mdb_env_open(s->env, path,
	    MDB_NOTLS | (s->rdonly ? MDB_RDONLY : 0), 0600);
	if (rc != 0) {
		if (rc == MDB_INVALID)
			rc = seterr(EG_ERR_SYNTAX, "store %s: not an LMDB "
			    "environment", path);
		else if (rc == EACCES || rc == EPERM)
			rc = seterr(EG_ERR_IO, "store %s: %s (run as the "
			    "daemon's user)", path, strerror(rc));
		else
			rc = lmerr(s, rc, "open");
		goto fail;
	}
	s->maxkey = (unsigned int)mdb_env_get_maxkeysize(s->env);
	if ((rc = open_dbs(s)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->env != NULL)
		mdb_env_close(s->env);
	guard_del(s);
	free(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	guard_del(s);
	free(s);
}

void
store_instance(const struct store *s, uint8_t out[STORE_ID_LEN])
{
	memcpy(out, s->instance, STORE_ID_LEN);
}

int
store_reader_check(struct store *s, int *dead)
{
	int	 n = 0, rc;

	if ((rc = mdb_reader_check(s->env, &n)) != 0)
		return lmerr(s, rc, "reader check");
	if (dead != NULL)
		*dead = n;
	return 0;
}

int
store_backup(struct store *s, const char *dir, int compact)
{
	struct stat	 sb;
	int		 rc;

	if (stat(dir, &sb) == -1)
		return seterr(errno == ENOENT ? EG_ERR_NOTFOUND : EG_ERR_IO,
		    "backup %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return seterr(EG_ERR_INVAL, "backup %s: not a directory", dir);
	rc = mdb_env_copy2(s->env, dir, compact ? MDB_CP_COMPACT : 0);
	if (rc == EEXIST)
		return seterr(EG_ERR_INVAL, "backup %s: already holds a store "
		    "(data.mdb)", dir);
	if (rc != 0) {
		if (rc > 0)
			errno = rc;
		return seterr(EG_ERR_IO, "backup %s: %s", dir,
		    mdb_strerror(rc));
	}
	return 0;
}

int
store_stat(struct store *s, struct store_stat *out)
{
	MDB_envinfo	 ei;
	MDB_stat	 ms;
	MDB_txn		*txn;
	int		 i, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mdb_env_info(s->env, &ei)) != 0 ||
	    (rc = mdb_env_stat(s->env, &ms)) != 0)
		return lmerr(s, rc, "stat");
	out->map_size = ei.me_mapsize;
	out->used = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
	out->readers = ei.me_numreaders;
	out->max_readers = ei.me_maxreaders;
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
		return rc;
	for (i = 0; i < STORE_NDB; i++) {
		if ((rc = mdb_stat(txn, s->dbi[i], &ms)) != 0) {
			mdb_txn_abort(txn);
			return lmerr(s, rc, "stat");
		}
		out->entries[i] = ms.ms_entries;
	}
	mdb_txn_abort(txn);
	return 0;
}

/* --- documents --- */

static int
check_field(const char *what, const char *f, size_t size)
{
	if (memchr(f, '\0', size) == NULL)
		return seterr(EG_ERR_INVAL, "document %s is not terminated",
		    what);
	return 0;
}

static int
check_doc(const struct store_doc *d)
{
	const struct {
		const char	*what;
		const char	*f;
		size_t		 size;
	} f[] = {
		{ "partner", d->partner, sizeof(d->partner) },
		{ "channel", d->channel, sizeof(d->channel) },
		{ "name", d->name, sizeof(d->name) },
		{ "syntax", d->syntax, sizeof(d->syntax) },
		{ "doctype", d->doctype, sizeof(d->doctype) },
		{ "sender", d->sender, sizeof(d->sender) },
		{ "receiver", d->receiver, sizeof(d->receiver) },
		{ "icn", d->icn, sizeof(d->icn) },
		{ "gcn", d->gcn, sizeof(d->gcn) },
		{ "scn", d->scn, sizeof(d->scn) },
		{ "error", d->error, sizeof(d->error) },
	};
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if ((rc = check_field(f[i].what, f[i].f, f[i].size)) != 0)
			return rc;
	if ((rc = check_partner(d->partner)) != 0)
		return rc;
	if (d->direction != 0 && d->direction != STORE_INBOUND &&
	    d->direction != STORE_OUTBOUND)
		return seterr(EG_ERR_INVAL, "document direction %d",
		    (int)d->direction);
	if (d->state != 0 && d->state != STORE_DOC_RECEIVED &&
	    d->state != STORE_DOC_QUARANTINED)
		return seterr(EG_ERR_INVAL, "a new document is received or "
		    "quarantined, not %s", store_doc_state_name(d->state));
	if (d->flags != 0)
		return seterr(EG_ERR_INVAL, "a new document has no flags");
	if (d->received < 0)
		return seterr(EG_ERR_INVAL, "document received time");
	return 0;
}

static int
check_ctl(const struct store_ctl *c)
{
	int	 rc;

	if (c->level < STORE_LVL_ISA || c->level > STORE_LVL_AS2)
		return seterr(EG_ERR_INVAL, "control level %d", (int)c->level);
	if ((rc = check_text("control sender", c->sender,
	    EG_MAX_STORE_KEYPART, 0)) != 0 ||
	    (rc = check_text("control number", c->number,
	    EG_MAX_STORE_KEYPART, 1)) != 0)
		return rc;
	return 0;
}

/*
 * A new document made ready outside the transaction (everything slow, the
 * sha256 above all, happens before the write lock is taken): doc checked
 * and copied into d with its defaults, id, size and sha256.
 */
static int
ingest_prep(const struct store_doc *doc, struct slice raw,
    const struct store_ctl *ctl, size_t nctl, int64_t now, struct store_doc *d)
{
	size_t	 i;
	int	 rc;

	if ((rc = check_doc(doc)) != 0)
		return rc;
	if (raw.len > EG_MAX_DOC_SIZE)
		return seterr(EG_ERR_LIMIT, "document of %zu bytes over "
		    "EG_MAX_DOC_SIZE", raw.len);
	if (nctl > 0 && ctl == NULL)
		return seterr(EG_ERR_INVAL, "control entries missing");
	for (i = 0; i < nctl; i++)
		if ((rc = check_ctl(&ctl[i])) != 0)
			return rc;
	if (d != doc)
		memcpy(d, doc, sizeof(*d));
	if (d->state == 0)
		d->state = STORE_DOC_RECEIVED;
	if (d->direction == 0)
		d->direction = STORE_INBOUND;
	if (d->received == 0)
		d->received = now;
	d->updated = d->received;
	if (iszero(d->id, STORE_ID_LEN))
		store_uuid7(d->received, d->id);
	d->size = raw.len;
	sha256(raw.len ? raw.p : "", raw.len, d->sha256);
	return 0;
}

/*
 * Write a document made by ingest_prep() inside txn: its record, raw
 * bytes and control-number ledger entries.  res (may be NULL) is filled.
 * b is scratch.
 */
static int
ingest_put(struct store *s, MDB_txn *txn, const struct store_doc *d,
    struct slice raw, const struct store_ctl *ctl, size_t nctl,
    struct buf *b, struct store_ingest_res *res)
{
	MDB_val		 k, v;
	uint8_t		 key[MAX_KEY];
	uint8_t		 dup_of[STORE_ID_LEN];
	size_t		 i, kl, ndup = 0;
	int		 rc;

	memset(dup_of, 0, sizeof(dup_of));
	if ((rc = doc_encode(d, slice_make(NULL, 0), b)) != 0)
		return rc;
	k = mval(d->id, STORE_ID_LEN);
	v = mval(b->p, b->len);
	rc = mdb_put(txn, s->dbi[STORE_DB_DOCS], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return seterr(EG_ERR_INVAL, "document id already stored");
	if (rc != 0)
		return lmerr(s, rc, "docs");
	v = mval(raw.len ? raw.p : "", raw.len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_BLOBS], &k, &v, 0)) != 0)
		return lmerr(s, rc, "blobs");
	for (i = 0; i < nctl; i++) {
		kl = key_make(s, key, d->partner, (int)ctl[i].level,
		    ctl[i].sender ? ctl[i].sender : "", ctl[i].number);
		k = mval(key, kl);
		v = mval(d->id, STORE_ID_LEN);
		rc = mdb_put(txn, s->dbi[STORE_DB_CTL], &k, &v,
		    MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			/* v is the earlier entry's value. */
			if (v.mv_size == STORE_ID_LEN &&
			    memcmp(v.mv_data, d->id, STORE_ID_LEN) != 0) {
				if (ndup++ == 0)
					memcpy(dup_of, v.mv_data,
					    STORE_ID_LEN);
			}
			continue;
		}
		if (rc != 0)
			return lmerr(s, rc, "ctl");
	}
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		memcpy(res->id, d->id, STORE_ID_LEN);
		memcpy(res->sha256, d->sha256, STORE_SHA_LEN);
		res->ndup = ndup;
		memcpy(res->dup_of, dup_of, STORE_ID_LEN);
	}
	return 0;
}

int
store_ingest(struct store *s, const struct store_doc *doc, struct slice raw,
    const struct store_ctl *ctl, size_t nctl, struct store_ingest_res *res)
{
	struct store_ingest_res r;
	struct store_doc *d;
	struct buf	 b;
	MDB_txn		*txn;
	int		 rc;

	d = xmalloc(sizeof(*d));
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	if ((rc = ingest_prep(doc, raw, ctl, nctl, store_now(), d)) == 0 &&
	    (rc = wbegin(s, &txn)) == 0 &&
	    (rc = wend(s, txn, ingest_put(s, txn, d, raw, ctl, nctl, &b,
	    &r))) == 0)
		*res = r;
	buf_free(&b);
	free(d);
	return rc;
}

/* Read and decode the doc record of id inside txn. */
static int
doc_load(struct store *s, MDB_txn *txn, const uint8_t id[STORE_ID_LEN],
    struct store_doc *d, struct slice *diags)
{
	MDB_val	 k = mval(id, STORE_ID_LEN), v;
	char	 idt[STORE_ID_TEXT];
	int	 rc;

	rc = mdb_get(txn, s->dbi[STORE_DB_DOCS], &k, &v);
	if (rc == MDB_NOTFOUND) {
		idtext(id, idt);
		return seterr(EG_ERR_NOTFOUND, "no document %s", idt);
	}
	if (rc != 0)
		return lmerr(s, rc, "docs");
	return doc_decode(&k, &v, d, diags);
}

static int
doc_transition_ok(enum store_doc_state from, enum store_doc_state to)
{
	if (to == STORE_DOC_QUARANTINED)
		return 1;
	return from == STORE_DOC_RECEIVED || from == STORE_DOC_REJECTED ||
	    from == STORE_DOC_QUARANTINED;
}

static int
doc_bad_transition(const struct store_doc *d, enum store_doc_state to)
{
	char	 idt[STORE_ID_TEXT];

	idtext(d->id, idt);
	return seterr(EG_ERR_INVAL, "document %s is %s: cannot become %s",
	    idt, store_doc_state_name(d->state), store_doc_state_name(to));
}

/*
 * Write d (with diags) back; diags must not point into the map.  b is
 * scratch (max EG_MAX_STORE_DIAGS + 8192), reused across a batch.
 */
static int
doc_save(struct store *s, MDB_txn *txn, const struct store_doc *d,
    struct slice diags, struct buf *b)
{
	MDB_val		 k, v;
	int		 rc;

	if ((rc = doc_encode(d, diags, b)) != 0)
		return rc;
	k = mval(d->id, STORE_ID_LEN);
	v = mval(b->p, b->len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_DOCS], &k, &v, 0)) != 0)
		return lmerr(s, rc, "docs");
	return 0;
}

/* The sequence number after the last doc_events entry of doc. */
static int
doc_next_seq(struct store *s, MDB_txn *txn, const uint8_t doc[STORE_ID_LEN],
    uint32_t *seq)
{
	MDB_cursor	*c;
	uint8_t		 kb[STORE_ID_LEN + 4];
	MDB_val		 k, v;
	uint32_t	 last;
	int		 rc;

	memcpy(kb, doc, STORE_ID_LEN);
	put_be(kb + STORE_ID_LEN, UINT32_MAX, 4);
	k = mval(kb, sizeof(kb));
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DB_DOC_EVENTS], &c)) != 0)
		return lmerr(s, rc, "doc_events");
	/* The entry before the first key past doc's range. */
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	*seq = 0;
	if (rc == 0 && k.mv_size == sizeof(kb) &&
	    memcmp(k.mv_data, doc, STORE_ID_LEN) == 0) {
		last = (uint32_t)get_be((uint8_t *)k.mv_data + STORE_ID_LEN, 4);
		*seq = last == UINT32_MAX ? last : last + 1;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmerr(s, rc, "doc_events");
	return 0;
}

/* A new job record; b is scratch as for doc_save(). */
static int
job_put(struct store *s, MDB_txn *txn, const struct store_job *j,
    struct buf *b)
{
	uint8_t		 key[JOBKEY_LEN];
	MDB_val		 k, v;
	int		 rc;

	if ((rc = job_encode(j, b)) != 0)
		return rc;
	job_key(j, key);
	k = mval(key, sizeof(key));
	v = mval(b->p, b->len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_JOBS], &k, &v,
	    MDB_NOOVERWRITE)) != 0)
		return lmerr(s, rc, "jobs");
	return 0;
}

static void
job_new(struct store_job *j, enum store_job_kind kind,
    const uint8_t ref[STORE_ID_LEN], const char *target, int64_t due,
    int64_t now)
{
	memset(j, 0, sizeof(*j));
	store_uuid7(now, j->id);
	j->kind = kind;
	j->state = STORE_JOB_PENDING;
	memcpy(j->ref, ref, STORE_ID_LEN);
	cpy(j->target, sizeof(j->target), target);
	j->due = due;
	j->created = now;
}

static int
check_events(const struct store_event *ev, size_t nev, const char *target)
{
	size_t	 i;
	int	 rc;

	if (nev > EG_MAX_STORE_EVENTS)
		return seterr(EG_ERR_LIMIT, "%zu events, over %u", nev,
		    EG_MAX_STORE_EVENTS);
	if (target != NULL && (rc = check_text("job target", target,
	    EG_MAX_STORE_TARGET, 1)) != 0)
		return rc;
	for (i = 0; i < nev; i++) {
		if (ev[i].json == NULL || ev[i].jsonlen < 2 ||
		    ev[i].json[0] != '{' ||
		    ev[i].json[ev[i].jsonlen - 1] != '}')
			return seterr(EG_ERR_INVAL, "event %zu: not a JSON "
			    "object", i);
		if (ev[i].jsonlen > EG_MAX_EVENT_SIZE)
			return seterr(EG_ERR_LIMIT, "event %zu: %zu bytes", i,
			    ev[i].jsonlen);
		if (memchr(ev[i].json, '\0', ev[i].jsonlen) != NULL)
			return seterr(EG_ERR_INVAL, "event %zu: NUL in JSON",
			    i);
		if ((rc = check_text("idempotency key", ev[i].idem,
		    EG_MAX_STORE_KEYTEXT, 1)) != 0 ||
		    (rc = check_text("business key", ev[i].biz,
		    EG_MAX_STORE_KEYTEXT, 0)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Write the new events of ev[] for doc (of partner) inside txn, each with
 * a forward job to target (not NULL) and an ERP expectation due at
 * erp_due (not 0); *ndup gets the number of duplicates.  hashes holds
 * 2 * nev precomputed sha256 values (idem, biz).  b is scratch.
 */
static int
events_put(struct store *s, MDB_txn *txn, const uint8_t doc[STORE_ID_LEN],
    const char *partner, struct store_event *ev, size_t nev,
    const uint8_t *hashes, const char *target, int64_t erp_due, int64_t now,
    struct buf *b, size_t *ndup)
{
	struct store_job j;
	struct store_ack a;
	uint8_t		 dkey[STORE_ID_LEN + 4], bkey[STORE_SHA_LEN +
			     STORE_ID_LEN], *p;
	MDB_val		 k, v;
	uint32_t	 seq;
	size_t		 i;
	int		 rc;

	*ndup = 0;
	if ((rc = doc_next_seq(s, txn, doc, &seq)) != 0)
		return rc;
	for (i = 0; i < nev; i++) {
		ev[i].duplicate = 0;
		memset(ev[i].dup_of, 0, STORE_ID_LEN);
		if (iszero(ev[i].id, STORE_ID_LEN))
			store_uuid7(now, ev[i].id);
		k = mval(hashes + 2 * i * STORE_SHA_LEN, STORE_SHA_LEN);
		v = mval(ev[i].id, STORE_ID_LEN);
		rc = mdb_put(txn, s->dbi[STORE_DB_IDEM], &k, &v,
		    MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			ev[i].duplicate = 1;
			if (v.mv_size == STORE_ID_LEN)
				memcpy(ev[i].dup_of, v.mv_data, STORE_ID_LEN);
			(*ndup)++;
			continue;
		}
		if (rc != 0)
			return lmerr(s, rc, "idem");

		k = mval(ev[i].id, STORE_ID_LEN);
		v.mv_size = EVENT_HDR + ev[i].jsonlen;
		rc = mdb_put(txn, s->dbi[STORE_DB_EVENTS], &k, &v,
		    MDB_NOOVERWRITE | MDB_RESERVE);
		if (rc == MDB_KEYEXIST)
			return seterr(EG_ERR_INVAL, "event id already stored");
		if (rc != 0)
			return lmerr(s, rc, "events");
		p = v.mv_data;
		p[0] = TAG_EVENT;
		p[1] = REC_V1;
		p[2] = 0;
		memcpy(p + 3, doc, STORE_ID_LEN);
		memcpy(p + EVENT_HDR, ev[i].json, ev[i].jsonlen);

		if (seq == UINT32_MAX)
			return seterr(EG_ERR_LIMIT, "too many events");
		memcpy(dkey, doc, STORE_ID_LEN);
		put_be(dkey + STORE_ID_LEN, seq++, 4);
		k = mval(dkey, sizeof(dkey));
		v = mval(ev[i].id, STORE_ID_LEN);
		if ((rc = mdb_put(txn, s->dbi[STORE_DB_DOC_EVENTS], &k, &v,
		    0)) != 0)
			return lmerr(s, rc, "doc_events");

		if (ev[i].biz != NULL && *ev[i].biz != '\0') {
			memcpy(bkey, hashes + (2 * i + 1) * STORE_SHA_LEN,
			    STORE_SHA_LEN);
			memcpy(bkey + STORE_SHA_LEN, ev[i].id, STORE_ID_LEN);
			k = mval(bkey, sizeof(bkey));
			v = mval("", 0);
			if ((rc = mdb_put(txn, s->dbi[STORE_DB_BIZ], &k, &v,
			    0)) != 0)
				return lmerr(s, rc, "biz");
		}
		if (target != NULL) {
			job_new(&j, STORE_JOB_FORWARD, ev[i].id, target, now,
			    now);
			if ((rc = job_put(s, txn, &j, b)) != 0)
				return rc;
		}
		if (erp_due != 0) {
			ack_erp(&a, partner, &ev[i], erp_due, now);
			if ((rc = ack_put(s, txn, &a, b)) != 0)
				return rc;
		}
	}
	return 0;
}

/* The 2 * nev sha256 values events_put() needs into h (before the txn). */
static void
event_hashes(const struct store_event *ev, size_t nev, uint8_t *h)
{
	size_t	 i;

	for (i = 0; i < nev; i++) {
		sha256(ev[i].idem, strlen(ev[i].idem), h + 2 * i *
		    STORE_SHA_LEN);
		if (ev[i].biz != NULL)
			sha256(ev[i].biz, strlen(ev[i].biz), h + (2 * i + 1) *
			    STORE_SHA_LEN);
	}
}

static int	 job_move_check(const struct store_job *, enum store_job_state,
		    int64_t);
static int	 job_move(struct store *, MDB_txn *, const struct store_job *,
		    enum store_job_state, int64_t, const char *, int64_t,
		    struct buf *, struct store_job *);

/* Everything of an outcome that can be checked without the store. */
static int
outcome_check(const struct store_outcome *o)
{
	size_t	 i;
	int	 rc;

	switch (o->state) {
	case STORE_DOC_TRANSLATED:
	case STORE_DOC_REJECTED:
	case STORE_DOC_DUPLICATE:
	case STORE_DOC_QUARANTINED:
		break;
	default:
		return seterr(EG_ERR_INVAL, "an outcome is translated, "
		    "rejected, duplicate or quarantined, not %s",
		    store_doc_state_name(o->state));
	}
	if (o->nev > 0 && o->ev == NULL)
		return seterr(EG_ERR_INVAL, "events missing");
	if ((rc = check_events(o->ev, o->nev, o->target)) != 0)
		return rc;
	if (o->diags.len > EG_MAX_STORE_DIAGS)
		return seterr(EG_ERR_LIMIT, "diagnostics of %zu bytes",
		    o->diags.len);
	if (o->diags.len > 0 && o->diags.p == NULL)
		return seterr(EG_ERR_INVAL, "diagnostics missing");
	if (o->erp_due < 0)
		return seterr(EG_ERR_INVAL, "ERP acknowledgement due time");
	/* Bounded like the events of one document. */
	if (o->nout > EG_MAX_STORE_EVENTS || o->nexp > EG_MAX_STORE_EVENTS ||
	    o->nres > EG_MAX_STORE_EVENTS)
		return seterr(EG_ERR_LIMIT, "outcome over %u outbound "
		    "documents, expectations or resolutions",
		    EG_MAX_STORE_EVENTS);
	if ((o->nout > 0 && o->out == NULL) || (o->nexp > 0 &&
	    o->exp == NULL) || (o->nres > 0 && o->res == NULL))
		return seterr(EG_ERR_INVAL, "outcome arrays missing");
	for (i = 0; i < o->nout; i++)
		if (o->out[i].target != NULL && (rc = check_text("job target",
		    o->out[i].target, EG_MAX_STORE_TARGET, 1)) != 0)
			return rc;
	for (i = 0; i < o->nexp; i++)
		if ((rc = check_expect(&o->exp[i])) != 0)
			return rc;
	for (i = 0; i < o->nres; i++)
		if ((rc = check_resolve(&o->res[i])) != 0)
			return rc;
	if (o->job != NULL) {
		if ((rc = job_move_check(o->job, STORE_JOB_DONE, 0)) != 0)
			return rc;
		if (o->job->kind == STORE_JOB_TRANSLATE &&
		    memcmp(o->job->ref, o->id, STORE_ID_LEN) != 0)
			return seterr(EG_ERR_INVAL, "the translate job is "
			    "another document's");
	}
	return 0;
}

/*
 * The slow part of an outcome checked by outcome_check(), before the
 * transaction: event hashes into hashes (2 * nev), the outbound
 * documents' records into outdocs (nout).
 */
static int
outcome_prep(const struct store_outcome *o, int64_t now, uint8_t *hashes,
    struct store_doc *outdocs)
{
	const struct store_outbound *ob;
	struct store_doc *d;
	size_t		 i;
	int		 rc;

	event_hashes(o->ev, o->nev, hashes);
	for (i = 0; i < o->nout; i++) {
		ob = &o->out[i];
		d = &outdocs[i];
		memcpy(d, &ob->doc, sizeof(*d));
		d->state = 0;
		d->direction = 0;
		memset(d->id, 0, STORE_ID_LEN);
		if ((rc = ingest_prep(d, ob->raw, ob->ctl, ob->nctl, now,
		    d)) != 0)
			return rc;
		/* Generated, its send job queued: finished for retention. */
		d->direction = STORE_OUTBOUND;
		d->state = STORE_DOC_TRANSLATED;
	}
	return 0;
}

/*
 * Write outcome o (checked and prepared) inside txn: the work of
 * store_translated(), store_rejected() and each request of
 * store_outcome_batch().  d is scratch; *job gets the new record of
 * o->job.  Sets o->final, the events' and outbound documents' ids and
 * each resolution's found.
 */
static int
outcome_put(struct store *s, MDB_txn *txn, struct store_outcome *o,
    const uint8_t *hashes, const struct store_doc *outdocs, int64_t now,
    struct store_doc *d, struct buf *b, struct store_job *job)
{
	enum store_doc_state to = o->state;
	const struct store_outbound *ob;
	struct store_job j;
	size_t		 i, ndup;
	int		 rc;

	if ((rc = doc_load(s, txn, o->id, d, NULL)) != 0)
		return rc;
	if (!doc_transition_ok(d->state, to))
		return doc_bad_transition(d, to);
	if ((rc = events_put(s, txn, d->id, d->partner, o->ev, o->nev, hashes,
	    o->target, o->erp_due, now, b, &ndup)) != 0)
		return rc;
	if (to == STORE_DOC_TRANSLATED && o->nev > 0 && ndup == o->nev)
		to = STORE_DOC_DUPLICATE;
	d->state = to;
	d->updated = now;
	cpy(d->error, sizeof(d->error), o->reason);
	if ((rc = doc_save(s, txn, d, o->diags, b)) != 0)
		return rc;
	for (i = 0; i < o->nout; i++) {
		if (o->out_unless_duplicate && to == STORE_DOC_DUPLICATE)
			break;		/* [partner] duplicate = none */
		ob = &o->out[i];
		if ((rc = ingest_put(s, txn, &outdocs[i], ob->raw, ob->ctl,
		    ob->nctl, b, NULL)) != 0)
			return rc;
		if (ob->target != NULL) {
			job_new(&j, STORE_JOB_SEND, outdocs[i].id, ob->target,
			    now, now);
			if ((rc = job_put(s, txn, &j, b)) != 0)
				return rc;
		}
		memcpy(o->out[i].id, outdocs[i].id, STORE_ID_LEN);
	}
	for (i = 0; i < o->nexp; i++)
		if ((rc = ack_expect_put(s, txn, &o->exp[i], now, b)) != 0)
			return rc;
	for (i = 0; i < o->nres; i++)
		if ((rc = ack_resolve_put(s, txn, &o->res[i], now, b)) != 0)
			return rc;
	if (o->job != NULL && (rc = job_move(s, txn, o->job, STORE_JOB_DONE,
	    0, NULL, now, b, job)) != 0)
		return rc;
	o->final = to;
	return 0;
}

/* One outcome in its own transaction. */
static int
outcome_one(struct store *s, struct store_outcome *o)
{
	struct store_doc *docs;
	struct store_job j;
	struct buf	 b;
	MDB_txn		*txn;
	uint8_t		*hashes;
	int64_t		 now = store_now();
	int		 rc;

	if ((rc = outcome_check(o)) != 0)
		return rc;
	hashes = xreallocarray(NULL, o->nev ? 2 * o->nev : 1, STORE_SHA_LEN);
	docs = xreallocarray(NULL, 1 + o->nout, sizeof(*docs));
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	if ((rc = outcome_prep(o, now, hashes, docs + 1)) == 0 &&
	    (rc = wbegin(s, &txn)) == 0 &&
	    (rc = wend(s, txn, outcome_put(s, txn, o, hashes, docs + 1, now,
	    docs, &b, &j))) == 0 && o->job != NULL)
		*o->job = j;
	buf_free(&b);
	free(docs);
	free(hashes);
	return rc;
}

int
store_events_add(struct store *s, const uint8_t id[STORE_ID_LEN],
    struct store_event *ev, size_t nev, const char *target, int64_t erp_due,
    size_t *ndup)
{
	struct store_doc *d;
	struct buf	 b;
	MDB_txn		*txn;
	uint8_t		*hashes;
	size_t		 nd = 0;
	int		 rc;

	if (nev == 0 || ev == NULL)
		return seterr(EG_ERR_INVAL, "no events to add");
	if ((rc = check_events(ev, nev, target)) != 0)
		return rc;
	hashes = xcalloc(2 * nev, STORE_SHA_LEN);
	event_hashes(ev, nev, hashes);
	d = xmalloc(sizeof(*d));
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	if ((rc = wbegin(s, &txn)) != 0)
		goto out;
	if ((rc = doc_load(s, txn, id, d, NULL)) != 0 ||
	    (rc = events_put(s, txn, id, d->partner, ev, nev, hashes, target,
	    erp_due, store_now(), &b, &nd)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if ((rc = wend(s, txn, 0)) == 0 && ndup != NULL)
		*ndup = nd;
out:
	buf_free(&b);
	free(d);
	free(hashes);
	return rc;
}

int
store_translated(struct store *s, const uint8_t id[STORE_ID_LEN],
    struct store_event *ev, size_t nev, const char *target,
    enum store_doc_state *state)
{
	struct store_outcome o;
	int		 rc;

	memset(&o, 0, sizeof(o));
	memcpy(o.id, id, STORE_ID_LEN);
	o.state = STORE_DOC_TRANSLATED;
	o.ev = ev;
	o.nev = nev;
	o.target = target;
	if ((rc = outcome_one(s, &o)) == 0 && state != NULL)
		*state = o.final;
	return rc;
}

int
store_rejected(struct store *s, const uint8_t id[STORE_ID_LEN],
    const char *reason, const char *diags, size_t diagslen,
    struct store_event *ev, size_t nev, const char *target)
{
	struct store_outcome o;

	memset(&o, 0, sizeof(o));
	memcpy(o.id, id, STORE_ID_LEN);
	o.state = STORE_DOC_REJECTED;
	o.reason = reason ? reason : "rejected";
	o.diags = slice_make(diags, diags ? diagslen : 0);
	o.ev = ev;
	o.nev = nev;
	o.target = target;
	return outcome_one(s, &o);
}

/* Keep an unreadable docs record's bytes and replace it (quarantine). */
static int
doc_quarantine_raw(struct store *s, MDB_txn *txn,
    const uint8_t id[STORE_ID_LEN], const char *why, const char *reason)
{
	struct store_doc *d;
	struct buf	 b;
	uint8_t		 bkey[STORE_ID_LEN + 1];
	MDB_val		 k = mval(id, STORE_ID_LEN), v, bk, blob;
	void		*copy;
	int		 rc;

	if ((rc = mdb_get(txn, s->dbi[STORE_DB_DOCS], &k, &v)) != 0)
		return lmerr(s, rc, "docs");
	memcpy(bkey, id, STORE_ID_LEN);
	bkey[STORE_ID_LEN] = BLOB_CORRUPT;
	bk = mval(bkey, sizeof(bkey));
	/* v points into the map: copy it before the next write. */
	copy = xmalloc(v.mv_size ? v.mv_size : 1);
	memcpy(copy, v.mv_data, v.mv_size);
	v = mval(copy, v.mv_size);
	rc = mdb_put(txn, s->dbi[STORE_DB_BLOBS], &bk, &v, 0);
	free(copy);
	if (rc != 0)
		return lmerr(s, rc, "blobs");
	d = xcalloc(1, sizeof(*d));
	memcpy(d->id, id, STORE_ID_LEN);
	d->state = STORE_DOC_QUARANTINED;
	d->direction = STORE_INBOUND;
	d->received = d->updated = store_now();
	cpy(d->partner, sizeof(d->partner), "unknown");
	snprintf(d->error, sizeof(d->error),
	    "unreadable record: %.300s%s%.150s", why,
	    reason && *reason ? "; " : "", reason ? reason : "");
	if (mdb_get(txn, s->dbi[STORE_DB_BLOBS], &k, &blob) == 0) {
		d->size = blob.mv_size;
		sha256(blob.mv_size ? blob.mv_data : "", blob.mv_size,
		    d->sha256);
	}
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	rc = doc_save(s, txn, d, slice_make(NULL, 0), &b);
	buf_free(&b);
	free(d);
	return rc;
}

int
store_doc_mark(struct store *s, const uint8_t id[STORE_ID_LEN],
    enum store_doc_state to, const char *reason)
{
	struct store_doc *d;
	struct slice	 diags;
	struct buf	 b;
	MDB_txn		*txn;
	char		 why[sizeof(errmsg)];
	char		*copy = NULL;
	int		 rc;

	if (to != STORE_DOC_DUPLICATE && to != STORE_DOC_QUARANTINED)
		return seterr(EG_ERR_INVAL, "store_doc_mark: to duplicate or "
		    "quarantined only");
	d = xmalloc(sizeof(*d));
	if ((rc = wbegin(s, &txn)) != 0)
		goto out;
	rc = doc_load(s, txn, id, d, &diags);
	if (rc == EG_ERR_SYNTAX && to == STORE_DOC_QUARANTINED) {
		cpy(why, sizeof(why), errmsg);
		rc = doc_quarantine_raw(s, txn, id, why, reason);
		rc = wend(s, txn, rc);
		goto out;
	}
	if (rc != 0)
		goto abort;
	if (!doc_transition_ok(d->state, to)) {
		rc = doc_bad_transition(d, to);
		goto abort;
	}
	d->state = to;
	d->updated = store_now();
	cpy(d->error, sizeof(d->error), reason);
	/* The diagnostics live in the map: copy before writing. */
	if (diags.len) {
		copy = xmalloc(diags.len);
		memcpy(copy, diags.p, diags.len);
	}
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	rc = doc_save(s, txn, d, slice_make(copy, diags.len), &b);
	buf_free(&b);
	rc = wend(s, txn, rc);
	goto out;
abort:
	mdb_txn_abort(txn);
out:
	free(copy);
	free(d);
	return rc;
}

int
store_purge_blobs(struct store *s, int64_t before, size_t max,
    uint8_t cursor[STORE_ID_LEN], size_t *n)
{
	struct store_doc *d;
	struct slice	 diags;
	struct buf	 b;
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		(*ids)[STORE_ID_LEN], from[STORE_ID_LEN];
	uint8_t		 akey[STORE_ID_LEN + 1];
	size_t		 nid = 0, i, done = 0;
	int		 rc, end = 0;
	char		*copy;

	if (max == 0 || max > EG_MAX_STORE_PAGE)
		return seterr(EG_ERR_INVAL, "purge batch of %zu", max);
	memcpy(from, cursor, STORE_ID_LEN);
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	/* Collect first: no writes under an open cursor. */
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	ids = xreallocarray(NULL, max, STORE_ID_LEN);
	d = xmalloc(sizeof(*d));
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DB_DOCS], &c)) != 0) {
		rc = lmerr(s, rc, "docs");
		goto abort;
	}
	k = mval(from, STORE_ID_LEN);
	for (rc = mdb_cursor_get(c, &k, &v, iszero(from, STORE_ID_LEN) ?
	    MDB_FIRST : MDB_SET_RANGE); rc == 0 && nid < max;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		/* UUIDv7: the key's first 48 bits are its time. */
		if (k.mv_size == STORE_ID_LEN &&
		    (int64_t)get_be(k.mv_data, 6) >= before) {
			end = 1;
			break;
		}
		if (doc_decode(&k, &v, d, NULL) != 0 ||
		    (d->flags & STORE_DOCF_PURGED) || d->received >= before ||
		    (d->state != STORE_DOC_TRANSLATED &&
		    d->state != STORE_DOC_DUPLICATE &&
		    d->state != STORE_DOC_REJECTED))
			continue;
		memcpy(ids[nid++], d->id, STORE_ID_LEN);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		end = 1;
	else if (rc != 0) {
		rc = lmerr(s, rc, "docs");
		goto abort;
	}
	memset(cursor, 0, STORE_ID_LEN);
	if (!end && nid > 0)	/* purged by then: the next call skips it */
		memcpy(cursor, ids[nid - 1], STORE_ID_LEN);
	for (i = 0; i < nid; i++) {
		k = mval(ids[i], STORE_ID_LEN);
		rc = mdb_del(txn, s->dbi[STORE_DB_BLOBS], &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = lmerr(s, rc, "blobs");
			goto abort;
		}
		memcpy(akey, ids[i], STORE_ID_LEN);
		akey[STORE_ID_LEN] = STORE_ATT_SIGNED;
		k = mval(akey, sizeof(akey));
		rc = mdb_del(txn, s->dbi[STORE_DB_BLOBS], &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = lmerr(s, rc, "blobs");
			goto abort;
		}
		if ((rc = doc_load(s, txn, ids[i], d, &diags)) != 0)
			goto abort;
		d->flags |= STORE_DOCF_PURGED;
		copy = diags.len ? xmalloc(diags.len) : NULL;
		if (copy != NULL)
			memcpy(copy, diags.p, diags.len);
		rc = doc_save(s, txn, d, slice_make(copy, diags.len), &b);
		free(copy);
		if (rc != 0)
			goto abort;
		done++;
	}
	free(ids);
	free(d);
	buf_free(&b);
	if ((rc = wend(s, txn, 0)) == 0)
		*n = done;
	return rc;
abort:
	free(ids);
	free(d);
	buf_free(&b);
	mdb_txn_abort(txn);
	return rc;
}

/* --- reading --- */

int
store_rtxn_begin(struct store *s, struct store_rtxn **out)
{
	MDB_txn	*txn;
	int	 rc;

	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
		return rc;
	*out = xmalloc(sizeof(**out));
	(*out)->s = s;
	(*out)->txn = txn;
	return 0;
}

void
store_rtxn_end(struct store_rtxn *rt)
{
	if (rt == NULL)
		return;
	mdb_txn_abort(rt->txn);
	free(rt);
}

int
store_doc_get(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    struct store_doc *d)
{
	return doc_load(rt->s, rt->txn, id, d, NULL);
}

int
store_doc_diags(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    struct slice *out)
{
	struct store_doc *d;
	struct slice	 diags;
	int		 rc;

	d = xmalloc(sizeof(*d));
	if ((rc = doc_load(rt->s, rt->txn, id, d, &diags)) == 0)
		*out = d->diagslen ? diags : slice_make(NULL, 0);
	free(d);
	return rc;
}

/* The one key of db (16-byte ids) that idtext is a prefix of. */
static int
find_id(struct store_rtxn *rt, enum store_db db, const char *text,
    uint8_t id[STORE_ID_LEN])
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 pfx[STORE_ID_LEN];
	size_t		 nib;
	int		 rc;

	if ((rc = id_prefix(text, pfx, &nib)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[db], &c)) != 0)
		return lmerr(rt->s, rc, db_names[db]);
	k = mval(pfx, STORE_ID_LEN);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && (k.mv_size != STORE_ID_LEN ||
	    !prefix_match(k.mv_data, pfx, nib)))
		rc = MDB_NOTFOUND;
	if (rc == MDB_NOTFOUND) {
		rc = seterr(EG_ERR_NOTFOUND, "no %s id %s", db == STORE_DB_DOCS
		    ? "document" : "event", text);
	} else if (rc != 0)
		rc = lmerr(rt->s, rc, db_names[db]);
	else {
		memcpy(id, k.mv_data, STORE_ID_LEN);
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		if (rc == 0 && k.mv_size == STORE_ID_LEN &&
		    prefix_match(k.mv_data, pfx, nib))
			rc = seterr(EG_ERR_INVAL, "id prefix %s is ambiguous",
			    text);
		else
			rc = rc == 0 || rc == MDB_NOTFOUND ? 0 :
			    lmerr(rt->s, rc, db_names[db]);
	}
	mdb_cursor_close(c);
	return rc;
}

int
store_doc_find(struct store_rtxn *rt, const char *text, struct store_doc *d)
{
	uint8_t	 id[STORE_ID_LEN];
	int	 rc;

	if ((rc = find_id(rt, STORE_DB_DOCS, text, id)) != 0)
		return rc;
	return store_doc_get(rt, id, d);
}

static int
doc_matches(const struct store_doc_filter *f, const struct store_doc *d)
{
	if (d->unreadable)
		return f->partner == NULL && f->doctype == NULL &&
		    (f->state == 0 || f->state == STORE_DOC_QUARANTINED);
	return (f->partner == NULL || strcmp(f->partner, d->partner) == 0) &&
	    (f->doctype == NULL || strcmp(f->doctype, d->doctype) == 0) &&
	    (f->state == 0 || f->state == d->state);
}

int
store_doc_list(struct store_rtxn *rt, const struct store_doc_filter *f,
    struct store_doc *out, size_t max, size_t *n, uint8_t next[STORE_ID_LEN])
{
	struct store	*s = rt->s;
	struct store_doc *d;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 before[STORE_ID_LEN];
	size_t		 got = 0;
	int		 rc;

	if (max == 0 || max > EG_MAX_STORE_PAGE)
		return seterr(EG_ERR_INVAL, "page of %zu documents", max);
	/* next may be f->before itself. */
	memcpy(before, f->before, STORE_ID_LEN);
	memset(next, 0, STORE_ID_LEN);
	if ((rc = mdb_cursor_open(rt->txn, s->dbi[STORE_DB_DOCS], &c)) != 0)
		return lmerr(s, rc, "docs");
	if (iszero(before, STORE_ID_LEN))
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	else {
		k = mval(before, STORE_ID_LEN);
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	}
	while (rc == 0) {
		if (got == max) {
			/* Another (older) record exists: there is a page. */
			memcpy(next, out[got - 1].id, STORE_ID_LEN);
			break;
		}
		d = &out[got];
		if (doc_decode(&k, &v, d, NULL) != 0) {
			d->unreadable = 1;
			cpy(d->error, sizeof(d->error), errmsg);
		}
		if (doc_matches(f, d))
			got++;
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmerr(s, rc, "docs");
	*n = got;
	return 0;
}

int
store_blob_get(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    struct slice *out)
{
	struct store_doc *d;
	MDB_val		 k = mval(id, STORE_ID_LEN), v;
	char		 idt[STORE_ID_TEXT];
	int		 rc;

	d = xmalloc(sizeof(*d));
	if ((rc = doc_load(rt->s, rt->txn, id, d, NULL)) != 0)
		goto out;
	rc = mdb_get(rt->txn, rt->s->dbi[STORE_DB_BLOBS], &k, &v);
	idtext(id, idt);
	if (rc == MDB_NOTFOUND)
		rc = seterr(EG_ERR_NOTFOUND, "document %s: no raw bytes%s",
		    idt, d->flags & STORE_DOCF_PURGED ? " (purged)" : "");
	else if (rc != 0)
		rc = lmerr(rt->s, rc, "blobs");
	else if (v.mv_size != d->size)
		rc = seterr(EG_ERR_SYNTAX, "document %s: %zu raw bytes, the "
		    "record says %" PRIu64, idt, v.mv_size, d->size);
	else
		*out = slice_make(v.mv_size ? v.mv_data : "", v.mv_size);
out:
	free(d);
	return rc;
}

int
store_event_get(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    struct store_event_rec *e)
{
	MDB_val	 k = mval(id, STORE_ID_LEN), v;
	char	 idt[STORE_ID_TEXT];
	int	 rc;

	rc = mdb_get(rt->txn, rt->s->dbi[STORE_DB_EVENTS], &k, &v);
	if (rc == MDB_NOTFOUND) {
		idtext(id, idt);
		return seterr(EG_ERR_NOTFOUND, "no event %s", idt);
	}
	if (rc != 0)
		return lmerr(rt->s, rc, "events");
	return event_decode(&k, &v, e);
}

int
store_event_find(struct store_rtxn *rt, const char *text,
    struct store_event_rec *e)
{
	uint8_t	 id[STORE_ID_LEN];
	int	 rc;

	if ((rc = find_id(rt, STORE_DB_EVENTS, text, id)) != 0)
		return rc;
	return store_event_get(rt, id, e);
}

/*
 * Walk db from prefix pfx: each key of klen bytes starting with it names
 * an event (its id at idoff in the key, or, idoff < 0, as the value).
 */
static int
walk_events(struct store_rtxn *rt, enum store_db db, const uint8_t *pfx,
    size_t plen, size_t klen, int idoff, store_event_fn fn, void *arg)
{
	struct store_event_rec e;
	MDB_cursor	*c;
	MDB_val		 k, v;
	const uint8_t	*id;
	int		 rc, r;

	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[db], &c)) != 0)
		return lmerr(rt->s, rc, db_names[db]);
	k = mval(pfx, plen);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, pfx, plen) != 0)
			break;
		if (k.mv_size != klen || (idoff < 0 &&
		    v.mv_size != STORE_ID_LEN)) {
			rc = seterr(EG_ERR_SYNTAX, "%s: malformed entry",
			    db_names[db]);
			goto out;
		}
		id = idoff < 0 ? v.mv_data : (uint8_t *)k.mv_data + idoff;
		if ((rc = store_event_get(rt, id, &e)) != 0)
			goto out;
		if ((r = fn(arg, &e)) != 0) {
			rc = r;
			goto out;
		}
	}
	rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : lmerr(rt->s, rc,
	    db_names[db]);
out:
	mdb_cursor_close(c);
	return rc;
}

int
store_events_of_doc(struct store_rtxn *rt, const uint8_t doc[STORE_ID_LEN],
    store_event_fn fn, void *arg)
{
	return walk_events(rt, STORE_DB_DOC_EVENTS, doc, STORE_ID_LEN,
	    STORE_ID_LEN + 4, -1, fn, arg);
}

int
store_events_of_biz(struct store_rtxn *rt, const char *biz,
    store_event_fn fn, void *arg)
{
	uint8_t	 h[STORE_SHA_LEN];
	int	 rc;

	if ((rc = check_text("business key", biz, EG_MAX_STORE_KEYTEXT,
	    1)) != 0)
		return rc;
	sha256(biz, strlen(biz), h);
	return walk_events(rt, STORE_DB_BIZ, h, STORE_SHA_LEN,
	    STORE_SHA_LEN + STORE_ID_LEN, STORE_SHA_LEN, fn, arg);
}

/* --- jobs --- */

int
store_job_add(struct store *s, enum store_job_kind kind,
    const uint8_t ref[STORE_ID_LEN], const char *target, int64_t due,
    struct store_job *out)
{
	struct store_job j;
	struct buf	 b;
	MDB_txn		*txn;
	int		 rc;

	if (!valid_job_kind((unsigned int)kind))
		return seterr(EG_ERR_INVAL, "job kind %d", (int)kind);
	/* A translate job has nowhere to go: its target is optional. */
	if ((rc = check_text("job target", target, EG_MAX_STORE_TARGET,
	    kind != STORE_JOB_TRANSLATE)) != 0)
		return rc;
	if (due < 0 || due == STORE_DUE_NEVER)
		return seterr(EG_ERR_INVAL, "job due time");
	job_new(&j, kind, ref, target, due, store_now());
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	buf_init(&b, 4096);
	if ((rc = wend(s, txn, job_put(s, txn, &j, &b))) == 0 && out != NULL)
		*out = j;
	buf_free(&b);
	return rc;
}

int
store_job_next_due(struct store *s, int64_t now, struct store_job *out,
    size_t max, size_t *n)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 got = 0;
	int		 rc, bad = 0;

	*n = 0;
	if (now < 0)
		return 0;
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DB_JOBS], &c)) != 0) {
		mdb_txn_abort(txn);
		return lmerr(s, rc, "jobs");
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && got < max;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == JOBKEY_LEN &&
		    get_be(k.mv_data, 8) > (uint64_t)now)
			break;
		if ((bad = job_decode(&k, &v, &out[got])) != 0)
			break;
		if (out[got].state == STORE_JOB_PENDING ||
		    out[got].state == STORE_JOB_INFLIGHT)
			got++;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (bad != 0)
		return bad;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmerr(s, rc, "jobs");
	*n = got;
	return 0;
}

static int
job_transition_ok(enum store_job_state from, enum store_job_state to)
{
	switch (from) {
	case STORE_JOB_PENDING:
		return to == STORE_JOB_INFLIGHT || to == STORE_JOB_HELD ||
		    to == STORE_JOB_DEAD;
	case STORE_JOB_INFLIGHT:
		return to == STORE_JOB_INFLIGHT || to == STORE_JOB_DONE ||
		    to == STORE_JOB_DEAD || to == STORE_JOB_PENDING;
	case STORE_JOB_HELD:
	case STORE_JOB_DEAD:
		return to == STORE_JOB_PENDING;
	case STORE_JOB_DONE:
		return 0;
	}
	return 0;
}

/* The arguments of a move of job to state to with due. */
static int
job_move_check(const struct store_job *job, enum store_job_state to,
    int64_t due)
{
	if (!valid_job_state(to))
		return seterr(EG_ERR_INVAL, "job state %d", (int)to);
	if ((to == STORE_JOB_PENDING || to == STORE_JOB_INFLIGHT) &&
	    (due < 0 || due == STORE_DUE_NEVER))
		return seterr(EG_ERR_INVAL, "job due time");
	if (job->due < 0)
		return seterr(EG_ERR_INVAL, "job due time");
	return 0;
}

/*
 * Move *job (as last read) to state to inside txn (arguments checked by
 * job_move_check()); *out (may be job itself) gets the new record.  b is
 * scratch.
 */
static int
job_move(struct store *s, MDB_txn *txn, const struct store_job *job,
    enum store_job_state to, int64_t due, const char *error, int64_t now,
    struct buf *b, struct store_job *out)
{
	struct store_job j;
	MDB_val		 k, v;
	uint8_t		 key[JOBKEY_LEN];
	char		 idt[STORE_ID_TEXT];
	int		 rc;

	job_key(job, key);
	k = mval(key, sizeof(key));
	rc = mdb_get(txn, s->dbi[STORE_DB_JOBS], &k, &v);
	if (rc == MDB_NOTFOUND) {
		idtext(job->id, idt);
		return seterr(EG_ERR_NOTFOUND, "job %s changed since it was "
		    "read", idt);
	}
	if (rc != 0)
		return lmerr(s, rc, "jobs");
	if ((rc = job_decode(&k, &v, &j)) != 0)
		return rc;
	idtext(j.id, idt);
	if (j.state != job->state)
		return seterr(EG_ERR_NOTFOUND, "job %s changed since it was "
		    "read (now %s)", idt, store_job_state_name(j.state));
	if (!job_transition_ok(j.state, to))
		return seterr(EG_ERR_INVAL, "job %s is %s: cannot become %s",
		    idt, store_job_state_name(j.state),
		    store_job_state_name(to));
	if ((rc = mdb_del(txn, s->dbi[STORE_DB_JOBS], &k, NULL)) != 0)
		return lmerr(s, rc, "jobs");
	if (to == STORE_JOB_INFLIGHT) {
		j.attempts++;
		if (j.first_try == 0)
			j.first_try = now;
		j.last_try = now;
	}
	j.state = to;
	j.due = to == STORE_JOB_PENDING || to == STORE_JOB_INFLIGHT ? due :
	    STORE_DUE_NEVER;
	if (error != NULL)
		cpy(j.error, sizeof(j.error), error);
	if ((rc = job_put(s, txn, &j, b)) != 0)
		return rc;
	*out = j;
	return 0;
}

int
store_job_update(struct store *s, struct store_job *job,
    enum store_job_state to, int64_t due, const char *error, int64_t now)
{
	struct store_job j;
	struct buf	 b;
	MDB_txn		*txn;
	int		 rc;

	if ((rc = job_move_check(job, to, due)) != 0)
		return rc;
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	buf_init(&b, 4096);
	if ((rc = wend(s, txn, job_move(s, txn, job, to, due, error, now, &b,
	    &j))) == 0)
		*job = j;
	buf_free(&b);
	return rc;
}

int
store_job_find(struct store_rtxn *rt, const char *text, struct store_job *out)
{
	struct store_job j;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 pfx[STORE_ID_LEN];
	size_t		 nib, found = 0;
	int		 rc;

	memset(&j, 0, sizeof(j));
	if ((rc = id_prefix(text, pfx, &nib)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[STORE_DB_JOBS],
	    &c)) != 0)
		return lmerr(rt->s, rc, "jobs");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != JOBKEY_LEN || !prefix_match((uint8_t *)
		    k.mv_data + 8, pfx, nib))
			continue;
		if (found++) {
			mdb_cursor_close(c);
			return seterr(EG_ERR_INVAL, "id prefix %s is "
			    "ambiguous", text);
		}
		if ((rc = job_decode(&k, &v, &j)) != 0) {
			mdb_cursor_close(c);
			return rc;
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return lmerr(rt->s, rc, "jobs");
	if (!found)
		return seterr(EG_ERR_NOTFOUND, "no job id %s", text);
	*out = j;
	return 0;
}

/* --- work queue: group commit, acknowledgement ledger, outcomes --- */

/*
 * Group commit runs each request of a batch in a child transaction of
 * the batch's one write transaction (LMDB nested transactions), so that a
 * request failing half-way (a bad transition found in the store, a stale
 * job) is rolled back alone.  A failure of LMDB itself (lmfail: map full,
 * I/O) is the batch's: everything is aborted.  Requests that fail their
 * checks are refused before the write lock is taken.
 */
static int
child_begin(struct store *s, MDB_txn *parent, MDB_txn **child)
{
	int	 rc;

	if ((rc = mdb_txn_begin(s->env, parent, 0, child)) != 0)
		return lmerr(s, rc, "begin nested transaction");
	lmfail = 0;
	return 0;
}

/*
 * End the child transaction of one request whose work returned rc:
 * *itemrc gets rc.  Returns non-zero only for a failure that aborts the
 * batch.
 */
static int
child_end(struct store *s, MDB_txn *child, int rc, int *itemrc)
{
	*itemrc = rc;
	if (rc != 0) {
		mdb_txn_abort(child);
		return lmfail ? rc : 0;
	}
	if ((rc = mdb_txn_commit(child)) != 0)
		return lmerr(s, rc, "commit nested transaction");
	return 0;
}

static int
attach_put(struct store *s, MDB_txn *txn, const uint8_t id[STORE_ID_LEN],
    enum store_attach_tag tag, struct slice data)
{
	uint8_t	 key[STORE_ID_LEN + 1];
	MDB_val	 k, v;
	int	 rc;

	memcpy(key, id, STORE_ID_LEN);
	key[STORE_ID_LEN] = (uint8_t)tag;
	k = mval(key, sizeof(key));
	v = mval(data.len ? data.p : "", data.len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_BLOBS], &k, &v, 0)) != 0)
		return lmerr(s, rc, "blobs");
	return 0;
}

int
store_attach_put(struct store *s, const uint8_t id[STORE_ID_LEN],
    enum store_attach_tag tag, struct slice data)
{
	struct store_doc *d;
	MDB_txn		*txn;
	int		 rc;

	if (tag < STORE_ATT_SIGNED || tag > STORE_ATT_MIC ||
	    data.len > EG_MAX_DOC_SIZE)
		return seterr(EG_ERR_INVAL, "attachment");
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	d = xmalloc(sizeof(*d));
	rc = doc_load(s, txn, id, d, NULL);
	free(d);
	if (rc == 0)
		rc = attach_put(s, txn, id, tag, data);
	return wend(s, txn, rc);
}

int
store_attach_get(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    enum store_attach_tag tag, struct slice *out)
{
	uint8_t	 key[STORE_ID_LEN + 1];
	MDB_val	 k, v;
	int	 rc;

	memcpy(key, id, STORE_ID_LEN);
	key[STORE_ID_LEN] = (uint8_t)tag;
	k = mval(key, sizeof(key));
	rc = mdb_get(rt->txn, rt->s->dbi[STORE_DB_BLOBS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return seterr(EG_ERR_NOTFOUND, "no attachment %d", (int)tag);
	if (rc != 0)
		return lmerr(rt->s, rc, "blobs");
	*out = slice_make(v.mv_size ? v.mv_data : "", v.mv_size);
	return 0;
}

int
store_ctl_get(struct store_rtxn *rt, const char *partner,
    enum store_level level, const char *sender, const char *number,
    uint8_t out[STORE_ID_LEN])
{
	uint8_t	 key[MAX_KEY];
	MDB_val	 k, v;
	size_t	 kl;
	int	 rc;

	if (partner == NULL || number == NULL || strlen(partner) >
	    EG_MAX_STORE_FIELD || strlen(number) > EG_MAX_STORE_KEYPART ||
	    (sender != NULL && strlen(sender) > EG_MAX_STORE_KEYPART))
		return seterr(EG_ERR_INVAL, "control key");
	kl = key_make(rt->s, key, partner, (int)level, sender ? sender : "",
	    number);
	k = mval(key, kl);
	rc = mdb_get(rt->txn, rt->s->dbi[STORE_DB_CTL], &k, &v);
	if (rc == MDB_NOTFOUND)
		return seterr(EG_ERR_NOTFOUND, "no such control number");
	if (rc != 0)
		return lmerr(rt->s, rc, "ctl");
	if (v.mv_size != STORE_ID_LEN)
		return seterr(EG_ERR_SYNTAX, "ctl entry of %zu bytes",
		    v.mv_size);
	memcpy(out, v.mv_data, STORE_ID_LEN);
	return 0;
}

int
store_ingest_batch(struct store *s, struct store_ingest_req *rq, size_t n)
{
	struct store_doc *docs;
	struct buf	 b;
	MDB_txn		*txn, *child;
	int64_t		 now = store_now();
	size_t		 i, j, todo = 0;
	int		 rc = 0;

	if (n == 0)
		return 0;
	if (rq == NULL)
		return seterr(EG_ERR_INVAL, "no requests");
	/* One allocation for the batch; hashing before the write lock. */
	docs = xreallocarray(NULL, n, sizeof(*docs));
	for (i = 0; i < n; i++) {
		memset(&rq[i].res, 0, sizeof(rq[i].res));
		memset(&rq[i].job, 0, sizeof(rq[i].job));
		rq[i].rc = ingest_prep(&rq[i].doc, rq[i].raw, rq[i].ctl,
		    rq[i].nctl, now, &docs[i]);
		for (j = 0; rq[i].rc == 0 && j < rq[i].natt; j++)
			if (rq[i].att[j].tag < STORE_ATT_SIGNED ||
			    rq[i].att[j].tag > STORE_ATT_MIC ||
			    rq[i].att[j].data.len > EG_MAX_DOC_SIZE)
				rq[i].rc = seterr(EG_ERR_INVAL, "attachment");
		if (rq[i].rc == 0 && rq[i].send_target != NULL &&
		    (rq[i].send_target[0] == '\0' ||
		    strlen(rq[i].send_target) > EG_MAX_STORE_TARGET))
			rq[i].rc = seterr(EG_ERR_INVAL, "send target");
		if (rq[i].rc == 0)
			todo++;
	}
	if (todo == 0)
		goto out;
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	if ((rc = wbegin(s, &txn)) != 0) {
		buf_free(&b);
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (rq[i].rc != 0)
			continue;
		if ((rc = child_begin(s, txn, &child)) != 0)
			break;
		rc = ingest_put(s, child, &docs[i], rq[i].raw, rq[i].ctl,
		    rq[i].nctl, &b, &rq[i].res);
		for (j = 0; rc == 0 && j < rq[i].natt; j++)
			rc = attach_put(s, child, docs[i].id, rq[i].att[j].tag,
			    rq[i].att[j].data);
		if (rc == 0 && rq[i].send_target != NULL) {
			struct store_job sj;

			job_new(&sj, STORE_JOB_SEND, docs[i].id,
			    rq[i].send_target, now, now);
			rc = job_put(s, child, &sj, &b);
		}
		if (rc == 0 && rq[i].translate) {
			job_new(&rq[i].job, STORE_JOB_TRANSLATE, docs[i].id,
			    NULL, now, now);
			rc = job_put(s, child, &rq[i].job, &b);
		}
		rc = child_end(s, child, rc, &rq[i].rc);
		if (rq[i].rc != 0) {
			memset(&rq[i].res, 0, sizeof(rq[i].res));
			memset(&rq[i].job, 0, sizeof(rq[i].job));
		}
	}
	rc = wend(s, txn, rc);
	buf_free(&b);
out:
	free(docs);
	return rc;
}

const char *
store_ack_kind_name(enum store_ack_kind kind)
{
	switch (kind) {
	case STORE_ACK_MDN:		return "mdn";
	case STORE_ACK_FUNCTIONAL:	return "functional";
	case STORE_ACK_POACK:		return "po_ack";
	case STORE_ACK_SHIPNOTICE:	return "ship_notice";
	case STORE_ACK_ERP:		return "erp";
	}
	return "?";
}

const char *
store_ack_state_name(enum store_ack_state st)
{
	switch (st) {
	case STORE_ACK_PENDING:		return "pending";
	case STORE_ACK_ACCEPTED:	return "accepted";
	case STORE_ACK_REJECTED:	return "rejected";
	case STORE_ACK_OVERDUE:		return "overdue";
	}
	return "?";
}

enum store_ack_kind
store_ack_kind_parse(const char *name)
{
	unsigned int	 k;

	if (name == NULL)
		return 0;
	for (k = STORE_ACK_MDN; k <= STORE_ACK_ERP; k++)
		if (strcmp(name, store_ack_kind_name(k)) == 0)
			return (enum store_ack_kind)k;
	return 0;
}

int
store_ack_expect(struct store *s, const struct store_expect *e)
{
	struct buf	 b;
	MDB_txn		*txn;
	int		 rc;

	if ((rc = check_expect(e)) != 0)
		return rc;
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	buf_init(&b, 4096);
	rc = wend(s, txn, ack_expect_put(s, txn, e, store_now(), &b));
	buf_free(&b);
	return rc;
}

int
store_ack_resolve(struct store *s, struct store_resolve *r)
{
	struct store_resolve t;
	struct buf	 b;
	MDB_txn		*txn;
	int		 rc;

	if ((rc = check_resolve(r)) != 0)
		return rc;
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	t = *r;
	buf_init(&b, 4096);
	if ((rc = wend(s, txn, ack_resolve_put(s, txn, &t, store_now(),
	    &b))) == 0)
		r->found = t.found;
	buf_free(&b);
	return rc;
}

/*
 * v1 scans the whole acks database in one write transaction: the ledger
 * holds the open expectations of days, not years, and the scheduler calls
 * this once a minute or so.  When it grows, a due-time index (as the jobs
 * key) makes this a range scan.  A record failing validation is skipped
 * here, so that one bad record cannot stop every deadline; store_ack_walk()
 * reports it.
 */
int
store_ack_overdue(struct store *s, int64_t now, struct store_ack *out,
    size_t max, size_t *n)
{
	struct buf	 b;
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 got = 0, i;
	int		 rc;

	if (max == 0) {
		*n = 0;
		return 0;
	}
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DB_ACKS], &c)) != 0)
		return wend(s, txn, lmerr(s, rc, "acks"));
	/* Collect first: no writes under an open cursor. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && got < max;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (ack_decode(s, &k, &v, &out[got]) != 0)
			continue;
		if (out[got].state == STORE_ACK_PENDING && out[got].due <= now)
			got++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return wend(s, txn, lmerr(s, rc, "acks"));
	buf_init(&b, 4096);
	for (i = 0, rc = 0; i < got && rc == 0; i++) {
		out[i].state = STORE_ACK_OVERDUE;
		rc = ack_put(s, txn, &out[i], &b);
	}
	buf_free(&b);
	if ((rc = wend(s, txn, rc)) == 0)
		*n = got;
	return rc;
}

int
store_ack_walk(struct store_rtxn *rt, store_ack_fn fn, void *arg)
{
	struct store_ack a;
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc, r;

	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[STORE_DB_ACKS],
	    &c)) != 0)
		return lmerr(rt->s, rc, "acks");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = ack_decode(rt->s, &k, &v, &a)) != 0)
			goto out;
		if ((r = fn(arg, &a)) != 0) {
			rc = r;
			goto out;
		}
	}
	rc = rc == MDB_NOTFOUND ? 0 : lmerr(rt->s, rc, "acks");
out:
	mdb_cursor_close(c);
	return rc;
}

/* The out fields of an outcome that failed: nothing of it exists. */
static void
outcome_failed(struct store_outcome *o)
{
	size_t	 i;

	o->final = 0;
	if (o->out != NULL && o->nout <= EG_MAX_STORE_EVENTS)
		for (i = 0; i < o->nout; i++)
			memset(o->out[i].id, 0, STORE_ID_LEN);
	if (o->res != NULL && o->nres <= EG_MAX_STORE_EVENTS)
		for (i = 0; i < o->nres; i++)
			o->res[i].found = 0;
}

int
store_outcome_batch(struct store *s, struct store_outcome *o, size_t n)
{
	struct store_doc *outdocs, *d;
	struct store_job *jobs;
	struct buf	 b;
	MDB_txn		*txn, *child;
	uint8_t		*hashes;
	size_t		(*off)[2], i, nev = 0, nout = 0, todo = 0;
	int64_t		 now = store_now();
	int		 rc = 0;

	if (n == 0)
		return 0;
	if (o == NULL)
		return seterr(EG_ERR_INVAL, "no outcomes");
	/* off[i]: where outcome i's event hashes and outbound records are. */
	off = xreallocarray(NULL, n, sizeof(*off));
	for (i = 0; i < n; i++) {
		o[i].final = 0;
		off[i][0] = nev;
		off[i][1] = nout;
		if ((o[i].rc = outcome_check(&o[i])) != 0)
			continue;
		nev += o[i].nev;
		nout += o[i].nout;
	}
	/* One allocation each for the batch; hashing before the lock. */
	hashes = xreallocarray(NULL, nev ? 2 * nev : 1, STORE_SHA_LEN);
	outdocs = xreallocarray(NULL, nout + 1, sizeof(*outdocs));
	jobs = xreallocarray(NULL, n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		if (o[i].rc != 0)
			continue;
		o[i].rc = outcome_prep(&o[i], now, hashes + 2 * off[i][0] *
		    STORE_SHA_LEN, outdocs + off[i][1]);
		if (o[i].rc == 0)
			todo++;
	}
	if (todo == 0)
		goto out;
	d = &outdocs[nout];		/* scratch */
	buf_init(&b, EG_MAX_STORE_DIAGS + 8192);
	if ((rc = wbegin(s, &txn)) != 0) {
		buf_free(&b);
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (o[i].rc != 0)
			continue;
		if ((rc = child_begin(s, txn, &child)) != 0)
			break;
		rc = outcome_put(s, child, &o[i], hashes + 2 * off[i][0] *
		    STORE_SHA_LEN, outdocs + off[i][1], now, d, &b, &jobs[i]);
		rc = child_end(s, child, rc, &o[i].rc);
	}
	if ((rc = wend(s, txn, rc)) == 0) {
		/* A job is the caller's copy of a record: only once durable. */
		for (i = 0; i < n; i++)
			if (o[i].rc == 0 && o[i].job != NULL)
				*o[i].job = jobs[i];
	}
	buf_free(&b);
out:
	for (i = 0; i < n; i++)
		if (o[i].rc != 0)
			outcome_failed(&o[i]);
	free(jobs);
	free(outdocs);
	free(hashes);
	free(off);
	return rc;
}

#define JOB_KINDS	(1u << STORE_JOB_FORWARD | 1u << STORE_JOB_SEND | \
			    1u << STORE_JOB_TRANSLATE)

/*
 * A record failing validation is skipped so that one bad record cannot
 * stop the queue (store_job_next_due() and store_job_walk() report it).
 * Due jobs of other kinds are stepped over: fine while each kind's
 * consumer keeps up; a per-kind index is the cure when one does not.
 */
int
store_jobs_take(struct store *s, unsigned int mask, int64_t now,
    int64_t lease_ms, struct store_job *out, size_t max, size_t *n)
{
	struct buf	 b;
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 got = 0, i;
	int		 rc;

	if (mask == 0 || (mask & ~JOB_KINDS) != 0)
		return seterr(EG_ERR_INVAL, "job kind mask %#x (1 << kind)",
		    mask);
	if (now < 0 || lease_ms <= 0 || now >= STORE_DUE_NEVER - lease_ms)
		return seterr(EG_ERR_INVAL, "job lease");
	if (max == 0) {
		*n = 0;
		return 0;
	}
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DB_JOBS], &c)) != 0)
		return wend(s, txn, lmerr(s, rc, "jobs"));
	/* Collect first: no writes under an open cursor. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && got < max;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == JOBKEY_LEN &&
		    get_be(k.mv_data, 8) > (uint64_t)now)
			break;
		if (job_decode(&k, &v, &out[got]) != 0)
			continue;
		if ((out[got].state == STORE_JOB_PENDING ||
		    out[got].state == STORE_JOB_INFLIGHT) &&
		    (mask & 1u << out[got].kind) != 0)
			got++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return wend(s, txn, lmerr(s, rc, "jobs"));
	buf_init(&b, 4096);
	for (i = 0, rc = 0; i < got && rc == 0; i++)
		rc = job_move(s, txn, &out[i], STORE_JOB_INFLIGHT,
		    now + lease_ms, NULL, now, &b, &out[i]);
	buf_free(&b);
	if ((rc = wend(s, txn, rc)) == 0)
		*n = got;
	return rc;
}

static int
settle_check(const struct store_settle *st)
{
	int	 rc;

	if (st->job == NULL)
		return seterr(EG_ERR_INVAL, "settle: no job");
	if (st->job->state != STORE_JOB_INFLIGHT)
		return seterr(EG_ERR_INVAL, "settle: the job is %s, not "
		    "inflight", store_job_state_name(st->job->state));
	if (st->to != STORE_JOB_DONE && st->to != STORE_JOB_PENDING &&
	    st->to != STORE_JOB_DEAD && st->to != STORE_JOB_INFLIGHT)
		return seterr(EG_ERR_INVAL, "settle: an inflight job becomes "
		    "done, pending, dead or inflight, not %s",
		    store_job_state_name(st->to));
	if ((rc = job_move_check(st->job, st->to, st->due)) != 0)
		return rc;
	if (st->res != NULL && (rc = check_resolve(st->res)) != 0)
		return rc;
	return 0;
}

int
store_jobs_settle(struct store *s, struct store_settle *st, size_t n,
    int64_t now)
{
	struct store_job *jobs;
	struct buf	 b;
	MDB_txn		*txn, *child;
	size_t		 i, todo = 0;
	int		 rc = 0;

	if (n == 0)
		return 0;
	if (st == NULL)
		return seterr(EG_ERR_INVAL, "nothing to settle");
	for (i = 0; i < n; i++) {
		if ((st[i].rc = settle_check(&st[i])) == 0)
			todo++;
		else if (st[i].res != NULL)
			st[i].res->found = 0;
	}
	if (todo == 0)
		return 0;
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	jobs = xreallocarray(NULL, n, sizeof(*jobs));
	buf_init(&b, 4096);
	for (i = 0; i < n && rc == 0; i++) {
		if (st[i].rc != 0)
			continue;
		if ((rc = child_begin(s, txn, &child)) != 0)
			break;
		rc = job_move(s, child, st[i].job, st[i].to, st[i].due,
		    st[i].error, now, &b, &jobs[i]);
		if (rc == 0 && st[i].res != NULL)
			rc = ack_resolve_put(s, child, st[i].res, now, &b);
		rc = child_end(s, child, rc, &st[i].rc);
		if (st[i].rc != 0 && st[i].res != NULL)
			st[i].res->found = 0;
	}
	if ((rc = wend(s, txn, rc)) == 0) {
		/* The caller's copies change only once durable. */
		for (i = 0; i < n; i++)
			if (st[i].rc == 0)
				*st[i].job = jobs[i];
	}
	buf_free(&b);
	free(jobs);
	return rc;
}

int
store_job_walk(struct store_rtxn *rt, store_job_fn fn, void *arg)
{
	struct store_job j;
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc, r;

	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[STORE_DB_JOBS],
	    &c)) != 0)
		return lmerr(rt->s, rc, "jobs");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = job_decode(&k, &v, &j)) != 0)
			goto out;
		if ((r = fn(arg, &j)) != 0) {
			rc = r;
			goto out;
		}
	}
	rc = rc == MDB_NOTFOUND ? 0 : lmerr(rt->s, rc, "jobs");
out:
	mdb_cursor_close(c);
	return rc;
}

/* --- outbound control numbers --- */

uint64_t
store_ctr_max(enum store_level lvl)
{
	switch (lvl) {
	case STORE_LVL_ISA:	/* ISA13 N0 9/9 */
	case STORE_LVL_GS:	/* GS06 N0 1/9 */
	case STORE_LVL_ST:	/* ST02 AN 4/9, numeric here */
		return 999999999ULL;
	case STORE_LVL_UNB:	/* UNB 0020 an..14 */
	case STORE_LVL_UNG:	/* UNG 0048 an..14 */
	case STORE_LVL_UNH:	/* UNH 0062 an..14 */
		return 99999999999999ULL;
	case STORE_LVL_CXML:
	case STORE_LVL_AS2:
		break;
	}
	return 0;
}

static int
ctr_write(struct store *s, MDB_txn *txn, const MDB_val *k, uint64_t next)
{
	uint8_t	 rec[10];
	MDB_val	 v, kk = *k;
	int	 rc;

	rec[0] = TAG_CTR;
	rec[1] = REC_V1;
	put_be(rec + 2, next, 8);
	v = mval(rec, sizeof(rec));
	if ((rc = mdb_put(txn, s->dbi[STORE_DB_CTRSEQ], &kk, &v, 0)) != 0)
		return lmerr(s, rc, "ctrseq");
	return 0;
}

static int
ctr_check(const char *partner, enum store_level lvl)
{
	int	 rc;

	if ((rc = check_partner(partner)) != 0)
		return rc;
	if (store_ctr_max(lvl) == 0)
		return seterr(EG_ERR_INVAL, "no counter for level %d",
		    (int)lvl);
	return 0;
}

int
store_ctr_next(struct store *s, const char *partner, enum store_level lvl,
    uint64_t *out)
{
	MDB_txn		*txn;
	MDB_val		 k, v;
	uint8_t		 key[MAX_KEY];
	uint64_t	 cur = 0, max = store_ctr_max(lvl);
	const uint8_t	*p;
	int		 rc;

	if ((rc = ctr_check(partner, lvl)) != 0)
		return rc;
	k = mval(key, key_make(s, key, partner, (int)lvl, NULL, NULL));
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, s->dbi[STORE_DB_CTRSEQ], &k, &v);
	if (rc == MDB_NOTFOUND) {
		cur = 1;
		rc = 0;
	} else if (rc != 0)
		rc = lmerr(s, rc, "ctrseq");
	else {
		p = v.mv_data;
		cur = v.mv_size == 10 ? get_be(p + 2, 8) : 0;
		if (v.mv_size != 10 || p[0] != TAG_CTR || p[1] != REC_V1 ||
		    cur < 1 || cur > max)
			rc = seterr(EG_ERR_SYNTAX, "ctrseq record of %s level "
			    "%d is unreadable", partner, (int)lvl);
	}
	if (rc == 0)
		rc = ctr_write(s, txn, &k, cur == max ? 1 : cur + 1);
	if ((rc = wend(s, txn, rc)) == 0)
		*out = cur;
	return rc;
}

int
store_ctr_set(struct store *s, const char *partner, enum store_level lvl,
    uint64_t next)
{
	MDB_txn	*txn;
	MDB_val	 k;
	uint8_t	 key[MAX_KEY];
	int	 rc;

	if ((rc = ctr_check(partner, lvl)) != 0)
		return rc;
	if (next < 1 || next > store_ctr_max(lvl))
		return seterr(EG_ERR_INVAL, "control number %" PRIu64
		    " out of range 1..%" PRIu64, next, store_ctr_max(lvl));
	k = mval(key, key_make(s, key, partner, (int)lvl, NULL, NULL));
	if ((rc = wbegin(s, &txn)) != 0)
		return rc;
	return wend(s, txn, ctr_write(s, txn, &k, next));
}

/* --- channel state --- */

#define CHAN_PREFIX	"chan:"

static int
chan_key(const char *partner, const char *channel, char *key, size_t size)
{
	size_t	 pl = strlen(partner), cl = strlen(channel);

	if (pl == 0 || pl > EG_MAX_STORE_FIELD || cl == 0 || cl > 32 ||
	    strchr(channel, ':') != NULL)
		return seterr(EG_ERR_INVAL, "channel state: bad partner or "
		    "channel name");
	if ((size_t)snprintf(key, size, CHAN_PREFIX "%s:%s", partner,
	    channel) >= size)
		return seterr(EG_ERR_INVAL, "channel state: name too long");
	return 0;
}

static void
enc_strn(struct buf *b, const char *s, size_t max)
{
	size_t	 n = strnlen(s, max);

	enc_int(b, n, 2);
	buf_add(b, s, n);
}

int
store_chan_put(struct store *s, const char *partner, const char *channel,
    const struct store_chan *c)
{
	MDB_txn	*txn;
	MDB_val	 k, d;
	struct buf b;
	char	 key[EG_MAX_STORE_FIELD + 64];
	int	 rc;

	if ((rc = chan_key(partner, channel, key, sizeof(key))) != 0)
		return rc;
	buf_init(&b, 4096);
	buf_addc(&b, TAG_CHAN);
	buf_addc(&b, REC_V1);
	enc_int(&b, (uint64_t)c->last_poll, 8);
	enc_int(&b, (uint64_t)c->last_ok, 8);
	enc_int(&b, (uint64_t)c->error_at, 8);
	enc_int(&b, c->polls, 8);
	enc_int(&b, c->files, 8);
	enc_int(&b, c->bytes, 8);
	enc_int(&b, c->errors, 8);
	enc_int(&b, c->sent, 8);
	enc_int(&b, c->cycle_ms, 4);
	buf_addc(&b, c->connected ? 1 : 0);
	enc_strn(&b, partner, EG_MAX_STORE_FIELD);
	enc_strn(&b, channel, EG_MAX_STORE_FIELD);
	enc_strn(&b, c->server, EG_MAX_STORE_FIELD);
	enc_strn(&b, c->error, EG_MAX_STORE_ERROR);
	k = mval(key, strlen(key));
	d = mval(b.p, b.len);
	if ((rc = wbegin(s, &txn)) != 0) {
		buf_free(&b);
		return rc;
	}
	rc = mdb_put(txn, s->dbi[STORE_DB_META], &k, &d, 0);
	if (rc != 0)
		rc = lmerr(s, rc, "meta");
	rc = wend(s, txn, rc);
	buf_free(&b);
	return rc;
}

static int
chan_decode(const MDB_val *v, char *partner, char *channel,
    struct store_chan *c)
{
	struct dec	 d = { v->mv_data, v->mv_size, 0, NULL };
	uint8_t		 conn;

	memset(c, 0, sizeof(*c));
	dec_header(&d, TAG_CHAN);
	c->last_poll = (int64_t)dec_int(&d, 8);
	c->last_ok = (int64_t)dec_int(&d, 8);
	c->error_at = (int64_t)dec_int(&d, 8);
	c->polls = dec_int(&d, 8);
	c->files = dec_int(&d, 8);
	c->bytes = dec_int(&d, 8);
	c->errors = dec_int(&d, 8);
	c->sent = dec_int(&d, 8);
	c->cycle_ms = (uint32_t)dec_int(&d, 4);
	dec_bytes(&d, &conn, 1);
	c->connected = conn;
	dec_str(&d, partner, STORE_FIELD, "partner");
	dec_str(&d, channel, STORE_FIELD, "channel");
	dec_str(&d, c->server, sizeof(c->server), "server");
	dec_str(&d, c->error, sizeof(c->error), "error");
	dec_end(&d);
	if (d.why != NULL)
		return seterr(EG_ERR_SYNTAX, "channel state record is "
		    "unreadable: %s", d.why);
	return 0;
}

int
store_chan_get(struct store_rtxn *rt, const char *partner,
    const char *channel, struct store_chan *out)
{
	MDB_val		 k, v;
	struct store_chan c;
	char		 key[EG_MAX_STORE_FIELD + 64], p[STORE_FIELD],
			 ch[STORE_FIELD];
	int		 rc;

	if ((rc = chan_key(partner, channel, key, sizeof(key))) != 0)
		return rc;
	k = mval(key, strlen(key));
	rc = mdb_get(rt->txn, rt->s->dbi[STORE_DB_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return seterr(EG_ERR_NOTFOUND, "no %s state of partner %s",
		    channel, partner);
	if (rc != 0)
		return lmerr(rt->s, rc, "meta");
	if ((rc = chan_decode(&v, p, ch, &c)) != 0)
		return rc;
	*out = c;
	return 0;
}

int
store_chan_walk(struct store_rtxn *rt, store_chan_fn fn, void *arg)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	struct store_chan c;
	char		 p[STORE_FIELD], ch[STORE_FIELD];
	size_t		 pl = strlen(CHAN_PREFIX);
	int		 rc, frc = 0;

	if ((rc = mdb_cursor_open(rt->txn, rt->s->dbi[STORE_DB_META],
	    &cur)) != 0)
		return lmerr(rt->s, rc, "meta");
	k = mval(CHAN_PREFIX, pl);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		if (k.mv_size < pl || memcmp(k.mv_data, CHAN_PREFIX, pl) != 0) {
			rc = MDB_NOTFOUND;
			break;
		}
		if ((frc = chan_decode(&v, p, ch, &c)) != 0 ||
		    (frc = fn(arg, p, ch, &c)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (frc != 0)
		return frc;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmerr(rt->s, rc, "meta");
	return 0;
}
