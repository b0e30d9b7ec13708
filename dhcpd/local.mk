## dhcpd/: the wire codec, the engine, and the daemon around them.
librackdhcp_a_SOURCES += \
	dhcpd/error.c \
	dhcpd/frame.c \
	dhcpd/dhcp_options.c \
	dhcpd/dhcp_parse.c \
	dhcpd/dhcp_print.c \
	dhcpd/dhcp_build.c \
	dhcpd/capture.c \
	dhcpd/config.c \
	dhcpd/boot.c \
	dhcpd/engine.c \
	dhcpd/replay.c \
	dhcpd/log.c \
	dhcpd/netmon.c \
	dhcpd/ratelimit.c \
	dhcpd/privs.c \
	dhcpd/io.c \
	dhcpd/worker.c \
	dhcpd/control.c \
	dhcpd/metrics.c \
	dhcpd/daemon.c \
	dhcpd/fmt.c \
	dhcpd/region.c \
	dhcpd/region_view.c \
	dhcpd/regionsync.c \
	dhcpd/events.c \
	dhcpd/isc_import.c

# rackdhcp-dump: decode the DHCP packets of a capture (pcap or pcapng) and
# print them; the demo uses it until the daemon exists.
bin_PROGRAMS += dhcpd/rackdhcp-dump
dhcpd_rackdhcp_dump_SOURCES = dhcpd/dump_main.c
dhcpd_rackdhcp_dump_CPPFLAGS = $(AM_CPPFLAGS)

# rackdhcpd: the server (and --check-config, --replay).
sbin_PROGRAMS += dhcpd/rackdhcpd
dhcpd_rackdhcpd_SOURCES = dhcpd/main.c
dhcpd_rackdhcpd_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)

# rackdhcpctl: the operator's client of the control socket.
sbin_PROGRAMS += dhcpd/rackdhcpctl
dhcpd_rackdhcpctl_SOURCES = dhcpd/ctl_main.c
dhcpd_rackdhcpctl_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
