// The image a stage has built so far, and what went into one step's key.
//
// Thread-safety: values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "store/oci.h"

namespace bld::builder {

// The image a stage has built so far.
struct ImageState {
  store::ImageConfig config;
  std::vector<store::Descriptor> layers;  // manifest layer descriptors, base first
};

// What went into a step's key, kept to explain the next miss.
struct StepInputs {
  std::string parent;       // the key of the state before the step
  std::string instruction;  // the instruction after expansion
  std::map<std::string, std::string> args;   // build args the step observes
  std::map<std::string, std::string> files;  // source path -> content/metadata hash
  std::string base;         // FROM: the resolved base
};

}  // namespace bld::builder
