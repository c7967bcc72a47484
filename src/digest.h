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

#endif /* DIGEST_H */
