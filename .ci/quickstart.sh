#!/usr/bin/env bash
# CI: the README's quick start, as a new user runs it. Its `Cargo.toml` lines and its program
# (the blocks after `<!-- quickstart: <file> ... -->` in README.md) go into a crate made with
# `cargo new` outside the workspace, which builds warning-free; run with a one-second profile,
# under a bounded load for two tenants from curl, and stopped with SIGTERM, it must leave the
# requests' spans and a CPU profile whose samples carry each tenant.
#
# The crate has no Cargo.lock, so cargo resolves every dependency afresh to the newest
# semver-compatible version: this also checks that spanscope builds warning-free against them.
# That resolution needs the crates.io index; everything else stays on loopback. Needs the Rust
# toolchain and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

export CARGO_TERM_COLOR=never
# The workspace's target folder: what the quick start shares with the workspace build (same
# crate, version and features) is not compiled again.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$checkout/target}

fail() {
    echo "quickstart: $*" >&2
    exit 1
}

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill -KILL "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The fenced block that follows the line `<!-- quickstart: <file> ...` in README.md.
block() {
    awk -v file="$1" '
        index($0, "<!-- quickstart: " file " ") == 1 { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }
    ' README.md
}
dependencies=$(block Cargo.toml)
program=$(block src/main.rs)
[ -n "$dependencies" ] && [ -n "$program" ] || fail "README.md has no quickstart Cargo.toml or src/main.rs block"
# examples/examples/pricing.rs is the same program (below its doc comment), kept compiling with
# the workspace: the two must not drift apart.
diff <(awk 'body || (!/^\/\/!/ && !/^$/) { body = 1; print }' examples/examples/pricing.rs) <(printf '%s\n' "$program") >&2 ||
    fail "the README's program and examples/examples/pricing.rs differ"

# The README's dependency line names the repository, which CI does not fetch (it is this
# checkout, at this commit): the same line with a path to this checkout instead.
repository=$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml)
grep -qF "git = \"$repository\"" <<<"$dependencies" || fail "the spanscope line does not take it from $repository"
crate=$work/quickstart
cargo new --quiet --vcs none --name quickstart "$crate"
sed -i '/^\[dependencies\]$/d' "$crate/Cargo.toml"
printf '%s\n' "${dependencies//git = \"$repository\"/path = \"$checkout/runtime\"}" >>"$crate/Cargo.toml"
printf '%s\n' "$program" >"$crate/src/main.rs"

echo "quickstart: building the README's quick start in a fresh crate"
build_started=$SECONDS
(cd "$crate" && timeout 1800 cargo build 2>&1) | tee "$work/build.log" | grep -E '^ *(Compiling|Finished|warning|error)' >&2 || true
grep -q '^ *Finished' "$work/build.log" || fail "the quick start does not build"
# Warnings from spanscope (a path dependency, so cargo shows them) or from the program itself.
! grep -q '^warning' "$work/build.log" || fail "the quick start builds with warnings"
echo "quickstart: built in $((SECONDS - build_started)) s, $(grep -c '^ *Compiling' "$work/build.log") crates compiled"

port=3000 # the program's
if curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$port/"; then
    fail "port $port is taken: the quick start binds it"
fi
out=$work/out
# `--foreground`: timeout passes the SIGTERM below on to the program once. Without it, timeout
# also sends it to its process group, so the program gets it twice, and a second exit signal
# ends a `#[spanscope::main]` program at once, without the flush.
SPANSCOPE_OUT_DIR=$out SPANSCOPE_PROFILE_INTERVAL=1 SPANSCOPE_FLAMEGRAPH_TAG=tenant \
    timeout --foreground 120 "$CARGO_TARGET_DIR/debug/quickstart" >"$work/run.log" 2>&1 &
server=$!
listening=false
for _ in $(seq 100); do
    if curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$port/"; then listening=true && break; fi
    kill -0 "$server" 2>/dev/null || { cat "$work/run.log" >&2; fail "the quick start ended at start-up"; }
    sleep 0.1
done
$listening || fail "the quick start does not answer on port $port after 10 s"

# The load: 150 requests per tenant, both tenants at once, each curl on one connection.
requests=150
load_started=$SECONDS
clients=()
for tenant in acme globex; do
    timeout 60 curl -s --fail --max-time 60 "http://127.0.0.1:$port/price/$tenant?request=[1-$requests]" >/dev/null &
    clients+=($!)
done
for client in "${clients[@]}"; do
    wait "$client" || fail "the load's requests failed"
done
echo "quickstart: $((2 * requests)) requests in $((SECONDS - load_started)) s"

# SIGTERM: the program flushes its spans and its last profile window, then ends by the signal.
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=
cat "$work/run.log" >&2
[ "$status" = 143 ] || fail "the quick start ended with status $status after SIGTERM, not by the signal (143)"

spans() { grep -oF "\"name\":\"$1\"" "$out/traces.jsonl" | wc -l; }
[ "$(spans 'GET /price/{tenant}')" -ge $((2 * requests)) ] || fail "traces.jsonl lacks the requests' entry spans"
[ "$(spans price)" -ge $((2 * requests)) ] || fail "traces.jsonl lacks the price spans"
ls "$out"/cpu-*.pb.gz >/dev/null 2>&1 || fail "no CPU profile was written"
for tenant in acme globex; do
    # The flamegraph of a tenant is drawn from the window's pprof samples labelled with it
    # (`tenant=<value>`); `price` must show in it.
    grep -lq 'quickstart::price' "$out"/cpu-*.tenant="$tenant".svg 2>/dev/null ||
        fail "no CPU sample in price labelled tenant=$tenant: $(ls "$out")"
done
echo "quickstart: ok, $(spans price) price spans and CPU samples in price for both tenants, in $SECONDS s"
