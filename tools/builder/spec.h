// Release specs: the YAML a team writes to describe a release (release-specs/*.yaml).
//
//   release: demo                  # release name
//   vsn: "2"                       # release version
//   modules:
//     - name: demo_server
//       vsn: "2"
//       library: demo_server-2.so  # optional, default NAME-VSN.so; see FindLibrary
//   processes:                     # started at boot, in this order
//     - module: demo_server
//       name: blackode             # registered name (optional)
//       args: {name: blackode, money: 30000}   # init args, a Term (relup/term.h)
//       count: 1                   # optional; > 1 starts a pool name_1..name_N
//       restart: permanent         # optional child spec under the root: id,
//       shutdown: 5000             #   restart, shutdown (supervision/supervisor.h)
//     - supervisor:                # a supervisor with its own children
//         name: shards_sup
//         strategy: one_for_all    # intensity, period_ms, id, restart, shutdown
//         children:                # process entries (pools too) or supervisors
//           - {module: kv_shard, name: kv_shard, count: 8}
//   root: {intensity: 5, period_ms: 10000}   # optional: the root supervisor's
//   config:                        # optional: per module, read with ctx().config(KEY)
//     demo_server: {greeting: hello}
//   config_schema:                 # optional: types and required keys
//     demo_server: {greeting: {type: string, required: true}}
//   appup:                         # optional
//     up:
//       - from: "1"                # exact vsn, or a glob pattern such as "1.*"
//         instructions:
//           - update: demo_server
//     down:
//       - to: "1"
//         instructions:
//           - update: demo_server
//
// Instructions (OTP's names), each a one-key map; the short form names the module:
//   update: MOD | {module, extra, timeout, purge: soft|brutal, depends_on: [MOD...]}
//   update: {supervisor: NAME}   the target release's child specs for that
//                                supervisor (relup_root: the root's); new
//                                children start, removed ones stop
//   load_module: MOD | {module, purge}
//   add_module: MOD | {module}
//   delete_module: MOD | {module}
//   start: NAME (a process of this release) | {module, name, args, count}
//   stop: NAME | {name}
//   apply: {module, function, args, init_args, timeout}
//
// ParseSpec checks the YAML shape only (keys, types, names); the checks that
// need the module libraries or another release are in checks.h / builder.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/diagnostics.h"
#include "relup/node.h"  // Millis, PurgeMode
#include "relup/release.h"
#include "relup/term.h"

namespace relup::build {

struct SpecModule {
  std::string name;
  std::string vsn;
  std::string library;  // as written; default NAME-VSN.so
  SourceLoc loc;
  SourceLoc library_loc;
};

struct SpecProcess {
  ReleaseProcess process;
  SourceLoc loc;
};

enum class InstructionKind {
  kUpdate,
  kUpdateSupervisor,  // update: {supervisor: NAME}; the name in `name`
  kLoadModule,
  kAddModule,
  kDeleteModule,
  kStart,
  kStop,
  kApply
};
std::string_view InstructionName(InstructionKind kind);  // "update", ...

struct Instruction {
  InstructionKind kind = InstructionKind::kUpdate;
  SourceLoc loc;
  // update, load_module, add_module, delete_module, apply; start (full form)
  std::string module;
  // update
  Term extra;
  Millis timeout = kDefaultTimeout;
  PurgeMode purge = PurgeMode::kSoft;
  std::vector<std::string> depends_on;
  // start: the full form sets process; the short form only process.name and
  // start_by_name (resolved against the release's processes when compiling).
  ReleaseProcess process;
  bool start_by_name = false;
  // stop; update supervisor
  std::string name;
  // apply
  std::string function;
  Term args;
  Term init_args;
  // A second instruction for a module already named in the same list (an
  // error already reported): its content is still checked, but it never goes
  // into a plan.
  bool duplicate = false;
};

// The instructions for one from-version (up) or to-version (down).
struct AppupEntry {
  std::string vsn;  // exact or pattern (plan.h)
  SourceLoc loc;
  std::vector<Instruction> instructions;
  bool generated = false;
  // Refused for its version (malformed, the release's own, or given twice;
  // already reported): its instructions are still checked, but it yields no
  // plan.
  bool refused = false;
};

struct Appup {
  std::vector<AppupEntry> up;
  std::vector<AppupEntry> down;
};

struct ReleaseSpec {
  std::string path;  // the spec file as given
  std::string dir;   // its directory ("." if none)
  std::string name;
  std::string vsn;
  SourceLoc loc;  // the document
  SourceLoc vsn_loc;
  std::vector<SpecModule> modules;
  std::vector<SpecProcess> processes;
  Term root;           // the root supervisor's {strategy, intensity, period_ms}; nil: defaults
  Term config;         // module -> {key: value} (config/release_config.h); nil: none
  Term config_schema;  // module -> {key: type}; nil: none
  Appup appup;
};

// Parses spec text; `path` names it in diagnostics and gives the spec's
// directory. Every problem found is added to `diags`; the result is nullopt
// only when the YAML itself is unreadable (then nothing else can be checked).
std::optional<ReleaseSpec> ParseSpec(const std::string& text, const std::string& path,
                                     Diagnostics* diags);
// Reads and parses a spec file (a missing file is one diagnostic).
std::optional<ReleaseSpec> ParseSpecFile(const std::string& path, Diagnostics* diags);

// The YAML text of an appup (an `appup:` map), as written in a spec: what
// `relup gen-appup` prints. Deterministic.
std::string AppupToYaml(const Appup& appup);

}  // namespace relup::build
