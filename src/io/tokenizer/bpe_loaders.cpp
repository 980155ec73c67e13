#include "io/tokenizer/bpe_loaders.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/file_util.h"
#include "io/json_file.h"

namespace squish {

namespace {

using nlohmann::json;

// A key that must have one JSON type when present.
const json* optional_key(const json& obj, const char* key, json::value_t type, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  const bool ok = type == json::value_t::number_integer ? it->is_number_integer() : it->type() == type;
  if (!ok) {
    throw FormatError(where + ": \"" + key + "\" must be " + json(type).type_name() + ", found " + it->type_name() +
                      " " + it->dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return &*it;
}

bool optional_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  const json* v = optional_key(obj, key, json::value_t::boolean, where);
  return v ? v->get<bool>() : fallback;
}

const json& required_key(const json& obj, const char* key, json::value_t type, const std::string& where) {
  const json* v = optional_key(obj, key, type, where);
  if (!v) throw FormatError(where + ": no \"" + key + "\"");
  return *v;
}

int32_t token_id(const json& v, const std::string& where) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
    throw FormatError(where + ": expected a token id (an integer from 0 to 2^31-1), found " + v.dump());
  return static_cast<int32_t>(v.get<int64_t>());
}

std::vector<std::pair<std::string, int32_t>> read_vocab_object(const json& vocab, const std::string& where) {
  if (!vocab.is_object()) throw FormatError(where + ": expected an object of token: id, found " + vocab.type_name());
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) out.emplace_back(token, token_id(id, where + " \"" + token + "\""));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

// "a b" with exactly one space, as HF splits a merge.
std::pair<std::string, std::string> split_merge(std::string_view line, const std::string& where) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
    throw FormatError(where + ": expected two tokens separated by one space, found \"" + std::string(line) + "\"");
  return {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
}

void add_special(ByteLevelBpeSpec& spec, const std::string& content, int32_t id) {
  for (const BpeAddedToken& t : spec.added_tokens)
    if (t.content == content) return;
  spec.added_tokens.push_back({content, id, true, false, false, false});
}

// transformers' add_bos_token/add_eos_token templates: [bos] A [eos], and [bos] A [eos] [bos] B [eos] with B's
// tokens of type 1.
void bos_eos_templates(ByteLevelBpeSpec& spec, bool add_bos, bool add_eos, const std::string& where) {
  if ((add_bos && !spec.bos) || (add_eos && !spec.eos))
    throw FormatError(where + ": add_" + std::string(add_bos && !spec.bos ? "bos" : "eos") +
                      "_token is true but there is no such token");
  spec.single.clear();
  spec.pair.clear();
  for (int seq = 0; seq < 2; ++seq) {
    std::vector<BpeTemplateItem> part;
    if (add_bos) part.push_back({*spec.bos, 0, seq});
    part.push_back({-1, seq, seq});
    if (add_eos) part.push_back({*spec.eos, 0, seq});
    if (seq == 0) spec.single = part;
    spec.pair.insert(spec.pair.end(), part.begin(), part.end());
  }
}

// ---- tokenizer.json ----

ByteLevelSplitOptions byte_level_options(const json& pre, bool& add_prefix_space, const std::string& where) {
  ByteLevelSplitOptions split;
  add_prefix_space = optional_bool(pre, "add_prefix_space", true, where);
  split.use_regex = optional_bool(pre, "use_regex", true, where);
  return split;
}

ByteLevelSplitOptions read_pre_tokenizer(const json& root, bool& add_prefix_space, const std::string& path) {
  const std::string where = path + ": pre_tokenizer";
  const json* pre = optional_key(root, "pre_tokenizer", json::value_t::object, path);
  const std::string supported =
      "; squish reads ByteLevel, or a Sequence of Digits(individual_digits=true) and "
      "ByteLevel(add_prefix_space=false)";
  if (!pre) throw ConfigError(where + " is null" + supported);
  const std::string type = required_key(*pre, "type", json::value_t::string, where).get<std::string>();
  if (type == "ByteLevel") return byte_level_options(*pre, add_prefix_space, where);
  if (type == "Sequence") {
    const json& list = required_key(*pre, "pretokenizers", json::value_t::array, where);
    std::vector<std::string> types;
    for (const json& p : list) {
      if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
        throw FormatError(where + ": each of \"pretokenizers\" must be an object with a \"type\"");
      types.push_back(p["type"].get<std::string>());
    }
    if (types == std::vector<std::string>{"ByteLevel"}) return byte_level_options(list[0], add_prefix_space, where);
    if (types == std::vector<std::string>{"Digits", "ByteLevel"} &&
        optional_bool(list[0], "individual_digits", false, where)) {
      ByteLevelSplitOptions split = byte_level_options(list[1], add_prefix_space, where);
      if (!add_prefix_space && split.use_regex) {
        split.individual_digits = true;
        return split;
      }
    }
    std::string names;
    for (const auto& t : types) names += (names.empty() ? "" : ", ") + t;
    throw ConfigError(where + " is a Sequence of " + names + " with these options" + supported);
  }
  throw ConfigError(where + " is " + type + supported);
}

// TemplateProcessing's "single" or "pair" list, with the ids of its special tokens.
std::vector<BpeTemplateItem> read_template(const json& proc, const char* key, const std::string& where) {
  const json& items = required_key(proc, key, json::value_t::array, where);
  const json& specials = required_key(proc, "special_tokens", json::value_t::object, where);
  std::vector<BpeTemplateItem> out;
  for (const json& item : items) {
    if (item.is_object() && item.contains("Sequence")) {
      const json& s = item["Sequence"];
      const std::string id = s.value("id", "");
      if (id != "A" && id != "B")
        throw FormatError(where + ": a Sequence's id must be \"A\" or \"B\", found " + s.dump());
      out.push_back({-1, id == "A" ? 0 : 1, s.value("type_id", 0)});
    } else if (item.is_object() && item.contains("SpecialToken")) {
      const json& s = item["SpecialToken"];
      const std::string name = s.value("id", "");
      const auto it = specials.find(name);
      if (it == specials.end() || !it->contains("ids") || !(*it)["ids"].is_array())
        throw FormatError(where + ": the special token \"" + name + "\" is not in \"special_tokens\" with its \"ids\"");
      for (const json& id : (*it)["ids"]) out.push_back({token_id(id, where + " " + name), 0, s.value("type_id", 0)});
    } else {
      throw FormatError(where + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found " + item.dump());
    }
  }
  return out;
}

// [token, id] of RobertaProcessing / BertProcessing.
int32_t processor_token(const json& proc, const char* key, const std::string& where) {
  const json& v = required_key(proc, key, json::value_t::array, where);
  if (v.size() != 2) throw FormatError(where + ": \"" + key + "\" must be [token, id], found " + v.dump());
  return token_id(v[1], where + " " + key);
}

void read_post_processor(const json* proc, ByteLevelBpeSpec& spec, const std::string& where) {
  if (!proc) return;
  const std::string type = required_key(*proc, "type", json::value_t::string, where).get<std::string>();
  if (type == "ByteLevel") return;
  if (type == "TemplateProcessing") {
    spec.single = read_template(*proc, "single", where);
    spec.pair = read_template(*proc, "pair", where);
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    const int32_t cls = processor_token(*proc, "cls", where), sep = processor_token(*proc, "sep", where);
    spec.single = {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}};
    const int32_t b_type = type == "BertProcessing" ? 1 : 0;  // RoBERTa's pairs are all type 0
    spec.pair = {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}};
    if (type == "RobertaProcessing") spec.pair.push_back({sep, 0, 0});
    spec.pair.push_back({-1, 1, b_type});
    spec.pair.push_back({sep, 0, b_type});
  } else if (type == "Sequence") {
    const json& list = required_key(*proc, "processors", json::value_t::array, where);
    int wrapping = 0;
    for (const json& p : list) {
      if (!p.is_object()) throw FormatError(where + ": each of \"processors\" must be an object");
      wrapping += p.value("type", "") != "ByteLevel";
      read_post_processor(&p, spec, where);
    }
    if (wrapping > 1) throw ConfigError(where + ": a Sequence of more than one processor adding tokens");
  } else {
    throw ConfigError(where + " is " + type +
                      "; squish reads ByteLevel, TemplateProcessing, RobertaProcessing, BertProcessing or a Sequence "
                      "of them");
  }
}

std::optional<std::string> config_token_name(const json& cfg, const char* key, const std::string& where) {
  const auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw FormatError(where + ": \"" + key + "\" must be a string or {\"content\": string}, found " + it->dump());
}

}  // namespace

std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_tokenizer_json(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  const json root = read_json_object(path);
  ByteLevelBpeSpec spec;
  spec.source = path;
  const json& model = required_key(root, "model", json::value_t::object, path);
  const std::string where = path + ": model";
  const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
  if (type != "BPE")
    throw ConfigError(where + " is of type \"" + type + "\"; squish reads BPE here (WordPiece from vocab.txt)");
  if (optional_key(root, "normalizer", json::value_t::object, path))
    throw ConfigError(path + ": has a normalizer; squish's byte-level BPE reads tokenizers without one");
  if (model.contains("dropout") && !model["dropout"].is_null())
    throw ConfigError(where + ": BPE dropout " + model["dropout"].dump() + " (squish tokenizes deterministically)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const json* v = optional_key(model, key, json::value_t::string, where); v && !v->get<std::string>().empty())
      throw ConfigError(where + ": \"" + key + "\" " + v->dump() + " (squish's byte-level BPE has none)");
  spec.vocab = read_vocab_object(required_key(model, "vocab", json::value_t::object, where), where + ".vocab");
  const json& merges = required_key(model, "merges", json::value_t::array, where);
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string at = where + ".merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      spec.merges.push_back(split_merge(m.get<std::string>(), at));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw FormatError(at + ": expected \"a b\" or [\"a\", \"b\"], found " + m.dump());
    }
  }
  spec.merge_where = [where](size_t i) { return where + ".merges[" + std::to_string(i) + "]"; };
  if (const json* unk = optional_key(model, "unk_token", json::value_t::string, where)) spec.unk_token = *unk;
  spec.fuse_unk = optional_bool(model, "fuse_unk", false, where);
  spec.byte_fallback = optional_bool(model, "byte_fallback", false, where);
  spec.ignore_merges = optional_bool(model, "ignore_merges", false, where);
  spec.split = read_pre_tokenizer(root, spec.add_prefix_space, path);
  if (const json* added = optional_key(root, "added_tokens", json::value_t::array, path)) {
    for (size_t i = 0; i < added->size(); ++i) {
      const json& t = (*added)[i];
      const std::string at = path + ": added_tokens[" + std::to_string(i) + "]";
      if (!t.is_object()) throw FormatError(at + ": expected an object, found " + t.type_name());
      BpeAddedToken token;
      token.content = required_key(t, "content", json::value_t::string, at).get<std::string>();
      token.id = token_id(required_key(t, "id", json::value_t::number_integer, at), at + ".id");
      token.special = optional_bool(t, "special", false, at);
      token.lstrip = optional_bool(t, "lstrip", false, at);
      token.rstrip = optional_bool(t, "rstrip", false, at);
      token.normalized = optional_bool(t, "normalized", !token.special, at);
      if (optional_bool(t, "single_word", false, at))
        throw ConfigError(at + ": \"" + token.content + "\" is single_word, which squish does not implement");
      spec.added_tokens.push_back(token);
    }
  }
  read_post_processor(optional_key(root, "post_processor", json::value_t::object, path), spec,
                      path + ": post_processor");
  auto id_of = [&](const std::string& name) -> std::optional<int32_t> {
    for (const auto& t : spec.added_tokens)
      if (t.content == name) return t.id;
    for (const auto& [token, id] : spec.vocab)
      if (token == name) return id;
    return std::nullopt;
  };
  if (file_exists(dir + "/tokenizer_config.json")) {
    const std::string cfg_path = dir + "/tokenizer_config.json";
    const json cfg = read_json_object(cfg_path);
    if (auto n = config_token_name(cfg, "bos_token", cfg_path)) spec.bos = id_of(*n);
    if (auto n = config_token_name(cfg, "eos_token", cfg_path)) spec.eos = id_of(*n);
    if (auto n = config_token_name(cfg, "pad_token", cfg_path)) spec.pad = id_of(*n);
  } else if (file_exists(dir + "/config.json")) {
    const std::string cfg_path = dir + "/config.json";
    const json cfg = read_json_object(cfg_path);
    for (auto [key, slot] : {std::pair{"bos_token_id", &spec.bos}, std::pair{"eos_token_id", &spec.eos},
                             std::pair{"pad_token_id", &spec.pad}})
      if (const json* v = optional_key(cfg, key, json::value_t::number_integer, cfg_path))
        *slot = token_id(*v, cfg_path + " " + key);
  }
  return std::make_unique<ByteLevelBpeTokenizer>(spec);
}

std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_vocab_merges(const std::string& dir) {
  const std::string vocab_path = dir + "/vocab.json", merges_path = dir + "/merges.txt";
  ByteLevelBpeSpec spec;
  spec.source = vocab_path;
  spec.vocab = read_vocab_object(read_json_object(vocab_path), vocab_path);
  if (!file_exists(merges_path)) throw IoError(merges_path + ": no such file (the BPE merges, one \"a b\" per line)");
  const std::string text = read_file(merges_path);
  std::vector<size_t> lines;  // the line of each merge, for errors
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    pos = eol + 1;
    if (line.substr(0, 8) == "#version") continue;
    spec.merges.push_back(split_merge(line, merges_path + ":" + std::to_string(line_no)));
    lines.push_back(line_no);
  }
  spec.merge_where = [merges_path, lines](size_t i) { return merges_path + ":" + std::to_string(lines[i]); };

  // transformers' GPT2Tokenizer: its defaults, then tokenizer_config.json, then special_tokens_map.json.
  std::vector<std::pair<std::string, std::string>> named = {
      {"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"}, {"unk_token", "<|endoftext|>"}};
  std::vector<std::string> extra;
  bool add_bos = false, add_eos = false;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string cfg_path = dir + "/" + name;
    if (!file_exists(cfg_path)) continue;
    const json cfg = read_json_object(cfg_path);
    if (const json* cls = optional_key(cfg, "tokenizer_class", json::value_t::string, cfg_path)) {
      const std::string c = cls->get<std::string>();
      if (c != "GPT2Tokenizer" && c != "GPT2TokenizerFast")
        throw ConfigError(
            cfg_path + ": tokenizer_class " + c +
            "; with vocab.json + merges.txt squish reads GPT2Tokenizer (give a tokenizer.json for others)");
    }
    for (const char* key :
         {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}) {
      const auto it = cfg.find(key);
      if (it == cfg.end()) continue;
      named.erase(std::remove_if(named.begin(), named.end(), [&](const auto& n) { return n.first == key; }),
                  named.end());
      if (auto v = config_token_name(cfg, key, cfg_path)) named.emplace_back(key, *v);
    }
    if (const json* more = optional_key(cfg, "additional_special_tokens", json::value_t::array, cfg_path)) {
      for (size_t i = 0; i < more->size(); ++i) {
        const json wrapped = {{"token", (*more)[i]}};
        if (auto v = config_token_name(wrapped, "token", cfg_path + " additional_special_tokens")) extra.push_back(*v);
      }
    }
    add_bos = optional_bool(cfg, "add_bos_token", add_bos, cfg_path);
    add_eos = optional_bool(cfg, "add_eos_token", add_eos, cfg_path);
    spec.add_prefix_space = optional_bool(cfg, "add_prefix_space", spec.add_prefix_space, cfg_path);
  }
  int32_t next_id = spec.vocab.empty() ? 0 : spec.vocab.back().second + 1;
  auto id_of = [&](const std::string& content) {
    for (const auto& t : spec.added_tokens)
      if (t.content == content) return t.id;
    for (const auto& [token, id] : spec.vocab)
      if (token == content) return id;
    return next_id++;  // transformers appends a special token the vocabulary lacks
  };
  for (const auto& [key, content] : named) {
    const int32_t id = id_of(content);
    add_special(spec, content, id);
    if (key == "bos_token") spec.bos = id;
    if (key == "eos_token") spec.eos = id;
    if (key == "pad_token") spec.pad = id;
  }
  for (const std::string& content : extra) add_special(spec, content, id_of(content));
  bos_eos_templates(spec, add_bos, add_eos, dir + "/tokenizer_config.json");
  return std::make_unique<ByteLevelBpeTokenizer>(spec);
}

ByteLevelBpeSpec bpe_spec_from_gguf_metadata(const json& metadata, const std::string& path_for_errors) {
  const std::string& path = path_for_errors;
  if (!metadata.is_object()) throw FormatError(path + ": GGUF metadata must be an object");
  const json* model_key = optional_key(metadata, "tokenizer.ggml.model", json::value_t::string, path);
  if (!model_key) throw FormatError(path + ": no tokenizer.ggml.model (the file holds no tokenizer)");
  if (model_key->get<std::string>() != "gpt2")
    throw ConfigError(path + ": tokenizer.ggml.model is \"" + model_key->get<std::string>() +
                      "\"; squish reads \"gpt2\" (byte-level BPE)");
  ByteLevelBpeSpec spec;
  spec.source = path;
  const json* pre = optional_key(metadata, "tokenizer.ggml.pre", json::value_t::string, path);
  const std::string pre_name = pre ? pre->get<std::string>() : "default";
  // transformers reads every name it has no split for ("gpt-2", "default", "smollm") as GPT-2's ByteLevel;
  // SmolLM2's own tokenizer.json isolates digits first, so "smollm" does too here.
  if (pre_name == "smollm") {
    spec.split.individual_digits = true;
  } else if (pre_name != "gpt-2" && pre_name != "gpt2" && pre_name != "default") {
    throw ConfigError(path + ": tokenizer.ggml.pre is \"" + pre_name +
                      "\"; squish reads \"gpt-2\", \"default\" and \"smollm\"");
  }
  spec.add_prefix_space = optional_bool(metadata, "tokenizer.ggml.add_space_prefix", false, path);
  if (spec.add_prefix_space && spec.split.individual_digits)
    throw ConfigError(path + ": tokenizer.ggml.add_space_prefix with the smollm pre-tokenizer");

  const json& tokens = required_key(metadata, "tokenizer.ggml.tokens", json::value_t::array, path);
  std::vector<std::string> original;
  original.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!tokens[i].is_string())
      throw FormatError(path + ": tokenizer.ggml.tokens[" + std::to_string(i) + "] is not a string");
    original.push_back(tokens[i].get<std::string>());
    // A token written with characters outside the byte alphabet is respelled from its bytes, as transformers does.
    const std::string& t = original.back();
    spec.vocab.emplace_back(is_byte_level_spelling(t) ? t : byte_level_spelling(t), static_cast<int32_t>(i));
  }
  const json& merges = required_key(metadata, "tokenizer.ggml.merges", json::value_t::array, path);
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string at = path + ": tokenizer.ggml.merges[" + std::to_string(i) + "]";
    if (!merges[i].is_string()) throw FormatError(at + ": expected a string \"a b\", found " + merges[i].dump());
    spec.merges.push_back(split_merge(merges[i].get<std::string>(), at));
  }
  spec.merge_where = [path](size_t i) { return path + ": tokenizer.ggml.merges[" + std::to_string(i) + "]"; };

  auto special_id = [&](const char* key) -> std::optional<int32_t> {
    const json* v = optional_key(metadata, key, json::value_t::number_integer, path);
    if (!v) return std::nullopt;
    const int32_t id = token_id(*v, path + ": " + key);
    if (static_cast<size_t>(id) >= tokens.size())
      throw FormatError(path + ": " + key + " " + std::to_string(id) + " is outside the " +
                        std::to_string(tokens.size()) + " tokens");
    return id;
  };
  spec.bos = special_id("tokenizer.ggml.bos_token_id");
  spec.eos = special_id("tokenizer.ggml.eos_token_id");
  spec.pad = special_id("tokenizer.ggml.padding_token_id");
  const std::optional<int32_t> unk = special_id("tokenizer.ggml.unknown_token_id");
  if (const json* types = optional_key(metadata, "tokenizer.ggml.token_type", json::value_t::array, path)) {
    if (types->size() != tokens.size())
      throw FormatError(path + ": tokenizer.ggml.token_type has " + std::to_string(types->size()) + " entries for " +
                        std::to_string(tokens.size()) + " tokens");
    constexpr int kControl = 3, kUserDefined = 4;
    for (size_t i = 0; i < types->size(); ++i) {
      const json& kind = (*types)[i];
      if (!kind.is_number_integer())
        throw FormatError(path + ": tokenizer.ggml.token_type[" + std::to_string(i) + "] is not an integer");
      const auto id = static_cast<int32_t>(i);
      // A control token outside the byte alphabet is a llama.cpp mislabel; transformers skips it.
      if (kind.get<int64_t>() == kControl && is_byte_level_spelling(original[i])) add_special(spec, original[i], id);
      if (kind.get<int64_t>() == kUserDefined && is_byte_level_spelling(original[i]))
        spec.added_tokens.push_back({original[i], id, false, false, false, false});
    }
  }
  // transformers makes the tokens named by these ids special, whatever their type.
  for (const auto& id : {spec.bos, spec.eos, unk, spec.pad})
    if (id) add_special(spec, original[static_cast<size_t>(*id)], *id);
  bos_eos_templates(spec, optional_bool(metadata, "tokenizer.ggml.add_bos_token", false, path),
                    optional_bool(metadata, "tokenizer.ggml.add_eos_token", false, path), path);
  return spec;
}

std::unique_ptr<ByteLevelBpeTokenizer> bpe_tokenizer_from_gguf_metadata(const json& metadata,
                                                                        const std::string& path_for_errors) {
  return std::make_unique<ByteLevelBpeTokenizer>(bpe_spec_from_gguf_metadata(metadata, path_for_errors));
}

}  // namespace squish
