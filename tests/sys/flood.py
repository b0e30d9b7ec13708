#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""flood.py — DHCP traffic generators for the system tests (tests/sys).

Run inside a client network namespace; every subcommand is bounded in count
and time and prints one JSON object on stdout.

  garbage --iface IF [--set malformed|fuzz] [--server IP] [--src IP]
      malformed: input to port 67 that must be refused, each kind once:
      raw broadcast frames that are truncated, carry broken options, a wrong
      UDP checksum, bad IP/UDP lengths, are larger than any DHCP request,
      are BOOTREPLYs, ...; then UDP datagrams to IP:67 through the kernel
      (short, random, oversized).  fuzz: random mutations of a DISCOVER and
      random payloads.  Prints how many of each kind were sent, how many
      the server should count (the kernel drops some itself) and the MACs.
  flood --iface IF --count N --seconds S [--listen S2]
      N DISCOVERs from random MACs, paced evenly over S seconds, broadcast
      flag set; counts the OFFERs to those MACs seen on IF until S2 seconds
      after the last one.
  hammer --iface IF --count N [--mac MAC] [--seconds S] [--listen S2]
      N DISCOVERs from one MAC, paced evenly over S seconds (default 0.2:
      fast, yet slow enough that the server's socket queue does not
      overflow); counts the OFFERs to it.
  tagged --iface IF --mac MAC [--vlan ID] [--count N] [--listen S2]
      N DISCOVERs from MAC carrying an 802.1Q tag (VLAN ID), 0.2 s apart;
      counts the replies to MAC seen on IF (tagged or not).

Frames are written with a plain AF_PACKET socket (fast enough for a few
thousand frames a second) and answers read with another one, which sees
every frame on the link whatever its destination MAC.
"""
import argparse
import json
import random
import socket
import struct
import sys
import threading
import time

ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003
BCAST = b"\xff" * 6
MAGIC = b"\x63\x82\x53\x63"


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return socket.inet_aton(a)


def frame(src_mac, payload, dst_mac=BCAST, src_ip="0.0.0.0", dst_ip="255.255.255.255", sport=68, dport=67,
          bad_udp_csum=False):
    """An Ethernet/IPv4/UDP frame with correct lengths and checksums."""
    s, d = ip4(src_ip), ip4(dst_ip)
    ulen = 8 + len(payload)
    pseudo = s + d + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum16(pseudo + udp) or 0xFFFF
    if bad_udp_csum:
        c = (c + 0x1234) & 0xFFFF or 1
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + ulen, 0, 0, 64, 17, 0, s, d)
    iph = iph[:10] + struct.pack("!H", csum16(iph)) + iph[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + iph + udp


def bootp(mac, xid, op=1, flags=0x8000, ciaddr="0.0.0.0", giaddr="0.0.0.0", options=None, hlen=6, htype=1):
    hdr = struct.pack("!BBBBIHH4s4s4s4s", op, htype, hlen, 0, xid, 0, flags, ip4(ciaddr), ip4("0.0.0.0"),
                      ip4("0.0.0.0"), ip4(giaddr))
    hdr += mac.ljust(16, b"\0") + b"\0" * 64 + b"\0" * 128
    if options is None:
        options = [(53, b"\x01"), (55, b"\x01\x03\x06")]
    body = MAGIC
    for code, val in options:
        body += bytes([code, len(val)]) + val
    return hdr + body + b"\xff"


def discover(mac, xid):
    return bootp(mac, xid)


def rand_mac(rng):
    return bytes([0x02, rng.randrange(256), rng.randrange(256), rng.randrange(256), rng.randrange(256),
                  rng.randrange(256)])


def macstr(m):
    return ":".join("%02x" % b for b in m)


def parse_reply(buf):
    """(msgtype, chaddr, yiaddr, xid) of a DHCP reply to port 68 in an Ethernet frame, else None."""
    if len(buf) < 14 + 20 + 8 + 240 or buf[12:14] != b"\x08\x00":
        return None
    ihl = (buf[14] & 15) * 4
    if buf[23] != 17:
        return None
    u = 14 + ihl
    if struct.unpack("!H", buf[u + 2:u + 4])[0] != 68:
        return None
    p = buf[u + 8:]
    if len(p) < 240 or p[0] != 2 or p[236:240] != MAGIC:
        return None
    xid = struct.unpack("!I", p[4:8])[0]
    yiaddr = socket.inet_ntoa(p[16:20])
    chaddr = bytes(p[28:34])
    i, mt = 240, None
    while i < len(p):
        c = p[i]
        if c == 255:
            break
        if c == 0:
            i += 1
            continue
        if i + 1 >= len(p):
            break
        ln = p[i + 1]
        if c == 53 and ln == 1 and i + 2 < len(p):
            mt = p[i + 2]
        i += 2 + ln
    return mt, chaddr, yiaddr, xid


class Listener(threading.Thread):
    """Collects the DHCP replies seen on an interface."""

    def __init__(self, iface):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((iface, ETH_P_IP))
        self.sock.settimeout(0.1)
        self.replies = []
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                buf = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            r = parse_reply(buf)
            if r:
                self.replies.append(r)


def sender(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    s.bind((iface, 0))
    return s


def send_frame(s, f, tries=50):
    """Send one frame; on a full queue (ENOBUFS) wait a little and retry."""
    for _ in range(tries):
        try:
            s.send(f)
            return True
        except OSError as e:
            if e.errno not in (105, 11):  # ENOBUFS, EAGAIN
                raise
            time.sleep(0.002)
    return False


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes(int(x, 16) for x in f.read().strip().split(":"))


# ------------------------------------------------------------------ garbage
# Malformed frames the kernel itself discards before any socket sees them
# (IPv4 header length out of range): sent, but not expected to be counted.
KERNEL_DROPS = {"ip_ihl_15", "ip_ihl_3"}


def cmd_garbage(a):
    rng = random.Random(a.seed)
    s = sender(a.iface)
    me = iface_mac(a.iface)
    gmac = bytes.fromhex("02badc0ffee0")        # every malformed item
    cmac = bytes.fromhex("02c5c5c5c5c5")        # the wrong-checksum DISCOVER
    mmac = bytes.fromhex("02dead0000ff")        # the fuzz set's mutations
    good = discover(gmac, 0x11111111)
    only = set(a.only.split(",")) if a.only else None
    sent = {}

    def count(kind):
        sent[kind] = sent.get(kind, 0) + 1

    def put(kind, f):
        if only and kind not in only:
            return
        try:
            if send_frame(s, f):
                count(kind)
        except OSError as e:
            print("raw %s (%d bytes): %s" % (kind, len(f), e), file=sys.stderr)

    if a.set == "malformed":
        # Raw broadcast frames to port 67, none of them a request to answer.
        put("bootp_truncated", frame(me, good[:100]))
        put("bootp_no_options", frame(me, good[:236]))
        put("empty_udp", frame(me, b""))
        put("no_magic_cookie", frame(me, good[:236] + b"\x00\x00\x00\x00" + good[240:]))
        put("option_overruns_end", frame(me, good[:240] + b"\x35\x01\x01\x37\xf0\x01\x03"))
        put("msgtype_length_0", frame(me, bootp(gmac, 2, options=[(53, b"")])))
        put("msgtype_length_5", frame(me, bootp(gmac, 3, options=[(53, b"\x01\x01\x01\x01\x01")])))
        put("no_msgtype", frame(me, bootp(gmac, 4, options=[(55, b"\x01")])))
        put("msgtype_99", frame(me, bootp(gmac, 5, options=[(53, b"\x63")])))
        put("hlen_255", frame(me, bootp(gmac, 6, hlen=255)))
        b = bytearray(bootp(gmac, 7, options=[(53, b"\x01"), (52, b"\x03")]))
        b[44:236] = b"\x7f" * 192                 # sname + file "hold options": overrunning ones
        put("overload_garbage", frame(me, bytes(b)))
        put("bootreply", frame(me, bootp(gmac, 8, op=2, options=[(53, b"\x02")])))
        put("op_3", frame(me, bootp(gmac, 9, op=3)))
        f = bytearray(frame(me, good))
        f[16:18] = struct.pack("!H", 2000)        # IP total length past the end
        put("ip_len_past_end", bytes(f))
        f = bytearray(frame(me, good))
        f[14] = 0x4F                               # IHL 15 over a plain header
        put("ip_ihl_15", bytes(f))
        f = bytearray(frame(me, good))
        f[14] = 0x43                               # IHL 3: shorter than a header
        put("ip_ihl_3", bytes(f))
        f = bytearray(frame(me, good))
        f[38:40] = struct.pack("!H", 4000)         # UDP length past the end
        put("udp_len_past_end", bytes(f))
        f = bytearray(frame(me, good))
        f[38:40] = struct.pack("!H", 3)            # UDP length < header
        put("udp_len_3", bytes(f))
        put("oversized_4000", frame(me, good + b"\0" * (4000 - len(good))))
        put("oversized_8000", frame(me, bootp(gmac, 10, options=[(53, b"\x01")] + [(224, bytes(255))] * 30)))
        # A valid DISCOVER, from its own MAC, with a wrong UDP checksum.
        put("bad_udp_checksum", frame(me, discover(cmac, 0x22222222), bad_udp_csum=True))
        # UDP datagrams through the kernel, to the server's address.
        if a.server:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if a.src:
                u.bind((a.src, 0))
            for kind, payload in [
                ("udp_short", b"\x01\x01\x06"),
                ("udp_random_300", bytes([1]) + bytes(rng.randrange(256) for _ in range(299))),
                ("udp_truncated", good[:150]),
                ("udp_bad_options", good[:240] + b"\x35\x05\x01"),
                ("udp_bootreply", bootp(gmac, 12, op=2, options=[(53, b"\x05")])),
                ("udp_oversized_4000", good + b"\0" * (4000 - len(good))),
                ("udp_empty", b""),
            ]:
                if only and kind not in only:
                    continue
                try:
                    u.sendto(payload, (a.server, 67))
                    count(kind)
                except OSError as e:
                    print("udp %s: %s" % (kind, e), file=sys.stderr)
            u.close()
    else:
        # Random mutations of a DISCOVER (header and options; chaddr kept,
        # though a changed htype/hlen makes another client), some cut
        # short, and random payloads.
        mgood = discover(mmac, 0x33333333)
        for i in range(a.mutations):
            b = bytearray(mgood)
            for _ in range(rng.randrange(1, 12)):
                pos = rng.choice([rng.randrange(0, 28), rng.randrange(236, len(b))])
                b[pos] = rng.randrange(256)
            if rng.random() < 0.3:
                b = b[:rng.randrange(0, len(b))]
            put("mutated", frame(me, bytes(b)))
        for i in range(a.mutations // 4):
            put("random_payload", frame(me, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))))
    s.close()
    total = sum(sent.values())
    print(json.dumps({"sent": sent, "total": total,
                      "expect_counted": total - sum(sent.get(k, 0) for k in KERNEL_DROPS),
                      "garbage_mac": macstr(gmac), "bad_csum_mac": macstr(cmac), "mutation_mac": macstr(mmac)}))
    return 0


# ------------------------------------------------------------------ flood
def cmd_flood(a):
    rng = random.Random(a.seed)
    macs = set()
    while len(macs) < a.count:
        macs.add(rand_mac(rng))
    macs = sorted(macs, key=lambda _: rng.random())
    me = iface_mac(a.iface)
    frames = [frame(me, discover(m, rng.getrandbits(32))) for m in macs]
    lis = Listener(a.iface)
    lis.start()
    s = sender(a.iface)
    t0 = time.monotonic()
    sent = 0
    for i, f in enumerate(frames):
        due = t0 + a.seconds * i / a.count
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        if send_frame(s, f):
            sent += 1
        if time.monotonic() - t0 > a.seconds + 5:
            break
    t1 = time.monotonic()
    time.sleep(a.listen)
    lis.stop = True
    lis.join(2)
    ours = set(macs)
    offers = [r for r in lis.replies if r[0] == 2 and r[1] in ours]
    print(json.dumps({"sent": sent, "duration": round(t1 - t0, 3), "offers": len(offers),
                      "offered_macs": len({r[1] for r in offers}), "addresses": len({r[2] for r in offers})}))
    return 0


# ------------------------------------------------------------------ hammer
def cmd_hammer(a):
    rng = random.Random(a.seed)
    mac = bytes.fromhex(a.mac.replace(":", "")) if a.mac else rand_mac(rng)
    me = iface_mac(a.iface)
    frames = [frame(me, discover(mac, rng.getrandbits(32))) for _ in range(a.count)]
    lis = Listener(a.iface)
    lis.start()
    s = sender(a.iface)
    t0 = time.monotonic()
    sent = 0
    for i, f in enumerate(frames):
        d = t0 + a.seconds * i / a.count - time.monotonic()
        if d > 0:
            time.sleep(d)
        if send_frame(s, f):
            sent += 1
    t1 = time.monotonic()
    time.sleep(a.listen)
    lis.stop = True
    lis.join(2)
    offers = [r for r in lis.replies if r[0] == 2 and r[1] == mac]
    print(json.dumps({"sent": sent, "duration": round(t1 - t0, 3), "offers": len(offers), "mac": macstr(mac),
                      "addresses": sorted({r[2] for r in offers})}))
    return 0


# ------------------------------------------------------------------ tagged
def cmd_tagged(a):
    """DISCOVERs with an 802.1Q tag, from one MAC; counts any OFFER to it."""
    rng = random.Random(a.seed)
    mac = bytes.fromhex(a.mac.replace(":", ""))
    me = iface_mac(a.iface)
    lis = Listener(a.iface)
    lis.start()
    s = sender(a.iface)
    sent = 0
    for i in range(a.count):
        f = frame(me, discover(mac, rng.getrandbits(32)))
        f = f[:12] + struct.pack("!HH", 0x8100, a.vlan & 0xFFF) + f[12:]
        if send_frame(s, f):
            sent += 1
        time.sleep(0.2)
    time.sleep(a.listen)
    lis.stop = True
    lis.join(2)
    offers = [r for r in lis.replies if r[1] == mac]
    print(json.dumps({"sent": sent, "vlan": a.vlan, "mac": macstr(mac), "replies": len(offers)}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("garbage")
    g.add_argument("--iface", required=True)
    g.add_argument("--server")
    g.add_argument("--src")
    g.add_argument("--set", choices=["malformed", "fuzz"], default="malformed",
                   help="malformed: each kind of broken input once; fuzz: random mutations")
    g.add_argument("--mutations", type=int, default=200)
    g.add_argument("--only", help="comma-separated kinds to send (default: all)")
    g.add_argument("--seed", type=int, default=67)
    f = sub.add_parser("flood")
    f.add_argument("--iface", required=True)
    f.add_argument("--count", type=int, default=3000)
    f.add_argument("--seconds", type=float, default=3.0)
    f.add_argument("--listen", type=float, default=1.5)
    f.add_argument("--seed", type=int, default=68)
    h = sub.add_parser("hammer")
    h.add_argument("--iface", required=True)
    h.add_argument("--count", type=int, default=200)
    h.add_argument("--mac")
    h.add_argument("--seconds", type=float, default=0.2, help="spread the DISCOVERs over this time")
    h.add_argument("--listen", type=float, default=1.5)
    h.add_argument("--seed", type=int, default=69)
    v = sub.add_parser("tagged")
    v.add_argument("--iface", required=True)
    v.add_argument("--vlan", type=int, default=7)
    v.add_argument("--mac", required=True)
    v.add_argument("--count", type=int, default=3)
    v.add_argument("--listen", type=float, default=1.5)
    v.add_argument("--seed", type=int, default=70)
    a = p.parse_args()
    if getattr(a, "count", 1) > 100000 or getattr(a, "seconds", 0) > 30 or getattr(a, "listen", 0) > 30:
        p.error("bounded: at most 100000 frames, 30 s")
    return {"garbage": cmd_garbage, "flood": cmd_flood, "hammer": cmd_hammer, "tagged": cmd_tagged}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
