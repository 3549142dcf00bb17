// Invariant checks. PETDNS_CHECK always aborts when continuing would corrupt state; PETDNS_DCHECK
// only in debug builds. Never use either on network or config input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define PETDNS_CHECK(cond)                                                          \
  do {                                                                              \
    if (!(cond)) [[unlikely]] {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

#ifdef NDEBUG
#define PETDNS_DCHECK(cond) \
  do {                      \
  } while (false && (cond))
#else
#define PETDNS_DCHECK(cond) PETDNS_CHECK(cond)
#endif
