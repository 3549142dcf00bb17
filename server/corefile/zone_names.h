// Zone names as petdns.toml writes them ("cluster.local.", "10.in-addr.arpa.") from what a
// Corefile allows (`cluster.local`, `Example.ORG.`, `10.0.0.0/8`), and the "is inside" test
// the conversion uses to decide which plugins cover which zones. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petdns::corefile {

// Lower case with a trailing dot; a CIDR whose prefix is a multiple of 8 bits (IPv4) or 4 bits
// (IPv6) becomes its reverse zone. nullopt for anything else.
std::optional<std::string> NormalizeZone(std::string_view text);

// True when `name` equals `zone` or lies below it; both normalized. Everything is inside ".".
bool IsInside(std::string_view name, std::string_view zone);

// The part of `zones` that lies inside `block_zones`: a zone above a block zone is cut down to
// that block zone; one outside every block zone is dropped. Order of `zones`, no duplicates.
std::vector<std::string> IntersectZones(const std::vector<std::string>& zones,
                                        const std::vector<std::string>& block_zones);

// "localhost:9153" → "127.0.0.1:9153"; ":9153", "1.2.3.4:9153", "[::1]:9153" as they are;
// nullopt for other host names, which petdns cannot listen on.
std::optional<std::string> NormalizeHttpListen(std::string_view text);

// True for a literal IPv4 or IPv6 address (an IPv6 zone suffix "%eth0" is allowed).
bool IsIpAddress(std::string_view text);

}  // namespace petdns::corefile
