"""Watch streams: one chunked HTTP response per watch, fed from a store watcher.

The store (store.py) registers the watcher and replays history; this module turns its queue into
the newline-separated JSON events of the API server, with bookmarks, timeouts, the 410 answers
and the watch faults (drops, 410 on resume)."""
import queue
import time

from . import resources as R
from .selectors import parse_field_selector, parse_label_selector
from .util import ApiError, dumps, query_bool

TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
BATCH = 256          # events written in one chunk when they queue up


class WatchStream:
    """One watch request. route.res is the resource served; res is the stored one behind it (the
    same, except for a view such as events.k8s.io); raw_of serializes a stored record."""

    def __init__(self, app, h, route, params, res, raw_of):
        self.app, self.h, self.route, self.res, self.raw_of = app, h, route, res, raw_of
        self.lsel = parse_label_selector(params.get("labelSelector"))
        self.fsel = parse_field_selector(params.get("fieldSelector"), res)
        self.rv = params.get("resourceVersion")
        self.bookmarks = query_bool(params, "allowWatchBookmarks")
        self.send_initial = query_bool(params, "sendInitialEvents", None)
        self.timeout = None
        if params.get("timeoutSeconds"):
            try:
                self.timeout = float(params["timeoutSeconds"])
            except ValueError:
                raise ApiError(400, "BadRequest", "timeoutSeconds must be a number")
        self.table = h._wants_table()
        self.include = params.get("includeObject", "Metadata")
        self.ctype = TABLE_CT if self.table else "application/json"

    def serve(self):
        app, f = self.app, self.app.faults
        if f.watch_410_on_resume and self.rv not in (None, "", "0"):
            app.stats.inject("watch_410")
            err = ApiError(410, "Expired", "too old resource version: %s (%d)" % (self.rv, app.store.current_rv()))
            if f.watch_410_mode == "http":
                raise err
            return self._error(err)
        try:
            w = app.store.watch(self.res, self.route.ns, self.lsel, self.fsel, self.rv, self.send_initial,
                                self.bookmarks)
        except ApiError as e:
            if e.code != 410:
                raise
            return self._error(e)     # the real server sends 410 as an ERROR event in a 200 stream
        try:
            self.h.start_chunked(self.ctype)
            self._loop(w)
        finally:
            app.store.unwatch(w)

    def _error(self, err):
        self.h.start_chunked(self.ctype)
        self.h.write_chunk(dumps({"type": "ERROR", "object": err.status()}) + b"\n")
        self.h.end_chunked()

    def _loop(self, w):
        start = last_bm = time.monotonic()
        first = True
        while True:
            now = time.monotonic()
            if self._should_end(now, start):
                return
            if self.bookmarks and now - last_bm >= self.app.bookmark_interval:
                self.app.store.bookmark(w)
                last_bm = now
            try:
                item = w.q.get(timeout=self._wait(now, start, last_bm))
            except queue.Empty:
                if self.h.client_gone():
                    self.h.close_connection = True
                    return
                continue
            buf = [self._event(item, first)]
            first = False
            for _ in range(BATCH):
                try:
                    buf.append(self._event(w.q.get_nowait(), False))
                except queue.Empty:
                    break
            self.h.write_chunk(b"".join(buf))

    def _should_end(self, now, start):
        """True (after ending the stream) at shutdown, at timeoutSeconds, or when a drop fault hits."""
        h, f = self.h, self.app.faults
        if self.app.stopping:
            h.end_chunked()
            h.close_connection = True
            return True
        if self.timeout is not None and now - start >= self.timeout:
            h.end_chunked()
            return True
        if f.watch_drop_seconds > 0 and now - start >= f.watch_drop_seconds:
            self.app.stats.inject("watch_drop")
            h.end_chunked() if f.watch_drop_mode == "end" else h.abort()
            return True
        return False

    def _wait(self, now, start, last_bm):
        """How long to wait for the next event before checking the clocks again."""
        wait = 1.0
        if self.timeout is not None:
            wait = min(wait, start + self.timeout - now)
        drop = self.app.faults.watch_drop_seconds
        if drop > 0:
            wait = min(wait, start + drop - now)
        if self.bookmarks:
            wait = min(wait, last_bm + self.app.bookmark_interval - now)
        return max(wait, 0.001)

    def _event(self, item, first):
        res, etype = self.route.res, item[0]
        if etype == "BOOKMARK":
            md = {"resourceVersion": str(item[1])}
            if item[2]:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            return dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                          "metadata": md}}) + b"\n"
        rec = item[1]
        if self.table:
            return dumps({"type": etype, "object": R.table(res, [rec.obj], str(rec.rv), self.include,
                                                            with_columns=first)}) + b"\n"
        return b'{"type":"%s","object":%s}\n' % (etype.encode(), self.raw_of(rec))
