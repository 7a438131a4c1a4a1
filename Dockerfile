# Any stage of Stagecraft in a small image: `docker build --build-arg STAGE=stage05-async -t
# stagecraft:05 .` then `docker run --rm -p 8080:8080 stagecraft:05`. Flags after the image name
# replace the default command line (`docker run ... stagecraft:05 --addr 0.0.0.0:8080 --root
# /srv/site -v`). Checked in .ci/run with hadolint and scripts/check-dockerfile.sh; no Docker
# engine runs there (the book's Hardening chapter says what that leaves unchecked).

# The toolchain the workspace is built and tested with; its glibc matches the runtime's below,
# both being Debian 13 (trixie).
ARG RUST_IMAGE=rust:1.95-slim-trixie
ARG RUNTIME_IMAGE=debian:trixie-slim

FROM ${RUST_IMAGE} AS build
# Which stage's binary the image runs: a package of the workspace (stage01-blocking ...
# stage07-http2).
ARG STAGE=stage05-async
WORKDIR /src
COPY . .
# --locked: exactly the dependency versions CI tested. The binary is copied out under one name,
# so the runtime stage needs no knowledge of which stage it runs.
RUN cargo build --release --locked --package "${STAGE}" \
    && install -m 0755 "target/release/${STAGE}" /stagecraft-server

FROM ${RUNTIME_IMAGE}
# A user without a shell, a home or a password: the server needs none of them. Stages 06 and 07
# write their self-signed certificate to /tmp, which any user may.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin stagecraft
COPY --from=build /stagecraft-server /usr/local/bin/stagecraft-server
COPY --from=build /src/common/site /srv/site
USER 10001
EXPOSE 8080
# The demo site on every interface of the container (its network is its own), and the stop a
# container runtime sends: SIGTERM, then SIGKILL after its grace (docker's default is 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/stagecraft-server"]
CMD ["--addr", "0.0.0.0:8080", "--root", "/srv/site"]
