#!/usr/bin/env bash
# Writes tests/fixtures/gpt2-tokenizer-ids.json: the strings of tokenizer_test_strings.py with the
# ids npm's gpt-3-encoder@1.1.4 gives them (its vocabulary is byte-identical to the GPT-2 files in
# ../shared/tokenizers/gpt2, which the test loads as a tokenizer.json). Needs node and npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent gpt-3-encoder@1.1.4 >/dev/null)
cp "$here/gpt2_reference_ids.js" "$work/"
/usr/bin/python3 "$here/tokenizer_test_strings.py" | (cd "$work" && node gpt2_reference_ids.js) \
  >"$here/../fixtures/gpt2-tokenizer-ids.json.tmp"
mv "$here/../fixtures/gpt2-tokenizer-ids.json.tmp" "$here/../fixtures/gpt2-tokenizer-ids.json"
echo "wrote tests/fixtures/gpt2-tokenizer-ids.json"
