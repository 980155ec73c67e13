// Ctrl-C and SIGTERM during a run. squish's outputs are staged under temporary names and renamed
// into place (StagedDirectory, output_file.h); an interrupt removes whatever is staged, ends an open
// progress line, says "squish: interrupted" and exits 130 (SIGINT) or 143 (SIGTERM), the codes a
// shell reports for a process the signal killed. Nothing half-written is left behind.
//
// One thread waits for the signals (blocked everywhere else, so no computing thread is ever
// interrupted mid-write) and does the cleanup with ordinary, lock-taking code.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace squish {

// Blocks SIGINT and SIGTERM in the calling thread and starts the waiting thread. Call first thing
// in main, before any other thread exists: threads inherit the mask. A signal the process was
// started ignoring (SIGINT under `nohup` or `cmd &`) stays ignored.
void install_interrupt_cleanup();

// A staged path (file or directory) removed if the run is interrupted while it is registered.
class InterruptCleanup {
 public:
  explicit InterruptCleanup(const std::string& path);
  ~InterruptCleanup();
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

  // Runs `publish` (the rename that puts the staged path in place) and unregisters, atomically with
  // respect to an interrupt: the cleanup sees the staged path either before the rename or not at all.
  void publish(const std::function<void()>& publish);

 private:
  uint64_t id_;
  bool registered_ = true;
};

}  // namespace squish
