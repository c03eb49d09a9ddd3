"""Certificates made with the openssl command line: a server CA + server cert, a client CA + client cert."""
import os
import subprocess
import tempfile


def _run(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.strip()))


def _key(path, cwd):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path], cwd)
    os.chmod(os.path.join(cwd, path), 0o600)


def _ca(name, cn, cwd):
    _key(name + ".key", cwd)
    _run(["req", "-x509", "-new", "-key", name + ".key", "-sha256", "-days", "3650", "-subj", "/CN=" + cn,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
          "-out", name + ".crt"], cwd)


def _leaf(name, subj, ca, ext, cwd):
    _key(name + ".key", cwd)
    _run(["req", "-new", "-key", name + ".key", "-subj", subj, "-out", name + ".csr"], cwd)
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", dir=cwd, delete=False) as f:
        f.write("[v3]\n" + ext)
        extfile = f.name
    try:
        serial = "0x" + os.urandom(12).hex()
        _run(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-set_serial", serial,
              "-days", "3650", "-sha256", "-extfile", extfile, "-extensions", "v3", "-out", name + ".crt"], cwd)
    finally:
        os.unlink(extfile)
        os.unlink(os.path.join(cwd, name + ".csr"))


def ensure_certs(d, sans):
    """Create (or reuse, when the SAN list is unchanged) the certificates in directory d."""
    os.makedirs(d, exist_ok=True)
    want = ",".join(sans)
    files = ["ca.crt", "ca.key", "server.crt", "server.key", "client-ca.crt", "client-ca.key", "client.crt",
             "client.key"]
    sanfile = os.path.join(d, "sans.txt")
    if all(os.path.exists(os.path.join(d, f)) for f in files) and os.path.exists(sanfile):
        with open(sanfile) as f:
            if f.read().strip() == want:
                return
    _ca("ca", "kubesim-ca", d)
    _leaf("server", "/CN=kubesim-apiserver", "ca",
          "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
          "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % want, d)
    _ca("client-ca", "kubesim-client-ca", d)
    _leaf("client", "/O=system:masters/CN=kubesim-admin", "client-ca",
          "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
          "extendedKeyUsage=clientAuth\n", d)
    with open(sanfile, "w") as f:
        f.write(want + "\n")
