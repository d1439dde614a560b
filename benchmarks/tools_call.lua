-- wrk script: MCP tools/call over Streamable HTTP, every response checked.
--
-- Arguments (after --): era ("handshake" or "stateless"), protocol version, tool
-- name, expected answer ("json" or "sse"), and for handshake a comma-separated
-- list of session ids, used in turn. JSON-RPC ids are unique per run
-- ("<thread>-<n>"), since a server refuses an id already in flight.
-- done() prints one line "WRK_RESULT {json}" and, if a response was wrong,
-- "WRK_SAMPLE <status and start of the first wrong body>".
--
-- Several servers (the Redis round-robin rows): the environment variable
-- MCP_BENCH_TARGETS="host:port host:port ..." sends thread n's connections to the
-- n-th address, with that Host header (an environment variable, because setup()
-- runs before the threads and sees no arguments); the session list then holds one
-- group per thread, separated by ";" (thread n uses group n). Without it, every
-- thread talks to the URL's host and uses the one list.

local threads = {}
local targets = {}
for target in string.gmatch(os.getenv("MCP_BENCH_TARGETS") or "", "%S+") do
  targets[#targets + 1] = target
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
  local target = targets[#threads]
  if target then
    local host, port = string.match(target, "^(.+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
    thread:set("host_header", target)
  end
end

function init(args)
  era, version, tool, answer = args[1], args[2], args[3], args[4]
  local groups = {}
  for group in string.gmatch(args[5] or "", "[^;]+") do
    groups[#groups + 1] = group
  end
  sessions = {}
  for id in string.gmatch(groups[(tid - 1) % math.max(#groups, 1) + 1] or "", "[^,]+") do
    sessions[#sessions + 1] = id
  end
  sent, answered, bad, first_bad = 0, 0, 0, ""
  request_headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = version,
  }
  if host_header then
    request_headers["Host"] = host_header
  end
  local meta = ""
  if era == "stateless" then
    request_headers["Mcp-Method"] = "tools/call"
    request_headers["Mcp-Name"] = tool
    meta = ',"_meta":{"io.modelcontextprotocol/protocolVersion":"' .. version
      .. '","io.modelcontextprotocol/clientCapabilities":{}}'
  end
  body_head = '{"jsonrpc":"2.0","id":"' .. tid .. "-"
  body_tail = '","method":"tools/call","params":{"name":"' .. tool .. '","arguments":{"text":"hello"}' .. meta .. "}}"
end

function request()
  sent = sent + 1
  if #sessions > 0 then
    request_headers["Mcp-Session-Id"] = sessions[sent % #sessions + 1]
  end
  return wrk.format("POST", nil, request_headers, body_head .. sent .. body_tail)
end

function response(status, response_headers, body)
  answered = answered + 1
  local ok = status == 200 and string.find(body, '"text":"hello"', 1, true) ~= nil
  if ok then
    local is_json = string.sub(body, 1, 1) == "{"
    ok = (answer == "json") == is_json
  end
  if not ok then
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.gsub(string.sub(body, 1, 300), "[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local bad_total, sample, per_thread = 0, "", {}
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    per_thread[#per_thread + 1] = string.format("%d", thread:get("answered"))
    if sample == "" then
      sample = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,"bad":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"per_thread":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad_total,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(per_thread, ",")))
  if sample ~= "" then
    io.write("WRK_SAMPLE " .. sample .. "\n")
  end
end
