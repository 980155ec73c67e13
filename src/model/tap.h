// Tap: the one seam through which other features observe a forward pass (llama.cpp's per-tensor
// callback). Static calibration observers, SVCCA/PWCCA capture for sensitivity and error analysis
// all hang here. A forward given no Tap pays one null check per site.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace squish {

enum class TapSite {
  kEmbeddings,        // [B*T, H] embeddings after their LayerNorm (input of layer 0); layer = -1
  kAttentionContext,  // [B*T, H] attention context, the input of attention.output.dense
  kAttentionOutput,   // [B*T, H] after attention.output.LayerNorm, the input of intermediate.dense
  kIntermediate,      // [B*T, FF] after GELU, the input of output.dense
  kLayerOutput,       // [B*T, H] after output.LayerNorm, the layer's output
  kPooled,            // [B, H] pooler output; layer = -1
  kLogits,            // [B, C] classifier output; layer = -1
};

std::string_view tap_site_name(TapSite site);

// A view of one activation for one batch: rows are tokens (or sequences for kPooled/kLogits).
// Token rows of padding (t >= lengths[b]) are included; observers skip them using `lengths`.
struct TapView {
  const float* data;
  int64_t rows, cols;
  int64_t batch, tokens;      // rows == batch * tokens for token sites, == batch for sequence sites
  const int32_t* lengths;     // [batch]
};

using Tap = std::function<void(int layer, TapSite site, const TapView& view)>;

}  // namespace squish
