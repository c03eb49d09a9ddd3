// The connection panel: only for a ready database. The password and the
// URIs that contain it stay hidden until revealed; copy buttons copy the
// real text. Nothing here ever puts the password in a URL or a log.
import { h, toast } from './dom.js';
import { maskUri, psqlCommand } from './format.js';
import { copyText } from './clipboard.js';

function copyButton(label, what, getText) {
  return h('button', {
    type: 'button', class: 'button secondary small', 'data-copy': what,
    onclick: async () => toast(await copyText(getText()) ? `Copied the ${what}.` : `Could not copy the ${what}; select it and copy by hand.`),
  }, label);
}

function secretRow(label, shown, secret) {
  const value = h('code', { class: 'secret', text: shown });
  value.dataset.hidden = 'true';
  return { value, row: [h('dt', { text: label }), h('dd', {}, value)] };
}

/** The panel for db (status ready, connection present). */
export function connectionPanel(db) {
  const c = db.connection;
  const pooled = secretRow('Pooled URI (PgBouncer)', maskUri(c.uri));
  const direct = c.direct ? secretRow('Direct URI (primary, session state)', maskUri(c.direct.uri)) : null;
  const password = secretRow('Password', '••••••••');
  const reveal = h('button', { type: 'button', class: 'button secondary small', 'aria-pressed': 'false', text: 'Reveal password' });
  reveal.addEventListener('click', () => {
    const show = reveal.getAttribute('aria-pressed') !== 'true';
    reveal.setAttribute('aria-pressed', String(show));
    reveal.textContent = show ? 'Hide password' : 'Reveal password';
    password.value.textContent = show ? c.password : '••••••••';
    pooled.value.textContent = show ? c.uri : maskUri(c.uri);
    if (direct) direct.value.textContent = show ? c.direct.uri : maskUri(c.direct.uri);
  });
  return h('section', { class: 'card connection', 'aria-labelledby': 'conn-title' },
    h('h2', { id: 'conn-title', text: 'Connect' }),
    h('p', { class: 'hint', text: 'Applications should use the pooled URI. Use the direct one for sessions that need session state (LISTEN, advisory locks, prepared statements across transactions).' }),
    h('dl', { class: 'kv' },
      pooled.row,
      h('dd', { class: 'copy-row' },
        copyButton('Copy URI', 'pooled URI', () => c.uri),
        copyButton('Copy psql command', 'psql command', () => psqlCommand(c.uri))),
      direct ? [direct.row, h('dd', { class: 'copy-row' }, copyButton('Copy direct URI', 'direct URI', () => c.direct.uri))] : null,
      h('dt', { text: 'Host' }), h('dd', {}, h('code', { text: c.host })),
      h('dt', { text: 'Port' }), h('dd', {}, h('code', { text: String(c.port) })),
      h('dt', { text: 'Database' }), h('dd', {}, h('code', { text: c.dbname })),
      h('dt', { text: 'User' }), h('dd', {}, h('code', { text: c.user })),
      password.row,
      h('dd', { class: 'copy-row' }, reveal),
      h('dt', { text: 'SSL mode' }), h('dd', {}, h('code', { text: c.sslmode }))));
}

/** What shows instead while the database cannot be connected to. */
export function notConnectable(db) {
  const why = {
    provisioning: 'It is still being provisioned; this panel fills in by itself when it is ready.',
    error: 'It is in error; see the reason above and the events below.',
    deleting: 'It is being deleted.',
    deleted: 'It is deleted.',
  }[db.status] || 'It is not ready.';
  return h('section', { class: 'card connection pending', 'aria-labelledby': 'conn-title' },
    h('h2', { id: 'conn-title', text: 'Connect' }),
    h('p', { class: 'empty', 'data-state': 'not-connectable' }, h('strong', { text: db.status === 'provisioning' ? 'Not connectable yet. ' : 'Not connectable. ' }), why));
}
