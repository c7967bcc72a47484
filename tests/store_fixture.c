/*
 * store_fixture.c: a store for the operator CLI tests (tests/ops.py),
 * written through the store API as the daemon would write it.
 *
 *   store_fixture populate DIR   create DIR/store and print the ids (JSON)
 *   store_fixture lock DIR       hold a write transaction on DIR/store
 *   store_fixture open DIR       hold DIR/store open read-write
 *
 * lock and open print one line ("locked", "open") once they hold it and
 * keep it until their standard input closes.  Not a test itself: built
 * by `make check`, never run by it directly.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "err.h"
#include "slice.h"
#include "store.h"

#define HOUR		(3600 * 1000LL)
#define MAP_SIZE	(64 * 1024 * 1024)

static struct store *s;
static char	 storepath[4096];

static void __attribute__((format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "store_fixture: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", store_errmsg());
	va_end(ap);
	exit(1);
}

static void
ingest(uint8_t id[STORE_ID_LEN], const char *partner, const char *doctype,
    const char *icn, int64_t received, enum store_doc_state state,
    const char *error, const char *raw)
{
	struct store_doc	*d = calloc(1, sizeof(*d));
	struct store_ingest_res	 res;
	struct store_ctl	 c = { STORE_LVL_ISA, "ZZ:SENDER", icn };

	if (d == NULL)
		exit(1);
	d->state = state;
	d->received = received;
	snprintf(d->partner, sizeof(d->partner), "%s", partner);
	snprintf(d->channel, sizeof(d->channel), "dir:%s-in", partner);
	snprintf(d->name, sizeof(d->name), "%s-%s.edi", doctype, icn);
	snprintf(d->syntax, sizeof(d->syntax), "x12");
	snprintf(d->doctype, sizeof(d->doctype), "%s", doctype);
	snprintf(d->sender, sizeof(d->sender), "ZZ:SENDER");
	snprintf(d->receiver, sizeof(d->receiver), "ZZ:WIDGETCO");
	snprintf(d->icn, sizeof(d->icn), "%s", icn);
	if (error != NULL)
		snprintf(d->error, sizeof(d->error), "%s", error);
	if (store_ingest(s, d, slice_cstr(raw), &c, 1, &res) != 0)
		die("ingest %s", icn);
	memcpy(id, res.id, STORE_ID_LEN);
	free(d);
}

static void
event(struct store_event *e, const char *type, const char *partner,
    const char *subject, const char *idem, const char *biz, char *buf,
    size_t size)
{
	snprintf(buf, size, "{\"specversion\":\"1.0\",\"type\":\"%s\","
	    "\"source\":\"/edigate/partners/%s\",\"partner\":\"%s\","
	    "\"subject\":\"%s\",\"idempotencykey\":\"%s\"%s%s%s,"
	    "\"data\":{\"n\":1}}", type, partner, partner, subject, idem,
	    biz ? ",\"businesskey\":\"" : "", biz ? biz : "", biz ? "\"" : "");
	memset(e, 0, sizeof(*e));
	e->json = buf;
	e->jsonlen = strlen(buf);
	e->idem = idem;
	e->biz = biz;
}

/* The pending job that refers to ref (as store_translated() queued it). */
static void
job_of(const uint8_t ref[STORE_ID_LEN], struct store_job *out)
{
	struct store_job	 j[64];
	size_t			 n, i;

	if (store_job_next_due(s, store_now() + HOUR, j, 64, &n) != 0)
		die("next due");
	for (i = 0; i < n; i++)
		if (memcmp(j[i].ref, ref, STORE_ID_LEN) == 0) {
			*out = j[i];
			return;
		}
	fprintf(stderr, "store_fixture: no job for an event\n");
	exit(1);
}

static void
expect(enum store_ack_kind kind, const char *partner, const char *ref,
    const char *biz, const uint8_t doc[STORE_ID_LEN], int64_t due)
{
	struct store_expect	 x;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.partner = partner;
	x.ref = ref;
	x.bizkey = biz;
	memcpy(x.doc, doc, STORE_ID_LEN);
	x.due = due;
	if (store_ack_expect(s, &x) != 0)
		die("expect %s", ref);
}

static void
resolve(enum store_ack_kind kind, const char *partner, const char *ref,
    enum store_ack_state state, const char *reason,
    const uint8_t by[STORE_ID_LEN])
{
	struct store_resolve	 r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.partner = partner;
	r.ref = ref;
	r.state = state;
	r.reason = reason;
	memcpy(r.by, by, STORE_ID_LEN);
	if (store_ack_resolve(s, &r) != 0 || !r.found)
		die("resolve %s", ref);
}

static void
pid(const char *name, const uint8_t id[STORE_ID_LEN], int last)
{
	char	 t[STORE_ID_TEXT];

	store_id_format(id, t);
	printf("    \"%s\": \"%s\"%s\n", name, t, last ? "" : ",");
}

static int
populate(void)
{
	static const char diags[] = "[{\"severity\":\"error\",\"code\":"
	    "\"X12-IEA01\",\"segment\":12,\"message\":\"IEA01 says 2 groups, "
	    "found 1\"}]";
	struct store_event	 ev[2];
	struct store_job	 jretry, jdead, jheld;
	struct store_ack	 od[8];
	enum store_doc_state	 st;
	uint8_t			 quar[16], rej[16], trans[16], dup[16];
	uint8_t			 ship[16], recv[16];
	uint8_t			 evrej[16], po1[16], po2[16], evship[16];
	char			 b1[1024], b2[1024], evid[STORE_ID_TEXT];
	int64_t			 now = store_now();
	size_t			 n;

	if (store_open(storepath, MAP_SIZE, 0, &s) != 0)
		die("open %s", storepath);

	ingest(quar, "ghost", "850", "000000301", now - 6 * HOUR,
	    STORE_DOC_QUARANTINED, "unknown sender ZZ:GHOST", "ISA*ghost~");
	ingest(rej, "bolt-supply", "856", "000000777", now - 5 * HOUR, 0,
	    NULL, "ISA*bolt*777~");
	event(&ev[0], "document.rejected", "bolt-supply", "000000777",
	    "rejected:bolt-supply:000000777", NULL, b1, sizeof(b1));
	if (store_rejected(s, rej, "IEA01 says 2 groups, found 1", diags,
	    strlen(diags), ev, 1, NULL) != 0)
		die("rejected");
	memcpy(evrej, ev[0].id, 16);

	ingest(trans, "acme-retail", "850", "000000905", now - 4 * HOUR, 0,
	    NULL, "ISA*acme*905~\nGS*PO~\n");
	event(&ev[0], "order.created", "acme-retail", "4500012345",
	    "x12:acme-retail:905:0001", "order:acme-retail:4500012345", b1,
	    sizeof(b1));
	event(&ev[1], "order.created", "acme-retail", "4500012346",
	    "x12:acme-retail:905:0002", "order:acme-retail:4500012346", b2,
	    sizeof(b2));
	if (store_translated(s, trans, ev, 2, "erp", &st) != 0 ||
	    st != STORE_DOC_TRANSLATED)
		die("translated");
	memcpy(po1, ev[0].id, 16);
	memcpy(po2, ev[1].id, 16);

	/* The same interchange again: every event is a duplicate. */
	ingest(dup, "acme-retail", "850", "000000905", now - 3 * HOUR, 0,
	    NULL, "ISA*acme*905~\nGS*PO~\n");
	event(&ev[0], "order.created", "acme-retail", "4500012345",
	    "x12:acme-retail:905:0001", "order:acme-retail:4500012345", b1,
	    sizeof(b1));
	if (store_translated(s, dup, ev, 1, "erp", &st) != 0 ||
	    st != STORE_DOC_DUPLICATE)
		die("duplicate");

	ingest(ship, "bolt-supply", "856", "000000778", now - 2 * HOUR, 0,
	    NULL, "ISA*bolt*778~");
	event(&ev[0], "shipment.noticed", "bolt-supply", "SH240311-01",
	    "x12:bolt-supply:778:0001", "shipment:bolt-supply:SH240311-01",
	    b1, sizeof(b1));
	if (store_translated(s, ship, ev, 1, "erp", &st) != 0)
		die("translated ship");
	memcpy(evship, ev[0].id, 16);

	ingest(recv, "acme-retail", "850", "000000906", now - 1 * HOUR, 0,
	    NULL, "ISA*acme*906~");

	/* Jobs: one retrying, one dead, one held. */
	job_of(po1, &jretry);
	if (store_job_update(s, &jretry, STORE_JOB_INFLIGHT, now + 60000,
	    NULL, now) != 0 ||
	    store_job_update(s, &jretry, STORE_JOB_PENDING, now + 600000,
	    "HTTP 503 Service Unavailable", now) != 0)
		die("retry");
	job_of(po2, &jdead);
	if (store_job_update(s, &jdead, STORE_JOB_INFLIGHT, now + 60000,
	    NULL, now) != 0 ||
	    store_job_update(s, &jdead, STORE_JOB_DEAD, 0,
	    "HTTP 422: unknown product SKU-9", now) != 0)
		die("dead");
	job_of(evship, &jheld);
	if (store_job_update(s, &jheld, STORE_JOB_HELD, 0, NULL, now) != 0)
		die("held");

	/* Acknowledgements: overdue, pending, pending past due, negative. */
	expect(STORE_ACK_POACK, "acme-retail", "4500012345",
	    "order:acme-retail:4500012345", po1, now - HOUR);
	if (store_ack_overdue(s, now, od, 8, &n) != 0 || n != 1)
		die("overdue");
	store_id_format(po1, evid);
	expect(STORE_ACK_ERP, "acme-retail", evid,
	    "order:acme-retail:4500012345", po1, now + HOUR);
	store_id_format(po2, evid);
	expect(STORE_ACK_ERP, "acme-retail", evid,
	    "order:acme-retail:4500012346", po2, now - 600000);
	expect(STORE_ACK_FUNCTIONAL, "bolt-supply", "000000042", NULL, ship,
	    now + 24 * HOUR);
	resolve(STORE_ACK_FUNCTIONAL, "bolt-supply", "000000042",
	    STORE_ACK_REJECTED, "997 AK5*R: set 0001 rejected", rej);
	expect(STORE_ACK_MDN, "bolt-supply", "<msg-1@widgetco>", NULL, ship,
	    now + HOUR);
	resolve(STORE_ACK_MDN, "bolt-supply", "<msg-1@widgetco>",
	    STORE_ACK_ACCEPTED, NULL, ship);

	printf("{\n  \"now\": %" PRId64 ",\n  \"docs\": {\n", now);
	pid("quarantined", quar, 0);
	pid("rejected", rej, 0);
	pid("translated", trans, 0);
	pid("duplicate", dup, 0);
	pid("shipment", ship, 0);
	pid("received", recv, 1);
	printf("  },\n  \"events\": {\n");
	pid("rejected", evrej, 0);
	pid("po1", po1, 0);
	pid("po2", po2, 0);
	pid("shipment", evship, 1);
	printf("  },\n  \"jobs\": {\n");
	pid("retry", jretry.id, 0);
	pid("dead", jdead.id, 0);
	pid("held", jheld.id, 1);
	printf("  }\n}\n");
	store_close(s);
	return fflush(stdout) != 0;
}

/* Hold a write transaction through LMDB itself until stdin closes. */
static int
lock(void)
{
	MDB_env	*env;
	MDB_txn	*txn;
	char	 buf[64];

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 32) != 0 ||
	    mdb_env_set_mapsize(env, MAP_SIZE) != 0 ||
	    mdb_env_open(env, storepath, MDB_NOTLS, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0) {
		fprintf(stderr, "store_fixture: lock %s failed\n", storepath);
		return 1;
	}
	printf("locked\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin) != NULL)
		;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}

static int
hold_open(void)
{
	char	 buf[64];

	if (store_open(storepath, MAP_SIZE, 0, &s) != 0)
		die("open %s", storepath);
	printf("open\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin) != NULL)
		;
	store_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: store_fixture populate|lock|open DIR\n");
		return 2;
	}
	snprintf(storepath, sizeof(storepath), "%s/store", argv[2]);
	if (strcmp(argv[1], "populate") == 0)
		return populate();
	if (strcmp(argv[1], "lock") == 0)
		return lock();
	if (strcmp(argv[1], "open") == 0)
		return hold_open();
	fprintf(stderr, "store_fixture: unknown mode %s\n", argv[1]);
	return 2;
}
