// configure_threading: re-executes the process once with a GOMP_SPINCOUNT that libgomp itself then
// reports (OMP_DISPLAY_ENV), and leaves the environment alone when the user chose a wait policy.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "core/child_process.h"
#include "core/threads.h"

namespace squish {
namespace {

constexpr const char* kChildMarker = "SQUISH_TEST_THREADS_REEXECUTED";
constexpr int kReexecutedExit = 42;

// When configure_threading re-executes this test binary, the new image reports what it found and
// exits here, during static initialisation, before GoogleTest runs anything.
const bool reexecuted_child_reports = [] {
  if (std::getenv(kChildMarker) == nullptr) return false;
  std::printf("policy: %s\n", thread_wait_policy().c_str());
  std::fflush(stdout);
  ::_exit(kReexecutedExit);
}();

void unset_wait_policy() {
  for (const char* name : {"OMP_WAIT_POLICY", "OMP_WAIT_POLICY_ALL", "GOMP_SPINCOUNT"}) ::unsetenv(name);
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

struct ChildRun {
  int status;
  std::string out, err;
};

// configure_threading in a child with the given environment change applied first.
ChildRun configure_in_child(const std::function<void()>& set_environment) {
  int out[2], err[2];
  EXPECT_EQ(::pipe(out), 0);
  EXPECT_EQ(::pipe(err), 0);
  ChildRun run;
  run.status = test::exit_status_in_child([&] {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    unset_wait_policy();
    ::setenv(kChildMarker, "1", 1);
    ::setenv("OMP_DISPLAY_ENV", "verbose", 1);  // the re-executed libgomp prints the spin count it read
    set_environment();
    char name[] = "test_core";
    char* argv[] = {name, nullptr};
    configure_threading(argv);
    return 0;  // not re-executed
  });
  ::close(out[1]);
  ::close(err[1]);
  run.out = read_all(out[0]);
  run.err = read_all(err[0]);
  ::close(out[0]);
  ::close(err[0]);
  return run;
}

TEST(ConfigureThreading, ReexecutesOnceWithASpinCountLibgompReads) {
  const ChildRun run = configure_in_child([] {});
  ASSERT_EQ(run.status, kReexecutedExit) << run.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex("policy: GOMP_SPINCOUNT=([0-9]+)\n"))) << run.out;
  const long spins = std::stol(m[1]);
  EXPECT_GE(spins, 100);
  EXPECT_LE(spins, 100000);
  // Only the re-executed image's libgomp was loaded after OMP_DISPLAY_ENV was set, so this is the
  // value libgomp itself will spin with.
  EXPECT_NE(run.err.find("GOMP_SPINCOUNT = '" + m[1].str() + "'"), std::string::npos) << run.err;
}

TEST(ConfigureThreading, LeavesAUsersChoiceAlone) {
  for (const char* name : {"OMP_WAIT_POLICY", "OMP_WAIT_POLICY_ALL", "GOMP_SPINCOUNT"}) {
    const ChildRun run = configure_in_child([name] { ::setenv(name, name[0] == 'G' ? "5000" : "active", 1); });
    EXPECT_EQ(run.status, 0) << name << " was overridden: " << run.out;
  }
}

TEST(ConfigureThreading, RunsOnlyOncePerProcess) {
  const int status = test::exit_status_in_child([] {
    unset_wait_policy();
    ::setenv("GOMP_SPINCOUNT", "5000", 1);
    char name[] = "test_core";
    char* argv[] = {name, nullptr};
    configure_threading(argv);  // the user's value: nothing to do, and now configured
    ::unsetenv("GOMP_SPINCOUNT");
    ::setenv(kChildMarker, "1", 1);
    configure_threading(argv);  // must not re-execute now
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(ThreadWaitPolicy, NamesTheVariablesInForce) {
  const std::string saved = thread_wait_policy();
  const char* saved_spin = std::getenv("GOMP_SPINCOUNT");
  const std::string spin = saved_spin ? saved_spin : "";
  const char* saved_policy = std::getenv("OMP_WAIT_POLICY");
  const std::string policy = saved_policy ? saved_policy : "";
  const char* saved_all = std::getenv("OMP_WAIT_POLICY_ALL");
  const std::string all = saved_all ? saved_all : "";

  unset_wait_policy();
  EXPECT_EQ(thread_wait_policy(), "libgomp default");
  ::setenv("GOMP_SPINCOUNT", "680", 1);
  EXPECT_EQ(thread_wait_policy(), "GOMP_SPINCOUNT=680");
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  EXPECT_EQ(thread_wait_policy(), "OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=680");

  unset_wait_policy();
  if (saved_spin) ::setenv("GOMP_SPINCOUNT", spin.c_str(), 1);
  if (saved_policy) ::setenv("OMP_WAIT_POLICY", policy.c_str(), 1);
  if (saved_all) ::setenv("OMP_WAIT_POLICY_ALL", all.c_str(), 1);
  EXPECT_EQ(thread_wait_policy(), saved);
}

}  // namespace
}  // namespace squish
