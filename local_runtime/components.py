"""The emulator's inference components as they run: live copy counts, the scale-out from zero, and the
per-component counts SageMaker publishes as CloudWatch metrics.

SageMaker's behaviour played here ("Scale an endpoint to zero instances",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html, and the
scale-to-zero launch post on the AWS Machine Learning Blog, Dec 2024):
- a component at 0 copies refuses every request (ValidationError, local_runtime.aws_errors.NO_CAPACITY)
  and each refusal counts in `NoCapacityInvocationFailures` ("SageMaker AI emits this metric when an
  endpoint receives an inference request, but the endpoint has no active instances to serve the request");
- a component that scales to zero (min copies 0) has a step policy on that metric's alarm that adds one
  copy; provisioning it "takes several minutes. During that time, any attempts to invoke the endpoint
  will produce an error" (≈ 5 min for an 8B model in the post). `scale_out_seconds` stands for that whole
  time (alarm, instance, copy): None, no automatic scale-out (a component without the policy stays at 0
  until UpdateInferenceComponentRuntimeConfig raises its copies);
- UpdateInferenceComponentRuntimeConfig sets the copy count; a raise from 0 takes `scale_out_seconds` too
  (new copies need an instance), other changes apply at once. The component is `Updating` meanwhile.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from local_runtime.endpoints import LocalComponent, LocalEndpoint


@dataclass
class ComponentState:
    component: LocalComponent
    endpoint: LocalEndpoint
    desired: int
    current: int
    created: float
    modified: float
    ready_at: float | None = None  # time.monotonic() at which a scale-out from zero has its copies
    invocations: int = 0  # requests the component served (admitted)
    no_capacity_failures: int = 0  # NoCapacityInvocationFailures

    @property
    def status(self) -> str:
        return "Updating" if self.ready_at is not None else "InService"

    def instances(self, copies: int) -> int:
        """Instances managed instance scaling keeps for `copies` copies (SageMaker releases the last one
        some minutes after the copies reach 0; here at once)."""
        return -(-copies // max(1, self.component.copies_per_instance))

    def metrics(self) -> dict:
        return {
            "InferenceComponentName": self.component.name,
            "EndpointName": self.endpoint.name,
            "DesiredCopyCount": self.desired,
            "CurrentCopyCount": self.current,
            "InferenceComponentStatus": self.status,
            "Invocations": self.invocations,
            "NoCapacityInvocationFailures": self.no_capacity_failures,
        }


class Components:
    """Every component of the emulator's endpoints, by name; safe across the server's threads."""

    def __init__(
        self, endpoints: list[LocalEndpoint], scale_out_seconds: float | None = None, start_at_zero: bool = False
    ) -> None:
        self.scale_out_seconds = scale_out_seconds
        self._lock = threading.Lock()
        self._states: dict[str, ComponentState] = {}
        for endpoint in endpoints:
            for component in endpoint.components:
                # start_at_zero: an endpoint that scaled to zero while idle (only a component that may).
                copies = 0 if start_at_zero and component.scales_to_zero else component.copies
                self._states[component.name] = ComponentState(
                    component, endpoint, copies, copies, endpoint.created, endpoint.created
                )

    def all(self) -> list[ComponentState]:
        with self._lock:
            for state in self._states.values():
                self._settle(state)
            return list(self._states.values())

    def get(self, name: str) -> ComponentState | None:
        with self._lock:
            state = self._states.get(name)
            if state is not None:
                self._settle(state)
            return state

    def admit(self, name: str) -> bool:
        """Count one request to the component: True if a copy serves it, False if it has none (counted
        in NoCapacityInvocationFailures, and the scale-out from zero starts if the component has one)."""
        with self._lock:
            state = self._states[name]
            self._settle(state)
            if state.current > 0:
                state.invocations += 1
                return True
            state.no_capacity_failures += 1
            if state.component.scales_to_zero and self.scale_out_seconds is not None and state.desired == 0:
                # The alarm fires, the step policy adds one copy (ChangeInCapacity +1).
                self._scale_out(state, 1)
            return False

    def set_copies(self, name: str, copies: int) -> ComponentState:
        """UpdateInferenceComponentRuntimeConfig's DesiredRuntimeConfig.CopyCount."""
        with self._lock:
            state = self._states[name]
            self._settle(state)
            state.modified = time.time()
            if copies > 0 and state.current == 0 and self.scale_out_seconds is not None:
                self._scale_out(state, copies)
            else:
                state.desired = state.current = copies
                state.ready_at = None
            return state

    def _scale_out(self, state: ComponentState, copies: int) -> None:
        state.desired, state.modified = copies, time.time()
        state.ready_at = time.monotonic() + self.scale_out_seconds

    @staticmethod
    def _settle(state: ComponentState) -> None:
        if state.ready_at is not None and time.monotonic() >= state.ready_at:
            state.current, state.ready_at = state.desired, None
