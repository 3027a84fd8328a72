#ifndef OUTPOST_CCURL_SHIM_H
#define OUTPOST_CCURL_SHIM_H
#include <curl/curl.h>
#include "../CDynamicLoad/include/outpost_dynamic_load.h"

/* libcurl is opened on first use (dlopen), not linked: only enrollment and certificate renewal
   make HTTPS requests, and a linked libcurl maps itself and about two dozen libraries it needs
   (Kerberos, LDAP, GnuTLS for librtmp, …) into every agent process, `--version` included.
   The functions are called through this table, one slot per name in `outpost_curl_open`. */
typedef struct outpost_curl {
    void *easy_init;
    void *easy_cleanup;
    void *easy_setopt;
    void *easy_getinfo;
    void *easy_perform;
    void *easy_strerror;
    void *slist_append;
    void *slist_free_all;
} outpost_curl;

/* The table, or NULL with `*missing` naming the library or function that is missing
   (`outpost_dynamic_load`). */
static inline const outpost_curl *outpost_curl_open(const char **missing) {
    static const char *const symbols[] = {"curl_easy_init", "curl_easy_cleanup", "curl_easy_setopt", "curl_easy_getinfo",
        "curl_easy_perform", "curl_easy_strerror", "curl_slist_append", "curl_slist_free_all"};
    _Static_assert(sizeof symbols / sizeof *symbols * sizeof(void *) == sizeof(outpost_curl), "one name per slot");
    return outpost_dynamic_load("libcurl.so.4", symbols, sizeof symbols / sizeof *symbols, missing);
}

static inline CURL *outpost_curl_easy_init(const outpost_curl *curl) {
    return ((CURL *(*)(void))curl->easy_init)();
}

static inline void outpost_curl_easy_cleanup(const outpost_curl *curl, CURL *handle) {
    ((void (*)(CURL *))curl->easy_cleanup)(handle);
}

static inline CURLcode outpost_curl_easy_perform(const outpost_curl *curl, CURL *handle) {
    return ((CURLcode (*)(CURL *))curl->easy_perform)(handle);
}

static inline const char *outpost_curl_easy_strerror(const outpost_curl *curl, CURLcode code) {
    return ((const char *(*)(CURLcode))curl->easy_strerror)(code);
}

static inline struct curl_slist *outpost_curl_slist_append(const outpost_curl *curl, struct curl_slist *list, const char *string) {
    return ((struct curl_slist *(*)(struct curl_slist *, const char *))curl->slist_append)(list, string);
}

static inline void outpost_curl_slist_free_all(const outpost_curl *curl, struct curl_slist *list) {
    ((void (*)(struct curl_slist *))curl->slist_free_all)(list);
}

/* curl_easy_setopt and curl_easy_getinfo are variadic; Swift cannot call them.
   One typed wrapper per argument kind keeps the call sites type-checked. */
typedef CURLcode (*outpost_curl_setopt_function)(CURL *, CURLoption, ...);
typedef CURLcode (*outpost_curl_getinfo_function)(CURL *, CURLINFO, ...);

static inline CURLcode outpost_curl_setopt_long(const outpost_curl *curl, CURL *handle, CURLoption option, long value) {
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, option, value);
}

static inline CURLcode outpost_curl_setopt_string(const outpost_curl *curl, CURL *handle, CURLoption option, const char *value) {
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, option, value);
}

static inline CURLcode outpost_curl_setopt_pointer(const outpost_curl *curl, CURL *handle, CURLoption option, void *value) {
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, option, value);
}

static inline CURLcode outpost_curl_setopt_slist(const outpost_curl *curl, CURL *handle, CURLoption option, struct curl_slist *value) {
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, option, value);
}

typedef size_t (*outpost_curl_write_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode outpost_curl_setopt_write_function(const outpost_curl *curl, CURL *handle, outpost_curl_write_callback callback) {
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode outpost_curl_getinfo_long(const outpost_curl *curl, CURL *handle, CURLINFO info, long *value) {
    return ((outpost_curl_getinfo_function)curl->easy_getinfo)(handle, info, value);
}

/* CURLOPT_*_BLOB options take a struct curl_blob; curl copies the bytes. */
static inline CURLcode outpost_curl_setopt_blob(const outpost_curl *curl, CURL *handle, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return ((outpost_curl_setopt_function)curl->easy_setopt)(handle, option, &blob);
}
#endif
