/*
 * digest.h: SHA-256 with the implementation fetched once per process.
 *
 * EVP_sha256() in OpenSSL 3 makes EVP_Digest*() look the implementation
 * up in the provider store on every call: about 2,500 instructions per
 * call more than with one fetched (OpenSSL 3.0, callgrind), on top of
 * hashing a map file or a small document.  digest_sha256() fetches it the
 * first time it is called, from any thread, and keeps it for the life of
 * the process.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>

/*
 * The SHA-256 implementation, for EVP_Digest() and EVP_DigestInit_ex();
 * never freed.  Falls back to EVP_sha256() when the fetch fails.
 */
const EVP_MD	*digest_sha256(void);
/*
 * Lowercase hex SHA-256 of [p, p + len) into out; out is "" when
 * OpenSSL fails (it does not for SHA-256 short of memory).
 */
void		 digest_sha256_hex(const void *p, size_t len, char out[65]);
/*
 * For a command that uses OpenSSL for digests only (translate), before
 * any other OpenSSL call: OpenSSL then leaves out the legacy tables of
 * every cipher and digest name, which its first fetch otherwise builds
 * and its exit frees: 2.8 million instructions (callgrind), 0.4 ms of a
 * 5.5 ms run on a small file.  Nor does it read openssl.cnf or load its
 * error strings (2.6 million more): SHA-256 names content here, it
 * guards nothing, so no provider or policy set there applies.  A process
 * that then needs a cipher by name (TLS, CMS) must not call it.
 */
void		 digest_only(void);

#endif /* DIGEST_H */
