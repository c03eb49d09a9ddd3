"""Day-2 changes to a live database over HTTP (issue 13, DESIGN.md section 11):
deletion protection. Every answer is checked against docs/openapi.json."""
import unittest

from daaptest import ServerTestCase

TEAM = "payments"


class DeletionProtectionTest(ServerTestCase):
    def test_default_is_unprotected(self):
        db = self.srv.create("plain")
        self.assertIs(db["deletion_protection"], False)
        r = self.srv.delete("/databases/" + db["id"], team=TEAM)
        self.assertIn(r.status, (202, 204), r)

    def test_protected_at_create_refuses_delete_until_patched_off(self):
        db = self.srv.create("guarded", deletion_protection=True)
        self.assertIs(db["deletion_protection"], True)
        path = "/databases/" + db["id"]
        self.srv.wait_status(db["id"], "ready")

        r = self.srv.delete(path, team=TEAM)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertEqual(r.json["code"], "deletion_protected")
        self.assertIn('PATCH {"deletion_protection": false}', r.json["detail"])
        got = self.srv.get(path).json
        self.assertEqual(got["status"], "ready", "a refused delete changed nothing")
        self.assertIsNone(got["deleted_at"])

        # Ownership is checked before protection: a stranger learns nothing.
        self.assertEqual(self.srv.delete(path, team="intruders").status, 403)
        self.assertEqual(self.srv.patch(path, {"deletion_protection": False}, team="intruders").status, 403)

        r = self.srv.patch(path, {"deletion_protection": False}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["deletion_protection"], False)
        self.assertGreater(r.json["revision"], got["revision"])
        r = self.srv.delete(path, team=TEAM)
        self.assertIn(r.status, (202, 204), r)

    def test_patch_turns_it_on(self):
        db = self.srv.create("later")
        path = "/databases/" + db["id"]
        r = self.srv.patch(path, {"deletion_protection": True}, team=TEAM)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["deletion_protection"], True)
        self.assertIs(self.srv.get(path).json["deletion_protection"], True)
        self.assertEqual(self.srv.delete(path, team=TEAM).status, 409)
        # The list shows it too.
        items = self.srv.get("/databases?name=later").json["items"]
        self.assertIs(items[0]["deletion_protection"], True)

    def test_bad_values_are_400(self):
        db = self.srv.create("typed")
        path = "/databases/" + db["id"]
        for bad in ("yes", 1, None):
            r = self.srv.patch(path, {"deletion_protection": bad}, team=TEAM)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertEqual(r.json["errors"][0]["field"], "deletion_protection")
            self.assertEqual(r.json["errors"][0]["code"], "type")
        r = self.srv.post("/databases", {"name": "typed-2", "owner_team": TEAM, "purpose": "p",
                                         "deletion_protection": "true"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"][0]["field"], "deletion_protection")


if __name__ == "__main__":
    unittest.main()
