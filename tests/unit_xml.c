/*
 * unit_xml.c: the XML front end: document identification (cXML request,
 * version, payloadID, sender; UBL root, namespace, version, sender) and
 * refusal of hostile input (entity declarations, external entities,
 * depth, size) with clear diagnostics, never a fetch or a crash.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "tap.h"
#include "translator.h"
#include "xmalloc.h"

struct got {
	int	 nset;
	char	 doctype[64], ns[128], request[64], version[32];
	char	 control[128], sender[64];
	char	 code[24];
	char	 msg[512];
	unsigned line;
};

static void
cp(char *dst, size_t n, struct slice s)
{
	snprintf(dst, n, "%.*s", (int)s.len, s.p ? s.p : "");
}

static int
on_set(void *arg, struct edi_set *s)
{
	struct got *g = arg;

	g->nset++;
	cp(g->doctype, sizeof(g->doctype), s->doctype);
	cp(g->ns, sizeof(g->ns), s->xml_ns);
	cp(g->request, sizeof(g->request), s->xml_request);
	cp(g->version, sizeof(g->version), s->version);
	cp(g->control, sizeof(g->control), s->control);
	cp(g->sender, sizeof(g->sender), s->xml_sender);
	return 0;
}

static void
on_diag(void *arg, const struct diag *d)
{
	struct got *g = arg;

	if (g->code[0] == '\0') {
		snprintf(g->code, sizeof(g->code), "%s", d->code);
		snprintf(g->msg, sizeof(g->msg), "%s", d->msg);
		g->line = d->line;
	}
}

static int
parse(const char *text, size_t len, struct got *g)
{
	struct diag_sink ds = { on_diag, g, 0, 0 };
	struct edi_handler h = { on_set, NULL, NULL, &ds, NULL };

	memset(g, 0, sizeof(*g));
	return translator_xml.parse(slice_make(text, len), "t.xml", &h, g);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "rb");
	char	*p;
	long	 n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = xmalloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, fp);
	fclose(fp);
	return p;
}

int
main(void)
{
	const char	*sh = getenv("EDIGATE_SHARED");
	char		 path[1024], *p, *deep;
	size_t		 len, i;
	struct got	 g;
	int		 r;

	ok(translator_xml.sniff(SLICE_LIT("\xef\xbb\xbf  <?xml version=\"1.0\"?><a/>")),
	    "sniff: BOM, spaces, '<'");
	ok(!translator_xml.sniff(SLICE_LIT("ISA*00*")), "sniff: not X12");
	ok(translator_sniff(SLICE_LIT("<cXML/>")) == &translator_xml,
	    "translator table finds XML");

	snprintf(path, sizeof(path), "%s/corpus/public/cxml/"
	    "OrderRequest_1.2.050_two-items_EUR.xml", sh ? sh : "../shared");
	if ((p = slurp(path, &len)) == NULL)
		ok(0, "corpus file %s", path);
	else {
		r = parse(p, len, &g);
		ok(r == 0 && g.nset == 1, "cXML OrderRequest: one document");
		is_str(g.doctype, "cXML", "cXML: root");
		is_str(g.request, "OrderRequest", "cXML: request element");
		is_str(g.version, "1.2.050", "cXML: version");
		ok(g.control[0] != '\0', "cXML: payloadID (%s)", g.control);
		ok(g.sender[0] != '\0', "cXML: From credential (%s)", g.sender);
		free(p);
	}
	snprintf(path, sizeof(path), "%s/corpus/public/xml/"
	    "UBL-Order-2.1_CENBII.xml", sh ? sh : "../shared");
	if ((p = slurp(path, &len)) == NULL)
		ok(0, "corpus file %s", path);
	else {
		r = parse(p, len, &g);
		ok(r == 0 && g.nset == 1, "UBL Order: one document");
		is_str(g.doctype, "Order", "UBL: root local name");
		is_str(g.ns, "urn:oasis:names:specification:ubl:schema:xsd:"
		    "Order-2", "UBL: root namespace");
		is_str(g.version, "2.1", "UBL: UBLVersionID");
		is_str(g.control, "34", "UBL: cbc:ID");
		free(p);
	}

	snprintf(path, sizeof(path), "%s/corpus/public/xml/"
	    "UBL-DespatchAdvice-2.0_example.xml", sh ? sh : "../shared");
	if ((p = slurp(path, &len)) == NULL)
		ok(0, "corpus file %s", path);
	else {
		r = parse(p, len, &g);
		ok(r == 0 && strcmp(g.doctype, "DespatchAdvice") == 0 &&
		    strcmp(g.sender, "CO001") == 0,
		    "UBL 2.0 DespatchAdvice: sender from CustomerAssignedAccountID"
		    " (%s)", g.sender);
		free(p);
	}

	/* hostile input */
	{
		static const char laughs[] =
		    "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\">"
		    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><l>&c;</l>";
		static const char xxe[] =
		    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
		    "\"file:///etc/passwd\">]><x>&e;</x>";
		static const char ext[] =
		    "<?xml version=\"1.0\"?><!DOCTYPE cXML SYSTEM "
		    "\"http://127.0.0.1:9/cXML.dtd\"><cXML payloadID=\"p1\">"
		    "<Request><OrderRequest/></Request></cXML>";
		static const char bad[] = "<a>\n<b>\n</a>";

		r = parse(laughs, sizeof(laughs) - 1, &g);
		/* libxml2's amplification guard or ours: refused either way */
		ok(r != 0 && g.nset == 0 && (strcmp(g.code, "XML-ENTITY") == 0
		    || strcmp(g.code, "XML-PARSE") == 0),
		    "entity bomb refused: %s", g.msg);
		r = parse(xxe, sizeof(xxe) - 1, &g);
		ok(r != 0 && g.nset == 0 && strcmp(g.code, "XML-ENTITY") == 0,
		    "external entity refused, nothing read: %s", g.msg);
		r = parse(ext, sizeof(ext) - 1, &g);
		ok(r == 0 && g.nset == 1 && strcmp(g.request, "OrderRequest")
		    == 0 && strcmp(g.version, "") == 0,
		    "DOCTYPE with a remote DTD: parsed, never fetched");
		r = parse(bad, sizeof(bad) - 1, &g);
		ok(r != 0 && strcmp(g.code, "XML-PARSE") == 0 && g.line == 3,
		    "not well-formed: XML-PARSE at line %u: %s", g.line, g.msg);
		deep = xmalloc((EG_MAX_XML_DEPTH + 10) * 7 + 16);
		len = 0;
		for (i = 0; i < EG_MAX_XML_DEPTH + 10; i++)
			len += (size_t)snprintf(deep + len, 4, "<a>");
		for (i = 0; i < EG_MAX_XML_DEPTH + 10; i++)
			len += (size_t)snprintf(deep + len, 5, "</a>");
		r = parse(deep, len, &g);
		ok(r != 0 && g.nset == 0 && (strcmp(g.code, "XML-LIMIT") == 0 ||
		    strcmp(g.code, "XML-PARSE") == 0),
		    "nesting past the limit refused (%s)", g.code);
		free(deep);
		r = parse(bad, (size_t)EG_MAX_XML_SIZE + 1, &g);
		ok(r == EG_ERR_LIMIT && strcmp(g.code, "XML-TOO-BIG") == 0,
		    "oversize document refused before parsing");
	}
	return done_testing();
}
