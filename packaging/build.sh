#!/usr/bin/env bash
# Builds the download build from a clean checkout, in its own virtual environment (build/venv; .venv is not touched):
#   dist/faceswap-live/                                  the one-folder app (Linux), dist/faceswap-live.app (macOS)
#   dist/faceswap-live-VERSION-linux-x86_64.tar.gz       that folder, with the desktop entry and icon
#   dist/faceswap-live-VERSION-x86_64.AppImage           when appimagetool is on PATH (or named by APPIMAGETOOL)
#   dist/faceswap-live-VERSION-macos-ARCH.zip            on macOS
# Windows: packaging/build.ps1. Set FACESWAP_LIVE_MODEL_MIRROR to take the landmark model from a local folder.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

python="${PYTHON:-python3}"
venv=build/venv
if [[ ! -x $venv/bin/python ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# A regular (not editable) install: the frozen app gets a clean copy of the package.
"$venv/bin/python" -m pip install --quiet . "pyinstaller>=6.10"
# MediaPipe brings the full OpenCV (contrib modules, Qt 5 windows); the app uses only core functions and draws with
# PySide6, so the build carries the headless OpenCV: about 150 MB less. One cv2 either way.
"$venv/bin/python" -m pip uninstall --quiet --yes opencv-contrib-python
"$venv/bin/python" -m pip install --quiet opencv-python-headless

"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/pyinstaller/faceswap-live.spec

version=$("$venv/bin/python" -c "import faceswap_live; print(faceswap_live.__version__)")
arch=$(uname -m)

if [[ $(uname -s) == Darwin ]]; then
    (cd dist && ditto -c -k --keepParent faceswap-live.app "faceswap-live-$version-macos-$arch.zip")
    echo "Built dist/faceswap-live.app and dist/faceswap-live-$version-macos-$arch.zip in $(($(date +%s) - started)) s"
    exit 0
fi

# Linux: drop the symbol tables of the shared libraries and extension modules (MediaPipe's C library alone has
# 30 MB), about 90 MB in all; their exported (dynamic) symbols stay. Not the libraries that auditwheel vendored into
# `*.libs` folders (stripping those can break them), nor the launcher (its archive is appended to it).
app=dist/faceswap-live
find "$app/_internal" -path "*.libs/*" -prune -o -type f \( -name "*.so" -o -name "*.so.*" \) -print0 \
    | xargs -0 strip --strip-unneeded
# Desktop entry, icon and an installer for both beside the launcher.
install -Dm644 packaging/linux/faceswap-live.desktop "$app/share/applications/faceswap-live.desktop"
install -Dm644 src/faceswap_live/assets/icon.png "$app/share/icons/hicolor/256x256/apps/faceswap-live.png"
install -m755 packaging/linux/install-desktop-entry.sh "$app/install-desktop-entry.sh"

tarball="dist/faceswap-live-$version-linux-$arch.tar.gz"
tar -C dist -czf "$tarball" faceswap-live
echo "Built $app ($(du -sh "$app" | cut -f1)) and $tarball ($(du -h "$tarball" | cut -f1))"

# AppImage: the same folder in an AppDir, packed by appimagetool.
appdir=build/AppDir
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib"
cp -a "$app" "$appdir/usr/lib/faceswap-live"
install -Dm755 packaging/linux/AppRun "$appdir/AppRun"
install -Dm644 packaging/linux/faceswap-live.desktop "$appdir/faceswap-live.desktop"
install -Dm644 src/faceswap_live/assets/icon.png "$appdir/faceswap-live.png"
install -Dm644 src/faceswap_live/assets/icon.png "$appdir/usr/share/icons/hicolor/256x256/apps/faceswap-live.png"
install -Dm644 packaging/linux/faceswap-live.desktop "$appdir/usr/share/applications/faceswap-live.desktop"
ln -sf faceswap-live.png "$appdir/.DirIcon"
appimagetool="${APPIMAGETOOL:-$(command -v appimagetool || command -v appimagetool-x86_64.AppImage || true)}"
if [[ -n $appimagetool ]]; then
    appimage="dist/faceswap-live-$version-$arch.AppImage"
    # --appimage-extract-and-run: appimagetool is itself an AppImage and may find no FUSE (containers, CI).
    ARCH=$arch "$appimagetool" --appimage-extract-and-run --no-appstream "$appdir" "$appimage" \
        || ARCH=$arch "$appimagetool" --no-appstream "$appdir" "$appimage"
    echo "Built $appimage ($(du -h "$appimage" | cut -f1))"
else
    echo "appimagetool not found: AppImage skipped; the AppDir is ready in $appdir (see packaging/README.md)."
fi
echo "Build time: $(($(date +%s) - started)) s"
