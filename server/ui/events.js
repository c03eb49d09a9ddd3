// The events timeline (GET /databases/{id}/events, DESIGN 11), newest first,
// with "Show older" through next_cursor. A server without the endpoint
// (404 "no such endpoint" or 405) gets a note instead of a timeline.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { age, when } from './format.js';

const PAGE = 20;

// Field names differ between drafts of the design; read either.
function eventView(e) {
  const actor = typeof e.actor === 'string' ? e.actor : e.actor?.id || e.actor?.kind || '';
  const time = e.at || e.time || e.last_at || e.last_seen;
  const warning = String(e.type || '').toLowerCase() === 'warning';
  const transition = e.from_status && e.to_status ? `${e.from_status} → ${e.to_status}` : '';
  return { actor, time, warning, transition, reason: e.reason || '', text: e.message || e.note || '', count: e.count || 1 };
}

function eventItem(e) {
  const v = eventView(e);
  return h('li', { class: `event${v.warning ? ' warning' : ''}` },
    h('div', { class: 'event-head' },
      h('span', { class: 'event-reason', text: v.reason }),
      v.warning ? h('span', { class: 'tag tag-warning', text: 'warning' }) : null,
      v.count > 1 ? h('span', { class: 'tag', text: `×${v.count}` }) : null,
      v.time ? h('time', { datetime: v.time, title: when(v.time), text: age(v.time) === 'just now' ? 'just now' : `${age(v.time)} ago` }) : null),
    v.text ? h('p', { class: 'event-text', text: v.text }) : null,
    v.transition || v.actor ? h('p', { class: 'event-meta', text: [v.transition, v.actor && `by ${v.actor}`].filter(Boolean).join(' · ') }) : null);
}

/**
 * The timeline section for database id. Returns {el, refresh}: refresh()
 * reloads the newest page (called when the record changes).
 */
export function timeline(id) {
  const list = h('ol', { class: 'timeline' });
  const more = h('button', { type: 'button', class: 'button secondary small', hidden: true, text: 'Show older events' });
  const state = h('p', { class: 'empty', text: 'Loading events…' });
  const el = h('section', { class: 'card events', 'aria-labelledby': 'events-title', 'aria-busy': 'true' },
    h('h2', { id: 'events-title', text: 'Events' }), state, list, more);
  let cursor = null;
  let supported = true;

  async function load(reset) {
    if (!supported) return;
    try {
      const page = await api.events(id, { limit: PAGE, cursor: reset ? undefined : cursor });
      if (reset) list.replaceChildren();
      for (const e of page.items || []) list.append(eventItem(e));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      state.hidden = list.children.length > 0;
      if (!list.children.length) replace(state, 'No events yet.');
      el.dataset.state = 'ready';
    } catch (err) {
      if (err.isMissingEndpoint || err.status === 400) {
        supported = false;
        el.dataset.state = 'unsupported';
        list.remove();
        more.remove();
        replace(state, 'This daap-server does not keep an event history yet. The status and its reason above are the latest word.');
        state.hidden = false;
      } else {
        el.dataset.state = 'error';
        replace(state, `Could not load events: ${err.message}`);
        state.hidden = false;
      }
    } finally {
      el.removeAttribute('aria-busy');
    }
  }
  more.addEventListener('click', () => load(false));
  load(true);
  return { el, refresh: () => load(true) };
}
