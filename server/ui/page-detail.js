// One database: the whole record, the connection panel (ready only), the
// owner's settings, the delete dialog and the events timeline, all kept
// live (live.js). A deleted database answers 404 to GET, so it is found
// again through the list with include_deleted and shown read-only.
import { api } from './api.js';
import { h, replace, toast } from './dom.js';
import { when } from './format.js';
import { badge } from './status.js';
import { follow } from './live.js';
import { connectionPanel, notConnectable } from './connection.js';
import { timeline } from './events.js';
import { settingsCard } from './settings.js';
import { deleteDialog } from './dialogs.js';
import { permission, onTeamChange } from './team.js';
import { recall, remember } from './store.js';
import { go } from './router.js';

// The record's fields in reading order; any field a newer server adds is
// shown after them, so the page always shows the whole record.
const FIELDS = [
  ['id', 'ID'], ['name', 'Name'], ['owner_team', 'Owner team'], ['purpose', 'Purpose'],
  ['status', 'Status'], ['status_reason', 'Status reason'], ['deletion_protection', 'Deletion protection'],
  ['instances', 'Instances'], ['storage_size', 'Storage per instance'], ['pg_version', 'PostgreSQL'],
  ['namespace', 'Namespace'], ['cluster_name', 'CNPG cluster'], ['pooler_name', 'Pooler'],
  ['created_at', 'Created'], ['ready_at', 'Ready since'], ['updated_at', 'Updated'], ['deleted_at', 'Deleted'],
  ['revision', 'Revision'],
];
const TIMES = new Set(['created_at', 'ready_at', 'updated_at', 'deleted_at']);

function display(key, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (TIMES.has(key)) return h('time', { datetime: value, text: when(value) });
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function detailsCard(db) {
  const known = new Set(FIELDS.map(([k]) => k).concat('connection'));
  const rows = FIELDS.filter(([k]) => k in db).concat(Object.keys(db).filter((k) => !known.has(k)).map((k) => [k, k]));
  return h('section', { class: 'card details', 'aria-labelledby': 'details-title' },
    h('h2', { id: 'details-title', text: 'Details' }),
    h('dl', { class: 'kv' }, rows.map(([k, label]) => [h('dt', { text: label }), h('dd', { 'data-key': k }, display(k, db[k]))])));
}

/** Finds a soft-deleted record by id, through the list (GET answers 404 for it). */
async function findDeleted(id, name) {
  if (!name) return null;
  let cursor;
  for (let i = 0; i < 10; i++) { // names are prefixes: a few pages at most
    const page = await api.list({ name, include_deleted: 'true', limit: 100, cursor });
    const db = page.items.find((d) => d.id === id);
    if (db || !page.next_cursor) return db || null;
    cursor = page.next_cursor;
  }
  return null;
}

/** Renders the detail page of id into root; returns the cleanup function. */
export function detailPage(root, id, params) {
  const ctx = { db: null, show: null };
  const stops = [];
  let view = null;

  function header(db) {
    const p = permission(db);
    const protectedNow = db.deletion_protection === true;
    const reasonText = !p.allowed ? p.reason : protectedNow ? 'Deletion protection is on; turn it off in Settings first.' : '';
    const del = h('button', { type: 'button', class: 'button danger', id: 'delete-button', text: 'Delete…', disabled: Boolean(reasonText) });
    if (reasonText) del.setAttribute('aria-describedby', 'delete-reason');
    del.addEventListener('click', () => deleteDialog(ctx.db, doDelete));
    return h('div', { class: 'page-head detail-head' },
      h('div', {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/', text: 'Databases' }), ' / '),
        h('h1', { tabindex: '-1' }, h('span', { class: 'db-name', text: db.name }), ' ', badge(db)),
        h('p', { class: 'status-reason', 'data-role': 'status-reason', text: db.status_reason || '' })),
      h('div', { class: 'head-actions' }, del,
        reasonText ? h('p', { class: 'reason', id: 'delete-reason', text: reasonText }) : null));
  }

  async function doDelete() {
    try {
      const r = await api.remove(ctx.db.id);
      toast(`${ctx.db.name} is being deleted.`);
      if (r.db) show(r.db);
      else gone();
      return '';
    } catch (err) {
      return err.code === 'deletion_protected' ? `${err.message}` : `Not deleted: ${err.message}`;
    }
  }

  // The layout is built once; later revisions redraw its parts in place so
  // the settings forms keep what is being typed and the password its state.
  function build(db) {
    view = {
      head: header(db),
      conn: db.status === 'ready' && db.connection ? connectionPanel(db) : notConnectable(db),
      details: detailsCard(db),
      settings: settingsCard(ctx),
      events: timeline(db.id),
    };
    replace(root, view.head, h('div', { class: 'detail-grid' },
      h('div', { class: 'col' }, view.conn, view.details, view.settings.el),
      h('div', { class: 'col' }, view.events.el)));
    root.dataset.status = db.status;
  }

  // Redraws a part; keyboard focus inside it moves to the new element with the same id.
  function swap(key, el) {
    const focused = view[key].contains(document.activeElement) ? document.activeElement.id : '';
    view[key].replaceWith(el);
    view[key] = el;
    if (focused) document.getElementById(focused)?.focus();
  }

  function show(db) {
    const before = ctx.db;
    ctx.db = db;
    remember(db);
    document.title = `${db.name} · daap console`;
    if (!view) { build(db); return; }
    swap('head', header(db));
    const connChanged = before.status !== db.status || JSON.stringify(before.connection) !== JSON.stringify(db.connection);
    if (connChanged) swap('conn', db.status === 'ready' && db.connection ? connectionPanel(db) : notConnectable(db));
    swap('details', detailsCard(db));
    view.settings.update(db);
    if (before.revision !== db.revision) view.events.refresh();
    root.dataset.status = db.status;
  }
  ctx.show = show;

  async function gone() {
    stops.forEach((s) => s());
    const name = params.get('name') || ctx.db?.name || recall(id)?.name;
    let db = null;
    try { db = await findDeleted(id, name); } catch { db = null; }
    if (db) {
      show({ ...db, connection: undefined });
      return;
    }
    replace(root, h('div', { class: 'empty-state', 'data-state': 'not-found' },
      h('h1', { tabindex: '-1', text: 'No such database' }),
      h('p', { text: 'No live database has this id. If it was deleted, it is listed under the "Deleted" filter.' }),
      h('a', { class: 'button secondary', href: '#/?status=deleted', text: 'Show deleted databases' })));
  }

  function start(db) {
    show(db);
    if (db.status === 'deleted') return;
    stops.push(follow(db.id, db.revision, {
      onChange: show,
      onGone: gone,
      onError: (err) => toast(`Live updates paused: ${err.message}`),
    }));
  }

  const early = recall(id); // just created: show it now, before the GET
  if (early) start(early);
  else replace(root, h('p', { class: 'empty', 'data-state': 'loading', text: 'Loading the database…' }));
  api.get(id).then((db) => {
    if (!early) start(db);
    else if (db.revision !== ctx.db.revision || (db.connection && !ctx.db.connection)) show(db);
  }).catch((err) => {
    if (err.status === 404) gone();
    else if (!early) {
      replace(root, h('div', { class: 'empty-state error', role: 'alert', 'data-state': 'error' },
        h('h1', { tabindex: '-1', text: 'Could not load the database' }), h('p', { text: err.message }),
        h('button', { type: 'button', class: 'button secondary', text: 'Try again', onclick: () => go(location.hash) })));
    }
  });
  stops.push(onTeamChange(() => { if (ctx.db) { swap('head', header(ctx.db)); view.settings.update(ctx.db); } }));
  return () => stops.forEach((s) => s());
}
