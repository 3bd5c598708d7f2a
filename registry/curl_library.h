// libcurl, loaded the first time a command needs HTTP.
//
// Linked like the other libraries, libcurl would cost every bld process its
// dynamic loading: 32 shared libraries (Kerberos, LDAP, GnuTLS for librtmp,
// ...) and about 20 ms of page faults and relocations on these machines,
// a third of a warm `bld build` that never talks to a network. So bld
// dlopens it on first use, and commands that need no HTTP never pay for it.
// The headers still give the types and constants; only the calls go
// through the table below.
//
// Thread safety: Curl() may be called from any thread; the first call loads
// the library and runs curl_global_init exactly once.
#pragma once

#define CURL_DISABLE_TYPECHECK  // calls go through pointers, not the macros
#include <curl/curl.h>

namespace bld::registry {

// The libcurl functions bld uses, named without the curl_ prefix.
struct CurlLibrary {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_setopt) share_setopt;
  decltype(&::curl_share_cleanup) share_cleanup;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_url_strerror) url_strerror;
  decltype(&::curl_getdate) getdate;
  decltype(&::curl_free) free;
};

// The loaded and initialized library. Throws bld::Error when it cannot be
// loaded (naming the package to install) or initialized.
const CurlLibrary& Curl();

}  // namespace bld::registry
