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

stamp="${bin_dir}/.helm-version"
if [[ -x "${helm_bin}" ]]; then
  # `helm version --template` prints e.g. v3.21.4. The stamp file records that this script built
  # it (with the Kubernetes version ldflags below); anything else means rebuild.
  have="$("${helm_bin}" version --template '{{ .Version }}' 2>/dev/null || true)"
  if [[ "${have}" == "${HELM_VERSION}" && "$(cat "${stamp}" 2>/dev/null)" == "${HELM_VERSION}" ]]; then
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
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
echo "building helm ${HELM_VERSION} with $(go version) into ${bin_dir} (takes a few minutes the first time)"

# Helm's Makefile stamps the default Kubernetes version (used by `helm template` and `helm lint`
# without --kube-version, and by the chart's kubeVersion check) from the client-go it builds with:
# major = client-go major + 1, minor = client-go minor. A bare `go install` leaves the fallback
# v1.20, so do the same here, reading client-go from helm's own go.mod.
gomod="$(cd "${TMPDIR:-/tmp}" && go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "${gomod}")"
if [[ ! "${client_go}" =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
  echo "error: cannot read the k8s.io/client-go version from ${gomod:-the helm go.mod}" >&2
  exit 1
fi
k8s_major=$((BASH_REMATCH[1] + 1))
k8s_minor="${BASH_REMATCH[2]}"

ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=${k8s_major} -X ${pkg}.k8sVersionMinor=${k8s_minor}"
done

# -trimpath: no local paths in the binary (helm's release builds use it too).
GOBIN="${bin_dir}" go install -trimpath -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
echo "${HELM_VERSION}" > "${stamp}"
echo "helm $("${helm_bin}" version --short), default Kubernetes version ${k8s_major}.${k8s_minor}"
