#!/usr/bin/env bash
# Builds echelon and runs the main job: the end-to-end example DAG.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build -DECHELON_BUILD_TESTS=OFF
exec ./build/bin/echelon-demo "$@"
