"""Synth-time governance: cdk-nag 3 packs plus the kit's own rules, and the compliance report."""
