/*
 * console.c: the operator dashboard (console.h).  Plain HTML and a little
 * CSS, readable on a laptop screen without a manual: the partner table
 * with a traffic light per kind of acknowledgement, the recent rejections
 * with their diagnostics in words, the dead letters with a retry button,
 * the search by PO number showing the whole chain, and a page per
 * document.  No JavaScript: forms POST and the server redirects back.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "console.h"
#include "eglimits.h"
#include "err.h"
#include "gateway.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

#define PAGE_MAX	(16U * 1024 * 1024)
#define RECENT		10	/* rejections on the home page */

int
html_escape(struct buf *b, const char *s)
{
	int	 rc = 0;

	for (; s != NULL && *s != '\0' && rc == 0; s++)
		switch (*s) {
		case '&':
			rc = buf_adds(b, "&amp;");
			break;
		case '<':
			rc = buf_adds(b, "&lt;");
			break;
		case '>':
			rc = buf_adds(b, "&gt;");
			break;
		case '"':
			rc = buf_adds(b, "&quot;");
			break;
		case '\'':
			rc = buf_adds(b, "&#39;");
			break;
		default:
			rc = buf_addc(b, *s);
		}
	return rc;
}

char *
console_urlencode(const char *s)
{
	struct buf	 b;

	buf_init(&b, 3 * strlen(s) + 1);
	for (; *s != '\0'; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.~", *s) != NULL)
			buf_addc(&b, *s);
		else
			buf_printf(&b, "%%%02X", (unsigned char)*s);
	if (b.p == NULL)
		return xstrdup("");
	return buf_release(&b, NULL);
}

/* Escaped text of s. */
static void
t(struct buf *b, const char *s)
{
	html_escape(b, s);
}

/* Escaped text of a JSON value (string, number, null as "-"). */
static void
tj(struct buf *b, json_t *v)
{
	char	 n[32];

	if (json_is_string(v) && *json_string_value(v) != '\0')
		t(b, json_string_value(v));
	else if (json_is_integer(v)) {
		snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		t(b, n);
	} else if (json_is_true(v))
		t(b, "yes");
	else if (json_is_false(v))
		t(b, "no");
	else
		t(b, "-");
}

static const char *
js(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static json_int_t
ji(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
head(struct buf *b, const struct console_ctx *x, const char *title,
    const char *po)
{
	buf_adds(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width\"><title>");
	t(b, title);
	buf_adds(b, " - edigate</title><style>\n"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;"
	    "color:#222}\n"
	    "header{display:flex;gap:1em;align-items:center;"
	    "border-bottom:1px solid #ccc;padding:.5em 0;flex-wrap:wrap}\n"
	    "header h1{font-size:18px;margin:0}header a{color:inherit}\n"
	    "header .who{margin-left:auto;color:#555}\n"
	    "table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}\n"
	    "th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;"
	    "text-align:left;vertical-align:top}\n"
	    "th{background:#f4f4f4;font-weight:600}\n"
	    "td.num{text-align:right}code{font-size:12px}\n"
	    ".light{display:inline-block;width:.8em;height:.8em;"
	    "border-radius:50%;margin-right:.35em;vertical-align:-1px}\n"
	    ".green{background:#2e9e44}.amber{background:#e5a00d}"
	    ".red{background:#d3302f}.grey{background:#bbb}\n"
	    ".flash{background:#eef6ff;border:1px solid #9cc3ee;"
	    "padding:.5em 1em;margin:1em 0}\n"
	    ".err{color:#b00020}.muted{color:#777}\n"
	    "h2{font-size:16px;margin:1.2em 0 .2em}\n"
	    "button{cursor:pointer}\n"
	    "</style></head><body>\n<header><h1><a href=\"/\">edigate</a>"
	    "</h1><form method=\"get\" action=\"/search\">"
	    "<label>PO number <input name=\"po\" id=\"po\" size=\"18\" "
	    "value=\"");
	t(b, po ? po : "");
	buf_adds(b, "\"></label> <button type=\"submit\">Find the chain"
	    "</button></form><span class=\"who\">");
	if (x->auth) {
		buf_adds(b, "signed in as <b>");
		t(b, x->who);
		buf_adds(b, "</b> (");
		t(b, x->role);
		buf_adds(b, ") </span><form method=\"post\" action=\"/logout\">"
		    "<button>Sign out</button></form>");
	} else
		buf_adds(b, "no tokens configured: read-only</span>");
	buf_adds(b, "</header>\n");
	if (x->flash != NULL) {
		buf_adds(b, "<p class=\"flash\" id=\"flash\">");
		t(b, x->flash);
		buf_adds(b, "</p>\n");
	}
}

static char *
finish(struct buf *b, size_t *len)
{
	buf_adds(b, "</body></html>\n");
	return buf_release(b, len);
}

/* A traffic light and its words for one kind of acknowledgement. */
static void
light(struct buf *b, json_t *k)
{
	json_int_t	 p = ji(k, "pending"), o = ji(k, "overdue");
	json_int_t	 n = ji(k, "rejected"), a = ji(k, "accepted");
	const char	*c;
	char		 w[160];

	c = o > 0 || n > 0 ? "red" : p > 0 ? "amber" : a > 0 ? "green" :
	    "grey";
	if (o == 0 && n == 0 && p == 0)
		snprintf(w, sizeof(w), "%s", a > 0 ? "all received" :
		    "nothing expected");
	else
		snprintf(w, sizeof(w), "%lld waiting, %lld late, %lld "
		    "refused", (long long)p, (long long)o, (long long)n);
	buf_printf(b, "<td class=\"ack\" data-pending=\"%lld\" "
	    "data-overdue=\"%lld\" data-negative=\"%lld\"><span class=\"light "
	    "%s\" title=\"%s\"></span>", (long long)p, (long long)o,
	    (long long)n, c, c);
	t(b, w);
	buf_adds(b, "</td>");
}

/* One diagnostic in words. */
static void
diag_words(struct buf *b, json_t *d)
{
	const char	*seg = js(d, "segment");

	buf_adds(b, "<li>");
	t(b, strcmp(js(d, "severity"), "warning") == 0 ? "Warning" : "Error");
	if (*seg != '\0') {
		buf_adds(b, " in segment ");
		t(b, seg);
	}
	if (ji(d, "segmentNumber") > 0)
		buf_printf(b, " (segment %lld of the file)",
		    (long long)ji(d, "segmentNumber"));
	if (ji(d, "element") > 0)
		buf_printf(b, ", element %lld", (long long)ji(d, "element"));
	if (*js(d, "field") != '\0') {
		buf_adds(b, ", field ");
		t(b, js(d, "field"));
	}
	buf_adds(b, ": ");
	t(b, js(d, "message"));
	if (*js(d, "code") != '\0') {
		buf_adds(b, " <span class=\"muted\">[");
		t(b, js(d, "code"));
		buf_adds(b, "]</span>");
	}
	buf_adds(b, "</li>");
}

static void
diags_list(struct buf *b, json_t *dj)
{
	json_t	*d;
	size_t	 i;

	if (json_is_array(dj) && json_array_size(dj) > 0) {
		buf_adds(b, "<ul class=\"diags\">");
		json_array_foreach(dj, i, d)
			diag_words(b, d);
		buf_adds(b, "</ul>");
	} else if (json_is_string(dj)) {
		buf_adds(b, "<pre>");
		t(b, json_string_value(dj));
		buf_adds(b, "</pre>");
	}
}

static void
doclink(struct buf *b, json_t *id, const char *text)
{
	if (!json_is_string(id)) {
		t(b, "-");
		return;
	}
	buf_adds(b, "<a href=\"/doc/");
	t(b, json_string_value(id));
	buf_adds(b, "\">");
	t(b, text ? text : json_string_value(id));
	buf_adds(b, "</a>");
}

static void
retry_form(struct buf *b, const struct console_ctx *x, const char *action,
    const char *id, const char *label)
{
	buf_adds(b, "<form method=\"post\" action=\"");
	t(b, action);
	buf_adds(b, "\"><input type=\"hidden\" name=\"id\" value=\"");
	t(b, id);
	buf_adds(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	t(b, x->csrf);
	buf_adds(b, "\"><button type=\"submit\" class=\"retry\">");
	t(b, label);
	buf_adds(b, "</button></form>");
}

char *
console_home(const struct console_ctx *x, size_t *len)
{
	static const char *const kinds[] = { "mdn", "functional", "po_ack",
	    "ship_notice", "erp" };
	struct store_rtxn	*rt;
	struct ops_docq		 q;
	struct buf		 b;
	json_t			*parts = NULL, *rej = NULL, *dlq = NULL, *r;
	json_t			*detail, *byk;
	size_t			 i, k;
	int			 rc;

	if (store_rtxn_begin(x->gw->store, &rt) != 0)
		return NULL;
	memset(&q, 0, sizeof(q));
	q.state = STORE_DOC_REJECTED;
	q.limit = RECENT;
	pthread_rwlock_rdlock(&x->gw->lock);
	rc = ops_partners(rt, x->gw->conf, store_now(), &parts);
	pthread_rwlock_unlock(&x->gw->lock);
	if (rc == 0)
		rc = ops_docs(rt, NULL, &q, &rej, NULL);
	if (rc == 0)
		rc = ops_jobs(rt, 1, 0, 0, &dlq);
	/* The diagnostics of each recent rejection. */
	json_array_foreach(rc == 0 ? rej : NULL, i, r) {
		uint8_t	 id[STORE_ID_LEN];

		if (store_id_parse(js(r, "id"), id) == 0 &&
		    ops_doc_detail(rt, id, 0, &detail) == 0) {
			ops_set(r, "diagnostics", json_incref(
			    json_object_get(detail, "diagnostics")));
			json_decref(detail);
		}
	}
	store_rtxn_end(rt);
	if (rc != 0) {
		json_decref(parts);
		json_decref(rej);
		json_decref(dlq);
		return NULL;
	}

	buf_init(&b, PAGE_MAX);
	head(&b, x, "Console", NULL);
	buf_adds(&b, "<h2>Partners</h2>\n<p class=\"muted\">Green: every "
	    "acknowledgement came; amber: some are awaited, not yet late; "
	    "red: late or refused; grey: none expected.</p>\n"
	    "<table id=\"partners\"><tr><th>Partner</th><th>Documents</th>"
	    "<th>Last received</th><th>MDN (AS2)</th><th>Functional ack "
	    "(997/CONTRL)</th><th>PO ack (855)</th><th>Ship notice (856)"
	    "</th><th>ERP import</th></tr>\n");
	json_array_foreach(parts, i, r) {
		buf_adds(&b, "<tr data-partner=\"");
		t(&b, js(r, "id"));
		buf_adds(&b, "\"><td><b>");
		t(&b, js(r, "id"));
		buf_adds(&b, "</b><br><span class=\"muted\">");
		t(&b, json_is_true(json_object_get(r, "configured")) ?
		    js(r, "name") : "not configured");
		buf_adds(&b, "</span></td><td class=\"num\">");
		tj(&b, json_object_get(json_object_get(r, "documents"),
		    "total"));
		buf_printf(&b, " <span class=\"muted\">(%lld rejected)</span>"
		    "</td><td>", (long long)ji(json_object_get(r,
		    "documents"), "rejected"));
		tj(&b, json_object_get(r, "last_received"));
		buf_adds(&b, "</td>");
		byk = json_object_get(r, "acks_by_kind");
		for (k = 0; k < 5; k++)
			light(&b, json_object_get(byk, kinds[k]));
		buf_adds(&b, "</tr>\n");
	}
	if (json_array_size(parts) == 0)
		buf_adds(&b, "<tr><td colspan=\"8\">No partners configured "
		    "and no documents yet.</td></tr>\n");
	buf_adds(&b, "</table>\n<h2>Recent rejections</h2>\n"
	    "<table id=\"rejections\"><tr><th>Received</th><th>Partner</th>"
	    "<th>File</th><th>Type</th><th>What is wrong</th></tr>\n");
	json_array_foreach(rej, i, r) {
		buf_adds(&b, "<tr><td>");
		tj(&b, json_object_get(r, "received"));
		buf_adds(&b, "</td><td>");
		t(&b, js(r, "partner"));
		buf_adds(&b, "</td><td>");
		doclink(&b, json_object_get(r, "id"), *js(r, "name") ?
		    js(r, "name") : NULL);
		buf_adds(&b, "</td><td>");
		t(&b, js(r, "doctype"));
		buf_adds(&b, "</td><td><span class=\"err\">");
		t(&b, js(r, "error"));
		buf_adds(&b, "</span>");
		diags_list(&b, json_object_get(r, "diagnostics"));
		buf_adds(&b, "</td></tr>\n");
	}
	if (json_array_size(rej) == 0)
		buf_adds(&b, "<tr><td colspan=\"5\">No rejected documents."
		    "</td></tr>\n");
	buf_adds(&b, "</table>\n<h2>Dead letters</h2>\n<p class=\"muted\">"
	    "Deliveries that failed for good. Retry sends them again with "
	    "the same idempotency key.</p>\n<table id=\"dlq\"><tr><th>Job"
	    "</th><th>What</th><th>Partner</th><th>Attempts</th>"
	    "<th>Last try</th><th>Why it failed</th><th></th></tr>\n");
	json_array_foreach(dlq, i, r) {
		buf_adds(&b, "<tr data-job=\"");
		t(&b, js(r, "id"));
		buf_adds(&b, "\"><td><code>");
		t(&b, js(r, "id"));
		buf_adds(&b, "</code></td><td>");
		t(&b, js(r, "kind"));
		buf_adds(&b, " ");
		tj(&b, json_object_get(r, "event_type"));
		buf_adds(&b, " ");
		doclink(&b, json_object_get(r, "doc"), js(r, "subject"));
		buf_adds(&b, "</td><td>");
		tj(&b, json_object_get(r, "partner"));
		buf_adds(&b, "</td><td class=\"num\">");
		tj(&b, json_object_get(r, "attempts"));
		buf_adds(&b, "</td><td>");
		tj(&b, json_object_get(r, "last_try"));
		buf_adds(&b, "</td><td class=\"err\">");
		t(&b, js(r, "error"));
		buf_adds(&b, "</td><td>");
		if (x->operator)
			retry_form(&b, x, "/retry", js(r, "id"), "Retry");
		else
			buf_adds(&b, "<span class=\"muted\">an operator can "
			    "retry</span>");
		buf_adds(&b, "</td></tr>\n");
	}
	if (json_array_size(dlq) == 0)
		buf_adds(&b, "<tr><td colspan=\"7\">No dead letters."
		    "</td></tr>\n");
	buf_adds(&b, "</table>\n");
	json_decref(parts);
	json_decref(rej);
	json_decref(dlq);
	return finish(&b, len);
}

char *
console_search(const struct console_ctx *x, const char *po, size_t *len)
{
	struct store_rtxn	*rt;
	struct buf		 b;
	json_t			*ch = NULL, *r;
	size_t			 i;
	int			 rc;

	buf_init(&b, PAGE_MAX);
	if (po == NULL || strlen(po) > EG_MAX_STORE_FIELD - 64) {
		head(&b, x, "Search", po);
		buf_adds(&b, "<p>Give a PO number to follow its documents, "
		    "acknowledgements and events.</p>");
		return finish(&b, len);
	}
	if (store_rtxn_begin(x->gw->store, &rt) != 0) {
		buf_free(&b);
		return NULL;
	}
	pthread_rwlock_rdlock(&x->gw->lock);
	rc = ops_chain(rt, x->gw->conf, NULL, po, store_now(), &ch);
	pthread_rwlock_unlock(&x->gw->lock);
	store_rtxn_end(rt);
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	head(&b, x, po, po);
	buf_adds(&b, "<h2>PO ");
	t(&b, po);
	buf_adds(&b, "</h2>\n");
	if (json_array_size(json_object_get(ch, "steps")) == 0)
		buf_adds(&b, "<p id=\"nothing\">Nothing is known about this PO "
		    "number.</p>\n");
	else {
		buf_adds(&b, "<table id=\"chain\"><tr><th>When</th><th>Step"
		    "</th><th>What happened</th><th>State</th><th>Document"
		    "</th></tr>\n");
		json_array_foreach(json_object_get(ch, "steps"), i, r) {
			buf_adds(&b, "<tr class=\"step\"><td>");
			tj(&b, json_object_get(r, "time"));
			buf_adds(&b, "</td><td>");
			t(&b, js(r, "step"));
			buf_adds(&b, "</td><td>");
			t(&b, js(r, "text"));
			buf_adds(&b, "</td><td>");
			tj(&b, json_object_get(r, "state"));
			buf_adds(&b, "</td><td>");
			doclink(&b, json_object_get(r, "doc"), "open");
			buf_adds(&b, "</td></tr>\n");
		}
		buf_adds(&b, "</table>\n");
	}
	json_decref(ch);
	return finish(&b, len);
}

static void
rows(struct buf *b, const char *id, json_t *a, const char *const *cols,
    const char *empty)
{
	json_t	*r;
	size_t	 i, k;

	buf_printf(b, "<table id=\"%s\"><tr>", id);
	for (k = 0; cols[k] != NULL; k += 2) {
		buf_adds(b, "<th>");
		t(b, cols[k + 1]);
		buf_adds(b, "</th>");
	}
	buf_adds(b, "</tr>\n");
	json_array_foreach(a, i, r) {
		buf_adds(b, "<tr>");
		for (k = 0; cols[k] != NULL; k += 2) {
			buf_adds(b, "<td>");
			if (strcmp(cols[k], "id") == 0 &&
			    strcmp(id, "sent") == 0)
				doclink(b, json_object_get(r, "id"), NULL);
			else
				tj(b, json_object_get(r, cols[k]));
			buf_adds(b, "</td>");
		}
		buf_adds(b, "</tr>\n");
	}
	if (json_array_size(a) == 0) {
		buf_adds(b, "<tr><td colspan=\"9\">");
		t(b, empty);
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</table>\n");
}

char *
console_doc(const struct console_ctx *x, const char *text,
    unsigned int *status, size_t *len)
{
	static const char *const fields[] = { "id", "state", "direction",
	    "partner", "channel", "name", "syntax", "doctype", "sender",
	    "receiver", "icn", "gcn", "scn", "received", "updated", "size",
	    "sha256", "error", NULL };
	static const char *const evcols[] = { "id", "Event", "type", "Type",
	    "subject", "Subject", "businesskey", "Business key", NULL };
	static const char *const jobcols[] = { "id", "Job", "kind", "Kind",
	    "target", "Target", "state", "State", "attempts", "Attempts",
	    "error", "Last error", NULL };
	static const char *const ackcols[] = { "kind", "Kind", "ref",
	    "Reference", "state", "State", "due", "Due", "resolved",
	    "Resolved", "reason", "Reason", NULL };
	static const char *const sentcols[] = { "id", "Document", "doctype",
	    "Type", "icn", "Control number", "name", "File", NULL };
	struct store_rtxn	*rt;
	struct store_doc	*d;
	struct buf		 b;
	json_t			*o = NULL, *doc;
	const char		*st;
	size_t			 i;
	int			 rc;

	if (store_rtxn_begin(x->gw->store, &rt) != 0)
		return NULL;
	d = xmalloc(sizeof(*d));
	if ((rc = store_doc_find(rt, text, d)) == 0)
		rc = ops_doc_detail(rt, d->id, store_now(), &o);
	free(d);
	store_rtxn_end(rt);
	buf_init(&b, PAGE_MAX);
	if (rc == EG_ERR_NOTFOUND || rc == EG_ERR_INVAL) {
		*status = 404;
		head(&b, x, "No such document", NULL);
		buf_adds(&b, "<p>No document has the id <code>");
		t(&b, text);
		buf_adds(&b, "</code>.</p>");
		return finish(&b, len);
	}
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	doc = json_object_get(o, "document");
	head(&b, x, js(doc, "name"), NULL);
	buf_adds(&b, "<h2>Document ");
	t(&b, js(doc, "name"));
	buf_adds(&b, "</h2>\n<table id=\"document\">");
	for (i = 0; fields[i] != NULL; i++) {
		buf_adds(&b, "<tr><th>");
		t(&b, fields[i]);
		buf_adds(&b, "</th><td>");
		tj(&b, json_object_get(doc, fields[i]));
		buf_adds(&b, "</td></tr>\n");
	}
	buf_adds(&b, "</table>\n<p><a id=\"raw\" href=\"/v1/documents/");
	t(&b, js(doc, "id"));
	buf_adds(&b, "/raw\">Download the raw bytes</a></p>\n");
	st = js(doc, "state");
	if (x->operator && (strcmp(st, "rejected") == 0 ||
	    strcmp(st, "quarantined") == 0 || strcmp(st, "translated") == 0))
		retry_form(&b, x, "/replay", js(doc, "id"),
		    strcmp(st, "translated") == 0 ? "Deliver its events again"
		    : "Translate again");
	if (json_object_get(o, "diagnostics") != NULL &&
	    !json_is_null(json_object_get(o, "diagnostics"))) {
		buf_adds(&b, "<h2>Diagnostics</h2>\n");
		diags_list(&b, json_object_get(o, "diagnostics"));
	}
	buf_adds(&b, "<h2>Events</h2>\n");
	rows(&b, "events", json_object_get(o, "events"), evcols,
	    "No events.");
	buf_adds(&b, "<h2>Deliveries</h2>\n");
	rows(&b, "deliveries", json_object_get(o, "jobs"), jobcols,
	    "No deliveries.");
	buf_adds(&b, "<h2>Acknowledgements awaited</h2>\n");
	rows(&b, "acks", json_object_get(o, "acks"), ackcols,
	    "None awaited.");
	buf_adds(&b, "<h2>Acknowledgements sent</h2>\n");
	rows(&b, "sent", json_object_get(o, "acks_sent"), sentcols,
	    "None sent.");
	json_decref(o);
	return finish(&b, len);
}

char *
console_login(const char *msg, size_t *len)
{
	struct buf	 b;

	buf_init(&b, 64 * 1024);
	buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head><meta "
	    "charset=\"utf-8\"><title>Sign in - edigate</title><style>"
	    "body{font:14px/1.4 system-ui,sans-serif;margin:3em auto;"
	    "max-width:32em}.err{color:#b00020}</style></head><body>"
	    "<h1>edigate</h1>");
	if (msg != NULL) {
		buf_adds(&b, "<p class=\"err\">");
		t(&b, msg);
		buf_adds(&b, "</p>");
	}
	buf_adds(&b, "<form method=\"post\" action=\"/login\"><p><label>"
	    "Access token<br><input type=\"password\" name=\"token\" "
	    "id=\"token\" size=\"48\" autocomplete=\"off\"></label></p><p>"
	    "<button type=\"submit\">Sign in</button></p></form><p>Ask the "
	    "administrator for a token ([http] tokens in edigate.ini)."
	    "</p>");
	return finish(&b, len);
}
