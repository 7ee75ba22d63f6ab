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

# Go >= 1.26 is needed. Look on PATH, then where the Go installer and `go install` put it (a CI
# shell may start with a shorter PATH than a login shell); if none is new enough, fetch the
# official toolchain from the Go module proxy (the module golang.org/toolchain, the same zip that
# `GOTOOLCHAIN=auto` downloads) into .stack/go. No Go at all on the machine is fine that way.
GO_TOOLCHAIN_VERSION="${GO_TOOLCHAIN_VERSION:-1.26.8}"
GOPROXY_URL="${GOPROXY_URL:-https://proxy.golang.org}"

go_ok() {  # $1: a go binary; true if it runs and is >= 1.26
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  [[ "${v}" =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 26 ))
}

go_bin=""
for cand in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "${HOME:-/nonexistent}/go/bin/go" \
            /usr/lib/go/bin/go "${repo_root}/.stack/go/bin/go"; do
  if [[ -n "${cand}" && -x "${cand}" ]] && go_ok "${cand}"; then go_bin="${cand}"; break; fi
done
if [[ -z "${go_bin}" ]]; then
  arch="$(uname -m)"; case "${arch}" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; esac
  mod="v0.0.1-go${GO_TOOLCHAIN_VERSION}.linux-${arch}"
  echo "no Go >= 1.26 found; fetching go${GO_TOOLCHAIN_VERSION} (${mod}) from ${GOPROXY_URL}"
  tmp="$(mktemp -d)"; trap 'rm -rf "${tmp}"' EXIT
  if ! curl -fsSL --retry 3 -o "${tmp}/go.zip" "${GOPROXY_URL}/golang.org/toolchain/@v/${mod}.zip"; then
    echo "error: could not fetch the Go toolchain from ${GOPROXY_URL}; install Go >= 1.26 and re-run $0" >&2
    exit 1
  fi
  rm -rf "${repo_root}/.stack/go"
  mkdir -p "${repo_root}/.stack"
  python3 - "${tmp}/go.zip" "${repo_root}/.stack/go" <<'PY'
import os, stat, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        # entries are golang.org/toolchain@<version>/<path>; strip the module prefix
        rel = info.filename.split("/", 2)[-1] if info.filename.count("/") >= 2 else ""
        if not rel or info.is_dir():
            continue
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as f, open(out, "wb") as g:
            g.write(f.read())
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(out, mode or 0o644)
PY
  chmod +x "${repo_root}/.stack/go/bin/"* "${repo_root}/.stack/go/pkg/tool/"*/* 2>/dev/null || true
  go_bin="${repo_root}/.stack/go/bin/go"
  go_ok "${go_bin}" || { echo "error: the fetched Go toolchain does not run (${go_bin})" >&2; exit 1; }
fi
export PATH="$(dirname "${go_bin}"):${PATH}"
export GOTOOLCHAIN=local
# Without HOME, go has no default module or build cache: keep both inside .stack then.
if [[ -z "${HOME:-}" ]]; then
  export GOPATH="${repo_root}/.stack/gopath" GOCACHE="${repo_root}/.stack/gocache"
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
