"""`make cost`: each environment's monthly cost envelope, computed from its config alone."""

from costing.envelope import Envelope, LineItem, PriceNotListed, cost_envelope

__all__ = ["Envelope", "LineItem", "PriceNotListed", "cost_envelope"]
