-- wrk script: every connection walks whole USSD sessions the way Africa's Talking posts
-- them (https://developers.africastalking.com/docs/ussd/handle_sessions): the first hop
-- has an empty text, each later hop the inputs so far joined by "*". A session is the
-- main menu, "1" (get a task), then ANSWERS answers of "1" (a worker who still holds a
-- task is shown it on dialling, so that session skips the menu); the next session
-- starts on the next worker's phone number. bench/http_load.py runs wrk with as many threads as
-- connections, so one thread's Lua state is one connection's session, and a hop is only
-- built once the previous hop's screen has come back.
--
-- Arguments (after "--"): path, workers, connections, answers, session prefix.
-- done() prints one line "ussd-sessions {json}" with the screens counted by kind, so
-- the benchmark can compare them with what the database saved.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function escape(value)
  return (string.gsub(value, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  path = args[1]
  workers = tonumber(args[2])
  stride = tonumber(args[3])
  answers = tonumber(args[4])
  prefix = args[5]
  worker = id % workers
  session = 0
  answering = false
  answered_in_session = 0
  text = ""
  hops, answered, saved, tasks, menus, bad = 0, 0, 0, 0, 0, 0
  sample = ""
end

function request()
  local body = "sessionId=" .. escape(prefix .. "-" .. id .. "-" .. session)
    .. "&serviceCode=" .. escape("*384*12#")
    .. "&phoneNumber=" .. escape(string.format("+2547%08d", worker))
    .. "&networkCode=63902"
    .. "&text=" .. escape(text)
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function response(status, headers, body)
  hops = hops + 1
  local ok = status == 200 and string.sub(body, 1, 4) == "CON "
  if not ok then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 120) end
  end
  if answering then
    answered = answered + 1
    -- "Saved! +{reward}" (flows/locales/en.toml, task.saved), then the next task.
    if ok and string.find(body, "Saved!", 1, true) then saved = saved + 1 end
  end
  if not ok or answered_in_session >= answers then
    session = session + 1
    worker = (worker + stride) % workers
    answered_in_session = 0
    answering = false
    text = ""
    return
  end
  -- The screen says what comes next: the main menu ("Get task" is option 1,
  -- flows/definitions/menu.toml) is answered "1"; any other screen is a task (a new
  -- one, or the one a worker still holds: a dial resumes it), answered with option 1.
  answering = not string.find(body, "Get task", 1, true)
  if answering then
    tasks = tasks + 1
    answered_in_session = answered_in_session + 1
  else
    menus = menus + 1
  end
  text = text == "" and "1" or text .. "*1"
end

function done(summary, latency, requests)
  local total = { hops = 0, answered = 0, saved = 0, tasks = 0, menus = 0, bad = 0 }
  local first_bad = ""
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do
      total[key] = total[key] + (thread:get(key) or 0)
    end
    local s = thread:get("sample")
    if first_bad == "" and s then first_bad = s end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'ussd-sessions {"seconds": %.3f, "requests": %d, "hops": %d, "answered": %d, "saved": %d, '
      .. '"tasks": %d, "menus": %d, "bad": %d, "errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, '
      .. '"p99_ms": %.3f, "first_bad": "%s"}\n',
    seconds, summary.requests, total.hops, total.answered, total.saved, total.tasks,
    total.menus, total.bad,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    (string.gsub(first_bad, '[%c"\\]', " "))
  ))
end
