// Audit log (admin): action and target filter on the server; actor and time filter the loaded pages.
import { request } from "./api.js";
import { field, fill, h, table, time } from "./dom.js";

export async function render(root, { showError }) {
  const form = h("form", { class: "filters", id: "audit-filters" },
    field("Action", h("input", { name: "action", placeholder: "device.patch" })),
    field("Target", h("input", { name: "target", placeholder: "device:meter-0042" })),
    field("Actor", h("input", { name: "actor", placeholder: "alice" })),
    field("From (UTC)", h("input", { name: "from", type: "datetime-local" })),
    field("To (UTC)", h("input", { name: "to", type: "datetime-local" })),
    h("button", { type: "submit" }, "Apply"));
  const list = h("div", { id: "audit-list" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  root.append(h("h1", {}, "Audit log"), form, list, more);

  let entries = [];
  let cursor = null;
  let server = {};

  function shown() {
    const data = new FormData(form);
    const actor = String(data.get("actor") || "").trim();
    const from = data.get("from") ? new Date(`${data.get("from")}Z`) : null;
    const to = data.get("to") ? new Date(`${data.get("to")}Z`) : null;
    return entries.filter((entry) => (!actor || entry.actor.includes(actor))
      && (!from || new Date(entry.at) >= from) && (!to || new Date(entry.at) < to));
  }

  function draw() {
    const rows = shown();
    fill(list, rows.length === 0 ? h("p", { class: "muted" }, "No entries match.")
      : table(["At", "Actor", "Action", "Target", "Details"], rows.map((entry) => h("tr", { "data-action": entry.action },
        h("td", {}, time(entry.at)), h("td", {}, entry.actor), h("td", {}, entry.action), h("td", {}, entry.target || "—"),
        h("td", { class: "mono details" }, JSON.stringify(entry.details))))));
    more.hidden = !cursor;
  }

  async function load(reset) {
    if (reset) {
      const data = new FormData(form);
      server = { action: String(data.get("action") || "").trim(), target: String(data.get("target") || "").trim() };
      entries = [];
      cursor = null;
    }
    const page = await request("/audit", { query: { ...server, limit: 200, cursor } });
    entries = entries.concat(page.items);
    cursor = page.nextCursor;
    draw();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true).catch(showError);
  });
  more.addEventListener("click", () => load(false).catch(showError));
  await load(true);
}
