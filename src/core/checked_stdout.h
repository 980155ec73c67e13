// Results printed on stdout are the command's output as much as a file is: a write to a full disk or
// a closed pipe must fail the command (exit 3), not end it with 0 and a cut result. stdio buffers
// stdout when it is not a terminal, so a failure usually surfaces only at the final flush; commands
// therefore call flush_stdout() once, after their last output, and let its IoError propagate.
#pragma once

#include <string_view>

namespace squish {

// Writes through C stdio's stdout (the stream printf and, synchronised with stdio, std::cout use),
// so it interleaves correctly with them. Throws IoError when stdio reports the write failed.
void write_stdout(std::string_view text);

// Flushes std::cout and stdout and checks that no write to either failed since the start, including
// writes made with printf or std::cout. Throws IoError "stdout: ..." naming the system's reason.
void flush_stdout();

}  // namespace squish
