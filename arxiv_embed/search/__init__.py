"""The FAISS index (flat, HNSW, IVF, IVF-PQ) and the paper metadata store the server searches."""
