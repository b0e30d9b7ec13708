## tests/: unit tests (TAP, one program per module, mirroring its path),
## fuzz targets (replaying their seed corpus unless built with libFuzzer),
## capture cross-checks (tests/pcap) and, later, system tests (tests/sys).

check_LIBRARIES = tests/libtap.a
tests_libtap_a_SOURCES = tests/tap/tap.c tests/tap/tap.h
TAP_LDADD = tests/libtap.a $(LDADD)
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/tap

# ---- unit tests
unit_tests = \
	tests/unit/include/test_wire \
	tests/unit/dhcpd/test_frame \
	tests/unit/dhcpd/test_capture \
	tests/unit/dhcpd/test_dhcp_options \
	tests/unit/dhcpd/test_dhcp_parse \
	tests/unit/dhcpd/test_dhcp_build \
	tests/unit/dhcpd/test_config \
	tests/unit/dhcpd/test_boot \
	tests/unit/dhcpd/test_engine \
	tests/unit/leasedb/test_lease \
	tests/unit/leasedb/test_table \
	tests/unit/leasedb/test_store \
	tests/unit/leasedb/test_load \
	tests/unit/dhcpd/test_netmon \
	tests/unit/dhcpd/test_ratelimit \
	tests/unit/dhcpd/test_privs \
	tests/unit/dhcpd/test_control \
	tests/unit/failover/test_msg \
	tests/unit/failover/test_state \
	tests/unit/failover/test_balance
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_include_test_wire_SOURCES = tests/unit/include/test_wire.c
tests_unit_include_test_wire_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_include_test_wire_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_frame_SOURCES = tests/unit/dhcpd/test_frame.c
tests_unit_dhcpd_test_frame_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dhcpd_test_frame_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_capture_SOURCES = tests/unit/dhcpd/test_capture.c
tests_unit_dhcpd_test_capture_CPPFLAGS = $(TEST_CPPFLAGS) $(PCAP_CFLAGS)
tests_unit_dhcpd_test_capture_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_dhcp_options_SOURCES = tests/unit/dhcpd/test_dhcp_options.c
tests_unit_dhcpd_test_dhcp_options_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dhcpd_test_dhcp_options_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_dhcp_parse_SOURCES = tests/unit/dhcpd/test_dhcp_parse.c
tests_unit_dhcpd_test_dhcp_parse_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dhcpd_test_dhcp_parse_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_dhcp_build_SOURCES = tests/unit/dhcpd/test_dhcp_build.c
tests_unit_dhcpd_test_dhcp_build_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dhcpd_test_dhcp_build_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_config_SOURCES = tests/unit/dhcpd/test_config.c
tests_unit_dhcpd_test_config_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_config_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_engine_SOURCES = tests/unit/dhcpd/test_engine.c
tests_unit_dhcpd_test_engine_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_engine_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_boot_SOURCES = tests/unit/dhcpd/test_boot.c
tests_unit_dhcpd_test_boot_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_boot_LDADD = $(TAP_LDADD)
tests_unit_leasedb_test_lease_SOURCES = tests/unit/leasedb/test_lease.c
tests_unit_leasedb_test_lease_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_lease_LDADD = $(TAP_LDADD)
tests_unit_leasedb_test_table_SOURCES = tests/unit/leasedb/test_table.c tests/unit/leasedb/table_fixture.h
tests_unit_leasedb_test_table_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_table_LDADD = $(TAP_LDADD)
tests_unit_leasedb_test_store_SOURCES = tests/unit/leasedb/test_store.c
tests_unit_leasedb_test_store_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_store_LDADD = $(TAP_LDADD)

tests_unit_leasedb_test_load_SOURCES = tests/unit/leasedb/test_load.c
tests_unit_leasedb_test_load_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_load_LDADD = $(TAP_LDADD)

tests_unit_dhcpd_test_netmon_SOURCES = tests/unit/dhcpd/test_netmon.c
tests_unit_dhcpd_test_netmon_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_netmon_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_ratelimit_SOURCES = tests/unit/dhcpd/test_ratelimit.c
tests_unit_dhcpd_test_ratelimit_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_ratelimit_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_privs_SOURCES = tests/unit/dhcpd/test_privs.c
tests_unit_dhcpd_test_privs_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_privs_LDADD = $(TAP_LDADD)
tests_unit_dhcpd_test_control_SOURCES = tests/unit/dhcpd/test_control.c
tests_unit_dhcpd_test_control_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_control_LDADD = $(TAP_LDADD)

tests_unit_failover_test_msg_SOURCES = tests/unit/failover/test_msg.c
tests_unit_failover_test_msg_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_msg_LDADD = $(TAP_LDADD)
tests_unit_failover_test_state_SOURCES = tests/unit/failover/test_state.c
tests_unit_failover_test_state_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_state_LDADD = $(TAP_LDADD)
tests_unit_failover_test_balance_SOURCES = tests/unit/failover/test_balance.c
tests_unit_failover_test_balance_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_balance_LDADD = $(TAP_LDADD)

# ---- fuzz targets
# Each defines LLVMFuzzerTestOneInput.  With --with-fuzzer they link libFuzzer;
# otherwise tests/fuzz/replay_main.c, which runs the seed corpus (and the
# frames of ../shared/pcaps when present) through the target as a test.
fuzz_targets = tests/fuzz/fuzz_packet tests/fuzz/fuzz_config tests/fuzz/fuzz_lease_row \
	tests/fuzz/fuzz_control tests/fuzz/fuzz_frame_path tests/fuzz/fuzz_failover
check_PROGRAMS += $(fuzz_targets)
if FUZZER
FUZZ_MAIN =
FUZZ_LINK = -fsanitize=fuzzer
else
FUZZ_MAIN = tests/fuzz/replay_main.c
FUZZ_LINK =
TESTS += $(fuzz_targets)
endif
tests_fuzz_fuzz_packet_SOURCES = tests/fuzz/fuzz_packet.c $(FUZZ_MAIN)
tests_fuzz_fuzz_packet_CPPFLAGS = $(AM_CPPFLAGS) $(PCAP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/packet"'
tests_fuzz_fuzz_packet_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_MAIN)
tests_fuzz_fuzz_config_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/config"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_lease_row_SOURCES = tests/fuzz/fuzz_lease_row.c $(FUZZ_MAIN)
tests_fuzz_fuzz_lease_row_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/lease_row"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_lease_row_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c $(FUZZ_MAIN)
tests_fuzz_fuzz_control_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/control"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_control_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_frame_path_SOURCES = tests/fuzz/fuzz_frame_path.c $(FUZZ_MAIN)
tests_fuzz_fuzz_frame_path_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) $(PCAP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/packet"'
tests_fuzz_fuzz_frame_path_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_failover_SOURCES = tests/fuzz/fuzz_failover.c $(FUZZ_MAIN)
tests_fuzz_fuzz_failover_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/failover"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_failover_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
EXTRA_DIST += tests/fuzz/corpus

# ---- capture cross-checks
# pcap_check decodes every DHCP frame of a capture and prints the fields in
# the same layout as `tshark -T fields`; the scripts compare the two.
check_PROGRAMS += tests/pcap/pcap_check
tests_pcap_pcap_check_SOURCES = tests/pcap/pcap_check.c
tests_pcap_pcap_check_CPPFLAGS = $(AM_CPPFLAGS) $(PCAP_CFLAGS)
pcap_tests = tests/pcap/test_captures.sh tests/pcap/test_scenarios.sh
dist_check_SCRIPTS += $(pcap_tests)
TESTS += $(pcap_tests)
EXTRA_DIST += tests/pcap

# ---- system tests: real programs in network namespaces the test creates
# (root needed; skipped otherwise).  tests/sys/lib.sh holds the helpers.
sys_tests = tests/sys/isc_diff.sh tests/sys/serve.sh tests/sys/relay_limits.sh
dist_check_SCRIPTS += $(sys_tests) tests/sys/isc_diff.py tests/sys/flood.py
TESTS += $(sys_tests)
EXTRA_DIST += tests/sys/lib.sh tests/sys/isc_diff docs/isc-differences.md

# ---- failover link (failover/link.c) ----------------------------------------
# Unit test over 127.0.0.x with ephemeral ports and a fake clock; the ISC
# interop system test (root, netns, /usr/sbin/dhcpd, else skipped) and its
# driver program, which runs one link with a scripted minimal exchange.
check_PROGRAMS += tests/unit/failover/test_link tests/sys/fo_peer
TESTS += tests/unit/failover/test_link tests/sys/fo_isc_link.sh
dist_check_SCRIPTS += tests/sys/fo_isc_link.sh
tests_unit_failover_test_link_SOURCES = tests/unit/failover/test_link.c
tests_unit_failover_test_link_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_link_LDADD = $(TAP_LDADD)
tests_sys_fo_peer_SOURCES = tests/sys/fo_peer.c
tests_sys_fo_peer_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)

# ---- region sync (dhcpd/region.c, dhcpd/region_view.c) ----------------------
# Unit test against tests/region/fixture.py (python3, two instances on
# 127.0.0.1 ephemeral ports; skipped without python3), and the view builder's
# fuzz target (region JSON in, YAML that rd_config_parse takes or refuses).
check_PROGRAMS += tests/unit/dhcpd/test_region tests/fuzz/fuzz_region
TESTS += tests/unit/dhcpd/test_region
tests_unit_dhcpd_test_region_SOURCES = tests/unit/dhcpd/test_region.c
tests_unit_dhcpd_test_region_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS) -DRD_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_dhcpd_test_region_LDADD = $(TAP_LDADD)
if !FUZZER
TESTS += tests/fuzz/fuzz_region
endif
tests_fuzz_fuzz_region_SOURCES = tests/fuzz/fuzz_region.c $(FUZZ_MAIN)
tests_fuzz_fuzz_region_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/region"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_region_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
EXTRA_DIST += tests/region

# ---- failover peers in the daemon (failover/peer.c) -------------------------
# Unit test: a primary and a secondary peer set in one process over
# 127.0.0.1/127.0.0.2 (NORMAL, replication, engine seam, graceful stop); and
# the system test: rackdhcpd secondary with a rackdhcpd primary, then an ISC
# dhcpd primary, in namespaces with a dhclient (root, netns, dhclient,
# sqlite3; skipped otherwise; the ISC pairing needs /usr/sbin/dhcpd).
check_PROGRAMS += tests/unit/failover/test_peer
TESTS += tests/unit/failover/test_peer tests/sys/fo_pair.sh
dist_check_SCRIPTS += tests/sys/fo_pair.sh
tests_unit_failover_test_peer_SOURCES = tests/unit/failover/test_peer.c
tests_unit_failover_test_peer_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_peer_LDADD = $(TAP_LDADD)

# ---- MAAS lease events (dhcpd/events.c) -------------------------------------
# Unit test: JSON of each kind checked with jansson, delivery to a unix
# datagram listener in a mkdtemp dir, queueing while it is missing, a full
# queue's drop counters, shutdown with a dead or stuck listener.
check_PROGRAMS += tests/unit/dhcpd/test_events
TESTS += tests/unit/dhcpd/test_events
tests_unit_dhcpd_test_events_SOURCES = tests/unit/dhcpd/test_events.c
tests_unit_dhcpd_test_events_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_events_LDADD = $(TAP_LDADD)

# ---- ISC dhcpd migration (dhcpd/isc_import.c, rackdhcpctl import-isc) -------
# Unit test: a MAAS-style dhcpd.conf and dhcpd.leases converted, the YAML
# checked through rd_config_parse and the leases through the store it
# writes (in a mkdtemp dir); and the converter's fuzz target (bytes as a
# dhcpd.conf, and after a "%%" line as a dhcpd.leases).
check_PROGRAMS += tests/unit/dhcpd/test_isc_import tests/fuzz/fuzz_isc_import
TESTS += tests/unit/dhcpd/test_isc_import
tests_unit_dhcpd_test_isc_import_SOURCES = tests/unit/dhcpd/test_isc_import.c
tests_unit_dhcpd_test_isc_import_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_dhcpd_test_isc_import_LDADD = $(TAP_LDADD)
if !FUZZER
TESTS += tests/fuzz/fuzz_isc_import
endif
tests_fuzz_fuzz_isc_import_SOURCES = tests/fuzz/fuzz_isc_import.c $(FUZZ_MAIN)
tests_fuzz_fuzz_isc_import_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS) \
	-DRD_FUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/isc_import"' -DRD_FUZZ_NO_CAPTURES
tests_fuzz_fuzz_isc_import_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
# System test: Debian's ISC dhcpd checks the MAAS-style file (dhcpd -t), the
# CLI's exit statuses; then (root, netns, dhcpd, dhclient, sqlite3; skipped
# otherwise) a live ISC pair, its primary imported and replaced by
# rackdhcpd, which reaches NORMAL with the ISC secondary.
TESTS += tests/sys/import_isc.sh
dist_check_SCRIPTS += tests/sys/import_isc.sh

# MAAS lease events from the running daemon (server.lease_events_socket).
TESTS += tests/sys/events.sh
dist_check_SCRIPTS += tests/sys/events.sh tests/sys/event_sink.py

# ---- failover relationships following a reload (rd_fo_peers_reconfigure) ----
# Unit test: two peer sets over loopback add, keep, refuse, remove and
# role-swap relationships while reader threads use the engine seam (~5 s).
# System test (root, netns, dhclient; skipped otherwise): two rackdhcpd
# reloaded live to add, remove and role-swap relationships (~1-2 min).
check_PROGRAMS += tests/unit/failover/test_peer_reload
TESTS += tests/unit/failover/test_peer_reload tests/sys/fo_reload.sh
dist_check_SCRIPTS += tests/sys/fo_reload.sh
tests_unit_failover_test_peer_reload_SOURCES = tests/unit/failover/test_peer_reload.c
tests_unit_failover_test_peer_reload_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_peer_reload_LDADD = $(TAP_LDADD)

# Live pool changes in the lease table (rd_table_set_pools): grow, shrink,
# split, merge, move, remove, and a race of claiming threads against them.
check_PROGRAMS += tests/unit/leasedb/test_pool_resize
TESTS += tests/unit/leasedb/test_pool_resize
tests_unit_leasedb_test_pool_resize_SOURCES = tests/unit/leasedb/test_pool_resize.c
tests_unit_leasedb_test_pool_resize_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_pool_resize_LDADD = $(TAP_LDADD)
# System test: SIGHUP shrinks, grows and moves a pool under a renewing
# dhclient (root, netns, dhclient, busybox, sqlite3; skipped otherwise).
TESTS += tests/sys/pool_resize.sh
dist_check_SCRIPTS += tests/sys/pool_resize.sh

# ---- failover: kill -9 under load (failover[].ack_after_peer) ---------------
# Two rackdhcpd (primary, secondary) and perfdhcp on a bridge; the primary
# is killed mid-run; tests/sys/ack_check.py (self-tested first on synthetic
# captures) asserts over the client-side capture and the survivor's SQLite:
# no double ACK, no ACKed lease missing.  Root, netns, perfdhcp, tcpdump,
# sqlite3; skipped otherwise.  ~40 s.
TESTS += tests/sys/fo_crash.sh
dist_check_SCRIPTS += tests/sys/fo_crash.sh tests/sys/ack_check.py

# ---- failover pairs against ISC in both roles, MCLT takeover, tshark ---------
# fo_pair.sh runs the rackdhcpd pair, fo_pair_isc.sh the same scenario with
# an ISC dhcpd primary, fo_pair_isc2.sh rackdhcpd primary + ISC secondary
# (root, netns, python3, sqlite3, dhcpd; skipped otherwise).  Each captures
# port 647 and checks our messages with tshark when it is installed.
TESTS += tests/sys/fo_pair_isc.sh tests/sys/fo_pair_isc2.sh
dist_check_SCRIPTS += tests/sys/fo_pair_isc.sh tests/sys/fo_pair_isc2.sh

# ---- region sync in the daemon (dhcpd/regionsync.c) -------------------------
# System test: the region fixture (tests/region/fixture.py, data from
# tests/region/sysdata.py) polled every second by rackdhcpd in a namespace,
# a renewing dhclient and udhcpc probes while VLANs, reservations, roles and
# ranges change, the region fails and goes away, and a restart serves the
# stored view (root, netns, dhclient, busybox, python3, sqlite3; else skipped).
TESTS += tests/sys/region.sh
dist_check_SCRIPTS += tests/sys/region.sh
# Unit test: rd_region_compose (the file and the region's view combined;
# source: region) and the region keys of the configuration.
check_PROGRAMS += tests/unit/dhcpd/test_region_compose
TESTS += tests/unit/dhcpd/test_region_compose
tests_unit_dhcpd_test_region_compose_SOURCES = tests/unit/dhcpd/test_region_compose.c
tests_unit_dhcpd_test_region_compose_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS) -DRD_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_dhcpd_test_region_compose_LDADD = $(TAP_LDADD)

# ---- failover: pool balancing timer, POOLREQ/POOLRESP, one BNDUPD per move ---
# Two peer sets over loopback, a 400-address pool, small min/max_balance. ~10 s.
check_PROGRAMS += tests/unit/failover/test_peer_balance
TESTS += tests/unit/failover/test_peer_balance
tests_unit_failover_test_peer_balance_SOURCES = tests/unit/failover/test_peer_balance.c
tests_unit_failover_test_peer_balance_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_failover_test_peer_balance_LDADD = $(TAP_LDADD)

# ---- failover: a flapping failover link under load ----------------------------
# Two rackdhcpd with the failover link on its own veth pair, set down and
# up repeatedly under perfdhcp load, with ack_after_peer on and off;
# ack_check.py asserts no double ACK and every ACKed lease ACTIVE in both
# stores once NORMAL again.  Root, netns, perfdhcp, tcpdump, sqlite3;
# skipped otherwise.  ~1.5-2 min.
TESTS += tests/sys/fo_flap.sh
dist_check_SCRIPTS += tests/sys/fo_flap.sh
EXTRA_DIST += tests/sys/fo_load.sh

# ---- batched sending (rd_io_batch_*, dhcpd/io.c) ------------------------------
# sendmmsg runs per socket, per-entry outcomes, errors mid-run, self-flush
# when full, IP_PKTINFO source; over loopback UDP only.
check_PROGRAMS += tests/unit/dhcpd/test_io_batch
TESTS += tests/unit/dhcpd/test_io_batch
tests_unit_dhcpd_test_io_batch_SOURCES = tests/unit/dhcpd/test_io_batch.c
tests_unit_dhcpd_test_io_batch_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dhcpd_test_io_batch_LDADD = $(TAP_LDADD)

# ---- failover: POOLREQ/POOLRESP against a live ISC dhcpd 4.4 ------------------
# Four runs in network namespaces, 40-address pool: each side asks the
# other (POOLREQ when short) in both pairings (rackdhcpd primary or
# secondary); each side's counters, logs and moves, and both stores agreeing
# on every address after.  Root, netns, ISC dhcpd, sqlite3, python3 (tshark
# optional).  ~40 s.
TESTS += tests/sys/fo_poolreq_isc.sh
dist_check_SCRIPTS += tests/sys/fo_poolreq_isc.sh

# ---- the replay's fixed-size lease table (rd_table_new_fixed) ------------------
# A table sized for 64 holding 4096 leases: lookups by address (runs of
# neighbouring addresses, two /16s with equal low bits) and by client,
# renewals, expiry, iteration, claims, leak-free free.
check_PROGRAMS += tests/unit/leasedb/test_table_fixed
TESTS += tests/unit/leasedb/test_table_fixed
tests_unit_leasedb_test_table_fixed_SOURCES = tests/unit/leasedb/test_table_fixed.c tests/unit/leasedb/table_fixture.h
tests_unit_leasedb_test_table_fixed_CPPFLAGS = $(TEST_CPPFLAGS) $(RD_DEP_CFLAGS)
tests_unit_leasedb_test_table_fixed_LDADD = $(TAP_LDADD)
