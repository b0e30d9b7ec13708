## leasedb/: the RCU lease table and its SQLite store (issue 3).  Nothing is
## built here yet; the fragment exists so the folder's sources join the one graph.
