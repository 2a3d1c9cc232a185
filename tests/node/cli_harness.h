// Helpers for the integration tests that drive the real `relup` binary
// (RELUP_BIN) against real node processes.
//
// Every test gets a fresh NodeRoot (a short temp directory: Unix socket paths
// are limited to 107 bytes). Its destructor kills (SIGKILL) any node still
// holding the root's lock and waits until that node is gone, so a failing
// test never leaks a node into the next one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace relup::test {

struct RunResult {
  int exit_code = -1;  // the command's exit status; -1 if it was killed
  std::string out;     // stdout
  std::string err;     // stderr
  std::string both() const { return out + err; }
};

// Runs RELUP_BIN with `args` (no shell; RELUP_ROOT removed from the
// environment, `extra_env` entries "NAME=value" added). A command still running after `timeout` is
// killed: its exit_code is then -1 (and -2 if it could not be started), with the reason at the end
// of `err`. Thread-safe (it makes no Catch assertion), so tests may drive load from several
// threads. Everything else here is for the test's own thread only.
RunResult Relup(const std::vector<std::string>& args,
                std::chrono::seconds timeout = std::chrono::seconds(60),
                const std::vector<std::string>& extra_env = {});

// The argv and environment of a RELUP_BIN child (`args`; the test's
// environment without RELUP_ROOT, plus `extra_env` "NAME=value" entries),
// built before fork: the child of a multi-threaded process may only call
// async-signal-safe functions, such as execve(argv()[0], argv(), envp()).
class RelupExec {
 public:
  explicit RelupExec(const std::vector<std::string>& args,
                     const std::vector<std::string>& extra_env = {});
  RelupExec(const RelupExec&) = delete;  // argv_ and envp_ point into the strings
  RelupExec& operator=(const RelupExec&) = delete;
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

// Stdout without its trailing newline.
std::string Trimmed(const std::string& text);

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class NodeRoot {
 public:
  NodeRoot();
  ~NodeRoot();
  NodeRoot(const NodeRoot&) = delete;
  NodeRoot& operator=(const NodeRoot&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // What node.log holds now ("" if there is none).
  std::string log() const;

  // The pid of the node holding this root's lock, or -1.
  pid_t node_pid() const;
  // SIGKILLs the node and waits until it is gone (its lock released).
  void kill_node();

  // `relup node start --root R --release T` (T empty: no --release); the
  // test fails with the command's output unless it exits 0.
  void start(const std::string& tarball);
  void stop();

 private:
  std::string path_;
};

// Counts `what` in `text`.
size_t Occurrences(const std::string& text, const std::string& what);

// Writes `spec_text` to DIR/NAME.yaml and builds it with the test modules
// (RELUP_TEST_MODULE_DIR) into DIR/NAME.tar.gz, which it returns; the test
// fails with relup build's output unless it builds. `from`: a tarball of
// the release it upgrades from (relup build --from), whose appup is generated.
std::string BuildTestSpec(const std::string& dir, const std::string& name,
                          const std::string& spec_text, const std::string& from = "");

// dist tarballs of the demo releases (release-specs/demo-N.yaml), built once
// per test binary with `relup build` into a temp directory.
const std::string& DemoTarball(int n);

// A built module library: RELUP_MODULE_DIR or RELUP_TEST_MODULE_DIR + file.
std::string ExampleModule(const std::string& file);
std::string TestModule(const std::string& file);

// Polls `done` every few milliseconds until it is true or `timeout` passes
// (for facts that have no event to wait on, such as a process of another
// session having exited). Returns the last value of done().
bool WaitUntil(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace relup::test
