-- wrk script: scripts/wrk-juspay-webhooks.lua with a pause before each
-- request, so that wrk sends at a chosen rate instead of as fast as it can
-- (Debian's wrk has no -R). Each connection waits PAUSE_MS between its
-- requests; scripts/bench-mixed.sh picks PAUSE_MS for the rate it wants.
-- Usage: wrk ... -s scripts/wrk-juspay-webhooks-paced.lua URL -- ID_PREFIX ORDERS PAUSE_MS
dofile("scripts/wrk-juspay-webhooks.lua")
local base_init = init
local pause = 0

function init(args)
  base_init(args)
  pause = tonumber(args[3]) or 0
end

function delay()
  return pause
end
