"""The kit's agent runtime: a Strands agent on a SageMaker AI endpoint, traced to MLflow.

No CDK and no sagemaker SDK here: this package is the container image's code. Heavy imports
(strands, mlflow, boto3) happen where they are first needed, to keep cold starts short.
"""

__version__ = "0.1.0"
