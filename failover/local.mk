## failover/: the ISC failover protocol peer (issue 5).  Nothing is built
## here yet; the fragment exists so the folder's sources join the one graph.
