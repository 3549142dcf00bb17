// What the server offers process-wide plugins (metrics, health, ready), which are configured in a
// server block like any plugin but serve the whole process and are not part of a chain (their
// Setup returns an empty PluginPtr). Main loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace petdns::chain {

struct PluginReadiness {
  size_t block = 0;    // index of the [[server]] block
  std::string plugin;  // Plugin::Name()
  bool ready = true;
};

class ProcessHooks {
 public:
  virtual ~ProcessHooks() = default;
  // Keeps a process-wide object (an HTTP endpoint, an exposer) alive until the server stops.
  // Returns false when an object with this key is already kept: a second block configuring the
  // same endpoint shares the first one.
  virtual bool Keep(const std::string& key, std::shared_ptr<void> object) = 0;
  // The object kept under `key`, or null. Kept objects outlive configuration reloads: a plugin set
  // up again by a reload finds its endpoint here instead of binding the port a second time.
  virtual std::shared_ptr<void> Find(const std::string& key) const = 0;
  // Every chain plugin's readiness, for /ready.
  virtual std::vector<PluginReadiness> Readiness() const = 0;
  // On SIGTERM/SIGINT `begin` runs first; the server keeps answering for the longest `delay`
  // asked for (lame duck), then stops.
  virtual void OnLameDuck(std::chrono::milliseconds delay, std::function<void()> begin) = 0;
};

}  // namespace petdns::chain
