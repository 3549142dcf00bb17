#include "server/chain/fallthrough.h"

#include <algorithm>

#include "server/wire/name.h"

namespace petdns::chain {

Fallthrough Fallthrough::Read(const toml::table& table, config::TableReader& reader) {
  Fallthrough out;
  const toml::node* value = table.get("fallthrough");
  reader.MarkKnown("fallthrough");
  if (value == nullptr) return out;
  if (const auto* flag = value->as_boolean()) {
    out.all_ = flag->get();
    return out;
  }
  const auto* list = value->as_array();
  if (list == nullptr) {
    reader.AddError("fallthrough", "'fallthrough' must be true, false or a list of zones");
    return out;
  }
  for (const toml::node& item : *list) {
    auto name = item.value<std::string>();
    auto wire_name = name ? wire::NameFromText(*name + (name->ends_with('.') ? "" : "."))
                          : Result<std::string>(MakeError(ErrorCode::kInvalidArgument, ""));
    if (!wire_name) {
      reader.AddError("fallthrough", "'fallthrough' must list zone names");
      return Fallthrough();
    }
    out.zones_.push_back(wire::LowerName(*wire_name));
  }
  return out;
}

bool Fallthrough::Covers(std::string_view qname) const noexcept {
  return all_ || std::any_of(zones_.begin(), zones_.end(), [&](const std::string& zone) {
           return wire::IsSubdomain(qname, zone);
         });
}

}  // namespace petdns::chain
