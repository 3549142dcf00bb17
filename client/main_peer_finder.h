// Entry point of `petdns peer-finder` and of the binary when invoked as `peer-finder`: wires the
// real clock, DNS client, script runner, hostname and files into PeerFinderMain. Main thread.
#pragma once

namespace petdns::client {

// argv[0] is the program name used in the usage text; argv[1..] are the flags.
int RunPeerFinder(int argc, char** argv);

}  // namespace petdns::client
