/*
 * translate.c: bytes -> sets -> map -> CloudEvents, for one input.
 *
 * Error scope (DESIGN.md §5): a set's syntax or map errors reject that set
 * only; envelope errors are counted against the whole input.  Events are
 * delivered as each set is mapped so that memory stays flat; the daemon
 * holds them back until the interchange trailer has validated.
 */
#include "config.h"

#include <sys/mman.h>

#include <openssl/evp.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "catalog.h"
#include "conf.h"
#include "diag.h"
#include "digest.h"
#include "edi.h"
#include "edifact_ack.h"
#include "eglimits.h"
#include "err.h"
#include "event.h"
#include "jsonw.h"
#include "log.h"
#include "map.h"
#include "structure.h"
#include "translate.h"
#include "translator.h"
#include "x12_ack.h"
#include "xmalloc.h"

#define DROP_STEP	(8U << 20)	/* release consumed input every 8 MB */
/*
 * An input of at most this size stays mapped after its hash, so that the
 * parser reads pages already mapped instead of mapping each a second time
 * (docs/performance.md, "Reading the input").
 */
#define HASH_KEEP	(16U << 20)
#define EVENT_LIMIT_MSG	"the event is larger than %u bytes"
#define POOL_MAX	16		/* worker threads for one input */
#define POOL_RING	64		/* sets in flight per input */
/*
 * What the pool holds is bounded by bytes too: a set's tree, document and
 * event take about twenty times its text.  A larger set is worked on
 * inline, once the sets before it are through; a job keeps no more than
 * POOL_KEEP of memory once committed.
 */
#define POOL_SET_MAX	(512U * 1024)	/* bytes of one set, for the pool */
#define POOL_BYTES	(4U * 1024 * 1024) /* bytes of sets in flight */
#define POOL_KEEP	(256U * 1024)
#define CACHE_LINE	64

/* A diagnostic of one set, and whether it is a syntax one (for acks). */
struct jdiag {
	struct diag	 d;
	int		 tree;
};

/*
 * One set's work past the parser: its tree, map and event, and what they
 * produced.  Inline (direct), the parser's set is worked on and every
 * effect (diagnostic, acknowledgement, event) happens as it comes; in the
 * pool, a worker works on a copy and job_commit() replays the effects in
 * set order.
 */
struct tjob {
	/*
	 * Written by the caller's thread and a worker in turn: on cache
	 * lines of its own (CACHE_LINE), not half of its neighbour's.
	 */
	_Alignas(CACHE_LINE)
	struct edi_set	*set;		/* the parser's, or &copy */
	struct edi_set	 copy;		/* the pool's copy of the set */
	struct arena	 arena;		/* of copy: its segments and values */
	size_t		 budget;	/* of the tree and map, in the pool */
	const struct map *m;
	const struct structure *stc;
	const char	*partner;
	const char	*tz;
	int		 direct;
	int		 rejected;	/* syntax errors: not mapped */
	int		 broken;	/* m NULL: the map it needs is broken */
	int		 mapped;	/* an event was written */
	int		 done;		/* the pool's worker is through */
	size_t		 bytes;		/* the set's text, in the pool */
	/*
	 * The set's diagnostics, kept as they come: all of them are the
	 * event's (data.diagnostics) but for a failed event's own.  nout:
	 * how many had their effects; ack_set() goes before d[ack_at].
	 */
	struct jdiag	*d;
	size_t		 nd, dcap, nout, ack_at;
	int		 acked;
	struct buf	 ev;		/* the pool's event */
	const char	*evp;		/* where the event lies */
	size_t		 evlen;
	size_t		 shaat;		/* its sha256 stand-in; SIZE_MAX none */
	/*
	 * Not a set but an envelope's end (1 group, 2 interchange), queued
	 * after its sets rather than waiting for them: env, its segments
	 * copied into arena, and whether it was well formed.
	 */
	int		 envend, envok;
	struct edi_env	 env;
	/*
	 * Or a set the caller's thread only found the end of (on_msg): the
	 * worker parses it (wk_run).  npre: its parser's diagnostics, ahead
	 * of the others in d, which are not the event's.
	 */
	int		 wparse;
	struct edi_msg	 wmsg;
	size_t		 npre;
};

struct tctx;

/* The stand-in for the input's sha256 in a pool job's event. */
static const char sha_standin[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void	hash_wait(struct tctx *);
static void	hash_run(struct tctx *);
static void	env_end(struct tctx *, const struct edi_env *, int, int);

/* What one thread needs to work on sets. */
struct tw {
	_Alignas(CACHE_LINE)		/* written by its thread only */
	struct tctx	*t;
	struct tjob	*j;		/* being worked on */
	struct event_cache cache;	/* what its events share */
	/*
	 * The set's diagnostics as the JSON objects of data.diagnostics,
	 * written only for a set that gets its event: most sets with
	 * errors are rejected, and their JSON was never used.
	 */
	struct buf	 setdiags;
	struct buf	 event;		/* inline, with no caller's out */
	/*
	 * A pool job's tree and document: one arena per thread, reused
	 * set after set while it is in cache, where an arena per job would
	 * put each set in memory last touched a ring ago.
	 */
	struct arena	 arena;
	int		 in_tree;	/* diagnostics are syntax, for acks */
	void		*wk;		/* its parser of wparse jobs */
	struct diag_sink wds;		/* that parser's diagnostics */
	pthread_t	 tid;
};

/*
 * Three kinds of fields, each kind on cache lines of its own: a field the
 * caller's thread writes for every set must not share a line with one a
 * worker reads for every set (false sharing: profiled, the workers' read
 * of basename was a quarter of run_set's time).
 */
struct tctx {
	/* Read by every thread, written before the pool starts. */
	const struct translate_opts *o;
	struct translate_stats *st;
	struct slice	 input;
	/*
	 * With a pool the first worker hashes the input (hashpool) while
	 * the caller's thread compiles the first map and parses and maps the
	 * first sets; their events get a stand-in for sha256, replaced when
	 * each is committed (hash_wait).  sha256 is then written by that
	 * worker, and read only by the caller's thread, after hash_wait().
	 */
	char		 sha256[65];
	int		 hashpool;
	const char	*basename;	/* of o->filename, for the events */
	const struct translator *tr;	/* of the input */
	long		 pagesize;	/* for drop_behind; 0 unknown */
	enum edi_syntax	 syntax;	/* of the input, from the sniff */
	/*
	 * The pool (o->threads > 1): a ring of jobs, [head, run) being
	 * worked on or done, [run, tail) waiting; head is the oldest not
	 * committed.  mu guards run, tail, quit, idle, waitfor and the
	 * jobs' done.
	 */
	struct tw	*pw;
	unsigned	 npw;
	struct tjob	*job;

	/* The caller's thread's own (w0 and j0 are line-aligned). */
	struct tw	 w0;		/* the caller's thread */
	struct tjob	 j0;		/* inline */
	unsigned	 parse_set_errors; /* set-scope parser errors pending */
	size_t		 dropped;	/* bytes released with madvise */
	int		 stop;
	unsigned long	 head;
	size_t		 inflight;	/* bytes of the sets in [head, tail) */
	int		 hashing;	/* sha256 not known to be done */
	/*
	 * Where the events committed to o->out while hashing have their
	 * sha256 stand-in (o->out_held); hash_wait() mends them.
	 */
	size_t		*held;
	size_t		 nheld, heldcap;
	/* The partner of the last interchange (resolve_partner). */
	uint32_t	 pici;		/* its interchange_index; 0 none */
	char		*ppartner;
	const char	*ptz;
	/* catalog_select's answer for the last set's kind and partner. */
	int		 selvalid;
	enum edi_syntax	 selsyn;
	char		 seldt[16], selver[16], selpartner[256];
	const struct map *selmap;
	int		 selbroken;	/* selmap NULL: it does not compile */
	/* structure_select's answer for the last set's map and version. */
	int		 stcvalid;
	const struct map *stcmap;
	char		 stcver[16], stcpartner[256];
	const struct structure *stc;

	/* Shared, under mu. */
	_Alignas(CACHE_LINE)
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a job is waiting, or quit */
	pthread_cond_t	 jobdone;	/* job waitfor is done */
	unsigned long	 run, tail;
	struct tjob	*waitfor;
	unsigned	 idle;		/* workers waiting on work */
	int		 quit;
	atomic_int	 hashed;	/* the first worker is through */
};

/* n line-aligned elements of size bytes (a multiple of CACHE_LINE), zeroed. */
static void *
calloc_lines(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size > SIZE_MAX / n ||
	    (p = aligned_alloc(CACHE_LINE, n * size)) == NULL)
		fatalx("out of memory");
	return memset(p, 0, n * size);
}

/* A diagnostic as the JSON object of data.diagnostics[] (EVENTS.md §2). */
static void
diag_json(struct buf *b, const struct diag *d)
{
	struct jw	 w;

	if (b->len > 0)
		buf_addc(b, ',');
	jw_init(&w, b);
	jw_open(&w, '{');
	jw_kcstr(&w, "severity", d->sev == DIAG_ERROR ? "error" : "warning");
	jw_kcstr(&w, "code", d->code);
	jw_kcstr(&w, "rule", d->rule);
	jw_kcstr(&w, "field", d->field);
	jw_kcstr(&w, "source", d->source);
	if (d->setpos) {
		jw_key(&w, "segmentPosition");
		jw_int(&w, d->setpos);
	}
	jw_kcstr(&w, "loop", d->loop);
	jw_kcstr(&w, "message", d->msg);
	jw_close(&w, '}');
}

/*
 * The acknowledgement collector of the input's syntax sees its syntax
 * diagnostics (never map ones).
 */
static void
ack_diag(const struct tctx *t, const struct diag *d)
{
	if (t->o->ack && t->syntax == EDI_X12)
		x12_ack_diag(t->o->ack, d);
	if (t->o->contrl && t->syntax == EDI_EDIFACT)
		edifact_ack_diag(t->o->contrl, d);
}

static void
ack_set(const struct translate_opts *o, const struct edi_set *set)
{
	if (o->ack && set->env.syntax == EDI_X12)
		x12_ack_set(o->ack, set);
	if (o->contrl && set->env.syntax == EDI_EDIFACT)
		edifact_ack_set(o->contrl, set);
}

static void	pool_drain(struct tctx *);

/*
 * Parser diagnostics: straight through, counting set-scope errors.  With
 * a pool, the sets before go out first.
 */
static void
parse_diag(void *arg, const struct diag *d)
{
	struct tctx	*t = arg;

	if (t->job != NULL) {
		pool_drain(t);
		if (t->stop)
			return;
	}
	if (d->sev == DIAG_ERROR) {
		t->st->errors++;
		if (d->scope == DIAG_SCOPE_SET)
			t->parse_set_errors++;
	}
	ack_diag(t, d);
	if (t->o->on_diag)
		t->o->on_diag(t->o->arg, d);
}

/*
 * The effects of j's diagnostics and acknowledgement not yet had, in the
 * order they came: always on the caller's thread.
 */
static void
job_flush(struct tctx *t, struct tjob *j)
{
	const struct diag *d;

	for (;;) {
		if (!j->acked && j->ack_at == j->nout) {
			ack_set(t->o, j->set);
			j->acked = 1;
		}
		if (j->nout == j->nd)
			break;
		d = &j->d[j->nout].d;
		if (d->sev == DIAG_ERROR)
			t->st->errors++;
		if (j->d[j->nout].tree)
			ack_diag(t, d);
		if (t->o->on_diag)
			t->o->on_diag(t->o->arg, d);
		j->nout++;
	}
}

static void
job_add(struct tjob *j, const struct diag *d, int tree)
{
	if (j->nd == j->dcap) {
		j->dcap = j->dcap ? j->dcap * 2 : 16;
		j->d = xreallocarray(j->d, j->dcap, sizeof(*j->d));
	}
	j->d[j->nd].d = *d;
	j->d[j->nd].tree = tree;
	j->nd++;
}

/* Tree and map diagnostics: also kept for data.diagnostics. */
static void
set_diag(void *arg, const struct diag *d)
{
	struct tw	*w = arg;

	job_add(w->j, d, w->in_tree);
	if (w->j->direct)
		job_flush(w->t, w->j);
}

/* The set's acknowledgement follows the diagnostics so far. */
static void
job_ack(struct tw *w)
{
	w->j->ack_at = w->j->nd;
	if (w->j->direct)
		job_flush(w->t, w->j);
}

/* An error that rejects the whole set, placed at its header. */
static void
reject_init(struct diag *d, const struct edi_set *set, const char *code)
{
	diag_init(d, DIAG_ERROR, code);
	if (set->nseg > 0) {
		d->filepos = set->seg[0].filepos;
		d->setpos = 1;
		snprintf(d->tag, sizeof(d->tag), "%s", set->seg[0].tag);
	}
}

static void __attribute__((format(printf, 4, 5)))
set_reject(struct tw *w, const struct edi_set *set, const char *code,
    const char *fmt, ...)
{
	va_list		 ap;
	struct diag	 d;

	reject_init(&d, set, code);
	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof(d.msg), fmt, ap);
	va_end(ap);
	set_diag(w, &d);
}

static const char *
syntax_name(enum edi_syntax s)
{
	return s == EDI_X12 ? "X12" : s == EDI_EDIFACT ? "EDIFACT" : "XML";
}

static void
drop_behind(struct tctx *t, const char *upto)
{
	long		 pg = t->pagesize;
	size_t		 off, end;

	if (!t->o->drop_behind || pg <= 0 || upto < t->input.p ||
	    upto > t->input.p + t->input.len)
		return;
	off = (size_t)(upto - t->input.p);
	/* Release consumed pages of a large mapping in steps. */
	if (off < t->dropped + DROP_STEP)
		return;
	end = off & ~((size_t)pg - 1);
	/* The mapping starts page-aligned (mmap). */
	madvise((void *)(uintptr_t)(t->input.p + t->dropped), end - t->dropped,
	    MADV_DONTNEED);
	t->dropped = end;
}

/*
 * -p wins; else the configured partner whose x12_id is ISA05:ISA06 or
 * whose edifact_id is UNB S002; else the sender's envelope identity
 * (EVENTS.md §1).
 */
static char *
resolve_partner(const struct translate_opts *o, const struct edi_set *set,
    const char **tz)
{
	const struct partner	*p = NULL;
	const struct slice	*q, *id;
	char			*qs, *ids;

	if (o->partner != NULL) {
		p = conf_partner(o->conf, o->partner);
		*tz = p ? p->timezone : NULL;
		return xstrdup(o->partner);
	}
	if (o->conf != NULL && set->env.syntax == EDI_X12) {
		q = edi_value(set->env.interchange, 5, 1, 1);
		id = edi_value(set->env.interchange, 6, 1, 1);
		qs = q ? slice_strdup(slice_trim(*q)) : xstrdup("");
		ids = id ? slice_strdup(slice_trim(*id)) : xstrdup("");
		p = conf_partner_x12(o->conf, qs, ids);
		free(qs);
		free(ids);
	} else if (o->conf != NULL && set->env.syntax == EDI_EDIFACT) {
		id = edi_value(set->env.interchange, 2, 1, 1);	/* S002 */
		q = edi_value(set->env.interchange, 2, 2, 1);
		ids = id ? slice_strdup(*id) : xstrdup("");
		qs = q ? slice_strdup(*q) : xstrdup("");
		p = conf_partner_edifact(o->conf, ids, qs);
		free(qs);
		free(ids);
	}
	if (p != NULL) {
		*tz = p->timezone;
		return xstrdup(p->id);
	}
	return event_default_partner(set);
}

/*
 * The sets of one interchange share its partner, and sets of the same
 * kind from the same partner the map: both are worked out once.  The
 * partner returned is t's own for an interchange (valid until the next
 * one), else *owned, which the caller frees.
 */
static const char *
set_partner(struct tctx *t, const struct edi_set *set, const char **tz,
    char **owned)
{
	*owned = NULL;
	if ((set->env.syntax != EDI_X12 && set->env.syntax != EDI_EDIFACT) ||
	    set->env.interchange == NULL || set->env.interchange_index == 0)
		return *owned = resolve_partner(t->o, set, tz);
	if (t->ppartner == NULL || t->pici != set->env.interchange_index) {
		free(t->ppartner);
		t->ptz = NULL;
		t->ppartner = resolve_partner(t->o, set, &t->ptz);
		t->pici = set->env.interchange_index;
	}
	*tz = t->ptz;
	return t->ppartner;
}

/*
 * catalog_select, and in *broken whether it answered NULL because the map
 * that would accept the set does not compile.  A lazy catalogue's first
 * compile prints its errors: the sets before go out first.
 */
static const struct map *
select_now(struct tctx *t, const struct edi_set *set, const char *partner,
    int *broken)
{
	const struct map *m;
	unsigned long	 nb = catalog_broken(t->o->cat);

	if (t->job != NULL &&
	    catalog_select_compiles(t->o->cat, set, partner))
		pool_drain(t);
	m = catalog_select(t->o->cat, set, partner);
	*broken = m == NULL && catalog_broken(t->o->cat) != nb;
	return m;
}

static const struct map *
select_map(struct tctx *t, const struct edi_set *set, const char *partner,
    int *broken)
{
	size_t		 pl = strlen(partner);

	if (set->env.syntax == EDI_XML || set->doctype.len >=
	    sizeof(t->seldt) || set->version.len >= sizeof(t->selver) ||
	    pl >= sizeof(t->selpartner))
		return select_now(t, set, partner, broken);
	if (t->selvalid && t->selsyn == set->env.syntax &&
	    slice_eqs(set->doctype, t->seldt) &&
	    slice_eqs(set->version, t->selver) &&
	    strcmp(partner, t->selpartner) == 0) {
		*broken = t->selbroken;
		return t->selmap;
	}
	t->selmap = select_now(t, set, partner, &t->selbroken);
	*broken = t->selbroken;
	t->selsyn = set->env.syntax;
	memcpy(t->seldt, set->doctype.p, set->doctype.len);
	t->seldt[set->doctype.len] = '\0';
	memcpy(t->selver, set->version.p, set->version.len);
	t->selver[set->version.len] = '\0';
	memcpy(t->selpartner, partner, pl + 1);
	t->selvalid = 1;
	return t->selmap;
}

/*
 * The structure variant for a set mapped with m (NULL for XML maps, which
 * have none); a file's sets mostly share map, version and partner, so the
 * last answer is kept.
 */
static const struct structure *
select_structure(struct tctx *t, const struct map *m,
    const struct edi_set *set, const char *partner)
{
	size_t	 pl;

	if (map_structure(m) == NULL)
		return NULL;
	if (t->stcvalid && t->stcmap == m &&
	    slice_eqs(set->version, t->stcver) &&
	    strcmp(partner, t->stcpartner) == 0)
		return t->stc;
	t->stc = structure_select(map_structure(m), set->version, partner);
	pl = strlen(partner);
	t->stcvalid = set->version.len < sizeof(t->stcver) &&
	    pl < sizeof(t->stcpartner);
	if (t->stcvalid) {
		t->stcmap = m;
		memcpy(t->stcver, set->version.p, set->version.len);
		t->stcver[set->version.len] = '\0';
		memcpy(t->stcpartner, partner, pl + 1);
	}
	return t->stc;
}

/* env.partner.NAME in maps: the partner's configuration keys. */
static const char *
partner_value(void *arg, const char *name)
{
	const struct partner	*p = arg;

	if (p == NULL)
		return NULL;
	if (strcmp(name, "id") == 0)
		return p->id;
	if (strcmp(name, "name") == 0)
		return p->name;
	if (strcmp(name, "x12_id") == 0)
		return p->x12_id;
	if (strcmp(name, "edifact_id") == 0)
		return p->edifact_id;
	if (strcmp(name, "ack") == 0)
		return p->ack;
	if (strcmp(name, "timezone") == 0)
		return p->timezone;
	return NULL;
}

/*
 * The event at the end of the caller's output (o->out) or in w's own
 * buffer, inline, or in the job's in the pool; capped at EG_MAX_EVENT_SIZE
 * from where it starts.  On failure nothing of it is left.
 */
static int
write_event(struct tw *w, const struct map *m, const struct mdoc *doc,
    const struct event_origin *origin)
{
	struct tjob	*j = w->j;
	struct buf	*b;
	size_t		 mark, max, i;
	int		 r;

	if (!j->direct)
		b = &j->ev;
	else
		b = w->t->o->out != NULL ? w->t->o->out : &w->event;
	if (b != w->t->o->out)
		buf_reset(b);
	mark = b->len;
	max = b->max;
	if (mark <= max && max - mark > EG_MAX_EVENT_SIZE)
		b->max = mark + EG_MAX_EVENT_SIZE;
	buf_reset(&w->setdiags);
	for (i = j->npre; i < j->nd; i++)
		diag_json(&w->setdiags, &j->d[i].d);
	r = event_write(&w->cache, b, m, j->set, doc, w->setdiags.p,
	    w->setdiags.len, origin);
	b->max = max;
	if (r != 0) {
		b->len = mark;
		if (b->p != NULL)
			b->p[mark] = '\0';
		return r;
	}
	j->evp = b->p + mark;
	j->evlen = b->len - mark;
	return 0;
}

/*
 * A set past the parser: its tree (validation), map and event.  On any
 * thread: what it does to the input's state goes through j, for
 * job_commit() (directly, as it comes, when j is inline).
 */
static void
run_set1(struct tw *w, struct tjob *j)
{
	const struct translate_opts *o = w->t->o;
	struct edi_set		*set = j->set;
	struct diag_sink	 ds = { set_diag, w, 0, 0 };
	struct map_env		 menv;
	struct event_origin	 origin;
	struct mdoc		*doc = NULL;
	char			*dt, *ver;
	int			 r;

	if (j->m == NULL) {
		job_ack(w);	/* no structure: envelope checks only */
		dt = slice_strdup(set->doctype);
		ver = slice_strdup(set->version);
		if (o->force_map != NULL)
			set_reject(w, set, "NO-MAP",
			    "map does not accept %s version %s",
			    dt, ver);
		else if (set->xml_request.len > 0)
			set_reject(w, set, "NO-MAP", "no map for cXML %.*s%s",
			    (int)set->xml_request.len, set->xml_request.p,
			    j->broken ? ": the map for it does not compile" :
			    "");
		else
			set_reject(w, set, "NO-MAP", "no map for %s %s%s",
			    syntax_name(set->env.syntax), dt, j->broken ?
			    ": the map for it does not compile" : "");
		free(dt);
		free(ver);
		goto reject;
	}
	/* XML maps have no structure: the tree is an empty root. */
	w->in_tree = 1;
	if ((r = edi_tree_build(set, j->stc, &ds)) != 0 || set->rejected)
		j->rejected = 1;
	w->in_tree = 0;
	job_ack(w);
	if (j->rejected)
		goto reject;	/* AK5 R: syntax errors are not mapped */

	memset(&menv, 0, sizeof(menv));
	menv.partner_id = j->partner;
	menv.partner_value = partner_value;
	menv.partner_arg = (void *)(uintptr_t)conf_partner(o->conf,
	    j->partner);
	menv.timezone = j->tz;
	menv.trace = o->trace;
	menv.trace_arg = o->arg;
	if ((r = map_eval(j->m, set, &menv, &doc, &ds)) == EG_ERR_LIMIT) {
		set_reject(w, set, "MAP-SET-LIMIT", "the set's memory limit "
		    "(EG_MAX_SET_ARENA) was reached while mapping it");
		goto reject;
	}
	if (r != 0 || doc == NULL)
		goto reject;

	memset(&origin, 0, sizeof(origin));
	origin.partner = j->partner;
	origin.protocol = o->protocol ? o->protocol : "FILE";
	origin.filename = w->t->basename;
	if (j->direct) {
		hash_wait(w->t);	/* the caller's thread */
		origin.sha256 = w->t->sha256;
	} else {
		origin.sha256 = sha_standin;
		origin.sha256_at = &j->shaat;
	}
	origin.doc_id = o->doc_id;
	origin.received = o->received;
	/* `timezone partner` (the default) takes the partner's zone. */
	origin.timezone = map_timezone(j->m) != NULL &&
	    strcmp(map_timezone(j->m), "partner") != 0 ? map_timezone(j->m) :
	    j->tz;
	if (write_event(w, j->m, doc, &origin) != 0) {
		set_reject(w, set, "EVENT-LIMIT", EVENT_LIMIT_MSG,
		    EG_MAX_EVENT_SIZE);
		goto reject;
	}
	j->mapped = 1;
	return;

reject:
	j->mapped = 0;
}

static void
run_set(struct tw *w, struct tjob *j)
{
	w->j = j;
	if (!j->direct) {
		arena_reset(&w->arena);
		w->arena.max = j->budget;
		j->set->arena = &w->arena;
	}
	run_set1(w, j);
	if (!j->direct && w->arena.used > POOL_KEEP)
		arena_free(&w->arena);	/* an unusually large set's */
}

static int	copy_slice(struct tctx *, struct arena *, struct slice *);

/* A wparse job's parser diagnostics: kept, ahead of the set's own. */
static void
wk_diag(void *arg, const struct diag *d)
{
	struct tw	*w = arg;

	job_add(w->j, d, 1);
}

/*
 * A wparse job's set, on the worker that parsed it: rejected as on_set()
 * would have it (the parser's set-scope errors), worked on, then kept as
 * job_commit() reads it once the parser has gone on: its header segment,
 * names and text in the job's arena.  No acknowledgement is collected
 * when sets are offered, so nothing reads its envelope or values there.
 */
static int
wk_set(void *arg, struct edi_set *set)
{
	struct tw	*w = arg;
	struct tjob	*j = w->j;
	struct edi_set	*c = &j->copy;
	struct edi_seg	*hs;
	size_t		 i, used;

	j->npre = j->nd;
	for (i = 0; i < j->nd; i++)
		if (j->d[i].d.sev == DIAG_ERROR &&
		    j->d[i].d.scope == DIAG_SCOPE_SET)
			j->rejected = 1;
	if (set->rejected)
		j->rejected = 1;
	used = set->arena != NULL ? set->arena->used : 0;
	j->budget = used < EG_MAX_SET_ARENA ? EG_MAX_SET_ARENA - used : 0;
	j->set = set;
	run_set(w, j);

	*c = *set;
	c->root = NULL;
	c->arena = NULL;
	c->env.interchange = c->env.group = NULL;
	c->seg = NULL;
	c->nseg = 0;
	if (set->nseg > 0 &&
	    (hs = arena_alloc_raw(&j->arena, sizeof(*hs))) != NULL) {
		*hs = set->seg[0];
		hs->val = NULL;
		hs->nval = 0;
		hs->loop = NULL;
		c->seg = hs;
		c->nseg = 1;
	}
	if (copy_slice(w->t, &j->arena, &c->doctype) != 0 ||
	    copy_slice(w->t, &j->arena, &c->version) != 0 ||
	    copy_slice(w->t, &j->arena, &c->control) != 0)
		c->doctype = c->version = c->control = slice_make("", 0);
	j->set = c;
	return 0;
}

/*
 * A wparse job: this thread parses the set, with a parser of its own (the
 * translator's msg_parse), and works on it as it comes (wk_set).
 */
static void
wk_run(struct tw *w, struct tjob *j)
{
	struct edi_handler h;
	int		 r;

	memset(&h, 0, sizeof(h));
	h.set = wk_set;
	h.diags = &w->wds;
	w->wds.emit = wk_diag;
	w->wds.arg = w;
	w->j = j;
	j->set = NULL;
	if ((r = w->t->tr->msg_parse(&w->wk, &j->wmsg, &h, w)) != 0 ||
	    j->set == NULL)
		fatalx("translate: the %s set at segment %u was not read as "
		    "it was found (%s)", syntax_name(w->t->syntax),
		    j->wmsg.filepos + 1, eg_strerror(r));
}

/*
 * A pool job: a set is worked on, or a message parsed first; an
 * envelope's end has nothing to do.
 */
static void
job_run(struct tw *w, struct tjob *j)
{
	if (j->wparse)
		wk_run(w, j);
	else if (!j->envend)
		run_set(w, j);
}

/*
 * j's effects, in set order, on the caller's thread.  What the worker
 * built in its own arena (the tree: j->copy.root, the segments' loop, an
 * X12 element's repetitions) may be gone by now, reused by the worker's
 * next set: only the job's own copies (its segments, values, diagnostics
 * and event) are read here; ack_set() tests root, never follows it.
 */
static void
job_commit(struct tctx *t, struct tjob *j)
{
	const struct translate_opts *o = t->o;
	const char	*ev = j->evp;
	struct diag	 d;
	size_t		 mark;
	int		 hold = 0;

	if (j->wparse) {
		edi_snap_drop(j->wmsg.snap);
		j->wparse = 0;
	}
	if (t->stop)
		return;		/* the caller has had enough */
	if (j->envend) {
		env_end(t, &j->env, j->envend, j->envok);
		return;
	}
	t->st->sets++;
	if (!j->direct) {	/* inline, every effect has been had */
		job_flush(t, j);
		drop_behind(t, j->set->raw.p);
	}
	if (j->mapped && !j->direct && j->shaat != SIZE_MAX &&
	    j->evlen >= 64 && j->shaat <= j->evlen - 64) {
		/*
		 * While the input is hashed, the event goes out with its
		 * stand-in, mended in o->out later, rather than waiting.
		 */
		if (t->hashing && o->out != NULL && o->out_held != NULL &&
		    o->out->len + j->evlen <= TRANSLATE_HOLD_MAX &&
		    !atomic_load_explicit(&t->hashed, memory_order_acquire))
			hold = 1;
		else {
			hash_wait(t);
			memcpy(j->ev.p + (j->evp - j->ev.p) + j->shaat,
			    t->sha256, 64);
		}
	}
	if (j->mapped && !j->direct && o->out != NULL) {
		/*
		 * Into the caller's out, where an inline set writes its
		 * event; what does not fit there is the inline EVENT-LIMIT.
		 */
		mark = o->out->len;
		if (buf_add(o->out, j->evp, j->evlen) != 0) {
			if (o->out->p != NULL)
				o->out->p[mark] = '\0';
			reject_init(&d, j->set, "EVENT-LIMIT");
			snprintf(d.msg, sizeof(d.msg), EVENT_LIMIT_MSG,
			    EG_MAX_EVENT_SIZE);
			job_add(j, &d, 0);
			job_flush(t, j);
			j->mapped = 0;
		} else {
			ev = o->out->p + mark;
			if (hold) {
				if (t->nheld == t->heldcap)
					t->held = xreallocarray(t->held,
					    t->heldcap = t->heldcap ?
					    t->heldcap * 2 : 256,
					    sizeof(*t->held));
				t->held[t->nheld++] = mark + j->shaat;
				*o->out_held = 1;
			}
		}
	}
	if (!j->mapped) {
		t->st->rejected++;
		return;
	}
	t->st->translated++;
	if (o->on_event && o->on_event(o->arg, ev, j->evlen) != 0)
		t->stop = 1;
}

/* Ready j for a set, with nothing of the set before. */
static void
job_clear(struct tjob *j, const struct map *m, const struct structure *stc,
    const char *tz, int rejected, int broken)
{
	j->m = m;
	j->broken = broken;
	j->envend = 0;
	j->stc = stc;
	j->tz = tz;
	j->rejected = rejected;
	j->nd = j->nout = j->npre = 0;
	j->wparse = 0;
	j->ack_at = SIZE_MAX;
	j->acked = j->mapped = j->done = 0;
	j->evp = NULL;
	j->evlen = 0;
	j->shaat = SIZE_MAX;
}

static void
job_free(struct tjob *j)
{
	free(j->d);
	buf_free(&j->ev);
	arena_free(&j->arena);
}

/* Whether s lies in the input (and so outlives the parser's buffers). */
static inline int
in_input(const struct tctx *t, struct slice s)
{
	return (uintptr_t)s.p - (uintptr_t)t->input.p <= t->input.len &&
	    s.len <= t->input.len - ((uintptr_t)s.p - (uintptr_t)t->input.p);
}

static int
copy_out(struct arena *a, struct slice *s)
{
	char	*p;

	if ((p = arena_alloc_raw(a, s->len)) == NULL)
		return -1;
	memcpy(p, s->p, s->len);
	s->p = p;
	return 0;
}

static int
copy_slice(struct tctx *t, struct arena *a, struct slice *s)
{
	return s->len == 0 || in_input(t, *s) ? 0 : copy_out(a, s);
}

/*
 * What is left of a set's segments to copy once its arena is the job's
 * (vals_kept: its values, and the text of those the parser had to
 * rewrite, lie there or in the input), or everything but what lies in the
 * input.  raw_in: the segments' text is known to lie in the input.  (A
 * parser's segments have no loop yet: the tree builder sets it.)
 */
static int
copy_segs(struct tctx *t, struct arena *a, struct edi_seg *sg, size_t n,
    int raw_in, int vals_kept)
{
	struct edi_val	*v;
	size_t		 i, k;

	if (raw_in && vals_kept)
		return 0;	/* X12: all of it is there */
	for (i = 0; i < n; i++) {
		if (!raw_in && sg[i].raw.len != 0 && !in_input(t, sg[i].raw) &&
		    copy_out(a, &sg[i].raw) != 0)
			return -1;
		if (vals_kept || sg[i].nval == 0)
			continue;
		if ((v = arena_allocarray_raw(a, sg[i].nval,
		    sizeof(*v))) == NULL)
			return -1;
		memcpy(v, sg[i].val, sg[i].nval * sizeof(*v));
		sg[i].val = v;
		for (k = 0; k < sg[i].nval; k++)
			if (v[k].s.len != 0 && !in_input(t, v[k].s) &&
			    copy_out(a, &v[k].s) != 0)
				return -1;
	}
	return 0;
}

static int
copy_env_seg(struct tctx *t, struct arena *a, const struct edi_seg **sp)
{
	struct edi_seg	*c;

	if (*sp == NULL)
		return 0;
	if ((c = arena_alloc_raw(a, sizeof(*c))) == NULL)
		return -1;
	*c = **sp;
	c->loop = NULL;
	*sp = c;
	return copy_segs(t, a, c, 1, 0, 0);
}

/*
 * j's arena, emptied for a new job; uncapped, as what goes in was capped
 * where it was made (by the parser, or the envelope's arena).  A zeroed
 * arena (a new job's, or one job_trim() freed) is an empty one.
 */
static void
job_arena(struct tjob *j)
{
	arena_reset(&j->arena);
	j->arena.max = SIZE_MAX;
}

/*
 * Hand s to j: the set's arena (its values, and their text where the
 * parser rewrote it) becomes the job's, the parser going on with the
 * job's old one, and the rest (the segment array, names) is copied there;
 * what lies in the input stays there.  A parser arena grown past
 * POOL_KEEP stays the parser's and its values are copied.  -1 (with s as
 * it was) when that cannot be done: the set is then worked on inline.
 */
static int
job_copy(struct tctx *t, struct tjob *j, struct edi_set *s,
    const char *partner)
{
	struct arena	*a = &j->arena;
	struct edi_set	*c = &j->copy;
	char		*p;
	size_t		 pl = strlen(partner), used;
	/*
	 * The parser's arena is handed over only while it is small: one
	 * grown by a set worked inline stays the parser's (its set is
	 * copied), as does the chunk the next large set would need again.
	 */
	int		 own = s->arena != NULL &&
			    arena_held(s->arena) <= POOL_KEEP;

	job_arena(j);
	/*
	 * The tree and the map get what they would inline: the cap less
	 * what the parser took (its segment array is not counted there).
	 */
	used = s->arena != NULL ? s->arena->used : 0;
	j->budget = used < EG_MAX_SET_ARENA ? EG_MAX_SET_ARENA - used : 0;
	if (own)
		arena_swap(a, s->arena);
	*c = *s;
	c->root = NULL;
	c->arena = a;
	if (s->nseg > 0) {
		if ((c->seg = arena_allocarray_raw(a, s->nseg,
		    sizeof(*c->seg))) == NULL)
			goto fail;
		memcpy(c->seg, s->seg, s->nseg * sizeof(*c->seg));
	}
	/* segs_in_raw: every segment's text lies in the set's */
	if (copy_segs(t, a, c->seg, c->nseg,
	    s->segs_in_raw && in_input(t, s->raw), own) != 0 ||
	    copy_env_seg(t, a, &c->env.interchange) != 0 ||
	    copy_env_seg(t, a, &c->env.group) != 0 ||
	    copy_slice(t, a, &c->doctype) != 0 ||
	    copy_slice(t, a, &c->version) != 0 ||
	    copy_slice(t, a, &c->control) != 0 ||
	    copy_slice(t, a, &c->raw) != 0 ||
	    (p = arena_alloc_raw(a, pl + 1)) == NULL)
		goto fail;
	memcpy(p, partner, pl + 1);
	j->partner = p;
	j->set = c;
	return 0;
fail:
	if (own)
		arena_swap(a, s->arena);
	return -1;
}

static void *
pool_main(void *arg)
{
	struct tw	*w = arg;
	struct tctx	*t = w->t;
	struct tjob	*j;

	if (w == &t->pw[0] && t->hashpool)
		hash_run(t);
	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->run == t->tail && !t->quit) {
			t->idle++;
			pthread_cond_wait(&t->work, &t->mu);
			t->idle--;
		}
		if (t->run == t->tail)
			break;
		j = &t->job[t->run++ % POOL_RING];
		pthread_mutex_unlock(&t->mu);
		job_run(w, j);
		pthread_mutex_lock(&t->mu);
		j->done = 1;
		if (t->waitfor == j)
			pthread_cond_signal(&t->jobdone);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* No room in the pool for a set of need bytes until a job is committed. */
static int
pool_full(const struct tctx *t, size_t need)
{
	return t->head < t->tail && (t->tail - t->head == POOL_RING ||
	    t->inflight + need > POOL_BYTES);
}

/* A committed job gives back what an unusually large set made it keep. */
static void
job_trim(struct tjob *j)
{
	if (arena_held(&j->arena) > POOL_KEEP)
		arena_free(&j->arena);
	if (j->ev.cap > POOL_KEEP) {
		buf_free(&j->ev);
		buf_init(&j->ev, EG_MAX_EVENT_SIZE + 1);
	}
	if (j->dcap > POOL_KEEP / sizeof(*j->d)) {
		free(j->d);
		j->d = NULL;
		j->dcap = 0;
	}
}

/*
 * With mu held: the caller's thread works on the next waiting job, as a
 * worker would; mu is released.
 */
static void
caller_runs(struct tctx *t)
{
	struct tjob	*j = &t->job[t->run++ % POOL_RING];

	pthread_mutex_unlock(&t->mu);
	job_run(&t->w0, j);
	pthread_mutex_lock(&t->mu);
	j->done = 1;
	pthread_mutex_unlock(&t->mu);
}

/* With mu held: until the job at head is done (mu still held). */
static void
wait_head(struct tctx *t)
{
	t->waitfor = &t->job[t->head % POOL_RING];
	while (!t->waitfor->done)
		pthread_cond_wait(&t->jobdone, &t->mu);
	t->waitfor = NULL;
}

/*
 * Commit the jobs done at the head of the ring.  need (not 0): until
 * there is room for a set of need bytes, working on the sets waiting in
 * the ring meanwhile: the caller's thread parses faster than a worker
 * maps, so it is one of the workers too.
 */
static void
pool_commit(struct tctx *t, size_t need)
{
	struct tjob	*j;
	unsigned long	 n, i;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		if (need && pool_full(t, need) &&
		    !t->job[t->head % POOL_RING].done) {
			if (t->run < t->tail) {
				caller_runs(t);	/* full: work, not wait */
				continue;
			}
			wait_head(t);
		}
		for (n = 0; t->head + n < t->tail &&
		    t->job[(t->head + n) % POOL_RING].done; n++)
			;
		pthread_mutex_unlock(&t->mu);
		/* while the input is hashed, what can wait for it does */
		if (need && t->hashing && !pool_full(t, need) &&
		    !atomic_load_explicit(&t->hashed, memory_order_acquire))
			return;
		for (i = 0; i < n; i++) {
			j = &t->job[(t->head + i) % POOL_RING];
			job_commit(t, j);
			t->inflight -= j->bytes;
			job_trim(j);
		}
		t->head += n;
		if (!need || !pool_full(t, need))
			return;
	}
}

/* Commit every job queued: before anything else has an effect. */
static void
pool_drain(struct tctx *t)
{
	while (t->head < t->tail) {
		pthread_mutex_lock(&t->mu);
		if (!t->job[t->head % POOL_RING].done && t->run < t->tail) {
			caller_runs(t);	/* work on a waiting set, not wait */
			continue;
		}
		wait_head(t);
		pthread_mutex_unlock(&t->mu);
		pool_commit(t, 0);
	}
}

/* o->threads workers, or none (all inline) when they cannot start. */
static void
pool_start(struct tctx *t, unsigned n)
{
	unsigned	 i;

	if (n > POOL_MAX)
		n = POOL_MAX;
	/*
	 * Time conversions read the zone (TZ) on first use: done here, not
	 * by two workers at once.
	 */
	tzset();
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->work, NULL);
	pthread_cond_init(&t->jobdone, NULL);
	t->job = calloc_lines(POOL_RING, sizeof(*t->job));
	t->pw = calloc_lines(n, sizeof(*t->pw));
	for (i = 0; i < POOL_RING; i++)
		buf_init(&t->job[i].ev, EG_MAX_EVENT_SIZE + 1);
	for (i = 0; i < n; i++) {
		t->pw[i].t = t;
		buf_init(&t->pw[i].setdiags, EG_MAX_EVENT_SIZE);
		if (pthread_create(&t->pw[i].tid, NULL, pool_main,
		    &t->pw[i]) != 0)
			break;
		t->npw++;
	}
	if (t->npw == 0)
		log_warnx("translate: no worker thread, working inline");
}

static void
pool_stop(struct tctx *t)
{
	unsigned	 i;

	if (t->job == NULL)
		return;
	pool_drain(t);
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	pthread_cond_broadcast(&t->work);
	pthread_mutex_unlock(&t->mu);
	for (i = 0; i < t->npw; i++)
		pthread_join(t->pw[i].tid, NULL);
	for (i = 0; t->pw != NULL && i < t->npw; i++) {
		buf_free(&t->pw[i].setdiags);
		event_cache_free(&t->pw[i].cache);
		arena_free(&t->pw[i].arena);
		if (t->pw[i].wk != NULL)
			t->tr->wk_free(t->pw[i].wk);
	}
	for (i = 0; i < POOL_RING; i++)
		job_free(&t->job[i]);
	free(t->job);
	free(t->pw);
	t->job = NULL;
	pthread_cond_destroy(&t->jobdone);
	pthread_cond_destroy(&t->work);
	pthread_mutex_destroy(&t->mu);
}

/* The job at tail, filled, goes to the workers. */
static void
pool_publish(struct tctx *t)
{
	pthread_mutex_lock(&t->mu);
	t->tail++;
	if (t->idle > 0)
		pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
}

/*
 * Hand s to the pool: 0, or -1 to work on it inline (XML, a set too large
 * for the pool, or one job_copy cannot hand over).
 */
static int
pool_put(struct tctx *t, struct edi_set *s, const struct map *m,
    const struct structure *stc, const char *partner, const char *tz,
    int rejected, int broken)
{
	struct tjob	*j;

	if (t->npw == 0 || s->env.syntax == EDI_XML ||
	    s->raw.len > POOL_SET_MAX)
		return -1;
	pool_commit(t, s->raw.len);
	j = &t->job[t->tail % POOL_RING];
	job_clear(j, m, stc, tz, rejected, broken);
	if (job_copy(t, j, s, partner) != 0)
		return -1;
	j->bytes = s->raw.len;
	t->inflight += j->bytes;
	pool_publish(t);
	return 0;
}

/* The map and structure for set from partner: on_set(), on_msg(). */
static const struct map *
set_map(struct tctx *t, const struct edi_set *set, const char *partner,
    const struct structure **stc, int *broken)
{
	const struct map *m;

	*stc = NULL;
	*broken = 0;
	if (t->o->force_map != NULL)
		m = map_accepts(t->o->force_map, set) ? t->o->force_map : NULL;
	else
		m = select_map(t, set, partner, broken);
	if (m != NULL)
		*stc = select_structure(t, m, set, partner);
	return m;
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct tctx		*t = arg;
	struct tjob		*j = &t->j0;
	const struct map	*m;
	const struct structure	*stc = NULL;
	const char		*partner;
	char			*owned;
	const char		*tz = NULL;
	int			 rejected, broken = 0;

	if (t->stop)
		return EG_ERR_REJECTED;	/* the pool's caller stopped */
	rejected = t->parse_set_errors > 0 || set->rejected;
	t->parse_set_errors = 0;

	partner = set_partner(t, set, &tz, &owned);
	m = set_map(t, set, partner, &stc, &broken);
	if (t->job != NULL) {
		if (pool_put(t, set, m, stc, partner, tz, rejected,
		    broken) == 0) {
			free(owned);
			return t->stop ? EG_ERR_REJECTED : 0;
		}
		pool_drain(t);
		if (t->stop) {
			free(owned);
			return EG_ERR_REJECTED;
		}
	}
	drop_behind(t, set->raw.p);
	job_clear(j, m, stc, tz, rejected, broken);
	j->direct = 1;
	j->set = set;
	j->partner = partner;
	run_set(&t->w0, j);
	job_commit(t, j);
	free(owned);
	return t->stop ? EG_ERR_REJECTED : 0;
}

/*
 * A set the parser found whole (struct edi_msg).  With a pool and no
 * acknowledgement to collect, a worker parses it as well as working on it,
 * so that its values are made in the cache where they are read; the
 * caller's thread only found its end.  0: the parser reads it (on_set).
 */
static int
on_msg(void *arg, const struct edi_set *hdr, const struct edi_msg *msg)
{
	struct tctx		*t = arg;
	const struct translate_opts *o = t->o;
	const struct map	*m;
	const struct structure	*stc = NULL;
	const char		*partner, *tz = NULL;
	char			*owned, *p;
	struct tjob		*j;
	size_t			 pl;
	int			 broken = 0;

	if (t->job == NULL || t->stop || o->ack != NULL ||
	    o->contrl != NULL || t->parse_set_errors > 0 ||
	    msg->raw.len > POOL_SET_MAX)
		return 0;
	partner = set_partner(t, hdr, &tz, &owned);
	if (owned != NULL) {	/* no UNB: not offered */
		free(owned);
		return 0;
	}
	m = set_map(t, hdr, partner, &stc, &broken);
	if (t->stop)
		return EG_ERR_REJECTED;
	pool_commit(t, msg->raw.len);
	j = &t->job[t->tail % POOL_RING];
	job_clear(j, m, stc, tz, 0, broken);
	job_arena(j);
	pl = strlen(partner);
	if ((p = arena_alloc_raw(&j->arena, pl + 1)) == NULL)
		return 0;
	memcpy(p, partner, pl + 1);
	j->partner = p;
	j->wparse = 1;
	j->wmsg = *msg;
	edi_snap_hold(msg->snap);
	j->set = NULL;
	j->bytes = msg->raw.len;
	t->inflight += j->bytes;
	pool_publish(t);
	return 1;
}

/*
 * With a pool, an envelope's end goes into the ring behind its sets, its
 * segments copied (the parser rewrites them at the next envelope): -1
 * when it cannot (no worker), for env_end() once the sets are through.
 */
static int
pool_put_end(struct tctx *t, const struct edi_env *env, int kind, int ok)
{
	struct tjob	*j;

	if (t->npw == 0)
		return -1;
	pool_commit(t, 1);	/* room for one more job */
	j = &t->job[t->tail % POOL_RING];
	job_clear(j, NULL, NULL, NULL, 0, 0);
	job_arena(j);
	j->env = *env;
	if (copy_env_seg(t, &j->arena, &j->env.interchange) != 0 ||
	    copy_env_seg(t, &j->arena, &j->env.group) != 0)
		return -1;
	j->envend = kind;
	j->envok = ok;
	j->bytes = 0;
	pool_publish(t);
	return 0;
}

/* An envelope's end (kind 1 group, 2 interchange), after its sets. */
static void
env_end(struct tctx *t, const struct edi_env *env, int kind, int ok)
{
	if (!ok)
		t->st->envelope_errors++;
	if (kind == 1) {
		if (t->o->ack && env->syntax == EDI_X12)
			x12_ack_group_end(t->o->ack, env, ok);
		if (t->o->contrl && env->syntax == EDI_EDIFACT)
			edifact_ack_group_end(t->o->contrl, env, ok);
	} else {
		if (t->o->ack && env->syntax == EDI_X12)
			x12_ack_interchange_end(t->o->ack, env, ok);
		if (t->o->contrl && env->syntax == EDI_EDIFACT)
			edifact_ack_interchange_end(t->o->contrl, env, ok);
	}
	if (t->o->on_envelope)
		t->o->on_envelope(t->o->arg, kind, ok);
}

static int
envelope_end(struct tctx *t, const struct edi_env *env, int kind, int ok)
{
	if (t->job != NULL) {
		if (pool_put_end(t, env, kind, ok) == 0)
			return t->stop ? EG_ERR_REJECTED : 0;
		pool_drain(t);	/* the sets come first */
		if (t->stop)
			return EG_ERR_REJECTED;
	}
	env_end(t, env, kind, ok);
	return 0;
}

static int
on_group_end(void *arg, const struct edi_env *env, int ok)
{
	return envelope_end(arg, env, 1, ok);
}

static int
on_interchange_end(void *arg, const struct edi_env *env, int ok)
{
	return envelope_end(arg, env, 2, ok);
}

/*
 * rawRef.sha256 names the whole input, so it is computed before the first
 * event; in chunks, releasing each chunk of a file mapping once hashed so
 * that the peak RSS does not depend on the file's size.  An input of up to
 * HASH_KEEP bytes is kept: the parser's drop_behind() releases it.
 */
static void
sha256_hex(struct slice in, int drop, char out[65])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	unsigned int	 n = 0, i;
	size_t		 off, len;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, digest_sha256(), NULL) != 1)
		fatalx("sha256: cannot initialise");
	if (in.len <= HASH_KEEP)
		drop = 0;
	for (off = 0; off < in.len; off += len) {
		len = in.len - off < DROP_STEP ? in.len - off : DROP_STEP;
		EVP_DigestUpdate(ctx, in.p + off, len);
		if (drop && len == DROP_STEP)
			madvise((void *)(uintptr_t)(in.p + off), len,
			    MADV_DONTNEED);
	}
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The first worker's first task (t->hashpool): the input's sha256. */
static void
hash_run(struct tctx *t)
{
	sha256_hex(t->input, t->o->drop_behind, t->sha256);
	pthread_mutex_lock(&t->mu);
	atomic_store_explicit(&t->hashed, 1, memory_order_release);
	pthread_cond_broadcast(&t->jobdone);
	pthread_mutex_unlock(&t->mu);
}

/* t->sha256 may be read from here on (the caller's thread). */
static void
hash_wait(struct tctx *t)
{
	size_t	 i;

	if (!t->hashing)
		return;
	if (!atomic_load_explicit(&t->hashed, memory_order_acquire)) {
		pthread_mutex_lock(&t->mu);
		while (!atomic_load_explicit(&t->hashed, memory_order_acquire))
			pthread_cond_wait(&t->jobdone, &t->mu);
		pthread_mutex_unlock(&t->mu);
	}
	t->hashing = 0;
	/* the events held in o->out: mended, and free to go */
	for (i = 0; i < t->nheld; i++)
		memcpy(t->o->out->p + t->held[i], t->sha256, 64);
	t->nheld = 0;
	if (t->o->out_held != NULL)
		*t->o->out_held = 0;
}

int
translate_bytes(struct slice input, const struct translate_opts *o,
    struct translate_stats *st)
{
	const struct translator	*tr;
	struct diag_sink	 ds;
	struct edi_handler	 h;
	struct tctx		 t;
	struct diag		 d;
	int			 r, pool;

	memset(st, 0, sizeof(*st));
	memset(&t, 0, sizeof(t));
	atomic_init(&t.hashed, 0);
	t.o = o;
	t.st = st;
	t.input = input;
	t.pagesize = o->drop_behind ? sysconf(_SC_PAGESIZE) : 0;
	t.basename = o->filename;
	if (t.basename != NULL && strrchr(t.basename, '/') != NULL)
		t.basename = strrchr(t.basename, '/') + 1;

	if ((tr = translator_sniff(input)) == NULL) {
		st->not_edi = 1;
		st->errors++;
		diag_init(&d, DIAG_ERROR, "NOT-EDI");
		d.scope = DIAG_SCOPE_FILE;
		diag_msg(&d, "not an X12, EDIFACT or XML document "
		    "(no ISA, UNA/UNB or XML root at the start)");
		if (o->on_diag)
			o->on_diag(o->arg, &d);
		return EG_ERR_REJECTED;
	}
	ds.emit = parse_diag;
	ds.arg = &t;
	ds.nerror = ds.nwarning = 0;
	t.w0.t = &t;
	buf_init(&t.w0.setdiags, EG_MAX_EVENT_SIZE);
	buf_init(&t.w0.event, EG_MAX_EVENT_SIZE);
	memset(&h, 0, sizeof(h));
	h.set = on_set;
	h.group_end = on_group_end;
	h.interchange_end = on_interchange_end;
	h.diags = &ds;
	t.tr = tr;
	t.syntax = tr == &translator_x12 ? EDI_X12 :
	    tr == &translator_edifact ? EDI_EDIFACT : EDI_XML;
	/* with a pool, the first worker hashes the input (hash_run) */
	pool = o->threads > 1 && o->trace == NULL && t.syntax != EDI_XML;
	t.hashing = t.hashpool = pool;
	if (pool)
		pool_start(&t, (unsigned)o->threads - 1);
	if (t.npw == 0) {
		t.hashing = 0;
		sha256_hex(input, o->drop_behind, t.sha256);
	} else if (o->ack == NULL && o->contrl == NULL &&
	    tr->msg_parse != NULL)
		h.msg = on_msg;	/* the workers parse the sets */
	r = tr->parse(input, o->filename, &h, &t);
	if (t.job != NULL)
		hash_wait(&t);	/* before pool_stop takes mu away */
	pool_stop(&t);
	buf_free(&t.w0.setdiags);
	free(t.j0.d);
	buf_free(&t.w0.event);
	event_cache_free(&t.w0.cache);
	arena_free(&t.w0.arena);
	if (t.w0.wk != NULL)
		tr->wk_free(t.w0.wk);
	free(t.ppartner);
	free(t.held);
	if (r != 0 && !t.stop && r != EG_ERR_REJECTED && r != EG_ERR_SYNTAX &&
	    r != EG_ERR_LIMIT)
		return r;
	if (r != 0 || t.stop || st->rejected || st->envelope_errors ||
	    st->errors || st->sets == 0)
		return EG_ERR_REJECTED;
	return 0;
}
