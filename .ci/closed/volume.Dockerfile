# A hostile image that declares a volume, as in `VOLUME /scratch` owned by the container's user: the runner must
# mount a size-limited tmpfs there, never an anonymous volume on the host's disk (.ci/closed_e2e.sh builds it FROM
# a hostile image of Dockerfile).
ARG BASE
FROM ${BASE}
RUN mkdir /scratch && chown 65534:65534 /scratch
VOLUME /scratch
