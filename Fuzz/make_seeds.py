#!/usr/bin/env python3
"""Writes the starting corpus of every fuzz target into Fuzz/corpus/<target>/.

The seeds come from the handler test fixtures (Tests/CallbridgeHandlersTests/Fixtures),
the request shapes the handler tests send (Juspay return query, NonStoPay returns),
and a few hand-written edge cases per target. scripts/fuzz.sh grows the corpus
and minimises it with -merge=1; rerun this only to start a target afresh.
Files are named by the SHA-1 of their content, as libFuzzer names its own.
Route seeds name their route; its index comes from `callbridge-fuzz --list-routes`
(built by `swift build --product callbridge-fuzz`), so new routes shift nothing.
"""
import hashlib
import json
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "CallbridgeHandlersTests", "Fixtures")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")


def fixture(path):
    with open(os.path.join(FIXTURES, path), "rb") as f:
        return f.read()


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


JSON_FIXTURES = sorted(os.path.relpath(p, FIXTURES) for p in glob.glob(os.path.join(FIXTURES, "*", "*.json")))
LUXFIN_QUERY = fixture("luxfin/return_card.txt").strip()
JUSPAY_QUERY = b"order_id=ord_20261123_0001&status=CHARGED&status_id=21&signature_algorithm=HMAC-SHA256"
NONSTOPAY_RETURN_QUERY = b"order_id=A-20261123-0042&invoice_id=inv_6b1d0f2a9c&amount=49.90&devise=EUR&callbackJson=%7B%22txId%22%3A%22qktr12eqzg%22%7D"

# json: the fixtures, plus escapes, surrogates, numbers, nesting.
for name in JSON_FIXTURES:
    write("json", fixture(name))
for text in ['{"a":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/"}', "[-0.0e+10,1E-2,0,123456789012345678901234567890]",
             '[[[[{"k":[true,false,null]}]]]]', ' {"dup":1,"dup":2} ', '"\\u2028\\u0000"']:
    write("json", text)

# form: query strings and form bodies the handlers receive.
for data in [LUXFIN_QUERY, JUSPAY_QUERY, NONSTOPAY_RETURN_QUERY, b"a=1&&b=&=c&d", b"x=%E2%82%AC+%2B%26%3D&y=%zz", b"k=%C3"]:
    write("form", data)

# timestamp: the formats providers send, and the edges of the calendar.
for text in ["2026-11-23T09:59:58Z", "2026-11-23T09:59:58.123+05:30", "2026-11-23 09:59:58", "2026-11-23t09:59:58.123456789z",
             "2024-02-29T23:59:60-14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1795428000", "1795428000123",
             "-62135596800", "9223372036854775807"]:
    write("timestamp", text)

# retry_after: delay-seconds and HTTP-dates.
for text in ["120", "0", " 3600 ", "Sun, 06 Nov 1994 08:49:37 GMT", "Wed, 21 Oct 2026 07:28:00 GMT", "Mon, 23 Nov 2026 10:05:00 GMT",
             "99999999999999999999", "-1"]:
    write("retry_after", text)

# mask: bodies with and without card data, in every format.
for name in JSON_FIXTURES:
    write("mask", fixture(name))
for text in [LUXFIN_QUERY, b"card=4111111111111111&cvv=123&order_id=4111111111111111", "pan 4111 1111 1111 1111, 5500-0000-0000-0004 ok",
             '{"card":{"number":4111111111111111,"cvc":"737"},"note":"4000 0566 5566 5556"}', "1234567890123 12345678901234567890"]:
    write("mask", text)

# curl_headers: response header blocks as libcurl hands them over, line by line.
for text in ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Type: text/plain\r\n\r\n",
             "HTTP/2 200\r\ncontent-type: application/json\r\nx-empty:\r\n\tfolded: value \t\r\n:no-name\r\n\r\n",
             "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 410 Gone\r\nSet-Cookie: a=b\r\n"]:
    write("curl_headers", text)

# route: byte 0 picks the route (by the index --list-routes prints), byte 1
# the flags (1 sign, 2 second method, 4 add Content-Type, high nibble the path
# value), then query 0xFF headers 0xFF body.
listing = subprocess.run([os.path.join(ROOT, ".build", "debug", "callbridge-fuzz"), "--list-routes"],
                         check=True, capture_output=True, text=True).stdout
ROUTES = {name: int(index) for index, name in (line.split() for line in listing.splitlines())}


SEEDED = set()


def route(name, flags, query=b"", headers=b"", body=b""):
    SEEDED.add(name)
    write("route", bytes([ROUTES[name], flags]) + query + b"\xff" + headers + b"\xff" + body)


def provider_fixtures(provider):
    return [name for name in JSON_FIXTURES if name.startswith(provider + "/")]


route("juspay/return", 0x01, JUSPAY_QUERY)                                     # GET, signed
route("juspay/return", 0x00, JUSPAY_QUERY + b"&signature=bad%253D")             # GET, bad signature
route("juspay/return", 0x07, b"", b"", JUSPAY_QUERY)                            # POST form, signed
for name in provider_fixtures("juspay"):
    route("juspay/webhook", 0x05, b"", b"x-request-id: 42", fixture(name))       # signed webhook
route("juspay/webhook", 0x04, b"", b"authorization: Basic Zm9vOmJhcg==", fixture("juspay/order_succeeded.json"))
route("luxfin/return", 0x00, LUXFIN_QUERY)
route("luxfin/return", 0x06, b"", b"", LUXFIN_QUERY)
for name in provider_fixtures("luxfin"):
    route("luxfin/webhook", 0x05, b"", b"user-agent: Luxfin", fixture(name))
route("luxfin/webhook", 0x04, b"", b"x-luxfintech-signature: sha256=00", fixture("luxfin/webhook_success.json"))
for name in provider_fixtures("nonstopay"):
    route("nonstopay/callback", 0x05, b"", b"user-agent: NonStoPay/1.0", fixture(name))
route("nonstopay/callback", 0x04, b"", b"x-signature: 00", fixture("nonstopay/invoice_paid.json"))
for value in range(4):                                                          # cancel, failure, pending, success
    route("nonstopay/return", value << 4, NONSTOPAY_RETURN_QUERY)
route("nonstopay/return", 0x36, b"", b"", NONSTOPAY_RETURN_QUERY)
route("nonstopay/return", 0x32, b"", b"content-type: application/json", json.dumps({"order_id": "A-1", "invoice_id": "inv_1", "amount": 12.5}).encode())
unseeded = sorted(set(ROUTES) - SEEDED)
if unseeded:
    print("routes without a seed (add some above):", ", ".join(unseeded), file=sys.stderr)

print("seeds written under", CORPUS, file=sys.stderr)
