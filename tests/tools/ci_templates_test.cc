// The CI templates in examples/ci/ cannot run here (they need GitHub or
// GitLab), but what they hand to examples/ci/build-release.sh can be checked:
// both are valid YAML, each calls the script with options it accepts, and
// the signing key comes from the secret store, never from the repository.
// The script itself runs in the consumer test (tests/consumer/run.sh).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

const std::string kCi = std::string(RELUP_SOURCE_DIR) + "/examples/ci/";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The options build-release.sh's argument loop accepts ("    --spec) ..."),
// or, with `documented`, those its header comment describes ("#   --spec  ...").
std::set<std::string> ScriptOptions(bool documented = false) {
  std::set<std::string> options;
  std::istringstream lines(Slurp(kCi + "build-release.sh"));
  std::regex option(documented ? R"(^#\s+(--[a-z-]+)\s)" : R"(^\s+(?:-h\|)?(--[a-z-]+)\))");
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, m, option)) options.insert(m[1]);
  }
  return options;
}

// Every "--option" in the shell text of the steps that build the release.
std::set<std::string> OptionsUsed(const std::string& shell) {
  std::set<std::string> used;
  std::regex option(R"((?:^|[\s(])(--[a-z][a-z-]*))");
  for (auto it = std::sregex_iterator(shell.begin(), shell.end(), option);
       it != std::sregex_iterator(); ++it) {
    used.insert((*it)[1]);
  }
  return used;
}

void CollectShell(const YAML::Node& node, std::string* out) {
  if (node.IsScalar()) {
    *out += node.as<std::string>() + "\n";
  } else if (node.IsSequence() || node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      CollectShell(node.IsMap() ? it->second : *it, out);
    }
  }
}

}  // namespace

TEST_CASE("build-release.sh documents every option it accepts, and accepts no other", "[ci]") {
  std::set<std::string> accepted = ScriptOptions();
  accepted.erase("--help");
  CHECK(accepted == ScriptOptions(/*documented=*/true));
  CHECK(accepted.count("--sign-key") == 1);
}

TEST_CASE(
    "the GitHub Actions and GitLab CI templates are valid YAML, call build-release.sh with "
    "options it accepts, and take the signing key from the secret store",
    "[ci]") {
  const std::set<std::string> accepted = ScriptOptions();
  struct Template {
    std::string file;
    std::string job_path;  // where the steps are
  };
  for (const Template& t : {Template{"github-actions.yml", "jobs.release.steps"},
                            Template{"gitlab-ci.yml", "relup-release.script"}}) {
    INFO(t.file);
    YAML::Node doc;
    REQUIRE_NOTHROW(doc = YAML::LoadFile(kCi + t.file));
    YAML::Node steps = t.file == "gitlab-ci.yml" ? doc["relup-release"]["script"]
                                                 : doc["jobs"]["release"]["steps"];
    REQUIRE(steps.IsSequence());
    std::string shell;
    CollectShell(steps, &shell);
    REQUIRE(shell.find("build-release.sh") != std::string::npos);
    // The options given to the script are the lines that build its argv.
    std::string args;
    std::istringstream lines(shell);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("args") != std::string::npos) args += line + "\n";
    }
    std::set<std::string> used = OptionsUsed(args);
    REQUIRE_FALSE(used.empty());
    for (const std::string& option : used) {
      INFO(option);
      CHECK(accepted.count(option) == 1);
    }
    CHECK(used.count("--source") == 1);
    CHECK(used.count("--spec") == 1);
    CHECK(used.count("--previous") == 1);
    // A missing secret fails the job instead of shipping an unsigned tarball.
    CHECK(used.count("--require-signing") == 1);
    // The key is a secret of the CI system, handed over in RELUP_SIGNING_KEY.
    std::string text = Slurp(kCi + t.file);
    CHECK(text.find("RELUP_SIGNING_KEY") != std::string::npos);
    CHECK(text.find("BEGIN PRIVATE KEY") == std::string::npos);
  }
  YAML::Node gh = YAML::LoadFile(kCi + "github-actions.yml");
  bool from_secrets = false;
  for (const auto& step : gh["jobs"]["release"]["steps"]) {
    if (step["env"] && step["env"]["RELUP_SIGNING_KEY"]) {
      from_secrets =
          step["env"]["RELUP_SIGNING_KEY"].as<std::string>() == "${{ secrets.RELUP_SIGNING_KEY }}";
    }
  }
  CHECK(from_secrets);
}
