-- Every venue pointed at the fake exchange the tests use, on 127.0.0.1:9443:
--   build/tests/fake_exchange/fake_exchange --port 9443 \
--       --fixtures tests/fixtures/exchanges --retime &
--   build/cryptosup run -c examples/fake-exchange.lua --emit ticks
-- The fake replays recorded frames under the symbols subscribed here.
local fake = "ws://127.0.0.1:9443"

return {
    rules = { "../rules", "rules" },
    lua_path = "../lua",
    windows = { "5m", "1h", "24h" },
    exchanges = {
        binance = { url = fake .. "/binance/ws", symbols = { "BTC/USDT", "ETH/USDT" } },
        coinbase = { url = fake .. "/coinbase", symbols = { "BTC/USD", "ETH/USD" } },
        kraken = { url = fake .. "/kraken/v2", symbols = { "BTC/USD" } },
        okx = { url = fake .. "/okx/ws/v5/public", symbols = { "BTC/USDT" } },
        bybit = { url = fake .. "/bybit/v5/public/spot", symbols = { "BTC/USDT" } },
        ["coinbase-exchange"] = { url = fake .. "/coinbase-exchange",
                                  symbols = { "BTC/USD" } },
        ["bybit-linear"] = { url = fake .. "/bybit/v5/public/linear",
                             symbols = { "BTC/USDT", "ETH/USDT" } },
    },
}
