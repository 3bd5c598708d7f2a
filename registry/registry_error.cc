#include "registry/registry_error.h"

#include <nlohmann/json.hpp>

#include "registry/credentials.h"

namespace bld::registry {

namespace {

using nlohmann::json;

std::string StringOrDump(const json& value) {
  if (value.is_null()) return "";
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string Describe(const RegistryErrorEntry& e) {
  std::string text = e.code;
  if (!e.message.empty()) text += (text.empty() ? "" : ": ") + e.message;
  if (!e.detail.empty() && e.detail != e.message) text += " (" + e.detail + ")";
  return text;
}

}  // namespace

std::vector<RegistryErrorEntry> ParseRegistryErrors(std::string_view body) {
  std::vector<RegistryErrorEntry> entries;
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return entries;
  if (auto errors = doc.find("errors"); errors != doc.end() && errors->is_array()) {
    for (const json& e : *errors) {
      if (!e.is_object()) continue;
      RegistryErrorEntry entry;
      if (auto it = e.find("code"); it != e.end()) entry.code = StringOrDump(*it);
      if (auto it = e.find("message"); it != e.end()) entry.message = StringOrDump(*it);
      if (auto it = e.find("detail"); it != e.end()) entry.detail = StringOrDump(*it);
      entries.push_back(std::move(entry));
    }
    return entries;
  }
  for (const char* field : {"details", "detail", "message"}) {
    if (auto it = doc.find(field); it != doc.end() && it->is_string()) {
      entries.push_back({"", it->get<std::string>(), ""});
      return entries;
    }
  }
  if (auto it = doc.find("error"); it != doc.end() && it->is_string()) {
    RegistryErrorEntry entry{it->get<std::string>(), "", ""};
    if (auto d = doc.find("error_description"); d != doc.end()) entry.message = StringOrDump(*d);
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool RegistryError::HasCode(std::string_view code) const {
  for (const RegistryErrorEntry& e : errors_)
    if (e.code == code) return true;
  return false;
}

std::string_view StatusText(long status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

std::string LoginCommand(std::string_view registry) {
  if (CredentialKey(registry) == kDockerHubCredentialKey) return "bld login";
  return "bld login " + std::string(registry);
}

RegistryError MakeRegistryError(std::string_view action, std::string_view registry, std::string_view repository,
                                const HttpResponse& response, bool sent_credentials, std::string_view answered_by) {
  std::vector<RegistryErrorEntry> errors = ParseRegistryErrors(response.body);
  std::string text = std::string(action) + ": " + std::string(answered_by.empty() ? registry : answered_by) +
                     " answered " + std::to_string(response.status);
  if (std::string_view phrase = StatusText(response.status); !phrase.empty()) text += " " + std::string(phrase);
  if (!repository.empty()) text += " for repository " + std::string(repository);
  if (response.attempts > 1) text += " (after " + std::to_string(response.attempts) + " tries)";
  if (!errors.empty()) {
    text += ": ";
    for (size_t i = 0; i < errors.size(); ++i) text += (i ? "; " : "") + Describe(errors[i]);
  }
  if (response.status == 401) {
    text += sent_credentials ? "; the credentials were refused; to log in again, run: " + LoginCommand(registry)
                             : "; to log in, run: " + LoginCommand(registry);
  } else if (response.status == 403) {
    text += "; the account may have no access to " +
            (repository.empty() ? std::string("it") : std::string(repository)) +
            "; to log in as another, run: " + LoginCommand(registry);
  }
  return RegistryError(text, response.status, std::move(errors));
}

}  // namespace bld::registry
