/*
 * cmd_ops.c: the operator's read-only view of the store (DESIGN.md §10):
 * `edigate status`, `partners`, `docs`, `show ID`, `events`, `acks`,
 * `jobs` and `dlq`.
 *
 * Every command opens the store with STORE_RDONLY and reads it in one
 * short read transaction, so it runs beside the daemon (another process
 * writing) and never changes anything.  Each listing is built once as
 * jansson values: --json prints them as one JSON document, the default
 * prints them as an aligned table (times UTC ISO 8601, ids in full).
 * Exit codes are sysexits(3): 64 usage, 65 a record failing validation,
 * 66 no store or no such id, 74 stdout, 78 configuration.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "cmd.h"
#include "as2_cms.h"
#include "buf.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "store.h"
#include "xmalloc.h"

#define DOCS_PAGE	128	/* documents read per store_doc_list() */
#define LIMIT_DEFAULT	50	/* rows of docs and events without --limit */
#define ERROR_WIDTH	60	/* error and reason columns of a table */

#define NDOCSTATE	(STORE_DOC_QUARANTINED + 1)
#define NJOBSTATE	(STORE_JOB_HELD + 1)
#define NJOBKIND	(STORE_JOB_TRANSLATE + 1)
#define NACKKIND	(STORE_ACK_ERP + 1)
#define NACKSTATE	(STORE_ACK_OVERDUE + 1)

/* The options of all listings; each command accepts some of them. */
struct ops {
	const char	*config;
	const char	*partner;
	const char	*type;
	const char	*doc;
	const char	*biz;
	int		 docstate;		/* enum store_doc_state, 0 any */
	int		 jobstate;		/* enum store_job_state, 0 any */
	int		 jobkind;		/* enum store_job_kind, 0 any */
	int		 ackkind;		/* enum store_ack_kind, 0 any */
	const char	*state, *kind;		/* as given */
	long		 limit;			/* 0: no limit */
	int		 json;
	int		 raw;
	int		 overdue;
	int64_t		 now;
};

static const struct option lopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, 'j' },
	{ "partner", required_argument, NULL, 'p' },
	{ "state", required_argument, NULL, 's' },
	{ "type", required_argument, NULL, 't' },
	{ "kind", required_argument, NULL, 'k' },
	{ "limit", required_argument, NULL, 'n' },
	{ "raw", no_argument, NULL, 'r' },
	{ "overdue", no_argument, NULL, 'o' },
	{ "doc", required_argument, NULL, 'd' },
	{ "biz", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const char *
job_kind_name(int k)
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
parse_name(const char *s, const char *(*name)(int), int max)
{
	int	 i;

	for (i = 1; i < max; i++)
		if (strcmp(s, name(i)) == 0)
			return i;
	return 0;
}

static const char *
doc_state_name(int i)
{
	return store_doc_state_name((enum store_doc_state)i);
}

static const char *
job_state_name(int i)
{
	return store_job_state_name((enum store_job_state)i);
}

static const char *
ack_kind_name(int i)
{
	return store_ack_kind_name((enum store_ack_kind)i);
}

/* Usage error naming the accepted values of an option. */
static int
bad_value(const char *cmd, const char *opt, const char *val,
    const char *(*name)(int), int max)
{
	int	 i;

	fprintf(stderr, "edigate %s: unknown %s '%s' (one of", cmd, opt, val);
	for (i = 1; i < max; i++)
		fprintf(stderr, "%s %s", i > 1 ? "," : "", name(i));
	fprintf(stderr, ")\n");
	return EX_USAGE;
}

/*
 * Parse argv for command cmd accepting the long options in allowed (their
 * letters); *argcp and *argvp get the operands.  0, or an exit code (the
 * usage printed; --help is 0 as exit but -1 here, to stop).
 */
static int
ops_parse(const char *cmd, const char *allowed, int *argcp, char ***argvp,
    struct ops *o)
{
	char	*end;
	int	 ch, argc = *argcp;
	char	**argv = *argvp;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	while ((ch = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		if (ch != 'h' && ch != 'c' && strchr(allowed, ch) == NULL)
			ch = '?';
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'p':
			o->partner = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 't':
			o->type = optarg;
			break;
		case 'k':
			o->kind = optarg;
			break;
		case 'n':
			errno = 0;
			o->limit = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o->limit < 0) {
				fprintf(stderr, "edigate %s: --limit %s: not a "
				    "count (0 for no limit)\n", cmd, optarg);
				return EX_USAGE;
			}
			break;
		case 'r':
			o->raw = 1;
			break;
		case 'o':
			o->overdue = 1;
			break;
		case 'd':
			o->doc = optarg;
			break;
		case 'b':
			o->biz = optarg;
			break;
		case 'h':
			cmd_usage(cmd, stdout);
			return -1;
		default:
			return cmd_usage(cmd, stderr);
		}
	}
	*argcp = argc - optind;
	*argvp = argv + optind;
	if (o->limit < 0)
		o->limit = LIMIT_DEFAULT;
	o->now = store_now();
	return 0;
}

/* --- output --- */

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *
jstr(const char *s)
{
	json_t	*j;
	char	*c;
	size_t	 i;

	if ((j = json_string(s)) != NULL)
		return j;
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

static json_t *
jstrn(const char *p, size_t len)
{
	char	*c = xstrndup(p, len);
	json_t	*j = jstr(c);

	free(c);
	return j;
}

static json_t *
jtime(int64_t ms)
{
	char	 t[CMD_TIME_LEN];

	if (ms <= 0 || ms == STORE_DUE_NEVER)
		return json_null();
	cmd_time(ms, t, sizeof(t));
	return json_string(t);
}

static json_t *
jid(const uint8_t id[STORE_ID_LEN])
{
	char	 t[STORE_ID_TEXT];
	size_t	 i;

	for (i = 0; i < STORE_ID_LEN && id[i] == 0; i++)
		;
	if (i == STORE_ID_LEN)
		return json_null();
	store_id_format(id, t);
	return json_string(t);
}

static json_t *
jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static void
set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v != NULL ? v : json_null());
}

/* Flush stdout: 0, or EX_IOERR with the reason printed. */
static int
finish(int ex)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "edigate: stdout: %s\n", strerror(errno));
		return EX_IOERR;
	}
	return ex;
}

static int
print_json(json_t *j)
{
	int	 rc;

	rc = json_dumpf(j, stdout, JSON_INDENT(2));
	json_decref(j);
	if (rc != 0 || putchar('\n') == EOF)
		return finish(EX_IOERR);
	return finish(0);
}

/* Pretty-print JSON text (indented by indent); the text as is if bad. */
static void
print_pretty(struct slice text, int indent)
{
	json_error_t	 err;
	json_t		*j;
	char		*s, *line, *nl;

	if ((j = json_loadb(text.p, text.len, JSON_DECODE_ANY, &err)) == NULL) {
		printf("%*s%.*s\n", indent, "", (int)text.len, text.p);
		return;
	}
	s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	json_decref(j);
	for (line = s; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		printf("%*s%s\n", indent, "", line);
	}
	free(s);
}

/* One cell of a table: text into buf, at most max bytes ("..." cut). */
static const char *
cell(json_t *v, char *buf, size_t size, int max)
{
	size_t	 n;

	if (v == NULL || json_is_null(v))
		snprintf(buf, size, "-");
	else if (json_is_string(v))
		snprintf(buf, size, "%s", *json_string_value(v) ?
		    json_string_value(v) : "-");
	else if (json_is_integer(v))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, size, "?");
	for (n = 0; buf[n] != '\0'; n++)
		if (buf[n] == '\n' || buf[n] == '\t' || buf[n] == '\r')
			buf[n] = ' ';
	if (max > 3 && n > (size_t)max) {
		n = (size_t)max - 3;
		/* Never cut a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)buf[n] & 0xc0) == 0x80)
			n--;
		memcpy(buf + n, "...", 4);
	}
	return buf;
}

struct col {
	const char	*key;
	const char	*head;
	int		 max;		/* 0: no limit */
};

#define MAX_COLS	24

/* Rows (flat objects) as aligned columns; none: the line empty. */
static void
table(json_t *rows, const struct col *cols, size_t ncol, const char *empty)
{
	char	 buf[EG_MAX_STORE_ERROR + EG_MAX_STORE_FIELD + 8];
	size_t	 i, c, w[MAX_COLS], len;
	json_t	*r;

	if (json_array_size(rows) == 0) {
		if (empty != NULL)
			printf("%s\n", empty);
		return;
	}
	for (c = 0; c < ncol && c < MAX_COLS; c++)
		w[c] = strlen(cols[c].head);
	json_array_foreach(rows, i, r)
		for (c = 0; c < ncol && c < MAX_COLS; c++) {
			len = strlen(cell(json_object_get(r, cols[c].key), buf,
			    sizeof(buf), cols[c].max));
			if (len > w[c])
				w[c] = len;
		}
	for (c = 0; c < ncol && c < MAX_COLS; c++)
		if (c + 1 < ncol)
			printf("%-*s  ", (int)w[c], cols[c].head);
		else
			printf("%s\n", cols[c].head);
	json_array_foreach(rows, i, r)
		for (c = 0; c < ncol && c < MAX_COLS; c++) {
			cell(json_object_get(r, cols[c].key), buf, sizeof(buf),
			    cols[c].max);
			if (c + 1 < ncol)
				printf("%-*s  ", (int)w[c], buf);
			else
				printf("%s\n", buf);
		}
}

/* "3d4h", "2h5m", "4m10s", "12s". */
static void
fmt_age(int64_t ms, char *out, size_t size)
{
	int64_t	 s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, size, "%" PRId64 "d%" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRId64 "h%" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRId64 "s", s);
}

static void
fmt_bytes(uint64_t b, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double	 v = (double)b;
	int	 u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%" PRIu64 " B", b);
	else
		snprintf(out, size, "%.1f %s", v, unit[u]);
}

/* --- records as JSON --- */

static json_t *
doc_json(const struct store_doc *d)
{
	json_t	*o = json_object();
	char	 sha[2 * STORE_SHA_LEN + 1];
	size_t	 i;

	set(o, "id", jid(d->id));
	if (d->unreadable) {
		set(o, "unreadable", json_true());
		set(o, "state", json_string("quarantined"));
		set(o, "error", jstr(d->error));
		return o;
	}
	for (i = 0; i < STORE_SHA_LEN; i++)
		snprintf(sha + 2 * i, 3, "%02x", d->sha256[i]);
	set(o, "state", json_string(store_doc_state_name(d->state)));
	set(o, "direction", json_string(d->direction == STORE_OUTBOUND ?
	    "outbound" : "inbound"));
	set(o, "received", jtime(d->received));
	set(o, "updated", jtime(d->updated));
	set(o, "partner", jstr(d->partner));
	set(o, "channel", jstr(d->channel));
	set(o, "name", jstr(d->name));
	set(o, "syntax", jstr(d->syntax));
	set(o, "doctype", jstr(d->doctype));
	set(o, "sender", jstr(d->sender));
	set(o, "receiver", jstr(d->receiver));
	set(o, "icn", jstr(d->icn));
	set(o, "gcn", jstr(d->gcn));
	set(o, "scn", jstr(d->scn));
	set(o, "size", jint(d->size));
	set(o, "sha256", json_string(sha));
	set(o, "purged", json_boolean(d->flags & STORE_DOCF_PURGED));
	set(o, "error", jstr(d->error));
	return o;
}

static json_t *
job_json(const struct store_job *j)
{
	json_t	*o = json_object();

	set(o, "id", jid(j->id));
	set(o, "kind", json_string(job_kind_name(j->kind)));
	set(o, "state", json_string(store_job_state_name(j->state)));
	set(o, "target", jstr(j->target));
	set(o, "ref", jid(j->ref));
	set(o, "due", jtime(j->due));
	set(o, "created", jtime(j->created));
	set(o, "first_try", jtime(j->first_try));
	set(o, "last_try", jtime(j->last_try));
	set(o, "attempts", jint(j->attempts));
	set(o, "error", jstr(j->error));
	return o;
}

static int
ack_overdue(const struct store_ack *a, int64_t now)
{
	return a->state == STORE_ACK_OVERDUE ||
	    (a->state == STORE_ACK_PENDING && a->due <= now);
}

static json_t *
ack_json(const struct store_ack *a, int64_t now)
{
	json_t	*o = json_object();

	set(o, "partner", jstr(a->partner));
	set(o, "kind", json_string(store_ack_kind_name(a->kind)));
	set(o, "ref", jstr(a->ref));
	set(o, "bizkey", a->bizkey[0] ? jstr(a->bizkey) : json_null());
	set(o, "state", json_string(store_ack_state_name(a->state)));
	set(o, "overdue", json_boolean(ack_overdue(a, now)));
	set(o, "created", jtime(a->created));
	set(o, "due", jtime(a->due));
	set(o, "resolved", jtime(a->resolved));
	set(o, "doc", jid(a->doc));
	set(o, "by", jid(a->by));
	set(o, "reason", jstr(a->reason));
	return o;
}

/* The CloudEvent's string member k, or null. */
static json_t *
ev_field(json_t *ev, const char *k)
{
	json_t	*v = ev != NULL ? json_object_get(ev, k) : NULL;

	return json_is_string(v) ? json_incref(v) : json_null();
}

/* An event's summary: ids and the CloudEvent's identifying members. */
static json_t *
event_json(const struct store_event_rec *e)
{
	json_error_t	 err;
	json_t		*o = json_object(), *ev;

	ev = json_loadb(e->json.p, e->json.len, 0, &err);
	set(o, "id", jid(e->id));
	set(o, "doc", jid(e->doc));
	set(o, "type", ev_field(ev, "type"));
	set(o, "time", ev_field(ev, "time"));
	set(o, "partner", ev_field(ev, "partner"));
	set(o, "subject", ev_field(ev, "subject"));
	set(o, "businesskey", ev_field(ev, "businesskey"));
	set(o, "idempotencykey", ev_field(ev, "idempotencykey"));
	if (ev == NULL)
		set(o, "invalid", json_true());
	json_decref(ev);
	return o;
}

/* --- walking the store --- */

/* A store walk failed: say why; the exit code. */
static int
store_failed(const char *cmd, int rc)
{
	fprintf(stderr, "edigate %s: %s\n", cmd, *store_errmsg() ?
	    store_errmsg() : eg_strerror(rc));
	return cmd_store_exit(rc);
}

static int
iszero_id(const uint8_t id[STORE_ID_LEN])
{
	size_t	 i;

	for (i = 0; i < STORE_ID_LEN; i++)
		if (id[i] != 0)
			return 0;
	return 1;
}

typedef int (*doc_fn)(void *arg, const struct store_doc *);

/* Every document passing f, newest first, a page at a time. */
static int
each_doc(struct store_rtxn *rt, struct store_doc_filter *f, doc_fn fn,
    void *arg)
{
	struct store_doc	*page;
	size_t			 i, n;
	int			 rc = 0;

	page = xcalloc(DOCS_PAGE, sizeof(*page));
	for (;;) {
		if ((rc = store_doc_list(rt, f, page, DOCS_PAGE, &n,
		    f->before)) != 0)
			break;
		for (i = 0; i < n; i++)
			if ((rc = fn(arg, &page[i])) != 0)
				goto out;
		if (n == 0 || iszero_id(f->before))
			break;
	}
out:
	free(page);
	return rc;
}

/* Open the store read-only and begin the one read transaction. */
static int
begin(const struct ops *o, struct conf **cf, struct store **s,
    struct store_rtxn **rt)
{
	int	 ex, rc;

	*rt = NULL;
	if ((ex = cmd_store_open(o->config, STORE_RDONLY, cf, s)) != 0)
		return ex;
	if ((rc = store_rtxn_begin(*s, rt)) != 0) {
		fprintf(stderr, "edigate: %s\n", store_errmsg());
		store_close(*s);
		*s = NULL;
		if (cf != NULL) {
			conf_free(*cf);
			*cf = NULL;
		}
		return cmd_store_exit(rc);
	}
	return 0;
}

static void
end(struct conf *cf, struct store *s, struct store_rtxn *rt)
{
	store_rtxn_end(rt);
	store_close(s);
	conf_free(cf);
}

/* --- channel state --- */

/* A channel's state as the poller last wrote it (store_chan_put). */
static json_t *
chan_json(const char *partner, const char *channel,
    const struct store_chan *c, int64_t now)
{
	json_t	*o = json_object();

	set(o, "partner", jstr(partner));
	set(o, "channel", jstr(channel));
	set(o, "server", jstr(c->server));
	set(o, "connected", json_boolean(c->connected));
	set(o, "last_poll", jtime(c->last_poll));
	set(o, "last_poll_age_s", c->last_poll > 0 ?
	    json_integer((now - c->last_poll) / 1000) : json_null());
	set(o, "last_ok", jtime(c->last_ok));
	set(o, "cycle_ms", jint(c->cycle_ms));
	set(o, "polls", jint(c->polls));
	set(o, "files", jint(c->files));
	set(o, "bytes", jint(c->bytes));
	set(o, "sent", jint(c->sent));
	set(o, "errors", jint(c->errors));
	set(o, "error", c->error[0] ? jstr(c->error) : json_null());
	set(o, "error_at", jtime(c->error_at));
	return o;
}

struct chans {
	json_t		*rows;
	int64_t		 now;
};

static int
chan_row(void *arg, const char *partner, const char *channel,
    const struct store_chan *c)
{
	struct chans	*cs = arg;

	json_array_append_new(cs->rows, chan_json(partner, channel, c,
	    cs->now));
	return 0;
}

/* "ok 2s ago", "error 4s ago", "never": the state in a few words. */
static json_t *
chan_brief(json_t *c)
{
	json_t	*age = json_object_get(c, "last_poll_age_s");
	char	 a[32], out[64];

	if (!json_is_integer(age))
		return json_string("never");
	fmt_age(json_integer_value(age) * 1000, a, sizeof(a));
	snprintf(out, sizeof(out), "%s %s ago",
	    json_is_null(json_object_get(c, "error")) ? "ok" : "error", a);
	return json_string(out);
}

/* --- status --- */

struct tally {
	int64_t		 now;
	uint64_t	 doc[NDOCSTATE], unreadable;
	uint64_t	 job[NJOBKIND][NJOBSTATE];
	int64_t		 oldest[NJOBKIND];	/* created, of pending jobs */
	uint64_t	 ack[NACKKIND][4];	/* pending, overdue, rejected,
						   accepted */
};

static int
tally_doc(void *arg, const struct store_doc *d)
{
	struct tally	*t = arg;

	if (d->unreadable)
		t->unreadable++;
	else if (d->state > 0 && d->state < NDOCSTATE)
		t->doc[d->state]++;
	return 0;
}

static int
tally_job(void *arg, const struct store_job *j)
{
	struct tally	*t = arg;

	if (j->kind <= 0 || j->kind >= NJOBKIND || j->state <= 0 ||
	    j->state >= NJOBSTATE)
		return 0;
	t->job[j->kind][j->state]++;
	if (j->state == STORE_JOB_PENDING && (t->oldest[j->kind] == 0 ||
	    j->created < t->oldest[j->kind]))
		t->oldest[j->kind] = j->created;
	return 0;
}

static int
tally_ack(void *arg, const struct store_ack *a)
{
	struct tally	*t = arg;

	if (a->kind <= 0 || a->kind >= NACKKIND)
		return 0;
	if (ack_overdue(a, t->now))
		t->ack[a->kind][1]++;
	else if (a->state == STORE_ACK_PENDING)
		t->ack[a->kind][0]++;
	else if (a->state == STORE_ACK_REJECTED)
		t->ack[a->kind][2]++;
	else if (a->state == STORE_ACK_ACCEPTED)
		t->ack[a->kind][3]++;
	return 0;
}

int
cmd_status(int argc, char **argv)
{
	static const struct col dbcols[] = {
		{ "db", "DATABASE", 0 }, { "entries", "ENTRIES", 0 },
	};
	static const struct col jobcols[] = {
		{ "kind", "JOBS", 0 }, { "pending", "PENDING", 0 },
		{ "inflight", "INFLIGHT", 0 }, { "held", "HELD", 0 },
		{ "dead", "DEAD", 0 }, { "done", "DONE", 0 },
		{ "oldest_pending", "OLDEST PENDING", 0 },
		{ "oldest_pending_age", "AGE", 0 },
	};
	static const struct col ackcols[] = {
		{ "kind", "ACKS", 0 }, { "pending", "PENDING", 0 },
		{ "overdue", "OVERDUE", 0 }, { "rejected", "REJECTED", 0 },
		{ "accepted", "ACCEPTED", 0 },
	};
	static const struct col chancols[] = {
		{ "partner", "PARTNER", 0 }, { "channel", "CHANNEL", 0 },
		{ "server", "SERVER", 0 }, { "connected", "CONN", 0 },
		{ "age", "LAST POLL", 0 }, { "cycle_ms", "CYCLE MS", 0 },
		{ "polls", "POLLS", 0 }, { "files", "FILES", 0 },
		{ "bytes_h", "BYTES", 0 }, { "sent", "SENT", 0 },
		{ "errors", "ERRORS", 0 }, { "error", "LAST ERROR", 60 },
	};
	struct chans	 cs;
	struct ops	 o;
	struct conf	*cf = NULL;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	struct store_stat st;
	struct store_doc_filter f;
	struct tally	*t;
	json_t		*root, *dbs, *docs, *jobs, *acks, *jrows, *arows, *r;
	struct buf	 certw;
	char		 path[EG_MAX_PATH], a[32], b[32], age[32];
	char		*line, *save;
	int		 ex, rc, i, k;

	if ((ex = ops_parse("status", "j", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("status", stderr);
	if ((ex = begin(&o, &cf, &s, &rt)) != 0)
		return ex;
	cmd_store_path(cf, path, sizeof(path));
	buf_init(&certw, 1 << 16);
	(void)as2_cert_warnings(cf, &certw);
	t = xcalloc(1, sizeof(*t));
	t->now = o.now;
	memset(&f, 0, sizeof(f));
	cs.rows = json_array();
	cs.now = o.now;
	if ((rc = store_stat(s, &st)) != 0 ||
	    (rc = each_doc(rt, &f, tally_doc, t)) != 0 ||
	    (rc = store_job_walk(rt, tally_job, t)) != 0 ||
	    (rc = store_ack_walk(rt, tally_ack, t)) != 0 ||
	    (rc = store_chan_walk(rt, chan_row, &cs)) != 0) {
		ex = store_failed("status", rc);
		json_decref(cs.rows);
		free(t);
		buf_free(&certw);
		end(cf, s, rt);
		return ex;
	}
	end(cf, s, rt);

	root = json_object();
	set(root, "store", jstr(path));
	set(root, "map_size", jint(st.map_size));
	set(root, "used", jint(st.used));
	set(root, "readers", jint(st.readers));
	set(root, "max_readers", jint(st.max_readers));
	dbs = json_object();
	for (i = 0; i < STORE_NDB; i++)
		set(dbs, store_db_name((enum store_db)i), jint(st.entries[i]));
	set(root, "entries", dbs);
	docs = json_object();
	for (i = 1; i < NDOCSTATE; i++)
		set(docs, doc_state_name(i), jint(t->doc[i]));
	set(docs, "unreadable", jint(t->unreadable));
	set(root, "documents", docs);
	jobs = json_object();
	jrows = json_array();
	for (k = 1; k < NJOBKIND; k++) {
		r = json_object();
		set(r, "kind", json_string(job_kind_name(k)));
		for (i = 1; i < NJOBSTATE; i++)
			set(r, job_state_name(i), jint(t->job[k][i]));
		set(r, "oldest_pending", jtime(t->oldest[k]));
		set(r, "oldest_pending_age_s", t->oldest[k] ?
		    json_integer((o.now - t->oldest[k]) / 1000) : json_null());
		json_array_append_new(jrows, json_deep_copy(r));
		json_object_del(r, "kind");
		set(jobs, job_kind_name(k), r);
	}
	set(root, "jobs", jobs);
	acks = json_object();
	arows = json_array();
	for (k = 1; k < NACKKIND; k++) {
		r = json_object();
		set(r, "kind", json_string(ack_kind_name(k)));
		set(r, "pending", jint(t->ack[k][0]));
		set(r, "overdue", jint(t->ack[k][1]));
		set(r, "rejected", jint(t->ack[k][2]));
		set(r, "accepted", jint(t->ack[k][3]));
		json_array_append_new(arows, json_deep_copy(r));
		json_object_del(r, "kind");
		set(acks, ack_kind_name(k), r);
	}
	set(root, "acks", acks);
	r = json_array();
	for (line = strtok_r(certw.p ? certw.p : (char *)"", "\n", &save);
	    line != NULL; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(r, json_string(line));
	set(root, "certificate_warnings", r);
	buf_free(&certw);
	set(root, "channels", json_incref(cs.rows));
	if (o.json) {
		json_decref(jrows);
		json_decref(arows);
		json_decref(cs.rows);
		free(t);
		return print_json(root);
	}

	fmt_bytes(st.map_size, a, sizeof(a));
	fmt_bytes(st.used, b, sizeof(b));
	printf("store      %s\n", path);
	printf("map        %s, %s used (%.1f%%)\n", a, b, st.map_size ?
	    100.0 * (double)st.used / (double)st.map_size : 0.0);
	printf("readers    %u of %u\n", st.readers, st.max_readers);
	printf("documents ");
	for (i = 1; i < NDOCSTATE; i++)
		printf(" %s %" PRIu64 "%s", doc_state_name(i), t->doc[i],
		    i + 1 < NDOCSTATE ? "," : "");
	if (t->unreadable)
		printf(", unreadable %" PRIu64, t->unreadable);
	printf("\n");
	for (i = 0; (size_t)i < json_array_size(json_object_get(root,
	    "certificate_warnings")); i++)
		printf("warning    %s\n", json_string_value(json_array_get(
		    json_object_get(root, "certificate_warnings"), (size_t)i)));
	printf("\n");
	{
		json_t	*rows = json_array();
		size_t	 n;

		for (i = 0; i < STORE_NDB; i++) {
			r = json_object();
			set(r, "db", json_string(store_db_name(
			    (enum store_db)i)));
			set(r, "entries", jint(st.entries[i]));
			json_array_append_new(rows, r);
		}
		table(rows, dbcols, 2, NULL);
		json_decref(rows);
		printf("\n");
		json_array_foreach(jrows, n, r) {
			json_t	*w = json_object_get(r, "oldest_pending_age_s");

			if (json_is_integer(w)) {
				fmt_age(json_integer_value(w) * 1000, age,
				    sizeof(age));
				set(r, "oldest_pending_age", json_string(age));
			}
		}
	}
	table(jrows, jobcols, 8, NULL);
	printf("\n");
	table(arows, ackcols, 5, NULL);
	{
		json_t	*r2, *w;
		size_t	 n;
		char	 bb[32];

		json_array_foreach(cs.rows, n, r2) {
			w = json_object_get(r2, "last_poll_age_s");
			if (json_is_integer(w)) {
				fmt_age(json_integer_value(w) * 1000, age,
				    sizeof(age));
				set(r2, "age", json_string(age));
			}
			fmt_bytes((uint64_t)json_integer_value(
			    json_object_get(r2, "bytes")), bb, sizeof(bb));
			set(r2, "bytes_h", json_string(bb));
		}
		if (json_array_size(cs.rows) > 0) {
			printf("\n");
			table(cs.rows, chancols, sizeof(chancols) /
			    sizeof(chancols[0]), NULL);
		}
	}
	json_decref(cs.rows);
	json_decref(jrows);
	json_decref(arows);
	json_decref(root);
	free(t);
	return finish(0);
}

/* --- partners --- */

struct prow {
	char		 id[STORE_FIELD];
	const struct partner *conf;
	uint64_t	 doc[NDOCSTATE], total;
	int64_t		 last;
	uint64_t	 ack_pending, ack_overdue, ack_rejected;
	struct store_chan sftp;
	int		 has_sftp;
};

struct ptab {
	struct prow	*row;
	size_t		 n, cap;
	int64_t		 now;
};

static struct prow *
prow_get(struct ptab *p, const char *id)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->row[i].id, id) == 0)
			return &p->row[i];
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->row = xreallocarray(p->row, p->cap, sizeof(*p->row));
	}
	memset(&p->row[p->n], 0, sizeof(p->row[p->n]));
	snprintf(p->row[p->n].id, sizeof(p->row[p->n].id), "%s", id);
	return &p->row[p->n++];
}

static int
partner_doc(void *arg, const struct store_doc *d)
{
	struct prow	*r;

	if (d->unreadable)
		return 0;
	r = prow_get(arg, d->partner);
	if (d->state > 0 && d->state < NDOCSTATE)
		r->doc[d->state]++;
	r->total++;
	if (d->received > r->last)
		r->last = d->received;
	return 0;
}

static int
partner_ack(void *arg, const struct store_ack *a)
{
	struct ptab	*p = arg;
	struct prow	*r = prow_get(p, a->partner);

	if (ack_overdue(a, p->now))
		r->ack_overdue++;
	else if (a->state == STORE_ACK_PENDING)
		r->ack_pending++;
	else if (a->state == STORE_ACK_REJECTED)
		r->ack_rejected++;
	return 0;
}

static int
partner_chan(void *arg, const char *partner, const char *channel,
    const struct store_chan *c)
{
	struct prow	*r;

	if (strcmp(channel, "sftp") != 0)
		return 0;
	r = prow_get(arg, partner);
	r->sftp = *c;
	r->has_sftp = 1;
	return 0;
}

static json_t *
jopt(const char *s)
{
	return s != NULL && *s != '\0' ? jstr(s) : json_null();
}

int
cmd_partners(int argc, char **argv)
{
	static const struct col cols[] = {
		{ "id", "PARTNER", 0 }, { "name", "NAME", 30 },
		{ "x12_id", "X12 ID", 0 }, { "edifact_id", "EDIFACT ID", 0 },
		{ "ack", "ACK", 0 }, { "total", "DOCS", 0 },
		{ "translated", "TRANSL", 0 }, { "rejected", "REJ", 0 },
		{ "duplicate", "DUP", 0 }, { "quarantined", "QUAR", 0 },
		{ "received", "RECV", 0 }, { "last_received", "LAST RECEIVED", 0 },
		{ "acks_pending", "ACK PEND", 0 },
		{ "acks_overdue", "OVERDUE", 0 },
		{ "acks_rejected", "NEG", 0 },
		{ "sftp", "SFTP", 0 }, { "sftp_files", "PULLED", 0 },
		{ "sftp_error", "SFTP ERROR", 50 },
	};
	struct ops	 o;
	struct conf	*cf = NULL;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	struct store_doc_filter f;
	struct ptab	 p;
	struct prow	*r;
	json_t		*rows, *flat, *row, *docs, *acks, *fr, *chans;
	size_t		 i;
	int		 ex, rc, k;

	if ((ex = ops_parse("partners", "j", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("partners", stderr);
	if ((ex = begin(&o, &cf, &s, &rt)) != 0)
		return ex;
	memset(&p, 0, sizeof(p));
	p.now = o.now;
	/* Configured partners first, in the configuration's order. */
	for (i = 0; cf != NULL && i < cf->npartner; i++)
		prow_get(&p, cf->partner[i].id)->conf = &cf->partner[i];
	memset(&f, 0, sizeof(f));
	if ((rc = each_doc(rt, &f, partner_doc, &p)) != 0 ||
	    (rc = store_ack_walk(rt, partner_ack, &p)) != 0 ||
	    (rc = store_chan_walk(rt, partner_chan, &p)) != 0) {
		ex = store_failed("partners", rc);
		free(p.row);
		end(cf, s, rt);
		return ex;
	}
	store_rtxn_end(rt);
	store_close(s);

	rows = json_array();
	flat = json_array();
	for (i = 0; i < p.n; i++) {
		r = &p.row[i];
		row = json_object();
		set(row, "id", jstr(r->id));
		set(row, "configured", json_boolean(r->conf != NULL));
		set(row, "name", jopt(r->conf ? r->conf->name : NULL));
		set(row, "x12_id", jopt(r->conf ? r->conf->x12_id : NULL));
		set(row, "edifact_id", jopt(r->conf ? r->conf->edifact_id :
		    NULL));
		set(row, "ack", jopt(r->conf ? r->conf->ack : NULL));
		docs = json_object();
		set(docs, "total", jint(r->total));
		for (k = 1; k < NDOCSTATE; k++)
			set(docs, doc_state_name(k), jint(r->doc[k]));
		set(row, "documents", docs);
		set(row, "last_received", jtime(r->last));
		acks = json_object();
		set(acks, "pending", jint(r->ack_pending));
		set(acks, "overdue", jint(r->ack_overdue));
		set(acks, "rejected", jint(r->ack_rejected));
		set(row, "acks", acks);
		chans = json_object();
		if (r->has_sftp)
			set(chans, "sftp", chan_json(r->id, "sftp", &r->sftp,
			    p.now));
		set(row, "channels", chans);

		fr = json_deep_copy(row);
		json_object_del(fr, "channels");
		if (r->has_sftp) {
			json_t	*c = json_object_get(chans, "sftp");

			set(fr, "sftp", chan_brief(c));
			set(fr, "sftp_files", jint(r->sftp.files));
			set(fr, "sftp_error", json_incref(json_object_get(c,
			    "error")));
		}
		json_object_update(fr, docs);
		set(fr, "acks_pending", jint(r->ack_pending));
		set(fr, "acks_overdue", jint(r->ack_overdue));
		set(fr, "acks_rejected", jint(r->ack_rejected));
		if (r->conf == NULL)
			set(fr, "name", json_string("(not configured)"));
		json_array_append_new(flat, fr);
		json_array_append_new(rows, row);
	}
	free(p.row);
	conf_free(cf);
	if (o.json) {
		json_decref(flat);
		return print_json(rows);
	}
	table(flat, cols, sizeof(cols) / sizeof(cols[0]),
	    "no partners (none configured, no documents)");
	json_decref(flat);
	json_decref(rows);
	return finish(0);
}

/* --- docs --- */

struct doclist {
	json_t		*rows;
	long		 limit;
};

static int
list_doc(void *arg, const struct store_doc *d)
{
	struct doclist	*l = arg;

	json_array_append_new(l->rows, doc_json(d));
	return l->limit != 0 && (long)json_array_size(l->rows) >= l->limit;
}

/* The filters shared by docs and events: 0 or a usage exit code. */
static int
doc_filter(const char *cmd, const struct ops *o, struct store_doc_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->partner = o->partner;
	f->doctype = o->type;
	if (o->state != NULL && (f->state = parse_name(o->state,
	    doc_state_name, NDOCSTATE)) == 0)
		return bad_value(cmd, "state", o->state, doc_state_name,
		    NDOCSTATE);
	return 0;
}

int
cmd_docs(int argc, char **argv)
{
	static const struct col cols[] = {
		{ "id", "ID", 0 }, { "received", "RECEIVED", 0 },
		{ "partner", "PARTNER", 0 }, { "channel", "CHANNEL", 0 },
		{ "name", "NAME", 40 }, { "syntax", "SYNTAX", 0 },
		{ "doctype", "TYPE", 0 }, { "icn", "ICN", 0 },
		{ "state", "STATE", 0 }, { "error", "ERROR", ERROR_WIDTH },
	};
	struct ops	 o;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	struct store_doc_filter f;
	struct doclist	 l;
	int		 ex, rc;

	if ((ex = ops_parse("docs", "jpstn", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("docs", stderr);
	if ((ex = doc_filter("docs", &o, &f)) != 0)
		return ex;
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	l.rows = json_array();
	l.limit = o.limit;
	rc = each_doc(rt, &f, list_doc, &l);
	if (rc < 0) {
		ex = store_failed("docs", rc);
		json_decref(l.rows);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(l.rows);
	table(l.rows, cols, sizeof(cols) / sizeof(cols[0]), "no documents");
	json_decref(l.rows);
	return finish(0);
}

/* --- show and events: what refers to a document or an event --- */

struct related {
	uint8_t		(*ids)[STORE_ID_LEN];	/* the doc, its events */
	size_t		 n, cap;
	json_t		*events, *jobs, *acks;
	long		 limit;
	int64_t		 now;
};

static void
rel_add(struct related *r, const uint8_t id[STORE_ID_LEN])
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->ids = xreallocarray(r->ids, r->cap, sizeof(*r->ids));
	}
	memcpy(r->ids[r->n++], id, STORE_ID_LEN);
}

static int
rel_has(const struct related *r, const uint8_t id[STORE_ID_LEN])
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (memcmp(r->ids[i], id, STORE_ID_LEN) == 0)
			return 1;
	return 0;
}

static int
rel_event(void *arg, const struct store_event_rec *e)
{
	struct related	*r = arg;

	rel_add(r, e->id);
	json_array_append_new(r->events, event_json(e));
	return r->limit != 0 && (long)json_array_size(r->events) >= r->limit;
}

static int
rel_job(void *arg, const struct store_job *j)
{
	struct related	*r = arg;

	if (rel_has(r, j->ref))
		json_array_append_new(r->jobs, job_json(j));
	return 0;
}

static int
rel_ack(void *arg, const struct store_ack *a)
{
	struct related	*r = arg;

	if (rel_has(r, a->doc))
		json_array_append_new(r->acks, ack_json(a, r->now));
	return 0;
}

static void
rel_init(struct related *r, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->events = json_array();
	r->jobs = json_array();
	r->acks = json_array();
	r->now = now;
}

static void
rel_free(struct related *r)
{
	free(r->ids);
	json_decref(r->events);
	json_decref(r->jobs);
	json_decref(r->acks);
}

static const struct col evcols[] = {
	{ "id", "EVENT", 0 }, { "type", "TYPE", 0 },
	{ "subject", "SUBJECT", 0 }, { "idempotencykey", "IDEMPOTENCY KEY", 0 },
};
static const struct col jobcols[] = {
	{ "id", "JOB", 0 }, { "kind", "KIND", 0 }, { "target", "TARGET", 0 },
	{ "state", "STATE", 0 }, { "attempts", "ATTEMPTS", 0 },
	{ "due", "DUE", 0 }, { "ref", "REF", 0 },
	{ "error", "LAST ERROR", ERROR_WIDTH },
};
static const struct col ackcols[] = {
	{ "partner", "PARTNER", 0 }, { "kind", "KIND", 0 },
	{ "ref", "REF", 0 }, { "state", "STATE", 0 },
	{ "created", "CREATED", 0 }, { "due", "DUE", 0 },
	{ "resolved", "RESOLVED", 0 }, { "reason", "REASON", ERROR_WIDTH },
};
#define NCOL(c)	(sizeof(c) / sizeof((c)[0]))

/* "key   value" lines of a flat object. */
static void
print_record(json_t *o)
{
	const char	*k;
	json_t		*v;
	char		 buf[EG_MAX_STORE_ERROR + EG_MAX_STORE_FIELD + 8];

	json_object_foreach(o, k, v)
		printf("%-14s %s\n", k, cell(v, buf, sizeof(buf), 0));
}

static int
show_doc(const struct ops *o, struct store_rtxn *rt,
    const uint8_t id[STORE_ID_LEN])
{
	struct store_doc	*d;
	struct related		 r;
	struct slice		 diags, raw;
	json_error_t		 err;
	json_t			*root, *dj;
	int			 rc, ex = 0;

	d = xmalloc(sizeof(*d));
	if ((rc = store_doc_get(rt, id, d)) != 0) {
		free(d);
		return store_failed("show", rc);
	}
	if (o->raw) {
		if ((rc = store_blob_get(rt, id, &raw)) != 0) {
			free(d);
			if (rc == EG_ERR_NOTFOUND) {
				fprintf(stderr, "edigate show: the raw bytes "
				    "of this document were purged (retention)"
				    "\n");
				return EX_NOINPUT;
			}
			return store_failed("show", rc);
		}
		free(d);
		if (raw.len > 0 && fwrite(raw.p, 1, raw.len, stdout) != raw.len)
			return finish(EX_IOERR);
		return finish(0);
	}
	rel_init(&r, o->now);
	rel_add(&r, id);
	if ((rc = store_doc_diags(rt, id, &diags)) != 0 ||
	    (rc = store_events_of_doc(rt, id, rel_event, &r)) != 0 ||
	    (rc = store_job_walk(rt, rel_job, &r)) != 0 ||
	    (rc = store_ack_walk(rt, rel_ack, &r)) != 0) {
		free(d);
		rel_free(&r);
		return store_failed("show", rc);
	}
	if (o->json) {
		root = json_object();
		set(root, "kind", json_string("document"));
		set(root, "document", doc_json(d));
		dj = diags.len ? json_loadb(diags.p, diags.len,
		    JSON_DECODE_ANY, &err) : NULL;
		if (diags.len && dj == NULL)
			dj = jstrn(diags.p, diags.len);
		set(root, "diagnostics", dj);
		set(root, "events", json_incref(r.events));
		set(root, "jobs", json_incref(r.jobs));
		set(root, "acks", json_incref(r.acks));
		ex = print_json(root);
	} else {
		dj = doc_json(d);
		print_record(dj);
		json_decref(dj);
		if (diags.len) {
			printf("\ndiagnostics:\n");
			print_pretty(diags, 2);
		}
		printf("\nevents:\n");
		table(r.events, evcols, NCOL(evcols), "none");
		printf("\ndeliveries:\n");
		table(r.jobs, jobcols, NCOL(jobcols), "none");
		printf("\nacknowledgements:\n");
		table(r.acks, ackcols, NCOL(ackcols), "none");
		ex = finish(0);
	}
	free(d);
	rel_free(&r);
	return ex;
}

static int
show_event(const struct ops *o, struct store_rtxn *rt,
    const uint8_t id[STORE_ID_LEN])
{
	struct store_event_rec	 e;
	struct related		 r;
	json_error_t		 err;
	json_t			*root, *ev;
	int			 rc, ex;

	if ((rc = store_event_get(rt, id, &e)) != 0)
		return store_failed("show", rc);
	if (o->raw) {
		if (fwrite(e.json.p, 1, e.json.len, stdout) != e.json.len)
			return finish(EX_IOERR);
		return finish(0);
	}
	rel_init(&r, o->now);
	rel_add(&r, id);
	if ((rc = store_job_walk(rt, rel_job, &r)) != 0 ||
	    (rc = store_ack_walk(rt, rel_ack, &r)) != 0) {
		rel_free(&r);
		return store_failed("show", rc);
	}
	if (o->json) {
		root = json_object();
		set(root, "kind", json_string("event"));
		set(root, "id", jid(e.id));
		set(root, "doc", jid(e.doc));
		if ((ev = json_loadb(e.json.p, e.json.len, 0, &err)) == NULL)
			ev = jstrn(e.json.p, e.json.len);
		set(root, "event", ev);
		set(root, "jobs", json_incref(r.jobs));
		set(root, "acks", json_incref(r.acks));
		ex = print_json(root);
	} else {
		char	 t[STORE_ID_TEXT];

		store_id_format(e.id, t);
		printf("event          %s\n", t);
		store_id_format(e.doc, t);
		printf("document       %s\n\n", t);
		print_pretty(e.json, 0);
		printf("\ndeliveries:\n");
		table(r.jobs, jobcols, NCOL(jobcols), "none");
		printf("\nacknowledgements:\n");
		table(r.acks, ackcols, NCOL(ackcols), "none");
		ex = finish(0);
	}
	rel_free(&r);
	return ex;
}

static int
show_job(const struct ops *o, struct store_rtxn *rt, const char *text)
{
	struct store_job	 j;
	json_t			*root;
	int			 rc;

	if ((rc = store_job_find(rt, text, &j)) != 0)
		return store_failed("show", rc);
	if (o->raw) {
		fprintf(stderr, "edigate show: --raw: a job has no raw bytes "
		    "(give a document or event id)\n");
		return EX_USAGE;
	}
	if (o->json) {
		root = json_object();
		set(root, "kind", json_string("job"));
		set(root, "job", job_json(&j));
		return print_json(root);
	}
	root = job_json(&j);
	print_record(root);
	json_decref(root);
	return finish(0);
}

int
cmd_show(int argc, char **argv)
{
	struct ops	 o;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	uint8_t		 id[STORE_ID_LEN];
	char		 text[STORE_ID_TEXT];
	int		 ex, kind;

	if ((ex = ops_parse("show", "jr", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 1)
		return cmd_usage("show", stderr);
	if (o.raw && o.json) {
		fprintf(stderr, "edigate show: --raw and --json exclude each "
		    "other\n");
		return EX_USAGE;
	}
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	if ((ex = cmd_store_resolve(rt, argv[0], &kind, id)) == 0) {
		switch (kind) {
		case CMD_ID_DOC:
			ex = show_doc(&o, rt, id);
			break;
		case CMD_ID_EVENT:
			ex = show_event(&o, rt, id);
			break;
		default:
			store_id_format(id, text);
			ex = show_job(&o, rt, text);
			break;
		}
	}
	end(NULL, s, rt);
	return ex;
}

/* --- events --- */

struct evwalk {
	struct related	 r;		/* first: rel_event() takes it */
	struct store_rtxn *rt;
};

static int
events_doc(void *arg, const struct store_doc *d)
{
	struct evwalk	*w = arg;

	if (d->unreadable)
		return 0;
	return store_events_of_doc(w->rt, d->id, rel_event, &w->r);
}

int
cmd_events(int argc, char **argv)
{
	static const struct col cols[] = {
		{ "id", "EVENT", 0 }, { "time", "TIME", 0 },
		{ "type", "TYPE", 0 }, { "partner", "PARTNER", 0 },
		{ "subject", "SUBJECT", 0 }, { "doc", "DOCUMENT", 0 },
		{ "businesskey", "BUSINESS KEY", 0 },
		{ "idempotencykey", "IDEMPOTENCY KEY", 0 },
	};
	struct ops		 o;
	struct store		*s = NULL;
	struct store_doc	*d;
	struct store_doc_filter	 f;
	struct evwalk		 w;
	int			 ex, rc;

	if ((ex = ops_parse("events", "jdbn", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("events", stderr);
	if (o.doc != NULL && o.biz != NULL) {
		fprintf(stderr, "edigate events: --doc and --biz exclude each "
		    "other\n");
		return EX_USAGE;
	}
	if ((ex = begin(&o, NULL, &s, &w.rt)) != 0)
		return ex;
	rel_init(&w.r, o.now);
	w.r.limit = o.limit;
	if (o.doc != NULL) {
		d = xmalloc(sizeof(*d));
		rc = store_doc_find(w.rt, o.doc, d);
		if (rc == EG_ERR_NOTFOUND || rc == EG_ERR_INVAL) {
			fprintf(stderr, "edigate events: --doc: %s\n",
			    store_errmsg());
			free(d);
			rel_free(&w.r);
			end(NULL, s, w.rt);
			return rc == EG_ERR_NOTFOUND ? EX_NOINPUT : EX_USAGE;
		}
		if (rc == 0)
			rc = store_events_of_doc(w.rt, d->id, rel_event, &w.r);
		free(d);
	} else if (o.biz != NULL)
		rc = store_events_of_biz(w.rt, o.biz, rel_event, &w.r);
	else {
		memset(&f, 0, sizeof(f));
		rc = each_doc(w.rt, &f, events_doc, &w);
	}
	if (rc < 0) {
		ex = store_failed("events", rc);
		rel_free(&w.r);
		end(NULL, s, w.rt);
		return ex;
	}
	end(NULL, s, w.rt);
	if (o.json)
		ex = print_json(json_incref(w.r.events));
	else {
		table(w.r.events, cols, NCOL(cols), "no events");
		ex = finish(0);
	}
	rel_free(&w.r);
	return ex;
}

/* --- acks --- */

struct acklist {
	const struct ops *o;
	json_t		*rows;
};

static int
list_ack(void *arg, const struct store_ack *a)
{
	struct acklist	*l = arg;

	if (l->o->overdue && !ack_overdue(a, l->o->now))
		return 0;
	if (l->o->partner != NULL && strcmp(l->o->partner, a->partner) != 0)
		return 0;
	if (l->o->ackkind != 0 && (int)a->kind != l->o->ackkind)
		return 0;
	json_array_append_new(l->rows, ack_json(a, l->o->now));
	return 0;
}

int
cmd_acks(int argc, char **argv)
{
	static const struct col cols[] = {
		{ "partner", "PARTNER", 0 }, { "kind", "KIND", 0 },
		{ "ref", "REF", 0 }, { "state", "STATE", 0 },
		{ "created", "CREATED", 0 }, { "due", "DUE", 0 },
		{ "resolved", "RESOLVED", 0 },
		{ "reason", "REASON", ERROR_WIDTH },
	};
	struct ops	 o;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	struct acklist	 l;
	json_t		*r;
	size_t		 i;
	int		 ex, rc;

	if ((ex = ops_parse("acks", "jopk", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("acks", stderr);
	if (o.kind != NULL && (o.ackkind = store_ack_kind_parse(o.kind)) == 0)
		return bad_value("acks", "kind", o.kind, ack_kind_name,
		    NACKKIND);
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	l.o = &o;
	l.rows = json_array();
	if ((rc = store_ack_walk(rt, list_ack, &l)) != 0) {
		ex = store_failed("acks", rc);
		json_decref(l.rows);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(l.rows);
	/* A pending expectation past its due time shows as overdue. */
	json_array_foreach(l.rows, i, r)
		if (json_is_true(json_object_get(r, "overdue")) &&
		    strcmp(json_string_value(json_object_get(r, "state")),
		    "pending") == 0)
			set(r, "state", json_string("pending (past due)"));
	table(l.rows, cols, NCOL(cols), o.overdue ?
	    "no overdue acknowledgements" : "no acknowledgements expected");
	json_decref(l.rows);
	return finish(0);
}

/* --- jobs and dlq --- */

struct joblist {
	const struct ops *o;
	struct store_rtxn *rt;
	json_t		*rows;
	int		 dlq;
	int		 rc;
};

/* What a dead job was about: its event's or document's identity. */
static void
job_about(struct store_rtxn *rt, const struct store_job *j, json_t *row)
{
	struct store_event_rec	 e;
	struct store_doc	*d;
	json_t			*ev;

	if (j->kind == STORE_JOB_FORWARD) {
		if (store_event_get(rt, j->ref, &e) != 0)
			return;
		ev = event_json(&e);
		set(row, "event_type", json_incref(json_object_get(ev,
		    "type")));
		set(row, "partner", json_incref(json_object_get(ev,
		    "partner")));
		set(row, "subject", json_incref(json_object_get(ev,
		    "subject")));
		set(row, "doc", json_incref(json_object_get(ev, "doc")));
		json_decref(ev);
		return;
	}
	d = xmalloc(sizeof(*d));
	if (store_doc_get(rt, j->ref, d) == 0) {
		set(row, "event_type", json_null());
		set(row, "partner", jstr(d->partner));
		set(row, "subject", jopt(d->name));
		set(row, "doc", jid(d->id));
	}
	free(d);
}

static int
list_job(void *arg, const struct store_job *j)
{
	struct joblist	*l = arg;
	json_t		*row;

	if (l->dlq && j->state != STORE_JOB_DEAD)
		return 0;
	if (l->o->jobstate != 0 && (int)j->state != l->o->jobstate)
		return 0;
	if (l->o->jobkind != 0 && (int)j->kind != l->o->jobkind)
		return 0;
	row = job_json(j);
	if (l->dlq)
		job_about(l->rt, j, row);
	json_array_append_new(l->rows, row);
	return 0;
}

static int
jobs_list(const char *cmd, int dlq, int argc, char **argv)
{
	static const struct col cols[] = {
		{ "id", "JOB", 0 }, { "kind", "KIND", 0 },
		{ "state", "STATE", 0 }, { "target", "TARGET", 0 },
		{ "ref", "REF", 0 }, { "due", "DUE", 0 },
		{ "attempts", "ATTEMPTS", 0 }, { "last_try", "LAST TRY", 0 },
		{ "error", "LAST ERROR", ERROR_WIDTH },
	};
	static const struct col dcols[] = {
		{ "id", "JOB", 0 }, { "kind", "KIND", 0 },
		{ "target", "TARGET", 0 }, { "attempts", "ATTEMPTS", 0 },
		{ "first_try", "FIRST TRY", 0 }, { "last_try", "LAST TRY", 0 },
		{ "event_type", "TYPE", 0 }, { "partner", "PARTNER", 0 },
		{ "subject", "SUBJECT", 0 }, { "ref", "REF", 0 },
		{ "error", "ERROR", ERROR_WIDTH },
	};
	struct ops	 o;
	struct store	*s = NULL;
	struct joblist	 l;
	int		 ex, rc;

	if ((ex = ops_parse(cmd, dlq ? "j" : "jsk", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage(cmd, stderr);
	if (o.state != NULL && (o.jobstate = parse_name(o.state,
	    job_state_name, NJOBSTATE)) == 0)
		return bad_value(cmd, "state", o.state, job_state_name,
		    NJOBSTATE);
	if (o.kind != NULL && (o.jobkind = parse_name(o.kind,
	    job_kind_name, NJOBKIND)) == 0)
		return bad_value(cmd, "kind", o.kind, job_kind_name, NJOBKIND);
	if ((ex = begin(&o, NULL, &s, &l.rt)) != 0)
		return ex;
	l.o = &o;
	l.rows = json_array();
	l.dlq = dlq;
	if ((rc = store_job_walk(l.rt, list_job, &l)) != 0) {
		ex = store_failed(cmd, rc);
		json_decref(l.rows);
		end(NULL, s, l.rt);
		return ex;
	}
	end(NULL, s, l.rt);
	if (o.json)
		return print_json(l.rows);
	if (dlq)
		table(l.rows, dcols, NCOL(dcols), "no dead jobs");
	else
		table(l.rows, cols, NCOL(cols), "no jobs");
	json_decref(l.rows);
	return finish(0);
}

int
cmd_jobs(int argc, char **argv)
{
	return jobs_list("jobs", 0, argc, argv);
}

int
cmd_dlq(int argc, char **argv)
{
	return jobs_list("dlq", 1, argc, argv);
}
