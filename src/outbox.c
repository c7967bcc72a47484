/*
 * outbox.c: delivers outbound documents (functional acknowledgements now)
 * whose send job names a dir target, "dir:PARTNER": written to the
 * partner's [dir] outbox as .NAME.tmp, fsync'd, renamed to NAME and the
 * folder fsync'd, then the job is done.  A crash between the rename and
 * the job's settlement writes the same file again under the same name.
 * Failures are retried with a delay doubling from 1 s to 5 min.  Jobs of
 * target "sftp:PARTNER" are handed to that partner's SFTP poller
 * (sftp_submit()), which uploads and settles them itself.
 *
 * Targets "as2:PARTNER" (a document to send over AS2) and "as2-mdn:PARTNER"
 * (an asynchronous MDN we owe, the job's ref being the received document)
 * go to AS2 worker threads that send through as2.c and settle; a
 * synchronous MDN's outcome resolves the MDN expectation in the same
 * transaction as the job's settlement.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "as2.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "failpoint.h"
#include "gateway.h"
#include "log.h"
#include "sftp.h"
#include "store.h"
#include "xmalloc.h"

#define OUT_BATCH	64
#define OUT_LEASE_MS	(5 * 60 * 1000)	/* an AS2 POST may take 2 min */
#define AS2_WORKERS	4		/* AS2 sends at once */
#define AS2_QUEUE	256
#define OUT_IDLE_MS	1000

static struct {
	struct gateway	*gw;
	pthread_t	 tid;
	int		 running;
} ob;

/* Write data to dir/name atomically.  0, or -1 with errno set. */
static int
write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char	 tmp[EG_MAX_PATH], dst[EG_MAX_PATH];
	size_t	 off = 0;
	ssize_t	 w;
	int	 fd, dfd, save;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
	    sizeof(tmp) || (size_t)snprintf(dst, sizeof(dst), "%s/%s", dir,
	    name) >= sizeof(dst)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		return -1;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	save = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = save;
	return -1;
}

/* The outbox of partner, copied under the lock; NULL when none. */
static char *
outbox_of(const char *partner)
{
	const struct partner *p;
	char	*dir = NULL;

	pthread_rwlock_rdlock(&ob.gw->lock);
	if ((p = conf_partner(ob.gw->conf, partner)) != NULL &&
	    p->outbox != NULL)
		dir = xstrdup(p->outbox);
	pthread_rwlock_unlock(&ob.gw->lock);
	return dir;
}

/*
 * AS2 sends (a POST and its synchronous MDN may take minutes) run on
 * threads of their own, fed by this queue, so a slow partner delays
 * neither the folder and SFTP deliveries nor the other AS2 partners.
 * Each worker settles the jobs it sends.  Jobs still queued at shutdown
 * stay inflight in the store and are due again at the next start.
 */
static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct store_job q[AS2_QUEUE];
	size_t		 head, n;
	pthread_t	 tid[AS2_WORKERS];
	int		 nt, stop;
} aq;

static int
as2_target(const char *t)
{
	return strncmp(t, "as2:", 4) == 0 || strncmp(t, "as2-mdn:", 8) == 0;
}

/* 0 when queued, -1 when the queue is full (the job is retried). */
static int
as2_submit(const struct store_job *j)
{
	int	 rc = -1;

	pthread_mutex_lock(&aq.mu);
	if (aq.n < AS2_QUEUE && !aq.stop) {
		aq.q[(aq.head + aq.n) % AS2_QUEUE] = *j;
		aq.n++;
		pthread_cond_signal(&aq.cv);
		rc = 0;
	}
	pthread_mutex_unlock(&aq.mu);
	return rc;
}

static int deliver_as2(struct store_job *, struct store_settle *,
    struct store_resolve *, struct as2_sent *, char *, size_t);

static void *
as2_worker(void *arg)
{
	struct store_job	 j;
	struct store_settle	 se;
	struct store_resolve	 res;
	struct as2_sent		 sent;
	char			 err[EG_MAX_STORE_ERROR + 1];

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&aq.mu);
		while (aq.n == 0 && !aq.stop)
			pthread_cond_wait(&aq.cv, &aq.mu);
		if (aq.stop) {
			pthread_mutex_unlock(&aq.mu);
			break;
		}
		j = aq.q[aq.head];
		aq.head = (aq.head + 1) % AS2_QUEUE;
		aq.n--;
		pthread_mutex_unlock(&aq.mu);
		memset(&se, 0, sizeof(se));
		memset(&sent, 0, sizeof(sent));
		err[0] = '\0';
		se.job = &j;
		se.to = STORE_JOB_DONE;
		se.due = STORE_DUE_NEVER;
		(void)deliver_as2(&j, &se, &res, &sent, err, sizeof(err));
		if (store_jobs_settle(ob.gw->store, &se, 1, store_now()) != 0)
			log_warnx("outbox: settling an AS2 job: %s",
			    store_errmsg());
	}
	return NULL;
}

/* The AS2 targets; 1 when j is one (se filled). */
static int
deliver_as2(struct store_job *j, struct store_settle *se,
    struct store_resolve *res, struct as2_sent *sent, char *err,
    size_t errlen)
{
	char	 idt[STORE_ID_TEXT];
	int64_t	 delay;
	int	 rc;

	store_id_format(j->ref, idt);
	if (strncmp(j->target, "as2-mdn:", 8) == 0)
		rc = as2_send_mdn(ob.gw, j->ref, err, errlen);
	else if (strncmp(j->target, "as2:", 4) == 0) {
		rc = as2_send(ob.gw, j->target + 4, j->ref, sent, err, errlen);
		if (rc == 0 && sent->resolved) {
			memset(res, 0, sizeof(*res));
			res->kind = STORE_ACK_MDN;
			res->partner = j->target + 4;
			res->ref = sent->msgid;
			res->state = sent->state;
			res->reason = sent->reason;
			memcpy(res->by, j->ref, STORE_ID_LEN);
			se->res = res;
		}
	} else
		return 0;
	if (rc == 0) {
		log_info("outbox: sent doc=%s target=%s attempt=%u", idt,
		    j->target, j->attempts);
		return 1;
	}
	se->error = err;
	if (rc == EG_ERR_REJECTED) {
		se->to = STORE_JOB_DEAD;
		log_warnx("outbox: dead doc=%s target=%s error=\"%s\"", idt,
		    j->target, err);
		return 1;
	}
	delay = 1000LL << (j->attempts < 9 ? j->attempts : 9);
	if (delay > 300000)
		delay = 300000;
	se->to = STORE_JOB_PENDING;
	se->due = store_now() + delay;
	log_warnx("outbox: retry doc=%s target=%s attempt=%u delay=%llds "
	    "error=\"%s\"", idt, j->target, j->attempts,
	    (long long)delay / 1000, err);
	return 1;
}

static void
deliver(struct store_job *j, struct store_settle *se, char *err,
    size_t errlen)
{
	struct store_rtxn *rt;
	struct store_doc doc;
	struct slice	 raw;
	char		*dir = NULL, *copy = NULL, idt[STORE_ID_TEXT];
	int64_t		 delay;
	int		 rc;

	se->job = j;
	se->to = STORE_JOB_DONE;
	se->due = STORE_DUE_NEVER;
	store_id_format(j->ref, idt);
	if (as2_target(j->target)) {
		/* an AS2 worker sends and settles it */
		if (as2_submit(j) == 0) {
			memset(se, 0, sizeof(*se));
			return;
		}
		snprintf(err, errlen, "AS2 send queue full");
		goto retry;
	}
	if (strncmp(j->target, "sftp:", 5) == 0) {
		/* the partner's SFTP poller uploads and settles it */
		if (sftp_submit(j) == 0) {
			memset(se, 0, sizeof(*se));
			return;
		}
		snprintf(err, errlen, "partner %s has no running [sftp] "
		    "channel with an outbox", j->target + 5);
		goto retry;
	}
	if (strncmp(j->target, "dir:", 4) != 0) {
		snprintf(err, errlen, "no channel for target %s", j->target);
		goto retry;
	}
	if ((dir = outbox_of(j->target + 4)) == NULL) {
		snprintf(err, errlen, "partner %s has no [dir] outbox",
		    j->target + 4);
		goto retry;
	}
	if ((rc = store_rtxn_begin(ob.gw->store, &rt)) != 0) {
		snprintf(err, errlen, "store: %s", store_errmsg());
		goto retry;
	}
	if ((rc = store_doc_get(rt, j->ref, &doc)) == 0)
		rc = store_blob_get(rt, j->ref, &raw);
	if (rc == 0) {
		copy = xmalloc(raw.len ? raw.len : 1);
		memcpy(copy, raw.p, raw.len);
	}
	store_rtxn_end(rt);
	if (rc != 0) {
		snprintf(err, errlen, "outbound document %s: %s", idt,
		    eg_strerror(rc));
		se->to = STORE_JOB_DEAD;
		se->error = err;
		goto out;
	}
	if (write_atomic(dir, doc.name, copy, raw.len) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, doc.name,
		    strerror(errno));
		goto retry;
	}
	FAILPOINT("outbox-after-write");
	log_info("outbox: sent doc=%s partner=%s type=%s file=%s/%s "
	    "attempt=%u", idt, doc.partner, doc.doctype, dir, doc.name,
	    j->attempts);
	goto out;
retry:
	delay = 1000LL << (j->attempts < 9 ? j->attempts : 9);
	if (delay > 300000)
		delay = 300000;
	se->to = STORE_JOB_PENDING;
	se->due = store_now() + delay;
	se->error = err;
	log_warnx("outbox: retry doc=%s target=%s attempt=%u delay=%llds "
	    "error=\"%s\"", idt, j->target, j->attempts,
	    (long long)delay / 1000, err);
out:
	free(dir);
	free(copy);
}

static void *
outbox_main(void *arg)
{
	struct store_job jobs[OUT_BATCH];
	struct store_settle se[OUT_BATCH];
	char		 err[OUT_BATCH][EG_MAX_STORE_ERROR + 1];
	size_t		 n, i, k;

	(void)arg;
	while (!atomic_load(&ob.gw->stopping)) {
		if (store_jobs_take(ob.gw->store, 1u << STORE_JOB_SEND,
		    store_now(), OUT_LEASE_MS, jobs, OUT_BATCH, &n) != 0) {
			log_warnx("outbox: taking jobs: %s", store_errmsg());
			n = 0;
		}
		if (n == 0) {
			wake_wait(&ob.gw->outbox_wake, OUT_IDLE_MS);
			continue;
		}
		memset(se, 0, sizeof(se));
		for (i = 0, k = 0; i < n; i++) {
			deliver(&jobs[i], &se[k], err[i], sizeof(err[i]));
			if (se[k].job != NULL)	/* NULL: handed over */
				k++;
		}
		if (k > 0 && store_jobs_settle(ob.gw->store, se, k,
		    store_now()) != 0)
			log_warnx("outbox: settling %zu jobs: %s", k,
			    store_errmsg());
	}
	return NULL;
}

int
outbox_start(struct gateway *gw)
{
	ob.gw = gw;
	pthread_mutex_init(&aq.mu, NULL);
	pthread_cond_init(&aq.cv, NULL);
	aq.stop = 0;
	aq.head = aq.n = 0;
	for (aq.nt = 0; aq.nt < AS2_WORKERS; aq.nt++)
		if (pthread_create(&aq.tid[aq.nt], NULL, as2_worker,
		    NULL) != 0) {
			log_warn("outbox: pthread_create");
			break;
		}
	if (pthread_create(&ob.tid, NULL, outbox_main, NULL) != 0) {
		log_warn("outbox: pthread_create");
		return EG_ERR_IO;
	}
	ob.running = 1;
	return 0;
}

void
outbox_stop(void)
{
	if (!ob.running)
		return;
	wake_signal(&ob.gw->outbox_wake);
	pthread_join(ob.tid, NULL);
	pthread_mutex_lock(&aq.mu);
	aq.stop = 1;
	pthread_cond_broadcast(&aq.cv);
	pthread_mutex_unlock(&aq.mu);
	while (aq.nt > 0)
		pthread_join(aq.tid[--aq.nt], NULL);
	pthread_cond_destroy(&aq.cv);
	pthread_mutex_destroy(&aq.mu);
	ob.running = 0;
}
