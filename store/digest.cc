#include "store/digest.h"

#include <openssl/evp.h>

#include "store/error.h"

namespace bld::store {

namespace {
constexpr size_t kSha256HexLength = 64;

bool IsLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

bool Digest::Valid(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!text.starts_with(kPrefix)) return false;
  std::string_view hex = text.substr(kPrefix.size());
  return hex.size() == kSha256HexLength && IsLowerHex(hex);
}

Digest Digest::Parse(std::string_view text) {
  if (!Valid(text)) {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.substr(0, colon) != "sha256")
      throw Error("unsupported digest algorithm in \"" + std::string(text) + "\" (bld supports sha256)");
    throw Error("invalid digest \"" + std::string(text) + "\": expected sha256:<64 hex digits>");
  }
  Digest d;
  d.text_ = std::string(text);
  return d;
}

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error("sha256: cannot initialise OpenSSL digest");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(const void* data, size_t size) {
  if (size) EVP_DigestUpdate(ctx_->md, data, size);
}

std::string Sha256::FinishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return hex;
}

Digest Sha256::Finish() { return Digest::FromHex(FinishHex()); }

Digest Sha256::Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace bld::store
