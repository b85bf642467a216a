// One emulated RP2040 (rp2040js) running the MicroPython image, driven in lockstep by a host
// process over stdin/stdout (one JSON object per line; tools/emu/link.py is the other end).
// What the stock emulator lacks and this adds (see docs/emulator.md):
//  - flash erase/program: the boot ROM's flash_range_erase / flash_range_program are done here
//    on the flash array (NOR: erase sets 0xFF, program ANDs), so littlefs mounts and files land;
//  - USB CDC: the host answers a poll of the OUT endpoint only when it has bytes (a real host
//    NAKs), and host bytes are queued without limit instead of dropped at 512;
//  - cycle time from the emulated clk_sys, not a fixed 8 ns;
//  - a watchdog reset (timeout or machine.reset()) restarts the chip with flash, the watchdog's
//    scratch registers and its reason kept, as silicon does;
//  - I2C transactions go to the host's device models; each byte takes its wire time at the
//    bus's configured SCL rate (9 bit times), which the emulator otherwise leaves out.
// Host -> chip: {op:"pin",n,v} (v 0/1, or null: released to its pull), {op:"adc",ch,v} (12 bit),
// {op:"cdc",d:hex}, {op:"run",until_us}, {op:"reset",kind:"wdt"|"power"}, {op:"quit"}. Chip -> host during a run:
// {ev:"i2c",bus,addr,rd} (answered with {ack,data:hex,delay_us}), {ev:"i2cw",bus,addr,d:hex};
// at the end {ev:"done",t_us,out:{pin:level},pwm:{pin:duty_u16|null},cdc:hex,edges,resets}.
import fs from 'fs';
import { RP2040, USBCDC, I2CMode } from 'rp2040js';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const FIRMWARE = args.firmware;
const BOOTROM = args.bootrom;
const FLASH_FILE = args.flash || null;          // keeps the whole flash between runs when given
const WATCH = (args.watch || '').split(',').filter((s) => s).map(Number);     // output pins
const PWM_PINS = (args.pwm || '').split(',').filter((s) => s).map(Number);
const WIRE = args.wire !== '0';
// wires between pins, 'out:in,...': the first pin's output level drives the second's input at
// the cycle it changes (the conformance suite drives its own edges: host_tests/fw/conform.py)
const LOOPS = (args.loop || '').split(',').filter((s) => s).map((p) => p.split(':').map(Number));                 // I2C wire time on (default)
let PROFILE = args.profile ? Number(args.profile) : 0;     // sample the PC every N cycles

// ---------------------------------------------------------------- host link (synchronous)
let inBuf = Buffer.alloc(0);
const chunk = Buffer.alloc(65536);
function readLine() {
  for (;;) {
    const i = inBuf.indexOf(10);
    if (i >= 0) {
      const line = inBuf.subarray(0, i).toString();
      inBuf = inBuf.subarray(i + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') return null;
      throw e;
    }
    if (n === 0) return null;
    inBuf = Buffer.concat([inBuf, chunk.subarray(0, n)]);
  }
}
function send(obj) {
  const s = JSON.stringify(obj) + '\n';
  let off = 0;
  const b = Buffer.from(s);
  while (off < b.length) {
    try {
      off += fs.writeSync(1, b, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}
function ask(obj) {
  send(obj);
  const line = readLine();
  if (line === null) process.exit(0);
  return JSON.parse(line);
}
const hex = (a) => Buffer.from(a).toString('hex');

// ---------------------------------------------------------------- images
const rom = fs.readFileSync(BOOTROM);
if (rom.length !== 16384) throw new Error(`boot ROM ${BOOTROM}: ${rom.length} bytes, want 16384`);
const romWords = new Uint32Array(rom.buffer.slice(rom.byteOffset, rom.byteOffset + rom.length));
const image = fs.readFileSync(FIRMWARE);
let flash = null;           // the flash array, carried across chip restarts
if (FLASH_FILE && fs.existsSync(FLASH_FILE)) flash = new Uint8Array(fs.readFileSync(FLASH_FILE));

function romFunc(code) {
  // the boot ROM's function table: a 16-bit pointer at 0x14 to (code, address) halfword pairs
  const half = (a) => rom[a] | (rom[a + 1] << 8);
  let p = half(0x14);
  for (;;) {
    const c = half(p);
    if (c === 0) throw new Error('boot ROM function not found');
    if (c === code) return half(p + 2) & ~1;
    p += 4;
  }
}
const RE = romFunc(0x52 | (0x45 << 8));   // 'R','E': flash_range_erase(offset, count, ...)
const RP = romFunc(0x52 | (0x50 << 8));   // 'R','P': flash_range_program(offset, data, count)

function imageBytes() {
  // a .uf2 (512-byte blocks with a target address) or a flat .bin for 0x10000000
  if (image.readUInt32LE(0) === 0x0a324655) {
    const out = [];
    for (let o = 0; o + 512 <= image.length; o += 512) {
      const addr = image.readUInt32LE(o + 12) - 0x10000000;
      const len = image.readUInt32LE(o + 16);
      out.push([addr, image.subarray(o + 32, o + 32 + len)]);
    }
    return out;
  }
  return [[0, image]];
}

// ---------------------------------------------------------------- the chip
let mcu, core, cdc, cycleNs = 8, baseNs = 0, resetPending = null, resets = [];
let hostQueue = [];         // host -> chip bytes not yet taken by the firmware
let pendingRead = -1;       // OUT endpoint polled with nothing to give: answer when bytes come
let outBytes = [];          // chip -> host bytes since the last report
let edges = [];             // [pin, level, t_us, cycles] of watched outputs
let cycles = 0;             // cycles executed since the harness started (all restarts)
const driven = {};          // pin -> last level the host drove (kept across restarts)
const adcValues = [0, 0, 0, 0, 0];
const profile = new Map();
let profileNext = PROFILE;

const quietLogger = {
  debug() {},
  info() {},
  warn() {},
  error(component, message) {
    process.stderr.write(`[rp2040js ${component}] ${message}\n`);
  },
};

function nowNs() {
  return baseNs + mcu.clock.nanos;
}

function boot(scratch, reason) {
  mcu = new RP2040();
  mcu.logger = quietLogger;   // stdout is the host link: the emulator's notes go to stderr
  core = mcu.core;
  // Core 1 is not emulated. A soft reset (Ctrl-D, mpremote without `resume`) resets core 1 and
  // waits for its boot ROM to push a 0 into the inter-core FIFO (pico-sdk multicore_reset_core1):
  // answer that (FIFO_ST: valid and ready; FIFO_RD: 0) so the soft reset completes as on silicon
  // instead of hanging until the watchdog. Launching core 1 (_thread) still does not work.
  const sioRead = mcu.sio.readUint32.bind(mcu.sio);
  mcu.sio.readUint32 = (offset) => (offset === 0x50 ? 3 : offset === 0x58 ? 0 : sioRead(offset));
  mcu.loadBootrom(romWords);
  if (flash === null) {
    flash = new Uint8Array(mcu.flash.length).fill(0xff);
  } else if (flash.length < mcu.flash.length) {
    const full = new Uint8Array(mcu.flash.length).fill(0xff);
    full.set(flash);
    flash = full;
  }
  for (const [addr, data] of imageBytes()) flash.set(data, addr);
  mcu.flash.set(flash);
  flash = mcu.flash;         // one array from here on: the chip writes it, restarts keep it
  const wd = mcu.peripherals[0x40058];
  if (scratch) {
    wd.scratchData.set(scratch);
    wd.reason = reason;
  }
  wd.onWatchdogTrigger = () => {
    // rp2040js re-arms the timed-out (decrementing) watchdog's alarm 0 cycles ahead: left on,
    // the clock fires it again at the same instant forever and the emulator hangs. The chip is
    // rebuilt at the restart anyway.
    wd.alarm.enable = false;
    resetPending = { scratch: Uint32Array.from(wd.scratchData), reason: wd.reason };
  };
  mcu.addClockListener((hz) => {
    cycleNs = 1e9 / hz;
  });
  cycleNs = 1e9 / mcu.clkSys;
  setupUsb();
  setupI2c();
  for (const n of WATCH) {
    let last = null;
    mcu.gpio[n].addListener((state) => {
      const v = state === 1 ? 1 : state === 0 ? 0 : null;
      if (v !== last) {
        last = v;
        edges.push([n, v, nowNs() / 1000, cycles]);
      }
    });
  }
  for (const [o, i] of LOOPS) {
    mcu.gpio[o].addListener((state) => {
      if (state === 0 || state === 1) mcu.gpio[i].setInputValue(state === 1);
    });
  }
  for (let ch = 0; ch < 5; ch++) mcu.adc.channelValues[ch] = adcValues[ch];
  for (const n in driven) applyPin(Number(n), driven[n]);
  core.PC = 0x10000000;
}

function restart() {
  const r = resetPending;
  resetPending = null;
  baseNs = nowNs();
  resets.push({ t_us: baseNs / 1000, reason: r.reason });
  hostQueue = [];
  pendingRead = -1;
  boot(r.scratch, r.reason);
}

function setupUsb() {
  cdc = new USBCDC(mcu.usbCtrl);
  const usb = mcu.usbCtrl;
  const stockRead = usb.onEndpointRead;
  usb.onEndpointRead = (ep, size) => {
    if (ep !== cdc.outEndpoint) return stockRead(ep, size);
    if (hostQueue.length === 0) {
      pendingRead = size;    // NAK: hold the poll until the host has bytes
      return;
    }
    giveHost(size);
  };
  cdc.onSerialData = (data) => {
    for (const b of data) outBytes.push(b);
  };
}

function giveHost(size) {
  const n = Math.min(size, hostQueue.length);
  const buf = Uint8Array.from(hostQueue.splice(0, n));
  pendingRead = -1;
  mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, buf);
}

function hostBytes(bytes) {
  for (const b of bytes) hostQueue.push(b);
  if (pendingRead >= 0 && cdc.initialized) giveHost(pendingRead);
}

function later(fn, ns) {
  if (ns <= 0) return fn();
  mcu.clock.createAlarm(fn).schedule(ns);
}

function setupI2c() {
  mcu.i2c.forEach((i2c, bus) => {
    let addr = -1, frame = null, ri = 0, wbuf = null;
    const byteNs = () => {
      if (!WIRE) return 0;
      // the RP2040's I2C block runs from clk_sys (the pico-sdk's i2c_set_baudrate divides
      // clk_sys into the SCL counts), not clk_peri, which MicroPython sets to 48 MHz: divided
      // by clk_peri a byte at 400 kHz took 58.5 us instead of 22.5
      const per = i2c.sclLowPeriod + i2c.sclHighPeriod;
      return per > 0 && mcu.clkSys ? (9 * per * 1e9) / mcu.clkSys : 22500;
    };
    const flush = () => {
      if (wbuf !== null && wbuf.length) send({ ev: 'i2cw', bus, addr, d: hex(wbuf) });
      wbuf = null;
    };
    i2c.onStart = () => {
      flush();
      i2c.completeStart();
    };
    i2c.onConnect = (a, mode) => {
      addr = a;
      const rd = mode === I2CMode.Read;
      const r = ask({ ev: 'i2c', bus, addr: a, rd: rd ? 1 : 0 });
      frame = rd && r.ack ? Buffer.from(r.data || '', 'hex') : null;
      ri = 0;
      wbuf = rd || !r.ack ? null : [];
      later(() => i2c.completeConnect(!!r.ack), byteNs() + (r.delay_us || 0) * 1000);
    };
    i2c.onWriteByte = (v) => {
      if (wbuf !== null) wbuf.push(v);
      later(() => i2c.completeWrite(true), byteNs());
    };
    i2c.onReadByte = () => {
      const v = frame !== null && ri < frame.length ? frame[ri] : 0xff;
      ri++;
      later(() => i2c.completeRead(v), byteNs());
    };
    i2c.onStop = () => {
      flush();
      i2c.completeStop();
    };
  });
}

function applyPin(n, v) {
  const pin = mcu.gpio[n];
  const level = v === null ? pin.pullupEnabled : !!v;
  pin.setInputValue(level);
}

function pwmDuty(n) {
  const pin = mcu.gpio[n];
  if (pin.functionSelect !== 4) return null;     // not routed to PWM
  const ch = mcu.pwm.channels[(n >> 1) & 7];
  if (!(ch.csr & 1)) return null;                // slice not enabled
  const level = n & 1 ? ch.cc >>> 16 : ch.cc & 0xffff;
  const d = Math.round((level * 65535) / (ch.top + 1));
  return d > 65535 ? 65535 : d;
}

function flashCall(pc) {
  // emulate the ROM routine, then return to the caller as its BX LR would
  const r = core.registers;
  if (pc === RE) {
    const off = r[0], n = r[1];
    flash.fill(0xff, off, Math.min(off + n, flash.length));
  } else {
    const off = r[0], src = r[1], n = r[2];
    for (let i = 0; i < n && off + i < flash.length; i++) flash[off + i] &= mcu.readUint8(src + i);
  }
  core.PC = core.LR & ~1;
}

function runUntil(targetNs) {
  const clock = () => mcu.clock;
  while (nowNs() < targetNs) {
    if (resetPending) restart();
    const c = clock();
    if (core.waiting) {
      const left = targetNs - nowNs();
      const next = c.nextAlarm ? c.nextAlarm.nanos - c.nanos : left;
      c.tick(Math.max(0, Math.min(next, left)));
      continue;
    }
    const pc = core.PC;
    if (pc === RE || pc === RP) {
      flashCall(pc);
      continue;
    }
    const n = core.executeInstruction();
    cycles += n;
    if (PROFILE && cycles >= profileNext) {
      profileNext = cycles + PROFILE;
      profile.set(pc, (profile.get(pc) || 0) + 1);
    }
    c.tick(n * cycleNs);
  }
}

function report() {
  const out = {};
  for (const n of WATCH) {
    const s = mcu.gpio[n].value;
    out[n] = s === 1 ? 1 : s === 0 ? 0 : null;
  }
  const pwm = {};
  for (const n of PWM_PINS) pwm[n] = pwmDuty(n);
  const msg = { ev: 'done', t_us: nowNs() / 1000, cycles, out, pwm, cdc: hex(outBytes), edges, resets };
  outBytes = [];
  edges = [];
  resets = [];
  send(msg);
}

const PICO_FLASH = 2 * 1024 * 1024;   // the Pico's W25Q16: what the image and littlefs use

function saveFlash() {
  if (FLASH_FILE) fs.writeFileSync(FLASH_FILE, flash.subarray(0, PICO_FLASH));
}

function saveProfile() {
  if (!PROFILE || !args['profile-out']) return;
  const rows = [...profile.entries()].sort((a, b) => b[1] - a[1]);
  fs.writeFileSync(args['profile-out'], rows.map(([pc, n]) => `${pc.toString(16)} ${n}`).join('\n') + '\n');
}

boot(null, 0);
for (;;) {
  const line = readLine();
  if (line === null) break;
  if (!line.trim()) continue;
  const m = JSON.parse(line);
  if (m.op === 'pin') {
    driven[m.n] = m.v;
    applyPin(m.n, m.v);
  } else if (m.op === 'adc') {
    adcValues[m.ch] = m.v;
    mcu.adc.channelValues[m.ch] = m.v;
  } else if (m.op === 'cdc') {
    hostBytes(Buffer.from(m.d, 'hex'));
  } else if (m.op === 'run') {
    runUntil(m.until_us * 1000);
    report();
  } else if (m.op === 'reset') {
    // the host's reset events: 'wdt' as the watchdog timing out (scratch kept, reason TIMER),
    // 'power' as a power cycle or brownout (everything but the flash lost)
    const wd = mcu.peripherals[0x40058];
    resetPending = m.kind === 'power'
      ? { scratch: null, reason: 0 }
      : { scratch: Uint32Array.from(wd.scratchData), reason: 1 };
    restart();
  } else if (m.op === 'prof') {
    // PC sampling on (every m.every cycles) or off; {op:'prof',dump:path} writes the samples
    if (m.dump) {
      args['profile-out'] = m.dump;
      const p = PROFILE;
      PROFILE = 1;
      saveProfile();
      PROFILE = p;
      profile.clear();
    } else {
      PROFILE = m.every || 0;
      profileNext = cycles + PROFILE;
    }
  } else if (m.op === 'quit') {
    break;
  }
}
saveFlash();
saveProfile();
