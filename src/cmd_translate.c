/*
 * cmd_translate.c: `edigate translate`, the CLI contract of translation.
 *
 * stdout: one CloudEvent per line.  stderr: one diagnostic per line,
 * "FILE: segment N (TAG), element NN: error|warning CODE: message".
 * Exit 0 when every document translated, 65 when any was rejected (the
 * others are still printed), 66 for an unreadable file, 64 for usage,
 * 78 for a map that does not compile.
 *
 * The maps: every map file's header is read first (an error there exits
 * 78 before any input is read); a map is compiled when a document first
 * needs it (catalog_load_lazy), and its compile errors printed then.  The
 * documents that need a map that does not compile are rejected (NO-MAP),
 * the others translated, and the exit is 78.
 * With -s, a line per file after its events: what it held and how long
 * it took, from opening the file to its last event written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "conf.h"
#include "diag.h"
#include "digest.h"
#include "eglimits.h"
#include "err.h"
#include "translate.h"

/*
 * Events (about four times the input's size) go to a pipe or a file in
 * large blocks: a write(2) and often a context switch per 4 KB stdio
 * buffer cost more than the JSON.  translate writes each event straight
 * into the block (translate_opts.out), which is sent once it holds
 * OUT_BLOCK bytes; to a terminal, after every event.
 */
#define OUT_BLOCK	(256U * 1024)

/*
 * Diagnostics go to stderr in blocks too, when it is not a terminal: a
 * file of rejected sets has a line for each, and a write(2) per line took
 * 5% of translating 10 MB of ORDERS with one in four sets rejected.
 * What a file's translation printed is sent before its next file.
 */
#define DIAG_BLOCK	(64U * 1024)

struct out {
	const char	*file;
	struct buf	 b;		/* events not yet written */
	int		 tty;		/* stdout is a terminal */
	int		 failed;	/* stdout write failed */
	int		 err;		/* its errno */
	int		 held;		/* b holds stand-ins (out_held) */
	struct buf	 late;		/* diagnostics after a held block */
};

/*
 * Send what the block holds; 0, or -1 with errno set.  Then the
 * diagnostics that waited for it (print_diag) go to stderr, or, when the
 * block could not be sent, nowhere.
 */
static int
out_flush(struct out *o)
{
	const char	*p = o->b.p;
	size_t		 n = o->b.len;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(STDOUT_FILENO, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			buf_reset(&o->late);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	buf_reset(&o->b);
	if (o->late.len > 0) {
		fwrite(o->late.p, 1, o->late.len, stderr);
		buf_reset(&o->late);
	}
	return 0;
}

/* The event is already at the end of o->b: its newline, and send. */
static int
print_event(void *arg, const char *json, size_t len)
{
	struct out	*o = arg;

	(void)json;
	(void)len;
	if (buf_addc(&o->b, '\n') != 0 || ((o->tty || o->b.len >= OUT_BLOCK) &&
	    !o->held && out_flush(o) != 0)) {
		if (o->err == 0)
			o->err = ENOMEM;	/* the block's limit */
		o->failed = 1;
		return 1;
	}
	return 0;
}

/*
 * A diagnostic made once the block is full while it is held (events
 * held while the input is hashed, with threads) waits for the block: with
 * one thread the block would have been sent by now, and had stdout
 * failed there, the translation would have stopped before this
 * diagnostic.  So what stderr shows does not depend on -j.
 */
static void
print_diag(void *arg, const struct diag *d)
{
	struct out	*o = arg;
	size_t		 mark;

	if (o->held && o->b.len >= OUT_BLOCK) {
		mark = o->late.len;
		if (diag_format(d, o->file, &o->late) == 0 &&
		    buf_addc(&o->late, '\n') == 0)
			return;
		o->late.len = mark;	/* too many: as they come */
		fwrite(o->late.p, 1, o->late.len, stderr);
		buf_reset(&o->late);
	}
	diag_print(stderr, d, o->file);
}

static void
print_trace(void *arg, const char *line)
{
	fprintf(stderr, "trace: %s\n", line);
}

static double
ms_since(clockid_t clk, const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(clk, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * stderr in blocks unless it is a terminal.  Called before anything is
 * written to stderr (setvbuf(3) may not be used later); exit(3) sends
 * what is left.
 */
static void
stderr_blocks(void)
{
	if (!isatty(STDERR_FILENO))
		(void)setvbuf(stderr, NULL, _IOFBF, DIAG_BLOCK);
}

/*
 * Without -j, a file of at least this size is worked on by one thread per
 * CPU besides the parser: below it, starting them costs more than they
 * save.
 */
#define AUTO_THREADS_MIN	(1U << 20)

/* The CPUs this process may run on (its affinity mask), at most 16. */
static int
online_cpus(void)
{
	long		 n;
#ifdef CPU_COUNT
	cpu_set_t	 set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
#endif
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/*
 * -s: "FILE: stats: 3 sets, 2 events, 1 rejected, 2417 bytes in 0.412 ms,
 * 0.398 ms of CPU".  The CPU time is the process's, all its threads, over
 * the same span: what translating the file cost, without exec and the
 * loading of libraries that the process's rusage includes.
 */
static void
print_stats(const char *file, const struct translate_stats *st, size_t len,
    double ms, double cpums)
{
	fprintf(stderr, "%s: stats: %u sets, %u events, %u rejected, %zu "
	    "bytes in %.3f ms, %.3f ms of CPU\n", file, st->sets,
	    st->translated, st->rejected, len, ms, cpums);
}

/*
 * Shared by translate and `map run`: translate each file with the
 * catalogue (or one forced map), print, and fold exit codes.
 */
int
cmd_translate_files(const struct catalog *cat, const struct conf *cf,
    const struct map *force, const char *partner, int trace, int stats,
    int threads, int nfile, char **files)
{
	struct translate_opts	 o;
	struct translate_stats	 st;
	struct mapped_file	 mf;
	struct out		 out;
	struct timespec		 t0, c0;
	size_t			 len;
	unsigned long		 nbroken;
	int			 broken = 0;
	int			 i, r, ex = 0;

	memset(&out, 0, sizeof(out));
	/*
	 * A block, the events held while an input is hashed, and room for
	 * one whole event past them (translate.h)
	 */
	buf_init(&out.b, OUT_BLOCK + TRANSLATE_HOLD_MAX + EG_MAX_EVENT_SIZE +
	    1);
	buf_init(&out.late, TRANSLATE_HOLD_MAX);
	out.tty = isatty(STDOUT_FILENO);
	/* what stdio holds goes first: events bypass it */
	if (fflush(stdout) != 0) {
		fprintf(stderr, "edigate: stdout: %s\n", strerror(errno));
		buf_free(&out.b);
		buf_free(&out.late);
		return EX_IOERR;
	}

	for (i = 0; i < nfile; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		if (mapped_open(files[i], &mf) == -1) {
			fprintf(stderr, "%s: %s\n", files[i], strerror(errno));
			ex = EX_NOINPUT;
			continue;
		}
		memset(&o, 0, sizeof(o));
		out.file = files[i];
		o.cat = cat;
		o.conf = cf;
		o.force_map = force;
		o.partner = partner;
		o.filename = files[i];
		o.protocol = "FILE";
		clock_gettime(CLOCK_REALTIME, &o.received);
		o.drop_behind = 1;
		o.threads = threads >= 0 ? threads :
		    mf.data.len >= AUTO_THREADS_MIN ? online_cpus() : 0;
		o.on_event = print_event;
		o.out = &out.b;
		/* to a terminal each event goes at once: none is held */
		o.out_held = out.tty ? NULL : &out.held;
		o.on_diag = print_diag;
		o.trace = trace ? print_trace : NULL;
		o.arg = &out;
		memset(&st, 0, sizeof(st));
		nbroken = catalog_broken(cat);
		r = translate_bytes(mf.data, &o, &st);
		/*
		 * Diagnostics that waited for a held block go before anything
		 * printed after: the block is sent now, as it would have been
		 * as soon as it was full had it not been held.
		 */
		if (out.late.len > 0 && !out.failed && out_flush(&out) != 0)
			out.failed = 1;
		/* (a count of selections, not of documents: see catalog.h) */
		if (catalog_broken(cat) != nbroken) {
			fprintf(stderr, "%s: documents not translated: the map "
			    "they need does not compile\n", files[i]);
			broken = 1;
		}
		len = mf.data.len;
		mapped_close(&mf);
		/* -s times the file's events out, not just made */
		if (stats && !out.failed && out_flush(&out) != 0)
			out.failed = 1;
		if (out.failed) {
			fprintf(stderr, "edigate: stdout: %s\n",
			    strerror(out.err));
			buf_free(&out.b);
			buf_free(&out.late);
			return EX_IOERR;
		}
		if (r == EG_ERR_REJECTED) {
			if (ex == 0)
				ex = EX_DATAERR;
		} else if (r != 0) {
			fprintf(stderr, "%s: %s\n", files[i], eg_strerror(r));
			if (ex == 0)
				ex = EX_DATAERR;
		}
		if (stats)
			print_stats(files[i], &st, len,
			    ms_since(CLOCK_MONOTONIC, &t0),
			    ms_since(CLOCK_PROCESS_CPUTIME_ID, &c0));
		(void)fflush(stderr);
	}
	r = out_flush(&out);
	buf_free(&out.b);
	buf_free(&out.late);
	if (r != 0) {
		fprintf(stderr, "edigate: stdout: %s\n", strerror(out.err));
		return EX_IOERR;
	}
	return broken ? EX_CONFIG : ex;
}

int
cmd_translate(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct catalog	*cat = NULL;
	struct conf	*cf = NULL;
	const char	*partner = NULL, *mapfile = NULL, *mapsdir = NULL;
	const char	*config = NULL;
	char		*end;
	long		 n;
	int		 ch, ex, stats = 0, threads = -1;

	stderr_blocks();
	digest_only();		/* rawRef.sha256 and the maps' are all */
	while ((ch = getopt_long(argc, argv, "c:hj:m:M:p:s", lopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < 0 || n > 16) {
				fprintf(stderr, "edigate translate: -j %s: "
				    "not a number of threads from 0 to 16\n",
				    optarg);
				return EX_USAGE;
			}
			threads = (int)n;
			break;
		case 'm':
			mapfile = optarg;
			break;
		case 'M':
			mapsdir = optarg;
			break;
		case 'p':
			partner = optarg;
			break;
		case 's':
			stats = 1;
			break;
		case 'h':
			return cmd_usage("translate", stdout);
		default:
			return cmd_usage("translate", stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_usage("translate", stderr);
	/*
	 * Events go out in OUT_BLOCK writes (cmd_translate_files): a 64 KB
	 * pipe would cost a context switch each.  The pipe is widened where
	 * Linux allows it (fails quietly on anything else).
	 */
#ifdef F_SETPIPE_SZ
	(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, (int)OUT_BLOCK * 4);
#endif

	if ((ex = cmd_conf(config, &cf)) != 0)
		return ex;
	if (mapsdir == NULL && cf != NULL)
		mapsdir = cf->maps_dir;
	/* -m: that map only, compiled now; else each as it is needed */
	if (mapfile != NULL)
		ex = cmd_catalog(mapsdir, mapfile, &cat);
	else
		ex = cmd_catalog_lazy(mapsdir, &cat);
	if (ex == 0)
		ex = cmd_translate_files(cat, cf, mapfile ?
		    catalog_map(cat, 0) : NULL, partner, 0, stats, threads,
		    argc, argv);
	catalog_free(cat);
	conf_free(cf);
	return ex;
}
