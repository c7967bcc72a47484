/*
 * cmd_action.c: the operator's actions on the work queue (DESIGN.md §10):
 * `edigate replay ID`, `edigate hold ID` and `edigate release ID`.
 *
 * They open the store read-write beside the daemon (LMDB serializes the
 * writers of all processes) and change jobs only through the store's
 * transitions: a dead job becomes pending (replay), pending becomes held
 * and held pending (hold, release), and new jobs are queued due now for
 * the daemon to pick up.  What is decided is read in one read
 * transaction, which ends before anything is written; a job the daemon
 * moved in between is reported (exit 69), never overwritten.
 *
 * Exit: 0 something was queued or changed, 64 usage or an ambiguous id,
 * 65 nothing in a state the action applies to, 66 no store or no such id,
 * 69 a job changed under us, 70 the store refused, 78 configuration.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "conf.h"
#include "err.h"
#include "store.h"
#include "xmalloc.h"

#define REPLAY_TARGET	"erp"		/* the one destination of v1 */
#define TRANSLATE_TARGET NULL	/* as intake queues them */

enum action { REPLAY, HOLD, RELEASE };
static const char *const action_name[] = { "replay", "hold", "release" };

/* What one action does: jobs to move, jobs to queue. */
struct plan {
	enum action	 act;
	uint8_t		(*refs)[STORE_ID_LEN];	/* a document, its events */
	size_t		 nref, capref;
	struct store_job *job;			/* jobs to move */
	size_t		 njob, capjob;
	size_t		 skipped;		/* inflight: not moved */
	struct {
		enum store_job_kind kind;
		uint8_t	 ref[STORE_ID_LEN];
		const char *target;
	}		*add;
	size_t		 nadd, capadd;
};

static void
plan_ref(struct plan *p, const uint8_t id[STORE_ID_LEN])
{
	if (p->nref == p->capref) {
		p->capref = p->capref ? 2 * p->capref : 16;
		p->refs = xreallocarray(p->refs, p->capref, sizeof(*p->refs));
	}
	memcpy(p->refs[p->nref++], id, STORE_ID_LEN);
}

static void
plan_job(struct plan *p, const struct store_job *j)
{
	if (p->njob == p->capjob) {
		p->capjob = p->capjob ? 2 * p->capjob : 16;
		p->job = xreallocarray(p->job, p->capjob, sizeof(*p->job));
	}
	p->job[p->njob++] = *j;
}

static void
plan_add(struct plan *p, enum store_job_kind kind,
    const uint8_t ref[STORE_ID_LEN], const char *target)
{
	if (p->nadd == p->capadd) {
		p->capadd = p->capadd ? 2 * p->capadd : 16;
		p->add = xreallocarray(p->add, p->capadd, sizeof(*p->add));
	}
	p->add[p->nadd].kind = kind;
	memcpy(p->add[p->nadd].ref, ref, STORE_ID_LEN);
	p->add[p->nadd].target = target;
	p->nadd++;
}

static int
plan_event(void *arg, const struct store_event_rec *e)
{
	plan_ref(arg, e->id);
	return 0;
}

/* hold, release: the jobs referring to one of p->refs in the state. */
static int
plan_walk(void *arg, const struct store_job *j)
{
	struct plan	*p = arg;
	size_t		 i;

	for (i = 0; i < p->nref; i++)
		if (memcmp(p->refs[i], j->ref, STORE_ID_LEN) == 0)
			break;
	if (i == p->nref)
		return 0;
	if (j->state == (p->act == HOLD ? STORE_JOB_PENDING : STORE_JOB_HELD))
		plan_job(p, j);
	else if (j->state == STORE_JOB_INFLIGHT)
		p->skipped++;
	return 0;
}

static const char *
kind_name(enum store_job_kind k)
{
	switch (k) {
	case STORE_JOB_FORWARD:
		return "forward";
	case STORE_JOB_SEND:
		return "send";
	case STORE_JOB_TRANSLATE:
		return "translate";
	}
	return "unknown";
}

static int
store_error(const char *cmd, int rc)
{
	fprintf(stderr, "edigate %s: %s\n", cmd, store_errmsg());
	return cmd_store_exit(rc);
}

/* Decide, in the read transaction, what act does to the object text. */
static int
plan_make(struct store_rtxn *rt, const char *text, struct plan *p)
{
	const char		*cmd = action_name[p->act];
	struct store_doc	*d;
	struct store_job	 j;
	char			 t[STORE_ID_TEXT];
	uint8_t			 id[STORE_ID_LEN];
	int			 kind, ex, rc;

	if ((ex = cmd_store_resolve(rt, text, &kind, id)) != 0)
		return ex;
	store_id_format(id, t);
	if (kind == CMD_ID_JOB) {
		if ((rc = store_job_find(rt, t, &j)) != 0)
			return store_error(cmd, rc);
		if (j.state != (p->act == REPLAY ? STORE_JOB_DEAD :
		    p->act == HOLD ? STORE_JOB_PENDING : STORE_JOB_HELD)) {
			fprintf(stderr, "edigate %s: job %s is %s: only a %s "
			    "job can be %s\n", cmd, t,
			    store_job_state_name(j.state),
			    p->act == REPLAY ? "dead" : p->act == HOLD ?
			    "pending" : "held", p->act == REPLAY ? "replayed" :
			    p->act == HOLD ? "held" : "released");
			return EX_DATAERR;
		}
		plan_job(p, &j);
		return 0;
	}
	if (kind == CMD_ID_EVENT) {
		if (p->act == REPLAY) {
			plan_add(p, STORE_JOB_FORWARD, id, REPLAY_TARGET);
			return 0;
		}
		plan_ref(p, id);
	} else {
		d = xmalloc(sizeof(*d));
		if ((rc = store_doc_get(rt, id, d)) != 0) {
			free(d);
			return store_error(cmd, rc);
		}
		plan_ref(p, id);
		rc = store_events_of_doc(rt, id, plan_event, p);
		if (rc != 0) {
			free(d);
			return store_error(cmd, rc);
		}
		if (p->act == REPLAY) {
			enum store_doc_state st = d->state;

			free(d);
			if (st == STORE_DOC_REJECTED ||
			    st == STORE_DOC_QUARANTINED) {
				plan_add(p, STORE_JOB_TRANSLATE, id,
				    TRANSLATE_TARGET);
				return 0;
			}
			if (st == STORE_DOC_TRANSLATED && p->nref > 1) {
				size_t	 i;

				for (i = 1; i < p->nref; i++)
					plan_add(p, STORE_JOB_FORWARD,
					    p->refs[i], REPLAY_TARGET);
				return 0;
			}
			fprintf(stderr, "edigate replay: document %s is %s: "
			    "%s\n", t, store_doc_state_name(st),
			    st == STORE_DOC_RECEIVED ? "it is waiting for "
			    "translation already" : st == STORE_DOC_DUPLICATE ?
			    "its events came with the first copy; replay "
			    "that document or its events" :
			    "it has no events to deliver");
			return EX_DATAERR;
		}
		free(d);
	}
	/* hold, release: every job of the object's refs in the state. */
	if ((rc = store_job_walk(rt, plan_walk, p)) != 0)
		return store_error(cmd, rc);
	if (p->njob == 0) {
		fprintf(stderr, "edigate %s: no %s job refers to %s %s%s\n",
		    cmd, p->act == HOLD ? "pending" : "held",
		    kind == CMD_ID_DOC ? "document" : "event", t,
		    kind == CMD_ID_DOC ? " or its events" : "");
		return EX_DATAERR;
	}
	return 0;
}

/* Carry the plan out, one transaction per job, printing each. */
static int
plan_run(struct store *s, struct plan *p)
{
	const char		*cmd = action_name[p->act];
	struct store_job	 j;
	enum store_job_state	 from, to;
	char			 t[STORE_ID_TEXT], r[STORE_ID_TEXT];
	size_t			 i;
	int64_t			 now;
	int			 rc, ex = 0;

	for (i = 0; i < p->njob; i++) {
		now = store_now();
		j = p->job[i];
		from = j.state;
		to = p->act == HOLD ? STORE_JOB_HELD : STORE_JOB_PENDING;
		store_id_format(j.id, t);
		store_id_format(j.ref, r);
		if ((rc = store_job_update(s, &j, to, now, NULL, now)) != 0) {
			fprintf(stderr, "edigate %s: %s%s\n", cmd,
			    store_errmsg(), rc == EG_ERR_NOTFOUND ? " (the "
			    "daemon moved it: see edigate jobs)" : "");
			ex = rc == EG_ERR_NOTFOUND ? EX_UNAVAILABLE :
			    cmd_store_exit(rc);
			continue;
		}
		printf("%s job %s: %s -> %s%s (%s%s%s, ref %s)\n",
		    p->act == REPLAY ? "replayed" : p->act == HOLD ? "held" :
		    "released", t, store_job_state_name(from),
		    store_job_state_name(to), to == STORE_JOB_PENDING ?
		    ", due now" : "", kind_name(j.kind), j.target[0] ? " " :
		    "", j.target, r);
	}
	for (i = 0; i < p->nadd; i++) {
		now = store_now();
		store_id_format(p->add[i].ref, r);
		if ((rc = store_job_add(s, p->add[i].kind, p->add[i].ref,
		    p->add[i].target, now, &j)) != 0) {
			fprintf(stderr, "edigate %s: %s\n", cmd,
			    store_errmsg());
			ex = cmd_store_exit(rc);
			continue;
		}
		store_id_format(j.id, t);
		printf("queued %s job %s for %s %s (%s%s, due now)\n",
		    kind_name(j.kind), t, p->add[i].kind ==
		    STORE_JOB_FORWARD ? "event" : "document", r,
		    j.target[0] ? "target " : "the daemon translates it",
		    j.target);
	}
	if (p->skipped)
		printf("%zu inflight job%s left alone (the daemon has %s)\n",
		    p->skipped, p->skipped == 1 ? "" : "s",
		    p->skipped == 1 ? "it" : "them");
	return ex;
}

static int
action(enum action act, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*cmd = action_name[act], *config = NULL;
	struct store		*s = NULL;
	struct store_rtxn	*rt = NULL;
	struct plan		 p;
	int			 ch, ex, rc;

	while ((ch = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			cmd_usage(cmd, stdout);
			return 0;
		default:
			return cmd_usage(cmd, stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmd_usage(cmd, stderr);

	if ((ex = cmd_store_open(config, 0, NULL, &s)) != 0)
		return ex;
	memset(&p, 0, sizeof(p));
	p.act = act;
	if ((rc = store_rtxn_begin(s, &rt)) != 0)
		ex = store_error(cmd, rc);
	else {
		ex = plan_make(rt, argv[0], &p);
		/* The snapshot ends before the first write. */
		store_rtxn_end(rt);
		if (ex == 0)
			ex = plan_run(s, &p);
	}
	free(p.refs);
	free(p.job);
	free(p.add);
	store_close(s);
	if (fflush(stdout) != 0 && ex == 0)
		ex = EX_IOERR;
	return ex;
}

int
cmd_replay(int argc, char **argv)
{
	return action(REPLAY, argc, argv);
}

int
cmd_hold(int argc, char **argv)
{
	return action(HOLD, argc, argv);
}

int
cmd_release(int argc, char **argv)
{
	return action(RELEASE, argc, argv);
}
