/*
 * unit_store.c: the LMDB store against real environments in a temporary
 * folder: open and schema, ingest and read back, control-number
 * duplicates, idempotent events, jobs, counters, a full map, corrupted
 * records, group commit (ingest, outcomes, taking and settling jobs), the
 * acknowledgement ledger, a reader beside a writer process, backup (the
 * function and `edigate backup` when $EDIGATE is set) and SIGKILL during
 * ingest.
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

/* --- work queue, acknowledgement ledger, group commit --- */

struct jobs_seen {
	int			 n;
	struct store_job	 j[32];
};

static int
job_collect(void *arg, const struct store_job *j)
{
	struct jobs_seen *c = arg;

	if (c->n < 32)
		c->j[c->n] = *j;
	c->n++;
	return 0;
}

/* The jobs of the store, in key order, into *c. */
static int
jobs_of(struct store *s, struct jobs_seen *c)
{
	struct store_rtxn	*rt;
	int			 rc;

	memset(c, 0, sizeof(*c));
	if ((rc = store_rtxn_begin(s, &rt)) != 0)
		return rc;
	rc = store_job_walk(rt, job_collect, c);
	store_rtxn_end(rt);
	return rc;
}

/* The job with id in c, or NULL. */
static const struct store_job *
job_in(const struct jobs_seen *c, const uint8_t id[STORE_ID_LEN])
{
	int	 i;

	for (i = 0; i < c->n && i < 32; i++)
		if (memcmp(c->j[i].id, id, STORE_ID_LEN) == 0)
			return &c->j[i];
	return NULL;
}

/* How many jobs of kind (0: any) refer to ref (NULL: any). */
static int
jobs_count(const struct jobs_seen *c, enum store_job_kind kind,
    const uint8_t *ref)
{
	int	 i, n = 0;

	for (i = 0; i < c->n && i < 32; i++)
		if ((kind == 0 || c->j[i].kind == kind) &&
		    (ref == NULL || memcmp(c->j[i].ref, ref, 16) == 0))
			n++;
	return n;
}

struct acks_seen {
	int			 n, stop_at;
	struct store_ack	 a[16];
};

static int
ack_collect(void *arg, const struct store_ack *a)
{
	struct acks_seen *c = arg;

	if (c->n < 16)
		c->a[c->n] = *a;
	if (++c->n == c->stop_at)
		return 7;
	return 0;
}

static int
acks_of(struct store *s, struct acks_seen *c)
{
	struct store_rtxn	*rt;
	int			 rc;

	memset(c, 0, sizeof(*c));
	if ((rc = store_rtxn_begin(s, &rt)) != 0)
		return rc;
	rc = store_ack_walk(rt, ack_collect, c);
	store_rtxn_end(rt);
	return rc;
}

/* The expectation partner + kind + ref in c, or NULL. */
static const struct store_ack *
ack_in(const struct acks_seen *c, const char *partner,
    enum store_ack_kind kind, const char *ref)
{
	int	 i;

	for (i = 0; i < c->n && i < 16; i++)
		if (strcmp(c->a[i].partner, partner) == 0 &&
		    c->a[i].kind == kind && strcmp(c->a[i].ref, ref) == 0)
			return &c->a[i];
	return NULL;
}

static uint64_t
nentries(struct store *s, enum store_db db)
{
	struct store_stat st;

	if (store_stat(s, &st) != 0)
		return UINT64_MAX;
	return st.entries[db];
}

static void
mkreq(struct store_ingest_req *r, const char *partner, const char *raw,
    const struct store_ctl *ctl, size_t nctl, int translate)
{
	memset(r, 0, sizeof(*r));
	mkdoc(&r->doc, partner, "batch.edi");
	r->raw = slice_cstr(raw);
	r->ctl = ctl;
	r->nctl = nctl;
	r->translate = translate;
	r->rc = 12345;		/* the call sets it */
}

/* A document's about: kept when set, absent (zero) otherwise. */
static void
t_about(void)
{
	struct store		*s;
	struct store_ingest_req	 rq[2];
	struct store_rtxn	*rt;
	struct store_doc	 g;
	char			 p[512];
	int			 i;

	path(p, sizeof(p), "about");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "about: open: %s", store_errmsg());
		return;
	}
	mkreq(&rq[0], "acme", "ISA*in", NULL, 0, 0);
	mkreq(&rq[1], "acme", "ISA*997", NULL, 0, 0);
	is_int(store_ingest_batch(s, rq, 1), 0, "about: an inbound document");
	memcpy(rq[1].doc.about, rq[0].res.id, STORE_ID_LEN);
	rq[1].doc.direction = STORE_OUTBOUND;
	is_int(store_ingest_batch(s, rq + 1, 1), 0, "about: its answer");
	if (store_rtxn_begin(s, &rt) == 0) {
		ok(store_doc_get(rt, rq[1].res.id, &g) == 0 &&
		    memcmp(g.about, rq[0].res.id, STORE_ID_LEN) == 0,
		    "about: read back as written");
		ok(store_doc_get(rt, rq[0].res.id, &g) == 0 &&
		    g.about[0] == 0 && memcmp(g.about, g.about + 1,
		    STORE_ID_LEN - 1) == 0,
		    "about: zero when none was written (the older layout)");
		store_rtxn_end(rt);
	}
	/* a state change keeps it */
	i = store_doc_mark(s, rq[1].res.id, STORE_DOC_QUARANTINED, "test");
	if (store_rtxn_begin(s, &rt) == 0) {
		ok(i == 0 && store_doc_get(rt, rq[1].res.id, &g) == 0 &&
		    memcmp(g.about, rq[0].res.id, STORE_ID_LEN) == 0,
		    "about: kept through a state change");
		store_rtxn_end(rt);
	}
	store_close(s);
}

static void
t_ingest_batch(void)
{
	struct store		*s;
	struct store_ingest_req	 rq[5];
	struct store_ctl	 c = { STORE_LVL_ISA, "ZZ:ACME", "000000100" };
	struct store_rtxn	*rt, *old;
	struct store_doc	 g;
	struct jobs_seen	 js;
	struct slice		 blob;
	uint8_t			 taken[STORE_ID_LEN];
	uint64_t		 d0, c0;
	int64_t			 t0;
	size_t			 n;
	char			 p[512];
	int			 rc, i, whole = 1;

	path(p, sizeof(p), "batch");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "batch: open: %s", store_errmsg());
		return;
	}
	ingest(s, "acme", NULL, "first", taken, NULL);
	d0 = ndocs(s);
	c0 = nentries(s, STORE_DB_CTL);
	is_int(store_ingest_batch(s, rq, 0), 0, "ingest_batch of none: 0");
	is_int(ndocs(s), d0, "  writes nothing");

	mkreq(&rq[0], "acme", "ISA*one", &c, 1, 1);
	mkreq(&rq[1], "", "ISA*bad", NULL, 0, 1);
	mkreq(&rq[2], "acme", "ISA*two", &c, 1, 0);
	mkreq(&rq[3], "acme", "ISA*three", NULL, 0, 1);
	memcpy(rq[3].doc.id, taken, STORE_ID_LEN);	/* fails in the txn */
	mkreq(&rq[4], "globex", "", NULL, 0, 1);
	store_rtxn_begin(s, &old);
	t0 = store_now();
	rc = store_ingest_batch(s, rq, 5);
	is_int(rc, 0, "ingest_batch of 5 with 2 bad %s", EM(rc));
	is_int(rq[0].rc, 0, "  request 0 committed");
	is_int(rq[1].rc, EG_ERR_INVAL, "  request 1 (no partner): invalid");
	is_int(rq[2].rc, 0, "  request 2 committed");
	is_int(rq[3].rc, EG_ERR_INVAL, "  request 3 (id taken): invalid, "
	    "alone");
	is_int(rq[4].rc, 0, "  request 4 (empty) committed");
	is_str(store_errmsg(), "document id already stored",
	    "  store_errmsg(): the last failed request's");
	is_int(ndocs(s), d0 + 3, "  three documents written");
	is_int(nentries(s, STORE_DB_CTL), c0 + 1, "  one ledger entry");
	is_int(rq[2].res.ndup, 1, "  the repeated ISA13 is a duplicate ...");
	ok(memcmp(rq[2].res.dup_of, rq[0].res.id, 16) == 0,
	    "  ... of request 0 in the same batch");
	ok(iszero16(rq[1].res.id) && iszero16(rq[3].res.id) &&
	    iszero16(rq[3].job.id), "  failed requests have no result");

	/* One transaction: an older snapshot sees none of it. */
	memset(&g, 0, sizeof(g));
	is_int(store_doc_get(old, rq[0].res.id, &g), EG_ERR_NOTFOUND,
	    "  a snapshot from before sees none");
	store_rtxn_end(old);
	store_rtxn_begin(s, &rt);
	for (i = 0; i < 5; i++) {
		if (rq[i].rc != 0)
			continue;
		if (store_doc_get(rt, rq[i].res.id, &g) != 0 ||
		    store_blob_get(rt, rq[i].res.id, &blob) != 0 ||
		    !slice_eqs(blob, rq[i].raw.len ? rq[i].raw.p : "") ||
		    g.state != STORE_DOC_RECEIVED ||
		    strcmp(g.partner, rq[i].doc.partner) != 0)
			whole = 0;
	}
	ok(whole, "  a new one sees all three, whole");
	store_rtxn_end(rt);

	is_int(rq[0].job.kind, STORE_JOB_TRANSLATE, "  request 0: a "
	    "translate job");
	ok(rq[0].job.state == STORE_JOB_PENDING &&
	    memcmp(rq[0].job.ref, rq[0].res.id, 16) == 0 &&
	    rq[0].job.due >= t0 && rq[0].job.due <= store_now() &&
	    rq[0].job.target[0] == '\0', "  pending, due now, for the "
	    "document, no target");
	ok(iszero16(rq[2].job.id), "  request 2 (translate = 0): no job");
	jobs_of(s, &js);
	is_int(js.n, 2, "  two jobs in the store");
	ok(job_in(&js, rq[0].job.id) != NULL &&
	    job_in(&js, rq[4].job.id) != NULL &&
	    jobs_count(&js, STORE_JOB_TRANSLATE, NULL) == 2,
	    "  they are the returned translate jobs");
	rc = store_job_next_due(s, store_now(), js.j, 10, &n);
	ok(rc == 0 && n == 2, "  both due now");
	store_close(s);
}

static void
t_batch_mapfull(void)
{
	struct store		*s;
	struct store_ingest_req	*rq;
	char			 p[512], *blk;
	size_t			 blen = 16384, i;
	uint64_t		 before;
	int			 rc, fine = 1;

	path(p, sizeof(p), "tinybatch");
	if (store_open(p, 256 * 1024, 0, &s) != 0) {
		ok(0, "tinybatch: open: %s", store_errmsg());
		return;
	}
	blk = malloc(blen + 1);
	memset(blk, 'y', blen);
	blk[blen] = '\0';
	rq = calloc(40, sizeof(*rq));
	ingest(s, "full", NULL, "one small", NULL, NULL);
	before = ndocs(s);
	for (i = 0; i < 40; i++)
		mkreq(&rq[i], "full", blk, NULL, 0, 1);
	rc = store_ingest_batch(s, rq, 40);
	is_int(rc, EG_ERR_LIMIT, "a batch over the map: limit");
	is_str(store_errmsg(),
	    "store full (map_size 262144): raise [store] map_size",
	    "  with the message");
	is_int(ndocs(s), before, "  none of the batch was written");
	is_int(nentries(s, STORE_DB_JOBS), 0, "  nor any of its jobs");
	rc = store_ingest_batch(s, rq, 3);
	for (i = 0; i < 3; i++)
		fine &= rq[i].rc == 0;
	ok(rc == 0 && fine && ndocs(s) == before + 3,
	    "  a batch that fits commits after it %s", EM(rc));
	store_close(s);
	free(rq);
	free(blk);
}

static void
t_take(void)
{
	struct store		*s;
	struct store_ingest_req	 rq[3];
	struct store_job	 out[10], fw, first[3];
	struct jobs_seen	 js;
	uint8_t			 ref[16] = { 9 };
	int64_t			 t, lease = 30000;
	size_t			 n = 99;
	char			 p[512];
	int			 rc, i, good;

	path(p, sizeof(p), "queue");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "queue: open: %s", store_errmsg());
		return;
	}
	for (i = 0; i < 3; i++)
		mkreq(&rq[i], "acme", "ISA*q", NULL, 0, 1);
	store_ingest_batch(s, rq, 3);
	rc = store_job_add(s, STORE_JOB_FORWARD, ref, "erp", 1000, &fw);
	is_int(rc, 0, "queue: 3 translate jobs and a forward job");
	rc = store_job_add(s, STORE_JOB_TRANSLATE, ref, NULL, 5000, NULL);
	is_int(rc, 0, "job_add: a translate job needs no target");
	is_int(store_job_add(s, 7, ref, "erp", 5000, NULL), EG_ERR_INVAL,
	    "job_add: kind 7 invalid");
	is_int(store_job_add(s, STORE_JOB_SEND, ref, NULL, 5000, NULL),
	    EG_ERR_INVAL, "job_add: a send job needs its target");

	t = store_now() + 10;
	rc = store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t, lease, out,
	    10, &n);
	is_int(rc, 0, "take translate jobs %s", EM(rc));
	is_int(n, 4, "  four due (the one added at 5000 first)");
	good = n == 4 && out[0].due == t + lease;
	for (i = 0; i < (int)n && i < 10; i++)
		good &= out[i].kind == STORE_JOB_TRANSLATE &&
		    out[i].state == STORE_JOB_INFLIGHT &&
		    out[i].attempts == 1 && out[i].first_try == t &&
		    out[i].last_try == t && out[i].due == t + lease;
	ok(good, "  inflight, attempt 1, tries stamped, lease to now + "
	    "lease_ms");
	ok(n == 4 && memcmp(out[0].ref, ref, 16) == 0 &&
	    memcmp(out[1].ref, rq[0].res.id, 16) == 0 &&
	    memcmp(out[2].ref, rq[1].res.id, 16) == 0 &&
	    memcmp(out[3].ref, rq[2].res.id, 16) == 0,
	    "  earliest first");
	memcpy(first, out + 1, sizeof(first));
	rc = store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t + 1, lease, out,
	    10, &n);
	ok(rc == 0 && n == 0, "  taken again at once: none (leased)");
	jobs_of(s, &js);
	ok(js.n == 5 && job_in(&js, first[0].id) != NULL &&
	    job_in(&js, first[0].id)->state == STORE_JOB_INFLIGHT &&
	    job_in(&js, fw.id)->state == STORE_JOB_PENDING,
	    "  the store agrees; the forward job is still pending");

	rc = store_jobs_take(s, 1u << STORE_JOB_FORWARD |
	    1u << STORE_JOB_SEND, t, lease, out, 10, &n);
	ok(rc == 0 && n == 1 && memcmp(out[0].id, fw.id, 16) == 0 &&
	    out[0].state == STORE_JOB_INFLIGHT, "take forward or send: the "
	    "forward job");
	is_int(store_jobs_take(s, 0, t, lease, out, 10, &n), EG_ERR_INVAL,
	    "take: mask 0 invalid");
	is_int(store_jobs_take(s, STORE_JOB_FORWARD, t, lease, out, 10, &n),
	    EG_ERR_INVAL, "take: a kind passed as a mask (bit 0) invalid");
	is_int(store_jobs_take(s, 1u << STORE_JOB_SEND, t, 0, out, 10, &n),
	    EG_ERR_INVAL, "take: lease 0 invalid");

	/* The lease runs out (a worker crashed): due again. */
	rc = store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t + lease + 1,
	    lease, out, 2, &n);
	ok(rc == 0 && n == 2 && out[0].attempts == 2 &&
	    out[0].first_try == t && out[0].last_try == t + lease + 1 &&
	    out[0].due == t + 2 * lease + 1, "after the lease: re-taken "
	    "(max 2), attempt 2, first try kept");
	rc = store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t + lease + 1,
	    lease, out, 10, &n);
	/* Equal leases: key order is id order, the one added last last. */
	ok(rc == 0 && n == 2 && out[0].attempts == 2 &&
	    out[1].attempts == 2 && memcmp(out[0].id, first[2].id, 16) == 0 &&
	    memcmp(out[1].ref, ref, 16) == 0, "  then the other two");
	is_int(store_job_update(s, &first[0], STORE_JOB_DONE, 0, NULL, t),
	    EG_ERR_NOTFOUND, "  a copy from the first take is stale");
	store_close(s);
}

static void
t_settle(void)
{
	struct store		*s;
	struct store_ingest_req	 rq[4];
	struct store_job	 out[8], stale, fw;
	struct store_settle	 st[6];
	struct store_expect	 e;
	struct store_resolve	 res, bad;
	struct jobs_seen	 js;
	struct acks_seen	 as;
	const struct store_job	*j;
	const struct store_ack	*a;
	uint8_t			 ref[16] = { 3 };
	int64_t			 t = store_now() + 10;
	size_t			 n = 0;
	char			 p[512];
	int			 rc, i;

	path(p, sizeof(p), "settle");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "settle: open: %s", store_errmsg());
		return;
	}
	for (i = 0; i < 4; i++)
		mkreq(&rq[i], "acme", "ISA*s", NULL, 0, 1);
	store_ingest_batch(s, rq, 4);
	store_job_add(s, STORE_JOB_FORWARD, ref, "erp", 1000, &fw);
	t = store_now() + 10;	/* after the commits, however slow the disk */
	rc = store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t, 60000, out, 8,
	    &n);
	is_int(n, 4, "settle: four inflight translate jobs");
	if (n != 4) {
		store_close(s);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.kind = STORE_ACK_ERP;
	e.partner = "acme";
	e.ref = "ev-1";
	e.due = t + 1000;
	store_ack_expect(s, &e);
	memset(&res, 0, sizeof(res));
	res.kind = STORE_ACK_ERP;
	res.partner = "acme";
	res.ref = "ev-1";
	res.state = STORE_ACK_ACCEPTED;
	res.reason = "ERP-4711";
	res.by[0] = 0x42;
	res.found = -1;
	bad = res;
	bad.state = STORE_ACK_PENDING;
	stale = out[0];

	memset(st, 0, sizeof(st));
	st[0].job = &out[0];
	st[0].to = STORE_JOB_DONE;
	st[0].res = &res;
	st[1].job = &out[1];
	st[1].to = STORE_JOB_PENDING;
	st[1].due = t + 5000;
	st[1].error = "busy";
	st[2].job = &stale;		/* the same job again: changed */
	st[2].to = STORE_JOB_DEAD;
	st[3].job = &out[2];
	st[3].to = STORE_JOB_HELD;	/* not a settlement */
	st[4].job = &fw;		/* pending, not inflight */
	st[4].to = STORE_JOB_DONE;
	st[5].job = &out[3];
	st[5].to = STORE_JOB_DEAD;
	st[5].error = "unparseable";
	for (i = 0; i < 6; i++)
		st[i].rc = 12345;
	rc = store_jobs_settle(s, st, 6, t + 100);
	is_int(rc, 0, "settle 6 (3 bad) in one transaction %s", EM(rc));
	is_int(st[0].rc, 0, "  inflight -> done");
	is_int(st[1].rc, 0, "  inflight -> pending (retry)");
	is_int(st[2].rc, EG_ERR_NOTFOUND, "  a stale copy: not found, alone");
	is_int(st[3].rc, EG_ERR_INVAL, "  inflight -> held: invalid");
	is_int(st[4].rc, EG_ERR_INVAL, "  a pending job: invalid");
	is_int(st[5].rc, 0, "  inflight -> dead");
	ok(out[0].state == STORE_JOB_DONE && out[0].due == STORE_DUE_NEVER,
	    "  the caller's copy is the new record (done, parked)");
	ok(out[1].state == STORE_JOB_PENDING && out[1].due == t + 5000 &&
	    strcmp(out[1].error, "busy") == 0 && out[1].attempts == 1,
	    "  retry: due, error, attempts kept");
	ok(stale.state == STORE_JOB_INFLIGHT && out[2].state ==
	    STORE_JOB_INFLIGHT && fw.state == STORE_JOB_PENDING,
	    "  failed ones' copies untouched");
	is_int(res.found, 1, "  the expectation was resolved with it");
	jobs_of(s, &js);
	j = job_in(&js, out[0].id);
	ok(j != NULL && j->state == STORE_JOB_DONE, "  stored: done");
	j = job_in(&js, out[2].id);
	ok(j != NULL && j->state == STORE_JOB_INFLIGHT, "  stored: the held "
	    "one still inflight");
	j = job_in(&js, out[3].id);
	ok(j != NULL && j->state == STORE_JOB_DEAD &&
	    strcmp(j->error, "unparseable") == 0, "  stored: dead, error");
	acks_of(s, &as);
	a = ack_in(&as, "acme", STORE_ACK_ERP, "ev-1");
	ok(a != NULL && a->state == STORE_ACK_ACCEPTED && a->by[0] == 0x42 &&
	    a->resolved == t + 100 && strcmp(a->reason, "ERP-4711") == 0,
	    "  stored: accepted, by, when, ERP reference");

	memset(st, 0, sizeof(st));
	st[0].job = &out[2];
	st[0].to = STORE_JOB_DONE;
	st[0].res = &bad;
	rc = store_jobs_settle(s, st, 1, t + 200);
	ok(rc == 0 && st[0].rc == EG_ERR_INVAL &&
	    out[2].state == STORE_JOB_INFLIGHT, "a resolution to pending: "
	    "invalid, the job not settled");
	res.found = -1;
	st[0].res = &res;
	rc = store_jobs_settle(s, st, 1, t + 300);
	ok(rc == 0 && st[0].rc == 0 && res.found == 0 &&
	    out[2].state == STORE_JOB_DONE, "settle with an expectation "
	    "already resolved: found 0, job done");
	st[0].to = STORE_JOB_PENDING;
	st[0].due = t;
	rc = store_jobs_settle(s, st, 1, t + 400);
	ok(rc == 0 && st[0].rc == EG_ERR_INVAL, "a done job cannot be "
	    "settled");
	store_close(s);
}

static void
t_acks(void)
{
	struct store		*s;
	struct store_expect	 e;
	struct store_resolve	 r;
	struct store_ack	 out[4];
	struct acks_seen	 as;
	struct store_rtxn	*rt;
	const struct store_ack	*a;
	char			 p[512], lp[256], lr[256];
	size_t			 n = 99;
	int			 rc;

	is_str(store_ack_kind_name(STORE_ACK_MDN), "mdn", "ack kind names");
	is_str(store_ack_kind_name(STORE_ACK_SHIPNOTICE), "ship_notice",
	    "  ship_notice");
	is_str(store_ack_kind_name(9), "?", "  unknown: ?");
	is_str(store_ack_state_name(STORE_ACK_OVERDUE), "overdue",
	    "ack state names");
	ok(store_ack_kind_parse("po_ack") == STORE_ACK_POACK &&
	    store_ack_kind_parse("erp") == STORE_ACK_ERP &&
	    store_ack_kind_parse("functional") == STORE_ACK_FUNCTIONAL &&
	    store_ack_kind_parse("Erp") == 0 &&
	    store_ack_kind_parse(NULL) == 0, "ack kind parse");

	path(p, sizeof(p), "acks");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "acks: open: %s", store_errmsg());
		return;
	}
	memset(&e, 0, sizeof(e));
	e.kind = STORE_ACK_FUNCTIONAL;
	e.partner = "acme";
	e.ref = "000000905";
	e.bizkey = "order:acme:PO1";
	e.doc[0] = 0x11;
	e.due = 1000;
	is_int(store_ack_expect(s, &e), 0, "expect a functional ack");
	e.due = 1500;
	is_int(store_ack_expect(s, &e), 0, "  again: replaced");
	e.kind = STORE_ACK_POACK;
	e.ref = "PO1";
	e.due = 5000;
	is_int(store_ack_expect(s, &e), 0, "expect a PO ack");
	/* partner + kind + ref over 511 bytes: a hashed key. */
	memset(lp, 'p', 255);
	lp[255] = '\0';
	memset(lr, 'r', 255);
	lr[255] = '\0';
	e.kind = STORE_ACK_MDN;
	e.partner = lp;
	e.ref = lr;
	e.bizkey = NULL;
	e.due = 9000;
	rc = store_ack_expect(s, &e);
	is_int(rc, 0, "expect under a 512-byte key %s", EM(rc));
	e.partner = "acme";
	e.ref = "x";
	e.kind = 9;
	is_int(store_ack_expect(s, &e), EG_ERR_INVAL, "kind 9: invalid");
	e.kind = STORE_ACK_MDN;
	e.ref = "";
	is_int(store_ack_expect(s, &e), EG_ERR_INVAL, "no reference: invalid");
	e.ref = lr;
	e.partner = "";
	is_int(store_ack_expect(s, &e), EG_ERR_INVAL, "no partner: invalid");
	lr[0] = '\0';

	rc = acks_of(s, &as);
	is_int(rc, 0, "ack_walk");
	is_int(as.n, 3, "  three expectations");
	ok(as.n == 3 && as.a[0].kind == STORE_ACK_FUNCTIONAL &&
	    as.a[1].kind == STORE_ACK_POACK &&
	    strlen(as.a[2].partner) == 255 && strlen(as.a[2].ref) == 255,
	    "  in key order (the hashed key last), long fields whole");
	a = ack_in(&as, "acme", STORE_ACK_FUNCTIONAL, "000000905");
	ok(a != NULL && a->due == 1500 && a->state == STORE_ACK_PENDING &&
	    strcmp(a->bizkey, "order:acme:PO1") == 0 && a->doc[0] == 0x11 &&
	    a->created > 1600000000000LL && a->resolved == 0 &&
	    iszero16(a->by), "  the replaced one: every field");
	memset(&as, 0, sizeof(as));
	as.stop_at = 2;
	store_rtxn_begin(s, &rt);
	rc = store_ack_walk(rt, ack_collect, &as);
	store_rtxn_end(rt);
	ok(rc == 7 && as.n == 2, "  fn's non-zero stops the walk, returned");

	rc = store_ack_overdue(s, 2000, out, 4, &n);
	ok(rc == 0 && n == 1 && out[0].kind == STORE_ACK_FUNCTIONAL &&
	    out[0].state == STORE_ACK_OVERDUE, "overdue at 2000: the "
	    "functional ack");
	rc = store_ack_overdue(s, 2000, out, 4, &n);
	ok(rc == 0 && n == 0, "  once: overdue is not pending");
	rc = store_ack_overdue(s, 10000, out, 1, &n);
	ok(rc == 0 && n == 1 && out[0].kind == STORE_ACK_POACK,
	    "at 10000, max 1: the PO ack");
	rc = store_ack_overdue(s, 10000, out, 4, &n);
	ok(rc == 0 && n == 1 && out[0].kind == STORE_ACK_MDN, "  then the "
	    "MDN");

	memset(&r, 0, sizeof(r));
	r.kind = STORE_ACK_FUNCTIONAL;
	r.partner = "acme";
	r.ref = "000000905";
	r.state = STORE_ACK_ACCEPTED;
	r.reason = "AK5*A";
	r.by[0] = 0x77;
	rc = store_ack_resolve(s, &r);
	ok(rc == 0 && r.found == 1, "resolve an overdue expectation");
	r.found = -1;
	rc = store_ack_resolve(s, &r);
	ok(rc == 0 && r.found == 0, "  again: none awaited, not an error");
	r.ref = "nothing";
	r.found = -1;
	rc = store_ack_resolve(s, &r);
	ok(rc == 0 && r.found == 0, "an unknown reference: found 0");
	r.kind = STORE_ACK_POACK;
	r.ref = "PO1";
	r.state = STORE_ACK_PENDING;
	is_int(store_ack_resolve(s, &r), EG_ERR_INVAL,
	    "resolve to pending: invalid");
	r.state = STORE_ACK_REJECTED;
	r.reason = "855 BAK*RJ";
	rc = store_ack_resolve(s, &r);
	ok(rc == 0 && r.found == 1, "reject the PO ack");
	memset(lr, 'r', 255);
	r.kind = STORE_ACK_MDN;
	r.partner = lp;
	r.ref = lr;
	r.state = STORE_ACK_ACCEPTED;
	r.reason = NULL;
	rc = store_ack_resolve(s, &r);
	ok(rc == 0 && r.found == 1, "resolve through the hashed key");

	acks_of(s, &as);
	a = ack_in(&as, "acme", STORE_ACK_FUNCTIONAL, "000000905");
	ok(a != NULL && a->state == STORE_ACK_ACCEPTED && a->by[0] == 0x77 &&
	    a->resolved >= a->created && strcmp(a->reason, "AK5*A") == 0 &&
	    a->due == 1500, "  accepted: by, when, reason, due kept");
	a = ack_in(&as, "acme", STORE_ACK_POACK, "PO1");
	ok(a != NULL && a->state == STORE_ACK_REJECTED &&
	    strcmp(a->reason, "855 BAK*RJ") == 0, "  rejected with reason");
	a = ack_in(&as, lp, STORE_ACK_MDN, lr);
	ok(a != NULL && a->state == STORE_ACK_ACCEPTED && a->reason[0] ==
	    '\0', "  the long one accepted");
	store_close(s);

	/* A bad record: the walk reports it, overdue steps over it. */
	{
		static const uint8_t junk[] = { 'A', 1, 2 };
		static const uint8_t key[] = { 'a', 'c', 'm', 'e', 0, 2, 'z' };

		raw_put(p, "acks", key, sizeof(key), junk, sizeof(junk));
		store_open(p, 0, 0, &s);
		rc = acks_of(s, &as);
		ok(rc == EG_ERR_SYNTAX && strstr(store_errmsg(), "acks record")
		    != NULL, "a corrupted acks record: the walk says syntax "
		    "(%s)", store_errmsg());
		e.kind = STORE_ACK_ERP;
		e.partner = "acme";
		e.ref = "ev-9";
		e.due = 100;
		store_ack_expect(s, &e);
		rc = store_ack_overdue(s, 200, out, 4, &n);
		ok(rc == 0 && n == 1 && strcmp(out[0].ref, "ev-9") == 0,
		    "  overdue steps over it");
		store_close(s);
	}
}

static struct store_event
mkev(const char *json, const char *idem, const char *biz)
{
	struct store_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.json = json;
	ev.jsonlen = strlen(json);
	ev.idem = idem;
	ev.biz = biz;
	return ev;
}

static void
t_outcome(void)
{
	struct store		*s;
	struct store_ingest_req	 rq[5];
	struct store_job	 jobs[8], stale;
	struct store_outcome	 o[6];
	struct store_event	 ev0[2], ev1[1], ev2[1], ev3[1];
	struct store_outbound	 ob[2];
	struct store_ctl	 oc = { STORE_LVL_ISA, "ZZ:WIDGETCO",
				    "000000001" };
	struct store_expect	 ex, pre;
	struct store_resolve	 res[2], res3;
	struct store_rtxn	*rt;
	struct store_doc	 g;
	struct store_event_rec	 er;
	struct collect		 col;
	struct jobs_seen	 js;
	struct acks_seen	 as;
	struct slice		 blob;
	const struct store_ack	*a;
	const struct store_job	*j;
	enum store_doc_state	 state;
	char			 idt[STORE_ID_TEXT], p[512];
	uint8_t			 other[STORE_ID_LEN];
	const char		*dj = "[{\"code\":\"MAP-REQ\"}]";
	uint64_t		 d0, e0, i0, c0;
	int64_t			 t;
	size_t			 n = 0;
	int			 rc, i;

	path(p, sizeof(p), "outcome");
	if (store_open(p, 16 << 20, 0, &s) != 0) {
		ok(0, "outcome: open: %s", store_errmsg());
		return;
	}
	for (i = 0; i < 5; i++)
		mkreq(&rq[i], "acme", "ISA*850", NULL, 0, 1);
	store_ingest_batch(s, rq, 5);
	t = store_now() + 10;
	store_jobs_take(s, 1u << STORE_JOB_TRANSLATE, t, 60000, jobs, 8, &n);
	is_int(n, 5, "outcome: five documents taken for translation");
	if (n != 5) {
		store_close(s);
		return;
	}
	/* Document 2 is translated already: its outcome is refused. */
	ev2[0] = mkev("{\"c\":1}", "k-c0", NULL);
	store_translated(s, rq[2].res.id, ev2, 1, NULL, NULL);
	memset(&pre, 0, sizeof(pre));
	pre.kind = STORE_ACK_FUNCTIONAL;
	pre.partner = "acme";
	pre.ref = "000000777";
	pre.due = t + 1000;
	store_ack_expect(s, &pre);
	pre.ref = "000000778";		/* awaited by outcome 3 */
	store_ack_expect(s, &pre);
	d0 = ndocs(s);
	e0 = nentries(s, STORE_DB_EVENTS);
	i0 = nentries(s, STORE_DB_IDEM);
	c0 = nentries(s, STORE_DB_CTL);
	stale = jobs[3];
	stale.due++;		/* names no record: fails at the very end */

	memset(o, 0, sizeof(o));
	/* 0: two events, a 997 out, an expectation made and one met. */
	ev0[0] = mkev("{\"e\":1}", "k1", "order:acme:PO1");
	ev0[1] = mkev("{\"e\":2}", "k2", "order:acme:PO1");
	memset(ob, 0, sizeof(ob));
	mkdoc(&ob[0].doc, "acme", "997-000000001.edi");
	snprintf(ob[0].doc.doctype, sizeof(ob[0].doc.doctype), "997");
	ob[0].doc.state = STORE_DOC_TRANSLATED;	/* ignored */
	ob[0].doc.direction = STORE_INBOUND;	/* ignored */
	memcpy(ob[0].doc.id, rq[1].res.id, 16);	/* ignored */
	ob[0].raw = slice_cstr("ISA*997*000000001~");
	ob[0].ctl = &oc;
	ob[0].nctl = 1;
	ob[0].target = "dir:acme";
	memset(&ex, 0, sizeof(ex));
	ex.kind = STORE_ACK_POACK;
	ex.partner = "acme";
	ex.ref = "PO1";
	ex.bizkey = "order:acme:PO1";
	memcpy(ex.doc, rq[0].res.id, 16);
	ex.due = t + 86400000;
	memset(res, 0, sizeof(res));
	res[0].kind = STORE_ACK_FUNCTIONAL;
	res[0].partner = "acme";
	res[0].ref = "000000777";
	res[0].state = STORE_ACK_ACCEPTED;
	memcpy(res[0].by, rq[0].res.id, 16);
	res[0].found = -1;
	res[1] = res[0];
	res[1].ref = "000000999";
	memcpy(o[0].id, rq[0].res.id, 16);
	o[0].state = STORE_DOC_TRANSLATED;
	o[0].ev = ev0;
	o[0].nev = 2;
	o[0].target = "erp";
	o[0].erp_due = t + 900000;
	o[0].out = ob;
	o[0].nout = 1;
	o[0].exp = &ex;
	o[0].nexp = 1;
	o[0].res = res;
	o[0].nres = 2;
	o[0].job = &jobs[0];
	/* 1: only an event seen in outcome 0: duplicate. */
	ev1[0] = mkev("{\"e\":1}", "k1", "order:acme:PO1");
	memcpy(o[1].id, rq[1].res.id, 16);
	o[1].state = STORE_DOC_TRANSLATED;
	o[1].ev = ev1;
	o[1].nev = 1;
	o[1].target = "erp";
	o[1].erp_due = t + 900000;
	o[1].job = &jobs[1];
	/* 2: translated already: invalid. */
	ev2[0] = mkev("{\"c\":2}", "k-c1", NULL);
	memcpy(o[2].id, rq[2].res.id, 16);
	o[2].state = STORE_DOC_TRANSLATED;
	o[2].ev = ev2;
	o[2].nev = 1;
	o[2].job = &jobs[2];
	/* 3: everything written, then its stale job fails: rolled back. */
	ev3[0] = mkev("{\"d\":1}", "k-d1", "order:acme:PO9");
	mkdoc(&ob[1].doc, "acme", "997-000000002.edi");
	ob[1].raw = slice_cstr("ISA*997*000000002~");
	ob[1].target = "dir:acme";
	res3 = res[0];
	res3.ref = "000000778";
	memcpy(o[3].id, rq[3].res.id, 16);
	o[3].state = STORE_DOC_TRANSLATED;
	o[3].ev = ev3;
	o[3].nev = 1;
	o[3].target = "erp";
	o[3].erp_due = t + 900000;
	o[3].out = &ob[1];
	o[3].nout = 1;
	o[3].res = &res3;
	o[3].nres = 1;
	o[3].job = &stale;
	/* 4: rejected with diagnostics. */
	memcpy(o[4].id, rq[4].res.id, 16);
	o[4].state = STORE_DOC_REJECTED;
	o[4].reason = "map error";
	o[4].diags = slice_cstr(dj);
	o[4].job = &jobs[4];
	/* 5: received is no outcome. */
	memcpy(o[5].id, rq[4].res.id, 16);
	o[5].state = STORE_DOC_RECEIVED;
	for (i = 0; i < 6; i++)
		o[i].rc = 12345;

	rc = store_outcome_batch(s, o, 6);
	is_int(rc, 0, "outcome_batch of 6 %s", EM(rc));
	ok(o[0].rc == 0 && o[0].final == STORE_DOC_TRANSLATED,
	    "  0: translated");
	ok(o[1].rc == 0 && o[1].final == STORE_DOC_DUPLICATE,
	    "  1: all its events seen: duplicate");
	ok(ev1[0].duplicate && memcmp(ev1[0].dup_of, ev0[0].id, 16) == 0,
	    "  1: its event names outcome 0's, same batch");
	ok(o[2].rc == EG_ERR_INVAL && o[2].final == 0,
	    "  2: translated already: invalid");
	is_int(o[3].rc, EG_ERR_NOTFOUND, "  3: stale job: not found");
	ok(o[4].rc == 0 && o[4].final == STORE_DOC_REJECTED, "  4: rejected");
	is_int(o[5].rc, EG_ERR_INVAL, "  5: received: invalid");
	is_int(ndocs(s), d0 + 1, "  one outbound document written (not "
	    "3's)");
	is_int(nentries(s, STORE_DB_EVENTS), e0 + 2, "  two events (not "
	    "3's)");
	is_int(nentries(s, STORE_DB_IDEM), i0 + 2, "  two idempotency keys");
	is_int(nentries(s, STORE_DB_CTL), c0 + 1, "  the 997's ISA13 in "
	    "the ledger");
	ok(jobs[0].state == STORE_JOB_DONE && jobs[1].state == STORE_JOB_DONE
	    && jobs[4].state == STORE_JOB_DONE && jobs[2].state ==
	    STORE_JOB_INFLIGHT && stale.state == STORE_JOB_INFLIGHT,
	    "  the caller's job copies: done where committed");
	ok(!iszero16(ob[0].id) && memcmp(ob[0].id, rq[1].res.id, 16) != 0,
	    "  the outbound document's new id returned");
	ok(iszero16(ob[1].id) && res3.found == 0, "  3's outs cleared: no "
	    "outbound id, found 0");

	store_rtxn_begin(s, &rt);
	store_doc_get(rt, rq[0].res.id, &g);
	ok(g.state == STORE_DOC_TRANSLATED && g.error[0] == '\0',
	    "  0 stored: translated");
	memset(&col, 0, sizeof(col));
	rc = store_events_of_doc(rt, rq[0].res.id, collect, &col);
	ok(rc == 0 && col.n == 2 && strcmp(col.json[0], "{\"e\":1}") == 0 &&
	    strcmp(col.json[1], "{\"e\":2}") == 0 &&
	    memcmp(col.ids[0], ev0[0].id, 16) == 0, "  0's events in order");
	memset(&col, 0, sizeof(col));
	rc = store_events_of_biz(rt, "order:acme:PO1", collect, &col);
	ok(rc == 0 && col.n == 2, "  by business key too");
	rc = store_doc_get(rt, ob[0].id, &g);
	ok(rc == 0 && g.direction == STORE_OUTBOUND &&
	    g.state == STORE_DOC_TRANSLATED && strcmp(g.doctype, "997") == 0
	    && strcmp(g.partner, "acme") == 0 && g.size == 18,
	    "  the outbound record: outbound, translated, 997");
	rc = store_blob_get(rt, ob[0].id, &blob);
	ok(rc == 0 && slice_eqs(blob, "ISA*997*000000001~"),
	    "  its bytes");
	store_doc_get(rt, rq[1].res.id, &g);
	is_int(g.state, STORE_DOC_DUPLICATE, "  1 stored: duplicate");
	memset(&col, 0, sizeof(col));
	store_events_of_doc(rt, rq[1].res.id, collect, &col);
	is_int(col.n, 0, "  1 has no events");
	store_doc_get(rt, rq[2].res.id, &g);
	is_int(g.state, STORE_DOC_TRANSLATED, "  2 stored: as it was");
	store_doc_get(rt, rq[3].res.id, &g);
	is_int(g.state, STORE_DOC_RECEIVED, "  3 stored: still received");
	is_int(store_event_get(rt, ev3[0].id, &er), EG_ERR_NOTFOUND,
	    "  3's event is not there");
	store_doc_get(rt, rq[4].res.id, &g);
	ok(g.state == STORE_DOC_REJECTED && strcmp(g.error, "map error") ==
	    0, "  4 stored: rejected, reason");
	ok(store_doc_diags(rt, rq[4].res.id, &blob) == 0 &&
	    slice_eqs(blob, dj), "  4's diagnostics");
	store_rtxn_end(rt);

	jobs_of(s, &js);
	ok(jobs_count(&js, STORE_JOB_FORWARD, ev0[0].id) == 1 &&
	    jobs_count(&js, STORE_JOB_FORWARD, ev0[1].id) == 1 &&
	    jobs_count(&js, STORE_JOB_FORWARD, NULL) == 2,
	    "forward jobs: one per new event, none for duplicates or 3");
	ok(jobs_count(&js, STORE_JOB_SEND, ob[0].id) == 1 &&
	    jobs_count(&js, STORE_JOB_SEND, NULL) == 1,
	    "a send job for the outbound document");
	for (i = 0; i < js.n && i < 32; i++)
		if (js.j[i].kind == STORE_JOB_SEND)
			ok(strcmp(js.j[i].target, "dir:acme") == 0 &&
			    js.j[i].state == STORE_JOB_PENDING,
			    "  to dir:acme, pending");
	j = job_in(&js, jobs[0].id);
	ok(j != NULL && j->state == STORE_JOB_DONE &&
	    j->due == STORE_DUE_NEVER, "translate job 0 stored done");
	j = job_in(&js, jobs[3].id);
	ok(j != NULL && j->state == STORE_JOB_INFLIGHT, "translate job 3 "
	    "still inflight");

	acks_of(s, &as);
	store_id_format(ev0[0].id, idt);
	a = ack_in(&as, "acme", STORE_ACK_ERP, idt);
	ok(a != NULL && a->state == STORE_ACK_PENDING &&
	    a->due == t + 900000 && memcmp(a->doc, ev0[0].id, 16) == 0 &&
	    strcmp(a->bizkey, "order:acme:PO1") == 0,
	    "ERP expectation for event 0: ref its id, bizkey, due");
	store_id_format(ev0[1].id, idt);
	ok(ack_in(&as, "acme", STORE_ACK_ERP, idt) != NULL,
	    "  and for event 1");
	store_id_format(ev3[0].id, idt);
	ok(ack_in(&as, "acme", STORE_ACK_ERP, idt) == NULL, "  none for 3's");
	is_int(as.n, 5, "expectations: 2 ERP, PO ack, 2 functional");
	a = ack_in(&as, "acme", STORE_ACK_FUNCTIONAL, "000000778");
	ok(a != NULL && a->state == STORE_ACK_PENDING && a->resolved == 0,
	    "3's resolution rolled back: still pending");
	a = ack_in(&as, "acme", STORE_ACK_POACK, "PO1");
	ok(a != NULL && a->state == STORE_ACK_PENDING &&
	    a->due == t + 86400000 && memcmp(a->doc, rq[0].res.id, 16) == 0,
	    "the PO ack expectation made");
	a = ack_in(&as, "acme", STORE_ACK_FUNCTIONAL, "000000777");
	ok(a != NULL && a->state == STORE_ACK_ACCEPTED &&
	    memcmp(a->by, rq[0].res.id, 16) == 0 && res[0].found == 1 &&
	    res[1].found == 0, "the awaited functional ack met (found 1), "
	    "the unknown one not (0)");

	/* 3 again with its real job: now it all commits. */
	o[3].job = &jobs[3];
	rc = store_outcome_batch(s, &o[3], 1);
	ok(rc == 0 && o[3].rc == 0 && o[3].final == STORE_DOC_TRANSLATED &&
	    res3.found == 1 && jobs[3].state == STORE_JOB_DONE &&
	    !iszero16(ob[1].id), "3 retried with its job: committed, "
	    "resolution found");
	ev3[0] = mkev("{\"d\":1}", "k-d1", NULL);
	ingest(s, "acme", NULL, "again", other, NULL);
	rc = store_translated(s, other, ev3, 1, NULL, &state);
	ok(rc == 0 && state == STORE_DOC_DUPLICATE && ev3[0].duplicate,
	    "  its idempotency key is taken now");

	memset(&o[0], 0, sizeof(o[0]));
	memcpy(o[0].id, other, 16);
	o[0].state = STORE_DOC_REJECTED;
	o[0].nev = 1;			/* but no ev[] */
	o[0].out = ob;
	o[0].nout = 0;
	rc = store_outcome_batch(s, o, 1);
	ok(rc == 0 && o[0].rc == EG_ERR_INVAL && strstr(store_errmsg(),
	    "events missing") != NULL, "events counted but missing: invalid");
	store_close(s);
}

static void
t_outcome_mapfull(void)
{
	struct store		*s;
	struct store_ingest_req	 rq;
	struct store_outcome	 o;
	struct store_event	 ev;
	struct store_rtxn	*rt;
	struct store_doc	 g;
	char			 p[512], *big;
	size_t			 len = 400000;
	int			 rc;

	path(p, sizeof(p), "tinyoutcome");
	if (store_open(p, 256 * 1024, 0, &s) != 0) {
		ok(0, "tinyoutcome: open: %s", store_errmsg());
		return;
	}
	mkreq(&rq, "acme", "ISA*x", NULL, 0, 0);
	store_ingest_batch(s, &rq, 1);
	big = malloc(len + 1);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	big[len] = '\0';
	ev = mkev(big, "k-big", NULL);
	memset(&o, 0, sizeof(o));
	memcpy(o.id, rq.res.id, 16);
	o.state = STORE_DOC_TRANSLATED;
	o.ev = &ev;
	o.nev = 1;
	rc = store_outcome_batch(s, &o, 1);
	is_int(rc, EG_ERR_LIMIT, "an outcome over the map: the batch fails");
	ok(strncmp(store_errmsg(), "store full", 10) == 0, "  store full: %s",
	    store_errmsg());
	store_rtxn_begin(s, &rt);
	store_doc_get(rt, rq.res.id, &g);
	is_int(g.state, STORE_DOC_RECEIVED, "  the document still received");
	store_rtxn_end(rt);
	is_int(nentries(s, STORE_DB_EVENTS), 0, "  no event written");
	store_close(s);
	free(big);
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
static int
chan_count(void *arg, const char *partner, const char *channel,
    const struct store_chan *c)
{
	(void)partner;
	(void)channel;
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* Channel state: meta "chan:PARTNER:CHANNEL", read by another process. */
static void
t_chan(void)
{
	struct store		*s;
	struct store_rtxn	*rt;
	struct store_chan	 c, g;
	char			 p[512], longp[400];
	int			 n = 0;

	path(p, sizeof(p), "chan");
	if (store_open(p, 0, 0, &s) != 0) {
		ok(0, "chan: open: %s", store_errmsg());
		return;
	}
	memset(&c, 0, sizeof(c));
	c.last_poll = 1700000000123LL;
	c.last_ok = 1700000000000LL;
	c.polls = 42;
	c.files = 7;
	c.bytes = 123456789012ULL;
	c.sent = 3;
	c.errors = 1;
	c.cycle_ms = 12;
	c.connected = 1;
	snprintf(c.server, sizeof(c.server), "127.0.0.1:2222");
	snprintf(c.error, sizeof(c.error), "host key refused: SHA256:x");
	ok(store_chan_put(s, "acme", "sftp", &c) == 0, "chan: put");
	c.files = 8;
	ok(store_chan_put(s, "bolt", "sftp", &c) == 0, "chan: put another");
	ok(store_chan_put(s, "acme", "sf:tp", &c) == EG_ERR_INVAL,
	    "chan: a channel with ':' is refused");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ok(store_chan_put(s, longp, "sftp", &c) == EG_ERR_INVAL,
	    "chan: an over-long partner is refused");
	store_close(s);
	if (store_open(p, 0, STORE_RDONLY, &s) != 0) {
		ok(0, "chan: reopen: %s", store_errmsg());
		return;
	}
	if (store_rtxn_begin(s, &rt) == 0) {
		ok(store_chan_get(rt, "acme", "sftp", &g) == 0 &&
		    g.last_poll == c.last_poll && g.files == 7 &&
		    g.bytes == c.bytes && g.polls == 42 && g.cycle_ms == 12 &&
		    g.connected == 1 && strcmp(g.server, c.server) == 0 &&
		    strcmp(g.error, c.error) == 0,
		    "chan: read back whole by a reader");
		ok(store_chan_get(rt, "nobody", "sftp", &g) == EG_ERR_NOTFOUND,
		    "chan: none is EG_ERR_NOTFOUND");
		ok(store_chan_walk(rt, chan_count, &n) == 0 && n == 2,
		    "chan: walk sees both (and not schema, instance)");
		store_rtxn_end(rt);
	}
	store_close(s);
}

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
	t_ingest_batch();
	t_about();
	t_batch_mapfull();
	t_take();
	t_settle();
	t_acks();
	t_outcome();
	t_outcome_mapfull();
	t_reader_beside_writer();
	t_chan();
	for (i = 0; i < 3; i++)
		t_crash(i, (unsigned int)time(NULL) + (unsigned int)i * 7919);
	if (getenv("EG_KEEP_TMP") == NULL)
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("# kept %s\n", base);
	return done_testing();
}
