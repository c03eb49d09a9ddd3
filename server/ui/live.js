// Live updates of one record: the server-side wait (GET /databases/{id}
// ?wait=30s&revision=N, DESIGN 11) where the server has it, polling every
// 2 s where it does not. Detected from answers: a 400 to the query means
// "no wait here"; an answer that comes back at once with the same revision
// means the parameter was ignored.
import { api } from './api.js';

const POLL_MS = 2000;
const WAIT_S = 30;
let waitSupported = true;

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

async function next(id, revision, signal) {
  if (waitSupported) {
    const started = Date.now();
    try {
      const db = await api.wait(id, revision, WAIT_S, signal);
      if (db.revision === revision && Date.now() - started < POLL_MS / 2) await sleep(POLL_MS, signal);
      return db;
    } catch (err) {
      if (err.status !== 400) throw err;
      waitSupported = false; // this server refuses query parameters here
    }
  }
  await sleep(POLL_MS, signal);
  return signal.aborted ? null : api.get(id, signal);
}

/**
 * Follows record id from revision on. onChange(db) on every new revision;
 * onGone() once the record answers 404 (deleted); onError(err) for other
 * failures (it keeps trying, more slowly). Returns stop().
 */
export function follow(id, revision, { onChange, onGone, onError }) {
  const ctl = new AbortController();
  (async () => {
    let rev = revision;
    while (!ctl.signal.aborted) {
      try {
        const db = await next(id, rev, ctl.signal);
        if (!db || ctl.signal.aborted) break;
        if (db.revision !== rev) {
          rev = db.revision;
          onChange(db);
        }
      } catch (err) {
        if (ctl.signal.aborted || err.name === 'AbortError') break;
        if (err.status === 404) { onGone(); break; }
        onError?.(err);
        await sleep(POLL_MS * 2, ctl.signal);
      }
    }
  })();
  return () => ctl.abort();
}

/** Calls fn every ms while the tab is visible, until stop() is called. */
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try { await fn(); } catch { /* the next tick tries again */ }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => { stopped = true; clearTimeout(timer); };
}
