#include "release/release_store.h"

#include <yaml-cpp/yaml.h>

#include <ctime>
#include <filesystem>

#include "release/atomic_file.h"

namespace relup {
namespace fs = std::filesystem;

namespace {

constexpr int kFormat = 1;

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Serialize(const std::vector<ReleaseEntry>& entries) {
  YAML::Emitter out;
  out << YAML::Comment(
      "relup release store: written atomically by the node; do not edit while it runs");
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << kFormat;
  out << YAML::Key << "releases" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : entries) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << e.name;
    out << YAML::Key << "vsn" << YAML::Value << YAML::DoubleQuoted << e.vsn;
    out << YAML::Key << "state" << YAML::Value << std::string(ReleaseStateName(e.state));
    out << YAML::Key << "unpacked_at" << YAML::Value << e.unpacked_at;
    out << YAML::Key << "ran" << YAML::Value << e.ran;
    out << YAML::Key << "was_permanent" << YAML::Value << e.was_permanent;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Result<std::vector<ReleaseEntry>> Parse(const std::string& text, const std::string& path) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption(path + ": " + why +
                              " (the release store is written only by the node; restore it from "
                              "a backup or remove the bad entry)");
  };
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return corrupt(std::string("not valid YAML: ") + e.what());
  }
  if (!doc.IsMap()) return corrupt("expected a map with 'format' and 'releases'");
  try {
    if (!doc["format"] || doc["format"].as<int>() != kFormat) {
      return corrupt("unsupported 'format' (this relup reads format " + std::to_string(kFormat) +
                     ")");
    }
    std::vector<ReleaseEntry> entries;
    YAML::Node list = doc["releases"];
    if (!list || list.IsNull()) return entries;
    if (!list.IsSequence()) return corrupt("'releases' must be a list");
    int current = 0, permanent = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node& n = list[i];
      std::string where = "releases[" + std::to_string(i) + "]";
      if (!n.IsMap() || !n["name"] || !n["vsn"] || !n["state"]) {
        return corrupt(where + " needs 'name', 'vsn' and 'state'");
      }
      ReleaseEntry e;
      e.name = n["name"].as<std::string>();
      e.vsn = n["vsn"].as<std::string>();
      if (Status s = ValidateReleaseVsn(e.vsn); !s.ok()) return corrupt(where + ": " + s.message());
      auto state = ParseReleaseState(n["state"].as<std::string>());
      if (!state.ok()) return corrupt(where + ".state: " + state.status().message());
      e.state = *state;
      if (n["unpacked_at"]) e.unpacked_at = n["unpacked_at"].as<std::string>();
      e.ran = n["ran"] ? n["ran"].as<bool>() : true;
      e.was_permanent = n["was_permanent"] ? n["was_permanent"].as<bool>()
                                           : e.state != ReleaseState::kUnpacked &&
                                                 e.state != ReleaseState::kCurrent;
      for (const auto& other : entries) {
        if (other.vsn == e.vsn) return corrupt(where + ": vsn '" + e.vsn + "' listed twice");
      }
      current += e.state == ReleaseState::kCurrent;
      permanent += e.state == ReleaseState::kPermanent;
      entries.push_back(std::move(e));
    }
    if (current > 1) return corrupt("more than one release is 'current'");
    if (permanent > 1) return corrupt("more than one release is 'permanent'");
    return entries;
  } catch (const YAML::Exception& e) {
    return corrupt(std::string("bad field: ") + e.what());
  }
}

Status NotInStore(std::string_view vsn, const std::string& root) {
  return Status::NotFound("release " + std::string(vsn) + " is not installed at " + root +
                          " (relup releases lists the installed ones)");
}

ReleaseEntry* FindIn(std::vector<ReleaseEntry>& entries, std::string_view vsn) {
  for (auto& e : entries) {
    if (e.vsn == vsn) return &e;
  }
  return nullptr;
}

// What a release becomes when it stops being current.
ReleaseState NotRunningState(const ReleaseEntry& e) {
  return e.was_permanent ? ReleaseState::kOld : ReleaseState::kUnpacked;
}

const ReleaseEntry* RunningIn(const std::vector<ReleaseEntry>& entries) {
  const ReleaseEntry* permanent = nullptr;
  for (const auto& e : entries) {
    if (e.state == ReleaseState::kCurrent) return &e;
    if (e.state == ReleaseState::kPermanent) permanent = &e;
  }
  return permanent;
}

}  // namespace

std::string_view ReleaseStateName(ReleaseState s) {
  switch (s) {
    case ReleaseState::kUnpacked:
      return "unpacked";
    case ReleaseState::kCurrent:
      return "current";
    case ReleaseState::kPermanent:
      return "permanent";
    case ReleaseState::kOld:
      return "old";
  }
  return "unknown";
}

Result<ReleaseState> ParseReleaseState(std::string_view text) {
  for (auto s : {ReleaseState::kUnpacked, ReleaseState::kCurrent, ReleaseState::kPermanent,
                 ReleaseState::kOld}) {
    if (ReleaseStateName(s) == text) return s;
  }
  return Status::InvalidArgument("unknown release state '" + std::string(text) +
                                 "' (expected unpacked, current, permanent or old)");
}

Status ValidateReleaseVsn(std::string_view vsn) {
  bool ok = !vsn.empty() && vsn.size() <= 64 && vsn[0] != '.';
  for (char c : vsn) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
                c == '-');
  }
  if (ok) return Status::Ok();
  return Status::InvalidArgument("release vsn '" + std::string(vsn) +
                                 "' is not usable as a directory name: use 1 to 64 of "
                                 "[A-Za-z0-9._+-], not starting with '.'");
}

Result<std::unique_ptr<ReleaseStore>> ReleaseStore::Open(const std::string& root) {
  std::error_code ec;
  std::string abs = fs::absolute(root, ec).lexically_normal().string();
  if (ec) return Status::IOError("cannot resolve root " + root + ": " + ec.message());
  if (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  std::unique_ptr<ReleaseStore> store(new ReleaseStore(abs));
  fs::create_directories(store->releases_dir(), ec);
  if (ec) {
    return Status::IOError("cannot create " + store->releases_dir() + ": " + ec.message());
  }
  RELUP_ASSIGN_OR_RETURN(store->entries_, ReadFile(abs));
  return store;
}

Result<std::vector<ReleaseEntry>> ReleaseStore::ReadFile(const std::string& root) {
  std::string path = (fs::path(root) / "releases" / "RELEASES.yaml").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::vector<ReleaseEntry>{};
  RELUP_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return Parse(text, path);
}

std::string ReleaseStore::file_path() const {
  return releases_dir() + "/RELEASES.yaml";
}
std::string ReleaseStore::releases_dir() const {
  return root_ + "/releases";
}
std::string ReleaseStore::release_dir(std::string_view vsn) const {
  return releases_dir() + "/" + std::string(vsn);
}

std::vector<ReleaseEntry> ReleaseStore::releases() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::optional<ReleaseEntry> ReleaseStore::find(std::string_view vsn) const {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e.vsn == vsn) return e;
  }
  return std::nullopt;
}

std::optional<ReleaseEntry> ReleaseStore::running() const {
  std::lock_guard lock(mu_);
  const ReleaseEntry* e = RunningIn(entries_);
  if (!e) return std::nullopt;
  return *e;
}

std::optional<ReleaseEntry> ReleaseStore::permanent() const {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e.state == ReleaseState::kPermanent) return e;
  }
  return std::nullopt;
}

bool ReleaseStore::empty() const {
  std::lock_guard lock(mu_);
  return entries_.empty();
}

Status ReleaseStore::add_unpacked(const std::string& name, const std::string& vsn) {
  RELUP_RETURN_IF_ERROR(ValidateReleaseVsn(vsn));
  if (name.empty()) return Status::InvalidArgument("release " + vsn + " has an empty name");
  std::lock_guard lock(mu_);
  std::vector<ReleaseEntry> next = entries_;
  if (ReleaseEntry* e = FindIn(next, vsn)) {
    if (e->state != ReleaseState::kUnpacked) {
      return Status::AlreadyExists("release " + vsn + " is already installed (state " +
                                   std::string(ReleaseStateName(e->state)) + ")");
    }
    if (e->name != name) {
      return Status::AlreadyExists("release vsn " + vsn + " is already unpacked as release '" +
                                   e->name + "', not '" + name +
                                   "': remove it first (`relup "
                                   "remove " +
                                   vsn + "`)");
    }
    return Status::Ok();
  }
  next.push_back({name, vsn, ReleaseState::kUnpacked, NowUtc(), /*ran=*/false});
  return commit_locked(std::move(next));
}

Status ReleaseStore::set_running(std::string_view vsn) {
  std::lock_guard lock(mu_);
  std::vector<ReleaseEntry> next = entries_;
  ReleaseEntry* target = FindIn(next, vsn);
  if (!target) return NotInStore(vsn, root_);
  for (auto& e : next) {
    if (e.state == ReleaseState::kCurrent && e.vsn != vsn) e.state = NotRunningState(e);
  }
  if (target->state != ReleaseState::kPermanent) target->state = ReleaseState::kCurrent;
  target->ran = true;
  return commit_locked(std::move(next));
}

Status ReleaseStore::make_permanent(std::string_view vsn) {
  std::lock_guard lock(mu_);
  std::vector<ReleaseEntry> next = entries_;
  ReleaseEntry* running = nullptr;
  for (auto& e : next) {
    if (e.state == ReleaseState::kCurrent) running = &e;
  }
  if (!running) {
    for (auto& e : next) {
      if (e.state == ReleaseState::kPermanent) running = &e;
    }
  }
  if (!running) {
    return Status::FailedPrecondition("no release is installed at " + root_ +
                                      " yet: start the node with relup node start --release "
                                      "TARBALL");
  }
  if (!vsn.empty() && running->vsn != vsn) {
    const ReleaseEntry* asked = FindIn(next, vsn);
    if (!asked) {
      return NotInStore(vsn, root_);
    }
    if (asked->state == ReleaseState::kPermanent) {
      return Status::FailedPrecondition(
          "release " + std::string(vsn) +
          " is permanent already (a restart boots it), but the node "
          "runs " +
          running->vsn + ": `relup make-permanent` without a vsn keeps " + running->vsn +
          ", or go up to " + std::string(vsn) + " with `relup apply` of its tarball");
    }
    return Status::FailedPrecondition(
        "release " + std::string(vsn) + " is not the running release (" + running->vsn +
        "): only the running release can be made permanent; install it first with `relup apply`");
  }
  if (running->state == ReleaseState::kPermanent) return Status::Ok();
  for (auto& e : next) {
    if (e.state == ReleaseState::kPermanent) e.state = ReleaseState::kOld;
  }
  running->state = ReleaseState::kPermanent;
  running->was_permanent = true;
  return commit_locked(std::move(next));
}

Status ReleaseStore::revert_to_permanent() {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return Status::Ok();
  std::vector<ReleaseEntry> next = entries_;
  bool has_permanent = false, changed = false;
  for (auto& e : next) {
    has_permanent = has_permanent || e.state == ReleaseState::kPermanent;
    if (e.state == ReleaseState::kCurrent) {
      e.state = NotRunningState(e);
      changed = true;
    }
  }
  if (!has_permanent) {
    return Status::FailedPrecondition(file_path() +
                                      " lists releases but none is permanent: start the node "
                                      "with --release TARBALL to install one");
  }
  return changed ? commit_locked(std::move(next)) : Status::Ok();
}

Status ReleaseStore::remove(std::string_view vsn) {
  std::lock_guard lock(mu_);
  std::vector<ReleaseEntry> next = entries_;
  ReleaseEntry* e = FindIn(next, vsn);
  if (!e) return NotInStore(vsn, root_);
  if (e->state == ReleaseState::kPermanent) {
    return Status::FailedPrecondition("release " + std::string(vsn) +
                                      " is permanent (a restart boots it): make another release "
                                      "permanent first");
  }
  if (e == RunningIn(next)) {
    return Status::FailedPrecondition("release " + std::string(vsn) +
                                      " is running: downgrade or upgrade away from it first");
  }
  next.erase(next.begin() + (e - next.data()));
  // The entry goes first: a crash between the two steps leaves an unlisted
  // directory, which is ignored, never a listed release without files.
  RELUP_RETURN_IF_ERROR(commit_locked(std::move(next)));
  std::error_code ec;
  fs::remove_all(release_dir(vsn), ec);
  if (ec) {
    return Status::IOError("release " + std::string(vsn) + " was forgotten but " +
                           release_dir(vsn) + " could not be deleted: " + ec.message());
  }
  return Status::Ok();
}

Status ReleaseStore::commit_locked(std::vector<ReleaseEntry> next) {
  RELUP_RETURN_IF_ERROR(WriteFileAtomically(file_path(), Serialize(next)));
  entries_ = std::move(next);
  return Status::Ok();
}

}  // namespace relup
