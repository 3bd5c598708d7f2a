// The rule "never accept and ignore": every flag, flag value, mount type and
// mount option the parser accepts is one the builder carries out or refuses
// at its line (builder/flag_support.h).
//
// The enumerating tests below take what the parser accepts from the parser
// itself (AcceptedFlags, MountOptionSpecs), so a flag or option the parser
// learns fails here until it has a sample. Each sample builds a Dockerfile
// with the flag and a twin that differs only there, against the fakes, and
// requires an implemented flag to change what the runtime is asked to do or
// the image config, and a refused one to fail at its line naming the flag.
// A flag the builder reads and then ignores gives twins that look the same.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <sstream>

#include "builder/flag_support.h"
#include "builder_fakes.h"
#include "store/oci.h"

using namespace bld;
using bld::testing::FakeBuild;
using bld::testing::FakeImage;

namespace {

struct Sample {
  std::string with;     // a Dockerfile whose last line uses the flag
  std::string without;  // its twin: the same but for the flag
  bool refused = false;
  std::function<void(FakeBuild&)> setup;  // build options the sample needs
};

std::string OneStage(const std::string& line) { return "FROM busybox\n" + line + "\n"; }
std::string TwoStages(const std::string& line) { return "FROM busybox AS src\nRUN gen\nFROM busybox\n" + line + "\n"; }

Sample Applied(std::string with, std::string without, std::function<void(FakeBuild&)> setup = nullptr) {
  return {std::move(with), std::move(without), false, std::move(setup)};
}
Sample Refused(std::string with) { return {std::move(with), "", true, nullptr}; }

void BuildNetwork(FakeBuild& b, runner::NetworkMode mode) { b.options.network = mode; }

// One sample per flag of parser::AcceptedFlags, and per value of a flag with
// a closed set of them: "RUN --network=none", "COPY --chown".
const std::map<std::string, Sample>& FlagSamples() {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto none = [](FakeBuild& b) { BuildNetwork(b, runner::NetworkMode::kNone); };
  auto allow_insecure = [](FakeBuild& b) { b.options.allow_insecure = true; };
  static const std::map<std::string, Sample> samples = {
      {"FROM --platform", Applied("FROM --platform=linux/s390x scratch\n", "FROM scratch\n")},
      {"RUN --mount", Applied(OneStage("RUN --mount=type=tmpfs,target=/t x"), OneStage("RUN x"))},
      {"RUN --network=default",
       Applied(OneStage("RUN --network=default x"), OneStage("RUN --network=host x"), none)},
      {"RUN --network=none", Applied(OneStage("RUN --network=none x"), OneStage("RUN x"))},
      {"RUN --network=host", Applied(OneStage("RUN --network=host x"), OneStage("RUN x"), none)},
      {"RUN --security=sandbox",
       Applied(OneStage("RUN --security=sandbox x"), OneStage("RUN --security=insecure x"), allow_insecure)},
      {"RUN --security=insecure",
       Applied(OneStage("RUN --security=insecure x"), OneStage("RUN --security=sandbox x"), allow_insecure)},
      {"RUN --device", Refused(OneStage("RUN --device=/dev/kvm x"))},
      {"COPY --chown", Applied(OneStage("COPY --chown=42 a /a"), OneStage("COPY a /a"))},
      {"COPY --chmod", Applied(OneStage("COPY --chmod=600 a /a"), OneStage("COPY a /a"))},
      {"COPY --from", Applied(TwoStages("COPY --from=src a /a"), TwoStages("COPY a /a"))},
      {"COPY --link", Applied(OneStage("COPY --link a /a"), OneStage("COPY a /a"))},
      {"COPY --parents", Applied(OneStage("COPY --parents d/a /x/"), OneStage("COPY d/a /x/"))},
      {"COPY --exclude", Applied(OneStage("COPY --exclude=b d /x/"), OneStage("COPY d /x/"))},
      {"ADD --chown", Applied(OneStage("ADD --chown=42 a /a"), OneStage("ADD a /a"))},
      {"ADD --chmod", Applied(OneStage("ADD --chmod=600 a /a"), OneStage("ADD a /a"))},
      {"ADD --link", Applied(OneStage("ADD --link a /a"), OneStage("ADD a /a"))},
      {"ADD --exclude", Applied(OneStage("ADD --exclude=b d /x/"), OneStage("ADD d /x/"))},
      {"ADD --checksum", Applied(OneStage("ADD --checksum=" + digest + " a /a"), OneStage("ADD a /a"))},
      {"ADD --keep-git-dir", Refused(OneStage("ADD --keep-git-dir=true a /a"))},
      {"HEALTHCHECK --interval",
       Applied(OneStage("HEALTHCHECK --interval=5s CMD true"), OneStage("HEALTHCHECK CMD true"))},
      {"HEALTHCHECK --timeout",
       Applied(OneStage("HEALTHCHECK --timeout=5s CMD true"), OneStage("HEALTHCHECK CMD true"))},
      {"HEALTHCHECK --start-period",
       Applied(OneStage("HEALTHCHECK --start-period=5s CMD true"), OneStage("HEALTHCHECK CMD true"))},
      {"HEALTHCHECK --start-interval",
       Applied(OneStage("HEALTHCHECK --start-interval=5s CMD true"), OneStage("HEALTHCHECK CMD true"))},
      {"HEALTHCHECK --retries",
       Applied(OneStage("HEALTHCHECK --retries=5 CMD true"), OneStage("HEALTHCHECK CMD true"))},
  };
  return samples;
}

// One sample per mount type ("type=cache") and per option of a type, and
// value of an option with a closed set of them ("type=cache,sharing=locked").
const std::map<std::string, Sample>& MountSamples() {
  auto run = [](const std::string& mount) { return OneStage("RUN --mount=" + mount + " x"); };
  auto run2 = [](const std::string& mount) { return TwoStages("RUN --mount=" + mount + " x"); };
  const std::string plain = OneStage("RUN x");
  static const std::map<std::string, Sample> samples = {
      {"type=bind", Applied(run("type=bind,target=/m"), plain)},
      {"type=bind,from", Applied(run2("type=bind,from=src,target=/m"), run2("type=bind,target=/m"))},
      {"type=bind,source", Applied(run("type=bind,source=d,target=/m"), run("type=bind,target=/m"))},
      {"type=bind,target", Applied(run("type=bind,target=/m"), run("type=bind,target=/n"))},
      {"type=bind,ro", Applied(run("type=bind,target=/m,ro"), run("type=bind,target=/m,rw"))},
      {"type=bind,rw", Applied(run("type=bind,target=/m,rw"), run("type=bind,target=/m"))},
      {"type=cache", Applied(run("type=cache,target=/c"), plain)},
      {"type=cache,id", Applied(run("type=cache,id=one,target=/c"), run("type=cache,target=/c"))},
      {"type=cache,target", Applied(run("type=cache,target=/c"), run("type=cache,target=/d"))},
      {"type=cache,ro", Applied(run("type=cache,target=/c,ro"), run("type=cache,target=/c"))},
      {"type=cache,rw", Applied(run("type=cache,target=/c,rw"), run("type=cache,target=/c,ro"))},
      {"type=cache,from", Applied(run2("type=cache,target=/c,from=src"), run2("type=cache,target=/c"))},
      {"type=cache,source", Applied(run("type=cache,target=/c,source=sub"), run("type=cache,target=/c"))},
      {"type=cache,mode", Applied(run("type=cache,target=/c,mode=0700"), run("type=cache,target=/c"))},
      {"type=cache,uid", Applied(run("type=cache,target=/c,uid=5"), run("type=cache,target=/c"))},
      {"type=cache,gid", Applied(run("type=cache,target=/c,gid=5"), run("type=cache,target=/c"))},
      {"type=cache,sharing=shared",
       Applied(run("type=cache,target=/c,sharing=shared"), run("type=cache,target=/c,sharing=private"))},
      {"type=cache,sharing=private",
       Applied(run("type=cache,target=/c,sharing=private"), run("type=cache,target=/c"))},
      {"type=cache,sharing=locked",
       Applied(run("type=cache,target=/c,sharing=locked"), run("type=cache,target=/c"))},
      {"type=tmpfs", Applied(run("type=tmpfs,target=/t"), plain)},
      {"type=tmpfs,target", Applied(run("type=tmpfs,target=/t"), run("type=tmpfs,target=/u"))},
      {"type=tmpfs,size", Applied(run("type=tmpfs,target=/t,size=1m"), run("type=tmpfs,target=/t"))},
      {"type=tmpfs,ro", Applied(run("type=tmpfs,target=/t,ro"), run("type=tmpfs,target=/t"))},
      {"type=tmpfs,rw", Applied(run("type=tmpfs,target=/t,rw"), run("type=tmpfs,target=/t,ro"))},
      {"type=secret", Applied(run("type=secret,id=tok"), plain)},
      {"type=secret,id", Applied(run("type=secret,id=tok,target=/s"), run("type=secret,target=/s"))},
      {"type=secret,source", Applied(run("type=secret,source=tok,target=/s"), run("type=secret,target=/s"))},
      {"type=secret,target", Applied(run("type=secret,id=tok,target=/s"), run("type=secret,id=tok"))},
      {"type=secret,env", Applied(run("type=secret,id=tok,env=T"), run("type=secret,id=tok"))},
      {"type=secret,required", Applied(run("type=secret,id=gone,required"), run("type=secret,id=gone"))},
      {"type=secret,mode", Applied(run("type=secret,id=tok,mode=0440"), run("type=secret,id=tok"))},
      {"type=secret,uid", Applied(run("type=secret,id=tok,uid=5"), run("type=secret,id=tok"))},
      {"type=secret,gid", Applied(run("type=secret,id=tok,gid=5"), run("type=secret,id=tok"))},
      {"type=secret,ro", Applied(run("type=secret,id=tok,ro"), run("type=secret,id=tok,rw"))},
      {"type=secret,rw", Refused(run("type=secret,id=tok,rw"))},
      {"type=ssh", Applied(run("type=ssh"), plain)},
      {"type=ssh,id", Applied(run("type=ssh,id=work"), run("type=ssh"))},
      {"type=ssh,target", Applied(run("type=ssh,target=/agent.sock"), run("type=ssh"))},
      {"type=ssh,required", Applied(run("type=ssh,id=gone,required"), run("type=ssh,id=gone"))},
      {"type=ssh,mode", Applied(run("type=ssh,mode=0666"), run("type=ssh"))},
      {"type=ssh,uid", Applied(run("type=ssh,uid=5"), run("type=ssh"))},
      {"type=ssh,gid", Applied(run("type=ssh,gid=5"), run("type=ssh"))},
      {"type=ssh,ro", Applied(run("type=ssh,ro"), run("type=ssh,rw"))},
      {"type=ssh,rw", Refused(run("type=ssh,rw"))},
  };
  return samples;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += s + ";";
  return out;
}

std::string Layers(const std::vector<runner::LayerRef>& layers) {
  std::string out;
  for (const runner::LayerRef& l : layers) out += l.diff_id.str() + ";";
  return out;
}

template <typename T>
std::string Optional(const std::optional<T>& value) {
  return value ? std::to_string(*value) : "-";
}

// Everything of a step the build asks for that a flag could change, but
// what differs between two builds of the same thing: the temporary context
// directory, descriptors, and the context's file times.
std::string Describe(const runner::StepSpec& spec) {
  std::ostringstream out;
  out << "run layers=" << Layers(spec.layers) << " argv=" << Join(spec.run.argv) << " env=" << Join(spec.run.env)
      << " user=" << spec.run.user << " workdir=" << spec.run.workdir << " hostname=" << spec.run.hostname
      << " network=" << static_cast<int>(spec.run.network) << " privileged=" << spec.security.privileged << "\n";
  for (const runner::StepMount& m : spec.mounts) {
    out << "  mount type=" << static_cast<int>(m.type) << " target=" << m.target << " ro=" << m.read_only
        << " cache=" << m.cache_id << " sharing=" << static_cast<int>(m.sharing) << " cache_path=" << m.cache_path
        << " size=" << m.size << " secret=" << m.secret << " agent=" << m.agent_socket << " mode=" << Optional(m.mode)
        << " uid=" << Optional(m.uid) << " gid=" << Optional(m.gid);
    if (m.tree)
      out << " tree context=" << m.tree->from_context << " layers=" << Layers(m.tree->layers)
          << " hidden=" << Join(m.tree->hidden) << " path=" << m.tree->path;
    out << "\n";
  }
  return out.str();
}

std::string Describe(const bld::testing::FakeRuntime::FileStep& step) {
  std::ostringstream out;
  out << "files layers=" << Layers(step.layers) << " owner=" << step.plan.owner
      << " chmod=" << Optional(step.plan.chmod) << " source=" << Layers(step.plan.source_layers) << "\n";
  for (const runner::FileOp& op : step.plan.ops)
    out << "  op type=" << static_cast<int>(op.type) << " dest=" << op.dest << " context=" << op.context_path
        << " content=" << op.content.value_or("-") << " source=" << op.source_path
        << " into_dir=" << op.basename_if_dir << " link=" << op.link_target << " mode=" << op.mode
        << " uid=" << op.uid << " gid=" << op.gid << " keep=" << op.keep_existing << "\n";
  return out.str();
}

// The outcome of building `dockerfile` with the fakes: the error and where,
// or what the runtime was asked to do and the image config (its history,
// which quotes the instruction, left out).
std::string Outcome(const std::string& dockerfile, const std::function<void(FakeBuild&)>& setup) {
  FakeBuild b;
  store::ContainerConfig config;
  config.env = {"PATH=/bin"};
  b.images.images["busybox"] = FakeImage("busybox", config);
  b.Context("a", "a");
  b.Context("d/a", "da");
  b.Context("d/b", "db");
  b.options.secrets = {{"tok", "secret value"}};
  b.options.ssh_agents = {{"default", "/tmp/agent.sock"}, {"work", "/tmp/work.sock"}};
  if (setup) setup(b);
  builder::StageResult result;
  try {
    result = b.Run(dockerfile);
  } catch (const builder::BuildError& e) {
    return "error at " + e.where().file + ":" + std::to_string(e.where().line) + ": " + e.what();
  } catch (const parser::ParseError& e) {
    return "error at " + e.where().file + ":" + std::to_string(e.where().line) + ": " + e.what();
  }
  std::string out;
  for (const runner::StepSpec& spec : b.runtime.runs) out += Describe(spec);
  for (const auto& step : b.runtime.file_steps) out += Describe(step);
  store::ImageConfig image = result.state.config;
  image.history.clear();
  return out + "config " + store::Serialize(image);
}

int LastLine(const std::string& dockerfile) { return static_cast<int>(std::count(dockerfile.begin(), dockerfile.end(), '\n')); }

// What CHECKs a sample: an implemented flag changes the outcome; a refused
// one fails at its line, in the Dockerfile, naming the flag.
void CheckSample(const Sample& sample, const std::string& flag) {
  std::string with = Outcome(sample.with, sample.setup);
  if (sample.refused) {
    CHECK_THAT(with, Catch::StartsWith("error at Dockerfile:" + std::to_string(LastLine(sample.with)) + ": ") &&
                         Catch::Contains(flag));
    return;
  }
  std::string without = Outcome(sample.without, sample.setup);

  INFO("with the flag:    " << with);
  INFO("without the flag: " << without);
  CHECK(with != without);
}

bool Refused(parser::Keyword keyword, std::string_view flag, std::string_view value) {
  for (const builder::FlagSupport& s : builder::SupportedFlags())
    if (s.keyword == keyword && s.flag == flag && (s.value.empty() || s.value == value)) return !s.refusal.empty();
  FAIL("builder::SupportedFlags() does not list " << parser::KeywordName(keyword) << " --" << flag << "=" << value);
  return false;
}

bool MountListed(std::string_view type, std::string_view key, std::string_view value) {
  for (const builder::MountOptionSupport& s : builder::SupportedMountOptions())
    if (s.type == type && s.key == key && (s.value.empty() || s.value == value)) return true;
  return false;
}

std::vector<std::string_view> ValuesOrAny(const std::vector<std::string_view>& values) {
  return values.empty() ? std::vector<std::string_view>{""} : values;
}

std::string ErrorOf(const std::string& dockerfile) { return Outcome(dockerfile, nullptr); }

}  // namespace

TEST_CASE("every flag and flag value the parser accepts changes the build or is refused at its line") {
  size_t checked = 0;
  for (parser::Keyword keyword : parser::AllKeywordValues()) {
    for (const parser::FlagSpec& flag : parser::AcceptedFlags(keyword)) {
      for (std::string_view value : ValuesOrAny(flag.values)) {
        std::string name = std::string(parser::KeywordName(keyword)) + " --" + std::string(flag.name) +
                           (value.empty() ? "" : "=" + std::string(value));
        INFO(name);
        auto it = FlagSamples().find(name);
        if (it == FlagSamples().end()) FAIL("no sample for " << name << ": teach the builder the flag, then add one");
        CheckSample(it->second, "--" + std::string(flag.name));
        CHECK(it->second.refused == Refused(keyword, flag.name, value));
        ++checked;
      }
    }
  }
  CHECK(checked == FlagSamples().size());
}

TEST_CASE("every mount type and option the parser accepts changes the step or is refused at its line") {
  size_t checked = 0;
  auto check = [&](std::string_view type, std::string_view key, std::string_view value) {
    std::string name = "type=" + std::string(type) + (key.empty() ? "" : "," + std::string(key)) +
                       (value.empty() ? "" : "=" + std::string(value));
    INFO(name);
    CHECK(MountListed(type, key, value));
    auto it = MountSamples().find(name);
    if (it == MountSamples().end()) FAIL("no sample for --mount=" << name << ": teach the builder, then add one");
    CheckSample(it->second, "--mount");
    ++checked;
  };
  for (std::string_view type : parser::MountTypes()) check(type, "", "");
  for (const parser::MountOptionSpec& option : parser::MountOptionSpecs())
    for (std::string_view type : option.types)
      for (std::string_view value : ValuesOrAny(option.values)) check(type, option.key, value);
  CHECK(checked == MountSamples().size());
}

TEST_CASE("the builder lists no flag the parser does not accept") {
  for (const builder::FlagSupport& s : builder::SupportedFlags()) {
    INFO(parser::KeywordName(s.keyword) << " --" << s.flag);
    bool accepted = false;
    for (const parser::FlagSpec& flag : parser::AcceptedFlags(s.keyword)) accepted = accepted || flag.name == s.flag;
    CHECK(accepted);
  }
}

TEST_CASE("every mount option the builder carries out is one the parser accepts") {
  for (const builder::MountOptionSupport& s : builder::SupportedMountOptions()) {
    INFO("type=" << s.type << "," << s.key << "=" << s.value);
    bool accepted = false;
    if (s.key.empty())
      for (std::string_view type : parser::MountTypes()) accepted = accepted || type == s.type;
    for (const parser::MountOptionSpec& option : parser::MountOptionSpecs())
      if (option.key == s.key)
        for (std::string_view type : option.types) accepted = accepted || type == s.type;
    CHECK(accepted);
  }
}

TEST_CASE("refused flags fail the build at their line, saying why") {
  CHECK_THAT(ErrorOf("FROM busybox\nRUN --device=/dev/kvm true\n"),
             Catch::StartsWith("error at Dockerfile:2: RUN --device is not supported"));
  CHECK_THAT(ErrorOf("FROM busybox\nADD --keep-git-dir=true a /a\n"),
             Catch::StartsWith("error at Dockerfile:2: ADD --keep-git-dir: bld does not fetch git repositories"));
}

TEST_CASE("RUN --security=insecure runs privileged only in a build that allows it") {
  CHECK_THAT(ErrorOf("FROM busybox\n\nRUN --security=insecure true\n"),
             Catch::StartsWith("error at Dockerfile:3: RUN --security=insecure needs the security.insecure "
                               "entitlement: run bld build --allow security.insecure"));
  FakeBuild b;
  b.images.images["busybox"] = FakeImage("busybox");
  b.options.allow_insecure = true;
  b.Run("FROM busybox\nRUN --security=insecure a\nRUN b\n");
  REQUIRE(b.runtime.runs.size() == 2);
  CHECK(b.runtime.runs[0].security.privileged);
  CHECK_FALSE(b.runtime.runs[1].security.privileged);
}

TEST_CASE("RUN --security=sandbox is what every RUN already gets") {
  CHECK(ErrorOf("FROM busybox\nRUN --security=sandbox x\n") == ErrorOf("FROM busybox\nRUN x\n"));
}
