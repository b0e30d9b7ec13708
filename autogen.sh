#!/bin/sh
# Regenerate configure and Makefile.in from configure.ac and Makefile.am.
# Needs autoconf, automake, libtool and pkg-config (contrib/install-deps).
set -e
cd "$(dirname "$0")"
autoreconf --force --install --warnings=all "$@"
