#!/usr/bin/env bash
# Build the pinned Helm v3 CLI from the Go module proxy into <repo>/.stack/bin/helm.
#
# Why from source: the dev and CI machines reach package registries only (the Go module proxy
# among them), not get.helm.sh or GitHub releases. The first build takes a few minutes on 2 cores;
# later runs return at once when the pinned version is already there.
#
# Usage: scripts/install_helm.sh            (HELM_VERSION=v3.x.y to override the pin)
set -euo pipefail

# Pinned: a v3.21 patch release (v3.21 requires Go >= 1.26). Bump deliberately, then re-run tests/helm.
HELM_VERSION="${HELM_VERSION:-v3.21.4}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.stack/bin"
helm_bin="${bin_dir}/helm"

if [[ -x "${helm_bin}" ]]; then
  # `helm version --template` prints e.g. v3.21.4; anything else means rebuild.
  have="$("${helm_bin}" version --template '{{ .Version }}' 2>/dev/null || true)"
  if [[ "${have}" == "${HELM_VERSION}" ]]; then
    echo "helm ${HELM_VERSION} already at ${helm_bin}"
    exit 0
  fi
  echo "found helm '${have:-unknown}' at ${helm_bin}; building ${HELM_VERSION}"
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed or not on PATH; it is needed to build helm ${HELM_VERSION}" >&2
  echo "       from the Go module proxy (install Go >= 1.26, then re-run $0)." >&2
  exit 1
fi

mkdir -p "${bin_dir}"
echo "building helm ${HELM_VERSION} with $(go version) into ${bin_dir} (takes a few minutes the first time)"
# -trimpath: reproducible paths. The version is stamped with -ldflags so `helm version` reports the
# pin instead of the module's default (helm's Makefile does the same with internal/version).
GOBIN="${bin_dir}" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
"${helm_bin}" version --short
