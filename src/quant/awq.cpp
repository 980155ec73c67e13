#include "quant/awq.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/channel_scales.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

// The clipping search's candidates: r = 1 − step / kClipGrid for step in [1, kClipSteps), the
// authors' grid of 20 with its max_shrink 0.5.
constexpr int kClipGrid = 20, kClipSteps = 10;

// What `w` computes as once stored in format f. Group formats round on the grid directly, without the
// kernels' packed layout (the search rounds every reader once per α).
Tensor effective_weights(const std::string& name, const Tensor& w, const WeightFormat& f) {
  if (!f.traits->grouped) return quantize_weights_of(name, w, f)->dequantize();
  check_format_fits(name, w.dim(0), w.dim(1), f);
  Tensor out({w.dim(0), w.dim(1)});
  dequantize_groups(quantize_groups_rtn(w.data(), w.dim(0), w.dim(1), f.traits->weight_bits, f.group_size), out.data());
  return out;
}

// The readers' output error Σ‖X Wᵀ − X Ŵᵀ‖² with Ŵ = Q(W·diag(s))·diag(1/s), each in its format.
double output_error(const float* x, int64_t rows, const ReaderReference& reference,
                    const std::vector<WeightFormat>& formats, const std::vector<const Linear*>& readers,
                    const std::vector<float>& s, LinearWorkspace& ws) {
  double error = 0;
  std::vector<float> y;
  for (size_t r = 0; r < readers.size(); ++r) {
    Tensor effective = effective_weights(readers[r]->name, scaled_columns(reference.weights[r], s), formats[r]);
    const int64_t n = effective.dim(0), k = effective.dim(1);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) effective.data()[i * k + j] /= s[static_cast<size_t>(j)];
    const Linear probe = make_linear(readers[r]->name, readers[r]->role, readers[r]->layer, effective, Tensor(),
                                     readers[r]->parts);
    y.resize(static_cast<size_t>(rows * n));
    linear_apply(probe, y.data(), x, rows, Epilogue::kNone, ws);
    const float* want = reference.outputs[r].data();
    for (size_t i = 0; i < y.size(); ++i) error += (static_cast<double>(y[i]) - want[i]) * (static_cast<double>(y[i]) - want[i]);
  }
  return error;
}

}  // namespace

AwqSearch awq_search(const float* x, int64_t rows, const std::vector<const Linear*>& readers,
                     const std::vector<WeightFormat>& formats, const AwqOptions& options) {
  if (readers.empty() || readers.size() != formats.size())
    throw UsageError("awq: expected one format per reader and at least one reader");
  const int64_t k = readers.front()->in_features();
  std::vector<double> mean(static_cast<size_t>(k), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) mean[static_cast<size_t>(j)] += std::fabs(x[r * k + j]);
  for (double& m : mean) m = std::max(m / static_cast<double>(rows), 1e-8);
  const ReaderReference reference = reader_reference(x, rows, readers);
  AwqSearch search;
  // The candidates are independent: one task each (the GEMMs inside run on the task's thread), the
  // choice made afterwards in grid order, so the result does not depend on the thread count.
  std::vector<std::vector<float>> scales(static_cast<size_t>(options.grid));
  search.errors.assign(static_cast<size_t>(options.grid), 0.0);
  parallel_for(
      options.grid,
      [&](int64_t g) {
        const double alpha = static_cast<double>(g) / options.grid;
        std::vector<float>& s = scales[static_cast<size_t>(g)];
        s.resize(static_cast<size_t>(k));
        double lo = INFINITY, hi = 0;
        for (size_t j = 0; j < s.size(); ++j) {
          s[j] = static_cast<float>(std::pow(mean[j], alpha));
          lo = std::min(lo, static_cast<double>(s[j]));
          hi = std::max(hi, static_cast<double>(s[j]));
        }
        const auto middle = static_cast<float>(std::sqrt(lo * hi));
        for (float& v : s) v = std::max(v / middle, 1e-4f);
        LinearWorkspace task_ws;
        const double error = output_error(x, rows, reference, formats, readers, s, task_ws);
        search.errors[static_cast<size_t>(g)] = reference.norm2 > 0 ? error / reference.norm2 : error;
      },
      1);
  for (int g = 0; g < options.grid; ++g)
    if (g == 0 || search.errors[static_cast<size_t>(g)] < search.error) {  // α = 0: every s_j is 1, plain rounding
      search.error = search.errors[static_cast<size_t>(g)];
      search.alpha = static_cast<double>(g) / options.grid;
      search.scales = std::move(scales[static_cast<size_t>(g)]);
    }
  return search;
}

GroupQuantized awq_clip_quantize(const float* w, int64_t n, int64_t k, int bits, int64_t group_size,
                                 std::span<const double> grams, AwqClipCount* count) {
  if (group_size <= 0 || k % group_size != 0)
    throw ShapeError("awq clip: group size " + std::to_string(group_size) + " does not divide the input dimension " +
                     std::to_string(k));
  const int64_t groups = k / group_size;
  if (static_cast<int64_t>(grams.size()) != groups * group_size * group_size)
    throw ShapeError("awq clip: " + std::to_string(grams.size()) + " Gram entries for " + std::to_string(groups) +
                     " groups of " + std::to_string(group_size) + " (expected groups x group x group)");
  GroupQuantized q = quantize_groups_rtn(w, n, k, bits, group_size);
  std::vector<int64_t> clipped_rows(static_cast<size_t>(n), 0);
  parallel_for(
      n,
      [&](int64_t row) {
        std::vector<double> d(static_cast<size_t>(group_size));
        for (int64_t g = 0; g < groups; ++g) {
          const float* wg = w + row * k + g * group_size;
          const double* gram = grams.data() + g * group_size * group_size;
          const auto error = [&](GroupParams p) {
            for (int64_t i = 0; i < group_size; ++i)
              d[static_cast<size_t>(i)] =
                  static_cast<double>(wg[i]) -
                  static_cast<double>(p.scale * static_cast<float>(group_code(wg[i], p, bits)) + p.minimum);
            double sum = 0;
            for (int64_t i = 0; i < group_size; ++i) {
              double row_sum = 0;
              for (int64_t j = 0; j < group_size; ++j) row_sum += gram[i * group_size + j] * d[static_cast<size_t>(j)];
              sum += d[static_cast<size_t>(i)] * row_sum;
            }
            return sum;
          };
          const auto [lo, hi] = std::minmax_element(wg, wg + group_size);
          const float largest = std::max(std::fabs(*lo), std::fabs(*hi));
          const size_t at = static_cast<size_t>(row * groups + g);
          GroupParams best{q.scales[at], q.minimums[at]};
          double best_error = error(best);
          bool narrowed = false;
          for (int step = 1; step < kClipSteps; ++step) {
            const float limit = largest * (1.0f - static_cast<float>(step) / static_cast<float>(kClipGrid));
            const float range[2] = {std::max(*lo, -limit), std::min(*hi, limit)};
            const GroupParams p = group_params(range, 2, bits);
            if (const double e = error(p); e < best_error) {
              best_error = e;
              best = p;
              narrowed = true;
            }
          }
          if (!narrowed) continue;
          ++clipped_rows[static_cast<size_t>(row)];
          q.scales[at] = best.scale;
          q.minimums[at] = best.minimum;
          for (int64_t i = 0; i < group_size; ++i)
            q.codes[static_cast<size_t>(row * k + g * group_size + i)] = group_code(wg[i], best, bits);
        }
      },
      1);
  if (count) {
    count->groups += n * groups;
    for (const int64_t c : clipped_rows) count->clipped += c;
  }
  return q;
}

std::map<std::string, std::vector<double>> awq_group_grams(SequenceModel& model, std::span<const TokenBatch> batches,
                                                           const BitPlan& plan, const AwqOptions& options) {
  std::map<const Linear*, int64_t> group_of;
  for (const Linear* l : model.linears())
    if (const auto it = plan.linears.find(l->name); it != plan.linears.end()) {
      const WeightFormat f = parse_weight_format(it->second, "awq");
      if (f.traits->grouped) group_of[l] = f.group_size;
    }
  std::map<std::string, std::vector<double>> grams;
  observe_subsampled_linear_inputs(
      model, batches, [&](const Linear& l) { return group_of.contains(&l); }, options.max_rows,
      [&](const Linear& l, const float* x, int64_t count) {
        const int64_t k = l.in_features(), group = group_of.at(&l);
        std::vector<double>& gram = grams[l.name];
        gram.resize(static_cast<size_t>(k * group), 0.0);
        parallel_for(
            k / group,
            [&](int64_t g) {
              double* block = gram.data() + g * group * group;
              for (int64_t r = 0; r < count; ++r) {
                const float* xg = x + r * k + g * group;
                for (int64_t i = 0; i < group; ++i)
                  for (int64_t j = 0; j < group; ++j) block[i * group + j] += static_cast<double>(xg[i]) * xg[j];
              }
            },
            1);
      });
  return grams;
}

std::vector<AwqChoice> awq_scale(SequenceModel& model, std::span<const TokenBatch> batches, const BitPlan& plan,
                                 const AwqOptions& options) {
  std::vector<SmoothableInput> inputs = model.smoothable_inputs();
  if (inputs.empty())
    throw UsageError("--rounding awq: " + model.info().architecture +
                     " has no activations whose channels a producer can scale (a post-norm encoder's norms also "
                     "feed the residual stream); use --rounding gptq or nearest");
  // The activations worth a search: those with a reader the plan quantizes. Readers it leaves fp32 are
  // exact whatever the scale: only the quantized ones are scored.
  struct Site {
    SmoothableInput* input;
    std::vector<const Linear*> readers;
    std::vector<WeightFormat> formats;
  };
  std::vector<Site> sites;
  std::map<const Linear*, std::vector<float>> rows;  // by the activation's first reader
  for (SmoothableInput& in : inputs) {
    Site site{&in, {}, {}};
    for (const Linear* r : in.readers)
      if (const auto it = plan.linears.find(r->name); it != plan.linears.end() && it->second != "f32") {
        site.readers.push_back(r);
        site.formats.push_back(parse_weight_format(it->second, "awq"));
      }
    if (site.readers.empty()) continue;
    rows[in.readers.front()];
    sites.push_back(std::move(site));
  }
  if (sites.empty()) return {};
  // An even subsample of every activation's valid rows, the same rows for each.
  observe_subsampled_linear_inputs(
      model, batches, [&](const Linear& l) { return rows.contains(&l); }, options.max_rows,
      [&](const Linear& l, const float* x, int64_t count) {
        rows[&l].insert(rows[&l].end(), x, x + count * l.in_features());
      });

  std::vector<AwqChoice> choices;
  for (Site& site : sites) {
    SmoothableInput& in = *site.input;
    std::vector<float>& x = rows.at(in.readers.front());
    const int64_t n_rows = static_cast<int64_t>(x.size()) / in.readers.front()->in_features();
    if (n_rows == 0) continue;
    const AwqSearch search = awq_search(x.data(), n_rows, site.readers, site.formats, options);
    if (search.alpha > 0) apply_channel_scales(in, search.scales);
    x.clear();
    x.shrink_to_fit();
    choices.push_back({in.name, search.alpha, search.errors.front(), search.error});
  }
  return choices;
}

}  // namespace squish
