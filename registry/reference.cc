#include "registry/reference.h"

#include <utility>

#include "store/error.h"

namespace bld::registry {

namespace {

constexpr size_t npos = std::string_view::npos;

// Docker Hub's names, as distribution/reference and docker use them.
constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kDockerHubRegistryHost = "registry-1.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr std::string_view kLocalhost = "localhost";
constexpr std::string_view kDefaultTag = "latest";

// distribution/reference's errors.
constexpr const char* kErrReferenceInvalidFormat = "invalid reference format";
constexpr const char* kErrTagInvalidFormat = "invalid tag format";
constexpr const char* kErrDigestInvalidFormat = "invalid digest format";
constexpr const char* kErrNameContainsUppercase = "repository name must be lowercase";
constexpr const char* kErrNameEmpty = "repository name must have at least one component";
// 255 is Reference::kMaxPathLength.
constexpr const char* kErrNameTooLong = "repository name must not be more than 255 characters";
constexpr const char* kErrNameNotCanonical = "repository name must be canonical";
// go-digest's errors.
constexpr const char* kErrChecksumInvalidFormat = "invalid checksum digest format";
constexpr const char* kErrChecksumInvalidLength = "invalid checksum digest length";
constexpr const char* kErrDigestUnsupported = "unsupported digest algorithm";
// Go's path.ErrBadPattern.
constexpr const char* kErrBadPattern = "syntax error in pattern";

// The one digest algorithm the store verifies, and its hex length.
constexpr std::string_view kSha256 = "sha256";
constexpr size_t kSha256HexLength = 64;
// Shortest digest hex the reference grammar accepts: 128 bits.
constexpr size_t kMinDigestHexLength = 32;
// Longest tag: one leading character and up to 127 more.
constexpr size_t kMaxTagLength = 128;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsLowerAlnum(char c) { return IsLower(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
// RE2's \w is ASCII only.
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }

template <typename Pred>
bool All(std::string_view s, Pred pred) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

bool HasUpper(std::string_view s) {
  for (char c : s)
    if (IsUpper(c)) return true;
  return false;
}

// Go's strings.ToLower folds all of Unicode; bld folds ASCII. Only the choice
// between two error messages for non-ASCII input depends on the difference,
// since no non-ASCII input is a valid reference either way.
std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (IsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Calls fn on each piece of s between separators (sep(c) true), including
// empty ones; stops and returns false as soon as fn does.
template <typename Sep, typename Fn>
bool EachPiece(std::string_view s, Sep sep, Fn fn) {
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || sep(s[i])) {
      if (!fn(s.substr(start, i - start))) return false;
      start = i + 1;
    }
  }
  return true;
}

// separator: [._] | __ | [-]+
bool IsSeparator(std::string_view s) {
  return s == "." || s == "_" || s == "__" || (!s.empty() && All(s, [](char c) { return c == '-'; }));
}

// pathComponent: [a-z0-9]+ (separator [a-z0-9]+)*. Two separators can never
// be adjacent, so each maximal run of other characters must be one separator.
bool IsPathComponent(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (IsLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (!IsLowerAlnum(s[i])) ++i;  // stops at the alphanumeric s ends with
    if (!IsSeparator(s.substr(start, i - start))) return false;
  }
  return true;
}

// remoteName: pathComponent (/ pathComponent)*
bool IsRemoteName(std::string_view s) {
  return EachPiece(s, [](char c) { return c == '/'; }, IsPathComponent);
}

// domainNameComponent: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsDomainNameComponent(std::string_view s) {
  return !s.empty() && IsAlnum(s.front()) && IsAlnum(s.back()) &&
         All(s, [](char c) { return IsAlnum(c) || c == '-'; });
}

// ipv6address: \[[a-fA-F0-9:]+\] (no zone, no embedded IPv4).
bool IsBracketedIpv6(std::string_view s) {
  return s.size() > 2 && s.front() == '[' && s.back() == ']' &&
         All(s.substr(1, s.size() - 2), [](char c) { return IsHex(c) || c == ':'; });
}

// Everything after the name: (:tag)?(@digest)?. The tag cannot contain '@'
// and the digest is the rest, so there is one way to split.
bool MatchSuffix(std::string_view s, size_t pos, ReferenceMatch* m) {
  if (pos < s.size() && s[pos] == ':') {
    size_t at = s.find('@', pos + 1);
    m->tag = s.substr(pos + 1, at == npos ? npos : at - pos - 1);
    if (!IsTag(m->tag)) return false;
    pos = at == npos ? s.size() : at;
  }
  if (pos == s.size()) return true;
  if (s[pos] != '@') return false;
  m->digest = s.substr(pos + 1);
  return IsDigestFormat(m->digest);
}

// go-digest's Digest.Validate with sha256 as the only available algorithm;
// returns the error message, or nullptr for a valid digest.
const char* DigestError(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == npos || colon == 0 || colon + 1 == d.size()) return kErrChecksumInvalidFormat;
  std::string_view algorithm = d.substr(0, colon);
  std::string_view encoded = d.substr(colon + 1);
  if (algorithm != kSha256) {
    // go-digest's DigestRegexp: [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+
    bool well_formed =
        EachPiece(algorithm, [](char c) { return c == '.' || c == '+' || c == '_' || c == '-'; },
                  [](std::string_view piece) { return !piece.empty() && All(piece, IsLowerAlnum); }) &&
        All(encoded, [](char c) { return IsAlnum(c) || c == '=' || c == '_' || c == '-'; });
    return well_formed ? kErrDigestUnsupported : kErrChecksumInvalidFormat;
  }
  if (encoded.size() != kSha256HexLength) return kErrChecksumInvalidLength;
  return All(encoded, IsLowerHex) ? nullptr : kErrChecksumInvalidFormat;
}

// normalize.go's splitDockerDomain: decides whether the first component names
// a registry, and adds Docker Hub's defaults. Returns {domain, remainder}
// where the remainder still carries any tag and digest.
std::pair<std::string_view, std::string> SplitDockerDomain(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == npos) return {kDefaultDomain, std::string(kOfficialRepoPrefix) + std::string(s)};
  std::string_view first = s.substr(0, slash);
  std::string_view domain = first;
  std::string_view remote = s.substr(slash + 1);
  if (first == kLegacyDefaultDomain) {
    domain = kDefaultDomain;
  } else if (first != kLocalhost && first.find_first_of(".:") == npos && !HasUpper(first)) {
    // A lowercase word such as "library" or "myuser" is a Docker Hub namespace.
    domain = kDefaultDomain;
    remote = s;
  }
  if (domain == kDefaultDomain && remote.find('/') == npos)
    return {domain, std::string(kOfficialRepoPrefix) + std::string(remote)};
  return {domain, std::string(remote)};
}

// Go's utf8.DecodeRuneInString for non-empty s: an invalid or truncated
// sequence decodes as U+FFFD of length 1.
struct Rune {
  char32_t value;
  size_t size;
};
constexpr char32_t kRuneError = 0xFFFD;

Rune DecodeRune(std::string_view s) {
  auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  // The lead byte gives the length, its payload bits, and the smallest value
  // that needs that length (anything smaller is an invalid overlong form).
  struct Lead {
    unsigned char mask, bits;
    size_t size;
    char32_t min;
  };
  static constexpr Lead kLeads[] = {{0xE0, 0xC0, 2, 0x80}, {0xF0, 0xE0, 3, 0x800}, {0xF8, 0xF0, 4, 0x10000}};
  const Lead* lead = nullptr;
  for (const Lead& l : kLeads)
    if ((b0 & l.mask) == l.bits) lead = &l;
  if (!lead) return {kRuneError, 1};
  size_t size = lead->size;
  char32_t value = b0 & static_cast<unsigned char>(~lead->mask);
  if (s.size() < size) return {kRuneError, 1};
  for (size_t i = 1; i < size; ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return {kRuneError, 1};
    value = (value << 6) | (b & 0x3F);
  }
  bool surrogate = value >= 0xD800 && value <= 0xDFFF;
  if (value < lead->min || value > 0x10FFFF || surrogate) return {kRuneError, 1};
  return {value, size};
}

// Go's path.Match, which FamiliarMatch uses. A pattern is a sequence of
// chunks, each a run of non-star pattern text after optional stars. Like Go,
// a malformed chunk is an error even when an earlier chunk already failed to
// match, so a bad pattern is reported whatever it is matched against.
class PathPattern {
 public:
  explicit PathPattern(std::string_view pattern) : rest_(pattern) {}

  bool Match(std::string_view name) {
    while (!rest_.empty()) {
      auto [star, chunk] = NextChunk();
      if (star && chunk.empty()) return name.find('/') == npos;  // trailing '*'
      // Go takes the first way the chunk matches and never revisits it.
      std::optional<std::string_view> after = MatchChunk(chunk, name);
      if (after && (after->empty() || !rest_.empty())) {
        name = *after;
        continue;
      }
      if (star && SkipToChunk(chunk, &name)) continue;
      while (!rest_.empty()) MatchChunk(NextChunk().second, {});
      return false;
    }
    return name.empty();
  }

 private:
  std::pair<bool, std::string_view> NextChunk() {
    bool star = false;
    while (!rest_.empty() && rest_[0] == '*') {
      rest_.remove_prefix(1);
      star = true;
    }
    bool in_class = false;
    size_t i = 0;
    for (; i < rest_.size(); ++i) {
      char c = rest_[i];
      if (c == '\\') {
        if (i + 1 < rest_.size()) ++i;  // a trailing '\' is reported by MatchChunk
      } else if (c == '[') {
        in_class = true;
      } else if (c == ']') {
        in_class = false;
      } else if (c == '*' && !in_class) {
        break;
      }
    }
    std::string_view chunk = rest_.substr(0, i);
    rest_.remove_prefix(i);
    return {star, chunk};
  }

  // After a star: the chunk matched further on, the star taking 1.. bytes of
  // name but never a '/'. The last chunk must also reach the end of name.
  bool SkipToChunk(std::string_view chunk, std::string_view* name) {
    for (size_t i = 0; i < name->size() && (*name)[i] != '/'; ++i) {
      std::optional<std::string_view> after = MatchChunk(chunk, name->substr(i + 1));
      if (after && (!rest_.empty() || after->empty())) {
        *name = *after;
        return true;
      }
    }
    return false;
  }

  // Matches chunk at the start of s; returns what is left of s.
  static std::optional<std::string_view> MatchChunk(std::string_view chunk, std::string_view s) {
    bool failed = false;
    while (!chunk.empty()) {
      if (s.empty()) failed = true;
      switch (chunk[0]) {
        case '[': {
          char32_t r = 0;
          if (!failed) {
            Rune rune = DecodeRune(s);
            r = rune.value;
            s.remove_prefix(rune.size);
          }
          chunk.remove_prefix(1);
          bool negated = !chunk.empty() && chunk[0] == '^';
          if (negated) chunk.remove_prefix(1);
          bool in_class = false;
          for (bool first = true;; first = false) {
            if (!first && !chunk.empty() && chunk[0] == ']') {
              chunk.remove_prefix(1);
              break;
            }
            char32_t lo = ClassChar(&chunk);
            char32_t hi = lo;
            if (chunk[0] == '-') {
              chunk.remove_prefix(1);
              hi = ClassChar(&chunk);
            }
            if (lo <= r && r <= hi) in_class = true;
          }
          if (in_class == negated) failed = true;
          break;
        }
        case '?':
          if (!failed) {
            if (s[0] == '/') failed = true;
            s.remove_prefix(DecodeRune(s).size);
          }
          chunk.remove_prefix(1);
          break;
        case '\\':
          chunk.remove_prefix(1);
          if (chunk.empty()) throw Error(kErrBadPattern);
          [[fallthrough]];
        default:
          if (!failed) {
            if (chunk[0] != s[0]) failed = true;
            s.remove_prefix(1);
          }
          chunk.remove_prefix(1);
      }
    }
    if (failed) return std::nullopt;
    return s;
  }

  // One end of a range in a class: a character, optionally '\'-escaped, that
  // must be followed by more of the class.
  static char32_t ClassChar(std::string_view* chunk) {
    if (chunk->empty() || (*chunk)[0] == '-' || (*chunk)[0] == ']') throw Error(kErrBadPattern);
    if ((*chunk)[0] == '\\') {
      chunk->remove_prefix(1);
      if (chunk->empty()) throw Error(kErrBadPattern);
    }
    Rune rune = DecodeRune(*chunk);
    chunk->remove_prefix(rune.size);
    if ((rune.value == kRuneError && rune.size == 1) || chunk->empty()) throw Error(kErrBadPattern);
    return rune.value;
  }

  std::string_view rest_;
};

}  // namespace

bool IsDomainAndPort(std::string_view s) {
  // The host ends at the first ']' for an IPv6 address, else at the first ':'
  // (neither can occur inside it); what follows can only be the port.
  size_t host_end = !s.empty() && s[0] == '[' ? s.find(']') : s.find(':');
  if (host_end != npos && s[0] == '[') ++host_end;
  std::string_view host = s.substr(0, host_end);
  std::string_view port = host_end == npos ? std::string_view() : s.substr(host_end);
  bool host_ok = (!host.empty() && host[0] == '[')
                     ? IsBracketedIpv6(host)
                     : EachPiece(host, [](char c) { return c == '.'; }, IsDomainNameComponent);
  return host_ok && (port.empty() || (port.size() > 1 && port[0] == ':' && All(port.substr(1), IsDigit)));
}

bool IsTag(std::string_view s) {
  return !s.empty() && s.size() <= kMaxTagLength && IsWord(s[0]) &&
         All(s, [](char c) { return IsWord(c) || c == '.' || c == '-'; });
}

bool IsDigestFormat(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == npos) return false;
  std::string_view hex = s.substr(colon + 1);
  // algorithm: [A-Za-z][A-Za-z0-9]* joined by single [-_+.]
  return EachPiece(s.substr(0, colon), [](char c) { return c == '-' || c == '_' || c == '+' || c == '.'; },
                   [](std::string_view piece) { return !piece.empty() && IsAlpha(piece[0]) && All(piece, IsAlnum); }) &&
         hex.size() >= kMinDigestHexLength && All(hex, IsHex);
}

bool IsIdentifier(std::string_view s) { return s.size() == kSha256HexLength && All(s, IsLowerHex); }

std::optional<NameMatch> MatchName(std::string_view s) {
  // The optional domain is greedy: if the text before the first '/' can be a
  // domain (and the rest a path), it is one.
  size_t slash = s.find('/');
  if (slash != npos && IsDomainAndPort(s.substr(0, slash)) && IsRemoteName(s.substr(slash + 1)))
    return NameMatch{s.substr(0, slash), s.substr(slash + 1)};
  if (IsRemoteName(s)) return NameMatch{{}, s};
  return std::nullopt;
}

std::optional<ReferenceMatch> MatchReference(std::string_view s) {
  // A path holds no ':' or '@', so it ends at the first one after its start.
  // With a domain the path starts after the first '/', which lets a port
  // through ("host:5000/app"); without one it starts at 0, so that
  // "localhost:5000" is the name "localhost" with the tag "5000".
  size_t slash = s.find('/');
  if (slash != npos && IsDomainAndPort(s.substr(0, slash))) {
    size_t end = s.find_first_of(":@", slash + 1);
    ReferenceMatch m;
    m.name = s.substr(0, end);
    m.domain = s.substr(0, slash);
    m.path = m.name.substr(slash + 1);
    if (IsRemoteName(m.path) && MatchSuffix(s, m.name.size(), &m)) return m;
  }
  ReferenceMatch m;
  m.name = s.substr(0, s.find_first_of(":@"));
  if (!IsRemoteName(m.name) || !MatchSuffix(s, m.name.size(), &m)) return std::nullopt;
  // MatchName would not split this name either: had its first component been
  // a domain, the attempt above would have matched the same name and suffix.
  m.path = m.name;
  return m;
}

Reference Reference::Parse(std::string_view s) {
  if (s.empty()) throw Error(kErrNameEmpty);
  std::optional<ReferenceMatch> m = MatchReference(s);
  if (!m) {
    std::string lower = AsciiLower(s);
    if (lower != s && MatchReference(lower)) throw Error(kErrNameContainsUppercase);
    throw Error(kErrReferenceInvalidFormat);
  }
  if (m->path.size() > kMaxPathLength) throw Error(kErrNameTooLong);
  if (!m->digest.empty())
    if (const char* err = DigestError(m->digest)) throw Error(err);
  Reference ref;
  ref.domain_ = m->domain;
  ref.path_ = m->path;
  ref.tag_ = m->tag;
  ref.digest_ = m->digest;
  return ref;
}

Reference Reference::ParseNormalizedNamed(std::string_view s) {
  if (IsIdentifier(s))
    throw Error("invalid repository name (" + std::string(s) + "), cannot specify 64-byte hexadecimal strings");
  auto [domain, remainder] = SplitDockerDomain(s);
  std::string_view remote = std::string_view(remainder).substr(0, remainder.find(':'));
  if (HasUpper(remote))
    throw Error("invalid reference format: repository name (" + std::string(remote) + ") must be lowercase");
  return Parse(std::string(domain) + "/" + remainder);
}

Reference Reference::ParseNamed(std::string_view s) {
  Reference ref = ParseNormalizedNamed(s);
  if (ref.String() != s) throw Error(kErrNameNotCanonical);
  return ref;
}

Reference Reference::ParseDockerRef(std::string_view s) {
  Reference ref = ParseNormalizedNamed(s);
  if (!ref.digest_.empty())
    ref.tag_.clear();
  else if (ref.tag_.empty())
    ref.tag_ = kDefaultTag;
  return ref;
}

Reference Reference::ParseAnyReference(std::string_view s) {
  Reference ref;
  if (IsIdentifier(s)) {
    ref.digest_ = std::string(kSha256) + ":" + std::string(s);
    return ref;
  }
  if (!DigestError(s)) {
    ref.digest_ = s;
    return ref;
  }
  return ParseNormalizedNamed(s);
}

Reference Reference::WithName(std::string_view name) {
  std::optional<NameMatch> m = MatchName(name);
  if (!m) throw Error(kErrReferenceInvalidFormat);
  if (m->path.size() > kMaxPathLength) throw Error(kErrNameTooLong);
  Reference ref;
  ref.domain_ = m->domain;
  ref.path_ = m->path;
  return ref;
}

std::string Reference::name() const { return domain_.empty() ? path_ : domain_ + "/" + path_; }

std::string Reference::String() const {
  std::string s = name();
  if (!tag_.empty()) s += ":" + tag_;
  if (!digest_.empty()) s += (s.empty() ? "" : "@") + digest_;
  return s;
}

std::string Reference::FamiliarName() const {
  if (domain_ != kDefaultDomain) return name();
  std::string_view path = path_;
  // Only a one-level "library/x" is an official image; "library/x/y" is not.
  if (path.starts_with(kOfficialRepoPrefix) && path.find('/', kOfficialRepoPrefix.size()) == npos)
    path.remove_prefix(kOfficialRepoPrefix.size());
  return std::string(path);
}

std::string Reference::FamiliarString() const {
  if (path_.empty()) return digest_;
  std::string s = FamiliarName();
  if (!tag_.empty()) s += ":" + tag_;
  if (!digest_.empty()) s += "@" + digest_;
  return s;
}

void Reference::RequireName() const {
  if (path_.empty()) throw Error("reference " + String() + " has no name");
}

Reference Reference::WithPart(std::string Reference::*part, std::string_view value, bool valid,
                              std::string_view invalid) const {
  RequireName();
  if (!valid) throw Error(std::string(invalid));
  Reference ref = *this;
  ref.*part = value;
  return ref;
}

Reference Reference::WithTag(std::string_view tag) const {
  return WithPart(&Reference::tag_, tag, IsTag(tag), kErrTagInvalidFormat);
}

Reference Reference::WithDigest(std::string_view digest) const {
  return WithPart(&Reference::digest_, digest, IsDigestFormat(digest), kErrDigestInvalidFormat);
}

std::string Reference::RegistryHost() const {
  if (domain_.empty()) throw Error("reference " + String() + " names no registry");
  if (domain_ == kDefaultDomain || domain_ == kLegacyDefaultDomain) return std::string(kDockerHubRegistryHost);
  return domain_;
}

bool FamiliarMatch(std::string_view pattern, const Reference& ref) {
  if (PathPattern(pattern).Match(ref.FamiliarString())) return true;
  // Go ignores the second match's error: it is the first one's, already thrown.
  return !ref.path().empty() && PathPattern(pattern).Match(ref.FamiliarName());
}

}  // namespace bld::registry
