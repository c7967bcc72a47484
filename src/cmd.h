/*
 * cmd.h: subcommands of the edigate program.  One command per file,
 * registered in the const table of main.c (tmux style).  Exit codes are
 * sysexits(3): 64 usage, 65 data, 66 no input, 69 unavailable, 70 software,
 * 74 I/O, 78 config.
 */
#ifndef CMD_H
#define CMD_H

#include <stdint.h>
#include <stdio.h>

#include "slice.h"

struct catalog;
struct conf;
struct map;
struct store;
struct store_rtxn;

struct cmd {
	const char	*name;
	const char	*usage;		/* after "edigate NAME " */
	const char	*summary;
	int		(*exec)(int argc, char **argv);
};

int	cmd_translate(int, char **);
int	cmd_map(int, char **);
int	cmd_ack(int, char **);
int	cmd_backup(int, char **);
int	cmd_config(int, char **);
/*
 * serve: cmd_serve_exec (cmd_serve.c) replaces the edigate process with
 * the daemon program, whose main() (serve_main.c) runs cmd_serve
 * (serve.c): the daemon's libraries (libcurl, libmicrohttpd, libssh2,
 * libsystemd) are loaded by that program only.
 */
#define CMD_SERVE_USAGE		"[-c config] [-o section.key=value]"
#define CMD_SERVE_SUMMARY	"run the gateway daemon (edigate(8))"
#define CMD_SERVE_PROG		"edigate-serve"
int	cmd_serve(int, char **);
int	cmd_serve_exec(int, char **);
int	cmd_token(int, char **);
/* The operator's view of the store (cmd_ops.c), read-only. */
int	cmd_status(int, char **);
int	cmd_partners(int, char **);
int	cmd_docs(int, char **);
int	cmd_show(int, char **);
int	cmd_events(int, char **);
int	cmd_acks(int, char **);
int	cmd_jobs(int, char **);
int	cmd_dlq(int, char **);
/* The operator's actions on jobs (cmd_action.c). */
int	cmd_replay(int, char **);
int	cmd_hold(int, char **);
int	cmd_release(int, char **);

/* Translate files and print events/diagnostics; returns the exit code. */
int	cmd_translate_files(const struct catalog *, const struct conf *,
	    const struct map *force, const char *partner, int trace,
	    int stats, int threads, int nfile, char **files);

/* Print "usage: edigate NAME USAGE" (and the summary with --help). */
int	cmd_usage(const char *name, FILE *);

/*
 * The maps folder: -M, else $EDIGATE_MAPS, else [gateway] maps_dir of a
 * configuration, else the installed one, else ./maps beside the program
 * (a build tree).  Never NULL.
 */
const char *cmd_maps_root(const char *opt);

/*
 * Load the configuration at path into *out (NULL path: *out is NULL), or
 * print its errors and return EX_CONFIG.
 */
int	cmd_conf(const char *path, struct conf **out);
/* Remember a -o section.key=value for cmd_conf (0, or EX_USAGE). */
int	cmd_conf_override(char *arg);
/* The -o values remembered so far, in order; *n gets their count. */
char *const *cmd_conf_overrides(size_t *n);
/*
 * What both programs' main() do first: logging, TZ set before any thread
 * starts, and the -o options before the command taken off argv (0, or
 * the exit code).
 */
int	cmd_start(int *argcp, char ***argvp);
/*
 * The configuration path: opt, else $EDIGATE_CONFIG, else
 * EG_SYSCONF_DIR/edigate.ini when it exists, else NULL.
 */
const char *cmd_conf_path(const char *opt);
/*
 * Compile the maps of mapsdir (cmd_maps_root), or only mapfile when it is
 * not NULL, printing lint warnings; on errors print them and return
 * EX_CONFIG (*out is NULL then).
 */
int	cmd_catalog(const char *mapsdir, const char *mapfile,
	    struct catalog **out);
/*
 * The maps of mapsdir, each compiled when a document first needs it
 * (catalog_load_lazy: translate, ack), its compile errors printed then;
 * EX_CONFIG with the errors printed when a header cannot be read.  The
 * catalogue answers on the thread that selects (translate.c: the caller's).
 */
int	cmd_catalog_lazy(const char *mapsdir, struct catalog **out);

/*
 * The store of a configuration (cmd_store.c): config, else
 * EG_SYSCONF_DIR/edigate.ini when it exists, else the default state_dir;
 * the store is [gateway] state_dir + "/store".  flags as store_open()
 * (STORE_RDONLY for commands that only read: they work beside the
 * daemon).  A missing store is never created.  On failure the error is
 * printed and a sysexits code returned (66 no store, 65 newer or
 * unreadable schema, 74 I/O, 78 configuration); *cf (cf may be NULL: not
 * wanted; *cf is NULL without a configuration file) and *s are set on
 * success only and freed with conf_free() and store_close().
 */
int	cmd_store_open(const char *config, int flags, struct conf **cf,
	    struct store **s);
/* [gateway] state_dir + "/store" (cf NULL: the default): 0, or
 * EG_ERR_LIMIT when it does not fit. */
int	cmd_store_path(const struct conf *cf, char *out, size_t size);
/* The sysexits code for an EG_ERR_* of the store. */
int	cmd_store_exit(int rc);
/* UTC ISO 8601 to the second ("-" for 0 and STORE_DUE_NEVER). */
#define CMD_TIME_LEN	32
void	cmd_time(int64_t ms, char *out, size_t size);
/*
 * An id or unique prefix of one (dashes ignored) of a document, event or
 * job: *kind gets CMD_ID_*, id the full id.  Prints why not and returns
 * 64 (not an id, or ambiguous: a prefix that starts more than one id),
 * 66 (no such id), or another sysexits code for a store error.
 */
enum { CMD_ID_DOC = 1, CMD_ID_EVENT, CMD_ID_JOB };
int	cmd_store_resolve(struct store_rtxn *, const char *text, int *kind,
	    uint8_t id[16]);

/* Map a whole file read-only.  Returns 0, or -1 with errno set. */
struct mapped_file {
	struct slice	 data;
	void		*addr;
	size_t		 maplen;
};
int	mapped_open(const char *path, struct mapped_file *);
void	mapped_close(struct mapped_file *);

#endif /* CMD_H */
