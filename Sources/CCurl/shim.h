#ifndef CALLBRIDGE_CCURL_SHIM_H
#define CALLBRIDGE_CCURL_SHIM_H
#include <curl/curl.h>

/*
 * Typed wrappers around libcurl's variadic entry points, which Swift cannot
 * call directly. Each wrapper fixes the type of the last argument; the caller
 * picks the one that matches the option's documented type. Nothing else
 * belongs here: behaviour lives in Swift (CallbridgeTransport).
 */

/* curl_global_init with the default flags (SSL on). */
static inline CURLcode cb_curl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl_easy_setopt */

static inline CURLcode cb_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cb_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cb_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cb_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode cb_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION (same C type). */
static inline CURLcode cb_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* curl_easy_getinfo */

static inline CURLcode cb_easy_getinfo_long(CURL *handle, CURLINFO info, long *out) {
    return curl_easy_getinfo(handle, info, out);
}

static inline CURLcode cb_easy_getinfo_double(CURL *handle, CURLINFO info, double *out) {
    return curl_easy_getinfo(handle, info, out);
}

static inline CURLcode cb_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *out) {
    return curl_easy_getinfo(handle, info, out);
}

static inline CURLcode cb_easy_getinfo_string(CURL *handle, CURLINFO info, char **out) {
    return curl_easy_getinfo(handle, info, out);
}

/* CURLINFO_PRIVATE hands back the pointer stored with CURLOPT_PRIVATE. */
static inline CURLcode cb_easy_getinfo_private(CURL *handle, void **out) {
    return curl_easy_getinfo(handle, CURLINFO_PRIVATE, (char **)out);
}

/* curl_multi_setopt */

static inline CURLMcode cb_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/* Names the calling thread (at most 15 bytes) for ps/top and /proc; prctl is
   variadic, so Swift reaches it through this shim. A no-op off Linux. */
#ifdef __linux__
#include <sys/prctl.h>
static inline void cb_set_current_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}
#else
static inline void cb_set_current_thread_name(const char *name) { (void)name; }
#endif

/* CURLMsg.data is a union; these read the member that matches msg->msg. */
static inline CURLcode cb_multi_message_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
