"""`make eval`: the agent's evaluation set, scorers and runner (mlflow.genai.evaluate over HTTP)."""
