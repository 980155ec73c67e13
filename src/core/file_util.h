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
// check_output_path(path, "") and write_output_here() from core/output_file.h: a file of this
// process's own, written on every rank of a distributed run (a staged directory's files); outputs a
// flag names go through write_output(), which rank 0 alone writes.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace squish
