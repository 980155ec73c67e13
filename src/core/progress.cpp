#include "core/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "core/communicator.h"
#include "core/human_format.h"

namespace squish {
namespace {

constexpr int kDefaultColumns = 80;  // when stderr's terminal does not say (or stderr is no terminal)
constexpr int kMinBar = 10;          // narrower than this a bar says less than the percentage beside it
constexpr int kMaxBar = 40;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return kDefaultColumns;
}

std::string bar(double fraction, int width) {
  const int filled = std::clamp(static_cast<int>(fraction * width), 0, width);
  return fmt::format("[{}{}]", std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(width - filled), '.'));
}

// One part of the line with the width it is given on every redraw: the widest it will usually get,
// so that the bar keeps its length and the parts their places while the numbers change.
struct Part {
  std::string text;
  size_t width;
};

Part part(std::string text, size_t usual_width) {
  const size_t width = std::max(text.size(), usual_width);
  return {std::move(text), width};
}

// The columns `parts` take: every part's width, an empty one (the ETA once done) included, so
// that finishing does not widen the bar.
size_t width_of(const std::vector<Part>& parts) {
  size_t w = 0;
  for (const auto& p : parts) w += p.width + (w == 0 ? 0 : 2);
  return w;
}

// Right-aligned in their widths (they are numbers), two spaces apart, empty parts left out.
std::string render(const std::vector<Part>& parts) {
  std::string line;
  for (const auto& p : parts) {
    if (p.text.empty()) continue;
    if (!line.empty()) line += "  ";
    line.append(p.width - p.text.size(), ' ').append(p.text);
  }
  return line;
}

}  // namespace

std::string format_progress_line(const ProgressSnapshot& s, int columns) {
  const size_t room = static_cast<size_t>(std::max(columns - 1, 0));
  const bool done = s.done >= s.total;
  const double fraction = s.total > 0 ? std::clamp(static_cast<double>(s.done) / static_cast<double>(s.total), 0.0, 1.0) : 1.0;
  const double rate = s.elapsed_seconds > 0 ? static_cast<double>(s.done) / s.elapsed_seconds : -1;
  const std::string unit = s.unit.empty() ? "" : fmt::format(" {}", s.unit);

  const std::string label(s.label);
  const std::string rate_text = format_rate(rate);
  const double seconds_left = rate > 0 ? static_cast<double>(s.total - s.done) / rate : -1;
  // Usual widths: the count at its total, 100%, a rate of four digits ("1,234"), under an hour.
  const std::string full_count = fmt::format("{0}/{0}", format_count(s.total));
  const Part count = part(fmt::format("{}/{}", format_count(s.done), format_count(s.total)), full_count.size());
  const Part count_unit = part(count.text + unit, full_count.size() + unit.size());
  const Part percent = part(fmt::format("{}%", static_cast<int>(fraction * 100)), 4);
  const Part rate_with_unit = part(fmt::format("{}{}/s", rate_text, unit), 5 + unit.size() + 2);
  const Part rate_short = part(fmt::format("{}/s", rate_text), 5 + 2);
  const Part elapsed = part(fmt::format("elapsed {}", format_duration(s.elapsed_seconds)), 12);
  const Part eta = part(done ? "" : fmt::format("ETA {}", format_duration(seconds_left)), 8);

  // From the richest line to the barest; the first that fits wins. A bar is worth more than the
  // unit repeated in the rate or the elapsed time, less than the rate or the ETA.
  std::vector<std::vector<Part>> forms = {
      {count_unit, percent, rate_with_unit, elapsed, eta},
      {count_unit, percent, rate_short, elapsed, eta},
      {count_unit, percent, rate_short, eta},
      {count_unit, percent, eta},
      {count, percent, eta},
      {count, percent},
      {count},
  };
  size_t forms_with_bar = 3;
  if (!s.detail.empty()) {
    const Part detail = part(std::string(s.detail), s.detail.size());
    forms.insert(forms.begin(), {{count_unit, percent, detail, rate_with_unit, elapsed, eta},
                                 {count_unit, percent, detail, rate_short, eta}});
    forms_with_bar += 2;
  }
  const std::string prefix = label + " ";
  for (size_t i = 0; i < forms_with_bar; ++i) {
    const size_t without_bar = prefix.size() + 2 + 2 + width_of(forms[i]);  // "[" "]" and the gap after it
    if (without_bar + kMinBar <= room) {
      const int width = static_cast<int>(std::min<size_t>(kMaxBar, room - without_bar));
      return prefix + bar(fraction, width) + "  " + render(forms[i]);
    }
  }
  for (const auto& form : forms)
    if (prefix.size() + width_of(form) <= room) return prefix + render(form);
  // Narrower than the label and the count: the count alone, cut if it must be.
  return count.text.substr(0, room);
}

namespace {
std::atomic<bool> line_open{false};  // a bar's line is on the terminal without its newline
}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1 && is_output_rank()) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > kRedrawInterval) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_draw) {
  if (!enabled_ || total_ <= 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string line = format_progress_line({label_, unit_, done_, total_, elapsed, detail_}, terminal_columns());
  // "\r" returns to the line's start, ESC[K erases what a longer earlier line left to the right.
  const std::string frame = "\r" + line + "\x1b[K" + (final_draw ? "\n" : "");
  std::fwrite(frame.data(), 1, frame.size(), stderr);
  std::fflush(stderr);
  line_open.store(!final_draw);
}

bool progress_line_open() { return line_open.load(); }

void print_progress_note(std::string_view line) {
  if (!is_output_rank()) return;  // every rank has the same note
  std::string text = line_open.exchange(false) ? "\r\x1b[K" : "";
  text.append(line).append("\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace squish
