#include "cli_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "node/node_lock.h"

extern char** environ;

namespace relup::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

RelupExec::RelupExec(const std::vector<std::string>& args,
                     const std::vector<std::string>& extra_env)
    : args_{RELUP_BIN}, env_(extra_env) {
  args_.insert(args_.end(), args.begin(), args.end());
  for (auto& a : args_) argv_.push_back(a.data());
  argv_.push_back(nullptr);
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "RELUP_ROOT=", 11) != 0) envp_.push_back(*e);
  }
  for (auto& e : env_) envp_.push_back(e.data());
  envp_.push_back(nullptr);
}

RunResult Relup(const std::vector<std::string>& args, std::chrono::seconds timeout,
                const std::vector<std::string>& extra_env) {
  // No Catch assertion in here: tests call this from several threads, and
  // Catch's macros are for the test's own thread only.
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.exit_code = -2;
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    result.exit_code = -2;
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  RelupExec exec(args, extra_env);

  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execve(exec.argv()[0], exec.argv(), exec.envp());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.exit_code = -2;
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) && !timed_out ? WEXITSTATUS(status) : -1;
  if (timed_out) {
    result.err += "\n[relup " + (args.empty() ? std::string() : args[0]) + " killed after " +
                  std::to_string(timeout.count()) + " s]";
  }
  return result;
}

std::string Trimmed(const std::string& text) {
  std::string s = text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

NodeRoot::NodeRoot() {
  char tmpl[] = "/tmp/relup-node-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  path_ = tmpl;
}

NodeRoot::~NodeRoot() {
  kill_node();
  std::error_code ec;
  fs::remove_all(path_, ec);
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string BuildTestSpec(const std::string& dir, const std::string& name,
                          const std::string& spec_text, const std::string& from) {
  std::filesystem::create_directories(dir);
  std::string spec = dir + "/" + name + ".yaml";
  std::ofstream(spec) << spec_text;
  std::string tarball = dir + "/" + name + ".tar.gz";
  std::vector<std::string> args = {
      "build", spec, "-o", tarball, "--lib-dir", RELUP_TEST_MODULE_DIR, "--quiet"};
  if (!from.empty()) args.insert(args.end(), {"--from", from});
  RunResult b = Relup(args);
  INFO(b.both());
  REQUIRE(b.exit_code == 0);
  return tarball;
}

std::string NodeRoot::log() const {
  std::ifstream in(file("node.log"));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

pid_t NodeRoot::node_pid() const {
  auto holder = NodeLockHolder(path_);
  return holder ? *holder : -1;
}

void NodeRoot::kill_node() {
  pid_t pid = node_pid();
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  // The node is not our child (it detached): its lock going away is the sign
  // that the kernel has torn it down.
  WaitUntil([&] { return !NodeLockHolder(path_).has_value(); }, std::chrono::seconds(10));
}

void NodeRoot::start(const std::string& tarball) {
  std::vector<std::string> args = {"node", "start", "--root", path_};
  if (!tarball.empty()) {
    args.push_back("--release");
    args.push_back(tarball);
  }
  RunResult r = Relup(args);
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
}

void NodeRoot::stop() {
  RunResult r = Relup({"node", "stop", "--root", path_});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
}

const std::string& DemoTarball(int n) {
  static std::mutex mu;
  static std::map<int, std::string> built;
  static std::string dir;
  std::lock_guard lock(mu);
  if (auto it = built.find(n); it != built.end()) return it->second;
  if (dir.empty()) {
    char tmpl[] = "/tmp/relup-dist-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    // Removed when the test binary exits.
    static struct Cleanup {
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    } cleanup;
  }
  std::string spec =
      std::string(RELUP_SOURCE_DIR) + "/release-specs/demo-" + std::to_string(n) + ".yaml";
  std::string out = dir + "/demo-" + std::to_string(n) + ".tar.gz";
  RunResult r = Relup({"build", spec, "-o", out, "--quiet"});
  INFO(r.both());
  REQUIRE(r.exit_code == 0);
  return built[n] = out;
}

std::string ExampleModule(const std::string& file) {
  return std::string(RELUP_MODULE_DIR) + "/" + file;
}
std::string TestModule(const std::string& file) {
  return std::string(RELUP_TEST_MODULE_DIR) + "/" + file;
}

}  // namespace relup::test
