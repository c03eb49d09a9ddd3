// Modal dialogs on <dialog>: the browser traps focus, Escape cancels, and
// focus returns to the button that opened it.
import { h, newId, replace } from './dom.js';

function open(dialog) {
  const opener = document.activeElement;
  const openerId = opener?.id;
  document.body.append(dialog);
  dialog.addEventListener('close', () => {
    dialog.remove();
    // A live update may have redrawn the opener meanwhile: find it again by id.
    const target = opener?.isConnected ? opener : openerId && document.getElementById(openerId);
    if (target) target.focus();
  });
  dialog.showModal();
}

/** Asks a yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, body, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const titleId = newId('dlg-title');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId, text: title }),
      ...[].concat(body).map((p) => (p instanceof Node ? p : h('p', { text: p }))),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'button secondary', text: 'Cancel' }),
        h('button', { type: 'submit', value: 'ok', class: `button ${danger ? 'danger' : 'primary'}`, text: confirmLabel })));
    dialog.append(form);
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'));
    open(dialog);
  });
}

/** The list of what deleting db removes, in the words of its objects. */
function removedItems(db) {
  const n = db.instances === 1 ? '1 instance' : `${db.instances} instances`;
  return h('ul', { class: 'removed' },
    h('li', {}, 'The PostgreSQL cluster ', h('code', { text: db.cluster_name }), ` (${n}, ${db.storage_size} of storage each) and all the data in it.`),
    h('li', {}, 'The connection pooler ', h('code', { text: db.pooler_name }), ' and its Services.'),
    h('li', {}, 'The credentials of user ', h('code', { text: db.connection?.user || db.name.replace(/-/g, '_') }), '; open connections are cut.'));
}

/**
 * The delete dialog: says what will be removed and enables Delete only when
 * the database's name is typed. onDelete() does the call and resolves to an
 * error message to show, or '' when done.
 */
export function deleteDialog(db, onDelete) {
  const titleId = newId('dlg-title');
  const inputId = newId('confirm-name');
  const input = h('input', { id: inputId, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': `${inputId}-msg` });
  const msg = h('p', { id: `${inputId}-msg`, class: 'field-error', role: 'alert', hidden: true });
  const del = h('button', { type: 'submit', class: 'button danger', disabled: true, text: `Delete ${db.name}` });
  const cancel = h('button', { type: 'button', class: 'button secondary', text: 'Cancel' });
  const form = h('form', { class: 'delete-form', novalidate: true },
    h('h2', { id: titleId }, 'Delete database ', h('code', { text: db.name }), '?'),
    h('p', {}, 'This removes the database of team ', h('strong', { text: db.owner_team }), ' from namespace ', h('code', { text: db.namespace }), ':'),
    removedItems(db),
    h('p', { class: 'warning-text', text: 'This cannot be undone. The record stays visible, read-only, under the "Deleted" filter.' }),
    h('div', { class: 'field' },
      h('label', { for: inputId }, 'Type ', h('strong', { text: db.name }), ' to confirm'),
      input, msg),
    h('div', { class: 'actions' }, cancel, del));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, form);
  const matches = () => input.value === db.name;
  input.addEventListener('input', () => { del.disabled = !matches(); msg.hidden = true; });
  cancel.addEventListener('click', () => dialog.close());
  const refuse = () => {
    replace(msg, 'The name does not match; nothing was deleted.');
    msg.hidden = false;
  };
  // Enter with a wrong name: the disabled button blocks the submit, so say why here.
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !matches()) { ev.preventDefault(); refuse(); }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!matches()) { refuse(); return; }
    del.disabled = true;
    del.textContent = 'Deleting…';
    const problem = await onDelete();
    if (!problem) { dialog.close(); return; }
    replace(msg, problem);
    msg.hidden = false;
    del.textContent = `Delete ${db.name}`;
    del.disabled = !matches();
  });
  open(dialog);
  input.focus();
  return dialog;
}
