// Content digests: the names of everything in the store.
//
// A Digest is "<algorithm>:<hex>"; bld writes only sha256 but parses what the
// OCI spec allows so that it can refuse the rest with a clear message.
// Sha256 hashes a stream incrementally (OpenSSL EVP) so that no blob is ever
// held whole in memory. Neither type is thread-safe; use one per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace bld::store {

class Digest {
 public:
  Digest() = default;
  // Parses "sha256:<64 lowercase hex>"; throws bld::Error otherwise.
  static Digest Parse(std::string_view text);
  // True when text is a well-formed sha256 digest.
  static bool Valid(std::string_view text);
  static Digest FromHex(std::string_view hex) { return Parse("sha256:" + std::string(hex)); }

  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  bool empty() const { return text_.empty(); }
  // The 12-character short form Docker prints as an image ID.
  std::string Short() const { return std::string(hex().substr(0, 12)); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string text_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Finishes the hash; the object is reset and can be reused.
  Digest Finish();
  // Hex without the algorithm prefix.
  std::string FinishHex();

  static Digest Of(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace bld::store
