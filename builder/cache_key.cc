#include "builder/cache_key.h"

#include <cstdint>
#include <string>

namespace bld::builder {

KeyHasher::KeyHasher(std::string_view kind) {
  Add(kCacheKeyVersion);
  Add(kind);
}

KeyHasher& KeyHasher::Add(std::string_view field) {
  uint64_t n = field.size();
  h_.Update(&n, sizeof n);
  h_.Update(field);
  return *this;
}

std::string KeyHasher::Finish() { return h_.FinishHex(); }

std::string FromImageKey(std::string_view platform, const store::Digest& manifest) {
  return KeyHasher("from").Add(platform).Add(manifest.str()).Finish();
}

std::string FromScratchKey(std::string_view platform) { return KeyHasher("from-scratch").Add(platform).Finish(); }

std::string StepKey(const StepKeyInputs& in) {
  KeyHasher h("step");
  h.Add(in.parent).Add(in.instruction);
  for (const HeredocInput& doc : in.heredocs) h.Add(doc.name).Add(doc.body).Add(doc.expand ? "e" : "r");
  for (const auto& [k, v] : in.args) h.Add(k).Add(v);
  for (const auto& [k, v] : in.files) h.Add(k).Add(v);
  if (in.from_key) h.Add(*in.from_key);
  if (in.network) h.Add("net:" + *in.network);
  if (in.source_date_epoch) h.Add("source-date-epoch").Add(std::to_string(*in.source_date_epoch));
  if (in.security) h.Add("security").Add(*in.security);
  return h.Finish();
}

}  // namespace bld::builder
