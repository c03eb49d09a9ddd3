"""Real backing: PostgreSQL + one PgBouncer per Pooler; credentials from the -app Secret really connect."""
import base64
import os
import shutil
import socket
import subprocess
import unittest

from ksim import CNPG, Sim, cluster, cluster_ready, pooler, wait_for

PSQL = shutil.which("psql")
CL = CNPG + "/namespaces/daap/clusters"
PL = CNPG + "/namespaces/daap/poolers"


def psql(host, port, user, password, dbname, sql, check=True):
    env = dict(os.environ, PGPASSWORD=password or "", PGCONNECT_TIMEOUT="5")
    r = subprocess.run([PSQL, "-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1",
                        "host=%s port=%s user=%s dbname=%s" % (host, port, user, dbname), "-c", sql],
                       capture_output=True, text=True, env=env, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError("psql %s@%s:%s/%s failed: %s" % (user, host, port, dbname, r.stderr))
    return r


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])


@unittest.skipIf(PSQL is None, "psql not found")

def process_gone(pid):
    """Exited (or a zombie): the process may vanish between any two reads of /proc."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True

class BackingTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--ready-delay", "0.5", "--pooler-delay", "0.2", backing=True).start()
        cls.c = cls.sim.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.sim.stop()

    def creds(self, name):
        sec = wait_for(lambda: self.c.get("/api/v1/namespaces/daap/secrets/%s-app" % name).json
                       if self.c.get("/api/v1/namespaces/daap/secrets/%s-app" % name).status == 200 else None,
                       msg="secret")
        return {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}

    def published(self, svc):
        """host, port from the Service as the contract says: ingress[0].ip, port named pgbouncer/postgres."""
        def get():
            r = self.c.get("/api/v1/namespaces/daap/services/" + svc)
            if r.status != 200:         # the operator has not made the Service yet
                return None
            s = r.json
            ing = (s.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
            return ing and s
        s = wait_for(get, msg="published address of " + svc)
        host = s["status"]["loadBalancer"]["ingress"][0].get("ip") or s["status"]["loadBalancer"]["ingress"][0]["hostname"]
        port = next(p["port"] for p in s["spec"]["ports"] if p["name"] in ("pgbouncer", "postgres"))
        self.assertEqual(s["metadata"]["annotations"]["kubesim.dev/address"], "%s:%d" % (host, port))
        return host, port

    def bouncer(self, name):
        items = self.sim.admin("GET", "poolers").json["items"]
        return next(i for i in items if i["name"] == name)

    def make(self, name, pooler_mode="transaction", **spec):
        self.assertEqual(self.c.post(CL, cluster(name, **spec)).status, 201)
        self.assertEqual(self.c.post(PL, pooler(name + "-pooler", name, mode=pooler_mode)).status, 201)
        wait_for(lambda: cluster_ready(self.c, "daap", name), msg="cluster ready")
        wait_for(lambda: (self.c.get("/apis/apps/v1/namespaces/daap/deployments/%s-pooler" % name).json
                          .get("status") or {}).get("readyReplicas", 0) >= 1, msg="pooler ready")

    def test_psql_through_pgbouncer_transaction_mode(self):
        self.make("bk-a")
        cr = self.creds("bk-a")
        host, port = self.published("bk-a-pooler")
        self.assertTrue(host.startswith("127."), host)
        r = psql(host, port, cr["username"], cr["password"], cr["dbname"],
                 "select current_user, current_database(), inet_server_port()")
        user, db, server_port = r.stdout.strip().split("|")
        self.assertEqual((user, db), ("app", "app"))
        info = self.sim.admin("GET", "info").json["backing"]
        self.assertEqual(int(server_port), info["port"], "the query must reach the real PostgreSQL behind PgBouncer")
        self.assertNotEqual((host, port), ("127.0.0.1", info["port"]))
        b = self.bouncer("bk-a-pooler")
        self.assertEqual((b["host"], b["port"]), (host, port))
        self.assertEqual(proc_uid(b["pid"]), int(subprocess.run(["id", "-u", "postgres"], capture_output=True,
                                                                text=True).stdout) if os.geteuid() == 0 else os.geteuid())
        cfg = psql(host, port, b["admin_user"], b["admin_password"], "pgbouncer", "SHOW CONFIG").stdout
        modes = [l.split("|")[1] for l in cfg.splitlines() if l.startswith("pool_mode|")]
        self.assertEqual(modes, ["transaction"])
        # the app's query shows up in PgBouncer's own pool and stats for this database/user
        psql(host, port, cr["username"], cr["password"], cr["dbname"], "begin; select 1; commit;")
        pools = psql(host, port, b["admin_user"], b["admin_password"], "pgbouncer", "SHOW POOLS").stdout
        rows = [l.split("|") for l in pools.splitlines()]
        app_rows = [r for r in rows if r[0] == "app" and r[1] == "app"]
        self.assertEqual(len(app_rows), 1, pools)
        self.assertEqual(app_rows[0][-1], "transaction")
        stats = psql(host, port, b["admin_user"], b["admin_password"], "pgbouncer", "SHOW STATS").stdout
        app_stats = [l.split("|") for l in stats.splitlines() if l.startswith("app|")]
        self.assertTrue(app_stats and int(app_stats[0][2]) >= 2, stats)   # total_xact_count
        # wrong password is refused by PgBouncer
        r = psql(host, port, cr["username"], "wrong-password", cr["dbname"], "select 1", check=False)
        self.assertNotEqual(r.returncode, 0)
        # the -rw Service publishes the PostgreSQL server itself
        h2, p2 = self.published("bk-a-rw")
        r = psql(h2, p2, cr["username"], cr["password"], cr["dbname"], "select current_user")
        self.assertEqual(r.stdout.strip(), "app")

    def test_custom_database_and_session_mode(self):
        self.make("bk-b", pooler_mode="session", bootstrap={"initdb": {"database": "orders", "owner": "orders_owner"}})
        cr = self.creds("bk-b")
        self.assertEqual((cr["dbname"], cr["username"]), ("orders", "orders_owner"))
        host, port = self.published("bk-b-pooler")
        r = psql(host, port, cr["username"], cr["password"], cr["dbname"], "create table t(x int); insert into t "
                 "values (1); select count(*) from t")
        self.assertEqual(r.stdout.strip().splitlines()[-1], "1")
        b = self.bouncer("bk-b-pooler")
        cfg = psql(host, port, b["admin_user"], b["admin_password"], "pgbouncer", "SHOW CONFIG").stdout
        self.assertIn("pool_mode|session|", cfg)
        # a second pooler on the same cluster gets its own PgBouncer on its own address
        self.assertEqual(self.c.post(PL, pooler("bk-b-second", "bk-b")).status, 201)
        host2, port2 = self.published("bk-b-second")
        self.assertNotEqual((host, port), (host2, port2))
        self.assertNotEqual(self.bouncer("bk-b-second")["pid"], b["pid"])
        r = psql(host2, port2, cr["username"], cr["password"], cr["dbname"], "select count(*) from t")
        self.assertEqual(r.stdout.strip(), "1")

    def test_delete_pooler_and_cluster_cleans_up(self):
        self.make("bk-c")
        host, port = self.published("bk-c-pooler")
        pid = self.bouncer("bk-c-pooler")["pid"]
        self.assertTrue(listening(host, port))
        self.assertEqual(self.c.delete(PL + "/bk-c-pooler").status, 200)
        wait_for(lambda: not listening(host, port), msg="pgbouncer stopped")
        wait_for(lambda: process_gone(pid), msg="pgbouncer process gone")
        self.assertNotIn("bk-c-pooler", [i["name"] for i in self.sim.admin("GET", "poolers").json["items"]])
        info = self.sim.admin("GET", "info").json["backing"]
        su = (info["host"], info["port"], info["user"], None, "postgres")
        self.assertEqual(psql(*su, "select count(*) from pg_database where datname='app'").stdout.strip(), "1")
        # the database is shared by every cluster with the default name "app"; use a dedicated one
        self.make("bk-d", bootstrap={"initdb": {"database": "bkd_db", "owner": "bkd_owner"}})
        self.assertEqual(psql(*su, "select count(*) from pg_roles where rolname='bkd_owner'").stdout.strip(), "1")
        self.assertEqual(self.c.delete(PL + "/bk-d-pooler").status, 200)
        self.assertEqual(self.c.delete(CL + "/bk-d").status, 200)
        wait_for(lambda: psql(*su, "select count(*) from pg_database where datname='bkd_db'").stdout.strip() == "0",
                 msg="database dropped")
        wait_for(lambda: psql(*su, "select count(*) from pg_roles where rolname='bkd_owner'").stdout.strip() == "0",
                 msg="role dropped")


    def test_password_change_in_app_secret(self):
        self.make("bk-p", bootstrap={"initdb": {"database": "bkp_db", "owner": "bkp_owner"}})
        cr = self.creds("bk-p")
        old, new = cr["password"], "N3wPassw0rd-from-the-secret"
        ph, pp = self.published("bk-p-pooler")
        dh, dp = self.published("bk-p-rw")
        for h, p in ((ph, pp), (dh, dp)):
            psql(h, p, cr["username"], old, cr["dbname"], "select 1")
        r = self.c.patch("/api/v1/namespaces/daap/secrets/bk-p-app",
                         {"data": {"password": base64.b64encode(new.encode()).decode()}})
        self.assertEqual(r.status, 200)
        wait_for(lambda: psql(dh, dp, cr["username"], new, cr["dbname"], "select 1", check=False).returncode == 0,
                 msg="the new password works directly")
        for h, p in ((ph, pp), (dh, dp)):       # through this Cluster's PgBouncer and directly
            r = psql(h, p, cr["username"], new, cr["dbname"], "select current_user")
            self.assertEqual(r.stdout.strip(), "bkp_owner")
            r = psql(h, p, cr["username"], old, cr["dbname"], "select 1", check=False)
            self.assertNotEqual(r.returncode, 0, "the old password still logs in at %s:%s" % (h, p))

    def test_status_tells_which_server_answers(self):
        self.make("bk-v", imageName="ghcr.io/cloudnative-pg/postgresql:17.5-system-trixie",
                  bootstrap={"initdb": {"database": "bkv_db", "owner": "bkv_owner"}})
        st = self.c.get(CL + "/bk-v").json["status"]
        self.assertEqual(st["pgDataImageInfo"]["majorVersion"], 17)
        cond = next(c for c in st["conditions"] if c["type"] == "kubesim.dev/LocalServer")
        cr = self.creds("bk-v")
        host, port = self.published("bk-v-pooler")
        real = psql(host, port, cr["username"], cr["password"], cr["dbname"], "show server_version").stdout.split()[0]
        self.assertIn("PostgreSQL %s answers" % real, cond["message"])
        self.assertIn("asks for PostgreSQL 17", cond["message"])
        self.assertEqual(cond["status"], "True" if real.split(".")[0] == "17" else "False")

    def test_pooler_directories_go_with_their_poolers(self):
        pool_dir = os.path.join(self.sim.state, "poolers")
        before = len(os.listdir(pool_dir))
        self.assertEqual(self.c.post(CL, cluster("bk-loop")).status, 201)
        for i in range(4):
            name = "bk-loop-p%d" % i
            self.assertEqual(self.c.post(PL, pooler(name, "bk-loop")).status, 201)
            wait_for(lambda: any(i["name"] == name and i["alive"] for i in self.sim.admin("GET", "poolers")
                                 .json["items"]), msg="pgbouncer of %s running" % name)
            self.assertEqual(len(os.listdir(pool_dir)), before + 1)
            self.assertEqual(self.c.delete(PL + "/" + name).status, 200)
            wait_for(lambda: len(os.listdir(pool_dir)) == before, msg="directory of %s removed" % name)
        self.assertEqual(self.c.delete(CL + "/bk-loop").status, 200)


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(PSQL is None, "psql not found")
class ExternalServerTests(unittest.TestCase):
    def test_pg_uri(self):
        from ksim import KUBESIM_DIR, new_dir
        pgtmp = os.path.join(KUBESIM_DIR, "..", "..", "scripts", "pgtmp")
        pgdir = new_dir("extpg-")
        uri = subprocess.run([pgtmp, "start", pgdir], capture_output=True, text=True, check=True).stdout.strip()
        port = int(uri.rsplit(":", 1)[1].split("/")[0])
        su = ("127.0.0.1", port, "postgres", None, "postgres")
        try:
            sim = Sim("--ready-delay", "0.2", "--pooler-delay", "0", "--pg-uri", uri, backing=True).start()
            try:
                c = sim.client()
                self.assertEqual(sim.admin("GET", "info").json["backing"]["own_server"], False)
                body = cluster("ext-a", bootstrap={"initdb": {"database": "ext_db", "owner": "ext_owner"}})
                self.assertEqual(c.post(CL, body).status, 201)
                self.assertEqual(c.post(PL, pooler("ext-a-pooler", "ext-a")).status, 201)
                wait_for(lambda: cluster_ready(c, "daap", "ext-a"))
                sec = wait_for(lambda: c.get("/api/v1/namespaces/daap/secrets/ext-a-app").json)
                cr = {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}
                svc = wait_for(lambda: (c.get("/api/v1/namespaces/daap/services/ext-a-pooler").json.get("status") or {})
                               .get("loadBalancer", {}).get("ingress") and
                               c.get("/api/v1/namespaces/daap/services/ext-a-pooler").json)
                host = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
                pport = svc["spec"]["ports"][0]["port"]
                r = psql(host, pport, cr["username"], cr["password"], cr["dbname"], "select inet_server_port()")
                self.assertEqual(int(r.stdout.strip()), port)
                c.close()
            finally:
                sim.stop()
            # kubesim drops what it created on an external server, and leaves the server running
            self.assertEqual(psql(*su, "select count(*) from pg_database where datname='ext_db'").stdout.strip(), "0")
            self.assertEqual(psql(*su, "select count(*) from pg_roles where rolname='ext_owner'").stdout.strip(), "0")
        finally:
            subprocess.run([pgtmp, "stop", pgdir], capture_output=True)
