"""The admin endpoint /kubesim/...: stats, faults, runtime cluster control, backing information."""
import json

from . import resources as R


class Admin:
    """/kubesim/... on the API listener, with the API's credentials (README "Admin endpoint")."""

    def __init__(self, app):
        self.app = app

    def handle(self, h, path, params):
        app = self.app
        parts = [p for p in path.split("/") if p][1:]
        m = h.command
        try:
            if parts == ["stats"] and m == "GET":
                d = app.stats.to_json()
                d["watches_active"] = app.store.watcher_count()
                d["objects"] = {r.plural: app.store.count(r) for r in R.ALL}
                d["resource_version"] = str(app.store.current_rv())
                return h._send(200, d)
            if parts in (["reset-stats"], ["stats", "reset"]) and m in ("POST", "PUT"):
                app.stats.reset()
                return h._send(200, {"ok": True})
            if parts == ["faults"]:
                if m == "GET":
                    return h._send(200, app.faults.to_json())
                if m in ("POST", "PUT", "PATCH"):
                    raw = h._raw
                    try:
                        doc = json.loads(raw.decode() or "{}")
                        app.faults.update(doc, replace=(m == "PUT"))
                    except ValueError as e:
                        return h._send(400, {"error": str(e)})
                    app.operator.resync()
                    return h._send(200, app.faults.to_json())
                if m == "DELETE":
                    app.faults.reset()
                    app.operator.resync()
                    return h._send(200, app.faults.to_json())
            if len(parts) == 4 and parts[0] == "clusters" and m == "POST":
                ns, name, action = parts[1], parts[2], parts[3]
                if action not in ("fail", "stuck", "ready", "reset"):
                    return h._send(400, {"error": "action must be fail, stuck, ready or reset"})
                if not app.operator.mark_cluster(ns, name, action):
                    return h._send(404, {"error": 'cluster "%s/%s" not found' % (ns, name)})
                return h._send(200, {"ok": True, "namespace": ns, "name": name, "action": action})
            if parts == ["poolers"] and m == "GET":
                out = []
                if app.backing is not None:
                    by_uid = {}
                    for r in app.store.list(R.POOLERS, None, [], [])[0]:
                        by_uid[r.md["uid"]] = r.md
                    for info in app.backing.pooler_info():
                        md = by_uid.get(info["key"], {})
                        info["namespace"] = md.get("namespace")
                        info["name"] = md.get("name")
                        out.append(info)
                return h._send(200, {"items": out})
            if parts in (["info"], []) and m == "GET":
                return h._send(200, app.info())
            return h._send(404, {"error": "unknown admin endpoint %s %s" % (m, path)})
        finally:
            pass
