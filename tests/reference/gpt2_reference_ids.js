// The ids an independent GPT-2 encoder (npm's gpt-3-encoder, a port of OpenAI's encoder.py) gives the
// strings of tokenizer_test_strings.py: reads their JSON list on standard input, prints
// {"reference": ..., "cases": [{"text": ..., "ids": [...]}]}. Run by make_gpt2_tokenizer_fixture.sh.
const { encode } = require('gpt-3-encoder');
const version = require('gpt-3-encoder/package.json').version;

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input).map((text) => ({ text, ids: encode(text) }));
  process.stdout.write(JSON.stringify({ reference: `gpt-3-encoder@${version} (npm)`, cases }, null, 0) + '\n');
});
