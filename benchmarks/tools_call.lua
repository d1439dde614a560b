-- wrk script: MCP tools/call over Streamable HTTP, every response checked.
--
-- Arguments (after --): era ("handshake" or "stateless"), protocol version, tool
-- name, expected answer ("json" or "sse"), and for handshake a comma-separated
-- list of session ids, used in turn. JSON-RPC ids are unique per run
-- ("<thread>-<n>"), since a server refuses an id already in flight.
-- done() prints one line "WRK_RESULT {json}" and, if a response was wrong,
-- "WRK_SAMPLE <status and start of the first wrong body>".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  era, version, tool, answer = args[1], args[2], args[3], args[4]
  sessions = {}
  for id in string.gmatch(args[5] or "", "[^,]+") do
    sessions[#sessions + 1] = id
  end
  sent, bad, first_bad = 0, 0, ""
  request_headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = version,
  }
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
  local bad_total, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    if sample == "" then
      sample = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,"bad":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad_total,
    e.connect, e.read, e.write, e.status, e.timeout))
  if sample ~= "" then
    io.write("WRK_SAMPLE " .. sample .. "\n")
  end
end
