// Formatting for display. Nothing here touches the DOM.

/** "just now", "5 min", "3 h", "2 d" since an RFC 3339 time. */
export function age(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Local date and time, for titles and the details list. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** "2 × 1Gi" */
export function size(db) {
  return `${db.instances} × ${db.storage_size}`;
}

/** The URI with its password replaced, for showing on screen. */
export function maskUri(uri) {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '••••••••';
    return u.toString().replace(/%E2%80%A2/g, '•');
  } catch {
    return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1••••••••@');
  }
}

/** A single-quoted shell word (POSIX sh), so the URI survives any shell. */
export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** The psql command line that connects with uri. */
export function psqlCommand(uri) {
  return `psql ${shellQuote(uri)}`;
}

/** What PostgreSQL calls the database and its owner role: '-' becomes '_'. */
export function pgName(name) {
  return name.replace(/-/g, '_');
}
