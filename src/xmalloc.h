/*
 * xmalloc.h: allocation that aborts on out-of-memory.  Acceptable because
 * every input is capped (eglimits.h) and all state is durable.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Wipe then free: for secrets. */
void	 freezero(void *, size_t);

#endif /* XMALLOC_H */
