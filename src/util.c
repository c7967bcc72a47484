/*
 * util.c: error strings and slice helpers.
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "slice.h"
#include "xmalloc.h"

const char *
eg_strerror(int err)
{
	switch (err) {
	case EG_OK:		return "success";
	case EG_ERR_NOMEM:	return "out of memory";
	case EG_ERR_LIMIT:	return "size limit exceeded";
	case EG_ERR_SYNTAX:	return "syntax error";
	case EG_ERR_IO:		return "input/output error";
	case EG_ERR_NOTFOUND:	return "not found";
	case EG_ERR_INVAL:	return "invalid argument";
	case EG_ERR_UNSUPPORTED: return "unsupported";
	case EG_ERR_REJECTED:	return "rejected";
	case EG_ERR_INTERNAL:	return "internal error";
	}
	return "unknown error";
}

struct slice
slice_trim(struct slice s)
{
	while (s.len && s.p[0] == ' ') {
		s.p++;
		s.len--;
	}
	while (s.len && s.p[s.len - 1] == ' ')
		s.len--;
	return s;
}

int
slice_prefix(struct slice s, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

char *
slice_strdup(struct slice s)
{
	return xstrndup(s.p ? s.p : "", s.len);
}

const char *
slice_show(struct slice s, char *buf, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < s.len && n + 1 < len && i < 40; i++)
		buf[n++] = (s.p[i] >= 0x20 && s.p[i] < 0x7f) ? s.p[i] : '?';
	buf[n] = '\0';
	return buf;
}
