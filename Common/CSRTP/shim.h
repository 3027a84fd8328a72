#ifndef OUTPOST_CSRTP_SHIM_H
#define OUTPOST_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#include <dlfcn.h>
#include <stdlib.h>

/* SRTP_MAX_TRAILER_LEN is a macro expression that Swift cannot import. SRTCP adds the
   4-byte E flag and index on top of it. */
static inline int outpost_srtp_max_trailer_length(void) {
    return SRTP_MAX_TRAILER_LEN + 4;
}

/* libsrtp2 is opened on the first stream (dlopen), not linked: Debian's is built with NSS, and
   a linked libsrtp2 maps it and NSPR into every agent process, most of which never stream.
   The functions are called through this table; it and the library live until the process ends. */
typedef struct outpost_srtp {
    void *init;
    void *create;
    void *dealloc;
    void *protect;
    void *protect_rtcp;
    void *unprotect;
    void *unprotect_rtcp;
    void *crypto_policy_set_rtp_default;
    void *crypto_policy_set_rtcp_default;
} outpost_srtp;

/* The table, or NULL when libsrtp2 or one of its functions is missing (dlerror() says which). */
static inline const outpost_srtp *outpost_srtp_open(void) {
    void *library = dlopen("libsrtp2.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return NULL;
    outpost_srtp *srtp = calloc(1, sizeof *srtp);
    if (srtp == NULL) return NULL;
    srtp->init = dlsym(library, "srtp_init");
    srtp->create = dlsym(library, "srtp_create");
    srtp->dealloc = dlsym(library, "srtp_dealloc");
    srtp->protect = dlsym(library, "srtp_protect");
    srtp->protect_rtcp = dlsym(library, "srtp_protect_rtcp");
    srtp->unprotect = dlsym(library, "srtp_unprotect");
    srtp->unprotect_rtcp = dlsym(library, "srtp_unprotect_rtcp");
    srtp->crypto_policy_set_rtp_default = dlsym(library, "srtp_crypto_policy_set_rtp_default");
    srtp->crypto_policy_set_rtcp_default = dlsym(library, "srtp_crypto_policy_set_rtcp_default");
    if (!srtp->init || !srtp->create || !srtp->dealloc || !srtp->protect || !srtp->protect_rtcp || !srtp->unprotect
        || !srtp->unprotect_rtcp || !srtp->crypto_policy_set_rtp_default || !srtp->crypto_policy_set_rtcp_default) {
        free(srtp);
        return NULL;
    }
    return srtp;
}

static inline srtp_err_status_t outpost_srtp_init(const outpost_srtp *srtp) {
    return ((srtp_err_status_t (*)(void))srtp->init)();
}

static inline srtp_err_status_t outpost_srtp_create(const outpost_srtp *srtp, srtp_t *session, const srtp_policy_t *policy) {
    return ((srtp_err_status_t (*)(srtp_t *, const srtp_policy_t *))srtp->create)(session, policy);
}

static inline srtp_err_status_t outpost_srtp_dealloc(const outpost_srtp *srtp, srtp_t session) {
    return ((srtp_err_status_t (*)(srtp_t))srtp->dealloc)(session);
}

/* protect, protect_rtcp, unprotect and unprotect_rtcp share one signature. */
typedef srtp_err_status_t (*outpost_srtp_transform)(srtp_t, void *, int *);

static inline srtp_err_status_t outpost_srtp_protect(const outpost_srtp *srtp, srtp_t session, void *packet, int *length) {
    return ((outpost_srtp_transform)srtp->protect)(session, packet, length);
}

static inline srtp_err_status_t outpost_srtp_protect_rtcp(const outpost_srtp *srtp, srtp_t session, void *packet, int *length) {
    return ((outpost_srtp_transform)srtp->protect_rtcp)(session, packet, length);
}

static inline srtp_err_status_t outpost_srtp_unprotect(const outpost_srtp *srtp, srtp_t session, void *packet, int *length) {
    return ((outpost_srtp_transform)srtp->unprotect)(session, packet, length);
}

static inline srtp_err_status_t outpost_srtp_unprotect_rtcp(const outpost_srtp *srtp, srtp_t session, void *packet, int *length) {
    return ((outpost_srtp_transform)srtp->unprotect_rtcp)(session, packet, length);
}

static inline void outpost_srtp_crypto_policy_set_rtp_default(const outpost_srtp *srtp, srtp_crypto_policy_t *policy) {
    ((void (*)(srtp_crypto_policy_t *))srtp->crypto_policy_set_rtp_default)(policy);
}

static inline void outpost_srtp_crypto_policy_set_rtcp_default(const outpost_srtp *srtp, srtp_crypto_policy_t *policy) {
    ((void (*)(srtp_crypto_policy_t *))srtp->crypto_policy_set_rtcp_default)(policy);
}
#endif
