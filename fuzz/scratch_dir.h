// A private scratch directory under $TMPDIR for a fuzz target that writes
// files (unpacked layers, stores), made once per process; each input works
// in a subdirectory of it and removes that after.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

inline const std::string& FuzzScratchDir(const char* target) {
  static const std::string dir = [target] {
    std::string pattern = (std::filesystem::temp_directory_path() / (std::string(target) + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) std::abort();
    return pattern;
  }();
  return dir;
}
