#!/usr/bin/env bash
# Writes tests/fixtures/tiny-tokenizer/tokenizer.model: a 64-piece SentencePiece BPE model (the
# vocabulary size of the llama-gqa fixture) trained on a small synthetic review corpus, for the
# trainer's tests. Needs Debian's sentencepiece (spm_train): IAPT_WITH_REFERENCE=1 scripts/install-deps.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
good=(good great fine nice lovely superb)
bad=(bad awful poor dull boring weak)
nouns=(film movie plot cast story music)
for i in $(seq 0 399); do
  words=("${good[@]}" "${bad[@]}")
  echo "the ${nouns[i % 6]} was ${words[(i * 7) % 12]}"
done >"$tmp/corpus.txt"
for i in $(seq 50); do
  echo "The sentiment of the given sentence is: positive"
  echo "The sentiment of the given sentence is: negative"
done >>"$tmp/corpus.txt"
spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/tiny" --vocab_size=64 --model_type=bpe \
  --character_coverage=1.0 --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 --hard_vocab_limit=false >/dev/null 2>&1
mkdir -p tests/fixtures/tiny-tokenizer
cp "$tmp/tiny.model" tests/fixtures/tiny-tokenizer/tokenizer.model
echo "wrote tests/fixtures/tiny-tokenizer/tokenizer.model"
