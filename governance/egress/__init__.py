"""The egress contract: every host the deployed code calls, derived from the real client libraries,
and the private route that serves it in each environment's synthesized network (contract.py).
"""
