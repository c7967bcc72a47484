/*
 * cmd_serve.c: `edigate serve`.  The daemon is a program of its own,
 * edigate-serve (serve_main.c, serve.c): it alone links libcurl,
 * libmicrohttpd, libssh2 and libsystemd, whose ~30 libraries took half
 * of a short command's start-up when every command loaded them.  This
 * command replaces the process with that program (execv, not fork), so
 * that the daemon keeps the pid systemd (Type=notify, MainPID) and
 * scripts know, and its exit code and stderr are the command's.
 *
 * Where the program is: beside this one when it is there, which is a
 * build tree (the rule cmd_maps_root uses for the tree's maps/), else
 * the folder it is installed in, EG_LIBEXEC_DIR (pkglibexecdir).  Both
 * are fixed by where edigate is, never by the environment.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "eglimits.h"
#include "xmalloc.h"

int
cmd_serve_exec(int argc, char **argv)
{
	char		 self[EG_MAX_PATH];
	char		 beside[EG_MAX_PATH + sizeof(CMD_SERVE_PROG) + 1];
	const char	*prog = EG_LIBEXEC_DIR "/" CMD_SERVE_PROG;
	char		**av, *const *ov;
	struct stat	 st;
	size_t		 nov, i, n = 0;
	ssize_t		 len;
	int		 w;

	/*
	 * The daemon gets edigate's command line as it was given ("edigate
	 * [-o ...] serve [options]"): ps and pgrep -f see the process as
	 * before, getopt's messages are the command's, and the -o given
	 * before "serve" apply first, in order.
	 */
	ov = cmd_conf_overrides(&nov);
	av = xcalloc(2 * nov + (size_t)argc + 2, sizeof(*av));
	av[n++] = program_invocation_name;
	for (i = 0; i < nov; i++) {
		av[n++] = (char *)"-o";
		av[n++] = ov[i];
	}
	for (i = 0; i < (size_t)argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		w = snprintf(beside, sizeof(beside), "%s/%s", dirname(self),
		    CMD_SERVE_PROG);
		if (w > 0 && (size_t)w < sizeof(beside) &&
		    stat(beside, &st) == 0)
			prog = beside;
	}
	execv(prog, av);
	fprintf(stderr, "edigate serve: cannot run the daemon program "
	    "%s: %s\n", prog, strerror(errno));
	free(av);
	return EX_UNAVAILABLE;
}
