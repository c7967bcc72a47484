/*
 * unit_store.c: the LMDB store against real environments in a temporary
 * folder: open and schema, ingest and read back, control-number
 * duplicates, idempotent events, jobs, counters, a full map, corrupted
 * records, a reader beside a writer process, backup (the function and
 * `edigate backup` when $EDIGATE is set) and SIGKILL during ingest.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "err.h"
#include "slice.h"
#include "store.h"
#include "tap.h"

/* The store's message, for a test description, only after a failure. */
#define EM(rc)	((rc) != 0 ? store_errmsg() : "")

static char	 base[256];

static void
path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", base, rel);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
sha(const void *p, size_t len, uint8_t out[32])
{
	unsigned int	 n;

	EVP_Digest(p, len, out, &n, EVP_sha256(), NULL);
}

static void
mkdoc(struct store_doc *d, const char *partner, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->partner, sizeof(d->partner), "%s", partner);
	snprintf(d->channel, sizeof(d->channel), "dir:inbox");
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->syntax, sizeof(d->syntax), "x12");
	snprintf(d->doctype, sizeof(d->doctype), "850");
	snprintf(d->sender, sizeof(d->sender), "ZZ:ACME");
	snprintf(d->receiver, sizeof(d->receiver), "ZZ:WIDGETCO");
	snprintf(d->icn, sizeof(d->icn), "000000905");
	d->direction = STORE_INBOUND;
}

/* Ingest raw text as a document of partner with one ISA entry. */
static int
ingest(struct store *s, const char *partner, const char *isa,
    const char *raw, uint8_t id[STORE_ID_LEN], size_t *ndup)
{
	struct store_doc	 d;
	struct store_ingest_res	 res;
	struct store_ctl	 c = { STORE_LVL_ISA, "ZZ:ACME", isa };
	int			 rc;

	mkdoc(&d, partner, "in.edi");
	rc = store_ingest(s, &d, slice_cstr(raw), &c, isa ? 1 : 0, &res);
	if (rc == 0) {
		if (id)
			memcpy(id, res.id, STORE_ID_LEN);
		if (ndup)
			*ndup = res.ndup;
	}
	return rc;
}

/* Put one raw value with plain LMDB (the store must be closed). */
static int
raw_put(const char *env_path, const char *db, const void *k, size_t kl,
    const void *v, size_t vl)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 key = { kl, (void *)(uintptr_t)k };
	MDB_val	 val = { vl, (void *)(uintptr_t)v };
	int	 rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 16);
	if ((rc = mdb_env_open(env, env_path, 0, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) == 0 &&
		    (rc = mdb_put(txn, dbi, &key, &val, 0)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* Length of a raw value, or -1. */
static long
raw_len(const char *env_path, const char *db, const void *k, size_t kl)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 key = { kl, (void *)(uintptr_t)k }, val;
	long	 n = -1;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, env_path, MDB_RDONLY, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, db, 0, &dbi) == 0 &&
		    mdb_get(txn, dbi, &key, &val) == 0)
			n = (long)val.mv_size;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

static int
iszero16(const uint8_t *p)
{
	static const uint8_t zero[16];

	return memcmp(p, zero, 16) == 0;
}

static uint64_t
ndocs(struct store *s)
{
	struct store_stat st;

	if (store_stat(s, &st) != 0)
		return UINT64_MAX;
	return st.entries[STORE_DB_DOCS];
}

static void
t_open(void)
{
	struct store	*s, *s2;
	uint8_t		 inst[STORE_ID_LEN], inst2[STORE_ID_LEN];
	uint8_t		 zero[STORE_ID_LEN] = { 0 };
	char		 p[512], q[512];
	int		 rc;

	path(p, sizeof(p), "state");
	mkdir(p, 0700);
	path(p, sizeof(p), "state/store");
	rc = store_open(p, 0, 0, &s);
	is_int(rc, 0, "open creates a store %s", EM(rc));
	if (rc != 0)
		exit(1);
	store_instance(s, inst);
	ok(memcmp(inst, zero, sizeof(zero)) != 0, "instance id set");
	rc = store_open(p, 0, STORE_RDONLY, &s2);
	is_int(rc, EG_ERR_INVAL, "second open in one process refused");
	ok(strstr(store_errmsg(), "already open") != NULL, "  says so: %s",
	    store_errmsg());
	store_close(s);
	rc = store_open(p, 0, 0, &s);
	is_int(rc, 0, "reopen");
	store_instance(s, inst2);
	ok(memcmp(inst, inst2, sizeof(inst)) == 0, "instance id kept");
	store_close(s);
	rc = store_open(p, 0, STORE_RDONLY, &s);
	is_int(rc, 0, "read-only open");
	store_close(s);

	path(q, sizeof(q), "nothere");
	is_int(store_open(q, 0, STORE_RDONLY, &s), EG_ERR_NOTFOUND,
	    "read-only open of a missing folder: not found");
	path(q, sizeof(q), "empty");
	mkdir(q, 0700);
	is_int(store_open(q, 0, STORE_RDONLY, &s), EG_ERR_NOTFOUND,
	    "read-only open of an empty folder: not found");
	ok(strstr(store_errmsg(), "no store") != NULL, "  message: %s",
	    store_errmsg());
	path(q, sizeof(q), "no/such/parent");
	is_int(store_open(q, 0, 0, &s), EG_ERR_NOTFOUND,
	    "open under a missing parent: not found");
}

static void
t_schema(void)
{
	static const uint8_t newer[] = { 'M', 1, 0, 0, 0, 99 };
	static const uint8_t bad[] = { 'X', 1, 0, 0 };
	static const uint8_t one[] = { 'M', 1, 0, 0, 0, 1 };
	struct store	*s;
	char		 p[512];
	int		 rc;

	path(p, sizeof(p), "schema");
	is_int(store_open(p, 1 << 20, 0, &s), 0, "schema: create");
	store_close(s);
	is_int(raw_put(p, "meta", "schema", 6, newer, sizeof(newer)), 0,
	    "schema: raw write of schema 99");
	rc = store_open(p, 0, 0, &s);
	is_int(rc, EG_ERR_UNSUPPORTED, "newer schema refused");
	ok(strstr(store_errmsg(), "schema 99") != NULL &&
	    strstr(store_errmsg(), "upgrade") != NULL, "  message: %s",
	    store_errmsg());
	is_int(store_open(p, 0, STORE_RDONLY, &s), EG_ERR_UNSUPPORTED,
	    "newer schema refused read-only too");
	raw_put(p, "meta", "schema", 6, bad, sizeof(bad));
	is_int(store_open(p, 0, 0, &s), EG_ERR_SYNTAX,
	    "unreadable schema record: syntax");
	raw_put(p, "meta", "schema", 6, one, sizeof(one));
	rc = store_open(p, 0, 0, &s);
	is_int(rc, 0, "schema 1 opens again");
	if (rc == 0)
		store_close(s);
}

static uint8_t	 doc_a[STORE_ID_LEN];	/* the binary document */

static void
t_ingest(struct store *s)
{
	struct store_doc	 d, g;
	struct store_ingest_res	 res;
	struct store_rtxn	*rt;
	struct store_ctl	 c[3] = {
		{ STORE_LVL_ISA, "ZZ:ACME", "000000001" },
		{ STORE_LVL_GS, "ACME", "1" },
		{ STORE_LVL_ST, "ACME", "0101" },
	};
	struct slice		 blob;
	char			*raw, idt[STORE_ID_TEXT], pfx[16];
	uint8_t			 h[32];
	size_t			 i, len = 300000;
	int			 rc;

	raw = malloc(len);
	for (i = 0; i < len; i++)
		raw[i] = (char)(i * 7 + i / 256);
	mkdoc(&d, "acme-retail", "po-1.edi");
	rc = store_ingest(s, &d, slice_make(raw, len), c, 3, &res);
	is_int(rc, 0, "ingest 300 kB of binary %s", EM(rc));
	is_int(res.ndup, 0, "  no duplicate control numbers");
	sha(raw, len, h);
	ok(memcmp(h, res.sha256, 32) == 0, "  sha256 computed by the store");
	memcpy(doc_a, res.id, STORE_ID_LEN);
	is_int(res.id[6] >> 4, 7, "  id is a UUIDv7");

	is_int(store_rtxn_begin(s, &rt), 0, "read transaction");
	rc = store_doc_get(rt, res.id, &g);
	is_int(rc, 0, "doc_get");
	is_str(g.partner, "acme-retail", "  partner");
	is_str(g.name, "po-1.edi", "  name");
	is_str(g.sender, "ZZ:ACME", "  sender");
	is_str(g.icn, "000000905", "  icn");
	is_int(g.state, STORE_DOC_RECEIVED, "  state received");
	is_int(g.direction, STORE_INBOUND, "  inbound");
	is_int(g.size, len, "  size");
	ok(g.received > 1600000000000LL && g.updated == g.received,
	    "  received time stamped");
	ok(memcmp(g.sha256, h, 32) == 0, "  sha256");
	rc = store_blob_get(rt, res.id, &blob);
	is_int(rc, 0, "blob_get");
	ok(blob.len == len && memcmp(blob.p, raw, len) == 0,
	    "  raw bytes back byte for byte");
	store_id_format(res.id, idt);
	is_int(store_doc_find(rt, idt, &g), 0, "doc_find by the full id");
	memcpy(pfx, idt, 13);
	pfx[13] = '\0';
	rc = store_doc_find(rt, pfx, &g);
	ok(rc == 0 && memcmp(g.id, res.id, 16) == 0,
	    "doc_find by a unique prefix %s", pfx);
	is_int(store_doc_find(rt, "xyz", &g), EG_ERR_INVAL,
	    "doc_find: not hex");
	is_int(store_doc_find(rt, "ffff", &g), EG_ERR_NOTFOUND,
	    "doc_find: no such prefix");
	store_rtxn_end(rt);

	/* An empty document is a document. */
	mkdoc(&d, "acme-retail", "empty.edi");
	rc = store_ingest(s, &d, slice_make(NULL, 0), NULL, 0, &res);
	is_int(rc, 0, "ingest 0 bytes");
	store_rtxn_begin(s, &rt);
	ok(store_blob_get(rt, res.id, &blob) == 0 && blob.len == 0,
	    "  empty blob back");
	memcpy(pfx, idt, 2);
	pfx[2] = '\0';
	is_int(store_doc_find(rt, pfx, &g), EG_ERR_INVAL,
	    "doc_find: ambiguous prefix %s", pfx);
	ok(strstr(store_errmsg(), "ambiguous") != NULL, "  says ambiguous");
	store_rtxn_end(rt);

	/* Bad records are refused before anything is written. */
	mkdoc(&d, "", "x");
	is_int(store_ingest(s, &d, slice_cstr("x"), NULL, 0, &res),
	    EG_ERR_INVAL, "no partner: invalid");
	mkdoc(&d, "acme", "x");
	memset(d.name, 'a', sizeof(d.name));
	is_int(store_ingest(s, &d, slice_cstr("x"), NULL, 0, &res),
	    EG_ERR_INVAL, "unterminated field: invalid");
	mkdoc(&d, "acme", "x");
	d.state = STORE_DOC_TRANSLATED;
	is_int(store_ingest(s, &d, slice_cstr("x"), NULL, 0, &res),
	    EG_ERR_INVAL, "new document already translated: invalid");
	free(raw);
}

static void
t_dup(struct store *s)
{
	struct store_doc	 d;
	struct store_ingest_res	 res;
	struct store_ctl	 c[3] = {
		{ STORE_LVL_ISA, "ZZ:ACME", "000000905" },
		{ STORE_LVL_GS, "ACME", "905" },
		{ STORE_LVL_ST, "ACME", "0001" },
	};
	struct store_ctl	 self[2] = {
		{ STORE_LVL_ST, "ACME", "7777" },
		{ STORE_LVL_ST, "ACME", "7777" },
	};
	struct store_ctl	 lng;
	uint8_t			 first[STORE_ID_LEN];
	char			*big;
	int			 rc;

	mkdoc(&d, "acme-retail", "a.edi");
	rc = store_ingest(s, &d, slice_cstr("ISA*first"), c, 3, &res);
	ok(rc == 0 && res.ndup == 0, "first interchange 905: no duplicate");
	memcpy(first, res.id, STORE_ID_LEN);
	mkdoc(&d, "acme-retail", "b.edi");
	rc = store_ingest(s, &d, slice_cstr("ISA*again"), c, 3, &res);
	is_int(rc, 0, "same control numbers again: still committed");
	is_int(res.ndup, 3, "  three ledger entries seen before");
	ok(memcmp(res.dup_of, first, STORE_ID_LEN) == 0,
	    "  names the earlier document");
	mkdoc(&d, "other-partner", "c.edi");
	rc = store_ingest(s, &d, slice_cstr("ISA*other"), c, 3, &res);
	ok(rc == 0 && res.ndup == 0,
	    "same numbers from another partner: no duplicate");
	mkdoc(&d, "acme-retail", "d.edi");
	rc = store_ingest(s, &d, slice_cstr("ISA*self"), self, 2, &res);
	ok(rc == 0 && res.ndup == 0,
	    "a number repeated within one document: not a duplicate");

	/* cXML payloadIDs can be long: keys over 511 bytes are hashed. */
	big = malloc(901);
	memset(big, 'p', 900);
	big[900] = '\0';
	lng.level = STORE_LVL_CXML;
	lng.sender = "AN01000000001";
	lng.number = big;
	mkdoc(&d, "acme-retail", "e.xml");
	rc = store_ingest(s, &d, slice_cstr("<cXML/>"), &lng, 1, &res);
	ok(rc == 0 && res.ndup == 0, "900-byte payloadID: stored %s",
	    EM(rc));
	memcpy(first, res.id, STORE_ID_LEN);
	rc = store_ingest(s, &d, slice_cstr("<cXML/>"), &lng, 1, &res);
	ok(rc == 0 && res.ndup == 1 &&
	    memcmp(res.dup_of, first, STORE_ID_LEN) == 0,
	    "  and seen again through its hashed key");
	big[899] = 'q';
	rc = store_ingest(s, &d, slice_cstr("<cXML/>"), &lng, 1, &res);
	ok(rc == 0 && res.ndup == 0, "  a different long key is no duplicate");
	free(big);
	big = malloc(EG_MAX_STORE_KEYPART + 2);
	memset(big, 'z', EG_MAX_STORE_KEYPART + 1);
	big[EG_MAX_STORE_KEYPART + 1] = '\0';
	lng.number = big;
	is_int(store_ingest(s, &d, slice_cstr("x"), &lng, 1, &res),
	    EG_ERR_LIMIT, "control number over its cap: limit");
	free(big);
}

struct collect {
	int		 n;
	uint8_t		 ids[8][STORE_ID_LEN];
	char		 json[8][64];
};

static int
collect(void *arg, const struct store_event_rec *e)
{
	struct collect	*c = arg;

	if (c->n < 8) {
		memcpy(c->ids[c->n], e->id, STORE_ID_LEN);
		snprintf(c->json[c->n], sizeof(c->json[0]), "%.*s",
		    (int)e->json.len, e->json.p);
	}
	c->n++;
	return 0;
}

static uint8_t	 purged_doc[STORE_ID_LEN];

static void
t_translated(struct store *s)
{
	struct store_event	 ev[2];
	struct store_event_rec	 er;
	struct store_rtxn	*rt;
	struct store_doc	 g;
	struct store_stat	 st0, st1;
	struct collect		 col;
	enum store_doc_state	 state = 0;
	struct slice		 diags;
	uint8_t			 a[16], b[16], c[16], d[16], e[16], e1[16];
	char			 idt[STORE_ID_TEXT];
	const char		*dj = "[{\"code\":\"X12-SEG\"}]";
	int			 rc;

	ingest(s, "tr", NULL, "A", a, NULL);
	ingest(s, "tr", NULL, "B", b, NULL);
	ingest(s, "tr", NULL, "C", c, NULL);
	ingest(s, "tr", NULL, "D", d, NULL);
	ingest(s, "tr", NULL, "E", e, NULL);
	memcpy(purged_doc, a, STORE_ID_LEN);
	store_stat(s, &st0);

	memset(ev, 0, sizeof(ev));
	ev[0].json = "{\"n\":1}";
	ev[0].jsonlen = 7;
	ev[0].idem = "x12:tr:k1";
	ev[0].biz = "order:tr:PO1";
	ev[1].json = "{\"n\":2}";
	ev[1].jsonlen = 7;
	ev[1].idem = "x12:tr:k2";
	ev[1].biz = "order:tr:PO1";
	rc = store_translated(s, a, ev, 2, "erp", &state);
	is_int(rc, 0, "translated: two new events %s", EM(rc));
	is_int(state, STORE_DOC_TRANSLATED, "  document translated");
	ok(!ev[0].duplicate && !ev[1].duplicate, "  neither a duplicate");
	memcpy(e1, ev[0].id, 16);

	memset(ev, 0, sizeof(ev));
	ev[0].json = "{\"n\":3}";
	ev[0].jsonlen = 7;
	ev[0].idem = "x12:tr:k1";
	ev[1].json = "{\"n\":4}";
	ev[1].jsonlen = 7;
	ev[1].idem = "x12:tr:k3";
	ev[1].biz = "order:tr:PO2";
	rc = store_translated(s, b, ev, 2, "erp", &state);
	is_int(rc, 0, "translated: one key seen before");
	ok(ev[0].duplicate && memcmp(ev[0].dup_of, e1, 16) == 0,
	    "  first event is a duplicate of the earlier one");
	ok(!ev[1].duplicate, "  second is new");
	is_int(state, STORE_DOC_TRANSLATED, "  document translated");

	memset(ev, 0, sizeof(ev));
	ev[0].json = "{\"n\":5}";
	ev[0].jsonlen = 7;
	ev[0].idem = "x12:tr:k2";
	rc = store_translated(s, c, ev, 1, "erp", &state);
	ok(rc == 0 && ev[0].duplicate, "translated: only a seen key");
	is_int(state, STORE_DOC_DUPLICATE, "  document is a duplicate");

	memset(ev, 0, sizeof(ev));
	ev[0].json = ev[1].json = "{\"n\":6}";
	ev[0].jsonlen = ev[1].jsonlen = 7;
	ev[0].idem = ev[1].idem = "x12:tr:k4";
	rc = store_translated(s, d, ev, 2, NULL, &state);
	ok(rc == 0 && !ev[0].duplicate && ev[1].duplicate &&
	    memcmp(ev[1].dup_of, ev[0].id, 16) == 0,
	    "the same key twice in one call: the second is a duplicate");
	is_int(state, STORE_DOC_TRANSLATED, "  document translated");

	store_stat(s, &st1);
	is_int(st1.entries[STORE_DB_EVENTS] - st0.entries[STORE_DB_EVENTS],
	    4, "four events written");
	is_int(st1.entries[STORE_DB_IDEM] - st0.entries[STORE_DB_IDEM], 4,
	    "four idempotency keys");
	is_int(st1.entries[STORE_DB_JOBS] - st0.entries[STORE_DB_JOBS], 3,
	    "three forward jobs (none for duplicates or without target)");
	is_int(st1.entries[STORE_DB_BIZ] - st0.entries[STORE_DB_BIZ], 3,
	    "three business-key entries");

	store_rtxn_begin(s, &rt);
	memset(&col, 0, sizeof(col));
	rc = store_events_of_doc(rt, a, collect, &col);
	ok(rc == 0 && col.n == 2 && strcmp(col.json[0], "{\"n\":1}") == 0 &&
	    strcmp(col.json[1], "{\"n\":2}") == 0,
	    "events_of_doc: both, in order");
	memset(&col, 0, sizeof(col));
	rc = store_events_of_doc(rt, c, collect, &col);
	ok(rc == 0 && col.n == 0, "events_of_doc of a duplicate: none");
	memset(&col, 0, sizeof(col));
	rc = store_events_of_biz(rt, "order:tr:PO1", collect, &col);
	ok(rc == 0 && col.n == 2 && memcmp(col.ids[0], e1, 16) == 0,
	    "events_of_biz: the PO's two events in order");
	rc = store_event_get(rt, e1, &er);
	ok(rc == 0 && er.json.len == 7 && memcmp(er.json.p, "{\"n\":1}",
	    7) == 0 && memcmp(er.doc, a, 16) == 0,
	    "event_get: JSON and document");
	store_id_format(e1, idt);
	idt[18] = '\0';
	rc = store_event_find(rt, idt, &er);
	ok(rc == 0 && memcmp(er.id, e1, 16) == 0, "event_find by prefix");
	store_doc_get(rt, c, &g);
	is_int(g.state, STORE_DOC_DUPLICATE, "stored state duplicate");
	store_rtxn_end(rt);

	memset(ev, 0, sizeof(ev));
	ev[0].json = "{\"n\":7}";
	ev[0].jsonlen = 7;
	ev[0].idem = "x12:tr:k7";
	is_int(store_translated(s, a, ev, 1, NULL, NULL), EG_ERR_INVAL,
	    "a translated document is not translated again");
	ev[0].json = "not json";
	ev[0].jsonlen = 8;
	is_int(store_translated(s, e, ev, 1, NULL, NULL), EG_ERR_INVAL,
	    "an event that is not a JSON object: invalid");

	rc = store_rejected(s, e, "map error", dj, strlen(dj), NULL, 0, NULL);
	is_int(rc, 0, "rejected with diagnostics");
	store_rtxn_begin(s, &rt);
	store_doc_get(rt, e, &g);
	ok(g.state == STORE_DOC_REJECTED && strcmp(g.error, "map error") == 0,
	    "  state rejected, error kept");
	rc = store_doc_diags(rt, e, &diags);
	ok(rc == 0 && slice_eqs(diags, dj), "  diagnostics back");
	store_rtxn_end(rt);
	ev[0].json = "{\"n\":7}";
	ev[0].jsonlen = 7;
	rc = store_translated(s, e, ev, 1, "erp", &state);
	ok(rc == 0 && state == STORE_DOC_TRANSLATED,
	    "replay: a rejected document can be translated");
	store_rtxn_begin(s, &rt);
	ok(store_doc_diags(rt, e, &diags) == 0 && diags.len == 0,
	    "  its diagnostics cleared");
	store_rtxn_end(rt);
	is_int(store_rejected(s, e, "late", NULL, 0, NULL, 0, NULL),
	    EG_ERR_INVAL, "a translated document cannot be rejected");
	is_int(store_doc_mark(s, e, STORE_DOC_QUARANTINED, "operator"), 0,
	    "any document can be quarantined");
	is_int(store_doc_mark(s, e, STORE_DOC_RECEIVED, "x"), EG_ERR_INVAL,
	    "doc_mark: received is no target");
}

static void
t_purge(struct store *s)
{
	struct store_rtxn	*rt;
	struct store_doc	 g;
	struct slice		 blob;
	uint8_t			 cur[STORE_ID_LEN] = { 0 }, r[STORE_ID_LEN];
	size_t			 n = 0, total = 0;
	int			 rc, calls = 0;

	ingest(s, "tr", NULL, "kept: received", r, NULL);
	do {
		rc = store_purge_blobs(s, store_now() + 1000, 2, cur, &n);
		total += n;
		calls++;
	} while (rc == 0 && !iszero16(cur) && calls < 100);
	/* a, b, c, d of t_translated; e is quarantined. */
	ok(rc == 0 && total == 4, "purge: the four finished documents, "
	    "%d calls of 2", calls);
	store_rtxn_begin(s, &rt);
	rc = store_blob_get(rt, purged_doc, &blob);
	store_doc_get(rt, purged_doc, &g);
	ok(rc == EG_ERR_NOTFOUND && (g.flags & STORE_DOCF_PURGED) &&
	    g.state == STORE_DOC_TRANSLATED && g.size == 1,
	    "  raw bytes gone, record kept and flagged");
	ok(store_blob_get(rt, r, &blob) == 0 && blob.len == 14,
	    "  a received document keeps its bytes");
	store_rtxn_end(rt);
	memset(cur, 0, sizeof(cur));
	rc = store_purge_blobs(s, store_now() + 1000, 100, cur, &n);
	ok(rc == 0 && n == 0 && iszero16(cur), "  a second pass purges "
	    "nothing");
}

static void
t_list(struct store *s)
{
	struct store_doc_filter	 f;
	struct store_rtxn	*rt;
	struct store_doc	*out;
	uint8_t			 prev[STORE_ID_LEN];
	size_t			 n, total = 0, all;
	int			 rc, order = 1, pages = 0;

	out = calloc(EG_MAX_STORE_PAGE, sizeof(*out));
	store_rtxn_begin(s, &rt);
	memset(&f, 0, sizeof(f));
	rc = store_doc_list(rt, &f, out, EG_MAX_STORE_PAGE, &n, f.before);
	all = n;
	ok(rc == 0 && n == ndocs(s), "doc_list: every document (%zu)", n);
	memset(&f, 0, sizeof(f));
	memset(prev, 0xff, sizeof(prev));
	do {
		rc = store_doc_list(rt, &f, out, 3, &n, f.before);
		for (size_t i = 0; i < n; i++) {
			if (memcmp(out[i].id, prev, 16) >= 0)
				order = 0;
			memcpy(prev, out[i].id, 16);
		}
		total += n;
		pages++;
	} while (rc == 0 && n > 0 && !iszero16(f.before));
	ok(rc == 0 && total == all && order,
	    "pages of 3: every document once, newest first (%d pages)", pages);
	memset(&f, 0, sizeof(f));
	f.state = STORE_DOC_DUPLICATE;
	rc = store_doc_list(rt, &f, out, 100, &n, f.before);
	ok(rc == 0 && n == 1 && out[0].state == STORE_DOC_DUPLICATE,
	    "filter by state");
	memset(&f, 0, sizeof(f));
	f.partner = "other-partner";
	rc = store_doc_list(rt, &f, out, 100, &n, f.before);
	ok(rc == 0 && n == 1 && strcmp(out[0].partner, "other-partner") == 0,
	    "filter by partner");
	memset(&f, 0, sizeof(f));
	f.doctype = "856";
	rc = store_doc_list(rt, &f, out, 100, &n, f.before);
	ok(rc == 0 && n == 0, "filter by type");
	is_int(store_doc_list(rt, &f, out, 0, &n, f.before), EG_ERR_INVAL,
	    "a page of 0: invalid");
	store_rtxn_end(rt);
	free(out);
}

static void
t_jobs(void)
{
	struct store		*s;
	struct store_job	 j1, j2, j3, got[10], stale;
	struct store_rtxn	*rt;
	uint8_t			 ref[16] = { 1 };
	char			 p[512], idt[STORE_ID_TEXT];
	size_t			 n;
	int			 rc;

	path(p, sizeof(p), "jobs");
	if (store_open(p, 1 << 22, 0, &s) != 0) {
		ok(0, "jobs: open: %s", store_errmsg());
		return;
	}
	store_job_add(s, STORE_JOB_FORWARD, ref, "erp", 3000, &j3);
	store_job_add(s, STORE_JOB_FORWARD, ref, "erp", 1000, &j1);
	rc = store_job_add(s, STORE_JOB_SEND, ref, "as2:acme", 2000, &j2);
	is_int(rc, 0, "three jobs added");
	is_int(j2.state, STORE_JOB_PENDING, "  pending");
	store_job_next_due(s, 500, got, 10, &n);
	is_int(n, 0, "none due at 500");
	store_job_next_due(s, 1500, got, 10, &n);
	ok(n == 1 && memcmp(got[0].id, j1.id, 16) == 0, "one due at 1500");
	store_job_next_due(s, 10000, got, 10, &n);
	ok(n == 3 && got[0].due == 1000 && got[1].due == 2000 &&
	    got[2].due == 3000, "all due at 10000, earliest first");
	store_job_next_due(s, 10000, got, 2, &n);
	is_int(n, 2, "  at most max");

	stale = j1;
	rc = store_job_update(s, &j1, STORE_JOB_INFLIGHT, 5000, NULL, 1500);
	ok(rc == 0 && j1.state == STORE_JOB_INFLIGHT && j1.attempts == 1 &&
	    j1.first_try == 1500 && j1.due == 5000,
	    "pending -> inflight: attempt 1, lease to 5000");
	store_job_next_due(s, 4000, got, 10, &n);
	ok(n == 2 && got[0].due == 2000, "an inflight job is not due");
	store_job_next_due(s, 6000, got, 10, &n);
	ok(n == 3 && got[2].state == STORE_JOB_INFLIGHT &&
	    memcmp(got[2].id, j1.id, 16) == 0,
	    "an expired lease is due again (crash recovery)");
	is_int(store_job_update(s, &stale, STORE_JOB_INFLIGHT, 9000, NULL,
	    1600), EG_ERR_NOTFOUND, "an update from a stale read: not found");
	rc = store_job_update(s, &j1, STORE_JOB_PENDING, 7000, "HTTP 503",
	    2000);
	ok(rc == 0 && j1.state == STORE_JOB_PENDING && j1.due == 7000 &&
	    strcmp(j1.error, "HTTP 503") == 0, "inflight -> pending retry");
	rc = store_job_update(s, &j1, STORE_JOB_INFLIGHT, 8000, NULL, 7000);
	ok(rc == 0 && j1.attempts == 2 && j1.first_try == 1500 &&
	    j1.last_try == 7000, "second attempt counted, first try kept");
	rc = store_job_update(s, &j1, STORE_JOB_DONE, 0, NULL, 7100);
	ok(rc == 0 && j1.state == STORE_JOB_DONE &&
	    j1.due == STORE_DUE_NEVER, "inflight -> done, parked");
	store_job_next_due(s, INT64_MAX - 1, got, 10, &n);
	is_int(n, 2, "done jobs are never due");
	is_int(store_job_update(s, &j1, STORE_JOB_INFLIGHT, 9000, NULL, 9000),
	    EG_ERR_INVAL, "done -> inflight: invalid");
	is_int(store_job_update(s, &j2, STORE_JOB_DONE, 0, NULL, 9000),
	    EG_ERR_INVAL, "pending -> done: invalid");

	rc = store_job_update(s, &j2, STORE_JOB_HELD, 0, NULL, 2100);
	ok(rc == 0 && j2.state == STORE_JOB_HELD, "pending -> held");
	store_job_next_due(s, INT64_MAX - 1, got, 10, &n);
	is_int(n, 1, "held jobs are not due");
	rc = store_job_update(s, &j2, STORE_JOB_PENDING, 100, NULL, 2200);
	store_job_next_due(s, 150, got, 10, &n);
	ok(rc == 0 && n == 1 && memcmp(got[0].id, j2.id, 16) == 0,
	    "held -> pending (release), due at once");

	store_job_update(s, &j3, STORE_JOB_INFLIGHT, 4000, NULL, 3000);
	rc = store_job_update(s, &j3, STORE_JOB_DEAD, 0, "HTTP 400", 3100);
	ok(rc == 0 && j3.state == STORE_JOB_DEAD, "inflight -> dead");
	rc = store_job_update(s, &j3, STORE_JOB_PENDING, 50, NULL, 3200);
	ok(rc == 0 && j3.state == STORE_JOB_PENDING && j3.attempts == 1 &&
	    strcmp(j3.error, "HTTP 400") == 0, "dead -> pending (replay)");

	store_rtxn_begin(s, &rt);
	store_id_format(j2.id, idt);
	idt[20] = '\0';
	rc = store_job_find(rt, idt, &got[0]);
	ok(rc == 0 && memcmp(got[0].id, j2.id, 16) == 0 &&
	    got[0].state == STORE_JOB_PENDING, "job_find by prefix");
	store_rtxn_end(rt);
	store_close(s);

	/* A corrupted job record stops the scan with a syntax error. */
	{
		uint8_t key[24] = { 0 }, junk[] = { 'J', 1, 2, 3 };

		key[8] = 0x42;
		raw_put(p, "jobs", key, sizeof(key), junk, sizeof(junk));
		store_open(p, 0, 0, &s);
		is_int(store_job_next_due(s, 10000, got, 10, &n),
		    EG_ERR_SYNTAX, "a corrupted job record: syntax (%s)",
		    store_errmsg());
		store_close(s);
	}
}

static void
t_ctr(void)
{
	struct store	*s;
	uint64_t	 v = 0, v2 = 0;
	char		 p[512];
	int		 rc;

	path(p, sizeof(p), "ctr");
	store_open(p, 1 << 20, 0, &s);
	store_ctr_next(s, "acme", STORE_LVL_ISA, &v);
	is_int(v, 1, "ISA13 starts at 1");
	store_ctr_next(s, "acme", STORE_LVL_ISA, &v);
	store_ctr_next(s, "acme", STORE_LVL_ISA, &v);
	is_int(v, 3, "  then 2, 3");
	store_ctr_next(s, "acme", STORE_LVL_GS, &v);
	store_ctr_next(s, "globex", STORE_LVL_ISA, &v2);
	ok(v == 1 && v2 == 1, "per level and per partner");
	store_close(s);
	store_open(p, 0, 0, &s);
	rc = store_ctr_next(s, "acme", STORE_LVL_ISA, &v);
	ok(rc == 0 && v == 4, "persists across reopen");
	store_ctr_set(s, "acme", STORE_LVL_ISA, 999999999);
	store_ctr_next(s, "acme", STORE_LVL_ISA, &v);
	store_ctr_next(s, "acme", STORE_LVL_ISA, &v2);
	ok(v == 999999999 && v2 == 1, "ISA13 wraps after 999999999 to 1");
	store_ctr_set(s, "acme", STORE_LVL_UNB, 99999999999999ULL);
	store_ctr_next(s, "acme", STORE_LVL_UNB, &v);
	store_ctr_next(s, "acme", STORE_LVL_UNB, &v2);
	ok(v == 99999999999999ULL && v2 == 1, "UNB 0020 wraps after 14 "
	    "digits");
	is_int(store_ctr_set(s, "acme", STORE_LVL_ST, 0), EG_ERR_INVAL,
	    "counter 0: invalid");
	is_int(store_ctr_next(s, "acme", STORE_LVL_AS2, &v), EG_ERR_INVAL,
	    "no counter for AS2");
	store_close(s);
}

static void
t_mapfull(void)
{
	struct store	*s;
	char		 p[512], *blk;
	size_t		 blen = 16384, i, stored = 0;
	int		 rc = 0;

	path(p, sizeof(p), "tiny");
	if (store_open(p, 256 * 1024, 0, &s) != 0) {
		ok(0, "tiny: open: %s", store_errmsg());
		return;
	}
	blk = malloc(blen + 1);
	memset(blk, 'x', blen);
	blk[blen] = '\0';
	for (i = 0; i < 100; i++) {
		if ((rc = ingest(s, "full", NULL, blk, NULL, NULL)) != 0)
			break;
		stored++;
	}
	is_int(rc, EG_ERR_LIMIT, "a full map: limit after %zu documents",
	    stored);
	is_str(store_errmsg(),
	    "store full (map_size 262144): raise [store] map_size",
	    "  with the message");
	is_int(ndocs(s), stored, "  the failed ingest wrote nothing");
	store_close(s);
	free(blk);
}

static void
t_corrupt(struct store **sp, const char *p)
{
	static const uint8_t junk[] = { 'D', 1, 'g', 'a', 'r', 'b' };
	static const uint8_t v2[] = { 'D', 2, 0, 0 };
	struct store		*s = *sp;
	struct store_doc	 g, *out;
	struct store_doc_filter	 f;
	struct store_rtxn	*rt;
	struct store_event	 ev;
	struct slice		 blob;
	uint8_t			 y[16], ek[16], bkey[17];
	size_t			 n, i, bad = 0;
	int			 rc;

	store_close(s);
	store_uuid7(store_now(), y);
	store_uuid7(store_now(), ek);
	ok(raw_put(p, "docs", doc_a, 16, junk, sizeof(junk)) == 0 &&
	    raw_put(p, "docs", y, 16, v2, sizeof(v2)) == 0 &&
	    raw_put(p, "events", ek, 16, "E\1\0zz", 5) == 0,
	    "garbage written under docs and events keys");
	rc = store_open(p, 0, 0, sp);
	is_int(rc, 0, "store opens with corrupted records");
	s = *sp;

	store_rtxn_begin(s, &rt);
	is_int(store_doc_get(rt, doc_a, &g), EG_ERR_SYNTAX,
	    "doc_get of garbage: syntax");
	ok(strstr(store_errmsg(), "docs record") != NULL, "  message: %s",
	    store_errmsg());
	is_int(store_doc_get(rt, y, &g), EG_ERR_SYNTAX,
	    "unknown record version: syntax");
	ok(strstr(store_errmsg(), "version") != NULL, "  message: %s",
	    store_errmsg());
	is_int(store_blob_get(rt, doc_a, &blob), EG_ERR_SYNTAX,
	    "blob_get of a document with a bad record: syntax");
	is_int(store_event_get(rt, ek, &(struct store_event_rec){ 0 }),
	    EG_ERR_SYNTAX, "event_get of garbage: syntax");
	out = calloc(EG_MAX_STORE_PAGE, sizeof(*out));
	memset(&f, 0, sizeof(f));
	rc = store_doc_list(rt, &f, out, EG_MAX_STORE_PAGE, &n, f.before);
	for (i = 0; i < n; i++)
		bad += out[i].unreadable;
	ok(rc == 0 && bad == 2, "doc_list returns both, marked unreadable");
	f.state = STORE_DOC_RECEIVED;
	rc = store_doc_list(rt, &f, out, EG_MAX_STORE_PAGE, &n, f.before);
	for (i = 0, bad = 0; i < n; i++)
		bad += out[i].unreadable;
	ok(rc == 0 && bad == 0, "  not when filtering received");
	free(out);
	store_rtxn_end(rt);

	memset(&ev, 0, sizeof(ev));
	ev.json = "{}";
	ev.jsonlen = 2;
	ev.idem = "k-corrupt";
	is_int(store_translated(s, doc_a, &ev, 1, NULL, NULL), EG_ERR_SYNTAX,
	    "translated on a bad record: syntax, nothing written");
	is_int(store_doc_mark(s, doc_a, STORE_DOC_DUPLICATE, "x"),
	    EG_ERR_SYNTAX, "marking a bad record duplicate: syntax");
	rc = store_doc_mark(s, doc_a, STORE_DOC_QUARANTINED, "operator");
	is_int(rc, 0, "quarantine a bad record %s", EM(rc));
	store_rtxn_begin(s, &rt);
	rc = store_doc_get(rt, doc_a, &g);
	ok(rc == 0 && g.state == STORE_DOC_QUARANTINED &&
	    strncmp(g.error, "unreadable record", 17) == 0,
	    "  now a readable quarantined record: %s", g.error);
	rc = store_blob_get(rt, doc_a, &blob);
	ok(rc == 0 && blob.len == 300000, "  its raw bytes are kept");
	store_rtxn_end(rt);
	store_close(s);
	memcpy(bkey, doc_a, 16);
	bkey[16] = 1;
	is_int(raw_len(p, "blobs", bkey, 17), sizeof(junk),
	    "  and the bad record's bytes too");
	store_open(p, 0, 0, sp);
}

static int
readn(int fd, void *p, size_t n)
{
	size_t	 off = 0;
	ssize_t	 r;

	while (off < n) {
		r = read(fd, (char *)p + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static void
t_reader_beside_writer(void)
{
	struct store		*s, *w;
	struct store_rtxn	*rt1, *rt2;
	struct store_doc_filter	 f;
	struct store_doc	 out[8];
	char			 p[512], ch;
	int			 up[2], down[2], status, rc;
	size_t			 n1 = 0, n2 = 0;
	pid_t			 pid;

	path(p, sizeof(p), "shared");
	if (pipe(up) == -1 || pipe(down) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(up[0]);
		close(down[1]);
		if (store_open(p, 1 << 22, 0, &w) != 0)
			_exit(2);
		if (ingest(w, "rw", NULL, "one", NULL, NULL) != 0)
			_exit(3);
		write(up[1], "a", 1);
		readn(down[0], &ch, 1);
		if (ingest(w, "rw", NULL, "two", NULL, NULL) != 0)
			_exit(4);
		write(up[1], "b", 1);
		readn(down[0], &ch, 1);
		store_close(w);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	readn(up[0], &ch, 1);
	rc = store_open(p, 0, STORE_RDONLY, &s);
	is_int(rc, 0, "read-only open while another process writes %s",
	    EM(rc));
	if (rc == 0) {
		is_int(ingest(s, "rw", NULL, "x", NULL, NULL), EG_ERR_INVAL,
		    "  writing through it is refused");
		memset(&f, 0, sizeof(f));
		store_rtxn_begin(s, &rt1);
		write(down[1], "x", 1);
		readn(up[0], &ch, 1);
		store_doc_list(rt1, &f, out, 8, &n1, f.before);
		store_rtxn_begin(s, &rt2);
		store_doc_list(rt2, &f, out, 8, &n2, f.before);
		ok(n1 == 1 && n2 == 2, "  an open snapshot sees 1 document, "
		    "a new one the writer's second (%zu, %zu)", n1, n2);
		store_rtxn_end(rt1);
		store_rtxn_end(rt2);
	}
	write(down[1], "y", 1);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "  writer exited 0");
	if (rc == 0)
		store_close(s);
	close(up[0]);
	close(down[1]);
}

/* Run $EDIGATE with args; its exit status, or -1. */
static int
run_edigate(const char *edigate, char *const argv[])
{
	int	 status, fd;
	pid_t	 pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		/* Keep TAP clean: the command's output goes to /dev/null. */
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(edigate, argv);
		_exit(127);
	}
	if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
t_backup(struct store *s)
{
	struct store		*b;
	struct store_rtxn	*rt;
	struct slice		 blob;
	const char		*edigate;
	char			 p[512], q[512], conf[512], parts[512];
	uint64_t		 want = ndocs(s);
	FILE			*fp;
	int			 rc;

	path(p, sizeof(p), "bk1");
	mkdir(p, 0700);
	is_int(store_backup(s, p, 0), 0, "backup while open for writing");
	is_int(store_backup(s, p, 0), EG_ERR_INVAL,
	    "backup into a folder holding a store: refused");
	path(q, sizeof(q), "bk2");
	mkdir(q, 0700);
	is_int(store_backup(s, q, 1), 0, "compacting backup");
	path(q, sizeof(q), "bk-missing");
	is_int(store_backup(s, q, 0), EG_ERR_NOTFOUND,
	    "backup into a missing folder: not found");

	rc = store_open(p, 0, STORE_RDONLY, &b);
	is_int(rc, 0, "the backup opens");
	if (rc == 0) {
		is_int(ndocs(b), want, "  with every document");
		store_rtxn_begin(b, &rt);
		rc = store_blob_get(rt, doc_a, &blob);
		ok(rc == 0 && blob.len == 300000, "  and their raw bytes");
		store_rtxn_end(rt);
		store_close(b);
	}
	path(q, sizeof(q), "bk2");
	rc = store_open(q, 0, STORE_RDONLY, &b);
	ok(rc == 0 && ndocs(b) == want, "the compacted backup too");
	if (rc == 0)
		store_close(b);

	if ((edigate = getenv("EDIGATE")) == NULL ||
	    access(edigate, X_OK) != 0) {
		ok(1, "# SKIP $EDIGATE not set: no CLI backup test");
		return;
	}
	path(conf, sizeof(conf), "edigate.ini");
	path(parts, sizeof(parts), "partners.d");
	mkdir(parts, 0700);
	if ((fp = fopen(conf, "w")) == NULL)
		return;
	fprintf(fp, "[gateway]\nstate_dir = %s/state\npartners_dir = %s\n",
	    base, parts);
	fclose(fp);
	path(q, sizeof(q), "bk3/new");
	is_int(run_edigate(edigate, (char *[]){ "edigate", "backup", "-c",
	    conf, q, NULL }), 73, "edigate backup: missing parent: exit 73");
	path(q, sizeof(q), "bk3");
	is_int(run_edigate(edigate, (char *[]){ "edigate", "backup", "-c",
	    conf, q, NULL }), 0, "edigate backup -c CONFIG DIR: exit 0");
	rc = store_open(q, 0, STORE_RDONLY, &b);
	ok(rc == 0 && ndocs(b) == want, "  its copy opens with every "
	    "document");
	if (rc == 0)
		store_close(b);
	is_int(run_edigate(edigate, (char *[]){ "edigate", "backup", "-c",
	    conf, q, NULL }), 73, "  again into the same folder: exit 73");
	is_int(run_edigate(edigate, (char *[]){ "edigate", "backup", "-c",
	    conf, NULL }), 64, "  without DIR: exit 64");
	if ((fp = fopen(conf, "w")) != NULL) {
		fprintf(fp, "[gateway]\nstate_dir = %s/nothing\n"
		    "partners_dir = %s\n", base, parts);
		fclose(fp);
	}
	path(q, sizeof(q), "bk4");
	is_int(run_edigate(edigate, (char *[]){ "edigate", "backup", "-c",
	    conf, q, NULL }), 66, "  no store there: exit 66");
}

/*
 * A child ingests in a loop and reports each committed id through a
 * pipe; it is killed with SIGKILL at a random moment.  Every reported
 * document must then be whole.
 */
static void
t_crash(int round, unsigned int seed)
{
	struct store		*s;
	struct store_rtxn	*rt;
	struct store_doc	 g, *out;
	struct store_doc_filter	 f;
	struct slice		 blob;
	uint8_t			(*ids)[16], h[32];
	char			 p[512], num[32], *raw;
	size_t			 nids = 0, cap = 4096, i, n, bad = 0, seen = 0;
	uint64_t		 before;
	int			 fd[2], status, want, rc;
	pid_t			 pid;

	path(p, sizeof(p), "crash");
	if (store_open(p, 0, 0, &s) != 0)
		return;
	before = ndocs(s);
	store_close(s);
	srand(seed);
	want = 3 + rand() % 40;
	if (pipe(fd) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct store_doc	 d;
		struct store_ingest_res	 res;
		struct store_ctl	 c = { STORE_LVL_ISA, "ZZ:X", num };
		size_t			 len;

		close(fd[0]);
		if (store_open(p, 0, 0, &s) != 0)
			_exit(2);
		raw = malloc(70000);
		for (i = 0; i < 100000; i++) {
			len = 1 + (size_t)rand() % 65536;
			for (n = 0; n < len; n++)
				raw[n] = (char)rand();
			mkdoc(&d, "crash", "loop.edi");
			snprintf(num, sizeof(num), "%d-%zu", round, i);
			if (store_ingest(s, &d, slice_make(raw, len), &c, 1,
			    &res) != 0)
				_exit(3);
			if (write(fd[1], res.id, 16) != 16)
				_exit(4);
		}
		_exit(0);
	}
	close(fd[1]);
	ids = malloc(cap * 16);
	while ((int)nids < want && readn(fd[0], ids[nids], 16) == 0)
		nids++;
	usleep((useconds_t)(rand() % 20000));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	while (nids < cap && readn(fd[0], ids[nids], 16) == 0)
		nids++;
	close(fd[0]);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "crash %d: writer killed after %zu reported commits", round, nids);

	rc = store_open(p, 0, 0, &s);
	is_int(rc, 0, "  store reopens %s", EM(rc));
	if (rc != 0) {
		free(ids);
		return;
	}
	is_int(store_reader_check(s, NULL), 0, "  reader check");
	store_rtxn_begin(s, &rt);
	for (i = 0; i < nids; i++) {
		if (store_doc_get(rt, ids[i], &g) != 0 ||
		    store_blob_get(rt, ids[i], &blob) != 0) {
			bad++;
			continue;
		}
		sha(blob.p, blob.len, h);
		if (memcmp(h, g.sha256, 32) != 0 || blob.len != g.size ||
		    g.state != STORE_DOC_RECEIVED)
			bad++;
	}
	ok(bad == 0 && nids > 0, "  every reported document is whole");
	/* And every document there (committed but unreported too). */
	out = calloc(EG_MAX_STORE_PAGE, sizeof(*out));
	memset(&f, 0, sizeof(f));
	f.partner = "crash";
	bad = 0;
	do {
		if (store_doc_list(rt, &f, out, EG_MAX_STORE_PAGE, &n,
		    f.before) != 0)
			break;
		for (i = 0; i < n; i++) {
			seen++;
			if (out[i].unreadable || store_blob_get(rt, out[i].id,
			    &blob) != 0) {
				bad++;
				continue;
			}
			sha(blob.p, blob.len, h);
			if (memcmp(h, out[i].sha256, 32) != 0)
				bad++;
		}
	} while (n > 0 && !iszero16(f.before));
	free(out);
	store_rtxn_end(rt);
	ok(bad == 0 && ndocs(s) >= before + nids,
	    "  all %zu crash documents consistent, %" PRIu64 " >= %" PRIu64,
	    seen, ndocs(s), before + nids);
	store_close(s);
	free(ids);
}

int
main(void)
{
	struct store	*s;
	char		 p[512];
	int		 i;

	snprintf(base, sizeof(base), "%s/eg-store-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	t_open();
	t_schema();
	path(p, sizeof(p), "state/store");
	if (store_open(p, 64 << 20, 0, &s) != 0) {
		ok(0, "open: %s", store_errmsg());
		return done_testing();
	}
	t_ingest(s);
	t_dup(s);
	t_translated(s);
	t_list(s);
	t_purge(s);
	t_corrupt(&s, p);
	t_backup(s);
	store_close(s);
	t_jobs();
	t_ctr();
	t_mapfull();
	t_reader_beside_writer();
	for (i = 0; i < 3; i++)
		t_crash(i, (unsigned int)time(NULL) + (unsigned int)i * 7919);
	if (getenv("EG_KEEP_TMP") == NULL)
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("# kept %s\n", base);
	return done_testing();
}
