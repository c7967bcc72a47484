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

	/* as edigate's main(): `edigate serve` passes TZ and -o on */
	if ((ex = cmd_start(&argc, &argv)) != 0)
		return ex;
	if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
		argc--;
		argv++;
	}
	return cmd_serve(argc, argv);
}
