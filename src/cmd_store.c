/*
 * cmd_store.c: what the commands that read or change the store share:
 * finding and opening it (config -c, else cmd_conf_path()'s: $EDIGATE_CONFIG
 * or the installed edigate.ini; without one the default state_dir; the
 * store is state_dir/store),
 * turning store errors into sysexits(3) codes, printing times, and
 * resolving an id or unique prefix to a document, event or job.
 *
 * It never creates a store: a command run against the wrong configuration
 * must say "no store" rather than leave an empty one behind.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "ops.h"
#include "store.h"
#include "xmalloc.h"

/* conf.c's default for [gateway] state_dir, used without a config file. */
#define DEFAULT_STATE_DIR	"/var/lib/edigate"

int
cmd_store_path(const struct conf *cf, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/store",
	    cf ? cf->state_dir : DEFAULT_STATE_DIR) >= size)
		return EG_ERR_LIMIT;
	return 0;
}

int
cmd_store_exit(int rc)
{
	return ops_exit(rc);
}

int
cmd_store_open(const char *config, int flags, struct conf **cfp,
    struct store **sp)
{
	struct conf	*cf = NULL;
	char		 path[EG_MAX_PATH], data[EG_MAX_PATH + 16];
	int		 rc, ex;

	*sp = NULL;
	if (cfp != NULL)
		*cfp = NULL;
	config = cmd_conf_path(config);
	if ((ex = cmd_conf(config, &cf)) != 0)
		return ex;
	if (cmd_store_path(cf, path, sizeof(path)) != 0) {
		fprintf(stderr, "edigate: state_dir too long\n");
		conf_free(cf);
		return EX_CONFIG;
	}
	snprintf(data, sizeof(data), "%s/data.mdb", path);
	if (access(data, F_OK) == -1) {
		int	 e = errno;

		fprintf(stderr, "edigate: no store at %s (%s)%s%s\n", path,
		    strerror(e), config ? ": check [gateway] state_dir in "
		    : ": give the configuration with -c",
		    config ? config : "");
		conf_free(cf);
		return e == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	/* A reader takes the map size the environment records. */
	rc = store_open(path, (flags & STORE_RDONLY) || cf == NULL ? 0 :
	    (size_t)cf->map_size, flags, sp);
	if (rc != 0) {
		fprintf(stderr, "edigate: %s\n", store_errmsg());
		conf_free(cf);
		*sp = NULL;
		return rc == EG_ERR_INVAL ? EX_SOFTWARE : cmd_store_exit(rc);
	}
	if (cfp != NULL)
		*cfp = cf;
	else
		conf_free(cf);
	return 0;
}

void
cmd_time(int64_t ms, char *out, size_t size)
{
	struct tm	 tm;
	time_t		 t;

	if (ms <= 0 || ms == INT64_MAX) {
		snprintf(out, size, "-");
		return;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%" PRId64, ms);
}

int
cmd_store_resolve(struct store_rtxn *rt, const char *text, int *kind,
    uint8_t id[STORE_ID_LEN])
{
	char	 err[512];
	int	 ex;

	if ((ex = ops_resolve(rt, text, kind, id, err, sizeof(err))) != 0)
		fprintf(stderr, "edigate: %s\n", err);
	return ex;
}
