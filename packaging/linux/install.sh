#!/usr/bin/env bash
# Puts ProjectDesk into the desktop's menus for the current user: the .desktop file (with Exec pointing at
# the installed command), the AppStream metainfo and the app icon (hicolor PNG sizes + scalable SVG) under
# ${XDG_DATA_HOME:-~/.local/share}. Nothing needs root; run it again after moving the app.
#
# Usage: packaging/linux/install.sh [--exec COMMAND] [--uninstall]
#   --exec COMMAND  the window's command (default: `projectdesk` found on PATH, as `pip install` puts it);
#                   for the PyInstaller bundle: --exec /opt/ProjectDesk/projectdesk
#   --uninstall     remove what an install put there
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app_id="io.github.projectdesk.ProjectDesk"
icons="$root/resources/icons"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
sizes=(16 24 32 48 64 128 256)

command=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --exec) command="${2:?--exec needs the path of the projectdesk command}"; shift 2 ;;
    --exec=*) command="${1#--exec=}"; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

targets=(
  "$data/applications/$app_id.desktop"
  "$data/metainfo/$app_id.metainfo.xml"
  "$data/icons/hicolor/scalable/apps/$app_id.svg"
)
for size in "${sizes[@]}"; do
  targets+=("$data/icons/hicolor/${size}x${size}/apps/$app_id.png")
done

refresh_caches() {
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data/applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$data/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t -f "$data/icons/hicolor" 2>/dev/null || true
  fi
}

if [ "$uninstall" -eq 1 ]; then
  rm -f "${targets[@]}"
  refresh_caches
  echo "removed ProjectDesk's menu entry, metainfo and icons from $data"
  exit 0
fi

if [ -z "$command" ]; then
  command="$(command -v projectdesk || true)"
  if [ -z "$command" ]; then
    echo "install.sh: projectdesk is not on PATH: install it (pip install .) or pass --exec /path/to/projectdesk" >&2
    exit 1
  fi
fi
case "$command" in /*) ;; *) command="$(pwd)/$command" ;; esac
if [ ! -x "$command" ] || [ -d "$command" ]; then
  echo "install.sh: $command is not an executable file" >&2
  exit 1
fi

# The Exec value: quoted per the Desktop Entry spec when the path has anything but plain characters
# ("\", "\"", "`" and "$" escaped inside the quotes), then backslashes doubled for the file's string syntax.
exec_arg="$command"
if [[ ! "$command" =~ ^[A-Za-z0-9_./+,@:-]+$ ]]; then
  quoted="$(printf '%s' "$command" | sed -e 's/[\\"`$]/\\&/g')"
  exec_arg="\"$quoted\""
fi
exec_line="$(printf '%s' "$exec_arg" | sed -e 's/\\/\\\\/g')"
tryexec_line="$(printf '%s' "$command" | sed -e 's/\\/\\\\/g')"

mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
tmp="$(mktemp "$data/applications/.$app_id.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=*) printf 'Exec=%s %%F\n' "$exec_line" ;;
    TryExec=*) printf 'TryExec=%s\n' "$tryexec_line" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$here/$app_id.desktop" >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$data/applications/$app_id.desktop"
trap - EXIT

install -m 644 "$here/$app_id.metainfo.xml" "$data/metainfo/$app_id.metainfo.xml"
install -m 644 "$icons/projectdesk.svg" "$data/icons/hicolor/scalable/apps/$app_id.svg"
for size in "${sizes[@]}"; do
  mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
  install -m 644 "$icons/projectdesk-$size.png" "$data/icons/hicolor/${size}x${size}/apps/$app_id.png"
done
refresh_caches
echo "installed ProjectDesk ($command) into $data: applications/, metainfo/, icons/hicolor/"
