#include "runner/output_lines.h"

#include <catch2/catch.hpp>

namespace bld::runner {
namespace {

struct Collected {
  std::vector<std::string> lines;
  OutputLines output;
  explicit Collected(size_t tail = 100) : output([this](std::string_view line) { lines.emplace_back(line); }, tail) {}
};

TEST_CASE("lines are delivered as soon as their newline arrives, across chunks") {
  Collected c;
  c.output.Append("one\ntw");
  CHECK(c.lines == std::vector<std::string>{"one"});
  c.output.Append("o\n\nthree\n");
  CHECK(c.lines == std::vector<std::string>{"one", "two", "", "three"});
}

TEST_CASE("a final line without a newline is delivered by Finish") {
  Collected c;
  c.output.Append("a\nb");
  c.output.Finish();
  CHECK(c.lines == std::vector<std::string>{"a", "b"});
  c.output.Finish();
  CHECK(c.lines.size() == 2);
}

TEST_CASE("the tail keeps the last N lines, oldest first") {
  Collected c(2);
  c.output.Append("1\n2\n3\n4");
  c.output.Finish();
  CHECK(c.output.Tail() == std::vector<std::string>{"3", "4"});
}

TEST_CASE("a line longer than the limit is cut into pieces of the limit") {
  Collected c;
  std::string long_line(OutputLines::kMaxLineLength + 10, 'x');
  c.output.Append(long_line.substr(0, 100));
  c.output.Append(long_line.substr(100) + "\n");
  REQUIRE(c.lines.size() == 2);
  CHECK(c.lines[0].size() == OutputLines::kMaxLineLength);
  CHECK(c.lines[1] == "xxxxxxxxxx");
}

}  // namespace
}  // namespace bld::runner
