/*
 * log.c: stderr logging (journald picks stderr up under systemd).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char	*log_prog = "edigate";
static int		 log_debugging;

void
log_init(const char *progname, int debug)
{
	log_prog = progname;
	log_debugging = debug;
}

/*
 * One line, written with one call: the daemon's threads log at once, and
 * a line written piecewise could be cut by another's (journald would get
 * the halves as two records).  A line longer than the buffer is written
 * in pieces under stderr's lock, which keeps other threads' stdio out.
 */
static void __attribute__((format(printf, 3, 0)))
vlog(const char *level, int with_errno, const char *fmt, va_list ap)
{
	char	 line[4096];
	va_list	 ap2;
	size_t	 n;
	int	 saved = errno, r;

	va_copy(ap2, ap);
	n = (size_t)snprintf(line, sizeof(line), "%s: %s", log_prog, level);
	if (n < sizeof(line) && (r = vsnprintf(line + n, sizeof(line) - n,
	    fmt, ap2)) >= 0)
		n += (size_t)r;
	va_end(ap2);
	if (n < sizeof(line) && with_errno) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(saved));
		n += r >= 0 ? (size_t)r : sizeof(line);
	}
	if (n + 1 < sizeof(line)) {
		line[n++] = '\n';
		fwrite(line, 1, n, stderr);
	} else {
		flockfile(stderr);
		fprintf(stderr, "%s: %s", log_prog, level);
		vfprintf(stderr, fmt, ap);
		if (with_errno)
			fprintf(stderr, ": %s", strerror(saved));
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	errno = saved;
}

#define LOGFN(name, level, errnoflag)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
	va_start(ap, fmt);					\
	vlog(level, errnoflag, fmt, ap);			\
	va_end(ap);						\
}

LOGFN(log_warn, "", 1)
LOGFN(log_warnx, "", 0)
LOGFN(log_info, "", 0)

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_debugging)
		return;
	va_start(ap, fmt);
	vlog("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("fatal: ", 1, fmt, ap);
	va_end(ap);
	exit(70);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(70);
}
