"""CloudWatch metric math as CloudWatch parses and types it (rule Kit-CloudWatchMetricMath).

parser (syntax -> nodes), value_types and functions/operators (the documented types and signatures),
checker (one expression, one alarm or widget), alarm_queries / dashboard_queries (templates -> groups),
constraints (what an alarm or widget must satisfy).
"""
