// Fleet: counts by status, the device list with filters and cursor paging, live status from SSE.
import { request, streamEvents } from "./api.js";
import { ago, badge, field, fill, h, select, table, time } from "./dom.js";

const pageSize = 100;
const statuses = [["online", "Online"], ["offline", "Offline"], ["unknown", "Never seen"], ["revoked", "Revoked"], ["decommissioned", "Decommissioned"]];
const weekMs = 7 * 86400 * 1000;

export async function render(root, { showError }) {
  performance.clearMarks("fleet-start");
  performance.clearMeasures("fleet-first-page");
  performance.mark("fleet-start");
  const abort = new AbortController();
  const filters = { q: "", kind: "", status: "", tag: "" };
  const cursors = [null];
  let pageIndex = 0;
  const rows = new Map();

  const counts = h("div", { class: "counts", id: "counts" },
    statuses.map(([status, label]) => h("div", { class: `count status-${status}` },
      h("span", { class: "count-value", "data-count": status }, "…"), h("span", { class: "count-label" }, label))));
  const form = h("form", { class: "filters", id: "fleet-filters" },
    field("Search", h("input", { name: "q", type: "search", placeholder: "id or name", maxLength: 100 })),
    field("Kind", select("kind", [["", "any"], ["meter", "meter"], ["camera", "camera"]], "")),
    field("Status", select("status", [["", "any"], ...statuses.map(([value, label]) => [value, label.toLowerCase()])], "")),
    field("Tag", h("input", { name: "tag", placeholder: "e.g. site:north", maxLength: 100 })),
    h("button", { type: "submit" }, "Apply"));
  const list = h("div", { id: "fleet-list" });
  const pager = h("div", { class: "pager" });
  root.append(h("h1", {}, "Fleet"), counts, form, list, pager);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    for (const key of Object.keys(filters)) filters[key] = String(data.get(key) || "").trim();
    cursors.length = 1;
    pageIndex = 0;
    load().catch(showError);
  });

  function row(device) {
    const expires = device.certificateExpiresAt ? new Date(device.certificateExpiresAt).getTime() : null;
    const soon = expires !== null && expires - Date.now() < weekMs;
    const tr = h("tr", { "data-device": device.id },
      h("td", {}, h("a", { href: `#/device/${encodeURIComponent(device.id)}` }, device.id),
        device.name ? h("div", { class: "muted" }, device.name) : null),
      h("td", { class: "status-cell" }, badge(device.status)),
      h("td", {}, device.kind),
      h("td", {}, device.tags.map((tag) => h("span", { class: "tag" }, tag))),
      h("td", { class: "seen-cell" }, ago(device.lastSeen)),
      h("td", { class: "num" }, device.bufferDepth ?? "—"),
      h("td", { class: "num" }, device.dropped ?? "—"),
      h("td", { class: soon ? "expiring" : "", title: soon ? "expires within 7 days" : "" }, time(device.certificateExpiresAt)),
      h("td", {}, device.version || "—"));
    rows.set(device.id, tr);
    return tr;
  }

  async function load() {
    const page = await request("/devices", { query: { ...filters, limit: pageSize, cursor: cursors[pageIndex] }, signal: abort.signal });
    rows.clear();
    fill(list, page.items.length === 0
      ? h("p", { class: "muted" }, "No devices match.")
      : table(["Device", "Status", "Kind", "Tags", "Last seen", "Buffer", "Dropped", "Certificate expires", "Version"],
        page.items.map(row), { class: "fleet", id: "fleet-table" }));
    cursors[pageIndex + 1] = page.nextCursor;
    fill(pager,
      h("button", { type: "button", class: "secondary", disabled: pageIndex === 0, onclick: () => { pageIndex -= 1; load().catch(showError); } }, "Previous"),
      h("span", { class: "muted" }, `page ${pageIndex + 1}`),
      h("button", { type: "button", class: "secondary", id: "next-page", disabled: !page.nextCursor, onclick: () => { pageIndex += 1; load().catch(showError); } }, "Next"));
  }

  async function countAll() {
    const counted = await request("/device-counts", { signal: abort.signal });
    for (const [status] of statuses) {
      const element = counts.querySelector(`[data-count="${status}"]`);
      element.textContent = String(counted[status]);
      element.dataset.value = String(counted[status]);
    }
  }

  // Status changes come one device at a time without the previous status of devices off
  // this page, so the counts are read again, at most every 5 s.
  let recount = null;
  function scheduleRecount() {
    if (recount) return;
    recount = setTimeout(() => {
      countAll().catch((error) => { if (!abort.signal.aborted) showError(error); }).finally(() => { recount = null; });
    }, 5000);
  }

  await load();
  performance.measure("fleet-first-page", "fleet-start");
  root.dataset.loaded = "true";

  countAll().catch((error) => { if (!abort.signal.aborted) showError(error); });

  streamEvents({
    signal: abort.signal,
    onEvent(type, event) {
      if (type !== "device.status") return;
      scheduleRecount();
      const tr = rows.get(event.device);
      if (!tr) return;
      fill(tr.querySelector(".status-cell"), badge(event.status));
      if (event.status === "online") fill(tr.querySelector(".seen-cell"), ago(event.at));
    },
  });

  return () => {
    abort.abort();
    clearTimeout(recount);
  };
}
