#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (CMakeLists.txt through
# cmake-js, same sources as binding.gyp) and runs the native-facing integration tests on it, in
# the sandbox.
#
#   scripts/asan-build.sh                      the default set below
#   scripts/asan-build.sh test/integration/kill.test.ts ...   other test files
#   RTNETLINK_ASAN_BUILD_ONLY=1 scripts/asan-build.sh         build, do not run
#
# Exit status: vitest's, or 1 when a sanitizer reported anything (reports are printed, and kept
# in the log directory named at the end). Needs root (scripts/sandbox), cmake, gcc/g++ and
# make; the build downloads nothing (cmake-js takes the Node-API headers from node_modules).
#
# How node runs a sanitized addon: node is not instrumented, so the ASan runtime has to be the
# first library in the process (LD_PRELOAD), and leak checking is off because node itself does
# not free everything at exit. Every child the tests start (ip, nft, the exec helper, a test's
# own node children) inherits both; uninstrumented programs only get ASan's allocator, which
# costs nothing but would still report a double free in them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${RTNETLINK_ASAN_BUILD:-$root/build-asan}

if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=(
    test/integration/namespaces.test.ts
    test/integration/errors.test.ts
    test/integration/sysctl.test.ts
    test/integration/nat.test.ts
    test/integration/tutorial.test.ts
    test/integration/exec.test.ts
    test/integration/sockets.test.ts
    test/integration/kill.test.ts
    test/integration/topology.test.ts
    test/integration/asan.test.ts
  )
fi

echo "asan: building into $build" >&2
# --config None: no build type's flags (Release would add -O3 -DNDEBUG); CMakeLists.txt has them all.
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) npx --no-install cmake-js compile --directory "$root" --out "$build" --config None >&2
[ -n "${RTNETLINK_ASAN_BUILD_ONLY:-}" ] && exit 0

libasan=$(gcc -print-file-name=libasan.so)
case $libasan in
  /*) ;;
  *) echo "asan: gcc knows no libasan.so (install libasan of your gcc)" >&2; exit 1 ;;
esac

logs=$(mktemp -d /tmp/rtnetlink-asan.XXXXXX)
# halt_on_error/abort_on_error: a finding ends the process with a report instead of running on
# with corrupted memory. log_path: reports also land in files, one per process, so a report from
# a child process whose stderr nobody reads is not lost. log_exe_name: which program it was.
asan="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1"
asan="$asan:strict_string_checks=1:check_initialization_order=1:log_exe_name=1:log_path=$logs/asan"
ubsan="print_stacktrace=1:halt_on_error=1:log_exe_name=1:log_path=$logs/ubsan"

# Where the tests load the addon from. lib/native.ts honouring RTNETLINK_ADDON (and finding
# rtnl-exec beside it) is the clean way; until it does, a copy of the tree whose build/Release
# holds the sanitized binaries (node-gyp-build looks in build/Release first, and lib/native.ts
# finds the exec helper there too), so the shared build/ that other runs use is never touched.
run_dir=$root
if grep -q RTNETLINK_ADDON lib/native.ts; then
  export RTNETLINK_ADDON=$build/rtnetlink.node
else
  run_dir=$logs/tree
  mkdir -p "$run_dir/build/Release"
  cp -r lib test examples scripts package.json tsconfig.json vitest.config.ts "$run_dir/"
  mkdir -p "$run_dir/benchmarks" && cp -r benchmarks/lib "$run_dir/benchmarks/"
  ln -s "$root/node_modules" "$run_dir/node_modules"
  cp "$build/rtnetlink.node" "$build/rtnl-exec" "$run_dir/build/Release/"
  echo "asan: lib/native.ts has no RTNETLINK_ADDON yet; running from a copy of the tree in $run_dir" >&2
fi

status=0
(
  cd "$run_dir"
  LD_PRELOAD=$libasan ASAN_OPTIONS=$asan UBSAN_OPTIONS=$ubsan RTNETLINK_SANITIZED=1 \
    "$root/scripts/sandbox" npx vitest run "${tests[@]}"
) || status=$?

shopt -s nullglob
reports=("$logs"/asan.* "$logs"/ubsan.*)
if [ ${#reports[@]} -gt 0 ]; then
  for r in "${reports[@]}"; do
    echo "==== $r" >&2
    cat "$r" >&2
  done
  echo "asan: ${#reports[@]} sanitizer report(s), kept in $logs" >&2
  exit 1
fi
echo "asan: no sanitizer reports (vitest exit status $status); logs in $logs" >&2
exit "$status"
