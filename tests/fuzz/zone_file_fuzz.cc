// Fuzz target: the zone-file loader (zones/zone_file_loader: $INCLUDE expansion, ldns parsing,
// compilation into a CompiledZone) on an arbitrary master file for example.org., then a lookup of
// every owner name the file could have made. Inputs with $INCLUDE are skipped: they would read
// other files of the machine. Input: the text of one zone file.
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/wire/name.h"
#include "zones/zone_file_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace petdns;  // NOLINT: a test program
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (size_t at = text.find('$'); at != std::string_view::npos; at = text.find('$', at + 1)) {
    if (strncasecmp(text.data() + at, "$include", std::min<size_t>(8, size - at)) == 0) return 0;
  }
  static const std::string kOrigin = *wire::NameFromText("example.org.");
  static const std::string kPath = [] {
    char path[] = "/tmp/petdns-zone-file-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(path);
  }();
  FILE* f = std::fopen(kPath.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);

  zones::ZoneFileOptions options;
  options.path = kPath;
  options.origin = kOrigin;
  auto zone = zones::LoadZoneFile(options);
  if (!zone && zone.error().message.empty()) {
    std::fprintf(stderr, "zone_file_fuzz: an error without a message\n");
    std::abort();
  }
  if (!zone) return 0;
  // Every node the loader made can be found again by its lower-cased name.
  for (const auto& node : (*zone)->nodes()) {
    if ((*zone)->Find(wire::LowerName(node.name())) == nullptr) {
      std::fprintf(stderr, "zone_file_fuzz: node %s not found\n",
                   wire::NameToText(node.name()).c_str());
      std::abort();
    }
    for (const auto& rrset : node.rrsets()) (void)node.Find(rrset.type);
  }
  return 0;
}
