#!/usr/bin/env bash
# Times each dashboard API call on a store, for the last hour, the last day and
# the whole store (ranges ending at its newest document): min and median of
# RUNS calls (default 10), in seconds.
#
#   bench/dashboard_api.sh LOGPIPE STORE.db [REFERENCE.parquet]
set -euo pipefail
logpipe=$1 store=$2 reference=${3:-}
runs=${RUNS:-10}
port=18097
args=(dashboard --store "sqlite:$store" --listen "127.0.0.1:$port")
[ -n "$reference" ] && args+=(--reference "$reference")
"$logpipe" --log error "${args[@]}" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
until curl -sf "127.0.0.1:$port/api/extent" >/dev/null; do sleep 0.1; done
read -r oldest newest < <(curl -s "127.0.0.1:$port/api/extent" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["oldest"], e["newest"])')
end=$((newest + 1))
printf '%-12s %-7s %8s %8s\n' panel range min median
for panel in extent predictions performance drift; do
    for range in hour day all; do
        case $range in
            hour) from=$((end - 3600000)) ;;
            day) from=$((end - 86400000)) ;;
            all) from=$oldest ;;
        esac
        times=$(for _ in $(seq "$runs"); do
            curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$port/api/$panel?from=$from&to=$end"
        done | sort -n)
        printf '%-12s %-7s %8s %8s\n' "$panel" "$range" "$(echo "$times" | head -1)" "$(echo "$times" | sed -n "$(((runs + 1) / 2))p")"
    done
done
