"""The instance types config accepts are instance types SageMaker endpoints accept."""

from __future__ import annotations

import botocore.session

from kit_config.instance_catalogue import INSTANCE_CATALOGUE


def production_variant_instance_types() -> set[str]:
    """ProductionVariant.InstanceType's enum in botocore's SageMaker service model (CreateEndpointConfig)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("ProductionVariantInstanceType").enum)


def test_every_catalogue_type_is_one_sagemaker_hosts():
    """A type outside the enum passes config load and fails CreateEndpointConfig with a ValidationException."""
    allowed = production_variant_instance_types()
    assert sorted(set(INSTANCE_CATALOGUE) - allowed) == []
    # The enum discriminates: a plausible type that does not exist, and an EC2 name without ml., are not in it.
    assert {"ml.g6.3xlarge", "g6.xlarge", "ml.g6e.4xlarge2"} & allowed == set()
