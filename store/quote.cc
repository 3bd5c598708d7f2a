#include "store/quote.h"

#include <cstdio>

namespace bld::store {

namespace {

// Enough to recognize a name; a hostile one can be 4 KiB.
constexpr size_t kMaxQuotedLength = 200;
constexpr unsigned char kDelete = 0x7f;

}  // namespace

std::string QuoteName(std::string_view name) {
  std::string out = "\"";
  for (size_t i = 0; i < name.size() && i < kMaxQuotedLength; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == kDelete) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMaxQuotedLength) out += "...";
  return out + "\"";
}

}  // namespace bld::store
