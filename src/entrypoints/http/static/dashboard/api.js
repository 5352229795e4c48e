// The one door to the service: every request of the dashboard goes through here (same origin only).
// Auth: with the cookie session (POST /api/auth/session) the browser sends the cookie and writes carry the
// CSRF cookie's value in X-CSRF-Token; without that route, a token kept in sessionStorage goes in
// X-Stage1-Token (the fallback until the session route is on main).

const TOKEN_KEY = "stage1.token";

// Whether the last /api answer asked for a token (null: not known yet). The server counts every request
// without a valid token against the client's address and locks it out after a few, so the shell reuses
// what the pages learnt instead of probing.
export const authState = { required: null };

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.details = body ? body.details : null;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function cookie(name) {
  const hit = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
}

export function authHeaders(method = "GET") {
  const headers = {};
  const token = storedToken();
  if (token) headers["X-Stage1-Token"] = token;
  const csrf = cookie("stage1_csrf");
  if (csrf && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
  return headers;
}

export async function request(method, path, { query, json, body, headers, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const init = { method, headers: { ...authHeaders(method), ...(headers || {}) }, signal, credentials: "same-origin" };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
  }
  if (path.startsWith("/api/")) authState.required = response.status === 401 ? true : response.ok ? false : authState.required;
  if (!response.ok) {
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const get = (path, query, options = {}) => request("GET", path, { ...options, query });
export const post = (path, json, query) => request("POST", path, { json, query });

// What the running service offers, read from its own OpenAPI document: features other work is adding
// (run search, compare, import preview, cookie sessions) light up as soon as they are on the server.
let capabilitiesPromise = null;

export function capabilities() {
  if (!capabilitiesPromise) {
    capabilitiesPromise = fetch("/schema/openapi.json", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { paths: {} }))
      .then((doc) => {
        const paths = doc.paths || {};
        const params = (path, method) =>
          new Set(((paths[path] || {})[method] || { parameters: [] }).parameters?.map((p) => p.name) || []);
        const runList = params("/api/runs", "get");
        const importParams = params("/api/questdb/import/async", "post");
        return {
          runFilter: runList.has("filter") && runList.has("order_by"),
          runFields: runList.has("fields"),
          runCompare: Boolean(paths["/api/runs/compare"]),
          importDryRun: importParams.has("dry_run") || params("/api/questdb/import", "post").has("dry_run"),
          session: Boolean((paths["/api/auth/session"] || {}).post),
        };
      });
  }
  return capabilitiesPromise;
}
