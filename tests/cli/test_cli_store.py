"""daapctl in operator mode on a temporary SQLite store (no server, no
cluster: Kubernetes is the library's in-memory fake). Also the parts that
need neither: --help, exit codes, completion, docs."""
import json
import os
import pty
import re
import shutil
import subprocess
import tempfile
import unittest

from clitest import BUILD_DIR, DAAPCTL, SOURCE_DIR, CliTestCase, clean_env, daapctl, write_key


def schema(db_path):
    return subprocess.run(["sqlite3", db_path, ".schema"], stdout=subprocess.PIPE, text=True, check=True).stdout


class StoreTest(CliTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="daapctl-store-")
        self.db = os.path.join(self.dir, "daap.db")
        self.key = write_key(os.path.join(self.dir, "key"))
        self.env = clean_env(DAAP_STORE="sqlite://" + self.db)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_ctl(self, *args, **kw):
        return daapctl(*args, env=kw.pop("env", self.env), **kw)

    def op(self, *args, **kw):
        """A command that needs Kubernetes and the key (create, delete)."""
        return self.run_ctl("--kubeconfig", "fake", "--secret-key-file", self.key, *args, **kw)

    def migrated(self):
        self.assertExit(self.run_ctl("migrate", "up"), 0)


class MigrateTest(StoreTest):
    def test_up_status_down_up(self):
        r = self.run_ctl("migrate", "status", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual((r.json()["current"], r.json()["migrations"][0]["applied"]), (0, False))

        r = self.run_ctl("migrate", "up")
        self.assertExit(r, 0)
        latest = self.run_ctl("migrate", "status", "-o", "json").json()["latest"]
        self.assertIn("Schema version %d of %d" % (latest, latest), r.out)
        self.assertIn("CREATE TABLE databases", schema(self.db))

        st = self.run_ctl("migrate", "status", "-o", "json").json()
        self.assertEqual(st["current"], st["latest"])
        self.assertTrue(all(m["applied"] and m["checksum_ok"] for m in st["migrations"]))
        self.assertIn("current: ", self.run_ctl("migrate", "status", "-o", "yaml").out)

        self.assertExit(self.run_ctl("migrate", "down", "--to", "0"), 0)
        self.assertNotIn("CREATE TABLE databases", schema(self.db))
        self.assertEqual(self.run_ctl("migrate", "status", "-o", "json").json()["current"], 0)

        self.assertExit(self.run_ctl("migrate", "up"), 0)
        self.assertIn("CREATE TABLE databases", schema(self.db))
        self.assertExit(self.run_ctl("migrate", "up"), 0)  # idempotent

    def test_down_reverts_one_step(self):
        self.migrated()
        # Versions may have gaps (libdaap/storage/sqlmig.h): one step down is the previous known one.
        items = self.run_ctl("migrate", "status", "-o", "json").json()["migrations"]
        self.assertExit(self.run_ctl("migrate", "down"), 0)
        self.assertEqual(self.run_ctl("migrate", "status", "-o", "json").json()["current"], items[-2]["version"])

    def test_make_migrate_is_the_same_command(self):
        build = BUILD_DIR or os.path.dirname(os.path.dirname(DAAPCTL))
        make = ["make", "--no-print-directory", "-f", os.path.join(SOURCE_DIR, "Makefile"), "-o", "build",
                "BUILD=" + build]
        env = clean_env()
        r = subprocess.run(make + ["migrate"], cwd=self.dir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("CREATE TABLE databases", schema(os.path.join(self.dir, "var", "daap.db")))
        same = daapctl("--store", "sqlite://var/daap.db", "migrate", "status", "-o", "json", env=env, cwd=self.dir)
        self.assertEqual(same.json()["current"], same.json()["latest"])
        r = subprocess.run(make + ["migrate-down"], cwd=self.dir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_migrate_refuses_a_server(self):
        r = daapctl("--server", "http://127.0.0.1:9", "migrate", "up")
        self.assertExit(r, 2)
        self.assertIn("--store", r.err)

    def test_unmigrated_store_says_what_to_do(self):
        r = self.run_ctl("list")
        self.assertExit(r, 5)
        self.assertIn("daapctl migrate up", r.err)


class CrudTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.migrated()

    def test_create_list_get_update_delete(self):
        r = self.op("create", "orders", "--team", "payments", "--purpose", "order history")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Status:\s+provisioning")
        created = self.op("get", "orders", "-o", "json").json()
        self.assertEqual((created["name"], created["owner_team"]), ("orders", "payments"))
        self.assertNotIn("connection", created)

        by_id = self.run_ctl("get", created["id"], "-o", "json")
        self.assertExit(by_id, 0)
        self.assertEqual(by_id.json()["id"], created["id"])
        self.assertIn("owner_team: \"payments\"", self.run_ctl("get", "orders", "-o", "yaml").out)

        r = self.run_ctl("update", "orders", "--purpose", "audit", "--as", "payments", "-o", "json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["purpose"], "audit")
        r = self.run_ctl("--team", "payments", "update", "orders", "--team", "billing")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"Team:\s+billing")

        r = self.op("delete", "orders", "--yes", "--as", "billing")
        self.assertExit(r, 0)
        self.assertIn("orders", r.out)
        self.assertExit(self.run_ctl("get", "orders"), 3)
        listed = self.run_ctl("list", "--include-deleted", "-o", "json").json()["items"]
        self.assertEqual([d["status"] for d in listed if d["name"] == "orders"], ["deleted"])

    def test_owner_team_defaults_to_the_callers(self):
        env = dict(self.env, DAAP_TEAM="payments")
        self.assertExit(self.op("create", "ledger", "--purpose", "p", env=env), 0)
        self.assertEqual(self.run_ctl("get", "ledger", "-o", "json").json()["owner_team"], "payments")

    def test_list_filters_limit_and_cursor(self):
        for i, team in enumerate(["a-team", "b-team", "a-team", "a-team", "b-team"]):
            self.assertExit(self.op("create", "db-%d" % i, "--team", team, "--purpose", "p"), 0)
        table = self.run_ctl("list")
        self.assertExit(table, 0)
        self.assertEqual(table.out.splitlines()[0].split()[:4], ["NAME", "ID", "TEAM", "STATUS"])
        self.assertEqual(len(table.out.splitlines()), 6)

        names = lambda r: [d["name"] for d in r.json()["items"]]
        self.assertEqual(names(self.run_ctl("list", "--team", "a-team", "-o", "json")), ["db-0", "db-2", "db-3"])
        self.assertEqual(names(self.run_ctl("list", "--name", "db-4", "-o", "json")), ["db-4"])
        self.assertEqual(names(self.run_ctl("list", "--status", "ready", "-o", "json")), [])
        self.assertEqual(len(names(self.run_ctl("list", "--status", "provisioning,error", "-o", "json"))), 5)

        first = self.run_ctl("list", "--limit", "3", "-o", "json").json()
        self.assertEqual(len(first["items"]), 3)
        self.assertIsNotNone(first["next_cursor"])
        rest = self.run_ctl("list", "--cursor", first["next_cursor"], "-o", "json").json()
        self.assertEqual([d["name"] for d in rest["items"]], ["db-3", "db-4"])
        self.assertIsNone(rest["next_cursor"])

        yaml = self.run_ctl("list", "--limit", "2", "-o", "yaml").out
        self.assertEqual(len(re.findall(r"^- id: ", yaml, re.M)), 2)
        self.assertRegex(yaml, r"(?m)^next_cursor: \"")

    def test_empty_list(self):
        r = self.run_ctl("list")
        self.assertExit(r, 0)
        self.assertEqual(r.out, "")
        self.assertIn("No databases found", r.err)
        self.assertEqual(self.run_ctl("list", "-o", "json").json(), {"items": [], "next_cursor": None})

    def test_url_of_a_database_that_is_not_ready(self):
        self.assertExit(self.op("create", "slow", "--team", "t", "--purpose", "p"), 0)
        r = self.run_ctl("url", "slow")
        self.assertExit(r, 3)
        self.assertIn("not ready", r.err)


class ExitCodeTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.migrated()

    def test_usage_errors(self):
        for args in (["frobnicate"], ["list", "--frob"], ["get"], ["get", "a", "b"], ["create", "x", "--instances"],
                     ["-o", "xml", "list"], ["create", "x", "--purpose", "p", "--timeout", "5s"],
                     ["update", "x"], ["create", "x", "--purpose", "p", "--instances", "many"],
                     ["migrate", "sideways"], ["completion", "fish"]):
            with self.subTest(args=args):
                r = self.run_ctl(*args)
                self.assertExit(r, 2)
                self.assertTrue(r.err.startswith("daapctl: "), r.err)
        self.assertExit(daapctl(), 2)

    def test_not_found_exists_invalid_forbidden(self):
        self.assertExit(self.run_ctl("get", "nothing-here"), 3)
        self.assertExit(self.run_ctl("get", "01a22037-91e0-713d-9f76-da855c126aaf"), 3)
        self.assertExit(self.op("create", "dup", "--team", "t", "--purpose", "p"), 0)
        r = self.op("create", "dup", "--team", "t", "--purpose", "p")
        self.assertExit(r, 4)
        self.assertIn("already exists", r.err)
        r = self.run_ctl("update", "dup", "--purpose", "x", "--as", "intruders")
        self.assertExit(r, 10)
        r = self.op("delete", "dup", "--yes", "--as", "intruders")
        self.assertExit(r, 10)

    def test_every_field_error_is_listed(self):
        r = self.op("create", "Bad_Name", "--purpose", "", "--instances", "50", "--storage", "lots")
        self.assertExit(r, 5)
        fields = re.findall(r"^  - (\w+): .* \((\w+)\)$", r.err, re.M)
        self.assertEqual({f for f, _ in fields}, {"name", "owner_team", "purpose", "instances", "storage_size"})
        r = self.op("create", "Bad_Name", "--purpose", "", "-o", "json")
        self.assertExit(r, 5)
        problem = json.loads(r.err)
        self.assertEqual(problem["code"], "invalid")
        self.assertEqual({e["field"] for e in problem["errors"]}, {"name", "owner_team", "purpose"})

    def test_delete_needs_yes_without_a_terminal(self):
        self.assertExit(self.op("create", "keep", "--team", "t", "--purpose", "p"), 0)
        r = self.op("delete", "keep", "--as", "t")
        self.assertExit(r, 2)
        self.assertIn("--yes", r.err)
        self.assertExit(self.run_ctl("get", "keep"), 0)

    def test_unreachable_server(self):
        r = daapctl("--server", "http://127.0.0.1:9", "list")
        self.assertExit(r, 7)
        self.assertIn("cannot reach daap-server", r.err)

    def test_server_and_store_together(self):
        self.assertExit(self.run_ctl("--server", "http://127.0.0.1:9", "--store", "sqlite::memory:", "list"), 2)

    def test_wrong_key_file(self):
        r = self.run_ctl("--kubeconfig", "fake", "--secret-key-file", os.path.join(self.dir, "nope"),
                         "create", "x-db", "--team", "t", "--purpose", "p")
        self.assertExit(r, 5)
        self.assertIn("secret key", r.err)


def run_on_tty(args, env, answer):
    """Run daapctl with stdin and stderr on a pseudo-terminal; type `answer`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([DAAPCTL] + args, env=env, stdin=slave, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    os.write(master, answer.encode())
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.returncode, out, seen.decode(errors="replace")


class TerminalTest(StoreTest):
    def setUp(self):
        super().setUp()
        self.migrated()
        self.assertExit(self.op("create", "asked", "--team", "t", "--purpose", "p"), 0)

    def delete_on_tty(self, answer):
        args = ["--kubeconfig", "fake", "--secret-key-file", self.key, "delete", "asked", "--as", "t"]
        return run_on_tty(args, self.env, answer)

    def test_delete_asks_and_no_keeps_it(self):
        rc, out, tty = self.delete_on_tty("n\n")
        self.assertEqual(rc, 1, tty)
        self.assertIn("Delete database 'asked'", tty)
        self.assertIn("not deleted", tty)
        self.assertExit(self.run_ctl("get", "asked"), 0)

    def test_delete_asks_and_yes_deletes(self):
        rc, out, tty = self.delete_on_tty("y\n")
        self.assertEqual(rc, 0, tty)
        self.assertIn("asked", out)
        self.assertExit(self.run_ctl("get", "asked"), 3)


class HelpTest(CliTestCase):
    def commands(self):
        out = daapctl("--help").out
        section = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        return [line.split()[0] for line in section.splitlines()]

    def test_main_help(self):
        r = daapctl("--help")
        self.assertExit(r, 0)
        for word in ("Usage: daapctl", "Global options:", "Exit status:", "--server", "DAAP_SERVER"):
            self.assertIn(word, r.out)

    def test_help_on_every_command(self):
        commands = self.commands()
        self.assertIn("create", commands)
        self.assertNotIn("__gen-man", commands)
        for cmd in commands:
            for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd], ["--team", "x", cmd, "--help"]):
                with self.subTest(args=args):
                    r = daapctl(*args)
                    self.assertExit(r, 0)
                    self.assertTrue(r.out.startswith("Usage: daapctl " + cmd), r.out)
                    self.assertIn("Options:", r.out)

    def test_exit_status_table_is_documented(self):
        man = daapctl("__gen-man").out
        for status in range(0, 14):
            self.assertRegex(man, r"(?m)^\.B %d$" % status)

    def test_version(self):
        r = daapctl("version")
        self.assertExit(r, 0)
        self.assertRegex(r.out, r"^daapctl \d+\.\d+\.\d+\nlibdaap \d+\.\d+\.\d+ \(.*remote.*\)\n$")
        self.assertIn("remote", daapctl("version", "-o", "json").json()["features"])


class CompletionTest(CliTestCase):
    def complete(self, script, words):
        line = "source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _daapctl; printf '%%s\\n' \"${COMPREPLY[@]}\"" % (
            script, " ".join("'%s'" % w for w in words), len(words) - 1)
        return subprocess.run(["bash", "-c", line], stdout=subprocess.PIPE, text=True, check=True).stdout.split()

    def test_bash(self):
        r = daapctl("completion", "bash")
        self.assertExit(r, 0)
        self.assertIn("complete -F _daapctl daapctl", r.out)
        with tempfile.NamedTemporaryFile("w", suffix=".bash", delete=False) as f:
            f.write(r.out)
        try:
            self.assertEqual(subprocess.run(["bash", "-n", f.name]).returncode, 0)
            self.assertEqual(self.complete(f.name, ["daapctl", "cr"]), ["create"])
            self.assertEqual(self.complete(f.name, ["daapctl", "migrate", ""])[:3], ["up", "down", "status"])
            self.assertEqual(self.complete(f.name, ["daapctl", "-o", ""]), ["table", "json", "yaml"])
            self.assertIn("--wait", self.complete(f.name, ["daapctl", "create", "x", "--w"]))
            self.assertIn("ready", self.complete(f.name, ["daapctl", "list", "--status", ""]))
            self.assertEqual(self.complete(f.name, ["daapctl", "create", "--team", ""]), [])
        finally:
            os.unlink(f.name)


class DocsTest(CliTestCase):
    """The committed man page and docs/cli.md are what the table generates;
    regenerate them with `cmake --build BUILD --target cli-docs`."""

    def check(self, args, path):
        with open(os.path.join(SOURCE_DIR, path)) as f:
            committed = f.read()
        generated = daapctl(*args)
        self.assertExit(generated, 0)
        self.assertEqual(committed, generated.out, "%s is stale: run cmake --build BUILD --target cli-docs" % path)

    def test_man_page_is_current(self):
        self.check(["__gen-man"], "docs/man/daapctl.1")

    def test_markdown_is_current(self):
        self.check(["__gen-man", "--markdown"], "docs/cli.md")

    def test_man_page_renders(self):
        if shutil.which("man") is None:
            self.skipTest("man is not installed")
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(SOURCE_DIR, "docs/man/daapctl.1")],
                           env=clean_env(MANWIDTH="80", MAN_KEEP_FORMATTING="0"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "")
        text = re.sub(".\b", "", r.stdout)  # overstrike bold, when man thinks it prints
        self.assertIn("EXIT STATUS", text)
        self.assertIn("daapctl create", text)


if __name__ == "__main__":
    unittest.main()
