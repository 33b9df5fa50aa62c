"""The app ``bench/bench_work.py`` consumes (IO-bound workers, with and without idempotency)
and the peers it measures ``sluice work`` against."""
