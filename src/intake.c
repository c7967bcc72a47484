/*
 * intake.c: the dir channel (DESIGN.md §8).  One thread polls every
 * partner's [dir] inbox.  A file is taken only when stable: seen with the
 * same inode, size and modification time on two polls a poll interval
 * apart, and not named like a file still being written (a leading '.', or
 * the suffixes .tmp, .part, .filepart).  Taken files are read whole, committed with
 * their translate jobs in one transaction per batch (group commit), and
 * only then removed or moved to the partner's archive folder: a crash
 * before the commit leaves the file where it was, a crash after it leaves
 * a file that is taken again and recorded as a duplicate.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "eglimits.h"
#include "envelope.h"
#include "err.h"
#include "failpoint.h"
#include "files.h"
#include "gateway.h"
#include "log.h"
#include "nameidx.h"
#include "metrics.h"
#include "store.h"
#include "xmalloc.h"

struct seen {
	char		*name;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	int		 touched;
	int		 refused;	/* over the size limit: logged once */
	int64_t		 since;		/* monotonic ms: seen like this first */
};

struct inbox {
	char		*partner, *dir, *archive, *pattern;
	struct seen	*seen;
	size_t		 nseen, cap;
	struct nameidx	 idx;		/* seen by name */
};

/* One file being taken. */
struct take {
	struct inbox	*ib;
	char		*name;
	char		*data;
	size_t		 len;
	struct envelope	 env;
	struct store_ctl ctl;
};

static struct {
	struct gateway	*gw;
	pthread_t	 tid;
	int		 running;
	struct inbox	*ib;
	size_t		 nib;
	uint64_t	 gen;
	long long	 poll_ms;
	size_t		 batch;
} in;

static void
inboxes_free(void)
{
	size_t	 i, j;

	for (i = 0; i < in.nib; i++) {
		for (j = 0; j < in.ib[i].nseen; j++)
			free(in.ib[i].seen[j].name);
		free(in.ib[i].seen);
		nameidx_free(&in.ib[i].idx);
		free(in.ib[i].partner);
		free(in.ib[i].dir);
		free(in.ib[i].archive);
		free(in.ib[i].pattern);
	}
	free(in.ib);
	in.ib = NULL;
	in.nib = 0;
}

/* After a reload: the inboxes of the new configuration. */
static void
inboxes_load(void)
{
	const struct conf *cf = in.gw->conf;
	struct inbox	*ib;
	size_t		 i;

	inboxes_free();
	for (i = 0; i < cf->npartner; i++) {
		if (cf->partner[i].inbox == NULL)
			continue;
		in.ib = xreallocarray(in.ib, in.nib + 1, sizeof(*in.ib));
		ib = &in.ib[in.nib++];
		memset(ib, 0, sizeof(*ib));
		ib->partner = xstrdup(cf->partner[i].id);
		ib->dir = xstrdup(cf->partner[i].inbox);
		ib->archive = cf->partner[i].archive ?
		    xstrdup(cf->partner[i].archive) : NULL;
		ib->pattern = xstrdup(cf->partner[i].pattern ?
		    cf->partner[i].pattern : "*");
	}
	in.poll_ms = cf->poll_ms > 0 ? cf->poll_ms : 1000;
	in.batch = cf->batch > 0 ? (size_t)cf->batch : 256;
	in.gen = in.gw->generation;
}

/* The files of an inbox seen at the last poll, found by name. */
static struct seen *
seen_find(struct inbox *ib, const char *name)
{
	long	 i = nameidx_find(&ib->idx, ib->seen, sizeof(*ib->seen), name);

	return i < 0 ? NULL : &ib->seen[i];
}

static struct seen *
seen_add(struct inbox *ib, const char *name)
{
	struct seen	*s;

	if (ib->nseen == ib->cap) {
		ib->cap = ib->cap ? ib->cap * 2 : 64;
		ib->seen = xreallocarray(ib->seen, ib->cap, sizeof(*ib->seen));
	}
	s = &ib->seen[ib->nseen++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	nameidx_add(&ib->idx, ib->seen, sizeof(*ib->seen), ib->nseen - 1);
	return s;
}

/* Forget files that are gone. */
static void
seen_sweep(struct inbox *ib)
{
	size_t	 i = 0, n = ib->nseen;

	while (i < ib->nseen) {
		if (ib->seen[i].touched) {
			ib->seen[i++].touched = 0;
			continue;
		}
		free(ib->seen[i].name);
		ib->seen[i] = ib->seen[--ib->nseen];
	}
	if (ib->nseen != n)
		nameidx_build(&ib->idx, ib->seen, sizeof(*ib->seen),
		    ib->nseen);
}

/* Read a whole regular file; NULL with errno set. */
static char *
slurp(int dirfd, const char *name, off_t size)
{
	struct stat	 st;
	char		*p;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != size) {
		close(fd);
		errno = EAGAIN;		/* changed since the last poll */
		return NULL;
	}
	p = xmalloc((size_t)size + 1);
	while (got < (size_t)size) {
		r = read(fd, p + got, (size_t)size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(p);
			close(fd);
			if (r == 0)
				errno = EAGAIN;	/* truncated meanwhile */
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	return p;
}

/* Move name from the inbox to the archive folder, or remove it. */
static void
dispose(struct inbox *ib, int dirfd, const char *name, const uint8_t *id)
{
	char	 dst[EG_MAX_PATH], idt[STORE_ID_TEXT];

	if (ib->archive == NULL) {
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			log_warn("intake: %s/%s: remove", ib->dir, name);
		return;
	}
	if (mkdir(ib->archive, 0750) == -1 && errno != EEXIST) {
		log_warn("intake: %s: mkdir", ib->archive);
		return;
	}
	store_id_format(id, idt);
	/* the document id keeps two files of the same name apart */
	if ((size_t)snprintf(dst, sizeof(dst), "%s/%s.%s", ib->archive, name,
	    idt) >= sizeof(dst))
		return;
	if (renameat(dirfd, name, AT_FDCWD, dst) == -1)
		log_warn("intake: %s/%s: move to %s", ib->dir, name, dst);
}

static void
commit(struct inbox *ib, int dirfd, struct take *t, size_t n)
{
	struct store_ingest_req *req;
	char		 idt[STORE_ID_TEXT];
	size_t		 i;
	int		 rc;

	req = xcalloc(n, sizeof(*req));
	for (i = 0; i < n; i++) {
		struct store_doc *d = &req[i].doc;

		snprintf(d->partner, sizeof(d->partner), "%s", ib->partner);
		snprintf(d->channel, sizeof(d->channel), "dir:%s",
		    ib->partner);
		snprintf(d->name, sizeof(d->name), "%s", t[i].name);
		if (t[i].env.syntax != NULL)
			snprintf(d->syntax, sizeof(d->syntax), "%s",
			    t[i].env.syntax);
		snprintf(d->sender, sizeof(d->sender), "%s",
		    t[i].env.sender);
		snprintf(d->receiver, sizeof(d->receiver), "%s",
		    t[i].env.receiver);
		snprintf(d->icn, sizeof(d->icn), "%s", t[i].env.control);
		snprintf(d->doctype, sizeof(d->doctype), "%s",
		    t[i].env.doctype);
		req[i].raw = slice_make(t[i].data, t[i].len);
		req[i].translate = 1;
		if (t[i].env.control[0] != '\0' && t[i].env.syntax != NULL) {
			t[i].ctl.level = strcmp(t[i].env.syntax, "x12") == 0 ?
			    STORE_LVL_ISA : STORE_LVL_UNB;
			t[i].ctl.sender = t[i].env.sender;
			t[i].ctl.number = t[i].env.control;
			req[i].ctl = &t[i].ctl;
			req[i].nctl = 1;
		}
	}
	FAILPOINT("intake-before-commit");
	if ((rc = store_ingest_batch(in.gw->store, req, n)) != 0) {
		log_warnx("intake: commit of %zu files from %s failed: %s; "
		    "they stay in the inbox", n, ib->dir, store_errmsg());
		free(req);
		return;
	}
	FAILPOINT("intake-after-commit");
	for (i = 0; i < n; i++) {
		if (req[i].rc != 0) {
			log_warnx("intake: %s/%s refused: %s", ib->dir,
			    t[i].name, eg_strerror(req[i].rc));
			continue;
		}
		dispose(ib, dirfd, t[i].name, req[i].res.id);
		store_id_format(req[i].res.id, idt);
		log_info("intake: received doc=%s partner=%s channel=dir "
		    "file=%s bytes=%zu%s", idt, ib->partner, t[i].name,
		    req[i].raw.len, req[i].res.ndup ? " duplicate-envelope=1" :
		    "");
	}
	wake_signal(&in.gw->pipeline_wake);
	free(req);
}

static void
scan(struct inbox *ib)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct seen	*s;
	struct take	*t;
	size_t		 nt = 0, i;
	int		 dfd;

	if ((d = opendir(ib->dir)) == NULL) {
		if (errno != ENOENT)
			log_warn("intake: %s", ib->dir);
		metrics_poll_error(ib->partner, "dir");
		return;
	}
	dfd = dirfd(d);
	t = xcalloc(in.batch, sizeof(*t));
	while ((de = readdir(d)) != NULL && !atomic_load(&in.gw->stopping)) {
		if (files_temp_name(de->d_name) ||
		    fnmatch(ib->pattern, de->d_name, FNM_PERIOD) != 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;
		if ((s = seen_find(ib, de->d_name)) == NULL) {
			s = seen_add(ib, de->d_name);
		} else if (s->dev == st.st_dev && s->ino == st.st_ino &&
		    s->size == st.st_size &&
		    s->mtime.tv_sec == st.st_mtim.tv_sec &&
		    s->mtime.tv_nsec == st.st_mtim.tv_nsec &&
		    gw_mono_ms() - s->since >= in.poll_ms) {
			s->touched = 1;
			if ((unsigned long long)st.st_size > EG_MAX_DOC_SIZE) {
				if (!s->refused)
					log_warnx("intake: %s/%s: %lld bytes, "
					    "over the limit of %llu: left in "
					    "the inbox", ib->dir, s->name,
					    (long long)st.st_size,
					    (unsigned long long)
					    EG_MAX_DOC_SIZE);
				s->refused = 1;
				continue;
			}
			/* stable across two polls: take it */
			if ((t[nt].data = slurp(dfd, s->name,
			    st.st_size)) == NULL) {
				if (errno != EAGAIN && errno != ENOENT) {
					log_warn("intake: %s/%s", ib->dir,
					    s->name);
					metrics_poll_error(ib->partner, "dir");
				}
				s->size = -1;	/* look again next poll */
				continue;
			}
			t[nt].ib = ib;
			t[nt].name = xstrdup(s->name);
			(void)envelope_peek(slice_make(t[nt].data,
			    (size_t)st.st_size), &t[nt].env);
			t[nt].len = (size_t)st.st_size;
			nt++;
			FAILPOINT("intake-after-read");
			if (nt == in.batch) {
				commit(ib, dfd, t, nt);
				for (i = 0; i < nt; i++) {
					free(t[i].name);
					free(t[i].data);
				}
				memset(t, 0, in.batch * sizeof(*t));
				nt = 0;
			}
			continue;
		}
		s->touched = 1;
		if (s->since == 0 || s->dev != st.st_dev ||
		    s->ino != st.st_ino || s->size != st.st_size ||
		    s->mtime.tv_sec != st.st_mtim.tv_sec ||
		    s->mtime.tv_nsec != st.st_mtim.tv_nsec)
			s->since = gw_mono_ms();
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->size = st.st_size;
		s->mtime = st.st_mtim;
	}
	if (nt > 0)
		commit(ib, dfd, t, nt);
	for (i = 0; i < nt; i++) {
		free(t[i].name);
		free(t[i].data);
	}
	free(t);
	closedir(d);
	seen_sweep(ib);
}

static void *
intake_main(void *arg)
{
	size_t	 i;

	(void)arg;
	while (!atomic_load(&in.gw->stopping)) {
		pthread_rwlock_rdlock(&in.gw->lock);
		if (in.gen != in.gw->generation || in.ib == NULL)
			inboxes_load();
		pthread_rwlock_unlock(&in.gw->lock);
		for (i = 0; i < in.nib && !atomic_load(&in.gw->stopping); i++)
			scan(&in.ib[i]);
		wake_wait(&in.gw->intake_wake, in.poll_ms);
	}
	inboxes_free();
	return NULL;
}

int
intake_start(struct gateway *gw)
{
	memset(&in, 0, sizeof(in));
	in.gw = gw;
	in.gen = (uint64_t)-1;
	if (pthread_create(&in.tid, NULL, intake_main, NULL) != 0) {
		log_warn("intake: pthread_create");
		return EG_ERR_IO;
	}
	in.running = 1;
	return 0;
}

void
intake_stop(void)
{
	if (!in.running)
		return;
	wake_signal(&in.gw->intake_wake);
	pthread_join(in.tid, NULL);
	in.running = 0;
}
