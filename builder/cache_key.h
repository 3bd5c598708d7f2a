// Build cache keys: the recipe of docs/cache-keys.md, in code.
//
// A key is a sha256 over length-prefixed fields, so that no two field lists
// hash alike ("ab","c" and "a","bc" differ), starting with the recipe version
// and the kind of key. Every function below is one line of the document's
// recipe; when the recipe changes, kCacheKeyVersion changes with it, so that
// records written by an older recipe are never mistaken for new ones. The
// keys of a store must survive upgrades of bld that keep the recipe: the
// unit tests pin known keys.
//
// Thread-safety: pure functions; a KeyHasher belongs to one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/digest.h"

namespace bld::builder {

inline constexpr std::string_view kCacheKeyVersion = "bld-cache-key-v1";

class KeyHasher {
 public:
  explicit KeyHasher(std::string_view kind);
  KeyHasher& Add(std::string_view field);
  std::string Finish();

 private:
  store::Sha256 h_;
};

// key(FROM image) = H("from", platform, manifest digest of the resolved image
// [, "default PATH" when the image has no PATH and the stage gets Docker's]),
// the platform as "os/arch[/variant]".
std::string FromImageKey(std::string_view platform, const store::Digest& manifest, bool default_path = false);
// key(FROM scratch) = H("from-scratch", platform, "default PATH"): a scratch
// stage starts with Docker's PATH.
std::string FromScratchKey(std::string_view platform);

// A heredoc as it enters a key: name, body as written, expanded or not.
struct HeredocInput {
  std::string name;
  std::string body;
  bool expand = false;
};

// Everything a step's key covers (docs/cache-keys.md, key(step)).
struct StepKeyInputs {
  std::string parent;       // key of the previous step (or of FROM)
  // keyword + flags as written + args after expansion (+ " (exec form)")
  std::string instruction;
  std::vector<HeredocInput> heredocs;
  std::map<std::string, std::string> args;   // RUN: the build args it sees
  std::map<std::string, std::string> files;  // COPY/ADD: source -> content/metadata hash
  // COPY/ADD: the key of the --from stage or image; "" for the context.
  std::optional<std::string> from_key;
  // RUN: the build's network mode, "host" or "none" (a RUN --network flag is
  // part of `instruction`).
  std::optional<std::string> network;
  // RUN --mount: one entry per mount ("mount <n> <type> <target>..."), with
  // what a bind mount shows (its content hash, or the key of its stage or
  // image); "" for the others, whose content never enters a key. Empty
  // without mounts: the key is what it was before mounts existed.
  std::map<std::string, std::string> mounts;
  // SOURCE_DATE_EPOCH, when set: a layer's entry times and the history
  // times depend on it. Absent, the key is what it was before it existed.
  std::optional<int64_t> source_date_epoch;
  // RUN: the build's `--security-opt` choices, only when they differ from
  // Docker's sandbox (what a step may do can change what it makes).
  std::optional<std::string> security;
};

std::string StepKey(const StepKeyInputs& inputs);

// COPY/ADD --link: the step's key on its parent, H("linked-step", parent,
// link key), where the link key is StepKey with the parent replaced by
// "linked, workdir <WORKDIR>": the layer's own record is found by the link
// key whatever the base, and the image after the step by this one.
std::string LinkedStepKey(std::string_view parent, std::string_view link_key);

}  // namespace bld::builder
