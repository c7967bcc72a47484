/*
 * failpoint.c: see failpoint.h.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failpoint.h"

const char	*failpoint_armed;
static char	 fp_name[128];
static long	 fp_count = 1;
static atomic_long fp_passed;

void
failpoint_init(void)
{
	const char	*v = getenv("EDIGATE_FAILPOINT");
	char		*colon, *end;

	if (v == NULL || *v == '\0')
		return;
	snprintf(fp_name, sizeof(fp_name), "%s", v);
	if ((colon = strchr(fp_name, ':')) != NULL) {
		*colon = '\0';
		fp_count = strtol(colon + 1, &end, 10);
		if (*end != '\0' || fp_count < 1)
			fp_count = 1;
	}
	failpoint_armed = fp_name;
}

void
failpoint_hit(const char *name)
{
	char	 msg[200];
	int	 n;

	if (strcmp(name, fp_name) != 0)
		return;
	if (atomic_fetch_add(&fp_passed, 1) + 1 < fp_count)
		return;
	n = snprintf(msg, sizeof(msg), "edigate: failpoint %s: exiting\n",
	    name);
	if (n > 0)
		(void)write(STDERR_FILENO, msg, (size_t)n);
	_exit(99);
}
