-- wrk script: POSTs Juspay ORDER_SUCCEEDED webhooks with Basic auth
-- bench:bench-pass (set by scripts/bench-common.sh), each with a unique event
-- id and order id, so every request stores a new event.
-- With ORDERS > 0 the events share ORDERS order ids per thread (ord_T_1 …
-- ord_T_ORDERS, in turn), so each order gets several events.
-- Usage: wrk ... -s scripts/wrk-juspay-webhooks.lua URL -- ID_PREFIX [ORDERS]
local counter = 0
local tid = 0
local prefix = "bench"
local threads = 0
local orders = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  if args[1] then prefix = args[1] end
  if args[2] then orders = tonumber(args[2]) or 0 end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtcGFzcw=="

function request()
  counter = counter + 1
  local order = counter
  if orders > 0 then order = (counter - 1) % orders + 1 end
  local body = string.format('{"id":"evt_%s_%d_%d","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_%d_%d","txn_id":"txn_abc","status":"CHARGED","status_id":21,"amount":100.00,"currency":"USD","customer_email":"test@example.com","udf1":"{\\"txId\\":\\"qktr12eqzg\\"}"}}}', prefix, tid, counter, tid, order)
  return wrk.format(nil, nil, nil, body)
end
