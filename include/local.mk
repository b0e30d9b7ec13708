## include/: headers shared by every layer.
noinst_HEADERS = \
	include/rackdhcp/error.h \
	include/rackdhcp/wire.h \
	include/rackdhcp/frame.h \
	include/rackdhcp/dhcp.h \
	include/rackdhcp/capture.h
