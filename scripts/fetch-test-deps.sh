#!/usr/bin/env bash
# Fetches what the tests need from the package registries, which they cannot reach themselves:
# the sandbox they run in has no network. `npm test` runs it first.
#
# 1. npm's cache gets every package (metadata and tarball) that a consumer's
#    `npm install rtnetlink` resolves, plus @types/node, so test/integration/package.test.ts can
#    install the packed tarball with --offline.
# 2. An arm64 Node for the qemu-user smoke test of the arm64 prebuild: Debian's nodejs:arm64 and
#    the libraries it loads, unpacked into .cache/arm64-node/root (never installed: that could
#    replace the machine's own node). Needs dpkg to know the arm64 architecture
#    (`dpkg --add-architecture arm64 && apt-get update`, as .ci/run does); otherwise it says so
#    and the test reports itself skipped. Kept between runs: it is a tool, not what is tested.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# 1. A throwaway project with the package's dependencies, installed once online.
scratch=$(mktemp -d /tmp/rtnetlink-fetch.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
node -e '
  const pkg = require(process.argv[1]);
  const deps = { ...pkg.dependencies, "@types/node": pkg.devDependencies["@types/node"] };
  require("fs").writeFileSync(process.argv[2], JSON.stringify({ name: "fetch", private: true, dependencies: deps }));
' "$root/package.json" "$scratch/package.json"
(cd "$scratch" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
echo "fetch-test-deps: npm cache holds the package's dependencies and @types/node" >&2

# 2. The arm64 Node, if it is not there yet.
sysroot=$root/.cache/arm64-node/root
if [ -x "$sysroot/usr/bin/node" ]; then
  echo "fetch-test-deps: arm64 node in $sysroot" >&2
elif ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64; then
  echo "fetch-test-deps: no arm64 node (dpkg has no arm64 architecture: dpkg --add-architecture arm64 && apt-get update)" >&2
else
  # Debian 12's nodejs 18 and what its libnode108 links (apt-cache depends libnode108:arm64),
  # plus the builtins Debian keeps outside the binary (node-acorn, node-cjs-module-lexer,
  # node-undici: node aborts at start without them).
  debs=(nodejs:arm64 libnode108:arm64 libbrotli1:arm64 libc-ares2:arm64 libc6:arm64 libgcc-s1:arm64
        libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64 libstdc++6:arm64 libuv1:arm64 zlib1g:arm64
        node-acorn node-cjs-module-lexer node-undici)
  rm -rf "$sysroot.tmp" && mkdir -p "$scratch/debs" "$sysroot.tmp"
  (cd "$scratch/debs" && apt-get download -o APT::Sandbox::User=root "${debs[@]}" >/dev/null)
  for deb in "$scratch"/debs/*.deb; do dpkg -x "$deb" "$sysroot.tmp"; done
  rm -rf "$sysroot" && mv "$sysroot.tmp" "$sysroot"
  echo "fetch-test-deps: arm64 node unpacked into $sysroot" >&2
fi
