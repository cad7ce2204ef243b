// Charge detail records (docs/tariffs.md): the list with filters (station, session end window),
// one CDR with its cost breakdown, and CSV / OCPI exports of what the filters select. The
// exports need the bearer token, which a plain link cannot send: they are fetched and handed to
// the browser as a file (a blob URL).

import { api, ApiError, download, seg } from "./api.js";
import { facts, fill, h, kwh, money, patch, section, table, tid, when } from "./dom.js";

const PAGE = 50;

/** "2026-05-01T10:00" of a datetime-local input → ISO UTC, or "" when empty. */
function isoOf(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

export function cdrsPage(container) {
  let offset = 0;
  const station = h("input", { id: "cdr-station", type: "search", placeholder: "any",
    dataset: tid("cdr-filter-station") });
  const from = h("input", { id: "cdr-from", type: "datetime-local", dataset: tid("cdr-filter-from") });
  const to = h("input", { id: "cdr-to", type: "datetime-local", dataset: tid("cdr-filter-to") });
  const rows = h("div", { class: "scroll", dataset: tid("cdrs-list") });
  const pager = h("p", { class: "pager" });
  const exportStatus = h("p", { role: "status", "aria-live": "polite", class: "muted",
    dataset: tid("cdr-export-status") });
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter CDRs" },
    h("label", { for: "cdr-station" }, "Station"), station,
    h("label", { for: "cdr-from" }, "Ended from"), from,
    h("label", { for: "cdr-to" }, "to"), to,
    h("button", { type: "submit", class: "secondary", dataset: tid("cdr-filter-apply") }, "Apply"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    refresh().catch((error) => { fill(rows, h("p", { class: "error" }, error.message)); });
  });

  function query() {
    const q = new URLSearchParams();
    if (station.value.trim()) q.set("station_id", station.value.trim());
    if (isoOf(from.value)) q.set("from", isoOf(from.value));
    if (isoOf(to.value)) q.set("to", isoOf(to.value));
    return q;
  }

  function exportButton(format, label, filename) {
    const button = h("button", { type: "button", class: "secondary",
      dataset: tid(`cdr-export-${format}`) }, label);
    button.addEventListener("click", async () => {
      const q = query();
      q.set("format", format);
      exportStatus.textContent = "Exporting…";
      button.disabled = true;
      try {
        const size = await download(`/cdrs/export?${q}`, filename);
        exportStatus.textContent = `Downloaded ${filename} (${size} bytes).`;
      } catch (error) {
        exportStatus.textContent = `Export failed: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  fill(container, h("h1", {}, "Charge detail records"),
    h("section", { class: "card" }, filters,
      h("p", { class: "actions" }, exportButton("csv", "Export CSV", "cdrs.csv"), " ",
        exportButton("ocpi", "Export OCPI JSON", "cdrs-ocpi.json")),
      exportStatus, rows, pager));

  async function refresh() {
    const q = query();
    q.set("offset", String(offset));
    q.set("limit", String(PAGE));
    const page = await api(`/cdrs?${q}`);
    patch(rows, page.items.length ? table(
      ["CDR", "Station", "Token", "Started", "Ended", "Energy", "Tariff", "Total"],
      page.items.map((c) => [
        h("a", { href: `#/cdrs/${c.id}`, dataset: { testid: `cdr-link-${c.id}` } }, String(c.id)),
        h("a", { href: `#/stations/${seg(c.station_id)}` }, c.station_id),
        c.id_token ?? "—", when(c.started_at), when(c.stopped_at), kwh(c.energy_wh),
        c.tariff_id ? `${c.tariff_id} v${c.tariff_version}` : "none",
        money(c.gross, c.currency),
      ]), "cdrs-table") : h("p", { class: "muted" }, "No CDR matches."));
    const prev = h("button", { type: "button", class: "secondary", disabled: offset === 0 },
      "Newer");
    const next = h("button", { type: "button", class: "secondary",
      disabled: offset + PAGE >= page.total }, "Older");
    prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
    next.addEventListener("click", () => { offset += PAGE; refresh(); });
    fill(pager, prev, ` ${page.total ? offset + 1 : 0}–${Math.min(offset + PAGE, page.total)} of ${page.total} `, next);
  }

  // A CDR is issued just after its session ends: only session changes (or a reconnect) add one.
  const wants = (event) => event.type.startsWith("session.") || event.type === "poll"
    || event.type === "reconnected";
  return { refresh, wants };
}

export function cdrPage(container, ctx, id) {
  const body = h("div", { dataset: tid("cdr-detail") });
  fill(container,
    h("p", { class: "crumbs" }, h("a", { href: "#/cdrs" }, "CDRs"), " / ", id),
    h("h1", {}, `CDR ${id}`), body);

  async function refresh() {
    let cdr;
    try {
      cdr = await api(`/cdrs/${seg(id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        patch(body, h("p", { class: "error" }, `No CDR ${id}.`));
        return;
      }
      throw error;
    }
    const b = cdr.breakdown;
    patch(body, h("div", { class: "columns" },
      section("Session", "cdr-session", facts([
        ["Station", h("a", { href: `#/stations/${seg(cdr.station_id)}` }, cdr.station_id)],
        ["Session", h("a", { href: `#/sessions/${cdr.id}` }, `${cdr.id} (${cdr.transaction_id})`)],
        ["EVSE / connector", `${cdr.evse_id ?? "—"} / ${cdr.connector_id ?? "—"}`],
        ["Id token", cdr.id_token],
        ["Started", when(cdr.started_at)],
        ["Ended", `${when(cdr.stopped_at)} (${cdr.stop_reason ?? "no reason"})`],
        ["Energy", kwh(cdr.energy_wh)],
        ["Issued", when(cdr.issued_at)],
      ])),
      section("Cost", "cdr-cost", b ? [
        h("p", { class: "big" }, h("span", { dataset: tid("cdr-total") }, money(b.gross, b.currency))),
        facts([
          ["Tariff", `${cdr.tariff_id} version ${cdr.tariff_version} (cost revision ${cdr.cost_revision})`],
          ["Energy", money(b.energy, b.currency)],
          ["Time", `${money(b.time, b.currency)} (${Math.round(Number(b.charging_seconds) / 60)} min charging)`],
          ["Parking", `${money(b.parking, b.currency)} (${Math.round(Number(b.billed_parking_seconds) / 60)} min billed)`],
          ["Flat fee", money(b.flat, b.currency)],
          ["Net", money(b.net, b.currency)],
          [`Tax (${(Number(b.tax_rate) * 100).toFixed(1)} %)`, money(b.tax, b.currency)],
          ["Minimum price applied", b.min_price_applied ? "yes" : "no"],
        ]),
      ] : h("p", { class: "muted", dataset: tid("cdr-no-cost") }, "No tariff applied: no cost."))));
  }
  return { refresh, wants: () => false };
}
