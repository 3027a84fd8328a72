// A camera's recordings: the storage totals and mode, a timeline of segments with their
// thumbnails, a player, and deletion with confirmation (operators).
//
// Segments and thumbnails need the access token, which lives in memory only: they are fetched
// through authorizedFetch (token in the Authorization header, never in a URL) and shown from
// blob: URLs, which are revoked when replaced.
import { APIError, authorizedFetch, current, request } from "./api.js";
import { confirmAction, field, fill, h, select, time } from "./dom.js";

const hours = 24;
const pageSize = 200;

function megabytes(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** A blob: URL of an API file, or null when the API refuses it. */
async function blobURL(apiPath) {
  const response = await authorizedFetch(apiPath);
  if (!response.ok) return null;
  return URL.createObjectURL(await response.blob());
}

export function recordingsSection(path, device, showError) {
  const totals = h("p", { id: "recordings-totals", class: "muted" }, "Loading…");
  const timeline = h("ol", { id: "recordings-timeline", class: "recordings-timeline" });
  const player = h("video", { id: "recording-video", class: "live-video", controls: true, playsinline: true, hidden: true });
  const playing = h("p", { id: "recording-playing", class: "muted" });
  const urls = new Set();

  function track(url) {
    if (url) urls.add(url);
    return url;
  }

  function forget() {
    for (const url of urls) URL.revokeObjectURL(url);
    urls.clear();
  }

  function failed(error) {
    if (error instanceof APIError) showError(error);
    else throw error;
  }

  async function play(recording) {
    playing.textContent = `Loading ${time(recording.startedAt)}…`;
    const url = track(await blobURL(recording.videoPath));
    if (!url) {
      playing.textContent = "This segment is no longer available.";
      return;
    }
    player.src = url;
    player.hidden = false;
    player.dataset.recording = recording.id;
    playing.textContent = `${time(recording.startedAt)} – ${time(recording.endedAt)}`;
    player.play().catch(() => {});
  }

  async function remove(recording) {
    const confirmed = await confirmAction("Delete recording",
      `Delete the segment of ${device.id} from ${time(recording.startedAt)}? The file is removed for good.`, "Delete");
    if (!confirmed) return;
    try {
      await request(`/recordings/${recording.id}`, { method: "DELETE" });
    } catch (error) {
      failed(error);
    }
    await load();
  }

  function item(recording) {
    if (recording.state === "recording") {
      return h("li", { class: "recording muted", "data-recording": recording.id }, `Recording since ${time(recording.startedAt)}…`);
    }
    const image = h("img", { alt: `Segment from ${time(recording.startedAt)}`, class: "recording-thumbnail", width: 160 });
    if (recording.thumbnailPath) {
      blobURL(recording.thumbnailPath).then((url) => { if (url) image.src = track(url); }).catch(() => {});
    }
    return h("li", { class: "recording", "data-recording": recording.id },
      h("button", { type: "button", class: "recording-play", onclick: () => play(recording).catch(failed) }, image,
        h("span", {}, `${time(recording.startedAt)} · ${(recording.durationMs / 1000).toFixed(1)} s · ${megabytes(recording.bytes)}`)),
      current.can("operator")
        ? h("button", { type: "button", class: "secondary recording-delete", onclick: () => remove(recording).catch(failed) }, "Delete")
        : null);
  }

  async function load() {
    forget();
    try {
      const setting = await request(`${path}/recording`);
      const deleted = Object.entries(setting.deletions).map(([reason, count]) => `${reason} ${count}`).join(", ") || "none";
      totals.textContent = `Mode ${setting.mode}${setting.until ? ` until ${time(setting.until)}` : ""} · ${setting.segments} segments, `
        + `${megabytes(setting.bytes)} · oldest ${time(setting.oldestStartedAt)} · deleted: ${deleted}`;
      modeSelect.value = setting.mode;
      const items = [];
      let cursor = null;
      const from = new Date(Date.now() - hours * 3600 * 1000).toISOString();
      do {
        const page = await request(`${path}/recordings`, { query: { from, cursor, limit: pageSize } });
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && items.length < 1000);
      items.reverse();
      fill(timeline, items.length ? items.map(item) : h("li", { class: "muted" }, `No recordings in the last ${hours} h.`));
    } catch (error) {
      if (error instanceof APIError && error.code === "recordings_unavailable") {
        totals.textContent = "Recording is not enabled on this aggregator.";
        return;
      }
      failed(error);
    }
  }

  const modeSelect = select("mode", [["off", "off"], ["continuous", "continuous"], ["on_demand", "on demand"]], "off");
  modeSelect.id = "recording-mode";
  const duration = h("input", { type: "number", id: "recording-duration", name: "durationSeconds", min: 10, max: 86400, value: 3600 });
  async function saveMode(event) {
    event.preventDefault();
    const body = { mode: modeSelect.value };
    if (body.mode === "on_demand") body.durationSeconds = Number(duration.value);
    try {
      await request(`${path}/recording`, { method: "PUT", body });
    } catch (error) {
      failed(error);
    }
    await load();
  }

  load().catch(failed);
  return h("section", { id: "recordings" },
    h("h2", {}, "Recordings"),
    totals,
    current.can("operator")
      ? h("form", { class: "actions", id: "recording-form", onsubmit: saveMode },
        field("Mode", modeSelect), field("On demand for (s)", duration), h("button", { type: "submit" }, "Set"))
      : null,
    playing, player, timeline);
}
