#!/usr/bin/env bash
# Installs the joule-profiler binary from a GitHub release (or a mirror of one), or a local
# build with --binary FILE.
#
#   curl -fsSL <raw URL of this file> | bash
#   curl -fsSL <raw URL of this file> | bash -s -- --dir ~/.local/bin --version v0.1.0
#
# `--help` lists the flags. JOULE_PROFILER_RELEASES_URL replaces the release base
# (https://github.com/<owner>/<repo>/releases): assets come from
# <base>/download/<tag>/<asset>, the latest tag from where <base>/latest redirects
# (<base>/tag/<tag>), and `--list` reads <base>.atom.
#
# Everything runs from `main` at the end, so a truncated download executes nothing.
set -euo pipefail

readonly DEFAULT_RELEASES_URL="https://github.com/joule-profiler/joule-profiler-deno/releases"
readonly BINARY="joule-profiler"
readonly POWER_GROUP="power"
readonly UDEV_RULE="/etc/udev/rules.d/70-joule-profiler-powercap.rules"
readonly TAG_PATTERN='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

RELEASES_URL="${JOULE_PROFILER_RELEASES_URL:-$DEFAULT_RELEASES_URL}"
RELEASES_URL="${RELEASES_URL%/}"
INSTALL_DIR="/usr/local/bin"
REQUESTED_VERSION=""
ASSUME_YES=0
GRANT_ACCESS=0
LIST_ONLY=0
LOCAL_BINARY=""
USE_SUDO=0
WORK_DIR=""

usage() {
  cat <<EOF
Installs joule-profiler, an energy profiler for Linux, as a single binary.

Usage: install.sh [options]
       curl -fsSL <URL of install.sh> | bash -s -- [options]

Options:
  -d, --dir DIR         install into DIR (default: /usr/local/bin); sudo is used
                        only when DIR is not writable
      --version vX.Y.Z  install that release (default: the latest)
      --list            list the available versions and exit
      --binary FILE     install this binary instead of downloading a release (e.g.
                        dist/joule-profiler from 'deno task compile' in a clone)
  -y, --yes             answer yes to every prompt (create DIR, replace an
                        existing binary); never grants measurement access
      --grant-access    also let non-root users measure (setcap cap_perfmon on
                        the binary, a '${POWER_GROUP}' group and a udev rule for RAPL
                        powercap files), without asking
  -h, --help            show this help

Without a terminal to ask on and without --yes, the installer never waits for an
answer: it refuses to create DIR or to replace a binary, and only prints the
commands that grant measurement access.

Environment:
  JOULE_PROFILER_RELEASES_URL  release base URL (default: ${DEFAULT_RELEASES_URL});
                               assets: <base>/download/<tag>/<asset>, latest tag:
                               redirect of <base>/latest, versions: <base>.atom
EOF
}

info() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'error: %s (see --help)\n' "$*" >&2
  exit 2
}

cleanup() {
  if [ -n "$WORK_DIR" ]; then rm -rf "$WORK_DIR"; fi
}

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      -d | --dir)
        if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a directory"; fi
        INSTALL_DIR="$2"
        shift
        ;;
      --dir=*) INSTALL_DIR="${1#--dir=}" ;;
      --version)
        if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage_error "--version needs a version such as v0.1.0"; fi
        REQUESTED_VERSION="$2"
        shift
        ;;
      --version=*) REQUESTED_VERSION="${1#--version=}" ;;
      --list) LIST_ONLY=1 ;;
      --binary)
        if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage_error "--binary needs a file"; fi
        LOCAL_BINARY="$2"
        shift
        ;;
      --binary=*) LOCAL_BINARY="${1#--binary=}" ;;
      -y | --yes) ASSUME_YES=1 ;;
      --grant-access) GRANT_ACCESS=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown option '$1'" ;;
    esac
    shift
  done
  [ -n "$INSTALL_DIR" ] || usage_error "--dir needs a directory"
  if [ -n "$LOCAL_BINARY" ]; then
    if [ -n "$REQUESTED_VERSION" ] || [ "$LIST_ONLY" -eq 1 ]; then
      usage_error "--binary installs a local file: it takes no --version or --list"
    fi
    if [ ! -f "$LOCAL_BINARY" ] || [ ! -x "$LOCAL_BINARY" ]; then
      usage_error "--binary '$LOCAL_BINARY' is not an executable file"
    fi
  fi
  case "$INSTALL_DIR" in
    \~) INSTALL_DIR="${HOME:?}" ;;
    \~/*) INSTALL_DIR="${HOME:?}/${INSTALL_DIR#\~/}" ;;
    /*) ;;
    *) INSTALL_DIR="$PWD/$INSTALL_DIR" ;;
  esac
  INSTALL_DIR="${INSTALL_DIR%/}"
  [ -n "$INSTALL_DIR" ] || INSTALL_DIR="/"
  if [ -n "$REQUESTED_VERSION" ]; then
    local given="$REQUESTED_VERSION"
    case "$REQUESTED_VERSION" in v*) ;; *) REQUESTED_VERSION="v$REQUESTED_VERSION" ;; esac
    [[ "$REQUESTED_VERSION" =~ $TAG_PATTERN ]] ||
      usage_error "invalid version '$given' (expected vX.Y.Z)"
  fi
}

# Prompts go to and answers come from /dev/tty, never stdin: under `curl | bash`, stdin is
# the script itself. Without a controlling terminal, opening /dev/tty fails at once.
have_tty() { (exec </dev/tty) 2>/dev/null; }

# ask_tty QUESTION: 0 when the user answered yes on the terminal; 1 otherwise, at once
# when there is no terminal.
ask_tty() {
  local answer=""
  have_tty || return 1
  printf '%s [y/N] ' "$1" >/dev/tty
  if ! IFS= read -r answer </dev/tty; then
    printf '\n' >/dev/tty
    return 1
  fi
  case "$answer" in
    [yY] | [yY][eE][sS]) return 0 ;;
    *) return 1 ;;
  esac
}

# require_confirmation QUESTION SITUATION: goes on with --yes or a "yes" on the terminal;
# otherwise exits, at once when there is no terminal to ask on.
require_confirmation() {
  [ "$ASSUME_YES" -eq 1 ] && return 0
  have_tty || die "$2 and there is no terminal to ask on: pass --yes to go ahead (nothing was installed)"
  ask_tty "$1" || die "cancelled: nothing was installed"
}

privileged() {
  if [ "$USE_SUDO" -eq 1 ]; then sudo "$@"; else "$@"; fi
}

detect_target() {
  local os arch
  os="$(uname -s)"
  arch="$(uname -m)"
  [ "$os" = "Linux" ] ||
    die "unsupported operating system '$os': joule-profiler runs on Linux only"
  case "$arch" in
    x86_64 | amd64) TARGET="x86_64-unknown-linux-gnu" ;;
    aarch64 | arm64) TARGET="aarch64-unknown-linux-gnu" ;;
    *) die "unsupported architecture '$arch': release binaries exist for x86_64 and aarch64; from a checkout, run 'deno install -g -A --v8-flags=--max-semi-space-size=4,--no-lazy -n joule-profiler --config deno.json main.ts'" ;;
  esac
  case "$(ldd --version 2>&1 || true)" in
    *musl*) die "this system uses musl libc; the release binaries need glibc; from a checkout, run 'deno install -g -A --v8-flags=--max-semi-space-size=4,--no-lazy -n joule-profiler --config deno.json main.ts'" ;;
  esac
}

require_tools() {
  local tool
  for tool in curl tar install; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required but was not found"
  done
  if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
    die "'sha256sum' (or 'shasum') is required to verify the download but was not found"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  else
    shasum -a 256 "$1" | awk '{ print $1 }'
  fi
}

download() {
  curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1" ||
    die "could not download $1"
}

list_versions() {
  local feed tags
  feed="$(curl -fsSL --retry 2 --connect-timeout 20 "$RELEASES_URL.atom")" ||
    die "could not download the list of releases from $RELEASES_URL.atom"
  # Each release entry links to <base>/tag/<tag>; the feed is newest first.
  tags="$(printf '%s\n' "$feed" | grep -oE 'href="[^"]*/tag/[^"]+"' |
    sed -E 's|.*/tag/([^"]+)"$|\1|' | awk '!seen[$0]++')" || true
  [ -n "$tags" ] || die "no release found in $RELEASES_URL.atom"
  printf '%s\n' "$tags"
}

# The latest release is where <base>/latest redirects to: <base>/tag/<tag>.
latest_tag() {
  local location tag
  location="$(curl -sS --retry 2 --connect-timeout 20 -o /dev/null -w '%{redirect_url}' \
    "$RELEASES_URL/latest")" || die "could not reach $RELEASES_URL/latest"
  case "$location" in
    */tag/*) tag="${location##*/tag/}" ;;
    *) die "no latest release found ($RELEASES_URL/latest does not redirect to a release); pass --version, see --list" ;;
  esac
  tag="${tag%%[?#]*}"
  [[ "$tag" =~ $TAG_PATTERN ]] || die "the latest release has an unexpected tag '$tag'"
  printf '%s\n' "$tag"
}

# fetch_verified TAG: downloads the archive and its checksum, verifies it, extracts the
# binary into $WORK_DIR/extract and prints its path.
fetch_verified() {
  local tag="$1" asset url expected actual named
  asset="$BINARY-$tag-$TARGET.tar.gz"
  url="$RELEASES_URL/download/$tag/$asset"
  info "Downloading $url" >&2
  download "$url" "$WORK_DIR/$asset"
  download "$url.sha256" "$WORK_DIR/$asset.sha256"
  expected="$(awk 'NR == 1 { print tolower($1) }' "$WORK_DIR/$asset.sha256")"
  named="$(awk 'NR == 1 { sub(/^\*/, "", $2); print $2 }' "$WORK_DIR/$asset.sha256")"
  if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || [ "$named" != "$asset" ]; then
    die "$asset.sha256 is not a sha256sum line for $asset"
  fi
  actual="$(sha256_of "$WORK_DIR/$asset")"
  [ "$actual" = "$expected" ] ||
    die "checksum mismatch for $asset (expected $expected, got $actual): nothing was installed"
  info "Checksum verified (SHA-256 $actual)" >&2
  mkdir "$WORK_DIR/extract"
  tar -xzf "$WORK_DIR/$asset" -C "$WORK_DIR/extract" "$BINARY" 2>/dev/null ||
    die "$asset has no '$BINARY' at its root: nothing was installed"
  if [ ! -f "$WORK_DIR/extract/$BINARY" ] || [ -L "$WORK_DIR/extract/$BINARY" ]; then
    die "'$BINARY' in $asset is not a regular file: nothing was installed"
  fi
  printf '%s\n' "$WORK_DIR/extract/$BINARY"
}

# Sets USE_SUDO when the directory (or, if missing, its nearest existing parent) is not
# writable by this user.
choose_privileges() {
  local probe="$INSTALL_DIR"
  while [ ! -d "$probe" ]; do probe="$(dirname "$probe")"; done
  [ -w "$probe" ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    die "$probe is not writable, even by root"
  fi
  command -v sudo >/dev/null 2>&1 ||
    die "$INSTALL_DIR is not writable by $(id -un) and sudo is not available: choose a directory with --dir (e.g. ~/.local/bin)"
  info "$INSTALL_DIR is not writable by $(id -un): using sudo"
  USE_SUDO=1
}

# Asks whatever needs asking before anything is downloaded or changed.
plan_install() {
  local tag="$1" dest="$INSTALL_DIR/$BINARY" current
  choose_privileges
  if [ ! -d "$INSTALL_DIR" ]; then
    require_confirmation "$INSTALL_DIR does not exist. Create it?" "$INSTALL_DIR does not exist"
  fi
  if [ -d "$dest" ]; then die "$dest is a directory"; fi
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    current="$("$dest" --version </dev/null 2>/dev/null | head -n 1)" || current=""
    require_confirmation "$dest (${current:-unknown version}) exists. Replace it with $tag?" \
      "$dest already exists"
  fi
}

install_binary() {
  local source="$1" dest="$INSTALL_DIR/$BINARY"
  if [ ! -d "$INSTALL_DIR" ]; then privileged mkdir -p "$INSTALL_DIR"; fi
  privileged install -m 755 "$source" "$dest"
  info "Installed $dest"
}

check_installed() {
  local dest="$INSTALL_DIR/$BINARY" version found
  version="$("$dest" --version </dev/null 2>&1)" ||
    die "$dest was installed but '$BINARY --version' failed: $version"
  info "$BINARY --version: $version"
  case ":$PATH:" in
    *":$INSTALL_DIR:"*)
      hash -r
      found="$(command -v "$BINARY" || true)"
      if [ -n "$found" ] && [ "$found" != "$dest" ]; then
        warn "'$BINARY' on your PATH is $found, which comes before $dest"
      fi
      ;;
    *) warn "$INSTALL_DIR is not on your PATH; add it with: export PATH=\"$INSTALL_DIR:\$PATH\"" ;;
  esac
}

kernel_has_cap_perfmon() {
  local release major minor
  release="$(uname -r)"
  major="${release%%.*}"
  minor="${release#*.}"
  minor="${minor%%[!0-9]*}"
  [[ "$major" =~ ^[0-9]+$ ]] && [[ "$minor" =~ ^[0-9]+$ ]] || return 1
  [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -ge 8 ]; }
}

have_powercap_zones() {
  compgen -G '/sys/class/powercap/intel-rapl:*/energy_uj' >/dev/null
}

# The user who should join the power group: the one behind sudo, or this one unless root.
access_user() {
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != "root" ]; then
    printf '%s\n' "$SUDO_USER"
  elif [ "$(id -u)" -ne 0 ]; then
    id -un
  fi
}

udev_rule_text() {
  cat <<EOF
# Written by joule-profiler's install.sh: lets the '${POWER_GROUP}' group read the RAPL energy
# counters, which are root-only since CVE-2020-8694. scripts/uninstall.sh offers to remove it.
SUBSYSTEM=="powercap", ACTION=="add", TEST=="/sys\$devpath/energy_uj", RUN+="/bin/chgrp ${POWER_GROUP} /sys\$devpath/energy_uj", RUN+="/bin/chmod g+r /sys\$devpath/energy_uj"
EOF
}

# Runs a privileged step for the access setup: as root directly, otherwise through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

can_become_root() {
  [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1
}

# setcap lives in sbin, which is often not on a normal user's PATH.
find_setcap() {
  local candidate
  for candidate in "$(command -v setcap 2>/dev/null || true)" /usr/sbin/setcap /sbin/setcap; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

grant_perfmon() {
  local dest="$1" setcap
  setcap="$(find_setcap)"
  if as_root "$setcap" cap_perfmon=ep "$dest"; then
    info "Granted: $(getcap "$dest" 2>/dev/null || echo "cap_perfmon on $dest")"
  else
    warn "setcap failed (a filesystem without extended attributes, or mounted nosuid?)"
  fi
}

grant_powercap() {
  local user
  user="$(access_user)"
  getent group "$POWER_GROUP" >/dev/null || as_root groupadd --system "$POWER_GROUP" ||
    { warn "could not create the '$POWER_GROUP' group"; return 0; }
  if [ -n "$user" ]; then
    as_root usermod -aG "$POWER_GROUP" "$user" ||
      warn "could not add $user to the '$POWER_GROUP' group"
    info "Added $user to '$POWER_GROUP' (takes effect at the next login)"
  else
    info "Add the users who measure with: sudo usermod -aG $POWER_GROUP <user>"
  fi
  udev_rule_text | as_root tee "$UDEV_RULE" >/dev/null ||
    { warn "could not write $UDEV_RULE"; return 0; }
  info "Wrote $UDEV_RULE"
  if command -v udevadm >/dev/null 2>&1; then
    if ! as_root udevadm control --reload-rules ||
      ! as_root udevadm trigger --subsystem-match=powercap --action=add; then
      warn "udevadm could not apply the rule now; it applies at the next boot"
    fi
  fi
}

# Explains how to measure without root, and applies it only when asked: with --grant-access,
# or after a "yes" on the terminal when --yes was not given. Never silently.
access_step() {
  local dest="$INSTALL_DIR/$BINARY" paranoid perfmon=0 powercap=0 interactive=0
  paranoid="$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)"
  kernel_has_cap_perfmon && perfmon=1
  have_powercap_zones && powercap=1
  if [ "$GRANT_ACCESS" -eq 0 ] && [ "$ASSUME_YES" -eq 0 ] && have_tty; then interactive=1; fi

  cat <<EOF

Measuring without root (optional)
  perf_event (RAPL through perf, counters): kernel.perf_event_paranoid is ${paranoid}.
  System-wide events such as RAPL need CAP_PERFMON (Linux >= 5.8) or a paranoid level <= 0.
  The safer way is the capability, on this binary only (the programs it runs do not get it):
      sudo setcap cap_perfmon=ep ${dest}
  (setcap comes with libcap2-bin/libcap; re-run it after each upgrade, a new file has no
  capability; with it, LD_LIBRARY_PATH is ignored, so libnvidia-ml.so.1 must be in a system
  library directory). Or, for every user and program:
      echo 'kernel.perf_event_paranoid = 0' | sudo tee /etc/sysctl.d/60-joule-profiler.conf
      sudo sysctl --system
  powercap (RAPL through /sys/class/powercap/intel-rapl:*/energy_uj, root-only since
  CVE-2020-8694): a '${POWER_GROUP}' group allowed to read them, set at each boot by a udev rule:
      sudo groupadd --system ${POWER_GROUP}
      sudo usermod -aG ${POWER_GROUP} \$USER
      sudo tee ${UDEV_RULE} <<'RULE'
$(udev_rule_text)
RULE
      sudo udevadm control --reload-rules
      sudo udevadm trigger --subsystem-match=powercap --action=add
EOF

  if [ "$GRANT_ACCESS" -eq 0 ] && [ "$interactive" -eq 0 ]; then
    info "Nothing was changed; run the commands above, or re-run the installer with --grant-access."
    return 0
  fi
  if ! can_become_root; then
    warn "granting access needs root or sudo; run the commands above as root"
    return 0
  fi
  if [ "$perfmon" -eq 0 ]; then
    info "Kernel $(uname -r) predates CAP_PERFMON (5.8): use the perf_event_paranoid setting above."
  elif ! find_setcap >/dev/null; then
    warn "setcap was not found (install libcap2-bin or libcap): cannot grant CAP_PERFMON"
  elif [ "$GRANT_ACCESS" -eq 1 ] || ask_tty "Grant CAP_PERFMON to $dest (setcap)?"; then
    grant_perfmon "$dest"
  fi
  if [ "$powercap" -eq 0 ]; then
    info "No RAPL powercap zone on this machine: no powercap rule needed."
  elif [ "$GRANT_ACCESS" -eq 1 ] ||
    ask_tty "Create the '$POWER_GROUP' group and write $UDEV_RULE?"; then
    grant_powercap
  fi
}

main() {
  local tag source
  parse_args "$@"
  if [ -n "$LOCAL_BINARY" ]; then
    # A local build (`deno task compile`): nothing to download or verify.
    plan_install "$LOCAL_BINARY"
    install_binary "$LOCAL_BINARY"
    check_installed
    access_step
    return 0
  fi
  require_tools
  if [ "$LIST_ONLY" -eq 1 ]; then
    list_versions
    return 0
  fi
  detect_target
  WORK_DIR="$(mktemp -d)"
  trap cleanup EXIT
  if [ -n "$REQUESTED_VERSION" ]; then
    tag="$REQUESTED_VERSION"
  else
    tag="$(latest_tag)"
    info "Latest release: $tag"
  fi
  plan_install "$tag"
  source="$(fetch_verified "$tag")"
  install_binary "$source"
  check_installed
  access_step
}

main "$@"
