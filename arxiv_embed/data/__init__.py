"""Reading arXiv sources into canonical shards, cleaning, splitting and building the texts models read."""
