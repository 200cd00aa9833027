"""The served classifiers: logistic regression on embeddings and TF-IDF, blended."""
