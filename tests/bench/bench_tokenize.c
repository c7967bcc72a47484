/*
 * bench_tokenize.c: X12 or EDIFACT tokenizer throughput on a file, for
 * `make bench`.
 * Prints one JSON line: {"bytes":N,"segments":N,"ms":N,"mb_s":N}.
 * MB = 10^6 bytes, as ../shared/bench reports.
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

#include "slice.h"
#include "edifact.h"
#include "x12.h"

int
main(int argc, char **argv)
{
	struct timespec	 t0, t1;
	struct stat	 st;
	struct slice	 in;
	void		*p;
	long		 n = 0;
	double		 ms, best = 0;
	int		 fd, run, runs = 3;
	volatile long	 sink = 0;
	int		 edifact;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_tokenize FILE\n");
		return 64;
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		perror(argv[1]);
		return 66;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 74;
	}
	in.p = p;
	in.len = (size_t)st.st_size;
	/* EDIFACT starts with UNA or UNB; everything else is X12. */
	edifact = in.len >= 3 && (memcmp(in.p, "UNA", 3) == 0 ||
	    memcmp(in.p, "UNB", 3) == 0);
	/* Page the file in once; then the best of three runs. */
	for (size_t i = 0; i < in.len; i += 4096)
		sink += in.p[i];
	for (run = 0; run < runs; run++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		n = edifact ? edifact_count_segments(in) :
		    x12_count_segments(in);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (run == 0 || ms < best)
			best = ms;
	}
	printf("{\"bytes\":%zu,\"segments\":%ld,\"ms\":%.1f,\"mb_s\":%.1f}\n",
	    in.len, n, best, best > 0 ? in.len / 1e6 / (best / 1e3) : 0.0);
	munmap(p, in.len);
	close(fd);
	return n < 0 ? 65 : 0;
}
