"""Soak test: `faceswap-live live` with the stream, a recording and one reading client for N minutes.

    python scripts/soak.py --minutes 10 --input ../shared/data/faces/videos/v01_p39.avi [--faces 4]

Reports the live process's memory over time (RSS at start, end, peak, and the drift between the first and the last
minute), the frames the stream client received and the frames the recording holds, frames the recorder dropped,
and every warning, error or traceback the process printed. Exits 1 when anything went wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import av
import matplotlib

DEFAULT_INPUT = Path(os.environ.get("FACESWAP_LIVE_SHARED", "../shared")) / "data" / "faces" / "videos" / "v01_p39.avi"
TARGET = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"  # public domain


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class StreamReader(threading.Thread):
    """One client reading the MJPEG stream as OBS would, counting the JPEG parts it gets."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.parts, self.errors = url, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=30) as response:
                while not self.stop.is_set():
                    line = response.readline()
                    if not line:
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                        response.readline()
                        response.read(length)
                        self.parts += 1
        except OSError as error:
            if not self.stop.is_set():
                self.errors.append(str(error))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="video used in place of the camera (loops)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="memory sampling interval")
    parser.add_argument("--faces", type=int, default=1, help="swap every face in view, up to this many")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="faceswap-soak-"))
    recording = folder / "soak.mp4"
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        environment.setdefault(name, str(folder / name.lower()))
    command = [
        sys.executable, "-m", "faceswap_live", "live", "--input", str(args.input), "--target", str(TARGET),
        "--consent", "--stream", "--port", "0", "--record", str(recording), "--faces", str(args.faces),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, cwd=folder
    )
    assert process.stdout is not None
    lines: list[str] = []
    url_found = threading.Event()
    url: list[str] = []

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if match := re.search(r"http://\S+/stream\.mjpg", line):
                url.append(match.group(0))
                url_found.set()

    threading.Thread(target=read_output, daemon=True).start()
    if not url_found.wait(120):
        process.kill()
        print("The stream did not start:\n" + "\n".join(lines))
        return 1
    reader = StreamReader(url[0])
    reader.start()
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    while time.monotonic() - start < args.minutes * 60 and process.poll() is None:
        samples.append((time.monotonic() - start, rss_mb(process.pid)))
        time.sleep(args.sample_s)
    elapsed_s = time.monotonic() - start
    process.send_signal(signal.SIGINT)
    exit_code = process.wait(60)
    reader.stop.set()
    time.sleep(0.5)

    with av.open(str(recording)) as container:
        recorded = sum(1 for _ in container.decode(video=0))
    dropped = sum(int(m.group(1)) for line in lines[-3:] if (m := re.search(r"(\d+) dropped", line)))
    problems = [line for line in lines if re.search(r"warning|error|Traceback", line, re.IGNORECASE)]
    minute = max(1, round(60 / args.sample_s))
    first = sorted(rss for _, rss in samples[:minute])
    last = sorted(rss for _, rss in samples[-minute:])
    drift = last[len(last) // 2] - first[len(first) // 2] if first and last else 0.0
    print(f"ran {elapsed_s / 60:.1f} min; exit code {exit_code}")
    print(
        f"memory: start {samples[0][1]:.0f} MB, end {samples[-1][1]:.0f} MB, peak {max(r for _, r in samples):.0f} "
        f"MB; drift (median of last minute - median of first minute) {drift:+.0f} MB"
    )
    print(f"stream client: {reader.parts} frames ({reader.parts / elapsed_s:.1f} fps); errors: {reader.errors or 0}")
    print(f"recording: {recorded} frames ({recorded / elapsed_s:.1f} fps); recorder dropped {dropped}")
    print(f"warnings/errors printed: {len(problems)}")
    for line in problems[:20]:
        print("  " + line)
    print("last status: " + (lines[-1] if lines else "(none)"))
    return 0 if exit_code == 0 and not problems and not reader.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
