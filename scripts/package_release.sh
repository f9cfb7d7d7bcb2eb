#!/usr/bin/env bash
# Packs a compiled joule-profiler binary as the release assets that install.sh downloads:
#   OUT_DIR/joule-profiler-<tag>-<target>.tar.gz         the binary, named joule-profiler,
#                                                         at the archive's root
#   OUT_DIR/joule-profiler-<tag>-<target>.tar.gz.sha256  `sha256sum` output for it
# Used by .github/workflows/release.yml and by the installer's tests.
set -euo pipefail

readonly BINARY="joule-profiler"
readonly TAG_PATTERN='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

main() {
  if [ "$#" -ne 4 ]; then
    printf 'Usage: %s TAG TARGET BINARY OUT_DIR\n' "$0" >&2
    exit 2
  fi
  local tag="$1" target="$2" binary="$3" out_dir="$4" asset stage
  [[ "$tag" =~ $TAG_PATTERN ]] || die "invalid tag '$tag' (expected vX.Y.Z)"
  case "$target" in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu) ;;
    *) die "unsupported target '$target'" ;;
  esac
  [ -f "$binary" ] || die "no binary at '$binary'"
  asset="$BINARY-$tag-$target.tar.gz"
  mkdir -p "$out_dir"
  stage="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: $stage is local to main
  trap "rm -rf '$stage'" EXIT
  install -m 755 "$binary" "$stage/$BINARY"
  tar -C "$stage" --owner=0 --group=0 --numeric-owner -czf "$out_dir/$asset" "$BINARY"
  (cd "$out_dir" && sha256sum "$asset" >"$asset.sha256")
  printf '%s\n' "$out_dir/$asset" "$out_dir/$asset.sha256"
}

main "$@"
