// Where the Kubernetes API is and how to authenticate to it: a kubeconfig file (explicit path or
// $KUBECONFIG) or the in-cluster service account. Startup only (reads small local files); call it
// from the main thread before the loop runs.
#pragma once

#include <string>

#include "server/common/error.h"
#include "server/http/http_client.h"

namespace petdns::plugins::kubernetes::api {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ApiEndpoint {
  std::string server_url;  // "https://10.96.0.1:443", no trailing slash
  http::TlsOptions tls;
  std::string token;       // static bearer token (may be empty)
  std::string token_file;  // re-read periodically; wins over `token` when readable
  std::string source;      // for logs: "kubeconfig /path (context dev)" or "in-cluster"
};

// Everything resolution looks at, so tests need not touch the process environment.
struct ApiConfigInputs {
  std::string kubeconfig;      // the plugin's `kubeconfig` option (absolute or empty)
  std::string kubeconfig_env;  // $KUBECONFIG
  std::string service_host;    // $KUBERNETES_SERVICE_HOST
  std::string service_port;    // $KUBERNETES_SERVICE_PORT
  std::string service_account_dir = kServiceAccountDir;

  // `kubeconfig` plus the three environment variables of this process.
  static ApiConfigInputs FromEnvironment(std::string kubeconfig);
};

// Resolution order: `kubeconfig` → first entry of $KUBECONFIG → in-cluster → error
// "no Kubernetes API configured: set kubeconfig, KUBECONFIG or run in a pod".
[[nodiscard]] Result<ApiEndpoint> ResolveApiEndpoint(const ApiConfigInputs& inputs);

// Reads a kubeconfig: current-context → cluster (server, certificate-authority[-data],
// insecure-skip-tls-verify, tls-server-name) and user (token, tokenFile, client-certificate[-data],
// client-key[-data]). *-data fields (base64) win over paths; relative paths are relative to the
// file's folder. Errors name the file and the field.
[[nodiscard]] Result<ApiEndpoint> LoadKubeconfig(const std::string& path);

// The in-cluster endpoint: https://<host>:<port> (IPv6 host in brackets), token file and ca.crt
// from `service_account_dir`.
[[nodiscard]] Result<ApiEndpoint> InClusterEndpoint(const std::string& host,
                                                    const std::string& port,
                                                    const std::string& service_account_dir);

// Decodes standard base64 (whitespace ignored, padding optional).
[[nodiscard]] Result<std::string> DecodeBase64(std::string_view text);

}  // namespace petdns::plugins::kubernetes::api
