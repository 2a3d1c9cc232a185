// The release manifest: what a release tarball contains and what a node
// starts when it boots that release. Written by `relup build`, read by the
// node (boot, upgrade, downgrade), `relup inspect` and `relup verify`.
//
// Tarball layout (every path relative, '/'-separated, no directories stored):
//   MANIFEST                       "<sha256 hex>  <path>\n" for every other
//                                  file, sorted by path (`sha256sum -c` format)
//   releases/VSN/release.yaml      this manifest (ReleaseToYaml)
//   releases/VSN/relup.yaml        the compiled upgrade plans (relup/plan.h)
//   lib/NAME-VSN/NAME.so           one library per module of the release
//   SIGNATURE                      optional (relup build --sign): an Ed25519
//                                  signature of MANIFEST; not listed in it
//                                  (format: release/signing.h)
//
// release.yaml (format 1):
//   format: 1
//   name: demo
//   vsn: "2"
//   modules:
//     - {name: demo_server, vsn: "2", sha256: <hex>, build_id: <id>,
//        has_code_change: true, path: lib/demo_server-2/demo_server.so}
//   root: {strategy: one_for_one, intensity: 5, period_ms: 10000}   (optional)
//   config: {kv_acceptor: {port: 6380}}                            (optional)
//   config_schema: {kv_acceptor: {port: {type: int, required: true}}} (optional)
//   processes:
//     - {module: demo_server, name: blackode, args: {money: 30000, name: blackode}, count: 1}
//     - {module: supervisor, name: shards_sup, id: shards, restart: permanent,
//        shutdown: infinity, args: {strategy: one_for_all, children: [...]}, count: 1}
// `args` is a Term in its YAML text form (relup/term.h); id, restart and
// shutdown are written only when set.
//
// Processes: the node boots a release by starting its root supervisor,
// registered as relup_root (supervision/supervisor.h; strategy, intensity
// and period_ms from `root`, RootArgs), and then every entry's processes as
// its children, in the listed order, each init done before the next: an
// entry gives `count` children of `module` with init args `args`, registered
// under the names RegisteredNames() gives, with the ids ChildIds() gives and
// the entry's restart and shutdown (ChildSpecs). A process of the built-in
// supervisor starts a tree of its own below the root.
//
// Pure data and pure functions: thread-compatible, no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relup/status.h"
#include "relup/term.h"

namespace relup {

inline constexpr int kReleaseFormat = 1;
inline constexpr const char* kManifestPath = "MANIFEST";
inline constexpr const char* kSignaturePath = "SIGNATURE";

struct ReleaseModule {
  std::string name;
  std::string vsn;
  std::string sha256;    // hex SHA-256 of the library's bytes
  std::string build_id;  // from the descriptor
  bool has_code_change = false;
  std::string path;  // in the tarball: ModuleLibraryPath(name, vsn)
};

struct ReleaseProcess {
  std::string module;
  std::string name;  // registered name; empty: unregistered
  Term args;         // init args
  int count = 1;     // >= 1; more than 1 is a pool
  std::string id;    // the child id under the root; empty: ChildIdBase's default
  Term restart;      // permanent (nil: the default) | transient | temporary
  Term shutdown;     // milliseconds | brutal_kill | infinity; nil: the supervisor's default
  int line = 0;      // where release.yaml has the entry (0: not read from a file)
};

// The registered name of the root supervisor a release boots under.
inline constexpr const char* kRootSupervisorName = "relup_root";

// The root supervisor's start args: `root` (nil: one_for_one, intensity 5 in
// 10000 ms) with no children; the boot adds them.
Term RootArgs(const Term& root);

// A child id's base: `id`, else `name`, else `module`; a pool's ids are
// BASE_1 .. BASE_COUNT, like its names.
std::string ChildIdBase(const ReleaseProcess& process);
// An id both entries give their children ("" if none), without expanding pools.
std::string SharedChildId(const ReleaseProcess& a, const ReleaseProcess& b);
// The child specs of an entry's processes (for the supervisor's
// start_children), `first` to `first + n - 1` of its count (0-based).
std::vector<Term> ChildSpecs(const ReleaseProcess& process, int first, int n);

// The registered names of a process entry: {} when name is empty, {name}
// when count == 1, else {name_1, ..., name_COUNT}.
std::vector<std::string> RegisteredNames(const ReleaseProcess& process);

// A name both entries register ("" if none), found without expanding pools:
// a pool of 100,000 must not cost 100,000 strings each time a release is read.
std::string SharedRegisteredName(const ReleaseProcess& a, const ReleaseProcess& b);

struct Release {
  std::string name;
  std::string vsn;
  std::vector<ReleaseModule> modules;  // sorted by name, names unique
  std::vector<ReleaseProcess> processes;
  Term root;  // the root supervisor's {strategy, intensity, period_ms}; nil: defaults
  // Release configuration (config/release_config.h): module -> {key: value},
  // and its optional schema. nil when the release has none.
  Term config;
  Term config_schema;

  const ReleaseModule* find_module(std::string_view module) const;
};

// The start args (strategy, intensity, period_ms, children) a release gives
// the supervisor registered as `name`: relup_root (RootArgs with every
// process entry's child specs), a supervisor among the processes, or one
// nested in a tree. nullopt if the release has no supervisor of that name.
std::optional<Term> SupervisorArgsIn(const Release& release, std::string_view name);
// The names of the release's named supervisors below the root, parents
// before their children.
std::vector<std::string> SupervisorNames(const Release& release);

// Paths inside a release tarball (and inside an unpacked release directory).
std::string ReleaseYamlPath(std::string_view vsn);  // releases/VSN/release.yaml
std::string RelupYamlPath(std::string_view vsn);    // releases/VSN/relup.yaml
std::string ModuleLibraryPath(std::string_view name, std::string_view vsn);  // lib/NAME-VSN/NAME.so

// A release name, release vsn or module name/vsn must be usable in a path
// component: [A-Za-z0-9._+-]{1,64}, not starting with '.'. The error names
// `what` (e.g. "module vsn"), the value and the rule.
Status ValidatePathName(std::string_view what, std::string_view value);

// Canonical YAML text of a release manifest (deterministic: same Release,
// same bytes). Modules are written in the order given.
std::string ReleaseToYaml(const Release& release);

// Parses release.yaml. Errors are Corruption "SOURCE:LINE:COL: what is wrong"
// for malformed YAML, unknown or missing keys, bad names, duplicate modules,
// a process naming a module not in the release, a count < 1.
Result<Release> ParseReleaseYaml(std::string_view text, std::string_view source_name);

// A release tarball's files, in memory: tarball path -> bytes.
using ReleaseFiles = std::map<std::string, std::string>;

// The release manifest of a release tarball's files: finds the single
// releases/VSN/release.yaml (Corruption if none or several, or if its vsn is
// not VSN) and parses it. source_name names the tarball in errors.
Result<Release> ReleaseFromFiles(const ReleaseFiles& files, std::string_view source_name);

}  // namespace relup
