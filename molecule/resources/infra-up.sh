#!/usr/bin/env bash
# Bring up everything the Molecule scenarios need, in one command, and print the line to eval:
#     eval "$(molecule/resources/infra-up.sh)"      # then: . .venv/bin/activate; molecule test
# = host packages (root only, when missing) + the suite's dockerd + the target images + the apt mirror.
# Tear down with molecule/resources/infra-down.sh. Progress goes to stderr, the export to stdout.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=molecule/resources/env.sh
. "$HERE/env.sh"
"$HERE/host-prereqs.sh"
eval "$("$HERE/docker-up.sh")"
"$HERE/build-images.sh"
"$HERE/mirror-up.sh"
dlrig_exports
