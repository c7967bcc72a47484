/*
 * cmd_common.c: what the edigate program and its daemon program
 * (edigate-serve) share: where the configuration and the maps are, and
 * the -o overrides.  Linked into both programs, not into libedigate.a:
 * these are the command line's rules, not the core's.
 */
#include "config.h"

#include <sys/stat.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "log.h"

static int
isdir(const char *p)
{
	struct stat	 st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *
cmd_maps_root(const char *opt)
{
	static char	 self[EG_MAX_PATH], beside[EG_MAX_PATH + 8];
	const char	*env;
	ssize_t		 n;

	if (opt != NULL)
		return opt;
	if ((env = getenv("EDIGATE_MAPS")) != NULL && *env != '\0')
		return env;
	/* A program run from its build tree uses the tree's maps. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(beside, sizeof(beside), "%s/maps", dirname(self));
		if (isdir(beside))
			return beside;
	}
	return EG_MAPS_DIR;
}

const char *
cmd_conf_path(const char *opt)
{
	const char	*env;

	if (opt != NULL)
		return opt;
	if ((env = getenv("EDIGATE_CONFIG")) != NULL && *env != '\0')
		return env;
	if (access(EG_SYSCONF_DIR "/edigate.ini", F_OK) == 0)
		return EG_SYSCONF_DIR "/edigate.ini";
	return NULL;
}

/* -o section.key=value, before the command or in a command's options. */
static char	*overrides[EG_MAX_OVERRIDES];
static size_t	 noverrides;

int
cmd_conf_override(char *arg)
{
	if (noverrides == EG_MAX_OVERRIDES) {
		fprintf(stderr, "edigate: more than %u -o options\n",
		    EG_MAX_OVERRIDES);
		return EX_USAGE;
	}
	overrides[noverrides++] = arg;
	return 0;
}

char *const *
cmd_conf_overrides(size_t *n)
{
	*n = noverrides;
	return overrides;
}

int
cmd_start(int *argcp, char ***argvp)
{
	int	 ex;

	log_init("edigate", getenv("EDIGATE_DEBUG") != NULL);
	/*
	 * event_rfc3339() switches TZ while other threads run (translate
	 * workers, the daemon's, libcurl reading proxy variables).  With TZ
	 * in the environment from the start, a switch only replaces its
	 * value: it never adds or removes a variable, which moves the
	 * environment under a reader.  ":/etc/localtime" is what an unset
	 * TZ means.
	 */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 1);
	while (*argcp >= 3 && strcmp((*argvp)[1], "-o") == 0) {
		if ((ex = cmd_conf_override((*argvp)[2])) != 0)
			return ex;
		*argcp -= 2;
		*argvp += 2;
	}
	return 0;
}

int
cmd_conf(const char *path, struct conf **out)
{
	struct buf	 errs;
	int		 r;

	*out = NULL;
	if (path == NULL && noverrides > 0) {
		fprintf(stderr, "edigate: -o needs a configuration (-c)\n");
		return EX_USAGE;
	}
	if (path == NULL)
		return 0;
	buf_init(&errs, 1 << 20);
	if ((r = conf_load_with(path, overrides, noverrides, out, &errs)) != 0)
		fputs(errs.p ? errs.p : "", stderr);
	buf_free(&errs);
	return r != 0 ? EX_CONFIG : 0;
}
