// Pruned models in squish's container (model/common/sparse_linear_weights.h): saved, reloaded and
// saved again is the same bytes and the same logits at ~50% and ~95% zeros (the bitmask and CSR
// encodings both), each module stores the smaller encoding and the file is exactly its tensors plus
// the header, hostile tensors are refused by name, and the CLI reads the container like any model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "common/token_batches.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/staged_directory.h"
#include "eval/export.h"
#include "io/format_error.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "model/common/sparse_linear_weights.h"
#include "model/load_model.h"
#include "test_paths.h"

namespace squish {
namespace {

using test::small_batch;

// bert-tiny (K = 128 and 512): wide enough that CSR wins for the FFN's output at 95% zeros.
std::string tiny_model_dir() { return test::shared_dir() + "/models/bert-tiny-sst2-scratch"; }

// Zeros the smallest `sparsity` of each encoder Linear's weights (ties by position) and makes the
// Linear dense (`sparse` false) or sparse over the same values.
void prune_encoder(SequenceModel& model, double sparsity, bool sparse) {
  for (Linear* l : model.mutable_linears()) {
    if (l->layer < 0) continue;
    Tensor w = linear_dequantize(*l);
    std::vector<int64_t> order(w.values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::fabs(w.values[static_cast<size_t>(a)]) < std::fabs(w.values[static_cast<size_t>(b)]);
    });
    const auto pruned = static_cast<size_t>(std::llround(sparsity * static_cast<double>(order.size())));
    for (size_t i = 0; i < pruned; ++i) w.values[static_cast<size_t>(order[i])] = 0.0f;
    l->weights = sparse ? sparse_f32_weights(w) : dense_f32_weights(w);
  }
}

std::unique_ptr<SequenceModel> pruned_tiny(double sparsity, bool sparse = true) {
  auto model = load_model(tiny_model_dir());
  prune_encoder(*model, sparsity, sparse);
  return model;
}

std::string save(const SequenceModel& model, const std::string& tag) {
  const std::string dir = test::temp_dir(tag) + "/model";
  StagedDirectory out(dir);
  write_squish_model(model, tiny_model_dir(), out);
  out.commit();
  return dir;
}

int64_t count_nonzero(const float* v, int64_t n) {
  return std::count_if(v, v + n, [](float x) { return x != 0.0f; });
}

TEST(SparseContainer, RoundTripsBitExactlyAtHalfAndNineteenTwentiethsZeros) {
  for (const double sparsity : {0.5, 0.95}) {
    SCOPED_TRACE(sparsity);
    auto model = pruned_tiny(sparsity);
    const std::string first = save(*model, "sparse1");
    const auto reloaded = load_model(first);
    EXPECT_TRUE(reloaded->info().squish_container);
    EXPECT_EQ(read_file(first + "/model.safetensors"), read_file(save(*reloaded, "sparse2") + "/model.safetensors"));
    std::vector<float> a, b;
    model->forward(small_batch(), a);
    reloaded->forward(small_batch(), b);
    EXPECT_EQ(a, b);
    ASSERT_EQ(model->linears().size(), reloaded->linears().size());
    for (size_t i = 0; i < model->linears().size(); ++i) {
      const Linear& before = *model->linears()[i];
      const Linear& after = *reloaded->linears()[i];
      EXPECT_EQ(after.weights->format(), before.layer >= 0 ? "sparse" : "f32") << after.name;
      EXPECT_EQ(linear_dequantize(before).values, linear_dequantize(after).values) << after.name;
      if (const SparseLinearWeights* s = sparse_weights_of(after)) {
        const int64_t n = after.out_features() * after.in_features();
        EXPECT_EQ(s->nonzeros(), n - std::llround(sparsity * static_cast<double>(n))) << after.name;
      }
    }
  }
}

// Which encoding each HF module's weights were stored in, by module name.
std::map<std::string, std::string> encodings(const TensorMap& t) {
  std::map<std::string, std::string> out;
  for (const auto& [name, tensor] : t) {
    if (name.ends_with(".weight_mask")) out[name.substr(0, name.size() - 12)] = "bitmask";
    if (name.ends_with(".weight_indptr")) out[name.substr(0, name.size() - 14)] = "csr";
  }
  return out;
}

TEST(SparseContainer, EachModuleStoresTheSmallerEncoding) {
  auto half = pruned_tiny(0.5);
  const TensorMap t50 = read_safetensors(save(*half, "sparse_half") + "/model.safetensors");
  std::map<std::string, int> by_encoding;
  for (const auto& [module, encoding] : encodings(t50)) ++by_encoding[encoding];
  EXPECT_EQ(by_encoding, (std::map<std::string, int>{{"bitmask", 12}}));  // 2 layers × (Q, K, V, O, FFN in, out)

  auto sparse = pruned_tiny(0.95);
  const std::string path = save(*sparse, "sparse_95") + "/model.safetensors";
  const TensorMap t = read_safetensors(path);
  const std::map<std::string, std::string> e = encodings(t);
  // At 5% density K = 512 is past the crossover (1/16 − 2/K ≈ 5.9%), K = 128 is not (4.7%). (Q, K and V
  // are pruned as one Linear, so each of them alone may be sparser or denser.)
  EXPECT_EQ(e.at("bert.encoder.layer.1.output.dense"), "csr");
  EXPECT_EQ(e.at("bert.encoder.layer.1.attention.output.dense"), "bitmask");
  const std::string csr = "bert.encoder.layer.0.output.dense";
  EXPECT_EQ(t.at(csr + ".weight_indices").dtype, DType::kU16);
  EXPECT_EQ(t.at(csr + ".weight_indptr").shape, (Shape{129}));
  EXPECT_EQ(t.at("bert.encoder.layer.0.attention.self.query.weight_mask").shape, (Shape{128, 16}));
  EXPECT_EQ(t.count(csr + ".weight"), 0u);

  int64_t stored = 0, expected = 0, everything = 0;
  for (const auto& [name, tensor] : t) everything += static_cast<int64_t>(tensor.nbytes);
  for (const Linear* l : sparse->linears()) {
    if (l->layer < 0) continue;
    const Tensor w = linear_dequantize(*l);
    const int64_t k = l->in_features();
    int64_t row = 0;
    for (const LinearPart& p : l->parts) {
      const int64_t nnz = count_nonzero(w.data() + row * k, p.rows * k);
      expected += std::min(sparse_bitmask_bytes(p.rows, k, nnz), sparse_csr_bytes(p.rows, k, nnz));
      for (const auto& [name, tensor] : t)
        if (name.rfind("bert." + p.name + ".weight_", 0) == 0) stored += static_cast<int64_t>(tensor.nbytes);
      row += p.rows;
    }
  }
  EXPECT_EQ(stored, expected);
  const std::string bytes = read_file(path);
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), 8 + static_cast<int64_t>(header) + everything);
  // The formulas themselves: a 128-wide row is 16 mask bytes; CSR pays 4 per row and 6 per weight.
  EXPECT_EQ(sparse_bitmask_bytes(128, 128, 100), 128 * 16 + 400);
  EXPECT_EQ(sparse_csr_bytes(128, 512, 100), 129 * 4 + 600);
  EXPECT_EQ(sparse_csr_bytes(2, 70000, 100), 3 * 4 + 800);  // I32 indices past 65,536 columns
}

// ---- the reader on hand-made modules -------------------------------------------------------------

// One module of [4, 12] (K not a multiple of 8, so a mask row has padding bits): row 0 empty, row 1
// full, rows 2 and 3 a few columns; 15 kept weights. The writer stores it as a bitmask (68 bytes
// against CSR's 110); the CSR variant is written here by hand from the same weights.
struct Module {
  std::map<std::string, TensorToWrite> tensors;  // by full name
  std::map<std::string, RawTensor> raw;
  Tensor dense{{4, 12}};

  explicit Module(bool csr) {
    for (int64_t c = 0; c < 12; ++c) dense.values[static_cast<size_t>(12 + c)] = 1.0f + static_cast<float>(c);
    dense.values[2 * 12 + 3] = -2.5f;
    dense.values[2 * 12 + 11] = 0.25f;
    dense.values[3 * 12 + 0] = 7.0f;
    if (!csr) {
      for (TensorToWrite& t : sparse_f32_weights(dense)->stored_rows(0, 4)) tensors["m" + t.name] = t;
      return;
    }
    const std::vector<int32_t> indptr = {0, 0, 12, 14, 15};
    std::vector<uint16_t> indices;
    std::vector<float> values;
    for (int64_t i = 0; i < 48; ++i)
      if (dense.values[static_cast<size_t>(i)] != 0.0f) {
        indices.push_back(static_cast<uint16_t>(i % 12));
        values.push_back(dense.values[static_cast<size_t>(i)]);
      }
    tensors["m.weight_indptr"] = array_to_write("m.weight_indptr", DType::kI32, {5}, indptr.data());
    tensors["m.weight_indices"] = array_to_write("m.weight_indices", DType::kU16, {15}, indices.data());
    tensors["m.weight_values"] = array_to_write("m.weight_values", DType::kF32, {15}, values.data());
  }
  TensorToWrite& operator[](const std::string& suffix) { return tensors.at("m" + suffix); }

  std::shared_ptr<const LinearWeights> read() {
    raw.clear();
    for (const auto& [name, t] : tensors) raw[name] = {t.dtype, t.shape, t.bytes.data(), t.bytes.size(), nullptr};
    const StoredTensorLookup lookup = [&](const std::string& name) -> const RawTensor* {
      const auto it = raw.find(name);
      return it == raw.end() ? nullptr : &it->second;
    };
    return read_sparse({{"m", 4}}, 12, 0, lookup, "hostile.safetensors");
  }
};

template <class T>
void set(TensorToWrite& t, int64_t i, T v) {
  std::memcpy(t.bytes.data() + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
}

void expect_refused(Module& m, std::initializer_list<const char*> needles) {
  test::expect_format_error_of([&](const std::string&) { m.read(); }, "hostile.safetensors", needles);
}

TEST(SparseReader, ReadsBothEncodingsOfTheSameWeights) {
  for (const bool csr : {false, true}) {
    Module m(csr);
    EXPECT_EQ(m.tensors.size(), csr ? 3u : 2u);
    EXPECT_EQ(m.tensors.count(csr ? "m.weight_indptr" : "m.weight_mask"), 1u);
    const auto w = m.read();
    EXPECT_EQ(w->format(), "sparse");
    EXPECT_EQ(w->dequantize().values, m.dense.values);
  }
  // I32 indices (what K > 65,536 needs) are read as well as U16.
  Module wide(true);
  std::vector<int32_t> indices(15);
  for (size_t e = 0; e < indices.size(); ++e) {
    uint16_t c;
    std::memcpy(&c, wide[".weight_indices"].bytes.data() + 2 * e, 2);
    indices[e] = c;
  }
  wide[".weight_indices"] = array_to_write("m.weight_indices", DType::kI32, {15}, indices.data());
  EXPECT_EQ(wide.read()->dequantize().values, wide.dense.values);
}

TEST(SparseReader, HostileBitmasksAreRefusedByName) {
  {
    Module m(false);
    m[".weight_mask"].bytes[0] = 1;  // keeps one more weight than there are values
    expect_refused(m, {"m.weight_values", "holds 15 values", "keeps 16 weights"});
  }
  {
    Module m(false);
    m[".weight_mask"].bytes[3] = static_cast<char>(0x10 | m[".weight_mask"].bytes[3]);  // row 1, column 12
    expect_refused(m, {"m.weight_mask", "row 1 sets bits past column 11"});
  }
  {
    Module m(false);
    m[".weight_mask"].dtype = DType::kI8;
    expect_refused(m, {"m.weight_mask", "expected dtype U8, found I8"});
  }
  {
    Module m(false);
    m[".weight_mask"].shape = {2, 4};
    expect_refused(m, {"m.weight_mask", "expected shape [4, 2]"});
  }
  {
    Module m(false);
    set<float>(m[".weight_values"], 4, 0.0f);
    expect_refused(m, {"m.weight_values", "value 4 is zero"});
  }
  {
    Module m(false);
    m[".weight_values"].dtype = DType::kF16;
    m[".weight_values"].shape = {30};
    expect_refused(m, {"m.weight_values", "expected dtype F32, found F16"});
  }
  {
    Module m(false);
    m.tensors.erase("m.weight_values");
    expect_refused(m, {"missing tensor 'm.weight_values'", "sparse"});
  }
  {
    Module m(false);
    m.tensors.erase("m.weight_mask");
    expect_refused(m, {"missing tensor 'm.weight_mask'"});
  }
  {
    Module m(false);
    const Module csr(true);
    m.tensors["m.weight_indptr"] = csr.tensors.at("m.weight_indptr");
    expect_refused(m, {"m.weight_mask", "both a bitmask and CSR"});
  }
}

TEST(SparseReader, HostileCsrIsRefusedByName) {
  {
    Module m(true);
    set<int32_t>(m[".weight_indptr"], 0, 1);
    expect_refused(m, {"m.weight_indptr", "starts at 1, expected 0"});
  }
  {
    Module m(true);
    set<int32_t>(m[".weight_indptr"], 2, -3);
    expect_refused(m, {"m.weight_indptr", "decreases from 0 to -3 at row 1"});
  }
  {
    Module m(true);
    set<int32_t>(m[".weight_indptr"], 1, 13);  // row 0 claims 13 of 12 columns, row 1 then decreases
    expect_refused(m, {"m.weight_indptr", "row 0 keeps 13 weights"});
  }
  {
    Module m(true);
    set<int32_t>(m[".weight_indptr"], 4, 16);  // ends past the values
    expect_refused(m, {"m.weight_values", "holds 15 values", "'m.weight_indptr' keeps 16"});
  }
  {
    Module m(true);
    m[".weight_indptr"].dtype = DType::kU8;
    m[".weight_indptr"].shape = {20};
    expect_refused(m, {"m.weight_indptr", "expected dtype I32, found U8"});
  }
  {
    Module m(true);
    m[".weight_indptr"].shape = {4};
    m[".weight_indptr"].bytes.resize(16);
    expect_refused(m, {"m.weight_indptr", "expected shape [5], found [4]"});
  }
  {
    Module m(true);
    set<uint16_t>(m[".weight_indices"], 13, 12);  // row 2's second column, past K
    expect_refused(m, {"m.weight_indices", "index 12 at 13 is outside [0, 12)"});
  }
  {
    Module m(true);
    set<uint16_t>(m[".weight_indices"], 5, 4);  // row 1 lists column 4 twice
    expect_refused(m, {"m.weight_indices", "row 1 lists column 4 after 4"});
  }
  {
    Module m(true);
    m[".weight_indices"].dtype = DType::kI8;
    m[".weight_indices"].shape = {30};
    expect_refused(m, {"m.weight_indices", "expected dtype U16 or I32, found I8"});
  }
  {
    Module m(true);
    m[".weight_indices"].shape = {14};
    m[".weight_indices"].bytes.resize(28);
    expect_refused(m, {"m.weight_indices", "expected shape [15], found [14]"});
  }
  {
    Module m(true);
    set<float>(m[".weight_values"], 14, -0.0f);
    expect_refused(m, {"m.weight_values", "value 14 is zero"});
  }
}

TEST(SparseContainer, AHostileFileIsRefusedNamingIt) {
  auto model = pruned_tiny(0.95);
  const std::string dir = save(*model, "sparse_hostile");
  std::map<std::string, std::string> metadata;
  const TensorMap t = read_safetensors(dir + "/model.safetensors", &metadata);
  std::vector<TensorToWrite> out;
  for (const auto& [name, tensor] : t)
    out.push_back({name, tensor.dtype, tensor.shape, std::string(static_cast<const char*>(tensor.data), tensor.nbytes)});
  constexpr const char* indices = "bert.encoder.layer.1.output.dense.weight_indices";
  for (TensorToWrite& w : out)
    if (w.name == indices) std::memset(w.bytes.data(), 0xff, 2);  // column 65535 of 512
  write_safetensors(dir + "/model.safetensors", out, metadata);
  test::expect_format_error_of([](const std::string& d) { load_model(d); }, dir, {indices, "outside [0, 512)"});
}

// ---- the CLI reads a sparse container like any model ----------------------------------------------

using test::quote;
using test::run_squish;

double accuracy_of(const std::string& model_dir) {
  const test::RunResult r = run_squish("eval --model_dir " + quote(model_dir) + " --task sst2 --data_dir " +
                                       quote(test::data_dir()) + " --threads 2 --output -");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["metrics"]["accuracy"].get<double>();
}

TEST(SparseContainerCli, EvalInspectAndDynamicQuantizeTakeASparseContainer) {
  const std::string sparse = save(*pruned_tiny(0.5), "sparse_cli");
  const std::string dense = save(*pruned_tiny(0.5, false), "dense_cli");
  const double sparse_accuracy = accuracy_of(sparse);
  EXPECT_EQ(sparse_accuracy, accuracy_of(dense));
  EXPECT_GT(sparse_accuracy, 0.6);  // 50% of a from-scratch model's weights still classify (0.81 unpruned)

  const test::RunResult inspect = run_squish("inspect --model_dir " + quote(sparse));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("2 f32 8 sparse"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("8,192 of 16,384 weights kept (50.00% dense)"), std::string::npos) << inspect.out;

  const std::string quantized = test::temp_dir("sparse_q") + "/q";
  const test::RunResult q = run_squish("quantize --model_dir " + quote(sparse) + " --task sst2 --mode dynamic --data_dir " +
                                       quote(test::data_dir()) + " --output_dir " + quote(quantized));
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_GT(accuracy_of(quantized), 0.6);
}

}  // namespace
}  // namespace squish
