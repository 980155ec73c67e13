#include "io/tokenizer/bpe_tokenizer_json.h"

#include <map>
#include <string>

namespace squish {
namespace {

using ojson = nlohmann::ordered_json;

// Each id's text as the files spell it: an added token's content, else its vocabulary spelling.
std::map<int32_t, std::string> token_texts(const ByteLevelBpeSpec& spec) {
  std::map<int32_t, std::string> text;
  for (const auto& [token, id] : spec.vocab) text[id] = token;
  for (const BpeAddedToken& t : spec.added_tokens) text[t.id] = t.content;
  return text;
}

ojson byte_level(bool add_prefix_space, bool use_regex) {
  return {
      {"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

ojson pre_tokenizer(const ByteLevelBpeSpec& spec) {
  if (!spec.split.individual_digits) return byte_level(spec.add_prefix_space, spec.split.use_regex);
  return {{"type", "Sequence"},
          {"pretokenizers",
           ojson::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level(false, spec.split.use_regex)})}};
}

ojson post_processor(const ByteLevelBpeSpec& spec) {
  const std::map<int32_t, std::string> text = token_texts(spec);
  ojson specials = ojson::object();
  const auto items = [&](const std::vector<BpeTemplateItem>& list) {
    ojson out = ojson::array();
    for (const BpeTemplateItem& item : list) {
      if (item.special_id < 0) {
        out.push_back({{"Sequence", {{"id", item.sequence == 0 ? "A" : "B"}, {"type_id", item.type_id}}}});
        continue;
      }
      const std::string& name = text.at(item.special_id);
      specials[name] = {{"id", name}, {"ids", {item.special_id}}, {"tokens", {name}}};
      out.push_back({{"SpecialToken", {{"id", name}, {"type_id", item.type_id}}}});
    }
    return out;
  };
  ojson single = items(spec.single), pair = items(spec.pair);
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

}  // namespace

ojson bpe_tokenizer_json(const ByteLevelBpeSpec& spec) {
  ojson added = ojson::array();
  for (const BpeAddedToken& t : spec.added_tokens)
    added.push_back({{"id", t.id},
                     {"content", t.content},
                     {"single_word", false},
                     {"lstrip", t.lstrip},
                     {"rstrip", t.rstrip},
                     {"normalized", t.normalized},
                     {"special", t.special}});
  ojson vocab = ojson::object();
  for (const auto& [token, id] : spec.vocab) vocab[token] = id;
  ojson merges = ojson::array();
  for (const auto& [a, b] : spec.merges) merges.push_back({a, b});
  ojson model = {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", spec.unk_token.empty() ? ojson(nullptr) : ojson(spec.unk_token)},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", spec.fuse_unk},
                 {"byte_fallback", spec.byte_fallback},
                 {"ignore_merges", spec.ignore_merges},
                 {"vocab", vocab},
                 {"merges", merges}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre_tokenizer(spec)},
          {"post_processor", post_processor(spec)},
          {"decoder", byte_level(true, true)},
          {"model", model}};
}

ojson bpe_tokenizer_config(const ByteLevelBpeSpec& spec) {
  const std::map<int32_t, std::string> text = token_texts(spec);
  ojson config = {{"tokenizer_class", "PreTrainedTokenizerFast"}};
  for (const auto& [key, id] :
       {std::pair{"bos_token", spec.bos}, std::pair{"eos_token", spec.eos}, std::pair{"pad_token", spec.pad}})
    config[key] = id ? ojson(text.at(*id)) : ojson(nullptr);
  return config;
}

}  // namespace squish
