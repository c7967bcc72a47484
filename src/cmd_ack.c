/*
 * cmd_ack.c: `edigate ack`, the acknowledgements edigate would return.
 *
 * Each FILE is translated as `edigate translate` would (same maps, same
 * diagnostics on stderr, events discarded) while an x12_ack and an
 * edifact_ack collector observe the parse; the TA1/997/999 and CONTRL
 * interchanges are then printed on stdout in the inbound delimiters,
 * followed by a newline.  CONTRL is written when UNB 0031 asks for it,
 * when the partner's `ack` is contrl, or to reject an interchange; our
 * EDIFACT identity is [identity] edifact_id, else the inbound UNB S003;
 * the partner is found by UNB S002 0004:0007.  The X12 kind comes
 * from the partner's `ack` key (997, 999 or none; default 997): -p names
 * the partner, else the ISA05:ISA06 of the first interchange is looked up
 * in the configuration.  Our identity is [identity] x12_id, else the
 * inbound ISA07:ISA08.  Control numbers start at 1 and run on across the
 * files of one call (the daemon keeps persistent counters).
 *
 * Exit: 0 when every FILE was acknowledged (whatever the acknowledgement
 * says: a rejection is an answer) or nothing was due (partner ack none and
 * no TA1 due, or only acknowledgements received), 65 when a FILE could not
 * be acknowledged at all (not X12, no readable ISA, output over its limit),
 * 66 unreadable FILE, 64 usage, 74 stdout, 78 configuration.
 *
 * The maps are read as `edigate translate` reads them: every header
 * first, a map compiled when a document first needs it.  A FILE with a
 * document whose map does not compile gets no acknowledgement (it would
 * acknowledge that document without the map's structure), and the exit
 * is 78.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "buf.h"
#include "catalog.h"
#include "cmd.h"
#include "conf.h"
#include "diag.h"
#include "edifact.h"
#include "edifact_ack.h"
#include "eglimits.h"
#include "err.h"
#include "translate.h"
#include "x12.h"
#include "x12_ack.h"

struct ackrun {
	const char	*file;
};

static void
print_diag(void *arg, const struct diag *d)
{
	struct ackrun	*a = arg;

	diag_print(stderr, d, a->file);
}

/*
 * ISA05 and ISA06 (trimmed) of the first interchange, for the partner
 * lookup.  Returns 0, or EG_ERR_SYNTAX when there is no readable ISA.
 */
static int
first_sender(struct slice in, char *qual, size_t qlen, char *id, size_t idlen)
{
	struct edi_delims d;
	struct slice	 el[7];
	const char	*p, *e;
	long		 off;
	int		 k = 0;

	if ((off = x12_delims(in, &d)) < 0)
		return EG_ERR_SYNTAX;
	p = in.p + off + 4;	/* after "ISA" and its separator */
	e = in.len - (size_t)off > EG_MAX_ISA_LEN ?
	    in.p + off + EG_MAX_ISA_LEN : in.p + in.len;
	el[0] = slice_make("", 0);
	for (k = 1; k <= 6 && p <= e; k++) {
		const char *q = memchr(p, d.element, (size_t)(e - p));

		if (q == NULL)
			return EG_ERR_SYNTAX;
		el[k] = slice_trim(slice_make(p, (size_t)(q - p)));
		p = q + 1;
	}
	snprintf(qual, qlen, "%.*s", (int)el[5].len, el[5].p);
	snprintf(id, idlen, "%.*s", (int)el[6].len, el[6].p);
	return 0;
}

/* The partner's `ack = contrl`: CONTRL for every EDIFACT interchange. */
static int
ack_contrl(const char *ack)
{
	return ack != NULL && strcmp(ack, "contrl") == 0;
}

static enum x12_ack_kind
ack_kind(const char *ack)
{
	if (ack == NULL || strcmp(ack, "997") == 0)
		return X12_ACK_997;
	if (strcmp(ack, "999") == 0)
		return X12_ACK_999;
	return X12_ACK_NONE;
}

/* One file; returns its exit code. */
static int
ack_file(const struct catalog *cat, const struct conf *cf,
    const char *partner, const char *file, unsigned long ctl[5])
{
	const struct partner	*p = NULL;
	struct translate_opts	 o;
	struct translate_stats	 st;
	struct x12_ack_opts	 ao;
	struct x12_ack		*ack;
	struct edifact_ack_opts	 eo;
	struct edifact_ack	*contrl;
	struct mapped_file	 mf;
	struct ackrun		 a;
	struct buf		 out;
	char			 qual[8], id[64], eid[80], equal[80];
	unsigned long		 nbroken;
	int			 n, n2, isx12, isedifact, broken, ex = 0;

	if (mapped_open(file, &mf) == -1) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return EX_NOINPUT;
	}
	memset(&ao, 0, sizeof(ao));
	/* Not X12: still translated, so that the diagnostics say what it is. */
	isx12 = first_sender(mf.data, qual, sizeof(qual), id, sizeof(id)) == 0;
	if (!isx12)
		qual[0] = id[0] = '\0';
	isedifact = !isx12 && edifact_unb_sender(mf.data, eid, sizeof(eid),
	    equal, sizeof(equal)) == 0;
	if (cf != NULL && partner != NULL)
		p = conf_partner(cf, partner);
	else if (cf != NULL && isedifact)
		p = conf_partner_edifact(cf, eid, equal);
	else if (cf != NULL)
		p = conf_partner_x12(cf, qual, id);
	ao.kind = ack_kind(p ? p->ack : NULL);
	ao.our_x12_id = cf ? cf->x12_id : NULL;
	ao.isa_control = ctl[0];
	ao.gs_control = ctl[1];
	ao.st_control = ctl[2];
	clock_gettime(CLOCK_REALTIME, &ao.now);
	ack = x12_ack_new(&ao);
	memset(&eo, 0, sizeof(eo));
	eo.always = ack_contrl(p ? p->ack : NULL);
	eo.our_edifact_id = cf ? cf->edifact_id : NULL;
	eo.icref = ctl[3];
	eo.msgref = ctl[4];
	eo.now = ao.now;
	contrl = edifact_ack_new(&eo);

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	a.file = file;
	o.cat = cat;
	o.conf = cf;
	o.partner = partner;
	o.filename = file;
	o.protocol = "FILE";
	o.received = ao.now;
	o.drop_behind = 1;
	o.ack = ack;
	o.contrl = contrl;
	o.on_event = NULL;
	o.on_diag = print_diag;
	o.arg = &a;
	nbroken = catalog_broken(cat);
	(void)translate_bytes(mf.data, &o, &st);

	buf_init(&out, EG_MAX_DOC_SIZE);
	n = x12_ack_output(ack, &out);
	n2 = edifact_ack_output(contrl, &out);
	if (n >= 0)
		n = n2 < 0 ? n2 : n + n2;
	broken = catalog_broken(cat) != nbroken;
	/* control numbers are used up only by acknowledgements printed */
	if (!broken && n > 0) {
		x12_ack_counters(ack, &ctl[0], &ctl[1], &ctl[2]);
		edifact_ack_counters(contrl, &ctl[3], &ctl[4]);
	}
	x12_ack_free(ack);
	edifact_ack_free(contrl);
	if (broken) {
		fprintf(stderr, "%s: no acknowledgement: a map its documents "
		    "need does not compile\n", file);
		ex = EX_CONFIG;
	} else if (n < 0) {
		fprintf(stderr, "%s: acknowledgement: %s\n", file,
		    eg_strerror(n));
		ex = EX_DATAERR;
	} else if (n == 0 && (st.not_edi || (!isx12 && !isedifact))) {
		fprintf(stderr, "%s: no X12 or EDIFACT interchange to "
		    "acknowledge\n", file);
		ex = EX_DATAERR;
	} else if (n == 0)
		fprintf(stderr, "%s: no acknowledgement due%s\n", file,
		    isedifact ? "" : ao.kind == X12_ACK_NONE ?
		    " (partner ack = none)" : "");
	else if (fwrite(out.p, 1, out.len, stdout) != out.len ||
	    (out.p[out.len - 1] != '\n' && putchar('\n') == EOF))
		ex = EX_IOERR;
	buf_free(&out);
	mapped_close(&mf);
	return ex;
}

int
cmd_ack(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct catalog	*cat = NULL;
	struct conf	*cf = NULL;
	const char	*partner = NULL, *mapsdir = NULL, *config = NULL;
	unsigned long	 ctl[5] = { 1, 1, 1, 1, 1 };
	int		 ch, i, r, ex = 0;

	while ((ch = getopt_long(argc, argv, "c:hM:p:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'M':
			mapsdir = optarg;
			break;
		case 'p':
			partner = optarg;
			break;
		case 'h':
			return cmd_usage("ack", stdout);
		default:
			return cmd_usage("ack", stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_usage("ack", stderr);

	if ((ex = cmd_conf(config, &cf)) != 0)
		return ex;
	if (cf != NULL) {
		if (mapsdir == NULL)
			mapsdir = cf->maps_dir;
		if (partner != NULL && conf_partner(cf, partner) == NULL) {
			fprintf(stderr, "edigate ack: %s: no partner \"%s\"\n",
			    config, partner);
			conf_free(cf);
			return EX_CONFIG;
		}
	}
	if ((ex = cmd_catalog_lazy(mapsdir, &cat)) != 0)
		goto out;
	for (i = 0; i < argc; i++) {
		r = ack_file(cat, cf, partner, argv[i], ctl);
		if (r == EX_IOERR) {
			fprintf(stderr, "edigate: stdout: %s\n",
			    strerror(errno));
			ex = r;
			goto out;
		}
		if (r != 0 && (ex == 0 || (r == EX_NOINPUT &&
		    ex != EX_CONFIG) || r == EX_CONFIG))
			ex = r;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "edigate: stdout: %s\n", strerror(errno));
		ex = EX_IOERR;
	}
out:
	catalog_free(cat);
	conf_free(cf);
	return ex;
}
