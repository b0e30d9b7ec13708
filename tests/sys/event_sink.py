#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""event_sink.py SOCKET OUT — stand in for rackd/maas-agent's dhcpd.sock:
bind a unix datagram socket at SOCKET and append every datagram received,
as one line, to OUT (flushed at once).  Runs until killed; exits by itself
after 300 s so a forgotten sink cannot outlive its test."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(1.0)
end = time.monotonic() + 300
with open(out, "ab", buffering=0) as f:
    while time.monotonic() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        f.write(data.replace(b"\n", b"\\n") + b"\n")
