// Records this page has already seen, kept in memory only (never in
// storage: a record can carry a password). It lets the detail page show a
// database the moment it is created, and find a deleted one again.

const seen = new Map();

/** Remembers db (without its connection) by id. */
export function remember(db) {
  if (!db || !db.id) return;
  const { connection, ...rest } = db; // eslint-disable-line no-unused-vars
  seen.set(db.id, rest);
}

/** The last record seen for id, or undefined. */
export function recall(id) {
  return seen.get(id);
}
