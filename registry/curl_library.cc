#include "registry/curl_library.h"

#include <dlfcn.h>

#include <string>

#include "store/error.h"

namespace bld::registry {

namespace {

// The soname of libcurl 7.16 and later (Debian's libcurl4 package).
constexpr const char* kCurlSoname = "libcurl.so.4";

template <typename Function>
void Resolve(void* handle, const char* name, Function* out) {
  void* symbol = ::dlsym(handle, name);
  if (!symbol) throw Error(std::string("cannot load libcurl: ") + kCurlSoname + " has no " + name);
  *out = reinterpret_cast<Function>(symbol);
}

CurlLibrary Load() {
  // Never closed: curl keeps global state until the process ends.
  void* handle = ::dlopen(kCurlSoname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw Error(std::string("cannot load ") + kCurlSoname + " (install the libcurl4 package): " +
                (why ? why : "unknown error"));
  }
  CurlLibrary c{};
  Resolve(handle, "curl_easy_init", &c.easy_init);
  Resolve(handle, "curl_easy_setopt", &c.easy_setopt);
  Resolve(handle, "curl_easy_perform", &c.easy_perform);
  Resolve(handle, "curl_easy_getinfo", &c.easy_getinfo);
  Resolve(handle, "curl_easy_reset", &c.easy_reset);
  Resolve(handle, "curl_easy_cleanup", &c.easy_cleanup);
  Resolve(handle, "curl_easy_strerror", &c.easy_strerror);
  Resolve(handle, "curl_share_init", &c.share_init);
  Resolve(handle, "curl_share_setopt", &c.share_setopt);
  Resolve(handle, "curl_share_cleanup", &c.share_cleanup);
  Resolve(handle, "curl_slist_append", &c.slist_append);
  Resolve(handle, "curl_slist_free_all", &c.slist_free_all);
  Resolve(handle, "curl_url", &c.url);
  Resolve(handle, "curl_url_set", &c.url_set);
  Resolve(handle, "curl_url_get", &c.url_get);
  Resolve(handle, "curl_url_cleanup", &c.url_cleanup);
  Resolve(handle, "curl_url_strerror", &c.url_strerror);
  Resolve(handle, "curl_getdate", &c.getdate);
  Resolve(handle, "curl_free", &c.free);
  decltype(&::curl_global_init) global_init = nullptr;
  Resolve(handle, "curl_global_init", &global_init);
  if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
    throw Error(std::string("cannot initialize libcurl: ") + c.easy_strerror(rc));
  return c;
}

}  // namespace

const CurlLibrary& Curl() {
  // A failed load throws out of the initializer, and the next call tries
  // again (C++ static initialization semantics).
  static const CurlLibrary library = Load();
  return library;
}

}  // namespace bld::registry
