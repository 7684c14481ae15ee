#ifndef CALLBRIDGE_CCURL_SHIM_H
#define CALLBRIDGE_CCURL_SHIM_H
#include <curl/curl.h>
#endif
