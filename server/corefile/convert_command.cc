#include "server/corefile/convert_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "server/corefile/corefile_to_toml.h"

namespace petdns::corefile {

const std::string_view kConvertCorefileHelp =
    "Usage: petdns convert-corefile [--output FILE] COREFILE\n"
    "\n"
    "Converts a CoreDNS Corefile (kubernetes, file, hosts, cache, forward, prometheus,\n"
    "health, ready, log, errors, reload, bind) into an equivalent petdns.toml, written to\n"
    "stdout. Every directive or option petdns cannot express is named on stderr as\n"
    "  COREFILE:LINE: DIRECTIVE: not converted (REASON)\n"
    "and left in the TOML as a '# not converted: ...' comment. COREFILE '-' reads stdin.\n"
    "\n"
    "Placeholders are kept as text and reported: CoreDNS's {$VAR} and {%VAR%}, and the\n"
    "__PILLAR__NAME__ values of the NodeLocal DNSCache manifest. Substitute those first, e.g.\n"
    "  sed -e s/__PILLAR__DNS__DOMAIN__/cluster.local/g \\\n"
    "      -e s/__PILLAR__LOCAL__DNS__/169.254.20.10/g \\\n"
    "      -e s/__PILLAR__DNS__SERVER__/10.96.0.10/g \\\n"
    "      -e s/__PILLAR__CLUSTER__DNS__/10.96.0.11/g \\\n"
    "      -e s,__PILLAR__UPSTREAM__SERVERS__,/etc/resolv.conf,g Corefile > Corefile.local\n"
    "(DNS__SERVER: the kube-dns Service IP; CLUSTER__DNS: the kube-dns-upstream Service IP.)\n"
    "Then validate the result with 'petdns check --config petdns.toml'.\n"
    "\n"
    "Exit status:\n"
    "  0  everything was converted\n"
    "  1  the TOML was written, but something was not converted (listed on stderr)\n"
    "  2  bad usage, or a Corefile that cannot be read or parsed (FILE:LINE: reason)\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write the TOML to FILE instead of stdout\n"
    "  -h, --help          show this help\n";

namespace {

void Print(FILE* out, std::string_view text) { std::fwrite(text.data(), 1, text.size(), out); }

int UsageError(const std::string& message) {
  std::fprintf(stderr, "petdns: %s\n\n", message.c_str());
  Print(stderr, kConvertCorefileHelp);
  return 2;
}

bool ReadInput(const std::string& path, std::string& text) {
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return !std::cin.bad();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad() || buffer.fail()) return false;  // a directory opens, then fails to read
  text = buffer.str();
  return true;
}

}  // namespace

int RunConvertCorefile(const std::vector<std::string_view>& args) {
  std::string input;
  std::string output;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "-h" || a == "--help" || a == "-help") {
      Print(stdout, kConvertCorefileHelp);
      return 0;
    }
    if (a == "-o" || a == "--output" || a == "-output") {
      if (i + 1 >= args.size()) return UsageError(std::string(a) + " needs a value");
      output = std::string(args[++i]);
    } else if (a.starts_with("--output=")) {
      output = std::string(a.substr(9));
    } else if (a.starts_with("-") && a != "-") {
      return UsageError("unknown option '" + std::string(a) + "'");
    } else if (!input.empty()) {
      return UsageError("one COREFILE only ('" + input + "' and '" + std::string(a) + "')");
    } else {
      input = std::string(a);
    }
  }
  if (input.empty()) return UsageError("COREFILE is required");

  std::string text;
  if (!ReadInput(input, text)) {
    const int error = errno;
    std::fprintf(stderr, "petdns: cannot read %s: %s\n", input.c_str(),
                 error != 0 ? std::strerror(error) : "read failed");
    return 2;
  }
  const std::string name = input == "-" ? "<stdin>" : input;
  auto conversion = ConvertCorefile(text, name);
  if (!conversion) {
    std::fprintf(stderr, "%s\n", conversion.error().message.c_str());
    return 2;
  }
  if (output.empty()) {
    Print(stdout, conversion->toml);
    std::fflush(stdout);
  } else {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out << conversion->toml;
    out.close();
    if (!out) {
      std::fprintf(stderr, "petdns: cannot write %s: %s\n", output.c_str(), std::strerror(errno));
      return 2;
    }
  }
  for (const Issue& issue : conversion->issues) {
    std::fprintf(stderr, "%s\n", FormatIssue(name, issue).c_str());
  }
  return conversion->issues.empty() ? 0 : 1;
}

}  // namespace petdns::corefile
