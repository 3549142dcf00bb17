# petdns container image: a Debian 12 (bookworm) build stage, then a bookworm-slim runtime with
# only the shared libraries petdns links, running as an unprivileged user. Port 53 is bound
# through the file capability cap_net_bind_service on the binary; the pod keeps NET_BIND_SERVICE
# in its capability set for it (deploy/cluster-dns/base/deployment.yaml).
#
#   docker build -t petdns:latest .
#   docker run --rm petdns:latest version
#
# The image holds `petdns` and the `peer-finder` name (a symlink: the binary acts as peer-finder
# when invoked so), so it serves both as the cluster DNS and as the peer-finder of StatefulSet
# init containers and sidecars. No Docker engine runs in CI: tests/deploy/check_dockerfile.py
# runs this file's commands outside Docker and lints it (see deploy/README.md).

# ---- build ----
FROM debian:bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libldns-dev libuv1-dev prometheus-cpp-dev libtomlplusplus-dev libgtest-dev libgmock-dev \
      libbenchmark-dev libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /petdns
COPY . src/
# Only the binary (and its peer-finder link) is built, not the tests; `--strip` drops symbols.
RUN cmake -S src -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target petdns peer_finder_link \
 && DESTDIR="$PWD/stage" cmake --install build --prefix /usr/local --strip \
 && stage/usr/local/bin/petdns version

# ---- runtime ----
FROM debian:bookworm-slim

# The libraries petdns links (the rest come with them or with the base image), iproute2 for the
# node-local DaemonSet's init container (`ip addr add`), libcap2-bin for setcap below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libldns3 libuv1 libtomlplusplus3 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libyaml-cpp0.7 libcurl4 iproute2 libcap2-bin \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric UID, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --gid 65532 petdns \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin petdns

COPY --from=build /petdns/stage/usr/local/ /usr/local/
# Lets the unprivileged user bind port 53: the capability is granted when the binary is executed
# (also as peer-finder, which needs none), provided the container keeps NET_BIND_SERVICE.
RUN setcap cap_net_bind_service=+ep /usr/local/bin/petdns \
 && getcap /usr/local/bin/petdns | grep -q cap_net_bind_service

USER 65532:65532
# DNS, metrics (/metrics), health (/health), ready (/ready).
EXPOSE 53/udp 53/tcp 9153 8080 8181
ENTRYPOINT ["/usr/local/bin/petdns"]
CMD ["serve", "--config", "/etc/petdns/petdns.toml"]
