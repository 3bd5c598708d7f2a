// distribution/reference's own test tables (BLD_CONFORMANCE_DIR/reference,
// described in its README.md, section 4), every row, through bld's Reference.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "registry/reference.h"
#include "store/error.h"

using bld::registry::Reference;

namespace {

// One data line of a TSV file; "-" in a cell means "not checked".
struct Row {
  std::string where;  // "file:line"
  std::vector<std::string> cells;
};

constexpr std::string_view kUnchecked = "-";

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    cells.push_back(line.substr(start, tab - start));
  cells.push_back(line.substr(start));
  return cells;
}

// Reads every non-comment line; a missing file fails the test, never skips it.
std::vector<Row> ReadTable(const std::string& file, size_t columns) {
  std::string path = std::string(BLD_CONFORMANCE_DIR) + "/reference/" + file;
  std::ifstream in(path);
  INFO("conformance file " << path);
  REQUIRE(in.good());
  std::vector<Row> rows;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.starts_with("#")) continue;
    Row row{file + ":" + std::to_string(number), SplitTabs(line)};
    INFO(row.where);
    REQUIRE(row.cells.size() == columns);
    rows.push_back(std::move(row));
  }
  return rows;
}

// The value after "key=" in an "extra" cell such as "tag=TAG5 (after WithDigest sha256:...)".
std::string ExtraValue(const std::string& extra, const std::string& key) {
  size_t at = extra.find(key + "=");
  REQUIRE(at != std::string::npos);
  size_t start = at + key.size() + 1;
  return extra.substr(start, extra.find(' ', start) - start);
}

// The argument of "(after <step> <arg>)" in an "extra" cell, or "" if absent.
std::string AfterStep(const std::string& extra, const std::string& step) {
  std::string marker = "(after " + step + " ";
  size_t at = extra.find(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  return extra.substr(start, extra.find(')', start) - start);
}

enum Col { kApi, kInput, kResult, kError, kString, kFamiliar, kName, kDomain, kPath, kTag, kDigest, kExtra };
constexpr size_t kReferenceColumns = 13;

void CheckCell(const Row& row, Col col, const std::string& actual, const char* what) {
  const std::string& expected = row.cells[col];
  if (expected == kUnchecked) return;
  INFO(what);
  CHECK(actual == expected);
}

void CheckReference(const Row& row, const Reference& ref) {
  CheckCell(row, kString, ref.String(), "String()");
  bool familiar_string = row.cells[kExtra].find("FamiliarString") != std::string::npos;
  CheckCell(row, kFamiliar, familiar_string ? ref.FamiliarString() : ref.FamiliarName(), "familiar form");
  CheckCell(row, kName, ref.name(), "name()");
  CheckCell(row, kDomain, ref.domain(), "domain()");
  CheckCell(row, kPath, ref.path(), "path()");
  CheckCell(row, kTag, ref.tag(), "tag()");
  CheckCell(row, kDigest, ref.digest(), "digest()");
}

// Runs `make` and checks the row's expectation: the exact Go message after
// "ErrName: " in the error column when it gives one, else the fields.
void CheckOutcome(const Row& row, const std::function<Reference()>& make) {
  if (row.cells[kResult] == "error") {
    const std::string& error = row.cells[kError];
    if (error == kUnchecked) {
      CHECK_THROWS_AS(make(), bld::Error);
    } else {
      CHECK_THROWS_WITH(make(), error.substr(error.find(": ") + 2));
    }
    return;
  }
  REQUIRE(row.cells[kResult] == "ok");
  try {
    CheckReference(row, make());
  } catch (const bld::Error& e) {
    FAIL("unexpected error: " << e.what());
  }
}

void RunReferenceRow(const Row& row) {
  const std::string& api = row.cells[kApi];
  const std::string& input = row.cells[kInput];
  const std::string& extra = row.cells[kExtra];
  if (api == "Parse") return CheckOutcome(row, [&] { return Reference::Parse(input); });
  if (api == "ParseNamed") return CheckOutcome(row, [&] { return Reference::ParseNamed(input); });
  if (api == "ParseNormalizedNamed") return CheckOutcome(row, [&] { return Reference::ParseNormalizedNamed(input); });
  if (api == "ParseAnyReference") {
    CheckOutcome(row, [&] { return Reference::ParseAnyReference(input); });
    if (row.cells[kResult] != "ok") return;
    bool digest_only = extra.find("digest-only") != std::string::npos;
    INFO("digest-only reference expected: " << digest_only);
    CHECK(Reference::ParseAnyReference(input).name().empty() == digest_only);
    return;
  }
  if (api == "ParseDockerRef") return CheckOutcome(row, [&] { return Reference::ParseDockerRef(input); });
  if (api == "WithName") return CheckOutcome(row, [&] { return Reference::WithName(input); });
  if (api == "WithName+[WithDigest]+WithTag") {
    return CheckOutcome(row, [&] {
      Reference ref = Reference::WithName(input);
      if (std::string digest = AfterStep(extra, "WithDigest"); !digest.empty()) ref = ref.WithDigest(digest);
      return ref.WithTag(ExtraValue(extra, "tag"));
    });
  }
  if (api == "WithName+[WithTag]+WithDigest") {
    return CheckOutcome(row, [&] {
      Reference ref = Reference::WithName(input);
      if (std::string tag = AfterStep(extra, "WithTag"); !tag.empty()) ref = ref.WithTag(tag);
      return ref.WithDigest(ExtraValue(extra, "digest"));
    });
  }
  if (api == "ParseNormalizedNamed+WithTag")
    return CheckOutcome(row, [&] { return Reference::ParseNormalizedNamed(input).WithTag(ExtraValue(extra, "tag")); });
  if (api == "ParseNormalizedNamed+WithDigest") {
    return CheckOutcome(
        row, [&] { return Reference::ParseNormalizedNamed(input).WithDigest(ExtraValue(extra, "digest")); });
  }
  if (api == "FamiliarMatch(pattern, ParseAnyReference(input))") {
    std::string pattern = extra.substr(extra.find('=') + 1);
    Reference ref = Reference::ParseAnyReference(input);
    INFO("pattern " << pattern);
    if (row.cells[kResult] == "error") {
      CHECK_THROWS_WITH(bld::registry::FamiliarMatch(pattern, ref), "syntax error in pattern");
    } else {
      CHECK(bld::registry::FamiliarMatch(pattern, ref) == (row.cells[kResult] == "true"));
    }
    return;
  }
  FAIL("api not driven by this test: " << api);
}

enum RegexpCol { kRegexp, kRegexpInput, kMatch, kSub1, kSub2, kSub3 };
constexpr size_t kRegexpColumns = 7;

void CheckSub(const Row& row, RegexpCol col, std::string_view actual, const char* what) {
  const std::string& expected = row.cells[col];
  if (expected == kUnchecked) return;
  INFO(what);
  CHECK(actual == expected);
}

void RunRegexpRow(const Row& row) {
  const std::string& regexp = row.cells[kRegexp];
  std::string_view input = row.cells[kRegexpInput];
  bool expected = row.cells[kMatch] == "true";
  REQUIRE((expected || row.cells[kMatch] == "false"));
  if (regexp == "^domainAndPort$") {
    CHECK(bld::registry::IsDomainAndPort(input) == expected);
  } else if (regexp == "anchoredIdentifierRegexp") {
    CHECK(bld::registry::IsIdentifier(input) == expected);
  } else if (regexp == "anchoredNameRegexp (subs: domain, remote-name)") {
    auto m = bld::registry::MatchName(input);
    REQUIRE(m.has_value() == expected);
    if (!m) return;
    CheckSub(row, kSub1, m->domain, "domain");
    CheckSub(row, kSub2, m->path, "remote-name");
  } else if (regexp == "referenceRegexp (subs: name, tag, digest)") {
    auto m = bld::registry::MatchReference(input);
    REQUIRE(m.has_value() == expected);
    if (!m) return;
    CheckSub(row, kSub1, m->name, "name");
    CheckSub(row, kSub2, m->tag, "tag");
    CheckSub(row, kSub3, m->digest, "digest");
  } else {
    FAIL("regexp not driven by this test: " << regexp);
  }
}

// Runs every row, naming it in any failure, and returns how many ran.
size_t RunAll(const std::vector<Row>& rows, const std::function<void(const Row&)>& run) {
  size_t count = 0;
  for (const Row& row : rows) {
    INFO(row.where << ": " << row.cells[0] << " " << row.cells[1]);
    run(row);
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("every reference.tsv row behaves as distribution/reference does") {
  // The row counts are the README's.
  CHECK(RunAll(ReadTable("reference.tsv", kReferenceColumns), RunReferenceRow) == 238);
}

TEST_CASE("every regexp.tsv row matches as regexp.go's expressions do") {
  CHECK(RunAll(ReadTable("regexp.tsv", kRegexpColumns), RunRegexpRow) == 110);
}
