## bench/: benchmarks.  Built by `make bench`, never run by `make check`:
## speed targets are measured here, not asserted in timed tests.
EXTRA_PROGRAMS = bench/bench_codec bench/bench_table bench/bench_store bench/bench_replay \
	bench/dhcp/canned bench/dhcp/perfdhcp_rcvbuf.so
bench_bench_codec_SOURCES = bench/bench_codec.c
bench_bench_table_SOURCES = bench/bench_table.c
bench_bench_table_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
bench_bench_replay_SOURCES = bench/bench_replay.c
bench_bench_replay_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
# The yardstick of the perfdhcp benchmark: a stateless responder (no library).
bench_dhcp_canned_SOURCES = bench/dhcp/canned.c
bench_dhcp_canned_LDADD =
# LD_PRELOAD shim that gives perfdhcp's sockets a bigger receive buffer
# (no sanitizer flags: it is loaded into perfdhcp).
bench_dhcp_perfdhcp_rcvbuf_so_SOURCES = bench/dhcp/perfdhcp_rcvbuf.c
bench_dhcp_perfdhcp_rcvbuf_so_CFLAGS = $(WARN_CFLAGS) -fPIC
bench_dhcp_perfdhcp_rcvbuf_so_LDFLAGS = -shared
bench_dhcp_perfdhcp_rcvbuf_so_LDADD = -ldl
CLEANFILES += $(EXTRA_PROGRAMS)

bench: $(EXTRA_PROGRAMS)
	@echo "== codec: parse + build, one core =="
	bench/bench_codec$(EXEEXT)
	@echo "== lease table =="
	bench/bench_table$(EXEEXT)
	@echo "== lease store =="
	bench/bench_store$(EXEEXT)
	@echo "== replay =="
	bench/bench_replay$(EXEEXT)
.PHONY: bench

## bench-dhcp: rackdhcpd, ISC dhcpd 4.4, Kea 2.2 and the canned responder
## against perfdhcp in network namespaces (needs root; see bench/dhcp/run.sh
## for the BENCH_* settings).  Exits 77 when it cannot run here.
EXTRA_DIST += bench/dhcp/run.sh bench/dhcp/bench.py
bench-dhcp: bench/dhcp/canned$(EXEEXT) bench/dhcp/perfdhcp_rcvbuf.so$(EXEEXT) dhcpd/rackdhcpd$(EXEEXT)
	BENCH_CANNED=$(abs_builddir)/bench/dhcp/canned$(EXEEXT) \
	BENCH_PERFDHCP_PRELOAD=$(abs_builddir)/bench/dhcp/perfdhcp_rcvbuf.so$(EXEEXT) \
	BENCH_RACKDHCPD=$(abs_builddir)/dhcpd/rackdhcpd$(EXEEXT) \
	BENCH_RESULTS_DIR=$(abs_builddir)/bench/dhcp \
	$(SHELL) $(abs_srcdir)/bench/dhcp/run.sh
.PHONY: bench-dhcp

## bench-dhcp-pair: failover pairs under perfdhcp (issue 5 item 10): an ISC
## dhcpd 4.4 failover pair, a Kea 2.2 HA hot-standby pair, a rackdhcpd pair
## and the canned ceiling (see bench/dhcp/pair.py for the BENCH_PAIR_*
## settings).  Needs root; exits 77 when it cannot run here.
EXTRA_DIST += bench/dhcp/pair.py
bench-dhcp-pair: bench/dhcp/canned$(EXEEXT) bench/dhcp/perfdhcp_rcvbuf.so$(EXEEXT) dhcpd/rackdhcpd$(EXEEXT)
	BENCH_MODE=pair \
	BENCH_CANNED=$(abs_builddir)/bench/dhcp/canned$(EXEEXT) \
	BENCH_PERFDHCP_PRELOAD=$(abs_builddir)/bench/dhcp/perfdhcp_rcvbuf.so$(EXEEXT) \
	BENCH_RACKDHCPD=$(abs_builddir)/dhcpd/rackdhcpd$(EXEEXT) \
	BENCH_RESULTS_DIR=$(abs_builddir)/bench/dhcp \
	$(SHELL) $(abs_srcdir)/bench/dhcp/run.sh
.PHONY: bench-dhcp-pair
