# The Dagwright operator image: python:3.12-slim, the pinned runtime dependencies of
# requirements.lock (hack/lock-requirements.py), the dagwright package, a non-root user.
#   docker build -t dagwright:dev .        (or: buildah bud / podman build)
# The chart runs it as `dagwright operator ...` (ENTRYPOINT + args), uid 65532, read-only root.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/dagwright
WORKDIR /src
# Dependencies first (their layer survives code changes), exactly as locked, wheels only.
COPY requirements.lock .
RUN /opt/dagwright/bin/pip install --only-binary=:all: --no-deps -r requirements.lock
COPY pyproject.toml ./
COPY operator ./operator
RUN /opt/dagwright/bin/pip install --no-deps . \
 && /opt/dagwright/bin/pip check \
 && /opt/dagwright/bin/python -m compileall -q /opt/dagwright/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="dagwright" \
      org.opencontainers.image.description="Dagwright: data-pipeline DAGs on Kubernetes (operator)"
ENV PATH=/opt/dagwright/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
COPY --from=build /opt/dagwright /opt/dagwright
# The same uid/gid as distroless "nonroot"; the chart's securityContext says runAsUser 65532.
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin nonroot \
 && dagwright --help >/dev/null
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 9090 9443
ENTRYPOINT ["dagwright"]
CMD ["operator", "--all-namespaces"]
