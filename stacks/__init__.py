"""The kit's stacks, grouped per environment in `EnvironmentStage`."""
