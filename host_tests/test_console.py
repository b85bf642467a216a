# The bench console without a browser: what the page may ask for, the token on another
# interface, the origin check, and refusing to listen beyond this machine unasked.
import json
import subprocess
import sys
import time

import pytest

from tools.console import commands as C
from console_browser import Console, ROOT


def test_commands_are_built_from_checked_values_only():
    assert C.expression("set_flow", {"lpm": 3.5}) == "rig.set_flow(3.5)"
    assert C.expression("limit", {"name": "p3_warn_dmmhg", "value": 3500, "confirm": True}) == \
        "(rig.gas_limit if 'p3_warn_dmmhg' in rig.gas_limits() else rig.limit)" \
        "('p3_warn_dmmhg', 3500, confirm=True)"
    assert C.expression("mode", {"name": "rpm"}) == "rig.mode('rpm')"
    # a browser's text never reaches the REPL
    for action, args in (("set_flow", {"lpm": "3); import os"}), ("set_flow", {"lpm": True}),
                         ("set_flow", {"lpm": float("nan")}), ("set_flow", {}),
                         ("limit", {"name": "x'); rig.halt(); ('", "value": 1}),
                         ("limit", {"name": "p3_warn_dmmhg", "value": 1, "confirm": "yes"}),
                         ("mode", {"name": "flow')#"}), ("halt", {}), ("__import__", {}),
                         ("set_flow", "3.5")):
        with pytest.raises(C.Refused):
            C.expression(action, args)
    # the simulated bench's hands only with --sim
    with pytest.raises(C.Refused):
        C.expression("sim_bubble", {"volume_ul": 50})
    assert C.expression("sim_bubble", {"volume_ul": 50}, sim=True) == "world.plant.bubble(50)"
    assert C.needs_confirm("p3_warn_dmmhg=3500 is looser than the VA default 3000; pass confirm=True")
    assert not C.needs_confirm("flow_lpm must be a number in [0, 8.0], got 99")


def test_serving_beyond_this_machine_needs_the_flag():
    p = subprocess.run([sys.executable, "-m", "tools.cli", "console", "--sim", "--host", "0.0.0.0"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "refusing to serve on 0.0.0.0 without --allow-remote" in p.stderr
    assert "Traceback" not in p.stderr


def _ws_url(url):
    return "ws://" + url.split("://", 1)[1] + "ws"


def _ask(ws, msg, timeout=10):
    ws.send(json.dumps(msg))
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        m = json.loads(ws.recv(timeout=timeout))
        if m.get("type") == "reply" and m.get("id") == msg["id"]:
            return m
    raise AssertionError("no reply to %r" % msg)


def test_h22_control_from_another_interface_needs_the_token(tmp_path):
    from websockets.sync.client import connect
    token = "bench-token-123"
    c = Console(["--sim", "--csv", "", "--host", "0.0.0.0", "--allow-remote", "--token", token],
                tmp_path)
    try:
        assert c.token_line and token in c.token_line
        url = _ws_url(c.url.replace("0.0.0.0", "127.0.0.1"))
        with connect(url) as ws:
            hello = json.loads(ws.recv(timeout=10))
            assert hello["type"] == "hello" and hello["token_needed"] is True
            # viewing stays open: rows arrive without the token
            t_end = time.monotonic() + 15
            while json.loads(ws.recv(timeout=10))["type"] != "row":
                assert time.monotonic() < t_end
            for n, tok in enumerate((None, "", "bench-token-12", token + "x")):
                msg = {"type": "cmd", "id": n + 1, "action": "run", "args": {}}
                if tok is not None:
                    msg["token"] = tok
                r = _ask(ws, msg)
                assert r["ok"] is False and "needs its token" in r["message"], r
            r = _ask(ws, {"type": "cmd", "id": 9, "action": "set_rpm", "args": {"rpm": 2100},
                          "token": token})
            assert r["ok"] is True, r
            # the refused "run" never reached the rig: it is still in standby
            t_end = time.monotonic() + 5
            while True:
                m = json.loads(ws.recv(timeout=10))
                if m["type"] == "row":
                    assert m["row"]["state"] == "standby"
                    break
                assert time.monotonic() < t_end
    finally:
        c.stop()


def test_h22_a_page_from_another_site_cannot_connect(tmp_path):
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidStatus
    c = Console(["--port", str(tmp_path / "no-such-port"), "--csv", ""], tmp_path)
    try:
        url = _ws_url(c.url)
        with pytest.raises(InvalidStatus):
            with connect(url, origin="http://example.invalid"):
                pass
        with connect(url, origin=c.url.rstrip("/")) as ws:     # the console's own page
            hello = json.loads(ws.recv(timeout=10))
            assert hello["type"] == "hello"
            # no rig behind the port: the console says so instead of failing
            while True:
                m = json.loads(ws.recv(timeout=10))
                if m["type"] == "beat":
                    assert m["fresh"] is False and m["connected"] is False
                    assert "no-such-port" in m["error"]
                    break
            r = _ask(ws, {"type": "cmd", "id": 1, "action": "ack", "args": {}})
            assert r["ok"] is False and "no link to the rig" in r["message"]
    finally:
        c.stop()


def test_every_scenario_verb_is_played_or_said_to_be_left_out():
    from tools.console import playback as P
    from tools.sim import scenario as S
    left_out = {"repl", "reset", "power_cycle", "blood_temp"}
    samples = {"set_flow": {"lpm": 3.5}, "set_rpm": {"rpm": 2500}, "set_control": {"control": "flow"},
               "set_p1": {"mmhg": -40}, "set_heart": {"lpm": 4.5},
               "bubble": {"volume_ul": 50}, "sensor_fault": {"sensor": "p1", "kind": "open"},
               "sensor_ok": {"sensor": "p1"}, "volume_loss": {"ml": 300}, "volume_gain": {"ml": 300},
               "clot": {"factor": 3}, "occlusion": {"line": "venous", "fraction": 0.5},
               "set_sweep": {"lpm": 2}, "set_fio2": {"fio2": 0.6}, "gas_fault": {"kind": "none"},
               "membrane_failure": {"fraction": 0.5}, "set_heater": {"temp_c": 37}}
    for verb in list(S.VERBS) + list(S.GAS_VERBS):
        e = dict(samples.get(verb, {}), t=1.0, do=verb)
        ex = P.expressions(e)
        assert bool(ex) != (verb in left_out), verb
    assert P.expressions({"t": 1, "do": "bubble", "volume_ul": 50}) == ["world.plant.bubble(50, 0.0)"]
    assert P.expressions({"t": 1, "do": "set_control", "control": "flow"}) == ['rig.mode("flow")']
    assert P.setup({"profile": "VA", "control": "rpm", "flow_lpm": 3.0, "rpm": 2000, "run": True},
                   "VA") == ['rig.mode("rpm")', "rig.set_flow(3.0)", "rig.set_rpm(2000)", "rig.run()"]


def test_a_scenario_plays_on_the_live_simulated_rig(tmp_path):
    from websockets.sync.client import connect
    sc = tmp_path / "short.json"
    sc.write_text(json.dumps({"name": "short", "duration_s": 3, "control": "rpm", "rpm": 2200,
                              "events": [{"t": 0.5, "do": "set_rpm", "rpm": 2600},
                                         {"t": 0.6, "do": "restart"},
                                         {"t": 0.7, "do": "reset"}]}))
    rec = tmp_path / "rec" / "telemetry.csv"
    c = Console(["--sim", "--csv", str(rec), "--scenario", str(sc)], tmp_path)
    try:
        seen = []
        state = None
        with connect(_ws_url(c.url)) as ws:
            t_end = time.monotonic() + 30
            while time.monotonic() < t_end and not any("ends" in s for s in seen):
                m = json.loads(ws.recv(timeout=10))
                if m["type"] == "event":
                    seen.append(m["text"])
                elif m["type"] == "row":
                    state = m["row"]["state"]
        assert any(s.startswith("t=0.5 set_rpm(rpm=2600)") and "refused" not in s for s in seen), seen
        refused = [s for s in seen if s.startswith("t=0.6 restart")]
        assert refused and "refused: nothing to restart: state is run" in refused[0], seen
        assert state == "run"                       # the setup started the pump
        assert "scenario verb 'reset' is not played" in c.text()
    finally:
        c.stop()
    # the recording is the monitor's CSV: `ecmo plot` reads it, the board named in its header
    from tools.sim import plot
    rows, meta = plot.read(str(rec))
    assert meta["board"] == "pico" and meta["port"].startswith("/dev/")
    assert "wall_utc" in rows[0] and max(float(r["rpm"]) for r in rows) > 2000
    # and an existing recording is not overwritten
    p = subprocess.run([sys.executable, "-m", "tools.cli", "console", "--sim", "--csv", str(rec)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "exists: not overwriting it" in p.stderr


def test_the_console_takes_up_a_rig_that_was_reset(tmp_path):
    # a watchdog or planned reset gives the rig a new REPL namespace and its saved telemetry
    # rate: the console types its helpers again and the page's numbers come back
    import serial
    from websockets.sync.client import connect
    from tools.rigpty import READY
    log = open(tmp_path / "rig.log", "w+")
    rig = subprocess.Popen([sys.executable, "-m", "tools.rigpty"], cwd=ROOT, stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    c = None
    try:
        path = None
        t_end = time.monotonic() + 30
        while path is None and time.monotonic() < t_end:
            log.seek(0)
            for line in log.read().splitlines():
                if line.startswith(READY):
                    path = line[len(READY):].strip()
            time.sleep(0.05)
        assert path, "the simulated rig did not start"
        c = Console(["--port", path, "--csv", ""], tmp_path)
        with connect(_ws_url(c.url)) as ws:
            def rows_after(t0, timeout):
                t_end = time.monotonic() + timeout
                while time.monotonic() < t_end:
                    m = json.loads(ws.recv(timeout=timeout))
                    if m["type"] == "row" and time.monotonic() > t0:
                        return m["row"]
                return None
            assert rows_after(0, 15)
            with serial.Serial(path, 115200, timeout=0) as s:   # a second hand on the port
                s.write(b"rig.reboot()\r\n")
            t_reset = time.monotonic()
            # rows stop for a while (the simulated board follows the wall clock: under load its
            # reboot takes longer to show)
            while json.loads(ws.recv(timeout=30)).get("fresh", True):
                assert time.monotonic() - t_reset < 30, "rows never stopped: no reset happened"
            assert rows_after(time.monotonic(), 20), "no rows after the reset"
            r = _ask(ws, {"type": "cmd", "id": 5, "action": "ack", "args": {}})
            assert r["ok"] is True, r
    finally:
        if c is not None:
            c.stop()
        rig.terminate()
        rig.wait(10)
        log.close()
