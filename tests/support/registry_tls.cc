#include "support/registry_tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace bld::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Long enough for any test run, short enough that a leaked file is useless.
constexpr long kValiditySeconds = 7 * 24 * 3600;
// Clock skew between the test and the registry is nil, but the notBefore of
// a certificate made this second must not be in the future for anyone.
constexpr long kBackdateSeconds = 3600;
constexpr unsigned kRsaBits = 2048;
// libtrust key IDs: 30 bytes of the hash, 48 base32 characters, 12 groups.
constexpr size_t kKeyIdHashBytes = 30;
constexpr size_t kKeyIdGroup = 4;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

std::string ToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  Check(rc == 1, "X509_add_ext");
}

// A certificate for `key` named `cn`, signed by issuer_key (and named after
// issuer, or self-signed when issuer is null).
Cert MakeCert(EVP_PKEY* key, const char* cn, long serial, X509* issuer, EVP_PKEY* issuer_key, bool ca,
              const char* subject_alt_names) {
  Cert cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("bld tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "X509_set_issuer_name");
  if (ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (subject_alt_names) AddExtension(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
  Check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

std::string Sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  Check(EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) == 1, "EVP_Digest");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Base32(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::string LibtrustKeyId(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  Check(n > 0, "i2d_PUBKEY");
  std::string spki(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  std::string b32 = Base32(Sha256(spki).substr(0, kKeyIdHashBytes));
  std::string kid;
  for (size_t i = 0; i < b32.size(); i += kKeyIdGroup) kid += (i ? ":" : "") + b32.substr(i, kKeyIdGroup);
  return kid;
}

}  // namespace

TestTls MakeTestTls() {
  Key ca_key(EVP_EC_gen("P-256"));
  Check(ca_key != nullptr, "EVP_EC_gen");
  Cert ca = MakeCert(ca_key.get(), "bld test CA", 1, nullptr, ca_key.get(), true, nullptr);
  Key server_key(EVP_EC_gen("P-256"));
  Check(server_key != nullptr, "EVP_EC_gen");
  Cert server = MakeCert(server_key.get(), "127.0.0.1", 2, ca.get(), ca_key.get(), false,
                         "IP:127.0.0.1,IP:::1,DNS:localhost");
  return {ToPem(ca.get()), ToPem(server.get()), ToPem(server_key.get())};
}

SigningKey MakeSigningKey() {
  Key key(EVP_RSA_gen(kRsaBits));
  Check(key != nullptr, "EVP_RSA_gen");
  Cert cert = MakeCert(key.get(), "bld test token issuer", 3, nullptr, key.get(), true, nullptr);
  return {ToPem(cert.get()), ToPem(key.get()), LibtrustKeyId(key.get())};
}

std::string SignRs256(const std::string& key_pem, std::string_view data) {
  Bio bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Check(bio != nullptr, "BIO_new_mem_buf");
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  Check(key != nullptr, "PEM_read_bio_PrivateKey");
  MdCtx ctx(EVP_MD_CTX_new());
  Check(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1, "EVP_DigestSignInit");
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  Check(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) == 1, "EVP_DigestSign");
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) == 1,
        "EVP_DigestSign");
  sig.resize(len);
  return sig;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return "";
  std::string out(3 * (text.size() / 4) + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t length = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && length > 0; --i) --length;
  out.resize(length);
  return out;
}

std::string Base64Url(std::string_view data) {
  std::string s = Base64(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

}  // namespace bld::testing
