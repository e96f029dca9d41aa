-- The classic price-move alerts: every watched symbol, both directions.
-- Decided in C (threshold rules), so they cost no Lua call per tick.
return {
    {
        name = "move_24h_5pct",
        description = "Price moved 5 % or more over 24 hours",
        window = "24h",
        threshold_pct = 5,
        direction = "both",
        rearm_pct = 4,          -- re-arm once the move is back under 4 %
        cooldown = "1h",        -- at most one notification an hour per symbol
        severity = "warning",
    },
    {
        name = "move_1h_2pct",
        description = "Price moved 2 % or more over 1 hour",
        window = "1h",
        threshold_pct = 2,
        direction = "both",
        rearm_pct = 1.5,
        cooldown = "15m",
        severity = "warning",
    },
}
