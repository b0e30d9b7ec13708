## include/: headers shared by every layer.
noinst_HEADERS = \
	include/rackdhcp/error.h \
	include/rackdhcp/wire.h \
	include/rackdhcp/frame.h \
	include/rackdhcp/dhcp.h \
	include/rackdhcp/capture.h \
	include/rackdhcp/rcu.h \
	include/rackdhcp/lease.h \
	include/rackdhcp/table.h \
	include/rackdhcp/store.h \
	include/rackdhcp/leasedb.h \
	include/rackdhcp/config.h \
	include/rackdhcp/boot.h \
	include/rackdhcp/engine.h \
	include/rackdhcp/replay.h \
	include/rackdhcp/log.h \
	include/rackdhcp/daemon.h \
	include/rackdhcp/worker.h \
	include/rackdhcp/io.h \
	include/rackdhcp/netmon.h \
	include/rackdhcp/ratelimit.h \
	include/rackdhcp/privs.h \
	include/rackdhcp/control.h \
	include/rackdhcp/metrics.h \
	include/rackdhcp/fmt.h \
	include/rackdhcp/fo_msg.h \
	include/rackdhcp/fo_state.h \
	include/rackdhcp/fo_balance.h \
	include/rackdhcp/fo_link.h \
	include/rackdhcp/region.h \
	include/rackdhcp/regionsync.h \
	include/rackdhcp/fo_peer.h \
	include/rackdhcp/events.h \
	include/rackdhcp/isc_import.h
