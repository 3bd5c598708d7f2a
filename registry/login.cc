#include "registry/login.h"

namespace bld::registry {

Credentials Login(const RegistryOptions& options, const std::string& registry, const Credentials& credentials) {
  Session session(options, registry, credentials);
  std::string base = session.BaseUrl();
  Credentials result = credentials;
  if (session.authorizer().uses_bearer()) {
    std::string refresh_token = session.authorizer().LoginToken();
    if (!refresh_token.empty()) {
      result.identity_token = refresh_token;
      result.password.clear();
    }
  }
  HttpRequest request;
  request.url = base + "/v2/";
  HttpResponse response = session.Send(request, {});
  if (response.status != 200) throw session.Fail("login to " + registry, "", response);
  return result;
}

}  // namespace bld::registry
