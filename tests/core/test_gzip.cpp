// read_maybe_gzip on streams made here with zlib: whole, concatenated, truncated at every kind of
// place, corrupted in the compressed data, the header and the checksum, and followed by junk.
#include <zlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <random>
#include <string>

#include "core/error.h"
#include "core/file_util.h"
#include "test_paths.h"

namespace squish {
namespace {

std::string gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Text that compresses but not to nothing, and decompresses to more than the reader's 64 KiB buffer.
std::string sample_text() {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < 300000) s += "sentence " + std::to_string(rng() % 100000) + "\t" + std::to_string(rng() % 2) + "\n";
  return s;
}

class GzipTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("gzip"); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The FormatError message of reading `bytes` as "<dir>/bad.gz", checked to name the file and `needles`.
  std::string format_error(const std::string& bytes, std::initializer_list<const char*> needles) {
    const std::string path = write("bad.gz", bytes);
    std::string msg;
    try {
      read_maybe_gzip(path);
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& e) {
      msg = e.what();
    }
    EXPECT_EQ(msg.find(path + ": "), 0u) << msg;
    for (const char* n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    return msg;
  }
  std::string dir_;
};

TEST_F(GzipTest, RoundTrip) {
  const std::string text = sample_text();
  EXPECT_EQ(read_maybe_gzip(write("data.tsv.gz", gzip(text))), text);
  EXPECT_EQ(read_maybe_gzip(write("empty.gz", gzip(""))), "");
}

TEST_F(GzipTest, OnlyTheGzSuffixDecompresses) {
  const std::string gz = gzip("abc");
  EXPECT_EQ(read_maybe_gzip(write("data.tsv", gz)), gz);
  EXPECT_EQ(read_maybe_gzip(write("plain.txt", "abc")), "abc");
}

TEST_F(GzipTest, ConcatenatedMembersReadAsOne) {
  EXPECT_EQ(read_maybe_gzip(write("two.gz", gzip("first\n") + gzip("second\n"))), "first\nsecond\n");
}

TEST_F(GzipTest, TruncatedStreams) {
  const std::string gz = gzip(sample_text());
  format_error(gz.substr(0, gz.size() / 2), {"truncated gzip stream", std::to_string(gz.size() / 2).c_str()});
  format_error(gz.substr(0, gz.size() - 4), {"truncated"});   // the length field of the trailer is missing
  format_error(gz.substr(0, 5), {"truncated"});               // inside the header
  format_error("", {"truncated"});
  format_error(gzip("a") + gzip("b").substr(0, 12), {"truncated"});  // a second member cut short
}

TEST_F(GzipTest, CorruptStreams) {
  const std::string gz = gzip(sample_text());
  std::string body = gz;
  body[gz.size() / 2] = static_cast<char>(body[gz.size() / 2] ^ 0x55);
  format_error(body, {"corrupt gzip stream at byte"});
  std::string crc = gz;
  crc[gz.size() - 8] = static_cast<char>(crc[gz.size() - 8] ^ 1);
  format_error(crc, {"corrupt gzip stream", "incorrect data check"});
  format_error("this is not gzip at all", {"corrupt gzip stream at byte", "incorrect header check"});
}

TEST_F(GzipTest, JunkAfterTheStreamIsRefused) {
  const std::string gz = gzip("data\n");
  const std::string msg = format_error(gz + "\n\n\n", {"after the gzip stream ending at byte", "found 3 more bytes"});
  EXPECT_NE(msg.find(std::to_string(gz.size())), std::string::npos) << msg;
  format_error(gz + "\x1f", {"found 1 more bytes"});
}

TEST_F(GzipTest, MissingFileIsAnIoError) {
  EXPECT_THROW(read_maybe_gzip(dir_ + "/missing.gz"), IoError);
}

}  // namespace
}  // namespace squish
