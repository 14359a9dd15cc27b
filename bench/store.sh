#!/usr/bin/env bash
# The embedded store against `dir:` and `null:` (BENCHMARKS.md, "The embedded
# store"): `once` over each corpus into each sink, on all cores and on one,
# best of RUNS, with the store's size against the input's.
#
#   bench/store.sh LOGPIPE CORPUS...        e.g. bench/store.sh target/release/logpipe /tmp/c100k.log
#
# Prints one Markdown row per corpus, cores and sink.
set -euo pipefail
bin=$1
shift
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best_of() { # command... -> best wall-clock seconds of $runs runs
    local best=
    for _ in $(seq "$runs"); do
        rm -rf "$work/out" "$work/store.db" "$work/store.db-wal" "$work/store.db-shm"
        local t
        /usr/bin/time -o "$work/time" -f "%e" "$@" >/dev/null 2>&1
        t=$(tail -1 "$work/time")
        if [[ -z $best ]] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    done
    echo "$best"
}

echo "| corpus | cores | sink | seconds | lines/s | size / input |"
echo "|---|---|---|---:|---:|---:|"
for corpus in "$@"; do
    lines=$(wc -l <"$corpus")
    input=$(stat -c %s "$corpus")
    for cores in all one; do
        if [[ $cores == one ]]; then
            run=(taskset -c 0 "$bin" --log error once --workers 1)
        else
            run=("$bin" --log error once)
        fi
        for sink in null dir sqlite; do
            case $sink in
                null) spec=null: ;;
                dir) spec=dir:$work/out ;;
                sqlite) spec=sqlite:$work/store.db ;;
            esac
            secs=$(best_of "${run[@]}" --source "file:$corpus" --sink "$spec" --state-dir "$work")
            size=-
            if [[ $sink == sqlite ]]; then
                # The last run's store and its WAL, if one is left.
                bytes=$(cat "$work"/store.db* | wc -c)
                size=$(awk "BEGIN{printf \"%.2f\", $bytes / $input}")
            elif [[ $sink == dir ]]; then
                size=$(awk "BEGIN{printf \"%.2f\", $(du -sb "$work/out" | cut -f1) / $input}")
            fi
            rate=$(awk "BEGIN{printf \"%.0f\", $lines / $secs}")
            echo "| $(basename "$corpus") | $cores | $sink | $secs | $rate | $size |"
        done
    done
done
