#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""gen_scenarios.py — write the replay scenarios of tests/pcap/scenarios/.

Each scenario is three files, all written by this script:

  NAME.pcap    CLIENT messages only (and relay agents' copies of them), as
               real clients send them, with fixed xids, MACs and times;
  NAME.yaml    the configuration rackdhcpd answers them with;
  NAME.expect  one line per request frame: what the answer must be
               (format: the header of compare_answers.py).

test_scenarios.sh runs

    rackdhcpd --replay NAME.pcap --config NAME.yaml --link-address 192.0.2.2 \\
              --write OUT.pcap
    compare_answers.py NAME.pcap OUT.pcap NAME.expect

A static capture cannot see the server's answer, yet a REQUEST must name the
address that was offered (RFC 2131 §3.1).  So every address a REQUEST names
is FORCED by the configuration, never guessed from the allocator's order:
  * a pool with one free address left, or
  * a DISCOVER carrying option 50 (requested address) for a free pool
    address: RFC 2131 §4.3.1 puts "the address requested in the 'Requested
    IP Address' option, if that address is valid and not already allocated"
    before "a new address allocated from the server's pool" (ISC dhcpd does
    the same), as real clients that remember an address rely on, or
  * a reservation.
Where the allocator chooses freely the expectation is a range / "new".

Everything is fixed, so running the script again gives byte-identical files.
Run it with Debian's python3, which has python3-scapy:

    /usr/bin/python3 tests/pcap/gen_scenarios.py [OUTDIR]  # default: tests/pcap/scenarios
"""
import os
import struct
import sys
from decimal import Decimal

from scapy.all import Ether, IP, UDP, Raw, wrpcap  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dhcpwire import ip4, ips, mac, opt, u8, u16, u32  # noqa: E402,F401

COOKIE = b"\x63\x82\x53\x63"
BCAST_MAC = "ff:ff:ff:ff:ff:ff"
SERVER_MAC = "02:00:00:00:00:01"     # rackdhcpd --replay's default --server-mac
RELAY_MAC = "02:00:5e:00:00:02"
LINK = "192.0.2.2"                   # --link-address: our server id on the link
RELAY = "198.51.100.1"
T0 = 1700000000                      # 2023-11-14 22:13:20 UTC

# ---------------------------------------------------------------- encoding


def dhcp(xid, chaddr, options, ciaddr="0.0.0.0", giaddr="0.0.0.0", flags=0, secs=0, hops=0):
    """A BOOTREQUEST payload, padded to 300 bytes as clients do."""
    hdr = struct.pack("!BBBBIHH", 1, 1, 6, hops, xid, secs, flags)
    hdr += ip4(ciaddr) + ip4("0.0.0.0") + ip4("0.0.0.0") + ip4(giaddr)
    hdr += mac(chaddr).ljust(16, b"\0") + b"\0" * 64 + b"\0" * 128
    return (hdr + COOKIE + options + b"\xff").ljust(300, b"\0")


# Parameter request lists as the clients send them.
PRL_LINUX = bytes([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])   # dhclient
PRL_PXE = bytes([1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 66, 67,
                 128, 129, 130, 131, 132, 133, 134, 135])                 # Intel PXE ROM
PRL_EFI = bytes([1, 2, 3, 4, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43,
                 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132,
                 133, 134, 135])                                          # EDK2
PRL_IPXE = bytes([1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130,
                  131, 132, 133, 134, 135, 175, 203])
UUID = opt(97, bytes([0]) + bytes(range(0x30, 0x40)))


def cid(m):
    return opt(61, b"\x01" + mac(m))


# ---------------------------------------------------------------- config

SUBNET_192 = """\
  - cidr: 192.0.2.0/24
    routers: [192.0.2.1]
    dns_servers: [192.0.2.2]
    domain_name: maas
    domain_search: [maas]
    ntp_servers: [192.0.2.2]
    mtu: 9000
    lease_time: 600
    pxe_lease_time: 30
    decline_hold_time: 86400
    ignore_client_ids: true
    boot_http_port: 5248
    pools:
{pools}{reservations}"""

SUBNET_198 = """\
  - cidr: 198.51.100.0/24
    routers: [198.51.100.1]
    dns_servers: [192.0.2.2]
    domain_name: maas
    lease_time: 600
    ignore_client_ids: true
    pools:
      - range: 198.51.100.100-198.51.100.100
"""


def config(name, title, pools, reservations=(), relay_subnet=False):
    p = "".join(f"      - range: {a}-{b}\n" for a, b in pools)
    r = ""
    if reservations:
        r = "    reservations:\n" + "".join(
            f'      - {{mac: "{m}", address: {a}, hostname: {h}}}\n' for m, a, h in reservations)
    text = (f"# {name}.yaml — written by gen_scenarios.py: {title}\n"
            "# Replayed with --link-address 192.0.2.2 (server id, siaddr, boot URLs).\n"
            "subnets:\n" + SUBNET_192.format(pools=p, reservations=r))
    if relay_subnet:
        text += SUBNET_198
    return text


# Options every OFFER/ACK on 192.0.2.0/24 carries for a dhclient-style PRL.
STD = ("opt54=192.0.2.2 opt1=255.255.255.0 opt3=192.0.2.1 opt6=192.0.2.2 "
       "opt15=maas opt28=192.0.2.255 opt42=192.0.2.2 opt26=9000")
NAK = "yiaddr=0.0.0.0 opt54=192.0.2.2 opt51=absent opt1=absent opt3=absent"


# ---------------------------------------------------------------- scenarios

class Scenario:
    """The frames of one scenario, their expectations and its config."""

    def __init__(self, name, title, cfg):
        self.name, self.title, self.cfg = name, title, cfg
        self.usec = T0 * 1000000
        self.frames, self.expect = [], []

    def at(self, seconds):
        """Move the clock to T0 + seconds (must not go backwards)."""
        t = (T0 + seconds) * 1000000 if isinstance(seconds, int) else int(
            (Decimal(T0) + Decimal(str(seconds))) * 1000000)
        assert t >= self.usec
        self.usec = t

    def comment(self, text):
        self.expect.append(f"# {text}")

    def add(self, payload, expect, smac, src="0.0.0.0", dst="255.255.255.255",
            sport=68, dmac=BCAST_MAC, ttl=64):
        p = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl, id=len(self.frames) + 1) \
            / UDP(sport=sport, dport=67) / Raw(payload)
        p.time = Decimal(self.usec) / Decimal(1000000)
        self.frames.append(p)
        self.expect.append(f"{len(self.frames)} {expect}")
        self.usec += 10000          # 10 ms between frames unless at() says otherwise
        return len(self.frames)

    # -- client messages (RFC 2131 table 5)
    def discover(self, xid, m, expect, req=None, flags=0, extra=b"", prl=PRL_LINUX, host=None):
        o = opt(53, u8(1)) + cid(m)
        if req:
            o += opt(50, ip4(req))
        if host:
            o += opt(12, host)
        o += extra + opt(55, prl)
        return self.add(dhcp(xid, m, o, flags=flags), expect, m)

    def select(self, xid, m, addr, expect, flags=0, extra=b"", prl=PRL_LINUX, secs=1):
        """REQUEST in SELECTING state: 50 = the offered address, 54 = us."""
        o = opt(53, u8(3)) + cid(m) + opt(50, ip4(addr)) + opt(54, ip4(LINK)) + extra + opt(55, prl)
        return self.add(dhcp(xid, m, o, flags=flags, secs=secs), expect, m)

    def init_reboot(self, xid, m, addr, expect):
        """REQUEST in INIT-REBOOT state: 50, no 54, ciaddr 0, broadcast."""
        o = opt(53, u8(3)) + cid(m) + opt(50, ip4(addr)) + opt(55, PRL_LINUX)
        return self.add(dhcp(xid, m, o), expect, m)

    def renew(self, xid, m, addr, expect):
        """REQUEST in RENEWING state: unicast to the server, ciaddr, no 50/54."""
        o = opt(53, u8(3)) + cid(m) + opt(55, PRL_LINUX)
        return self.add(dhcp(xid, m, o, ciaddr=addr), expect, m, src=addr, dst=LINK, dmac=SERVER_MAC)

    def rebind(self, xid, m, addr, expect):
        """REQUEST in REBINDING state: broadcast, ciaddr, no 50/54."""
        o = opt(53, u8(3)) + cid(m) + opt(55, PRL_LINUX)
        return self.add(dhcp(xid, m, o, ciaddr=addr), expect, m, src=addr)

    def decline(self, xid, m, addr, expect="none"):
        """DHCPDECLINE: broadcast, 50 = the address, 54 = us, ciaddr 0."""
        o = opt(53, u8(4)) + cid(m) + opt(50, ip4(addr)) + opt(54, ip4(LINK))
        return self.add(dhcp(xid, m, o), expect, m)

    def release(self, xid, m, addr, expect="none"):
        """DHCPRELEASE: unicast to the server, ciaddr, 54."""
        o = opt(53, u8(7)) + cid(m) + opt(54, ip4(LINK))
        return self.add(dhcp(xid, m, o, ciaddr=addr), expect, m, src=addr, dst=LINK, dmac=SERVER_MAC)

    def inform(self, xid, m, addr, expect, unicast=True):
        o = opt(53, u8(8)) + cid(m) + opt(55, PRL_LINUX)
        if unicast:
            return self.add(dhcp(xid, m, o, ciaddr=addr), expect, m, src=addr, dst=LINK, dmac=SERVER_MAC)
        return self.add(dhcp(xid, m, o, ciaddr=addr), expect, m, src=addr)

    def relayed(self, payload, expect):
        """A client message as a relay agent forwards it: from giaddr port 67 to us."""
        return self.add(payload, expect, RELAY_MAC, src=RELAY, dst=LINK, sport=67, dmac=SERVER_MAC)

    def write(self, outdir):
        base = os.path.join(outdir, self.name)
        wrpcap(base + ".pcap", self.frames, linktype=1)
        with open(base + ".yaml", "w") as f:
            f.write(self.cfg)
        with open(base + ".expect", "w") as f:
            f.write(f"# {self.name}.expect — written by gen_scenarios.py: {self.title}\n")
            f.write("# FRAME TYPE key=value ...   (format: tests/pcap/compare_answers.py)\n")
            f.write("\n".join(self.expect) + "\n")
        return base


def sc_dora():
    s = Scenario("dora", "first boot DORA, unicast and broadcast delivery",
                 config("dora", "pool of two", [("192.0.2.100", "192.0.2.101")]))
    a, b = "02:00:00:01:00:01", "02:00:00:01:00:02"
    s.comment("A remembers 192.0.2.101 (option 50 in the DISCOVER) and sets the broadcast flag:")
    s.comment("offered the requested address (RFC 2131 4.3.1), answers broadcast (4.1).")
    s.discover(0x01000001, a, f"OFFER yiaddr=192.0.2.101 opt51=600 {STD} dst=broadcast port=68",
               req="192.0.2.101", flags=0x8000, host="node-a")
    s.select(0x01000001, a, "192.0.2.101", f"ACK yiaddr=192.0.2.101 opt51=600 {STD} dst=broadcast port=68",
             flags=0x8000)
    s.comment("B boots for the first time (no option 50, no broadcast flag): the one address left,")
    s.comment("sent unicast to chaddr/yiaddr (RFC 2131 4.1).")
    s.at(5)
    s.discover(0x01000002, b, f"OFFER yiaddr=192.0.2.100 opt51=600 {STD} dst=unicast:192.0.2.100 port=68")
    s.select(0x01000002, b, "192.0.2.100", f"ACK yiaddr=192.0.2.100 opt51=600 {STD} "
             "dst=unicast:192.0.2.100 port=68")
    return s


def sc_renew():
    s = Scenario("renew", "renewal at T1: unicast REQUEST with ciaddr",
                 config("renew", "pool of one", [("192.0.2.100", "192.0.2.100")]))
    a = "02:00:00:02:00:01"
    s.discover(0x02000001, a, "OFFER yiaddr=192.0.2.100 opt51=600")
    s.select(0x02000001, a, "192.0.2.100", "ACK yiaddr=192.0.2.100 opt51=600")
    s.comment("T1 = 300 s later: unicast from ciaddr to the server; the ACK goes back to ciaddr.")
    s.at(300)
    s.renew(0x02000002, a, "192.0.2.100",
            f"ACK yiaddr=192.0.2.100 ciaddr=192.0.2.100 opt51=600 {STD} dst=unicast:192.0.2.100 port=68")
    s.comment("and again at the next T1 (the lease was extended by the renewal)")
    s.at(600)
    s.renew(0x02000003, a, "192.0.2.100", "ACK yiaddr=192.0.2.100 opt51=600 dst=unicast:192.0.2.100")
    return s


def sc_rebind():
    s = Scenario("rebind", "rebinding after T2: broadcast REQUEST with ciaddr",
                 config("rebind", "pool of one", [("192.0.2.100", "192.0.2.100")]))
    a = "02:00:00:03:00:01"
    s.discover(0x03000001, a, "OFFER yiaddr=192.0.2.100")
    s.select(0x03000001, a, "192.0.2.100", "ACK yiaddr=192.0.2.100 opt51=600")
    s.comment("T2 = 525 s: broadcast from ciaddr; the answer is unicast to ciaddr (RFC 2131 4.1).")
    s.at(540)
    s.rebind(0x03000002, a, "192.0.2.100",
             f"ACK yiaddr=192.0.2.100 ciaddr=192.0.2.100 opt51=600 {STD} dst=unicast:192.0.2.100 port=68")
    return s


def sc_init_reboot_ack():
    s = Scenario("init-reboot-ack", "INIT-REBOOT with the client's own address",
                 config("init-reboot-ack", "pool of one", [("192.0.2.100", "192.0.2.100")]))
    a = "02:00:00:04:00:01"
    s.discover(0x04000001, a, "OFFER yiaddr=192.0.2.100")
    s.select(0x04000001, a, "192.0.2.100", "ACK yiaddr=192.0.2.100")
    s.comment("A reboots 60 s later: REQUEST with 50 = its address, no 54, ciaddr 0 -> ACK (RFC 2131 4.3.2)")
    s.at(60)
    s.init_reboot(0x04000002, a, "192.0.2.100",
                  f"ACK yiaddr=192.0.2.100 opt51=600 {STD} dst=unicast:192.0.2.100 port=68")
    return s


def sc_init_reboot_nak():
    s = Scenario("init-reboot-nak", "INIT-REBOOT on the wrong subnet or with a wrong address",
                 config("init-reboot-nak", "pool of one", [("192.0.2.100", "192.0.2.100")]))
    a, b, c = "02:00:00:05:00:01", "02:00:00:05:00:02", "02:00:00:05:00:03"
    s.comment("B moved here from another network: 10.1.2.3 is on the wrong network -> NAK,")
    s.comment("broadcast since giaddr is 0 (RFC 2131 4.1, 4.3.2).")
    s.init_reboot(0x05000001, b, "10.1.2.3", f"NAK {NAK} dst=broadcast port=68")
    s.comment("A holds 192.0.2.100, then reboots asking for 192.0.2.77: incorrect -> NAK (4.3.2 SHOULD)")
    s.at(10)
    s.discover(0x05000002, a, "OFFER yiaddr=192.0.2.100")
    s.select(0x05000002, a, "192.0.2.100", "ACK yiaddr=192.0.2.100")
    s.at(60)
    s.init_reboot(0x05000003, a, "192.0.2.77", f"NAK {NAK} dst=broadcast port=68")
    s.comment("C, unknown to us, asks for an address of this subnet: no record -> silent (4.3.2 MUST)")
    s.init_reboot(0x05000004, c, "192.0.2.150", "none")
    return s


def sc_decline():
    s = Scenario("decline", "DHCPDECLINE, then the client is offered another address",
                 config("decline", "pool of two", [("192.0.2.100", "192.0.2.101")]))
    a = "02:00:00:06:00:01"
    s.discover(0x06000001, a, "OFFER yiaddr=192.0.2.100", req="192.0.2.100")
    s.select(0x06000001, a, "192.0.2.100", "ACK yiaddr=192.0.2.100")
    s.comment("ARP finds 192.0.2.100 in use: DECLINE (no answer), the address is held (abandoned)")
    s.at(2)
    s.decline(0x06000002, a, "192.0.2.100")
    s.comment("A starts over (RFC 2131 3.1.5): the declined address must not come back")
    s.at(12)
    s.discover(0x06000003, a, "OFFER yiaddr=192.0.2.101")
    s.select(0x06000003, a, "192.0.2.101", "ACK yiaddr=192.0.2.101 opt51=600")
    s.comment("another client asking for the declined address does not get it either: pool empty")
    s.discover(0x06000004, "02:00:00:06:00:02", "none", req="192.0.2.100")
    return s


def sc_release():
    s = Scenario("release", "DHCPRELEASE, then the client gets the same address back",
                 config("release", "pool of three", [("192.0.2.100", "192.0.2.102")]))
    a = "02:00:00:07:00:01"
    s.discover(0x07000001, a, "OFFER yiaddr=192.0.2.101", req="192.0.2.101")
    s.select(0x07000001, a, "192.0.2.101", "ACK yiaddr=192.0.2.101")
    s.comment("RELEASE: unicast with ciaddr, no answer")
    s.at(100)
    s.release(0x07000002, a, "192.0.2.101")
    s.comment("A comes back without option 50: its previous address is preferred (RFC 2131 4.3.1)")
    s.at(200)
    s.discover(0x07000003, a, "OFFER yiaddr=same:2 yiaddr=192.0.2.101")
    s.select(0x07000003, a, "192.0.2.101", "ACK yiaddr=192.0.2.101 opt51=600")
    return s


def sc_inform():
    s = Scenario("inform", "DHCPINFORM from a statically configured host",
                 config("inform", "pool of one", [("192.0.2.100", "192.0.2.100")]))
    m = "02:00:00:08:00:01"
    s.comment("RFC 2131 4.3.5: ACK to ciaddr, yiaddr 0, no lease time; the subnet's options")
    s.inform(0x08000001, m, "192.0.2.50",
             f"ACK yiaddr=0.0.0.0 ciaddr=192.0.2.50 opt51=absent opt58=absent opt59=absent {STD} "
             "dst=unicast:192.0.2.50 port=68")
    s.comment("the same sent broadcast: still answered to ciaddr")
    s.inform(0x08000002, m, "192.0.2.50", "ACK yiaddr=0.0.0.0 opt51=absent opt1=255.255.255.0 "
             "dst=unicast:192.0.2.50 port=68", unicast=False)
    return s


def sc_relay():
    s = Scenario("relay", "relayed DORA with giaddr and option 82",
                 config("relay", "pool of one on 192.0.2.0/24, one on 198.51.100.0/24",
                        [("192.0.2.100", "192.0.2.100")], relay_subnet=True))
    m, n = "02:00:00:09:00:01", "02:00:00:09:00:02"
    o82 = opt(82, opt(1, "swp12:vlan100") + opt(2, "tor-sw-1"))
    o82hex = o82[2:].hex()
    common = (f"opt54=192.0.2.2 opt1=255.255.255.0 opt3=198.51.100.1 opt6=192.0.2.2 opt15=maas "
              f"opt82=hex:{o82hex} dst=relay port=67")
    s.comment("giaddr selects 198.51.100.0/24; answers go to the relay's port 67 with 82 echoed (RFC 3046)")
    s.relayed(dhcp(0x09000001, m, opt(53, u8(1)) + cid(m) + opt(55, PRL_LINUX) + o82,
                   giaddr=RELAY, hops=1),
              f"OFFER yiaddr=198.51.100.100 giaddr=198.51.100.1 opt51=600 {common}")
    s.relayed(dhcp(0x09000001, m, opt(53, u8(3)) + cid(m) + opt(50, ip4("198.51.100.100")) +
                   opt(54, ip4(LINK)) + opt(55, PRL_LINUX) + o82, giaddr=RELAY, hops=1, secs=1),
              f"ACK yiaddr=198.51.100.100 giaddr=198.51.100.1 opt51=600 {common}")
    s.comment("a relayed INIT-REBOOT for an address of another network: NAK, also via the relay")
    s.relayed(dhcp(0x09000002, n, opt(53, u8(3)) + cid(n) + opt(50, ip4("192.0.2.100")) +
                   opt(55, PRL_LINUX) + o82, giaddr=RELAY, hops=1),
              f"NAK {NAK} opt82=hex:{o82hex} dst=relay port=67")
    return s


def boot(name, title, m, xid, extra, prl, expect_offer, flags=0x8000):
    s = Scenario(name, title, config(name, "pool of one", [("192.0.2.100", "192.0.2.100")]))
    s.comment(title)
    s.discover(xid, m, "OFFER yiaddr=192.0.2.100 siaddr=192.0.2.2 opt54=192.0.2.2 " + expect_offer,
               flags=flags, extra=extra, prl=prl)
    s.select(xid, m, "192.0.2.100", "ACK yiaddr=192.0.2.100 siaddr=192.0.2.2 opt54=192.0.2.2 " + expect_offer,
             flags=flags, extra=extra, prl=prl)
    return s


def sc_pxe_bios():
    extra = (opt(57, u16(1260)) + opt(93, u16(0)) + opt(94, b"\x01\x02\x01") + UUID +
             opt(60, "PXEClient:Arch:00000:UNDI:002001"))
    return boot("pxe-bios", "PXE BIOS (arch 0, PXEClient): lpxelinux.0, 210 forced, 30 s lease (MAAS 1.7 #3)",
                "02:00:00:0a:00:01", 0x0a000001, extra, PRL_PXE,
                "file=lpxelinux.0 opt210=http://192.0.2.2:5248/ opt51=30 opt60=absent dst=broadcast port=68")


def sc_uefi_x64():
    extra = (opt(57, u16(1472)) + opt(93, u16(7)) + opt(94, b"\x01\x03\x10") + UUID +
             opt(60, "PXEClient:Arch:00007:UNDI:003016"))
    return boot("uefi-x64", "UEFI x64 TFTP (arch 7, PXEClient): bootx64.efi, 30 s lease (MAAS 1.7 #4)",
                "02:00:00:0b:00:01", 0x0b000001, extra, PRL_EFI,
                "file=bootx64.efi opt51=30 opt210=absent opt60=absent dst=broadcast port=68")


def sc_uefi_http():
    extra = (opt(57, u16(1472)) + opt(93, u16(16)) + opt(94, b"\x01\x03\x10") + UUID +
             opt(60, "HTTPClient:Arch:00016:UNDI:003001"))
    return boot("uefi-http", "UEFI HTTP boot (arch 16, HTTPClient): URL in file, 60 HTTPClient (MAAS 1.7 #5)",
                "02:00:00:0c:00:01", 0x0c000001, extra, PRL_EFI,
                "file=http://192.0.2.2:5248/images/bootx64.efi opt60=HTTPClient opt51=600 opt210=absent "
                "dst=broadcast port=68")


def sc_ipxe():
    extra = (opt(57, u16(1472)) + opt(93, u16(0)) + opt(94, b"\x01\x02\x01") + UUID +
             opt(60, "PXEClient:Arch:00000:UNDI:002001") + opt(77, "iPXE") +
             opt(175, opt(19, u8(1)) + opt(24, u8(1)) + opt(36, u8(1))))
    return boot("ipxe", "iPXE (user class iPXE, arch 0): ipxe.cfg URL wins over pxe (MAAS 1.7 #1)",
                "02:00:00:0d:00:01", 0x0d000001, extra, PRL_IPXE,
                "file=http://192.0.2.2:5248/ipxe.cfg opt51=30 opt210=absent opt60=absent dst=broadcast port=68")


def sc_reservation():
    r = "02:00:00:0e:00:01"
    s = Scenario("reservation", "a host reservation",
                 config("reservation", "pool of one and a reservation", [("192.0.2.100", "192.0.2.100")],
                        reservations=[(r, "192.0.2.20", "node-r")]))
    s.comment("the reserved MAC gets its fixed address, whatever it asks for")
    s.discover(0x0e000001, r, f"OFFER yiaddr=192.0.2.20 opt51=600 {STD}", req="192.0.2.100")
    s.select(0x0e000001, r, "192.0.2.20", f"ACK yiaddr=192.0.2.20 opt51=600 {STD}")
    s.comment("another client asking for the reserved address gets a pool address")
    o = "02:00:00:0e:00:02"
    s.discover(0x0e000002, o, "OFFER yiaddr=192.0.2.100", req="192.0.2.20")
    s.select(0x0e000002, o, "192.0.2.100", "ACK yiaddr=192.0.2.100")
    s.comment("and asking for it in INIT-REBOOT is refused")
    s.at(30)
    s.init_reboot(0x0e000003, o, "192.0.2.20", f"NAK {NAK}")
    return s


def sc_exhaustion():
    s = Scenario("exhaustion", "pool of three, five clients",
                 config("exhaustion", "pool of three", [("192.0.2.100", "192.0.2.102")]))
    ms = [f"02:00:00:0f:00:{i:02x}" for i in range(1, 6)]
    for i in range(3):
        a = f"192.0.2.{100 + i}"
        s.discover(0x0f000001 + i, ms[i], f"OFFER yiaddr={a}", req=a)
        s.select(0x0f000001 + i, ms[i], a, f"ACK yiaddr={a}")
    s.comment("pool full: no OFFER for the fourth and fifth client (RFC 2131 4.3.1: no address, no answer)")
    s.at(10)
    s.discover(0x0f000004, ms[3], "none")
    s.discover(0x0f000005, ms[4], "none", req="192.0.2.101")
    s.comment("the second client releases: its address is free again for the fourth")
    s.at(20)
    s.release(0x0f000006, ms[1], "192.0.2.101")
    s.discover(0x0f000007, ms[3], "OFFER yiaddr=192.0.2.101")
    s.select(0x0f000007, ms[3], "192.0.2.101", "ACK yiaddr=192.0.2.101")
    return s


def sc_many():
    s = Scenario("many", "200 clients DORA in a /24 pool of 200, then one too many",
                 config("many", "pool of 200", [("192.0.2.10", "192.0.2.209")]))
    s.comment("each client remembers a different address (a permutation of the pool, option 50 in")
    s.comment("the DISCOVER): every OFFER/ACK is that address and distinct from all others")
    for i in range(200):
        m = f"02:00:00:10:{i >> 8:02x}:{i & 255:02x}"
        a = f"192.0.2.{10 + (i * 73) % 200}"
        s.discover(0x10000000 + i, m, f"OFFER yiaddr={a} yiaddr=new", req=a)
        s.select(0x10000000 + i, m, a, f"ACK yiaddr={a} opt51=600")
    s.comment("the pool is full")
    s.discover(0x10000200, "02:00:00:10:ff:ff", "none")
    return s


def sc_burst():
    s = Scenario("burst", "60 fresh clients DISCOVER at once (rack power-on), pool of 50",
                 config("burst", "pool of 50", [("192.0.2.100", "192.0.2.149")]))
    s.comment("no option 50: the allocator chooses; outstanding offers must not collide")
    s.comment("(RFC 2131 4.3.1 'avoid allocating the offered address to another client'; ISC does)")
    for i in range(60):
        m = f"02:00:00:11:00:{i:02x}"
        e = "OFFER yiaddr=in:192.0.2.100-192.0.2.149 yiaddr=new" if i < 50 else "none"
        s.discover(0x11000000 + i, m, e, flags=0x8000)
        s.usec -= 9000              # 1 ms apart
    return s


SCENARIOS = [sc_dora, sc_renew, sc_rebind, sc_init_reboot_ack, sc_init_reboot_nak, sc_decline, sc_release,
             sc_inform, sc_relay, sc_pxe_bios, sc_uefi_x64, sc_uefi_http, sc_ipxe, sc_reservation,
             sc_exhaustion, sc_many, sc_burst]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "scenarios")
    os.makedirs(outdir, exist_ok=True)
    for sc in SCENARIOS:
        print(sc().write(outdir))


if __name__ == "__main__":
    main()
