// `relup apply` as a person at a terminal sees it: the real binary runs on a
// pseudo-terminal (stdin, stdout and stderr all the pty slave, as in a shell)
// and the test reads every byte the terminal received, then replays them on
// a tiny terminal model to see what is left on the screen. The progress bar
// (tools/cmd/upgrade_output.cc) promises: drawn on stderr only when it is a
// terminal, only once the apply has taken more than a second, reaching the
// total, and erased before the report so the report reads as without it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "apply_fixture.h"
#include "cli_harness.h"

namespace relup::test {
namespace {

using Clock = std::chrono::steady_clock;

struct PtyRun {
  int exit_code = -1;      // -1 if it was killed after the timeout
  std::string bytes;       // everything the terminal received, as the master side read it
  Clock::duration took{};  // from just before fork to the child's exit
};

// Runs RELUP_BIN with `args` on a new pseudo-terminal (160 columns, default
// line discipline: a "\n" written reaches the terminal as "\r\n") that is the
// child's controlling terminal, and reads the master side until the child and
// everything it started have closed the slave.
PtyRun RelupOnPty(const std::vector<std::string>& args,
                  std::chrono::seconds timeout = std::chrono::seconds(60)) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  char slave_name[128];
  REQUIRE(::ptsname_r(master, slave_name, sizeof slave_name) == 0);
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 160;
  REQUIRE(::ioctl(master, TIOCSWINSZ, &size) == 0);
  // Opened here, not in the child, so the master never sees "no slave open"
  // (EIO) before the child has its copy.
  int slave = ::open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(slave >= 0);

  RelupExec exec(args);

  PtyRun run;
  auto started = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int fd = 0; fd <= 2; ++fd) ::dup2(slave, fd);  // dup2 clears O_CLOEXEC
    ::execve(exec.argv()[0], exec.argv(), exec.envp());
    ::_exit(127);
  }
  ::close(slave);
  if (pid < 0) ::close(master);
  REQUIRE(pid > 0);

  auto deadline = started + timeout;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd = {master, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(master, buf, sizeof buf);
    if (got > 0) {
      run.bytes.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      break;  // EIO: the last slave descriptor is closed
    }
  }
  ::close(master);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.took = Clock::now() - started;
  run.exit_code = WIFEXITED(status) && !timed_out ? WEXITSTATUS(status) : -1;
  return run;
}

// What a terminal shows after `bytes`: printable text overwrites at the
// cursor, "\r" returns to column 0, "\n" moves down a row, ESC [ K erases to
// the end of the row. Rows are not wrapped (the pty is wider than anything
// printed here); trailing blanks are dropped. Any other control byte is
// listed in `unknown` so a test can insist there is none.
struct Screen {
  std::vector<std::string> rows;
  std::string unknown;
};

Screen Render(const std::string& bytes) {
  Screen s;
  s.rows.emplace_back();
  size_t row = 0, col = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    std::string& line = s.rows[row];
    if (c == '\r') {
      col = 0;
    } else if (c == '\n') {
      if (++row == s.rows.size()) s.rows.emplace_back();
    } else if (c == 0x1b && bytes.compare(i, 3, "\x1b[K") == 0) {
      if (line.size() > col) line.resize(col);
      i += 2;
    } else if (c < 0x20 || c == 0x7f) {
      s.unknown += "\\x" + std::to_string(c) + " ";
    } else {
      if (line.size() <= col) line.resize(col + 1, ' ');
      line[col++] = static_cast<char>(c);
    }
  }
  for (auto& r : s.rows) {
    while (!r.empty() && r.back() == ' ') r.pop_back();
  }
  while (!s.rows.empty() && s.rows.back().empty()) s.rows.pop_back();
  return s;
}

// The bytes with control characters spelled out, for failure messages.
std::string Visible(const std::string& bytes) {
  std::string out;
  for (char ch : bytes) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n\n";
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += "\\x" + std::to_string(static_cast<unsigned char>(ch));
    } else {
      out += ch;
    }
  }
  return out;
}

// One drawing of the bar: "\r[####..........] DONE/TOTAL processes PHASE",
// PHASE "checked" (the precheck) or "upgraded" (the rollout).
struct BarFrame {
  std::string bar;
  long long done = 0, total = 0;
  std::string phase;
  size_t at = 0;  // offset in the bytes
};

const std::regex kBarFrame(R"(\r\[([#.]+)\] (\d+)/(\d+) processes (checked|upgraded))");

std::vector<BarFrame> BarFrames(const std::string& bytes) {
  std::vector<BarFrame> frames;
  for (std::sregex_iterator it(bytes.begin(), bytes.end(), kBarFrame), end; it != end; ++it) {
    frames.push_back({(*it)[1].str(), std::stoll((*it)[2].str()), std::stoll((*it)[3].str()),
                      (*it)[4].str(), static_cast<size_t>(it->position())});
  }
  return frames;
}

// counter 1 -> 2 over `processes` processes; every code_change sleeps
// `slow_ms` (the precheck's on a copy and the rollout's), so an apply takes
// at least 2 * processes * slow_ms.
struct CounterUpgrade {
  ScratchDir dir;
  std::string v1, v2;
  CounterUpgrade(int processes, int slow_ms) {
    std::string extra = slow_ms > 0 ? "{slow_ms: " + std::to_string(slow_ms) + "}" : "~";
    v1 = WriteTarball(dir.path(), MakeRelease("1", {{"counter", "1"}}, Counters(processes)), "");
    v2 = WriteTarball(dir.path(), MakeRelease("2", {{"counter", "2"}}, Counters(processes)),
                      CounterPlans({"counter"}, extra));
  }
};

// 60 processes x 20 ms: at least 2.4 s. The precheck alone runs past the
// one-second mark, so the bar has frames to draw in both phases.
constexpr int kSlowProcesses = 60;
constexpr int kSlowMs = 20;

const std::regex kReportHead(R"(upgrade 1 -> 2: done \((\d+\.\d) ms\))");

TEST_CASE(
    "relup apply on a terminal taking over a second draws a progress bar through the precheck "
    "and the rollout that reaches the total and is erased before the report",
    "[cli][apply][progress]") {
  CounterUpgrade up(kSlowProcesses, kSlowMs);
  NodeRoot root;
  root.start(up.v1);

  PtyRun run = RelupOnPty({"apply", up.v2, "--root", root.path()});
  INFO("the terminal received:\n" << Visible(run.bytes));
  REQUIRE(run.exit_code == 0);

  std::vector<BarFrame> frames = BarFrames(run.bytes);
  REQUIRE_FALSE(frames.empty());
  long long last_done = 0;
  bool midway = false, checked = false;
  std::string phase = "checked";
  for (const BarFrame& f : frames) {
    CHECK(f.total == kSlowProcesses);
    if (f.phase != phase) {  // the precheck's frames come first, then the rollout's
      CHECK(phase == "checked");
      CHECK(f.phase == "upgraded");
      phase = f.phase;
      last_done = 0;
    }
    checked = checked || f.phase == "checked";
    CHECK(f.done >= last_done);  // within a phase it never goes back
    last_done = f.done;
    midway = midway || (f.phase == "upgraded" && f.done > 0 && f.done < f.total);
    // 30 cells, filled in proportion to done/total.
    REQUIRE(f.bar.size() == 30);
    auto filled = static_cast<long long>(std::count(f.bar.begin(), f.bar.end(), '#'));
    CHECK(filled == 30 * f.done / f.total);
    CHECK(f.bar == std::string(static_cast<size_t>(filled), '#') +
                       std::string(static_cast<size_t>(30 - filled), '.'));
  }
  CHECK(checked);
  CHECK(midway);
  CHECK(frames.back().phase == "upgraded");
  CHECK(frames.back().done == kSlowProcesses);
  CHECK(frames.back().bar == std::string(30, '#'));

  // After the last frame: the erase ("\r", blanks, "\r"), then the report.
  size_t report = run.bytes.find("upgrade 1 -> 2: done");
  REQUIRE(report != std::string::npos);
  CHECK(report > frames.back().at);
  std::string between = run.bytes.substr(frames.back().at, report - frames.back().at);
  std::smatch erase;
  CHECK(std::regex_search(between, erase, std::regex(R"(processes upgraded *\r +\r$)")));

  // What is left on the screen is exactly the report, from the first row:
  // no bar, no leftover cells of it after the (shorter) first report line.
  Screen screen = Render(run.bytes);
  CHECK(screen.unknown.empty());
  REQUIRE(screen.rows.size() >= 4);
  std::smatch head;
  REQUIRE(std::regex_match(screen.rows.front(), head, kReportHead));
  CHECK(std::stod(head[1].str()) >= 2.0 * kSlowProcesses * kSlowMs);  // the sleeps' lower bound
  std::string all;
  for (const auto& r : screen.rows) {
    all += r + "\n";
    CHECK_FALSE(Contains(r, "#"));
    CHECK_FALSE(std::regex_search(r, std::regex(R"(\d+/\d+ processes)")));
  }
  const std::string n = std::to_string(kSlowProcesses);
  CHECK(Contains(all, "  counter 1 -> 2 (update, " + n + " processes)\n"));
  CHECK(Contains(all, "  counter 2: " + n + " processes\n"));
  CHECK(Contains(all, "\nthe node now runs release 2 (not permanent"));
}

TEST_CASE(
    "relup apply taking over a second with stderr on a pipe prints no bar and no control "
    "characters",
    "[cli][apply][progress]") {
  CounterUpgrade up(kSlowProcesses, kSlowMs);
  NodeRoot root;
  root.start(up.v1);

  RunResult r = Relup({"apply", up.v2, "--root", root.path()});
  INFO("stdout:\n" << Visible(r.out) << "\nstderr:\n" << Visible(r.err));
  REQUIRE(r.exit_code == 0);
  std::smatch head;
  std::string first = r.out.substr(0, r.out.find('\n'));
  REQUIRE(std::regex_match(first, head, kReportHead));
  CHECK(std::stod(head[1].str()) >= 2.0 * kSlowProcesses * kSlowMs);  // long enough for a bar
  CHECK(r.err.empty());
  CHECK_FALSE(Contains(r.both(), "#"));
  for (char c : r.both()) {
    CHECK_FALSE((static_cast<unsigned char>(c) < 0x20 && c != '\n'));
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') break;  // one failure says it all
  }
  CHECK(Contains(r.out, "\nthe node now runs release 2 (not permanent"));
}

TEST_CASE("relup apply on a terminal finishing within a second shows no bar, only the report",
          "[cli][apply][progress]") {
  CounterUpgrade up(3, 0);
  NodeRoot root;
  root.start(up.v1);

  PtyRun run = RelupOnPty({"apply", up.v2, "--root", root.path()});
  INFO("the terminal received:\n" << Visible(run.bytes));
  REQUIRE(run.exit_code == 0);
  Screen screen = Render(run.bytes);
  CHECK(screen.unknown.empty());
  REQUIRE_FALSE(screen.rows.empty());
  CHECK(std::regex_match(screen.rows.front(), kReportHead));
  // Every "\r" is the terminal's own, from a "\n" turned into "\r\n".
  std::string bytes = run.bytes;
  for (size_t at = bytes.find("\r\n"); at != std::string::npos; at = bytes.find("\r\n", at)) {
    bytes.erase(at, 1);
  }
  // The bar waits a second from the client's start: a whole run shorter
  // than that cannot have drawn it. A run slowed past it by a loaded
  // machine proves nothing either way.
  if (run.took < std::chrono::seconds(1)) {
    CHECK(BarFrames(run.bytes).empty());
    CHECK_FALSE(Contains(bytes, "\r"));
    CHECK_FALSE(Contains(bytes, "#"));
  } else {
    WARN("the apply took over a second on this machine: not checking that no bar was drawn");
  }
}

}  // namespace
}  // namespace relup::test
