// Keys and certificates for test registries, made with OpenSSL's C API so
// that no test depends on the openssl command or on files in the tree:
// a CA and a server certificate for 127.0.0.1 (TLS tests), and an RSA key
// with a self-signed certificate that signs registry tokens (RS256 JWTs).
#pragma once

#include <string>
#include <string_view>

namespace bld::testing {

struct TestTls {
  std::string ca_cert_pem;
  // Signed by the CA, for 127.0.0.1 and localhost (subjectAltName).
  std::string server_cert_pem;
  std::string server_key_pem;
};
TestTls MakeTestTls();

struct SigningKey {
  std::string cert_pem;  // self-signed; the registry's auth.token.rootcertbundle
  std::string key_pem;
  // libtrust's key ID of the public key, which the registry matches against
  // a token's "kid": base32 of the first 30 bytes of the sha256 of the DER
  // SubjectPublicKeyInfo, in 12 groups of 4 joined by ':'.
  std::string kid;
};
SigningKey MakeSigningKey();

// The RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of `data`.
std::string SignRs256(const std::string& key_pem, std::string_view data);
// base64url without padding, as JWTs use it.
std::string Base64Url(std::string_view data);
// Standard base64 (and its inverse, which returns empty on bad input).
std::string Base64(std::string_view data);
std::string Base64Decode(std::string_view text);

}  // namespace bld::testing
