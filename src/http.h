/*
 * http.h: the daemon's HTTP listener (libmicrohttpd, DESIGN.md §3, §9).
 * For now: GET /healthz, GET /readyz and the ERP's asynchronous import
 * acknowledgement POST /v1/events/{id}/ack.  The operator console, AS2
 * receive and /metrics join it later.
 */
#ifndef HTTP_H
#define HTTP_H

struct gateway;
struct http;
struct store;

/* Limits of the listener (conf [http]); 0: the built-in defaults. */
struct http_opts {
	unsigned long long max_body;	/* bytes of an AS2 request body */
	unsigned int	 timeout_s;	/* idle connection */
	const char	*tls_cert;	/* PEM files: HTTPS (libmicrohttpd's */
	const char	*tls_key;	/* own TLS, GnuTLS); NULL: HTTP */
};

/*
 * Listen on listen ("127.0.0.1:8080", "[::1]:8080", "localhost:0"; port 0
 * picks a free one, see http_port()) and serve from libmicrohttpd's
 * threads until http_stop().  EG_ERR_INVAL for a bad address, EG_ERR_IO
 * when it cannot listen.
 */
int	 http_start(const char *listen, struct store *, struct http **out);
/*
 * The same serving the gateway's AS2 routes too: POST /as2 (messages and
 * asynchronous MDNs, as2.h) with opts' limits.
 */
int	 http_start_gw(const char *listen, struct gateway *,
	    const struct http_opts *, struct http **out);
/* The port listened on. */
int	 http_port(const struct http *);
/* Stop listening, finish the requests being served, free.  NULL: no-op. */
void	 http_stop(struct http *);

#endif /* HTTP_H */
