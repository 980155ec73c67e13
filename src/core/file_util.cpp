#include "core/file_util.h"

#include <zlib.h>

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

std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) return raw;
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header, not a raw zlib stream.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw FormatError(path + ": cannot start gzip decoder");
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw FormatError(path + ": corrupt or truncated gzip stream at byte " + std::to_string(zs.total_in));
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw FormatError(path + ": truncated gzip stream (ends after " + std::to_string(zs.total_in) + " bytes)");
    }
  }
  inflateEnd(&zs);
  return out;
}

void write_file_atomic(const std::string& path, const std::string& contents) { write_output_file(path, "", contents); }

}  // namespace squish
