/*
 * err.h: the one error convention.  Functions return 0 on success and a
 * negative EG_ERR_* code on failure; out-parameters come last.
 */
#ifndef ERR_H
#define ERR_H

enum {
	EG_OK = 0,
	EG_ERR_NOMEM = -1,	/* allocation failed (only where not fatal) */
	EG_ERR_LIMIT = -2,	/* a limit of eglimits.h was exceeded */
	EG_ERR_SYNTAX = -3,	/* malformed input */
	EG_ERR_IO = -4,		/* read/write failed; see errno */
	EG_ERR_NOTFOUND = -5,	/* no such file, map, key, ... */
	EG_ERR_INVAL = -6,	/* bad argument or configuration value */
	EG_ERR_UNSUPPORTED = -7,	/* recognised but not handled */
	EG_ERR_REJECTED = -8,	/* input processed, but rejected */
	EG_ERR_INTERNAL = -9,	/* our bug */
};

const char	*eg_strerror(int);

#endif /* ERR_H */
