## bench/: benchmarks.  Built by `make bench`, never run by `make check`:
## speed targets are measured here, not asserted in timed tests.
EXTRA_PROGRAMS = bench/bench_codec
bench_bench_codec_SOURCES = bench/bench_codec.c
CLEANFILES += bench/bench_codec

bench: bench/bench_codec$(EXEEXT)
	@echo "== codec: parse + build, one core =="
	bench/bench_codec$(EXEEXT)
.PHONY: bench
