-- The shipped classic rules and the example Lua rules, evaluated on
-- hand-made ticks and windows through the fake host.
local host = require "fake_host"

describe("rules/classic.lua", function()
    local rules = host.load_rules("rules/classic.lua")

    it("reproduces the classic defaults", function()
        local by_name = {}
        for _, r in ipairs(rules) do
            by_name[r.name] = r
        end
        assert.equal(2, #rules)
        assert.same({ "24h", 5, "both" }, { by_name.move_24h_5pct.window,
            by_name.move_24h_5pct.threshold_pct, by_name.move_24h_5pct.direction })
        assert.same({ "1h", 2, "both" }, { by_name.move_1h_2pct.window,
            by_name.move_1h_2pct.threshold_pct, by_name.move_1h_2pct.direction })
    end)

    it("are threshold rules decided in C (no Lua condition)", function()
        for _, r in ipairs(rules) do
            assert.is_nil(r.condition)
            assert.is_true(r.rearm_pct < r.threshold_pct)
        end
    end)
end)

describe("examples/rules/btc_momentum.lua", function()
    local rule = host.load_rule("examples/rules/btc_momentum.lua")

    it("fires when the fast and slow windows agree", function()
        local w = host.windows{ ["5m"] = host.window{ change = 0.012, price = 101.2 },
                                ["1h"] = host.window{ change = 0.025, price = 101.2 } }
        local holds, message = rule.condition(host.tick{ price = 101.2 }, w, false)
        assert.is_true(holds)
        assert.matches("BTC/USDT %+1%.20%% over 5m", message)
    end)

    it("is clear when they disagree", function()
        local w = host.windows{ ["5m"] = host.window{ change = 0.012 },
                                ["1h"] = host.window{ change = -0.025 } }
        assert.is_false(rule.condition(host.tick{}, w, false))
    end)

    it("cannot tell before the hour is complete", function()
        local w = host.windows{ ["5m"] = host.window{ change = 0.012 },
                                ["1h"] = host.window{} }
        assert.is_nil(rule.condition(host.tick{}, w, false))
    end)
end)

describe("examples/rules/wide_spread.lua", function()
    local rule = host.load_rule("examples/rules/wide_spread.lua")

    it("needs a bid and an ask", function()
        assert.is_nil(rule.condition(host.tick{ kind = "trade" }, {}, false))
    end)

    it("fires above half a percent", function()
        local holds, message = rule.condition(host.tick{ bid = 99.4, ask = 100 }, {}, false)
        assert.is_true(holds)
        assert.matches("spread 0%.60%%", message)
        assert.is_false(rule.condition(host.tick{ bid = 99.9, ask = 100 }, {}, false))
    end)
end)

describe("examples/rules/drawdown_24h.lua", function()
    local rule = host.load_rule("examples/rules/drawdown_24h.lua")
    local function at(price)
        return host.windows{ ["24h"] = host.window{ change = 0, price = price, high = 100 } }
    end

    it("fires 8 % under the high and re-arms only within 5 %", function()
        assert.is_false(rule.condition(host.tick{ price = 93 }, at(93), false))
        assert.is_true(rule.condition(host.tick{ price = 92 }, at(92), false))
        -- firing: 6 % down still holds (hysteresis), 4.9 % re-arms
        assert.is_true(rule.condition(host.tick{ price = 94 }, at(94), true))
        assert.is_false(rule.condition(host.tick{ price = 95.1 }, at(95.1), true))
    end)
end)
