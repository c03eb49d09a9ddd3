#!/usr/bin/env python3
"""Writes kubesimlib/cnpg_schemas.json.gz: the openAPIV3Schema of each CNPG CRD kubesim serves.

Usage: gen_cnpg_schemas.py OUT.json.gz CRD.yaml...   (needs PyYAML; kubesim itself does not)
The CRDs are CNPG's config/crd/bases/postgresql.cnpg.io_<plural>.yaml of the release kubesim
simulates. kubesim serves these schemas in /openapi/v3 (kubectl explain reads them there).
"""
import gzip
import json
import sys

import yaml


def main(argv):
    out = {"source": [], "kinds": {}}
    for path in argv[2:]:
        crd = yaml.safe_load(open(path))
        ver = next(v for v in crd["spec"]["versions"] if v.get("storage"))
        kind = crd["spec"]["names"]["kind"]
        out["kinds"][kind] = {"group": crd["spec"]["group"], "version": ver["name"],
                              "schema": ver["schema"]["openAPIV3Schema"]}
        out["source"].append(path.rsplit("/", 1)[-1])
    with gzip.GzipFile(argv[1], "wb", mtime=0) as f:
        f.write(json.dumps(out, sort_keys=True, separators=(",", ":")).encode())


if __name__ == "__main__":
    main(sys.argv)
