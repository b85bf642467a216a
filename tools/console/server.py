# `ecmo console`: the web page of the bench console, served by the process that owns the serial
# link (Starlette on uvicorn; browsers talk over one websocket each). Safe by default: it listens
# on 127.0.0.1 only; another interface needs --allow-remote, and then every control action needs
# the token printed at start (viewing stays open). uPlot comes from node_modules (npm ci), served
# from here: the page needs no internet.
import argparse
import asyncio
import ipaddress
import json
import os
import secrets
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
UPLOT = os.path.join(ROOT, "node_modules", "uplot", "dist")
QUEUE_MAX = 2000          # messages waiting for one slow browser before it is dropped


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.q = asyncio.Queue()
        self.gone = False

    def queue_text(self, text):
        if self.q.qsize() > QUEUE_MAX:
            self.gone = True          # a tab that stopped reading: let it reconnect fresh
            return
        self.q.put_nowait(text)

    async def pump(self):
        try:
            while not self.gone:
                await self.ws.send_text(await self.q.get())
        except Exception:             # the browser went away mid-send: the reader ends it
            self.gone = True


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_origin(ws):
    # A page from another site open in the same browser must not drive the rig through this
    # port: browsers send Origin on websockets; it must name this server.
    origin = ws.headers.get("origin")
    if origin is None:
        return True                   # not a browser (a script on this machine)
    host = ws.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def make_app(hub):
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    async def index(_request):
        return FileResponse(os.path.join(STATIC, "index.html"),
                            headers={"Cache-Control": "no-store"})

    async def uplot_missing(_request):
        return PlainTextResponse("uPlot is not installed: run `npm ci` in %s" % ROOT, 404)

    async def ws_endpoint(ws):
        if not _same_origin(ws):
            await ws.close(code=1008)
            return
        await ws.accept()
        c = Client(ws)
        hub.clients.add(c)
        c.queue_text(json.dumps(hub.hello()))
        c.queue_text(json.dumps(hub._state_msg()))
        sender = asyncio.create_task(c.pump())
        try:
            while not c.gone:
                text = await ws.receive_text()
                try:
                    msg = json.loads(text)
                except ValueError:
                    continue
                if isinstance(msg, dict) and msg.get("type") == "cmd":
                    # each command on its own: a slow reply never holds up the next one
                    t = asyncio.create_task(_answer(c, msg))
                    answering.add(t)
                    t.add_done_callback(answering.discard)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.clients.discard(c)
            sender.cancel()

    answering = set()                 # running command tasks, kept until done

    async def _answer(c, msg):
        reply = await hub.command(msg)
        c.queue_text(json.dumps(reply))

    routes = [Route("/", index), Mount("/static", StaticFiles(directory=STATIC)),
              WebSocketRoute("/ws", ws_endpoint)]
    if os.path.isdir(UPLOT):
        routes.append(Mount("/vendor/uplot", StaticFiles(directory=UPLOT)))
    else:
        routes.append(Route("/vendor/uplot/{path:path}", uplot_missing))
    return Starlette(routes=routes)


async def serve(a, port_path, sim_proc=None, sim=False, out=sys.stdout):
    # sim_proc: the child rig (simulated or emulated) to watch; sim: its REPL has `world`
    import uvicorn
    from tools.console.link import Link
    from tools.console.hub import Hub

    token = None
    if not _loopback(a.host):
        token = a.token or secrets.token_urlsafe(12)
    link = Link(port_path, a.baud, a.rate, a.csv)
    hub = Hub(link, token, sim=sim,
              info={"port": port_path, "csv": a.csv, "sim": sim,
                    "kind": "simulated rig" if sim else "emulated Pico" if a.emu else "board"})
    await hub.start()
    if a.scenario_data is not None:
        from tools.console import playback
        hub._tasks.append(asyncio.create_task(playback.play(hub, a.scenario_data, out)))
    import signal
    me = asyncio.current_task()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, me.cancel)
    cfg = uvicorn.Config(make_app(hub), host=a.host, port=a.http_port, log_level="warning",
                         ws="websockets-sansio", lifespan="off")
    server = uvicorn.Server(cfg)
    server.install_signal_handlers = lambda: None     # Ctrl-C / SIGTERM: handled by main()
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()        # raises why it could not start (port in use)
                raise SystemExit("console: the web server did not start (port %d)" % a.http_port)
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        shown = "[%s]" % a.host if ":" in a.host else a.host
        url = "http://%s:%d/" % (shown, port)
        out.write("ecmo console on %s  (rig: %s)\n" % (url, port_path))
        if token:
            out.write("  control needs the token: open %s#token=%s\n" % (url, token))
        if a.csv:
            out.write("  telemetry -> %s\n" % a.csv)
        out.flush()
        while not task.done():
            if sim_proc is not None and sim_proc.poll() is not None:
                # the simulated rig is gone: the page shows NO DATA; say it here too once
                out.write("console: the %s exited (rc=%s)\n"
                          % ("simulated rig" if sim else "emulated Pico", sim_proc.returncode))
                out.flush()
                sim_proc = None
            await asyncio.sleep(0.2)
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 3)
        except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
            pass
        await hub.stop()


def _default_csv():
    return os.path.join("out", "console", time.strftime("telemetry-%Y%m%d-%H%M%S.csv"))


def parser():
    ap = argparse.ArgumentParser(prog="ecmo console", description=(
        "the bench console: a local web page with the rig's live numbers, alarms and trends"))
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", help="serial port of the rig (a board, or `make rig`'s pty)")
    g.add_argument("--sim", action="store_true", help="start the simulated rig and show it")
    g.add_argument("--emu", action="store_true",
                   help="start the emulated Pico (tools/emu; needs ECMO_RP2_FIRMWARE) and show it")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--rate", type=int, default=10, help="telemetry rows/s asked of the rig")
    ap.add_argument("--csv", help="record telemetry rows here (default out/console/telemetry-"
                                  "<time>.csv; '' for none)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    ap.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ap.add_argument("--allow-remote", action="store_true",
                    help="allow a --host beyond this machine; control then needs the token")
    ap.add_argument("--token", help="the control token with --allow-remote (default: random)")
    ap.add_argument("--http-port", type=int, default=8018, help="web port (0: any free one)")
    ap.add_argument("--board", choices=("pico", "esp32"), default="pico", help="--sim: board")
    ap.add_argument("--profile", choices=("VA", "VV"), default="VA", help="--sim: circuit")
    ap.add_argument("--seed", type=int, default=1, help="--sim: sensor noise seed")
    ap.add_argument("--scenario", help="--sim: play this scenario (examples/*.json) on the live "
                                       "rig in real time; its board, profile and seed apply")
    return ap


def main(argv=None):
    a = parser().parse_args(argv)
    if not _loopback(a.host) and not a.allow_remote:
        raise SystemExit("console: refusing to serve on %s without --allow-remote (anyone who "
                         "reaches it would see the rig; control would need the token)" % a.host)
    if a.token is not None and len(a.token) < 8:
        raise SystemExit("console: --token must be at least 8 characters")
    if a.csv is None:
        a.csv = _default_csv()
    if a.csv == "":
        a.csv = None
    if a.csv and os.path.exists(a.csv) and not a.overwrite:
        raise SystemExit("console: %s exists: not overwriting it (give another --csv name, or "
                         "--overwrite to replace it)" % a.csv)
    try:
        import starlette, uvicorn  # noqa: F401
    except ImportError:
        raise SystemExit("console: starlette/uvicorn missing: run `make venv`")
    a.scenario_data = None
    if a.scenario:
        if not a.sim:
            raise SystemExit("console: --scenario plays on the simulated rig: add --sim")
        from tools.console import playback
        a.scenario_data = playback.load(a.scenario)
        a.board, a.profile, a.seed = (a.scenario_data[k] for k in ("board", "profile", "seed"))
    from tools.console import simrig
    proc = None
    port = a.port
    try:
        if a.sim:
            proc, port = simrig.start(a.board, a.profile, a.seed)
        elif a.emu:
            proc, port = simrig.start_emu(a.profile, a.seed)
        asyncio.run(serve(a, port, proc, sim=a.sim))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        if proc is not None:
            simrig.stop(proc)
    return 0
