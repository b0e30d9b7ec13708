## contrib/: install-deps, demo and (later) the systemd unit and examples.
EXTRA_DIST += contrib/install-deps contrib/demo
