-- rulekit: small helpers for writing rule conditions. Load it from a rule
-- with `local rulekit = require "rulekit"`.
--
-- Conditions are three-valued: true (holds), false (clear: the alert
-- re-arms) and nil (cannot tell yet: the alert state is left alone). The
-- helpers keep that: anything they cannot decide is nil, never false.
local rulekit = {}

-- Did the window move by at least `pct` percent? direction is "up",
-- "down" or "both" (default). nil while the window is incomplete, and
-- while it is gapped unless `allow_gapped` is true.
function rulekit.moved(window, pct, direction, allow_gapped)
    if window == nil or window.change == nil then
        return nil
    end
    if window.gapped and not allow_gapped then
        return nil
    end
    local change = window.change * 100
    if direction == "up" then
        return change >= pct
    elseif direction == "down" then
        return change <= -pct
    end
    return change >= pct or change <= -pct
end

-- Bid/ask spread as a percentage of the mid, or nil without both sides.
function rulekit.spread_pct(tick)
    local bid, ask = tick.bid, tick.ask
    if bid == nil or ask == nil or bid <= 0 or ask <= 0 then
        return nil
    end
    return (ask - bid) / ((ask + bid) / 2) * 100
end

-- How far the price is below the window's high, in percent (>= 0).
function rulekit.drawdown_pct(window)
    if window == nil or window.high == nil or window.price == nil or
       window.high <= 0 then
        return nil
    end
    return (window.high - window.price) / window.high * 100
end

-- Three-valued AND: false if any is false, else nil if any is nil.
function rulekit.all(...)
    local unknown = false
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        if v == false then
            return false
        elseif v == nil then
            unknown = true
        end
    end
    if unknown then
        return nil
    end
    return true
end

-- Three-valued OR: true if any is true, else nil if any is nil.
function rulekit.any(...)
    local unknown = false
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        if v == true then
            return true
        elseif v == nil then
            unknown = true
        end
    end
    if unknown then
        return nil
    end
    return false
end

-- "+2.13%" from a fraction.
function rulekit.pct(fraction)
    if fraction == nil then
        return "n/a"
    end
    return string.format("%+.2f%%", fraction * 100)
end

-- A one-line description for an alert message.
function rulekit.describe(tick, window, label)
    if window == nil or window.change == nil then
        return string.format("%s at %.10g", tick.symbol, tick.price)
    end
    return string.format("%s %s over %s (%.10g -> %.10g)", tick.symbol,
                         rulekit.pct(window.change), label or "the window",
                         window.reference, tick.price)
end

return rulekit
