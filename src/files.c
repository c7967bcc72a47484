/*
 * files.c: see files.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files.h"

int
files_temp_name(const char *n)
{
	static const char *const suffix[] = { ".tmp", ".part", ".filepart" };
	size_t	 i, l = strlen(n), sl;

	if (n[0] == '.')
		return 1;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		sl = strlen(suffix[i]);
		if (l > sl && strcmp(n + l - sl, suffix[i]) == 0)
			return 1;
	}
	return 0;
}

int
files_secret(const char *what, const char *path, char *out, size_t outsz,
    char *err, size_t errsz)
{
	struct stat	 st;
	FILE		*fp;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s %s: readable or writable by group or "
		    "others (mode %03o): refused; chmod 600 it", what, path,
		    (unsigned int)(st.st_mode & 0777));
		fclose(fp);
		return -1;
	}
	if (fgets(out, (int)outsz, fp) == NULL)
		out[0] = '\0';
	fclose(fp);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}
