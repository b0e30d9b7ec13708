## contrib/: install-deps, demo, check, the systemd unit and the example config.
EXTRA_DIST += contrib/install-deps contrib/demo contrib/check contrib/rackdhcpd.yaml

systemdsystemunitdir = $(prefix)/lib/systemd/system
dist_systemdsystemunit_DATA = contrib/rackdhcpd.service

dist_man8_MANS = man/rackdhcpd.8 man/rackdhcpctl.8
