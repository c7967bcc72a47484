/*
 * forward.c: the ERP forwarder thread (forward.h, DESIGN.md §9).  It owns
 * a libcurl multi handle with up to `connections` easy handles (reused, so
 * connections stay alive), the in-memory per-business-key order, and the
 * settling of forward jobs.  It never holds a store transaction across
 * network I/O, never decides an outcome outside forward_classify(), and
 * never aborts on what the store or the ERP hands it: an unreadable event
 * becomes a dead letter with its reason.
 *
 * One loop iteration: settle what finished (one store_jobs_settle() for
 * all of it: group commit), take due jobs into free slots, start their
 * transfers, run curl, then curl_multi_poll() until a socket is ready, a
 * second has passed (retries come due) or forward_kick() wakes it.
 *
 * In-order delivery per business key.  The store knows every job's state
 * but not the business key of its event, so the thread keeps a map
 * (tsearch tree) business key -> the ids of its undelivered events, sorted
 * (event ids are UUIDv7: arrival order), each marked "sending" when one of
 * our transfers carries it, and with the time its job is next due when
 * known.  It is filled at start by one store_job_walk() over every forward
 * job pending, inflight or held (reading each one's event for its key),
 * and afterwards from the jobs we take; an event leaves it when its job is
 * settled done or dead (dead letters do not block: the operator decides),
 * and stays while pending or held.  A job taken is sent only when no event
 * of its key is being sent and its event is the oldest undelivered one of
 * its key.  Otherwise it is released at once: settled back to pending,
 * due when its blocker can have moved (a second after a transfer, the
 * blocker's own due time, or a minute when the blocker is held or its
 * state unknown), with its error unchanged.  Nothing is held in memory
 * past a loop iteration, so a crash loses nothing and a lease never runs
 * out under a waiting job.  The map can go stale only through another
 * process (the CLI holding, releasing, killing or replaying a job): a job
 * blocked by an event in an unknown state asks for a resync, a fresh
 * walk, at most once a minute.  Limits: the walk visits every forward job
 * (done ones included) and the map holds every undelivered event's key.
 *
 * store_jobs_settle() cannot yet say "taken but not attempted": the
 * release to pending keeps the attempt store_jobs_take() counted (and its
 * first_try stamp).  See the note at release().
 */
#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "eglimits.h"
#include "err.h"
#include "failpoint.h"
#include "forward.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define FWD_TAKE_MAX		64	/* jobs per store_jobs_take() */
#define FWD_TAKE_ROUNDS		4	/* takes per iteration, when blocked */
#define FWD_IDLE_MS		1000	/* poll when idle: retries come due */
#define FWD_WAIT_MS		1000	/* behind a transfer of the same key */
#define FWD_RECHECK_MS		60000	/* behind a held or unknown job */
#define FWD_RESYNC_MS		60000	/* at most one walk a minute */
#define FWD_LEASE_EXTRA_MS	60000	/* lease = timeout + this */
#define FWD_CONNECT_MS		10000	/* connect timeout, at most */
#define FWD_DUE_UNKNOWN		INT64_MAX

/* --- the per-business-key order --- */

struct queued {
	uint8_t		 ev[STORE_ID_LEN];
	int		 sending;
	int64_t		 due;		/* FWD_DUE_UNKNOWN: held or unknown */
};

struct key {
	char		*biz;
	struct queued	*e;		/* sorted by ev */
	size_t		 n, cap;
};

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct key *)a)->biz,
	    ((const struct key *)b)->biz);
}

static void
key_free(void *p)
{
	struct key	*k = p;

	free(k->e);
	free(k->biz);
	free(k);
}

static struct key *
key_get(void **root, const char *biz, int create)
{
	struct key	 probe, *k, **kp;

	probe.biz = (char *)biz;
	if ((kp = tfind(&probe, root, key_cmp)) != NULL)
		return *kp;
	if (!create)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->biz = xstrdup(biz);
	if (tsearch(k, root, key_cmp) == NULL)
		fatalx("forward: tsearch: out of memory");
	return k;
}

/* Index of ev in k, or where it would go (*found 0). */
static size_t
entry_pos(const struct key *k, const uint8_t ev[STORE_ID_LEN], int *found)
{
	size_t	 lo = 0, hi = k->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(k->e[mid].ev, ev, STORE_ID_LEN);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct queued *
entry_add(struct key *k, const uint8_t ev[STORE_ID_LEN], int64_t due)
{
	size_t	 i;
	int	 found;

	i = entry_pos(k, ev, &found);
	if (found)
		return &k->e[i];
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 4;
		k->e = xreallocarray(k->e, k->cap, sizeof(*k->e));
	}
	memmove(&k->e[i + 1], &k->e[i], (k->n - i) * sizeof(*k->e));
	k->n++;
	memset(&k->e[i], 0, sizeof(k->e[i]));
	memcpy(k->e[i].ev, ev, STORE_ID_LEN);
	k->e[i].due = due;
	return &k->e[i];
}

/* Forget ev of key biz; the key goes with its last event. */
static void
entry_del(void **root, const char *biz, const uint8_t ev[STORE_ID_LEN])
{
	struct key	*k;
	size_t		 i;
	int		 found;

	if (biz == NULL || (k = key_get(root, biz, 0)) == NULL)
		return;
	i = entry_pos(k, ev, &found);
	if (found) {
		memmove(&k->e[i], &k->e[i + 1], (k->n - i - 1) *
		    sizeof(*k->e));
		k->n--;
	}
	if (k->n == 0) {
		tdelete(k, root, key_cmp);
		key_free(k);
	}
}

/* --- the forwarder --- */

struct xfer {
	CURL		*easy;
	int		 busy;
	struct store_job job;
	char		*json;
	size_t		 jsonlen;
	char		*biz;		/* NULL: no business key */
	char		 evid[STORE_ID_TEXT];
	char		 partner[STORE_FIELD];
	char		 type[STORE_FIELD];
	struct curl_slist *hdrs;
	struct buf	 resp;
	int		 truncated;
	char		 retry_after[64];
	char		 errbuf[CURL_ERROR_SIZE];
	int64_t		 started;
};

/* One job's settlement, with what it points at. */
struct outcome {
	struct store_job job;
	enum store_job_state to;
	int64_t		 due;
	int		 has_error;
	char		 error[EG_MAX_STORE_ERROR + 1];
	int		 has_res;
	struct store_resolve res;
	char		 partner[STORE_FIELD];
	char		 ref[STORE_ID_TEXT];
	char		 reason[EG_MAX_STORE_ERROR + 1];
	/* after the commit: the order map and the log */
	char		*biz;
	int		 sending;	/* it was a transfer of ours */
	enum { O_OK, O_RETRY, O_DEAD, O_WAIT } what;
	char		 log[1024 + EG_MAX_STORE_ERROR];
};

struct forwarder {
	struct store	*store;
	struct forward_conf conf;	/* strings owned */
	char		 target[EG_MAX_STORE_TARGET + 1];
	CURLM		*multi;
	struct xfer	*x;
	size_t		 nx, nbusy;
	struct outcome	*o;
	size_t		 no, maxo;
	struct store_job *taken;
	void		*keys;		/* tsearch root of struct key */
	int		 resync;	/* a job waits on an unknown state */
	int64_t		 last_sync;
	uint64_t	 rnd;
	pthread_t	 thread;
	atomic_int	 stopping;
	atomic_llong	 drain_until;
	atomic_ullong	 delivered, retried, dead, inflight;
};

static pthread_once_t	 curl_once = PTHREAD_ONCE_INIT;
static CURLcode		 curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint32_t
rnd32(struct forwarder *f)
{
	/* xorshift64*: jitter only, not a secret. */
	f->rnd ^= f->rnd >> 12;
	f->rnd ^= f->rnd << 25;
	f->rnd ^= f->rnd >> 27;
	return (uint32_t)((f->rnd * UINT64_C(2685821657736338717)) >> 32);
}

static char *
dupconf(const char *s, int secret)
{
	char	*p;
	size_t	 l;

	if (s == NULL)
		return NULL;
	p = xstrdup(s);
	/* Secrets come from files: their final newline is no part of them. */
	if (secret)
		for (l = strlen(p); l > 0 && (p[l - 1] == '\n' ||
		    p[l - 1] == '\r' || p[l - 1] == ' '); l--)
			p[l - 1] = '\0';
	return p;
}

static void
freesecret(const char *s)
{
	if (s != NULL)
		freezero((char *)s, strlen(s));
}

static void
conf_free(struct forward_conf *c)
{
	free((char *)c->url);
	free((char *)c->auth);
	freesecret(c->token);
	free((char *)c->user);
	freesecret(c->password);
	free((char *)c->client_cert);
	free((char *)c->client_key);
	free((char *)c->ca_file);
	free((char *)c->reference);
	free((char *)c->target);
}

/* --- curl callbacks --- */

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, room;

	/* Keep the head of a long answer; the rest is read and dropped. */
	room = x->resp.max - x->resp.len;
	if (n > room)
		x->truncated = 1;
	if (room > 0)
		(void)buf_add(&x->resp, p, n < room ? n : room);
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, l;
	const char	 name[] = "Retry-After:";

	/* A new status line (100 Continue, then the final one) resets. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		x->retry_after[0] = '\0';
	else if (n > sizeof(name) - 1 &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		p += sizeof(name) - 1;
		l = n - (sizeof(name) - 1);
		while (l > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			l--;
		}
		while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == '\n' ||
		    p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l >= sizeof(x->retry_after))
			l = sizeof(x->retry_after) - 1;	/* malformed anyway */
		memcpy(x->retry_after, p, l);
		x->retry_after[l] = '\0';
	}
	return n;
}

/* Options that stay the same for every request of a slot. */
static int
xfer_init(struct forwarder *f, struct xfer *x)
{
	const struct forward_conf *c = &f->conf;
	CURL		*e;
	int64_t		 cto;
	CURLcode	 rc = CURLE_OK;

	if ((e = curl_easy_init()) == NULL)
		return EG_ERR_NOMEM;
	x->easy = e;
	buf_init(&x->resp, EG_MAX_ERP_RESPONSE);
	cto = c->timeout_ms > 0 && c->timeout_ms < FWD_CONNECT_MS ?
	    c->timeout_ms : FWD_CONNECT_MS;
#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)
	SET(CURLOPT_URL, c->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_TIMEOUT_MS, (long)(c->timeout_ms > 0 ? c->timeout_ms : 0));
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_PRIVATE, x);
	if (c->auth != NULL && strcmp(c->auth, "basic") == 0) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, c->user ? c->user : "");
		SET(CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	if (c->client_cert != NULL)
		SET(CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key != NULL)
		SET(CURLOPT_SSLKEY, c->client_key);
	if (c->ca_file != NULL)
		SET(CURLOPT_CAINFO, c->ca_file);
#undef SET
	if (rc != CURLE_OK) {
		log_warnx("forward: curl option: %s", curl_easy_strerror(rc));
		return EG_ERR_INVAL;
	}
	return 0;
}

static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist	*p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void
xfer_clear(struct xfer *x)
{
	slist_wipe_free(x->hdrs);
	x->hdrs = NULL;
	free(x->json);
	x->json = NULL;
	free(x->biz);
	x->biz = NULL;
	buf_reset(&x->resp);
	x->truncated = 0;
	x->retry_after[0] = '\0';
	x->errbuf[0] = '\0';
	x->busy = 0;
}

/* --- settling --- */

static struct outcome *
outcome_new(struct forwarder *f, const struct store_job *job,
    const char *biz);

static void
settle(struct forwarder *f)
{
	struct store_settle	*st;
	struct outcome		*o;
	struct key		*k;
	struct queued		*en;
	size_t			 i;
	int64_t			 now = store_now();
	int			 rc;

	if (f->no == 0)
		return;
	st = xcalloc(f->no, sizeof(*st));
	for (i = 0; i < f->no; i++) {
		o = &f->o[i];
		st[i].job = &o->job;
		st[i].to = o->to;
		st[i].due = o->due;
		st[i].error = o->has_error ? o->error : NULL;
		st[i].res = o->has_res ? &o->res : NULL;
	}
	/* delivered, not yet recorded: a crash here sends again */
	FAILPOINT("forward-before-settle");
	if ((rc = store_jobs_settle(f->store, st, f->no, now)) != 0)
		log_warnx("forward: settling %zu jobs failed, they are taken "
		    "again when their lease ends: %s", f->no, store_errmsg());
	for (i = 0; i < f->no; i++) {
		o = &f->o[i];
		if (rc == 0 && st[i].rc != 0) {
			log_warnx("forward: settle job failed event=%s: %s",
			    o->ref, eg_strerror(st[i].rc));
		} else if (rc == 0) {
			log_info("%s", o->log);
			if (o->what == O_OK)
				atomic_fetch_add(&f->delivered, 1);
			else if (o->what == O_RETRY)
				atomic_fetch_add(&f->retried, 1);
			else if (o->what == O_DEAD)
				atomic_fetch_add(&f->dead, 1);
		}
		if (o->biz == NULL)
			goto next;
		if (rc == 0 && st[i].rc == 0 &&
		    (o->what == O_OK || o->what == O_DEAD)) {
			entry_del(&f->keys, o->biz, o->job.ref);
			goto next;
		}
		/*
		 * Still undelivered: pending at its new due, or (settle
		 * failed) inflight in the store until its lease ends.
		 */
		if ((k = key_get(&f->keys, o->biz, 1)) != NULL) {
			en = entry_add(k, o->job.ref, FWD_DUE_UNKNOWN);
			if (o->sending)
				en->sending = 0;
			en->due = (rc == 0 && st[i].rc == 0) ? o->due :
			    o->job.due;
		}
 next:
		free(o->biz);
		o->biz = NULL;
	}
	free(st);
	f->no = 0;
}

static struct outcome *
outcome_new(struct forwarder *f, const struct store_job *job,
    const char *biz)
{
	struct outcome	*o;

	if (f->no == f->maxo)
		settle(f);
	o = &f->o[f->no++];
	memset(o, 0, sizeof(*o));
	o->job = *job;
	store_id_format(job->ref, o->ref);
	o->biz = biz ? xstrdup(biz) : NULL;
	return o;
}

/* A failure: retry with backoff, or dead after max_age. */
static void
outcome_fail(struct forwarder *f, struct outcome *o, int permanent,
    const char *desc, int64_t retry_after_ms, int64_t now,
    const char *logfields)
{
	int64_t	 delay;

	if (!permanent && f->conf.max_age_ms > 0 && o->job.first_try > 0 &&
	    now - o->job.first_try > f->conf.max_age_ms) {
		permanent = 1;
		snprintf(o->error, sizeof(o->error),
		    "expired after max_age: %s", desc);
	} else
		snprintf(o->error, sizeof(o->error), "%s", desc);
	o->has_error = 1;
	if (permanent) {
		o->to = STORE_JOB_DEAD;
		o->due = STORE_DUE_NEVER;
		o->what = O_DEAD;
		snprintf(o->log, sizeof(o->log), "forward: dead event=%s %s "
		    "attempt=%" PRIu32 " error=%s", o->ref, logfields,
		    o->job.attempts, o->error);
		return;
	}
	delay = forward_backoff(&f->conf, o->job.first_try, now,
	    retry_after_ms, rnd32(f));
	o->to = STORE_JOB_PENDING;
	o->due = now + delay;
	o->what = O_RETRY;
	snprintf(o->log, sizeof(o->log), "forward: retry event=%s %s "
	    "attempt=%" PRIu32 " delay=%" PRId64 "s error=%s", o->ref,
	    logfields, o->job.attempts, (delay + 999) / 1000, o->error);
}

/*
 * Back to pending without a transfer: its business key is blocked.
 *
 * Store API tweak wanted: a flag in struct store_settle (say
 * `int unattempted`) meaning "inflight -> pending, the job was not
 * attempted": attempts - 1, first_try back to 0 when attempts becomes 0,
 * last_try and error kept.  Without it each release counts an attempt.
 */
static void
release(struct forwarder *f, const struct store_job *job, const char *biz,
    int64_t due, const char *why)
{
	struct outcome	*o;

	o = outcome_new(f, job, biz);
	o->to = STORE_JOB_PENDING;
	o->due = due;
	o->what = O_WAIT;
	snprintf(o->log, sizeof(o->log), "forward: wait event=%s "
	    "businesskey=%s delay=%" PRId64 "s %s", o->ref, biz ? biz : "",
	    (due - store_now() + 999) / 1000, why);
}

/* --- the order map --- */

/* Is the event of a job just taken free to go?  0, or its due if not. */
static int64_t
blocked(struct forwarder *f, const char *biz, const uint8_t ev[STORE_ID_LEN],
    int64_t now, char *why, size_t whysz)
{
	struct key	*k;
	char		 other[STORE_ID_TEXT];
	size_t		 i;

	k = key_get(&f->keys, biz, 1);
	(void)entry_add(k, ev, FWD_DUE_UNKNOWN);
	for (i = 0; i < k->n; i++)
		if (k->e[i].sending) {
			store_id_format(k->e[i].ev, other);
			snprintf(why, whysz, "sending=%s", other);
			return now + FWD_WAIT_MS;
		}
	if (memcmp(k->e[0].ev, ev, STORE_ID_LEN) == 0) {
		k->e[0].sending = 1;
		return 0;
	}
	store_id_format(k->e[0].ev, other);
	snprintf(why, whysz, "after=%s", other);
	if (k->e[0].due == FWD_DUE_UNKNOWN) {
		f->resync = 1;
		return now + FWD_RECHECK_MS;
	}
	/* Long overdue: its state changed behind our back (e.g. killed). */
	if (k->e[0].due < now - FWD_RESYNC_MS)
		f->resync = 1;
	return (k->e[0].due > now ? k->e[0].due : now) + FWD_WAIT_MS;
}

/* The string attribute name of a CloudEvent, or NULL. */
static const char *
attr(json_t *ev, const char *name)
{
	return json_string_value(json_object_get(ev, name));
}

struct walk {
	struct forwarder *f;
	struct store_rtxn *rt;
	void		*keys;
	size_t		 n;
};

static int
walk_job(void *arg, const struct store_job *j)
{
	struct walk		*w = arg;
	struct store_event_rec	 rec;
	json_t			*ev;
	json_error_t		 jerr;
	const char		*biz;
	int64_t			 due;

	if (j->kind != STORE_JOB_FORWARD ||
	    strcmp(j->target, w->f->target) != 0)
		return 0;
	switch (j->state) {
	case STORE_JOB_PENDING:
	case STORE_JOB_INFLIGHT:
		due = j->due;
		break;
	case STORE_JOB_HELD:
		due = FWD_DUE_UNKNOWN;
		break;
	default:
		return 0;
	}
	/* An unreadable event is dead-lettered when its job is taken. */
	if (store_event_get(w->rt, j->ref, &rec) != 0)
		return 0;
	if ((ev = json_loadb(rec.json.p, rec.json.len, 0, &jerr)) == NULL)
		return 0;
	if ((biz = attr(ev, "businesskey")) != NULL) {
		entry_add(key_get(&w->keys, biz, 1), j->ref, due);
		w->n++;
	}
	json_decref(ev);
	return 0;
}

/* Learn every undelivered forward job's business key from the store. */
static int
resync(struct forwarder *f)
{
	struct walk	 w;
	struct xfer	*x;
	size_t		 i;
	int		 rc;

	memset(&w, 0, sizeof(w));
	w.f = f;
	if ((rc = store_rtxn_begin(f->store, &w.rt)) != 0) {
		log_warnx("forward: resync: %s", store_errmsg());
		return rc;
	}
	rc = store_job_walk(w.rt, walk_job, &w);
	store_rtxn_end(w.rt);
	if (rc != 0) {
		log_warnx("forward: resync: %s", store_errmsg());
		tdestroy(w.keys, key_free);
		return rc;
	}
	for (i = 0; i < f->nx; i++) {
		x = &f->x[i];
		if (x->busy && x->biz != NULL)
			entry_add(key_get(&w.keys, x->biz, 1), x->job.ref,
			    x->job.due)->sending = 1;
	}
	tdestroy(f->keys, key_free);
	f->keys = w.keys;
	f->resync = 0;
	f->last_sync = store_now();
	log_debug("forward: resync events=%zu", w.n);
	return 0;
}

/* --- taking and starting --- */

static int
cmp_ref(const void *a, const void *b)
{
	return memcmp(((const struct store_job *)a)->ref,
	    ((const struct store_job *)b)->ref, STORE_ID_LEN);
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Read the job's event into slot x (the JSON copied before the read
 * transaction ends).  0; or a negative code with the reason in why and
 * *permanent set when no retry can help.
 */
static int
load_event(struct forwarder *f, struct xfer *x, char *why, size_t whysz,
    int *permanent)
{
	struct store_rtxn	*rt;
	struct store_event_rec	 rec;
	json_t			*ev;
	json_error_t		 jerr;
	const char		*idem, *biz, *s;
	char			*h;
	int			 rc;

	*permanent = 0;
	if ((rc = store_rtxn_begin(f->store, &rt)) != 0) {
		snprintf(why, whysz, "store: %s", store_errmsg());
		return rc;
	}
	rc = store_event_get(rt, x->job.ref, &rec);
	if (rc == 0) {
		x->json = xmalloc(rec.json.len + 1);
		memcpy(x->json, rec.json.p, rec.json.len);
		x->json[rec.json.len] = '\0';
		x->jsonlen = rec.json.len;
	} else
		snprintf(why, whysz, "%s: %s", rc == EG_ERR_NOTFOUND ?
		    "event not found" : "event unreadable", store_errmsg());
	store_rtxn_end(rt);
	if (rc != 0) {
		*permanent = rc == EG_ERR_NOTFOUND || rc == EG_ERR_SYNTAX;
		return rc;
	}
	*permanent = 1;
	if ((ev = json_loadb(x->json, x->jsonlen, 0, &jerr)) == NULL) {
		snprintf(why, whysz, "event is not JSON: %s", jerr.text);
		return EG_ERR_SYNTAX;
	}
	if (!json_is_object(ev)) {
		snprintf(why, whysz, "event is not a JSON object");
		json_decref(ev);
		return EG_ERR_SYNTAX;
	}
	idem = attr(ev, "idempotencykey");
	if (idem == NULL || *idem == '\0' || has_ctl(idem) ||
	    strlen(idem) > EG_MAX_STORE_KEYTEXT) {
		snprintf(why, whysz, "event has no usable idempotencykey");
		json_decref(ev);
		return EG_ERR_SYNTAX;
	}
	if ((biz = attr(ev, "businesskey")) != NULL && *biz != '\0')
		x->biz = xstrdup(biz);
	s = attr(ev, "partner");
	snprintf(x->partner, sizeof(x->partner), "%s", s ? s : "");
	s = attr(ev, "type");
	snprintf(x->type, sizeof(x->type), "%s", s ? s : "");
	xasprintf(&h, "Idempotency-Key: %s", idem);
	json_decref(ev);
	x->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/cloudevents+json");
	x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json");
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");	/* no 100 wait */
	x->hdrs = curl_slist_append(x->hdrs, h);
	free(h);
	if (f->conf.auth != NULL && strcmp(f->conf.auth, "bearer") == 0) {
		xasprintf(&h, "Authorization: Bearer %s",
		    f->conf.token ? f->conf.token : "");
		x->hdrs = curl_slist_append(x->hdrs, h);
		freezero(h, strlen(h));
	}
	if (x->hdrs == NULL)
		fatalx("forward: curl_slist_append: out of memory");
	return 0;
}

static struct xfer *
free_slot(struct forwarder *f)
{
	size_t	 i;

	for (i = 0; i < f->nx; i++)
		if (!f->x[i].busy)
			return &f->x[i];
	return NULL;
}

/* A job taken: start it, release it (blocked) or dead-letter it. */
static void
start(struct forwarder *f, const struct store_job *job, int64_t now)
{
	struct xfer	*x;
	struct outcome	*o;
	char		 why[EG_MAX_STORE_ERROR], lf[2 * STORE_FIELD + 32];
	int64_t		 due;
	size_t		 i;
	int		 permanent, rc;
	CURLMcode	 mc;

	/* Its lease ran out under a transfer of ours: keep the new record. */
	for (i = 0; i < f->nx; i++)
		if (f->x[i].busy && memcmp(f->x[i].job.id, job->id,
		    STORE_ID_LEN) == 0) {
			f->x[i].job = *job;
			return;
		}
	if ((x = free_slot(f)) == NULL) {	/* the take asked for no more */
		release(f, job, NULL, now + FWD_WAIT_MS, "no free slot");
		return;
	}
	x->job = *job;
	x->started = now;
	if (strcmp(job->target, f->target) != 0) {
		o = outcome_new(f, job, NULL);
		snprintf(why, sizeof(why), "no destination named %s "
		    "(configured: %s)", job->target, f->target);
		outcome_fail(f, o, 0, why, -1, now, "");
		return;
	}
	if ((rc = load_event(f, x, why, sizeof(why), &permanent)) != 0) {
		o = outcome_new(f, job, NULL);
		outcome_fail(f, o, permanent, why, -1, now, "");
		xfer_clear(x);
		/* Its key is unknown: the order map learns its fate anew. */
		f->resync = 1;
		return;
	}
	store_id_format(job->ref, x->evid);
	if (x->biz != NULL &&
	    (due = blocked(f, x->biz, job->ref, now, why, sizeof(why))) != 0) {
		release(f, job, x->biz, due, why);
		xfer_clear(x);
		return;
	}
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->json);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)x->jsonlen);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	if ((mc = curl_multi_add_handle(f->multi, x->easy)) != CURLM_OK) {
		o = outcome_new(f, job, x->biz);
		snprintf(lf, sizeof(lf), "partner=%s type=%s", x->partner,
		    x->type);
		snprintf(why, sizeof(why), "curl: %s", curl_multi_strerror(mc));
		outcome_fail(f, o, 0, why, -1, now, lf);
		o->sending = 1;
		xfer_clear(x);
		return;
	}
	x->busy = 1;
	f->nbusy++;
	atomic_store(&f->inflight, f->nbusy);
	log_debug("forward: send event=%s partner=%s type=%s attempt=%" PRIu32,
	    x->evid, x->partner, x->type, job->attempts);
}

/* Take due jobs into free slots; returns how many were taken. */
static size_t
take(struct forwarder *f)
{
	size_t	 want, n, i, round, took = 0;
	int64_t	 now;

	for (round = 0; round < FWD_TAKE_ROUNDS; round++) {
		want = f->nx - f->nbusy;
		if (want > FWD_TAKE_MAX)
			want = FWD_TAKE_MAX;
		if (want == 0)
			return took;
		now = store_now();
		if (store_jobs_take(f->store, 1u << STORE_JOB_FORWARD, now,
		    f->conf.timeout_ms + FWD_LEASE_EXTRA_MS, f->taken, want,
		    &n) != 0) {
			log_warnx("forward: taking jobs: %s", store_errmsg());
			return took;
		}
		took += n;
		/* Oldest event first, so a key's order holds in a batch. */
		qsort(f->taken, n, sizeof(*f->taken), cmp_ref);
		for (i = 0; i < n; i++)
			start(f, &f->taken[i], now);
		if (n < want)
			return took;
	}
	return took;
}

/* A transfer finished: its outcome. */
static void
finish(struct forwarder *f, struct xfer *x, CURLcode cc)
{
	struct outcome		*o;
	enum forward_outcome	 out;
	long			 status = 0;
	int64_t			 now = store_now(), ra = -1;
	char			 desc[EG_MAX_STORE_ERROR], cerr[CURL_ERROR_SIZE + 64];
	char			 lf[3 * STORE_FIELD + 64], ref[STORE_FIELD];

	curl_multi_remove_handle(f->multi, x->easy);
	f->nbusy--;
	atomic_store(&f->inflight, f->nbusy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	out = forward_classify((int)cc, status);
	o = outcome_new(f, &x->job, x->biz);
	o->sending = 1;
	snprintf(lf, sizeof(lf), "partner=%s type=%s", x->partner, x->type);
	if (cc != CURLE_OK) {
		if (x->errbuf[0] != '\0')
			snprintf(cerr, sizeof(cerr), "%s (%s)",
			    curl_easy_strerror(cc), x->errbuf);
		else
			snprintf(cerr, sizeof(cerr), "%s",
			    curl_easy_strerror(cc));
		forward_describe(cerr, 0, NULL, 0, desc, sizeof(desc));
	} else
		forward_describe(NULL, status, x->resp.p, x->resp.len, desc,
		    sizeof(desc));
	if (x->retry_after[0] != '\0')
		ra = forward_retry_after(x->retry_after, now);

	snprintf(o->partner, sizeof(o->partner), "%s", x->partner);
	o->res.kind = STORE_ACK_ERP;
	o->res.partner = o->partner;
	o->res.ref = o->ref;
	switch (out) {
	case FORWARD_OK:
		o->to = STORE_JOB_DONE;
		o->due = STORE_DUE_NEVER;
		o->what = O_OK;
		ref[0] = '\0';
		if (f->conf.reference != NULL && forward_reference(x->resp.p,
		    x->resp.len, f->conf.reference, ref, sizeof(ref)) == 0)
			snprintf(o->reason, sizeof(o->reason), "erp ref %s",
			    ref);
		if (!f->conf.async_ack) {
			o->has_res = 1;
			o->res.state = STORE_ACK_ACCEPTED;
			o->res.reason = o->reason[0] ? o->reason : NULL;
		}
		snprintf(o->log, sizeof(o->log), "forward: ok event=%s %s "
		    "attempt=%" PRIu32 " status=%ld%s%s time=%" PRId64 "ms",
		    o->ref, lf, o->job.attempts, status, ref[0] ? " ref=" : "",
		    ref, now - x->started);
		break;
	case FORWARD_TEMPFAIL:
		outcome_fail(f, o, 0, desc, ra, now, lf);
		break;
	case FORWARD_PERMFAIL:
		outcome_fail(f, o, 1, desc, -1, now, lf);
		o->has_res = 1;
		o->res.state = STORE_ACK_REJECTED;
		snprintf(o->reason, sizeof(o->reason), "%s", desc);
		o->res.reason = o->reason;
		break;
	}
	xfer_clear(x);
}

static void
collect(struct forwarder *f)
{
	CURLMsg		*m;
	struct xfer	*x;
	char		*p;
	int		 left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		x = (struct xfer *)p;
		if (x != NULL && x->busy)
			finish(f, x, m->data.result);
	}
}

static void *
run(void *arg)
{
	struct forwarder	*f = arg;
	struct xfer		*x;
	int			 running, draining = 0;
	size_t			 i, took;
	int64_t			 now;
	CURLMcode		 mc;

	if (resync(f) != 0)
		f->resync = 1;
	for (;;) {
		if (atomic_load(&f->stopping) && !draining) {
			draining = 1;
			log_info("forward: draining inflight=%zu", f->nbusy);
		}
		mc = curl_multi_perform(f->multi, &running);
		if (mc != CURLM_OK)
			log_warnx("forward: curl: %s", curl_multi_strerror(mc));
		collect(f);
		settle(f);
		now = store_now();
		if (draining) {
			if (f->nbusy == 0 ||
			    now >= atomic_load(&f->drain_until))
				break;
		} else {
			if (f->resync && now - f->last_sync >= FWD_RESYNC_MS)
				(void)resync(f);
			took = take(f);
			settle(f);		/* releases and dead letters */
			if (f->nbusy > 0) {
				/* Started transfers: get them going. */
				mc = curl_multi_perform(f->multi, &running);
				collect(f);
				settle(f);
			}
			/*
			 * Jobs were taken and every transfer is done already
			 * (a fast receiver answers within that perform): more
			 * may be due, so look again rather than sleep on
			 * sockets that carry nothing.
			 */
			if (took > 0 && f->nbusy == 0)
				continue;
		}
		curl_multi_poll(f->multi, NULL, 0, FWD_IDLE_MS, NULL);
	}
	for (i = 0; i < f->nx; i++) {
		x = &f->x[i];
		if (!x->busy)
			continue;
		log_warnx("forward: abandoned event=%s partner=%s type=%s "
		    "attempt=%" PRIu32 ": taken again when its lease ends",
		    x->evid, x->partner, x->type, x->job.attempts);
		curl_multi_remove_handle(f->multi, x->easy);
		xfer_clear(x);
	}
	f->nbusy = 0;
	atomic_store(&f->inflight, 0);
	return NULL;
}

/* --- the API --- */

static void
forward_free(struct forwarder *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nx; i++) {
		if (f->x[i].easy != NULL) {
			xfer_clear(&f->x[i]);
			curl_easy_cleanup(f->x[i].easy);
		}
		buf_free(&f->x[i].resp);
	}
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	tdestroy(f->keys, key_free);
	free(f->x);
	free(f->o);
	free(f->taken);
	conf_free(&f->conf);
	free(f);
}

int
forward_start(struct store *s, const struct forward_conf *c,
    struct forwarder **out)
{
	struct forwarder	*f;
	const char		*target;
	size_t			 i;
	int			 rc;

	if (c->url == NULL || c->connections == 0 || c->connections > 1024)
		return EG_ERR_INVAL;
	if (c->auth != NULL && strcmp(c->auth, "bearer") != 0 &&
	    strcmp(c->auth, "basic") != 0 && strcmp(c->auth, "none") != 0)
		return EG_ERR_INVAL;
	target = c->target != NULL ? c->target : "erp";
	if (strlen(target) > EG_MAX_STORE_TARGET)
		return EG_ERR_INVAL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		log_warnx("forward: curl_global_init: %s",
		    curl_easy_strerror(curl_init_rc));
		return EG_ERR_INTERNAL;
	}

	f = xcalloc(1, sizeof(*f));
	f->store = s;
	f->conf = *c;
	f->conf.url = dupconf(c->url, 0);
	f->conf.auth = dupconf(c->auth, 0);
	f->conf.token = dupconf(c->token, 1);
	f->conf.user = dupconf(c->user, 0);
	f->conf.password = dupconf(c->password, 1);
	f->conf.client_cert = dupconf(c->client_cert, 0);
	f->conf.client_key = dupconf(c->client_key, 0);
	f->conf.ca_file = dupconf(c->ca_file, 0);
	f->conf.reference = dupconf(c->reference, 0);
	f->conf.target = dupconf(target, 0);
	snprintf(f->target, sizeof(f->target), "%s", target);
	f->rnd = (uint64_t)store_now() ^ ((uint64_t)(uintptr_t)f << 16) ^
	    UINT64_C(0x9e3779b97f4a7c15);
	f->nx = c->connections;
	f->x = xcalloc(f->nx, sizeof(*f->x));
	f->maxo = f->nx + FWD_TAKE_MAX;
	f->o = xcalloc(f->maxo, sizeof(*f->o));
	f->taken = xcalloc(FWD_TAKE_MAX, sizeof(*f->taken));
	if ((f->multi = curl_multi_init()) == NULL) {
		forward_free(f);
		return EG_ERR_NOMEM;
	}
	curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)f->nx);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)f->nx);
	for (i = 0; i < f->nx; i++)
		if ((rc = xfer_init(f, &f->x[i])) != 0) {
			forward_free(f);
			return rc;
		}
	if ((rc = pthread_create(&f->thread, NULL, run, f)) != 0) {
		log_warnx("forward: pthread_create: %s", strerror(rc));
		forward_free(f);
		return EG_ERR_INTERNAL;
	}
	log_info("forward: started url=%s connections=%u target=%s",
	    f->conf.url, c->connections, f->target);
	*out = f;
	return 0;
}

void
forward_kick(struct forwarder *f)
{
	if (f != NULL)
		curl_multi_wakeup(f->multi);
}

void
forward_stop(struct forwarder *f, int64_t drain_ms)
{
	if (f == NULL)
		return;
	atomic_store(&f->drain_until, store_now() + (drain_ms > 0 ?
	    drain_ms : 0));
	atomic_store(&f->stopping, 1);
	curl_multi_wakeup(f->multi);
	pthread_join(f->thread, NULL);
	log_info("forward: stopped delivered=%llu retried=%llu dead=%llu",
	    (unsigned long long)atomic_load(&f->delivered),
	    (unsigned long long)atomic_load(&f->retried),
	    (unsigned long long)atomic_load(&f->dead));
	forward_free(f);
}

void
forward_stats(struct forwarder *f, struct forward_stats *st)
{
	st->delivered = atomic_load(&f->delivered);
	st->retried = atomic_load(&f->retried);
	st->dead = atomic_load(&f->dead);
	st->inflight = atomic_load(&f->inflight);
}
