#include "core/file_util.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "core/error.h"
#include "core/output_file.h"

namespace squish {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read failed");
  return ss.str();
}

namespace {

// Owns a zlib inflate stream, so every error path below frees it.
class Inflater {
 public:
  explicit Inflater(const std::string& path) {
    // 16 + MAX_WBITS: expect a gzip header, not a raw zlib stream.
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw FormatError(path + ": cannot start gzip decoder");
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream* operator->() { return &zs_; }
  z_stream* get() { return &zs_; }

 private:
  z_stream zs_{};
};

std::string gunzip(const std::string& path, const std::string& raw) {
  // zlib counts input in 32 bits; larger files are handed over a gigabyte at a time.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  Inflater zs(path);
  size_t handed = 0;  // bytes of `raw` given to zlib so far
  auto position = [&] { return handed - zs->avail_in; };
  std::string out;
  char buf[1 << 16];
  for (;;) {
    if (zs->avail_in == 0 && handed < raw.size()) {
      const size_t n = std::min(kMaxChunk, raw.size() - handed);
      zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data() + handed));
      zs->avail_in = static_cast<uInt>(n);
      handed += n;
    }
    zs->next_out = reinterpret_cast<Bytef*>(buf);
    zs->avail_out = sizeof buf;
    const int rc = inflate(zs.get(), Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs->avail_out);
    if (rc == Z_STREAM_END) {
      const size_t end = position();
      if (end == raw.size()) return out;
      // gzip allows members back to back (`cat a.gz b.gz` is one valid file, and gzip -d reads it
      // whole); anything else after a member is not part of the data and must not pass silently.
      if (raw.size() - end < 2 || raw[end] != '\x1f' || raw[end + 1] != '\x8b')
        throw FormatError(path + ": expected the end of the file or another gzip member after the gzip stream ending at byte " +
                          std::to_string(end) + ", found " + std::to_string(raw.size() - end) + " more bytes");
      inflateReset(zs.get());
      continue;
    }
    const bool input_exhausted = zs->avail_in == 0 && handed == raw.size();
    if ((rc == Z_OK && input_exhausted && zs->avail_out != 0) || (rc == Z_BUF_ERROR && input_exhausted))
      throw FormatError(path + ": truncated gzip stream (the file ends after " + std::to_string(raw.size()) +
                        " bytes, inside compressed data)");
    if (rc != Z_OK)
      throw FormatError(path + ": corrupt gzip stream at byte " + std::to_string(position()) + ": " +
                        (zs->msg ? zs->msg : "inflate error " + std::to_string(rc)));
  }
}

bool has_gz_suffix(const std::string& path) { return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0; }

}  // namespace

std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  return has_gz_suffix(path) ? gunzip(path, raw) : raw;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_output_here(check_output_path(path, ""), contents);
}

}  // namespace squish
