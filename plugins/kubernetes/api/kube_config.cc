#include "plugins/kubernetes/api/kube_config.h"

// yaml-cpp 0.7's node/impl.h trips GCC 12's -Wdangling-pointer (a false positive in the library).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <yaml-cpp/yaml.h>
#pragma GCC diagnostic pop

#include <array>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace petdns::plugins::kubernetes::api {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Reads one field of a kubeconfig, remembering where it is for error messages.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Error Fail(const std::string& field, const std::string& what) const {
    return Error{ErrorCode::kInvalidArgument, "kubeconfig " + file_ + ": " + field + ": " + what};
  }

  // A scalar string, "" when absent or null.
  Result<std::string> String(const YAML::Node& node, const std::string& key,
                             const std::string& field) const {
    YAML::Node v = node[key];
    if (!v.IsDefined() || v.IsNull()) return std::string();
    if (!v.IsScalar()) return Fail(field, "must be a string");
    return v.Scalar();
  }

  Result<bool> Bool(const YAML::Node& node, const std::string& key,
                    const std::string& field) const {
    YAML::Node v = node[key];
    if (!v.IsDefined() || v.IsNull()) return false;
    bool out = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, out)) {
      return Fail(field, "must be true or false");
    }
    return out;
  }

  // The `inner` map of the entry named `name` in the list `list` (clusters, users, contexts).
  Result<YAML::Node> Named(const YAML::Node& root, const std::string& list, const std::string& name,
                           const std::string& inner) const {
    YAML::Node seq = root[list];
    if (!seq.IsDefined() || seq.IsNull()) return Fail(list, "missing");
    if (!seq.IsSequence()) return Fail(list, "must be a list");
    for (size_t i = 0; i < seq.size(); ++i) {
      YAML::Node entry = seq[i];
      if (!entry.IsMap()) continue;
      YAML::Node n = entry["name"];
      if (n.IsDefined() && n.IsScalar() && n.Scalar() == name) {
        YAML::Node v = entry[inner];
        if (!v.IsDefined() || v.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!v.IsMap()) return Fail(list + "[" + name + "]." + inner, "must be a map");
        return v;
      }
    }
    return Fail(list, "no entry named \"" + name + "\"");
  }

  // A path field made absolute against the kubeconfig's folder.
  std::string Resolve(const std::string& path) const {
    if (path.empty()) return path;
    fs::path p(path);
    if (p.is_absolute()) return path;
    return (fs::path(file_).parent_path() / p).lexically_normal().string();
  }

  // `data_key` (base64, wins) or `path_key` (made absolute) into *pem / *file.
  Status DataOrPath(const YAML::Node& node, const std::string& data_key,
                    const std::string& path_key, const std::string& where, std::string* pem,
                    std::string* file) const {
    auto data = String(node, data_key, where + "." + data_key);
    if (!data) return data.error();
    if (!data->empty()) {
      auto decoded = DecodeBase64(*data);
      if (!decoded) return Fail(where + "." + data_key, decoded.error().message);
      *pem = std::move(*decoded);
      return {};
    }
    auto path = String(node, path_key, where + "." + path_key);
    if (!path) return path.error();
    *file = Resolve(*path);
    return {};
  }

 private:
  std::string file_;
};

Result<ApiEndpoint> ParseKubeconfig(const std::string& path, const YAML::Node& root) {
  Reader r(path);
  if (!root.IsMap()) return r.Fail("(document)", "not a kubeconfig map");
  auto context_name = r.String(root, "current-context", "current-context");
  if (!context_name) return context_name.error();
  if (context_name->empty()) return r.Fail("current-context", "not set");
  auto context = r.Named(root, "contexts", *context_name, "context");
  if (!context) return context.error();
  const std::string ctx_field = "contexts[" + *context_name + "].context";
  auto cluster_name = r.String(*context, "cluster", ctx_field + ".cluster");
  if (!cluster_name) return cluster_name.error();
  if (cluster_name->empty()) return r.Fail(ctx_field + ".cluster", "missing");
  auto user_name = r.String(*context, "user", ctx_field + ".user");
  if (!user_name) return user_name.error();

  ApiEndpoint ep;
  ep.source = "kubeconfig " + path + " (context " + *context_name + ")";
  auto cluster = r.Named(root, "clusters", *cluster_name, "cluster");
  if (!cluster) return cluster.error();
  const std::string cl = "clusters[" + *cluster_name + "].cluster";
  auto server = r.String(*cluster, "server", cl + ".server");
  if (!server) return server.error();
  if (server->empty()) return r.Fail(cl + ".server", "missing");
  if (!server->starts_with("https://") && !server->starts_with("http://")) {
    return r.Fail(cl + ".server", "\"" + *server + "\" is not an http(s) URL");
  }
  ep.server_url = *server;
  while (ep.server_url.ends_with('/')) ep.server_url.pop_back();
  if (auto st = r.DataOrPath(*cluster, "certificate-authority-data", "certificate-authority", cl,
                             &ep.tls.ca_pem, &ep.tls.ca_file);
      !st) {
    return st.error();
  }
  auto insecure = r.Bool(*cluster, "insecure-skip-tls-verify", cl + ".insecure-skip-tls-verify");
  if (!insecure) return insecure.error();
  ep.tls.insecure_skip_verify = *insecure;
  auto server_name = r.String(*cluster, "tls-server-name", cl + ".tls-server-name");
  if (!server_name) return server_name.error();
  ep.tls.server_name = *server_name;

  if (user_name->empty()) return ep;  // no credentials (e.g. a local test apiserver)
  auto user = r.Named(root, "users", *user_name, "user");
  if (!user) return user.error();
  const std::string us = "users[" + *user_name + "].user";
  auto token = r.String(*user, "token", us + ".token");
  if (!token) return token.error();
  ep.token = *token;
  auto token_file = r.String(*user, "tokenFile", us + ".tokenFile");
  if (!token_file) return token_file.error();
  ep.token_file = r.Resolve(*token_file);
  if (auto st = r.DataOrPath(*user, "client-certificate-data", "client-certificate", us,
                             &ep.tls.client_cert_pem, &ep.tls.client_cert_file);
      !st) {
    return st.error();
  }
  if (auto st = r.DataOrPath(*user, "client-key-data", "client-key", us, &ep.tls.client_key_pem,
                             &ep.tls.client_key_file);
      !st) {
    return st.error();
  }
  const bool has_cert = !ep.tls.client_cert_pem.empty() || !ep.tls.client_cert_file.empty();
  const bool has_key = !ep.tls.client_key_pem.empty() || !ep.tls.client_key_file.empty();
  if (has_cert != has_key) {
    return r.Fail(us, "client-certificate and client-key must be given together");
  }
  const bool has_auth = !ep.token.empty() || !ep.token_file.empty() || has_cert;
  for (const char* unsupported : {"exec", "auth-provider"}) {
    YAML::Node v = (*user)[unsupported];
    if (!has_auth && v.IsDefined() && !v.IsNull()) {
      return r.Fail(us + "." + unsupported,
                    "credential plugins are not supported; use token, tokenFile or "
                    "client-certificate/client-key");
    }
  }
  return ep;
}

}  // namespace

ApiConfigInputs ApiConfigInputs::FromEnvironment(std::string kubeconfig) {
  ApiConfigInputs in;
  in.kubeconfig = std::move(kubeconfig);
  in.kubeconfig_env = Env("KUBECONFIG");
  in.service_host = Env("KUBERNETES_SERVICE_HOST");
  in.service_port = Env("KUBERNETES_SERVICE_PORT");
  return in;
}

Result<ApiEndpoint> ResolveApiEndpoint(const ApiConfigInputs& inputs) {
  if (!inputs.kubeconfig.empty()) return LoadKubeconfig(inputs.kubeconfig);
  std::string_view list = inputs.kubeconfig_env;
  while (!list.empty()) {
    size_t colon = list.find(':');
    std::string_view first = list.substr(0, colon);
    if (!first.empty()) return LoadKubeconfig(std::string(first));
    if (colon == std::string_view::npos) break;
    list.remove_prefix(colon + 1);
  }
  if (!inputs.service_host.empty() || !inputs.service_port.empty()) {
    return InClusterEndpoint(inputs.service_host, inputs.service_port, inputs.service_account_dir);
  }
  return MakeError(ErrorCode::kNotFound,
                   "no Kubernetes API configured: set kubeconfig, KUBECONFIG or run in a pod");
}

Result<ApiEndpoint> LoadKubeconfig(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kNotFound, "kubeconfig " + path + ": cannot open file");
    }
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node root = YAML::Load(text.str());
    return ParseKubeconfig(path, root);
  } catch (const YAML::Exception& e) {
    std::string where = "kubeconfig " + path;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return MakeError(ErrorCode::kParse, where + ": " + e.msg);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kIo, "kubeconfig " + path + ": " + e.what());
  }
}

Result<ApiEndpoint> InClusterEndpoint(const std::string& host, const std::string& port,
                                      const std::string& service_account_dir) {
  if (host.empty() || port.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be "
                     "set");
  }
  ApiEndpoint ep;
  ep.source = "in-cluster";
  const bool ipv6 = host.find(':') != std::string::npos && !host.starts_with('[');
  ep.server_url = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  const std::string dir =
      service_account_dir.ends_with('/') ? service_account_dir : service_account_dir + "/";
  ep.token_file = dir + "token";
  std::ifstream token(ep.token_file);
  if (!token) {
    return MakeError(ErrorCode::kNotFound, "in-cluster: cannot read token file " + ep.token_file);
  }
  std::error_code ec;
  // Like client-go: without a readable ca.crt, fall back to the system CAs (and fail to verify,
  // loudly, at the first request) rather than refusing to start.
  if (std::filesystem::is_regular_file(dir + "ca.crt", ec)) ep.tls.ca_file = dir + "ca.crt";
  return ep;
}

Result<std::string> DecodeBase64(std::string_view text) {
  static constexpr std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < kAlphabet.size(); ++i) {
      t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
    }
    return t;
  }();
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int8_t v = kTable[static_cast<unsigned char>(c)];
    if (v < 0 || padding) {
      return MakeError(ErrorCode::kParse, "invalid base64");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return MakeError(ErrorCode::kParse, "invalid base64 (truncated)");
  return out;
}

}  // namespace petdns::plugins::kubernetes::api
