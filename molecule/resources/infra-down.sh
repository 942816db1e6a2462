#!/usr/bin/env bash
# Stop what infra-up.sh started: the apt mirror server and the suite's dockerd (images are kept).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$HERE/mirror-down.sh"
"$HERE/docker-down.sh"
