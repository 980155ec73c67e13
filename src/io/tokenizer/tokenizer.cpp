#include "io/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "core/error.h"
#include "core/file_util.h"
#include "io/gguf.h"
#include "io/model_dir.h"
#include "io/tokenizer/bpe_loaders.h"
#include "io/tokenizer/wordpiece.h"

namespace squish {

bool truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t budget) {
  if (a.size() + b.size() <= budget) return false;
  // HF's LongestFirst, step for step: n1 is the shorter side.
  size_t n1 = a.size(), n2 = b.size();
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  if (a.size() > n1) a.resize(n1);
  if (b.size() > n2) b.resize(n2);
  return true;
}

namespace {

std::unique_ptr<Tokenizer> gguf_tokenizer(const std::string& path) {
  return bpe_tokenizer_from_gguf_metadata(read_gguf(path).metadata, path);
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_regular_file(path) && is_gguf_file(path)) return gguf_tokenizer(path);
  require_model_dir(path);
  if (file_exists(path + "/vocab.txt"))
    return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_model_dir(path));
  if (file_exists(path + "/tokenizer.json")) return bpe_tokenizer_from_tokenizer_json(path);
  if (file_exists(path + "/vocab.json") && file_exists(path + "/merges.txt"))
    return bpe_tokenizer_from_vocab_merges(path);
  std::vector<std::string> ggufs;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.is_regular_file() && entry.path().extension() == ".gguf") ggufs.push_back(entry.path().string());
  std::sort(ggufs.begin(), ggufs.end());
  if (ggufs.size() == 1) return gguf_tokenizer(ggufs[0]);
  if (ggufs.size() > 1)
    throw UsageError(path + ": holds " + std::to_string(ggufs.size()) + " .gguf files (" + ggufs[0] + ", " + ggufs[1] +
                     (ggufs.size() > 2 ? ", ..." : "") + "); name the one to read");
  throw IoError(path +
                ": no tokenizer found (expected vocab.txt + tokenizer_config.json, tokenizer.json, vocab.json + "
                "merges.txt, or one .gguf file)");
}

}  // namespace squish
