// Enrollment: create tokens (one device or a numbered series) and show each enroll line once.
import { current, request } from "./api.js";
import { field, fill, h, secretBox, select, table, time } from "./dom.js";

const bulkLimit = 500;

export async function render(root, { showError }) {
  const created = h("div", { id: "created-tokens" });
  const form = h("form", { class: "card", id: "token-form" },
    h("h2", {}, "New enrollment tokens"),
    field("Device id, or a prefix for a series", h("input", { name: "device", required: true, pattern: "[a-z0-9][a-z0-9\\-]{0,62}", placeholder: "meter-0042" })),
    field("How many (a series: prefix-0001, prefix-0002, …)", h("input", { name: "count", type: "number", min: 1, max: bulkLimit, value: 1 })),
    field("Kind", select("kind", [["meter", "meter"], ["camera", "camera"]], "meter")),
    field("Valid for (hours)", h("input", { name: "hours", type: "number", min: 1, max: 720, value: 24 })),
    h("button", { type: "submit", id: "create-token" }, "Create"));
  const records = h("div", { id: "token-records" });
  root.append(h("h1", {}, "Enrollment"),
    h("p", {}, "Each line is shown once, here only: the token's secret is never stored. Run it on the device host."),
    form, created);
  if (current.can("admin")) root.append(h("h2", {}, "Tokens"), records);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const name = String(data.get("device")).trim();
    const count = Math.min(Math.max(Number(data.get("count")) || 1, 1), bulkLimit);
    const devices = count === 1 ? [name] : Array.from({ length: count }, (_, index) => `${name}-${String(index + 1).padStart(4, "0")}`);
    fill(created);
    for (const device of devices) {
      try {
        const token = await request("/enrollment-tokens", {
          method: "POST", body: { device, kind: String(data.get("kind")), ttlSeconds: Number(data.get("hours")) * 3600 },
        });
        created.append(tokenBox(token, showError));
      } catch (error) {
        showError(error);
        break;
      }
    }
    if (current.can("admin")) await loadRecords(records).catch(showError);
  });
  if (current.can("admin")) await loadRecords(records);
}

function tokenBox(token, showError) {
  const box = h("div", { class: "card token", "data-device": token.device },
    secretBox(`${token.device} (${token.kind}), valid until ${time(token.expiresAt)}`, token.enrollCommand));
  box.append(h("button", {
    type: "button", class: "secondary", onclick: async (event) => {
      try {
        await request(`/enrollment-tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" });
        event.target.replaceWith(h("span", { class: "muted" }, "revoked"));
      } catch (error) { showError(error); }
    },
  }, "Revoke this token"));
  return box;
}

async function loadRecords(container) {
  const page = await request("/enrollment-tokens", { query: { state: "all", limit: 200 } });
  fill(container, page.items.length === 0 ? h("p", { class: "muted" }, "No tokens.")
    : table(["Device", "Created", "Expires", "Used"], page.items.map((item) => h("tr", {},
      h("td", {}, item.device), h("td", {}, time(item.createdAt)), h("td", {}, time(item.expiresAt)),
      h("td", {}, item.usedAt ? `${time(item.usedAt)} (certificate ${item.usedSerial})` : "unused")))));
}
