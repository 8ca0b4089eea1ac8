// The service's API as the dashboard uses it: the stored token, requests, and problem details as errors.
// URLs are relative to the page, so the dashboard also works behind a proxy that mounts the service under a path.

const TOKEN_KEY = 'easycontext.apiToken';

export function token() {
  return localStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) {
    localStorage.setItem(TOKEN_KEY, value);
  } else {
    localStorage.removeItem(TOKEN_KEY);
  }
}

/** A failed request: the HTTP status and the RFC 9457 problem the service answered with, if any. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.status = status;
    this.problem = problem || {};
  }

  /** [{field, message}] for a 400 that names fields. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

function describe(status, problem) {
  if (status === 401) {
    return token() ? 'The saved API token was refused (401): correct it or forget it.'
      : 'This needs an API token (401): enter the admin token above.';
  }
  if (status === 403) {
    return 'This token may not do this (403): it needs the admin role.';
  }
  return (problem && (problem.detail || problem.title)) || `HTTP ${status}`;
}

// The token goes with every request once saved, reads included: a service started with anonymous reads off needs it,
// and one with them on accepts it.
export function headers(extra = {}) {
  const h = { ...extra };
  if (token()) {
    h.Authorization = `Bearer ${token()}`;
  }
  return h;
}

export async function request(method, path, body, extraHeaders = {}) {
  const init = { method, headers: headers({ Accept: 'application/json', ...extraHeaders }) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = body;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, json);
  }
  return json;
}

export const get = (path) => request('GET', path);
// headers: the form's Idempotency-Key, so that a retried submission finds the job the first one made.
export const post = (path, body, headers) => request('POST', path, body, headers);

/**
 * Whether reads need a token: then images and downloads, which a plain link cannot authorise, are fetched with it.
 * Asked once, without the token.
 */
let readsNeedTokenAnswer;
export function readsNeedToken() {
  if (!readsNeedTokenAnswer) {
    readsNeedTokenAnswer = fetch('api/jobs?limit=1', { headers: { Accept: 'application/json' } })
      .then((r) => r.status === 401, () => false);
  }
  return readsNeedTokenAnswer;
}

/** An object URL for a file of the API, fetched with the token; the caller revokes it. */
export async function blobUrl(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) {
    throw new ApiError(response.status, null);
  }
  return URL.createObjectURL(await response.blob());
}
