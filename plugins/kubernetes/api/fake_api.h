// Test helpers for the API source: a scripted fake API server (list and watch handlers on top of
// http::testing::TestHttpServer), Kubernetes JSON builders, and an ObjectSink that records calls.
// Handlers run on server threads; the sink on the loop thread.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/kubernetes/object_sink.h"
#include "server/http/testing/test_http_server.h"

namespace petdns::plugins::kubernetes::api::fakes {

using http::testing::TestConnection;
using http::testing::TestRequest;

// A Service object; list items carry no kind/apiVersion, watch objects do (`full`).
inline nlohmann::json Svc(const std::string& name, const std::string& rv, bool full = false) {
  nlohmann::json j = {
      {"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", rv}}},
      {"spec", {{"clusterIP", "10.96.0.10"}, {"type", "ClusterIP"}}}};
  if (full) {
    j["kind"] = "Service";
    j["apiVersion"] = "v1";
  }
  return j;
}

inline nlohmann::json Bookmark(const std::string& rv) {
  return {{"kind", "Service"},
          {"apiVersion", "v1"},
          {"metadata", {{"resourceVersion", rv}}},
          {"spec", nlohmann::json::object()}};
}

inline std::string ListBody(const std::string& kind, const std::string& rv,
                            const std::vector<nlohmann::json>& items,
                            const std::string& next = "") {
  nlohmann::json meta = {{"resourceVersion", rv}};
  if (!next.empty()) meta["continue"] = next;
  return nlohmann::json{{"kind", kind}, {"apiVersion", "v1"}, {"metadata", meta}, {"items", items}}
      .dump();
}

inline std::string Event(const std::string& type, const nlohmann::json& object) {
  return nlohmann::json{{"type", type}, {"object", object}}.dump() + "\n";
}

inline std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}}
      .dump();
}

// Routes GETs to on_list / on_watch (by ?watch=true) with a 1-based per-kind counter.
class FakeApi {
 public:
  using Fn = std::function<void(int n, const TestRequest&, TestConnection&)>;
  Fn on_list;
  Fn on_watch;

  http::testing::TestHttpServer::Handler Handler() {
    return [this](const TestRequest& req, TestConnection& c) {
      const bool watch = req.Query("watch") == "true";
      int n = 0;
      {
        std::lock_guard lock(mu_);
        (watch ? watch_requests_ : list_requests_).push_back(req);
        n = static_cast<int>((watch ? watch_requests_ : list_requests_).size());
      }
      const Fn& fn = watch ? on_watch : on_list;
      if (fn) {
        fn(n, req, c);
      } else {
        c.Respond(404, StatusBody(404, "NotFound", "not scripted"));
      }
    };
  }

  int lists() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(list_requests_.size());
  }
  int watches() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(watch_requests_.size());
  }
  std::vector<TestRequest> list_requests() const {
    std::lock_guard lock(mu_);
    return list_requests_;
  }
  std::vector<TestRequest> watch_requests() const {
    std::lock_guard lock(mu_);
    return watch_requests_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<TestRequest> list_requests_;
  std::vector<TestRequest> watch_requests_;
};

// Keeps name → resourceVersion per resource and a log of calls as "name@rv" strings.
class RecordingSink : public ObjectSink {
 public:
  void ReplaceAll(Resource resource, std::vector<nlohmann::json> items) override {
    ++replace_alls;
    ++replace_alls_by[resource];
    last_replace.clear();
    auto& state = state_[resource];
    state.clear();
    for (const auto& item : items) {
      last_replace.push_back(Key(item));
      state[Name(item)] = Rv(item);
    }
  }
  void Apply(Resource resource, WatchEventType type, const nlohmann::json& object) override {
    static constexpr const char* kNames[] = {"ADDED", "MODIFIED", "DELETED"};
    applied.push_back(std::string(kNames[static_cast<int>(type)]) + " " + Key(object));
    auto& state = state_[resource];
    if (type == WatchEventType::kDeleted) {
      state.erase(Name(object));
    } else {
      state[Name(object)] = Rv(object);
    }
  }
  std::map<std::string, std::string> State(Resource r = Resource::kServices) { return state_[r]; }

  int replace_alls = 0;
  std::map<Resource, int> replace_alls_by;
  std::vector<std::string> last_replace;
  std::vector<std::string> applied;

 private:
  static std::string Name(const nlohmann::json& o) { return o["metadata"].value("name", ""); }
  static std::string Rv(const nlohmann::json& o) {
    return o["metadata"].value("resourceVersion", "");
  }
  static std::string Key(const nlohmann::json& o) { return Name(o) + "@" + Rv(o); }
  std::map<Resource, std::map<std::string, std::string>> state_;
};

}  // namespace petdns::plugins::kubernetes::api::fakes
