#!/usr/bin/env bash
# The embedded store against `dir:` and `null:` (BENCHMARKS.md, "The embedded
# store"): `once` over each corpus into each sink, on all cores and on one,
# RUNS times, the sinks' runs alternated (this VM's speed drifts over seconds:
# runs of one sink after the other compared different machines), with the
# store's size against the input's.
#
#   bench/store.sh LOGPIPE CORPUS...        e.g. bench/store.sh target/release/logpipe /tmp/c100k.log
#
# Prints one Markdown row per corpus, cores and sink: the median wall-clock
# and CPU seconds of its runs, and their ratio to `dir:`'s medians.
set -euo pipefail
bin=$1
shift
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { # numbers... -> their median
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo "| corpus | cores | sink | seconds | CPU seconds | lines/s | / \`dir:\` (wall, CPU) | size / input |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
for corpus in "$@"; do
    lines=$(wc -l <"$corpus")
    input=$(stat -c %s "$corpus")
    for cores in all one; do
        if [[ $cores == one ]]; then
            run=(taskset -c 0 "$bin" --log error once --workers 1)
        else
            run=("$bin" --log error once)
        fi
        declare -A walls=() cpus=() sizes=()
        # One run first, not counted: the file and the compiled plugins cached.
        "${run[@]}" --source "file:$corpus" --sink null: --state-dir "$work/state" >/dev/null 2>&1
        for _ in $(seq "$runs"); do
            for sink in null dir sqlite; do
                rm -rf "$work/out" "$work/store.db" "$work/store.db-wal" "$work/store.db-shm" "$work/state"
                case $sink in
                    null) spec=null: ;;
                    dir) spec=dir:$work/out ;;
                    sqlite) spec=sqlite:$work/store.db ;;
                esac
                /usr/bin/time -o "$work/time" -f "%e %U %S" \
                    "${run[@]}" --source "file:$corpus" --sink "$spec" --state-dir "$work/state" >/dev/null 2>&1
                read -r wall user sys < <(tail -1 "$work/time")
                walls[$sink]+=" $wall"
                cpus[$sink]+=" $(awk "BEGIN{print $user + $sys}")"
                case $sink in
                    # The store and its WAL, if one is left.
                    sqlite) sizes[$sink]=$(cat "$work"/store.db* | wc -c) ;;
                    dir) sizes[$sink]=$(du -sb "$work/out" | cut -f1) ;;
                esac
            done
        done
        # shellcheck disable=SC2086
        dir_wall=$(median ${walls[dir]}) dir_cpu=$(median ${cpus[dir]})
        for sink in null dir sqlite; do
            # shellcheck disable=SC2086
            wall=$(median ${walls[$sink]}) cpu=$(median ${cpus[$sink]})
            rate=$(awk "BEGIN{printf \"%.0f\", $lines / $wall}")
            ratio=$(awk "BEGIN{printf \"%.2f×, %.2f×\", $wall / $dir_wall, $cpu / $dir_cpu}")
            size=-
            if [[ -n ${sizes[$sink]:-} ]]; then
                size=$(awk "BEGIN{printf \"%.2f\", ${sizes[$sink]} / $input}")
            fi
            echo "| $(basename "$corpus") | $cores | $sink | $wall | $cpu | $rate | $ratio | $size |"
        done
        unset walls cpus sizes
    done
done
