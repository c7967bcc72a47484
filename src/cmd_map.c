/*
 * cmd_map.c: `edigate map check|run|test`, the analysts' tools.
 *
 *   check MAP...        compile and lint; errors as file:line:col
 *   run [--trace] MAP FILE...   translate with one map, trace every rule
 *   test DIR            golden cases DIR/tests/<map-id>/<case>.edi with
 *                       <case>.json (events) and <case>.err (diagnostics);
 *                       ends with "N passed, N failed"
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "diag.h"
#include "err.h"
#include "map.h"
#include "translate.h"
#include "xmalloc.h"

static int
map_check(int argc, char **argv, const char *mapsdir)
{
	struct buf	 errs;
	struct map	*m;
	int		 i, bad = 0;

	if (argc == 0)
		return cmd_usage("map", stderr);
	for (i = 0; i < argc; i++) {
		buf_init(&errs, 1 << 20);
		if (map_load(argv[i], cmd_maps_root(mapsdir), &m, &errs) != 0)
			bad++;
		else {
			printf("%s: ok (map %s version %d, %s)\n", argv[i],
			    map_id(m), map_version(m), map_event_type(m));
			map_free(m);
		}
		if (errs.len)
			fputs(errs.p, stderr);
		buf_free(&errs);
	}
	return bad ? EX_DATAERR : 0;
}

static int
map_run(int argc, char **argv, const char *mapsdir, int trace)
{
	struct catalog	*cat;
	struct buf	 errs;
	int		 ex;

	if (argc < 2)
		return cmd_usage("map", stderr);
	cat = catalog_new(cmd_maps_root(mapsdir));
	buf_init(&errs, 1 << 20);
	if (catalog_add(cat, argv[0], &errs) != 0) {
		fputs(errs.p ? errs.p : "", stderr);
		buf_free(&errs);
		catalog_free(cat);
		return EX_DATAERR;
	}
	buf_free(&errs);
	ex = cmd_translate_files(cat, NULL, catalog_map(cat, 0), NULL, trace,
	    0, 0, argc - 1, argv + 1);
	catalog_free(cat);
	return ex;
}

/* -- golden tests -- */

struct golden {
	json_t		*events;
	struct buf	 diags;
	const char	*file;
};

static int
golden_event(void *arg, const char *json, size_t len)
{
	struct golden	*g = arg;
	json_error_t	 jerr;
	json_t		*ev;

	/* What edigate prints must be valid JSON: a parse failure fails. */
	if ((ev = json_loadb(json, len, 0, &jerr)) == NULL)
		ev = json_pack("{s:s}", "unparsable-event", jerr.text);
	json_array_append_new(g->events, ev);
	return 0;
}

static void
golden_diag(void *arg, const struct diag *d)
{
	struct golden	*g = arg;

	diag_format(d, g->file, &g->diags);
	buf_addc(&g->diags, '\n');
}

/* Drop what differs on every run (MAPS.md §9). */
static void
golden_strip(json_t *events)
{
	json_t	*ev, *m;
	size_t	 i;

	json_array_foreach(events, i, ev) {
		json_object_del(ev, "id");
		json_object_del(ev, "time");
		m = json_object_get(json_object_get(ev, "data"), "map");
		if (m != NULL)
			json_object_del(m, "sha256");
	}
}

static char *
slurp(const char *path)
{
	FILE	*fp;
	struct buf b;
	char	 chunk[8192];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b, 64U << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&b, chunk, n) != 0)
			break;
	fclose(fp);
	return buf_release(&b, NULL);
}

/* Print the first lines where two texts differ. */
static void
show_diff(const char *what, const char *want, const char *got)
{
	const char	*w = want, *g = got, *we, *ge;
	int		 line = 1, shown = 0;

	while (*w || *g) {
		we = strchr(w, '\n');
		ge = strchr(g, '\n');
		if (we == NULL)
			we = w + strlen(w);
		if (ge == NULL)
			ge = g + strlen(g);
		if ((we - w) != (ge - g) || strncmp(w, g, (size_t)(we - w))) {
			printf("#   %s line %d\n#     want: %.*s\n#     got:  %.*s\n",
			    what, line, (int)(we - w), w, (int)(ge - g), g);
			if (++shown == 5)
				return;
		}
		w = *we ? we + 1 : we;
		g = *ge ? ge + 1 : ge;
		line++;
	}
}

static int
golden_case(const struct map *m, const char *dir, const char *name,
    const char *input)
{
	struct golden		 g;
	struct translate_opts	 o;
	struct translate_stats	 st;
	struct mapped_file	 mf;
	json_t			*want;
	json_error_t		 jerr;
	char			*path, *base, *wtext, *gtext, *werr;
	int			 pass = 1;
	size_t			 n;

	xasprintf(&path, "%s/%s", dir, input);
	if (mapped_open(path, &mf) == -1) {
		printf("not ok - %s: %s\n", path, strerror(errno));
		free(path);
		return 0;
	}
	memset(&g, 0, sizeof(g));
	g.events = json_array();
	buf_init(&g.diags, 16U << 20);
	g.file = input;
	memset(&o, 0, sizeof(o));
	o.force_map = m;
	o.filename = input;
	o.protocol = "FILE";
	clock_gettime(CLOCK_REALTIME, &o.received);
	o.on_event = golden_event;
	o.on_diag = golden_diag;
	o.arg = &g;
	translate_bytes(mf.data, &o, &st);
	mapped_close(&mf);

	n = strcspn(input, ".");
	base = xstrndup(input, n);
	free(path);
	xasprintf(&path, "%s/%s.json", dir, base);
	if ((want = json_load_file(path, 0, &jerr)) == NULL) {
		printf("not ok - %s/%s: %s: %s (line %d)\n", dir, base, path,
		    jerr.text, jerr.line);
		pass = 0;
	} else {
		golden_strip(want);
		golden_strip(g.events);
		if (!json_equal(want, g.events)) {
			pass = 0;
			wtext = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
			gtext = json_dumps(g.events,
			    JSON_INDENT(1) | JSON_SORT_KEYS);
			printf("not ok - %s/%s: events differ\n", dir, base);
			show_diff("events", wtext, gtext);
			free(wtext);
			free(gtext);
		}
		json_decref(want);
	}
	free(path);
	xasprintf(&path, "%s/%s.err", dir, base);
	werr = slurp(path);
	if (strcmp(werr ? werr : "", g.diags.p ? g.diags.p : "") != 0) {
		if (pass)
			printf("not ok - %s/%s: diagnostics differ\n", dir,
			    base);
		show_diff("diagnostics", werr ? werr : "",
		    g.diags.p ? g.diags.p : "");
		pass = 0;
	}
	if (pass)
		printf("ok - %s/%s\n", dir, base);
	free(werr);
	free(path);
	free(base);
	buf_free(&g.diags);
	json_decref(g.events);
	return pass;
}

static int
sorted_entries(const char *dir, char ***out)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL;
	int		 n = 0, i, j;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

static int
is_input(const char *name)
{
	size_t	 n = strlen(name);

	return (n > 4 && (strcmp(name + n - 4, ".edi") == 0 ||
	    strcmp(name + n - 4, ".xml") == 0));
}

static int
map_test(int argc, char **argv)
{
	struct catalog	*cat;
	struct buf	 errs;
	const struct map *m;
	char		*tests, *dir, **ids, **cases;
	int		 nid, ncase, i, j, passed = 0, failed = 0;

	if (argc != 1)
		return cmd_usage("map", stderr);
	buf_init(&errs, 1 << 20);
	if (catalog_load(argv[0], &cat, &errs) != 0) {
		fputs(errs.p ? errs.p : "", stderr);
		failed++;	/* maps that do not compile fail the run */
	}
	buf_free(&errs);
	xasprintf(&tests, "%s/tests", argv[0]);
	if ((nid = sorted_entries(tests, &ids)) < 0) {
		fprintf(stderr, "%s: %s\n", tests, strerror(errno));
		free(tests);
		catalog_free(cat);
		return EX_NOINPUT;
	}
	for (i = 0; i < nid; i++) {
		xasprintf(&dir, "%s/%s", tests, ids[i]);
		ncase = sorted_entries(dir, &cases);
		m = catalog_find(cat, ids[i]);
		for (j = 0; j < ncase; j++) {
			if (!is_input(cases[j])) {
				free(cases[j]);
				continue;
			}
			if (m == NULL) {
				printf("not ok - %s/%s: no map with id %s\n",
				    dir, cases[j], ids[i]);
				failed++;
			} else if (golden_case(m, dir, cases[j], cases[j]))
				passed++;
			else
				failed++;
			free(cases[j]);
		}
		if (ncase > 0)
			free(cases);
		free(dir);
		free(ids[i]);
	}
	free(ids);
	free(tests);
	catalog_free(cat);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? EX_DATAERR : 0;
}

int
cmd_map(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "trace", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*sub, *mapsdir = NULL;
	int		 ch, trace = 0;

	if (argc < 2) {
		if (argc == 2 || (argc > 1 && strcmp(argv[1], "--help") == 0))
			return cmd_usage("map", stdout);
		return cmd_usage("map", stderr);
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return cmd_usage("map", stdout);
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hM:t", lopts, NULL)) != -1) {
		switch (ch) {
		case 'M':
			mapsdir = optarg;
			break;
		case 't':
			trace = 1;
			break;
		case 'h':
			return cmd_usage("map", stdout);
		default:
			return cmd_usage("map", stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(sub, "check") == 0)
		return map_check(argc, argv, mapsdir);
	if (strcmp(sub, "run") == 0)
		return map_run(argc, argv, mapsdir, trace);
	if (strcmp(sub, "test") == 0)
		return map_test(argc, argv);
	fprintf(stderr, "edigate map: unknown subcommand '%s'\n", sub);
	return cmd_usage("map", stderr);
}
