/*
 * serve.c: `edigate serve`, the gateway daemon (DESIGN.md §3), the
 * program edigate-serve that the command execs (cmd_serve.c).  The main
 * thread is the scheduler: it owns the signals (SIGTERM and SIGINT drain
 * and exit 0, SIGHUP reloads the configuration and maps atomically and
 * keeps the old ones when the new ones do not load), the timers (reader
 * slots of dead processes, acknowledgement deadlines, retention) and the
 * systemd notifications (READY, RELOADING, STOPPING, WATCHDOG).  Intake,
 * the translate pipeline, the outbox, the ERP forwarder and the HTTP
 * listener are threads of their own that meet only in the store.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "as2_cms.h"
#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "failpoint.h"
#include "files.h"
#include "forward.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "opevent.h"
#include "sftp.h"
#include "store.h"
#include "xmalloc.h"

#define TICK_MS			 500
#define READER_CHECK_MS		 (60 * 1000)
#define OVERDUE_MS		 1000
#define PURGE_MS		 (60 * 60 * 1000)
#define DRAIN_MS		 (10 * 1000)

/* --- wake-ups --- */

void
wake_init(struct wake *w)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->pending = 0;
}

void
wake_destroy(struct wake *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

void
wake_signal(struct wake *w)
{
	pthread_mutex_lock(&w->mu);
	w->pending = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
wake_wait(struct wake *w, int64_t ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->pending)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break;
	w->pending = 0;
	pthread_mutex_unlock(&w->mu);
}

int64_t
gw_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- systemd --- */

static void
notify(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

static int64_t
watchdog_ms(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t	 usec;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (int64_t)(usec / 2000);
#endif
	return 0;
}

/* --- configuration --- */

static const char *config_path;

/* Load configuration and maps; NULL on failure (errors logged). */
/* AS2 keys and certificates of cf: 0, or -1 (logged). */
static int
load_as2(const struct conf *cf, struct as2_keys **keys)
{
	struct buf	 errs, warns;
	char		*line, *save;
	int		 rc;

	buf_init(&errs, 1 << 16);
	buf_init(&warns, 1 << 16);
	rc = as2_keys_load(cf, keys, &errs, &warns);
	for (line = strtok_r(errs.p ? errs.p : (char *)"", "\n", &save);
	    line != NULL; line = strtok_r(NULL, "\n", &save))
		log_warnx("as2: %s", line);
	for (line = strtok_r(warns.p ? warns.p : (char *)"", "\n", &save);
	    line != NULL; line = strtok_r(NULL, "\n", &save))
		log_warnx("as2: warning: %s", line);
	buf_free(&errs);
	buf_free(&warns);
	return rc == 0 ? 0 : -1;
}

static int
load(struct conf **cf, struct catalog **cat, struct as2_keys **keys)
{
	struct buf	 errs;
	int		 rc;

	*cf = NULL;
	*cat = NULL;
	*keys = NULL;
	if (cmd_conf(config_path, cf) != 0)
		return -1;
	if (load_as2(*cf, keys) != 0) {
		conf_free(*cf);
		*cf = NULL;
		return -1;
	}
	buf_init(&errs, 1 << 20);
	rc = catalog_load(cmd_maps_root((*cf)->maps_dir), cat, &errs);
	if (rc != 0) {
		log_warnx("maps in %s: %s", cmd_maps_root((*cf)->maps_dir),
		    errs.p ? errs.p : "");
		buf_free(&errs);
		conf_free(*cf);
		as2_keys_free(*keys);
		*keys = NULL;
		*cf = NULL;
		return -1;
	}
	buf_free(&errs);
	return 0;
}

static void
reload(struct gateway *gw)
{
	struct conf	*cf, *ocf;
	struct catalog	*cat, *ocat;
	struct as2_keys	*keys, *okeys;

	notify("RELOADING=1");
	if (load(&cf, &cat, &keys) != 0) {
		log_warnx("serve: reload refused: the configuration or maps "
		    "above do not load; the running ones are kept");
		notify("READY=1");
		return;
	}
	if (strcmp(cf->state_dir, gw->conf->state_dir) != 0 ||
	    (cf->erp_url == NULL) != (gw->conf->erp_url == NULL) ||
	    (cf->erp_url && strcmp(cf->erp_url, gw->conf->erp_url) != 0))
		log_warnx("serve: reload: [gateway] state_dir and [erp] take "
		    "effect at the next start");
	pthread_rwlock_wrlock(&gw->lock);
	ocf = gw->conf;
	ocat = gw->cat;
	okeys = gw->as2;
	gw->conf = cf;
	gw->cat = cat;
	gw->as2 = keys;
	gw->generation++;
	pthread_rwlock_unlock(&gw->lock);
	conf_free(ocf);
	catalog_free(ocat);
	as2_keys_free(okeys);
	log_info("serve: reloaded config=%s partners=%zu", config_path,
	    cf->npartner);
	wake_signal(&gw->intake_wake);
	notify("READY=1");
}

/* A secret file's first line, or NULL (logged). */
static char *
secret(const char *what, const char *path)
{
	char	 line[4096], err[EG_MAX_PATH + 256], *p;

	if (path == NULL)
		return NULL;
	if (files_secret(what, path, line, sizeof(line), err,
	    sizeof(err)) != 0) {
		log_warnx("serve: %s", err);
		return NULL;
	}
	p = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return p;
}

static int
start_forwarder(struct gateway *gw, char **token, char **password)
{
	const struct conf *cf = gw->conf;
	struct forward_conf fc;

	if (cf->erp_url == NULL)
		return 0;
	memset(&fc, 0, sizeof(fc));
	fc.url = cf->erp_url;
	fc.auth = cf->erp_auth;
	if (strcmp(cf->erp_auth, "bearer") == 0 &&
	    (*token = secret("[erp] token_file",
	    cf->erp_token_file)) == NULL) {
		log_warnx("serve: [erp] auth = bearer needs token_file");
		return -1;
	}
	if (strcmp(cf->erp_auth, "basic") == 0 &&
	    (cf->erp_user == NULL ||
	    (*password = secret("[erp] password_file",
	    cf->erp_password_file)) == NULL)) {
		log_warnx("serve: [erp] auth = basic needs user and "
		    "password_file");
		return -1;
	}
	fc.token = *token;
	fc.user = cf->erp_user;
	fc.password = *password;
	fc.client_cert = cf->erp_client_cert;
	fc.client_key = cf->erp_client_key;
	fc.ca_file = cf->erp_ca_file;
	fc.reference = cf->erp_reference;
	fc.async_ack = strcmp(cf->erp_ack, "async") == 0;
	fc.timeout_ms = cf->erp_timeout_ms;
	fc.retry_min_ms = cf->erp_retry_min_ms;
	fc.retry_max_ms = cf->erp_retry_max_ms;
	fc.max_age_ms = cf->erp_max_age_ms;
	fc.connections = (unsigned int)cf->erp_connections;
	fc.target = "erp";
	if (forward_start(gw->store, &fc, &gw->fwd) != 0) {
		log_warnx("serve: the ERP forwarder does not start");
		return -1;
	}
	return 0;
}

/*
 * Jobs left inflight by the previous run (a crash, or a drain that ran
 * out of time) are due again now rather than when their leases end: this
 * process is the only one that takes jobs.
 */
struct recover {
	struct store_job *job;
	size_t		 n, cap;
};

static int
recover_one(void *arg, const struct store_job *j)
{
	struct recover	*r = arg;

	if (j->state != STORE_JOB_INFLIGHT)
		return 0;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->job = xreallocarray(r->job, r->cap, sizeof(*r->job));
	}
	r->job[r->n++] = *j;
	return 0;
}

static void
recover(struct store *s)
{
	struct recover	 r = { NULL, 0, 0 };
	struct store_rtxn *rt;
	struct store_settle *se;
	size_t		 i;
	int64_t		 now = store_now();

	if (store_rtxn_begin(s, &rt) != 0)
		return;
	if (store_job_walk(rt, recover_one, &r) != 0)
		log_warnx("serve: recovering jobs: %s", store_errmsg());
	store_rtxn_end(rt);
	if (r.n == 0)
		return;
	se = xcalloc(r.n, sizeof(*se));
	for (i = 0; i < r.n; i++) {
		se[i].job = &r.job[i];
		se[i].to = STORE_JOB_PENDING;
		se[i].due = now;
		se[i].error = "interrupted: edigate stopped during the attempt";
	}
	if (store_jobs_settle(s, se, r.n, now) != 0)
		log_warnx("serve: recovering jobs: %s", store_errmsg());
	else
		log_info("serve: resumed jobs=%zu left inflight by the last "
		    "run", r.n);
	free(se);
	free(r.job);
}

/* --- timers --- */

/*
 * Expectations past their deadline become overdue, each with its
 * ack.overdue event, stored with the document that awaits the
 * acknowledgement (for an ERP import ack, the event's document) and
 * forwarded like the others.
 */
static void
overdue_event(struct gateway *gw, const struct store_ack *a)
{
	struct store_rtxn *rt;
	struct store_event_rec rec;
	struct store_event ev;
	struct opevent	 op;
	uint8_t		 doc[STORE_ID_LEN];
	int		 rc;

	memcpy(doc, a->doc, STORE_ID_LEN);
	if (a->kind == STORE_ACK_ERP) {
		if (store_rtxn_begin(gw->store, &rt) != 0)
			return;
		rc = store_event_get(rt, a->doc, &rec);
		if (rc == 0)
			memcpy(doc, rec.doc, STORE_ID_LEN);
		store_rtxn_end(rt);
		if (rc != 0)
			return;
	}
	if (opevent_overdue(a, &op) != 0)
		return;
	memset(&ev, 0, sizeof(ev));
	memcpy(ev.id, op.id, STORE_ID_LEN);
	ev.json = op.json;
	ev.jsonlen = op.len;
	ev.idem = op.idem;
	ev.biz = op.biz;
	if (store_events_add(gw->store, doc, &ev, 1, gw->fwd ? "erp" : NULL,
	    0, NULL) != 0)
		log_warnx("ack: ack.overdue event for %s %s: %s", a->partner,
		    a->ref, store_errmsg());
	opevent_free(&op);
}

static void
overdue(struct gateway *gw)
{
	struct store_ack a[64];
	char		 idt[STORE_ID_TEXT];
	size_t		 n, i;

	do {
		if (store_ack_overdue(gw->store, store_now(), a, 64, &n) != 0) {
			log_warnx("serve: acknowledgement deadlines: %s",
			    store_errmsg());
			return;
		}
		for (i = 0; i < n; i++) {
			store_id_format(a[i].doc, idt);
			log_info("ack: overdue partner=%s kind=%s ref=%s "
			    "doc=%s", a[i].partner,
			    store_ack_kind_name(a[i].kind), a[i].ref, idt);
			overdue_event(gw, &a[i]);
		}
		if (n > 0 && gw->fwd != NULL)
			forward_kick(gw->fwd);
	} while (n == 64);
}

static void
purge(struct gateway *gw)
{
	uint8_t		 cursor[STORE_ID_LEN];
	size_t		 n, total = 0;
	int64_t		 before;

	pthread_rwlock_rdlock(&gw->lock);
	before = store_now() - gw->conf->retention * 1000;
	pthread_rwlock_unlock(&gw->lock);
	memset(cursor, 0, sizeof(cursor));
	do {
		if (store_purge_blobs(gw->store, before, 1000, cursor,
		    &n) != 0) {
			log_warnx("serve: retention: %s", store_errmsg());
			return;
		}
		total += n;
	} while (n > 0 && !atomic_load(&gw->stopping));
	if (total > 0)
		log_info("serve: retention purged=%zu", total);
}

/* What cmd_usage() prints for serve in edigate: this program has no table. */
static int
usage(FILE *fp)
{
	fprintf(fp, "usage: edigate serve %s\n", CMD_SERVE_USAGE);
	if (fp != stdout)
		return EX_USAGE;
	printf("\n%s.\nSee edigate(8).\n", CMD_SERVE_SUMMARY);
	return 0;
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct gateway	 gw;
	struct http	*http = NULL;
	struct http_opts hopts;
	sigset_t	 set;
	siginfo_t	 si;
	struct timespec	 ts;
	char		 path[EG_MAX_PATH], *token = NULL, *password = NULL;
	int64_t		 now, wd, last_wd = 0, last_rc = 0, last_od = 0;
	int64_t		 last_purge = 0;
	int		 ch, sig, dead, ex = 0;

	while ((ch = getopt_long(argc, argv, "c:ho:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'o':
			if ((ex = cmd_conf_override(optarg)) != 0)
				return ex;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);
	if ((config_path = cmd_conf_path(config_path)) == NULL) {
		fprintf(stderr, "edigate serve: no configuration: give -c "
		    "FILE\n");
		return EX_CONFIG;
	}
	failpoint_init();

	memset(&gw, 0, sizeof(gw));
	if (load(&gw.conf, &gw.cat, &gw.as2) != 0)
		return EX_CONFIG;
	if (mkdir(gw.conf->state_dir, 0700) == -1 && errno != EEXIST) {
		log_warn("serve: %s", gw.conf->state_dir);
		ex = EX_CANTCREAT;
		goto out;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/store",
	    gw.conf->state_dir) >= sizeof(path)) {
		log_warnx("serve: state_dir too long");
		ex = EX_CONFIG;
		goto out;
	}
	if (store_open(path, gw.conf->map_size, 0, &gw.store) != 0) {
		log_warnx("serve: store %s: %s", path, store_errmsg());
		ex = EX_UNAVAILABLE;
		goto out;
	}

	/* Signals belong to this thread: block them before any other. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	recover(gw.store);
	pthread_rwlock_init(&gw.lock, NULL);
	wake_init(&gw.pipeline_wake);
	wake_init(&gw.outbox_wake);
	wake_init(&gw.intake_wake);
	if (start_forwarder(&gw, &token, &password) != 0) {
		ex = EX_CONFIG;
		goto close;
	}
	memset(&hopts, 0, sizeof(hopts));
	hopts.max_body = (unsigned long long)gw.conf->http_max_body;
	hopts.timeout_s = (unsigned int)(gw.conf->http_timeout_ms / 1000);
	hopts.tls_cert = gw.conf->http_tls_cert;
	hopts.tls_key = gw.conf->http_tls_key;
	if (gw.conf->http_listen != NULL &&
	    http_start(&gw, &hopts, &http) != 0) {
		log_warnx("serve: HTTP listener on %s does not start",
		    gw.conf->http_listen);
		ex = EX_UNAVAILABLE;
		goto stopfwd;
	}
	if (pipeline_start(&gw, 1) != 0 || sftp_start(&gw) != 0 ||
	    outbox_start(&gw) != 0 || intake_start(&gw) != 0) {
		ex = EX_OSERR;
		goto stop;
	}
	log_info("serve: ready pid=%ld config=%s store=%s partners=%zu "
	    "erp=%s http=%s", (long)getpid(), config_path, path,
	    gw.conf->npartner, gw.conf->erp_url ? gw.conf->erp_url : "-",
	    gw.conf->http_listen ? gw.conf->http_listen : "-");
	notify("READY=1");
	wd = watchdog_ms();

	for (;;) {
		ts.tv_sec = 0;
		ts.tv_nsec = TICK_MS * 1000000L;
		sig = sigtimedwait(&set, &si, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("serve: stopping signal=%s",
			    sig == SIGTERM ? "TERM" : "INT");
			break;
		}
		if (sig == SIGHUP)
			reload(&gw);
		now = gw_mono_ms();
		if (wd > 0 && now - last_wd >= wd) {
			notify("WATCHDOG=1");
			last_wd = now;
		}
		if (now - last_rc >= READER_CHECK_MS) {
			if (store_reader_check(gw.store, &dead) == 0 &&
			    dead > 0)
				log_info("serve: cleared reader slots of %d "
				    "dead processes", dead);
			last_rc = now;
		}
		if (now - last_od >= OVERDUE_MS) {
			overdue(&gw);
			last_od = now;
		}
		if (now - last_purge >= PURGE_MS) {
			purge(&gw);
			last_purge = now;
		}
	}
	notify("STOPPING=1");
stop:
	atomic_store(&gw.stopping, 1);
	intake_stop();
	pipeline_stop();
	outbox_stop();
	sftp_stop();
	if (http != NULL)
		http_stop(http);
stopfwd:
	if (gw.fwd != NULL)
		forward_stop(gw.fwd, DRAIN_MS);
close:
	wake_destroy(&gw.pipeline_wake);
	wake_destroy(&gw.outbox_wake);
	wake_destroy(&gw.intake_wake);
	pthread_rwlock_destroy(&gw.lock);
	store_close(gw.store);
	if (ex == 0)
		log_info("serve: stopped");
out:
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	if (password != NULL)
		explicit_bzero(password, strlen(password));
	free(token);
	free(password);
	conf_free(gw.conf);
	catalog_free(gw.cat);
	as2_keys_free(gw.as2);
	return ex;
}
