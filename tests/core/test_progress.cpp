// format_progress_line: the full line, the forms it falls back to as the terminal narrows, and the
// width bound at every width a terminal can have.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/child_process.h"
#include "core/progress.h"

namespace squish {
namespace {

// 300 of 872 examples after 7.5 s: 40.0 examples/s, 14.3 s to go.
ProgressSnapshot midway() { return {"forward", "examples", 300, 872, 7.5, ""}; }

TEST(ProgressLine, FullLineOnAWideTerminal) {
  EXPECT_EQ(format_progress_line(midway(), 120),
            "forward [#############...........................]  300/872 examples   34%   40.0 examples/s  "
            "elapsed 0:07  ETA 0:14");
}

TEST(ProgressLine, EightyColumnsKeepABarAndDropTheRepeatedUnit) {
  const std::string line = format_progress_line(midway(), 80);
  EXPECT_EQ(line, "forward [####........]  300/872 examples   34%   40.0/s  elapsed 0:07  ETA 0:14");
  EXPECT_EQ(line.size(), 79u);
}

TEST(ProgressLine, NarrowTerminalsDropTheLeastUsefulPartsFirst) {
  EXPECT_EQ(format_progress_line(midway(), 75), "forward [#######..............]  300/872 examples   34%   40.0/s  ETA 0:14");
  EXPECT_EQ(format_progress_line(midway(), 62), "forward 300/872 examples   34%   40.0/s  ETA 0:14");
  EXPECT_EQ(format_progress_line(midway(), 40), "forward 300/872   34%  ETA 0:14");
  EXPECT_EQ(format_progress_line(midway(), 22), "forward 300/872   34%");
  EXPECT_EQ(format_progress_line(midway(), 17), "forward 300/872");
  EXPECT_EQ(format_progress_line(midway(), 10), "300/872");
  EXPECT_EQ(format_progress_line(midway(), 5), "300/");
  EXPECT_EQ(format_progress_line(midway(), 0), "");
}

TEST(ProgressLine, BarKeepsItsWidthAndPlaceFromStartToFinish) {
  // The rate's and the count's digits change from frame to frame; the bar must not twitch.
  const std::string first = format_progress_line({"forward", "examples", 0, 872, 0.0, ""}, 80);
  const std::string middle = format_progress_line({"forward", "examples", 96, 872, 0.07, ""}, 80);  // 1,371/s
  const std::string last = format_progress_line({"forward", "examples", 872, 872, 2.0, ""}, 80);
  EXPECT_EQ(first, "forward [............]    0/872 examples    0%      ?/s  elapsed 0:00  ETA ?:??");
  EXPECT_EQ(middle, "forward [#...........]   96/872 examples   11%  1,371/s  elapsed 0:00  ETA 0:00");
  EXPECT_EQ(last, "forward [############]  872/872 examples  100%    436/s  elapsed 0:02");
  EXPECT_EQ(first.find(']'), last.find(']'));
  EXPECT_EQ(middle.find("/s"), last.find("/s"));
}

TEST(ProgressLine, NeverReachesTheLastColumn) {
  const ProgressSnapshot big{"forward", "examples", 1234567, 25000000, 3725.0, ""};
  for (int columns = 0; columns <= 300; ++columns)
    for (const ProgressSnapshot& s : {midway(), big})
      EXPECT_LE(format_progress_line(s, columns).size(), static_cast<size_t>(std::max(columns - 1, 0))) << columns;
}

TEST(ProgressLine, LargeCountsAreSeparatedAndLongRunsShowHours) {
  const ProgressSnapshot s{"forward", "examples", 1234567, 25000000, 3725.0, ""};
  EXPECT_EQ(format_progress_line(s, 200),
            "forward [#.......................................]   1,234,567/25,000,000 examples    4%    331 examples/s  "
            "elapsed 1:02:05  ETA 19:55:06");  // 23,765,433 left at 331.4/s
}

TEST(ProgressLine, WithoutAUnit) {
  EXPECT_EQ(format_progress_line({"forward", "", 300, 872, 7.5, ""}, 80),
            "forward [#######..............]  300/872   34%   40.0/s  elapsed 0:07  ETA 0:14");
}

// Runs a bar over 5 items with stderr on `fd` in a child process; what the parent can then read
// from the other end is everything the bar drew.
int draw_five(int fd) {
  return test::exit_status_in_child([fd] {
    ::dup2(fd, STDERR_FILENO);
    ProgressBar bar("tokenize", 5, "examples");
    for (int i = 0; i < 5; ++i) bar.advance(1);
    bar.finish();
    return 0;
  });
}

std::string read_available(int fd) {
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return test::read_fd(fd);
}

TEST(ProgressBar, OnATerminalEachFrameClearsToTheEndOfTheLine) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  const winsize ws{24, 50, 0, 0};  // 50 columns: the bar must fit them
  ASSERT_EQ(::ioctl(terminal, TIOCSWINSZ, &ws), 0);
  ASSERT_EQ(draw_five(terminal), 0);
  const std::string drawn = read_available(master);
  ::close(terminal);
  ::close(master);
  // Advances come faster than the redraw interval, so the one frame is the final one; the terminal
  // turns "\n" into "\r\n".
  ASSERT_TRUE(drawn.starts_with("\rtokenize ")) << drawn;
  const size_t clear = drawn.find("\x1b[K");
  ASSERT_NE(clear, std::string::npos) << drawn;
  EXPECT_EQ(drawn.substr(clear), "\x1b[K\r\n");
  const std::string line = drawn.substr(1, clear - 1);
  EXPECT_LE(line.size(), 49u) << line;
  EXPECT_NE(line.find("5/5 examples  100%"), std::string::npos) << line;
}

TEST(ProgressBar, DrawsNothingWhenStderrIsNotATerminal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(draw_five(fds[1]), 0);
  ::close(fds[1]);
  EXPECT_EQ(read_available(fds[0]), "");
  ::close(fds[0]);
}

}  // namespace
}  // namespace squish
