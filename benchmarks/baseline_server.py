"""The reference way to serve: sentence-transformers on torch, one encode per request, same FAISS search.

Only the serving benchmark starts it, as the peer the real app is compared with.
"""

import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sentence_transformers import SentenceTransformer

from arxiv_embed.layout import ModelFolders
from arxiv_embed.search.index import VectorIndex
from serve.schemas import request_models
from serve.settings import settings

models = ModelFolders(Path(os.environ.get("ARXIV_EMBED_MODELS_DIR", "models")))
model = SentenceTransformer(str(models.encoder), device="cpu", local_files_only=True)
index = VectorIndex(models.served_index)
app = FastAPI()
SearchRequest = request_models(settings).search


@app.post("/search")
def search_endpoint(body: SearchRequest) -> dict:
    vector = model.encode([body.text], normalize_embeddings=True)
    scores, positions = index.search(vector, body.k)
    return {"results": [{"position": int(p), "score": float(s)} for s, p in zip(scores[0], positions[0], strict=True)]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
