// In-process parser benchmark: ParseDockerfile on a Dockerfile read from a
// file, repeated, median reported. Separates parsing from process start and
// JSON printing (which bench/parser_bench.sh measures as a whole).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "parser/dockerfile.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DOCKERFILE [runs]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  int runs = argc > 2 ? std::atoi(argv[2]) : 21;
  std::vector<double> ms;
  size_t instructions = 0;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    bld::parser::Dockerfile df = bld::parser::ParseDockerfile(text);
    auto end = std::chrono::steady_clock::now();
    instructions = 0;
    for (const auto& s : df.stages) instructions += 1 + s.instructions.size();
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("ParseDockerfile: %zu instructions, median %.2f ms over %d runs (%.0f instructions/s)\n", instructions,
              ms[ms.size() / 2], runs, instructions / (ms[ms.size() / 2] / 1000));
  return 0;
}
