// The create form: the fields of POST /databases. The name rules are shown
// as you type (the server still decides: every error in its problem+json
// errors[] lands next to its field). The Idempotency-Key is tied to the
// body, so a double click or a retry of the same form makes one database,
// while a changed form is a new request.
import { api, capabilities, randomKey } from './api.js';
import { h, replace } from './dom.js';
import { field, checkboxField, errorSummary, showProblem, clearErrors } from './forms.js';
import { pgName } from './format.js';
import { go } from './router.js';
import { getTeam } from './team.js';
import { remember } from './store.js';

const NAME_MAX = 45;

/** The name rules of DESIGN 5, each with whether `name` passes it. */
export function nameRules(name) {
  return [
    { ok: name.length >= 3 && name.length <= NAME_MAX, text: `3 to ${NAME_MAX} characters (now ${name.length})` },
    { ok: name.length > 0 && /^[a-z0-9-]*$/.test(name), text: 'only lowercase letters, digits and hyphens' },
    { ok: /^[a-z]/.test(name), text: 'starts with a letter' },
    { ok: /[a-z0-9]$/.test(name), text: 'ends with a letter or a digit' },
  ];
}

function rulesView(list, name) {
  replace(list, nameRules(name).map((r) => h('li', { class: r.ok ? 'ok' : 'bad' },
    h('span', { class: 'mark', 'aria-hidden': 'true', text: r.ok ? '✓' : '✗' }),
    h('span', { class: 'visually-hidden', text: r.ok ? 'met: ' : 'not met: ' }), r.text)));
}

function preview(box, v) {
  const name = v.name || '<name>';
  replace(box,
    h('h2', { id: 'preview-title', text: 'What will be created' }),
    h('ul', {},
      h('li', {}, 'A CloudNativePG cluster ', h('code', { text: `daap-${name}` }), ` with ${v.instances || 1} × ${v.storage_size || '1Gi'} of storage, PostgreSQL ${v.pg_version || '(server default)'}`),
      h('li', {}, 'A PgBouncer pooler ', h('code', { text: `daap-${name}-pooler` })),
      h('li', {}, 'A database and owner role ', h('code', { text: v.name ? pgName(v.name) : '<name>' }), ' with a random password'),
      h('li', { text: `Owned by team ${v.owner_team || '…'}: only that team can change or delete it` })));
}

function controls(caps) {
  const c = {
    name: h('input', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', maxlength: '63', required: true }),
    owner_team: h('input', { autocomplete: 'off', spellcheck: 'false', value: getTeam(), required: true }),
    purpose: h('textarea', { rows: '2', maxlength: '500', required: true }),
    instances: h('input', { type: 'number', min: '1', step: '1', value: '1', inputmode: 'numeric' }),
    storage_size: h('input', { value: '1Gi', list: 'size-presets', autocomplete: 'off', spellcheck: 'false' }),
    pg_version: h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', placeholder: 'server default' }),
  };
  if (caps.createFields.has('deletion_protection')) c.deletion_protection = h('input', { type: 'checkbox' });
  return c;
}

function values(c) {
  const body = { name: c.name.value.trim(), owner_team: c.owner_team.value.trim(), purpose: c.purpose.value.trim() };
  const int = (el) => (el.value === '' ? undefined : Number(el.value));
  if (c.instances.value !== '') body.instances = int(c.instances);
  if (c.storage_size.value.trim() !== '') body.storage_size = c.storage_size.value.trim();
  if (c.pg_version.value !== '') body.pg_version = int(c.pg_version);
  if (c.deletion_protection?.checked) body.deletion_protection = true;
  return body;
}

/** Renders the create page; returns the cleanup function. */
export function createPage(root) {
  const head = h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: 'New database' }));
  replace(root, head, h('p', { class: 'empty', text: 'Loading the form…' }));
  let alive = true;
  capabilities().then((caps) => { if (alive) build(root, head, caps); });
  return () => { alive = false; };
}

function build(root, head, caps) {
  const c = controls(caps);
  const rules = h('ul', { class: 'rules', id: 'name-rules' });
  const why = h('p', { class: 'hint', id: 'name-why' },
    `Why ${NAME_MAX}? Kubernetes names the cluster daap-<name>, and CloudNativePG caps a cluster name at 50 characters because its pods, jobs and Services add suffixes up to the 63-character limit.`);
  const fName = field('name', 'Name', c.name, 'Lowercase; it cannot be changed later.');
  fName.append(rules, why);
  c.name.setAttribute('aria-describedby', `${c.name.getAttribute('aria-describedby')} name-rules name-why`);
  const box = h('aside', { class: 'card preview', 'aria-labelledby': 'preview-title' });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Create database' });
  const summary = errorSummary();
  const form = h('form', { class: 'create-form', novalidate: true },
    summary,
    fName,
    field('owner_team', 'Owner team', c.owner_team, 'Lowercase letters, digits and hyphens. Only this team can change or delete the database.'),
    field('purpose', 'Purpose', c.purpose, 'What it is for, in a sentence, for whoever finds it in a year.'),
    h('fieldset', { class: 'size' },
      h('legend', { text: 'Size' }),
      field('instances', 'Instances', c.instances, '1 is a single primary; 2 or more add streaming replicas.'),
      field('storage_size', 'Storage per instance', c.storage_size, 'A Kubernetes quantity: 1Gi, 20Gi, 1Ti.'),
      field('pg_version', 'PostgreSQL major version', c.pg_version, 'Leave empty for the server default.')),
    c.deletion_protection
      ? checkboxField('deletion_protection', 'Deletion protection: refuse DELETE until it is turned off', c.deletion_protection)
      : null,
    h('datalist', { id: 'size-presets' }, ['1Gi', '5Gi', '20Gi', '100Gi'].map((v) => h('option', { value: v }))),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/', text: 'Cancel' }), submit));
  const refresh = () => { rulesView(rules, c.name.value); preview(box, values(c)); };
  form.addEventListener('input', refresh);
  refresh();

  let sent = null; // {key, body}: the same body reuses its key
  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return; // a second click while the first is in flight
    const body = values(c);
    const json = JSON.stringify(body);
    if (!sent || sent.json !== json) sent = { key: randomKey(), json };
    busy = true;
    submit.disabled = true;
    submit.textContent = 'Creating…';
    clearErrors(form);
    try {
      const db = await api.create(body, sent.key);
      remember(db);
      go(`#/db/${encodeURIComponent(db.id)}`);
    } catch (err) {
      showProblem(form, err, { already_exists: 'name', conflict: 'name' });
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = 'Create database';
    }
  });
  replace(root, head, h('div', { class: 'create-layout' }, form, box));
}
