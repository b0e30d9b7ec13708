#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""gen_fixtures.py — write the project's own DHCP capture fixtures.

The public captures in ../shared/pcaps cannot be committed (their licences
vary), so the cases the codec must handle are also generated here, byte for
byte from this script: DHCP payloads are assembled by hand (so that option
order, RFC 3396 splitting, overload and deliberate damage are exactly what
we say), and scapy only wraps them in Ethernet/802.1Q/IPv4/UDP headers with
correct checksums and writes the pcap files.

Everything is fixed — xids, MACs, addresses, IP ids and packet times — so
running the script again gives byte-identical files (the test suite and the
fuzz seed corpus depend on that).  Run it with Debian's python3, which has
python3-scapy:

    /usr/bin/python3 tests/pcap/gen_fixtures.py [OUTDIR]   # default: tests/pcap

See tests/pcap/README.md for what each capture holds.
"""
import os
import struct
import sys

from scapy.all import Dot1Q, Ether, IP, UDP, Raw, wrpcap  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dhcpwire import ip4, ips, mac, opt, u8, u16, u32  # noqa: E402,F401

COOKIE = b"\x63\x82\x53\x63"
BCAST_MAC = "ff:ff:ff:ff:ff:ff"
SERVER_MAC = "02:00:5e:00:00:01"
RELAY_MAC = "02:00:5e:00:00:02"
SERVER = "192.0.2.1"
RELAY = "198.51.100.1"


def dhcp(op, xid, chaddr, options=b"", ciaddr="0.0.0.0", yiaddr="0.0.0.0",
         siaddr="0.0.0.0", giaddr="0.0.0.0", flags=0, secs=0, hops=0,
         sname=b"", file=b"", cookie=COOKIE, end=True, minlen=300):
    """A BOOTP/DHCP payload; options are raw TLV bytes (END added unless end=False)."""
    hdr = struct.pack("!BBBBIHH", op, 1, 6, hops, xid, secs, flags)
    hdr += ip4(ciaddr) + ip4(yiaddr) + ip4(siaddr) + ip4(giaddr)
    hdr += mac(chaddr).ljust(16, b"\0")
    hdr += sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    body = cookie + options + (b"\xff" if end else b"")
    return (hdr + body).ljust(minlen, b"\0")


class Capture:
    """Frames of one fixture file, with deterministic times and IP ids."""

    def __init__(self, name, t0):
        self.name, self.t, self.frames = name, t0, []

    def add(self, payload, src, dst, sport, dport, smac, dmac, vlan=None, ttl=64):
        eth = Ether(src=smac, dst=dmac)
        if vlan is not None:
            eth = eth / Dot1Q(vlan=vlan)
        p = eth / IP(src=src, dst=dst, ttl=ttl, id=len(self.frames) + 1, flags="DF" if src != "0.0.0.0" else 0) \
            / UDP(sport=sport, dport=dport) / Raw(payload)
        p.time = self.t
        self.t += 0.25
        self.frames.append(p)

    def client(self, payload, cmac, src="0.0.0.0", dst="255.255.255.255", dmac=BCAST_MAC, vlan=None):
        self.add(payload, src, dst, 68, 67, cmac, dmac, vlan)

    def server(self, payload, dst, dmac, vlan=None):
        self.add(payload, SERVER, dst, 67, 68, SERVER_MAC, dmac, vlan)

    def write(self, outdir):
        path = os.path.join(outdir, self.name)
        wrpcap(path, self.frames, linktype=1)
        return path


# ---------------------------------------------------------------- options
PRL_LINUX = bytes([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])
PRL_PXE = bytes([1, 2, 3, 4, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43,
                 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135])
UUID = bytes([0]) + bytes(range(0x10, 0x20))          # option 97: type 0 + 16-byte GUID


def server_opts(msgtype, lease=3600, extra=b""):
    return (opt(53, u8(msgtype)) + opt(54, ip4(SERVER)) + opt(51, u32(lease)) +
            opt(58, u32(lease // 2)) + opt(59, u32(lease * 7 // 8)) +
            opt(1, ip4("255.255.255.0")) + opt(3, ips("192.0.2.254")) +
            opt(6, ips("192.0.2.53", "192.0.2.54")) + opt(15, "example.test") + extra)


def gen_basic(outdir):
    """dhcp-basic.pcap: DORA, INIT-REBOOT, renew, DECLINE, RELEASE, INFORM, BOOTP."""
    c = Capture("dhcp-basic.pcap", 1577836800.0)
    m = "02:00:00:00:10:01"
    cid = opt(61, b"\x01" + mac(m))
    # DORA, broadcast flag set by the client, max message size 1500.
    c.client(dhcp(1, 0x10000001, m, opt(53, u8(1)) + cid + opt(57, u16(1500)) + opt(12, "host-a") +
                  opt(60, "rackdhcp-test 1.0") + opt(55, PRL_LINUX), flags=0x8000), m)
    c.server(dhcp(2, 0x10000001, m, server_opts(2), yiaddr="192.0.2.10", siaddr=SERVER, flags=0x8000),
             "255.255.255.255", BCAST_MAC)
    c.client(dhcp(1, 0x10000001, m, opt(53, u8(3)) + cid + opt(57, u16(1500)) + opt(50, ip4("192.0.2.10")) +
                  opt(54, ip4(SERVER)) + opt(12, "host-a") + opt(55, PRL_LINUX), flags=0x8000, secs=1), m)
    c.server(dhcp(2, 0x10000001, m, server_opts(5), yiaddr="192.0.2.10", siaddr=SERVER, flags=0x8000),
             "255.255.255.255", BCAST_MAC)
    # INIT-REBOOT: requested address, no server id, ciaddr 0.
    c.client(dhcp(1, 0x10000002, m, opt(53, u8(3)) + cid + opt(50, ip4("192.0.2.10")) +
                  opt(12, "host-a") + opt(55, PRL_LINUX)), m)
    c.server(dhcp(2, 0x10000002, m, server_opts(5)), "192.0.2.10", m)
    # Renew: unicast to the server, ciaddr set, no 50/54.
    c.client(dhcp(1, 0x10000003, m, opt(53, u8(3)) + cid + opt(55, PRL_LINUX), ciaddr="192.0.2.10"),
             m, src="192.0.2.10", dst=SERVER, dmac=SERVER_MAC)
    c.server(dhcp(2, 0x10000003, m, server_opts(5), ciaddr="192.0.2.10", yiaddr="192.0.2.10"),
             "192.0.2.10", m)
    # A second client is NAKed, then declines an address it found in use.
    m2 = "02:00:00:00:10:02"
    c.client(dhcp(1, 0x10000004, m2, opt(53, u8(3)) + opt(50, ip4("10.9.9.9")) + opt(12, "host-b")), m2)
    c.server(dhcp(2, 0x10000004, m2, opt(53, u8(6)) + opt(54, ip4(SERVER)) +
                  opt(56, "requested address not on this network"), flags=0x8000),
             "255.255.255.255", BCAST_MAC)
    c.client(dhcp(1, 0x10000005, m2, opt(53, u8(4)) + opt(50, ip4("192.0.2.11")) + opt(54, ip4(SERVER)) +
                  opt(61, b"\x01" + mac(m2))), m2)
    # RELEASE (unicast, ciaddr set).
    c.client(dhcp(1, 0x10000006, m, opt(53, u8(7)) + opt(54, ip4(SERVER)) + cid, ciaddr="192.0.2.10"),
             m, src="192.0.2.10", dst=SERVER, dmac=SERVER_MAC)
    # INFORM and its ACK (no lease time, no yiaddr).
    c.client(dhcp(1, 0x10000007, m, opt(53, u8(8)) + cid + opt(55, bytes([1, 3, 6, 15, 252])),
                  ciaddr="192.0.2.10"), m, src="192.0.2.10", dst=SERVER, dmac=SERVER_MAC)
    c.server(dhcp(2, 0x10000007, m, opt(53, u8(5)) + opt(54, ip4(SERVER)) + opt(1, ip4("255.255.255.0")) +
                  opt(3, ips("192.0.2.254")) + opt(6, ips("192.0.2.53")) + opt(15, "example.test") +
                  opt(252, "http://wpad.example.test/wpad.dat\n"), ciaddr="192.0.2.10"), "192.0.2.10", m)
    # Plain BOOTP: no cookie, all-zero vendor area; the reply names sname and file.
    m3 = "02:00:00:00:10:03"
    c.client(dhcp(1, 0x10000008, m3, cookie=b"", end=False), m3)
    c.server(dhcp(2, 0x10000008, m3, yiaddr="192.0.2.12", siaddr=SERVER, sname=b"boot-server",
                  file=b"/tftpboot/kernel", cookie=b"", end=False), "192.0.2.12", m3)
    return c.write(outdir)


def gen_relay(outdir):
    """dhcp-relay.pcap: relayed DORA with option 82, and 802.1Q-tagged frames."""
    c = Capture("dhcp-relay.pcap", 1577840400.0)
    m = "02:00:00:00:20:01"
    agent = (opt(1, b"eth0/1/3:vlan100") + opt(2, mac("00:1b:21:aa:bb:cc")) +
             opt(5, ip4("10.20.30.0")))
    disc = dhcp(1, 0x20000001, m, opt(53, u8(1)) + opt(57, u16(576)) + opt(55, PRL_LINUX) +
                opt(82, agent), giaddr=RELAY, hops=1)
    c.add(disc, RELAY, SERVER, 67, 67, RELAY_MAC, SERVER_MAC)
    c.add(dhcp(2, 0x20000001, m, server_opts(2, 7200, opt(82, agent)), yiaddr="10.20.30.40",
               giaddr=RELAY, hops=1), SERVER, RELAY, 67, 67, SERVER_MAC, RELAY_MAC)
    c.add(dhcp(1, 0x20000001, m, opt(53, u8(3)) + opt(50, ip4("10.20.30.40")) + opt(54, ip4(SERVER)) +
               opt(55, PRL_LINUX) + opt(82, agent), giaddr=RELAY, hops=1, secs=2),
          RELAY, SERVER, 67, 67, RELAY_MAC, SERVER_MAC)
    c.add(dhcp(2, 0x20000001, m, server_opts(5, 7200, opt(82, agent)), yiaddr="10.20.30.40",
               giaddr=RELAY, hops=1), SERVER, RELAY, 67, 67, SERVER_MAC, RELAY_MAC)
    # A client on VLAN 100 talking to a server on a trunk port.
    m2 = "02:00:00:00:20:02"
    c.client(dhcp(1, 0x20000002, m2, opt(53, u8(1)) + opt(55, PRL_LINUX)), m2, vlan=100)
    c.server(dhcp(2, 0x20000002, m2, server_opts(2), yiaddr="192.0.2.20", flags=0x8000),
             "255.255.255.255", BCAST_MAC, vlan=100)
    return c.write(outdir)


def gen_pxe(outdir):
    """dhcp-pxe.pcap: network boot clients and the answers they get."""
    c = Capture("dhcp-pxe.pcap", 1577844000.0)
    pxe_43 = opt(6, u8(8)) + b"\xff"       # PXE discovery control: use the boot file
    clients = [
        # (xid, mac, vendor class, arch, extra options)
        (0x30000001, "02:00:00:00:30:01", "PXEClient:Arch:00000:UNDI:002001", 0, b""),
        (0x30000002, "02:00:00:00:30:02", "PXEClient:Arch:00007:UNDI:003016", 7, b""),
        (0x30000003, "02:00:00:00:30:03", "HTTPClient:Arch:00016:UNDI:003001", 16, b""),
        (0x30000004, "02:00:00:00:30:04", "PXEClient:Arch:00000:UNDI:002001", 0, opt(77, "iPXE") +
         opt(175, opt(19, u8(1)) + opt(24, u8(1)))),
    ]
    for xid, m, vci, arch, extra in clients:
        c.client(dhcp(1, xid, m, opt(53, u8(1)) + opt(57, u16(1260)) + opt(93, u16(arch)) +
                      opt(94, b"\x01\x03\x10") + opt(97, UUID) + opt(60, vci) + extra +
                      opt(55, PRL_PXE), flags=0x8000, secs=4), m)
        if arch == 16:
            boot = opt(60, "HTTPClient") + opt(67, "http://192.0.2.1/boot/efi/shimx64.efi")
        elif extra:
            boot = opt(67, "http://192.0.2.1/boot.ipxe")
        else:
            boot = (opt(60, "PXEClient") + opt(43, pxe_43) + opt(66, SERVER) +
                    opt(67, "pxelinux.0" if arch == 0 else "grubx64.efi"))
        c.server(dhcp(2, xid, m, server_opts(2, 600, boot), yiaddr="192.0.2.%d" % (100 + (xid & 0xff)),
                      siaddr=SERVER, flags=0x8000, file=b"pxelinux.0" if arch == 0 and not extra else b""),
                 "255.255.255.255", BCAST_MAC)
    return c.write(outdir)


def dns_name(*labels):
    return b"".join(bytes([len(x)]) + x.encode() for x in labels)


def gen_options(outdir):
    """dhcp-options.pcap: encodings that need more than a TLV walk."""
    c = Capture("dhcp-options.pcap", 1577847600.0)
    m = "02:00:00:00:40:01"
    cid = opt(61, b"\x01" + mac(m))
    # 119 with RFC 1035 compression: "eng.example.test" then "example.test"
    # as a pointer to offset 4, "corp.example.test" as label + pointer.
    search = (dns_name("eng", "example", "test") + b"\0" + b"\xc0\x04" +
              dns_name("corp") + b"\xc0\x04")
    # 121: 10.0.0.0/8 via .254, 198.51.100.0/24 via .253, default via .1.
    routes = (b"\x08\x0a" + ip4("192.0.2.254") + b"\x18\xc6\x33\x64" + ip4("192.0.2.253") +
              b"\x00" + ip4("192.0.2.1"))
    c.client(dhcp(1, 0x40000001, m, opt(53, u8(3)) + cid + opt(50, ip4("192.0.2.30")) +
                  opt(55, PRL_LINUX)), m)
    c.server(dhcp(2, 0x40000001, m, server_opts(5, 86400, opt(119, search) + opt(121, routes))),
             "192.0.2.30", m)
    # RFC 3396: a 300-byte option 43 and a 400-byte option 125 sent as
    # several instances; the second 43 comes after other options.
    vendor = bytes((i * 7) & 0xff for i in range(300))
    # Option 125 of 2 enterprise entries (2 x 5 + 390 bytes), split at 255.
    vivso = (u32(32473) + bytes([195]) + bytes((0x40 + i) & 0xff for i in range(195)) +
             u32(32473 * 2) + bytes([195]) + bytes((0x80 + i) & 0xff for i in range(195)))
    long_opts = (opt(43, vendor[:255]) + opt(15, "example.test") + opt(43, vendor[255:]) +
                 opt(125, vivso[:255]) + opt(125, vivso[255:]))
    c.server(dhcp(2, 0x40000002, m, opt(53, u8(5)) + opt(54, ip4(SERVER)) + opt(51, u32(3600)) +
                  long_opts, yiaddr="192.0.2.31"), "192.0.2.31", m)
    # Overload (52 = 3): options continue in file, then sname, per RFC 2131.
    file_area = opt(67, "boot/from-file-area.efi") + opt(66, "tftp.example.test") + b"\xff"
    sname_area = opt(12, "name-in-sname") + opt(15, "sname.example.test") + b"\xff"
    c.server(dhcp(2, 0x40000003, m, opt(53, u8(5)) + opt(54, ip4(SERVER)) + opt(52, u8(3)) +
                  opt(51, u32(3600)) + opt(1, ip4("255.255.255.0")),
                  yiaddr="192.0.2.32", sname=sname_area, file=file_area), "192.0.2.32", m)
    # A client with a large max message size and a long parameter list.
    c.client(dhcp(1, 0x40000004, m, opt(53, u8(1)) + cid + opt(57, u16(9000)) +
                  opt(55, bytes(range(1, 120))) + opt(80, b"") + opt(81, b"\x01\x00\x00" + dns_name("host", "example", "test") + b"\0")), m)
    return c.write(outdir)


def gen_malformed(outdir):
    """malformed.pcap: damaged messages that both we and tshark must refuse."""
    c = Capture("malformed.pcap", 1577851200.0)
    m = "02:00:00:00:50:01"
    good = opt(53, u8(1)) + opt(55, PRL_LINUX)
    # 1: an option that claims more bytes than the packet holds (no padding).
    c.client(dhcp(1, 0x50000001, m, good + b"\x0c\x40host", end=False, minlen=0), m)
    # 2: wrong magic cookie with options behind it, in a message not padded
    # to 300 bytes.  (tshark takes a wrong cookie for a BOOTP vendor area and
    # flags it only when that area is shorter than RFC 951's 64 bytes.)
    c.client(dhcp(1, 0x50000002, m, good, cookie=b"\x63\x82\x53\x64", minlen=0), m)
    # 3: lease time (51) of 3 bytes.
    c.client(dhcp(1, 0x50000003, m, good + opt(51, b"\x00\x0e\x10")), m)
    # 4: message type (53) of length 0.
    c.client(dhcp(1, 0x50000004, m, opt(53, b"") + opt(55, PRL_LINUX)), m)
    # 5: option 119 whose compression pointer points at itself.  tshark shows
    # "<Name contains a pointer that loops>" but raises no expert item, so
    # test_captures.sh allow-lists this frame.
    c.server(dhcp(2, 0x50000005, m, opt(53, u8(5)) + opt(54, ip4(SERVER)) +
                  opt(119, dns_name("loop") + b"\xc0\x05")), "192.0.2.40", m)
    # 6: message cut inside the fixed header (UDP/IP lengths agree).
    c.client(dhcp(1, 0x50000006, m, good)[:200], m)
    return c.write(outdir)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for gen in (gen_basic, gen_relay, gen_pxe, gen_options, gen_malformed):
        print(gen(outdir))


if __name__ == "__main__":
    main()
