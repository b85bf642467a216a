# The bench console in a real browser (headless Chromium) against the simulated rig: one console
# (`ecmo console --sim`) and one browser for the module; the tests run in file order, the last
# one takes the rig away. Screenshots land in out/console-tests/ (docs/console.png is one).
import csv
import os
import signal
import time

import pytest

pw_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (make venv)")
from console_browser import Console, SCREENS, launch, wait_until  # noqa: E402

UPLOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "node_modules", "uplot", "dist", "uPlot.iife.min.js")


TIMINGS = {}      # measured latencies, written to out/console-tests/timings.json


@pytest.fixture(scope="module", autouse=True)
def _timings():
    yield
    if TIMINGS:
        import json
        os.makedirs(SCREENS, exist_ok=True)
        with open(os.path.join(SCREENS, "timings.json"), "w") as f:
            json.dump(TIMINGS, f, indent=1)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    c = Console(["--sim", "--csv", str(tmp / "telemetry.csv")], tmp)
    c.csv = str(tmp / "telemetry.csv")
    yield c
    c.stop()


@pytest.fixture(scope="module")
def page(console):
    with pw_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            pg = browser.new_page(viewport={"width": 1600, "height": 1000})
            errors = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(console.url)
            pg.errors = errors
            yield pg
        finally:
            browser.close()


def shot(pg, name):
    os.makedirs(SCREENS, exist_ok=True)
    pg.screenshot(path=os.path.join(SCREENS, name + ".png"))


def text(pg, sel):
    return pg.inner_text(sel).strip()


def shows(pg, sel, value, timeout=3.0):
    # the page shows this text within the timeout (on a loaded machine a late row may blank
    # the page for a moment: that is NO DATA doing its job, not a failure of what is tested)
    return wait_until(lambda: text(pg, sel) == value, timeout)


def number(pg, sel):
    try:
        return float(text(pg, sel))
    except ValueError:
        return None


def submit(pg, form_input, value):
    pg.fill(form_input, str(value))
    pg.press(form_input, "Enter")


def last_csv_row(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(ln for ln in f if not ln.startswith("#")))
    return rows[-1] if rows else None


def test_page_loads_against_the_simulated_rig(console, page):
    page.wait_for_function("!document.body.classList.contains('nodata')", timeout=15000)
    assert shows(page, "#pump-state", "PUMP STANDBY")
    assert shows(page, "#profile", "VA")
    assert wait_until(lambda: number(page, "#p1") is not None, 3)
    # the rig's limits, as it reported them (VA defaults: P3 warn 300 / crit 400 mmHg)
    page.wait_for_function("document.getElementById('p3-lim').textContent.includes('300')")
    assert "warn 300 / crit 400 mmHg" in text(page, "#p3-lim")
    assert "SIMULATED BENCH" in text(page, "#sim-panel")
    assert os.path.exists(UPLOT), "uPlot missing: `npm ci` (make test does it)"
    assert page.evaluate("typeof uPlot") == "function"     # served locally, no internet
    assert not page.errors


def test_numbers_follow_the_rig(console, page):
    page.click("button[data-action=mode][data-name=rpm]")
    submit(page, "#in-rpm", 2500)
    page.wait_for_function("document.getElementById('rpm-sp').textContent.includes('2500 RPM')")
    page.click("button[data-action=run]")
    assert wait_until(lambda: abs((number(page, "#rpm") or 0) - 2500) < 150, 10), text(page, "#rpm")
    assert shows(page, "#pump-state", "PUMP RUNNING")
    submit(page, "#in-rpm", 3200)
    assert wait_until(lambda: abs((number(page, "#rpm") or 0) - 3200) < 150, 10), text(page, "#rpm")
    # what the page shows is what the rig sent: the recorded CSV (the monitor's format) agrees
    assert wait_until(lambda: number(page, "#flow") and number(page, "#flow") > 1.0, 10)
    def agree():
        row = last_csv_row(console.csv)
        rpm, flow = number(page, "#rpm"), number(page, "#flow")
        return rpm is not None and flow is not None and abs(float(row["rpm"]) - rpm) < 150 \
            and abs(float(row["flow_lpm"]) - flow) < 0.4
    assert wait_until(agree, 3), (last_csv_row(console.csv), text(page, "#rpm"), text(page, "#flow"))
    shot(page, "running")


def test_refused_setpoint_shows_the_firmware_message(console, page):
    submit(page, "#in-flow", 99)
    page.wait_for_selector("#reply.refused", timeout=5000)
    msg = text(page, "#reply")
    # settings.number()'s own words, relayed unchanged
    assert "flow_lpm must be a number in [0, " in msg and "got 99" in msg, msg
    shot(page, "refused")


def test_a_looser_limit_asks_for_confirmation(console, page):
    page.select_option("#in-limit-name", "p3_warn_dmmhg")
    submit(page, "#in-limit-value", 2800)                 # tighter than the default: no question
    page.wait_for_selector("#reply.ok", timeout=5000)
    page.wait_for_function("document.getElementById('p3-lim').textContent.includes('warn 280 ')")
    assert not page.is_visible("#confirm")
    submit(page, "#in-limit-value", 3500)                 # looser: the rig wants confirm=True
    page.wait_for_selector("#confirm", state="visible", timeout=5000)
    assert "confirm=True" in text(page, "#confirm-msg")
    assert "warn 280 " in text(page, "#p3-lim")           # nothing changed yet
    shot(page, "confirm")
    page.click("#confirm-yes")
    page.wait_for_function("document.getElementById('p3-lim').textContent.includes('warn 350 ')",
                           timeout=5000)
    assert "reply ok" in page.get_attribute("#reply", "class")


def test_air_shows_a_red_flashing_alarm_and_the_stopped_pump_within_1s(console, page):
    assert shows(page, "#pump-state", "PUMP RUNNING")
    page.click("button[data-action=sim_bubble_detector]")
    t0 = time.monotonic()
    page.wait_for_selector(".alarm-chip[data-code=AIR]", timeout=1000)
    page.wait_for_function("document.getElementById('pump-state').textContent === 'PUMP STOPPED'",
                           timeout=max(50, int(1000 - (time.monotonic() - t0) * 1000)))
    # from the click: the command's round trip, the slug's last centimetre, the next row
    TIMINGS["air_click_to_alarm_and_stop_s"] = round(time.monotonic() - t0, 3)
    bar = page.locator("#alarm-bar")
    assert "prio-3" in bar.get_attribute("class")
    assert bar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(216, 20, 27)"   # red
    # the alarm list flashes (IEC 60601-1-8 high priority: 1.4 to 2.8 Hz)
    anim = page.locator("#alarm-list").evaluate(
        "e => [getComputedStyle(e).animationName, getComputedStyle(e).animationDuration]")
    assert anim[0] == "flash-fast" and 1 / 2.8 <= float(anim[1].rstrip("s")) <= 1 / 1.4, anim
    chip = text(page, ".alarm-chip[data-code=AIR]")
    assert chip.startswith("!!! AIR") and "HIGH" in chip      # not colour alone
    assert shows(page, "#clamp", "CLOSED")
    shot(page, "air")


def test_acknowledge_pauses_the_audio_from_the_page(console, page):
    assert shows(page, "#audio-state", "AUDIO ON")
    page.click("#btn-ack")
    t0 = time.monotonic()
    page.wait_for_function("document.getElementById('audio-state').textContent.startsWith('AUDIO PAUSED')",
                           timeout=3000)
    TIMINGS["ack_click_to_audio_paused_s"] = round(time.monotonic() - t0, 3)
    left = text(page, "#audio-state").split()[-1]            # "1:59": the firmware's 2 min pause
    m, s = left.split(":")
    assert 100 <= int(m) * 60 + int(s) <= 120, left
    assert "acknowledged" in text(page, ".alarm-chip[data-code=AIR]")   # still shown, latched
    shot(page, "acknowledged")


def test_h22_a_dropped_link_shows_no_data_within_1s(console, page):
    page.wait_for_function("!document.body.classList.contains('nodata')", timeout=5000)
    rig = console.kids[0]                         # tools.rigpty, the console's child
    # a rig that goes silent with the port still open (hung, cable half out): no rows
    os.kill(rig, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        page.wait_for_function("document.body.classList.contains('nodata')", timeout=1000)
        TIMINGS["rig_silent_to_no_data_s"] = round(time.monotonic() - t0, 3)
        assert text(page, "#flow") == "---"
        assert "no telemetry for" in text(page, "#nodata-why")
        shot(page, "silent")
    finally:
        os.kill(rig, signal.SIGCONT)
    page.wait_for_function("!document.body.classList.contains('nodata')", timeout=10000)
    assert wait_until(lambda: number(page, "#p1") is not None, 3)   # numbers back with rows
    assert text(page, ".alarm-chip[data-code=AIR]").startswith("!!! AIR")   # and the alarms
    # the link itself lost: the rig's process ends, its pty closes
    os.kill(rig, signal.SIGTERM)
    t0 = time.monotonic()
    page.wait_for_function("document.body.classList.contains('nodata')", timeout=1000)
    dt = time.monotonic() - t0
    TIMINGS["rig_killed_to_no_data_s"] = round(dt, 3)
    assert dt < 1.0
    assert text(page, ".nodata-title") == "NO DATA"
    assert text(page, "#flow") == "---" and text(page, "#rpm") == "---"   # never frozen numbers
    assert text(page, "#pump-state") == "---"
    assert "---" in text(page, "#p3-lim")                                 # nor old limits
    shot(page, "nodata")
