# SPDX-License-Identifier: GPL-3.0-or-later
"""Byte helpers shared by the capture generators (gen_fixtures.py and
gen_scenarios.py): addresses, MACs and option TLVs as wire bytes."""

import struct


def ip4(a):
    """Dotted quad -> 4 bytes."""
    return bytes(int(x) for x in a.split("."))


def mac(m):
    """aa:bb:cc:dd:ee:ff -> 6 bytes."""
    return bytes(int(x, 16) for x in m.split(":"))


def opt(code, value):
    """One option TLV (value <= 255 bytes)."""
    if isinstance(value, str):
        value = value.encode()
    assert len(value) <= 255
    return bytes([code, len(value)]) + value


def u8(v):
    return struct.pack("!B", v)


def u16(v):
    return struct.pack("!H", v)


def u32(v):
    return struct.pack("!I", v)


def ips(*addrs):
    return b"".join(ip4(a) for a in addrs)
