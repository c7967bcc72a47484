/*
 * as2_cms.h: every use of OpenSSL's CMS for AS2 (RFC 4130, RFC 5402), and
 * the only module that touches our private key (DESIGN.md §3).  Inputs
 * and outputs are DER CMS structures and MIME bytes; the MIME framing is
 * as2.c's.  Errors: 0 or a negative EG_ERR_*, with a one-line reason in
 * err (OpenSSL's own error queue text appended) where the caller passes
 * one.
 */
#ifndef AS2_CMS_H
#define AS2_CMS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct conf;

/* Our key pair and the partners' certificates, loaded as a whole. */
struct as2_keys;

/*
 * Load [as2] key/cert (PEM; or key = a PKCS#12 file with password_file,
 * cert then optional) and every partner's [as2] cert.  Refused, with a
 * line per problem in errs: a private key or password file readable or
 * writable by group or others, a wrong PKCS#12 password, a key that does
 * not match its certificate, an expired certificate, an unreadable file.
 * Certificates expiring within 30 days are listed in warns (may be NULL).
 * *out is NULL (and 0 returned) when nothing is configured for AS2.
 */
int	 as2_keys_load(const struct conf *, struct as2_keys **out,
	    struct buf *errs, struct buf *warns);
void	 as2_keys_free(struct as2_keys *);
/*
 * For `edigate status`, without touching private keys: a line per
 * certificate of cf ([as2] cert and the partners') that has expired or
 * expires within 30 days, or cannot be read.  Returns their number.
 */
int	 as2_cert_warnings(const struct conf *, struct buf *out);
/* 1 when we have our own key pair. */
int	 as2_keys_have_own(const struct as2_keys *);
/* 1 when partner id has a certificate. */
int	 as2_keys_have_partner(const struct as2_keys *, const char *partner);

/* Digest names as in micalg: "sha-256", "sha256", "sha1", ... */
enum as2_md {
	AS2_MD_NONE = 0, AS2_MD_SHA1, AS2_MD_SHA256, AS2_MD_SHA384,
	AS2_MD_SHA512
};
enum as2_md as2_md_parse(const char *name, size_t len);
const char *as2_md_name(enum as2_md);		/* "sha-256" */

/* base64(digest(data)) into out (>= 96 bytes). */
int	 as2_mic(enum as2_md, const void *data, size_t len, char *out,
	    size_t outsz);

/* Decrypt enveloped-data (or auth-enveloped-data) with our key. */
int	 as2_cms_decrypt(const struct as2_keys *, const void *der, size_t len,
	    struct buf *out, char *err, size_t errsz);
/*
 * Verify a detached signature (der) over content with partner's
 * certificate (the only certificate trusted as signer; no chain check).
 * *md gets the signer's digest algorithm.
 */
int	 as2_cms_verify_detached(const struct as2_keys *, const char *partner,
	    const void *content, size_t clen, const void *der, size_t len,
	    enum as2_md *md, char *err, size_t errsz);
/* Verify signed-data carrying its content; out gets the content. */
int	 as2_cms_verify_attached(const struct as2_keys *, const char *partner,
	    const void *der, size_t len, struct buf *out, enum as2_md *md,
	    char *err, size_t errsz);
/* Compressed-data (RFC 5402, zlib) to its content, and back. */
int	 as2_cms_uncompress(const void *der, size_t len, struct buf *out,
	    char *err, size_t errsz);
int	 as2_cms_compress(const void *data, size_t len, struct buf *out,
	    char *err, size_t errsz);
/* A detached signature of content with our key, digest md. */
int	 as2_cms_sign(const struct as2_keys *, enum as2_md, const void *content,
	    size_t clen, struct buf *out, char *err, size_t errsz);
/*
 * Encrypt to partner's certificate with cipher ("aes128-cbc" ...
 * "aes256-gcm"); oaep: RSA-OAEP key transport instead of PKCS#1 v1.5.
 */
int	 as2_cms_encrypt(const struct as2_keys *, const char *partner,
	    const char *cipher, int oaep, const void *data, size_t len,
	    struct buf *out, char *err, size_t errsz);
/* What kind of CMS structure der is: "enveloped-data", ... or NULL. */
const char *as2_cms_kind(const void *der, size_t len);

/* base64 decode (whitespace ignored) and encode with CRLF every 76. */
int	 as2_b64_decode(const char *in, size_t len, struct buf *out);
int	 as2_b64_encode(const void *in, size_t len, struct buf *out);

#endif /* AS2_CMS_H */
