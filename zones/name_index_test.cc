#include "zones/name_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace petdns::zones {
namespace {

TEST(NameIndex, FindsEveryInsertedNameAndNothingElse) {
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i)
    names.push_back("\5web-" + std::to_string(i % 10) + "\3svc" + std::to_string(i));
  NameIndex index;
  index.Reset(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) index.Insert(names[i], i);
  auto name_of = [&](uint32_t i) -> std::string_view { return names[i]; };
  for (uint32_t i = 0; i < names.size(); ++i) EXPECT_EQ(index.Find(names[i], name_of), i);
  EXPECT_EQ(index.Find("\4none", name_of), NameIndex::kNotFound);
  EXPECT_EQ(index.Find("", name_of), NameIndex::kNotFound);
  EXPECT_EQ(index.Find(names[0] + "x", name_of), NameIndex::kNotFound);
}

TEST(NameIndex, EmptyIndexFindsNothing) {
  NameIndex index;
  EXPECT_EQ(index.Find("\1a", [](uint32_t) { return std::string_view(); }), NameIndex::kNotFound);
}

TEST(NameIndex, HashDependsOnEveryByte) {
  std::string a(40, 'a');
  for (size_t i = 0; i < a.size(); ++i) {
    std::string b = a;
    b[i] = 'b';
    EXPECT_NE(NameIndex::Hash(a), NameIndex::Hash(b)) << i;
  }
  EXPECT_NE(NameIndex::Hash("a"), NameIndex::Hash(std::string("a\0", 2)));
}

}  // namespace
}  // namespace petdns::zones
