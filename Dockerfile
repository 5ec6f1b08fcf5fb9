# syntax=docker/dockerfile:1
#
# The driver's container image: a static Go binary on distroless, run as
# the unprivileged user 65532. Build it from the repository root:
#
#   docker build -t openstack-driver:dev .
#
# The binary needs no libc (CGO_ENABLED=0), so the final image holds the
# binary, CA certificates and time zone data, and nothing else: no shell,
# no package manager.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them
# again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
      -o /out/openstack-driver ./cmd/openstack-driver

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/openstack-driver /usr/local/bin/openstack-driver
# Numeric, so that Kubernetes can check runAsNonRoot against the image.
USER 65532:65532
# The working directory is the nonroot user's home: without Kafka brokers
# the embedded broker keeps its data in ./data, which must be writable.
WORKDIR /home/nonroot
EXPOSE 8292
ENTRYPOINT ["/usr/local/bin/openstack-driver"]
