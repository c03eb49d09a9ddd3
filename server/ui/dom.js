// Building DOM nodes without innerHTML: every text from a record goes in
// through textContent, so a purpose like "<img onerror=...>" stays text.

/**
 * h('button', {class: 'x', onclick: fn, disabled: true}, 'text', node, ...)
 * Attributes: "class", "text" (textContent), "on<event>" (listeners),
 * booleans (present when true), anything else through setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Appends strings (as text) and nodes, skipping null/false, flattening arrays. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replaces the children of el with the given ones. */
export function replace(el, ...children) {
  return append(clear(el), children);
}

let uid = 0;
/** A fresh id for label/aria wiring. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Says msg to screen readers and shows it briefly. */
export function toast(msg) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = msg;
  el.classList.add('visible');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('visible'), 4000);
}
