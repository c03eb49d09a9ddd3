// The caller's team, chosen once and kept in localStorage. It is sent as
// X-Daap-Team (api.js); the server decides, the console only explains.

const KEY = 'daap.team';
const listeners = new Set();

/** The chosen team, or '' when none was chosen yet. */
export function getTeam() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    return ''; // storage disabled: the team lasts for this page only
  }
}

/** Stores the team and tells every subscriber. */
export function setTeam(team) {
  const value = (team || '').trim();
  try {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  } catch { /* see getTeam */ }
  for (const fn of listeners) fn(value);
}

/** Calls fn(team) on every change; returns the unsubscribe function. */
export function onTeamChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * May the current team change db? {allowed, reason}; reason says why not,
 * in words a user can act on.
 */
export function permission(db) {
  const team = getTeam();
  if (db.status === 'deleted' || db.deleted_at) return { allowed: false, reason: 'This database is deleted; its record is read-only.' };
  if (db.status === 'deleting') return { allowed: false, reason: 'This database is being deleted.' };
  if (!team) return { allowed: false, reason: 'Choose your team at the top of the page to change databases.' };
  if (team !== db.owner_team) {
    return { allowed: false, reason: `Only team ${db.owner_team} can change this database; you are acting as team ${team}.` };
  }
  return { allowed: true, reason: '' };
}
