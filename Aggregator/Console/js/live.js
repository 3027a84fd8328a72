// Live view of a camera: Janus's streaming plugin through the aggregator's relay at
// /api/v1/live/janus (janus.js from libjs-janus-gateway, with webrtc-adapter's global
// `adapter`). POST /devices/{id}/live starts or joins the camera's one mountpoint; the
// operator's token rides on every relayed call; the video element shows the stream.
import { APIError, authorizedFetch, current, request } from "./api.js";
import { h } from "./dom.js";

let initialized = null;

/** Janus.init once per page, with the console's authorized fetch for every Janus call. */
function initJanus() {
  if (!initialized) {
    initialized = new Promise((resolve) => {
      window.Janus.init({
        debug: false,
        dependencies: window.Janus.useDefaultDependencies({ fetch: authorizedFetch }),
        callback: resolve,
      });
    });
  }
  return initialized;
}

/** The Live button, the stop button for operators, the player and its status line. */
export function livePlayer(path, device, showError) {
  const video = h("video", { id: "live-video", class: "live-video", muted: true, autoplay: true, playsinline: true, hidden: true });
  video.muted = true;
  const status = h("p", { id: "live-status", class: "muted" }, "Not watching.");
  let janus = null;
  let handle = null;
  let watching = false;

  function close(text) {
    if (janus) janus.destroy({ cleanupHandles: true });
    janus = null;
    handle = null;
    watching = false;
    video.srcObject = null;
    video.hidden = true;
    status.textContent = text;
  }

  async function watch() {
    if (watching) return;
    watching = true;
    status.textContent = "Starting…";
    let live;
    try {
      live = await request(`${path}/live`, { method: "POST", body: {} });
    } catch (error) {
      watching = false;
      status.textContent = "Not watching.";
      if (error instanceof APIError) showError(error);
      else throw error;
      return;
    }
    await initJanus();
    let attached = false;
    janus = new window.Janus({
      server: location.origin + live.janusPath,
      withCredentials: false,
      error: (cause) => close(`Live view ended: ${cause}`),
      success: () => janus.attach({
        plugin: "janus.plugin.streaming",
        error: (cause) => close(`Live view failed: ${cause}`),
        success: (attachedHandle) => {
          handle = attachedHandle;
          status.textContent = "Connecting…";
          video.dataset.mountpoint = String(live.mountpoint);
          handle.send({ message: { request: "watch", id: live.mountpoint } });
        },
        onmessage: (message, jsep) => {
          if (message.error) close(`Live view failed: ${message.error}`);
          if (jsep && handle) {
            handle.createAnswer({
              jsep,
              tracks: [{ type: "data" }],
              success: (answer) => handle.send({ message: { request: "start" }, jsep: answer }),
              error: (cause) => close(`Live view failed: ${cause}`),
            });
          }
        },
        // janus.js reports one track twice: attach it once.
        onremotetrack: (track, mid, on) => {
          if (!on || track.kind !== "video" || attached) return;
          attached = true;
          video.srcObject = new MediaStream([track]);
          video.hidden = false;
          status.textContent = `Live: ${device.id}`;
          video.play().catch(() => {});
        },
        oncleanup: () => { attached = false; },
      }),
    });
  }

  async function stop() {
    close("Not watching.");
    try {
      await request(`${path}/live`, { method: "DELETE" });
      status.textContent = "Stopped for everyone.";
    } catch (error) {
      if (error instanceof APIError && error.status !== 404) showError(error);
      else if (!(error instanceof APIError)) throw error;
    }
  }

  return h("div", { id: "live" },
    h("div", { class: "actions" },
      h("button", { type: "button", id: "live-start", onclick: watch }, "Live"),
      h("button", { type: "button", class: "secondary", id: "live-leave", onclick: () => close("Not watching.") }, "Leave"),
      current.can("operator") ? h("button", { type: "button", class: "secondary", id: "live-stop", onclick: stop }, "Stop live view") : null),
    status, video);
}
