// Hash routing, so the server serves one index.html:
//   #/              the list (filters in the query: #/?team=a&status=ready&name=or)
//   #/new           the create form
//   #/db/<id>       one database

/** The current route: {page, id, params}. */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const params = new URLSearchParams(qs || '');
  if (path === '/new') return { page: 'new', params };
  const m = path.match(/^\/db\/([^/]+)$/);
  if (m) return { page: 'db', id: decodeURIComponent(m[1]), params };
  return { page: 'list', params };
}

/** Goes to a route (adds a history entry). */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** Rewrites the current URL's query without a new history entry or a re-render. */
export function setQuery(page, params) {
  const qs = params.toString();
  history.replaceState(null, '', `#${page}${qs ? `?${qs}` : ''}`);
}

/** The link to a database's page. */
export function dbHref(db) {
  const base = `#/db/${encodeURIComponent(db.id)}`;
  return db.status === 'deleted' || db.deleted_at ? `${base}?name=${encodeURIComponent(db.name)}` : base;
}
