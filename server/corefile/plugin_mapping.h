// Maps one Corefile directive (kubernetes, file, hosts, cache, forward, prometheus, health,
// ready, log, errors) and its options to a petdns plugin table, naming every option petdns lacks.
// Directives that touch the server block itself (bind, reload) are the caller's. Any thread.
#pragma once

#include <optional>
#include <vector>

#include "server/corefile/corefile.h"
#include "server/corefile/plugin_instance.h"

namespace petdns::corefile {

// The plugin table for `directive`, or nullopt when it has no petdns equivalent or cannot be
// used at all; in that case `issues` says why. Issues about single options go into the
// instance's own `issues`.
std::optional<PluginInstance> MapDirective(const Directive& directive, std::vector<Issue>& issues);

// Go-style durations as CoreDNS reads them ("5s", "1m30s", "0.5s", "250ms") in milliseconds;
// a bare integer is seconds. nullopt for anything else.
std::optional<int64_t> ParseCorefileDuration(std::string_view text);

}  // namespace petdns::corefile
