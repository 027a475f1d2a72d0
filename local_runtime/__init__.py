"""Local SageMaker AI runtime: a wire-faithful SageMaker Runtime emulator, container-contract
model servers and a local MLflow server, so the agent runs without an AWS account.

No module here imports aws_cdk: the local runtime is independent of the stacks and reads only
`kit_config` (pydantic + YAML) for endpoint names and variants.
"""
