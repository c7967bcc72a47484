/*
 * as2_cms.c: OpenSSL CMS for AS2 (as2_cms.h).  The private key lives in
 * struct as2_keys and is used only here (DESIGN.md §3).
 *
 * Compressed-data (RFC 5402): Debian's OpenSSL is built without zlib, so
 * CMS_uncompress() fails there.  The structure is parsed with OpenSSL
 * (d2i_CMS_ContentInfo, CMS_get0_content) and its content inflated with
 * zlib; outbound, the DER is written here and the content deflated with
 * zlib (the zlib format, with header and Adler-32, as RFC 1950 and
 * RFC 3274 say).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "as2_cms.h"
#include "eglimits.h"
#include "files.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "xmalloc.h"

#define AS2_MAX_CONTENT	(2048ULL * 1024 * 1024)
#define WARN_DAYS	30

struct pcert {
	char	*partner;
	X509	*cert;
	int	 expired;	/* accepted for verifying only */
};

struct as2_keys {
	EVP_PKEY	*key;		/* ours */
	X509		*cert;
	struct pcert	*pc;
	size_t		 npc;
};

/* err = msg plus the first OpenSSL error of the queue; queue cleared. */
static int
fail(char *err, size_t errsz, int rc, const char *msg)
{
	unsigned long	 e;
	char		 ossl[256];

	e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s%s%s", msg, e ? ": " : "",
		    e ? ossl : "");
	ERR_clear_error();
	return rc;
}

static int
bio_to_buf(BIO *b, struct buf *out)
{
	char	 tmp[16384];
	int	 n;

	while ((n = BIO_read(b, tmp, sizeof(tmp))) > 0)
		if (buf_add(out, tmp, (size_t)n) != 0)
			return EG_ERR_LIMIT;
	return 0;
}

/* --- loading --- */

/* A secret file must be ours alone: no group or other bits. */
static int
private_file(const char *what, const char *path, struct buf *errs)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		buf_printf(errs, "%s %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		buf_printf(errs, "%s %s: readable or writable by group or "
		    "others (mode %03o): refused; chmod 600 it\n", what, path,
		    (unsigned int)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* Days until notAfter (negative: expired). */
static int
days_left(const X509 *x)
{
	int	 day, sec;

	if (!ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x)))
		return 0;
	return day;
}

static int
check_valid(const char *what, const char *path, X509 *x, struct buf *errs,
    struct buf *warns)
{
	int	 d;

	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		buf_printf(errs, "%s %s: certificate expired\n", what, path);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		buf_printf(errs, "%s %s: certificate not yet valid\n", what,
		    path);
		return -1;
	}
	if ((d = days_left(x)) < WARN_DAYS && warns != NULL)
		buf_printf(warns, "%s %s: certificate expires in %d days\n",
		    what, path, d);
	return 0;
}

static X509 *
load_cert(const char *what, const char *path, struct buf *errs)
{
	BIO	*b;
	X509	*x = NULL;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		buf_printf(errs, "%s %s: %s\n", what, path, strerror(errno));
		ERR_clear_error();
		return NULL;
	}
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (x == NULL) {
		/* DER, as some partners hand them over */
		(void)BIO_reset(b);
		x = d2i_X509_bio(b, NULL);
	}
	BIO_free(b);
	if (x == NULL)
		buf_printf(errs, "%s %s: not a PEM or DER certificate\n", what,
		    path);
	ERR_clear_error();
	return x;
}

static int
read_password(const char *path, char *out, size_t outsz, struct buf *errs)
{
	char	 err[EG_MAX_PATH + 256];

	if (files_secret("[as2] password_file", path, out, outsz, err,
	    sizeof(err)) != 0) {
		buf_printf(errs, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
load_p12(struct as2_keys *k, const struct conf *cf, struct buf *errs)
{
	PKCS12	*p12;
	BIO	*b;
	char	 pw[1024];
	int	 ok;

	pw[0] = '\0';
	if (cf->as2_password_file != NULL &&
	    read_password(cf->as2_password_file, pw, sizeof(pw), errs) != 0)
		return -1;
	if ((b = BIO_new_file(cf->as2_key, "rb")) == NULL) {
		buf_printf(errs, "[as2] key %s: %s\n", cf->as2_key,
		    strerror(errno));
		return -1;
	}
	p12 = d2i_PKCS12_bio(b, NULL);
	BIO_free(b);
	if (p12 == NULL) {
		buf_printf(errs, "[as2] key %s: neither PEM nor PKCS#12\n",
		    cf->as2_key);
		ERR_clear_error();
		return -1;
	}
	if (!PKCS12_verify_mac(p12, pw, -1)) {
		buf_printf(errs, "[as2] key %s: wrong PKCS#12 password (%s)\n",
		    cf->as2_key, cf->as2_password_file ?
		    cf->as2_password_file : "no password_file");
		PKCS12_free(p12);
		ERR_clear_error();
		return -1;
	}
	ok = PKCS12_parse(p12, pw, &k->key, &k->cert, NULL);
	explicit_bzero(pw, sizeof(pw));
	PKCS12_free(p12);
	if (!ok || k->key == NULL) {
		buf_printf(errs, "[as2] key %s: PKCS#12 unreadable (legacy "
		    "encryption? convert with openssl pkcs12 -legacy)\n",
		    cf->as2_key);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

static int
load_own(struct as2_keys *k, const struct conf *cf, struct buf *errs,
    struct buf *warns)
{
	BIO		*b;
	X509		*x;

	if (private_file("[as2] key", cf->as2_key, errs) != 0)
		return -1;
	if ((b = BIO_new_file(cf->as2_key, "r")) == NULL) {
		buf_printf(errs, "[as2] key %s: %s\n", cf->as2_key,
		    strerror(errno));
		ERR_clear_error();
		return -1;
	}
	k->key = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	BIO_free(b);
	ERR_clear_error();
	if (k->key == NULL && load_p12(k, cf, errs) != 0)
		return -1;
	if (cf->as2_cert != NULL) {
		if ((x = load_cert("[as2] cert", cf->as2_cert, errs)) == NULL)
			return -1;
		X509_free(k->cert);
		k->cert = x;
	}
	if (k->cert == NULL) {
		buf_printf(errs, "[as2] key %s: no certificate (set [as2] "
		    "cert)\n", cf->as2_key);
		return -1;
	}
	if (!X509_check_private_key(k->cert, k->key)) {
		buf_printf(errs, "[as2] key %s does not match certificate "
		    "%s\n", cf->as2_key, cf->as2_cert ? cf->as2_cert :
		    "(from the PKCS#12 file)");
		ERR_clear_error();
		return -1;
	}
	return check_valid("[as2] cert", cf->as2_cert ? cf->as2_cert :
	    cf->as2_key, k->cert, errs, warns);
}

int
as2_keys_load(const struct conf *cf, struct as2_keys **out, struct buf *errs,
    struct buf *warns)
{
	struct as2_keys	*k;
	X509		*x;
	char		 what[512];
	size_t		 i;
	int		 bad = 0, expired;

	*out = NULL;
	k = xcalloc(1, sizeof(*k));
	if (cf->as2_key != NULL) {
		if (load_own(k, cf, errs, warns) != 0)
			bad = 1;
	} else if (cf->as2_cert != NULL) {
		buf_printf(errs, "[as2] cert without [as2] key\n");
		bad = 1;
	}
	for (i = 0; i < cf->npartner; i++) {
		const struct partner *p = &cf->partner[i];

		if (p->as2_cert == NULL)
			continue;
		snprintf(what, sizeof(what), "partner %s: [as2] cert", p->id);
		if ((x = load_cert(what, p->as2_cert, errs)) == NULL) {
			bad = 1;
			continue;
		}
		expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
		if (expired && p->as2_expired != NULL &&
		    strcmp(p->as2_expired, "accept") == 0) {
			if (warns != NULL)
				buf_printf(warns, "%s %s: certificate expired "
				    "(expired_cert = accept: verifying only)\n",
				    what, p->as2_cert);
		} else if (check_valid(what, p->as2_cert, x, errs, warns) !=
		    0) {
			X509_free(x);
			bad = 1;
			continue;
		}
		k->pc = xreallocarray(k->pc, k->npc + 1, sizeof(*k->pc));
		k->pc[k->npc].partner = xstrdup(p->id);
		k->pc[k->npc].expired = expired;
		k->pc[k->npc++].cert = x;
	}
	if (bad) {
		as2_keys_free(k);
		return EG_ERR_INVAL;
	}
	if (k->key == NULL && k->npc == 0) {
		as2_keys_free(k);
		return 0;
	}
	*out = k;
	return 0;
}

static int
cert_warn(const char *what, const char *path, struct buf *out)
{
	X509	*x;
	int	 d, n = 0;

	if ((x = load_cert(what, path, out)) == NULL)
		return 1;
	d = days_left(x);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		buf_printf(out, "%s %s: certificate expired\n", what, path);
		n = 1;
	} else if (d < WARN_DAYS) {
		buf_printf(out, "%s %s: certificate expires in %d days\n",
		    what, path, d);
		n = 1;
	}
	X509_free(x);
	return n;
}

int
as2_cert_warnings(const struct conf *cf, struct buf *out)
{
	char	 what[512];
	size_t	 i;
	int	 n = 0;

	if (cf->as2_cert != NULL)
		n += cert_warn("[as2] cert", cf->as2_cert, out);
	for (i = 0; i < cf->npartner; i++) {
		if (cf->partner[i].as2_cert == NULL)
			continue;
		snprintf(what, sizeof(what), "partner %s: [as2] cert",
		    cf->partner[i].id);
		n += cert_warn(what, cf->partner[i].as2_cert, out);
	}
	return n;
}

void
as2_keys_free(struct as2_keys *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	EVP_PKEY_free(k->key);
	X509_free(k->cert);
	for (i = 0; i < k->npc; i++) {
		free(k->pc[i].partner);
		X509_free(k->pc[i].cert);
	}
	free(k->pc);
	free(k);
}

int
as2_keys_have_own(const struct as2_keys *k)
{
	return k != NULL && k->key != NULL;
}

static X509 *
partner_cert(const struct as2_keys *k, const char *partner)
{
	size_t	 i;

	if (k == NULL || partner == NULL)
		return NULL;
	for (i = 0; i < k->npc; i++)
		if (strcmp(k->pc[i].partner, partner) == 0)
			return k->pc[i].cert;
	return NULL;
}

int
as2_keys_have_partner(const struct as2_keys *k, const char *partner)
{
	return partner_cert(k, partner) != NULL;
}

/* --- digests --- */

enum as2_md
as2_md_parse(const char *s, size_t len)
{
	static const struct { const char *n; enum as2_md md; } t[] = {
		{ "sha-256", AS2_MD_SHA256 }, { "sha256", AS2_MD_SHA256 },
		{ "sha-384", AS2_MD_SHA384 }, { "sha384", AS2_MD_SHA384 },
		{ "sha-512", AS2_MD_SHA512 }, { "sha512", AS2_MD_SHA512 },
		{ "sha-1", AS2_MD_SHA1 }, { "sha1", AS2_MD_SHA1 },
		{ "sha", AS2_MD_SHA1 },
	};
	size_t	 i;

	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '"')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '"'))
		len--;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i].n) == len && strncasecmp(t[i].n, s, len) == 0)
			return t[i].md;
	return AS2_MD_NONE;
}

const char *
as2_md_name(enum as2_md md)
{
	switch (md) {
	case AS2_MD_SHA1:	return "sha1";
	case AS2_MD_SHA256:	return "sha-256";
	case AS2_MD_SHA384:	return "sha-384";
	case AS2_MD_SHA512:	return "sha-512";
	default:		return "none";
	}
}

static const EVP_MD *
md_evp(enum as2_md md)
{
	switch (md) {
	case AS2_MD_SHA1:	return EVP_sha1();
	case AS2_MD_SHA256:	return EVP_sha256();
	case AS2_MD_SHA384:	return EVP_sha384();
	case AS2_MD_SHA512:	return EVP_sha512();
	default:		return NULL;
	}
}

static enum as2_md
md_from_nid(int nid)
{
	switch (nid) {
	case NID_sha1:		return AS2_MD_SHA1;
	case NID_sha256:	return AS2_MD_SHA256;
	case NID_sha384:	return AS2_MD_SHA384;
	case NID_sha512:	return AS2_MD_SHA512;
	default:		return AS2_MD_NONE;
	}
}

int
as2_mic(enum as2_md md, const void *data, size_t len, char *out,
    size_t outsz)
{
	unsigned char	 dg[EVP_MAX_MD_SIZE];
	unsigned int	 dl;
	const EVP_MD	*e;

	if ((e = md_evp(md)) == NULL || outsz < 96)
		return EG_ERR_INVAL;
	if (!EVP_Digest(data, len, dg, &dl, e, NULL))
		return fail(NULL, 0, EG_ERR_INTERNAL, "digest");
	EVP_EncodeBlock((unsigned char *)out, dg, (int)dl);
	return 0;
}

/* --- base64 --- */

int
as2_b64_decode(const char *in, size_t len, struct buf *out)
{
	EVP_ENCODE_CTX	*ctx;
	unsigned char	 o[4096 + 64];
	int		 ol, rc = 0;
	size_t		 off, n;

	ctx = EVP_ENCODE_CTX_new();
	EVP_DecodeInit(ctx);
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off > 4096 ? 4096 : len - off;
		if (EVP_DecodeUpdate(ctx, o, &ol, (const unsigned char *)in +
		    off, (int)n) < 0)
			rc = EG_ERR_SYNTAX;
		else if (buf_add(out, o, (size_t)ol) != 0)
			rc = EG_ERR_LIMIT;
	}
	if (rc == 0) {
		if (EVP_DecodeFinal(ctx, o, &ol) < 0)
			rc = EG_ERR_SYNTAX;
		else if (buf_add(out, o, (size_t)ol) != 0)
			rc = EG_ERR_LIMIT;
	}
	EVP_ENCODE_CTX_free(ctx);
	return rc;
}

int
as2_b64_encode(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	unsigned char	 o[80];
	size_t		 off, n;
	int		 ol;

	for (off = 0; off < len; off += n) {
		n = len - off > 57 ? 57 : len - off;
		ol = EVP_EncodeBlock(o, p + off, (int)n);
		if (buf_add(out, o, (size_t)ol) != 0 ||
		    buf_add(out, "\r\n", 2) != 0)
			return EG_ERR_LIMIT;
	}
	return 0;
}

/* --- CMS --- */

static CMS_ContentInfo *
cms_read(const void *der, size_t len)
{
	const unsigned char *p = der;

	if (len > LONG_MAX)
		return NULL;
	return d2i_CMS_ContentInfo(NULL, &p, (long)len);
}

const char *
as2_cms_kind(const void *der, size_t len)
{
	CMS_ContentInfo	*cms;
	const char	*k = NULL;

	if ((cms = cms_read(der, len)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	switch (OBJ_obj2nid(CMS_get0_type(cms))) {
	case NID_pkcs7_enveloped:	k = "enveloped-data"; break;
	case NID_id_smime_ct_authEnvelopedData:
					k = "enveloped-data"; break;
	case NID_pkcs7_signed:		k = "signed-data"; break;
	case NID_id_smime_ct_compressedData:
					k = "compressed-data"; break;
	default:			break;
	}
	CMS_ContentInfo_free(cms);
	return k;
}

int
as2_cms_decrypt(const struct as2_keys *k, const void *der, size_t len,
    struct buf *out, char *err, size_t errsz)
{
	CMS_ContentInfo	*cms;
	BIO		*o;
	int		 rc = 0;

	if (k == NULL || k->key == NULL)
		return fail(err, errsz, EG_ERR_INVAL, "no [as2] key configured");
	if ((cms = cms_read(der, len)) == NULL)
		return fail(err, errsz, EG_ERR_SYNTAX, "not a CMS structure");
	o = BIO_new(BIO_s_mem());
	if (!CMS_decrypt(cms, k->key, k->cert, NULL, o, CMS_BINARY))
		rc = fail(err, errsz, EG_ERR_REJECTED, "cannot decrypt");
	else
		rc = bio_to_buf(o, out);
	BIO_free(o);
	CMS_ContentInfo_free(cms);
	return rc;
}

static int
verify(const struct as2_keys *k, const char *partner, CMS_ContentInfo *cms,
    BIO *dcont, BIO *o, enum as2_md *md, char *err, size_t errsz)
{
	STACK_OF(X509)	*certs;
	STACK_OF(CMS_SignerInfo) *sis;
	X509_STORE	*st;
	X509_ALGOR	*dig = NULL;
	X509		*x;
	int		 ok;

	if ((x = partner_cert(k, partner)) == NULL)
		return fail(err, errsz, EG_ERR_INVAL,
		    "no [as2] cert for the partner");
	certs = sk_X509_new_null();
	sk_X509_push(certs, x);
	st = X509_STORE_new();
	/*
	 * The partner's certificate is the one trusted signer: only it is
	 * looked at (CMS_NOINTERN), its chain is not (it is pinned).
	 */
	ok = CMS_verify(cms, certs, st, dcont, o, CMS_BINARY | CMS_NOINTERN |
	    CMS_NO_SIGNER_CERT_VERIFY);
	X509_STORE_free(st);
	sk_X509_free(certs);
	if (!ok)
		return fail(err, errsz, EG_ERR_REJECTED,
		    "signature verification failed");
	sis = CMS_get0_SignerInfos(cms);
	if (md != NULL) {
		*md = AS2_MD_NONE;
		if (sk_CMS_SignerInfo_num(sis) > 0) {
			CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis,
			    0), NULL, NULL, &dig, NULL);
			if (dig != NULL)
				*md = md_from_nid(OBJ_obj2nid(dig->algorithm));
		}
	}
	return 0;
}

int
as2_cms_verify_detached(const struct as2_keys *k, const char *partner,
    const void *content, size_t clen, const void *der, size_t len,
    enum as2_md *md, char *err, size_t errsz)
{
	CMS_ContentInfo	*cms;
	BIO		*d;
	int		 rc;

	if ((cms = cms_read(der, len)) == NULL)
		return fail(err, errsz, EG_ERR_SYNTAX,
		    "signature is not a CMS structure");
	if (clen > INT_MAX) {
		CMS_ContentInfo_free(cms);
		return fail(err, errsz, EG_ERR_LIMIT, "content too large");
	}
	d = BIO_new_mem_buf(content, (int)clen);
	rc = verify(k, partner, cms, d, NULL, md, err, errsz);
	BIO_free(d);
	CMS_ContentInfo_free(cms);
	return rc;
}

int
as2_cms_verify_attached(const struct as2_keys *k, const char *partner,
    const void *der, size_t len, struct buf *out, enum as2_md *md, char *err,
    size_t errsz)
{
	CMS_ContentInfo	*cms;
	BIO		*o;
	int		 rc;

	if ((cms = cms_read(der, len)) == NULL)
		return fail(err, errsz, EG_ERR_SYNTAX, "not a CMS structure");
	o = BIO_new(BIO_s_mem());
	if ((rc = verify(k, partner, cms, NULL, o, md, err, errsz)) == 0)
		rc = bio_to_buf(o, out);
	BIO_free(o);
	CMS_ContentInfo_free(cms);
	return rc;
}

int
as2_cms_uncompress(const void *der, size_t len, struct buf *out, char *err,
    size_t errsz)
{
	CMS_ContentInfo	*cms;
	ASN1_OCTET_STRING **pos;
	z_stream	 z;
	unsigned char	 tmp[65536];
	int		 zr, rc = 0;

	if ((cms = cms_read(der, len)) == NULL)
		return fail(err, errsz, EG_ERR_SYNTAX, "not a CMS structure");
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_id_smime_ct_compressedData
	    || (pos = CMS_get0_content(cms)) == NULL || *pos == NULL) {
		CMS_ContentInfo_free(cms);
		return fail(err, errsz, EG_ERR_SYNTAX,
		    "not compressed-data with content");
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		CMS_ContentInfo_free(cms);
		return fail(err, errsz, EG_ERR_INTERNAL, "inflateInit");
	}
	z.next_in = (unsigned char *)ASN1_STRING_get0_data(*pos);
	z.avail_in = (uInt)ASN1_STRING_length(*pos);
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			rc = fail(err, errsz, EG_ERR_SYNTAX,
			    "compressed content does not inflate");
			break;
		}
		if (buf_add(out, tmp, sizeof(tmp) - z.avail_out) != 0) {
			rc = fail(err, errsz, EG_ERR_LIMIT,
			    "decompressed content too large");
			break;
		}
		if (zr == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
			rc = fail(err, errsz, EG_ERR_SYNTAX,
			    "compressed content truncated");
			break;
		}
	} while (zr != Z_STREAM_END);
	inflateEnd(&z);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* DER tag and length. */
static int
der_head(struct buf *b, unsigned char tag, size_t len)
{
	unsigned char	 h[10];
	size_t		 n = 0, i;

	h[n++] = tag;
	if (len < 128)
		h[n++] = (unsigned char)len;
	else {
		unsigned char	 l[8];
		size_t		 nl = 0, v = len;

		while (v > 0) {
			l[nl++] = (unsigned char)(v & 0xff);
			v >>= 8;
		}
		h[n++] = (unsigned char)(0x80 | nl);
		for (i = nl; i > 0; i--)
			h[n++] = l[i - 1];
	}
	return buf_add(b, h, n);
}

/* The total size of a TLV with content of len bytes. */
static size_t
tlv(size_t len)
{
	size_t	 n = 2, v;

	if (len >= 128)
		for (v = len; v > 0; v >>= 8)
			n++;
	return n + len;
}

int
as2_cms_compress(const void *data, size_t len, struct buf *out, char *err,
    size_t errsz)
{
	/* OIDs: id-ct-compressedData, id-alg-zlibCompress, id-data */
	static const unsigned char oid_cd[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48,
	    0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x09 };
	static const unsigned char alg[] = { 0x30, 0x0d, 0x06, 0x0b, 0x2a,
	    0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x08 };
	static const unsigned char oid_data[] = { 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
	static const unsigned char version[] = { 0x02, 0x01, 0x00 };
	unsigned char	*z;
	uLongf		 zl;
	size_t		 octets, eci0, eci, cd, cd0, ci;
	int		 rc;

	if (len > (size_t)UINT_MAX / 2)
		return fail(err, errsz, EG_ERR_LIMIT, "content too large");
	zl = compressBound((uLong)len);
	z = xmalloc(zl);
	if (compress2(z, &zl, data, (uLong)len, Z_DEFAULT_COMPRESSION) !=
	    Z_OK) {
		free(z);
		return fail(err, errsz, EG_ERR_INTERNAL, "deflate");
	}
	octets = tlv(zl);
	eci0 = tlv(octets);			/* [0] EXPLICIT */
	eci = tlv(sizeof(oid_data) + eci0);	/* EncapsulatedContentInfo */
	cd = tlv(sizeof(version) + sizeof(alg) + eci);
	cd0 = tlv(cd);				/* [0] EXPLICIT */
	ci = sizeof(oid_cd) + cd0;
	rc = der_head(out, 0x30, ci);
	rc = rc ? rc : buf_add(out, oid_cd, sizeof(oid_cd));
	rc = rc ? rc : der_head(out, 0xa0, cd);
	rc = rc ? rc : der_head(out, 0x30, sizeof(version) + sizeof(alg) +
	    eci);
	rc = rc ? rc : buf_add(out, version, sizeof(version));
	rc = rc ? rc : buf_add(out, alg, sizeof(alg));
	rc = rc ? rc : der_head(out, 0x30, sizeof(oid_data) + eci0);
	rc = rc ? rc : buf_add(out, oid_data, sizeof(oid_data));
	rc = rc ? rc : der_head(out, 0xa0, octets);
	rc = rc ? rc : der_head(out, 0x04, zl);
	rc = rc ? rc : buf_add(out, z, zl);
	free(z);
	if (rc != 0)
		return fail(err, errsz, EG_ERR_LIMIT, "compressed too large");
	return 0;
}

int
as2_cms_sign(const struct as2_keys *k, enum as2_md md, const void *content,
    size_t clen, struct buf *out, char *err, size_t errsz)
{
	CMS_ContentInfo	*cms;
	BIO		*in, *o;
	const EVP_MD	*e;
	unsigned int	 flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	int		 rc = 0;

	if (k == NULL || k->key == NULL)
		return fail(err, errsz, EG_ERR_INVAL, "no [as2] key configured");
	if ((e = md_evp(md)) == NULL)
		return fail(err, errsz, EG_ERR_INVAL, "no digest");
	if (clen > INT_MAX)
		return fail(err, errsz, EG_ERR_LIMIT, "content too large");
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL)
		return fail(err, errsz, EG_ERR_INTERNAL, "CMS_sign");
	in = BIO_new_mem_buf(content, (int)clen);
	o = BIO_new(BIO_s_mem());
	if (CMS_add1_signer(cms, k->cert, k->key, e, flags) == NULL ||
	    !CMS_final(cms, in, NULL, flags) || !i2d_CMS_bio(o, cms))
		rc = fail(err, errsz, EG_ERR_INTERNAL, "cannot sign");
	else
		rc = bio_to_buf(o, out);
	BIO_free(in);
	BIO_free(o);
	CMS_ContentInfo_free(cms);
	return rc;
}

static const EVP_CIPHER *
cipher_get(const char *name)
{
	static const struct {
		const char	*n;
		const EVP_CIPHER *(*fn)(void);
	} t[] = {
		{ "aes128-cbc", EVP_aes_128_cbc }, { "aes192-cbc", EVP_aes_192_cbc },
		{ "aes256-cbc", EVP_aes_256_cbc }, { "aes128-gcm", EVP_aes_128_gcm },
		{ "aes192-gcm", EVP_aes_192_gcm }, { "aes256-gcm", EVP_aes_256_gcm },
		{ "des3", EVP_des_ede3_cbc },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].n, name) == 0)
			return t[i].fn();
	return NULL;
}

int
as2_cms_encrypt(const struct as2_keys *k, const char *partner,
    const char *cipher, int oaep, const void *data, size_t len,
    struct buf *out, char *err, size_t errsz)
{
	CMS_ContentInfo	*cms;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX	*pctx;
	const EVP_CIPHER *c;
	BIO		*in, *o;
	X509		*x;
	unsigned int	 flags = CMS_BINARY | CMS_PARTIAL;
	int		 rc = 0;

	if ((x = partner_cert(k, partner)) == NULL)
		return fail(err, errsz, EG_ERR_INVAL,
		    "no [as2] cert for the partner");
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		return fail(err, errsz, EG_ERR_REJECTED,
		    "the partner's certificate has expired");
	if ((c = cipher_get(cipher)) == NULL)
		return fail(err, errsz, EG_ERR_INVAL, "unknown cipher");
	if (len > INT_MAX)
		return fail(err, errsz, EG_ERR_LIMIT, "content too large");
	if ((cms = CMS_encrypt(NULL, NULL, c, flags)) == NULL)
		return fail(err, errsz, EG_ERR_INTERNAL, "CMS_encrypt");
	in = BIO_new_mem_buf(data, (int)len);
	o = BIO_new(BIO_s_mem());
	ri = CMS_add1_recipient_cert(cms, x, flags | CMS_KEY_PARAM);
	if (ri == NULL)
		rc = fail(err, errsz, EG_ERR_INTERNAL, "recipient");
	else if (oaep && ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) ==
	    NULL || EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_OAEP_PADDING) <= 0))
		rc = fail(err, errsz, EG_ERR_INTERNAL, "RSA OAEP padding");
	else if (!CMS_final(cms, in, NULL, flags) || !i2d_CMS_bio(o, cms))
		rc = fail(err, errsz, EG_ERR_INTERNAL, "cannot encrypt");
	else
		rc = bio_to_buf(o, out);
	BIO_free(in);
	BIO_free(o);
	CMS_ContentInfo_free(cms);
	return rc;
}
