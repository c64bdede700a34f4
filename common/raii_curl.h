// RAII handles for libcurl (common/raii.h). Users link libcurl themselves.
#pragma once

#include <curl/curl.h>

#include "common/raii.h"

namespace fleetkeeper {

using CurlEasyPtr = CHandle<CURL, curl_easy_cleanup>;
using CurlMultiPtr = CHandle<CURLM, curl_multi_cleanup>;
using CurlSlistPtr = CHandle<curl_slist, curl_slist_free_all>;

}  // namespace fleetkeeper
