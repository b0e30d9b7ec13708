#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""compare_answers.py — check the answers of `rackdhcpd --replay` against
what a scenario expects.

    compare_answers.py REQ.pcap ANS.pcap NAME.expect
    compare_answers.py --selftest

REQ.pcap is the client capture given to --replay, ANS.pcap what --write
produced.  An answer belongs to the request whose timestamp is exactly one
microsecond earlier (replay.c stamps it so).  Output is TAP: one line per
expectation line, then one line "no unexpected answers" (answers that match
no request, or a second answer to one request).  Exit status 0 when all are
ok, 1 otherwise, 2 on a usage or file error.

Expect file format
------------------
One line per request frame (every BOOTREQUEST to port 67 in REQ.pcap needs
one); blank lines and lines starting with '#' are ignored:

    FRAME TYPE [key=value ...]

FRAME  1-based frame number in REQ.pcap (as rackdhcpd --replay prints it).
TYPE   OFFER | ACK | NAK (the answer's option 53; DHCP prefix optional), or
       none: the server must stay silent.

Checked always for an answer: op 2, the request's xid and chaddr, UDP source
port 67, and that the Ethernet destination agrees with the IP destination
(broadcast -> ff:ff:ff:ff:ff:ff, unicast to the client -> chaddr, to a
relay -> the Ethernet source of the request).

Keys (a key may be repeated; every occurrence is checked):
  yiaddr=ADDR           exact address
  yiaddr=in:START-END   inside the range (inclusive)
  yiaddr=same:N         the yiaddr answered to frame N
  yiaddr=new            differs from every non-zero yiaddr answered so far
                        to a different chaddr (distinct allocations)
  ciaddr= siaddr= giaddr=   exact header addresses
  file=TEXT  sname=TEXT header fields, NULs stripped (file= : empty)
  optN=VALUE            option N (after RFC 3396 concatenation and option
                        52 overload), decoded by code:
                          addresses: 1 3 4 5 6 7 9 28 41 42 44 45 48 49 50 54
                                     65 69 118 — comma-separated list
                          integers:  2 13 22 23 24 26 35 37 38 51 57 58 59 93
                          text:      12 14 15 17 18 40 47 56 60 64 66 67 77
                                     100 101 114 210
                        or hex:DIGITS for the raw bytes of any option
  optN=absent | optN=present
  dst=broadcast         IP 255.255.255.255 (and Ethernet broadcast)
  dst=relay             unicast to the request's giaddr
  dst=unicast:ADDR      unicast to ADDR (the client)
  port=67|68            UDP destination port

Example:
    # DORA with a relay
    1 OFFER yiaddr=in:198.51.100.100-198.51.100.199 yiaddr=new opt51=600 dst=relay port=67
    2 ACK yiaddr=same:1 opt82=hex:0105737770313202 dst=relay port=67
    3 none
"""
import ipaddress
import os
import struct
import sys
import tempfile

COOKIE = b"\x63\x82\x53\x63"
MSGTYPES = {1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 4: "DHCPDECLINE", 5: "DHCPACK",
            6: "DHCPNAK", 7: "DHCPRELEASE", 8: "DHCPINFORM"}
TYPE_CODES = {"OFFER": 2, "ACK": 5, "NAK": 6}
IP_OPTS = {1, 3, 4, 5, 6, 7, 9, 28, 41, 42, 44, 45, 48, 49, 50, 54, 65, 69, 118}
INT_OPTS = {2, 13, 22, 23, 24, 26, 35, 37, 38, 51, 57, 58, 59, 93}
STR_OPTS = {12, 14, 15, 17, 18, 40, 47, 56, 60, 64, 66, 67, 77, 100, 101, 114, 210}


# ---------------------------------------------------------------- reading

def read_pcap(path):
    """[(usec, linktype, bytes)] of a classic pcap file (µs or ns)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng is not supported here)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        usec = sec * 1000000 + (frac // 1000 if nano else frac)
        out.append((usec, linktype, data[off:off + incl]))
        off += incl
    return out


def ip_str(b):
    return str(ipaddress.IPv4Address(b))


class Msg:
    """A DHCP message in a frame, decoded by hand (options joined per RFC 3396)."""

    def __init__(self, frame, linktype):
        from scapy.layers.l2 import Ether
        from scapy.layers.inet import IP, UDP
        if linktype != 1:
            raise ValueError(f"linktype {linktype} (only Ethernet)")
        p = Ether(frame)
        if IP not in p or UDP not in p:
            raise ValueError("not IPv4/UDP")
        self.eth_src, self.eth_dst = p[Ether].src.lower(), p[Ether].dst.lower()
        self.ip_src, self.ip_dst = p[IP].src, p[IP].dst
        self.sport, self.dport = p[UDP].sport, p[UDP].dport
        d = bytes(p[UDP].payload)
        if len(d) < 240 or d[236:240] != COOKIE:
            raise ValueError("not a DHCP message (short or no magic cookie)")
        self.op, self.htype, self.hlen = d[0], d[1], d[2]
        self.xid = struct.unpack("!I", d[4:8])[0]
        self.flags = struct.unpack("!H", d[10:12])[0]
        self.ciaddr, self.yiaddr, self.siaddr, self.giaddr = (ip_str(d[i:i + 4]) for i in (12, 16, 20, 24))
        self.chaddr = ":".join(f"{x:02x}" for x in d[28:28 + min(self.hlen, 16)])
        sname, file = d[44:108], d[108:236]
        self.opts = {}
        self._parse(d[240:])
        ov = self.opts.get(52, b"\0")[0] if 52 in self.opts else 0
        if ov in (1, 3):
            self._parse(file)
            file = b""
        if ov in (2, 3):
            self._parse(sname)
            sname = b""
        self.file = file.split(b"\0", 1)[0].decode("latin-1")
        self.sname = sname.split(b"\0", 1)[0].decode("latin-1")
        t = self.opts.get(53, b"")
        self.msgtype = t[0] if len(t) == 1 else 0

    def _parse(self, b):
        i = 0
        while i < len(b):
            c = b[i]
            if c == 0:
                i += 1
                continue
            if c == 255:
                return
            if i + 1 >= len(b) or i + 2 + b[i + 1] > len(b):
                raise ValueError(f"option {c} runs past the end")
            self.opts[c] = self.opts.get(c, b"") + b[i + 2:i + 2 + b[i + 1]]
            i += 2 + b[i + 1]

    def type_name(self):
        return MSGTYPES.get(self.msgtype, f"message type {self.msgtype}")


def decode_opt(code, v):
    """The option value in the expect file's notation."""
    if code in IP_OPTS and len(v) % 4 == 0 and v:
        return ",".join(ip_str(v[i:i + 4]) for i in range(0, len(v), 4))
    if code in INT_OPTS and len(v) in (1, 2, 4):
        return str(int.from_bytes(v, "big"))
    if code in STR_OPTS:
        try:
            return v.decode("ascii")
        except UnicodeDecodeError:
            pass
    return "hex:" + v.hex()


# ---------------------------------------------------------------- expectations

def parse_expect(path):
    """{frame: (lineno, TYPE, [(key, value)])}, or raises ValueError."""
    exp = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            w = line.split()
            if len(w) < 2 or not w[0].isdigit():
                raise ValueError(f"{path}:{n}: expected 'FRAME TYPE key=value...'")
            frame, typ = int(w[0]), w[1].upper()
            if typ.startswith("DHCP"):
                typ = typ[4:]
            if typ not in TYPE_CODES and typ != "NONE":
                raise ValueError(f"{path}:{n}: unknown answer type {w[1]}")
            kv = []
            for t in w[2:]:
                if "=" not in t:
                    raise ValueError(f"{path}:{n}: '{t}' is not key=value")
                k, v = t.split("=", 1)
                kv.append((k, v))
            if frame in exp:
                raise ValueError(f"{path}:{n}: frame {frame} has two lines")
            if typ == "NONE" and kv:
                raise ValueError(f"{path}:{n}: 'none' takes no keys")
            exp[frame] = (n, typ, kv)
    return exp


def describe(a):
    s = f"{a.type_name()} yiaddr {a.yiaddr}"
    return s


def check_one(frame, typ, kv, req, ans, answered):
    """List of problems (empty: ok) for one request and its answer (or None)."""
    if typ == "NONE":
        if ans is None:
            return []
        return [f"expected no answer, got {describe(ans)} to {ans.ip_dst}:{ans.dport}"]
    want = f"DHCP{typ}"
    if ans is None:
        return [f"expected {want}{expected_yiaddr(kv)}, got no answer"]
    errs = []
    if ans.msgtype != TYPE_CODES[typ]:
        return [f"expected {want}{expected_yiaddr(kv)}, got {describe(ans)}" +
                (f" (message: {ans.opts[56].decode('latin-1')})" if 56 in ans.opts else "")]
    if ans.op != 2:
        errs.append(f"op {ans.op}, expected 2 (BOOTREPLY)")
    if ans.xid != req.xid:
        errs.append(f"xid {ans.xid:#x}, expected the request's {req.xid:#x}")
    if ans.chaddr != req.chaddr:
        errs.append(f"chaddr {ans.chaddr}, expected the request's {req.chaddr}")
    if ans.sport != 67:
        errs.append(f"UDP source port {ans.sport}, expected 67")
    # Ethernet destination consistent with the IP destination
    if ans.ip_dst == "255.255.255.255":
        if ans.eth_dst != "ff:ff:ff:ff:ff:ff":
            errs.append(f"IP broadcast but Ethernet destination {ans.eth_dst}")
    elif req.giaddr != "0.0.0.0" and ans.ip_dst == req.giaddr:
        if ans.eth_dst != req.eth_src:
            errs.append(f"to the relay {ans.ip_dst} but Ethernet destination {ans.eth_dst}, "
                        f"the relay sent from {req.eth_src}")
    elif ans.eth_dst != req.chaddr:
        errs.append(f"unicast to {ans.ip_dst} but Ethernet destination {ans.eth_dst}, chaddr is {req.chaddr}")

    for k, v in kv:
        if k == "yiaddr":
            got = ans.yiaddr
            if v.startswith("in:"):
                lo, _, hi = v[3:].partition("-")
                if not (ipaddress.IPv4Address(lo) <= ipaddress.IPv4Address(got) <= ipaddress.IPv4Address(hi)):
                    errs.append(f"yiaddr {got} not in {lo}-{hi}")
            elif v.startswith("same:"):
                f = int(v[5:])
                prev = answered.get(f)
                if prev is None:
                    errs.append(f"yiaddr {got}: frame {f} got no answer to compare with")
                elif prev.yiaddr != got:
                    errs.append(f"yiaddr {got}, expected {prev.yiaddr} as answered to frame {f}")
            elif v == "new":
                for f, prev in sorted(answered.items()):
                    if f < frame and prev.chaddr != ans.chaddr and prev.yiaddr == got and got != "0.0.0.0":
                        errs.append(f"yiaddr {got} was already given to {prev.chaddr} in the answer to frame {f}")
                        break
            elif got != v:
                errs.append(f"yiaddr {got}, expected {v}")
        elif k in ("ciaddr", "siaddr", "giaddr"):
            got = getattr(ans, k)
            if got != v:
                errs.append(f"{k} {got}, expected {v}")
        elif k in ("file", "sname"):
            got = getattr(ans, k)
            if got != v:
                errs.append(f"{k} '{got}', expected '{v}'")
        elif k.startswith("opt") and k[3:].isdigit():
            code = int(k[3:])
            has = code in ans.opts
            if v == "absent":
                if has:
                    errs.append(f"option {code} = {decode_opt(code, ans.opts[code])}, expected absent")
            elif v == "present":
                if not has:
                    errs.append(f"option {code} absent, expected present")
            elif not has:
                errs.append(f"option {code} absent, expected {v}")
            else:
                raw = ans.opts[code]
                if v.startswith("hex:"):
                    if raw.hex() != v[4:].lower():
                        errs.append(f"option {code} = hex:{raw.hex()}, expected {v}")
                elif decode_opt(code, raw) != v:
                    errs.append(f"option {code} = {decode_opt(code, raw)}, expected {v}")
        elif k == "dst":
            if v == "broadcast":
                if ans.ip_dst != "255.255.255.255":
                    errs.append(f"sent to {ans.ip_dst}, expected broadcast")
            elif v == "relay":
                if req.giaddr == "0.0.0.0" or ans.ip_dst != req.giaddr:
                    errs.append(f"sent to {ans.ip_dst}, expected the relay (giaddr {req.giaddr})")
            elif v.startswith("unicast:"):
                if ans.ip_dst != v[8:]:
                    errs.append(f"sent to {ans.ip_dst}, expected unicast to {v[8:]}")
            else:
                errs.append(f"bad dst= value '{v}' in the expect file")
        elif k == "port":
            if str(ans.dport) != v:
                errs.append(f"UDP destination port {ans.dport}, expected {v}")
        else:
            errs.append(f"unknown key '{k}' in the expect file")
    return [f"{want}: {e}" for e in errs]


def expected_yiaddr(kv):
    for k, v in kv:
        if k == "yiaddr" and v not in ("new",):
            return f" yiaddr {v}"
    return ""


def compare(req_path, ans_path, exp_path, out=sys.stdout):
    """Print TAP; return True when everything matched."""
    reqs = read_pcap(req_path)
    answers = read_pcap(ans_path) if os.path.getsize(ans_path) > 0 else []
    exp = parse_expect(exp_path)
    by_ts = {}
    results = []                 # (ok, description, [diagnostics])
    frames = {}                  # frame -> (usec, Msg)
    for n, (usec, lt, data) in enumerate(reqs, 1):
        try:
            m = Msg(data, lt)
        except ValueError:
            continue
        if m.op != 1 or m.dport != 67:
            continue
        frames[n] = (usec, m)
    for usec, lt, data in answers:
        by_ts.setdefault(usec, []).append(data)

    answered = {}
    used = set()
    for n in sorted(set(frames) | set(exp)):
        if n not in frames:
            results.append((False, f"frame {n}", [f"frame {n}: the expect file names it, but it is not a "
                                                  "client message in the request capture"]))
            continue
        usec, req = frames[n]
        if n not in exp:
            results.append((False, f"frame {n}", [f"frame {n}: {req.type_name()} from {req.chaddr} "
                                                  "has no expectation line"]))
            continue
        line, typ, kv = exp[n]
        ans = None
        errs = []
        cands = by_ts.get(usec + 1, [])
        if cands:
            used.add(usec + 1)
            try:
                ans = Msg(cands[0], 1)
            except ValueError as e:
                errs.append(f"the answer does not decode: {e}")
        if not errs:
            errs = check_one(n, typ, kv, req, ans, answered)
        if ans is not None:
            answered[n] = ans
        want = "no answer" if typ == "NONE" else f"DHCP{typ}"
        desc = f"frame {n} {req.type_name()} {req.chaddr} -> {want}"
        results.append((not errs, desc, [f"frame {n}: {e}" for e in errs]))

    extra = []
    for ts, lst in sorted(by_ts.items()):
        if ts not in used:
            extra.append(f"answer stamped {ts // 1000000}.{ts % 1000000:06d} follows no request "
                         f"({len(lst)} frame(s))")
        elif len(lst) > 1:
            extra.append(f"{len(lst)} answers to the request stamped {(ts - 1) // 1000000}."
                         f"{(ts - 1) % 1000000:06d}")
    results.append((not extra, "no unexpected answers", extra))

    print(f"1..{len(results)}", file=out)
    for i, (ok, desc, diags) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {desc}", file=out)
        for d in diags:
            print(f"# {d}", file=out)
    return all(r[0] for r in results)


# ---------------------------------------------------------------- self-test

def selftest():
    """Build requests and answer captures with scapy and check that a right
    answer passes and each kind of wrong answer fails with the right message."""
    import io
    from decimal import Decimal
    from scapy.layers.l2 import Ether
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    def bootp(op, xid, chaddr, opts, yiaddr="0.0.0.0", giaddr="0.0.0.0", file=b""):
        h = struct.pack("!BBBBIHH", op, 1, 6, 0, xid, 0, 0)
        h += ipaddress.IPv4Address("0.0.0.0").packed + ipaddress.IPv4Address(yiaddr).packed
        h += ipaddress.IPv4Address("192.0.2.2").packed + ipaddress.IPv4Address(giaddr).packed
        h += bytes.fromhex(chaddr.replace(":", "")).ljust(16, b"\0") + b"\0" * 64 + file.ljust(128, b"\0")
        return (h + COOKIE + opts + b"\xff").ljust(300, b"\0")

    def o(code, v):
        return bytes([code, len(v)]) + v

    def frame(payload, src, dst, sport, dport, smac, dmac, usec):
        p = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload)
        p.time = Decimal(usec) / Decimal(1000000)
        return p

    c1, c2 = "02:00:00:99:00:01", "02:00:00:99:00:02"
    t = 1700000000 * 1000000
    ip = ipaddress.IPv4Address
    reqs = [
        frame(bootp(1, 1, c1, o(53, b"\x01")), "0.0.0.0", "255.255.255.255", 68, 67, c1, "ff:ff:ff:ff:ff:ff", t),
        frame(bootp(1, 1, c1, o(53, b"\x03")), "0.0.0.0", "255.255.255.255", 68, 67, c1, "ff:ff:ff:ff:ff:ff",
              t + 10000),
        frame(bootp(1, 2, c2, o(53, b"\x01")), "0.0.0.0", "255.255.255.255", 68, 67, c2, "ff:ff:ff:ff:ff:ff",
              t + 20000),
        frame(bootp(1, 3, c2, o(53, b"\x07")), "192.0.2.101", "192.0.2.2", 68, 67, c2, "02:00:00:00:00:01",
              t + 30000),
    ]
    expect = ("# self-test\n"
              "1 OFFER yiaddr=in:192.0.2.100-192.0.2.109 yiaddr=new opt51=600 opt54=192.0.2.2 "
              "opt3=192.0.2.1,192.0.2.254 opt15=maas opt60=absent file=lpxelinux.0 dst=broadcast port=68\n"
              "2 ACK yiaddr=same:1 opt51=600 opt82=hex:0102abcd dst=unicast:192.0.2.100\n"
              "3 OFFER yiaddr=new\n"
              "4 none\n")

    def answer(typ, xid, chaddr, yi, usec, lease=600, dst="255.255.255.255", dmac="ff:ff:ff:ff:ff:ff",
               extra=b"", file=b"lpxelinux.0"):
        opts = (o(53, bytes([typ])) + o(54, ip("192.0.2.2").packed) + o(51, struct.pack("!I", lease)) +
                o(3, ip("192.0.2.1").packed + ip("192.0.2.254").packed) + o(15, b"maas") + extra)
        return frame(bootp(2, xid, chaddr, opts, yiaddr=yi, file=file), "192.0.2.2", dst, 67, 68,
                     "02:00:00:00:00:01", dmac, usec + 1)

    good = [answer(2, 1, c1, "192.0.2.100", t),
            answer(5, 1, c1, "192.0.2.100", t + 10000, dst="192.0.2.100", dmac=c1, extra=o(82, b"\x01\x02\xab\xcd")),
            answer(2, 2, c2, "192.0.2.101", t + 20000)]
    cases = [
        ("matching answers", good, True, []),
        ("NAK instead of ACK", [good[0], answer(6, 1, c1, "0.0.0.0", t + 10000), good[2]], False,
         ["frame 2: expected DHCPACK yiaddr same:1, got DHCPNAK yiaddr 0.0.0.0"]),
        ("wrong yiaddr, lease time and file", [answer(2, 1, c1, "192.0.2.110", t, lease=30, file=b"x.efi")] +
         good[1:], False, ["yiaddr 192.0.2.110 not in 192.0.2.100-192.0.2.109", "option 51 = 30, expected 600",
                           "file 'x.efi', expected 'lpxelinux.0'"]),
        ("same address to two clients", good[:2] + [answer(2, 2, c2, "192.0.2.100", t + 20000)], False,
         ["yiaddr 192.0.2.100 was already given to 02:00:00:99:00:01"]),
        ("missing answer and extra answer", good[:2] + [answer(5, 3, c2, "192.0.2.101", t + 30000)], False,
         ["frame 3: expected DHCPOFFER, got no answer", "frame 4: expected no answer, got DHCPACK",
          ]),
        ("answer at no request's time", good + [answer(2, 9, c2, "192.0.2.105", t + 5000)], False,
         ["follows no request"]),
        ("wrong destination and Ethernet address", [good[0], answer(5, 1, c1, "192.0.2.100", t + 10000,
                                                                    dst="192.0.2.100", dmac="02:00:00:99:99:99",
                                                                    extra=o(82, b"\x01\x02\xab\xcd")), good[2]],
         False, ["Ethernet destination 02:00:00:99:99:99, chaddr is 02:00:00:99:00:01"]),
        ("wrong xid and unexpected option 60", [answer(2, 7, c1, "192.0.2.100", t, extra=o(60, b"HTTPClient"))] +
         good[1:], False, ["xid 0x7", "option 60 = HTTPClient, expected absent"]),
    ]
    ok_all = True
    with tempfile.TemporaryDirectory() as d:
        rp, ep = os.path.join(d, "req.pcap"), os.path.join(d, "t.expect")
        wrpcap(rp, reqs, linktype=1)
        with open(ep, "w") as f:
            f.write(expect)
        print(f"1..{len(cases)}")
        for i, (name, ans, want_ok, want_msgs) in enumerate(cases, 1):
            ap = os.path.join(d, f"ans{i}.pcap")
            wrpcap(ap, ans, linktype=1)
            buf = io.StringIO()
            got_ok = compare(rp, ap, ep, out=buf)
            text = buf.getvalue()
            missing = [m for m in want_msgs if m not in text]
            good_case = got_ok == want_ok and not missing
            ok_all &= good_case
            print(f"{'ok' if good_case else 'not ok'} {i} - self-test: {name} "
                  f"{'passes' if want_ok else 'is reported'}")
            if not good_case:
                for m in missing:
                    print(f"# message not found: {m}")
                for line in text.splitlines():
                    print(f"#   {line}")
    return ok_all


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return 0 if selftest() else 1
    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        return 0 if compare(argv[1], argv[2], argv[3]) else 1
    except (OSError, ValueError) as e:
        print(f"compare_answers.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
