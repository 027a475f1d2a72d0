"""`make loadtest`: bounded load against the SageMaker endpoint or the agent API, measured, costed
and logged to MLflow (docs/loadtest.md)."""
