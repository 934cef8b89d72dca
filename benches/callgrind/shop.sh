#!/usr/bin/env bash
# Instructions per request of the `shop` demo's services under callgrind: the README's
# "Instructions per request" table, measured the same way every time.
#
#   benches/callgrind/shop.sh [WORKSPACE]
#
# What it measures: for each service (frontend, orders, inventory), the instructions that service
# executes per cheapest-tenant checkout (`POST /checkout/acme/book/1` on frontend), all its
# threads counted (workers, the reporter, everything callgrind sees in the process).
#
# How: it builds the demo (`cargo build --release -p examples --example shop` in WORKSPACE, by
# default the checkout holding this script; the binary lands in `CARGO_TARGET_DIR` as usual).
# Then, for each role, it starts the three services (`shop serve <role> --port 0`), only that one
# under `valgrind --tool=callgrind` and the other two native, waits for each to print its port,
# sends N checkouts through frontend one after the other over one keep-alive connection (curl;
# CALLGRIND_IN_FLIGHT below runs several at once),
# closes the services' standard input so they flush and exit, and reads callgrind's total for the
# whole process. It does that for N = 200 and N = 1,200; (total at 1,200 - total at 200) / 1,000
# is the figure, in which start-up, shutdown and first-request costs cancel out. The profiler is
# off (`SPANSCOPE_PROFILER=off`): it samples by CPU time, which valgrind stretches about 50-fold.
# Every other variable reaches the services as it is, so `OTEL_TRACES_SAMPLER=always_off
# benches/callgrind/shop.sh` measures that variant; each service writes into a temporary folder.
#
# A run fails if a checkout is not answered 200, or if the measured service says it wrote a
# different number of spans per checkout in the two runs (spans lost at shutdown would make the
# larger run look cheaper). It prints, on standard output, a Markdown table of instructions per request per service and
# the runs' raw totals; progress goes to standard error.
#
# How long: on a shared 2-core machine about 4 minutes to build the demo the first time, then
# about 70 s per stack: 7 s for frontend, 8 for orders and 55 for inventory (whose pricing alone
# is 18 million instructions per checkout). Repeated runs of the same build differ by about 0.5%
# in a service's instructions per request (time-driven background work, random hash seeds), so
# a difference added by the instrumentation moves by 2-3% between runs.
#
# Environment:
#   CALLGRIND_STACKS    what to measure, in order, among
#                         spanscope       the demo as it ships (default)
#                         uninstrumented  the same binary with OTEL_SDK_DISABLED=true; with it, the
#                                         table adds a column "<stack>, added" for every other
#                                         stack: what its instrumentation adds per request
#                         tracing         benches' `shop-tracing` bin (the same services on tracing
#                                         + OpenTelemetry), built when asked for
#                       e.g. CALLGRIND_STACKS="uninstrumented spanscope"
#   CALLGRIND_ROLES     the services to measure (default "frontend orders inventory")
#   CALLGRIND_REQUESTS  the two numbers of checkouts (default "200 1200")
#   CALLGRIND_IN_FLIGHT checkouts in flight at once, each on its own connection (default 1)
#   CALLGRIND_ALL       1: the other two services run under callgrind too. A checkout then takes
#                       about 50 ms instead of 5, so work done on a timer (spanscope's reporter
#                       collects every 50 ms while traffic lasts) falls on fewer checkouts each:
#                       spanscope's added instructions read about 6,000 higher for frontend and
#                       for orders, as the README's table does. Default 0.
#   CALLGRIND_KEEP      a folder to keep every run's callgrind output in, as
#                       callgrind.out.<stack>.<role>.<N> (for callgrind_annotate)

set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
workspace=$(cd "${1:-$script_dir/../..}" && pwd)
read -r -a stacks <<<"${CALLGRIND_STACKS:-spanscope}"
read -r -a roles <<<"${CALLGRIND_ROLES:-frontend orders inventory}"
read -r small large rest <<<"${CALLGRIND_REQUESTS:-200 1200}"
in_flight=${CALLGRIND_IN_FLIGHT:-1}
all_under_callgrind=${CALLGRIND_ALL:-0}
keep=${CALLGRIND_KEEP:-}
# The cheapest tenant to price: the services' own work is smallest against the instrumentation's.
checkout_path=checkout/acme/book/1
# Under valgrind a service starts in seconds and flushes in seconds; these only bound a hang.
start_timeout=300
stop_timeout=600

fail() {
    echo "callgrind/shop.sh: $*" >&2
    exit 1
}

[[ $small =~ ^[0-9]+$ && $large =~ ^[0-9]+$ && -z $rest && $small -lt $large ]] ||
    fail "CALLGRIND_REQUESTS must be two numbers, the smaller first: got '${CALLGRIND_REQUESTS:-}'"
[[ $all_under_callgrind =~ ^[01]$ ]] || fail "CALLGRIND_ALL must be 0 or 1: got '$all_under_callgrind'"
[[ $in_flight =~ ^[1-9][0-9]*$ ]] || fail "CALLGRIND_IN_FLIGHT must be a positive number: got '$in_flight'"
for stack in "${stacks[@]}"; do
    [[ $stack =~ ^(spanscope|uninstrumented|tracing)$ ]] ||
        fail "unknown stack '$stack' in CALLGRIND_STACKS (spanscope, uninstrumented, tracing)"
done
for role in "${roles[@]}"; do
    [[ $role =~ ^(frontend|orders|inventory)$ ]] ||
        fail "unknown role '$role' in CALLGRIND_ROLES (frontend, orders, inventory)"
done
for tool in valgrind curl cargo; do
    command -v "$tool" >/dev/null || fail "needs $tool on the PATH"
done
if [[ -n $keep ]]; then
    mkdir -p "$keep"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/callgrind-shop.XXXXXX")
# The services and the load of the run in progress: stopped on any exit, so none outlives the
# script.
children=()
cleanup() {
    local pid
    for pid in "${children[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${children[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -------------------------------------------------------------------------------------

cd "$workspace"
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
echo "building the shop demo in $workspace" >&2
cargo build --release -p examples --example shop >&2
shop=$target_dir/release/examples/shop
shop_tracing=$target_dir/release/shop-tracing
if [[ " ${stacks[*]} " == *" tracing "* ]]; then
    # Without the profiler bench's peers (default features), which the bin does not use.
    cargo build --release -p spanscope-benches --no-default-features --bin shop-tracing >&2
fi
if commit=$(git -C "$workspace" rev-parse --short HEAD 2>/dev/null); then
    if [[ -n $(git -C "$workspace" status --porcelain --untracked-files=no) ]]; then
        commit="$commit with uncommitted changes"
    fi
else
    commit="unknown (not a git checkout)"
fi

# --- one run -----------------------------------------------------------------------------------

# Whether process $1 is alive and not yet reaped as a zombie.
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# start_service STACK ROLE UNDER_CALLGRIND DIR [DOWNSTREAM_PORT]: starts the service in the
# background, under callgrind if UNDER_CALLGRIND is 1, its standard input a pipe this shell holds
# open; waits for the port it prints. Sets `port`, `pid` and `stdin_fd`.
start_service() {
    local stack=$1 role=$2 under_callgrind=$3 dir=$4 downstream=${5:-}
    mkdir -p "$dir"
    local command=()
    if [[ $under_callgrind == 1 ]]; then
        command=(valgrind --tool=callgrind --separate-threads=no
            --callgrind-out-file="$dir/callgrind.out" --log-file="$dir/valgrind.log")
    fi
    case $stack in
        spanscope)
            command=(env -u OTEL_SDK_DISABLED SPANSCOPE_PROFILER=off SPANSCOPE_OUT_DIR="$dir/out"
                "${command[@]}" "$shop" serve "$role" --port 0) ;;
        uninstrumented)
            command=(env OTEL_SDK_DISABLED=true "${command[@]}" "$shop" serve "$role" --port 0) ;;
        tracing)
            command=("${command[@]}" "$shop_tracing" "$role" --port 0 --out "$dir/out") ;;
    esac
    if [[ -n $downstream ]]; then
        command+=(--downstream "127.0.0.1:$downstream")
    fi
    mkfifo "$dir/stdin"
    "${command[@]}" >"$dir/stdout" 2>"$dir/stderr" <"$dir/stdin" &
    pid=$!
    children+=("$pid")
    # Opening the pipe's writing end waits for the service to open its reading end.
    exec {stdin_fd}>"$dir/stdin"
    local waited=0
    # The port is the first line: `read` succeeds once its newline is there.
    until [[ -f $dir/stdout ]] && read -r port <"$dir/stdout"; do
        running "$pid" || fail "$role exited before printing its port: $(cat "$dir/stderr")"
        ((waited++ < start_timeout * 10)) || fail "$role printed no port within ${start_timeout} s"
        sleep 0.1
    done
    [[ $port =~ ^[0-9]+$ ]] || fail "$role printed '$port' where its port should be"
}

# stop_service ROLE PID STDIN_FD DIR: closes its standard input and waits for it to flush and exit.
stop_service() {
    local role=$1 pid=$2 fd=$3 dir=$4 waited=0 status=0
    exec {fd}>&-
    while running "$pid"; do
        ((waited++ < stop_timeout * 10)) || fail "$role did not exit within ${stop_timeout} s of being told to stop"
        sleep 0.1
    done
    wait "$pid" || status=$?
    ((status == 0)) || fail "$role exited with status $status: $(cat "$dir/stderr")"
}

# drive PORT N DIR: N checkouts through frontend, `in_flight` at a time, each connection kept
# alive from one checkout to the next.
drive() {
    local port=$1 n=$2 dir=$3 i parallel=()
    if ((in_flight > 1)); then
        parallel=(--parallel --parallel-immediate --parallel-max "$in_flight")
    fi
    for ((i = 0; i < n; i++)); do
        printf 'url = "http://127.0.0.1:%s/%s"\noutput = "/dev/null"\n' "$port" "$checkout_path"
    done >"$dir/curl.config"
    # In the background, so that a signal to this shell is handled at once, not after the run.
    curl --silent --show-error --request POST --max-time 600 --config "$dir/curl.config" "${parallel[@]}" \
        --write-out '%{http_code}\n' >"$dir/statuses" &
    children+=($!)
    wait $! || true
    local ok
    ok=$(grep -c '^200$' "$dir/statuses" || true)
    ((ok == n)) || fail "$ok of $n checkouts answered 200; statuses: $(sort "$dir/statuses" | uniq -c | tr '\n' ' ')"
}

# measure STACK ROLE N: runs the three services with ROLE under callgrind, drives N checkouts,
# and sets `total` to the measured service's total instructions and `spans` to the spans it says
# it wrote (empty if it says nothing). Called as it is, not in a command substitution: the
# services must be children of this shell, which stops them on exit.
measure() {
    local stack=$1 measured_role=$2 n=$3
    local run=$tmp/$stack.$measured_role.$n role downstream= under_callgrind
    local -A pids=() fds=()
    for role in inventory orders frontend; do
        under_callgrind=$([[ $role == "$measured_role" ]] && echo 1 || echo "$all_under_callgrind")
        start_service "$stack" "$role" "$under_callgrind" "$run/$role" "$downstream"
        pids[$role]=$pid
        fds[$role]=$stdin_fd
        downstream=$port
    done
    drive "$downstream" "$n" "$run"
    # Upstream first, as the demo does: a service stops once nothing calls it any more.
    for role in frontend orders inventory; do
        stop_service "$role" "${pids[$role]}" "${fds[$role]}" "$run/$role"
    done
    children=()
    local out=$run/$measured_role/callgrind.out
    [[ -s $out ]] || fail "no callgrind output from $measured_role: $(cat "$run/$measured_role/valgrind.log")"
    # What the local exporter says at exit: "spanscope: wrote 2400 spans of ...".
    spans=$(sed -n 's/^spanscope: wrote \([0-9]*\) spans .*/\1/p' "$run/$measured_role/stderr")
    if [[ -n $keep ]]; then
        cp "$out" "$keep/callgrind.out.$stack.$measured_role.$n"
    fi
    total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$out" | head -n 1)
    [[ -n $total ]] || fail "no summary or totals line in $measured_role's callgrind output"
    rm -rf "$run"
}

# --- the runs ----------------------------------------------------------------------------------

# 1234567 -> 1,234,567 (and -1234 -> -1,234).
thousands() {
    local n=${1#-} sign= out=
    [[ $1 == -* ]] && sign=-
    while ((${#n} > 3)); do
        out=,${n: -3}$out
        n=${n:0:${#n}-3}
    done
    echo "$sign$n$out"
}

declare -A totals=() per_request=() seconds=() written=()
for stack in "${stacks[@]}"; do
    for role in "${roles[@]}"; do
        for n in "$small" "$large"; do
            echo "$stack: $role under callgrind, $n checkouts..." >&2
            started=$SECONDS
            measure "$stack" "$role" "$n"
            totals[$stack.$role.$n]=$total
            written[$n]=$spans
            seconds[$stack.$role.$n]=$((SECONDS - started))
            echo "  $(thousands "${totals[$stack.$role.$n]}") instructions in ${seconds[$stack.$role.$n]} s" >&2
        done
        # Spans lost at shutdown (an exporter's deadline passing under valgrind) would make the
        # larger run look cheaper: both runs must have written the same spans per checkout.
        if [[ -n ${written[$small]} && -n ${written[$large]} ]]; then
            ((written[$small] * large == written[$large] * small)) ||
                fail "$role wrote ${written[$small]} spans for $small checkouts but ${written[$large]} for $large"
        elif [[ $stack == spanscope ]]; then
            echo "  warning: $role did not say how many spans it wrote; not checked for losses" >&2
        fi
        difference=$((totals[$stack.$role.$large] - totals[$stack.$role.$small]))
        requests=$((large - small))
        # Rounded to the nearest instruction.
        per_request[$stack.$role]=$(((2 * difference + requests) / (2 * requests)))
    done
done

# --- the table ---------------------------------------------------------------------------------

declare -A labels=([frontend]="frontend (axum, reqwest)" [orders]="orders (axum, tonic client)"
    [inventory]="inventory (tonic, pricing)")
baseline=
if [[ " ${stacks[*]} " == *" uninstrumented "* ]]; then
    baseline=uninstrumented
fi
columns=("${stacks[@]}")
for stack in "${stacks[@]}"; do
    if [[ -n $baseline && $stack != "$baseline" ]]; then
        columns+=("$stack, added")
    fi
done

# figure COLUMN ROLE: the column's instructions per request for the role.
figure() {
    local column=$1 role=$2
    if [[ $column == *", added" ]]; then
        echo $((per_request[${column%, added}.$role] - per_request[$baseline.$role]))
    else
        echo "${per_request[$column.$role]}"
    fi
}

# cell COLUMN FIGURE: the figure as the column shows it, an added one with its sign.
cell() {
    if [[ $1 == *", added" ]] && (($2 >= 0)); then
        echo "+$(thousands "$2")"
    else
        thousands "$2"
    fi
}

echo
echo "Instructions per request under callgrind, cheapest tenant (\`POST /$checkout_path\`, $in_flight in flight),"
others=$( ((all_under_callgrind)) && echo "under callgrind too" || echo "native")
echo "(total at $large checkouts - total at $small) / $((large - small)), the other services $others; commit $commit."
echo
header="| service |" rule="| --- |"
for column in "${columns[@]}"; do
    header+=" $column |" rule+=" ---: |"
done
echo "$header"
echo "$rule"
for role in "${roles[@]}"; do
    line="| ${labels[$role]} |"
    for column in "${columns[@]}"; do
        line+=" $(cell "$column" "$(figure "$column" "$role")") |"
    done
    echo "$line"
done
if ((${#roles[@]} > 1)); then
    line="| $( ((${#roles[@]} == 3)) && echo "all three" || echo "together") |"
    for column in "${columns[@]}"; do
        sum=0
        for role in "${roles[@]}"; do
            sum=$((sum + $(figure "$column" "$role")))
        done
        line+=" **$(cell "$column" "$sum")** |"
    done
    echo "$line"
fi

echo
echo "Runs (the measured service's total instructions, and the run's wall time):"
echo
echo "| stack | service | checkouts | instructions | seconds |"
echo "| --- | --- | ---: | ---: | ---: |"
for stack in "${stacks[@]}"; do
    for role in "${roles[@]}"; do
        for n in "$small" "$large"; do
            echo "| $stack | $role | $n | $(thousands "${totals[$stack.$role.$n]}") | ${seconds[$stack.$role.$n]} |"
        done
    done
done
