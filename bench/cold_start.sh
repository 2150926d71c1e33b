#!/usr/bin/env bash
# Cold `make run`: a fresh clone of this repository, empty pip/uv caches, no .venv; prints the
# seconds until the app answers /_stcore/health, then stops it.
#   bench/cold_start.sh [PORT] [FILE...]   FILEs are copied from the working tree into the clone
#                                          (to time changes not yet committed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-8791}
shift || true
work=$(mktemp -d /tmp/coldrun.XXXXXX)
git clone --quiet "$root" "$work/app"
for file in "$@"; do
  mkdir -p "$(dirname "$work/app/$file")"
  cp "$root/$file" "$work/app/$file"
done
export PIP_CACHE_DIR="$work/cache/pip" XDG_CACHE_HOME="$work/cache" UV_CACHE_DIR="$work/cache/uv"

start=$(date +%s.%N)
# Its own process group, so that stopping it stops make and the server it started.
setsid make -C "$work/app" run PORT="$port" >"$work/make.log" 2>&1 &
group=$!
trap 'kill -- -"$group" 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/_stcore/health" >/dev/null; do
  if ! kill -0 "$group" 2>/dev/null; then
    cat "$work/make.log"
    echo "make run stopped before the app answered" >&2
    exit 1
  fi
  sleep 0.2
done
end=$(date +%s.%N)
echo "cold make run: $(awk "BEGIN { printf \"%.1f\", $end - $start }") s until /_stcore/health answered (log: $work/make.log)"
