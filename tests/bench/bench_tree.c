/*
 * bench_tree.c: X12 parse and loop-tree throughput on a file.  Not built by
 * make; build by hand from the top of the tree:
 *
 *   gcc -O2 -I src -I translators -I . tests/bench/bench_tree.c \
 *       libedigate.a $(pkg-config --libs jansson libcrypto) -liniparser -lm
 *
 * Usage: bench_tree FILE [STRUCT] [RUNS]
 * Prints one JSON line per mode: parse (translator_x12 with an empty set
 * handler) and tree (the same plus structure_select and edi_tree_build on
 * every set).  MB = 10^6 bytes; the best of RUNS runs (default 5).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "edi.h"
#include "slice.h"
#include "structure.h"
#include "translator.h"

struct bench {
	const struct structure *st;
	struct diag_sink ds;
	unsigned long	 nset, nseg, nrej, nloop;
	double		 treems;	/* inside edi_tree_build */
	int		 tree;
};

static void
count_diag(void *arg, const struct diag *d)
{
	(void)arg;
	(void)d;
}

static int
on_set(void *arg, struct edi_set *set)
{
	struct bench *b = arg;
	const struct structure *stc;
	struct timespec	 t0, t1;

	b->nset++;
	b->nseg += set->nseg;
	if (!b->tree)
		return 0;
	stc = structure_select(b->st, set->version, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (edi_tree_build(set, stc, &b->ds) != 0 || set->rejected)
		b->nrej++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b->treems += (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (set->root)
		b->nloop += set->root->nkid;
	return 0;
}

static double
run(struct slice in, struct bench *b, int tree)
{
	struct edi_handler h;
	struct timespec	 t0, t1;

	b->nset = b->nseg = b->nrej = b->nloop = 0;
	b->treems = 0;
	b->tree = tree;
	b->ds.nerror = b->ds.nwarning = 0;
	memset(&h, 0, sizeof(h));
	h.set = on_set;
	h.diags = &b->ds;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (translator_x12.parse(in, "bench", &h, b) != 0)
		fprintf(stderr, "parse stopped\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct structure *st;
	struct bench	 b;
	struct stat	 sb;
	struct slice	 in;
	char		 err[512];
	const char	*spath = "maps/structures/x12-850.struct";
	double		 ms, best, besttree;
	void		*p;
	int		 fd, r, mode, runs = 5;
	volatile long	 sink = 0;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bench_tree FILE [STRUCT] [RUNS]\n");
		return 64;
	}
	if (argc > 2)
		spath = argv[2];
	if (argc > 3)
		runs = strtol(argv[3], NULL, 10) > 0 ?
		    (int)strtol(argv[3], NULL, 10) : 1;
	if (structure_load(spath, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 65;
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1 || fstat(fd, &sb) == -1) {
		perror(argv[1]);
		return 66;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 74;
	}
	in.p = p;
	in.len = (size_t)sb.st_size;
	for (size_t i = 0; i < in.len; i += 4096)
		sink += in.p[i];
	memset(&b, 0, sizeof(b));
	b.st = st;
	b.ds.emit = count_diag;
	for (mode = 0; mode < 2; mode++) {
		best = besttree = 0;
		for (r = 0; r < runs; r++) {
			ms = run(in, &b, mode);
			if (r == 0 || ms < best)
				best = ms;
			if (r == 0 || b.treems < besttree)
				besttree = b.treems;
		}
		printf("{\"mode\":\"%s\",\"bytes\":%zu,\"sets\":%lu,"
		    "\"segments\":%lu,\"rejected\":%lu,\"errors\":%u,"
		    "\"warnings\":%u,\"ms\":%.1f,\"mb_s\":%.1f,"
		    "\"tree_ms\":%.1f,\"tree_mb_s\":%.1f}\n",
		    mode ? "tree" : "parse", in.len, b.nset, b.nseg, b.nrej,
		    b.ds.nerror, b.ds.nwarning, best,
		    best > 0 ? in.len / 1e6 / (best / 1e3) : 0.0, besttree,
		    besttree > 0 ? in.len / 1e6 / (besttree / 1e3) : 0.0);
	}
	munmap(p, in.len);
	close(fd);
	structure_free(st);
	return 0;
}
