/*
 * log.h: logging.  One greppable line per state transition, key=value
 * fields.  log_warn appends strerror(errno).  fatal() is for the
 * environment (cannot open the store); it must never be reached by partner
 * data.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int debug);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
