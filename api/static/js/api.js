// Thin fetch wrappers for /api/v1: JSON in and out, errors carry the API's {"detail"}
// and, for efir's own errors, a stable "code" and the message in each language.

import { currentLanguage } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, detail, body = {}) {
    super(body.message?.[currentLanguage()] || describeDetail(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.code = body.code;
    this.body = body;
  }

  // An error read from a JSON body (fetch or XMLHttpRequest alike).
  static from(status, body, fallback) {
    return new ApiError(status, body?.detail ?? fallback, body && typeof body === "object" ? body : {});
  }
}

// FastAPI sends a string for our own errors and a list of {loc, msg} for validation errors.
function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  return detail ? JSON.stringify(detail) : "";
}

export async function errorFromResponse(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the status text.
  }
  return ApiError.from(response.status, body, response.statusText);
}

export async function requestJSON(url, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return null;
  return response.json();
}

// Collections come bare ([...]) or paged as {data: [...], count}.
export function listOf(payload) {
  if (Array.isArray(payload)) return payload;
  return Array.isArray(payload?.data) ? payload.data : [];
}
