"""Measuring and fitting retrieval: the eval sets' metrics (Hit@1, Hit@5, MRR@10, refusals) and
the calibration of the relevance model with cross-validation."""
