"""Benchmarks: each measures Sluice side by side with the peer it claims to beat."""
