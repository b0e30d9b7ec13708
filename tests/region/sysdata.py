#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The data set of the region system test (tests/sys/region.sh).

Copies the fixture's MAAS 3.x documents (tests/region/data) into OUT with
one change, so that rack 7xtf67 can serve a client on its own: VLAN 5001
has no secondary rack (no failover relationship to wait for), wherever a
VLAN object of it appears.  VLAN 5002 keeps its pair (76y7pg primary,
7xtf67 secondary), for the role swap.  Then writes the variants the test
loads through the fixture's /_control/load between polls:

  variant-reservedips-added.json   + a reserved IP RES_IP for RES_MAC on 10.10.0.0/24
  variant-fabrics-vlan-off.json    VLAN 5001 dhcp_on false
  variant-fabrics-roles-swapped.json  VLAN 5002: 7xtf67 primary, 76y7pg secondary
  variant-ipranges-resized.json    dynamic range 1 (10.10.0.100-199) shrunk to 10.10.0.100-180

and copies the fixture's own variant-*.json files unchanged.

usage: sysdata.py SRC OUT RES_MAC RES_IP
"""
import copy
import json
import os
import sys


def walk(doc, fn):
    """Apply fn to every VLAN object (a dict with primary_rack) in doc."""
    if isinstance(doc, dict):
        if "primary_rack" in doc and "dhcp_on" in doc:
            fn(doc)
        for v in doc.values():
            walk(v, fn)
    elif isinstance(doc, list):
        for v in doc:
            walk(v, fn)


def main():
    src, out, res_mac, res_ip = sys.argv[1:5]
    os.makedirs(out, exist_ok=True)
    docs = {}
    for name in os.listdir(src):
        if name.endswith(".json") and not name.startswith("variant-"):
            with open(os.path.join(src, name)) as f:
                docs[name[:-5]] = json.load(f)

    def solo_5001(v):
        if v["id"] == 5001:
            v["secondary_rack"] = None
    for d in docs.values():
        walk(d, solo_5001)

    def dump(name, doc):
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)

    for name, d in docs.items():
        dump(name, d)
    # the fixture's own variants, as they are (variant-subnets-partial: a subnet without its cidr)
    for name in os.listdir(src):
        if name.startswith("variant-") and name.endswith(".json"):
            with open(os.path.join(src, name), "rb") as f, open(os.path.join(out, name), "wb") as g:
                g.write(f.read())

    res = copy.deepcopy(docs["reservedips"])
    entry = copy.deepcopy(res[0])
    entry.update(id=99, ip=res_ip, mac_address=res_mac, comment="region.sh",
                 resource_uri="/MAAS/api/2.0/reservedips/99/")
    entry["subnet"] = copy.deepcopy(next(x for x in docs["subnets"] if x["id"] == 1))
    res.append(entry)
    dump("variant-reservedips-added", res)

    fab = copy.deepcopy(docs["fabrics"])
    walk(fab, lambda v: v.update(dhcp_on=False) if v["id"] == 5001 else None)
    dump("variant-fabrics-vlan-off", fab)

    fab = copy.deepcopy(docs["fabrics"])
    walk(fab, lambda v: v.update(primary_rack="7xtf67", secondary_rack="76y7pg") if v["id"] == 5002 else None)
    dump("variant-fabrics-roles-swapped", fab)

    rng = copy.deepcopy(docs["ipranges"])
    for r in rng:
        if r["id"] == 1:
            r["end_ip"] = "10.10.0.180"
    dump("variant-ipranges-resized", rng)


if __name__ == "__main__":
    main()
