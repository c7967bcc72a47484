/*
 * cmd_backup.c: `edigate backup [-c config] [-z] DIR`, a hot backup of the
 * store ([gateway] state_dir/store) into DIR.
 *
 * The store is opened read-only, so the command runs while the daemon
 * does, as the daemon's user (LMDB's lock file must be writable).  The
 * copy is mdb_env_copy2(): one read transaction, a consistent snapshot of
 * the last commit; -z compacts it (MDB_CP_COMPACT).  DIR is created when
 * missing and must not hold a store already.  The copy is then opened and
 * checked (schema, document count) before success is reported; a failed
 * copy leaves no data.mdb behind.  To restore, stop the daemon and put
 * DIR/data.mdb in place of state_dir/store/data.mdb.
 *
 * Exit: 0 done, 64 usage, 66 no store, 65 the store's schema is newer or
 * unreadable, 73 DIR cannot be created or holds a store, 74 I/O, 78
 * configuration.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "eglimits.h"
#include "err.h"
#include "store.h"

/* store_backup()'s errors: EG_ERR_INVAL is a DIR that holds a store. */
static int
exit_code(int rc)
{
	switch (rc) {
	case EG_ERR_NOTFOUND:
		return EX_NOINPUT;
	case EG_ERR_SYNTAX:
	case EG_ERR_UNSUPPORTED:
		return EX_DATAERR;
	case EG_ERR_INVAL:
		return EX_CANTCREAT;
	}
	return EX_IOERR;
}

/* Open the copy in dir and count its documents; remove its lock file. */
static int
verify(const char *dir, uint64_t *ndocs, uint64_t *bytes)
{
	struct store	*s;
	struct store_stat st;
	char		 lock[EG_MAX_PATH + 16];
	int		 rc;

	if ((rc = store_open(dir, 0, STORE_RDONLY, &s)) != 0)
		return rc;
	rc = store_stat(s, &st);
	store_close(s);
	snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
	unlink(lock);
	if (rc == 0) {
		*ndocs = st.entries[STORE_DB_DOCS];
		*bytes = st.used;
	}
	return rc;
}

int
cmd_backup(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "compact", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf	*cf = NULL;
	struct store	*s = NULL;
	struct stat	 sb;
	const char	*config = NULL, *dir;
	char		 store[EG_MAX_PATH], data[EG_MAX_PATH + 16];
	uint64_t	 ndocs = 0, bytes = 0;
	int		 ch, rc, compact = 0, ex = 0;

	while ((ch = getopt_long(argc, argv, "c:hz", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'z':
			compact = 1;
			break;
		case 'h':
			return cmd_usage("backup", stdout);
		default:
			return cmd_usage("backup", stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return cmd_usage("backup", stderr);
	dir = argv[0];

	if ((size_t)snprintf(data, sizeof(data), "%s/data.mdb", dir) >=
	    sizeof(data)) {
		fprintf(stderr, "edigate backup: %s: path too long\n", dir);
		return EX_USAGE;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "edigate backup: %s: %s\n", dir,
		    strerror(errno));
		return EX_CANTCREAT;
	}
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "edigate backup: %s: not a directory\n", dir);
		return EX_CANTCREAT;
	}
	if (access(data, F_OK) == 0) {
		fprintf(stderr, "edigate backup: %s already holds a store "
		    "(data.mdb): choose an empty directory\n", dir);
		return EX_CANTCREAT;
	}

	if ((ex = cmd_store_open(config, STORE_RDONLY, &cf, &s)) != 0)
		return ex;
	cmd_store_path(cf, store, sizeof(store));
	conf_free(cf);
	if ((rc = store_backup(s, dir, compact)) != 0) {
		fprintf(stderr, "edigate backup: %s\n", store_errmsg());
		if (rc != EG_ERR_INVAL)
			unlink(data);	/* a partial copy is no backup */
		ex = exit_code(rc);
		goto out;
	}
	if ((rc = verify(dir, &ndocs, &bytes)) != 0) {
		fprintf(stderr, "edigate backup: the copy in %s does not "
		    "open: %s\n", dir, store_errmsg());
		unlink(data);
		ex = EX_IOERR;
		goto out;
	}
	printf("backup: %s -> %s: %" PRIu64 " documents, %" PRIu64
	    " bytes%s\n", store, dir, ndocs, bytes,
	    compact ? " (compacted)" : "");
	if (fflush(stdout) != 0) {
		fprintf(stderr, "edigate: stdout: %s\n", strerror(errno));
		ex = EX_IOERR;
	}
out:
	store_close(s);
	return ex;
}
