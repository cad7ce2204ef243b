// The operator API as the pages use it: the token from sessionStorage as a bearer token,
// JSON in and out, a 401 sends the operator back to the login page.

const TOKEN_KEY = "opencsms.token";
const BASE = "/api/v1";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx: `status`, the API's `detail` sentence, and the whole `body`. */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

function detailOf(status, body) {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = body.detail;
    if (typeof detail === "string") return detail;
    // FastAPI's 422: a list of {loc, msg}.
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    }
    return JSON.stringify(detail);
  }
  return typeof body === "string" && body ? body : `HTTP ${status}`;
}

/** Listeners told when the token is refused (the app shows the login page). */
const unauthorized = new Set();
export function onUnauthorized(listener) {
  unauthorized.add(listener);
}

/**
 * Call the API: api("/stations"), api("/stations/X/commands/reset", {method: "POST", body}).
 * Resolves to the parsed JSON (null for an empty answer); rejects with ApiError.
 */
export async function api(path, { method = "GET", body, signal, tokenOverride } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = tokenOverride ?? token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (response.status === 401 && tokenOverride === undefined) {
    for (const listener of unauthorized) listener();
  }
  if (!response.ok) throw new ApiError(response.status, detailOf(response.status, data), data);
  return data;
}

/**
 * An endpoint that may not exist on this CSMS (alerts, tariffs, costs, fleet state come with
 * newer versions): resolves to null on 404/405 so the page says "not available".
 */
export async function optional(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
}

/** The URL of a server-sent event stream with the token as a query parameter (EventSource
 * cannot send headers). */
export function streamUrl(path) {
  return `${BASE}${path}?token=${encodeURIComponent(token() || "")}`;
}

/** A path segment, escaped. */
export const seg = encodeURIComponent;

/**
 * Fetch `path` with the token and hand it to the browser as the file `filename` (exports: a
 * link cannot carry the bearer token). Resolves to the size in bytes; rejects with ApiError.
 */
export async function download(path, filename) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(BASE + path, { headers, cache: "no-store" });
  if (!response.ok) {
    const text = await response.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    if (response.status === 401) for (const listener of unauthorized) listener();
    throw new ApiError(response.status, detailOf(response.status, body), body);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // the browser has started the download once click() returns; free the blob afterwards
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}
