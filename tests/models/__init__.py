"""Tests of the model package (mirrors models/)."""
