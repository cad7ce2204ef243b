// Site load management (docs/load-management.md): the tree of load groups with their limits,
// the allocation the load manager computes now for each session, and its recent decisions.
// Reads GET /load-groups, /load-groups/{id}/allocation and /load-groups/{id}/decisions.

import { optional, seg } from "./api.js";
import { badge, fill, h, patch, section, table, tid, when, whenShort } from "./dom.js";

const DECISIONS = 20;

function amps(value) {
  return value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} A`;
}

function watts(value) {
  return value === null || value === undefined ? "—" : `${(Number(value) / 1000).toFixed(1)} kW`;
}

/** The limit in force as text: configured, or the external signal's cap on top. */
function limitText(group) {
  const parts = [];
  if (group.max_current_a !== null) parts.push(`${amps(group.max_current_a)} per phase`);
  if (group.max_power_w !== null) parts.push(watts(group.max_power_w));
  const text = parts.length ? parts.join(", ") : "no limit";
  const ext = group.external_limit;
  if (!ext) return text;
  const cap = [ext.max_current_a !== null ? amps(ext.max_current_a) : null,
    ext.max_power_w !== null ? watts(ext.max_power_w) : null].filter(Boolean).join(", ");
  return `${text}; external signal ${cap}${ext.until ? ` until ${when(ext.until)}` : ""}`;
}

export function loadPage(container) {
  const tree = h("div", { dataset: tid("load-tree") });
  const picker = h("select", { id: "load-root", dataset: tid("load-root") });
  const allocation = h("div", { class: "scroll", dataset: tid("load-allocation") });
  const decisions = h("div", { class: "scroll", dataset: tid("load-decisions") });
  let roots = [];
  picker.addEventListener("change", () => refresh());
  fill(container, h("h1", {}, "Load management"),
    section("Groups", "load-groups", tree),
    h("p", { class: "filters" }, h("label", { for: "load-root" }, "Site"), picker),
    section("Allocation now", "load-allocation-card", allocation),
    section("Recent decisions", "load-decisions-card", decisions));

  function renderTree(groups) {
    const byParent = new Map();
    for (const g of groups) {
      const list = byParent.get(g.parent_id ?? null) ?? [];
      list.push(g);
      byParent.set(g.parent_id ?? null, list);
    }
    const branch = (parent) => {
      const children = (byParent.get(parent) ?? []).sort((a, b) => a.id.localeCompare(b.id));
      if (!children.length) return null;
      return h("ul", { class: "tree" }, children.map((g) => h("li",
        { dataset: { testid: `load-group-${g.id}` } },
        h("strong", {}, g.name || g.id), " ", h("span", { class: "muted" }, `(${g.id})`), " — ",
        limitText(g), ` · ${g.members.length} member${g.members.length === 1 ? "" : "s"}`,
        g.members.length ? h("span", { class: "muted" },
          ` (${g.members.map((m) => (m.evse_id ? `${m.station_id}/${m.evse_id}` : m.station_id)).join(", ")})`)
          : null,
        branch(g.id))));
    };
    return branch(null);
  }

  async function refresh() {
    const groups = await optional("/load-groups");
    if (groups === null) {
      patch(tree, h("p", { class: "muted" }, "Load management is not available on this CSMS."));
      return;
    }
    if (!groups.length) {
      patch(tree, h("p", { class: "muted", dataset: tid("load-none") },
        "No load group: create one with POST /api/v1/load-groups (docs/load-management.md)."));
      fill(allocation);
      fill(decisions);
      return;
    }
    patch(tree, renderTree(groups));
    const ids = groups.filter((g) => !g.parent_id).map((g) => g.id).sort();
    if (ids.join("|") !== roots.join("|")) {
      const chosen = picker.value;
      roots = ids;
      fill(picker, ids.map((id) => h("option", { value: id }, id)));
      picker.value = ids.includes(chosen) ? chosen : ids[0];
    }
    const root = picker.value;
    const [plan, log] = await Promise.all([
      optional(`/load-groups/${seg(root)}/allocation`),
      optional(`/load-groups/${seg(root)}/decisions?limit=${DECISIONS}`),
    ]);
    if (plan) {
      patch(allocation,
        h("h3", {}, "Groups"),
        table(["Group", "Limit now", "Planned L1 / L2 / L3", "Power"], plan.groups.map((g) => [
          g.id, [amps(g.max_current_a), g.max_power_w !== null ? ` / ${watts(g.max_power_w)}` : ""],
          g.current_a.map((a) => Number(a).toFixed(1)).join(" / ") + " A", watts(g.power_w),
        ]), "load-groups-table"),
        h("h3", {}, "Sessions"),
        plan.sessions.length ? table(
          ["Station", "EVSE", "Transaction", "Group", "Limit", "Accepted", "Measured", "Min–max", "Priority"],
          plan.sessions.map((s) => [
            h("a", { href: `#/stations/${seg(s.station_id)}` }, s.station_id), s.evse_id,
            s.transaction_id, s.group_id,
            s.limit_a === 0 ? badge("paused", "warn") : amps(s.limit_a), amps(s.sent_a),
            amps(s.measured_a), `${amps(s.min_current_a)}–${amps(s.max_current_a)}`, s.priority,
          ]), "load-sessions-table")
          : h("p", { class: "muted", dataset: tid("load-no-sessions") }, "No session charges in this site."),
        h("p", { class: "muted" }, `Computed ${whenShort(plan.at)}.`));
    }
    if (log) {
      patch(decisions, log.items.length ? table(
        ["At", "Trigger", "Sent", "Failed", "Limits"],
        log.items.map((d) => [whenShort(d.at), d.trigger, d.sent, d.failed,
          d.sessions.map((e) => `${e.station_id}/${e.evse_id} ${e.kind} ${amps(e.limit_a)} ${e.status}`)
            .join("; ")]), "load-decisions-table")
        : h("p", { class: "muted" }, "No decision yet."));
    }
  }

  const wants = (event) => event.type.startsWith("session.") || event.type === "meter.values"
    || event.type === "poll" || event.type === "reconnected";
  return { refresh, wants };
}
