#!/usr/bin/env bash
# A screenshot of a sweep's report.html (iapt report DIR --html) as headless Chromium renders it:
#   scripts/report-screenshot.sh DIR/report.html OUT.png [WIDTH HEIGHT]
# Exits 77 where Debian's chromium is not installed.
set -euo pipefail
page=$(realpath "$1")
out=$(realpath -m "$2")
width=${3:-1280}
height=${4:-1600}
command -v chromium >/dev/null || { echo "report-screenshot: chromium not found (Debian: apt-get install chromium)"; exit 77; }
# --no-sandbox: Chromium's sandbox refuses to start as root; the page is our own, read from disk.
# The virtual time budget lets the inline images decode before the capture.
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 \
  --window-size="$width,$height" --screenshot="$out" "file://$page" >/dev/null 2>&1
[[ -s $out ]] || { echo "report-screenshot: chromium wrote no $out"; exit 1; }
