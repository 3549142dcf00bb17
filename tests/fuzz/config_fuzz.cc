// Fuzz target: the TOML configuration (server/config: toml++ parsing, [global], [[server]] blocks,
// listen addresses, zone names). Plugin sub-tables are left to the plugins' Setup, which opens
// files and sockets, so they are not run here. Input: the text of one petdns.toml.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "server/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = petdns::config::LoadConfigFromString(text, "/nonexistent/petdns.toml");
  if (!config && config.error().message.empty()) {
    std::fprintf(stderr, "config_fuzz: an error without a message\n");
    std::abort();
  }
  return 0;
}
