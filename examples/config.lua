-- An example configuration: the shipped classic rules plus the example
-- Lua rules, every symbol of both venues. Used by the integration tests.
return {
    rules = { "../rules", "rules" },
    lua_path = "../lua",
    windows = { "5m", "1h", "24h" },
    exchanges = {
        binance = {},
        coinbase = {},
    },
}
