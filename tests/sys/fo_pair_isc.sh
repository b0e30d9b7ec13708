#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_pair_isc.sh — fo_pair.sh's ISC pairing on its own (ISC dhcpd 4.4 as
# the primary, rackdhcpd as the secondary), so that each script of the pair
# tests stays near two minutes.  See fo_pair.sh for what is checked.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
FO_PAIR_MODES=isc
export FO_PAIR_MODES top_srcdir
exec sh "$top_srcdir/tests/sys/fo_pair.sh" "$@"
