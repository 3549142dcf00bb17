// Abstract asynchronous HTTP client for the main loop (control plane: the Kubernetes API). No
// libuv or libcurl types here; server/uv/curl_client.h implements it over a CURLM multi handle.
// Every method is called, and every callback runs, on the thread of the loop that drives the
// client. Bodies are streamed: a watch response never ends on its own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/error.h"

namespace petdns::http {

// How to verify the server and authenticate to it. For each of CA, client certificate and key
// the in-memory PEM (`*_pem`) wins over the file; both empty means "system default" for the CA
// and "none" for the client certificate.
struct TlsOptions {
  std::string ca_file;
  std::string ca_pem;
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;
  bool insecure_skip_verify = false;  // no peer or host name verification (never in production)
  std::string server_name;            // verify (and send SNI for) this name instead of the URL host
};

struct HttpRequest {
  std::string url;                   // http:// or https://; GET only
  std::vector<std::string> headers;  // complete lines without CRLF: "Authorization: Bearer …"
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{10'000};
  // Fails the call when no byte (header or body) arrived for this long, counting from the start
  // of the call. 0 = no limit.
  std::chrono::milliseconds low_speed_timeout{0};
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Called in this order: on_headers once (when the final response header block is complete; names
// are lower-cased, values trimmed), on_body zero or more times, then on_done exactly once. A
// transport failure may skip on_headers/on_body. Any callback may be empty.
struct HttpCallbacks {
  std::function<void(int status, const HeaderList& headers)> on_headers;
  std::function<void(std::string_view chunk)> on_body;
  // OK once the whole response was received (whatever the HTTP status); an Error for transport
  // failures: connect, TLS, reset, truncated body, low-speed timeout.
  std::function<void(Status done)> on_done;
};

// One transfer. Destroying it cancels the transfer; no callback runs after that. Destroying it
// from inside one of its own callbacks (or another call's) is allowed.
class HttpCall {
 public:
  virtual ~HttpCall() = default;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Starts a GET. Never calls a callback before returning. A failure to even set the transfer up
  // (bad TLS blob, out of handles) is returned here and no callback ever runs.
  [[nodiscard]] virtual Result<std::unique_ptr<HttpCall>> Start(HttpRequest request,
                                                                HttpCallbacks callbacks) = 0;
};

// Returns the value of the first header named `name` (lower-case), or nullptr.
inline const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace petdns::http
