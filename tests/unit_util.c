/*
 * unit_util.c: capped buffers, arenas, slices and log lines.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "console.h"
#include "eglimits.h"
#include "err.h"
#include "files.h"
#include "log.h"
#include "nameidx.h"
#include "refset.h"
#include "slice.h"
#include "tap.h"

#define LOG_THREADS	8
#define LOG_LINES	400

/* A thread's log lines, each long enough to take several writes if the
 * line were written piecewise. */
static void *
log_lines(void *arg)
{
	int	 k = (int)(intptr_t)arg, i;

	for (i = 0; i < LOG_LINES; i++)
		log_info("t%d line %d %s", k, i, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	return NULL;
}

/* The whole of a file, NUL-terminated; NULL when it cannot be read. */
static char *
read_text(const char *path, size_t *len)
{
	FILE	*f;
	char	*p = NULL;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

/*
 * Lines logged by many threads at once, and one past the line buffer,
 * each whole on its own line: journald makes a record of each.
 */
static void
test_log_lines(void)
{
	pthread_t	 th[LOG_THREADS];
	char		 path[] = "/tmp/unit_util_log.XXXXXX", *text, *ln, *nl;
	char		 big[6000];
	int		 fd, saved, i, k, n, whole = 0, bad = 0, seen[LOG_THREADS];
	size_t		 len;

	if ((fd = mkstemp(path)) == -1 || (saved = dup(2)) == -1) {
		ok(0, "log: a file for stderr");
		return;
	}
	fflush(stderr);
	dup2(fd, 2);
	log_init("unit", 0);
	for (k = 0; k < LOG_THREADS; k++)
		pthread_create(&th[k], NULL, log_lines, (void *)(intptr_t)k);
	for (k = 0; k < LOG_THREADS; k++)
		pthread_join(th[k], NULL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = ENOENT;
	log_warn("big %s", big);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	text = read_text(path, &len);
	unlink(path);
	ok(text != NULL, "log: the lines read back");
	if (text == NULL)
		return;
	memset(seen, 0, sizeof(seen));
	for (ln = text; (nl = strchr(ln, '\n')) != NULL; ln = nl + 1) {
		*nl = '\0';
		if (sscanf(ln, "unit: t%d line %d %n", &k, &i, &n) == 2 &&
		    k >= 0 && k < LOG_THREADS && i == seen[k] &&
		    strcmp(ln + n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
		    "QRSTUVWXYZ0123456789") == 0)
			seen[k]++;
		else if (strncmp(ln, "unit: big ", 10) == 0 &&
		    strlen(ln) == 10 + sizeof(big) - 1 +
		    strlen(": ") + strlen(strerror(ENOENT)))
			whole++;
		else
			bad++;
	}
	for (k = 0; k < LOG_THREADS; k++)
		if (seen[k] != LOG_LINES)
			bad++;
	ok(bad == 0 && *ln == '\0', "log: %d threads' %d lines each, whole and "
	    "in order", LOG_THREADS, LOG_LINES);
	ok(whole == 1, "log: a line past the buffer, whole, with its errno");
	free(text);
}

int
main(void)
{
	struct buf	 b;
	struct arena	 a;
	char		*p, *q;
	size_t		 len;
	int		 i;

	buf_init(&b, 10);
	is_int(buf_adds(&b, "hello"), 0, "buf: add within cap");
	is_int(buf_adds(&b, "world"), 0, "buf: add up to cap");
	is_int(buf_addc(&b, '!'), EG_ERR_LIMIT, "buf: past cap is EG_ERR_LIMIT");
	is_str(b.p, "helloworld", "buf: contents unchanged after refusal");
	buf_reset(&b);
	is_int(buf_printf(&b, "%d-%s", 42, "x"), 0, "buf: printf");
	is_str(b.p, "42-x", "buf: printf contents");
	is_int(buf_printf(&b, "%s", "0123456789"), EG_ERR_LIMIT,
	    "buf: printf past cap refused");
	p = buf_release(&b, &len);
	is_str(p, "42-x", "buf: release hands over contents");
	is_int(len, 4, "buf: release length");
	free(p);
	ok(b.p == NULL && b.len == 0, "buf: empty after release");
	buf_free(&b);

	arena_init(&a, 1024 * 1024);
	p = arena_alloc(&a, 10);
	ok(p != NULL && ((uintptr_t)p & 15) == 0, "arena: aligned allocation");
	q = arena_strndup(&a, "abcdef", 3);
	is_str(q, "abc", "arena: strndup");
	for (i = 0; i < 100; i++)
		if (arena_alloc(&a, 100000) == NULL)
			break;
	ok(i > 5 && i < 100, "arena: cap stops allocation (%d chunks)", i);
	arena_reset(&a);
	is_int(a.used, 0, "arena: reset");
	ok(arena_alloc(&a, 1000) != NULL, "arena: usable after reset");
	ok(arena_allocarray(&a, SIZE_MAX / 2, 4) == NULL,
	    "arena: overflowing array refused");
	arena_free(&a);

	ok(slice_eqs(slice_trim(SLICE_LIT("  ZZ  ")), "ZZ"), "slice: trim");
	ok(slice_eqs(slice_trim(SLICE_LIT("   ")), ""), "slice: trim all");
	ok(slice_prefix(SLICE_LIT("004010VICS"), "0040"), "slice: prefix");
	ok(!slice_prefix(SLICE_LIT("00"), "0040"), "slice: short prefix");
	is_str(eg_strerror(EG_ERR_LIMIT), "size limit exceeded", "strerror");

	buf_init(&b, 1024);
	is_int(html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>"), 0,
	    "html_escape: fits");
	is_str(b.p, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;",
	    "html_escape: & < > \" ' become entities");
	buf_reset(&b);
	html_escape(&b, "plain \xc3\xa9t\xc3\xa9");
	is_str(b.p, "plain \xc3\xa9t\xc3\xa9", "html_escape: UTF-8 as is");
	buf_free(&b);
	buf_init(&b, 4);
	is_int(html_escape(&b, "<<<"), EG_ERR_LIMIT, "html_escape: the cap");
	buf_free(&b);
	p = console_urlencode("a b&c/\xc3\xa9");
	is_str(p, "a%20b%26c%2F%C3%A9", "console_urlencode");
	free(p);

	ok(files_temp_name(".po.x12") && files_temp_name("po.x12.tmp") &&
	    files_temp_name("po.x12.part") && files_temp_name("po.filepart"),
	    "files_temp_name: dot files and .tmp/.part/.filepart");
	ok(!files_temp_name("po.x12") && !files_temp_name("tmp.x12") &&
	    !files_temp_name("tmp") && !files_temp_name("x.partial"),
	    "files_temp_name: other names are documents");
	{
		char	 path[] = "/tmp/eg-secret-XXXXXX", out[64], err[512];
		int	 fd = mkstemp(path);

		ok(fd != -1 && write(fd, "s3cret\r\nsecond\n", 15) == 15,
		    "secret file written");
		if (fd != -1)
			close(fd);
		chmod(path, 0600);
		ok(files_secret("[erp] token_file", path, out, sizeof(out),
		    err, sizeof(err)) == 0 && strcmp(out, "s3cret") == 0,
		    "files_secret: the first line, without CR LF (%s)", out);
		chmod(path, 0640);
		ok(files_secret("[erp] token_file", path, out, sizeof(out),
		    err, sizeof(err)) == -1 && strstr(err, "[erp] token_file") &&
		    strstr(err, "readable or writable by group or others") &&
		    strstr(err, "mode 640"), "files_secret: group-readable "
		    "refused, naming the key and mode (%s)", err);
		unlink(path);
		ok(files_secret("[sftp] password_file", path, out, sizeof(out),
		    err, sizeof(err)) == -1 && strstr(err, "No such file"),
		    "files_secret: a missing file (%s)", err);
	}
	{
		struct ent { char *name; int v; } *e = NULL;
		struct nameidx	 x = { NULL, 0 };
		char		 nm[32];
		size_t		 k, n = 5000, bad = 0;

		for (k = 0; k < n; k++) {
			e = realloc(e, (k + 1) * sizeof(*e));
			snprintf(nm, sizeof(nm), "po%05zu.x12", k);
			e[k].name = strdup(nm);
			e[k].v = (int)k;
			nameidx_add(&x, e, sizeof(*e), k);
		}
		for (k = 0; k < n; k++) {
			snprintf(nm, sizeof(nm), "po%05zu.x12", k);
			if (nameidx_find(&x, e, sizeof(*e), nm) != (long)k)
				bad++;
		}
		ok(bad == 0 && nameidx_find(&x, e, sizeof(*e), "nope") == -1,
		    "nameidx: %zu names added one by one, each found; an "
		    "unknown one not", n);
		/* drop the even ones, as a sweep does, and rebuild */
		for (k = 0; k < n; k += 2)
			free(e[k].name);
		for (k = 0; k < n / 2; k++)
			e[k] = e[2 * k + 1];
		nameidx_build(&x, e, sizeof(*e), n / 2);
		bad = 0;
		for (k = 0; k < n / 2; k++)
			if (nameidx_find(&x, e, sizeof(*e), e[k].name) !=
			    (long)k)
				bad++;
		ok(bad == 0 && nameidx_find(&x, e, sizeof(*e),
		    "po00000.x12") == -1, "nameidx: after a rebuild the "
		    "remaining names are found at their new places");
		for (k = 0; k < n / 2; k++)
			free(e[k].name);
		free(e);
		nameidx_free(&x);
	}

	/* refset: control numbers, sequential or in steps, and others */
	{
		struct refset	 r = { .ent = NULL };
		char		 nb[32];
		unsigned	 k, steps[] = { 1, 64, 1000, 65536 };
		size_t		 si;
		int		 first = 0, again = 0;

		for (si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
			refset_clear(&r);
			first = again = 0;
			for (k = 0; k < 20000; k++) {
				snprintf(nb, sizeof(nb), "%09u", k * steps[si]);
				first += refset_seen(&r, slice_cstr(nb));
			}
			for (k = 0; k < 20000; k++) {
				snprintf(nb, sizeof(nb), "%09u", k * steps[si]);
				again += refset_seen(&r, slice_cstr(nb));
			}
			ok(first == 0 && again == 20000, "refset: 20,000 "
			    "numbers in steps of %u: new once, then seen",
			    steps[si]);
		}
		ok(!refset_seen(&r, slice_cstr("1")) &&
		    refset_seen(&r, slice_cstr("1")) &&
		    !refset_seen(&r, slice_cstr("0001")) &&
		    !refset_seen(&r, slice_cstr("ICR-7")) &&
		    refset_seen(&r, slice_cstr("ICR-7")) &&
		    !refset_seen(&r, slice_cstr("")) &&
		    !refset_seen(&r, slice_cstr("")),
		    "refset: leading zeros count, text works, empty never "
		    "repeats");

		/*
		 * The run kept as its ends (refset.h): a width kept from a
		 * leading zero, none without, and every number of it still
		 * found once the run breaks.
		 */
		refset_clear(&r);
		ok(!refset_seen(&r, slice_cstr("0998")) &&
		    !refset_seen(&r, slice_cstr("0999")) &&
		    !refset_seen(&r, slice_cstr("1000")) &&
		    !refset_seen(&r, slice_cstr("999")) &&
		    refset_seen(&r, slice_cstr("0999")) &&
		    refset_seen(&r, slice_cstr("0998")) &&
		    refset_seen(&r, slice_cstr("1000")) &&
		    !refset_seen(&r, slice_cstr("1001")),
		    "refset: a run of four digits, then a break, then its "
		    "numbers found");
		refset_clear(&r);
		ok(!refset_seen(&r, slice_cstr("9")) &&
		    !refset_seen(&r, slice_cstr("10")) &&
		    !refset_seen(&r, slice_cstr("11")) &&
		    !refset_seen(&r, slice_cstr("012")) &&
		    !refset_seen(&r, slice_cstr("12")) &&
		    refset_seen(&r, slice_cstr("9")) &&
		    refset_seen(&r, slice_cstr("10")) &&
		    refset_seen(&r, slice_cstr("012")),
		    "refset: a run without leading zeros across 9 to 10, "
		    "and 012 is not 12");
		refset_clear(&r);
		ok(!refset_seen(&r, slice_cstr("5")) &&
		    refset_seen(&r, slice_cstr("5")) &&
		    !refset_seen(&r, slice_cstr("6")) &&
		    refset_seen(&r, slice_cstr("6")),
		    "refset: a number repeated at once ends the run and is "
		    "found");

		/*
		 * Past EG_MAX_CONTROL_TRACK the set stops growing but still
		 * answers, the same whether the numbers only rose (kept as a
		 * run, refset.c) or were hashed from the start (a text first).
		 */
		for (si = 0; si < 2; si++) {
			unsigned total = EG_MAX_CONTROL_TRACK + 40000;

			refset_clear(&r);
			first = 0;
			if (si == 1)
				first += refset_seen(&r, slice_cstr("TEXT"));
			for (k = 0; k < total; k++) {
				snprintf(nb, sizeof(nb), "%09u", k);
				first += refset_seen(&r, slice_cstr(nb));
			}
			snprintf(nb, sizeof(nb), "%09u", 5u);
			again = refset_seen(&r, slice_cstr(nb));
			snprintf(nb, sizeof(nb), "%09u", total - 1);
			ok(first == 0 && again == 1 &&
			    !refset_seen(&r, slice_cstr(nb)) &&
			    r.n >= EG_MAX_CONTROL_TRACK && r.n < total,
			    "refset: %s, past the limit an early number is "
			    "still seen, a late one was not kept", si == 0 ?
			    "rising numbers" : "hashed from the start");
		}
		refset_free(&r);
	}
	test_log_lines();
	return done_testing();
}
