#!/usr/bin/env bash
# Build the cluster scenario's local apt mirror and shared torch folder (run by prepare.yml on the host):
#     molecule/cluster/build-mirror.sh OUTDIR
#   OUTDIR/apt    a signed flat apt repository of Debian 12's own slurm/munge packages and their
#                 dependencies, fetched with `apt-get download` on this host (Debian 12) the way an
#                 air-gapped site fills its mirror; public key OUTDIR/apt/dlrig-cluster-archive-keyring.asc,
#                 fingerprint OUTDIR/apt/dlrig-cluster-archive-key.fingerprint.
#   OUTDIR/torch  torch (CPU wheel from pip's find-links) and its dependencies, `pip install --target`:
#                 mounted read-only into the compute nodes for the all-reduce test.
# Each part is rebuilt only when missing. Needs: apt-get, apt-ftparchive (apt-utils), gpg, python3 -m pip.
set -euo pipefail
OUT=${1:?usage: build-mirror.sh OUTDIR}
TORCH_VERSION=${DLRIG_CLUSTER_TORCH_VERSION:-2.13.0}
PACKAGES=(slurmctld slurmd slurm-client munge)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ ! -s "$OUT/apt/InRelease" ]; then
  work=$(mktemp -d)
  trap 'gpgconf --homedir "$work/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  mkdir -p "$work/pool"
  # The dependency closure (Depends and Pre-Depends), by name; apt-get download takes the candidates.
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "${PACKAGES[@]}" | grep -v '^[ <]' | sort -u >"$work/names"
  (cd "$work/pool" && xargs apt-get download -q <"$work/names" >/dev/null)
  (cd "$work" && apt-ftparchive packages pool >Packages && gzip -9kn Packages \
    && apt-ftparchive -o APT::FTPArchive::Release::Origin=dlrig-cluster-mirror \
       -o APT::FTPArchive::Release::Suite=bookworm release . >Release)
  export GNUPGHOME=$work/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  gpg -q --batch --pinentry-mode loopback --passphrase '' --quick-gen-key \
    'dlrig cluster test mirror <dlrig@localhost>' ed25519 sign never
  gpg -q --batch --yes --clearsign -o "$work/InRelease" "$work/Release"
  gpg -q --batch --yes -abs -o "$work/Release.gpg" "$work/Release"
  gpg -q --batch --armor --export >"$work/dlrig-cluster-archive-keyring.asc"
  gpg --batch --with-colons --fingerprint | awk -F: '$1 == "fpr" {print $10; exit}' \
    >"$work/dlrig-cluster-archive-key.fingerprint"
  rm -rf "$OUT/apt.new"; mkdir -p "$OUT/apt.new"
  cp -r "$work/pool" "$work"/Packages* "$work"/Release* "$work/InRelease" "$work"/dlrig-cluster-archive-* "$OUT/apt.new/"
  rm -rf "$OUT/apt"; mv "$OUT/apt.new" "$OUT/apt"
  echo "apt mirror: $(ls "$OUT/apt/pool" | wc -l) packages" >&2
fi

if [ ! -d "$OUT/torch/torch-$TORCH_VERSION+cpu.dist-info" ] && [ ! -d "$OUT/torch/torch-$TORCH_VERSION.dist-info" ]; then
  rm -rf "$OUT/torch.new"
  python3 -m pip install -q --no-warn-script-location --target "$OUT/torch.new" "torch==$TORCH_VERSION" >&2
  rm -rf "$OUT/torch"; mv "$OUT/torch.new" "$OUT/torch"
  echo "torch $TORCH_VERSION in $OUT/torch" >&2
fi
