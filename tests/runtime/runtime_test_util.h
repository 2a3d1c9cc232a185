// Helpers for the process runtime tests: a node whose log is captured, module
// paths, and a bounded wait for things that happen asynchronously.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relup/node.h"

namespace relup::test {

inline std::string TestModule(const std::string& file) {
  return std::string(RELUP_TEST_MODULE_DIR) + "/" + file;
}
inline std::string ExampleModule(const std::string& file) {
  return std::string(RELUP_MODULE_DIR) + "/" + file;
}

// Every line the node logs, for assertions.
class LogCapture {
 public:
  LogSink sink() {
    return [this](LogLevel level, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back({level, std::string(line)});
      cv_.notify_all();
    };
  }
  // True once a line containing `text` was logged (waits up to `timeout`).
  bool wait_for(const std::string& text,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return contains_locked(text); });
  }
  bool contains(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    return contains_locked(text);
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& l : lines_) out.push_back(l.second);
    return out;
  }

 private:
  bool contains_locked(const std::string& text) const {
    for (const auto& l : lines_) {
      if (l.second.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

// A node with captured log and the given modules loaded (paths).
struct TestNode {
  explicit TestNode(std::vector<std::string> modules = {}, unsigned workers = 2) {
    Node::Options options;
    options.workers = workers;
    options.log = log.sink();
    node = std::make_unique<Node>(std::move(options));
    for (const auto& m : modules) load(m);
  }
  ModuleVersionPtr load(const std::string& path) {
    auto v = node->code_server().load(path);
    INFO(v.status().ToString());
    REQUIRE(v.ok());
    return *v;
  }
  Node* operator->() { return node.get(); }

  LogCapture log;  // declared first: outlives the node that writes to it
  std::unique_ptr<Node> node;
};

// Polls `done` until it is true or `timeout` passes; for effects that another
// process produces asynchronously (there is nothing to block on from here).
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline Term Yaml(std::string_view text) {
  auto t = Term::parse(text);
  INFO(std::string(text) + ": " + t.status().ToString());
  REQUIRE(t.ok());
  return *t;
}

}  // namespace relup::test
