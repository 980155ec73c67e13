// Causal LMs in squish's container: tiny Llama (untied and tied heads) and OPT checkpoints quantized
// by each scheme (static W8A8 calibrated through SequenceModel::trace, grouped low-bit weights, int8
// embedding rows that a tied head computes with) are saved, reloaded and saved again as the same
// bytes, computing the same log-probabilities bit for bit, int8 attention and an int8 tied head
// included; a plan naming a Linear the model lacks, or an int8 tied head it cannot have, is refused.
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "io/safetensors_writer.h"
#include "model/common/linear_formats.h"
#include "model/load_model.h"
#include "quant/bit_plan.h"
#include "quant/calibration.h"
#include "quant/quantize_model.h"
#include "test_paths.h"

namespace squish {
namespace {

// Two sequences, the second right-padded, every position's next token a target.
TokenBatch decoder_batch(std::vector<LogprobTarget>& targets) {
  return test::next_token_batch({{1, 5, 9, 13, 17, 21, 2}, {1, 6, 10, 2}}, 0, targets);
}

std::vector<double> logprobs_of(SequenceModel& model) {
  std::vector<LogprobTarget> targets;
  const TokenBatch b = decoder_batch(targets);
  std::vector<double> out;
  model.target_logprobs(b, targets, out);
  return out;
}

// The model's container under a fresh directory, recording `plan` (default: the model's own).
std::string save(const SequenceModel& model, const std::string& tag, const std::optional<ContainerPlan>& plan = {}) {
  const std::string dir = test::temp_dir(tag);
  write_file_atomic(dir + "/config.json", model.info().config_text);
  write_safetensors(dir + "/model.safetensors", model.container_tensors(),
                    container_metadata(plan ? *plan : model.container_plan()));
  return dir;
}

void expect_round_trip(SequenceModel& model, const std::string& tag) {
  const std::string first = save(model, tag + "1");
  const auto reloaded = load_model(first);
  EXPECT_TRUE(reloaded->info().squish_container);
  EXPECT_TRUE(reloaded->info().unused_tensors.empty());
  EXPECT_EQ(read_file(first + "/model.safetensors"), read_file(save(*reloaded, tag + "2") + "/model.safetensors"));
  EXPECT_EQ(logprobs_of(model), logprobs_of(*reloaded));
  ASSERT_EQ(model.linears().size(), reloaded->linears().size());
  for (size_t i = 0; i < model.linears().size(); ++i)
    EXPECT_EQ(model.linears()[i]->weights->format(), reloaded->linears()[i]->weights->format());
  EXPECT_EQ(model.container_plan().embeddings, reloaded->container_plan().embeddings);
  EXPECT_EQ(model.container_plan().int8_tied_head, reloaded->container_plan().int8_tied_head);
}

const std::vector<std::string> kDecoders = {"llama/tiny_untied", "llama/tiny_tied", "opt/tiny"};

TEST(DecoderContainer, StaticInt8CalibratedThroughTraceRoundTripsBitExactly) {
  for (const std::string& name : kDecoders) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    std::vector<LogprobTarget> targets;
    const TokenBatch batch = decoder_batch(targets);
    const QuantizeOptions options{WeightGranularity::kPerChannel, true, true};  // the head and embeddings too
    const CalibrationResult c = calibrate(*model, {&batch, 1}, {}, kActivationQmax,
                                          [&](const Linear& l) { return quantized_by_default(l, options); });
    // trace hands the Tap every Linear's input, an untied head's included.
    std::set<std::string> calibrated;
    for (const auto& [linear, range] : c.input_ranges) calibrated.insert(linear);
    for (const Linear* l : model->linears()) EXPECT_TRUE(calibrated.count(l->name)) << l->name;
    const std::vector<double> fp32 = logprobs_of(*model);
    quantize_static(*model, options, c.input_ranges);
    EXPECT_EQ(model->container_plan().embeddings, "int8-rows");
    const std::vector<double> int8 = logprobs_of(*model);
    ASSERT_EQ(int8.size(), fp32.size());
    double worst = 0;
    for (size_t i = 0; i < fp32.size(); ++i) worst = std::max(worst, std::fabs(int8[i] - fp32[i]));
    EXPECT_GT(worst, 0.0);   // the quantized model really computes in int8
    EXPECT_LT(worst, 0.05);  // and stays close to fp32 on random weights
    expect_round_trip(*model, "decoder_static");
  }
}

TEST(DecoderContainer, GroupedLowBitPlanRoundTripsBitExactly) {
  for (const std::string& name : kDecoders) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    BitPlan plan;
    int bits = 4;
    for (const Linear* l : model->linears()) {
      plan.linears[l->name] = "int" + std::to_string(bits) + "-g16";
      bits = bits == 4 ? 2 : 4;
    }
    plan.embeddings = "int4-g16";
    apply_bit_plan(*model, plan);
    expect_round_trip(*model, "decoder_lowbit");
  }
}

// Causal int8 attention (kernels/attention_int8.h) is recorded by the container and computed again
// by the reloaded model, bit for bit, on every decoder architecture.
TEST(DecoderContainer, Int8AttentionIsStoredAndReloaded) {
  for (const std::string& name : kDecoders) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    quantize_dynamic(*model, {});
    const std::vector<double> fp32_attention = logprobs_of(*model);
    model->set_attention_arithmetic(AttentionArithmetic::kInt8);
    EXPECT_EQ(model->attention_arithmetic(), AttentionArithmetic::kInt8);
    const std::vector<double> int8_attention = logprobs_of(*model);
    EXPECT_NE(fp32_attention, int8_attention);  // the products really are quantized
    ASSERT_EQ(fp32_attention.size(), int8_attention.size());
    for (size_t i = 0; i < fp32_attention.size(); ++i) EXPECT_NEAR(fp32_attention[i], int8_attention[i], 0.02);
    expect_round_trip(*model, "decoder_int8_attention");
    const auto reloaded = load_model(save(*model, "decoder_int8_attention_reloaded"));
    EXPECT_EQ(reloaded->attention_arithmetic(), AttentionArithmetic::kInt8);
    EXPECT_EQ(logprobs_of(*reloaded), int8_attention);
  }
}

// --quantize_head on a tied head: the int8 rows of --quantize_embeddings on the int8 GEMM (activations
// int8 per row), recorded as squish.tied_head and computed again, bit for bit, after reloading.
TEST(DecoderContainer, TiedHeadOnInt8RowsIsStoredAndReloaded) {
  for (const std::string& name : {std::string("llama/tiny_tied"), std::string("opt/tiny")}) {
    SCOPED_TRACE(name);
    auto model = load_model(test::fixtures_dir() + "/" + name);
    ASSERT_TRUE(model->info().tied_lm_head);
    QuantizeOptions options{WeightGranularity::kPerChannel, false, true};  // int8-rows table, its values in fp32
    quantize_dynamic(*model, options);
    EXPECT_FALSE(model->container_plan().int8_tied_head);
    const std::vector<double> table_head = logprobs_of(*model);
    options.quantize_head = true;
    quantize_embeddings_if_asked(*model, options);
    ASSERT_TRUE(model->container_plan().int8_tied_head);
    const std::vector<double> int8_head = logprobs_of(*model);
    EXPECT_NE(table_head, int8_head);  // its activations really are quantized
    ASSERT_EQ(table_head.size(), int8_head.size());
    for (size_t i = 0; i < table_head.size(); ++i) EXPECT_NEAR(table_head[i], int8_head[i], 0.02);
    expect_round_trip(*model, "decoder_int8_tied_head");
    EXPECT_EQ(logprobs_of(*load_model(save(*model, "decoder_int8_tied_head_reloaded"))), int8_head);
  }
}

TEST(DecoderContainer, RefusesAnInt8TiedHeadWithoutInt8RowsOrATiedHead) {
  auto expect_refused = [](SequenceModel& model, ContainerPlan plan, const std::string& tag, const std::string& what) {
    const std::string dir = save(model, tag, plan);
    try {
      load_model(dir);
      FAIL() << tag << ": loaded";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("squish.tied_head"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  auto tied = load_model(test::fixtures_dir() + "/llama/tiny_tied");
  quantize_dynamic(*tied, {});
  ContainerPlan plan = tied->container_plan();  // f32 table
  plan.int8_tied_head = true;
  expect_refused(*tied, plan, "tied_head_f32_table", "needs an int8-rows table");
  auto untied = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  quantize_dynamic(*untied, {WeightGranularity::kPerChannel, false, true});
  plan = untied->container_plan();
  plan.int8_tied_head = true;
  expect_refused(*untied, plan, "tied_head_untied", "whose lm_head is its own");
  // An unknown value, written by hand.
  auto metadata = container_metadata(tied->container_plan());
  metadata["squish.embeddings"] = "int8-rows";
  metadata["squish.tied_head"] = "int4";
  try {
    read_container_plan(metadata, "m.safetensors");
    FAIL() << "squish.tied_head int4 was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("expected int8-dynamic"), std::string::npos) << e.what();
  }
}

TEST(DecoderContainer, RefusesAPlanNamingALinearTheModelLacks) {
  auto model = load_model(test::fixtures_dir() + "/llama/tiny_untied");
  quantize_dynamic(*model, {});
  ContainerPlan plan = model->container_plan();
  plan.linears["model.layers.9.mlp.down_proj"] = "int8-dynamic";
  const std::string dir = save(*model, "decoder_foreign_plan", plan);
  try {
    load_model(dir);
    FAIL() << "a plan naming a Linear the model lacks was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.9.mlp.down_proj"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace squish
