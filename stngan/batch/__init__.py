"""Batch runs over whole corpora: a resumable job file, N local worker processes, or a Ray cluster (docs/BATCH.md)."""
