// A HF model directory as given by --model_dir: checked once, up front, so a typo is reported as
// a missing directory instead of as the first file inside it that could not be opened.
#pragma once

#include <string>

namespace squish {

// IoError: "<dir>: no such directory" or "<dir>: is a file, expected a HF model directory".
void require_model_dir(const std::string& dir);

}  // namespace squish
