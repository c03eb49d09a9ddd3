// The status badge: colour and text together (never colour alone), with
// status_reason as its tooltip.
import { h } from './dom.js';

const LABELS = {
  provisioning: 'provisioning',
  ready: 'ready',
  error: 'error',
  deleting: 'deleting',
  deleted: 'deleted',
};

/** A badge for db; data-status lets tests and styles find the state. */
export function badge(db) {
  const status = LABELS[db.status] ? db.status : 'unknown';
  return h('span', {
    class: `badge badge-${status}`,
    'data-status': status,
    title: db.status_reason || undefined,
    text: LABELS[status] || String(db.status),
  });
}

/** Is the state one that is still moving on its own? */
export function inProgress(status) {
  return status === 'provisioning' || status === 'deleting';
}
