#include "eval/multiple_choice.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <span>

#include "core/communicator.h"
#include "core/error.h"
#include "core/progress.h"

namespace squish {
namespace {

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());  // the first of equal maxima
}

// One item laid out as one sequence: the context, then each continuation but its last token as its
// own branch; the targets are every continuation token, the first predicted from the context's last.
struct PackedItem {
  std::vector<int32_t> ids, branches;
  std::vector<LogprobTarget> targets;  // sequence 0; the caller sets the batch row
  std::vector<int> choice_of_target;
};

PackedItem pack(const EncodedItem& e) {
  PackedItem p;
  p.ids = e.context;
  p.branches.assign(e.context.size(), 0);
  const int64_t last_context = static_cast<int64_t>(e.context.size()) - 1;
  for (size_t k = 0; k < e.continuations.size(); ++k) {
    const std::vector<int32_t>& c = e.continuations[k];
    int64_t from = last_context;
    for (size_t j = 0; j < c.size(); ++j) {
      p.targets.push_back({0, from, c[j]});
      p.choice_of_target.push_back(static_cast<int>(k));
      if (j + 1 < c.size()) {  // the last token predicts nothing
        from = static_cast<int64_t>(p.ids.size());
        p.ids.push_back(c[j]);
        p.branches.push_back(static_cast<int32_t>(k + 1));
      }
    }
  }
  return p;
}

}  // namespace

int64_t utf8_length(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

double mean_stderr(const std::vector<double>& values) {
  const double n = static_cast<double>(values.size());
  if (values.size() < 2) return 0.0;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / (n - 1)) / std::sqrt(n);
}

EncodedItem encode_multiple_choice(const Tokenizer& tokenizer, const MultipleChoiceItem& item) {
  std::string context = item.query;
  size_t kept = context.size();
  while (kept > 0 && is_python_space(context[kept - 1])) --kept;
  const std::string moved = context.substr(kept);
  context.resize(kept);
  EncodedItem e;
  e.context = tokenizer.encode_ids(context, true);
  if (e.context.empty()) {
    const std::optional<int32_t> prefix = tokenizer.bos_id() ? tokenizer.bos_id() : tokenizer.eos_id();
    if (!prefix) throw ConfigError("an empty context needs a BOS or EOS token, and the tokenizer has neither");
    e.context = {*prefix};
  }
  for (const std::string& choice : item.choices) {
    const std::vector<int32_t> whole = tokenizer.encode_ids(context + moved + " " + choice, true);
    const size_t skip = std::min(whole.size(), e.context.size());
    e.continuations.emplace_back(whole.begin() + static_cast<std::ptrdiff_t>(skip), whole.end());
  }
  return e;
}

MultipleChoiceResult score_multiple_choice(SequenceModel& model, const Tokenizer& tokenizer,
                                           const std::vector<MultipleChoiceItem>& items,
                                           const MultipleChoiceOptions& options) {
  if (!model.info().has_lm_head)
    throw ConfigError(model.info().source + ": " + model.info().architecture +
                      " has no language-modelling head; multiple-choice tasks score a causal LM");
  const auto start = std::chrono::steady_clock::now();
  std::vector<PackedItem> packed;
  MultipleChoiceResult r;
  r.items.resize(items.size());
  const int64_t positions = model.info().limits.max_positions;
  for (size_t i = 0; i < items.size(); ++i) {
    const EncodedItem e = encode_multiple_choice(tokenizer, items[i]);
    packed.push_back(pack(e));
    ChoiceScores& s = r.items[i];
    s.context_tokens = static_cast<int64_t>(e.context.size());
    s.loglikelihoods.assign(items[i].choices.size(), 0.0);
    for (const auto& c : e.continuations) {
      s.continuation_tokens += static_cast<int64_t>(c.size());
      r.harness_tokens += static_cast<int64_t>(e.context.size() + c.size()) - 1;
      if (static_cast<int64_t>(e.context.size() + c.size()) - 1 > positions)
        throw ShapeError("item " + std::to_string(i) + ": its context and an ending take " +
                         std::to_string(e.context.size() + c.size() - 1) + " tokens, over the model's " +
                         std::to_string(positions) + " positions");
    }
    r.forwarded_tokens += static_cast<int64_t>(packed.back().ids.size());
  }
  // Longest first, so a batch holds items of similar length and little padding.
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return packed[a].ids.size() > packed[b].ids.size(); });
  const size_t batch_size = static_cast<size_t>(std::max(1, options.batch_size));
  // This rank's batches (core/communicator.h); its items and their sums in the order it ran them.
  std::vector<uint64_t> mine;
  std::vector<double> my_sums;
  const std::vector<BatchRange> batches = batches_here(order.size(), batch_size);
  int64_t my_items = 0;
  for (const BatchRange& b : batches) my_items += static_cast<int64_t>(b.count);
  ProgressBar bar("hellaswag", options.progress ? my_items : 0, "items");
  std::vector<double> logprobs;
  for (const auto& [first, count] : batches) {
    std::vector<std::span<const int32_t>> sequences;
    for (size_t s = 0; s < count; ++s) sequences.emplace_back(packed[order[first + s]].ids);
    TokenBatch b = right_padded_batch(sequences);
    b.branch_ids.assign(b.input_ids.size(), 0);
    std::vector<LogprobTarget> targets;
    for (size_t s = 0; s < count; ++s) {
      const PackedItem& p = packed[order[first + s]];
      std::copy(p.branches.begin(), p.branches.end(),
                b.branch_ids.begin() + static_cast<std::ptrdiff_t>(static_cast<int64_t>(s) * b.tokens));
      for (LogprobTarget t : p.targets) {
        t.sequence = static_cast<int64_t>(s);
        targets.push_back(t);
      }
    }
    model.target_logprobs(b, targets, logprobs);
    size_t k = 0;
    for (size_t s = 0; s < count; ++s) {
      const size_t item = order[first + s];
      const PackedItem& p = packed[item];
      std::vector<double>& ll = r.items[item].loglikelihoods;
      for (size_t t = 0; t < p.targets.size(); ++t) ll[static_cast<size_t>(p.choice_of_target[t])] += logprobs[k++];
      mine.push_back(item);
      my_sums.insert(my_sums.end(), ll.begin(), ll.end());
    }
    bar.advance(static_cast<int64_t>(count));
  }
  bar.finish();
  gather_items<double>(
      mine, my_sums, [&](uint64_t item) { return r.items[item].loglikelihoods.size(); },
      [&](uint64_t item, const double* sums) {
        std::vector<double>& ll = r.items[item].loglikelihoods;
        std::copy_n(sums, ll.size(), ll.begin());
      });
  std::vector<double> correct, correct_norm;
  for (size_t i = 0; i < items.size(); ++i) {
    ChoiceScores& s = r.items[i];
    std::vector<double> per_char(s.loglikelihoods.size());
    for (size_t k = 0; k < per_char.size(); ++k)
      per_char[k] = s.loglikelihoods[k] / static_cast<double>(utf8_length(items[i].choices[k]));
    s.pred = argmax(s.loglikelihoods);
    s.pred_norm = argmax(per_char);
    if (items[i].gold < 0) continue;
    correct.push_back(s.pred == items[i].gold ? 1.0 : 0.0);
    correct_norm.push_back(s.pred_norm == items[i].gold ? 1.0 : 0.0);
  }
  r.labeled = static_cast<int64_t>(correct.size());
  if (r.labeled > 0) {
    r.acc = std::accumulate(correct.begin(), correct.end(), 0.0) / static_cast<double>(r.labeled);
    r.acc_norm = std::accumulate(correct_norm.begin(), correct_norm.end(), 0.0) / static_cast<double>(r.labeled);
    r.acc_stderr = mean_stderr(correct);
    r.acc_norm_stderr = mean_stderr(correct_norm);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace squish
