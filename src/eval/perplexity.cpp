#include "eval/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>

#include "core/communicator.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "io/datasets/jsonl.h"

namespace squish {
namespace {

struct Window {
  size_t text;
  int64_t begin, end;    // token range of the text
  int64_t first_target;  // the first window position scored (>= 1)
  size_t scored() const { return static_cast<size_t>(end - begin - first_target); }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> read_text_corpus(const std::string& path) {
  const std::string content = read_maybe_gzip(path);
  const std::string name = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path;
  if (!ends_with(name, ".jsonl") && !ends_with(name, ".json")) return {content};
  std::vector<std::string> texts;
  for_each_jsonl_object(path, content, [&](const nlohmann::json& j, const std::string& where) {
    if (!j.contains("text") || !j["text"].is_string())
      throw FormatError(where + ": expected an object with a string \"text\"");
    texts.push_back(j["text"].get<std::string>());
  });
  if (texts.empty()) throw FormatError(path + ": no texts");
  return texts;
}

PerplexityResult compute_perplexity(SequenceModel& model, const Tokenizer& tokenizer,
                                    const std::vector<std::string>& texts, const PerplexityOptions& options) {
  if (!model.info().has_lm_head)
    throw ConfigError(model.info().source + ": " + model.info().architecture +
                      " has no language-modelling head; perplexity is a causal LM's measure");
  const int64_t positions = model.info().limits.max_positions;
  const int64_t max_length = options.max_length > 0 ? options.max_length : positions;
  if (max_length > positions)
    throw UsageError("--max_length " + std::to_string(max_length) + ": expected at most " + std::to_string(positions) +
                     " (the model's positions)");
  if (max_length < 2) throw UsageError("--max_length " + std::to_string(max_length) + ": a window needs 2 tokens");
  const int64_t stride = options.stride > 0 ? options.stride : max_length;
  if (stride > max_length)
    throw UsageError("--stride " + std::to_string(stride) + ": expected at most --max_length " +
                     std::to_string(max_length) + " (a larger stride would skip tokens)");
  const auto start = std::chrono::steady_clock::now();
  PerplexityResult r;
  r.max_length = static_cast<int>(max_length);
  r.stride = static_cast<int>(stride);
  std::vector<Window> windows;
  for (size_t t = 0; t < texts.size(); ++t) {
    TextLogprobs text{tokenizer.encode_ids(texts[t], true), {}};
    const int64_t length = static_cast<int64_t>(text.input_ids.size());
    text.token_logprobs.assign(static_cast<size_t>(std::max<int64_t>(length - 1, 0)), 0.0);
    int64_t previous_end = 0;
    for (int64_t begin = 0; begin < length && previous_end < length; begin += stride) {
      const int64_t end = std::min(begin + max_length, length);
      const int64_t first_target = std::max<int64_t>(1, previous_end - begin);
      if (first_target < end - begin) windows.push_back({t, begin, end, first_target});
      previous_end = end;
    }
    r.texts.push_back(std::move(text));
  }
  std::stable_sort(windows.begin(), windows.end(),
                   [](const Window& a, const Window& b) { return a.end - a.begin > b.end - b.begin; });
  const size_t batch_size = static_cast<size_t>(std::max(1, options.batch_size));
  // This rank's batches (core/communicator.h); its windows and their log-probabilities in run order.
  std::vector<uint64_t> mine;
  std::vector<double> my_logprobs;
  const std::vector<BatchRange> batches = batches_here(windows.size(), batch_size);
  int64_t my_windows = 0;
  for (const BatchRange& b : batches) my_windows += static_cast<int64_t>(b.count);
  ProgressBar bar("perplexity", options.progress ? my_windows : 0, "windows");
  std::vector<double> logprobs;
  for (const auto& [first, count] : batches) {
    std::vector<std::span<const int32_t>> sequences;
    for (size_t s = 0; s < count; ++s) {
      const Window& w = windows[first + s];
      sequences.emplace_back(r.texts[w.text].input_ids.data() + w.begin, static_cast<size_t>(w.end - w.begin));
    }
    const TokenBatch b = right_padded_batch(sequences);
    std::vector<LogprobTarget> targets;
    for (size_t s = 0; s < count; ++s) {
      const Window& w = windows[first + s];
      const std::vector<int32_t>& ids = r.texts[w.text].input_ids;
      for (int64_t j = w.first_target; j < w.end - w.begin; ++j)
        targets.push_back({static_cast<int64_t>(s), j - 1, ids[static_cast<size_t>(w.begin + j)]});
      mine.push_back(first + s);
    }
    model.target_logprobs(b, targets, logprobs);
    my_logprobs.insert(my_logprobs.end(), logprobs.begin(),
                       logprobs.begin() + static_cast<std::ptrdiff_t>(targets.size()));
    bar.advance(static_cast<int64_t>(count));
  }
  bar.finish();
  gather_items<double>(
      mine, my_logprobs, [&](uint64_t window) { return windows[window].scored(); },
      [&](uint64_t window, const double* logprobs) {
        const Window& w = windows[window];
        std::copy_n(logprobs, w.scored(), r.texts[w.text].token_logprobs.begin() + (w.begin + w.first_target - 1));
      });
  double nll = 0;
  for (const TextLogprobs& t : r.texts) {
    for (double lp : t.token_logprobs) nll -= lp;
    r.scored_tokens += static_cast<int64_t>(t.token_logprobs.size());
  }
  r.windows = static_cast<int64_t>(windows.size());
  if (r.scored_tokens == 0) throw DataError("no text has two tokens: nothing to score");
  r.mean_nll = nll / static_cast<double>(r.scored_tokens);
  r.perplexity = std::exp(r.mean_nll);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace squish
