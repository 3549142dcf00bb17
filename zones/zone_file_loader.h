// Reads an RFC 1035 master file with ldns ($ORIGIN, $TTL, $INCLUDE, every type ldns knows, RFC 3597
// unknown-type syntax) and compiles it. Errors name the file and line. Control plane: runs on the
// main thread or a pool thread, never on a worker loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "server/common/error.h"
#include "zones/compiled_zone.h"

namespace petdns::zones {

struct ZoneFileOptions {
  std::string path;
  std::string origin;           // wire name; the zone apex and the initial $ORIGIN
  uint32_t default_ttl = 3600;  // until a $TTL line says otherwise
  int max_errors = 50;          // stop listing after this many
};

// On failure the Error's message holds one line per problem, "path:line: reason" (a problem in an
// included file names that file), or "path: reason" for problems of the whole zone.
[[nodiscard]] Result<std::shared_ptr<const CompiledZone>> LoadZoneFile(
    const ZoneFileOptions& options);

}  // namespace petdns::zones
