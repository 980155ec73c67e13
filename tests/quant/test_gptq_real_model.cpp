// GPTQ on a real pre-trained encoder (shared/models/minilm-l6-sst2): Hessians from the first 128 SST-2 dev
// sentences, each encoder Linear's output error measured on the next 64, and the classifier's logits on the
// rest with every encoder Linear's weights replaced by their 2/4-bit values (fake quantization in fp32).
// Every Linear is quantized against the fp32 model's inputs (not layer after layer on the quantized model).
#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "io/tokenizer/tokenizer.h"
#include "kernels/lowbit_scheme.h"
#include "model/common/tap.h"
#include "model/load_model.h"
#include "quant/gptq.h"
#include "quant/hessian.h"
#include "test_paths.h"

namespace squish {
namespace {

constexpr int kMaxLength = 128;
constexpr int64_t kBatchSize = 8;
constexpr int64_t kCalibrationSentences = 128;
constexpr int64_t kHeldOutSentences = 64;
constexpr int64_t kGroupSize = 64;

std::string minilm_dir() { return test::shared_dir() + "/models/minilm-l6-sst2"; }

const Dataset& sst2_dev() {
  static const Dataset d = load_dataset(Task::kSst2, Split::kDev, test::shared_dir() + "/data");
  return d;
}

// Right-padded batches of examples [first, last) of SST-2 dev.
std::vector<TokenBatch> batches(const Tokenizer& tokenizer, int64_t first, int64_t last) {
  std::vector<TokenBatch> out;
  for (int64_t begin = first; begin < last; begin += kBatchSize) {
    std::vector<Encoding> encodings;
    for (int64_t i = begin; i < std::min(begin + kBatchSize, last); ++i)
      encodings.push_back(tokenizer.encode(sst2_dev().examples[static_cast<size_t>(i)].text, kMaxLength));
    TokenBatch b;
    b.batch = static_cast<int64_t>(encodings.size());
    for (const Encoding& e : encodings) b.tokens = std::max<int64_t>(b.tokens, static_cast<int64_t>(e.input_ids.size()));
    for (const Encoding& e : encodings) {
      b.lengths.push_back(static_cast<int32_t>(e.input_ids.size()));
      std::vector<int32_t> ids = e.input_ids, types = e.token_type_ids;
      ids.resize(static_cast<size_t>(b.tokens), tokenizer.pad_id());
      types.resize(static_cast<size_t>(b.tokens), 0);
      b.input_ids.insert(b.input_ids.end(), ids.begin(), ids.end());
      b.token_type_ids.insert(b.token_type_ids.end(), types.begin(), types.end());
    }
    out.push_back(std::move(b));
  }
  return out;
}

bool is_encoder(const Linear& l) { return l.layer >= 0; }

// ‖X Wᵀ − X Qᵀ‖_F for X [rows, k].
double output_error(const std::vector<float>& x, const Tensor& w, const std::vector<float>& q) {
  const int64_t n = w.dim(0), k = w.dim(1), rows = static_cast<int64_t>(x.size()) / k;
  std::vector<float> difference(static_cast<size_t>(n * k)), y(static_cast<size_t>(rows * n));
  for (size_t i = 0; i < difference.size(); ++i) difference[i] = w.values[i] - q[i];
  EXPECT_EQ(dnnl_sgemm('N', 'T', rows, n, k, 1.0f, x.data(), k, difference.data(), k, 0.0f, y.data(), n), dnnl_success);
  double sum = 0;
  for (float v : y) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

std::vector<float> dequantized(const GroupQuantized& q) {
  std::vector<float> w(static_cast<size_t>(q.n * q.k));
  dequantize_groups(q, w.data());
  return w;
}

// The logits of every batch, concatenated.
std::vector<float> all_logits(SequenceModel& model, const std::vector<TokenBatch>& eval) {
  std::vector<float> out, logits;
  for (const TokenBatch& b : eval) {
    model.forward(b, logits);
    out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

// Accuracy of two-label logits on SST-2 dev examples [first, ...).
double accuracy(const std::vector<float>& logits, int64_t first) {
  int64_t correct = 0;
  const int64_t count = static_cast<int64_t>(logits.size()) / 2;
  for (int64_t i = 0; i < count; ++i)
    correct += (logits[2 * i + 1] > logits[2 * i]) == (sst2_dev().examples[static_cast<size_t>(first + i)].label == 1);
  return static_cast<double>(correct) / static_cast<double>(count);
}

double mean_squared_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return sum / static_cast<double>(a.size());
}

// Every encoder Linear of `model` with its weights replaced by `quantize`'s dequantized values.
template <class Quantize>
void fake_quantize_encoder(SequenceModel& model, const Quantize& quantize) {
  for (Linear* l : model.mutable_linears()) {
    if (!is_encoder(*l)) continue;
    Tensor w = linear_dequantize(*l);
    const std::vector<float> q = dequantized(quantize(*l, w));
    std::copy(q.begin(), q.end(), w.values.begin());
    l->weights = dense_f32_weights(w);
  }
}

TEST(GptqRealModel, BeatsRoundToNearestOnEveryEncoderLinearOfMiniLm) {
  auto model = load_model(minilm_dir());
  const auto tokenizer = load_tokenizer(minilm_dir());
  const std::vector<TokenBatch> calibration = batches(*tokenizer, 0, kCalibrationSentences);
  const std::vector<TokenBatch> held_out = batches(*tokenizer, kCalibrationSentences, kCalibrationSentences + kHeldOutSentences);
  const auto hessians = collect_hessians(*model, calibration, is_encoder);
  ASSERT_EQ(hessians.size(), 6u * 4u);

  std::map<const Linear*, std::vector<float>> inputs;  // held-out inputs, unpadded rows
  Tap tap;
  tap.fn = [&](const TapPoint& p, const TapView& v) {
    if (p.site != TapSite::kLinearInput || !is_encoder(*p.linear)) return;
    for (int64_t r = 0; r < v.rows; ++r)
      if (v.valid_row(r)) inputs[p.linear].insert(inputs[p.linear].end(), v.data + r * v.cols, v.data + (r + 1) * v.cols);
  };
  ForwardOptions options;
  options.tap = &tap;
  std::vector<float> logits;
  for (const TokenBatch& b : held_out) model->forward(b, logits, options);

  for (int bits : {4, 2}) {
    double gptq_sum = 0, rtn_sum = 0;
    for (const Linear* l : model->linears()) {
      if (!is_encoder(*l)) continue;
      const Tensor w = linear_dequantize(*l);
      GptqOptions gptq_options;
      gptq_options.bits = bits;
      const double gptq = output_error(inputs.at(l), w,
                                       dequantized(gptq_quantize(w.data(), w.dim(0), w.dim(1), hessians.at(l->name), gptq_options)));
      const double rtn = output_error(inputs.at(l), w, dequantized(quantize_groups_rtn(w.data(), w.dim(0), w.dim(1), bits, kGroupSize)));
      EXPECT_LT(gptq, rtn) << bits << " bits, " << l->name;
      gptq_sum += gptq;
      rtn_sum += rtn;
    }
    // Measured: GPTQ's summed error is 0.66 of RTN's at 4 bits and 0.71 at 2 bits (per Linear 0.32..0.84).
    // With 32 calibration sentences (~800 tokens, fewer than FFN-out's 1536 inputs) GPTQ overfits: three
    // Linears came out worse than RTN at 2 bits, so calibration should see well over K tokens.
    EXPECT_LT(gptq_sum, 0.8 * rtn_sum) << bits << " bits";
  }
}

TEST(GptqRealModel, KeepsMiniLmsLogitsCloserToFp32ThanRoundToNearest) {
  const auto tokenizer = load_tokenizer(minilm_dir());
  const int64_t dev_size = static_cast<int64_t>(sst2_dev().examples.size());
  const std::vector<TokenBatch> calibration = batches(*tokenizer, 0, kCalibrationSentences);
  const std::vector<TokenBatch> eval = batches(*tokenizer, kCalibrationSentences, dev_size);
  auto reference = load_model(minilm_dir());
  const auto hessians = collect_hessians(*reference, calibration, is_encoder);
  const std::vector<float> fp32 = all_logits(*reference, eval);
  for (int bits : {4, 2}) {
    auto gptq_model = load_model(minilm_dir());
    GptqOptions options;
    options.bits = bits;
    fake_quantize_encoder(*gptq_model, [&](const Linear& l, const Tensor& w) {
      return gptq_quantize(w.data(), w.dim(0), w.dim(1), hessians.at(l.name), options);
    });
    auto rtn_model = load_model(minilm_dir());
    fake_quantize_encoder(*rtn_model, [&](const Linear&, const Tensor& w) {
      return quantize_groups_rtn(w.data(), w.dim(0), w.dim(1), bits, kGroupSize);
    });
    const std::vector<float> gptq = all_logits(*gptq_model, eval), rtn = all_logits(*rtn_model, eval);
    const double gptq_distance = mean_squared_difference(gptq, fp32), rtn_distance = mean_squared_difference(rtn, fp32);
    // Measured on the 744 dev sentences after the calibration ones, fp32 accuracy 0.8938: at 4 bits GPTQ's
    // mean squared logit difference is 0.039 (RTN 0.097), accuracy 0.8871 (RTN 0.8938); at 2 bits 3.45
    // (RTN 3.59), accuracy 0.6855 (RTN 0.6599). Accuracy itself moves by a few sentences at 4 bits either way.
    RecordProperty("accuracy_gptq_" + std::to_string(bits) + "bit", std::to_string(accuracy(gptq, kCalibrationSentences)));
    RecordProperty("accuracy_rtn_" + std::to_string(bits) + "bit", std::to_string(accuracy(rtn, kCalibrationSentences)));
    EXPECT_LT(gptq_distance, rtn_distance) << bits << " bits";
  }
}

}  // namespace
}  // namespace squish
