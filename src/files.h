/*
 * files.h: what the channels and the daemon share about files: the
 * names of files still being written, and secrets kept in files.
 */
#ifndef FILES_H
#define FILES_H

#include <stddef.h>

/*
 * 1 when a drop-folder file name says it is still being written: a
 * leading '.', or the suffixes .tmp, .part, .filepart (DESIGN.md §8).
 */
int	files_temp_name(const char *name);

/*
 * The first line of the secret file path (a token, a password) into out,
 * without its line end.  A file readable or writable by group or others
 * is refused.  0, or -1 with one line in err naming what (a
 * configuration key) and path.
 */
int	files_secret(const char *what, const char *path, char *out,
	    size_t outsz, char *err, size_t errsz);

#endif /* FILES_H */
