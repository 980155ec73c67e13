// printable(): what an error line may show of untrusted bytes.
#include <gtest/gtest.h>

#include <string>

#include "core/printable.h"

namespace squish {
namespace {

TEST(Printable, PlainTextAndUtf8PassThrough) {
  EXPECT_EQ(printable("bert.embeddings.word_embeddings.weight"), "bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, ControlBytesBecomeEscapes) {
  EXPECT_EQ(printable("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(printable(std::string("nul\0tab\tnl\n", 11)), "nul\\x00tab\\x09nl\\x0a");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
}

TEST(Printable, LongInputIsCutAt120BytesWithItsLength) {
  EXPECT_EQ(printable(std::string(120, 'a')), std::string(120, 'a'));
  EXPECT_EQ(printable(std::string(121, 'a')), std::string(120, 'a') + "...(121 bytes)");
  const std::string out = printable(std::string(100000, '\x01'));
  EXPECT_EQ(out, [] {
    std::string s;
    for (int i = 0; i < 120; ++i) s += "\\x01";
    return s + "...(100000 bytes)";
  }());
}

}  // namespace
}  // namespace squish
