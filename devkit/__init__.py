"""Development kit shared by the tests and the benchmarks: the service as real processes."""
