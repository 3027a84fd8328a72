#ifndef OUTPOST_CLIBCRYPTO_SHIM_H
#define OUTPOST_CLIBCRYPTO_SHIM_H
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* EVP_EC_gen, BIO_get_mem_data and OPENSSL_free are macros (the first over a variadic
   function); Swift cannot call them, so each gets a typed wrapper. */

static inline EVP_PKEY *outpost_crypto_generate_p256(void) {
    return EVP_EC_gen("P-256");
}

static inline long outpost_crypto_bio_contents(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

static inline void outpost_crypto_free(void *pointer) {
    OPENSSL_free(pointer);
}
#endif
