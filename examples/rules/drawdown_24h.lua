-- Drawdown: the price is 8 % or more below its 24-hour high. Re-arms
-- (hysteresis) only once it has recovered to within 5 % of that high.
local rulekit = require "rulekit"

return {
    name = "drawdown_24h",
    symbols = { "*/USDT", "*/USD" },
    window = "24h",
    severity = "warning",
    condition = function(tick, w, firing)
        local dd = rulekit.drawdown_pct(w["24h"])
        if dd == nil or not w["24h"].complete then
            return nil
        end
        local level = firing and 5 or 8
        if dd >= level then
            return true, string.format("%s is %.2f%% below its 24h high",
                                       tick.symbol, dd)
        end
        return false
    end,
}
