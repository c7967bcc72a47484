/*
 * http.c: the daemon's HTTP listener (http.h).  It owns a libmicrohttpd
 * daemon (a small pool of internal polling threads) and turns requests
 * into store calls.  Every request body is capped (EG_MAX_HTTP_BODY) and
 * every answer to bad input is a 4xx: data from HTTP clients never
 * reaches fatal() (STYLE.md).  Handlers run on libmicrohttpd's threads;
 * the store is shared by all threads (store.h), each request its own
 * short read transaction, none held across requests.  The configuration
 * is read under the gateway's read lock (SIGHUP swaps it).
 *
 * Routes: /healthz, /readyz, /metrics (open); the JSON API under /v1 and
 * the dashboard (console.c) behind bearer tokens ([http] tokens, roles
 * read, operator, erp; stored as SHA-256, compared in constant time).
 * The dashboard takes the token from a cookie its login form sets
 * (HttpOnly, SameSite=Strict) and its forms carry a CSRF field derived
 * from the token.  Every action is logged with the token's name.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iniparser/iniparser.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "as2.h"
#include "buf.h"
#include "conf.h"
#include "console.h"
#include "digest.h"
#include "eglimits.h"
#include "err.h"
#include "forward.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

#define HTTP_THREADS		4
#define HTTP_TIMEOUT_S		30	/* idle connection */
#define HTTP_MEMORY_LIMIT	(64U * 1024)	/* per connection, headers */
#define HTTP_PER_IP_LIMIT	32
#define API_LIMIT_DEFAULT	50	/* documents, events per page */
#define API_LIMIT_MAX		1000
#define COOKIE			"edigate_token"

struct token {
	char		 name[64];
	enum http_role	 role;
	uint8_t		 sha[32];
};

struct http {
	struct MHD_Daemon *d;
	struct store	*store;
	struct gateway	*gw;
	unsigned long long max_body;	/* AS2 request bodies */
	char		*tls_cert, *tls_key;	/* PEM text, for MHD */
	int		 port;
	pthread_mutex_t	 mu;		/* tokens */
	struct token	*tok;
	size_t		 ntok;
	int		 auth;		/* a tokens file is configured */
	uint64_t	 gen;		/* of the configuration they came from */
};

/* Per request: the body read so far. */
struct req {
	struct buf	 body;
	int		 too_big;
};

/* Who is asking. */
struct who {
	enum http_role	 role;
	char		 name[64];
	char		 csrf[65];	/* the dashboard's form field */
	int		 presented;	/* a token came, good or not */
};

static void
hex(const uint8_t *p, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int	 len = 32;

	EVP_Digest(p, n, out, &len, digest_sha256(), NULL);
}

const char *
http_role_name(enum http_role r)
{
	switch (r) {
	case HTTP_ROLE_READ:
		return "read";
	case HTTP_ROLE_OPERATOR:
		return "operator";
	case HTTP_ROLE_ERP:
		return "erp";
	default:
		return "none";
	}
}

int
http_tokens_load(const char *path, struct http_token_list *out, char *err,
    size_t errsz)
{
	dictionary	*d;
	struct token	*t = NULL;
	const char	*sec, *role, *sha;
	char		 k[256];
	size_t		 n = 0, j;
	int		 i, nsec;
	unsigned int	 v;

	if ((d = iniparser_load(path)) == NULL) {
		snprintf(err, errsz, "%s: cannot read", path);
		return EG_ERR_IO;
	}
	nsec = iniparser_getnsec(d);
	t = xcalloc(nsec > 0 ? (size_t)nsec : 1, sizeof(*t));
	for (i = 0; i < nsec; i++) {
		sec = iniparser_getsecname(d, i);
		snprintf(k, sizeof(k), "%s:role", sec);
		role = iniparser_getstring(d, k, NULL);
		snprintf(k, sizeof(k), "%s:sha256", sec);
		sha = iniparser_getstring(d, k, NULL);
		if (strlen(sec) >= sizeof(t[n].name)) {
			snprintf(err, errsz, "%s: [%s]: name too long", path,
			    sec);
			goto bad;
		}
		snprintf(t[n].name, sizeof(t[n].name), "%s", sec);
		if (role != NULL && strcmp(role, "read") == 0)
			t[n].role = HTTP_ROLE_READ;
		else if (role != NULL && strcmp(role, "operator") == 0)
			t[n].role = HTTP_ROLE_OPERATOR;
		else if (role != NULL && strcmp(role, "erp") == 0)
			t[n].role = HTTP_ROLE_ERP;
		else {
			snprintf(err, errsz, "%s: [%s] role: want read, "
			    "operator or erp", path, sec);
			goto bad;
		}
		if (sha == NULL || strlen(sha) != 64) {
			snprintf(err, errsz, "%s: [%s] sha256: want the 64 hex "
			    "digits of the token's SHA-256", path, sec);
			goto bad;
		}
		for (j = 0; j < 32; j++) {
			if (sscanf(sha + 2 * j, "%2x", &v) != 1 ||
			    strchr("0123456789abcdefABCDEF", sha[2 * j]) ==
			    NULL || strchr("0123456789abcdefABCDEF",
			    sha[2 * j + 1]) == NULL) {
				snprintf(err, errsz, "%s: [%s] sha256: not hex",
				    path, sec);
				goto bad;
			}
			t[n].sha[j] = (uint8_t)v;
		}
		n++;
	}
	iniparser_freedict(d);
	out->tok = t;
	out->n = n;
	return 0;
bad:
	iniparser_freedict(d);
	free(t);
	return EG_ERR_INVAL;
}

/* The tokens of the current configuration (reloaded after SIGHUP). */
static void
tokens_refresh(struct http *h)
{
	struct http_token_list	 l;
	char			 path[EG_MAX_PATH], err[EG_MAX_PATH + 128];
	uint64_t		 gen;
	int			 has;

	pthread_rwlock_rdlock(&h->gw->lock);
	gen = h->gw->generation;
	has = h->gw->conf->http_tokens != NULL;
	if (has)
		snprintf(path, sizeof(path), "%s", h->gw->conf->http_tokens);
	pthread_rwlock_unlock(&h->gw->lock);
	pthread_mutex_lock(&h->mu);
	if (gen != h->gen) {
		h->gen = gen;
		if (!has) {
			free(h->tok);
			h->tok = NULL;
			h->ntok = 0;
			h->auth = 0;
		} else if (http_tokens_load(path, &l, err, sizeof(err)) != 0)
			log_warnx("http: tokens: %s (the previous tokens stay)",
			    err);
		else {
			free(h->tok);
			h->tok = l.tok;
			h->ntok = l.n;
			h->auth = 1;
			log_info("http: tokens=%zu file=%s", l.n, path);
		}
	}
	pthread_mutex_unlock(&h->mu);
}

/* Bearer header, else the dashboard's cookie. */
static void
identify(struct http *h, struct MHD_Connection *c, struct who *w)
{
	const char	*a, *tok = NULL;
	uint8_t		 sha[32], cs[32];
	char		 tmp[600];
	size_t		 i;

	memset(w, 0, sizeof(*w));
	tokens_refresh(h);
	a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0)
		tok = a + 7;
	else if (a != NULL)
		w->presented = 1;	/* another scheme: not accepted */
	if (tok == NULL && a == NULL)
		tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	if (tok != NULL && *tok != '\0')
		w->presented = 1;
	pthread_mutex_lock(&h->mu);
	if (!h->auth) {
		pthread_mutex_unlock(&h->mu);
		w->role = HTTP_ROLE_NONE;
		snprintf(w->name, sizeof(w->name), "anonymous");
		return;
	}
	if (tok != NULL && *tok != '\0' && strlen(tok) < 512) {
		sha256(tok, strlen(tok), sha);
		for (i = 0; i < h->ntok; i++)
			if (CRYPTO_memcmp(sha, h->tok[i].sha, 32) == 0) {
				w->role = h->tok[i].role;
				snprintf(w->name, sizeof(w->name), "%s",
				    h->tok[i].name);
			}
	}
	pthread_mutex_unlock(&h->mu);
	if (w->role != HTTP_ROLE_NONE) {
		snprintf(tmp, sizeof(tmp), "edigate-csrf:%s", tok);
		sha256(tmp, strlen(tmp), cs);
		hex(cs, 32, w->csrf);
	}
}

static int
auth_on(struct http *h)
{
	int	 on;

	pthread_mutex_lock(&h->mu);
	on = h->auth;
	pthread_mutex_unlock(&h->mu);
	return on;
}

/* --- answers --- */

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned int status, const char *type,
    const void *p, size_t len, const char *const *hdrs)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	size_t			 i;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)p,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (strncmp(type, "text/html", 9) == 0)
		MHD_add_response_header(r, "Content-Security-Policy",
		    "default-src 'none'; style-src 'unsafe-inline'; "
		    "form-action 'self'; img-src 'self'");
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2)
		MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, const char *type,
    const char *body)
{
	static const char *const post[] = { MHD_HTTP_HEADER_ALLOW, "POST",
	    NULL };
	static const char *const get[] = { MHD_HTTP_HEADER_ALLOW,
	    "GET, HEAD", NULL };

	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		return respond(c, status, type, body, strlen(body),
		    strncmp(body, "{\"error\":\"use POST", 18) == 0 ? post :
		    get);
	return respond(c, status, type, body, strlen(body), NULL);
}

/* {"error": msg} */
static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	static const char *const www[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	    "Bearer realm=\"edigate\"", NULL };
	json_t		*o;
	char		*s;
	enum MHD_Result	 ret;

	o = json_pack("{s:s}", "error", msg);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = respond(c, status, "application/json", s ? s : "{}",
		    strlen(s ? s : "{}"), www);
	else
		ret = reply(c, status, "application/json", s ? s : "{}");
	free(s);
	return ret;
}

/* The JSON value j (taken) as the answer. */
static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned int status, json_t *j)
{
	char		*s;
	enum MHD_Result	 ret;

	s = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	if (s == NULL)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "cannot encode");
	ret = reply(c, status, "application/json", s);
	free(s);
	return ret;
}

static enum MHD_Result
reply_store_error(struct MHD_Connection *c, int rc)
{
	if (rc == EG_ERR_NOTFOUND)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
	log_warnx("http: %s", store_errmsg());
	return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, store_errmsg());
}

static enum MHD_Result
redirect(struct MHD_Connection *c, const char *to, const char *cookie)
{
	const char	*h[] = { MHD_HTTP_HEADER_LOCATION, to,
	    cookie ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie, NULL };

	return respond(c, MHD_HTTP_SEE_OTHER, "text/plain", "", 0, h);
}

static const char *
arg(struct MHD_Connection *c, const char *k)
{
	const char	*v = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, k);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Field k of an application/x-www-form-urlencoded body into out
 * (unescaped); 0, or -1 when absent or too long.
 */
static int
form_field(const struct req *rq, const char *k, char *out, size_t outsz)
{
	const char	*p = rq->body.p ? rq->body.p : "", *e, *eq;
	size_t		 kl = strlen(k), vl;

	while (*p != '\0') {
		e = strchr(p, '&');
		if (e == NULL)
			e = p + strlen(p);
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq != NULL && (size_t)(eq - p) == kl &&
		    memcmp(p, k, kl) == 0) {
			vl = (size_t)(e - eq - 1);
			if (vl >= outsz)
				return -1;
			memcpy(out, eq + 1, vl);
			out[vl] = '\0';
			for (vl = 0; out[vl] != '\0'; vl++)
				if (out[vl] == '+')
					out[vl] = ' ';
			MHD_http_unescape(out);
			return 0;
		}
		p = *e ? e + 1 : e;
	}
	return -1;
}

/* The stored event's partner attribute; 0, EG_ERR_NOTFOUND, other. */
static int
event_partner(struct store *s, const uint8_t id[STORE_ID_LEN], char *out,
    size_t outsz)
{
	struct store_rtxn	*rt;
	struct store_event_rec	 rec;
	json_t			*ev = NULL;
	json_error_t		 jerr;
	const char		*p;
	int			 rc;

	if ((rc = store_rtxn_begin(s, &rt)) != 0)
		return rc;
	if ((rc = store_event_get(rt, id, &rec)) == 0)
		ev = json_loadb(rec.json.p, rec.json.len, 0, &jerr);
	store_rtxn_end(rt);
	if (rc != 0)
		return rc;
	p = json_string_value(json_object_get(ev, "partner"));
	if (p == NULL || strlen(p) >= outsz)
		rc = EG_ERR_SYNTAX;
	else
		snprintf(out, outsz, "%s", p);
	json_decref(ev);
	return rc;
}

/*
 * POST /v1/events/{id}/ack {"status": "accepted" | "rejected",
 * "reference": "...", "reason": "..."}: resolve the event's ERP import
 * expectation.
 */
static enum MHD_Result
ack(struct http *h, struct MHD_Connection *c, const char *idtext,
    const struct req *rq)
{
	struct store_resolve	 res;
	uint8_t			 id[STORE_ID_LEN];
	char			 ref[STORE_ID_TEXT], partner[STORE_FIELD];
	char			 reason[EG_MAX_STORE_ERROR + 1], out[64];
	json_t			*o;
	json_error_t		 jerr;
	const char		*st, *eref, *why;
	int			 rc;

	if (store_id_parse(idtext, id) != 0)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such event");
	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body too large");
	o = json_loadb(rq->body.p ? rq->body.p : "", rq->body.len, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
		    "body is not a JSON object");
	}
	st = json_string_value(json_object_get(o, "status"));
	eref = json_string_value(json_object_get(o, "reference"));
	why = json_string_value(json_object_get(o, "reason"));
	if (st == NULL || (strcmp(st, "accepted") != 0 &&
	    strcmp(st, "rejected") != 0)) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
		    "status must be \"accepted\" or \"rejected\"");
	}
	if ((json_object_get(o, "reference") != NULL && eref == NULL) ||
	    (json_object_get(o, "reason") != NULL && why == NULL)) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
		    "reference and reason must be strings");
	}
	/* As the forwarder words it: "erp ref X", then the reason. */
	snprintf(reason, sizeof(reason), "%s%s%s%s", eref ? "erp ref " : "",
	    eref ? eref : "", eref && why ? ": " : "", why ? why : "");

	store_id_format(id, ref);
	rc = event_partner(h->gw->store, id, partner, sizeof(partner));
	if (rc == EG_ERR_NOTFOUND) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such event");
	}
	if (rc != 0) {
		log_warnx("http: ack event=%s: %s", ref, rc == EG_ERR_SYNTAX ?
		    "stored event has no partner" : store_errmsg());
		json_decref(o);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "event unreadable");
	}
	memset(&res, 0, sizeof(res));
	res.kind = STORE_ACK_ERP;
	res.partner = partner;
	res.ref = ref;
	res.state = strcmp(st, "accepted") == 0 ? STORE_ACK_ACCEPTED :
	    STORE_ACK_REJECTED;
	res.reason = reason[0] ? reason : NULL;
	if ((rc = store_ack_resolve(h->gw->store, &res)) != 0) {
		log_warnx("http: ack event=%s: %s", ref, store_errmsg());
		json_decref(o);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "store unavailable");
	}
	log_info("http: ack event=%s partner=%s state=%s resolved=%s%s%s",
	    ref, partner, st, res.found ? "yes" : "no",
	    reason[0] ? " reason=" : "", reason);
	json_decref(o);
	snprintf(out, sizeof(out), "{\"resolved\":%s}",
	    res.found ? "true" : "false");
	return reply(c, MHD_HTTP_OK, "application/json", out);
}

static int
is_as2(const struct http *h, const char *url)
{
	return h->gw != NULL && (strcmp(url, "/as2") == 0 ||
	    strcmp(url, "/as2/mdn") == 0);
}

static enum MHD_Result
add_header(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct buf	*b = arg;

	buf_printf(b, "%s: %s\r\n", key, value ? value : "");
	return MHD_YES;
}

/*
 * POST /as2: hand the request to as2.c and its answer back.  Only the
 * request's headers and body cross; as2.c never sees libmicrohttpd.
 */
static enum MHD_Result
as2_route(struct http *h, struct MHD_Connection *c, const char *method,
    const struct req *rq)
{
	struct as2_response	 out;
	struct MHD_Response	*r;
	struct buf		 hdrs;
	enum MHD_Result		 ret;
	char			*line, *save, *colon, *v;

	if (strcmp(method, "POST") != 0)
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body too large");
	buf_init(&hdrs, HTTP_MEMORY_LIMIT * 4);
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &hdrs);
	as2_response_init(&out);
	as2_receive(h->gw, hdrs.p ? hdrs.p : "", hdrs.len, rq->body.p,
	    rq->body.len, &out);
	buf_free(&hdrs);
	r = MHD_create_response_from_buffer(out.body.len,
	    out.body.p ? out.body.p : (void *)"", MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		as2_response_free(&out);
		return MHD_NO;
	}
	for (line = strtok_r(out.headers.p ? out.headers.p : (char *)"",
	    "\r\n", &save); line != NULL; line = strtok_r(NULL, "\r\n",
	    &save)) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' '; v++)
			;
		MHD_add_response_header(r, line, v);
	}
	ret = MHD_queue_response(c, out.status ? out.status : 500, r);
	MHD_destroy_response(r);
	as2_response_free(&out);
	return ret;
}

/* --- the JSON API --- */

static long
limit_arg(struct MHD_Connection *c)
{
	const char	*v = arg(c, "limit");
	char		*end;
	long		 n;

	if (v == NULL)
		return API_LIMIT_DEFAULT;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n <= 0)
		return -1;
	return n > API_LIMIT_MAX ? API_LIMIT_MAX : n;
}

static enum MHD_Result
api_partners(struct http *h, struct MHD_Connection *c)
{
	struct store_rtxn	*rt;
	json_t			*rows, *row, *ch;
	const struct partner	*p;
	size_t			 i, k;
	int			 rc;

	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	pthread_rwlock_rdlock(&h->gw->lock);
	rc = ops_partners(rt, h->gw->conf, store_now(), &rows);
	store_rtxn_end(rt);
	if (rc == 0)
		json_array_foreach(rows, i, row) {
			/* Channel health: the folders and failed polls. */
			ch = json_array();
			for (k = 0; k < h->gw->conf->npartner; k++) {
				p = &h->gw->conf->partner[k];
				if (strcmp(p->id, json_string_value(
				    json_object_get(row, "id"))) != 0 ||
				    p->inbox == NULL)
					continue;
				json_array_append_new(ch, json_pack(
				    "{s:s,s:s,s:o,s:I}", "type", "dir",
				    "inbox", p->inbox, "outbox",
				    ops_opt(p->outbox), "poll_errors",
				    (json_int_t)metrics_poll_errors(p->id,
				    "dir")));
			}
			ops_set(row, "channels", ch);
		}
	pthread_rwlock_unlock(&h->gw->lock);
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "partners",
	    rows));
}

static enum MHD_Result
api_documents(struct http *h, struct MHD_Connection *c)
{
	struct store_rtxn	*rt;
	struct ops_docq		 q;
	uint8_t			 next[STORE_ID_LEN];
	json_t			*rows;
	const char		*v;
	int			 rc;

	memset(&q, 0, sizeof(q));
	q.partner = arg(c, "partner");
	q.doctype = arg(c, "type");
	q.po = arg(c, "po");
	if ((v = arg(c, "state")) != NULL && (q.state = ops_parse_name(v,
	    ops_doc_state_name, OPS_NDOCSTATE)) == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "state: one of "
		    "received, translated, rejected, duplicate, quarantined");
	if ((v = arg(c, "from")) != NULL && (q.from = ops_parse_time(v,
	    0)) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "from: want "
		    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	if ((v = arg(c, "to")) != NULL && (q.to = ops_parse_time(v, 1)) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "to: want "
		    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	if ((v = arg(c, "cursor")) != NULL && store_id_parse(v,
	    q.before) != 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "cursor: not an "
		    "id (the next of the previous page)");
	if ((q.limit = limit_arg(c)) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: want a "
		    "positive count");
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	pthread_rwlock_rdlock(&h->gw->lock);
	rc = ops_docs(rt, h->gw->conf, &q, &rows, next);
	pthread_rwlock_unlock(&h->gw->lock);
	store_rtxn_end(rt);
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o,s:o}", "documents",
	    rows, "next", ops_id(next)));
}

/* A document id, full or a unique prefix. */
static int
find_doc(struct store_rtxn *rt, const char *text, uint8_t id[STORE_ID_LEN])
{
	struct store_doc	*d;
	int			 rc;

	d = xmalloc(sizeof(*d));
	if ((rc = store_doc_find(rt, text, d)) == 0)
		memcpy(id, d->id, STORE_ID_LEN);
	free(d);
	return rc;
}

static enum MHD_Result
api_document(struct http *h, struct MHD_Connection *c, const char *text,
    int raw)
{
	static const char *const none[] = { NULL };
	struct store_rtxn	*rt;
	struct store_doc	*d;
	struct slice		 b;
	uint8_t			 id[STORE_ID_LEN];
	char			 cd[STORE_FIELD + 64];
	const char		*hd[] = { "Content-Disposition", cd, NULL };
	json_t			*o;
	enum MHD_Result		 ret;
	size_t			 i;
	int			 rc;

	(void)none;
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	if ((rc = find_doc(rt, text, id)) != 0) {
		store_rtxn_end(rt);
		if (rc == EG_ERR_INVAL)
			return reply_error(c, MHD_HTTP_BAD_REQUEST, "not an "
			    "id, or an ambiguous prefix");
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such document");
	}
	if (!raw) {
		rc = ops_doc_detail(rt, id, store_now(), &o);
		store_rtxn_end(rt);
		if (rc != 0)
			return reply_store_error(c, rc);
		return reply_json(c, MHD_HTTP_OK, o);
	}
	d = xmalloc(sizeof(*d));
	if ((rc = store_doc_get(rt, id, d)) == 0)
		rc = store_blob_get(rt, id, &b);
	if (rc != 0) {
		store_rtxn_end(rt);
		free(d);
		if (rc == EG_ERR_NOTFOUND)
			return reply_error(c, MHD_HTTP_GONE, "the raw bytes "
			    "were purged (retention)");
		return reply_store_error(c, rc);
	}
	/* A file name that needs no quoting. */
	snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", d->name);
	for (i = 22; cd[i] != '\0' && cd[i + 1] != '\0'; i++)
		if (strchr("\"\\/\r\n;", cd[i]) != NULL ||
		    (unsigned char)cd[i] < 0x20 || (unsigned char)cd[i] >= 0x7f)
			cd[i] = '_';
	ret = respond(c, MHD_HTTP_OK, "application/octet-stream", b.p, b.len,
	    hd);
	store_rtxn_end(rt);
	free(d);
	return ret;
}

static enum MHD_Result
api_events(struct http *h, struct MHD_Connection *c)
{
	struct store_rtxn	*rt;
	uint8_t			 id[STORE_ID_LEN];
	const char		*doc = arg(c, "doc"), *biz = arg(c, "biz");
	json_t			*rows;
	long			 limit;
	int			 rc;

	if ((limit = limit_arg(c)) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: want a "
		    "positive count");
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	if (doc != NULL && (rc = find_doc(rt, doc, id)) != 0) {
		store_rtxn_end(rt);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such document");
	}
	rc = ops_events(rt, doc ? id : NULL, biz, limit, &rows);
	store_rtxn_end(rt);
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "events", rows));
}

static enum MHD_Result
api_event(struct http *h, struct MHD_Connection *c, const char *text)
{
	struct store_rtxn	*rt;
	struct store_event_rec	 e;
	json_t			*o;
	int			 rc;

	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	if ((rc = store_event_find(rt, text, &e)) == 0)
		rc = ops_event_detail(rt, e.id, store_now(), &o);
	store_rtxn_end(rt);
	if (rc == EG_ERR_NOTFOUND || rc == EG_ERR_INVAL)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such event");
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result
api_jobs(struct http *h, struct MHD_Connection *c, int dlq)
{
	struct store_rtxn	*rt;
	const char		*v;
	json_t			*rows;
	int			 rc, st = 0, kind = 0;

	if ((v = arg(c, "state")) != NULL && (st = ops_parse_name(v,
	    ops_job_state_name, OPS_NJOBSTATE)) == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "state: one of "
		    "pending, inflight, done, dead, held");
	if ((v = arg(c, "kind")) != NULL && (kind = ops_parse_name(v,
	    ops_job_kind_name, OPS_NJOBKIND)) == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "kind: one of "
		    "forward, send, translate");
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	rc = ops_jobs(rt, dlq, st, kind, &rows);
	store_rtxn_end(rt);
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", dlq ?
	    "dead_letters" : "jobs", rows));
}

static enum MHD_Result
api_acks(struct http *h, struct MHD_Connection *c)
{
	struct store_rtxn	*rt;
	const char		*v, *st = arg(c, "state"), *s;
	json_t			*rows, *out, *r;
	size_t			 i;
	int			 rc, kind = 0, od;

	if ((v = arg(c, "kind")) != NULL && (kind = store_ack_kind_parse(v))
	    == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "kind: one of "
		    "mdn, functional, po_ack, ship_notice, erp");
	if (st != NULL && strcmp(st, "pending") != 0 &&
	    strcmp(st, "overdue") != 0 && strcmp(st, "negative") != 0 &&
	    strcmp(st, "accepted") != 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "state: one of "
		    "pending, overdue, negative, accepted");
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	rc = ops_acks(rt, arg(c, "partner"), kind, 0, store_now(), &rows);
	store_rtxn_end(rt);
	if (rc != 0)
		return reply_store_error(c, rc);
	out = json_array();
	json_array_foreach(rows, i, r) {
		s = json_string_value(json_object_get(r, "state"));
		od = json_is_true(json_object_get(r, "overdue"));
		if (st == NULL ||
		    (strcmp(st, "overdue") == 0 && od) ||
		    (strcmp(st, "pending") == 0 && !od &&
		    strcmp(s, "pending") == 0) ||
		    (strcmp(st, "negative") == 0 &&
		    strcmp(s, "rejected") == 0) ||
		    (strcmp(st, "accepted") == 0 &&
		    strcmp(s, "accepted") == 0))
			json_array_append(out, r);
	}
	json_decref(rows);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "acks", out));
}

static enum MHD_Result
api_chain(struct http *h, struct MHD_Connection *c)
{
	struct store_rtxn	*rt;
	const char		*po = arg(c, "po");
	json_t			*o;
	int			 rc;

	if (po == NULL || strlen(po) > EG_MAX_STORE_FIELD - 64)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "po: the PO "
		    "number to follow");
	if ((rc = store_rtxn_begin(h->gw->store, &rt)) != 0)
		return reply_store_error(c, rc);
	pthread_rwlock_rdlock(&h->gw->lock);
	rc = ops_chain(rt, h->gw->conf, arg(c, "partner"), po, store_now(),
	    &o);
	pthread_rwlock_unlock(&h->gw->lock);
	store_rtxn_end(rt);
	if (rc != 0)
		return reply_store_error(c, rc);
	return reply_json(c, MHD_HTTP_OK, o);
}

/* replay, hold, release, retry: log who did what. */
static int
act(struct http *h, const struct who *w, enum ops_act a, const char *id,
    json_t **res)
{
	json_t		*v;
	char		 line[512];
	int		 ex;

	ex = ops_action(h->gw->store, a, id, res);
	v = json_array_get(json_object_get(*res, ex == 0 ? "done" :
	    "errors"), 0);
	snprintf(line, sizeof(line), "%s", v ? json_string_value(v) : "");
	log_info("console: %s by=%s id=%s result=%s%s%s", ops_act_name(a),
	    w->name, id, ex == 0 ? "ok" : "refused", line[0] ? " detail=" :
	    "", line);
	if (ex == 0) {
		wake_signal(&h->gw->pipeline_wake);
		wake_signal(&h->gw->outbox_wake);
		if (h->gw->fwd != NULL)
			forward_kick(h->gw->fwd);
	}
	return ex;
}

static unsigned int
act_status(int ex)
{
	switch (ex) {
	case 0:
		return MHD_HTTP_OK;
	case 64:
		return MHD_HTTP_BAD_REQUEST;
	case 65:
	case 69:
		return MHD_HTTP_CONFLICT;
	case 66:
		return MHD_HTTP_NOT_FOUND;
	}
	return MHD_HTTP_SERVICE_UNAVAILABLE;
}

static enum MHD_Result
api_action(struct http *h, struct MHD_Connection *c, const struct who *w,
    enum ops_act a, const char *id)
{
	json_t	*res;
	int	 ex;

	ex = act(h, w, a, id, &res);
	return reply_json(c, act_status(ex), res);
}

/* --- the dashboard (pages in console.c) --- */

static enum MHD_Result
reply_html(struct MHD_Connection *c, unsigned int status, char *html,
    size_t len)
{
	enum MHD_Result	 ret;

	if (html == NULL)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
		    "store unavailable\n");
	ret = respond(c, status, "text/html; charset=utf-8", html, len, NULL);
	free(html);
	return ret;
}

static void
ctx_init(struct http *h, struct console_ctx *x, const struct who *w,
    struct MHD_Connection *c)
{
	memset(x, 0, sizeof(*x));
	x->gw = h->gw;
	x->who = w->name;
	x->role = http_role_name(w->role);
	x->operator = w->role == HTTP_ROLE_OPERATOR;
	x->csrf = w->csrf;
	x->auth = auth_on(h);
	x->flash = arg(c, "msg");
}

static enum MHD_Result
page(struct http *h, struct MHD_Connection *c, const char *url,
    const char *method, const struct req *rq, const struct who *w)
{
	struct console_ctx	 x;
	json_t			*res, *v;
	char			 field[256], csrf[80], to[600], *html;
	char			 cookie[700], *esc;
	size_t			 len;
	unsigned int		 status = MHD_HTTP_OK;
	int			 get, post, ex;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	post = strcmp(method, "POST") == 0;
	if (strcmp(url, "/login") == 0) {
		if (get) {
			html = console_login(NULL, &len);
			return reply_html(c, MHD_HTTP_OK, html, len);
		}
		if (!post)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		if (form_field(rq, "token", field, sizeof(field)) != 0 ||
		    strspn(field, "0123456789abcdefABCDEF-_.~") !=
		    strlen(field)) {
			html = console_login("That is not a token.", &len);
			return reply_html(c, MHD_HTTP_UNAUTHORIZED, html, len);
		}
		snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; "
		    "HttpOnly; SameSite=Strict", field);
		return redirect(c, "/", cookie);
	}
	if (strcmp(url, "/logout") == 0 && post)
		return redirect(c, "/login", COOKIE "=; Path=/; HttpOnly; "
		    "SameSite=Strict; Max-Age=0");
	/* Every other page needs a token when tokens are configured. */
	if (auth_on(h) && (w->role == HTTP_ROLE_NONE ||
	    w->role == HTTP_ROLE_ERP)) {
		if (w->presented && w->role == HTTP_ROLE_ERP) {
			html = console_login("This token may not read the "
			    "console.", &len);
			return reply_html(c, MHD_HTTP_FORBIDDEN, html, len);
		}
		return redirect(c, "/login", NULL);
	}
	ctx_init(h, &x, w, c);
	if (strcmp(url, "/retry") == 0 || strcmp(url, "/replay") == 0) {
		if (!post)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use POST");
		if (w->role != HTTP_ROLE_OPERATOR)
			return reply(c, MHD_HTTP_FORBIDDEN, "text/plain",
			    "an operator token is needed for this\n");
		if (form_field(rq, "csrf", csrf, sizeof(csrf)) != 0 ||
		    CRYPTO_memcmp(csrf, w->csrf, sizeof(w->csrf)) != 0 ||
		    strlen(csrf) != 64)
			return reply(c, MHD_HTTP_FORBIDDEN, "text/plain",
			    "the form is stale: reload the page\n");
		if (form_field(rq, "id", field, sizeof(field)) != 0)
			return reply(c, MHD_HTTP_BAD_REQUEST, "text/plain",
			    "no id\n");
		ex = act(h, w, OPS_REPLAY, field, &res);
		v = json_array_get(json_object_get(res, ex == 0 ? "done" :
		    "errors"), 0);
		esc = console_urlencode(v ? json_string_value(v) : "done");
		snprintf(to, sizeof(to), "/?msg=%.500s", esc);
		free(esc);
		json_decref(res);
		return redirect(c, to, NULL);
	}
	if (!get)
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (strcmp(url, "/") == 0)
		html = console_home(&x, &len);
	else if (strcmp(url, "/search") == 0)
		html = console_search(&x, arg(c, "po"), &len);
	else if (strncmp(url, "/doc/", 5) == 0)
		html = console_doc(&x, url + 5, &status, &len);
	else
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
		    "not found\n");
	return reply_html(c, status, html, len);
}

/* --- routing --- */

/* "/v1/things/ID/verb" pieces: id and verb (may be ""). */
static int
split(const char *rest, char *id, size_t idsz, const char **verb)
{
	const char	*e = strchr(rest, '/');
	size_t		 n = e ? (size_t)(e - rest) : strlen(rest);

	if (n == 0 || n >= idsz)
		return -1;
	memcpy(id, rest, n);
	id[n] = '\0';
	*verb = e ? e + 1 : "";
	return 0;
}

static enum MHD_Result
api(struct http *h, struct MHD_Connection *c, const char *url,
    const char *method, const struct req *rq, const struct who *w)
{
	char		 id[80];
	const char	*verb;
	int		 get, post, i;
	static const struct {
		const char	*path;
		enum ops_act	 act;
	} acts[] = {
		{ "/v1/replay/", OPS_REPLAY }, { "/v1/hold/", OPS_HOLD },
		{ "/v1/release/", OPS_RELEASE },
	};

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	post = strcmp(method, "POST") == 0;

	/* The ERP's asynchronous import acknowledgement. */
	if (strncmp(url, "/v1/events/", 11) == 0 &&
	    split(url + 11, id, sizeof(id), &verb) == 0 &&
	    strcmp(verb, "ack") == 0) {
		if (!post)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use POST");
		if (auth_on(h) && w->role == HTTP_ROLE_NONE)
			return reply_error(c, MHD_HTTP_UNAUTHORIZED,
			    "a bearer token is needed");
		if (auth_on(h) && w->role != HTTP_ROLE_OPERATOR &&
		    w->role != HTTP_ROLE_ERP)
			return reply_error(c, MHD_HTTP_FORBIDDEN,
			    "an erp or operator token is needed");
		return ack(h, c, id, rq);
	}
	if (auth_on(h) && w->role == HTTP_ROLE_NONE)
		return reply_error(c, MHD_HTTP_UNAUTHORIZED, w->presented ?
		    "unknown token" : "a bearer token is needed");
	if (w->role == HTTP_ROLE_ERP)
		return reply_error(c, MHD_HTTP_FORBIDDEN, "an erp token only "
		    "acknowledges events");

	/* Actions. */
	for (i = 0; i < 3; i++)
		if (strncmp(url, acts[i].path, strlen(acts[i].path)) == 0)
			break;
	if (i < 3 || (strncmp(url, "/v1/dlq/", 8) == 0 &&
	    split(url + 8, id, sizeof(id), &verb) == 0 &&
	    strcmp(verb, "retry") == 0)) {
		if (!post)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use POST");
		if (!auth_on(h))
			return reply_error(c, MHD_HTTP_FORBIDDEN, "actions "
			    "need an operator token: configure [http] tokens");
		if (w->role != HTTP_ROLE_OPERATOR)
			return reply_error(c, MHD_HTTP_FORBIDDEN, "an "
			    "operator token is needed for actions");
		if (i < 3 && (split(url + strlen(acts[i].path), id,
		    sizeof(id), &verb) != 0 || *verb != '\0'))
			return reply_error(c, MHD_HTTP_NOT_FOUND,
			    "not found");
		return api_action(h, c, w, i < 3 ? acts[i].act : OPS_REPLAY,
		    id);
	}

	if (!get)
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
	if (strcmp(url, "/v1/partners") == 0)
		return api_partners(h, c);
	if (strcmp(url, "/v1/documents") == 0)
		return api_documents(h, c);
	if (strncmp(url, "/v1/documents/", 14) == 0 &&
	    split(url + 14, id, sizeof(id), &verb) == 0 &&
	    (*verb == '\0' || strcmp(verb, "raw") == 0))
		return api_document(h, c, id, *verb != '\0');
	if (strcmp(url, "/v1/events") == 0)
		return api_events(h, c);
	if (strncmp(url, "/v1/events/", 11) == 0 &&
	    split(url + 11, id, sizeof(id), &verb) == 0 && *verb == '\0')
		return api_event(h, c, id);
	if (strcmp(url, "/v1/jobs") == 0)
		return api_jobs(h, c, 0);
	if (strcmp(url, "/v1/dlq") == 0)
		return api_jobs(h, c, 1);
	if (strcmp(url, "/v1/acks") == 0)
		return api_acks(h, c);
	if (strcmp(url, "/v1/chain") == 0)
		return api_chain(h, c);
	if (strcmp(url, "/v1/whoami") == 0)
		return reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s}",
		    "name", w->name, "role", http_role_name(w->role)));
	return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result
route(struct http *h, struct MHD_Connection *c, const char *url,
    const char *method, const struct req *rq)
{
	struct who	 w;
	struct buf	 b;
	enum MHD_Result	 ret;
	int		 get, ready;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (is_as2(h, url))
		return as2_route(h, c, method, rq);
	if (strcmp(url, "/healthz") == 0) {
		if (!get)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		return reply(c, MHD_HTTP_OK, "text/plain", "ok\n");
	}
	if (strcmp(url, "/readyz") == 0) {
		struct store_rtxn *rt;

		if (!get)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		if (store_rtxn_begin(h->gw->store, &rt) != 0)
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "text/plain", "store unavailable\n");
		store_rtxn_end(rt);
		pthread_rwlock_rdlock(&h->gw->lock);
		ready = h->gw->cat != NULL;
		pthread_rwlock_unlock(&h->gw->lock);
		if (!ready)
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "text/plain", "maps not loaded\n");
		return reply(c, MHD_HTTP_OK, "text/plain", "ready\n");
	}
	if (strcmp(url, "/metrics") == 0) {
		if (!get)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		buf_init(&b, 64U * 1024 * 1024);
		if (metrics_render(h->gw, &b) != 0) {
			buf_free(&b);
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "text/plain", "store unavailable\n");
		}
		ret = respond(c, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8",
		    b.p ? b.p : "", b.len, NULL);
		buf_free(&b);
		return ret;
	}
	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body too large");
	identify(h, c, &w);
	if (strncmp(url, "/v1/", 4) == 0)
		return api(h, c, url, method, rq, &w);
	return page(h, c, url, method, rq, &w);
}

static enum MHD_Result
handle(void *arg, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http	*h = arg;
	struct req	*rq = *con_cls;

	if (rq == NULL) {
		/* First call: headers only.  Bodies arrive in later calls. */
		rq = xcalloc(1, sizeof(*rq));
		buf_init(&rq->body, is_as2(h, url) ? (size_t)h->max_body :
		    EG_MAX_HTTP_BODY);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Past the cap: read and drop, then answer 413. */
		if (!rq->too_big &&
		    buf_add(&rq->body, upload, *upload_size) != 0)
			rq->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(h, c, url, method, rq);
}

static void
completed(void *arg, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req	*rq = *con_cls;

	if (rq == NULL)
		return;
	buf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd's log callback: fmt is its own printf format. */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *arg, const char *fmt, va_list ap)
{
	char	 msg[512];
	size_t	 l;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	l = strlen(msg);
	while (l > 0 && msg[l - 1] == '\n')
		msg[--l] = '\0';
	log_warnx("http: %s", msg);
}

/* "host:port" or "[v6]:port" into an address; 0 or EG_ERR_INVAL. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	struct addrinfo	 hints, *ai;
	char		 host[256];
	const char	*colon, *port, *hb, *he;
	char		*end;
	unsigned long	 pn;

	if (listen == NULL)
		return EG_ERR_INVAL;
	if (listen[0] == '[') {
		hb = listen + 1;
		if ((he = strchr(hb, ']')) == NULL || he[1] != ':')
			return EG_ERR_INVAL;
		port = he + 2;
	} else {
		if ((colon = strrchr(listen, ':')) == NULL)
			return EG_ERR_INVAL;
		hb = listen;
		he = colon;
		port = colon + 1;
	}
	if (he == hb || (size_t)(he - hb) >= sizeof(host) || *port == '\0')
		return EG_ERR_INVAL;
	pn = strtoul(port, &end, 10);
	if (*end != '\0' || pn > 65535 || port[0] == '-' || port[0] == '+')
		return EG_ERR_INVAL;
	memcpy(host, hb, (size_t)(he - hb));
	host[he - hb] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return EG_ERR_INVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* A PEM file's text for MHD_OPTION_HTTPS_MEM_*; NULL (logged). */
static char *
pem_text(const char *path)
{
	FILE	*fp;
	struct buf b;
	char	 tmp[4096];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("http: %s", path);
		return NULL;
	}
	buf_init(&b, 1 << 20);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		if (buf_add(&b, tmp, n) != 0)
			break;
	fclose(fp);
	return buf_release(&b, NULL);
}

int
http_start(struct gateway *gw, const struct http_opts *o, struct http **out)
{
	struct http		*h;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const union MHD_DaemonInfo *info;
	const char		*listen = gw->conf->http_listen;
	unsigned int		 flags, timeout = HTTP_TIMEOUT_S;
	struct MHD_OptionItem	 tls[3];

	if (parse_listen(listen, &ss, &sslen) != 0) {
		log_warnx("http: bad listen address \"%s\" (want host:port)",
		    listen ? listen : "");
		return EG_ERR_INVAL;
	}
	h = xcalloc(1, sizeof(*h));
	h->gw = gw;
	h->store = gw != NULL ? gw->store : NULL;
	h->max_body = o != NULL && o->max_body > 0 ? o->max_body :
	    64ULL * 1024 * 1024;
	if (o != NULL && o->timeout_s > 0)
		timeout = o->timeout_s;
	pthread_mutex_init(&h->mu, NULL);
	h->gen = gw->generation + 1;	/* load at the first request... */
	tokens_refresh(h);		/* ...or now */
	if (gw->conf->http_tokens != NULL && !h->auth) {
		log_warnx("http: [http] tokens %s: unusable", gw->conf->http_tokens);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return EG_ERR_INVAL;
	}
	if (!h->auth)
		log_info("http: no [http] tokens: listings open, actions "
		    "refused; listen on loopback only");
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
	    MHD_USE_AUTO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o != NULL && o->tls_cert != NULL && o->tls_key != NULL) {
		if ((h->tls_cert = pem_text(o->tls_cert)) == NULL ||
		    (h->tls_key = pem_text(o->tls_key)) == NULL) {
			free(h->tls_cert);
			free(h);
			return EG_ERR_IO;
		}
		flags |= MHD_USE_TLS;
	}
	memset(tls, 0, sizeof(tls));
	tls[0].option = tls[1].option = tls[2].option = MHD_OPTION_END;
	if (flags & MHD_USE_TLS) {
		tls[0].option = MHD_OPTION_HTTPS_MEM_CERT;
		tls[0].ptr_value = h->tls_cert;
		tls[1].option = MHD_OPTION_HTTPS_MEM_KEY;
		tls[1].ptr_value = h->tls_key;
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTP_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EG_MAX_HTTP_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_PER_IP_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		log_warnx("http: cannot listen on %s", listen);
		free(h->tls_cert);
		free(h->tls_key);
		pthread_mutex_destroy(&h->mu);
		free(h->tok);
		free(h);
		return EG_ERR_IO;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : 0;
	log_info("http: listening on %s port=%d", listen, h->port);
	*out = h;
	return 0;
}

int
http_port(const struct http *h)
{
	return h->port;
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h->tls_cert);
	if (h->tls_key != NULL)
		explicit_bzero(h->tls_key, strlen(h->tls_key));
	free(h->tls_key);
	pthread_mutex_destroy(&h->mu);
	free(h->tok);
	free(h);
}
