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

// Marks the keys of bases that get Docker's PATH (a base without one):
// records made before bld added it hold a config without PATH.
constexpr std::string_view kDefaultPathField = "default PATH";

std::string FromImageKey(std::string_view platform, const store::Digest& manifest, bool default_path) {
  KeyHasher h("from");
  h.Add(platform).Add(manifest.str());
  if (default_path) h.Add(kDefaultPathField);
  return h.Finish();
}

std::string FromScratchKey(std::string_view platform) {
  return KeyHasher("from-scratch").Add(platform).Add(kDefaultPathField).Finish();
}

std::string StepKey(const StepKeyInputs& in) {
  KeyHasher h("step");
  h.Add(in.parent).Add(in.instruction);
  for (const HeredocInput& doc : in.heredocs) h.Add(doc.name).Add(doc.body).Add(doc.expand ? "e" : "r");
  for (const auto& [k, v] : in.args) h.Add(k).Add(v);
  for (const auto& [k, v] : in.files) h.Add(k).Add(v);
  if (in.from_key) h.Add(*in.from_key);
  if (in.network) h.Add("net:" + *in.network);
  for (const auto& [k, v] : in.mounts) h.Add("mount").Add(k).Add(v);
  if (in.source_date_epoch) h.Add("source-date-epoch").Add(std::to_string(*in.source_date_epoch));
  if (in.security) h.Add("security").Add(*in.security);
  return h.Finish();
}

std::string LinkedStepKey(std::string_view parent, std::string_view link_key) {
  return KeyHasher("linked-step").Add(parent).Add(link_key).Finish();
}

}  // namespace bld::builder
