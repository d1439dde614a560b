#!/usr/bin/env bash
# Run the official MCP conformance suite against examples/everything.py served seven ways: the h11
# server on asyncio and on trio, the ASGI app under uvicorn, hypercorn with trio workers and granian.
# Then against the h11 server and the ASGI app under uvicorn with their sessions in Redis.
# CONFORMANCE_SERVERS="uvicorn granian" picks some of them.
# Suites: 0.1.16 --suite all, 0.2.0-alpha.12 --requirements 2025-11-25 and --requirements 2026-07-28.
# Fails if any check fails, the unscored ones included (the tasks-* extension scenarios of
# 2026-07-28 are unscored); prints the pass counts at the end.
set -euo pipefail
WORK=${1:-$PWD/.ci-work}
mkdir -p "$WORK/node22" "$WORK/conf016" "$WORK/conf020" "$WORK/conformance"
[ -x "$WORK/node22/node_modules/.bin/node" ] || (cd "$WORK/node22" && npm install --silent --no-audit --no-fund node@22 >/dev/null)
export PATH="$WORK/node22/node_modules/.bin:$PATH"
echo "node $(node --version)"
[ -x "$WORK/conf016/node_modules/.bin/conformance" ] || \
  (cd "$WORK/conf016" && npm install --silent --no-audit --no-fund @modelcontextprotocol/conformance@0.1.16 >/dev/null)
[ -x "$WORK/conf020/node_modules/.bin/conformance" ] || \
  (cd "$WORK/conf020" && npm install --silent --no-audit --no-fund @modelcontextprotocol/conformance@0.2.0-alpha.12 >/dev/null)

# exec: the background job's pid is the server's own, so kill stops it.
start_server() {
  case $1 in
    h11-redis) exec mcp-sansio serve examples/everything.py:app --port "$2" --redis-url "$REDIS_URL" --redis-prefix "$PREFIX-h11:" ;;
    h11-*) exec mcp-sansio serve examples/everything.py:app --port "$2" --backend "${1#h11-}" ;;
    uvicorn) exec uvicorn examples.everything:asgi --port "$2" --log-level warning ;;
    hypercorn-trio) exec hypercorn --worker-class trio --bind "127.0.0.1:$2" examples.everything:asgi ;;
    granian) exec granian --interface asgi --host 127.0.0.1 --port "$2" --log-level warning examples.everything:asgi ;;
    uvicorn-redis) MCP_SANSIO_REDIS_URL=$REDIS_URL MCP_SANSIO_REDIS_PREFIX="$PREFIX-uvicorn:" \
      exec uvicorn examples.everything:asgi --port "$2" --log-level warning ;;
  esac
}

summary=()
status=0
port=18700
# The Redis runs use a key prefix of their own, deleted at the end.
REDIS_URL=${MCP_SANSIO_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
PREFIX="mcp-sansio-conformance-$$"
for backend in ${CONFORMANCE_SERVERS:-h11-asyncio h11-trio uvicorn hypercorn-trio granian h11-redis uvicorn-redis}; do
  port=$((port + 1))
  log="$WORK/conformance/server-$backend.log"
  start_server "$backend" "$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    python -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null && break
    sleep 0.1
  done
  url="http://127.0.0.1:$port/mcp"
  for run in "conf016|--suite all|0.1.16 --suite all" \
             "conf020|--requirements 2025-11-25|0.2.0-alpha.12 --requirements 2025-11-25" \
             "conf020|--requirements 2026-07-28|0.2.0-alpha.12 --requirements 2026-07-28"; do
    IFS='|' read -r dir args label <<<"$run"
    out="$WORK/conformance/$dir-${args##* }-$backend.txt"
    # shellcheck disable=SC2086
    if (cd "$WORK/$dir" && node_modules/.bin/conformance server --url "$url" $args) >"$out" 2>&1; then rc=0; else rc=$?; fi
    total=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^Total: ' | tail -1 || true)
    passed=$(echo "$total" | sed -nE 's/^Total: ([0-9]+) passed.*/\1/p')
    failed=$(echo "$total" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
    unscored=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^Not scored' | tail -1 || true)
    if [ -z "$total" ]; then
      total="no summary (exit $rc)"
    elif [ "$rc" -eq 0 ]; then
      total="every scored check passes ($passed checks passed"
      [ "$failed" = "0" ] && total="$total)" || total="$total; the $failed failing checks are all in unscored scenarios)"
    else
      total="FAILED: $passed checks passed, $failed failing"
    fi
    [ -z "$unscored" ] || total="$total; ${unscored%% These do not*}"
    summary+=("$backend  $label: $total")
    if [ "$rc" -eq 0 ] && [ "${failed:-0}" != "0" ]; then
      rc=1  # an unscored scenario failed: we serve every extension the suite checks, so it counts
    fi
    if [ "$rc" -ne 0 ]; then
      status=1
      echo "--- conformance $label on $backend failed (exit $rc); failing checks:"
      sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E 'FAILURE|✗|Error' | head -40 || true
    fi
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

python - "$REDIS_URL" "$PREFIX" <<'PY' || true
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2] + "*"))
if keys:
    client.delete(*keys)
PY

echo "== conformance pass counts"
printf '%s\n' "${summary[@]}"
exit $status
