"""Change review and deployment: offline diff with a security summary, guarded deploy, lineage, diagram.

No module here imports aws_cdk: they read cloud assemblies (manifest and template JSON) and drive
the CDK CLI in node_modules/.bin.
"""
