// The banner that says the store or Kubernetes is unreachable, from
// GET /readyz (503 carries the reason). Checked at start, every 10 s, and
// whenever a call fails with 503 or no answer.
import { api } from './api.js';
import { h, replace } from './dom.js';

const EVERY_MS = 10000;

async function check(banner) {
  try {
    await api.readyz();
    banner.hidden = true;
    banner.className = 'banner';
  } catch (err) {
    const what = err.status === 0
      ? 'daap-server is not answering.'
      : 'daap cannot reach its metadata store or Kubernetes.';
    replace(banner,
      h('strong', { text: what }),
      ' ',
      h('span', { text: err.status === 0 ? 'Check that it is running.' : `${err.message}. Changes will fail until it recovers; what you see may be out of date.` }));
    banner.className = 'banner banner-error';
    banner.hidden = false;
  }
}

/** Starts watching; returns a function that checks again now. */
export function watchHealth(banner) {
  check(banner);
  setInterval(() => { if (document.visibilityState === 'visible') check(banner); }, EVERY_MS);
  return () => check(banner);
}
