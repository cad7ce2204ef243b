// Small DOM helpers. Everything a station or operator sent is put into the page as text
// (textContent), never as HTML: a station id or a frame can never become markup or code.

/**
 * Build an element: h("a", {href: "#/x", dataset: {testid: "link"}}, "text", child, ...).
 * Attributes starting with "on" are event listeners; `dataset` sets data-* attributes;
 * null/undefined/false attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = SVG_TAGS.has(tag);
  const el = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = v;
    } else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "value" && !svg) {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

const SVG_TAGS = new Set([
  "svg", "g", "path", "polyline", "line", "text", "title", "desc", "rect", "circle",
]);

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace every child of `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Like fill, but leaves `el` alone when the new content renders the same: a live page that
 * refreshes every second keeps the operator's focus and selection, and a screen reader's live
 * region speaks only on a real change.
 */
export function patch(el, ...children) {
  const next = document.createElement(el.tagName);
  append(next, children);
  if (next.innerHTML !== el.innerHTML) el.replaceChildren(...next.childNodes);
  return el;
}

/** The test id selector helper used by the pages: data-testid="name". */
export function tid(name) {
  return { testid: name };
}

/** A date-time as the operator's locale shows it, or "—". */
export function when(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString();
}

/** Only the time of day for today's moments (logs), else the date and time. */
export function whenShort(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString() : date.toLocaleString();
}

/** How long ago, short: "12 s ago", "3 min ago", "2 h ago". */
export function ago(value) {
  if (!value) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** Watts as kW with one decimal ("11.0 kW"), or "—". */
export function kw(watts) {
  if (watts === null || watts === undefined || Number.isNaN(Number(watts))) return "—";
  return `${(Number(watts) / 1000).toFixed(1)} kW`;
}

/** Watt-hours as kWh with two decimals, or "—". */
export function kwh(wh) {
  if (wh === null || wh === undefined || Number.isNaN(Number(wh))) return "—";
  return `${(Number(wh) / 1000).toFixed(2)} kWh`;
}

/** A money amount ("12.34 EUR"), or "—". */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const n = Number(amount);
  return `${Number.isNaN(n) ? amount : n.toFixed(2)}${currency ? ` ${currency}` : ""}`;
}

/** A status badge: the class follows the status so the style sheet colours it. */
export function badge(text, kind = statusKind(text), testid = null) {
  return h("span", { class: `badge badge-${kind}`, dataset: testid ? tid(testid) : undefined },
    text ?? "—");
}

/** Colour family of an OCPP connector/registration/alert status. */
export function statusKind(status) {
  switch (status) {
    case "Available": case "Accepted": case "Answered": case "Completed": case "connected":
    case "resolved":
      return "ok";
    case "Charging": case "Occupied": case "Preparing": case "Active": case "SuspendedEV":
    case "SuspendedEVSE": case "Finishing": case "Reserved":
      return "busy";
    case "Faulted": case "Rejected": case "CallError": case "Timeout": case "Invalid":
    case "InvalidResponse": case "Orphaned": case "critical": case "error": case "open":
      return "bad";
    case "Unavailable": case "Pending": case "disconnected": case "Offline": case "NotAllowed":
    case "warning": case "acknowledged":
      return "warn";
    default:
      return "neutral";
  }
}

/** A section with a heading, its body and an optional live-region flag. */
export function section(title, testid, ...body) {
  const id = `h-${testid}`;
  return h("section", { class: "card", "aria-labelledby": id, dataset: tid(testid) },
    h("h2", { id }, title), ...body);
}

/** A <dl> of label → value pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value ?? "—")]));
}

/** Pretty JSON for a <pre>. */
export function json(value) {
  return JSON.stringify(value, null, 2);
}

/** A table of rows of cells (text or elements). */
export function table(headers, rows, testid) {
  return h("table", { class: "grid compact", dataset: testid ? tid(testid) : undefined },
    h("thead", {}, h("tr", {}, headers.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}
