-- Liquidity warning: the quoted spread is wider than 0.5 % of the mid.
-- Uses the bid/ask that tickers and quotes carry; trades have none, so
-- the condition says "cannot tell" (nil) for them and keeps its state.
local rulekit = require "rulekit"

return {
    name = "wide_spread",
    mode = "edge",
    ["for"] = "30s",           -- must persist for 30 s before it fires
    cooldown = "10m",
    severity = "info",
    condition = function(tick)
        local spread = rulekit.spread_pct(tick)
        if spread == nil then
            return nil
        end
        if spread > 0.5 then
            return true, string.format("%s spread %.2f%%", tick.symbol,
                                       spread)
        end
        return false
    end,
}
