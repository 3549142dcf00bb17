#include "plugins/metrics/dns_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <iterator>
#include <sstream>

#include "server/wire/name.h"

namespace petdns::plugins::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

struct TypeSlot {
  uint16_t code;
  std::string_view name;
};
// The types CoreDNS labels by name (plugin/metrics/vars/monitor.go), plus HTTPS/SVCB/CAA.
constexpr std::array<TypeSlot, 23> kTypes = {
    {{1, "A"},      {2, "NS"},     {5, "CNAME"},  {6, "SOA"},     {12, "PTR"},   {13, "HINFO"},
     {15, "MX"},    {16, "TXT"},   {28, "AAAA"},  {33, "SRV"},    {35, "NAPTR"}, {39, "DNAME"},
     {43, "DS"},    {46, "RRSIG"}, {47, "NSEC"},  {48, "DNSKEY"}, {50, "NSEC3"}, {64, "SVCB"},
     {65, "HTTPS"}, {251, "IXFR"}, {252, "AXFR"}, {255, "ANY"},   {257, "CAA"}}};
constexpr size_t kTypeSlots = kTypes.size() + 1;  // + "other"

constexpr std::array<std::string_view, 17> kRcodes = {
    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
    "RCODE12",  "RCODE13", "RCODE14",  "RCODE15",  "BADVERS"};
constexpr size_t kRcodeSlots = kRcodes.size() + 1;  // + "other"

// CoreDNS's buckets: duration ExponentialBuckets(0.00025, 2, 16); sizes from plugin/metrics/vars.
constexpr std::array<double, 16> kDurationBounds = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008,
                                                    0.016,   0.032,  0.064, 0.128, 0.256, 0.512,
                                                    1.024,   2.048,  4.096, 8.192};
constexpr std::array<double, 14> kSizeBounds = {0,    100,  200,  300,   400,   511,   1023,
                                                2047, 4095, 8291, 16000, 32000, 48000, 64000};
constexpr size_t kDurationSlots = kDurationBounds.size() + 1;  // + +Inf
constexpr size_t kSizeSlots = kSizeBounds.size() + 1;

size_t TypeIndex(uint16_t qtype) noexcept {
  for (size_t i = 0; i < kTypes.size(); ++i) {
    if (kTypes[i].code == qtype) return i;
  }
  return kTypes.size();
}

template <size_t N>
size_t BucketIndex(const std::array<double, N>& bounds, double value) noexcept {
  size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  return i;
}

std::unique_ptr<std::atomic<uint64_t>[]> Cells(size_t n) {
  auto cells = std::make_unique<std::atomic<uint64_t>[]>(n);
  for (size_t i = 0; i < n; ++i) cells[i].store(0, std::memory_order_relaxed);
  return cells;
}

inline void Add(std::atomic<uint64_t>& c, uint64_t v) noexcept {
  c.fetch_add(v, std::memory_order_relaxed);
}
inline uint64_t Load(const std::atomic<uint64_t>& c) noexcept {
  return c.load(std::memory_order_relaxed);
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

template <size_t N>
void AddHistogram(MetricFamily& family, std::vector<ClientMetric::Label> labels,
                  const std::array<double, N>& bounds, const std::atomic<uint64_t>* buckets,
                  double sum) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= N; ++i) {
    cumulative += Load(buckets[i]);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < N ? bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  if (cumulative == 0) return;
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  family.metric.push_back(std::move(m));
}

ClientMetric Sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

std::string_view Proto(size_t i) { return i == 0 ? "udp" : "tcp"; }

}  // namespace

std::string_view TypeName(uint16_t qtype) noexcept {
  size_t i = TypeIndex(qtype);
  return i < kTypes.size() ? kTypes[i].name : "other";
}

std::string_view RcodeName(uint16_t rcode) noexcept {
  return rcode < kRcodes.size() ? kRcodes[rcode] : "other";
}

BlockStats::BlockStats(std::string server, std::vector<std::string> zones,
                       std::vector<std::string> plugins)
    : server_(std::move(server)), zones_(std::move(zones)) {
  for (const std::string& zone : zones_) zone_labels_.push_back(wire::NameToText(zone));
  zone_labels_.emplace_back("unknown");
  plugins_.emplace_back();
  for (std::string& p : plugins) plugins_.push_back(std::move(p));
  z_ = zones_.size() + 1;
  p_ = plugins_.size();
  requests_ = Cells(z_ * 2 * 2 * kTypeSlots);
  responses_ = Cells(z_ * kRcodeSlots * p_);
  duration_ = Cells(z_ * kTypeSlots * kDurationSlots);
  duration_ns_ = Cells(z_ * kTypeSlots);
  request_size_ = Cells(z_ * 2 * kSizeSlots);
  request_bytes_ = Cells(z_ * 2);
  response_size_ = Cells(z_ * 2 * kSizeSlots);
  response_bytes_ = Cells(z_ * 2);
}

size_t BlockStats::ZoneIndex(std::string_view zone) const noexcept {
  for (size_t i = 0; i < zones_.size(); ++i) {
    if (zones_[i] == zone) return i;
  }
  return zones_.size();
}

size_t BlockStats::PluginIndex(std::string_view plugin) const noexcept {
  for (size_t i = 1; i < plugins_.size(); ++i) {
    if (plugins_[i] == plugin) return i;
  }
  return 0;
}

void BlockStats::Record(const ReplySample& s) noexcept {
  const size_t z = ZoneIndex(s.zone);
  const size_t t = TypeIndex(s.qtype);
  const size_t proto = s.transport == listener::Transport::kTcp ? 1 : 0;
  const size_t family = s.ipv6 ? 1 : 0;
  Add(requests_[((z * 2 + proto) * 2 + family) * kTypeSlots + t], 1);
  const int64_t ns = std::max<int64_t>(s.duration.count(), 0);
  Add(duration_[(z * kTypeSlots + t) * kDurationSlots +
                BucketIndex(kDurationBounds, static_cast<double>(ns) / 1e9)],
      1);
  Add(duration_ns_[z * kTypeSlots + t], static_cast<uint64_t>(ns));
  Add(request_size_[(z * 2 + proto) * kSizeSlots +
                    BucketIndex(kSizeBounds, static_cast<double>(s.request_size))],
      1);
  Add(request_bytes_[z * 2 + proto], s.request_size);
  Add(response_size_[(z * 2 + proto) * kSizeSlots +
                     BucketIndex(kSizeBounds, static_cast<double>(s.response_size))],
      1);
  Add(response_bytes_[z * 2 + proto], s.response_size);
}

void BlockStats::RecordResponse(std::string_view zone, uint16_t rcode,
                                std::string_view plugin) noexcept {
  const size_t r = rcode < kRcodes.size() ? rcode : kRcodes.size();
  Add(responses_[(ZoneIndex(zone) * kRcodeSlots + r) * p_ + PluginIndex(plugin)], 1);
}

uint64_t BlockStats::Requests(std::string_view zone, listener::Transport transport, bool ipv6,
                              uint16_t qtype) const noexcept {
  const size_t proto = transport == listener::Transport::kTcp ? 1 : 0;
  return Load(requests_[((ZoneIndex(zone) * 2 + proto) * 2 + (ipv6 ? 1 : 0)) * kTypeSlots +
                        TypeIndex(qtype)]);
}

uint64_t BlockStats::Responses(std::string_view zone, uint16_t rcode,
                               std::string_view plugin) const noexcept {
  const size_t r = rcode < kRcodes.size() ? rcode : kRcodes.size();
  return Load(responses_[(ZoneIndex(zone) * kRcodeSlots + r) * p_ + PluginIndex(plugin)]);
}

bool BlockStats::SameShape(const std::string& server, const std::vector<std::string>& zones,
                           const std::vector<std::string>& plugins) const noexcept {
  if (server != server_ || zones != zones_ || plugins.size() + 1 != plugins_.size()) return false;
  for (size_t i = 0; i < plugins.size(); ++i) {
    if (plugins[i] != plugins_[i + 1]) return false;
  }
  return true;
}

void BlockStats::Export(std::span<MetricFamily> f) const {
  for (size_t z = 0; z < z_; ++z) {
    const std::string& zone = zone_labels_[z];
    for (size_t proto = 0; proto < 2; ++proto) {
      for (size_t family = 0; family < 2; ++family) {
        for (size_t t = 0; t < kTypeSlots; ++t) {
          uint64_t n = Load(requests_[((z * 2 + proto) * 2 + family) * kTypeSlots + t]);
          if (n == 0) continue;
          f[0].metric.push_back(
              Sample({{"server", server_},
                      {"zone", zone},
                      {"proto", std::string(Proto(proto))},
                      {"family", family == 0 ? "1" : "2"},
                      {"type", std::string(t < kTypes.size() ? kTypes[t].name : "other")}},
                     static_cast<double>(n), MetricType::Counter));
        }
      }
    }
    for (size_t r = 0; r < kRcodeSlots; ++r) {
      for (size_t p = 0; p < p_; ++p) {
        uint64_t n = Load(responses_[(z * kRcodeSlots + r) * p_ + p]);
        if (n == 0) continue;
        f[1].metric.push_back(
            Sample({{"server", server_},
                    {"zone", zone},
                    {"rcode", std::string(r < kRcodes.size() ? kRcodes[r] : "other")},
                    {"plugin", plugins_[p]}},
                   static_cast<double>(n), MetricType::Counter));
      }
    }
    for (size_t t = 0; t < kTypeSlots; ++t) {
      AddHistogram(f[2],
                   {{"server", server_},
                    {"zone", zone},
                    {"type", std::string(t < kTypes.size() ? kTypes[t].name : "other")}},
                   kDurationBounds, &duration_[(z * kTypeSlots + t) * kDurationSlots],
                   static_cast<double>(Load(duration_ns_[z * kTypeSlots + t])) / 1e9);
    }
    for (size_t proto = 0; proto < 2; ++proto) {
      std::vector<ClientMetric::Label> labels = {
          {"server", server_}, {"zone", zone}, {"proto", std::string(Proto(proto))}};
      AddHistogram(f[3], labels, kSizeBounds, &request_size_[(z * 2 + proto) * kSizeSlots],
                   static_cast<double>(Load(request_bytes_[z * 2 + proto])));
      AddHistogram(f[4], labels, kSizeBounds, &response_size_[(z * 2 + proto) * kSizeSlots],
                   static_cast<double>(Load(response_bytes_[z * 2 + proto])));
    }
  }
}

DnsCollector::DnsCollector() = default;

std::shared_ptr<BlockStats> DnsCollector::Attach(const std::string& server,
                                                 std::vector<std::string> zones,
                                                 std::vector<std::string> plugins) {
  std::lock_guard lock(mutex_);
  for (const auto& block : blocks_) {
    if (block->SameShape(server, zones, plugins)) return block;
  }
  auto block = std::make_shared<BlockStats>(server, std::move(zones), std::move(plugins));
  blocks_.push_back(block);
  return block;
}

std::vector<MetricFamily> DnsCollector::Collect() const {
  std::vector<MetricFamily> families;
  families.push_back(Family("petdns_dns_requests_total",
                            "Counter of DNS requests made per zone, protocol and family.",
                            MetricType::Counter));
  families.push_back(Family("petdns_dns_responses_total", "Counter of response status codes.",
                            MetricType::Counter));
  families.push_back(Family("petdns_dns_request_duration_seconds",
                            "Histogram of the time (in seconds) each request took.",
                            MetricType::Histogram));
  families.push_back(Family("petdns_dns_request_size_bytes", "Size of the DNS request in bytes.",
                            MetricType::Histogram));
  families.push_back(Family("petdns_dns_response_size_bytes", "Size of the DNS response in bytes.",
                            MetricType::Histogram));
  {
    std::lock_guard lock(mutex_);
    for (const auto& block : blocks_) block->Export(families);
  }
  MetricFamily build = Family("petdns_build_info",
                              "A metric with a constant '1' value labeled by version and compiler.",
                              MetricType::Gauge);
#if defined(__clang__)
  const std::string compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = "gcc " __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  build.metric.push_back(
      Sample({{"version", PETDNS_VERSION}, {"compiler", compiler}}, 1, MetricType::Gauge));
  families.push_back(std::move(build));
  try {  // /proc contents are parsed with std::stod: a surprise must not fail the whole scrape
    for (MetricFamily& f : ProcessFamilies()) families.push_back(std::move(f));
  } catch (const std::exception&) {
  }
  return families;
}

std::vector<MetricFamily> ProcessFamilies() {
  std::vector<MetricFamily> out;
  auto add = [&out](std::string name, std::string help, MetricType type, double value) {
    MetricFamily f = Family(std::move(name), std::move(help), type);
    f.metric.push_back(Sample({}, value, type));
    out.push_back(std::move(f));
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(paren + 2));
    std::vector<std::string> v{std::istream_iterator<std::string>(fields),
                               std::istream_iterator<std::string>()};
    // v[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)).
    if (v.size() > 21) {
      add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
          MetricType::Counter, (std::stod(v[11]) + std::stod(v[12])) / ticks);
      add("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
          std::stod(v[20]));
      add("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
          std::stod(v[21]) * page);
      std::ifstream boot("/proc/stat");
      std::string key;
      double btime = 0;
      while (boot >> key) {
        if (key == "btime") {
          boot >> btime;
          break;
        }
        boot.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
      }
      if (btime > 0) {
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge, btime + std::stod(v[19]) / ticks);
      }
    }
  }
  if (DIR* dir = opendir("/proc/self/fd"); dir != nullptr) {
    double fds = 0;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    add("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds - 1);
  }
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    add("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
        static_cast<double>(lim.rlim_cur));
  }
  return out;
}

}  // namespace petdns::plugins::metrics
