#include "cli/build_outputs.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/output_file.h"
#include "registry/image_lookup.h"
#include "store/error.h"
#include "store/fd_io.h"
#include "store/image.h"
#include "store/image_archive.h"
#include "store/platform.h"
#include "store/rootfs_export.h"

namespace bld::cli {

namespace {

using builder::BuildOutput;
using builder::OutputType;

// Sends what `write` produces to the output's dest: stdout, or a file that
// appears only once complete.
void WriteStream(const BuildOutput& output, const std::function<void(const store::ByteSink&)>& write) {
  if (output.to_stdout()) {
    write([](const void* data, size_t size) { store::WriteAll(STDOUT_FILENO, data, size, "stdout"); });
    return;
  }
  OutputFile file(output.dest);
  write([&file](const void* data, size_t size) { file.Write(data, size); });
  file.Commit();
}

std::vector<store::SaveRequest> ArchiveRequest(const BuildOutput& output, const store::Descriptor& manifest,
                                               const std::vector<std::string>& tags) {
  store::SaveRequest request{manifest, {}};
  std::vector<std::string> names = output.name.empty() ? tags : std::vector<std::string>{output.name};
  for (const std::string& name : names) {
    std::string canonical = registry::CanonicalRefName(name);
    request.names.push_back({canonical, registry::FamiliarRefName(canonical)});
  }
  return {request};
}

void PrintWarnings(const std::vector<std::string>& warnings, bool quiet) {
  if (quiet) return;
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

// type=local: the files of the image; of a multi-platform build's index,
// each platform's in a directory of its own named as BuildKit names it
// ("linux_arm64", "linux_arm_v7").
void ExportLocal(const store::Store& store, const store::Descriptor& manifest, const std::string& dest, bool quiet) {
  if (!store::IsIndexMediaType(manifest.media_type)) {
    PrintWarnings(store::ExportRootfs(store, manifest, dest), quiet);
    return;
  }
  for (const store::Descriptor& entry : store::ReadNamedImage(store, manifest).entries) {
    std::string dir = store::FormatPlatform(*entry.platform);
    std::replace(dir.begin(), dir.end(), '/', '_');
    PrintWarnings(store::ExportRootfs(store, entry, dest + "/" + dir), quiet);
  }
}

void WriteOutput(const store::Store& store, const BuildOutput& output, const store::Descriptor& manifest,
                 const std::vector<std::string>& tags, std::optional<int64_t> source_date_epoch, bool quiet) {
  switch (output.type) {
    case OutputType::kLocal:
      ExportLocal(store, manifest, output.dest, quiet);
      return;
    case OutputType::kTar:
      WriteStream(output, [&](const store::ByteSink& sink) {
        PrintWarnings(store::WriteRootfsTar(store, manifest, store.tmp_dir(), source_date_epoch, sink), quiet);
      });
      return;
    case OutputType::kOci:
      if (!output.tar) {
        store::SaveOciLayout(store, ArchiveRequest(output, manifest, tags), output.dest);
        return;
      }
      [[fallthrough]];
    case OutputType::kDocker: {
      store::ArchiveFormat format =
          output.type == OutputType::kOci ? store::ArchiveFormat::kOci : store::ArchiveFormat::kDocker;
      WriteStream(output, [&](const store::ByteSink& sink) {
        store::SaveImages(store, ArchiveRequest(output, manifest, tags), format, sink);
      });
      return;
    }
    case OutputType::kImage:
      return;  // named by the build, pushed by the caller
  }
}

}  // namespace

std::vector<BuildOutput> ParseOutputs(const std::vector<std::string>& specs) {
  std::vector<BuildOutput> outputs;
  for (const std::string& spec : specs) {
    BuildOutput output = builder::ParseBuildOutput(spec);
    if (!output.name.empty()) {
      try {
        registry::CanonicalRefName(output.name);
      } catch (const Error& e) {
        throw Error("--output " + spec + ": name=" + output.name + ": " + e.what());
      }
    }
    if (output.to_stdout() && WritesStdout(outputs))
      throw Error("--output " + spec + ": only one output can go to stdout (-)");
    if (output.to_stdout() && ::isatty(STDOUT_FILENO))
      throw Error("--output " + spec + ": refusing to write a tar to a terminal: name a file, or redirect stdout");
    outputs.push_back(output);
  }
  return outputs;
}

bool WritesStdout(const std::vector<BuildOutput>& outputs) {
  for (const BuildOutput& output : outputs)
    if (output.to_stdout()) return true;
  return false;
}

std::vector<std::string> ImageOutputNames(const std::vector<BuildOutput>& outputs) {
  std::vector<std::string> names;
  for (const BuildOutput& output : outputs)
    if (output.type == OutputType::kImage && !output.name.empty()) names.push_back(output.name);
  return names;
}

std::vector<std::string> OutputPushNames(const std::vector<BuildOutput>& outputs,
                                         const std::vector<std::string>& tags) {
  std::vector<std::string> names;
  for (const BuildOutput& output : outputs) {
    if (output.type != OutputType::kImage || !output.push) continue;
    if (!output.name.empty()) {
      names.push_back(output.name);
    } else if (tags.empty()) {
      throw Error("--output type=image,push=true needs a name to push: add name=NAME[:TAG] or -t NAME[:TAG]");
    } else {
      names.insert(names.end(), tags.begin(), tags.end());
    }
  }
  return names;
}

void WriteOutputs(const store::Store& store, const std::vector<BuildOutput>& outputs,
                  const store::Descriptor& manifest, const std::vector<std::string>& tags,
                  std::optional<int64_t> source_date_epoch, bool quiet) {
  for (const BuildOutput& output : outputs) {
    if (output.type == OutputType::kImage) continue;
    if (!quiet)
      std::fprintf(stderr, "exporting to %s %s\n", std::string(builder::OutputTypeName(output.type)).c_str(),
                   output.to_stdout() ? "stdout" : output.dest.c_str());
    WriteOutput(store, output, manifest, tags, source_date_epoch, quiet);
  }
}

}  // namespace bld::cli
