/*
 * as2.c: the AS2 channel's MIME and protocol side (as2.h, RFC 4130).
 *
 * Receiving: the request's entity (its Content-Type header and body) is
 * unwrapped layer by layer: enveloped-data is decrypted, multipart/signed
 * and signed-data are verified against the partner's certificate,
 * compressed-data is inflated (RFC 5402, before or after signing), until
 * a payload entity is left.  The MIC is computed over exactly the bytes
 * the signature covers (the first part of multipart/signed, as received;
 * when a sender signed the CRLF-canonical form of a part sent with bare
 * LFs, the canonical form verifies and is what the MIC covers); for an
 * unsigned message over the entity under the encryption.
 *
 * What is stored (one document per message, DESIGN.md §4): the payload as
 * the document's raw bytes (what the pipeline translates), and as
 * attachments of the same document the request as received (headers and
 * body, still signed and encrypted: non-repudiation of origin), the MDN
 * we answered with (a duplicate Message-ID is answered with it again) and,
 * for an asynchronous MDN, its URL.  The ctl ledger records the
 * Message-ID (level STORE_LVL_AS2, empty sender) for duplicate detection.
 * All of it is one transaction, committed before a processed MDN leaves.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "as2.h"
#include "as2_cms.h"
#include "buf.h"
#include "conf.h"
#include "eglimits.h"
#include "envelope.h"
#include "err.h"
#include "failpoint.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "xmalloc.h"

#define AS2_MAX_LAYERS	8
#define AS2_MAX_HDR	8192	/* one header value */
#define AS2_MAX_MIME	(2048ULL * 1024 * 1024)

void
as2_response_init(struct as2_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->headers, 64 * 1024);
	buf_init(&r->body, AS2_MAX_MIME);
}

void
as2_response_free(struct as2_response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

/* --- MIME helpers --- */

/* Headers and body of an entity: split at the first empty line. */
static int
mime_split(struct slice e, struct slice *head, struct slice *body)
{
	size_t	 i;

	if (e.len >= 2 && e.p[0] == '\r' && e.p[1] == '\n') {
		*head = slice_make(e.p, 0);
		*body = slice_make(e.p + 2, e.len - 2);
		return 0;
	}
	if (e.len >= 1 && e.p[0] == '\n') {
		*head = slice_make(e.p, 0);
		*body = slice_make(e.p + 1, e.len - 1);
		return 0;
	}
	for (i = 0; i + 1 < e.len; i++) {
		if (e.p[i] != '\n')
			continue;
		if (e.p[i + 1] == '\n') {
			*head = slice_make(e.p, i + 1);
			*body = slice_make(e.p + i + 2, e.len - i - 2);
			return 0;
		}
		if (i + 2 < e.len && e.p[i + 1] == '\r' && e.p[i + 2] == '\n') {
			*head = slice_make(e.p, i + 1);
			*body = slice_make(e.p + i + 3, e.len - i - 3);
			return 0;
		}
	}
	return EG_ERR_SYNTAX;
}

/*
 * The value of header name in a header block (unfolded, trimmed, with
 * surrounding double quotes of the whole value kept), into out.  0, or
 * EG_ERR_NOTFOUND.
 */
static int
hdr_get(struct slice head, const char *name, char *out, size_t outsz)
{
	size_t	 nl = strlen(name), i = 0, j, o = 0;
	const char *p = head.p;

	while (i < head.len) {
		/* i is at the start of a line */
		if (head.len - i > nl && strncasecmp(p + i, name, nl) == 0 &&
		    p[i + nl] == ':') {
			j = i + nl + 1;
			for (;;) {
				while (j < head.len && p[j] != '\r' &&
				    p[j] != '\n') {
					if (o + 1 < outsz)
						out[o++] = p[j];
					j++;
				}
				/* continuation? */
				while (j < head.len && (p[j] == '\r' ||
				    p[j] == '\n'))
					if (p[j++] == '\n')
						break;
				if (j < head.len && (p[j] == ' ' ||
				    p[j] == '\t')) {
					if (o + 1 < outsz)
						out[o++] = ' ';
					continue;
				}
				break;
			}
			out[o] = '\0';
			/* trim */
			while (o > 0 && isspace((unsigned char)out[o - 1]))
				out[--o] = '\0';
			for (j = 0; out[j] == ' ' || out[j] == '\t'; j++)
				;
			memmove(out, out + j, strlen(out + j) + 1);
			return 0;
		}
		while (i < head.len && p[i] != '\n')
			i++;
		i++;
	}
	if (outsz > 0)
		out[0] = '\0';
	return EG_ERR_NOTFOUND;
}

/* A parameter of a structured header value (quotes removed). */
static int
param_get(const char *v, const char *name, char *out, size_t outsz)
{
	size_t	 nl = strlen(name), o = 0;
	const char *p = v;
	int	 q;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) != 0)
			continue;
		p += nl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		q = *p == '"';
		if (q)
			p++;
		while (*p && (q ? *p != '"' : (*p != ';' && *p != ' ' &&
		    *p != '\t')) && o + 1 < outsz)
			out[o++] = *p++;
		out[o] = '\0';
		return 0;
	}
	return EG_ERR_NOTFOUND;
}

/* The media type of a Content-Type value, lowercased. */
static void
ctype_base(const char *v, char *out, size_t outsz)
{
	size_t	 o = 0;

	while (*v == ' ')
		v++;
	while (*v && *v != ';' && *v != ' ' && o + 1 < outsz)
		out[o++] = (char)tolower((unsigned char)*v++);
	out[o] = '\0';
}

static void
strip_quotes(char *s)
{
	size_t	 l = strlen(s);

	if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
		memmove(s, s + 1, l - 2);
		s[l - 2] = '\0';
	}
}

/* Bytes with every bare LF made CRLF. */
static void
crlf_canon(struct slice in, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < in.len; i++) {
		if (in.p[i] == '\n' && (i == 0 || in.p[i - 1] != '\r'))
			(void)buf_addc(out, '\r');
		(void)buf_addc(out, in.p[i]);
	}
}

/* The header block made CRLF, the body (binary) kept as it is. */
static void
crlf_canon_head(struct slice in, struct buf *out)
{
	struct slice	 h, b;

	if (mime_split(in, &h, &b) != 0) {
		(void)buf_add(out, in.p, in.len);
		return;
	}
	crlf_canon(h, out);
	(void)buf_add(out, "\r\n", 2);
	(void)buf_add(out, b.p, b.len);
}

static int
has_bare_lf(struct slice s)
{
	size_t	 i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] == '\n' && (i == 0 || s.p[i - 1] != '\r'))
			return 1;
	return 0;
}

/*
 * multipart/signed: the first part's exact bytes and the second part
 * (headers and body).  The delimiter is CRLF "--" boundary (RFC 2046; a
 * bare LF is accepted for senders that use one).
 */
static int
split_signed(struct slice body, const char *boundary, struct slice *content,
    struct slice *sig)
{
	char	 delim[256];
	size_t	 dl, i, start = 0, k;
	const char *p = body.p;
	int	 found = 0;

	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	if (dl >= sizeof(delim) || boundary[0] == '\0')
		return EG_ERR_SYNTAX;
	/* first delimiter: at the start or after a newline */
	for (i = 0; i + dl <= body.len; i++) {
		if ((i == 0 || p[i - 1] == '\n') &&
		    memcmp(p + i, delim, dl) == 0) {
			found = 1;
			break;
		}
	}
	if (!found)
		return EG_ERR_SYNTAX;
	i += dl;
	while (i < body.len && p[i] != '\n')
		i++;
	start = ++i;
	/* the second delimiter */
	for (k = start; k + dl <= body.len; k++) {
		if (p[k] == '-' && k > start && p[k - 1] == '\n' &&
		    memcmp(p + k, delim, dl) == 0)
			break;
	}
	if (k + dl > body.len)
		return EG_ERR_SYNTAX;
	i = k - 1;		/* the LF before the delimiter */
	if (i > start && p[i - 1] == '\r')
		i--;
	*content = slice_make(p + start, i - start);
	/* the signature part up to the closing delimiter */
	i = k + dl;
	while (i < body.len && p[i] != '\n')
		i++;
	start = ++i;
	for (k = start; k + dl <= body.len; k++)
		if (p[k] == '-' && p[k - 1] == '\n' &&
		    memcmp(p + k, delim, dl) == 0)
			break;
	if (start > body.len || k + dl > body.len)
		return EG_ERR_SYNTAX;
	i = k - 1;
	if (i > start && p[i - 1] == '\r')
		i--;
	*sig = slice_make(p + start, i - start);
	return 0;
}

/* Body per Content-Transfer-Encoding into out (binary: a copy). */
static int
decode_cte(struct slice head, struct slice body, struct buf *out)
{
	char	 cte[64];

	if (hdr_get(head, "Content-Transfer-Encoding", cte, sizeof(cte)) ==
	    0 && strcasecmp(cte, "base64") == 0)
		return as2_b64_decode(body.p, body.len, out);
	return buf_add(out, body.p, body.len) == 0 ? 0 : EG_ERR_LIMIT;
}

/* --- receiving --- */

enum disp {
	D_PROCESSED, D_DUPLICATE, D_DECRYPT, D_AUTH, D_INTEGRITY, D_ERROR
};

static const char *const disp_text[] = {
	"processed",
	"processed/warning: duplicate-document",
	"processed/error: decryption-failed",
	"processed/error: authentication-failed",
	"processed/error: integrity-check-failed",
	"processed/error: unexpected-processing-error",
};

struct rx {
	struct gateway	*gw;
	const struct conf *cf;
	const struct partner *p;
	struct slice	 hdrs, body;
	char		 from[256], to[256], msgid[512];
	char		 dnt[512], dno[1024], rdo[1024];
	int		 want_mdn, want_signed, async;
	enum as2_md	 micalg;	/* requested; NONE: the signature's */
	int		 encrypted, signed_, compressed;
	char		 mic[128];
	enum as2_md	 micmd;
	struct slice	 payload;
	char		 filename[256];
	enum disp	 disp;
	char		 why[512];	/* for the log and the MDN text */
	struct buf	 bufs[AS2_MAX_LAYERS * 2 + 2];
	size_t		 nbufs;
};

static struct buf *
rx_buf(struct rx *r)
{
	struct buf *b = &r->bufs[r->nbufs++];

	buf_init(b, AS2_MAX_MIME);
	return b;
}

static int
rx_fail(struct rx *r, enum disp d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rx_fail(struct rx *r, enum disp d, const char *fmt, ...)
{
	va_list	 ap;

	r->disp = d;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* The partner configured for SHA-1 may use it; nobody else. */
static int
md_allowed(const struct rx *r, enum as2_md md)
{
	if (md == AS2_MD_NONE)
		return 0;
	if (md == AS2_MD_SHA1)
		return r->p->as2_sign != NULL &&
		    strcmp(r->p->as2_sign, "sha1") == 0;
	return 1;
}

/*
 * Disposition-Notification-Options: "signed-receipt-protocol=optional,
 * pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1".
 */
static void
parse_dno(struct rx *r)
{
	const char	*p, *e;
	char		 tok[64];
	size_t		 l;
	enum as2_md	 md;

	if (r->dno[0] == '\0')
		return;
	if ((p = strcasestr(r->dno, "signed-receipt-protocol")) != NULL &&
	    strcasestr(p, "pkcs7-signature") != NULL)
		r->want_signed = 1;
	if ((p = strcasestr(r->dno, "signed-receipt-micalg")) == NULL ||
	    (p = strchr(p, '=')) == NULL)
		return;
	p++;
	/* importance, then the algorithms */
	if ((p = strchr(p, ',')) == NULL)
		return;
	while (p != NULL && *p == ',') {
		p++;
		e = p + strcspn(p, ",;");
		l = (size_t)(e - p);
		if (l < sizeof(tok)) {
			memcpy(tok, p, l);
			tok[l] = '\0';
			md = as2_md_parse(tok, l);
			if (md != AS2_MD_NONE && md_allowed(r, md)) {
				r->micalg = md;
				return;
			}
		}
		p = e;
	}
}

static void
set_mic(struct rx *r, struct slice content, enum as2_md sigmd)
{
	enum as2_md	 md = r->micalg;

	if (md == AS2_MD_NONE)
		md = sigmd != AS2_MD_NONE ? sigmd : AS2_MD_SHA256;
	r->micmd = md;
	(void)as2_mic(md, content.p, content.len, r->mic, sizeof(r->mic));
}

/* Unwrap the entity down to the payload; -1 with r->disp set. */
static int
unwrap(struct rx *r, struct slice ent)
{
	struct slice	 head, body, content, sig, sh, sb;
	struct buf	*b, *der;
	char		 ct[AS2_MAX_HDR], base[128], st[64], bnd[200];
	char		 err[512];
	const char	*kind;
	enum as2_md	 md = AS2_MD_NONE;
	struct slice	 first_plain = { NULL, 0 };
	int		 layer, rc, pass;

	for (layer = 0; layer < AS2_MAX_LAYERS; layer++) {
		if (mime_split(ent, &head, &body) != 0)
			return rx_fail(r, D_ERROR, "layer %d: no MIME header "
			    "block", layer);
		if (hdr_get(head, "Content-Type", ct, sizeof(ct)) != 0)
			snprintf(ct, sizeof(ct), "text/plain");
		ctype_base(ct, base, sizeof(base));
		if (strcmp(base, "application/pkcs7-mime") == 0 ||
		    strcmp(base, "application/x-pkcs7-mime") == 0) {
			der = rx_buf(r);
			if (decode_cte(head, body, der) != 0)
				return rx_fail(r, D_ERROR, "bad base64");
			if (der->len > 0 && (unsigned char)der->p[0] != 0x30) {
				/* base64 without saying so */
				b = rx_buf(r);
				if (as2_b64_decode(der->p, der->len, b) == 0)
					der = b;
			}
			kind = as2_cms_kind(der->p, der->len);
			if (param_get(ct, "smime-type", st, sizeof(st)) != 0)
				st[0] = '\0';
			if (kind == NULL)
				return rx_fail(r, strcasecmp(st,
				    "enveloped-data") == 0 ? D_DECRYPT :
				    D_ERROR, "%s is not a CMS structure",
				    base);
			b = rx_buf(r);
			if (strcmp(kind, "enveloped-data") == 0) {
				rc = as2_cms_decrypt(r->gw->as2, der->p,
				    der->len, b, err, sizeof(err));
				if (rc != 0)
					return rx_fail(r, D_DECRYPT, "%s",
					    err);
				r->encrypted = 1;
			} else if (strcmp(kind, "signed-data") == 0) {
				rc = as2_cms_verify_attached(r->gw->as2,
				    r->p->id, der->p, der->len, b, &md, err,
				    sizeof(err));
				if (rc != 0)
					return rx_fail(r, D_AUTH, "%s", err);
				if (!md_allowed(r, md))
					return rx_fail(r, D_AUTH, "signature "
					    "digest %s not allowed for the "
					    "partner", as2_md_name(md));
				if (first_plain.p == NULL)
					first_plain = ent;
				if (!r->signed_)
					set_mic(r, slice_make(b->p, b->len),
					    md);
				r->signed_ = 1;
			} else {
				rc = as2_cms_uncompress(der->p, der->len, b,
				    err, sizeof(err));
				if (rc != 0)
					return rx_fail(r, D_ERROR, "%s", err);
				if (first_plain.p == NULL)
					first_plain = ent;
				r->compressed = 1;
			}
			ent = slice_make(b->p, b->len);
			continue;
		}
		if (strcmp(base, "multipart/signed") == 0) {
			if (param_get(ct, "boundary", bnd, sizeof(bnd)) != 0 ||
			    split_signed(body, bnd, &content, &sig) != 0)
				return rx_fail(r, D_INTEGRITY,
				    "multipart/signed without two parts");
			if (mime_split(sig, &sh, &sb) != 0)
				return rx_fail(r, D_INTEGRITY,
				    "signature part has no header");
			der = rx_buf(r);
			if (decode_cte(sh, sb, der) != 0)
				return rx_fail(r, D_INTEGRITY,
				    "signature is not base64");
			if (der->len > 0 && (unsigned char)der->p[0] != 0x30) {
				b = rx_buf(r);
				if (as2_b64_decode(der->p, der->len, b) == 0)
					der = b;
			}
			rc = as2_cms_verify_detached(r->gw->as2, r->p->id,
			    content.p, content.len, der->p, der->len, &md, err,
			    sizeof(err));
			/*
			 * Signed in canonical form, sent with bare LFs: the
			 * headers only (a binary body is not text), then all.
			 */
			for (pass = 0; pass < 2 && rc != 0 &&
			    rc != EG_ERR_INVAL && has_bare_lf(content);
			    pass++) {
				b = rx_buf(r);
				if (pass == 0)
					crlf_canon_head(content, b);
				else
					crlf_canon(content, b);
				if (as2_cms_verify_detached(r->gw->as2,
				    r->p->id, b->p, b->len, der->p, der->len,
				    &md, err, sizeof(err)) == 0) {
					rc = 0;
					content = slice_make(b->p, b->len);
				}
			}
			if (rc != 0)
				return rx_fail(r, D_AUTH, "%s", err);
			if (!md_allowed(r, md))
				return rx_fail(r, D_AUTH, "signature digest %s "
				    "not allowed for the partner",
				    as2_md_name(md));
			if (first_plain.p == NULL)
				first_plain = ent;
			if (!r->signed_)
				set_mic(r, content, md);
			r->signed_ = 1;
			ent = content;
			continue;
		}
		/* the payload */
		if (first_plain.p == NULL)
			first_plain = ent;
		if (!r->signed_)
			set_mic(r, first_plain, AS2_MD_NONE);
		b = rx_buf(r);
		if (decode_cte(head, body, b) != 0)
			return rx_fail(r, D_ERROR, "payload is not base64");
		r->payload = slice_make(b->p, b->len);
		if (hdr_get(head, "Content-Disposition", ct, sizeof(ct)) ==
		    0 && param_get(ct, "filename", r->filename,
		    sizeof(r->filename)) != 0)
			r->filename[0] = '\0';
		return 0;
	}
	return rx_fail(r, D_ERROR, "more than %d MIME layers",
	    AS2_MAX_LAYERS);
}

/* A new Message-ID: <uuid@our-id>. */
static void
new_msgid(const char *us, char *out, size_t outsz)
{
	uint8_t	 id[STORE_ID_LEN];
	char	 t[STORE_ID_TEXT], host[128];
	size_t	 i, o = 0;

	store_uuid7(store_now(), id);
	store_id_format(id, t);
	for (i = 0; us != NULL && us[i] && o + 1 < sizeof(host); i++)
		if (isalnum((unsigned char)us[i]) || us[i] == '-' ||
		    us[i] == '.' || us[i] == '_')
			host[o++] = us[i];
	host[o] = '\0';
	snprintf(out, outsz, "<%s@%s>", t, o ? host : "edigate");
}

static int
random_boundary(char *out, size_t outsz, const char *prefix)
{
	uint8_t	 id[STORE_ID_LEN];
	char	 t[STORE_ID_TEXT];

	store_uuid7(store_now(), id);
	store_id_format(id, t);
	return snprintf(out, outsz, "%s-%s", prefix, t);
}

/* AS2 names are quoted when they hold spaces or specials. */
static void
as2_name_out(const char *n, char *out, size_t outsz)
{
	if (strpbrk(n, " \t\"()<>@,;:\\[]") != NULL)
		snprintf(out, outsz, "\"%s\"", n);
	else
		snprintf(out, outsz, "%s", n);
}

/*
 * The MDN (headers block and body) for r into mh and mb.  Signed when
 * asked and we have a key.
 */
static int
build_mdn(struct rx *r, struct buf *mh, struct buf *mb)
{
	struct buf	 rep, sig;
	char		 rb[128], sb[128], mid[300], us[300], them[300];
	char		 err[512];
	time_t		 now = time(NULL);
	struct tm	 tm;
	char		 date[64];
	int		 rc = 0, sign;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	random_boundary(rb, sizeof(rb), "report");
	buf_init(&rep, 1 << 20);
	buf_printf(&rep, "Content-Type: multipart/report; "
	    "report-type=disposition-notification; boundary=\"%s\"\r\n\r\n",
	    rb);
	buf_printf(&rep, "--%s\r\nContent-Type: text/plain; charset=us-ascii"
	    "\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", rb);
	buf_printf(&rep, "The AS2 message %s received from %s was %s.\r\n",
	    r->msgid, r->from, r->disp == D_PROCESSED ? "received and "
	    "stored" : r->disp == D_DUPLICATE ? "a duplicate: it was "
	    "received before" : "not processed");
	if (r->disp != D_PROCESSED && r->why[0] != '\0')
		buf_printf(&rep, "Reason: %s\r\n", r->why);
	buf_printf(&rep, "\r\n--%s\r\nContent-Type: "
	    "message/disposition-notification\r\nContent-Transfer-Encoding: "
	    "7bit\r\n\r\n", rb);
	buf_printf(&rep, "Reporting-UA: edigate/%s\r\n", PACKAGE_VERSION);
	buf_printf(&rep, "Original-Recipient: rfc822; %s\r\n", r->to);
	buf_printf(&rep, "Final-Recipient: rfc822; %s\r\n", r->to);
	buf_printf(&rep, "Original-Message-ID: %s\r\n", r->msgid);
	if (r->mic[0] != '\0' && (r->disp == D_PROCESSED ||
	    r->disp == D_DUPLICATE))
		buf_printf(&rep, "Received-Content-MIC: %s, %s\r\n", r->mic,
		    as2_md_name(r->micmd));
	buf_printf(&rep, "Disposition: automatic-action/"
	    "MDN-sent-automatically; %s\r\n", disp_text[r->disp]);
	buf_printf(&rep, "\r\n--%s--\r\n", rb);

	new_msgid(r->cf->as2_id, mid, sizeof(mid));
	as2_name_out(r->cf->as2_id ? r->cf->as2_id : "", us, sizeof(us));
	as2_name_out(r->from, them, sizeof(them));
	buf_printf(mh, "AS2-Version: 1.2\r\nAS2-From: %s\r\nAS2-To: %s\r\n"
	    "Message-ID: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n"
	    "Subject: Message Disposition Notification\r\n", us, them, mid,
	    date);
	sign = r->want_signed && as2_keys_have_own(r->gw->as2);
	if (!sign) {
		/* the report's own header becomes the HTTP header */
		struct slice h, b;

		(void)mime_split(slice_make(rep.p, rep.len), &h, &b);
		buf_add(mh, h.p, h.len);
		buf_add(mb, b.p, b.len);
		buf_free(&rep);
		return 0;
	}
	buf_init(&sig, 1 << 20);
	if ((rc = as2_cms_sign(r->gw->as2, r->micmd != AS2_MD_NONE ?
	    r->micmd : AS2_MD_SHA256, rep.p, rep.len, &sig, err,
	    sizeof(err))) != 0) {
		log_warnx("as2: signing the MDN for %s: %s", r->msgid, err);
		buf_free(&sig);
		buf_free(&rep);
		return rc;
	}
	random_boundary(sb, sizeof(sb), "signed");
	buf_printf(mh, "Content-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\"; micalg=%s; "
	    "boundary=\"%s\"\r\n", as2_md_name(r->micmd != AS2_MD_NONE ?
	    r->micmd : AS2_MD_SHA256), sb);
	buf_printf(mb, "--%s\r\n", sb);
	buf_add(mb, rep.p, rep.len);
	buf_printf(mb, "\r\n--%s\r\nContent-Type: application/pkcs7-signature;"
	    " name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n",
	    sb);
	as2_b64_encode(sig.p, sig.len, mb);
	buf_printf(mb, "\r\n--%s--\r\n", sb);
	buf_free(&sig);
	buf_free(&rep);
	return 0;
}

static void
reply_text(struct as2_response *out, unsigned int status, const char *msg)
{
	out->status = status;
	buf_printf(&out->headers, "Content-Type: text/plain\r\n");
	buf_printf(&out->body, "%s\n", msg);
}

/* The stored MDN (headers CRLF body) into the response. */
static void
reply_stored(struct as2_response *out, struct slice mdn)
{
	struct slice	 h, b;

	if (mime_split(mdn, &h, &b) != 0) {
		reply_text(out, 500, "stored MDN unreadable");
		return;
	}
	out->status = 200;
	buf_add(&out->headers, h.p, h.len);
	buf_add(&out->body, b.p, b.len);
}

static const struct partner *
partner_by_as2(const struct conf *cf, const char *name)
{
	size_t	 i;

	for (i = 0; i < cf->npartner; i++)
		if (cf->partner[i].as2_name != NULL &&
		    strcmp(cf->partner[i].as2_name, name) == 0)
			return &cf->partner[i];
	return NULL;
}

static int
yes(const char *v)
{
	return v != NULL && strcmp(v, "yes") == 0;
}

/* The job target of an asynchronous MDN. */
static int
mdn_target(const char *partner, char *out, size_t outsz)
{
	int	 n = snprintf(out, outsz, "as2-mdn:%s", partner);

	return n > 0 && (size_t)n < outsz &&
	    (size_t)n <= EG_MAX_STORE_TARGET ? 0 : -1;
}

/*
 * Commit the message: the payload (or, for a failed one, the request
 * itself, quarantined) with its attachments and, for an async MDN, its
 * send job.  0, or -1 (logged).
 */
static int
commit(struct rx *r, struct slice mdn, uint8_t idout[STORE_ID_LEN])
{
	struct store_ingest_req	 req;
	struct store_attach	 att[3];
	struct store_ctl	 ctl[2];
	struct envelope		 env;
	struct buf		 orig;
	char			 target[EG_MAX_STORE_TARGET + 1];
	char			 idt[STORE_ID_TEXT];
	size_t			 na = 0, nc = 0;
	int			 rc, ok = r->disp == D_PROCESSED;

	memset(&req, 0, sizeof(req));
	memset(&env, 0, sizeof(env));
	buf_init(&orig, AS2_MAX_MIME);
	buf_add(&orig, r->hdrs.p, r->hdrs.len);
	buf_add(&orig, "\r\n", 2);
	buf_add(&orig, r->body.p, r->body.len);
	snprintf(req.doc.partner, sizeof(req.doc.partner), "%s", r->p->id);
	snprintf(req.doc.channel, sizeof(req.doc.channel), "as2:%s",
	    r->p->id);
	/* Longer Message-IDs were refused on receipt (400). */
	if ((size_t)snprintf(req.doc.name, sizeof(req.doc.name), "%s",
	    r->msgid) >= sizeof(req.doc.name)) {
		log_warnx("as2: Message-ID %.64s...: too long to store",
		    r->msgid);
		buf_free(&orig);
		return -1;
	}
	if (ok) {
		req.raw = r->payload;
		(void)envelope_peek(r->payload, &env);
		if (env.syntax != NULL)
			snprintf(req.doc.syntax, sizeof(req.doc.syntax), "%s",
			    env.syntax);
		snprintf(req.doc.sender, sizeof(req.doc.sender), "%s",
		    env.sender);
		snprintf(req.doc.receiver, sizeof(req.doc.receiver), "%s",
		    env.receiver);
		snprintf(req.doc.icn, sizeof(req.doc.icn), "%s", env.control);
		snprintf(req.doc.doctype, sizeof(req.doc.doctype), "%s",
		    env.doctype);
		req.translate = 1;
		ctl[nc].level = STORE_LVL_AS2;
		ctl[nc].sender = "";
		ctl[nc++].number = r->msgid;
		if (env.control[0] != '\0' && env.syntax != NULL &&
		    strcmp(env.syntax, "xml") != 0) {
			ctl[nc].level = strcmp(env.syntax, "x12") == 0 ?
			    STORE_LVL_ISA : STORE_LVL_UNB;
			ctl[nc].sender = env.sender;
			ctl[nc++].number = env.control;
		}
		req.ctl = ctl;
		req.nctl = nc;
	} else {
		req.raw = slice_make(orig.p, orig.len);
		req.doc.state = STORE_DOC_QUARANTINED;
		if (snprintf(req.doc.error, sizeof(req.doc.error),
		    "AS2 %s: %s", disp_text[r->disp], r->why) < 0)
			req.doc.error[0] = '\0';
	}
	att[na].tag = STORE_ATT_SIGNED;
	att[na++].data = slice_make(orig.p, orig.len);
	if (mdn.len > 0) {
		att[na].tag = STORE_ATT_MDN;
		att[na++].data = mdn;
	}
	if (r->async && mdn.len > 0) {
		att[na].tag = STORE_ATT_MDN_URL;
		att[na++].data = slice_cstr(r->rdo);
		if (mdn_target(r->p->id, target, sizeof(target)) == 0)
			req.send_target = target;
	}
	req.att = att;
	req.natt = na;
	rc = store_ingest_batch(r->gw->store, &req, 1);
	if (rc == 0 && req.rc != 0)
		rc = req.rc;
	if (rc != 0) {
		log_warnx("as2: commit of %s from %s failed: %s", r->msgid,
		    r->p->id, store_errmsg());
		buf_free(&orig);
		return -1;
	}
	memcpy(idout, req.res.id, STORE_ID_LEN);
	store_id_format(req.res.id, idt);
	log_info("as2: received doc=%s partner=%s channel=as2 msgid=%s "
	    "bytes=%zu signed=%d encrypted=%d compressed=%d mdn=%s%s%s",
	    idt, r->p->id, r->msgid, req.raw.len, r->signed_, r->encrypted,
	    r->compressed, !r->want_mdn ? "none" : r->async ? "async" :
	    "sync", ok ? "" : " disposition=", ok ? "" : disp_text[r->disp]);
	buf_free(&orig);
	return 0;
}

/* A duplicate: the stored MDN, or a new one saying so.  1 when handled. */
static int
duplicate(struct rx *r, struct as2_response *out)
{
	struct store_rtxn	*rt;
	struct slice		 mdn;
	uint8_t			 id[STORE_ID_LEN];
	char			 idt[STORE_ID_TEXT], target[80];
	int			 rc, have = 0;

	if (store_rtxn_begin(r->gw->store, &rt) != 0)
		return 0;
	rc = store_ctl_get(rt, r->p->id, STORE_LVL_AS2, "", r->msgid, id);
	if (rc != 0) {
		store_rtxn_end(rt);
		return 0;
	}
	store_id_format(id, idt);
	if (store_attach_get(rt, id, STORE_ATT_MDN, &mdn) == 0) {
		have = 1;
		if (r->want_mdn && !r->async)
			reply_stored(out, mdn);
	}
	store_rtxn_end(rt);
	log_info("as2: duplicate msgid=%s partner=%s of doc=%s: %s",
	    r->msgid, r->p->id, idt, have ? "answered with the stored MDN" :
	    "not processed again");
	if (have && r->want_mdn && r->async) {
		if (mdn_target(r->p->id, target, sizeof(target)) == 0 &&
		    store_attach_put(r->gw->store, id, STORE_ATT_MDN_URL,
		    slice_cstr(r->rdo)) == 0 &&
		    store_job_add(r->gw->store, STORE_JOB_SEND, id, target,
		    store_now(), NULL) == 0)
			wake_signal(&r->gw->outbox_wake);
		out->status = 200;
		return 1;
	}
	if (have)
		return 1;
	/* no MDN stored: say it is a duplicate (sync only) */
	r->disp = D_DUPLICATE;
	if (r->want_mdn && !r->async) {
		struct buf	 mh, mb;

		buf_init(&mh, 64 * 1024);
		buf_init(&mb, 4 << 20);
		if (build_mdn(r, &mh, &mb) == 0) {
			out->status = 200;
			buf_add(&out->headers, mh.p, mh.len);
			buf_add(&out->body, mb.p, mb.len);
		} else
			reply_text(out, 500, "cannot build the MDN");
		buf_free(&mh);
		buf_free(&mb);
	} else
		out->status = 200;
	return 1;
}

static void	receive_mdn(struct gateway *, struct slice hdrs,
		    struct slice body, struct as2_response *out);

static void
receive_locked(struct rx *r, struct as2_response *out)
{
	struct buf	 top, mh, mb, mdn;
	char		 ct[AS2_MAX_HDR], cte[64], base[128];
	uint8_t		 id[STORE_ID_LEN];
	int		 failed;

	hdr_get(r->hdrs, "AS2-From", r->from, sizeof(r->from));
	hdr_get(r->hdrs, "AS2-To", r->to, sizeof(r->to));
	strip_quotes(r->from);
	strip_quotes(r->to);
	if (hdr_get(r->hdrs, "Message-ID", r->msgid, sizeof(r->msgid)) != 0)
		r->msgid[0] = '\0';
	if (hdr_get(r->hdrs, "Content-Type", ct, sizeof(ct)) != 0) {
		reply_text(out, 400, "no Content-Type");
		return;
	}
	ctype_base(ct, base, sizeof(base));
	if (strcmp(base, "multipart/report") == 0 || (strcmp(base,
	    "multipart/signed") == 0 && hdr_get(r->hdrs,
	    "Disposition-Notification-To", r->dnt, sizeof(r->dnt)) != 0 &&
	    strcasestr(r->body.p ? r->body.p : "", "disposition-notification")
	    != NULL && r->body.len < (1 << 20))) {
		receive_mdn(r->gw, r->hdrs, r->body, out);
		return;
	}
	if (r->from[0] == '\0' || r->to[0] == '\0' || r->msgid[0] == '\0') {
		reply_text(out, 400, "AS2-From, AS2-To and Message-ID are "
		    "required");
		return;
	}
	if (strlen(r->msgid) > EG_MAX_STORE_FIELD) {
		reply_text(out, 400, "Message-ID too long");
		return;
	}
	if (r->cf->as2_id == NULL || strcmp(r->to, r->cf->as2_id) != 0) {
		log_warnx("as2: message %s for AS2-To \"%s\": not us", r->msgid,
		    r->to);
		reply_text(out, 403, "unknown AS2-To");
		return;
	}
	if ((r->p = partner_by_as2(r->cf, r->from)) == NULL) {
		log_warnx("as2: message %s from unknown AS2-From \"%s\"",
		    r->msgid, r->from);
		reply_text(out, 403, "unknown AS2-From");
		return;
	}
	r->want_mdn = hdr_get(r->hdrs, "Disposition-Notification-To", r->dnt,
	    sizeof(r->dnt)) == 0;
	hdr_get(r->hdrs, "Disposition-Notification-Options", r->dno,
	    sizeof(r->dno));
	if (r->want_mdn && hdr_get(r->hdrs, "Receipt-Delivery-Option",
	    r->rdo, sizeof(r->rdo)) == 0 && r->rdo[0] != '\0')
		r->async = 1;
	parse_dno(r);

	/* the top-level entity: the HTTP Content-Type and the body */
	buf_init(&top, AS2_MAX_MIME);
	buf_printf(&top, "Content-Type: %s\r\n", ct);
	if (hdr_get(r->hdrs, "Content-Transfer-Encoding", cte, sizeof(cte)) ==
	    0)
		buf_printf(&top, "Content-Transfer-Encoding: %s\r\n", cte);
	buf_add(&top, "\r\n", 2);
	buf_add(&top, r->body.p, r->body.len);
	r->disp = D_PROCESSED;
	failed = unwrap(r, slice_make(top.p, top.len)) != 0;
	if (!failed && yes(r->p->as2_require_signed) && !r->signed_)
		failed = rx_fail(r, D_AUTH, "unsigned message refused: the "
		    "partner profile requires a signature");
	if (!failed && yes(r->p->as2_require_encrypted) && !r->encrypted)
		failed = rx_fail(r, D_DECRYPT, "unencrypted message refused: "
		    "the partner profile requires encryption");
	if (!failed && duplicate(r, out)) {
		buf_free(&top);
		return;
	}
	if (failed)
		log_warnx("as2: message %s from %s: %s: %s", r->msgid, r->p->id,
		    disp_text[r->disp], r->why);

	buf_init(&mh, 64 * 1024);
	buf_init(&mb, 4 << 20);
	buf_init(&mdn, 5 << 20);
	if (r->want_mdn) {
		if (build_mdn(r, &mh, &mb) != 0) {
			reply_text(out, 500, "cannot build the MDN");
			goto done;
		}
		buf_add(&mdn, mh.p, mh.len);
		buf_add(&mdn, "\r\n", 2);
		buf_add(&mdn, mb.p, mb.len);
	}
	/* durable before acknowledged */
	if (commit(r, slice_make(mdn.p, mdn.len), id) != 0) {
		if (!failed) {
			reply_text(out, 503, "store unavailable: not received, "
			    "send again");
			goto done;
		}
		/* a failure MDN does not need the commit */
	} else {
		if (!failed)
			wake_signal(&r->gw->pipeline_wake);
		if (r->async)
			wake_signal(&r->gw->outbox_wake);
	}
	FAILPOINT("as2-after-commit");
	out->status = 200;
	if (r->want_mdn && !r->async) {
		buf_add(&out->headers, mh.p, mh.len);
		buf_add(&out->body, mb.p, mb.len);
	}
done:
	buf_free(&mh);
	buf_free(&mb);
	buf_free(&mdn);
	buf_free(&top);
}

void
as2_receive(struct gateway *gw, const char *hdrs, size_t hlen,
    const char *body, size_t blen, struct as2_response *out)
{
	struct rx	*r;
	size_t		 i;

	r = xcalloc(1, sizeof(*r));
	r->gw = gw;
	r->hdrs = slice_make(hdrs, hlen);
	r->body = slice_make(body ? body : "", blen);
	pthread_rwlock_rdlock(&gw->lock);
	r->cf = gw->conf;
	receive_locked(r, out);
	pthread_rwlock_unlock(&gw->lock);
	metrics_as2_message(0);
	if (r->disp >= 0 && (size_t)r->disp < sizeof(disp_text) /
	    sizeof(disp_text[0]))
		metrics_as2_mdn(0, disp_text[r->disp]);
	for (i = 0; i < r->nbufs; i++)
		buf_free(&r->bufs[i]);
	free(r);
}

/* --- MDNs for what we sent --- */

struct mdn_info {
	int		 signed_;	/* multipart/signed and verified */
	char		 orig[512];	/* Original-Message-ID */
	char		 disp[512];	/* Disposition */
	char		 mic[256];	/* Received-Content-MIC */
};

/* A field of the disposition notification (text search), trimmed. */
static void
mdn_field(const char *text, const char *name, char *out, size_t outsz)
{
	const char	*p = text, *e;
	size_t		 nl = strlen(name), l;

	out[0] = '\0';
	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[nl] == ':')
			break;
		p += nl;
	}
	if (p == NULL)
		return;
	p += nl + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strcspn(p, "\r\n");
	l = (size_t)(e - p);
	if (l >= outsz)
		l = outsz - 1;
	memcpy(out, p, l);
	out[l] = '\0';
	while (l > 0 && isspace((unsigned char)out[l - 1]))
		out[--l] = '\0';
}

/*
 * Parse an MDN (HTTP headers and body) from partner: a signed one must
 * verify against the partner's certificate.  0, or an error with err.
 */
static int
mdn_parse(struct gateway *gw, const char *partner, struct slice hdrs,
    struct slice body, struct mdn_info *mi, char *err, size_t errsz)
{
	struct slice	 content, sig, sh, sb;
	struct buf	 der, b64, text;
	char		 ct[AS2_MAX_HDR], base[128], bnd[200];
	enum as2_md	 md;
	int		 rc;

	memset(mi, 0, sizeof(*mi));
	if (hdr_get(hdrs, "Content-Type", ct, sizeof(ct)) != 0) {
		snprintf(err, errsz, "MDN without Content-Type");
		return EG_ERR_SYNTAX;
	}
	ctype_base(ct, base, sizeof(base));
	content = body;
	if (strcmp(base, "multipart/signed") == 0) {
		if (param_get(ct, "boundary", bnd, sizeof(bnd)) != 0 ||
		    split_signed(body, bnd, &content, &sig) != 0 ||
		    mime_split(sig, &sh, &sb) != 0) {
			snprintf(err, errsz, "signed MDN without two parts");
			return EG_ERR_SYNTAX;
		}
		buf_init(&der, 1 << 20);
		buf_init(&b64, 1 << 20);
		rc = decode_cte(sh, sb, &der);
		if (rc == 0 && der.len > 0 && (unsigned char)der.p[0] != 0x30 &&
		    as2_b64_decode(der.p, der.len, &b64) == 0) {
			buf_reset(&der);
			buf_add(&der, b64.p, b64.len);
		}
		if (rc == 0)
			rc = as2_cms_verify_detached(gw->as2, partner,
			    content.p, content.len, der.p, der.len, &md, err,
			    errsz);
		if (rc != 0 && has_bare_lf(content)) {
			struct buf	 c;

			buf_init(&c, AS2_MAX_MIME);
			crlf_canon(content, &c);
			if (as2_cms_verify_detached(gw->as2, partner, c.p,
			    c.len, der.p, der.len, &md, err, errsz) == 0)
				rc = 0;
			buf_free(&c);
		}
		buf_free(&der);
		buf_free(&b64);
		if (rc != 0)
			return EG_ERR_REJECTED;
		mi->signed_ = 1;
	}
	buf_init(&text, AS2_MAX_MIME);
	buf_add(&text, content.p, content.len);
	mdn_field(text.p ? text.p : "", "Original-Message-ID", mi->orig,
	    sizeof(mi->orig));
	mdn_field(text.p ? text.p : "", "Disposition", mi->disp,
	    sizeof(mi->disp));
	mdn_field(text.p ? text.p : "", "Received-Content-MIC", mi->mic,
	    sizeof(mi->mic));
	buf_free(&text);
	if (mi->disp[0] == '\0') {
		snprintf(err, errsz, "MDN without a Disposition");
		return EG_ERR_SYNTAX;
	}
	return 0;
}

/* "processed" with no modifier. */
static int
disp_ok(const char *d)
{
	const char	*p = strchr(d, ';');

	if (p == NULL)
		return 0;
	p++;
	while (*p == ' ')
		p++;
	return strncasecmp(p, "processed", 9) == 0 && strchr(p, '/') == NULL;
}

/* Compare "b64, alg" MICs: the value exactly, the algorithm loosely. */
static int
mic_equal(const char *got, const char *want)
{
	size_t	 gl = strcspn(got, ","), wl = strcspn(want, ",");
	const char *ga = got + gl, *wa = want + wl;

	if (gl != wl || strncmp(got, want, gl) != 0)
		return 0;
	if (*ga == ',')
		ga++;
	if (*wa == ',')
		wa++;
	return as2_md_parse(ga, strlen(ga)) == as2_md_parse(wa, strlen(wa));
}

/* The outcome of an MDN for what we sent: state and reason. */
static void
mdn_judge(const struct mdn_info *mi, const char *mic, int want_signed,
    enum store_ack_state *st, char *reason, size_t rsz)
{
	*st = STORE_ACK_REJECTED;
	if (!disp_ok(mi->disp))
		snprintf(reason, rsz, "MDN: %s", mi->disp);
	else if (want_signed && !mi->signed_)
		snprintf(reason, rsz, "MDN not signed as asked");
	else if (mic != NULL && mic[0] != '\0' && !mic_equal(mi->mic, mic))
		snprintf(reason, rsz, "MDN MIC \"%s\" is not ours \"%s\"",
		    mi->mic, mic);
	else {
		*st = STORE_ACK_ACCEPTED;
		snprintf(reason, rsz, "MDN processed, MIC %s", mi->mic);
	}
}

/* The document id in a Message-ID we made: "<id@us>". */
static int
msgid_doc(const char *msgid, uint8_t id[STORE_ID_LEN])
{
	char	 t[64];
	const char *p = msgid, *e;

	if (*p == '<')
		p++;
	if ((e = strchr(p, '@')) == NULL || (size_t)(e - p) >= sizeof(t))
		return EG_ERR_INVAL;
	memcpy(t, p, (size_t)(e - p));
	t[e - p] = '\0';
	return store_id_parse(t, id);
}

/* POST /as2 with a multipart/report: an asynchronous MDN for us. */
static void
receive_mdn(struct gateway *gw, struct slice hdrs, struct slice body,
    struct as2_response *out)
{
	struct store_resolve	 res;
	struct store_rtxn	*rt;
	struct store_doc	 doc;
	struct slice		 mic;
	struct mdn_info		 mi;
	const struct partner	*p;
	uint8_t			 id[STORE_ID_LEN];
	char			 from[256], err[512], reason[600];
	char			 micbuf[256], msgid[512], ptn[STORE_FIELD];
	enum store_ack_state	 st;
	int			 rc;

	hdr_get(hdrs, "AS2-From", from, sizeof(from));
	strip_quotes(from);
	/* the caller holds the read lock */
	if ((p = partner_by_as2(gw->conf, from)) == NULL) {
		reply_text(out, 403, "unknown AS2-From");
		return;
	}
	snprintf(ptn, sizeof(ptn), "%s", p->id);
	if ((rc = mdn_parse(gw, ptn, hdrs, body, &mi, err, sizeof(err))) !=
	    0) {
		log_warnx("as2: MDN from %s unusable: %s", ptn, err);
		reply_text(out, rc == EG_ERR_REJECTED ? 403 : 400, err);
		return;
	}
	snprintf(msgid, sizeof(msgid), "%s", mi.orig);
	micbuf[0] = '\0';
	if (msgid_doc(msgid, id) != 0 || store_rtxn_begin(gw->store, &rt) !=
	    0) {
		log_warnx("as2: MDN from %s for unknown message %s", ptn,
		    msgid);
		reply_text(out, 200, "MDN for an unknown message");
		return;
	}
	rc = store_doc_get(rt, id, &doc);
	if (rc == 0 && store_attach_get(rt, id, STORE_ATT_MIC, &mic) == 0 &&
	    mic.len < sizeof(micbuf)) {
		memcpy(micbuf, mic.p, mic.len);
		micbuf[mic.len] = '\0';
	}
	store_rtxn_end(rt);
	if (rc != 0 || strcmp(doc.partner, ptn) != 0) {
		log_warnx("as2: MDN from %s for message %s not sent to it",
		    ptn, msgid);
		reply_text(out, 200, "MDN for an unknown message");
		return;
	}
	mdn_judge(&mi, micbuf, p->as2_mdn != NULL &&
	    strstr(p->as2_mdn, "signed") != NULL, &st, reason,
	    sizeof(reason));
	memset(&res, 0, sizeof(res));
	res.kind = STORE_ACK_MDN;
	res.partner = ptn;
	res.ref = msgid;
	res.state = st;
	res.reason = reason;
	memcpy(res.by, id, STORE_ID_LEN);
	if (store_ack_resolve(gw->store, &res) != 0) {
		reply_text(out, 503, "store unavailable");
		return;
	}
	log_info("as2: MDN partner=%s msgid=%s state=%s resolved=%s "
	    "reason=\"%s\"", ptn, msgid, store_ack_state_name(st),
	    res.found ? "yes" : "no", reason);
	reply_text(out, 200, "MDN taken");
}

/* --- sending over HTTP --- */

static size_t
curl_sink(char *p, size_t sz, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (buf_add(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

static pthread_once_t	 as2_curl_once = PTHREAD_ONCE_INIT;

/* Reference-counted by libcurl: the forwarder may have done it too. */
static void
as2_curl_init(void)
{
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl's progress callback: give up when the daemon stops. */
static int
post_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)dt; (void)dn; (void)ut; (void)un;
	return atomic_load((atomic_int *)arg) != 0;
}

/*
 * POST body with the header lines of hdrs; status, response headers and
 * body.  0, or EG_ERR_IO (connection, timeout, the daemon stopping:
 * *stop set) with err.
 */
static int
http_post(const char *url, struct slice hdrs, struct slice body,
    long *status, struct buf *rh, struct buf *rb, atomic_int *stop,
    char *err, size_t errsz)
{
	CURL		*c;
	struct curl_slist *sl = NULL;
	CURLcode	 cc;
	char		*copy, *line, *save;

	pthread_once(&as2_curl_once, as2_curl_init);
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errsz, "curl_easy_init");
		return EG_ERR_INTERNAL;
	}
	copy = xstrndup(hdrs.p, hdrs.len);
	for (line = strtok_r(copy, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		sl = curl_slist_append(sl, line);
	sl = curl_slist_append(sl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)body.len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rh);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, post_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, stop);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(err, errsz, "POST %s: %s", url,
		    curl_easy_strerror(cc));
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	free(copy);
	return cc == CURLE_OK ? 0 : EG_ERR_IO;
}

/* The last response's header block (after redirects, 100 Continue). */
static struct slice
last_headers(const struct buf *rh)
{
	const char	*p = rh->p ? rh->p : "", *s = p, *q;

	for (q = p; (q = strstr(q, "HTTP/")) != NULL; q++)
		if (q == p || q[-1] == '\n')
			s = q;
	/* skip the status line */
	q = strchr(s, '\n');
	s = q ? q + 1 : s;
	return slice_make(s, strlen(s));
}

/* 2xx ok; 408, 429, 5xx temporary; other 4xx permanent. */
static int
status_rc(long st)
{
	if (st >= 200 && st < 300)
		return 0;
	if (st == 408 || st == 429 || st >= 500)
		return EG_ERR_IO;
	return EG_ERR_REJECTED;
}

int
as2_send_mdn(struct gateway *gw, const uint8_t doc[STORE_ID_LEN], char *err,
    size_t errsz)
{
	struct store_rtxn	*rt;
	struct slice		 m, u, h, b;
	struct buf		 rh, rb;
	char			*mdn = NULL, *url = NULL;
	size_t			 mlen = 0;
	long			 st = 0;
	int			 rc;

	if ((rc = store_rtxn_begin(gw->store, &rt)) != 0) {
		snprintf(err, errsz, "store: %s", store_errmsg());
		return EG_ERR_IO;
	}
	if ((rc = store_attach_get(rt, doc, STORE_ATT_MDN, &m)) == 0 &&
	    (rc = store_attach_get(rt, doc, STORE_ATT_MDN_URL, &u)) == 0) {
		mdn = xmalloc(m.len + 1);
		memcpy(mdn, m.p, m.len);
		mlen = m.len;
		url = xstrndup(u.p, u.len);
	}
	store_rtxn_end(rt);
	if (rc != 0) {
		snprintf(err, errsz, "no stored MDN or URL");
		return EG_ERR_REJECTED;
	}
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errsz, "Receipt-Delivery-Option %s: not HTTP",
		    url);
		free(mdn);
		free(url);
		return EG_ERR_REJECTED;
	}
	if (mime_split(slice_make(mdn, mlen), &h, &b) != 0) {
		snprintf(err, errsz, "stored MDN unreadable");
		free(mdn);
		free(url);
		return EG_ERR_REJECTED;
	}
	buf_init(&rh, 64 * 1024);
	buf_init(&rb, 64 * 1024);
	rc = http_post(url, h, b, &st, &rh, &rb, &gw->stopping, err, errsz);
	if (rc == 0 && (rc = status_rc(st)) != 0)
		snprintf(err, errsz, "POST %s: HTTP %ld", url, st);
	buf_free(&rh);
	buf_free(&rb);
	free(mdn);
	free(url);
	return rc;
}

struct profile {
	char	 id[STORE_FIELD], name[256], url[1024], us[256];
	char	 mdn_url[1024], sign[16], encrypt[16], mdn[16];
	int	 compress, oaep;
	int	 base64;		/* [as2] transfer = base64 */
};

static int
profile_get(struct gateway *gw, const char *partner, struct profile *pr)
{
	const struct partner *p;
	int	 rc = 0;

	memset(pr, 0, sizeof(*pr));
	pthread_rwlock_rdlock(&gw->lock);
	if ((p = conf_partner(gw->conf, partner)) == NULL ||
	    p->as2_url == NULL || p->as2_name == NULL ||
	    gw->conf->as2_id == NULL)
		rc = EG_ERR_INVAL;
	else {
		snprintf(pr->id, sizeof(pr->id), "%s", p->id);
		snprintf(pr->name, sizeof(pr->name), "%s", p->as2_name);
		snprintf(pr->url, sizeof(pr->url), "%s", p->as2_url);
		snprintf(pr->us, sizeof(pr->us), "%s", gw->conf->as2_id);
		snprintf(pr->mdn_url, sizeof(pr->mdn_url), "%s",
		    gw->conf->as2_mdn_url ? gw->conf->as2_mdn_url : "");
		snprintf(pr->sign, sizeof(pr->sign), "%s", p->as2_sign);
		snprintf(pr->encrypt, sizeof(pr->encrypt), "%s",
		    p->as2_encrypt);
		snprintf(pr->mdn, sizeof(pr->mdn), "%s", p->as2_mdn);
		pr->compress = yes(p->as2_compress);
		pr->base64 = p->as2_transfer != NULL &&
		    strcmp(p->as2_transfer, "base64") == 0;
		pr->oaep = yes(p->as2_oaep);
	}
	pthread_rwlock_unlock(&gw->lock);
	return rc;
}

static const char *
content_type(const struct store_doc *d)
{
	if (strcmp(d->syntax, "x12") == 0)
		return "application/edi-x12";
	if (strcmp(d->syntax, "edifact") == 0)
		return "application/edifact";
	if (strcmp(d->syntax, "xml") == 0)
		return "application/xml";
	return "application/octet-stream";
}

/*
 * The message for raw: entity, compressed, signed, encrypted, into the
 * HTTP Content-Type (ct) and body; mic gets "b64, alg".
 */
static int
build_message(struct gateway *gw, const struct profile *pr,
    const struct store_doc *d, struct slice raw, char *ct, size_t ctsz,
    struct buf *body, char *mic, size_t micsz, char *err, size_t errsz)
{
	struct buf	 ent, tmp, sig;
	struct slice	 h, b;
	char		 bnd[128], m[128], ctv[AS2_MAX_HDR];
	enum as2_md	 md = as2_md_parse(pr->sign, strlen(pr->sign));
	int		 rc = 0;

	buf_init(&ent, AS2_MAX_MIME);
	buf_init(&tmp, AS2_MAX_MIME);
	buf_init(&sig, 1 << 20);
	buf_printf(&ent, "Content-Type: %s\r\nContent-Transfer-Encoding: "
	    "%s\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
	    "\r\n", content_type(d), pr->base64 ? "base64" : "binary",
	    d->name);
	if (pr->base64)
		as2_b64_encode(raw.p, raw.len, &ent);
	else
		buf_add(&ent, raw.p, raw.len);
	if (pr->compress) {
		if ((rc = as2_cms_compress(ent.p, ent.len, &tmp, err,
		    errsz)) != 0)
			goto out;
		buf_reset(&ent);
		buf_printf(&ent, "Content-Type: application/pkcs7-mime; "
		    "smime-type=compressed-data; name=\"smime.p7z\"\r\n"
		    "Content-Transfer-Encoding: binary\r\n"
		    "Content-Disposition: attachment; filename=\"smime.p7z\""
		    "\r\n\r\n");
		buf_add(&ent, tmp.p, tmp.len);
		buf_reset(&tmp);
	}
	(void)as2_mic(md != AS2_MD_NONE ? md : AS2_MD_SHA256, ent.p, ent.len,
	    m, sizeof(m));
	snprintf(mic, micsz, "%s, %s", m, as2_md_name(md != AS2_MD_NONE ?
	    md : AS2_MD_SHA256));
	if (md != AS2_MD_NONE) {
		if ((rc = as2_cms_sign(gw->as2, md, ent.p, ent.len, &sig, err,
		    errsz)) != 0)
			goto out;
		random_boundary(bnd, sizeof(bnd), "signed");
		buf_printf(&tmp, "Content-Type: multipart/signed; "
		    "protocol=\"application/pkcs7-signature\"; micalg=%s; "
		    "boundary=\"%s\"\r\n\r\n--%s\r\n", as2_md_name(md), bnd,
		    bnd);
		buf_add(&tmp, ent.p, ent.len);
		buf_printf(&tmp, "\r\n--%s\r\nContent-Type: "
		    "application/pkcs7-signature; name=\"smime.p7s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\nContent-Disposition:"
		    " attachment; filename=\"smime.p7s\"\r\n\r\n", bnd);
		as2_b64_encode(sig.p, sig.len, &tmp);
		buf_printf(&tmp, "--%s--\r\n", bnd);
		buf_reset(&ent);
		buf_add(&ent, tmp.p, tmp.len);
		buf_reset(&tmp);
	}
	if (strcmp(pr->encrypt, "none") != 0) {
		if ((rc = as2_cms_encrypt(gw->as2, pr->id, pr->encrypt,
		    pr->oaep, ent.p, ent.len, pr->base64 ? &tmp : body, err,
		    errsz)) != 0)
			goto out;
		if (pr->base64)		/* the HTTP body in base64 */
			as2_b64_encode(tmp.p, tmp.len, body);
		snprintf(ct, ctsz, "application/pkcs7-mime; "
		    "smime-type=enveloped-data; name=\"smime.p7m\"");
		goto out;
	}
	/* unencrypted: the entity's Content-Type becomes the HTTP one */
	if (mime_split(slice_make(ent.p, ent.len), &h, &b) != 0 ||
	    hdr_get(h, "Content-Type", ctv, sizeof(ctv)) != 0) {
		snprintf(err, errsz, "internal: entity");
		rc = EG_ERR_INTERNAL;
		goto out;
	}
	if ((size_t)snprintf(ct, ctsz, "%s", ctv) >= ctsz) {
		snprintf(err, errsz, "internal: Content-Type too long");
		rc = EG_ERR_INTERNAL;
		goto out;
	}
	buf_add(body, b.p, b.len);
out:
	buf_free(&ent);
	buf_free(&tmp);
	buf_free(&sig);
	return rc;
}

int
as2_send(struct gateway *gw, const char *partner,
    const uint8_t docid[STORE_ID_LEN], struct as2_sent *out, char *err,
    size_t errsz)
{
	struct profile		 pr;
	struct store_rtxn	*rt;
	struct store_doc	 d;
	struct store_expect	 ex;
	struct slice		 raw;
	struct buf		 body, hd, rh, rb;
	struct mdn_info		 mi;
	char			*copy = NULL, ct[512], mic[160], us[300];
	char			 them[300], date[64], idt[STORE_ID_TEXT];
	time_t			 now = time(NULL);
	struct tm		 tm;
	long			 st = 0;
	int			 rc, want_mdn, async, msigned;

	memset(out, 0, sizeof(*out));
	if (profile_get(gw, partner, &pr) != 0) {
		snprintf(err, errsz, "partner %s has no [as2] url and id, or "
		    "[identity] as2_id is unset", partner);
		return EG_ERR_IO;	/* a reload may fix it: retry */
	}
	if ((rc = store_rtxn_begin(gw->store, &rt)) != 0) {
		snprintf(err, errsz, "store: %s", store_errmsg());
		return EG_ERR_IO;
	}
	if ((rc = store_doc_get(rt, docid, &d)) == 0 &&
	    (rc = store_blob_get(rt, docid, &raw)) == 0) {
		copy = xmalloc(raw.len + 1);
		memcpy(copy, raw.p, raw.len);
	}
	store_rtxn_end(rt);
	if (rc != 0) {
		snprintf(err, errsz, "outbound document: %s", eg_strerror(rc));
		return EG_ERR_REJECTED;
	}
	want_mdn = strcmp(pr.mdn, "none") != 0;
	async = strncmp(pr.mdn, "async", 5) == 0;
	msigned = strstr(pr.mdn, "signed") != NULL;
	if (async && pr.mdn_url[0] == '\0') {
		snprintf(err, errsz, "[as2] mdn_url is unset: no async MDN");
		free(copy);
		return EG_ERR_IO;
	}
	/* the same Message-ID on every attempt: the receiver dedups */
	store_id_format(docid, idt);
	new_msgid(pr.us, out->msgid, sizeof(out->msgid));
	{
		const char *at = strchr(out->msgid, '@');

		snprintf(out->msgid, sizeof(out->msgid), "<%s%s", idt,
		    at ? at : "@edigate>");
	}
	buf_init(&body, AS2_MAX_MIME);
	pthread_rwlock_rdlock(&gw->lock);
	rc = build_message(gw, &pr, &d, slice_make(copy, raw.len), ct,
	    sizeof(ct), &body, mic, sizeof(mic), err, errsz);
	pthread_rwlock_unlock(&gw->lock);
	free(copy);
	if (rc != 0) {
		buf_free(&body);
		return rc == EG_ERR_INVAL ? EG_ERR_IO : rc;
	}
	/* the MIC an MDN must return, and the expectation, before the POST */
	if (want_mdn) {
		memset(&ex, 0, sizeof(ex));
		ex.kind = STORE_ACK_MDN;
		ex.partner = pr.id;
		ex.ref = out->msgid;
		memcpy(ex.doc, docid, STORE_ID_LEN);
		ex.due = store_now() + 30LL * 60 * 1000;
		if (store_attach_put(gw->store, docid, STORE_ATT_MIC,
		    slice_cstr(mic)) != 0 || store_ack_expect(gw->store,
		    &ex) != 0) {
			snprintf(err, errsz, "store: %s", store_errmsg());
			buf_free(&body);
			return EG_ERR_IO;
		}
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	as2_name_out(pr.us, us, sizeof(us));
	as2_name_out(pr.name, them, sizeof(them));
	buf_init(&hd, 64 * 1024);
	buf_printf(&hd, "AS2-Version: 1.2\r\nAS2-From: %s\r\nAS2-To: %s\r\n"
	    "Message-ID: %s\r\nDate: %s\r\nSubject: %s\r\nMIME-Version: 1.0"
	    "\r\nContent-Type: %s\r\nContent-Transfer-Encoding: %s\r\n"
	    "EDIINT-Features: multiple-attachments\r\n", us, them,
	    out->msgid, date, d.name, ct, pr.base64 &&
	    strstr(ct, "multipart/") == NULL ? "base64" : "binary");
	if (strstr(ct, "enveloped-data") != NULL)
		buf_printf(&hd, "Content-Disposition: attachment; "
		    "filename=\"smime.p7m\"\r\n");
	if (want_mdn) {
		buf_printf(&hd, "Disposition-Notification-To: %s\r\n",
		    async ? pr.mdn_url : pr.us);
		if (msigned)
			buf_printf(&hd, "Disposition-Notification-Options: "
			    "signed-receipt-protocol=optional, "
			    "pkcs7-signature; signed-receipt-micalg=optional, "
			    "%s\r\n", strchr(mic, ',') + 2);
		if (async)
			buf_printf(&hd, "Receipt-Delivery-Option: %s\r\n",
			    pr.mdn_url);
	}
	buf_init(&rh, 64 * 1024);
	buf_init(&rb, 4 << 20);
	rc = http_post(pr.url, slice_make(hd.p, hd.len), slice_make(body.p,
	    body.len), &st, &rh, &rb, &gw->stopping, err, errsz);
	FAILPOINT("as2-after-post");
	if (rc == 0 && (rc = status_rc(st)) != 0)
		snprintf(err, errsz, "POST %s: HTTP %ld", pr.url, st);
	if (rc == 0 && want_mdn && !async) {
		pthread_rwlock_rdlock(&gw->lock);
		rc = mdn_parse(gw, pr.id, last_headers(&rh), slice_make(rb.p ?
		    rb.p : "", rb.len), &mi, err, errsz);
		pthread_rwlock_unlock(&gw->lock);
		out->resolved = 1;
		if (rc != 0) {
			/* delivered, but the receipt is unusable */
			out->state = STORE_ACK_REJECTED;
			snprintf(out->reason, sizeof(out->reason),
			    "MDN unusable: %s", err);
			rc = 0;
		} else
			mdn_judge(&mi, mic, msigned, &out->state,
			    out->reason, sizeof(out->reason));
	}
	if (rc == 0 && want_mdn && async)
		out->mdn_due = 1;
	if (rc == 0)
		metrics_as2_message(1);
	if (out->resolved)
		metrics_as2_mdn(1, out->state == STORE_ACK_ACCEPTED ?
		    "processed" : "failed");
	log_info("as2: sent doc=%s partner=%s msgid=%s bytes=%zu http=%ld "
	    "mic=\"%s\"%s%s%s", idt, pr.id, out->msgid, body.len, st, mic,
	    out->resolved ? " mdn=\"" : "", out->resolved ? out->reason : "",
	    out->resolved ? "\"" : "");
	buf_free(&hd);
	buf_free(&rh);
	buf_free(&rb);
	buf_free(&body);
	return rc;
}
