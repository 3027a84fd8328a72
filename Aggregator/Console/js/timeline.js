// A device's stored events (GET /devices/{id}/events): newest first, filtered by kind and time
// range on the server, older pages on demand, and new ones appended live from `device.event`.
import { request } from "./api.js";
import { field, fill, h, select, time } from "./dom.js";

const kinds = [["", "All kinds"], ["stream_stats", "Stream statistics"], ["stream_state", "Stream state"],
  ["buffer_dropped", "Buffer drops"], ["buffer_recovered", "Buffer recovered"], ["source_error", "Source errors"], ["warning", "Warnings"]];
const ranges = [["3600", "1 hour"], ["86400", "24 hours"], ["604800", "7 days"], ["", "Everything stored"]];
const pageSize = 50;
/** Figures of a `stream_stats` event worth a glance; the rest stays in the title. */
const statFields = [["bitrateKbps", "kbit/s"], ["packets", "packets"], ["viewers", "viewers"], ["receiverReports", "RR"],
  ["peakLossFraction", "peak loss"], ["pli", "PLI"], ["remb", "REMB"]];

/** One line of what an event says. */
function summary(kind, data) {
  if (data === null || data === undefined) return "(data too large to announce live; reload to see it)";
  if (kind === "stream_stats") {
    const parts = statFields.filter(([key]) => typeof data[key] === "number").map(([key, unit]) => `${data[key]} ${unit}`);
    if (parts.length) return parts.join(" · ");
  }
  if (kind === "stream_state" && typeof data.state === "string") {
    return data.reason ? `${data.state} (${data.reason})` : data.state;
  }
  const text = JSON.stringify(data);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function item(event) {
  return h("li", { "data-event": String(event.id), "data-kind": event.kind, "data-ts": String(new Date(event.ts).getTime()),
    title: JSON.stringify(event.data) },
    h("span", { class: "muted" }, time(event.ts)), " ", h("strong", {}, event.kind), " ", summary(event.kind, event.data));
}

/**
 * The timeline's section. `add(event)` takes a `device.event` from the live stream and shows it
 * when it matches the filters; `load()` reads the first page.
 */
export function eventTimeline(path, signal, showError) {
  const form = h("form", { class: "filters", id: "timeline-filters" },
    field("Kind", select("kind", kinds, "")), field("Range", select("range", ranges, "86400")),
    h("button", { type: "submit" }, "Show"));
  const list = h("ol", { id: "timeline", class: "timeline" });
  const empty = h("p", { class: "muted", id: "timeline-empty", hidden: true }, "No events in this range.");
  const more = h("button", { type: "button", class: "secondary", id: "timeline-more", hidden: true }, "Older events");
  const section = h("section", { id: "device-events" }, h("h2", {}, "Events"), form, list, empty, more);
  let cursor = null;
  let query = {};

  function filters() {
    const data = new FormData(form);
    const seconds = Number(data.get("range"));
    return {
      kind: String(data.get("kind") || "") || null,
      from: seconds ? new Date(Date.now() - seconds * 1000).toISOString() : null,
    };
  }

  async function page(reset) {
    if (reset) {
      query = filters();
      cursor = null;
      fill(list);
    }
    const answer = await request(`${path}/events`, { query: { ...query, limit: pageSize, cursor }, signal });
    list.append(...answer.items.map(item));
    cursor = answer.nextCursor;
    more.hidden = !cursor;
    empty.hidden = list.childElementCount > 0;
    section.dataset.loaded = "true";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    page(true).catch((error) => { if (!signal.aborted) showError(error); });
  });
  more.addEventListener("click", () => page(false).catch((error) => { if (!signal.aborted) showError(error); }));

  return {
    section,
    load: () => page(true),
    add(event) {
      if (query.kind && event.kind !== query.kind) return;
      if (list.querySelector(`li[data-event="${CSS.escape(String(event.id))}"]`)) return;
      // Newest first by the event's own time: a device's batch may arrive out of order or late.
      const entry = item({ id: event.id, ts: event.at, kind: event.kind, data: event.data });
      const at = Number(entry.dataset.ts);
      const later = [...list.children].find((li) => Number(li.dataset.ts) < at
        || (Number(li.dataset.ts) === at && Number(li.dataset.event) < event.id));
      list.insertBefore(entry, later || null);
      empty.hidden = true;
    },
  };
}
