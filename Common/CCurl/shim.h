#ifndef OUTPOST_CCURL_SHIM_H
#define OUTPOST_CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>

/* libcurl is opened on first use (dlopen), not linked: only enrollment and certificate renewal
   make HTTPS requests, and a linked libcurl maps itself and about two dozen libraries it needs
   (Kerberos, LDAP, GnuTLS for librtmp, …) into every agent process, `--version` included.
   The functions are called through this table; it and the library live until the process ends. */
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

/* The table, or NULL when libcurl or one of its functions is missing (dlerror() says which). */
static inline const outpost_curl *outpost_curl_open(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return NULL;
    outpost_curl *curl = calloc(1, sizeof *curl);
    if (curl == NULL) return NULL;
    curl->easy_init = dlsym(library, "curl_easy_init");
    curl->easy_cleanup = dlsym(library, "curl_easy_cleanup");
    curl->easy_setopt = dlsym(library, "curl_easy_setopt");
    curl->easy_getinfo = dlsym(library, "curl_easy_getinfo");
    curl->easy_perform = dlsym(library, "curl_easy_perform");
    curl->easy_strerror = dlsym(library, "curl_easy_strerror");
    curl->slist_append = dlsym(library, "curl_slist_append");
    curl->slist_free_all = dlsym(library, "curl_slist_free_all");
    if (!curl->easy_init || !curl->easy_cleanup || !curl->easy_setopt || !curl->easy_getinfo || !curl->easy_perform
        || !curl->easy_strerror || !curl->slist_append || !curl->slist_free_all) {
        free(curl);
        return NULL;
    }
    return curl;
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
