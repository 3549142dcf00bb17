#include "plugins/metrics/metrics_plugin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "server/wire/name.h"

namespace petdns::plugins::metrics {
namespace {

using listener::Transport;

std::string Wire(std::string_view name) { return wire::LowerName(*wire::NameFromText(name)); }

ReplySample Sample(Transport transport, bool ipv6, uint16_t qtype, uint16_t rcode,
                   std::string_view plugin) {
  static const std::string zone = Wire("example.org.");
  ReplySample s;
  s.zone = zone;
  s.transport = transport;
  s.ipv6 = ipv6;
  s.qtype = qtype;
  s.rcode = rcode;
  s.plugin = plugin;
  s.request_size = 40;
  s.response_size = 120;
  s.duration = std::chrono::microseconds(300);
  return s;
}

std::string Scrape(const DnsCollector& collector) {
  return prometheus::TextSerializer().Serialize(collector.Collect());
}

TEST(BlockStats, CountsByZoneProtoFamilyTypeRcodeAndPlugin) {
  DnsCollector collector;
  auto stats = collector.Attach("dns://127.0.0.1:53", {Wire("example.org.")}, {"file", "metrics"});
  const std::string zone = Wire("example.org.");
  for (const ReplySample& s :
       {Sample(Transport::kUdp, false, 1, 0, "file"), Sample(Transport::kUdp, false, 1, 0, "file"),
        Sample(Transport::kTcp, true, 28, 3, "file"), Sample(Transport::kUdp, false, 99, 2, "")}) {
    stats->Record(s);
    stats->RecordResponse(s.zone, s.rcode, s.plugin);
  }
  EXPECT_EQ(stats->Requests(zone, Transport::kUdp, false, 1), 2u);
  EXPECT_EQ(stats->Requests(zone, Transport::kTcp, true, 28), 1u);
  EXPECT_EQ(stats->Responses(zone, 3, "file"), 1u);
  EXPECT_EQ(stats->Responses(zone, 2, ""), 1u);

  const std::string text = Scrape(collector);
  using ::testing::HasSubstr;
  EXPECT_THAT(text, HasSubstr("petdns_dns_requests_total{server=\"dns://127.0.0.1:53\",zone="
                              "\"example.org.\",proto=\"udp\",family=\"1\",type=\"A\"} 2"));
  EXPECT_THAT(text, HasSubstr("proto=\"tcp\",family=\"2\",type=\"AAAA\"} 1"));
  EXPECT_THAT(text, HasSubstr("family=\"1\",type=\"other\"} 1"));
  EXPECT_THAT(text, HasSubstr("petdns_dns_responses_total{server=\"dns://127.0.0.1:53\",zone="
                              "\"example.org.\",rcode=\"NXDOMAIN\",plugin=\"file\"} 1"));
  EXPECT_THAT(text, HasSubstr("rcode=\"SERVFAIL\",plugin=\"\"} 1"));
  EXPECT_THAT(text, HasSubstr("petdns_dns_request_duration_seconds_bucket{server=\"dns://"
                              "127.0.0.1:53\",zone=\"example.org.\",type=\"A\",le=\"0.0005\"} 2"));
  EXPECT_THAT(text, HasSubstr("petdns_dns_request_duration_seconds_bucket{server=\"dns://"
                              "127.0.0.1:53\",zone=\"example.org.\",type=\"A\",le=\"0.00025\"} 0"));
  EXPECT_THAT(text, HasSubstr("petdns_dns_request_size_bytes_count{server=\"dns://127.0.0.1:53\","
                              "zone=\"example.org.\",proto=\"udp\"} 3"));
  EXPECT_THAT(text, HasSubstr("petdns_dns_response_size_bytes_sum{server=\"dns://127.0.0.1:53\","
                              "zone=\"example.org.\",proto=\"tcp\"} 120"));
  EXPECT_THAT(text, HasSubstr("petdns_build_info{version=\""));
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(text, HasSubstr("process_cpu_seconds_total "));
  EXPECT_THAT(text, HasSubstr("process_open_fds "));
  EXPECT_THAT(text, HasSubstr("process_start_time_seconds "));
  // Cells never touched are not exported.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("type=\"MX\"")));
}

TEST(DnsCollector, ReattachingTheSameBlockKeepsCounting) {
  DnsCollector collector;
  auto first = collector.Attach("dns://:53", {Wire("example.org.")}, {"file"});
  first->Record(Sample(Transport::kUdp, false, 1, 0, "file"));
  auto again = collector.Attach("dns://:53", {Wire("example.org.")}, {"file"});
  EXPECT_EQ(first, again);
  auto other = collector.Attach("dns://:53", {Wire("example.net.")}, {"file"});
  EXPECT_NE(first, other);
}

TEST(Names, MapCommonTypesAndRcodes) {
  EXPECT_EQ(TypeName(1), "A");
  EXPECT_EQ(TypeName(65), "HTTPS");
  EXPECT_EQ(TypeName(99), "other");
  EXPECT_EQ(RcodeName(3), "NXDOMAIN");
  EXPECT_EQ(RcodeName(16), "BADVERS");
  EXPECT_EQ(RcodeName(200), "other");
}

TEST(MetricsPlugin, IsNamedMetrics) {
  DnsCollector collector;
  MetricsPlugin plugin(collector.Attach("dns://:53", {}, {}));
  EXPECT_EQ(plugin.Name(), "metrics");
}

}  // namespace
}  // namespace petdns::plugins::metrics
