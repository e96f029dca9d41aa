-- A fake host for rule specs: loads rule files the way the engine does (a
-- fresh environment per file, require() from lua/, cs.now()), and builds
-- tick and window values shaped like the engine's read-only views.
local fake_host = {}

local ROOT = "../.."

local function module_env(now)
    local env = {
        assert = assert, error = error, ipairs = ipairs, next = next,
        pairs = pairs, pcall = pcall, select = select, tonumber = tonumber,
        tostring = tostring, type = type, xpcall = xpcall,
        setmetatable = setmetatable, getmetatable = getmetatable,
        rawget = rawget, rawset = rawset, rawequal = rawequal, rawlen = rawlen,
        string = string, table = table, math = math, utf8 = utf8,
        print = function() end,
        cs = { now = function() return now end },
    }
    env._G = env
    env.require = function(name)
        assert(name:match("^[a-z_][a-z0-9_]*$"), "bad module name " .. name)
        local chunk = assert(loadfile(ROOT .. "/lua/" .. name .. ".lua", "t",
                                      module_env(now)))
        return chunk()
    end
    return env
end

-- Load a rule file (path relative to the repository root); returns the
-- list of rule tables it defines.
function fake_host.load_rules(path, now)
    local chunk = assert(loadfile(ROOT .. "/" .. path, "t", module_env(now or 0)))
    local result = chunk()
    assert(type(result) == "table", path .. " must return a table")
    if result[1] == nil then
        return { result }
    end
    return result
end

function fake_host.load_rule(path, now)
    return fake_host.load_rules(path, now)[1]
end

-- A tick view: fields as the engine exposes them.
function fake_host.tick(fields)
    local t = {
        exchange = "binance", symbol = "BTC/USDT", raw_symbol = "BTCUSDT",
        kind = "trade", price = 100, ts = 1700000000000,
    }
    for k, v in pairs(fields or {}) do
        t[k] = v
    end
    return t
end

-- A window view from change (fraction), price and optional extras. The
-- reference follows from price and change, as in the engine.
function fake_host.window(fields)
    local w = { complete = false, gapped = false, price = 100 }
    for k, v in pairs(fields or {}) do
        w[k] = v
    end
    if w.change ~= nil then
        w.complete = true
        w.change_pct = w.change * 100
        w.reference = w.reference or w.price / (1 + w.change)
    end
    w.high = w.high or w.price
    w.low = w.low or w.price
    return w
end

-- windows{ ["1h"] = window, ... }: indexable by label or seconds.
function fake_host.windows(by_label)
    local seconds = { ["5m"] = 300, ["1h"] = 3600, ["24h"] = 86400 }
    local out = {}
    for label, w in pairs(by_label) do
        out[label] = w
        if seconds[label] then
            out[seconds[label]] = w
        end
    end
    return out
end

return fake_host
