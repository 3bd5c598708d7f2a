// A path inside a root directory, resolved as the kernel would resolve it
// if that root were `/`: `.` and `..` (which stops at the root) and every
// symlink on the way, an absolute link target starting again at the root,
// so that no path leads out of it. The root is whatever `link_of` reads: a
// build context on the host (builder/build_context.h) or an image's layers
// before they are mounted (lower_lookup.h).
//
// Thread safety: pure function; `link_of` is called on the caller's thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

// The target of the symlink at `rel` (components joined by '/', relative to
// the root), or nullopt when `rel` is not a symlink or does not exist.
using LinkReader = std::function<std::optional<std::string>(const std::string& rel)>;

// The non-empty components of a slash path ("/a//b/" -> {"a", "b"}).
std::vector<std::string> PathComponents(std::string_view path);

// `path`, resolved; the result is relative to the root ("" is the root).
// `follow_last`: resolve a symlink in the last component too. Throws
// bld::Error after 40 links, as Linux does, naming `what`.
std::string ResolveInRoot(std::string_view path, bool follow_last, const LinkReader& link_of, std::string_view what);

}  // namespace bld::runner
