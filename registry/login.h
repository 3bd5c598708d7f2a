// `bld login`: credentials are checked against the registry, as docker login
// does, before anything is stored.
//
// The check is the one docker makes: ping /v2/ for the challenge; for Basic,
// GET /v2/ with the credentials; for Bearer, get a token from the token
// server with them (asking for offline access, so that a server that hands
// out refresh tokens gives one, which is then stored instead of the
// password, as docker stores it as "identitytoken"), then GET /v2/ with the
// token. A registry that asks for no authentication accepts any login.
//
// Thread safety: Login may be called from any number of threads.
#pragma once

#include <string>

#include "registry/credentials.h"
#include "registry/session.h"

namespace bld::registry {

// Checks `credentials` against `registry` ("127.0.0.1:5000", "docker.io")
// and returns what to store. Throws RegistryError (401 with the registry's
// message) when they are refused.
Credentials Login(const RegistryOptions& options, const std::string& registry, const Credentials& credentials);

}  // namespace bld::registry
