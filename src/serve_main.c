/*
 * serve_main.c: edigate-serve, the gateway daemon's program (serve.c).
 * `edigate serve` execs it with its own command line, "edigate [-o ...]
 * serve [options]" (cmd_serve.c); it is installed in pkglibexecdir, out
 * of PATH, as a helper of edigate.  Run by hand, "serve" may be left
 * out.  Its stderr is the command's: it logs as "edigate".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

int
main(int argc, char **argv)
{
	int	 ex;

	log_init("edigate", getenv("EDIGATE_DEBUG") != NULL);
	/*
	 * TZ in the environment before any thread starts, as in edigate's
	 * main(): event_rfc3339() switches it while the daemon's threads
	 * run.  `edigate serve` passes it on; a direct start sets it here.
	 */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 1);
	/* edigate's main(): -o before the command apply first. */
	while (argc >= 3 && strcmp(argv[1], "-o") == 0) {
		if ((ex = cmd_conf_override(argv[2])) != 0)
			return ex;
		argc -= 2;
		argv += 2;
	}
	if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
		argc--;
		argv++;
	}
	return cmd_serve(argc, argv);
}
