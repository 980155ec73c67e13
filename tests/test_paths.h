// Where tests find real data (../shared), committed fixtures, temporary files and the squish binary.
#pragma once

#include <string>

namespace squish::test {

std::string shared_dir();    // $SQUISH_SHARED_DIR, else the compiled-in default
std::string fixtures_dir();  // tests/fixtures
std::string squish_binary();
// A fresh empty directory under the system temp dir, unique to this test process and removed when it exits.
std::string temp_dir(const std::string& tag);

}  // namespace squish::test
