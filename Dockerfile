# citechat: the API on the CPU, offline. Build: docker build -t citechat .
# Run: docker run -p 8000:8000 -v citechat-data:/data citechat  (compose.yaml adds a Chroma server)

FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY constraints.txt ./
# The CPU build of torch first, from PyTorch's CPU index (torch only: its dependencies and
# everything else come from PyPI below), so nothing pulls the multi-GB CUDA build.
RUN pip install --no-deps --index-url https://download.pytorch.org/whl/cpu \
        "$(grep '^torch==' constraints.txt)"
COPY pyproject.toml README.md ./
COPY service/ service/
COPY ingestion/ ingestion/
RUN pip install -c constraints.txt . && pip check

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 citechat \
    && mkdir /data && chown citechat:citechat /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY prompts/ prompts/
COPY examples/ examples/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    CITECHAT_DATA_DIR=/data \
    CITECHAT_PROMPTS_DIR=/app/prompts
USER citechat
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["citechat", "serve", "--host", "0.0.0.0", "--port", "8000"]
