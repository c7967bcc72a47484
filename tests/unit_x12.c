/*
 * unit_x12.c: X12 tokenizer and envelope state machine: delimiters of the
 * real corpus flavours, every envelope diagnostic on a crafted input (and
 * none on the valid one), TA1 and ISB/ISE, streaming memory, limits.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "setbuf.h"
#include "offer.h"
#include "tagpad.h"
#include "tap.h"
#include "translator.h"
#include "x12.h"
#include "xmalloc.h"

#define MAXD	64

struct run {
	struct diag	 d[MAXD];
	int		 nd;
	int		 nsets;
	int		 nrejected;
	int		 groups_ok, groups_bad;
	int		 ics_ok, ics_bad;
	size_t		 arena_peak;
	uint32_t	 segs;
	char		 doctypes[256];
	char		 firstvals[256];
	int		 stop_after;
	uint32_t	 ta1_nseg;
	int		 ta1_group_null;
	uint32_t	 last_filepos[4];
	uint32_t	 last_setpos[4];
	struct diag_sink ds;
};

static void
collect(void *arg, const struct diag *d)
{
	struct run *r = arg;

	if (r->nd < MAXD)
		r->d[r->nd++] = *d;
}

static int
on_set(void *arg, struct edi_set *s)
{
	struct run *r = arg;
	size_t	 n = strlen(r->doctypes);

	tagpad_set(s);
	r->nsets++;
	r->nrejected += s->rejected;
	r->segs += s->nseg;
	if (s->arena->used > r->arena_peak)
		r->arena_peak = s->arena->used;
	if (n + s->doctype.len + 2 < sizeof(r->doctypes))
		snprintf(r->doctypes + n, sizeof(r->doctypes) - n, "%s%.*s",
		    n ? "," : "", (int)s->doctype.len, s->doctype.p);
	if (slice_eqs(s->doctype, "TA1")) {
		r->ta1_nseg = s->nseg;
		r->ta1_group_null = s->env.group == NULL;
	}
	if (s->nseg >= 2) {
		r->last_filepos[0] = s->seg[0].filepos;
		r->last_setpos[0] = s->seg[0].setpos;
		r->last_filepos[1] = s->seg[1].filepos;
		r->last_setpos[1] = s->seg[1].setpos;
	}
	if (r->stop_after && r->nsets >= r->stop_after)
		return EG_ERR_REJECTED;
	return 0;
}

static int
on_group(void *arg, const struct edi_env *env, int ok)
{
	struct run *r = arg;

	if (ok)
		r->groups_ok++;
	else
		r->groups_bad++;
	return 0;
}

static int
on_ic(void *arg, const struct edi_env *env, int ok)
{
	struct run *r = arg;

	if (ok)
		r->ics_ok++;
	else
		r->ics_bad++;
	return 0;
}

static int
run(struct run *r, const char *p, size_t len)
{
	struct edi_handler h = { 0 };

	memset(r, 0, sizeof(*r));
	r->ds.emit = collect;
	r->ds.arg = r;
	h.set = on_set;
	h.group_end = on_group;
	h.interchange_end = on_ic;
	h.diags = &r->ds;
	return translator_x12.parse(slice_make(p, len), "t.edi", &h, r);
}

static const struct diag *
has(const struct run *r, const char *code)
{
	int	 i;

	for (i = 0; i < r->nd; i++)
		if (strcmp(r->d[i].code, code) == 0)
			return &r->d[i];
	return NULL;
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*p;
	long	 n;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = xmalloc((size_t)n + 1);
	*lenp = fread(p, 1, (size_t)n, fp);
	fclose(fp);
	return p;
}

static const char *
corpus_dir(char *buf, size_t len)
{
	const char *sh = getenv("EDIGATE_SHARED");
	const char *top = getenv("top_srcdir");

	if (sh && *sh)
		snprintf(buf, len, "%s/corpus/public/x12", sh);
	else
		snprintf(buf, len, "%s/../shared/corpus/public/x12",
		    top ? top : ".");
	return buf;
}

/* -- corpus delimiters ------------------------------------------------- */

static const struct {
	const char	*file;
	char		 es, cs, rs, term;
	int		 nsets;
	long		 nseg;
} flavours[] = {
	{ "850_4010_BOM_NBSP-in-ISA_IEA-mismatch.edi", '*', '>', 0, '~', 1, 15 },
	{ "850_003010_bang-terminator_at-component.edi", '*', '@', 0, '!', 1, 31 },
	{ "856_002001_two-ST_SHTIP-levels_bang-terminator.edi", '*', '@', 0,
	    '!', 2, 70 },
	{ "856_4010_dollar-terminator_mixed-tilde.edi", '*', '{', 0, '$', 1, 26 },
	{ "850_4010_pipe-terminator_tilde-component_CRLF-indented.edi", '*',
	    '~', 0, '|', 1, 40 },
	{ "856_4010_tilde-element_star-terminator_backtick-component.edi", '~',
	    '`', 0, '*', 1, 29 },
	{ "850_4010vics_newline-terminated_no-tilde.edi", '*', '>', 0, '\n', 1,
	    37 },
	{ "855_4010_newline-terminator_BOM.edi", '*', '>', 0, '\r', 1, 47 },
	{ "856_00406_dash-repetition-separator_SOI.edi", '*', '>', '-', '~', 1,
	    35 },
	{ "999_005010X231_accepted_bang-repetition.edi", '*', ':', '!', '~', 1,
	    10 },
	{ "810_00403_two-invoices_caret-repetition.edi", '*', ':', '^', '~', 2,
	    50 },
	{ "850_005010_GS01-OW-mismatch.edi", '*', '>', 0, '~', 1, 20 },
	{ "855_4010_brace-component.edi", '*', '{', 0, '~', 1, 11 },
	{ "997_ISB-ISE-optional-interchange-segments.edi", '*', '>', 0, '~', 1,
	    10 },
	{ "850_4010_slash-slash-comments.edi", '*', '>', 0, '~', 1, 12 },
	{ "TA1_interchange-ack-only.edi", '*', ':', '^', '~', 1, 3 },
};

static void
test_corpus(void)
{
	char	 dir[1024], path[1200];
	struct edi_delims d;
	struct run *r = xcalloc(1, sizeof(*r));
	size_t	 i, len;
	char	*p;
	long	 off;

	corpus_dir(dir, sizeof(dir));
	for (i = 0; i < sizeof(flavours) / sizeof(flavours[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, flavours[i].file);
		if ((p = read_file(path, &len)) == NULL) {
			ok(1, "# SKIP %s not found", path);
			continue;
		}
		off = x12_delims(slice_make(p, len), &d);
		ok(off >= 0 && d.element == flavours[i].es &&
		    d.component == flavours[i].cs &&
		    d.repetition == flavours[i].rs &&
		    d.segment == flavours[i].term,
		    "delims %s: el '%c' comp '%c' rep '%c' seg 0x%02x",
		    flavours[i].file, d.element, d.component,
		    d.repetition ? d.repetition : '0', (unsigned char)d.segment);
		is_int(x12_count_segments(slice_make(p, len)),
		    flavours[i].nseg, "segment count %s", flavours[i].file);
		is_int(run(r, p, len), 0, "parse %s", flavours[i].file);
		is_int(r->nsets, flavours[i].nsets, "sets in %s",
		    flavours[i].file);
		free(p);
	}
	/* A few files in detail. */
	snprintf(path, sizeof(path), "%s/%s", dir,
	    "850_4010_BOM_NBSP-in-ISA_IEA-mismatch.edi");
	if ((p = read_file(path, &len)) != NULL) {
		const struct diag *dg;

		run(r, p, len);
		dg = has(r, "X12-IEA-CONTROL");
		ok(dg && strcmp(dg->ack_ta1, "001") == 0 && dg->filepos == 15,
		    "NBSP file: IEA02 mismatch, TA105 001, segment 15");
		dg = has(r, "X12-ISA-FIELD");
		ok(dg && dg->el == 2 && strstr(dg->msg, "non-ASCII"),
		    "NBSP file: ISA02 padding reported");
		is_int(r->ics_bad, 1, "NBSP file: interchange rejected");
		is_int(r->nrejected, 0, "NBSP file: the set itself is fine");
		free(p);
	}
	snprintf(path, sizeof(path), "%s/%s", dir,
	    "940_two-interchanges-four-groups_unpadded-IEA02.edi");
	if ((p = read_file(path, &len)) != NULL) {
		const struct diag *dg;

		run(r, p, len);
		dg = has(r, "X12-IEA-CONTROL");
		ok(dg && strstr(dg->msg, "numerically equal") != NULL,
		    "unpadded IEA02: error says numerically equal");
		is_int(r->nsets, 6, "940 file: 6 sets");
		is_int(r->groups_ok, 4, "940 file: 4 groups");
		is_int(r->ics_bad, 2, "940 file: both interchanges rejected");
		free(p);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, "TA1_interchange-ack-only.edi");
	if ((p = read_file(path, &len)) != NULL) {
		run(r, p, len);
		is_str(r->doctypes, "TA1", "TA1 delivered as a pseudo-set");
		ok(r->ta1_nseg == 1 && r->ta1_group_null,
		    "TA1 pseudo-set: one segment, no group");
		ok(has(r, "X12-IEA-COUNT") != NULL, "TA1 file: IEA01=1 with no "
		    "groups reported");
		free(p);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, "not-edi_garbage.edi");
	if ((p = read_file(path, &len)) != NULL) {
		is_int(run(r, p, len), EG_ERR_SYNTAX, "garbage: EG_ERR_SYNTAX");
		ok(has(r, "X12-NOT-EDI") && r->d[0].scope == DIAG_SCOPE_FILE,
		    "garbage: X12-NOT-EDI, file scope");
		ok(translator_sniff(slice_make(p, len)) == NULL,
		    "garbage: no translator sniffs it");
		free(p);
	}
	free(r);
}

/* -- crafted envelopes -------------------------------------------------- */

#define ISA_OK	"ISA*00*          *00*          *ZZ*SENDER         " \
		"*ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*P*:~"
#define GS_OK	"GS*PO*SND*RCV*20240101*1200*1*X*005010~"
#define SET_OK	"ST*850*0001~BEG*00*SA*PO1**20240101~SE*3*0001~"
#define TAIL_OK	"GE*1*1~IEA*1*000000001~"

static const struct {
	const char	*name;
	const char	*text;
	const char	*code;		/* NULL: no diagnostic at all */
	enum diag_scope	 scope;
	int		 ack_seg;
	const char	*ta1;
} env_cases[] = {
	{ "valid", ISA_OK GS_OK SET_OK TAIL_OK, NULL, 0, 0, NULL },
	{ "valid newline terminator",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240101*1200*U*00401*000000001*0*P*>\r\n"
	    "GS*PO*SND*RCV*20240101*1200*1*X*004010\r\nST*850*0001\r\n"
	    "BEG*00*SA*PO1**20240101\r\nSE*3*0001\r\nGE*1*1\r\n"
	    "IEA*1*000000001\r\n", NULL, 0, 0, NULL },
	{ "valid BOM + indentation", "\xEF\xBB\xBF" ISA_OK "\n  " GS_OK "\n    "
	    SET_OK "\n" TAIL_OK "\n", NULL, 0, 0, NULL },
	{ "ISB/ISE accepted", ISA_OK "ISB*1~ISE*200601*0515*04~" GS_OK SET_OK
	    TAIL_OK, NULL, 0, 0, NULL },
	{ "IEA01 count", ISA_OK GS_OK SET_OK "GE*1*1~IEA*2*000000001~",
	    "X12-IEA-COUNT", DIAG_SCOPE_INTERCHANGE, 0, "021" },
	{ "IEA02 control", ISA_OK GS_OK SET_OK "GE*1*1~IEA*1*000000002~",
	    "X12-IEA-CONTROL", DIAG_SCOPE_INTERCHANGE, 0, "001" },
	{ "IEA missing", ISA_OK GS_OK SET_OK "GE*1*1~", "X12-IEA-MISSING",
	    DIAG_SCOPE_INTERCHANGE, 0, "023" },
	{ "GE01 count", ISA_OK GS_OK SET_OK "GE*2*1~IEA*1*000000001~",
	    "X12-GE-COUNT", DIAG_SCOPE_GROUP, 5, "024" },
	{ "GE02 control", ISA_OK GS_OK SET_OK "GE*1*7~IEA*1*000000001~",
	    "X12-GE-CONTROL", DIAG_SCOPE_GROUP, 4, "024" },
	{ "GE missing", ISA_OK GS_OK SET_OK "IEA*1*000000001~",
	    "X12-GE-MISSING", DIAG_SCOPE_GROUP, 3, "023" },
	{ "SE01 count", ISA_OK GS_OK "ST*850*0001~BEG*00*SA*PO1**20240101~"
	    "SE*4*0001~" TAIL_OK, "X12-SE-COUNT", DIAG_SCOPE_SET, 4, NULL },
	{ "SE02 control", ISA_OK GS_OK "ST*850*0001~BEG*00*SA*PO1**20240101~"
	    "SE*3*0002~" TAIL_OK, "X12-SE-CONTROL", DIAG_SCOPE_SET, 3, NULL },
	{ "SE missing", ISA_OK GS_OK "ST*850*0001~BEG*00*SA*PO1**20240101~"
	    TAIL_OK, "X12-SE-MISSING", DIAG_SCOPE_SET, 2, NULL },
	{ "ST02 duplicate", ISA_OK GS_OK SET_OK SET_OK "GE*2*1~"
	    "IEA*1*000000001~", "X12-ST-DUP", DIAG_SCOPE_SET, 23, NULL },
	{ "ST01 invalid", ISA_OK GS_OK "ST*85*0001~SE*2*0001~" TAIL_OK,
	    "X12-ST-FIELD", DIAG_SCOPE_SET, 6, NULL },
	{ "GS01/ST01 mismatch", ISA_OK "GS*SH*SND*RCV*20240101*1200*1*X*005010~"
	    SET_OK TAIL_OK, "X12-GS-ID", DIAG_SCOPE_GROUP, 0, NULL },
	{ "GS04 date", ISA_OK "GS*PO*SND*RCV*20241301*1200*1*X*005010~"
	    SET_OK TAIL_OK, "X12-GS-DATE", DIAG_SCOPE_GROUP, 0, "024" },
	{ "GS05 time", ISA_OK "GS*PO*SND*RCV*20240101*2561*1*X*005010~"
	    SET_OK TAIL_OK, "X12-GS-TIME", DIAG_SCOPE_GROUP, 0, "024" },
	{ "GS02 blank", ISA_OK "GS*PO*  *RCV*20240101*1200*1*X*005010~"
	    SET_OK TAIL_OK, "X12-GS-FIELD", DIAG_SCOPE_GROUP, 0, "024" },
	{ "ISA13 not 9 digits",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240101*1200*^*00501*00000001X*0*P*:~" GS_OK SET_OK
	    "GE*1*1~IEA*1*00000001X~", "X12-ISA-FIELD", DIAG_SCOPE_INTERCHANGE,
	    0, "018" },
	{ "ISA14 value",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240101*1200*^*00501*000000001*2*P*:~" GS_OK SET_OK TAIL_OK,
	    "X12-ISA-FIELD", DIAG_SCOPE_INTERCHANGE, 0, "019" },
	{ "ISA15 value",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240101*1200*^*00501*000000001*0*X*:~" GS_OK SET_OK TAIL_OK,
	    "X12-ISA-FIELD", DIAG_SCOPE_INTERCHANGE, 0, "020" },
	{ "ISA09 date",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240231*1200*^*00501*000000001*0*P*:~" GS_OK SET_OK TAIL_OK,
	    "X12-ISA-DATE", DIAG_SCOPE_INTERCHANGE, 0, "014" },
	{ "ISA10 time",
	    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
	    "       *240101*2400*^*00501*000000001*0*P*:~" GS_OK SET_OK TAIL_OK,
	    "X12-ISA-TIME", DIAG_SCOPE_INTERCHANGE, 0, "015" },
	{ "ISA06 unpadded",
	    "ISA*00*          *00*          *ZZ*SENDER*ZZ*RECEIVER"
	    "       *240101*1200*^*00501*000000001*0*P*:~" GS_OK SET_OK TAIL_OK,
	    "X12-ISA-FIELD", DIAG_SCOPE_INTERCHANGE, 0, "006" },
	{ "segment between groups", ISA_OK "ZZZ*1~" GS_OK SET_OK TAIL_OK,
	    "X12-UNEXPECTED", DIAG_SCOPE_INTERCHANGE, 0, "024" },
	{ "segment between sets", ISA_OK GS_OK "ZZZ*1~" SET_OK TAIL_OK,
	    "X12-UNEXPECTED", DIAG_SCOPE_GROUP, 0, "024" },
	{ "segment after IEA", ISA_OK GS_OK SET_OK TAIL_OK "ZZZ*1~",
	    "X12-OUTSIDE", DIAG_SCOPE_FILE, 0, NULL },
	{ "ST without GS", ISA_OK SET_OK "IEA*0*000000001~", "X12-NO-GROUP",
	    DIAG_SCOPE_INTERCHANGE, 18, "024" },
	{ "comment line", ISA_OK "\n// hello\n" GS_OK SET_OK TAIL_OK,
	    "X12-COMMENT", DIAG_SCOPE_INTERCHANGE, 0, NULL },
	{ "bad tag", ISA_OK GS_OK "ST*850*0001~b@d*1~SE*3*0001~" TAIL_OK,
	    "X12-SEG-TAG", DIAG_SCOPE_SET, 1, NULL },
	{ "duplicate ISA13", ISA_OK GS_OK SET_OK TAIL_OK ISA_OK GS_OK SET_OK
	    TAIL_OK, "X12-ISA-DUP", DIAG_SCOPE_INTERCHANGE, 0, "025" },
	{ "ISA with 15 separators", "ISA*00*          *00*          *ZZ*SENDER"
	    "         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*P:~",
	    "X12-ISA", DIAG_SCOPE_FILE, 0, "022" },
	{ "empty", "", "X12-EMPTY", DIAG_SCOPE_FILE, 0, NULL },
};

static void
test_envelopes(void)
{
	struct run *r = xcalloc(1, sizeof(*r));
	const struct diag *d;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
		rc = run(r, env_cases[i].text, strlen(env_cases[i].text));
		if (env_cases[i].code == NULL) {
			ok(rc == 0 && r->nd == 0 && r->nsets >= 1,
			    "%s: no diagnostic (rc %d, %d diags%s%s)",
			    env_cases[i].name, rc, r->nd, r->nd ? ", first " :
			    "", r->nd ? r->d[0].code : "");
			continue;
		}
		d = has(r, env_cases[i].code);
		ok(d != NULL, "%s: %s", env_cases[i].name, env_cases[i].code);
		if (d == NULL) {
			if (r->nd)
				printf("#   first diag: %s %s\n", r->d[0].code,
				    r->d[0].msg);
			continue;
		}
		ok(d->scope == env_cases[i].scope &&
		    d->ack_seg == env_cases[i].ack_seg &&
		    strcmp(d->ack_ta1, env_cases[i].ta1 ? env_cases[i].ta1 : "")
		    == 0, "%s: scope %d ack_seg %d ta1 \"%s\"",
		    env_cases[i].name, d->scope, d->ack_seg, d->ack_ta1);
	}

	/* Rejection scopes. */
	run(r, ISA_OK GS_OK "ST*850*0009~SE*9*0009~" SET_OK
	    "GE*2*1~IEA*1*000000001~", strlen(ISA_OK GS_OK
	    "ST*850*0009~SE*9*0009~" SET_OK "GE*2*1~IEA*1*000000001~"));
	ok(r->nsets == 2 && r->nrejected == 1 && r->groups_ok == 1 &&
	    r->ics_ok == 1, "a set error rejects only that set");
	run(r, ISA_OK GS_OK SET_OK "GE*1*9~IEA*1*000000001~",
	    strlen(ISA_OK GS_OK SET_OK "GE*1*9~IEA*1*000000001~"));
	ok(r->groups_bad == 1 && r->ics_ok == 1 && r->nrejected == 0,
	    "a group error rejects the group, not the interchange");

	/*
	 * GS01/ST01 pairs: the last pair's answer is kept for the next ST,
	 * a warning as well as none, across groups; other pairs are asked.
	 */
	{
		const char *t = ISA_OK GS_OK SET_OK
		    "ST*810*0002~BIG*20240101*1~SE*3*0002~" SET_OK
		    "ST*810*0004~BIG*20240101*1~SE*3*0004~GE*4*1~"
		    "GS*SH*SND*RCV*20240101*1200*2*X*005010~" SET_OK SET_OK
		    "ST*85*0003~SE*2*0003~GE*3*2~"
		    "GS*ZZ*SND*RCV*20240101*1200*3*X*005010~" SET_OK
		    "ST*999*0002~SE*2*0002~GE*2*3~"
		    "GS*FA*SND*RCV*20240101*1200*4*X*005010~"
		    "ST*999*0001~SE*2*0001~ST*997*0002~SE*2*0002~"
		    "ST*850*0003~SE*2*0003~GE*3*4~IEA*4*000000001~";
		int	 n = 0;

		run(r, t, strlen(t));
		for (i = 0; i < (size_t)r->nd; i++)
			n += strcmp(r->d[i].code, "X12-GS-ID") == 0;
		/*
		 * 810 twice under PO; 850 twice and 85 under SH; 850 and
		 * 999 under ZZ (known elsewhere); 850 under FA
		 */
		is_int(n, 8, "X12-GS-ID for each ST whose ST01 its GS01 does "
		    "not carry, repeated pairs included");
	}

	/*
	 * ST02 duplicates while the numbers rise (kept in a run), after one
	 * that does not (the run hashed), and in the next group.
	 */
	{
		const char *t = ISA_OK GS_OK SET_OK
		    "ST*850*0003~BEG*00*SA*PO1**20240101~SE*3*0003~"
		    "ST*850*0003~BEG*00*SA*PO1**20240101~SE*3*0003~"
		    "ST*850*0002~BEG*00*SA*PO1**20240101~SE*3*0002~"
		    "ST*850*00003~BEG*00*SA*PO1**20240101~SE*3*00003~"
		    "ST*850*0001~BEG*00*SA*PO1**20240101~SE*3*0001~GE*6*1~"
		    "GS*PO*SND*RCV*20240101*1200*2*X*005010~" SET_OK
		    "ST*850*A001~BEG*00*SA*PO1**20240101~SE*3*A001~"
		    "ST*850*0002~BEG*00*SA*PO1**20240101~SE*3*0002~"
		    "ST*850*A001~BEG*00*SA*PO1**20240101~SE*3*A001~GE*4*2~"
		    "IEA*2*000000001~";
		int	 n = 0;

		run(r, t, strlen(t));
		for (i = 0; i < (size_t)r->nd; i++)
			n += strcmp(r->d[i].code, "X12-ST-DUP") == 0;
		/* 0003 again, 0001 again; A001 again */
		is_int(n, 3, "X12-ST-DUP in rising numbers, after one out of "
		    "order, and in the next group");
	}

	/* Positions: ISA = 1, ST = setpos 1. */
	run(r, ISA_OK GS_OK SET_OK TAIL_OK, strlen(ISA_OK GS_OK SET_OK TAIL_OK));
	ok(r->last_filepos[0] == 3 && r->last_setpos[0] == 1 &&
	    r->last_filepos[1] == 4 && r->last_setpos[1] == 2,
	    "filepos counts from ISA, setpos from ST");

	/* Handler stop. */
	memset(r, 0, sizeof(*r));
	{
		struct edi_handler h = { on_set, on_group, on_ic, NULL, NULL };
		const char *t = ISA_OK GS_OK SET_OK
		    "ST*850*0002~BEG*00*SA*PO2**20240101~SE*3*0002~"
		    "GE*2*1~IEA*1*000000001~";
		r->stop_after = 1;
		rc = translator_x12.parse(slice_make(t, strlen(t)), NULL, &h, r);
		ok(rc == EG_ERR_REJECTED && r->nsets == 1,
		    "a handler's negative return stops the parse");
	}
	free(r);
}

/* -- values ------------------------------------------------------------- */

static int
values_set(void *arg, struct edi_set *s)
{
	const struct edi_seg *seg = &s->seg[1];
	const struct slice *v;
	int	*n = arg;

	tagpad_set(s);
	(*n)++;
	is_str(seg->tag, "PO1", "values: tag");
	is_int(seg->nel, 7, "values: nel counts trailing empty element");
	v = edi_value(seg, 2, 0, 0);
	ok(v && slice_eqs(*v, "10"), "values: PO102 == PO102-01");
	ok(edi_value(seg, 3, 1, 1) == NULL, "values: empty PO103 is absent");
	v = edi_value(seg, 4, 2, 1);
	ok(v && slice_eqs(*v, "B"), "values: composite component 2");
	v = edi_value(seg, 5, 1, 1);
	ok(v && slice_eqs(*v, "X^Y"), "values: repetition kept whole before "
	    "tree build");
	is_int(edi_nrep(seg, 5), 1, "values: nrep 1 without structure");
	is_int(edi_nrep(seg, 9), 0, "values: nrep of absent element");
	ok(slice_eqs(seg->raw, "PO1*1*10**A:B*X^Y*Z*"), "values: raw slice");
	return 0;
}

static void
test_values(void)
{
	const char *t = ISA_OK GS_OK "ST*850*0001~PO1*1*10**A:B*X^Y*Z*~"
	    "SE*3*0001~" TAIL_OK;
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	struct edi_handler h = { values_set, NULL, NULL, &ds, NULL };
	int	 n = 0;

	is_int(translator_x12.parse(slice_make(t, strlen(t)), NULL, &h, &n), 0,
	    "values: parse");
	is_int(n, 1, "values: one set");
	ok(edi_valid_date(SLICE_LIT("20240229"), 0) &&
	    !edi_valid_date(SLICE_LIT("20230229"), 0) &&
	    edi_valid_date(SLICE_LIT("240101"), 1) &&
	    !edi_valid_date(SLICE_LIT("240101"), 0), "dates");
	ok(edi_valid_time(SLICE_LIT("2359")) &&
	    edi_valid_time(SLICE_LIT("235959")) &&
	    edi_valid_time(SLICE_LIT("23595912")) &&
	    !edi_valid_time(SLICE_LIT("2460")) &&
	    !edi_valid_time(SLICE_LIT("12")), "times");
	ok(translator_find("x12") == &translator_x12 &&
	    translator_find("nope") == NULL, "translator_find");
	ok(translator_sniff(SLICE_LIT(ISA_OK)) == &translator_x12,
	    "translator_sniff");
}

/*
 * Tags of every length, by each way a segment is split: the block loop,
 * the general split (a bad tag), a tag of sixteen bytes or more, a NUL
 * byte in a tag, a segment past EG_MAX_SEGMENT_LEN (only its tag read).
 */
static void
test_tagpad(const char *loop)
{
	static const char body[] = "ST*850*0001~BEG*00*SA*1**20240101~"
	    "N1*ST*X~X*1~ABCD*2~ABCDEFGHIJKLMNOPQRS*3~*4~PO1*1*2~";
	struct run *r = xcalloc(1, sizeof(*r));
	char	*t, *big, *q;
	size_t	 n = 4 * (size_t)EG_MAX_SEGMENT_LEN + 1024, len;
	unsigned bad = tagpad_bad, segs = tagpad_segs;

	t = xmalloc(n);
	big = tagpad_big("N9*");
	snprintf(t, n, "%s%s%sSE*9*0001~%s", ISA_OK, GS_OK, body, TAIL_OK);
	(void)run(r, t, strlen(t));
	snprintf(t, n, "%s%sST*850*0001~%s~N1*ST~SE*4*0001~%s", ISA_OK,
	    GS_OK, big, TAIL_OK);
	(void)run(r, t, strlen(t));
	/* a NUL byte in a tag: "A", "B" */
	snprintf(t, n, "%s%sST*850*0001~A@B*1~B@*2~SE*4*0001~%s", ISA_OK,
	    GS_OK, TAIL_OK);
	len = strlen(t);
	while ((q = memchr(t, '@', len)) != NULL)
		*q = '\0';
	(void)run(r, t, len);
	ok(tagpad_segs >= segs + 23 && tagpad_bad == bad,
	    "tags of 0 to 19 bytes NUL-padded, every split (%s)", loop);
	free(big);
	free(t);
	free(r);
}

/* -- streaming and limits ----------------------------------------------- */

static void
test_streaming(void)
{
	struct run *r = xcalloc(1, sizeof(*r));
	struct buf b;
	int	 i, rc;
	const int nsets = 100000;

	buf_init(&b, 64U * 1024 * 1024);
	buf_adds(&b, ISA_OK GS_OK);
	for (i = 1; i <= nsets; i++)
		buf_printf(&b, "ST*850*%06d~BEG*00*SA*PO%d**20240101~"
		    "PO1*1*10*EA*1.5**VN*ABC~PO1*2*10*EA*1.5**VN*DEF~CTT*2~"
		    "SE*6*%06d~", i, i, i);
	buf_printf(&b, "GE*%d*1~IEA*1*000000001~", nsets);
	rc = run(r, b.p, b.len);
	is_int(rc, 0, "streaming: parse %zu bytes", b.len);
	is_int(r->nsets, nsets, "streaming: %d sets", nsets);
	is_int(r->nd, 0, "streaming: no diagnostics");
	ok(r->arena_peak > 0 && r->arena_peak < 4096,
	    "streaming: per-set arena peak %zu bytes (reset after each set)",
	    r->arena_peak);
	is_int(x12_count_segments(slice_make(b.p, b.len)), 4 + nsets * 6,
	    "streaming: x12_count_segments");
	buf_free(&b);
	free(r);
}

static void
test_limits(void)
{
	struct run *r = xcalloc(1, sizeof(*r));
	struct buf b;
	size_t	 i;
	int	 rc;

	buf_init(&b, 1024 * 1024);
	buf_adds(&b, ISA_OK GS_OK "ST*850*0001~MSG*");
	for (i = 0; i < EG_MAX_SEGMENT_LEN + 10; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "~SE*3*0001~" TAIL_OK);
	rc = run(r, b.p, b.len);
	ok(rc == 0 && has(r, "X12-SEG-LONG") && r->nsets == 1 &&
	    r->nrejected == 1, "oversize segment: diagnostic, set rejected");

	buf_reset(&b);
	buf_adds(&b, ISA_OK GS_OK "ST*850*0001~MSG");
	for (i = 0; i < 200; i++)
		buf_adds(&b, "*x");
	buf_adds(&b, "~SE*3*0001~" TAIL_OK);
	run(r, b.p, b.len);
	ok(has(r, "X12-SEG-VALUES") && r->nrejected == 1,
	    "too many elements: diagnostic, set rejected");

	buf_reset(&b);
	buf_adds(&b, ISA_OK GS_OK "ST*850*0001~MSG*");
	for (i = 0; i < EG_MAX_SEG_VALUES + 5; i++)
		buf_adds(&b, "a:");
	buf_adds(&b, "~SE*3*0001~" TAIL_OK);
	run(r, b.p, b.len);
	ok(has(r, "X12-SEG-VALUES") != NULL, "too many values: diagnostic");

	/* More than EG_MAX_SET_SEGMENTS segments: kept up to the limit,
	 * counted to the end, so SE01 is still checked. */
	{
		struct buf big;
		size_t	 n = EG_MAX_SET_SEGMENTS + 10;
		int	 nlimit = 0, k;
		char	 se[64];

		buf_init(&big, n * 5 + 4096);
		buf_adds(&big, ISA_OK GS_OK "ST*850*0001~");
		for (i = 0; i < n; i++)
			buf_add(&big, "N9*1~", 5);
		snprintf(se, sizeof(se), "SE*%zu*0001~", n + 2);
		buf_adds(&big, se);
		buf_adds(&big, TAIL_OK);
		run(r, big.p, big.len);
		for (k = 0; k < r->nd; k++)
			if (strcmp(r->d[k].code, "X12-SET-LIMIT") == 0)
				nlimit++;
		ok(nlimit == 1 && has(r, "X12-SE-COUNT") == NULL &&
		    r->nsets == 1 && r->nrejected == 1,
		    "EG_MAX_SET_SEGMENTS: one X12-SET-LIMIT, SE01 still "
		    "checked, set rejected");
		buf_free(&big);
	}

	/*
	 * More than EG_MAX_SET_SIZE bytes: the segment that crosses it is
	 * split into its slot by the fast path, then refused there
	 * (fast_limit()); the rest are counted, SE is kept, SE01 checked.
	 */
	{
		struct buf big;
		const size_t seglen = 60004;	/* N9*, 60000 x, ~ */
		size_t	 n = EG_MAX_SET_SIZE / seglen + 2, fit;
		char	*chunk = xmalloc(seglen);
		const struct diag *dg;
		char	 se[64];

		memcpy(chunk, "N9*", 3);
		memset(chunk + 3, 'x', seglen - 4);
		chunk[seglen - 1] = '~';
		buf_init(&big, n * seglen + 4096);
		buf_adds(&big, ISA_OK GS_OK "ST*850*0001~");
		for (i = 0; i < n; i++)
			buf_add(&big, chunk, seglen);
		snprintf(se, sizeof(se), "SE*%zu*0001~", n + 2);
		buf_adds(&big, se);
		buf_adds(&big, TAIL_OK);
		/* segment i (from 0) ends 12 + (i + 1) * seglen - 1 bytes
		 * past ST: those within EG_MAX_SET_SIZE are kept */
		fit = (EG_MAX_SET_SIZE - 12 + 1) / seglen;
		run(r, big.p, big.len);
		dg = has(r, "X12-SET-LIMIT");
		ok(dg != NULL && strstr(dg->msg, "EG_MAX_SET_SIZE") != NULL &&
		    has(r, "X12-SE-COUNT") == NULL && r->nsets == 1 &&
		    r->nrejected == 1 && r->segs == fit + 2,
		    "EG_MAX_SET_SIZE: X12-SET-LIMIT at the segment that crosses "
		    "it, SE kept and SE01 checked (%u segments kept)", r->segs);
		buf_free(&big);
		free(chunk);
	}

	/* Truncated inputs never crash. */
	{
		const char *t = ISA_OK GS_OK SET_OK TAIL_OK;
		size_t	 n = strlen(t), cut;
		int	 crashed = 0;

		for (cut = 0; cut < n; cut++) {
			char *p = xmalloc(cut ? cut : 1);
			memcpy(p, t, cut);
			rc = run(r, p, cut);
			if (rc != 0 && rc != EG_ERR_SYNTAX)
				crashed = 1;
			free(p);
		}
		ok(!crashed, "every truncation of a valid interchange parses "
		    "or is refused cleanly");
	}
	buf_free(&b);
	free(r);
}

/*
 * The parser's one-pass path reads a segment 32 bytes per step: the same
 * values wherever separators, empty values and the terminator fall in a
 * step, for two- and three-letter tags.
 */
struct edges {
	char	 got[512];
};

static int
edges_set(void *arg, struct edi_set *s)
{
	struct edges *e = arg;
	const struct edi_seg *seg;
	size_t	 n;
	uint32_t i;
	uint16_t k;

	tagpad_set(s);
	for (i = 0; i < s->nseg; i++) {
		seg = &s->seg[i];
		if (strcmp(seg->tag, "PO1") != 0 && strcmp(seg->tag, "N1") != 0)
			continue;
		n = strlen(e->got);
		snprintf(e->got + n, sizeof(e->got) - n, "%s:", seg->tag);
		for (k = 0; k < seg->nval; k++) {
			n = strlen(e->got);
			snprintf(e->got + n, sizeof(e->got) - n, "%u.%u=%.*s;",
			    seg->val[k].el, seg->val[k].comp,
			    (int)seg->val[k].s.len, seg->val[k].s.p);
		}
		n = strlen(e->got);
		snprintf(e->got + n, sizeof(e->got) - n, "nel=%u|", seg->nel);
	}
	return 0;
}

static void
test_block_edges(const char *loop)
{
	static const struct {
		const char	*pre, *post;	/* the segment: pre pad post */
		const char	*wpre, *wpost;	/* its values: wpre pad wpost */
	} cases[] = {
		{ "PO1*1*", "A:B**C:*D", "PO1:1.1=1;2.1=",
		    "A;2.2=B;4.1=C;5.1=D;nel=5|" },
		{ "PO1*", "", "PO1:1.1=", ";nel=1|" },
		{ "PO1*", "*", "PO1:1.1=", ";nel=2|" },
		{ "N1*ST*", ":::X", "N1:1.1=ST;2.1=", ";2.4=X;nel=2|" },
		{ "N1*", "**", "N1:1.1=", ";nel=3|" },
	};
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	struct edi_handler h = { edges_set, NULL, NULL, &ds, NULL };
	struct edges e;
	char	 in[512], want[256], pad[80];
	size_t	 c;
	int	 n, bad;

	memset(pad, 'x', sizeof(pad));
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		/* padding 1..70: an empty value is not a value */
		for (bad = 0, n = 1; n <= 70; n++) {
			snprintf(in, sizeof(in), "%s%s%s%.*s%s~SE*3*0001~%s",
			    ISA_OK GS_OK, "ST*850*0001~", cases[c].pre, n,
			    pad, cases[c].post, TAIL_OK);
			snprintf(want, sizeof(want), "%s%.*s%s",
			    cases[c].wpre, n, pad, cases[c].wpost);
			memset(&e, 0, sizeof(e));
			if (translator_x12.parse(slice_make(in, strlen(in)),
			    NULL, &h, &e) != 0 || strcmp(e.got, want) != 0) {
				if (bad++ == 0)
					printf("# padding %d: got %s\n"
					    "#  want %s\n", n, e.got, want);
			}
		}
		ok(bad == 0, "block edges (%s): %s<pad>%s at 70 offsets",
		    loop, cases[c].pre, cases[c].post);
	}
}

/*
 * A set whose values fill several of the arena's chunks: the fast path's
 * value window closes at each chunk's end (the segment that does not fit
 * goes through the general path, which starts the next chunk) and every
 * segment keeps its own values.
 */
#define CHUNK_SEGS	1500
#define CHUNK_VALS	20

struct chunks {
	unsigned	 sets, bad;
	uint32_t	 nseg;
};

static int
chunks_set(void *arg, struct edi_set *s)
{
	struct chunks *c = arg;
	const struct edi_seg *seg;
	char	 want[32];
	uint32_t i;
	uint16_t k;

	tagpad_set(s);
	c->sets++;
	c->nseg = s->nseg;
	for (i = 1; i + 1 < s->nseg; i++) {
		seg = &s->seg[i];
		if (strcmp(seg->tag, "REF") != 0 || seg->nval != CHUNK_VALS ||
		    seg->setpos != i + 1) {
			c->bad++;
			continue;
		}
		for (k = 0; k < seg->nval; k++) {
			snprintf(want, sizeof(want), "V%ux%u", i, k);
			if (seg->val[k].el != k + 1 || seg->val[k].s.len !=
			    strlen(want) || memcmp(seg->val[k].s.p, want,
			    seg->val[k].s.len) != 0)
				c->bad++;
		}
	}
	return 0;
}

static void
test_window_chunks(const char *loop)
{
	struct diag_sink ds = { NULL, NULL, 0, 0 };
	struct edi_handler h = { chunks_set, NULL, NULL, &ds, NULL };
	struct chunks c;
	struct buf b;
	char	 t[64];
	unsigned i, k;

	buf_init(&b, 1U << 24);
	buf_adds(&b, ISA_OK GS_OK "ST*850*0001~");
	for (i = 1; i <= CHUNK_SEGS; i++) {
		buf_adds(&b, "REF");
		for (k = 0; k < CHUNK_VALS; k++) {
			snprintf(t, sizeof(t), "*V%ux%u", i, k);
			buf_adds(&b, t);
		}
		buf_addc(&b, '~');
	}
	snprintf(t, sizeof(t), "SE*%u*0001~", CHUNK_SEGS + 2);
	buf_adds(&b, t);
	buf_adds(&b, TAIL_OK);
	memset(&c, 0, sizeof(c));
	ok(translator_x12.parse(slice_make(b.p, b.len), NULL,
	    &h, &c) == 0 && ds.nerror == 0 && c.sets == 1 &&
	    c.nseg == CHUNK_SEGS + 2 && c.bad == 0, "values over several "
	    "arena chunks (%s): every segment's own, in order", loop);
	buf_free(&b);
}

/* Where the arena's next allocation starts: values written there are
 * claimed in place by setbuf_valclaim(). */
static struct edi_val *
chunk_free(struct arena *a)
{
	return (struct edi_val *)(void *)(a->head->data + a->head->off);
}

/*
 * setbuf_slot(), setbuf_add_slot() and setbuf_valclaim(): the fast path's
 * in-place segment and values at the limits the corpus never reaches.
 */
static void
test_setbuf_slot(void)
{
	struct setbuf b;
	struct edi_seg seg, *s;
	struct arena a;
	struct edi_val *v = NULL;
	enum setbuf_why why = 0;

	memset(&b, 0, sizeof(b));
	memset(&seg, 0, sizeof(seg));
	setbuf_begin(&b, 100);
	ok(setbuf_slot(&b) == NULL, "setbuf_slot: none before seg[] grows");
	s = setbuf_add(&b, &seg, 110, 1, &why);
	ok(s == &b.seg[0] && (s = setbuf_slot(&b)) == &b.seg[1],
	    "setbuf_slot: the next slot");
	ok(setbuf_add_slot(&b, s, 120) == s && b.nseg == 2 && b.count == 2 &&
	    s->setpos == 2 && b.end == 120, "setbuf_add_slot: kept as "
	    "setbuf_add() keeps it");
	s = setbuf_slot(&b);
	ok(s != NULL && setbuf_add_slot(&b, s, 101 + EG_MAX_SET_SIZE) ==
	    NULL && b.nseg == 2 && b.count == 2 && b.end == 120,
	    "setbuf_add_slot: past EG_MAX_SET_SIZE, nothing changed");
	s = setbuf_add(&b, &seg, 101 + EG_MAX_SET_SIZE, 0, &why);
	ok(s == NULL && why == SETBUF_SIZE && setbuf_slot(&b) == NULL,
	    "then setbuf_add(): SETBUF_SIZE, and no slot once overflowed");
	setbuf_free(&b);

	arena_init(&a, 4096);
	ok(arena_alloc(&a, 16) != NULL && (v = chunk_free(&a)) != NULL,
	    "the chunk's free space");
	ok(setbuf_valclaim(&a, v, 4) == v && a.used == 16 + 96 &&
	    chunk_free(&a) == v + 4, "setbuf_valclaim: in "
	    "place");
	v = chunk_free(&a);
	ok(setbuf_valclaim(&a, v, 200) == NULL && a.used == 112,
	    "setbuf_valclaim: past the arena's cap, NULL");
	ok(setbuf_valclaim(&a, v, 166) == v && a.used == 4096,
	    "setbuf_valclaim: up to the arena's cap");
	v = chunk_free(&a);
	ok(v != NULL && setbuf_valclaim(&a, v, 1) == NULL && a.used == 4096,
	    "setbuf_valclaim: one more is refused");
	arena_free(&a);
}

/*
 * setbuf_vwroom(), setbuf_vwtake() and setbuf_vwclose(): a run of
 * segments' values claimed at once, within the arena's cap.
 */
static void
test_setbuf_window(void)
{
	struct setbuf_vwin w = { NULL, NULL, NULL };
	struct arena a;
	struct edi_val *v = NULL, *v2 = NULL;
	size_t	 cap = 0;

	arena_init(&a, 4096);
	ok(setbuf_vwroom(&a, &w, 1024, &cap) == NULL && w.p == NULL,
	    "setbuf_vwroom: no chunk, no window");
	ok(arena_alloc(&a, 16) != NULL && (v = setbuf_vwroom(&a, &w, 1024,
	    &cap)) != NULL && cap == 4080 / sizeof(*v),
	    "setbuf_vwroom: room up to the arena's cap");
	ok(setbuf_vwtake(&w, 0) == NULL && setbuf_vwroom(&a, &w, 1024,
	    &cap) == v, "setbuf_vwtake: no values take no room");
	ok(setbuf_vwtake(&w, 3) == v && (v2 = setbuf_vwroom(&a, &w, 1024,
	    &cap)) == (struct edi_val *)(void *)((char *)v + 80) &&
	    cap == 4000 / sizeof(*v) && a.used == 16,
	    "setbuf_vwtake: aligned, nothing claimed yet");
	ok(setbuf_vwtake(&w, cap - 1) == v2 && setbuf_vwroom(&a, &w, 1024,
	    &cap) != NULL && cap == 1 && w.end - w.p == 32,
	    "setbuf_vwroom: what is left under the cap");
	setbuf_vwclose(&a, &w);
	ok(w.p == NULL && a.used == 4064, "setbuf_vwclose: what was taken "
	    "is claimed");
	ok(setbuf_vwroom(&a, &w, 1024, &cap) != NULL && cap == 1 &&
	    arena_alloc(&a, 48) == NULL && arena_alloc(&a, 32) != NULL &&
	    a.used == 4096, "and the cap holds");
	setbuf_vwclose(&a, &w);
	ok(setbuf_vwroom(&a, &w, 1024, &cap) == NULL && w.p == NULL,
	    "setbuf_vwroom: none at the cap");
	arena_free(&a);
}

/* X12 sets offered (offer.h), and the ones that must not be. */
#define OST(n)	"ST*850*000" n "~BEG*00*SA*PO" n "**20240101~SE*3*000" n "~"

static void
test_offer(const char *loop)
{
	static const struct offer_case c[] = {
		{ "three sets", ISA_OK GS_OK OST("1") OST("2") OST("3")
		    "GE*3*1~IEA*1*000000001~", 3 },
		{ "CR LF between segments", ISA_OK "\r\n" GS_OK "\r\n"
		    "ST*850*0001~\r\nBEG*00*SA*PO1**20240101~\r\n"
		    "SE*3*0001~\r\n" OST("2") "\r\nGE*2*1~\r\n"
		    "IEA*1*000000001~\r\n", 2 },
		{ "a set without SE", ISA_OK GS_OK "ST*850*0001~BEG*00*SA*PO1"
		    "**20240101~" OST("2") "GE*2*1~IEA*1*000000001~", 1 },
		{ "a duplicate ST02", ISA_OK GS_OK OST("1") OST("1") OST("2")
		    "GE*3*1~IEA*1*000000001~", 2 },
		{ "ST02 not in a run, then a run", ISA_OK GS_OK OST("5")
		    OST("3") OST("4") OST("5") "GE*4*1~IEA*1*000000001~", 3 },
		{ "a bad ST01", ISA_OK GS_OK "ST*85*0001~BEG*00*SA*PO1"
		    "**20240101~SE*3*0001~" OST("2") "GE*2*1~IEA*1*000000001~",
		    1 },
		{ "a wrong SE count, a bad tag", ISA_OK GS_OK
		    "ST*850*0001~BEG*00*SA*PO1**20240101~SE*9*0001~"
		    "ST*850*0002~beg*00*SA*PO2**20240101~SE*3*0002~"
		    "ST*850*0003~BEG*00*SA*PO3**20240101~SE*3*0004~"
		    "GE*3*1~IEA*1*000000001~", 3 },
		{ "envelope segments inside a set", ISA_OK GS_OK
		    "ST*850*0001~GS*PO*SND*RCV*20240101*1200*2*X*005010~SE*3*0001~"
		    "ST*850*0002~BEG*00*SA*PO2**20240101~GE*1*1~"
		    "ST*850*0003~IEA*1*000000001~" ISA_OK GS_OK OST("4")
		    "GE*1*1~IEA*1*000000001~", 1 },
		{ "a comment line, an empty segment, SE~, SEX", ISA_OK GS_OK
		    "ST*850*0001~\n// a comment\nBEG*00*SA*PO1**20240101~"
		    "SE*3*0001~ST*850*0002~~SE*3*0002~"
		    "ST*850*0003~SE~ST*850*0004~SEX*1~SE*3*0004~" OST("5")
		    "GE*5*1~IEA*1*000000001~", 1 },
		{ "two groups, two interchanges, other delimiters", ISA_OK
		    GS_OK OST("1") "GE*1*1~"
		    "GS*PO*SND*RCV*20240101*1200*2*X*004010~" OST("2")
		    "GE*1*2~IEA*2*000000001~"
		    "ISA|00|          |00|          |ZZ|SENDER         "
		    "|ZZ|RECEIVER       |240101|1200|!|00501|000000002|0|P|>!"
		    "GS|PO|SND|RCV|20240101|1200|3|X|005010!"
		    "ST|850|0001!BEG|00|SA|PO1||20240101!SE|3|0001!"
		    "GE|1|3!IEA|1|000000002!", 3 },
		{ "a newline terminator", "ISA*00*          *00*          "
		    "*ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501"
		    "*000000001*0*P*:\n" "GS*PO*SND*RCV*20240101*1200*1*X*005010\n"
		    "ST*850*0001\nBEG*00*SA*PO1**20240101\nSE*3*0001\n"
		    "GE*1*1\nIEA*1*000000001\n", 0 },
		{ "the input ends inside a set", ISA_OK GS_OK OST("1")
		    "ST*850*0002~BEG*00*SA*PO2", 1 },
		{ "the input ends inside ST", ISA_OK GS_OK OST("1")
		    "ST*850*0002", 1 },
	};
	size_t	 i, n, len;
	char	*big;

	test_offer_cases(&translator_x12, loop, c, sizeof(c) / sizeof(c[0]));
	/* over 512 KB: read by the file's parser */
	n = 600 * 1024;
	big = xmalloc(n + 256);
	len = (size_t)snprintf(big, n, "%s%sST*850*0001~", ISA_OK, GS_OK);
	for (i = 0; len < n - 64; i++)
		len += (size_t)snprintf(big + len, n + 256 - len,
		    "MSG*%zu~", i);
	len += (size_t)snprintf(big + len, n + 256 - len, "SE*%zu*0001~%s%s",
	    i + 2, OST("2"), "GE*2*1~IEA*1*000000001~");
	test_offer_one(&translator_x12, loop, "a set over 512 KB", big, len,
	    1);
	free(big);
}

int
main(void)
{
	test_values();
	test_block_edges(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_window_chunks(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_tagpad(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	test_offer(edi_avx2() ? "AVX2 loop" : "SSE2 loop");
	/* and the SSE2 loop, whatever this CPU has (edi_avx2()) */
	if (setenv("EDIGATE_SIMD", "sse2", 1) == 0 && !edi_avx2()) {
		test_block_edges("SSE2 loop, forced");
		test_window_chunks("SSE2 loop, forced");
		test_tagpad("SSE2 loop, forced");
		test_offer("SSE2 loop, forced");
	} else
		ok(0, "EDIGATE_SIMD=sse2 turns the AVX2 loop off");
	unsetenv("EDIGATE_SIMD");
	test_envelopes();
	test_limits();
	test_setbuf_slot();
	test_setbuf_window();
	test_streaming();
	test_corpus();
	ok(tagpad_bad == 0 && tagpad_segs > 1000, "every segment of every "
	    "set parsed here has its tag NUL-padded (%u segments)",
	    tagpad_segs);
	return done_testing();
}
