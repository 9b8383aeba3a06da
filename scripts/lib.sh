# Shared by scripts/run and scripts/test: Debian packages and the virtual environment.

# Qt's runtime libraries (offscreen and on a real X display) and a font.
RUN_DEBIAN_PACKAGES=(
  python3-venv libgl1 libegl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6
  libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core
)
# Plus what the tests use: a virtual X server and a small window manager for screenshots (openbox gives the
# dialogs of scripts/screenshots.py their title bars), a real Secret Service (gnome-keyring-daemon
# on a private D-Bus session) for the keyring tier, tests/secret_service, and the freedesktop validators
# (desktop-file-validate, appstreamcli) for tests/packaging.
TEST_DEBIAN_PACKAGES=("${RUN_DEBIAN_PACKAGES[@]}" xvfb openbox gnome-keyring dbus dbus-x11 desktop-file-utils appstream git)

ensure_debian_packages() {
  command -v dpkg-query >/dev/null || { echo "not a Debian/Ubuntu system: install Qt 6's libraries yourself"; return 0; }
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  local spec="$1"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "== installing Python packages ($spec)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e "$spec"
}

# Runs "$@" on a private D-Bus session with an unlocked gnome-keyring-daemon whose files live in a temporary
# folder (never the desktop's own keyring), and tells the tests so (PROJECTDESK_TEST_SECRET_SERVICE=1).
with_private_secret_service() {
  if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
    echo "warning: dbus-run-session or gnome-keyring-daemon missing: the Secret Service tests will fail" >&2
    "$@"
    return
  fi
  local home status=0
  home=$(mktemp -d)
  mkdir -m 700 "$home/runtime"
  env -u DBUS_SESSION_BUS_ADDRESS -u GNOME_KEYRING_CONTROL \
    XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/runtime" PROJECTDESK_TEST_KEYRING_HOME="$home/data" \
    dbus-run-session -- sh -c '
      printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
        export PROJECTDESK_TEST_SECRET_SERVICE=1
      exec "$@"' sh "$@" || status=$?
  rm -rf "$home"
  return $status
}
