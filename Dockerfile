# syntax=docker/dockerfile:1
# The Switchyard node image: built with the Rust toolchain the repository pins, run as a
# non-root user on a distroless base (no shell; health checks use `switchyard healthcheck`).
#
#   docker build -t switchyard:local .        (or: podman build -t switchyard:local .)

# ---- build ---------------------------------------------------------------------------
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src

# The dependency layer: only the manifests, the lock file and the vendored actix-http, with
# empty sources, so that a change to the code does not rebuild every dependency.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY vendor vendor
COPY crates/switchyard/Cargo.toml crates/switchyard/
COPY crates/switchyard-backend/Cargo.toml crates/switchyard-backend/
COPY crates/switchyard-bench/Cargo.toml crates/switchyard-bench/
COPY crates/switchyard-protocol/Cargo.toml crates/switchyard-protocol/
COPY crates/switchyard-redis/Cargo.toml crates/switchyard-redis/
COPY crates/switchyard-state/Cargo.toml crates/switchyard-state/
COPY tests/Cargo.toml tests/
RUN for d in crates/* tests; do \
      mkdir -p "$d/src" && echo 'fn main() {}' > "$d/src/main.rs" && : > "$d/src/lib.rs"; \
    done \
 && cargo build --release --locked -p switchyard --bin switchyard \
 && rm -rf crates/*/src tests/src

# The code itself.
COPY crates crates
RUN find crates -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p switchyard --bin switchyard \
 && mkdir -p /out/data \
 && cp target/release/switchyard /out/switchyard

# ---- run -----------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/switchyard /usr/local/bin/switchyard
# Where the demo backend keeps its SQLite file (a volume in docker-compose.yml).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV SWITCHYARD__BIND=0.0.0.0:8080 \
    SWITCHYARD__DEMO__DB_PATH=/data/switchyard-demo.db
EXPOSE 8080
# Docker's own health check (Kubernetes uses the chart's probes instead).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/switchyard", "healthcheck", "http://127.0.0.1:8080/readyz"]
# SIGTERM drains (see the README, "Run a fleet").
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve"]
