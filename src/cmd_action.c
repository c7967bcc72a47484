/*
 * cmd_action.c: the operator's actions on the work queue (DESIGN.md §10):
 * `edigate replay ID`, `edigate hold ID` and `edigate release ID`.
 *
 * They open the store read-write beside the daemon (LMDB serializes the
 * writers of all processes) and change jobs only through the store's
 * transitions: a dead job becomes pending (replay), pending becomes held
 * and held pending (hold, release), and new jobs are queued due now for
 * the daemon to pick up.  What is decided is read in one read
 * transaction, which ends before anything is written; a job the daemon
 * moved in between is reported (exit 69), never overwritten.
 *
 * The plan and its execution live in ops.c (ops_action), shared with
 * the HTTP console.
 *
 * Exit: 0 something was queued or changed, 64 usage or an ambiguous id,
 * 65 nothing in a state the action applies to, 66 no store or no such id,
 * 69 a job changed under us, 70 the store refused, 78 configuration.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "cmd.h"
#include "ops.h"
#include "store.h"

static int
action(enum ops_act act, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*cmd = ops_act_name(act), *config = NULL;
	struct store		*s = NULL;
	json_t			*res, *v;
	size_t			 i;
	int			 ch, ex;

	while ((ch = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			cmd_usage(cmd, stdout);
			return 0;
		default:
			return cmd_usage(cmd, stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmd_usage(cmd, stderr);

	if ((ex = cmd_store_open(config, 0, NULL, &s)) != 0)
		return ex;
	ex = ops_action(s, act, argv[0], &res);
	json_array_foreach(json_object_get(res, "done"), i, v)
		printf("%s\n", json_string_value(v));
	json_array_foreach(json_object_get(res, "errors"), i, v)
		fprintf(stderr, "edigate %s: %s\n", cmd, json_string_value(v));
	json_decref(res);
	store_close(s);
	if (fflush(stdout) != 0 && ex == 0)
		ex = EX_IOERR;
	return ex;
}

int
cmd_replay(int argc, char **argv)
{
	return action(OPS_REPLAY, argc, argv);
}

int
cmd_hold(int argc, char **argv)
{
	return action(OPS_HOLD, argc, argv);
}

int
cmd_release(int argc, char **argv)
{
	return action(OPS_RELEASE, argc, argv);
}
