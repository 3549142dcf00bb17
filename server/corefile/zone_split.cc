#include "server/corefile/zone_split.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "server/corefile/zone_names.h"

namespace petdns::corefile {
namespace {

bool IsReverse(const std::string& zone) {
  return IsInside(zone, "in-addr.arpa.") || IsInside(zone, "ip6.arpa.");
}

void AddUnique(std::vector<std::string>& list, const std::string& zone) {
  if (std::find(list.begin(), list.end(), zone) == list.end()) list.push_back(zone);
}

// The longest zone of `zones` that contains `name`, or nullptr.
const std::string* Closest(const std::string& name, const std::vector<std::string>& zones) {
  const std::string* best = nullptr;
  for (const std::string& zone : zones) {
    if (IsInside(name, zone) && (best == nullptr || zone.size() > best->size())) best = &zone;
  }
  return best;
}

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t Find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  // The smaller index stays the root, so a class is named by its first zone.
  void Join(size_t a, size_t b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<size_t> parent_;
};

std::string JoinZones(const std::vector<std::string>& zones) {
  std::string out;
  for (const std::string& zone : zones) out += (out.empty() ? "" : ", ") + zone;
  return out;
}

}  // namespace

ZoneSplit SplitByZone(const std::vector<std::string>& block_zones,
                      const std::vector<PluginInstance>& instances,
                      const std::vector<std::string>& shadowing_zones) {
  ZoneSplit out;
  const size_t n = instances.size();
  std::vector<std::vector<std::string>> covered(n), excluded(n);
  std::vector<bool> usable(n, true);
  for (size_t i = 0; i < n; ++i) {
    const PluginInstance& p = instances[i];
    covered[i] = IntersectZones(p.zones.empty() ? block_zones : p.zones, block_zones);
    excluded[i] = IntersectZones(p.excluded_zones, block_zones);
    if (covered[i].empty()) usable[i] = false;  // its zones lie outside the block: never used
    if (p.table.plugin == "kubernetes" && usable[i] &&
        std::all_of(covered[i].begin(), covered[i].end(), IsReverse)) {
      out.issues.push_back(Issue{p.line, p.directive,
                                 "petdns needs a cluster domain such as cluster.local among the "
                                 "zones of the kubernetes plugin"});
      usable[i] = false;
    }
  }

  // Every zone that starts or ends some plugin's reach, in order of appearance.
  std::vector<std::string> universe;
  for (const std::string& zone : block_zones) AddUnique(universe, zone);
  for (size_t i = 0; i < n; ++i) {
    if (!usable[i]) continue;
    for (const std::string& zone : covered[i]) AddUnique(universe, zone);
    for (const std::string& zone : excluded[i]) AddUnique(universe, zone);
  }
  std::erase_if(universe, [&](const std::string& zone) {
    if (std::find(block_zones.begin(), block_zones.end(), zone) != block_zones.end()) return false;
    const std::string* block = Closest(zone, block_zones);
    const std::string* shadow = Closest(zone, shadowing_zones);
    return block != nullptr && shadow != nullptr && shadow->size() > block->size();
  });

  // Which instances answer names under each zone: the first of each plugin wins, as in CoreDNS's
  // chain; a later one is reachable only through the first one's fallthrough.
  const size_t z = universe.size();
  std::vector<std::vector<size_t>> covering(z);
  for (size_t k = 0; k < z; ++k) {
    std::set<std::string> seen;
    const PluginInstance* first_of_plugin = nullptr;
    for (size_t i = 0; i < n; ++i) {
      if (!usable[i]) continue;
      const std::string& zone = universe[k];
      const bool in = std::any_of(covered[i].begin(), covered[i].end(),
                                  [&](const std::string& c) { return IsInside(zone, c); });
      const bool out_of = std::any_of(excluded[i].begin(), excluded[i].end(),
                                      [&](const std::string& x) { return IsInside(zone, x); });
      if (!in || out_of) continue;
      const PluginInstance& p = instances[i];
      if (!seen.insert(p.table.plugin).second) {
        first_of_plugin = nullptr;
        for (size_t j : covering[k]) {
          if (instances[j].table.plugin == p.table.plugin) first_of_plugin = &instances[j];
        }
        if (first_of_plugin != nullptr && first_of_plugin->falls_through) {
          out.issues.push_back(Issue{
              p.line, p.directive,
              "petdns has one " + p.table.plugin + " table per [[server]] block; names under " +
                  zone + " that fall through the one on line " +
                  std::to_string(first_of_plugin->line) + " are not looked up here"});
        }
        continue;
      }
      covering[k].push_back(i);
    }
  }

  // Zones that must share a block: a kubernetes plugin's zones (its first forward zone names the
  // PTR targets), and every zone with the zone of the file or kubernetes plugin that covers it.
  UnionFind classes(z);
  auto index_of = [&](const std::string& zone) -> size_t {
    return std::find(universe.begin(), universe.end(), zone) - universe.begin();
  };
  for (size_t i = 0; i < n; ++i) {
    const std::string& plugin = instances[i].table.plugin;
    if (!usable[i] || (plugin != "kubernetes" && plugin != "file")) continue;
    for (size_t k = 0; k < z; ++k) {
      if (std::find(covering[k].begin(), covering[k].end(), i) == covering[k].end()) continue;
      const std::string* home = Closest(universe[k], covered[i]);
      if (home != nullptr && index_of(*home) < z) classes.Join(k, index_of(*home));
    }
    if (plugin == "kubernetes") {
      for (const std::string& zone : covered[i]) {
        if (index_of(zone) < z && index_of(covered[i].front()) < z) {
          classes.Join(index_of(zone), index_of(covered[i].front()));
        }
      }
    }
  }

  // A class answers with the plugins of its first zone; other zones that differ are reported.
  std::vector<std::vector<size_t>> members(z);
  for (size_t k = 0; k < z; ++k) members[classes.Find(k)].push_back(k);
  for (size_t root = 0; root < z; ++root) {
    if (members[root].empty()) continue;
    const std::vector<size_t>& plugins = covering[root];
    for (size_t i = 0; i < n; ++i) {
      std::vector<std::string> missing, extra;
      const bool in_root = std::find(plugins.begin(), plugins.end(), i) != plugins.end();
      for (size_t k : members[root]) {
        const bool here = std::find(covering[k].begin(), covering[k].end(), i) != covering[k].end();
        if (here && !in_root) missing.push_back(universe[k]);
        if (!here && in_root) extra.push_back(universe[k]);
      }
      const PluginInstance& p = instances[i];
      const std::string reason_tail = ": petdns serves them in one [[server]] block with " +
                                      universe[root] + ", whose plugins apply to the whole block";
      if (!missing.empty()) {
        out.issues.push_back(
            Issue{p.line, p.directive, "not applied to " + JoinZones(missing) + reason_tail});
      }
      if (!extra.empty()) {
        out.issues.push_back(
            Issue{p.line, p.directive, "also applied to " + JoinZones(extra) + reason_tail});
      }
    }
  }

  // Classes with the same plugins become one block, unless a file plugin ties them to a zone.
  for (size_t root = 0; root < z; ++root) {
    if (members[root].empty()) continue;
    const std::vector<size_t>& plugins = covering[root];
    const bool per_zone = std::any_of(plugins.begin(), plugins.end(),
                                      [&](size_t i) { return instances[i].per_zone; });
    ZoneGroup* group = nullptr;
    if (!per_zone) {
      for (ZoneGroup& g : out.groups) {
        const bool g_per_zone = std::any_of(g.instances.begin(), g.instances.end(),
                                            [&](size_t i) { return instances[i].per_zone; });
        if (!g_per_zone && g.instances == plugins) group = &g;
      }
    }
    if (group == nullptr) {
      group = &out.groups.emplace_back();
      group->instances = plugins;
    }
    for (size_t k : members[root]) group->zones.push_back(universe[k]);
  }

  // A kubernetes plugin reads its zones in order: the first forward zone names PTR targets.
  for (ZoneGroup& g : out.groups) {
    for (size_t i : g.instances) {
      if (instances[i].table.plugin != "kubernetes") continue;
      std::vector<std::string> ordered;
      for (const std::string& zone : covered[i]) {
        if (std::find(g.zones.begin(), g.zones.end(), zone) != g.zones.end()) {
          AddUnique(ordered, zone);
        }
      }
      for (const std::string& zone : g.zones) AddUnique(ordered, zone);
      g.zones = std::move(ordered);
    }
  }
  return out;
}

}  // namespace petdns::corefile
