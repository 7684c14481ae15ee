// The admin API client: every request carries the token from sessionStorage
// as a bearer header (never in a URL), and asks caches to keep nothing.
const KEY = "callbridge.console.token";

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(value) { sessionStorage.setItem(KEY, value); }
export function clearToken() { sessionStorage.removeItem(KEY); }

/** An admin API answer other than 2xx: its status, error code and detail. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};
/** Called when the server refuses the token (401) on any request. */
export function onUnauthorized(handler) { unauthorized = handler; }

/** Calls `/admin/v1` + `path`; resolves to `{status, data}` or throws ApiError. */
export async function api(path, { method = "GET", body, candidate } = {}) {
  const headers = { "Accept": "application/json", "Authorization": "Bearer " + (candidate ?? token() ?? "") };
  const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/admin/v1" + path, init);
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.status === 401) {
    if (candidate === undefined) unauthorized();
    throw new ApiError(401, "unauthorized", "the admin token was refused");
  }
  if (!response.ok) {
    const code = data && typeof data.error === "string" ? data.error : "http_" + response.status;
    const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
    throw new ApiError(response.status, code, detail);
  }
  return { status: response.status, data };
}

/** `?a=1&b=2` from the non-empty members of `params`, or "". */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? "?" + text : "";
}

/** One path segment, percent-encoded (a `/` in an order id stays inside it). */
export function segment(value) { return encodeURIComponent(value); }
