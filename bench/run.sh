#!/bin/sh
# Builds the benchmarks in Release (build/bench-release), runs each next to
# its Python twin and prints the table, as text and as Markdown for the
# README. Options: see bench/run.py --help. A missed goal is reported, not
# an error.
set -e
here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/run.py" "$@"
