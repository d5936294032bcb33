#!/usr/bin/env bash
# First-start time of the window: the download build against the pip install, alternating runs in one X server, each
# with empty settings, data and cache folders (a first start). Prints each run and the medians (seconds from launch
# until the window is mapped). Linux; run after packaging/build.sh:
#   packaging/measure_start.sh [RUNS] [FROZEN_LAUNCHER] [PIP_LAUNCHER]
# The pip install takes the landmark model from FACESWAP_LIVE_MODEL_MIRROR (../shared/models by default), so neither
# side downloads anything; both check the model's hash.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
frozen="$(realpath "${2:-dist/faceswap-live/faceswap-live}")"
pip_app="$(realpath "${3:-.venv/bin/faceswap-live}")"
export FACESWAP_LIVE_MODEL_MIRROR="${FACESWAP_LIVE_MODEL_MIRROR:-$(realpath ../shared/models)}"

if [[ -z ${MEASURE_IN_XVFB:-} ]]; then
    MEASURE_IN_XVFB=1 exec xvfb-run -a -s "-screen 0 1920x1080x24" "$0" "$runs" "$frozen" "$pip_app"
fi
export QT_QPA_PLATFORM=xcb

seconds_to_window() {
    local launcher=$1 home
    home="$(mktemp -d)"
    local start end
    start=$(date +%s.%N)
    if [[ $launcher == "$frozen" ]]; then
        env -u FACESWAP_LIVE_MODEL_MIRROR XDG_CONFIG_HOME="$home/c" XDG_DATA_HOME="$home/d" XDG_CACHE_HOME="$home/k" \
            "$launcher" >/dev/null 2>&1 &
    else
        XDG_CONFIG_HOME="$home/c" XDG_DATA_HOME="$home/d" XDG_CACHE_HOME="$home/k" "$launcher" >/dev/null 2>&1 &
    fi
    local pid=$!
    until xwininfo -root -tree 2>/dev/null | grep -q '"faceswap-live"'; do
        kill -0 "$pid" 2>/dev/null || { echo "the app ended without a window" >&2; return 1; }
        sleep 0.05
    done
    end=$(date +%s.%N)
    sleep 2  # the app installs its Ctrl-C handler just after showing the window
    kill -INT "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$home"
    echo "$end - $start" | bc
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

frozen_times=() pip_times=()
for run in $(seq 1 "$runs"); do
    frozen_times+=("$(seconds_to_window "$frozen")")
    pip_times+=("$(seconds_to_window "$pip_app")")
    echo "run $run: download build ${frozen_times[-1]} s, pip install ${pip_times[-1]} s"
done
frozen_median=$(printf '%s\n' "${frozen_times[@]}" | median)
pip_median=$(printf '%s\n' "${pip_times[@]}" | median)
echo "median over $runs runs: download build $frozen_median s, pip install $pip_median s" \
    "(ratio $(echo "scale=2; $frozen_median / $pip_median" | bc))"
