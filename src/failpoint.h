/*
 * failpoint.h: named points where a test build makes the daemon die, to
 * prove that a crash there loses nothing (DESIGN.md §2.3).  The
 * environment variable EDIGATE_FAILPOINT names one point, optionally with
 * a count: "intake-after-commit" dies the first time the point is passed,
 * "forward-during-delivery:5" the fifth time.  The death is _exit(99)
 * without flushing anything, as close to kill -9 as a process can do to
 * itself.  Without the variable a failpoint is one predictable branch.
 */
#ifndef FAILPOINT_H
#define FAILPOINT_H

void	failpoint_init(void);
void	failpoint_hit(const char *name);

extern const char *failpoint_armed;	/* NULL: none */

#define FAILPOINT(name) do {						\
	if (failpoint_armed != NULL)					\
		failpoint_hit(name);					\
} while (0)

#endif /* FAILPOINT_H */
