#include "cmd/node_client_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/yaml_scalar.h"
#include "upgrade/upgrade_report.h"

namespace relup::cli {
namespace fs = std::filesystem;

Result<std::string> ResolveRoot(const std::string& root) {
  if (root.empty()) {
    return Status::InvalidArgument("no node root given: pass --root DIR or set RELUP_ROOT");
  }
  std::error_code ec;
  std::string abs = fs::absolute(root, ec).lexically_normal().string();
  if (ec) return Status::InvalidArgument("cannot resolve --root " + root + ": " + ec.message());
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return abs;
}

namespace {
bool json_errors = false;  // one command per process: set once, before any output
}  // namespace

void EnableJsonErrors() {
  json_errors = true;
}

int ReportFailure(std::string_view cmd, const Status& status, int exit, std::string_view step,
                  std::string_view outcome) {
  std::fprintf(stderr, "relup %.*s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
               status.message().c_str());
  if (json_errors) {
    // The node's own refusal report, so pipelines read one schema.
    Term report = RefusedReport("", "", std::string(step), status).ToTerm(false);
    PrintLine(ToJson(report.put("outcome", Term::atom(outcome))));
  }
  return exit;
}

int ErrorExit(const Status& status) {
  return status.code() == StatusCode::kUnavailable ? kExitNoNode : kExitFailure;
}

int ReportError(std::string_view cmd, const Status& status) {
  int exit = ErrorExit(status);
  return ReportFailure(cmd, status, exit, exit == kExitNoNode ? "connect" : "client");
}

int UsageError(std::string_view cmd, const Status& status) {
  return ReportFailure(cmd, status, kExitUsage, "usage");
}

namespace {

// RELUP_REPLY_TIMEOUT in milliseconds; nullopt when unset.
Result<std::optional<std::chrono::milliseconds>> ReplyTimeoutFromEnv() {
  const char* text = std::getenv("RELUP_REPLY_TIMEOUT");
  if (text == nullptr || *text == '\0') return std::optional<std::chrono::milliseconds>();
  char* end = nullptr;
  errno = 0;
  double seconds = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(seconds >= 0) || seconds > 1e9) {
    return Status::InvalidArgument("RELUP_REPLY_TIMEOUT='" + std::string(text) +
                                   "' is not a number of seconds: set it to e.g. 300, or 0 for "
                                   "no limit");
  }
  return std::optional(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

}  // namespace

Result<std::chrono::milliseconds> ReplyTimeout(std::chrono::milliseconds request_may_take) {
  RELUP_ASSIGN_OR_RETURN(auto from_env, ReplyTimeoutFromEnv());
  if (from_env) return *from_env;
  return request_may_take < std::chrono::milliseconds(0) ? std::chrono::milliseconds(0)
                                                         : kReplyTimeout + request_may_take;
}

int WithNode(std::string_view cmd, const std::string& root,
             std::chrono::milliseconds request_may_take,
             const std::function<int(ControlClient& client)>& body) {
  auto abs = ResolveRoot(root);
  if (!abs.ok()) return UsageError(cmd, abs.status());
  auto reply_timeout = ReplyTimeout(request_may_take);
  if (!reply_timeout.ok()) return UsageError(cmd, reply_timeout.status());
  auto client = ControlClient::Connect(*abs);
  if (!client.ok()) return ReportError(cmd, client.status());
  if (Status s = (*client)->set_reply_timeout(*reply_timeout); !s.ok()) return ReportError(cmd, s);
  return body(**client);
}

Answer Ask(std::string_view cmd, ControlClient& client, const Term& request,
           const ControlClient::ProgressFn& on_progress) {
  auto value = client.request(request, on_progress);
  if (!value.ok()) {
    return {Term(), ReportError(cmd, value.status())};
  }
  return {std::move(value).value(), kExitOk};
}

Result<Term> ParseTermArgument(std::string_view text, std::string_view what) {
  auto term = Term::parse(text);
  if (!term.ok()) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(text) +
                                   "' is not a term in YAML text form (" + term.status().message() +
                                   "); write maps as '{add: 30000}', lists as '[1, 2]'");
  }
  return term;
}

namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void AppendJson(std::string& out, const Term& t) {
  switch (t.type()) {
    case Term::Type::kNil:
      out += "null";
      break;
    case Term::Type::kBool:
      out += t.as_bool() ? "true" : "false";
      break;
    case Term::Type::kInt:
      out += std::to_string(t.as_int());
      break;
    case Term::Type::kFloat: {
      double d = t.as_float();
      if (!std::isfinite(d)) {
        out += "null";
      } else {
        // The shortest text that reads back as the same double: 21.4, not
        // 21.399999999999999.
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
        out.append(buf, ec == std::errc() ? end : buf);
      }
      break;
    }
    case Term::Type::kAtom:
      AppendJsonString(out, t.as_atom());
      break;
    case Term::Type::kPid:
    case Term::Type::kRef:  // a handle: its text form, e.g. "!timer 12"
      AppendJsonString(out, t.to_yaml());
      break;
    case Term::Type::kString:
      AppendJsonString(out, t.as_string());
      break;
    case Term::Type::kBinary:
      AppendJsonString(out, detail::Base64Encode(t.as_binary()));
      break;
    case Term::Type::kTuple:
    case Term::Type::kList: {
      out += '[';
      bool first = true;
      for (const Term& e : t.elements()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, e);
      }
      out += ']';
      break;
    }
    case Term::Type::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : t.entries()) {
        if (!first) out += ',';
        first = false;
        if (k.is_atom()) {
          AppendJsonString(out, k.as_atom());
        } else if (k.is_string()) {
          AppendJsonString(out, k.as_string());
        } else {
          AppendJsonString(out, k.to_yaml());
        }
        out += ':';
        AppendJson(out, v);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

std::string ToJson(const Term& term) {
  std::string out;
  AppendJson(out, term);
  return out;
}

Status CheckReadableFile(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::InvalidArgument(what + " not found");
    return Status::InvalidArgument(what + " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(what + " is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) {
    return Status::InvalidArgument(what + " cannot be read: " + std::strerror(errno));
  }
  return Status::Ok();
}

void PrintLine(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    PrintLine(line);
  }
}

CommandRunner QueryCommand(CLI::App& sub, std::string cmd, std::string json_help,
                           std::function<void(const Term& answer)> print_text) {
  struct Args {
    std::string root;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_flag("--json", args->json, json_help);
  return [args, cmd = std::move(cmd), print_text = std::move(print_text)] {
    return WithNode(cmd, args->root, [&](ControlClient& client) {
      Answer a = Ask(cmd, client, MakeRequest(cmd));
      if (!a) return a.exit;
      if (args->json) {
        PrintLine(ToJson(a.value));
      } else {
        print_text(a.value);
      }
      return int{kExitOk};
    });
  };
}

CommandRunner TargetsCommand(CLI::App& sub, std::string cmd, std::string done,
                             std::string wait_help) {
  struct Args {
    std::string root;
    std::vector<std::string> targets;
    int64_t timeout_ms = 5000;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_option("targets", args->targets, "registered names or pids (<0.42.0>)")->required();
  if (!wait_help.empty()) sub.add_option("--timeout", args->timeout_ms, wait_help);
  return [args, cmd = std::move(cmd), done = std::move(done)] {
    // The node waits up to timeout_ms for each target in turn.
    std::chrono::milliseconds wait(args->timeout_ms * static_cast<int64_t>(args->targets.size()));
    return WithNode(cmd, args->root, wait, [&](ControlClient& client) {
      std::vector<Term> targets(args->targets.begin(), args->targets.end());
      Answer a = Ask(cmd, client,
                     MakeRequest(cmd, {{Term::atom("targets"), Term::list(std::move(targets))},
                                       {Term::atom("timeout_ms"), Term(args->timeout_ms)}}));
      if (!a) return a.exit;
      for (const std::string& t : args->targets) PrintLine(done + " " + t);
      return int{kExitOk};
    });
  };
}

}  // namespace relup::cli
