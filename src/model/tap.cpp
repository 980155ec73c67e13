#include "model/tap.h"

namespace squish {

std::string_view tap_site_name(TapSite site) {
  switch (site) {
    case TapSite::kEmbeddings: return "embeddings";
    case TapSite::kAttentionContext: return "attention_context";
    case TapSite::kAttentionOutput: return "attention_output";
    case TapSite::kIntermediate: return "intermediate";
    case TapSite::kLayerOutput: return "layer_output";
    case TapSite::kPooled: return "pooled";
    case TapSite::kLogits: return "logits";
  }
  return "?";
}

}  // namespace squish
