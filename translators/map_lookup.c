/*
 * map_lookup.c: code tables of the map language (MAPS.md §3.7).  A table
 * is a list of rows `left <-> right`, `left -> right` (inbound only),
 * `left <- right` (outbound only) or `left -> !` (the code is an error),
 * declared inline or loaded from a CSV file `left,right[,dir]`.  Rows are
 * hashed both ways once the map is compiled; lookups never allocate.
 *
 * This file owns the rows and hashes of a table; it never decides what a
 * miss means (that is the evaluator's policy handling).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "arena.h"
#include "eglimits.h"
#include "err.h"
#include "map_int.h"
#include "structure.h"
#include "xmalloc.h"

struct map_lookup *
map_lookup_new(struct arena *a, const char *name)
{
	struct map_lookup *lk;

	if ((lk = arena_alloc(a, sizeof(*lk))) == NULL)
		return NULL;
	lk->name = name;
	lk->policy = MP_WARN;
	return lk;
}

static uint32_t
lk_hash(struct slice s)
{
	uint32_t h = 2166136261u;
	size_t	 i;

	for (i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 16777619u;
	}
	return h;
}

static int
lk_grow(struct map_lookup *lk, struct arena *a)
{
	struct map_row	*nr;
	uint32_t	 ncap;

	if (lk->nrow < lk->caprow)
		return 0;
	if (lk->nrow >= EG_MAX_LOOKUP_ROWS)
		return EG_ERR_LIMIT;
	ncap = lk->caprow ? lk->caprow * 2 : 16;
	if (ncap > EG_MAX_LOOKUP_ROWS)
		ncap = EG_MAX_LOOKUP_ROWS;
	if ((nr = arena_allocarray(a, ncap, sizeof(*nr))) == NULL)
		return EG_ERR_LIMIT;
	if (lk->nrow)
		memcpy(nr, lk->row, lk->nrow * sizeof(*nr));
	lk->row = nr;
	lk->caprow = ncap;
	return 0;
}

/* Whether s is ASCII without a byte JSON escapes (mdoc_text_plain). */
static int
lk_plain(struct slice s)
{
	size_t	 i;

	for (i = 0; i < s.len; i++)
		if (mdoc_cls[(unsigned char)s.p[i]] != 0)
			return 0;
	return 1;
}

/*
 * Append a row.  With replace (rows of an `add` table), the new row takes
 * over the direction(s) it covers from earlier rows with the same code:
 * an inbound row replaces the inbound use of rows with the same left
 * code, an outbound row the outbound use of rows with the same right.
 */
int
map_lookup_addrow(struct map_lookup *lk, struct arena *a, struct slice left,
    struct slice right, enum map_rowdir dir, int bang, int replace)
{
	struct map_row	*r;
	uint32_t	 i, j;
	int		 rv;

	if (replace) {
		for (i = 0; i < lk->nrow; i++) {
			r = &lk->row[i];
			if ((dir == MR_BOTH || dir == MR_IN) &&
			    (r->dir == MR_BOTH || r->dir == MR_IN) &&
			    slice_eq(r->left, left))
				r->dir = r->dir == MR_BOTH ? MR_OUT : 0;
			if ((dir == MR_BOTH || dir == MR_OUT) &&
			    (r->dir == MR_BOTH || r->dir == MR_OUT) &&
			    !r->bang && slice_eq(r->right, right))
				r->dir = r->dir == MR_BOTH ? MR_IN : 0;
		}
		for (i = j = 0; i < lk->nrow; i++)
			if (lk->row[i].dir != 0)
				lk->row[j++] = lk->row[i];
		lk->nrow = j;
	}
	if ((rv = lk_grow(lk, a)) != 0)
		return rv;
	r = &lk->row[lk->nrow++];
	r->left = left;
	r->right = right;
	r->dir = dir;
	r->bang = bang;
	r->plain = lk_plain(right);
	return 0;
}

/*
 * Where a key's probe starts.  Most codes (units, qualifiers) have a
 * map_codekey: it is hashed and compared as one integer, without a byte
 * loop or memcmp.  Longer keys take FNV-1a over their bytes.
 */
static inline uint32_t
lk_start(struct slice s, uint64_t ck)
{
	if (ck != MAP_CODEKEY_NONE)
		return map_lookup_ckhash(ck);
	return lk_hash(s);
}

static int
lk_hash_build(struct map_lookup *lk, struct arena *a, struct map_hash *h,
    int out)
{
	uint32_t	 n, i, k;
	uint64_t	 ck;
	struct slice	 key;

	for (n = 16; n < lk->nrow * 2 + 1; n *= 2)
		;
	if ((h->e = arena_allocarray(a, n, sizeof(*h->e))) == NULL)
		return EG_ERR_LIMIT;
	h->mask = n - 1;
	for (i = 0; i < lk->nrow; i++) {
		const struct map_row *r = &lk->row[i];

		if (out) {
			if (r->bang || (r->dir != MR_BOTH && r->dir != MR_OUT))
				continue;
			key = r->right;
		} else {
			if (r->dir != MR_BOTH && r->dir != MR_IN)
				continue;
			key = r->left;
		}
		/* First row wins: later duplicates are shadowed. */
		ck = map_codekey(key.p, key.len);
		for (k = lk_start(key, ck) & h->mask; h->e[k].row != NULL;
		    k = (k + 1) & h->mask)
			if (slice_eq(out ? h->e[k].row->right :
			    h->e[k].row->left, key))
				break;
		if (h->e[k].row == NULL) {
			h->e[k].row = r;
			h->e[k].ck = ck;
			h->e[k].rp = r->right.p;
			h->e[k].rlen = (uint32_t)r->right.len;
			h->e[k].bang = (uint16_t)r->bang;
			h->e[k].plain = (uint16_t)r->plain;
		}
	}
	return 0;
}

/* Where ck lies in a direct index (map_xform_apply computes the same). */
static inline uint32_t
lk_dslot(uint32_t ck, uint64_t mul, uint32_t mask)
{
	return (uint32_t)((ck * mul) >> 32) & mask;
}

/*
 * The direct index of the lookup transform (struct map_lkent): every
 * inbound code of 1 to 3 bytes (units, qualifiers, X12 and EDIFACT code
 * lists) that map_lookup_in finds to a row it returns as it is.  Sizes
 * from about k * k / 4 entries for k codes up to 8 times that, and for
 * each size odd multipliers in a fixed order, until one puts every code
 * in an entry of its own.
 * Codes that share an entry even then (or past LK_DMAX) take the hash.
 */
#define LK_DTRIES	64
#define LK_DMAX		4096	/* entries at most (64 KB): a larger table's
				   codes that share one take the hash */

static int
lk_direct_build(struct map_lookup *lk, struct arena *a)
{
	uint64_t	 mul, seed;
	const struct map_row **rows;
	struct map_lkent *dt;
	uint32_t	 n, nk = 0, i, j, k, lo, t, nbest = 0, gen, *used, *ck;
	const struct map_row *r;
	int		 ok, rv = 0;

	lk->dt = NULL;
	if (lk->nrow == 0)
		return 0;
	/* Scratch from the heap: the map's arena keeps only the index. */
	ck = xreallocarray(NULL, lk->nrow, sizeof(*ck));
	rows = xreallocarray(NULL, lk->nrow, sizeof(*rows));
	used = xreallocarray(NULL, LK_DMAX, sizeof(*used));
	for (i = 0; i < lk->nrow; i++) {
		r = &lk->row[i];
		if (r->left.len < 1 || r->left.len > 3 || r->bang ||
		    r->right.len == 0 || r->right.len > UINT16_MAX ||
		    (r->dir != MR_BOTH && r->dir != MR_IN))
			continue;
		/* The row the hash gives for the code (first row wins). */
		if (map_lookup_in(lk, r->left) != r)
			continue;
		ck[nk] = map_lkent_key(r->left.p, r->left.len);
		rows[nk++] = r;
	}
	if (nk == 0)
		goto done;
	/*
	 * k codes in n entries share none with a chance of about
	 * exp(-k * k / 2n): from n near k * k / 4 (e^-2) a few tries do.
	 */
	for (lo = 16; lo < LK_DMAX && (lo < nk * 2 ||
	    lo < (uint64_t)nk * nk / 4); lo *= 2)
		;
	seed = 0;
	mul = 0x9e3779b97f4a7c15ull;
	for (n = lo; n <= lo * 8 && n <= LK_DMAX; n *= 2) {
		memset(used, 0, n * sizeof(*used));
		gen = 0;
		for (t = 0; t < LK_DTRIES; t++) {
			/* splitmix64: odd multipliers, the same every build */
			uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			z = (z ^ (z >> 31)) | 1;
			gen++;		/* used[k] == gen: taken in this try */
			for (ok = 1, j = 0; j < nk && ok; j++) {
				k = lk_dslot(ck[j], z, n - 1);
				ok = used[k] != gen;
				used[k] = gen;
			}
			if (ok) {
				mul = z;
				goto found;
			}
		}
	}
	n = n / 2;
	nbest = 1;		/* none fits: the last size, first code wins */
found:
	if ((dt = arena_allocarray(a, n, sizeof(*dt))) == NULL) {
		rv = EG_ERR_LIMIT;
		goto done;
	}
	for (i = 0; i < n; i++)
		dt[i].ck = UINT32_MAX;
	for (j = 0; j < nk; j++) {
		k = lk_dslot(ck[j], mul, n - 1);
		if (nbest && dt[k].ck != UINT32_MAX)
			continue;
		dt[k].ck = ck[j];
		dt[k].rp = rows[j]->right.p;
		dt[k].rlen = (uint16_t)rows[j]->right.len;
		dt[k].plain = (uint16_t)rows[j]->plain;
	}
	lk->dt = dt;
	lk->dmul = mul;
	lk->dmask = n - 1;
done:
	free(ck);
	free(rows);
	free(used);
	return rv;
}

int
map_lookup_build(struct map_lookup *lk, struct arena *a)
{
	int	 rv;

	if ((rv = lk_hash_build(lk, a, &lk->in, 0)) != 0)
		return rv;
	if ((rv = lk_hash_build(lk, a, &lk->out, 1)) != 0)
		return rv;
	return lk_direct_build(lk, a);
}

/* Gives the lookup transform x its table's direct index (map_lkent). */
void
map_lookup_bind(struct map_xform *x)
{
	x->lkt = x->lk != NULL ? x->lk->dt : NULL;
	x->lkmul = x->lk != NULL ? x->lk->dmul : 0;
	x->lkmask = x->lk != NULL ? x->lk->dmask : 0;
}

static const struct map_row *
lk_find(const struct map_hash *h, struct slice key, int out)
{
	uint32_t	 k;
	uint64_t	 ck;
	const struct map_row *r;

	if (h->e == NULL)
		return NULL;
	ck = map_codekey(key.p, key.len);
	if (ck != MAP_CODEKEY_NONE) {
		/* Equal keys are equal codes of up to 7 bytes. */
		for (k = lk_start(key, ck) & h->mask; h->e[k].row != NULL;
		    k = (k + 1) & h->mask)
			if (h->e[k].ck == ck)
				return h->e[k].row;
		return NULL;
	}
	for (k = lk_hash(key) & h->mask; (r = h->e[k].row) != NULL;
	    k = (k + 1) & h->mask)
		if (slice_eq(out ? r->right : r->left, key))
			return r;
	return NULL;
}

/* The inbound row for code, or NULL on a miss. */
const struct map_row *
map_lookup_in(const struct map_lookup *lk, struct slice code)
{
	return lk_find(&lk->in, code, 0);
}

/* The outbound row for an event value, or NULL on a miss. */
const struct map_row *
map_lookup_out(const struct map_lookup *lk, struct slice value)
{
	return lk_find(&lk->out, value, 1);
}

/* ---- CSV ----------------------------------------------------------- */

/* Split one CSV line into at most 3 fields ("..." quoting, "" escapes). */
static int
csv_fields(struct arena *a, const char *p, size_t len, struct slice *f,
    int maxf, int *bad)
{
	size_t	 i = 0, j;
	int	 n = 0;
	char	*o;

	*bad = 0;
	for (;;) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (n == maxf) {
			*bad = 1;
			return n;
		}
		if (i < len && p[i] == '"') {
			if ((o = arena_alloc(a, len - i + 1)) == NULL) {
				*bad = 2;
				return n;
			}
			j = 0;
			for (i++; i < len; i++) {
				if (p[i] == '"') {
					if (i + 1 < len && p[i + 1] == '"') {
						o[j++] = '"';
						i++;
						continue;
					}
					break;
				}
				o[j++] = p[i];
			}
			if (i >= len) {
				*bad = 1;
				return n;
			}
			i++;
			f[n++] = slice_make(o, j);
			while (i < len && (p[i] == ' ' || p[i] == '\t'))
				i++;
		} else {
			j = i;
			while (i < len && p[i] != ',')
				i++;
			f[n] = slice_make(p + j, i - j);
			while (f[n].len && (f[n].p[f[n].len - 1] == ' ' ||
			    f[n].p[f[n].len - 1] == '\t'))
				f[n].len--;
			n++;
		}
		if (i >= len)
			return n;
		if (p[i] != ',') {
			*bad = 1;
			return n;
		}
		i++;
	}
}

static int
ieq(struct slice s, const char *w)
{
	return s.len == strlen(w) && strncasecmp(s.p, w, s.len) == 0;
}

/* The text of path, in a, as the rows point into it. */
static int
csv_read(struct arena *a, const char *path, struct structure_cache *sc,
    char **textp, size_t *lenp, char *err, size_t errlen)
{
	FILE		*fp;
	struct stat	 st;
	const char	*ct;
	char		*text;
	size_t		 n;

	/* A table several maps name is read once per catalog load. */
	if (sc != NULL && structure_cache_text(sc, path, &ct, &n) == 0) {
		if ((text = arena_alloc(a, n + 1)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			return EG_ERR_LIMIT;
		}
		memcpy(text, ct, n + 1);
		*textp = text;
		*lenp = n;
		return 0;
	}
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return EG_ERR_NOTFOUND;
	}
	if (fstat(fileno(fp), &st) == -1 || st.st_size < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		return EG_ERR_IO;
	}
	if ((unsigned long long)st.st_size > EG_MAX_MAP_SIZE) {
		fclose(fp);
		snprintf(err, errlen, "%s:1:1: file larger than %u bytes", path,
		    EG_MAX_MAP_SIZE);
		return EG_ERR_LIMIT;
	}
	/* Rows point into the text, which lives as long as the map. */
	if ((text = arena_alloc(a, (size_t)st.st_size + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return EG_ERR_LIMIT;
	}
	n = fread(text, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		return EG_ERR_IO;
	}
	fclose(fp);
	text[n] = '\0';
	*textp = text;
	*lenp = n;
	return 0;
}

/*
 * Load rows `left,right[,dir]` from path.  Blank lines and lines starting
 * with `#` are skipped, and so is a header line `left,right[,dir]`.
 */
int
map_lookup_csv(struct map_lookup *lk, struct arena *a, const char *path,
    char *err, size_t errlen)
{
	return map_lookup_csv_cached(lk, a, path, NULL, err, errlen);
}

int
map_lookup_csv_cached(struct map_lookup *lk, struct arena *a,
    const char *path, struct structure_cache *sc, char *err, size_t errlen)
{
	char		*text;
	size_t		 n, i, ls, le;
	struct slice	 f[3];
	int		 nf, bad, line = 0, rv, bang, seen = 0;
	enum map_rowdir	 dir;

	if ((rv = csv_read(a, path, sc, &text, &n, err, errlen)) != 0)
		return rv;
	i = 0;
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n) {
		ls = i;
		while (i < n && text[i] != '\n')
			i++;
		le = i;
		if (i < n)
			i++;
		line++;
		if (le > ls && text[le - 1] == '\r')
			le--;
		while (ls < le && (text[ls] == ' ' || text[ls] == '\t'))
			ls++;
		if (ls == le || text[ls] == '#')
			continue;
		if (le - ls > EG_MAX_MAP_LINE) {
			snprintf(err, errlen, "%s:%d:1: line too long", path,
			    line);
			return EG_ERR_LIMIT;
		}
		nf = csv_fields(a, text + ls, le - ls, f, 3, &bad);
		if (bad == 2) {
			snprintf(err, errlen, "%s: out of memory", path);
			return EG_ERR_LIMIT;
		}
		if (bad || nf < 2) {
			snprintf(err, errlen, "%s:%d:1: expected left,right[,dir]",
			    path, line);
			return EG_ERR_SYNTAX;
		}
		if (!seen++ && ieq(f[0], "left") && ieq(f[1], "right"))
			continue;
		dir = MR_BOTH;
		if (nf == 3 && f[2].len > 0) {
			if (slice_eqs(f[2], "<->"))
				dir = MR_BOTH;
			else if (slice_eqs(f[2], "->"))
				dir = MR_IN;
			else if (slice_eqs(f[2], "<-"))
				dir = MR_OUT;
			else {
				snprintf(err, errlen, "%s:%d:1: direction must "
				    "be <->, -> or <-", path, line);
				return EG_ERR_SYNTAX;
			}
		}
		bang = slice_eqs(f[1], "!");
		if (bang && dir != MR_IN) {
			snprintf(err, errlen, "%s:%d:1: `!` needs direction ->",
			    path, line);
			return EG_ERR_SYNTAX;
		}
		if (f[0].len == 0 || (f[1].len == 0 && !bang)) {
			snprintf(err, errlen, "%s:%d:1: empty code", path, line);
			return EG_ERR_SYNTAX;
		}
		if ((rv = map_lookup_addrow(lk, a, f[0], f[1], dir, bang,
		    0)) != 0) {
			snprintf(err, errlen, "%s:%d:1: more than %u rows",
			    path, line, EG_MAX_LOOKUP_ROWS);
			return rv;
		}
	}
	return 0;
}
