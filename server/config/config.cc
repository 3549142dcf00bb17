#include "server/config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "server/common/cidr.h"
#include "server/config/table_reader.h"

namespace petdns::config {
namespace {

// Names allowed as [server.<name>] sub-tables. The chain registry decides which of them exist in
// this build and in which order they run; this list only catches typos early, with a position.
constexpr std::array<std::string_view, 10> kKnownPlugins = {
    "file",    "kubernetes", "hosts", "cache", "forward",
    "metrics", "health",     "ready", "log",   "errors"};

constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warning", "error"};

constexpr int64_t kMaxTcpIdleTimeoutMs = 24 * 3'600'000;  // a day; anything longer is a mistake
constexpr int64_t kMaxTcpConnections = 1'000'000;
constexpr int64_t kMaxTcpQueuedBytes = 64 * 1024 * 1024;

SourcePosition PositionOf(const toml::node& node, const std::string& file) {
  const toml::source_position& begin = node.source().begin;
  return SourcePosition{file, begin.line, begin.line == 0 ? 0 : begin.column};
}

// Every problem in the file; sorted by position before they are joined into one Error.
class Problems {
 public:
  void Add(const SourcePosition& position, std::string_view message) {
    problems_.push_back(
        Problem{position.line, position.column, position.ToString() + ": " + std::string(message)});
  }
  void Merge(std::vector<Problem> more) {
    std::move(more.begin(), more.end(), std::back_inserter(problems_));
  }
  bool empty() const { return problems_.empty(); }
  Error ToError() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    std::string message;
    for (const Problem& problem : problems_) {
      if (!message.empty()) message += '\n';
      message += problem.text;
    }
    return Error{ErrorCode::kInvalidArgument, std::move(message)};
  }

 private:
  std::vector<Problem> problems_;
};

// Parses a port in 1..65535 written as plain decimal digits.
std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// "host:port", "[v6]:port" or ":port". The host is stored in canonical form ("::1" for
// "0:0::1") so equal addresses compare equal. Errors are the reason only, without the entry.
Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress out;
  out.text = std::string(text);
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "missing ']' after the IPv6 address");
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return MakeError(ErrorCode::kInvalidArgument, "missing port");
    if (!rest.starts_with(':')) {
      return MakeError(ErrorCode::kInvalidArgument, "expected ':port' after ']'");
    }
    port = rest.substr(1);
    bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return MakeError(ErrorCode::kInvalidArgument, "missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "IPv6 addresses must be in brackets, as in \"[::1]:53\"");
    }
  }
  if (port.empty()) return MakeError(ErrorCode::kInvalidArgument, "missing port");
  const std::optional<uint16_t> number = ParsePort(port);
  if (!number) {
    return MakeError(ErrorCode::kInvalidArgument, "port must be a number between 1 and 65535");
  }
  out.port = *number;
  if (host.empty()) {
    if (bracketed) return MakeError(ErrorCode::kInvalidArgument, "empty IPv6 address");
    return out;  // every IPv4 address
  }
  const std::string host_string(host);
  const int family = bracketed ? AF_INET6 : AF_INET;
  unsigned char bytes[sizeof(in6_addr)];
  if (inet_pton(family, host_string.c_str(), bytes) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     bracketed ? "'" + host_string + "' is not an IPv6 address"
                               : "host must be a literal IPv4 address or a bracketed IPv6 "
                                 "address, not '" +
                                     host_string + "'");
  }
  char canonical[INET6_ADDRSTRLEN];
  if (inet_ntop(family, bytes, canonical, sizeof(canonical)) == nullptr) {
    return MakeError(ErrorCode::kInternal, "inet_ntop failed: " + std::string(strerror(errno)));
  }
  out.host = canonical;
  return out;
}

// Two listen entries name the same socket: same port and same address, "" being "0.0.0.0".
bool SameListenAddress(const ListenAddress& a, const ListenAddress& b) {
  auto host = [](const ListenAddress& l) -> std::string_view {
    return l.host.empty() ? std::string_view("0.0.0.0") : std::string_view(l.host);
  };
  return a.port == b.port && host(a) == host(b);
}

// What the cross-block check needs besides the ServerBlock itself.
struct BlockPositions {
  std::vector<SourcePosition> zones;  // parallel to ServerBlock::zones
};

void ReadRrl(const toml::table& table, const std::string& file, RrlOptions& rrl,
             Problems& problems) {
  TableReader reader(table, "global.rrl", file);
  if (auto rate = reader.Integer("responses_per_second", 0, 1'000'000)) {
    rrl.responses_per_second = static_cast<uint32_t>(*rate);
  }
  if (auto window = reader.Integer("window", 1, 3600)) {
    rrl.window_seconds = static_cast<uint32_t>(*window);
  }
  if (auto slip = reader.Integer("slip", 0, 10)) rrl.slip = static_cast<uint32_t>(*slip);
  if (auto bits = reader.Integer("ipv4_prefix_length", 8, 32)) {
    rrl.ipv4_prefix_length = static_cast<uint8_t>(*bits);
  }
  if (auto bits = reader.Integer("ipv6_prefix_length", 16, 128)) {
    rrl.ipv6_prefix_length = static_cast<uint8_t>(*bits);
  }
  if (auto size = reader.Integer("table_size", 1024, 16'777'216)) {
    rrl.table_size = static_cast<uint32_t>(*size);
  }
  if (auto exempt = reader.StringArray("exempt")) {
    if (auto parsed = CidrSet::Parse(*exempt); !parsed) {
      reader.AddError("exempt", parsed.error().message);
    } else {
      rrl.exempt = *exempt;
    }
  }
  problems.Merge(reader.TakeProblems());
}

void ReadGlobal(const toml::table& table, const std::string& file, GlobalOptions& global,
                Problems& problems) {
  TableReader reader(table, "global", file);
  if (auto timeout = reader.Duration("tcp_idle_timeout")) {
    if (timeout->count() < 1 || timeout->count() > kMaxTcpIdleTimeoutMs) {
      reader.AddError("tcp_idle_timeout", "'tcp_idle_timeout' must be between 1ms and 24h");
    } else {
      global.tcp_idle_timeout_ms = static_cast<uint32_t>(timeout->count());
    }
  }
  if (auto max = reader.Integer("tcp_max_connections", 1, kMaxTcpConnections)) {
    global.tcp_max_connections = static_cast<uint32_t>(*max);
  }
  if (auto timeout = reader.Duration("tcp_read_timeout")) {
    if (timeout->count() < 1 || timeout->count() > kMaxTcpIdleTimeoutMs) {
      reader.AddError("tcp_read_timeout", "'tcp_read_timeout' must be between 1ms and 24h");
    } else {
      global.tcp_read_timeout_ms = static_cast<uint32_t>(timeout->count());
    }
  }
  if (auto bytes = reader.Integer("tcp_max_queued_bytes", 1024, kMaxTcpQueuedBytes)) {
    global.tcp_max_queued_bytes = static_cast<uint32_t>(*bytes);
  }
  if (auto payload = reader.Integer("udp_max_payload", 512, 4096)) {
    global.udp_max_payload = static_cast<uint16_t>(*payload);
  }
  if (auto level = reader.String("log_level")) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) == kLogLevels.end()) {
      reader.AddError("log_level", "'log_level' must be one of debug, info, warning, error");
    } else {
      global.log_level = *level;
    }
  }
  if (auto user = reader.String("user")) {
    if (user->empty()) {
      reader.AddError("user", "'user' must not be empty");
    } else {
      global.user = *user;
    }
  }
  if (auto group = reader.String("group")) {
    if (group->empty()) {
      reader.AddError("group", "'group' must not be empty");
    } else {
      global.group = *group;
    }
  }
  if (!global.group.empty() && global.user.empty()) {
    reader.AddError("group", "'group' needs 'user'");
  }
  if (const toml::table* rrl = reader.Table("rrl")) ReadRrl(*rrl, file, global.rrl, problems);
  problems.Merge(reader.TakeProblems());
}

void ReadListen(const toml::table& table, TableReader& reader, const std::string& file,
                ServerBlock& block, Problems& problems) {
  const std::optional<std::vector<std::string>> listen = reader.StringArray("listen", true);
  if (!listen) return;
  if (listen->empty()) {
    reader.AddError("listen", "'listen' must not be empty");
    return;
  }
  const toml::array& nodes = *table.get_as<toml::array>("listen");
  for (size_t i = 0; i < listen->size(); ++i) {
    const SourcePosition position = PositionOf(nodes[i], file);
    Result<ListenAddress> address = ParseListenAddress((*listen)[i]);
    if (!address) {
      problems.Add(position,
                   "invalid listen address '" + (*listen)[i] + "': " + address.error().message);
      continue;
    }
    const bool duplicate =
        std::any_of(block.listen.begin(), block.listen.end(),
                    [&](const ListenAddress& seen) { return SameListenAddress(seen, *address); });
    if (duplicate) {
      problems.Add(position, "duplicate listen address '" + (*listen)[i] + "'");
      continue;
    }
    block.listen.push_back(*std::move(address));
  }
}

void ReadZones(const toml::table& table, TableReader& reader, const std::string& file,
               ServerBlock& block, BlockPositions& positions, Problems& problems) {
  const std::optional<std::vector<std::string>> zones = reader.StringArray("zones", true);
  if (!zones) return;
  if (zones->empty()) {
    reader.AddError("zones", "'zones' must not be empty");
    return;
  }
  const toml::array& nodes = *table.get_as<toml::array>("zones");
  for (size_t i = 0; i < zones->size(); ++i) {
    const SourcePosition position = PositionOf(nodes[i], file);
    Result<std::string> name = NormalizeZoneName((*zones)[i]);
    if (!name) {
      problems.Add(position, name.error().message);
      continue;
    }
    const auto seen = std::find(block.zones.begin(), block.zones.end(), *name);
    if (seen != block.zones.end()) {
      const SourcePosition& first = positions.zones[seen - block.zones.begin()];
      problems.Add(position,
                   "duplicate zone '" + *name + "' (first listed at " + first.ToString() + ")");
      continue;
    }
    block.zones.push_back(*std::move(name));
    positions.zones.push_back(position);
  }
}

void ReadServer(const toml::table& table, size_t index, const std::string& file, ServerBlock& block,
                BlockPositions& positions, Problems& problems) {
  block.index = index;
  block.position = PositionOf(table, file);
  // Context "[server]" makes the unknown-key message read "... in [[server]]".
  TableReader reader(table, "[server]", file);
  ReadListen(table, reader, file, block, problems);
  ReadZones(table, reader, file, block, positions, problems);
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();
    if (name == "listen" || name == "zones") continue;
    const bool known =
        std::find(kKnownPlugins.begin(), kKnownPlugins.end(), name) != kKnownPlugins.end();
    if (!value.is_table()) {
      // Left for the reader: "unknown key 'foo' in [[server]]", unless it names a plugin.
      if (known) {
        reader.AddError(name, "plugin '" + std::string(name) + "' must be a table ([server." +
                                  std::string(name) + "])");
      }
      continue;
    }
    if (!known) {
      reader.AddError(name, "unknown plugin '" + std::string(name) + "' in [[server]]");
      continue;
    }
    block.plugins.emplace(std::string(name), reader.Table(name));
  }
  problems.Merge(reader.TakeProblems());
}

// The same zone in two blocks that share a listen address would make routing ambiguous.
void CheckSharedAddresses(const std::vector<ServerBlock>& servers,
                          const std::vector<BlockPositions>& positions, Problems& problems) {
  for (size_t j = 0; j < servers.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const ListenAddress* shared = nullptr;
      for (const ListenAddress& a : servers[i].listen) {
        for (const ListenAddress& b : servers[j].listen) {
          if (SameListenAddress(a, b)) shared = &b;
        }
      }
      if (shared == nullptr) continue;
      for (size_t zj = 0; zj < servers[j].zones.size(); ++zj) {
        const auto& zones_i = servers[i].zones;
        const auto it = std::find(zones_i.begin(), zones_i.end(), servers[j].zones[zj]);
        if (it == zones_i.end()) continue;
        const SourcePosition& first = positions[i].zones[it - zones_i.begin()];
        problems.Add(positions[j].zones[zj],
                     "zone '" + *it + "' is also served at " + first.ToString() +
                         " by another [[server]] block on the shared listen address '" +
                         shared->text + "'");
      }
    }
  }
}

// Reads everything it can into a Config and records every problem; blocks with problems are kept
// as far as they could be read, so `petdns check` can still check their plugins.
Config Validate(std::shared_ptr<const toml::table> document, const std::string& path,
                Problems& problems) {
  Config config;
  config.path = path;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  config.directory = parent.empty() ? "." : parent.string();
  config.document = std::move(document);

  const toml::table& root = *config.document;
  std::vector<BlockPositions> positions;
  bool have_servers = false;
  for (const auto& [key, value] : root) {
    const std::string_view name = key.str();
    if (name == "global") {
      if (const toml::table* global = value.as_table()) {
        ReadGlobal(*global, path, config.global, problems);
      } else {
        problems.Add(PositionOf(value, path), "'global' must be a table ([global])");
      }
    } else if (name == "server") {
      const toml::array* servers = value.as_array();
      if (servers != nullptr && servers->empty()) continue;  // "at least one" is reported below
      if (servers == nullptr || !servers->is_array_of_tables()) {
        problems.Add(PositionOf(value, path), "'server' must be an array of tables ([[server]])");
        have_servers = true;  // reported already; "at least one" would only repeat it
        continue;
      }
      have_servers = true;
      for (const toml::node& node : *servers) {
        ServerBlock& block = config.servers.emplace_back();
        ReadServer(*node.as_table(), config.servers.size() - 1, path, block,
                   positions.emplace_back(), problems);
      }
    } else {
      problems.Add(PositionOf(value, path), "unknown top-level key '" + std::string(name) +
                                                "' (expected [global] or "
                                                "[[server]])");
    }
  }
  if (!have_servers) {
    problems.Add(SourcePosition{path, 0, 0}, "at least one [[server]] block is required");
  }
  CheckSharedAddresses(config.servers, positions, problems);
  return config;
}

Result<std::shared_ptr<const toml::table>> ParseToml(std::string_view text,
                                                     const std::string& path) {
  try {
    return std::make_shared<const toml::table>(toml::parse(text, path));
  } catch (const toml::parse_error& e) {
    const toml::source_position& begin = e.source().begin;
    const SourcePosition position{path, begin.line, begin.line == 0 ? 0 : begin.column};
    return MakeError(ErrorCode::kParse, position.ToString() + ": " + std::string(e.description()));
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  // A directory opens fine on Linux and fails on the first read (EISDIR).
  if (in.bad() || text.fail()) {
    const int error = errno;
    return MakeError(ErrorCode::kIo, "cannot read " + path + ": " +
                                         (error != 0 ? std::strerror(error) : "read failed"));
  }
  return text.str();
}

}  // namespace

std::string SourcePosition::ToString() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Result<Config> LoadConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return text.error();
  return LoadConfigFromString(*text, path);
}

Result<Config> LoadConfigFromString(std::string_view text, const std::string& path) {
  auto document = ParseToml(text, path);
  if (!document) return document.error();
  Problems problems;
  Config config = Validate(std::move(*document), path, problems);
  if (!problems.empty()) return problems.ToError();
  return config;
}

CheckedConfig LoadConfigForCheck(const std::string& path) {
  CheckedConfig out;
  out.config.path = path;
  auto text = ReadFile(path);
  if (!text) {
    out.errors = text.error().message;
    return out;
  }
  auto document = ParseToml(*text, path);
  if (!document) {
    out.errors = document.error().message;
    return out;
  }
  Problems problems;
  out.config = Validate(std::move(*document), path, problems);
  if (!problems.empty()) out.errors = problems.ToError().message;
  return out;
}

Result<std::string> NormalizeZoneName(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid zone name '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty()) return invalid("empty name");
  if (text == ".") return std::string(".");
  std::string name;
  name.reserve(text.size() + 1);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    // No master-file escapes here: "\." or "\032" would change what the labels are.
    if (byte <= ' ' || byte == 0x7f || c == '\\') return invalid("unsupported character");
    name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (name.back() != '.') name += '.';
  size_t wire_length = 1;  // the root label
  size_t label_begin = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '.') continue;
    const size_t length = i - label_begin;
    if (length == 0) return invalid("empty label");
    if (length > 63) return invalid("label longer than 63 bytes");
    wire_length += length + 1;
    label_begin = i + 1;
  }
  if (wire_length > 255) return invalid("name longer than 255 bytes");
  return name;
}

}  // namespace petdns::config
