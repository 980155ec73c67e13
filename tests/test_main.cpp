// The main of every test binary. libgomp's wait policy is set as squish's own main sets it
// (core/threads.h): ctest runs two suites side by side, and with libgomp's default ~7 ms of spinning
// each suite's threads take the cores from the other's, which made the real-model tests 10x slower.
#include <gtest/gtest.h>

#include "core/threads.h"

int main(int argc, char** argv) {
  squish::configure_threading(argv);  // may re-execute the binary once, so before anything else
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
