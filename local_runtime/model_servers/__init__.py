"""Model servers that follow the SageMaker container contract (GET /ping, POST /invocations).

One module per server: `llama` (a real small LLM), `proxy` (any OpenAI-compatible server),
`scripted` (a deterministic test double). `container` holds what they share.
"""
