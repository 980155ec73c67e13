// Where tests find real data (../shared), committed fixtures, temporary files and the squish binary.
#pragma once

#include <string>

namespace squish::test {

std::string shared_dir();    // $SQUISH_SHARED_DIR, else the compiled-in default
std::string fixtures_dir();  // tests/fixtures
std::string squish_binary();
// SmolLM2-135M-Instruct's GGUF as published (tools/fetch_smollm2.sh): $SQUISH_SMOLLM2_GGUF, else the
// cache path the script uses. Tests needing it fail (never skip) when it is absent.
std::string smollm2_gguf();
// A fresh empty directory under the system temp dir, unique to this test process and removed when it exits.
std::string temp_dir(const std::string& tag);

}  // namespace squish::test
