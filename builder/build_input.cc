#include "builder/build_input.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "builder/builder.h"
#include "store/error.h"

namespace bld::builder {

namespace {

constexpr std::string_view kDefaultDockerfile = "Dockerfile";

// The Dockerfile's host path for a directory context.
std::string DockerfilePath(const BuildOptions& options) {
  if (options.dockerfile_path.empty()) return options.context_dir + "/" + std::string(kDefaultDockerfile);
  return options.dockerfile_path;
}

}  // namespace

std::string ReadDockerfile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SysError("cannot read Dockerfile " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BuildInput LoadBuildInput(const BuildOptions& options, const std::string& scratch_dir) {
  BuildInput input;
  bool from_tar = options.context_tar_fd >= 0;
  if (from_tar) {
    std::string scratch = scratch_dir + "/context-" + std::to_string(::getpid()) + "-" +
                          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    input.context = BuildContext::FromTar(options.context_tar_fd, scratch);
  } else {
    input.context =
        BuildContext::FromDirectory(options.context_dir, options.dockerfile_text ? "" : DockerfilePath(options));
  }
  if (options.dockerfile_text) {
    input.dockerfile_text = *options.dockerfile_text;
    input.dockerfile_name = std::string(kDefaultDockerfile);
  } else if (from_tar) {
    // -f names a file inside the context tar.
    std::string path = options.dockerfile_path.empty() ? std::string(kDefaultDockerfile) : options.dockerfile_path;
    std::optional<std::string> text = input.context->ReadFile(path);
    if (!text) throw Error("the build context has no Dockerfile (" + path + ")");
    input.dockerfile_text = std::move(*text);
    input.dockerfile_name = path;
  } else {
    input.dockerfile_text = ReadDockerfile(DockerfilePath(options));
    input.dockerfile_name = options.dockerfile_path.empty() ? std::string(kDefaultDockerfile) : options.dockerfile_path;
  }
  return input;
}

}  // namespace bld::builder
