// Audit log (admin): action, target, actor and time range are the API's query parameters,
// filtered on the server and paged with its cursor.
import { request } from "./api.js";
import { field, fill, h, table, time } from "./dom.js";

export async function render(root, { showError }) {
  const form = h("form", { class: "filters", id: "audit-filters" },
    field("Action", h("input", { name: "action", placeholder: "device.patch" })),
    field("Target", h("input", { name: "target", placeholder: "device:meter-0042" })),
    field("Actor", h("input", { name: "actor", placeholder: "alice" })),
    field("From (UTC)", h("input", { name: "from", type: "datetime-local", step: 1 })),
    field("To (UTC)", h("input", { name: "to", type: "datetime-local", step: 1 })),
    h("button", { type: "submit" }, "Apply"));
  const list = h("div", { id: "audit-list" });
  const more = h("button", { type: "button", class: "secondary", id: "audit-more", hidden: true }, "Load more");
  root.append(h("h1", {}, "Audit log"), form, list, more);

  let entries = [];
  let cursor = null;
  let query = {};

  /** The form as query parameters: empty fields left out, local date-times read as UTC. */
  function parameters() {
    const data = new FormData(form);
    const text = (name) => String(data.get(name) || "").trim() || null;
    const instant = (name) => (data.get(name) ? new Date(`${data.get(name)}Z`).toISOString() : null);
    return { action: text("action"), target: text("target"), actor: text("actor"), from: instant("from"), to: instant("to") };
  }

  function draw() {
    fill(list, entries.length === 0 ? h("p", { class: "muted" }, "No entries match.")
      : table(["At", "Actor", "Action", "Target", "Details"], entries.map((entry) => h("tr", { "data-action": entry.action, "data-actor": entry.actor },
        h("td", {}, time(entry.at)), h("td", {}, entry.actor), h("td", {}, entry.action), h("td", {}, entry.target || "—"),
        h("td", { class: "mono details" }, JSON.stringify(entry.details))))));
    more.hidden = !cursor;
  }

  async function load(reset) {
    if (reset) {
      query = parameters();
      entries = [];
      cursor = null;
    }
    const page = await request("/audit", { query: { ...query, limit: 200, cursor } });
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
