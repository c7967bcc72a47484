/*
 * http.h: the daemon's HTTP listener (libmicrohttpd, DESIGN.md §3, §9,
 * §10): /healthz, /readyz, /metrics, the operator console (JSON API under
 * /v1, the dashboard at /) and the ERP's asynchronous import
 * acknowledgement POST /v1/events/{id}/ack.  edigate(8) documents them.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

struct gateway;
struct http;

/* What a bearer token may do. */
enum http_role {
	HTTP_ROLE_NONE = 0,	/* no token (or tokens not configured) */
	HTTP_ROLE_READ,		/* every listing */
	HTTP_ROLE_ERP,		/* only POST /v1/events/{id}/ack */
	HTTP_ROLE_OPERATOR,	/* listings and actions */
};
const char *http_role_name(enum http_role);

/* Limits of the listener (conf [http]); 0: the built-in defaults. */
struct http_opts {
	unsigned long long max_body;	/* bytes of an AS2 request body */
	unsigned int	 timeout_s;	/* idle connection */
	const char	*tls_cert;	/* PEM files: HTTPS (libmicrohttpd's */
	const char	*tls_key;	/* own TLS, GnuTLS); NULL: HTTP */
};

/*
 * Listen on gw->conf->http_listen ("127.0.0.1:8080", "[::1]:8080",
 * "localhost:0"; port 0 picks a free one, see http_port()) and serve from
 * libmicrohttpd's threads until http_stop().  The tokens of [http] tokens
 * are loaded now and again after each reload (gw->generation).
 * EG_ERR_INVAL for a bad address or tokens file, EG_ERR_IO when it cannot
 * listen.
 */
int	 http_start(struct gateway *, const struct http_opts *,
	    struct http **out);
/* The port listened on. */
int	 http_port(const struct http *);
/* Stop listening, finish the requests being served, free.  NULL: no-op. */
void	 http_stop(struct http *);

/*
 * A tokens file: one [NAME] section per token with role = read |
 * operator | erp and sha256 = the token's hex SHA-256.  0, or an
 * EG_ERR_* code with why in err; out->tok is freed with free().
 */
struct token;
struct http_token_list {
	struct token	*tok;
	size_t		 n;
};
int	 http_tokens_load(const char *path, struct http_token_list *out,
	    char *err, size_t errsz);

#endif /* HTTP_H */
