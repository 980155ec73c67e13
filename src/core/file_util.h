// Small file helpers shared by every reader and writer.
#pragma once

#include <string>

namespace squish {

bool file_exists(const std::string& path);
// Whole file as bytes; IoError naming the path when it cannot be read.
std::string read_file(const std::string& path);
// Whole file, transparently gunzipped when the name ends in ".gz"; FormatError on a corrupt stream.
std::string read_maybe_gzip(const std::string& path);
// Writes to "<path>.tmp.<pid>" and renames over `path`, so a failed run never leaves a half-written file.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace squish
