-- BTC momentum: a fast move (1 % in 5 minutes) that agrees with the
-- hourly trend (2 % in 1 hour, same direction). A Lua condition: it reads
-- two windows, which a threshold rule cannot.
local rulekit = require "rulekit"

return {
    name = "btc_momentum",
    symbols = { "BTC/*" },
    window = "5m",             -- the window alerts report
    windows = { "5m", "1h" },  -- every window the condition reads
    cooldown = "30m",
    severity = "critical",
    condition = function(tick, w)
        local fast, slow = w["5m"], w["1h"]
        local up = rulekit.all(rulekit.moved(fast, 1, "up"),
                               rulekit.moved(slow, 2, "up"))
        local down = rulekit.all(rulekit.moved(fast, 1, "down"),
                                 rulekit.moved(slow, 2, "down"))
        local holds = rulekit.any(up, down)
        if holds then
            return true, rulekit.describe(tick, fast, "5m") .. ", " ..
                         rulekit.pct(slow.change) .. " over 1h"
        end
        return holds
    end,
}
