// Test helper: a tiny blocking HTTP/1.1 server on 127.0.0.1:<ephemeral port>. Every connection is
// served on its own thread by a scripted handler that writes raw bytes, so tests can produce
// chunked streams, split events, truncated bodies, stalls and resets. One request per connection
// (responses should say "Connection: close"). Thread-safe; the handler runs on server threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace petdns::http::testing {

struct TestRequest {
  std::string method;
  std::string target;                          // "/api/v1/services?limit=500"
  std::string path;                            // "/api/v1/services"
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::chrono::steady_clock::time_point received;

  bool Has(const std::string& key) const { return query.count(key) != 0; }
  std::string Query(const std::string& key) const;
  std::string Header(const std::string& name) const;
};

class TestConnection {
 public:
  explicit TestConnection(int fd, const std::atomic<bool>* stopping)
      : fd_(fd), stopping_(stopping) {}
  // Writes all bytes; false once the peer is gone.
  bool Write(std::string_view data);
  // A complete response with Content-Length and "Connection: close".
  bool Respond(int status, std::string_view body,
               const std::vector<std::string>& extra_headers = {},
               std::string_view content_type = "application/json");
  // Status line and headers of a chunked response.
  bool StartChunked(int status = 200);
  bool Chunk(std::string_view data);  // one chunk (empty data is skipped)
  bool EndChunked();                  // the zero-length chunk
  // Blocks until the client closes the connection, the server stops, or `timeout` passes.
  // Returns true if the client closed.
  bool WaitForClientClose(std::chrono::milliseconds timeout);
  // Closes with a TCP reset (SO_LINGER 0) instead of a FIN.
  void Reset();
  bool was_reset() const { return reset_; }

 private:
  int fd_;
  const std::atomic<bool>* stopping_;
  bool reset_ = false;
};

class TestHttpServer {
 public:
  using Handler = std::function<void(const TestRequest&, TestConnection&)>;

  // Binds and starts accepting; aborts the test binary if it cannot bind loopback.
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();  // stops accepting, unblocks and joins every connection thread
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Every request received so far, in arrival order.
  std::vector<TestRequest> requests() const;
  size_t request_count() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace petdns::http::testing
