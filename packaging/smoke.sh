#!/usr/bin/env bash
# Smoke test of a download build, as a user runs it: opens the window (Linux: under Xvfb with Qt's xcb platform),
# swaps a public-domain photo with the frozen CLI, records 3 s live from a video, and checks both outputs with
# `verify` (exit 0 = marked by faceswap-live, 1 = not marked). Run after packaging/build.sh:
#   packaging/smoke.sh [LAUNCHER]      (default: the launcher in dist/; an AppImage works too)
# The clip is the first of ../shared/data/faces/videos/*.mp4 (or SMOKE_CLIP); without one, a short clip is made from
# the public-domain astronaut photo. No model mirror is used: the build must start with what it carries.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

case "$(uname -s)" in
    Linux) default_app=dist/faceswap-live/faceswap-live ;;
    Darwin) default_app=dist/faceswap-live.app/Contents/MacOS/faceswap-live ;;
    *) default_app=dist/faceswap-live/faceswap-live.exe ;;
esac
app="${1:-$default_app}"
[[ -x $app ]] || { echo "smoke: no build at $app (run packaging/build.sh first)" >&2; exit 1; }
app="$(cd "$(dirname "$app")" && pwd)/$(basename "$app")"

# Linux: everything below runs inside one X server, so the window check uses the xcb platform like a desktop does.
if [[ $(uname -s) == Linux && -z ${SMOKE_IN_XVFB:-} ]]; then
    SMOKE_IN_XVFB=1 exec xvfb-run -a -s "-screen 0 1920x1080x24" "$0" "$app"
fi

work="$(mktemp -d)"
out="${SMOKE_OUT:-$work/out}"
mkdir -p "$out"
# A first start: empty settings, data and cache folders; no model mirror, no network needed.
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
unset FACESWAP_LIVE_MODEL_MIRROR QT_QPA_PLATFORM_PLUGIN_PATH
failures=0
pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# --- Test photos: the two public-domain faces, written out from the installed packages -----------------------------
python=""
for candidate in "${SMOKE_PYTHON:-}" .venv/bin/python build/venv/bin/python .venv/Scripts/python.exe \
    build/venv/Scripts/python.exe python3; do
    if [[ -n $candidate ]] && "$candidate" -c "import skimage, matplotlib, av" 2>/dev/null; then
        python=$candidate
        break
    fi
done
[[ -n $python ]] || { echo "smoke: needs a Python with scikit-image, matplotlib and av (set SMOKE_PYTHON)" >&2; exit 1; }
"$python" - "$work" <<'EOF'
import shutil
import sys
from pathlib import Path

import matplotlib
from skimage import data, io

work = Path(sys.argv[1])
io.imsave(work / "astronaut.png", data.astronaut())
shutil.copy(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", work / "grace_hopper.jpg")
EOF

clip="${SMOKE_CLIP:-$(ls "$repo"/../shared/data/faces/videos/*.mp4 2>/dev/null | head -n 1 || true)}"
if [[ -z $clip ]]; then
    clip="$work/astronaut_clip.mp4"
    "$python" - "$work/astronaut.png" "$clip" <<'EOF'
import sys

import av
import numpy as np
from skimage import io

photo = io.imread(sys.argv[1])[:480, :480]
with av.open(sys.argv[2], "w") as container:
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 480, 480, "yuv420p"
    for index in range(120):  # 4 s, drifting a few pixels, as a held camera does
        shift = int(6 * np.sin(index / 10))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(photo, shift, axis=1)), format="rgb24")
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
EOF
fi
echo "smoke: $app; clip $clip; outputs in $out"

# --- The launcher answers ------------------------------------------------------------------------------------------
version=$("$app" --version) && code=0 || code=$?
if [[ $code == 0 ]]; then pass "--version: $version"; else fail "--version exited $code"; fi

# --- The window opens ----------------------------------------------------------------------------------------------
if [[ $(uname -s) == Linux ]]; then
    export QT_QPA_PLATFORM=xcb
else
    export QT_QPA_PLATFORM=offscreen  # CI runners of macOS and Windows: no interactive desktop
fi
started=$(date +%s)
"$app" >"$out/gui.log" 2>&1 &
gui=$!
opened=""
for _ in $(seq 1 120); do
    if ! kill -0 "$gui" 2>/dev/null; then
        break
    fi
    if [[ $(uname -s) != Linux ]]; then
        [[ $(($(date +%s) - started)) -ge 20 ]] && opened=yes && break
    elif xwininfo -root -tree 2>/dev/null | grep -q '"faceswap-live"'; then
        opened=yes
        break
    fi
    sleep 0.5
done
if [[ -n $opened ]]; then
    pass "window opened after $(($(date +%s) - started)) s"
    sleep 3  # let the window draw (and the app install its Ctrl-C handler, just after showing the window)
    if [[ $(uname -s) == Linux ]] && command -v import >/dev/null; then
        import -window root "$out/gui.png" && echo "      screenshot: $out/gui.png"
    fi
    if [[ $(uname -s) == Linux ]]; then
        kill -INT "$gui"  # the app closes its window on Ctrl-C
        for _ in $(seq 1 60); do kill -0 "$gui" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$gui" 2>/dev/null && echo "      the app was still running 30 s after Ctrl-C"
        wait "$gui" && code=0 || code=$?
        if [[ $code == 0 ]]; then pass "window closed cleanly"; else fail "the app exited $code on Ctrl-C"; fi
    else
        kill "$gui" 2>/dev/null || true
        wait "$gui" 2>/dev/null || true
    fi
else
    kill "$gui" 2>/dev/null || true
    wait "$gui" 2>/dev/null || true
    fail "no window within 60 s; the app's output:"
    cat "$out/gui.log"
fi
unset QT_QPA_PLATFORM

# --- Swap a photo with the CLI -------------------------------------------------------------------------------------
if "$app" swap --target "$work/grace_hopper.jpg" --consent --input "$work/astronaut.png" \
    --output "$out/swapped.png" >"$out/swap.log" 2>&1; then
    if grep -q "face swapped in 1" "$out/swap.log" && [[ -s $out/swapped.png ]]; then
        pass "swap: $(tail -n 1 "$out/swap.log")"
    else
        fail "swap wrote no swapped face:"
        cat "$out/swap.log"
    fi
else
    fail "swap exited $?:"
    cat "$out/swap.log"
fi

# --- Record 3 s live from a video ----------------------------------------------------------------------------------
if "$app" live --input "$clip" --target "$work/grace_hopper.jpg" --consent --record "$out/live.mp4" \
    --duration 3 >"$out/live.log" 2>&1; then
    if [[ -s $out/live.mp4 && ! -e $out/live.part.mp4 ]]; then
        seconds=$("$python" -c "
import av, sys
with av.open(sys.argv[1]) as container:
    times = [frame.time for frame in container.decode(video=0)]
print(f'{times[-1] - times[0] + 1 / 30:.1f}')" "$out/live.mp4")
        if awk -v s="$seconds" 'BEGIN { exit !(s >= 2 && s <= 4) }'; then
            pass "live: recorded $seconds s"
        else
            fail "live: the recording is $seconds s long, not about 3 s"
        fi
    else
        fail "live left no finished recording:"
        cat "$out/live.log"
    fi
else
    fail "live exited $?:"
    cat "$out/live.log"
fi

# --- verify: exit 0 = marked by faceswap-live, 1 = not marked ------------------------------------------------------
for made in "$out/swapped.png" "$out/live.mp4"; do
    [[ -e $made ]] || continue
    result=$("$app" verify "$made" 2>&1) && code=0 || code=$?
    if [[ $code == 0 ]]; then
        pass "verify $(basename "$made"): marked ($(echo "$result" | head -n 1))"
    else
        fail "verify $(basename "$made") exited $code: $result"
    fi
done
"$app" verify "$work/astronaut.png" >"$out/verify-original.log" 2>&1 && code=0 || code=$?
if [[ $code == 1 ]]; then pass "verify of the untouched photo: not marked (exit 1)"; else fail "verify of the untouched photo exited $code"; fi

if [[ $failures -gt 0 ]]; then
    echo "smoke: $failures check(s) failed"
    exit 1
fi
echo "smoke: all checks passed"
