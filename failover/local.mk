## failover/: the ISC failover protocol peer (issue 5): message codec,
## state machine, lease rules, load balancing; the link and replication
## join as they land.
librackdhcp_a_SOURCES += \
	failover/msg.c \
	failover/state.c \
	failover/balance.c \
	failover/link.c \
	failover/peer.c
