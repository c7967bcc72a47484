/*
 * bench_map.c: map_eval throughput on a file.  Not built by make; build by
 * hand from the top of the tree:
 *
 *   gcc -O2 -g -I src -I translators -I . tests/bench/bench_map.c \
 *       libedigate.a $(pkg-config --libs jansson libcrypto libxml-2.0) \
 *       -liniparser -lm
 *
 * Usage: bench_map [-dn] [-r RUNS] [-k REPS] FILE [MAP]
 * Parses FILE (X12), builds each set's tree and times map_eval alone (each
 * set evaluated REPS times, default 1; best of RUNS runs, default 3).
 * Prints one JSON line: sets, map_eval time per set, map_eval MB/s (bytes
 * of the input over the time spent in map_eval), the time mdoc_write_json
 * takes per document, and for scale what building the same document as
 * jansson values costs (mdoc_to_json: the old engine's floor).
 * With -n, map_eval alone (for perf record).  With -d, every document (mdoc_write_json) and diagnostic of the first run
 * is written to stdout instead, for diffing the engine's behaviour across a
 * change.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "map.h"
#include "slice.h"
#include "structure.h"
#include "translator.h"

struct bench {
	const struct map *m;
	struct diag_sink ds;
	struct map_env	 env;
	unsigned long	 nset, nrej, ndoc;
	double		 ns, writens, copyns;
	int		 dump, reps, maponly;
	struct buf	 out;
};

static void
on_diag(void *arg, const struct diag *d)
{
	struct bench *b = arg;

	if (b->dump) {
		printf("diag %s %s rule=%s field=%s source=%s pos=%u/%u "
		    "tag=%s el=%d: %s\n", d->sev == DIAG_ERROR ? "E" : "W",
		    d->code, d->rule, d->field, d->source, d->filepos,
		    d->setpos, d->tag, d->el, d->msg);
	}
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct bench	*b = arg;
	const struct structure *stc;
	struct timespec	 t0, t1;
	struct mdoc	*doc;
	int		 i, r;

	b->nset++;
	stc = structure_select(map_structure(b->m), set->version, NULL);
	if (edi_tree_build(set, stc, &b->ds) != 0 || set->rejected) {
		b->nrej++;
		return 0;
	}
	for (i = 0; i < b->reps; i++) {
		doc = NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = map_eval(b->m, set, &b->env, &doc, &b->ds);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		b->ns += (t1.tv_sec - t0.tv_sec) * 1e9 +
		    (t1.tv_nsec - t0.tv_nsec);
		if (b->dump && i == 0) {
			buf_reset(&b->out);
			if (doc != NULL)
				mdoc_write_json(doc, &b->out);
			printf("doc %d %s\n", r, doc ? b->out.p : "null");
		}
		if (r == 0 && doc != NULL)
			b->ndoc++;
		if (r == 0 && doc != NULL && !b->maponly) {
			json_t *c;

			buf_reset(&b->out);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			mdoc_write_json(doc, &b->out);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			b->writens += (t1.tv_sec - t0.tv_sec) * 1e9 +
			    (t1.tv_nsec - t0.tv_nsec);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			c = mdoc_to_json(doc);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			b->copyns += (t1.tv_sec - t0.tv_sec) * 1e9 +
			    (t1.tv_nsec - t0.tv_nsec);
			json_decref(c);
		}
	}
	return 0;
}

static void
run(struct slice in, struct bench *b)
{
	struct edi_handler h;

	b->nset = b->nrej = b->ndoc = 0;
	b->ns = b->writens = b->copyns = 0;
	memset(&h, 0, sizeof(h));
	h.set = on_set;
	h.diags = &b->ds;
	if (translator_x12.parse(in, "bench", &h, b) != 0)
		fprintf(stderr, "parse stopped\n");
}

int
main(int argc, char **argv)
{
	struct map	*m;
	struct bench	 b;
	struct stat	 sb;
	struct slice	 in;
	struct buf	 err;
	const char	*mpath = "maps/x12/850-order-created.map";
	double		 best = 0, bestwrite = 0, bestcopy = 0;
	void		*p;
	int		 fd, r, ch, runs = 3;

	memset(&b, 0, sizeof(b));
	b.reps = 1;
	buf_init(&b.out, 64 << 20);
	while ((ch = getopt(argc, argv, "dnr:k:")) != -1) {
		switch (ch) {
		case 'd':
			b.dump = 1;
			break;
		case 'n':
			b.maponly = 1;
			break;
		case 'r':
			runs = strtol(optarg, NULL, 10) > 0 ?
			    (int)strtol(optarg, NULL, 10) : 1;
			break;
		case 'k':
			b.reps = strtol(optarg, NULL, 10) > 0 ?
			    (int)strtol(optarg, NULL, 10) : 1;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
usage:
		fprintf(stderr, "usage: bench_map [-dn] [-r runs] [-k reps] "
		    "FILE [MAP]\n");
		return 64;
	}
	if (argc > 1)
		mpath = argv[1];
	buf_init(&err, 1 << 20);
	if (map_load(mpath, "maps", &m, &err) != 0) {
		fprintf(stderr, "%.*s\n", (int)err.len, err.p ? err.p : "");
		return 65;
	}
	if ((fd = open(argv[0], O_RDONLY)) == -1 || fstat(fd, &sb) == -1) {
		perror(argv[0]);
		return 66;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 74;
	}
	in.p = p;
	in.len = (size_t)sb.st_size;
	b.m = m;
	b.ds.emit = on_diag;
	b.ds.arg = &b;
	b.env.partner_id = "bench";
	if (b.dump)
		runs = 1;
	for (r = 0; r < runs; r++) {
		run(in, &b);
		if (r == 0 || b.ns < best)
			best = b.ns;
		if (r == 0 || b.writens < bestwrite)
			bestwrite = b.writens;
		if (r == 0 || b.copyns < bestcopy)
			bestcopy = b.copyns;
	}
	if (!b.dump)
		printf("{\"bytes\":%zu,\"sets\":%lu,\"rejected\":%lu,"
		    "\"docs\":%lu,\"us_per_set\":%.2f,\"map_mb_s\":%.1f,"
		    "\"write_us\":%.2f,\"jansson_us\":%.2f}\n",
		    in.len, b.nset, b.nrej, b.ndoc,
		    b.ndoc ? best / 1e3 / b.ndoc : 0.0,
		    best > 0 ? in.len * (double)b.reps / 1e6 / (best / 1e9) :
		    0.0, b.ndoc ? bestwrite / 1e3 / b.ndoc : 0.0,
		    b.ndoc ? bestcopy / 1e3 / b.ndoc : 0.0);
	munmap(p, in.len);
	close(fd);
	map_free(m);
	buf_free(&err);
	buf_free(&b.out);
	return 0;
}
