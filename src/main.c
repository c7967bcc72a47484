/*
 * main.c: the edigate program.  Dispatches git-style subcommands from a
 * const table; each command lives in its own cmd_*.c file.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "log.h"
#include "xmalloc.h"

static const struct cmd cmds[] = {
	{ "translate", "[-s] [-j threads] [-c config] [-p partner] [-m map] [-M mapsdir] file ...",
	  "translate EDI files into CloudEvents, one JSON event per line",
	  cmd_translate },
	{ "ack", "[-c config] [-p partner] [-M mapsdir] file ...",
	  "print the functional acknowledgements edigate would return",
	  cmd_ack },
	{ "map", "check map ... | run [--trace] map file | test dir",
	  "compile, run and test maps", cmd_map },
	{ "serve", CMD_SERVE_USAGE, CMD_SERVE_SUMMARY, cmd_serve_exec },
	{ "token", "[--role read|operator|erp] name",
	  "make a console bearer token and its [http] tokens entry",
	  cmd_token },
	{ "config", "check | dump [-c config]",
	  "validate the configuration, or print it with every default",
	  cmd_config },
	{ "backup", "[-c config] [-z] dir",
	  "copy the store, while the daemon runs, into dir", cmd_backup },
	{ "status", "[-c config] [--json]",
	  "show the store: sizes, documents, jobs, acknowledgements",
	  cmd_status },
	{ "partners", "[-c config] [--json]",
	  "list partners with their documents and acknowledgements",
	  cmd_partners },
	{ "docs", "[-c config] [--partner P] [--state S] [--type T] "
	  "[--limit N] [--json]",
	  "list documents, newest first", cmd_docs },
	{ "show", "[-c config] [--raw | --json] id",
	  "show a document, event or job (an id or a unique prefix)",
	  cmd_show },
	{ "events", "[-c config] [--doc id | --biz key] [--limit N] [--json]",
	  "list events of a document, a business key, or the newest",
	  cmd_events },
	{ "acks", "[-c config] [--overdue] [--partner P] [--kind K] [--json]",
	  "list the acknowledgement ledger", cmd_acks },
	{ "jobs", "[-c config] [--state S] [--kind K] [--json]",
	  "list forwarding, sending and translation jobs", cmd_jobs },
	{ "dlq", "[-c config] [--json]",
	  "list dead jobs with their errors", cmd_dlq },
	{ "replay", "[-c config] id",
	  "deliver or translate again: a dead job, an event, a document",
	  cmd_replay },
	{ "hold", "[-c config] id",
	  "hold the pending jobs of a job, document or event", cmd_hold },
	{ "release", "[-c config] id",
	  "release held jobs of a job, document or event", cmd_release },
};

int
cmd_usage(const char *name, FILE *fp)
{
	size_t	 i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0) {
			fprintf(fp, "usage: edigate %s %s\n", cmds[i].name,
			    cmds[i].usage);
			if (fp == stdout)
				fprintf(stdout, "\n%s.\nSee edigate(1).\n",
				    cmds[i].summary);
			return fp == stdout ? 0 : EX_USAGE;
		}
	return EX_USAGE;
}

static int
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp, "usage: edigate command [args]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(fp, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(fp, "\n'edigate COMMAND --help' for a command's options; "
	    "edigate(1) for everything.\n");
	return fp == stdout ? 0 : EX_USAGE;
}

int
cmd_catalog(const char *mapsdir, const char *mapfile, struct catalog **out)
{
	struct buf	 errs;
	int		 r;

	buf_init(&errs, 1 << 20);
	if (mapfile != NULL) {
		*out = catalog_new(cmd_maps_root(mapsdir));
		r = catalog_add(*out, mapfile, &errs);
	} else
		r = catalog_load(cmd_maps_root(mapsdir), out, &errs);
	if (errs.len)
		fputs(errs.p, stderr);	/* errors, or lint warnings */
	buf_free(&errs);
	if (r != 0) {
		catalog_free(*out);
		*out = NULL;
		return EX_CONFIG;
	}
	return 0;
}

static void
report_stderr(void *arg, const char *text)
{
	(void)arg;
	fputs(text, stderr);
}

int
cmd_catalog_lazy(const char *mapsdir, struct catalog **out)
{
	struct buf	 errs;
	int		 r;

	buf_init(&errs, 1 << 20);
	r = catalog_load_lazy(cmd_maps_root(mapsdir), report_stderr, NULL, out,
	    &errs);
	if (errs.len)
		fputs(errs.p, stderr);
	buf_free(&errs);
	if (r != 0) {
		catalog_free(*out);
		*out = NULL;
		return EX_CONFIG;
	}
	return 0;
}

int
mapped_open(const char *path, struct mapped_file *mf)
{
	struct stat	 st;
	int		 fd;

	memset(mf, 0, sizeof(*mf));
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if ((unsigned long long)st.st_size > EG_MAX_DOC_SIZE) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	if (st.st_size > 0) {
		mf->addr = mmap(NULL, (size_t)st.st_size, PROT_READ,
		    MAP_PRIVATE, fd, 0);
		if (mf->addr == MAP_FAILED) {
			close(fd);
			mf->addr = NULL;
			return -1;
		}
		mf->maplen = (size_t)st.st_size;
		madvise(mf->addr, mf->maplen, MADV_SEQUENTIAL);
	}
	close(fd);
	mf->data.p = mf->addr ? mf->addr : "";
	mf->data.len = mf->maplen;
	return 0;
}

void
mapped_close(struct mapped_file *mf)
{
	if (mf->addr != NULL)
		munmap(mf->addr, mf->maplen);
	memset(mf, 0, sizeof(*mf));
}

int
main(int argc, char **argv)
{
	size_t	 i;
	int	 ex;

	if ((ex = cmd_start(&argc, &argv)) != 0)
		return ex;
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("edigate %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, argv[1]) == 0)
			return cmds[i].exec(argc - 1, argv + 1);
	fprintf(stderr, "edigate: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
