"""The console's figures for `make bench` (bench/console/console.sh): the fleet page's first page
and the live-event feed's cost, in a real headless Chromium (Selenium, as Tests/Console does).

1. First page: the fleet page opened LOADS times by a full page load (navigation start to the
   fleet table's rows present: the end of the page's `fleet-first-page` measure, whose clock
   starts at navigation) and LOADS times by in-app navigation from the audit page (the measure's
   own duration, what `make test-console` asserts), each as the median.
2. Live events, RATE status changes a second for SECONDS. The feed is fed by PostgreSQL (the
   `devices` trigger announces each change), so first by status_sql.py (UPDATEs of `devices`,
   the feed at the full rate) three times: with the browser on the account page and no
   live-event subscriber; with one plain SSE client on `GET /events` (this script, counting the
   `device.status` events it reads: the feed's own cost); and with the fleet page open (the
   feed plus what the page asks for itself: it recounts the fleet by status at most every 5 s).
   Then once through the whole real path with the page open: status_driver.py publishes state
   messages over MQTT, the aggregator's presence writes store them. The aggregator's and
   PostgreSQL's CPU is sampled over each window, and over one window first with nothing
   changing (the aggregator's idle baseline); the page counts the status changes it applied
   to its rows (a MutationObserver on the status cells). After the MQTT window the script waits
   (at most SETTLE seconds, 60) until the stored changes stop growing, then counts them
   (`device_status_changes` of the driven devices).

Prints one JSON object.
"""
import argparse
import json
import os
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--ca", required=True)
parser.add_argument("--username", required=True)
parser.add_argument("--password-file", required=True)
parser.add_argument("--loads", type=int, default=7)
parser.add_argument("--devices-dir", required=True)
parser.add_argument("--device-prefix", required=True)
parser.add_argument("--rate", type=float, default=1000)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--settle", type=float, default=60)
parser.add_argument("--pg-port", required=True)
parser.add_argument("--aggregator-pid", required=True)
parser.add_argument("--postgres-pid", required=True)
parser.add_argument("--work", required=True)
args = parser.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-paho-mqtt


def psql(sql):
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", args.pg_port, "-U", "outpost", "-d", "outpost",
                           "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def stored_changes():
    return int(psql(f"SELECT count(*) FROM device_status_changes WHERE device LIKE '{args.device_prefix}%'"))


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--window-size=1280,800", "--disable-gpu", "--disable-dev-shm-usage"):
    options.add_argument(argument)
if os.geteuid() == 0:
    options.add_argument("--no-sandbox")
options.accept_insecure_certs = True  # the stack's CA is made fresh for each run
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait(condition, seconds=30, message=""):
    return WebDriverWait(driver, seconds, poll_frequency=0.05).until(lambda _: condition(), message)


def present(css):
    return len(driver.find_elements(By.CSS_SELECTOR, css)) > 0


FLEET_LOADED = 'section[data-page="fleet"][data-loaded="true"]'


def fleet_rows():
    return len(driver.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr"))


class FeedClient(threading.Thread):
    """Reads `GET /events` with an access token and counts its `device.status` events."""

    def __init__(self, token):
        super().__init__(daemon=True)
        request = urllib.request.Request(args.url + "/api/v1/events", headers={"authorization": "Bearer " + token})
        self.response = urllib.request.urlopen(request, context=ssl.create_default_context(cafile=args.ca), timeout=600)
        self.status_events = 0

    def run(self):
        try:
            for line in self.response:
                if line.startswith(b"event: device.status"):
                    self.status_events += 1
        except (OSError, ValueError, AttributeError):  # closed under the reader at the window's end
            pass


def access_token(password):
    body = json.dumps({"username": args.username, "password": password}).encode()
    request = urllib.request.Request(args.url + "/api/v1/auth/login", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=args.ca), timeout=60) as response:
        return json.loads(response.read())["accessToken"]


def window(name, via, page_open, feed=None):
    """One driven window: the driver and the sampler side by side, then (MQTT) the stored changes settle."""
    before = stored_changes()
    cpu_file = os.path.join(args.work, f"console-{name}.cpu.json")
    sampler = subprocess.Popen([SYSTEM_PYTHON, os.path.join(here, "..", "lib", "procsample.py"), "--out", cpu_file,
                                "--interval", "0.5", "--duration", str(args.seconds),
                                f"aggregator={args.aggregator_pid}", f"postgres={args.postgres_pid}"])
    if via is None:  # idle: the aggregator's own CPU with nothing changing
        command = [SYSTEM_PYTHON, "-c", "import json, sys, time; time.sleep(float(sys.argv[-1])); print(json.dumps({'changed': 0}))"]
    elif via == "mqtt":
        command = [SYSTEM_PYTHON, os.path.join(here, "status_driver.py"), "--devices-dir", args.devices_dir]
    else:
        command = [SYSTEM_PYTHON, os.path.join(here, "status_sql.py"), "--prefix", args.device_prefix,
                   "--dsn", f"host=127.0.0.1 port={args.pg_port} user=outpost dbname=outpost"]
    driven = subprocess.run(command + ["--rate", str(args.rate), "--seconds", str(args.seconds)],
                            capture_output=True, text=True, timeout=args.seconds + 90)
    sampler.wait(timeout=60)
    if driven.returncode != 0:
        sys.exit(f"{command[1]} failed: {driven.stderr.strip()[-2000:]}")
    settle_started = time.monotonic()
    last, stable_since = stored_changes(), time.monotonic()
    while via == "mqtt" and time.monotonic() - settle_started < args.settle and time.monotonic() - stable_since < 2:
        time.sleep(0.5)
        now = stored_changes()
        if now != last:
            last, stable_since = now, time.monotonic()
    result = {"via": via, "driver": json.loads(driven.stdout.strip().splitlines()[-1]), "cpu": json.load(open(cpu_file)),
              "stored_status_changes": last - before, "settle_seconds": round(time.monotonic() - settle_started, 1),
              "load_average_at_end": list(os.getloadavg())}
    if feed:
        time.sleep(1)
        result["feed_status_events"] = feed.status_events
    if page_open:
        time.sleep(1)
        result["page_status_updates"] = driver.execute_script("return window.benchStatusUpdates;")
        result["page_rows_of_driven_devices"] = driver.execute_script(
            "return [...document.querySelectorAll('#fleet-table tbody tr')].filter((row) => row.dataset.device.startsWith(arguments[0])).length;",
            args.device_prefix)
    return result


try:
    password = open(args.password_file).read().strip()
    driver.get(args.url + "/console/#/login")
    wait(lambda: present("#login-form"))
    form = driver.find_element(By.CSS_SELECTOR, "#login-form")
    form.find_element(By.NAME, "username").send_keys(args.username)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(lambda: present(FLEET_LOADED))

    # Full page loads: the console starts from nothing but its refresh token (sessionStorage).
    full = []
    for _ in range(args.loads):
        driver.get("about:blank")
        driver.get(args.url + "/console/#/fleet")
        wait(lambda: present(FLEET_LOADED))
        full.append(driver.execute_script(
            "const m = performance.getEntriesByName('fleet-first-page').at(-1); return m.startTime + m.duration;"))
    rows = fleet_rows()
    # In-app navigation, as `make test-console` measures it.
    navigated = []
    for _ in range(args.loads):
        driver.execute_script("location.hash = '#/audit';")
        wait(lambda: present("#audit-list"))
        driver.execute_script("location.hash = '#/fleet';")
        wait(lambda: present(FLEET_LOADED))
        navigated.append(driver.execute_script("return performance.getEntriesByName('fleet-first-page').at(-1).duration;"))

    driver.execute_script("location.hash = '#/account';")
    wait(lambda: present("#password-form"))
    time.sleep(2)
    idle = window("idle", None, page_open=False)
    closed = window("closed", "sql", page_open=False)
    feed = FeedClient(access_token(password))
    feed.start()
    time.sleep(2)
    feed_only = window("feed", "sql", page_open=False, feed=feed)
    feed.response.close()

    driver.execute_script("location.hash = '#/fleet';")
    wait(lambda: present(FLEET_LOADED))
    # Each status change the page applies replaces the row's status cell's content.
    driver.execute_script("""
        window.benchStatusUpdates = 0;
        new MutationObserver((records) => {
          for (const record of records) {
            if (record.target.classList && record.target.classList.contains('status-cell') && record.addedNodes.length) window.benchStatusUpdates += 1;
          }
        }).observe(document.querySelector('#fleet-list'), { childList: true, subtree: true });""")
    time.sleep(2)  # the page's live-event stream connects after the first page
    opened = window("open", "sql", page_open=True)
    driver.execute_script("window.benchStatusUpdates = 0;")
    mqtt = window("mqtt", "mqtt", page_open=True)

    print(json.dumps({
        "first_page": {"rows": rows, "full_load_ms": [round(x, 1) for x in full], "full_load_ms_median": round(statistics.median(full), 1),
                       "navigation_ms": [round(x, 1) for x in navigated], "navigation_ms_median": round(statistics.median(navigated), 1)},
        "live_events": {"rate": args.rate, "seconds": args.seconds, "idle": idle, "page_closed": closed, "feed_only": feed_only, "page_open": opened, "mqtt_page_open": mqtt}}))
finally:
    driver.quit()
