"""Reusable L3 constructs of the kit.

Named `kit_constructs`, not `constructs`: a top-level package called `constructs` would shadow
the `constructs` library that aws-cdk-lib imports, and every CDK import would break.
"""
