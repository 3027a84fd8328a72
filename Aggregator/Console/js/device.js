// Device: latest values, a chart per metric over the readings API, the stored events timeline, live events, commands,
// certificates with revoke and decommission, and the camera's stream controls.
import { APIError, current, request, streamEvents } from "./api.js";
import { ago, badge, confirmAction, field, fill, h, select, table, time } from "./dom.js";
import { livePlayer } from "./live.js";
import { eventTimeline } from "./timeline.js";
import { recordingsSection } from "./recordings.js";

const buckets = [["raw", "raw"], ["1m", "1 minute"], ["1h", "1 hour"], ["1d", "1 day"]];
const ranges = [["900", "15 minutes"], ["3600", "1 hour"], ["21600", "6 hours"], ["86400", "24 hours"], ["604800", "7 days"], ["2592000", "30 days"]];
/** Pages read per chart at most: raw pages hold 10,000 readings, bucket pages 10,000 buckets. */
const maxPages = 10;
const commandNames = ["ping", "collect_now", "set_interval", "restart_agent", "start_stream", "stop_stream"];
const argumentHints = {
  ping: "{}", collect_now: '{"source": "meter"}', set_interval: '{"source": "meter", "interval_s": 5}', restart_agent: "{}",
  start_stream: "{}", stop_stream: "{}",
};

export async function render(root, { args, showError }) {
  const id = args[0] || "";
  const path = `/devices/${encodeURIComponent(id)}`;
  const abort = new AbortController();
  const device = await request(path, { signal: abort.signal });

  const summary = h("div", { class: "card", id: "device-summary" });
  const latest = h("div", { id: "latest" });
  const charts = h("div", { id: "charts", class: "charts" });
  const events = h("ol", { id: "events", class: "timeline" });
  const commands = h("div", { id: "commands" });
  const certificates = h("div", { id: "certificates" });

  function renderSummary(value) {
    fill(summary,
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "device-status" }, badge(value.status)),
        h("dt", {}, "Kind"), h("dd", {}, value.kind),
        h("dt", {}, "Name"), h("dd", {}, value.name || "—"),
        h("dt", {}, "Tags"), h("dd", {}, value.tags.length ? value.tags.join(", ") : "—"),
        h("dt", {}, "Last seen"), h("dd", {}, ago(value.lastSeen)),
        h("dt", {}, "Version"), h("dd", {}, value.version || "—"),
        h("dt", {}, "Buffer"), h("dd", {}, `${value.bufferDepth ?? "—"} waiting, ${value.dropped ?? "—"} dropped`),
        h("dt", {}, "Certificate expires"), h("dd", {}, time(value.certificateExpiresAt)),
        h("dt", {}, "Certificate in use"), h("dd", { class: "cert-in-use" }, value.certificateInUse
          ? `${value.certificateInUse}, expires ${time(value.certificateInUseExpiresAt)}` : "not reported")));
  }
  renderSummary(device);

  root.append(h("h1", {}, device.id), summary,
    h("h2", {}, "Latest values"), latest,
    h("h2", {}, "Charts"), charts);
  if (device.kind === "camera") root.append(cameraSection(path, device, showError), recordingsSection(path, device, showError));
  const timeline = eventTimeline(path, abort.signal, showError);
  root.append(timeline.section);
  root.append(h("h2", {}, "Commands"), commands,
    h("h2", {}, "Live events"), h("p", { class: "muted" }, "Status and command changes since this page opened."), events);
  if (current.can("admin")) root.append(h("h2", {}, "Certificates"), certificates);

  const values = await request(`${path}/readings/latest`, { signal: abort.signal });
  fill(latest, values.items.length === 0 ? h("p", { class: "muted" }, "No readings yet.")
    : table(["Metric", "Value", "At"], values.items.map((item) =>
      h("tr", { "data-metric": item.metric }, h("td", {}, item.metric), h("td", { class: "num", title: String(item.value) }, item.value.toLocaleString("en", { maximumFractionDigits: 3 })), h("td", {}, ago(item.ts))))));
  renderCharts(charts, path, values.items.map((item) => item.metric), abort.signal, showError);

  await timeline.load();
  const refreshCommands = () => loadCommands(commands, path, abort.signal).catch((error) => { if (!abort.signal.aborted) showError(error); });
  await loadCommands(commands, path, abort.signal);
  if (current.can("operator") && device.status !== "decommissioned") commands.before(commandForm(path, refreshCommands, showError));
  if (current.can("admin")) {
    await loadCertificates(certificates, path, device, abort.signal, showError, async () => {
      const updated = await request(path);
      renderSummary(updated);
      return updated;
    });
  }

  streamEvents({
    device: device.id,
    signal: abort.signal,
    onEvent(type, event) {
      if (type === "device.event") {
        timeline.add(event);
        return;
      }
      const text = type === "device.status" ? `status ${event.status}`
        : `command ${event.name} ${event.status}${event.errorCode ? ` (${event.errorCode})` : ""}`;
      events.prepend(h("li", { "data-type": type }, h("span", { class: "muted" }, time(event.at)), " ", text));
      if (type === "device.status") fill(summary.querySelector("#device-status"), badge(event.status));
      if (type === "command.status") refreshCommands();
    },
  });
  return () => abort.abort();
}

function renderCharts(container, path, metrics, signal, showError) {
  if (metrics.length === 0) {
    fill(container, h("p", { class: "muted" }, "Nothing to chart yet."));
    return;
  }
  const form = h("form", { class: "filters", id: "chart-controls" },
    field("Bucket", select("bucket", buckets, "raw")),
    field("Range", select("range", ranges, "900")),
    h("button", { type: "submit" }, "Show"));
  const boxes = metrics.map((metric) => h("figure", { class: "chart", "data-metric": metric },
    h("figcaption", {}, metric, " ", h("span", { class: "readout muted" })), h("div", { class: "plot" })));
  fill(container, form, boxes);
  const draw = () => {
    const data = new FormData(form);
    const to = new Date();
    const from = new Date(to.getTime() - Number(data.get("range")) * 1000);
    for (const box of boxes) {
      chart(box, path, box.dataset.metric, String(data.get("bucket")), from, to, signal).catch((error) => {
        if (!signal.aborted) showError(error);
      });
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    draw();
  });
  draw();
}

/** Draws one metric; the range used is kept on the figure (`data-from`, `data-to`, `data-bucket`). */
async function chart(box, path, metric, bucket, from, to, signal) {
  box.dataset.state = "loading";
  const points = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await request(`${path}/readings`, {
      query: { metric, bucket, from: from.toISOString(), to: to.toISOString(), limit: 10000, cursor }, signal,
    });
    for (const item of page.items) {
      points.push(bucket === "raw" ? [new Date(item.ts), item.value] : [new Date(item.start), item.avg]);
    }
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor && pages < maxPages);
  const plot = box.querySelector(".plot");
  if (box.graph) box.graph.destroy();
  box.graph = null;
  fill(plot);
  box.dataset.from = from.toISOString();
  box.dataset.to = to.toISOString();
  box.dataset.bucket = bucket;
  box.dataset.points = String(points.length);
  box.dataset.truncated = cursor ? "true" : "false";
  if (points.length === 0) {
    plot.append(h("p", { class: "muted" }, "No readings in this range."));
  } else {
    const readout = box.querySelector(".readout");
    box.graph = new (withoutInlineStyles(window.Dygraph))(plot, points, {
      labels: ["time", metric], labelsUTC: true, drawPoints: points.length < 200, strokeWidth: 1.5, colors: ["#1f6f5c"],
      highlightCallback: (_event, x, selected) => {
        readout.textContent = `${new Date(x).toISOString()}  ${selected.map((point) => point.yval).join(", ")}`;
      },
      unhighlightCallback: () => { readout.textContent = ""; },
    });
  }
  box.dataset.state = "ready";
}

/**
 * Dygraphs' own legend measures text with a `style` attribute and writes inline styles, which
 * the console's CSP refuses; it is left out, and the hovered point is shown as text instead.
 */
function withoutInlineStyles(Dygraph) {
  Dygraph.PLUGINS = Dygraph.PLUGINS.filter((plugin) => plugin !== Dygraph.Plugins.Legend);
  return Dygraph;
}

async function loadCommands(container, path, signal) {
  const page = await request(`${path}/commands`, { query: { limit: 20 }, signal });
  fill(container, page.items.length === 0 ? h("p", { class: "muted" }, "No commands yet.")
    : table(["Command", "Status", "Queued", "Finished", "Result"], page.items.map((command) =>
      h("tr", { "data-command": command.id, "data-name": command.name },
        h("td", {}, command.name),
        h("td", { class: "command-status" }, badge(command.status)),
        h("td", {}, ago(command.createdAt)),
        h("td", {}, time(command.finishedAt)),
        h("td", { class: "result" }, command.errorCode ? `${command.errorCode}: ${command.errorMessage || ""}`
          : command.output ? JSON.stringify(command.output) : "—"))), { id: "commands-table" }));
}

function commandForm(path, refreshCommands, showError) {
  const argsInput = h("textarea", { name: "args", rows: 2, spellcheck: false }, argumentHints.ping);
  const name = select("name", commandNames.map((value) => [value, value]), "ping");
  name.addEventListener("change", () => { argsInput.value = argumentHints[name.value]; });
  const form = h("form", { class: "filters", id: "command-form" },
    field("Command", name), field("Arguments (JSON)", argsInput),
    field("Expires after (s)", h("input", { name: "ttlSeconds", type: "number", min: 1, max: 86400, value: 300 })),
    h("button", { type: "submit", id: "send-command" }, "Send"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    let commandArgs;
    try {
      commandArgs = JSON.parse(String(data.get("args") || "{}"));
    } catch {
      showError(new Error("the arguments are not valid JSON"));
      return;
    }
    try {
      await request(`${path}/commands`, {
        method: "POST", body: { name: String(data.get("name")), args: commandArgs, ttlSeconds: Number(data.get("ttlSeconds")) },
      });
      await refreshCommands();
    } catch (error) {
      showError(error);
    }
  });
  return form;
}

async function loadCertificates(container, path, device, signal, showError, reload) {
  const list = await request(`${path}/certificates`, { signal });
  const rows = list.items.map((certificate) => h("tr", { "data-serial": certificate.serial },
    h("td", { class: "mono" }, certificate.serial), h("td", {}, certificate.purpose),
    h("td", {}, time(certificate.notBefore)), h("td", {}, time(certificate.notAfter)),
    h("td", {}, certificate.revokedAt ? h("span", { class: "badge status-offline" }, `revoked ${time(certificate.revokedAt)}`) : "valid")));
  const actions = h("div", { class: "actions" });
  if (device.status !== "decommissioned") {
    actions.append(
      h("button", {
        type: "button", class: "danger", id: "revoke", onclick: async () => {
          if (!await confirmAction(`Revoke ${device.id}?`, "Its certificates are revoked and its broker session ended; it cannot reconnect until enrolled again.", "Revoke")) return;
          try {
            await request(`${path}/certificates/revoke`, { method: "POST" });
            await loadCertificates(container, path, await reload(), signal, showError, reload);
          } catch (error) { showError(error); }
        },
      }, "Revoke certificates"),
      h("button", {
        type: "button", class: "danger", id: "decommission", onclick: async () => {
          if (!await confirmAction(`Decommission ${device.id}?`, "The device is retired for good: revoked, and its readings refused from now on.", "Decommission")) return;
          try {
            await request(`${path}/decommission`, { method: "POST" });
            await loadCertificates(container, path, await reload(), signal, showError, reload);
          } catch (error) { showError(error); }
        },
      }, "Decommission"));
  }
  fill(container, rows.length ? table(["Serial", "Purpose", "Valid from", "Valid until", "State"], rows) : h("p", { class: "muted" }, "No certificates."), actions);
}

function cameraSection(path, device, showError) {
  const outcome = h("pre", { class: "mono", id: "stream-outcome", hidden: true });
  const control = (action) => async () => {
    try {
      const answer = await request(`${path}/streams/${action}`, { method: "POST", body: {} });
      outcome.textContent = answer && answer.offer ? answer.offer : `${action}: queued`;
      outcome.hidden = false;
    } catch (error) {
      if (error instanceof APIError) showError(error);
      else throw error;
    }
  };
  return h("section", { id: "camera" },
    h("h2", {}, "Camera"),
    current.can("operator") && device.status !== "decommissioned" ? h("div", { class: "actions" },
      h("button", { type: "button", id: "stream-start", onclick: control("start") }, "Start stream"),
      h("button", { type: "button", class: "secondary", id: "stream-stop", onclick: control("stop") }, "Stop stream")) : null,
    outcome,
    h("div", { class: "slot", id: "camera-player" }, device.status !== "decommissioned" ? livePlayer(path, device, showError) : null));
}
