# shellcheck shell=bash
# The tiny SST-2-format task of tests/tiny_sst2.h for the shell tests: "the NOUN was ADJECTIVE",
# labelled by the adjective, balanced.
# Usage: source tests/tiny_sst2.sh; write_tiny_sst2 DATA_DIR [TRAIN_ROWS [DEV_ROWS]]
# (writes DATA_DIR/glue/SST-2/train.tsv and dev.tsv; 64 and 24 rows by default, as the C++ helper)
write_tiny_sst2() {
  local dir=$1/glue/SST-2
  mkdir -p "$dir"
  local good=(good great fine nice lovely superb) bad=(bad awful poor dull boring weak)
  local nouns=(film movie plot cast story music)
  _tiny_sst2_rows() {
    echo -e "sentence\tlabel"
    local i
    for ((i = 0; i < $1; i++)); do
      if (((i + $2) % 2 == 0)); then echo -e "the ${nouns[(i * 5 + $2) % 6]} was ${good[(i * 7 + $2) % 6]}\t1"
      else echo -e "the ${nouns[(i * 5 + $2) % 6]} was ${bad[(i * 7 + $2) % 6]}\t0"; fi
    done
  }
  _tiny_sst2_rows "${2:-64}" 0 > "$dir/train.tsv"
  _tiny_sst2_rows "${3:-24}" 1 > "$dir/dev.tsv"
}
