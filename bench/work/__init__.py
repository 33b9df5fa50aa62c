"""The app ``bench/bench_work.py`` consumes: one IO-bound worker, nothing else."""
