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

#include "as2_cms.h"
#include "buf.h"
#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

#define LIMIT_DEFAULT	50	/* rows of docs and events without --limit */
#define ERROR_WIDTH	60	/* error and reason columns of a table */

#define NDOCSTATE	(STORE_DOC_QUARANTINED + 1)
#define NJOBSTATE	(STORE_JOB_HELD + 1)
#define NJOBKIND	(STORE_JOB_TRANSLATE + 1)
#define NACKKIND	(STORE_ACK_ERP + 1)

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

/* Rows (flat objects) as aligned columns; none: the line empty. */
#define MAX_COLS	24

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







/* --- walking the store --- */

/* A store walk failed: say why; the exit code. */
static int
store_failed(const char *cmd, int rc)
{
	fprintf(stderr, "edigate %s: %s\n", cmd, *store_errmsg() ?
	    store_errmsg() : eg_strerror(rc));
	return cmd_store_exit(rc);
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

/* --- status --- */





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
	struct ops	 o;
	struct conf	*cf = NULL;
	struct store	*s = NULL;
	struct store_rtxn *rt = NULL;
	struct store_stat st;
	static const struct col chancols[] = {
		{ "partner", "PARTNER", 0 }, { "channel", "CHANNEL", 0 },
		{ "server", "SERVER", 0 }, { "connected", "CONN", 0 },
		{ "age", "LAST POLL", 0 }, { "cycle_ms", "CYCLE MS", 0 },
		{ "polls", "POLLS", 0 }, { "files", "FILES", 0 },
		{ "bytes_h", "BYTES", 0 }, { "sent", "SENT", 0 },
		{ "errors", "ERRORS", 0 }, { "error", "LAST ERROR", 60 },
	};
	struct ops_tally *t;
	struct buf	 certw;
	json_t		*root, *dbs, *docs, *jobs, *acks, *jrows, *arows, *r;
	json_t		*chans = NULL;
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
	t = xcalloc(1, sizeof(*t));
	buf_init(&certw, 1 << 16);
	(void)as2_cert_warnings(cf, &certw);
	if ((rc = store_stat(s, &st)) != 0 ||
	    (rc = ops_tally(rt, o.now, t)) != 0 ||
	    (rc = ops_channels(rt, o.now, &chans)) != 0) {
		ex = store_failed("status", rc);
		free(t);
		buf_free(&certw);
		end(cf, s, rt);
		return ex;
	}
	end(cf, s, rt);

	root = json_object();
	ops_set(root, "store", ops_str(path));
	ops_set(root, "map_size", ops_int(st.map_size));
	ops_set(root, "used", ops_int(st.used));
	ops_set(root, "readers", ops_int(st.readers));
	ops_set(root, "max_readers", ops_int(st.max_readers));
	dbs = json_object();
	for (i = 0; i < STORE_NDB; i++)
		ops_set(dbs, store_db_name((enum store_db)i), ops_int(st.entries[i]));
	ops_set(root, "entries", dbs);
	docs = json_object();
	for (i = 1; i < NDOCSTATE; i++)
		ops_set(docs, ops_doc_state_name(i), ops_int(t->doc[i]));
	ops_set(docs, "unreadable", ops_int(t->unreadable));
	ops_set(root, "documents", docs);
	jobs = json_object();
	jrows = json_array();
	for (k = 1; k < NJOBKIND; k++) {
		r = json_object();
		ops_set(r, "kind", json_string(ops_job_kind_name(k)));
		for (i = 1; i < NJOBSTATE; i++)
			ops_set(r, ops_job_state_name(i), ops_int(t->job[k][i]));
		ops_set(r, "oldest_pending", ops_time(t->oldest[k]));
		ops_set(r, "oldest_pending_age_s", t->oldest[k] ?
		    json_integer((o.now - t->oldest[k]) / 1000) : json_null());
		json_array_append_new(jrows, json_deep_copy(r));
		json_object_del(r, "kind");
		ops_set(jobs, ops_job_kind_name(k), r);
	}
	ops_set(root, "jobs", jobs);
	acks = json_object();
	arows = json_array();
	for (k = 1; k < NACKKIND; k++) {
		r = json_object();
		ops_set(r, "kind", json_string(ops_ack_kind_name(k)));
		ops_set(r, "pending", ops_int(t->ack[k][0]));
		ops_set(r, "overdue", ops_int(t->ack[k][1]));
		ops_set(r, "rejected", ops_int(t->ack[k][2]));
		ops_set(r, "accepted", ops_int(t->ack[k][3]));
		json_array_append_new(arows, json_deep_copy(r));
		json_object_del(r, "kind");
		ops_set(acks, ops_ack_kind_name(k), r);
	}
	ops_set(root, "acks", acks);
	r = json_array();
	for (line = strtok_r(certw.p ? certw.p : (char *)"", "\n", &save);
	    line != NULL; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(r, json_string(line));
	ops_set(root, "certificate_warnings", r);
	buf_free(&certw);
	ops_set(root, "channels", json_incref(chans));
	if (o.json) {
		json_decref(jrows);
		json_decref(arows);
		json_decref(chans);
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
		printf(" %s %" PRIu64 "%s", ops_doc_state_name(i), t->doc[i],
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
			ops_set(r, "db", json_string(store_db_name(
			    (enum store_db)i)));
			ops_set(r, "entries", ops_int(st.entries[i]));
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
				ops_set(r, "oldest_pending_age", json_string(age));
			}
		}
	}
	table(jrows, jobcols, 8, NULL);
	printf("\n");
	table(arows, ackcols, 5, NULL);
	{
		json_t	*w;
		size_t	 n;
		char	 bb[32];

		json_array_foreach(chans, n, r) {
			w = json_object_get(r, "last_poll_age_s");
			if (json_is_integer(w)) {
				fmt_age(json_integer_value(w) * 1000, age,
				    sizeof(age));
				ops_set(r, "age", json_string(age));
			}
			fmt_bytes((uint64_t)json_integer_value(
			    json_object_get(r, "bytes")), bb, sizeof(bb));
			ops_set(r, "bytes_h", json_string(bb));
		}
		if (json_array_size(chans) > 0) {
			printf("\n");
			table(chans, chancols, sizeof(chancols) /
			    sizeof(chancols[0]), NULL);
		}
	}
	json_decref(chans);
	json_decref(jrows);
	json_decref(arows);
	json_decref(root);
	free(t);
	return finish(0);
}

/* --- partners --- */

/* "ok 2s ago", "error 4s ago", "never": a channel's state in a few words. */
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
	json_t		*rows, *flat, *row, *acks, *fr, *sftp;
	size_t		 i;
	int		 ex, rc;

	if ((ex = ops_parse("partners", "j", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("partners", stderr);
	if ((ex = begin(&o, &cf, &s, &rt)) != 0)
		return ex;
	if ((rc = ops_partners(rt, cf, o.now, &rows)) != 0) {
		ex = store_failed("partners", rc);
		end(cf, s, rt);
		return ex;
	}
	end(cf, s, rt);
	if (o.json)
		return print_json(rows);
	flat = json_array();
	json_array_foreach(rows, i, row) {
		fr = json_deep_copy(row);
		json_object_update(fr, json_object_get(row, "documents"));
		acks = json_object_get(row, "acks");
		ops_set(fr, "acks_pending", json_incref(json_object_get(acks,
		    "pending")));
		ops_set(fr, "acks_overdue", json_incref(json_object_get(acks,
		    "overdue")));
		ops_set(fr, "acks_rejected", json_incref(json_object_get(acks,
		    "rejected")));
		if (!json_is_true(json_object_get(row, "configured")))
			ops_set(fr, "name", json_string("(not configured)"));
		json_object_del(fr, "channels");
		sftp = json_object_get(json_object_get(row, "channels"),
		    "sftp");
		if (sftp != NULL) {
			ops_set(fr, "sftp", chan_brief(sftp));
			ops_set(fr, "sftp_files", json_incref(
			    json_object_get(sftp, "files")));
			ops_set(fr, "sftp_error", json_incref(
			    json_object_get(sftp, "error")));
		}
		json_array_append_new(flat, fr);
	}
	table(flat, cols, sizeof(cols) / sizeof(cols[0]),
	    "no partners (none configured, no documents)");
	json_decref(flat);
	json_decref(rows);
	return finish(0);
}

/* --- docs --- */



/* The filters shared by docs and events: 0 or a usage exit code. */
static int
doc_filter(const char *cmd, const struct ops *o, struct store_doc_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->partner = o->partner;
	f->doctype = o->type;
	if (o->state != NULL && (f->state = ops_parse_name(o->state,
	    ops_doc_state_name, NDOCSTATE)) == 0)
		return bad_value(cmd, "state", o->state, ops_doc_state_name,
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
	struct ops_docq	 q;
	json_t		*rows;
	int		 ex, rc;

	if ((ex = ops_parse("docs", "jpstn", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("docs", stderr);
	if ((ex = doc_filter("docs", &o, &f)) != 0)
		return ex;
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	memset(&q, 0, sizeof(q));
	q.partner = f.partner;
	q.doctype = f.doctype;
	q.state = f.state;
	q.limit = o.limit;
	if ((rc = ops_docs(rt, NULL, &q, &rows, NULL)) != 0) {
		ex = store_failed("docs", rc);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(rows);
	table(rows, cols, sizeof(cols) / sizeof(cols[0]), "no documents");
	json_decref(rows);
	return finish(0);
}

/* --- show and events: what refers to a document or an event --- */









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
static const struct col sentcols[] = {
	{ "id", "DOCUMENT", 0 }, { "doctype", "TYPE", 0 },
	{ "icn", "ICN", 0 }, { "name", "NAME", 0 },
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
	struct slice		 diags, raw;
	json_t			*root;
	int			 rc;

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
	free(d);
	if ((rc = store_doc_diags(rt, id, &diags)) != 0 ||
	    (rc = ops_doc_detail(rt, id, o->now, &root)) != 0)
		return store_failed("show", rc);
	if (o->json)
		return print_json(root);
	print_record(json_object_get(root, "document"));
	if (diags.len) {
		printf("\ndiagnostics:\n");
		print_pretty(diags, 2);
	}
	printf("\nevents:\n");
	table(json_object_get(root, "events"), evcols, NCOL(evcols), "none");
	printf("\ndeliveries:\n");
	table(json_object_get(root, "jobs"), jobcols, NCOL(jobcols), "none");
	printf("\nacknowledgements:\n");
	table(json_object_get(root, "acks"), ackcols, NCOL(ackcols), "none");
	if (json_array_size(json_object_get(root, "acks_sent")) > 0) {
		printf("\nacknowledgements sent:\n");
		table(json_object_get(root, "acks_sent"), sentcols,
		    NCOL(sentcols), "none");
	}
	json_decref(root);
	return finish(0);
}

static int
show_event(const struct ops *o, struct store_rtxn *rt,
    const uint8_t id[STORE_ID_LEN])
{
	struct store_event_rec	 e;
	json_t			*root;
	char			 t[STORE_ID_TEXT];
	int			 rc;

	if ((rc = store_event_get(rt, id, &e)) != 0)
		return store_failed("show", rc);
	if (o->raw) {
		if (fwrite(e.json.p, 1, e.json.len, stdout) != e.json.len)
			return finish(EX_IOERR);
		return finish(0);
	}
	if ((rc = ops_event_detail(rt, id, o->now, &root)) != 0)
		return store_failed("show", rc);
	if (o->json)
		return print_json(root);
	store_id_format(e.id, t);
	printf("event          %s\n", t);
	store_id_format(e.doc, t);
	printf("document       %s\n\n", t);
	print_pretty(e.json, 0);
	printf("\ndeliveries:\n");
	table(json_object_get(root, "jobs"), jobcols, NCOL(jobcols), "none");
	printf("\nacknowledgements:\n");
	table(json_object_get(root, "acks"), ackcols, NCOL(ackcols), "none");
	json_decref(root);
	return finish(0);
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
		ops_set(root, "kind", json_string("job"));
		ops_set(root, "job", ops_job_json(&j));
		return print_json(root);
	}
	root = ops_job_json(&j);
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
	struct store_rtxn	*rt = NULL;
	json_t			*rows = NULL;
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
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	if (o.doc != NULL) {
		d = xmalloc(sizeof(*d));
		rc = store_doc_find(rt, o.doc, d);
		if (rc == EG_ERR_NOTFOUND || rc == EG_ERR_INVAL) {
			fprintf(stderr, "edigate events: --doc: %s\n",
			    store_errmsg());
			free(d);
			end(NULL, s, rt);
			return rc == EG_ERR_NOTFOUND ? EX_NOINPUT : EX_USAGE;
		}
		if (rc == 0)
			rc = ops_events(rt, d->id, NULL, o.limit, &rows);
		free(d);
	} else
		rc = ops_events(rt, NULL, o.biz, o.limit, &rows);
	if (rc < 0) {
		ex = store_failed("events", rc);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(rows);
	table(rows, cols, NCOL(cols), "no events");
	json_decref(rows);
	return finish(0);
}

/* --- acks --- */



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
	json_t		*rows, *r;
	size_t		 i;
	int		 ex, rc;

	if ((ex = ops_parse("acks", "jopk", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage("acks", stderr);
	if (o.kind != NULL && (o.ackkind = store_ack_kind_parse(o.kind)) == 0)
		return bad_value("acks", "kind", o.kind, ops_ack_kind_name,
		    NACKKIND);
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	if ((rc = ops_acks(rt, o.partner, o.ackkind, o.overdue, o.now,
	    &rows)) != 0) {
		ex = store_failed("acks", rc);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(rows);
	/* A pending expectation past its due time shows as overdue. */
	json_array_foreach(rows, i, r)
		if (json_is_true(json_object_get(r, "overdue")) &&
		    strcmp(json_string_value(json_object_get(r, "state")),
		    "pending") == 0)
			ops_set(r, "state", json_string("pending (past due)"));
	table(rows, cols, NCOL(cols), o.overdue ?
	    "no overdue acknowledgements" : "no acknowledgements expected");
	json_decref(rows);
	return finish(0);
}

/* --- jobs and dlq --- */




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
	struct store_rtxn *rt = NULL;
	json_t		*rows;
	int		 ex, rc;

	if ((ex = ops_parse(cmd, dlq ? "j" : "jsk", &argc, &argv, &o)) != 0)
		return ex < 0 ? 0 : ex;
	if (argc != 0)
		return cmd_usage(cmd, stderr);
	if (o.state != NULL && (o.jobstate = ops_parse_name(o.state,
	    ops_job_state_name, NJOBSTATE)) == 0)
		return bad_value(cmd, "state", o.state, ops_job_state_name,
		    NJOBSTATE);
	if (o.kind != NULL && (o.jobkind = ops_parse_name(o.kind,
	    ops_job_kind_name, NJOBKIND)) == 0)
		return bad_value(cmd, "kind", o.kind, ops_job_kind_name, NJOBKIND);
	if ((ex = begin(&o, NULL, &s, &rt)) != 0)
		return ex;
	if ((rc = ops_jobs(rt, dlq, o.jobstate, o.jobkind, &rows)) != 0) {
		ex = store_failed(cmd, rc);
		end(NULL, s, rt);
		return ex;
	}
	end(NULL, s, rt);
	if (o.json)
		return print_json(rows);
	if (dlq)
		table(rows, dcols, NCOL(dcols), "no dead jobs");
	else
		table(rows, cols, NCOL(cols), "no jobs");
	json_decref(rows);
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
