#include "server/wire/name.h"

#include <gtest/gtest.h>

#include <vector>

namespace petdns::wire {
namespace {

std::string Wire(std::string_view text) { return *NameFromText(text); }

TEST(ReadName, ReadsUncompressedName) {
  std::vector<uint8_t> msg = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0xAA};
  size_t offset = 0;
  NameBuffer name;
  ASSERT_TRUE(ReadName(msg, offset, name));
  EXPECT_EQ(name.view(), Wire("www.example."));
  EXPECT_EQ(offset, 13u);
}

TEST(ReadName, FollowsBackwardPointerAndResumesAfterIt) {
  std::vector<uint8_t> msg = {7, 'e', 'x', 'a', 'm', 'p',  'l', 'e',
                              0, 3,   'w', 'w', 'w', 0xC0, 0x00};
  size_t offset = 9;
  NameBuffer name;
  ASSERT_TRUE(ReadName(msg, offset, name));
  EXPECT_EQ(name.view(), Wire("www.example."));
  EXPECT_EQ(offset, 15u);
}

TEST(ReadName, RejectsPointerLoop) {
  std::vector<uint8_t> msg = {0xC0, 0x00};
  size_t offset = 0;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(ReadName, RejectsTwoPointersPointingAtEachOther) {
  std::vector<uint8_t> msg = {1, 'a', 0xC0, 0x04, 1, 'b', 0xC0, 0x00};
  size_t offset = 4;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(ReadName, RejectsForwardPointer) {
  std::vector<uint8_t> msg = {0xC0, 0x02, 0};
  size_t offset = 0;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(ReadName, RejectsReservedLabelTypes) {
  std::vector<uint8_t> msg = {0x40, 'a', 0};
  size_t offset = 0;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(ReadName, RejectsTruncatedName) {
  std::vector<uint8_t> msg = {5, 'a', 'b'};
  size_t offset = 0;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(ReadName, RejectsNamesLongerThan255Bytes) {
  std::vector<uint8_t> msg;
  for (int i = 0; i < 5; ++i) {
    msg.push_back(60);
    msg.insert(msg.end(), 60, 'a');
  }
  msg.push_back(0);  // 5 * 61 + 1 = 306 bytes
  size_t offset = 0;
  NameBuffer name;
  EXPECT_FALSE(ReadName(msg, offset, name));
}

TEST(NameFromText, ParsesAbsoluteRelativeAndEscapedNames) {
  EXPECT_EQ(*NameFromText("."), std::string(kRootName));
  EXPECT_EQ(*NameFromText("a.b."), std::string("\1a\1b\0", 5));
  EXPECT_EQ(*NameFromText("www", Wire("example.")), Wire("www.example."));
  EXPECT_EQ(*NameFromText("a\\.b.c."), std::string("\3a.b\1c\0", 7));
  EXPECT_EQ(*NameFromText("\\065.c."), std::string("\1A\1c\0", 5));
}

TEST(NameFromText, RejectsBadNames) {
  EXPECT_FALSE(NameFromText("a..b."));
  EXPECT_FALSE(NameFromText(std::string(64, 'a') + "."));
  EXPECT_FALSE(NameFromText("relative"));
  EXPECT_FALSE(NameFromText(""));
}

TEST(NameToText, EscapesSpecialCharacters) {
  EXPECT_EQ(NameToText(Wire("www.example.org.")), "www.example.org.");
  EXPECT_EQ(NameToText(std::string(kRootName)), ".");
  EXPECT_EQ(NameToText(std::string("\3a.b\1c\0", 7)), "a\\.b.c.");
  EXPECT_EQ(NameToText(std::string("\1\x01\0", 3)), "\\001.");
}

TEST(IsSubdomain, MatchesAtLabelBoundariesOnly) {
  EXPECT_TRUE(IsSubdomain(Wire("www.example.org."), Wire("example.org.")));
  EXPECT_TRUE(IsSubdomain(Wire("example.org."), Wire("example.org.")));
  EXPECT_TRUE(IsSubdomain(Wire("example.org."), std::string(kRootName)));
  EXPECT_FALSE(IsSubdomain(Wire("wwwexample.org."), Wire("example.org.")));
  EXPECT_FALSE(IsSubdomain(Wire("org."), Wire("example.org.")));
}

TEST(Labels, CountsAndStrips) {
  EXPECT_EQ(LabelCount(Wire("a.b.c.")), 3);
  EXPECT_EQ(LabelCount(std::string(kRootName)), 0);
  EXPECT_EQ(StripLabels(Wire("a.b.c."), 1), Wire("b.c."));
  EXPECT_EQ(StripLabels(Wire("a.b.c."), 3), std::string(kRootName));
  EXPECT_EQ(StripLabels(Wire("a.b.c."), 9), std::string(kRootName));
}

TEST(LowerName, LowersLettersOnly) {
  EXPECT_EQ(LowerName(Wire("WwW.Ex-A_mple.")), Wire("www.ex-a_mple."));
  EXPECT_TRUE(NamesEqual(Wire("WWW.example."), Wire("www.EXAMPLE.")));
  EXPECT_FALSE(NamesEqual(Wire("www.example."), Wire("ww.example.")));
}

}  // namespace
}  // namespace petdns::wire
