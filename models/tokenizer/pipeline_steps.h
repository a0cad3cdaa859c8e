#pragma once
// The steps of a tokenizer.json around its model, each built from its JSON object:
//   normalizer     text -> text                      (Prepend, Replace, Lowercase, Strip, Sequence)
//   pre_tokenizer  text -> words                     (ByteLevel, Split, Metaspace, Digits,
//                                                     Whitespace, WhitespaceSplit, Sequence)
//   decoder        tokens -> text                    (ByteLevel, Metaspace, Replace, ByteFallback,
//                                                     Fuse, Strip, Sequence)
// with the semantics of Hugging Face's tokenizers library, whose type names they keep. A step of
// another type is refused with its name and the file. A null step does nothing (a null decoder joins
// the tokens with spaces, as the library's does).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace iapt::models {

using Normalizer = std::function<std::string(std::string)>;
// Splits and rewrites the words in place. `at_input_start`: the first word begins the input, not a
// segment after an added token (Metaspace's prepend_scheme "first" prefixes only that word).
using PreTokenizer = std::function<void(std::vector<std::string>& words, bool at_input_start)>;
using Decoder = std::function<void(std::vector<std::string>& tokens)>;

Normalizer make_normalizer(const nlohmann::json& step, const std::string& where);
PreTokenizer make_pre_tokenizer(const nlohmann::json& step, const std::string& where);
Decoder make_decoder(const nlohmann::json& step, const std::string& where);

}  // namespace iapt::models
