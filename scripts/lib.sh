# Shared by scripts/demo, scripts/test and scripts/bench: find or install what the build needs.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs (as root, through apt-get and pip) or names (otherwise) every missing dependency.
ensure_deps() {
  local need_apt=() need_pip=()
  command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] ||
    die "cargo (Rust toolchain) not found: install it from your distribution or with rustup"
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
  command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
  command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
  command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
  pkg-config --exists libzmq 2>/dev/null || need_apt+=(libzmq3-dev)
  [ -e /usr/include/zlib.h ] || need_apt+=(zlib1g-dev)
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import zmq' 2>/dev/null || need_pip+=(pyzmq)
    python3 -c 'import cryptography' 2>/dev/null || need_pip+=(cryptography)
  fi
  if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing ${need_apt[*]} with apt-get"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null ||
        die "apt-get install ${need_apt[*]} failed"
    else
      die "missing system packages; install them with: sudo apt-get install ${need_apt[*]}"
    fi
  fi
  if ! command -v python3 >/dev/null 2>&1; then die "python3 not found"; fi
  python3 -c 'import zmq' 2>/dev/null || need_pip+=(pyzmq)
  python3 -c 'import cryptography' 2>/dev/null || need_pip+=(cryptography)
  if [ ${#need_pip[@]} -gt 0 ]; then
    say "installing Python packages: ${need_pip[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}" 2>/dev/null ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${need_pip[@]}" ||
      die "pip install ${need_pip[*]} failed; install them by hand: python3 -m pip install ${need_pip[*]}"
  fi
  if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi
}

# Configures and builds the CMake tree in build/$1 (extra cmake arguments follow).
cmake_build() {
  local dir="build/$1"
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null || die "cmake configure failed"
  cmake --build "$dir" -j 2 || die "cmake build failed"
}
