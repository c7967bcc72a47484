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

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "conf.h"
#include "diag.h"
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

struct tctx {
	const struct translate_opts *o;
	struct translate_stats *st;
	struct slice	 input;
	char		 sha256[65];
	const char	*basename;	/* of o->filename, for the events */
	/*
	 * The set's diagnostics, kept as they come and written as JSON
	 * objects into setdiags only for a set that gets its event: most
	 * sets with errors are rejected, and their JSON was never used.
	 */
	struct diag	*sd;
	size_t		 nsd, sdcap;
	struct buf	 setdiags;
	struct buf	 event;		/* the event being written */
	struct event_cache cache;	/* what its events share */
	unsigned	 parse_set_errors; /* set-scope parser errors pending */
	size_t		 dropped;	/* bytes released with madvise */
	long		 pagesize;	/* for drop_behind; 0 unknown */
	int		 stop;
	int		 in_tree;	/* diagnostics are syntax, for acks */
	int		 in_set;	/* diagnostics belong to the event */
	enum edi_syntax	 syntax;	/* of the input, from the sniff */
	/* The partner of the last interchange (resolve_partner). */
	uint32_t	 pici;		/* its interchange_index; 0 none */
	char		*ppartner;
	const char	*ptz;
	/* catalog_select's answer for the last set's kind and partner. */
	int		 selvalid;
	enum edi_syntax	 selsyn;
	char		 seldt[16], selver[16], selpartner[256];
	const struct map *selmap;
	/* structure_select's answer for the last set's map and version. */
	int		 stcvalid;
	const struct map *stcmap;
	char		 stcver[16], stcpartner[256];
	const struct structure *stc;
};

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

/* Parser diagnostics: straight through, counting set-scope errors. */
static void
parse_diag(void *arg, const struct diag *d)
{
	struct tctx	*t = arg;

	if (d->sev == DIAG_ERROR) {
		t->st->errors++;
		if (d->scope == DIAG_SCOPE_SET)
			t->parse_set_errors++;
	}
	ack_diag(t, d);
	if (t->o->on_diag)
		t->o->on_diag(t->o->arg, d);
}

/* Tree and map diagnostics: also kept for data.diagnostics. */
static void
set_diag(void *arg, const struct diag *d)
{
	struct tctx	*t = arg;

	if (d->sev == DIAG_ERROR)
		t->st->errors++;
	if (t->in_set) {
		if (t->nsd == t->sdcap) {
			t->sdcap = t->sdcap ? t->sdcap * 2 : 16;
			t->sd = xreallocarray(t->sd, t->sdcap, sizeof(*t->sd));
		}
		t->sd[t->nsd++] = *d;
	}
	if (t->in_tree)
		ack_diag(t, d);
	if (t->o->on_diag)
		t->o->on_diag(t->o->arg, d);
}

static void __attribute__((format(printf, 4, 5)))
set_reject(struct tctx *t, const struct edi_set *set, const char *code,
    const char *fmt, ...)
{
	va_list		 ap;
	struct diag	 d;

	diag_init(&d, DIAG_ERROR, code);
	if (set->nseg > 0) {
		d.filepos = set->seg[0].filepos;
		d.setpos = 1;
		snprintf(d.tag, sizeof(d.tag), "%s", set->seg[0].tag);
	}
	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof(d.msg), fmt, ap);
	va_end(ap);
	set_diag(t, &d);
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

	if (!t->o->drop_behind || pg <= 0 || upto < t->input.p)
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

static const struct map *
select_map(struct tctx *t, const struct edi_set *set, const char *partner)
{
	size_t	 pl = strlen(partner);

	if (set->env.syntax == EDI_XML || set->doctype.len >=
	    sizeof(t->seldt) || set->version.len >= sizeof(t->selver) ||
	    pl >= sizeof(t->selpartner))
		return catalog_select(t->o->cat, set, partner);
	if (t->selvalid && t->selsyn == set->env.syntax &&
	    slice_eqs(set->doctype, t->seldt) &&
	    slice_eqs(set->version, t->selver) &&
	    strcmp(partner, t->selpartner) == 0)
		return t->selmap;
	t->selmap = catalog_select(t->o->cat, set, partner);
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
 * The event at the end of the caller's output (o->out) or in t's own
 * buffer, capped at EG_MAX_EVENT_SIZE from where it starts; on failure
 * nothing of it is left.  *ev and *len: where it lies.
 */
static int
write_event(struct tctx *t, const struct map *m, const struct edi_set *set,
    const struct mdoc *doc, const struct event_origin *origin,
    const char **ev, size_t *len)
{
	struct buf	*b = t->o->out != NULL ? t->o->out : &t->event;
	size_t		 mark, max, i;
	int		 r;

	if (b == &t->event)
		buf_reset(b);
	mark = b->len;
	max = b->max;
	if (mark <= max && max - mark > EG_MAX_EVENT_SIZE)
		b->max = mark + EG_MAX_EVENT_SIZE;
	buf_reset(&t->setdiags);
	for (i = 0; i < t->nsd; i++)
		diag_json(&t->setdiags, &t->sd[i]);
	r = event_write(&t->cache, b, m, set, doc, t->setdiags.p,
	    t->setdiags.len, origin);
	b->max = max;
	if (r != 0) {
		b->len = mark;
		if (b->p != NULL)
			b->p[mark] = '\0';
		return r;
	}
	*ev = b->p + mark;
	*len = b->len - mark;
	return 0;
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct tctx		*t = arg;
	const struct translate_opts *o = t->o;
	const struct map	*m;
	const struct structure	*stc;
	struct diag_sink	 ds = { set_diag, t, 0, 0 };
	struct map_env		 menv;
	struct event_origin	 origin;
	const char		*partner;
	char			*owned, *dt, *ver;
	const char		*tz = NULL;
	struct mdoc		*doc = NULL;
	const char		*ev;
	size_t			 evlen;
	int			 r, rejected;

	t->st->sets++;
	drop_behind(t, set->raw.p);
	rejected = t->parse_set_errors > 0 || set->rejected;
	t->parse_set_errors = 0;
	t->nsd = 0;
	t->in_set = 1;

	partner = set_partner(t, set, &tz, &owned);
	if (o->force_map != NULL)
		m = map_accepts(o->force_map, set) ? o->force_map : NULL;
	else
		m = select_map(t, set, partner);
	if (m == NULL) {
		ack_set(o, set);	/* no structure: envelope checks only */
		dt = slice_strdup(set->doctype);
		ver = slice_strdup(set->version);
		if (o->force_map != NULL)
			set_reject(t, set, "NO-MAP",
			    "map does not accept %s version %s",
			    dt, ver);
		else if (set->xml_request.len > 0)
			set_reject(t, set, "NO-MAP", "no map for cXML %.*s",
			    (int)set->xml_request.len, set->xml_request.p);
		else
			set_reject(t, set, "NO-MAP", "no map for %s %s",
			    syntax_name(set->env.syntax), dt);
		free(dt);
		free(ver);
		goto reject;
	}
	/* XML maps have no structure: the tree is an empty root. */
	stc = select_structure(t, m, set, partner);
	t->in_tree = 1;
	if ((r = edi_tree_build(set, stc, &ds)) != 0 || set->rejected)
		rejected = 1;
	t->in_tree = 0;
	ack_set(o, set);
	if (rejected)
		goto reject;	/* AK5 R: syntax errors are not mapped */

	memset(&menv, 0, sizeof(menv));
	menv.partner_id = partner;
	menv.partner_value = partner_value;
	menv.partner_arg = (void *)(uintptr_t)conf_partner(o->conf, partner);
	menv.timezone = tz;
	menv.trace = o->trace;
	menv.trace_arg = o->arg;
	if (map_eval(m, set, &menv, &doc, &ds) != 0 || doc == NULL)
		goto reject;

	memset(&origin, 0, sizeof(origin));
	origin.partner = partner;
	origin.protocol = o->protocol ? o->protocol : "FILE";
	origin.filename = t->basename;
	origin.sha256 = t->sha256;
	origin.doc_id = o->doc_id;
	origin.received = o->received;
	/* `timezone partner` (the default) takes the partner's zone. */
	origin.timezone = map_timezone(m) != NULL &&
	    strcmp(map_timezone(m), "partner") != 0 ? map_timezone(m) : tz;
	t->in_set = 0;
	if (write_event(t, m, set, doc, &origin, &ev, &evlen) != 0) {
		set_reject(t, set, "EVENT-LIMIT", "the event is larger than "
		    "%u bytes", EG_MAX_EVENT_SIZE);
		goto reject;
	}
	t->st->translated++;
	if (o->on_event && o->on_event(o->arg, ev, evlen) != 0)
		t->stop = 1;
	free(owned);
	return t->stop ? EG_ERR_REJECTED : 0;

reject:
	t->in_set = 0;
	t->st->rejected++;
	free(owned);
	return 0;
}

static int
on_group_end(void *arg, const struct edi_env *env, int ok)
{
	struct tctx	*t = arg;

	if (!ok)
		t->st->envelope_errors++;
	if (t->o->ack && env->syntax == EDI_X12)
		x12_ack_group_end(t->o->ack, env, ok);
	if (t->o->contrl && env->syntax == EDI_EDIFACT)
		edifact_ack_group_end(t->o->contrl, env, ok);
	if (t->o->on_envelope)
		t->o->on_envelope(t->o->arg, 1, ok);
	return 0;
}

static int
on_interchange_end(void *arg, const struct edi_env *env, int ok)
{
	struct tctx	*t = arg;

	if (!ok)
		t->st->envelope_errors++;
	if (t->o->ack && env->syntax == EDI_X12)
		x12_ack_interchange_end(t->o->ack, env, ok);
	if (t->o->contrl && env->syntax == EDI_EDIFACT)
		edifact_ack_interchange_end(t->o->contrl, env, ok);
	if (t->o->on_envelope)
		t->o->on_envelope(t->o->arg, 2, ok);
	return 0;
}

/*
 * rawRef.sha256 names the whole input, so it is computed before the first
 * event; in chunks, releasing each chunk of a file mapping once hashed so
 * that the peak RSS does not depend on the file's size.
 */
static void
sha256_hex(struct slice in, int drop, char out[65])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	unsigned int	 n = 0, i;
	size_t		 off, len;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("sha256: cannot initialise");
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

int
translate_bytes(struct slice input, const struct translate_opts *o,
    struct translate_stats *st)
{
	const struct translator	*tr;
	struct diag_sink	 ds;
	struct edi_handler	 h;
	struct tctx		 t;
	struct diag		 d;
	int			 r;

	memset(st, 0, sizeof(*st));
	memset(&t, 0, sizeof(t));
	t.o = o;
	t.st = st;
	t.input = input;
	t.pagesize = o->drop_behind ? sysconf(_SC_PAGESIZE) : 0;
	t.basename = o->filename;
	if (t.basename != NULL && strrchr(t.basename, '/') != NULL)
		t.basename = strrchr(t.basename, '/') + 1;
	sha256_hex(input, o->drop_behind, t.sha256);

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
	buf_init(&t.setdiags, EG_MAX_EVENT_SIZE);
	buf_init(&t.event, EG_MAX_EVENT_SIZE);
	memset(&h, 0, sizeof(h));
	h.set = on_set;
	h.group_end = on_group_end;
	h.interchange_end = on_interchange_end;
	h.diags = &ds;
	t.syntax = tr == &translator_x12 ? EDI_X12 :
	    tr == &translator_edifact ? EDI_EDIFACT : EDI_XML;
	r = tr->parse(input, o->filename, &h, &t);
	buf_free(&t.setdiags);
	free(t.sd);
	buf_free(&t.event);
	event_cache_free(&t.cache);
	free(t.ppartner);
	if (r != 0 && !t.stop && r != EG_ERR_REJECTED && r != EG_ERR_SYNTAX &&
	    r != EG_ERR_LIMIT)
		return r;
	if (r != 0 || st->rejected || st->envelope_errors || st->errors ||
	    st->sets == 0)
		return EG_ERR_REJECTED;
	return 0;
}
