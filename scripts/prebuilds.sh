#!/usr/bin/env bash
# Prebuilt addons for the published package: prebuilds/linux-ARCH/rtnetlink.LIBC.node (Node-API,
# stripped, tagged by libc, which is what node-gyp-build picks at load) and, beside each, the
# helper executables tagged the same way (rtnl-exec.glibc; lib/native.ts helperPath() finds them).
#
#   scripts/prebuilds.sh                 this machine's arch
#   scripts/prebuilds.sh x64 arm64       both; arm64 on an x64 machine is cross-compiled with
#                                        Debian's g++-aarch64-linux-gnu (and the reverse)
#   scripts/prebuilds.sh --out DIR x64   into DIR/prebuilds instead of the package's own folder
#
# It builds in a scratch copy of binding.gyp and native/, so the build/ of a source checkout
# (which node-gyp-build prefers over prebuilds) is left alone. Nothing is downloaded: node-gyp
# gets the running Node's own headers (npm_config_nodedir) unless one is configured already.
# Only glibc: Debian has no C++ standard library for musl (musl-tools is C only), and the addon
# is C++.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Every executable target of binding.gyp. One that was not built is skipped with a note, so a
# name may be listed before its target lands.
helpers=(rtnl-exec rtnetlink-cni)

out=$root
arches=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -*) echo "prebuilds: unknown option $1" >&2; exit 2 ;;
    *) arches+=("$1"); shift ;;
  esac
done
host=$(node -p process.arch)
[ ${#arches[@]} -gt 0 ] || arches=("$host")

if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(node -p "require('path').resolve(process.execPath, '..', '..')")
  if [ -f "$prefix/include/node/node_api.h" ]; then export npm_config_nodedir=$prefix; fi
fi

# The GNU triplet of a Node arch, for the cross toolchain's names.
triplet() {
  case $1 in
    x64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) echo "prebuilds: no toolchain known for arch $1" >&2; return 1 ;;
  esac
}

scratch=$(mktemp -d /tmp/rtnetlink-prebuilds.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cp -r package.json binding.gyp native "$scratch/"
ln -s "$root/node_modules" "$scratch/node_modules"

libc=glibc
for arch in "${arches[@]}"; do
  t=$(triplet "$arch")
  tools=()
  strip=strip
  if [ "$arch" != "$host" ]; then
    if ! command -v "$t-g++" >/dev/null; then
      echo "prebuilds: no $t-g++ for the $arch cross build (apt-get install g++-$t)" >&2
      exit 1
    fi
    tools=(CC="$t-gcc" CXX="$t-g++" LINK="$t-g++" AR="$t-ar")
    strip=$t-strip
  fi
  dest=$out/prebuilds/linux-$arch
  mkdir -p "$dest"
  # Only this libc's files: a musl build made elsewhere may share the folder.
  find "$dest" -maxdepth 1 -name "*.$libc*" -delete
  echo "prebuilds: linux-$arch ($libc)" >&2
  env "${tools[@]}" JOBS="${JOBS:-max}" npx --no-install prebuildify --cwd "$scratch" --out "$out" \
    --napi --strip --strip-bin "$strip" --tag-libc --arch "$arch" >&2
  for h in "${helpers[@]}"; do
    built=$scratch/build/Release/$h
    if [ -f "$built" ]; then
      "$strip" --strip-all -o "$dest/$h.$libc" "$built"
    else
      echo "prebuilds: $h was not built (no such target in binding.gyp), skipped" >&2
    fi
  done
  for f in "$dest"/*."$libc"*; do
    printf '  %s: %s\n' "${f#"$out"/}" "$(readelf -h "$f" | sed -n 's/^ *Machine: *//p')" >&2
  done
done
