// A progress bar on stderr for long work, drawn only when stderr is a terminal so logs and CI
// output stay clean. Each redraw fits the terminal's width and clears what an earlier, longer line
// left behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace squish {

// Everything one line of progress shows.
struct ProgressSnapshot {
  std::string_view label;  // "forward"
  std::string_view unit;   // "examples"; empty: counts without a unit
  int64_t done = 0;
  int64_t total = 0;
  double elapsed_seconds = 0;
  std::string_view detail;  // what the work reports of itself ("loss 0.312  lr 4.1e-05"); may be empty
};

// The line, without "\r" or escapes, at most `columns - 1` characters (a character in the last
// column makes some terminals wrap). The richest form, e.g. at 120 columns
//   "forward [#############...........................]  300/872 examples   34%   40.0 examples/s  elapsed 0:07  ETA 0:14"
// and as the terminal narrows: a shorter bar, "40.0/s" for the rate, no elapsed time, no bar, no rate,
// no unit, no percentage, no label, and last the count cut. Numbers are right-aligned in the width
// they usually reach (the count at its total, 100%, a 4-digit rate), so the bar keeps its length and
// place from the first frame to the last. Once done >= total the ETA is left out; with nothing
// measured yet the rate is "?/s" and the ETA "?:??". A detail goes after the percentage in the
// widest forms and is the first thing dropped.
std::string format_progress_line(const ProgressSnapshot& s, int columns);

// Whether a bar's line is on stderr without its final newline (an interrupt ends it first).
bool progress_line_open();
// A line of its own on stderr while a bar may be drawing (an evaluation during training): the bar's
// unfinished line is erased first instead of being left behind as a stale bar, and the bar draws
// again below at its next advance.
void print_progress_note(std::string_view line);

class ProgressBar {
 public:
  // total <= 0 draws nothing (callers pass 0 to turn the bar off).
  ProgressBar(std::string label, int64_t total, std::string unit = "");
  ~ProgressBar();
  void advance(int64_t n);
  // Shown from the next redraw on.
  void set_detail(std::string detail) { detail_ = std::move(detail); }
  // Draws the final line and a newline; later calls and the destructor do nothing.
  void finish();

 private:
  void draw(bool final_draw);
  std::string label_, unit_, detail_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace squish
