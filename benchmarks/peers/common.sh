# Shared by the shell peers (sourced): the "clean" wait and the JSON timing line.

# Clean means the kernel has removed the links, which it does in batches after the
# namespaces went away: poll (one `ip` process, a few ms) every 10 ms until no h<i> is left.
wait_until_no_host_links() {
  while ip -o link show | grep -qE '^[0-9]+: h[0-9]+[@:]'; do sleep 0.01; done
}

# Prints {"ms": ...} for the time since $t0 (an $EPOCHREALTIME value).
print_elapsed() {
  local t1=$EPOCHREALTIME
  # EPOCHREALTIME is seconds.microseconds: subtract as integer microseconds.
  local us=$((10#${t1/[.,]/} - 10#${t0/[.,]/}))
  printf '{"ms": %d.%03d}\n' $((us / 1000)) $((us % 1000))
}
