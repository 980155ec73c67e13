// check_output_path and write_output on every kind of target a user can name: regular files, symlinks,
// devices, a FIFO, stdout, and the paths that must fail before any work or during the write.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "core/child_process.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/output_file.h"
#include "test_paths.h"

namespace squish {
namespace {

namespace fs = std::filesystem;

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// The IoError message of check_output_path, or a test failure when it accepts the path.
std::string check_error(const std::string& path, const std::string& flag = "--output") {
  try {
    check_output_path(path, flag);
  } catch (const IoError& e) {
    return e.what();
  }
  ADD_FAILURE() << path << " was accepted";
  return "";
}

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("output_file"); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(OutputFileTest, NewRegularFile) {
  const OutputPath o = check_output_path(path("r.json"), "--output");
  EXPECT_EQ(o.kind, OutputKind::kReplace);
  EXPECT_EQ(o.target, path("r.json"));
  EXPECT_FALSE(fs::exists(path("r.json"))) << "the check must not create the file";
  write_output(o, "{\"accuracy\": 0.8096}\n");
  EXPECT_EQ(read_file(path("r.json")), "{\"accuracy\": 0.8096}\n");
  EXPECT_EQ(names_in(dir_), (std::set<std::string>{"r.json"}));
}

TEST_F(OutputFileTest, ReplacesAnExistingFileKeepingItsPermissions) {
  write_output_file(path("r.json"), "--output", "old contents, longer than the new\n");
  ASSERT_EQ(::chmod(path("r.json").c_str(), 0640), 0);
  write_output_file(path("r.json"), "--output", "new\n");
  EXPECT_EQ(read_file(path("r.json")), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(path("r.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(names_in(dir_), (std::set<std::string>{"r.json"}));
}

TEST_F(OutputFileTest, SymlinkStaysALinkAndItsTargetGetsTheContents) {
  fs::create_directory(path("real"));
  write_output_file(path("real/r.json"), "", "old\n");
  fs::create_symlink("real/r.json", path("link.json"));
  const OutputPath o = check_output_path(path("link.json"), "--output");
  EXPECT_EQ(o.kind, OutputKind::kReplace);
  EXPECT_EQ(o.target, dir_ + "/real/r.json");
  write_output(o, "new\n");
  EXPECT_TRUE(fs::is_symlink(path("link.json")));
  EXPECT_EQ(fs::read_symlink(path("link.json")), "real/r.json");
  EXPECT_EQ(read_file(path("real/r.json")), "new\n");
  // The temporary file went beside the target, not beside the link, and is gone.
  EXPECT_EQ(names_in(path("real")), (std::set<std::string>{"r.json"}));
  EXPECT_EQ(names_in(dir_), (std::set<std::string>{"link.json", "real"}));
}

TEST_F(OutputFileTest, ChainOfSymlinksAndADanglingOne) {
  fs::create_symlink(path("b"), path("a"));
  fs::create_symlink("c.json", path("b"));  // c.json does not exist yet: writing creates it
  write_output_file(path("a"), "--predictions", "p\n");
  EXPECT_EQ(read_file(path("c.json")), "p\n");
  EXPECT_TRUE(fs::is_symlink(path("a")));
  EXPECT_TRUE(fs::is_symlink(path("b")));
}

TEST_F(OutputFileTest, SymlinkCycleFails) {
  fs::create_symlink(path("y"), path("x"));
  fs::create_symlink(path("x"), path("y"));
  const std::string msg = check_error(path("x"));
  EXPECT_NE(msg.find("levels of symlinks"), std::string::npos) << msg;
}

TEST_F(OutputFileTest, DevNullIsWrittenThroughAndStaysADevice) {
  const OutputPath o = check_output_path("/dev/null", "--output");
  // Asserted before writing: as root, a rename over /dev/null would replace the device.
  ASSERT_EQ(o.kind, OutputKind::kStream);
  write_output(o, "discarded\n");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(OutputFileTest, SymlinkToDevNull) {
  fs::create_symlink("/dev/null", path("sink"));
  const OutputPath o = check_output_path(path("sink"), "--output");
  ASSERT_EQ(o.kind, OutputKind::kStream);
  write_output(o, "discarded\n");
  EXPECT_TRUE(fs::is_symlink(path("sink")));
}

TEST_F(OutputFileTest, FifoIsWrittenThrough) {
  ASSERT_EQ(::mkfifo(path("pipe").c_str(), 0600), 0);
  const OutputPath o = check_output_path(path("pipe"), "--output");
  ASSERT_EQ(o.kind, OutputKind::kStream);
  std::string received;
  std::thread reader([&] { received = read_file(path("pipe")); });
  const std::string big(200000, 'z');  // more than a pipe buffer: the writer must loop over short writes
  write_output(o, big);
  reader.join();
  EXPECT_EQ(received, big);
  EXPECT_EQ(fs::status(path("pipe")).type(), fs::file_type::fifo);
}

TEST_F(OutputFileTest, DashIsStdout) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int status = test::exit_status_with_stdout(fds[1], [] {
    const OutputPath o = check_output_path("-", "--output");
    if (o.kind != OutputKind::kStdout) return 1;
    write_output(o, "to stdout\n");
    return 0;
  });
  ::close(fds[1]);
  char buf[64];
  const ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "to stdout\n");
  EXPECT_FALSE(fs::exists("-"));
}

TEST_F(OutputFileTest, DashOnAFullStdoutFailsNamingTheFlag) {
  const int full = ::open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0);
  const int status = test::exit_status_with_stdout(full, [] {
    try {
      write_output(check_output_path("-", "--output"), "lost\n");
    } catch (const IoError& e) {
      return std::string(e.what()).starts_with("--output -: stdout: ") ? 3 : 4;
    }
    return 0;
  });
  ::close(full);
  EXPECT_EQ(status, 3);
}

TEST_F(OutputFileTest, DevFullFailsWithIoError) {
  const OutputPath o = check_output_path("/dev/full", "--predictions");
  ASSERT_EQ(o.kind, OutputKind::kStream);
  try {
    write_output(o, "x\n");
    FAIL() << "writing /dev/full succeeded";
  } catch (const IoError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("--predictions /dev/full: write to /dev/full failed after 0 of 2 bytes"), 0u) << msg;
    EXPECT_EQ(e.code(), ExitCode::kIo);
  }
}

TEST_F(OutputFileTest, NonexistentParentDirectory) {
  const std::string missing = path("no/such/dir");
  EXPECT_EQ(check_error(missing + "/r.json"), "--output " + missing + "/r.json: directory " + missing + " does not exist");
  EXPECT_FALSE(fs::exists(path("no")));
}

TEST_F(OutputFileTest, ParentThatIsAFile) {
  write_output_file(path("file"), "", "x");
  const std::string msg = check_error(path("file/r.json"));
  EXPECT_NE(msg.find("--output " + path("file/r.json") + ": "), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a directory"), std::string::npos) << msg;
}

TEST_F(OutputFileTest, DirectoryAsPath) {
  EXPECT_EQ(check_error(dir_, "--json"), "--json " + dir_ + ": is a directory, expected a file");
  EXPECT_NE(check_error(dir_ + "/").find("directory path"), std::string::npos);
  fs::create_directory_symlink(dir_, path("dirlink"));
  EXPECT_NE(check_error(path("dirlink")).find("is a directory"), std::string::npos);
}

TEST_F(OutputFileTest, EmptyPathIsAUsageError) {
  EXPECT_THROW(check_output_path("", "--output"), UsageError);
}

TEST_F(OutputFileTest, DirectoryWhereNoFileCanBeCreatedEvenByRoot) {
  // The tests run as root, which writes into a 0555 directory regardless; /proc refuses new files to
  // everyone, so it shows the check tries a creation instead of trusting permission bits.
  const std::string msg = check_error("/proc/squish-report.json");
  EXPECT_NE(msg.find("--output /proc/squish-report.json: cannot create a file in directory /proc"), std::string::npos)
      << msg;
}

TEST_F(OutputFileTest, FailedWriteLeavesTheOldFileAndNoTemporary) {
  // A file size limit makes write(2) fail with EFBIG part-way, which is a disk filling up in
  // miniature and, unlike a 0555 directory, fails for root too. The child process owns the limit.
  write_output_file(path("r.json"), "", "old\n");
  const OutputPath o = check_output_path(path("r.json"), "--output");
  const int status = test::exit_status_in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{1000, 1000};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
    try {
      write_output(o, std::string(5000, 'n'));
    } catch (const IoError& e) {
      return std::string(e.what()).find("failed after 1000 of 5000 bytes") != std::string::npos ? 3 : 4;
    }
    return 0;
  });
  EXPECT_EQ(status, 3);
  EXPECT_EQ(read_file(path("r.json")), "old\n");
  EXPECT_EQ(names_in(dir_), (std::set<std::string>{"r.json"}));
}

TEST_F(OutputFileTest, FailedRenameLeavesNoTemporary) {
  // The path was fine when checked, but a directory took its place before the write.
  const OutputPath o = check_output_path(path("r.json"), "--output");
  fs::create_directory(path("r.json"));
  EXPECT_THROW(write_output(o, "x"), IoError);
  EXPECT_EQ(names_in(dir_), (std::set<std::string>{"r.json"}));
  EXPECT_TRUE(fs::is_directory(path("r.json")));
}

TEST_F(OutputFileTest, WriteFileAtomicKeepsWorkingForOldCallers) {
  write_file_atomic(path("legacy.json"), "{}\n");
  EXPECT_EQ(read_file(path("legacy.json")), "{}\n");
  try {
    write_file_atomic(path("missing/legacy.json"), "{}\n");
    FAIL() << "a missing directory was accepted";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), path("missing/legacy.json") + ": directory " + path("missing") + " does not exist");
  }
}

}  // namespace
}  // namespace squish
