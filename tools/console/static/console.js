// The bench console page. It shows only what the rig reported, relayed by the console process
// over one websocket: telemetry rows (10/s), a beat (5/s) saying whether rows are live, and the
// rig's slower state (limits, log, audio pause). Nothing here is remembered as the rig's state:
// with no live data every number is blanked and NO DATA shows, within 1 s of the last beat.
"use strict";
const $ = (id) => document.getElementById(id);
const SILENT_MS = 700;          // no message this long: the console (or its link) is gone
const TREND_S = 300;
const MARKS = { 3: "!!!", 2: "!!", 1: "!" };
const PRIO_WORD = { 3: "HIGH", 2: "MEDIUM", 1: "LOW" };

let ws = null, lastMsg = 0, lastRow = 0, beat = null, row = null, st = null, prio = {}, hello = null;
let token = (location.hash.match(/token=([^&]+)/) || [])[1] || null;
let nextId = 1, pendingCmd = {}, clockOffset = 0;
const trend = { t: [], cols: {} };
let trendCols = [];
let events = [];
let stateError = null;
let charts = [];

function connect() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onmessage = (e) => { lastMsg = performance.now(); handle(JSON.parse(e.data)); };
  ws.onclose = () => { ws = null; setTimeout(connect, 1000); };
  ws.onerror = () => {};
}

function handle(m) {
  if (m.type === "hello") {
    hello = m;
    trendCols = m.trend_columns;
    trend.t = m.trend.map((r) => r[0]);
    trendCols.forEach((c, i) => { trend.cols[c] = m.trend.map((r) => r[i + 1]); });
    events = m.events.slice();
    row = m.row;
    $("sim-panel").hidden = !m.sim;
    $("token-form").hidden = !m.token_needed || !!token;
    document.querySelectorAll("[data-action^=sim_]").forEach((b) => { b.disabled = !m.sim; });
    info();
  } else if (m.type === "row") {
    row = m.row;
    lastRow = performance.now();
    clockOffset = m.t - Date.now() / 1000;
    trend.t.push(m.t);
    trendCols.forEach((c) => { trend.cols[c].push(num(row[c === "sweep_lpm" ? "sweep_lpm" : c])); });
    trimTrend();
    renderRow();
  } else if (m.type === "beat") {
    beat = m;
    info();
  } else if (m.type === "state") {
    if (m.priorities && Object.keys(m.priorities).length) prio = m.priorities;
    if (m.state) st = m.state;
    stateError = m.error || null;
    renderState();
  } else if (m.type === "event") {
    events.push([m.t, m.text]);
  } else if (m.type === "reply") {
    reply(m);
  }
}

function num(v) { return v === undefined || v === null || v === "" ? null : Number(v); }
// live: the console says rows are fresh, and the page itself heard a row lately (a beat may be
// up to 0.2 s old; the page's own clock does not wait for it)
function live() {
  const now = performance.now();
  const staleMs = hello ? hello.stale_s * 1000 : 500;
  return ws !== null && beat !== null && beat.fresh && now - lastMsg < SILENT_MS &&
         now - lastRow < staleMs;
}
function trimTrend() {
  const t0 = trend.t.length ? trend.t[trend.t.length - 1] - TREND_S : 0;
  let k = 0;
  while (k < trend.t.length && trend.t[k] < t0) k++;
  if (k) { trend.t.splice(0, k); trendCols.forEach((c) => trend.cols[c].splice(0, k)); }
  while (events.length && events[0][0] < t0) events.shift();
}

// ---- rendering ----
function fmt(v, dec) {
  if (v === undefined || v === null) return "---";
  if (v === "") return "FAULT";     // an invalid reading is an empty field in the row
  const x = Number(v);
  if (!isFinite(x)) return "---";
  const t = x.toFixed(dec);
  return /^-0(\.0+)?$/.test(t) ? t.slice(1) : t;     // no "-0" from a reading just below zero
}
function set(id, text) { const e = $(id); if (e.textContent !== text) e.textContent = text; }

function renderRow() {
  const ok = live() && row;
  const r = ok ? row : {};
  set("flow", fmt(r.flow_lpm, 2));
  set("rpm", fmt(r.rpm, 0));
  set("p1", fmt(r.p1_mmhg, 0));
  set("p2", fmt(r.p2_mmhg, 0));
  set("p3", fmt(r.p3_mmhg, 0));
  set("dp", fmt(r.dp_mmhg, 0));
  set("sweep", fmt(r.sweep_lpm, 2));
  set("fio2", r.fio2 === undefined ? "---" : r.fio2 === "" ? "FAULT" : (Number(r.fio2) * 100).toFixed(1));
  set("temp", fmt(r.temp_c, 1));
  set("sat", fmt(r.sat_post_pct, 1));
  const sw = r.sweep_setpoint_lpm;
  set("sweep-sp", "setpoint " + (sw ? Number(sw).toFixed(2) + " L/min" : "---"));
  const stateName = r.state || "---";
  const ps = $("pump-state");
  const words = { run: "PUMP RUNNING", standby: "PUMP STANDBY", stop: "PUMP STOPPED" };
  set("pump-state", ok ? (words[stateName] || stateName.toUpperCase()) : "---");
  ps.className = "pump-state " + (ok ? stateName : "");
  set("mode", ok ? (r.control === "flow" ? "flow (L/min)" : "speed (RPM)") : "---");
  set("profile", ok ? r.profile : "---");
  set("clamp", ok ? (r.clamp_closed === "1" ? "CLOSED" : "open") : "---");
  set("bubble", ok ? (r.bubble === "1" ? "AIR NOW" : "no air now") : "---");
  if (ok && r.control === "flow" && r.flow_setpoint_lpm) {
    set("flow-sp", "setpoint " + Number(r.flow_setpoint_lpm).toFixed(2) + " L/min");
  } else if (ok && st && r.control === "flow") {
    set("flow-sp", "setpoint " + Number(st.flow_target_lpm).toFixed(2) + " L/min");
  } else {
    set("flow-sp", ok && st ? "flow setpoint " + Number(st.flow_target_lpm).toFixed(2) + " L/min (not in use)" : "setpoint ---");
  }
  set("rpm-sp", ok && st ? (r.control === "rpm" ? "setpoint " : "RPM setpoint (not in use) ") + st.rpm_target + " RPM" : "setpoint ---");
  renderPressureFlags(ok ? r : null);
  renderAlarms(ok ? r : null);
}

function limits() { return st && st.limits ? st.limits : null; }

function flagCell(cell, flag, level, text) {
  $(cell).classList.toggle("warn", level === "warn");
  $(cell).classList.toggle("crit", level === "crit");
  set(flag, text);
}

function renderPressureFlags(r) {
  const L = r ? limits() : null;       // no live data: no limits shown either
  const mm = (d) => (d / 10).toFixed(0);
  if (!L) {
    for (const [id, t] of [["p1-lim", "limits ---"], ["p3-lim", "limits ---"], ["dp-lim", "limit ---"],
                           ["temp-lim", "limits ---"], ["sat-lim", "low limit ---"]]) set(id, t);
  } else {
    set("p1-lim", "warn " + mm(L.p1_warn_dmmhg) + " / crit " + mm(L.p1_crit_dmmhg) + " mmHg");
    set("p3-lim", "warn " + mm(L.p3_warn_dmmhg) + " / crit " + mm(L.p3_crit_dmmhg) + " mmHg");
    set("dp-lim", "max " + mm(L.dp_max_dmmhg) + " mmHg, rise " + L.dp_rise_pct + " %/min");
    set("temp-lim", "limits " + (L.temp_low_cdegc / 100).toFixed(1) + " - " + (L.temp_high_cdegc / 100).toFixed(1) + " \u00b0C");
    set("sat-lim", "low limit " + (L.sat_post_low_dpct / 10).toFixed(1) + " %");
  }
  const none = (c, f) => flagCell(c, f, null, "");
  if (!r || !L) { ["p1", "p2", "p3", "dp"].forEach((k) => none("cell-" + k, k + "-flag")); return; }
  const d = (v) => (v === "" || v === undefined ? null : Number(v) * 10);
  const p1 = d(r.p1_mmhg), p3 = d(r.p3_mmhg), dp = d(r.dp_mmhg);
  for (const [k, v] of [["p1", p1], ["p2", d(r.p2_mmhg)], ["p3", p3], ["dp", dp]]) {
    if (v === null) flagCell("cell-" + k, k + "-flag", "warn", "SENSOR INVALID");
    else none("cell-" + k, k + "-flag");
  }
  if (p1 !== null && p1 <= L.p1_crit_dmmhg) flagCell("cell-p1", "p1-flag", "crit", "BEYOND CRIT (suction)");
  else if (p1 !== null && p1 <= L.p1_warn_dmmhg) flagCell("cell-p1", "p1-flag", "warn", "BEYOND WARN (suction)");
  if (p3 !== null && p3 >= L.p3_crit_dmmhg) flagCell("cell-p3", "p3-flag", "crit", "BEYOND CRIT");
  else if (p3 !== null && p3 >= L.p3_warn_dmmhg) flagCell("cell-p3", "p3-flag", "warn", "BEYOND WARN");
  if (dp !== null && dp >= L.dp_max_dmmhg) flagCell("cell-dp", "dp-flag", "crit", "ABOVE MAX");
}

function renderAlarms(r) {
  const bar = $("alarm-bar"), list = $("alarm-list");
  if (!r) {
    bar.className = "alarm-bar prio-none";
    list.dataset.key = "";          // rebuilt from the next live row, whatever it holds
    set("alarm-list", "ALARMS UNKNOWN: NO DATA");
    set("audio-state", "AUDIO ---");
    return;
  }
  const codes = (r.alarms || "").split("|").filter((c) => c);
  codes.sort((a, b) => (prio[b] || 0) - (prio[a] || 0));
  const top = codes.length ? Math.max(...codes.map((c) => prio[c] || 2)) : 0;
  bar.className = "alarm-bar " + (top ? "prio-" + top : "prio-none");
  bar.dataset.top = top ? PRIO_WORD[top] : "none";
  const acked = st && st.acked ? st.acked : [];
  const key = codes.join(",") + "/" + acked.join(",");
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.textContent = "";
    if (!codes.length) list.textContent = "no alarm";
    for (const c of codes) {
      const chip = document.createElement("span");
      const p = prio[c] || 2;
      chip.className = "alarm-chip p" + p;
      chip.dataset.code = c;
      chip.textContent = MARKS[p] + " " + c + " ";
      const s = document.createElement("span");
      s.className = "acked";
      s.textContent = PRIO_WORD[p] + (acked.includes(c) ? ", acknowledged" : "");
      chip.appendChild(s);
      list.appendChild(chip);
    }
  }
  let audio = "AUDIO OFF (no alarm)";
  if (st && st.paused) {
    const s = Math.round(st.pause_left_ms / 1000);
    audio = "AUDIO PAUSED " + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  } else if (codes.length) {
    audio = "AUDIO ON";
  }
  set("audio-state", audio);
}

function renderState() {
  if (!st) return;
  const b = $("blind");
  const blind = live() ? st.blind : null;
  set("blind", blind === null ? "---" : blind.length ? "BLIND: " + blind.join(", ") : "none");
  b.classList.toggle("some", !!(blind && blind.length));
  set("fio2-sp", live() && st.fio2_target !== undefined && st.fio2_target !== null ? "target " + (st.fio2_target * 100).toFixed(0) + " %" : "target ---");
  $("alarm-log").classList.toggle("stale", !live());
  // the limit picker: the rig's own list
  const sel = $("in-limit-name");
  const names = Object.keys(st.limits || {}).sort();
  if (sel.options.length !== names.length) {
    sel.textContent = "";
    for (const n of names) { const o = document.createElement("option"); o.value = o.textContent = n; sel.appendChild(o); }
    sel.value = names.includes("p3_warn_dmmhg") ? "p3_warn_dmmhg" : names[0];
  }
  if (st.limits && sel.value in st.limits) set("limit-now", "now " + st.limits[sel.value] + " (firmware units: 0.1 mmHg, mL/min, RPM, ...)");
  // alarm log, newest first, times relative to the rig's clock
  const tb = $("alarm-log").tBodies[0];
  const rows = (st.log || []).slice().reverse();
  const key = JSON.stringify(rows);
  if (tb.dataset.key !== key) {
    tb.dataset.key = key;
    tb.textContent = "";
    for (const [t, name, kind] of rows) {
      const tr = document.createElement("tr");
      const ago = ((st.now_ms - t) / 1000);
      for (const text of ["-" + ago.toFixed(0) + " s", (MARKS[prio[name]] || "") + " " + name, kind]) {
        const td = document.createElement("td"); td.textContent = text; tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
  }
  renderRow();
}

function info() {
  const parts = [];
  if (hello) parts.push(hello.info.kind + " on " + hello.info.port);
  if (beat) parts.push(beat.rows + " rows");
  if (hello && hello.info.csv) parts.push("CSV " + hello.info.csv);
  if (hello && hello.token_needed) parts.push(token ? "control token given" : "control needs the token (#token=...)");
  if (stateError) parts.push("rig state query failed: " + stateError);
  set("link-info", parts.join(" \u00b7 "));
}

// NO DATA: checked ten times a second, from the page's own clock
let wasLive = false;
function watchdog() {
  const ok = live();
  document.body.classList.toggle("nodata", !ok);
  if (ok !== wasLive) {
    wasLive = ok;
    renderRow();            // the banner and the numbers change together
    renderState();
    if (charts.length) fitCharts();     // the banner took or gave back room
  }
  if (!ok) {
    let why = "connecting to the console...";
    if (ws === null) why = "no connection to the console process";
    else if (performance.now() - lastMsg >= SILENT_MS) why = "the console stopped answering";
    else if (beat && !beat.connected) why = "serial link lost: " + (beat.error || "?");
    else if (lastRow) why = "no telemetry for " + ((performance.now() - lastRow) / 1000).toFixed(1) + " s";
    else if (beat) why = "waiting for the first telemetry row";
    set("nodata-why", why);
    renderRow();
    renderState();
  }
}

// ---- control ----
function send(action, args) {
  if (!ws || ws.readyState !== 1) { reply({ ok: false, message: "not connected to the console" }); return; }
  const id = nextId++;
  pendingCmd[id] = { action, args };
  const m = { type: "cmd", id, action, args };
  if (token) m.token = token;
  ws.send(JSON.stringify(m));
  const r = $("reply");
  r.className = "reply";
  r.textContent = "sent " + action + " ...";
}

function reply(m) {
  const r = $("reply");
  const asked = pendingCmd[m.id];
  delete pendingCmd[m.id];
  r.className = "reply " + (m.ok ? "ok" : "refused");
  r.textContent = m.ok ? "rig: " + m.message : "REFUSED: " + m.message;
  if (!m.ok && m.needs_confirm && asked) {
    $("confirm-msg").textContent = m.message;
    const d = $("confirm");
    d.dataset.action = asked.action;
    d.dataset.args = JSON.stringify(asked.args);
    d.showModal();
  }
}

function parseArg(s) {
  const [k, v] = s.split("=");
  return [k, v === "true" ? true : v === "false" ? false : Number(v)];
}

function wire() {
  document.querySelectorAll("button[data-action]").forEach((b) => {
    b.addEventListener("click", () => {
      const args = {};
      if (b.dataset.name) args.name = b.dataset.name;
      if (b.dataset.arg) { const [k, v] = parseArg(b.dataset.arg); args[k] = v; }
      send(b.dataset.action, args);
    });
  });
  document.querySelectorAll("form[data-action]").forEach((f) => {
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = f.querySelector("input").value;
      send(f.dataset.action, { [f.dataset.key]: v === "" ? null : Number(v) });
    });
  });
  $("limit-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("in-limit-value").value;
    send("limit", { name: $("in-limit-name").value, value: v === "" ? null : Number(v), confirm: false });
  });
  $("in-limit-name").addEventListener("change", renderState);
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("in-token").value || null;      // kept in this page only, sent with each command
    $("in-token").value = "";
    $("token-form").hidden = !!token;
    info();
  });
  $("confirm-yes").addEventListener("click", () => {
    const d = $("confirm");
    const args = JSON.parse(d.dataset.args);
    args.confirm = true;
    d.close();
    send(d.dataset.action, args);
  });
  $("confirm-no").addEventListener("click", () => { $("confirm").close(); $("reply").textContent = "not changed (not confirmed)"; });
}

// ---- trends ----
function eventsPlugin(labels) {
  return { hooks: { draw: [(u) => {
    const ctx = u.ctx, [lo, hi] = [u.scales.x.min, u.scales.x.max];
    ctx.save();
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.font = (12 * devicePixelRatio) + "px sans-serif";
    let lastX = -1e9;
    for (const [t, text] of events) {
      if (t < lo || t > hi) continue;
      const x = u.valToPos(t, "x", true);
      const alarm = text.startsWith("alarm");
      ctx.strokeStyle = alarm ? "#ff5a5f" : "#c0c8d0";
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
      if (labels && x > lastX) {
        const label = text.slice(0, 24);
        ctx.fillStyle = ctx.strokeStyle;
        ctx.fillText(label, x + 3, u.bbox.top + 12 * devicePixelRatio);
        lastX = x + ctx.measureText(label).width + 8;    // the next label where this one ends
      }
    }
    ctx.restore();
  }] } };
}

function makeCharts() {
  if (typeof uPlot === "undefined") { $("chart-missing").hidden = false; return; }
  const w = $("chart-flow").clientWidth || 900;
  const axisStyle = { stroke: "#9aa5b1", grid: { stroke: "#2b3440" }, ticks: { stroke: "#2b3440" } };
  // the last 5 minutes, or since the first row when there is less (at least 30 s shown)
  const x = { time: true, range: () => {
    const n = nowS();
    const t0 = trend.t.length ? trend.t[0] : n - TREND_S;
    return [Math.max(n - TREND_S, Math.min(t0, n - 30)), n];
  } };
  // time axis on the last chart only: the three share it
  const mk = (el, series, unit, labels, showX) => new uPlot({
    width: w, height: showX ? 135 : 95, plugins: [eventsPlugin(labels)], legend: { show: true, live: false },
    padding: [10, 32, showX ? null : 2, null],     // the same plot width in all three
    scales: { x },
    axes: [Object.assign({ show: showX }, axisStyle), Object.assign({ label: unit, size: 60 }, axisStyle)],
    series: [{}].concat(series),
  }, [[]].concat(series.map(() => [])), $(el));
  charts = [
    [mk("chart-flow", [{ label: "flow L/min", stroke: "#2fbf5b", width: 2 },
                       { label: "sweep L/min", stroke: "#19c3d6", width: 2, dash: [8, 4] }], "L/min", true, false),
     ["flow_lpm", "sweep_lpm"]],
    [mk("chart-rpm", [{ label: "pump RPM", stroke: "#f2f4f6", width: 2 }], "RPM", false, false), ["rpm"]],
    [mk("chart-p", [{ label: "P1 mmHg", stroke: "#f2c100", width: 2 },
                    { label: "P2 mmHg", stroke: "#e07bff", width: 2, dash: [2, 3] },
                    { label: "P3 mmHg", stroke: "#ff8a3d", width: 2, dash: [8, 4] },
                    { label: "dP mmHg", stroke: "#8fd0ff", width: 2, dash: [12, 3, 2, 3] }], "mmHg", false, true),
     ["p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg"]],
  ];
  fitCharts();
  window.addEventListener("resize", fitCharts);
}

// the trends take the height left on the screen (larger lines read better from afar)
function fitCharts() {
  const w = $("chart-flow").clientWidth;
  const top = $("chart-flow").getBoundingClientRect().top + window.scrollY;
  const room = window.innerHeight - top - 3 * 34 - 50 - 16;     // legends, time axis, margin
  const h = Math.max(80, Math.min(240, Math.floor(room / 3)));
  charts.forEach(([u], i) => u.setSize({ width: w, height: i === charts.length - 1 ? h + 40 : h }));
}

function nowS() { return Date.now() / 1000 + clockOffset; }

function drawCharts() {
  for (const [u, cols] of charts) {
    if (!trendCols.length) continue;
    u.setData([trend.t].concat(cols.map((c) => trend.cols[c] || [])));
  }
}

wire();
makeCharts();
connect();
setInterval(watchdog, 100);
setInterval(drawCharts, 250);
