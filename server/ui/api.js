// The HTTP API client: the same endpoints, problem+json and OpenAPI
// document as every other client. Nothing here knows about the page.
import { getTeam } from './team.js';

/** A failed call: HTTP status (0 when the server did not answer) and the problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code || '';
    this.fields = Array.isArray(problem.errors) ? problem.errors : [];
  }

  /** The server has no such endpoint (a feature it does not have yet). */
  get isMissingEndpoint() {
    return this.status === 405 || this.status === 501 ||
      (this.status === 404 && /no such endpoint/i.test(this.problem.detail || ''));
  }
}

async function readBody(resp) {
  const type = resp.headers.get('Content-Type') || '';
  if (resp.status === 204 || resp.status === 304) return null;
  if (type.includes('json')) return resp.json();
  return { detail: (await resp.text()).slice(0, 200) };
}

/**
 * One call. Resolves {status, data, headers} for 2xx; rejects with ApiError
 * otherwise. The team goes in X-Daap-Team on every call; the server uses it
 * where ownership matters.
 */
export async function call(method, path, { body, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const team = getTeam();
  if (team) h['X-Daap-Team'] = team;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers: h, signal, cache: 'no-store', credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { title: 'daap-server is not answering', detail: 'daap-server is not answering; check that it is running.' });
  }
  let data = null;
  try {
    data = await readBody(resp);
  } catch {
    data = { detail: `unreadable ${resp.status} answer` };
  }
  if (!resp.ok) throw new ApiError(resp.status, data || {});
  return { status: resp.status, data, headers: resp.headers };
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Random hex from the platform's CSPRNG (also works off a secure context, unlike randomUUID). */
export function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const id = (s) => encodeURIComponent(s);

export const api = {
  list: (params, signal) => call('GET', `/databases${query(params)}`, { signal }).then((r) => r.data),
  get: (dbId, signal) => call('GET', `/databases/${id(dbId)}`, { signal }).then((r) => r.data),
  /** Server-side wait (DESIGN 11): answers when the revision differs from `revision`, or at the timeout. */
  wait: (dbId, revision, seconds, signal) =>
    call('GET', `/databases/${id(dbId)}${query({ wait: `${seconds}s`, revision })}`, { signal }).then((r) => r.data),
  /** The Idempotency-Key is an RFC 8941 string: a double submit creates one database. */
  create: (body, key) => call('POST', '/databases', { body, headers: { 'Idempotency-Key': `"${key}"` } }).then((r) => r.data),
  update: (dbId, patch) => call('PATCH', `/databases/${id(dbId)}`, { body: patch }).then((r) => r.data),
  remove: (dbId) => call('DELETE', `/databases/${id(dbId)}`).then((r) => ({ status: r.status, db: r.data })),
  events: (dbId, params, signal) => call('GET', `/databases/${id(dbId)}/events${query(params)}`, { signal }).then((r) => r.data),
  // No body: the endpoint takes none (docs/openapi.json).
  rotatePassword: (dbId) => call('POST', `/databases/${id(dbId)}/rotate-password`).then((r) => r.data),
  readyz: () => call('GET', '/readyz').then((r) => r.data),
};

let capsPromise = null;

/**
 * What this server offers beyond the basics, read from its own OpenAPI
 * document (a response of the server, not a version number): which fields
 * create and PATCH accept, and whether password rotation exists. Each feature
 * is also checked again when used (a 404/405/400 hides its control), so a
 * document that is wrong costs one failed click, not a broken page.
 */
export function capabilities() {
  if (!capsPromise) {
    capsPromise = call('GET', '/openapi.json').then((r) => parseCaps(r.data)).catch(() => parseCaps({}));
  }
  return capsPromise;
}

function props(doc, name) {
  const schema = doc?.components?.schemas?.[name];
  return new Set(Object.keys(schema?.properties || {}));
}

function parseCaps(doc) {
  const paths = doc.paths || {};
  const create = props(doc, 'CreateDatabase');
  const update = props(doc, 'UpdateDatabase');
  return {
    createFields: create.size ? create : new Set(['name', 'owner_team', 'purpose', 'instances', 'storage_size', 'pg_version']),
    updateFields: update.size ? update : new Set(['owner_team', 'purpose']),
    rotate: Boolean(paths['/databases/{id}/rotate-password']?.post),
    // events are not listed here: the timeline simply asks (events.js)
  };
}

/** Forget a feature at run time (its endpoint answered 404/405, or its field 400). */
export async function dropCapability(name, field) {
  const caps = await capabilities();
  if (field) caps[name].delete(field);
  else caps[name] = false;
}
