/*
 * fake_store.c: TEMPORARY in-memory stand-in for the store functions that
 * forward.c and http.c call, until the store branch lands
 * store_jobs_take/settle, store_job_walk and store_ack_resolve.  Linked
 * only by tests/unit_forward_thread; because it defines every store
 * symbol those two objects need, the real store.o is never pulled from
 * libedigate.a.  Delete it (and point the test at a real store) after the
 * merge.  Semantics follow store.h as far as the forwarder relies on them.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fake_store.h"
#include "store.h"

#define FAKE_MAX	256

struct store {
	pthread_mutex_t	 mu;
	struct store_job jobs[FAKE_MAX];
	size_t		 njobs;
	struct {
		uint8_t	 id[STORE_ID_LEN];
		char	*json;
	}		 ev[FAKE_MAX];
	size_t		 nev;
	struct fake_resolve res[FAKE_MAX];
	size_t		 nres;
	uint64_t	 seq;
};

struct store_rtxn {
	struct store	*s;
};

int64_t
store_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
store_errmsg(void)
{
	return "fake store";
}

void
store_id_format(const uint8_t id[STORE_ID_LEN], char out[STORE_ID_TEXT])
{
	static const char	 hx[] = "0123456789abcdef";
	size_t			 i, o = 0;

	for (i = 0; i < STORE_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[id[i] >> 4];
		out[o++] = hx[id[i] & 15];
	}
	out[o] = '\0';
}

int
store_id_parse(const char *t, uint8_t out[STORE_ID_LEN])
{
	uint8_t	 id[STORE_ID_LEN];
	size_t	 n = 0;
	int	 v;

	memset(id, 0, sizeof(id));
	for (; *t != '\0'; t++) {
		if (*t == '-')
			continue;
		if (*t >= '0' && *t <= '9')
			v = *t - '0';
		else if (*t >= 'a' && *t <= 'f')
			v = *t - 'a' + 10;
		else
			return EG_ERR_INVAL;
		if (n >= 32)
			return EG_ERR_INVAL;
		id[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
		n++;
	}
	if (n != 32)
		return EG_ERR_INVAL;
	memcpy(out, id, STORE_ID_LEN);
	return 0;
}

struct store *
fake_store_new(void)
{
	struct store	*s = calloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	return s;
}

/* A time-ordered id: ms then a counter. */
static void
newid(struct store *s, uint8_t id[STORE_ID_LEN])
{
	uint64_t	 ms = (uint64_t)store_now(), c = ++s->seq;
	int		 i;

	memset(id, 0, STORE_ID_LEN);
	for (i = 0; i < 6; i++)
		id[i] = (uint8_t)(ms >> (40 - 8 * i));
	id[6] = 0x70;
	for (i = 0; i < 8; i++)
		id[8 + i] = (uint8_t)(c >> (56 - 8 * i));
}

void
fake_add(struct store *s, const char *json_fmt_id, const char *target,
    enum store_job_state state, uint8_t ev_out[STORE_ID_LEN])
{
	struct store_job	*j;
	char			 idt[STORE_ID_TEXT];
	const char		*at;
	int			 l;

	pthread_mutex_lock(&s->mu);
	newid(s, s->ev[s->nev].id);
	store_id_format(s->ev[s->nev].id, idt);
	/* The first "%s" of json_fmt_id is where the event id goes. */
	at = strstr(json_fmt_id, "%s");
	l = (int)strlen(json_fmt_id) + STORE_ID_TEXT;
	s->ev[s->nev].json = malloc((size_t)l);
	snprintf(s->ev[s->nev].json, (size_t)l, "%.*s%s%s",
	    (int)(at - json_fmt_id), json_fmt_id, idt, at + 2);
	j = &s->jobs[s->njobs++];
	memset(j, 0, sizeof(*j));
	newid(s, j->id);
	j->kind = STORE_JOB_FORWARD;
	j->state = state;
	memcpy(j->ref, s->ev[s->nev].id, STORE_ID_LEN);
	snprintf(j->target, sizeof(j->target), "%s", target);
	j->created = store_now();
	j->due = state == STORE_JOB_PENDING ? j->created : STORE_DUE_NEVER;
	if (ev_out != NULL)
		memcpy(ev_out, s->ev[s->nev].id, STORE_ID_LEN);
	s->nev++;
	pthread_mutex_unlock(&s->mu);
}

int
fake_job(struct store *s, const uint8_t ev[STORE_ID_LEN],
    struct store_job *out)
{
	size_t	 i;
	int	 rc = EG_ERR_NOTFOUND;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->njobs; i++)
		if (memcmp(s->jobs[i].ref, ev, STORE_ID_LEN) == 0) {
			*out = s->jobs[i];
			rc = 0;
		}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Operator release of a held job. */
void
fake_release(struct store *s, const uint8_t ev[STORE_ID_LEN])
{
	size_t	 i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->njobs; i++)
		if (memcmp(s->jobs[i].ref, ev, STORE_ID_LEN) == 0 &&
		    s->jobs[i].state == STORE_JOB_HELD) {
			s->jobs[i].state = STORE_JOB_PENDING;
			s->jobs[i].due = store_now();
		}
	pthread_mutex_unlock(&s->mu);
}

size_t
fake_resolves(struct store *s, struct fake_resolve *out, size_t max)
{
	size_t	 n;

	pthread_mutex_lock(&s->mu);
	n = s->nres < max ? s->nres : max;
	memcpy(out, s->res, n * sizeof(*out));
	pthread_mutex_unlock(&s->mu);
	return n;
}

int
store_rtxn_begin(struct store *s, struct store_rtxn **out)
{
	*out = calloc(1, sizeof(**out));
	(*out)->s = s;
	return 0;
}

void
store_rtxn_end(struct store_rtxn *rt)
{
	free(rt);
}

int
store_event_get(struct store_rtxn *rt, const uint8_t id[STORE_ID_LEN],
    struct store_event_rec *rec)
{
	struct store	*s = rt->s;
	size_t		 i;
	int		 rc = EG_ERR_NOTFOUND;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nev; i++)
		if (memcmp(s->ev[i].id, id, STORE_ID_LEN) == 0) {
			memset(rec, 0, sizeof(*rec));
			memcpy(rec->id, id, STORE_ID_LEN);
			rec->json.p = s->ev[i].json;
			rec->json.len = strlen(s->ev[i].json);
			rc = 0;
		}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_job_walk(struct store_rtxn *rt, store_job_fn fn, void *arg)
{
	struct store		*s = rt->s;
	struct store_job	 copy[FAKE_MAX];
	size_t			 i, n;
	int			 rc;

	pthread_mutex_lock(&s->mu);
	n = s->njobs;
	memcpy(copy, s->jobs, n * sizeof(copy[0]));
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++)
		if ((rc = fn(arg, &copy[i])) != 0)
			return rc;
	return 0;
}

int
store_jobs_take(struct store *s, unsigned int mask, int64_t now,
    int64_t lease_ms, struct store_job *out, size_t max, size_t *n)
{
	struct store_job	*j, *best;
	size_t			 i, k = 0;

	pthread_mutex_lock(&s->mu);
	while (k < max) {
		best = NULL;
		for (i = 0; i < s->njobs; i++) {
			j = &s->jobs[i];
			if (!(mask & (1u << j->kind)) || j->due > now ||
			    (j->state != STORE_JOB_PENDING &&
			    j->state != STORE_JOB_INFLIGHT))
				continue;
			if (best == NULL || j->due < best->due)
				best = j;
		}
		if (best == NULL)
			break;
		best->state = STORE_JOB_INFLIGHT;
		best->due = now + lease_ms;
		best->attempts++;
		if (best->first_try == 0)
			best->first_try = now;
		best->last_try = now;
		out[k++] = *best;
	}
	pthread_mutex_unlock(&s->mu);
	*n = k;
	return 0;
}

int
store_jobs_settle(struct store *s, struct store_settle *st, size_t n,
    int64_t now)
{
	struct store_job	*j;
	struct fake_resolve	*r;
	size_t			 i, k;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < n; i++) {
		st[i].rc = EG_ERR_NOTFOUND;
		for (k = 0; k < s->njobs; k++) {
			j = &s->jobs[k];
			if (memcmp(j->id, st[i].job->id, STORE_ID_LEN) != 0)
				continue;
			if (j->due != st[i].job->due ||
			    j->state != STORE_JOB_INFLIGHT)
				break;
			j->state = st[i].to;
			j->due = (st[i].to == STORE_JOB_PENDING ||
			    st[i].to == STORE_JOB_INFLIGHT) ? st[i].due :
			    STORE_DUE_NEVER;
			if (st[i].error != NULL)
				snprintf(j->error, sizeof(j->error), "%s",
				    st[i].error);
			*st[i].job = *j;
			st[i].rc = 0;
			if (st[i].res != NULL && s->nres < FAKE_MAX) {
				r = &s->res[s->nres++];
				r->state = st[i].res->state;
				snprintf(r->partner, sizeof(r->partner), "%s",
				    st[i].res->partner);
				snprintf(r->ref, sizeof(r->ref), "%s",
				    st[i].res->ref);
				snprintf(r->reason, sizeof(r->reason), "%s",
				    st[i].res->reason ? st[i].res->reason :
				    "");
				st[i].res->found = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int
store_ack_resolve(struct store *s, struct store_resolve *res)
{
	struct fake_resolve	*r;

	pthread_mutex_lock(&s->mu);
	if (s->nres < FAKE_MAX) {
		r = &s->res[s->nres++];
		r->state = res->state;
		snprintf(r->partner, sizeof(r->partner), "%s", res->partner);
		snprintf(r->ref, sizeof(r->ref), "%s", res->ref);
		snprintf(r->reason, sizeof(r->reason), "%s",
		    res->reason ? res->reason : "");
	}
	res->found = 1;
	pthread_mutex_unlock(&s->mu);
	return 0;
}
