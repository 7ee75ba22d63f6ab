"""Tests of the Helm chart (helm/interaction-monitor) and its packaging."""
