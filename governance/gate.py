"""The governance gate: registers every pack on the app, so synth fails on any unacknowledged finding."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks

from governance.evaluation import RecordedPack
from governance.kit_pack import KitChecks
from governance.policy import GovernancePolicy


def enable_governance(app: App, policies: Mapping[str, GovernancePolicy]) -> list[NagPack]:
    """Register AwsSolutions, HIPAA Security, NIST 800-53 rev 5 and the kit's pack on `app`.

    `policies` maps stage names to the kit policy of that environment. Returns the packs; each is
    evaluated once per synth, and the compliance reports read that evaluation
    (`governance.evaluation`).
    """
    packs: list[NagPack] = [
        AwsSolutionsChecks(app, verbose=True),
        HIPAASecurityChecks(app, verbose=True),
        NIST80053R5Checks(app, verbose=True),
        KitChecks(app, policies=policies),
    ]
    Validations.of(app).add_plugins(*(RecordedPack(pack) for pack in packs))
    return packs
