// write_stdout/flush_stdout against a pipe that takes everything and /dev/full, which refuses every
// byte: the refusal must become an IoError, including for bytes printf buffered earlier.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "core/checked_stdout.h"
#include "core/error.h"
#include "core/child_process.h"

namespace squish {
namespace {

constexpr int kIoErrorWithStdoutInMessage = 3;
constexpr int kNoError = 0;
constexpr int kOtherMessage = 4;

int run_and_classify(const std::function<void()>& body) {
  try {
    body();
  } catch (const IoError& e) {
    return std::string(e.what()).starts_with("stdout: ") ? kIoErrorWithStdoutInMessage : kOtherMessage;
  }
  return kNoError;
}

TEST(CheckedStdout, WritesInOrderWithPrintfAndCout) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int status = test::exit_status_with_stdout(fds[1], [] {
    return run_and_classify([] {
      std::printf("a=%d\n", 1);
      write_stdout("b\n");
      std::cout << "c\n";
      flush_stdout();
    });
  });
  ::close(fds[1]);
  EXPECT_EQ(test::read_fd(fds[0]), "a=1\nb\nc\n");
  ::close(fds[0]);
  EXPECT_EQ(status, kNoError);
}

TEST(CheckedStdout, DevFullFailsAtTheFlush) {
  const int full = ::open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0) << "/dev/full is needed for this test";
  EXPECT_EQ(test::exit_status_with_stdout(full, [] {
              return run_and_classify([] {
                write_stdout("{\"accuracy\": 0.81}\n");
                flush_stdout();
              });
            }),
            kIoErrorWithStdoutInMessage);
  ::close(full);
}

TEST(CheckedStdout, FailureOfAnEarlierUncheckedPrintfIsReported) {
  // 64 KiB of printf overflows stdio's buffer, so stdio flushes (and fails) inside printf, whose
  // result is ignored; the final flush then has nothing left to write but must still report it.
  const int full = ::open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0) << "/dev/full is needed for this test";
  EXPECT_EQ(test::exit_status_with_stdout(full, [] {
              return run_and_classify([] {
                const std::string line(1023, 'x');
                for (int i = 0; i < 64; ++i) std::printf("%s\n", line.c_str());
                flush_stdout();
              });
            }),
            kIoErrorWithStdoutInMessage);
  ::close(full);
}

TEST(CheckedStdout, NothingWrittenIsNotAnError) {
  const int null = ::open("/dev/null", O_WRONLY);
  ASSERT_GE(null, 0);
  EXPECT_EQ(test::exit_status_with_stdout(null, [] { return run_and_classify([] { flush_stdout(); }); }), kNoError);
  ::close(null);
}

}  // namespace
}  // namespace squish
