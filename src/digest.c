/*
 * digest.c: SHA-256 through one fetched EVP_MD (digest.h says why).
 * Holds a single process-wide pointer, written once under pthread_once and
 * read-only afterwards, so it is safe from every thread.
 */
#include "config.h"

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "digest.h"

static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;
static const EVP_MD	*sha256_md;

static void
sha256_fetch(void)
{
	EVP_MD	*md;

	/* Explicitly fetched: kept, so never fetched again. */
	if ((md = EVP_MD_fetch(NULL, "SHA256", NULL)) != NULL)
		sha256_md = md;
	else
		sha256_md = EVP_sha256();
}

void
digest_only(void)
{
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
	    OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
}

const EVP_MD *
digest_sha256(void)
{
	(void)pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

void
digest_sha256_hex(const void *p, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0, i;

	out[0] = '\0';
	if (EVP_Digest(p, len, md, &n, digest_sha256(), NULL) != 1 || n != 32)
		return;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}
