# Torch-free serving image: onnxruntime (OpenVINO optional) + tokenizers + faiss + FastAPI over one served bundle.
#   make image STAGE=prod       # the registered version in GTO's stage prod, fetched from the DVC remote
#   docker build -t arxiv-embed . && docker run -p 8000:8000 arxiv-embed    # the workspace's models/bundle
# BUNDLE is the folder copied to /models/bundle (models/bundle after `dvc repro` or `dvc pull`; build/bundle
# from tools/fetch_bundle.py). Or mount models/ over /models, so that a new bundle is taken on SIGHUP:
#   docker run -p 8000:8000 -v "$PWD/models:/models:ro" arxiv-embed
# Saved libraries (POST /libraries) live in the volume at /data: name it to keep them across containers, e.g.
#   docker run -p 8000:8000 -v arxiv-embed-data:/data arxiv-embed
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# every version and hash from the lock (`make lock`); then the project itself, resolving nothing. SERVE_LOCK=
# requirements/serve-openvino.txt adds OpenVINO, the second int8 runtime (the image grows by about 185 MB)
ARG SERVE_LOCK=requirements/serve.txt
COPY ${SERVE_LOCK} requirements/serve.txt
RUN pip install --no-compile --require-hashes --no-deps -r requirements/serve.txt
COPY pyproject.toml README.md ./
COPY arxiv_embed arxiv_embed
COPY serve serve
RUN pip install --no-compile --no-deps . \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /opt/venv/lib/python3*/site-packages/pip /opt/venv/bin/pip*

FROM ${BASE_IMAGE}
ARG BUNDLE=models/bundle
RUN (getent passwd app || useradd --create-home --uid 10001 app) >/dev/null \
 && mkdir /data && chown app /data
COPY --from=build /opt/venv /opt/venv
COPY --chown=app ${BUNDLE}/ /models/bundle/
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 ARXIV_EMBED_MODELS_DIR=/models/bundle ARXIV_EMBED_DATA_DIR=/data \
    PORT=8000
VOLUME /data
USER app
WORKDIR /home/app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/health\", timeout=2)"]
CMD ["python3", "-m", "serve"]
