#!/usr/bin/env python3
"""End-to-end test of the operator console in a real headless Chromium.

Run through scripts/console-e2e.sh (it installs chromium, chromium-driver and
selenium). Starts the real `callbridge serve` ($CALLBRIDGE_BINARY) on a free
loopback port with a temporary SQLite log and one endpoint whose sink is down,
then drives /console like an operator:

  1. a wrong token is refused; the right one signs in;
  2. a simulated Juspay payment (`callbridge simulate juspay succeeded`)
     appears in the event list without a reload;
  3. its detail (envelope, masked raw request, deliveries and attempts) and
     its order story open;
  4. its delivery is dead (the sink was down, short retry schedule); the sink
     comes up; the operator replays the endpoint's dead deliveries from the
     console after a dry-run count, and sees the delivery succeed;
  5. an event whose order id and fields hold <script> and "><img onerror>
     shows them as text and runs nothing (no alert, no flag set by the payload,
     no <img src=x> in the page, no CSP violation reported);
  6. status checks and "at a glance" render; signing out works.

Screenshots of each page go to $CONSOLE_SCREENSHOTS. Exits non-zero on the
first failed expectation; everything started is stopped on exit.
"""
import base64
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("CALLBRIDGE_BINARY", os.path.join(ROOT, ".build/debug/callbridge"))
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS") or tempfile.mkdtemp(prefix="callbridge-console-shots.")
TOKEN = "adm_" + secrets.token_hex(16)
XSS_ORDER = 'ord_<script>window.__cbXss=1</script>"><img src=x onerror="window.__cbXss=2;alert(1)">'
XSS_FIELD = '"><img src=x onerror="window.__cbXss=3;alert(2)"><script>window.__cbXss=4</script>'

started = time.monotonic()
timings = {}
counts = {"screenshots": 0, "checks": 0}
procs = []
work = tempfile.mkdtemp(prefix="callbridge-console-e2e.")


def log(message):
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


def check(condition, what):
    counts["checks"] += 1
    if not condition:
        raise AssertionError(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Sink(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        Sink.received.append((self.headers.get("webhook-id"), body))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main():
    server_port, sink_port = free_port(), free_port()
    env = dict(os.environ)
    env.update({
        "JUSPAY_WEBHOOK_USERNAME": "callbridge",
        "JUSPAY_WEBHOOK_PASSWORD": secrets.token_urlsafe(18),
        "JUSPAY_RESPONSE_KEY": secrets.token_urlsafe(18),
        "NONSTOPAY_API_KEY": secrets.token_urlsafe(18),
        "LUXFIN_API_SECRET": secrets.token_urlsafe(18),
        "DEMO_SINK_SECRET": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
        "CALLBRIDGE_ADMIN_TOKEN": TOKEN,
    })
    config = os.path.join(work, "callbridge.yaml")
    with open(config, "w") as f:
        f.write(f"""listen: {{host: 127.0.0.1, port: {server_port}}}
storage: {{sqlite: {work}/log.sqlite, synchronous: normal}}
handlers: {ROOT}/handlers
dispatch: {{breaker_failures: 100, poll_interval: 200ms}}
admin: {{token: "${{CALLBRIDGE_ADMIN_TOKEN}}"}}
endpoints:
  - name: demo-sink
    url: http://127.0.0.1:{sink_port}/hooks
    secret: "${{DEMO_SINK_SECRET}}"
    retry_schedule: [0s, 300ms]
    timeout: 2s
""")
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([BINARY, "serve", "--config", config, "--log-level", "warning"], cwd=work, env=env,
                              stdout=server_log, stderr=subprocess.STDOUT)
    procs.append(server)
    base = f"http://127.0.0.1:{server_port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if http_get(base + "/healthz")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise AssertionError("callbridge serve did not start: " + open(os.path.join(work, "server.log")).read()[-2000:])
        time.sleep(0.1)
    log(f"callbridge serve on {base}, sink port {sink_port} (down)")

    # The headers every /console answer carries; admin answers are not cached.
    status, headers, _ = http_get(base + "/console")
    lower = {k.lower(): v for k, v in headers.items()}
    check(status == 200, f"/console answered {status}")
    check("script-src 'self'" in lower.get("content-security-policy", "") and "unsafe-inline" not in lower["content-security-policy"], "CSP")
    check(lower.get("x-frame-options") == "DENY" and lower.get("x-content-type-options") == "nosniff", "framing and sniffing headers")
    check(lower.get("referrer-policy") == "no-referrer", "referrer policy")
    _, headers, _ = http_get(base + "/admin/v1/endpoints", {"Authorization": "Bearer " + TOKEN})
    check({k.lower(): v for k, v in headers.items()}.get("cache-control") == "no-store", "admin answers carry Cache-Control: no-store")

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800",
                     "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    procs.append(driver)
    driver.set_page_load_timeout(20)
    # Pages re-render as they poll: an element found a moment ago may be replaced, so look again.
    wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))

    def click(by, selector):
        wait.until(lambda d: d.find_element(by, selector).click() or True)

    def shot(name):
        path = os.path.join(SHOTS, name + ".png")
        driver.save_screenshot(path)
        counts["screenshots"] += 1

    def no_alert():
        try:
            text = driver.switch_to.alert.text
        except NoAlertPresentException:
            return True
        raise AssertionError(f"an alert ran: {text!r}")

    try:
        # 1. Sign-in: a wrong token is refused, the right one gets in.
        t = time.monotonic()
        driver.get(base + "/console")
        wait.until(EC.visibility_of_element_located((By.ID, "token"))).send_keys("not-the-token")
        shot("01-sign-in")
        driver.find_element(By.ID, "signin-button").click()
        error = wait.until(EC.visibility_of_element_located((By.ID, "signin-error")))
        check("refused" in error.text, f"a wrong token says so (got {error.text!r})")
        check(driver.execute_script("return sessionStorage.length") == 0, "a refused token is not kept")
        shot("02-wrong-token")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "signin-button").click()
        wait.until(EC.visibility_of_element_located((By.ID, "events")))
        check(TOKEN not in driver.current_url, "the token is never in the URL")
        timings["sign-in"] = time.monotonic() - t
        log("signed in (a wrong token was refused first)")

        # 2. A simulated payment appears without a reload.
        order_id = "ord_e2e_" + secrets.token_hex(4)
        marker = driver.execute_script("window.__noReload = 'still here'; return window.__noReload")
        t = time.monotonic()
        result = subprocess.run([BINARY, "simulate", "juspay", "succeeded", "--to", base, "--order-id", order_id,
                                 "--handlers", os.path.join(ROOT, "handlers")], env=env, capture_output=True, text=True, timeout=30)
        check(result.returncode == 0, f"simulate failed: {result.stdout}{result.stderr}")
        sent = time.monotonic()
        link = wait.until(EC.presence_of_element_located((By.XPATH, f"//tr[contains(@class,'event-row')][.//td[contains(@class,'order-id')][normalize-space()='{order_id}']]")))
        timings["simulated payment to row"] = time.monotonic() - sent
        check(driver.execute_script("return window.__noReload") == marker, "the page was not reloaded")
        shot("03-events")
        log(f"the simulated payment of {order_id} appeared live after {timings['simulated payment to row']:.2f}s")

        # 3. Its detail, then its order story.
        click(By.XPATH, f"//tr[contains(@class,'event-row')][.//td[contains(@class,'order-id')][normalize-space()='{order_id}']]//a[contains(@class,'event-link')]")
        wait.until(EC.presence_of_element_located((By.ID, "raw-body")))
        page = driver.find_element(By.ID, "view").text
        check("payment.succeeded" in page and order_id in page, "the detail shows the event")
        check("authorization" in page.lower(), "the raw request's headers are listed")
        check(env["JUSPAY_WEBHOOK_PASSWORD"] not in driver.page_source, "the Basic credentials are masked")
        # The delivery dies: the sink is down and the schedule is two quick attempts.
        t = time.monotonic()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".delivery[data-endpoint='demo-sink'][data-state='dead']")))
        timings["delivery dead"] = time.monotonic() - t
        attempts = driver.find_elements(By.CSS_SELECTOR, ".delivery[data-endpoint='demo-sink'] tr.attempt")
        check(len(attempts) == 2, f"both attempts are listed (got {len(attempts)})")
        check("connect" in driver.find_element(By.CSS_SELECTOR, ".delivery[data-endpoint='demo-sink']").text.lower(), "the attempt's error is shown")
        shot("04-event-detail")
        driver.execute_script("document.getElementById('deliveries').scrollIntoView()")
        shot("04b-event-deliveries")
        click(By.ID, "order-link")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#order-summary")))
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr.timeline-item")))
        story = driver.find_element(By.ID, "view").text
        check("succeeded" in story and "demo-sink" in story and "dead" in story, "the story shows the state and what the endpoint got")
        shot("05-order-story")
        log(f"detail and order story open; the delivery was dead after {timings['delivery dead']:.2f}s")

        # 4. The sink comes up; replay the endpoint's dead deliveries from the console.
        sink = http.server.ThreadingHTTPServer(("127.0.0.1", sink_port), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        procs.append(sink)
        driver.find_element(By.CSS_SELECTOR, "a[data-view='endpoints']").click()
        row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink']")))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink'] td.dead").text == "1")
        shot("06-endpoints-dead")
        t = time.monotonic()
        click(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink'] button.replay-dead")
        count = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".replay-count")))
        check("1 event(s) as 1 new delivery" in count.text, f"the dry run counts one (got {count.text!r})")
        check(len(Sink.received) == 0, "a dry run sends nothing")
        shot("07-replay-dry-run")
        driver.find_element(By.CSS_SELECTOR, ".replay-confirm").click()
        wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".replay-done")))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink'] td.succeeded").text == "1"
                   and d.find_element(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink'] td.dead").text == "0")
        timings["replay to succeeded"] = time.monotonic() - t
        check(len(Sink.received) == 1, f"the sink got the replay once (got {len(Sink.received)})")
        shot("08-endpoints-replayed")
        log(f"replayed from the console; succeeded after {timings['replay to succeeded']:.2f}s")

        # Disable and enable with a reason.
        click(By.XPATH, "//tr[@data-name='demo-sink']//button[normalize-space()='Disable']")
        wait.until(EC.visibility_of_element_located((By.ID, "disable-reason"))).send_keys("sink maintenance <b>window</b>")
        driver.find_element(By.XPATH, "//button[starts-with(normalize-space(),'Disable demo-sink')]").click()
        wait.until(lambda d: "sink maintenance <b>window</b>" in d.find_element(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink']").text)
        click(By.XPATH, "//tr[@data-name='demo-sink']//button[normalize-space()='Enable']")
        wait.until(lambda d: "enabled" in d.find_element(By.CSS_SELECTOR, "tr.endpoint-row[data-name='demo-sink']").text)
        log("disabled with a reason and enabled again")

        # 5. Hostile fields render as text and run nothing.
        driver.find_element(By.CSS_SELECTOR, "a[data-view='events']").click()
        wait.until(EC.presence_of_element_located((By.ID, "events")))
        body = json.dumps({"id": "evt_xss_" + secrets.token_hex(4), "date_created": "2026-11-23T09:59:58Z", "event_name": "ORDER_SUCCEEDED",
                           "content": {"order": {"order_id": XSS_ORDER, "txn_id": XSS_FIELD, "status": "CHARGED", "amount": 100.00,
                                                 "currency": "USD", "customer_email": XSS_FIELD, "customer_id": XSS_FIELD}}}).encode()
        credentials = base64.b64encode(f"{env['JUSPAY_WEBHOOK_USERNAME']}:{env['JUSPAY_WEBHOOK_PASSWORD']}".encode()).decode()
        request = urllib.request.Request(base + "/juspay/webhook", data=body, method="POST",
                                         headers={"Authorization": "Basic " + credentials, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            check(response.status == 200, f"the hostile webhook was accepted ({response.status})")
        cell = wait.until(EC.presence_of_element_located((By.XPATH, "//td[contains(@class,'order-id')][contains(., '<script>')]")))
        check(cell.text == XSS_ORDER, f"the order id shows as text (got {cell.text!r})")
        no_alert()
        shot("09-hostile-event-list")
        click(By.XPATH, "//td[contains(@class,'order-id')][contains(., '<script>')]/ancestor::tr//a[contains(@class,'event-link')]")
        wait.until(EC.presence_of_element_located((By.ID, "raw-body")))
        check(XSS_FIELD in driver.find_element(By.ID, "view").text, "the hostile field shows as text in the detail")
        no_alert()
        shot("10-hostile-event-detail")
        click(By.ID, "order-link")
        title = wait.until(EC.presence_of_element_located((By.ID, "order-title")))
        check(title.text == XSS_ORDER, "the hostile order id shows as text in the story")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr.timeline-item")))
        time.sleep(0.5)
        no_alert()
        check(driver.execute_script("return typeof window.__cbXss") == "undefined", "the payload's flag is undefined: nothing ran")
        check(driver.execute_script("return document.querySelectorAll('img[src=\"x\"], #view script').length") == 0, "no element was made from the payload")
        shot("11-hostile-order-story")
        log("hostile fields rendered as text; no alert, no flag, no element")

        # 6. Status checks and the charts.
        driver.find_element(By.CSS_SELECTOR, "a[data-view='status-checks']").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#status-checks h2")))
        shot("12-status-checks")
        driver.find_element(By.CSS_SELECTOR, "a[data-view='glance']").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#charts svg")) == 3)
        charts = driver.find_element(By.ID, "charts").text
        check("2 in 1h" in charts, f"the ingest chart counts both events (got {charts!r})")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#charts rect.bar")) >= 1, "the ingest chart has a bar")
        shot("13-at-a-glance")
        log("status checks and charts render")

        # No CSP violation was reported by the browser on any page.
        violations = [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
        check(not violations, f"CSP violations: {violations}")

        # Sign out: the token is gone and the sign-in form is back.
        driver.find_element(By.ID, "signout").click()
        wait.until(EC.visibility_of_element_located((By.ID, "token")))
        check(driver.execute_script("return sessionStorage.length") == 0, "signing out forgets the token")
        driver.get(base + "/console/#/endpoints")
        wait.until(EC.visibility_of_element_located((By.ID, "token")))
        check(len(driver.find_elements(By.ID, "endpoints-table")) == 0, "nothing shows without a token")
        log("signed out")
    except (AssertionError, TimeoutException) as failure:
        shot("failure")
        print(f"FAILED: {failure!r}", file=sys.stderr)
        print("server log:\n" + open(os.path.join(work, "server.log")).read()[-4000:], file=sys.stderr)
        print(f"screenshots: {SHOTS}", file=sys.stderr)
        return 1
    total = time.monotonic() - started
    print(f"console e2e: ok — {counts['checks']} checks, {counts['screenshots']} screenshots in {SHOTS}, {total:.1f}s total")
    print("timings: " + ", ".join(f"{name} {value:.2f}s" for name, value in timings.items()))
    return 0


def stop():
    for proc in reversed(procs):
        try:
            if isinstance(proc, subprocess.Popen):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            elif isinstance(proc, http.server.HTTPServer):
                proc.shutdown()
            else:
                proc.quit()
        except Exception as error:  # keep stopping the rest
            print(f"while stopping {proc!r}: {error}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    code = 1
    try:
        code = main()
    finally:
        stop()
    sys.exit(code)
