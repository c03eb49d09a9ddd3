// The list: filters mapped to the API's (owner_team, status, name prefix,
// include_deleted), keyset paging through next_cursor, and a refresh every
// few seconds so a database turning ready changes its badge by itself.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { age, size, when } from './format.js';
import { badge } from './status.js';
import { every } from './live.js';
import { dbHref, setQuery } from './router.js';
import { getTeam } from './team.js';
import { remember } from './store.js';

const REFRESH_MS = 3000;
const PAGE_SIZE = 20;
const STATUSES = [
  ['', 'All live (not deleted)'],
  ['provisioning', 'Provisioning'],
  ['ready', 'Ready'],
  ['error', 'Error'],
  ['deleting', 'Deleting'],
  ['deleted', 'Deleted (read-only)'],
];

function apiParams(f, cursor) {
  return {
    owner_team: f.team, status: f.status, name: f.name, limit: PAGE_SIZE, cursor,
    include_deleted: f.status === 'deleted' ? 'true' : undefined,
  };
}

function row(db) {
  const deleted = db.status === 'deleted';
  return h('tr', { 'data-id': db.id, 'data-revision': db.revision, class: deleted ? 'deleted' : undefined },
    h('th', { scope: 'row', 'data-label': 'Name' }, h('a', { href: dbHref(db), text: db.name })),
    h('td', { 'data-label': 'Status' }, badge(db)),
    h('td', { 'data-label': 'Team', text: db.owner_team }),
    h('td', { 'data-label': 'Purpose', class: 'purpose', text: db.purpose }),
    h('td', { 'data-label': 'Size' }, h('span', {}, size(db), h('span', { class: 'muted', text: ` · PG ${db.pg_version}` }))),
    h('td', { 'data-label': 'Age' }, h('time', { datetime: db.created_at, title: when(db.created_at), text: age(db.created_at) })));
}

function filtersForm(f, onChange) {
  const team = h('input', { id: 'f-team', type: 'search', value: f.team, autocomplete: 'off', spellcheck: 'false', placeholder: 'any team' });
  const mine = h('button', { type: 'button', class: 'button secondary small', text: 'Mine' });
  const status = h('select', { id: 'f-status' }, STATUSES.map(([v, label]) => h('option', { value: v, selected: v === f.status, text: label })));
  const name = h('input', { id: 'f-name', type: 'search', value: f.name, autocomplete: 'off', spellcheck: 'false', placeholder: 'name starts with…' });
  let timer = null;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange({ team: team.value.trim(), status: status.value, name: name.value.trim().toLowerCase() }), 250);
  };
  team.addEventListener('input', changed);
  name.addEventListener('input', changed);
  status.addEventListener('change', changed);
  mine.addEventListener('click', () => { team.value = getTeam(); changed(); });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter databases', onsubmit: (e) => { e.preventDefault(); changed(); } },
    h('div', { class: 'field' }, h('label', { for: 'f-team', text: 'Team' }), h('div', { class: 'inline' }, team, mine)),
    h('div', { class: 'field' }, h('label', { for: 'f-status', text: 'Status' }), status),
    h('div', { class: 'field' }, h('label', { for: 'f-name', text: 'Name' }), name));
  form.reset = () => { team.value = ''; name.value = ''; status.value = ''; changed(); };
  return form;
}

/** Renders the list page into root; returns the cleanup function. */
export function listPage(root, params) {
  const f = { team: params.get('team') || '', status: params.get('status') || '', name: params.get('name') || '' };
  const cursors = [null]; // cursors[i] opens page i; keyset paging has no "page 3", only next
  const region = h('div', { class: 'results', 'aria-busy': 'true' },
    h('p', { class: 'empty', 'data-state': 'loading', text: 'Loading databases…' }));
  const prev = h('button', { type: 'button', class: 'button secondary', disabled: true, text: '← Previous' });
  const next = h('button', { type: 'button', class: 'button secondary', disabled: true, text: 'Next →' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next);
  let shown = new Map(); // id -> revision on screen, so a refresh only redraws what changed
  let seq = 0;

  const filters = filtersForm(f, (nf) => {
    Object.assign(f, nf);
    const q = new URLSearchParams();
    for (const k of ['team', 'status', 'name']) if (f[k]) q.set(k, f[k]);
    setQuery('/', q);
    cursors.length = 1;
    load(true);
  });

  function emptyState() {
    const filtered = f.team || f.status || f.name;
    return h('div', { class: 'empty-state', 'data-state': 'empty' },
      h('p', { class: 'empty-title', text: filtered ? 'No databases match these filters.' : 'No databases yet.' }),
      filtered
        ? h('button', { type: 'button', class: 'button secondary', text: 'Clear filters', onclick: () => filters.reset() })
        : [h('p', { text: 'A database takes a name, your team and a sentence about what it is for. It is ready to connect to in a few seconds.' }),
          h('a', { class: 'button primary', href: '#/new', text: 'Create the first database' })]);
  }

  function table(items) {
    return h('table', { class: 'db-table', 'data-state': 'ready' },
      h('caption', { class: 'visually-hidden', text: `Databases, page ${cursors.length}` }),
      h('thead', {}, h('tr', {}, ['Name', 'Status', 'Team', 'Purpose', 'Size', 'Age'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, items.map(row)));
  }

  // A refresh patches changed rows in place, so focus and scroll stay put.
  function patch(items) {
    const tbody = region.querySelector('tbody');
    const same = tbody && items.length === shown.size && items.every((db) => shown.has(db.id));
    if (!same) return false;
    for (const db of items) {
      if (shown.get(db.id) === db.revision) continue;
      tbody.querySelector(`tr[data-id="${CSS.escape(db.id)}"]`).replaceWith(row(db));
    }
    return true;
  }

  async function load(reset) {
    const mine = ++seq;
    if (reset) region.setAttribute('aria-busy', 'true');
    try {
      const page = await api.list(apiParams(f, cursors[cursors.length - 1]));
      if (mine !== seq) return; // a newer request has been made
      page.items.forEach(remember);
      if (reset || !patch(page.items)) replace(region, page.items.length ? table(page.items) : emptyState());
      shown = new Map(page.items.map((db) => [db.id, db.revision]));
      next.disabled = !page.next_cursor;
      next.dataset.cursor = page.next_cursor || '';
      prev.disabled = cursors.length === 1;
    } catch (err) {
      if (mine !== seq) return;
      shown = new Map();
      replace(region, h('div', { class: 'empty-state error', 'data-state': 'error', role: 'alert' },
        h('p', { class: 'empty-title', text: 'Could not load the databases.' }),
        h('p', { text: err.message }),
        h('button', { type: 'button', class: 'button secondary', text: 'Try again', onclick: () => load(true) })));
    } finally {
      if (mine === seq) region.removeAttribute('aria-busy');
    }
  }

  next.addEventListener('click', () => { cursors.push(next.dataset.cursor); load(true); });
  prev.addEventListener('click', () => { cursors.pop(); load(true); });

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', { tabindex: '-1', text: 'Databases' }),
      h('a', { class: 'button primary', href: '#/new', text: 'New database' })),
    filters, region, pager);
  load(true);
  return every(REFRESH_MS, () => load(false));
}
