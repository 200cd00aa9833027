"""Recommendations for one reader: new papers like the ones they keep, ranked by a method of `RECOMMENDERS`."""
