#include "builder/spec_fields.h"

#include "store/error.h"

namespace bld::builder {

std::map<std::string, std::string> SpecFields(const std::string& spec, const std::string& where,
                                              const std::string& bare_hint) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  for (;;) {
    size_t comma = spec.find(',', pos);
    std::string field = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = field.find('=');
    if (eq == std::string::npos) throw Error(where + "\"" + field + "\" is not key=value (" + bare_hint + ")");
    std::string key = field.substr(0, eq);
    std::string value = field.substr(eq + 1);
    if (value.empty()) throw Error(where + key + "= needs a value");
    if (!fields.emplace(key, value).second) throw Error(where + key + "= is given twice");
    if (comma == std::string::npos) return fields;
    pos = comma + 1;
  }
}

bool SpecBool(const std::string& key, const std::string& value, const std::string& where) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw Error(where + key + "=" + value + ": use " + key + "=true or " + key + "=false");
}

}  // namespace bld::builder
