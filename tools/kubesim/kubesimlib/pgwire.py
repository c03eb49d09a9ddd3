"""A minimal PostgreSQL client (simple query protocol; trust, cleartext, md5 and SCRAM-SHA-256 auth)."""
import base64
import hashlib
import hmac
import os
import socket
import struct


class PgError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class PgConn:
    def __init__(self, host, port, user, password=None, dbname="postgres", timeout=15.0):
        self.user = user
        self.password = password
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        params = b"user\0" + user.encode() + b"\0database\0" + dbname.encode() + \
            b"\0application_name\0kubesim\0\0"
        self._send_raw(struct.pack("!ii", 8 + len(params), 196608) + params)
        self._auth()
        while True:
            t, body = self._read()
            if t == b"Z":
                return
            if t == b"E":
                raise self._error(body)

    # ------------------------------------------------------------------ I/O
    def _send_raw(self, data):
        self.sock.sendall(data)

    def _send(self, t, payload):
        self._send_raw(t + struct.pack("!i", len(payload) + 4) + payload)

    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PgError("connection closed by the server")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read(self):
        head = self._recv(5)
        t, ln = head[:1], struct.unpack("!i", head[1:])[0]
        return t, self._recv(ln - 4)

    @staticmethod
    def _error(body):
        fields = {}
        for part in body.split(b"\0"):
            if part:
                fields[part[:1]] = part[1:].decode("utf-8", "replace")
        return PgError("%s: %s" % (fields.get(b"S", "ERROR"), fields.get(b"M", "?")), fields.get(b"C"))

    # ------------------------------------------------------------------ authentication
    def _auth(self):
        while True:
            t, body = self._read()
            if t == b"E":
                raise self._error(body)
            if t != b"R":
                raise PgError("unexpected message %r during authentication" % t)
            code = struct.unpack("!i", body[:4])[0]
            if code == 0:
                return
            pw = (self.password or "").encode()
            if code == 3:
                self._send(b"p", pw + b"\0")
            elif code == 5:
                salt = body[4:8]
                inner = hashlib.md5(pw + self.user.encode()).hexdigest().encode()
                self._send(b"p", b"md5" + hashlib.md5(inner + salt).hexdigest().encode() + b"\0")
            elif code == 10:
                self._scram(body[4:])
            else:
                raise PgError("unsupported authentication method %d" % code)

    def _scram(self, mechs):
        if b"SCRAM-SHA-256" not in mechs.split(b"\0"):
            raise PgError("server offers no SCRAM-SHA-256")
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=,r=" + nonce
        first = ("n,," + first_bare).encode()
        self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
        t, body = self._read()
        if t == b"E":
            raise self._error(body)
        if struct.unpack("!i", body[:4])[0] != 11:
            raise PgError("unexpected SASL step")
        server_first = body[4:].decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        if not attrs["r"].startswith(nonce):
            raise PgError("SCRAM nonce mismatch")
        salted = hashlib.pbkdf2_hmac("sha256", (self.password or "").encode(), base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_wo_proof = "c=biws,r=" + attrs["r"]
        auth_msg = ",".join([first_bare, server_first, final_wo_proof]).encode()
        sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        self._send(b"p", (final_wo_proof + ",p=" + base64.b64encode(proof).decode()).encode())
        t, body = self._read()
        if t == b"E":
            raise self._error(body)
        if struct.unpack("!i", body[:4])[0] != 12:
            raise PgError("unexpected SASL final step")

    # ------------------------------------------------------------------ queries
    def query(self, sql):
        """Run one simple query; returns the rows of the last result (lists of str or None)."""
        self._send(b"Q", sql.encode() + b"\0")
        rows, err = [], None
        while True:
            t, body = self._read()
            if t == b"T":
                rows = []
            elif t == b"D":
                n = struct.unpack("!h", body[:2])[0]
                pos, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", body[pos:pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(body[pos:pos + ln].decode("utf-8", "replace"))
                        pos += ln
                rows.append(row)
            elif t == b"E":
                err = self._error(body)
            elif t == b"Z":
                if err is not None:
                    raise err
                return rows

    def close(self):
        try:
            self._send(b"X", b"")
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
