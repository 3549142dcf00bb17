// petdns: `petdns serve|check|convert-corefile|peer-finder|version`. Each subcommand prints its
// own --help.
// Invoked as `peer-finder` (argv[0]'s basename), the binary is the peer-finder client.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "client/main_peer_finder.h"
#include "server/app/server.h"
#include "server/common/log.h"
#include "server/config/config.h"
#include "server/corefile/convert_command.h"

namespace {

constexpr std::string_view kUsage =
    "petdns: an authoritative DNS server for stateful workloads on Kubernetes\n"
    "\n"
    "Usage:\n"
    "  petdns serve --config FILE   serve DNS as FILE (TOML) says, until SIGTERM/SIGINT\n"
    "  petdns check --config FILE   validate FILE and all data it names, print every error\n"
    "  petdns convert-corefile FILE\n"
    "                               write a CoreDNS Corefile as petdns.toml (stdout), naming\n"
    "                               every directive that could not be converted\n"
    "  petdns peer-finder [flags]   find StatefulSet peers in DNS and run scripts on changes\n"
    "                               (also installed as `peer-finder`; see docs/peer-finder.md)\n"
    "  petdns version               print the version\n"
    "\n"
    "Run 'petdns COMMAND --help' for a command's options.\n";

constexpr std::string_view kServeHelp =
    "Usage: petdns serve --config FILE\n"
    "\n"
    "Serves DNS on the addresses and zones FILE configures. SIGHUP, or an edit of FILE,\n"
    "reloads the whole configuration (a configuration that does not load is logged and\n"
    "the running one stays);\n"
    "SIGTERM or SIGINT stops the server gracefully.\n"
    "\n"
    "Options:\n"
    "  --config FILE   the TOML configuration (required)\n"
    "  -h, --help      show this help\n";

constexpr std::string_view kCheckHelp =
    "Usage: petdns check --config FILE\n"
    "\n"
    "Loads FILE and every zone or data file it names without opening sockets.\n"
    "Exits 0 when all is valid; otherwise prints every problem as file:line: message\n"
    "and exits 1.\n"
    "\n"
    "Options:\n"
    "  --config FILE   the TOML configuration (required)\n"
    "  -h, --help      show this help\n";

constexpr std::string_view kVersionHelp = "Usage: petdns version\n\nPrints the petdns version.\n";

void Print(FILE* out, std::string_view text) { std::fwrite(text.data(), 1, text.size(), out); }

// Options shared by serve and check. Returns an exit code >= 0 to stop, or -1 to go on.
struct CommonOptions {
  std::string config;
};

int ParseOptions(const std::vector<std::string_view>& args, std::string_view help,
                 CommonOptions& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-h" || a == "--help" || a == "-help") {
      Print(stdout, help);
      return 0;
    }
    if (a == "--config" || a == "-config" || a == "-c") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "petdns: %.*s needs a value\n", int(a.size()), a.data());
        return 2;
      }
      out.config = std::string(args[++i]);
    } else if (a.starts_with("--config=")) {
      out.config = std::string(a.substr(9));
    } else {
      std::fprintf(stderr, "petdns: unknown option '%.*s'\n\n", int(a.size()), a.data());
      Print(stderr, help);
      return 2;
    }
  }
  if (out.config.empty()) {
    std::fprintf(stderr, "petdns: --config FILE is required\n\n");
    Print(stderr, help);
    return 2;
  }
  return -1;
}

void SetLogLevel(const std::string& level) {
  using petdns::log::Level;
  if (level == "debug") petdns::log::SetLevel(Level::kDebug);
  if (level == "info") petdns::log::SetLevel(Level::kInfo);
  if (level == "warning") petdns::log::SetLevel(Level::kWarning);
  if (level == "error") petdns::log::SetLevel(Level::kError);
}

int Serve(const std::vector<std::string_view>& args) {
  CommonOptions options;
  if (int rc = ParseOptions(args, kServeHelp, options); rc >= 0) return rc;
  auto config = petdns::config::LoadConfig(options.config);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  SetLogLevel(config->global.log_level);
  auto server = petdns::app::Server::Create(std::move(*config));
  if (!server) {
    std::fprintf(stderr, "%s\n", server.error().message.c_str());
    return 1;
  }
  petdns::log::Info("server", "petdns " PETDNS_VERSION " started");
  return (*server)->Run();
}

int Check(const std::vector<std::string_view>& args) {
  CommonOptions options;
  if (int rc = ParseOptions(args, kCheckHelp, options); rc >= 0) return rc;
  petdns::Status status = petdns::app::CheckConfig(options.config);
  if (!status) {
    std::fprintf(stderr, "%s\n", status.error().message.c_str());
    return 1;
  }
  std::printf("%s: OK\n", options.config.c_str());
  return 0;
}

int Version(const std::vector<std::string_view>& args) {
  for (std::string_view a : args) {
    if (a == "-h" || a == "--help") {
      Print(stdout, kVersionHelp);
      return 0;
    }
  }
  std::printf("petdns %s\n", PETDNS_VERSION);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 0 && argv[0] != nullptr) {
    std::string_view self = argv[0];
    if (self.substr(self.rfind('/') + 1) == "peer-finder") {
      return petdns::client::RunPeerFinder(argc, argv);
    }
  }
  if (argc < 2) {
    Print(stderr, kUsage);
    return 2;
  }
  std::string_view command = argv[1];
  std::vector<std::string_view> args(argv + 2, argv + argc);
  if (command == "serve") return Serve(args);
  if (command == "check") return Check(args);
  if (command == "convert-corefile") return petdns::corefile::RunConvertCorefile(args);
  if (command == "peer-finder") return petdns::client::RunPeerFinder(argc - 1, argv + 1);
  if (command == "version" || command == "--version") return Version(args);
  if (command == "-h" || command == "--help" || command == "help") {
    Print(stdout, kUsage);
    return 0;
  }
  std::fprintf(stderr, "petdns: unknown command '%.*s'\n\n", int(command.size()), command.data());
  Print(stderr, kUsage);
  return 2;
}
