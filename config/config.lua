-- cryptosup configuration. This file is Lua run in the same sandbox as the
-- rules; it returns one table. Relative paths are relative to this file.
-- `cryptosup check -c config/config.lua` validates it; SIGHUP reloads it.
return {
    log_level = "info",              -- debug | info | warn | error

    -- Rule files: a directory of *.lua files, a file, or a list of either.
    rules = "../rules",
    -- Where require() in rules finds modules.
    lua_path = "../lua",

    -- Windows kept for every watched instrument, besides those the rules
    -- name themselves ("30s", "5m", "1h", "24h", "7d").
    windows = { "1h", "24h" },

    -- What to watch. Symbols as BASE/QUOTE or in the venue's own spelling
    -- (BTCUSDT, BTC-USD). An exchange with no symbols list watches all.
    -- Each exchange connects to the venue's public endpoint; `url` (and
    -- `rest_url`) point it elsewhere (testnets, proxies). At start the
    -- windows are warmed up from the venue's 1-minute candles, so 24h
    -- rules work right away (`warmup = false` turns it off).
    exchanges = {
        binance = { symbols = { "BTC/USDT", "ETH/USDT", "SOL/USDT" } },
        coinbase = { symbols = { "BTC/USD", "ETH/USD" } },
        -- kraken = { symbols = { "BTC/USD" } },
        -- okx = { symbols = { "BTC/USDT" } },
        -- bybit = { symbols = { "BTC/USDT" }, channels = { "tickers" } },
        -- A venue or symbol without a stream can be polled over REST:
        -- okx = { symbols = { "BTC/USDT" }, transport = "rest",
        --         poll_interval_ms = 15000 },
    },

    -- How connections are made and retried (these are the defaults).
    connect = {
        backoff_initial_ms = 500,    -- doubles per failure, with jitter
        backoff_max_ms = 30000,      -- never gives up
        healthy_after_ms = 30000,    -- then the backoff starts over
        -- ca_file = "/etc/ssl/certs/ca-certificates.crt",
    },

    -- The HTTP endpoint: /metrics, /healthz, /api/prices, /api/alerts.
    -- ":8000" is every interface; "127.0.0.1:8000" only this machine.
    metrics = { listen = ":8000" },

    -- Where alerts go besides the log (README "Alert delivery"). Secrets
    -- come only from environment variables named here.
    -- alerts = {
    --     email = {
    --         url = "smtp://mail.example.com:587",      -- STARTTLS required
    --         username = "alerts", password_env = "CS_SMTP_PASSWORD",
    --         from = "cryptosup <alerts@example.com>",
    --         to = { "me@example.com" },
    --         max_per_hour = 20,                        -- then an hourly digest
    --     },
    --     webhooks = {
    --         { name = "desk", format = "slack", url_env = "CS_SLACK_URL" },
    --     },
    --     alertmanager = { urls = { "http://127.0.0.1:9093" } },
    -- },

    limits = {
        lua_memory_mb = 64,          -- the whole rule VM
        lua_instructions = 1000000,  -- per rule call
        lua_print_lines = 20,        -- print() lines per call
        rule_failures_before_park = 1,
        max_instruments = 100000,
        alert_queue_size = 4096,
    },
}
