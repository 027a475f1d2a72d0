# The agent's one image, for Lambda (container image) and Fargate.
#   Fargate: default command, uvicorn on :8080 (`python -m agent_runtime`).
#   Lambda:  the function overrides the command with the Runtime Interface Client:
#            ["python", "-m", "awslambdaric", "agent_runtime.lambda_handler.handler"]
# Base image pinned by version; pin by digest in your registry mirror for reproducible builds.
FROM public.ecr.aws/docker/library/python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AGENT_HOST=0.0.0.0 \
    AGENT_PORT=8080 \
    AGENT_SESSION_DIR=/tmp/agent-sessions

WORKDIR /app
COPY agent_runtime/requirements.txt agent_runtime/requirements-image.txt ./
RUN pip install --no-compile -r requirements.txt -r requirements-image.txt \
    && find /usr/local/lib/python3.11/site-packages -name "tests" -type d -prune -exec rm -rf {} + \
    && python -m compileall -q /usr/local/lib/python3.11/site-packages

COPY agent_runtime/ ./agent_runtime/
RUN python -m compileall -q agent_runtime \
    && useradd --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin agent \
    && chmod 1777 /tmp

# Non-root; the root filesystem can be read-only: sessions, scratch and HOME live in /tmp.
# On Fargate /tmp is an (initially empty) task volume: an empty bind mount is root-owned and not
# writable by uid 10001 unless the image declares the path as a VOLUME, whose ownership and mode
# ECS then copies (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html).
# Declared last: later build steps could not change /tmp any more. Lambda's /tmp is its own.
ENV HOME=/tmp TMPDIR=/tmp
VOLUME ["/tmp"]
USER 10001
EXPOSE 8080
# ECS runs only the health check of the task definition; this one is for `docker run`. With AGENT_TLS=self_signed
# the server speaks HTTPS with its own certificate (agent_runtime/server_tls.py), which nothing can verify.
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import os, ssl, urllib.request; tls = os.environ.get('AGENT_TLS') == 'self_signed'; urllib.request.urlopen(('https' if tls else 'http') + '://127.0.0.1:8080/health', timeout=2, context=ssl._create_unverified_context() if tls else None)" || exit 1
CMD ["python", "-m", "agent_runtime"]
