// `petdns convert-corefile [--output FILE] COREFILE`: the command-line front end of
// corefile_to_toml.h. Reads the Corefile, writes the TOML, lists what was not converted on stderr.
// Main thread.
#pragma once

#include <string_view>
#include <vector>

namespace petdns::corefile {

extern const std::string_view kConvertCorefileHelp;

// `args` are the words after "convert-corefile". Returns the exit code: 0 all converted, 1 the
// TOML was written but something was not converted, 2 usage error, unreadable or unparsable
// Corefile, or unwritable output.
int RunConvertCorefile(const std::vector<std::string_view>& args);

}  // namespace petdns::corefile
