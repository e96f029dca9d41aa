local rulekit = require "rulekit"
local host = require "fake_host"

describe("rulekit.moved", function()
    it("is nil while the window is incomplete", function()
        assert.is_nil(rulekit.moved(host.window{}, 2))
        assert.is_nil(rulekit.moved(nil, 2))
    end)

    it("checks both directions by default", function()
        assert.is_true(rulekit.moved(host.window{ change = 0.021 }, 2))
        assert.is_true(rulekit.moved(host.window{ change = -0.02 }, 2))
        assert.is_false(rulekit.moved(host.window{ change = 0.0199 }, 2))
    end)

    it("honours a direction", function()
        local up = host.window{ change = 0.03 }
        assert.is_true(rulekit.moved(up, 2, "up"))
        assert.is_false(rulekit.moved(up, 2, "down"))
        local down = host.window{ change = -0.03 }
        assert.is_true(rulekit.moved(down, 2, "down"))
        assert.is_false(rulekit.moved(down, 2, "up"))
    end)

    it("cannot tell on a gapped window unless allowed", function()
        local w = host.window{ change = 0.05, gapped = true }
        assert.is_nil(rulekit.moved(w, 2))
        assert.is_true(rulekit.moved(w, 2, "both", true))
    end)
end)

describe("rulekit three-valued logic", function()
    it("all is false if anything is false, else nil if unknown", function()
        assert.is_true(rulekit.all(true, true))
        assert.is_false(rulekit.all(true, false, nil))
        assert.is_nil(rulekit.all(true, nil))
        assert.is_true(rulekit.all())
    end)

    it("any is true if anything is true, else nil if unknown", function()
        assert.is_true(rulekit.any(false, nil, true))
        assert.is_nil(rulekit.any(false, nil))
        assert.is_false(rulekit.any(false, false))
    end)
end)

describe("rulekit measures", function()
    it("computes the spread against the mid", function()
        local s = rulekit.spread_pct(host.tick{ bid = 99, ask = 101 })
        assert.near(2.0, s, 1e-12)
        assert.is_nil(rulekit.spread_pct(host.tick{ bid = 99 }))
        assert.is_nil(rulekit.spread_pct(host.tick{ bid = 0, ask = 1 }))
    end)

    it("computes the drawdown from the high", function()
        local w = host.window{ price = 92, high = 100 }
        assert.near(8.0, rulekit.drawdown_pct(w), 1e-12)
        assert.is_nil(rulekit.drawdown_pct(nil))
    end)

    it("formats percentages and descriptions", function()
        assert.equal("+2.13%", rulekit.pct(0.0213))
        assert.equal("-5.00%", rulekit.pct(-0.05))
        assert.equal("n/a", rulekit.pct(nil))
        local w = host.window{ change = 0.02, price = 102 }
        assert.equal("BTC/USDT +2.00% over 1h (100 -> 102)",
                     rulekit.describe(host.tick{ price = 102 }, w, "1h"))
    end)
end)
