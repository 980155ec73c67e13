#include "core/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/communicator.h"
#include "core/progress.h"

namespace squish {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<uint64_t, std::string>& registry() {
  static std::map<uint64_t, std::string> paths;
  return paths;
}

uint64_t next_id = 0;

bool ignored_at_start(int signal) {
  struct sigaction current {};
  return ::sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

[[noreturn]] void clean_up_and_exit(int signal) {
  // Held until _exit: a thread about to register or publish a path waits here instead.
  registry_mutex().lock();
  // The computing threads keep running meanwhile: one may create a file in a staged folder between
  // remove_all's listing and its last rmdir, which then fails (not empty). Each path is retried
  // until it is gone (a few milliseconds at most: a writer creates each file once).
  for (auto it = registry().rbegin(); it != registry().rend(); ++it)
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::error_code ec;
      std::filesystem::remove_all(it->second, ec);
      if (!std::filesystem::exists(it->second, ec)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  // The ranks of a distributed run are ended by their launcher when one fails: the failing rank's
  // message is the one to read, not every other rank's "interrupted".
  if (world().size() == 1) {
    std::fputs(progress_line_open() ? "\nsquish: interrupted\n" : "squish: interrupted\n", stderr);
    std::fflush(stderr);
  }
  ::_exit(128 + signal);
}

}  // namespace

void install_interrupt_cleanup() {
  sigset_t set;
  sigemptyset(&set);
  bool any = false;
  for (int signal : {SIGINT, SIGTERM})
    if (!ignored_at_start(signal)) {
      sigaddset(&set, signal);
      any = true;
    }
  if (!any || pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;  // signals keep their default action
  std::thread([set] {
    int signal = 0;
    if (sigwait(&set, &signal) == 0) clean_up_and_exit(signal);
  }).detach();
}

InterruptCleanup::InterruptCleanup(const std::string& path) {
  const std::lock_guard lock(registry_mutex());
  id_ = next_id++;
  registry()[id_] = path;
}

InterruptCleanup::~InterruptCleanup() {
  if (!registered_) return;
  const std::lock_guard lock(registry_mutex());
  registry().erase(id_);
}

void InterruptCleanup::publish(const std::function<void()>& publish) {
  const std::lock_guard lock(registry_mutex());
  registry().erase(id_);
  registered_ = false;
  publish();
}

}  // namespace squish
