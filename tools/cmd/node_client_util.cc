#include "cmd/node_client_util.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/yaml_scalar.h"

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

int ReportError(std::string_view cmd, const Status& status) {
  std::fprintf(stderr, "relup %.*s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
               status.message().c_str());
  return status.code() == StatusCode::kUnavailable ? kExitNoNode : kExitFailure;
}

int UsageError(std::string_view cmd, const Status& status) {
  ReportError(cmd, status);
  return kExitUsage;
}

int WithNode(std::string_view cmd, const std::string& root,
             const std::function<int(ControlClient& client)>& body) {
  auto abs = ResolveRoot(root);
  if (!abs.ok()) return UsageError(cmd, abs.status());
  auto client = ControlClient::Connect(*abs);
  if (!client.ok()) return ReportError(cmd, client.status());
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
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        out += buf;
      }
      break;
    }
    case Term::Type::kAtom:
      AppendJsonString(out, t.as_atom());
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

void PrintLine(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace relup::cli
