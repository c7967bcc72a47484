/*
 * console.h: the operator dashboard's pages (server-rendered HTML, no
 * JavaScript), built from ops.c's queries.  http.c checks the token and
 * calls these; each returns a malloc'd page (NULL: the store failed).
 * Every text that comes from the store, the configuration or the request
 * goes through html_escape().
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stddef.h>

struct buf;
struct gateway;

struct console_ctx {
	struct gateway	*gw;
	const char	*who;		/* the token's name, or "anonymous" */
	const char	*role;
	const char	*csrf;		/* the forms' csrf field */
	const char	*flash;		/* a message to show, or NULL */
	int		 operator;	/* may act */
	int		 auth;		/* tokens are configured */
};

/* s with & < > " ' as entities, appended to out: 0 or EG_ERR_LIMIT. */
int	 html_escape(struct buf *out, const char *s);
/* s percent-encoded for a URL query value (malloc'd). */
char	*console_urlencode(const char *s);

char	*console_home(const struct console_ctx *, size_t *len);
char	*console_search(const struct console_ctx *, const char *po,
	    size_t *len);
char	*console_doc(const struct console_ctx *, const char *id,
	    unsigned int *status, size_t *len);
char	*console_login(const char *msg, size_t *len);

#endif /* CONSOLE_H */
