#ifndef OUTPOST_CSRTP_SHIM_H
#define OUTPOST_CSRTP_SHIM_H
#include <srtp2/srtp.h>

/* SRTP_MAX_TRAILER_LEN is a macro expression that Swift cannot import. SRTCP adds the
   4-byte E flag and index on top of it. */
static inline int outpost_srtp_max_trailer_length(void) {
    return SRTP_MAX_TRAILER_LEN + 4;
}
#endif
