#!/bin/sh
# Adds faceswap-live to the desktop's application menu (this user only): the desktop entry, pointing at the launcher
# beside this script, and the icon. Run it again after moving the folder.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
install -Dm644 "$here/share/icons/hicolor/256x256/apps/faceswap-live.png" \
    "$data/icons/hicolor/256x256/apps/faceswap-live.png"
mkdir -p "$data/applications"
sed "s|^Exec=faceswap-live|Exec=\"$here/faceswap-live\"|" "$here/share/applications/faceswap-live.desktop" \
    > "$data/applications/faceswap-live.desktop"
echo "Added faceswap-live to the application menu ($data/applications/faceswap-live.desktop)."
