#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""make_corpus.py — (re)write the fuzz_packet seed corpus from our fixtures.

The seeds come only from the project's own generated captures
(tests/pcap/*.pcap, written by gen_fixtures.py), never from the public
captures in ../shared/pcaps, whose licences do not let us commit them or
bytes taken from them.  Each frame becomes one file named by the SHA-1 of
its bytes, so reruns are idempotent and identical frames collapse; stale
seeds are removed.  Plain pcap is read directly (no scapy needed).

    python3 tests/fuzz/make_corpus.py        # from the source tree root or anywhere
"""
import glob
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "pcap")
CORPUS = os.path.join(HERE, "corpus", "packet")


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian = ">"
    else:
        raise SystemExit("%s: not a plain pcap file" % path)
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield data[off:off + caplen]
        off += caplen


def main():
    os.makedirs(CORPUS, exist_ok=True)
    want = {}
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.pcap"))):
        for frame in frames(path):
            want[hashlib.sha1(frame).hexdigest()] = frame
    for name in os.listdir(CORPUS):
        if name not in want:
            os.remove(os.path.join(CORPUS, name))
    for name, frame in sorted(want.items()):
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(frame)
    print("%d seeds in %s" % (len(want), os.path.relpath(CORPUS)))


if __name__ == "__main__":
    main()
