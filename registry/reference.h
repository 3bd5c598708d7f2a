// Image references ("ubuntu", "localhost:5000/app:v1", "gcr.io/p/x@sha256:...")
// parsed and normalized exactly as Docker does.
//
// Users type references the way `docker` taught them to, and compare bld's
// answers and error messages with docker's. So this follows the Go package
// docker, containerd and BuildKit share (distribution/reference with
// go-digest): the grammar of its regexp.go, the Docker Hub normalization
// ("ubuntu" -> "docker.io/library/ubuntu"), the familiar forms shown to users,
// and its error messages word for word ("invalid reference format", ...).
// Only sha256 digests are accepted in references, since that is the one
// algorithm the store can verify; other well-formed ones are "unsupported
// digest algorithm", as in Go when the hash is not linked in.
//
// The grammar is matched by hand-written scanners rather than regular
// expressions: each production is anchored and, once the first '/' and the
// first ':' or '@' are known, there is nothing to backtrack over, so any
// input, however long or hostile, costs one linear pass and no recursion.
// The scanners return the submatches Go's leftmost-first RE2 would.
//
// Thread safety: Reference is an immutable value; every function here may be
// called from any number of threads at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bld::registry {

class Reference {
 public:
  // The longest repository path (the name without its domain) Docker accepts.
  static constexpr size_t kMaxPathLength = 255;

  // Parses without normalizing: "ubuntu" stays a bare path, String() gives
  // back the input. A digest must be sha256. Throws bld::Error with Go's
  // message ("invalid reference format", "repository name must be lowercase",
  // "invalid checksum digest length", ...).
  static Reference Parse(std::string_view s);
  // ParseNormalizedNamed, then insists the input was already canonical
  // ("docker.io/library/ubuntu", not "ubuntu"): "repository name must be canonical".
  static Reference ParseNamed(std::string_view s);
  // What `docker pull` does with its argument: a first component that is not
  // a domain (no '.' or ':', not "localhost", no uppercase) means Docker Hub,
  // "index.docker.io" becomes "docker.io", and a one-component Docker Hub path
  // gets "library/". Rejects bare 64-hex strings (image IDs).
  static Reference ParseNormalizedNamed(std::string_view s);
  // ParseNormalizedNamed, plus ":latest" when there is neither tag nor digest,
  // and with the tag dropped when there is a digest (the digest decides).
  static Reference ParseDockerRef(std::string_view s);
  // Like ParseNormalizedNamed, but a bare 64-hex ID or a full sha256 digest
  // gives a digest-only reference: empty name, String() == digest().
  static Reference ParseAnyReference(std::string_view s);
  // A repository name alone ("[domain/]path", no tag or digest).
  static Reference WithName(std::string_view name);

  // Empty when absent (domain() is empty for Parse("ubuntu")).
  const std::string& domain() const { return domain_; }
  const std::string& path() const { return path_; }
  const std::string& tag() const { return tag_; }
  const std::string& digest() const { return digest_; }
  // "domain/path", or path when there is no domain; empty for digest-only.
  std::string name() const;

  // The full form: name[:tag][@digest].
  std::string String() const;
  // The short form docker shows: "docker.io/library/x" -> "x",
  // "docker.io/u/x" -> "u/x"; other domains are kept.
  std::string FamiliarName() const;
  // FamiliarName()[:tag][@digest].
  std::string FamiliarString() const;

  // Copies with the tag or digest replaced; the other one is kept. Throw
  // "invalid tag format" / "invalid digest format". The digest is checked
  // for form only (any algorithm, 32+ hex digits), as Go's WithDigest does.
  Reference WithTag(std::string_view tag) const;
  Reference WithDigest(std::string_view digest) const;

  // The host to send registry API requests to: Docker Hub's names
  // ("docker.io", "index.docker.io") mean registry-1.docker.io, as in docker.
  // Throws for a reference with no domain: normalize it first.
  std::string RegistryHost() const;

  friend bool operator==(const Reference&, const Reference&) = default;

 private:
  Reference() = default;
  // Throws unless the reference has a name to attach a tag or digest to.
  void RequireName() const;
  // A copy with `part` set to `value`, after the checks WithTag and
  // WithDigest share; `invalid` is the error when `valid` is false.
  Reference WithPart(std::string Reference::*part, std::string_view value, bool valid,
                     std::string_view invalid) const;

  std::string domain_;
  std::string path_;
  std::string tag_;
  std::string digest_;
};

// Whether `pattern` (Go path.Match syntax: '*', '?', '[...]', '\') matches the
// familiar string of `ref` ("x:tag") or, failing that, its familiar name ("x").
// Throws bld::Error("syntax error in pattern") for a malformed pattern.
bool FamiliarMatch(std::string_view pattern, const Reference& ref);

// The productions of distribution/reference's regexp.go, as anchored matches.
// The returned views point into the argument.

// ^domainAndPort$: "example.com", "localhost:5000", "[::1]:5000".
bool IsDomainAndPort(std::string_view s);
// ^tag$: [\w][\w.-]{0,127}.
bool IsTag(std::string_view s);
// ^digest$ (anchoredDigestRegexp): the form only, "<algorithm>:<32+ hex>".
bool IsDigestFormat(std::string_view s);
// ^identifier$: 64 lowercase hex digits, an image ID without "sha256:".
bool IsIdentifier(std::string_view s);

// anchoredNameRegexp: "[domain/]remote-name"; the first component is the
// domain whenever it can be one.
struct NameMatch {
  std::string_view domain;  // empty when there is none
  std::string_view path;
};
std::optional<NameMatch> MatchName(std::string_view s);

// ReferenceRegexp: name[:tag][@digest], with name split as MatchName does.
struct ReferenceMatch {
  std::string_view name;
  std::string_view domain;
  std::string_view path;
  std::string_view tag;     // empty when absent
  std::string_view digest;  // empty when absent
};
std::optional<ReferenceMatch> MatchReference(std::string_view s);

}  // namespace bld::registry
