/*
 * http.c: the daemon's HTTP listener (http.h).  It owns a libmicrohttpd
 * daemon (a small pool of internal polling threads) and turns requests
 * into store calls.  Every request body is capped (EG_MAX_HTTP_BODY) and
 * every answer to bad input is a 4xx: data from HTTP clients never
 * reaches fatal() (STYLE.md).  Handlers run on libmicrohttpd's threads;
 * the store is shared by all threads (store.h), each call its own
 * transaction, none held across a request.
 *
 * No authentication yet: listen on loopback only.  The operator console
 * brings bearer tokens for /v1/ (an Authorization check in handle(),
 * before routing).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "as2.h"
#include "buf.h"
#include "eglimits.h"
#include "err.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define HTTP_THREADS		4
#define HTTP_TIMEOUT_S		30	/* idle connection */
#define HTTP_MEMORY_LIMIT	(64U * 1024)	/* per connection, headers */
#define HTTP_PER_IP_LIMIT	32

struct http {
	struct MHD_Daemon *d;
	struct store	*store;
	struct gateway	*gw;		/* NULL: no AS2 routes */
	unsigned long long max_body;	/* AS2 request bodies */
	char		*tls_cert, *tls_key;	/* PEM text, for MHD */
	int		 port;
};

/* Per request: the body read so far. */
struct req {
	struct buf	 body;
	int		 too_big;
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, const char *type,
    const char *body)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
		    strncmp(body, "{\"error\":\"use POST", 18) == 0 ?
		    "POST" : "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"error": msg} */
static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	json_t		*o;
	char		*s;
	enum MHD_Result	 ret;

	o = json_pack("{s:s}", "error", msg);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	ret = reply(c, status, "application/json", s ? s : "{}");
	free(s);
	return ret;
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
	rc = event_partner(h->store, id, partner, sizeof(partner));
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
	if ((rc = store_ack_resolve(h->store, &res)) != 0) {
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

static enum MHD_Result
route(struct http *h, struct MHD_Connection *c, const char *url,
    const char *method, const struct req *rq)
{
	struct store_rtxn	*rt;
	char			 id[80];
	const char		*p, *e;
	int			 get, post;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	post = strcmp(method, "POST") == 0;
	if (is_as2(h, url))
		return as2_route(h, c, method, rq);
	if (strcmp(url, "/healthz") == 0) {
		if (!get)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		return reply(c, MHD_HTTP_OK, "text/plain", "ok\n");
	}
	if (strcmp(url, "/readyz") == 0) {
		if (!get)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "use GET");
		if (h->store == NULL || store_rtxn_begin(h->store, &rt) != 0)
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "text/plain", "store unavailable\n");
		store_rtxn_end(rt);
		return reply(c, MHD_HTTP_OK, "text/plain", "ready\n");
	}
	if (strncmp(url, "/v1/events/", 11) == 0) {
		p = url + 11;
		e = strchr(p, '/');
		if (e != NULL && strcmp(e, "/ack") == 0 && e > p &&
		    (size_t)(e - p) < sizeof(id)) {
			if (!post)
				return reply_error(c,
				    MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
			memcpy(id, p, (size_t)(e - p));
			id[e - p] = '\0';
			if (h->store == NULL)
				return reply_error(c,
				    MHD_HTTP_SERVICE_UNAVAILABLE,
				    "store unavailable");
			return ack(h, c, id, rq);
		}
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
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

static void
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
http_start(const char *listen, struct store *s, struct http **out)
{
	int	 rc;

	if ((rc = http_start_gw(listen, NULL, NULL, out)) == 0)
		(*out)->store = s;
	return rc;
}

int
http_start_gw(const char *listen, struct gateway *gw,
    const struct http_opts *o, struct http **out)
{
	struct http		*h;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const union MHD_DaemonInfo *info;
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
	free(h);
}
