"""Fault-injection and load tests: kill -9, rebalance, broker restart, Alertmanager outage, fuzzing,
PII under load, TLS+SASL and a short soak. See docs/RELIABILITY.md for what each one proves."""
