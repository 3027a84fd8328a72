#ifndef OUTPOST_CSRTP_SHIM_H
#define OUTPOST_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#include "../CDynamicLoad/include/outpost_dynamic_load.h"

/* SRTP_MAX_TRAILER_LEN is a macro expression that Swift cannot import. SRTCP adds the
   4-byte E flag and index on top of it. */
static inline int outpost_srtp_max_trailer_length(void) {
    return SRTP_MAX_TRAILER_LEN + 4;
}

/* libsrtp2 is opened on the first stream (dlopen), not linked: Debian's is built with NSS, and
   a linked libsrtp2 maps it and NSPR into every agent process, most of which never stream.
   The functions are called through this table, one slot per name in `outpost_srtp_open`. */
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

/* The table, or NULL with `*missing` naming the library or function that is missing
   (`outpost_dynamic_load`). */
static inline const outpost_srtp *outpost_srtp_open(const char **missing) {
    static const char *const symbols[] = {"srtp_init", "srtp_create", "srtp_dealloc", "srtp_protect", "srtp_protect_rtcp",
        "srtp_unprotect", "srtp_unprotect_rtcp", "srtp_crypto_policy_set_rtp_default", "srtp_crypto_policy_set_rtcp_default"};
    _Static_assert(sizeof symbols / sizeof *symbols * sizeof(void *) == sizeof(outpost_srtp), "one name per slot");
    return outpost_dynamic_load("libsrtp2.so.1", symbols, sizeof symbols / sizeof *symbols, missing);
}

/* Closes libsrtp2 and frees a table from `outpost_srtp_open`, for a library whose srtp_init failed. */
static inline void outpost_srtp_close(const outpost_srtp *srtp) {
    outpost_dynamic_unload((void *)srtp, sizeof(outpost_srtp) / sizeof(void *));
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
