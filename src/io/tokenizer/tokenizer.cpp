#include "io/tokenizer/tokenizer.h"

#include "core/error.h"
#include "core/file_util.h"
#include "io/model_dir.h"
#include "io/tokenizer/wordpiece.h"

namespace squish {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  require_model_dir(model_dir);
  if (file_exists(model_dir + "/vocab.txt"))
    return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_model_dir(model_dir));
  if (file_exists(model_dir + "/vocab.json") && file_exists(model_dir + "/merges.txt"))
    throw ConfigError(model_dir + ": a byte-level BPE tokenizer (vocab.json + merges.txt) is not supported yet; "
                      "squish reads WordPiece (vocab.txt)");
  throw IoError(model_dir + ": no tokenizer found (expected vocab.txt and tokenizer_config.json)");
}

}  // namespace squish
