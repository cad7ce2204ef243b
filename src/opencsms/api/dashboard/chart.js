// The session chart: power (kW, left axis) and energy delivered (kWh, right axis) over time,
// hand-written SVG. Input is the `series` of GET /api/v1/transactions/{id}: per measurand, the
// samples in base units (W, Wh).

import { h, kw, kwh } from "./dom.js";

const POWER = "Power.Active.Import";
const ENERGY = "Energy.Active.Import.Register";
const W = 720;
const H = 280;
const PAD = { left: 56, right: 64, top: 28, bottom: 40 };

/**
 * One value per timestamp: the sample without a phase (the total) when the station sent one,
 * else the sum of the per-phase samples; values of the "Outlet" (default) location first.
 */
export function totals(points = []) {
  const byTime = new Map();
  for (const p of points) {
    const t = new Date(p.timestamp).getTime();
    if (Number.isNaN(t)) continue;
    const slot = byTime.get(t) || { total: null, phases: 0, seen: false, location: null };
    const location = p.location || "Outlet";
    if (slot.location && slot.location !== location) {
      if (location !== "Outlet") continue; // keep the Outlet readings
      slot.total = null; slot.phases = 0; slot.seen = false;
    }
    slot.location = location;
    if (p.phase === null || p.phase === undefined) slot.total = Number(p.value);
    else if (!String(p.phase).startsWith("L1-") && String(p.phase) !== "N") {
      slot.phases += Number(p.value);
      slot.seen = true;
    }
    byTime.set(t, slot);
  }
  return [...byTime.entries()]
    .map(([t, s]) => ({ t, v: s.total !== null ? s.total : s.seen ? s.phases : null }))
    .filter((p) => p.v !== null && Number.isFinite(p.v))
    .sort((a, b) => a.t - b.t);
}

function ticks(max, count = 4) {
  return Array.from({ length: count + 1 }, (_, i) => (max * i) / count);
}

function niceMax(value, floor) {
  const v = Math.max(value * 1.1, floor);
  const magnitude = 10 ** Math.floor(Math.log10(v));
  // Steps whose quarters are round numbers: the four grid lines get short labels.
  for (const step of [1, 1.2, 1.6, 2, 2.4, 4, 6, 8, 10]) {
    if (step * magnitude >= v) return step * magnitude;
  }
  return 10 * magnitude;
}

function label(value) {
  return String(Number(value.toFixed(2)));
}

function timeLabel(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** The chart as an <svg> element (empty state when there are no samples yet). */
export function sessionChart(series = {}) {
  const power = totals(series[POWER]).map((p) => ({ t: p.t, v: p.v / 1000 }));
  const registers = totals(series[ENERGY]);
  const first = registers.length ? registers[0].v : 0;
  const energy = registers.map((p) => ({ t: p.t, v: (p.v - first) / 1000 }));
  const all = [...power, ...energy];
  const lastPower = power.length ? power[power.length - 1].v * 1000 : null;
  const lastEnergy = energy.length ? energy[energy.length - 1].v * 1000 : null;
  const summary = all.length
    ? `Power ${kw(lastPower)}, energy delivered ${kwh(lastEnergy)}, ${power.length} power samples`
    : "No meter values yet";
  const svg = h("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": summary,
    "data-testid": "session-chart", "data-power-points": power.length,
    "data-energy-points": energy.length,
  }, h("title", {}, summary));
  if (!all.length) {
    svg.append(h("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" },
      "Waiting for meter values…"));
    return svg;
  }
  let t0 = Math.min(...all.map((p) => p.t));
  let t1 = Math.max(...all.map((p) => p.t));
  if (t1 - t0 < 60000) { // at least a minute wide, the first samples on the left
    t1 = t0 + 60000;
  }
  const pMax = niceMax(Math.max(0, ...power.map((p) => p.v)), 1);
  const eMax = niceMax(Math.max(0, ...energy.map((p) => p.v)), 0.1);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * iw;
  const yP = (v) => PAD.top + ih - (v / pMax) * ih;
  const yE = (v) => PAD.top + ih - (v / eMax) * ih;
  const grid = h("g", { class: "chart-grid" });
  for (const [i, v] of ticks(pMax).entries()) {
    const y = yP(v);
    grid.append(
      h("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }),
      h("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "axis-power" },
        label(v)),
      h("text", { x: W - PAD.right + 6, y: y + 4, "text-anchor": "start", class: "axis-energy" },
        label(ticks(eMax)[i])),
    );
  }
  for (const v of ticks(t1 - t0, 3)) {
    grid.append(h("text", { x: x(t0 + v), y: H - PAD.bottom + 18, "text-anchor": "middle" },
      timeLabel(t0 + v)));
  }
  grid.append(
    h("text", { x: PAD.left - 6, y: 12, "text-anchor": "end", class: "axis-power" }, "kW"),
    h("text", { x: W - PAD.right + 6, y: 12, class: "axis-energy" }, "kWh"),
  );
  const line = (points, y, cls, testid) => h("polyline", {
    class: cls, "data-testid": testid, "data-count": points.length, fill: "none",
    points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "),
  });
  svg.append(grid, line(energy, yE, "line-energy", "energy-line"),
    line(power, yP, "line-power", "power-line"));
  if (power.length) {
    const last = power[power.length - 1];
    svg.append(h("circle", { cx: x(last.t), cy: yP(last.v), r: 4, class: "dot-power" }));
  }
  const legend = h("g", { class: "chart-legend" },
    h("line", { x1: PAD.left, x2: PAD.left + 24, y1: H - 8, y2: H - 8, class: "line-power" }),
    h("text", { x: PAD.left + 30, y: H - 4 }, "Power (kW)"),
    h("line", { x1: PAD.left + 130, x2: PAD.left + 154, y1: H - 8, y2: H - 8, class: "line-energy" }),
    h("text", { x: PAD.left + 160, y: H - 4 }, "Energy delivered (kWh)"));
  svg.append(legend);
  return svg;
}

/** The latest power of a series, in W (null without samples). */
export function latestPower(series = {}) {
  const power = totals(series[POWER]);
  return power.length ? power[power.length - 1].v : null;
}
