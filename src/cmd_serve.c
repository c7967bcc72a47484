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
 * are fixed by where edigate is, never by the environment.  A program is
 * taken from beside edigate only when it is edigate's owner's (or
 * root's) in a folder others may not write to (beside_ok), and never when
 * edigate runs from the bindir it was built for: an installed edigate
 * always runs the installed daemon, also from a group-writable
 * /usr/local/bin.
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

/*
 * Whether path, beside self in dir, may be run as the daemon: a regular,
 * executable file, owned by self's owner or root, in a folder others may
 * not write to.  (A group-writable folder is allowed: a build tree made
 * under umask 002 is one; the group-writable folder edigate is installed
 * in, /usr/local/bin, is EG_BIN_DIR.)
 */
static int
beside_ok(const char *self, const char *dir, const char *path)
{
	struct stat	 st, me, d;

	if (strcmp(dir, EG_BIN_DIR) == 0)
		return 0;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    access(path, X_OK) != 0 || stat(self, &me) != 0 ||
	    (st.st_uid != me.st_uid && st.st_uid != 0) ||
	    stat(dir, &d) != 0 || (d.st_mode & S_IWOTH) != 0)
		return 0;
	return 1;
}

int
cmd_serve_exec(int argc, char **argv)
{
	char		 self[EG_MAX_PATH], dir[EG_MAX_PATH];
	char		 beside[EG_MAX_PATH + sizeof(CMD_SERVE_PROG) + 1];
	const char	*prog = EG_LIBEXEC_DIR "/" CMD_SERVE_PROG, *dp;
	char		**av, *const *ov;
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
		memcpy(dir, self, (size_t)len + 1);
		dp = dirname(dir);
		w = snprintf(beside, sizeof(beside), "%s/%s", dp,
		    CMD_SERVE_PROG);
		if (w > 0 && (size_t)w < sizeof(beside) &&
		    beside_ok(self, dp, beside))
			prog = beside;
	}
	execv(prog, av);
	fprintf(stderr, "edigate serve: cannot run the daemon program "
	    "%s: %s\n", prog, strerror(errno));
	free(av);
	return EX_UNAVAILABLE;
}
