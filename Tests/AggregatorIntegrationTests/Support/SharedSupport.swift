// The OpenAPI validator, the reply checks and Prometheus samples are shared with the fast
// AggregatorTests target; re-exported once here so every suite of this target sees them.
@_exported import AggregatorTestSupport
