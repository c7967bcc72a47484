/*
 * xml.c: the XML front end (translator_xml): cXML, UBL and other supplier
 * XML documents, one business document per file.
 *
 * libxml2 reads the bytes with the network off and nothing loaded or
 * expanded: no external DTD or entity is fetched, a DOCTYPE is parsed
 * without fetching it, and documents that declare entities of their own
 * are refused (entity expansion is how "billion laughs" and XXE attacks
 * work, and no supplier format needs it).  Size, depth and node count are
 * capped (eglimits.h).  The document is handed over as one struct edi_set
 * with no segments; the map engine reads it with XPath.
 *
 * Diagnostic codes:
 *   XML-TOO-BIG   FILE  the document exceeds EG_MAX_XML_SIZE
 *   XML-PARSE     FILE  not well-formed XML (libxml2's message and line)
 *   XML-ENTITY    FILE  the document declares entities: refused
 *   XML-LIMIT     FILE  deeper than EG_MAX_XML_DEPTH or more than
 *                       EG_MAX_XML_NODES nodes
 *   XML-NO-ROOT   FILE  no root element
 */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "edi.h"
#include "eglimits.h"
#include "err.h"
#include "translator.h"
#include "xml.h"

/* The last libxml2 error of this parse (one parse per thread at a time). */
struct xml_err {
	char	 msg[256];
	int	 line;
	int	 set;
};

static void
xml_error(void *arg, xmlErrorPtr e)
{
	struct xml_err	*x = arg;
	size_t		 n;

	if (x->set || e == NULL || e->level < XML_ERR_ERROR)
		return;
	snprintf(x->msg, sizeof(x->msg), "%s", e->message ? e->message : "");
	n = strlen(x->msg);
	while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
	x->line = e->line;
	x->set = 1;
}

static void __attribute__((format(printf, 4, 5)))
file_diag(const struct edi_handler *h, const char *code, int line,
    const char *fmt, ...)
{
	struct diag	 d;
	va_list		 ap;

	diag_init(&d, DIAG_ERROR, code);
	d.scope = DIAG_SCOPE_FILE;
	d.line = line > 0 ? (uint32_t)line : 0;
	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof(d.msg), fmt, ap);
	va_end(ap);
	diag_emit(h->diags, &d);
}

static int
xml_sniff(struct slice in)
{
	size_t	 i = 0;

	if (in.len >= 3 && memcmp(in.p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < in.len && (in.p[i] == ' ' || in.p[i] == '\t' ||
	    in.p[i] == '\r' || in.p[i] == '\n'))
		i++;
	return i < in.len && in.p[i] == '<';
}

/* Depth and node count, iteratively (no recursion on hostile input). */
static int
xml_check_limits(xmlNodePtr root)
{
	xmlNodePtr	 n = root;
	unsigned long	 count = 0;
	unsigned	 depth = 1;

	while (n != NULL) {
		if (++count > EG_MAX_XML_NODES || depth > EG_MAX_XML_DEPTH)
			return -1;
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			depth++;
			continue;
		}
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			depth--;
			if (n == root || n == NULL)
				return 0;
		}
		if (n != NULL)
			n = n->next;
	}
	return 0;
}

static xmlNodePtr
first_child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    (name == NULL || strcmp((const char *)n->name, name) == 0))
			return n;
	return NULL;
}

static struct slice
xstr(const xmlChar *s)
{
	return s ? slice_cstr((const char *)s) : slice_make("", 0);
}

/* Trimmed text content of n, copied into the arena; empty for NULL. */
static struct slice
text_at(xmlNodePtr n, struct arena *a)
{
	xmlChar		*t;
	struct slice	 s = { "", 0 };
	char		*c;

	if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
		return s;
	if ((c = arena_strndup(a, (const char *)t, strlen((char *)t))) != NULL)
		s = slice_trim(slice_cstr(c));
	xmlFree(t);
	/* Identities are single tokens: no line breaks or tabs inside. */
	return s;
}

/*
 * The sending party of a UBL document: the buyer of an Order, the seller
 * of an OrderResponse, the despatching party of a DespatchAdvice; its
 * EndpointID, else its first PartyIdentification/ID, else the account id
 * the customer assigned to it (UBL 2.0 examples carry only that).
 */
static struct slice
ubl_sender(xmlNodePtr root, struct arena *a)
{
	static const char *roles[][2] = {
		{ "Order", "BuyerCustomerParty" },
		{ "OrderResponse", "SellerSupplierParty" },
		{ "OrderResponseSimple", "SellerSupplierParty" },
		{ "DespatchAdvice", "DespatchSupplierParty" },
	};
	xmlNodePtr	 p = NULL, party, id;
	size_t		 i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp((const char *)root->name, roles[i][0]) == 0)
			p = first_child(root, roles[i][1]);
	party = first_child(p, "Party");
	if ((id = first_child(party, "EndpointID")) == NULL &&
	    (id = first_child(first_child(party, "PartyIdentification"),
	    "ID")) == NULL)
		id = first_child(p, "CustomerAssignedAccountID");
	return text_at(id, a);
}

/*
 * The cXML version: the root's version attribute, else the DTD's system
 * id (http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd).
 */
static struct slice
cxml_version(xmlDocPtr doc, xmlNodePtr root, struct arena *a)
{
	xmlChar		*v;
	const char	*sys, *p, *e;
	struct slice	 s = { "", 0 };
	char		*copy;

	if ((v = xmlGetProp(root, (const xmlChar *)"version")) != NULL) {
		copy = arena_strndup(a, (const char *)v, strlen((char *)v));
		xmlFree(v);
		return slice_cstr(copy);
	}
	if (doc->intSubset == NULL || doc->intSubset->SystemID == NULL)
		return s;
	sys = (const char *)doc->intSubset->SystemID;
	if ((p = strstr(sys, "/cXML/")) == NULL)
		return s;
	p += 6;
	if ((e = strchr(p, '/')) == NULL)
		return s;
	return slice_make(p, (size_t)(e - p));
}

static int
xml_parse(struct slice input, const char *filename,
    const struct edi_handler *h, void *arg)
{
	struct edi_set	 set;
	struct arena	 arena;
	struct xml_err	 xe;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	 doc;
	xmlNodePtr	 root, req, ver;
	xmlChar		*pid = NULL;
	int		 r;

	if (input.len > EG_MAX_XML_SIZE) {
		file_diag(h, "XML-TOO-BIG", 0, "the document is larger than "
		    "%u bytes", EG_MAX_XML_SIZE);
		return EG_ERR_LIMIT;
	}
	memset(&xe, 0, sizeof(xe));
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return EG_ERR_NOMEM;
	xmlSetStructuredErrorFunc(&xe, xml_error);
	/*
	 * XML_PARSE_NONET: never fetch; no NOENT (no substitution), no
	 * DTDLOAD/DTDATTR/DTDVALID (the DOCTYPE is read, not fetched), no
	 * XINCLUDE, no HUGE (libxml2's own caps stay on).
	 */
	doc = xmlCtxtReadMemory(ctxt, input.p, (int)input.len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlFreeParserCtxt(ctxt);
	if (doc == NULL) {
		file_diag(h, "XML-PARSE", xe.line, "not well-formed XML: %s",
		    xe.set ? xe.msg : "unreadable");
		return EG_ERR_SYNTAX;
	}
	if (doc->intSubset != NULL && doc->intSubset->entities != NULL &&
	    xmlHashSize(doc->intSubset->entities) > 0) {
		file_diag(h, "XML-ENTITY", 0, "%s", "the document declares "
		    "entities; entity declarations are not accepted");
		xmlFreeDoc(doc);
		return EG_ERR_SYNTAX;
	}
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		file_diag(h, "XML-NO-ROOT", 0, "%s", "no root element");
		xmlFreeDoc(doc);
		return EG_ERR_SYNTAX;
	}
	if (xml_check_limits(root) != 0) {
		file_diag(h, "XML-LIMIT", 0, "%s", "the document is nested "
		    "too deeply or has too many nodes");
		xmlFreeDoc(doc);
		return EG_ERR_LIMIT;
	}

	arena_init(&arena, EG_MAX_SET_SIZE);
	memset(&set, 0, sizeof(set));
	set.filename = filename;
	set.env.syntax = EDI_XML;
	set.arena = &arena;
	set.raw = input;
	set.xml = doc;
	set.doctype = xstr(root->name);
	set.xml_ns = root->ns ? xstr(root->ns->href) : slice_make("", 0);
	if (strcmp((const char *)root->name, "cXML") == 0 && root->ns == NULL) {
		/* cXML: the request, message or response names the document */
		if ((req = first_child(root, "Request")) != NULL ||
		    (req = first_child(root, "Message")) != NULL)
			req = first_child(req, NULL);
		else
			req = first_child(root, "Response");
		if (req != NULL)
			set.xml_request = xstr(req->name);
		set.version = cxml_version(doc, root, &arena);
		set.xml_sender = text_at(first_child(first_child(first_child(
		    first_child(root, "Header"), "From"), "Credential"),
		    "Identity"), &arena);
		if ((pid = xmlGetProp(root, (const xmlChar *)"payloadID")) !=
		    NULL)
			set.control = slice_cstr(arena_strndup(&arena,
			    (const char *)pid, strlen((char *)pid)));
	} else {
		/* UBL and others: UBLVersionID and ID children of the root */
		for (ver = root->children; ver != NULL; ver = ver->next) {
			if (ver->type != XML_ELEMENT_NODE)
				continue;
			if (strcmp((const char *)ver->name, "UBLVersionID") == 0 ||
			    strcmp((const char *)ver->name, "ID") == 0) {
				xmlChar *t = xmlNodeGetContent(ver);
				struct slice v = slice_cstr(arena_strndup(
				    &arena, (const char *)t, strlen((char *)t)));

				if (ver->name[0] == 'U')
					set.version = slice_trim(v);
				else if (set.control.len == 0)
					set.control = slice_trim(v);
				xmlFree(t);
			}
		}
	}
	if (set.xml_sender.len == 0)
		set.xml_sender = ubl_sender(root, &arena);
	xmlFree(pid);
	r = h->set ? h->set(arg, &set) : 0;
	arena_free(&arena);
	xmlFreeDoc(doc);
	return r;
}

const struct translator translator_xml = {
	.name = "xml",
	.sniff = xml_sniff,
	.parse = xml_parse,
};
