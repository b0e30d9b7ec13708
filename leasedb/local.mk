## leasedb/: lease versions, the RCU lease table and its SQLite store.
librackdhcp_a_SOURCES += \
	leasedb/lease.c \
	leasedb/table.c \
	leasedb/store.c \
	leasedb/load.c
