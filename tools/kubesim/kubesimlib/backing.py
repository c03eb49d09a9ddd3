"""Real backing: a local PostgreSQL (via scripts/pgtmp, or an existing server) and one PgBouncer per Pooler."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

from .util import random_alnum

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGTMP = os.path.normpath(os.path.join(HERE, "..", "..", "scripts", "pgtmp"))
PGBOUNCER_CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
RESERVED_ROLES = {"postgres", "pgbouncer", "cnpg_pooler_pgbouncer", "streaming_replica"}
RESERVED_DBS = {"postgres", "template0", "template1", "pgbouncer"}
# pgbouncer.ini settings a Pooler may pass through spec.pgbouncer.parameters (the rest is ignored:
# kubesim owns authentication, listening and TLS).
PASS_PARAMS = {"default_pool_size", "max_client_conn", "min_pool_size", "reserve_pool_size",
               "reserve_pool_timeout", "max_db_connections", "max_user_connections", "server_idle_timeout",
               "server_lifetime", "server_connect_timeout", "server_login_retry", "query_timeout",
               "query_wait_timeout", "idle_transaction_timeout", "client_idle_timeout",
               "client_login_timeout", "server_reset_query", "server_reset_query_always",
               "log_connections", "log_disconnections", "log_pooler_errors", "stats_period",
               "server_check_delay", "server_check_query", "autodb_idle_timeout", "pkt_buf",
               "tcp_keepalive", "verbose", "application_name_add_host", "disable_pqexec"}


class BackingError(Exception):
    pass


def qident(s):
    return '"' + s.replace('"', '""') + '"'


def qlit(s):
    return "'" + s.replace("'", "''") + "'"


def is_root():
    return os.geteuid() == 0


def can_bind(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(addr="127.0.0.1"):
    s = socket.socket()
    s.bind((addr, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _own_listener(logf, b):
    """True once this PgBouncer itself listens on its address. A connect test is not enough: with
    other kubesims on the machine, another PgBouncer may have taken the address in the meantime
    (then this one fails to bind and exits)."""
    try:
        with open(logf) as f:
            log = f.read()
    except OSError:
        return False
    return "[%d] LOG listening on %s:%d" % (b.proc.pid, b.addr, b.port) in log and _listening(b.addr, b.port)


def _listening(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.3):
            return True
    except OSError:
        return False


class PgBouncer:
    def __init__(self, key, dirpath):
        self.key = key
        self.dir = dirpath
        self.proc = None
        self.addr = None
        self.port = None
        self.admin_password = random_alnum(24)
        self.pool_mode = None

    def info(self):
        return {"key": self.key, "host": self.addr, "port": self.port, "pid": self.proc.pid if self.proc else None,
                "pool_mode": self.pool_mode, "admin_user": "pgbouncer", "admin_password": self.admin_password,
                "admin_dbname": "pgbouncer", "dir": self.dir, "config": os.path.join(self.dir, "pgbouncer.ini"),
                "log": os.path.join(self.dir, "pgbouncer.log"),
                "alive": bool(self.proc and self.proc.poll() is None)}


class Backing:
    def __init__(self, state_dir, pg_uri=None, addr_mode="loopback", log=print):
        self.state_dir = state_dir
        self.pg_dir = os.path.join(state_dir, "pg")
        self.pool_dir = os.path.join(state_dir, "poolers")
        self.own_pg = pg_uri is None
        self.pg_uri = pg_uri
        self.addr_mode = addr_mode
        self.log = log
        self.lock = threading.RLock()
        self.dbs = {}           # database -> {"owner", "users": set(cluster keys)}
        self.roles = {}         # role -> {"password", "users": set(cluster keys)}
        self.created = []       # (kind, name) created in this run, for cleanup of an external server
        self.bouncers = {}      # pooler key -> PgBouncer
        self.pooler_dirs = {}   # pooler key -> its directory under poolers/, removed with the Pooler
        self.used_addrs = set()
        self.pgbouncer = next((p for p in PGBOUNCER_CANDIDATES if os.access(p, os.X_OK)), None) or \
            shutil.which("pgbouncer")
        self.host = self.port = self.user = self.password = None
        self.server_version, self.server_major = None, None
        self._conn = None

    # ------------------------------------------------------------------ PostgreSQL
    def start(self):
        if not self.pgbouncer:
            raise BackingError("pgbouncer not found (install the Debian package pgbouncer)")
        # directories of an earlier run: their PgBouncers were stopped by cleanup_leftovers
        shutil.rmtree(self.pool_dir, ignore_errors=True)
        os.makedirs(self.pool_dir, exist_ok=True)
        if is_root():
            self._check_traversable(self.state_dir)
            os.chmod(self.state_dir, 0o755)
            os.chmod(self.pool_dir, 0o755)
        if self.own_pg:
            if not os.access(PGTMP, os.X_OK):
                raise BackingError("scripts/pgtmp not found at %s" % PGTMP)
            r = subprocess.run([PGTMP, "start", self.pg_dir], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise BackingError("pgtmp start failed: %s" % (r.stderr.strip() or r.stdout.strip()))
            self.pg_uri = r.stdout.strip().splitlines()[-1]
        u = urllib.parse.urlparse(self.pg_uri)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 5432
        self.user = urllib.parse.unquote(u.username or "postgres")
        self.password = urllib.parse.unquote(u.password) if u.password else None
        # what really answers, whatever major a Cluster asks for (Debian 12: PostgreSQL 15)
        self.server_version = self.sql("SHOW server_version").strip()
        self.server_major = int(self.server_version.split(".")[0].split()[0])
        if self.own_pg:
            self._wipe()
        self.log("kubesim: backing PostgreSQL at %s:%s (%s)" % (
            self.host, self.port, "started by kubesim" if self.own_pg else "external"))

    def _check_traversable(self, path):
        p = os.path.dirname(os.path.abspath(path))
        while p and p != "/":
            st = os.stat(p)
            if not st.st_mode & 0o001:
                raise BackingError("%s is not traversable by other users (mode %o): PostgreSQL and PgBouncer run "
                                   "as user postgres and need to reach the state dir; use a state dir under a "
                                   "world-traversable directory (or chmod o+x %s)" % (p, st.st_mode & 0o777, p))
            p = os.path.dirname(p)

    def sql(self, sql, db="postgres", timeout=60):
        """Run SQL as the superuser on a kept-open connection; returns rows like psql -At."""
        from .pgwire import PgConn, PgError
        with self.lock:
            for attempt in (0, 1):
                try:
                    if self._conn is None:
                        self._conn = PgConn(self.host, self.port, self.user, self.password, db, timeout=timeout)
                    rows = self._conn.query(sql)
                    return "".join("|".join("" if v is None else v for v in r) + "\n" for r in rows)
                except PgError as e:
                    if e.code is None and attempt == 0:      # connection trouble: reconnect once
                        self._close_conn()
                        continue
                    raise BackingError("SQL %r failed: %s" % (sql[:80], e))
                except OSError as e:
                    self._close_conn()
                    if attempt == 0:
                        continue
                    raise BackingError("cannot reach PostgreSQL at %s:%s: %s" % (self.host, self.port, e))

    def _close_conn(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _wipe(self):
        """Our own server: forget objects of earlier runs (kubesim's state is in memory only)."""
        dbs = [d for d in self.sql("SELECT datname FROM pg_database").split("\n") if d and d not in RESERVED_DBS]
        for d in dbs:
            self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % qident(d))
        roles = [r for r in self.sql("SELECT rolname FROM pg_roles").split("\n")
                 if r and r != "postgres" and not r.startswith("pg_")]
        for r in roles:
            self._drop_role(r)

    def _drop_role(self, role):
        try:
            self.sql("DROP OWNED BY %s" % qident(role))
        except BackingError:
            pass
        self.sql("DROP ROLE IF EXISTS %s" % qident(role))

    def ensure_database(self, user_key, database, owner):
        """Create (or share) role owner and database. Returns the role's password."""
        if owner in RESERVED_ROLES or owner.startswith("pg_"):
            raise BackingError("role name %r is reserved on kubesim's PostgreSQL" % owner)
        if database in RESERVED_DBS:
            raise BackingError("database name %r is reserved on kubesim's PostgreSQL" % database)
        with self.lock:
            d = self.dbs.get(database)
            if d is not None and d["owner"] != owner:
                raise BackingError("database %r already exists on kubesim's shared PostgreSQL with owner %r "
                                   "(another Cluster)" % (database, d["owner"]))
            role = self.roles.get(owner)
            if role is None:
                pw = random_alnum(64)
                exists = self.sql("SELECT 1 FROM pg_roles WHERE rolname = %s" % qlit(owner)).strip()
                if exists:
                    self.sql("ALTER ROLE %s WITH LOGIN PASSWORD %s" % (qident(owner), qlit(pw)))
                else:
                    self.sql("CREATE ROLE %s WITH LOGIN PASSWORD %s" % (qident(owner), qlit(pw)))
                    self.created.append(("role", owner))
                role = self.roles[owner] = {"password": pw, "users": set()}
            if d is None:
                exists = self.sql("SELECT 1 FROM pg_database WHERE datname = %s" % qlit(database)).strip()
                if not exists:
                    self.sql("CREATE DATABASE %s OWNER %s" % (qident(database), qident(owner)))
                    self.created.append(("database", database))
                else:
                    self.sql("ALTER DATABASE %s OWNER TO %s" % (qident(database), qident(owner)))
                d = self.dbs[database] = {"owner": owner, "users": set()}
            d["users"].add(user_key)
            role["users"].add(user_key)
            return role["password"]

    def set_password(self, owner, password):
        """The -app Secret has a new password: apply it to the real role, as CNPG does. PgBouncer
        reads role secrets through auth_query at each login, so it follows without a reload."""
        with self.lock:
            role = self.roles.get(owner)
            if role is None:
                raise BackingError("role %r is not one of kubesim's" % owner)
            if role["password"] != password:
                self.sql("ALTER ROLE %s WITH PASSWORD %s" % (qident(owner), qlit(password)))
                role["password"] = password

    def release_database(self, user_key):
        """A Cluster is gone: drop its database and role unless another Cluster still shares them."""
        with self.lock:
            for name, d in list(self.dbs.items()):
                if user_key in d["users"]:
                    d["users"].discard(user_key)
                    if not d["users"]:
                        del self.dbs[name]
                        self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % qident(name))
            for name, r in list(self.roles.items()):
                if user_key in r["users"]:
                    r["users"].discard(user_key)
                    if not r["users"]:
                        del self.roles[name]
                        self._drop_role(name)

    # ------------------------------------------------------------------ PgBouncer
    def _alloc(self):
        if self.addr_mode == "loopback":
            for third in range(1, 5):
                for fourth in range(1, 255):
                    addr = "127.0.%d.%d" % (third, fourth)
                    if addr in self.used_addrs:
                        continue
                    if can_bind(addr, 5432):
                        return addr, 5432
        return "127.0.0.1", free_port()

    def _write_config(self, b, pool_mode, params):
        lines = ["[databases]",
                 "* = host=%s port=%s auth_user=%s" % (self.host, self.port, self.user),
                 "", "[pgbouncer]",
                 "listen_addr = %s" % b.addr, "listen_port = %d" % b.port,
                 "unix_socket_dir =",
                 "auth_type = scram-sha-256",
                 "auth_file = %s" % os.path.join(b.dir, "userlist.txt"),
                 "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1",
                 "pool_mode = %s" % pool_mode,
                 "admin_users = pgbouncer",
                 "stats_users = pgbouncer",
                 "logfile = %s" % os.path.join(b.dir, "pgbouncer.log"),
                 "pidfile = %s" % os.path.join(b.dir, "pgbouncer.pid"),
                 "max_client_conn = 500", "default_pool_size = 5"]
        ignore = "extra_float_digits,options"
        for k, v in sorted((params or {}).items()):
            if k == "ignore_startup_parameters":
                ignore += "," + str(v)
            elif k in PASS_PARAMS and isinstance(v, str) and "\n" not in v:
                lines = [l for l in lines if not l.startswith(k + " =")]
                lines.append("%s = %s" % (k, v))
        lines.append("ignore_startup_parameters = %s" % ignore)
        users = ['"pgbouncer" "%s"' % b.admin_password]
        if self.password:
            users.append('"%s" "%s"' % (self.user, self.password.replace('"', '""')))
        for name, content in (("pgbouncer.ini", "\n".join(lines) + "\n"), ("userlist.txt", "\n".join(users) + "\n")):
            p = os.path.join(b.dir, name)
            with open(p, "w") as f:
                f.write(content)
            os.chmod(p, 0o600)
            if is_root():
                pw = pwd.getpwnam("postgres")
                os.chown(p, pw.pw_uid, pw.pw_gid)
        b.pool_mode = pool_mode

    def start_pooler(self, key, dirname, pool_mode, params):
        """Start a PgBouncer for pooler key. Returns (host, port)."""
        with self.lock:
            old = self.bouncers.get(key)
            if old and old.proc and old.proc.poll() is None:
                return old.addr, old.port
            d = os.path.join(self.pool_dir, dirname)
            os.makedirs(d, exist_ok=True)
            self.pooler_dirs[key] = d
            if is_root():
                pw = pwd.getpwnam("postgres")
                os.chown(d, pw.pw_uid, pw.pw_gid)
            os.chmod(d, 0o755)
            b = PgBouncer(key, d)
            last_err = None
            for _attempt in range(5):
                b.addr, b.port = self._alloc()
                self._write_config(b, pool_mode, params)
                logf = os.path.join(d, "pgbouncer.log")
                try:
                    os.unlink(logf)
                except OSError:
                    pass
                kw = {}
                if is_root():
                    pw = pwd.getpwnam("postgres")
                    kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
                out = open(os.path.join(d, "pgbouncer.out"), "ab")
                env = dict(os.environ, HOME=d)
                b.proc = subprocess.Popen([self.pgbouncer, os.path.join(d, "pgbouncer.ini")], stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=d,
                                          env=env, **kw)
                out.close()
                deadline = time.time() + 10
                while time.time() < deadline:
                    if b.proc.poll() is not None:
                        break
                    if _own_listener(logf, b):
                        self.used_addrs.add(b.addr)
                        self.bouncers[key] = b
                        self.log("kubesim: pgbouncer %s listening on %s:%d (pid %d, pool_mode=%s)" % (
                            dirname, b.addr, b.port, b.proc.pid, pool_mode))
                        return b.addr, b.port
                    time.sleep(0.02)
                if b.proc.poll() is None:
                    self._kill(b)
                try:
                    with open(logf) as f:
                        last_err = f.read()[-500:]
                except OSError:
                    last_err = "exit code %s" % b.proc.returncode
                self.used_addrs.add(b.addr)     # skip this address from now on
            raise BackingError("pgbouncer for %s did not start: %s" % (key, last_err))

    def reload_pooler(self, key, pool_mode, params):
        with self.lock:
            b = self.bouncers.get(key)
            if not b or not b.proc or b.proc.poll() is not None:
                return False
            self._write_config(b, pool_mode, params)
            b.proc.send_signal(signal.SIGHUP)
            return True

    def _kill(self, b):
        p = b.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except OSError:
                pass
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    p.kill()
                except OSError:
                    pass
                p.wait(timeout=5)

    def stop_pooler(self, key):
        """The Pooler is gone: stop its PgBouncer and remove its directory."""
        with self.lock:
            b = self.bouncers.pop(key, None)
            d = self.pooler_dirs.pop(key, None)
        if b is not None:
            self._kill(b)
            self.used_addrs.discard(b.addr)
            self.log("kubesim: pgbouncer %s stopped" % os.path.basename(b.dir))
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)

    def pooler_info(self):
        with self.lock:
            return [b.info() for b in self.bouncers.values()]

    def pooler_alive(self, key):
        with self.lock:
            b = self.bouncers.get(key)
            return bool(b and b.proc and b.proc.poll() is None)

    # ------------------------------------------------------------------ shutdown
    def stop(self):
        for key in list(self.bouncers):
            try:
                self.stop_pooler(key)
            except Exception as e:  # keep going: everything must be stopped
                self.log("kubesim: stopping pgbouncer %s: %s" % (key, e))
        if self.own_pg:
            self._close_conn()
            if os.path.exists(os.path.join(self.pg_dir, "data", "postmaster.pid")):
                subprocess.run([PGTMP, "stop", self.pg_dir], capture_output=True, timeout=120)
        else:
            for kind, name in reversed(self.created):
                try:
                    if kind == "database":
                        self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % qident(name), timeout=20)
                    else:
                        self.sql("DROP ROLE IF EXISTS %s" % qident(name), timeout=20)
                except Exception as e:
                    self.log("kubesim: cleanup of %s %s failed: %s" % (kind, name, e))
            self._close_conn()
