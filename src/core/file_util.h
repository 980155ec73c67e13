// Small file helpers shared by every reader and writer.
#pragma once

#include <string>

namespace squish {

bool file_exists(const std::string& path);
// Whole file as bytes; IoError naming the path when it cannot be read.
std::string read_file(const std::string& path);
// Whole file, transparently gunzipped when the name ends in ".gz" (several gzip members back to back
// are read as one, as gzip -d does); FormatError on a truncated or corrupt stream or on bytes after it.
std::string read_maybe_gzip(const std::string& path);
// write_output_file(path, "", contents) from core/output_file.h, under the name its callers still use;
// new code calls core/output_file.h directly, which also names the flag in its errors.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace squish
