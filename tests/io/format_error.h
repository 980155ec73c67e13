// The checkpoint readers' tests share one check: reading a hostile file throws a FormatError whose
// message names the file and every expected fragment.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "core/error.h"

namespace squish::test {

// Calls read(path); returns the FormatError's message (empty, and a failure, when none was thrown).
template <class Reader>
std::string expect_format_error_of(Reader read, const std::string& path, std::initializer_list<const char*> needles) {
  std::string msg;
  try {
    read(path);
    ADD_FAILURE() << "expected a FormatError, " << path << " was accepted";
  } catch (const FormatError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
  for (const char* n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  return msg;
}

}  // namespace squish::test
