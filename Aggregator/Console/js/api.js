// The API client: every datum the console shows comes through here from /api/v1.
//
// The access token lives in memory only. The refresh token is kept in sessionStorage (this
// tab only, gone when it closes) so that a reload does not log the operator out; each use
// rotates it. A 401 on a call refreshes once and retries; if that fails the session ends
// and the console shows the login form. A 429 waits for Retry-After and tries again.

const base = "/api/v1";
const refreshKey = "outpost.refreshToken";
const session = { access: null, name: null, role: null, mustChangePassword: false };
const signedOutListeners = new Set();
const noticeListeners = new Set();
let refreshing = null;

/** An error answered by the API: its status, stable code, message and request id. */
export class APIError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

const ranks = { viewer: 1, operator: 2, admin: 3 };

export const current = {
  get name() { return session.name; },
  get role() { return session.role; },
  get signedIn() { return session.access !== null; },
  get mustChangePassword() { return session.mustChangePassword; },
  /** Whether the signed-in role is at least `role`. */
  can(role) { return (ranks[session.role] || 0) >= ranks[role]; },
};

export function onSignedOut(listener) { signedOutListeners.add(listener); }
export function onNotice(listener) { noticeListeners.add(listener); }

function endSession() {
  const wasSignedIn = session.access !== null;
  session.access = null;
  session.name = null;
  session.role = null;
  session.mustChangePassword = false;
  sessionStorage.removeItem(refreshKey);
  if (wasSignedIn) signedOutListeners.forEach((listener) => listener());
}

async function errorFrom(response) {
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  const error = body && body.error ? body.error : {};
  return new APIError(response.status, error.code || "http_" + response.status,
    error.message || response.statusText || "request failed",
    error.requestId || response.headers.get("x-request-id") || "");
}

function retryAfterSeconds(response) {
  const value = Number.parseInt(response.headers.get("retry-after") || "1", 10);
  return Math.min(Math.max(Number.isFinite(value) ? value : 1, 1), 120);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(path, { method = "GET", body, query, signal, auth = true } = {}) {
  const url = new URL(base + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && session.access) headers.authorization = "Bearer " + session.access;
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store" });
}

async function adopt(tokens) {
  session.access = tokens.accessToken;
  session.role = tokens.role;
  session.mustChangePassword = tokens.mustChangePassword === true;
  sessionStorage.setItem(refreshKey, tokens.refreshToken);
  const me = await request("/me");
  session.name = me.name;
  session.role = me.role;
}

/** Exchanges the stored refresh token for a new pair; one exchange at a time. */
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = sessionStorage.getItem(refreshKey);
      if (!token) throw new APIError(401, "unauthenticated", "please log in", "");
      const response = await send("/auth/refresh", { method: "POST", body: { refreshToken: token }, auth: false });
      if (!response.ok) {
        const error = await errorFrom(response);
        if (error.status === 401 || error.status === 400) endSession();
        throw error;
      }
      const tokens = await response.json();
      session.access = tokens.accessToken;
      session.role = tokens.role;
      sessionStorage.setItem(refreshKey, tokens.refreshToken);
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Resumes a session from this tab's refresh token; false when there is none or it is refused. */
export async function resume() {
  if (!sessionStorage.getItem(refreshKey)) return false;
  try {
    await refresh();
    const me = await request("/me");
    session.name = me.name;
    session.role = me.role;
    return true;
  } catch {
    endSession();
    return false;
  }
}

export async function login(username, password) {
  const response = await send("/auth/login", { method: "POST", body: { username, password }, auth: false });
  if (!response.ok) throw await errorFrom(response);
  await adopt(await response.json());
}

export async function logout() {
  const token = sessionStorage.getItem(refreshKey);
  try {
    if (token) await send("/auth/logout", { method: "POST", body: { refreshToken: token }, auth: false });
  } finally {
    endSession();
  }
}

/** A call to the API: the decoded JSON body (null for 204), or an APIError. */
export async function request(path, options = {}) {
  let refreshed = false;
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const response = await send(path, options);
    if (response.status === 401) {
      const error = await errorFrom(response);
      // A wrong current password (POST /me/password) is the form's error, not a lost session.
      if (error.code === "invalid_credentials") throw error;
      if (!refreshed && sessionStorage.getItem(refreshKey)) {
        refreshed = true;
        await refresh();
        continue;
      }
      endSession();
      throw error;
    }
    if (response.status === 429) {
      const seconds = retryAfterSeconds(response);
      noticeListeners.forEach((listener) => listener(`Too many requests: trying again in ${seconds} s`));
      await sleep(seconds * 1000);
      noticeListeners.forEach((listener) => listener(null));
      continue;
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (error.status === 403 && error.code === "password_change_required") session.mustChangePassword = true;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }
  throw new APIError(429, "rate_limited", "the API kept refusing for too many requests", "");
}

/**
 * fetch for janus.js (live view): same-origin calls under /api/v1 with the access token in
 * the Authorization header, refreshed once on a 401.
 */
export async function authorizedFetch(url, options = {}) {
  const target = new URL(url, location.origin);
  if (target.origin !== location.origin || !target.pathname.startsWith(base + "/")) throw new TypeError("not an API URL");
  const call = () => fetch(target, { ...options, headers: { ...(options.headers || {}), authorization: "Bearer " + session.access } });
  const response = await call();
  if (response.status !== 401 || !sessionStorage.getItem(refreshKey)) return response;
  await refresh();
  return call();
}

/**
 * The live events (`GET /events`), as Server-Sent Events read through fetch so that the
 * access token goes in the Authorization header, never in a URL. Calls `onEvent(type, data)`
 * for each event and reconnects (refreshing the token when needed) until `signal` aborts.
 */
export async function streamEvents({ device, signal, onEvent }) {
  while (!signal.aborted) {
    try {
      const response = await send("/events", { query: { device }, signal });
      if (response.status === 401 && sessionStorage.getItem(refreshKey)) { await refresh(); continue; }
      if (!response.ok) throw await errorFrom(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length) onEvent(type, JSON.parse(data.join("\n")));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof APIError && error.status === 401) return;
    }
    if (!signal.aborted) await sleep(2000);
  }
}
