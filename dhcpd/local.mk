## dhcpd/: the wire codec today; the daemon joins it (issue 4).
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
	dhcpd/replay.c

# rackdhcp-dump: decode the DHCP packets of a capture (pcap or pcapng) and
# print them; the demo uses it until the daemon exists.
bin_PROGRAMS += dhcpd/rackdhcp-dump
dhcpd_rackdhcp_dump_SOURCES = dhcpd/dump_main.c
dhcpd_rackdhcp_dump_CPPFLAGS = $(AM_CPPFLAGS)

# rackdhcpd: the server.  Today: --check-config and --replay.
sbin_PROGRAMS += dhcpd/rackdhcpd
dhcpd_rackdhcpd_SOURCES = dhcpd/main.c
dhcpd_rackdhcpd_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
