-- wrk script: open MCP sessions as fast as the server allows, every response checked.
--
-- Each session is two requests: initialize (200, with an Mcp-Session-Id header), then
-- notifications/initialized for that id (202). A thread keeps the ids that still need
-- their notification in a queue and sends one whenever a connection is free, otherwise
-- a new initialize. Arguments (after --): the protocol version.
-- done() prints "WRK_RESULT {json}" ("opened": sessions whose notification got 202) and,
-- if a response was wrong, "WRK_SAMPLE <status and start of the first wrong body>".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  version = args[1]
  pending, first, last = {}, 1, 0 -- ids waiting for notifications/initialized
  opened, bad, first_bad = 0, 0, ""
  initialize = wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }, '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"' .. version
    .. '","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}')
  initialized_body = '{"jsonrpc":"2.0","method":"notifications/initialized"}'
end

function request()
  if first <= last then
    local session = pending[first]
    pending[first] = nil
    first = first + 1
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json, text/event-stream",
      ["Mcp-Session-Id"] = session,
      ["MCP-Protocol-Version"] = version,
    }, initialized_body)
  end
  return initialize
end

local function wrong(status, body)
  bad = bad + 1
  if first_bad == "" then
    first_bad = status .. " " .. string.gsub(string.sub(body or "", 1, 300), "[\r\n]", " ")
  end
end

function response(status, headers, body)
  if status == 202 then
    opened = opened + 1
    return
  end
  local session = nil
  for name, value in pairs(headers) do
    if string.lower(name) == "mcp-session-id" then
      session = value
    end
  end
  if status ~= 200 or session == nil or string.find(body, '"protocolVersion"', 1, true) == nil then
    wrong(status, body)
    return
  end
  last = last + 1
  pending[last] = session
end

function done(summary, latency, requests)
  local bad_total, opened_total, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    opened_total = opened_total + thread:get("opened")
    if sample == "" then
      sample = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"opened":%d,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,"bad":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, opened_total, summary.duration, latency:percentile(50), latency:percentile(99),
    bad_total, e.connect, e.read, e.write, e.status, e.timeout))
  if sample ~= "" then
    io.write("WRK_SAMPLE " .. sample .. "\n")
  end
end
