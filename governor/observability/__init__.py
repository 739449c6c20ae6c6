"""What operators watch: Prometheus metrics, /healthz, and logs with no secret in them."""
