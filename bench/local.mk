## bench/: benchmarks.  Built by `make bench`, never run by `make check`:
## speed targets are measured here, not asserted in timed tests.
EXTRA_PROGRAMS = bench/bench_codec bench/bench_table bench/bench_store bench/bench_replay
bench_bench_codec_SOURCES = bench/bench_codec.c
bench_bench_table_SOURCES = bench/bench_table.c
bench_bench_table_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
bench_bench_replay_SOURCES = bench/bench_replay.c
bench_bench_replay_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_CPPFLAGS = $(AM_CPPFLAGS) $(RD_DEP_CFLAGS)
CLEANFILES += $(EXTRA_PROGRAMS)

bench: $(EXTRA_PROGRAMS)
	@echo "== codec: parse + build, one core =="
	bench/bench_codec$(EXEEXT)
	@echo "== lease table =="
	bench/bench_table$(EXEEXT)
	@echo "== lease store =="
	bench/bench_store$(EXEEXT)
	@echo "== replay =="
	bench/bench_replay$(EXEEXT)
.PHONY: bench
