#!/bin/sh
# Writes tests/data/old_stores/v<N>.sqlite with the code of the commit that introduced SQLite schema
# version N (see SOURCE.md): each commit is checked out in a temporary git worktree and its own CLI
# loads the same small data. Run from anywhere in the repository; PYTHON defaults to the .venv's.
set -eu
ROOT=$(git rev-parse --show-toplevel)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DATA=$ROOT/tests/data
OUT=$ROOT/tests/data/old_stores

make_store() {  # VERSION COMMIT [COMMIT_OF_A_MISSING_base.py]
    version=$1
    tree=$(mktemp -d /tmp/old-store-v$version.XXXXXX)
    git -C "$ROOT" worktree add --detach "$tree/src" "$2" >/dev/null
    if [ $# -ge 3 ]; then  # the commits of schema version 1 import beacon/store/base.py but lack it
        git -C "$ROOT" show "$3:beacon/store/base.py" >"$tree/src/beacon/store/base.py"
    fi
    # The old code's `schemas/` is installed as `beacon_schemas`: point that name at the old copy too.
    mkdir "$tree/shim" && ln -s "$tree/src/schemas" "$tree/shim/beacon_schemas"
    store=$OUT/v$version.sqlite
    rm -f "$store" "$store-wal" "$store-shm"
    run() {
        (cd "$tree/src" && BEACON_STORE_URI="sqlite:///$store" PYTHONPATH="$tree/shim:$tree/src" \
            "$PYTHON" -c 'import sys, beacon; assert beacon.__file__.startswith(sys.argv[1]); from beacon.cli import main; main(sys.argv[2:])' \
            "$tree/src/" "$@")
    }
    run load metadata "$OUT/input/datasets.json" "$OUT/input/cohorts.json" "$OUT/input/individuals.json" \
        "$OUT/input/biosamples.json"
    if [ "$version" -ge 3 ]; then  # variants and ontologies arrived with version 3
        run load ontology "$DATA/ontology/hp_seizure_excerpt.obo"
        run load vcf "$DATA/vcf/synthetic_usecases_4beacon_testingV4.vcf.gz" --dataset test --assembly GRCh38 --case-level
    fi
    git -C "$ROOT" worktree remove --force "$tree/src"
    rm -rf "$tree"
}

make_store 1 2e92082d6117e5f3bd8645848e0b5dadb46e2f78 9b1b62cdc1cf94ae72990d899e2e7422d7e8fe2f
make_store 3 9b1b62cdc1cf94ae72990d899e2e7422d7e8fe2f
make_store 4 2d506f23ce3896328ac8e6c6d0b14109df1ac8ec
make_store 5 7afc33e45fed15f14dd41b24d1d5898c4d346daa
make_store 6 46c89e3d38ae177872afa03c656db05bded003b4
