// `bld build -o SPEC`: BuildKit's output syntax, and every spec bld does not
// carry out refused with the key or value named.
//
// No test name starts with "-": ctest hands the name to Catch as an argument,
// and Catch would take "-o ..." for its own --out option.
#include "builder/build_output.h"

#include <catch2/catch.hpp>

#include "store/error.h"

using bld::builder::BuildOutput;
using bld::builder::OutputType;
using bld::builder::ParseBuildOutput;

namespace {

std::string ErrorOf(const std::string& spec) {
  try {
    ParseBuildOutput(spec);
  } catch (const bld::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("build -o DIR is short for type=local,dest=DIR") {
  BuildOutput out = ParseBuildOutput("./dist");
  CHECK(out.type == OutputType::kLocal);
  CHECK(out.dest == "./dist");
}

TEST_CASE("build -o - is short for type=tar,dest=-") {
  BuildOutput out = ParseBuildOutput("-");
  CHECK(out.type == OutputType::kTar);
  CHECK(out.to_stdout());
}

TEST_CASE("type=local and type=tar take a dest") {
  BuildOutput local = ParseBuildOutput("type=local,dest=out");
  CHECK(local.type == OutputType::kLocal);
  CHECK(local.dest == "out");
  BuildOutput tar = ParseBuildOutput("dest=-,type=tar");
  CHECK(tar.type == OutputType::kTar);
  CHECK(tar.to_stdout());
}

TEST_CASE("type=oci takes a name and tar=false for a layout directory") {
  BuildOutput archive = ParseBuildOutput("type=oci,dest=app.tar,name=app:v1");
  CHECK(archive.type == OutputType::kOci);
  CHECK(archive.dest == "app.tar");
  CHECK(archive.name == "app:v1");
  CHECK(archive.tar);
  BuildOutput layout = ParseBuildOutput("type=oci,dest=layout,tar=false");
  CHECK_FALSE(layout.tar);
  CHECK(ParseBuildOutput("type=oci,dest=x,tar=true").tar);
}

TEST_CASE("type=docker takes a dest and a name") {
  BuildOutput out = ParseBuildOutput("type=docker,dest=app.tar,name=team/app");
  CHECK(out.type == OutputType::kDocker);
  CHECK(out.name == "team/app");
}

TEST_CASE("type=image takes a name and push") {
  BuildOutput out = ParseBuildOutput("type=image,name=reg.example/app:v1,push=true");
  CHECK(out.type == OutputType::kImage);
  CHECK(out.name == "reg.example/app:v1");
  CHECK(out.push);
  CHECK_FALSE(ParseBuildOutput("type=image,name=a,push=false").push);
  CHECK(ParseBuildOutput("type=image").name.empty());
}

TEST_CASE("an unknown type is refused with the types bld has") {
  CHECK_THAT(ErrorOf("type=s3,dest=x"), Catch::Contains("--output type=s3,dest=x: unknown type=s3: use local, tar"));
  CHECK_THAT(ErrorOf("type=registry,name=a"), Catch::Contains("type=image,push=true"));
}

TEST_CASE("a key the type does not take is refused, naming the key and the keys it takes") {
  CHECK_THAT(ErrorOf("type=oci,dest=x,compression=zstd"),
             Catch::Contains("type=oci takes no compression= (it takes dest=, name= and tar=)"));
  CHECK_THAT(ErrorOf("type=local,dest=x,name=a"), Catch::Contains("type=local takes no name="));
  CHECK_THAT(ErrorOf("type=image,name=a,dest=x"), Catch::Contains("type=image takes no dest="));
  CHECK_THAT(ErrorOf("type=docker,dest=x,tar=false"), Catch::Contains("type=docker takes no tar="));
}

TEST_CASE("a missing dest is refused") {
  CHECK_THAT(ErrorOf("type=local"), Catch::Contains("type=local needs dest=DIR"));
  CHECK_THAT(ErrorOf("type=tar"), Catch::Contains("type=tar needs dest=FILE"));
  CHECK_THAT(ErrorOf("type=oci,name=a"), Catch::Contains("type=oci needs dest=FILE"));
  CHECK_THAT(ErrorOf("type=docker"), Catch::Contains("type=docker needs dest=FILE"));
}

TEST_CASE("a spec without type=, a field without =, an empty value or a key given twice is refused") {
  CHECK_THAT(ErrorOf("dest=x"), Catch::Contains("type= is missing"));
  CHECK_THAT(ErrorOf("type=local,out"), Catch::Contains("\"out\" is not key=value"));
  CHECK_THAT(ErrorOf("type=local,dest="), Catch::Contains("dest= needs a value"));
  CHECK_THAT(ErrorOf("type=local,dest=a,dest=b"), Catch::Contains("dest= is given twice"));
  CHECK_THAT(ErrorOf(""), Catch::Contains("--output needs a value"));
}

TEST_CASE("a boolean key takes true or false only") {
  CHECK_THAT(ErrorOf("type=image,push=yes"), Catch::Contains("push=yes: use push=true or push=false"));
  CHECK_THAT(ErrorOf("type=oci,dest=x,tar=0"), Catch::Contains("tar=0: use tar=true or tar=false"));
}

TEST_CASE("a directory cannot go to stdout") {
  CHECK_THAT(ErrorOf("type=oci,dest=-,tar=false"), Catch::Contains("cannot go to stdout"));
  CHECK_THAT(ErrorOf("type=local,dest=-"), Catch::Contains("use type=tar,dest=-"));
}
