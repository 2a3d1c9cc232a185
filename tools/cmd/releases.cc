// relup releases: the releases in the node root and their states. Asks the
// running node; with no node running, reads the store file directly.
#include <cstdio>
#include <filesystem>
#include <vector>

#include "cmd/node_client_util.h"
#include "command.h"
#include "release/release_store.h"

namespace relup::cli {
namespace {

Term EntriesTerm(const std::vector<ReleaseEntry>& entries) {
  std::vector<Term> out;
  for (const auto& e : entries) {
    out.push_back(Term::map({{Term::atom("name"), Term(e.name)},
                             {Term::atom("vsn"), Term(e.vsn)},
                             {Term::atom("state"), Term(std::string(ReleaseStateName(e.state)))},
                             {Term::atom("unpacked_at"), Term(e.unpacked_at)}}));
  }
  return Term::list(std::move(out));
}

void PrintReleases(const Term& list) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "VSN", "STATE", "UNPACKED"}};
  for (const Term& r : list.elements()) {
    std::vector<std::string> row;
    for (const char* key : {"name", "vsn", "state", "unpacked_at"}) {
      const Term* v = r.find(key);
      row.push_back(v && v->is_string() ? v->as_string() : "");
    }
    rows.push_back(std::move(row));
  }
  PrintTable(rows);
}

CommandRunner Setup(CLI::App& sub) {
  struct Args {
    std::string root;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  AddRootOption(sub, args->root);
  sub.add_flag("--json", args->json, "print a JSON array");
  return [args] {
    auto root = ResolveRoot(args->root);
    if (!root.ok()) return UsageError("releases", root.status());
    auto reply_timeout = ReplyTimeout(std::chrono::milliseconds(0));
    if (!reply_timeout.ok()) return UsageError("releases", reply_timeout.status());
    Term list;
    auto client = ControlClient::Connect(*root);
    if (client.ok()) {
      if (Status s = (*client)->set_reply_timeout(*reply_timeout); !s.ok()) {
        return ReportError("releases", s);
      }
      Answer a = Ask("releases", **client, MakeRequest("releases"));
      if (!a) return a.exit;
      list = a.value;
    } else if (client.status().code() == StatusCode::kUnavailable &&
               std::filesystem::exists(*root + "/releases/RELEASES.yaml")) {
      auto entries = ReleaseStore::ReadFile(*root);
      if (!entries.ok()) return ReportError("releases", entries.status());
      std::string boots, left;
      for (const ReleaseEntry& e : *entries) {
        if (e.state == ReleaseState::kPermanent) boots = e.vsn;
        if (e.state == ReleaseState::kCurrent) left = e.vsn;
      }
      std::fprintf(stderr, "relup releases: no node is running at %s; read from the store file%s\n",
                   root->c_str(),
                   left.empty() ? ""
                                : ("; release " + left +
                                   " was running when the node stopped, but "
                                   "a start boots the permanent release " +
                                   (boots.empty() ? std::string("(none)") : boots))
                                      .c_str());
      list = EntriesTerm(*entries);
    } else {
      return ReportError("releases", client.status());
    }
    if (!list.is_list()) {
      return ReportError("releases", Status::Internal("the node answered with " + list.to_yaml() +
                                                      ", not a list of releases"));
    }
    if (args->json) {
      PrintLine(ToJson(list));
    } else {
      PrintReleases(list);
    }
    return int{kExitOk};
  };
}

RELUP_COMMAND("releases", "list the releases in the node root and their states", Setup);

}  // namespace
}  // namespace relup::cli
