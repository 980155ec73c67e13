// How a forward pass runs, given explicitly instead of inferred from what is attached to it.
#pragma once

#include "model/common/tap.h"

namespace squish {

// Rows the last encoder layer computes. A classifier reads only [CLS]; past the last layer's K
// and V no other token's output is needed, so by default that layer attends from [CLS] alone and
// runs its dense part on B rows instead of B*T. Representation analyses that compare whole last
// layers ask for every token.
enum class LastLayerRows { kClsOnly, kAllTokens };

struct ForwardOptions {
  LastLayerRows last_layer = LastLayerRows::kClsOnly;
  const Tap* tap = nullptr;  // may be null
};

}  // namespace squish
