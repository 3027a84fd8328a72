"""The operator console in a real headless Chromium, against a real aggregator.

Run by packaging/dev/console-test.sh (`make test-console`), which starts PostgreSQL, mosquitto,
the aggregator and three enrolled agents on 127.0.0.1 and passes their coordinates in the
environment. The tests run in order (one browser, one stack): each test's name says what it shows.
After every test the browser's log must hold no error and no CSP violation.
"""

import json
import os
import signal
import ssl
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["CONSOLE_URL"]
CA = os.environ["CONSOLE_CA"]
STATE = os.environ["CONSOLE_STATE"]
PG_PORT = os.environ["CONSOLE_PG_PORT"]
ADMIN_PASSWORD = os.environ["CONSOLE_ADMIN_PASSWORD"]
VIEWER_PASSWORD = os.environ["CONSOLE_VIEWER_PASSWORD"]
SCREENSHOTS = os.environ["CONSOLE_SCREENSHOTS"]
DEVICES = ["console-meter-1", "console-meter-2", "console-meter-3"]
PRESENCE_TIMEOUT = 10
ACCESS_TOKEN_SECONDS = 60
ACCESS_TOKEN_LEEWAY = 30  # the aggregator accepts a token this long past its expiry (clock skew)
BULK_DEVICES = 10_000

TLS = ssl.create_default_context(cafile=CA)


def api(path, token=None, method="GET", body=None):
    """A call to the API outside the browser: (status, decoded JSON or None)."""
    request = urllib.request.Request(URL + "/api/v1" + path, method=method)
    if token:
        request.add_header("authorization", "Bearer " + token)
    data = None
    if body is not None:
        request.add_header("content-type", "application/json")
        data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data=data, context=TLS, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def raw_get(path):
    """(status, headers, body) of a GET without credentials."""
    request = urllib.request.Request(URL + path)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=TLS), NoRedirect())
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def psql(sql):
    """The first column of the first row, as text."""
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", PG_PORT, "-U", "outpost", "-d", "outpost",
                           "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


class ConsoleTest(unittest.TestCase):
    driver = None
    admin_login_at = None
    first_refresh_token = None

    @classmethod
    def setUpClass(cls):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        options.add_argument("--headless=new")
        options.add_argument("--window-size=1280,800")
        options.add_argument("--disable-gpu")
        options.add_argument("--disable-dev-shm-usage")
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")
        # The stack's CA is made fresh for each run; the browser is told to accept it rather
        # than touching the system's trust store.
        options.accept_insecure_certs = True
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        cls.driver.set_window_size(1280, 800)
        os.makedirs(SCREENSHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()

    # Helpers

    def setUp(self):
        self.allowed_log = []

    def tearDown(self):
        problems = [entry for entry in self.driver.get_log("browser")
                    if entry["level"] in ("SEVERE", "WARNING")
                    and not any(allowed in entry["message"] for allowed in self.allowed_log)]
        self.assertEqual(problems, [], "browser console errors or CSP violations")

    def wait(self, condition, seconds=10, message=""):
        # The pages re-render rows as live events arrive: an element found in one poll may be
        # replaced before it is read, which is a reason to poll again, not a failure.
        return WebDriverWait(self.driver, seconds, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda _: condition(), message)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def present(self, css):
        return len(self.driver.find_elements(By.CSS_SELECTOR, css)) > 0

    def go(self, fragment, ready_css):
        self.driver.get(URL + "/console/#/" + fragment)
        self.wait(lambda: self.present(ready_css), 20, f"{fragment}: {ready_css} never appeared")

    def login(self, username, password):
        self.driver.get(URL + "/console/#/login")
        self.wait(lambda: self.present("#login-form"))
        form = self.find("#login-form")
        for name, value in (("username", username), ("password", password)):
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def logout(self):
        self.find("#logout").click()
        self.wait(lambda: self.present("#login-form"))

    def screenshot(self, name):
        """The page at 1280×800 and at a 390-px-wide phone viewport."""
        self.driver.execute_script("window.scrollTo(0, 0);")
        for label, (width, height) in (("desktop", (1280, 800)), ("phone", (390, 844))):
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": label == "phone"})
            time.sleep(0.3)
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{label}.png"))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def status_of(self, device):
        # Found and read in one script: a row re-rendered by a live event between a find and a
        # read would raise StaleElementReferenceException (test_02's loop reads outside wait()).
        return self.driver.execute_script(
            "const cell = document.querySelector(arguments[0]); return cell ? cell.dataset.status : null;",
            f'tr[data-device="{device}"] .status-cell [data-status]')

    def admin_token(self):
        status, tokens = api("/auth/login", method="POST", body={"username": "admin", "password": ADMIN_PASSWORD})
        self.assertEqual(status, 200)
        return tokens["accessToken"]

    # Tests, in order

    def test_00_static_routes_headers_and_traversal(self):
        status, headers, _ = raw_get("/")
        self.assertEqual((status, headers["location"]), (302, "/console/"))
        status, headers, body = raw_get("/console/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        csp = headers["content-security-policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn(b'type="module"', body)
        status, headers, _ = raw_get("/javascript/dygraphs/dygraph.min.js")
        self.assertEqual((status, headers["content-type"]), (200, "text/javascript; charset=utf-8"))
        for path in ("/console/../../../etc/passwd", "/console/%2e%2e/%2e%2e/etc/passwd", "/javascript/..%2fjquery/x.js",
                     "/javascript/dygraphs/src", "/console/.hidden.js", "/console/js/app.sh"):
            status, _, body = raw_get(path)
            self.assertEqual(status, 404, path)
        status, headers, _ = raw_get("/api/v1/openapi.json")
        self.assertEqual(headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'")

    def test_01_wrong_password_shows_the_api_error(self):
        self.allowed_log = ["auth/login - Failed to load resource: the server responded with a status of 401"]
        self.login("admin", "not-the-password")
        self.wait(lambda: self.find("#login-error").is_displayed())
        self.assertIn("invalid_credentials", self.find("#login-error").text)
        self.assertIn("request id", self.find("#login-error").text)
        self.screenshot("login-error")

    def test_02_fleet_lists_the_running_devices_online_within_10_s(self):
        self.login("admin", ADMIN_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        type(self).admin_login_at = time.monotonic()
        type(self).first_refresh_token = self.driver.execute_script("return sessionStorage.getItem('outpost.refreshToken');")
        self.assertTrue(type(self).first_refresh_token)
        started = time.monotonic()
        for device in DEVICES:
            self.assertTrue(self.present(f'tr[data-device="{device}"]'), device)
        # The open page turns them online from the live events, or a reload shows it.
        deadline = started + 10
        while time.monotonic() < deadline and any(self.status_of(d) != "online" for d in DEVICES):
            time.sleep(0.5)
            if any(self.status_of(d) != "online" for d in DEVICES) and time.monotonic() > started + 5:
                self.driver.refresh()
                self.wait(lambda: self.present("#fleet-table"))
        self.assertEqual([self.status_of(d) for d in DEVICES], ["online"] * 3)
        self.wait(lambda: self.find('[data-count="online"]').text == "3", 15, "online count")
        self.screenshot("fleet")

    def test_06_chart_points_equal_the_readings_api(self):
        # On the device killed above: no reading arrives any more (once what it sent before the
        # kill is stored: its latest readings stop changing), so the page and the API see the same data.
        token = self.admin_token()
        previous = None
        for _ in range(30):
            latest = api(f"/devices/{DEVICES[2]}/readings/latest", token=token)
            if latest == previous:
                break
            previous = latest
            time.sleep(1)
        self.assertEqual(latest, previous, "the killed device's readings kept changing")
        self.go(f"device/{DEVICES[2]}", 'figure.chart[data-metric="power_w"][data-state="ready"]')
        figure = self.find('figure.chart[data-metric="power_w"]')
        self.check_chart(figure, "raw")
        # Hovering shows the point's time and value (and must not apply inline styles).
        ActionChains(self.driver).move_to_element(figure.find_element(By.CSS_SELECTOR, ".plot")).perform()
        self.wait(lambda: "Z " in figure.find_element(By.CSS_SELECTOR, ".readout").text, 5, "no readout on hover")
        Select(self.find('#chart-controls select[name="bucket"]')).select_by_value("1m")
        self.find("#chart-controls button[type=submit]").click()
        self.wait(lambda: figure.get_attribute("data-bucket") == "1m" and figure.get_attribute("data-state") == "ready")
        self.check_chart(figure, "1m")
        self.screenshot("device-offline")

    def check_chart(self, figure, bucket):
        query = urllib.parse.urlencode({"metric": "power_w", "bucket": bucket, "limit": 10000,
                                        "from": figure.get_attribute("data-from"), "to": figure.get_attribute("data-to")})
        status, page = api(f"/devices/{DEVICES[2]}/readings?{query}", token=self.admin_token())
        self.assertEqual(status, 200)
        self.assertIsNone(page["nextCursor"])
        field = "ts" if bucket == "raw" else "start"
        value = "value" if bucket == "raw" else "avg"
        expected = [[self.millis(item[field]), item[value]] for item in page["items"]]
        self.assertGreater(len(expected), 0)
        shown = self.driver.execute_script(
            "const g = arguments[0].graph; const rows = [];"
            "for (let i = 0; i < g.numRows(); i++) rows.push([g.getValue(i, 0), g.getValue(i, 1)]);"
            "return rows;", figure)
        self.assertEqual(shown, expected)

    @staticmethod
    def millis(iso):
        from datetime import datetime
        return int(round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000))

    def test_03_ping_from_the_page_succeeds(self):
        self.go(f"device/{DEVICES[0]}", "#command-form")
        Select(self.find('#command-form select[name="name"]')).select_by_value("ping")
        self.find("#send-command").click()
        self.wait(lambda: self.present('tr[data-name="ping"] .command-status [data-status="succeeded"]'), 30,
                  "ping never showed succeeded")
        self.screenshot("device")

    def test_03b_device_timeline_pages_filters_and_appends_live(self):
        device = DEVICES[0]
        self.go("fleet", "#fleet-table")
        psql("INSERT INTO device_events (device, ts, kind, data) SELECT '%s', now() - n * interval '10 seconds', "
             "CASE WHEN n %% 2 = 0 THEN 'stream_stats' ELSE 'warning' END, "
             "CASE WHEN n %% 2 = 0 THEN jsonb_build_object('bitrateKbps', n, 'packets', n * 10) "
             "ELSE jsonb_build_object('message', 'warning ' || n) END FROM generate_series(1, 60) AS n" % device)
        self.go(f"device/{device}", '#device-events[data-loaded="true"]')

        def shown():
            return self.driver.execute_script(
                "return [...document.querySelectorAll('#timeline li')].map((li) => [Number(li.dataset.event), li.dataset.kind]);")
        token = self.admin_token()
        status, page = api(f"/devices/{device}/events?limit=1000", token=token)
        self.assertEqual(status, 200)
        stored = [[item["id"], item["kind"]] for item in page["items"]]
        self.assertGreaterEqual(len(stored), 60)
        self.assertEqual(shown(), stored[:50])
        self.assertIn("2 kbit/s · 20 packets", self.find('#timeline li[data-kind="stream_stats"]').text)
        self.find("#timeline-more").click()
        self.wait(lambda: len(shown()) == len(stored), 10, "older events never loaded")
        self.assertEqual(shown(), stored)
        self.assertFalse(self.find("#timeline-more").is_displayed())

        warnings = [entry for entry in stored if entry[1] == "warning"]
        self.assertGreaterEqual(len(warnings), 30)
        Select(self.find('#timeline-filters select[name="kind"]')).select_by_value("warning")
        self.find("#timeline-filters button[type=submit]").click()
        self.wait(lambda: shown() == warnings, 10, "kind filter")

        # Stored events arrive on the open page from the live stream, filtered like the list.
        psql(f"INSERT INTO device_events (device, ts, kind, data) VALUES ('{device}', now(), 'stream_stats', '{{\"bitrateKbps\": 1}}')")
        psql(f"INSERT INTO device_events (device, ts, kind, data) VALUES ('{device}', now(), 'warning', '{{\"message\": \"live one\"}}')")
        self.wait(lambda: len(shown()) == len(warnings) + 1, 10, "the live warning never appeared")
        self.assertIn("live one", self.find("#timeline li").text)
        self.assertEqual({kind for _, kind in shown()}, {"warning"})
        # One that the device dated earlier lands in its place by time, not on top.
        psql(f"INSERT INTO device_events (device, ts, kind, data) SELECT device, ts - interval '5 seconds', 'warning', "
             f"'{{\"message\": \"late one\"}}' FROM device_events WHERE device = '{device}' AND data->>'message' = 'warning 1'")
        self.wait(lambda: len(shown()) == len(warnings) + 2, 10, "the late warning never appeared")
        texts = self.driver.execute_script("return [...document.querySelectorAll('#timeline li')].map((li) => li.textContent);")
        self.assertIn("late one", texts[2])  # after "live one" (now) and warning 1 (10 s ago), before warning 3
        self.screenshot("device-timeline")
        # A live view's end shows its reason (the aggregator stores it as a stream_state event).
        Select(self.find('#timeline-filters select[name="kind"]')).select_by_value("stream_state")
        self.find("#timeline-filters button[type=submit]").click()
        self.wait(lambda: self.present("#timeline-empty") and self.find("#timeline-empty").is_displayed(), 10, "stream_state filter")
        psql(f"INSERT INTO device_events (device, ts, kind, data) VALUES ('{device}', now(), 'stream_state', "
             f"'{{\"state\": \"live_ended\", \"reason\": \"no_media\", \"mountpoint\": 7}}')")
        self.wait(lambda: shown() and shown()[0][1] == "stream_state", 10, "the stream_state event never appeared")
        self.assertIn("live_ended (no_media)", self.find("#timeline li").text)
        self.assertFalse(self.find("#timeline-empty").is_displayed())

    def test_03c_host_metrics_are_charted(self):
        # The agents' system source reports host.* metrics (with a dot) every 10 s; the readings
        # API takes the same names readings/latest lists, so each is charted like power_w.
        device = DEVICES[0]
        token = self.admin_token()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            latest = api(f"/devices/{device}/readings/latest", token=token)[1]
            if any(item["metric"] == "host.mem_used_bytes" for item in latest["items"]):
                break
            time.sleep(1)
        # The chart's range ends when the page asked; a reading the running agent captured just
        # before that can be stored only after it, and the API then counts one more. The page is
        # reloaded (three loads at most) until a load and the API agree on its range.
        ready = 'figure.chart[data-metric="host.mem_used_bytes"][data-state="ready"]'
        self.go(f"device/{device}", ready)
        for attempt in range(3):
            if attempt:
                self.driver.refresh()
                self.wait(lambda: self.present(ready), 20, "the reloaded chart never became ready")
            figure = self.find('figure.chart[data-metric="host.mem_used_bytes"]')
            query = urllib.parse.urlencode({"metric": "host.mem_used_bytes", "bucket": "raw", "limit": 10000,
                                            "from": figure.get_attribute("data-from"), "to": figure.get_attribute("data-to")})
            status, page = api(f"/devices/{device}/readings?{query}", token=token)
            self.assertEqual(status, 200)
            if int(figure.get_attribute("data-points")) == len(page["items"]):
                break
        self.assertGreater(len(page["items"]), 0)
        self.assertEqual(int(figure.get_attribute("data-points")), len(page["items"]))
        metrics = self.driver.execute_script(
            "return [...document.querySelectorAll('#latest tr[data-metric]')].map((row) => row.dataset.metric);")
        charted = self.driver.execute_script(
            "return [...document.querySelectorAll('figure.chart')].map((figure) => figure.dataset.metric);")
        self.assertEqual(sorted(charted), sorted(metrics))

    def test_04_other_pages_render(self):
        self.go("enrollment", "#token-form")
        self.find('#token-form input[name="device"]').send_keys("console-new-1")
        self.find("#create-token").click()
        self.wait(lambda: self.present('#created-tokens [data-device="console-new-1"] code.secret'))
        line = self.find('#created-tokens [data-device="console-new-1"] code.secret').text
        self.assertTrue(line.startswith("outpost-agent enroll --server "), line)
        self.assertIn("--token opt1.console-new-1.", line)
        self.screenshot("enrollment")
        self.go("users", '#users tr[data-user="viewer"]')
        self.screenshot("users")
        self.go("audit", "#audit-list table")
        self.assertTrue(self.present('tr[data-action="auth.login"]'))
        self.screenshot("audit")
        self.go("account", "#password-form")
        self.screenshot("account")

    def test_04b_audit_filters_on_the_server(self):
        token = self.admin_token()
        self.go("audit", "#audit-list table")
        form = self.find("#audit-filters")
        form.find_element(By.NAME, "actor").send_keys("admin")
        form.find_element(By.NAME, "action").send_keys("auth.login")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        def rows():
            return self.driver.execute_script(
                "return [...document.querySelectorAll('#audit-list tbody tr')].map((row) => [row.dataset.actor, row.dataset.action]);")
        status, page = api("/audit?actor=admin&action=auth.login&limit=200", token=token)
        self.assertEqual(status, 200)
        expected = len(page["items"])
        self.assertGreater(expected, 1)
        self.wait(lambda: len(rows()) == expected and all(row == ["admin", "auth.login"] for row in rows()), 10,
                  "actor and action filter")
        self.driver.execute_script("arguments[0].value = '2099-01-01T00:00:00';", form.find_element(By.NAME, "from"))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: "No entries match." in self.find("#audit-list").text, 10, "time filter")
        self.driver.execute_script("arguments[0].value = '';", form.find_element(By.NAME, "from"))
        self.driver.execute_script("arguments[0].value = '2000-01-01T00:00:00';", form.find_element(By.NAME, "to"))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: "No entries match." in self.find("#audit-list").text and not self.find("#error").is_displayed(), 10)

    def test_05_kill_9_agent_turns_offline_without_reload(self):
        self.go("fleet", "#fleet-table")
        self.wait(lambda: self.status_of(DEVICES[2]) == "online", 15)
        marker = self.driver.execute_script("return (window.outpostMarker = Math.random());")
        with open(os.path.join(STATE, "pids", "agent-3")) as file:
            pid = int(file.read().strip())
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        self.wait(lambda: self.status_of(DEVICES[2]) == "offline", PRESENCE_TIMEOUT + 5 + 2,
                  "the row did not turn offline")
        elapsed = time.monotonic() - killed
        print(f"kill -9 → offline on the open page: {elapsed:.1f} s", flush=True)
        self.assertLessEqual(elapsed, PRESENCE_TIMEOUT + 5)
        self.assertEqual(self.driver.execute_script("return window.outpostMarker;"), marker, "the page was reloaded")

        # The filters are the API's query parameters.
        def listed():
            return self.driver.execute_script(
                "return [...document.querySelectorAll('#fleet-table tbody tr')].map((row) => row.dataset.device);")
        Select(self.find('#fleet-filters select[name="status"]')).select_by_value("offline")
        self.find("#fleet-filters button[type=submit]").click()
        self.wait(lambda: listed() == [DEVICES[2]], 10, "status filter")
        Select(self.find('#fleet-filters select[name="status"]')).select_by_value("")
        self.find('#fleet-filters input[name="q"]').send_keys("meter-1")
        self.find("#fleet-filters button[type=submit]").click()
        self.wait(lambda: listed() == [DEVICES[0]], 10, "search")

    def test_06b_revoke_waits_for_confirmation(self):
        self.go(f"device/{DEVICES[1]}", "#certificates table")
        self.find("#revoke").click()
        self.wait(lambda: self.present("dialog.confirm[open]"))
        self.find("dialog.confirm button[value=cancel]").click()
        self.wait(lambda: not self.present("dialog.confirm"))
        self.assertEqual(api(f"/devices/{DEVICES[1]}", token=self.admin_token())[1]["revokedAt"], None)
        self.find("#revoke").click()
        self.wait(lambda: self.present("dialog.confirm[open]"))
        self.find("dialog.confirm button[data-confirm=yes]").click()
        self.wait(lambda: self.driver.execute_script(
            "return [...document.querySelectorAll('#certificates tr[data-serial]')].every((row) => row.textContent.includes('revoked'));"),
            30, "certificates never showed revoked")
        self.assertFalse(self.find("#error").is_displayed())
        status, certificates = api(f"/devices/{DEVICES[1]}/certificates", token=self.admin_token())
        self.assertEqual(status, 200)
        self.assertTrue(all(item["revokedAt"] for item in certificates["items"]))
        # The fleet counts the revoked device apart from online and offline ones.
        self.go("fleet", "#fleet-table")
        self.wait(lambda: self.find('[data-count="revoked"]').text == "1", 15, "revoked count")
        status, revoked = api("/devices?status=revoked", token=self.admin_token())
        self.assertEqual([item["id"] for item in revoked["items"]], [DEVICES[1]])

    def test_07_expired_access_token_is_refreshed_silently(self):
        # The access token of the admin's login has expired by now (60 s + leeway); the next call is
        # answered 401, the console exchanges its refresh token and retries, and the page
        # renders without the login form. The rotated refresh token shows the exchange.
        self.allowed_log = ["the server responded with a status of 401"]
        remaining = type(self).admin_login_at + ACCESS_TOKEN_SECONDS + ACCESS_TOKEN_LEEWAY + 2 - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        self.driver.execute_script("location.hash = '#/audit';")
        self.wait(lambda: self.present("#audit-list table"), 20)
        self.assertFalse(self.present("#login-form"))
        rotated = self.driver.execute_script("return sessionStorage.getItem('outpost.refreshToken');")
        self.assertTrue(rotated)
        self.assertNotEqual(rotated, type(self).first_refresh_token)
        self.logout()

    def test_08_viewer_sees_no_privileged_buttons(self):
        self.login("viewer", VIEWER_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        links = [link.get_attribute("data-page") for link in self.driver.find_elements(By.CSS_SELECTOR, "#nav a")]
        self.assertEqual(links, ["fleet", "account"])
        self.go(f"device/{DEVICES[0]}", "#commands")
        self.wait(lambda: self.present("#latest table"))
        for css in ("#revoke", "#decommission", "#command-form", "#send-command", "#certificates", "#stream-start"):
            self.assertFalse(self.present(css), css)
        self.screenshot("device-viewer")
        self.logout()

    def test_09_fleet_first_page_with_10000_devices_under_1_s(self):
        psql(f"INSERT INTO devices (id, kind, tags) SELECT 'bulk-' || lpad(n::text, 5, '0'), 'meter', ARRAY['bulk'] "
             f"FROM generate_series(1, {BULK_DEVICES}) AS n")
        self.login("admin", ADMIN_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        timings = []
        for _ in range(3):
            self.driver.execute_script("location.hash = '#/audit';")
            self.wait(lambda: self.present("#audit-list"))
            self.driver.execute_script("location.hash = '#/fleet';")
            self.wait(lambda: self.present('section[data-page="fleet"][data-loaded="true"]'), 20)
            timings.append(self.driver.execute_script(
                "return performance.getEntriesByName('fleet-first-page').at(-1).duration;"))
        rows = len(self.driver.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr"))
        self.assertEqual(rows, 100)
        print("fleet first page with 10,000 more devices (ms): " + ", ".join(f"{t:.0f}" for t in timings), flush=True)
        self.assertLess(max(timings), 1000)
        never_seen = psql("SELECT count(*) FROM devices WHERE status = 'unknown' AND decommissioned_at IS NULL")
        self.assertGreaterEqual(int(never_seen), BULK_DEVICES)
        self.wait(lambda: self.find('[data-count="unknown"]').text == never_seen, 60, "count of never seen")
        self.find("#next-page").click()
        self.wait(lambda: self.present('tr[data-device="bulk-00200"]'))
        self.logout()

    def test_10_forced_password_change_after_reset(self):
        self.allowed_log = ["status of 403", "status of 401"]
        token = self.admin_token()
        first = "reset-me first password"
        self.assertEqual(api("/users", token=token, method="POST",
                             body={"username": "reset-me", "password": first, "role": "operator"})[0], 201)
        self.login("admin", ADMIN_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        self.go("users", '#users tr[data-user="reset-me"]')
        row = self.find('#users tr[data-user="reset-me"]')
        [button] = [b for b in row.find_elements(By.TAG_NAME, "button") if b.text == "Reset password"]
        button.click()
        self.wait(lambda: self.present("dialog.confirm[open]"))
        self.find("dialog.confirm button[data-confirm=yes]").click()
        self.wait(lambda: self.present("#shown-once code.secret"))
        one_time = self.find("#shown-once code.secret").text
        self.assertGreaterEqual(len(one_time), 12)
        self.assertEqual(api("/auth/login", method="POST", body={"username": "reset-me", "password": first})[0], 401)
        self.logout()

        # The one-time password signs in, but only the account page opens until it is changed.
        self.login("reset-me", one_time)
        self.wait(lambda: self.present("#password-form") and self.driver.execute_script("return location.hash;") == "#/account", 20)
        self.assertIn("must be changed", self.find("#password-form .warning").text)
        status, tokens = api("/auth/login", method="POST", body={"username": "reset-me", "password": one_time})
        self.assertEqual(status, 200)
        self.assertTrue(tokens["mustChangePassword"])
        status, refused = api("/devices", token=tokens["accessToken"])
        self.assertEqual((status, refused["error"]["code"]), (403, "password_change_required"))
        self.driver.execute_script("location.hash = '#/fleet';")
        time.sleep(1)
        self.assertTrue(self.present("#password-form"))
        self.assertFalse(self.present("#fleet-table"))

        chosen = "reset-me chosen password"
        form = self.find("#password-form")
        form.find_element(By.NAME, "currentPassword").send_keys(one_time)
        form.find_element(By.NAME, "newPassword").send_keys(chosen)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # The console signs in again with the new password: the fleet opens and stays open.
        self.wait(lambda: self.present("#fleet-table"), 20, "the fleet never opened after the change")
        time.sleep(2)
        self.assertTrue(self.present("#fleet-table"))
        self.assertFalse(self.find("#error").is_displayed())
        status, tokens = api("/auth/login", method="POST", body={"username": "reset-me", "password": chosen})
        self.assertEqual(status, 200)
        self.assertFalse(tokens["mustChangePassword"])
        self.assertEqual(api("/auth/login", method="POST", body={"username": "reset-me", "password": one_time})[0], 401)
        self.screenshot("password-changed")

    def test_11_change_own_password(self):
        self.allowed_log = ["status of 401"]
        current_password = "reset-me chosen password"
        self.go("account", "#password-form")
        form = self.find("#password-form")
        # A wrong current password is the form's error: the session stays.
        form.find_element(By.NAME, "currentPassword").send_keys("not my password at all")
        form.find_element(By.NAME, "newPassword").send_keys("reset-me third password")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: self.find("#error").is_displayed(), 10, "no error shown")
        self.assertIn("invalid_credentials", self.find("#error").text)
        self.assertIn("request id", self.find("#error").text)
        self.assertFalse(self.present("#login-form"))

        form = self.find("#password-form")
        for name in ("currentPassword", "newPassword"):
            form.find_element(By.NAME, name).clear()
        form.find_element(By.NAME, "currentPassword").send_keys(current_password)
        form.find_element(By.NAME, "newPassword").send_keys("reset-me third password")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: self.find("#password-form p.ok").is_displayed(), 20, "never showed Password changed")
        self.go("fleet", "#fleet-table")
        self.assertFalse(self.present("#login-form"))
        self.assertEqual(api("/auth/login", method="POST", body={"username": "reset-me", "password": current_password})[0], 401)
        self.logout()
        self.login("reset-me", "reset-me third password")
        self.wait(lambda: self.present("#fleet-table"), 20)
        self.logout()

    def test_12_recordings_timeline_player_and_delete(self):
        # A camera with one recorded segment (an ffmpeg-made MP4 and JPEG, as the recorder
        # writes them) catalogued complete; the console fetches both with its token.
        camera = "console-cam"
        directory = os.path.join(STATE, "recordings", camera)
        os.makedirs(directory, exist_ok=True)
        segment = os.path.join(directory, "console-000000.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                        "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "30", "-movflags", "+faststart", segment], check=True)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", segment, "-frames:v", "1", "-vf", "scale=320:-2",
                        os.path.join(directory, "console-000000.jpg")], check=True)
        size = os.path.getsize(segment)
        recording = psql(f"""INSERT INTO devices (id, kind) VALUES ('{camera}', 'camera') ON CONFLICT (id) DO NOTHING;
            INSERT INTO recordings (device, started_at, ended_at, duration_ms, bytes, path, thumbnail_path, codec, width, height, state)
            VALUES ('{camera}', now() - interval '10 minutes', now() - interval '10 minutes' + interval '3 seconds', 3000, {size},
                    '{camera}/console-000000.mp4', '{camera}/console-000000.jpg', 'h264', 640, 360, 'complete') RETURNING id""")
        recording = recording.splitlines()[-1]
        self.login("admin", ADMIN_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        self.go(f"device/{camera}", f'#recordings-timeline li[data-recording="{recording}"]')
        self.wait(lambda: "1 segments" in self.find("#recordings-totals").text, 10, "storage totals")
        self.wait(lambda: self.driver.execute_script(
            "const img = document.querySelector('#recordings-timeline .recording-thumbnail');"
            "return img && img.complete && img.naturalWidth === 320 && img.src.startsWith('blob:');"), 20, "thumbnail never loaded")
        self.find(f'li[data-recording="{recording}"] .recording-play').click()
        self.wait(lambda: self.driver.execute_script(
            "const v = document.querySelector('#recording-video');"
            "return v && !v.hidden && v.src.startsWith('blob:') && v.readyState >= 1 && v.videoWidth === 640 && Math.abs(v.duration - 3) < 0.2;"),
            20, "the segment never played")
        self.screenshot("recordings")
        # Delete waits for confirmation; cancel keeps it, confirm removes row and file.
        self.find(f'li[data-recording="{recording}"] .recording-delete').click()
        self.wait(lambda: self.present("dialog.confirm[open]"))
        self.find("dialog.confirm button[value=cancel]").click()
        self.wait(lambda: not self.present("dialog.confirm"))
        self.assertEqual(psql(f"SELECT state FROM recordings WHERE id = {recording}"), "complete")
        self.find(f'li[data-recording="{recording}"] .recording-delete').click()
        self.wait(lambda: self.present("dialog.confirm[open]"))
        self.find("dialog.confirm button[data-confirm=yes]").click()
        self.wait(lambda: not self.present(f'li[data-recording="{recording}"]'), 20, "the deleted segment stayed listed")
        self.assertEqual(psql(f"SELECT state || ' ' || deleted_reason FROM recordings WHERE id = {recording}"), "deleted manual")
        self.assertFalse(os.path.exists(segment))
        self.assertEqual(psql("SELECT count(*) FROM audit_log WHERE action = 'recording.delete'"), "1")
        self.logout()
    def test_13_many_live_streams_do_not_starve_requests(self):
        # Every console tab holds its live-event stream open. Over HTTP/1.1 a browser opens at
        # most six connections to one host, so a seventh stream or any request after six tabs
        # waited for one to close; over HTTP/2 they share one connection.
        self.login("admin", ADMIN_PASSWORD)
        self.wait(lambda: self.present("#fleet-table"), 20)
        refresh = self.driver.execute_script("return sessionStorage.getItem('outpost.refreshToken');")
        status, tokens = api("/auth/refresh", method="POST", body={"refreshToken": refresh})
        self.assertEqual(status, 200, tokens)
        self.driver.execute_script("sessionStorage.setItem('outpost.refreshToken', arguments[0]);", tokens["refreshToken"])
        self.driver.set_script_timeout(40)
        answer, took_ms, protocol = self.driver.execute_async_script("""
            const [token, done] = arguments;
            const headers = { authorization: "Bearer " + token };
            const streams = [];
            for (let i = 0; i < 8; i += 1) {
              const controller = new AbortController();
              streams.push(controller);
              fetch("/api/v1/events", { headers, signal: controller.signal, cache: "no-store" }).catch(() => {});
            }
            setTimeout(async () => {
              const started = performance.now();
              const answered = fetch("/api/v1/me", { headers, cache: "no-store" }).then((r) => r.status, () => "failed");
              const answer = await Promise.race([answered, new Promise((r) => setTimeout(() => r("still waiting"), 10000))]);
              const took = performance.now() - started;
              streams.forEach((controller) => controller.abort());
              const entry = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/api/v1/me")).at(-1);
              done([answer, took, entry ? entry.nextHopProtocol : null]);
            }, 2000);
            """, tokens["accessToken"])
        print(f"a request beside 9 open live-event streams: {answer} in {took_ms:.0f} ms over {protocol}")
        self.assertEqual(answer, 200, f"a request beside 9 open streams: {answer} after {took_ms:.0f} ms")
        self.assertEqual(protocol, "h2")


if __name__ == "__main__":
    unittest.main(verbosity=2, failfast=False)
