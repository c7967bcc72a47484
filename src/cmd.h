/*
 * cmd.h: subcommands of the edigate program.  One command per file,
 * registered in the const table of main.c (tmux style).  Exit codes are
 * sysexits(3): 64 usage, 65 data, 66 no input, 70 software, 78 config.
 */
#ifndef CMD_H
#define CMD_H

#include <stdio.h>

#include "slice.h"

struct catalog;
struct conf;
struct map;

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
int	cmd_serve(int, char **);

/* Translate files and print events/diagnostics; returns the exit code. */
int	cmd_translate_files(const struct catalog *, const struct conf *,
	    const struct map *force, const char *partner, int trace,
	    int nfile, char **files);

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

/* Map a whole file read-only.  Returns 0, or -1 with errno set. */
struct mapped_file {
	struct slice	 data;
	void		*addr;
	size_t		 maplen;
};
int	mapped_open(const char *path, struct mapped_file *);
void	mapped_close(struct mapped_file *);

#endif /* CMD_H */
