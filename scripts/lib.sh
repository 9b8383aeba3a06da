# Shared by scripts/run and scripts/test: Debian packages and the virtual environment.

# Qt's runtime libraries (offscreen and on a real X display) and a font.
RUN_DEBIAN_PACKAGES=(
  python3-venv libgl1 libegl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6
  libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core
)
# Plus what the tests use: a virtual X server for screenshots.
TEST_DEBIAN_PACKAGES=("${RUN_DEBIAN_PACKAGES[@]}" xvfb)

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
