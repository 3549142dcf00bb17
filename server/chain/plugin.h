// The plugin contract (CONVENTIONS.md §2). A server block's plugins form a chain; each plugin's
// Serve either replies, passes the query on with next(q), or (later: forward) holds it.
// Serve is called on a worker loop only and never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace petdns::chain {

class Query;
class Plugin;

enum class Outcome : uint8_t { kReplied, kDeferred };

// The rest of the chain, cheap to copy; past the last plugin it replies SERVFAIL (or REFUSED for a
// name outside every plugin's zones — see Chain).
class Next {
 public:
  Next(std::span<Plugin* const> rest) noexcept : rest_(rest) {}  // NOLINT: implicit by design
  Outcome operator()(Query& q) const noexcept;

 private:
  std::span<Plugin* const> rest_;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string_view Name() const noexcept = 0;       // "file": log prefix, metric label
  virtual Outcome Serve(Query& q, Next next) noexcept = 0;  // worker loop only
  // Called on the main loop when the whole chain is built and listeners are up.
  virtual void OnStartup() {}
  // Called on the main loop when the server stops or the chain is replaced.
  virtual void OnShutdown() {}
  // Whether the plugin can answer as it should yet (the kubernetes plugin: first sync done).
  // /ready reports 200 only when every plugin is ready. Main loop.
  virtual bool Ready() const noexcept { return true; }
};

using PluginPtr = std::unique_ptr<Plugin>;

}  // namespace petdns::chain
