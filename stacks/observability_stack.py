"""Per-environment observability and cost control: the operations dashboard and the AWS Budgets budget.

A stack of its own because it only reads the others (the endpoint's name and variants, the agent's
metric names, the alarm topic) and nothing depends on it: dashboards and budget limits change often and redeploy without
a diff in the stacks that hold the workload.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from kit_config import EnvironmentConfig
from kit_config.resource_names import budget_name
from kit_constructs.cost_budget import AlarmTopicTarget, CostBudget, CostBudgetProps
from kit_constructs.operations_dashboard import OperationsDashboard, OperationsDashboardProps
from stacks.agent_stack import AgentStack
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack

# The tags a cost must carry to count against the environment's budget (activated as
# cost-allocation tags in the payer account; see docs/cost.md).
BUDGET_TAG_KEYS = ("Project", "Environment")


class ObservabilityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        foundation: FoundationStack,
        inference: InferenceStack,
        agent: AgentStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        project = config.tags.Project
        self.dashboard = OperationsDashboard(
            self,
            "Operations",
            OperationsDashboardProps(
                env_name=config.name, project=project, endpoint=inference.endpoint, agent=agent.agent
            ),
        )
        tags = config.tags.as_dict()
        budget = config.budget
        self.budget = CostBudget(
            self,
            "Budget",
            CostBudgetProps(
                config=budget,
                budget_name=budget_name(project, config.name),
                cost_allocation_tags={key: tags[key] for key in BUDGET_TAG_KEYS},
                emails=budget.recipients(config.alarms.email_subscriptions),
                alarm_topic=AlarmTopicTarget(foundation.alarm_topic, foundation.keys.notifications)
                if budget.notify_alarm_topic
                else None,
            ),
        )
        CfnOutput(self, "DashboardName", value=self.dashboard.dashboard_name, description="CloudWatch dashboard")
        CfnOutput(self, "BudgetName", value=self.budget.budget_name, description="AWS Budgets cost budget")
