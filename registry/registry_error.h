// Errors a registry or its token server answered, told the way a user needs
// them: which registry, which repository, the HTTP status, and what the
// registry itself said, plus how to log in when that is the fix.
//
//   pull 127.0.0.1:5000/app:v1: 127.0.0.1:5000 answered 401 Unauthorized for
//   repository app: UNAUTHORIZED: authentication required; to log in, run:
//   bld login 127.0.0.1:5000
//
// Registries report errors as {"errors":[{"code","message","detail"}]}
// (distribution spec); token servers as {"details": "..."} (Docker Hub) or
// OAuth2's {"error","error_description"}. All three are understood.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "registry/http_client.h"
#include "store/error.h"

namespace bld::registry {

struct RegistryErrorEntry {
  std::string code;     // "MANIFEST_UNKNOWN"; empty for a token server's message
  std::string message;  // "manifest unknown"
  std::string detail;   // JSON text of "detail" when it is not a string; may be empty
};

// The errors in a registry's answer body; empty when it holds none.
std::vector<RegistryErrorEntry> ParseRegistryErrors(std::string_view body);

class RegistryError : public Error {
 public:
  RegistryError(const std::string& what, long status, std::vector<RegistryErrorEntry> errors)
      : Error(what), status_(status), errors_(std::move(errors)) {}

  long status() const { return status_; }
  const std::vector<RegistryErrorEntry>& errors() const { return errors_; }
  bool HasCode(std::string_view code) const;

 private:
  long status_;
  std::vector<RegistryErrorEntry> errors_;
};

// "Not Found" for 404, ...; empty for a status without a standard phrase.
std::string_view StatusText(long status);

// The error for an unexpected answer. `action` says what was being done
// ("pull 127.0.0.1:5000/app:v1"), `registry` is the registry as the user
// names it, `repository` may be empty (the ping, a token server).
// `sent_credentials` says whether credentials went with the request, which
// changes the advice for 401. `answered_by` names who answered when it was
// not the registry itself (its token server).
RegistryError MakeRegistryError(std::string_view action, std::string_view registry, std::string_view repository,
                                const HttpResponse& response, bool sent_credentials,
                                std::string_view answered_by = {});

// The command that logs in to `registry` ("bld login" for Docker Hub).
std::string LoginCommand(std::string_view registry);

}  // namespace bld::registry
