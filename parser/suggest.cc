#include "parser/suggest.h"

#include <algorithm>
#include <cctype>

namespace bld::parser {

namespace {

// A typo worth suggesting a fix for is at most this many edits away.
constexpr size_t kMaxSuggestDistance = 2;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent transposition).
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> Suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // Words this long are not typos of short keywords; skip the quadratic work.
  constexpr size_t kMaxWordLength = 64;
  if (word.empty() || word.size() > kMaxWordLength) return std::nullopt;
  std::string w = Lower(word);
  size_t best = kMaxSuggestDistance + 1;
  std::optional<std::string> best_candidate;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(w, Lower(c));
    if (d < best) {
      best = d;
      best_candidate = c;
    }
  }
  if (best_candidate && best > 0 && best < w.size()) return best_candidate;
  return std::nullopt;
}

}  // namespace bld::parser
