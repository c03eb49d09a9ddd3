// Form fields with a label, a hint and a slot for the server's error, wired
// with aria-describedby and aria-invalid so screen readers say both.
import { h, newId, replace } from './dom.js';

/**
 * A labelled field. `control` is an input/select/textarea; `name` is the
 * API field the server names in problem+json errors[].
 */
export function field(name, label, control, hint) {
  const id = control.id || newId(`f-${name}`);
  control.id = id;
  control.name = name;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  control.setAttribute('aria-describedby', [hintEl?.id, errorEl.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field', 'data-field': name },
    h('label', { for: id, text: label }), control, hintEl, errorEl);
  wrap.control = control;
  wrap.errorEl = errorEl;
  return wrap;
}

/** Removes every error shown in form. */
export function clearErrors(form) {
  for (const wrap of form.querySelectorAll('.field')) setError(wrap, '');
  const summary = form.querySelector('.error-summary');
  if (summary) summary.hidden = true;
}

/** Shows msg under the field (or clears it when msg is empty). */
export function setError(wrap, msg) {
  wrap.errorEl.textContent = msg;
  wrap.errorEl.hidden = !msg;
  wrap.classList.toggle('invalid', Boolean(msg));
  if (msg) wrap.control.setAttribute('aria-invalid', 'true');
  else wrap.control.removeAttribute('aria-invalid');
}

/** An error summary box, filled by showProblem. */
export function errorSummary() {
  return h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
}

/**
 * Puts each entry of the problem's errors[] next to its field, and a summary
 * with links on top; errors for fields the form does not have, and a
 * problem without errors[], go in the summary. `extra` maps a problem code
 * to a field (409 already_exists belongs to "name"). Focuses the summary.
 */
export function showProblem(form, err, extra = {}) {
  clearErrors(form);
  const fields = err.fields.length ? err.fields
    : extra[err.code] ? [{ field: extra[err.code], message: err.message }] : [];
  const items = [];
  for (const fe of fields) {
    const wrap = form.querySelector(`.field[data-field="${CSS.escape(fe.field)}"]`);
    if (wrap) {
      setError(wrap, fe.message);
      items.push(h('li', {}, h('a', { href: `#${wrap.control.id}`, onclick: focusField(wrap.control) }, fe.message)));
    } else {
      items.push(h('li', { text: `${fe.field}: ${fe.message}` }));
    }
  }
  const summary = form.querySelector('.error-summary');
  if (!summary) return;
  const title = items.length === 1 ? 'Fix this to continue:' : items.length ? `Fix these ${items.length} things to continue:` : err.message;
  replace(summary, h('p', { class: 'error-title', text: title }), items.length ? h('ul', {}, items) : null);
  summary.hidden = false;
  summary.focus();
}

function focusField(control) {
  return (ev) => { ev.preventDefault(); control.focus(); };
}

/** A checkbox with its label after it, and the same error slot as field(). */
export function checkboxField(name, label, control) {
  const id = control.id || newId(`f-${name}`);
  control.id = id;
  control.name = name;
  control.type = 'checkbox';
  const errorEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  control.setAttribute('aria-describedby', errorEl.id);
  const wrap = h('div', { class: 'field checkbox', 'data-field': name }, control, h('label', { for: id, text: label }), errorEl);
  wrap.control = control;
  wrap.errorEl = errorEl;
  return wrap;
}
