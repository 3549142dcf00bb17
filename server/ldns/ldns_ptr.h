// Owning pointers for ldns objects: take ownership right after the out-parameter call, before any
// return, so every path frees them. Include only from zones/, server/ldns/ and tests/.
#pragma once

// <stdbool.h> first: without it ldns/common.h #defines bool, true and false, breaking C++.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <cstdlib>
#include <memory>

#include "server/common/error.h"

namespace petdns::ldns {

template <auto F>
struct CFree {
  void operator()(auto* p) const noexcept { F(p); }
};

using LdnsRr = std::unique_ptr<ldns_rr, CFree<ldns_rr_free>>;
using LdnsRdf = std::unique_ptr<ldns_rdf, CFree<ldns_rdf_deep_free>>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, CFree<ldns_buffer_free>>;
using LdnsPkt = std::unique_ptr<ldns_pkt, CFree<ldns_pkt_free>>;

// Memory that ldns hands out through malloc (ldns_pkt2wire, ldns_rr2str).
struct MallocFree {
  void operator()(void* p) const noexcept { std::free(p); }
};
template <class T>
using MallocPtr = std::unique_ptr<T, MallocFree>;

inline Error LdnsError(ldns_status status, std::string_view what) {
  return Error{ErrorCode::kParse, std::string(what) + ldns_get_errorstr_by_id(status)};
}

}  // namespace petdns::ldns
